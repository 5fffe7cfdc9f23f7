//! Codec round trips, window bits, context takeover, bombs and corrupt input.

use super::*;

fn params(snct: bool, cnct: bool, sbits: u8, cbits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: sbits,
        client_max_window_bits: cbits,
    }
}

fn pair(p: &DeflateParams, cfg: &Deflate) -> (PerMessageDeflate, PerMessageDeflate) {
    (
        PerMessageDeflate::new(Role::Server, p, cfg),
        PerMessageDeflate::new(Role::Client, p, cfg),
    )
}

/// Text-like data with repeats at every distance up to 32 KiB.
fn sample(n: usize, seed: u32) -> Vec<u8> {
    let words = [&b"alpha "[..], b"beta ", b"gamma ", b"delta ", b"epsilon "];
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        if x % 7 == 0 && v.len() > 300 {
            let back = (x as usize >> 8) % v.len().min(32 << 10) + 1;
            let start = v.len() - back;
            let run: Vec<u8> = v[start..(start + 40).min(v.len())].to_vec();
            v.extend_from_slice(&run);
        } else {
            v.extend_from_slice(words[(x >> 3) as usize % words.len()]);
            v.push(b'0' + (x % 10) as u8);
        }
    }
    v.truncate(n);
    v
}

/// Sends `msg` from `tx` to `rx`, delivering the compressed form in `pieces` parts.
fn send(tx: &mut PerMessageDeflate, rx: &mut PerMessageDeflate, msg: &[u8], pieces: usize) -> bool {
    let mut wire = Vec::new();
    let compressed = tx.encode(msg, &mut wire);
    if !compressed {
        return false;
    }
    let mut got = Vec::new();
    let step = wire.len().div_ceil(pieces.max(1)).max(1);
    let chunks: Vec<&[u8]> = if wire.is_empty() {
        vec![&[]]
    } else {
        wire.chunks(step).collect()
    };
    let last = chunks.len() - 1;
    for (i, c) in chunks.into_iter().enumerate() {
        rx.decode(c, i == last, usize::MAX, &mut got).unwrap();
    }
    assert!(got == msg, "round trip of {} bytes", msg.len());
    true
}

#[test]
fn round_trips_every_parameter_combination_both_ways() {
    let cfg = Deflate {
        threshold: 0,
        ..Deflate::on()
    };
    for snct in [false, true] {
        for cnct in [false, true] {
            for bits in [8, 9, 12, 15] {
                let p = params(snct, cnct, bits, 23 - bits);
                let (mut server, mut client) = pair(&p, &cfg);
                for (i, n) in [1usize, 100, 5000, 70_000, 1 << 20].into_iter().enumerate() {
                    let m = sample(n, i as u32);
                    for pieces in [1, 3] {
                        send(&mut server, &mut client, &m, pieces);
                        send(&mut client, &mut server, &m, pieces);
                    }
                }
                assert_eq!(server.holds_state(), (!snct, !cnct), "{p:?}");
                assert_eq!(client.holds_state(), (!cnct, !snct), "{p:?}");
            }
        }
    }
}

#[test]
fn context_takeover_shrinks_repeated_messages_and_no_context_does_not() {
    let cfg = Deflate {
        threshold: 0,
        ..Deflate::on()
    };
    let m = sample(2000, 9);
    let sizes = |p: DeflateParams| {
        let (mut s, _) = pair(&p, &cfg);
        let mut out = Vec::new();
        assert!(s.encode(&m, &mut out));
        let first = out.len();
        assert!(s.encode(&m, &mut out));
        (first, out.len())
    };
    let (first, second) = sizes(params(false, false, 15, 15));
    assert!(second < first / 4, "{first} then {second}");
    let (first, second) = sizes(params(true, false, 15, 15));
    assert_eq!(first, second);
}

#[test]
fn small_window_peers_decode_what_we_send() {
    // Our 8-bit side compresses with 9 (zlib's quirk); an 8-bit inflater must still take it.
    let cfg = Deflate {
        threshold: 0,
        ..Deflate::on()
    };
    let p = params(false, false, 8, 8);
    let (mut server, mut client) = pair(&p, &cfg);
    assert_eq!(server.tx.window_bits, 9);
    assert_eq!(client.rx.window_bits, 8);
    for i in 0..20 {
        send(&mut server, &mut client, &sample(3000, i), 1);
    }
    // And a peer with a bigger window than agreed is refused, not misread.
    let (mut wide, _) = pair(&params(false, false, 15, 15), &cfg);
    let (_, mut narrow) = pair(&params(false, false, 9, 9), &cfg);
    let mut wire = Vec::new();
    let mut m = sample(20_000, 1);
    let head = m[..3000].to_vec();
    m.extend_from_slice(&head);
    assert!(wide.encode(&m, &mut wire));
    let mut got = Vec::new();
    assert!(matches!(
        narrow.decode(&wire, true, usize::MAX, &mut got),
        Err(DeflateError::Invalid(_))
    ));
}

#[test]
fn below_threshold_empty_and_incompressible_messages_go_as_they_are() {
    let cfg = Deflate {
        threshold: 100,
        ..Deflate::on()
    };
    let (mut s, mut c) = pair(&params(false, false, 15, 15), &cfg);
    let mut out = vec![1, 2, 3];
    assert!(!s.encode(&[], &mut out));
    assert!(out.is_empty());
    assert!(!s.encode(&[b'a'; 99], &mut out));
    assert!(s.encode(&[b'a'; 100], &mut out));
    // Random bytes do not shrink: sent raw, and the compressor forgets them (reset), so the
    // next compressed message still decodes on a peer that never saw them.
    let mut x = 12345u64;
    let noise: Vec<u8> = (0..5000)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect();
    assert!(!s.encode(&noise, &mut out));
    assert!(send(&mut s, &mut c, &sample(1000, 3), 1));
    // An empty compressed message (RFC 7692 §7.2.3.6: a single 0x00 byte) decodes to nothing.
    let mut got = Vec::new();
    c.decode(&[0x00], true, 0, &mut got).unwrap();
    assert!(got.is_empty());
}

#[test]
fn a_decompression_bomb_fails_at_max_without_allocating_past_it() {
    // 16 MiB of zeros compresses to ~16 KiB.
    let cfg = Deflate {
        threshold: 0,
        ..Deflate::on()
    };
    let (mut s, _) = pair(&params(false, false, 15, 15), &cfg);
    let zeros = vec![0u8; 16 << 20];
    let mut wire = Vec::new();
    assert!(s.encode(&zeros, &mut wire));
    assert!(wire.len() < 64 << 10, "{}", wire.len());
    let max = 1 << 20;
    for pieces in [1, 16] {
        let (_, mut c) = pair(&params(false, false, 15, 15), &cfg);
        let mut out = Vec::new();
        let step = wire.len().div_ceil(pieces);
        let mut result = Ok(());
        for (i, piece) in wire.chunks(step).enumerate() {
            result = c.decode(piece, (i + 1) * step >= wire.len(), max, &mut out);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(DeflateError::TooBig));
        assert!(out.capacity() <= max + 1, "grew to {}", out.capacity());
    }
    // Exactly at the limit passes.
    let (mut s, mut c) = pair(&params(false, false, 15, 15), &cfg);
    let m = vec![0u8; max];
    assert!(s.encode(&m, &mut wire));
    let mut out = Vec::new();
    c.decode(&wire, true, max, &mut out).unwrap();
    assert_eq!(out.len(), max);
}

#[test]
fn corrupt_input_is_an_error_not_a_panic() {
    let cfg = Deflate::on();
    for bad in [
        &[0xff, 0xff, 0xff][..],
        &[0x07],
        &[0x02, 0xff, 0xff, 0xff, 0xff],
    ] {
        let (_, mut c) = pair(&params(false, false, 15, 15), &cfg);
        let mut out = Vec::new();
        let r = c.decode(bad, true, 1 << 20, &mut out);
        assert!(matches!(r, Err(DeflateError::Invalid(_))), "{bad:?}: {r:?}");
    }
}

#[test]
fn a_final_block_from_the_peer_starts_a_fresh_stream() {
    // A peer may end a message with BFINAL (zlib's Z_FINISH): "hello" then "hello" again.
    let mut z = Compressor::new_with_config(DeflateConfig {
        window_bits: -15,
        ..DeflateConfig::default()
    });
    let mut wire = vec![0u8; 64];
    z.compress(b"hello", &mut wire, DeflateFlush::Finish)
        .unwrap();
    wire.truncate(z.total_out() as usize);
    let (_, mut c) = pair(&params(false, false, 15, 15), &Deflate::on());
    for _ in 0..2 {
        let mut out = Vec::new();
        c.decode(&wire, true, 100, &mut out).unwrap();
        assert_eq!(out, b"hello");
    }
}

/// Encodes `msg` step by step, as the I/O thread does for large messages.
fn encode_in_steps(
    tx: &mut PerMessageDeflate,
    msg: &[u8],
    step: usize,
) -> (Option<Vec<u8>>, usize) {
    let mut progress = Encoding::default();
    let mut steps = 0;
    loop {
        steps += 1;
        match tx.encode_step(msg, &mut progress, step).unwrap() {
            None => assert!(progress.pos < msg.len(), "no progress"),
            Some(true) => return (Some(progress.out), steps),
            Some(false) => return (None, steps),
        }
    }
}

#[test]
fn step_by_step_encoding_compresses_as_well_and_keeps_the_context() {
    let cfg = Deflate::on();
    for (nct, step) in [
        (false, 1000),
        (false, 64 << 10),
        (true, 4096),
        (true, usize::MAX),
    ] {
        let p = params(nct, nct, 15, 15);
        let (mut whole, _) = pair(&p, &cfg);
        let (mut stepped, mut rx) = pair(&p, &cfg);
        // A large message, a small one between, and another large one: with context takeover
        // the second large message refers back to both.
        for (i, msg) in [sample(300_000, 1), sample(500, 2), sample(200_000, 1)]
            .iter()
            .enumerate()
        {
            let mut expected = Vec::new();
            assert!(whole.encode(msg, &mut expected), "message {i} compresses");
            let (got, steps) = encode_in_steps(&mut stepped, msg, step);
            let got = got.expect("compressed");
            // zlib-rs may end blocks differently when the input comes in pieces: not the same
            // bytes, but as small.
            assert!(
                got.len() <= expected.len() + expected.len() / 100 + 64,
                "nct {nct}, step {step}, message {i}: {} bytes, whole {}",
                got.len(),
                expected.len()
            );
            assert_eq!(steps, msg.len().div_ceil(step).max(1), "one call per step");
            let mut out = Vec::new();
            rx.decode(&got, true, usize::MAX, &mut out).unwrap();
            assert_eq!(&out, msg, "nct {nct}, step {step}, message {i}: round trip");
        }
    }
}

#[test]
fn step_by_step_encoding_sends_incompressible_and_small_messages_raw() {
    let cfg = Deflate::on();
    let p = params(false, false, 15, 15);
    let (mut tx, mut rx) = pair(&p, &cfg);
    // Random bytes do not shrink: sent as they are, and the context stays usable.
    let mut x = 12345u32;
    let noise: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    assert_eq!(encode_in_steps(&mut tx, &noise, 8192).0, None);
    assert_eq!(
        encode_in_steps(&mut tx, b"tiny", 8192).0,
        None,
        "below the threshold"
    );
    let text = sample(50_000, 3);
    let (got, _) = encode_in_steps(&mut tx, &text, 8192);
    let mut out = Vec::new();
    rx.decode(&got.unwrap(), true, usize::MAX, &mut out)
        .unwrap();
    assert_eq!(out, text);
}
