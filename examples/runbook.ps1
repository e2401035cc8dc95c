<#
.SYNOPSIS
    A runbook: starts training, waits for it, and fails (non-zero exit) if training fails or its supervisor gives up.

.DESCRIPTION
    Suitable for a scheduler or an automation account: every outcome is an exit code. On failure it prints the last
    lifecycle events and the tail of the trainer's log, so the job's own output says what happened.

.EXAMPLE
    dotnet pwsh ./examples/runbook.ps1 -ConfigPath ./examples/trainer.json -TimeoutSeconds 1800
#>
param(
    [string] $ConfigPath,
    [string] $StateDirectory,
    [int] $TimeoutSeconds = 1800,
    [string] $ModulePath = (Join-Path $PSScriptRoot '../artifacts/StabilityTools/StabilityTools.psd1')
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath

$common = @{}
if ($StateDirectory) { $common.StateDirectory = $StateDirectory }
$start = @{}
if ($ConfigPath) { $start.ConfigPath = $ConfigPath }

try {
    Start-TrainingProcess @common @start | Out-Null
    $final = Wait-Training @common -Timeout $TimeoutSeconds
    $final | Out-Host
    exit 0
}
catch {
    Write-Host "Training did not complete: $($_.Exception.Message)" -ForegroundColor Red
    Write-Host "FullyQualifiedErrorId: $($_.FullyQualifiedErrorId)"
    Get-StabilityEvent @common -Name training | Select-Object -Last 5 | Format-Table Time, Type, Message -Wrap | Out-Host
    Get-StabilityLog @common -Name training -Tail 20 -ErrorAction Ignore | Out-Host
    exit 1
}
