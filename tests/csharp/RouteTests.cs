using System;
using System.Collections.Concurrent;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>WssServer.AddRoute / RemoveRoute: per-path handlers with their own release.</summary>
    [TestFixture]
    public class RouteTests
    {
        private static WssClient Connect(WssServer server, string path, BlockingCollection<string> replies)
        {
            var client = new WssClient();
            client.MessageReceived += (s, e) => replies.Add(e.Text);
            using (var tls = ClientTls())
            {
                client.Connect(Url(server, path), tls);
            }
            return client;
        }

        [Test]
        public void RouteHasItsOwnHandlersAndIsReleasedAfterItsLastConnection()
        {
            using (var server = EchoServer())
            {
                var serverErrors = new Errors(server);
                var serverOpened = new BlockingCollection<WssConnection>();
                server.Opened += (s, e) => serverOpened.Add(e.Connection);
                long before = CallbackHandles.Live;

                var route = new WssRoute();
                var routeErrors = new Errors(route);
                var routeOpened = new BlockingCollection<string>();
                route.Opened += (s, e) => routeOpened.Add(e.Connection.GetInfo().Path);
                route.MessageReceived += (s, e) => e.Connection.Send("chat: " + e.Text);
                server.AddRoute("/chat", route);
                Assert.AreEqual("/chat", route.Path);
                Assert.AreEqual(before + 1, CallbackHandles.Live, "the route's handlers are one GCHandle");
                // A second route, so that removing /chat leaves a routed server (with no route
                // left the server's own handlers serve every path again).
                var other = new WssRoute();
                server.AddRoute("/other", other);

                var replies = new BlockingCollection<string>();
                using (var chat = Connect(server, "/chat", replies))
                {
                    Assert.AreEqual("/chat", Take(routeOpened, "the route's Opened"));
                    chat.Send("hello");
                    Assert.AreEqual("chat: hello", Take(replies, "the route's reply"));

                    // Once a route exists, other paths are refused with 404.
                    var e = Assert.Throws<WssException>(() => Connect(server, "/elsewhere", new BlockingCollection<string>()).Dispose());
                    Assert.AreEqual(404, e.HttpStatus, e.Detail);

                    // Removed: new upgrades get 404, the open connection keeps the route's handlers.
                    route.Dispose();
                    var gone = Assert.Throws<WssException>(() => Connect(server, "/chat", new BlockingCollection<string>()).Dispose());
                    Assert.AreEqual(404, gone.HttpStatus, gone.Detail);
                    chat.Send("still here");
                    Assert.AreEqual("chat: still here", Take(replies, "the removed route's reply on its open connection"));
                    Assert.AreEqual(0, serverOpened.Count, "the server's handlers saw no routed connection");
                }
                // The route's GCHandle (and its connection's) are released after its last connection.
                Eventually(() => CallbackHandles.Live == before + 1, () => (CallbackHandles.Live - before - 1) + " GCHandles of the route still live");
                Assert.Throws<WssException>(() => server.RemoveRoute("/chat"), "not a route any more");
                routeErrors.AssertNone("route");
                serverErrors.AssertNone("server");
            }
        }

        [Test]
        public void RouteServesOnePathOnly()
        {
            using (var server = EchoServer())
            using (var route = new WssRoute())
            {
                server.AddRoute("/a", route);
                Assert.Throws<InvalidOperationException>(() => server.AddRoute("/b", route));
                Assert.Throws<InvalidOperationException>(() => new WssServer().AddRoute("/a", new WssRoute()), "a server not started");
            }
        }
    }
}
