# Monitoring (issue #24): rates and trends on Get-ProcessStatus, and searching a service's captured output with
# Get-StabilityLog -Pattern -Since -Until. Real supervised processes throughout.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
}

Describe 'Rates on Get-ProcessStatus' {
    BeforeAll { $script:state = New-TestStateDirectory 'st-rates' }
    AfterAll { Remove-TestStateDirectory $state }

    It 'shows as many restarts and failures in the last hour as the events of a crashing service say' {
        Start-TrainingProcess -Name crashy -FilePath /bin/sh -ArgumentList '-c', 'exit 1' -RestartPolicy always -CircuitMaxRestarts 1000 `
            -BackoffMaxSeconds 0 -NoWait -StateDirectory $state | Out-Null
        Wait-Until { @(Get-StabilityEvent -Name crashy -Type restarting -StateDirectory $state) } { param($e) $e.Count -ge 5 } '5 restarts' 120 | Out-Null
        Stop-TrainingProcess -Name crashy -Force -Confirm:$false -StateDirectory $state | Out-Null

        $restarts = @(Get-StabilityEvent -Name crashy -Type restarting -StateDirectory $state).Count
        $failures = @(Get-StabilityEvent -Name crashy -Type exited -StateDirectory $state | Where-Object { $_.Data -and $_.Data['exit_code'] -eq '1' }).Count
        $status = Get-ProcessStatus -Name crashy -StateDirectory $state

        $restarts | Should -BeGreaterOrEqual 5
        $status.RestartsLastHour | Should -Be $restarts
        $status.RestartsLast24Hours | Should -Be $restarts
        $status.RestartsLast7Days | Should -Be $restarts
        $status.RestartsTrend | Should -Be 'Rising'
        $status.FailuresLastHour | Should -Be $failures
        $status.Rates.PreviousHour.Restarts | Should -Be 0
        $status.Rates.LastHour.Hangs | Should -Be 0
        ($status | Format-List | Out-String) | Should -Match "RestartsLastHour\s*:\s*$restarts \(rising; $restarts in 24 h, $restarts in 7 d\)"
    }

    It 'gives a service without events zeros and keeps the table as it was' {
        $sleep = (Get-Command sleep -CommandType Application)[0].Source
        Start-TrainingProcess -Name calm -FilePath $sleep -ArgumentList 3600 -StartupGraceSeconds 0.3 -StateDirectory $state | Out-Null
        # Its own start is an event, but neither a restart nor a failure.
        $calm = Get-ProcessStatus -Name calm -StateDirectory $state

        $calm.RestartsLastHour, $calm.FailuresLast7Days | Should -Be @(0, 0)
        $calm.RestartsTrend | Should -Be 'Steady'
        (Get-ProcessStatus -StateDirectory $state | Out-String -Width 200) | Should -Match 'Name\s+Kind\s+State\s+Pid\s+Restarts\s+CPU%\s+MemoryMB\s+GpuMB\s+Uptime\s+Error'
    }
}

Describe 'Searching logs with Get-StabilityLog' {
    BeforeAll {
        $script:state = New-TestStateDirectory 'st-logsearch'
        # Known lines around 10.6 MB of filler, so the 10 MiB capture file rotates once between the two ERROR lines;
        # one line carries an old timestamp of its own.
        $script:program = @'
echo "line 1"; echo "ERROR first"; echo "warned once" >&2
head -c 10600000 /dev/zero | tr '\0' x | fold -w 999; echo
echo "line 2"; echo "ERROR second"
echo "2026-11-01T00:00:00Z old record"
echo done
exec sleep 3600
'@
        Start-TrainingProcess -Name talker -FilePath /bin/sh -ArgumentList '-c', $program -StartupGraceSeconds 0.3 -StateDirectory $state | Out-Null
        Wait-Until { Get-StabilityLog -Name talker -Pattern '^done$' -StateDirectory $state } { param($l) $l -eq 'done' } 'the last line' 60 | Out-Null
    }
    AfterAll { Remove-TestStateDirectory $state }

    It 'finds each matching line once across the rotated files, oldest first, and the last N with -Tail' {
        $logs = Join-Path $state 'services/talker/logs'
        Join-Path $logs 'stdout.log.1' | Should -Exist

        Get-StabilityLog -Name talker -Pattern 'error' -StateDirectory $state | Should -Be @('ERROR first', 'ERROR second')
        Get-StabilityLog -Name talker -Pattern 'ERROR' -Tail 1 -StateDirectory $state | Should -Be 'ERROR second'
        Get-StabilityLog -Name talker -Pattern 'error' -CaseSensitive -StateDirectory $state | Should -BeNullOrEmpty
        Get-StabilityLog -Name talker -Pattern 'warned' -Stream Stderr -StateDirectory $state | Should -Be 'warned once'
        # Without a filter, -Tail keeps its meaning: the last lines.
        Get-StabilityLog -Name talker -Tail 2 -StateDirectory $state | Should -Be @('2026-11-01T00:00:00Z old record', 'done')
    }

    It 'filters by time: files by when they were written, timed lines by their own time' {
        $recent = (Get-Date).AddMinutes(-10)
        Get-StabilityLog -Name talker -Pattern '^line|record' -Since $recent -StateDirectory $state | Should -Be @('line 1', 'line 2')
        # Nothing was written before $recent, but the oldest file's start is unknown: its untimed lines stay in, the
        # current file (written after the older one's last write) does not, old timestamp or not.
        Get-StabilityLog -Name talker -Pattern 'ERROR|record' -Until $recent -StateDirectory $state | Should -Be 'ERROR first'
        Get-StabilityLog -Name talker -Pattern 'ERROR' -Since (Get-Date).AddMinutes(5) -StateDirectory $state | Should -BeNullOrEmpty
        # The supervisor's own log is timed on every line.
        Get-StabilityLog -Name talker -Stream Supervisor -Pattern '.' -Since (Get-Date).AddMinutes(5) -StateDirectory $state | Should -BeNullOrEmpty
        Get-StabilityLog -Name talker -Stream Supervisor -Pattern '.' -Since $recent -StateDirectory $state | Should -Not -BeNullOrEmpty
    }

    It 'refuses a bad regex with an error that names -Pattern, and -Until with -Wait' {
        $err = $null
        try { Get-StabilityLog -Name talker -Pattern 'disk [full' -StateDirectory $state -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -BeLike 'InvalidPattern,*'
        $err.Exception.Message.StartsWith("-Pattern 'disk [full' is not a valid regular expression") | Should -BeTrue -Because $err.Exception.Message

        { Get-StabilityLog -Name talker -Wait -Until (Get-Date) -StateDirectory $state -ErrorAction Stop } | Should -Throw -ErrorId 'AmbiguousParameterSet*'
    }

    It 'follows with -Wait, writing the matching lines it finds and stopping when asked' {
        # A follow never ends by itself: a job runs it, and the test stops the job once the matches came.
        $module = $env:STABILITY_TEST_MODULE
        $job = Start-ThreadJob -ScriptBlock {
            Import-Module $using:module
            Get-StabilityLog -Name talker -Pattern 'ERROR' -Wait -StateDirectory $using:state
        }
        try {
            $lines = Wait-Until { @(Receive-Job $job -Keep) } { param($l) $l.Count -ge 2 } 'the followed matches' 60
            $lines | Should -Be @('ERROR first', 'ERROR second')
        }
        finally {
            Stop-Job $job
            Remove-Job $job -Force
        }
    }
}
