//! One I/O thread: a mio poll loop over the connections it owns, their commands and timers.
//!
//! This module is the loop and what is common to every state: dispatching readiness, commands
//! and timers to the state a connection is in, containing panics, and `finish`, the one way a
//! connection ends. What happens *in* each state is in the module named after it (see
//! `slot.rs` for the map).

mod accept;
mod closing;
mod dial;
mod drain;
mod open;
mod pausing;
mod slot;
mod tls_accept;
mod upgrade;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, TryRecvError};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Poll, Token};
use slab::Slab;

use super::{Cmd, Owner, WorkerHandle, CURRENT, LISTENER, WAKER};
use crate::conn::{self, close_code, Connection, Link};
use crate::error::{Error, ErrorKind};
pub(crate) use dial::{ClientTls, Dial};
use slot::{End, Out, Slot, State, TimerKind};

pub(crate) struct Worker {
    handle: Arc<WorkerHandle>,
    poll: Poll,
    rx: Receiver<Cmd>,
    conns: Slab<Slot>,
    /// Armed connection timers: (due, slab key, connection id, kind).
    timers: BinaryHeap<Reverse<(Instant, usize, u64, TimerKind)>>,
    listener: Option<(TcpListener, Arc<Owner>, Vec<Arc<WorkerHandle>>)>,
    accept_paused_until: Option<Instant>,
    rr: usize,
    /// Connections to read again (budget used up, resumed, retry due) before the next poll.
    again: Vec<usize>,
    /// Connections to pump again before the next poll (a large message compressing a step per
    /// turn).
    pump_again: Vec<usize>,
    /// Connections with newly queued output, pumped after the command queue is drained.
    dirty: Vec<usize>,
    /// Next sweep of busy connections' TLS buffers (None: no connection keeps them).
    sweep_at: Option<Instant>,
    /// `Cmd::Stop` arrived.
    stopping: bool,
}

fn would_block(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Worker {
    pub(crate) fn new(handle: Arc<WorkerHandle>, poll: Poll, rx: Receiver<Cmd>) -> Self {
        Worker {
            handle,
            poll,
            rx,
            conns: Slab::new(),
            timers: BinaryHeap::new(),
            listener: None,
            accept_paused_until: None,
            rr: 0,
            again: Vec::new(),
            pump_again: Vec::new(),
            dirty: Vec::new(),
            sweep_at: None,
            stopping: false,
        }
    }

    pub(crate) fn run(mut self) {
        CURRENT.with(|c| c.set(self.handle.uid));
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = if self.again.is_empty() && self.pump_again.is_empty() {
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
            for k in std::mem::take(&mut self.pump_again) {
                // A connection whose peer just broke the protocol is pumped after the commands
                // (its close goes behind the host's sends still in the channel).
                if self.conns.contains(k) && !self.awaits_commands(k) {
                    self.guarded(Some(k), |w| w.pump(k));
                }
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
            if let State::Open(o) = &mut self.conns[key].state {
                o.writer.close(close_code::INTERNAL, "internal error");
                let _ = closing::flush(&mut o.writer, &mut o.stream);
            }
            self.finish(key, End::err(close_code::INTERNAL, err));
        }));
        if ending.is_err() {
            // The close callbacks panicked too: drop the connection without further calls.
            if let Some(mut c) = self.conns.try_remove(key) {
                if let State::Open(o) = &mut c.state {
                    let _ = self.poll.registry().deregister(o.stream.tcp());
                    conn::unregister(c.id);
                    o.conn.shared.buffered.fetch_sub(o.held(), Ordering::AcqRel);
                    o.conn.shared.mark_closed(close_code::INTERNAL, "");
                }
                if c.counted {
                    if let Some(server) = &c.owner.server {
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

    // ---------------------------------------------------------------- timers

    /// Arm (or move) connection `key`'s timer of `kind`.
    fn arm(&mut self, key: usize, kind: TimerKind, at: Instant) {
        let c = &mut self.conns[key];
        c.timers[kind as usize] = Some(at);
        self.timers.push(Reverse((at, key, c.id, kind)));
    }

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

    /// Connection `key`'s timer of `kind` came due: the state that armed it decides.
    fn timer(&mut self, key: usize, kind: TimerKind, now: Instant) {
        match kind {
            TimerKind::Handshake => self.handshake_expired(key),
            TimerKind::Linger => self.finish(key, End::new(close_code::ABNORMAL, "")),
            TimerKind::Close => self.close_deadline(key, now),
            TimerKind::Keepalive => self.keepalive(key, now),
            TimerKind::Resume => self.resume_retry(key),
        }
    }

    /// The handshake (TLS + HTTP upgrade) did not finish within `handshake_timeout` (server)
    /// or `connect_timeout` (client).
    fn handshake_expired(&mut self, key: usize) {
        match &self.conns[key].state {
            State::AwaitDecision { .. } => return self.decision_expired(key),
            State::ReadRequest { buf, .. } if !buf.is_empty() => return self.request_expired(key),
            state if state.dial().is_some() => return self.dial_expired(key),
            _ => {}
        }
        let peer = self.conns[key].peer;
        let err = Error::new(ErrorKind::Timeout, "handshake did not complete in time")
            .with_peer(Some(peer))
            .with_hint("a slow or stalled client (or a ws:// client on a wss:// port): the handshake_timeout limit closed it");
        self.finish(key, End::err(close_code::ABNORMAL, err));
    }

    // ---------------------------------------------------------------- commands

    /// Handle queued commands until the queue is empty; false when told to stop.
    fn drain_commands(&mut self) -> bool {
        loop {
            self.handle.wake_pending.store(false, Ordering::Release);
            let mut any = false;
            loop {
                match self.rx.try_recv() {
                    Ok(cmd) => {
                        any = true;
                        self.guarded(None, |w| w.command(cmd));
                        if self.stopping {
                            return false;
                        }
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

    /// The slab key of a host's connection, if this worker still has it.
    fn key_of(&self, link: &Link) -> Option<usize> {
        let k = link.key.load(Ordering::Acquire);
        self.conns.get(k).filter(|c| c.id == link.id).map(|_| k)
    }

    fn mark_dirty(&mut self, key: usize) {
        let c = &mut self.conns[key];
        if !c.dirty {
            c.dirty = true;
            self.dirty.push(key);
        }
    }

    #[inline(never)] // keeps the hot command loop small (crossbeam try_recv stays inlined)
    fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Send { conn, msg, len } => match self.key_of(&conn) {
                Some(k) => self.queue_send(k, msg, len),
                None => {
                    // The send passed the open check just before the connection ended: too late
                    // to deliver, so say so (this may follow on_close).
                    conn.buffered.fetch_sub(len, Ordering::AcqRel);
                    if msg.is_data() {
                        let e = Error::new(
                            ErrorKind::NotConnected,
                            format!("a {len}-byte message was not delivered: the connection closed while it was being queued"),
                        )
                        .with_peer(Some(conn.info().remote));
                        conn.handler.on_error(
                            Some(&Connection {
                                shared: conn.clone(),
                            }),
                            &e,
                        );
                    }
                }
            },
            Cmd::Decide { key, id, decision } => {
                if self.conns.get(key).is_some_and(|c| c.id == id) {
                    self.decided(key, decision);
                    self.read_on(key);
                }
            }
            Cmd::Resume { conn } => {
                if let Some(k) = self.key_of(&conn) {
                    self.resume(k);
                }
            }
            Cmd::Close { conn, code, reason } => {
                if let Some(k) = self.key_of(&conn) {
                    self.close_requested(k, code, reason);
                }
            }
            Cmd::Accept {
                tcp,
                peer,
                owner,
                id,
            } => self.take_socket(tcp, peer, owner, id),
            Cmd::Listen {
                listener,
                owner,
                peers,
            } => self.listen(listener, owner, peers),
            Cmd::Dial { dial, owner } => self.dial(dial, owner),
            Cmd::Resolved { conn, addrs } => {
                if let Some(k) = self.key_of(&conn) {
                    self.resolved(k, addrs);
                }
            }
            Cmd::Cancel { conn } => {
                if let Some(k) = self.key_of(&conn) {
                    self.cancel(k);
                }
            }
            Cmd::CloseAll { owner, code } => self.close_all(&owner, code),
            Cmd::Stop => self.stopping = true,
        }
    }

    /// Graceful shutdown of `owner` (a server): stop listening, close open connections after
    /// their queued messages, drop those still handshaking.
    fn close_all(&mut self, owner: &Arc<Owner>, code: u16) {
        if self
            .listener
            .as_ref()
            .is_some_and(|(_, o, _)| Arc::ptr_eq(o, owner))
        {
            if let Some((mut l, _, _)) = self.listener.take() {
                let _ = self.poll.registry().deregister(&mut l);
            }
        }
        let keys: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| Arc::ptr_eq(&c.owner, owner))
            .map(|(k, _)| k)
            .collect();
        for k in keys {
            match &self.conns[k].state {
                State::Open(o) => {
                    o.conn.shared.stop_sending();
                    self.close_requested(k, code, "server shutting down".into());
                }
                _ => self.finish(k, End::new(close_code::ABNORMAL, "server shutting down")),
            }
        }
    }

    // ---------------------------------------------------------------- readiness

    /// The peer shut down its side (or the socket failed): reads must reach the kernel from now
    /// on to see the end, so stop skipping reads after short ones.
    fn peer_closed(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if let Some(tcp) = c.state.tcp() {
            tcp.untrack();
        }
        if matches!(c.state, State::AwaitDecision { .. }) {
            // Nobody is left to answer: drop it (`Server::decide` then says NotConnected).
            self.finish(key, End::new(close_code::ABNORMAL, ""));
        }
    }

    /// Make progress on connection `key` after readiness (or a command): its state decides.
    fn drive(&mut self, key: usize, readable: bool, writable: bool) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if readable {
            if let Some(tcp) = c.state.tcp() {
                tcp.readable();
            }
        }
        match &c.state {
            State::TlsAccept(_) => self.drive_tls_accept(key),
            State::ReadRequest { .. } => self.read_request(key),
            State::AwaitDecision { .. } => {}
            State::WriteResponse { .. } => self.write_response(key),
            State::Resolving(_) => {}
            State::Connecting(..) => self.drive_connecting(key),
            State::TlsConnect(..) => self.drive_tls_connect(key),
            State::WriteRequest { .. } => self.write_request(key),
            State::ReadResponse { .. } => self.read_response(key),
            State::Open(o) => {
                if readable && !o.closing.as_ref().is_some_and(|c| c.replying()) {
                    self.read_messages(key);
                }
                if writable && self.conns.contains(key) && !self.awaits_commands(key) {
                    self.pump(key);
                }
            }
            State::Drain(_) => self.drain(key),
            State::Gone => {}
        }
        self.read_on(key);
    }

    /// A read on `key` yielded with input still buffered (records without application data
    /// used up its share, see `stream::tls_read`): read on in the next turn, after others.
    fn read_on(&mut self, key: usize) {
        if let Some(tcp) = self.conns.get_mut(key).and_then(|c| c.state.tcp()) {
            if tcp.take_again() {
                self.again.push(key);
            }
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

    // ---------------------------------------------------------------- ending

    /// Stop watching a socket that is about to be closed. On Linux closing the (only) descriptor
    /// removes it from epoll, so the extra `epoll_ctl` per connection is skipped there.
    fn forget(&self, sock: &mut TcpStream) {
        if !cfg!(target_os = "linux") {
            let _ = self.poll.registry().deregister(sock);
        }
    }

    /// The one way out of every state: remove the connection, tell the host, release its slot.
    fn finish(&mut self, key: usize, end: End) {
        let Some(mut c) = self.conns.try_remove(key) else {
            return;
        };
        let stream = match &mut c.state {
            State::TlsAccept(s) | State::TlsConnect(_, s) => {
                self.forget(s.get_mut().sock_mut());
                None
            }
            State::Connecting(_, tcp) => {
                self.forget(tcp);
                None
            }
            State::ReadRequest { stream, .. }
            | State::AwaitDecision { stream, .. }
            | State::WriteResponse { stream, .. }
            | State::WriteRequest { stream, .. }
            | State::ReadResponse { stream, .. }
            | State::Drain(stream) => Some(stream),
            State::Open(o) => Some(&mut o.stream),
            State::Resolving(_) | State::Gone => None,
        };
        if let Some(s) = stream {
            self.forget(s.tcp());
            if end.code != close_code::ABNORMAL || end.error.is_none() {
                s.shutdown_tls();
            }
        }
        if let Some(server) = &c.owner.server {
            if matches!(
                c.state,
                State::AwaitDecision { .. } | State::ReadRequest { .. }
            ) {
                // A deferred decision, or one listed while the accept hook ran (it panicked).
                server.deferred.lock().remove(&c.id);
            }
            if c.counted {
                server.release();
            }
        }
        match &c.state {
            State::Open(o) => self.report_end(c.id, c.peer, o, &end),
            state => match state.dial() {
                Some(d) => self.report_failed_dial(&d.link, d.report_failure, &end),
                None => {
                    if let (Some(e), Some(server)) = (&end.error, &c.owner.server) {
                        server.default_handler.on_error(None, e);
                    }
                }
            },
        }
    }

    /// An open connection ended: settle its accounting, then the host's callbacks.
    fn report_end(&self, id: u64, peer: std::net::SocketAddr, o: &slot::Open, end: &End) {
        let conn = &o.conn;
        let handler = &conn.shared.handler;
        conn::unregister(id);
        // Release exactly what this worker still accounts for (before any callback, which
        // could panic); sends still in the channel subtract their own length when they arrive
        // (`command`, no key).
        conn.shared.buffered.fetch_sub(o.held(), Ordering::AcqRel);
        conn.shared.mark_ending();
        // A message the writer had started (a large one, or a batch) counts as undelivered
        // when the socket had not taken all of it.
        let started = usize::from(o.unflushed > 0 && !o.writer.is_idle());
        let (count, bytes) =
            o.queue
                .iter()
                .fold((started, started * o.unflushed), |(n, b), out| match out {
                    Out::Msg(m, len) if m.is_data() => (n + 1, b + len),
                    _ => (n, b),
                });
        let callbacks = catch_unwind(AssertUnwindSafe(|| {
            if let Some(e) = &end.error {
                handler.on_error(Some(conn), e);
            }
            if count > 0 {
                let e = Error::new(
                    ErrorKind::NotConnected,
                    format!("{count} queued message(s) ({bytes} bytes) were not delivered: the connection closed"),
                )
                .with_peer(Some(peer));
                handler.on_error(Some(conn), &e);
            }
            if o.discarded.0 > 0 {
                let (n, b) = o.discarded;
                let e = Error::new(
                    ErrorKind::Backpressure,
                    format!("{n} message(s) ({b} bytes) the peer sent while the connection was closing were dropped: the host was not taking events"),
                )
                .with_peer(Some(peer));
                handler.on_error(Some(conn), &e);
            }
            handler.on_close(conn, end.code, &end.reason);
        }));
        // That was the connection's last callback: the host's data goes (even after a panic).
        conn.shared.release_user_data();
        // Waiters (`Client::close`, `wss_*_close`) are released even if a callback panicked;
        // the panic then goes on to `guarded`.
        conn.shared.mark_closed(end.code, &end.reason);
        if let Err(panic) = callbacks {
            std::panic::resume_unwind(panic);
        }
    }

    fn drop_all(&mut self) {
        let keys: Vec<usize> = self.conns.iter().map(|(k, _)| k).collect();
        for k in keys {
            self.finish(k, End::new(close_code::ABNORMAL, "endpoint stopped"));
        }
    }
}
