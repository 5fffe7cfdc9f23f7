//! The connection's states and their timers: one keepalive chain per connection, the
//! non-blocking client connect, deferred accept decisions.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use wss::{Keepalive, Limits, Server, ServerConfig};

/// Collect every event of `rx` until `until` (a measuring window, not a synchronisation sleep).
fn events_until(rx: &crossbeam_channel::Receiver<Ev>, until: Instant) -> Vec<(Instant, Ev)> {
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
    let (h, srx) = recorder(false);
    let server = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            keepalive: Some(ka),
            limits: Limits {
                handshake_timeout: Duration::from_millis(700),
                ..Default::default()
            },
            ..Default::default()
        },
        h,
    )
    .unwrap();
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
