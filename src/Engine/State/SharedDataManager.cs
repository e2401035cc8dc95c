using StabilityTools.Engine.Models;
using StabilityTools.Engine.Status;

namespace StabilityTools.Engine.State;

/// <summary>
/// The seed's SharedDataManager: the trainer's and dashboard's documents and logs in one state directory,
/// through one <see cref="StatusStore"/>. Writers lock and replace atomically; readers never lock and get a
/// <see cref="ReadResult{T}"/> that reports missing, corrupt and stale files as states.
/// </summary>
public sealed class SharedDataManager
{
    /// <summary>Creates the manager over <paramref name="stateDirectory"/>.</summary>
    public SharedDataManager(StateDirectory stateDirectory, StatusStoreOptions? storeOptions = null, JsonLinesOptions? logOptions = null)
    {
        State = stateDirectory;
        Store = new StatusStore(storeOptions);
        Metrics = new JsonLinesLog<MetricRecord>(stateDirectory.MetricsLogPath, logOptions);
        Events = new JsonLinesLog<StabilityEvent>(stateDirectory.EventsLogPath, logOptions);
    }

    /// <summary>The state directory.</summary>
    public StateDirectory State { get; }

    /// <summary>The store, for documents other than the ones named here.</summary>
    public StatusStore Store { get; }

    /// <summary><c>data/metrics.jsonl</c>.</summary>
    public JsonLinesLog<MetricRecord> Metrics { get; }

    /// <summary><c>events.jsonl</c>.</summary>
    public JsonLinesLog<StabilityEvent> Events { get; }

    /// <summary>Writes <c>data/training_status.json</c>.</summary>
    public TrainingStatus WriteTrainingStatus(TrainingStatus status) => Store.Write(State.TrainingStatusPath, status);

    /// <summary>Reads <c>data/training_status.json</c>.</summary>
    public ReadResult<TrainingStatus> ReadTrainingStatus(TimeSpan? staleAfter = null) => Store.Read<TrainingStatus>(State.TrainingStatusPath, staleAfter);

    /// <summary>Writes <c>data/market_data.json</c>.</summary>
    public MarketData WriteMarketData(MarketData data) => Store.Write(State.MarketDataPath, data);

    /// <summary>Reads <c>data/market_data.json</c>.</summary>
    public ReadResult<MarketData> ReadMarketData(TimeSpan? staleAfter = null) => Store.Read<MarketData>(State.MarketDataPath, staleAfter);

    /// <summary>Writes <c>data/model_metrics.json</c>.</summary>
    public ModelMetrics WriteModelMetrics(ModelMetrics metrics) => Store.Write(State.ModelMetricsPath, metrics);

    /// <summary>Reads <c>data/model_metrics.json</c>.</summary>
    public ReadResult<ModelMetrics> ReadModelMetrics(TimeSpan? staleAfter = null) => Store.Read<ModelMetrics>(State.ModelMetricsPath, staleAfter);

    /// <summary>Writes <c>data/dashboard_state.json</c>.</summary>
    public DashboardState WriteDashboardState(DashboardState state) => Store.Write(State.DashboardStatePath, state);

    /// <summary>Reads <c>data/dashboard_state.json</c>.</summary>
    public ReadResult<DashboardState> ReadDashboardState(TimeSpan? staleAfter = null) => Store.Read<DashboardState>(State.DashboardStatePath, staleAfter);

    /// <summary>Reads the state document of dashboard <paramref name="name"/> (<see cref="StateDirectory.DashboardStateFileName"/>).</summary>
    /// <exception cref="ArgumentException">The name is not a valid service name.</exception>
    public ReadResult<DashboardState> ReadDashboardState(string name, TimeSpan? staleAfter = null) => Store.Read<DashboardState>(State.DashboardStatePathFor(name), staleAfter);

    /// <summary>Reads the state document of every dashboard that wrote one, by name.</summary>
    public IReadOnlyList<(string Name, ReadResult<DashboardState> Result)> ReadDashboardStates(TimeSpan? staleAfter = null) =>
        [.. State.ListDashboardStates().Select(d => (d.Name, Store.Read<DashboardState>(d.Path, staleAfter)))];

    /// <summary>Reads <c>services/&lt;name&gt;/status.json</c>.</summary>
    public ReadResult<ProcessStatus> ReadProcessStatus(string service, TimeSpan? staleAfter = null) =>
        Store.Read<ProcessStatus>(State.ServiceStatusPath(service), staleAfter);

    /// <summary>Reads <c>resources/quotas.json</c>.</summary>
    public ReadResult<ResourceQuotas> ReadQuotas() => Store.Read<ResourceQuotas>(State.QuotasPath);

    /// <summary>Changes <c>resources/quotas.json</c> by locked read-modify-write (a missing file starts empty).</summary>
    /// <exception cref="Errors.CorruptDocumentException">The file exists but cannot be read; it is left as it is.</exception>
    public ResourceQuotas UpdateQuotas(Func<ResourceQuotas, ResourceQuotas> update) =>
        Store.Update<ResourceQuotas>(State.QuotasPath, current => update(current ?? new ResourceQuotas()));
}
