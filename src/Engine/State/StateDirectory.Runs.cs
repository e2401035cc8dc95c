using System.Globalization;
using System.Text.RegularExpressions;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Platform;

namespace StabilityTools.Engine.State;

// Training runs: runs/<run_id>/, one folder per run (issue #17). The layout before it (the trainer's documents in data/,
// checkpoints in models/<run>/) is moved here by LayoutMigration on first use.
public sealed partial class StateDirectory
{
    /// <summary><c>runs/</c>.</summary>
    public string RunsDirectory => Path.Combine(Root, "runs");

    /// <summary>The files of run <paramref name="runId"/>.</summary>
    /// <exception cref="ArgumentException">The id is not a valid run id.</exception>
    public RunPaths Run(string runId) => DelegatedRun is { } run ? RequireDelegated(run, runId) : new(ValidateRunId(runId), Path.Combine(RunsDirectory, runId));

    /// <summary>Creates the run's folder (owner-only) and returns its files.</summary>
    /// <exception cref="StateDirectoryException">The folder cannot be created.</exception>
    public RunPaths EnsureRun(string runId)
    {
        var run = Run(runId);
        if (DelegatedRun is not null)
        {
            // Handed over by the supervisor, which created it: nothing above it can be reached from here.
            return run;
        }

        CreateChecked(RunsDirectory);
        CreateChecked(run.Directory);
        // A run's files are opened by path: a link in place of its folder would take every write elsewhere.
        if (FileStatus.TryLstat(run.Directory, out var folder) && folder.IsSymbolicLink)
        {
            throw new StateDirectoryException(Root,
                $"The run folder '{run.Directory}' is a symbolic link; the product keeps a run's files only in a real folder. Remove the link (and find out who made it), then start again.",
                errorId: StateDirectoryException.UntrustedErrorId);
        }

        return run;
    }

    /// <summary>
    /// Moves a directory of the layout before runs (the trainer's documents in <c>data/</c>, checkpoints in <c>models/</c>)
    /// to <c>runs/&lt;run_id&gt;/</c>; nothing when it is not one. <see cref="Open"/> does it too; a reader that only
    /// locates the directory calls this before reading, so nothing is ever read half in one layout and half in the other.
    /// </summary>
    /// <exception cref="StateDirectoryException">A trainer of the earlier version still writes there, or the move failed; the message says what to do.</exception>
    public StateDirectory MigrateLayoutIfNeeded()
    {
        if (Exists)
        {
            LayoutMigration.MigrateIfNeeded(this);
        }

        return this;
    }

    /// <summary>The ids of the runs that have a folder here, sorted.</summary>
    public IReadOnlyList<string> ListRunIds()
    {
        if (DelegatedRun is { } delegated)
        {
            return [delegated.RunId];
        }

        if (!Directory.Exists(RunsDirectory))
        {
            return [];
        }

        return Directory.EnumerateDirectories(RunsDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(IsValidRunId)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>True when <paramref name="runId"/> is a valid run id: 1–64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit.</summary>
    public static bool IsValidRunId(string? runId) => runId is not null && RunIdPattern().IsMatch(runId);

    /// <summary>Returns <paramref name="runId"/> when valid.</summary>
    /// <exception cref="ArgumentException">The id is not valid; the message says what is allowed.</exception>
    public static string ValidateRunId(string runId) => IsValidRunId(runId)
        ? runId
        : throw new ArgumentException(
            $"'{runId}' is not a valid run id: use 1 to 64 characters of letters, digits, '.', '_' and '-', starting with a letter or digit.",
            nameof(runId));

    /// <summary>
    /// A new run id: the UTC start time and a random suffix, <c>20261129-214501-3fa9c2</c>, so ids sort by start
    /// time and two starts in one second (a sweep, eight trainers at once) never collide.
    /// </summary>
    public static string NewRunId(DateTimeOffset now) =>
        now.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Random.Shared.Next(0, 1 << 24).ToString("x6", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\z", RegexOptions.CultureInvariant)]
    private static partial Regex RunIdPattern();
}
