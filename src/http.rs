//! The HTTP/1.1 upgrade exchange, both roles. Parsing is done here (with `httparse`) rather than
//! inside tungstenite so the server can answer non-upgrade requests (426 + HSTS), unknown paths
//! (404), refusals from the accept hook, over-limit (503) and oversized headers (431) with a proper
//! HTTP response, and so the client can keep every TLS error detail while reading the response.

use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;

use crate::error::{Error, ErrorKind, Result};
use crate::ws::deflate::{negotiate, Deflate, DeflateParams};

/// Most headers accepted in one request or response.
const MAX_HEADERS: usize = 64;

/// A parsed upgrade request, as the accept hook sees it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Request method (`GET` for a valid upgrade).
    pub method: String,
    /// Path without the query string, e.g. `/chat`.
    pub path: String,
    /// Query string without `?`, if any.
    pub query: Option<String>,
    /// All headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    pub(crate) minor_version: u8,
}

impl Request {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Subprotocols offered in `Sec-WebSocket-Protocol`, in client order.
    pub fn subprotocols(&self) -> Vec<String> {
        tokens(self, "Sec-WebSocket-Protocol")
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        tokens(self, name)
            .iter()
            .any(|t| t.eq_ignore_ascii_case(token))
    }
}

fn tokens(req: &Request, name: &str) -> Vec<String> {
    req.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Outcome of feeding bytes to the request parser.
pub(crate) enum Parsed {
    /// Need more bytes.
    Partial,
    /// A complete head; `usize` is its length in the buffer.
    Complete(Request, usize),
}

/// What the server must answer instead of upgrading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub status: u16,
    pub reason: String,
}

impl Refusal {
    pub(crate) fn new(status: u16, reason: impl Into<String>) -> Self {
        Refusal {
            status,
            reason: reason.into(),
        }
    }
}

/// Parse a request head from `buf`; `Err` carries the status to answer (400, 431).
pub(crate) fn parse_request(
    buf: &[u8],
    max_header_size: usize,
) -> std::result::Result<Parsed, Refusal> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Partial) => {
            if buf.len() > max_header_size {
                Err(Refusal::new(431, "Request Header Fields Too Large"))
            } else {
                Ok(Parsed::Partial)
            }
        }
        Ok(httparse::Status::Complete(n)) => {
            if n > max_header_size {
                return Err(Refusal::new(431, "Request Header Fields Too Large"));
            }
            let target = req.path.unwrap_or("/");
            let (path, query) = match target.split_once('?') {
                Some((p, q)) => (p.to_string(), Some(q.to_string())),
                None => (target.to_string(), None),
            };
            let headers = req
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            Ok(Parsed::Complete(
                Request {
                    method: req.method.unwrap_or("").to_string(),
                    path,
                    query,
                    headers,
                    minor_version: req.version.unwrap_or(0),
                },
                n,
            ))
        }
        Err(httparse::Error::TooManyHeaders) => {
            Err(Refusal::new(431, "Request Header Fields Too Large"))
        }
        Err(_) => Err(Refusal::new(400, "Bad Request")),
    }
}

/// Check the request is a valid RFC 6455 upgrade. Returns the client's key.
pub(crate) fn check_upgrade(req: &Request) -> std::result::Result<String, Refusal> {
    let upgrade = req.has_token("Upgrade", "websocket") && req.has_token("Connection", "upgrade");
    if !upgrade {
        return Err(Refusal::new(426, "Upgrade Required"));
    }
    if req.method != "GET" || req.minor_version < 1 {
        return Err(Refusal::new(400, "Bad Request"));
    }
    if req.header("Sec-WebSocket-Version").map(str::trim) != Some("13") {
        return Err(Refusal::new(426, "Upgrade Required"));
    }
    if req.header("Host").is_none_or(|h| h.trim().is_empty()) {
        return Err(Refusal::new(400, "Bad Request"));
    }
    match req.header("Sec-WebSocket-Key").map(str::trim) {
        Some(k) if valid_key(k) => Ok(k.to_string()),
        _ => Err(Refusal::new(400, "Bad Request")),
    }
}

/// The server's permessage-deflate negotiation for `req` (RFC 7692): `Ok(None)` when `cfg` is
/// off or no offer is acceptable (answer without the header), else the agreed parameters and
/// the `Sec-WebSocket-Extensions` value to answer with. A header that does not parse at all is
/// a malformed request: 400 (as Node `ws` and Python `websockets` answer). With `cfg` off the
/// header is not looked at, as before compression existed.
pub(crate) fn deflate_answer(
    req: &Request,
    cfg: &Deflate,
) -> std::result::Result<Option<(DeflateParams, String)>, Refusal> {
    if !cfg.enabled {
        return Ok(None);
    }
    let lines: Vec<&str> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
        .map(|(_, v)| v.as_str())
        .collect();
    negotiate::answer(&lines, cfg).map_err(|_| Refusal::new(400, "Bad Request"))
}

/// The client's `Sec-WebSocket-Extensions` request header for `cfg`, if compression is on.
pub(crate) fn deflate_offer(cfg: &Deflate) -> Option<(String, String)> {
    cfg.enabled.then(|| {
        (
            "Sec-WebSocket-Extensions".to_string(),
            negotiate::offer(cfg),
        )
    })
}

/// Whether `k` is the base64 encoding of 16 bytes (RFC 6455 section 4.1): 22 significant
/// characters, the last carrying only 2 bits, then "==".
fn valid_key(k: &str) -> bool {
    let b = k.as_bytes();
    let b64 = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    b.len() == 24
        && b[22..] == *b"=="
        && b[..22].iter().all(|c| b64(*c))
        && matches!(b[21], b'A' | b'Q' | b'g' | b'w')
}

/// Whether a header name/value is safe to put on the wire (no CR/LF injection).
pub(crate) fn header_ok(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
        && value.bytes().all(|b| b != b'\r' && b != b'\n' && b != 0)
}

/// Headers the library writes itself in an upgrade request or its 101 answer: a host's copy
/// would contradict or repeat them (two `Sec-WebSocket-Extensions` answers, a second
/// `Connection`, a body length on a 101).
const LIBRARY_HEADERS: &[&str] = &[
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

/// Why a host may not set header `name` on an upgrade (request or 101), if it may not.
pub(crate) fn library_header(name: &str) -> Option<String> {
    LIBRARY_HEADERS
        .iter()
        .find(|h| h.eq_ignore_ascii_case(name))
        .map(|h| {
            let how = match *h {
                "Sec-WebSocket-Protocol" => "; offer subprotocols with the subprotocol option, choose one in the accept decision",
                "Sec-WebSocket-Extensions" => "; use the deflate options",
                _ => "",
            };
            format!("'{h}' is written by the library{how}")
        })
}

/// Why a host may not send `name: value` on an upgrade (request or 101), if it may not: it is
/// not a valid header line, or it is one the library writes itself.
pub(crate) fn host_header_problem(name: &str, value: &str) -> Option<String> {
    if !header_ok(name, value) {
        return Some(format!(
            "'{name}' is invalid: names are visible ASCII without ':', values hold no CR, LF or NUL"
        ));
    }
    library_header(name)
}

/// The 101 response.
pub(crate) fn switching_response(
    key: &str,
    subprotocol: Option<&str>,
    extra: &[(String, String)],
) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        derive_accept_key(key.as_bytes())
    );
    if let Some(p) = subprotocol {
        r.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    for (n, v) in extra {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// An error response that closes the connection. `hsts` adds Strict-Transport-Security (TLS only).
pub(crate) fn refusal_response(refusal: &Refusal, hsts: bool) -> Vec<u8> {
    let body = format!("{} {}\n", refusal.status, refusal.reason);
    let mut r = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        refusal.status,
        refusal.reason,
        body.len()
    );
    if refusal.status == 426 {
        r.push_str("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    }
    if hsts {
        r.push_str("Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n");
    }
    r.push_str("\r\n");
    r.push_str(&body);
    r.into_bytes()
}

/// A client's upgrade request and the key to check the answer against.
pub(crate) fn client_request(
    host_header: &str,
    resource: &str,
    subprotocols: &[String],
    extra: &[(String, String)],
) -> (Vec<u8>, String) {
    let key = generate_key();
    // A host's own Host header (a virtual host reached by address, a proxy's name) replaces ours.
    let host_line = if extra.iter().any(|(n, _)| n.eq_ignore_ascii_case("Host")) {
        String::new()
    } else {
        format!("Host: {host_header}\r\n")
    };
    let mut r = format!(
        "GET {resource} HTTP/1.1\r\n{host_line}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    if !subprotocols.is_empty() {
        r.push_str(&format!(
            "Sec-WebSocket-Protocol: {}\r\n",
            subprotocols.join(", ")
        ));
    }
    for (n, v) in extra {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r.push_str("\r\n");
    (r.into_bytes(), key)
}

/// A server's accepted upgrade, as the client checked it.
#[derive(Debug)]
pub(crate) struct Upgraded {
    /// Length of the response head in the buffer.
    pub len: usize,
    /// The subprotocol the server chose.
    pub subprotocol: Option<String>,
    /// permessage-deflate as agreed, when we offered it and the server accepted.
    pub deflate: Option<DeflateParams>,
    /// Every header of the 101, in order (values trimmed; invalid UTF-8 replaced).
    pub headers: Vec<(String, String)>,
}

/// Parse the server's answer. `Ok(None)`: need more bytes. `deflate`: what we offered (the
/// server's extension answer is checked against it; with it off, any extension fails).
pub(crate) fn parse_response(
    buf: &[u8],
    key: &str,
    offered: &[String],
    deflate: &Deflate,
    max: usize,
) -> Result<Option<Upgraded>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(buf) {
        Ok(httparse::Status::Partial) if buf.len() > max => {
            return Err(Error::new(
                ErrorKind::Handshake,
                "server response headers exceed the size limit",
            ))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(n)) => n,
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Handshake,
                format!("malformed HTTP response from server: {e}"),
            ))
        }
    };
    let get = |name: &str| {
        resp.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
    };
    let code = resp.code.unwrap_or(0);
    if code != 101 {
        let mut e = Error::new(
            ErrorKind::Handshake,
            format!(
                "server refused the upgrade: HTTP {code} {}",
                resp.reason.unwrap_or("")
            ),
        );
        e.http_status = Some(code);
        if code == 404 {
            e.hint = Some("the server has no WebSocket route at this path".into());
        }
        return Err(e);
    }
    let expected = derive_accept_key(key.as_bytes());
    if get("Sec-WebSocket-Accept").as_deref() != Some(expected.as_str()) {
        return Err(Error::new(
            ErrorKind::Handshake,
            "server sent a wrong Sec-WebSocket-Accept",
        ));
    }
    let has_token = |name: &str, token: &str| {
        resp.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .flat_map(|h| {
                String::from_utf8_lossy(h.value)
                    .split(',')
                    .map(|t| t.trim().to_ascii_lowercase())
                    .collect::<Vec<_>>()
            })
            .any(|t| t == token)
    };
    if !has_token("Connection", "upgrade") {
        return Err(Error::new(
            ErrorKind::Handshake,
            "server response lacks 'Connection: Upgrade'",
        ));
    }
    let ext_lines: Vec<String> = resp
        .headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned())
        .collect();
    let deflate = if deflate.enabled {
        let lines: Vec<&str> = ext_lines.iter().map(String::as_str).collect();
        negotiate::check_answer(&lines, deflate)
            .map_err(|why| Error::new(ErrorKind::Handshake, why))?
    } else {
        let all = ext_lines.join(", ");
        if !all.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::Handshake,
                format!("server enabled extensions we did not offer: {all}"),
            ));
        }
        None
    };
    if !get("Upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Err(Error::new(
            ErrorKind::Handshake,
            "server response lacks 'Upgrade: websocket'",
        ));
    }
    let proto = get("Sec-WebSocket-Protocol");
    if let Some(p) = &proto {
        if !offered.iter().any(|o| o == p) {
            return Err(Error::new(
                ErrorKind::Handshake,
                format!("server chose subprotocol '{p}' that was not offered"),
            ));
        }
    }
    let headers = resp
        .headers
        .iter()
        .map(|h| {
            let value = String::from_utf8_lossy(h.value).trim().to_string();
            (h.name.to_string(), value)
        })
        .collect();
    Ok(Some(Upgraded {
        len: n,
        subprotocol: proto,
        deflate,
        headers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> Request {
        match parse_request(text.as_bytes(), 8192) {
            Ok(Parsed::Complete(r, _)) => r,
            _ => panic!("not parsed"),
        }
    }

    #[test]
    fn upgrade_checks() {
        let ok = "GET /chat?x=1 HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a, b\r\n\r\n";
        let r = req(ok);
        assert_eq!(r.path, "/chat");
        assert_eq!(r.query.as_deref(), Some("x=1"));
        assert_eq!(r.subprotocols(), vec!["a", "b"]);
        assert_eq!(check_upgrade(&r).unwrap(), "dGhlIHNhbXBsZSBub25jZQ==");
        let plain = req("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(check_upgrade(&plain).unwrap_err().status, 426);
        let v8 = req(&ok.replace("Version: 13", "Version: 8"));
        assert_eq!(check_upgrade(&v8).unwrap_err().status, 426);
        let post = req(&ok.replace("GET", "POST"));
        assert_eq!(check_upgrade(&post).unwrap_err().status, 400);
        let no_host = req(&ok.replace("Host: a\r\n", ""));
        assert_eq!(check_upgrade(&no_host).unwrap_err().status, 400);
        // 24 characters but not base64 of 16 bytes.
        let bad_key = req(&ok.replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZR=="));
        assert_eq!(check_upgrade(&bad_key).unwrap_err().status, 400);
        let bad_key = req(&ok.replace("dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25j!Q=="));
        assert_eq!(check_upgrade(&bad_key).unwrap_err().status, 400);
    }

    #[test]
    fn header_limits() {
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n", "a".repeat(9000));
        assert_eq!(
            parse_request(big.as_bytes(), 8192).err().unwrap().status,
            431
        );
        assert!(matches!(
            parse_request(b"GET / HTTP/1.1\r\nHost", 8192),
            Ok(Parsed::Partial)
        ));
        assert_eq!(
            parse_request(b"\x00\x01garbage\r\n\r\n", 8192)
                .err()
                .unwrap()
                .status,
            400
        );
    }

    #[test]
    fn accept_key_roundtrip() {
        let (_, key) = client_request("h", "/", &[], &[]);
        let resp = String::from_utf8(switching_response(&key, Some("p"), &[])).unwrap();
        let off = Deflate::default();
        let up = parse_response(resp.as_bytes(), &key, &["p".into()], &off, 8192)
            .unwrap()
            .unwrap();
        assert_eq!(up.len, resp.len());
        assert_eq!(up.subprotocol.as_deref(), Some("p"));
        assert_eq!(up.deflate, None);
        assert!(parse_response(
            resp.as_bytes(),
            "AAAAAAAAAAAAAAAAAAAAAA==",
            &["p".into()],
            &off,
            8192
        )
        .is_err());
        let no_conn = resp.replace("Connection: Upgrade\r\n", "");
        assert!(parse_response(no_conn.as_bytes(), &key, &["p".into()], &off, 8192).is_err());
        let ext = resp.replace(
            "\r\n\r\n",
            "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        );
        assert!(parse_response(ext.as_bytes(), &key, &["p".into()], &off, 8192).is_err());
        let refused = refusal_response(&Refusal::new(404, "Not Found"), true);
        let e = parse_response(&refused, &key, &[], &off, 8192).unwrap_err();
        assert_eq!(e.http_status, Some(404));
        assert!(String::from_utf8(refused)
            .unwrap()
            .contains("Strict-Transport-Security"));
    }

    #[test]
    fn deflate_is_negotiated_only_when_on() {
        let offer = "GET / HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Extensions: x-foo\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
        let r = req(offer);
        // Off: the header is not looked at; on: the offer is answered.
        assert_eq!(deflate_answer(&r, &Deflate::default()).unwrap(), None);
        let (params, answer) = deflate_answer(&r, &Deflate::on()).unwrap().unwrap();
        assert_eq!(answer, "permessage-deflate");
        assert_eq!(params.client_max_window_bits, 15);
        let broken = req(
            "GET / HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Extensions: permessage-deflate;\r\n\r\n",
        );
        assert_eq!(
            deflate_answer(&broken, &Deflate::on()).unwrap_err().status,
            400
        );
        assert_eq!(deflate_offer(&Deflate::default()), None);
        let (name, value) = deflate_offer(&Deflate::on()).unwrap();
        assert_eq!(name, "Sec-WebSocket-Extensions");

        // The client: our offer, the server's answer (split over two header lines) accepted;
        // an answer for an extension we did not offer fails the connection.
        let (_, key) = client_request("h", "/", &[], &[(name, value)]);
        let head = String::from_utf8(switching_response(&key, None, &[])).unwrap();
        let with = |ext: &str| head.replace("\r\n\r\n", &format!("\r\n{ext}\r\n\r\n"));
        let ok = with("Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\nSec-WebSocket-Extensions: ");
        let up = parse_response(ok.as_bytes(), &key, &[], &Deflate::on(), 8192)
            .unwrap()
            .unwrap();
        assert_eq!(up.deflate.unwrap().server_max_window_bits, 10);
        let plain = parse_response(head.as_bytes(), &key, &[], &Deflate::on(), 8192)
            .unwrap()
            .unwrap();
        assert_eq!(plain.deflate, None, "a server may decline");
        let other = with("Sec-WebSocket-Extensions: x-foo");
        let e = parse_response(other.as_bytes(), &key, &[], &Deflate::on(), 8192).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Handshake);
        assert!(e.message.contains("did not offer"), "{e:?}");
        let bits = with("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits");
        assert!(parse_response(bits.as_bytes(), &key, &[], &Deflate::on(), 8192).is_err());
    }

    #[test]
    fn header_injection_rejected() {
        assert!(header_ok("X-A", "b"));
        assert!(!header_ok("X-A", "b\r\nEvil: 1"));
        assert!(!header_ok("X A", "b"));
        assert!(!header_ok("", "b"));
    }

    #[test]
    fn library_headers_are_the_librarys_and_a_host_header_replaces_ours() {
        for name in [
            "sec-websocket-extensions",
            "UPGRADE",
            "Connection",
            "Content-Length",
        ] {
            assert!(library_header(name).is_some(), "{name}");
        }
        assert!(library_header("Sec-WebSocket-Protocol")
            .unwrap()
            .contains("subprotocol option"));
        assert_eq!(library_header("Host"), None);
        assert_eq!(library_header("X-Upgrade"), None);
        let (ours, _) = client_request("a:1", "/", &[], &[]);
        assert!(String::from_utf8(ours)
            .unwrap()
            .contains("\r\nHost: a:1\r\n"));
        let theirs = [("host".to_string(), "b".to_string())];
        let (req, _) = client_request("a:1", "/", &[], &theirs);
        let req = String::from_utf8(req).unwrap();
        assert!(!req.contains("Host: a:1"), "{req}");
        assert_eq!(req.matches("\r\nhost: b\r\n").count(), 1, "{req}");
    }
}
