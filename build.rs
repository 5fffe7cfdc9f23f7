//! Generates the C header from src/ffi with cbindgen into $OUT_DIR/wss.h (compared with the
//! checked-in include/wss.h by tests/header.rs). `WSS_WRITE_HEADER=1` refreshes include/wss.h.

use std::path::PathBuf;

#[path = "build/topics.rs"]
mod topics;

fn main() {
    // cbindgen parses the whole crate (an `extern "C"` import anywhere lands in the header unless
    // excluded in cbindgen.toml), so any change under src/ regenerates it.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-env-changed=WSS_WRITE_HEADER");
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("wss.h");
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(bindings) => {
            let mut raw = Vec::new();
            bindings.write(&mut raw);
            let header = topics::by_topic(&String::from_utf8(raw).expect("UTF-8 header"));
            std::fs::write(&out, &header).expect("write header");
            if std::env::var_os("WSS_WRITE_HEADER").is_some() {
                std::fs::write(crate_dir.join("include/wss.h"), &header).expect("write header");
            }
        }
        Err(e) => {
            // Keep the Rust build usable while src/ffi is mid-edit; the header test reports it.
            println!("cargo:warning=cbindgen failed: {e}");
            std::fs::write(&out, format!("/* cbindgen failed: {e} */\n"))
                .expect("write header stub");
        }
    }
}
