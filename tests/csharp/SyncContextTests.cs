using System;
using System.Collections.Concurrent;
using System.Threading;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>
    /// With a SynchronizationContext every event (but Accepting) runs on it, servers and clients
    /// alike, and a handler that throws there is reported like anywhere else.
    /// </summary>
    [TestFixture]
    public class SyncContextTests
    {
        /// <summary>An event's name and the managed thread it ran on.</summary>
        private sealed class Seen
        {
            internal readonly BlockingCollection<Tuple<string, int>> Queue = new BlockingCollection<Tuple<string, int>>();

            internal void Add(string name)
            {
                Queue.Add(Tuple.Create(name, Thread.CurrentThread.ManagedThreadId));
            }

            /// <summary>The next event is <paramref name="name"/>, run on <paramref name="context"/>'s thread.</summary>
            internal void Expect(string name, QueueContext context)
            {
                var e = Take(Queue, name);
                Assert.AreEqual(name, e.Item1, "events in order");
                Assert.AreEqual(context.ThreadId, e.Item2, name + " runs on the context's thread");
            }
        }

        [Test]
        public void AServerPostsOpenedMessageClosedAndErrorToItsContext()
        {
            using (var context = new QueueContext())
            using (var server = new WssServer(context))
            using (var tls = ClientTls())
            {
                var seen = new Seen();
                server.Opened += (s, e) => seen.Add("Opened");
                server.MessageReceived += (s, e) => { seen.Add("MessageReceived"); e.Connection.Send(e.Text); };
                server.Closed += (s, e) => seen.Add("Closed");
                server.Error += (s, e) => seen.Add("Error");
                using (var serverTls = ServerTls())
                {
                    server.Start("127.0.0.1:0", serverTls);
                }
                Assert.AreSame(context, server.SynchronizationContext);

                var echoes = new BlockingCollection<string>();
                using (var client = new WssClient())
                {
                    client.MessageReceived += (s, e) => echoes.Add(e.Text);
                    client.Connect(Url(server), tls);
                    seen.Expect("Opened", context);
                    client.Send("to the context");
                    seen.Expect("MessageReceived", context);
                    Assert.AreEqual("to the context", Take(echoes, "the echo sent from the context's thread"));
                }
                seen.Expect("Closed", context);

                // A client without a certificate: the server's Error, posted too.
                using (var noCert = ClientTls(null))
                using (var client = new WssClient())
                {
                    Assert.Throws<WssException>(() => client.Connect(Url(server), noCert));
                }
                seen.Expect("Error", context);
                context.AssertNothingEscaped();
            }
        }

        [Test]
        public void AClientPostsErrorAndClosedToItsContext()
        {
            using (var context = new QueueContext())
            using (var server = EchoServer())
            using (var tls = ClientTls())
            using (var options = new WssOptions().SetMaxMessageSize(64))
            using (var client = new WssClient(context))
            {
                var seen = new Seen();
                var errors = new BlockingCollection<WssException>();
                var closes = new BlockingCollection<int>();
                client.Opened += (s, e) => seen.Add("Opened");
                client.Error += (s, e) => { errors.Add(e.Error); seen.Add("Error"); };
                client.Closed += (s, e) => { closes.Add(e.Code); seen.Add("Closed"); };
                client.Connect(Url(server), tls, options);
                seen.Expect("Opened", context);
                // The echo exceeds the client's 64-byte limit: an error, then the close (1009).
                client.Send(new string('x', 200));
                seen.Expect("Error", context);
                seen.Expect("Closed", context);
                Assert.AreEqual(WssResult.MessageTooBig, Take(errors, "the error").Code);
                Assert.AreEqual(1009, Take(closes, "the close code"));
                context.AssertNothingEscaped();
            }
        }

        [Test]
        public void AHandlerThrowingOnTheContextIsReportedAndEventsGoOn()
        {
            using (var context = new QueueContext())
            using (var server = new WssServer(context))
            using (var tls = ClientTls())
            using (var client = new WssClient(context))
            {
                var thrown = new BlockingCollection<Tuple<string, string, int>>();
                EventHandler<CallbackExceptionEventArgs> report = (s, e) =>
                    thrown.Add(Tuple.Create(e.EventName, e.Exception.Message, Thread.CurrentThread.ManagedThreadId));
                server.CallbackException += report;
                client.CallbackException += report;
                server.Opened += (s, e) => { throw new InvalidOperationException("server Opened"); };
                server.MessageReceived += (s, e) =>
                {
                    e.Connection.Send(e.Text);
                    if (e.Text == "boom") throw new InvalidOperationException("server MessageReceived");
                };
                var echoes = new BlockingCollection<string>();
                client.MessageReceived += (s, e) =>
                {
                    echoes.Add(e.Text);
                    if (e.Text == "boom") throw new InvalidOperationException("client MessageReceived");
                };
                using (var serverTls = ServerTls())
                {
                    server.Start("127.0.0.1:0", serverTls);
                }
                client.Connect(Url(server), tls);

                var opened = Take(thrown, "the report of the server's Opened");
                Assert.AreEqual("Opened", opened.Item1);
                Assert.AreEqual("server Opened", opened.Item2);
                Assert.AreEqual(context.ThreadId, opened.Item3, "reported on the context's thread, where it threw");

                client.Send("boom");
                Assert.AreEqual("boom", Take(echoes, "the first echo"));
                var reports = new[] { Take(thrown, "a MessageReceived report"), Take(thrown, "the other MessageReceived report") };
                CollectionAssert.AreEquivalent(new[] { "server MessageReceived", "client MessageReceived" }, new[] { reports[0].Item2, reports[1].Item2 });
                foreach (var r in reports)
                {
                    Assert.AreEqual("MessageReceived", r.Item1);
                    Assert.AreEqual(context.ThreadId, r.Item3);
                }

                // The context's thread and both endpoints live on.
                client.Send("after");
                Assert.AreEqual("after", Take(echoes, "an echo after the throws"));
                context.AssertNothingEscaped();
            }
        }
    }
}
