//! C views of connection facts and peer certificates: structs whose strings are owned by a
//! Rust-side box kept alive as long as the C view is in use.

use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr;

use super::accept::wss_header;
use super::guard::*;
use super::result::*;
use crate::conn::{connection, ConnInfo};
use crate::error::{Error, ErrorKind};
use crate::tls::PeerCertificate;

/// A peer certificate. Strings are UTF-8 and NUL-terminated. Filled by the library: members
/// beyond `struct_size` do not exist in the running library.
#[repr(C)]
pub struct wss_peer_cert {
    /// Size of this struct as filled.
    pub struct_size: u32,
    /// 1 if the certificate was verified against the configured trust, else 0.
    pub verified: u8,
    /// Subject, e.g. "CN=client, O=Example".
    pub subject: *const c_char,
    /// Issuer, same form.
    pub issuer: *const c_char,
    /// Serial number, upper-case hex.
    pub serial: *const c_char,
    /// Start of validity, e.g. "Jan  1 00:00:00 2026 GMT".
    pub not_before: *const c_char,
    /// End of validity.
    pub not_after: *const c_char,
    /// SHA-256 fingerprint of the DER certificate, "AB:CD:...".
    pub sha256_fingerprint: *const c_char,
    /// Subject alternative names, each "DNS:name" or "IP:address".
    pub sans: *const *const c_char,
    /// Number of entries in `sans`.
    pub san_count: usize,
}

/// Facts about an open connection, from `wss_conn_info_get`; free with `wss_conn_info_free`.
/// Optional strings are NULL when absent. Filled by the library: members beyond `struct_size`
/// do not exist in the running library.
#[repr(C)]
pub struct wss_conn_info {
    /// Size of this struct as filled.
    pub struct_size: u32,
    /// 1 on the client side, 0 on the server side.
    pub is_client: u8,
    /// 1 if the TLS session was resumed, else 0.
    pub resumed: u8,
    /// The connection id.
    pub id: u64,
    /// Peer address, "ip:port".
    pub remote_address: *const c_char,
    /// Request path (and query on clients).
    pub path: *const c_char,
    /// Negotiated subprotocol, or NULL.
    pub subprotocol: *const c_char,
    /// TLS version, e.g. "TLSv1.3"; NULL on plain ws.
    pub tls_version: *const c_char,
    /// Cipher suite, or NULL on plain ws.
    pub cipher: *const c_char,
    /// ALPN protocol, or NULL.
    pub alpn: *const c_char,
    /// SNI name, or NULL.
    pub server_name: *const c_char,
    /// The peer's certificate, or NULL if none was presented (or plain ws).
    pub peer_certificate: *const wss_peer_cert,
    /// The negotiated extensions as a `Sec-WebSocket-Extensions` value, e.g.
    /// "permessage-deflate; server_max_window_bits=10" (parameters at their defaults left
    /// out), or NULL when messages go uncompressed. Added after ABI 1.0: read it only when
    /// `struct_size` covers it.
    pub extensions: *const c_char,
    /// Clients: every header of the server's 101 response, in order (values trimmed); NULL
    /// with a count of 0 on servers. Added after ABI 1.0: read it only when `struct_size`
    /// covers it.
    pub response_headers: *const wss_header,
    /// Number of entries in `response_headers`.
    pub response_header_count: usize,
}

/// `s` as a C string; an interior NUL (impossible in C input, possible in Rust text) becomes a
/// space.
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// Owner of C strings; pointers into it stay valid while it lives.
#[derive(Default)]
pub(crate) struct Strings(Vec<CString>);

impl Strings {
    pub(crate) fn keep(&mut self, s: &str) -> *const c_char {
        let c = c_string(s);
        let p = c.as_ptr();
        self.0.push(c);
        p
    }
    pub(crate) fn opt(&mut self, s: Option<&str>) -> *const c_char {
        s.map_or(ptr::null(), |s| self.keep(s))
    }
    /// C views of `headers`, their strings kept here.
    pub(crate) fn headers(&mut self, headers: &[(String, String)]) -> Vec<wss_header> {
        headers
            .iter()
            .map(|(name, value)| wss_header {
                name: self.keep(name),
                value: self.keep(value),
            })
            .collect()
    }
}

/// A peer certificate with its storage.
pub(crate) struct CPeerCert {
    _strings: Strings,
    _sans: Vec<*const c_char>,
    pub cert: wss_peer_cert,
}

impl CPeerCert {
    pub(crate) fn new(p: &PeerCertificate) -> Box<CPeerCert> {
        let mut s = Strings::default();
        let sans: Vec<*const c_char> = p.sans.iter().map(|x| s.keep(x)).collect();
        let cert = wss_peer_cert {
            struct_size: std::mem::size_of::<wss_peer_cert>() as u32,
            verified: u8::from(p.verified),
            subject: s.keep(&p.subject),
            issuer: s.keep(&p.issuer),
            serial: s.keep(&p.serial),
            not_before: s.keep(&p.not_before),
            not_after: s.keep(&p.not_after),
            sha256_fingerprint: s.keep(&p.sha256_fingerprint),
            sans: if sans.is_empty() {
                ptr::null()
            } else {
                sans.as_ptr()
            },
            san_count: sans.len(),
        };
        Box::new(CPeerCert {
            _strings: s,
            _sans: sans,
            cert,
        })
    }
}

/// A connection-info view with its storage. `info` must stay the first field: the C pointer
/// handed out is a pointer to the whole box.
#[repr(C)]
struct CConnInfo {
    info: wss_conn_info,
    _strings: Strings,
    _peer: Option<Box<CPeerCert>>,
    _headers: Vec<wss_header>,
}

fn conn_info_view(i: &ConnInfo) -> Box<CConnInfo> {
    let mut s = Strings::default();
    let tls = i.tls.as_ref();
    let peer = tls
        .and_then(|t| t.peer_certificate.as_ref())
        .map(CPeerCert::new);
    let headers = s.headers(&i.response_headers);
    let info = wss_conn_info {
        struct_size: std::mem::size_of::<wss_conn_info>() as u32,
        is_client: u8::from(i.is_client),
        resumed: u8::from(tls.is_some_and(|t| t.resumed)),
        id: i.id,
        remote_address: s.keep(&i.remote.to_string()),
        path: s.keep(&i.path),
        subprotocol: s.opt(i.subprotocol.as_deref()),
        tls_version: s.opt(tls.map(|t| t.version.as_str())),
        cipher: s.opt(tls.map(|t| t.cipher.as_str())),
        alpn: s.opt(tls.and_then(|t| t.alpn.as_deref())),
        server_name: s.opt(tls.and_then(|t| t.server_name.as_deref())),
        peer_certificate: peer
            .as_ref()
            .map_or(ptr::null(), |p| &p.cert as *const wss_peer_cert),
        extensions: s.opt(i.deflate.map(|d| d.to_string()).as_deref()),
        response_headers: if headers.is_empty() {
            ptr::null()
        } else {
            headers.as_ptr()
        },
        response_header_count: headers.len(),
    };
    Box::new(CConnInfo {
        info,
        _strings: s,
        _peer: peer,
        _headers: headers,
    })
}

/// Get the facts of open connection `conn` (TLS version, cipher, peer certificate, address,
/// path, subprotocol, extensions; for clients the 101 response headers). Free the result with
/// `wss_conn_info_free`. Stale id: `WSS_ERR_NOT_CONNECTED`.
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wss_conn_info_get(conn: u64, out: *mut *mut wss_conn_info) -> wss_result {
    guard(|| {
        let out = out_arg(out, "out")?;
        let c = connection(conn).ok_or_else(|| {
            Error::new(
                ErrorKind::NotConnected,
                format!("connection {conn} is not open"),
            )
        })?;
        *out = Box::into_raw(conn_info_view(c.info())).cast::<wss_conn_info>();
        Ok(())
    })
}

/// Free a `wss_conn_info`. NULL is a no-op.
///
/// # Safety
/// `info` NULL or a pointer from `wss_conn_info_get`, freed once.
#[no_mangle]
pub unsafe extern "C" fn wss_conn_info_free(info: *mut wss_conn_info) {
    if !info.is_null() {
        contain(|| drop(unsafe { Box::from_raw(info.cast::<CConnInfo>()) }));
    }
}
