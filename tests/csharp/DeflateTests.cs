using System;
using System.Collections.Concurrent;
using System.Linq;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>permessage-deflate through WssOptions, ConnectionInfo.Extensions and SendFlags.</summary>
    [TestFixture]
    public class DeflateTests
    {
        private const string Agreed = "permessage-deflate; client_no_context_takeover; server_max_window_bits=10";

        [Test]
        public void CompressedEchoAndTheOptOut()
        {
            using (var server = new WssServer())
            using (var client = new WssClient())
            using (var serverOptions = new WssOptions().SetDeflate(true))
            using (var clientOptions = new WssOptions().SetDeflate(true).SetDeflateMaxWindowBits(10, 15)
                       .SetDeflateNoContextTakeover(false, true).SetDeflateThreshold(0))
            {
                var serverErrors = new Errors(server);
                var clientErrors = new Errors(client);
                var opened = new BlockingCollection<WssConnection>();
                server.Opened += (s, e) => opened.Add(e.Connection);
                server.MessageReceived += (s, e) =>
                {
                    if (e.IsText) e.Connection.Send(e.Text);
                    else e.Connection.Send(e.Data);
                };
                server.Start("127.0.0.1:0", null, serverOptions);
                var got = new BlockingCollection<MessageEventArgs>();
                client.MessageReceived += (s, e) => got.Add(e);
                client.Connect("ws://127.0.0.1:" + server.Port + "/", null, clientOptions);

                Assert.AreEqual(Agreed, client.Connection.GetInfo().Extensions);
                Assert.AreEqual(Agreed, Take(opened, "the server's Opened").GetInfo().Extensions);

                var text = string.Concat(Enumerable.Repeat("compress me, ", 5000));
                client.Connection.Send(text, SendFlags.None);
                Assert.AreEqual(text, Take(got, "the compressed text echo").Text);
                var data = Enumerable.Range(0, 300000).Select(i => (byte)(i / 100)).ToArray();
                client.Connection.Send(data, SendFlags.NoCompress);
                CollectionAssert.AreEqual(data, Take(got, "the uncompressed binary echo").Data);
                client.Send(data);
                CollectionAssert.AreEqual(data, Take(got, "the compressed binary echo").Data);

                var e2 = Assert.Throws<WssException>(() => client.Connection.Send(data, (SendFlags)2));
                Assert.AreEqual(WssResult.InvalidArgument, e2.Code);
                Assert.Throws<WssException>(() => new WssOptions().SetDeflateMaxWindowBits(16, 15));

                serverErrors.AssertNone("server");
                clientErrors.AssertNone("client");
            }
        }
    }
}
