using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>ConnectAsync on the non-blocking connect, and pull-mode upgrade decisions.</summary>
    [TestFixture]
    public class AsyncTests
    {
        private static Exception Fault(Task t, string what)
        {
            var e = Assert.Catch<AggregateException>(() => t.Wait(Deadline), what);
            return e.InnerException;
        }

        [Test]
        public void ConnectAsyncOpensThenEchoes()
        {
            using (var server = EchoServer())
            using (var tls = ClientTls())
            using (var client = new WssClient())
            {
                var opened = new CountdownEvent(1);
                var got = new BlockingCollection<string>();
                client.Opened += (s, e) => opened.Signal();
                client.MessageReceived += (s, e) => got.Add(e.Text);
                var connecting = client.ConnectAsync(Url(server), tls);
                Assert.IsTrue(connecting.Wait(Deadline), "the connection opens");
                Wait(opened, "Opened");
                client.Send("async");
                Assert.AreEqual("async", Take(got, "the echo"));
            }
        }

        [Test]
        public void ConnectAsyncFaultsWithTheFullDetail()
        {
            using (var serverTls = ServerTls("rogue-server.pfx"))
            using (var server = EchoServer(serverTls))
            using (var tls = ClientTls())
            using (var client = new WssClient())
            {
                var errors = new Errors(client);
                var e = Fault(client.ConnectAsync(Url(server), tls), "an untrusted server") as WssException;
                Assert.IsNotNull(e);
                Assert.AreEqual(WssResult.CertVerify, e.Code, e.Detail);
                StringAssert.Contains("rogue CA", e.VerifySubject, e.Detail);
                errors.AssertNone("client (the task carries the failure)");
            }
            // Nothing listens: refused.
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            using (var client = new WssClient())
            {
                var e = Fault(client.ConnectAsync("ws://127.0.0.1:" + port + "/"), "a closed port") as WssException;
                Assert.IsNotNull(e);
                Assert.AreEqual(WssResult.Io, e.Code, e.Detail);
                Assert.AreNotEqual(0, e.OsErrno, e.Detail);
            }
        }

        [Test]
        public void ConnectAsyncCancelsAStuckHandshake()
        {
            // A TCP listener that never answers the TLS handshake.
            var silent = new TcpListener(IPAddress.Loopback, 0);
            silent.Start();
            try
            {
                int port = ((IPEndPoint)silent.LocalEndpoint).Port;
                using (var tls = ClientTls())
                using (var client = new WssClient())
                using (var cts = new CancellationTokenSource())
                {
                    var connecting = client.ConnectAsync("wss://127.0.0.1:" + port + "/", tls, null, cts.Token);
                    var peer = silent.AcceptSocket();
                    Assert.IsFalse(connecting.IsCompleted, "the handshake cannot finish");
                    cts.Cancel();
                    Assert.IsInstanceOf<OperationCanceledException>(Fault(connecting, "the cancelled connect"));
                    peer.Close();
                }
            }
            finally
            {
                silent.Stop();
            }
        }

        [Test]
        public void PullServerDecidesEachUpgrade()
        {
            using (var serverTls = ServerTls())
            using (var tls = ClientTls())
            using (var options = new WssOptions().SetAcceptEvents(true))
            using (var offer = new WssOptions().AddSubprotocol("a").AddSubprotocol("b"))
            using (var server = new WssServer())
            {
                server.StartPull("127.0.0.1:0", serverTls, options);

                using (var refused = new WssClient())
                {
                    var connecting = refused.ConnectAsync(Url(server, "/no"), tls);
                    var ev = Next(server);
                    Assert.AreEqual(WssEventType.Accept, ev.Type);
                    Assert.AreEqual("/no", ev.Request.Path);
                    StringAssert.Contains("wss test client", ev.Request.PeerCertificate.Subject);
                    server.RefuseRequest(ev.Request, 403, "not this path");
                    var e = Fault(connecting, "the refusal") as WssException;
                    Assert.IsNotNull(e);
                    Assert.AreEqual(WssResult.Handshake, e.Code, e.Detail);
                    Assert.AreEqual(403, e.HttpStatus, e.Detail);
                }

                using (var accepted = new WssClient())
                {
                    var connecting = accepted.ConnectAsync(Url(server, "/yes"), tls, offer);
                    var ev = Next(server);
                    Assert.AreEqual(WssEventType.Accept, ev.Type);
                    CollectionAssert.AreEqual(new[] { "a", "b" }, ev.Request.Subprotocols);
                    server.AcceptRequest(ev.Request, 1, new[] { new KeyValuePair<string, string>("X-Decided", "pull") });
                    Assert.IsTrue(connecting.Wait(Deadline), "the accepted connection opens");
                    Assert.AreEqual("b", accepted.Connection.GetInfo().Subprotocol);
                    Assert.AreEqual(WssEventType.Open, Next(server).Type);
                    var again = Assert.Throws<WssException>(() => server.AcceptRequest(ev.Request));
                    Assert.AreEqual(WssResult.NotConnected, again.Code, "a request is decided once");
                }
            }
        }

        private static WssEvent Next(WssServer server)
        {
            var t = server.ReceiveAsync();
            Assert.IsTrue(t.Wait(Deadline), "timed out waiting for a server event");
            return t.Result;
        }
    }
}
