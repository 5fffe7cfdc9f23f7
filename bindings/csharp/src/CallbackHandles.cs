using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Wss
{
    /// <summary>
    /// The GCHandles handed to native code as user_data. Each is freed exactly once, by the
    /// library's release callback (<see cref="Trampolines"/>), or by the wrapper when the call
    /// that was to take it failed. <see cref="Live"/> counts them so tests can prove none leak.
    /// </summary>
    internal static class CallbackHandles
    {
        private static long live;

        /// <summary>Handles allocated and not yet freed.</summary>
        internal static long Live
        {
            get { return Interlocked.Read(ref live); }
        }

        /// <summary>A normal (strong) GCHandle to <paramref name="target"/>, as a pointer.</summary>
        internal static IntPtr Alloc(object target)
        {
            IntPtr p = GCHandle.ToIntPtr(GCHandle.Alloc(target));
            Interlocked.Increment(ref live);
            return p;
        }

        /// <summary>The object behind a user_data pointer (null for IntPtr.Zero).</summary>
        internal static object Target(IntPtr p)
        {
            return p == IntPtr.Zero ? null : GCHandle.FromIntPtr(p).Target;
        }

        /// <summary>Free a handle from <see cref="Alloc"/>.</summary>
        internal static void Free(IntPtr p)
        {
            if (p == IntPtr.Zero)
            {
                return;
            }
            GCHandle.FromIntPtr(p).Free();
            Interlocked.Decrement(ref live);
        }
    }
}
