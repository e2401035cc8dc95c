# The examples in examples/ run end to end against the built module.
BeforeDiscovery {
    # -Skip is decided at discovery: the Python example needs python3 on PATH.
    $script:python = (Get-Command python3 -ErrorAction Ignore).Source
}
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    $script:repo = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:python = (Get-Command python3 -ErrorAction Ignore).Source
}

Describe 'The plain-Python trainer (examples/python/trainer.py)' {
    BeforeEach { $script:state = Join-Path ([IO.Path]::GetTempPath()) ("st-pester-py-" + [guid]::NewGuid().ToString('N').Substring(0, 8)) }
    AfterEach {
        Get-ProcessStatus -StateDirectory $state -ErrorAction Ignore | Where-Object State -in 'Running', 'Starting', 'Backoff' |
            ForEach-Object { Stop-TrainingProcess -Name $_.Name -StateDirectory $state -Force -Confirm:$false -ErrorAction Ignore }
        Remove-Item -Recurse -Force $state -ErrorAction Ignore
    }

    It 'runs under Start-TrainingProcess -FilePath and completes with every epoch recorded once' -Skip:(-not $python) {
        $script_ = Join-Path $repo 'examples/python/trainer.py'
        Start-TrainingProcess -Name pytrain -FilePath $python -ArgumentList $script_, '--epochs', '4', '--step-delay', '0.001' -StateDirectory $state | Out-Null

        $final = Wait-Training -StateDirectory $state -Timeout 120
        $final.State | Should -Be 'completed'
        $final.Epoch | Should -Be 4
        $final.Accuracy | Should -BeGreaterThan 0.8

        $epochs = Get-Content (Join-Path $state 'data/metrics.jsonl') | ForEach-Object { ($_ | ConvertFrom-Json).epoch }
        $epochs | Should -Be @(1, 2, 3, 4)
        # The trainer writes 'completed' just before it exits; its supervisor records the exit a moment later.
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ((Get-ProcessStatus -Name pytrain -StateDirectory $state).State -ne 'Completed' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        (Get-ProcessStatus -Name pytrain -StateDirectory $state).State | Should -Be 'Completed'
        ((Get-StabilityStateDirectory -StateDirectory $state).Documents | Where-Object Name -eq 'data/model_metrics.json').State | Should -Be 'Ok'
    }
}
