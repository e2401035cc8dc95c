# A user's own C# trainer on the StabilityTools.Reporting library (issue #19): examples/csharp/MyTrainer's source, built
# as tests/UserTrainer, run by Start-TrainingProcess -FilePath, SIGKILLed, SIGTERMed and restarted; its run as the
# cmdlets and the dashboard show it. The C# twin of PythonTrainer.Tests.ps1. Real supervisors and processes from the
# built module.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    # The apphost build.ps1 Build made (the newest, whichever configuration).
    $script:trainer = Get-ChildItem (Join-Path $PSScriptRoot '../UserTrainer/bin') -Recurse -File -Filter 'stability-user-trainer' -ErrorAction Ignore |
        Sort-Object LastWriteTime -Descending | Select-Object -First 1 -ExpandProperty FullName

    # The service's status and its trainer's heartbeat, together.
    function script:Get-Pair([string] $Name, [string] $State) {
        [pscustomobject]@{
            Service = Get-ProcessStatus -Name $Name -StateDirectory $State
            Trainer = Get-TrainingStatus -Name $Name -StateDirectory $State
        }
    }

    # Until a trainer process of $Name that is not in $Seen is at work: its own pid in the heartbeat, at least $Steps
    # steps into this life. Returns its pid.
    function script:Wait-FreshTrainer([string] $Name, [string] $State, [int[]] $Seen, [int] $Steps) {
        $pair = Wait-Until { Get-Pair $Name $State } {
            param($x)
            $x.Service.State -eq 'Running' -and $x.Service.Pid -notin $Seen -and $x.Trainer.Status.Pid -eq $x.Service.Pid -and
            $x.Trainer.State -eq 'running' -and $x.Trainer.Status.Progress -ge $Steps
        } "a fresh $Name trainer $Steps steps into its life" 120
        $pair.Service.Pid
    }
}

Describe 'A C# trainer of your own on the StabilityTools.Reporting library' {
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-cslib' }
    AfterEach { Remove-TestStateDirectory $state }

    It 'survives 3 SIGKILLs and a SIGTERM with a restart, and completes with every epoch exactly once' {
        if (-not $trainer) { throw 'tests/UserTrainer is not built: run build.ps1 Build.' }
        $epochs = 10
        $steps = 20
        $arguments = '--epochs', "$epochs", '--steps', "$steps", '--step-delay', '0.03'
        # Restarts at once and a circuit that allows every kill: this test is about what survives, not the backoff.
        $started = Start-TrainingProcess -Name csuser -FilePath $trainer -ArgumentList $arguments -CircuitMaxRestarts 10 -BackoffMaxSeconds 0 `
            -Experiment byo -PassThru -StateDirectory $state -ErrorAction Stop

        # Three SIGKILLs, each at another point of an epoch (after 7, 26 and 45 steps of that life).
        $seen = [System.Collections.Generic.List[int]]::new()
        foreach ($n in 7, 26, 45) {
            $victim = Wait-FreshTrainer csuser $state $seen $n
            kill -KILL $victim
            $seen.Add($victim)
        }

        # A SIGTERM (Stop-TrainingProcess): the library cancels the stop token, the next Step throws, and the run is
        # recorded as stopped by the trainer itself.
        $last = Wait-FreshTrainer csuser $state $seen 10
        Stop-TrainingProcess -Name csuser -Timeout 30 -Confirm:$false -StateDirectory $state -ErrorAction Stop | Out-Null
        Test-ProcessAlive $last | Should -BeFalse
        $stopped = Get-TrainingRun -Name csuser -StateDirectory $state
        $stopped.State | Should -Be 'stopped' -Because 'the library records a graceful stop itself (a kill after the stop timeout would not)'
        Get-StabilityEvent -Name csuser -Type stop_timeout -StateDirectory $state | Should -BeNullOrEmpty -Because 'it stopped on SIGTERM, before the stop timeout'
        @(Get-StabilityEvent -Name csuser -Type stopped -StateDirectory $state | Where-Object Pid -eq $last).Count | Should -Be 1 -Because 'the trainer wrote its own stopped event (the supervisor writes one of its own)'
        $stopped.Epochs | Should -BeLessThan $epochs -Because 'the run must have been stopped before it completed'

        # Restarted on the same run: it resumes from its newest checkpoint and completes.
        $resumed = Start-TrainingProcess -Name csuser -FilePath $trainer -ArgumentList $arguments -Resume -PassThru -StateDirectory $state -ErrorAction Stop
        $resumed.RunId | Should -Be $started.RunId
        $final = Wait-Training -Name csuser -StateDirectory $state -Timeout 300 -ErrorAction Stop
        $final.State | Should -Be 'completed'
        $final.Epoch | Should -Be $epochs

        # Every epoch exactly once, each after exactly epoch x steps of training: no epoch lost, repeated or half-resumed.
        $records = @(Get-TrainingMetric -Name csuser -Kind epoch -StateDirectory $state)
        $records.Epoch | Should -Be @(1..$epochs)
        $records | ForEach-Object { $_.steps_trained | Should -Be ($steps * $_.Epoch); $_.grad_norm | Should -Be (0.5 / $_.Epoch) }
        # Its parameters and final metrics, custom scalars included, through Get-TrainingRun.
        $run = Get-TrainingRun -RunId $started.RunId -StateDirectory $state
        $run.State | Should -Be 'completed'
        $run.Experiment | Should -Be 'byo'
        $run.lr | Should -Be 0.05
        $run.'optimizer.name' | Should -Be 'sgd'
        $run.'optimizer.batch' | Should -Be 8
        $run.steps_trained | Should -Be ($steps * $epochs)
        $run.Run.Attempts | Should -Be 5
        $run.Run.FinalModel | Should -Exist
        # Every life after the first resumed from a checkpoint (the first was killed 7 steps into epoch 1, before any), and said so.
        @(Get-StabilityEvent -Name csuser -Type resumed -StateDirectory $state).Count | Should -BeGreaterOrEqual 3
        $documents = (Get-StabilityStateDirectory -StateDirectory $state).Documents
        $documents | Where-Object State -notin 'Ok', 'Missing' | Should -BeNullOrEmpty

        # And on the dashboard (the state directory's one run): every epoch with its custom scalars.
        $port = Get-Random -Minimum 20000 -Maximum 40000
        $dashboard = Start-Dashboard -Port $port -PassThru -StateDirectory $state -ErrorAction Stop
        try {
            $headers = @{ Authorization = 'Bearer ' + (Get-Content $dashboard.TokenPath -Raw).Trim() }
            $view = Wait-Until { Invoke-RestMethod "$($dashboard.Url)api/metrics?kind=epoch" -Headers $headers -TimeoutSec 10 -ErrorAction Ignore } {
                param($v) $v -and @($v.records).Count -eq $epochs } "the dashboard's /api/metrics with $epochs epochs" 60
            $view.records.epoch | Should -Be @(1..$epochs)
            $view.records | ForEach-Object { $_.scalars.steps_trained | Should -Be ($steps * $_.epoch) }
        }
        finally { Stop-Dashboard -StateDirectory $state -Force -Confirm:$false -ErrorAction Ignore | Out-Null }
    }
}
