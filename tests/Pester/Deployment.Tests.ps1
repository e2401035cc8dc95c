# Export-StabilityServiceUnit: the unit it writes really runs the supervisor the way systemd would.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
}

Describe 'Export-StabilityServiceUnit' {
    BeforeEach {
        $script:state = Join-Path ([IO.Path]::GetTempPath()) ("st-pester-unit-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $script:out = Join-Path $state 'units'
    }
    AfterEach {
        Get-ProcessStatus -StateDirectory $state -ErrorAction Ignore | Where-Object State -in 'Running', 'Starting', 'Backoff' |
            ForEach-Object { Stop-TrainingProcess -Name $_.Name -StateDirectory $state -Force -Confirm:$false -ErrorAction Ignore }
        Remove-Item -Recurse -Force $state -ErrorAction Ignore
    }

    It 'writes a unit whose ExecStart runs the supervisor, which stops the service on SIGTERM as systemd would' {
        Start-TrainingProcess -Name sleeper -FilePath /bin/sleep -ArgumentList 300 -StateDirectory $state | Out-Null
        Stop-TrainingProcess -Name sleeper -StateDirectory $state -Confirm:$false | Out-Null

        $file = Export-StabilityServiceUnit -Name sleeper -Path $out -StateDirectory $state
        $file.Name | Should -Be 'stability-sleeper.service'
        $unit = Get-Content $file.FullName
        $unit | Should -Contain 'Type=simple'
        $unit | Should -Contain 'Restart=on-failure'
        $unit | Should -Contain 'KillMode=mixed'
        ($unit | Where-Object { $_ -like 'TimeoutStopSec=*' }) | Should -Be 'TimeoutStopSec=25'
        $exec = ($unit | Where-Object { $_ -like 'ExecStart=*' }).Substring('ExecStart='.Length)
        $exec | Should -Match 'stability-supervisor'
        $exec | Should -Match "--service sleeper"

        # Run the unit's command line as systemd would: the supervisor starts the service.
        $info = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh')
        $info.ArgumentList.Add('-c')
        $info.ArgumentList.Add("exec $exec")
        $supervisor = [System.Diagnostics.Process]::Start($info)
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while ((Get-ProcessStatus -Name sleeper -StateDirectory $state).State -ne 'Running' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        $status = Get-ProcessStatus -Name sleeper -StateDirectory $state
        $status.State | Should -Be 'Running'
        $status.SupervisorPid | Should -Be $supervisor.Id
        $servicePid = $status.Pid

        # systemctl stop sends SIGTERM to the main process: the supervisor stops the service and ends.
        kill -TERM $supervisor.Id
        $supervisor.WaitForExit(30000) | Should -BeTrue
        (Get-ProcessStatus -Name sleeper -StateDirectory $state).State | Should -Be 'Stopped'
        Test-Path "/proc/$servicePid" | Should -BeFalse
    }

    It 'refuses a service that has no spec with ServiceNotFound' {
        New-Item -ItemType Directory -Path $state -Force | Out-Null
        { Export-StabilityServiceUnit -Name nothing -Path $out -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ServiceNotFound,StabilityTools.Cmdlets.ExportStabilityServiceUnitCommand'
    }

    It 'keeps an existing unit file unless -Force is given, and writes nothing under -WhatIf' {
        Start-TrainingProcess -Name sleeper -FilePath /bin/sleep -ArgumentList 300 -StateDirectory $state | Out-Null
        Stop-TrainingProcess -Name sleeper -StateDirectory $state -Confirm:$false | Out-Null
        Export-StabilityServiceUnit -Name sleeper -Path $out -StateDirectory $state -WhatIf
        Join-Path $out 'stability-sleeper.service' | Should -Not -Exist
        Export-StabilityServiceUnit -Name sleeper -Path $out -StateDirectory $state | Out-Null
        { Export-StabilityServiceUnit -Name sleeper -Path $out -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'UnitFileExists,StabilityTools.Cmdlets.ExportStabilityServiceUnitCommand'
        (Export-StabilityServiceUnit -Name sleeper -Path $out -StateDirectory $state -Force).Name | Should -Be 'stability-sleeper.service'
    }
}
