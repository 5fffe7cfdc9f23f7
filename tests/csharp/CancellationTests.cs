using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>
    /// CloseAsync and SendAsync with CancellationTokens: cancelling stops the wait, not the close;
    /// a SendAsync cancelled while the send queue is full never sends its message. The waits that
    /// are cancelled are made to last by a peer that stops reading (PauseReading), with close
    /// timeouts far beyond the test's deadline, so nothing depends on timing.
    /// </summary>
    [TestFixture]
    public class CancellationTests
    {
        /// <summary>Longer than <see cref="TestSupport.Deadline"/>: a wait that is not cancelled fails the test.</summary>
        private static readonly TimeSpan Long = TimeSpan.FromSeconds(120);

        private static Exception Fault(Task t, string what)
        {
            var e = Assert.Catch<AggregateException>(() => t.Wait(Deadline), what);
            return e.InnerException;
        }

        /// <summary>A callback server whose connections stop reading as they open.</summary>
        private static WssServer PausingServer(BlockingCollection<WssConnection> opened, BlockingCollection<ClosedEventArgs> closed)
        {
            var server = new WssServer();
            server.Opened += (s, e) => { e.Connection.PauseReading(); opened.Add(e.Connection); };
            server.Closed += (s, e) => closed.Add(e);
            server.MessageReceived += (s, e) => e.Connection.Send(e.Data);
            using (var tls = ServerTls())
            using (var options = new WssOptions().SetCloseTimeout(Long))
            {
                server.Start("127.0.0.1:0", tls, options);
            }
            return server;
        }

        [Test]
        public void ClientCloseAsyncCancelledStopsTheWaitNotTheClose()
        {
            var opened = new BlockingCollection<WssConnection>();
            var serverClosed = new BlockingCollection<ClosedEventArgs>();
            using (var server = PausingServer(opened, serverClosed))
            using (var tls = ClientTls())
            using (var options = new WssOptions().SetCloseTimeout(Long))
            using (var client = new WssClient())
            using (var cts = new CancellationTokenSource())
            {
                var clientClosed = new BlockingCollection<int>();
                client.Closed += (s, e) => clientClosed.Add(e.Code);
                client.CloseTimeout = Long;
                client.Connect(Url(server), tls, options);
                var conn = Take(opened, "the server's Opened (reading paused)");

                // The server reads nothing, so the close handshake cannot finish.
                var closing = client.CloseAsync(1000, "cancelled wait", cts.Token);
                Assert.IsFalse(closing.IsCompleted, "the close handshake cannot finish yet");
                cts.Cancel();
                Assert.IsInstanceOf<OperationCanceledException>(Fault(closing, "the cancelled CloseAsync"));

                // The close goes on: once the server reads, it sees our close frame.
                conn.ResumeReading();
                var closed = Take(serverClosed, "the server's Closed");
                Assert.AreEqual(1000, closed.Code);
                Assert.AreEqual("cancelled wait", closed.Reason);
                Assert.AreEqual(1000, Take(clientClosed, "the client's Closed"));
            }
        }

        [Test]
        public void ServerCloseAsyncCancelledStopsTheWaitNotTheClose()
        {
            using (var tls = ClientTls())
            using (var serverTls = ServerTls())
            using (var serverOptions = new WssOptions().SetCloseTimeout(Long))
            using (var paused = new WssServer())
            using (var client = new WssClient())
            using (var cts = new CancellationTokenSource())
            {
                var serverOpened = new CountdownEvent(1);
                paused.Opened += (s, e) => serverOpened.Signal();
                paused.Start("127.0.0.1:0", serverTls, serverOptions);
                var clientClosed = new BlockingCollection<ClosedEventArgs>();
                client.Closed += (s, e) => clientClosed.Add(e);
                client.Connect(Url(paused), tls);
                Wait(serverOpened, "the server's Opened");
                // The client reads nothing, so the server's close handshake cannot finish.
                client.Connection.PauseReading();

                var closing = paused.CloseAsync(Long, cts.Token);
                Assert.IsFalse(closing.IsCompleted, "the close handshake cannot finish yet");
                cts.Cancel();
                Assert.IsInstanceOf<OperationCanceledException>(Fault(closing, "the cancelled CloseAsync"));

                // The close goes on: once the client reads, it gets the server's 1001.
                client.Connection.ResumeReading();
                Assert.AreEqual(1001, Take(clientClosed, "the client's Closed").Code);
            }
        }

        [Test]
        public void ServerCloseAsyncClosesEveryConnectionWith1001AndStopsListening()
        {
            using (var server = EchoServer())
            using (var tls = ClientTls())
            using (var client = new WssClient())
            {
                var serverClosed = new BlockingCollection<int>();
                server.Closed += (s, e) => serverClosed.Add(e.Code);
                var clientClosed = new BlockingCollection<int>();
                client.Closed += (s, e) => clientClosed.Add(e.Code);
                client.Connect(Url(server), tls);
                int port = server.Port;

                Assert.IsTrue(server.CloseAsync(Deadline).Wait(Deadline), "CloseAsync completes");
                Assert.AreEqual(1001, Take(clientClosed, "the client's Closed"));
                Assert.AreEqual(1001, Take(serverClosed, "the server's Closed"));
                Assert.AreEqual(0, server.ActiveConnections);
                using (var late = new WssClient())
                {
                    var e = Assert.Throws<WssException>(() => late.Connect("wss://127.0.0.1:" + port + "/", tls));
                    Assert.AreEqual(WssResult.Io, e.Code, "nothing listens any more: " + e.Detail);
                }
            }
        }

        /// <summary>A 256 KiB binary message whose first 4 bytes are <paramref name="n"/>.</summary>
        private static byte[] Numbered(int n)
        {
            var data = new byte[256 * 1024];
            BitConverter.GetBytes(n).CopyTo(data, 0);
            return data;
        }

        [Test]
        public void SendAsyncCancelledWhileTheQueueIsFullNeverSends()
        {
            var opened = new BlockingCollection<WssConnection>();
            var closed = new BlockingCollection<ClosedEventArgs>();
            using (var server = PausingServer(opened, closed))
            using (var tls = ClientTls())
            using (var options = new WssOptions().SetSendQueueLimit(64 * 1024))
            using (var client = new WssClient())
            {
                var received = new BlockingCollection<int>();
                var serverErrors = new Errors(server);
                // The server's echo comes back here; only the number matters.
                client.MessageReceived += (s, e) => received.Add(BitConverter.ToInt32(e.Data, 0));
                client.Connect(Url(server), tls, options);
                var conn = Take(opened, "the server's Opened (reading paused)");

                // Messages larger than the 64 KiB limit are accepted only when the send queue is
                // empty. The server reads nothing, so once the socket buffers are full the queue
                // never empties: a SendAsync then waits until it is cancelled. Until then a
                // SendAsync may still find room (the buffers absorb more): that message is queued
                // like any other, and the next round fills the buffers further.
                var queued = new List<int>();
                int next = 0, cancelled = -1;
                for (int round = 0; round < 1000 && cancelled < 0; round++)
                {
                    while (true)
                    {
                        try
                        {
                            client.Send(Numbered(next));
                            queued.Add(next++);
                        }
                        catch (WssException e) when (e.Code == WssResult.Backpressure)
                        {
                            break;
                        }
                    }
                    int marker = next++;
                    using (var cts = new CancellationTokenSource())
                    {
                        var sending = client.SendAsync(Numbered(marker), cts.Token);
                        if (!sending.IsCompleted)
                        {
                            cts.Cancel();
                        }
                        try
                        {
                            Assert.IsTrue(sending.Wait(Deadline), "SendAsync ends once cancelled");
                            queued.Add(marker); // room came before the cancel took effect
                        }
                        catch (AggregateException e)
                        {
                            Assert.IsInstanceOf<OperationCanceledException>(e.InnerException, "" + e.InnerException);
                            Assert.IsTrue(sending.IsCanceled, "the task is cancelled, not faulted");
                            cancelled = marker;
                        }
                    }
                }
                Assert.AreNotEqual(-1, cancelled, "a SendAsync waited on a full queue and was cancelled");

                // The server reads again: everything queued comes back, in order, then a last
                // message sent after the cancel; the cancelled one is not among them.
                conn.ResumeReading();
                int last = next++;
                Assert.IsTrue(client.SendAsync(Numbered(last)).Wait(Deadline), "SendAsync queues once there is room");
                var echoed = new List<int>();
                while (echoed.Count == 0 || echoed[echoed.Count - 1] != last)
                {
                    echoed.Add(Take(received, "echo " + echoed.Count + " of " + (queued.Count + 1)));
                }
                CollectionAssert.DoesNotContain(echoed, cancelled, "the cancelled message was sent");
                CollectionAssert.AreEqual(queued.Concat(new[] { last }).ToList(), echoed, "what was queued, in order, and nothing else");
                serverErrors.AssertNone("server");
            }
        }
    }
}
