//! State `Open`: an open WebSocket (and one that is closing, whose close is tracked by module
//! `closing`). Reading messages to the handler (with pausing when it wants none), moving queued
//! sends into the protocol buffer and the socket, keepalive, and the TLS buffer sweep.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::CloseFrame;
use tungstenite::{Message, WebSocket};

use super::closing::{protocol_end, Closing};
use super::pausing::{self, Hold};
use super::slot::{End, Open, Out, State, TimerKind};
use super::{would_block, Worker};
use crate::conn::{self, close_code, Connection, Link};
use crate::error::{Error, ErrorKind};
use crate::handler::MessageKind;
use crate::io::direct::{DirectSend, DIRECT_MIN};
use crate::stream::Stream;
use crate::tls;

/// Messages read from one connection before others get a turn.
const READ_BUDGET: usize = 64;
/// A connection whose handler wants no messages (`Handler::wants_messages`) asks again after
/// this, then after twice as long each time it is still refused, up to `PAUSE_RETRY_MAX`.
/// `Connection::resume_reading` (the pull queue calls it as the host catches up) asks at once.
pub(super) const PAUSE_RETRY_MIN: Duration = Duration::from_millis(2);
const PAUSE_RETRY_MAX: Duration = Duration::from_secs(1);
/// A TLS connection that has moved this many messages since the last sweep (or since it opened,
/// while no sweeps run) keeps its record buffers between records; a kept one that moves none
/// between two sweeps releases them again.
const BUSY_MESSAGES: u32 = 16;
const BUFFER_SWEEP: Duration = Duration::from_secs(1);

impl Worker {
    /// The handshake is done (server: 101 written; client: 101 read): enter `Open`, publish
    /// the connection, tell the host, start keepalive, and read the frames that came with the
    /// handshake (in its leftover or OpenSSL's read-ahead, where no readiness event would
    /// announce them).
    pub(super) fn enter_open(&mut self, key: usize, ws: WebSocket<Stream>, link: Arc<Link>) {
        let c = &mut self.conns[key];
        let open = Open::new(ws, Connection { shared: link }, PAUSE_RETRY_MIN);
        c.state = State::Open(Box::new(open));
        c.timers[TimerKind::Handshake as usize] = None;
        let State::Open(o) = &mut c.state else {
            return;
        };
        conn::register(&o.conn.shared);
        o.last_rx = Instant::now();
        let keepalive = c.owner.keepalive;
        o.conn.shared.handler.on_open(&o.conn);
        if !self.conns.contains(key) {
            return;
        }
        if let Some(ka) = keepalive {
            self.arm(key, TimerKind::Keepalive, Instant::now() + ka.interval);
        }
        self.read_messages(key);
    }

    /// `Cmd::Send`: queue a message and pump once the command queue is drained.
    pub(super) fn queue_send(&mut self, key: usize, msg: Message, len: usize) {
        if let State::Open(o) = &mut self.conns[key].state {
            o.queue.push_back(Out::Msg(msg, len));
            self.mark_dirty(key);
        }
    }

    /// `Cmd::Resume`: a paused connection asks its handler again now.
    pub(super) fn resume(&mut self, key: usize) {
        if let State::Open(o) = &self.conns[key].state {
            if o.paused {
                self.again.push(key);
            }
        }
    }

    /// The resume-reading retry came due: ask the handler again by reading (which pauses again
    /// if it still wants nothing).
    pub(super) fn resume_retry(&mut self, key: usize) {
        if let State::Open(o) = &mut self.conns[key].state {
            o.pause_retry = None;
            self.again.push(key);
        }
    }

    pub(super) fn read_messages(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let State::Open(o) = &mut c.state else {
            return;
        };
        let o = &mut **o;
        let conn = &o.conn;
        let mut received = false;
        let mut end = None;
        let mut replying = false;
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
            let closing = o.closing.is_some() || !conn.shared.is_open();
            if let Some(hold) = (!closing).then(|| pausing::hold(&conn.shared)).flatten() {
                o.paused = true;
                match hold {
                    Hold::Backpressure if c.owner.limits.close_on_backpressure => {
                        end = Some(pausing::backpressure_end(o, c.peer));
                    }
                    Hold::Backpressure => o.wake_on_drain = true,
                    Hold::Host => {}
                }
                break;
            }
            let wanted = conn.shared.handler.wants_messages(conn);
            o.paused = !closing && !wanted;
            if !o.paused {
                o.pause_backoff = PAUSE_RETRY_MIN;
            } else {
                if o.pause_retry.is_none() {
                    let at = Instant::now() + o.pause_backoff;
                    o.pause_backoff = (o.pause_backoff * 2).min(PAUSE_RETRY_MAX);
                    o.pause_retry = Some(at);
                    c.timers[TimerKind::Resume as usize] = Some(at);
                    self.timers
                        .push(std::cmp::Reverse((at, key, c.id, TimerKind::Resume)));
                }
                break;
            }
            match o.ws.read() {
                Ok(msg) => {
                    received = true;
                    budget -= 1;
                    match msg {
                        Message::Text(_) | Message::Binary(_) if !wanted => {
                            o.discarded.0 += 1;
                            o.discarded.1 += msg.len();
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
                            o.ping_sent = None;
                            conn.shared.handler.on_pong(conn, &p);
                        }
                        Message::Close(frame) => {
                            // Ends now, or once our reply is written.
                            end = super::closing::peer_close(o, frame);
                            replying = end.is_none();
                            break;
                        }
                        Message::Frame(_) => {}
                    }
                }
                Err(tungstenite::Error::Io(e)) if would_block(&e) => break,
                Err(e) => {
                    let sent = o.closing.as_ref().and_then(Closing::sent);
                    end = Some(protocol_end(e, sent, c.peer, &mut o.ws));
                    break;
                }
            }
        }
        if received {
            o.last_rx = Instant::now();
            o.ping_sent = None;
        }
        if replying {
            let at = Instant::now() + c.owner.limits.close_timeout;
            self.arm(key, TimerKind::Close, at);
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
    pub(super) fn pump(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let State::Open(o) = &mut c.state else {
            return;
        };
        let o = &mut **o;
        let mut sent = false;
        match &o.closing {
            Some(Closing::Replying(_)) => return self.pump_reply(key),
            Some(Closing::Sent { .. }) => sent = true,
            _ => {}
        }
        let mut failed = None;
        let mut written = 0u32;
        loop {
            match finish_direct(&mut o.direct, &o.conn, &mut o.ws) {
                Ok(()) => {}
                Err(e) if would_block(&e) => break,
                Err(e) => {
                    failed = Some(tungstenite::Error::Io(e));
                    break;
                }
            }
            // Flush what is buffered first, so the socket is the only queue that can be full.
            match o.ws.flush() {
                Ok(()) => settle(&mut o.unflushed, &o.conn),
                Err(tungstenite::Error::Io(e)) if would_block(&e) => break,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            let mut wrote = false;
            // After our close frame nothing more may be sent: messages that raced with the close
            // stay queued and are reported as undelivered when the connection finishes.
            while !sent {
                let Some(out) = o.queue.pop_front() else {
                    break;
                };
                wrote = true;
                let r = match out {
                    Out::Msg(msg, len) if len >= DIRECT_MIN && is_data(&msg) => {
                        // Large: written around tungstenite, once its buffer is out.
                        match o.ws.flush() {
                            Ok(()) => settle(&mut o.unflushed, &o.conn),
                            Err(e) => {
                                o.queue.push_front(Out::Msg(msg, len));
                                match e {
                                    tungstenite::Error::Io(e) if would_block(&e) => {}
                                    e => failed = Some(e),
                                }
                                break;
                            }
                        }
                        let masked = c.owner.server.is_none();
                        o.direct = Some(Box::new(direct_send(msg, len, masked)));
                        o.ws.get_mut().hold_writes(true);
                        break;
                    }
                    Out::Msg(msg, len) => {
                        o.unflushed += len;
                        written += 1;
                        o.ws.write(msg)
                    }
                    Out::Close(code, reason) => {
                        let r = o.ws.close(Some(CloseFrame {
                            code,
                            reason: reason.as_str().into(),
                        }));
                        o.closing = Some(Closing::Sent {
                            code: u16::from(code),
                            reason,
                        });
                        sent = true;
                        // Now the peer's answer is awaited, within close_timeout.
                        let at = Instant::now() + c.owner.limits.close_timeout;
                        c.timers[TimerKind::Close as usize] = Some(at);
                        self.timers
                            .push(std::cmp::Reverse((at, key, c.id, TimerKind::Close)));
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
            }
            if failed.is_some() || !wrote {
                break;
            }
        }
        if let Some(e) = failed {
            let end = match e {
                tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                    match o.closing.as_ref().and_then(Closing::sent) {
                        Some((code, reason)) => End::new(code, reason),
                        None => End::new(close_code::NORMAL, ""),
                    }
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
        } else {
            if written > 0 {
                self.moved(key, written);
            }
            self.wake_if_drained(key);
        }
    }

    /// Only our reply to the peer's close (behind earlier data) is left to write; a frame in
    /// progress must be completed first. Then the connection ends.
    fn pump_reply(&mut self, key: usize) {
        let State::Open(o) = &mut self.conns[key].state else {
            return;
        };
        let r = match finish_direct(&mut o.direct, &o.conn, &mut o.ws) {
            Ok(()) => o.ws.flush(),
            Err(e) => Err(tungstenite::Error::Io(e)),
        };
        match r {
            Err(tungstenite::Error::Io(e)) if would_block(&e) => {}
            _ => {
                if let Some(end) = o.closing.take().and_then(Closing::into_reply) {
                    self.finish(key, end);
                }
            }
        }
    }

    /// The keepalive check: ping after `interval` without input, give up `timeout` after an
    /// unanswered ping. Re-arms itself while the connection is open and its close not sent.
    pub(super) fn keepalive(&mut self, key: usize, now: Instant) {
        let c = &mut self.conns[key];
        let Some(ka) = c.owner.keepalive else { return };
        let State::Open(o) = &mut c.state else {
            return;
        };
        if o.closing
            .as_ref()
            .is_some_and(|c| c.is_sent() || c.replying())
        {
            return;
        }
        let next = if o.paused && o.wake_on_drain {
            // Paused because the peer does not take what we send: alive while it takes bytes.
            match pausing::stalled(o, now, ka.interval + ka.timeout) {
                Some(err) => {
                    let err = err.with_peer(Some(c.peer));
                    return self.finish(key, End::err(close_code::ABNORMAL, err));
                }
                None => now + ka.timeout,
            }
        } else if o.paused {
            // We are not reading, so the peer's answers cannot arrive: not its silence.
            o.ping_sent = None;
            o.last_rx = now;
            now + ka.interval
        } else if let Some(sent) = o.ping_sent {
            if now >= sent + ka.timeout {
                let err = Error::new(
                    ErrorKind::Timeout,
                    format!("peer did not answer a ping within {:?}", ka.timeout),
                )
                .with_peer(Some(c.peer));
                return self.finish(key, End::err(close_code::ABNORMAL, err));
            }
            sent + ka.timeout
        } else if now >= o.last_rx + ka.interval {
            o.ping_sent = Some(now);
            o.queue
                .push_back(Out::Msg(Message::Ping(Vec::new().into()), 0));
            self.arm(key, TimerKind::Keepalive, now + ka.timeout);
            return self.pump(key);
        } else {
            o.last_rx + ka.interval
        };
        self.arm(key, TimerKind::Keepalive, next);
    }

    /// Count `n` messages moved by connection `key`; a busy TLS connection keeps its buffers.
    fn moved(&mut self, key: usize, n: u32) {
        let Some(State::Open(o)) = self.conns.get_mut(key).map(|c| &mut c.state) else {
            return;
        };
        o.msgs = o.msgs.saturating_add(n);
        if o.kept || o.msgs < BUSY_MESSAGES {
            return;
        }
        if let Some(ssl) = o.ws.get_ref().ssl() {
            tls::keep_buffers(ssl, true);
            o.kept = true;
            self.sweep_at
                .get_or_insert_with(|| Instant::now() + BUFFER_SWEEP);
        }
    }

    /// Connections that kept their buffers and moved nothing for a period release them again
    /// (idle connections stay small). Sweeps run only while some connection keeps its buffers.
    pub(super) fn sweep(&mut self, now: Instant) {
        let mut kept = false;
        for (_, c) in self.conns.iter_mut() {
            let State::Open(o) = &mut c.state else {
                continue;
            };
            let idle = std::mem::take(&mut o.msgs) == 0;
            if o.kept && idle {
                if let Some(ssl) = o.ws.get_ref().ssl() {
                    tls::keep_buffers(ssl, false);
                }
                o.kept = false;
            }
            kept |= o.kept;
        }
        self.sweep_at = kept.then(|| now + BUFFER_SWEEP);
    }
}

/// Everything handed to tungstenite is on the socket: it no longer counts as buffered.
fn settle(unflushed: &mut usize, conn: &Connection) {
    if *unflushed > 0 {
        conn.shared.buffered.fetch_sub(*unflushed, Ordering::AcqRel);
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
    conn: &Connection,
    ws: &mut WebSocket<Stream>,
) -> std::io::Result<()> {
    let Some(d) = direct else {
        return Ok(());
    };
    let stream = ws.get_mut();
    d.write(|b| stream.write_through(b))?;
    stream.hold_writes(false);
    conn.shared.buffered.fetch_sub(d.len, Ordering::AcqRel);
    *direct = None;
    Ok(())
}
