# Get-TrainingStatus and Wait-Training against status files written by hand and by the real trainer from
# the built module (hosts/trainer).
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:trainerDll = Join-Path (Split-Path $env:STABILITY_TEST_MODULE) 'hosts/trainer/stability-trainer.dll'

    function script:Write-TrainingStatus([string] $TrainerState, [hashtable] $Fields = @{}) {
        # $script:state is the state directory (PowerShell names are case-insensitive: not $State). The trainer's
        # documents live in its run's folder; with no training service, the newest run is the one shown.
        $data = Join-Path $script:state 'runs/pester-run'
        New-Item -ItemType Directory -Path $data -Force | Out-Null
        $doc = [ordered]@{
            schema = 'training_status/1'; seq = 1; written_at = [DateTimeOffset]::UtcNow.ToString('o'); run_id = 'pester-run'

            state = $TrainerState; current_epoch = 2; total_epochs = 4; step = 50; total_steps = 100
            heartbeat = [DateTimeOffset]::UtcNow.ToString('o'); loss = 0.5; accuracy = 0.6
        }
        foreach ($k in $Fields.Keys) { $doc[$k] = $Fields[$k] }
        $doc | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $data 'training_status.json')
    }
}

Describe 'Get-TrainingStatus' {
    BeforeEach { $script:state = Join-Path ([IO.Path]::GetTempPath()) ("st-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 12)) }
    AfterEach { Remove-Item -Recurse -Force $state -ErrorAction Ignore }

    It 'reports epoch, loss, accuracy and heartbeat age of the trainer''s status' {
        Write-TrainingStatus 'running'
        $status = Get-TrainingStatus -StateDirectory $state
        $status.State | Should -Be 'running'
        $status.Epoch | Should -Be 2
        $status.TotalEpochs | Should -Be 4
        $status.PercentComplete | Should -Be 0.5
        $status.HeartbeatAge.TotalSeconds | Should -BeLessThan 60
        ($status | Out-String) | Should -Match '2/4'
    }

    It 'reports a state from a newer trainer as unknown, with the rest of its status' {
        Write-TrainingStatus 'evaluating' @{ is_running = $true }
        $status = Get-TrainingStatus -StateDirectory $state -ErrorAction Stop
        $status.State | Should -Be 'unknown'
        $status.ReadState | Should -Be 'Ok'
        $status.Epoch | Should -Be 2
        $status.PercentComplete | Should -Be 0.5
        $status.IsStale | Should -BeFalse
    }

    It 'reports a missing status as a state without creating the state directory' {
        $status = Get-TrainingStatus -StateDirectory $state
        $status.State | Should -Be 'missing'
        $state | Should -Not -Exist
    }
}

Describe 'Wait-Training' {
    BeforeEach { $script:state = Join-Path ([IO.Path]::GetTempPath()) ("st-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 12)) }
    AfterEach { Remove-Item -Recurse -Force $state -ErrorAction Ignore }

    It 'fails with TrainingFailed when the trainer failed and no supervisor will restart it' {
        Write-TrainingStatus 'failed' @{ error_message = 'trainer.json:3: bad epochs' }
        { Wait-Training -StateDirectory $state -Timeout 10 -ErrorAction Stop } |
            Should -Throw -ErrorId 'TrainingFailed,StabilityTools.Cmdlets.WaitTrainingCommand'
    }

    It 'fails with AsyncOperationError when the timeout passes first' {
        Write-TrainingStatus 'running'
        { Wait-Training -StateDirectory $state -Timeout 1 -ErrorAction Stop } |
            Should -Throw -ErrorId 'AsyncOperationError,StabilityTools.Cmdlets.WaitTrainingCommand'
    }

    It 'returns the final status of a real trainer run' {
        $config = Join-Path ([IO.Path]::GetTempPath()) ("st-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.json')
        '{ "data": { "bars": 3000 }, "training": { "epochs": 2, "threads": 1 } }' | Set-Content -LiteralPath $config
        $trainer = Start-Process -FilePath (Get-Command dotnet).Source -ArgumentList @($trainerDll, '--state-dir', $state, '--config', $config) -PassThru -RedirectStandardOutput "$config.out"
        try {
            $final = Wait-Training -StateDirectory $state -Timeout 120 -ErrorAction Stop
            $final.State | Should -Be 'completed'
            $final.Epoch | Should -Be 2
            $final.ModelPath | Should -Exist
        }
        finally {
            if (-not $trainer.WaitForExit(30000)) { $trainer.Kill($true) }
            Remove-Item -LiteralPath $config, "$config.out" -ErrorAction Ignore
        }
        $trainer.ExitCode | Should -Be 0
    }

    It 'returns the final status of a supervised run started with Start-TrainingProcess (the CI smoke check)' {
        $config = Join-Path ([IO.Path]::GetTempPath()) ("st-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.json')
        '{ "data": { "bars": 3000 }, "training": { "epochs": 3, "threads": 1 } }' | Set-Content -LiteralPath $config
        try {
            Start-TrainingProcess -StateDirectory $state -ConfigPath $config | Out-Null
            $final = Wait-Training -StateDirectory $state -Timeout 120 -ErrorAction Stop
            $final.State | Should -Be 'completed'
            $final.Epoch | Should -Be 3
        }
        finally {
            Stop-TrainingProcess -StateDirectory $state -Confirm:$false -ErrorAction SilentlyContinue | Out-Null
            Remove-Item -LiteralPath $config -ErrorAction Ignore
        }
    }

    It 'writes the trainer''s events under the name given to Start-TrainingProcess -Name' {
        $config = Join-Path ([IO.Path]::GetTempPath()) ("st-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.json')
        '{ "data": { "bars": 3000 }, "training": { "epochs": 1, "threads": 1 } }' | Set-Content -LiteralPath $config
        try {
            Start-TrainingProcess -Name exp2 -StateDirectory $state -ConfigPath $config | Out-Null
            Wait-Training -StateDirectory $state -Timeout 120 -ErrorAction Stop | Out-Null
            # The trainer's own completion event ("Run <id> completed: ..."), written just after its final status.
            $completed = Wait-Until { @(Get-StabilityEvent -StateDirectory $state -Type completed | Where-Object Message -like 'Run *') } { param($e) $e.Count -ge 1 } 'the trainer''s completed event' 30
            $completed.Service | Should -Be 'exp2'
            @(Get-StabilityEvent -StateDirectory $state -Type started | Where-Object Message -like 'Started run *').Service | Should -Be 'exp2'
            Get-StabilityEvent -StateDirectory $state | Where-Object Service -ne 'exp2' | Should -BeNullOrEmpty
        }
        finally {
            Stop-TrainingProcess -Name exp2 -StateDirectory $state -Confirm:$false -ErrorAction SilentlyContinue | Out-Null
            Remove-Item -LiteralPath $config -ErrorAction Ignore
        }
    }
}
