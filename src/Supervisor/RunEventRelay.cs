using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Platform;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// Copies the events a service run as another user (<c>-RunAsUser</c>) writes into its run's own <c>events.jsonl</c>
/// into the state directory's log, which that user cannot reach. Who wrote them is what the kernel says (the file's
/// owner): the copy carries the service's name and the owner as <c>writer_uid</c>/<c>writer_user</c>, and what the
/// writer claimed for itself, where it differs, as <c>claimed_service</c>/<c>claimed_user</c>.
/// </summary>
internal sealed class RunEventRelay(string service, RunPaths run, JsonLinesLog<StabilityEvent> target)
{
    private readonly object _gate = new();
    private readonly JsonLinesLog<StabilityEvent> _source = new(Path.Combine(run.Directory, "events.jsonl"));

    // What a supervisor before this one found there was copied by it.
    private long _offset = FileStatus.TryLstat(Path.Combine(run.Directory, "events.jsonl"), out var status) && status.IsRegularFile
        ? new FileInfo(Path.Combine(run.Directory, "events.jsonl")).Length
        : 0;

    /// <summary>Copies what was written since the last call; returns how many events. Never throws for a bad or missing file.</summary>
    public int Pump()
    {
        lock (_gate)
        {
            if (!FileStatus.TryLstat(_source.Path, out var file) || !file.IsRegularFile)
            {
                return 0;
            }

            JsonLinesReadResult<StabilityEvent> read;
            try
            {
                read = _source.ReadFrom(_offset);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or UnsafeFileException)
            {
                return 0;
            }

            if (read.Records.Count == 0)
            {
                _offset = read.EndOffset;
                return 0;
            }

            var writer = SafeFile.UserName(file.Uid);
            var copies = read.Records.Select(e => e with
            {
                Service = service,
                User = writer,
                Data = Stamp(e, file.Uid, writer),
            }).ToList();
            try
            {
                target.AppendRange(copies);
            }
            catch (StabilityException)
            {
                // The state directory's log cannot take them now (a full disk): the next pump copies them again.
                return 0;
            }

            _offset = read.EndOffset;
            return copies.Count;
        }
    }

    private Dictionary<string, string> Stamp(StabilityEvent e, int uid, string writer)
    {
        var data = e.Data is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(e.Data, StringComparer.Ordinal);
        data["run_id"] = run.RunId;
        data["writer_uid"] = uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        data["writer_user"] = writer;
        if (e.Service is { } claimedService && claimedService != service)
        {
            data["claimed_service"] = claimedService;
        }

        if (e.User is { } claimedUser && claimedUser != writer)
        {
            data["claimed_user"] = claimedUser;
        }

        return data;
    }
}
