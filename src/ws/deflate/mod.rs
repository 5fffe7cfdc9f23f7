//! permessage-deflate (RFC 7692): negotiation in both roles ([`negotiate`]), the header grammar
//! ([`header`]), the per-connection codec ([`codec`]) and the host's settings ([`Deflate`]).
//!
//! zlib itself is the `zlib-rs` crate (pure Rust, the backend `flate2` uses for zlib): unlike
//! `flate2`'s API it lets us pick the memory level and an 8-bit window for inflating.

pub(crate) mod codec;
pub(crate) mod header;
pub(crate) mod negotiate;
mod options;

pub use negotiate::DeflateParams;
pub use options::Deflate;

use super::{MessageExtension, Role};

/// The message layer's extension for a connection in `role` that agreed on `params` with the
/// host's settings `cfg`; `None` when nothing was agreed.
pub(crate) fn extension(
    role: Role,
    params: Option<&DeflateParams>,
    cfg: &Deflate,
) -> Option<Box<dyn MessageExtension>> {
    params.map(|p| Box::new(codec::PerMessageDeflate::new(role, p, cfg)) as _)
}

#[cfg(test)]
mod memory_tests;
