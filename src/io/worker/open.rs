//! State `Open`: an open WebSocket (and one that is closing, whose close is tracked by module
//! `closing`). Reading messages to the handler (with pausing when it wants none), moving queued
//! sends into the protocol buffer and the socket, keepalive, and the TLS buffer sweep.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tungstenite::protocol::frame::coding::Control;

use super::closing::{self, eof_end, flush, peer_close, violation_error, Closing};
use super::pausing::{self, Hold};
use super::slot::{End, Open, Out, State, TimerKind};
use super::{would_block, Worker};
use crate::conn::{self, close_code, Connection, Link};
use crate::error::{Error, ErrorKind};
use crate::handler::MessageKind;
use crate::stream::Stream;
use crate::tls;
use crate::ws::{self, direct::DIRECT_MIN, Event, MessageExtension, OutKind, Reader, Role, Writer};

/// Messages read from one connection before others get a turn.
const READ_BUDGET: usize = 64;

/// A compressed message larger than this is compressed this many bytes per turn of the I/O
/// thread (~2–4 ms at zlib level 6), the other connections served in between: whole, a 16 MiB
/// message held the thread for ~300 ms, and a peer could make an echo server do that at will.
pub(crate) const ENCODE_STEP: usize = 256 << 10;
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
    /// The handshake is done (server: 101 written; client: 101 read): enter `Open` with the
    /// negotiated extension `ext`, publish the connection, tell the host, start keepalive, and
    /// read the frames that came with the handshake (in its leftover or OpenSSL's read-ahead,
    /// where no readiness event would announce them).
    pub(super) fn enter_open(
        &mut self,
        key: usize,
        stream: Stream,
        leftover: Vec<u8>,
        link: Arc<Link>,
        ext: Option<Box<dyn MessageExtension>>,
    ) {
        let c = &mut self.conns[key];
        let role = if c.owner.server.is_some() {
            Role::Server
        } else {
            Role::Client
        };
        let reader = Reader::new(role, ws::Limits::from(&c.owner.limits), leftover);
        let mut open = Open::new(
            stream,
            reader,
            Writer::new(role),
            Connection { shared: link },
            PAUSE_RETRY_MIN,
        );
        open.ext = ext;
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
    pub(super) fn queue_send(&mut self, key: usize, msg: ws::Outgoing, len: usize) {
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
        let peer = c.peer;
        let limit = c.owner.limits.send_queue_limit;
        let State::Open(o) = &mut c.state else {
            return;
        };
        let o = &mut **o;
        if o.failed.is_some() || o.flooded {
            // Failed: nothing more is processed. Flooded: the peer reads again first.
            return;
        }
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
            let event = match o.reader.next(o.ext.as_deref_mut()) {
                Ok(Some(event)) => event,
                Ok(None) => match o.reader.read_from(&mut o.stream) {
                    Ok(0) => {
                        end = Some(eof_end(o.closing.as_ref().and_then(Closing::sent)));
                        break;
                    }
                    Ok(_) => continue,
                    Err(e) if would_block(&e) => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let err = Error::from_io("connection failed", &e).with_peer(Some(peer));
                        end = Some(End::err(close_code::ABNORMAL, err));
                        break;
                    }
                },
                Err(v) => {
                    let code = v.code;
                    let err = violation_error(v, peer);
                    match o.closing.as_ref().and_then(Closing::sent) {
                        // Our close is out already: the connection ends here.
                        Some(_) => end = Some(End::err(code, err)),
                        None => {
                            // Fail the connection (RFC 6455 section 7.1.7), but after the
                            // messages the host queued before this arrived (they may still be
                            // in the command channel: the close is queued at the next pump).
                            conn.shared.stop_sending();
                            o.queue.retain(|out| matches!(out, Out::Msg(..)));
                            o.closing = None;
                            o.failed = Some(End::err(code, err));
                        }
                    }
                    break;
                }
            };
            received = true;
            budget -= 1;
            match event {
                Event::Message { .. } if !wanted => {
                    if let Event::Message { data, .. } = event {
                        o.discarded.0 += 1;
                        o.discarded.1 += data.len();
                    }
                }
                Event::Message { text, data, .. } => {
                    let kind = if text {
                        MessageKind::Text
                    } else {
                        MessageKind::Binary
                    };
                    conn.shared.handler.on_message_owned(conn, kind, data)
                }
                Event::Ping(p) => {
                    // Answer the latest ping only (RFC 6455 section 5.5.3) once the writer is
                    // idle; count what a reply to each would hold against the queue limit.
                    if o.closing.is_none() && !o.blocked && !o.writer.batch_full() {
                        // The socket takes our output: answer this one now (counted in the
                        // buffered amount until it is written).
                        o.writer.control(Control::Pong, &p);
                        o.unflushed += p.len() + 2;
                        conn.shared
                            .buffered
                            .fetch_add(p.len() + 2, Ordering::AcqRel);
                    } else if o.closing.is_none() {
                        o.owed += p.len() + 2;
                        o.pong = Some(p);
                        if o.owed + o.held() > limit && !o.writer.is_idle() {
                            o.flooded = true;
                            if std::mem::replace(&mut o.flood_told, true) {
                                break;
                            }
                            let err = Error::new(
                                ErrorKind::Backpressure,
                                format!("the peer sends pings faster than it reads our answers (over the {limit}-byte send queue limit): reading it is paused until it catches up"),
                            )
                            .with_peer(Some(peer));
                            conn.shared.handler.on_error(Some(conn), &err);
                            break;
                        }
                    }
                }
                Event::Pong(p) => {
                    o.ping_sent = None;
                    conn.shared.handler.on_pong(conn, &p);
                }
                Event::Close { code, reason } => {
                    // Ends now, or once our reply is written.
                    end = peer_close(o, code, reason);
                    replying = end.is_none();
                    break;
                }
            }
        }
        if received {
            o.last_rx = Instant::now();
            o.ping_sent = None;
        }
        let read = (READ_BUDGET - budget) as u32;
        let failed = o.failed.is_some();
        let close_timeout = c.owner.limits.close_timeout;
        if replying {
            self.arm(key, TimerKind::Close, Instant::now() + close_timeout);
        }
        match end {
            Some(end) => self.finish(key, end),
            None if failed => {
                // Pumped after the command channel is drained (see `Open::failed`).
                self.arm(key, TimerKind::Close, Instant::now() + close_timeout);
                self.mark_dirty(key);
            }
            None => {
                self.moved(key, read);
                self.pump(key);
            }
        }
    }

    /// The peer broke the protocol and our close is not queued yet: it must wait for the sends
    /// still in the command channel (the dirty pass after the commands pumps it).
    pub(super) fn awaits_commands(&self, key: usize) -> bool {
        match &self.conns[key].state {
            State::Open(o) => {
                o.failed.is_some()
                    && o.closing.is_none()
                    && !o.queue.iter().any(|out| matches!(out, Out::Close(..)))
            }
            _ => false,
        }
    }

    /// Move queued messages into the writer and write, until the socket is full.
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
        if let Some(end) = &o.failed {
            if !sent && !o.queue.iter().any(|out| matches!(out, Out::Close(..))) {
                // The host's messages from before the violation are queued now: our close
                // goes behind them.
                o.queue
                    .push_back(Out::Close(end.code, closing::fail_reason(end.code).into()));
            }
        }
        let mut failed = None;
        let mut written = 0u32;
        let mut resumed = false;
        // One compression step per pump; `encode_more`: the message needs another turn.
        let (mut stepped, mut encode_more) = (false, false);
        loop {
            // Write what the writer holds first, so the socket is the only queue that can be
            // full.
            match flush(&mut o.writer, &mut o.stream) {
                Ok(()) => {
                    settle(&mut o.unflushed, &o.conn);
                    o.owed = 0;
                    o.blocked = false;
                    resumed |= std::mem::take(&mut o.flooded);
                }
                Err(e) if would_block(&e) => {
                    o.blocked = true;
                    break;
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
            if sent && o.failed.is_some() {
                // Our close after a violation is out: done.
                break;
            }
            let mut wrote = false;
            if let Some(p) = o.pong.take() {
                if !sent {
                    answer(o, &p);
                    wrote = true;
                }
            }
            // After our close frame nothing more may be sent: messages that raced with the close
            // stay queued and are reported as undelivered when the connection finishes.
            while !sent && !o.writer.batch_full() {
                let Some(out) = o.queue.pop_front() else {
                    break;
                };
                match out {
                    Out::Msg(msg, len) if len >= DIRECT_MIN && !o.writer.is_idle() => {
                        // Large: written from its payload once the writer is empty.
                        o.queue.push_front(Out::Msg(msg, len));
                        break;
                    }
                    Out::Msg(msg, len)
                        if len > ENCODE_STEP
                            && msg.compress
                            && msg.kind != OutKind::Ping
                            && o.ext.is_some() =>
                    {
                        if stepped {
                            // This pump compressed already: the next step is the next turn's.
                            o.queue.push_front(Out::Msg(msg, len));
                            encode_more = true;
                            break;
                        }
                        stepped = true;
                        let progress = o.encoding.get_or_insert_with(Box::default);
                        let Some(ext) = o.ext.as_deref_mut() else {
                            unreachable!("checked by the guard")
                        };
                        match ext.encode_step(&msg.payload, progress, ENCODE_STEP) {
                            Ok(None) => {
                                o.queue.push_front(Out::Msg(msg, len));
                                encode_more = true;
                                break;
                            }
                            Ok(Some(rsv1)) => {
                                let done = o.encoding.take().map(|p| p.out).unwrap_or_default();
                                wrote = true;
                                written += 1;
                                o.unflushed += len;
                                let text = msg.kind == OutKind::Text;
                                if rsv1 {
                                    o.writer.encoded_message(text, bytes::Bytes::from(done));
                                } else if let Err(e) =
                                    o.writer.message(text, msg.payload, false, None)
                                {
                                    failed = Some(std::io::Error::other(e.message));
                                    break;
                                }
                            }
                            Err(e) => {
                                failed = Some(std::io::Error::other(e.message));
                                break;
                            }
                        }
                    }
                    Out::Msg(msg, len) => {
                        wrote = true;
                        written += 1;
                        o.unflushed += len;
                        let r = match msg.kind {
                            OutKind::Ping => {
                                o.writer.control(Control::Ping, &msg.payload);
                                Ok(())
                            }
                            kind => o.writer.message(
                                kind == OutKind::Text,
                                msg.payload,
                                msg.compress,
                                o.ext.as_deref_mut(),
                            ),
                        };
                        if let Err(e) = r {
                            failed = Some(std::io::Error::other(e.message));
                            break;
                        }
                    }
                    Out::Close(code, reason) if !o.writer.is_idle() => {
                        // Our close goes to the writer only once what is ahead of it is on the
                        // wire: until then it is `Queued`, whose deadline tells a peer that
                        // stopped taking data (Timeout) from one that does not answer a close.
                        o.queue.push_front(Out::Close(code, reason));
                        break;
                    }
                    Out::Close(code, reason) => {
                        wrote = true;
                        o.writer.close(code, &reason);
                        o.closing = Some(Closing::Sent { code, reason });
                        sent = true;
                        if o.failed.is_none() {
                            // Now the peer's answer is awaited, within close_timeout.
                            let at = Instant::now() + c.owner.limits.close_timeout;
                            c.timers[TimerKind::Close as usize] = Some(at);
                            self.timers
                                .push(std::cmp::Reverse((at, key, c.id, TimerKind::Close)));
                        }
                    }
                }
            }
            if failed.is_some() || !wrote {
                break;
            }
        }
        let done_failing = o.failed.is_some() && sent && o.writer.is_idle();
        if let Some(e) = failed {
            let end = match o.failed.take() {
                Some(end) => end,
                None => End::err(
                    close_code::ABNORMAL,
                    Error::from_io("sending failed", &e).with_peer(Some(c.peer)),
                ),
            };
            self.finish(key, end);
        } else if done_failing {
            if let Some(end) = o.failed.take() {
                self.finish(key, end);
            }
        } else {
            if written > 0 {
                self.moved(key, written);
            }
            if resumed {
                self.again.push(key);
            }
            if encode_more {
                self.pump_again.push(key);
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
        match flush(&mut o.writer, &mut o.stream) {
            Err(e) if would_block(&e) => {}
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
        } else if o.paused || o.flooded {
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
            o.queue.push_back(Out::Msg(
                ws::Outgoing {
                    kind: OutKind::Ping,
                    payload: bytes::Bytes::new(),
                    compress: false,
                },
                0,
            ));
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
        if let Some(ssl) = o.stream.ssl() {
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
                if let Some(ssl) = o.stream.ssl() {
                    tls::keep_buffers(ssl, false);
                }
                o.kept = false;
            }
            kept |= o.kept;
        }
        self.sweep_at = kept.then(|| now + BUFFER_SWEEP);
    }
}

/// Hand the pong for ping payload `p` to the writer: counted in the buffered amount (and so
/// against the queue limit) until it is written.
fn answer(o: &mut Open, p: &[u8]) {
    o.writer.control(Control::Pong, p);
    o.unflushed += p.len() + 2;
    o.conn
        .shared
        .buffered
        .fetch_add(p.len() + 2, Ordering::AcqRel);
}

/// Everything handed to the writer is on the socket: it no longer counts as buffered.
fn settle(unflushed: &mut usize, conn: &Connection) {
    if *unflushed > 0 {
        conn.shared.buffered.fetch_sub(*unflushed, Ordering::AcqRel);
        *unflushed = 0;
    }
}
