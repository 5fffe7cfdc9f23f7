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
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "upgrade refused: {head:?}"
    );
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
    assert!(
        err.hint.as_deref().is_some_and(|h| h.contains("hostile")),
        "{err}"
    );
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
            assert_eq!(
                SSL_key_update(peer.ssl().as_ptr(), SSL_KEY_UPDATE_REQUESTED),
                1
            );
            assert_eq!(openssl_sys::SSL_do_handshake(peer.ssl().as_ptr()), 1);
        }
        // A masked text frame "hi".
        peer.write_all(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2])
            .unwrap();
        let (_, got) = wait_msg(&srx);
        assert_eq!(got, b"hi");
    }
    drop(peer);
    wait_close(&srx);
    // Our KeyUpdate replies may still be unread in the dropped peer's socket (a reset).
    take_errors_each(&srx, |e| assert_eq!(e.kind, ErrorKind::Io, "{e}"));
    server.shutdown(WAIT).unwrap();
}

// ------------------------------------------------------------------------- 3. fast sender, no reader

/// A raw ws:// peer that sends masked binary frames as fast as it can and never reads.
fn fast_sender(addr: std::net::SocketAddr) -> (TcpStream, std::thread::JoinHandle<u64>) {
    let mut s = TcpStream::connect(addr).unwrap();
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
    assert!(head.starts_with(b"HTTP/1.1 101"));
    let mut w = s.try_clone().unwrap();
    // Blocks once the server stops reading (the point), or fails once it closes us.
    w.set_write_timeout(Some(WAIT)).unwrap();
    let writer = std::thread::spawn(move || {
        // 64 KiB binary frames, mask 0 (payload unchanged).
        let mut frame = vec![0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        frame.resize(14 + 65536, 7);
        let mut sent = 0u64;
        while w.write_all(&frame).is_ok() {
            sent += frame.len() as u64;
        }
        sent
    });
    (s, writer)
}

/// Callback mode, default: an echo host whose peer never reads stops being fed (reading pauses
/// while the send queue is over its limit) instead of reading without end; the bytes read stay
/// bounded, and reading resumes once the peer reads its echoes.
#[test]
fn fast_sender_that_never_reads_is_paused() {
    let (h, srx) = recorder(false);
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handler = std::sync::Arc::new(EchoCounting {
        received: received.clone(),
        inner: h,
    });
    let limit = 1 << 20;
    let config = ServerConfig {
        io_threads: 1,
        limits: wss::Limits {
            send_queue_limit: limit,
            ..Default::default()
        },
        ..Default::default()
    };
    let server = local_server(config, handler);
    let (mut peer, writer) = fast_sender(server.local_addr());
    wait_open(&srx);
    // The echoes fill the 1 MiB queue (and the socket buffers); then reading must stop. Wait
    // until the count holds still for a generous moment: each check waits for a change.
    let settled = stalls(&received);
    // Bounded: the queue limit, the kernel's buffers on both sides (a few MiB on loopback)
    // and one read budget, nowhere near what an unpaused reader takes in that time.
    assert!(
        settled < 64 << 20,
        "read {settled} bytes from a peer that never reads"
    );
    // A fresh client is still served on the same thread.
    let (client, crx) = ws_client(&server);
    client.connection().send_text("hello").unwrap();
    assert_eq!(wait_msg(&crx).1, b"hello");
    // The peer reads its echoes: the server drains its queue and reads again.
    let mut sink = vec![0u8; 1 << 16];
    let before = received.load(std::sync::atomic::Ordering::Acquire);
    wait_until("reading resumes once the peer reads", || {
        let _ = peer.set_read_timeout(Some(Duration::from_millis(50)));
        let _ = peer.read(&mut sink);
        received.load(std::sync::atomic::Ordering::Acquire) > before + (4 << 20)
    });
    let _ = peer.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    // The echoes the host could not queue were refused with Backpressure (the host saw them).
    drop(client);
    server.shutdown(WAIT).unwrap();
    take_errors_each(&srx, |e| {
        assert!(
            matches!(e.kind, ErrorKind::Io | ErrorKind::NotConnected),
            "{e}"
        )
    });
}

/// With keepalive on, a peer paused for backpressure that takes none of our bytes is closed
/// after keepalive's interval + timeout (it cannot answer pings we do not read, but it could
/// take bytes); without it such a peer would hold its descriptor and queue forever.
#[test]
fn paused_peer_that_takes_nothing_meets_keepalive() {
    let (h, srx) = recorder(false);
    let handler = std::sync::Arc::new(EchoCounting {
        received: Default::default(),
        inner: h,
    });
    let config = ServerConfig {
        io_threads: 1,
        limits: wss::Limits {
            send_queue_limit: 1 << 20,
            ..Default::default()
        },
        keepalive: Some(wss::Keepalive {
            interval: Duration::from_millis(200),
            timeout: Duration::from_millis(300),
        }),
        ..Default::default()
    };
    let server = local_server(config, handler);
    let (peer, writer) = fast_sender(server.local_addr());
    wait_open(&srx);
    let err = wait_error(&srx);
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(err.message.contains("took none"), "{err}");
    let (code, _) = wait_close(&srx);
    assert_eq!(code, 1006);
    let _ = peer.shutdown(std::net::Shutdown::Both);
    let _ = writer.join();
    server.shutdown(WAIT).unwrap();
    take_errors_each(&srx, |e| assert_eq!(e.kind, ErrorKind::NotConnected, "{e}"));
}

/// `close_on_backpressure`: the same peer is closed with 1008 and the host told.
#[test]
fn close_on_backpressure_closes_with_1008() {
    let (h, srx) = recorder(false);
    let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handler = std::sync::Arc::new(EchoCounting { received, inner: h });
    let config = ServerConfig {
        io_threads: 1,
        limits: wss::Limits {
            send_queue_limit: 1 << 20,
            close_on_backpressure: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let server = local_server(config, handler);
    let (peer, writer) = fast_sender(server.local_addr());
    wait_open(&srx);
    let err = wait_error(&srx);
    assert_eq!(err.kind, ErrorKind::Backpressure, "{err}");
    assert!(err.message.contains("1008"), "{err}");
    let (code, _) = wait_close(&srx);
    assert_eq!(code, 1008);
    drop(peer);
    let _ = writer.join();
    server.shutdown(WAIT).unwrap();
    take_errors_each(&srx, |e| {
        assert!(matches!(e.kind, ErrorKind::NotConnected), "{e}")
    });
}

/// Host-driven pause: nothing is delivered while paused, everything after resume.
#[test]
fn host_pauses_and_resumes_reading() {
    let (server, srx) = recording_server(false, ServerConfig::default());
    let (client, _crx) = ws_client(&server);
    let conn = wait_open(&srx);
    conn.pause_reading();
    client.connection().send_text("while paused").unwrap();
    // A negative check: on any machine the message arrives well within this window when
    // reading is not paused (a slow machine only makes the check weaker, never flaky).
    match srx.recv_timeout(Duration::from_millis(500)) {
        Err(_) => {}
        Ok(ev) => panic!("delivered while reading was paused: {ev:?}"),
    }
    conn.resume_reading();
    assert_eq!(wait_msg(&srx).1, b"while paused");
    drop(client);
    server.shutdown(WAIT).unwrap();
}

/// Counts bytes received and echoes them; a refused echo (backpressure) is expected here.
struct EchoCounting {
    received: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    inner: std::sync::Arc<Recorder>,
}

impl wss::Handler for EchoCounting {
    fn on_open(&self, conn: &wss::Connection) {
        self.inner.on_open(conn)
    }
    fn on_message(&self, conn: &wss::Connection, kind: wss::MessageKind, data: &[u8]) {
        self.received
            .fetch_add(data.len(), std::sync::atomic::Ordering::AcqRel);
        let _ = conn.send(kind, data);
    }
    fn on_close(&self, conn: &wss::Connection, code: u16, reason: &str) {
        self.inner.on_close(conn, code, reason)
    }
    fn on_error(&self, conn: Option<&wss::Connection>, err: &wss::Error) {
        self.inner.on_error(conn, err)
    }
}

/// Wait until `count` stops growing (no change across a 1 s observation; bounded by `WAIT`),
/// and return it. A reader that is never paused never settles.
fn stalls(count: &std::sync::atomic::AtomicUsize) -> usize {
    let deadline = Instant::now() + WAIT;
    loop {
        let before = count.load(std::sync::atomic::Ordering::Acquire);
        let window = Instant::now() + Duration::from_secs(1);
        let mut changed = false;
        while Instant::now() < window {
            std::thread::sleep(Duration::from_millis(50));
            if count.load(std::sync::atomic::Ordering::Acquire) != before {
                changed = true;
                break;
            }
        }
        if !changed {
            return before;
        }
        assert!(
            Instant::now() < deadline,
            "reading never paused: {before} bytes and counting"
        );
    }
}

// ------------------------------------------------------------------------- 4. listen backlog

/// With the I/O thread that accepts blocked, the kernel completes connects up to the listen
/// backlog: with the default 4096 a burst of 600 all complete (mio's own 128 left the rest in
/// SYN retries for as long as the thread was busy).
#[test]
fn listen_backlog_default_takes_a_burst() {
    raise_fd_limit(4096);
    let (gate_tx, gate_rx) = crossbeam_channel::bounded::<()>(1);
    let (h, srx) = recorder(false);
    let blocker = std::sync::Arc::new(Blocking {
        gate: gate_rx,
        inner: h,
    });
    let server = local_server(
        ServerConfig {
            io_threads: 1,
            ..Default::default()
        },
        blocker,
    );
    // The first client's on_open blocks the only I/O thread (the listener's) until released.
    let (first, _crx) = ws_connect(server.port());
    let first = first.unwrap();
    let opened = wait_open(&srx);
    let burst = burst_connects(server.local_addr(), 600);
    let _ = gate_tx.send(());
    assert_eq!(burst, 600, "connects completed while the server was busy");
    drop(opened);
    drop(first);
    server.shutdown(WAIT).unwrap();
    take_errors_each(&srx, |e| assert_eq!(e.kind, ErrorKind::Io, "{e}"));
}

/// Start `n` non-blocking connects to `addr` and count those the kernel completes within `WAIT`
/// (all of them: returns as soon as every one has).
fn burst_connects(addr: std::net::SocketAddr, n: usize) -> usize {
    use mio::net::TcpStream as MioTcp;
    use mio::{Events, Interest, Poll, Token};
    let mut poll = Poll::new().unwrap();
    let mut socks: Vec<MioTcp> = (0..n).map(|_| MioTcp::connect(addr).unwrap()).collect();
    for (i, s) in socks.iter_mut().enumerate() {
        poll.registry()
            .register(s, Token(i), Interest::WRITABLE)
            .unwrap();
    }
    let mut done = vec![false; n];
    let mut count = 0;
    let deadline = Instant::now() + WAIT;
    let mut events = Events::with_capacity(1024);
    while count < n && Instant::now() < deadline {
        poll.poll(&mut events, Some(Duration::from_millis(200)))
            .unwrap();
        for ev in events.iter() {
            let i = ev.token().0;
            if !done[i] && socks[i].peer_addr().is_ok() {
                done[i] = true;
                count += 1;
            }
        }
    }
    count
}

/// Blocks the I/O thread in the first `on_open` until the gate opens.
struct Blocking {
    gate: crossbeam_channel::Receiver<()>,
    inner: std::sync::Arc<Recorder>,
}

impl wss::Handler for Blocking {
    fn on_open(&self, conn: &wss::Connection) {
        self.inner.on_open(conn);
        let _ = self.gate.recv_timeout(WAIT);
    }
    fn on_close(&self, conn: &wss::Connection, code: u16, reason: &str) {
        self.inner.on_close(conn, code, reason)
    }
    fn on_error(&self, conn: Option<&wss::Connection>, err: &wss::Error) {
        self.inner.on_error(conn, err)
    }
}

// ------------------------------------------------------------------------- 6b. slow upgrade

fn tls_server_with_timeout(timeout: Duration) -> (wss::Server, Events) {
    recording_server(
        false,
        ServerConfig {
            tls: Some(server_tls()),
            limits: wss::Limits {
                handshake_timeout: timeout,
                ..Default::default()
            },
            ..Default::default()
        },
    )
}

fn raw_tls(addr: std::net::SocketAddr) -> SslStream<TcpStream> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_verify(SslVerifyMode::NONE);
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    b.build().connect("localhost", tcp).unwrap()
}

/// A client that completes TLS but sends its upgrade request too slowly gets `408 Request
/// Timeout` with `Connection: close` at the handshake timeout, and the host is told.
#[test]
fn slow_upgrade_gets_408() {
    let (server, srx) = tls_server_with_timeout(Duration::from_millis(300));
    let mut s = raw_tls(server.local_addr());
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    let err = wait_error(&srx);
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(err.message.contains("408"), "{err}");
    server.shutdown(WAIT).unwrap();
}

/// A client that sent no byte of a request is closed without an answer (no request to
/// answer); the host is still told.
#[test]
fn idle_after_tls_is_closed_without_answer() {
    let (server, srx) = tls_server_with_timeout(Duration::from_millis(300));
    let mut s = raw_tls(server.local_addr());
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    let err = wait_error(&srx);
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    server.shutdown(WAIT).unwrap();
}

// ------------------------------------------------------------------------- 5. hints by phase

/// A TLS 1.2 peer that renegotiates after the upgrade is refused; the hint says so (not "no
/// cipher suite in common", which is about handshakes).
#[test]
fn renegotiation_is_reported_as_such() {
    let (server, srx) = tls_server(false, 1);
    let mut peer = raw_upgraded(server.local_addr(), SslVersion::TLS1_2);
    wait_open(&srx);
    // SAFETY: a valid, connected SSL.
    unsafe {
        SSL_renegotiate(peer.ssl().as_ptr());
        openssl_sys::SSL_do_handshake(peer.ssl().as_ptr());
    }
    let _ = openssl::error::ErrorStack::get();
    let mut rest = Vec::new();
    let _ = peer.get_mut().read_to_end(&mut rest);
    let err = wait_error(&srx);
    println!("renegotiation: {err}");
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    let hint = err.hint.clone().unwrap_or_default();
    assert!(hint.contains("renegotiat"), "{err}");
    assert!(!hint.contains("cipher"), "{err}");
    wait_close(&srx);
    server.shutdown(WAIT).unwrap();
}

/// Garbage under an open TLS connection is a corrupted stream, not a ws:// client on a wss://
/// port (that hint fits only the handshake's first bytes).
#[test]
fn garbage_after_open_is_not_a_scheme_mixup() {
    let (server, srx) = tls_server(false, 1);
    let mut peer = raw_upgraded(server.local_addr(), SslVersion::TLS1_3);
    wait_open(&srx);
    peer.get_mut()
        .write_all(b"this is not a TLS record at all\r\n\r\n")
        .unwrap();
    let err = wait_error(&srx);
    println!("garbage: {err}");
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    let hint = err.hint.clone().unwrap_or_default();
    assert!(!hint.contains("ws://"), "{err}");
    assert!(hint.contains("open connection"), "{err}");
    wait_close(&srx);
    server.shutdown(WAIT).unwrap();
}

/// The handshake's first bytes are where the ws:// versus wss:// hint belongs.
#[test]
fn plain_http_on_the_tls_port_keeps_its_hint() {
    let (server, srx) = tls_server(false, 1);
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let err = wait_error(&srx);
    assert!(
        err.hint.as_deref().is_some_and(|h| h.contains("ws://")),
        "{err}"
    );
    drop(s);
    server.shutdown(WAIT).unwrap();
}

// ------------------------------------------------------------------------- process level

/// The attacks again, against a server *process* built on the C ABI (tests/c/attack_server.c,
/// one I/O thread, 1 MiB send queue) that prints every error its callbacks get. After each:
/// a fresh client is served within `SERVED_WITHIN`, the server's descriptors return to their
/// baseline, its RSS to within `RSS_TOLERANCE` of it, and the host was told.
/// `WSS_HOSTILE_SOAK=1` raises the intensities (longer floods, 10,000 connects).
mod process {
    use super::*;
    use std::io::BufRead;
    use std::path::PathBuf;
    use std::process::{Child, ChildStdin, Command, Stdio};

    /// How far the server's RSS may stay above its baseline after an attack: allocator arenas
    /// keep some freed memory, a few MiB per busy thread; unbounded growth (the 610 MiB
    /// ping flood, a reader that never pauses) is far beyond it.
    const RSS_TOLERANCE_KIB: u64 = 32 << 10;

    fn soak() -> bool {
        std::env::var_os("WSS_HOSTILE_SOAK").is_some()
    }

    /// tests/c/attack_server.c compiled against this build's libwss.so (a private copy, as
    /// tests/c_abi.rs does), once per test binary.
    fn program() -> &'static PathBuf {
        static EXE: once_cell::sync::Lazy<PathBuf> = once_cell::sync::Lazy::new(|| {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let exe = std::env::current_exe().unwrap();
            let so = exe.parent().unwrap().join("libwss.so");
            assert!(so.exists(), "{} not built", so.display());
            let dir = root.join("target/hostile");
            let lib = dir.join(format!("lib-{}", std::process::id()));
            std::fs::create_dir_all(&lib).unwrap();
            std::fs::copy(&so, lib.join("libwss.so")).unwrap();
            let _ = std::os::unix::fs::symlink("libwss.so", lib.join("libwss.so.1"));
            let out = dir.join(format!("attack_server-{}", std::process::id()));
            let o = Command::new("gcc")
                .args([
                    "-std=c99",
                    "-Wall",
                    "-Wextra",
                    "-Werror",
                    "-pedantic",
                    "-g",
                    "-O1",
                ])
                .arg("-I")
                .arg(root.join("include"))
                .arg(root.join("tests/c/attack_server.c"))
                .arg("-o")
                .arg(&out)
                .arg("-L")
                .arg(&lib)
                .args(["-lwss", "-lpthread"])
                .arg(format!("-Wl,-rpath,{}", lib.display()))
                .output()
                .expect("run gcc");
            assert!(
                o.status.success(),
                "gcc attack_server.c: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            out
        });
        &EXE
    }

    struct ServerProcess {
        child: Child,
        stdin: Option<ChildStdin>,
        port: u16,
        lines: crossbeam_channel::Receiver<String>,
        base_fds: usize,
        base_rss: u64,
    }

    impl ServerProcess {
        fn start(handshake_timeout_ms: Option<u32>) -> ServerProcess {
            raise_fd_limit(16384);
            let p = pki();
            let mut cmd = Command::new(program());
            cmd.arg(&p.server_cert)
                .arg(&p.server_key)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
            // glibc keeps freed memory in its arenas for reuse (with a threshold that grows
            // with the largest block freed): a fixed trim threshold makes RSS show what the
            // process really holds, so that "back near the baseline" means something.
            cmd.env("MALLOC_TRIM_THRESHOLD_", "131072");
            if let Some(ms) = handshake_timeout_ms {
                cmd.env("WSS_HANDSHAKE_TIMEOUT_MS", ms.to_string());
            }
            let mut child = cmd.spawn().expect("start attack_server");
            let stdin = child.stdin.take();
            let stdout = child.stdout.take().unwrap();
            let (tx, lines) = crossbeam_channel::unbounded();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    eprintln!("attack_server: {line}");
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let first = lines
                .recv_timeout(WAIT)
                .expect("attack_server printed no port");
            let port = first
                .strip_prefix("PORT ")
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| panic!("expected PORT, got {first:?}"));
            let mut s = ServerProcess {
                child,
                stdin,
                port,
                lines,
                base_fds: 0,
                base_rss: 0,
            };
            // Warm up (one-time allocations, the TLS context's caches), then take the baseline.
            s.served();
            s.wait_fds(|n| n <= 64, "descriptors after warm-up");
            s.base_fds = s.fds();
            s.base_rss = s.rss_kib();
            s
        }

        fn addr(&self) -> std::net::SocketAddr {
            ([127, 0, 0, 1], self.port).into()
        }

        fn fds(&self) -> usize {
            std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
                .map(|d| d.count())
                .unwrap_or(0)
        }

        fn rss_kib(&self) -> u64 {
            let status =
                std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        }

        fn wait_fds(&self, ok: impl Fn(usize) -> bool, what: &str) {
            wait_until(what, || ok(self.fds()));
        }

        /// A fresh wss:// client connects and gets an echo within `SERVED_WITHIN`.
        fn served(&self) {
            let start = Instant::now();
            let (ch, crx) = recorder(false);
            let cconf = ClientConfig {
                tls: Some(client_tls()),
                ..Default::default()
            };
            let url = format!("wss://127.0.0.1:{}/", self.port);
            let client = Client::connect(&url, &cconf, ch).expect("a fresh client connects");
            wait_open(&crx);
            client.connection().send_text("fresh").unwrap();
            assert_eq!(wait_msg(&crx).1, b"fresh");
            let took = start.elapsed();
            assert!(took < SERVED_WITHIN, "a fresh client took {took:?}");
            client.close(1000, "", WAIT).unwrap();
            wait_close(&crx);
        }

        /// The next line the host printed that contains every one of `words` (lines before it
        /// are skipped), within `WAIT`.
        fn told(&self, words: &[&str]) -> String {
            let deadline = Instant::now() + WAIT;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let line = self
                    .lines
                    .recv_timeout(left)
                    .unwrap_or_else(|_| panic!("the host was never told {words:?}"));
                if words.iter().all(|w| line.contains(w)) {
                    return line;
                }
            }
        }

        /// After an attack: served, descriptors back to the baseline, RSS near it.
        fn recovered(&self) {
            self.served();
            let base = self.base_fds;
            self.wait_fds(|n| n <= base, "descriptors back to the baseline");
            let rss = self.rss_kib();
            assert!(
                rss <= self.base_rss + RSS_TOLERANCE_KIB,
                "RSS {rss} KiB, baseline {} KiB",
                self.base_rss
            );
        }
    }

    impl Drop for ServerProcess {
        fn drop(&mut self) {
            drop(self.stdin.take()); // the server closes gracefully at EOF on its input
            let deadline = Instant::now() + WAIT;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = self.child.try_wait() {
                    if !std::thread::panicking() {
                        assert!(status.success(), "attack_server exited with {status}");
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
            if !std::thread::panicking() {
                panic!("attack_server did not exit within {WAIT:?} of its input closing");
            }
        }
    }

    #[test]
    fn key_update_storm() {
        let server = ServerProcess::start(None);
        let attacker = raw_upgraded(server.addr(), SslVersion::TLS1_3);
        let limit = if soak() { 10_000_000 } else { 1_000_000 };
        for _ in 0..limit {
            // SAFETY: a valid, connected SSL.
            let ok = unsafe {
                SSL_key_update(attacker.ssl().as_ptr(), SSL_KEY_UPDATE_REQUESTED) == 1
                    && openssl_sys::SSL_do_handshake(attacker.ssl().as_ptr()) == 1
            };
            if !ok {
                break;
            }
        }
        let _ = openssl::error::ErrorStack::get();
        server.told(&["TLS error", "KeyUpdate"]);
        drop(attacker);
        server.recovered();
    }

    /// Pings without end, never reading the pongs: the server stops reading the peer once the
    /// pongs it owes pass the send queue limit, and tells the host (issue 22 item 2: the bound
    /// itself is the message layer's, src/ws + worker/open.rs).
    #[test]
    fn ping_flood() {
        let server = ServerProcess::start(None);
        let mut s = raw_upgraded(server.addr(), SslVersion::TLS1_3);
        let sock = s.get_ref().try_clone().unwrap();
        let rounds = if soak() { 100_000 } else { 10_000 };
        let writer = std::thread::spawn(move || {
            // Masked empty pings, 4,096 per write.
            let batch: Vec<u8> = [0x89u8, 0x80, 0, 0, 0, 0].repeat(4096);
            for _ in 0..rounds {
                if s.write_all(&batch).is_err() {
                    break;
                }
            }
        });
        server.told(&["send queue full", "pings"]);
        server.served();
        let _ = sock.shutdown(std::net::Shutdown::Both);
        let _ = writer.join();
        drop(sock);
        server.recovered();
    }

    #[test]
    fn fast_sender_that_never_reads() {
        let server = ServerProcess::start(None);
        let (sock, writer, sent) = fast_sender_tls(server.addr());
        server.told(&["SEND", "send queue full"]);
        // The attacker's writes stall once reading paused (its sending thread blocks).
        let stalled = stalls(&sent);
        assert!(stalled < 64 << 20, "the server read {stalled} bytes");
        server.served();
        let _ = sock.shutdown(std::net::Shutdown::Both);
        let _ = writer.join();
        drop(sock); // closed with our echoes unread: a reset, the server's writes fail
        server.told(&["ERROR", "Connection reset by peer"]);
        server.recovered();
    }

    #[test]
    fn burst_of_connects() {
        let server = ServerProcess::start(None);
        let n = if soak() { 10_000 } else { 2_000 };
        let done = burst_connects(server.addr(), n);
        assert_eq!(done, n, "connects completed");
        server.served();
        // Thousands of handshakes in progress at once take ~50 KiB each at the peak, which the
        // allocator keeps for reuse: measured over ten bursts of 2,000, RSS rose to ~120 MiB by
        // the third and then stayed within a few MiB, but how high depends on how many
        // handshakes overlap (the machine's load). So the check is a bound that holds for
        // any overlap (2,000 x 64 KiB over the baseline) after five bursts: what is kept is
        // reused, not added to. Small leaks are the valgrind runs' job (tests/c_abi.rs).
        let base = server.base_fds;
        for round in 2..=5 {
            assert_eq!(
                burst_connects(server.addr(), n),
                n,
                "burst {round}: connects completed"
            );
            server.wait_fds(|k| k <= base, "descriptors back to the baseline");
        }
        let rss = server.rss_kib();
        let bound = server.base_rss + (n as u64) * 64;
        assert!(
            rss <= bound,
            "RSS {rss} KiB after five bursts, bound {bound} KiB"
        );
        server.told(&["ERROR", "TLS handshake with client failed"]);
        server.served();
    }

    #[test]
    fn slow_upgrade_gets_408() {
        let server = ServerProcess::start(Some(500));
        let mut s = raw_tls(server.addr());
        s.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        assert!(answer.starts_with(b"HTTP/1.1 408"), "{answer:?}");
        server.told(&["timed out", "408"]);
        server.recovered();
    }

    #[test]
    fn garbage_after_open() {
        let server = ServerProcess::start(None);
        let mut peer = raw_upgraded(server.addr(), SslVersion::TLS1_3);
        peer.get_mut()
            .write_all(b"\x17\x03\x03\x00\x20garbage garbage garbage garbage!")
            .unwrap();
        let line = server.told(&["TLS error", "open connection"]);
        assert!(!line.contains("ws://"), "{line}");
        drop(peer);
        server.recovered();
    }

    #[test]
    fn renegotiation() {
        let server = ServerProcess::start(None);
        let peer = raw_upgraded(server.addr(), SslVersion::TLS1_2);
        // SAFETY: a valid, connected SSL.
        unsafe {
            SSL_renegotiate(peer.ssl().as_ptr());
            openssl_sys::SSL_do_handshake(peer.ssl().as_ptr());
        }
        let _ = openssl::error::ErrorStack::get();
        let line = server.told(&["TLS error", "renegotiate"]);
        assert!(!line.contains("cipher"), "{line}");
        drop(peer);
        server.recovered();
    }

    /// `fast_sender` over TLS: a thread writes 64 KiB binary frames and never reads, counting
    /// the bytes it got out; shutting down the returned socket ends it.
    fn fast_sender_tls(
        addr: std::net::SocketAddr,
    ) -> (
        TcpStream,
        std::thread::JoinHandle<()>,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) {
        let mut s = raw_upgraded(addr, SslVersion::TLS1_3);
        let sock = s.get_ref().try_clone().unwrap();
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = sent.clone();
        let writer = std::thread::spawn(move || {
            let mut frame = vec![0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            frame.resize(14 + 65536, 7);
            while s.write_all(&frame).is_ok() {
                counter.fetch_add(frame.len(), std::sync::atomic::Ordering::AcqRel);
            }
        });
        (sock, writer, sent)
    }
}
