//! `wss_client`: one client connection, in callback or pull mode.

use std::os::raw::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use super::callbacks::{wss_callbacks, CHandler, QueueKind};
use super::guard::*;
use super::handle::{acquire, publish, take_back, wss_release_fn, HostData};
use super::options::{event_queue_limit, wss_options};
use super::pull::{self, wss_event};
use super::result::*;
use super::tls::{tls_copy, wss_tls_config};
use crate::client::Client;
use crate::config::ClientConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;

/// Opaque client handle: one connection and its events. Thread-safe: every call may be made from
/// any thread. Reference-counted inside: `wss_client_free` may race with calls already running
/// on other threads.
pub struct wss_client {
    client: Client,
    handler: Arc<CHandler>,
}

/// The endpoint settings and handler of a new client.
///
/// # Safety
/// Pointers NULL or valid.
unsafe fn prepare(
    tls: *const wss_tls_config,
    options: *const wss_options,
    callbacks: *const wss_callbacks,
    user_data: *mut c_void,
    release: wss_release_fn,
) -> Result<(ClientConfig, Arc<CHandler>)> {
    // SAFETY: NULL or a live handle.
    let mut config = unsafe { options.as_ref() }
        .map(|o| o.client.lock().clone())
        .unwrap_or_else(ClientConfig::default);
    config.tls = tls_copy(tls);
    // SAFETY: NULL or a live handle.
    let limit = unsafe { event_queue_limit(options) };
    let handler = CHandler::new(
        callbacks,
        HostData::new(user_data, release),
        limit,
        QueueKind::Client,
    )?;
    Ok((config, handler))
}

/// One connect call: `connect` is the blocking or the non-blocking start.
///
/// # Safety
/// Pointers NULL or valid.
#[allow(clippy::too_many_arguments)]
unsafe fn connect_with(
    connect: fn(&str, &ClientConfig, Arc<dyn Handler>) -> Result<Client>,
    url: *const c_char,
    tls: *const wss_tls_config,
    options: *const wss_options,
    callbacks: *const wss_callbacks,
    user_data: *mut c_void,
    release: wss_release_fn,
    out: *mut *mut wss_client,
) -> wss_result {
    guard(|| {
        let out = out_arg(out, "out")?;
        let url = str_arg(url, "url")?;
        // SAFETY: forwarded pointers, NULL or valid by contract.
        let (config, handler) = unsafe { prepare(tls, options, callbacks, user_data, release) }?;
        match connect(url, &config, handler.clone()) {
            Ok(client) => {
                *out = publish(Arc::new(wss_client {
                    client,
                    handler: handler.clone(),
                }));
                handler.ready(true);
                Ok(())
            }
            Err(e) => {
                handler.ready(false);
                Err(e)
            }
        }
    })
}

/// Connect to a `ws://` or `wss://` URL, blocking until open or failed (connect timeout from
/// `options`, default 10 s). `tls` NULL uses secure defaults with the system trust store.
/// `callbacks` NULL selects pull mode (`wss_client_next_event`). On failure `wss_last_error` /
/// `wss_error_last` have the full detail (OpenSSL queue, X509 verify result, HTTP status) and
/// no callback runs. `release(user_data)` is called once after the last callback; only on
/// success. No callback runs before this call has returned.
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
    release: wss_release_fn,
    out: *mut *mut wss_client,
) -> wss_result {
    // SAFETY: forwarded pointers, NULL or valid by the caller's contract.
    unsafe {
        connect_with(
            Client::connect,
            url,
            tls,
            options,
            callbacks,
            user_data,
            release,
            out,
        )
    }
}

/// Start connecting to a `ws://` or `wss://` URL and return at once (URL, header and option
/// errors are still returned here). TCP connect, TLS and the upgrade run on an I/O thread, within
/// the connect timeout; the outcome arrives as `on_open`, or as `on_error` with the client's
/// connection id and the full detail (no `on_close` follows for a connection that never opened).
/// Pull mode: `WSS_EVENT_OPEN`, or `WSS_EVENT_ERROR` after which the queue ends. A host name is
/// resolved on a short-lived thread (IP addresses need no lookup), so this never blocks on DNS.
/// Until the connection opens, `wss_send` returns `WSS_ERR_NOT_CONNECTED`. No callback runs
/// before this call has returned; freeing the client while it connects cancels the attempt.
/// `release(user_data)` is called once after the last callback; only on success.
///
/// # Safety
/// Pointers must be NULL or valid; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_client_connect_async(
    url: *const c_char,
    tls: *const wss_tls_config,
    options: *const wss_options,
    callbacks: *const wss_callbacks,
    user_data: *mut c_void,
    release: wss_release_fn,
    out: *mut *mut wss_client,
) -> wss_result {
    // SAFETY: forwarded pointers, NULL or valid by the caller's contract.
    unsafe {
        connect_with(
            Client::connect_async,
            url,
            tls,
            options,
            callbacks,
            user_data,
            release,
            out,
        )
    }
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
        *c = acquire(client, "client")?.client.connection().id();
        Ok(())
    })
}

/// Close with `code` (1000, 1001-1003, 1007-1011, 3000-4999) and `reason` (NULL = none, at most
/// 123 bytes), waiting up to `timeout_ms` for the close handshake (`WSS_ERR_TIMEOUT` if it did not
/// finish in time). `timeout_ms` 0, or a call from a callback, only starts the close and returns
/// `WSS_OK`; `on_close` (or the close event) follows.
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
        let c = acquire(client, "client")?;
        let reason = opt_str_arg(reason, "reason")?.unwrap_or("");
        if timeout_ms == 0 {
            return c.client.connection().close(code, reason);
        }
        c.client
            .close(code, reason, Duration::from_millis(timeout_ms as u64))
    })
}

/// Free a client. NULL is a no-op. Never blocks: an open connection gets a normal close without
/// waiting. No callback starts after this returns; callbacks already running finish, and
/// `release` runs once the last of them has returned and the connection has ended. Takers
/// waiting in `wss_client_next_event` return `WSS_ERR_CLOSED`.
///
/// # Safety
/// `client` NULL or a live handle, freed once.
#[no_mangle]
pub unsafe extern "C" fn wss_client_free(client: *mut wss_client) {
    // A forked child only forgets the handle: the I/O threads did not survive the fork, and a
    // lock one of them held at the fork would stay locked forever.
    if client.is_null() || forked() {
        return;
    }
    contain(|| {
        // SAFETY: the host's reference, given back once.
        let c = unsafe { take_back(client) };
        c.handler.disable();
        let conn = c.client.connection();
        if conn.is_open() {
            let _ = conn.close(crate::conn::close_code::NORMAL, "");
        }
    });
}

/// Pull mode: wait up to `timeout_ms` (0 = poll) for the client's next event. `WSS_ERR_CLOSED`
/// once the connection closed (or the client was freed) and all events were taken.
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
        let c = acquire(client, "client")?;
        let q = c.handler.queue().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidState,
                "the client delivers events through callbacks",
            )
        })?;
        pull::next(q, timeout_ms, out)
    })
}
