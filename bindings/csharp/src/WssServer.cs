using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;

namespace Wss
{
    /// <summary>
    /// A WebSocket server (<c>wss_server</c>): ws:// without a TLS configuration, wss:// with one.
    /// Attach handlers first, then <see cref="Start"/> (events) or <see cref="StartPull"/>
    /// (<see cref="ReceiveAsync"/>). <see cref="Dispose"/> closes gracefully (close 1001 to every
    /// peer after its queued messages, bounded by <see cref="CloseTimeout"/>) and frees; the
    /// finalizer only frees (peers then see 1006). TLS handshake failures of clients arrive as
    /// <see cref="WssEndpoint.Error"/> with a null connection and the full OpenSSL/X509 detail.
    /// </summary>
    public sealed class WssServer : WssEndpoint
    {
        private Handle handle;

        /// <summary>A server whose events run on the library's threads, or are posted to
        /// <paramref name="context"/> when given.</summary>
        public WssServer(SynchronizationContext context = null) : base(context, false)
        {
            CloseTimeout = TimeSpan.FromSeconds(5);
        }

        /// <summary>
        /// Decide on each upgrade request (accepted unless a handler refuses it; a handler that
        /// throws refuses with 500). Always raised on an I/O thread, even with a
        /// SynchronizationContext, because the answer is needed at once. Callback mode only.
        /// </summary>
        public event EventHandler<AcceptingEventArgs> Accepting
        {
            add { sink.Accepting += value; }
            remove { sink.Accepting -= value; }
        }

        /// <summary>How long <see cref="Dispose"/> waits for peers to finish closing.</summary>
        public TimeSpan CloseTimeout { get; set; }

        /// <summary>The bound port (useful after binding port 0).</summary>
        public int Port
        {
            get
            {
                ushort port;
                WssException.Check(NativeMethods.wss_server_port(Started(), out port));
                return port;
            }
        }

        /// <summary>Connections accepted and not yet finished.</summary>
        public long ActiveConnections
        {
            get
            {
                ulong n;
                WssException.Check(NativeMethods.wss_server_active_connections(Started(), out n));
                return (long)n;
            }
        }

        /// <summary>
        /// Listen on <paramref name="bindAddress"/> ("127.0.0.1:0", "[::1]:8443", "0.0.0.0:443")
        /// and raise events. The configuration and options are copied.
        /// </summary>
        public void Start(string bindAddress, TlsConfig tls = null, WssOptions options = null)
        {
            BeginStart(bindAddress);
            var callbacks = Trampolines.Table();
            IntPtr ud = CallbackHandles.Alloc(sink);
            int rc = NativeMethods.wss_server_new(Utf8.ToNative(bindAddress), TlsConfig.Of(tls), WssOptions.Of(options), ref callbacks, ud, Trampolines.ReleasePtr, out handle);
            if (rc != 0)
            {
                CallbackHandles.Free(ud);
                handle = null;
                throw WssException.Last(rc);
            }
            ShutdownHook.Track(handle);
        }

        /// <summary>Listen and queue events for <see cref="ReceiveAsync"/> (pull mode).</summary>
        public void StartPull(string bindAddress, TlsConfig tls = null, WssOptions options = null)
        {
            BeginStart(bindAddress);
            int rc = NativeMethods.wss_server_new_pull(Utf8.ToNative(bindAddress), TlsConfig.Of(tls), WssOptions.Of(options), IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, out handle);
            if (rc != 0)
            {
                handle = null;
                throw WssException.Last(rc);
            }
            ShutdownHook.Track(handle);
        }

        /// <summary>
        /// Serve upgrades on <paramref name="path"/> (exact match, e.g. "/chat") with the
        /// handlers of <paramref name="route"/> (its own GCHandle, freed by the library's
        /// release once the route is removed and its last connection is done). From then on
        /// other paths get HTTP 404. Adding a path again replaces its route for new connections.
        /// A pull-mode server takes <paramref name="route"/> null: that path's events go to the
        /// queue.
        /// </summary>
        public void AddRoute(string path, WssRoute route)
        {
            if (path == null) throw new ArgumentNullException("path");
            var h = Started();
            if (route == null)
            {
                WssException.Check(NativeMethods.wss_server_add_route_pull(h, Utf8.ToNative(path), IntPtr.Zero, IntPtr.Zero, IntPtr.Zero));
                return;
            }
            if (!route.Bind(this, path)) throw new InvalidOperationException("the route already serves " + route.Path);
            var callbacks = Trampolines.Table();
            IntPtr ud = CallbackHandles.Alloc(route.sink);
            int rc = NativeMethods.wss_server_add_route(h, Utf8.ToNative(path), ref callbacks, ud, Trampolines.ReleasePtr);
            if (rc != 0)
            {
                var e = WssException.Last(rc);
                CallbackHandles.Free(ud);
                route.Unbind();
                throw e;
            }
        }

        /// <summary>
        /// Stop serving <paramref name="path"/> to new connections (they get 404); connections
        /// already open on it keep their route's handlers until they close.
        /// <see cref="WssResult.InvalidArgument"/> if it was not a route.
        /// </summary>
        public void RemoveRoute(string path)
        {
            if (path == null) throw new ArgumentNullException("path");
            WssException.Check(NativeMethods.wss_server_remove_route(Started(), Utf8.ToNative(path)));
        }

        /// <summary>
        /// Pull mode: the next event, or null once the server is closed and drained. Cancelling
        /// leaves events queued for the next call.
        /// </summary>
        public Task<WssEvent> ReceiveAsync(CancellationToken cancel = default(CancellationToken))
        {
            var h = Started();
            return Receive((ms, slot) => NativeMethods.wss_server_next_event(h, ms, out slot[0]), cancel);
        }

        /// <summary>
        /// Pull mode with <see cref="WssOptions.SetAcceptEvents"/>: accept the request of an
        /// <see cref="WssEventType.Accept"/> event, selecting the offered subprotocol at
        /// <paramref name="subprotocolIndex"/> (-1: none) and adding response headers. Any thread.
        /// <see cref="WssResult.NotConnected"/> when the request is unknown, decided, timed out or
        /// its peer left.
        /// </summary>
        public void AcceptRequest(UpgradeRequest request, int subprotocolIndex = -1, IEnumerable<KeyValuePair<string, string>> responseHeaders = null)
        {
            if (request == null) throw new ArgumentNullException("request");
            var headers = responseHeaders == null ? new List<KeyValuePair<string, string>>() : responseHeaders.ToList();
            var memory = new List<IntPtr>();
            try
            {
                int size = Marshal.SizeOf(typeof(WssHeader));
                IntPtr array = IntPtr.Zero;
                if (headers.Count > 0)
                {
                    array = Marshal.AllocHGlobal(size * headers.Count);
                    memory.Add(array);
                }
                for (int i = 0; i < headers.Count; i++)
                {
                    var h = new WssHeader { name = Utf8.Alloc(headers[i].Key), value = Utf8.Alloc(headers[i].Value) };
                    memory.Add(h.name);
                    memory.Add(h.value);
                    Marshal.StructureToPtr(h, new IntPtr(array.ToInt64() + (long)i * size), false);
                }
                var d = new WssAcceptDecision
                {
                    struct_size = (uint)Marshal.SizeOf(typeof(WssAcceptDecision)),
                    status = 0,
                    subprotocol_index = subprotocolIndex,
                    headers = array,
                    header_count = (UIntPtr)headers.Count,
                };
                WssException.Check(NativeMethods.wss_server_decide(Started(), request.Id, ref d));
            }
            finally
            {
                foreach (var p in memory)
                {
                    Marshal.FreeHGlobal(p);
                }
            }
        }

        /// <summary>Pull mode: refuse the request of an <see cref="WssEventType.Accept"/> event
        /// with an HTTP status (400..599) and reason phrase.</summary>
        public void RefuseRequest(UpgradeRequest request, int status, string reason = null)
        {
            if (request == null) throw new ArgumentNullException("request");
            if (status < 400 || status > 599) throw new ArgumentOutOfRangeException("status", "400..599");
            IntPtr r = reason == null ? IntPtr.Zero : Utf8.Alloc(reason);
            try
            {
                var d = new WssAcceptDecision
                {
                    struct_size = (uint)Marshal.SizeOf(typeof(WssAcceptDecision)),
                    status = (ushort)status,
                    subprotocol_index = -1,
                    reason = r,
                };
                WssException.Check(NativeMethods.wss_server_decide(Started(), request.Id, ref d));
            }
            finally
            {
                if (r != IntPtr.Zero) Marshal.FreeHGlobal(r);
            }
        }

        /// <summary>
        /// Graceful shutdown: stop accepting, close 1001 after each connection's queued messages,
        /// wait up to <paramref name="timeout"/> for peers. Throws <see cref="WssException"/>
        /// (<see cref="WssResult.Timeout"/>) when a handler was still running then (the server is
        /// stopped all the same), and <see cref="WssResult.InvalidState"/> from inside a handler.
        /// </summary>
        public void Close(TimeSpan timeout)
        {
            WssException.Check(NativeMethods.wss_server_close(Started(), WssOptions.Ms(timeout)));
        }

        /// <summary><see cref="Close"/> on a worker thread; cancelling stops the wait, not the close.</summary>
        public Task CloseAsync(TimeSpan timeout, CancellationToken cancel = default(CancellationToken))
        {
            Started();
            return Cancellable(Task.Run(() => Close(timeout)), cancel);
        }

        /// <summary>Close gracefully (errors ignored), then free the native server.</summary>
        public override void Dispose()
        {
            var h = handle;
            if (h == null || h.IsClosed)
            {
                return;
            }
            try
            {
                NativeMethods.wss_server_close(h, WssOptions.Ms(CloseTimeout));
            }
            catch (ObjectDisposedException)
            {
                // Disposed concurrently: nothing left to close.
            }
            h.Dispose();
        }

        private void BeginStart(string bindAddress)
        {
            if (bindAddress == null) throw new ArgumentNullException("bindAddress");
            if (handle != null) throw new InvalidOperationException("the server was already started");
        }

        private Handle Started()
        {
            if (handle == null) throw new InvalidOperationException("the server is not started");
            return handle;
        }

        /// <summary>Owns a <c>wss_server*</c>; <c>ReleaseHandle</c> calls <c>wss_server_free</c>
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
                NativeMethods.wss_server_free(handle);
                return true;
            }
        }
    }
}
