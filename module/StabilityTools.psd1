@{
    RootModule           = 'StabilityTools.Cmdlets.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b8f3c1e-6a0d-4b7e-9a55-2f3c9d7e1a42'
    Author               = 'StabilityTools'
    CompanyName          = 'StabilityTools'
    Copyright            = '(c) StabilityTools. MIT License.'
    Description          = 'Runs an ML training job and its web dashboard as isolated, supervised processes that share nothing but files in a state directory.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    TypesToProcess       = @('StabilityTools.Types.ps1xml')
    FormatsToProcess     = @('StabilityTools.Format.ps1xml', 'StateDirectory.Format.ps1xml', 'Resources.Format.ps1xml', 'Training.Format.ps1xml', 'Reports.Format.ps1xml')
    # Every export is listed: a cmdlet that is not here is not public.
    CmdletsToExport      = @(
        'Start-TrainingProcess'
        'Get-TrainingRun'
        'Compare-TrainingRun'
        'Get-TrainingMetric'
        'Remove-TrainingRun'
        'Start-Dashboard'
        'Stop-TrainingProcess'
        'Stop-Dashboard'
        'Restart-StabilityProcess'
        'Get-ProcessStatus'
        'Get-StabilityEvent'
        'Get-StabilityReport'
        'Get-StabilityLog'
        'Get-StabilityStateDirectory'
        'Set-GpuQuota'
        'Get-GpuQuota'
        'Remove-GpuQuota'
        'Set-ResourceLimit'
        'Get-ResourceUsage'
        'Get-TrainingStatus'
        'Wait-Training'
        'Export-StabilityServiceUnit'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('ML', 'Training', 'Supervisor', 'Dashboard', 'TorchSharp', 'Process')
            ProjectUri = ''
        }
    }
}
