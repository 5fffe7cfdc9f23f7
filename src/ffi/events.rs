//! Delivering events to C hosts: push mode (a `wss_callbacks` struct of function pointers plus
//! `user_data`, called on I/O threads) or pull mode (events queued, taken with
//! `wss_*_next_event` on the host's own thread).

use std::collections::{HashSet, VecDeque};
use std::os::raw::{c_char, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex, RwLock};

use super::guard::*;
use super::info::{wss_peer_cert, CPeerCert, Strings};
use super::result::*;
use crate::conn::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{AcceptDecision, Handler, MessageKind, UpgradeRequest};

/// One request header.
#[repr(C)]
pub struct wss_header {
    /// Header name as sent.
    pub name: *const c_char,
    /// Header value.
    pub value: *const c_char,
}

/// An upgrade request, as `on_accept` sees it. Valid only during the callback.
#[repr(C)]
pub struct wss_upgrade_request {
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
    /// True over TLS.
    pub is_tls: bool,
    /// The client's certificate (verified when the server requests one), or NULL.
    pub peer_certificate: *const wss_peer_cert,
}

/// What `on_accept` decides. Pre-filled with "accept, no subprotocol".
#[repr(C)]
pub struct wss_accept_decision {
    /// 0 to accept; 400..599 to refuse with that HTTP status.
    pub status: u16,
    /// Index into the offered subprotocols to select, or -1 for none.
    pub subprotocol_index: i32,
}

/// Event callbacks for an endpoint or route. Every member may be NULL. They run on the library's
/// I/O threads: keep them short and never let an exception or longjmp escape them (C++/C#
/// wrappers catch everything in their trampolines). Data pointers are valid only during the call.
/// `wss_send`, `wss_close_conn` and `wss_ping` may be called from inside any callback.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wss_callbacks {
    /// Servers: decide whether to upgrade; fill `decision`.
    pub on_accept: Option<
        extern "C" fn(
            user_data: *mut c_void,
            request: *const wss_upgrade_request,
            decision: *mut wss_accept_decision,
        ),
    >,
    /// A connection opened.
    pub on_open: Option<extern "C" fn(user_data: *mut c_void, conn: u64)>,
    /// A complete message arrived (`kind` is `WSS_MESSAGE_TEXT` or `WSS_MESSAGE_BINARY`).
    pub on_message: Option<
        extern "C" fn(
            user_data: *mut c_void,
            conn: u64,
            kind: wss_message_kind,
            data: *const u8,
            len: usize,
        ),
    >,
    /// A connection closed (`code` 1006: without a close handshake). Called once per opened
    /// connection.
    pub on_close:
        Option<extern "C" fn(user_data: *mut c_void, conn: u64, code: u16, reason: *const c_char)>,
    /// Something failed; `conn` is 0 for failures before a connection opened (TLS handshake,
    /// timeouts), with the peer address in `error->peer_address`.
    pub on_error:
        Option<extern "C" fn(user_data: *mut c_void, conn: u64, error: *const wss_error_info)>,
    /// A pong arrived.
    pub on_pong:
        Option<extern "C" fn(user_data: *mut c_void, conn: u64, data: *const u8, len: usize)>,
}

/// An event taken in pull mode; free with `wss_event_free`.
#[repr(C)]
pub struct wss_event {
    /// `WSS_EVENT_*`.
    pub event_type: wss_event_type,
    /// Connection id (0 for errors before a connection opened).
    pub conn: u64,
    /// Message kind (`WSS_EVENT_MESSAGE`).
    pub kind: wss_message_kind,
    /// Message or pong payload, or NULL.
    pub data: *const u8,
    /// Payload length.
    pub len: usize,
    /// Close code (`WSS_EVENT_CLOSE`).
    pub close_code: u16,
    /// Close reason (`WSS_EVENT_CLOSE`), or NULL.
    pub reason: *const c_char,
    /// Error detail (`WSS_EVENT_ERROR`), or NULL.
    pub error: *const wss_error_info,
}

/// Owned event data; `ev` first so the C pointer is a pointer to the box.
#[repr(C)]
struct EventBox {
    ev: wss_event,
    _data: Bytes,
    _reason: Strings,
    _error: Option<Box<CError>>,
}

/// An event as queued in pull mode.
pub(crate) enum Pulled {
    Open(u64),
    Message(u64, MessageKind, Bytes),
    Pong(u64, Bytes),
    Close(u64, u16, String),
    Error(u64, Error),
}

/// Payloads from this size on are queued as received; smaller ones are copied, so that a queued
/// event does not keep the connection's larger read buffer alive.
const KEEP_FROM: usize = 4096;

/// The payload as a pull-mode event keeps it: the received buffer itself when large (no copy).
fn kept(data: Bytes) -> Bytes {
    if data.len() >= KEEP_FROM {
        data
    } else {
        Bytes::copy_from_slice(&data)
    }
}

fn boxed(p: Pulled) -> *mut wss_event {
    let mut ev = wss_event {
        event_type: 0,
        conn: 0,
        kind: 0,
        data: ptr::null(),
        len: 0,
        close_code: 0,
        reason: ptr::null(),
        error: ptr::null(),
    };
    let mut strings = Strings::default();
    let (data, error) = match p {
        Pulled::Open(id) => {
            (ev.event_type, ev.conn) = (WSS_EVENT_OPEN, id);
            (Bytes::new(), None)
        }
        Pulled::Message(id, kind, data) => {
            (ev.event_type, ev.conn, ev.kind) = (WSS_EVENT_MESSAGE, id, kind as i32);
            (data, None)
        }
        Pulled::Pong(id, data) => {
            (ev.event_type, ev.conn) = (WSS_EVENT_PONG, id);
            (data, None)
        }
        Pulled::Close(id, code, reason) => {
            (ev.event_type, ev.conn, ev.close_code) = (WSS_EVENT_CLOSE, id, code);
            ev.reason = strings.keep(&reason);
            (Bytes::new(), None)
        }
        Pulled::Error(id, e) => {
            (ev.event_type, ev.conn) = (WSS_EVENT_ERROR, id);
            (Bytes::new(), Some(CError::new(&e)))
        }
    };
    if !data.is_empty() {
        ev.data = data.as_ptr();
    }
    ev.len = data.len();
    if let Some(e) = &error {
        ev.error = &e.info;
    }
    Box::into_raw(Box::new(EventBox {
        ev,
        _data: data,
        _reason: strings,
        _error: error,
    }))
    .cast()
}

/// The pull-mode queue of an endpoint: a locked deque and a condition variable. A taker that
/// finds it empty sleeps at once (no spinning or yielding, which on a busy 2-core host cost more
/// CPU than the hand-off itself); a producer wakes one sleeper, and only if one is waiting.
pub(crate) struct PullQueue {
    state: Mutex<PullState>,
    ready: Condvar,
    /// Payload bytes (plus a fixed cost per event) queued and not yet taken.
    bytes: AtomicUsize,
    /// Above this many `bytes`, connections stop reading (`Handler::wants_messages`).
    limit: usize,
    /// Ids of connections paused for room: resumed once the host has taken the queue down to
    /// half the limit. The lock also orders "no room, park" against "room again, resume". Ids,
    /// not handles: a handle would keep its handler, and so this queue, alive (a cycle).
    parked: Mutex<HashSet<u64>>,
    /// Some connection may be parked (lets takers skip the lock).
    any_parked: AtomicBool,
}

/// Bookkeeping cost counted for every queued event besides its payload.
const EVENT_COST: usize = 64;

impl Pulled {
    /// What this event counts against the queue limit.
    fn cost(&self) -> usize {
        EVENT_COST
            + match self {
                Pulled::Message(_, _, b) | Pulled::Pong(_, b) => b.len(),
                Pulled::Close(_, _, r) => r.len(),
                Pulled::Open(_) | Pulled::Error(..) => 0,
            }
    }
}

#[derive(Default)]
struct PullState {
    events: VecDeque<Pulled>,
    /// No more events will come (server closed): takers return at once.
    ended: bool,
    /// Takers asleep in `next` (tests wait for one before waking it).
    waiting: usize,
}

impl PullQueue {
    /// A queue whose connections stop reading while more than `limit` bytes wait to be taken.
    pub(crate) fn new(limit: usize) -> Self {
        PullQueue {
            state: Mutex::new(PullState::default()),
            ready: Condvar::new(),
            bytes: AtomicUsize::new(0),
            limit,
            parked: Mutex::new(HashSet::new()),
            any_parked: AtomicBool::new(false),
        }
    }

    fn push(&self, p: Pulled) {
        self.bytes.fetch_add(p.cost(), Ordering::SeqCst);
        self.state.lock().events.push_back(p);
        self.ready.notify_one();
    }

    /// Room for more: the queued bytes are within the limit.
    fn has_room(&self) -> bool {
        self.bytes.load(Ordering::SeqCst) <= self.limit
    }

    /// Whether `conn` may read more; if not, it is parked until the host catches up.
    fn admit(&self, conn: &Connection) -> bool {
        if self.has_room() {
            return true;
        }
        let mut parked = self.parked.lock();
        // Flag first, then look again: a taker that lowered `bytes` without seeing the flag
        // did so before this second look, which then finds the room (SeqCst orders the two).
        self.any_parked.store(true, Ordering::SeqCst);
        if self.has_room() {
            self.any_parked.store(!parked.is_empty(), Ordering::SeqCst);
            return true;
        }
        parked.insert(conn.id());
        false
    }

    /// After an event was taken: at half the limit or below, resume every parked connection.
    fn unpark(&self) {
        if !self.any_parked.load(Ordering::SeqCst)
            || self.bytes.load(Ordering::SeqCst) > self.limit / 2
        {
            return;
        }
        let woken = {
            let mut parked = self.parked.lock();
            self.any_parked.store(false, Ordering::SeqCst);
            std::mem::take(&mut *parked)
        };
        // Connections that ended meanwhile are simply gone from the registry.
        for conn in woken.into_iter().filter_map(crate::conn::connection) {
            conn.resume_reading();
        }
    }

    /// No more events will come: wake every waiting taker.
    pub(crate) fn end(&self) {
        self.state.lock().ended = true;
        self.ready.notify_all();
    }

    /// Wait up to `timeout_ms` (0 = don't wait) for the next event. `closed`: the endpoint
    /// produces no more events, so an empty queue answers at once.
    pub(crate) fn next(
        &self,
        timeout_ms: u32,
        out: &mut *mut wss_event,
        closed: bool,
    ) -> Result<()> {
        let (got, ended) = {
            let mut st = self.state.lock();
            if timeout_ms != 0 && !closed {
                let deadline = Instant::now() + Duration::from_millis(timeout_ms as u64);
                st.waiting += 1;
                while st.events.is_empty()
                    && !st.ended
                    && !self.ready.wait_until(&mut st, deadline).timed_out()
                {}
                st.waiting -= 1;
            }
            (st.events.pop_front(), closed || st.ended)
        };
        if let Some(p) = &got {
            self.bytes.fetch_sub(p.cost(), Ordering::SeqCst);
            self.unpark();
        }
        match got {
            Some(p) => {
                *out = boxed(p);
                Ok(())
            }
            None if ended => Err(Error::new(
                ErrorKind::Closed,
                "the endpoint is closed and has no more events",
            )),
            None => Err(Error::new(
                ErrorKind::Timeout,
                "no event within the timeout",
            )),
        }
    }
}

/// Where an endpoint's events go.
pub(crate) enum Sink {
    Callbacks {
        cb: wss_callbacks,
        user_data: *mut c_void,
    },
    Pull(std::sync::Arc<PullQueue>),
}

thread_local! {
    /// The `CHandler` whose host callback is running on this thread (0 = none).
    static IN_CALLBACK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Longest time `*_free` waits for callbacks already running.
const FREE_WAIT: Duration = Duration::from_secs(2);

/// A `Handler` that forwards to C. `gate` lets `*_free` wait for running callbacks and then
/// stop further ones, so `user_data` is never used after free.
pub(crate) struct CHandler {
    sink: Sink,
    alive: AtomicBool,
    gate: RwLock<()>,
    /// A client's handler: its one connection's close is the endpoint's last event, so a pull
    /// queue ends there (takers waiting then return `Closed` instead of sleeping out).
    ends_with_close: bool,
}

// SAFETY: the host promises its callbacks and user_data may be used from the library's threads
// (documented on `wss_callbacks`); pull queues are thread-safe.
unsafe impl Send for CHandler {}
unsafe impl Sync for CHandler {}

impl CHandler {
    pub(crate) fn new(sink: Sink) -> Self {
        CHandler {
            sink,
            alive: AtomicBool::new(true),
            gate: RwLock::new(()),
            ends_with_close: false,
        }
    }

    /// The handler of a client (one connection): see `ends_with_close`.
    pub(crate) fn for_client(sink: Sink) -> Self {
        CHandler {
            ends_with_close: true,
            ..Self::new(sink)
        }
    }

    /// Stop delivering events. Waits (at most `FREE_WAIT`) for this handler's callbacks running on
    /// other threads to return, except when called from inside one of its own callbacks, where
    /// waiting would deadlock. The bound keeps a finalizer at process exit from hanging on a callback that a
    /// shutting-down runtime never lets finish.
    pub(crate) fn disable(&self) {
        self.alive.store(false, Ordering::Release);
        if IN_CALLBACK.with(|c| c.get()) != self.addr() {
            drop(self.gate.try_write_for(FREE_WAIT));
        }
    }

    fn addr(&self) -> usize {
        self as *const CHandler as usize
    }

    /// Run `f` (a host callback) marked as "inside this handler's callback" on this thread.
    fn call(&self, f: impl FnOnce()) {
        let prev = IN_CALLBACK.with(|c| c.replace(self.addr()));
        contain(f);
        IN_CALLBACK.with(|c| c.set(prev));
    }

    fn emit(&self, f: impl FnOnce(&wss_callbacks, *mut c_void), p: impl FnOnce() -> Pulled) {
        let _g = self.gate.read_recursive();
        if !self.alive.load(Ordering::Acquire) {
            return;
        }
        match &self.sink {
            Sink::Callbacks { cb, user_data } => self.call(|| f(cb, *user_data)),
            Sink::Pull(q) => {
                q.push(p());
            }
        }
    }
}

impl Handler for CHandler {
    fn wants_messages(&self, conn: &Connection) -> bool {
        match &self.sink {
            Sink::Pull(q) => q.admit(conn),
            Sink::Callbacks { .. } => true,
        }
    }

    fn on_accept(&self, req: &UpgradeRequest<'_>) -> AcceptDecision {
        let Sink::Callbacks { cb, user_data } = &self.sink else {
            return AcceptDecision::accept();
        };
        let Some(f) = cb.on_accept else {
            return AcceptDecision::accept();
        };
        let _g = self.gate.read_recursive();
        if !self.alive.load(Ordering::Acquire) {
            return AcceptDecision::Reject {
                status: 503,
                reason: "Service Unavailable".into(),
            };
        }
        let mut s = Strings::default();
        let headers: Vec<wss_header> = req
            .request
            .headers
            .iter()
            .map(|(n, v)| wss_header {
                name: s.keep(n),
                value: s.keep(v),
            })
            .collect();
        let protos: Vec<*const c_char> = req.subprotocols.iter().map(|p| s.keep(p)).collect();
        let peer = req
            .tls
            .and_then(|t| t.peer_certificate.as_ref())
            .map(CPeerCert::new);
        let view = wss_upgrade_request {
            path: s.keep(&req.request.path),
            query: s.opt(req.request.query.as_deref()),
            remote_address: s.keep(&req.remote.to_string()),
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
            is_tls: req.tls.is_some(),
            peer_certificate: peer.as_ref().map_or(ptr::null(), |p| &p.cert),
        };
        let mut d = wss_accept_decision {
            status: 0,
            subprotocol_index: -1,
        };
        let mut ok = false;
        self.call(|| {
            f(*user_data, &view, &mut d);
            ok = true;
        });
        if !ok {
            return AcceptDecision::Reject {
                status: 500,
                reason: "Internal Server Error".into(),
            };
        }
        match d.status {
            0 | 101 | 200 => {
                let subprotocol = match d.subprotocol_index {
                    -1 => None,
                    i if i >= 0 && (i as usize) < req.subprotocols.len() => {
                        Some(req.subprotocols[i as usize].clone())
                    }
                    i => {
                        let e = Error::invalid(format!(
                            "on_accept chose subprotocol_index {i} but the client offered {}",
                            req.subprotocols.len()
                        ))
                        .with_peer(Some(req.remote));
                        if let Some(f) = cb.on_error {
                            let c = CError::new(&e);
                            self.call(|| f(*user_data, 0, &c.info));
                        }
                        return AcceptDecision::Reject {
                            status: 500,
                            reason: "Internal Server Error".into(),
                        };
                    }
                };
                AcceptDecision::Accept {
                    subprotocol,
                    headers: Vec::new(),
                }
            }
            s @ 400..=599 => AcceptDecision::Reject {
                status: s,
                reason: String::new(),
            },
            _ => AcceptDecision::Reject {
                status: 500,
                reason: "Internal Server Error".into(),
            },
        }
    }

    fn on_open(&self, conn: &Connection) {
        let id = conn.id();
        self.emit(
            |cb, ud| {
                if let Some(f) = cb.on_open {
                    f(ud, id)
                }
            },
            || Pulled::Open(id),
        );
    }

    fn on_message_owned(&self, conn: &Connection, kind: MessageKind, data: Bytes) {
        let id = conn.id();
        // Exactly one of the two closures runs; both can reach the payload through the cell.
        let data = std::cell::Cell::new(data);
        self.emit(
            |cb, ud| {
                let data = data.take();
                if let Some(f) = cb.on_message {
                    f(
                        ud,
                        id,
                        kind as i32,
                        if data.is_empty() {
                            ptr::null()
                        } else {
                            data.as_ptr()
                        },
                        data.len(),
                    )
                }
            },
            || Pulled::Message(id, kind, kept(data.take())),
        );
    }

    fn on_pong(&self, conn: &Connection, data: &[u8]) {
        let id = conn.id();
        self.emit(
            |cb, ud| {
                if let Some(f) = cb.on_pong {
                    f(
                        ud,
                        id,
                        if data.is_empty() {
                            ptr::null()
                        } else {
                            data.as_ptr()
                        },
                        data.len(),
                    )
                }
            },
            || Pulled::Pong(id, Bytes::copy_from_slice(data)),
        );
    }

    fn on_close(&self, conn: &Connection, code: u16, reason: &str) {
        let id = conn.id();
        self.emit(
            |cb, ud| {
                if let Some(f) = cb.on_close {
                    let mut s = Strings::default();
                    f(ud, id, code, s.keep(reason))
                }
            },
            || Pulled::Close(id, code, reason.to_string()),
        );
        if let (true, Sink::Pull(q)) = (self.ends_with_close, &self.sink) {
            q.end();
        }
    }

    fn on_error(&self, conn: Option<&Connection>, err: &Error) {
        let id = conn.map_or(0, |c| c.id());
        self.emit(
            |cb, ud| {
                if let Some(f) = cb.on_error {
                    let c = CError::new(err);
                    f(ud, id, &c.info)
                }
            },
            || Pulled::Error(id, err.clone()),
        );
    }
}

/// Build the sink for `callbacks` (NULL = pull mode).
pub(crate) fn sink(
    callbacks: *const wss_callbacks,
    user_data: *mut c_void,
    event_queue_limit: usize,
) -> (Sink, Option<std::sync::Arc<PullQueue>>) {
    // SAFETY: NULL or a valid struct, by contract; copied here.
    match unsafe { callbacks.as_ref() } {
        Some(cb) => (Sink::Callbacks { cb: *cb, user_data }, None),
        None => {
            let q = std::sync::Arc::new(PullQueue::new(event_queue_limit));
            (Sink::Pull(q.clone()), Some(q))
        }
    }
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
    use std::sync::Arc;

    /// Take one event with `timeout_ms`; the event's type and connection, or the error kind.
    fn take(
        q: &PullQueue,
        timeout_ms: u32,
    ) -> std::result::Result<(wss_event_type, u64), ErrorKind> {
        let mut ev = ptr::null_mut();
        match q.next(timeout_ms, &mut ev, false) {
            Ok(()) => {
                let got = unsafe { ((*ev).event_type, (*ev).conn) };
                unsafe { wss_event_free(ev) };
                Ok(got)
            }
            Err(e) => Err(e.kind),
        }
    }

    /// Yield until a taker sleeps in `next` (so the test exercises the wake-up, not a queue
    /// that already had the event when the taker looked).
    fn until_asleep(q: &PullQueue) {
        while q.state.lock().waiting == 0 {
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_sleeping_taker_is_woken_by_an_event_in_order() {
        let q = Arc::new(PullQueue::new(usize::MAX));
        let taker = {
            let q = q.clone();
            std::thread::spawn(move || (take(&q, 60_000), take(&q, 60_000)))
        };
        until_asleep(&q);
        q.push(Pulled::Open(7));
        q.push(Pulled::Open(8));
        let (a, b) = taker.join().unwrap();
        assert_eq!(a, Ok((WSS_EVENT_OPEN, 7)));
        assert_eq!(b, Ok((WSS_EVENT_OPEN, 8)));
    }

    #[test]
    fn ending_the_queue_wakes_every_taker_with_closed() {
        let q = Arc::new(PullQueue::new(usize::MAX));
        let takers: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || take(&q, 60_000))
            })
            .collect();
        while q.state.lock().waiting < 2 {
            std::thread::yield_now();
        }
        q.end();
        for t in takers {
            assert_eq!(t.join().unwrap(), Err(ErrorKind::Closed));
        }
        // Events queued before the end are still taken, then Closed at once.
        let q = PullQueue::new(usize::MAX);
        q.push(Pulled::Open(1));
        q.end();
        assert_eq!(take(&q, 60_000), Ok((WSS_EVENT_OPEN, 1)));
        assert_eq!(take(&q, 60_000), Err(ErrorKind::Closed));
    }

    #[test]
    fn an_empty_queue_times_out_after_the_wait() {
        let q = PullQueue::new(usize::MAX);
        assert_eq!(take(&q, 0), Err(ErrorKind::Timeout));
        let t0 = Instant::now();
        assert_eq!(take(&q, 30), Err(ErrorKind::Timeout));
        assert!(t0.elapsed() >= Duration::from_millis(30));
        assert_eq!(q.state.lock().waiting, 0);
    }

    #[test]
    fn queued_bytes_count_against_the_limit_until_taken() {
        let q = PullQueue::new(5000);
        assert!(q.has_room());
        q.push(Pulled::Message(
            1,
            MessageKind::Binary,
            Bytes::from(vec![1; 4000]),
        ));
        assert!(q.has_room(), "4,064 bytes queued, limit 5,000");
        q.push(Pulled::Message(
            1,
            MessageKind::Text,
            Bytes::from(vec![b'a'; 1000]),
        ));
        assert!(!q.has_room(), "5,128 bytes queued");
        assert_eq!(take(&q, 0), Ok((WSS_EVENT_MESSAGE, 1)));
        assert!(q.has_room());
        q.push(Pulled::Close(1, 1000, "bye".into()));
        assert_eq!(q.bytes.load(Ordering::Acquire), 1064 + 67);
        assert_eq!(take(&q, 0), Ok((WSS_EVENT_MESSAGE, 1)));
        assert_eq!(take(&q, 0), Ok((WSS_EVENT_CLOSE, 1)));
        assert_eq!(q.bytes.load(Ordering::Acquire), 0);
    }

    #[test]
    fn large_payloads_are_queued_without_a_copy() {
        let big = Bytes::from(vec![7u8; KEEP_FROM]);
        assert_eq!(kept(big.clone()).as_ptr(), big.as_ptr());
        let small = Bytes::from(vec![7u8; KEEP_FROM - 1]);
        let copy = kept(small.clone());
        assert_ne!(copy.as_ptr(), small.as_ptr());
        assert_eq!(copy, small);
        // The event points at the kept bytes and owns them until freed.
        let ev = boxed(Pulled::Message(3, MessageKind::Binary, big.clone()));
        unsafe {
            assert_eq!((*ev).data, big.as_ptr());
            assert_eq!((*ev).len, KEEP_FROM);
            wss_event_free(ev);
        }
    }
}
