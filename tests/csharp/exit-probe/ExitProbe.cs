// ExitProbe: a small client program run as its own `mono` process by ExitTests, to prove that a
// process whose client took events on the library's threads exits on its own (Mono waits at
// exit for native threads that ran managed code; the library ends its client I/O threads once
// the last client connection is gone).
//
//   mono ExitProbe.exe MODE URL CERTS_DIR
//
// MODE: callbacks (Connect, echo, Close, Dispose), async (ConnectAsync, the same), pull
// (ConnectPull, ReceiveAsync, Dispose), async-fail (ConnectAsync to URL, expected to fail, then
// Dispose), finalized (Connect, echo, then no Close/Dispose: the finalizer frees the client),
// abandoned (Connect, echo, then return from Main with the client still open and referenced),
// server-abandoned (a server of its own and a client, both left open; URL unused).
// Prints "probe done" and returns 0 when every step did what it should; returning from Main is
// the last thing it does, so the process exiting is up to the runtime and the library.
using System;
using System.Collections.Concurrent;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading;
using Wss;

namespace WssExitProbe
{
    internal static class ExitProbe
    {
        private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

        /// <summary>Kept reachable until Main returns (mode "abandoned").</summary>
        private static WssClient abandoned;

        /// <summary>Kept reachable until Main returns (mode "server-abandoned").</summary>
        private static WssServer abandonedServer;

        private static int Main(string[] args)
        {
            if (args.Length != 3)
            {
                Console.Error.WriteLine("usage: ExitProbe MODE URL CERTS_DIR");
                return 2;
            }
            string mode = args[0], url = args[1], certs = args[2];
            try
            {
                using (var tls = new TlsConfig().LoadCaDirectory(Path.Combine(certs, "ca-dir")).LoadPfx(Path.Combine(certs, "client.pfx"), "client-pass"))
                {
                    switch (mode)
                    {
                        case "callbacks":
                        case "async":
                            using (var client = new WssClient())
                            {
                                var probe = new Probe(client);
                                if (mode == "async")
                                {
                                    if (!client.ConnectAsync(url, tls).Wait(Deadline)) return Fail("ConnectAsync did not complete");
                                }
                                else
                                {
                                    client.Connect(url, tls);
                                }
                                probe.Echo(client, 3);
                                client.Close(1000, "bye", Deadline);
                                probe.AwaitClosed();
                            }
                            break;
                        case "pull":
                            using (var client = new WssClient())
                            {
                                client.ConnectPull(url, tls);
                                client.Send("pulled");
                                WssEvent ev;
                                do
                                {
                                    var next = client.ReceiveAsync();
                                    if (!next.Wait(Deadline)) return Fail("no event in pull mode");
                                    ev = next.Result;
                                }
                                while (ev != null && ev.Type == WssEventType.Open);
                                if (ev == null || ev.Type != WssEventType.Message || ev.Text != "pulled") return Fail("no echo in pull mode");
                            }
                            break;
                        case "async-fail":
                            using (var client = new WssClient())
                            {
                                try
                                {
                                    client.ConnectAsync(url, tls).Wait(Deadline);
                                    return Fail("ConnectAsync to " + url + " succeeded");
                                }
                                catch (AggregateException e) when (e.InnerException is WssException)
                                {
                                    Console.WriteLine("failed as expected: " + ((WssException)e.InnerException).Code);
                                }
                            }
                            break;
                        case "finalized":
                            ConnectAndForget(url, tls);
                            GC.Collect();
                            GC.WaitForPendingFinalizers();
                            break;
                        case "abandoned":
                            abandoned = new WssClient();
                            abandoned.Connect(url, tls);
                            new Probe(abandoned).Echo(abandoned, 1);
                            break;
                        case "server-abandoned":
                            // A callback server of this process, neither closed nor disposed,
                            // with an open client connection from this process too.
                            var server = new WssServer();
                            server.MessageReceived += (o, e) => e.Connection.Send(e.Text);
                            server.Start("127.0.0.1:0");
                            abandonedServer = server;
                            abandoned = new WssClient();
                            abandoned.Connect("ws://127.0.0.1:" + abandonedServer.Port + "/");
                            new Probe(abandoned).Echo(abandoned, 1);
                            break;
                        default:
                            return Fail("unknown mode " + mode);
                    }
                }
            }
            catch (Exception e)
            {
                return Fail(e.ToString());
            }
            Console.WriteLine("probe done");
            return 0;
        }

        /// <summary>A client nobody disposes: only its finalizer frees it.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void ConnectAndForget(string url, TlsConfig tls)
        {
            var client = new WssClient();
            client.Connect(url, tls);
            new Probe(client).Echo(client, 1);
        }

        private static int Fail(string why)
        {
            Console.Error.WriteLine("probe failed: " + why);
            return 1;
        }

        /// <summary>
        /// The handlers of one client and waits on what they saw. The handlers do not reach the
        /// client: the library holds them (through the client's GCHandle) until it is freed, so
        /// a handler that captured the client would keep it from being finalized.
        /// </summary>
        private sealed class Probe
        {
            private readonly BlockingCollection<string> replies = new BlockingCollection<string>();
            private readonly ManualResetEventSlim closed = new ManualResetEventSlim();

            internal Probe(WssClient client)
            {
                client.MessageReceived += (s, e) => replies.Add(e.Text);
                client.Closed += (s, e) => closed.Set();
                client.Error += (s, e) => Console.Error.WriteLine("error event: " + e.Error.Detail);
            }

            internal void Echo(WssClient client, int count)
            {
                for (int i = 0; i < count; i++)
                {
                    client.Send("message " + i);
                    string reply;
                    if (!replies.TryTake(out reply, Deadline) || reply != "message " + i)
                    {
                        throw new InvalidOperationException("no echo of message " + i);
                    }
                }
            }

            internal void AwaitClosed()
            {
                if (!closed.Wait(Deadline)) throw new InvalidOperationException("no Closed event");
            }
        }
    }
}
