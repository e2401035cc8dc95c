# Export-StabilityServiceUnit: the unit it writes really runs the supervisor the way systemd would.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
}

Describe 'Export-StabilityServiceUnit' {
    BeforeEach {
        $script:state = New-TestStateDirectory 'st-pester-unit'
        $script:out = Join-Path $state 'units'
    }
    AfterEach { Remove-TestStateDirectory $state }

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
        $status = Wait-Until { Get-ProcessStatus -Name sleeper -StateDirectory $state } { param($s) $s.State -eq 'Running' } "'sleeper' running under the unit's supervisor" 60
        $status.SupervisorPid | Should -Be $supervisor.Id
        $servicePid = $status.Pid

        # systemctl stop sends SIGTERM to the main process: the supervisor stops the service and ends.
        kill -TERM $supervisor.Id
        $supervisor.WaitForExit(30000) | Should -BeTrue
        (Get-ProcessStatus -Name sleeper -StateDirectory $state).State | Should -Be 'Stopped'
        Test-Path "/proc/$servicePid" | Should -BeFalse
    }

    It 'refuses a service that has no spec with ServiceNotFound' {
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
