//! One I/O thread: a mio poll loop driving the connections it owns through their phases
//! (TLS handshake, HTTP upgrade, open WebSocket, closing), their send queues and their timers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use openssl::ssl::{ErrorCode, Ssl, SslStream};
use slab::Slab;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

use super::direct::{DirectSend, DIRECT_MIN};
use super::{Cmd, Endpoint, WorkerShared, CURRENT, LISTENER, WAKER};
use crate::conn::{self, close_code, ConnInfo, ConnShared, Connection, CLOSED};
use crate::error::{Error, ErrorKind};
use crate::handler::{AcceptDecision, Handler, MessageKind, UpgradeRequest};
use crate::http::{self, Parsed, Refusal};
use crate::stream::{Stream, Tcp};
use crate::tls::{self, verify};

/// Messages read from one connection before others get a turn.
const READ_BUDGET: usize = 64;
/// A connection whose handler wants no messages (`Handler::wants_messages`) asks again after
/// this, then after twice as long each time it is still refused, up to `PAUSE_RETRY_MAX`.
/// `Connection::resume_reading` (the pull queue calls it as the host catches up) asks at once.
const PAUSE_RETRY_MIN: Duration = Duration::from_millis(2);
const PAUSE_RETRY_MAX: Duration = Duration::from_secs(1);
/// Bytes read per call while collecting an HTTP request head.
const HEAD_CHUNK: usize = 2048;
/// How long a refused connection is drained before it is closed.
const LINGER: Duration = Duration::from_secs(2);
/// Back-off after the process ran out of descriptors while accepting.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// A TLS connection that has moved this many messages since the last sweep (or since it opened,
/// while no sweeps run) keeps its record buffers between records; a kept one that moves none
/// between two sweeps releases them again.
const BUSY_MESSAGES: u32 = 16;
const BUFFER_SWEEP: Duration = Duration::from_secs(1);

/// What a connection's timer is for. Each connection has at most one armed timer of each
/// kind: arming again moves it, and an entry whose kind is no longer armed at that instant (its
/// state ended, or it was re-armed) is ignored when it comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    /// TLS + HTTP upgrade must finish by then (slowloris); ends when the connection opens.
    Handshake,
    /// A refused connection is drained until then.
    Linger,
    /// Our close must go out (or the peer's close arrive, or our reply be written) by then.
    Close,
    /// Next keepalive check: send a ping, or give up on an unanswered one.
    Keepalive,
    /// A paused connection asks its handler again.
    Resume,
}

const TIMER_KINDS: usize = 5;

/// What is queued for the wire.
enum Out {
    Msg(Message, usize),
    Close(CloseCode, String),
}

/// Where a connection is in its life.
enum Phase {
    /// Server: TLS handshake in progress.
    Tls(Box<SslStream<Tcp>>),
    /// Server: collecting the HTTP upgrade request.
    Request { stream: Stream, buf: Vec<u8> },
    /// Server: writing the HTTP answer; then open (`Some`) or close (`None`).
    Response {
        stream: Stream,
        out: Vec<u8>,
        pos: usize,
        open: Option<Box<PendingOpen>>,
    },
    /// WebSocket open (or closing).
    Open(Box<WebSocket<Stream>>),
    /// Server: refused or failed handshake. Our answer (HTTP response or TLS alert) is out and
    /// our side is shut down; unread input is drained until the peer closes or `LINGER` passes,
    /// because closing with unread data would send a TCP reset that can destroy the answer
    /// before the peer reads it.
    Drain(Stream),
    /// Transient placeholder while a phase is being replaced.
    Gone,
}

impl Phase {
    /// The socket wrapper of any phase that has one.
    fn tcp(&mut self) -> Option<&mut Tcp> {
        match self {
            Phase::Tls(s) => Some(s.get_mut()),
            Phase::Request { stream, .. }
            | Phase::Response { stream, .. }
            | Phase::Drain(stream) => Some(stream.inner()),
            Phase::Open(ws) => Some(ws.get_mut().inner()),
            Phase::Gone => None,
        }
    }
}

/// What the server needs to open the WebSocket after the 101 response is written.
struct PendingOpen {
    leftover: Vec<u8>,
    handler: Arc<dyn Handler>,
    info: ConnInfo,
}

struct Conn {
    id: u64,
    peer: SocketAddr,
    ep: Arc<Endpoint>,
    phase: Phase,
    conn: Option<Connection>,
    queue: VecDeque<Out>,
    /// Bytes handed to tungstenite since the last complete flush.
    unflushed: usize,
    /// A large message being written around tungstenite; everything else waits for it.
    direct: Option<Box<DirectSend>>,
    /// When each kind of timer is due (`None`: not armed); see `TimerKind`.
    timers: [Option<Instant>; TIMER_KINDS],
    last_rx: Instant,
    ping_sent: Option<Instant>,
    close_sent: Option<u16>,
    /// Reason we sent with our close frame.
    close_reason: String,
    /// The peer closed and our reply is still being written: how the connection ends once it is.
    reply_pending: Option<End>,
    /// Counted in the server's active connections.
    counted: bool,
    dirty: bool,
    /// Messages read or written since the last buffer sweep.
    msgs: u32,
    /// Keeps its TLS record buffers (busy; see `tls::keep_buffers`).
    kept: bool,
    /// Reading is paused: the handler wanted no messages when last asked.
    paused: bool,
    /// When a paused connection asks its handler again.
    pause_retry: Option<Instant>,
    /// Wait before the next retry (doubles while refused; reset when reading proceeds).
    pause_backoff: Duration,
    /// Data messages (and their bytes) read and dropped while closing because the handler
    /// wanted no more: reported when the connection ends.
    discarded: (usize, usize),
    /// Our close is queued behind data not yet written: the socket's byte count when the close
    /// deadline was last (re)armed. The close may take longer than `close_timeout` only while
    /// bytes keep moving.
    close_written: Option<u64>,
}

impl Conn {
    fn new(
        id: u64,
        peer: SocketAddr,
        ep: Arc<Endpoint>,
        phase: Phase,
        conn: Option<Connection>,
        counted: bool,
        now: Instant,
    ) -> Self {
        Conn {
            id,
            peer,
            ep,
            phase,
            conn,
            queue: VecDeque::new(),
            unflushed: 0,
            direct: None,
            timers: [None; TIMER_KINDS],
            last_rx: now,
            ping_sent: None,
            close_sent: None,
            close_reason: String::new(),
            reply_pending: None,
            counted,
            dirty: false,
            msgs: 0,
            kept: false,
            paused: false,
            pause_retry: None,
            pause_backoff: PAUSE_RETRY_MIN,
            discarded: (0, 0),
            close_written: None,
        }
    }
}

impl Conn {
    /// Bytes this worker holds for the host's buffered amount: in tungstenite's buffer, in a
    /// direct frame, and queued.
    fn held(&self) -> usize {
        let queued: usize = self
            .queue
            .iter()
            .map(|o| if let Out::Msg(_, l) = o { *l } else { 0 })
            .sum();
        self.unflushed + self.direct.as_ref().map_or(0, |d| d.len) + queued
    }
}

/// Why a connection ends.
struct End {
    code: u16,
    reason: String,
    error: Option<Error>,
}

impl End {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        End {
            code,
            reason: reason.into(),
            error: None,
        }
    }
    fn err(code: u16, error: Error) -> Self {
        End {
            code,
            reason: String::new(),
            error: Some(error),
        }
    }
}

pub(crate) struct Worker {
    shared: Arc<WorkerShared>,
    poll: Poll,
    rx: Receiver<Cmd>,
    conns: Slab<Conn>,
    /// Armed connection timers: (due, slab key, connection id, kind).
    timers: BinaryHeap<Reverse<(Instant, usize, u64, TimerKind)>>,
    listener: Option<(TcpListener, Arc<Endpoint>, Vec<Arc<WorkerShared>>)>,
    accept_paused_until: Option<Instant>,
    rr: usize,
    again: Vec<usize>,
    dirty: Vec<usize>,
    /// Next sweep of busy connections' TLS buffers (None: no connection keeps them).
    sweep_at: Option<Instant>,
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Worker {
    pub(crate) fn new(shared: Arc<WorkerShared>, poll: Poll, rx: Receiver<Cmd>) -> Self {
        Worker {
            shared,
            poll,
            rx,
            conns: Slab::new(),
            timers: BinaryHeap::new(),
            listener: None,
            accept_paused_until: None,
            rr: 0,
            again: Vec::new(),
            dirty: Vec::new(),
            sweep_at: None,
        }
    }

    pub(crate) fn run(mut self) {
        CURRENT.with(|c| c.set(self.shared.uid));
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = if self.again.is_empty() {
                self.poll_timeout()
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    break;
                }
            }
            for ev in events.iter() {
                match ev.token() {
                    WAKER => {}
                    LISTENER => self.guarded(None, |w| w.accept_ready()),
                    Token(k) => {
                        let closed = ev.is_read_closed() || ev.is_error();
                        let readable = ev.is_readable() || closed;
                        if closed {
                            self.peer_closed(k);
                        }
                        self.guarded(Some(k), |w| w.drive(k, readable, ev.is_writable()));
                    }
                }
            }
            for k in std::mem::take(&mut self.again) {
                self.guarded(Some(k), |w| w.drive(k, true, false));
            }
            if !self.drain_commands() {
                break;
            }
            self.fire_timers();
            // Callbacks run by timers may have queued commands from this thread (no wake).
            if !self.drain_commands() {
                break;
            }
        }
        self.drop_all();
    }

    /// Run one step for connection `key` (or for the worker), containing panics from host
    /// handlers or from this library: the connection concerned is closed with 1011 and an
    /// `Internal` error, the thread and every other connection carry on.
    fn guarded(&mut self, key: Option<usize>, f: impl FnOnce(&mut Self)) {
        let Err(panic) = catch_unwind(AssertUnwindSafe(|| f(self))) else {
            return;
        };
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let Some(key) = key.filter(|k| self.conns.contains(*k)) else {
            return;
        };
        let peer = self.conns[key].peer;
        let err = Error::new(
            ErrorKind::Internal,
            format!("a callback or internal step panicked: {what}"),
        )
        .with_peer(Some(peer))
        .with_hint("the connection was closed with 1011; other connections are unaffected");
        let ending = catch_unwind(AssertUnwindSafe(|| {
            if let Phase::Open(ws) = &mut self.conns[key].phase {
                let frame = CloseFrame {
                    code: CloseCode::from(close_code::INTERNAL),
                    reason: "internal error".into(),
                };
                let _ = ws.close(Some(frame));
                let _ = ws.flush();
            }
            self.finish(key, End::err(close_code::INTERNAL, err));
        }));
        if ending.is_err() {
            // The close callbacks panicked too: drop the connection without further calls.
            if let Some(mut c) = self.conns.try_remove(key) {
                if let Phase::Open(ws) = &mut c.phase {
                    let _ = self.poll.registry().deregister(ws.get_mut().tcp());
                }
                if let Some(conn) = &c.conn {
                    conn::unregister(c.id);
                    conn.shared.buffered.fetch_sub(c.held(), Ordering::AcqRel);
                    conn.shared.mark_closed(close_code::INTERNAL, "");
                }
                if c.counted {
                    if let Some(server) = &c.ep.server {
                        server.release();
                    }
                }
            }
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let mut next = self.timers.peek().map(|Reverse((t, ..))| *t);
        for p in [self.accept_paused_until, self.sweep_at]
            .into_iter()
            .flatten()
        {
            next = Some(next.map_or(p, |n| n.min(p)));
        }
        next.map(|t| t.saturating_duration_since(Instant::now()))
    }

    /// Our close was queued on connection `key`: it must go out within `close_timeout`, extended
    /// for as long as the data queued before it keeps moving (see `timer`).
    fn close_requested(&mut self, key: usize) {
        let c = &mut self.conns[key];
        if c.close_sent.is_some() || c.close_written.is_some() {
            return;
        }
        let Phase::Open(ws) = &mut c.phase else {
            return;
        };
        c.close_written = Some(ws.get_mut().bytes_written());
        let at = Instant::now() + c.ep.limits.close_timeout;
        self.arm(key, TimerKind::Close, at);
    }

    /// Arm (or move) connection `key`'s timer of `kind`.
    fn arm(&mut self, key: usize, kind: TimerKind, at: Instant) {
        let c = &mut self.conns[key];
        c.timers[kind as usize] = Some(at);
        self.timers.push(Reverse((at, key, c.id, kind)));
    }

    // ---------------------------------------------------------------- commands

    /// Handle queued commands until the queue is empty; false when told to stop.
    fn drain_commands(&mut self) -> bool {
        loop {
            self.shared.wake_pending.store(false, Ordering::Release);
            let mut any = false;
            loop {
                match self.rx.try_recv() {
                    Ok(Cmd::Stop) => return false,
                    Ok(cmd) => {
                        any = true;
                        self.guarded(None, |w| w.command(cmd));
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return false,
                }
            }
            for k in std::mem::take(&mut self.dirty) {
                if let Some(c) = self.conns.get_mut(k) {
                    c.dirty = false;
                    self.guarded(Some(k), |w| w.pump(k));
                }
            }
            if !any && self.rx.is_empty() {
                return true;
            }
        }
    }

    fn key_of(&self, conn: &ConnShared) -> Option<usize> {
        let k = conn.key.load(Ordering::Acquire);
        self.conns
            .get(k)
            .filter(|c| c.id == conn.info.id)
            .map(|_| k)
    }

    fn mark_dirty(&mut self, key: usize) {
        let c = &mut self.conns[key];
        if !c.dirty {
            c.dirty = true;
            self.dirty.push(key);
        }
    }

    fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Send { conn, msg, len } => match self.key_of(&conn) {
                Some(k) => {
                    self.conns[k].queue.push_back(Out::Msg(msg, len));
                    self.mark_dirty(k);
                }
                None => {
                    // The send passed the open check just before the connection ended: too late
                    // to deliver, so say so (this may follow on_close).
                    conn.buffered.fetch_sub(len, Ordering::AcqRel);
                    if matches!(msg, Message::Text(_) | Message::Binary(_)) {
                        let e = Error::new(
                            ErrorKind::NotConnected,
                            format!("a {len}-byte message was not delivered: the connection closed while it was being queued"),
                        )
                        .with_peer(Some(conn.info.remote));
                        conn.handler.on_error(
                            Some(&Connection {
                                shared: conn.clone(),
                            }),
                            &e,
                        );
                    }
                }
            },
            Cmd::Resume { conn } => {
                if let Some(k) = self.key_of(&conn).filter(|k| self.conns[*k].paused) {
                    self.again.push(k);
                }
            }
            Cmd::Close { conn, code, reason } => {
                if let Some(k) = self.key_of(&conn) {
                    if self.conns[k].paused {
                        self.again.push(k); // closing reads again
                    }
                    self.conns[k].queue.push_back(Out::Close(code, reason));
                    self.close_requested(k);
                    self.mark_dirty(k);
                }
            }
            Cmd::Accept { tcp, peer, ep, id } => self.take_socket(tcp, peer, ep, id),
            Cmd::Listen {
                mut listener,
                ep,
                peers,
            } => {
                match self
                    .poll
                    .registry()
                    .register(&mut listener, LISTENER, Interest::READABLE)
                {
                    Ok(()) => {
                        self.listener = Some((listener, ep, peers));
                        self.accept_ready();
                    }
                    Err(e) => {
                        if let Some(s) = &ep.server {
                            s.default_handler.on_error(
                                None,
                                &Error::from_io("cannot watch the listening socket", &e),
                            );
                        }
                    }
                }
            }
            Cmd::Adopt { ws, conn, ep } => self.adopt(*ws, conn, ep),
            Cmd::CloseAll { ep, code } => self.close_all(&ep, code),
            Cmd::Stop => {}
        }
    }

    fn close_all(&mut self, ep: &Arc<Endpoint>, code: u16) {
        if self
            .listener
            .as_ref()
            .is_some_and(|(_, e, _)| Arc::ptr_eq(e, ep))
        {
            if let Some((mut l, _, _)) = self.listener.take() {
                let _ = self.poll.registry().deregister(&mut l);
            }
        }
        let keys: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| Arc::ptr_eq(&c.ep, ep))
            .map(|(k, _)| k)
            .collect();
        for k in keys {
            let c = &mut self.conns[k];
            match &c.phase {
                Phase::Open(_) => {
                    if let Some(conn) = &c.conn {
                        conn.shared.state.store(conn::CLOSING, Ordering::Release);
                    }
                    c.queue.push_back(Out::Close(
                        CloseCode::from(code),
                        "server shutting down".into(),
                    ));
                    if c.paused {
                        self.again.push(k); // closing reads again
                    }
                    self.close_requested(k);
                    self.mark_dirty(k);
                }
                _ => self.finish(k, End::new(close_code::ABNORMAL, "server shutting down")),
            }
        }
    }

    // ---------------------------------------------------------------- accepting

    fn accept_ready(&mut self) {
        if let Some(until) = self.accept_paused_until {
            if Instant::now() < until {
                return;
            }
            self.accept_paused_until = None;
        }
        loop {
            let Some((listener, ep, peers)) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((tcp, peer)) => {
                    let (ep, id) = (ep.clone(), conn::next_id());
                    let n = peers.len().max(1);
                    let target = self.rr % n;
                    self.rr = self.rr.wrapping_add(1);
                    let w = peers.get(target).cloned();
                    match w {
                        Some(w) if w.uid != self.shared.uid => {
                            w.submit(Cmd::Accept { tcp, peer, ep, id })
                        }
                        _ => self.take_socket(tcp, peer, ep, id),
                    }
                }
                Err(e) if would_block(&e) => return,
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted
                        || e.kind() == io::ErrorKind::ConnectionAborted =>
                {
                    continue
                }
                Err(e) => {
                    // Typically EMFILE: report, pause accepting briefly, keep serving the others.
                    if let Some(s) = &ep.server {
                        s.default_handler.on_error(None, &Error::from_io("accept failed", &e).with_hint(
                            "the process may be out of file descriptors: raise `ulimit -n` or lower max_connections",
                        ));
                    }
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    /// A new server-side socket: start its TLS or HTTP phase.
    fn take_socket(&mut self, tcp: TcpStream, peer: SocketAddr, ep: Arc<Endpoint>, id: u64) {
        let Some(server) = &ep.server else { return };
        if server.closing.load(Ordering::Acquire) {
            return; // dropped: the server is shutting down
        }
        let _ = tcp.set_nodelay(true);
        server.active.fetch_add(1, Ordering::AcqRel);
        let phase = match &server.ssl {
            Some(ctx) => {
                let stream = Ssl::new(ctx).and_then(|mut ssl| {
                    if server.verify_peer {
                        verify::attach(&mut ssl);
                    }
                    SslStream::new(ssl, Tcp::tracked(tcp))
                });
                match stream {
                    Ok(s) => Phase::Tls(Box::new(s)),
                    Err(e) => {
                        server.default_handler.on_error(
                            None,
                            &Error::from_stack(ErrorKind::Tls, "cannot create TLS session", &e)
                                .with_peer(Some(peer)),
                        );
                        server.release();
                        return;
                    }
                }
            }
            None => Phase::Request {
                stream: Stream::Plain(Tcp::tracked(tcp)),
                buf: Vec::new(),
            },
        };
        let now = Instant::now();
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        entry.insert(Conn::new(id, peer, ep.clone(), phase, None, true, now));
        let c = &mut self.conns[key];
        let registered = match &mut c.phase {
            Phase::Tls(s) => self.poll.registry().register(
                s.get_mut().sock_mut(),
                Token(key),
                Interest::READABLE | Interest::WRITABLE,
            ),
            Phase::Request { stream, .. } => self.poll.registry().register(
                stream.tcp(),
                Token(key),
                Interest::READABLE | Interest::WRITABLE,
            ),
            _ => Ok(()),
        };
        if let Err(e) = registered {
            self.finish(
                key,
                End::err(
                    close_code::ABNORMAL,
                    Error::from_io("cannot watch the socket", &e).with_peer(Some(peer)),
                ),
            );
            return;
        }
        self.arm(key, TimerKind::Handshake, now + ep.limits.handshake_timeout);
        self.guarded(Some(key), |w| w.drive(key, true, true));
    }

    /// An open client connection handed over by `client::connect`.
    fn adopt(&mut self, mut ws: WebSocket<Stream>, shared: Arc<ConnShared>, ep: Arc<Endpoint>) {
        let handler = shared.handler.clone();
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        shared.key.store(key, Ordering::Release);
        let now = Instant::now();
        ws.get_mut().track_short_reads();
        if let Err(e) = self.poll.registry().register(
            ws.get_mut().tcp(),
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            let conn = Connection {
                shared: shared.clone(),
            };
            conn::unregister(shared.info.id);
            handler.on_error(Some(&conn), &Error::from_io("cannot watch the socket", &e));
            shared.state.store(CLOSED, Ordering::Release);
            handler.on_close(&conn, close_code::ABNORMAL, "");
            shared.mark_closed(close_code::ABNORMAL, "");
            return;
        }
        let (id, peer) = (shared.info.id, shared.info.remote);
        let conn = Some(Connection { shared });
        entry.insert(Conn::new(
            id,
            peer,
            ep,
            Phase::Open(Box::new(ws)),
            conn,
            false,
            now,
        ));
        self.opened(key);
        // Frames that came with the 101 are already buffered (in `leftover` or in OpenSSL's
        // read-ahead): with the kernel buffer empty no readiness event would announce them.
        if self.conns.contains(key) {
            self.read_messages(key);
        }
    }

    // ---------------------------------------------------------------- driving phases

    /// The peer shut down its side (or the socket failed): reads must reach the kernel from now
    /// on to see the end, so stop skipping reads after short ones.
    fn peer_closed(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if let Some(tcp) = c.phase.tcp() {
            tcp.untrack();
        }
    }

    /// Make progress on connection `key` after readiness (or a command).
    fn drive(&mut self, key: usize, readable: bool, writable: bool) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if readable {
            if let Some(tcp) = c.phase.tcp() {
                tcp.readable();
            }
        }
        match c.phase {
            Phase::Tls(_) => self.drive_tls(key),
            Phase::Request { .. } => self.drive_request(key),
            Phase::Response { .. } => self.drive_response(key),
            Phase::Open(_) => {
                if readable && c.reply_pending.is_none() {
                    self.read_messages(key);
                }
                if writable && self.conns.contains(key) {
                    self.pump(key);
                }
            }
            Phase::Drain(_) => self.drain(key),
            Phase::Gone => {}
        }
    }

    /// End connection `key` after a socket error.
    fn io_failed(&mut self, key: usize, what: &str, e: &io::Error) {
        let peer = self.conns[key].peer;
        self.finish(
            key,
            End::err(
                close_code::ABNORMAL,
                Error::from_io(what, e).with_peer(Some(peer)),
            ),
        );
    }

    /// Report `err` (if any) and let the peer read our answer before closing.
    fn linger(&mut self, key: usize, err: Option<Error>) {
        let c = &mut self.conns[key];
        let stream = match std::mem::replace(&mut c.phase, Phase::Gone) {
            Phase::Tls(s) => Stream::Tls(s),
            Phase::Request { stream, .. } | Phase::Response { stream, .. } => stream,
            other => {
                c.phase = other;
                return self.finish(
                    key,
                    End {
                        code: close_code::ABNORMAL,
                        reason: String::new(),
                        error: err,
                    },
                );
            }
        };
        c.phase = Phase::Drain(stream);
        if let (Some(e), Some(server)) = (&err, &c.ep.server) {
            server.default_handler.on_error(None, e);
        }
        // The handshake is over (refused or failed): only the linger deadline is left.
        self.conns[key].timers = [None; TIMER_KINDS];
        self.arm(key, TimerKind::Linger, Instant::now() + LINGER);
        if let Phase::Drain(stream) = &mut self.conns[key].phase {
            let _ = stream.tcp().shutdown(std::net::Shutdown::Write);
        }
        self.drain(key);
    }

    /// Discard input of a lingering connection; close at EOF or error.
    fn drain(&mut self, key: usize) {
        let Phase::Drain(stream) = &mut self.conns[key].phase else {
            return;
        };
        let mut scratch = [0u8; 4096];
        loop {
            match stream.tcp().read(&mut scratch) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if would_block(&e) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        self.finish(key, End::new(close_code::ABNORMAL, ""));
    }

    fn drive_tls(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let Phase::Tls(s) = &mut c.phase else { return };
        match s.accept() {
            Ok(()) => {
                let Phase::Tls(s) = std::mem::replace(&mut c.phase, Phase::Gone) else {
                    return;
                };
                c.phase = Phase::Request {
                    stream: Stream::Tls(s),
                    buf: Vec::new(),
                };
                self.drive_request(key);
            }
            Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => {}
            Err(e) => {
                let err = Error::from_ssl(
                    "TLS handshake with client failed",
                    &e,
                    verify::failure(s.ssl()),
                )
                .with_peer(Some(c.peer));
                self.linger(key, Some(err));
            }
        }
    }

    fn drive_request(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let Phase::Request { stream, buf } = &mut c.phase else {
            return;
        };
        let max = c.ep.limits.max_header_size;
        let mut chunk = [0u8; HEAD_CHUNK];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => {
                    // Closed before sending a full request: nothing to answer.
                    self.finish(key, End::new(close_code::ABNORMAL, ""));
                    return;
                }
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    match http::parse_request(buf, max) {
                        Ok(Parsed::Partial) => continue,
                        Ok(Parsed::Complete(req, len)) => {
                            let leftover = buf.split_off(len);
                            self.route_request(key, req, leftover);
                            return;
                        }
                        Err(refusal) => {
                            self.respond(key, &refusal, None);
                            return;
                        }
                    }
                }
                Err(e) if would_block(&e) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.io_failed(key, "reading the upgrade request failed", &e),
            }
        }
    }

    /// Decide what to answer to a complete request.
    fn route_request(&mut self, key: usize, req: http::Request, leftover: Vec<u8>) {
        let c = &self.conns[key];
        let ep = c.ep.clone();
        let Some(server) = ep.server.as_ref() else {
            return;
        };
        let Phase::Request { stream, .. } = &c.phase else {
            return;
        };
        let (id, peer) = (c.id, c.peer);
        let tls_info = stream
            .ssl()
            .map(|ssl| tls::session_info(ssl, server.verify_peer));
        let key_hdr = match http::check_upgrade(&req) {
            Ok(k) => k,
            Err(refusal) => return self.respond(key, &refusal, None),
        };
        if server.active.load(Ordering::Acquire) > ep.limits.max_connections {
            return self.respond(key, &Refusal::new(503, "Service Unavailable"), None);
        }
        let Some(handler) = server.route(&req.path) else {
            return self.respond(key, &Refusal::new(404, "Not Found"), None);
        };
        let offered = req.subprotocols();
        let upgrade = UpgradeRequest {
            request: &req,
            subprotocols: offered.clone(),
            remote: peer,
            tls: tls_info.as_ref(),
        };
        match handler.on_accept(&upgrade) {
            AcceptDecision::Reject { status, reason } => {
                let status = if (400..=599).contains(&status) {
                    status
                } else {
                    403
                };
                let reason: String = reason
                    .chars()
                    .filter(|ch| *ch != '\r' && *ch != '\n')
                    .collect();
                self.respond(
                    key,
                    &Refusal::new(
                        status,
                        if reason.is_empty() {
                            "Forbidden".into()
                        } else {
                            reason
                        },
                    ),
                    None,
                );
            }
            AcceptDecision::Accept {
                subprotocol,
                headers,
            } => {
                let bad_proto = subprotocol.as_ref().is_some_and(|p| !offered.contains(p));
                let bad_header = headers.iter().any(|(n, v)| !http::header_ok(n, v));
                if bad_proto || bad_header {
                    let what = if bad_proto {
                        "the accept hook chose a subprotocol the client did not offer"
                    } else {
                        "the accept hook returned an invalid header"
                    };
                    handler.on_error(None, &Error::invalid(what).with_peer(Some(peer)));
                    return self.respond(key, &Refusal::new(500, "Internal Server Error"), None);
                }
                let response = http::switching_response(&key_hdr, subprotocol.as_deref(), &headers);
                let info = ConnInfo {
                    id,
                    remote: peer,
                    path: req.path.clone(),
                    subprotocol,
                    tls: tls_info,
                    is_client: false,
                };
                let open = PendingOpen {
                    leftover,
                    handler,
                    info,
                };
                self.write_response(key, response, Some(Box::new(open)));
            }
        }
    }

    fn respond(&mut self, key: usize, refusal: &Refusal, open: Option<Box<PendingOpen>>) {
        let c = &self.conns[key];
        let tls = matches!(
            &c.phase,
            Phase::Request {
                stream: Stream::Tls(_),
                ..
            }
        );
        let hsts = tls && c.ep.server.as_ref().is_some_and(|s| s.hsts);
        self.write_response(key, http::refusal_response(refusal, hsts), open);
    }

    fn write_response(&mut self, key: usize, out: Vec<u8>, open: Option<Box<PendingOpen>>) {
        let c = &mut self.conns[key];
        let Phase::Request { stream, .. } = std::mem::replace(&mut c.phase, Phase::Gone) else {
            return;
        };
        c.phase = Phase::Response {
            stream,
            out,
            pos: 0,
            open,
        };
        self.drive_response(key);
    }

    fn drive_response(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let Phase::Response {
            stream, out, pos, ..
        } = &mut c.phase
        else {
            return;
        };
        while *pos < out.len() {
            match stream.write(&out[*pos..]) {
                Ok(n) => *pos += n,
                Err(e) if would_block(&e) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.io_failed(key, "writing the upgrade response failed", &e),
            }
        }
        let Phase::Response { stream, open, .. } = std::mem::replace(&mut c.phase, Phase::Gone)
        else {
            return;
        };
        match open {
            None => {
                let mut stream = stream;
                stream.shutdown_tls();
                c.phase = Phase::Request {
                    stream,
                    buf: Vec::new(),
                };
                self.linger(key, None);
            }
            Some(p) => {
                let PendingOpen {
                    leftover,
                    handler,
                    info,
                } = *p;
                let ws = WebSocket::from_partially_read(
                    stream,
                    leftover,
                    Role::Server,
                    Some(c.ep.ws_config),
                );
                c.phase = Phase::Open(Box::new(ws));
                let shared = ConnShared::new(
                    info,
                    self.shared.clone(),
                    handler,
                    key,
                    c.ep.limits.send_queue_limit,
                );
                c.conn = Some(Connection { shared });
                c.timers[TimerKind::Handshake as usize] = None;
                self.opened(key);
                // Frames the client sent right behind its request are already buffered.
                if self.conns.contains(key) {
                    self.read_messages(key);
                }
            }
        }
    }

    /// The WebSocket is open: publish it and tell the host.
    fn opened(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let Some(conn) = &c.conn else {
            return;
        };
        conn::register(&conn.shared);
        c.last_rx = Instant::now();
        let keepalive = c.ep.keepalive;
        conn.shared.handler.on_open(conn);
        if let Some(ka) = keepalive {
            if self.conns.contains(key) {
                self.arm(key, TimerKind::Keepalive, Instant::now() + ka.interval);
            }
        }
    }

    // ---------------------------------------------------------------- open connections

    fn read_messages(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let Phase::Open(ws) = &mut c.phase else {
            return;
        };
        let Some(conn) = &c.conn else {
            return;
        };
        let mut received = false;
        let mut end = None;
        let mut budget = READ_BUDGET;
        loop {
            if budget == 0 {
                self.again.push(key);
                break;
            }
            // The host is behind: leave the rest in the socket (TCP backpressure) until it asks
            // (`Cmd::Resume`) or the retry comes. A connection that is closing (ours queued or
            // sent) reads on, or its close handshake could wait on a host that stopped; the data
            // messages it reads then are dropped (and reported), so memory stays bounded.
            let closing =
                c.close_sent.is_some() || conn.shared.state.load(Ordering::Acquire) != conn::OPEN;
            let wanted = conn.shared.handler.wants_messages(conn);
            c.paused = !closing && !wanted;
            if !c.paused {
                c.pause_backoff = PAUSE_RETRY_MIN;
            } else {
                if c.pause_retry.is_none() {
                    let at = Instant::now() + c.pause_backoff;
                    c.pause_backoff = (c.pause_backoff * 2).min(PAUSE_RETRY_MAX);
                    c.pause_retry = Some(at);
                    c.timers[TimerKind::Resume as usize] = Some(at);
                    self.timers
                        .push(Reverse((at, key, c.id, TimerKind::Resume)));
                }
                break;
            }
            match ws.read() {
                Ok(msg) => {
                    received = true;
                    budget -= 1;
                    match msg {
                        Message::Text(_) | Message::Binary(_) if !wanted => {
                            c.discarded.0 += 1;
                            c.discarded.1 += msg.len();
                        }
                        Message::Text(t) => {
                            conn.shared
                                .handler
                                .on_message_owned(conn, MessageKind::Text, t.into())
                        }
                        Message::Binary(b) => {
                            conn.shared
                                .handler
                                .on_message_owned(conn, MessageKind::Binary, b)
                        }
                        Message::Ping(_) => {}
                        Message::Pong(p) => {
                            c.ping_sent = None;
                            conn.shared.handler.on_pong(conn, &p);
                        }
                        Message::Close(frame) => {
                            let close = match (frame, c.close_sent) {
                                (_, Some(ours)) => End::new(ours, c.close_reason.as_str()),
                                (Some(f), None) => End::new(u16::from(f.code), f.reason.as_str()),
                                (None, None) => End::new(close_code::NO_STATUS, ""),
                            };
                            // No more sends: the peer is closing.
                            conn.shared.state.store(conn::CLOSING, Ordering::Release);
                            // tungstenite queued our reply behind what is buffered. If the socket
                            // is full, finish once it is written (or the close timeout passes)
                            // instead of dropping it: the peer would see no close frame.
                            match ws.flush() {
                                Err(tungstenite::Error::Io(e)) if would_block(&e) => {
                                    c.reply_pending = Some(close);
                                    let at = Instant::now() + c.ep.limits.close_timeout;
                                    c.timers[TimerKind::Close as usize] = Some(at);
                                    self.timers.push(Reverse((at, key, c.id, TimerKind::Close)));
                                }
                                _ => end = Some(close),
                            }
                            break;
                        }
                        Message::Frame(_) => {}
                    }
                }
                Err(tungstenite::Error::Io(e)) if would_block(&e) => break,
                Err(e) => {
                    end = Some(self::protocol_end(
                        e,
                        c.close_sent.map(|code| (code, c.close_reason.as_str())),
                        c.peer,
                        ws,
                    ));
                    break;
                }
            }
        }
        if received {
            c.last_rx = Instant::now();
            c.ping_sent = None;
        }
        let read = (READ_BUDGET - budget) as u32;
        match end {
            Some(end) => self.finish(key, end),
            None => {
                self.moved(key, read);
                self.pump(key);
            }
        }
    }

    /// Move queued messages into the protocol buffer and flush, until the socket is full.
    fn pump(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let Phase::Open(ws) = &mut c.phase else {
            return;
        };
        let mut failed = None;
        let mut written = 0u32;
        let is_client = c.ep.server.is_none();
        if c.reply_pending.is_some() {
            // Only our close reply (behind earlier data) is left to write; a frame in progress
            // must be completed first.
            let r = match finish_direct(&mut c.direct, &c.conn, ws) {
                Ok(()) => ws.flush(),
                Err(e) => Err(tungstenite::Error::Io(e)),
            };
            match r {
                Err(tungstenite::Error::Io(e)) if would_block(&e) => {}
                _ => {
                    let end = c.reply_pending.take().expect("checked");
                    self.finish(key, end);
                }
            }
            return;
        }
        loop {
            match finish_direct(&mut c.direct, &c.conn, ws) {
                Ok(()) => {}
                Err(e) if would_block(&e) => break,
                Err(e) => {
                    failed = Some(tungstenite::Error::Io(e));
                    break;
                }
            }
            // Flush what is buffered first, so the socket is the only queue that can be full.
            match ws.flush() {
                Ok(()) => settle(&mut c.unflushed, &c.conn),
                Err(tungstenite::Error::Io(e)) if would_block(&e) => break,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            let mut wrote = false;
            // After our close frame nothing more may be sent: messages that raced with the close
            // stay queued and are reported as undelivered when the connection finishes.
            while c.close_sent.is_none() {
                let Some(out) = c.queue.pop_front() else {
                    break;
                };
                wrote = true;
                let r = match out {
                    Out::Msg(msg, len) if len >= DIRECT_MIN && is_data(&msg) => {
                        // Large: written around tungstenite, once its buffer is out.
                        match ws.flush() {
                            Ok(()) => settle(&mut c.unflushed, &c.conn),
                            Err(e) => {
                                c.queue.push_front(Out::Msg(msg, len));
                                match e {
                                    tungstenite::Error::Io(e) if would_block(&e) => {}
                                    e => failed = Some(e),
                                }
                                break;
                            }
                        }
                        c.direct = Some(Box::new(direct_send(msg, len, is_client)));
                        ws.get_mut().hold_writes(true);
                        break;
                    }
                    Out::Msg(msg, len) => {
                        c.unflushed += len;
                        written += 1;
                        ws.write(msg)
                    }
                    Out::Close(code, reason) => {
                        c.close_sent = Some(u16::from(code));
                        c.close_reason = reason.clone();
                        let r = ws.close(Some(CloseFrame {
                            code,
                            reason: reason.into(),
                        }));
                        let at = Instant::now() + c.ep.limits.close_timeout;
                        c.timers[TimerKind::Close as usize] = Some(at);
                        self.timers.push(Reverse((at, key, c.id, TimerKind::Close)));
                        r
                    }
                };
                match r {
                    Ok(()) => {}
                    Err(tungstenite::Error::Io(e)) if would_block(&e) => break,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
                if c.close_sent.is_some() {
                    break;
                }
            }
            if failed.is_some() || !wrote {
                break;
            }
        }
        if let Some(e) = failed {
            let end = match e {
                tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                    End::new(
                        c.close_sent.unwrap_or(close_code::NORMAL),
                        c.close_reason.as_str(),
                    )
                }
                tungstenite::Error::Io(io) => End::err(
                    close_code::ABNORMAL,
                    Error::from_io("sending failed", &io).with_peer(Some(c.peer)),
                ),
                other => End::err(
                    close_code::ABNORMAL,
                    Error::new(ErrorKind::Protocol, format!("sending failed: {other}"))
                        .with_peer(Some(c.peer)),
                ),
            };
            self.finish(key, end);
        } else if written > 0 {
            self.moved(key, written);
        }
    }

    // ---------------------------------------------------------------- timers

    fn fire_timers(&mut self) {
        let now = Instant::now();
        if self.accept_paused_until.is_some_and(|t| t <= now) {
            self.accept_ready();
        }
        if self.sweep_at.is_some_and(|t| t <= now) {
            self.sweep(now);
        }
        while let Some(Reverse((at, key, id, kind))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(c) = self.conns.get_mut(key).filter(|c| c.id == id) else {
                continue; // the connection has ended
            };
            let slot = &mut c.timers[kind as usize];
            if *slot != Some(at) {
                continue; // cancelled or moved since: not this entry's turn
            }
            *slot = None;
            self.guarded(Some(key), |w| w.timer(key, kind, now));
        }
    }

    /// Count `n` messages moved by connection `key`; a busy TLS connection keeps its buffers.
    fn moved(&mut self, key: usize, n: u32) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        c.msgs = c.msgs.saturating_add(n);
        if c.kept || c.msgs < BUSY_MESSAGES {
            return;
        }
        if let Phase::Open(ws) = &c.phase {
            if let Some(ssl) = ws.get_ref().ssl() {
                tls::keep_buffers(ssl, true);
                c.kept = true;
                self.sweep_at
                    .get_or_insert_with(|| Instant::now() + BUFFER_SWEEP);
            }
        }
    }

    /// Connections that kept their buffers and moved nothing for a period release them again
    /// (idle connections stay small). Sweeps run only while some connection keeps its buffers.
    fn sweep(&mut self, now: Instant) {
        let mut kept = false;
        for (_, c) in self.conns.iter_mut() {
            let idle = std::mem::take(&mut c.msgs) == 0;
            if c.kept && idle {
                if let Phase::Open(ws) = &c.phase {
                    if let Some(ssl) = ws.get_ref().ssl() {
                        tls::keep_buffers(ssl, false);
                    }
                }
                c.kept = false;
            }
            kept |= c.kept;
        }
        self.sweep_at = kept.then(|| now + BUFFER_SWEEP);
    }

    /// Connection `key`'s timer of `kind` came due.
    fn timer(&mut self, key: usize, kind: TimerKind, now: Instant) {
        let c = &mut self.conns[key];
        let peer = c.peer;
        let end = match kind {
            TimerKind::Keepalive => return self.keepalive(key, now),
            TimerKind::Resume => {
                // Ask the handler again by reading (which pauses again if it still wants nothing).
                c.pause_retry = None;
                self.again.push(key);
                return;
            }
            TimerKind::Linger => End::new(close_code::ABNORMAL, ""),
            TimerKind::Handshake => End::err(
                close_code::ABNORMAL,
                Error::new(ErrorKind::Timeout, "handshake did not complete in time")
                    .with_peer(Some(peer))
                    .with_hint("a slow or stalled client (or a ws:// client on a wss:// port): the handshake_timeout limit closed it"),
            ),
            TimerKind::Close => {
                if let Some(end) = c.reply_pending.take() {
                    return self.finish(key, end);
                }
                let Phase::Open(ws) = &mut c.phase else {
                    return;
                };
                if let Some(code) = c.close_sent {
                    End::new(code, c.close_reason.as_str())
                } else {
                    let Some(before) = c.close_written else {
                        return;
                    };
                    // Our close is still behind queued data: wait on while bytes move.
                    let written = ws.get_mut().bytes_written();
                    if written != before {
                        c.close_written = Some(written);
                        let at = now + c.ep.limits.close_timeout;
                        return self.arm(key, TimerKind::Close, at);
                    }
                    End::err(
                        close_code::ABNORMAL,
                        Error::new(
                            ErrorKind::Timeout,
                            format!(
                                "our close could not be sent: the peer took no data for {:?}",
                                c.ep.limits.close_timeout
                            ),
                        )
                        .with_peer(Some(peer))
                        .with_hint("a peer that stopped reading: the close_timeout limit ended the connection"),
                    )
                }
            }
        };
        self.finish(key, end)
    }

    /// The keepalive check: ping after `interval` without input, give up `timeout` after an
    /// unanswered ping. Re-arms itself while the connection is open and not closing.
    fn keepalive(&mut self, key: usize, now: Instant) {
        let c = &mut self.conns[key];
        let Some(ka) = c.ep.keepalive else { return };
        if c.close_sent.is_some() || c.reply_pending.is_some() {
            return;
        }
        let next = if c.paused {
            // We are not reading, so the peer's answers cannot arrive: not its silence.
            c.ping_sent = None;
            c.last_rx = now;
            now + ka.interval
        } else if let Some(sent) = c.ping_sent {
            if now >= sent + ka.timeout {
                let err = Error::new(
                    ErrorKind::Timeout,
                    format!("peer did not answer a ping within {:?}", ka.timeout),
                )
                .with_peer(Some(c.peer));
                return self.finish(key, End::err(close_code::ABNORMAL, err));
            }
            sent + ka.timeout
        } else if now >= c.last_rx + ka.interval {
            c.ping_sent = Some(now);
            c.queue
                .push_back(Out::Msg(Message::Ping(Vec::new().into()), 0));
            self.arm(key, TimerKind::Keepalive, now + ka.timeout);
            return self.pump(key);
        } else {
            c.last_rx + ka.interval
        };
        self.arm(key, TimerKind::Keepalive, next);
    }

    // ---------------------------------------------------------------- ending

    /// Stop watching a socket that is about to be closed. On Linux closing the (only) descriptor
    /// removes it from epoll, so the extra `epoll_ctl` per connection is skipped there.
    fn forget(&self, sock: &mut TcpStream) {
        if !cfg!(target_os = "linux") {
            let _ = self.poll.registry().deregister(sock);
        }
    }

    /// Remove a connection, tell the host, release its slot.
    fn finish(&mut self, key: usize, end: End) {
        let Some(mut c) = self.conns.try_remove(key) else {
            return;
        };
        let stream = match &mut c.phase {
            Phase::Tls(s) => {
                self.forget(s.get_mut().sock_mut());
                None
            }
            Phase::Request { stream, .. }
            | Phase::Response { stream, .. }
            | Phase::Drain(stream) => Some(stream),
            Phase::Open(ws) => Some(ws.get_mut()),
            Phase::Gone => None,
        };
        if let Some(s) = stream {
            self.forget(s.tcp());
            if end.code != close_code::ABNORMAL || end.error.is_none() {
                s.shutdown_tls();
            }
        }
        if c.counted {
            if let Some(server) = &c.ep.server {
                server.release();
            }
        }
        match &c.conn {
            Some(conn) => {
                let handler = &conn.shared.handler;
                conn.shared.state.store(CLOSED, Ordering::Release);
                conn::unregister(c.id);
                // Release exactly what this worker still accounts for (before any callback, which
                // could panic); sends still in the channel subtract their own length when they
                // arrive (`command`, no key).
                conn.shared.buffered.fetch_sub(c.held(), Ordering::AcqRel);
                let interrupted = c.direct.as_ref().map_or(0, |d| d.len);
                let (count, bytes) = c.queue.iter().fold(
                    (usize::from(c.direct.is_some()), interrupted),
                    |(n, b), o| match o {
                        Out::Msg(Message::Text(_) | Message::Binary(_), len) => (n + 1, b + len),
                        _ => (n, b),
                    },
                );
                let callbacks = catch_unwind(AssertUnwindSafe(|| {
                    if let Some(e) = &end.error {
                        handler.on_error(Some(conn), e);
                    }
                    if count > 0 {
                        let e = Error::new(
                            ErrorKind::NotConnected,
                            format!("{count} queued message(s) ({bytes} bytes) were not delivered: the connection closed"),
                        )
                        .with_peer(Some(c.peer));
                        handler.on_error(Some(conn), &e);
                    }
                    if c.discarded.0 > 0 {
                        let (n, b) = c.discarded;
                        let e = Error::new(
                            ErrorKind::Backpressure,
                            format!("{n} message(s) ({b} bytes) the peer sent while the connection was closing were dropped: the host was not taking events"),
                        )
                        .with_peer(Some(c.peer));
                        handler.on_error(Some(conn), &e);
                    }
                    handler.on_close(conn, end.code, &end.reason);
                }));
                // Waiters (`Client::close`, `wss_*_close`) are released even if a callback panicked;
                // the panic then goes on to `guarded`.
                conn.shared.mark_closed(end.code, &end.reason);
                if let Err(panic) = callbacks {
                    std::panic::resume_unwind(panic);
                }
            }
            _ => {
                if let (Some(e), Some(server)) = (&end.error, &c.ep.server) {
                    server.default_handler.on_error(None, e);
                }
            }
        }
    }

    fn drop_all(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for k in keys {
            self.finish(k, End::new(close_code::ABNORMAL, "endpoint stopped"));
        }
    }
}

/// Everything handed to tungstenite is on the socket: it no longer counts as buffered.
fn settle(unflushed: &mut usize, conn: &Option<Connection>) {
    if *unflushed > 0 {
        if let Some(conn) = conn {
            conn.shared.buffered.fetch_sub(*unflushed, Ordering::AcqRel);
        }
        *unflushed = 0;
    }
}

fn is_data(msg: &Message) -> bool {
    matches!(msg, Message::Text(_) | Message::Binary(_))
}

/// Start writing a large data message around tungstenite (see `io::direct`).
fn direct_send(msg: Message, len: usize, masked: bool) -> DirectSend {
    let mask = masked.then(|| {
        let mut m = [0u8; 4];
        // RFC 6455 wants an unpredictable key; should the RNG fail, any key is still valid.
        let _ = openssl::rand::rand_bytes(&mut m);
        m
    });
    match msg {
        Message::Text(t) => DirectSend::new(1, t.into(), mask, len),
        Message::Binary(b) => DirectSend::new(2, b, mask, len),
        _ => unreachable!("only data messages are sent directly"),
    }
}

/// Write the rest of a direct frame, if one is in progress; then tungstenite may write again.
fn finish_direct(
    direct: &mut Option<Box<DirectSend>>,
    conn: &Option<Connection>,
    ws: &mut WebSocket<Stream>,
) -> io::Result<()> {
    let Some(d) = direct else {
        return Ok(());
    };
    let stream = ws.get_mut();
    d.write(|b| stream.write_through(b))?;
    stream.hold_writes(false);
    if let Some(conn) = conn {
        conn.shared.buffered.fetch_sub(d.len, Ordering::AcqRel);
    }
    *direct = None;
    Ok(())
}

/// How a failed read ends the connection: send the matching close code where the protocol allows.
fn protocol_end(
    e: tungstenite::Error,
    close_sent: Option<(u16, &str)>,
    peer: SocketAddr,
    ws: &mut WebSocket<Stream>,
) -> End {
    use tungstenite::error::{CapacityError, ProtocolError};
    let (code, err) = match e {
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
            return match close_sent {
                Some((code, reason)) => End::new(code, reason),
                None => End::new(close_code::NO_STATUS, ""),
            };
        }
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            return match close_sent {
                Some((code, reason)) => End::new(code, reason),
                None => End::new(close_code::ABNORMAL, ""),
            };
        }
        tungstenite::Error::Io(io) => {
            return End::err(
                close_code::ABNORMAL,
                Error::from_io("connection failed", &io).with_peer(Some(peer)),
            );
        }
        tungstenite::Error::Capacity(c) => {
            let msg = match c {
                CapacityError::MessageTooLong { size, max_size } => {
                    format!("peer sent a message/frame of {size} bytes (limit {max_size})")
                }
                other => format!("peer exceeded a limit: {other}"),
            };
            (
                close_code::TOO_BIG,
                Error::new(ErrorKind::MessageTooBig, msg).with_hint(
                    "raise limits.max_message_size / max_frame_size if such messages are expected",
                ),
            )
        }
        tungstenite::Error::Utf8(detail) => (
            close_code::INVALID_PAYLOAD,
            Error::new(
                ErrorKind::Protocol,
                format!("peer sent invalid UTF-8 in a text message: {detail}"),
            ),
        ),
        other => (
            close_code::PROTOCOL_ERROR,
            Error::new(
                ErrorKind::Protocol,
                format!("peer violated the protocol: {other}"),
            ),
        ),
    };
    if close_sent.is_none() {
        let reason = match code {
            close_code::TOO_BIG => "message too big",
            close_code::INVALID_PAYLOAD => "invalid UTF-8",
            _ => "protocol error",
        };
        let _ = ws.close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        }));
        let _ = ws.flush();
    }
    End::err(code, err.with_peer(Some(peer)))
}
