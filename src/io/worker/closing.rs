//! Closing, the last part of `Open`: what a close still owes and until when. Entered when our
//! close is queued (`Connection::close`, server shutdown) or the peer's close frame arrives;
//! left through `Worker::finish` when the handshake completes, the socket fails, or the close
//! deadline passes. `Link::lifecycle` is set to closing where a host's close starts
//! (`Connection::close`) and here for the two ways the I/O thread starts one.

use std::net::SocketAddr;
use std::time::Instant;

use super::slot::{End, Open, Out, State, TimerKind};
use super::{would_block, Worker};
use crate::conn::close_code;
use crate::error::{Error, ErrorKind};
use crate::stream::Stream;
use crate::ws::{Violation, Writer};

/// What a closing connection still owes.
pub(super) enum Closing {
    /// Our close is queued behind data not yet written; `written` is the socket's byte count
    /// when the close deadline was last (re)armed. It may take longer than `close_timeout` only
    /// while bytes keep moving.
    Queued { written: u64 },
    /// Our close frame is written (or in the writer): the peer's answer is awaited. Nothing
    /// more may be sent.
    Sent { code: u16, reason: String },
    /// The peer closed and our reply is in the writer behind what was there, but the socket is
    /// full: the connection ends as `End` once the reply is written.
    Replying(End),
}

impl Closing {
    /// Our close frame has gone to the writer.
    pub(super) fn is_sent(&self) -> bool {
        matches!(self, Closing::Sent { .. })
    }

    /// Only the reply to the peer's close is left to write.
    pub(super) fn replying(&self) -> bool {
        matches!(self, Closing::Replying(_))
    }

    /// Code and reason of the close we sent.
    pub(super) fn sent(&self) -> Option<(u16, &str)> {
        match self {
            Closing::Sent { code, reason } => Some((*code, reason)),
            _ => None,
        }
    }

    /// How the connection ends once the reply is written.
    pub(super) fn into_reply(self) -> Option<End> {
        match self {
            Closing::Replying(end) => Some(end),
            _ => None,
        }
    }
}

impl Worker {
    /// Our close was requested (`Cmd::Close`, or server shutdown): queue it behind the data
    /// already queued; it must go out within `close_timeout`, extended for as long as that data
    /// keeps moving (`close_deadline`). A paused connection reads again: closing reads on.
    pub(super) fn close_requested(&mut self, key: usize, code: u16, reason: String) {
        let c = &mut self.conns[key];
        let State::Open(o) = &mut c.state else {
            return;
        };
        if o.paused {
            self.again.push(key);
        }
        o.queue.push_back(Out::Close(code, reason));
        if o.closing.is_none() {
            o.closing = Some(Closing::Queued {
                written: o.stream.bytes_written(),
            });
            let at = Instant::now() + c.owner.limits.close_timeout;
            self.arm(key, TimerKind::Close, at);
        }
        self.mark_dirty(key);
    }

    /// The close deadline passed: end the connection, unless our close is still queued behind
    /// data the peer keeps taking.
    pub(super) fn close_deadline(&mut self, key: usize, now: Instant) {
        let c = &mut self.conns[key];
        let peer = c.peer;
        let close_timeout = c.owner.limits.close_timeout;
        let State::Open(o) = &mut c.state else {
            return;
        };
        if let Some(end) = o.failed.take() {
            // Our close after a protocol violation could not be written in time.
            return self.finish(key, end);
        }
        let end = match o.closing.take() {
            None => return,
            Some(Closing::Replying(end)) => end,
            Some(Closing::Sent { code, reason }) => End::new(code, reason),
            Some(Closing::Queued { written: before }) => {
                let written = o.stream.bytes_written();
                if written != before {
                    o.closing = Some(Closing::Queued { written });
                    return self.arm(key, TimerKind::Close, now + close_timeout);
                }
                End::err(
                    close_code::ABNORMAL,
                    Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "our close could not be sent: the peer took no data for {close_timeout:?}"
                        ),
                    )
                    .with_peer(Some(peer))
                    .with_hint(
                        "a peer that stopped reading: the close_timeout limit ended the connection",
                    ),
                )
            }
        };
        self.finish(key, end)
    }
}

/// The peer's close frame arrived: no more sends. Returns how the connection ends now, or
/// `None` when our reply could not be written yet (then `Closing::Replying`; the caller arms
/// the close deadline).
pub(super) fn peer_close(o: &mut Open, code: u16, reason: String) -> Option<End> {
    let close = match o.closing.as_ref().and_then(Closing::sent) {
        Some((code, reason)) => End::new(code, reason),
        None => {
            // Echo the peer's code and reason (RFC 6455 section 5.5.1), behind what the
            // writer holds.
            if code == close_code::NO_STATUS {
                o.writer
                    .control(tungstenite::protocol::frame::coding::Control::Close, &[]);
            } else {
                o.writer.close(code, &reason);
            }
            End::new(code, reason)
        }
    };
    o.conn.shared.stop_sending();
    // If the socket is full, finish once the reply is written (or the close timeout passes)
    // instead of dropping it: the peer would see no close frame.
    match flush(&mut o.writer, &mut o.stream) {
        Err(e) if would_block(&e) => {
            o.closing = Some(Closing::Replying(close));
            None
        }
        _ => Some(close),
    }
}

/// Write what the writer holds to the stream.
pub(super) fn flush(writer: &mut Writer, stream: &mut Stream) -> std::io::Result<()> {
    writer.flush(|b| stream.write_through(b))
}

/// The peer broke the protocol (or a limit): the error for the host, with a hint where one helps.
pub(super) fn violation_error(v: Violation, peer: SocketAddr) -> Error {
    let mut e = Error::new(v.kind, v.message).with_peer(Some(peer));
    if v.code == close_code::TOO_BIG {
        e = e.with_hint(
            "raise limits.max_message_size / max_frame_size / max_frames_per_message if such messages are expected",
        );
    }
    e
}

/// How the end of the peer's stream (without a close frame from it) ends the connection.
pub(super) fn eof_end(close_sent: Option<(u16, &str)>) -> End {
    match close_sent {
        Some((code, reason)) => End::new(code, reason),
        None => End::new(close_code::ABNORMAL, ""),
    }
}

/// The close reason we send when failing the connection with `code`.
pub(super) fn fail_reason(code: u16) -> &'static str {
    match code {
        close_code::TOO_BIG => "message too big",
        close_code::INVALID_PAYLOAD => "invalid UTF-8",
        _ => "protocol error",
    }
}
