using System;
using System.Collections.Concurrent;
using System.Threading;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>Host-driven pause and resume of reading, and the hostile-peer options.</summary>
    [TestFixture]
    public class PauseTests
    {
        [Test]
        public void NothingArrivesWhilePausedEverythingAfterResume()
        {
            using (var options = new WssOptions())
            using (var server = new WssServer())
            using (var client = new WssClient())
            {
                options.SetListenBacklog(1024).SetCloseOnBackpressure(false);
                var serverErrors = new Errors(server);
                var opened = new BlockingCollection<WssConnection>();
                var got = new BlockingCollection<string>();
                var closed = new BlockingCollection<int>();
                server.Closed += (s, e) => closed.Add(e.Code);
                // Paused in Opened, before the client can send: the check cannot race the read.
                server.Opened += (s, e) => { e.Connection.PauseReading(); opened.Add(e.Connection); };
                server.MessageReceived += (s, e) => got.Add(e.Text);
                using (var tls = ServerTls())
                {
                    server.Start("127.0.0.1:0", tls, options);
                }
                using (var tls = ClientTls())
                {
                    client.Connect(Url(server), tls);
                }
                var conn = Take(opened, "the server's Opened");
                client.Send("while paused");
                // A bounded negative check: unpaused, the message arrives well within it.
                string early;
                Assert.IsFalse(got.TryTake(out early, TimeSpan.FromMilliseconds(500)), "delivered while paused");
                conn.ResumeReading();
                Assert.AreEqual("while paused", Take(got, "the message after resume"));
                client.Close(1000, "", Deadline);
                Take(closed, "the server's Closed");
                var ended = Assert.Throws<WssException>(() => conn.PauseReading());
                Assert.AreEqual(WssResult.NotConnected, ended.Code);
                serverErrors.AssertNone("server");
            }
        }

        [Test]
        public void ListenBacklogRejectsZero()
        {
            using (var options = new WssOptions())
            {
                var e = Assert.Throws<WssException>(() => options.SetListenBacklog(0));
                Assert.AreEqual(WssResult.InvalidArgument, e.Code);
            }
        }
    }
}
