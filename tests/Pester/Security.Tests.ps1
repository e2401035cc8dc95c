# Issue #13 replayed by a real second user (st-mallory, created here; root only): a state directory that user
# prepared, a service folder that user could write while it ran, and links that user planted while a folder was
# open and left behind after it was closed. Each attack is refused with its named error, the victim files keep
# every byte, and nothing runs as root that the owner did not start.
BeforeDiscovery {
    $script:canRun = $IsLinux -and ((& id -u) -eq '0') -and (Get-Command setpriv -ErrorAction Ignore) -and (Get-Command useradd -ErrorAction Ignore)
    if (-not $canRun) {
        Write-Host 'Security.Tests.ps1 skipped: it needs Linux, root (to create the second user and act as it) and util-linux setpriv + useradd.'
    }
}

BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:sleep = (Get-Command sleep -CommandType Application | Select-Object -First 1).Source
    $script:user = 'st-mallory'
    $script:states = [Collections.Generic.List[string]]::new()
    $script:marker = 'st-pwned-' + [guid]::NewGuid().ToString('N').Substring(0, 10)
    $script:pwned = "/tmp/$marker"

    if ($IsLinux -and (& id -u) -eq '0') {
        if (-not (& getent passwd $user)) {
            & useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin $user
            if ($LASTEXITCODE -ne 0) { throw "useradd $user failed ($LASTEXITCODE)" }
            $script:createdUser = $true
        }
        $script:uid = [int](& id -u $user)
        $script:gid = [int](& id -g $user)
    }

    # Runs a shell script as the other user, with $1.. from Arguments and stdin from InputText.
    function script:Invoke-AsMallory([string] $Script, [string[]] $Arguments = @(), [string] $InputText) {
        $argv = @("--reuid=$uid", "--regid=$gid", '--clear-groups', '--', '/bin/sh', '-c', $Script, 'sh') + $Arguments
        $output = if ($InputText) { $InputText | & setpriv @argv 2>&1 } else { & setpriv @argv 2>&1 }
        [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($output -join "`n") }
    }

    # A root-only file an attacker would love to write through (0600, random content); returns path and hash.
    function script:New-Victim {
        $dir = New-TestStateDirectory 'st-victim'
        & chmod 0700 $dir
        $path = Join-Path $dir 'secret'
        [IO.File]::WriteAllText($path, "root only $([guid]::NewGuid())`n")
        & chmod 0600 $path
        $states.Add($dir)
        [pscustomobject]@{ Path = $path; Hash = (Get-FileHash $path).Hash }
    }

    # A JSON control request as any writer could put it, with a forged requested_by.
    function script:New-ControlJson([string] $Command) {
        $now = [DateTime]::UtcNow.ToString('o')
        $id = [guid]::NewGuid().ToString('N')
        @{ Id = $id; Json = (@{
            schema = 'control_request/1'; seq = 1; written_at = $now; writer = @{ pid = 1; host = 'forged' }
            request_id = $id; command = $Command; requested_by = @{ user = 'root'; pid = 1; host = 'forged' }
            requested_at = $now; stop_timeout_ms = $null; force = $false
        } | ConvertTo-Json -Compress) }
    }

    function script:Read-Json([string] $Path) { Get-Content -Raw $Path | ConvertFrom-Json }

    function script:Read-Events([string] $State) {
        Get-Content (Join-Path $State 'events.jsonl') -ErrorAction Ignore | Where-Object { $_ } | ForEach-Object { $_ | ConvertFrom-Json }
    }

    # Processes whose command line names the attacker's marker: anything of theirs that ran.
    function script:Find-Pwned { Find-Process { param($environ, $command) ($command -join ' ') -like "*$marker*" } }
}

AfterAll {
    foreach ($state in $states) {
        # Give everything back to root and close it, so the usual clean-up may use the cmdlets on it.
        & chown -R -h root:root $state 2>$null
        & chmod -R u+rwX,go-w $state 2>$null
        Remove-TestStateDirectory $state
    }
    Remove-Item $pwned -Force -ErrorAction Ignore
    if ($createdUser) { & userdel $user 2>$null }
}

Describe 'A state directory another user prepared' -Skip:(-not $canRun) {
    BeforeAll {
        $script:prepared = "/tmp/st-prepared-" + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $states.Add($prepared)
        $spec = @{ schema = 'service_spec/1'; seq = 1; written_at = [DateTime]::UtcNow.ToString('o'); writer = @{ pid = 1; host = 'x' }
                   name = 'training'; kind = 'training'; file_path = '/bin/sh'; arguments = @('-c', "touch $pwned") } | ConvertTo-Json -Compress
        $r = Invoke-AsMallory 'mkdir -m 0777 "$1" && mkdir -p "$1/services/training" && cat > "$1/services/training/spec.json"' @($prepared) -InputText $spec
        $r.ExitCode | Should -Be 0 -Because $r.Output
        $script:before = Get-ChildItem -Recurse -Force $prepared | ForEach-Object { "$($_.FullName)|$((Get-FileHash $_.FullName -ErrorAction Ignore).Hash)" }
    }

    It 'is refused by every cmdlet with StateDirectoryUntrusted, naming the owner and the fix' {
        { Start-TrainingProcess -Name training -FilePath $sleep -ArgumentList 60 -StateDirectory $prepared } |
            Should -Throw -ErrorId 'StateDirectoryUntrusted,StabilityTools.Cmdlets.StartTrainingProcessCommand'
        { Start-Dashboard -Port 18999 -StateDirectory $prepared } | Should -Throw -ErrorId 'StateDirectoryUntrusted*'
        { Get-ProcessStatus -StateDirectory $prepared } | Should -Throw -ErrorId 'StateDirectoryUntrusted*'
        { Restart-StabilityProcess -Name training -StateDirectory $prepared -Confirm:$false } | Should -Throw -ErrorId 'StateDirectoryUntrusted*'
        $err = $null
        try { Start-TrainingProcess -Name training -FilePath $sleep -StateDirectory $prepared } catch { $err = $_ }
        $err.Exception.Message | Should -Match "uid $uid"
        $err.Exception.Message | Should -Match 'Fix: '
        $err.CategoryInfo.Category | Should -Be 'SecurityError'
    }

    It 'is shown Untrusted by Get-StabilityStateDirectory, which changes nothing' {
        $report = Get-StabilityStateDirectory -StateDirectory $prepared
        $report.Trust.IsTrusted | Should -BeFalse
        $report.Trust.Reason | Should -Match "uid $uid"
        ($report | Out-String) | Should -Match 'Untrusted'
    }

    It 'is left byte for byte as the other user made it, and nothing of theirs ran' {
        $after = Get-ChildItem -Recurse -Force $prepared | ForEach-Object { "$($_.FullName)|$((Get-FileHash $_.FullName -ErrorAction Ignore).Hash)" }
        $after | Should -Be $before
        Test-Path $pwned | Should -BeFalse
        Find-Pwned | Should -BeNullOrEmpty
    }
}

Describe 'A service folder another user could write while the service ran' -Skip:(-not $canRun) {
    BeforeAll {
        $script:state = New-TestStateDirectory 'st-sec-steer'
        $states.Add($state)
        $script:started = Start-TrainingProcess -Name sleeper -FilePath $sleep -ArgumentList 3600 -StateDirectory $state -PassThru
        $script:service = Join-Path $state 'services/sleeper'
        $script:originalSpec = Get-Content -Raw (Join-Path $service 'spec.json')
        # The misconfiguration: the folder is opened to everyone (any route by which another user gets write access).
        & chmod 0777 $state (Join-Path $state 'services') $service

        $hostile = $originalSpec | ConvertFrom-Json
        $hostile.file_path = '/bin/sh'
        $hostile.arguments = @('-c', "touch $pwned; exec sleep 3600 # $marker")
        $r = Invoke-AsMallory 'cat > "$1.m" && mv -f "$1.m" "$1"' @((Join-Path $service 'spec.json')) -InputText ($hostile | ConvertTo-Json -Depth 10 -Compress)
        $r.ExitCode | Should -Be 0 -Because $r.Output

        $script:answers = foreach ($command in 'reload-limits', 'restart') {
            $request = New-ControlJson $command
            $r = Invoke-AsMallory 'cat > "$1.m" && mv -f "$1.m" "$1"' @((Join-Path $service 'control.json')) -InputText $request.Json
            $r.ExitCode | Should -Be 0 -Because $r.Output
            # Cmdlets refuse this directory now (it is open to others), so the answer is read from the file itself.
            Wait-Until { Read-Json (Join-Path $service 'status.json') } { param($s) $s.last_control.request_id -eq $request.Id } "the supervisor's answer to '$command'" 20
        }
    }

    It 'refuses the requests, auditing the requester the kernel names, not the one the file claims' {
        $answers | ForEach-Object { $_.last_control.outcome | Should -Be 'refused' }
        $refused = @(Read-Events $state | Where-Object type -eq 'request_refused')
        $refused.Count | Should -Be 2
        $refused | ForEach-Object {
            $_.data.requested_by_uid | Should -Be "$uid"
            $_.data.requested_by_user | Should -Be $user
            $_.data.claimed_user | Should -Be 'root'
        }
        @(Read-Events $state | Where-Object type -eq 'control').Count | Should -Be 0
    }

    It 'runs nothing of the other user: same service process, no marker, no process of theirs' {
        $status = Read-Json (Join-Path $service 'status.json')
        $status.pid | Should -Be $started.Pid
        $status.restarts | Should -Be 0
        Test-Path $pwned | Should -BeFalse
        Find-Pwned | Should -BeNullOrEmpty
    }

    It 'is refused by the cmdlets while it is open, and the planted spec is refused once it is closed' {
        { Get-ProcessStatus -StateDirectory $state } | Should -Throw -ErrorId 'StateDirectoryUntrusted*'
        & chmod 0700 $state (Join-Path $state 'services') $service
        (Get-ProcessStatus -Name sleeper -StateDirectory $state).Pid | Should -Be $started.Pid
        # The supervisor never reads a spec someone else owns; nor does a cmdlet that needs it.
        $err = $null
        try { Restart-StabilityProcess -Name sleeper -StateDirectory $state -Confirm:$false } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidConfiguration*'
        $err.Exception.Message | Should -Match "owned by $user"
        # ... but it never keeps the owner from stopping the service.
        (Stop-TrainingProcess -Name sleeper -StateDirectory $state -Confirm:$false -PassThru).State | Should -Be 'Stopped'
        Test-Path $pwned | Should -BeFalse
        Find-Pwned | Should -BeNullOrEmpty
    }
}

Describe 'Links another user planted while a folder was open, left behind after it was closed' -Skip:(-not $canRun) {
    BeforeAll {
        $script:state = New-TestStateDirectory 'st-sec-links'
        $states.Add($state)
        Start-TrainingProcess -Name svc -FilePath $sleep -ArgumentList 3600 -StateDirectory $state | Out-Null
        Stop-TrainingProcess -Name svc -StateDirectory $state -Confirm:$false | Out-Null
        $script:service = Join-Path $state 'services/svc'
        $script:logs = Join-Path $service 'logs'
        $script:victim = New-Victim
        $script:nologin = "/tmp/st-nologin-" + [guid]::NewGuid().ToString('N').Substring(0, 8)
        & chmod 0777 $state (Join-Path $state 'services') $service $logs
        $plant = 'cd "$1" && rm -f logs/stdout.log logs/stderr.log logs/supervisor.log spec.json.lock && ' +
                 'ln -s "$2" logs/stdout.log && ln -s "$2" logs/stderr.log && ln -s "$2" logs/supervisor.log && ln -s "$3" spec.json.lock'
        $r = Invoke-AsMallory $plant @($service, $victim.Path, $nologin)
        $r.ExitCode | Should -Be 0 -Because $r.Output
        # The owner notices and closes the folders again; what was planted stays.
        & chmod 0700 $state (Join-Path $state 'services') $service $logs
    }

    AfterAll { Remove-Item $nologin -Force -ErrorAction Ignore }

    It 'refuses a start whose spec lock is a link (UnsafeFileRefused), creates nothing at its target and leaves nothing running' {
        { Start-TrainingProcess -Name svc -FilePath $sleep -ArgumentList 3600 -StateDirectory $state } |
            Should -Throw -ErrorId 'UnsafeFileRefused,StabilityTools.Cmdlets.StartTrainingProcessCommand'
        Test-Path $nologin | Should -BeFalse
        Find-Process { param($environ, $command) ($command -join ' ') -like "*$state*" } | Should -BeNullOrEmpty
    }

    It 'writes no captured output or supervisor log through the links, says so in an event, and the service runs' {
        Remove-Item (Join-Path $service 'spec.json.lock') -Force
        $svc = Start-TrainingProcess -Name svc -FilePath /bin/sh -ArgumentList '-c', 'echo captured; echo captured >&2; exec sleep 3600' -StateDirectory $state -PassThru
        $svc.State | Should -Be 'Running'
        $unsafe = Wait-Until { @(Get-StabilityEvent -Name svc -Type unsafe_file -StateDirectory $state) } { param($e) $e.Count -ge 3 } 'unsafe_file events for stdout, stderr and the supervisor log' 20
        Stop-TrainingProcess -Name svc -StateDirectory $state -Confirm:$false | Out-Null
        ($unsafe.data.path | ForEach-Object { Split-Path -Leaf $_ } | Sort-Object) | Should -Be @('stderr.log', 'stdout.log', 'supervisor.log')
        $unsafe | ForEach-Object { $_.Message | Should -Match 'symbolic link' }
        (Get-FileHash $victim.Path).Hash | Should -Be $victim.Hash
    }

    It 'appends no event through a link at events.jsonl and says why when asked for events' {
        & chmod 0777 $state
        $r = Invoke-AsMallory 'rm -f "$1/events.jsonl" && ln -s "$2" "$1/events.jsonl"' @($state, $victim.Path)
        $r.ExitCode | Should -Be 0 -Because $r.Output
        & chmod 0700 $state
        Start-TrainingProcess -Name svc -FilePath $sleep -ArgumentList 3600 -StateDirectory $state | Out-Null
        Stop-TrainingProcess -Name svc -StateDirectory $state -Confirm:$false | Out-Null
        (Get-FileHash $victim.Path).Hash | Should -Be $victim.Hash
        { Get-StabilityEvent -StateDirectory $state } | Should -Throw -ErrorId 'UnsafeFileRefused*'
    }
}

Describe 'A trainer run as another user (-RunAsUser)' -Skip:(-not $canRun) {
    BeforeAll {
        $script:state = New-TestStateDirectory 'st-sec-runas'
        $states.Add($state)
        # The trainer must be where that user can reach it: a checkout under a closed folder is linked (not copied) to one
        # the user can enter, and the hosts are taken from there.
        $script:hostsBefore = $env:STABILITY_HOSTS_DIR
        $hosts = Join-Path (Split-Path $env:STABILITY_TEST_MODULE) 'hosts'
        $probe = Invoke-AsMallory 'test -x "$1"' @((Join-Path $hosts 'trainer/stability-trainer'))
        if ($probe.ExitCode -ne 0) {
            $script:linkedHosts = "/tmp/st-hosts-" + [guid]::NewGuid().ToString('N').Substring(0, 8)
            & cp -al $hosts $linkedHosts 2>$null
            if ($LASTEXITCODE -ne 0) { & cp -a $hosts $linkedHosts }
            & find $linkedHosts -type d -exec chmod 0755 '{}' +
            $env:STABILITY_HOSTS_DIR = $linkedHosts
        }
        # A configuration the user can read (the state directory is closed to them).
        $script:config = "/tmp/st-runas-" + [guid]::NewGuid().ToString('N').Substring(0, 8) + '.json'
        # Epochs long enough that the kill at epoch 2 always lands mid-run, however loaded the machine (at 3000 bars a
        # loaded CI machine once saw the run end between the look at epoch 2 and the kill).
        @{ data = @{ bars = 12000 }; training = @{ epochs = 6; threads = 1 } } | ConvertTo-Json -Depth 4 | Set-Content $config
        & chmod 0644 $config

        Start-TrainingProcess -RunAsUser $user -ConfigPath $config -StateDirectory $state -ErrorAction Stop | Out-Null
        # Mid-run (epoch 2 of 6, read by root from the user's file), the trainer is killed: it must come back as that user.
        $running = Wait-Until { Get-TrainingStatus -StateDirectory $state -ErrorAction Ignore } { param($s) $s -and $s.Epoch -ge 2 -and $s.State -eq 'running' } 'epoch 2 of the trainer run as another user' 120
        $script:runId = $running.RunId
        $script:firstPid = (Get-ProcessStatus -Name training -StateDirectory $state).Pid
        $script:firstUid = [int]((Get-Content "/proc/$firstPid/status" | Where-Object { $_ -like 'Uid:*' }) -split '\s+')[1]
        & kill -KILL $firstPid
        $script:done = Wait-Training -StateDirectory $state -Timeout 180
        $script:status = Get-ProcessStatus -Name training -StateDirectory $state
    }

    AfterAll {
        $env:STABILITY_HOSTS_DIR = $hostsBefore
        Remove-Item $config -Force -ErrorAction Ignore
        if ($linkedHosts) { Remove-Item -Recurse -Force $linkedHosts -ErrorAction Ignore }
    }

    It 'trains as that user, is restarted after a SIGKILL and completes its run with every epoch once' {
        $firstUid | Should -Be $uid
        $done.State | Should -Be 'completed'
        $status.Restarts | Should -Be 1
        $epochs = @(Get-TrainingMetric -RunId $runId -StateDirectory $state | Where-Object Kind -eq 'epoch' | ForEach-Object Epoch)
        ($epochs | Sort-Object) | Should -Be @(1..6)
        (Get-TrainingRun -RunId $runId -StateDirectory $state).State | Should -Be 'completed'
    }

    It 'gives that user its run folder and nothing else of the state directory' {
        $runDir = Join-Path $state "runs/$runId"
        (& stat -c '%u %a' $runDir) | Should -Be "$uid 700"
        (& stat -c '%u' (Join-Path $runDir 'training_status.json')) | Should -Be "$uid"
        foreach ($closed in $state, (Join-Path $state 'runs'), (Join-Path $state 'services/training')) {
            (& stat -c '%u %a' $closed) | Should -Be '0 700'
        }
        (& stat -c '%u %a' (Join-Path $state 'events.jsonl')) | Should -Be '0 600'
        foreach ($forbidden in 'ls "$1"', 'cat "$1/events.jsonl"', 'cat "$1/services/training/spec.json"', 'ls "$1/runs"', 'cat "$1/runs/$2/run.json"') {
            $r = Invoke-AsMallory $forbidden @($state, $runId)
            $r.ExitCode | Should -Not -Be 0 -Because "'$forbidden' must be refused to $user"
        }
    }

    It "records the trainer's events in the state directory's log under the user the kernel names" {
        $relayed = @(Get-StabilityEvent -Name training -StateDirectory $state | Where-Object { $_.data.writer_uid })
        $relayed.Count | Should -BeGreaterThan 1
        $relayed | ForEach-Object {
            $_.data.writer_uid | Should -Be "$uid"
            $_.User | Should -Be $user
            $_.data.run_id | Should -Be $runId
        }
        $relayed.Type | Should -Contain 'completed'
    }

    It 'runs a Python trainer on the stabilitytools library as that user too, its events recorded under that user' {
        $python = Join-Path $PSScriptRoot '../../artifacts/python-venv/bin/python'
        $trainer = Join-Path $PSScriptRoot 'python/user_trainer.py'
        $reach = Invoke-AsMallory 'test -x "$1" && test -r "$2"' @($python, $trainer)
        if (-not (Test-Path $python) -or $reach.ExitCode -ne 0) {
            Set-ItResult -Skipped -Because "the Python venv or the test trainer is not where $user can reach it (or build.ps1 made no venv)"
            return
        }
        Start-TrainingProcess -Name pyuser -FilePath $python -ArgumentList $trainer, '--epochs', '3', '--steps', '5' -RunAsUser $user -StateDirectory $state -ErrorAction Stop | Out-Null
        $run = Wait-Training -Name pyuser -StateDirectory $state -Timeout 120
        $run.State | Should -Be 'completed'
        (& stat -c '%u' (Join-Path $state "runs/$($run.RunId)/metrics.jsonl")) | Should -Be "$uid"
        $relayed = @(Get-StabilityEvent -Name pyuser -StateDirectory $state | Where-Object { $_.data.writer_uid -eq "$uid" })
        $relayed.Type | Should -Contain 'completed'
    }

    It 'refuses, before anything starts, a program that user cannot reach, naming the closed folder' {
        $closed = Join-Path $state 'private-bin'
        New-Item -ItemType Directory $closed | Out-Null
        & chmod 0700 $closed
        Copy-Item $sleep (Join-Path $closed 'work')
        { Start-TrainingProcess -Name closed -FilePath (Join-Path $closed 'work') -ArgumentList 60 -RunAsUser $user -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*cannot run*$closed*"
        Get-ProcessStatus -Name closed -StateDirectory $state -ErrorAction Ignore | Where-Object State -in 'Running', 'Starting' | Should -BeNullOrEmpty
        # The built-in trainer's configuration too: root's closed folder is no place for the user's settings.
        $closedConfig = Join-Path $closed 'trainer.json'
        Copy-Item $config $closedConfig
        { Start-TrainingProcess -Name closedcfg -ConfigPath $closedConfig -RunAsUser $user -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ExpectedMessage "*cannot read*trainer.json*may not enter*"
        Get-ProcessStatus -Name closedcfg -StateDirectory $state -ErrorAction Ignore | Where-Object State -in 'Running', 'Starting' | Should -BeNullOrEmpty
    }
}

Describe 'A dashboard run as another user (Start-Dashboard -RunAsUser)' -Skip:(-not $canRun) {
    BeforeAll {
        $script:state = New-TestStateDirectory 'st-sec-dash'
        $states.Add($state)
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start(); $script:port = $listener.LocalEndpoint.Port; $listener.Stop()
        # Something of root's to show: a finished service and its events, all owner-only.
        Start-TrainingProcess -Name work -FilePath /bin/sh -ArgumentList '-c', 'exit 0' -RestartPolicy never -StateDirectory $state | Out-Null
        Wait-Until { Get-ProcessStatus -Name work -StateDirectory $state } { param($s) $s.State -eq 'Completed' } 'the service to complete' 60 | Out-Null
        $script:info = Start-Dashboard -Port $port -RunAsUser $user -StateDirectory $state -PassThru -ErrorAction Stop
        $script:token = (Get-Content (Join-Path $state 'services/dashboard/dashboard.token') -Raw).Trim()
        $script:dashboardPid = (Get-ProcessStatus -Name dashboard -StateDirectory $state).Pid
    }

    AfterAll { Stop-Dashboard -StateDirectory $state -Confirm:$false -ErrorAction Ignore | Out-Null }

    It 'runs as that user with one capability, reading the state directory to serve it, behind the token' {
        $proc = Get-Content "/proc/$dashboardPid/status"
        (($proc | Where-Object { $_ -like 'Uid:*' }) -split '\s+')[1] | Should -Be "$uid"
        # CAP_DAC_READ_SEARCH (bit 2) and nothing else.
        (($proc | Where-Object { $_ -like 'CapEff:*' }) -split '\s+')[1] | Should -Be '0000000000000004'
        $processes = Invoke-RestMethod "http://127.0.0.1:$port/api/processes" -Headers @{ Authorization = "Bearer $token" } -TimeoutSec 10
        ($processes | ConvertTo-Json -Depth 8) | Should -Match '"work"'
        (Invoke-WebRequest "http://127.0.0.1:$port/api/status" -SkipHttpErrorCheck -TimeoutSec 10).StatusCode | Should -Be 401
    }

    It 'writes only its own folder; its state document reaches data/ through its supervisor; root keeps the rest' {
        $own = Join-Path $state 'services/dashboard/own'
        (& stat -c '%u %a' $own) | Should -Be "$uid 700"
        $copied = Join-Path $state 'data/dashboard_state.json'
        # The dashboard writes it every few seconds, the first time before it knows its address.
        Wait-Until { Get-Content $copied -Raw -ErrorAction Ignore | ConvertFrom-Json -ErrorAction Ignore } { param($d) "$($d.url)" -match ":$port" } "the dashboard's state document in data/, with its address" 30 | Out-Null
        (& stat -c '%u %a' $copied) | Should -Be '0 600'
        (& stat -c '%u' (Join-Path $own 'dashboard_state.json')) | Should -Be "$uid"
        foreach ($closed in $state, (Join-Path $state 'data'), (Join-Path $state 'services/work')) {
            (& stat -c '%u %a' $closed) | Should -Be '0 700'
        }
        # The user itself, without the dashboard's capability, still reaches nothing.
        (Invoke-AsMallory 'cat "$1/events.jsonl"' @($state)).ExitCode | Should -Not -Be 0
    }
}
