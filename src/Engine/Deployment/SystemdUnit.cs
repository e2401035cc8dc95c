using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Services;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.Deployment;

/// <summary>
/// A systemd unit that runs one service's supervisor at boot (the seed's "Systemd service management"). systemd
/// becomes the supervisor's supervisor: it starts it, restarts it should it ever die, and stops it with SIGTERM,
/// which the supervisor turns into its own two-stage stop of the service. The supervisor stays the main process
/// (it calls setsid() but never forks), so <c>Type=simple</c> is right.
/// </summary>
/// <remarks>
/// Every path and argument is written so that systemd reads back exactly the original string (systemd.syntax(7)
/// "Quoting", systemd.service(5) "Command lines", systemd.unit(5) "Specifiers"): <c>%</c> becomes <c>%%</c> everywhere
/// (specifiers are expanded in every setting written here), <c>$</c> becomes <c>$$</c> in a command line's arguments
/// (the only place systemd substitutes variables: not in the program's path, and in <c>Environment=</c> a <c>$</c> is
/// literal), and a word with whitespace,
/// quotes, backslashes or a <c>;</c> is double-quoted with <c>\</c> and <c>"</c> escaped, which reads the same under
/// the C-unescaping of <c>ExecStart=</c> and <c>Environment=</c> and the plain unquoting of <c>RequiresMountsFor=</c>.
/// Control characters cannot be written in every one of those settings (and a newline would end the line), so a value
/// holding one is refused; so is a program path with a quote or a backslash, which systemd refuses to run.
/// </remarks>
public static partial class SystemdUnit
{
    /// <summary>The unit's file name for <paramref name="service"/>: <c>stability-&lt;service&gt;.service</c>.</summary>
    public static string FileName(string service) => $"stability-{StateDirectory.ValidateServiceName(service)}.service";

    /// <summary>
    /// The unit text for the service whose spec is in <paramref name="state"/> (start it once, or write its spec, first).
    /// </summary>
    /// <param name="state">The state directory the unit will use (absolute).</param>
    /// <param name="service">The service.</param>
    /// <param name="supervisorPath">The supervisor host (<c>stability-supervisor.dll</c> or an executable).</param>
    /// <param name="user">The user to run as; null for root (a system unit) or the calling user (a user unit).</param>
    /// <exception cref="ServiceNotFoundException">The state directory has no spec for the service.</exception>
    /// <exception cref="ConfigurationException">A path holds a control character, the program's path a quote or a backslash (systemd refuses to run it), or <paramref name="user"/> is not a user name systemd reads as one; every problem is listed.</exception>
    public static string Render(StateDirectory state, string service, string supervisorPath, string? user = null)
    {
        StateDirectory.ValidateServiceName(service);
        var (program, leading) = HostLocator.CommandFor(supervisorPath);
        var problems = new List<ConfigurationProblem>();
        CheckWritable(problems, "StateDirectory", "the state directory", state.Root, "Choose a state directory whose path has none (-StateDirectory or STABILITY_HOME).");
        CheckWritable(problems, "supervisor", "the supervisor host", supervisorPath, $"Install the module under a path that has none, or point {HostLocator.HostsDirectoryVariable} at one.");
        if (program != supervisorPath)
        {
            CheckWritable(problems, "supervisor", "the dotnet host", program, "Install .NET under a path that has none, or set DOTNET_HOST_PATH to one.");
        }

        if (!IsRunnableProgram(program) && !program.Any(char.IsControl))
        {
            problems.Add(new ConfigurationProblem(null, null, "supervisor",
                $"systemd refuses to run a program whose path holds a quote or a backslash, and the unit would run '{program}'. " +
                (program == supervisorPath
                    ? $"Install the module under a path without them, or point {HostLocator.HostsDirectoryVariable} at one."
                    : "Install .NET under a path without them, or set DOTNET_HOST_PATH to one.")));
        }

        if (user is not null && !IsValidUserName(user))
        {
            problems.Add(new ConfigurationProblem(null, null, "User",
                $"'{Printable(user)}' is not a user name systemd reads as one (User=): use a name of letters, digits, '_', '.' and '-' that starts with a letter or '_' (at most 32 characters), or a numeric uid."));
        }

        if (problems.Count > 0)
        {
            throw new ConfigurationException(problems) { Service = service, Path = state.Root };
        }

        var spec = new StatusStore().Read<ServiceSpec>(state.ServiceSpecPath(service));
        if (spec.Document is not { } s)
        {
            throw new ServiceNotFoundException(service, state.Root);
        }

        var exec = CommandLine(program, [.. leading, "--state-dir", state.Root, "--service", service]);
        // systemd's stop must outlast the supervisor's own graceful stop of the service, plus its kill and sweep.
        var stopSeconds = (int)Math.Ceiling(s.StopTimeout.TotalSeconds) + 15;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"# Generated by Export-StabilityServiceUnit for the StabilityTools service '{service}' ({StatusJson.WireName(s.Kind)}).");
        text.AppendLine("# Install: copy to /etc/systemd/system/ (or ~/.config/systemd/user/), then: systemctl daemon-reload && systemctl enable --now " + FileName(service));
        text.AppendLine(CultureInfo.InvariantCulture, $"# Captured output rotates by size inside the supervisor: {s.LogMaxBytes} bytes a file, {s.LogMaxFiles} files, in {state.ServiceLogDirectory(service)}.");
        text.AppendLine("# The supervisor's own messages also go to the journal (journalctl -u " + FileName(service) + ").");
        text.AppendLine("[Unit]");
        text.AppendLine(CultureInfo.InvariantCulture, $"Description={EscapeSpecifiers($"StabilityTools supervisor for '{service}'")}");
        text.AppendLine("After=network-online.target local-fs.target");
        text.AppendLine("Wants=network-online.target");
        text.AppendLine(CultureInfo.InvariantCulture, $"RequiresMountsFor={PathWord(state.Root)}");
        text.AppendLine();
        text.AppendLine("[Service]");
        text.AppendLine("Type=simple");
        text.AppendLine(CultureInfo.InvariantCulture, $"ExecStart={exec}");
        text.AppendLine(CultureInfo.InvariantCulture, $"Environment={EnvironmentWord(StateDirectory.HomeVariable, state.Root)}");
        if (user is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"User={EscapeSpecifiers(user)}");
        }

        text.AppendLine("UMask=0077");
        // The supervisor restarts the service; systemd restarts the supervisor should it ever die.
        text.AppendLine("Restart=on-failure");
        text.AppendLine("RestartSec=2");
        text.AppendLine("KillMode=mixed");
        text.AppendLine("KillSignal=SIGTERM");
        text.AppendLine(CultureInfo.InvariantCulture, $"TimeoutStopSec={stopSeconds}");
        text.AppendLine("StandardOutput=journal");
        text.AppendLine("StandardError=journal");
        text.AppendLine("# Journal rate limits for a chatty supervisor log; captured service output does not pass through here.");
        text.AppendLine("LogRateLimitIntervalSec=30s");
        text.AppendLine("LogRateLimitBurst=1000");
        text.AppendLine();
        text.AppendLine("[Install]");
        text.AppendLine("WantedBy=multi-user.target");
        return text.ToString();
    }

    /// <summary>
    /// A command line (<c>ExecStart=</c>) that runs exactly <paramref name="program"/> with exactly
    /// <paramref name="arguments"/>. systemd expands specifiers in the program's path but never variables, so there
    /// only <c>%</c> is doubled; where the path holds a <c>$</c>, argv[0] (which systemd does expand) is written
    /// separately after an <c>@</c> prefix, doubled like every argument.
    /// </summary>
    /// <exception cref="ArgumentException">The program is empty or starts with one of systemd's prefixes (<c>-@:+!</c>), or a word holds a control character.</exception>
    public static string CommandLine(string program, IEnumerable<string> arguments)
    {
        if (program.Length == 0 || program[0] is '-' or '@' or ':' or '+' or '!')
        {
            throw new ArgumentException($"'{Printable(program)}' cannot be written as the program of a systemd command line: give its absolute path.", nameof(program));
        }

        if (!IsRunnableProgram(program))
        {
            throw new ArgumentException($"systemd refuses to run '{Printable(program)}': a program's path may hold no quote or backslash.", nameof(program));
        }

        var path = Quote(EscapeSpecifiers(NoControl(program)));
        var head = program.Contains('$') ? $"@{path} {CommandWord(program)}" : path;
        return string.Join(' ', arguments.Select(CommandWord).Prepend(head));
    }

    /// <summary>
    /// One argument of a command line (<c>ExecStart=</c>): systemd hands the program exactly <paramref name="word"/>.
    /// <c>%</c> and <c>$</c> are doubled (no specifier, no variable); the word is quoted when it needs to be.
    /// </summary>
    /// <exception cref="ArgumentException">The word holds a control character, which a command line cannot carry.</exception>
    public static string CommandWord(string word) => Quote(EscapeSpecifiers(NoControl(word)).Replace("$", "$$", StringComparison.Ordinal));

    /// <summary>One <c>NAME=value</c> word of <c>Environment=</c>: the service sees exactly <paramref name="value"/> (a <c>$</c> is literal there).</summary>
    /// <exception cref="ArgumentException">The name is not a variable name, or either holds a control character.</exception>
    public static string EnvironmentWord(string name, string value) =>
        name.Length > 0 && !name.Contains('=') && !name.Any(char.IsWhiteSpace)
            ? Quote(EscapeSpecifiers(NoControl(name) + "=" + NoControl(value)))
            : throw new ArgumentException($"'{Printable(name)}' is not an environment variable name.", nameof(name));

    /// <summary>One path of a path list such as <c>RequiresMountsFor=</c>: systemd reads back exactly <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The path holds a control character.</exception>
    public static string PathWord(string path) => Quote(EscapeSpecifiers(NoControl(path)));

    /// <summary>Doubles every <c>%</c>, so systemd expands no specifier in <paramref name="value"/>.</summary>
    public static string EscapeSpecifiers(string value) => value.Replace("%", "%%", StringComparison.Ordinal);

    /// <summary>
    /// True when systemd runs a program at <paramref name="program"/>: it refuses ("Executable name contains special
    /// characters") a path with a quote, a backslash or a control character, however it is quoted.
    /// </summary>
    public static bool IsRunnableProgram(string program) => !program.Any(c => c is '"' or '\'' or '\\' || char.IsControl(c));

    /// <summary>True when systemd reads <paramref name="user"/> as one user name or uid (<c>User=</c>) without a warning.</summary>
    public static bool IsValidUserName(string user) => UserNamePattern().IsMatch(user);

    /// <summary>Double-quotes a word that holds whitespace, a quote, a backslash or a <c>;</c> (or is empty), escaping <c>\</c> and <c>"</c>.</summary>
    private static string Quote(string word) =>
        word.Length > 0 && word.All(c => !char.IsWhiteSpace(c) && c is not '"' and not '\\' and not '\'' and not ';')
            ? word
            : "\"" + word.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string NoControl(string value) => value.Any(char.IsControl)
        ? throw new ArgumentException($"'{Printable(value)}' holds a control character, which a systemd unit cannot carry in this setting.", nameof(value))
        : value;

    private static void CheckWritable(List<ConfigurationProblem> problems, string key, string what, string value, string fix)
    {
        if (value.Any(char.IsControl))
        {
            problems.Add(new ConfigurationProblem(null, null, key,
                $"The path of {what}, '{Printable(value)}', holds a control character, which a systemd unit cannot carry (a newline would end the setting). {fix}"));
        }
    }

    /// <summary><paramref name="value"/> with control characters shown as <c>\n</c>, <c>\t</c> or <c>\xNN</c>, for messages.</summary>
    private static string Printable(string value)
    {
        var text = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            text.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }

        return text.ToString();
    }

    // systemd's strict user names (letters, digits, '_', '-'; not first a digit or '-'), plus '.' and a trailing '$'
    // as Debian's useradd allows (systemd accepts those with a warning), or a numeric uid. \A…\z: no trailing newline.
    [GeneratedRegex(@"\A(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]{1,10})\z", RegexOptions.CultureInvariant)]
    private static partial Regex UserNamePattern();
}
