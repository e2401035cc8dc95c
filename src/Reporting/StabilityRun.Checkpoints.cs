using System.Text.Json;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Reporting;

// A run's checkpoints: resume, save, the final model.
public sealed partial class StabilityRun
{
    // --- checkpoints ------------------------------------------------------------------------------------------------

    /// <summary>
    /// Loads the newest valid checkpoint with <paramref name="load"/> and sets <see cref="StartEpoch"/> from it. A damaged
    /// checkpoint (its checksum no longer matches) is renamed <c>*.corrupt</c>, reported as a <c>checkpoint_fallback</c>
    /// event, and the next older one is tried.
    /// </summary>
    /// <typeparam name="T">What <paramref name="load"/> makes.</typeparam>
    /// <param name="load">Reads what <see cref="Checkpoint"/>'s save wrote (a read-only stream over exactly those bytes).</param>
    /// <returns>The checkpoint, or null when there is none: a fresh start.</returns>
    public Checkpoint<T>? Resume<T>(Func<Stream, T> load)
    {
        ArgumentNullException.ThrowIfNull(load);
        var found = _checkpoints.LoadNewestValid(ParseStream, (path, why) => Event("checkpoint_fallback",
            $"Checkpoint '{Path.GetFileName(path)}' is unusable ({why}); it was renamed *.corrupt and an older checkpoint is tried.",
            EventSeverity.Warning, new Dictionary<string, string> { ["path"] = path, ["reason"] = why }));
        if (found is null)
        {
            return null;
        }

        using var stream = new MemoryStream(found.Payload, writable: false);
        var state = load(stream);
        StartEpoch = found.Metadata.Epoch;
        Report(_snapshot with { Epoch = Math.Max(_snapshot.Epoch, found.Metadata.Epoch), Step = found.Metadata.Step, ModelPath = found.Path });
        Event("resumed", $"Run {RunId} resumed from {Path.GetFileName(found.Path)} (epoch {found.Metadata.Epoch}, step {found.Metadata.Step}).",
            data: new Dictionary<string, string> { ["checkpoint"] = found.Path, ["epoch"] = Invariant(found.Metadata.Epoch), ["step"] = Invariant(found.Metadata.Step) });
        return new Checkpoint<T>(state, found.Metadata.Epoch, found.Metadata.Step, found.Path);
    }

    /// <summary>
    /// Saves what <paramref name="save"/> writes as the checkpoint of <paramref name="epoch"/> (epochs done): atomically
    /// and durably (a kill at any instant leaves the previous one whole), checksummed, newest
    /// <see cref="StabilityRunOptions.KeepCheckpoints"/> kept. Pauses while the disk is full.
    /// </summary>
    /// <param name="epoch">Epochs done.</param>
    /// <param name="save">Writes the state (model, optimizer, your counters) to the stream.</param>
    /// <param name="step">The step counter; default the last <see cref="Step"/>'s.</param>
    /// <returns>The checkpoint's path.</returns>
    /// <exception cref="OperationCanceledException">Stopped while paused on a full disk; nothing was written.</exception>
    public string Checkpoint(int epoch, Action<Stream> save, long? step = null)
    {
        ArgumentNullException.ThrowIfNull(save);
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        byte[] payload;
        using (var buffer = new MemoryStream())
        {
            save(buffer);
            payload = buffer.ToArray();
        }

        var metadata = new StreamCheckpointMetadata { RunId = RunId, Epoch = epoch, Step = step ?? _snapshot.Step, Time = DateTimeOffset.UtcNow };
        var json = JsonSerializer.Serialize(metadata, StatusJson.Options);
        var path = _disk.Run(() => _checkpoints.Save(epoch, 0, json, [payload]), $"the checkpoint of epoch {epoch}", ReportResumed);
        Report(_snapshot with { ModelPath = path, Progress = _snapshot.Progress + 1, LastUpdate = DateTimeOffset.UtcNow });
        return path;
    }

    /// <summary>Saves the final model as <c>model-final.bin</c> in the run's folder, atomically; <c>run.json</c> names it.</summary>
    /// <param name="save">Writes the model to the stream.</param>
    /// <returns>The file's path.</returns>
    public string SaveFinal(Action<Stream> save)
    {
        ArgumentNullException.ThrowIfNull(save);
        byte[] payload;
        using (var buffer = new MemoryStream())
        {
            save(buffer);
            payload = buffer.ToArray();
        }

        var path = _folder.Paths.FinalModelPath;
        _disk.Run(() => { AtomicFile.Replace(path, payload, fsync: true); return true; }, "the final model", ReportResumed);
        _disk.Run(() => _folder.Update(info => (info ?? _folder.Info) with { FinalModel = path }), "run.json", ReportResumed);
        Report(_snapshot with { ModelPath = path });
        return path;
    }

    private static StreamCheckpoint ParseStream(string path, string metadataJson, IReadOnlyList<byte[]> blobs)
    {
        var metadata = JsonSerializer.Deserialize<StreamCheckpointMetadata>(metadataJson, StatusJson.Options) ?? throw new InvalidDataException("empty metadata");
        if (metadata.Kind != StreamKind || blobs.Count != 1)
        {
            throw new InvalidDataException($"not a checkpoint of StabilityRun.Checkpoint (kind '{metadata.Kind}', {blobs.Count} blocks)");
        }

        return new StreamCheckpoint(path, metadata, blobs[0]);
    }


    internal sealed record StreamCheckpoint(string Path, StreamCheckpointMetadata Metadata, byte[] Payload);

    /// <summary>The metadata block of a <see cref="Checkpoint"/> container.</summary>
    internal sealed record StreamCheckpointMetadata
    {
        /// <summary>The format version.</summary>
        public int Format { get; init; } = 1;

        /// <summary>What wrote it: <c>stream</c> (the built-in trainer's containers have no kind).</summary>
        public string Kind { get; init; } = StreamKind;

        /// <summary>The run.</summary>
        public string RunId { get; init; } = "";

        /// <summary>Epochs done.</summary>
        public int Epoch { get; init; }

        /// <summary>The step counter.</summary>
        public long Step { get; init; }

        /// <summary>When it was written.</summary>
        public DateTimeOffset Time { get; init; }
    }
}
