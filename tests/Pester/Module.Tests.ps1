# The module as a user meets it: it imports as-is from the build output, exports exactly what the manifest
# lists, and reads a state directory the way every reader does (states, never crashes).
BeforeAll {
    # A training service whose status names run r1, and that run's folder (returned): the documents the inspector reports.
    function script:New-ServiceRun([string] $Root) {
        $service = New-Item -ItemType Directory -Path (Join-Path $Root 'services/training') -Force
        Set-Content -LiteralPath (Join-Path $service 'status.json') -Value ('{"schema":"process_status/1","seq":1,"written_at":"' + [DateTimeOffset]::UtcNow.ToString('o') + '","writer":{"pid":1,"host":"h"},"name":"training","run_id":"r1"}')
        (New-Item -ItemType Directory -Path (Join-Path $Root 'runs/r1') -Force).FullName
    }
    Import-Module $env:STABILITY_TEST_MODULE -Force
    $script:manifest = Import-PowerShellDataFile $env:STABILITY_TEST_MODULE
}

Describe 'The built module' {
    It 'imports from the build output and exports exactly the cmdlets its manifest lists' {
        $exported = (Get-Module StabilityTools).ExportedCmdlets.Keys | Sort-Object
        $exported | Should -Be ($manifest.CmdletsToExport | Sort-Object)
    }

    It 'carries the engine next to the cmdlets and no copy of System.Management.Automation' {
        $dir = Split-Path $env:STABILITY_TEST_MODULE
        Join-Path $dir 'StabilityTools.Engine.dll' | Should -Exist
        Join-Path $dir 'System.Management.Automation.dll' | Should -Not -Exist
    }

    It 'has a manifest that Test-ModuleManifest accepts' {
        { Test-ModuleManifest $env:STABILITY_TEST_MODULE -ErrorAction Stop } | Should -Not -Throw
    }
}

Describe 'Get-StabilityStateDirectory' {
    BeforeEach {
        $script:state = Join-Path ([IO.Path]::GetTempPath()) ("st-pester-" + [guid]::NewGuid().ToString('N').Substring(0, 12))
    }
    AfterEach {
        Remove-Item -Recurse -Force $state -ErrorAction Ignore
    }

    It 'reports a state directory that does not exist without creating it' {
        $report = Get-StabilityStateDirectory -StateDirectory $state
        $report.Exists | Should -BeFalse
        $state | Should -Not -Exist
    }

    It 'resolves the state directory from STABILITY_HOME when no parameter is given' {
        $old = $env:STABILITY_HOME
        try {
            $env:STABILITY_HOME = $state
            (Get-StabilityStateDirectory).Root | Should -Be ([IO.Path]::GetFullPath($state))
        }
        finally { $env:STABILITY_HOME = $old }
    }

    It 'reports a corrupt and a missing document of a service''s run as states, not errors' {
        $run = New-ServiceRun $state
        Set-Content -LiteralPath (Join-Path $run 'training_status.json') -Value '{"schema":"training_status/1","seq":'
        $report = Get-StabilityStateDirectory -StateDirectory $state -ErrorAction Stop
        $report.Exists | Should -BeTrue
        ($report.Documents | Where-Object Name -eq 'runs/r1/training_status.json').State | Should -Be 'Corrupt'
        ($report.Documents | Where-Object Name -eq 'runs/r1/model_metrics.json').State | Should -Be 'Missing'
    }

    It 'reports a document of another schema as corrupt, naming the schema it found' {
        $run = New-ServiceRun $state
        Set-Content -LiteralPath (Join-Path $run 'model_metrics.json') -Value '{"schema":"training_status/1","seq":3,"written_at":"2026-01-01T00:00:00Z"}'
        $doc = (Get-StabilityStateDirectory -StateDirectory $state).Documents | Where-Object Name -eq 'runs/r1/model_metrics.json'
        $doc.State | Should -Be 'Corrupt'
        $doc.Error | Should -Match "training_status/1"
    }

    It 'reports an old document as stale when asked for a staleness bound' {
        $run = New-ServiceRun $state
        Set-Content -LiteralPath (Join-Path $run 'model_metrics.json') -Value '{"schema":"model_metrics/1","seq":7,"written_at":"2026-01-01T00:00:00Z","writer":{"pid":42,"host":"h"}}'
        $doc = (Get-StabilityStateDirectory -StateDirectory $state -StaleAfterSeconds 60).Documents | Where-Object Name -eq 'runs/r1/model_metrics.json'
        $doc.State | Should -Be 'Stale'
        $doc.Seq | Should -Be 7
        $doc.WriterPid | Should -Be 42
    }

    It 'rejects a staleness bound out of range with a stable error id' {
        { Get-StabilityStateDirectory -StateDirectory $state -StaleAfterSeconds 0 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,StabilityTools.Cmdlets.GetStabilityStateDirectoryCommand'
    }
}

Describe '-Verbose' {
    It 'says which state directory a cmdlet uses and where it came from' {
        $state = Join-Path ([IO.Path]::GetTempPath()) ("st-pester-v-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $verbose = Get-ProcessStatus -StateDirectory $state -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose | Out-String) | Should -Match ([regex]::Escape("State directory: $state (-StateDirectory, does not exist yet)"))
    }
}
