using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Errors;

/// <summary>
/// A document that a locked read-modify-write must change exists but cannot be read (corrupt, oversized or
/// unreadable). It is left byte for byte as it is: replacing it would silently lose everything it holds.
/// </summary>
public sealed class CorruptDocumentException : StabilityException
{
    /// <summary>Creates the exception for the document at <paramref name="path"/>.</summary>
    /// <param name="path">The document.</param>
    /// <param name="state">What a reader found (<see cref="ReadState.Corrupt"/>, <see cref="ReadState.Oversized"/> or <see cref="ReadState.Unreadable"/>).</param>
    /// <param name="problem">What is wrong with it, as the reader says (line and byte for bad JSON).</param>
    /// <param name="holds">What a replacement would lose, for the message (e.g. "every service's GPU quotas"); null: "what it holds".</param>
    /// <param name="innerException">The cause, when there is one.</param>
    public CorruptDocumentException(string path, ReadState state, string problem, string? holds = null, Exception? innerException = null)
        : base(BuildMessage(path, state, problem, holds), innerException)
    {
        Path = path;
        State = state;
        Problem = problem;
    }

    /// <summary>What a reader found.</summary>
    public ReadState State { get; }

    /// <summary>What is wrong with the document.</summary>
    public string Problem { get; }

    /// <inheritdoc />
    public override string ErrorId => "CorruptDocument";

    private static string BuildMessage(string path, ReadState state, string problem, string? holds) =>
        $"'{path}' cannot be read ({ContractWords.Of(state)}: {problem}), so nothing was changed and the file is left as it is: " +
        $"writing over it would lose {holds ?? "what it holds"}. " +
        $"Fix the file (or restore it from a backup), or remove it to start again from an empty one; then try again. " +
        "Get-StabilityStateDirectory shows its state.";
}
