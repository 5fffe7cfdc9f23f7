// What the examples print about a connection's TLS facts and about a failure (every field of
// WssException). Copy it along with the example you start from.
using System.IO;
using Wss;

namespace WssExamples
{
    internal static class Report
    {
        /// <summary>One line: TLS version, cipher and the peer certificate's subject (or "plain ws").</summary>
        internal static string TlsFacts(ConnectionInfo info)
        {
            if (info.TlsVersion == null) return "plain ws";
            string s = info.TlsVersion + ", " + (info.Cipher ?? "?");
            var peer = info.PeerCertificate;
            if (peer != null)
            {
                s += ", peer " + peer.Subject + (peer.Verified ? " (verified)" : " (not verified)");
            }
            else
            {
                s += ", no peer certificate";
            }
            return s;
        }

        /// <summary>", permessage-deflate; ..." when the connection compresses, else nothing.</summary>
        internal static string Compression(ConnectionInfo info)
        {
            return info.Extensions != null ? ", " + info.Extensions : "";
        }

        /// <summary>Every detail of a failure, one fact per line (the summary line first).</summary>
        internal static void Error(TextWriter output, WssException e)
        {
            output.WriteLine("error: " + e.Summary);
            output.WriteLine("  code:    " + (int)e.Code + " (" + e.Kind + ")");
            output.WriteLine("  message: " + e.Message);
            if (e.Hint != null) output.WriteLine("  hint:    " + e.Hint);
            if (e.VerifyCode != 0)
            {
                output.WriteLine("  verify:  " + e.VerifyCode + " " + e.VerifyText + " at depth " + e.VerifyDepth + " subject " + (e.VerifySubject ?? "?"));
            }
            foreach (var o in e.OpenSslErrors)
            {
                output.WriteLine("  openssl: " + o);
            }
            if (e.OsErrno != 0) output.WriteLine("  errno:   " + e.OsErrno);
            if (e.HttpStatus != 0) output.WriteLine("  http:    " + e.HttpStatus);
            if (e.PeerAddress != null) output.WriteLine("  peer:    " + e.PeerAddress);
        }
    }
}
