using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>Failures arrive with their codes and the full OpenSSL / X509 / HTTP detail.</summary>
    [TestFixture]
    public class ErrorTests
    {
        /// <summary>X509_V_ERR_CERT_HAS_EXPIRED.</summary>
        private const int Expired = 10;

        [Test]
        public void WrongPfxPasswordIsAConfigError()
        {
            using (var tls = new TlsConfig())
            {
                var e = Assert.Throws<WssException>(() => tls.LoadPfx(Cert("server.pfx"), "wrong"));
                Assert.AreEqual(WssResult.Config, e.Code, e.Detail);
                StringAssert.Contains("server.pfx", e.Message);
                Assert.IsNotNull(e.Hint, "a wrong password has a hint: " + e.Detail);
                var bytes = File.ReadAllBytes(Cert("server.pfx"));
                e = Assert.Throws<WssException>(() => tls.LoadPfx(bytes, "wrong"));
                Assert.AreEqual(WssResult.Config, e.Code, e.Detail);
            }
        }

        [Test]
        public void MissingFilesAndBadArgumentsAreReported()
        {
            using (var tls = new TlsConfig())
            {
                var e = Assert.Throws<WssException>(() => tls.LoadCaFile(Cert("no-such-file.pem")));
                Assert.AreEqual(WssResult.Config, e.Code, e.Detail);
                e = Assert.Throws<WssException>(() => tls.SetCiphers("NOT-A-CIPHER"));
                Assert.AreEqual(WssResult.InvalidArgument, e.Code, e.Detail);
                Assert.IsNotEmpty(e.OpenSslErrors, "the OpenSSL queue is kept: " + e.Detail);
            }
            using (var options = new WssOptions())
            {
                var e = Assert.Throws<WssException>(() => options.SetIoThreads(100000));
                Assert.AreEqual(WssResult.InvalidArgument, e.Code, e.Detail);
            }
        }

        [Test]
        public void ClientRejectsAnUntrustedServer()
        {
            using (var serverTls = ServerTls("rogue-server.pfx"))
            using (var server = EchoServer(serverTls))
            using (var client = new WssClient())
            using (var tls = ClientTls())
            {
                var serverErrors = new Errors(server);
                var e = Assert.Throws<WssException>(() => client.Connect(Url(server), tls));
                Assert.AreEqual(WssResult.CertVerify, e.Code, e.Detail);
                Assert.That(e.VerifyCode, Is.EqualTo(19).Or.EqualTo(20), "untrusted issuer: " + e.Detail);
                Assert.IsNotNull(e.VerifyText, e.Detail);
                StringAssert.Contains("rogue CA", e.VerifySubject, e.Detail);
                Assert.AreEqual("127.0.0.1:" + server.Port, e.PeerAddress);
                Assert.IsTrue(e.OpenSslErrors.Any(o => o.Reason.Contains("certificate verify failed")), e.Detail);

                // The server hears the client's alert, with the client's address.
                var se = Take(serverErrors.Queue, "the server's error");
                Assert.IsNull(se.Connection, "a failed handshake has no connection");
                Assert.AreEqual(WssResult.Tls, se.Error.Code, se.Error.Detail);
                Assert.IsTrue(se.Error.OpenSslErrors.Any(o => o.Reason.Contains("unknown ca")), se.Error.Detail);
                StringAssert.StartsWith("127.0.0.1:", se.Error.PeerAddress);
            }
        }

        [Test]
        public void ExpiredClientCertificateIsReportedOnBothSides()
        {
            using (var server = EchoServer())
            using (var client = new WssClient())
            using (var tls = ClientTls("expired-client.pfx"))
            {
                var serverErrors = new Errors(server);
                var e = Assert.Throws<WssException>(() => client.Connect(Url(server), tls));
                Assert.AreEqual(WssResult.Tls, e.Code, e.Detail);
                Assert.IsTrue(e.OpenSslErrors.Any(o => o.Reason.Contains("certificate expired")), e.Detail);
                Assert.IsNotNull(e.Hint, e.Detail);
                StringAssert.Contains("expired", e.Hint);

                var se = Take(serverErrors.Queue, "the server's error").Error;
                Assert.AreEqual(WssResult.CertVerify, se.Code, se.Detail);
                Assert.AreEqual(Expired, se.VerifyCode, se.Detail);
                Assert.AreEqual(0, se.VerifyDepth, se.Detail);
                StringAssert.Contains("expired client", se.VerifySubject);
                StringAssert.Contains("expired", se.VerifyText);
                StringAssert.StartsWith("127.0.0.1:", se.PeerAddress);
            }
        }

        [Test]
        public void RefusedUpgradeCarriesTheHttpStatus()
        {
            using (var server = EchoServer())
            using (var client = new WssClient())
            using (var tls = ClientTls())
            {
                server.Accepting += (s, e) => e.Refuse(403, "Go away");
                var e2 = Assert.Throws<WssException>(() => client.Connect(Url(server), tls));
                Assert.AreEqual(WssResult.Handshake, e2.Code, e2.Detail);
                Assert.AreEqual(403, e2.HttpStatus, e2.Detail);
                Eventually(() => server.ActiveConnections == 0, () => server.ActiveConnections + " connections still active");
            }
        }

        [Test]
        public void AFailedStartLeavesTheServerStartable()
        {
            using (var first = EchoServer())
            using (var server = new WssServer())
            using (var tls = ServerTls())
            {
                var e = Assert.Throws<WssException>(() => server.Start("127.0.0.1:" + first.Port, tls));
                Assert.AreEqual(WssResult.Io, e.Code, e.Detail);
                Assert.AreNotEqual(0, e.OsErrno, "address in use: " + e.Detail);
                server.Start("127.0.0.1:0", tls);
                Assert.AreNotEqual(0, server.Port);
            }
        }

        [Test]
        public void ConnectionCallsOnAnEndedConnectionThrowNotConnected()
        {
            using (var server = EchoServer())
            using (var tls = ClientTls())
            {
                WssConnection conn;
                using (var client = new WssClient())
                {
                    client.Connect(Url(server), tls);
                    conn = client.Connection;
                }
                var e = Assert.Throws<WssException>(() => conn.Send("late"));
                Assert.AreEqual(WssResult.NotConnected, e.Code, e.Detail);
            }
        }
    }
}
