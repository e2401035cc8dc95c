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
$all = @('store', 'supervisor', 'dashboard', 'trainer', 'isolation')
$run = if ($Suite) { $Suite } else { $all }
foreach ($name in $run) {
    Write-Host "== bench: $name" -ForegroundColor Cyan
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
