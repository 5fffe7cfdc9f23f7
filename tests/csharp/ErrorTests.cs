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

        /// <summary>
        /// OpenSSL 3 records the function that raised an entry (a C identifier) and packs the
        /// library in bits 23-30 and the reason in bits 0-22 of the code.
        /// </summary>
        private static void AssertFunctionAndCode(OpenSslError o, int reason)
        {
            string version = WssLibrary.OpenSslVersion;
            StringAssert.IsMatch("^[a-z0-9_]+$", o.Function, "the function " + version + " recorded");
            const ulong LibSsl = 20; // ERR_LIB_SSL
            Assert.AreEqual(LibSsl, (o.Code >> 23) & 0xFF, "ERR_GET_LIB of " + o.Code + " (OpenSSL 3 layout; " + version + ")");
            Assert.AreEqual((ulong)reason, o.Code & 0x7FFFFF, "ERR_GET_REASON of " + o.Code + " (OpenSSL 3 layout; " + version + ")");
        }

        [Test]
        public void WrapperMadeExceptionsCarryTheLibrarysKind()
        {
            var e = new WssException(WssResult.Closed, "the connection ended before it opened");
            Assert.AreEqual("endpoint closed", e.Kind);
            Assert.AreEqual("wss: endpoint closed: the connection ended before it opened", e.Summary);
            Assert.AreEqual(-1, e.VerifyDepth);
            Assert.IsEmpty(e.OpenSslErrors);
        }

        [Test]
        public void WrongPfxPasswordIsAConfigError()
        {
            using (var tls = new TlsConfig())
            {
                var e = Assert.Throws<WssException>(() => tls.LoadPfx(Cert("server.pfx"), "wrong"));
                Assert.AreEqual(WssResult.Config, e.Code, e.Detail);
                Assert.AreEqual("invalid TLS configuration", e.Kind);
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
                Assert.AreEqual("invalid TLS configuration", e.Kind);
                e = Assert.Throws<WssException>(() => tls.SetCiphers("NOT-A-CIPHER"));
                Assert.AreEqual(WssResult.InvalidArgument, e.Code, e.Detail);
                Assert.AreEqual("invalid argument", e.Kind);
                Assert.IsNotEmpty(e.OpenSslErrors, "the OpenSSL queue is kept: " + e.Detail);
            }
            using (var options = new WssOptions())
            {
                var e = Assert.Throws<WssException>(() => options.SetIoThreads(100000));
                Assert.AreEqual(WssResult.InvalidArgument, e.Code, e.Detail);
                Assert.AreEqual("invalid argument", e.Kind);
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
                Assert.AreEqual("certificate verification failed", e.Kind);
                Assert.That(e.VerifyCode, Is.EqualTo(19).Or.EqualTo(20), "untrusted issuer: " + e.Detail);
                Assert.IsNotNull(e.VerifyText, e.Detail);
                StringAssert.Contains("rogue CA", e.VerifySubject, e.Detail);
                Assert.AreEqual("127.0.0.1:" + server.Port, e.PeerAddress);
                Assert.IsTrue(e.OpenSslErrors.Any(o => o.Reason.Contains("certificate verify failed")), e.Detail);

                // The server hears the client's alert, with the client's address.
                var se = Take(serverErrors.Queue, "the server's error");
                Assert.IsNull(se.Connection, "a failed handshake has no connection");
                Assert.AreEqual(WssResult.Tls, se.Error.Code, se.Error.Detail);
                Assert.AreEqual("TLS error", se.Error.Kind);
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
                Assert.AreEqual("TLS error", e.Kind);
                Assert.IsTrue(e.OpenSslErrors.Any(o => o.Reason.Contains("certificate expired")), e.Detail);
                Assert.IsNotNull(e.Hint, e.Detail);
                StringAssert.Contains("expired", e.Hint);

                // The client's OpenSSL entry: the server's alert as OpenSSL records it.
                var alert = e.OpenSslErrors.Single(o => o.Reason == "sslv3 alert certificate expired");
                Assert.AreEqual("SSL routines", alert.Library);
                Assert.AreEqual("SSL alert number 45", alert.Data, "the alert's number as OpenSSL's data");
                AssertFunctionAndCode(alert, 1000 + 45);   // SSL_AD_REASON_OFFSET + certificate_expired
                // The one-line summary (what the C++ wrapper's what() says): kind, message, the
                // peer the message does not name, the hint.
                Assert.AreEqual("wss: TLS error: " + e.Message + "; peer " + e.PeerAddress + "; hint: " + e.Hint, e.Summary);

                var se = Take(serverErrors.Queue, "the server's error").Error;
                Assert.AreEqual(WssResult.CertVerify, se.Code, se.Detail);
                Assert.AreEqual("certificate verification failed", se.Kind);
                var failed = se.OpenSslErrors.Single(o => o.Reason == "certificate verify failed");
                Assert.AreEqual("SSL routines", failed.Library);
                Assert.AreEqual("", failed.Data, "no data for this one");
                AssertFunctionAndCode(failed, 134);   // SSL_R_CERTIFICATE_VERIFY_FAILED
                // The message states the verify error already: the summary does not repeat it.
                StringAssert.Contains("verify error 10", se.Message);
                Assert.AreEqual("wss: certificate verification failed: " + se.Message + "; peer " + se.PeerAddress + "; hint: " + se.Hint, se.Summary);
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
                Assert.AreEqual("WebSocket handshake failed", e2.Kind);
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
                Assert.AreEqual("I/O error", e.Kind);
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
                Assert.AreEqual("not connected", e.Kind);
            }
        }
    }
}
