using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Dummy.Verbs;

/// <summary>Verbs that hammer the status store from separate processes (issue #2's stress test).</summary>
internal static class StoreVerbs
{
    /// <summary>
    /// store-write --path P [--writer N] [--fsync true] [--payload-bytes 2048] [--count 0]: writes documents
    /// with a checksummed random payload, forever (count 0) or count times. Prints "ready" after the first write.
    /// </summary>
    public static int Write(string[] args)
    {
        var o = new Options(args);
        var path = o.Required("path");
        var writer = o.Int("writer", 0);
        var count = o.Int("count", 0);
        var payloadBytes = o.Int("payload-bytes", 2048);
        var store = new StatusStore(new StatusStoreOptions { Fsync = o.Bool("fsync", true), LockTimeout = TimeSpan.FromSeconds(30) });
        var random = new Random();
        var chars = new char[payloadBytes];
        for (var i = 0; count == 0 || i < count; i++)
        {
            // Vary the length too, so a mix of two documents cannot line up by accident.
            var length = payloadBytes / 2 + random.Next(payloadBytes / 2);
            for (var c = 0; c < length; c++)
            {
                chars[c] = (char)('a' + random.Next(26));
            }

            var payload = new string(chars, 0, length);
            store.Write(path, new StressDocument { WriterIndex = writer, Payload = payload, Checksum = StressDocument.Hash(payload) });
            if (i == 0)
            {
                Console.Out.WriteLine("ready");
                Console.Out.Flush();
            }
        }

        return 0;
    }

    /// <summary>
    /// store-read --path P --stop-file F: reads as fast as it can until F exists, checking every document
    /// (parse, schema, checksum, seq never going back), then prints a JSON summary of what it saw.
    /// </summary>
    public static int Read(string[] args)
    {
        var o = new Options(args);
        var path = o.Required("path");
        var stopFile = o.Required("stop-file");
        var store = new StatusStore();
        long reads = 0, ok = 0, missing = 0, invalid = 0, checksumMismatch = 0, seqRegressions = 0, lastSeq = 0;
        var firstProblem = (string?)null;
        Console.Out.WriteLine("ready");
        Console.Out.Flush();
        while (true)
        {
            if ((reads & 255) == 0 && File.Exists(stopFile))
            {
                break;
            }

            reads++;
            if ((reads & 15) == 0)
            {
                // Readers outnumber the cores: yield the CPU now and then so writers make progress too.
                Thread.Sleep(1);
            }

            var result = store.Read<StressDocument>(path);
            switch (result.State)
            {
                case ReadState.Ok:
                    var doc = result.Document!;
                    if (StressDocument.Hash(doc.Payload) != doc.Checksum)
                    {
                        checksumMismatch++;
                        firstProblem ??= $"checksum mismatch at seq {doc.Seq}";
                    }
                    else if (doc.Seq < lastSeq)
                    {
                        seqRegressions++;
                        firstProblem ??= $"seq went back from {lastSeq} to {doc.Seq}";
                    }
                    else
                    {
                        ok++;
                        lastSeq = doc.Seq;
                    }

                    break;
                case ReadState.Missing:
                    missing++;
                    break;
                default:
                    invalid++;
                    firstProblem ??= $"{result.State}: {result.Error}";
                    break;
            }
        }

        Console.Out.WriteLine(JsonSerializer.Serialize(new
        {
            reads, ok, missing, invalid, checksum_mismatch = checksumMismatch, seq_regressions = seqRegressions, last_seq = lastSeq, first_problem = firstProblem,
        }));
        return 0;
    }

    /// <summary>store-hold-lock --path P: takes the document's lock, prints "locked", and holds it until killed or stdin closes.</summary>
    public static int HoldLock(string[] args)
    {
        var o = new Options(args);
        using var held = FileLock.Acquire(StatusStore.LockPathFor(o.Required("path")), TimeSpan.FromSeconds(10));
        Console.Out.WriteLine("locked");
        Console.Out.Flush();
        Console.In.ReadToEnd();
        return 0;
    }
}
