namespace StabilityTools.Engine.Models;

/// <summary>
/// Names the schema of a status document type. The schema id written into every document is
/// <c>{SchemaName}/{SchemaVersion}</c>, e.g. <c>training_status/1</c>; readers accept any document
/// whose name matches and whose version they know.
/// </summary>
public interface IStatusSchema
{
    /// <summary>The schema name, snake_case, e.g. <c>training_status</c>.</summary>
    static abstract string SchemaName { get; }

    /// <summary>The schema version; bump it for an incompatible change.</summary>
    static abstract int SchemaVersion { get; }
}
