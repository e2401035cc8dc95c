using System.Collections.Concurrent;
using System.Text.Json;
using StabilityTools.Engine.Status;

namespace StabilityTools.Trainer.Training;

/// <summary>
/// The status-file names of the trainer's enums, taken from the contract's own converter (<see cref="StatusJson"/>:
/// snake_case), for the Engine documents whose fields are plain strings (<c>state</c>, <c>kind</c>).
/// </summary>
internal static class WireNames
{
    private static readonly ConcurrentDictionary<Enum, string> Names = new();

    /// <summary>The name <paramref name="value"/> has in the status files (<c>TrainerState.Completed</c>: <c>completed</c>).</summary>
    public static string ToWire<TEnum>(this TEnum value)
        where TEnum : struct, Enum =>
        Names.GetOrAdd(value, static (_, v) => JsonSerializer.SerializeToElement(v, StatusJson.Options).GetString()!, value);
}
