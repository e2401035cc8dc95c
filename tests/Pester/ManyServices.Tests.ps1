# Many services at once (issue #16): 50 started in parallel from one session (one command with 50 names; 50 single
# starts from parallel runspaces) and from 5 sessions at once, every one running exactly once (one supervisor per name,
# one child per supervisor, seen in /proc), no error; then all stopped by one command with nothing left: no supervisor,
# no service process, no temporary or probe file in the state directory. Services are /bin/sleep under -FilePath.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:sleep = (Get-Command sleep -CommandType Application | Select-Object -First 1).Source
    $script:states = [Collections.Generic.List[string]]::new()

    function New-ManyState([string] $Prefix) {
        $path = New-TestStateDirectory $Prefix
        $script:states.Add($path)
        $path
    }

    # Every live process as pid -> (ppid, command line), from one pass over /proc.
    function Get-ProcessTable {
        $table = @{}
        foreach ($dir in Get-ChildItem /proc -Directory -ErrorAction Ignore | Where-Object Name -match '^\d+$') {
            try {
                $stat = [IO.File]::ReadAllText("$($dir.FullName)/stat")
                $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
                if ($fields[0] -eq 'Z') { continue }
                $table[[int]$dir.Name] = [pscustomobject]@{
                    Ppid    = [int]$fields[1]
                    Command = [IO.File]::ReadAllText("$($dir.FullName)/cmdline").Split([char]0)
                }
            }
            catch { } # Gone meanwhile.
        }
        $table
    }

    # Each of $Names has exactly one supervisor of $State, whose one child is the service's pid in its status; no other
    # supervisor of $State runs.
    function Assert-RunningExactlyOnce([string] $State, [string[]] $Names) {
        $table = Get-ProcessTable
        $supervisors = foreach ($id in $table.Keys) {
            $command = $table[$id].Command
            $at = [array]::IndexOf($command, '--service')
            if ($at -ge 0 -and [array]::IndexOf($command, $State) -ge 0) {
                [pscustomobject]@{ Pid = $id; Name = $command[$at + 1] }
            }
        }
        ($supervisors.Name | Sort-Object) -join ',' | Should -Be (($Names | Sort-Object) -join ',') -Because 'one supervisor per service, no more'
        $statuses = @{}
        Get-ProcessStatus -StateDirectory $State | ForEach-Object { $statuses[$_.Name] = $_ }
        foreach ($supervisor in $supervisors) {
            $status = $statuses[$supervisor.Name]
            $status.State | Should -Be 'Running' -Because "'$($supervisor.Name)' was started"
            $status.SupervisorPid | Should -Be $supervisor.Pid
            $children = @($table.Keys | Where-Object { $table[$_].Ppid -eq $supervisor.Pid })
            $children | Should -Be @($status.Pid) -Because "the supervisor of '$($supervisor.Name)' runs one service process"
        }
    }

    # Nothing of $State's services runs, and no temporary or probe file is left in it.
    function Assert-NothingLeft([string] $State) {
        $left = @(Find-Process { param($environ, $command) ($environ + $command) -join "`0" -like "*$State*" })
        $left | Should -BeNullOrEmpty -Because 'a stop leaves no supervisor and no service process'
        $stray = @(Get-ChildItem -Path $State -Recurse -Force -File | Where-Object { $_.Name -like '*.tmp-*' -or $_.Name -like '.probe*' })
        $stray.FullName | Should -BeNullOrEmpty -Because 'every temporary and probe file is renamed or removed'
    }
}

AfterAll {
    foreach ($state in $script:states) {
        Remove-TestStateDirectory $state
        Find-Process { param($environ, $command) ($environ + $command) -join "`0" -like "*$state*" } |
            ForEach-Object { Stop-Process -Id $_ -Force -ErrorAction Ignore }
    }
}

Describe 'Fifty services at once' {
    It 'starts fifty names given to one command, each exactly once, and stops them all with one command' {
        $state = New-ManyState 'st-many-one'
        $names = 1..50 | ForEach-Object { 'one-{0:d2}' -f $_ }

        $started = $names | Start-TrainingProcess -FilePath $sleep -ArgumentList 3600 -StateDirectory $state -PassThru -ErrorVariable failed

        $failed | Should -BeNullOrEmpty
        @($started).Count | Should -Be 50
        @($started | Where-Object State -ne 'Running') | Should -BeNullOrEmpty
        Assert-RunningExactlyOnce $state $names

        Get-ProcessStatus -StateDirectory $state | Stop-TrainingProcess -Confirm:$false -ErrorVariable stopFailed

        $stopFailed | Should -BeNullOrEmpty
        @(Get-ProcessStatus -StateDirectory $state | Where-Object State -ne 'Stopped') | Should -BeNullOrEmpty
        Assert-NothingLeft $state
    }

    It 'starts fifty services from parallel runspaces of one session, each exactly once' {
        $state = New-ManyState 'st-many-par'
        $names = 1..50 | ForEach-Object { 'par-{0:d2}' -f $_ }
        $module = $env:STABILITY_TEST_MODULE
        $sleepPath = $sleep

        $errors = $names | ForEach-Object -ThrottleLimit 10 -TimeoutSeconds 240 -Parallel {
            Import-Module $using:module
            try {
                Start-TrainingProcess -Name $_ -FilePath $using:sleepPath -ArgumentList 3600 -StateDirectory $using:state -ErrorAction Stop
            }
            catch {
                "$($_.FullyQualifiedErrorId): $_"
            }
        }

        $errors | Should -BeNullOrEmpty
        Assert-RunningExactlyOnce $state $names

        Stop-TrainingProcess -Name $names -StateDirectory $state -Confirm:$false -ErrorVariable stopFailed

        $stopFailed | Should -BeNullOrEmpty
        Assert-NothingLeft $state
    }

    It 'starts fifty services from five sessions at once, each exactly once' {
        $state = New-ManyState 'st-many-five'
        $pwsh = Join-Path $PSHOME 'pwsh.dll'
        $sessions = foreach ($session in 1..5) {
            $names = 1..10 | ForEach-Object { 's{0}-{1:d2}' -f $session, $_ }
            $command = "Import-Module '$env:STABILITY_TEST_MODULE'; '$($names -join "','")' | Start-TrainingProcess -FilePath '$sleep' -ArgumentList 3600 -StateDirectory '$state' -ErrorVariable failed -ErrorAction SilentlyContinue; if (`$failed) { `$failed | ForEach-Object { [Console]::Error.WriteLine(`"`$(`$_.FullyQualifiedErrorId): `$_`") }; exit 1 }"
            $info = [Diagnostics.ProcessStartInfo]::new([Environment]::ProcessPath)
            foreach ($argument in $pwsh, '-NoProfile', '-NonInteractive', '-Command', $command) { $info.ArgumentList.Add($argument) }
            $info.RedirectStandardError = $true
            $info.RedirectStandardOutput = $true
            $process = [Diagnostics.Process]::Start($info)
            [pscustomobject]@{ Process = $process; Names = $names; Stderr = $process.StandardError.ReadToEndAsync(); Stdout = $process.StandardOutput.ReadToEndAsync() }
        }

        foreach ($session in $sessions) {
            $session.Process.WaitForExit(180000) | Should -BeTrue -Because 'a session starts its ten services well within three minutes'
            $session.Stderr.Result | Should -BeNullOrEmpty
            $session.Process.ExitCode | Should -Be 0
        }
        Assert-RunningExactlyOnce $state ($sessions.Names)

        Get-ProcessStatus -StateDirectory $state | Stop-TrainingProcess -Confirm:$false -ErrorVariable stopFailed

        $stopFailed | Should -BeNullOrEmpty
        Assert-NothingLeft $state
    }
}
