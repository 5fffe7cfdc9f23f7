//! The connection's states and their timers: one keepalive chain per connection, the
//! non-blocking client connect, deferred accept decisions.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use wss::{
    AcceptDecision, Client, ClientConfig, Error, ErrorKind, Keepalive, Limits, Server, ServerConfig,
};

/// Collect every event of `rx` until `until` (a measuring window, not a synchronisation sleep).
fn events_until(rx: &Events, until: Instant) -> Vec<(Instant, Ev)> {
    let mut out = Vec::new();
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(ev) => out.push((Instant::now(), ev)),
            Err(_) => break,
        }
    }
    out
}

/// The handshake deadline must end with the handshake: before timers carried their kind, its
/// entry fired after the open and started a second keepalive chain, which sent an extra ping.
/// With a timeout longer than the interval, an answered ping is followed by the next check at
/// `sent + timeout`, so within a window shorter than the timeout each connection sees exactly
/// one ping (answered by our client: one pong on the server).
#[test]
fn one_keepalive_chain_per_connection_over_many_open_close_cycles() {
    let ka = Keepalive {
        interval: Duration::from_millis(100),
        timeout: Duration::from_secs(4),
    };
    let (server, srx) = recording_server(
        false,
        ServerConfig {
            keepalive: Some(ka),
            limits: Limits {
                handshake_timeout: Duration::from_millis(700),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    for cycle in 0..3 {
        let clients: Vec<_> = (0..4).map(|_| ws_client(&server)).collect();
        let mut opened = HashMap::new();
        while opened.len() < clients.len() {
            let c = wait_open(&srx);
            opened.insert(c.id(), Instant::now());
        }
        // Window: the handshake deadline (700 ms after accept) lies well inside it, the next
        // regular check (4 s after the first ping) well outside.
        let window_end = Instant::now() + Duration::from_millis(2000);
        let mut pongs: HashMap<u64, usize> = HashMap::new();
        for (_, ev) in events_until(&srx, window_end) {
            match ev {
                Ev::Pong(id, _) => *pongs.entry(id).or_default() += 1,
                Ev::Error(id, e) => panic!("unexpected server error on {id:?}: {e}"),
                other => panic!("unexpected server event {other:?}"),
            }
        }
        for id in opened.keys() {
            assert_eq!(
                pongs.get(id).copied().unwrap_or(0),
                1,
                "cycle {cycle}: connection {id} must be pinged exactly once in the window: {pongs:?}"
            );
        }
        for (client, crx) in clients {
            client.close(1000, "", WAIT).unwrap();
            assert_eq!(wait_close(&crx).0, 1000);
            assert!(crx.try_iter().all(|e| !matches!(e, Ev::Error(..))));
        }
        for _ in 0..opened.len() {
            until(&srx, |e| match e {
                Ev::Close(..) => Some(()),
                Ev::Error(id, err) => panic!("unexpected server error on {id:?}: {err}"),
                _ => None,
            });
        }
    }
}

// ------------------------------------------------------------- non-blocking client connect

fn echo_server(tls: Option<wss::TlsConfig>) -> (Server, Events) {
    recording_server(
        true,
        ServerConfig {
            tls,
            ..Default::default()
        },
    )
}

#[test]
fn connect_async_opens_by_ip_and_by_name_and_echoes() {
    let (server, srx) = echo_server(Some(server_tls()));
    for host in ["127.0.0.1", "localhost"] {
        let (ch, crx) = recorder(false);
        let config = ClientConfig {
            tls: Some(client_tls()),
            ..Default::default()
        };
        let url = format!("wss://{host}:{}/chat", server.port());
        let client = Client::connect_async(&url, &config, ch).unwrap();
        client.connection().wait_open(WAIT).unwrap();
        let opened = wait_open(&crx);
        assert_eq!(opened.id(), client.connection().id());
        let info = client.connection().info();
        assert!(info.is_client && info.tls.is_some(), "{info:?}");
        assert!(info.remote.ip().is_loopback(), "{info:?}");
        assert_eq!(info.path, "/chat");
        client.connection().send_text("hello").unwrap();
        assert_eq!(wait_msg(&crx).1, b"hello");
        client.close(1000, "", WAIT).unwrap();
        assert_eq!(wait_close(&crx).0, 1000);
        assert_no_errors(&crx);
    }
    server.shutdown(WAIT).unwrap();
    assert_no_errors(&srx);
}

/// The outcome of a connect that cannot succeed: its error event (with the client's own,
/// never opened, connection) and `wait_open`'s answer; no open or close event.
fn failed_connect(url: &str, config: &ClientConfig) -> Error {
    let (ch, crx) = recorder(false);
    let client = Client::connect_async(url, config, ch).unwrap();
    let err = client.connection().wait_open(WAIT).unwrap_err();
    match next(&crx) {
        Ev::Error(Some(id), e) => {
            assert_eq!(id, client.connection().id());
            assert_eq!(e.message, err.message);
        }
        other => panic!("expected the connect error, got {other:?}"),
    }
    assert!(!client.connection().is_open());
    assert!(client.connection().send_text("x").is_err(), "never opened");
    drop(client);
    assert!(crx.try_recv().is_err(), "no event after the error");
    err
}

#[test]
fn connect_async_to_a_refused_port_reports_it() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = failed_connect(&format!("ws://127.0.0.1:{port}/"), &ClientConfig::default());
    assert_eq!(err.kind, ErrorKind::Io, "{err}");
    assert!(err.message.contains("cannot connect to"), "{err}");
    assert!(
        err.hint
            .as_deref()
            .unwrap_or("")
            .contains("nothing listens"),
        "{err}"
    );
    assert_eq!(err.peer.map(|p| p.port()), Some(port));
    // The blocking form returns the same error and tells the handler nothing.
    let (blocking, crx) = ws_connect(port);
    let blocking = blocking.unwrap_err();
    assert_eq!(blocking.message, err.message);
    assert!(crx.try_recv().is_err());
}

#[test]
fn connect_async_tls_verify_failure_carries_the_verify_code() {
    let (server, srx) = echo_server(Some(server_tls()));
    // The default trust store does not know the test CA: the server cannot be verified.
    let config = ClientConfig {
        tls: Some(wss::TlsConfig::new()),
        ..Default::default()
    };
    let err = failed_connect(&format!("wss://127.0.0.1:{}/", server.port()), &config);
    assert_eq!(err.kind, ErrorKind::CertVerify, "{err}");
    let verify = err
        .verify
        .as_ref()
        .unwrap_or_else(|| panic!("no verify result: {err}"));
    // 19: the server sends its chain up to the test root, which this client does not trust.
    assert_eq!(verify.code, 19, "{err}");
    assert!(err.hint.is_some(), "{err}");
    assert!(!err.openssl.is_empty(), "{err}");
    assert_eq!(err.peer, Some(server.local_addr()), "{err}");
    // The server saw the client's alert.
    assert!(matches!(next(&srx), Ev::Error(None, _)));
    server.shutdown(WAIT).unwrap();
}

#[test]
fn connect_async_times_out_on_a_server_that_never_answers() {
    // A listening socket nobody accepts on: the kernel completes TCP, nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let timeout = Duration::from_millis(300);
    let config = ClientConfig {
        connect_timeout: timeout,
        ..Default::default()
    };
    let started = Instant::now();
    let err = failed_connect(&format!("ws://127.0.0.1:{port}/"), &config);
    assert!(started.elapsed() >= timeout, "{:?}", started.elapsed());
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(
        err.message.contains("waiting for the upgrade response"),
        "{err}"
    );
    // Over TLS the handshake is what times out.
    let config = ClientConfig {
        connect_timeout: timeout,
        tls: Some(client_tls()),
        ..Default::default()
    };
    let err = failed_connect(&format!("wss://127.0.0.1:{port}/"), &config);
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(err.message.contains("TLS handshake"), "{err}");
}

#[test]
fn dropping_a_connecting_client_closes_its_socket_without_callbacks() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (ch, crx) = recorder(false);
    let client = Client::connect_async(
        &format!("ws://127.0.0.1:{port}/"),
        &ClientConfig::default(),
        ch,
    )
    .unwrap();
    let conn = client.connection().clone();
    // The client is now waiting for the upgrade response: read its request.
    let (mut peer, _) = silent.accept().unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = std::io::Read::read(&mut peer, &mut buf).unwrap();
        assert_ne!(n, 0, "request cut short");
        head.extend_from_slice(&buf[..n]);
    }
    drop(client);
    // The socket is closed (EOF, not the read timeout) ...
    let n = std::io::Read::read(&mut peer, &mut buf).expect("EOF before the read timeout");
    assert_eq!(n, 0);
    // ... and nothing was reported, before or after.
    assert!(conn.wait_closed(WAIT).is_some());
    assert!(
        crx.try_recv().is_err(),
        "no callbacks for a cancelled connect"
    );
    assert!(wss::connection(conn.id()).is_none());
}

// ------------------------------------------------------------- deferred accept decisions

/// Where a deferring route reports each request: its id and the subprotocols offered.
type Pending = crossbeam_channel::Receiver<(u64, Vec<String>)>;

/// A server whose route defers every accept decision and hands the request's id and offered
/// subprotocols to the test.
fn deferring_server(limits: Limits) -> (Server, Events, Pending) {
    let (tx, pending) = crossbeam_channel::unbounded();
    let (h, srx) = recorder_with_accept(move |req| {
        tx.send((req.id, req.subprotocols.clone())).unwrap();
        AcceptDecision::Defer
    });
    let server = local_server(
        ServerConfig {
            limits,
            ..Default::default()
        },
        h,
    );
    (server, srx, pending)
}

/// A raw upgrade request offering `protocols`; returns the socket.
fn raw_upgrade(port: u16, protocols: &str) -> std::net::TcpStream {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let req = format!(
        "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: {protocols}\r\n\r\n"
    );
    std::io::Write::write_all(&mut s, req.as_bytes()).unwrap();
    s
}

/// The response head (up to the blank line).
fn response_head(s: &mut std::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = std::io::Read::read(s, &mut byte).expect("response before the read timeout");
        assert_eq!(n, 1, "closed before a full response head: {head:?}");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn a_deferred_accept_decided_on_another_thread_opens_with_its_subprotocol_and_headers() {
    let (server, srx, pending) = deferring_server(Limits::default());
    let mut sock = raw_upgrade(server.port(), "a, chat");
    let (id, offered) = pending.recv_timeout(WAIT).unwrap();
    assert_eq!(offered, ["a", "chat"]);
    let server = std::sync::Arc::new(server);
    let decider = {
        let server = server.clone();
        std::thread::spawn(move || {
            // Checked first, and left pending when invalid.
            let invalid = [
                AcceptDecision::Defer,
                AcceptDecision::Accept {
                    subprotocol: Some("not-offered".into()),
                    headers: vec![],
                },
                AcceptDecision::Accept {
                    subprotocol: None,
                    headers: vec![("X-Bad".into(), "a\r\nb".into())],
                },
                AcceptDecision::Reject {
                    status: 200,
                    reason: "OK".into(),
                },
            ];
            for d in invalid {
                let err = server.decide(id, d.clone()).unwrap_err();
                assert_eq!(err.kind, ErrorKind::InvalidArgument, "{d:?}: {err}");
            }
            server.decide(
                id,
                AcceptDecision::Accept {
                    subprotocol: Some("chat".into()),
                    headers: vec![("X-Decided".into(), "later".into())],
                },
            )
        })
    };
    decider.join().unwrap().unwrap();
    let head = response_head(&mut sock);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("Sec-WebSocket-Protocol: chat\r\n"), "{head}");
    assert!(head.contains("X-Decided: later\r\n"), "{head}");
    let conn = wait_open(&srx);
    assert_eq!(conn.id(), id);
    assert_eq!(conn.info().subprotocol.as_deref(), Some("chat"));
    // Decided once: a second decision finds nothing pending.
    let again = server.decide(id, AcceptDecision::accept()).unwrap_err();
    assert_eq!(again.kind, ErrorKind::NotConnected);
    drop(sock);
    assert_eq!(wait_close(&srx).0, 1006);
    assert_no_errors(&srx);
}

#[test]
fn a_deferred_accept_rejected_with_403_and_a_reason() {
    let (server, srx, pending) = deferring_server(Limits::default());
    let mut sock = raw_upgrade(server.port(), "chat");
    let (id, _) = pending.recv_timeout(WAIT).unwrap();
    server
        .decide(
            id,
            AcceptDecision::Reject {
                status: 403,
                reason: "Not today".into(),
            },
        )
        .unwrap();
    let head = response_head(&mut sock);
    assert!(head.starts_with("HTTP/1.1 403 Not today\r\n"), "{head}");
    server.shutdown(WAIT).unwrap();
    assert!(srx.try_iter().next().is_none(), "no event for a refusal");
}

#[test]
fn an_undecided_upgrade_gets_503_at_the_handshake_deadline() {
    let (server, srx, pending) = deferring_server(Limits {
        handshake_timeout: Duration::from_millis(300),
        ..Default::default()
    });
    let mut sock = raw_upgrade(server.port(), "chat");
    let (id, _) = pending.recv_timeout(WAIT).unwrap();
    let head = response_head(&mut sock);
    assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
    let err = wait_error(&srx);
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(
        err.message
            .contains("no accept decision within the handshake timeout"),
        "{err}"
    );
    let late = server.decide(id, AcceptDecision::accept()).unwrap_err();
    assert_eq!(late.kind, ErrorKind::NotConnected, "{late}");
}

#[test]
fn deciding_a_stale_or_departed_upgrade_is_not_connected() {
    let (server, srx, pending) = deferring_server(Limits::default());
    let err = server
        .decide(u64::MAX - 1, AcceptDecision::accept())
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotConnected, "{err}");
    // A client that leaves while its upgrade awaits the decision is dropped.
    let sock = raw_upgrade(server.port(), "chat");
    let (id, _) = pending.recv_timeout(WAIT).unwrap();
    drop(sock);
    let deadline = Instant::now() + WAIT;
    while server.active_connections() > 0 {
        assert!(
            Instant::now() < deadline,
            "the departed client was never dropped"
        );
        std::thread::sleep(Duration::from_millis(10)); // polling a condition, with a deadline
    }
    let err = server.decide(id, AcceptDecision::accept()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotConnected, "{err}");
    server.shutdown(WAIT).unwrap();
    assert_no_errors(&srx);
}

/// Connects again from inside its own `on_open` (a client I/O thread), as hosts could before
/// the connect moved onto those threads.
struct ConnectsFromCallback {
    url: String,
    result: crossbeam_channel::Sender<wss::Result<Client>>,
}

impl wss::Handler for ConnectsFromCallback {
    fn on_open(&self, _conn: &wss::Connection) {
        let (h, _rx) = recorder(false);
        let _ = self
            .result
            .send(Client::connect(&self.url, &ClientConfig::default(), h));
    }
}

#[test]
fn a_blocking_connect_from_inside_a_client_callback_completes() {
    let (server, srx) = echo_server(None);
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let (tx, rx) = crossbeam_channel::unbounded();
    let outer = Client::connect(
        &url,
        &ClientConfig::default(),
        std::sync::Arc::new(ConnectsFromCallback {
            url: url.clone(),
            result: tx,
        }),
    )
    .unwrap();
    let inner = rx.recv_timeout(WAIT).expect("the inner connect returned");
    let one_thread = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    match inner {
        Ok(inner) => assert!(inner.connection().is_open()),
        // The client pool has one thread per core: with one, the caller's is the only one.
        Err(e) if one_thread => assert_eq!(e.kind, ErrorKind::InvalidState, "{e}"),
        Err(e) => panic!("inner connect failed: {e}"),
    }
    drop(outer);
    server.shutdown(WAIT).unwrap();
    assert_no_errors(&srx);
}
