<#
.SYNOPSIS
    Writes the figures of a long chaos run (`build.ps1 Chaos`) with date and machine into docs/RELIABILITY.md,
    replacing the section between <!-- chaos:long --> and <!-- /chaos:long --> from an earlier run.
#>
param(
    [Parameter(Mandatory)][System.Collections.IDictionary] $Figures,
    [Parameter(Mandatory)][double] $Minutes,
    [Parameter(Mandatory)][int] $Passed,
    [int] $Skipped,
    [Parameter(Mandatory)][string] $Path
)
$ErrorActionPreference = 'Stop'

$cpu = (Select-String -Path /proc/cpuinfo -Pattern '^model name\s*:\s*(.+)$' -ErrorAction Ignore | Select-Object -First 1).Matches.Groups[1].Value
# The load says how much else ran: on a shared machine the timings and the throughput ratio depend on it.
$load = ((Get-Content /proc/loadavg -ErrorAction Ignore) -split ' ')[0..2] -join ' '
$machine = '{0} cores, {1}, Linux {2}' -f [Environment]::ProcessorCount, ($cpu ?? 'unknown CPU'), (uname -r)

# One line per fault, in words; a figure group this script does not know is still shown, as key=value pairs.
$templates = [ordered]@{
    trainer          = { param($f) "Trainer SIGKILLed at random moments | $($f.kills) | one run of $($f.epochs) epochs, a checkpoint every epoch; resumed from the newest checkpoint $($f.resumes_from_checkpoint) times; back at work $($f.resume_median_s) s after a kill (median; max $($f.resume_max_s) s); completed; epochs 1..$($f.epochs) exactly once; every file parses; $($f.stale_status_temp_files) stale status temp files left; $($f.duration_s) s in all" }
    dashboard        = { param($f) "Dashboard SIGKILLed during training | $($f.kills) | answering /healthz again $($f.back_median_s) s after a kill (median; max $($f.back_max_s) s; restart delay ≤ 1 s); trainer restarts $($f.trainer_restarts); throughput $($f.chaos_samples_per_s) samples/s under kills vs $($f.quiet_samples_per_s) undisturbed: ratio **$($f.throughput_ratio)** (median over $($f.chaos_epochs_measured) epochs)" }
    supervisor_death = { param($f) "Supervisor SIGKILLed while its trainer ran | $($f.supervisor_kills) | taken back by the next command each time, trainer pid unchanged; status back in $($f.status_back_median_s) s (median; max $($f.status_back_max_s) s); $($f.lines_printed) lines printed, $($f.lines_lost) lost" }
    scanner          = { param($f) "Supervisor SIGKILLed, no command run | 1 | the scanner's replacement in status.json $($f.replaced_in_s) s after the kill, service pid unchanged; the scanner SIGKILLed changed nothing; both together healed by the next command" }
    dashboard_supervisor = { param($f) "Dashboard's supervisor SIGKILLed under SSE load (4 streams) | $($f.kills) | $($f.requests_served) requests answered, $($f.requests_failed) failed; every stream still open and delivering; dashboard restarts $($f.dashboard_restarts)" }
    restart_storm    = { param($f) "Restart storm (service crashes at once) | 1 | fatal after $($f.restarts_before_fatal) restarts in $($f.fatal_after_s) s (window $($f.window_s) s); $($f.processes_after_fatal) processes and no supervisor afterwards" }
    flood            = { param($f) "Log flood at full speed | $($f.seconds) s | log disk use peaked at $($f.peak_disk_mib) MiB (bound $($f.bound_mib) MiB); supervisor CPU $($f.supervisor_cpu_percent) % of a core, RSS $($f.supervisor_rss_mib) MiB (the flooding service: $($f.flood_cpu_percent) %)" }
    disk_full        = { param($f) "Disk full during training ($($f.tmpfs_mib) MiB tmpfs) | $($f.pauses) | $($f.outcome): paused $($f.until_paused_s) s after the disk filled, resumed $($f.paused_s) s after the pause began once space returned; trainer restarts $($f.trainer_restarts); nothing lost" }
}
$rows = foreach ($name in $Figures.Keys | Sort-Object { $i = [array]::IndexOf(@($templates.Keys), $_); if ($i -lt 0) { 99 } else { $i } }) {
    $f = $Figures[$name]
    if ($templates.Contains($name)) { '| ' + (& $templates[$name] $f) + ' |' }
    else { "| $name | | " + (($f.GetEnumerator() | ForEach-Object { "$($_.Key)=$($_.Value)" }) -join ', ') + ' |' }
}

$begin = '<!-- chaos:long -->'
$end = '<!-- /chaos:long -->'
$section = @(
    $begin
    "Latest long run: $(Get-Date -Format 'yyyy-MM-dd'), $machine; load average $load at the end (other work shares the machine); $([math]::Round($Minutes, 1)) minutes of tests after the build; $Passed passed, 0 failed, $Skipped skipped."
    'Reproduce with `dotnet pwsh ./build.ps1 Chaos` (the disk-full row needs root).'
    ''
    '| fault | times | figures |'
    '|---|---:|---|'
    $rows
    $end
) -join "`n"

$text = Get-Content -LiteralPath $Path -Raw
$pattern = [regex]::Escape($begin) + '[\s\S]*?' + [regex]::Escape($end)
$text = if ($text -match $pattern) { [regex]::Replace($text, $pattern, { $section }) } else { $text.TrimEnd() + "`n`n$section`n" }
Set-Content -LiteralPath $Path -Value $text.TrimEnd() -Encoding utf8
