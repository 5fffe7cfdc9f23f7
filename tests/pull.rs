//! Pull mode from Rust: a server whose handler is an `EventQueue`, events taken on the test's own
//! thread, and per-connection user data carried by events and dropped after the last one.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wss::{
    AcceptDecision, AcceptRequest, Client, ClientConfig, ErrorKind, Event, EventKind, EventQueue,
    Limits, MessageKind, Server, ServerConfig,
};

use common::*;

fn take(q: &EventQueue) -> Event {
    q.next(WAIT).expect("an event within the wait")
}

/// Counts its drops and reports each: the host data the library must release exactly once.
struct Session(Arc<AtomicUsize>, std::sync::mpsc::Sender<()>);

impl Drop for Session {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        let _ = self.1.send(());
    }
}

#[test]
fn a_pull_mode_server_delivers_open_messages_and_close_in_order() {
    let q = EventQueue::new(64 << 20);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), q.clone()).unwrap();
    let (client, crx) = ws_client(&server);

    let open = take(&q);
    assert!(matches!(open.kind, EventKind::Open), "{open:?}");
    let id = open.conn;
    let conn = wss::connection(id).expect("open connection");
    let dropped = Arc::new(AtomicUsize::new(0));
    let (released_tx, released) = std::sync::mpsc::channel();
    conn.set_user_data(Arc::new(Session(dropped.clone(), released_tx.clone())))
        .unwrap();
    let again = conn.set_user_data(Arc::new(Session(dropped.clone(), released_tx)));
    assert_eq!(again.unwrap_err().kind, ErrorKind::InvalidState);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the refused data is dropped"
    );

    client.connection().send_text("one").unwrap();
    client.connection().send_binary(&[1, 2, 3]).unwrap();
    let one = take(&q);
    let two = take(&q);
    match (&one.kind, &two.kind) {
        (EventKind::Message(MessageKind::Text, a), EventKind::Message(MessageKind::Binary, b)) => {
            assert_eq!(&a[..], b"one");
            assert_eq!(&b[..], &[1, 2, 3]);
        }
        other => panic!("unexpected events {other:?}"),
    }
    assert!(
        one.user_data.is_some(),
        "events carry the connection's data"
    );
    drop((one, two));

    client.close(1000, "bye", WAIT).unwrap();
    let close = take(&q);
    assert!(
        matches!(&close.kind, EventKind::Close(1000, r) if r == "bye"),
        "{close:?}"
    );
    drop(conn);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the close event still holds the connection's data"
    );
    drop(close);
    released.recv_timeout(WAIT).unwrap(); // the refused one
    released
        .recv_timeout(WAIT)
        .expect("released after the last event and the connection's end");
    assert_eq!(dropped.load(Ordering::SeqCst), 2);

    server.shutdown(WAIT).unwrap();
    q.end();
    assert_eq!(q.next(WAIT).unwrap_err().kind, ErrorKind::Closed);
    drop(crx); // checks that the client saw no error
}

#[test]
fn an_empty_queue_times_out_and_an_ended_one_closes() {
    let q = EventQueue::new(1 << 20);
    let t0 = std::time::Instant::now();
    assert_eq!(
        q.next(Duration::from_millis(20)).unwrap_err().kind,
        ErrorKind::Timeout
    );
    assert!(t0.elapsed() >= Duration::from_millis(20));
    let waiter = {
        let q = q.clone();
        std::thread::spawn(move || q.next(Duration::from_secs(600)).unwrap_err().kind)
    };
    q.end();
    assert_eq!(waiter.join().unwrap(), ErrorKind::Closed);
}

/// The next event, which must be an upgrade request to decide.
fn take_accept(q: &EventQueue) -> AcceptRequest {
    match take(q).kind {
        EventKind::Accept(req) => *req,
        other => panic!("expected an accept event, got {other:?}"),
    }
}

#[test]
fn a_pull_mode_host_decides_upgrades_on_its_own_thread() {
    let q = EventQueue::new(1 << 20).with_accept_events();
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), q.clone()).unwrap();
    let url = format!("ws://127.0.0.1:{}/chat?room=1", server.port());
    let config = ClientConfig {
        subprotocols: vec!["a".into(), "b".into()],
        // A host's own Host header replaces the one made from the URL.
        headers: vec![("Host".into(), "chat.example:8443".into())],
        ..Default::default()
    };
    // Headers the library writes are the library's.
    for name in ["Sec-WebSocket-Extensions", "upgrade", "Content-Length"] {
        let mut bad = config.clone();
        bad.headers.push((name.into(), "x".into()));
        let (ch, _crx) = recorder(false);
        let err = Client::connect_async(&url, &bad, ch)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{name}: {err}");
        assert!(err.message.contains("written by the library"), "{err}");
    }

    // Accept with the second subprotocol and a response header.
    let (ch, crx) = recorder(false);
    let client = Client::connect_async(&url, &config, ch).unwrap();
    let req = take_accept(&q);
    assert_eq!(req.request.path, "/chat");
    assert_eq!(req.request.query.as_deref(), Some("room=1"));
    assert_eq!(req.request.header("host"), Some("chat.example:8443"));
    let hosts = req.request.headers.iter();
    assert_eq!(
        hosts
            .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
            .count(),
        1
    );
    assert_eq!(req.subprotocols, ["a", "b"]);
    assert_eq!(server.offered_subprotocols(req.id).unwrap(), ["a", "b"]);
    let bad = AcceptDecision::Accept {
        subprotocol: Some("c".into()),
        headers: Vec::new(),
    };
    assert_eq!(
        server.decide(req.id, bad).unwrap_err().kind,
        ErrorKind::InvalidArgument,
        "a subprotocol the client did not offer"
    );
    let second_answer = AcceptDecision::Accept {
        subprotocol: None,
        headers: vec![(
            "Sec-WebSocket-Extensions".into(),
            "permessage-deflate".into(),
        )],
    };
    assert_eq!(
        server.decide(req.id, second_answer).unwrap_err().kind,
        ErrorKind::InvalidArgument,
        "a header the library writes"
    );
    server
        .decide(
            req.id,
            AcceptDecision::Accept {
                subprotocol: Some("b".into()),
                headers: vec![("X-Room".into(), "1".into())],
            },
        )
        .unwrap();
    wait_open(&crx);
    let info = client.connection().info();
    assert_eq!(info.subprotocol.as_deref(), Some("b"));
    // The client sees the 101's headers, the host's after the library's.
    assert_eq!(info.response_header("x-room"), Some("1"));
    assert_eq!(info.response_header("Sec-WebSocket-Protocol"), Some("b"));
    let names: Vec<&str> = info
        .response_headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    let at = |n: &str| names.iter().position(|h| h.eq_ignore_ascii_case(n));
    assert!(at("Upgrade") < at("X-Room"), "{names:?}");
    let open = take(&q);
    assert!(matches!(open.kind, EventKind::Open) && open.conn == req.id);
    assert_eq!(
        server
            .decide(req.id, AcceptDecision::accept())
            .unwrap_err()
            .kind,
        ErrorKind::NotConnected,
        "already decided"
    );

    // Refuse with a status and reason: the client's error carries the status.
    let refused = std::thread::spawn({
        let url = url.clone();
        move || {
            let (ch, _crx) = recorder(false);
            Client::connect(&url, &ClientConfig::default(), ch).unwrap_err()
        }
    });
    let req = take_accept(&q);
    server
        .decide(
            req.id,
            AcceptDecision::Reject {
                status: 403,
                reason: "Members Only".into(),
            },
        )
        .unwrap();
    let err = refused.join().unwrap();
    assert_eq!(err.kind, ErrorKind::Handshake, "{err}");
    assert_eq!(err.http_status, Some(403));

    client.close(1000, "", WAIT).unwrap();
    assert!(matches!(take(&q).kind, EventKind::Close(1000, _)));
    server.shutdown(WAIT).unwrap();
}

#[test]
fn an_undecided_upgrade_is_refused_at_the_handshake_timeout() {
    let q = EventQueue::new(1 << 20).with_accept_events();
    let config = ServerConfig {
        limits: Limits {
            handshake_timeout: Duration::from_millis(300),
            ..Default::default()
        },
        ..Default::default()
    };
    let server = Server::bind("127.0.0.1:0", config, q.clone()).unwrap();
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let (ch, _crx) = recorder(false);
    let t0 = std::time::Instant::now();
    let err = Client::connect(&url, &ClientConfig::default(), ch).unwrap_err();
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(err.http_status, Some(503), "{err}");
    let req = take_accept(&q);
    let timeout = take(&q);
    match &timeout.kind {
        EventKind::Error(e) => assert_eq!(e.kind, ErrorKind::Timeout, "{e}"),
        other => panic!("expected the timeout error, got {other:?}"),
    }
    assert_eq!(
        server
            .decide(req.id, AcceptDecision::accept())
            .unwrap_err()
            .kind,
        ErrorKind::NotConnected
    );
    server.shutdown(WAIT).unwrap();
}
