using System.Text;
using StabilityTools.Engine.State;

namespace StabilityTools.Dashboard.Data;

/// <summary>
/// Notices when the set of runs or any run's record (<c>runs/*/run.json</c>) changed, by a stat of each record: the
/// <see cref="DashboardTopic.Runs"/> topic, which tells open pages that a run started, ended or appeared.
/// </summary>
internal sealed class RunCatalog(StateDirectory state)
{
    private string _fingerprint = "";

    /// <summary>True when the runs changed since the last call (the first call with runs on disk counts as a change).</summary>
    public bool Refresh()
    {
        var fingerprint = new StringBuilder();
        foreach (var id in state.ListRunIds())
        {
            var info = new FileInfo(state.Run(id).RunInfoPath);
            fingerprint.Append(id).Append(':');
            if (info.Exists)
            {
                fingerprint.Append(info.Length).Append('@').Append(info.LastWriteTimeUtc.Ticks);
            }

            fingerprint.Append('|');
        }

        var now = fingerprint.ToString();
        if (now == _fingerprint)
        {
            return false;
        }

        _fingerprint = now;
        return true;
    }
}
