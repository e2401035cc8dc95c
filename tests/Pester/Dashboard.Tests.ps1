# Start-Dashboard signed-in by default (issue #14), against the built module in a fresh pwsh: the printed login link,
# the owner-only token file, -Token/-TokenFile/-NoAuthentication, the Host allow-list, the default memory limit, two
# dashboards with their own state documents, a hung dashboard restarted by its supervisor with hang_detected, and
# every dashboard thread under SCHED_IDLE (issue #16).
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:state = New-TestStateDirectory 'st-dash'

    function script:Get-FreePort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }

    # Status code of a GET, without throwing on 4xx/5xx.
    function script:Get-Code([string] $Uri, [hashtable] $Headers = @{}) {
        (Invoke-WebRequest $Uri -Headers $Headers -SkipHttpErrorCheck -TimeoutSec 10 -MaximumRedirection 0 -ErrorAction Stop).StatusCode
    }
}

AfterAll {
    Remove-TestStateDirectory $state
}

Describe 'Start-Dashboard' {
    It 'prints a login link, returns it, keeps the token owner-only and requires it' {
        $port = Get-FreePort
        $info = Start-Dashboard -Port $port -StateDirectory $state -PassThru -InformationVariable printed
        $info.Authentication | Should -Be 'token'
        $info.Url | Should -Be "http://127.0.0.1:$port/"
        $info.LoginUrl | Should -Match "^http://127\.0\.0\.1:$port/\?token=[0-9a-f]{64}$"
        ($printed.MessageData.Message -join "`n") | Should -BeLike "*$($info.LoginUrl)*"
        $info.TokenPath | Should -Be (Join-Path $state 'services/dashboard/dashboard.token')
        (Get-Item $info.TokenPath).UnixFileMode | Should -Be ([System.IO.UnixFileMode]'UserRead, UserWrite')
        $token = (Get-Content $info.TokenPath -Raw).Trim()

        Get-Code "$($info.Url)api/status" | Should -Be 401
        Get-Code "$($info.Url)healthz" | Should -Be 200
        Get-Code "$($info.Url)api/status" @{ Authorization = "Bearer $token" } | Should -Be 200
        # The login link trades the token for a cookie; the session then reads the API.
        $page = Invoke-WebRequest $info.LoginUrl -SessionVariable browser -TimeoutSec 10
        $page.StatusCode | Should -Be 200
        $page.BaseResponse.RequestMessage.RequestUri.Query | Should -BeNullOrEmpty
        (Invoke-RestMethod "$($info.Url)api/status" -WebSession $browser -TimeoutSec 10).dashboard.name | Should -Be 'dashboard'
    }

    It 'runs every thread of the dashboard under SCHED_IDLE, and its status says so' {
        # Issue #16: the trainer never pays for the dashboard. The policy is set before the program runs (chrt in
        # the exec chain), so the threads Kestrel and the runtime start later inherit it: policy 5 in each task's stat.
        if (-not (Get-Command chrt -ErrorAction Ignore)) { Set-ItResult -Skipped -Because 'chrt(1) is not installed here'; return }
        $status = Get-Content (Join-Path $state 'services/dashboard/status.json') -Raw | ConvertFrom-Json
        $status.cpu_policy | Should -Be 'idle'
        $status.heartbeat_interval_ms | Should -Be 5000
        $tasks = @(Get-ChildItem "/proc/$($status.pid)/task" -Directory)
        $tasks.Count | Should -BeGreaterThan 4
        foreach ($task in $tasks) {
            $stat = Get-Content (Join-Path $task.FullName 'stat') -Raw
            $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
            $fields[38] | Should -Be '5' -Because "thread $($task.Name) ($((Get-Content (Join-Path $task.FullName 'comm') -Raw).Trim())) should run under SCHED_IDLE"
        }
    }

    It 'refuses another Host, the way a DNS-rebinding page would ask' {
        $token = (Get-Content (Join-Path $state 'services/dashboard/dashboard.token') -Raw).Trim()
        $spec = Get-Content (Join-Path $state 'services/dashboard/spec.json') -Raw | ConvertFrom-Json
        $url = "http://127.0.0.1:$($spec.port)"
        Get-Code "$url/api/status" @{ Authorization = "Bearer $token"; Host = "evil.example:$($spec.port)" } | Should -Be 421
    }

    It 'gives the dashboard a 512 MiB memory limit that Set-ResourceLimit changes' {
        $limits = Get-ResourceUsage -StateDirectory $state | Select-Object -ExpandProperty Services | Where-Object Service -eq dashboard
        $limits.MemoryLimitMb | Should -Be 512
        Set-ResourceLimit -Name dashboard -MemoryLimitMB 768 -StateDirectory $state | Out-Null
        (Get-ResourceUsage -StateDirectory $state).Services.Where({ $_.Service -eq 'dashboard' }).MemoryLimitMb | Should -Be 768
    }

    It 'runs a second dashboard with its own token and state document; every view lists both' {
        $port = Get-FreePort
        $ops = Start-Dashboard -Name ops -Port $port -StateDirectory $state -PassThru
        $ops.TokenPath | Should -Be (Join-Path $state 'services/ops/dashboard.token')
        (Get-Content $ops.TokenPath -Raw) | Should -Not -Be (Get-Content (Join-Path $state 'services/dashboard/dashboard.token') -Raw)

        Wait-Until { Test-Path (Join-Path $state 'data/dashboard_state.ops.json') } { param($x) $x } 'the ops state document' 30 | Out-Null
        Wait-Until { Test-Path (Join-Path $state 'data/dashboard_state.json') } { param($x) $x } 'the default state document' 30 | Out-Null
        $documents = (Get-StabilityStateDirectory -StateDirectory $state).Documents.Name
        $documents | Should -Contain 'data/dashboard_state.json'
        $documents | Should -Contain 'data/dashboard_state.ops.json'
        $token = (Get-Content $ops.TokenPath -Raw).Trim()
        $status = Wait-Until { Invoke-RestMethod "$($ops.Url)api/status" -Headers @{ Authorization = "Bearer $token" } -TimeoutSec 10 } { param($s) @($s.dashboards).Count -eq 2 } 'both dashboards in /api/status' 30
        @($status.dashboards.name) | Should -Be @('dashboard', 'ops')
        Stop-Dashboard -Name ops -StateDirectory $state -Confirm:$false | Out-Null
    }

    It 'takes -Token into the token file and -TokenFile as it is' {
        $given = 'given-token-0123456789abcdef'
        $port = Get-FreePort
        $a = Start-Dashboard -Name given -Port $port -Token $given -StateDirectory $state -PassThru
        $a.LoginUrl | Should -Be "http://127.0.0.1:$port/?token=$given"
        (Get-Content (Join-Path $state 'services/given/dashboard.token') -Raw).Trim() | Should -Be $given
        Get-Code "$($a.Url)api/status" @{ Authorization = "Bearer $given" } | Should -Be 200
        # The token never travels on a command line, where other users could read it.
        (Get-Content "/proc/$($a.Pid)/cmdline" -Raw) | Should -Not -BeLike "*$given*"
        Stop-Dashboard -Name given -StateDirectory $state -Confirm:$false | Out-Null

        $file = Join-Path $state 'my.token'
        Set-Content $file 'file-token-0123456789abcdef'
        $b = Start-Dashboard -Name filed -Port (Get-FreePort) -TokenFile $file -StateDirectory $state -PassThru
        $b.TokenPath | Should -Be $file
        Get-Code "$($b.Url)api/status" @{ Authorization = 'Bearer file-token-0123456789abcdef' } | Should -Be 200
        Stop-Dashboard -Name filed -StateDirectory $state -Confirm:$false | Out-Null
    }

    It 'serves without a token on loopback only, with a warning' {
        { Start-Dashboard -Name open -BindAddress 0.0.0.0 -Port (Get-FreePort) -NoAuthentication -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,StabilityTools.Cmdlets.StartDashboardCommand'
        Join-Path $state 'services/open/spec.json' | Should -Not -Exist

        $c = Start-Dashboard -Name open -Port (Get-FreePort) -NoAuthentication -StateDirectory $state -PassThru -WarningVariable warned 3>$null
        $warned | Should -BeLike '*without a token*'
        $c.Authentication | Should -Be 'none'
        $c.LoginUrl | Should -Be $c.Url
        Get-Code "$($c.Url)api/status" | Should -Be 200
        Stop-Dashboard -Name open -StateDirectory $state -Confirm:$false | Out-Null
    }

    It 'is restarted by its supervisor, with hang_detected, when it stops answering' {
        $before = Get-ProcessStatus -Name dashboard -StateDirectory $state
        # A stopped process accepts no connection: what a saturated dashboard looks like to a fresh-connection probe.
        kill -STOP $before.Pid
        try {
            $after = Wait-Until { Get-ProcessStatus -Name dashboard -StateDirectory $state } { param($s) $s.State -eq 'Running' -and $s.Pid -ne $before.Pid } 'a restarted dashboard' 60
        }
        finally {
            kill -CONT $before.Pid 2>$null
        }
        $after.Restarts | Should -BeGreaterThan $before.Restarts
        $hang = @(Get-StabilityEvent -Name dashboard -Type hang_detected -StateDirectory $state)
        $hang.Count | Should -BeGreaterOrEqual 1
        $hang[-1].Message | Should -BeLike '*healthz*'
    }
}
