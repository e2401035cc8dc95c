// The TorchSharp trainer (issue #4). Until it lands, it refuses to run rather than pretend.
Console.Error.WriteLine("stability-trainer: not implemented yet (issue #4).");
return 64;
