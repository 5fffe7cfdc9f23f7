//! The seam for a per-message extension negotiated at the upgrade (RFC 7692
//! permessage-deflate): the reader hands it each frame of an incoming RSV1 message and checks
//! what it decodes (size limit, UTF-8); the writer lets it encode outgoing data messages that
//! the sender did not mark "do not compress", and sets RSV1 on the first frame when it did.

use crate::conn::close_code;

/// A per-message extension negotiated at the upgrade (RFC 7692 permessage-deflate).
pub(crate) trait MessageExtension: Send {
    /// Encode an outgoing data message's payload; `Ok(true)` when `out` holds a transformed
    /// payload to send with RSV1 set, `Ok(false)` when it should go as is.
    fn encode(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<bool, ExtError>;

    /// Encode a large message a step at a time, so one message does not hold its I/O thread
    /// (and every other connection on it) for the whole time: take at most `step` more bytes
    /// of `payload` from `progress.pos`. `Ok(None)`: call again; `Ok(Some(true))`:
    /// `progress.out` holds the payload to send with RSV1; `Ok(Some(false))`: send `payload`
    /// as it is. Between the steps of one message nothing else may be encoded.
    fn encode_step(
        &mut self,
        payload: &[u8],
        progress: &mut Encoding,
        step: usize,
    ) -> Result<Option<bool>, ExtError> {
        let _ = step;
        progress.pos = payload.len();
        self.encode(payload, &mut progress.out).map(Some)
    }

    /// Decode the next piece of an incoming RSV1 message as it arrives (`fin` on its last
    /// frame), appending to `out`, failing once `out` would exceed `max` bytes.
    fn decode(
        &mut self,
        piece: &[u8],
        fin: bool,
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ExtError>;
}

/// A message being encoded step by step ([`MessageExtension::encode_step`]).
#[derive(Debug, Default)]
pub(crate) struct Encoding {
    /// Bytes of the payload taken so far.
    pub pos: usize,
    /// The encoded output so far.
    pub out: Vec<u8>,
}

/// Why an extension could not encode or decode: the close code to fail the connection with
/// and a plain-English message for the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExtError {
    /// Close code (1009 when the decoded message exceeds the limit, 1007 for corrupt data).
    pub code: u16,
    pub message: String,
}

// The constructors are for extensions (src/ws/deflate), the tests and the fuzzing hooks.
#[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
impl ExtError {
    /// The decoded message would be larger than `max` bytes (closes with 1009).
    pub(crate) fn too_big(max: usize) -> Self {
        ExtError {
            code: close_code::TOO_BIG,
            message: format!("peer sent a compressed message that inflates beyond {max} bytes"),
        }
    }

    /// The encoded data is corrupt (closes with 1007).
    #[allow(dead_code)] // for extensions (src/ws/deflate)
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ExtError {
            code: close_code::INVALID_PAYLOAD,
            message: message.into(),
        }
    }
}
