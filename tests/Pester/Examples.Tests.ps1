# The examples in examples/ run end to end against the built module.
BeforeDiscovery {
    # -Skip is decided at discovery: the Python example needs python3 on PATH (3.9 or newer).
    $script:python = (Get-Command python3 -ErrorAction Ignore).Source
}
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:repo = Resolve-Path (Join-Path $PSScriptRoot '../..')
    $script:python = (Get-Command python3 -ErrorAction Ignore).Source
}

Describe 'The Python trainer on the stabilitytools library (examples/python/trainer.py)' {
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-py' }
    AfterEach { Remove-TestStateDirectory $state }

    It 'runs under Start-TrainingProcess -FilePath and completes with every epoch recorded once' -Skip:(-not $python) {
        $script_ = Join-Path $repo 'examples/python/trainer.py'
        Start-TrainingProcess -Name pytrain -FilePath $python -ArgumentList $script_, '--epochs', '4', '--step-delay', '0.001' -StateDirectory $state | Out-Null

        $final = Wait-Training -StateDirectory $state -Timeout 120
        $final.State | Should -Be 'completed'
        $final.Epoch | Should -Be 4
        $final.Accuracy | Should -BeGreaterThan 0.8

        # The trainer writes 'completed' just before it exits; its supervisor records the exit a moment later.
        Wait-Until { Get-ProcessStatus -Name pytrain -StateDirectory $state } { param($s) $s.State -eq 'Completed' } 'the supervisor to record the exit' 30 | Out-Null
        # Its run: the parameters it reported and its final metrics, beside what the start recorded.
        $run = Get-TrainingRun -Name pytrain -StateDirectory $state
        $run.RunId | Should -Be $final.RunId
        $run.State | Should -Be 'completed'
        $run.lr | Should -Be 0.1
        $run.model | Should -Be 'logistic'
        # Written by the library: a plain python3 finds it in python/src, as the README says.
        $run.Run.Trainer | Should -Match 'stabilitytools'
        $run.grad_norm | Should -BeGreaterThan 0
        # Every epoch once, each with the custom scalars it reported.
        $epochs = @(Get-TrainingMetric -Name pytrain -Kind epoch -StateDirectory $state)
        $epochs.Epoch | Should -Be @(1, 2, 3, 4)
        $epochs | ForEach-Object { $_.grad_norm | Should -BeGreaterThan 0; $_.weight_norm | Should -BeGreaterThan 0 }
        ((Get-StabilityStateDirectory -StateDirectory $state).Documents | Where-Object Name -eq "runs/$($run.RunId)/model_metrics.json").State | Should -Be 'Ok'
    }
}

Describe 'The runbook, the CI smoke check and the main job' {
    BeforeAll {
        $script:pwsh = Join-Path $PSHOME 'pwsh.dll'
        # Runs a script in a fresh pwsh, as a scheduler or CI job would; returns its exit code and output.
        function script:Invoke-Fresh([string] $Command, [hashtable] $Environment = @{}) {
            $info = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
            foreach ($a in @($pwsh, '-NoProfile', '-NonInteractive', '-Command', $Command)) { $info.ArgumentList.Add($a) }
            $info.RedirectStandardOutput = $true
            $info.RedirectStandardError = $true
            foreach ($k in $Environment.Keys) { $info.Environment[$k] = $Environment[$k] }
            $p = [System.Diagnostics.Process]::Start($info)
            $out = $p.StandardOutput.ReadToEndAsync()
            $err = $p.StandardError.ReadToEndAsync()
            if (-not $p.WaitForExit(300000)) { $p.Kill($true); throw "'$Command' did not finish within 5 minutes" }
            [pscustomobject]@{ ExitCode = $p.ExitCode; Output = $out.Result + $err.Result }
        }
    }
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-ex' }
    AfterEach { Remove-TestStateDirectory $state }

    It 'the runbook exits 0 when training completes' {
        $config = Join-Path $state 'small.json'
        '{ "data": { "bars": 5000 }, "training": { "epochs": 2 } }' | Set-Content $config
        $r = Invoke-Fresh "& '$repo/examples/runbook.ps1' -ConfigPath '$config' -StateDirectory '$state' -TimeoutSeconds 240 -ModulePath '$env:STABILITY_TEST_MODULE'"
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $r.Output | Should -Match 'completed'
    }

    It 'the runbook exits 1 and says why when training fails' {
        $config = Join-Path $state 'bad.json'
        '{ "training": { "epochs": 0, "no_such_key": 1 } }' | Set-Content $config
        $r = Invoke-Fresh "& '$repo/examples/runbook.ps1' -ConfigPath '$config' -StateDirectory '$state' -TimeoutSeconds 120 -ModulePath '$env:STABILITY_TEST_MODULE'"
        $r.ExitCode | Should -Be 1 -Because $r.Output
        $r.Output | Should -Match 'Training did not complete'
        $r.Output | Should -Match 'no_such_key'
    }

    It 'the CI smoke check passes under Pester in a fresh session' {
        $pester = Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages/pester/6.2.0/tools/Pester.psd1'
        if ($env:NUGET_PACKAGES) { $pester = Join-Path $env:NUGET_PACKAGES 'pester/6.2.0/tools/Pester.psd1' }
        $r = Invoke-Fresh "Import-Module '$pester'; `$r = Invoke-Pester '$repo/examples/ci-smoke.Tests.ps1' -PassThru -Output None; exit `$r.FailedCount + (`$r.PassedCount -eq 2 ? 0 : 100)"
        $r.ExitCode | Should -Be 0 -Because $r.Output
    }

    It 'the main job (build.ps1 Demo) trains, serves the dashboard, prints its URL and the service table' {
        $port = Get-Random -Minimum 20000 -Maximum 40000
        $r = Invoke-Fresh "& '$repo/examples/Start-Demo.ps1' -ModulePath '$env:STABILITY_TEST_MODULE' -Port $port" @{ STABILITY_HOME = $state }
        try {
            $r.ExitCode | Should -Be 0 -Because $r.Output
            $r.Output | Should -Match ([regex]::Escape("Dashboard: http://127.0.0.1:$port/"))
            $r.Output | Should -Match 'completed\s+8/8'
            $r.Output | Should -Match 'dashboard\s+dashboard\s+Running'
            $r.Output | Should -Match 'training\s+training\s+Completed'
            # The dashboard was left running, as the README says, and answers.
            (Invoke-WebRequest "http://127.0.0.1:$port/healthz" -TimeoutSec 10).StatusCode | Should -Be 200
        }
        finally {
            Stop-Dashboard -StateDirectory $state -Force -Confirm:$false -ErrorAction Ignore | Out-Null
        }
    }
}

