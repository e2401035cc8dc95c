# The packages build.ps1 Pack makes (issue #23), installed as a user installs any PowerShell module: copied into a
# local file repository, registered with Register-PSResourceRepository and installed with Install-PSResource into a
# fresh HOME, then imported by name in a new pwsh whose module path holds that HOME and pwsh's own folders only, never
# the checkout. With the trainer package a short real training runs to completion and a real dashboard serves it; with
# the module package alone a training start fails with TrainerNotInstalled naming the command to run, while the
# dashboard and a -FilePath service still work. Each install also checks that a start gives the native supervisor its
# execute bit back (a package is a zip, and the round trip drops it), owner only.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:checkout = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $builtModule = Split-Path $env:STABILITY_TEST_MODULE
    $script:version = (Import-PowerShellDataFile -LiteralPath $env:STABILITY_TEST_MODULE).ModuleVersion
    $packages = Join-Path (Split-Path $builtModule) 'packages'
    # The packages must come from this build: build.ps1 Test packs after building; run alone, pack first. Any file of
    # the built module newer than a package means it is stale (the build keeps each file's own time).
    $built = (Get-ChildItem -LiteralPath $builtModule -Recurse -File | Measure-Object -Property LastWriteTimeUtc -Maximum).Maximum
    $script:nupkgs = foreach ($name in 'StabilityTools', 'StabilityTools.Trainer') {
        $path = Join-Path $packages "$name.$version.nupkg"
        if (-not (Test-Path -LiteralPath $path) -or (Get-Item -LiteralPath $path).LastWriteTimeUtc -lt $built) {
            throw "'$path' is missing or older than the built module: run 'dotnet pwsh ./build.ps1 Pack' (build.ps1 Test packs before the Pester files)."
        }
        $path
    }
    $script:root = New-TestStateDirectory 'st-pester-pack'
    $script:repository = Join-Path $root 'repository'
    $null = New-Item -ItemType Directory -Path $repository
    # A file-share repository is a folder of .nupkg files, which is what Publish-PSResource would leave there.
    $nupkgs | Copy-Item -Destination $repository

    function script:Get-FreePort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }

    # Runs $Script in a new pwsh as a user with home $UserHome who has never seen the checkout: HOME is fresh, the
    # module path names that home's module folder only (pwsh adds its own), and nothing points at the build. The script
    # gets $Repository, $Version, $Port and $State and writes its findings to $Result as JSON, which this returns.
    function script:Invoke-AsFreshUser([string] $UserHome, [string] $Script) {
        $null = New-Item -ItemType Directory -Force -Path $UserHome
        $file = Join-Path $UserHome 'run.ps1'
        $result = Join-Path $UserHome 'result.json'
        $prelude = "param(`$Repository, `$Version, `$Port, `$State, `$Result)`n`$ErrorActionPreference = 'Stop'`n"
        Set-Content -LiteralPath $file -Value ($prelude + $Script)
        $info = [System.Diagnostics.ProcessStartInfo]::new((Get-Command dotnet -CommandType Application | Select-Object -First 1).Source)
        foreach ($a in @((Join-Path $PSHOME 'pwsh.dll'), '-NoProfile', '-NonInteractive', '-File', $file,
                $repository, $version, (Get-FreePort), (Join-Path $UserHome 'state'), $result)) { $info.ArgumentList.Add($a) }
        foreach ($k in @($info.Environment.Keys)) {
            if ($k -like 'STABILITY_*' -or $k -like 'XDG_*' -or $k -eq 'PSModulePath') { $null = $info.Environment.Remove($k) }
        }
        $info.Environment['HOME'] = $UserHome
        $info.Environment['PSModulePath'] = Join-Path $UserHome '.local/share/powershell/Modules'
        $info.RedirectStandardOutput = $true
        $info.RedirectStandardError = $true
        $p = [System.Diagnostics.Process]::Start($info)
        $out = $p.StandardOutput.ReadToEndAsync()
        $err = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit(420000)) { $p.Kill($true); throw "The fresh user's pwsh did not finish within 7 minutes: $($out.Result)$($err.Result)" }
        $said = $out.Result + $err.Result
        if ($p.ExitCode -ne 0 -or -not (Test-Path -LiteralPath $result)) { throw "The fresh user's pwsh exited with $($p.ExitCode): $said" }
        Get-Content -LiteralPath $result -Raw | ConvertFrom-Json
    }

    # What both users check after importing: where the module came from and what the module path holds. Then it takes
    # every execute bit away from the supervisor (as a zip extraction may leave it), so that the first start must give
    # it back.
    $script:CheckImport = @'
Register-PSResourceRepository -Name StabilityLocal -Uri $Repository -Trusted
Import-Module StabilityTools
$module = Get-Module StabilityTools
$supervisor = Join-Path $module.ModuleBase 'hosts/supervisor/stability-supervisor'
$found = [ordered]@{
    ModuleBase = $module.ModuleBase; ModuleVersion = "$($module.Version)"; ModulePath = @($env:PSModulePath -split [IO.Path]::PathSeparator)
}
[IO.File]::SetUnixFileMode($supervisor, [IO.UnixFileMode]'UserRead, UserWrite, GroupRead, OtherRead')
'@
}

AfterAll {
    foreach ($state in Get-ChildItem -LiteralPath $root -Directory -Recurse -Filter state -ErrorAction Ignore) {
        Get-ProcessStatus -StateDirectory $state.FullName -ErrorAction Ignore | Stop-TrainingProcess -Force -Confirm:$false -ErrorAction Ignore | Out-Null
    }
    Find-Process { param($environ, $command) ($environ + $command) -join "`0" -like "*$root*" } |
        ForEach-Object { Stop-Process -Id $_ -Force -ErrorAction Ignore }
    Remove-Item -Recurse -Force -LiteralPath $root -ErrorAction Ignore
}

Describe 'The packages, installed with Install-PSResource into a fresh HOME' {
    It 'are each a PowerShell module package at the manifest version, the module small and the trainer beside it' {
        $module, $trainer = $nupkgs
        (Get-Item -LiteralPath $module).Length | Should -BeLessOrEqual 30MB
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $entries = { param($path) $zip = [IO.Compression.ZipFile]::OpenRead($path); try { @($zip.Entries.FullName) } finally { $zip.Dispose() } }
        $inModule = & $entries $module
        $inModule | Should -Contain 'StabilityTools.psd1'
        $inModule | Should -Contain 'hosts/supervisor/stability-supervisor'
        $inModule | Should -Contain 'hosts/dashboard/stability-dashboard.dll'
        $inModule | Should -Contain 'en-US/StabilityTools.Cmdlets.dll-Help.xml'
        $inModule | Should -Contain 'LICENSE'
        $inModule | Should -Contain 'THIRD-PARTY-NOTICES.md'
        @($inModule | Where-Object { $_ -like 'hosts/trainer/*' }) | Should -BeNullOrEmpty
        $inTrainer = & $entries $trainer
        $inTrainer | Should -Contain 'StabilityTools.Trainer.psd1'
        $inTrainer | Should -Contain 'hosts/trainer/stability-trainer.dll'
        $inTrainer | Should -Contain 'hosts/trainer/runtimes/linux-x64/native/libtorch_cpu.so'
        $inTrainer | Should -Contain 'LICENSE-LIBTORCH.txt'
        $inTrainer | Should -Contain 'THIRD-PARTY-NOTICES.md'
    }

    It 'without the trainer package: a training start fails with TrainerNotInstalled naming the command, the dashboard and a -FilePath service still work' {
        $sleep = (Get-Command sleep -CommandType Application | Select-Object -First 1).Source
        $found = Invoke-AsFreshUser (Join-Path $root 'home-module-only') ($CheckImport.Replace('Import-Module StabilityTools',
                "Install-PSResource -Name StabilityTools -Repository StabilityLocal -TrustRepository -Quiet`nImport-Module StabilityTools") + @"

try { Start-TrainingProcess -StateDirectory `$State | Out-Null; `$found.TrainingStart = 'started' }
catch {
    `$found.TrainingStart = 'failed'
    `$found.ErrorId = `$_.FullyQualifiedErrorId; `$found.Category = "`$(`$_.CategoryInfo.Category)"; `$found.Message = `$_.Exception.Message
    `$found.Shown = (`$_ | Out-String)
}
`$found.TrainingSpecLeft = Test-Path (Join-Path `$State 'services/training/spec.json')
`$job = Start-TrainingProcess -Name job -FilePath '$sleep' -ArgumentList 300 -StateDirectory `$State -PassThru
`$found.JobState = "`$((Get-ProcessStatus -Name job -StateDirectory `$State).State)"
`$dashboard = Start-Dashboard -Port `$Port -StateDirectory `$State -PassThru
`$headers = @{ Authorization = 'Bearer ' + (Get-Content `$dashboard.TokenPath -Raw).Trim() }
`$found.Page = (Invoke-WebRequest `$dashboard.Url -Headers `$headers -TimeoutSec 10).StatusCode
`$found.Processes = (Invoke-WebRequest "`$(`$dashboard.Url)api/processes" -Headers `$headers -TimeoutSec 10).Content
Stop-Dashboard -StateDirectory `$State -Confirm:`$false | Out-Null
Stop-TrainingProcess -Name job -StateDirectory `$State -Confirm:`$false | Out-Null
`$found.DashboardStopped = "`$((Get-ProcessStatus -Name dashboard -StateDirectory `$State).State)"
`$found.SupervisorModeAfterStart = [int][IO.File]::GetUnixFileMode(`$supervisor)
`$found.TrainerInstalled = [bool](Get-InstalledPSResource -Name StabilityTools.Trainer -ErrorAction Ignore)
`$found | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath `$Result
"@)
        $userHome = Join-Path $root 'home-module-only'
        $found.ModuleBase | Should -Be (Join-Path $userHome ".local/share/powershell/Modules/StabilityTools/$version")
        $found.ModuleVersion | Should -Be $version
        @($found.ModulePath | Where-Object { $_.StartsWith($checkout) }) | Should -BeNullOrEmpty
        $found.TrainerInstalled | Should -BeFalse
        $found.TrainingStart | Should -Be 'failed'
        $found.ErrorId | Should -Be 'TrainerNotInstalled,StabilityTools.Cmdlets.StartTrainingProcessCommand'
        $found.Category | Should -Be 'NotInstalled'
        $found.Message | Should -BeLike "*'Install-PSResource -Name StabilityTools.Trainer -Version $version'*"
        $found.Message | Should -BeLike '*-FilePath*'
        # What the user sees is the message, not a .NET stack trace.
        $found.Shown | Should -Not -Match '\bat StabilityTools\.'
        $found.TrainingSpecLeft | Should -BeFalse
        $found.JobState | Should -Be 'Running'
        $found.Page | Should -Be 200
        $found.Processes | Should -Match '"job"'
        $found.DashboardStopped | Should -Be 'Stopped'
        $found.SupervisorModeAfterStart | Should -Be ([Convert]::ToInt32('744', 8)) -Because 'rwxr--r--: the execute bit back for the owner, for nobody else'
    }

    It 'with the trainer package: a short training runs to completion on the installed trainer and the dashboard serves it' {
        $userHome = Join-Path $root 'home-with-trainer'
        $found = Invoke-AsFreshUser $userHome ($CheckImport.Replace('Import-Module StabilityTools',
                "Install-PSResource -Name StabilityTools -Repository StabilityLocal -TrustRepository -Quiet`n" +
                "Install-PSResource -Name StabilityTools.Trainer -Version `$Version -Repository StabilityLocal -TrustRepository -Quiet`nImport-Module StabilityTools") + @'

$config = Join-Path $State '../small.json'
'{ "data": { "bars": 3000 }, "training": { "epochs": 2, "threads": 1 } }' | Set-Content -LiteralPath $config
Start-TrainingProcess -StateDirectory $State -ConfigPath $config | Out-Null
$found.SupervisorModeAfterStart = [int][IO.File]::GetUnixFileMode($supervisor)
$found.TrainerCommand = @((Get-Content (Join-Path $State 'services/training/spec.json') -Raw | ConvertFrom-Json).arguments)
$final = Wait-Training -StateDirectory $State -Timeout 300
$found.Training = [ordered]@{ State = "$($final.State)"; Epoch = $final.Epoch; ModelExists = [bool]($final.ModelPath -and (Test-Path -LiteralPath $final.ModelPath)) }
$dashboard = Start-Dashboard -Port $Port -StateDirectory $State -PassThru
$headers = @{ Authorization = 'Bearer ' + (Get-Content $dashboard.TokenPath -Raw).Trim() }
$found.Page = (Invoke-WebRequest $dashboard.Url -Headers $headers -TimeoutSec 10).StatusCode
$found.Chart = (Invoke-WebRequest "$($dashboard.Url)lib/uPlot.iife.min.js" -Headers $headers -TimeoutSec 10).StatusCode
$found.Status = (Invoke-WebRequest "$($dashboard.Url)api/status" -Headers $headers -TimeoutSec 10).Content
Stop-Dashboard -StateDirectory $State -Confirm:$false | Out-Null
$found.DashboardStopped = "$((Get-ProcessStatus -Name dashboard -StateDirectory $State).State)"
$found.TrainingService = "$((Get-ProcessStatus -Name training -StateDirectory $State).State)"
$found | ConvertTo-Json -Depth 4 | Set-Content -LiteralPath $Result
'@)
        $modules = Join-Path $userHome '.local/share/powershell/Modules'
        $found.ModuleBase | Should -Be (Join-Path $modules "StabilityTools/$version")
        @($found.ModulePath | Where-Object { $_.StartsWith($checkout) }) | Should -BeNullOrEmpty
        # The supervisor ran although the install's mode had lost every execute bit; the start gave the owner's back only.
        $found.SupervisorModeAfterStart | Should -Be ([Convert]::ToInt32('744', 8)) -Because 'rwxr--r--: the execute bit back for the owner, for nobody else'
        $found.TrainerCommand[0] | Should -Be (Join-Path $modules "StabilityTools.Trainer/$version/hosts/trainer/stability-trainer.dll")
        $found.Training.State | Should -Be 'completed'
        $found.Training.Epoch | Should -Be 2
        $found.Training.ModelExists | Should -BeTrue
        $found.TrainingService | Should -Be 'Completed'
        $found.Page | Should -Be 200
        $found.Chart | Should -Be 200
        $found.Status | Should -Match '"completed"'
        $found.DashboardStopped | Should -Be 'Stopped'
    }
}
