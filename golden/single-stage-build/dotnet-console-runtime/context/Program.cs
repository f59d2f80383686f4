Console.WriteLine("tick");
