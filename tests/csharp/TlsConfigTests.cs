using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>
    /// Every TlsConfig setter has an effect a peer can see: CRLs, protocol versions, cipher lists,
    /// groups, ALPN, SNI, verify modes, DH parameters and PEM identities from memory.
    /// </summary>
    [TestFixture]
    public class TlsConfigTests
    {
        /// <summary>X509_V_ERR_CERT_REVOKED.</summary>
        private const int Revoked = 23;
        /// <summary>X509_V_ERR_HOSTNAME_MISMATCH.</summary>
        private const int HostnameMismatch = 62;

        /// <summary>What each side knows about a connection that opened.</summary>
        private sealed class Pair
        {
            internal ConnectionInfo Server, Client;
        }

        /// <summary>Connect a client with <paramref name="clientTls"/> to a server with
        /// <paramref name="serverTls"/> (both disposed here); both sides' facts.</summary>
        private static Pair Open(TlsConfig serverTls, TlsConfig clientTls)
        {
            using (serverTls)
            using (clientTls)
            using (var server = new WssServer())
            using (var client = new WssClient())
            {
                var serverErrors = new Errors(server);
                var opened = new BlockingCollection<ConnectionInfo>();
                server.Opened += (s, e) => opened.Add(e.Connection.GetInfo());
                server.Start("127.0.0.1:0", serverTls);
                client.Connect(Url(server), clientTls);
                var pair = new Pair { Server = Take(opened, "the server's Opened"), Client = client.Connection.GetInfo() };
                serverErrors.AssertNone("server");
                return pair;
            }
        }

        /// <summary>The same, for a handshake that fails: the client's exception and the server's error.</summary>
        private static Tuple<WssException, WssException> Refused(TlsConfig serverTls, TlsConfig clientTls)
        {
            using (serverTls)
            using (clientTls)
            using (var server = new WssServer())
            using (var client = new WssClient())
            {
                var serverErrors = new Errors(server);
                server.Start("127.0.0.1:0", serverTls);
                var e = Assert.Throws<WssException>(() => client.Connect(Url(server), clientTls));
                var se = Take(serverErrors.Queue, "the server's error");
                Assert.IsNull(se.Connection, "a failed handshake has no connection");
                return Tuple.Create(e, se.Error);
            }
        }

        private static TlsConfig Server(string pfx = "server.pfx")
        {
            return new TlsConfig().LoadPfx(Cert(pfx), "server-pass");
        }

        private static TlsConfig Client()
        {
            return new TlsConfig().LoadCaFile(Cert("ca.pem"));
        }

        private static bool AnyReason(WssException e, string text)
        {
            return e.OpenSslErrors.Any(o => o.Reason.Contains(text));
        }

        [Test]
        public void LoadCrlRefusesARevokedClientWithVerifyError23()
        {
            var refused = Refused(ServerTls().LoadCrl(Cert("ca.crl")), ClientTls("revoked-client.pfx"));
            var se = refused.Item2;
            Assert.AreEqual(WssResult.CertVerify, se.Code, se.Detail);
            Assert.AreEqual("certificate verification failed", se.Kind);
            Assert.AreEqual(Revoked, se.VerifyCode, se.Detail);
            Assert.AreEqual(0, se.VerifyDepth, se.Detail);
            StringAssert.Contains("revoked", se.VerifyText, se.Detail);
            StringAssert.Contains("revoked client", se.VerifySubject, se.Detail);
            var e = refused.Item1;
            Assert.AreEqual(WssResult.Tls, e.Code, e.Detail);
            Assert.IsTrue(AnyReason(e, "certificate revoked"), "the client hears the alert: " + e.Detail);

            // The CRL is what refuses it: without one the same certificate is accepted, and with
            // it a certificate it does not list still is.
            Open(ServerTls(), ClientTls("revoked-client.pfx"));
            var ok = Open(ServerTls().LoadCrl(Cert("ca.crl")), ClientTls());
            Assert.IsTrue(ok.Server.PeerCertificate.Verified);

            using (var tls = new TlsConfig())
            {
                var bad = Assert.Throws<WssException>(() => tls.LoadCrl(Cert("ca.key")));
                Assert.AreEqual(WssResult.Config, bad.Code, bad.Detail);
            }
        }

        [Test]
        public void MinAndMaxVersionsBoundTheHandshake()
        {
            var refused = Refused(Server().SetMinVersion(TlsVersion.Tls13), Client().SetMaxVersion(TlsVersion.Tls12));
            var e = refused.Item1;
            Assert.AreEqual(WssResult.Tls, e.Code, e.Detail);
            Assert.AreEqual("TLS error", e.Kind);
            Assert.IsTrue(AnyReason(e, "protocol version"), "the server's alert: " + e.Detail);
            Assert.AreEqual(WssResult.Tls, refused.Item2.Code, refused.Item2.Detail);
            Assert.IsTrue(AnyReason(refused.Item2, "unsupported protocol"), refused.Item2.Detail);

            var tls12 = Open(Server().SetMaxVersion(TlsVersion.Tls12), Client().SetMinVersion(TlsVersion.Tls12).SetMaxVersion(TlsVersion.Tls12));
            Assert.AreEqual("TLSv1.2", tls12.Client.TlsVersion);
            Assert.AreEqual("TLSv1.2", tls12.Server.TlsVersion);
            var tls13 = Open(Server().SetMinVersion(TlsVersion.Tls13), Client());
            Assert.AreEqual("TLSv1.3", tls13.Client.TlsVersion);
            Assert.AreEqual("TLSv1.3", tls13.Server.TlsVersion);
        }

        [Test]
        public void CiphersAndCipherSuitesPickTheCipher()
        {
            // TLS 1.2: the server's list decides (server preference).
            var tls12 = Open(Server().SetMaxVersion(TlsVersion.Tls12).SetCiphers("ECDHE-ECDSA-CHACHA20-POLY1305"), Client());
            Assert.AreEqual("ECDHE-ECDSA-CHACHA20-POLY1305", tls12.Client.Cipher);
            Assert.AreEqual("ECDHE-ECDSA-CHACHA20-POLY1305", tls12.Server.Cipher);
            // TLS 1.3: a suite only the client's list allows.
            var tls13 = Open(Server(), Client().SetCipherSuites("TLS_CHACHA20_POLY1305_SHA256"));
            Assert.AreEqual("TLS_CHACHA20_POLY1305_SHA256", tls13.Client.Cipher);
            Assert.AreEqual("TLS_CHACHA20_POLY1305_SHA256", tls13.Server.Cipher);
            // Lists with nothing in common fail the handshake.
            var refused = Refused(Server().SetCipherSuites("TLS_AES_256_GCM_SHA384"), Client().SetCipherSuites("TLS_CHACHA20_POLY1305_SHA256"));
            Assert.AreEqual(WssResult.Tls, refused.Item2.Code, refused.Item2.Detail);
            Assert.IsTrue(AnyReason(refused.Item2, "no shared cipher"), refused.Item2.Detail);

            using (var tls = new TlsConfig())
            {
                Assert.AreEqual(WssResult.InvalidArgument, Assert.Throws<WssException>(() => tls.SetCipherSuites("TLS_NOT_A_SUITE")).Code);
            }
        }

        [Test]
        public void GroupsMustOverlap()
        {
            var refused = Refused(Server().SetGroups("P-384"), Client().SetGroups("X25519"));
            Assert.AreEqual(WssResult.Tls, refused.Item1.Code, refused.Item1.Detail);
            Assert.AreEqual(WssResult.Tls, refused.Item2.Code, refused.Item2.Detail);
            Assert.IsTrue(AnyReason(refused.Item2, "no suitable key share"), refused.Item2.Detail);
            var ok = Open(Server().SetGroups("P-384"), Client().SetGroups("X25519:P-384"));
            Assert.AreEqual("TLSv1.3", ok.Client.TlsVersion);
            using (var tls = new TlsConfig())
            {
                Assert.AreEqual(WssResult.InvalidArgument, Assert.Throws<WssException>(() => tls.SetGroups("not-a-group")).Code);
            }
        }

        [Test]
        public void AlpnIsNegotiatedAndVisibleOnBothSides()
        {
            var both = Open(Server().SetAlpn("wss-test", "http/1.1"), Client().SetAlpn("other", "wss-test"));
            Assert.AreEqual("wss-test", both.Client.Alpn);
            Assert.AreEqual("wss-test", both.Server.Alpn);
            var none = Open(Server().SetAlpn("wss-test"), Client());
            Assert.IsNull(none.Client.Alpn, "the client offered none");
            Assert.IsNull(none.Server.Alpn);
            var cleared = Open(Server().SetAlpn("wss-test"), Client().SetAlpn("wss-test").SetAlpn());
            Assert.IsNull(cleared.Client.Alpn, "SetAlpn() clears the list");
        }

        [Test]
        public void ServerNameIsSentAsSniAndVerified()
        {
            var sni = Open(Server(), Client().SetServerName("localhost"));
            Assert.AreEqual("localhost", sni.Server.ServerName, "the server saw the SNI");
            var plain = Open(Server(), Client());
            Assert.IsNull(plain.Server.ServerName, "no SNI for an IP address");

            var refused = Refused(Server(), Client().SetServerName("wrong.example"));
            var e = refused.Item1;
            Assert.AreEqual(WssResult.CertVerify, e.Code, e.Detail);
            Assert.AreEqual(HostnameMismatch, e.VerifyCode, e.Detail);
            StringAssert.Contains("names do not match", e.Hint, e.Detail);
        }

        [Test]
        public void VerifyModeDecidesWhetherClientCertificatesAreAskedFor()
        {
            // None: not asked for, so not seen even when the client has one.
            var none = Open(Server().LoadCaFile(Cert("ca.pem")).SetVerifyMode(VerifyMode.None), ClientTls());
            Assert.IsNull(none.Server.PeerCertificate);
            // Optional: asked for; a client without one is accepted, one that has one shows it.
            var anonymous = Open(Server().LoadCaFile(Cert("ca.pem")).SetVerifyMode(VerifyMode.Optional), ClientTls(null));
            Assert.IsNull(anonymous.Server.PeerCertificate);
            var shown = Open(Server().LoadCaFile(Cert("ca.pem")).SetVerifyMode(VerifyMode.Optional), ClientTls());
            Assert.IsTrue(shown.Server.PeerCertificate.Verified);
            StringAssert.Contains("wss test client", shown.Server.PeerCertificate.Subject);
            // ... and a certificate that is presented must verify.
            var expired = Refused(Server().LoadCaFile(Cert("ca.pem")).SetVerifyMode(VerifyMode.Optional), ClientTls("expired-client.pfx"));
            Assert.AreEqual(10, expired.Item2.VerifyCode, expired.Item2.Detail);
            // Required without a certificate: refused.
            var required = Refused(Server().LoadCaFile(Cert("ca.pem")).SetVerifyMode(VerifyMode.Required), ClientTls(null));
            Assert.AreEqual(WssResult.Tls, required.Item2.Code, required.Item2.Detail);
            Assert.IsTrue(AnyReason(required.Item2, "peer did not return a certificate"), required.Item2.Detail);

            // Asking for client certificates with no CA to verify them is a configuration error.
            using (var tls = Server().SetVerifyMode(VerifyMode.Optional))
            using (var server = new WssServer())
            {
                var e = Assert.Throws<WssException>(() => server.Start("127.0.0.1:0", tls));
                Assert.AreEqual(WssResult.Config, e.Code, e.Detail);
                Assert.IsNotNull(e.Hint, e.Detail);
            }
        }

        [Test]
        public void DhParamsEnableTheDheSuites()
        {
            Func<TlsConfig> rsaDheServer = () => new TlsConfig().LoadPem(Cert("rsa-server.pem"), Cert("rsa-server.key"))
                .SetMaxVersion(TlsVersion.Tls12).SetCiphers("DHE-RSA-AES128-GCM-SHA256");
            // Without parameters the server has no DHE suite to offer.
            var refused = Refused(rsaDheServer(), Client());
            Assert.IsTrue(AnyReason(refused.Item2, "no shared cipher"), refused.Item2.Detail);
            var dhe = Open(rsaDheServer().LoadDhParams(Cert("dh.pem")), Client());
            Assert.AreEqual("DHE-RSA-AES128-GCM-SHA256", dhe.Client.Cipher);
            Assert.AreEqual("TLSv1.2", dhe.Client.TlsVersion);

            using (var tls = new TlsConfig())
            {
                var e = Assert.Throws<WssException>(() => tls.LoadDhParams(Cert("ca.pem")));
                Assert.AreEqual(WssResult.Config, e.Code, e.Detail);
                StringAssert.Contains("ca.pem", e.Message);
            }
        }

        [Test]
        public void PemIdentityFromMemory()
        {
            byte[] cert = File.ReadAllBytes(Cert("server.pem")), key = File.ReadAllBytes(Cert("server.key"));
            var pair = Open(new TlsConfig().LoadPem(cert, key), Client());
            StringAssert.Contains("wss test server", pair.Client.PeerCertificate.Subject);
            Assert.IsTrue(pair.Client.PeerCertificate.Verified);
            using (var tls = new TlsConfig())
            {
                var e = Assert.Throws<WssException>(() => tls.LoadPem(key, cert));
                Assert.AreEqual(WssResult.Config, e.Code, "certificate and key swapped: " + e.Detail);
                Assert.Throws<ArgumentNullException>(() => tls.LoadPem(null, key));
            }
        }
    }
}
