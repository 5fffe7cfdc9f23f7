//! Hostile peers against an in-process server: each attack is bounded (the peer is dropped or
//! paused), other connections keep being served, and the host is told what happened.
//! The same attacks against a server *process* on the C ABI are in `attack_process_*` below.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::raw::c_int;
use std::time::{Duration, Instant};

use common::*;
use foreign_types::ForeignTypeRef;
use openssl::ssl::{SslConnector, SslMethod, SslStream, SslVerifyMode, SslVersion};
use wss::{Client, ClientConfig, ErrorKind, ServerConfig};

extern "C" {
    fn SSL_key_update(ssl: *mut openssl_sys::SSL, updatetype: c_int) -> c_int;
    fn SSL_renegotiate(ssl: *mut openssl_sys::SSL) -> c_int;
}
const SSL_KEY_UPDATE_REQUESTED: c_int = 1;

/// Bound for "another client is still served" under attack on a loaded 2-core machine.
const SERVED_WITHIN: Duration = Duration::from_secs(5);

/// A raw TLS client (no verification) at `addr` with protocol `version`, upgraded to WebSocket by
/// hand: the attacker's side, free to send what our client never would.
fn raw_upgraded(addr: std::net::SocketAddr, version: SslVersion) -> SslStream<TcpStream> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    b.set_min_proto_version(Some(version)).unwrap();
    b.set_max_proto_version(Some(version)).unwrap();
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.set_write_timeout(Some(WAIT)).unwrap();
    let mut s = b.build().connect("localhost", tcp).unwrap();
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "upgrade refused: {head:?}");
    s
}

/// A wss:// client of `server` (trusting the test CA) recording its events, once open.
fn wss_client(server: &wss::Server) -> (Client, Events) {
    let (ch, crx) = recorder(false);
    let cconf = ClientConfig {
        tls: Some(client_tls()),
        ..Default::default()
    };
    let url = format!("wss://127.0.0.1:{}/", server.port());
    let client = Client::connect(&url, &cconf, ch).unwrap();
    wait_open(&crx);
    (client, crx)
}

/// One echo round trip through `client`, within `SERVED_WITHIN`.
fn echo_within(client: &Client, crx: &Events, n: u32) {
    let start = Instant::now();
    let text = format!("still served {n}");
    client.connection().send_text(&text).unwrap();
    let (_, got) = wait_msg(crx);
    assert_eq!(got, text.as_bytes());
    let took = start.elapsed();
    assert!(took < SERVED_WITHIN, "echo {n} took {took:?} under attack");
}

fn tls_server(echo: bool, threads: usize) -> (wss::Server, Events) {
    recording_server(
        echo,
        ServerConfig {
            tls: Some(server_tls()),
            io_threads: threads,
            ..Default::default()
        },
    )
}

// ------------------------------------------------------------------------- 1. KeyUpdate storm

/// A peer sending TLS 1.3 KeyUpdate (update_requested) without end shares its I/O thread with
/// a well-behaved client, which keeps getting echoes; the flooder is dropped and reported.
#[test]
fn key_update_storm_is_dropped_and_others_are_served() {
    let (server, srx) = tls_server(true, 1);
    let (client, crx) = wss_client(&server);
    echo_within(&client, &crx, 0);
    let mut attacker = raw_upgraded(server.local_addr(), SslVersion::TLS1_3);
    let flood = std::thread::spawn(move || {
        let deadline = Instant::now() + WAIT;
        let mut sent = 0u64;
        while Instant::now() < deadline {
            // SAFETY: a valid, connected SSL; SSL_do_handshake sends the scheduled KeyUpdate.
            let ok = unsafe {
                SSL_key_update(attacker.ssl().as_ptr(), SSL_KEY_UPDATE_REQUESTED) == 1
                    && openssl_sys::SSL_do_handshake(attacker.ssl().as_ptr()) == 1
            };
            if !ok {
                let _ = openssl::error::ErrorStack::get();
                break; // the server dropped us: our writes fail
            }
            sent += 1;
        }
        // Whatever was in flight, the server ends the connection.
        let mut rest = Vec::new();
        let _ = attacker.get_mut().read_to_end(&mut rest);
        sent
    });
    for n in 1..=20 {
        echo_within(&client, &crx, n);
    }
    let err = wait_error(&srx);
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    assert!(err.message.contains("KeyUpdate"), "{err}");
    assert!(err.hint.as_deref().is_some_and(|h| h.contains("hostile")), "{err}");
    let sent = flood.join().unwrap();
    assert!(sent > 32, "the flooder was dropped after {sent} KeyUpdates");
    echo_within(&client, &crx, 21);
    let _ = wait_close_of_attacker(&srx);
    drop(client);
    server.shutdown(WAIT).unwrap();
}

/// The attacker's connection closes on the server (its close event; a raw peer sent no close).
fn wait_close_of_attacker(srx: &Events) -> (u16, String) {
    wait_close(srx)
}

/// Legitimate KeyUpdates (a few, spread out) are not a flood: the connection stays up.
#[test]
fn occasional_key_updates_are_fine() {
    let (server, srx) = tls_server(false, 1);
    let mut peer = raw_upgraded(server.local_addr(), SslVersion::TLS1_3);
    wait_open(&srx);
    for _ in 0..8 {
        // SAFETY: as above.
        unsafe {
            assert_eq!(SSL_key_update(peer.ssl().as_ptr(), SSL_KEY_UPDATE_REQUESTED), 1);
            assert_eq!(openssl_sys::SSL_do_handshake(peer.ssl().as_ptr()), 1);
        }
        // A masked text frame "hi".
        peer.write_all(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]).unwrap();
        let (_, got) = wait_msg(&srx);
        assert_eq!(got, b"hi");
    }
    drop(peer);
    wait_close(&srx);
    // Our KeyUpdate replies may still be unread in the dropped peer's socket (a reset).
    take_errors_each(&srx, |e| assert_eq!(e.kind, ErrorKind::Io, "{e}"));
    server.shutdown(WAIT).unwrap();
}
