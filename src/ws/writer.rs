//! The outgoing half of the message layer: frames formatted into one batch buffer (small
//! messages and control frames share a write and a TLS record), large data messages written
//! straight from their payload ([`super::direct`]), masking in the client role, RSV1 on the
//! first frame of a message an extension encoded. Nothing is written inside a large frame:
//! frames formatted while one is under way go out after it.

use std::io;

use bytes::Bytes;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

use super::direct::{DirectSend, DIRECT_MIN};
use super::ext::{ExtError, MessageExtension};
use super::mask::{apply_mask, MaskSource};
use super::Role;

/// Formatted frames are written once the batch reaches this size (and whenever the caller
/// flushes): small messages coalesce into one write and one TLS record.
pub(crate) const WRITE_BATCH: usize = 64 << 10;

/// Formats and writes one connection's frames.
#[derive(Debug)]
pub(crate) struct Writer {
    role: Role,
    /// Formatted frames; `out[pos..]` is not written yet.
    out: Vec<u8>,
    pos: usize,
    /// A large data frame being written from its payload; `out` waits for it.
    direct: Option<Box<DirectSend>>,
    masks: MaskSource,
    /// An extension's encoded payload (reused between messages).
    encoded: Vec<u8>,
}

impl Writer {
    /// A writer for `role` (the client masks every frame).
    pub(crate) fn new(role: Role) -> Self {
        Writer {
            role,
            out: Vec::new(),
            pos: 0,
            direct: None,
            masks: MaskSource::default(),
            encoded: Vec::new(),
        }
    }

    /// Nothing formatted is waiting to be written.
    pub(crate) fn is_idle(&self) -> bool {
        self.pos == self.out.len() && self.direct.is_none()
    }

    /// The batch has reached [`WRITE_BATCH`]: time to write before formatting more.
    pub(crate) fn batch_full(&self) -> bool {
        self.out.len() - self.pos >= WRITE_BATCH
    }

    /// Queue a complete data message. With an extension and `compress`, the extension may
    /// encode it (then it goes with RSV1). A message of [`DIRECT_MIN`] bytes or more is written
    /// straight from `payload` when nothing else is waiting.
    pub(crate) fn message(
        &mut self,
        text: bool,
        payload: Bytes,
        compress: bool,
        ext: Option<&mut (dyn MessageExtension + '_)>,
    ) -> Result<(), ExtError> {
        let data = if text { Data::Text } else { Data::Binary };
        if let (true, Some(ext)) = (compress, ext) {
            let mut encoded = std::mem::take(&mut self.encoded);
            encoded.clear();
            let r = ext.encode(&payload, &mut encoded);
            let used = matches!(r, Ok(true));
            if used {
                self.frame(OpCode::Data(data), true, true, &encoded);
            }
            // Reused for the next message, unless a large one grew it: idle connections keep
            // no more than a batch's worth.
            if encoded.capacity() <= WRITE_BATCH {
                self.encoded = encoded;
            }
            if used || r.is_err() {
                return r.map(|_| ());
            }
        }
        self.whole(data, false, payload);
        Ok(())
    }

    /// Queue a data message an extension has already encoded (step by step): sent with RSV1.
    pub(crate) fn encoded_message(&mut self, text: bool, payload: Bytes) {
        let data = if text { Data::Text } else { Data::Binary };
        self.whole(data, true, payload);
    }

    /// One final data frame: straight from `payload` when it is [`DIRECT_MIN`] bytes or more
    /// and nothing else is waiting, else formatted into the batch.
    fn whole(&mut self, data: Data, rsv1: bool, payload: Bytes) {
        if payload.len() >= DIRECT_MIN && self.is_idle() {
            let mask = (self.role == Role::Client).then(|| self.masks.next());
            const RSV1: u8 = 0x40;
            let first = u8::from(OpCode::Data(data)) | if rsv1 { RSV1 } else { 0 };
            self.direct = Some(Box::new(DirectSend::new(first, payload, mask)));
            return;
        }
        self.frame(OpCode::Data(data), true, rsv1, &payload);
    }

    /// Format one frame into the batch: any opcode, `fin` clear for all but a fragmented
    /// message's last frame, `rsv1` on an encoded message's first frame. Control frames may go
    /// between the fragments of a data message.
    pub(crate) fn frame(&mut self, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
        let mask = (self.role == Role::Client).then(|| self.masks.next());
        let h = FrameHeader {
            is_final: fin,
            rsv1,
            rsv2: false,
            rsv3: false,
            opcode,
            mask,
        };
        if self.pos == self.out.len() {
            self.out.clear();
            self.pos = 0;
        }
        self.out
            .reserve(h.len(payload.len() as u64) + payload.len());
        h.format(payload.len() as u64, &mut self.out)
            .expect("writing to a Vec cannot fail");
        let at = self.out.len();
        self.out.extend_from_slice(payload);
        if let Some(m) = mask {
            apply_mask(&mut self.out[at..], m, 0);
        }
    }

    /// Queue a control frame (ping, pong; payload at most 125 bytes).
    pub(crate) fn control(&mut self, c: Control, payload: &[u8]) {
        self.frame(OpCode::Control(c), true, false, payload);
    }

    /// Queue a close frame with `code` and `reason` (at most 123 bytes).
    pub(crate) fn close(&mut self, code: u16, reason: &str) {
        let mut body = [0u8; 125];
        body[..2].copy_from_slice(&code.to_be_bytes());
        let n = reason.len().min(123);
        body[2..2 + n].copy_from_slice(&reason.as_bytes()[..n]);
        self.control(Control::Close, &body[..2 + n]);
    }

    /// Write what is waiting through `put` (the stream's write of as many TLS records as the
    /// socket takes): the large frame under way, then the batch. `Ok` once everything is out;
    /// `WouldBlock` (or another error) from `put` otherwise: call again when writable.
    pub(crate) fn flush(
        &mut self,
        mut put: impl FnMut(&[u8]) -> io::Result<usize>,
    ) -> io::Result<()> {
        if let Some(d) = &mut self.direct {
            d.write(&mut put)?;
            self.direct = None;
        }
        while self.pos < self.out.len() {
            match put(&self.out[self.pos..])? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => self.pos += n,
            }
        }
        self.out.clear();
        self.pos = 0;
        if self.out.capacity() > 4 * WRITE_BATCH {
            // One large batch (a burst of pongs, a message just under DIRECT_MIN behind
            // others) does not stay allocated.
            self.out = Vec::new();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::reader::{Event, Reader};
    use super::super::Limits;
    use super::*;

    fn drain(w: &mut Writer) -> Vec<u8> {
        let mut out = Vec::new();
        w.flush(|b| {
            out.extend_from_slice(b);
            Ok(b.len())
        })
        .unwrap();
        out
    }

    #[test]
    fn client_frames_are_masked_with_fresh_keys_and_read_back() {
        let mut w = Writer::new(Role::Client);
        w.message(true, Bytes::from_static(b"hello"), true, None)
            .unwrap();
        w.message(true, Bytes::from_static(b"hello"), true, None)
            .unwrap();
        let wire = drain(&mut w);
        assert_eq!(wire.len(), 2 * (2 + 4 + 5));
        assert_eq!(wire[0], 0x81);
        assert_eq!(wire[1], 0x80 | 5);
        assert_ne!(wire[2..6], wire[13..17], "a fresh key per frame");
        let mut r = Reader::new(Role::Server, Limits::default(), wire);
        for _ in 0..2 {
            match r.next(None).unwrap() {
                Some(Event::Message {
                    text: true,
                    data,
                    rsv1: false,
                }) => assert_eq!(data, "hello"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn control_frames_between_fragments() {
        let mut w = Writer::new(Role::Server);
        w.frame(OpCode::Data(Data::Binary), false, false, b"ab");
        w.control(Control::Pong, b"p");
        w.frame(OpCode::Data(Data::Continue), true, false, b"cd");
        let wire = drain(&mut w);
        assert_eq!(
            wire,
            [0x02, 2, b'a', b'b', 0x8A, 1, b'p', 0x80, 2, b'c', b'd']
        );
    }

    #[test]
    fn frames_queued_during_a_large_frame_follow_it() {
        let big = Bytes::from(vec![7u8; DIRECT_MIN]);
        let mut w = Writer::new(Role::Server);
        w.message(false, big.clone(), true, None).unwrap();
        w.control(Control::Pong, b"");
        let mut out = Vec::new();
        let mut calls = 0;
        loop {
            let r = w.flush(|b| {
                calls += 1;
                if calls % 2 == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let n = b.len().min(5000);
                out.extend_from_slice(&b[..n]);
                Ok(n)
            });
            if r.is_ok() {
                break;
            }
            assert!(!w.is_idle());
        }
        assert!(w.is_idle());
        assert_eq!(&out[out.len() - 2..], &[0x8A, 0]);
        let mut r = Reader::new(Role::Client, Limits::default(), out);
        assert_eq!(
            r.next(None).unwrap(),
            Some(Event::Message {
                text: false,
                data: big,
                rsv1: false
            })
        );
        assert_eq!(r.next(None).unwrap(), Some(Event::Pong(Bytes::new())));
    }
}
