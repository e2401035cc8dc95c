using StabilityTools.Engine.Models;
using StabilityTools.Trainer.Configuration;
using StabilityTools.Trainer.Data;
using StabilityTools.Trainer.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace StabilityTools.Trainer.Training;

/// <summary>What the model says about data it was not trained on: validation figures and the dashboard's market window.</summary>
internal static class ModelEvaluation
{
    private const int ValidationChunk = 2048;

    /// <summary>Mean loss and accuracy on the validation split, in chunks; leaves the model in training mode.</summary>
    public static (double Loss, double Accuracy) Validate(MarketModel model, nn.Module<Tensor, Tensor, Tensor> lossFunction, Tensor inputs, Tensor labels, FeatureSet features)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        double lossSum = 0;
        long correct = 0;
        for (var start = features.ValidationStart; start < features.Count; start += ValidationChunk)
        {
            using var scope = torch.NewDisposeScope();
            var size = Math.Min(ValidationChunk, features.Count - start);
            var x = inputs.narrow(0, start, size);
            var y = labels.narrow(0, start, size);
            var logits = model.forward(x);
            lossSum += lossFunction.forward(logits, y).item<float>() * size;
            correct += logits.gt(0).eq(y.gt(0.5f)).sum().item<long>();
        }

        model.train();
        return (lossSum / features.ValidationCount, (double)correct / features.ValidationCount);
    }

    /// <summary>The newest validation bars with the model's probability that each next bar closes up.</summary>
    public static MarketData Market(TrainerOptions options, MarketModel model, Tensor inputs, FeatureSet features)
    {
        var count = Math.Min(options.Status.PredictionBars, features.ValidationCount);
        var first = features.Count - count;
        float[] probabilities;
        model.eval();
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            probabilities = model.forward(inputs.narrow(0, first, count)).sigmoid().cpu().data<float>().ToArray();
        }

        model.train();
        var bars = new List<MarketBar>(count);
        var predictions = new List<MarketPrediction>(count);
        for (var i = 0; i < count; i++)
        {
            var bar = features.Bars[features.BarIndex[first + i]];
            bars.Add(bar);
            var p = probabilities[i];
            predictions.Add(new MarketPrediction(bar.Time, Math.Round(p, 4), p > 0.55 ? 1 : p < 0.45 ? -1 : 0));
        }

        return new MarketData
        {
            Symbol = options.Data.Symbol,
            Source = options.Data.Source == "csv" ? options.Data.CsvPath : "synthetic",
            Bars = bars,
            Predictions = predictions,
        };
    }
}
