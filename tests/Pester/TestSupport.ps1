# Helpers shared by the Pester files; dot-source it in BeforeAll: . $PSScriptRoot/TestSupport.ps1

# A fresh state directory under the temp folder (created).
function New-TestStateDirectory([string] $Prefix = 'st-pester') {
    $path = Join-Path ([IO.Path]::GetTempPath()) ("$Prefix-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path $path -Force | Out-Null
    $path
}

# Stops whatever still runs in a test's state directory and deletes it, so a failing test leaks nothing.
function Remove-TestStateDirectory([string] $Path) {
    Get-ProcessStatus -StateDirectory $Path -ErrorAction Ignore | Where-Object State -in 'Running', 'Starting', 'Backoff', 'Pending' |
        ForEach-Object { Stop-TrainingProcess -Name $_.Name -StateDirectory $Path -Force -Confirm:$false -ErrorAction Ignore | Out-Null }
    Remove-Item -Recurse -Force $Path -ErrorAction Ignore
}

# Polls $Probe until $Condition holds for its value, and returns that value; fails after $Seconds.
function Wait-Until([scriptblock] $Probe, [scriptblock] $Condition, [string] $What, [int] $Seconds = 90) {
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    do {
        $value = & $Probe
        if (& $Condition $value) { return $value }
        Start-Sleep -Milliseconds 50
    } while ([DateTime]::UtcNow -lt $deadline)
    throw "Timed out after $Seconds s waiting for $What; last: $($value | Out-String)"
}

# Whether a process lives: a zombie (killed, not yet reaped by its new parent) has ended and counts as gone, as it
# does for the supervisor.
function Test-ProcessAlive([int] $ProcessId) {
    $stat = Get-Content "/proc/$ProcessId/stat" -Raw -ErrorAction Ignore
    [bool]($stat -and $stat.Substring($stat.LastIndexOf(')') + 2, 1) -ne 'Z')
}

# The pids of live processes (this one excepted) for which $Match holds, given each one's environment and command line
# as arrays of strings (Linux /proc): a test's way to find what it started, whatever the program's name.
function Find-Process([scriptblock] $Match) {
    foreach ($dir in Get-ChildItem /proc -Directory -ErrorAction Ignore | Where-Object Name -match '^\d+$') {
        if ([int]$dir.Name -eq $PID) { continue }
        try {
            $environ = [IO.File]::ReadAllText("$($dir.FullName)/environ").Split([char]0)
            $command = [IO.File]::ReadAllText("$($dir.FullName)/cmdline").Split([char]0)
            if (& $Match $environ $command) { [int]$dir.Name }
        }
        catch { } # Gone meanwhile, or not ours to read.
    }
}

# A fake nvidia-smi first on PATH, for the GPU paths (no GPU exists here, and NVML is absent): it answers
# --query-gpu with $Gpus and --query-compute-apps with $Apps, lines in the CSV format captured from real ones, and
# makes the product probe it (STABILITY_GPU_PROBE). Returns what Remove-FakeNvidiaSmi needs to undo it all.
function Install-FakeNvidiaSmi([string[]] $Gpus, [string[]] $Apps = @()) {
    $printf = { param($lines) if ($lines.Count -eq 0) { ':' } else { "printf '%s\n' " + (($lines | ForEach-Object { "'$_'" }) -join ' ') } }
    $bin = New-TestStateDirectory 'st-pester-smi'
    $smi = Join-Path $bin 'nvidia-smi'
    Set-Content -LiteralPath $smi -Value @(
        '#!/bin/sh'
        'case "$1" in'
        "  --query-gpu=*) $(& $printf $Gpus) ;;"
        "  --query-compute-apps=*) $(& $printf $Apps) ;;"
        '  *) exit 2 ;;'
        'esac'
    )
    chmod +x $smi
    $fake = [pscustomobject]@{ Bin = $bin; OldPath = $env:PATH }
    $env:PATH = "$bin$([IO.Path]::PathSeparator)$env:PATH"
    $env:STABILITY_GPU_PROBE = 'nvidia-smi'
    $fake
}

# Undoes Install-FakeNvidiaSmi: PATH as it was, the probe back to its default, the fake gone.
function Remove-FakeNvidiaSmi($Fake) {
    $env:PATH = $Fake.OldPath
    Remove-Item Env:STABILITY_GPU_PROBE -ErrorAction Ignore
    Remove-Item -Recurse -Force $Fake.Bin -ErrorAction Ignore
}

# The pid of a state directory's scanner (stability-supervisor --scan --state-dir <State>, issue #22), from /proc.
function Get-ScannerPid([string] $State) {
    foreach ($entry in Get-ChildItem /proc -Directory -ErrorAction Ignore | Where-Object Name -match '^\d+$') {
        $words = (Get-Content -Raw "/proc/$($entry.Name)/cmdline" -ErrorAction Ignore) -split "`0"
        if ($words -contains '--scan' -and $words -contains $State) { [int]$entry.Name }
    }
}
