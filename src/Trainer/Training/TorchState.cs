using TorchSharp;
using static TorchSharp.torch;

namespace StabilityTools.Trainer.Training;

/// <summary>Model, optimizer and RNG state to and from bytes (TorchSharp's own format).</summary>
internal static class TorchState
{
    /// <summary>The module's state dictionary.</summary>
    public static byte[] Save(nn.Module module)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            module.save(writer);
        }

        return stream.ToArray();
    }

    /// <summary>Loads a state dictionary saved by <see cref="Save(nn.Module)"/> into a module of the same shape.</summary>
    public static void Load(nn.Module module, byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state));
        module.load(reader);
    }

    /// <summary>The optimizer's state (moments, step counts, options).</summary>
    public static byte[] Save(optim.Optimizer optimizer)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            ((TorchSharp.Modules.OptimizerHelper)optimizer).save_state_dict(writer);
        }

        return stream.ToArray();
    }

    /// <summary>Loads optimizer state saved by <see cref="Save(optim.Optimizer)"/>.</summary>
    public static void Load(optim.Optimizer optimizer, byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state));
        ((TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(reader);
    }

    /// <summary>torch's CPU generator state.</summary>
    public static byte[] SaveRng()
    {
        using var state = torch.random.get_rng_state();
        return state.data<byte>().ToArray();
    }

    /// <summary>Restores torch's CPU generator state.</summary>
    public static void LoadRng(byte[] state)
    {
        using var tensor = torch.tensor(state, dtype: ScalarType.Byte);
        torch.random.set_rng_state(tensor);
    }
}
