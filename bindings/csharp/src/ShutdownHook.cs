using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace Wss
{
    /// <summary>
    /// Frees every server and client still alive when the process exits or the AppDomain
    /// unloads. Mono waits at exit (and at AppDomain.Unload: NUnit, Unity's domain reload) for
    /// every native thread that ran managed code; the library's I/O threads run as long as an
    /// endpoint lives, and a reachable endpoint is never finalized, so a host that forgot one
    /// Dispose would hang there. Mono raises ProcessExit before that wait; freeing then (never
    /// blocking for long: each endpoint gets a close of at most 100 ms, so its threads run their
    /// last callbacks before Mono aborts managed threads) lets the threads end. Handles are held
    /// weakly, so an endpoint that became garbage is still finalized as usual.
    /// </summary>
    internal static class ShutdownHook
    {
        private static readonly object Gate = new object();
        private static readonly List<WeakReference> Live = new List<WeakReference>();
        private static bool hooked;

        /// <summary>How long each endpoint left open at exit may take to close.</summary>
        private const uint ExitCloseMs = 100;

        /// <summary>Track a native endpoint handle from its creation on.</summary>
        internal static void Track(SafeHandle handle)
        {
            lock (Gate)
            {
                if (!hooked)
                {
                    hooked = true;
                    AppDomain.CurrentDomain.ProcessExit += (s, e) => FreeAll();
                    AppDomain.CurrentDomain.DomainUnload += (s, e) => FreeAll();
                }
                Live.RemoveAll(w => !(w.Target is SafeHandle h) || h.IsClosed);
                Live.Add(new WeakReference(handle));
            }
        }

        private static void FreeAll()
        {
            List<WeakReference> live;
            lock (Gate)
            {
                live = new List<WeakReference>(Live);
                Live.Clear();
            }
            foreach (var w in live)
            {
                try
                {
                    var h = w.Target as SafeHandle;
                    if (h == null || h.IsClosed)
                    {
                        continue;
                    }
                    // Close first, briefly: the I/O threads then run the last callbacks and
                    // release callbacks (managed code) now, before Mono starts aborting the
                    // threads that run managed code, rather than racing that abort after free.
                    var server = h as WssServer.Handle;
                    var client = h as WssClient.Handle;
                    if (server != null)
                    {
                        NativeMethods.wss_server_close(server, ExitCloseMs);
                    }
                    else if (client != null)
                    {
                        NativeMethods.wss_client_close(client, 1000, null, ExitCloseMs);
                    }
                    h.Dispose();
                }
                catch (Exception ex)
                {
                    EventSink.LastResort(ex, "ProcessExit");
                }
            }
        }
    }
}
