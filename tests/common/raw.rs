//! A scripted raw WebSocket client for wire-level checks: the upgrade by hand (with any extra
//! request headers), masked frames with any first byte (RSV bits included), and the server's
//! frames parsed back.

use std::io::{ErrorKind as IoKind, Read, Write};
use std::net::TcpStream;

use super::WAIT;

/// The `Sec-WebSocket-Key` every raw upgrade sends.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const MASK: [u8; 4] = [0xa1, 0x0b, 0x5c, 0x77];

/// A masked client frame: `first` is the first byte (FIN, RSV1-3, opcode).
pub fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xffff => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&MASK);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    f
}

/// A close frame's body.
pub fn close_body(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut b = code.to_be_bytes().to_vec();
    b.extend_from_slice(reason);
    b
}

/// Send an upgrade request to 127.0.0.1:`port` with `extra` header lines (each ending in
/// CRLF) and read the response head. Returns the stream and the head.
pub fn upgrade_with(port: u16, extra: &str) -> (TcpStream, String) {
    upgrade_stream(TcpStream::connect(("127.0.0.1", port)).unwrap(), extra)
}

/// [`upgrade_with`] on a stream the caller connected (e.g. with socket options set first).
pub fn upgrade_stream(mut s: TcpStream, extra: &str) -> (TcpStream, String) {
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_nodelay(true).unwrap();
    let req = format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break, // closed: the caller looks at what came
        }
    }
    (s, String::from_utf8_lossy(&head).into_owned())
}

/// Everything the server sends until it closes (a reset counts as closed).
pub fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut) => {
                panic!("the server did not close within {WAIT:?}; got {out:x?}")
            }
            Err(e) if e.kind() == IoKind::Interrupted => {}
            Err(_) => return out,
        }
    }
}

/// Read until `n` whole frames have arrived; returns them as [`frames`] does.
pub fn read_frames(s: &mut TcpStream, n: usize) -> Vec<(u8, Vec<u8>)> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let (got, rest) = parse(&bytes);
        if got.len() >= n {
            assert!(rest == 0, "more than {n} frames: {got:x?}");
            return got;
        }
        match s.read(&mut buf) {
            Ok(0) => panic!("the server closed after {} frames: {got:x?}", got.len()),
            Ok(k) => bytes.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == IoKind::Interrupted => {}
            Err(e) => panic!("reading frames: {e} after {got:x?}"),
        }
    }
}

/// The server's (unmasked) frames: (first byte, payload); fails on a trailing partial frame.
pub fn frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let (out, rest) = parse(bytes);
    assert_eq!(rest, 0, "trailing partial frame in {bytes:x?}");
    out
}

/// The complete frames at the start of `bytes`, and how many bytes follow them.
pub fn parse(mut bytes: &[u8]) -> (Vec<(u8, Vec<u8>)>, usize) {
    let mut out = Vec::new();
    while bytes.len() >= 2 {
        let (hdr, len) = match bytes[1] & 0x7f {
            126 if bytes.len() >= 4 => (4, u16::from_be_bytes([bytes[2], bytes[3]]) as usize),
            127 if bytes.len() >= 10 => (
                10,
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
            ),
            126 | 127 => break,
            n => (2, n as usize),
        };
        if bytes.len() < hdr + len {
            break;
        }
        out.push((bytes[0], bytes[hdr..hdr + len].to_vec()));
        bytes = &bytes[hdr + len..];
    }
    (out, bytes.len())
}
