namespace StabilityTools.Trainer.Configuration;

/// <summary>The <c>model</c> section.</summary>
internal sealed record ModelOptions
{
    /// <summary><c>mlp</c> (default) or <c>lstm</c>.</summary>
    public string Kind { get; init; } = "mlp";

    /// <summary>Units per hidden layer. Default 64.</summary>
    public int HiddenSize { get; init; } = 64;

    /// <summary>Hidden layers (MLP) or stacked LSTM layers. Default 2.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Dropout between layers, 0 to 0.9. Default 0.</summary>
    public double Dropout { get; init; }
}
