//! The frame reader driven from a fuzzer (cargo feature `fuzzing`; not a stable API): feed bytes
//! to a server-role or client-role reader with given limits, with or without an extension, and
//! collect what it makes of them. It must never panic, whatever the bytes.

use super::ext::{ExtError, MessageExtension};
use super::{Limits, Reader, Role};

/// What one run of the reader produced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Data messages, pings, pongs and closes returned.
    pub events: usize,
    /// The close code of the violation that ended the input, if one did.
    pub violation: Option<u16>,
}

/// An extension that passes payloads through (so RSV1 messages are accepted and decoded).
struct Identity;

impl MessageExtension for Identity {
    fn encode(&mut self, _: &[u8], _: &mut Vec<u8>) -> Result<bool, ExtError> {
        Ok(false)
    }
    fn decode(
        &mut self,
        piece: &[u8],
        _: bool,
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ExtError> {
        if out.len() + piece.len() > max {
            return Err(ExtError::too_big(max));
        }
        out.extend_from_slice(piece);
        Ok(())
    }
}

/// Feed `data` to a reader (`server`: the server role, which expects masked frames) with the
/// given limits, in pieces whose sizes cycle through `chunks` (empty: all at once), with an
/// identity extension when `extension`.
pub fn read_frames(
    data: &[u8],
    server: bool,
    max_frame_size: usize,
    max_message_size: usize,
    max_frames_per_message: usize,
    extension: bool,
    chunks: &[usize],
) -> Outcome {
    let role = if server { Role::Server } else { Role::Client };
    let limits = Limits {
        max_frame_size,
        max_message_size,
        max_frames_per_message: max_frames_per_message.max(1),
    };
    let mut reader = Reader::new(role, limits, Vec::new());
    let mut ext = Identity;
    let mut out = Outcome::default();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() && !reader.is_done() {
        let n = chunks
            .get(i % chunks.len().max(1))
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        i += 1;
        reader.feed(&rest[..n]);
        rest = &rest[n..];
        loop {
            let e = extension.then_some(&mut ext as &mut dyn MessageExtension);
            match reader.next(e) {
                Ok(Some(_)) => out.events += 1,
                Ok(None) => break,
                Err(v) => {
                    out.violation = Some(v.code);
                    break;
                }
            }
        }
    }
    out
}
