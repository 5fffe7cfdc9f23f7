using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Wss
{
    /// <summary>An HTTP upgrade request a server is deciding on (a managed copy).</summary>
    public sealed class UpgradeRequest
    {
        internal UpgradeRequest(WssUpgradeRequest r)
        {
            IsTls = r.is_tls != 0;
            Id = r.id;
            Path = Utf8.FromNative(r.path);
            Query = Utf8.FromNative(r.query);
            RemoteAddress = Utf8.FromNative(r.remote_address);
            Headers = WssHeaders.Read(r.headers, r.header_count);
            Subprotocols = r.subprotocols == IntPtr.Zero ? new string[0] : Utf8.Strings(r.subprotocols, r.subprotocol_count);
            PeerCertificate = PeerCertificate.Read(r.peer_certificate);
        }

        /// <summary>True over TLS.</summary>
        public bool IsTls { get; }
        /// <summary>The id the connection will have if accepted.</summary>
        public ulong Id { get; }
        /// <summary>Request path without query, e.g. "/chat".</summary>
        public string Path { get; }
        /// <summary>Query string without '?', or null.</summary>
        public string Query { get; }
        /// <summary>Client address, "ip:port".</summary>
        public string RemoteAddress { get; }
        /// <summary>All request headers in order.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }
        /// <summary>Subprotocols the client offered, in its order.</summary>
        public IReadOnlyList<string> Subprotocols { get; }
        /// <summary>The client's certificate, or null.</summary>
        public PeerCertificate PeerCertificate { get; }
    }
}
