using StabilityTools.Trainer.Configuration;
using StabilityTools.Trainer.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace StabilityTools.Trainer.Modeling;

/// <summary>
/// The next-bar direction classifier: input [batch, window, channels], output one logit per sample
/// (probability that the next bar closes higher, before the sigmoid). <c>mlp</c> flattens the window into
/// fully connected ReLU layers; <c>lstm</c> runs stacked LSTM layers over the window and reads the last step.
/// </summary>
internal sealed class MarketModel : nn.Module<Tensor, Tensor>
{
    private readonly string _kind;
    private readonly Sequential? _mlp;
    private readonly LSTM? _lstm;
    private readonly Linear? _head;

    /// <summary>Builds the model with freshly initialised weights (from torch's global generator).</summary>
    public MarketModel(ModelOptions options, int window)
        : base("market_model")
    {
        _kind = options.Kind;
        if (_kind == "lstm")
        {
            _lstm = nn.LSTM(FeatureSet.Channels, options.HiddenSize, options.Layers, batchFirst: true,
                dropout: options.Layers > 1 ? options.Dropout : 0);
            _head = nn.Linear(options.HiddenSize, 1);
        }
        else
        {
            var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
            var inputs = window * FeatureSet.Channels;
            for (var i = 0; i < options.Layers; i++)
            {
                layers.Add(($"fc{i}", nn.Linear(inputs, options.HiddenSize)));
                layers.Add(($"relu{i}", nn.ReLU()));
                if (options.Dropout > 0)
                {
                    layers.Add(($"drop{i}", nn.Dropout(options.Dropout)));
                }

                inputs = options.HiddenSize;
            }

            layers.Add(("out", nn.Linear(inputs, 1)));
            _mlp = nn.Sequential(layers);
        }

        RegisterComponents();
    }

    /// <summary>Trainable parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (_mlp is not null)
        {
            return _mlp.forward(input.flatten(1)).squeeze(1);
        }

        using var scope = NewDisposeScope();
        var (output, _, _) = _lstm!.forward(input);
        var last = output.select(1, -1);
        return _head!.forward(last).squeeze(1).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _mlp?.Dispose();
            _lstm?.Dispose();
            _head?.Dispose();
        }

        base.Dispose(disposing);
    }
}
