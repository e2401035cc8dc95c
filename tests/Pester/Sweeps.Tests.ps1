# Sweeps (issue #20): Start-TrainingSweep's controller is a supervised service that starts each trial as a training
# service of its own. Real supervisors, a real controller and real Python trials on the stabilitytools library
# (tests/Pester/python/sweep_trainer.py, whose loss is a known function of its settings); a fake nvidia-smi for GPUs.
# The ground truth is the machine's: the live trial processes (sampled from /proc) and the line each process start
# appends to a file, not what the controller says of itself.
BeforeDiscovery {
    $script:noVenv = -not (Test-Path (Join-Path $PSScriptRoot '../../artifacts/python-venv/bin/python'))
}
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:venvPython = (Resolve-Path (Join-Path $PSScriptRoot '../../artifacts/python-venv/bin/python') -ErrorAction Ignore).Path
    $script:trainer = Join-Path $PSScriptRoot 'python/sweep_trainer.py'

    # Starts a sweep of the test trainer; its settings reach it as arguments ({lr} and {hidden}).
    function script:Start-TestSweep([string] $Name, [System.Collections.IDictionary] $Parameter, [int] $Epochs, [double] $EpochSeconds, [hashtable] $Options = @{}) {
        $arguments = $trainer, '--lr', '{lr}', '--hidden', '{hidden}', '--epochs', "$Epochs", '--epoch-seconds', "$EpochSeconds",
            '--starts', $starts, '--marker', $marker
        Start-TrainingSweep -Name $Name -FilePath $venvPython -ArgumentList $arguments -Parameter $Parameter -StateDirectory $state -PassThru -ErrorAction Stop @Options
    }

    # The trial processes alive now, each as "lr/hidden" (from its command line), found by this test's marker.
    function script:Get-LiveTrials {
        $found = [System.Collections.Generic.List[string]]::new()
        Find-Process { param($environ, $command) $command -contains $marker -and $command -contains '--lr' } | ForEach-Object {
            $command = [IO.File]::ReadAllText("/proc/$_/cmdline" ).Split([char]0)
            if (Test-ProcessAlive $_) { $found.Add(('{0}/{1}' -f $command[[array]::IndexOf($command, '--lr') + 1], $command[[array]::IndexOf($command, '--hidden') + 1])) }
        }
        , $found
    }

    # Until the sweep ends, samples the live trials every ~100 ms: returns the most seen at once, and fails on a trial
    # seen twice in one sample.
    function script:Watch-Sweep([string] $Name, [int] $Seconds, [scriptblock] $OnSample = {}) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        $most = 0
        while ($true) {
            $live = Get-LiveTrials
            $most = [Math]::Max($most, $live.Count)
            $twice = @($live | Group-Object | Where-Object Count -gt 1)
            $twice | Should -BeNullOrEmpty -Because "a trial must never run twice at once (live: $($live -join ', '))"
            $sweep = Get-TrainingSweep $Name -StateDirectory $state
            & $OnSample $sweep
            if ($sweep.State -in 'completed', 'stopped') { return $most }
            if ([DateTime]::UtcNow -gt $deadline) { throw "The sweep '$Name' did not end within $Seconds s: $($sweep.Summary)" }
            Start-Sleep -Milliseconds 100
        }
    }

    # The process starts the trials recorded, one object per start.
    function script:Get-Starts { @(Get-Content -LiteralPath $starts -ErrorAction Ignore | ForEach-Object { $_ | ConvertFrom-Json }) }
}

Describe 'Start-TrainingSweep' {
    BeforeEach {
        $script:state = New-TestStateDirectory 'st-pester-sweep'
        $script:starts = Join-Path $state 'starts.jsonl'
        $script:marker = "sweep-marker-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    }
    AfterEach {
        Get-TrainingSweep -StateDirectory $state -ErrorAction Ignore | ForEach-Object {
            Stop-TrainingSweep $_.Name -Force -Confirm:$false -StateDirectory $state -ErrorAction Ignore
        }
        Remove-TestStateDirectory $state
    }

    It 'runs a 12-trial grid 3 at a time, never more, every combination exactly once, and names the best trial' -Skip:$noVenv {
        $grid = [ordered]@{ lr = 1e-1, 1e-2, 1e-3, 1e-4; hidden = 8, 16, 32 }
        $started = Start-TestSweep grid12 $grid 3 0.25 @{ MaxConcurrent = 3 }
        $started.Total | Should -Be 12
        $started.MaxConcurrent | Should -Be 3

        $most = Watch-Sweep grid12 240
        $most | Should -BeLessOrEqual 3 -Because 'no more than -MaxConcurrent trials may run at once'
        $most | Should -BeGreaterOrEqual 2 -Because 'the trials must run side by side, not one after another'

        $sweep = Wait-TrainingSweep grid12 -Timeout 30 -StateDirectory $state -ErrorAction Stop
        $sweep.State | Should -Be 'completed'
        $sweep.Completed | Should -Be 12
        # Every combination started exactly once, and as its own trial.
        $runs = Get-Starts
        $runs.Count | Should -Be 12
        @($runs | ForEach-Object { '{0}/{1}' -f $_.lr, $_.hidden } | Sort-Object -Unique).Count | Should -Be 12
        @($sweep.Trials | Where-Object Launches -ne 1) | Should -BeNullOrEmpty
        # The settings reach the trial as an argument, as STABILITY_TRIAL_PARAMETERS and by trial number.
        $third = $runs | Where-Object trial -eq '3'
        $third.service | Should -Be 'grid12-t003'
        ($third.params | ConvertFrom-Json).lr | Should -Be 0.1
        ($third.params | ConvertFrom-Json).hidden | Should -Be 32
        # The best trial is the one the trainer's loss makes best: lr 1e-3, hidden 32.
        $sweep.Best.Parameters['lr'] | Should -Be 0.001
        $sweep.Best.Parameters['hidden'] | Should -Be 32
        @($sweep.Trials | Where-Object IsBest).Count | Should -Be 1
        # Trials are ordinary runs in an experiment named after the sweep, with their settings as parameters.
        $trialRuns = @(Get-TrainingRun -Experiment grid12 -StateDirectory $state)
        $trialRuns.Count | Should -Be 12
        @($trialRuns | Where-Object State -ne 'completed') | Should -BeNullOrEmpty
        $best = $trialRuns | Where-Object RunId -eq $sweep.Best.RunId
        $best.lr | Should -Be 0.001
        $best.Tags | Should -Contain 'sweep:grid12'
        # Nothing runs after the end: the controller completed, the trials too.
        (Get-ProcessStatus -Name grid12-sweep -StateDirectory $state).State | Should -Be 'Completed'
        (Get-LiveTrials).Count | Should -Be 0
    }

    It 'completes with every trial exactly once when its controller is SIGKILLed twice mid-sweep' -Skip:$noVenv {
        $grid = [ordered]@{ lr = 1e-1, 1e-2, 1e-3, 1e-4; hidden = 16, 32 }
        Start-TestSweep kill8 $grid 4 0.3 @{ MaxConcurrent = 2 } | Out-Null
        $killed = [System.Collections.Generic.List[int]]::new()
        # Each kill when a trial has ended since the last one and others run: the controller dies with work in flight.
        $onSample = {
            param($sweep)
            if ($killed.Count -ge 2 -or $sweep.Running -lt 1 -or $sweep.Completed -lt (2 * $killed.Count + 1)) { return }
            $controller = Get-ProcessStatus -Name kill8-sweep -StateDirectory $state
            if ($controller.State -eq 'Running' -and $controller.Pid -gt 0 -and $controller.Pid -notin $killed) {
                kill -KILL $controller.Pid
                $killed.Add($controller.Pid)
            }
        }
        Watch-Sweep kill8 300 $onSample | Should -BeLessOrEqual 2
        $killed.Count | Should -Be 2 -Because 'the controller must have been killed twice before the sweep ended'

        $sweep = Get-TrainingSweep kill8 -StateDirectory $state
        $sweep.State | Should -Be 'completed'
        $sweep.Completed | Should -Be 8
        $sweep.ControllerStarts | Should -Be 3 -Because 'its supervisor started the controller again after each kill'
        # The ground truth: each combination's trainer process started once, no trial lost or repeated.
        $runs = Get-Starts
        $runs.Count | Should -Be 8
        @($runs | ForEach-Object { '{0}/{1}' -f $_.lr, $_.hidden } | Sort-Object -Unique).Count | Should -Be 8
        # A controller killed between recording a trial and its start leaves the next one to start it again (Launches
        # 2): the start is refused while a supervisor of that trial lives, so a second launch never makes a second process.
        @($sweep.Trials | Where-Object { $_.Launches -lt 1 -or $_.Launches -gt 3 }) | Should -BeNullOrEmpty
        @(Get-StabilityEvent -Name kill8-sweep -Type sweep_controller_started -StateDirectory $state).Count | Should -Be 3
        @(Get-TrainingRun -Experiment kill8 -StateDirectory $state | Where-Object State -eq 'completed').Count | Should -Be 8
    }

    It 'stops a deliberately bad trial by the median rule before its last epoch' -Skip:$noVenv {
        # Three good trials complete first (one at a time); the fourth, lr = 1, is worse than their median from epoch 1.
        $grid = [ordered]@{ lr = 1e-3, 2e-3, 3e-3, 1.0; hidden = 32 }
        Start-TestSweep median $grid 6 0.2 @{ EarlyStop = 'Median'; EarlyStopMinTrials = 3; EarlyStopWarmupEpochs = 1 } | Out-Null
        $sweep = Wait-TrainingSweep median -Timeout 180 -StateDirectory $state -ErrorAction Stop
        $bad = $sweep.Trials | Where-Object Index -eq 4
        $bad.State | Should -Be 'pruned'
        $bad.PrunedAtEpoch | Should -BeLessThan 6
        $bad.Message | Should -Match 'median'
        $sweep.Completed | Should -Be 3
        $sweep.Pruned | Should -Be 1
        # Stopped gracefully: its run says stopped, with fewer epochs than asked, and no kill was needed.
        $run = Get-TrainingRun -RunId $bad.RunId -StateDirectory $state
        $run.State | Should -Be 'stopped'
        $run.Epochs | Should -BeLessThan 6
        Get-StabilityEvent -Name median-t004 -Type stop_timeout -StateDirectory $state | Should -BeNullOrEmpty
        @(Get-StabilityEvent -Name median-sweep -Type sweep_trial_pruned -StateDirectory $state).Count | Should -Be 1
    }

    It 'stops with Stop-TrainingSweep, leaves nothing running, and goes on with the same settings' -Skip:$noVenv {
        $grid = [ordered]@{ lr = 1e-2, 1e-3, 1e-4; hidden = 32 }
        Start-TestSweep resume $grid 8 0.4 | Out-Null
        Wait-Until { Get-TrainingSweep resume -Trial -StateDirectory $state | Where-Object Index -eq 1 } { param($t) $t.Epochs -ge 2 } 'trial 1 two epochs in' 60 | Out-Null
        $stopped = Stop-TrainingSweep resume -Confirm:$false -PassThru -StateDirectory $state -ErrorAction Stop
        $stopped.State | Should -Be 'stopped'
        ($stopped.Trials | Where-Object Index -eq 1).State | Should -Be 'stopped'
        (Get-LiveTrials).Count | Should -Be 0 -Because 'a stopped sweep leaves no trial running'
        { Wait-TrainingSweep resume -Timeout 5 -StateDirectory $state -ErrorAction Stop } | Should -Throw -ErrorId 'SweepStopped,StabilityTools.Cmdlets.WaitTrainingSweepCommand'

        # The same call goes on: trial 1 on its own run from its checkpoint, then the rest.
        $first = ($stopped.Trials | Where-Object Index -eq 1).RunId
        Start-TestSweep resume $grid 8 0.4 | Out-Null
        $done = Wait-TrainingSweep resume -Timeout 180 -StateDirectory $state -ErrorAction Stop
        $done.Completed | Should -Be 3
        ($done.Trials | Where-Object Index -eq 1).RunId | Should -Be $first
        $epochs = @(Get-TrainingMetric -RunId $first -Kind epoch -StateDirectory $state).Epoch
        $epochs | Should -Be @(1..8) -Because 'the resumed trial trains each epoch once'
        { Start-TestSweep resume $grid 8 0.4 } | Should -Throw -ExpectedMessage '*has completed*'
    }

    It 'places each trial on a core of its own with -CpusPerTrial, as many at once as there are free cores' -Skip:$noVenv {
        $cores = @((Get-Content /proc/self/status | Where-Object { $_ -like 'Cpus_allowed_list:*' }) -replace '^Cpus_allowed_list:\s*', '')
        $count = [Environment]::ProcessorCount
        $affinity = Join-Path $state 'affinity.jsonl'
        # Trials of 9 s: the supervisor pins a new process at its first limits pass, up to a heartbeat interval (5 s) after the start.
        $arguments = $trainer, '--lr', '{lr}', '--hidden', '32', '--epochs', '3', '--epoch-seconds', '3', '--starts', $starts, '--marker', $marker, '--affinity', $affinity
        Start-TrainingSweep -Name cores -FilePath $venvPython -ArgumentList $arguments -Parameter @{ lr = 1e-1, 1e-2, 1e-3, 1e-4 } -CpusPerTrial 1 `
            -StateDirectory $state -ErrorAction Stop | Out-Null

        $most = Watch-Sweep cores 240
        $most | Should -BeLessOrEqual $count -Because "one core per trial on $count cores ($cores)"
        if ($count -ge 2) { $most | Should -BeGreaterOrEqual 2 -Because 'trials on different cores run side by side' }
        $sweep = Get-TrainingSweep cores -StateDirectory $state
        $sweep.Completed | Should -Be 4
        $sweep.CpusPerTrial | Should -Be 1
        # What each trainer process could run on by its end: the one core recorded for its trial.
        $seen = @(Get-Content $affinity | ForEach-Object { $_ | ConvertFrom-Json })
        $seen.Count | Should -Be 4
        foreach ($record in $seen) {
            $trial = $sweep.Trials | Where-Object Index -eq ([int]$record.trial)
            @($trial.Cpus).Count | Should -Be 1
            @($record.cores) | Should -Be @($trial.Cpus)
        }
    }

    It 'refuses bad settings, naming what to change, and writes nothing' {
        { Start-TrainingSweep -Name 'Bad Name' -Parameter @{ lr = 1 } -StateDirectory $state -ErrorAction Stop } | Should -Throw -ExpectedMessage '*not a sweep name*'
        { Start-TrainingSweep -Name ok -Parameter @{ lr = 1, 2 } -Count 3 -StateDirectory $state -ErrorAction Stop } | Should -Throw -ExpectedMessage '*-Count is for -Method Random*'
        { Start-TrainingSweep -Name ok -Parameter @{ lr = @() } -StateDirectory $state -ErrorAction Stop } | Should -Throw -ExpectedMessage '*has no values*'
        { Start-TrainingSweep -Name ok -Parameter @{ lr = @{ a = 1 } } -StateDirectory $state -ErrorAction Stop } | Should -Throw -ExpectedMessage '*numbers, strings or booleans*'
        { Start-TrainingSweep -Name ok -Parameter @{ lr = 1 } -Metric 'val loss' -StateDirectory $state -ErrorAction Stop } | Should -Throw -ExpectedMessage '*not a metric name*'
        Test-Path (Join-Path $state 'sweeps') | Should -BeFalse
        Get-TrainingSweep -StateDirectory $state | Should -BeNullOrEmpty
        { Get-TrainingSweep nothing -StateDirectory $state -ErrorAction Stop } | Should -Throw -ExpectedMessage "*no sweep 'nothing'*"
    }

    It 'refuses a second sweep of the same name with other settings' -Skip:$noVenv {
        Start-TestSweep twice ([ordered]@{ lr = 1e-3; hidden = 32 }) 1 0.1 | Out-Null
        Wait-TrainingSweep twice -Timeout 60 -StateDirectory $state -ErrorAction Stop | Out-Null
        { Start-TestSweep twice ([ordered]@{ lr = 1e-2; hidden = 32 }) 1 0.1 } | Should -Throw -ExpectedMessage '*with other settings exists*'
        Remove-TrainingSweep twice -Confirm:$false -StateDirectory $state -ErrorAction Stop
        Get-TrainingSweep -StateDirectory $state | Should -BeNullOrEmpty
        @(Get-TrainingRun -Experiment twice -StateDirectory $state).Count | Should -Be 1 -Because 'removing a sweep keeps its runs'
    }

    Context '-GpusPerTrial' {
        BeforeAll {
            # A fake nvidia-smi with four idle GPUs (nvidia-smi's --query-gpu CSV, as Resources.Tests replays).
            $script:smi = Install-FakeNvidiaSmi -Gpus (0..3 | ForEach-Object { "$_, GPU-00000000-0000-0000-0000-00000000000$_, NVIDIA A100-SXM4-80GB, 81920, 4, 0" })
        }
        AfterAll { Remove-FakeNvidiaSmi $smi }

        It 'runs 4 trials side by side on 4 GPUs, each with its own CUDA_VISIBLE_DEVICES, and the rest as GPUs free up' -Skip:$noVenv {
            $grid = [ordered]@{ lr = 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6; hidden = 32 }
            $script:gpusAtFour = $null
            $onSample = {
                param($sweep)
                $running = @($sweep.Trials | Where-Object State -eq 'running')
                if ($running.Count -eq 4 -and -not $script:gpusAtFour) { $script:gpusAtFour = @($running | ForEach-Object { $_.Gpus -join ',' }) }
            }
            Start-TestSweep gpus $grid 3 0.6 @{ GpusPerTrial = 1 } | Out-Null
            $most = Watch-Sweep gpus 240 $onSample
            $most | Should -Be 4 -Because 'four GPUs, one per trial: four trials at once, no more'

            $sweep = Get-TrainingSweep gpus -StateDirectory $state
            $sweep.Completed | Should -Be 6
            # What each trainer process saw: one device of its own.
            $runs = Get-Starts
            $runs.Count | Should -Be 6
            $runs | ForEach-Object { $_.cuda | Should -BeIn '0', '1', '2', '3' }
            @($runs | Select-Object -First 4 | ForEach-Object cuda | Sort-Object -Unique) | Should -Be @('0', '1', '2', '3')
            @($script:gpusAtFour | Sort-Object -Unique).Count | Should -Be 4 -Because 'the four trials running at once held four different GPUs'
        }
    }
}
