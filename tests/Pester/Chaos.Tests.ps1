# Faults against the real product (issue #7): the built module, real supervisors, the real trainer and dashboard.
# One suite, two sizes: short by default (inside `build.ps1 Test`), long with STABILITY_CHAOS=long (`build.ps1 Chaos`).
# Counts can be set one by one: STABILITY_CHAOS_TRAINER_KILLS, STABILITY_CHAOS_DASHBOARD_KILLS, STABILITY_CHAOS_SUPERVISOR_KILLS,
# STABILITY_CHAOS_FLOOD_SECONDS.
# With STABILITY_CHAOS_FIGURES naming a JSON file, each test records what it measured there (build.ps1 Chaos writes
# the figures into docs/RELIABILITY.md); every test also prints them.
BeforeDiscovery {
    # The supervisor-death test runs a Python trainer on the library in the venv build.ps1 makes (python3-venv installed).
    $script:noVenv = -not (Test-Path (Join-Path $PSScriptRoot '../../artifacts/python-venv/bin/python'))
}
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:venvPython = (Resolve-Path (Join-Path $PSScriptRoot '../../artifacts/python-venv/bin/python') -ErrorAction Ignore).Path

    $script:long = $env:STABILITY_CHAOS -eq 'long'

    # A count from its variable, else the short or the long default.
    function Get-ChaosCount([string] $Variable, [int] $Short, [int] $Long) {
        $value = [Environment]::GetEnvironmentVariable($Variable)
        if ($value) { return [int]$value }
        if ($script:long) { $Long } else { $Short }
    }

    # Prints a test's figures and merges them into $env:STABILITY_CHAOS_FIGURES under $Name.
    function Write-ChaosFigure([string] $Name, [System.Collections.IDictionary] $Figures) {
        Write-Host ("   figures ${Name}: " + (($Figures.GetEnumerator() | ForEach-Object { "$($_.Key)=$($_.Value)" }) -join ', '))
        if (-not $env:STABILITY_CHAOS_FIGURES) { return }
        $all = if (Test-Path $env:STABILITY_CHAOS_FIGURES) { Get-Content $env:STABILITY_CHAOS_FIGURES -Raw | ConvertFrom-Json -AsHashtable } else { @{} }
        $all[$Name] = $Figures
        $all | ConvertTo-Json -Depth 5 | Set-Content $env:STABILITY_CHAOS_FIGURES
    }

    # User + system CPU seconds of a process so far, from /proc (null once it is gone).
    $script:clockTicks = [double](getconf CLK_TCK)
    function Get-CpuSeconds([int] $ProcessId) {
        $stat = Get-Content "/proc/$ProcessId/stat" -Raw -ErrorAction Ignore
        if (-not $stat) { return $null }
        $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
        ([double]$fields[11] + [double]$fields[12]) / $clockTicks
    }

    # The pids of live processes whose environment carries $Marker (CHAOS_MARK=<marker>): a service's tree, whatever its name.
    function Get-MarkedProcess([string] $Marker) {
        Find-Process { param($environ) $environ -contains "CHAOS_MARK=$Marker" }
    }

    function Get-Median([double[]] $Values) {
        $sorted = @($Values | Sort-Object)
        if ($sorted.Count -eq 0) { return [double]::NaN }
        $mid = [math]::Floor($sorted.Count / 2)
        if ($sorted.Count % 2) { $sorted[$mid] } else { ($sorted[$mid - 1] + $sorted[$mid]) / 2 }
    }

    # The epoch records of the state directory's one run: every kill and restart of the trainer service resumes that run.
    function Get-EpochRecord([string] $State) {
        $runs = @(Get-TrainingRun -StateDirectory $State)
        if ($runs.Count -ne 1) { throw "expected one run, found $($runs.Count): $($runs.RunId -join ', ')" }
        Get-TrainingMetric -RunId $runs[0].RunId -Kind epoch -StateDirectory $State
    }

    # The end state every fault must leave: completed, each epoch exactly once, every document whole, no temporary file.
    function Assert-CleanRun([string] $State, $Final, [int] $Epochs) {
        $Final.State | Should -Be 'completed'
        $Final.Epoch | Should -Be $Epochs
        @((Get-EpochRecord $State).Epoch) | Should -Be @(1..$Epochs)
        $documents = (Get-StabilityStateDirectory -StateDirectory $State).Documents
        $documents | Where-Object State -notin 'Ok', 'Missing' | Should -BeNullOrEmpty
        ($documents | Where-Object Name -like 'runs/*/training_status.json').State | Should -Be 'Ok'
        # A killed checkpoint write leaves a temporary file that the next start sweeps; none may outlive the run.
        Get-ChildItem (Join-Path $State 'runs') -Recurse -File -Filter '*.tmp-*' | Should -BeNullOrEmpty -Because 'no checkpoint write may be left half done'
        $Final.ModelPath | Should -Exist
        (Get-Item $Final.ModelPath).Length | Should -BeGreaterThan 0
    }

    $script:dummy = Get-ChildItem (Join-Path $PSScriptRoot '../Dummy/bin') -Recurse -File -Filter 'stability-dummy' -ErrorAction Ignore |
        Sort-Object LastWriteTime -Descending | Select-Object -First 1 -ExpandProperty FullName
}

Describe 'Trainer chaos' {
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-chaos' }
    AfterEach { Remove-TestStateDirectory $state }

    It 'completes a run whose trainer is SIGKILLed at random moments while its supervisor restarts it' {
        $kills = Get-ChaosCount STABILITY_CHAOS_TRAINER_KILLS 3 100
        # Short epochs, many of them: each life of the trainer gets through a few, so the run outlasts every kill.
        $epochs = 8 + 4 * $kills
        $config = Join-Path $state 'trainer.json'
        @{ data = @{ bars = 40000 }; training = @{ epochs = $epochs }; checkpointing = @{ interval_epochs = 1 } } | ConvertTo-Json -Depth 3 | Set-Content $config
        # Restarts at once and a circuit that allows every kill: this test is about what survives a kill, not the backoff.
        Start-TrainingProcess -ConfigPath $config -StateDirectory $state -CircuitMaxRestarts ($kills + 10) -BackoffMaxSeconds 0 | Out-Null

        $killed = [System.Collections.Generic.List[int]]::new()
        $resumeSeconds = [System.Collections.Generic.List[double]]::new()
        $random = [Random]::new(7)
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $killedAt = $null
        while ($killed.Count -lt $kills) {
            # The next victim: a trainer process we have not killed yet, that has beaten its heartbeat.
            $victim = Wait-Until {
                $s = Get-ProcessStatus -Name training -StateDirectory $state
                $t = Get-TrainingStatus -StateDirectory $state
                [pscustomobject]@{ Service = $s; Trainer = $t }
            } {
                param($x)
                $x.Service.State -eq 'Completed' -or
                ($x.Service.State -eq 'Running' -and $x.Service.Pid -notin $killed -and $x.Trainer.Status.Pid -eq $x.Service.Pid -and $x.Trainer.State -eq 'running')
            } 'a fresh trainer process at work'
            if ($victim.Service.State -eq 'Completed') { break }
            if ($killedAt) { $resumeSeconds.Add(($clock.Elapsed - $killedAt).TotalSeconds) }
            # The random moment: mid-epoch, mid-checkpoint or mid-status-write, whatever it hits.
            Start-Sleep -Milliseconds $random.Next(100, 1500)
            kill -KILL $victim.Service.Pid
            $killedAt = $clock.Elapsed
            $killed.Add($victim.Service.Pid)
        }

        $final = Wait-Training -StateDirectory $state -Timeout 600 -ErrorAction Stop
        $killed.Count | Should -Be $kills -Because "the run must have been killed $kills times before it completed"
        Assert-CleanRun $state $final $epochs
        (Get-ProcessStatus -Name training -StateDirectory $state).Restarts | Should -BeGreaterOrEqual $killed.Count
        Get-StabilityEvent -Name training -Type exited -StateDirectory $state | Should -Not -BeNullOrEmpty
        # What the kills cost: each resume retrains at most the epoch in progress (checkpoint every epoch).
        $resumed = @(Get-StabilityEvent -Name training -Type resumed -StateDirectory $state)
        # A status write killed between its write and its rename leaves its temporary file (harmless, never read): counted.
        $staleTemps = @(Get-ChildItem $state -Recurse -File -Filter '*.tmp-*').Count
        Write-ChaosFigure 'trainer' ([ordered]@{
                kills = $killed.Count; epochs = $epochs; resumes_from_checkpoint = $resumed.Count
                resume_median_s = [math]::Round((Get-Median $resumeSeconds), 2); resume_max_s = [math]::Round(($resumeSeconds | Measure-Object -Maximum).Maximum, 2)
                stale_status_temp_files = $staleTemps; duration_s = [math]::Round($clock.Elapsed.TotalSeconds)
            })
    }
}

Describe 'Dashboard chaos' {
    BeforeEach {
        $script:states = @()
        $script:port = Get-Random -Minimum 20000 -Maximum 40000
    }
    AfterEach {
        foreach ($s in $states) {
            Stop-Dashboard -StateDirectory $s -Force -Confirm:$false -ErrorAction Ignore | Out-Null
            Remove-TestStateDirectory $s
        }
    }

    It 'leaves training throughput unchanged and the trainer untouched while the dashboard is SIGKILLed again and again' {
        $kills = Get-ChaosCount STABILITY_CHAOS_DASHBOARD_KILLS 3 30
        $epochs = 8
        # The same training twice, each with a dashboard beside it: once left alone, once killed again and again.
        $runs = foreach ($disturbed in $false, $true) {
            if ($disturbed) {
                # Long enough for every kill: a kill and the dashboard's return take a few seconds on a loaded machine
                # (it starts at nice 10 beside a trainer on every core); the quiet run tells how long an epoch takes here.
                $epochSeconds = Get-Median @(for ($i = 1; $i -lt $quietRecords.Count; $i++) {
                        ([DateTimeOffset]$quietRecords[$i].time - [DateTimeOffset]$quietRecords[$i - 1].time).TotalSeconds })
                $epochs = [int](4 + [math]::Ceiling($kills * 8 / [math]::Max(0.1, $epochSeconds)))
            }
            $state = New-TestStateDirectory 'st-pester-dchaos'
            $script:states += $state
            $config = Join-Path $state 'trainer.json'
            @{ data = @{ bars = 150000 }; training = @{ epochs = $epochs } } | ConvertTo-Json -Depth 3 | Set-Content $config
            # A restart delay of at most 1 s and a circuit that allows every kill: 'back within its restart delay' is then a tight claim.
            Start-Dashboard -Port $port -StateDirectory $state -CircuitMaxRestarts ($kills + 10) -BackoffMaxSeconds 1 | Out-Null
            Start-TrainingProcess -ConfigPath $config -StateDirectory $state | Out-Null

            $killed = [System.Collections.Generic.List[int]]::new()
            $backSeconds = [System.Collections.Generic.List[double]]::new()
            $firstKill = $lastBack = $null
            while ($disturbed -and $killed.Count -lt $kills -and (Get-ProcessStatus -Name training -StateDirectory $state).State -eq 'Running') {
                $dashboard = Wait-Until { Get-ProcessStatus -Name dashboard -StateDirectory $state } { param($d) $d.State -eq 'Running' -and $d.Pid -notin $killed } 'a fresh dashboard process' 30
                kill -KILL $dashboard.Pid
                $killedAt = [DateTimeOffset]::UtcNow
                $firstKill ??= $killedAt
                $killed.Add($dashboard.Pid)
                # Back within its restart delay (at most 1 s here) plus its start: a new process that answers its health probe.
                Wait-Until { Get-ProcessStatus -Name dashboard -StateDirectory $state } { param($d) $d.State -eq 'Running' -and $d.Pid -notin $killed } 'the dashboard restarted' 30 | Out-Null
                Wait-Until { try { (Invoke-WebRequest "http://127.0.0.1:$port/healthz" -TimeoutSec 2).StatusCode } catch { 0 } } { param($code) $code -eq 200 } 'the dashboard answering again' 30 | Out-Null
                $lastBack = [DateTimeOffset]::UtcNow
                $backSeconds.Add(($lastBack - $killedAt).TotalSeconds)
            }

            $final = Wait-Training -StateDirectory $state -Timeout 600 -ErrorAction Stop
            # Throughput of the epochs that ran while the dashboard was being killed (all of them in the quiet run).
            $records = @(Get-EpochRecord $state)
            if (-not $disturbed) { $quietRecords = $records }
            $during = if ($firstKill) { @($records | Where-Object { [DateTimeOffset]$_.time -gt $firstKill -and [DateTimeOffset]$_.time -le $lastBack.AddSeconds(2) }) } else { $records }
            if ($during.Count -eq 0) { $during = $records }
            [pscustomobject]@{
                Disturbed = $disturbed; State = $state; Final = $final; Killed = $killed.Count; BackSeconds = $backSeconds
                SamplesPerSec = Get-Median @($during.SamplesPerSec); Epochs = $during.Count
            }
            Stop-Dashboard -StateDirectory $state -Force -Confirm:$false | Out-Null
        }
        $quiet, $chaos = $runs

        $chaos.Killed | Should -Be $kills -Because 'the dashboard must have been killed while training ran'
        foreach ($run in $runs) {
            $run.Final.State | Should -Be 'completed'
            # Nothing of the trainer noticed: never restarted, one clean exit (recorded once its supervisor saw it), no hang.
            $training = Wait-Until { Get-ProcessStatus -Name training -StateDirectory $run.State } { param($t) $t.State -eq 'Completed' } 'the trainer''s exit to be recorded' 30
            $training.Restarts | Should -Be 0
            @(Get-StabilityEvent -Name training -Type exited -StateDirectory $run.State) | ForEach-Object { $_.Data['exit_code'] } | Should -Be @('0')
            Get-StabilityEvent -Name training -Type hang_detected, restarting -StateDirectory $run.State | Should -BeNullOrEmpty
        }

        # Back within the restart delay (≤ 1 s) plus a start of the dashboard, which on a loaded 2-core machine takes seconds.
        ($chaos.BackSeconds | Measure-Object -Maximum).Maximum | Should -BeLessThan 15
        $ratio = $chaos.SamplesPerSec / $quiet.SamplesPerSec
        Write-ChaosFigure 'dashboard' ([ordered]@{
                kills = $chaos.Killed; back_median_s = [math]::Round((Get-Median $chaos.BackSeconds), 2); back_max_s = [math]::Round(($chaos.BackSeconds | Measure-Object -Maximum).Maximum, 2)
                quiet_samples_per_s = [math]::Round($quiet.SamplesPerSec); chaos_samples_per_s = [math]::Round($chaos.SamplesPerSec); chaos_epochs = $chaos.Final.Epoch; chaos_epochs_measured = $chaos.Epochs
                throughput_ratio = [math]::Round($ratio, 3); trainer_restarts = 0
            })
        # The dashboard runs at nice 10 and restarts cost it a second of CPU each. On a shared 2-core machine two runs a
        # minute apart differ by tens of percent (short runs measured 0.56 to 1.28 over 4 to 6 epochs; the long one 0.95
        # over 46), so the bound only catches a trainer that the kills really slow down, and is tighter on the long run.
        $ratio | Should -BeGreaterThan ($long ? 0.7 : 0.35)
    }
}

Describe 'Supervisor death' {
    BeforeEach {
        $script:state = New-TestStateDirectory 'st-pester-sdeath'
        $script:marker = [guid]::NewGuid().ToString('N')
    }
    AfterEach {
        Remove-TestStateDirectory $state
        # Whatever the test's service left behind is ours to end: it carries our marker.
        Get-MarkedProcess $marker | ForEach-Object { kill -KILL $_ 2>$null }
    }

    It 'takes the trainer back after every SIGKILL of its supervisor: same pid, every line it printed captured, never two, then restarts it as usual' -Skip:$noVenv {
        $kills = Get-ChaosCount STABILITY_CHAOS_SUPERVISOR_KILLS 5 20
        $epochs = if ($long) { 120 } else { 40 }
        $truth = Join-Path $state 'printed.txt'
        $arguments = (Join-Path $PSScriptRoot 'python/chatty_trainer.py'), '--epochs', "$epochs", '--steps', '20', '--step-delay', '0.02', '--truth', $truth
        $started = Start-TrainingProcess -Name chatty -FilePath $venvPython -ArgumentList $arguments -BackoffMaxSeconds 0 `
            -Environment @{ CHAOS_MARK = $marker } -StateDirectory $state -PassThru -ErrorAction Stop
        $trainerPid = $started.Pid
        $backSeconds = [System.Collections.Generic.List[double]]::new()
        foreach ($kill in 1..$kills) {
            # Some output between kills, so every replacement takes over a pipe that is being written.
            $printed = @(Get-Content $truth -ErrorAction Ignore).Count
            Wait-Until { @(Get-Content $truth -ErrorAction Ignore).Count } { param($n) $n -ge $printed + 15 } 'the trainer to print on' 30 | Out-Null
            $before = Get-ProcessStatus -Name chatty -StateDirectory $state
            kill -KILL $before.SupervisorPid
            Wait-Until { Test-ProcessAlive $before.SupervisorPid } { param($alive) -not $alive } 'the supervisor to die' 10 | Out-Null
            $clock = [Diagnostics.Stopwatch]::StartNew()
            # The next command heals: a new supervisor takes the running trainer back before the command looks at it.
            $after = Get-ProcessStatus -Name chatty -StateDirectory $state
            $backSeconds.Add($clock.Elapsed.TotalSeconds)
            $after.SupervisorPid | Should -Not -Be $before.SupervisorPid
            $after.State | Should -Be 'Running'
            $after.Pid | Should -Be $trainerPid -Because 'the trainer is taken back, never restarted'
            @(Get-MarkedProcess $marker) | Should -Be @($trainerPid) -Because 'never a second copy'
        }

        @(Get-StabilityEvent -Name chatty -Type supervisor_replaced -StateDirectory $state).Count | Should -Be $kills
        ($backSeconds | Measure-Object -Maximum).Maximum | Should -BeLessThan 2 -Because 'status is back within 2 s of each kill'
        # The supervisors' own start events (the trainer's library records its run's start as 'started' too).
        @(Get-StabilityEvent -Name chatty -Type started -StateDirectory $state | Where-Object Message -like "Started 'chatty' as pid*") | Should -HaveCount 1

        # Under its last replacement, the trainer SIGKILLed: restarted as usual, and the run completes on its checkpoint.
        kill -KILL $trainerPid
        $restarted = Wait-Until { Get-ProcessStatus -Name chatty -StateDirectory $state } { param($s) $s.State -eq 'Running' -and $s.Pid -ne $trainerPid } 'the restart' 30
        $restarted.Restarts | Should -Be 1
        $final = Wait-Until { Get-TrainingStatus -Name chatty -StateDirectory $state } { param($s) $s.State -eq 'completed' } 'the run to complete' 180
        Assert-CleanRun $state $final $epochs
        Wait-Until { Get-ProcessStatus -Name chatty -StateDirectory $state } { param($s) $s.State -eq 'Completed' } 'the service to complete' 30 | Out-Null

        # Every line a trainer printed is in the captured log, in order, once: nothing lost while a supervisor was replaced.
        $captured = @(Get-StabilityLog -Name chatty -Tail 1000000 -StateDirectory $state | Where-Object { $_ -like 'line *' })
        $expected = @(Get-Content $truth)
        $missing = @($expected | Where-Object { $_ -notin $captured })
        foreach ($line in $missing) {
            # What the log holds where the line should be, and what the supervisors said then: the first place to look.
            $at = [array]::IndexOf($expected, $line)
            Write-Host "missing '$line'; printed before and after: $($expected[[math]::Max(0, $at - 2)..[math]::Min($expected.Count - 1, $at + 2)] -join ' | ')"
            Write-Host "captured near it: $(@($captured | Select-String -SimpleMatch ($line -replace ' \d+$', '') | Select-Object -First 5) -join ' | ')"
            Get-StabilityEvent -Name chatty -StateDirectory $state | ForEach-Object { Write-Host "  $($_.Time.ToString('HH:mm:ss.fff')) $($_.Type) $($_.Message)" }
        }
        $missing | Should -BeNullOrEmpty -Because "$($expected.Count) lines were printed"
        @($captured | Group-Object | Where-Object Count -gt 1) | Should -BeNullOrEmpty -Because 'no line is captured twice'
        Write-ChaosFigure 'supervisor_death' ([ordered]@{
            supervisor_kills = $kills; trainer_pid_changes_by_kills = 0; lines_printed = $expected.Count; lines_lost = $missing.Count
            status_back_max_s = [math]::Round(($backSeconds | Measure-Object -Maximum).Maximum, 3); status_back_median_s = [math]::Round((Get-Median $backSeconds), 3)
        })
    }

    It 'has the scanner replace a SIGKILLed supervisor within 2 s with no command at all, and survives the scanner''s own death' {
        if (-not $dummy) { throw 'tests/Dummy is not built: run build.ps1 Build.' }
        # status.json as the supervisor wrote it: read directly, since every command heals by itself.
        function Get-RawStatus { Get-Content -Raw (Join-Path $state 'services/steady/status.json') -ErrorAction Ignore | ConvertFrom-Json }

        $started = Start-TrainingProcess -Name steady -FilePath $dummy -ArgumentList sleep -Environment @{ CHAOS_MARK = $marker } -StateDirectory $state -PassThru
        $scanner = Wait-Until { @(Get-ScannerPid $state) } { param($p) $p.Count -eq 1 } 'the scanner the start launched' 10
        kill -KILL $started.SupervisorPid
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $back = Wait-Until { Get-RawStatus } { param($s) $s.supervisor_pid -ne $started.SupervisorPid -and $s.status -eq 'running' -and (Test-ProcessAlive $s.supervisor_pid) } 'the scanner to replace the supervisor' 10
        $replacedIn = $clock.Elapsed.TotalSeconds
        $replacedIn | Should -BeLessThan 2
        $back.pid | Should -Be $started.Pid -Because 'taken back, not restarted'

        # Only the scanner killed: nothing changes for the running service and its supervisor.
        kill -KILL $scanner[0]
        Wait-Until { Test-ProcessAlive $scanner[0] } { param($alive) -not $alive } 'the scanner to die' 10 | Out-Null
        $after = Get-RawStatus
        $after.supervisor_pid | Should -Be $back.supervisor_pid
        Test-ProcessAlive $after.supervisor_pid | Should -BeTrue
        @(Get-MarkedProcess $marker) | Should -Be @($started.Pid)

        # Scanner and supervisor dead together: the next command heals, and brings the scanner back.
        kill -KILL $after.supervisor_pid
        Wait-Until { Test-ProcessAlive $after.supervisor_pid } { param($alive) -not $alive } 'the supervisor to die' 10 | Out-Null
        $healed = Get-ProcessStatus -Name steady -StateDirectory $state
        $healed.State | Should -Be 'Running'
        $healed.Pid | Should -Be $started.Pid
        $healed.SupervisorPid | Should -Not -Be $after.supervisor_pid
        Wait-Until { @(Get-ScannerPid $state) } { param($p) $p.Count -eq 1 } 'a scanner again' 10 | Out-Null
        @(Get-MarkedProcess $marker) | Should -Be @($started.Pid) -Because 'never a second copy'
        Write-ChaosFigure 'scanner' ([ordered]@{ replaced_in_s = [math]::Round($replacedIn, 3) })
    }

    It 'keeps the dashboard serving its event streams and requests while its supervisor is SIGKILLed again and again' {
        $kills = Get-ChaosCount STABILITY_CHAOS_SUPERVISOR_KILLS 3 20
        $port = Get-Random -Minimum 20000 -Maximum 40000
        $info = Start-Dashboard -Port $port -StateDirectory $state -PassThru -ErrorAction Stop
        $token = (Get-Content $info.TokenPath -Raw).Trim()
        $dashboardPid = (Get-ProcessStatus -Name dashboard -StateDirectory $state).Pid
        $client = [System.Net.Http.HttpClient]::new()
        $client.Timeout = [TimeSpan]::FromSeconds(30)
        $client.DefaultRequestHeaders.Authorization = [System.Net.Http.Headers.AuthenticationHeaderValue]::new('Bearer', $token)
        try {
            # SSE load: four streams held open for the whole test, each read to its first frames.
            $streams = foreach ($i in 1..4) {
                $request = [System.Net.Http.HttpRequestMessage]::new('GET', "$($info.Url)api/stream")
                $response = $client.SendAsync($request, [System.Net.Http.HttpCompletionOption]::ResponseHeadersRead).GetAwaiter().GetResult()
                $response.StatusCode | Should -Be 'OK'
                $reader = [IO.StreamReader]::new($response.Content.ReadAsStream())
                $reader.ReadLine() | Should -Not -BeNullOrEmpty
                $reader
            }
            $statusPath = Join-Path $state 'services/dashboard/status.json'
            $failed = 0; $served = 0
            foreach ($kill in 1..$kills) {
                $supervisor = (Get-Content -Raw $statusPath | ConvertFrom-Json).supervisor_pid
                kill -KILL $supervisor
                # Requests all through the death and the replacement (the scanner's), each one answered.
                $deadline = [DateTime]::UtcNow.AddSeconds(10)
                do {
                    $answer = $client.GetAsync("$($info.Url)api/status").GetAwaiter().GetResult()
                    if ($answer.IsSuccessStatusCode) { $served++ } else { $failed++ }
                    $answer.Dispose()
                    $now = Get-Content -Raw $statusPath -ErrorAction Ignore | ConvertFrom-Json
                } until (($now.supervisor_pid -ne $supervisor -and (Test-ProcessAlive $now.supervisor_pid)) -or [DateTime]::UtcNow -gt $deadline)
                $now.supervisor_pid | Should -Not -Be $supervisor -Because 'the scanner replaces the dead supervisor'
                $now.pid | Should -Be $dashboardPid -Because 'the dashboard is taken back, never restarted'
            }
            $failed | Should -Be 0 -Because "$served requests were made through $kills supervisor deaths"
            # Every stream is still open: a frame comes on each once the page's data changes.
            Start-TrainingProcess -Name writer -FilePath /bin/sh -ArgumentList '-c', 'sleep 600' -StateDirectory $state | Out-Null
            foreach ($reader in $streams) {
                $line = $reader.ReadLineAsync()
                $line.Wait([TimeSpan]::FromSeconds(30)) | Should -BeTrue -Because 'the stream outlived every supervisor death'
                $line.Result | Should -Not -BeNull
            }
            Write-ChaosFigure 'dashboard_supervisor' ([ordered]@{ kills = $kills; requests_served = $served; requests_failed = $failed; dashboard_restarts = 0 })
        }
        finally {
            $client.Dispose()
            Stop-TrainingProcess -Name writer -StateDirectory $state -Force -Confirm:$false -ErrorAction Ignore | Out-Null
            Stop-Dashboard -StateDirectory $state -Force -Confirm:$false -ErrorAction Ignore | Out-Null
        }
    }

    It 'ends a taken-over service when it is stopped, and a fresh start after a SIGKILLed supervisor still runs it exactly once' {
        if (-not $dummy) { throw 'tests/Dummy is not built: run build.ps1 Build.' }
        $first = Start-TrainingProcess -Name sleeper -FilePath $dummy -ArgumentList sleep -Environment @{ CHAOS_MARK = $marker } -StateDirectory $state -PassThru
        kill -KILL $first.SupervisorPid
        Wait-Until { Test-ProcessAlive $first.SupervisorPid } { param($alive) -not $alive } 'the supervisor to die' 10 | Out-Null
        # A stop is a command too: it heals first, then the replacement stops the service it took back.
        Stop-TrainingProcess -Name sleeper -Confirm:$false -StateDirectory $state -ErrorAction Stop | Out-Null
        Test-ProcessAlive $first.Pid | Should -BeFalse
        (Get-ProcessStatus -Name sleeper -StateDirectory $state).State | Should -Be 'Stopped'

        $second = Start-TrainingProcess -Name sleeper -FilePath $dummy -ArgumentList sleep -Environment @{ CHAOS_MARK = $marker } -StateDirectory $state -PassThru
        $second.Pid | Should -Not -Be $first.Pid
        @(Get-MarkedProcess $marker) | Should -Be @($second.Pid) -Because 'exactly one service process runs: never two, never an orphan'
    }
}

Describe 'Restart storm' {
    BeforeEach {
        $script:state = New-TestStateDirectory 'st-pester-storm'
        $script:marker = [guid]::NewGuid().ToString('N')
    }
    AfterEach {
        Remove-TestStateDirectory $state
        Get-MarkedProcess $marker | ForEach-Object { kill -KILL $_ 2>$null }
    }

    It 'makes a service that crashes at once fatal within the circuit window, after which nothing of it runs' {
        if (-not $dummy) { throw 'tests/Dummy is not built: run build.ps1 Build.' }
        $window = 30
        # Crashes just after the start grace (1 s), so the start succeeds and every later run is a crash.
        $started = Start-TrainingProcess -Name storm -FilePath $dummy -ArgumentList crash, --after-ms, 1200 -RestartPolicy always `
            -CircuitMaxRestarts 3 -CircuitWindowSeconds $window -BackoffMaxSeconds 1 -Environment @{ CHAOS_MARK = $marker } -StateDirectory $state -PassThru
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $fatal = Wait-Until { Get-ProcessStatus -Name storm -StateDirectory $state } { param($s) $s.State -eq 'Fatal' } 'the circuit to open' ($window + 30)
        $seconds = $clock.Elapsed.TotalSeconds
        $seconds | Should -BeLessThan $window
        $fatal.Restarts | Should -Be 3 -Because 'more than -CircuitMaxRestarts restarts within the window open the circuit'
        $fatal.ErrorMessage | Should -Match 'circuit is open'

        # Then it costs nothing: its supervisor has ended, and over a few seconds nothing of it is started again.
        Wait-Until { Test-ProcessAlive $started.SupervisorPid } { param($alive) -not $alive } 'the supervisor to end' 30 | Out-Null
        $after = foreach ($i in 1..10) { @(Get-MarkedProcess $marker).Count; Start-Sleep -Milliseconds 300 }
        ($after | Measure-Object -Maximum).Maximum | Should -Be 0
        Write-ChaosFigure 'restart_storm' ([ordered]@{ restarts_before_fatal = $fatal.Restarts; fatal_after_s = [math]::Round($seconds, 1); window_s = $window; processes_after_fatal = 0 })
    }
}

Describe 'Log flood' {
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-flood' }
    AfterEach { Remove-TestStateDirectory $state }

    It 'keeps the disk use of a service writing at full speed within its rotation bound, and its supervisor''s CPU bounded' {
        if (-not $dummy) { throw 'tests/Dummy is not built: run build.ps1 Build.' }
        $seconds = Get-ChaosCount STABILITY_CHAOS_FLOOD_SECONDS 5 60
        $flood = Start-TrainingProcess -Name flood -FilePath $dummy -ArgumentList flood -RestartPolicy never -HangTimeoutSeconds 0 -StateDirectory $state -PassThru
        $spec = Get-Content (Join-Path $state 'services/flood/spec.json') -Raw | ConvertFrom-Json
        # stdout and stderr each keep (files + 1) × size; the supervisor's own log keeps 3 × 5 MiB (Serilog's roll limit).
        $bound = 2 * ($spec.log_max_files + 1) * $spec.log_max_bytes + 15MB
        $logs = Join-Path $state 'services/flood/logs'

        $cpuBefore = Get-CpuSeconds $flood.SupervisorPid
        $floodCpuBefore = Get-CpuSeconds $flood.Pid
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $peak = 0L
        # The flood's duration is the experiment itself: sample the disk use through it.
        while ($clock.Elapsed.TotalSeconds -lt $seconds) {
            $used = (Get-ChildItem $logs -File -ErrorAction Ignore | Measure-Object Length -Sum).Sum
            $peak = [math]::Max($peak, [long]$used)
            Start-Sleep -Milliseconds 200
        }
        $wall = $clock.Elapsed.TotalSeconds
        $supervisorCpu = 100 * ((Get-CpuSeconds $flood.SupervisorPid) - $cpuBefore) / $wall
        $floodCpu = 100 * ((Get-CpuSeconds $flood.Pid) - $floodCpuBefore) / $wall
        $status = Get-ProcessStatus -Name flood -StateDirectory $state
        $rss = [double]((Select-String '^VmRSS:\s+(\d+)' -Path "/proc/$($flood.SupervisorPid)/status").Matches[0].Groups[1].Value) / 1024
        Stop-TrainingProcess -Name flood -StateDirectory $state -Force -Confirm:$false | Out-Null
        $written = (Get-ChildItem $logs -File -Filter 'stdout.log*' | Measure-Object Length -Sum).Sum

        $status.State | Should -Be 'Running' -Because 'a flood is output, not a fault'
        $peak | Should -BeLessOrEqual $bound
        $written | Should -BeGreaterThan 0
        Write-ChaosFigure 'flood' ([ordered]@{
                seconds = [math]::Round($wall); peak_disk_mib = [math]::Round($peak / 1MB, 1); bound_mib = [math]::Round($bound / 1MB, 1)
                supervisor_cpu_percent = [math]::Round($supervisorCpu, 1); flood_cpu_percent = [math]::Round($floodCpu, 1); supervisor_rss_mib = [math]::Round($rss, 1)
            })
        # The capture copies at most log_rate_limit_bytes_per_second (16 MiB/s by default) and then lets the writer wait
        # in write(2): the supervisor's CPU stays a small share of a core however fast the service writes, it buffers
        # nothing (its memory stays small), and it says so once.
        $supervisorCpu | Should -BeLessThan 25
        $rss | Should -BeLessThan 150
        Get-StabilityEvent -Name flood -Type log_throttled -StateDirectory $state | Should -Not -BeNullOrEmpty
    }
}

Describe 'Disk full' {
    BeforeAll {
        # A small tmpfs as the state directory: needs root (mount) on Linux; anywhere else the test says why it skipped.
        $script:mount = $null
        $script:diskSkip = $null
        if (-not $IsLinux) { $script:diskSkip = 'needs Linux (tmpfs)' }
        elseif ((id -u) -ne '0') { $script:diskSkip = 'needs root to mount a tmpfs' }
        else {
            $script:mount = New-TestStateDirectory 'st-pester-diskfull'
            mount -t tmpfs -o size=16m,mode=0700 tmpfs $mount 2>&1 | Out-Null
            if ($LASTEXITCODE -ne 0) { $script:diskSkip = "mount -t tmpfs failed (exit $LASTEXITCODE)"; Remove-Item $mount -Force; $script:mount = $null }
        }
        if ($diskSkip) { Write-Host "   Disk full: skipped, $diskSkip." }
    }
    AfterAll {
        if ($mount) {
            Remove-TestStateDirectory $mount
            umount $mount 2>&1 | Out-Null
            Remove-Item $mount -Recurse -Force -ErrorAction Ignore
        }
    }

    It 'pauses training on a full disk with an event, tears no file, and completes once space returns' {
        if ($diskSkip) { Set-ItResult -Skipped -Because $diskSkip; return }
        $state = $mount
        $epochs = 12
        $config = Join-Path ([IO.Path]::GetTempPath()) "st-pester-diskfull-$([guid]::NewGuid().ToString('N').Substring(0, 8)).json"
        @{ data = @{ bars = 150000 }; training = @{ epochs = $epochs } } | ConvertTo-Json -Depth 3 | Set-Content $config
        try {
            $start = Start-TrainingProcess -ConfigPath $config -StateDirectory $state -PassThru
            Wait-Until { Get-TrainingStatus -StateDirectory $state } { param($t) $t.Epoch -ge 3 -and $t.State -eq 'running' } 'two checkpointed epochs' | Out-Null

            # Fill the file system to the last page: dd stops at ENOSPC.
            $filler = Join-Path $state 'filler'
            dd if=/dev/zero of=$filler bs=64k 2>&1 | Out-Null
            $fullAt = [DateTimeOffset]::UtcNow
            # Paused: the trainer process lives on but stops computing (its next checkpoint cannot be written).
            $cpu = Wait-Until {
                $a = Get-CpuSeconds $start.Pid; Start-Sleep -Milliseconds 1000; $b = Get-CpuSeconds $start.Pid
                if ($null -eq $a -or $null -eq $b) { -1 } else { $b - $a }
            } { param($used) $used -ge 0 -and $used -lt 0.2 } 'the trainer to pause' 60
            $pausedFor = [DateTimeOffset]::UtcNow - $fullAt

            Remove-Item $filler
            $final = Wait-Training -StateDirectory $state -Timeout 300 -ErrorAction Stop
        }
        finally { Remove-Item $config -ErrorAction Ignore }

        Assert-CleanRun $state $final $epochs
        Get-ChildItem $state -Recurse -File -Filter '*.tmp-*' | Should -BeNullOrEmpty -Because 'a write that found the disk full removes its temporary file'
        # One process from start to end: paused and resumed, never failed and restarted, so nothing was lost.
        $training = Wait-Until { Get-ProcessStatus -Name training -StateDirectory $state } { param($t) $t.State -eq 'Completed' } 'the trainer''s exit to be recorded' 30
        $training.Restarts | Should -Be 0
        $full = @(Get-StabilityEvent -Name training -Type disk_full -StateDirectory $state)
        $full.Count | Should -BeGreaterOrEqual 1
        $full[0].Pid | Should -Be $start.Pid
        $recovered = @(Get-StabilityEvent -Name training -Type disk_space_recovered -StateDirectory $state)
        $recovered.Count | Should -Be $full.Count
        Write-ChaosFigure 'disk_full' ([ordered]@{
                tmpfs_mib = 16; pauses = $full.Count; paused_s = [math]::Round([double]$recovered[-1].Data['paused_seconds'], 1)
                until_paused_s = [math]::Round($pausedFor.TotalSeconds, 1); trainer_restarts = $training.Restarts; epochs = $epochs; outcome = 'paused, resumed, completed'
            })
    }
}
