using TorchSharp;
using static TorchSharp.torch;

namespace StabilityTools.Reporting.TorchSharp;

/// <summary>
/// Checkpoints of a TorchSharp module and its optimizer through <see cref="StabilityRun.Checkpoint"/> and
/// <see cref="StabilityRun.Resume{T}"/>: the module's state dictionary, then the optimizer's, in TorchSharp's own
/// format, each length-prefixed, in one checkpoint (atomic, checksummed, newest K kept, falls back past a damaged one).
/// </summary>
public static class TorchCheckpoints
{
    /// <summary>Saves <paramref name="module"/> (and <paramref name="optimizer"/>) as the checkpoint of <paramref name="epoch"/>.</summary>
    /// <param name="run">The run.</param>
    /// <param name="epoch">Epochs done.</param>
    /// <param name="module">The model.</param>
    /// <param name="optimizer">Its optimizer (moments, step counts), or null.</param>
    /// <param name="step">The step counter; default the run's last.</param>
    /// <returns>The checkpoint's path.</returns>
    public static string Checkpoint(this StabilityRun run, int epoch, nn.Module module, optim.Optimizer? optimizer = null, long? step = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(module);
        return run.Checkpoint(epoch, stream =>
        {
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            WriteBlock(writer, w => module.save(w));
            WriteBlock(writer, optimizer is null ? null : w => ((global::TorchSharp.Modules.OptimizerHelper)optimizer).save_state_dict(w));
        }, step);
    }

    /// <summary>Loads the newest valid checkpoint into <paramref name="module"/> (and <paramref name="optimizer"/>), which must
    /// have the shapes they were saved with; sets <see cref="StabilityRun.StartEpoch"/>.</summary>
    /// <param name="run">The run.</param>
    /// <param name="module">The model to load into.</param>
    /// <param name="optimizer">Its optimizer, or null (a saved optimizer state is then skipped).</param>
    /// <returns>The checkpoint (its state: whether it held optimizer state), or null for a fresh start.</returns>
    public static Checkpoint<bool>? Resume(this StabilityRun run, nn.Module module, optim.Optimizer? optimizer = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(module);
        return run.Resume(stream =>
        {
            using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            var model = ReadBlock(reader) ?? throw new InvalidDataException("the checkpoint holds no module state");
            using (var modelReader = new BinaryReader(new MemoryStream(model)))
            {
                module.load(modelReader);
            }

            if (ReadBlock(reader) is not { } state)
            {
                return false;
            }

            if (optimizer is not null)
            {
                using var stateReader = new BinaryReader(new MemoryStream(state));
                ((global::TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(stateReader);
            }

            return true;
        });
    }

    private static void WriteBlock(BinaryWriter writer, Action<BinaryWriter>? save)
    {
        if (save is null)
        {
            writer.Write(-1L);
            return;
        }

        using var buffer = new MemoryStream();
        using (var inner = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            save(inner);
        }

        writer.Write(buffer.Length);
        writer.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static byte[]? ReadBlock(BinaryReader reader)
    {
        var length = reader.ReadInt64();
        return length switch
        {
            -1 => null,
            < 0 or > int.MaxValue => throw new InvalidDataException($"bad block length {length}"),
            _ => reader.ReadBytes((int)length) is { } bytes && bytes.Length == length ? bytes : throw new InvalidDataException("truncated block"),
        };
    }
}
