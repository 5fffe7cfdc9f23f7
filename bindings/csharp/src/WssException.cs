using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Wss
{
    /// <summary>The library's result codes (<c>WSS_ERR_*</c>); values never change.</summary>
    public enum WssResult
    {
        /// <summary>Success.</summary>
        Ok = 0,
        /// <summary>Bad argument: null, invalid UTF-8, unknown enum value, out-of-range number.</summary>
        InvalidArgument = -1,
        /// <summary>Socket or file error (see <see cref="WssException.OsErrno"/>).</summary>
        Io = -2,
        /// <summary>TLS failure other than certificate verification (see the OpenSSL entries).</summary>
        Tls = -3,
        /// <summary>The peer's certificate failed verification (see <see cref="WssException.VerifyCode"/>).</summary>
        CertVerify = -4,
        /// <summary>The HTTP upgrade failed or was refused (see <see cref="WssException.HttpStatus"/>).</summary>
        Handshake = -5,
        /// <summary>Timed out (connect, handshake, close, dead peer, or no event).</summary>
        Timeout = -6,
        /// <summary>The connection id names no open connection.</summary>
        NotConnected = -7,
        /// <summary>The connection's send queue is full: retry after it drains.</summary>
        Backpressure = -8,
        /// <summary>The endpoint is closed.</summary>
        Closed = -9,
        /// <summary>The peer violated the WebSocket protocol.</summary>
        Protocol = -10,
        /// <summary>A message exceeded a size limit.</summary>
        MessageTooBig = -11,
        /// <summary>Unusable TLS configuration: unreadable file, bad format, wrong password, key mismatch.</summary>
        Config = -12,
        /// <summary>An internal error was caught; the process is unaffected.</summary>
        Internal = -13,
        /// <summary>Not allowed now (e.g. a blocking call from inside a callback).</summary>
        InvalidState = -14,
    }

    /// <summary>One entry of the OpenSSL error queue at a failure.</summary>
    public sealed class OpenSslError
    {
        internal OpenSslError(WssOpenSslError e)
        {
            Code = e.code;
            Library = Utf8.FromNative(e.library) ?? "";
            Reason = Utf8.FromNative(e.reason) ?? "";
            Function = Utf8.FromNative(e.function) ?? "";
            Data = Utf8.FromNative(e.data) ?? "";
        }

        /// <summary>Packed code from <c>ERR_get_error</c>.</summary>
        public ulong Code { get; }
        /// <summary>Library name, e.g. "SSL routines".</summary>
        public string Library { get; }
        /// <summary>Reason, e.g. "certificate verify failed".</summary>
        public string Reason { get; }
        /// <summary>Function OpenSSL recorded ("" if none).</summary>
        public string Function { get; }
        /// <summary>Extra data OpenSSL attached ("" if none).</summary>
        public string Data { get; }

        /// <summary>"library: reason (data)".</summary>
        public override string ToString()
        {
            return Library + ": " + Reason + (Data.Length > 0 ? " (" + Data + ")" : "");
        }
    }

    /// <summary>
    /// A failure reported by the native library, with all of its detail: result code, message,
    /// hint, the OpenSSL error queue, the X509 verify result, errno, peer address and HTTP status.
    /// Thrown by calls that fail and carried by <see cref="ErrorEventArgs"/> for failures that
    /// happen on the library's threads. Fully managed: it holds no native memory.
    /// </summary>
    public class WssException : Exception
    {
        private static readonly ReadOnlyCollection<OpenSslError> NoEntries =
            new ReadOnlyCollection<OpenSslError>(new OpenSslError[0]);

        /// <summary>An exception with a code and message only (no native detail).</summary>
        public WssException(WssResult code, string message) : base(message)
        {
            Code = code;
            Kind = KindOf(code);
            OpenSslErrors = NoEntries;
            VerifyDepth = -1;
        }

        private WssException(WssErrorInfo info, string message) : base(message)
        {
            Code = (WssResult)info.code;
            Kind = Utf8.FromNative(info.kind) ?? Code.ToString();
            Hint = Utf8.FromNative(info.hint);
            var entries = new List<OpenSslError>();
            ulong n = info.openssl_error_count.ToUInt64();
            int size = Marshal.SizeOf(typeof(WssOpenSslError));
            for (ulong i = 0; i < n && info.openssl_errors != IntPtr.Zero; i++)
            {
                var p = new IntPtr(info.openssl_errors.ToInt64() + (long)i * size);
                entries.Add(new OpenSslError((WssOpenSslError)Marshal.PtrToStructure(p, typeof(WssOpenSslError))));
            }
            OpenSslErrors = new ReadOnlyCollection<OpenSslError>(entries);
            VerifyCode = info.verify_code;
            VerifyDepth = info.verify_depth;
            VerifyText = Utf8.FromNative(info.verify_text);
            VerifySubject = Utf8.FromNative(info.verify_subject);
            PeerAddress = Utf8.FromNative(info.peer_address);
            OsErrno = info.os_errno;
            HttpStatus = info.http_status;
        }

        /// <summary>The result code.</summary>
        public WssResult Code { get; }
        /// <summary>Short description of the code, from the library.</summary>
        public string Kind { get; }
        /// <summary>Advice for a common mistake, or null.</summary>
        public string Hint { get; }
        /// <summary>The OpenSSL error queue at the failure, oldest first (empty when none).</summary>
        public IReadOnlyList<OpenSslError> OpenSslErrors { get; }
        /// <summary>X509 verify result (<c>X509_V_ERR_*</c>), 0 when no certificate failed.</summary>
        public int VerifyCode { get; }
        /// <summary>Chain depth of the failing certificate (0 = the peer's own), -1 if unknown.</summary>
        public int VerifyDepth { get; }
        /// <summary>OpenSSL's text for <see cref="VerifyCode"/>, or null.</summary>
        public string VerifyText { get; }
        /// <summary>Subject of the failing certificate, or null.</summary>
        public string VerifySubject { get; }
        /// <summary>The peer's address ("ip:port"), or null.</summary>
        public string PeerAddress { get; }
        /// <summary>OS error number, 0 if none.</summary>
        public int OsErrno { get; }
        /// <summary>HTTP status of a refused upgrade, 0 if none.</summary>
        public int HttpStatus { get; }

        /// <summary>Everything known, one item per line (what a log should get).</summary>
        public string Detail
        {
            get
            {
                var b = new StringBuilder();
                b.Append(Kind).Append(" (").Append((int)Code).Append("): ").Append(Message);
                if (Hint != null) b.Append("\n  hint: ").Append(Hint);
                foreach (var e in OpenSslErrors) b.Append("\n  openssl: ").Append(e);
                if (VerifyCode != 0)
                {
                    b.Append("\n  verify: ").Append(VerifyCode).Append(' ').Append(VerifyText)
                        .Append(" at depth ").Append(VerifyDepth).Append(' ').Append(VerifySubject);
                }
                if (OsErrno != 0) b.Append("\n  errno: ").Append(OsErrno);
                if (PeerAddress != null) b.Append("\n  peer: ").Append(PeerAddress);
                if (HttpStatus != 0) b.Append("\n  http status: ").Append(HttpStatus);
                return b.ToString();
            }
        }

        /// <summary>
        /// One line a person can act on, the same as the C++ wrapper's <c>what()</c>:
        /// "wss: kind: message", then the facts the message does not already state (verify
        /// error, HTTP status, the last OpenSSL reason, errno, peer), then the hint.
        /// </summary>
        public string Summary
        {
            get
            {
                string message = Message;
                var b = new StringBuilder("wss: ").Append(Kind).Append(": ").Append(message);
                Action<string, string> add = (fact, statedAs) =>
                {
                    if (message.IndexOf(statedAs, StringComparison.Ordinal) < 0) b.Append("; ").Append(fact);
                };
                if (VerifyCode != 0)
                {
                    string v = "verify error " + VerifyCode;
                    if (VerifyText != null) v += " (" + VerifyText + ")";
                    if (VerifyDepth >= 0) v += " at depth " + VerifyDepth;
                    if (VerifySubject != null) v += " for " + VerifySubject;
                    add(v, "verify error " + VerifyCode);
                }
                if (HttpStatus != 0) add("HTTP " + HttpStatus, HttpStatus.ToString());
                if (OpenSslErrors.Count > 0)
                {
                    string reason = OpenSslErrors[OpenSslErrors.Count - 1].Reason;
                    add("OpenSSL: " + reason, reason);
                }
                if (OsErrno != 0) add("errno " + OsErrno, "os error " + OsErrno);
                if (PeerAddress != null) add("peer " + PeerAddress, PeerAddress);
                if (Hint != null) b.Append("; hint: ").Append(Hint);
                return b.ToString();
            }
        }

        /// <summary>The detail followed by the stack trace.</summary>
        public override string ToString()
        {
            return GetType().FullName + ": " + Detail + (StackTrace != null ? "\n" + StackTrace : "");
        }

        /// <summary>The library's name for <paramref name="code"/> (as native errors carry it), or
        /// the enum name when the native library cannot be loaded.</summary>
        private static string KindOf(WssResult code)
        {
            try
            {
                return Utf8.FromNative(NativeMethods.wss_result_str((int)code)) ?? code.ToString();
            }
            catch (DllNotFoundException)
            {
                return code.ToString();
            }
            catch (EntryPointNotFoundException)
            {
                return code.ToString();
            }
        }

        /// <summary>Build from a borrowed <c>wss_error*</c> (read now; nothing is kept).</summary>
        internal static WssException FromNative(IntPtr err)
        {
            var info = new WssErrorInfo { struct_size = (uint)Marshal.SizeOf(typeof(WssErrorInfo)) };
            int rc = NativeMethods.wss_error_get_info(err, ref info);
            if (rc != 0)
            {
                return new WssException((WssResult)rc, "wss_error_get_info failed");
            }
            return new WssException(info, Utf8.FromNative(info.message) ?? "");
        }

        /// <summary>The calling thread's last failure, for a call that returned <paramref name="rc"/>.</summary>
        internal static WssException Last(int rc)
        {
            ErrorHandle h;
            if (NativeMethods.wss_error_last(out h) != 0 || h == null || h.IsInvalid)
            {
                if (h != null) h.Dispose();
                return new WssException((WssResult)rc, Utf8.FromNative(NativeMethods.wss_result_str(rc)));
            }
            using (h)
            {
                var info = new WssErrorInfo { struct_size = (uint)Marshal.SizeOf(typeof(WssErrorInfo)) };
                if (NativeMethods.wss_error_get_info(h, ref info) != 0)
                {
                    return new WssException((WssResult)rc, Utf8.FromNative(NativeMethods.wss_result_str(rc)));
                }
                return new WssException(info, Utf8.FromNative(info.message) ?? "");
            }
        }

        /// <summary>Throw the thread's last failure when <paramref name="rc"/> is not WSS_OK.</summary>
        internal static void Check(int rc)
        {
            if (rc != 0)
            {
                throw Last(rc);
            }
        }
    }

    /// <summary>An owned <c>wss_error*</c> reference; <c>ReleaseHandle</c> calls <c>wss_error_free</c>.</summary>
    internal sealed class ErrorHandle : SafeHandleZeroOrMinusOneIsInvalid
    {
        /// <summary>Used by the marshaller for out parameters.</summary>
        public ErrorHandle() : base(true)
        {
        }

        /// <inheritdoc/>
        protected override bool ReleaseHandle()
        {
            NativeMethods.wss_error_free(handle);
            return true;
        }
    }
}
