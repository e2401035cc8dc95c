using StabilityTools.Engine.Models;
using StabilityTools.Engine.State;
using StabilityTools.Engine.Status;
using StabilityTools.Tests.Shared;

namespace StabilityTools.Dashboard.Tests.Support;

/// <summary>A real state directory in a temp folder, written through the engine's own writers as the trainer and supervisors would.</summary>
internal sealed class SampleState : IDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _temp = new("st-dash");
    private int _metricsAppended;

    public SampleState()
    {
        State = StateDirectory.Open(_temp.Path);
        Run = State.EnsureRun(RunId);
        Data = new SharedDataManager(State, new StatusStoreOptions { Fsync = false }, run: Run);
    }

    /// <summary>The run the sample's trainer documents belong to: the only one, so the dashboard shows it.</summary>
    public const string RunId = "run-1";

    public string Root => State.Root;

    public StateDirectory State { get; }

    public RunPaths Run { get; }

    public SharedDataManager Data { get; }

    /// <summary>Training, model metrics, market, quotas with one GPU, two services, metrics and events.</summary>
    public SampleState Populate(int metricRecords = 500)
    {
        WriteTraining(epoch: 3);
        Data.WriteModelMetrics(new ModelMetrics
        {
            RunId = "run-1", Epoch = 2, Step = 200, TrainLoss = 0.61, TrainAccuracy = 0.66, ValLoss = 0.64, ValAccuracy = 0.63,
            BestValAccuracy = 0.63, BestEpoch = 2, SamplesPerSec = 1500, LearningRate = 0.001, Model = "mlp", Parameters = 12345,
        });
        WriteMarket();
        Data.UpdateQuotas(q => q with
        {
            Devices = [new GpuDevice(0, "NVIDIA H200", "GPU-abc", 143771, 2048, 37, 41, 120)],
            GpuQuotas = [new GpuQuota("training", 8192, 0, QuotaAction.Restart, false)],
            GpuAllocations = [new GpuAllocation("training", [0], false, Start)],
        });
        WriteService("training", ServiceState.Running, DateTimeOffset.UtcNow, pid: 4242, gpuMb: 1024);
        WriteService("dashboard", ServiceState.Running, DateTimeOffset.UtcNow.AddHours(-2), pid: 4343);
        AppendMetrics(metricRecords);
        Data.Events.AppendRange([
            new StabilityEvent { Time = Start, Service = "training", Type = "started", Severity = EventSeverity.Info, Message = "training started" },
            new StabilityEvent { Time = Start.AddSeconds(1), Service = "training", Type = "limit_exceeded", Severity = EventSeverity.Warning, Message = "memory over 80 %" },
            new StabilityEvent { Time = Start.AddSeconds(2), Service = "training", Type = "exited", Severity = EventSeverity.Error, Message = "exited with code 3" },
        ]);
        return this;
    }

    public TrainingStatus WriteTraining(int epoch, TrainerState state = TrainerState.Running, DateTimeOffset? heartbeat = null) => Data.WriteTrainingStatus(new TrainingStatus
    {
        IsRunning = state == TrainerState.Running,
        State = state,
        CurrentEpoch = epoch,
        TotalEpochs = 20,
        Loss = 0.5 + 1.0 / epoch,
        Accuracy = 0.6,
        RunId = "run-1",
        Step = epoch * 100,
        TotalSteps = 2000,
        SamplesPerSec = 1234.5,
        EtaSeconds = 600,
        Device = "cpu",
        Heartbeat = heartbeat ?? DateTimeOffset.UtcNow,
        LastUpdate = DateTimeOffset.UtcNow,
        Progress = epoch,
        Pid = 4242,
    });

    public void WriteMarket(int bars = 60) => Data.WriteMarketData(new MarketData
    {
        Symbol = "SYNTH",
        Source = "synthetic",
        Bars = Enumerable.Range(0, bars).Select(i => new MarketBar(Start.AddMinutes(i), 100 + i, 101 + i, 99 + i, 100.5 + i, 1000)).ToList(),
        Predictions = Enumerable.Range(0, bars).Select(i => new MarketPrediction(Start.AddMinutes(i), 0.5 + (i % 10) / 100.0, i % 3 - 1)).ToList(),
    });

    public ProcessStatus WriteService(string name, ServiceState state, DateTimeOffset heartbeat, int pid, double? gpuMb = null)
    {
        State.EnsureServiceDirectory(name);
        return Data.Store.Write(State.ServiceStatusPath(name), new ProcessStatus
        {
            Name = name,
            Kind = name == "training" ? "training" : "dashboard",
            Pid = pid,
            Status = state,
            StartTime = DateTimeOffset.UtcNow.AddMinutes(-10),
            LastHeartbeat = heartbeat,
            MemoryUsage = 256,
            CpuUsage = 12.5,
            Restarts = 2,
            GpuMemoryMb = gpuMb,
        });
    }

    /// <summary>Appends step records one second apart, continuing after the ones appended before.</summary>
    public void AppendMetrics(int count, int firstEpoch = 1)
    {
        var first = _metricsAppended;
        _metricsAppended += count;
        var records = Enumerable.Range(first, count).Select(i => new MetricRecord
        {
            Time = Start.AddSeconds(i),
            RunId = "run-1",
            Kind = MetricKind.Step,
            Epoch = firstEpoch + (i - first) / 100,
            Step = i,
            TrainLoss = 2.0 / (1 + i),
            TrainAccuracy = Math.Min(1, 0.5 + i / 2000.0),
            SamplesPerSec = 1000,
        }).ToList();
        Data.Metrics.AppendRange(records);
    }

    public void Dispose() => _temp.Dispose();
}
