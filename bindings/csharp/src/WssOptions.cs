using System;
using Microsoft.Win32.SafeHandles;

namespace Wss
{
    /// <summary>
    /// Endpoint settings (<c>wss_options</c>): limits, timeouts, keepalive, I/O threads, client
    /// headers and subprotocols. Servers and clients copy them when created. Setters throw
    /// <see cref="WssException"/> (<see cref="WssResult.InvalidArgument"/>) for values out of range
    /// and return this for chaining.
    /// </summary>
    public sealed class WssOptions : IDisposable
    {
        internal readonly Handle handle;

        /// <summary>The defaults: 64 MiB messages, 16 MiB frames, 16 KiB headers, 10 s handshake
        /// timeout, 16 MiB send queue, 64 MiB pull-mode event queue, I/O threads = cores.</summary>
        public WssOptions()
        {
            WssException.Check(NativeMethods.wss_options_new(out handle));
        }

        /// <summary>Largest incoming message in bytes (larger closes with 1009).</summary>
        public WssOptions SetMaxMessageSize(ulong bytes) { return Call(NativeMethods.wss_options_set_max_message_size(handle, bytes)); }

        /// <summary>Largest incoming frame payload in bytes (larger closes with 1009).</summary>
        public WssOptions SetMaxFrameSize(ulong bytes) { return Call(NativeMethods.wss_options_set_max_frame_size(handle, bytes)); }

        /// <summary>Largest HTTP upgrade head in bytes (servers answer 431 above it).</summary>
        public WssOptions SetMaxHeaderSize(ulong bytes) { return Call(NativeMethods.wss_options_set_max_header_size(handle, bytes)); }

        /// <summary>Servers: most simultaneous connections (more get HTTP 503).</summary>
        public WssOptions SetMaxConnections(ulong count) { return Call(NativeMethods.wss_options_set_max_connections(handle, count)); }

        /// <summary>Bytes a connection may queue for sending before a send reports backpressure.</summary>
        public WssOptions SetSendQueueLimit(ulong bytes) { return Call(NativeMethods.wss_options_set_send_queue_limit(handle, bytes)); }

        /// <summary>Pull mode: bytes of events that may wait to be received before reading pauses.</summary>
        public WssOptions SetEventQueueLimit(ulong bytes) { return Call(NativeMethods.wss_options_set_event_queue_limit(handle, bytes)); }

        /// <summary>Pull-mode servers: queue every upgrade request as a <see cref="WssEventType.Accept"/>
        /// event to answer with <see cref="WssServer.AcceptRequest"/> / <see cref="WssServer.RefuseRequest"/>
        /// before the handshake timeout (then it is refused with 503). Off by default: accept all.</summary>
        public WssOptions SetAcceptEvents(bool on) { return Call(NativeMethods.wss_options_set_accept_events(handle, (byte)(on ? 1 : 0))); }

        /// <summary>Servers: time from TCP accept to open WebSocket before the peer is dropped.</summary>
        public WssOptions SetHandshakeTimeout(TimeSpan t) { return Call(NativeMethods.wss_options_set_handshake_timeout_ms(handle, Ms(t))); }

        /// <summary>Time to wait for the peer's close frame after sending ours (default 5 s).</summary>
        public WssOptions SetCloseTimeout(TimeSpan t) { return Call(NativeMethods.wss_options_set_close_timeout_ms(handle, Ms(t))); }

        /// <summary>Clients: time allowed for TCP connect + TLS + upgrade.</summary>
        public WssOptions SetConnectTimeout(TimeSpan t) { return Call(NativeMethods.wss_options_set_connect_timeout_ms(handle, Ms(t))); }

        /// <summary>Ping after <paramref name="interval"/> of silence; close when nothing arrives within
        /// <paramref name="timeout"/> after it. A zero interval turns keepalive off.</summary>
        public WssOptions SetKeepalive(TimeSpan interval, TimeSpan timeout)
        {
            return Call(NativeMethods.wss_options_set_keepalive(handle, Ms(interval), Ms(timeout)));
        }

        /// <summary>Servers: number of I/O threads (0 = number of cores).</summary>
        public WssOptions SetIoThreads(uint threads) { return Call(NativeMethods.wss_options_set_io_threads(handle, threads)); }

        /// <summary>Servers: send Strict-Transport-Security on HTTP answers over TLS (default on).</summary>
        public WssOptions SetHsts(bool on) { return Call(NativeMethods.wss_options_set_hsts(handle, (byte)(on ? 1 : 0))); }

        /// <summary>Servers: the listen backlog (default 4096; the kernel caps it at net.core.somaxconn).</summary>
        public WssOptions SetListenBacklog(uint backlog) { return Call(NativeMethods.wss_options_set_listen_backlog(handle, backlog)); }

        /// <summary>Close a peer whose send queue is over its limit with 1008 instead of pausing its
        /// reading until the queue drains (default false: pause).</summary>
        public WssOptions SetCloseOnBackpressure(bool on) { return Call(NativeMethods.wss_options_set_close_on_backpressure(handle, (byte)(on ? 1 : 0))); }

        /// <summary>
        /// permessage-deflate (RFC 7692): clients offer it, servers accept it. Off by default (a
        /// compressing connection keeps ~420 KiB of zlib state with context takeover; compression
        /// over TLS mixes secrets with attacker-chosen data). <see cref="ConnectionInfo.Extensions"/> tells.
        /// </summary>
        public WssOptions SetDeflate(bool on) { return Call(NativeMethods.wss_options_set_deflate(handle, (byte)(on ? 1 : 0))); }

        /// <summary>permessage-deflate: messages shorter than this go uncompressed (default 64).</summary>
        public WssOptions SetDeflateThreshold(ulong bytes) { return Call(NativeMethods.wss_options_set_deflate_threshold(handle, bytes)); }

        /// <summary>permessage-deflate: the server / the client compresses each message on its own (default false, false).</summary>
        public WssOptions SetDeflateNoContextTakeover(bool server, bool client)
        {
            return Call(NativeMethods.wss_options_set_deflate_no_context_takeover(handle, (byte)(server ? 1 : 0), (byte)(client ? 1 : 0)));
        }

        /// <summary>permessage-deflate: largest windows (8 to 15 bits) the server and the client compress with.</summary>
        public WssOptions SetDeflateMaxWindowBits(byte server, byte client)
        {
            return Call(NativeMethods.wss_options_set_deflate_max_window_bits(handle, server, client));
        }

        /// <summary>permessage-deflate: zlib level (1-9, default 6) and memory level (1-9, default 8).</summary>
        public WssOptions SetDeflateLevel(byte level, byte memLevel)
        {
            return Call(NativeMethods.wss_options_set_deflate_level(handle, level, memLevel));
        }

        /// <summary>Clients: add a request header.</summary>
        public WssOptions AddHeader(string name, string value)
        {
            if (name == null) throw new ArgumentNullException("name");
            if (value == null) throw new ArgumentNullException("value");
            return Call(NativeMethods.wss_options_add_header(handle, Utf8.ToNative(name), Utf8.ToNative(value)));
        }

        /// <summary>Clients: offer a subprotocol (in preference order of the calls).</summary>
        public WssOptions AddSubprotocol(string protocol)
        {
            if (protocol == null) throw new ArgumentNullException("protocol");
            return Call(NativeMethods.wss_options_add_subprotocol(handle, Utf8.ToNative(protocol)));
        }

        /// <summary>Free the native settings (endpoints made from them keep their copy).</summary>
        public void Dispose()
        {
            handle.Dispose();
        }

        /// <summary>The handle to pass for optional settings (NULL when none).</summary>
        internal static Handle Of(WssOptions options)
        {
            return options != null ? options.handle : new Handle();
        }

        internal static uint Ms(TimeSpan t)
        {
            if (t < TimeSpan.Zero) throw new ArgumentOutOfRangeException("t", "a negative time");
            double ms = Math.Ceiling(t.TotalMilliseconds);
            return ms >= uint.MaxValue ? uint.MaxValue : (uint)ms;
        }

        private WssOptions Call(int rc)
        {
            WssException.Check(rc);
            return this;
        }

        /// <summary>Owns a <c>wss_options*</c>; <c>ReleaseHandle</c> calls <c>wss_options_free</c>.</summary>
        internal sealed class Handle : SafeHandleZeroOrMinusOneIsInvalid
        {
            /// <summary>Used by the marshaller, and as NULL for "defaults".</summary>
            public Handle() : base(true)
            {
            }

            /// <inheritdoc/>
            protected override bool ReleaseHandle()
            {
                NativeMethods.wss_options_free(handle);
                return true;
            }
        }
    }
}
