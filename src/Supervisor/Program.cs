// The per-service supervisor (issue #3). Until it lands, it refuses to run rather than pretend.
Console.Error.WriteLine("stability-supervisor: not implemented yet (issue #3).");
return 64;
