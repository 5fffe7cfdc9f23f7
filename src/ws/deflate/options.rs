//! `Deflate`: the host's permessage-deflate settings, the same struct for both roles.

use crate::error::{Error, ErrorKind, Result};

/// permessage-deflate (RFC 7692) settings for a server or a client.
///
/// Off by default, from measured memory: with context takeover and 15-bit windows a connection
/// that has compressed a message keeps ~420 KiB of zlib state between messages (compressor
/// ~370 KiB, decompressor ~47 KiB), against ~17 KiB for an idle TLS connection without it:
/// 10,000 such connections would hold ~4 GB. Smaller windows and memory levels help less than
/// with C zlib (12 bits, memory level 5: ~210 KiB; zlib-rs keeps a 128 KiB hash table and a
/// 32 KiB inflate window whatever they are). The state is allocated on a connection's first
/// compressed message, never for connections that stay idle, and [`Deflate::no_context_takeover`]
/// frees it after every message: 0 KiB between messages (docs/PERFORMANCE.md has the figures). Compression over TLS also mixes secrets with attacker-chosen data in one compressed
/// stream (the CRIME/BREACH class of attacks): turn it on where the bandwidth matters more.
///
/// The `server_*` fields are about what the server sends, the `client_*` fields about what the
/// client sends. A server applies its own side (`server_*`) always and asks the client for the
/// `client_*` limits; a client applies its `client_*` side always and asks the server for the
/// `server_*` limits (the server may decline, then the connection goes uncompressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflate {
    /// Offer (client) or accept (server) permessage-deflate. Default false.
    pub enabled: bool,
    /// Messages shorter than this (bytes) are sent uncompressed. Default 64.
    pub threshold: usize,
    /// zlib compression level, 1 (fastest) to 9 (smallest). Default 6 (zlib's default).
    pub level: u8,
    /// zlib memory level, 1 to 9: the compressor's hash table and buffer grow with it (level 8:
    /// 128 KiB, level 1: 1 KiB, besides the window). Default 8 (zlib's default).
    pub mem_level: u8,
    /// The server compresses every message on its own (no shared window between messages).
    pub server_no_context_takeover: bool,
    /// The client compresses every message on its own.
    pub client_no_context_takeover: bool,
    /// Largest LZ77 window (base-2 log, 8 to 15) the server compresses with. Default 15.
    pub server_max_window_bits: u8,
    /// Largest LZ77 window (8 to 15) the client compresses with. Default 15.
    pub client_max_window_bits: u8,
}

impl Default for Deflate {
    fn default() -> Self {
        Deflate {
            enabled: false,
            threshold: 64,
            level: 6,
            mem_level: 8,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

impl Deflate {
    /// The defaults with compression turned on.
    pub fn on() -> Self {
        Deflate {
            enabled: true,
            ..Default::default()
        }
    }

    /// Both directions without context takeover: each message is compressed on its own, and
    /// the zlib state is freed after each message (idle connections hold none), at the price
    /// of a worse ratio for small, similar messages.
    pub fn no_context_takeover(mut self) -> Self {
        self.server_no_context_takeover = true;
        self.client_no_context_takeover = true;
        self
    }

    /// Checks the ranges (`InvalidArgument` naming the field); settings that are off are not
    /// looked at (a server binds and a client connects with them unchecked).
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::new(ErrorKind::InvalidArgument, what));
        if !self.enabled {
            return Ok(());
        }
        if !(1..=9).contains(&self.level) {
            return bad(format!("deflate level {} is not 1..=9", self.level));
        }
        if !(1..=9).contains(&self.mem_level) {
            return bad(format!("deflate mem_level {} is not 1..=9", self.mem_level));
        }
        for (name, bits) in [
            ("server_max_window_bits", self.server_max_window_bits),
            ("client_max_window_bits", self.client_max_window_bits),
        ] {
            if !(8..=15).contains(&bits) {
                return bad(format!("deflate {name} {bits} is not 8..=15"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_bad_field() {
        assert!(Deflate::default().validate().is_ok());
        assert!(Deflate::on().no_context_takeover().validate().is_ok());
        let cases = [
            (
                Deflate {
                    level: 0,
                    ..Deflate::on()
                },
                "level",
            ),
            (
                Deflate {
                    level: 10,
                    ..Deflate::on()
                },
                "level",
            ),
            (
                Deflate {
                    mem_level: 0,
                    ..Deflate::on()
                },
                "mem_level",
            ),
            (
                Deflate {
                    server_max_window_bits: 7,
                    ..Deflate::on()
                },
                "server_max_window_bits",
            ),
            (
                Deflate {
                    client_max_window_bits: 16,
                    ..Deflate::on()
                },
                "client_max_window_bits",
            ),
        ];
        for (d, field) in cases {
            let e = d.validate().unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument);
            assert!(e.message.contains(field), "{e:?}");
        }
    }
}
