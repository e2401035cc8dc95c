using System.Text;

namespace StabilityTools.Engine.Errors;

/// <summary>One problem in a configuration: where it is and what is allowed.</summary>
/// <param name="File">The file the problem is in, or null for a value that came from elsewhere (parameter, environment).</param>
/// <param name="Line">The 1-based line, when known.</param>
/// <param name="Key">The configuration key, e.g. <c>training:epochs</c>.</param>
/// <param name="Message">What is wrong and what is allowed.</param>
public sealed record ConfigurationProblem(string? File, int? Line, string? Key, string Message)
{
    /// <summary>Formats as <c>file:line: key: message</c>, leaving out what is unknown.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        if (File is not null)
        {
            text.Append(File);
            if (Line is not null)
            {
                text.Append(':').Append(Line.Value);
            }

            text.Append(": ");
        }

        if (Key is not null)
        {
            text.Append('\'').Append(Key).Append("': ");
        }

        return text.Append(Message).ToString();
    }
}
