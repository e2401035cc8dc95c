using StabilityTools.Dummy.Verbs;

// stability-dummy <verb> [options]: a program the tests drive for real. Each verb is one behaviour.
var verbs = new Dictionary<string, Func<string[], int>>(StringComparer.Ordinal)
{
    ["store-write"] = StoreVerbs.Write,
    ["store-read"] = StoreVerbs.Read,
    ["store-hold-lock"] = StoreVerbs.HoldLock,
    ["crash"] = LifecycleVerbs.Crash,
    ["sleep"] = LifecycleVerbs.Sleep,
    ["ignore-sigterm"] = LifecycleVerbs.IgnoreSigterm,
    ["spawn-tree"] = LifecycleVerbs.SpawnTree,
    ["flood"] = LifecycleVerbs.Flood,
    ["heartbeat"] = LifecycleVerbs.Heartbeat,
    ["alloc"] = LifecycleVerbs.Alloc,
    ["print-env"] = LifecycleVerbs.PrintEnv,
    ["http"] = LifecycleVerbs.Http,
};

if (args.Length == 0 || !verbs.TryGetValue(args[0], out var verb))
{
    Console.Error.WriteLine($"usage: stability-dummy <{string.Join('|', verbs.Keys)}> [options]");
    return 64;
}

return verb(args[1..]);
