//! Pull mode from Rust: a server whose handler is an `EventQueue`, events taken on the test's own
//! thread, and per-connection user data carried by events and dropped after the last one.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use wss::{ErrorKind, Event, EventKind, EventQueue, MessageKind, Server, ServerConfig};

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
    assert!(
        crx.try_iter().all(|e| !matches!(e, Ev::Error(..))),
        "no client errors"
    );
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
