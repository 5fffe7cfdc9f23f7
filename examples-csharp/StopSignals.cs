// Waits for SIGINT or SIGTERM. On Mono (built with -define:MONO_POSIX -r:Mono.Posix.dll) through
// Mono.Unix.UnixSignal: Mono raises neither Console.CancelKeyPress for a SIGINT sent to a
// process without a terminal nor AppDomain.ProcessExit for SIGTERM. On .NET 6+ the framework's
// own events do both.
using System;
using System.Threading;
#if MONO_POSIX
using Mono.Unix;
using Mono.Unix.Native;
#endif

namespace WssExamples
{
    internal sealed class StopSignals
    {
#if MONO_POSIX
        private readonly UnixSignal[] signals = { new UnixSignal(Signum.SIGINT), new UnixSignal(Signum.SIGTERM) };
#else
        private readonly ManualResetEventSlim stop = new ManualResetEventSlim();
        private int signal;

        internal StopSignals()
        {
            Console.CancelKeyPress += (s, e) => { e.Cancel = true; signal = 2; stop.Set(); };
            AppDomain.CurrentDomain.ProcessExit += (s, e) => { signal = 15; stop.Set(); };
        }
#endif

        /// <summary>Block until a signal arrives; its number.</summary>
        internal int Wait()
        {
#if MONO_POSIX
            int i = UnixSignal.WaitAny(signals, Timeout.Infinite);
            return (int)signals[i].Signum;
#else
            stop.Wait();
            return signal;
#endif
        }
    }
}
