# A CI smoke check for a project that trains with StabilityTools: run it with
#   dotnet pwsh -c 'Invoke-Pester ./examples/ci-smoke.Tests.ps1 -CI'
# It trains a small configuration to completion through the real supervisor and fails the job otherwise.
BeforeAll {
    $module = if ($env:STABILITY_TEST_MODULE) { $env:STABILITY_TEST_MODULE } else { Join-Path $PSScriptRoot '../artifacts/StabilityTools/StabilityTools.psd1' }
    Import-Module $module -Force
    $script:state = Join-Path ([IO.Path]::GetTempPath()) ("smoke-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:config = Join-Path $state 'smoke.json'
    New-Item -ItemType Directory -Path $state -Force | Out-Null
    '{ "data": { "bars": 5000 }, "training": { "epochs": 2 } }' | Set-Content $config
}
AfterAll {
    Get-ProcessStatus -StateDirectory $state -ErrorAction Ignore | Where-Object State -in 'Running', 'Starting', 'Backoff' |
        Stop-TrainingProcess -Force -Confirm:$false -ErrorAction Ignore
    Remove-Item -Recurse -Force $state -ErrorAction Ignore
}

Describe 'Training smoke check' {
    It 'trains a small run to completion through the supervisor' {
        Start-TrainingProcess -ConfigPath $config -StateDirectory $state | Out-Null
        $final = Wait-Training -StateDirectory $state -Timeout 300 -ErrorAction Stop
        $final.State | Should -Be 'completed'
        $final.Epoch | Should -Be 2
        $final.ModelPath | Should -Exist
    }

    It 'recorded no fatal or hang event' {
        Get-StabilityEvent -StateDirectory $state -Type fatal, hang_detected | Should -BeNullOrEmpty
    }
}
