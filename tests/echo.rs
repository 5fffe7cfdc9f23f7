//! Echo round trips over ws and wss at the frame-length boundaries and large sizes.

mod common;

use std::sync::Arc;

use common::*;
use wss::{Client, ClientConfig, MessageKind, Server, ServerConfig};

const SIZES: [usize; 6] = [0, 125, 126, 65535, 65536, 16 << 20];

fn echo_all(secure: bool) {
    let (h, _srx) = recorder(true);
    let config = ServerConfig {
        tls: secure.then(server_tls),
        ..Default::default()
    };
    let server = Server::bind("127.0.0.1:0", config, h).unwrap();
    let scheme = if secure { "wss" } else { "ws" };
    let url = format!("{scheme}://127.0.0.1:{}/echo", server.port());
    let (ch, crx) = recorder(false);
    let cconf = ClientConfig {
        tls: secure.then(client_tls),
        ..Default::default()
    };
    let client = Client::connect(&url, &cconf, ch).unwrap();
    wait_open(&crx);
    let conn = client.connection();
    assert_eq!(conn.info().tls.is_some(), secure);
    for (i, n) in SIZES.iter().enumerate() {
        let bin = payload(*n, i as u8);
        conn.send_binary(&bin).unwrap();
        let (k, got) = wait_msg(&crx);
        assert_eq!(k, MessageKind::Binary);
        assert!(got == bin, "binary echo of {n} bytes differs");
        let t = text(*n);
        conn.send_text(&t).unwrap();
        let (k, got) = wait_msg(&crx);
        assert_eq!(k, MessageKind::Text);
        assert!(got == t.as_bytes(), "text echo of {n} bytes differs");
    }
    client.close(1000, "bye", WAIT).unwrap();
    let (code, reason) = wait_close(&crx);
    assert_eq!((code, reason.as_str()), (1000, "bye"));
    server.shutdown(WAIT).unwrap();
}

#[test]
fn echo_plain_ws() {
    echo_all(false);
}

#[test]
fn echo_tls_wss() {
    echo_all(true);
}

#[test]
fn server_close_reaches_client_with_code_and_reason() {
    let (h, srx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let (ch, crx) = recorder(false);
    let _client = Client::connect(
        &format!("ws://127.0.0.1:{}/", server.port()),
        &ClientConfig::default(),
        ch,
    )
    .unwrap();
    let sconn = wait_open(&srx);
    sconn.close(4001, "custom reason").unwrap();
    assert_eq!(wait_close(&crx), (4001, "custom reason".to_string()));
    assert_eq!(wait_close(&srx), (4001, "custom reason".to_string()));
    assert!(
        wss::connection(sconn.id()).is_none(),
        "closed id must not resolve"
    );
    assert_eq!(
        sconn.send_text("late").unwrap_err().kind,
        wss::ErrorKind::NotConnected
    );
    server.shutdown(WAIT).unwrap();
}

#[test]
fn pings_are_answered() {
    let (h, _srx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let (client, crx) = ws_client(&server);
    client.connection().ping(b"hello").unwrap();
    let pong = until(&crx, |e| match e {
        Ev::Pong(_, d) => Some(d.clone()),
        _ => None,
    });
    assert_eq!(pong, b"hello");
    assert!(client.connection().ping(&[0u8; 126]).is_err());
    server.shutdown(WAIT).unwrap();
}

#[test]
fn wss_over_ipv6_loopback_verifies_the_ip_san() {
    let (h, _srx) = recorder(true);
    let config = ServerConfig {
        tls: Some(server_tls()),
        ..Default::default()
    };
    let server = match Server::bind("[::1]:0", config, h) {
        Ok(s) => s,
        // A machine without IPv6 loopback cannot run this test; everything else still does.
        Err(e) if e.kind == wss::ErrorKind::Io => {
            eprintln!("skipping: no IPv6 loopback ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let (ch, crx) = recorder(false);
    let cconf = ClientConfig {
        tls: Some(client_tls()),
        ..Default::default()
    };
    let client = Client::connect(&format!("wss://[::1]:{}/v6", server.port()), &cconf, ch).unwrap();
    wait_open(&crx);
    assert!(client.connection().info().remote.is_ipv6());
    client.connection().send_text("over v6").unwrap();
    assert_eq!(wait_msg(&crx).1, b"over v6");
    server.shutdown(WAIT).unwrap();
}

/// Sends a welcome message as soon as a connection opens.
struct Welcome;

impl wss::Handler for Welcome {
    fn on_open(&self, conn: &wss::Connection) {
        conn.send_text("welcome").unwrap();
    }
}

#[test]
fn a_message_sent_right_after_the_upgrade_reaches_the_client() {
    // The welcome often arrives together with the 101 response, so the client has it buffered
    // (in the handshake's leftover bytes or OpenSSL's read-ahead) before its I/O thread takes
    // the socket: it must be delivered without waiting for more traffic.
    for secure in [false, true] {
        let config = ServerConfig {
            tls: secure.then(server_tls),
            ..Default::default()
        };
        let (h, _srx) = watched(Arc::new(Welcome));
        let server = Server::bind("127.0.0.1:0", config, h).unwrap();
        let scheme = if secure { "wss" } else { "ws" };
        let cconf = ClientConfig {
            tls: secure.then(client_tls),
            ..Default::default()
        };
        for _ in 0..20 {
            let (ch, crx) = recorder(false);
            let _c = Client::connect(
                &format!("{scheme}://localhost:{}/", server.port()),
                &cconf,
                ch,
            )
            .unwrap();
            assert_eq!(wait_msg(&crx), (MessageKind::Text, b"welcome".to_vec()));
        }
        server.shutdown(WAIT).unwrap();
    }
}

/// Busy TLS connections keep their record buffers; after a second without traffic they release
/// them again (src/io/worker.rs `sweep`). Traffic after that must find working buffers on both
/// sides, including messages pipelined while the buffers are being reallocated.
#[test]
fn wss_after_busy_then_idle() {
    let (h, _srx) = recorder(true);
    let config = ServerConfig {
        tls: Some(server_tls()),
        ..Default::default()
    };
    let server = Server::bind("127.0.0.1:0", config, h).unwrap();
    let url = format!("wss://127.0.0.1:{}/", server.port());
    let (ch, crx) = recorder(false);
    let cconf = ClientConfig {
        tls: Some(client_tls()),
        ..Default::default()
    };
    let client = Client::connect(&url, &cconf, ch).unwrap();
    wait_open(&crx);
    let conn = client.connection();
    let round = |seed: u8| {
        // Busy: well over the 16 messages that make a connection keep its buffers.
        for i in 0..40u8 {
            conn.send_binary(&payload(100 + i as usize * 50, seed.wrapping_add(i)))
                .unwrap();
        }
        for i in 0..40u8 {
            let (_, got) = wait_msg(&crx);
            assert!(got == payload(100 + i as usize * 50, seed.wrapping_add(i)));
        }
    };
    round(1);
    // Idle long enough for two sweeps (each 1 s): both ends release their buffers.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    round(2);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    round(3);
    client.close(1000, "bye", WAIT).unwrap();
    assert_eq!(wait_close(&crx).0, 1000);
    server.shutdown(WAIT).unwrap();
}
