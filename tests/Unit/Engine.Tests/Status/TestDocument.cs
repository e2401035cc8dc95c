using StabilityTools.Engine.Models;

namespace StabilityTools.Engine.Tests.Status;

internal sealed record TestDocument : StatusDocument, IStatusSchema
{
    public static string SchemaName => "test_doc";

    public static int SchemaVersion => 1;

    public string Text { get; init; } = "";

    public int Counter { get; init; }

    public double Value { get; init; }
}
