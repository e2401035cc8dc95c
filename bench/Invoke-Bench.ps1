<#
.SYNOPSIS
    Runs the benchmark suites and records each one's Markdown section in bench/RESULTS.md, replacing the
    section of the same suite from an earlier run (called by `build.ps1 Bench`).
#>
param(
    [Parameter(Mandatory)][string] $BenchDll,
    [string[]] $Suite
)
$ErrorActionPreference = 'Stop'
$results = Join-Path $PSScriptRoot 'RESULTS.md'
$all = @('store', 'supervisor', 'supervisor-idle', 'starts', 'dashboard', 'dashboard-runs', 'trainer', 'isolation', 'slurm', 'runs', 'sweeps')
$run = if ($Suite) { $Suite } else { $all }
foreach ($name in $run) {
    Write-Host "== bench: $name" -ForegroundColor Cyan
    if ($name -eq 'supervisor-idle' -and -not $env:STABILITY_BENCH_BASELINE) {
        # It compares this build's supervisor with another's, named by the caller (e.g. one built from main).
        Write-Warning 'Skipping the supervisor-idle suite: set STABILITY_BENCH_BASELINE to the stability-supervisor of the build to compare with.'
        continue
    }
    if ($name -eq 'slurm') {
        # The Slurm suite needs a cluster: as root, the tests' single-node one (installed and started, idempotent).
        if ($IsLinux -and (id -u) -eq '0') {
            & bash (Join-Path $PSScriptRoot '../tests/Slurm/single-node.sh') start | Out-Host
            if ($LASTEXITCODE -ne 0) { throw "tests/Slurm/single-node.sh could not start a Slurm cluster (exit $LASTEXITCODE)." }
        } elseif (-not (Get-Command sbatch -ErrorAction Ignore)) {
            Write-Warning 'Skipping the slurm suite: no Slurm tools here, and starting a cluster needs root.'
            continue
        }
    }
    $output = & dotnet $BenchDll $name
    if ($LASTEXITCODE -ne 0) { throw "Benchmark suite '$name' failed with exit code $LASTEXITCODE." }
    $section = ($output -join "`n").Trim()
    Write-Host $section
    $begin = "<!-- bench:$name -->"
    $end = "<!-- /bench:$name -->"
    $text = if (Test-Path $results) { Get-Content -LiteralPath $results -Raw } else { "# Benchmark results`n" }
    $block = "$begin`n$section`n$end"
    $pattern = [regex]::Escape($begin) + '[\s\S]*?' + [regex]::Escape($end)
    $text = if ($text -match $pattern) { [regex]::Replace($text, $pattern, { $block }) } else { $text.TrimEnd() + "`n`n$block`n" }
    Set-Content -LiteralPath $results -Value $text.TrimEnd() -Encoding utf8
}
