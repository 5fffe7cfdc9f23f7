using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>An exception in any handler is caught, reported, and the process lives on.</summary>
    [TestFixture]
    public class HandlerExceptionTests
    {
        private sealed class Boom : Exception
        {
            internal Boom(string where) : base("thrown by the " + where + " handler")
            {
            }
        }

        /// <summary>Waits until <paramref name="thrown"/> has reported every name in <paramref name="expected"/>.</summary>
        private static void AssertReported(BlockingCollection<CallbackExceptionEventArgs> thrown, string who, params string[] expected)
        {
            var seen = new HashSet<string>();
            while (!expected.All(seen.Contains))
            {
                var e = Take(thrown, who + " reports of " + string.Join(", ", expected.Where(n => !seen.Contains(n))));
                Assert.IsInstanceOf<Boom>(e.Exception, "" + e.Exception);
                StringAssert.Contains(e.EventName, e.Exception.Message);
                seen.Add(e.EventName);
            }
        }

        [Test]
        public void AThrowingAcceptingHandlerRefusesWith500()
        {
            using (var server = EchoServer())
            using (var client = new WssClient())
            using (var tls = ClientTls())
            {
                var thrown = new BlockingCollection<CallbackExceptionEventArgs>();
                server.CallbackException += (s, e) => thrown.Add(e);
                server.Accepting += (s, e) => { throw new Boom("Accepting"); };
                var e2 = Assert.Throws<WssException>(() => client.Connect(Url(server), tls));
                Assert.AreEqual(WssResult.Handshake, e2.Code, e2.Detail);
                Assert.AreEqual(500, e2.HttpStatus, e2.Detail);
                AssertReported(thrown, "server", "Accepting");
            }
        }

        [Test]
        public void EveryOtherHandlerMayThrow()
        {
            using (var server = EchoServer())
            using (var tls = ClientTls())
            {
                var serverThrown = new BlockingCollection<CallbackExceptionEventArgs>();
                server.CallbackException += (s, e) => serverThrown.Add(e);
                server.Opened += (s, e) => { throw new Boom("Opened"); };
                server.MessageReceived += (s, e) => { throw new Boom("MessageReceived"); };
                server.Closed += (s, e) => { throw new Boom("Closed"); };
                server.Error += (s, e) => { throw new Boom("Error"); };

                var clientThrown = new BlockingCollection<CallbackExceptionEventArgs>();
                var echoes = new BlockingCollection<string>();
                using (var options = new WssOptions().SetMaxMessageSize(64))
                {
                    var client = new WssClient();
                    client.CallbackException += (s, e) => clientThrown.Add(e);
                    client.Opened += (s, e) => { throw new Boom("Opened"); };
                    client.MessageReceived += (s, e) => { echoes.Add(e.Text); throw new Boom("MessageReceived"); };
                    client.PongReceived += (s, e) => { throw new Boom("PongReceived"); };
                    client.Error += (s, e) => { throw new Boom("Error"); };
                    client.Closed += (s, e) => { throw new Boom("Closed"); };
                    client.Connect(Url(server), tls, options);
                    client.Send("small");
                    Assert.AreEqual("small", Take(echoes, "the echo (the server's echo handler runs before its throwing one)"));
                    client.Connection.Ping(new byte[] { 1 });
                    AssertReported(clientThrown, "client", "Opened", "MessageReceived", "PongReceived");
                    // An echo above the client's 64-byte limit: an error, then the close.
                    client.Send(new string('x', 200));
                    AssertReported(clientThrown, "client", "Error", "Closed");
                    client.Dispose();
                }

                // A client without a certificate fails the handshake: the server's Error handler.
                using (var noCert = ClientTls(null))
                using (var client = new WssClient())
                {
                    Assert.Throws<WssException>(() => client.Connect(Url(server), noCert));
                }
                AssertReported(serverThrown, "server", "Opened", "MessageReceived", "Closed", "Error");

                // The process lives and the server still serves.
                AssertEchoes(server, tls, "still alive", "an echo after all that");
            }
        }

        [Test]
        public void AThrowingServerPongHandlerIsReported()
        {
            using (var server = new WssServer())
            using (var client = new WssClient())
            using (var tls = ClientTls())
            {
                var thrown = new BlockingCollection<CallbackExceptionEventArgs>();
                var opened = new BlockingCollection<WssConnection>();
                server.CallbackException += (s, e) => thrown.Add(e);
                server.Opened += (s, e) => opened.Add(e.Connection);
                server.MessageReceived += (s, e) => e.Connection.Send(e.Text);
                server.PongReceived += (s, e) => { throw new Boom("PongReceived"); };
                using (var serverTls = ServerTls())
                {
                    server.Start("127.0.0.1:0", serverTls);
                }
                var echoes = new BlockingCollection<string>();
                client.MessageReceived += (s, e) => echoes.Add(e.Text);
                client.Connect(Url(server), tls);
                var conn = Take(opened, "the server's Opened");
                conn.Ping(new byte[] { 7 });
                AssertReported(thrown, "server", "PongReceived");
                conn.Ping(new byte[] { 8 });
                AssertReported(thrown, "server (a second time)", "PongReceived");
                client.Send("still alive");
                Assert.AreEqual("still alive", Take(echoes, "an echo after the throws"));
            }
        }

        [Test]
        public void EveryRouteHandlerMayThrow()
        {
            using (var options = new WssOptions().SetMaxMessageSize(64))
            using (var server = new WssServer())
            using (var route = new WssRoute())
            using (var refusing = new WssRoute())
            using (var tls = ClientTls())
            {
                var serverErrors = new Errors(server);
                using (var serverTls = ServerTls())
                {
                    server.Start("127.0.0.1:0", serverTls, options);
                }
                var thrown = new BlockingCollection<CallbackExceptionEventArgs>();
                var opened = new BlockingCollection<WssConnection>();
                route.CallbackException += (s, e) => thrown.Add(e);
                route.Opened += (s, e) => { opened.Add(e.Connection); throw new Boom("Opened"); };
                route.MessageReceived += (s, e) => { e.Connection.Send(e.Text); throw new Boom("MessageReceived"); };
                route.PongReceived += (s, e) => { throw new Boom("PongReceived"); };
                route.Error += (s, e) => { throw new Boom("Error"); };
                route.Closed += (s, e) => { throw new Boom("Closed"); };
                server.AddRoute("/r", route);
                var refused = new BlockingCollection<CallbackExceptionEventArgs>();
                refusing.CallbackException += (s, e) => refused.Add(e);
                refusing.Accepting += (s, e) => { throw new Boom("Accepting"); };
                server.AddRoute("/refuse", refusing);

                var echoes = new BlockingCollection<string>();
                using (var client = new WssClient())
                {
                    client.MessageReceived += (s, e) => echoes.Add(e.Text);
                    client.Connect(Url(server, "/r"), tls);
                    var conn = Take(opened, "the route's Opened");
                    client.Send("small");
                    Assert.AreEqual("small", Take(echoes, "the echo (sent before the handler threw)"));
                    conn.Ping(new byte[] { 1 });
                    AssertReported(thrown, "route", "Opened", "MessageReceived", "PongReceived");
                    // Above the server's 64-byte limit: the route's Error, then its Closed.
                    client.Send(new string('x', 200));
                    AssertReported(thrown, "route", "Error", "Closed");
                }

                using (var client = new WssClient())
                {
                    var e = Assert.Throws<WssException>(() => client.Connect(Url(server, "/refuse"), tls));
                    Assert.AreEqual(500, e.HttpStatus, e.Detail);
                }
                AssertReported(refused, "refusing route", "Accepting");

                // The route still serves.
                using (var client = new WssClient())
                {
                    client.MessageReceived += (s, e) => echoes.Add(e.Text);
                    client.Connect(Url(server, "/r"), tls);
                    client.Send("again");
                    Assert.AreEqual("again", Take(echoes, "an echo after all that"));
                }
                serverErrors.AssertNone("server");
            }
        }

        [Test]
        public void AThrowingCallbackExceptionHandlerIsSwallowedToo()
        {
            var stderr = new System.IO.StringWriter();
            var saved = Console.Error;
            Console.SetError(System.IO.TextWriter.Synchronized(stderr));
            try
            {
                using (var server = EchoServer())
                using (var client = new WssClient())
                using (var tls = ClientTls())
                {
                    var got = new BlockingCollection<string>();
                    client.MessageReceived += (s, e) => { got.Add(e.Text); throw new Boom("MessageReceived"); };
                    client.CallbackException += (s, e) => { throw new Boom("CallbackException"); };
                    client.Connect(Url(server), tls);
                    client.Send("one");
                    client.Send("two");
                    Assert.AreEqual("one", Take(got, "first"));
                    Assert.AreEqual("two", Take(got, "second: events go on after both handlers threw"));
                }
                // The last resort is stderr: both throws of the CallbackException handler are there.
                Func<int> reports = () => stderr.ToString().Split(new[] { "a CallbackException handler threw (caught)" }, StringSplitOptions.None).Length - 1;
                Eventually(() => reports() == 2, () => reports() + " reports on stderr: " + stderr);
                StringAssert.Contains("thrown by the CallbackException handler", stderr.ToString());
            }
            finally
            {
                Console.SetError(saved);
            }
        }
    }
}
