//! Bad peers: oversized messages, invalid UTF-8, protocol violations, slow or oversized
//! handshakes, non-upgrade requests, unknown paths, too many connections. Each closes only the
//! offending connection with the right code or HTTP status.

mod common;

use std::io::ErrorKind as IoKind;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use wss::{
    AcceptDecision, Client, ClientConfig, ErrorKind, Limits, MessageKind, Server, ServerConfig,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// Handshake deadline of the slow-handshake tests: every healthy client in those tests must
/// finish its own handshake within it, so it is generous for a loaded machine.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

fn raw(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

/// Read until the server closes the connection, return everything. A reset counts as closed
/// (a server that closes with our bytes unread resets); no end within the socket's read
/// timeout (`WAIT`) fails the test: the server never closed.
fn read_all(s: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => panic!(
                "the server did not close the connection within {WAIT:?}; got {:?}",
                String::from_utf8_lossy(&out)
            ),
            Err(e) if e.kind() == IoKind::Interrupted => {}
            Err(_) => return out,
        }
    }
}

/// Read an HTTP response head.
fn read_head(s: &mut impl Read) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => out.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A masked client frame.
fn frame(fin_opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x11u8, 0x22, 0x33, 0x44];
    let mut f = vec![fin_opcode];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n < 65536 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// The close code in the first close frame found in server output after the 101 head.
fn close_code_in(bytes: &[u8]) -> Option<u16> {
    let mut i = 0;
    while i + 2 <= bytes.len() {
        let op = bytes[i] & 0x0f;
        let len = (bytes[i + 1] & 0x7f) as usize;
        let (hdr, len) = match len {
            126 => (4, u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize),
            127 => (
                10,
                u64::from_be_bytes(bytes[i + 2..i + 10].try_into().ok()?) as usize,
            ),
            n => (2, n),
        };
        if op == 8 {
            return Some(u16::from_be_bytes([bytes[i + hdr], bytes[i + hdr + 1]]));
        }
        i += hdr + len;
    }
    None
}

/// Open a raw upgraded connection and return it after the 101.
fn raw_ws(port: u16) -> TcpStream {
    let mut s = raw(port);
    s.write_all(upgrade_request("/", "").as_bytes()).unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s
}

/// The next error the server reported: of `kind`, on an open connection, saying `what`.
fn assert_error(rx: &Events, kind: ErrorKind, what: &str) {
    let err = wait_error(rx);
    assert_eq!(err.kind, kind, "{err}");
    assert!(err.message.contains(what), "'{what}' not in: {err}");
}

fn small_limits() -> Limits {
    Limits {
        max_message_size: 1024,
        max_frame_size: 512,
        ..Default::default()
    }
}

/// An echoing server with `limits`.
fn server_with(limits: Limits) -> (Server, Events) {
    recording_server(
        true,
        ServerConfig {
            limits,
            ..Default::default()
        },
    )
}

/// A second, well-behaved client still gets its echo. Returns it, still open.
fn assert_server_healthy(port: u16) -> Client {
    let (c, crx) = ws_client_on(port);
    c.connection().send_text("still alive").unwrap();
    assert_eq!(wait_msg(&crx), (MessageKind::Text, b"still alive".to_vec()));
    c
}

#[test]
fn oversized_frame_closes_1009() {
    let (server, rx) = server_with(small_limits());
    let mut s = raw_ws(server.port());
    s.write_all(&frame(0x82, &[7u8; 600])).unwrap();
    assert_eq!(close_code_in(&read_all(&mut s)), Some(1009));
    let err = wait_error(&rx);
    assert_eq!(err.kind, ErrorKind::MessageTooBig);
    assert_eq!(wait_close(&rx).0, 1009);
    assert_server_healthy(server.port());
}

#[test]
fn oversized_fragmented_message_closes_1009() {
    let (server, rx) = server_with(small_limits());
    let mut s = raw_ws(server.port());
    // Three 400-byte fragments: each frame is under the frame limit, the message is over 1024.
    s.write_all(&frame(0x02, &[1u8; 400])).unwrap();
    s.write_all(&frame(0x00, &[2u8; 400])).unwrap();
    s.write_all(&frame(0x80, &[3u8; 400])).unwrap();
    assert_eq!(close_code_in(&read_all(&mut s)), Some(1009));
    assert_eq!(wait_close(&rx).0, 1009);
    assert_error(&rx, ErrorKind::MessageTooBig, "1200 bytes (limit 1024)");
    assert_server_healthy(server.port());
}

#[test]
fn invalid_utf8_closes_1007() {
    let (server, rx) = server_with(Limits::default());
    let mut s = raw_ws(server.port());
    s.write_all(&frame(0x81, &[0x68, 0x69, 0xff, 0xfe]))
        .unwrap();
    assert_eq!(close_code_in(&read_all(&mut s)), Some(1007));
    assert_eq!(wait_close(&rx).0, 1007);
    assert_error(&rx, ErrorKind::Protocol, "invalid UTF-8");
    assert_server_healthy(server.port());
}

#[test]
fn invalid_utf8_split_across_fragments_closes_1007() {
    let (server, rx) = server_with(Limits::default());
    let mut s = raw_ws(server.port());
    // '€' is E2 82 AC; send E2 82 then an invalid continuation.
    s.write_all(&frame(0x01, &[b'a', 0xe2, 0x82])).unwrap();
    s.write_all(&frame(0x80, &[0x41])).unwrap();
    assert_eq!(close_code_in(&read_all(&mut s)), Some(1007));
    assert_eq!(wait_close(&rx).0, 1007);
    assert_error(&rx, ErrorKind::Protocol, "invalid UTF-8");
}

#[test]
fn protocol_violations_close_1002() {
    let (server, rx) = server_with(Limits::default());
    // Unmasked frame from a client.
    let mut s = raw_ws(server.port());
    s.write_all(&[0x81, 0x02, b'h', b'i']).unwrap();
    assert_eq!(close_code_in(&read_all(&mut s)), Some(1002));
    assert_eq!(wait_close(&rx).0, 1002);
    assert_error(&rx, ErrorKind::Protocol, "unmasked frame");
    // Reserved opcode 0x3.
    let mut s = raw_ws(server.port());
    s.write_all(&frame(0x83, b"x")).unwrap();
    assert_eq!(close_code_in(&read_all(&mut s)), Some(1002));
    assert_eq!(wait_close(&rx).0, 1002);
    assert_error(&rx, ErrorKind::Protocol, "invalid opcode");
    // RSV1 set without an extension.
    let mut s = raw_ws(server.port());
    s.write_all(&frame(0xC1, b"x")).unwrap();
    assert_eq!(close_code_in(&read_all(&mut s)), Some(1002));
    assert_eq!(wait_close(&rx).0, 1002);
    assert_error(&rx, ErrorKind::Protocol, "Reserved bits");
    // Continuation without a start.
    let mut s = raw_ws(server.port());
    s.write_all(&frame(0x80, b"x")).unwrap();
    assert_eq!(close_code_in(&read_all(&mut s)), Some(1002));
    assert_eq!(wait_close(&rx).0, 1002);
    assert_error(&rx, ErrorKind::Protocol, "nothing to continue");
    assert_server_healthy(server.port());
}

#[test]
fn unknown_path_gets_404_and_routes_dispatch() {
    let (default, _drx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), default).unwrap();
    let (echo, _erx) = recorder(true);
    let (chat, chat_rx) = recorder(false);
    server.add_route("/echo", echo).unwrap();
    server.add_route("/chat", chat).unwrap();
    assert!(server.add_route("no-slash", recorder(false).0).is_err());

    let mut s = raw(server.port());
    s.write_all(upgrade_request("/nope", "").as_bytes())
        .unwrap();
    let resp = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
    assert!(resp.starts_with("HTTP/1.1 404"), "{resp}");

    let (ch, crx) = recorder(false);
    let err = Client::connect(
        &format!("ws://127.0.0.1:{}/nope", server.port()),
        &ClientConfig::default(),
        ch.clone(),
    )
    .unwrap_err();
    assert_eq!(
        (err.kind, err.http_status),
        (ErrorKind::Handshake, Some(404))
    );

    let c = Client::connect(
        &format!("ws://127.0.0.1:{}/echo?x=1", server.port()),
        &ClientConfig::default(),
        ch.clone(),
    )
    .unwrap();
    wait_open(&crx);
    c.connection().send_text("to echo").unwrap();
    assert_eq!(wait_msg(&crx).1, b"to echo");

    let (ch2, crx2) = recorder(false);
    let c2 = Client::connect(
        &format!("ws://127.0.0.1:{}/chat", server.port()),
        &ClientConfig::default(),
        ch2,
    )
    .unwrap();
    wait_open(&crx2);
    let sconn = wait_open(&chat_rx);
    assert_eq!(sconn.info().path, "/chat");
    c2.connection().send_binary(b"to chat").unwrap();
    assert_eq!(
        wait_msg(&chat_rx),
        (MessageKind::Binary, b"to chat".to_vec())
    );
    assert!(server.remove_route("/chat"));
    let err = Client::connect(
        &format!("ws://127.0.0.1:{}/chat", server.port()),
        &ClientConfig::default(),
        ch,
    )
    .unwrap_err();
    assert_eq!(err.http_status, Some(404));
}

#[test]
fn plain_http_gets_426_and_hsts_on_tls() {
    let (h, _rx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let mut s = raw(server.port());
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let resp = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
    assert!(resp.starts_with("HTTP/1.1 426"), "{resp}");
    assert!(resp.contains("Upgrade: websocket"));
    assert!(
        !resp.contains("Strict-Transport-Security"),
        "no HSTS over plain HTTP"
    );

    let (h, _rx) = recorder(false);
    let tls_server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            tls: Some(server_tls()),
            ..Default::default()
        },
        h,
    )
    .unwrap();
    let mut b = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls()).unwrap();
    b.set_ca_file(&pki().ca_cert).unwrap();
    let connector = b.build();
    let tcp = raw(tls_server.port());
    let mut tls = connector.connect("localhost", tcp).unwrap();
    tls.write_all(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let resp = String::from_utf8_lossy(&read_all(&mut tls)).into_owned();
    assert!(resp.starts_with("HTTP/1.1 426"), "{resp}");
    assert!(
        resp.contains("Strict-Transport-Security: max-age="),
        "{resp}"
    );
}

#[test]
fn malformed_and_oversized_heads() {
    let limits = Limits {
        max_header_size: 1024,
        ..Default::default()
    };
    let (server, _rx) = server_with(limits);
    let mut s = raw(server.port());
    s.write_all(upgrade_request("/", &format!("X-Big: {}\r\n", "a".repeat(2000))).as_bytes())
        .unwrap();
    let resp = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
    assert!(resp.starts_with("HTTP/1.1 431"), "{resp}");

    let mut s = raw(server.port());
    s.write_all(b"\x16\x03\x01garbage that is not http\r\n\r\n")
        .unwrap();
    let resp = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");

    let mut s = raw(server.port());
    s.write_all(
        upgrade_request("/", "")
            .replace("Version: 13", "Version: 8")
            .as_bytes(),
    )
    .unwrap();
    let resp = String::from_utf8_lossy(&read_all(&mut s)).into_owned();
    assert!(
        resp.starts_with("HTTP/1.1 426") && resp.contains("Sec-WebSocket-Version: 13"),
        "{resp}"
    );
    assert_server_healthy(server.port());
}

#[test]
fn slow_handshake_times_out_and_others_continue() {
    let limits = Limits {
        handshake_timeout: HANDSHAKE_TIMEOUT,
        ..Default::default()
    };
    let (server, rx) = server_with(limits);
    let mut slow = raw(server.port());
    let start = Instant::now();
    // Half a request, then silence (slowloris).
    slow.write_all(b"GET / HTTP/1.1\r\nHost: loc").unwrap();
    // Meanwhile a good client is served.
    let healthy = assert_server_healthy(server.port());
    // The slow one is cut off, at the deadline and not before: its request had started, so it
    // is answered 408 Request Timeout; and the host hears a Timeout.
    let resp = String::from_utf8_lossy(&read_all(&mut slow)).into_owned();
    assert!(
        resp.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{resp}"
    );
    assert!(
        start.elapsed() >= HANDSHAKE_TIMEOUT,
        "{:?}",
        start.elapsed()
    );
    let err = wait_error(&rx);
    assert_eq!(err.kind, ErrorKind::Timeout);
    assert!(err.peer.is_some());
    // After its answer the server drains the slow one until it closes (or the linger ends).
    drop(slow);
    wait_until("only the healthy client remains", || {
        server.active_connections() == 1
    });
    assert!(healthy.connection().is_open());
}

#[test]
fn tls_handshake_stall_times_out() {
    let limits = Limits {
        handshake_timeout: HANDSHAKE_TIMEOUT,
        ..Default::default()
    };
    let (h, rx) = recorder(false);
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            tls: Some(server_tls()),
            limits,
            ..Default::default()
        },
        h,
    )
    .unwrap();
    let start = Instant::now();
    let mut s = raw(server.port());
    // Connect and send nothing: no ClientHello.
    assert!(read_all(&mut s).is_empty());
    assert!(
        start.elapsed() >= HANDSHAKE_TIMEOUT,
        "{:?}",
        start.elapsed()
    );
    assert_eq!(wait_error(&rx).kind, ErrorKind::Timeout);
}

#[test]
fn max_connections_gets_503() {
    let limits = Limits {
        max_connections: 2,
        ..Default::default()
    };
    let (server, _rx) = server_with(limits);
    let _a = raw_ws(server.port());
    let _b = raw_ws(server.port());
    let mut c = raw(server.port());
    c.write_all(upgrade_request("/", "").as_bytes()).unwrap();
    let resp = String::from_utf8_lossy(&read_all(&mut c)).into_owned();
    assert!(resp.starts_with("HTTP/1.1 503"), "{resp}");
    let (ch, _crx) = recorder(false);
    let err = Client::connect(
        &format!("ws://127.0.0.1:{}/", server.port()),
        &ClientConfig::default(),
        ch,
    )
    .unwrap_err();
    assert_eq!(err.http_status, Some(503));
}

#[test]
fn accept_hook_sees_request_and_can_reject_or_pick_subprotocol() {
    let (h, srx) = recorder_with_accept(|req| {
        assert!(req.remote.ip().is_loopback());
        if req.request.header("Authorization") != Some("Bearer good") {
            return AcceptDecision::Reject {
                status: 401,
                reason: "Unauthorized".into(),
            };
        }
        let proto = req
            .subprotocols
            .iter()
            .find(|p| p.as_str() == "v2.chat")
            .cloned();
        AcceptDecision::Accept {
            subprotocol: proto,
            headers: vec![("X-Server".into(), "wss".into())],
        }
    });
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let url = format!("ws://127.0.0.1:{}/room", server.port());
    let (ch, crx) = recorder(false);
    let mut cfg = ClientConfig::default();
    let err = Client::connect(&url, &cfg, ch.clone()).unwrap_err();
    assert_eq!(
        (err.kind, err.http_status),
        (ErrorKind::Handshake, Some(401))
    );

    cfg.headers
        .push(("Authorization".into(), "Bearer good".into()));
    cfg.subprotocols = vec!["v1.chat".into(), "v2.chat".into()];
    let c = Client::connect(&url, &cfg, ch).unwrap();
    wait_open(&crx);
    assert_eq!(
        c.connection().info().subprotocol.as_deref(),
        Some("v2.chat")
    );
    let s = wait_open(&srx);
    assert_eq!(s.info().subprotocol.as_deref(), Some("v2.chat"));
    assert_eq!(s.info().path, "/room");
    // The hook's extra response header is on the wire, next to the chosen subprotocol.
    let mut raw_client = raw(server.port());
    let extra = "Authorization: Bearer good\r\nSec-WebSocket-Protocol: v2.chat\r\n";
    raw_client
        .write_all(upgrade_request("/room", extra).as_bytes())
        .unwrap();
    let head = read_head(&mut raw_client).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("\r\nx-server: wss\r\n"), "{head}");
    assert!(
        head.contains("\r\nsec-websocket-protocol: v2.chat\r\n"),
        "{head}"
    );
    wait_open(&srx);
}

#[test]
fn accept_hook_choosing_unoffered_subprotocol_is_a_500() {
    let (h, srx) = recorder_with_accept(|_| AcceptDecision::Accept {
        subprotocol: Some("never-offered".into()),
        headers: vec![],
    });
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let (ch, _crx) = recorder(false);
    let err = Client::connect(
        &format!("ws://127.0.0.1:{}/", server.port()),
        &ClientConfig::default(),
        ch,
    )
    .unwrap_err();
    assert_eq!(err.http_status, Some(500));
    assert_eq!(wait_error(&srx).kind, ErrorKind::InvalidArgument);
}

#[test]
fn peer_vanishing_gives_1006() {
    let (h, rx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let s = raw_ws(server.port());
    wait_open(&rx);
    drop(s);
    assert_eq!(wait_close(&rx).0, 1006);
}

#[test]
fn frames_pipelined_behind_the_request_are_read() {
    let (h, rx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let mut s = raw(server.port());
    let mut bytes = upgrade_request("/", "").into_bytes();
    bytes.extend(frame(0x81, b"early"));
    s.write_all(&bytes).unwrap();
    assert_eq!(wait_msg(&rx), (MessageKind::Text, b"early".to_vec()));
    // Check for errors before our socket goes: closing it with the 101 unread resets the
    // connection, which the server rightly reports.
    drop(rx);
    drop(s);
}

#[test]
fn data_followed_at_once_by_eof_is_read_and_the_end_seen() {
    // The last frame and the FIN often arrive before the server wakes up: it must deliver the
    // message and still notice the end (no further readiness event comes for it).
    let (h, rx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    for i in 0..20u8 {
        let mut s = raw_ws(server.port());
        let open = wait_open(&rx);
        s.write_all(&frame(0x82, &[i; 10])).unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(wait_msg(&rx), (MessageKind::Binary, vec![i; 10]));
        let code = until(&rx, |e| match e {
            Ev::Close(id, code, _) if *id == open.id() => Some(*code),
            _ => None,
        });
        assert_eq!(code, 1006);
    }
}

/// Tells the first open connection about every error the server sees.
#[derive(Default)]
struct Notifier {
    conn: parking_lot::Mutex<Option<wss::Connection>>,
}

impl wss::Handler for Notifier {
    fn on_open(&self, c: &wss::Connection) {
        *self.conn.lock() = Some(c.clone());
    }
    fn on_error(&self, _c: Option<&wss::Connection>, e: &wss::Error) {
        if let Some(c) = &*self.conn.lock() {
            let _ = c.send_text(&format!("saw: {:?}", e.kind));
        }
    }
}

#[test]
fn sends_from_timer_callbacks_go_out_without_other_traffic() {
    // The handshake-timeout error is reported from a timer on the I/O thread; a send made in
    // that callback must be written at once, not when some unrelated event wakes the thread.
    let limits = Limits {
        handshake_timeout: HANDSHAKE_TIMEOUT,
        ..Default::default()
    };
    let config = ServerConfig {
        io_threads: 1,
        limits,
        ..Default::default()
    };
    let (h, srx) = watched(Arc::new(Notifier::default()));
    let server = Server::bind("127.0.0.1:0", config, h).unwrap();
    let (_client, rx) = ws_client(&server);
    let _silent = raw(server.port()); // never sends a request: times out
    let (_, text) = wait_msg(&rx);
    assert_eq!(text, b"saw: Timeout");
    assert_eq!(wait_error(&srx).kind, ErrorKind::Timeout);
}
