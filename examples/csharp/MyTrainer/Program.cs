// A user's own trainer, written only against the StabilityTools.Reporting library: what a team with a training loop
// of its own writes. It fits y = 3x + 1 by plain SGD (no TorchSharp, to stay small), one mini-batch per step.
//
// Every epoch's record says where training was: steps_trained (kept in the model's checkpoint) must be epoch x steps
// after epoch e, whatever kills and resumes happened in between; the tests kill it and check exactly that
// (tests/Pester/CSharpTrainer.Tests.ps1). An epoch's batches come from a generator seeded by the epoch alone, so a
// retrained epoch sees the same data.
//
//   dotnet run -- [--epochs 10] [--steps 20] [--step-delay 0.02] [--lr 0.05]
using System.Globalization;
using System.Text.Json;
using StabilityTools.Reporting;

int epochs = 10, steps = 20;
double stepDelay = 0.02, lr = 0.05;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    var value = args[i + 1];
    switch (args[i])
    {
        case "--epochs": epochs = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--steps": steps = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--step-delay": stepDelay = double.Parse(value, CultureInfo.InvariantCulture); break;
        case "--lr": lr = double.Parse(value, CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"my-trainer: unknown argument '{args[i]}'"); return 64;
    }
}

var options = new StabilityRunOptions { TotalEpochs = epochs, StepsPerEpoch = steps, HeartbeatInterval = TimeSpan.FromMilliseconds(250) };
return StabilityRun.Execute(options, run =>
{
    run.Params(new Dictionary<string, object?>
    {
        ["lr"] = lr, ["steps"] = steps, ["optimizer"] = new Dictionary<string, object?> { ["name"] = "sgd", ["batch"] = Line.Batch },
    });
    var line = run.Resume(stream => JsonSerializer.Deserialize<Line>(stream)!)?.State ?? new Line();
    foreach (var epoch in run.Epochs())
    {
        var data = new Random(epoch);
        var loss = 0.0;
        for (var step = 0; step < steps; step++)
        {
            run.StopToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(stepDelay));
            loss = line.Train(data, lr);
            run.Step(loss, samples: Line.Batch);        // progress for the supervisor; throws once SIGTERM arrived
        }

        // Log, then checkpoint: a kill in between retrains the epoch and its first record stands.
        run.Log(epoch, loss: loss, valAccuracy: 1 / (1 + Math.Abs(line.W - 3) + Math.Abs(line.B - 1)), learningRate: lr,
            scalars: new Dictionary<string, double> { ["steps_trained"] = line.Steps, ["slope"] = line.W, ["grad_norm"] = 0.5 / epoch });
        run.Checkpoint(epoch, stream => JsonSerializer.Serialize(stream, line));
    }

    run.SaveFinal(stream => JsonSerializer.Serialize(stream, line));
});

/// <summary>The model: y = W x + B, and how many steps trained it.</summary>
internal sealed class Line
{
    public const int Batch = 8;

    public double W { get; set; }

    public double B { get; set; }

    public long Steps { get; set; }

    /// <summary>One SGD step on a fresh mini-batch of y = 3x + 1 (plus noise); returns its mean squared error.</summary>
    public double Train(Random data, double lr)
    {
        double gw = 0, gb = 0, loss = 0;
        for (var i = 0; i < Batch; i++)
        {
            var x = data.NextDouble() * 2 - 1;
            var error = W * x + B - (3 * x + 1 + (data.NextDouble() - 0.5) * 0.1);
            (gw, gb, loss) = (gw + 2 * error * x / Batch, gb + 2 * error / Batch, loss + error * error / Batch);
        }

        (W, B, Steps) = (W - lr * gw, B - lr * gb, Steps + 1);
        return loss;
    }
}
