#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, demonstrates and benchmarks StabilityTools.

.DESCRIPTION
    Named tasks, run in the order given:
      Build  compiles the solution, publishes the supervisor as a native (AOT) executable (Linux; needs clang or gcc:
             without one it ships the JIT supervisor with a warning, except under CI=true where it fails),
             and assembles the importable module in artifacts/StabilityTools/ (manifest, cmdlet and engine
             assemblies, and the supervisor, trainer and dashboard under hosts/). Then makes the Python virtual
             environment artifacts/python-venv (once) and installs the Python package python/ into it, offline
             (without python3-venv it warns and goes on, except under CI=true where it fails).
      Test   Build and (unless -SkipPester) Pack, then every xunit project (one at a time), the Python package's
             pytest suite (python/tests, in that venv) and every Pester file under tests/Pester in a fresh
             `pwsh -NoProfile` against the built module. Ends with one line `N passed, N failed, N skipped`
             totalling all three, and exits non-zero on any failure.
      Demo   the main job: Build, then start training on the built-in synthetic market data and the dashboard
             on 127.0.0.1:8050 in the default state directory, with a progress bar over epochs.
      Pack   Build, then make the two packages PSResourceGet installs, in artifacts/packages/: StabilityTools (the
             module: cmdlets, engine, help, formats, the native supervisor and the dashboard for linux-x64) and
             StabilityTools.Trainer (the built-in trainer with libtorch, which the module finds once installed), both at
             the manifest's ModuleVersion, each with LICENSE and THIRD-PARTY-NOTICES.md. Test-ModuleManifest checks both.
             Then the libraries for users' own code, as NuGet packages in the same folder: StabilityTools.Reporting
             (src/Reporting, the trainer side of the file contract, with the engine inside) and
             StabilityTools.Reporting.TorchSharp (its TorchSharp module/optimizer checkpoint adapter), at the same
             version. examples/csharp/MyTrainer restores Reporting from that folder (its nuget.config).
      Bench  Build, then run every benchmark suite and record the figures in bench/RESULTS.md.
      Chaos  Build, then the long version of the chaos suite (tests/Pester/Chaos.Tests.ps1 with STABILITY_CHAOS=long:
             100 trainer SIGKILLs, 30 dashboard SIGKILLs with throughput measured, a 60 s log flood, supervisor death,
             a restart storm and, as root, a full disk), about 16 minutes on 2 cores. Ends with the same totals line as
             Test; when every test passed, records the figures with date and machine in docs/RELIABILITY.md.
      Clean  removes artifacts/ and every bin/ and obj/ folder.

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 Test

.EXAMPLE
    dotnet pwsh ./build.ps1 Pack; dotnet run --project examples/csharp/MyTrainer

.EXAMPLE
    dotnet pwsh ./build.ps1 Bench -Suite store

.EXAMPLE
    dotnet pwsh ./build.ps1 Chaos
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Pack', 'Demo', 'Bench', 'Chaos', 'Clean')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Test: only these test projects: xunit ones by name (Engine, Supervisor, ...) and Python for the pytest suite;
    # Pester still runs unless -SkipPester.
    [string[]] $Project,

    # Test: a dotnet test --filter expression passed to every xunit project.
    [string] $Filter,

    [switch] $SkipPester,

    [switch] $SkipUnit,

    # Test: skip the Python package's pytest suite.
    [switch] $SkipPython,

    # Bench: only these suites.
    [string[]] $Suite,

    # Build: ship the framework-dependent (JIT) supervisor instead of the native one, for machines without a C
    # toolchain; Test then runs the supervisor tests against it too. Not what CI tests.
    [switch] $JitSupervisor
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$Root = $PSScriptRoot
$Artifacts = Join-Path $Root 'artifacts'
$ModuleOut = Join-Path $Artifacts 'StabilityTools'
$TestResults = Join-Path $Artifacts 'test-results'
$PythonVenv = Join-Path $Artifacts 'python-venv'
$Packages = Join-Path $Artifacts 'packages'
$Tfm = 'net10.0'

function Invoke-Native {
    param([Parameter(Mandatory)][string] $FilePath, [string[]] $ArgumentList = @())
    Write-Verbose "$FilePath $($ArgumentList -join ' ')"
    # To the host, not the pipeline: tasks return values, and native output must not mix into them.
    & $FilePath @ArgumentList | Out-Host
    if ($LASTEXITCODE -ne 0) {
        throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $LASTEXITCODE."
    }
}

function Get-ProjectOutput([string] $ProjectDir) {
    Join-Path $Root $ProjectDir 'bin' $Configuration $Tfm
}

# Copies a folder tree, skipping files whose size and time already match: the trainer's output carries libtorch
# (~600 MB), and a full copy on every build would dominate it.
function Sync-Directory([string] $Source, [string] $Destination) {
    if (-not (Test-Path $Source)) { throw "Build output '$Source' is missing." }
    $null = New-Item -ItemType Directory -Force -Path $Destination
    $sourceRoot = (Resolve-Path $Source).Path.TrimEnd('/', '\')
    foreach ($file in Get-ChildItem -Path $Source -Recurse -File) {
        $relative = $file.FullName.Substring($sourceRoot.Length + 1)
        $target = Join-Path $Destination $relative
        $existing = Get-Item -LiteralPath $target -ErrorAction Ignore
        if ($existing -and $existing.Length -eq $file.Length -and $existing.LastWriteTimeUtc -eq $file.LastWriteTimeUtc) { continue }
        $null = New-Item -ItemType Directory -Force -Path (Split-Path $target)
        # Copy beside, then rename over: an executable that a running supervisor or dashboard holds cannot be
        # overwritten in place ("Text file busy"), but its name can be replaced; the running one keeps its inode.
        $staging = "$target.new-$PID"
        Copy-Item -LiteralPath $file.FullName -Destination $staging -Force
        [IO.File]::Move($staging, $target, $true)
    }
}

# Makes $Destination hold exactly the files $Source holds (copied as by Sync-Directory): what a host folder held
# from an earlier build of another kind (a JIT build's assemblies beside a native executable) must not linger.
function Sync-DirectoryExact([string] $Source, [string] $Destination) {
    Sync-Directory $Source $Destination
    $sourceRoot = (Resolve-Path $Source).Path.TrimEnd('/', '\')
    $destinationRoot = (Resolve-Path $Destination).Path.TrimEnd('/', '\')
    foreach ($file in Get-ChildItem -Path $Destination -Recurse -File) {
        if (-not (Test-Path -LiteralPath (Join-Path $sourceRoot $file.FullName.Substring($destinationRoot.Length + 1)))) {
            Remove-Item -LiteralPath $file.FullName -Force
        }
    }
}

# The C toolchain that links a Native AOT executable: clang, else gcc; null when neither is on PATH.
function Get-NativeLinker { @('clang', 'gcc') | Where-Object { Get-Command $_ -CommandType Application -ErrorAction Ignore } | Select-Object -First 1 }

# The runtime identifier native builds target: this machine's (linux-x64 here).
function Get-NativeRid { [System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier }

# Where `dotnet publish -r <rid>` puts the native supervisor (also recorded in tests/Unit/Supervisor.Tests).
function Get-NativeSupervisorDir { Join-Path (Get-ProjectOutput 'src/Supervisor') (Get-NativeRid) 'publish' }

# Publishes the supervisor with Native AOT (issue #3: a JIT host idles at ~60 MB RSS, the native one under 20 MB).
# ILCompiler comes from NuGet at the version the SDK picks; linking needs clang or gcc. Returns the folder holding
# only the executable (the .dbg symbols and XML docs stay in the publish folder).
function Publish-NativeSupervisor {
    if (-not $IsLinux) {
        throw 'The native supervisor is built on Linux only (its process control is Linux-specific). Build with -JitSupervisor elsewhere.'
    }

    $linker = Get-NativeLinker
    if (-not $linker) {
        throw ("Native AOT needs a C toolchain to link the supervisor, and neither clang nor gcc is on PATH. " +
            "Install one (Debian/Ubuntu: 'sudo apt-get install clang zlib1g-dev'; .ci/run does this as root), " +
            "or build the framework-dependent supervisor with '-JitSupervisor'.")
    }

    $rid = Get-NativeRid
    Write-Host "== Publish native supervisor ($rid, Native AOT, linked with $linker)" -ForegroundColor Cyan
    Invoke-Native dotnet @('publish', (Join-Path $Root 'src/Supervisor/StabilityTools.Supervisor.csproj'), '-c', $Configuration, '-r', $rid,
        '--nologo', '-v', 'minimal', '-clp:ErrorsOnly;Summary')
    $published = Join-Path (Get-NativeSupervisorDir) 'stability-supervisor'
    if (-not (Test-Path -LiteralPath $published)) { throw "The native supervisor '$published' is missing after the publish." }
    $stage = Join-Path $Artifacts 'native/supervisor'
    Remove-Item -Recurse -Force -LiteralPath $stage -ErrorAction Ignore
    $null = New-Item -ItemType Directory -Force -Path $stage
    Copy-Item -LiteralPath $published -Destination $stage
    $stage
}

function Invoke-Build {
    Write-Host "== Build ($Configuration)" -ForegroundColor Cyan
    Invoke-Native dotnet @('build', (Join-Path $Root 'Engine.sln'), '-c', $Configuration, '--nologo', '-v', 'minimal', '-clp:ErrorsOnly;Summary')
    if (-not $JitSupervisor -and $IsLinux -and -not (Get-NativeLinker) -and $env:CI -ne 'true') {
        # The two commands must work on a machine with only the .NET SDK: without a C toolchain the module still
        # builds and runs, with the bigger JIT supervisor. CI installs clang (.ci/run) and insists on the native one.
        Write-Warning ("No C toolchain (clang or gcc) to link the native supervisor: shipping the framework-dependent one, which idles at " +
            "~60 MB RSS instead of ~15 MB. Install clang (Debian/Ubuntu: 'sudo apt-get install clang zlib1g-dev') and build again for the native one.")
        $script:JitSupervisor = [switch]::new($true)
    }
    elseif ($JitSupervisor) {
        Write-Warning 'Shipping the framework-dependent (JIT) supervisor (-JitSupervisor): it idles at ~60 MB RSS instead of under 20 MB.'
    }

    if ($JitSupervisor) {
        $supervisorDir = Get-ProjectOutput 'src/Supervisor'
    }
    else {
        $supervisorDir = Publish-NativeSupervisor
    }

    $null = New-Item -ItemType Directory -Force -Path $ModuleOut
    # The cmdlet assembly and what it needs (the engine); System.Management.Automation comes from pwsh itself.
    Sync-Directory (Get-ProjectOutput 'src/Cmdlets') $ModuleOut
    Get-ChildItem (Join-Path $Root 'module') -File | Copy-Item -Destination $ModuleOut -Force
    if (Test-Path (Join-Path $Root 'module/en-US')) {
        Sync-Directory (Join-Path $Root 'module/en-US') (Join-Path $ModuleOut 'en-US')
    }
    # The supervisor: the native executable alone (or the JIT build with -JitSupervisor), nothing left of the other.
    Sync-DirectoryExact $supervisorDir (Join-Path $ModuleOut 'hosts' 'supervisor')
    $hosts = @{ trainer = 'src/Trainer'; dashboard = 'src/Dashboard'; sweep = 'src/Sweep' }
    foreach ($name in $hosts.Keys) {
        Sync-Directory (Get-ProjectOutput $hosts[$name]) (Join-Path $ModuleOut 'hosts' $name)
    }
    Sync-Directory (Get-ProjectOutput 'bench') (Join-Path $Artifacts 'bench')
    Write-Host "Module: $ModuleOut"
    Install-PythonPackage
}

# The trainer package's identity; its version is always the module's (HostLocator looks for the module's own version).
$TrainerPackageName = 'StabilityTools.Trainer'
$TrainerPackageGuid = '0c6d2a8e-3f41-4b9a-8d27-6e5f1b9c4a73'

# Makes artifacts/packages/StabilityTools.<version>.nupkg and StabilityTools.Trainer.<version>.nupkg from the built
# module. The trainer (~480 MB for linux-x64, nearly all libtorch) is a package of its own, as TorchSharp keeps libtorch in separate
# runtime packages: a machine that runs only dashboards or -FilePath trainers installs the small module alone. Each
# package is staged in artifacts/pack/<name>/ (copied incrementally, like the build) and compressed with PSResourceGet's
# Compress-PSResource, so Install-PSResource gets exactly what Publish-PSResource would publish. Returns the packages.
function Invoke-PackModule {
    $manifest = Import-PowerShellDataFile -LiteralPath (Join-Path $ModuleOut 'StabilityTools.psd1')
    $version = $manifest.ModuleVersion
    $psData = $manifest.PrivateData.PSData
    $trainerHost = Join-Path $ModuleOut 'hosts' 'trainer'
    if (-not (Test-Path -LiteralPath (Join-Path $trainerHost 'stability-trainer.dll'))) {
        throw "The built trainer '$trainerHost' is missing: run build.ps1 Build first."
    }
    Write-Host "== Pack $version" -ForegroundColor Cyan
    $stage = Join-Path $Artifacts 'pack'
    $notices = @((Join-Path $Root 'LICENSE'), (Join-Path $Root 'THIRD-PARTY-NOTICES.md'))

    # The module: everything the build assembled except the trainer.
    $moduleStage = Join-Path $stage 'StabilityTools'
    $null = New-Item -ItemType Directory -Force -Path $moduleStage
    foreach ($item in Get-ChildItem -LiteralPath $ModuleOut -File) { Copy-Item -LiteralPath $item.FullName -Destination $moduleStage -Force }
    # Nothing an earlier build left there (a file since removed from the module) may ship.
    Get-ChildItem -LiteralPath $moduleStage -File | Where-Object { -not (Test-Path -LiteralPath (Join-Path $ModuleOut $_.Name)) } | Remove-Item -Force
    Sync-DirectoryExact (Join-Path $ModuleOut 'en-US') (Join-Path $moduleStage 'en-US')
    foreach ($name in 'supervisor', 'dashboard', 'sweep') {
        Sync-DirectoryExact (Join-Path $ModuleOut 'hosts' $name) (Join-Path $moduleStage 'hosts' $name)
    }
    Remove-Item -Recurse -Force -LiteralPath (Join-Path $moduleStage 'hosts' 'trainer') -ErrorAction Ignore
    $notices | Copy-Item -Destination $moduleStage -Force

    # The trainer: a manifest-only module (no commands) holding hosts/trainer, for linux-x64 only: TorchSharp's
    # runtimes/ for Windows and macOS (~45 MB of SkiaSharp and LibTorchSharp) are left out.
    $trainerStage = Join-Path $stage $TrainerPackageName
    $trainerHostStage = Join-Path $trainerStage 'hosts' 'trainer'
    Sync-DirectoryExact $trainerHost $trainerHostStage
    Get-ChildItem -LiteralPath (Join-Path $trainerHostStage 'runtimes') -Directory -ErrorAction Ignore |
        Where-Object Name -ne (Get-NativeRid) | Remove-Item -Recurse -Force
    $notices | Copy-Item -Destination $trainerStage -Force
    # libtorch's own licence (PyTorch's BSD-3-Clause and what it bundles), from the package it came in.
    [xml] $pins = Get-Content -LiteralPath (Join-Path $Root 'Directory.Packages.props') -Raw
    $libtorch = "libtorch-cpu-$(Get-NativeRid)"
    $libtorchVersion = $pins.SelectSingleNode("//PackageVersion[@Include='$libtorch']").Version
    $nugetPackages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $libtorchLicense = Join-Path $nugetPackages $libtorch $libtorchVersion 'LICENSE-LIBTORCH.txt'
    if (-not (Test-Path -LiteralPath $libtorchLicense)) { throw "libtorch's licence '$libtorchLicense' is missing: run build.ps1 Build (it restores $libtorch $libtorchVersion)." }
    Copy-Item -LiteralPath $libtorchLicense -Destination $trainerStage -Force
    $trainerManifest = Join-Path $trainerStage "$TrainerPackageName.psd1"
    $trainerNotes = "$version`: the built-in trainer of StabilityTools $version (TorchSharp $($pins.SelectSingleNode("//PackageVersion[@Include='TorchSharp']").Version), libtorch $libtorchVersion, CPU, $(Get-NativeRid))."
    New-ModuleManifest -Path $trainerManifest -ModuleVersion $version -Guid $TrainerPackageGuid -Author $manifest.Author `
        -CompanyName $manifest.CompanyName -Copyright $manifest.Copyright -PowerShellVersion $manifest.PowerShellVersion `
        -CompatiblePSEditions $manifest.CompatiblePSEditions `
        -Description ("The built-in trainer of the StabilityTools module (TorchSharp with libtorch, CPU, $(Get-NativeRid)). It has no commands: " +
            "StabilityTools $version finds it once it is installed, and runs it for Start-TrainingProcess without -FilePath.") `
        -FunctionsToExport @() -CmdletsToExport @() -AliasesToExport @() -VariablesToExport @() `
        -Tags ($psData.Tags + 'Trainer' | Select-Object -Unique) -ProjectUri $psData.ProjectUri -LicenseUri $psData.LicenseUri -ReleaseNotes $trainerNotes

    $null = New-Item -ItemType Directory -Force -Path $Packages
    $made = foreach ($folder in $moduleStage, $trainerStage) {
        $name = Split-Path $folder -Leaf
        # Test-ModuleManifest reports a problem as an error and still returns the module: fail on either.
        $problems = @()
        $checked = Test-ModuleManifest -Path (Join-Path $folder "$name.psd1") -ErrorAction SilentlyContinue -ErrorVariable problems
        if ($problems.Count -gt 0 -or -not $checked) { throw "Test-ModuleManifest '$name.psd1': $($problems -join '; ')" }
        $package = Join-Path $Packages "$name.$version.nupkg"
        Remove-Item -LiteralPath $package -ErrorAction Ignore
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Compress-PSResource -Path $folder -DestinationPath $Packages
        if (-not (Test-Path -LiteralPath $package)) { throw "Compress-PSResource made no '$package'." }
        $item = Get-Item -LiteralPath $package
        Write-Host ("{0}: {1:N1} MB in {2:N1} s" -f $item.Name, ($item.Length / 1MB), $clock.Elapsed.TotalSeconds)
        $item
    }
    $made
}

# The Python that makes the venv: $STABILITY_PYTHON, else the system's /usr/bin/python3 (Debian's, whose python3-venv,
# -setuptools, -wheel and -pytest packages the venv sees), else python3 on PATH. Null when there is none.
function Get-SystemPython {
    if ($env:STABILITY_PYTHON) { return $env:STABILITY_PYTHON }
    if (Test-Path -LiteralPath '/usr/bin/python3') { return '/usr/bin/python3' }
    (Get-Command python3 -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
}

function Get-VenvPython { Join-Path $PythonVenv 'bin/python' }

# Makes artifacts/python-venv (once; again when it no longer starts) and installs python/ into it, offline: the venv sees
# the system's packages, which give the build backend (setuptools, wheel) and pytest, so nothing is downloaded. The
# package is reinstalled on every build, so the venv always holds the sources as they are.
function Install-PythonPackage {
    $python = Get-SystemPython
    $problem = $null
    if (-not $python) {
        $problem = 'no python3 found'
    }
    else {
        $venvPython = Get-VenvPython
        $healthy = (Test-Path -LiteralPath $venvPython) -and $(& $venvPython -c 'import pip' 2>$null; $LASTEXITCODE -eq 0)
        if (-not $healthy) {
            Write-Host "== Python venv ($PythonVenv, from $python)" -ForegroundColor Cyan
            Remove-Item -Recurse -Force -LiteralPath $PythonVenv -ErrorAction Ignore
            & $python -m venv --system-site-packages $PythonVenv 2>&1 | Out-Host
            if ($LASTEXITCODE -ne 0) { $problem = "'$python -m venv' failed (exit code $LASTEXITCODE)" }
        }
        if (-not $problem) {
            Write-Host '== Python package (python/ into the venv, offline)' -ForegroundColor Cyan
            # From a fresh copy: setuptools builds in the source folder and never removes what an earlier build left
            # there (a module since renamed would be installed again), and the checkout stays free of build output.
            $stage = Join-Path $Artifacts 'python-build'
            Remove-Item -Recurse -Force -LiteralPath $stage -ErrorAction Ignore
            Copy-Item -Recurse -LiteralPath (Join-Path $Root 'python') -Destination $stage
            Get-ChildItem -LiteralPath $stage -Recurse -Directory -Include 'build', '*.egg-info', '__pycache__', '.pytest_cache' |
                Remove-Item -Recurse -Force -ErrorAction Ignore
            & $venvPython -m pip install --no-index --no-build-isolation --no-deps --force-reinstall --quiet --disable-pip-version-check $stage 2>&1 | Out-Host
            if ($LASTEXITCODE -ne 0) { $problem = "'pip install ./python' failed (exit code $LASTEXITCODE)" }
        }
    }
    if ($problem) {
        $message = "The Python package could not be installed: $problem. Install Debian's python3-venv, python3-setuptools, " +
            "python3-wheel and python3-pytest ('sudo apt-get install python3-venv python3-setuptools python3-wheel python3-pytest'; " +
            ".ci/run does this as root) and build again; until then the pytest suite and the Python trainer tests are skipped."
        if ($env:CI -eq 'true') { throw $message }
        Write-Warning $message
        Remove-Item -Recurse -Force -LiteralPath $PythonVenv -ErrorAction Ignore
    }
}

# Counts the results of one TRX file by outcome.
function Read-TrxCounts([string] $Path) {
    [xml] $trx = Get-Content -LiteralPath $Path -Raw
    $counts = @{ Passed = 0; Failed = 0; Skipped = 0 }
    foreach ($result in $trx.SelectNodes("//*[local-name()='UnitTestResult']")) {
        switch ($result.GetAttribute('outcome')) {
            'Passed' { $counts.Passed++ }
            'NotExecuted' { $counts.Skipped++ }
            'Inconclusive' { $counts.Skipped++ }
            default { $counts.Failed++ }
        }
    }
    $counts
}

function Invoke-UnitTests {
    $projects = Get-ChildItem (Join-Path $Root 'tests/Unit') -Recurse -Filter '*.Tests.csproj' | Sort-Object Name
    if ($Project) {
        $projects = $projects | Where-Object { $n = $_.BaseName -replace '^StabilityTools\.|\.Tests$'; $Project -contains $n }
    }
    $total = @{ Passed = 0; Failed = 0; Skipped = 0; Errors = 0 }
    foreach ($p in $projects) {
        $name = $p.BaseName
        $trx = Join-Path $TestResults "$name.trx"
        Remove-Item -LiteralPath $trx -ErrorAction Ignore
        Write-Host "== xunit: $name" -ForegroundColor Cyan
        # The supervisor tests run what ships: the native supervisor, unless the build made the JIT one (-JitSupervisor).
        $env:STABILITY_TEST_SUPERVISOR = if ($JitSupervisor) { 'jit' } else { 'native' }
        # One project at a time: the integration tests start real processes and this machine has two cores.
        $arguments = @('test', $p.FullName, '-c', $Configuration, '--no-build', '--nologo',
            '--logger', "trx;LogFileName=$trx", '--logger', 'console;verbosity=normal', '--results-directory', $TestResults)
        if ($Filter) { $arguments += @('--filter', $Filter) }
        & dotnet @arguments | Out-Host
        $exit = $LASTEXITCODE
        if (Test-Path $trx) {
            $c = Read-TrxCounts $trx
            $total.Passed += $c.Passed; $total.Failed += $c.Failed; $total.Skipped += $c.Skipped
            Write-Host ("   {0}: {1} passed, {2} failed, {3} skipped" -f $name, $c.Passed, $c.Failed, $c.Skipped)
            if ($exit -ne 0 -and $c.Failed -eq 0) { $total.Errors++; Write-Warning "$name exited with $exit although no test failed." }
        }
        else {
            # The test host crashed or never started: that is a failure, not an empty run.
            $total.Errors++
            Write-Warning "$name produced no results (exit code $exit)."
        }
    }
    $total
}

# Runs the Python package's pytest suite in the venv the build made, counting its results from pytest's JUnit XML.
function Invoke-PythonTests {
    $none = @{ Passed = 0; Failed = 0; Skipped = 0; Errors = 0 }
    $venvPython = Get-VenvPython
    if (-not (Test-Path -LiteralPath $venvPython)) {
        # Install-PythonPackage said why (and, under CI, failed the build).
        Write-Warning 'pytest was not run: the Python venv is missing (see the build warning above).'
        return $none
    }
    $xml = Join-Path $TestResults 'pytest.xml'
    Remove-Item -LiteralPath $xml -ErrorAction Ignore
    Write-Host '== pytest: python/tests' -ForegroundColor Cyan
    # The tests import the installed package (conftest falls back to python/src only when it is not installed).
    & $venvPython -m pytest (Join-Path $Root 'python/tests') -p no:cacheprovider -rs "--junitxml=$xml" -o junit_family=xunit2 | Out-Host
    $exit = $LASTEXITCODE
    if (-not (Test-Path -LiteralPath $xml)) {
        Write-Warning "pytest produced no results (exit code $exit)."
        return @{ Passed = 0; Failed = 0; Skipped = 0; Errors = 1 }
    }
    [xml] $report = Get-Content -LiteralPath $xml -Raw
    $counts = @{ Passed = 0; Failed = 0; Skipped = 0; Errors = 0 }
    foreach ($suite in $report.SelectNodes('//testsuite')) {
        $tests = [int]$suite.tests; $failed = [int]$suite.failures + [int]$suite.errors; $skipped = [int]$suite.skipped
        $counts.Passed += $tests - $failed - $skipped; $counts.Failed += $failed; $counts.Skipped += $skipped
    }
    Write-Host ("   pytest: {0} passed, {1} failed, {2} skipped" -f $counts.Passed, $counts.Failed, $counts.Skipped)
    if ($exit -ne 0 -and $counts.Failed -eq 0) { $counts.Errors++; Write-Warning "pytest exited with $exit although no test failed." }
    $counts
}

# Runs the Pester files under $Path (a folder or one file) in a fresh pwsh against the built module.
function Invoke-PesterTests([string] $Path = (Join-Path $Root 'tests/Pester')) {
    $pesterResult = Join-Path $TestResults 'pester.json'
    Remove-Item -LiteralPath $pesterResult -ErrorAction Ignore
    Invoke-Native dotnet @('restore', (Join-Path $Root 'tests/Pester/Pester.Dependencies.csproj'), '--nologo', '-v', 'quiet')
    Write-Host '== Pester' -ForegroundColor Cyan
    $env:STABILITY_TEST_MODULE = Join-Path $ModuleOut 'StabilityTools.psd1'
    $pwsh = Join-Path $PSHOME 'pwsh.dll'
    # A fresh session with no profile: the suite sees the module exactly as a user who imports it would.
    & dotnet $pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'tests/Pester/Invoke-PesterSuite.ps1') -ResultPath $pesterResult -Path $Path | Out-Host
    $exit = $LASTEXITCODE
    if (-not (Test-Path $pesterResult)) {
        Write-Warning "Pester produced no results (exit code $exit)."
        return @{ Passed = 0; Failed = 0; Skipped = 0; Errors = 1 }
    }
    $r = Get-Content -LiteralPath $pesterResult -Raw | ConvertFrom-Json
    @{ Passed = [int]$r.passed; Failed = [int]$r.failed; Skipped = [int]$r.skipped; Errors = [int]$r.errors }
}

# The test project names -Project accepts: the xunit projects under tests/Unit by short name, and Python.
function Get-TestProjectName {
    Get-ChildItem (Join-Path $Root 'tests/Unit') -Recurse -Filter '*.Tests.csproj' | ForEach-Object { $_.BaseName -replace '^StabilityTools\.|\.Tests$' }
    'Python'
}

function Invoke-Test {
    if ($Project) {
        # `pwsh -File build.ps1 -Project Engine,Python` passes one string: split it, and refuse a name that matches no
        # project rather than run nothing and report success.
        $script:Project = @($Project -split ',' | ForEach-Object Trim | Where-Object { $_ })
        $known = @(Get-TestProjectName)
        $unknown = @($Project | Where-Object { $known -notcontains $_ })
        if ($unknown) { throw "No test project named $($unknown -join ', '): -Project takes $($known -join ', ')." }
    }
    Invoke-Build
    # The packaging tests (tests/Pester/Packaging.Tests.ps1) install what Pack makes from this build.
    if (-not $SkipPester) { $null = Invoke-PackModule; Invoke-PackReporting }
    $null = New-Item -ItemType Directory -Force -Path $TestResults
    $none = @{ Passed = 0; Failed = 0; Skipped = 0; Errors = 0 }
    # -Project names test projects: xunit ones and 'Python'; without it every one runs.
    $unit = if ($SkipUnit -or ($Project -and -not ($Project | Where-Object { $_ -ne 'Python' }))) { $none } else { Invoke-UnitTests }
    $python = if ($SkipPython -or ($Project -and $Project -notcontains 'Python')) { $none } else { Invoke-PythonTests }
    $pester = if ($SkipPester) { $none } else { Invoke-PesterTests }
    $passed = $unit.Passed + $python.Passed + $pester.Passed
    $failed = $unit.Failed + $python.Failed + $pester.Failed
    $skipped = $unit.Skipped + $python.Skipped + $pester.Skipped
    $errors = $unit.Errors + $python.Errors + $pester.Errors
    Write-Host ''
    Write-Host ("xunit: {0} passed, {1} failed, {2} skipped; pytest: {3} passed, {4} failed, {5} skipped; Pester: {6} passed, {7} failed, {8} skipped" -f `
            $unit.Passed, $unit.Failed, $unit.Skipped, $python.Passed, $python.Failed, $python.Skipped, $pester.Passed, $pester.Failed, $pester.Skipped)
    if ($errors -gt 0) {
        Write-Host "$errors test run(s) ended without results or with an error outside the tests." -ForegroundColor Red
    }
    # The one closing line CI reads: keep it last.
    Write-Host ("{0} passed, {1} failed, {2} skipped" -f $passed, ($failed + $errors), $skipped)
    if ($failed + $errors -gt 0) { exit 1 }
}

function Invoke-Chaos {
    Invoke-Build
    $null = New-Item -ItemType Directory -Force -Path $TestResults
    $figures = Join-Path $TestResults 'chaos-figures.json'
    Remove-Item -LiteralPath $figures -ErrorAction Ignore
    # The suite reads its size and where to record its figures from the environment its fresh pwsh inherits.
    $env:STABILITY_CHAOS = 'long'
    $env:STABILITY_CHAOS_FIGURES = $figures
    $clock = [Diagnostics.Stopwatch]::StartNew()
    try { $r = Invoke-PesterTests (Join-Path $Root 'tests/Pester/Chaos.Tests.ps1') }
    finally { Remove-Item Env:STABILITY_CHAOS, Env:STABILITY_CHAOS_FIGURES -ErrorAction Ignore }
    $minutes = $clock.Elapsed.TotalMinutes
    Write-Host ''
    if ($r.Failed + $r.Errors -eq 0 -and (Test-Path $figures)) {
        $record = Get-Content -LiteralPath $figures -Raw | ConvertFrom-Json -AsHashtable
        & (Join-Path $Root 'tests/Pester/Write-ChaosRecord.ps1') -Figures $record -Minutes $minutes -Passed $r.Passed -Skipped $r.Skipped `
            -Path (Join-Path $Root 'docs/RELIABILITY.md')
        Write-Host "Figures recorded in docs/RELIABILITY.md (chaos:long section)."
    }
    else {
        Write-Host 'Not recorded in docs/RELIABILITY.md: only a run where every test passed is.' -ForegroundColor Yellow
    }
    Write-Host ("{0} passed, {1} failed, {2} skipped" -f $r.Passed, ($r.Failed + $r.Errors), $r.Skipped)
    if ($r.Failed + $r.Errors -gt 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Build
    & (Join-Path $Root 'examples/Start-Demo.ps1') -ModulePath (Join-Path $ModuleOut 'StabilityTools.psd1')
    if (-not $?) { exit 1 }
}

function Invoke-Bench {
    Invoke-Build
    & (Join-Path $Root 'bench/Invoke-Bench.ps1') -BenchDll (Join-Path $Artifacts 'bench/stability-bench.dll') -Suite $Suite
    if (-not $?) { exit 1 }
}

function Invoke-Clean {
    Remove-Item -Recurse -Force -LiteralPath $Artifacts -ErrorAction Ignore
    Get-ChildItem $Root -Recurse -Directory -Include 'bin', 'obj' |
        Where-Object { $_.FullName -notmatch '[\\/]node_modules[\\/]' } |
        Remove-Item -Recurse -Force -ErrorAction Ignore
}

# StabilityTools.Reporting and its TorchSharp adapter as .nupkg files in artifacts/packages (the version is the
# assemblies', which Directory.Build.props reads from the module manifest: the one place versions live). Reporting carries the engine's assembly (the engine is
# no package of its own), its XML docs and src/Reporting/README.md; the adapter depends on it and on TorchSharp.
function Invoke-PackReporting {
    $null = New-Item -ItemType Directory -Force -Path $Packages
    foreach ($project in 'src/Reporting/StabilityTools.Reporting.csproj', 'src/Reporting.TorchSharp/StabilityTools.Reporting.TorchSharp.csproj') {
        Write-Host "== Pack $project ($Configuration) -> $Packages" -ForegroundColor Cyan
        Invoke-Native dotnet @('pack', (Join-Path $Root $project), '-c', $Configuration, '-o', $Packages, '--nologo', '-v', 'minimal', '-clp:ErrorsOnly;Summary')
    }
    Get-ChildItem -LiteralPath $Packages -Filter 'StabilityTools.Reporting*.nupkg' | ForEach-Object { Write-Host "Package: $($_.FullName)" }
}

foreach ($t in $Task) {
    switch ($t) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Pack' { Invoke-Build; $null = Invoke-PackModule; Invoke-PackReporting }
        'Demo' { Invoke-Demo }
        'Bench' { Invoke-Bench }
        'Chaos' { Invoke-Chaos }
        'Clean' { Invoke-Clean }
    }
}
