//! Engine behaviour: full duplex from many threads, ordering, backpressure, many clients,
//! graceful shutdown with messages in flight, keepalive, calls from inside callbacks.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use wss::{
    Client, ClientConfig, Connection, Error, ErrorKind, Handler, Keepalive, Limits, MessageKind,
    Server, ServerConfig,
};

fn seq_msg(tag: u8, i: u32) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&i.to_be_bytes());
    v.extend(std::iter::repeat_n(tag, (i % 300) as usize));
    v
}

fn check_sequence(msgs: &[Vec<u8>], tag: u8, expect: u32) {
    let got: Vec<u32> = msgs
        .iter()
        .filter(|m| m[0] == tag)
        .map(|m| u32::from_be_bytes([m[1], m[2], m[3], m[4]]))
        .collect();
    assert_eq!(got.len() as u32, expect, "tag {tag}: count");
    for (i, n) in got.iter().enumerate() {
        assert_eq!(*n, i as u32, "tag {tag}: order");
    }
    for m in msgs.iter().filter(|m| m[0] == tag) {
        assert!(m[5..].iter().all(|b| *b == tag), "payload intact");
    }
}

#[test]
fn full_duplex_two_threads_each_side_nothing_lost_or_reordered() {
    const N: u32 = 2000;
    let (sh, srx) = recorder(false);
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            tls: Some(server_tls()),
            ..Default::default()
        },
        sh,
    )
    .unwrap();
    let (ch, crx) = recorder(false);
    let cfg = ClientConfig {
        tls: Some(client_tls()),
        ..Default::default()
    };
    let client = Client::connect(&format!("wss://localhost:{}/", server.port()), &cfg, ch).unwrap();
    wait_open(&crx);
    let sconn = wait_open(&srx);
    let cconn = client.connection().clone();
    let send_all = |conn: Connection, tag: u8| {
        std::thread::spawn(move || {
            for i in 0..N {
                let m = seq_msg(tag, i);
                loop {
                    match conn.send_binary(&m) {
                        Ok(()) => break,
                        Err(e) if e.kind == ErrorKind::Backpressure => {
                            std::thread::sleep(Duration::from_micros(500))
                        }
                        Err(e) => panic!("send failed: {e}"),
                    }
                }
            }
        })
    };
    let threads = vec![
        send_all(cconn.clone(), 1),
        send_all(cconn.clone(), 2),
        send_all(sconn.clone(), 3),
        send_all(sconn.clone(), 4),
    ];
    let collect = |rx: &Events| {
        let mut v = Vec::new();
        while v.len() < 2 * N as usize {
            v.push(wait_msg(rx).1);
        }
        v
    };
    let at_server = collect(&srx);
    let at_client = collect(&crx);
    for t in threads {
        t.join().unwrap();
    }
    check_sequence(&at_server, 1, N);
    check_sequence(&at_server, 2, N);
    check_sequence(&at_client, 3, N);
    check_sequence(&at_client, 4, N);
    server.shutdown(WAIT).unwrap();
}

/// Upgrade a raw socket and never read from it again.
fn stalled_peer(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    s
}

#[test]
fn backpressure_bounds_the_queue_and_drains() {
    const LIMIT: usize = 256 << 10;
    let limits = Limits {
        send_queue_limit: LIMIT,
        ..Default::default()
    };
    let (h, srx) = recorder(false);
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            limits,
            ..Default::default()
        },
        h,
    )
    .unwrap();
    let mut peer = stalled_peer(server.port());
    let conn = wait_open(&srx);
    let msg = vec![0xabu8; 16 << 10];
    let mut accepted = 0usize;
    let err = loop {
        match conn.send_binary(&msg) {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        assert!(
            accepted < 100_000,
            "queue never filled: memory would grow without bound"
        );
    };
    assert_eq!(err.kind, ErrorKind::Backpressure);
    assert!(
        conn.buffered_amount() <= LIMIT,
        "buffered {} over limit",
        conn.buffered_amount()
    );
    assert!(conn.buffered_amount() > 0);
    // The peer starts reading: every accepted message arrives, then the queue is empty.
    let want = accepted * (msg.len() + 4);
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 << 10];
    while got < want {
        let n = peer.read(&mut buf).unwrap();
        assert!(n > 0);
        got += n;
    }
    wait_until("the buffered amount drains", || conn.buffered_amount() == 0);
    conn.send_binary(&msg)
        .expect("queue accepts again once drained");
    server.shutdown(Duration::from_millis(100)).unwrap();
}

#[test]
fn one_large_message_is_accepted_when_the_queue_is_empty() {
    let limits = Limits {
        send_queue_limit: 1024,
        ..Default::default()
    };
    let (h, srx) = recorder(false);
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            limits,
            ..Default::default()
        },
        h,
    )
    .unwrap();
    let peer = stalled_peer(server.port());
    let conn = wait_open(&srx);
    // 32 MiB: more than loopback socket buffers can absorb, so part of it stays queued.
    conn.send_binary(&vec![1u8; 32 << 20])
        .expect("an empty queue takes one oversized message");
    assert_eq!(
        conn.send_binary(b"more").unwrap_err().kind,
        ErrorKind::Backpressure
    );
    // The peer leaves with the message unread: the reset, then the message reported undelivered.
    drop(peer);
    assert_eq!(wait_close(&srx).0, 1006);
    server.shutdown(WAIT).unwrap();
    let n = take_errors_each(&srx, |e| {
        assert!(
            matches!(e.kind, ErrorKind::Io | ErrorKind::NotConnected),
            "{e}"
        )
    });
    assert!(n >= 1, "the undelivered message was not reported");
}

#[test]
fn thousand_concurrent_clients() {
    const CLIENTS: usize = 1000;
    // Both ends of every connection live in this process, plus the test harness's own.
    raise_fd_limit(2 * CLIENTS as u64 + 256);
    let (h, _srx) = recorder(true);
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            tls: Some(server_tls()),
            ..Default::default()
        },
        h,
    )
    .unwrap();
    let url = format!("wss://localhost:{}/", server.port());
    let (ch, crx) = recorder(false);
    let cfg = ClientConfig {
        tls: Some(client_tls()),
        ..Default::default()
    };
    let clients: Vec<Client> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let (url, cfg, ch) = (&url, &cfg, ch.clone());
                s.spawn(move || {
                    (0..CLIENTS / 4)
                        .map(|_| Client::connect(url, cfg, ch.clone()).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(clients.len(), CLIENTS);
    wait_until("the server sees every client", || {
        server.active_connections() == CLIENTS
    });
    for (i, c) in clients.iter().enumerate() {
        c.connection().send_text(&format!("client {i}")).unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    while seen.len() < CLIENTS {
        let (_, data) = wait_msg(&crx);
        seen.insert(String::from_utf8(data).unwrap());
    }
    assert!((0..CLIENTS).all(|i| seen.contains(&format!("client {i}"))));
    server.shutdown(WAIT).unwrap();
    for c in &clients {
        assert!(c.connection().wait_closed(WAIT).is_some());
    }
}

#[test]
fn graceful_shutdown_delivers_queued_messages_then_1001() {
    const N: usize = 500;
    let (h, srx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let (_client, crx) = ws_client(&server);
    let sconn = wait_open(&srx);
    for i in 0..N {
        sconn.send_binary(&vec![(i % 251) as u8; 4096]).unwrap();
    }
    server.shutdown(WAIT).unwrap();
    for i in 0..N {
        let (_, data) = wait_msg(&crx);
        assert_eq!(data, vec![(i % 251) as u8; 4096], "message {i} in order");
    }
    assert_eq!(wait_close(&crx).0, 1001);
    assert_eq!(wait_close(&srx).0, 1001);
    assert_eq!(server.shutdown(WAIT).unwrap_err().kind, ErrorKind::Closed);
}

#[test]
fn shutdown_waits_at_most_the_timeout_for_silent_peers() {
    let (h, srx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let _peer = stalled_peer(server.port());
    wait_open(&srx);
    let start = Instant::now();
    server.shutdown(Duration::from_millis(200)).unwrap();
    // It waits for the close reply (never coming) the whole timeout, then gives up: not much
    // longer, even on a loaded machine.
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(180) && took < Duration::from_secs(10),
        "shutdown(200 ms) took {took:?}"
    );
    assert_eq!(
        wait_close(&srx).0,
        1006,
        "a peer that never answers the close is dropped"
    );
}

#[test]
fn keepalive_detects_dead_peer_and_keeps_live_ones() {
    let ka = Keepalive {
        interval: Duration::from_millis(100),
        timeout: Duration::from_secs(3),
    };
    let (server, srx) = recording_server(
        false,
        ServerConfig {
            keepalive: Some(ka),
            ..Default::default()
        },
    );
    // A live client answers pings (the server sees pongs) and stays open.
    let (client, _crx) = ws_client(&server);
    let live = wait_open(&srx);
    for _ in 0..3 {
        until(&srx, |e| {
            matches!(e, Ev::Pong(id, _) if *id == live.id()).then_some(())
        });
    }
    assert!(client.connection().is_open());
    // A peer that never reads (so never answers) is closed with 1006 and a Timeout error.
    let _dead = stalled_peer(server.port());
    let dead = wait_open(&srx);
    let err = until(&srx, |e| match e {
        Ev::Error(Some(id), err) if *id == dead.id() => Some(err.clone()),
        _ => None,
    });
    assert_eq!(err.kind, ErrorKind::Timeout);
    let code = until(&srx, |e| match e {
        Ev::Close(id, code, _) if *id == dead.id() => Some(*code),
        _ => None,
    });
    assert_eq!(code, 1006);
    assert!(live.is_open(), "the live connection is unaffected");
}

/// Calls the blocking APIs from inside callbacks.
struct Reentrant {
    server: parking_lot::Mutex<Option<Arc<Server>>>,
    results: crossbeam_channel::Sender<Result<(), Error>>,
}

impl Handler for Reentrant {
    fn on_message(&self, conn: &Connection, _kind: MessageKind, data: &[u8]) {
        let server = self.server.lock().clone().unwrap();
        let _ = self.results.send(server.shutdown(Duration::from_secs(1)));
        conn.send_binary(data).unwrap();
        let _ = self.results.send(conn.close(1000, "from callback"));
    }
}

#[test]
fn blocking_calls_inside_callbacks_fail_cleanly() {
    let (tx, rx) = crossbeam_channel::unbounded();
    let h = Arc::new(Reentrant {
        server: parking_lot::Mutex::new(None),
        results: tx,
    });
    let (watched_h, _srx) = watched(h.clone());
    let server = Arc::new(Server::bind("127.0.0.1:0", ServerConfig::default(), watched_h).unwrap());
    *h.server.lock() = Some(server.clone());
    let (client, crx) = ws_client(&server);
    client.connection().send_text("x").unwrap();
    assert_eq!(
        rx.recv_timeout(WAIT).unwrap().unwrap_err().kind,
        ErrorKind::InvalidState
    );
    assert!(
        rx.recv_timeout(WAIT).unwrap().is_ok(),
        "a non-blocking close works from a callback"
    );
    assert_eq!(wait_msg(&crx).1, b"x");
    assert_eq!(wait_close(&crx), (1000, "from callback".to_string()));
    *h.server.lock() = None;
    server.shutdown(WAIT).unwrap();
}

#[test]
fn undelivered_messages_are_reported() {
    let (h, srx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let peer = stalled_peer(server.port());
    let conn = wait_open(&srx);
    let big = vec![0u8; 1 << 20];
    let mut queued = 0;
    while queued < 64 && conn.send_binary(&big).is_ok() {
        queued += 1;
    }
    // Kill the peer with data unread: the queue cannot be delivered and the host is told.
    drop(peer);
    let err = until(&srx, |e| match e {
        Ev::Error(Some(_), err) if err.kind == ErrorKind::NotConnected => Some(err.clone()),
        _ => None,
    });
    assert!(err.message.contains("not delivered"), "{err}");
    wait_close(&srx);
    // Everything accepted is accounted for: written, or reported (including a half-sent frame).
    // Sends still in the worker's channel at the close are settled when they arrive, which may
    // be after on_close, each with its own report.
    wait_until("every accepted byte is accounted for", || {
        conn.buffered_amount() == 0
    });
    server.shutdown(WAIT).unwrap(); // every callback has run
                                    // Besides those reports, at most the reset itself.
    take_errors_each(&srx, |e| {
        let late_send = e.kind == ErrorKind::NotConnected && e.message.contains("not delivered");
        assert!(e.kind == ErrorKind::Io || late_send, "{e}");
    });
}

#[test]
fn connection_lookup_by_id_and_stale_ids() {
    let (h, srx) = recorder(false);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let (client, crx) = ws_client(&server);
    let s = wait_open(&srx);
    let by_id = wss::connection(s.id()).expect("open id resolves");
    by_id.send_text("via id").unwrap();
    assert_eq!(wait_msg(&crx).1, b"via id");
    assert_ne!(
        client.connection().id(),
        s.id(),
        "ids are unique across endpoints"
    );
    assert!(wss::connection(u64::MAX).is_none());
    client.close(1000, "", WAIT).unwrap();
    wait_close(&srx);
    assert!(wss::connection(s.id()).is_none());
    assert_eq!(
        by_id.send_text("late").unwrap_err().kind,
        ErrorKind::NotConnected
    );
    assert_eq!(
        by_id.close(1000, "").unwrap_err().kind,
        ErrorKind::NotConnected
    );
    assert_eq!(
        by_id.close(1005, "").unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
}

/// How many messages the `NotConnected` errors in `errs` say were not delivered.
fn undelivered_count(errs: &[(Option<u64>, Error)]) -> usize {
    errs.iter()
        .map(|(_, e)| {
            assert_eq!(e.kind, ErrorKind::NotConnected, "{e}");
            if e.message.starts_with("a ") {
                1
            } else {
                e.message
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("no count in: {e}"))
            }
        })
        .sum()
}

#[test]
fn many_threads_send_while_others_close() {
    const CONNS: usize = 8;
    const THREADS: usize = 8;
    const PER_THREAD: usize = 2000;
    // Threads 0 and 4 each close one connection mid-run (at i = 500 and 900).
    let races = |t: usize, i: usize| t % 4 == 0 && i == 500 + t * 100;
    let raced: Vec<usize> = (0..THREADS)
        .flat_map(|t| {
            (0..PER_THREAD)
                .filter(move |i| races(t, *i))
                .map(move |i| (t + i) % CONNS)
        })
        .collect();
    let (h, srx) = recorder(true);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let (clients, crxs): (Vec<Client>, Vec<Events>) =
        (0..CONNS).map(|_| ws_client(&server)).unzip();
    let conns: Vec<Connection> = clients.iter().map(|c| c.connection().clone()).collect();
    // Every message is "<thread> <i>"; accepted[c] lists what connection c took, per thread.
    let accepted: Vec<parking_lot::Mutex<Vec<String>>> = (0..CONNS)
        .map(|_| parking_lot::Mutex::new(Vec::new()))
        .collect();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (conns, accepted) = (&conns, &accepted);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    let k = (t + i) % CONNS;
                    let m = format!("{t} {i}");
                    match conns[k].send_text(&m) {
                        Ok(()) => accepted[k].lock().push(m),
                        Err(e) => assert!(
                            matches!(e.kind, ErrorKind::NotConnected | ErrorKind::Backpressure),
                            "{e}"
                        ),
                    }
                    if races(t, i) {
                        conns[k].close(1000, "racing close").unwrap();
                    }
                }
            });
        }
    });
    // Over the raced connections: messages taken and echoed.
    let (mut raced_taken, mut raced_echoed) = (0, 0);
    for (k, (client, crx)) in clients.iter().zip(&crxs).enumerate() {
        let accepted = std::mem::take(&mut *accepted[k].lock());
        // Take this connection's echoes up to its close (ours, or the racing one).
        if !raced.contains(&k) {
            let mut echoed = Vec::new();
            while echoed.len() < accepted.len() {
                echoed.push(String::from_utf8(wait_msg(crx).1).unwrap());
            }
            client.close(1000, "done", WAIT).unwrap();
            assert_eq!(
                wait_close(crx),
                (1000, "done".to_string()),
                "connection {k}"
            );
            // Every message taken was echoed once; one thread's messages stay in order.
            assert_eq!(echoed.len(), accepted.len(), "connection {k}");
            for t in 0..THREADS {
                let from = |v: &[String]| {
                    v.iter()
                        .filter(|m| m.split(' ').next() == Some(&t.to_string()))
                        .cloned()
                        .collect::<Vec<_>>()
                };
                assert_eq!(from(&echoed), from(&accepted), "connection {k}, thread {t}");
            }
        } else {
            let mut echoed = Vec::new();
            let close = until(crx, |e| match e {
                Ev::Msg(_, _, d) => {
                    echoed.push(String::from_utf8(d.clone()).unwrap());
                    None
                }
                Ev::Close(_, code, reason) => Some((*code, reason.clone())),
                _ => None,
            });
            assert_eq!(close, (1000, "racing close".to_string()), "connection {k}");
            // Each message taken was echoed (in its thread's order), or reported as not
            // delivered because it reached an I/O thread behind the close: ours (the client's
            // error) or the server's (its echo); both counted below.
            for t in 0..THREADS {
                let tag = t.to_string();
                let mut rest = accepted
                    .iter()
                    .filter(|m| m.split(' ').next() == Some(&tag));
                for m in echoed.iter().filter(|m| m.split(' ').next() == Some(&tag)) {
                    assert!(
                        rest.any(|a| a == m),
                        "connection {k}: {m} echoed out of order, twice or never sent"
                    );
                }
            }
            raced_taken += accepted.len();
            raced_echoed += echoed.len();
        }
    }
    // The server saw every close, with its code and reason.
    let closes: Vec<(u64, u16, String)> = (0..CONNS)
        .map(|_| {
            until(&srx, |e| match e {
                Ev::Close(id, code, reason) => Some((*id, *code, reason.clone())),
                _ => None,
            })
        })
        .collect();
    server.shutdown(WAIT).unwrap();
    // The server reports the echoes it could not send because the peer's close came first:
    // only on the raced connections.
    let server_errors = srx.take_errors();
    for (id, e) in &server_errors {
        let reason = closes
            .iter()
            .find(|c| Some(c.0) == *id)
            .map(|c| c.2.as_str());
        assert_eq!(reason, Some("racing close"), "{e}");
    }
    let echoes_undelivered = undelivered_count(&server_errors);
    // Taken last: a send that reached the client's I/O thread after the close is reported
    // after on_close.
    let raced_reported: usize = raced
        .iter()
        .map(|k| undelivered_count(&crxs[*k].take_errors()))
        .sum();
    assert_eq!(
        raced_echoed + raced_reported + echoes_undelivered,
        raced_taken,
        "raced connections: {raced_echoed} echoed + {raced_reported} unsent + \
         {echoes_undelivered} echoes unsent, of {raced_taken} taken"
    );
    let mut reasons: Vec<(u16, String)> = closes.into_iter().map(|c| (c.1, c.2)).collect();
    reasons.sort();
    let mut want: Vec<(u16, String)> = (0..CONNS)
        .map(|k| {
            (
                1000,
                if raced.contains(&k) {
                    "racing close"
                } else {
                    "done"
                }
                .to_string(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(reasons, want);
}

/// Echoes, but panics on the message "boom".
struct Panicky;

impl Handler for Panicky {
    fn on_message(&self, conn: &Connection, kind: MessageKind, data: &[u8]) {
        if data == b"boom" {
            panic!("host handler bug");
        }
        conn.send(kind, data).unwrap();
    }
}

#[test]
fn a_panicking_handler_closes_only_its_connection_with_1011() {
    let (h, srx) = watched(Arc::new(Panicky));
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            io_threads: 1,
            ..Default::default()
        },
        h,
    )
    .unwrap();
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let (h1, rx1) = recorder(false);
    let (h2, rx2) = recorder(false);
    let victim = Client::connect(&url, &ClientConfig::default(), h1).unwrap();
    let bystander = Client::connect(&url, &ClientConfig::default(), h2).unwrap();
    wait_open(&rx1);
    wait_open(&rx2);
    victim.connection().send_text("boom").unwrap();
    assert_eq!(wait_close(&rx1).0, 1011);
    let err = wait_error(&srx);
    assert_eq!(err.kind, ErrorKind::Internal, "{err}");
    assert!(err.message.contains("host handler bug"), "{err}");
    // Same I/O thread, still serving.
    bystander.connection().send_text("still here").unwrap();
    assert_eq!(wait_msg(&rx2).1, b"still here");
    server.shutdown(WAIT).unwrap();
}

#[test]
fn buffered_amount_stays_sane_when_sends_race_the_end() {
    // A host thread keeps sending while the peer vanishes: sends accepted just before the end
    // reach the I/O thread after it finished the connection; the counter must not wrap.
    for _ in 0..10 {
        let (h, srx) = recorder(false);
        let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
        let peer = stalled_peer(server.port());
        let conn = wait_open(&srx);
        let sender = {
            let conn = conn.clone();
            std::thread::spawn(move || {
                let msg = vec![7u8; 4096];
                let mut n = 0usize;
                while conn.send_binary(&msg).is_ok() || conn.is_open() {
                    n += 1;
                }
                n
            })
        };
        drop(peer);
        wait_close(&srx);
        sender.join().unwrap();
        let left = conn.buffered_amount();
        assert!(left <= 16 << 20, "buffered amount wrapped: {left:#x}");
        server.shutdown(WAIT).unwrap();
        // The sends that lost the race are reported undelivered (and the reset, if any).
        take_errors_each(&srx, |e| {
            assert!(
                matches!(e.kind, ErrorKind::Io | ErrorKind::NotConnected),
                "{e}"
            )
        });
    }
}

/// Read server frames (unmasked) from `bytes`; return the close code of the last frame if it
/// is a close frame.
fn last_close_code(bytes: &[u8]) -> Option<u16> {
    let (mut i, mut last) = (0usize, None);
    while i + 2 <= bytes.len() {
        let op = bytes[i] & 0x0f;
        let (hdr, len) = match bytes[i + 1] & 0x7f {
            126 => (4, u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize),
            127 => (
                10,
                u64::from_be_bytes(bytes[i + 2..i + 10].try_into().unwrap()) as usize,
            ),
            n => (2, n as usize),
        };
        last = (op == 8).then(|| u16::from_be_bytes([bytes[i + hdr], bytes[i + hdr + 1]]));
        i += hdr + len;
    }
    last
}

#[test]
fn close_reply_is_sent_even_when_the_socket_is_full() {
    let (h, srx) = recorder(false);
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            io_threads: 1,
            ..Default::default()
        },
        h,
    )
    .unwrap();
    let mut peer = stalled_peer(server.port());
    let conn = wait_open(&srx);
    // 96 MiB is more than loopback buffers hold (receive buffers autotune up to 32 MiB here):
    // once the first byte arrives, the I/O
    // thread is writing it and stops only when the socket is full.
    conn.send_binary(&vec![1u8; 96 << 20]).unwrap();
    let mut first = [0u8; 1];
    peer.read_exact(&mut first).unwrap();
    // The peer closes without reading; our reply has to wait behind the buffered data.
    let mask = [1u8, 2, 3, 4];
    let mut close = vec![0x88, 0x80 | 2];
    close.extend_from_slice(&mask);
    close.extend(
        1000u16
            .to_be_bytes()
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4]),
    );
    peer.write_all(&close).unwrap();
    // Read only once the server has taken the close (else our reading frees the socket and
    // the reply never has to wait).
    wait_until("the server sees the close", || !conn.is_open());
    // Now read everything: the stream must end with our close frame, not just stop.
    let mut all = first.to_vec();
    peer.read_to_end(&mut all).unwrap();
    assert_eq!(
        all.len(),
        10 + (96 << 20) + 4,
        "the message and the close reply"
    );
    assert_eq!(last_close_code(&all), Some(1000));
    assert_eq!(wait_close(&srx).0, 1000);
}

/// Read one frame header + payload from a raw socket (server frames: unmasked).
fn read_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    assert_eq!(h[1] & 0x80, 0, "server frames are unmasked");
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).unwrap();
    (h[0], p)
}

#[test]
fn ping_during_a_blocked_large_frame_is_answered_after_it() {
    let (h, srx) = recorder(false);
    let limits = Limits {
        send_queue_limit: 128 << 20,
        ..Default::default()
    };
    let cfg = ServerConfig {
        limits,
        ..Default::default()
    };
    let server = Server::bind("127.0.0.1:0", cfg, h).unwrap();
    let mut peer = stalled_peer(server.port());
    let conn = wait_open(&srx);
    // Larger than the loopback socket buffers: the frame stays half-written while we do not read.
    let big: Vec<u8> = (0..64usize << 20).map(|i| (i % 251) as u8).collect();
    conn.send_binary(&big).unwrap();
    conn.send_text("after").unwrap();
    // A reader drains the frame; once 4 MiB of it are in, a masked ping arrives mid-frame while
    // the server's socket keeps getting room (so an unheld pong would be written right away).
    let mut writer = peer.try_clone().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut head = [0u8; 10];
        peer.read_exact(&mut head).unwrap();
        assert_eq!(head[..2], [0x82, 127]);
        let len = u64::from_be_bytes(head[2..].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len];
        let mut got = 0;
        while got < len {
            let n = peer
                .read(&mut body[got..(got + (64 << 10)).min(len)])
                .unwrap();
            assert!(n > 0);
            got += n;
            if got >= 4 << 20 {
                let _ = tx.send(());
            }
        }
        let mut rest = vec![read_frame(&mut peer), read_frame(&mut peer)];
        rest.sort();
        (body, rest)
    });
    rx.recv().unwrap();
    writer
        .write_all(&[0x89, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2])
        .unwrap();
    let (body, rest) = reader.join().unwrap();
    assert!(body == big, "large frame corrupted");
    // Then the pong and the next message, each a whole frame (in either order).
    assert_eq!(
        rest,
        vec![(0x81, b"after".to_vec()), (0x8a, b"hi".to_vec())]
    );
    wait_until("the buffered amount drains", || conn.buffered_amount() == 0);
}

/// Queues 32 MiB for a peer that does not read, then panics; its close and error callbacks
/// panic too.
struct PanicsEverywhere(parking_lot::Mutex<Option<Connection>>);

impl Handler for PanicsEverywhere {
    fn on_open(&self, conn: &Connection) {
        *self.0.lock() = Some(conn.clone());
    }
    fn on_message(&self, conn: &Connection, _kind: MessageKind, data: &[u8]) {
        if data == b"boom" {
            panic!("host handler bug");
        }
        conn.send_binary(&vec![7u8; 32 << 20]).unwrap();
        conn.send_text("queued behind").unwrap();
    }
    fn on_close(&self, _conn: &Connection, _code: u16, _reason: &str) {
        panic!("close callback bug");
    }
    fn on_error(&self, _conn: Option<&Connection>, _err: &Error) {
        panic!("error callback bug");
    }
}

#[test]
fn a_connection_dropped_after_panicking_callbacks_releases_its_buffered_amount() {
    let limits = Limits {
        send_queue_limit: 64 << 20,
        ..Default::default()
    };
    let h = Arc::new(PanicsEverywhere(parking_lot::Mutex::new(None)));
    let cfg = ServerConfig {
        limits,
        io_threads: 1,
        ..Default::default()
    };
    let server = Server::bind("127.0.0.1:0", cfg, h.clone()).unwrap();
    let mut peer = stalled_peer(server.port());
    // A masked text frame "go": the handler queues 32 MiB, which the I/O thread starts writing.
    peer.write_all(&[0x81, 0x82, 1, 2, 3, 4, b'g' ^ 1, b'o' ^ 2])
        .unwrap();
    let mut first = [0u8; 1];
    peer.read_exact(&mut first).unwrap();
    let conn = h.0.lock().clone().expect("opened");
    assert!(conn.buffered_amount() > 0);
    // Then "boom": the handler panics, and so do the error and close callbacks.
    peer.write_all(&[
        0x81,
        0x84,
        1,
        2,
        3,
        4,
        b'b' ^ 1,
        b'o' ^ 2,
        b'o' ^ 3,
        b'm' ^ 4,
    ])
    .unwrap();
    wait_until(
        "the connection ends and releases its buffered amount",
        || !conn.is_open() && conn.buffered_amount() == 0,
    );
    // The I/O thread carries on.
    let (_c, _crx) = ws_client(&server);
}

/// Stops wanting messages after the first one until the test opens it again; reports every
/// "no" (as `Ev::Pong(0, _)`), and counts messages delivered right after a "no" (there must be
/// none).
struct Gate {
    open: std::sync::atomic::AtomicBool,
    said_no: std::sync::atomic::AtomicBool,
    violations: AtomicUsize,
    tx: crossbeam_channel::Sender<Ev>,
}

impl Gate {
    /// An open gate and the receiver of its events.
    fn new() -> (Arc<Gate>, Events) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let rx = Events::new(rx);
        let gate = Gate {
            open: true.into(),
            said_no: false.into(),
            violations: AtomicUsize::new(0),
            tx,
        };
        (Arc::new(gate), rx)
    }
}

impl Handler for Gate {
    fn wants_messages(&self, _conn: &Connection) -> bool {
        let open = self.open.load(Ordering::SeqCst);
        self.said_no.store(!open, Ordering::SeqCst);
        if !open {
            let _ = self.tx.send(Ev::Pong(0, Vec::new()));
        }
        open
    }
    fn on_open(&self, conn: &Connection) {
        let _ = self.tx.send(Ev::Open(conn.clone()));
    }
    fn on_message(&self, conn: &Connection, kind: MessageKind, data: &[u8]) {
        if self.said_no.load(Ordering::SeqCst) {
            self.violations.fetch_add(1, Ordering::SeqCst);
        }
        self.open.store(false, Ordering::SeqCst);
        let _ = self.tx.send(Ev::Msg(conn.id(), kind, data.to_vec()));
    }
    fn on_close(&self, conn: &Connection, code: u16, reason: &str) {
        let _ = self.tx.send(Ev::Close(conn.id(), code, reason.to_string()));
    }
    fn on_error(&self, conn: Option<&Connection>, err: &Error) {
        let _ = self.tx.send(Ev::Error(conn.map(|c| c.id()), err.clone()));
    }
}

#[test]
fn a_handler_that_wants_no_messages_pauses_reading_and_keepalive_spares_the_peer() {
    const N: u32 = 200;
    let (gate, srx) = Gate::new();
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            // Short enough that the pause below spans several timeouts, long enough that a
            // loaded machine answers every ping in time outside the pause.
            keepalive: Some(Keepalive {
                interval: Duration::from_millis(100),
                timeout: Duration::from_millis(300),
            }),
            ..Default::default()
        },
        gate.clone(),
    )
    .unwrap();
    let (client, _crx) = ws_client(&server);
    let sconn = wait_open(&srx);
    for i in 0..N {
        client.connection().send_binary(&seq_msg(7, i)).unwrap();
    }
    // The first message closes the gate; the rest wait in the socket while the server keeps
    // asking (2, 4, 8, ... ms apart). Nothing may end the connection during a pause of many
    // keepalive timeouts (keepalive would, were the pause counted as the peer's silence: its
    // pongs cannot be read). 1.5 s is five timeouts.
    let mut got = Vec::new();
    let paused_at = Instant::now();
    until(&srx, |e| match e {
        Ev::Msg(_, _, m) => {
            got.push(m.clone());
            None
        }
        Ev::Pong(0, _) => (paused_at.elapsed() >= Duration::from_millis(1500)).then_some(()),
        other => panic!("unexpected event while paused: {other:?}"),
    });
    assert!(
        !got.is_empty(),
        "the first message arrives before the pause"
    );
    assert!(sconn.is_open());
    // Open the gate: everything arrives, in order. Each message closes it again, so the
    // test reopens it (and says so, rather than wait for the retry) until all are in.
    while got.len() < N as usize {
        gate.open.store(true, Ordering::SeqCst);
        sconn.resume_reading();
        match next(&srx) {
            Ev::Msg(_, _, m) => got.push(m),
            Ev::Pong(..) => {}
            other => panic!("unexpected event: {other:?}"),
        }
    }
    check_sequence(&got, 7, N);
    assert_eq!(
        gate.violations.load(Ordering::SeqCst),
        0,
        "a message was read after a no"
    );
    assert!(sconn.is_open() && client.connection().is_open());
    // The peer's close frame is read like a message: only once the handler wants more.
    gate.open.store(true, Ordering::SeqCst);
    client.close(1000, "done", WAIT).unwrap();
    let code = until(&srx, |e| match e {
        Ev::Close(_, code, _) => Some(*code),
        _ => None,
    });
    assert_eq!(code, 1000);
}

/// Echoes until it has seen `stop_after` messages, then wants no more: a pull host whose event
/// thread went off to close the server and takes no more events.
struct StopsTaking {
    stop_after: usize,
    seen: AtomicUsize,
    tx: crossbeam_channel::Sender<Ev>,
}

impl Handler for StopsTaking {
    fn wants_messages(&self, _conn: &Connection) -> bool {
        self.seen.load(Ordering::SeqCst) < self.stop_after
    }
    fn on_message(&self, conn: &Connection, kind: MessageKind, data: &[u8]) {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.stop_after {
            let _ = self.tx.send(Ev::Pong(0, Vec::new()));
        }
        let _ = conn.send(kind, data); // refused once closing: fine
    }
    fn on_close(&self, conn: &Connection, code: u16, reason: &str) {
        let _ = self.tx.send(Ev::Close(conn.id(), code, reason.to_string()));
    }
    fn on_error(&self, conn: Option<&Connection>, err: &Error) {
        let _ = self.tx.send(Ev::Error(conn.map(|c| c.id()), err.clone()));
    }
}

#[test]
fn a_paused_connection_still_completes_the_close_when_the_server_shuts_down() {
    let (tx, srx) = crossbeam_channel::unbounded();
    let srx = Events::new(srx);
    let h = Arc::new(StopsTaking {
        stop_after: 100,
        seen: AtomicUsize::new(0),
        tx,
    });
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h.clone()).unwrap();
    let port = server.port();
    // A blocking peer that writes its whole batch (far more than the socket buffers hold)
    // before reading anything: once we stop reading it is stuck in write, and our close frame
    // waits behind echoes it does not read. Only reading on lets both finish.
    let peer = std::thread::spawn(move || {
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_write_timeout(Some(WAIT)).unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        let url = format!("ws://127.0.0.1:{port}/");
        let (mut ws, _) = tungstenite::client::client(url.as_str(), tcp).unwrap();
        let msg = payload(64 << 10, 3);
        for _ in 0..1000 {
            if ws
                .send(tungstenite::Message::Binary(msg.clone().into()))
                .is_err()
            {
                break;
            }
        }
        loop {
            match ws.read() {
                Ok(tungstenite::Message::Close(f)) => return f.map(|f| u16::from(f.code)),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    });
    until(&srx, |e| matches!(e, Ev::Pong(0, _)).then_some(()));
    server.shutdown(WAIT).unwrap();
    let code = until(&srx, |e| match e {
        Ev::Close(_, code, _) => Some(*code),
        _ => None,
    });
    assert_eq!(code, 1001, "the server side ended with its close handshake");
    // What the close cut short is reported: the peer's messages dropped while the handler took
    // none (once), and possibly an echo still queued.
    let mut dropped = 0;
    take_errors_each(&srx, |e| match e.kind {
        ErrorKind::Backpressure => {
            dropped += 1;
            assert!(
                e.message.contains("while the connection was closing"),
                "{e}"
            )
        }
        _ => assert!(
            e.kind == ErrorKind::NotConnected && e.message.contains("not delivered"),
            "{e}"
        ),
    });
    assert_eq!(dropped, 1, "the dropped messages are reported once");
    assert_eq!(
        peer.join().unwrap(),
        Some(1001),
        "the peer got our close frame"
    );
}

#[test]
fn a_closing_connection_reads_on_but_drops_what_its_handler_does_not_want() {
    const N: u32 = 50;
    let (gate, srx) = Gate::new();
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), gate.clone()).unwrap();
    let (client, _crx) = ws_client(&server);
    let sconn = wait_open(&srx);
    for i in 0..N {
        client.connection().send_binary(&seq_msg(9, i)).unwrap();
    }
    // The first message closes the gate; wait until the server has been refused once.
    let mut got = 0;
    until(&srx, |e| match e {
        Ev::Msg(..) => {
            got += 1;
            None
        }
        Ev::Pong(0, _) => Some(()),
        other => panic!("unexpected event: {other:?}"),
    });
    assert_eq!(got, 1);
    // Every message is on the wire before our close can reach the client (a client that gets
    // the close first reports the rest as undelivered instead of sending them).
    wait_until("the client has written all its messages", || {
        client.connection().buffered_amount() == 0
    });
    // Closing reads on to find the peer's close frame behind its messages; those messages are
    // dropped (the handler still wants none) and reported once, with their count.
    sconn.close(1000, "bye").unwrap();
    let code = until(&srx, |e| match e {
        Ev::Msg(..) => panic!("a message was delivered to a handler that wanted none"),
        Ev::Close(_, code, _) => Some(*code),
        _ => None,
    });
    assert_eq!(code, 1000);
    // Reported once (the final check fails on a second report).
    let err = wait_error(&srx);
    assert_eq!(err.kind, ErrorKind::Backpressure);
    assert!(
        err.message.starts_with(&format!("{} message(s)", N - 1)),
        "{}",
        err.message
    );
}

fn close_timeout_server(close_timeout: Duration) -> (Server, Events) {
    recording_server(
        false,
        ServerConfig {
            limits: Limits {
                close_timeout,
                ..Default::default()
            },
            ..Default::default()
        },
    )
}

#[test]
fn a_close_stuck_behind_data_the_peer_never_reads_ends_after_close_timeout() {
    let (server, srx) = close_timeout_server(Duration::from_millis(200));
    let _peer = stalled_peer(server.port()); // upgrades, then never reads
    let sconn = wait_open(&srx);
    // Far more than the socket buffers hold, then our close behind it.
    sconn.send_binary(&payload(12 << 20, 4)).unwrap();
    sconn.close(1000, "bye").unwrap();
    let err = until(&srx, |e| match e {
        Ev::Error(Some(_), err) => Some(err.clone()),
        _ => None,
    });
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
    assert!(err.message.contains("our close could not be sent"), "{err}");
    let code = until(&srx, |e| match e {
        Ev::Close(_, code, _) => Some(*code),
        _ => None,
    });
    assert_eq!(code, 1006);
    // And the message it was stuck behind, reported undelivered.
    let err = wait_error(&srx);
    assert_eq!(err.kind, ErrorKind::NotConnected, "{err}");
    assert!(err.message.starts_with("1 queued message(s)"), "{err}");
}

#[test]
fn a_close_behind_data_a_slow_peer_keeps_reading_waits_for_it() {
    // The data takes far longer than close_timeout to drain, but it keeps moving: the close is
    // not cut short, and the peer receives everything and then our close frame.
    let (server, srx) = close_timeout_server(Duration::from_secs(1));
    let port = server.port();
    let peer = std::thread::spawn(move || {
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        let url = format!("ws://127.0.0.1:{port}/");
        let (mut ws, _) = tungstenite::client::client(url.as_str(), tcp).unwrap();
        // Read slowly: 10 ms per 64 KiB message, over 2 s in all, each gap far below the
        // timeout (even when a loaded machine stretches it).
        let mut got = 0usize;
        loop {
            std::thread::sleep(Duration::from_millis(10));
            match ws.read() {
                Ok(tungstenite::Message::Binary(b)) => got += b.len(),
                Ok(tungstenite::Message::Close(f)) => return (got, f.map(|f| u16::from(f.code))),
                Ok(_) => {}
                Err(e) => panic!("peer read failed: {e}"),
            }
        }
    });
    let sconn = wait_open(&srx);
    for i in 0..192 {
        sconn.send_binary(&payload(64 << 10, i as u8)).unwrap();
    }
    sconn.close(1000, "done").unwrap();
    let code = until(&srx, |e| match e {
        Ev::Close(_, code, _) => Some(*code),
        Ev::Error(_, err) => panic!("unexpected error: {err}"),
        _ => None,
    });
    assert_eq!(code, 1000);
    assert_eq!(peer.join().unwrap(), (192 * (64 << 10), Some(1000)));
}
