//! The message layer over bytes: checks, assembly, limits, UTF-8 as it arrives, the extension
//! seam, and random input.

use bytes::Bytes;

use super::ext::{ExtError, MessageExtension};
use super::reader::{Event, Reader, Violation};
use super::writer::Writer;
use super::{Limits, Role};

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame: `first` byte (FIN, RSV, opcode) and the payload, masked.
fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n < 65536 => {
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

/// Everything a server-role reader makes of `wire` fed in pieces of `step` bytes.
fn read_all(
    wire: &[u8],
    step: usize,
    limits: Limits,
    mut ext: Option<&mut dyn MessageExtension>,
) -> (Vec<Event>, Option<Violation>) {
    let mut r = Reader::new(Role::Server, limits, Vec::new());
    let mut events = Vec::new();
    for piece in wire.chunks(step.max(1)) {
        r.feed(piece);
        loop {
            match r.next(ext.as_deref_mut()) {
                Ok(Some(e)) => events.push(e),
                Ok(None) => break,
                Err(v) => return (events, Some(v)),
            }
        }
    }
    (events, None)
}

/// The violation `wire` causes, the same whole and at every chopping.
fn violation(wire: &[u8]) -> Violation {
    let (_, whole) = read_all(wire, wire.len(), Limits::default(), None);
    let whole = whole.expect("a violation");
    for step in 1..wire.len() {
        let (_, v) = read_all(wire, step, Limits::default(), None);
        assert_eq!(v.as_ref(), Some(&whole), "step {step}");
    }
    whole
}

fn text_event(s: &str) -> Event {
    Event::Message {
        text: true,
        data: Bytes::copy_from_slice(s.as_bytes()),
        rsv1: false,
    }
}

#[test]
fn fragmented_text_with_a_ping_between_fragments() {
    let mut wire = masked(0x01, "h€".as_bytes());
    wire.extend(masked(0x89, b"p"));
    wire.extend(masked(0x00, b"l"));
    wire.extend(masked(0x80, b"lo"));
    for step in 1..=wire.len() {
        let (events, v) = read_all(&wire, step, Limits::default(), None);
        assert_eq!(v, None);
        assert_eq!(
            events,
            [Event::Ping(Bytes::from_static(b"p")), text_event("h€llo")],
            "step {step}"
        );
    }
}

#[test]
fn protocol_violations_give_1002_with_plain_messages() {
    let cases: &[(Vec<u8>, &str)] = &[
        (masked(0xC1, b"x"), "RSV1"),
        (masked(0xA1, b"x"), "RSV2/RSV3"),
        (masked(0x83, b"x"), "invalid opcode 3"),
        (masked(0x8B, b"x"), "invalid opcode 11"),
        (masked(0x80, b"x"), "nothing to continue"),
        (
            [masked(0x01, b"a"), masked(0x81, b"b")].concat(),
            "inside a fragmented",
        ),
        (masked(0x89, &[0; 126]), "control frame of 126 bytes"),
        (masked(0x09, b""), "fragmented control frame"),
        (vec![0x81, 0x01, b'x'], "unmasked frame"),
        (masked(0x88, &[3]), "1-byte body"),
        (masked(0x88, &1005u16.to_be_bytes()), "close code 1005"),
        (masked(0x88, &999u16.to_be_bytes()), "close code 999"),
        (masked(0x88, &2000u16.to_be_bytes()), "close code 2000"),
    ];
    for (wire, what) in cases {
        let v = violation(wire);
        assert_eq!(v.code, 1002, "{what}: {v:?}");
        assert!(v.message.contains(what), "'{what}' not in '{}'", v.message);
        assert!(!v.message.contains('{'), "debug formatting: {}", v.message);
    }
}

#[test]
fn invalid_utf8_fails_as_soon_as_it_is_in() {
    // Single frame, header says 100 bytes, only the bad start has arrived.
    let mut payload = b"ok ".to_vec();
    payload.push(0xff);
    payload.resize(100, b'a');
    let wire = masked(0x81, &payload);
    let mut r = Reader::new(Role::Server, Limits::default(), Vec::new());
    r.feed(&wire[..2 + 4 + 4]);
    let v = r.next(None).unwrap_err();
    assert_eq!(v.code, 1007);
    assert_eq!(v.message, "peer sent invalid UTF-8 in a text message");
    // In a later fragment, split across frames, truncated at the end, in a close reason.
    let cases = [
        [masked(0x01, b"fine"), masked(0x80, &[0xc3, 0x28])].concat(),
        [masked(0x01, &[b'a', 0xe2, 0x82]), masked(0x80, &[0x41])].concat(),
        masked(0x81, &[b'a', 0xe2, 0x82]),
        [masked(0x01, b"a"), masked(0x80, &[0xf0, 0x9f])].concat(),
        masked(0x88, &[0x03, 0xe8, 0xff]),
    ];
    for wire in cases {
        assert_eq!(violation(&wire).code, 1007, "{wire:x?}");
    }
}

#[test]
fn limits_give_1009() {
    let limits = Limits {
        max_frame_size: 100,
        max_message_size: 150,
        max_frames_per_message: 3,
    };
    let over_frame = masked(0x82, &[0; 101]);
    let over_message = [masked(0x02, &[0; 100]), masked(0x80, &[0; 51])].concat();
    let many = [
        masked(0x02, b""),
        masked(0x00, b""),
        masked(0x00, b""),
        masked(0x80, b""),
    ]
    .concat();
    for (wire, what) in [
        (over_frame, "frame of 101 bytes (limit 100)"),
        (over_message, "at least 151 bytes (limit 150)"),
        (many, "more than 3 frames"),
    ] {
        let (_, v) = read_all(&wire, 1, limits, None);
        let v = v.expect("a violation");
        assert_eq!(v.code, 1009);
        assert!(v.message.contains(what), "{}", v.message);
    }
    // Exactly at the limits is fine.
    let ok = [
        masked(0x02, &[0; 100]),
        masked(0x00, b""),
        masked(0x80, &[0; 50]),
    ]
    .concat();
    let (events, v) = read_all(&ok, 7, limits, None);
    assert_eq!(v, None);
    assert_eq!(events.len(), 1);
}

#[test]
fn close_frames() {
    let (e, _) = read_all(&masked(0x88, b""), 1, Limits::default(), None);
    assert_eq!(
        e,
        [Event::Close {
            code: 1005,
            reason: String::new()
        }]
    );
    let mut body = 4001u16.to_be_bytes().to_vec();
    body.extend_from_slice("bye ü".as_bytes());
    let (e, _) = read_all(&masked(0x88, &body), 3, Limits::default(), None);
    assert_eq!(
        e,
        [Event::Close {
            code: 4001,
            reason: "bye ü".into()
        }]
    );
}

#[test]
fn client_role_refuses_masked_frames() {
    let mut r = Reader::new(Role::Client, Limits::default(), masked(0x81, b"x"));
    let v = r.next(None).unwrap_err();
    assert_eq!(v.code, 1002);
    assert!(v.message.contains("masked frame"), "{}", v.message);
    let mut r = Reader::new(Role::Client, Limits::default(), vec![0x81, 1, b'x']);
    assert_eq!(r.next(None).unwrap(), Some(text_event("x")));
}

#[test]
fn large_masked_message_round_trip() {
    let n = (16 << 20) + 5;
    let payload: Bytes = (0..n).map(|i| (i % 251) as u8).collect::<Vec<_>>().into();
    let mut w = Writer::new(Role::Client);
    w.message(false, payload.clone(), true, None).unwrap();
    let mut wire = Vec::new();
    w.flush(|b| {
        let k = b.len().min(70_000);
        wire.extend_from_slice(&b[..k]);
        Ok(k)
    })
    .unwrap();
    let limits = Limits {
        max_frame_size: 32 << 20,
        ..Limits::default()
    };
    let mut r = Reader::new(Role::Server, limits, Vec::new());
    let mut src = &wire[..];
    let got = loop {
        if let Some(e) = r.next(None).unwrap() {
            break e;
        }
        assert!(r.read_from(&mut src).unwrap() > 0, "ran out of input");
    };
    assert_eq!(
        got,
        Event::Message {
            text: false,
            data: payload,
            rsv1: false
        }
    );
}

/// The identity extension of the seam test: records each decode call.
#[derive(Default)]
struct Identity {
    decoded: Vec<(usize, bool)>,
}

impl MessageExtension for Identity {
    fn encode(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<bool, ExtError> {
        out.extend_from_slice(payload);
        Ok(true)
    }
    fn decode(
        &mut self,
        piece: &[u8],
        fin: bool,
        max: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ExtError> {
        self.decoded.push((piece.len(), fin));
        if out.len() + piece.len() > max {
            return Err(ExtError::too_big(max));
        }
        out.extend_from_slice(piece);
        Ok(())
    }
}

#[test]
fn extension_seam() {
    // RSV1 accepted with an extension, decode called per frame, result validated as text.
    let wire = [masked(0x41, b"he"), masked(0x00, b"l"), masked(0x80, b"lo")].concat();
    let mut ext = Identity::default();
    let (events, v) = read_all(&wire, 3, Limits::default(), Some(&mut ext));
    assert_eq!(v, None);
    assert_eq!(
        events,
        [Event::Message {
            text: true,
            data: Bytes::from_static(b"hello"),
            rsv1: true
        }]
    );
    assert_eq!(ext.decoded, [(2, false), (1, false), (2, true)]);
    // Without one it is a protocol error; RSV1 on a continuation is one either way.
    assert_eq!(
        read_all(&wire, 99, Limits::default(), None).1.unwrap().code,
        1002
    );
    let bad = [masked(0x01, b"a"), masked(0xC0, b"b")].concat();
    let mut ext = Identity::default();
    assert_eq!(
        read_all(&bad, 99, Limits::default(), Some(&mut ext))
            .1
            .unwrap()
            .code,
        1002
    );
    // The limit applies to the decoded size; invalid UTF-8 in the decoded text is 1007.
    let limits = Limits {
        max_message_size: 4,
        ..Limits::default()
    };
    let mut ext = Identity::default();
    let v = read_all(&masked(0xC2, b"12345"), 99, limits, Some(&mut ext))
        .1
        .unwrap();
    assert_eq!(v.code, 1009);
    let mut ext = Identity::default();
    let v = read_all(
        &masked(0xC1, &[0xff]),
        99,
        Limits::default(),
        Some(&mut ext),
    )
    .1
    .unwrap();
    assert_eq!(v.code, 1007);
    // The writer sends what the extension encoded with RSV1, unless told not to compress.
    let mut w = Writer::new(Role::Server);
    let mut ext = Identity::default();
    w.message(true, Bytes::from_static(b"abc"), true, Some(&mut ext))
        .unwrap();
    w.message(true, Bytes::from_static(b"abc"), false, Some(&mut ext))
        .unwrap();
    let mut wire = Vec::new();
    w.flush(|b| {
        wire.extend_from_slice(b);
        Ok(b.len())
    })
    .unwrap();
    assert_eq!(wire, [0xC1, 3, b'a', b'b', b'c', 0x81, 3, b'a', b'b', b'c']);
}

#[test]
fn random_bytes_never_panic() {
    // A fixed-seed xorshift: reproducible, no dependency.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let limits = Limits {
        max_frame_size: 300,
        max_message_size: 600,
        max_frames_per_message: 8,
    };
    for round in 0..3000 {
        let len = (rnd() % 200) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
        // Bias towards plausible headers so the deeper states are reached too.
        if round % 2 == 0 && len > 2 {
            data[0] = [0x81, 0x01, 0x80, 0x89, 0x88, 0xC1, 0x02][round % 7];
            data[1] = 0x80 | (data[1] & 0x3f);
        }
        let step = 1 + (rnd() % 16) as usize;
        for role in [Role::Server, Role::Client] {
            for with_ext in [false, true] {
                let mut ext = Identity::default();
                let mut r = Reader::new(role, limits, Vec::new());
                for piece in data.chunks(step) {
                    r.feed(piece);
                    while let Ok(Some(_)) =
                        r.next(with_ext.then_some(&mut ext as &mut dyn MessageExtension))
                    {
                    }
                }
            }
        }
    }
}
