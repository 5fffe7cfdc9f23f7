using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using NUnit.Framework;

namespace Wss.Tests
{
    /// <summary>
    /// The C# struct mirrors have the C compiler's sizes, offsets and member sizes (tests/csharp/layout.c
    /// prints them into WSS_TEST_LAYOUT), and the library agrees at run time.
    /// </summary>
    [TestFixture]
    public class LayoutTests
    {
        private static readonly Dictionary<string, Type> Mirrors = new Dictionary<string, Type>
        {
            { "wss_openssl_error", typeof(WssOpenSslError) },
            { "wss_error_info", typeof(WssErrorInfo) },
            { "wss_peer_cert", typeof(WssPeerCert) },
            { "wss_conn_info", typeof(WssConnInfo) },
            { "wss_header", typeof(WssHeader) },
            { "wss_upgrade_request", typeof(WssUpgradeRequest) },
            { "wss_accept_decision", typeof(WssAcceptDecision) },
            { "wss_callbacks", typeof(WssCallbacks) },
            { "wss_event", typeof(WssEventNative) },
        };

        [Test]
        public void StructSizesAndOffsetsMatchTheCCompiler()
        {
            string path = Environment.GetEnvironmentVariable("WSS_TEST_LAYOUT");
            Assert.IsTrue(path != null && File.Exists(path), "WSS_TEST_LAYOUT must name layout.c's output");
            var seen = new HashSet<string>();
            int members = 0;
            foreach (var line in File.ReadAllLines(path))
            {
                var parts = line.Split(' ');
                Assert.AreEqual(parts[1] == "sizeof" ? 3 : 4, parts.Length, line);
                Type t;
                Assert.IsTrue(Mirrors.TryGetValue(parts[0], out t), "no C# mirror of " + parts[0]);
                seen.Add(parts[0]);
                int expected = int.Parse(parts[2]);
                if (parts[1] == "sizeof")
                {
                    Assert.AreEqual(expected, Marshal.SizeOf(t), "sizeof(" + parts[0] + ")");
                }
                else
                {
                    Assert.AreEqual(expected, Marshal.OffsetOf(t, parts[1]).ToInt32(), parts[0] + "." + parts[1]);
                    var field = t.GetField(parts[1], BindingFlags.Instance | BindingFlags.NonPublic);
                    Assert.AreEqual(int.Parse(parts[3]), Marshal.SizeOf(field.FieldType), "size of " + parts[0] + "." + parts[1]);
                    members++;
                }
            }
            CollectionAssert.AreEquivalent(Mirrors.Keys, seen, "every mirrored struct is checked");
            // Every C# field is checked too: one line per member.
            int fields = 0;
            foreach (var t in Mirrors.Values)
            {
                fields += t.GetFields(BindingFlags.Instance | BindingFlags.NonPublic).Length;
            }
            Assert.AreEqual(fields, members, "a C# field without a C member (or the reverse)");
        }

        /// <summary>"WSS_ERR_CERT_VERIFY" -> "CertVerify".</summary>
        private static string EnumName(string cName)
        {
            string rest = cName.StartsWith("WSS_ERR_") ? cName.Substring(8) : cName.Substring(4);
            return string.Concat(rest.Split('_').Select(w => w.Substring(0, 1) + w.Substring(1).ToLowerInvariant()));
        }

        [Test]
        public void ResultCodesMatchTheCHeader()
        {
            // WSS_TEST_RESULTS: "NAME value" for every WSS_OK / WSS_ERR_* of wss.h, printed by a
            // C program scripts/test-csharp.sh generates from the header and compiles.
            string path = Environment.GetEnvironmentVariable("WSS_TEST_RESULTS");
            Assert.IsTrue(path != null && File.Exists(path), "WSS_TEST_RESULTS must name the C result codes");
            var c = File.ReadAllLines(path).Select(l => l.Split(' ')).ToDictionary(p => EnumName(p[0]), p => int.Parse(p[1]));
            Assert.Greater(c.Count, 10, "the header's codes were read");
            var cs = Enum.GetValues(typeof(WssResult)).Cast<WssResult>().ToDictionary(v => v.ToString(), v => (int)v);
            CollectionAssert.AreEquivalent(c.Keys, cs.Keys, "one enum member per C code, named alike");
            foreach (var kv in c)
            {
                Assert.AreEqual(kv.Value, cs[kv.Key], "WssResult." + kv.Key + " is the C value");
                var e = new WssException((WssResult)kv.Value, "x");
                Assert.AreEqual(WssLibrary.Describe((WssResult)kv.Value), e.Kind, "Kind of " + kv.Key);
            }
        }

        [Test]
        public void TheLibraryFillsErrorInfoToOurSize()
        {
            using (var tls = new TlsConfig())
            {
                Assert.Throws<WssException>(() => tls.LoadCaFile("/nonexistent/ca.pem"));
            }
            ErrorHandle h;
            Assert.AreEqual(0, NativeMethods.wss_error_last(out h));
            using (h)
            {
                var info = new WssErrorInfo { struct_size = (uint)Marshal.SizeOf(typeof(WssErrorInfo)) };
                Assert.AreEqual(0, NativeMethods.wss_error_get_info(h, ref info));
                Assert.AreEqual(Marshal.SizeOf(typeof(WssErrorInfo)), (int)info.struct_size);
                Assert.AreEqual((int)WssResult.Config, info.code);
            }
        }

        [Test]
        public void VersionMatchesTheWrapper()
        {
            Assert.AreEqual(WssLibrary.ExpectedMajor, (int)(WssLibrary.VersionNumber >> 16));
            StringAssert.StartsWith(WssLibrary.ExpectedMajor + ".", WssLibrary.Version);
            StringAssert.Contains("OpenSSL", WssLibrary.OpenSslVersion);
            Assert.AreEqual("unknown result code", WssLibrary.Describe((WssResult)(-999)));
            foreach (WssResult code in Enum.GetValues(typeof(WssResult)))
            {
                Assert.AreNotEqual("unknown result code", WssLibrary.Describe(code), "the library knows " + code);
            }
        }
    }
}
