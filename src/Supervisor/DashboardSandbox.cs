using System.Diagnostics;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.State;

namespace StabilityTools.Supervisor;

/// <summary>
/// A dashboard run as another user (<c>Start-Dashboard -RunAsUser</c>): it must read every document of a state
/// directory that stays root's and owner-only, and nothing else. setpriv gives it one capability,
/// <c>CAP_DAC_READ_SEARCH</c> (read any file, search any folder; never write), and the supervisor's own executable,
/// run as <c>--sandbox</c> in between, confines it with Landlock before it executes the dashboard: reading beneath
/// the state directory, its runtime and libraries, a few files of <c>/etc</c>, <c>/proc</c> and <c>/sys</c>; writing
/// only in the folder of its own it is handed (<c>services/&lt;name&gt;/own/</c>), whose state document the supervisor
/// copies into <c>data/</c>. Everything else — <c>/etc/shadow</c>, other users' homes, other state directories — the
/// kernel refuses, capability or not.
/// </summary>
internal static class DashboardSandbox
{
    /// <summary>The option that makes the supervisor's executable the sandbox: <c>--sandbox [--read P|--read-exec P|--own P]... -- PROGRAM ARGS</c>.</summary>
    public const string Option = "--sandbox";

    // What a .NET program and the C library read in /etc, and no more (no shadow, no private keys, no sudoers).
    private static readonly string[] EtcFiles =
    [
        "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/host.conf", "/etc/resolv.conf", "/etc/gai.conf",
        "/etc/localtime", "/etc/timezone", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/os-release",
        "/etc/ssl/certs", "/etc/ssl/openssl.cnf", "/etc/dotnet", "/etc/mime.types",
    ];

    /// <summary>Puts the capability on setpriv's line (already in <paramref name="info"/>) and the sandbox after it.</summary>
    public static void Add(ProcessStartInfo info, ServiceSpec spec, StateDirectory state, string ownDirectory)
    {
        info.ArgumentList.Add("--inh-caps=+dac_read_search");
        info.ArgumentList.Add("--ambient-caps=+dac_read_search");
        // This very executable: the native supervisor, or dotnet running the supervisor's dll (the JIT build).
        var sandbox = Environment.ProcessPath ?? "stability-supervisor";
        IReadOnlyList<string> leading = Path.GetFileNameWithoutExtension(sandbox) == "dotnet"
            ? [Path.Combine(AppContext.BaseDirectory, "stability-supervisor.dll")]
            : [];
        info.ArgumentList.Add(sandbox);
        foreach (var argument in leading)
        {
            info.ArgumentList.Add(argument);
        }

        info.ArgumentList.Add(Option);
        foreach (var (flag, path) in Rules(spec, state, ownDirectory, sandbox, leading))
        {
            info.ArgumentList.Add(flag);
            info.ArgumentList.Add(path);
        }

        info.ArgumentList.Add("--");
        info.Environment[RunDelegation.OwnDirectoryVariable] = ownDirectory;
        // The runtime's diagnostics socket would be made in /tmp, which the dashboard may not touch.
        info.Environment["DOTNET_EnableDiagnostics"] = "0";
    }

    private static IEnumerable<(string Flag, string Path)> Rules(ServiceSpec spec, StateDirectory state, string ownDirectory, string sandbox, IReadOnlyList<string> leading)
    {
        yield return ("--read", state.Root);
        yield return ("--own", ownDirectory);
        foreach (var system in new[] { "/usr", "/lib", "/lib64", "/bin", "/sbin" })
        {
            yield return ("--read-exec", system);
        }

        foreach (var etc in EtcFiles)
        {
            yield return ("--read", etc);
        }

        yield return ("--read", "/proc");
        yield return ("--read", "/sys");
        foreach (var device in new[] { "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random" })
        {
            yield return ("--own", device);
        }

        // The program, its runtime (dotnet and the shared framework beside it) and the dashboard's own folder.
        foreach (var program in new[] { ExecutableResolver.Resolve(spec.FilePath) ?? spec.FilePath, sandbox }.Concat(leading).Concat(spec.Arguments.Take(1)))
        {
            if (Path.IsPathRooted(program) && File.Exists(program))
            {
                var real = File.ResolveLinkTarget(program, returnFinalTarget: true)?.FullName ?? program;
                yield return ("--read-exec", Path.GetDirectoryName(real)!);
                yield return ("--read-exec", Path.GetDirectoryName(program)!);
            }
        }

        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root)
        {
            yield return ("--read-exec", root);
        }

        // The files it is told to read: a token file, a certificate and its key.
        foreach (var argument in spec.Arguments.Where(a => Path.IsPathRooted(a) && File.Exists(a)))
        {
            yield return ("--read", argument);
        }
    }

    /// <summary>The sandbox itself (the supervisor's executable run with <see cref="Option"/>): confine, then execute; returns only on failure.</summary>
    public static int Run(string[] args)
    {
        var rules = new List<(string, ulong)>();
        var i = 1;
        for (; i + 1 < args.Length && args[i] != "--"; i += 2)
        {
            var rights = args[i] switch
            {
                "--read" => Landlock.Read,
                "--read-exec" => Landlock.ReadExecute,
                "--own" => Landlock.Own,
                _ => 0UL,
            };
            if (rights == 0)
            {
                Console.Error.WriteLine($"stability-supervisor --sandbox: unknown rule '{args[i]}'.");
                return 64;
            }

            rules.Add((args[i + 1], rights));
        }

        if (i >= args.Length - 1 || args[i] != "--")
        {
            Console.Error.WriteLine("usage: stability-supervisor --sandbox [--read PATH|--read-exec PATH|--own PATH]... -- PROGRAM [ARGS...]");
            return 64;
        }

        try
        {
            Landlock.Restrict(rules);
        }
        catch (Exception ex) when (ex is PlatformNotSupportedException or IOException)
        {
            // A dashboard that cannot be confined does not run at all: 78 is a configuration error, not retried.
            Console.Error.WriteLine($"stability-supervisor --sandbox: {ex.Message} A dashboard run as another user (-RunAsUser) needs it; run it as the state directory's owner instead.");
            return 78;
        }

        var program = ExecutableResolver.Resolve(args[i + 1]) ?? args[i + 1];
        var errno = Landlock.Exec(program, args[(i + 2)..]);
        Console.Error.WriteLine($"stability-supervisor --sandbox: could not execute '{program}' (errno {errno}).");
        return 126;
    }
}
