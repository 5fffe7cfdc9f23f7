//! The incoming half of the message layer: bytes in, events out (sans I/O).
//!
//! Frame headers are parsed by tungstenite's `FrameHeader::parse`; everything above the frame is
//! ours: the RFC 6455 section 5 checks, message assembly, limits, and UTF-8 validation of text
//! as it arrives. A frame's payload stays in the input buffer until the frame is complete (a
//! single-frame message is then handed out without a copy); text is unmasked and validated in
//! place as each read brings more of it, so invalid UTF-8 fails the connection at once.

use std::io::{self, Cursor, Read};

use bytes::{Buf, Bytes, BytesMut};
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use super::ext::MessageExtension;
use super::mask::apply_mask;
use super::utf8::Utf8;
use super::{Limits, Role};
use crate::conn::close_code;
use crate::error::ErrorKind;

/// Smallest read into the input buffer (also what an idle connection keeps allocated).
const READ_CHUNK: usize = 2048;
/// Largest read: one call takes at most this much of a large frame.
const READ_MAX: usize = 64 << 10;
/// Longest frame header (2 + 8 length + 4 mask).
const HEADER_MAX: usize = 14;

/// Something the peer sent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A complete data message (text already validated as UTF-8); `rsv1` when its first frame
    /// had RSV1 set (its payload is what the extension decoded).
    Message { text: bool, data: Bytes, rsv1: bool },
    /// A ping with its payload (at most 125 bytes).
    Ping(Bytes),
    /// A pong with its payload.
    Pong(Bytes),
    /// A valid close frame: the code (1005 when the frame had no body) and reason. Nothing more
    /// is read after it.
    Close { code: u16, reason: String },
}

/// The peer broke the protocol or a limit: the close code to send, the error kind and a
/// plain-English message for the host. Nothing more is read after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub code: u16,
    pub kind: ErrorKind,
    pub message: String,
}

impl Violation {
    fn protocol(message: impl Into<String>) -> Self {
        Violation {
            code: close_code::PROTOCOL_ERROR,
            kind: ErrorKind::Protocol,
            message: message.into(),
        }
    }

    fn too_big(message: String) -> Self {
        Violation {
            code: close_code::TOO_BIG,
            kind: ErrorKind::MessageTooBig,
            message,
        }
    }

    fn utf8(what: &str) -> Self {
        Violation {
            code: close_code::INVALID_PAYLOAD,
            kind: ErrorKind::Protocol,
            message: format!("peer sent invalid UTF-8 in {what}"),
        }
    }
}

/// The frame whose payload is arriving.
#[derive(Debug)]
struct Frame {
    fin: bool,
    opcode: OpCode,
    mask: Option<[u8; 4]>,
    len: usize,
    /// Payload bytes at the front of the buffer already unmasked (and, for text that is not
    /// encoded by an extension, validated).
    seen: usize,
}

/// A fragmented data message being assembled.
#[derive(Debug)]
struct Partial {
    text: bool,
    rsv1: bool,
    data: Vec<u8>,
}

/// Reads one connection's frames and turns them into [`Event`]s.
#[derive(Debug)]
pub(crate) struct Reader {
    role: Role,
    limits: Limits,
    buf: BytesMut,
    frame: Option<Frame>,
    /// The data message in progress: its first frame's opcode was text, RSV1 set, frames so far.
    text: bool,
    rsv1: bool,
    frames: usize,
    /// A fragmented message (its first frame was not final).
    partial: Option<Partial>,
    utf8: Utf8,
    /// A close or a violation was returned: nothing more is read.
    done: bool,
}

impl Reader {
    /// A reader for `role` (what it expects of the peer's masking) with `limits`, starting with
    /// `leftover` (bytes that arrived with the upgrade).
    pub(crate) fn new(role: Role, limits: Limits, leftover: Vec<u8>) -> Self {
        Reader {
            role,
            limits,
            buf: BytesMut::from(&leftover[..]),
            frame: None,
            text: false,
            rsv1: false,
            frames: 0,
            partial: None,
            utf8: Utf8::default(),
            done: false,
        }
    }

    /// Append bytes (tests and fuzzing; the engine reads with [`Reader::read_from`]).
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// A close or a violation has been returned: nothing more is read.
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Read once from `src` into the input buffer: as much as the frame in progress still needs
    /// (between 2 KiB and 64 KiB per call). `Ok(0)` is the end of the stream.
    pub(crate) fn read_from(&mut self, src: &mut impl Read) -> io::Result<usize> {
        let want = match &self.frame {
            Some(f) => (f.len - self.buf.len().min(f.len)).clamp(READ_CHUNK, READ_MAX),
            None => READ_CHUNK,
        };
        let len = self.buf.len();
        self.buf.reserve(want);
        self.buf.resize(len + want, 0);
        let r = src.read(&mut self.buf[len..]);
        self.buf.truncate(len + *r.as_ref().unwrap_or(&0));
        r
    }

    /// The next event from the bytes buffered so far: `Ok(None)` when more input is needed
    /// (what has arrived of a text frame is validated already). `ext` is the negotiated
    /// extension, if any: RSV1 is accepted only with one.
    pub(crate) fn next(
        &mut self,
        ext: Option<&mut (dyn MessageExtension + '_)>,
    ) -> Result<Option<Event>, Violation> {
        if self.done {
            return Ok(None);
        }
        let r = self.step(ext);
        if matches!(r, Err(_) | Ok(Some(Event::Close { .. }))) {
            self.done = true;
        }
        r
    }

    fn step(
        &mut self,
        mut ext: Option<&mut (dyn MessageExtension + '_)>,
    ) -> Result<Option<Event>, Violation> {
        loop {
            if self.frame.is_none() && !self.header(ext.is_some())? {
                return Ok(None);
            }
            let f = self.frame.as_mut().expect("a frame header was parsed");
            let have = self.buf.len().min(f.len);
            if have > f.seen {
                // Unmask what arrived; validate text that no extension encodes as it comes.
                let new = &mut self.buf[f.seen..have];
                if let Some(m) = f.mask {
                    apply_mask(new, m, f.seen);
                }
                if matches!(f.opcode, OpCode::Data(_)) && self.text && !self.rsv1 {
                    self.utf8
                        .push(new)
                        .map_err(|_| Violation::utf8("a text message"))?;
                }
                f.seen = have;
            }
            if have < f.len {
                return Ok(None);
            }
            let f = self.frame.take().expect("checked above");
            let payload = self.buf.split_to(f.len);
            match f.opcode {
                OpCode::Control(c) => return control(c, payload).map(Some),
                OpCode::Data(_) => {
                    if let Some(ev) = self.data(f.fin, payload, ext.as_deref_mut())? {
                        return Ok(Some(ev));
                    }
                }
            }
        }
    }

    /// Parse the next frame header if it is in, and check it. False when more input is needed.
    fn header(&mut self, ext: bool) -> Result<bool, Violation> {
        let mut cur = Cursor::new(&self.buf[..]);
        let parsed = FrameHeader::parse(&mut cur).map_err(|e| match e {
            tungstenite::Error::Protocol(tungstenite::error::ProtocolError::InvalidOpcode(n)) => {
                Violation::protocol(format!(
                    "peer sent a frame with invalid opcode {n} (reserved)"
                ))
            }
            other => Violation::protocol(format!("peer sent an unreadable frame header ({other})")),
        })?;
        let Some((h, len)) = parsed else {
            debug_assert!(self.buf.len() < HEADER_MAX, "a header is at most 14 bytes");
            return Ok(false);
        };
        let at = cur.position() as usize;
        if h.rsv2 || h.rsv3 {
            return Err(Violation::protocol(
                "peer sent a frame with Reserved bits RSV2/RSV3 set (no extension uses them)",
            ));
        }
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => {
                return Err(Violation::protocol(
                    "peer sent an unmasked frame (clients must mask every frame)",
                ))
            }
            (Role::Client, true) => {
                return Err(Violation::protocol(
                    "peer sent a masked frame (servers must not mask)",
                ))
            }
            _ => {}
        }
        match h.opcode {
            OpCode::Control(_) => {
                if h.rsv1 {
                    return Err(Violation::protocol(
                        "peer sent a control frame with Reserved bits RSV1 set",
                    ));
                }
                if !h.is_final {
                    return Err(Violation::protocol("peer sent a fragmented control frame"));
                }
                if len > 125 {
                    return Err(Violation::protocol(format!(
                        "peer sent a control frame of {len} bytes (limit 125)"
                    )));
                }
            }
            OpCode::Data(d) => {
                let first = d != Data::Continue;
                let in_message = self.partial.is_some();
                if first && in_message {
                    return Err(Violation::protocol(
                        "peer started a new data message inside a fragmented one",
                    ));
                }
                if !first && !in_message {
                    return Err(Violation::protocol(
                        "peer sent a continuation frame with nothing to continue",
                    ));
                }
                if h.rsv1 && !(first && ext) {
                    return Err(Violation::protocol(if first {
                        "peer sent a frame with Reserved bits RSV1 set, but no extension was negotiated"
                    } else {
                        "peer sent a continuation frame with Reserved bits RSV1 set"
                    }));
                }
                if len > self.limits.max_frame_size as u64 {
                    return Err(Violation::too_big(format!(
                        "peer sent a frame of {len} bytes (limit {})",
                        self.limits.max_frame_size
                    )));
                }
                if first {
                    self.text = d == Data::Text;
                    self.rsv1 = h.rsv1;
                    self.frames = 0;
                    self.utf8.reset();
                }
                self.frames += 1;
                if self.frames > self.limits.max_frames_per_message {
                    return Err(Violation::too_big(format!(
                        "peer sent a message in more than {} frames (limit max_frames_per_message)",
                        self.limits.max_frames_per_message
                    )));
                }
                let so_far = self.partial.as_ref().map_or(0, |p| p.data.len()) as u64;
                if !self.rsv1 && so_far + len > self.limits.max_message_size as u64 {
                    return Err(Violation::too_big(format!(
                        "peer sent a message of at least {} bytes (limit {})",
                        so_far + len,
                        self.limits.max_message_size
                    )));
                }
                if first && !h.is_final {
                    self.partial = Some(Partial {
                        text: self.text,
                        rsv1: self.rsv1,
                        data: Vec::new(),
                    });
                }
            }
        }
        self.buf.advance(at);
        self.frame = Some(Frame {
            fin: h.is_final,
            opcode: h.opcode,
            mask: h.mask,
            len: len as usize,
            seen: 0,
        });
        Ok(true)
    }

    /// A complete data frame: the message, when it was the last one.
    fn data(
        &mut self,
        fin: bool,
        payload: BytesMut,
        ext: Option<&mut (dyn MessageExtension + '_)>,
    ) -> Result<Option<Event>, Violation> {
        let max = self.limits.max_message_size;
        if self.rsv1 {
            // Encoded by the extension: decode this piece, then check what came out.
            let ext = ext.expect("RSV1 is accepted only with an extension");
            let mut single = Vec::new();
            let out = match &mut self.partial {
                Some(p) => &mut p.data,
                None => &mut single,
            };
            let before = out.len();
            ext.decode(&payload, fin, max, out).map_err(|e| Violation {
                kind: if e.code == close_code::TOO_BIG {
                    ErrorKind::MessageTooBig
                } else {
                    ErrorKind::Protocol
                },
                code: e.code,
                message: e.message,
            })?;
            if out.len() > max {
                return Err(Violation::too_big(format!(
                    "peer sent a compressed message that inflates beyond {max} bytes (the limit)"
                )));
            }
            if self.text {
                self.utf8
                    .push(&out[before..])
                    .map_err(|_| Violation::utf8("a text message"))?;
            }
            if !fin {
                return Ok(None);
            }
            let data = match self.partial.take() {
                Some(p) => p.data,
                None => single,
            };
            return self.complete(Bytes::from(data));
        }
        match &mut self.partial {
            None => self.complete(payload.freeze()),
            Some(p) => {
                p.data.extend_from_slice(&payload);
                if !fin {
                    return Ok(None);
                }
                let p = self.partial.take().expect("checked above");
                debug_assert_eq!((p.text, p.rsv1), (self.text, self.rsv1));
                self.complete(Bytes::from(p.data))
            }
        }
    }

    /// The last frame of a message is in: check that text did not end mid-sequence.
    fn complete(&mut self, data: Bytes) -> Result<Option<Event>, Violation> {
        if self.text && self.utf8.finish().is_err() {
            return Err(Violation::utf8(
                "a text message (it ends inside a character)",
            ));
        }
        Ok(Some(Event::Message {
            text: self.text,
            data,
            rsv1: self.rsv1,
        }))
    }
}

/// A complete control frame.
fn control(c: Control, payload: BytesMut) -> Result<Event, Violation> {
    match c {
        Control::Ping => Ok(Event::Ping(payload.freeze())),
        Control::Pong => Ok(Event::Pong(payload.freeze())),
        Control::Close => close(&payload),
        Control::Reserved(n) => Err(Violation::protocol(format!(
            "peer sent a frame with invalid opcode {n} (reserved)"
        ))),
    }
}

/// A close frame's body: empty (1005), or a valid code and a UTF-8 reason.
fn close(body: &[u8]) -> Result<Event, Violation> {
    match body.len() {
        0 => Ok(Event::Close {
            code: close_code::NO_STATUS,
            reason: String::new(),
        }),
        1 => Err(Violation::protocol(
            "peer sent a close frame with a 1-byte body (a code takes 2)",
        )),
        _ => {
            let code = u16::from_be_bytes([body[0], body[1]]);
            if !receivable(code) {
                return Err(Violation::protocol(format!(
                    "peer sent close code {code}, which may not be sent"
                )));
            }
            let reason =
                std::str::from_utf8(&body[2..]).map_err(|_| Violation::utf8("a close reason"))?;
            Ok(Event::Close {
                code,
                reason: reason.to_string(),
            })
        }
    }
}

/// Close codes a peer may send: those RFC 6455 defines for the wire, the IANA-registered
/// 1012-1014, and the ranges for libraries and applications.
fn receivable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}
