//! One connection's permessage-deflate codec (RFC 7692 §7.2): raw DEFLATE, each message ended
//! with a sync flush whose `00 00 FF FF` tail is stripped on sending and put back on receiving.
//!
//! The zlib streams are allocated on the first message that needs them and, without context
//! takeover in their direction, handed back after each message to a small per-thread pool of
//! reset streams (module `spare`) that the next such message on that thread takes: idle
//! connections hold no zlib state, and a message does not pay for allocating and initialising
//! ~300 KiB of zlib state (measured: 578,000 instructions per 64 B echo without the pool).

use std::cell::RefCell;

use zlib_rs::{Deflate as Compressor, DeflateConfig, DeflateFlush, Inflate, InflateFlush, Status};

use super::negotiate::DeflateParams;
use super::options::Deflate;
use crate::ws::ext::{Encoding, ExtError, MessageExtension};

/// The tail a sync flush ends with (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output grows at least by this much per step while inflating.
const CHUNK: usize = 16 << 10;

/// Why an incoming compressed message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeflateError {
    /// The inflated message would exceed the limit (close 1009).
    TooBig,
    /// The payload is not valid DEFLATE for the agreed window (close 1007).
    Invalid(String),
}

pub(crate) use crate::ws::Role;

/// The sending half: compresses whole messages.
struct Encoder {
    state: Option<Box<Compressor>>,
    level: u8,
    mem_level: u8,
    window_bits: u8,
    no_context_takeover: bool,
    threshold: usize,
}

/// The receiving half: inflates messages piece by piece.
struct Decoder {
    state: Option<Box<Inflate>>,
    window_bits: u8,
    no_context_takeover: bool,
}

/// A connection's negotiated permessage-deflate.
pub(crate) struct PerMessageDeflate {
    tx: Encoder,
    rx: Decoder,
}

impl PerMessageDeflate {
    /// The codec for `role` after agreeing on `params`, with the host's `cfg` (level, memory
    /// level, threshold, and its own stricter choices for what it sends).
    pub(crate) fn new(role: Role, params: &DeflateParams, cfg: &Deflate) -> Self {
        let (our_bits, our_nct, their_bits, their_nct, cfg_bits, cfg_nct) = match role {
            Role::Server => (
                params.server_max_window_bits,
                params.server_no_context_takeover,
                params.client_max_window_bits,
                params.client_no_context_takeover,
                cfg.server_max_window_bits,
                cfg.server_no_context_takeover,
            ),
            Role::Client => (
                params.client_max_window_bits,
                params.client_no_context_takeover,
                params.server_max_window_bits,
                params.server_no_context_takeover,
                cfg.client_max_window_bits,
                cfg.client_no_context_takeover,
            ),
        };
        PerMessageDeflate {
            tx: Encoder {
                state: None,
                level: cfg.level,
                mem_level: cfg.mem_level,
                window_bits: deflate_window_bits(our_bits.min(cfg_bits)),
                no_context_takeover: our_nct || cfg_nct,
                threshold: cfg.threshold,
            },
            rx: Decoder {
                state: None,
                window_bits: their_bits,
                no_context_takeover: their_nct,
            },
        }
    }

    /// Compresses `payload` into `out` (cleared first). `true`: send `out` with RSV1; `false`:
    /// send `payload` as it is (below the threshold, or not smaller once compressed).
    #[cfg(test)]
    pub(crate) fn encode(&mut self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        self.tx.encode(payload, out)
    }

    /// Inflates the next piece of an RSV1 message onto `out` (`fin` on the message's last
    /// piece), failing once `out` would hold more than `max` bytes: the output never grows past
    /// `max + 1` bytes, however well the input compresses.
    #[cfg(test)]
    pub(crate) fn decode(
        &mut self,
        piece: &[u8],
        fin: bool,
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), DeflateError> {
        self.rx.decode(piece, fin, max, out)
    }

    /// Bytes of zlib state this connection holds now (approximate, for tests and benchmarks).
    #[cfg(test)]
    pub(crate) fn holds_state(&self) -> (bool, bool) {
        (self.tx.state.is_some(), self.rx.state.is_some())
    }
}

/// The message layer's view: encode whole messages, decode RSV1 messages piece by piece. Corrupt
/// data closes with 1007 (as Node `ws` does), an inflated size past the limit with 1009.
impl MessageExtension for PerMessageDeflate {
    fn encode(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<bool, ExtError> {
        Ok(self.tx.encode(payload, out))
    }

    fn encode_step(
        &mut self,
        payload: &[u8],
        progress: &mut Encoding,
        step: usize,
    ) -> Result<Option<bool>, ExtError> {
        Ok(self.tx.step(payload, progress, step))
    }

    fn decode(
        &mut self,
        piece: &[u8],
        fin: bool,
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ExtError> {
        self.rx.decode(piece, fin, max, out).map_err(|e| match e {
            DeflateError::TooBig => ExtError::too_big(max),
            DeflateError::Invalid(why) => {
                ExtError::invalid(format!("peer's compressed message: {why}"))
            }
        })
    }
}

/// zlib refuses an 8-bit window for raw deflate (zlib >= 1.2.9, and zlib-rs alike): compress
/// with 9 instead, as Node `ws` (through Node's zlib) and Python `websockets` do. It is safe for
/// a peer inflating with an 8-bit window: zlib never emits a distance beyond the window size
/// minus 262 bytes (`MAX_DIST`), 250 for a 9-bit window, within the peer's 256.
fn deflate_window_bits(bits: u8) -> u8 {
    bits.max(9)
}

impl Encoder {
    /// The whole message in one step.
    fn encode(&mut self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        let mut progress = Encoding {
            pos: 0,
            out: std::mem::take(out),
        };
        let sent = self.step(payload, &mut progress, usize::MAX);
        *out = progress.out;
        sent.unwrap_or(false)
    }

    /// Compresses the next `step` bytes of `payload` (from `progress.pos`); the last step ends
    /// the message with a sync flush. `None`: more to do; `Some(true)`: `progress.out` is the
    /// message to send with RSV1; `Some(false)`: send `payload` as it is (below the threshold,
    /// or not smaller once compressed). Steps compress about as well as one call (zlib-rs may
    /// end blocks elsewhere).
    fn step(&mut self, payload: &[u8], progress: &mut Encoding, step: usize) -> Option<bool> {
        let out = &mut progress.out;
        if progress.pos == 0 {
            out.clear();
            if payload.len() < self.threshold || payload.is_empty() {
                progress.pos = payload.len();
                return Some(false);
            }
            out.reserve(payload.len() / 2 + 64);
        }
        let key = (self.level, self.mem_level, self.window_bits);
        let z = self.state.get_or_insert_with(|| {
            spare::take_compressor(key).unwrap_or_else(|| {
                Box::new(Compressor::new_with_config(DeflateConfig {
                    level: i32::from(key.0),
                    window_bits: -i32::from(key.2),
                    mem_level: i32::from(key.1),
                    ..DeflateConfig::default()
                }))
            })
        });
        let end = payload.len().min(progress.pos.saturating_add(step));
        let last = end == payload.len();
        // The last step ends with a sync flush (an empty stored block): keep flushing while
        // the output fills. Earlier steps only need their input taken.
        let flush = if last {
            DeflateFlush::SyncFlush
        } else {
            DeflateFlush::NoFlush
        };
        let mut input = &payload[progress.pos..end];
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(CHUNK));
            }
            let (in0, out0) = (z.total_in(), z.total_out());
            let r = z.compress_uninit(input, out.spare_capacity_mut(), flush);
            let consumed = (z.total_in() - in0) as usize;
            let produced = (z.total_out() - out0) as usize;
            // SAFETY: zlib initialised exactly `produced` bytes of the spare capacity.
            unsafe { out.set_len(out.len() + produced) };
            input = &input[consumed..];
            // Only a bad configuration (checked by `Deflate::validate`) can fail here.
            debug_assert!(r.is_ok(), "deflate: {r:?}");
            if r.is_err() || input.is_empty() && (!last || out.len() < out.capacity()) {
                break;
            }
        }
        progress.pos = end - input.len();
        if !last && input.is_empty() {
            return None;
        }
        let ok = input.is_empty() && out.ends_with(&TAIL);
        let smaller = ok && out.len() - TAIL.len() < payload.len();
        if smaller {
            out.truncate(out.len() - TAIL.len());
        } else {
            out.clear();
        }
        progress.pos = payload.len();
        if self.no_context_takeover {
            if let Some(mut z) = self.state.take() {
                z.reset();
                spare::give_compressor(key, z);
            }
        } else if !smaller {
            // Our window now holds data the peer will never see; forgetting it is always safe
            // (the peer's window simply holds more than we refer to).
            z.reset();
        }
        Some(smaller)
    }
}

impl Decoder {
    fn decode(
        &mut self,
        piece: &[u8],
        fin: bool,
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), DeflateError> {
        let bits = self.window_bits;
        let z = self.state.get_or_insert_with(|| {
            spare::take_inflater(bits).unwrap_or_else(|| Box::new(Inflate::new(false, bits)))
        });
        let mut ended = inflate(z, piece, max, out)?;
        if fin {
            if !ended {
                ended = inflate(z, &TAIL, max, out)?;
            }
            if self.no_context_takeover {
                if let Some(mut z) = self.state.take() {
                    z.reset(false);
                    spare::give_inflater(bits, z);
                }
            } else if ended {
                // The peer ended its stream (BFINAL): it starts a new one with an empty window.
                **z = Inflate::new(false, bits);
            }
        } else if ended {
            // Only a last frame may end the stream; later pieces would be refused anyway.
            self.state = None;
            return Err(DeflateError::Invalid(
                "compressed data ended before the message".into(),
            ));
        }
        Ok(())
    }
}

/// Inflates all of `input` onto `out`, growing it geometrically but never past `max + 1`
/// bytes. Returns whether the DEFLATE stream ended (a final block).
fn inflate(
    z: &mut Inflate,
    mut input: &[u8],
    max: usize,
    out: &mut Vec<u8>,
) -> Result<bool, DeflateError> {
    let cap = max.saturating_add(1);
    loop {
        if out.len() == out.capacity() {
            let target = out
                .capacity()
                .saturating_mul(2)
                .max(out.len() + CHUNK)
                .min(cap);
            if target <= out.len() {
                return Err(DeflateError::TooBig);
            }
            out.reserve_exact(target - out.len());
        }
        let (in0, out0) = (z.total_in(), z.total_out());
        let r = z.decompress_uninit(input, out.spare_capacity_mut(), InflateFlush::NoFlush);
        let consumed = (z.total_in() - in0) as usize;
        let produced = (z.total_out() - out0) as usize;
        // SAFETY: zlib initialised exactly `produced` bytes of the spare capacity.
        unsafe { out.set_len(out.len() + produced) };
        input = &input[consumed..];
        if out.len() > max {
            return Err(DeflateError::TooBig);
        }
        match r {
            Ok(Status::StreamEnd) => {
                if !input.is_empty() && input != &TAIL[..input.len().min(4)] {
                    return Err(DeflateError::Invalid("data after the final block".into()));
                }
                return Ok(true);
            }
            Ok(_) => {
                if input.is_empty() && out.len() < out.capacity() {
                    return Ok(false);
                }
            }
            Err(e) => {
                let why = z.error_message().unwrap_or(e.as_str());
                return Err(DeflateError::Invalid(format!(
                    "invalid compressed data: {why}"
                )));
            }
        }
    }
}

/// Reset zlib streams kept per thread for the next message without context takeover. A message
/// is compressed or inflated within one call on one thread (an I/O thread), so a thread needs
/// few: at most [`spare::KEEP`] of each kind are kept, bounding the memory per thread.
mod spare {
    use super::*;

    /// Most streams of each kind kept per thread.
    pub(super) const KEEP: usize = 2;

    /// A compressor's settings: level, memory level, window bits.
    pub(super) type Key = (u8, u8, u8);

    thread_local! {
        static COMPRESSORS: RefCell<Vec<(Key, Box<Compressor>)>> = const { RefCell::new(Vec::new()) };
        static INFLATERS: RefCell<Vec<(u8, Box<Inflate>)>> = const { RefCell::new(Vec::new()) };
    }

    /// A reset compressor with these settings, if this thread kept one.
    pub(super) fn take_compressor(key: Key) -> Option<Box<Compressor>> {
        COMPRESSORS
            .try_with(|p| {
                let mut p = p.borrow_mut();
                let i = p.iter().position(|(k, _)| *k == key)?;
                Some(p.swap_remove(i).1)
            })
            .ok()
            .flatten()
    }

    /// Keep a reset compressor for the next message (dropped when the thread keeps enough).
    pub(super) fn give_compressor(key: Key, z: Box<Compressor>) {
        let _ = COMPRESSORS.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < KEEP {
                p.push((key, z));
            }
        });
    }

    /// A reset inflater for this window size, if this thread kept one.
    pub(super) fn take_inflater(bits: u8) -> Option<Box<Inflate>> {
        INFLATERS
            .try_with(|p| {
                let mut p = p.borrow_mut();
                let i = p.iter().position(|(b, _)| *b == bits)?;
                Some(p.swap_remove(i).1)
            })
            .ok()
            .flatten()
    }

    /// Keep a reset inflater for the next message (dropped when the thread keeps enough).
    pub(super) fn give_inflater(bits: u8, z: Box<Inflate>) {
        let _ = INFLATERS.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < KEEP {
                p.push((bits, z));
            }
        });
    }
}

#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
