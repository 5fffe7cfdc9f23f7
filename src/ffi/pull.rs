//! Pull mode in C: events taken with `wss_server_next_event` / `wss_client_next_event` on the
//! host's own thread, as `wss_event` structs the host frees.

use std::os::raw::{c_char, c_void};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use super::accept::{wss_upgrade_request, CRequest};
use super::error::wss_error;
use super::guard::*;
use super::handle::HostData;
use super::info::Strings;
use super::result::*;
use crate::error::Result;
use crate::pull::{Event, EventKind, EventQueue};

/// An event taken in pull mode; free with `wss_event_free`. Filled by the library: members beyond
/// `struct_size` do not exist in the running library. Pointers stay valid until the event is freed.
#[repr(C)]
pub struct wss_event {
    /// Size of this struct as filled.
    pub struct_size: u32,
    /// `WSS_EVENT_*`.
    pub event_type: wss_event_type,
    /// Connection id (0 for errors before a connection opened).
    pub conn: u64,
    /// The connection's user data (`wss_conn_set_user_data`), or NULL. Events keep it alive:
    /// its release runs once the connection has ended and its last event is freed.
    pub conn_user_data: *mut c_void,
    /// Message kind (`WSS_EVENT_MESSAGE`).
    pub kind: wss_message_kind,
    /// Close code (`WSS_EVENT_CLOSE`).
    pub close_code: u16,
    /// Message or pong payload, or NULL.
    pub data: *const u8,
    /// Payload length.
    pub len: usize,
    /// Close reason (`WSS_EVENT_CLOSE`), or NULL.
    pub reason: *const c_char,
    /// Error detail (`WSS_EVENT_ERROR`), owned by the event: `wss_error_copy` keeps it longer.
    pub error: *const wss_error,
    /// The upgrade request to decide (`WSS_EVENT_ACCEPT`; `conn` is its id), or NULL.
    pub request: *const wss_upgrade_request,
}

/// Owned event data; `ev` first so the C pointer is a pointer to the box.
#[repr(C)]
struct EventBox {
    ev: wss_event,
    _event: Event,
    _reason: Strings,
    _error: Option<Arc<wss_error>>,
    _request: Option<Box<CRequest>>,
}

fn boxed(event: Event) -> *mut wss_event {
    let mut ev = wss_event {
        struct_size: std::mem::size_of::<wss_event>() as u32,
        event_type: 0,
        conn: event.conn,
        conn_user_data: HostData::ptr_in(event.user_data.as_ref()),
        kind: 0,
        close_code: 0,
        data: ptr::null(),
        len: 0,
        reason: ptr::null(),
        error: ptr::null(),
        request: ptr::null(),
    };
    let mut strings = Strings::default();
    let mut error = None;
    let mut request = None;
    match &event.kind {
        EventKind::Open => ev.event_type = WSS_EVENT_OPEN,
        EventKind::Message(kind, data) => {
            (ev.event_type, ev.kind) = (WSS_EVENT_MESSAGE, *kind as i32);
            if !data.is_empty() {
                (ev.data, ev.len) = (data.as_ptr(), data.len());
            }
        }
        EventKind::Pong(data) => {
            ev.event_type = WSS_EVENT_PONG;
            if !data.is_empty() {
                (ev.data, ev.len) = (data.as_ptr(), data.len());
            }
        }
        EventKind::Close(code, reason) => {
            (ev.event_type, ev.close_code) = (WSS_EVENT_CLOSE, *code);
            ev.reason = strings.keep(reason);
        }
        EventKind::Error(e) => {
            ev.event_type = WSS_EVENT_ERROR;
            let e = wss_error::new(e);
            ev.error = Arc::as_ptr(&e);
            error = Some(e);
        }
        EventKind::Accept(req) => {
            ev.event_type = WSS_EVENT_ACCEPT;
            let r = CRequest::of_pending(req);
            ev.request = &r.view;
            request = Some(r);
        }
    }
    Box::into_raw(Box::new(EventBox {
        ev,
        _event: event,
        _reason: strings,
        _error: error,
        _request: request,
    }))
    .cast()
}

/// Take the next event from `q` into `*out`.
pub(crate) fn next(q: &EventQueue, timeout_ms: u32, out: &mut *mut wss_event) -> Result<()> {
    *out = boxed(q.next(Duration::from_millis(timeout_ms as u64))?);
    Ok(())
}

/// Free an event from `wss_*_next_event`. NULL is a no-op.
///
/// # Safety
/// `event` NULL or a pointer from `wss_*_next_event`, freed once.
#[no_mangle]
pub unsafe extern "C" fn wss_event_free(event: *mut wss_event) {
    if !event.is_null() {
        contain(|| drop(unsafe { Box::from_raw(event.cast::<EventBox>()) }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::MessageKind;
    use bytes::Bytes;

    #[test]
    fn an_event_points_at_its_payload_and_owns_it_until_freed() {
        let big = Bytes::from(vec![7u8; 8192]);
        let ev = boxed(Event {
            conn: 3,
            user_data: None,
            kind: EventKind::Message(MessageKind::Binary, big.clone()),
        });
        unsafe {
            assert_eq!((*ev).struct_size as usize, std::mem::size_of::<wss_event>());
            assert_eq!((*ev).event_type, WSS_EVENT_MESSAGE);
            assert_eq!((*ev).data, big.as_ptr());
            assert_eq!((*ev).len, 8192);
            assert!((*ev).conn_user_data.is_null());
            wss_event_free(ev);
        }
    }
}
