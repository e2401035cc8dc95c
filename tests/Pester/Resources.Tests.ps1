# GPU quotas and resource limits through the module, with a fake nvidia-smi on PATH replaying captured output
# (two A100s and a process list): no GPU exists here, and NVML is absent.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    $script:root = Join-Path ([IO.Path]::GetTempPath()) ("st-pester-res-" + [guid]::NewGuid().ToString('N').Substring(0, 12))
    New-Item -ItemType Directory -Path $root -Force | Out-Null
    . $PSScriptRoot/TestSupport.ps1
    $script:smi = Install-FakeNvidiaSmi -Gpus '0, GPU-4b5c6a52-1f0e-2c3d-9a8b-7c6d5e4f3a21, NVIDIA A100-SXM4-80GB, 81920, 21533, 97', '1, GPU-9f8e7d6c-5b4a-3928-1716-05f4e3d2c1b0, NVIDIA A100-SXM4-80GB, 81920, 4, 0' `
        -Apps '24601, GPU-4b5c6a52-1f0e-2c3d-9a8b-7c6d5e4f3a21, 21524'
}
AfterAll {
    Remove-FakeNvidiaSmi $smi
    Remove-Item -Recurse -Force $root -ErrorAction Ignore
}

Describe 'Set-GpuQuota and Get-GpuQuota' {
    BeforeEach { $script:state = Join-Path $root ([guid]::NewGuid().ToString('N').Substring(0, 8)) }

    It 'records a quota that Get-GpuQuota returns' {
        $q = Set-GpuQuota -Name training -MemoryMB 4096 -Device 1 -Action Restart -StateDirectory $state
        $q.Service | Should -Be 'training'
        $q.Action | Should -Be 'restart'
        $got = Get-GpuQuota -Name 'train*' -StateDirectory $state
        $got.MemoryMb | Should -Be 4096
        $got.Device | Should -Be 1
    }

    It 'takes an action in any case, refuses one it does not know, and shows and records the lower-case word' {
        $q = Set-GpuQuota -Name training -MemoryMB 1024 -Action sToP -StateDirectory $state
        $q.Action | Should -Be ([StabilityTools.Engine.Models.QuotaAction]::Stop)
        { Set-GpuQuota -Name training -MemoryMB 1024 -Action throttle -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '*Warn, Restart, Stop*'
        ($q | Format-Table | Out-String) | Should -Match '\bstop\b'
        Get-Content -Raw (Join-Path $state 'resources/quotas.json') | Should -Match '"action":"stop"'
    }

    It 'refuses a quota above the device memory with a stable error id and records nothing' {
        { Set-GpuQuota -Name training -MemoryMB 90000 -Device 0 -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidResourceRequest,StabilityTools.Cmdlets.SetGpuQuotaCommand'
        Get-GpuQuota -StateDirectory $state | Should -BeNullOrEmpty
    }

    It 'refuses an unknown device, naming the devices there are' {
        $err = $null
        Set-GpuQuota -Name training -MemoryMB 10 -Device 5 -StateDirectory $state -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidResourceRequest,StabilityTools.Cmdlets.SetGpuQuotaCommand'
        $err[0].Exception.Message | Should -Match 'There is no GPU 5.*GPU 1 \(NVIDIA A100-SXM4-80GB'
    }

    It 'makes an exclusive claim on a claimed device a resource conflict' {
        Set-GpuQuota -Name training -MemoryMB 1024 -Device 0 -StateDirectory $state | Out-Null
        { Set-GpuQuota -Name other -MemoryMB 1024 -Device 0 -Exclusive -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ResourceConflict,StabilityTools.Cmdlets.SetGpuQuotaCommand'
    }

    It 'changes nothing under -WhatIf' {
        Set-GpuQuota -Name training -MemoryMB 1024 -StateDirectory $state -WhatIf
        Get-GpuQuota -StateDirectory $state | Should -BeNullOrEmpty
    }

    It 'removes quotas piped from Get-GpuQuota' {
        Set-GpuQuota -Name training -MemoryMB 1024 -Device 0 -StateDirectory $state | Out-Null
        Get-GpuQuota -StateDirectory $state | Remove-GpuQuota -StateDirectory $state
        Get-GpuQuota -StateDirectory $state | Should -BeNullOrEmpty
    }
}

Describe 'Set-ResourceLimit' {
    BeforeEach { $script:state = Join-Path $root ([guid]::NewGuid().ToString('N').Substring(0, 8)) }

    It 'records limits and keeps what a later call leaves out' {
        Set-ResourceLimit -Name training -MemoryLimitMB 512 -MemoryAction Stop -StateDirectory $state | Out-Null
        $l = Set-ResourceLimit -Name training -CpuAffinity 0 -Priority 5 -StateDirectory $state
        $l.MemoryLimitMb | Should -Be 512
        $l.MemoryAction | Should -Be 'stop'
        $l.CpuAffinity | Should -Be @(0)
        $l.Priority | Should -Be 5
    }

    It 'refuses a core the machine does not have, saying which cores there are' {
        $cores = [Environment]::ProcessorCount
        { Set-ResourceLimit -Name training -CpuAffinity $cores -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidResourceRequest,StabilityTools.Cmdlets.SetResourceLimitCommand' -ExpectedMessage "*cores 0 to $($cores - 1)*"
    }
}

Describe 'Get-ResourceUsage' {
    It 'shows the GPUs nvidia-smi reports and the machine memory' {
        $state = Join-Path $root 'usage'
        Set-GpuQuota -Name training -MemoryMB 2048 -StateDirectory $state | Out-Null
        $r = Get-ResourceUsage -StateDirectory $state
        $r.GpuSource | Should -Be 'nvidia-smi'
        $r.Devices.Count | Should -Be 2
        $r.SystemMemoryTotalMb | Should -BeGreaterThan 0
        ($r.Services | Where-Object Service -eq 'training').GpuQuotaMb | Should -Be 2048
        ($r.Services | Where-Object Service -eq 'training').QuotaEnforceable | Should -BeTrue
    }

    It 'degrades to no GPU when neither NVML nor nvidia-smi is there' {
        $env:STABILITY_GPU_PROBE = 'none'
        try {
            $r = Get-ResourceUsage -StateDirectory (Join-Path $root 'none')
            $r.GpuSource | Should -Be 'none'
            $r.Devices.Count | Should -Be 0
            $r.GpuError | Should -BeNullOrEmpty
        }
        finally { $env:STABILITY_GPU_PROBE = 'nvidia-smi' }
    }
}

Describe 'Get-ResourceUsage -History' {
    BeforeAll { $script:state = New-TestStateDirectory 'st-pester-hist' }
    AfterAll { Remove-TestStateDirectory $state }

    It 'returns a running trainer''s CPU and memory over time, with its pid, from its run; removing the run removes them' {
        # 64 MB written (so resident) and half a core kept busy.
        $program = "import time`nb = b'x' * (64 << 20)`nwhile True:`n    t = time.time()`n    while time.time() - t < 0.05: pass`n    time.sleep(0.05)"
        Start-TrainingProcess -Name burner -FilePath (Get-Command python3).Source -ArgumentList '-c', $program -StartupGraceSeconds 0.3 -StateDirectory $state | Out-Null
        $status = Get-ProcessStatus -Name burner -StateDirectory $state

        # A point a heartbeat (5 s): two are there within about 10 s.
        $points = Wait-Until { @(Get-ResourceUsage -History -Name burner -StateDirectory $state) } { param($p) $p.Count -ge 2 } 'two points of history' -Seconds 40

        $points | ForEach-Object { $_ | Should -BeOfType ([StabilityTools.Engine.Status.SystemMetricsPoint]) }
        $points | ForEach-Object { $_.Pid | Should -Be $status.Pid }
        $points[-1].MemoryMb | Should -BeGreaterOrEqual 64
        $points[-1].MemoryMb | Should -BeLessThan 1024
        ($points | Measure-Object CpuMaxPercent -Maximum).Maximum | Should -BeGreaterThan 5
        ($points | Format-Table | Out-String) | Should -Match 'MaxMemoryMB'
        $one = @(Get-ResourceUsage -History -Name burner -MaxPoints 1 -StateDirectory $state)
        $one.Count | Should -Be 1
        $one[0].Samples | Should -BeGreaterOrEqual $points.Count
        Test-Path (Join-Path $state "runs/$($status.RunId)/system_metrics.jsonl") | Should -BeTrue

        Stop-TrainingProcess -Name burner -StateDirectory $state -Confirm:$false | Out-Null
        Remove-TrainingRun -RunId $status.RunId -StateDirectory $state -Confirm:$false
        Get-ResourceUsage -History -Name burner -RunId $status.RunId -StateDirectory $state | Should -BeNullOrEmpty
    }

    It 'names a service that does not exist with a stable error id' {
        { Get-ResourceUsage -History -Name nobody -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ServiceNotFound,StabilityTools.Cmdlets.GetResourceUsageCommand'
    }
}
