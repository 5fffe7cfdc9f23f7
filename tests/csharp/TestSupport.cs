using System;
using System.Collections.Concurrent;
using System.IO;
using System.Threading;
using NUnit.Framework;

namespace Wss.Tests
{
    /// <summary>Paths, TLS identities and waiting helpers shared by the fixtures.</summary>
    internal static class TestSupport
    {
        /// <summary>Generous: the machine is a loaded 2-core box.</summary>
        internal static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

        internal static string Certs
        {
            get
            {
                string dir = Environment.GetEnvironmentVariable("WSS_TEST_CERTS");
                if (string.IsNullOrEmpty(dir) || !Directory.Exists(dir))
                {
                    Assert.Fail("WSS_TEST_CERTS must name the folder tests/csharp/make-certs.sh filled");
                }
                return dir;
            }
        }

        internal static string Cert(string name)
        {
            return Path.Combine(Certs, name);
        }

        /// <summary>The server side of mutual TLS: PFX identity, hashed CA folder, client cert required.</summary>
        internal static TlsConfig ServerTls(string pfx = "server.pfx")
        {
            return new TlsConfig().LoadPfx(Cert(pfx), "server-pass").LoadCaDirectory(Cert("ca-dir")).RequireClientCertificate();
        }

        /// <summary>The client side: PFX identity (or none), hashed CA folder.</summary>
        internal static TlsConfig ClientTls(string pfx = "client.pfx")
        {
            var tls = new TlsConfig().LoadCaDirectory(Cert("ca-dir"));
            if (pfx != null)
            {
                tls.LoadPfx(Cert(pfx), "client-pass");
            }
            return tls;
        }

        /// <summary>A started mTLS echo server (text back as text, binary as binary).</summary>
        internal static WssServer EchoServer(TlsConfig tls = null, SynchronizationContext context = null)
        {
            var server = new WssServer(context);
            server.MessageReceived += (s, e) =>
            {
                if (e.IsText) e.Connection.Send(e.Text);
                else e.Connection.Send(e.Data);
            };
            using (var t = tls ?? ServerTls())
            {
                server.Start("127.0.0.1:0", t);
            }
            return server;
        }

        internal static string Url(WssServer server, string path = "/")
        {
            return "wss://127.0.0.1:" + server.Port + path;
        }

        /// <summary>
        /// A new client connects to <paramref name="server"/> with <paramref name="tls"/>, sends
        /// <paramref name="text"/> and gets it back (<paramref name="what"/> names the wait).
        /// </summary>
        internal static void AssertEchoes(WssServer server, TlsConfig tls, string text, string what)
        {
            using (var client = new WssClient())
            {
                var got = new BlockingCollection<string>();
                client.MessageReceived += (s, e) => got.Add(e.Text);
                client.Connect(Url(server), tls);
                client.Send(text);
                Assert.AreEqual(text, Take(got, what));
            }
        }

        /// <summary>Take one item or fail after the deadline.</summary>
        internal static T Take<T>(BlockingCollection<T> queue, string what)
        {
            T item;
            if (!queue.TryTake(out item, Deadline))
            {
                Assert.Fail("timed out waiting for " + what);
            }
            return item;
        }

        internal static void Wait(WaitHandle h, string what)
        {
            Assert.IsTrue(h.WaitOne(Deadline), "timed out waiting for " + what);
        }

        internal static void Wait(CountdownEvent h, string what)
        {
            Assert.IsTrue(h.Wait(Deadline), "timed out waiting for " + what + " (" + h.CurrentCount + " left)");
        }

        /// <summary>
        /// Poll a condition the library gives no signal for (release callbacks run on its
        /// threads after a free) until it holds or the deadline passes.
        /// </summary>
        internal static void Eventually(Func<bool> condition, Func<string> what)
        {
            var end = DateTime.UtcNow + Deadline;
            while (!condition())
            {
                if (DateTime.UtcNow > end)
                {
                    Assert.Fail("never happened: " + what());
                }
                GC.Collect();
                GC.WaitForPendingFinalizers();
                Thread.Sleep(20);
            }
        }

        /// <summary>
        /// A SynchronizationContext with its own thread, like a UI loop. An exception that
        /// escapes a posted callback is kept (a UI loop would crash on it) for
        /// <see cref="AssertNothingEscaped"/>.
        /// </summary>
        internal sealed class QueueContext : SynchronizationContext, IDisposable
        {
            private readonly BlockingCollection<Action> work = new BlockingCollection<Action>();
            private readonly ConcurrentQueue<Exception> escaped = new ConcurrentQueue<Exception>();
            private readonly Thread thread;

            internal QueueContext()
            {
                thread = new Thread(() =>
                {
                    foreach (var a in work.GetConsumingEnumerable())
                    {
                        try
                        {
                            a();
                        }
                        catch (Exception e)
                        {
                            escaped.Enqueue(e);
                        }
                    }
                }) { IsBackground = true };
                thread.Start();
            }

            internal int ThreadId
            {
                get { return thread.ManagedThreadId; }
            }

            public override void Post(SendOrPostCallback d, object state)
            {
                work.Add(() => d(state));
            }

            internal void AssertNothingEscaped()
            {
                Exception e;
                if (escaped.TryDequeue(out e))
                {
                    Assert.Fail("an exception escaped a posted callback: " + e);
                }
            }

            public void Dispose()
            {
                work.CompleteAdding();
                thread.Join();
            }
        }

        /// <summary>Collects the Error events of an endpoint to assert on (and none unexpected).</summary>
        internal sealed class Errors
        {
            internal readonly BlockingCollection<ErrorEventArgs> Queue = new BlockingCollection<ErrorEventArgs>();
            internal readonly BlockingCollection<CallbackExceptionEventArgs> Thrown = new BlockingCollection<CallbackExceptionEventArgs>();

            internal Errors(WssEndpoint endpoint)
            {
                endpoint.Error += (s, e) => Queue.Add(e);
                endpoint.CallbackException += (s, e) => Thrown.Add(e);
            }

            internal void AssertNone(string who)
            {
                ErrorEventArgs e;
                if (Queue.TryTake(out e))
                {
                    Assert.Fail(who + " had an unexpected error: " + e.Error.Detail);
                }
                CallbackExceptionEventArgs t;
                if (Thrown.TryTake(out t))
                {
                    Assert.Fail(who + " had a handler throw: " + t.Exception);
                }
            }
        }
    }
}
