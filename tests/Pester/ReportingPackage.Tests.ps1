# build.ps1 Pack's C# libraries and the sample outside the solution (issue #19): the .nupkg holds what a user needs, and
# examples/csharp/MyTrainer restores it from the local folder feed its nuget.config names, builds and trains a run.
BeforeAll {
    Import-Module $env:STABILITY_TEST_MODULE -Force
    . $PSScriptRoot/TestSupport.ps1
    $script:root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:sample = Join-Path $root 'examples/csharp/MyTrainer'
    # The one place versions live: the module manifest (Directory.Build.props gives it to the assemblies).
    $script:version = (Import-PowerShellDataFile -LiteralPath $env:STABILITY_TEST_MODULE).ModuleVersion
}

Describe 'build.ps1 Pack: the C# libraries, and the sample trainer restored from them' {
    BeforeAll {
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $script:work = New-TestStateDirectory 'st-pester-nupkg'
        # The packages must come from this build: build.ps1 Test packs after building; run alone, pack first. A
        # Reporting assembly newer than its package means the package is stale.
        $built = (Get-Item -LiteralPath (Join-Path $root "src/Reporting/bin/Release/net10.0/StabilityTools.Reporting.dll") -ErrorAction Ignore).LastWriteTimeUtc
        $script:nupkg, $script:adapter = foreach ($name in 'StabilityTools.Reporting', 'StabilityTools.Reporting.TorchSharp') {
            $path = Join-Path $root "artifacts/packages/$name.$version.nupkg"
            if (-not (Test-Path -LiteralPath $path) -or ($built -and (Get-Item -LiteralPath $path).LastWriteTimeUtc -lt $built)) {
                throw "'$path' is missing or older than the build: run 'dotnet pwsh ./build.ps1 Pack' (build.ps1 Test packs before the Pester files)."
            }
            $path
        }
    }
    AfterAll { Remove-TestStateDirectory $work }

    It 'packs StabilityTools.Reporting at the module''s version, its README, XML docs and the engine inside' {
        $zip = [System.IO.Compression.ZipFile]::OpenRead($nupkg)
        try {
            $entries = $zip.Entries.FullName
            $entries | Should -Contain 'README.md'
            $entries | Should -Contain 'lib/net10.0/StabilityTools.Reporting.dll'
            $entries | Should -Contain 'lib/net10.0/StabilityTools.Reporting.xml'
            $entries | Should -Contain 'lib/net10.0/StabilityTools.Engine.dll'
            $reader = [System.IO.StreamReader]::new(($zip.Entries | Where-Object FullName -eq 'StabilityTools.Reporting.nuspec').Open())
            $nuspec = $reader.ReadToEnd()
            $reader.Dispose()
        }
        finally { $zip.Dispose() }
        $nuspec | Should -Match "<version>$([regex]::Escape($version))</version>"
        $nuspec | Should -Not -Match 'id="StabilityTools.Engine"' -Because 'the engine travels inside the package, it is no package of its own'
    }

    It 'packs the TorchSharp adapter beside it, depending on it at the same version' {
        $zip = [System.IO.Compression.ZipFile]::OpenRead($adapter)
        try {
            $zip.Entries.FullName | Should -Contain 'lib/net10.0/StabilityTools.Reporting.TorchSharp.dll'
            $reader = [System.IO.StreamReader]::new(($zip.Entries | Where-Object FullName -eq 'StabilityTools.Reporting.TorchSharp.nuspec').Open())
            $nuspec = $reader.ReadToEnd()
            $reader.Dispose()
        }
        finally { $zip.Dispose() }
        $nuspec | Should -Match "id=`"StabilityTools.Reporting`" version=`"$([regex]::Escape($version))`""
        $nuspec | Should -Match 'id="TorchSharp"'
    }

    It 'restores the sample from the local feed, builds it outside the solution, and it trains a run to completion' {
        # A fresh package cache: the package just made, never a cached one of the same version.
        $packages = Join-Path $work 'packages'
        $out = Join-Path $work 'bin'
        $build = & dotnet build $sample -c Release --packages $packages -o $out --nologo 2>&1 | Out-String
        $LASTEXITCODE | Should -Be 0 -Because $build
        Join-Path $packages "stabilitytools.reporting/$version/stabilitytools.reporting.$version.nupkg" | Should -Exist

        $state = Join-Path $work 'state'
        $env:STABILITY_HOME = $state
        $env:STABILITY_RUN_ID = 'sample-run'
        try { $log = & (Join-Path $out 'my-trainer') --epochs 3 --steps 4 --step-delay 0 2>&1 | Out-String; $exit = $LASTEXITCODE }
        finally { Remove-Item Env:STABILITY_HOME, Env:STABILITY_RUN_ID }
        $exit | Should -Be 0 -Because $log
        $run = Get-TrainingRun -RunId sample-run -StateDirectory $state
        $run.State | Should -Be 'completed'
        $run.Run.Trainer | Should -Match "StabilityTools.Reporting $([regex]::Escape($version))"
        @(Get-TrainingMetric -RunId sample-run -Kind epoch -StateDirectory $state).Epoch | Should -Be @(1, 2, 3)
    }
}
