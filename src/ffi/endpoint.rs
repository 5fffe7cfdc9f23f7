//! `wss_server` and `wss_client` handles.

use std::os::raw::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::events::{sink, wss_callbacks, wss_event, CHandler, PullQueue};
use super::guard::*;
use super::options::{event_queue_limit, wss_options};
use super::result::*;
use super::tls::wss_tls_config;
use crate::client::Client;
use crate::config::{ClientConfig, ServerConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::server::Server;

/// Opaque server handle.
pub struct wss_server {
    server: Server,
    handler: Arc<CHandler>,
    pull: Option<Arc<PullQueue>>,
    routes: Mutex<Vec<Arc<CHandler>>>,
    closed: AtomicBool,
}

/// Opaque client handle (one connection).
pub struct wss_client {
    client: Client,
    handler: Arc<CHandler>,
    pull: Option<Arc<PullQueue>>,
}

fn tls_copy(tls: *const wss_tls_config) -> Option<crate::tls::TlsConfig> {
    // SAFETY: NULL or a live handle, by contract.
    unsafe { tls.as_ref() }.map(|t| t.inner.lock().clone())
}

/// Start a server on `bind_address` ("127.0.0.1:0", "[::1]:8443", "0.0.0.0:443"; port 0 picks a
/// free port, see `wss_server_port`). `tls` NULL serves ws://, otherwise wss:// (it needs a
/// certificate). `options` may be NULL for defaults. `callbacks` NULL selects pull mode
/// (`wss_server_next_event`; past `wss_options_set_event_queue_limit` of events not yet taken,
/// the server stops reading from its peers); otherwise the callbacks serve every path until a
/// route is added,
/// and always receive errors that happen before routing (TLS handshake failures with the full
/// OpenSSL and X509 detail, handshake timeouts).
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
        let (sink, pull) = sink(callbacks, user_data, unsafe { event_queue_limit(options) });
        let handler = Arc::new(CHandler::new(sink));
        let server = Server::bind(addr, config, handler.clone())?;
        *out = Box::into_raw(Box::new(wss_server {
            server,
            handler,
            pull,
            routes: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        }));
        Ok(())
    })
}

fn open_server<'a>(server: *const wss_server) -> Result<&'a wss_server> {
    let s = handle(server, "server")?;
    if s.closed.load(Ordering::Acquire) {
        return Err(Error::new(ErrorKind::Closed, "the server is closed"));
    }
    Ok(s)
}

/// The bound port.
///
/// # Safety
/// `server` a live handle; `port` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_server_port(server: *const wss_server, port: *mut u16) -> wss_result {
    guard(|| {
        let p = out_arg(port, "port")?;
        *p = handle(server, "server")?.server.port();
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
        *c = handle(server, "server")?.server.active_connections() as u64;
        Ok(())
    })
}

/// Serve upgrades on `path` (exact match) with `callbacks`/`user_data`. Once a route exists,
/// other paths get HTTP 404. A pull-mode server takes routes with NULL callbacks (events go to
/// its queue); a callback-mode server needs callbacks.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn wss_server_add_route(
    server: *mut wss_server,
    path: *const c_char,
    callbacks: *const wss_callbacks,
    user_data: *mut c_void,
) -> wss_result {
    guard(|| {
        let s = open_server(server)?;
        let path = str_arg(path, "path")?;
        let handler = match (&s.pull, callbacks.is_null()) {
            (Some(_), true) => s.handler.clone(),
            (Some(_), false) => {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    "a pull-mode server takes routes with NULL callbacks",
                ))
            }
            (None, true) => {
                return Err(Error::invalid(
                    "callbacks must not be NULL on a callback-mode server",
                ))
            }
            (None, false) => {
                let (sink, _) = sink(callbacks, user_data, usize::MAX); // callbacks: no queue
                let h = Arc::new(CHandler::new(sink));
                s.routes.lock().push(h.clone());
                h
            }
        };
        s.server.add_route(path, handler)
    })
}

/// Stop serving `path`. `WSS_ERR_INVALID_ARGUMENT` if it was not a route.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn wss_server_remove_route(
    server: *mut wss_server,
    path: *const c_char,
) -> wss_result {
    guard(|| {
        let s = open_server(server)?;
        let path = str_arg(path, "path")?;
        if s.server.remove_route(path) {
            Ok(())
        } else {
            Err(Error::invalid(format!("'{path}' is not a route")))
        }
    })
}

/// Graceful shutdown: stop accepting, send close 1001 after each connection's queued messages,
/// wait up to `timeout_ms` for peers, then stop the I/O threads. Blocks; not callable from a
/// callback (`WSS_ERR_INVALID_STATE`). Pull-mode events stay readable until drained.
///
/// # Safety
/// `server` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_server_close(server: *mut wss_server, timeout_ms: u32) -> wss_result {
    guard(|| {
        let s = open_server(server)?;
        s.server
            .shutdown(Duration::from_millis(timeout_ms as u64))?;
        s.closed.store(true, Ordering::Release);
        if let Some(q) = &s.pull {
            q.end();
        }
        Ok(())
    })
}

/// Free a server. NULL is a no-op. Never blocks on the I/O threads (safe from a finalizer); a
/// server not closed first is stopped abruptly (peers see 1006). It waits (up to 2 s) for
/// callbacks already running on I/O threads; after it returns no new callback starts with this
/// server's `user_data`.
///
/// # Safety
/// `server` NULL or a live handle, freed once.
#[no_mangle]
pub unsafe extern "C" fn wss_server_free(server: *mut wss_server) {
    if server.is_null() {
        return;
    }
    contain(|| {
        let s = unsafe { Box::from_raw(server) };
        s.handler.disable();
        for r in s.routes.lock().iter() {
            r.disable();
        }
        drop(s);
    });
}

/// Pull mode: wait up to `timeout_ms` (0 = poll) for the next event. `WSS_ERR_TIMEOUT` when none
/// arrived, `WSS_ERR_CLOSED` when the server is closed and drained (a call waiting while another
/// thread runs `wss_server_close` returns then), `WSS_ERR_INVALID_STATE` on a callback-mode
/// server. Free the event with `wss_event_free`.
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
        let s = handle(server, "server")?;
        let q = s.pull.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidState,
                "the server delivers events through callbacks",
            )
        })?;
        q.next(timeout_ms, out, s.closed.load(Ordering::Acquire))
    })
}

/// Connect to a `ws://` or `wss://` URL, blocking until open or failed (connect timeout from
/// `options`, default 10 s). `tls` NULL uses secure defaults with the system trust store.
/// `callbacks` NULL selects pull mode (`wss_client_next_event`; past
/// `wss_options_set_event_queue_limit` of events not yet taken, reading pauses). On failure,
/// `wss_last_error`
/// has the full detail (OpenSSL queue, X509 verify result, HTTP status).
///
/// # Safety
/// Pointers must be NULL or valid; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_client_connect(
    url: *const c_char,
    tls: *const wss_tls_config,
    options: *const wss_options,
    callbacks: *const wss_callbacks,
    user_data: *mut c_void,
    out: *mut *mut wss_client,
) -> wss_result {
    guard(|| {
        let out = out_arg(out, "out")?;
        let url = str_arg(url, "url")?;
        // SAFETY: NULL or a live handle.
        let mut config = unsafe { options.as_ref() }
            .map(|o| o.client.lock().clone())
            .unwrap_or_else(ClientConfig::default);
        config.tls = tls_copy(tls);
        // SAFETY: NULL or a live handle.
        let (sink, pull) = sink(callbacks, user_data, unsafe { event_queue_limit(options) });
        let handler = Arc::new(CHandler::for_client(sink));
        let client = Client::connect(url, &config, handler.clone())?;
        *out = Box::into_raw(Box::new(wss_client {
            client,
            handler,
            pull,
        }));
        Ok(())
    })
}

/// The client's connection id (for `wss_send` and friends).
///
/// # Safety
/// `client` a live handle; `conn` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_client_conn_id(
    client: *const wss_client,
    conn: *mut u64,
) -> wss_result {
    guard(|| {
        let c = out_arg(conn, "conn")?;
        *c = handle(client, "client")?.client.connection().id();
        Ok(())
    })
}

/// Close with `code` (1000, 1001-1003, 1007-1011, 3000-4999) and `reason` (NULL = none, at most
/// 123 bytes), waiting up to `timeout_ms` for the close handshake. From a callback it only starts
/// the close.
///
/// # Safety
/// Pointers must be NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn wss_client_close(
    client: *mut wss_client,
    code: u16,
    reason: *const c_char,
    timeout_ms: u32,
) -> wss_result {
    guard(|| {
        let c = handle(client, "client")?;
        let reason = opt_str_arg(reason, "reason")?.unwrap_or("");
        c.client
            .close(code, reason, Duration::from_millis(timeout_ms as u64))
    })
}

/// Free a client. NULL is a no-op. Never blocks; an open connection gets a normal close without
/// waiting. It waits (up to 2 s) for callbacks already running; after it returns no new callback
/// starts with this client's `user_data`.
///
/// # Safety
/// `client` NULL or a live handle, freed once.
#[no_mangle]
pub unsafe extern "C" fn wss_client_free(client: *mut wss_client) {
    if client.is_null() {
        return;
    }
    contain(|| {
        let c = unsafe { Box::from_raw(client) };
        c.handler.disable();
        drop(c);
    });
}

/// Pull mode: wait up to `timeout_ms` (0 = poll) for the client's next event. `WSS_ERR_CLOSED`
/// once the connection closed and all events were taken.
///
/// # Safety
/// `client` a live handle; `event` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_client_next_event(
    client: *const wss_client,
    timeout_ms: u32,
    event: *mut *mut wss_event,
) -> wss_result {
    guard(|| {
        let out = out_arg(event, "event")?;
        *out = std::ptr::null_mut();
        let c = handle(client, "client")?;
        let q = c.pull.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidState,
                "the client delivers events through callbacks",
            )
        })?;
        let closed = !c.client.connection().is_open()
            && c.client.connection().wait_closed(Duration::ZERO).is_some();
        q.next(timeout_ms, out, closed)
    })
}
