#![no_main]
//! The frame reader (src/ws/reader.rs) on arbitrary bytes: both roles, small and default limits,
//! with and without an extension, fed whole and in pieces. See `wss::fuzzing::read_frames`.
//! Register in fuzz/Cargo.toml as `[[bin]] name = "frames" path = "fuzz_targets/frames.rs"`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, rest)) = data.split_first() else {
        return;
    };
    let server = knobs & 1 != 0;
    let extension = knobs & 2 != 0;
    let (frame, message, frames) = if knobs & 4 != 0 {
        (300, 600, 8)
    } else {
        (16 << 20, 64 << 20, 100_000)
    };
    let chunks = [1 + (knobs as usize >> 3), 1, 7];
    let chopped = wss::fuzzing::read_frames(rest, server, frame, message, frames, extension, &chunks);
    let whole = wss::fuzzing::read_frames(rest, server, frame, message, frames, extension, &[]);
    // How the bytes arrive never changes what they mean.
    assert_eq!(chopped, whole);
});
