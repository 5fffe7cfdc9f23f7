//! Delivering events to C hosts: a `wss_callbacks` struct of function pointers called on the I/O
//! threads, or (callbacks NULL) a pull-mode queue the host takes events from (src/pull.rs).
//! Either way the endpoint's `user_data` is released when the handler is dropped, which is after
//! its last callback: every callback runs on a reference the caller holds.

use std::os::raw::{c_char, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use super::accept::{decision, wss_accept_decision, wss_upgrade_request, CRequest, OwnedDecision};
use super::error::wss_error;
use super::guard::*;
use super::handle::HostData;
use super::info::Strings;
use super::result::*;
use super::sized::{read_sized, Versioned};
use crate::conn::Connection;
use crate::error::{Error, Result};
use crate::handler::{AcceptDecision, Handler, MessageKind, UpgradeRequest};
use crate::pull::EventQueue;

/// Event callbacks for an endpoint or route. Set `struct_size = sizeof(wss_callbacks)`; every
/// function may be NULL. They run on the library's I/O threads: keep them short and never let an
/// exception or longjmp escape them (the C++ and C# wrappers catch everything in their
/// trampolines). Data pointers are valid only during the call. `wss_send`, `wss_close_conn`,
/// `wss_ping` and `wss_conn_set_user_data` may be called from inside any callback.
/// `conn_user_data` is what the host attached with `wss_conn_set_user_data` (NULL until then).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wss_callbacks {
    /// Size of this struct as the host knows it.
    pub struct_size: u32,
    /// Servers: decide whether to upgrade by filling `decision` (pre-filled: accept, no
    /// subprotocol). NULL accepts every request.
    pub on_accept: Option<
        extern "C" fn(
            user_data: *mut c_void,
            request: *const wss_upgrade_request,
            decision: *mut wss_accept_decision,
        ),
    >,
    /// A connection opened (the place to attach per-connection data).
    pub on_open: Option<extern "C" fn(user_data: *mut c_void, conn: u64)>,
    /// A complete message arrived (`kind` is `WSS_MESSAGE_TEXT` or `WSS_MESSAGE_BINARY`).
    pub on_message: Option<
        extern "C" fn(
            user_data: *mut c_void,
            conn: u64,
            conn_user_data: *mut c_void,
            kind: wss_message_kind,
            data: *const u8,
            len: usize,
        ),
    >,
    /// A pong arrived.
    pub on_pong: Option<
        extern "C" fn(
            user_data: *mut c_void,
            conn: u64,
            conn_user_data: *mut c_void,
            data: *const u8,
            len: usize,
        ),
    >,
    /// A connection closed (`code` 1006: without a close handshake); once per opened
    /// connection, its last callback (except reports of sends that raced with the close).
    pub on_close: Option<
        extern "C" fn(
            user_data: *mut c_void,
            conn: u64,
            conn_user_data: *mut c_void,
            code: u16,
            reason: *const c_char,
        ),
    >,
    /// Something failed; `conn` is 0 for failures before a connection opened (TLS handshake,
    /// timeouts: the peer address is in the error). `error` is valid during the call; keep it
    /// with `wss_error_copy`.
    pub on_error: Option<
        extern "C" fn(
            user_data: *mut c_void,
            conn: u64,
            conn_user_data: *mut c_void,
            error: *const wss_error,
        ),
    >,
}

// SAFETY: repr(C), leading u32 size, valid when zeroed (all callbacks None).
unsafe impl Versioned for wss_callbacks {}

/// Opens once the call that created the handler has returned: no event reaches the host before
/// it holds the handle.
struct Latch {
    open: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Latch {
    fn wait(&self) {
        if self.open.load(Ordering::Acquire) {
            return;
        }
        let mut g = self.lock.lock();
        while !self.open.load(Ordering::Acquire) {
            self.cv.wait_for(&mut g, Duration::from_millis(100));
        }
    }

    fn open(&self) {
        let _g = self.lock.lock();
        self.open.store(true, Ordering::Release);
        self.cv.notify_all();
    }
}

/// The pull queue a handler gets when its callbacks are NULL.
pub(crate) enum QueueKind {
    /// A client's: ends with its connection.
    Client,
    /// A server's, accepting every upgrade.
    Server,
    /// A server's whose host decides upgrades (`WSS_EVENT_ACCEPT`).
    ServerDeciding,
}

/// Where an endpoint's events go.
enum Sink {
    Callbacks(wss_callbacks),
    Pull(Arc<EventQueue>),
}

/// A `Handler` that forwards to C. Dropping it releases the host's `user_data`.
pub(crate) struct CHandler {
    sink: Sink,
    host: Mutex<Option<HostData>>,
    user_data: *mut c_void,
    /// Cleared by `*_free`: no callback starts afterwards.
    alive: AtomicBool,
    latch: Latch,
}

// SAFETY: the host promises its callbacks and user_data may be used from the library's threads
// (documented on `wss_callbacks`); the pull queue is thread-safe.
unsafe impl Send for CHandler {}
unsafe impl Sync for CHandler {}

impl Drop for CHandler {
    fn drop(&mut self) {
        // Release the host's data last (after its callbacks, which all held a reference).
        drop(self.host.get_mut().take());
    }
}

impl CHandler {
    /// A handler for `callbacks` (NULL: pull mode into a queue bounded by `queue_limit`; a
    /// client's queue ends with its connection). Inert until `ready`.
    pub(crate) fn new(
        callbacks: *const wss_callbacks,
        host: HostData,
        queue_limit: usize,
        kind: QueueKind,
    ) -> Result<Arc<CHandler>> {
        let sink = if callbacks.is_null() {
            Sink::Pull(match kind {
                QueueKind::Client => EventQueue::for_client(queue_limit),
                QueueKind::Server => EventQueue::new(queue_limit),
                QueueKind::ServerDeciding => EventQueue::new(queue_limit).with_accept_events(),
            })
        } else {
            match read_sized(callbacks, "callbacks") {
                Ok(cb) => Sink::Callbacks(cb),
                Err(e) => {
                    // The call fails: the host keeps its user_data, so no release.
                    host.disown();
                    return Err(e);
                }
            }
        };
        Ok(Self::with_sink(sink, host))
    }

    /// A pull-mode handler sharing `queue` (a pull-mode server's routes). Inert until `ready`.
    pub(crate) fn for_queue(queue: Arc<EventQueue>, host: HostData) -> Arc<CHandler> {
        Self::with_sink(Sink::Pull(queue), host)
    }

    fn with_sink(sink: Sink, host: HostData) -> Arc<CHandler> {
        Arc::new(CHandler {
            sink,
            user_data: host.ptr(),
            host: Mutex::new(Some(host)),
            alive: AtomicBool::new(true),
            latch: Latch {
                open: AtomicBool::new(false),
                lock: Mutex::new(()),
                cv: Condvar::new(),
            },
        })
    }

    /// The call that created this handler returned: `ok` lets events through and keeps the
    /// release; otherwise events are dropped and the host keeps its `user_data`.
    pub(crate) fn ready(&self, ok: bool) {
        if !ok {
            self.alive.store(false, Ordering::Release);
            if let Some(h) = self.host.lock().take() {
                h.disown();
            }
        }
        self.latch.open();
    }

    /// Stop delivering events (`*_free`). Callbacks already running finish; `release` follows
    /// once the last of them has returned and the library holds no reference any more.
    pub(crate) fn disable(&self) {
        self.alive.store(false, Ordering::Release);
        if let Sink::Pull(q) = &self.sink {
            q.end();
        }
    }

    /// The pull queue, in pull mode.
    pub(crate) fn queue(&self) -> Option<&Arc<EventQueue>> {
        match &self.sink {
            Sink::Pull(q) => Some(q),
            Sink::Callbacks(_) => None,
        }
    }

    /// Where an event goes now: after the creating call returned, while not disabled.
    fn live(&self) -> Option<&Sink> {
        self.latch.wait();
        self.alive.load(Ordering::Acquire).then_some(&self.sink)
    }
}

/// The host's data attached to `conn` (NULL if none).
pub(crate) fn conn_data(conn: &Connection) -> *mut c_void {
    HostData::ptr_in(conn.user_data().as_ref())
}

fn data_ptr(data: &[u8]) -> *const u8 {
    if data.is_empty() {
        ptr::null()
    } else {
        data.as_ptr()
    }
}

impl Handler for CHandler {
    fn wants_messages(&self, conn: &Connection) -> bool {
        match &self.sink {
            Sink::Pull(q) => q.wants_messages(conn),
            Sink::Callbacks(_) => true,
        }
    }

    fn on_accept(&self, req: &UpgradeRequest<'_>) -> AcceptDecision {
        let refuse = |status, reason: &str| AcceptDecision::Reject {
            status,
            reason: reason.into(),
        };
        let cb = match self.live() {
            Some(Sink::Pull(q)) => return q.on_accept(req),
            Some(Sink::Callbacks(cb)) => cb,
            None => return refuse(503, "Service Unavailable"),
        };
        let Some(f) = cb.on_accept else {
            return AcceptDecision::accept();
        };
        let view = CRequest::of(req);
        let mut d = OwnedDecision::new();
        let mut returned = false;
        contain(|| {
            d.open_during(|d| f(self.user_data, &view.view, d));
            returned = true;
        });
        if !returned {
            return refuse(500, "Internal Server Error");
        }
        match decision(&d.d, &req.subprotocols) {
            Ok(d) => d,
            Err(e) => {
                let e = e.context("on_accept").with_peer(Some(req.remote));
                self.on_error(None, &e);
                refuse(500, "Internal Server Error")
            }
        }
    }

    fn on_open(&self, conn: &Connection) {
        match self.live() {
            Some(Sink::Pull(q)) => q.on_open(conn),
            Some(Sink::Callbacks(cb)) => {
                if let Some(f) = cb.on_open {
                    contain(|| f(self.user_data, conn.id()));
                }
            }
            None => {}
        }
    }

    fn on_message_owned(&self, conn: &Connection, kind: MessageKind, data: Bytes) {
        let f = match self.live() {
            Some(Sink::Pull(q)) => return q.on_message_owned(conn, kind, data),
            Some(Sink::Callbacks(cb)) => cb.on_message,
            None => None,
        };
        if let Some(f) = f {
            let (p, n) = (data_ptr(&data), data.len());
            contain(|| {
                f(
                    self.user_data,
                    conn.id(),
                    conn_data(conn),
                    kind as i32,
                    p,
                    n,
                )
            });
        }
    }

    fn on_pong(&self, conn: &Connection, data: &[u8]) {
        let f = match self.live() {
            Some(Sink::Pull(q)) => return q.on_pong(conn, data),
            Some(Sink::Callbacks(cb)) => cb.on_pong,
            None => None,
        };
        if let Some(f) = f {
            let (p, n) = (data_ptr(data), data.len());
            contain(|| f(self.user_data, conn.id(), conn_data(conn), p, n));
        }
    }

    fn on_close(&self, conn: &Connection, code: u16, reason: &str) {
        let f = match self.live() {
            Some(Sink::Pull(q)) => return q.on_close(conn, code, reason),
            Some(Sink::Callbacks(cb)) => cb.on_close,
            None => None,
        };
        if let Some(f) = f {
            let mut s = Strings::default();
            let r = s.keep(reason);
            contain(|| f(self.user_data, conn.id(), conn_data(conn), code, r));
        }
    }

    fn on_error(&self, conn: Option<&Connection>, err: &Error) {
        let f = match self.live() {
            Some(Sink::Pull(q)) => return q.on_error(conn, err),
            Some(Sink::Callbacks(cb)) => cb.on_error,
            None => None,
        };
        if let Some(f) = f {
            let e = wss_error::new(err);
            let (id, data) = conn.map_or((0, ptr::null_mut()), |c| (c.id(), conn_data(c)));
            contain(|| f(self.user_data, id, data, Arc::as_ptr(&e)));
        }
    }
}
