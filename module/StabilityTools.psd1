@{
    RootModule           = 'StabilityTools.Cmdlets.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5b8f3c1e-6a0d-4b7e-9a55-2f3c9d7e1a42'
    # The one place the version is set: Directory.Build.props reads it for the assemblies, and build.ps1 Pack for both
    # packages (StabilityTools and StabilityTools.Trainer, which must match: the module looks for its own version).
    Author               = 'StabilityTools contributors'
    CompanyName          = 'StabilityTools'
    Copyright            = '(c) StabilityTools contributors. MIT License.'
    Description          = 'Runs an ML training job and its web dashboard as isolated, supervised processes that share nothing but files in a state directory.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    TypesToProcess       = @('StabilityTools.Types.ps1xml')
    FormatsToProcess     = @('StabilityTools.Format.ps1xml', 'StateDirectory.Format.ps1xml', 'Resources.Format.ps1xml', 'Training.Format.ps1xml', 'Reports.Format.ps1xml', 'Alerts.Format.ps1xml')
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
        'Set-StabilityAlert'
        'Get-StabilityAlert'
        'Remove-StabilityAlert'
        'Test-StabilityAlert'
        'Set-ResourceLimit'
        'Get-ResourceUsage'
        'Get-TrainingStatus'
        'Wait-Training'
        'Start-TrainingSweep'
        'Get-TrainingSweep'
        'Wait-TrainingSweep'
        'Stop-TrainingSweep'
        'Remove-TrainingSweep'
        'Export-StabilityServiceUnit'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('ML', 'MachineLearning', 'Training', 'Supervisor', 'Dashboard', 'TorchSharp', 'Process', 'Linux', 'PSEdition_Core')
            ProjectUri   = 'https://github.com/StabilityTools/StabilityTools'
            LicenseUri   = 'https://github.com/StabilityTools/StabilityTools/blob/main/LICENSE'
            ReleaseNotes = @'
0.1.0: the first release.
- Runs a training job and its web dashboard as isolated processes, each under its own small native supervisor, sharing
  only files in a state directory (Start-TrainingProcess, Start-Dashboard, Get-ProcessStatus, Stop-*, Restart-*).
- Runs, metrics, comparisons and reports (Get-TrainingRun, Compare-TrainingRun, Get-TrainingMetric, Get-StabilityReport).
- GPU, CPU and memory limits per service (Set-GpuQuota, Set-ResourceLimit); Slurm as a launcher (-Backend Slurm).
- Sweeps: many trials over settings (grid or random), run by a supervised controller that survives being killed, over
  the machine's GPUs or as Slurm jobs, with the median stopping rule (Start-TrainingSweep, Get-, Wait-, Stop-, Remove-TrainingSweep).
- Alert rules kept in alerts.json, sent by the supervisors to a webhook (JSON, Slack, Teams) or a command, rate-limited,
  with resolved notices (Set-StabilityAlert, Get-StabilityAlert, Remove-StabilityAlert, Test-StabilityAlert).
- Packages: StabilityTools (the module, its supervisor and dashboard for linux-x64) and StabilityTools.Trainer (the
  built-in TorchSharp trainer with libtorch, installed only where the built-in trainer runs:
  Install-PSResource -Name StabilityTools.Trainer). A -FilePath trainer and the dashboard need only the module.
'@
        }
    }
}
