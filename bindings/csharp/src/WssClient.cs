using System;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;

namespace Wss
{
    /// <summary>
    /// A WebSocket client (<c>wss_client</c>): one connection to a ws:// or wss:// URL. Attach
    /// handlers first, then <see cref="Connect"/> or <see cref="ConnectAsync"/> (events raised on
    /// the library's client I/O threads, or posted to the SynchronizationContext), or
    /// <see cref="ConnectPull"/> (pull mode: <see cref="ReceiveAsync"/>). A failed connect throws
    /// <see cref="WssException"/> with the full detail (OpenSSL queue, X509 verify result, HTTP
    /// status of a refused upgrade). <see cref="Dispose"/> closes with 1000 (bounded by
    /// <see cref="CloseTimeout"/>) and frees; the finalizer only frees.
    /// </summary>
    public sealed class WssClient : WssEndpoint
    {
        private Handle handle;
        private WssConnection connection;
        private bool pull;

        /// <summary>A client whose events run on the library's threads, or are posted to
        /// <paramref name="context"/> when given.</summary>
        public WssClient(SynchronizationContext context = null) : base(context, true)
        {
            CloseTimeout = TimeSpan.FromSeconds(5);
        }

        /// <summary>How long <see cref="Dispose"/> waits for the close handshake.</summary>
        public TimeSpan CloseTimeout { get; set; }

        /// <summary>The connection (the same object the events carry).</summary>
        public WssConnection Connection
        {
            get
            {
                if (connection == null) throw new InvalidOperationException("the client is not connected");
                return connection;
            }
        }

        /// <summary>
        /// Connect, blocking until open or failed (connect timeout from the options, default
        /// 10 s); then raise events on the library's client I/O threads (keep handlers short), or
        /// post them to the SynchronizationContext. <paramref name="tls"/> null uses secure
        /// defaults with the system trust store. Those threads end once the process has no
        /// client connection left, so a host whose runtime waits for them at exit (Mono) exits.
        /// </summary>
        public void Connect(string url, TlsConfig tls = null, WssOptions options = null)
        {
            BeginConnect(url);
            var callbacks = Trampolines.Table();
            IntPtr ud = CallbackHandles.Alloc(sink);
            int rc = NativeMethods.wss_client_connect(Utf8.ToNative(url), TlsConfig.Of(tls), WssOptions.Of(options), ref callbacks, ud, Trampolines.ReleasePtr, out handle);
            Connected(rc, ud);
        }

        /// <summary>
        /// Start connecting and return at once; the task completes when the connection is open
        /// (<see cref="WssEndpoint.Opened"/> is raised too) or faults with the failure's
        /// <see cref="WssException"/> (TLS, verification, refused upgrade, timeout: the connect
        /// timeout of the options; that failure is not raised as Error). Cancelling frees the
        /// client, which cancels the attempt. URL and option errors throw at once. Events are
        /// raised as with <see cref="Connect"/>.
        /// </summary>
        public Task ConnectAsync(string url, TlsConfig tls = null, WssOptions options = null, CancellationToken cancel = default(CancellationToken))
        {
            BeginConnect(url);
            var callbacks = Trampolines.Table();
            var opened = sink.Opening();
            IntPtr ud = CallbackHandles.Alloc(sink);
            int rc = NativeMethods.wss_client_connect_async(Utf8.ToNative(url), TlsConfig.Of(tls), WssOptions.Of(options), ref callbacks, ud, Trampolines.ReleasePtr, out handle);
            Connected(rc, ud);
            if (cancel.CanBeCanceled)
            {
                var h = handle;
                var s = sink;
                var registration = cancel.Register(() =>
                {
                    if (s.CancelOpening(cancel))
                    {
                        h.Dispose();
                    }
                });
                opened.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
            }
            return opened;
        }

        /// <summary>
        /// Pull mode: connect (blocking) and queue events for <see cref="ReceiveAsync"/>, taken
        /// on the host's own schedule (a game loop, a GUI thread); no event is raised.
        /// </summary>
        public void ConnectPull(string url, TlsConfig tls = null, WssOptions options = null)
        {
            BeginConnect(url);
            pull = true;
            int rc = NativeMethods.wss_client_connect_pull(Utf8.ToNative(url), TlsConfig.Of(tls), WssOptions.Of(options), IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, out handle);
            Connected(rc, IntPtr.Zero);
        }

        /// <summary>Queue a text message (see <see cref="WssConnection.Send(string)"/>).</summary>
        public void Send(string text)
        {
            Connection.Send(text);
        }

        /// <summary>Queue a binary message (see <see cref="WssConnection.Send(byte[])"/>).</summary>
        public void Send(byte[] data)
        {
            Connection.Send(data);
        }

        /// <summary>Queue a text message, waiting while the send queue is full.</summary>
        public Task SendAsync(string text, CancellationToken cancel = default(CancellationToken))
        {
            return Connection.SendAsync(text, cancel);
        }

        /// <summary>Queue a binary message, waiting while the send queue is full.</summary>
        public Task SendAsync(byte[] data, CancellationToken cancel = default(CancellationToken))
        {
            return Connection.SendAsync(data, cancel);
        }

        /// <summary>
        /// Pull mode: the next event, or null once the connection closed and every event was
        /// taken. Cancelling leaves events queued for the next call.
        /// </summary>
        public Task<WssEvent> ReceiveAsync(CancellationToken cancel = default(CancellationToken))
        {
            var h = Connected();
            if (!pull) throw new InvalidOperationException("ReceiveAsync is for clients connected with ConnectPull");
            return Receive((ms, slot) => NativeMethods.wss_client_next_event(h, ms, out slot[0]), cancel);
        }

        /// <summary>
        /// Close with <paramref name="code"/> and <paramref name="reason"/>, waiting up to
        /// <paramref name="timeout"/> for the close handshake (<see cref="WssResult.Timeout"/> if
        /// it did not finish). From inside a handler it only starts the close.
        /// </summary>
        public void Close(int code, string reason, TimeSpan timeout)
        {
            if (code < 0 || code > ushort.MaxValue) throw new ArgumentOutOfRangeException("code");
            WssException.Check(NativeMethods.wss_client_close(Connected(), (ushort)code, Utf8.ToNative(reason), WssOptions.Ms(timeout)));
        }

        /// <summary><see cref="Close"/> with <see cref="CloseTimeout"/> on a worker thread;
        /// cancelling stops the wait, not the close.</summary>
        public Task CloseAsync(int code = 1000, string reason = null, CancellationToken cancel = default(CancellationToken))
        {
            Connected();
            var timeout = CloseTimeout;
            return Cancellable(Task.Run(() => Close(code, reason, timeout)), cancel);
        }

        /// <summary>Close with 1000 (errors ignored), then free the native client.</summary>
        public override void Dispose()
        {
            var h = handle;
            if (h == null || h.IsClosed)
            {
                return;
            }
            try
            {
                NativeMethods.wss_client_close(h, 1000, null, WssOptions.Ms(CloseTimeout));
            }
            catch (ObjectDisposedException)
            {
                // Disposed concurrently: nothing left to close.
            }
            h.Dispose();
        }

        private void BeginConnect(string url)
        {
            if (url == null) throw new ArgumentNullException("url");
            if (handle != null) throw new InvalidOperationException("the client was already connected");
        }

        /// <summary>After the connect call: on failure free the user data (the library will not)
        /// and throw the detail; on success name the connection.</summary>
        private void Connected(int rc, IntPtr userData)
        {
            if (rc != 0)
            {
                var e = WssException.Last(rc);
                CallbackHandles.Free(userData);
                handle = null;
                throw e;
            }
            ShutdownHook.Track(handle);
            ulong id;
            WssException.Check(NativeMethods.wss_client_conn_id(handle, out id));
            connection = sink.Canonical(id);
        }

        private Handle Connected()
        {
            if (handle == null) throw new InvalidOperationException("the client is not connected");
            return handle;
        }

        /// <summary>Owns a <c>wss_client*</c>; <c>ReleaseHandle</c> calls <c>wss_client_free</c>
        /// (never blocks, so the finalizer thread may run it).</summary>
        internal sealed class Handle : SafeHandleZeroOrMinusOneIsInvalid
        {
            /// <summary>Used by the marshaller.</summary>
            public Handle() : base(true)
            {
            }

            /// <inheritdoc/>
            protected override bool ReleaseHandle()
            {
                NativeMethods.wss_client_free(handle);
                return true;
            }
        }
    }
}
