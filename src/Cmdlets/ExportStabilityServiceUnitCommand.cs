using System.Management.Automation;
using StabilityTools.Engine.Deployment;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>
/// <para type="synopsis">Writes a systemd unit that runs a service's supervisor at boot.</para>
/// <para type="description">Reads the service's spec from the state directory (start the service once first) and writes
/// stability-NAME.service to -Path. systemd then starts the supervisor at boot and restarts it should it die; the
/// supervisor restarts, limits and logs the service as usual.</para>
/// </summary>
[Cmdlet(VerbsData.Export, "StabilityServiceUnit", SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportStabilityServiceUnitCommand : StabilityCmdlet
{
    /// <summary>The services to export.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(ServiceNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = [];

    /// <summary>The folder to write the unit files to. Default: the current location.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = ".";

    /// <summary>The user the unit runs the supervisor as (systemd's User=). Default: none (root for a system unit).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? User { get; set; }

    /// <summary>Overwrite an existing unit file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var folder = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        foreach (var name in Name)
        {
            try
            {
                var state = LocateStateDirectory();
                var file = System.IO.Path.Combine(folder, SystemdUnit.FileName(name));
                var text = SystemdUnit.Render(state, name, HostLocator.Find("supervisor"), User);
                if (File.Exists(file) && !Force)
                {
                    WriteError(new ErrorRecord(new IOException($"'{file}' exists. Use -Force to overwrite it."), "UnitFileExists", ErrorCategory.ResourceExists, file));
                    continue;
                }

                if (ShouldProcess(file, $"Write the systemd unit of service '{name}'"))
                {
                    Directory.CreateDirectory(folder);
                    WriteUnit(file, text);
                    WriteVerbose($"Wrote {file}: install it with 'systemctl enable --now {SystemdUnit.FileName(name)}'.");
                    WriteObject(new FileInfo(file));
                }
            }
            catch (Exception ex) when (ex is Engine.Errors.StabilityException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                WriteStabilityError(ex, name);
            }
        }
    }

    // Never through a link (a planted /etc/systemd/system/x.service -> /etc/shadow): a new temporary file, created
    // exclusively, renamed over the name. Units are world-readable (0644) like every unit systemd ships.
    private static void WriteUnit(string file, string text)
    {
        var temporary = Engine.Platform.SafeFile.TemporaryName(file);
        try
        {
            using (var stream = Engine.Platform.SafeFile.Open(temporary, Engine.Platform.SafeFileMode.CreateNew, FileAccess.Write))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(text));
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            File.Move(temporary, file, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
