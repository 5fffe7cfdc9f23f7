using System;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;

namespace Wss
{
    /// <summary>
    /// A WebSocket client (<c>wss_client</c>): one connection to a ws:// or wss:// URL. Attach
    /// handlers first, then <see cref="Connect"/> (events) or <see cref="ConnectPull"/>
    /// (<see cref="ReceiveAsync"/>). A failed connect throws <see cref="WssException"/> with the
    /// full detail (OpenSSL queue, X509 verify result, HTTP status of a refused upgrade).
    /// <see cref="Dispose"/> closes with 1000 (bounded by <see cref="CloseTimeout"/>) and frees;
    /// the finalizer only frees.
    /// </summary>
    public sealed class WssClient : WssEndpoint
    {
        private Handle handle;
        private WssConnection connection;
        private bool pumped;

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
        /// 10 s); then raise events. <paramref name="tls"/> null uses secure defaults with the
        /// system trust store. The events are taken from the library's queue by one background
        /// thread of this client (named "wss-client-events") and raised there, or posted to the
        /// SynchronizationContext: the library's own client threads never enter the .NET
        /// runtime (see bindings/csharp/README.md, "Threads").
        /// </summary>
        public void Connect(string url, TlsConfig tls = null, WssOptions options = null)
        {
            ConnectPull(url, tls, options);
            StartPump(null);
        }

        /// <summary>
        /// Start connecting and return at once; the task completes when the connection is open
        /// (<see cref="WssEndpoint.Opened"/> is raised too) or faults with the failure's
        /// <see cref="WssException"/> (TLS, verification, refused upgrade, timeout: the connect
        /// timeout of the options). Cancelling frees the client, which cancels the attempt. URL
        /// and option errors throw at once. Events are raised as with <see cref="Connect"/>.
        /// </summary>
        public Task ConnectAsync(string url, TlsConfig tls = null, WssOptions options = null, CancellationToken cancel = default(CancellationToken))
        {
            BeginConnect(url);
            int rc = NativeMethods.wss_client_connect_async_pull(Utf8.ToNative(url), TlsConfig.Of(tls), WssOptions.Of(options), IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, out handle);
            if (rc != 0)
            {
                handle = null;
                throw WssException.Last(rc);
            }
            FinishConnect();
            var opened = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (cancel.CanBeCanceled)
            {
                var h = handle;
                var registration = cancel.Register(() =>
                {
                    if (opened.TrySetCanceled(cancel))
                    {
                        h.Dispose();
                    }
                });
                opened.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
            }
            StartPump(opened);
            return opened.Task;
        }

        /// <summary>Connect (blocking) and queue events for <see cref="ReceiveAsync"/> (pull mode).</summary>
        public void ConnectPull(string url, TlsConfig tls = null, WssOptions options = null)
        {
            BeginConnect(url);
            int rc = NativeMethods.wss_client_connect_pull(Utf8.ToNative(url), TlsConfig.Of(tls), WssOptions.Of(options), IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, out handle);
            if (rc != 0)
            {
                handle = null;
                throw WssException.Last(rc);
            }
            FinishConnect();
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
            if (pumped) throw new InvalidOperationException("ReceiveAsync is for clients connected with ConnectPull");
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

        private void StartPump(TaskCompletionSource<bool> opened)
        {
            pumped = true;
            var h = handle;
            var s = sink;
            new Thread(() => Pump(h, s, opened)) { IsBackground = true, Name = "wss-client-events" }.Start();
        }

        /// <summary>
        /// The client's event thread: takes each event and raises it until the queue ends. With
        /// <paramref name="opened"/> (ConnectAsync), the first Open completes it and an Error
        /// before that faults it (instead of raising Error).
        /// </summary>
        private static void Pump(Handle h, EventSink sink, TaskCompletionSource<bool> opened)
        {
            try
            {
                PumpEvents(h, sink, opened);
            }
            finally
            {
                if (opened != null)
                {
                    opened.TrySetException(new WssException(WssResult.Closed, "the connection ended before it opened"));
                }
            }
        }

        private static void PumpEvents(Handle h, EventSink sink, TaskCompletionSource<bool> opened)
        {
            int typeOffset = NativeStruct.Offset<WssEventNative>("event_type");
            int errorOffset = NativeStruct.Offset<WssEventNative>("error");
            while (true)
            {
                IntPtr ev;
                int rc;
                try
                {
                    rc = NativeMethods.wss_client_next_event(h, 1000, out ev);
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
                if (rc == (int)WssResult.Timeout)
                {
                    continue;
                }
                if (rc != 0)
                {
                    return;
                }
                try
                {
                    var type = (WssEventType)Marshal.ReadInt32(ev, typeOffset);
                    if (opened != null && !opened.Task.IsCompleted)
                    {
                        if (type == WssEventType.Error)
                        {
                            opened.TrySetException(WssException.FromNative(Marshal.ReadIntPtr(ev, errorOffset)));
                            continue;
                        }
                        if (type == WssEventType.Open)
                        {
                            opened.TrySetResult(true);
                        }
                    }
                    sink.Dispatch(ev);
                }
                catch (Exception ex)
                {
                    sink.ReportCallbackException(ex, "event");
                }
                finally
                {
                    NativeMethods.wss_event_free(ev);
                }
            }
        }

        private void BeginConnect(string url)
        {
            if (url == null) throw new ArgumentNullException("url");
            if (handle != null) throw new InvalidOperationException("the client was already connected");
        }

        private void FinishConnect()
        {
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
