using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Engine.Tests.Status;

public sealed class StatusSchemasTests
{
    private static readonly string SchemaDirectory = Path.Combine(RepositoryRoot.Path, "docs", "schemas");

    public static TheoryData<string> Names() => new(StatusSchemas.Types.Keys);

    /// <summary>
    /// The published schemas are exactly what the code reads and writes. After changing a model, regenerate them:
    /// STABILITY_UPDATE_SCHEMAS=1 dotnet test tests/Unit/Engine.Tests --filter FullyQualifiedName~StatusSchemasTests
    /// </summary>
    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Names))]
    public void The_published_schema_matches_the_model(string name)
    {
        var generated = StatusSchemas.Export(name, StatusSchemas.Types[name]);
        var file = Path.Combine(SchemaDirectory, $"{name}.schema.json");
        if (Environment.GetEnvironmentVariable("STABILITY_UPDATE_SCHEMAS") == "1")
        {
            Directory.CreateDirectory(SchemaDirectory);
            File.WriteAllText(file, generated);
        }

        Assert.True(File.Exists(file), $"{file} is missing; regenerate with STABILITY_UPDATE_SCHEMAS=1.");
        Assert.Equal(generated, File.ReadAllText(file).ReplaceLineEndings("\n"));
    }

    [Fact(Timeout = 120_000)]
    public void A_status_document_schema_requires_the_envelope_and_names_snake_case_fields()
    {
        using var schema = JsonDocument.Parse(StatusSchemas.Export("training_status", typeof(TrainingStatus)));
        var root = schema.RootElement;

        Assert.Equal(["schema", "seq", "written_at", "writer"], root.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        var properties = root.GetProperty("properties");
        foreach (var field in new[] { "is_running", "current_epoch", "total_epochs", "loss", "accuracy", "last_update", "model_path", "error_message", "progress", "heartbeat" })
        {
            Assert.True(properties.TryGetProperty(field, out _), field);
        }
    }
}
