using StabilityTools.Engine.Errors;

namespace StabilityTools.Engine.State;

// Sweeps (issue #20): a sweep's plan and progress live in sweeps/<name>/, beside the services its controller starts.
public sealed partial class StateDirectory
{
    /// <summary><c>sweeps/</c>.</summary>
    public string SweepsDirectory => Path.Combine(Root, "sweeps");

    /// <summary><c>sweeps/&lt;name&gt;/</c> (the name validated as a service name: the controller's service is named after it).</summary>
    public string SweepDirectory(string name) => Path.Combine(SweepsDirectory, ValidateServiceName(name));

    /// <summary><c>sweeps/&lt;name&gt;/plan.json</c>: what the sweep runs, written once.</summary>
    public string SweepPlanPath(string name) => Path.Combine(SweepDirectory(name), "plan.json");

    /// <summary><c>sweeps/&lt;name&gt;/progress.json</c>: every trial's state, written by the controller.</summary>
    public string SweepProgressPath(string name) => Path.Combine(SweepDirectory(name), "progress.json");

    /// <summary>Creates <c>sweeps/&lt;name&gt;/</c> owner-only and returns it.</summary>
    /// <exception cref="StateDirectoryException">It cannot be created, or a link stands in its place.</exception>
    public string EnsureSweepDirectory(string name)
    {
        var dir = SweepDirectory(name);
        CreateChecked(SweepsDirectory);
        CreateChecked(dir);
        if (Platform.FileStatus.TryLstat(dir, out var folder) && folder.IsSymbolicLink)
        {
            throw new StateDirectoryException(Root,
                $"The sweep folder '{dir}' is a symbolic link; the product keeps a sweep's files only in a real folder. Remove the link (and find out who made it), then start again.",
                errorId: StateDirectoryException.UntrustedErrorId);
        }

        return dir;
    }

    /// <summary>The names of the sweeps that have a plan here, sorted.</summary>
    public IReadOnlyList<string> ListSweeps() =>
        !Directory.Exists(SweepsDirectory)
            ? []
            : Directory.EnumerateDirectories(SweepsDirectory).Select(Path.GetFileName).OfType<string>()
                .Where(n => IsValidServiceName(n) && File.Exists(Path.Combine(SweepsDirectory, n, "plan.json")))
                .Order(StringComparer.Ordinal).ToList();
}
