# Training as a Slurm job (issue #9), against a real single-node Slurm cluster (slurm-wlm + munge) that
# tests/Slurm/single-node.sh installs and starts as root. Where that cannot be done the tests are skipped, and the
# reason is printed.
BeforeDiscovery {
    $script:slurmSkipReason = $null
    if (-not $IsLinux) {
        $script:slurmSkipReason = 'Slurm runs on Linux only.'
    } elseif ((id -u) -ne '0') {
        $script:slurmSkipReason = 'starting a Slurm cluster (munged, slurmctld, slurmd) needs root; run the tests as root, as CI does.'
    } else {
        $setup = & bash (Join-Path $PSScriptRoot '../Slurm/single-node.sh') start 2>&1
        if ($LASTEXITCODE -ne 0) {
            $script:slurmSkipReason = "tests/Slurm/single-node.sh could not start a cluster (exit $LASTEXITCODE): $(($setup | Select-Object -Last 5) -join ' | ')"
        }
    }
    if ($slurmSkipReason) { Write-Host "Slurm tests skipped: $slurmSkipReason" -ForegroundColor Yellow }
}

BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1

    # A run long enough to be requeued twice mid-way (about 0.6 s an epoch here), checkpointed every epoch.
    function New-SlurmTrainerConfig([string] $State, [int] $Epochs) {
        $config = Join-Path $State 'trainer.json'
        @{ data = @{ bars = 40000 }; training = @{ epochs = $Epochs } } | ConvertTo-Json -Depth 3 | Set-Content $config
        $config
    }

    # The fields of a Slurm job (scontrol show job), by name.
    function Get-SlurmJob([string] $JobId) {
        $line = scontrol show job -o $JobId 2>$null
        $fields = @{}
        foreach ($word in "$line" -split ' ') { if ($word -match '^([^=]+)=(.*)$') { $fields[$Matches[1]] = $Matches[2] } }
        $fields
    }

    # The pids of every process of this state directory: its supervisor (named in its command line) and what the
    # supervisor runs (STABILITY_HOME in its environment).
    function Get-StateProcess([string] $State) {
        Find-Process {
            param($environ, $command)
            $stateArgument = [array]::IndexOf($command, '--state-dir')
            $environ -contains "STABILITY_HOME=$State" -or ($stateArgument -ge 0 -and $command[$stateArgument + 1] -eq $State)
        }
    }
}

Describe 'Training as a Slurm job' -Skip:([bool]$slurmSkipReason) {
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-slurm' }
    AfterEach { Remove-TestStateDirectory $state }

    It 'shows a submitted job pending with its job id and reason, refuses a second one, then shows it running on this node' {
        $config = New-SlurmTrainerConfig $state 200
        # --hold (a pass-through option) keeps it pending for as long as the test looks.
        $submitted = Start-TrainingProcess -StateDirectory $state -Backend Slurm -ConfigPath $config -CpusPerTask 1 -MemoryMB 900 -TimeLimit 30 -SbatchArgument --hold -PassThru

        $submitted.State | Should -Be 'Pending'
        $submitted.Backend | Should -Be 'slurm'
        $submitted.JobId | Should -Match '^\d+$'
        $submitted.JobReason | Should -Be 'JobHeldUser'
        $job = Get-SlurmJob $submitted.JobId
        $job.JobState | Should -Be 'PENDING'
        $job.TimeLimit | Should -Be '00:30:00'
        $job.Requeue | Should -Be '1'
        $job.Command | Should -Be (Join-Path $state 'services/training/slurm-job.sh')

        { Start-TrainingProcess -StateDirectory $state -Backend Slurm -ConfigPath $config -ErrorAction Stop } |
            Should -Throw -ErrorId 'ServiceAlreadyRunning,StabilityTools.Cmdlets.StartTrainingProcessCommand'

        scontrol release $submitted.JobId
        $running = Wait-Until { Get-ProcessStatus -Name training -StateDirectory $state } { param($s) $s.State -eq 'Running' } 'the job to run' 60
        $running.JobId | Should -Be $submitted.JobId
        $running.JobState | Should -Be 'RUNNING'
        $running.Node | Should -Be (hostname -s)
        $running.Pid | Should -BeGreaterThan 0
        Wait-Until { Get-TrainingStatus -StateDirectory $state } { param($t) $t.State -eq 'running' } 'the trainer to report' 60 | Out-Null
    }

    It 'resumes from its checkpoint after scontrol requeue and after the time-limit signal, and completes with every epoch once' {
        $epochs = 30
        $config = New-SlurmTrainerConfig $state $epochs
        $jobId = (Start-TrainingProcess -StateDirectory $state -Backend Slurm -ConfigPath $config -PassThru).JobId

        # 1. An operator (or preemption) requeues the job mid-run.
        Wait-Until { Get-TrainingStatus -StateDirectory $state } { param($t) $t.Epoch -ge 3 } 'epoch 3' 120 | Out-Null
        scontrol requeue $jobId
        Wait-Until { Get-ProcessStatus -Name training -StateDirectory $state } { param($s) $s.State -eq 'Pending' } 'the requeued job to be pending' 30 | Out-Null
        Wait-Until { Get-StabilityEvent -StateDirectory $state -Type resumed } { param($e) @($e).Count -ge 1 } 'the trainer to resume' 120 | Out-Null

        # 2. Slurm's warning ahead of the time limit (what --signal=B:USR1@N sends, sent now rather than in an hour).
        $resumedAt = (Get-TrainingStatus -StateDirectory $state).Epoch
        Wait-Until { Get-TrainingStatus -StateDirectory $state } { param($t) $t.Epoch -ge $resumedAt + 2 } 'two more epochs' 120 | Out-Null
        scancel --signal=USR1 --batch $jobId
        Wait-Until { Get-StabilityEvent -StateDirectory $state -Type requeued } { param($e) @($e).Count -ge 1 } 'the supervisor to requeue the job' 60 | Out-Null
        Wait-Until { Get-StabilityEvent -StateDirectory $state -Type resumed } { param($e) @($e).Count -ge 2 } 'the trainer to resume again' 120 | Out-Null

        # The supervisor records the end a moment before its exit ends the job.
        $final = Wait-Until { Get-ProcessStatus -Name training -StateDirectory $state } { param($s) $s.State -in 'Fatal', 'Stopped' -or $s.JobState -eq 'COMPLETED' } 'the job to end' 240
        $final.State | Should -Be 'Completed'
        $final.JobState | Should -Be 'COMPLETED'
        (Get-SlurmJob $jobId).Restarts | Should -Be '2'
        (Get-StabilityEvent -StateDirectory $state -Type time_limit).Message | Should -Match "Slurm job $jobId nears its time limit"
        # Each resume starts from a checkpoint taken when the job was stopped, so no epoch is trained twice or lost.
        # Every requeue resumed the one run the start made, so its log has each epoch once.
        $runs = @(Get-TrainingRun -Name training -StateDirectory $state)
        $runs.Count | Should -Be 1
        @((Get-TrainingMetric -RunId $runs[0].RunId -Kind epoch -StateDirectory $state).Epoch) | Should -Be @(1..$epochs)
        @(Get-StabilityEvent -StateDirectory $state -Type resumed).Count | Should -Be 2
    }

    It 'stops a running job through its supervisor, leaving no job and no process behind' {
        $config = New-SlurmTrainerConfig $state 500
        $jobId = (Start-TrainingProcess -StateDirectory $state -Backend Slurm -ConfigPath $config -PassThru).JobId
        Wait-Until { Get-TrainingStatus -StateDirectory $state } { param($t) $t.Epoch -ge 2 } 'epoch 2' 120 | Out-Null
        @(Get-StateProcess $state).Count | Should -BeGreaterOrEqual 2 -Because 'the supervisor and the trainer run in the job'

        $stopped = Stop-TrainingProcess -StateDirectory $state -PassThru

        $stopped.State | Should -Be 'Stopped'
        (Get-SlurmJob $jobId).JobState | Should -BeIn 'COMPLETED', 'CANCELLED'
        squeue -h -j $jobId -t PENDING,RUNNING,COMPLETING | Should -BeNullOrEmpty
        Get-StateProcess $state | Should -BeNullOrEmpty
        (Get-StabilityEvent -StateDirectory $state -Type control).Count | Should -BeGreaterOrEqual 1
        # The trainer's own word that it checkpointed on the way out.
        Get-StabilityEvent -StateDirectory $state -Type stopped | Where-Object Message -match 'it resumes from ckpt-' | Should -Not -BeNullOrEmpty
    }

    It 'records why a queued job waits, which the dashboard shows without calling Slurm, and then the node it runs on' {
        $config = New-SlurmTrainerConfig $state 200
        $jobId = (Start-TrainingProcess -StateDirectory $state -Backend Slurm -ConfigPath $config -CpusPerTask 1 -MemoryMB 900 -SbatchArgument --hold -PassThru).JobId

        # What the submit asked Slurm, in the job's record: the dashboard's only source.
        $record = Get-Content (Join-Path $state 'services/training/slurm.json') -Raw | ConvertFrom-Json
        $record.job_id | Should -Be $jobId
        $record.job_state | Should -Be 'PENDING'
        $record.reason | Should -Be 'JobHeldUser'
        $record.observed_at | Should -Not -BeNullOrEmpty

        $port = Get-Random -Minimum 20000 -Maximum 40000
        $dashboard = Start-Dashboard -Port $port -PassThru -StateDirectory $state -ErrorAction Stop
        try {
            $headers = @{ Authorization = 'Bearer ' + (Get-Content $dashboard.TokenPath -Raw).Trim() }
            $training = { (Invoke-RestMethod "$($dashboard.Url)api/processes" -Headers $headers -TimeoutSec 10 -ErrorAction Ignore).services | Where-Object name -eq 'training' }
            $queued = Wait-Until $training { param($t) $t.slurm.reason -eq 'JobHeldUser' } "the dashboard to show job $jobId held" 30
            $queued.slurm.job_id | Should -Be $jobId
            $queued.slurm.state | Should -Be 'PENDING'
            $queued.slurm.node | Should -BeNullOrEmpty

            scontrol release $jobId
            # A status query asks Slurm and records the answer; the supervisor then reports from the node.
            Wait-Until { Get-ProcessStatus -Name training -StateDirectory $state } { param($s) $s.State -eq 'Running' } 'the job to run' 60 | Out-Null
            $running = Wait-Until $training { param($t) $t.slurm.node -and -not $t.slurm.reason } 'the dashboard to show the job on its node' 30
            $running.slurm.node | Should -Be (hostname -s)
            $running.state | Should -Be 'running'
        }
        finally { Stop-Dashboard -StateDirectory $state -Force -Confirm:$false -ErrorAction Ignore | Out-Null }
    }

    It 'cancels a job that is still queued when it is stopped' {
        $config = New-SlurmTrainerConfig $state 10
        $jobId = (Start-TrainingProcess -StateDirectory $state -Backend Slurm -ConfigPath $config -SbatchArgument --hold -PassThru).JobId

        $stopped = Stop-TrainingProcess -StateDirectory $state -PassThru

        $stopped.State | Should -Be 'Stopped'
        $stopped.ErrorMessage | Should -Be "Slurm job $jobId was cancelled before it ran."
        (Get-SlurmJob $jobId).JobState | Should -Be 'CANCELLED'
        (Get-StabilityEvent -StateDirectory $state -Type slurm_cancel).Message | Should -Be "scancel $jobId for 'training'."
    }

    It 'passes what sbatch said on to the caller when it refuses a job, and leaves no job' {
        $config = New-SlurmTrainerConfig $state 10

        { Start-TrainingProcess -StateDirectory $state -Backend Slurm -Partition no-such-partition -ConfigPath $config -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '*Invalid partition name specified*' -ErrorId 'SchedulerError,StabilityTools.Cmdlets.StartTrainingProcessCommand'
        Test-Path (Join-Path $state 'services/training/slurm.json') | Should -BeFalse
    }

    It 'runs a 4-trial sweep with each trial a Slurm job, to completion' {
        # The sweep's Python trainer on the library (issue #20): its controller here, its trials as jobs on the node.
        $python = (Resolve-Path (Join-Path $PSScriptRoot '../../artifacts/python-venv/bin/python')).Path
        $starts = Join-Path $state 'starts.jsonl'
        $arguments = (Join-Path $PSScriptRoot 'python/sweep_trainer.py'), '--lr', '{lr}', '--hidden', '32', '--epochs', '3', '--epoch-seconds', '0.2', '--starts', $starts
        Start-TrainingSweep -Name slurm4 -FilePath $python -ArgumentList $arguments -Parameter @{ lr = 1e-1, 1e-2, 1e-3, 1e-4 } -MaxConcurrent 2 `
            -Backend Slurm -CpusPerTask 1 -MemoryMB 300 -TimeLimit 10 -StateDirectory $state -ErrorAction Stop

        $sweep = Wait-TrainingSweep slurm4 -Timeout 300 -StateDirectory $state -ErrorAction Stop

        $trials = ($sweep.Trials | ForEach-Object { "trial $($_.Index) $($_.State): $($_.Message)" }) -join '; '
        $sweep.Completed | Should -Be 4 -Because "every trial must complete ($trials; $(Get-StabilityLog -Name slurm4-sweep -StateDirectory $state -Tail 12))"
        $sweep.Best.Parameters['lr'] | Should -Be 0.001
        # Each trial ran once, as a Slurm job of its own that completed.
        @(Get-Content $starts).Count | Should -Be 4
        $jobs = foreach ($trial in $sweep.Trials) {
            $status = Get-ProcessStatus -Name $trial.Name -StateDirectory $state
            $status.Backend | Should -Be 'slurm'
            $status.JobId
        }
        @($jobs | Sort-Object -Unique).Count | Should -Be 4
        $jobs | ForEach-Object { (Get-SlurmJob $_).JobState | Should -Be 'COMPLETED' }
        @(Get-TrainingRun -Experiment slurm4 -StateDirectory $state | Where-Object State -eq 'completed').Count | Should -Be 4
    }
}

Describe 'Slurm options without a Slurm job' {
    # A state directory of its own: the temp folder itself is world-writable, which the trust check refuses first.
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-slurmopts' }
    AfterEach { Remove-TestStateDirectory $state }

    BeforeAll { Import-Module $env:STABILITY_TEST_MODULE -Force }

    It 'refuses Slurm-only parameters on a local start, naming them' {
        { Start-TrainingProcess -StateDirectory $state -Partition gpu -Gpus 1 -WhatIf -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '*-Partition, -Gpus are for a Slurm job: add -Backend Slurm*' -ErrorId 'InvalidConfiguration,StabilityTools.Cmdlets.StartTrainingProcessCommand'
    }

    It 'refuses a time limit Slurm would not read before anything is submitted' {
        { Start-TrainingProcess -StateDirectory $state -Backend Slurm -TimeLimit 4h -WhatIf -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*slurm.time_limit*'4h' is not a Slurm time limit*"
    }
}

AfterAll {
    # The cluster this file started goes down with it (the daemons write their pids under /run).
    if ($IsLinux -and (Test-Path /run/slurmctld.pid)) { bash (Join-Path $PSScriptRoot '../Slurm/single-node.sh') stop | Out-Null }
}
