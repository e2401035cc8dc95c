# Every exported cmdlet has real help that agrees with its real parameters, and the module has an about_ topic.
BeforeDiscovery {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    $script:cmdlets = @((Get-Module StabilityTools).ExportedCmdlets.Keys | Sort-Object)
}
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    $script:common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
}

Describe 'Help of <_>' -ForEach $cmdlets {
    BeforeAll {
        $script:help = Get-Help $_ -Full
        # Hidden parameters (DontShow) are plumbing for pipeline binding, not for people.
        $script:actual = @((Get-Command $_).Parameters.Values | Where-Object {
                $_.Name -notin $common -and -not ($_.Attributes | Where-Object { $_ -is [Parameter] -and $_.DontShow })
            } | ForEach-Object Name)
        $script:documented = @($help.Parameters.Parameter | ForEach-Object Name | Where-Object { $_ -notin $common })
    }

    It 'has a written synopsis and description' {
        # Without help, PowerShell makes the synopsis up from the syntax ("Name [-Param ...]").
        $help.Synopsis | Should -Not -BeLike "$_ *"
        $help.Synopsis.Length | Should -BeGreaterThan 15
        ($help.Description | Out-String).Trim().Length | Should -BeGreaterThan 40
    }

    It 'has at least two examples, each with code and an explanation' {
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        foreach ($example in $help.Examples.Example) {
            $example.Code | Should -Not -BeNullOrEmpty
            ($example.Remarks | Out-String).Trim() | Should -Not -BeNullOrEmpty
        }
    }

    It 'documents every parameter it has and none it does not have' {
        $actual | Where-Object { $_ -notin $documented } | Should -BeNullOrEmpty -Because 'every parameter needs help'
        $documented | Where-Object { $_ -notin $actual } | Should -BeNullOrEmpty -Because 'help must not describe parameters that do not exist'
    }
}

Describe 'about_StabilityTools' {
    It 'explains services, supervisors, the state directory and its files' {
        $about = Get-Help about_StabilityTools | Out-String
        foreach ($word in 'supervisor', 'state directory', 'status.json', 'events.jsonl', 'Start-TrainingProcess') {
            $about | Should -Match ([regex]::Escape($word))
        }
    }
}
