namespace StabilityTools.Dummy.Verbs;

/// <summary>Minimal <c>--key value</c> parsing for the dummy's verbs.</summary>
internal sealed class Options(string[] args)
{
    public string? Get(string key)
    {
        var i = Array.IndexOf(args, "--" + key);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    public string Required(string key) => Get(key) ?? throw new ArgumentException($"--{key} is required");

    public int Int(string key, int fallback) => Get(key) is { } v ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    public bool Bool(string key, bool fallback) => Get(key) is { } v ? bool.Parse(v) : fallback;
}
