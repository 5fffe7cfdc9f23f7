//! The client I/O threads are shared by every client and end once the last client connection
//! is gone (a host runtime such as Mono waits at exit for every thread that ran its code), and
//! start again for the next client. Its own test binary: no other test's clients share them.
#![cfg(target_os = "linux")]

mod common;

use wss::{Client, ClientConfig, Server, ServerConfig};

use common::*;

/// Threads of this process named like the client I/O threads.
fn client_io_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("wss-client-io"))
        .count()
}

fn echo_once(server: &Server) {
    let (client, crx) = ws_client(server);
    client.connection().send_text("ping").unwrap();
    assert_eq!(wait_msg(&crx).1, b"ping");
    client.close(1000, "", WAIT).unwrap();
    wait_close(&crx);
}

#[test]
fn client_io_threads_end_with_the_last_client_and_start_again() {
    let (h, _srx) = recorder(true);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    assert_eq!(client_io_threads(), 0);

    let (first, frx) = ws_client(&server);
    assert!(client_io_threads() > 0);
    let (ch, second_rx) = recorder(false);
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let second = Client::connect(&url, &ClientConfig::default(), ch).unwrap();
    wait_open(&second_rx);

    // The first client goes; the second still needs the threads.
    first.close(1000, "", WAIT).unwrap();
    wait_close(&frx);
    drop(first);
    second.connection().send_text("still here").unwrap();
    wait_until("the second client's message is written", || {
        second.connection().buffered_amount() == 0
    });
    assert!(client_io_threads() > 0);

    // The last one goes: so do the threads.
    second.close(1000, "", WAIT).unwrap();
    wait_close(&second_rx);
    drop(second);
    wait_until("the client I/O threads end", || client_io_threads() == 0);

    // A new client starts them again and works.
    echo_once(&server);
    wait_until("the client I/O threads end again", || {
        client_io_threads() == 0
    });
    server.shutdown(WAIT).unwrap();
}
