using System;
using System.Runtime.InteropServices;
using System.Threading;
using AOT;

namespace Wss
{
    /// <summary>
    /// The only functions native code calls. Static (IL2CPP needs that), marked
    /// <see cref="MonoPInvokeCallbackAttribute"/>, held in static fields so their delegates live
    /// as long as the process, and each one catches every exception: nothing ever unwinds into
    /// the native library. An exception is reported through the endpoint's
    /// <see cref="WssEndpoint.CallbackException"/> event (or stderr when that fails too).
    /// </summary>
    internal static class Trampolines
    {
        private static readonly NativeMethods.ReleaseFn ReleaseDelegate = Release;
        private static readonly NativeMethods.OnAcceptFn AcceptDelegate = OnAccept;
        private static readonly NativeMethods.OnOpenFn OpenDelegate = OnOpen;
        private static readonly NativeMethods.OnMessageFn MessageDelegate = OnMessage;
        private static readonly NativeMethods.OnPongFn PongDelegate = OnPong;
        private static readonly NativeMethods.OnCloseFn CloseDelegate = OnClose;
        private static readonly NativeMethods.OnErrorFn ErrorDelegate = OnError;

        /// <summary>The <c>wss_release_fn</c> that frees a <see cref="CallbackHandles"/> handle.</summary>
        internal static readonly IntPtr ReleasePtr = Marshal.GetFunctionPointerForDelegate(ReleaseDelegate);

        /// <summary>A <c>wss_callbacks</c> table pointing at every trampoline.</summary>
        internal static WssCallbacks Table()
        {
            return new WssCallbacks
            {
                struct_size = (uint)Marshal.SizeOf(typeof(WssCallbacks)),
                on_accept = Marshal.GetFunctionPointerForDelegate(AcceptDelegate),
                on_open = Marshal.GetFunctionPointerForDelegate(OpenDelegate),
                on_message = Marshal.GetFunctionPointerForDelegate(MessageDelegate),
                on_pong = Marshal.GetFunctionPointerForDelegate(PongDelegate),
                on_close = Marshal.GetFunctionPointerForDelegate(CloseDelegate),
                on_error = Marshal.GetFunctionPointerForDelegate(ErrorDelegate),
            };
        }

        [MonoPInvokeCallback(typeof(NativeMethods.ReleaseFn))]
        private static void Release(IntPtr userData)
        {
            try
            {
                var sink = CallbackHandles.Target(userData) as EventSink;
                CallbackHandles.Free(userData);
                if (sink != null)
                {
                    sink.Released();
                }
            }
            catch (Exception ex)
            {
                EventSink.LastResort(ex, "release");
            }
        }

        [MonoPInvokeCallback(typeof(NativeMethods.OnAcceptFn))]
        private static void OnAccept(IntPtr userData, IntPtr request, IntPtr decision)
        {
            try
            {
                Sink(userData).HandleAccept(request, decision);
            }
            catch (Exception ex)
            {
                Report(userData, ex, "Accepting");
            }
        }

        [MonoPInvokeCallback(typeof(NativeMethods.OnOpenFn))]
        private static void OnOpen(IntPtr userData, ulong conn)
        {
            try
            {
                Sink(userData).HandleOpen(conn);
            }
            catch (Exception ex)
            {
                Report(userData, ex, "Opened");
            }
        }

        [MonoPInvokeCallback(typeof(NativeMethods.OnMessageFn))]
        private static void OnMessage(IntPtr userData, ulong conn, IntPtr connUserData, int kind, IntPtr data, UIntPtr len)
        {
            try
            {
                Sink(userData).HandleMessage(conn, connUserData, kind, Utf8.Copy(data, len));
            }
            catch (Exception ex)
            {
                Report(userData, ex, "MessageReceived");
            }
        }

        [MonoPInvokeCallback(typeof(NativeMethods.OnPongFn))]
        private static void OnPong(IntPtr userData, ulong conn, IntPtr connUserData, IntPtr data, UIntPtr len)
        {
            try
            {
                Sink(userData).HandlePong(conn, connUserData, Utf8.Copy(data, len));
            }
            catch (Exception ex)
            {
                Report(userData, ex, "PongReceived");
            }
        }

        [MonoPInvokeCallback(typeof(NativeMethods.OnCloseFn))]
        private static void OnClose(IntPtr userData, ulong conn, IntPtr connUserData, ushort code, IntPtr reason)
        {
            try
            {
                Sink(userData).HandleClose(conn, connUserData, code, Utf8.FromNative(reason));
            }
            catch (Exception ex)
            {
                Report(userData, ex, "Closed");
            }
        }

        [MonoPInvokeCallback(typeof(NativeMethods.OnErrorFn))]
        private static void OnError(IntPtr userData, ulong conn, IntPtr connUserData, IntPtr error)
        {
            try
            {
                Sink(userData).HandleError(conn, connUserData, WssException.FromNative(error));
            }
            catch (Exception ex)
            {
                Report(userData, ex, "Error");
            }
        }

        [ThreadStatic]
        private static bool attached;

        /// <summary>
        /// The endpoint behind a user_data. On a library thread's first call, mark it a
        /// background thread: the runtime attached it as a foreground thread, and Mono waits
        /// for those at exit (the process would hang while an I/O thread idles in its poll).
        /// </summary>
        private static EventSink Sink(IntPtr userData)
        {
            if (!attached)
            {
                attached = true;
                Thread.CurrentThread.IsBackground = true;
            }
            return (EventSink)CallbackHandles.Target(userData);
        }

        private static void Report(IntPtr userData, Exception ex, string where)
        {
            try
            {
                Sink(userData).ReportCallbackException(ex, where);
            }
            catch (Exception again)
            {
                EventSink.LastResort(again, where);
            }
        }
    }
}
