//! A WebSocket connection as hosts see it: a cheap handle named by a process-unique `u64` id,
//! usable from any thread. Sends are queued to the connection's I/O thread (bounded queue with a
//! backpressure error); a stale id or handle is answered with `NotConnected`, never a crash.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use once_cell::sync::{Lazy, OnceCell};
use parking_lot::{Condvar, Mutex, RwLock};

use crate::client::RuntimeLease;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::{Handler, MessageKind};
use crate::io::{Cmd, WorkerHandle};
use crate::pull::UserData;
use crate::tls::TlsInfo;
use crate::ws::deflate::DeflateParams;
use crate::ws::{direct, OutKind, Outgoing};

/// Close codes a host may send (RFC 6455 section 7.4).
pub mod close_code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// Endpoint going away (server shutdown).
    pub const GOING_AWAY: u16 = 1001;
    /// Protocol error.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// Data type not accepted.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// No status code was present (never sent on the wire).
    pub const NO_STATUS: u16 = 1005;
    /// Closed without a close frame (never sent on the wire).
    pub const ABNORMAL: u16 = 1006;
    /// Invalid payload data (e.g. bad UTF-8 in a text message).
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// Policy violation.
    pub const POLICY: u16 = 1008;
    /// Message too big.
    pub const TOO_BIG: u16 = 1009;
    /// Internal server error.
    pub const INTERNAL: u16 = 1011;
}

/// Whether `code` may be sent in a close frame.
pub fn close_code_sendable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

/// Facts about a connection, fixed when it opens.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Process-unique id.
    pub id: u64,
    /// The peer's address.
    pub remote: SocketAddr,
    /// Request path (server: as requested; client: as sent).
    pub path: String,
    /// Negotiated subprotocol, if any.
    pub subprotocol: Option<String>,
    /// TLS facts; `None` on plain ws.
    pub tls: Option<TlsInfo>,
    /// True for the client side of a connection.
    pub is_client: bool,
    /// permessage-deflate as negotiated at the upgrade; `None`: messages go uncompressed.
    pub deflate: Option<DeflateParams>,
    /// Clients: every header of the server's 101 response, in order (names as sent, values
    /// trimmed). Empty on servers, whose host sees the request in `on_accept`.
    pub response_headers: Vec<(String, String)>,
}

impl ConnInfo {
    /// Clients: the first 101 response header called `name` (any case), if the server sent one.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.response_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where a connection is, as host threads see it (`Link::lifecycle`). The I/O thread's own
/// state machine (src/io/worker) has the detail; this is the part a host call must check.
const CONNECTING: u8 = 0;
const OPEN: u8 = 1;
const CLOSING: u8 = 2;
const CLOSED: u8 = 3;

/// What the host's [`Connection`] handles and the connection's I/O thread share.
pub(crate) struct Link {
    /// Process-unique id (also in `info`).
    pub id: u64,
    /// Facts fixed at open (set at creation, or when a non-blocking client connect opens).
    info: OnceCell<ConnInfo>,
    /// What is known while a non-blocking client connect is under way (see `Connection::info`).
    provisional: Option<Box<ConnInfo>>,
    /// Why a non-blocking client connect failed, for `Connection::wait_open`.
    failure: Mutex<Option<Error>>,
    pub worker: Arc<WorkerHandle>,
    /// The connection's handler, also told about sends that raced with the end.
    pub handler: Arc<dyn Handler>,
    /// Slab key on the worker (set by the worker when it takes the connection).
    pub key: AtomicUsize,
    /// Bytes queued or written into the protocol buffer but not yet handed to the socket.
    pub buffered: AtomicUsize,
    pub queue_limit: usize,
    /// The host paused reading (`Connection::pause_reading`).
    pub host_paused: AtomicBool,
    /// A send was refused for backpressure since the queue was last down to half its limit
    /// (reading pauses meanwhile: `io::worker::pausing`).
    pub refused: AtomicBool,
    /// `CONNECTING` → `OPEN` → `CLOSING` → `CLOSED` (any step may be skipped, none undone);
    /// written only through the methods below.
    lifecycle: AtomicU8,
    /// Close result once closed, for `wait_closed`.
    pub closed: Mutex<Option<(u16, String)>>,
    pub closed_cv: Condvar,
    /// The host's data for this connection (`Connection::set_user_data`): the worker lets go of
    /// it after the connection's last callback (`release_user_data`).
    user_data: Mutex<Option<UserData>>,
    /// `user_data` was ever set (lets the per-message paths skip the lock when it never was).
    has_user_data: AtomicBool,
    /// Client connections: the shared client runtime stays up while a lease lives.
    _lease: Option<RuntimeLease>,
}

impl Link {
    /// An open connection.
    pub(crate) fn new(
        info: ConnInfo,
        worker: Arc<WorkerHandle>,
        handler: Arc<dyn Handler>,
        key: usize,
        queue_limit: usize,
    ) -> Arc<Self> {
        let id = info.id;
        let facts = (OnceCell::with_value(info), None);
        Self::with(id, facts, worker, handler, key, queue_limit, OPEN, None)
    }

    /// A client connection whose handshake is still to run (`Client::connect_async`); `lease`
    /// keeps the shared client I/O threads running while the connection lives.
    pub(crate) fn connecting(
        provisional: ConnInfo,
        worker: Arc<WorkerHandle>,
        handler: Arc<dyn Handler>,
        queue_limit: usize,
        lease: RuntimeLease,
    ) -> Arc<Self> {
        let id = provisional.id;
        let facts = (OnceCell::new(), Some(Box::new(provisional)));
        let (key, state) = (usize::MAX, CONNECTING);
        Self::with(
            id,
            facts,
            worker,
            handler,
            key,
            queue_limit,
            state,
            Some(lease),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn with(
        id: u64,
        (info, provisional): (OnceCell<ConnInfo>, Option<Box<ConnInfo>>),
        worker: Arc<WorkerHandle>,
        handler: Arc<dyn Handler>,
        key: usize,
        queue_limit: usize,
        lifecycle: u8,
        lease: Option<RuntimeLease>,
    ) -> Arc<Self> {
        Arc::new(Link {
            _lease: lease,
            id,
            info,
            provisional,
            failure: Mutex::new(None),
            worker,
            handler,
            key: AtomicUsize::new(key),
            buffered: AtomicUsize::new(0),
            queue_limit,
            host_paused: AtomicBool::new(false),
            refused: AtomicBool::new(false),
            lifecycle: AtomicU8::new(lifecycle),
            closed: Mutex::new(None),
            closed_cv: Condvar::new(),
            user_data: Mutex::new(None),
            has_user_data: AtomicBool::new(false),
        })
    }

    /// Facts about the connection: final once open, provisional before.
    pub(crate) fn info(&self) -> &ConnInfo {
        match (self.info.get(), &self.provisional) {
            (Some(info), _) => info,
            (None, Some(p)) => p,
            (None, None) => &UNKNOWN,
        }
    }

    /// Whether a non-blocking client connect is still under way.
    pub(crate) fn is_connecting(&self) -> bool {
        self.lifecycle.load(Ordering::Acquire) == CONNECTING
    }

    /// The handshake of a non-blocking client connect is done: publish the facts and accept
    /// sends from now on; wake `wait_open`.
    pub(crate) fn mark_open(&self, info: ConnInfo) {
        let _ = self.info.set(info);
        let _g = self.closed.lock();
        let _ =
            self.lifecycle
                .compare_exchange(CONNECTING, OPEN, Ordering::AcqRel, Ordering::Acquire);
        self.closed_cv.notify_all();
    }

    /// The connection's last callback has run: drop our reference to the host's data (events
    /// that still hold one keep it until they are dropped).
    pub(crate) fn release_user_data(&self) {
        let data = self.user_data.lock().take();
        drop(data);
    }

    /// A non-blocking client connect failed with `err` (kept for `wait_open`).
    pub(crate) fn record_failure(&self, err: &Error) {
        *self.failure.lock() = Some(err.clone());
    }

    /// Whether sends are accepted.
    pub(crate) fn is_open(&self) -> bool {
        self.lifecycle.load(Ordering::Acquire) == OPEN
    }

    /// Whether the connection has ended (closed, or failed before it opened).
    pub(crate) fn has_ended(&self) -> bool {
        self.lifecycle.load(Ordering::Acquire) == CLOSED
    }

    /// The host asks to close: true if it was open (this call owns the close).
    pub(crate) fn start_close(&self) -> bool {
        self.lifecycle
            .compare_exchange(OPEN, CLOSING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The I/O thread starts closing (peer's close, server shutdown): no more sends.
    pub(crate) fn stop_sending(&self) {
        let _ = self
            .lifecycle
            .compare_exchange(OPEN, CLOSING, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The connection is ending (its last callbacks are about to run): no more sends or
    /// resumes. `mark_closed` follows.
    pub(crate) fn mark_ending(&self) {
        self.lifecycle.store(CLOSED, Ordering::Release);
    }

    /// Record the end (and the close result for `wait_closed`) and wake waiters.
    pub(crate) fn mark_closed(&self, code: u16, reason: &str) {
        let mut g = self.closed.lock();
        self.lifecycle.store(CLOSED, Ordering::Release);
        *g = Some((code, reason.to_string()));
        drop(g);
        self.closed_cv.notify_all();
    }
}

/// A handle to one WebSocket connection. Cheap to clone; all methods are thread-safe and may be
/// called from inside handler callbacks.
#[derive(Clone)]
pub struct Connection {
    pub(crate) shared: Arc<Link>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Connection({}, {})",
            self.shared.id,
            self.shared.info().remote
        )
    }
}

impl Connection {
    /// The process-unique id.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// Facts fixed at open: peer, path, subprotocol, TLS session and peer certificate. While a
    /// non-blocking client connect ([`crate::Client::connect_async`]) is under way only `id`,
    /// `path` and `is_client` are meaningful (`remote` is the unspecified address); the full
    /// facts are in place before `on_open` runs.
    pub fn info(&self) -> &ConnInfo {
        self.shared.info()
    }

    /// Attach the host's data to this connection, once (e.g. in `on_open`): a session object
    /// instead of an id-to-session map. The library drops its reference after the connection's
    /// last callback (`on_close`, or the error of a connect that failed); pull-mode events hold
    /// their own. `InvalidState` if already set or the connection has ended.
    pub fn set_user_data(&self, data: UserData) -> Result<()> {
        self.try_set_user_data(data).map_err(|_| {
            Error::new(
                ErrorKind::InvalidState,
                format!("connection {} already has user data", self.id()),
            )
        })
    }

    /// [`set_user_data`](Connection::set_user_data) that hands `data` back when it is already set.
    pub fn try_set_user_data(&self, data: UserData) -> std::result::Result<(), UserData> {
        let mut slot = self.shared.user_data.lock();
        if slot.is_some() || self.shared.has_ended() {
            return Err(data);
        }
        *slot = Some(data);
        self.shared.has_user_data.store(true, Ordering::Release);
        Ok(())
    }

    /// The data attached with [`set_user_data`](Connection::set_user_data), if any (none once
    /// the connection's last callback has run).
    pub fn user_data(&self) -> Option<UserData> {
        if !self.shared.has_user_data.load(Ordering::Acquire) {
            return None;
        }
        self.shared.user_data.lock().clone()
    }

    /// Whether the connection is open for sending.
    pub fn is_open(&self) -> bool {
        self.shared.is_open()
    }

    /// Bytes queued for sending and not yet handed to the socket.
    pub fn buffered_amount(&self) -> usize {
        self.shared.buffered.load(Ordering::Acquire)
    }

    /// Queue a text message.
    pub fn send_text(&self, text: &str) -> Result<()> {
        self.enqueue(text.len(), || {
            out(OutKind::Text, direct::payload(text.as_bytes()))
        })
    }

    /// Queue a binary message.
    pub fn send_binary(&self, data: &[u8]) -> Result<()> {
        self.enqueue(data.len(), || out(OutKind::Binary, direct::payload(data)))
    }

    /// Queue a message of `kind`; text must be valid UTF-8.
    pub fn send(&self, kind: MessageKind, data: &[u8]) -> Result<()> {
        match kind {
            MessageKind::Binary => self.send_binary(data),
            MessageKind::Text => {
                let text = std::str::from_utf8(data)
                    .map_err(|e| Error::invalid(format!("text message is not valid UTF-8: {e}")))?;
                self.send_text(text)
            }
        }
    }

    /// Queue a message of `kind` that goes uncompressed even where permessage-deflate was
    /// negotiated: data already compressed, or secrets next to attacker-chosen text (which a
    /// shared compressor would let an observer guess from the sizes, as in CRIME/BREACH).
    /// Text must be valid UTF-8. Without compression it is [`Connection::send`].
    pub fn send_uncompressed(&self, kind: MessageKind, data: &[u8]) -> Result<()> {
        let kind = match kind {
            MessageKind::Binary => OutKind::Binary,
            MessageKind::Text => {
                std::str::from_utf8(data)
                    .map_err(|e| Error::invalid(format!("text message is not valid UTF-8: {e}")))?;
                OutKind::Text
            }
        };
        self.enqueue(data.len(), || Outgoing {
            kind,
            payload: direct::payload(data),
            compress: false,
        })
    }

    /// Queue a ping (payload at most 125 bytes); the answer arrives as `on_pong`.
    pub fn ping(&self, payload: &[u8]) -> Result<()> {
        if payload.len() > 125 {
            return Err(Error::invalid("ping payload must be at most 125 bytes"));
        }
        self.enqueue(payload.len(), || {
            out(OutKind::Ping, bytes::Bytes::copy_from_slice(payload))
        })
    }

    /// Stop reading this connection's input (TCP backpressure on the peer) until
    /// [`resume_reading`](Self::resume_reading). Takes effect before the next message is read;
    /// a message being delivered still arrives. Keepalive does not count a paused connection's
    /// silence; a closing connection reads on (its close handshake must complete).
    pub fn pause_reading(&self) {
        self.shared.host_paused.store(true, Ordering::Release);
    }

    /// Read again: undoes [`pause_reading`](Self::pause_reading), and if reading is paused
    /// because the handler's `wants_messages` said no, asks again now (instead of waiting for
    /// the library's next, growing, retry). No effect on a connection that is not paused or has
    /// ended. Reading paused because the send queue is over its limit resumes by itself once
    /// the queue has drained to half.
    pub fn resume_reading(&self) {
        self.shared.host_paused.store(false, Ordering::Release);
        self.ask_again();
    }

    /// Have a connection paused by its handler's `wants_messages` ask again now (a host pause
    /// stays: the pull queue calls this as the host catches up).
    pub(crate) fn ask_again(&self) {
        if !self.shared.has_ended() {
            self.shared.worker.submit(Cmd::Resume {
                conn: self.shared.clone(),
            });
        }
    }

    /// Start the closing handshake after everything queued so far is sent. `reason` at most 123
    /// bytes. Returns at once; `on_close` follows.
    pub fn close(&self, code: u16, reason: &str) -> Result<()> {
        if !close_code_sendable(code) {
            return Err(Error::invalid(format!(
                "close code {code} may not be sent (use 1000-1003, 1007-1011 or 3000-4999)"
            )));
        }
        if reason.len() > 123 {
            return Err(Error::invalid("close reason must be at most 123 bytes"));
        }
        if !self.shared.start_close() {
            return Err(self.not_connected());
        }
        self.shared.worker.submit(Cmd::Close {
            conn: self.shared.clone(),
            code,
            reason: reason.to_string(),
        });
        Ok(())
    }

    /// Block until a connection made by [`crate::Client::connect_async`] is open (`Ok`, also
    /// if it has closed again since), has failed (the error `on_error` got), or `timeout`
    /// passes (`Timeout`). Returns at once for every other connection. While the connect is
    /// under way it cannot be awaited from a callback on the I/O thread that runs it
    /// (`InvalidState`).
    pub fn wait_open(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut g = self.shared.closed.lock();
        while self.shared.is_connecting() {
            if self.shared.worker.is_current() {
                return Err(Error::new(
                    ErrorKind::InvalidState,
                    "cannot wait for a connect from a callback on the I/O thread that runs it",
                ));
            }
            if self
                .shared
                .closed_cv
                .wait_until(&mut g, deadline)
                .timed_out()
            {
                if !self.shared.is_connecting() {
                    break;
                }
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("connection {} did not open in time", self.id()),
                ));
            }
        }
        drop(g);
        match self.shared.failure.lock().clone() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// Block until the connection has closed, up to `timeout`. Returns the close code and reason.
    pub fn wait_closed(&self, timeout: Duration) -> Option<(u16, String)> {
        let deadline = Instant::now() + timeout;
        let mut g = self.shared.closed.lock();
        while g.is_none() {
            if self
                .shared
                .closed_cv
                .wait_until(&mut g, deadline)
                .timed_out()
            {
                break;
            }
        }
        g.clone()
    }

    fn not_connected(&self) -> Error {
        Error::new(
            ErrorKind::NotConnected,
            format!("connection {} is closed", self.id()),
        )
        .with_peer(Some(self.shared.info().remote))
    }

    /// Reserve `len` bytes of the send queue, then queue the message `make` copies.
    fn enqueue(&self, len: usize, make: impl FnOnce() -> Outgoing) -> Result<()> {
        let s = &self.shared;
        if !s.is_open() {
            return Err(self.not_connected());
        }
        let before = s.buffered.fetch_add(len, Ordering::AcqRel);
        if before > 0 && before + len > s.queue_limit {
            s.buffered.fetch_sub(len, Ordering::AcqRel);
            s.refused.store(true, Ordering::Release);
            return Err(Error::new(
                ErrorKind::Backpressure,
                format!(
                    "send queue of connection {} is full ({before} bytes buffered, limit {})",
                    self.id(),
                    s.queue_limit
                ),
            ));
        }
        s.worker.submit(Cmd::Send {
            conn: s.clone(),
            msg: make(),
            len,
        });
        Ok(())
    }
}

/// A message to queue, which the negotiated extension may encode.
fn out(kind: OutKind, payload: bytes::Bytes) -> Outgoing {
    Outgoing {
        kind,
        payload,
        compress: true,
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh process-unique connection id.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// `Link::info` of a link built with neither final nor provisional facts (never happens).
static UNKNOWN: Lazy<ConnInfo> = Lazy::new(|| ConnInfo {
    id: 0,
    remote: SocketAddr::from(([0, 0, 0, 0], 0)),
    path: String::new(),
    subprotocol: None,
    tls: None,
    is_client: false,
    deflate: None,
    response_headers: Vec::new(),
});

const SHARDS: usize = 16;
type Shard = RwLock<HashMap<u64, Arc<Link>>>;
static REGISTRY: Lazy<Vec<Shard>> =
    Lazy::new(|| (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect());

fn shard(id: u64) -> &'static Shard {
    &REGISTRY[(id as usize) % SHARDS]
}

pub(crate) fn register(conn: &Arc<Link>) {
    shard(conn.id).write().insert(conn.id, conn.clone());
}

pub(crate) fn unregister(id: u64) {
    shard(id).write().remove(&id);
}

/// Look up an open connection by id (as the C ABI does). `None` once it has closed.
pub fn connection(id: u64) -> Option<Connection> {
    shard(id)
        .read()
        .get(&id)
        .map(|s| Connection { shared: s.clone() })
}
