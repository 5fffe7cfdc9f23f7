//! What zlib state a connection keeps between messages, measured with a counting allocator
//! (per thread, so other tests running meanwhile do not disturb it). Run with `--nocapture` to
//! see the table quoted in `Deflate`'s doc and docs/PERFORMANCE.md.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use super::codec::{PerMessageDeflate, Role};
use super::{Deflate, DeflateParams};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn add(n: isize) {
    let _ = LIVE.try_with(|c| c.set(c.get() + n));
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        add(l.size() as isize);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        add(-(l.size() as isize));
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        add(new as isize - l.size() as isize);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn live() -> isize {
    LIVE.with(|c| c.get())
}

/// Bytes one server connection holds after echoing one 4 KiB message (received + sent).
fn held(p: DeflateParams, cfg: Deflate) -> isize {
    let msg: Vec<u8> = (0..4096u32)
        .map(|i| b"abcdefgh"[(i * 7 % 8) as usize])
        .collect();
    let mut peer = PerMessageDeflate::new(Role::Client, &p, &cfg);
    let mut wire = Vec::new();
    assert!(peer.encode(&msg, &mut wire));
    let mut got = Vec::with_capacity(8192);
    let mut out = Vec::with_capacity(8192);
    let before = live();
    let mut conn = PerMessageDeflate::new(Role::Server, &p, &cfg);
    conn.decode(&wire, true, 1 << 20, &mut got).unwrap();
    assert!(conn.encode(&got, &mut out));
    let after = live();
    drop(conn);
    assert_eq!(live(), before, "everything is freed with the connection");
    after - before
}

#[test]
fn zlib_state_per_connection() {
    let p = |nct: bool, bits: u8| DeflateParams {
        server_no_context_takeover: nct,
        client_no_context_takeover: nct,
        server_max_window_bits: bits,
        client_max_window_bits: bits,
    };
    let cfg = |mem_level: u8| Deflate {
        mem_level,
        ..Deflate::on()
    };
    let rows = [
        (
            "context takeover, 15 bits, memLevel 8",
            held(p(false, 15), cfg(8)),
        ),
        (
            "context takeover, 12 bits, memLevel 5",
            held(p(false, 12), cfg(5)),
        ),
        (
            "context takeover, 10 bits, memLevel 1",
            held(p(false, 10), cfg(1)),
        ),
        (
            "no context takeover, 15 bits, memLevel 8",
            held(p(true, 15), cfg(8)),
        ),
    ];
    for (what, bytes) in rows {
        println!("{what:45} {:>5} KiB", bytes / 1024);
    }
    let kib = |i: usize| rows[i].1 / 1024;
    // Ranges, not exact figures: they depend on zlib-rs' layout.
    assert!((300..=500).contains(&kib(0)), "{rows:?}");
    assert!(kib(1) < kib(0) * 2 / 3, "{rows:?}");
    assert!(kib(2) <= kib(1), "{rows:?}");
    assert_eq!(
        rows[3].1, 0,
        "without context takeover nothing stays between messages"
    );
}
