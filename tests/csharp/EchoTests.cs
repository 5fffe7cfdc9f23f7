using System;
using System.IO;
using System.Collections.Concurrent;
using System.Linq;
using System.Text;
using System.Runtime.InteropServices;
using System.Threading;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>Mutual TLS echo, upgrade decisions, SynchronizationContext delivery.</summary>
    [TestFixture]
    public class EchoTests
    {
        [DllImport("libc", EntryPoint = "gettid")]
        private static extern int GetTid();

        /// <summary>The calling thread's name as the kernel knows it (Linux).</summary>
        private static string NativeThreadName()
        {
            return File.ReadAllText("/proc/self/task/" + GetTid() + "/comm").Trim();
        }

        [Test]
        public void MutualTlsEchoWithPfxAndCaFolder()
        {
            using (var server = EchoServer())
            using (var client = new WssClient())
            {
                var serverErrors = new Errors(server);
                var clientErrors = new Errors(client);
                var opened = new BlockingCollection<WssConnection>();
                server.Opened += (s, e) => opened.Add(e.Connection);
                var got = new BlockingCollection<MessageEventArgs>();
                var threads = new BlockingCollection<string>();
                client.MessageReceived += (s, e) => { threads.Add(NativeThreadName()); got.Add(e); };
                using (var tls = ClientTls())
                {
                    client.Connect(Url(server, "/echo"), tls);
                }

                client.Send("hello über TLS");
                var text = Take(got, "the text echo");
                Assert.IsTrue(text.IsText);
                Assert.AreEqual("hello über TLS", text.Text);
                Assert.AreSame(client.Connection, text.Connection, "events carry the client's one connection object");

                var binary = new byte[] { 0, 1, 2, 255, 254 };
                client.Send(binary);
                var echoed = Take(got, "the binary echo");
                Assert.IsFalse(echoed.IsText);
                CollectionAssert.AreEqual(binary, echoed.Data);
                // Client events run on the library's client I/O threads (callbacks, no pump
                // thread of the wrapper); ExitTests proves the process still exits.
                StringAssert.StartsWith("wss-client-io", Take(threads, "a handler's thread"));

                // What the server knows about its peer: TLS and the verified client certificate.
                var conn = Take(opened, "the server's Opened");
                var info = conn.GetInfo();
                Assert.IsFalse(info.IsClient);
                Assert.AreEqual("/echo", info.Path);
                StringAssert.StartsWith("TLSv1.", info.TlsVersion);
                Assert.IsNotNull(info.PeerCertificate, "mutual TLS: the client presented a certificate");
                StringAssert.Contains("wss test client", info.PeerCertificate.Subject);
                Assert.IsTrue(info.PeerCertificate.Verified);
                StringAssert.Contains("wss test CA", info.PeerCertificate.Issuer);

                var clientInfo = client.Connection.GetInfo();
                Assert.IsTrue(clientInfo.IsClient);
                CollectionAssert.Contains(clientInfo.PeerCertificate.SubjectAlternativeNames, "IP:127.0.0.1");

                serverErrors.AssertNone("server");
                clientErrors.AssertNone("client");
            }
        }

        [Test]
        public void PfxFromMemoryAndPemFilesLoadToo()
        {
            var pfx = System.IO.File.ReadAllBytes(Cert("server.pfx"));
            using (var serverTls = new TlsConfig().LoadPfx(pfx, "server-pass").LoadCaFile(Cert("ca.pem")).RequireClientCertificate())
            using (var server = EchoServer(serverTls))
            using (var tls = new TlsConfig().LoadPem(Cert("client.pem"), Cert("client.key")).LoadCaFile(Cert("ca.pem")))
            {
                AssertEchoes(server, tls, "pem", "the echo");
            }
        }

        [Test]
        public void AcceptingSelectsASubprotocolAndSeesTheRequest()
        {
            using (var server = EchoServer())
            using (var client = new WssClient())
            using (var tls = ClientTls())
            using (var options = new WssOptions().AddSubprotocol("v1.wss").AddSubprotocol("chat").AddHeader("X-Test", "yes"))
            {
                var requests = new BlockingCollection<UpgradeRequest>();
                server.Accepting += (s, e) =>
                {
                    requests.Add(e.Request);
                    e.SubprotocolIndex = e.Request.Subprotocols.ToList().IndexOf("chat");
                    e.AddResponseHeader("X-Answer", "42");
                };
                client.Connect(Url(server, "/room?x=1"), tls, options);
                var req = Take(requests, "the upgrade request");
                Assert.AreEqual("/room", req.Path);
                Assert.AreEqual("x=1", req.Query);
                Assert.IsTrue(req.IsTls);
                CollectionAssert.AreEqual(new[] { "v1.wss", "chat" }, req.Subprotocols);
                Assert.IsTrue(req.Headers.Any(h => h.Key.Equals("x-test", StringComparison.OrdinalIgnoreCase) && h.Value == "yes"));
                StringAssert.Contains("wss test client", req.PeerCertificate.Subject);
                var info = client.Connection.GetInfo();
                Assert.AreEqual("chat", info.Subprotocol);
                Assert.AreEqual("42", info.GetResponseHeader("x-answer"));
                Assert.AreEqual("chat", info.GetResponseHeader("Sec-WebSocket-Protocol"));
                var names = info.ResponseHeaders.Select(h => h.Key.ToLowerInvariant()).ToList();
                Assert.Less(names.IndexOf("upgrade"), names.IndexOf("x-answer"), string.Join(",", names));
            }
        }

        [Test]
        public void EventsArePostedToTheGivenSynchronizationContext()
        {
            using (var context = new QueueContext())
            using (var server = EchoServer())
            using (var client = new WssClient(context))
            using (var tls = ClientTls())
            {
                var threads = new BlockingCollection<int>();
                client.Opened += (s, e) => threads.Add(Thread.CurrentThread.ManagedThreadId);
                client.MessageReceived += (s, e) => threads.Add(Thread.CurrentThread.ManagedThreadId);
                client.Connect(Url(server), tls);
                client.Send("posted");
                Assert.AreEqual(context.ThreadId, Take(threads, "Opened"));
                Assert.AreEqual(context.ThreadId, Take(threads, "MessageReceived"));
                Assert.AreSame(context, client.SynchronizationContext);
            }
        }
    }
}
