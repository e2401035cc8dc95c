using System.Diagnostics;
using System.Runtime.InteropServices;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dummy.Verbs;

/// <summary>Verbs that misbehave on cue, for the supervisor's tests (issue #3).</summary>
internal static class LifecycleVerbs
{
    /// <summary>crash [--after-ms 0] [--exit-code 1] [--message M]: prints "ready", waits, writes M to stderr, exits with the code.</summary>
    public static int Crash(string[] args)
    {
        var o = new Options(args);
        Ready();
        Thread.Sleep(o.Int("after-ms", 0));
        if (o.Get("message") is { } message)
        {
            Console.Error.WriteLine(message);
        }

        return o.Int("exit-code", 1);
    }

    /// <summary>sleep [--ms forever]: prints "ready" and sleeps; never beats a heartbeat.</summary>
    public static int Sleep(string[] args)
    {
        var o = new Options(args);
        Ready();
        Thread.Sleep(o.Int("ms", Timeout.Infinite));
        return 0;
    }

    /// <summary>ignore-sigterm: ignores SIGTERM (and SIGINT), prints "ready", sleeps forever.</summary>
    public static int IgnoreSigterm(string[] args)
    {
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            Console.Out.WriteLine("ignoring SIGTERM");
            Console.Out.Flush();
        });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => ctx.Cancel = true);
        Ready();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    /// <summary>
    /// spawn-tree --pid-file F [--children 2]: starts children (<c>sleep</c>, in the same group), one grandchild that
    /// double-forks away into its own session (<c>sh -c 'setsid sleep &amp;'</c>: re-parented to the nearest subreaper),
    /// writes every pid to F, one a line, then prints "ready" and sleeps forever.
    /// </summary>
    public static int SpawnTree(string[] args)
    {
        var o = new Options(args);
        var pids = new List<int>();
        for (var i = 0; i < o.Int("children", 2); i++)
        {
            var child = Process.Start(new ProcessStartInfo("sleep", "3600") { UseShellExecute = false })!;
            pids.Add(child.Id);
        }

        // The shell prints the pid of the background setsid (which execs sleep without forking) and exits, orphaning it.
        var shell = Process.Start(new ProcessStartInfo("/bin/sh")
        {
            ArgumentList = { "-c", "setsid sleep 3600 </dev/null >/dev/null 2>&1 & echo $!" },
            UseShellExecute = false,
            RedirectStandardOutput = true,
        })!;
        var escaped = int.Parse(shell.StandardOutput.ReadToEnd().Trim(), System.Globalization.CultureInfo.InvariantCulture);
        shell.WaitForExit();
        pids.Add(escaped);
        File.WriteAllLines(o.Required("pid-file"), pids.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (o.Bool("ignore-sigterm", false))
        {
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => ctx.Cancel = true);
        }

        Ready();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    /// <summary>
    /// flood [--line-bytes 100] [--total-mb 0]: writes lines to stdout as fast as it can, forever or until total-mb
    /// MiB are written; then prints "done" and sleeps forever.
    /// </summary>
    public static int Flood(string[] args)
    {
        var o = new Options(args);
        var line = new string('x', Math.Max(1, o.Int("line-bytes", 100) - 1)) + "\n";
        var total = (long)o.Int("total-mb", 0) * 1024 * 1024;
        using var stdout = Console.OpenStandardOutput();
        var bytes = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(line, 64)));
        for (long written = 0; total == 0 || written < total; written += bytes.Length)
        {
            stdout.Write(bytes);
        }

        stdout.Write("done\n"u8);
        stdout.Flush();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    /// <summary>
    /// heartbeat [--state-dir D (default $STABILITY_HOME)] [--interval-ms 100] [--stall-after-ms forever] [--loss L (0.5; NaN, Infinity)]: writes
    /// training_status.json in its run's folder ($STABILITY_RUN_DIR, as a supervisor passes it) with its pid and a growing progress every interval; after stall-after-ms the progress
    /// stops growing (the heartbeat goes on), as a hung trainer's would.
    /// </summary>
    public static int Heartbeat(string[] args)
    {
        var o = new Options(args);
        var root = o.Get("state-dir") ?? Environment.GetEnvironmentVariable("STABILITY_HOME") ?? throw new ArgumentException("--state-dir is required");
        var path = Path.Combine(Environment.GetEnvironmentVariable("STABILITY_RUN_DIR") is { Length: > 0 } run ? run : Path.Combine(root, "runs", "dummy-run"), "training_status.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var store = new StatusStore(new StatusStoreOptions { Fsync = false });
        var interval = o.Int("interval-ms", 100);
        var stallAfter = o.Int("stall-after-ms", -1);
        var loss = double.Parse(o.Get("loss") ?? "0.5", System.Globalization.CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        long progress = 0;
        Ready();
        while (true)
        {
            if (stallAfter < 0 || clock.ElapsedMilliseconds < stallAfter)
            {
                progress++;
            }

            store.Write(path, new TrainingStatus
            {
                IsRunning = true, State = TrainerState.Running, Pid = Environment.ProcessId, Progress = progress, Step = progress, Loss = loss,
                Heartbeat = DateTimeOffset.UtcNow, LastUpdate = DateTimeOffset.UtcNow,
            });
            Thread.Sleep(interval);
        }
    }

    /// <summary>
    /// http --port P [--healthy-for-ms forever]: serves GET /healthz with 200 on 127.0.0.1:P; after healthy-for-ms it
    /// answers 503 instead, as a wedged dashboard would, while the process stays alive.
    /// </summary>
    public static int Http(string[] args)
    {
        var o = new Options(args);
        if (o.Get("saturate-after-ms") is not null)
        {
            return SaturatingHttp(int.Parse(o.Required("port"), System.Globalization.CultureInfo.InvariantCulture), o.Int("saturate-after-ms", 0));
        }

        var healthyFor = o.Int("healthy-for-ms", -1);
        using var listener = new System.Net.HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{o.Required("port")}/");
        listener.Start();
        var clock = Stopwatch.StartNew();
        Ready();
        while (true)
        {
            var context = listener.GetContext();
            context.Response.StatusCode = healthyFor < 0 || clock.ElapsedMilliseconds < healthyFor ? 200 : 503;
            context.Response.Close();
        }
    }

    /// <summary>
    /// http --port P --saturate-after-ms N: answers 200 to every request on its keep-alive connections, but after N ms
    /// accepts no new connection (they wait in the kernel's backlog, unanswered) — a dashboard whose connection slots
    /// are all taken, which a probe that reuses its pooled connection still sees as healthy.
    /// </summary>
    private static int SaturatingHttp(int port, int saturateAfterMs)
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
        listener.Start();
        var clock = Stopwatch.StartNew();
        Ready();
        while (clock.ElapsedMilliseconds < saturateAfterMs)
        {
            if (!listener.Pending())
            {
                Thread.Sleep(10);
                continue;
            }

            var client = listener.AcceptTcpClient();
            new Thread(() => ServeKeepAlive(client)) { IsBackground = true }.Start();
        }

        Thread.Sleep(Timeout.Infinite);
        GC.KeepAlive(listener);
        return 0;
    }

    private static void ServeKeepAlive(System.Net.Sockets.TcpClient client)
    {
        using var stream = client.GetStream();
        var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        try
        {
            while (reader.ReadLine() is { Length: > 0 })
            {
                var close = false;
                while (reader.ReadLine() is { Length: > 0 } header)
                {
                    close |= header.Equals("Connection: close", StringComparison.OrdinalIgnoreCase);
                }

                var body = "{\"status\":\"healthy\"}";
                var answer = $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n{(close ? "Connection: close\r\n" : "")}\r\n{body}";
                stream.Write(System.Text.Encoding.ASCII.GetBytes(answer));
                if (close)
                {
                    return;
                }
            }
        }
        catch (IOException)
        {
            // The probe went away.
        }
    }

    /// <summary>alloc --mb N: allocates and touches N MiB, prints "ready", sleeps forever.</summary>
    public static int Alloc(string[] args)
    {
        var o = new Options(args);
        var blocks = new List<byte[]>();
        for (var i = 0; i < o.Int("mb", 64); i++)
        {
            var block = GC.AllocateUninitializedArray<byte>(1024 * 1024, pinned: true);
            Array.Fill(block, (byte)1);
            blocks.Add(block);
        }

        Ready();
        Thread.Sleep(Timeout.Infinite);
        GC.KeepAlive(blocks);
        return 0;
    }

    /// <summary>print-env NAME...: prints NAME=value for each (value "&lt;unset&gt;" when unset), then sleeps forever.</summary>
    public static int PrintEnv(string[] args)
    {
        foreach (var name in args)
        {
            Console.Out.WriteLine($"{name}={Environment.GetEnvironmentVariable(name) ?? "<unset>"}");
        }

        Console.Out.WriteLine($"NICE={File.ReadAllText("/proc/self/stat").Split(')')[1].Split(' ')[17]}");
        Ready();
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    private static void Ready()
    {
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
    }
}
