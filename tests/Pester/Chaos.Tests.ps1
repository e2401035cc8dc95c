# Faults against the real product, short versions (issue #7): the built module, real supervisors, the real trainer.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
}

Describe 'Trainer chaos' {
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-chaos' }
    AfterEach { Remove-TestStateDirectory $state }

    It 'completes a run whose trainer is SIGKILLed at random moments while its supervisor restarts it' {
        $epochs = 8
        $config = Join-Path $state 'trainer.json'
        @{ data = @{ bars = 150000 }; training = @{ epochs = $epochs } } | ConvertTo-Json -Depth 3 | Set-Content $config
        Start-TrainingProcess -ConfigPath $config -StateDirectory $state | Out-Null

        $killed = [System.Collections.Generic.List[int]]::new()
        $random = [Random]::new(7)
        while ($killed.Count -lt 4) {
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
            # The random moment: mid-epoch, mid-checkpoint or mid-status-write, whatever it hits.
            Start-Sleep -Milliseconds $random.Next(100, 1500)
            kill -KILL $victim.Service.Pid
            $killed.Add($victim.Service.Pid)
        }

        $final = Wait-Training -StateDirectory $state -Timeout 300 -ErrorAction Stop
        $killed.Count | Should -BeGreaterOrEqual 3 -Because 'the run must have been killed at least three times'
        $final.State | Should -Be 'completed'
        $final.Epoch | Should -Be $epochs
        (Get-ProcessStatus -Name training -StateDirectory $state).Restarts | Should -BeGreaterOrEqual $killed.Count

        # The visible history has every epoch exactly once, in order.
        $history = Get-Content (Join-Path $state 'data/metrics.jsonl') | ForEach-Object { $_ | ConvertFrom-Json } | Where-Object kind -eq 'epoch'
        @($history.epoch) | Should -Be @(1..$epochs)

        # Every document parses; the final model is there.
        $documents = (Get-StabilityStateDirectory -StateDirectory $state).Documents
        $documents | Where-Object State -notin 'Ok', 'Missing' | Should -BeNullOrEmpty
        ($documents | Where-Object Name -eq 'data/training_status.json').State | Should -Be 'Ok'
        $final.ModelPath | Should -Exist
        (Get-Item $final.ModelPath).Length | Should -BeGreaterThan 0
        Get-StabilityEvent -Name training -Type exited -StateDirectory $state | Should -Not -BeNullOrEmpty
    }
}

Describe 'Dashboard chaos' {
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-dchaos' }
    AfterEach {
        Stop-Dashboard -StateDirectory $state -Force -Confirm:$false -ErrorAction Ignore | Out-Null
        Remove-TestStateDirectory $state
    }

    It 'leaves training untouched while the dashboard is SIGKILLed again and again, and the dashboard comes back each time' {
        $config = Join-Path $state 'trainer.json'
        @{ data = @{ bars = 150000 }; training = @{ epochs = 6 } } | ConvertTo-Json -Depth 3 | Set-Content $config
        $port = Get-Random -Minimum 20000 -Maximum 40000
        Start-TrainingProcess -ConfigPath $config -StateDirectory $state | Out-Null
        Start-Dashboard -Port $port -StateDirectory $state | Out-Null

        $killed = [System.Collections.Generic.List[int]]::new()
        while ($killed.Count -lt 3 -and (Get-ProcessStatus -Name training -StateDirectory $state).State -eq 'Running') {
            $dashboard = Wait-Until { Get-ProcessStatus -Name dashboard -StateDirectory $state } { param($d) $d.State -eq 'Running' -and $d.Pid -notin $killed } 'a fresh dashboard process' 30
            kill -KILL $dashboard.Pid
            $killed.Add($dashboard.Pid)
            # Back within its restart delay: a new process that answers its health probe.
            Wait-Until { Get-ProcessStatus -Name dashboard -StateDirectory $state } { param($d) $d.State -eq 'Running' -and $d.Pid -notin $killed } 'the dashboard restarted' 30 | Out-Null
            Wait-Until { try { (Invoke-WebRequest "http://127.0.0.1:$port/healthz" -TimeoutSec 2).StatusCode } catch { 0 } } { param($code) $code -eq 200 } 'the dashboard answering again' 30 | Out-Null
        }

        $final = Wait-Training -StateDirectory $state -Timeout 300 -ErrorAction Stop
        $killed.Count | Should -BeGreaterOrEqual 3 -Because 'the dashboard must have been killed while training ran'
        $final.State | Should -Be 'completed'
        # Nothing of the trainer noticed: never restarted, one clean exit (recorded once its supervisor saw it), no hang.
        $training = Wait-Until { Get-ProcessStatus -Name training -StateDirectory $state } { param($t) $t.State -eq 'Completed' } 'the trainer''s exit to be recorded' 30
        $training.Restarts | Should -Be 0
        @(Get-StabilityEvent -Name training -Type exited -StateDirectory $state) | ForEach-Object { $_.Data['exit_code'] } | Should -Be @('0')
        Get-StabilityEvent -Name training -Type hang_detected, restarting -StateDirectory $state | Should -BeNullOrEmpty
        (Get-ProcessStatus -Name dashboard -StateDirectory $state).Restarts | Should -BeGreaterOrEqual 3
    }
}

