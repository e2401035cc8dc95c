// The Kestrel dashboard (issue #5). Until it lands, it refuses to run rather than pretend.
Console.Error.WriteLine("stability-dashboard: not implemented yet (issue #5).");
return 64;
