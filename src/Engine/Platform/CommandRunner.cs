using System.Diagnostics;

namespace StabilityTools.Engine.Platform;

/// <summary>What a finished command said.</summary>
/// <param name="ExitCode">Its exit code; -1 when it was killed at the timeout.</param>
/// <param name="Stdout">Its standard output.</param>
/// <param name="Stderr">Its standard error.</param>
/// <param name="TimedOut">True when it did not finish in time and was killed.</param>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr, bool TimedOut = false)
{
    /// <summary>True when it exited with 0.</summary>
    public bool Succeeded => ExitCode == 0 && !TimedOut;

    /// <summary>What it said, for an error message: stderr, else stdout, trimmed.</summary>
    public string Said => (Stderr.Trim().Length > 0 ? Stderr : Stdout).Trim();
}

/// <summary>Runs a program to its end: the seam that lets callers of command-line tools (Slurm, nvidia-smi) be tested without them.</summary>
public interface ICommandRunner
{
    /// <summary>Runs <paramref name="program"/> with <paramref name="arguments"/> (no shell) and waits at most <paramref name="timeout"/>.</summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The program could not be started.</exception>
    CommandResult Run(string program, IReadOnlyList<string> arguments, TimeSpan timeout);
}

/// <summary>Runs commands as child processes: stdin closed, stdout and stderr collected, the whole tree killed at the timeout.</summary>
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

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
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
            return new CommandResult(-1, stdout.Result, $"{stderr.Result}{program} did not finish within {timeout.TotalSeconds:0.#} s.", TimedOut: true);
        }

        // The parameterless wait also waits for the redirected streams to reach their end.
        process.WaitForExit();
        return new CommandResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
