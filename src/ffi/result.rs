//! Result codes and enum values of the C ABI. Values are stable: never renumbered, only added.
//!
//! These constants are the one place each value is written: cbindgen exports them to the header,
//! and the Rust enums ([`ErrorKind`], [`MessageKind`], [`VerifyMode`], [`TlsVersion`]) use them as
//! discriminants, with `from_c`/`to_c`/`ALL` generated here from one list per enum.

use std::ffi::CStr;
use std::os::raw::c_char;

use crate::error::{Error, ErrorKind, Result};
use crate::handler::MessageKind;
use crate::tls::{TlsVersion, VerifyMode};

/// Outcome of every fallible call: `WSS_OK` (0) or a negative `WSS_ERR_*` code. Detail of the
/// last failure on the calling thread: `wss_last_error`.
pub type wss_result = i32;
/// Success.
pub const WSS_OK: wss_result = 0;
/// Bad argument: NULL pointer, invalid UTF-8, unknown enum value, out-of-range number.
pub const WSS_ERR_INVALID_ARGUMENT: wss_result = -1;
/// Socket or file error (see `os_errno`).
pub const WSS_ERR_IO: wss_result = -2;
/// TLS failure other than certificate verification (see the OpenSSL entries).
pub const WSS_ERR_TLS: wss_result = -3;
/// The peer's certificate failed verification (see `verify_code`).
pub const WSS_ERR_CERT_VERIFY: wss_result = -4;
/// The HTTP upgrade failed or was refused (see `http_status`).
pub const WSS_ERR_HANDSHAKE: wss_result = -5;
/// Timed out (connect, handshake, close, dead peer, or no event in `wss_*_next_event`).
pub const WSS_ERR_TIMEOUT: wss_result = -6;
/// The connection id names no open connection.
pub const WSS_ERR_NOT_CONNECTED: wss_result = -7;
/// The connection's send queue is full: retry after it drains.
pub const WSS_ERR_BACKPRESSURE: wss_result = -8;
/// The endpoint is closed.
pub const WSS_ERR_CLOSED: wss_result = -9;
/// The peer violated the WebSocket protocol.
pub const WSS_ERR_PROTOCOL: wss_result = -10;
/// A message exceeded a size limit.
pub const WSS_ERR_MESSAGE_TOO_BIG: wss_result = -11;
/// Unusable TLS configuration: unreadable file, bad format, wrong password, key mismatch.
pub const WSS_ERR_CONFIG: wss_result = -12;
/// An internal error was caught; the process is unaffected.
pub const WSS_ERR_INTERNAL: wss_result = -13;
/// Not allowed now (e.g. a blocking call from inside a callback, pull call on a callback endpoint).
pub const WSS_ERR_INVALID_STATE: wss_result = -14;

/// Kind of a data message.
pub type wss_message_kind = i32;
/// UTF-8 text (always validated).
pub const WSS_MESSAGE_TEXT: wss_message_kind = 1;
/// Binary data.
pub const WSS_MESSAGE_BINARY: wss_message_kind = 2;

/// `wss_send_ex` flags: bits or-ed together (other bits are refused).
pub type wss_send_flags = u32;
/// Send the message as it is, even where permessage-deflate was negotiated: data already
/// compressed, or secrets next to attacker-chosen text (CRIME/BREACH).
pub const WSS_SEND_NO_COMPRESS: wss_send_flags = 1;

/// How the peer's certificate is requested and checked.
pub type wss_verify_mode = i32;
/// Role default: clients verify the server; servers do not ask for client certificates.
pub const WSS_VERIFY_DEFAULT: wss_verify_mode = 0;
/// Servers: do not ask for a client certificate.
pub const WSS_VERIFY_NONE: wss_verify_mode = 1;
/// Servers: ask for a client certificate; one that is presented must verify.
pub const WSS_VERIFY_OPTIONAL: wss_verify_mode = 2;
/// Mutual TLS: the peer must present a certificate that verifies.
pub const WSS_VERIFY_REQUIRED: wss_verify_mode = 3;

/// TLS protocol version.
pub type wss_tls_version = i32;
/// No bound (only valid as a maximum).
pub const WSS_TLS_ANY: wss_tls_version = 0;
/// TLS 1.2.
pub const WSS_TLS_1_2: wss_tls_version = 12;
/// TLS 1.3.
pub const WSS_TLS_1_3: wss_tls_version = 13;

/// Type of a pulled event.
pub type wss_event_type = i32;
/// A connection opened.
pub const WSS_EVENT_OPEN: wss_event_type = 1;
/// A message arrived (`kind`, `data`, `len`).
pub const WSS_EVENT_MESSAGE: wss_event_type = 2;
/// A connection closed (`close_code`, `reason`).
pub const WSS_EVENT_CLOSE: wss_event_type = 3;
/// An error (`error`); `conn` is 0 before a connection opened.
pub const WSS_EVENT_ERROR: wss_event_type = 4;
/// A pong arrived (`data`, `len`).
pub const WSS_EVENT_PONG: wss_event_type = 5;
/// An upgrade request waits for `wss_server_decide` (`request`; `conn` is its id). Only with
/// `wss_options_set_accept_events`.
pub const WSS_EVENT_ACCEPT: wss_event_type = 6;

// Close codes (`WSS_CLOSE_*`) are not listed here: their one list is `crate::conn::close_code`,
// which cbindgen exports under the C names given in cbindgen.toml (`[export.rename]`).

/// Implements the C conversions of a Rust enum whose discriminants are the C constants above (the
/// one place where each value is written). The variant list is checked by the compiler: a variant
/// added to the enum but not here fails to build.
macro_rules! c_enum {
    ($rust:ident: $c:ty, [$($variant:ident),+ $(,)?]) => {
        impl $rust {
            /// Every value, in declaration order.
            pub const ALL: &'static [$rust] = &[$($rust::$variant),+];

            /// The Rust value of a C constant, `None` for an unknown value.
            pub fn from_c(value: $c) -> Option<$rust> {
                $rust::ALL.iter().copied().find(|v| v.to_c() == value)
            }

            /// The C constant of this value.
            pub fn to_c(self) -> $c {
                // Exhaustive: a variant missing from the list above fails to compile.
                match self {
                    $($rust::$variant)|+ => self as $c,
                }
            }
        }
    };
}

c_enum!(ErrorKind: wss_result, [
    InvalidArgument,
    Io,
    Tls,
    CertVerify,
    Handshake,
    Timeout,
    NotConnected,
    Backpressure,
    Closed,
    Protocol,
    MessageTooBig,
    Config,
    Internal,
    InvalidState,
]);
c_enum!(MessageKind: wss_message_kind, [Text, Binary]);
c_enum!(VerifyMode: wss_verify_mode, [Default, None, Optional, Required]);
c_enum!(TlsVersion: wss_tls_version, [Tls12, Tls13]);

/// A bound given as a `wss_tls_version`: `WSS_TLS_ANY` is `None`.
pub(crate) fn tls_version_from_c(v: wss_tls_version) -> Result<Option<TlsVersion>> {
    match v {
        WSS_TLS_ANY => Ok(None),
        v => TlsVersion::from_c(v).map(Some).ok_or_else(|| {
            Error::invalid(format!(
                "unknown TLS version {v} (use WSS_TLS_1_2 or WSS_TLS_1_3)"
            ))
        }),
    }
}

/// A `wss_message_kind` argument.
pub(crate) fn message_kind_from_c(v: wss_message_kind) -> Result<MessageKind> {
    MessageKind::from_c(v).ok_or_else(|| Error::invalid(format!("unknown message kind {v}")))
}

/// A `wss_verify_mode` argument.
pub(crate) fn verify_mode_from_c(v: wss_verify_mode) -> Result<VerifyMode> {
    VerifyMode::from_c(v).ok_or_else(|| Error::invalid(format!("unknown verify mode {v}")))
}

/// The library's version as one number: `major << 16 | minor << 8 | patch` (0.1.0 is 0x000100).
/// Compare it with the header's `WSS_VERSION_NUMBER` to check at run time that the header a host
/// was compiled with matches the loaded library (same major; minor not newer than the library's).
#[no_mangle]
pub extern "C" fn wss_version_number() -> u32 {
    VERSION_NUMBER
}

const fn parse_version_part(s: &str) -> u32 {
    let b = s.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        n = n * 10 + (b[i] - b'0') as u32;
        i += 1;
    }
    n
}

const VERSION_NUMBER: u32 = parse_version_part(env!("CARGO_PKG_VERSION_MAJOR")) << 16
    | parse_version_part(env!("CARGO_PKG_VERSION_MINOR")) << 8
    | parse_version_part(env!("CARGO_PKG_VERSION_PATCH"));

/// A static, human-readable name for a result code (never NULL; unknown codes give
/// "unknown result code").
#[no_mangle]
pub extern "C" fn wss_result_str(code: wss_result) -> *const c_char {
    let s: &'static CStr = match code {
        WSS_OK => c"ok",
        code => ErrorKind::from_c(code).map_or(c"unknown result code", ErrorKind::name),
    };
    s.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(code: wss_result) -> &'static str {
        unsafe { CStr::from_ptr(wss_result_str(code)) }
            .to_str()
            .unwrap()
    }

    #[test]
    fn every_result_code_round_trips_with_its_name() {
        assert_eq!(name(WSS_OK), "ok");
        assert_eq!(ErrorKind::ALL.len(), 14);
        for &k in ErrorKind::ALL {
            let code = k.to_c();
            assert!(code < 0, "{k:?}");
            assert_eq!(ErrorKind::from_c(code), Some(k));
            assert_eq!(k.code(), code);
            assert_eq!(name(code), k.as_str());
            assert_ne!(name(code), "unknown result code");
        }
        // Codes are dense from -1: a gap would be a renumbering.
        let mut codes: Vec<i32> = ErrorKind::ALL.iter().map(|k| k.to_c()).collect();
        codes.sort_unstable();
        assert_eq!(codes, (-(codes.len() as i32)..=-1).collect::<Vec<_>>());
        for unknown in [1, -15, -99, i32::MIN, i32::MAX] {
            assert_eq!(ErrorKind::from_c(unknown), None);
            assert_eq!(name(unknown), "unknown result code");
        }
        assert_eq!(ErrorKind::InvalidState.to_c(), WSS_ERR_INVALID_STATE);
        assert_eq!(ErrorKind::CertVerify.to_c(), WSS_ERR_CERT_VERIFY);
    }

    #[test]
    fn version_number_follows_cargo_toml() {
        let parts: Vec<u32> = crate::version()
            .split(['.', '-', '+'])
            .take(3)
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(
            wss_version_number(),
            parts[0] << 16 | parts[1] << 8 | parts[2]
        );
    }

    #[test]
    fn enum_tables_round_trip() {
        for &k in MessageKind::ALL {
            assert_eq!(message_kind_from_c(k.to_c()).unwrap(), k);
        }
        assert_eq!(MessageKind::Text.to_c(), WSS_MESSAGE_TEXT);
        assert_eq!(MessageKind::Binary.to_c(), WSS_MESSAGE_BINARY);
        for &m in VerifyMode::ALL {
            assert_eq!(verify_mode_from_c(m.to_c()).unwrap(), m);
        }
        assert_eq!(
            VerifyMode::ALL.iter().map(|m| m.to_c()).collect::<Vec<_>>(),
            [
                WSS_VERIFY_DEFAULT,
                WSS_VERIFY_NONE,
                WSS_VERIFY_OPTIONAL,
                WSS_VERIFY_REQUIRED
            ]
        );
        for &v in TlsVersion::ALL {
            assert_eq!(tls_version_from_c(v.to_c()).unwrap(), Some(v));
        }
        assert_eq!(TlsVersion::Tls12.to_c(), WSS_TLS_1_2);
        assert_eq!(TlsVersion::Tls13.to_c(), WSS_TLS_1_3);
        assert_eq!(tls_version_from_c(WSS_TLS_ANY).unwrap(), None);
        for bad in [-1, 3, 11, 14, 99] {
            assert_eq!(
                message_kind_from_c(bad).unwrap_err().kind,
                ErrorKind::InvalidArgument
            );
            assert_eq!(
                verify_mode_from_c(bad + 5).unwrap_err().kind,
                ErrorKind::InvalidArgument
            );
            assert_eq!(
                tls_version_from_c(bad).unwrap_err().kind,
                ErrorKind::InvalidArgument
            );
        }
    }
}
