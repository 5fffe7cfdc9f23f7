//! Upgrade decisions from C: the request as a host sees it (`wss_upgrade_request`) and what it
//! answers (`wss_accept_decision`), in `on_accept` or, in pull mode, through
//! `wss_server_decide` after a `WSS_EVENT_ACCEPT` event.

use std::cell::Cell;
use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr;

use super::guard::{guard, opt_str_arg, str_arg};
use super::info::{c_string, wss_peer_cert, CPeerCert, Strings};
use super::result::wss_result;
use super::sized::Versioned;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{AcceptDecision, UpgradeRequest};
use crate::http::Request;
use crate::pull::AcceptRequest;
use crate::tls::TlsInfo;
use std::net::SocketAddr;

/// One HTTP header.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wss_header {
    /// Header name.
    pub name: *const c_char,
    /// Header value.
    pub value: *const c_char,
}

/// An upgrade request, as `on_accept` (valid during the call) or a `WSS_EVENT_ACCEPT` event
/// (valid until the event is freed) shows it. Filled by the library: members beyond
/// `struct_size` do not exist in the running library.
#[repr(C)]
pub struct wss_upgrade_request {
    /// Size of this struct as filled.
    pub struct_size: u32,
    /// 1 over TLS, 0 on plain ws.
    pub is_tls: u8,
    /// The id the connection will have if accepted (also the request's id for
    /// `wss_server_decide`).
    pub id: u64,
    /// Request path without query, e.g. "/chat".
    pub path: *const c_char,
    /// Query string without '?', or NULL.
    pub query: *const c_char,
    /// Client address, "ip:port".
    pub remote_address: *const c_char,
    /// All request headers in order.
    pub headers: *const wss_header,
    /// Number of headers.
    pub header_count: usize,
    /// Subprotocols the client offered, in its order.
    pub subprotocols: *const *const c_char,
    /// Number of offered subprotocols.
    pub subprotocol_count: usize,
    /// The client's certificate (verified when the server requests one), or NULL.
    pub peer_certificate: *const wss_peer_cert,
}

/// An upgrade decision. In `on_accept` the library pre-fills it ("accept, no subprotocol") with
/// its own `struct_size`: write only members that lie within it. The library reads it after
/// `on_accept` returns, so `reason` and `headers` set there must point at storage that outlives
/// the call (static strings), or be set with `wss_accept_decision_set_reason` /
/// `wss_accept_decision_add_header`, which copy at once. For `wss_server_decide` the host fills
/// it and sets `struct_size = sizeof(wss_accept_decision)`; it is read during that call.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wss_accept_decision {
    /// Size of this struct (see above).
    pub struct_size: u32,
    /// 0 to accept; 400..599 to refuse with that HTTP status.
    pub status: u16,
    /// Accept: index into the offered subprotocols to select, or -1 for none.
    pub subprotocol_index: i32,
    /// Refuse: the reason phrase (NULL: "Forbidden"); CR and LF are removed.
    pub reason: *const c_char,
    /// Accept: extra response headers (name and value checked; an invalid one, or one the
    /// library writes itself such as Sec-WebSocket-Extensions, refuses with 500 and reports
    /// the error).
    pub headers: *const wss_header,
    /// Number of entries in `headers`.
    pub header_count: usize,
}

// SAFETY: repr(C), leading u32 size, valid when zeroed.
unsafe impl Versioned for wss_accept_decision {}

impl wss_accept_decision {
    /// "Accept, no subprotocol", as `on_accept` receives it.
    pub(crate) fn accept() -> Self {
        wss_accept_decision {
            struct_size: std::mem::size_of::<Self>() as u32,
            status: 0,
            subprotocol_index: -1,
            reason: ptr::null(),
            headers: ptr::null(),
            header_count: 0,
        }
    }
}

/// A request view with its storage; `view` points into the rest.
pub(crate) struct CRequest {
    _strings: Strings,
    _headers: Vec<wss_header>,
    _protos: Vec<*const c_char>,
    _peer: Option<Box<CPeerCert>>,
    pub view: wss_upgrade_request,
}

// SAFETY: the pointers point into heap data owned by the same value.
unsafe impl Send for CRequest {}
unsafe impl Sync for CRequest {}

impl CRequest {
    /// The view of a request in a callback.
    pub(crate) fn of(req: &UpgradeRequest<'_>) -> Box<CRequest> {
        Self::new(req.id, req.request, &req.subprotocols, req.remote, req.tls)
    }

    /// The view of a request in a pull-mode event.
    pub(crate) fn of_pending(req: &AcceptRequest) -> Box<CRequest> {
        Self::new(
            req.id,
            &req.request,
            &req.subprotocols,
            req.remote,
            req.tls.as_ref(),
        )
    }

    fn new(
        id: u64,
        request: &Request,
        subprotocols: &[String],
        remote: SocketAddr,
        tls: Option<&TlsInfo>,
    ) -> Box<CRequest> {
        let mut s = Strings::default();
        let headers = s.headers(&request.headers);
        let protos: Vec<*const c_char> = subprotocols.iter().map(|p| s.keep(p)).collect();
        let peer = tls
            .and_then(|t| t.peer_certificate.as_ref())
            .map(CPeerCert::new);
        let view = wss_upgrade_request {
            struct_size: std::mem::size_of::<wss_upgrade_request>() as u32,
            is_tls: u8::from(tls.is_some()),
            id,
            path: s.keep(&request.path),
            query: s.opt(request.query.as_deref()),
            remote_address: s.keep(&remote.to_string()),
            headers: if headers.is_empty() {
                ptr::null()
            } else {
                headers.as_ptr()
            },
            header_count: headers.len(),
            subprotocols: if protos.is_empty() {
                ptr::null()
            } else {
                protos.as_ptr()
            },
            subprotocol_count: protos.len(),
            peer_certificate: peer.as_ref().map_or(ptr::null(), |p| &p.cert),
        };
        Box::new(CRequest {
            _strings: s,
            _headers: headers,
            _protos: protos,
            _peer: peer,
            view,
        })
    }
}

/// Turn a C decision into the Rust one, against the subprotocols the client `offered`.
pub(crate) fn decision(d: &wss_accept_decision, offered: &[String]) -> Result<AcceptDecision> {
    match d.status {
        0 => {
            let subprotocol = match d.subprotocol_index {
                -1 => None,
                i if i >= 0 && (i as usize) < offered.len() => Some(offered[i as usize].clone()),
                i => {
                    return Err(Error::invalid(format!(
                        "subprotocol_index {i} is out of range: the client offered {}",
                        offered.len()
                    )))
                }
            };
            let mut headers = Vec::with_capacity(d.header_count);
            if d.header_count > 0 && d.headers.is_null() {
                return Err(Error::invalid("headers is NULL with header_count > 0"));
            }
            for i in 0..d.header_count {
                // SAFETY: the host promises `header_count` entries.
                let h = unsafe { *d.headers.add(i) };
                let name = super::guard::str_arg(h.name, "header name")?;
                let value = super::guard::str_arg(h.value, "header value")?;
                headers.push((name.to_string(), value.to_string()));
            }
            Ok(AcceptDecision::Accept {
                subprotocol,
                headers,
            })
        }
        status @ 400..=599 => {
            let reason = super::guard::opt_str_arg(d.reason, "reason")?.unwrap_or("");
            Ok(AcceptDecision::Reject {
                status,
                reason: reason.to_string(),
            })
        }
        other => Err(Error::invalid(format!(
            "status {other} is neither 0 (accept) nor 400..599 (refuse)"
        ))),
    }
}

/// The decision `on_accept` fills, with the storage the copying setters fill; `d` first, so the
/// pointer the host gets is a pointer to the whole.
#[repr(C)]
pub(crate) struct OwnedDecision {
    pub d: wss_accept_decision,
    reason: Option<CString>,
    headers: Vec<(CString, CString)>,
    views: Vec<wss_header>,
}

thread_local! {
    /// The decision an `on_accept` running on this thread may change with the setters.
    static CURRENT: Cell<*mut OwnedDecision> = const { Cell::new(ptr::null_mut()) };
}

impl OwnedDecision {
    pub(crate) fn new() -> Box<OwnedDecision> {
        Box::new(OwnedDecision {
            d: wss_accept_decision::accept(),
            reason: None,
            headers: Vec::new(),
            views: Vec::new(),
        })
    }

    /// Run `f` (the host's `on_accept`) with this decision open to the setters on this thread.
    pub(crate) fn open_during(&mut self, f: impl FnOnce(*mut wss_accept_decision)) {
        let me: *mut OwnedDecision = self;
        let prev = CURRENT.with(|c| c.replace(me));
        // SAFETY: `d` is the first field of the live `self`.
        f(unsafe { ptr::addr_of_mut!((*me).d) });
        CURRENT.with(|c| c.set(prev));
    }
}

/// The decision open to the setters if `d` is it.
fn current(d: *mut wss_accept_decision) -> Result<&'static mut OwnedDecision> {
    let cur = CURRENT.with(|c| c.get());
    if d.is_null() {
        return Err(Error::invalid("decision must not be NULL"));
    }
    if cur.is_null() || d != cur.cast::<wss_accept_decision>() {
        return Err(Error::new(
            ErrorKind::InvalidState,
            "only the decision on_accept received may be changed this way, during that call",
        ));
    }
    // SAFETY: the live decision of the `on_accept` running on this thread (`open_during`).
    Ok(unsafe { &mut *cur })
}

/// In `on_accept`: set the refusal's reason phrase (copied now; NULL: the default one).
/// `WSS_ERR_INVALID_STATE` for any other decision or outside the call.
///
/// # Safety
/// `decision` as received; `reason` NULL or a valid string.
#[no_mangle]
pub unsafe extern "C" fn wss_accept_decision_set_reason(
    decision: *mut wss_accept_decision,
    reason: *const c_char,
) -> wss_result {
    guard(|| {
        let o = current(decision)?;
        o.reason = opt_str_arg(reason, "reason")?.map(c_string);
        o.d.reason = o.reason.as_ref().map_or(ptr::null(), |c| c.as_ptr());
        Ok(())
    })
}

/// In `on_accept`: add a response header to an acceptance (copied now, after any the host set in
/// `headers`). `WSS_ERR_INVALID_STATE` for any other decision or outside the call;
/// `WSS_ERR_INVALID_ARGUMENT` for an invalid header or one the library writes.
///
/// # Safety
/// `decision` as received; `name`, `value` valid strings.
#[no_mangle]
pub unsafe extern "C" fn wss_accept_decision_add_header(
    decision: *mut wss_accept_decision,
    name: *const c_char,
    value: *const c_char,
) -> wss_result {
    guard(|| {
        let o = current(decision)?;
        let (name, value) = (str_arg(name, "name")?, str_arg(value, "value")?);
        if let Some(why) = crate::http::host_header_problem(name, value) {
            return Err(Error::invalid(format!("response header {why}")));
        }
        // Headers the host pointed at itself come first, copied now.
        if o.d.header_count > 0 && o.d.headers != o.views.as_ptr() {
            if o.d.headers.is_null() {
                return Err(Error::invalid("headers is NULL with header_count > 0"));
            }
            for i in 0..o.d.header_count {
                // SAFETY: the host's array of `header_count` entries.
                let h = unsafe { *o.d.headers.add(i) };
                let (n, v) = (
                    str_arg(h.name, "header name")?,
                    str_arg(h.value, "header value")?,
                );
                o.headers.push((c_string(n), c_string(v)));
            }
        }
        o.headers.push((c_string(name), c_string(value)));
        o.views = o
            .headers
            .iter()
            .map(|(n, v)| wss_header {
                name: n.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        o.d.headers = o.views.as_ptr();
        o.d.header_count = o.views.len();
        Ok(())
    })
}
