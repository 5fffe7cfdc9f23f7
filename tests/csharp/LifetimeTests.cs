using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>Dispose during traffic, many sending threads, GC while callbacks fire, no leaked GCHandles.</summary>
    [TestFixture]
    public class LifetimeTests
    {
        [Test]
        public void DisposeDuringTrafficEndsSendersWithAnError()
        {
            using (var server = EchoServer())
            using (var tls = ClientTls())
            {
                var serverErrors = new Errors(server);
                var client = new WssClient();
                var echoes = new CountdownEvent(100);
                client.MessageReceived += (s, e) => { if (!echoes.IsSet) echoes.Signal(); };
                client.Connect(Url(server), tls);
                Exception ended = null;
                var sender = new Thread(() =>
                {
                    try
                    {
                        for (long i = 0; ; i++)
                        {
                            try
                            {
                                client.Send("message " + i);
                            }
                            catch (WssException e) when (e.Code == WssResult.Backpressure)
                            {
                                Thread.Yield();
                            }
                        }
                    }
                    catch (Exception e)
                    {
                        ended = e;
                    }
                });
                sender.Start();
                Wait(echoes, "echoes while sending");
                client.Dispose();
                Assert.IsTrue(sender.Join(Deadline), "the sender stops once the client is gone");
                Assert.IsInstanceOf<WssException>(ended, "" + ended);
                Assert.That(((WssException)ended).Code, Is.EqualTo(WssResult.NotConnected).Or.EqualTo(WssResult.Closed), "" + ended);
                client.Dispose();

                // The server is disposed while its peer is still sending, from another thread.
                var client2 = new WssClient();
                client2.Connect(Url(server), tls);
                var sending = Task.Run(() =>
                {
                    try
                    {
                        while (true) client2.Send(new byte[1024]);
                    }
                    catch (WssException e)
                    {
                        return e.Code;
                    }
                });
                server.Dispose();
                Assert.IsTrue(sending.Wait(Deadline), "the client's sends end once the server closed it");
                Assert.That(sending.Result, Is.EqualTo(WssResult.NotConnected).Or.EqualTo(WssResult.Closed).Or.EqualTo(WssResult.Backpressure));
                client2.Dispose();
                serverErrors.Queue.ToArray().ToList().ForEach(e => Assert.AreNotEqual(WssResult.Internal, e.Error.Code, e.Error.Detail));
            }
            Eventually(() => CallbackHandles.Live == 0, () => CallbackHandles.Live + " GCHandles still live");
        }

        [Test]
        public void ClientDisposeClosesWith1000()
        {
            using (var server = EchoServer())
            using (var tls = ClientTls())
            {
                var serverErrors = new Errors(server);
                var closed = new BlockingCollection<ClosedEventArgs>();
                server.Closed += (s, e) => closed.Add(e);
                var client = new WssClient();
                client.Connect(Url(server), tls);
                client.Dispose();
                var e2 = Take(closed, "the server's Closed");
                Assert.AreEqual(1000, e2.Code, "a graceful close, not 1006");
                Assert.AreEqual("", e2.Reason);
                serverErrors.AssertNone("server");
            }
        }

        [Test]
        public void ServerDisposeClosesWith1001()
        {
            using (var tls = ClientTls())
            using (var client = new WssClient())
            {
                var server = EchoServer();
                var serverClosed = new BlockingCollection<int>();
                server.Closed += (s, e) => serverClosed.Add(e.Code);
                var closed = new BlockingCollection<ClosedEventArgs>();
                var clientErrors = new Errors(client);
                client.Closed += (s, e) => closed.Add(e);
                client.Connect(Url(server), tls);
                server.Dispose();
                var e2 = Take(closed, "the client's Closed");
                Assert.AreEqual(1001, e2.Code, "going away, not 1006");
                Assert.AreEqual("server shutting down", e2.Reason, "the library's reason");
                Assert.AreEqual(1001, Take(serverClosed, "the server's own Closed"));
                clientErrors.AssertNone("client");
            }
        }

        [Test]
        public void EightThreadsSendOnOneConnection()
        {
            const int Threads = 8, PerThread = 500;
            using (var tls = ClientTls())
            using (var server = new WssServer())
            using (var client = new WssClient())
            {
                var last = new int[Threads];
                for (int i = 0; i < Threads; i++) last[i] = -1;
                var outOfOrder = 0;
                var received = new CountdownEvent(Threads * PerThread);
                server.MessageReceived += (s, e) =>
                {
                    var parts = e.Text.Split(':');
                    int t = int.Parse(parts[0]), n = int.Parse(parts[1]);
                    if (n != last[t] + 1) Interlocked.Increment(ref outOfOrder);
                    last[t] = n;
                    received.Signal();
                };
                using (var serverTls = ServerTls())
                {
                    server.Start("127.0.0.1:0", serverTls);
                }
                client.Connect(Url(server), tls);
                var start = new Barrier(Threads);
                var senders = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(() =>
                {
                    start.SignalAndWait();
                    for (int n = 0; n < PerThread; n++)
                    {
                        client.SendAsync(t + ":" + n).Wait();
                    }
                }, TaskCreationOptions.LongRunning)).ToArray();
                Assert.IsTrue(Task.WaitAll(senders, Deadline), "senders finished");
                Wait(received, "every message at the server");
                Assert.AreEqual(0, outOfOrder, "each thread's messages arrive in its order");
            }
        }

        [Test]
        public void GcInALoopWhileCallbacksFireLeaksNoHandles()
        {
            Eventually(() => CallbackHandles.Live == 0, () => "earlier tests left " + CallbackHandles.Live + " GCHandles");
            const int Messages = 2000;
            using (var tls = ClientTls())
            using (var server = EchoServer())
            {
                var stop = new ManualResetEventSlim();
                var collector = new Thread(() =>
                {
                    while (!stop.IsSet)
                    {
                        GC.Collect();
                        GC.WaitForPendingFinalizers();
                    }
                });
                collector.Start();
                try
                {
                    using (var client = new WssClient())
                    {
                        var echoes = new CountdownEvent(Messages);
                        // A fresh delegate per message would be collected if the wrapper did not keep
                        // its trampolines alive; the handler allocates so the GC has work.
                        client.MessageReceived += (s, e) => { var garbage = new byte[4096]; garbage[0] = e.Data[0]; echoes.Signal(); };
                        client.Connect(Url(server), tls);
                        for (int i = 0; i < Messages; i++)
                        {
                            client.SendAsync(new byte[] { (byte)i, 1, 2, 3 }).Wait();
                            if (i % 200 == 0)
                            {
                                // Short-lived connections churn the per-connection handles too.
                                using (var c = new WssClient())
                                {
                                    c.Connect(Url(server), tls);
                                }
                            }
                        }
                        Wait(echoes, "every echo while the GC runs");
                    }
                }
                finally
                {
                    stop.Set();
                    collector.Join();
                }
            }
            Eventually(() => CallbackHandles.Live == 0, () => CallbackHandles.Live + " GCHandles leaked");
        }

        [Test]
        public void UndisposedEndpointsAreFreedByTheirFinalizers()
        {
            Eventually(() => CallbackHandles.Live == 0, () => "earlier tests left " + CallbackHandles.Live + " GCHandles");
            var refs = Abandon();
            Eventually(() => CallbackHandles.Live == 0 && refs.All(r => !r.IsAlive),
                () => CallbackHandles.Live + " GCHandles live; alive: " + string.Join(",", refs.Select(r => r.IsAlive)));
        }

        /// <summary>A connected server and client nobody disposes; only weak references escape.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static List<WeakReference> Abandon()
        {
            var server = EchoServer();
            var client = new WssClient();
            var got = new CountdownEvent(1);
            client.MessageReceived += (s, e) => got.Signal();
            using (var tls = ClientTls())
            {
                client.Connect(Url(server), tls);
            }
            client.Send("before abandoning");
            Wait(got, "the echo");
            return new List<WeakReference> { new WeakReference(server), new WeakReference(client) };
        }
    }
}
