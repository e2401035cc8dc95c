// TorchSharp's generator and thread settings are process-wide: tests that train must not overlap.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
