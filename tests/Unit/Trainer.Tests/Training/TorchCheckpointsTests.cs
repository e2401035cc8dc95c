using StabilityTools.Reporting.TorchSharp;
using StabilityTools.Tests.Shared;
using StabilityTools.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace StabilityTools.Trainer.Tests.Training;

/// <summary>The TorchSharp adapter of the Reporting library: a module and its optimizer through a run's checkpoints.</summary>
public sealed class TorchCheckpointsTests
{
    [Fact(Timeout = 300_000)]
    public void A_module_and_its_optimizer_come_back_from_the_newest_checkpoint_into_fresh_ones()
    {
        TorchRuntime.EnsureInitialized();
        using var temp = new TempDirectory("st-torchckpt");
        var options = new StabilityRunOptions { StateDirectory = temp.Path, RunId = "t1", TotalEpochs = 2, HandleSignals = false, Environment = _ => null };
        float[] trained, continued;
        using (var run = StabilityRun.Open(options))
        {
            torch.random.manual_seed(1);
            using var model = nn.Linear(4, 2);
            using var optimizer = optim.Adam(model.parameters(), 0.1);
            foreach (var epoch in run.Epochs())
            {
                Step(model, optimizer, epoch == 1 ? 1f : -3f);
                run.Step();
                run.Checkpoint(epoch, model, optimizer);
            }

            trained = model.weight!.data<float>().ToArray();
            // One more step after the last checkpoint: what a resumed optimizer must reproduce.
            Step(model, optimizer, 2f);
            continued = model.weight!.data<float>().ToArray();
        }

        using var again = StabilityRun.Open(options);
        torch.random.manual_seed(2);
        using var fresh = nn.Linear(4, 2);
        using var freshOptimizer = optim.Adam(fresh.parameters(), 0.1);
        Assert.NotEqual(trained, fresh.weight!.data<float>().ToArray());

        var found = again.Resume(fresh, freshOptimizer);

        Assert.NotNull(found);
        Assert.True(found.State, "the checkpoint held the optimizer's state");
        Assert.Equal(2, found.Epoch);
        Assert.Equal(trained, fresh.weight!.data<float>().ToArray());
        // Adam's moments and step count came back too: the next step is the one the original optimizer took (a fresh
        // Adam's first step would be lr times the gradient's sign; gradients that changed sign leave moments that are not).
        Step(fresh, freshOptimizer, 2f);
        Assert.Equal(continued, fresh.weight!.data<float>().ToArray());
    }

    /// <summary>One Adam step on a batch of <paramref name="input"/>s: the gradient is proportional to it.</summary>
    private static void Step(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, float input)
    {
        using var scope = torch.NewDisposeScope();
        optimizer.zero_grad();
        model.forward(torch.full(3, 4, input)).sum().backward();
        optimizer.step();
    }
}
