namespace StabilityTools.Engine.Errors;

/// <summary>
/// The built-in trainer was asked for and is not installed: it ships as a package of its own
/// (<c>StabilityTools.Trainer</c>, which carries libtorch), separately from the module. The message names the command
/// that installs it. A <c>-FilePath</c> trainer and the dashboard never need it.
/// </summary>
public sealed class TrainerNotInstalledException : StabilityException
{
    /// <summary>Creates the exception for the package <paramref name="package"/> at <paramref name="version"/>, naming the folders searched.</summary>
    public TrainerNotInstalledException(string package, string version, IReadOnlyList<string> searched)
        : base(BuildMessage(package, version, searched))
    {
        Package = package;
        Version = version;
        Searched = searched;
    }

    /// <summary>The package that carries the trainer.</summary>
    public string Package { get; }

    /// <summary>The version of it this module needs (its own).</summary>
    public string Version { get; }

    /// <summary>The folders searched for it, in order.</summary>
    public IReadOnlyList<string> Searched { get; }

    /// <summary>The command that installs the package.</summary>
    public string InstallCommand => InstallCommandFor(Package, Version);

    /// <summary>The error id: <c>TrainerNotInstalled</c>.</summary>
    public const string TrainerNotInstalledErrorId = "TrainerNotInstalled";

    /// <inheritdoc />
    public override string ErrorId => TrainerNotInstalledErrorId;

    /// <summary>The command that installs <paramref name="package"/> at <paramref name="version"/>.</summary>
    public static string InstallCommandFor(string package, string version) => $"Install-PSResource -Name {package} -Version {version}";

    private static string BuildMessage(string package, string version, IReadOnlyList<string> searched) =>
        $"The built-in trainer is not installed: it ships as the package {package} (TorchSharp with libtorch, about 480 MB installed), " +
        $"separately from the module. Install it with '{InstallCommandFor(package, version)}' (add -Repository with the " +
        "repository StabilityTools came from), then start again; or run your own trainer with Start-TrainingProcess -FilePath, " +
        $"which needs no package. Searched: {(searched.Count == 0 ? "nothing (no module path)" : string.Join(", ", searched.Select(d => $"'{d}'")))}.";
}
