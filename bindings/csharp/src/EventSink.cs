using System;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace Wss
{
    /// <summary>
    /// What native code reaches through an endpoint's user_data GCHandle: the host's handlers
    /// and the SynchronizationContext to raise them on. It holds the endpoint only weakly, so an
    /// endpoint the host forgot to dispose can still be finalized (which frees the native
    /// handle, whose release callback then frees the GCHandle to this sink).
    /// </summary>
    internal sealed class EventSink
    {
        private readonly WeakReference owner;
        private readonly bool oneConnection;
        private WssConnection single;

        internal EventSink(object owner, SynchronizationContext context, bool oneConnection)
        {
            this.owner = new WeakReference(owner);
            Context = context;
            this.oneConnection = oneConnection;
        }

        internal readonly SynchronizationContext Context;

        /// <summary>
        /// A client's ConnectAsync in flight: the first Open completes it, an Error before that
        /// faults it (instead of raising Error), and the release of the client's user data ends
        /// it if neither came.
        /// </summary>
        private TaskCompletionSource<bool> opening;

        /// <summary>Set before the connect call: no callback runs before that call returns.</summary>
        internal Task Opening()
        {
            var tcs = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            opening = tcs;
            return tcs.Task;
        }

        /// <summary>The library released the user data: no callback follows.</summary>
        internal void Released()
        {
            var tcs = Interlocked.Exchange(ref opening, null);
            if (tcs != null)
            {
                tcs.TrySetException(new WssException(WssResult.Closed, "the connection ended before it opened"));
            }
        }

        /// <summary>ConnectAsync was cancelled: the attempt is being freed.</summary>
        internal bool CancelOpening(CancellationToken cancel)
        {
            var tcs = opening;
            return tcs != null && tcs.TrySetCanceled(cancel);
        }

        internal event EventHandler<AcceptingEventArgs> Accepting;
        internal event EventHandler<ConnectionEventArgs> Opened;
        internal event EventHandler<MessageEventArgs> MessageReceived;
        internal event EventHandler<PongEventArgs> PongReceived;
        internal event EventHandler<ClosedEventArgs> Closed;
        internal event EventHandler<ErrorEventArgs> Error;
        internal event EventHandler<CallbackExceptionEventArgs> CallbackException;

        /// <summary>
        /// The connection object for <paramref name="id"/>: a client's one connection is the
        /// same object whoever asks first (Connect's caller or the Opened event).
        /// </summary>
        internal WssConnection Canonical(ulong id)
        {
            if (!oneConnection)
            {
                return new WssConnection(id);
            }
            Interlocked.CompareExchange(ref single, new WssConnection(id), null);
            return single;
        }

        /// <summary>
        /// A connection opened: attach its object as the connection's user data, so every later
        /// event finds the same object (and its UserState) without a lookup. Not for a client's
        /// one connection: the sink already holds that object, so a second GCHandle would add
        /// nothing.
        /// </summary>
        internal WssConnection Attach(ulong id)
        {
            var c = Canonical(id);
            if (oneConnection)
            {
                return c;
            }
            IntPtr h = CallbackHandles.Alloc(c);
            if (NativeMethods.wss_conn_set_user_data(id, h, Trampolines.ReleasePtr) != 0)
            {
                CallbackHandles.Free(h);
            }
            return c;
        }

        /// <summary>The object attached to a connection, or a fresh one with its id.</summary>
        internal WssConnection Connection(ulong id, IntPtr connUserData)
        {
            if (id == 0)
            {
                return null;
            }
            return CallbackHandles.Target(connUserData) as WssConnection ?? Canonical(id);
        }

        /// <summary>Raise the events of one pulled event.</summary>
        internal void Dispatch(IntPtr p)
        {
            var e = NativeStruct.Read<WssEventNative>(p);
            switch ((WssEventType)e.event_type)
            {
                case WssEventType.Open:
                    HandleOpen(e.conn);
                    break;
                case WssEventType.Message:
                    HandleMessage(e.conn, e.conn_user_data, e.kind, Utf8.Copy(e.data, e.len));
                    break;
                case WssEventType.Pong:
                    HandlePong(e.conn, e.conn_user_data, Utf8.Copy(e.data, e.len));
                    break;
                case WssEventType.Close:
                    HandleClose(e.conn, e.conn_user_data, e.close_code, Utf8.FromNative(e.reason));
                    break;
                case WssEventType.Error:
                    HandleError(e.conn, e.conn_user_data, WssException.FromNative(e.error));
                    break;
            }
        }

        internal void HandleOpen(ulong conn)
        {
            var tcs = Interlocked.Exchange(ref opening, null);
            if (tcs != null)
            {
                tcs.TrySetResult(true);
            }
            Raise(Opened, new ConnectionEventArgs(Attach(conn)), "Opened");
        }

        internal void HandleMessage(ulong conn, IntPtr connUserData, int kind, byte[] data)
        {
            Raise(MessageReceived, new MessageEventArgs(Connection(conn, connUserData), kind == 1, data), "MessageReceived");
        }

        internal void HandlePong(ulong conn, IntPtr connUserData, byte[] data)
        {
            Raise(PongReceived, new PongEventArgs(Connection(conn, connUserData), data), "PongReceived");
        }

        internal void HandleClose(ulong conn, IntPtr connUserData, ushort code, string reason)
        {
            Raise(Closed, new ClosedEventArgs(Connection(conn, connUserData), code, reason), "Closed");
        }

        internal void HandleError(ulong conn, IntPtr connUserData, WssException error)
        {
            var tcs = Interlocked.Exchange(ref opening, null);
            if (tcs != null)
            {
                tcs.TrySetException(error);
                return;
            }
            Raise(Error, new ErrorEventArgs(Connection(conn, connUserData), error), "Error");
        }

        /// <summary>
        /// on_accept: the handlers run on the I/O thread even with a SynchronizationContext (the
        /// answer is needed now). The library reads the decision after this returns: strings go
        /// in through wss_accept_decision_set_reason / _add_header, which copy at once.
        /// </summary>
        internal void HandleAccept(IntPtr request, IntPtr decision)
        {
            var handler = Accepting;
            if (handler == null)
            {
                return;
            }
            var args = new AcceptingEventArgs(new UpgradeRequest(NativeStruct.Read<WssUpgradeRequest>(request)));
            try
            {
                handler(Sender, args);
            }
            catch (Exception ex)
            {
                ReportCallbackException(ex, "Accepting");
                args = new AcceptingEventArgs(args.Request);
                args.Refuse(500, "Internal Server Error");
            }
            int rc = WriteDecision(decision, args);
            if (rc != 0)
            {
                ReportCallbackException(WssException.Last(rc), "Accepting");
                WriteMember<WssAcceptDecision>(decision, "status", 500);
            }
        }

        /// <summary>Fill the library's pre-filled decision, only within its struct_size.</summary>
        private static int WriteDecision(IntPtr d, AcceptingEventArgs args)
        {
            WriteMember<WssAcceptDecision>(d, "status", args.Status);
            if (args.Status != 0)
            {
                return args.RefuseReason == null ? 0 : NativeMethods.wss_accept_decision_set_reason(d, Utf8.ToNative(args.RefuseReason));
            }
            WriteMember<WssAcceptDecision>(d, "subprotocol_index", args.SubprotocolIndex);
            foreach (var h in args.ResponseHeaders)
            {
                int rc = NativeMethods.wss_accept_decision_add_header(d, Utf8.ToNative(h.Key), Utf8.ToNative(h.Value));
                if (rc != 0)
                {
                    return rc;
                }
            }
            return 0;
        }

        /// <summary>Write a 16- or 32-bit member of a library-given struct if it lies within its struct_size.</summary>
        private static void WriteMember<T>(IntPtr p, string field, int value)
        {
            int offset = NativeStruct.Offset<T>(field);
            int width = Marshal.SizeOf(typeof(T).GetField(field, BindingFlags.Instance | BindingFlags.NonPublic).FieldType);
            if (offset + width > Marshal.ReadInt32(p))
            {
                return;
            }
            if (width == 2)
            {
                Marshal.WriteInt16(p, offset, (short)value);
            }
            else
            {
                Marshal.WriteInt32(p, offset, value);
            }
        }

        private object Sender
        {
            get { return owner.Target; }
        }

        private void Raise<T>(EventHandler<T> handler, T args, string name) where T : EventArgs
        {
            if (handler == null)
            {
                return;
            }
            var context = Context;
            if (context == null)
            {
                Invoke(handler, args, name);
            }
            else
            {
                context.Post(_ => Invoke(handler, args, name), null);
            }
        }

        private void Invoke<T>(EventHandler<T> handler, T args, string name) where T : EventArgs
        {
            try
            {
                handler(Sender, args);
            }
            catch (Exception ex)
            {
                ReportCallbackException(ex, name);
            }
        }

        /// <summary>A handler threw: raise CallbackException (inline); never throws itself.</summary>
        internal void ReportCallbackException(Exception ex, string name)
        {
            var handler = CallbackException;
            if (handler == null)
            {
                LastResort(ex, name);
                return;
            }
            try
            {
                handler(Sender, new CallbackExceptionEventArgs(ex, name));
            }
            catch (Exception again)
            {
                LastResort(again, "CallbackException");
            }
        }

        /// <summary>Nowhere left to report: stderr, and never throw.</summary>
        internal static void LastResort(Exception ex, string name)
        {
            if (ex is ThreadAbortException && Environment.HasShutdownStarted)
            {
                // Mono aborts a library thread that enters managed code while the runtime shuts
                // down (a release running after the ProcessExit free): not a handler's fault.
                return;
            }
            try
            {
                Console.Error.WriteLine("wss: a " + name + " handler threw (caught): " + ex);
            }
            catch (Exception)
            {
                // Nothing is left to tell; the exception must not reach native code.
            }
        }
    }
}
