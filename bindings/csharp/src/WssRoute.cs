using System;
using System.Threading;

namespace Wss
{
    /// <summary>
    /// Handlers for one path of a <see cref="WssServer"/> (<c>wss_server_add_route</c>): attach
    /// them, then <see cref="WssServer.AddRoute"/>. Connections upgraded on that path raise this
    /// route's events, not the server's; once a server has a route, other paths get HTTP 404.
    /// Errors before routing (a client's failed TLS handshake) still go to the server's
    /// <see cref="WssEndpoint.Error"/>. <see cref="Dispose"/> removes the route: new upgrades on
    /// its path get 404, connections already open on it keep raising its events until they close.
    /// When the last route of a server is removed, the server's own handlers serve every path
    /// again (the library's behaviour with no route).
    /// </summary>
    public sealed class WssRoute : WssEndpoint
    {
        private WssServer server;

        /// <summary>A route whose events run on the server's I/O threads, or are posted to
        /// <paramref name="context"/> when given.</summary>
        public WssRoute(SynchronizationContext context = null) : base(context, false)
        {
        }

        /// <summary>Decide on each upgrade request on this path (as <see cref="WssServer.Accepting"/>).</summary>
        public event EventHandler<AcceptingEventArgs> Accepting
        {
            add { sink.Accepting += value; }
            remove { sink.Accepting -= value; }
        }

        /// <summary>The path it serves once added (null before).</summary>
        public string Path { get; private set; }

        /// <summary>Remove the route from its server (nothing when it was never added, or the
        /// server is gone).</summary>
        public override void Dispose()
        {
            var s = Interlocked.Exchange(ref server, null);
            if (s == null)
            {
                return;
            }
            try
            {
                s.RemoveRoute(Path);
            }
            catch (ObjectDisposedException)
            {
                // The server was freed: its routes went with it.
            }
            catch (WssException)
            {
                // Removed already (RemoveRoute, or the path was replaced and then removed).
            }
        }

        /// <summary>Claim the route for <paramref name="owner"/>; false when it serves already.</summary>
        internal bool Bind(WssServer owner, string path)
        {
            if (Interlocked.CompareExchange(ref server, owner, null) != null)
            {
                return false;
            }
            Path = path;
            return true;
        }

        /// <summary>The add failed: the route is free again.</summary>
        internal void Unbind()
        {
            Path = null;
            Interlocked.Exchange(ref server, null);
        }
    }
}
