using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using StabilityTools.Engine.Services;

namespace StabilityTools.Cmdlets;

/// <summary>Completes service names from the state directory the command names (its <c>-StateDirectory</c>, else the default).</summary>
public sealed class ServiceNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var explicitState = fakeBoundParameters?["StateDirectory"] as string;
        var pattern = WildcardPattern.Get((wordToComplete ?? "").Trim('\'', '"') + "*", WildcardOptions.IgnoreCase);
        IReadOnlyList<string> names;
        try
        {
            names = new ProcessManager(Engine.State.StateDirectory.Locate(explicitState)).ListServices();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // A completer must never throw at the user: no suggestions is the answer.
            names = [];
        }

        foreach (var name in names.Where(pattern.IsMatch))
        {
            yield return new CompletionResult(name, name, CompletionResultType.ParameterValue, $"service {name}");
        }
    }
}
