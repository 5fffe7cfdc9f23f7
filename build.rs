//! Generates the C header from src/ffi with cbindgen into $OUT_DIR/wss.h (compared with the
//! checked-in include/wss.h by tests/header.rs). `WSS_WRITE_HEADER=1` refreshes include/wss.h.
//! The header's `WSS_VERSION_*` macros come from Cargo.toml's version.
//!
//! Linux: the shared library gets the SONAME `libwss.so.<ABI_MAJOR>`. Exports: rustc already
//! links a cdylib with its own version script (`global:` exactly the `#[no_mangle]` functions,
//! `local: *`); a second script cannot narrow that (exact names win over our wildcard with lld)
//! and GNU ld refuses two anonymous version scripts, so none is added here: tests/exports.rs
//! checks with `nm -D` that only `wss_*` is exported.

use std::path::PathBuf;

#[path = "build/topics.rs"]
mod topics;

/// Major version of the C ABI: the Linux SONAME is `libwss.so.1`. Raised only for a breaking ABI
/// change (the ABI changes by addition otherwise).
const ABI_MAJOR: u32 = 1;

/// The version macros for the header, from Cargo.toml's version (deterministic: the same for
/// every build of one version).
fn version_macros() -> String {
    let part = |name: &str| -> u32 {
        let v = std::env::var(name).expect("cargo sets the version parts");
        let n: u32 = v.parse().expect("numeric version part");
        assert!(
            n <= 255,
            "{name} = {n} does not fit wss_version_number's 8 bits"
        );
        n
    };
    let (major, minor, patch) = (
        part("CARGO_PKG_VERSION_MAJOR"),
        part("CARGO_PKG_VERSION_MINOR"),
        part("CARGO_PKG_VERSION_PATCH"),
    );
    format!(
        "
/* Version of this header (Cargo.toml's version). Compare WSS_VERSION_NUMBER with
 * wss_version_number() at run time to check the header against the loaded library. */
#define WSS_VERSION_MAJOR {major}
#define WSS_VERSION_MINOR {minor}
#define WSS_VERSION_PATCH {patch}
#define WSS_VERSION_NUMBER \\
  (((uint32_t)WSS_VERSION_MAJOR << 16) | ((uint32_t)WSS_VERSION_MINOR << 8) | (uint32_t)WSS_VERSION_PATCH)
"
    )
}

fn main() {
    // cbindgen parses the whole crate (an `extern "C"` import anywhere lands in the header unless
    // excluded in cbindgen.toml), so any change under src/ regenerates it.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build");
    println!("cargo:rerun-if-env-changed=WSS_WRITE_HEADER");
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("out dir")).join("wss.h");
    let mut config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let after = config.after_includes.take().unwrap_or_default();
    config.after_includes = Some(format!("{after}{}", version_macros()));
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libwss.so.{ABI_MAJOR}");
    }
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
