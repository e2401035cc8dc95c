namespace StabilityTools.Engine.Services;

/// <summary>A launched supervisor, as far as its launcher can see it.</summary>
/// <param name="Pid">The supervisor's pid, when the launcher knows it (local launches).</param>
/// <param name="Exited">Completes with the launched process's exit code when it ends; never, when the launcher cannot observe it.</param>
/// <param name="Diagnostics">What the supervisor said before it detached (its stderr), for error messages.</param>
/// <param name="Release">Frees what the launcher holds for watching (pipes, handles); the supervisor keeps running.</param>
public sealed record SupervisorLaunch(int? Pid, Task<int> Exited, Func<string> Diagnostics, Action Release) : IDisposable
{
    /// <inheritdoc />
    public void Dispose() => Release();

    /// <summary>The scheduler's job id, when the supervisor runs as a cluster job (it starts when the scheduler says).</summary>
    public string? JobId { get; init; }
}
