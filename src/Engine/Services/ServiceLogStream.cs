namespace StabilityTools.Engine.Services;

/// <summary>Which log of a service to read.</summary>
public enum ServiceLogStream
{
    /// <summary>The service's standard output (<c>logs/stdout.log</c>).</summary>
    Stdout,

    /// <summary>The service's standard error (<c>logs/stderr.log</c>).</summary>
    Stderr,

    /// <summary>The supervisor's own structured log (<c>logs/supervisor.log</c>, JSON lines).</summary>
    Supervisor,
}
