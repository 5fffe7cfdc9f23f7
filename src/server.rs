//! A WebSocket server: one listening socket, routes by path, plain ws or wss by configuration.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::ServerConfig;
use crate::conn::close_code;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{AcceptDecision, Handler};
use crate::io::{in_io_thread, Cmd, Owner, Runtime, ServerSide};

/// A running server. Dropping it stops the I/O threads without waiting; call
/// [`Server::shutdown`] for a graceful close.
pub struct Server {
    rt: Arc<Runtime>,
    ep: Arc<Owner>,
    local: SocketAddr,
    stopped: AtomicBool,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Server({})", self.local)
    }
}

impl Server {
    /// Bind `addr` (port 0 picks a free port) and start serving. `handler` serves every path
    /// until a route is added, and always receives the errors that happen before routing (TLS
    /// handshake failures, handshake timeouts).
    pub fn bind(
        addr: impl ToSocketAddrs,
        config: ServerConfig,
        handler: Arc<dyn Handler>,
    ) -> Result<Server> {
        let addr = addr
            .to_socket_addrs()
            .map_err(|e| {
                let mut err = Error::from_io("cannot resolve the bind address", &e);
                err.kind = ErrorKind::InvalidArgument;
                err
            })?
            .next()
            .ok_or_else(|| Error::invalid("the bind address resolved to nothing"))?;
        config.deflate.validate()?;
        let ssl = match &config.tls {
            Some(tls) => Some(tls.server_context()?),
            None => None,
        };
        let verify_peer = config
            .tls
            .as_ref()
            .is_some_and(|t| t.server_verifies_peer());
        let side = ServerSide::new(ssl, verify_peer, config.hsts, config.deflate, handler);
        let ep = Owner::new(config.limits.clone(), config.keepalive, Some(side));
        let listener = mio::net::TcpListener::bind(addr).map_err(|e| {
            Error::from_io(format!("cannot listen on {addr}"), &e)
                .with_hint("another process may hold the port, or the address is not local")
        })?;
        set_backlog(&listener, config.listen_backlog)
            .map_err(|e| Error::from_io(format!("cannot set the listen backlog on {addr}"), &e))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::from_io("cannot read the bound address", &e))?;
        let rt = Runtime::start(config.io_threads, "wss-server")?;
        let peers = rt.workers.clone();
        rt.workers[0].submit(Cmd::Listen {
            listener,
            owner: ep.clone(),
            peers,
        });
        Ok(Server {
            rt,
            ep,
            local,
            stopped: AtomicBool::new(false),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The bound port (useful after binding port 0).
    pub fn port(&self) -> u16 {
        self.local.port()
    }

    fn side(&self) -> &ServerSide {
        self.ep.server.as_ref().expect("server endpoint")
    }

    /// Serve WebSocket upgrades on `path` (exact match, without query) with `handler`. Once any
    /// route exists, other paths get HTTP 404.
    pub fn add_route(&self, path: &str, handler: Arc<dyn Handler>) -> Result<()> {
        if !path.starts_with('/')
            || path.contains('?')
            || path.bytes().any(|b| b.is_ascii_control() || b == b' ')
        {
            return Err(Error::invalid(format!("route '{path}' must start with '/' and hold no query, spaces or control characters")));
        }
        self.side().routes.write().insert(path.to_string(), handler);
        Ok(())
    }

    /// Stop serving `path`; returns whether it was a route.
    pub fn remove_route(&self, path: &str) -> bool {
        self.side().routes.write().remove(path).is_some()
    }

    /// Answer an upgrade whose accept decision was deferred ([`AcceptDecision::Defer`]; `id`
    /// is [`crate::UpgradeRequest::id`]). Callable from any thread. `InvalidArgument` for
    /// `Defer`, a subprotocol the client did not offer, an invalid header, or a refusal status
    /// outside 400..=599 (the upgrade stays pending); `NotConnected` when no upgrade with that
    /// id awaits a decision (unknown id, already decided, timed out, or the client left).
    pub fn decide(&self, id: u64, decision: AcceptDecision) -> Result<()> {
        let mut deferred = self.side().deferred.lock();
        let Some(d) = deferred.get(&id) else {
            return Err(Error::new(
                ErrorKind::NotConnected,
                format!("no upgrade of connection {id} awaits a decision (unknown id, already decided, timed out, or the client left)"),
            ));
        };
        decision.check_deferred(&d.offered)?;
        if let Some(d) = deferred.remove(&id) {
            drop(deferred);
            d.worker.submit(Cmd::Decide {
                key: d.key,
                id,
                decision,
            });
        }
        Ok(())
    }

    /// The subprotocols the client offered in upgrade `id`, while it awaits a decision.
    pub fn offered_subprotocols(&self, id: u64) -> Option<Vec<String>> {
        self.side()
            .deferred
            .lock()
            .get(&id)
            .map(|d| d.offered.clone())
    }

    /// Connections accepted and not yet finished (handshaking or open).
    pub fn active_connections(&self) -> usize {
        self.side().active.load(Ordering::Acquire)
    }

    /// Graceful shutdown: stop accepting, send close 1001 to every peer after its queued
    /// messages, wait up to `timeout` for the peers to answer, then drop what is left and stop
    /// the I/O threads, waiting for them at most 250 ms past `timeout` (`Timeout` if a handler
    /// callback still runs then: the server is stopped all the same). Not callable from inside a
    /// callback (`InvalidState`).
    pub fn shutdown(&self, timeout: Duration) -> Result<()> {
        if in_io_thread() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "Server::shutdown waits for I/O threads and cannot run inside a callback",
            ));
        }
        if self.stopped.swap(true, Ordering::AcqRel) {
            return Err(Error::new(
                ErrorKind::Closed,
                "the server is already shut down",
            ));
        }
        let side = self.side();
        side.closing.store(true, Ordering::Release);
        for w in &self.rt.workers {
            w.submit(Cmd::CloseAll {
                owner: self.ep.clone(),
                code: close_code::GOING_AWAY,
            });
        }
        let deadline = Instant::now() + timeout;
        {
            let mut g = side.idle_lock.lock();
            while side.active.load(Ordering::Acquire) > 0 {
                if side.idle_cv.wait_until(&mut g, deadline).timed_out() {
                    break;
                }
            }
        }
        self.rt.stop();
        self.rt.join_until(deadline + THREAD_GRACE)
    }

    /// Stop at once without waiting (peers see 1006): what dropping the server does, for holders
    /// of a shared reference. Later calls to `shutdown` return `Closed`.
    pub fn stop(&self) {
        if !self.stopped.swap(true, Ordering::AcqRel) {
            self.side().closing.store(true, Ordering::Release);
            self.rt.stop();
        }
    }
}

/// How long `shutdown` waits past its deadline for the I/O threads to end.
const THREAD_GRACE: Duration = Duration::from_millis(250);

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Apply `backlog` to a listening socket: `listen` again on a listening socket only updates its
/// backlog (mio listens with 128).
#[cfg(unix)]
fn set_backlog(listener: &mio::net::TcpListener, backlog: u32) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let backlog = backlog.clamp(1, i32::MAX as u32) as i32;
    // SAFETY: a valid listening socket descriptor owned by `listener`.
    if unsafe { libc::listen(listener.as_raw_fd(), backlog) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(unix))]
fn set_backlog(_: &mio::net::TcpListener, _: u32) -> std::io::Result<()> {
    Ok(())
}
