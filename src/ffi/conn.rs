//! Per-connection calls, by `uint64_t` id. Callable from any thread, including inside callbacks;
//! a stale id gives `WSS_ERR_NOT_CONNECTED`.

use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::sync::Arc;

use once_cell::sync::OnceCell;

use super::callbacks::conn_data;
use super::guard::*;
use super::handle::{wss_release_fn, HostData};
use super::result::*;
use crate::conn::{connection, Connection};
use crate::error::{Error, ErrorKind, Result};
use crate::pull::UserData;

fn already_set(id: u64) -> Error {
    Error::new(
        ErrorKind::InvalidState,
        format!("connection {id} already has user data, or has ended"),
    )
}

fn conn(id: u64) -> Result<Connection> {
    connection(id).ok_or_else(|| {
        Error::new(
            ErrorKind::NotConnected,
            format!("connection {id} is not open"),
        )
    })
}

/// Queue a message (`WSS_MESSAGE_TEXT`: must be UTF-8; `WSS_MESSAGE_BINARY`). The data is copied;
/// `data` may be NULL when `len` is 0. Returns `WSS_ERR_BACKPRESSURE` when the send queue is full.
///
/// # Safety
/// `data` must hold `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn wss_send(
    conn_id: u64,
    data: *const u8,
    len: usize,
    kind: wss_message_kind,
) -> wss_result {
    guard(|| {
        let kind = message_kind_from_c(kind)?;
        let data = bytes_arg(data, len, "data")?;
        conn(conn_id)?.send(kind, data)
    })
}

/// `wss_send` with `flags` (`WSS_SEND_NO_COMPRESS`, or 0 for what `wss_send` does); unknown
/// flag bits give `WSS_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `data` must hold `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn wss_send_ex(
    conn_id: u64,
    data: *const u8,
    len: usize,
    kind: wss_message_kind,
    flags: wss_send_flags,
) -> wss_result {
    guard(|| {
        let kind = message_kind_from_c(kind)?;
        if flags & !WSS_SEND_NO_COMPRESS != 0 {
            return Err(Error::invalid(format!("unknown send flags {flags:#x}")));
        }
        let data = bytes_arg(data, len, "data")?;
        let conn = conn(conn_id)?;
        if flags & WSS_SEND_NO_COMPRESS != 0 {
            conn.send_uncompressed(kind, data)
        } else {
            conn.send(kind, data)
        }
    })
}

/// Queue a NUL-terminated UTF-8 text message.
///
/// # Safety
/// `text` a valid NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn wss_send_text(conn_id: u64, text: *const c_char) -> wss_result {
    guard(|| {
        let t = str_arg(text, "text")?;
        conn(conn_id)?.send_text(t)
    })
}

/// Start closing after the queued messages: `code` 1000, 1001-1003, 1007-1011 or 3000-4999,
/// `reason` NULL or at most 123 bytes. `on_close` follows.
///
/// # Safety
/// `reason` NULL or a valid string.
#[no_mangle]
pub unsafe extern "C" fn wss_close_conn(
    conn_id: u64,
    code: u16,
    reason: *const c_char,
) -> wss_result {
    guard(|| {
        let r = opt_str_arg(reason, "reason")?.unwrap_or("");
        conn(conn_id)?.close(code, r)
    })
}

/// Queue a ping (payload at most 125 bytes); the answer arrives as `on_pong`.
///
/// # Safety
/// `data` must hold `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn wss_ping(conn_id: u64, data: *const u8, len: usize) -> wss_result {
    guard(|| {
        let d = bytes_arg(data, len, "data")?;
        conn(conn_id)?.ping(d)
    })
}

/// Stop reading connection `conn_id`'s input until `wss_conn_resume_reading` (the peer then
/// meets TCP backpressure). Takes effect before the next message; keepalive does not count a
/// paused connection's silence; a closing connection reads on. (Reading also pauses by itself
/// while the send queue is over its limit, see `wss_options_set_close_on_backpressure`.)
#[no_mangle]
pub extern "C" fn wss_conn_pause_reading(conn_id: u64) -> wss_result {
    guard(|| {
        conn(conn_id)?.pause_reading();
        Ok(())
    })
}

/// Read connection `conn_id` again after `wss_conn_pause_reading` (and, in pull mode, ask at
/// once whether the host takes events again).
#[no_mangle]
pub extern "C" fn wss_conn_resume_reading(conn_id: u64) -> wss_result {
    guard(|| {
        conn(conn_id)?.resume_reading();
        Ok(())
    })
}

/// Bytes queued for sending and not yet handed to the socket.
///
/// # Safety
/// `out` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_conn_buffered_amount(conn_id: u64, out: *mut usize) -> wss_result {
    guard(|| {
        let o = out_arg(out, "out")?;
        *o = conn(conn_id)?.buffered_amount();
        Ok(())
    })
}

/// Attach the host's data to connection `conn_id`, once (typically in `on_open`, or after
/// taking its `WSS_EVENT_OPEN`): every later callback of the connection receives it as
/// `conn_user_data`, and so do its pull-mode events. `release(data)` is called once after the
/// connection's last callback (`on_close`; for a client whose connect failed, its `on_error`),
/// and in pull mode once its last event is freed too; only on success. A send that raced with the
/// close may still be reported by an `on_error` after `on_close`: it gets NULL. Client and server
/// connections alike. `WSS_ERR_INVALID_STATE` if data is already attached or the connection has
/// ended, `WSS_ERR_NOT_CONNECTED` for an unknown id.
///
/// # Safety
/// `data` anything the host likes; `release` NULL or a valid function.
#[no_mangle]
pub unsafe extern "C" fn wss_conn_set_user_data(
    conn_id: u64,
    data: *mut c_void,
    release: wss_release_fn,
) -> wss_result {
    guard(|| {
        let c = conn(conn_id)?;
        let host: Arc<HostData> = Arc::new(HostData::new(data, release));
        c.try_set_user_data(host).map_err(|rejected| {
            // Not attached: the host keeps ownership, so no release.
            if let Ok(h) = rejected.downcast::<HostData>() {
                if let Ok(h) = Arc::try_unwrap(h) {
                    h.disown();
                }
            }
            already_set(conn_id)
        })
    })
}

/// The data attached to connection `conn_id` with `wss_conn_set_user_data` (NULL if none). The
/// pointer is the host's own: it stays valid until its release runs.
///
/// # Safety
/// `out` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_conn_get_user_data(conn_id: u64, out: *mut *mut c_void) -> wss_result {
    guard(|| {
        let o = out_arg(out, "out")?;
        *o = conn_data(&conn(conn_id)?);
        Ok(())
    })
}

/// A reference to a connection's user data taken with `wss_conn_user_data_retain`: while it
/// lives, the data's release is held back. Free it with `wss_conn_data_ref_free`.
pub struct wss_conn_data_ref {
    /// Held for its `Drop`: the last clone of the data runs the host's release.
    _data: UserData,
}

/// The data attached to connection `conn_id`, safely usable outside its callbacks: `*out_data`
/// gets the pointer and `*out_ref` a reference that holds back its release (which would otherwise
/// run right after the connection's last callback, racing a `wss_conn_get_user_data` from another
/// thread) until `wss_conn_data_ref_free`. With no data attached: `*out_data` and `*out_ref` are
/// NULL and the result is `WSS_OK`. `WSS_ERR_NOT_CONNECTED` for an unknown or ended connection.
///
/// # Safety
/// `out_data` and `out_ref` writable.
#[no_mangle]
pub unsafe extern "C" fn wss_conn_user_data_retain(
    conn_id: u64,
    out_data: *mut *mut c_void,
    out_ref: *mut *mut wss_conn_data_ref,
) -> wss_result {
    guard(|| {
        let od = out_arg(out_data, "out_data")?;
        let or = out_arg(out_ref, "out_ref")?;
        *od = std::ptr::null_mut();
        *or = std::ptr::null_mut();
        let data = conn(conn_id)?.user_data();
        let ptr = HostData::ptr_in(data.as_ref());
        if let (Some(data), false) = (data, ptr.is_null()) {
            *od = ptr;
            *or = Box::into_raw(Box::new(wss_conn_data_ref { _data: data }));
        }
        Ok(())
    })
}

/// Let go of a reference from `wss_conn_user_data_retain`; the data's release runs now if the
/// connection has ended and no other reference remains. NULL is ignored.
///
/// # Safety
/// `r` NULL or a reference not freed before.
#[no_mangle]
pub unsafe extern "C" fn wss_conn_data_ref_free(r: *mut wss_conn_data_ref) {
    if !r.is_null() {
        // SAFETY: by contract a reference from `wss_conn_user_data_retain`, freed once.
        contain(|| drop(unsafe { Box::from_raw(r) }));
    }
}

/// The library version, e.g. "0.1.0" (static string).
#[no_mangle]
pub extern "C" fn wss_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The OpenSSL version in use, e.g. "OpenSSL 3.0.15 3 Sep 2024" (static string).
#[no_mangle]
pub extern "C" fn wss_openssl_version() -> *const c_char {
    static V: OnceCell<CString> = OnceCell::new();
    V.get_or_init(|| CString::new(openssl::version::version()).unwrap_or_default())
        .as_ptr()
}
