//! Our WebSocket message layer (RFC 6455), sans I/O: [`Reader`] turns bytes into events,
//! [`Writer`] turns messages into frames, and a negotiated [`MessageExtension`]
//! (permessage-deflate, in `deflate/`) plugs into both.
//!
//! tungstenite's public frame layer parses and formats frame headers; the message state
//! machine above it is ours, because tungstenite's own refuses RSV1 (no permessage-deflate),
//! checks UTF-8 only when a message completes, and buffers writes without a bound.

pub mod deflate;
pub(crate) mod direct;
pub(crate) mod ext;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod mask;
pub(crate) mod reader;
mod utf8;
pub(crate) mod writer;

pub(crate) use ext::{Encoding, MessageExtension};
pub(crate) use reader::{Event, Reader, Violation};
pub(crate) use writer::Writer;

/// Which end of the connection we are: a server requires masked frames, a client unmasked ones
/// (and masks its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Server,
    Client,
}

/// What the reader enforces (from [`crate::Limits`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest frame payload on the wire.
    pub max_frame_size: usize,
    /// Largest message (assembled; decoded when an extension encoded it).
    pub max_message_size: usize,
    /// Most frames one data message may take.
    pub max_frames_per_message: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from(&crate::Limits::default())
    }
}

impl From<&crate::Limits> for Limits {
    fn from(l: &crate::Limits) -> Self {
        Limits {
            max_frame_size: l.max_frame_size,
            max_message_size: l.max_message_size,
            max_frames_per_message: l.max_frames_per_message,
        }
    }
}

#[cfg(test)]
mod tests;

/// A message the host queued: what the send path carries down to the writer.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub kind: OutKind,
    pub payload: bytes::Bytes,
    /// The negotiated extension may encode it (default); false: send it as is.
    pub compress: bool,
}

/// What kind of frame an [`Outgoing`] becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutKind {
    Text,
    Binary,
    Ping,
}

impl Outgoing {
    /// A data message (text or binary), as opposed to a ping.
    pub(crate) fn is_data(&self) -> bool {
        self.kind != OutKind::Ping
    }
}
