//! Closing, the last part of `Open`: what a close still owes and until when. Entered when our
//! close is queued (`Connection::close`, server shutdown) or the peer's close frame arrives;
//! left through `Worker::finish` when the handshake completes, the socket fails, or the close
//! deadline passes. `Link::lifecycle` is set to closing where a host's close starts
//! (`Connection::close`) and here for the two ways the I/O thread starts one.

use std::net::SocketAddr;
use std::time::Instant;

use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::frame::CloseFrame;
use tungstenite::WebSocket;

use super::slot::{End, Open, Out, State, TimerKind};
use super::{would_block, Worker};
use crate::conn::close_code;
use crate::error::{Error, ErrorKind};
use crate::stream::Stream;

/// What a closing connection still owes.
pub(super) enum Closing {
    /// Our close is queued behind data not yet written; `written` is the socket's byte count
    /// when the close deadline was last (re)armed. It may take longer than `close_timeout` only
    /// while bytes keep moving.
    Queued { written: u64 },
    /// Our close frame is written (or in tungstenite's buffer): the peer's answer is awaited.
    /// Nothing more may be sent.
    Sent { code: u16, reason: String },
    /// The peer closed and tungstenite queued our reply behind what was buffered, but the
    /// socket is full: the connection ends as `End` once the reply is written.
    Replying(End),
}

impl Closing {
    /// Our close frame has gone to tungstenite.
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
    pub(super) fn close_requested(&mut self, key: usize, code: CloseCode, reason: String) {
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
                written: o.ws.get_mut().bytes_written(),
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
        let end = match o.closing.take() {
            None => return,
            Some(Closing::Replying(end)) => end,
            Some(Closing::Sent { code, reason }) => End::new(code, reason),
            Some(Closing::Queued { written: before }) => {
                let written = o.ws.get_mut().bytes_written();
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
pub(super) fn peer_close(o: &mut Open, frame: Option<CloseFrame>) -> Option<End> {
    let close = match (frame, o.closing.as_ref().and_then(Closing::sent)) {
        (_, Some((code, reason))) => End::new(code, reason),
        (Some(f), None) => End::new(u16::from(f.code), f.reason.as_str()),
        (None, None) => End::new(close_code::NO_STATUS, ""),
    };
    o.conn.shared.stop_sending();
    // tungstenite queued our reply behind what is buffered. If the socket is full, finish once
    // it is written (or the close timeout passes) instead of dropping it: the peer would see
    // no close frame.
    match o.ws.flush() {
        Err(tungstenite::Error::Io(e)) if would_block(&e) => {
            o.closing = Some(Closing::Replying(close));
            None
        }
        _ => Some(close),
    }
}

/// How a failed read ends the connection: send the matching close code where the protocol allows.
pub(super) fn protocol_end(
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
