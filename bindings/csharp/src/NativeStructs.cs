// Mirrors of the C structs in include/wss.h. Sequential layout with the platform's natural
// alignment, pointer-sized members as IntPtr/UIntPtr, uint8_t flags as byte: the sizes and
// offsets are asserted against the C compiler's in tests/csharp (LayoutTests).
using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Wss
{
    /// <summary><c>wss_openssl_error</c>: one entry of the OpenSSL error queue.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct WssOpenSslError
    {
        internal ulong code;
        internal IntPtr library;
        internal IntPtr reason;
        internal IntPtr function;
        internal IntPtr data;
    }

    /// <summary><c>wss_error_info</c>: the host sets struct_size, the library fills the rest.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct WssErrorInfo
    {
        internal uint struct_size;
        internal int code;
        internal IntPtr kind;
        internal IntPtr message;
        internal IntPtr hint;
        internal IntPtr openssl_errors;
        internal UIntPtr openssl_error_count;
        internal int verify_code;
        internal int verify_depth;
        internal IntPtr verify_text;
        internal IntPtr verify_subject;
        internal IntPtr peer_address;
        internal int os_errno;
        internal ushort http_status;
    }

    /// <summary><c>wss_peer_cert</c> (library-filled).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct WssPeerCert
    {
        internal uint struct_size;
        internal byte verified;
        internal IntPtr subject;
        internal IntPtr issuer;
        internal IntPtr serial;
        internal IntPtr not_before;
        internal IntPtr not_after;
        internal IntPtr sha256_fingerprint;
        internal IntPtr sans;
        internal UIntPtr san_count;
    }

    /// <summary><c>wss_conn_info</c> (library-filled).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct WssConnInfo
    {
        internal uint struct_size;
        internal byte is_client;
        internal byte resumed;
        internal ulong id;
        internal IntPtr remote_address;
        internal IntPtr path;
        internal IntPtr subprotocol;
        internal IntPtr tls_version;
        internal IntPtr cipher;
        internal IntPtr alpn;
        internal IntPtr server_name;
        internal IntPtr peer_certificate;
        internal IntPtr extensions;
        internal IntPtr response_headers;
        internal UIntPtr response_header_count;
    }

    /// <summary><c>wss_header</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct WssHeader
    {
        internal IntPtr name;
        internal IntPtr value;
    }

    /// <summary>Managed copies of a C array of <c>wss_header</c>.</summary>
    internal static class WssHeaders
    {
        internal static List<KeyValuePair<string, string>> Read(IntPtr array, UIntPtr count)
        {
            var headers = new List<KeyValuePair<string, string>>();
            int n = array == IntPtr.Zero ? 0 : checked((int)count.ToUInt64());
            int size = Marshal.SizeOf(typeof(WssHeader));
            for (int i = 0; i < n; i++)
            {
                var h = (WssHeader)Marshal.PtrToStructure(new IntPtr(array.ToInt64() + (long)i * size), typeof(WssHeader));
                headers.Add(new KeyValuePair<string, string>(Utf8.FromNative(h.name), Utf8.FromNative(h.value)));
            }
            return headers;
        }
    }

    /// <summary><c>wss_upgrade_request</c> (library-filled).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct WssUpgradeRequest
    {
        internal uint struct_size;
        internal byte is_tls;
        internal ulong id;
        internal IntPtr path;
        internal IntPtr query;
        internal IntPtr remote_address;
        internal IntPtr headers;
        internal UIntPtr header_count;
        internal IntPtr subprotocols;
        internal UIntPtr subprotocol_count;
        internal IntPtr peer_certificate;
    }

    /// <summary><c>wss_accept_decision</c>: pre-filled by the library in on_accept.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct WssAcceptDecision
    {
        internal uint struct_size;
        internal ushort status;
        internal int subprotocol_index;
        internal IntPtr reason;
        internal IntPtr headers;
        internal UIntPtr header_count;
    }

    /// <summary><c>wss_callbacks</c>: function pointers of the static trampolines.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct WssCallbacks
    {
        internal uint struct_size;
        internal IntPtr on_accept;
        internal IntPtr on_open;
        internal IntPtr on_message;
        internal IntPtr on_pong;
        internal IntPtr on_close;
        internal IntPtr on_error;
    }

    /// <summary><c>wss_event</c>: a pulled event (library-filled, freed with wss_event_free).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct WssEventNative
    {
        internal uint struct_size;
        internal int event_type;
        internal ulong conn;
        internal IntPtr conn_user_data;
        internal int kind;
        internal ushort close_code;
        internal IntPtr data;
        internal UIntPtr len;
        internal IntPtr reason;
        internal IntPtr error;
        internal IntPtr request;
    }

    /// <summary>Reads structs the library fills, honouring the struct_size they carry.</summary>
    internal static class NativeStruct
    {
        /// <summary>
        /// Read a library-filled struct whose first member is its uint32 struct_size. Members
        /// beyond that size do not exist in the running library: they read as zero.
        /// </summary>
        internal static T Read<T>(IntPtr p) where T : struct
        {
            int ours = Marshal.SizeOf(typeof(T));
            int theirs = Marshal.ReadInt32(p);
            if (theirs >= ours)
            {
                return (T)Marshal.PtrToStructure(p, typeof(T));
            }
            IntPtr copy = Marshal.AllocHGlobal(ours);
            try
            {
                var zero = new byte[ours];
                Marshal.Copy(zero, 0, copy, ours);
                var bytes = new byte[Math.Max(theirs, 4)];
                Marshal.Copy(p, bytes, 0, bytes.Length);
                Marshal.Copy(bytes, 0, copy, bytes.Length);
                return (T)Marshal.PtrToStructure(copy, typeof(T));
            }
            finally
            {
                Marshal.FreeHGlobal(copy);
            }
        }

        /// <summary>Byte offset of a member, for writing within a library-given struct_size.</summary>
        internal static int Offset<T>(string field)
        {
            return Marshal.OffsetOf(typeof(T), field).ToInt32();
        }
    }
}
