# Bad input through the module (issue #13, names, units, quotas, exits): a name with a trailing newline, a unit for a
# state directory whose path is full of characters systemd reads specially, a quotas.json that no longer parses, and
# a service whose exit no restart can fix. Each is refused with its error id, or ends where it should, losing nothing.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
}

Describe 'Names with a trailing newline' {
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-names' }
    AfterEach { Remove-TestStateDirectory $state }

    It 'refuses Start-TrainingProcess -Name "x`n" with InvalidConfiguration and creates nothing for it' {
        { Start-TrainingProcess -Name "x`n" -FilePath /bin/sleep -ArgumentList 60 -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,StabilityTools.Cmdlets.StartTrainingProcessCommand' -ExpectedMessage '*not a valid service name*'
        @(Get-ChildItem -LiteralPath (Join-Path $state 'services') -ErrorAction Ignore) | Should -BeNullOrEmpty
    }

    It 'refuses Start-Dashboard -Name "x`n" with InvalidConfiguration' {
        { Start-Dashboard -Name "x`n" -Port 1 -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,StabilityTools.Cmdlets.StartDashboardCommand'
    }

    It 'refuses Export-StabilityServiceUnit -User with a newline, so no setting can be smuggled into the unit' {
        Start-TrainingProcess -Name sleeper -FilePath /bin/sleep -ArgumentList 300 -StateDirectory $state | Out-Null
        Stop-TrainingProcess -Name sleeper -StateDirectory $state -Confirm:$false | Out-Null
        $out = Join-Path $state 'units'
        { Export-StabilityServiceUnit -Name sleeper -Path $out -User "alice`nExecStartPre=/bin/sh" -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,StabilityTools.Cmdlets.ExportStabilityServiceUnitCommand' -ExpectedMessage '*not a user name systemd reads as one*'
        Join-Path $out 'stability-sleeper.service' | Should -Not -Exist
    }
}

Describe 'Export-StabilityServiceUnit for a hostile state directory path' {
    BeforeEach {
        # Spaces, a specifier, variables, a backslash, both quotes, a ';' and unicode: each one breaks a unit written naively.
        $script:parent = New-TestStateDirectory 'st-pester-hostile'
        $script:state = Join-Path $parent "a b %n `$HOME `${HOME} back\slash 'q' `"dq`" ; ünï €"
    }
    AfterEach { Remove-TestStateDirectory $state; Remove-Item -Recurse -Force $parent -ErrorAction Ignore }

    It 'writes a unit that systemd-analyze verify accepts and that names the state directory exactly' {
        Start-TrainingProcess -Name sleeper -FilePath /bin/sleep -ArgumentList 300 -StateDirectory $state | Out-Null
        Stop-TrainingProcess -Name sleeper -StateDirectory $state -Confirm:$false | Out-Null
        $file = Export-StabilityServiceUnit -Name sleeper -Path (Join-Path $parent 'units') -StateDirectory $state
        $unit = Get-Content -LiteralPath $file.FullName
        # Every % doubled; every $ doubled on the command line; the path quoted with \ and " escaped.
        $escaped = $state.Replace('\', '\\').Replace('"', '\"').Replace('%', '%%')
        ($unit | Where-Object { $_ -like 'ExecStart=*' }) | Should -BeLike "*--state-dir `"$($escaped.Replace('$', '$$'))`" --service sleeper"
        ($unit | Where-Object { $_ -like 'Environment=*' }) | Should -Be "Environment=`"STABILITY_HOME=$escaped`""
        ($unit | Where-Object { $_ -like 'RequiresMountsFor=*' }) | Should -Be "RequiresMountsFor=`"$escaped`""

        $analyze = Get-Command systemd-analyze -CommandType Application -ErrorAction Ignore | Select-Object -First 1
        if (-not $analyze) {
            Set-ItResult -Skipped -Because 'systemd-analyze is not installed (Debian package systemd; .ci/run installs it): the unit was checked by its text only'
            return
        }
        $output = & $analyze.Source verify --man=no --generators=no $file.FullName 2>&1 | Out-String
        $LASTEXITCODE | Should -Be 0 -Because $output
        $output | Should -Not -Match ([regex]::Escape($file.Name)) -Because 'systemd only warns about many bad settings'
    }
}

Describe 'A quotas.json that cannot be read' {
    BeforeEach {
        $script:state = New-TestStateDirectory 'st-pester-quotas'
        $script:quotas = Join-Path $state 'resources/quotas.json'
        # Another service's limit and quota: what a silent rewrite would lose.
        Set-ResourceLimit -Name other -MemoryLimitMB 512 -StateDirectory $state | Out-Null
        Set-GpuQuota -Name other -MemoryMB 1024 -StateDirectory $state | Out-Null
        $script:good = [IO.File]::ReadAllBytes($quotas)
    }
    AfterEach { Remove-TestStateDirectory $state }

    It 'refuses every change with CorruptDocument when it is <how>, shows it Corrupt, and keeps it byte for byte' -ForEach @(
        @{ how = 'prefixed with a BOM' }
        @{ how = 'truncated' }
        @{ how = 'not JSON' }
        @{ how = 'of another schema' }
    ) {
        $text = [Text.Encoding]::UTF8.GetString($good)
        $bad = switch ($how) {
            'prefixed with a BOM' { [byte[]](0xEF, 0xBB, 0xBF) + $good }
            'truncated' { $good[0..($good.Length / 2)] }
            'not JSON' { [Text.Encoding]::UTF8.GetBytes('quotas, edited by hand') }
            'of another schema' { [Text.Encoding]::UTF8.GetBytes($text.Replace('resource_quotas/1', 'resource_quotas/9')) }
        }
        [IO.File]::WriteAllBytes($quotas, [byte[]]$bad)

        $attempts = @(
            @{ Id = 'SetResourceLimitCommand'; Call = { Set-ResourceLimit -Name training -MemoryLimitMB 256 -StateDirectory $state -ErrorAction Stop } }
            @{ Id = 'SetGpuQuotaCommand'; Call = { Set-GpuQuota -Name training -MemoryMB 2048 -StateDirectory $state -ErrorAction Stop } }
            @{ Id = 'RemoveGpuQuotaCommand'; Call = { Remove-GpuQuota -Name other -StateDirectory $state -Confirm:$false -ErrorAction Stop } }
            @{ Id = 'StartTrainingProcessCommand'; Call = { Start-TrainingProcess -Name sleeper -FilePath /bin/sleep -ArgumentList 300 -StateDirectory $state -ErrorAction Stop } }
        )
        foreach ($attempt in $attempts) {
            $attempt.Call | Should -Throw -ErrorId "CorruptDocument,StabilityTools.Cmdlets.$($attempt.Id)" -ExpectedMessage "*$quotas*Fix the file*remove it*"
            [IO.File]::ReadAllBytes($quotas) | Should -Be $bad -Because "$($attempt.Id) must leave the file as it is"
        }

        (Get-StabilityStateDirectory -StateDirectory $state).Documents | Where-Object Name -eq 'resources/quotas.json' |
            ForEach-Object State | Should -Be 'Corrupt'
        # The refused start left nothing behind.
        (Get-ProcessStatus -Name sleeper -StateDirectory $state -ErrorAction Ignore).State | Should -Not -Be 'Running'
    }
}

Describe 'Exits a restart cannot fix' {
    BeforeEach { $script:state = New-TestStateDirectory 'st-pester-norestart' }
    AfterEach { Remove-TestStateDirectory $state }

    It 'makes a trainer that exits 78 Fatal at once, with the reason in Get-ProcessStatus and one fatal event' {
        Start-TrainingProcess -Name configured -FilePath /bin/sh -ArgumentList '-c', 'sleep 3; echo bad learning_rate >&2; exit 78' -StateDirectory $state | Out-Null

        $status = Wait-Until { Get-ProcessStatus -Name configured -StateDirectory $state } { param($s) $s.State -eq 'Fatal' } "'configured' fatal" 60
        $status.LastExitCode | Should -Be 78
        $status.Restarts | Should -Be 0
        $status.ErrorMessage | Should -BeLike '*exited with code 78 (EX_CONFIG*no restart can fix*'
        $events = @(Wait-Until { @(Get-StabilityEvent -Name configured -Type fatal -StateDirectory $state) } { param($e) $e.Count -ge 1 } 'the fatal event' 30)
        $events.Count | Should -Be 1
        @(Get-StabilityEvent -Name configured -Type restarting -StateDirectory $state) | Should -BeNullOrEmpty
    }

    It 'makes an exit listed in -NoRestartExitCode Fatal at once even under -RestartPolicy always' {
        Start-TrainingProcess -Name picky -FilePath /bin/sh -ArgumentList '-c', 'sleep 3; exit 3' -RestartPolicy always -NoRestartExitCode 3 -StateDirectory $state | Out-Null

        $status = Wait-Until { Get-ProcessStatus -Name picky -StateDirectory $state } { param($s) $s.State -eq 'Fatal' } "'picky' fatal" 60
        $status.LastExitCode | Should -Be 3
        $status.Restarts | Should -Be 0
        $status.ErrorMessage | Should -BeLike '*no_restart_exit_codes*'
        $spec = Get-Content -Raw (Join-Path $state 'services/picky/spec.json') | ConvertFrom-Json
        $spec.no_restart_exit_codes | Should -Be @(3, 78)
    }

    It 'refuses a -NoRestartExitCode that reads as a death by signal, with InvalidConfiguration' {
        { Start-TrainingProcess -Name picky -FilePath /bin/sleep -ArgumentList 60 -NoRestartExitCode 143 -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,StabilityTools.Cmdlets.StartTrainingProcessCommand' -ExpectedMessage '*143 cannot be*'
        { Start-Dashboard -NoRestartExitCode 0 -StateDirectory $state -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,StabilityTools.Cmdlets.StartDashboardCommand'
    }
}
