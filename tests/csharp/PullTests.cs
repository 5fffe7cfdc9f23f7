using System;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>Pull mode (ReceiveAsync / CloseAsync with cancellation) and send backpressure.</summary>
    [TestFixture]
    public class PullTests
    {
        private static WssEvent Next(Task<WssEvent> receive, string what)
        {
            Assert.IsTrue(receive.Wait(Deadline), "timed out waiting for " + what);
            return receive.Result;
        }

        /// <summary>The next event that is not an Open (clients may or may not report their own).</summary>
        private static WssEvent NextNotOpen(WssClient client, string what)
        {
            var ev = Next(client.ReceiveAsync(), what);
            return ev != null && ev.Type == WssEventType.Open ? Next(client.ReceiveAsync(), what) : ev;
        }

        [Test]
        public void PullServerAndClientEchoAndClose()
        {
            using (var serverTls = ServerTls())
            using (var tls = ClientTls())
            using (var server = new WssServer())
            using (var client = new WssClient())
            {
                server.StartPull("127.0.0.1:0", serverTls);
                client.ConnectPull(Url(server), tls);

                var open = Next(server.ReceiveAsync(), "the server's Open");
                Assert.AreEqual(WssEventType.Open, open.Type);
                client.SendAsync("pulled").Wait();
                var msg = Next(server.ReceiveAsync(), "the message");
                Assert.AreEqual(WssEventType.Message, msg.Type);
                Assert.IsTrue(msg.IsText);
                Assert.AreEqual("pulled", msg.Text);
                Assert.AreSame(open.Connection, msg.Connection, "one object per connection in pull mode too");
                msg.Connection.Send(msg.Data);

                var echo = NextNotOpen(client, "the echo");
                Assert.AreEqual(WssEventType.Message, echo.Type);
                Assert.IsFalse(echo.IsText);
                Assert.AreEqual("pulled", echo.Text);

                Assert.IsTrue(client.CloseAsync(1000, "done").Wait(Deadline), "the close handshake");
                var closed = NextNotOpen(client, "the client's Close");
                Assert.AreEqual(WssEventType.Close, closed.Type);
                Assert.IsNull(Next(client.ReceiveAsync(), "the end of the client's events"));

                var serverClosed = Next(server.ReceiveAsync(), "the server's Close");
                Assert.AreEqual(WssEventType.Close, serverClosed.Type);
                Assert.AreEqual(1000, serverClosed.CloseCode);
                Assert.AreEqual("done", serverClosed.CloseReason);
                Assert.AreSame(open.Connection, serverClosed.Connection);
            }
        }

        [Test]
        public void ReceiveAsyncHonoursCancellation()
        {
            using (var serverTls = ServerTls())
            using (var server = new WssServer())
            {
                server.StartPull("127.0.0.1:0", serverTls);
                using (var cts = new CancellationTokenSource())
                {
                    var receive = server.ReceiveAsync(cts.Token);
                    cts.Cancel();
                    var e = Assert.Catch<AggregateException>(() => receive.Wait(Deadline));
                    Assert.IsInstanceOf<OperationCanceledException>(e.InnerException);
                }
                // Nothing was lost: a connection made afterwards is still reported.
                using (var tls = ClientTls())
                using (var client = new WssClient())
                {
                    client.ConnectPull(Url(server), tls);
                    Assert.AreEqual(WssEventType.Open, Next(server.ReceiveAsync(), "Open").Type);
                }
            }
        }

        [Test]
        public void CallbackEndpointsRefusePullCalls()
        {
            using (var server = EchoServer())
            {
                var e = Assert.Catch<AggregateException>(() => server.ReceiveAsync().Wait(Deadline));
                Assert.IsInstanceOf<WssException>(e.InnerException);
                Assert.AreEqual(WssResult.InvalidState, ((WssException)e.InnerException).Code);
            }
        }

        [Test]
        public void SendReportsBackpressureAndSendAsyncWaitsForRoom()
        {
            using (var serverTls = ServerTls())
            using (var tls = ClientTls())
            using (var server = new WssServer())
            using (var options = new WssOptions().SetSendQueueLimit(64 * 1024))
            using (var client = new WssClient())
            {
                var received = 0;
                server.MessageReceived += (s, e) => Interlocked.Increment(ref received);
                server.Start("127.0.0.1:0", serverTls);
                client.Connect(Url(server), tls, options);
                var big = new byte[256 * 1024];
                int sent = 0;
                WssException refused = null;
                for (int i = 0; i < 10000 && refused == null; i++)
                {
                    try
                    {
                        client.Send(big);
                        sent++;
                    }
                    catch (WssException e)
                    {
                        refused = e;
                    }
                }
                Assert.IsNotNull(refused, "a 64 KiB queue refuses 256 KiB messages sent back to back");
                Assert.AreEqual(WssResult.Backpressure, refused.Code, refused.Detail);
                Assert.IsTrue(client.SendAsync(big).Wait(Deadline), "SendAsync waits for room, then queues");
                sent++;
                Eventually(() => Volatile.Read(ref received) == sent, () => received + " of " + sent + " arrived");
            }
        }
    }
}
