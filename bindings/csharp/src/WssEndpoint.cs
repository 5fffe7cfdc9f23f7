using System;
using System.Threading;
using System.Threading.Tasks;

namespace Wss
{
    /// <summary>
    /// What servers and clients share: the events and where they are raised. Without a
    /// SynchronizationContext, handlers run on the library's I/O threads (keep them short; any
    /// thread may call back into the library, including Send and Close). With one (WinForms, WPF,
    /// Unity's main thread), every event except <see cref="WssServer.Accepting"/> is posted to
    /// it. A handler that throws never reaches native code: the exception is caught and raised as
    /// <see cref="CallbackException"/> (or written to stderr when nobody listens).
    /// </summary>
    public abstract class WssEndpoint : IDisposable
    {
        internal readonly EventSink sink;

        internal WssEndpoint(SynchronizationContext context, bool oneConnection)
        {
            sink = new EventSink(this, context, oneConnection);
        }

        /// <summary>Where events are posted, or null for the library's threads.</summary>
        public SynchronizationContext SynchronizationContext
        {
            get { return sink.Context; }
        }

        /// <summary>A connection opened.</summary>
        public event EventHandler<ConnectionEventArgs> Opened
        {
            add { sink.Opened += value; }
            remove { sink.Opened -= value; }
        }

        /// <summary>A complete text or binary message arrived.</summary>
        public event EventHandler<MessageEventArgs> MessageReceived
        {
            add { sink.MessageReceived += value; }
            remove { sink.MessageReceived -= value; }
        }

        /// <summary>A pong arrived.</summary>
        public event EventHandler<PongEventArgs> PongReceived
        {
            add { sink.PongReceived += value; }
            remove { sink.PongReceived -= value; }
        }

        /// <summary>A connection closed (its last event, once per opened connection).</summary>
        public event EventHandler<ClosedEventArgs> Closed
        {
            add { sink.Closed += value; }
            remove { sink.Closed -= value; }
        }

        /// <summary>Something failed on the library's threads (with the full native detail).</summary>
        public event EventHandler<ErrorEventArgs> Error
        {
            add { sink.Error += value; }
            remove { sink.Error -= value; }
        }

        /// <summary>A handler of this endpoint threw; raised on the thread where it threw.</summary>
        public event EventHandler<CallbackExceptionEventArgs> CallbackException
        {
            add { sink.CallbackException += value; }
            remove { sink.CallbackException -= value; }
        }

        /// <summary>Close gracefully (bounded wait), then free the native endpoint.</summary>
        public abstract void Dispose();

        /// <summary>
        /// Pull mode: one event at a time on the host's schedule. Waits in slices so
        /// <paramref name="cancel"/> is honoured within about 100 ms.
        /// </summary>
        internal Task<WssEvent> Receive(Func<uint, IntPtr[], int> next, CancellationToken cancel)
        {
            return Task.Run(() =>
            {
                var slot = new IntPtr[1];
                while (true)
                {
                    cancel.ThrowIfCancellationRequested();
                    int rc = next(100, slot);
                    if (rc == (int)WssResult.Timeout)
                    {
                        continue;
                    }
                    if (rc == (int)WssResult.Closed)
                    {
                        return null;
                    }
                    WssException.Check(rc);
                    try
                    {
                        return WssEvent.FromNative(sink, slot[0]);
                    }
                    finally
                    {
                        NativeMethods.wss_event_free(slot[0]);
                    }
                }
            }, cancel);
        }

        /// <summary>A task that ends when <paramref name="work"/> does or when cancelled (the work goes on).</summary>
        internal static async Task Cancellable(Task work, CancellationToken cancel)
        {
            if (!cancel.CanBeCanceled)
            {
                await work.ConfigureAwait(false);
                return;
            }
            var cancelled = new TaskCompletionSource<bool>();
            using (cancel.Register(() => cancelled.TrySetResult(true)))
            {
                if (await Task.WhenAny(work, cancelled.Task).ConfigureAwait(false) != work)
                {
                    throw new OperationCanceledException(cancel);
                }
            }
            await work.ConfigureAwait(false);
        }
    }
}
