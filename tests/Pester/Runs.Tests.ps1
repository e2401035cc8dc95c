# Training runs (issue #17): many trainers in one state directory, each run in a folder of its own with its settings,
# listed and compared from the cmdlets. Real supervisors and real TorchSharp trainers from the built module.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1

    # The epoch numbers of a run's own metrics.jsonl, with the run id of every line checked.
    function script:Get-RunEpochs([string] $Root, [string] $RunId) {
        foreach ($line in Get-Content -LiteralPath (Join-Path $Root "runs/$RunId/metrics.jsonl")) {
            $record = $line | ConvertFrom-Json
            if ($record.run_id -ne $RunId) { throw "a record of run $($record.run_id) in run $RunId's log" }
            if ($record.kind -eq 'epoch') { $record.epoch }
        }
    }
}

Describe 'Many trainers in one state directory' {
    BeforeAll {
        $script:state = New-TestStateDirectory 'st-runs'
        $script:rates = 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008
        $module = $env:STABILITY_TEST_MODULE
        $root = $script:state
        # Eight starts at once, from eight runspaces of this session.
        $script:started = 0..7 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:module
            $config = Join-Path $using:root ("lr-{0}.json" -f ($using:rates)[$_])
            @{ data = @{ bars = 3000 }; training = @{ epochs = 2; threads = 1; learning_rate = ($using:rates)[$_] } } | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $config
            Start-TrainingProcess -Name "lr-$_" -ConfigPath $config -Experiment lr-sweep -Tag sweep, pester -PassThru -StateDirectory $using:root -ErrorAction Stop
        }
        $script:waited = @(Wait-Training -Experiment lr-sweep -StateDirectory $state -Timeout 600 -ErrorAction Stop)
        $script:runs = @(Get-TrainingRun -Experiment lr-sweep -StateDirectory $state)
    }
    AfterAll { Remove-TestStateDirectory $state }

    It 'makes eight distinct runs, each completed and recorded with its own settings' {
        $started.Count | Should -Be 8
        ($waited.RunId | Sort-Object) -join ',' | Should -Be (($started.RunId | Sort-Object) -join ',') -Because 'Wait-Training -Experiment returns every run of the sweep'
        $waited.State | Sort-Object -Unique | Should -Be 'completed'
        @($started.RunId | Sort-Object -Unique).Count | Should -Be 8
        $runs.Count | Should -Be 8
        $runs.State | Sort-Object -Unique | Should -Be 'completed'
        foreach ($i in 0..7) {
            $run = $runs | Where-Object Service -eq "lr-$i"
            @($run).Count | Should -Be 1
            $run.RunId | Should -Be ($started | Where-Object Name -eq "lr-$i").RunId
            $run.'training.learning_rate' | Should -Be $rates[$i]
            $run.Tags | Should -Be @('sweep', 'pester')
            $run.Epochs | Should -Be 2
            $run.val_accuracy | Should -BeGreaterThan 0
        }
    }

    It 'shows parameters and final metrics as properties to Select-Object and Export-Csv, and keeps them read-only' {
        $csv = Join-Path $state 'runs.csv'
        $runs | Select-Object RunId, val_accuracy, 'training.learning_rate' | Export-Csv -LiteralPath $csv
        $rows = @(Import-Csv -LiteralPath $csv)
        $rows.Count | Should -Be 8
        foreach ($row in $rows) {
            $run = $runs | Where-Object RunId -eq $row.RunId
            [double]$row.'training.learning_rate' | Should -Be $run.'training.learning_rate'
            [double]$row.val_accuracy | Should -Be $run.val_accuracy
        }
        $runs[0].PSObject.Properties.Name | Should -Contain 'training.learning_rate'
        $runs[0].PSObject.TypeNames[0] | Should -Be 'StabilityTools.TrainingRun'
        { $runs[0].State = 'failed' } | Should -Throw -ExpectedMessage '*read-only*'
    }

    It 'keeps each run''s metrics in its own log, every epoch exactly once' {
        foreach ($run in $runs) {
            Get-RunEpochs $state $run.RunId | Should -Be @(1, 2)
        }
    }

    It 'shows the learning rate as the one parameter that differs' {
        $rows = @($runs | Compare-TrainingRun -StateDirectory $state)
        @($rows | Where-Object Kind -eq 'parameter').Name | Should -Be 'training.learning_rate'
        ($rows | Where-Object Name -eq 'val_accuracy').Kind | Should -Be 'metric'
        $first = $runs[0].RunId
        ($rows | Where-Object Name -eq 'training.learning_rate').$first | Should -Be $runs[0].'training.learning_rate'
    }

    It 'writes every event of a run under the service that ran it' {
        foreach ($i in 0..7) {
            $runId = ($started | Where-Object Name -eq "lr-$i").RunId
            $events = @(Get-StabilityEvent -StateDirectory $state | Where-Object { $_.Message -like "*run $runId*" -or $_.Message -like "Run $runId *" })
            $events.Count | Should -BeGreaterThan 0
            $events.Service | Sort-Object -Unique | Should -Be "lr-$i"
        }
    }

    It 'starts a new run when a completed run''s service is started again, leaving the old run as it was' {
        $old = $runs | Where-Object Service -eq 'lr-0'
        $metrics = Join-Path $state "runs/$($old.RunId)/metrics.jsonl"
        $before = (Get-FileHash -LiteralPath $metrics).Hash
        $again = Start-TrainingProcess -Name lr-0 -ConfigPath (Join-Path $state 'lr-0.001.json') -PassThru -StateDirectory $state -ErrorAction Stop
        Wait-Training -Name lr-0 -StateDirectory $state -Timeout 300 -ErrorAction Stop | Out-Null

        $again.RunId | Should -Not -Be $old.RunId
        (Get-FileHash -LiteralPath $metrics).Hash | Should -Be $before
        $kept = Get-TrainingRun -RunId $old.RunId -StateDirectory $state
        $kept.State | Should -Be 'completed'
        $kept.val_accuracy | Should -Be $old.val_accuracy
        $kept.train_loss | Should -BeGreaterThan 0
        (Get-TrainingStatus -RunId $old.RunId -StateDirectory $state).Loss | Should -BeGreaterThan 0
        @(Get-TrainingRun -Name lr-0 -StateDirectory $state).Count | Should -Be 2
    }

    It 'resumes the service''s last run with -Resume: a completed run reports completed again without training' {
        $last = Get-TrainingRun -Name lr-1 -StateDirectory $state
        $resumed = Start-TrainingProcess -Name lr-1 -ConfigPath (Join-Path $state 'lr-0.002.json') -Resume -PassThru -StateDirectory $state -ErrorAction Stop
        $status = Wait-Training -Name lr-1 -StateDirectory $state -Timeout 300 -ErrorAction Stop

        $resumed.RunId | Should -Be $last.RunId
        $status.Loss | Should -Be $last.train_loss
        Get-RunEpochs $state $last.RunId | Should -Be @(1, 2)
        (Get-TrainingRun -RunId $last.RunId -StateDirectory $state).Run.Attempts | Should -Be 2
    }

    It 'refuses -RunId of a run that does not exist, naming how to list them' {
        { Start-TrainingProcess -Name lr-2 -RunId no-such-run -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*no run 'no-such-run'*Get-TrainingRun*"
    }
}

Describe 'Remove-TrainingRun' {
    BeforeAll { $script:state = New-TestStateDirectory 'st-runs-rm' }
    AfterAll { Remove-TestStateDirectory $state }

    It 'removes a finished run, and refuses the run a live service works on' {
        $finished = Start-TrainingProcess -Name done -FilePath /bin/true -RestartPolicy never -PassThru -StateDirectory $state -ErrorAction Stop
        $live = Start-TrainingProcess -Name live -FilePath /bin/sleep -ArgumentList 600 -PassThru -StateDirectory $state -ErrorAction Stop
        try {
            Wait-Until { Get-ProcessStatus -Name done -StateDirectory $state } { param($s) $s.State -eq 'Completed' } 'the finished service' 30 | Out-Null

            Get-TrainingRun -RunId $finished.RunId -StateDirectory $state | Remove-TrainingRun -WhatIf -StateDirectory $state
            Join-Path $state "runs/$($finished.RunId)" | Should -Exist

            Remove-TrainingRun -RunId $live.RunId, $finished.RunId -Confirm:$false -StateDirectory $state -ErrorVariable refused -ErrorAction SilentlyContinue
            $refused.FullyQualifiedErrorId | Should -Be 'RunInUse,StabilityTools.Cmdlets.RemoveTrainingRunCommand'
            Join-Path $state "runs/$($finished.RunId)" | Should -Not -Exist
            Join-Path $state "runs/$($live.RunId)" | Should -Exist
            @(Get-TrainingRun -StateDirectory $state).RunId | Should -Be @($live.RunId)
        }
        finally { Stop-TrainingProcess -Name live -StateDirectory $state -Confirm:$false -ErrorAction Ignore | Out-Null }
    }
}

Describe 'Wait-Training -Experiment' {
    BeforeAll {
        $script:state = New-TestStateDirectory 'st-runs-wait'
        $script:sh = (Get-Command sh -CommandType Application | Select-Object -First 1).Source
    }
    AfterAll { Remove-TestStateDirectory $state }

    It 'waits for every run at once: a program that reports nothing completes, one that goes fatal is an error naming its run' {
        # Neither program writes a word of the file contract: only their supervisors say how their runs ended.
        $quiet = Start-TrainingProcess -Name quiet -FilePath $sh -ArgumentList '-c', 'sleep 2' -Experiment wx -NoWait -PassThru -StateDirectory $state -ErrorAction Stop
        $broken = Start-TrainingProcess -Name broken -FilePath $sh -ArgumentList '-c', 'sleep 2; exit 78' -Experiment wx -NoWait -PassThru -StateDirectory $state -ErrorAction Stop

        $done = @(Wait-Training -Experiment wx -Timeout 120 -StateDirectory $state -ErrorVariable failed -ErrorAction SilentlyContinue)

        $done.RunId | Should -Be @($quiet.RunId)
        @($failed).Count | Should -Be 1
        $failed[0].FullyQualifiedErrorId | Should -Be 'TrainingFatal,StabilityTools.Cmdlets.WaitTrainingCommand'
        $failed[0].TargetObject | Should -Be $broken.RunId
        (Get-TrainingRun -RunId $quiet.RunId -StateDirectory $state).State | Should -Be 'completed'
        $failedRun = Get-TrainingRun -RunId $broken.RunId -StateDirectory $state
        $failedRun.State | Should -Be 'failed'
        $failedRun.Ended | Should -Not -BeNullOrEmpty
    }

    It 'gives up at the timeout with one error naming the runs still going' {
        $slow = Start-TrainingProcess -Name slow -FilePath $sh -ArgumentList '-c', 'sleep 600' -Experiment wy -PassThru -StateDirectory $state -ErrorAction Stop
        try {
            { Wait-Training -Experiment wy -Timeout 2 -StateDirectory $state -ErrorAction Stop } |
                Should -Throw -ErrorId 'AsyncOperationError,StabilityTools.Cmdlets.WaitTrainingCommand' -ExpectedMessage "*1 of 1 runs did not end within 2 s: $($slow.RunId)*"
        }
        finally { Stop-TrainingProcess -Name slow -StateDirectory $state -Confirm:$false -ErrorAction Ignore | Out-Null }
        (Get-TrainingRun -RunId $slow.RunId -StateDirectory $state).State | Should -Be 'stopped' -Because 'its supervisor records how the run ended'
    }

    It 'refuses an experiment without runs, naming how to start one' {
        { Wait-Training -Experiment nothing-here -Timeout 5 -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ExperimentNotFound,StabilityTools.Cmdlets.WaitTrainingCommand' -ExpectedMessage '*Start-TrainingProcess -Experiment nothing-here*'
    }
}

Describe 'Checkpoint retention' {
    BeforeAll { $script:state = New-TestStateDirectory 'st-runs-keep' }
    AfterAll { Remove-TestStateDirectory $state }

    It 'keeps the checkpoints of the newest runs only, with an event, and every run still listed' {
        # A trainer of one's own that checkpoints where the contract says: ckpt-* in its run folder.
        $write = 'head -c 4096 /dev/zero > "$STABILITY_RUN_DIR/ckpt-1"; mkdir -p "$STABILITY_RUN_DIR/checkpoints"; head -c 1024 /dev/zero > "$STABILITY_RUN_DIR/checkpoints/step.pt"'
        $ids = foreach ($i in 1..3) {
            $run = Start-TrainingProcess -Name nightly -FilePath /bin/sh -ArgumentList '-c', $write -RestartPolicy never -KeepCheckpointRuns 2 -PassThru -StateDirectory $state -ErrorAction Stop
            Wait-Until { Get-TrainingRun -RunId $run.RunId -StateDirectory $state } { param($r) $r.State -eq 'completed' } 'the run to be recorded completed' 30 | Out-Null
            $run.RunId
        }

        Join-Path $state "runs/$($ids[0])/ckpt-1" | Should -Not -Exist
        Join-Path $state "runs/$($ids[0])/checkpoints" | Should -Not -Exist
        foreach ($kept in $ids[1], $ids[2]) { Join-Path $state "runs/$kept/ckpt-1" | Should -Exist }
        @(Get-TrainingRun -Name nightly -StateDirectory $state).RunId | Should -Be $ids
        $pruned = @(Get-StabilityEvent -Name nightly -StateDirectory $state | Where-Object Type -eq 'checkpoints_pruned')
        $pruned.Count | Should -Be 1
        $pruned[0].Message | Should -BeLike "*$($ids[0])*"
        $pruned[0].Data.bytes | Should -Be '5120'
    }

    It 'refuses a count out of range before anything is made' {
        { Start-TrainingProcess -Name bad -FilePath /bin/true -KeepCheckpointRuns 0 -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,StabilityTools.Cmdlets.StartTrainingProcessCommand'
        Join-Path $state 'services/bad' | Should -Not -Exist
    }
}
