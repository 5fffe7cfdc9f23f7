//! Result codes and enum values of the C ABI. Values are stable: never renumbered, only added.

use std::os::raw::c_char;

use crate::error::ErrorKind;

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

/// Close code: normal closure.
pub const WSS_CLOSE_NORMAL: u16 = 1000;
/// Close code: endpoint going away (server shutdown).
pub const WSS_CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: protocol error.
pub const WSS_CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Close code (received only): no status code in the close frame.
pub const WSS_CLOSE_NO_STATUS: u16 = 1005;
/// Close code (received only): closed without a close handshake.
pub const WSS_CLOSE_ABNORMAL: u16 = 1006;
/// Close code: invalid payload (bad UTF-8 in a text message).
pub const WSS_CLOSE_INVALID_PAYLOAD: u16 = 1007;
/// Close code: policy violation.
pub const WSS_CLOSE_POLICY: u16 = 1008;
/// Close code: message too big.
pub const WSS_CLOSE_TOO_BIG: u16 = 1009;
/// Close code: internal error.
pub const WSS_CLOSE_INTERNAL: u16 = 1011;

fn kind_of(code: wss_result) -> Option<ErrorKind> {
    use ErrorKind::*;
    [
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
    ]
    .into_iter()
    .find(|k| k.code() == code)
}

/// A static, human-readable name for a result code (never NULL; unknown codes give
/// "unknown result code").
#[no_mangle]
pub extern "C" fn wss_result_str(code: wss_result) -> *const c_char {
    let s: &'static std::ffi::CStr = match (code, kind_of(code)) {
        (0, _) => c"ok",
        (_, Some(ErrorKind::InvalidArgument)) => c"invalid argument",
        (_, Some(ErrorKind::Io)) => c"I/O error",
        (_, Some(ErrorKind::Tls)) => c"TLS error",
        (_, Some(ErrorKind::CertVerify)) => c"certificate verification failed",
        (_, Some(ErrorKind::Handshake)) => c"WebSocket handshake failed",
        (_, Some(ErrorKind::Timeout)) => c"timed out",
        (_, Some(ErrorKind::NotConnected)) => c"not connected",
        (_, Some(ErrorKind::Backpressure)) => c"send queue full",
        (_, Some(ErrorKind::Closed)) => c"endpoint closed",
        (_, Some(ErrorKind::Protocol)) => c"WebSocket protocol violation",
        (_, Some(ErrorKind::MessageTooBig)) => c"message too big",
        (_, Some(ErrorKind::Config)) => c"invalid TLS configuration",
        (_, Some(ErrorKind::Internal)) => c"internal error",
        (_, Some(ErrorKind::InvalidState)) => c"invalid state",
        (_, None) => c"unknown result code",
    };
    s.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_error_kinds_and_have_names() {
        for code in -14..=0 {
            let s = unsafe { std::ffi::CStr::from_ptr(wss_result_str(code)) }
                .to_str()
                .unwrap();
            assert_ne!(s, "unknown result code", "{code}");
            if code != 0 {
                assert_eq!(s, kind_of(code).unwrap().as_str());
            }
        }
        assert_eq!(
            unsafe { std::ffi::CStr::from_ptr(wss_result_str(-99)) }
                .to_str()
                .unwrap(),
            "unknown result code"
        );
        assert_eq!(WSS_ERR_INVALID_STATE, ErrorKind::InvalidState.code());
        assert_eq!(WSS_ERR_CERT_VERIFY, ErrorKind::CertVerify.code());
    }
}
