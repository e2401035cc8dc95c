<#
.SYNOPSIS
    Runs every tests/Pester/*.Tests.ps1 with Pester 6.2.0 (restored from NuGet, imported by path) and writes
    the counts as JSON for build.ps1. Runs in a fresh `pwsh -NoProfile` started by build.ps1 Test.
#>
param(
    [Parameter(Mandatory)][string] $ResultPath,
    [string] $Path = $PSScriptRoot
)
$ErrorActionPreference = 'Stop'

if (-not $env:STABILITY_TEST_MODULE -or -not (Test-Path $env:STABILITY_TEST_MODULE)) {
    throw "STABILITY_TEST_MODULE must name the built StabilityTools.psd1 (build.ps1 Test sets it)."
}

$packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
$pester = Join-Path $packages 'pester/6.2.0/tools/Pester.psd1'
if (-not (Test-Path $pester)) {
    throw "Pester 6.2.0 is not in the NuGet cache ('$pester'). Run: dotnet restore tests/Pester/Pester.Dependencies.csproj"
}
Import-Module $pester -Force

$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
# The NUnit report is written after counting, and may fail on its own: Pester's writer refuses a failure message that
# carries a control character (a test that captured colored console output), and inside Invoke-Pester that failure
# loses the whole result, which once made a failing suite count as 0 tests and exit 0.
$configuration.TestResult.Enabled = $false

$result = Invoke-Pester -Configuration $configuration
if ($null -eq $result) {
    [pscustomobject]@{ passed = 0; failed = 0; skipped = 0; errors = 1 } | ConvertTo-Json | Set-Content -LiteralPath $ResultPath -Encoding utf8
    Write-Error 'Invoke-Pester returned no result: the run failed outside the tests (see above).' -ErrorAction Continue
    exit 1
}
try {
    $result | Export-NUnitReport -Path (Join-Path (Split-Path $ResultPath) 'pester.xml')
}
catch {
    Write-Warning "The NUnit report was not written: $_"
}
# Containers that failed to run (a syntax error, a failing BeforeAll outside any test) are failures too.
$errors = @($result.Containers | Where-Object { $_.Result -eq 'Failed' -and $_.FailedCount -eq 0 }).Count
[pscustomobject]@{
    passed  = $result.PassedCount
    failed  = $result.FailedCount
    skipped = $result.SkippedCount + $result.NotRunCount
    errors  = $errors
} | ConvertTo-Json | Set-Content -LiteralPath $ResultPath -Encoding utf8
if ($result.FailedCount -gt 0 -or $errors -gt 0) { exit 1 }
exit 0
