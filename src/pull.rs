//! Pull mode: a [`Handler`] that queues events for a host thread to take with
//! [`EventQueue::next`], instead of running host code on the I/O threads (GUI loops, game loops,
//! .NET hosts without reverse P/Invoke, the C ABI's `wss_*_next_event`).
//!
//! The queue is bounded in bytes: above its limit, connections stop reading (their peers' sends
//! back up through TCP instead of into memory) and resume once the host has taken the queue down
//! to half the limit.

use std::any::Any;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use crate::conn::Connection;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{AcceptDecision, Handler, MessageKind, UpgradeRequest};
use crate::http::Request;
use crate::tls::TlsInfo;

/// Host data attached to a connection (`Connection::set_user_data`), shared by its events.
pub type UserData = Arc<dyn Any + Send + Sync>;

/// One event taken from an [`EventQueue`].
#[derive(Clone)]
pub struct Event {
    /// The connection's id; 0 for errors that happened before a connection opened (TLS or HTTP
    /// handshake failures, timeouts), whose `peer` names the remote.
    pub conn: u64,
    /// The connection's user data as it was when the event was queued (see
    /// `Connection::set_user_data`); it stays alive while the event does.
    pub user_data: Option<UserData>,
    /// What happened.
    pub kind: EventKind,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("conn", &self.conn)
            .field("kind", &self.kind)
            .finish()
    }
}

/// What an [`Event`] reports.
#[derive(Debug, Clone)]
pub enum EventKind {
    /// The connection opened.
    Open,
    /// A complete message arrived.
    Message(MessageKind, Bytes),
    /// A pong arrived (answer to our ping).
    Pong(Bytes),
    /// The connection closed (code 1006: without a close handshake); its last event.
    Close(u16, String),
    /// Something failed.
    Error(Error),
    /// An upgrade request waits for the host's decision (`Server::decide` with its `id`, before
    /// the handshake timeout, or it is refused with 503). Only from queues made
    /// [`with_accept_events`](EventQueue::with_accept_events).
    Accept(Box<AcceptRequest>),
}

/// An upgrade request as a pull-mode host decides it (an owned copy of [`UpgradeRequest`]).
#[derive(Debug, Clone)]
pub struct AcceptRequest {
    /// The id the connection will have; pass it to `Server::decide`.
    pub id: u64,
    /// The parsed HTTP request (path, query, headers).
    pub request: Request,
    /// Subprotocols the client offered, in its order.
    pub subprotocols: Vec<String>,
    /// The client's address.
    pub remote: std::net::SocketAddr,
    /// TLS session facts and the client certificate; `None` on ws://.
    pub tls: Option<TlsInfo>,
}

impl AcceptRequest {
    fn new(req: &UpgradeRequest<'_>) -> Self {
        AcceptRequest {
            id: req.id,
            request: req.request.clone(),
            subprotocols: req.subprotocols.clone(),
            remote: req.remote,
            tls: req.tls.cloned(),
        }
    }

    /// Bytes this request holds (for the queue bound).
    fn size(&self) -> usize {
        self.request.path.len()
            + self.request.query.as_ref().map_or(0, String::len)
            + self
                .request
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }
}

/// Payloads from this size on are queued as received; smaller ones are copied, so that a queued
/// event does not keep the connection's larger read buffer alive.
const KEEP_FROM: usize = 4096;

/// Bookkeeping cost counted for every queued event besides its payload.
const EVENT_COST: usize = 64;

impl Event {
    /// What this event counts against the queue limit.
    fn cost(&self) -> usize {
        EVENT_COST
            + match &self.kind {
                EventKind::Message(_, b) | EventKind::Pong(b) => b.len(),
                EventKind::Close(_, r) => r.len(),
                EventKind::Accept(a) => a.size(),
                EventKind::Open | EventKind::Error(_) => 0,
            }
    }
}

/// The payload as an event keeps it: the received buffer itself when large (no copy).
fn kept(data: Bytes) -> Bytes {
    if data.len() >= KEEP_FROM {
        data
    } else {
        Bytes::copy_from_slice(&data)
    }
}

#[derive(Default)]
struct State {
    events: VecDeque<Event>,
    /// No more events will come: takers return at once once the queue is empty.
    ended: bool,
    /// Takers asleep in `next` (tests wait for one before waking it).
    waiting: usize,
}

/// A pull-mode event queue; use it (in an `Arc`) as the handler of a server, route or client and
/// take events with [`next`](EventQueue::next) on any thread. A taker that finds it empty sleeps
/// at once (no spinning), a producer wakes one sleeper.
pub struct EventQueue {
    state: Mutex<State>,
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
    /// A client's queue: its one connection's close is the last event, so the queue ends there
    /// (or at the error of a connect that failed: no close follows a connection never opened).
    ends_with_close: bool,
    /// A client's connection opened (so an error is not the end of a failed connect).
    opened: AtomicBool,
    /// Upgrade requests are queued for the host to decide (`EventKind::Accept`).
    accept_events: AtomicBool,
}

impl std::fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EventQueue({} bytes queued, limit {})",
            self.bytes.load(Ordering::Relaxed),
            self.limit
        )
    }
}

impl EventQueue {
    /// A queue for a server or route: while more than `limit` bytes of events (payloads plus 64
    /// per event) wait to be taken, its connections stop reading. One message larger than the
    /// limit still gets through.
    pub fn new(limit: usize) -> Arc<EventQueue> {
        Arc::new(Self::with(limit, false))
    }

    /// A queue for one client connection: it ends after that connection's close event.
    pub fn for_client(limit: usize) -> Arc<EventQueue> {
        Arc::new(Self::with(limit, true))
    }

    fn with(limit: usize, ends_with_close: bool) -> EventQueue {
        EventQueue {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            bytes: AtomicUsize::new(0),
            limit,
            parked: Mutex::new(HashSet::new()),
            any_parked: AtomicBool::new(false),
            ends_with_close,
            opened: AtomicBool::new(false),
            accept_events: AtomicBool::new(false),
        }
    }

    /// Queue upgrade requests as [`EventKind::Accept`] events for the host to decide with
    /// `Server::decide` (servers only; set before the server starts). Without it every request
    /// is accepted without a subprotocol.
    pub fn with_accept_events(self: Arc<Self>) -> Arc<Self> {
        self.accept_events.store(true, Ordering::Release);
        self
    }

    fn push(&self, ev: Event) {
        self.bytes.fetch_add(ev.cost(), Ordering::SeqCst);
        self.state.lock().events.push_back(ev);
        self.ready.notify_one();
    }

    fn push_for(&self, conn: &Connection, kind: EventKind) {
        self.push(Event {
            conn: conn.id(),
            user_data: conn.user_data(),
            kind,
        });
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
            conn.ask_again();
        }
    }

    /// No more events will come: wake every waiting taker (they return `Closed` once the queue
    /// is empty). Servers end their queue on shutdown; the C ABI also on free.
    pub fn end(&self) {
        self.state.lock().ended = true;
        self.ready.notify_all();
    }

    /// Whether the queue has ended and every event was taken.
    pub fn is_finished(&self) -> bool {
        let st = self.state.lock();
        st.ended && st.events.is_empty()
    }

    /// Take the next event, waiting up to `timeout` (zero: do not wait). `Timeout` when none
    /// arrived; `Closed` when the queue has ended and is empty (a taker waiting then returns at
    /// once).
    pub fn next(&self, timeout: Duration) -> Result<Event> {
        let (got, ended) = {
            let mut st = self.state.lock();
            if !timeout.is_zero() {
                let deadline = Instant::now().checked_add(timeout);
                st.waiting += 1;
                while st.events.is_empty() && !st.ended {
                    match deadline {
                        Some(d) => {
                            if self.ready.wait_until(&mut st, d).timed_out() {
                                break;
                            }
                        }
                        None => self.ready.wait(&mut st),
                    }
                }
                st.waiting -= 1;
            }
            (st.events.pop_front(), st.ended)
        };
        match got {
            Some(ev) => {
                self.bytes.fetch_sub(ev.cost(), Ordering::SeqCst);
                self.unpark();
                Ok(ev)
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

impl Handler for EventQueue {
    fn on_accept(&self, req: &UpgradeRequest<'_>) -> AcceptDecision {
        if !self.accept_events.load(Ordering::Acquire) {
            return AcceptDecision::accept();
        }
        self.push(Event {
            conn: req.id,
            user_data: None,
            kind: EventKind::Accept(Box::new(AcceptRequest::new(req))),
        });
        AcceptDecision::Defer
    }

    fn wants_messages(&self, conn: &Connection) -> bool {
        self.admit(conn)
    }

    fn on_open(&self, conn: &Connection) {
        self.opened.store(true, Ordering::Release);
        self.push_for(conn, EventKind::Open);
    }

    fn on_message_owned(&self, conn: &Connection, kind: MessageKind, data: Bytes) {
        self.push_for(conn, EventKind::Message(kind, kept(data)));
    }

    fn on_pong(&self, conn: &Connection, data: &[u8]) {
        self.push_for(conn, EventKind::Pong(Bytes::copy_from_slice(data)));
    }

    fn on_close(&self, conn: &Connection, code: u16, reason: &str) {
        self.push_for(conn, EventKind::Close(code, reason.to_string()));
        if self.ends_with_close {
            self.end();
        }
    }

    fn on_error(&self, conn: Option<&Connection>, err: &Error) {
        match conn {
            Some(c) => {
                self.push_for(c, EventKind::Error(err.clone()));
                if self.ends_with_close && !self.opened.load(Ordering::Acquire) {
                    self.end(); // a client's connect failed: nothing follows
                }
            }
            None => self.push(Event {
                conn: 0,
                user_data: None,
                kind: EventKind::Error(err.clone()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(conn: u64, kind: EventKind) -> Event {
        Event {
            conn,
            user_data: None,
            kind,
        }
    }

    /// Take one event with `ms`; its connection and whether it was `Open`, or the error kind.
    fn take(q: &EventQueue, ms: u64) -> std::result::Result<u64, ErrorKind> {
        q.next(Duration::from_millis(ms))
            .map(|e| e.conn)
            .map_err(|e| e.kind)
    }

    /// Wait until `n` takers sleep in `next` (so the test exercises the wake-up, not a queue
    /// that already had the event when the taker looked).
    fn until_asleep(q: &EventQueue, n: usize) {
        loop {
            let st = q.state.lock();
            if st.waiting >= n {
                return;
            }
            drop(st);
            std::thread::park_timeout(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_sleeping_taker_is_woken_by_an_event_in_order() {
        let q = EventQueue::new(usize::MAX);
        let taker = {
            let q = q.clone();
            std::thread::spawn(move || (take(&q, 60_000), take(&q, 60_000)))
        };
        until_asleep(&q, 1);
        q.push(ev(7, EventKind::Open));
        q.push(ev(8, EventKind::Open));
        let (a, b) = taker.join().unwrap();
        assert_eq!(a, Ok(7));
        assert_eq!(b, Ok(8));
    }

    #[test]
    fn ending_the_queue_wakes_every_taker_with_closed() {
        let q = EventQueue::new(usize::MAX);
        let takers: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                std::thread::spawn(move || take(&q, 60_000))
            })
            .collect();
        until_asleep(&q, 2);
        q.end();
        for t in takers {
            assert_eq!(t.join().unwrap(), Err(ErrorKind::Closed));
        }
        // Events queued before the end are still taken, then Closed at once.
        let q = EventQueue::new(usize::MAX);
        q.push(ev(1, EventKind::Open));
        q.end();
        assert!(!q.is_finished());
        assert_eq!(take(&q, 60_000), Ok(1));
        assert_eq!(take(&q, 60_000), Err(ErrorKind::Closed));
        assert!(q.is_finished());
    }

    #[test]
    fn an_empty_queue_times_out_after_the_wait() {
        let q = EventQueue::new(usize::MAX);
        assert_eq!(take(&q, 0), Err(ErrorKind::Timeout));
        let t0 = Instant::now();
        assert_eq!(take(&q, 30), Err(ErrorKind::Timeout));
        assert!(t0.elapsed() >= Duration::from_millis(30));
        assert_eq!(q.state.lock().waiting, 0);
    }

    #[test]
    fn queued_bytes_count_against_the_limit_until_taken() {
        let q = EventQueue::new(5000);
        assert!(q.has_room());
        q.push(ev(
            1,
            EventKind::Message(MessageKind::Binary, Bytes::from(vec![1; 4000])),
        ));
        assert!(q.has_room(), "4,064 bytes queued, limit 5,000");
        q.push(ev(
            1,
            EventKind::Message(MessageKind::Text, Bytes::from(vec![b'a'; 1000])),
        ));
        assert!(!q.has_room(), "5,128 bytes queued");
        assert_eq!(take(&q, 0), Ok(1));
        assert!(q.has_room());
        q.push(ev(1, EventKind::Close(1000, "bye".into())));
        assert_eq!(q.bytes.load(Ordering::Acquire), 1064 + 67);
        take(&q, 0).unwrap();
        take(&q, 0).unwrap();
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
    }
}
