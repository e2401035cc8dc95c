using System.Diagnostics;
using System.Text;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.State;

namespace StabilityTools.Engine.Services;

/// <summary>
/// Starts the supervisor as a local process: <c>stability-supervisor --state-dir DIR --service NAME</c> (native), or
/// <c>dotnet stability-supervisor.dll …</c> (framework-dependent).
/// The supervisor detaches itself (new session, standard streams on <c>/dev/null</c>) once it is set up, so it
/// survives its caller; until then its stderr is collected for error messages.
/// </summary>
public sealed class LocalLauncher : IServiceLauncher
{
    private readonly string? _supervisorPath;

    /// <summary>Creates a launcher for the supervisor at <paramref name="supervisorPath"/> (default: <see cref="HostLocator.Find"/>).</summary>
    public LocalLauncher(string? supervisorPath = null) => _supervisorPath = supervisorPath is null ? null : Path.GetFullPath(supervisorPath);

    /// <inheritdoc />
    public Task<SupervisorLaunch> LaunchAsync(StateDirectory state, string service, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var (program, leading) = HostLocator.CommandFor(_supervisorPath ?? HostLocator.Find("supervisor"));
        var info = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = state.Root,
        };
        foreach (var argument in leading)
        {
            info.ArgumentList.Add(argument);
        }

        info.ArgumentList.Add("--state-dir");
        info.ArgumentList.Add(state.Root);
        info.ArgumentList.Add("--service");
        info.ArgumentList.Add(service);

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("Process.Start returned null.");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new ServiceStartException(service, $"its supervisor could not be launched ({program}: {ex.Message}).", null, ex);
        }

        process.StandardInput.Close();
        var stderr = new StringBuilder();
        var exited = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        process.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None)
            .ContinueWith(_ => { }, TaskScheduler.Default);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => exited.TrySetResult(SafeExitCode(process));
        if (process.HasExited)
        {
            exited.TrySetResult(SafeExitCode(process));
        }

        string Diagnostics()
        {
            lock (stderr)
            {
                return stderr.ToString();
            }
        }

        return Task.FromResult(new SupervisorLaunch(process.Id, exited.Task, Diagnostics, process.Dispose));
    }

    private static int SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            return -1;
        }
    }
}
