using System.Diagnostics;
using System.Text;

namespace StabilityTools.Engine.Services.Slurm;

/// <summary>What a finished command said.</summary>
/// <param name="ExitCode">Its exit code; -1 when it was killed at the timeout.</param>
/// <param name="Stdout">Its standard output.</param>
/// <param name="Stderr">Its standard error.</param>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>True when it exited with 0.</summary>
    public bool Succeeded => ExitCode == 0;

    /// <summary>What it said, for an error message: stderr, else stdout, trimmed.</summary>
    public string Said => (Stderr.Trim().Length > 0 ? Stderr : Stdout).Trim();
}

/// <summary>Runs a program to its end (the seam that lets the Slurm client be tested without a cluster).</summary>
public interface ICommandRunner
{
    /// <summary>Runs <paramref name="program"/> with <paramref name="arguments"/> (no shell) and waits at most <paramref name="timeout"/>.</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started.</exception>
    CommandResult Run(string program, IReadOnlyList<string> arguments, TimeSpan timeout);
}

/// <summary>Runs commands as child processes, stdin closed, stdout and stderr collected.</summary>
public sealed class ProcessCommandRunner : ICommandRunner
{
    /// <summary>The shared instance.</summary>
    public static ProcessCommandRunner Instance { get; } = new();

    /// <inheritdoc />
    public CommandResult Run(string program, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start.");
        process.StandardInput.Close();
        var stderr = new StringBuilder();
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
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended meanwhile.
            }

            process.WaitForExit();
            lock (stderr)
            {
                return new CommandResult(-1, stdout.IsCompleted ? stdout.Result : "", $"{stderr}{program} did not finish within {timeout.TotalSeconds:0.#} s.");
            }
        }

        process.WaitForExit();
        lock (stderr)
        {
            return new CommandResult(process.ExitCode, stdout.Result, stderr.ToString());
        }
    }
}
