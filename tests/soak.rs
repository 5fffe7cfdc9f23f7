//! Long runs, behind a flag (`./scripts/test.sh --soak`, or `cargo test --release --test soak --
//! --ignored`): 10,000 concurrent idle wss connections on one server, clients in a child process
//! (one process cannot hold both ends of 10,000 connections within `ulimit -n`).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use common::*;
use wss::{Client, ClientConfig, MessageKind, Server, ServerConfig};

const CONNECTIONS: usize = 10_000;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Child side: open `WSS_SOAK_COUNT` clients to `WSS_SOAK_URL`, say READY, wait for a line on
/// stdin, send one message on every connection and count the echoes, then exit.
#[test]
#[ignore = "run by ten_thousand_idle_connections as a child process"]
fn soak_child_clients() {
    let Ok(url) = std::env::var("WSS_SOAK_URL") else {
        return;
    };
    let count: usize = std::env::var("WSS_SOAK_COUNT").unwrap().parse().unwrap();
    let ca = std::env::var("WSS_SOAK_CA").unwrap();
    let mut tls = wss::TlsConfig::new();
    tls.load_ca_file(ca).unwrap();
    let cfg = ClientConfig {
        tls: Some(tls),
        ..Default::default()
    };
    let (h, rx) = recorder(false);
    let clients: Vec<Client> = std::thread::scope(|s| {
        let per = count / 8;
        let hs: Vec<_> = (0..8)
            .map(|i| {
                let (url, cfg, h) = (&url, &cfg, h.clone());
                let n = if i == 7 { count - per * 7 } else { per };
                s.spawn(move || {
                    (0..n)
                        .map(|_| Client::connect(url, cfg, h.clone()).unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    println!("READY {}", clients.len());
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    for c in &clients {
        c.connection().send_binary(b"ping").unwrap();
    }
    let mut echoes = 0;
    while echoes < clients.len() {
        if let (MessageKind::Binary, d) = wait_msg(&rx) {
            assert_eq!(d, b"ping");
            echoes += 1;
        }
    }
    println!("ECHOED {echoes}");
    std::io::stdout().flush().unwrap();
}

#[test]
#[ignore = "soak: 10,000 connections; run with ./scripts/test.sh --soak"]
fn ten_thousand_idle_connections() {
    let (h, _rx) = recorder(true);
    let server = Arc::new(
        Server::bind(
            "127.0.0.1:0",
            ServerConfig {
                tls: Some(server_tls()),
                ..Default::default()
            },
            h,
        )
        .unwrap(),
    );
    let before = rss_kib();
    let start = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "soak_child_clients",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            "WSS_SOAK_URL",
            format!("wss://localhost:{}/", server.port()),
        )
        .env("WSS_SOAK_COUNT", CONNECTIONS.to_string())
        .env("WSS_SOAK_CA", &pki().ca_cert)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // libtest prints "test <name> ... " before the child's own output on the same line.
    while !line.contains("READY") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child ended before READY"
        );
    }
    let opened = start.elapsed();
    assert_eq!(server.active_connections(), CONNECTIONS);
    let per_conn = (rss_kib().saturating_sub(before) * 1024) / CONNECTIONS as u64;
    println!("{CONNECTIONS} wss connections open in {opened:?}; server RSS per idle connection ≈ {per_conn} bytes");
    writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
    while !line.contains("ECHOED") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child ended before ECHOED"
        );
    }
    assert!(
        line.trim().ends_with(&format!("ECHOED {CONNECTIONS}")),
        "{line}"
    );
    assert!(child.wait().unwrap().success());
    server.shutdown(WAIT).unwrap();
}
