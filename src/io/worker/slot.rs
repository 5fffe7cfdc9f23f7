//! What a worker holds for one socket (`Slot`) and the states it goes through (`State`).
//!
//! ```text
//! server: accept ─► TlsAccept ─► ReadRequest ─► (AwaitDecision) ─► WriteResponse ─► Open
//!                       │              │              │                  │
//!                       └──────────────┴──────────────┴─ refusal ────────┴─► Drain ─► end
//! client: Resolving ─► Connecting ─► TlsConnect ─► WriteRequest ─► ReadResponse ─► Open
//!             (a failure or the connect timeout in any of them: on_error(Some(conn)), end)
//! Open ─► closing (Open::closing set) ─► end
//! ```
//!
//! Each state's data lives in its variant; the module named after a state (`tls_accept`,
//! `upgrade`, `dial` for the client's, `open`, `closing`, `drain`) holds everything that can
//! happen in it, including the transitions out of it. `Worker::finish` (worker/mod.rs) is the
//! one way out of every state.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::TcpStream;
use openssl::ssl::SslStream;

use super::super::Owner;
use super::closing::Closing;
use super::dial::Dial;
use super::upgrade::{PendingOpen, Upgrade};
use crate::conn::Connection;
use crate::error::Error;
use crate::stream::{Stream, Tcp};
use crate::ws::{Encoding, MessageExtension, Outgoing, Reader, Writer};

/// What a connection's timer is for. Each connection has at most one armed timer of each
/// kind: arming again moves it, and an entry whose kind is no longer armed at that instant (its
/// state ended, or it was re-armed) is ignored when it comes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum TimerKind {
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

/// Number of `TimerKind`s.
pub(super) const TIMER_KINDS: usize = 5;

/// The worker's record of one socket, from accept (or adoption) to its end.
pub(super) struct Slot {
    pub id: u64,
    pub peer: SocketAddr,
    pub owner: Arc<Owner>,
    pub state: State,
    /// Counted in the server's active connections.
    pub counted: bool,
    /// Queued in the worker's list of connections to pump.
    pub dirty: bool,
    /// When each kind of timer is due (`None`: not armed); see `TimerKind`.
    pub timers: [Option<Instant>; TIMER_KINDS],
}

impl Slot {
    pub(super) fn new(
        id: u64,
        peer: SocketAddr,
        owner: Arc<Owner>,
        state: State,
        counted: bool,
    ) -> Self {
        Slot {
            id,
            peer,
            owner,
            state,
            counted,
            dirty: false,
            timers: [None; TIMER_KINDS],
        }
    }
}

/// Where a connection is in its life.
pub(super) enum State {
    /// Server: TLS handshake in progress (module `tls_accept`).
    TlsAccept(Box<SslStream<Tcp>>),
    /// Server: collecting the HTTP upgrade request (module `upgrade`).
    ReadRequest { stream: Stream, buf: Vec<u8> },
    /// Server: the route's handler deferred its accept decision (`AcceptDecision::Defer`);
    /// nothing is read until `Server::decide` answers or the handshake deadline passes
    /// (module `upgrade`).
    AwaitDecision {
        stream: Stream,
        upgrade: Box<Upgrade>,
    },
    /// Server: writing the HTTP answer; then open (`Some`) or drain (`None`) (module `upgrade`).
    WriteResponse {
        stream: Stream,
        out: Vec<u8>,
        pos: usize,
        open: Option<Box<PendingOpen>>,
    },
    /// Client: the host name is being resolved on a short-lived thread (also the placeholder
    /// between two addresses tried) (module `dial`).
    Resolving(Box<Dial>),
    /// Client: non-blocking TCP connect to `Slot::peer` (module `dial`).
    Connecting(Box<Dial>, TcpStream),
    /// Client: TLS handshake with the server (module `dial`).
    TlsConnect(Box<Dial>, Box<SslStream<Tcp>>),
    /// Client: writing the upgrade request (module `dial`).
    WriteRequest {
        dial: Box<Dial>,
        stream: Stream,
        pos: usize,
    },
    /// Client: reading the server's answer (module `dial`).
    ReadResponse {
        dial: Box<Dial>,
        stream: Stream,
        buf: Vec<u8>,
    },
    /// WebSocket open, and closing once `Open::closing` is set (modules `open`, `closing`).
    Open(Box<Open>),
    /// Server: refused or failed handshake. Our answer (HTTP response or TLS alert) is out and
    /// our side is shut down; unread input is drained until the peer closes or the linger
    /// deadline passes, because closing with unread data would send a TCP reset that can
    /// destroy the answer before the peer reads it (module `drain`).
    Drain(Stream),
    /// Transient placeholder while a state is being replaced.
    Gone,
}

impl State {
    /// The socket wrapper of any state that has one.
    pub(super) fn tcp(&mut self) -> Option<&mut Tcp> {
        match self {
            State::TlsAccept(s) | State::TlsConnect(_, s) => Some(s.get_mut()),
            State::ReadRequest { stream, .. }
            | State::AwaitDecision { stream, .. }
            | State::WriteResponse { stream, .. }
            | State::WriteRequest { stream, .. }
            | State::ReadResponse { stream, .. }
            | State::Drain(stream) => Some(stream.inner()),
            State::Open(o) => Some(o.stream.inner()),
            State::Resolving(_) | State::Connecting(..) | State::Gone => None,
        }
    }

    /// A client connection that has not opened yet.
    pub(super) fn dial(&self) -> Option<&Dial> {
        match self {
            State::Resolving(d)
            | State::Connecting(d, _)
            | State::TlsConnect(d, _)
            | State::WriteRequest { dial: d, .. }
            | State::ReadResponse { dial: d, .. } => Some(d),
            _ => None,
        }
    }
}

/// What is queued for the wire.
pub(super) enum Out {
    Msg(Outgoing, usize),
    Close(u16, String),
}

/// An open WebSocket: the protocol, the host's handle, the send queue, keepalive and reading
/// state, and (once set) what its close still owes.
pub(super) struct Open {
    pub stream: Stream,
    /// The message layer: frames in, frames out, and the extension negotiated for both.
    pub reader: Reader,
    pub writer: Writer,
    pub ext: Option<Box<dyn MessageExtension>>,
    pub conn: Connection,
    pub queue: VecDeque<Out>,
    /// Bytes of data messages handed to the writer since it was last idle.
    pub unflushed: usize,
    /// The pong owed for the latest ping while the socket is full, not yet handed to the
    /// writer: it goes once the writer is idle, so a peer that pings without reading costs one
    /// pong, not one per ping (RFC 6455 section 5.5.3 allows answering only the latest).
    pub pong: Option<Bytes>,
    /// Pong bytes owed while the socket was full (what answering every ping would hold),
    /// counted with queued data against `send_queue_limit`.
    pub owed: usize,
    /// The last write found the socket full (pongs are then coalesced into `pong`).
    pub blocked: bool,
    /// Reading stopped because `owed` passed the limit; resumes when the writer is idle.
    pub flooded: bool,
    /// The host was told about a ping flood (once per connection).
    pub flood_told: bool,
    /// The peer broke the protocol: how the connection ends once our close frame (queued
    /// behind the messages the host sent before) is written. Nothing more is read.
    pub failed: Option<End>,
    pub last_rx: Instant,
    pub ping_sent: Option<Instant>,
    /// Messages read or written since the last buffer sweep.
    pub msgs: u32,
    /// Keeps its TLS record buffers (busy; see `tls::keep_buffers`).
    pub kept: bool,
    /// Reading is paused: the handler wanted no messages when last asked.
    pub paused: bool,
    /// When a paused connection asks its handler again.
    pub pause_retry: Option<Instant>,
    /// Wait before the next retry (doubles while refused; reset when reading proceeds).
    pub pause_backoff: Duration,
    /// Paused because the send queue is over its limit: `pump` resumes reading once it has
    /// drained to half (module `pausing`).
    pub wake_on_drain: bool,
    /// While paused that way, the socket's byte count and when it last changed: keepalive
    /// judges such a peer by whether it takes our bytes (it cannot answer pings we do not read).
    pub progress: Option<(u64, Instant)>,
    /// Data messages (and their bytes) read and dropped while closing because the handler
    /// wanted no more: reported when the connection ends.
    pub discarded: (usize, usize),
    /// Set once the close handshake has started (module `closing`).
    pub closing: Option<Closing>,
    /// The large message at the front of `queue` being compressed a step per turn
    /// (`open::ENCODE_STEP`), so other connections on this thread are served in between.
    pub encoding: Option<Box<Encoding>>,
}

impl Open {
    pub(super) fn new(
        stream: Stream,
        reader: Reader,
        writer: Writer,
        conn: Connection,
        pause_min: Duration,
    ) -> Self {
        Open {
            stream,
            reader,
            writer,
            ext: None,
            conn,
            queue: VecDeque::new(),
            unflushed: 0,
            pong: None,
            owed: 0,
            blocked: false,
            flooded: false,
            flood_told: false,
            failed: None,
            last_rx: Instant::now(),
            ping_sent: None,
            msgs: 0,
            kept: false,
            paused: false,
            wake_on_drain: false,
            progress: None,
            pause_retry: None,
            pause_backoff: pause_min,
            discarded: (0, 0),
            closing: None,
            encoding: None,
        }
    }

    /// Bytes this worker holds for the host's buffered amount: handed to the writer and not
    /// yet written, and queued.
    pub(super) fn held(&self) -> usize {
        let queued: usize = self
            .queue
            .iter()
            .map(|o| if let Out::Msg(_, l) = o { *l } else { 0 })
            .sum();
        self.unflushed + queued
    }
}

/// Why a connection ends.
pub(super) struct End {
    pub code: u16,
    pub reason: String,
    pub error: Option<Error>,
}

impl End {
    pub(super) fn new(code: u16, reason: impl Into<String>) -> Self {
        End {
            code,
            reason: reason.into(),
            error: None,
        }
    }
    pub(super) fn err(code: u16, error: Error) -> Self {
        End {
            code,
            reason: String::new(),
            error: Some(error),
        }
    }
}
