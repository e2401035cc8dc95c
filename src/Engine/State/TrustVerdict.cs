namespace StabilityTools.Engine.State;

/// <summary>The verdict of <see cref="StateTrust.Check"/> on a state directory.</summary>
/// <param name="IsTrusted">True when the directory may be used.</param>
/// <param name="Path">The folder judged unsafe, when one is.</param>
/// <param name="Reason">What was found: the owner and mode of the folder at fault, or why all is well.</param>
/// <param name="Fix">The command that fixes it, when untrusted.</param>
public sealed record TrustVerdict(bool IsTrusted, string? Path, string Reason, string? Fix)
{
    /// <summary>A trusted verdict.</summary>
    public static TrustVerdict Trusted(string reason) => new(true, null, reason, null);

    /// <summary>An untrusted verdict naming the folder, what is wrong with it, and the fix.</summary>
    public static TrustVerdict Untrusted(string path, string reason, string fix) => new(false, path, reason, fix);

    /// <summary>One line: <c>Trusted</c> or <c>Untrusted: '/tmp/x' is owned by …</c>.</summary>
    public override string ToString() => IsTrusted ? "Trusted" : $"Untrusted: '{Path}' {Reason}";
}
