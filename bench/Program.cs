Console.Error.WriteLine("usage: stability-bench <store>");
return 64;
