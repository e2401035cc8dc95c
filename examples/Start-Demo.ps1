<#
.SYNOPSIS
    The main job: starts training on the built-in synthetic market data and the dashboard, shows progress over
    epochs, prints the dashboard's login link and the service table, and leaves the dashboard running.

.DESCRIPTION
    Run by `dotnet pwsh ./build.ps1 Demo` after the build. Uses the default state directory (or $env:STABILITY_HOME)
    and the dashboard's default address, 127.0.0.1:8050. Stop everything afterwards with:
        Import-Module ./artifacts/StabilityTools/StabilityTools.psd1; Stop-Dashboard; Stop-TrainingProcess
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Port = 8050
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force

$needed = 'Start-TrainingProcess', 'Start-Dashboard', 'Wait-Training', 'Get-ProcessStatus'
$missing = $needed | Where-Object { -not (Get-Command $_ -Module StabilityTools -ErrorAction Ignore) }
if ($missing) {
    throw "The demo needs $($missing -join ', '), which this build does not have yet (issues #3-#5)."
}

Start-TrainingProcess | Out-Null
# The dashboard needs its token: the login link carries it once, then the browser keeps a session cookie.
$dashboard = Start-Dashboard -Port $Port -PassThru -InformationAction Ignore
Write-Host "Dashboard: $($dashboard.LoginUrl)"
$final = Wait-Training
$final
# The trainer writes its final status just before it exits; give its supervisor a moment to record the exit.
$deadline = [DateTime]::UtcNow.AddSeconds(10)
while ((Get-ProcessStatus -Name training).State -in 'Running', 'Starting' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
# Sized to the content: in an 80-column terminal the fixed widths would cut a state to 'Comple…'.
Get-ProcessStatus | Format-Table -AutoSize
Write-Host "Dashboard still running; open $($dashboard.LoginUrl) — stop it with: Stop-Dashboard"
