using StabilityTools.Engine.Errors;
using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Supervisor;

/// <summary>
/// Copies the state document a dashboard run as another user writes in its own folder (<c>services/&lt;name&gt;/own/</c>)
/// to its place in <c>data/</c>, which that user cannot write: each time the dashboard wrote a new one (its seq moved),
/// so a dashboard that stops writing goes stale there as it would have by itself.
/// </summary>
internal sealed class OwnDocumentRelay(string source, string target, StatusStore store)
{
    private readonly object _gate = new();
    private long _copiedSeq = -1;

    /// <summary>Copies the document when it is new; true when it did. Never throws for the file's condition.</summary>
    public bool Pump()
    {
        lock (_gate)
        {
            var read = store.Read<DashboardState>(source);
            if (read.Document is not { } document || read.State is not (ReadState.Ok or ReadState.Stale) || document.Seq == _copiedSeq)
            {
                return false;
            }

            try
            {
                store.Write(target, document);
            }
            catch (StabilityException)
            {
                return false;
            }

            _copiedSeq = document.Seq;
            return true;
        }
    }
}
