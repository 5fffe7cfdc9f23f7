//! Strict failure behaviour (RFC 6455 sections 5, 7.1.7, 8.1) against a scripted raw peer: each
//! violation, sent right behind a valid message, whole and chopped at every byte boundary,
//! closes with the right code *after* the echo of the valid message, and the host is told in
//! plain words. Also: invalid UTF-8 fails before the frame carrying it is complete, and a peer
//! that floods pings without reading is held to the send-queue bound.

mod common;

use std::io::{ErrorKind as IoKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::raw::{close_body, frame, frames, read_to_end};
use common::*;
use wss::{ErrorKind, Limits, Server, ServerConfig};

/// A raw connection upgraded to WebSocket (the 101 head read).
fn raw_ws(port: u16) -> TcpStream {
    upgrade(TcpStream::connect(("127.0.0.1", port)).unwrap())
}

/// A TCP connection to 127.0.0.1:`port` whose receive buffer is small (set before connecting,
/// so the advertised window stays small): a peer that does not read fills up quickly.
fn small_window(port: u16) -> TcpStream {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor this function owns until it is wrapped.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        let r = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(r, 0);
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let r = libc::connect(
            fd,
            &addr as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(r, 0, "connect: {}", std::io::Error::last_os_error());
        TcpStream::from_raw_fd(fd)
    }
}

/// Upgrade a raw connection to WebSocket (the 101 head read).
fn upgrade(s: TcpStream) -> TcpStream {
    let (s, head) = raw::upgrade_stream(s, "");
    assert!(head.starts_with("HTTP/1.1 101"), "no 101: {head}");
    s
}

/// The length of the complete frames at the start of `bytes`, if it ends on a frame boundary.
fn complete_frames(bytes: &[u8]) -> Option<usize> {
    (raw::parse(bytes).1 == 0).then_some(bytes.len())
}

/// One violation: the bytes, the close code, and words the host's error must contain.
struct Case {
    name: &'static str,
    bad: Vec<u8>,
    code: u16,
    says: &'static str,
}

fn cases() -> Vec<Case> {
    let case = |name, bad: Vec<u8>, code, says| Case {
        name,
        bad,
        code,
        says,
    };
    vec![
        case("RSV1 without extension", frame(0xC1, b"x"), 1002, "RSV1"),
        case("RSV2", frame(0xA2, b"x"), 1002, "RSV2/RSV3"),
        case("RSV3", frame(0x92, b"x"), 1002, "RSV2/RSV3"),
        case(
            "reserved data opcode",
            frame(0x83, b"x"),
            1002,
            "invalid opcode 3",
        ),
        case(
            "reserved control opcode",
            frame(0x8C, b""),
            1002,
            "invalid opcode 12",
        ),
        case(
            "continuation with nothing to continue",
            frame(0x80, b"x"),
            1002,
            "nothing to continue",
        ),
        case(
            "data frame inside a fragmented message",
            [frame(0x01, b"a"), frame(0x82, b"b")].concat(),
            1002,
            "inside a fragmented",
        ),
        case(
            "oversize ping",
            frame(0x89, &[7; 126]),
            1002,
            "control frame of 126 bytes",
        ),
        case(
            "fragmented ping",
            frame(0x09, b"p"),
            1002,
            "fragmented control frame",
        ),
        case(
            "unmasked frame",
            vec![0x82, 0x01, 0x00],
            1002,
            "unmasked frame",
        ),
        case(
            "invalid UTF-8 in the first frame",
            frame(0x81, &[b'a', 0xff, b'b']),
            1007,
            "invalid UTF-8",
        ),
        case(
            "invalid UTF-8 in a later fragment",
            [frame(0x01, b"fine"), frame(0x80, &[0xc3, 0x28])].concat(),
            1007,
            "invalid UTF-8",
        ),
        case(
            "UTF-8 sequence split across frames, then broken",
            [frame(0x01, &[b'a', 0xe2, 0x82]), frame(0x80, b"A")].concat(),
            1007,
            "invalid UTF-8",
        ),
        case(
            "UTF-8 truncated at the end of the message",
            [frame(0x01, b"ok"), frame(0x80, &[0xe2, 0x82])].concat(),
            1007,
            "ends inside a character",
        ),
        case(
            "close with a 1-byte body",
            frame(0x88, &[0x03]),
            1002,
            "1-byte body",
        ),
        case(
            "close with code 1005",
            frame(0x88, &close_body(1005, b"")),
            1002,
            "close code 1005",
        ),
        case(
            "close with code 1006",
            frame(0x88, &close_body(1006, b"")),
            1002,
            "close code 1006",
        ),
        case(
            "close with code 2999",
            frame(0x88, &close_body(2999, b"")),
            1002,
            "close code 2999",
        ),
        case(
            "close with code 5000",
            frame(0x88, &close_body(5000, b"")),
            1002,
            "close code 5000",
        ),
        case(
            "close with an invalid UTF-8 reason",
            frame(0x88, &close_body(1000, &[0xe2, 0x82, 0x00, 0x00])),
            1007,
            "close reason",
        ),
    ]
}

/// Send a valid text message and then `bad`, split at `cut` (0: all in one write); expect the
/// echo, then our close with `code`, then the end, and the host told.
fn run(server: &Server, rx: &Events, c: &Case, cut: usize) {
    let mut wire = frame(0x81, b"hello");
    wire.extend_from_slice(&c.bad);
    let mut s = raw_ws(server.port());
    if cut == 0 {
        s.write_all(&wire).unwrap();
    } else {
        s.write_all(&wire[..cut]).unwrap();
        s.write_all(&wire[cut..]).unwrap();
    }
    let got = frames(&read_to_end(&mut s));
    let what = format!("{} (cut at {cut})", c.name);
    assert_eq!(
        got.first(),
        Some(&(0x81, b"hello".to_vec())),
        "{what}: echo first: {got:x?}"
    );
    let (op, body) = got.last().unwrap();
    assert_eq!(*op, 0x88, "{what}: ends with our close: {got:x?}");
    assert_eq!(u16::from_be_bytes([body[0], body[1]]), c.code, "{what}");
    assert_eq!(got.len(), 2, "{what}: nothing between: {got:x?}");
    let err = wait_error(rx);
    assert!(
        err.message.contains(c.says),
        "{what}: '{}' not in: {err}",
        c.says
    );
    assert!(
        !err.message.contains("{") && !err.message.contains("Incomplete"),
        "{what}: {err}"
    );
    let kind = if c.code == 1009 {
        ErrorKind::MessageTooBig
    } else {
        ErrorKind::Protocol
    };
    assert_eq!(err.kind, kind, "{what}");
    assert_eq!(wait_close(rx).0, c.code, "{what}");
}

#[test]
fn violations_close_after_the_echo_whole_and_chopped() {
    let (server, rx) = recording_server(true, ServerConfig::default());
    for c in cases() {
        let len = frame(0x81, b"hello").len() + c.bad.len();
        for cut in 0..len {
            run(&server, &rx, &c, cut);
        }
    }
}

#[test]
fn too_many_frames_in_one_message_is_1009() {
    let limits = Limits {
        max_frames_per_message: 10,
        ..Default::default()
    };
    let (server, rx) = recording_server(
        true,
        ServerConfig {
            limits,
            ..Default::default()
        },
    );
    let mut bad = frame(0x02, b"");
    for _ in 0..10 {
        bad.extend(frame(0x00, b""));
    }
    let c = Case {
        name: "11 frames",
        bad,
        code: 1009,
        says: "more than 10 frames",
    };
    run(&server, &rx, &c, 0);
    run(&server, &rx, &c, 17);
}

#[test]
fn invalid_utf8_fails_before_its_frame_is_complete() {
    let (server, rx) = recording_server(true, ServerConfig::default());
    let mut s = raw_ws(server.port());
    // A 1,000-byte text frame of which only the header and an invalid start arrive.
    let mut payload = b"abc".to_vec();
    payload.push(0xff);
    payload.resize(1000, b'a');
    let f = frame(0x81, &payload);
    s.write_all(&f[..4 + 4 + 8]).unwrap();
    let got = frames(&read_to_end(&mut s));
    assert_eq!(got.len(), 1, "{got:x?}");
    assert_eq!(got[0].0, 0x88);
    assert_eq!(u16::from_be_bytes([got[0].1[0], got[0].1[1]]), 1007);
    assert_eq!(
        wait_error(&rx).message,
        "peer sent invalid UTF-8 in a text message"
    );
    assert_eq!(wait_close(&rx).0, 1007);
}

#[test]
fn ping_flood_without_reading_is_bounded_and_reported() {
    const LIMIT: usize = 64 << 10;
    let (h, rx) = recorder(true);
    let server = local_server(
        ServerConfig {
            io_threads: 1,
            limits: Limits {
                send_queue_limit: LIMIT,
                ..Default::default()
            },
            ..Default::default()
        },
        h,
    );
    let mut flooder = upgrade(small_window(server.port()));
    let sconn = wait_open(&rx);
    // Pings with the largest payload, never reading the pongs, until the server stops taking
    // them (our writes block for 2 s: TCP backpressure) or 64 MiB went out.
    let ping = frame(0x89, &[0x5a; 125]);
    let burst: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 512)
        .collect();
    flooder
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut sent = 0usize;
    let stalled = loop {
        // Whole pings only: a write cut short goes on where it stopped.
        match flooder.write(&burst[sent % burst.len()..]) {
            Ok(n) => sent += n,
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => break true,
            Err(e) => panic!("flooding failed: {e}"),
        }
        if sent > 64 << 20 {
            break false;
        }
    };
    assert!(
        stalled,
        "the server kept reading pings it could not answer ({sent} bytes)"
    );
    // The host was told, and what the server holds for this peer stayed within the bound.
    let err = wait_error(&rx);
    assert_eq!(err.kind, ErrorKind::Backpressure, "{err}");
    assert!(err.message.contains("pings faster than it reads"), "{err}");
    assert!(
        sconn.buffered_amount() <= LIMIT,
        "{}",
        sconn.buffered_amount()
    );
    // Another connection on the same (only) I/O thread is served meanwhile.
    let (other, crx) = ws_client(&server);
    other.connection().send_text("still here").unwrap();
    assert_eq!(wait_msg(&crx).1, b"still here");
    drop(other);
    // Once the flooder reads, the server answers and reads on: a message sent now is echoed
    // (behind pongs only).
    let reader = std::thread::spawn({
        let mut s = flooder.try_clone().unwrap();
        move || {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = s.read(&mut buf).expect("the server kept the connection");
                assert!(n > 0, "the server closed the connection");
                got.extend_from_slice(&buf[..n]);
                if let Some(at) = complete_frames(&got) {
                    let f = frames(&got[..at]);
                    if f.iter().any(|f| f.0 != 0x8A) {
                        return f;
                    }
                }
            }
        }
    });
    flooder.set_write_timeout(Some(WAIT)).unwrap();
    // Finish the ping the stall cut short, then the message.
    let rest = (ping.len() - sent % ping.len()) % ping.len();
    flooder.write_all(&ping[ping.len() - rest..]).unwrap();
    flooder.write_all(&frame(0x82, b"end")).unwrap();
    let got = reader.join().unwrap();
    assert_eq!(
        got.last(),
        Some(&(0x82, b"end".to_vec())),
        "no echo after the flood"
    );
    drop(flooder);
    // The other client's clean close and the flooder's end without one.
    let mut codes = [wait_close(&rx).0, wait_close(&rx).0];
    codes.sort();
    assert_eq!(codes, [1000, 1006]);
}
