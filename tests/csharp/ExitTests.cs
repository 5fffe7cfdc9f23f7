using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using NUnit.Framework;
using static Wss.Tests.TestSupport;

namespace Wss.Tests
{
    /// <summary>
    /// A process whose client took events on the library's I/O threads exits on its own: each
    /// case runs tests/csharp/exit-probe/ExitProbe.exe as its own `mono` process against a server
    /// of this test and asserts it ended within a generous bound (a hang is killed and fails).
    /// </summary>
    [TestFixture]
    public class ExitTests
    {
        /// <summary>Far above a healthy run (about a second); only a hang reaches it.</summary>
        private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(90);

        private static string ProbePath
        {
            get
            {
                string path = Environment.GetEnvironmentVariable("WSS_TEST_EXIT_PROBE");
                if (string.IsNullOrEmpty(path) || !File.Exists(path))
                {
                    Assert.Fail("WSS_TEST_EXIT_PROBE must name ExitProbe.exe (scripts/test-csharp.sh builds it)");
                }
                return path;
            }
        }

        /// <summary>Run the probe; returns its stdout after asserting it exited 0 within the bound.</summary>
        private static string RunProbe(string mode, string url)
        {
            var info = new ProcessStartInfo("mono", "--debug \"" + ProbePath + "\" " + mode + " " + url + " \"" + Certs + "\"")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using (var p = Process.Start(info))
            {
                Task<string> stdout = p.StandardOutput.ReadToEndAsync();
                Task<string> stderr = p.StandardError.ReadToEndAsync();
                if (!p.WaitForExit((int)ExitBound.TotalMilliseconds))
                {
                    p.Kill();
                    p.WaitForExit();
                    Assert.Fail("the " + mode + " probe did not exit within " + ExitBound.TotalSeconds + " s (hung at exit)\nstdout:\n" + stdout.Result + "\nstderr:\n" + stderr.Result);
                }
                p.WaitForExit(); // lets the output readers finish
                string output = stdout.Result;
                Assert.AreEqual(0, p.ExitCode, "the " + mode + " probe failed\nstdout:\n" + output + "\nstderr:\n" + stderr.Result);
                StringAssert.Contains("probe done", output);
                return output;
            }
        }

        private static void AgainstEchoServer(string mode)
        {
            using (var server = EchoServer())
            {
                var errors = new Errors(server);
                RunProbe(mode, Url(server));
                errors.AssertNone("server");
            }
        }

        [Test]
        public void CallbackClientConnectedDisposedExits()
        {
            AgainstEchoServer("callbacks");
        }

        [Test]
        public void CallbackClientConnectedAsyncExits()
        {
            AgainstEchoServer("async");
        }

        [Test]
        public void PullClientExits()
        {
            AgainstEchoServer("pull");
        }

        [Test]
        public void ClientFreedByItsFinalizerExits()
        {
            AgainstEchoServer("finalized");
        }

        [Test]
        public void ClientStillOpenAtExitExits()
        {
            AgainstEchoServer("abandoned");
        }

        [Test]
        public void ServerAndClientStillOpenAtExitExit()
        {
            RunProbe("server-abandoned", "unused");
        }

        [Test]
        public void FailedAsyncConnectExits()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop(); // nothing listens there now: the connect is refused
            StringAssert.Contains("failed as expected", RunProbe("async-fail", "wss://127.0.0.1:" + port + "/"));
        }
    }
}
