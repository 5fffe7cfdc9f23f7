//! `wss_server`: a listening endpoint with its routes, in callback or pull mode.

use std::os::raw::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use super::accept::{self, wss_accept_decision};
use super::callbacks::{wss_callbacks, CHandler, QueueKind};
use super::guard::*;
use super::handle::{acquire, publish, take_back, wss_release_fn, HostData};
use super::options::{accept_events, event_queue_limit, wss_options};
use super::pull::{self, wss_event};
use super::result::*;
use super::sized::read_sized;
use super::tls::{tls_copy, wss_tls_config};
use crate::config::ServerConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::server::Server;

/// Opaque server handle: a listening socket, its I/O threads and routes. Thread-safe: every call
/// may be made from any thread. Reference-counted inside: `wss_server_free` may race with calls
/// already running on other threads (they finish safely, takers in `wss_server_next_event` wake
/// with `WSS_ERR_CLOSED`).
pub struct wss_server {
    server: Server,
    handler: Arc<CHandler>,
    /// Route handlers, to silence them on free (weak: a removed route is released once its last
    /// connection is done).
    routes: Mutex<Vec<Weak<CHandler>>>,
    closed: AtomicBool,
}

impl wss_server {
    fn open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::Closed, "the server is closed"));
        }
        Ok(())
    }
}

/// Start a server on `bind_address` (`"127.0.0.1:0"`, `"[::1]:8443"`, `"0.0.0.0:443"`; port 0
/// picks a free port, see `wss_server_port`). `tls` NULL serves ws://, otherwise wss:// (it
/// needs a certificate). `options` may be NULL for defaults. `callbacks` NULL selects pull mode
/// (`wss_server_next_event`); otherwise the callbacks serve every path until a route is added,
/// and always receive the errors that happen before routing (TLS handshake failures with the full
/// OpenSSL and X509 detail, handshake timeouts). `release(user_data)` is called once after the
/// last callback with `user_data` (see `wss_release_fn`); only on success. No callback runs
/// before this call has returned.
///
/// # Safety
/// Pointers must be NULL or valid; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_server_new(
    bind_address: *const c_char,
    tls: *const wss_tls_config,
    options: *const wss_options,
    callbacks: *const wss_callbacks,
    user_data: *mut c_void,
    release: wss_release_fn,
    out: *mut *mut wss_server,
) -> wss_result {
    guard(|| {
        let out = out_arg(out, "out")?;
        let addr = str_arg(bind_address, "bind_address")?;
        // SAFETY: NULL or a live handle.
        let mut config = unsafe { options.as_ref() }
            .map(|o| o.server.lock().clone())
            .unwrap_or_else(ServerConfig::default);
        config.tls = tls_copy(tls);
        // SAFETY: NULL or a live handle.
        let limit = unsafe { event_queue_limit(options) };
        let host = HostData::new(user_data, release);
        // SAFETY: NULL or a live handle.
        let kind = if unsafe { accept_events(options) } {
            QueueKind::ServerDeciding
        } else {
            QueueKind::Server
        };
        let handler = CHandler::new(callbacks, host, limit, kind)?;
        let server = match Server::bind(addr, config, handler.clone()) {
            Ok(s) => s,
            Err(e) => {
                handler.ready(false);
                return Err(e);
            }
        };
        *out = publish(Arc::new(wss_server {
            server,
            handler: handler.clone(),
            routes: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }));
        handler.ready(true);
        Ok(())
    })
}

/// The bound port.
///
/// # Safety
/// `server` a live handle; `port` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_server_port(server: *const wss_server, port: *mut u16) -> wss_result {
    guard(|| {
        let p = out_arg(port, "port")?;
        *p = acquire(server, "server")?.server.port();
        Ok(())
    })
}

/// Connections accepted and not yet finished.
///
/// # Safety
/// `server` a live handle; `count` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_server_active_connections(
    server: *const wss_server,
    count: *mut u64,
) -> wss_result {
    guard(|| {
        let c = out_arg(count, "count")?;
        *c = acquire(server, "server")?.server.active_connections() as u64;
        Ok(())
    })
}

/// Serve upgrades on `path` (exact match) with `callbacks`/`user_data`. Once a route exists,
/// other paths get HTTP 404. A pull-mode server takes routes with NULL callbacks (events go to
/// its queue); a callback-mode server needs callbacks. Adding a path again replaces its route for
/// new connections. `release(user_data)` runs once the route is removed (or the server freed)
/// and its last connection is done; only on success.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn wss_server_add_route(
    server: *mut wss_server,
    path: *const c_char,
    callbacks: *const wss_callbacks,
    user_data: *mut c_void,
    release: wss_release_fn,
) -> wss_result {
    guard(|| {
        let s = acquire(server, "server")?;
        s.open()?;
        let path = str_arg(path, "path")?;
        let pull = s.handler.queue().is_some();
        if pull != callbacks.is_null() {
            return Err(if pull {
                Error::new(
                    ErrorKind::InvalidState,
                    "a pull-mode server takes routes with NULL callbacks",
                )
            } else {
                Error::invalid("callbacks must not be NULL on a callback-mode server")
            });
        }
        let handler = match s.handler.queue() {
            // Pull mode: the route's events go to the server's queue.
            Some(q) => CHandler::for_queue(q.clone(), HostData::new(user_data, release)),
            None => CHandler::new(
                callbacks,
                HostData::new(user_data, release),
                usize::MAX,
                QueueKind::Server,
            )?,
        };
        if let Err(e) = s.server.add_route(path, handler.clone()) {
            handler.ready(false);
            return Err(e);
        }
        let mut routes = s.routes.lock();
        routes.retain(|r| r.strong_count() > 0);
        routes.push(Arc::downgrade(&handler));
        handler.ready(true);
        Ok(())
    })
}

/// Stop serving `path` to new connections; connections already open on it keep its callbacks
/// until they close, then its `release` runs. Removing the last route makes the server's own
/// callbacks serve every path again (as before the first route). `WSS_ERR_INVALID_ARGUMENT` if it
/// was not a route.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn wss_server_remove_route(
    server: *mut wss_server,
    path: *const c_char,
) -> wss_result {
    guard(|| {
        let s = acquire(server, "server")?;
        s.open()?;
        let path = str_arg(path, "path")?;
        if s.server.remove_route(path) {
            Ok(())
        } else {
            Err(Error::invalid(format!("'{path}' is not a route")))
        }
    })
}

/// Graceful shutdown: stop accepting, send close 1001 after each connection's queued messages,
/// wait up to `timeout_ms` for peers, then stop the I/O threads. Blocks for at most about
/// `timeout_ms` + 250 ms; returns `WSS_ERR_TIMEOUT` when an I/O thread was still inside a host
/// callback then (the server is stopped all the same; `release` follows when that callback
/// returns). Not callable from a callback (`WSS_ERR_INVALID_STATE`). Pull-mode events stay
/// readable until drained. Safe to race with `wss_server_free` on another thread.
///
/// # Safety
/// `server` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_server_close(server: *mut wss_server, timeout_ms: u32) -> wss_result {
    guard(|| {
        let s = acquire(server, "server")?;
        if crate::io::in_io_thread() {
            // Refused before marking the server closed: a later close from a host thread must
            // still shut it down.
            return Err(Error::new(
                ErrorKind::InvalidState,
                "wss_server_close waits for I/O threads and cannot run inside a callback",
            ));
        }
        if s.closed.swap(true, Ordering::AcqRel) {
            return Err(Error::new(ErrorKind::Closed, "the server is closed"));
        }
        let r = s.server.shutdown(Duration::from_millis(timeout_ms as u64));
        if let Some(q) = s.handler.queue() {
            q.end();
        }
        r
    })
}

/// Free a server. NULL is a no-op. Never blocks (safe from a finalizer, at process exit too): a
/// server not closed first is stopped abruptly (peers see 1006). No callback starts after this
/// returns; callbacks already running finish, and each `release` (server, routes, connections)
/// runs once the last of them has returned. Takers waiting in `wss_server_next_event` return
/// `WSS_ERR_CLOSED`.
///
/// # Safety
/// `server` NULL or a live handle, freed once.
#[no_mangle]
pub unsafe extern "C" fn wss_server_free(server: *mut wss_server) {
    // A forked child only forgets the handle: the I/O threads did not survive the fork, and a
    // lock one of them held at the fork would stay locked forever.
    if server.is_null() || forked() {
        return;
    }
    contain(|| {
        // SAFETY: the host's reference, given back once.
        let s = unsafe { take_back(server) };
        s.closed.store(true, Ordering::Release);
        s.handler.disable();
        for r in s.routes.lock().iter().filter_map(Weak::upgrade) {
            r.disable();
        }
        s.server.stop();
    });
}

/// Pull mode: wait up to `timeout_ms` (0 = poll) for the next event. `WSS_ERR_TIMEOUT` when none
/// arrived, `WSS_ERR_CLOSED` when the server is closed (or freed) and drained (a call waiting
/// then returns at once), `WSS_ERR_INVALID_STATE` on a callback-mode server. Free the event
/// with `wss_event_free`.
///
/// # Safety
/// `server` a live handle; `event` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_server_next_event(
    server: *const wss_server,
    timeout_ms: u32,
    event: *mut *mut wss_event,
) -> wss_result {
    guard(|| {
        let out = out_arg(event, "event")?;
        *out = std::ptr::null_mut();
        let s = acquire(server, "server")?;
        let q = s.handler.queue().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidState,
                "the server delivers events through callbacks",
            )
        })?;
        pull::next(q, timeout_ms, out)
    })
}

/// Pull mode with `wss_options_set_accept_events`: answer the `WSS_EVENT_ACCEPT` event whose
/// request id is `request_id` (the event's `conn`) with `decision` (set `struct_size`; status 0
/// accepts with `subprotocol_index` and `headers`, 400..599 refuses with `reason`). Any thread.
/// `WSS_ERR_NOT_CONNECTED` when the request is unknown, already decided, timed out, or its peer
/// left; `WSS_ERR_INVALID_ARGUMENT` for a bad decision (the request stays undecided).
///
/// # Safety
/// `server` a live handle; `decision` a valid struct.
#[no_mangle]
pub unsafe extern "C" fn wss_server_decide(
    server: *mut wss_server,
    request_id: u64,
    decision: *const wss_accept_decision,
) -> wss_result {
    guard(|| {
        let s = acquire(server, "server")?;
        s.open()?;
        let d = read_sized(decision, "decision")?;
        let offered = s.server.offered_subprotocols(request_id).ok_or_else(|| {
            Error::new(
                ErrorKind::NotConnected,
                format!("no undecided upgrade request {request_id}"),
            )
        })?;
        s.server.decide(request_id, accept::decision(&d, &offered)?)
    })
}
