using System;
using System.Collections.Generic;

namespace Wss
{
    /// <summary>Facts about an open connection (<see cref="WssConnection.GetInfo"/>; a managed copy).</summary>
    public sealed class ConnectionInfo
    {
        internal ConnectionInfo(WssConnInfo i)
        {
            IsClient = i.is_client != 0;
            Resumed = i.resumed != 0;
            Id = i.id;
            RemoteAddress = Utf8.FromNative(i.remote_address);
            Path = Utf8.FromNative(i.path);
            Subprotocol = Utf8.FromNative(i.subprotocol);
            TlsVersion = Utf8.FromNative(i.tls_version);
            Cipher = Utf8.FromNative(i.cipher);
            Alpn = Utf8.FromNative(i.alpn);
            ServerName = Utf8.FromNative(i.server_name);
            PeerCertificate = PeerCertificate.Read(i.peer_certificate);
            Extensions = Utf8.FromNative(i.extensions);
            ResponseHeaders = WssHeaders.Read(i.response_headers, i.response_header_count);
        }

        /// <summary>True on the client side.</summary>
        public bool IsClient { get; }
        /// <summary>True if the TLS session was resumed.</summary>
        public bool Resumed { get; }
        /// <summary>The connection id.</summary>
        public ulong Id { get; }
        /// <summary>Peer address, "ip:port".</summary>
        public string RemoteAddress { get; }
        /// <summary>Request path (and query on clients).</summary>
        public string Path { get; }
        /// <summary>Negotiated subprotocol, or null.</summary>
        public string Subprotocol { get; }
        /// <summary>TLS version, e.g. "TLSv1.3"; null on plain ws.</summary>
        public string TlsVersion { get; }
        /// <summary>Cipher suite; null on plain ws.</summary>
        public string Cipher { get; }
        /// <summary>ALPN protocol, or null.</summary>
        public string Alpn { get; }
        /// <summary>SNI name, or null.</summary>
        public string ServerName { get; }
        /// <summary>The peer's certificate, or null if none was presented.</summary>
        public PeerCertificate PeerCertificate { get; }
        /// <summary>
        /// The negotiated extensions as a Sec-WebSocket-Extensions value, e.g.
        /// "permessage-deflate; server_max_window_bits=10"; null when messages go uncompressed.
        /// </summary>
        public string Extensions { get; }
        /// <summary>
        /// Clients: every header of the server's 101 response, in order; empty on servers.
        /// </summary>
        public IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders { get; }

        /// <summary>Clients: the first 101 response header called <paramref name="name"/> (any case), or null.</summary>
        public string GetResponseHeader(string name)
        {
            if (name == null) throw new ArgumentNullException("name");
            foreach (var h in ResponseHeaders)
                if (string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)) return h.Value;
            return null;
        }
    }
}
