// EchoClient: connects, sends lines from stdin (or --count N messages of --size S bytes), then
// --binary N binary messages of --size S bytes, prints every reply and the negotiated TLS facts. Takes events in a loop of its own (pull mode,
// ReceiveAsync).
//
//   mono EchoClient.exe wss://localhost:8443/ --pfx client.pfx --password secret --ca-dir cas
//   mono EchoClient.exe ws://127.0.0.1:9000/ --count 100 --size 1024
//   mono EchoClient.exe ws://127.0.0.1:9000/ --deflate     (offers permessage-deflate)
//
// A failed connect (e.g. a TLS handshake) prints the full detail and exits with status 1.
using System;
using System.Threading;
using Wss;

namespace WssExamples
{
    internal static class EchoClient
    {
        private static readonly TimeSpan ReplyWait = TimeSpan.FromSeconds(30);

        private static void Usage()
        {
            Console.Error.WriteLine("usage: EchoClient URL [--cert F --key F | --pfx F --password P] [--ca-file F]\n" +
                                    "                  [--ca-dir D] [--count N --size S] [--binary N] [--deflate]");
        }

        /// <summary>Wait for the next message; report errors. False when the connection ended or timed out.</summary>
        private static bool AwaitReply(WssClient client, ref int failures)
        {
            while (true)
            {
                WssEvent ev;
                using (var cts = new CancellationTokenSource(ReplyWait))
                {
                    try
                    {
                        ev = client.ReceiveAsync(cts.Token).GetAwaiter().GetResult();
                    }
                    catch (OperationCanceledException)
                    {
                        Console.Error.WriteLine("no reply within " + (int)ReplyWait.TotalSeconds + " s");
                        return false;
                    }
                }
                if (ev == null)
                {
                    return false; // every event was taken: the Close event said why
                }
                switch (ev.Type)
                {
                    case WssEventType.Message:
                        Console.WriteLine("reply: " + (ev.IsText ? ev.Text : ev.Data.Length + " bytes"));
                        return true;
                    case WssEventType.Error:
                        Report.Error(Console.Error, ev.Error);
                        failures++;
                        break;
                    case WssEventType.Close:
                        Console.WriteLine("closed by server: " + ev.CloseCode + " " + ev.CloseReason);
                        return false;
                }
            }
        }

        private static int Main(string[] args)
        {
            if (args.Length < 1)
            {
                Usage();
                return 2;
            }
            string url = args[0];
            var tlsArgs = new TlsArgs();
            long count = -1, binary = 0;
            int size = 16;
            bool deflate = false;
            try
            {
                for (int i = 1; i < args.Length; i++)
                {
                    if (tlsArgs.Parse(args, ref i)) continue;
                    if (args[i] == "--count" && i + 1 < args.Length) count = long.Parse(args[++i]);
                    else if (args[i] == "--size" && i + 1 < args.Length) size = int.Parse(args[++i]);
                    else if (args[i] == "--binary" && i + 1 < args.Length) binary = long.Parse(args[++i]);
                    else if (args[i] == "--deflate") deflate = true;
                    else
                    {
                        Usage();
                        return 2;
                    }
                }
            }
            catch (Exception e) when (e is FormatException || e is OverflowException || e is ArgumentException)
            {
                Console.Error.WriteLine(e.Message);
                Usage();
                return 2;
            }

            int failures = 0;
            try
            {
                using (var client = new WssClient())
                {
                    using (var tls = tlsArgs.Config())
                    using (var options = new WssOptions().SetDeflate(deflate))
                    {
                        client.ConnectPull(url, tls, options);
                    }
                    var info = client.Connection.GetInfo();
                    Console.WriteLine("connected: " + Report.TlsFacts(info) + Report.Compression(info));
                    long replies = 0;
                    if (count >= 0)
                    {
                        string payload = new string('x', size);
                        for (long n = 0; n < count; n++)
                        {
                            client.Send(payload);
                            if (!AwaitReply(client, ref failures)) break;
                            replies++;
                        }
                    }
                    else
                    {
                        string line;
                        while ((line = Console.ReadLine()) != null)
                        {
                            client.Send(line);
                            if (!AwaitReply(client, ref failures)) break;
                            replies++;
                        }
                    }
                    byte[] bytes = new byte[size];
                    for (int b = 0; b < size; b++) bytes[b] = 0xA5;
                    for (long n = 0; n < binary; n++)
                    {
                        client.Send(bytes);
                        if (!AwaitReply(client, ref failures)) break;
                        replies++;
                    }
                    Console.WriteLine(replies + " replies");
                    client.Close(1000, "bye", TimeSpan.FromSeconds(5));
                    bool complete = count < 0 || replies == count + binary;
                    return failures == 0 && complete ? 0 : 1;
                }
            }
            catch (WssException e)
            {
                Report.Error(Console.Error, e);
                return 1;
            }
        }
    }
}
