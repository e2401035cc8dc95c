# The lifecycle cmdlets as a user meets them (issue #3), against the built module in a fresh pwsh: start a
# service, see it running, restart it through the pipeline, -WhatIf changes nothing, another session sees the
# same services, and errors carry stable FullyQualifiedErrorIds. Services are /bin/sleep under -FilePath.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    $script:state = Join-Path ([IO.Path]::GetTempPath()) ("st-life-" + [guid]::NewGuid().ToString('N').Substring(0, 12))
    $script:sleep = (Get-Command sleep -CommandType Application | Select-Object -First 1).Source
    . $PSScriptRoot/TestSupport.ps1
}

AfterAll {
    Get-ProcessStatus -StateDirectory $state -ErrorAction Ignore | Stop-TrainingProcess -Force -Confirm:$false -ErrorAction Ignore
    # Anything still carrying this state directory in its command line or environment was started by this file.
    Find-Process { param($environ, $command) ($environ + $command) -join "`0" -like "*$state*" } |
        ForEach-Object { Stop-Process -Id $_ -Force -ErrorAction Ignore }
    Remove-Item -Recurse -Force $state -ErrorAction Ignore
}

Describe 'Starting, restarting and stopping a service' {
    It 'starts a program under -FilePath and shows it running' {
        $started = Start-TrainingProcess -Name sleeper -FilePath $sleep -ArgumentList 3600 -StateDirectory $state -PassThru
        $started.State | Should -Be 'Running'
        $started.Pid | Should -BeGreaterThan 0
        Test-ProcessAlive $started.Pid | Should -BeTrue

        $status = Get-ProcessStatus -Name sleeper -StateDirectory $state
        $status.State | Should -Be 'Running'
        $status.Pid | Should -Be $started.Pid
        $status.SupervisorPid | Should -Be $started.SupervisorPid
        $status.PSObject.Properties.Name | Should -Contain 'GpuMemoryMB'
        $status.LastHeartbeat | Should -Not -BeNullOrEmpty
    }

    It 'restarts it through the pipeline' {
        $before = Get-ProcessStatus -Name sleeper -StateDirectory $state
        $after = Get-ProcessStatus -Name sleeper -StateDirectory $state | Restart-StabilityProcess -PassThru
        $after.State | Should -Be 'Running'
        $after.Pid | Should -Not -Be $before.Pid
        $after.Restarts | Should -Be ($before.Restarts + 1)
        Wait-Until { Test-ProcessAlive $before.Pid } { param($alive) -not $alive } "the old pid $($before.Pid) to be gone" 20 | Out-Null
        @(Get-StabilityEvent -Name sleeper -Type control -StateDirectory $state).Count | Should -Be 1
    }

    It 'changes nothing under -WhatIf' {
        $before = Get-ProcessStatus -Name sleeper -StateDirectory $state
        Stop-TrainingProcess -Name sleeper -StateDirectory $state -WhatIf
        Restart-StabilityProcess -Name sleeper -StateDirectory $state -WhatIf
        Start-TrainingProcess -Name other -FilePath $sleep -ArgumentList 3600 -StateDirectory $state -WhatIf
        $untouched = Join-Path $state 'never-created'
        Start-Dashboard -StateDirectory $untouched -WhatIf

        $now = Get-ProcessStatus -Name sleeper -StateDirectory $state
        $now.Pid | Should -Be $before.Pid
        $now.State | Should -Be 'Running'
        Get-ProcessStatus -Name other -StateDirectory $state -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $untouched | Should -Not -Exist
    }

    It 'is seen by a second session' {
        $mine = Get-ProcessStatus -Name sleeper -StateDirectory $state
        $pwsh = Join-Path $PSHOME 'pwsh.dll'
        $command = "Import-Module '$env:STABILITY_TEST_MODULE'; Get-ProcessStatus -StateDirectory '$state' | Select-Object Name, @{n='State';e={`$_.State.ToString()}}, Pid | ConvertTo-Json -Compress"
        $json = & ([Environment]::ProcessPath) $pwsh -NoProfile -NonInteractive -Command $command
        $LASTEXITCODE | Should -Be 0
        $theirs = $json | ConvertFrom-Json
        $theirs.Name | Should -Be 'sleeper'
        $theirs.State | Should -Be 'Running'
        $theirs.Pid | Should -Be $mine.Pid
    }

    It 'completes service names and shows the service output' {
        $line = "Restart-StabilityProcess -StateDirectory '$state' -Name sle"
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'sleeper'
        @(Get-StabilityEvent -Name sleeper -Type started -StateDirectory $state).Count | Should -Be 2
        Get-StabilityLog -Name sleeper -Stream Supervisor -Tail 5 -StateDirectory $state | Should -Not -BeNullOrEmpty
    }

    It 'refuses a second start of a running service' {
        { Start-TrainingProcess -Name sleeper -FilePath $sleep -ArgumentList 3600 -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ServiceAlreadyRunning,StabilityTools.Cmdlets.StartTrainingProcessCommand'
    }

    It 'stops it and nothing of it remains' {
        $before = Get-ProcessStatus -Name sleeper -StateDirectory $state
        $stopped = Stop-TrainingProcess -Name sleeper -StateDirectory $state -Timeout 5 -PassThru -Confirm:$false
        $stopped.State | Should -Be 'Stopped'
        Test-ProcessAlive $before.Pid | Should -BeFalse
        Wait-Until { Test-ProcessAlive $before.SupervisorPid } { param($alive) -not $alive } 'the supervisor to exit' 20 | Out-Null
        (Get-ProcessStatus -Name sleeper -StateDirectory $state).State | Should -Be 'Stopped'
        @(Get-StabilityEvent -Name sleeper -Type stopped -StateDirectory $state).Count | Should -Be 1
    }
}

Describe 'The CPU policy in force and the heartbeat interval' {
    BeforeAll {
        # The scheduling policy of every thread of a process: field 41 of /proc/PID/task/TID/stat (0 normal, 5 SCHED_IDLE).
        function script:Get-ThreadPolicies([int] $ProcessId) {
            foreach ($task in Get-ChildItem "/proc/$ProcessId/task" -Directory) {
                $stat = Get-Content (Join-Path $task.FullName 'stat') -Raw
                $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')[38]
            }
        }
    }

    AfterAll {
        foreach ($name in 'policy-idle', 'policy-none', 'dash-normal') {
            Stop-TrainingProcess -Name $name -StateDirectory $state -Force -Confirm:$false -ErrorAction Ignore | Out-Null
        }
    }

    It 'shows the policy a -CpuPolicy start put in force, and the heartbeat interval, as properties and in the list view' {
        if (-not (Get-Command chrt -ErrorAction Ignore)) { Set-ItResult -Skipped -Because 'chrt(1) is not installed here'; return }
        Start-TrainingProcess -Name policy-idle -FilePath $sleep -ArgumentList 3600 -CpuPolicy Idle -StateDirectory $state | Out-Null
        Start-TrainingProcess -Name policy-none -FilePath $sleep -ArgumentList 3600 -StateDirectory $state | Out-Null

        $idle = Get-ProcessStatus -Name policy-idle -StateDirectory $state
        $idle.State | Should -Be 'Running'
        $idle.CpuPolicy | Should -Be 'idle'
        $idle.HeartbeatIntervalMs | Should -Be 5000
        Get-ThreadPolicies $idle.Pid | Should -Be '5' -Because 'the kernel must run the service under SCHED_IDLE, as its status says'
        $list = $idle | Format-List | Out-String
        $list | Should -Match 'CpuPolicy\s+: idle'
        $list | Should -Match 'HeartbeatInterval\s+: 5 s'

        $none = Get-ProcessStatus -Name policy-none -StateDirectory $state
        $none.CpuPolicy | Should -BeNullOrEmpty
        $none.HeartbeatIntervalMs | Should -Be 5000
        Get-ThreadPolicies $none.Pid | Should -Be '0'
        ($none | Format-List | Out-String) | Should -Match 'CpuPolicy\s+: inherited'
    }

    It 'starts the dashboard under -CpuPolicy Normal: no thread of it at SCHED_IDLE, and its status says normal' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $port = $listener.LocalEndpoint.Port
        $listener.Stop()
        Start-Dashboard -Name dash-normal -Port $port -CpuPolicy Normal -StateDirectory $state | Out-Null

        $dashboard = Get-ProcessStatus -Name dash-normal -StateDirectory $state
        $dashboard.State | Should -Be 'Running'
        $dashboard.CpuPolicy | Should -Be 'normal'
        (Get-Content (Join-Path $state 'services/dash-normal/spec.json') -Raw | ConvertFrom-Json).cpu_policy | Should -Be 'normal'
        $policies = @(Get-ThreadPolicies $dashboard.Pid)
        $policies.Count | Should -BeGreaterThan 4
        $policies | Where-Object { $_ -ne '0' } | Should -BeNullOrEmpty -Because 'no thread of a Normal dashboard may run under SCHED_IDLE'
    }

    It 'rejects a policy it does not know' {
        { Start-Dashboard -Name dash-bad -CpuPolicy Realtime -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,StabilityTools.Cmdlets.StartDashboardCommand'
    }
}

Describe 'Errors with stable ids' {
    It 'reports an unknown name as ServiceNotFound from every cmdlet' {
        Get-ProcessStatus -Name nope -StateDirectory $state -ErrorAction SilentlyContinue -ErrorVariable e1
        $e1[0].FullyQualifiedErrorId | Should -Be 'ServiceNotFound,StabilityTools.Cmdlets.GetProcessStatusCommand'
        $e1[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $e1[0].TargetObject | Should -Be 'nope'

        Stop-TrainingProcess -Name nope -StateDirectory $state -ErrorAction SilentlyContinue -ErrorVariable e2
        $e2[0].FullyQualifiedErrorId | Should -Be 'ServiceNotFound,StabilityTools.Cmdlets.StopTrainingProcessCommand'

        Restart-StabilityProcess -Name nope -StateDirectory $state -ErrorAction SilentlyContinue -ErrorVariable e3
        $e3[0].FullyQualifiedErrorId | Should -Be 'ServiceNotFound,StabilityTools.Cmdlets.RestartStabilityProcessCommand'

        { Get-StabilityLog -Name nope -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ServiceNotFound,StabilityTools.Cmdlets.GetStabilityLogCommand'
    }

    It 'rejects a program that does not exist, leaving no service behind' {
        { Start-TrainingProcess -Name ghost -FilePath /no/such/program -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,StabilityTools.Cmdlets.StartTrainingProcessCommand'
        Join-Path $state 'services/ghost' | Should -Not -Exist
    }

    It 'rejects a bad service name and bad parameter values' {
        { Start-TrainingProcess -Name 'Bad Name' -FilePath $sleep -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,StabilityTools.Cmdlets.StartTrainingProcessCommand'
        { Start-Dashboard -Port 0 -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,StabilityTools.Cmdlets.StartDashboardCommand'
        { Start-TrainingProcess -FilePath $sleep -RestartPolicy sometimes -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,StabilityTools.Cmdlets.StartTrainingProcessCommand'
    }

    It 'refuses a dashboard on a port that is taken, leaving no service behind' {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try {
            $port = $listener.LocalEndpoint.Port
            { Start-Dashboard -Name busy -Port $port -StateDirectory $state -ErrorAction Stop } |
                Should -Throw -ErrorId 'ResourceConflict,StabilityTools.Cmdlets.StartDashboardCommand' -ExpectedMessage "*port $port is in use*"
        }
        finally {
            $listener.Stop()
        }
        Get-ProcessStatus -Name busy -StateDirectory $state -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        # Not even the token the refused start made.
        Test-Path (Join-Path $state 'services/busy/dashboard.token') | Should -BeFalse
    }

    It 'reports a program that exits during start with the tail of its log' {
        { Start-TrainingProcess -Name failing -FilePath /bin/sh -ArgumentList '-c', 'echo config missing >&2; exit 3' -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ServiceStartFailed,StabilityTools.Cmdlets.StartTrainingProcessCommand' -ExpectedMessage '*config missing*'
        (Get-ProcessStatus -Name failing -StateDirectory $state).Pid | Should -Be 0
    }
}
