# Alert rules as a user meets them (issue #24), against the built module in a fresh pwsh: the rules are set with
# Set-StabilityAlert, real supervisors run real -FilePath services, and a real webhook receiver on 127.0.0.1 records
# what arrives. Every wait polls with a bound.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:sleep = (Get-Command sleep -CommandType Application | Select-Object -First 1).Source

    # A webhook receiver on 127.0.0.1: records each POST body; in hang mode it reads the request and never answers.
    Add-Type -TypeDefinition @'
using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

public sealed class AlertHookReceiver : IDisposable
{
    private readonly HttpListener _listener = new HttpListener();
    private readonly CancellationTokenSource _stop = new CancellationTokenSource();
    private readonly bool _hang;

    public AlertHookReceiver(bool hang)
    {
        _hang = hang;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Url = "http://127.0.0.1:" + Port + "/hook/secret-token";
        _listener.Prefixes.Add("http://127.0.0.1:" + Port + "/");
        _listener.Start();
        Task.Run(Loop);
    }

    public int Port { get; }
    public string Url { get; }
    public ConcurrentQueue<string> Bodies { get; } = new ConcurrentQueue<string>();

    private async Task Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                using (var reader = new StreamReader(context.Request.InputStream))
                {
                    Bodies.Enqueue(await reader.ReadToEndAsync());
                }
                if (_hang)
                {
                    try { await Task.Delay(Timeout.Infinite, _stop.Token); } catch (OperationCanceledException) { }
                    return;
                }
                context.Response.StatusCode = 200;
                context.Response.Close();
            });
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        try { _listener.Close(); } catch (ObjectDisposedException) { }
    }
}
'@

    function Get-HookBody($Hook) { @($Hook.Bodies.ToArray() | ForEach-Object { $_ | ConvertFrom-Json }) }
    function Get-AlertEvent([string] $Name, [string] $Type) { @(Get-StabilityEvent -Name $Name -Type $Type -StateDirectory $state) }
}

Describe 'Alert rules' {
    BeforeEach {
        $script:state = New-TestStateDirectory 'st-pester-alerts'
        $script:hook = [AlertHookReceiver]::new($false)
    }
    AfterEach {
        Remove-TestStateDirectory $state
        $hook.Dispose()
    }

    It 'posts exactly one notice carrying the fatal event when a service goes fatal' {
        Set-StabilityAlert -Name pager -On Fatal -Service doomed -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
        Start-TrainingProcess -Name doomed -FilePath /bin/sh -ArgumentList '-c', 'sleep 1; exit 3' -RestartPolicy never -StartupGraceSeconds 0.3 -StateDirectory $state | Out-Null

        $sent = Wait-Until { Get-AlertEvent doomed alert_sent } { param($e) $e.Count -ge 1 } 'an alert_sent event' 60
        $status = Wait-Until { Get-ProcessStatus -Name doomed -StateDirectory $state } { param($s) $s.State -eq 'Fatal' } "'doomed' fatal" 30
        Wait-Until { Test-ProcessAlive $status.SupervisorPid } { param($alive) -not $alive } 'the supervisor to end' 30 | Out-Null

        $bodies = Get-HookBody $hook
        $bodies.Count | Should -Be 1
        $bodies[0].status | Should -Be 'firing'
        $bodies[0].trigger | Should -Be 'fatal'
        $bodies[0].event.type | Should -Be 'fatal'
        $bodies[0].event.service | Should -Be 'doomed'
        $bodies[0].event.message | Should -BeLike "*restart policy is 'never'*"
        $sent.Count | Should -Be 1
        $sent[0].Message | Should -Not -BeLike '*secret-token*' -Because "a webhook's path often holds a token"
    }

    It 'sends at most the configured number of notices for a storm of 50 restarts' {
        # Above 5 restarts an hour, at most one notice an hour: exactly one for the whole storm.
        Set-StabilityAlert -Name storm -On Restart -RestartsPerHour 5 -MinIntervalSeconds 3600 -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
        Start-TrainingProcess -Name stormy -FilePath /bin/sh -ArgumentList '-c', 'exit 1' -RestartPolicy always -CircuitMaxRestarts 1000 `
            -BackoffMaxSeconds 0 -NoWait -StateDirectory $state | Out-Null

        Wait-Until { Get-AlertEvent stormy restarting } { param($e) $e.Count -ge 50 } '50 restarts' 120 | Out-Null
        Stop-TrainingProcess -Name stormy -Force -Confirm:$false -StateDirectory $state | Out-Null
        # Every notice decided was recorded as sent or failed once its delivery ended.
        Wait-Until { Get-AlertEvent stormy alert_sent } { param($e) $e.Count -ge 1 } 'the storm notice' 30 | Out-Null

        @(Get-AlertEvent stormy alert_sent).Count | Should -Be 1
        @(Get-AlertEvent stormy alert_failed).Count | Should -Be 0
        $bodies = Get-HookBody $hook
        $bodies.Count | Should -Be 1
        $bodies[0].trigger | Should -Be 'restart'
        $bodies[0].text | Should -BeLike '*restarts in the last hour; threshold 5*'
    }

    It 'sends one resolved notice when a fatal service runs again' {
        Set-StabilityAlert -Name pager -On Fatal -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
        Start-TrainingProcess -Name flaky -FilePath /bin/sh -ArgumentList '-c', 'sleep 1; exit 3' -RestartPolicy never -StartupGraceSeconds 0.3 -StateDirectory $state | Out-Null
        Wait-Until { Get-AlertEvent flaky alert_sent } { param($e) $e.Count -ge 1 } 'the fatal notice' 60 | Out-Null

        Start-TrainingProcess -Name flaky -FilePath $sleep -ArgumentList 3600 -StartupGraceSeconds 0.3 -StateDirectory $state | Out-Null
        Wait-Until { Get-AlertEvent flaky alert_sent } { param($e) $e.Count -ge 2 } 'the resolved notice' 60 | Out-Null
        Restart-StabilityProcess -Name flaky -StateDirectory $state -Confirm:$false | Out-Null

        $statuses = @(Get-HookBody $hook | ForEach-Object status)
        $statuses | Should -Be @('firing', 'resolved') -Because 'a restart of a healthy service resolves nothing more'
        (Get-HookBody $hook)[1].text | Should -BeLike "*resolved: 'flaky' is running again*"
    }

    It 'still fires after the service is started again, because no Start-* touches alerts.json' {
        Set-StabilityAlert -Name pager -On Fatal -Service again -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
        Start-TrainingProcess -Name again -FilePath $sleep -ArgumentList 3600 -StartupGraceSeconds 0.3 -StateDirectory $state | Out-Null
        Stop-TrainingProcess -Name again -Confirm:$false -StateDirectory $state | Out-Null

        Start-TrainingProcess -Name again -FilePath /bin/sh -ArgumentList '-c', 'sleep 1; exit 3' -RestartPolicy never -StartupGraceSeconds 0.3 -StateDirectory $state | Out-Null

        (Get-StabilityAlert -StateDirectory $state).Name | Should -Be 'pager'
        Wait-Until { Get-HookBody $hook } { param($b) $b.Count -ge 1 } 'the fatal notice' 60 | Out-Null
        (Get-HookBody $hook)[0].event.type | Should -Be 'fatal'
    }

    It 'fires the loss alert within a status interval when a -FilePath trainer reports a NaN loss' {
        # A trainer of the user's own on the stabilitytools library (standard library only: the system python3 will do).
        $python = (Get-Command python3 -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
        if (-not $python) { Set-ItResult -Skipped -Because 'python3 is not installed'; return }
        $trainer = Join-Path $state 'diverging.py'
        Set-Content -Path $trainer -Value @'
import math
import stabilitytools as stability

with stability.run(total_epochs=1, steps_per_epoch=100000, heartbeat_interval=0.25) as run:
    for epoch in run.epochs():
        for step in range(100000):
            run.stop_event.wait(0.02)
            run.step(loss=float("nan") if step >= 10 else 1.0, samples=8)
'@
        Set-StabilityAlert -Name diverged -On LossNotFinite -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
        $started = Start-TrainingProcess -Name nan -FilePath $python -ArgumentList $trainer -Environment @{ PYTHONPATH = (Resolve-Path "$PSScriptRoot/../../python/src").Path } `
            -StateDirectory $state -PassThru
        $interval = (Get-ProcessStatus -Name nan -StateDirectory $state).HeartbeatIntervalMs / 1000

        Wait-Until { Get-TrainingStatus -Name nan -StateDirectory $state } { param($t) [double]::IsNaN($t.Status.Loss) } 'the NaN loss in training_status.json' 30 | Out-Null
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $body = Wait-Until { Get-HookBody $hook } { param($b) $b.Count -ge 1 } 'the loss notice' ($interval + 10)
        $clock.Elapsed.TotalSeconds | Should -BeLessOrEqual ($interval + 2) -Because 'the supervisor reads the run''s status once per status interval'
        $body[0].trigger | Should -Be 'loss_not_finite'
        $body[0].event.data.value | Should -Be 'loss NaN'
        @(Get-AlertEvent nan loss_not_finite).Count | Should -Be 1 -Because 'a diverged run is reported once'
        (Get-ProcessStatus -Name nan -StateDirectory $state).Pid | Should -Be $started.Pid
    }

    Context 'conditions of a run and a replaced supervisor' {
        BeforeAll {
            # Trainers of the user's own on the stabilitytools library (standard library only: the system python3 will do).
            $script:python = (Get-Command python3 -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
            $script:pythonPath = @{ PYTHONPATH = (Resolve-Path "$PSScriptRoot/../../python/src").Path }
            function Start-Trainer([string] $Name, [string] $Code) {
                $trainer = Join-Path $state "$Name.py"
                Set-Content -Path $trainer -Value $Code
                Start-TrainingProcess -Name $Name -FilePath $python -ArgumentList $trainer -Environment $pythonPath -StateDirectory $state -PassThru
            }
        }

        It 'posts one loss_rising notice when the validation loss rises 3 epochs in a row' {
            if (-not $python) { Set-ItResult -Skipped -Because 'python3 is not installed'; return }
            Set-StabilityAlert -Name trend -On LossRising -RisingEpochs 3 -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
            Start-Trainer rising @'
import stabilitytools as stability

with stability.run(total_epochs=5, steps_per_epoch=1, heartbeat_interval=0.25) as run:
    for epoch in run.epochs():
        run.step(loss=1.0, samples=8)
        # Falls once (2 to 3), then rises three epochs in a row (3, 4, 5): the third rise fires.
        run.log(epoch=epoch, loss=1.0 / epoch, val_loss=[1.0, 0.8, 0.9, 1.0, 1.1][epoch - 1])
        if epoch == 5:
            run.stop_event.wait(3600)
'@ | Out-Null

            $body = Wait-Until { Get-HookBody $hook } { param($b) $b.Count -ge 1 } 'the loss_rising notice' 30
            $body.Count | Should -Be 1
            $body[0].trigger | Should -Be 'loss_rising'
            $body[0].status | Should -Be 'firing'
            $body[0].event.data.figure | Should -Be 'val_loss' -Because 'the validation loss is preferred where the trainer reports it'
            $body[0].event.data.epoch | Should -Be '5'
            @(Get-AlertEvent rising loss_rising).Count | Should -Be 1
        }

        It 'posts one throughput_low notice when the trainer''s throughput collapses' {
            if (-not $python) { Set-ItResult -Skipped -Because 'python3 is not installed'; return }
            Set-StabilityAlert -Name pace -On ThroughputLow -ThroughputFraction 0.5 -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
            Start-Trainer slowing @'
import time
import stabilitytools as stability

with stability.run(total_epochs=1, steps_per_epoch=10**9, heartbeat_interval=0.25) as run:
    for epoch in run.epochs():
        started = time.monotonic()
        while True:
            # About 10000 samples/s for 10 s (the warm-up and a median), then about 400.
            run.stop_event.wait(0.01 if time.monotonic() - started < 10 else 0.25)
            run.step(loss=1.0, samples=100)
'@ | Out-Null

            $body = Wait-Until { Get-HookBody $hook } { param($b) $b.Count -ge 1 } 'the throughput_low notice' 45
            $body.Count | Should -Be 1
            $body[0].trigger | Should -Be 'throughput_low'
            [double] $body[0].event.data.samples_per_sec | Should -BeLessThan (0.5 * [double] $body[0].event.data.median)
            @(Get-AlertEvent slowing throughput_low).Count | Should -Be 1
        }

        It 'posts a no_progress notice when the trainer stops advancing, and its resolved notice when it advances again' {
            if (-not $python) { Set-ItResult -Skipped -Because 'python3 is not installed'; return }
            $go = Join-Path $state 'go-on'
            Set-StabilityAlert -Name stuck -On NoProgress -NoProgressSeconds 2 -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
            Start-Trainer stalling (@'
import os
import stabilitytools as stability

with stability.run(total_epochs=1, steps_per_epoch=10**9, heartbeat_interval=0.25) as run:
    for epoch in run.epochs():
        for step in range(20):
            run.stop_event.wait(0.05)
            run.step(loss=1.0, samples=8)
        # Stands still (its heartbeat goes on) until the test lets it go on.
        while not os.path.exists(__GO__):
            run.stop_event.wait(0.1)
        while True:
            run.stop_event.wait(0.05)
            run.step(loss=1.0, samples=8)
'@ -creplace '__GO__', "'$go'") | Out-Null

            $firing = Wait-Until { Get-HookBody $hook } { param($b) $b.Count -ge 1 } 'the no_progress notice' 30
            $firing[0].trigger | Should -Be 'no_progress'
            $firing[0].status | Should -Be 'firing'
            (Get-ProcessStatus -Name stalling -StateDirectory $state).Restarts | Should -Be 0 -Because 'no progress is a notice, not a restart'

            Set-Content -Path $go -Value ''
            $bodies = Wait-Until { Get-HookBody $hook } { param($b) $b.Count -ge 2 } 'the resolved notice' 30
            @($bodies | ForEach-Object status) | Should -Be @('firing', 'resolved')
            $bodies[1].trigger | Should -Be 'no_progress'
            @(Get-AlertEvent stalling no_progress_cleared).Count | Should -Be 1
        }

        It 'posts a disk_full notice when the state directory''s disk has less free than the rule asks (100 %: always)' {
            Set-StabilityAlert -Name disk -On DiskFull -DiskFreePercent 100 -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
            Start-TrainingProcess -Name filling -FilePath $sleep -ArgumentList 3600 -StartupGraceSeconds 0.3 -StateDirectory $state | Out-Null

            $body = Wait-Until { Get-HookBody $hook } { param($b) $b.Count -ge 1 } 'the disk_full notice' 30
            $body[0].trigger | Should -Be 'disk_full'
            [double] $body[0].event.data.free_percent | Should -BeLessThan 100
        }

        It 'posts supervisor_replaced when the scanner replaces a SIGKILLed supervisor, and resolved once it runs under the new one' {
            Set-StabilityAlert -Name replaced -On SupervisorReplaced -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
            $first = Start-TrainingProcess -Name victim -FilePath $sleep -ArgumentList 3600 -StartupGraceSeconds 0.3 -StateDirectory $state -PassThru
            $supervisor = (Get-ProcessStatus -Name victim -StateDirectory $state).SupervisorPid
            Stop-Process -Id $supervisor -Force

            # No command needed: the state directory's scanner launches the replacement, which takes the service back.
            $body = Wait-Until { Get-HookBody $hook } { param($b) $b.Count -ge 2 } 'the supervisor_replaced notices' 30
            @($body | ForEach-Object status) | Should -Be @('firing', 'resolved')
            $body[0].trigger | Should -Be 'supervisor_replaced'
            $body[0].event.data.previous_supervisor_pid | Should -Be "$supervisor"
            $body[0].event.message | Should -BeLike "*'victim' (pid $($first.Pid),*back from supervisor $supervisor, which died*"
            @(Get-AlertEvent victim supervisor_replaced).Count | Should -Be 1
            $now = Get-ProcessStatus -Name victim -StateDirectory $state
            $now.SupervisorPid | Should -Not -Be $supervisor
            $now.Pid | Should -Be $first.Pid
        }

        It 'posts supervisor_replaced when the service is started afresh after its supervisor and the scanner were SIGKILLed' {
            Set-StabilityAlert -Name replaced -On SupervisorReplaced -WebhookUrl $hook.Url -StateDirectory $state | Out-Null
            $first = Start-TrainingProcess -Name victim -FilePath $sleep -ArgumentList 3600 -StartupGraceSeconds 0.3 -StateDirectory $state -PassThru
            # The scanner first (it would take the service back), then the supervisor: only a start is left to notice.
            $scanner = Wait-Until { Get-ScannerPid $state } { param($p) @($p).Count -eq 1 } 'the scanner' 10
            Stop-Process -Id $scanner -Force
            Stop-Process -Id $first.SupervisorPid -Force
            Wait-Until { (Test-ProcessAlive $first.SupervisorPid) -or (Test-ProcessAlive $scanner) } { param($alive) -not $alive } 'both to die' 30 | Out-Null

            Start-TrainingProcess -Name victim -FilePath $sleep -ArgumentList 3600 -StartupGraceSeconds 0.3 -StateDirectory $state | Out-Null

            # Firing when the new supervisor starts, resolved once the service passes its startup check under it.
            $body = Wait-Until { Get-HookBody $hook } { param($b) $b.Count -ge 2 } 'the supervisor_replaced notices' 30
            @($body | ForEach-Object status) | Should -Be @('firing', 'resolved')
            $body[0].event.data.previous_supervisor_pid | Should -Be "$($first.SupervisorPid)"
            $body[0].event.message | Should -BeLike "*Supervisor $($first.SupervisorPid) of 'victim' died*pid $($first.Pid)*"
            (Join-Path $state 'services/victim/previous_status.json') | Should -Not -Exist
        }
    }

    It 'records a webhook that hangs as a timeout while the supervisor goes on supervising' {
        $hang = [AlertHookReceiver]::new($true)
        try {
            Set-StabilityAlert -Name slow -On Restart -MinIntervalSeconds 0 -TimeoutSeconds 4 -WebhookUrl $hang.Url -StateDirectory $state | Out-Null
            Start-TrainingProcess -Name hung -FilePath /bin/sh -ArgumentList '-c', 'sleep 0.5; exit 1' -RestartPolicy always -CircuitMaxRestarts 1000 `
                -BackoffMaxSeconds 0 -StartupGraceSeconds 0.1 -StateDirectory $state | Out-Null
            $clock = [Diagnostics.Stopwatch]::StartNew()

            # While the first notice hangs (4 s), restarts go on.
            Wait-Until { Get-AlertEvent hung started } { param($e) $e.Count -ge 4 } 'four starts' 30 | Out-Null
            $startsBeforeTimeout = $clock.Elapsed.TotalSeconds
            $failed = Wait-Until { Get-AlertEvent hung alert_failed } { param($e) $e.Count -ge 1 } 'an alert_failed event' 30
            $failed[0].Data['error'] | Should -BeLike '*did not answer within 4000 ms*'
            $startsBeforeTimeout | Should -BeLessThan 4 -Because 'a hanging webhook must not hold up the supervisor'
            (Get-ProcessStatus -Name hung -StateDirectory $state).State | Should -BeIn 'Running', 'Starting', 'Backoff'
            Stop-TrainingProcess -Name hung -Force -Confirm:$false -StateDirectory $state | Out-Null
            (Get-ProcessStatus -Name hung -StateDirectory $state).State | Should -Be 'Stopped'
        }
        finally { $hang.Dispose() }
    }
}

Describe 'Set-, Get-, Remove- and Test-StabilityAlert' {
    BeforeAll {
        $script:state = New-TestStateDirectory 'st-pester-alertcmd'
        $script:hook = [AlertHookReceiver]::new($false)
    }
    AfterAll {
        Remove-TestStateDirectory $state
        $hook.Dispose()
    }

    It 'keeps rules in alerts.json and lists them by name and by service' {
        $rule = Set-StabilityAlert -Name pager -On Fatal, HangDetected -WebhookUrl $hook.Url -Format Slack -StateDirectory $state
        $rule.Scope | Should -Be '*'
        Set-StabilityAlert -Name oncall -On Fatal -Service training -Command /bin/true -StateDirectory $state | Out-Null

        (Join-Path $state 'alerts.json') | Should -Exist
        (Get-Content -Raw (Join-Path $state 'alerts.json') | ConvertFrom-Json).schema | Should -Be 'alert_rules/1'
        @(Get-StabilityAlert -StateDirectory $state).Name | Should -Be @('pager', 'oncall')
        @(Get-StabilityAlert -Service dashboard -StateDirectory $state).Name | Should -Be @('pager')
        @(Get-StabilityAlert -Name on* -StateDirectory $state).Name | Should -Be @('oncall')
        (Get-StabilityAlert -StateDirectory $state | Out-String) | Should -Not -BeLike '*secret-token*'
    }

    It 'refuses a bad rule naming its key, with InvalidConfiguration, and writes nothing' {
        { Set-StabilityAlert -Name 'Bad Name' -On Fatal -WebhookUrl 'ftp://x' -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,StabilityTools.Cmdlets.SetStabilityAlertCommand'
        @(Get-StabilityAlert -StateDirectory $state).Count | Should -Be 2
    }

    It 'refuses a condition''s key without its trigger, naming the key' {
        { Set-StabilityAlert -Name trend -On Fatal -RisingEpochs 5 -WebhookUrl $hook.Url -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,StabilityTools.Cmdlets.SetStabilityAlertCommand' -ExpectedMessage '*rising_epochs*loss_rising*'
        $rule = Set-StabilityAlert -Name trend -On LossRising, NoProgress -RisingEpochs 5 -NoProgressSeconds 90 -WebhookUrl $hook.Url -StateDirectory $state
        $rule.RisingEpochs | Should -Be 5
        $rule.NoProgressMs | Should -Be 90000
        $rule.ThroughputFraction | Should -BeNullOrEmpty -Because 'a key left out is its default'
        Remove-StabilityAlert -Name trend -Confirm:$false -StateDirectory $state
    }

    It 'sends a test notice through the real webhook and records it as an event' {
        $result = Test-StabilityAlert -Name pager -StateDirectory $state
        $result.Succeeded | Should -BeTrue
        $result.StatusCode | Should -Be 200
        $body = Get-HookBody $hook | Select-Object -Last 1
        $body.text | Should -BeLike "*test notice of alert rule 'pager'*"
        @(Get-StabilityEvent -Type alert_test_sent -StateDirectory $state).Count | Should -Be 1
    }

    It 'reports a target that cannot be reached with AlertDeliveryFailed' {
        $closed = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $closed.Start(); $port = $closed.LocalEndpoint.Port; $closed.Stop()
        Set-StabilityAlert -Name nowhere -On Fatal -WebhookUrl "http://127.0.0.1:$port/" -TimeoutSeconds 2 -StateDirectory $state | Out-Null
        $result = Test-StabilityAlert -Name nowhere -StateDirectory $state -ErrorVariable problems -ErrorAction SilentlyContinue
        $result.Succeeded | Should -BeFalse
        $problems[0].FullyQualifiedErrorId | Should -Be 'AlertDeliveryFailed,StabilityTools.Cmdlets.TestStabilityAlertCommand'
        @(Get-StabilityEvent -Type alert_test_failed -StateDirectory $state).Count | Should -Be 1
    }

    It 'removes a rule, changes nothing under -WhatIf, and reports an unknown one with AlertRuleNotFound' {
        Remove-StabilityAlert -Name nowhere -WhatIf -StateDirectory $state
        @(Get-StabilityAlert -Name nowhere -StateDirectory $state).Count | Should -Be 1
        Get-StabilityAlert -Name nowhere -StateDirectory $state | Remove-StabilityAlert -Confirm:$false -StateDirectory $state
        @(Get-StabilityAlert -Name nowhere -StateDirectory $state).Count | Should -Be 0
        { Remove-StabilityAlert -Name nowhere -Confirm:$false -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'AlertRuleNotFound,StabilityTools.Cmdlets.RemoveStabilityAlertCommand'
    }
}
