//! permessage-deflate (RFC 7692): negotiation in both roles ([`negotiate`]), the header grammar
//! ([`header`]), the per-connection codec ([`codec`]) and the host's settings ([`Deflate`]).
//!
//! zlib itself is the `zlib-rs` crate (pure Rust, the backend `flate2` uses for zlib): unlike
//! `flate2`'s API it lets us pick the memory level and an 8-bit window for inflating.

// Not wired into the engine yet (the message layer is being replaced): only tests use these.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod codec;
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod header;
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod negotiate;
mod options;

pub use negotiate::DeflateParams;
pub use options::Deflate;

#[cfg(test)]
mod memory_tests;
