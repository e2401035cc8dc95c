# Get-StabilityReport (issue #24): how each service fared over a window, replayed from events.jsonl. A generated week of
# events with known counts gives exactly those figures; a real supervised service's own events give a report too.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:t0 = [DateTimeOffset]::new(2026, 11, 1, 0, 0, 0, [TimeSpan]::Zero)

    # One events.jsonl line, as a supervisor writes it.
    function script:Event([string] $Service, [string] $Type, [TimeSpan] $At, [hashtable] $Data = @{}) {
        [ordered]@{
            time = ($t0 + $At).ToString('o'); service = $Service; type = $Type; severity = 'info'; message = "$Type"
            pid = 1; user = 'root'; host = 'test'; data = $Data
        } | ConvertTo-Json -Compress
    }
}

Describe 'Get-StabilityReport over a generated week' {
    BeforeAll {
        $script:state = New-TestStateDirectory 'st-report'
        $d = { param($days) [TimeSpan]::FromDays($days) }
        $m = [TimeSpan]::FromMinutes(1); $h = [TimeSpan]::FromHours(1)
        $lines = @(
            Event trainer started ([TimeSpan]::Zero - $h)
            Event trainer exited (& $d 1) @{ exit_code = '1'; signal = '' }
            Event trainer restarting (& $d 1)
            Event trainer started ((& $d 1) + 10 * $m)
            Event trainer hang_detected (& $d 2)
            Event trainer exited ((& $d 2) + $m) @{ exit_code = ''; signal = '9' }
            Event trainer restarting ((& $d 2) + $m)
            Event trainer started ((& $d 2) + 3 * $m)
            Event trainer limit_exceeded (& $d 3)
            Event trainer exited (& $d 4) @{ exit_code = '3'; signal = '' }
            Event trainer fatal ((& $d 4) + [TimeSpan]::FromSeconds(1))
            Event trainer started ((& $d 4) + 2 * $h)
            Event trainer stopped (& $d 5)
            Event trainer started ((& $d 5) + 6 * $h)
            Event trainer exited (& $d 6) @{ exit_code = '0'; signal = '' }
            Event trainer completed (& $d 6)
            Event dashboard started (& $d -2)
        )
        $events = Join-Path $state 'events.jsonl'
        [IO.File]::WriteAllLines($events, [string[]]$lines)
        & chmod 600 $events
        $script:since = $t0.UtcDateTime
        $script:until = $t0.AddDays(7).UtcDateTime
    }
    AfterAll { Remove-TestStateDirectory $state }

    It 'gives exactly the known figures for every service' {
        $reports = @(Get-StabilityReport -Since $since -Until $until -StateDirectory $state -ErrorAction Stop)

        $reports.Service | Should -Be @('dashboard', 'trainer')
        $trainer = $reports | Where-Object Service -eq trainer
        $trainer.Uptime | Should -Be ([TimeSpan]::FromMinutes(8148))
        $trainer.Downtime | Should -Be ([TimeSpan]::FromMinutes(132))
        $trainer.Starts, $trainer.Restarts, $trainer.Failures, $trainer.FatalEpisodes, $trainer.Hangs, $trainer.LimitEvents | Should -Be @(4, 2, 3, 1, 1, 1)
        $trainer.MeanTimeBetweenFailures | Should -Be ([TimeSpan]::FromMinutes(2716))
        $trainer.LongestOutage | Should -Be ([TimeSpan]::FromHours(2))
        $dashboard = $reports | Where-Object Service -eq dashboard
        $dashboard.UptimeShare | Should -Be 1
        $dashboard.Starts | Should -Be 0
    }

    It 'writes the report as Markdown and as HTML, and shows a table' {
        $md = Join-Path $state 'week.md'
        $html = Join-Path $state 'week.html'
        Get-StabilityReport trainer -Since $since -Until $until -OutFile $md -StateDirectory $state | Out-Null
        Get-StabilityReport -Since $since -Until $until -OutFile $html -StateDirectory $state | Out-Null

        Get-Content -LiteralPath $md -Raw | Should -BeLike '*| trainer | 98.41 % | 5d 15h 48m | 2h 12m 0s | 4 | 2 | 3 | 1 | 1 | 1 | 1d 21h 16m | 2h 0m 0s |*'
        $page = Get-Content -LiteralPath $html -Raw
        $page | Should -BeLike '<!DOCTYPE html>*<td>dashboard</td>*<td>trainer</td>*'
        (Get-StabilityReport -Since $since -Until $until -StateDirectory $state | Out-String -Width 80) | Should -Match 'trainer\s+98\.41\s+4\s+3\s+1\s+1\s+1'
    }

    It 'refuses an unknown file type and a window that ends before it starts, writing nothing' {
        $bad = Join-Path $state 'week.txt'
        { Get-StabilityReport -Since $since -Until $until -OutFile $bad -StateDirectory $state -ErrorAction Stop } | Should -Throw -ExpectedMessage '*use .md for Markdown or .html for HTML*'
        $bad | Should -Not -Exist
        { Get-StabilityReport -Since $until -Until $since -StateDirectory $state -ErrorAction Stop } | Should -Throw -ExpectedMessage '*-Until*is before -Since*'
    }

    It 'names a service without events' {
        Get-StabilityReport nobody -Since $since -Until $until -StateDirectory $state -ErrorVariable missing -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $missing[0].FullyQualifiedErrorId | Should -Be 'ServiceNotFound,StabilityTools.Cmdlets.GetStabilityReportCommand'
    }
}

Describe 'Get-StabilityReport of a real service' {
    BeforeAll { $script:state = New-TestStateDirectory 'st-report-real' }
    AfterAll { Remove-TestStateDirectory $state }

    It 'counts a start and no failure for a service that ran and was stopped' {
        Start-TrainingProcess -Name sleeper -FilePath /bin/sleep -ArgumentList 600 -StateDirectory $state -ErrorAction Stop | Out-Null
        Stop-TrainingProcess -Name sleeper -StateDirectory $state -Confirm:$false -ErrorAction Stop | Out-Null

        $report = Get-StabilityReport sleeper -StateDirectory $state -ErrorAction Stop
        $report.Starts | Should -Be 1
        $report.Failures | Should -Be 0
        $report.UptimeShare | Should -Be 1
        $report.Uptime | Should -BeGreaterThan ([TimeSpan]::Zero)
    }
}
