//! permessage-deflate (RFC 7692) through the engine: echo in both roles, what `ConnInfo` says
//! was negotiated, RSV1 on the wire (the per-message opt-out and the threshold), a
//! decompression bomb closing 1009 in either role, corrupt data 1007, RSV1 without the
//! extension 1002, a malformed offer 400, and settings checked at bind and connect.

mod common;

use std::io::Write;

use common::raw::{close_body, frame, read_frames, read_to_end, upgrade_with};
use common::*;
use wss::{
    Client, ClientConfig, Deflate, DeflateParams, ErrorKind, Limits, MessageKind, ServerConfig,
};

fn server_config(deflate: Deflate) -> ServerConfig {
    ServerConfig {
        deflate,
        ..Default::default()
    }
}

fn client_config(deflate: Deflate) -> ClientConfig {
    ClientConfig {
        deflate,
        ..Default::default()
    }
}

/// Compressible text of `n` bytes.
fn words(n: usize) -> String {
    "the quick brown fox jumps over the lazy dog "
        .repeat(n / 44 + 1)
        .split_at(n)
        .0
        .to_string()
}

const DEFAULTS: DeflateParams = DeflateParams {
    server_no_context_takeover: false,
    client_no_context_takeover: false,
    server_max_window_bits: 15,
    client_max_window_bits: 15,
};

#[test]
fn echo_compressed_both_roles_and_info_says_so() {
    let settings = [
        (Deflate::on(), Deflate::on(), DEFAULTS),
        (
            Deflate::on().no_context_takeover(),
            Deflate::on(),
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                ..DEFAULTS
            },
        ),
        (
            Deflate {
                server_max_window_bits: 10,
                ..Deflate::on()
            },
            Deflate {
                client_max_window_bits: 8,
                threshold: 0,
                ..Deflate::on()
            },
            DeflateParams {
                server_max_window_bits: 10,
                client_max_window_bits: 8,
                ..DEFAULTS
            },
        ),
    ];
    for (server_side, client_side, agreed) in settings {
        let (server, srx) = recording_server(true, server_config(server_side));
        let (ch, crx) = recorder(false);
        let url = format!("ws://127.0.0.1:{}/", server.port());
        let client = Client::connect(&url, &client_config(client_side), ch).unwrap();
        let conn = wait_open(&crx);
        assert_eq!(conn.info().deflate, Some(agreed));
        assert_eq!(wait_open(&srx).info().deflate, Some(agreed));
        for (i, n) in [0usize, 1, 63, 64, 1000, 65536, 1 << 20, 3 << 20]
            .into_iter()
            .enumerate()
        {
            // Twice each: the second message reuses the window (context takeover) or not.
            for _ in 0..2 {
                let t = words(n);
                conn.send_text(&t).unwrap();
                assert_eq!(wait_msg(&crx), (MessageKind::Text, t.into_bytes()));
                let b = payload(n, i as u8);
                conn.send_binary(&b).unwrap();
                assert_eq!(wait_msg(&crx), (MessageKind::Binary, b));
            }
        }
        client.close(1000, "bye", WAIT).unwrap();
        assert_eq!(wait_close(&crx), (1000, "bye".to_string()));
        assert_eq!(wait_close(&srx), (1000, "bye".to_string()));
        assert_no_errors(&srx);
        assert_no_errors(&crx);
        server.shutdown(WAIT).unwrap();
    }
}

#[test]
fn either_side_off_means_uncompressed() {
    for (server_on, client_on) in [(false, true), (true, false)] {
        let on = |yes| {
            if yes {
                Deflate::on()
            } else {
                Deflate::default()
            }
        };
        let (server, srx) = recording_server(true, server_config(on(server_on)));
        let (ch, crx) = recorder(false);
        let url = format!("ws://127.0.0.1:{}/", server.port());
        let client = Client::connect(&url, &client_config(on(client_on)), ch).unwrap();
        let conn = wait_open(&crx);
        assert_eq!(conn.info().deflate, None);
        assert_eq!(wait_open(&srx).info().deflate, None);
        let t = words(5000);
        conn.send_text(&t).unwrap();
        assert_eq!(wait_msg(&crx), (MessageKind::Text, t.into_bytes()));
        client.close(1000, "", WAIT).unwrap();
        wait_close(&crx);
        server.shutdown(WAIT).unwrap();
    }
}

/// RSV1 on the wire: set on a compressible message, clear on the same message sent with the
/// opt-out, clear below the threshold; the compressed payload inflates to the original.
#[test]
fn opt_out_and_threshold_decide_rsv1_per_message() {
    let (server, srx) = recording_server(false, server_config(Deflate::on()));
    let (mut s, head) = upgrade_with(
        server.port(),
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"),
        "{head}"
    );
    let conn = wait_open(&srx);
    let t = words(1000);
    conn.send_text(&t).unwrap();
    conn.send_uncompressed(MessageKind::Text, t.as_bytes())
        .unwrap();
    conn.send_text("below the threshold").unwrap();
    let got = read_frames(&mut s, 3);
    let firsts: Vec<u8> = got.iter().map(|f| f.0).collect();
    assert_eq!(
        firsts,
        [0xC1, 0x81, 0x81],
        "FIN+RSV1+text, then FIN+text twice"
    );
    assert!(
        got[0].1.len() < 200,
        "compressed to {} bytes",
        got[0].1.len()
    );
    assert_eq!(got[1].1, t.as_bytes());
    assert_eq!(got[2].1, b"below the threshold");
    // Our own compressed frame, sent back, inflates to the text.
    s.write_all(&frame(0xC1, &got[0].1)).unwrap();
    assert_eq!(wait_msg(&srx), (MessageKind::Text, t.into_bytes()));
    s.write_all(&frame(0x88, &close_body(1000, b""))).unwrap();
    let rest = common::raw::frames(&read_to_end(&mut s));
    assert_eq!(rest, [(0x88, close_body(1000, b""))]);
    assert_eq!(wait_close(&srx).0, 1000);
    server.shutdown(WAIT).unwrap();
}

/// 16 MiB of zeros compress to ~16 KiB: inflating it past `max_message_size` closes 1009 and
/// tells the receiving host, in either role, and nothing is delivered.
#[test]
fn decompression_bomb_closes_1009_in_both_roles() {
    let small = Limits {
        max_message_size: 1 << 20,
        ..Limits::default()
    };
    let bomb = vec![0u8; 16 << 20];

    // Client sends, server refuses.
    let (server, srx) = recording_server(
        false,
        ServerConfig {
            limits: small.clone(),
            ..server_config(Deflate::on())
        },
    );
    let (ch, crx) = recorder(false);
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let client = Client::connect(&url, &client_config(Deflate::on()), ch).unwrap();
    let conn = wait_open(&crx);
    wait_open(&srx);
    conn.send_binary(&bomb).unwrap();
    let e = wait_error(&srx);
    assert_eq!(e.kind, ErrorKind::MessageTooBig, "{e:?}");
    assert!(e.message.contains("inflates beyond 1048576"), "{e:?}");
    assert_eq!(wait_close(&crx).0, 1009);
    assert_eq!(wait_close(&srx).0, 1009);
    drop(client);
    server.shutdown(WAIT).unwrap();

    // Server sends, client refuses.
    let (server, srx) = recording_server(false, server_config(Deflate::on()));
    let (ch, crx) = recorder(false);
    let config = ClientConfig {
        limits: small,
        ..client_config(Deflate::on())
    };
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let _client = Client::connect(&url, &config, ch).unwrap();
    wait_open(&crx);
    wait_open(&srx).send_binary(&bomb).unwrap();
    let e = wait_error(&crx);
    assert_eq!(e.kind, ErrorKind::MessageTooBig, "{e:?}");
    assert_eq!(wait_close(&srx).0, 1009);
    assert_eq!(wait_close(&crx).0, 1009);
    server.shutdown(WAIT).unwrap();
}

/// Compressed data that does not inflate closes 1007; RSV1 where no extension was agreed
/// (the server has compression on, the client did not offer it) closes 1002.
#[test]
fn corrupt_data_1007_and_rsv1_without_negotiation_1002() {
    let cases = [
        (
            "Sec-WebSocket-Extensions: permessage-deflate\r\n",
            1007u16,
            "compressed",
        ),
        ("", 1002, "RSV1"),
    ];
    for (offer, code, words) in cases {
        let (server, srx) = recording_server(false, server_config(Deflate::on()));
        let (mut s, head) = upgrade_with(server.port(), offer);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        wait_open(&srx);
        // 0xff: a final block of the reserved type 3, invalid DEFLATE.
        s.write_all(&frame(0xC2, &[0xff, 0xff, 0xff])).unwrap();
        let got = common::raw::frames(&read_to_end(&mut s));
        assert_eq!(got.len(), 1, "{got:x?}");
        assert_eq!((got[0].0, &got[0].1[..2]), (0x88, &code.to_be_bytes()[..]));
        let e = wait_error(&srx);
        assert!(e.message.contains(words), "{offer:?}: {e:?}");
        assert_eq!(wait_close(&srx).0, code);
        server.shutdown(WAIT).unwrap();
    }
}

#[test]
fn malformed_offer_gets_400_and_bad_settings_are_refused() {
    let (server, _srx) = recording_server(false, server_config(Deflate::on()));
    let (_s, head) = upgrade_with(
        server.port(),
        "Sec-WebSocket-Extensions: permessage-deflate; =\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    server.shutdown(WAIT).unwrap();

    let bad = Deflate {
        server_max_window_bits: 16,
        ..Deflate::on()
    };
    let e = wss::Server::bind("127.0.0.1:0", server_config(bad), recorder(false).0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message.contains("server_max_window_bits"), "{e:?}");
    let bad = Deflate {
        level: 0,
        ..Deflate::on()
    };
    let e =
        Client::connect("ws://127.0.0.1:9/", &client_config(bad), recorder(false).0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message.contains("level"), "{e:?}");
    // Off, the same settings are not looked at.
    let off = Deflate {
        enabled: false,
        ..bad
    };
    let server = wss::Server::bind("127.0.0.1:0", server_config(off), recorder(false).0).unwrap();
    server.shutdown(WAIT).unwrap();
}

/// A large message is compressed a step per turn of its I/O thread, the other connections on
/// that thread served in between (whole, 16 MiB held the thread for ~300 ms). Deterministic:
/// B's message waits in its socket (B paused from `on_open`) until A's 4 MiB message is in;
/// the server then queues A's compressed echo and resumes B. B's echo is written before the
/// first byte of A's (and loopback puts a write into the peer's buffer at once), so when A
/// sees its first byte, B's echo is already there to read.
#[test]
fn a_large_compressed_message_does_not_hold_its_io_thread() {
    use std::io::Read;
    use std::sync::{mpsc, Arc, Mutex};
    use wss::{Connection, Handler};

    struct H {
        b: Mutex<Option<Connection>>,
        b_open: Mutex<mpsc::Sender<()>>,
    }
    impl Handler for H {
        fn on_open(&self, conn: &Connection) {
            if conn.info().deflate.is_none() {
                conn.pause_reading();
                *self.b.lock().unwrap() = Some(conn.clone());
                self.b_open.lock().unwrap().send(()).unwrap();
            }
        }
        fn on_message(&self, conn: &Connection, _kind: MessageKind, data: &[u8]) {
            let text = std::str::from_utf8(data).unwrap();
            conn.send_text(text).unwrap();
            if conn.info().deflate.is_some() {
                let b = self.b.lock().unwrap();
                b.as_ref().expect("B opened first").resume_reading();
            }
        }
    }

    let (tx, b_open) = mpsc::channel();
    let handler = Arc::new(H {
        b: Mutex::new(None),
        b_open: Mutex::new(tx),
    });
    let config = ServerConfig {
        io_threads: 1,
        limits: Limits {
            max_message_size: 8 << 20,
            ..Default::default()
        },
        ..server_config(Deflate::on())
    };
    let server = local_server(config, handler);
    let (mut b, head) = upgrade_with(server.port(), "");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    b_open.recv_timeout(WAIT).expect("B's on_open");
    b.write_all(&frame(0x81, b"b1")).unwrap();

    let offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
    let (mut a, head) = upgrade_with(server.port(), offer);
    assert!(head.contains("permessage-deflate"), "{head}");
    let big = words(4 << 20);
    a.write_all(&frame(0x81, big.as_bytes())).unwrap();
    let mut first = [0u8; 1];
    a.read_exact(&mut first).unwrap();
    assert_eq!(first[0], 0xc1, "A's echo: FIN, RSV1 (compressed), text");

    b.set_nonblocking(true).unwrap();
    let mut got = [0u8; 4];
    match b.read(&mut got) {
        Ok(4) => assert_eq!(got, [0x81, 2, b'b', b'1'], "B's echo"),
        other => panic!("B's echo was not written before A's compressed echo began: {other:?}"),
    }
    drop((a, b));
    server.shutdown(WAIT).unwrap();
}

/// Several large messages queued at once, each compressed over more than one turn: each is
/// sent in order, the next one's steps starting on the turn after the last one finished (a
/// pump that finished one message and met the next stopped without asking for another turn).
#[test]
fn large_compressed_messages_queued_together_all_go_in_order() {
    let (server, srx) = recording_server(false, server_config(Deflate::on()));
    let (ch, crx) = recorder(false);
    let url = format!("ws://127.0.0.1:{}/", server.port());
    let client = Client::connect(&url, &client_config(Deflate::on()), ch).unwrap();
    let conn = wait_open(&crx);
    let sconn = wait_open(&srx);
    // 300,000 bytes: two steps each (256 KiB, then the rest).
    let msgs: Vec<String> = (0..4)
        .map(|i| format!("{i}{}", words(300_000 - 1)))
        .collect();
    for m in &msgs {
        sconn.send_text(m).unwrap();
    }
    for m in &msgs {
        assert_eq!(wait_msg(&crx), (MessageKind::Text, m.clone().into_bytes()));
    }
    client.close(1000, "", WAIT).unwrap();
    wait_close(&srx);
    drop(conn);
    assert_no_errors(&srx);
    assert_no_errors(&crx);
    server.shutdown(WAIT).unwrap();
}
