//! `wss_options`: endpoint settings (limits, threads, keepalive, client headers/subprotocols,
//! permessage-deflate).
//! One builder for servers and clients; each uses the settings that apply to it.

use std::os::raw::c_char;
use std::time::Duration;

use parking_lot::Mutex;

use super::guard::*;
use super::result::*;
use crate::config::{ClientConfig, Deflate, Keepalive, ServerConfig};
use crate::error::{Error, Result};
use crate::http;

/// Opaque endpoint settings, set with the `wss_options_*` calls (thread-safe: a lock serializes
/// them). Servers and clients copy them when created, so they may be freed or changed afterwards.
pub struct wss_options {
    pub(crate) server: Mutex<ServerConfig>,
    pub(crate) client: Mutex<ClientConfig>,
    /// Pull mode: bytes of events waiting to be taken before connections stop reading.
    pub(crate) event_queue_limit: Mutex<usize>,
    /// Pull-mode servers: queue upgrade requests for the host to decide.
    pub(crate) accept_events: Mutex<bool>,
}

/// Default pull-mode event queue limit (64 MiB, the default largest message).
pub(crate) const EVENT_QUEUE_LIMIT: usize = 64 << 20;

/// The pull-mode event queue limit of `options` (NULL: the default).
///
/// # Safety
/// `options` NULL or a live handle.
pub(crate) unsafe fn event_queue_limit(options: *const wss_options) -> usize {
    // SAFETY: NULL or a live handle, by the caller's contract.
    unsafe { options.as_ref() }.map_or(EVENT_QUEUE_LIMIT, |o| *o.event_queue_limit.lock())
}

impl wss_options {
    fn both(&self, f: impl Fn(&mut crate::config::Limits)) {
        f(&mut self.server.lock().limits);
        f(&mut self.client.lock().limits);
    }

    fn deflate(&self, f: impl Fn(&mut Deflate)) {
        f(&mut self.server.lock().deflate);
        f(&mut self.client.lock().deflate);
    }
}

fn window_bits(v: u8, what: &str) -> Result<u8> {
    if !(8..=15).contains(&v) {
        return Err(Error::invalid(format!("{what} must be 8 to 15, not {v}")));
    }
    Ok(v)
}

fn with(opts: *mut wss_options, f: impl FnOnce(&wss_options) -> Result<()>) -> wss_result {
    guard(|| f(handle(opts, "options")?))
}

fn positive(v: u64, what: &str) -> Result<usize> {
    if v == 0 {
        return Err(Error::invalid(format!("{what} must be greater than 0")));
    }
    usize::try_from(v).map_err(|_| Error::invalid(format!("{what} is too large")))
}

fn millis(v: u32, what: &str) -> Result<Duration> {
    if v == 0 {
        return Err(Error::invalid(format!("{what} must be greater than 0 ms")));
    }
    Ok(Duration::from_millis(v as u64))
}

/// Create settings with the defaults (64 MiB messages, 16 MiB frames, 16 KiB headers, 10 s
/// handshake timeout, 16 MiB send queue, 64 MiB pull-mode event queue, I/O threads = cores, no
/// keepalive, HSTS on).
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wss_options_new(out: *mut *mut wss_options) -> wss_result {
    guard(|| {
        let out = out_arg(out, "out")?;
        let o = wss_options {
            server: Mutex::new(ServerConfig::default()),
            client: Mutex::new(ClientConfig::default()),
            event_queue_limit: Mutex::new(EVENT_QUEUE_LIMIT),
            accept_events: Mutex::new(false),
        };
        *out = Box::into_raw(Box::new(o));
        Ok(())
    })
}

/// Free settings. NULL is a no-op.
///
/// # Safety
/// `opts` NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_free(opts: *mut wss_options) {
    if !opts.is_null() {
        contain(|| drop(unsafe { Box::from_raw(opts) }));
    }
}

/// Largest incoming message in bytes (larger closes with 1009).
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_max_message_size(
    opts: *mut wss_options,
    bytes: u64,
) -> wss_result {
    with(opts, |o| {
        let v = positive(bytes, "max_message_size")?;
        o.both(|l| l.max_message_size = v);
        Ok(())
    })
}

/// Largest incoming frame payload in bytes (larger closes with 1009).
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_max_frame_size(
    opts: *mut wss_options,
    bytes: u64,
) -> wss_result {
    with(opts, |o| {
        let v = positive(bytes, "max_frame_size")?;
        o.both(|l| l.max_frame_size = v);
        Ok(())
    })
}

/// Largest HTTP upgrade head in bytes (servers answer 431 above it).
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_max_header_size(
    opts: *mut wss_options,
    bytes: u64,
) -> wss_result {
    with(opts, |o| {
        let v = positive(bytes, "max_header_size")?;
        o.both(|l| l.max_header_size = v);
        Ok(())
    })
}

/// Servers: most simultaneous connections (more get HTTP 503).
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_max_connections(
    opts: *mut wss_options,
    count: u64,
) -> wss_result {
    with(opts, |o| {
        let v = positive(count, "max_connections")?;
        o.both(|l| l.max_connections = v);
        Ok(())
    })
}

/// Bytes a connection may queue for sending before `wss_send` returns `WSS_ERR_BACKPRESSURE`.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_send_queue_limit(
    opts: *mut wss_options,
    bytes: u64,
) -> wss_result {
    with(opts, |o| {
        let v = positive(bytes, "send_queue_limit")?;
        o.both(|l| l.send_queue_limit = v);
        Ok(())
    })
}

/// Pull mode: bytes of received events (payloads plus 64 per event) that may wait to be taken
/// with `wss_*_next_event` before the endpoint stops reading from its peers; their sends then
/// back up through TCP instead of into memory, and reading resumes as the host catches up (at
/// once when it has taken the queue down to half the limit, else within a second of there being
/// room). One message larger than the limit still gets through. A connection that is closing
/// reads on to find the peer's close frame, dropping the data messages it reads while the queue
/// is full (reported once with `WSS_ERR_BACKPRESSURE` as the connection ends). Our keepalive does
/// not count a pause against the peer, but a peer with its own keepalive gets no pong while
/// paused and may drop the connection: take events promptly. Default 64 MiB. No effect on
/// callback endpoints.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_event_queue_limit(
    opts: *mut wss_options,
    bytes: u64,
) -> wss_result {
    with(opts, |o| {
        *o.event_queue_limit.lock() = positive(bytes, "event_queue_limit")?;
        Ok(())
    })
}

/// Pull-mode servers: `on` 1 queues every upgrade request as a `WSS_EVENT_ACCEPT` event, which
/// the host answers with `wss_server_decide` (accept with a subprotocol and response headers, or
/// refuse with a status and reason) before the handshake timeout; unanswered requests are then
/// refused with 503 and reported as a `WSS_ERR_TIMEOUT` error event. 0 (default) accepts every
/// request. No effect on callback endpoints (they decide in `on_accept`) or clients.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_accept_events(
    opts: *mut wss_options,
    on: u8,
) -> wss_result {
    with(opts, |o| {
        *o.accept_events.lock() = flag(on, "on")?;
        Ok(())
    })
}

/// Whether `options` asks for accept events (NULL: no).
///
/// # Safety
/// `options` NULL or a live handle.
pub(crate) unsafe fn accept_events(options: *const wss_options) -> bool {
    // SAFETY: NULL or a live handle, by the caller's contract.
    unsafe { options.as_ref() }.is_some_and(|o| *o.accept_events.lock())
}

/// Servers: time from TCP accept to open WebSocket before the peer is dropped (slowloris guard).
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_handshake_timeout_ms(
    opts: *mut wss_options,
    ms: u32,
) -> wss_result {
    with(opts, |o| {
        let d = millis(ms, "handshake_timeout")?;
        o.both(|l| l.handshake_timeout = d);
        Ok(())
    })
}

/// Time to wait for the peer's close frame after sending ours, and for our close to go out
/// behind data still queued (that may take longer only while the peer keeps taking bytes; a peer
/// that stops reading is cut off with 1006 and a `WSS_ERR_TIMEOUT` error). Default 5 s.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_close_timeout_ms(
    opts: *mut wss_options,
    ms: u32,
) -> wss_result {
    with(opts, |o| {
        let d = millis(ms, "close_timeout")?;
        o.both(|l| l.close_timeout = d);
        Ok(())
    })
}

/// Clients: time allowed for TCP connect + TLS + upgrade.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_connect_timeout_ms(
    opts: *mut wss_options,
    ms: u32,
) -> wss_result {
    with(opts, |o| {
        o.client.lock().connect_timeout = millis(ms, "connect_timeout")?;
        Ok(())
    })
}

/// Ping after `interval_ms` of silence; close (1006, `WSS_ERR_TIMEOUT`) when nothing arrives
/// within `timeout_ms` after a ping. `interval_ms` 0 turns keepalive off.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_keepalive(
    opts: *mut wss_options,
    interval_ms: u32,
    timeout_ms: u32,
) -> wss_result {
    with(opts, |o| {
        let ka = if interval_ms == 0 {
            None
        } else {
            Some(Keepalive {
                interval: millis(interval_ms, "interval")?,
                timeout: millis(timeout_ms, "keepalive timeout")?,
            })
        };
        o.server.lock().keepalive = ka;
        o.client.lock().keepalive = ka;
        Ok(())
    })
}

/// Servers: number of I/O threads (0 = number of cores, the default; at most 1024: larger values
/// give `WSS_ERR_INVALID_ARGUMENT`).
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_io_threads(
    opts: *mut wss_options,
    threads: u32,
) -> wss_result {
    with(opts, |o| {
        if threads > 1024 {
            return Err(Error::invalid("io_threads must be at most 1024"));
        }
        o.server.lock().io_threads = threads as usize;
        Ok(())
    })
}

/// Servers: `on` 1 sends Strict-Transport-Security on HTTP answers over TLS (default), 0 does not.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_hsts(opts: *mut wss_options, on: u8) -> wss_result {
    with(opts, |o| {
        o.server.lock().hsts = flag(on, "on")?;
        Ok(())
    })
}

/// Servers: the listen backlog, connections the kernel completes and queues while the server
/// is busy accepting (default 4096; the kernel caps it, on Linux at `net.core.somaxconn`).
/// 0 gives `WSS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_listen_backlog(
    opts: *mut wss_options,
    backlog: u32,
) -> wss_result {
    with(opts, |o| {
        if backlog == 0 || backlog > i32::MAX as u32 {
            return Err(Error::invalid("listen_backlog must be 1 to 2147483647"));
        }
        o.server.lock().listen_backlog = backlog;
        Ok(())
    })
}

/// `on` 0 (default): reading a connection pauses while its send queue is over its limit (a send
/// was refused with `WSS_ERR_BACKPRESSURE`) and resumes once it has drained to half; `on` 1:
/// such a peer is closed with 1008 and an error (`WSS_ERR_BACKPRESSURE`) instead.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_close_on_backpressure(
    opts: *mut wss_options,
    on: u8,
) -> wss_result {
    with(opts, |o| {
        let on = flag(on, "on")?;
        o.both(|l| l.close_on_backpressure = on);
        Ok(())
    })
}

/// Clients: add a request header. A `Host` header replaces the one made from the URL; the
/// headers the library writes (Upgrade, Connection, Sec-WebSocket-*, Content-Length,
/// Transfer-Encoding) are refused with `WSS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `name`, `value` valid strings; `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_add_header(
    opts: *mut wss_options,
    name: *const c_char,
    value: *const c_char,
) -> wss_result {
    with(opts, |o| {
        let (n, v) = (str_arg(name, "name")?, str_arg(value, "value")?);
        if let Some(why) = http::host_header_problem(n, v) {
            return Err(Error::invalid(format!("request header {why}")));
        }
        o.client.lock().headers.push((n.to_string(), v.to_string()));
        Ok(())
    })
}

/// Clients: offer a subprotocol (in preference order of the calls).
///
/// # Safety
/// `protocol` a valid string; `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_add_subprotocol(
    opts: *mut wss_options,
    protocol: *const c_char,
) -> wss_result {
    with(opts, |o| {
        let p = str_arg(protocol, "protocol")?;
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
            return Err(Error::invalid(format!("invalid subprotocol '{p}'")));
        }
        o.client.lock().subprotocols.push(p.to_string());
        Ok(())
    })
}

/// permessage-deflate (RFC 7692): `on` 1 lets a client offer it and a server accept it, 0 (the
/// default) does not. Off by default because a connection that compresses keeps ~420 KiB of
/// zlib state between messages with context takeover (see
/// `wss_options_set_deflate_no_context_takeover`), and compression over TLS mixes secrets with
/// attacker-chosen data (CRIME/BREACH): send such messages with `WSS_SEND_NO_COMPRESS`.
/// `wss_conn_info_get` tells what a connection agreed on.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_deflate(opts: *mut wss_options, on: u8) -> wss_result {
    with(opts, |o| {
        let on = flag(on, "on")?;
        o.deflate(|d| d.enabled = on);
        Ok(())
    })
}

/// permessage-deflate: messages shorter than `bytes` go uncompressed (default 64).
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_deflate_threshold(
    opts: *mut wss_options,
    bytes: u64,
) -> wss_result {
    with(opts, |o| {
        let v = usize::try_from(bytes).map_err(|_| Error::invalid("threshold is too large"))?;
        o.deflate(|d| d.threshold = v);
        Ok(())
    })
}

/// permessage-deflate without context takeover: `server` 1 has the server compress each message
/// on its own, `client` 1 the client (each 0 or 1; default 0, 0). A server asks it of clients, a
/// client of servers; the side that compresses without it frees its zlib state after every
/// message (idle connections then hold none), for a worse ratio on small, similar messages.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_deflate_no_context_takeover(
    opts: *mut wss_options,
    server: u8,
    client: u8,
) -> wss_result {
    with(opts, |o| {
        let (s, c) = (flag(server, "server")?, flag(client, "client")?);
        o.deflate(|d| {
            d.server_no_context_takeover = s;
            d.client_no_context_takeover = c;
        });
        Ok(())
    })
}

/// permessage-deflate: the largest LZ77 windows (base-2 log, 8 to 15; default 15, 15) the server
/// and the client compress with. 8 compresses with 9 (zlib's smallest raw window), which a peer
/// inflating with 8 reads correctly.
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_deflate_max_window_bits(
    opts: *mut wss_options,
    server: u8,
    client: u8,
) -> wss_result {
    with(opts, |o| {
        let s = window_bits(server, "server window bits")?;
        let c = window_bits(client, "client window bits")?;
        o.deflate(|d| {
            d.server_max_window_bits = s;
            d.client_max_window_bits = c;
        });
        Ok(())
    })
}

/// permessage-deflate: zlib compression `level` (1 fastest to 9 smallest; default 6) and
/// `mem_level` (1 to 9; default 8: the compressor's hash table grows with it).
///
/// # Safety
/// `opts` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_options_set_deflate_level(
    opts: *mut wss_options,
    level: u8,
    mem_level: u8,
) -> wss_result {
    with(opts, |o| {
        for (v, what) in [(level, "level"), (mem_level, "mem_level")] {
            if !(1..=9).contains(&v) {
                return Err(Error::invalid(format!("{what} must be 1 to 9, not {v}")));
            }
        }
        o.deflate(|d| {
            d.level = level;
            d.mem_level = mem_level;
        });
        Ok(())
    })
}
