//! Large messages written straight from their payload instead of through the batch buffer.
//!
//! Formatting a frame into a batch buffer costs one extra pass over the payload and leaves the
//! buffer with the capacity of the largest message a connection ever sent. For messages of
//! [`DIRECT_MIN`] bytes or more the writer writes the frame from the payload: the header and the
//! start of the payload go out as one record from a small scratch buffer, the rest straight from
//! the message (unmasked, server side) or masked chunk by chunk through the scratch (client
//! side). Frames the writer formats meanwhile (pongs, close replies) wait until it is out.

use std::io;

use bytes::Bytes;
use parking_lot::Mutex;

use super::mask::apply_mask;

/// Messages at least this large skip the writer's batch buffer.
pub(crate) const DIRECT_MIN: usize = 64 << 10;
/// Scratch chunk: one TLS record's worth of plaintext.
const CHUNK: usize = 16 << 10;
/// Most memory kept in recycled payload buffers (process-wide), and the largest buffer kept.
const POOL_BYTES: usize = 16 << 20;
const POOL_LARGEST: usize = 4 << 20;

/// Payload buffers of finished direct sends, reused by the next large send. Without this every
/// large message is a fresh allocation that the allocator may hand back to the kernel when it is
/// freed, and the next one page-faults all of it in again (measured: ~130 faults per MiB sent).
static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A copy of `data` to send: in a recycled buffer when it is large enough to be sent directly.
pub(crate) fn payload(data: &[u8]) -> Bytes {
    if data.len() < DIRECT_MIN {
        return Bytes::copy_from_slice(data);
    }
    let reused = {
        let mut pool = POOL.lock();
        // Smallest buffer that fits, so small large messages do not take the biggest ones.
        let best = pool
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= data.len())
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        best.map(|i| pool.swap_remove(i))
    };
    let mut buf = reused.unwrap_or_default();
    buf.extend_from_slice(data);
    buf.into()
}

/// Give a sent payload's buffer back for reuse (if nothing else holds it and the pool has room).
fn recycle(payload: Bytes) {
    let Ok(buf) = payload.try_into_mut() else {
        return;
    };
    let mut buf = Vec::from(buf);
    if buf.capacity() < DIRECT_MIN || buf.capacity() > POOL_LARGEST {
        return;
    }
    buf.clear();
    let mut pool = POOL.lock();
    let kept: usize = pool.iter().map(Vec::capacity).sum();
    if kept + buf.capacity() <= POOL_BYTES {
        pool.push(buf);
    }
}

/// One data frame being written.
#[derive(Debug)]
pub(crate) struct DirectSend {
    payload: Bytes,
    /// Client frames are masked (RFC 6455 section 5.3).
    mask: Option<[u8; 4]>,
    /// Payload bytes already handed to the stream.
    pos: usize,
    /// Header and/or masked payload waiting in `scratch[sent..]`.
    scratch: Vec<u8>,
    sent: usize,
    /// Payload bytes the current scratch covers (added to `pos` once it is written).
    covers: usize,
}

impl DirectSend {
    /// A final (FIN) frame with `opcode` (1 text, 2 binary; 0x40 added for RSV1) carrying `payload`.
    pub(crate) fn new(opcode: u8, payload: Bytes, mask: Option<[u8; 4]>) -> Self {
        let mut head = Vec::with_capacity(CHUNK);
        head.push(0x80 | opcode);
        let mask_bit = if mask.is_some() { 0x80 } else { 0 };
        let n = payload.len();
        if n < 126 {
            head.push(mask_bit | n as u8);
        } else if n <= u16::MAX as usize {
            head.push(mask_bit | 126);
            head.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            head.push(mask_bit | 127);
            head.extend_from_slice(&(n as u64).to_be_bytes());
        }
        if let Some(m) = mask {
            head.extend_from_slice(&m);
        }
        let mut d = DirectSend {
            payload,
            mask,
            pos: 0,
            scratch: head,
            sent: 0,
            covers: 0,
        };
        d.fill();
        d
    }

    /// Append the next payload chunk to the scratch (copied, and masked for clients).
    fn fill(&mut self) {
        let start = self.pos;
        let take = (CHUNK - self.scratch.len()).min(self.payload.len() - start);
        let at = self.scratch.len();
        self.scratch
            .extend_from_slice(&self.payload[start..start + take]);
        if let Some(m) = self.mask {
            apply_mask(&mut self.scratch[at..], m, start);
        }
        self.covers = take;
    }

    /// Write through `put` (the stream's unheld write) until the frame is out (`Ok`) or `put`
    /// fails (`WouldBlock`: call again with the same stream when it is writable).
    pub(crate) fn write(
        &mut self,
        mut put: impl FnMut(&[u8]) -> io::Result<usize>,
    ) -> io::Result<()> {
        loop {
            if self.sent < self.scratch.len() {
                // A record interrupted by a full socket must be retried with the same bytes:
                // the scratch stays as it is until it is completely written.
                self.sent += nonzero(put(&self.scratch[self.sent..])?)?;
                if self.sent < self.scratch.len() {
                    continue;
                }
                self.pos += self.covers;
                self.covers = 0;
            }
            if self.pos == self.payload.len() {
                recycle(std::mem::take(&mut self.payload));
                self.pos = 0;
                return Ok(());
            }
            self.sent = 0;
            if self.mask.is_some() {
                self.scratch.clear();
                self.fill();
                continue;
            }
            self.scratch = Vec::new();
            self.pos += nonzero(put(&self.payload[self.pos..])?)?;
        }
    }
}

fn nonzero(n: usize) -> io::Result<usize> {
    if n == 0 {
        Err(io::ErrorKind::WriteZero.into())
    } else {
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collect what a DirectSend produces through a sink that takes at most `step` bytes per
    /// call and is full (`WouldBlock`) every third call.
    fn frame_bytes(d: &mut DirectSend, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut calls = 0;
        loop {
            let r = d.write(|b| {
                calls += 1;
                if calls % 3 == 0 {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let n = step.min(b.len());
                out.extend_from_slice(&b[..n]);
                Ok(n)
            });
            match r {
                Ok(()) => return out,
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
            }
        }
    }

    fn payload(n: usize) -> Bytes {
        (0..n)
            .map(|i| (i * 7 + i / 251) as u8)
            .collect::<Vec<_>>()
            .into()
    }

    #[test]
    fn unmasked_frames_match_tungstenite() {
        for n in [DIRECT_MIN, 70_000, (1 << 20) + 3] {
            for step in [1 << 20, 16 << 10, 1000] {
                let p = payload(n);
                let mut d = DirectSend::new(2, p.clone(), None);
                let ours = frame_bytes(&mut d, step);
                let mut theirs = Vec::new();
                tungstenite::protocol::frame::Frame::message(
                    p,
                    tungstenite::protocol::frame::coding::OpCode::Data(
                        tungstenite::protocol::frame::coding::Data::Binary,
                    ),
                    true,
                )
                .format(&mut theirs)
                .unwrap();
                assert_eq!(ours, theirs, "size {n} step {step}");
            }
        }
    }

    #[test]
    fn masked_frames_unmask_to_the_payload() {
        let n = 100_003;
        let p = payload(n);
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut d = DirectSend::new(1, p.clone(), Some(mask));
        let out = frame_bytes(&mut d, 5000);
        assert_eq!(&out[..2], &[0x81, 0x80 | 127]);
        assert_eq!(&out[2..10], &(n as u64).to_be_bytes());
        assert_eq!(&out[10..14], &mask);
        let body: Vec<u8> = out[14..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i & 3])
            .collect();
        assert_eq!(body, &p[..]);
    }

    #[test]
    fn sixteen_bit_lengths() {
        let p = payload(65_535);
        let mut d = DirectSend::new(2, p.clone(), None);
        let out = frame_bytes(&mut d, 4096);
        assert_eq!(&out[..4], &[0x82, 126, 0xff, 0xff]);
        assert_eq!(&out[4..], &p[..]);
    }

    #[test]
    fn sent_payload_buffers_are_reused() {
        let first = super::payload(&vec![1u8; 200_000]);
        let at = first.as_ptr();
        let mut d = DirectSend::new(2, first, None);
        frame_bytes(&mut d, 1 << 20);
        // The next large send copies into the same allocation instead of a fresh one.
        let second = super::payload(&vec![2u8; 150_000]);
        assert_eq!(second.as_ptr(), at);
        assert_eq!(second.len(), 150_000);
        assert!(second.iter().all(|&b| b == 2));
        // Small payloads never come from (or go to) the pool.
        assert_eq!(super::payload(b"abc"), &b"abc"[..]);
    }
}
