//! One error type for the whole library, carrying every detail OpenSSL and the OS gave.
//!
//! Nothing is swallowed: a TLS failure keeps the full OpenSSL error queue (packed codes with
//! library and reason strings) and the X509 verify result (code, text, depth and subject of the
//! failing certificate), wherever it happened (client, server, loader).

use std::ffi::CStr;
use std::fmt;
use std::io;
use std::net::SocketAddr;

use crate::ffi::result as c;

/// Stable error kinds. The numeric values are the C ABI's `WSS_ERR_*` constants (written once, in
/// `ffi::result`) and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorKind {
    /// A caller passed a bad argument (null, invalid UTF-8, unknown enum, out-of-range value).
    InvalidArgument = c::WSS_ERR_INVALID_ARGUMENT,
    /// A socket or file operation failed; `errno` holds the OS error.
    Io = c::WSS_ERR_IO,
    /// TLS failed for a reason other than certificate verification (protocol, cipher, alert).
    Tls = c::WSS_ERR_TLS,
    /// The peer's certificate failed verification; `verify` holds the X509 result.
    CertVerify = c::WSS_ERR_CERT_VERIFY,
    /// The HTTP upgrade failed or was refused (`http_status` holds the status if any).
    Handshake = c::WSS_ERR_HANDSHAKE,
    /// An operation did not finish in time (connect, handshake, close, dead peer).
    Timeout = c::WSS_ERR_TIMEOUT,
    /// The connection id does not name an open connection (never existed, or closed).
    NotConnected = c::WSS_ERR_NOT_CONNECTED,
    /// The connection's send queue is full; retry after it drains.
    Backpressure = c::WSS_ERR_BACKPRESSURE,
    /// The endpoint (server or client) is closed.
    Closed = c::WSS_ERR_CLOSED,
    /// The peer violated the WebSocket protocol.
    Protocol = c::WSS_ERR_PROTOCOL,
    /// A message or frame exceeded the configured limit.
    MessageTooBig = c::WSS_ERR_MESSAGE_TOO_BIG,
    /// TLS configuration is unusable: unreadable file, bad format, wrong password, key mismatch.
    Config = c::WSS_ERR_CONFIG,
    /// An internal bug was caught (a panic); the process is unaffected.
    Internal = c::WSS_ERR_INTERNAL,
    /// The call is not allowed in the current state (e.g. blocking close from inside a callback).
    InvalidState = c::WSS_ERR_INVALID_STATE,
}

impl ErrorKind {
    /// Short, stable description of the kind (also `wss_result_str` and `wss_error_info.kind`).
    pub fn as_str(self) -> &'static str {
        self.name().to_str().unwrap_or("")
    }

    /// [`as_str`](Self::as_str) as a NUL-terminated string: the one table of names.
    pub fn name(self) -> &'static CStr {
        match self {
            ErrorKind::InvalidArgument => c"invalid argument",
            ErrorKind::Io => c"I/O error",
            ErrorKind::Tls => c"TLS error",
            ErrorKind::CertVerify => c"certificate verification failed",
            ErrorKind::Handshake => c"WebSocket handshake failed",
            ErrorKind::Timeout => c"timed out",
            ErrorKind::NotConnected => c"not connected",
            ErrorKind::Backpressure => c"send queue full",
            ErrorKind::Closed => c"endpoint closed",
            ErrorKind::Protocol => c"WebSocket protocol violation",
            ErrorKind::MessageTooBig => c"message too big",
            ErrorKind::Config => c"invalid TLS configuration",
            ErrorKind::Internal => c"internal error",
            ErrorKind::InvalidState => c"invalid state",
        }
    }

    /// The stable numeric code (the C ABI's `wss_result`).
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// One entry of the OpenSSL error queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSslError {
    /// Packed code as returned by `ERR_get_error`.
    pub code: u64,
    /// Library name (e.g. "SSL routines").
    pub library: String,
    /// Reason string (e.g. "certificate verify failed").
    pub reason: String,
    /// Function name, if OpenSSL recorded one.
    pub function: String,
    /// Extra data attached to the entry, if any.
    pub data: String,
}

impl OpenSslError {
    /// The reason number packed in the code (`ERR_GET_REASON`).
    pub fn reason_code(&self) -> i32 {
        (self.code & 0x7F_FFFF) as i32
    }
    /// The library number packed in the code (`ERR_GET_LIB`).
    pub fn library_code(&self) -> i32 {
        ((self.code >> 23) & 0xFF) as i32
    }
}

/// X509 verification result for a failed (or checked) peer certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFailure {
    /// `X509_V_ERR_*` number (0 = ok).
    pub code: i32,
    /// OpenSSL's text for `code`.
    pub text: String,
    /// Depth of the failing certificate in the chain (0 = the peer's own).
    pub depth: i32,
    /// Subject (one-line form) of the failing certificate, if known.
    pub subject: String,
}

/// The library's error: a stable kind plus every detail that explains it. The detail lives in a
/// box (so `Result`s stay small) and is reached through `Deref`: `err.kind`, `err.openssl`, ...
#[derive(Debug, Clone)]
pub struct Error(Box<ErrorDetail>);

/// Everything an [`Error`] knows.
#[derive(Debug, Clone)]
pub struct ErrorDetail {
    /// Stable kind (its code is the C `wss_result`).
    pub kind: ErrorKind,
    /// Human-readable description of what failed.
    pub message: String,
    /// One-line advice for common mistakes, when one applies.
    pub hint: Option<String>,
    /// The OpenSSL error queue at the time of failure, oldest first.
    pub openssl: Vec<OpenSslError>,
    /// X509 verification result, when a certificate was rejected.
    pub verify: Option<VerifyFailure>,
    /// OS error number, when the OS reported one.
    pub errno: Option<i32>,
    /// The peer's address, when the error concerns a connection.
    pub peer: Option<SocketAddr>,
    /// HTTP status of a refused upgrade, when there was one.
    pub http_status: Option<u16>,
}

impl Error {
    /// A new error of `kind` with `message` and no further detail.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(ErrorDetail {
            kind,
            message: message.into(),
            hint: None,
            openssl: Vec::new(),
            verify: None,
            errno: None,
            peer: None,
            http_status: None,
        }))
    }

    /// Shorthand for an `InvalidArgument` error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    /// Attach the peer address.
    pub fn with_peer(mut self, peer: Option<SocketAddr>) -> Self {
        if self.peer.is_none() {
            self.peer = peer;
        }
        self
    }

    /// Attach a hint (replacing none).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        if self.hint.is_none() {
            self.hint = Some(hint.into());
        }
        self
    }

    /// Prefix the message with context, keeping all detail.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// Build from an OpenSSL error stack (e.g. a loader failure).
    pub fn from_stack(
        kind: ErrorKind,
        what: impl fmt::Display,
        stack: &openssl::error::ErrorStack,
    ) -> Self {
        let mut e = Error::new(kind, what.to_string());
        e.openssl = entries(stack);
        if let Some(first) = e.openssl.last() {
            e.message = format!("{}: {}", e.message, first.reason);
        }
        e.apply_hints();
        e
    }

    /// Build from an I/O error, keeping errno and any OpenSSL error wrapped inside it.
    pub fn from_io(what: impl fmt::Display, err: &io::Error) -> Self {
        if let Some(inner) = err.get_ref() {
            if let Some(ssl) = inner.downcast_ref::<openssl::ssl::Error>() {
                return Error::from_ssl(what, ssl, None);
            }
            if let Some(session) = inner.downcast_ref::<SessionError>() {
                return Error::from_ssl_in(Phase::Session, what, &session.0, None);
            }
            if let Some(stack) = inner.downcast_ref::<openssl::error::ErrorStack>() {
                return Error::from_stack(ErrorKind::Tls, what, stack);
            }
            if let Some(flood) = inner.downcast_ref::<crate::tls::KeyUpdateFlood>() {
                return Error::new(ErrorKind::Tls, format!("{what}: {flood}")).with_hint(
                    "a hostile or broken peer: legitimate peers update TLS keys every few gigabytes or minutes, not many times a second",
                );
            }
        }
        let kind = match err.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ErrorKind::Timeout,
            _ => ErrorKind::Io,
        };
        let mut e = Error::new(kind, format!("{what}: {err}"));
        e.errno = err.raw_os_error();
        e
    }

    /// Build from an `openssl::ssl::Error` of a handshake or read/write, adding the verify result
    /// recorded for `ssl` (see `tls::verify`) when present.
    pub fn from_ssl(
        what: impl fmt::Display,
        err: &openssl::ssl::Error,
        verify: Option<VerifyFailure>,
    ) -> Self {
        Error::from_ssl_in(Phase::Handshake, what, err, verify)
    }

    /// [`from_ssl`](Self::from_ssl) with the hints of `phase`.
    pub(crate) fn from_ssl_in(
        phase: Phase,
        what: impl fmt::Display,
        err: &openssl::ssl::Error,
        verify: Option<VerifyFailure>,
    ) -> Self {
        let mut e = Error::new(ErrorKind::Tls, what.to_string());
        if let Some(stack) = err.ssl_error() {
            e.openssl = entries(stack);
        }
        if let Some(io) = err.io_error() {
            e.errno = io.raw_os_error();
        }
        let detail = if let Some(last) = e.openssl.last() {
            last.reason.clone()
        } else if let Some(io) = err.io_error() {
            io.to_string()
        } else if err.code() == openssl::ssl::ErrorCode::SYSCALL {
            "connection closed by peer".to_string()
        } else if err.code() == openssl::ssl::ErrorCode::ZERO_RETURN {
            "TLS session closed by peer".to_string()
        } else {
            format!("SSL error code {}", err.code().as_raw())
        };
        e.message = format!("{}: {detail}", e.message);
        if let Some(v) = verify.filter(|v| v.code != 0) {
            e.kind = ErrorKind::CertVerify;
            e.message = format!(
                "{} (X509 verify error {}: {} at depth {}, subject {})",
                e.message, v.code, v.text, v.depth, v.subject
            );
            e.verify = Some(v);
        }
        e.apply_hints_in(phase);
        e
    }

    /// Add a hint for common mistakes recognised from the detail (outside a TLS session:
    /// loading files, handshakes).
    pub(crate) fn apply_hints(&mut self) {
        self.apply_hints_in(Phase::Handshake)
    }

    /// Add the hint that fits `phase`: the same OpenSSL reason means different things in a
    /// handshake and on an established session (garbage in a handshake's first bytes is a
    /// ws:// client on a wss:// port; on an open connection it is a corrupted stream).
    pub(crate) fn apply_hints_in(&mut self, phase: Phase) {
        if self.hint.is_some() {
            return;
        }
        if phase == Phase::Session {
            let has = |s: &str| self.openssl.iter().any(|e| e.reason.contains(s));
            let hint = if has("wrong version number")
                || has("packet length too long")
                || has("http request")
                || has("decryption failed or bad record mac")
                || has("bad record mac")
            {
                Some("the peer sent bytes that are not valid TLS records on an open connection: a broken peer, or something between the two ends altering the stream")
            } else if has("renegotiat")
                || has("alert handshake failure")
                || has("alert no renegotiation")
            {
                Some("the peer tried to renegotiate TLS 1.2 on an open connection, which is refused (renegotiation is disabled as insecure): the peer must not renegotiate")
            } else {
                None
            };
            if let Some(h) = hint {
                self.hint = Some(h.into());
                return;
            }
        }
        self.apply_handshake_hints(phase);
    }

    fn apply_handshake_hints(&mut self, phase: Phase) {
        if self.hint.is_some() {
            return;
        }
        if let Some(v) = &self.verify {
            self.hint = verify_hint(v.code).map(str::to_string);
            if self.hint.is_some() {
                return;
            }
        }
        let reasons: Vec<&str> = self.openssl.iter().map(|e| e.reason.as_str()).collect();
        let has = |s: &str| reasons.iter().any(|r| r.contains(s));
        self.hint = if has("mac verify failure")
            || has("bad decrypt")
            || has("pkcs12 cipherfinal error")
        {
            Some("the password is wrong for this PFX/PKCS#12 file or encrypted key".into())
        } else if has("key values mismatch") {
            Some("the private key does not belong to the certificate: check that the key and certificate files are a pair".into())
        } else if has("no start line") || has("unsupported") && has("decoder") {
            Some(
                "the file is not in the expected format (PEM certificate/key, or DER PKCS#12)"
                    .into(),
            )
        } else if has("alert certificate expired") {
            Some("the peer rejected our certificate as expired: renew it".into())
        } else if has("alert unknown ca") {
            Some("the peer does not trust the CA that issued our certificate: add that CA to the peer's trust store".into())
        } else if has("alert certificate required") {
            Some(
                "the server requires a client certificate: load one into the client's TLS config"
                    .into(),
            )
        } else if has("peer did not return a certificate") {
            Some("the client sent no certificate but this server requires one (VerifyMode::Required): the client must load a certificate issued by a CA this server trusts".into())
        } else if has("alert bad certificate")
            || has("alert certificate revoked")
            || has("alert certificate unknown")
            || has("alert unsupported certificate")
        {
            Some(
                "the peer rejected our certificate: check its validity dates, names (SAN), key usage and revocation; the peer's log has the exact reason"
                    .into(),
            )
        } else if phase == Phase::Session {
            // What follows is about setting up a session (scheme, versions, ciphers).
            None
        } else if has("wrong version number") || has("packet length too long") {
            Some("the peer does not speak TLS on this port: check ws:// versus wss://".into())
        } else if has("http request") || has("https proxy request") {
            Some("a plain HTTP / ws:// client connected to this TLS port: the client must use wss:// (check ws:// versus wss://)".into())
        } else if has("no shared cipher")
            || has("no suitable signature algorithm")
            || has("no protocols available")
            || has("unsupported protocol")
            || has("alert protocol version")
            || has("alert insufficient security")
        {
            Some("client and server have no TLS version/cipher in common: compare min/max version and cipher lists".into())
        } else if has("alert handshake failure") {
            Some("the peer aborted the handshake: usually no cipher suite, group or signature algorithm in common (compare cipher lists and min/max versions); the peer's log has the exact reason".into())
        } else {
            None
        };
    }
}

/// Where a TLS error happened, for choosing its hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Loading files or the TLS handshake.
    Handshake,
    /// An established TLS session (the upgrade and the WebSocket after the handshake).
    Session,
}

/// An OpenSSL failure on an established session (see `stream::tls_read`), carried inside an
/// `io::Error` so that `Error::from_io` picks the session's hints.
#[derive(Debug)]
pub(crate) struct SessionError(pub openssl::ssl::Error);

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SessionError {}

impl SessionError {
    /// An `SSL_read`/`SSL_write` failure as the `io::Error` our streams return: OS errors stay
    /// as they are, OpenSSL's are marked as the session's.
    pub(crate) fn io(e: openssl::ssl::Error) -> io::Error {
        match e.into_io_error() {
            Ok(io) => io,
            Err(e) => io::Error::other(SessionError(e)),
        }
    }
}

/// The hint for an X509 verify error code.
pub(crate) fn verify_hint(code: i32) -> Option<&'static str> {
    Some(match code {
        2 | 20 | 21 => "the issuer of the peer's certificate is not trusted: load its CA (a CA folder needs OpenSSL hash names like 1a2b3c4d.0 - run `openssl rehash` - or use plain .pem files)",
        18 | 19 => "the peer's certificate is self-signed or from an unknown root: load the root CA that issued it",
        9 => "the peer's certificate is not valid yet: check the clocks of both machines and the certificate's notBefore",
        10 => "the peer's certificate has expired: renew it",
        23 => "the peer's certificate was revoked by its CA (found in the loaded CRL)",
        3 => "a CRL check is enabled but no CRL for the issuer was loaded",
        62 => "the certificate's names do not match the host: an IP address needs an IP SAN, a name needs a DNS SAN (CN is ignored)",
        64 => "the certificate has no IP SAN matching the address: connect by a DNS name it lists, or reissue it with an IP SAN",
        26 => "the certificate's key usage / extended key usage does not allow this purpose (serverAuth/clientAuth)",
        _ => return None,
    })
}

/// The OpenSSL error queue entries of a stack, oldest first.
pub(crate) fn entries(stack: &openssl::error::ErrorStack) -> Vec<OpenSslError> {
    stack
        .errors()
        .iter()
        .map(|e| OpenSslError {
            // c_ulong: 64-bit on Linux/macOS, 32-bit on Windows.
            #[allow(clippy::unnecessary_cast)]
            code: e.code() as u64,
            library: e.library().unwrap_or("").to_string(),
            reason: e.reason().unwrap_or("").to_string(),
            function: e.function().unwrap_or("").to_string(),
            data: e.data().unwrap_or("").to_string(),
        })
        .collect()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(p) = self.peer {
            write!(f, " [peer {p}]")?;
        }
        for e in &self.openssl {
            write!(f, "; openssl {:#x} {}: {}", e.code, e.library, e.reason)?;
        }
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl std::ops::Deref for Error {
    type Target = ErrorDetail;
    fn deref(&self) -> &ErrorDetail {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut ErrorDetail {
        &mut self.0
    }
}

impl From<openssl::error::ErrorStack> for Error {
    fn from(stack: openssl::error::ErrorStack) -> Self {
        Error::from_stack(ErrorKind::Tls, "OpenSSL call failed", &stack)
    }
}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
