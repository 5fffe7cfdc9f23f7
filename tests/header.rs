//! The checked-in C header must equal a fresh cbindgen generation (build.rs writes it to
//! $OUT_DIR). Refresh with `WSS_WRITE_HEADER=1 cargo build` and commit include/wss.h.

#[test]
fn checked_in_header_is_fresh() {
    let fresh = include_str!(concat!(env!("OUT_DIR"), "/wss.h"));
    assert!(
        !fresh.starts_with("/* cbindgen failed"),
        "cbindgen failed: {fresh}"
    );
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/include/wss.h");
    let checked_in = std::fs::read_to_string(path).expect("include/wss.h exists");
    assert!(
        checked_in == fresh,
        "include/wss.h is stale: run `WSS_WRITE_HEADER=1 cargo build` and commit include/wss.h"
    );
}
