// EchoServer: echoes every message back. The same code serves ws:// (--plain) and wss://.
//
//   mono EchoServer.exe --port 8443 --pfx server.pfx --password secret --ca-dir cas --require-client-cert
//   mono EchoServer.exe --port 0 --plain          (prints the port it got)
//   mono EchoServer.exe --port 0 --plain --deflate (accepts permessage-deflate)
//
// Prints each connection's TLS version, cipher and client certificate subject; stops cleanly
// (closing every connection with 1001) on SIGINT or SIGTERM.
using System;
using Wss;

namespace WssExamples
{
    internal static class EchoServer
    {
        private static void Usage()
        {
            Console.Error.WriteLine("usage: EchoServer [--port N] [--plain] [--cert F --key F | --pfx F --password P]\n" +
                                    "                  [--ca-file F] [--ca-dir D] [--crl F] [--require-client-cert]\n" +
                                    "                  [--io-threads N] [--deflate]");
        }

        private static int Main(string[] args)
        {
            int port = 8443;
            bool plain = false;
            uint ioThreads = 0;
            bool deflate = false;
            var tlsArgs = new TlsArgs();
            try
            {
                for (int i = 0; i < args.Length; i++)
                {
                    if (tlsArgs.Parse(args, ref i)) continue;
                    if (args[i] == "--port" && i + 1 < args.Length) port = int.Parse(args[++i]);
                    else if (args[i] == "--plain") plain = true;
                    else if (args[i] == "--io-threads" && i + 1 < args.Length) ioThreads = uint.Parse(args[++i]);
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

            var stop = new StopSignals();

            var output = TextWriter();
            try
            {
                using (var server = new WssServer())
                {
                    // Handlers run on the library's I/O threads; Console.Out is synchronized.
                    server.Opened += (s, e) =>
                    {
                        var info = e.Connection.GetInfo();
                        output.WriteLine("open " + e.Connection.Id + " from " + info.RemoteAddress + " " + info.Path + ": " +
                                         Report.TlsFacts(info) + Report.Compression(info));
                    };
                    server.MessageReceived += (s, e) =>
                    {
                        if (e.IsText) e.Connection.Send(e.Text);
                        else e.Connection.Send(e.Data);
                    };
                    server.Closed += (s, e) => output.WriteLine("close " + e.Connection.Id + ": " + e.Code + " " + e.Reason);
                    server.Error += (s, e) =>
                    {
                        if (e.Connection != null && e.Connection.Id != 0) output.WriteLine("error on connection " + e.Connection.Id);
                        else output.WriteLine("error before a connection opened (TLS or upgrade handshake)");
                        Report.Error(output, e.Error);
                    };
                    server.CallbackException += (s, e) => Console.Error.WriteLine("a " + e.EventName + " handler threw: " + e.Exception);

                    using (var options = new WssOptions().SetIoThreads(ioThreads).SetDeflate(deflate))
                    using (var tls = plain ? null : tlsArgs.Config())
                    {
                        server.Start("0.0.0.0:" + port, tls, options);
                    }
                    output.WriteLine("listening on port " + server.Port + (plain ? " (ws)" : " (wss)"));
                    int signal = stop.Wait();
                    output.WriteLine("signal " + signal + ": closing");
                    server.Close(TimeSpan.FromSeconds(5));
                }
                output.WriteLine("stopped");
                return 0;
            }
            catch (WssException e)
            {
                Report.Error(Console.Error, e);
                return 1;
            }
        }

        /// <summary>Standard output, flushed after every line (the smoke test reads it through a pipe).</summary>
        private static System.IO.TextWriter TextWriter()
        {
            var w = new System.IO.StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
            return System.IO.TextWriter.Synchronized(w);
        }
    }
}
