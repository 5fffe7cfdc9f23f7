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

// The tables of include/wss.h are generated from one Rust source each: these tests read the
// header back and check every C constant against its Rust value and name.

use wss::ffi::result::wss_result_str;
use wss::{ErrorKind, MessageKind, TlsVersion, VerifyMode};

fn header() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/wss.h"))
        .expect("include/wss.h exists")
}

/// `#define <prefix>NAME VALUE` lines of the header, as (NAME without prefix, VALUE).
fn defines(prefix: &str) -> Vec<(String, i64)> {
    header()
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|l| {
            let (name, value) = l.split_once(' ')?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn every_result_code_in_the_header_is_an_error_kind_with_its_name() {
    let codes = defines("WSS_ERR_");
    assert_eq!(codes.len(), ErrorKind::ALL.len(), "{codes:?}");
    for (name, value) in codes {
        let value = i32::try_from(value).expect("fits wss_result");
        let kind = ErrorKind::from_c(value).unwrap_or_else(|| panic!("WSS_ERR_{name}"));
        assert_eq!(kind.to_c(), value);
        let c_name = unsafe { std::ffi::CStr::from_ptr(wss_result_str(value)) };
        assert_eq!(c_name.to_str().unwrap(), kind.as_str(), "WSS_ERR_{name}");
        // The C name is the Rust variant in SCREAMING_SNAKE_CASE.
        let mut snake = String::new();
        for (i, ch) in format!("{kind:?}").chars().enumerate() {
            if ch.is_uppercase() && i > 0 {
                snake.push('_');
            }
            snake.push(ch.to_ascii_uppercase());
        }
        assert_eq!(name, snake, "{kind:?}");
    }
    assert_eq!(defines("WSS_OK"), vec![(String::new(), 0)]);
}

#[test]
fn enum_constants_in_the_header_match_rust() {
    let values = |prefix: &str| -> Vec<i64> {
        let mut v: Vec<i64> = defines(prefix).into_iter().map(|(_, v)| v).collect();
        v.sort_unstable();
        v
    };
    let sorted = |mut v: Vec<i32>| -> Vec<i64> {
        v.sort_unstable();
        v.into_iter().map(i64::from).collect()
    };
    assert_eq!(
        values("WSS_MESSAGE_"),
        sorted(MessageKind::ALL.iter().map(|k| k.to_c()).collect())
    );
    assert_eq!(
        values("WSS_VERIFY_"),
        sorted(VerifyMode::ALL.iter().map(|k| k.to_c()).collect())
    );
    // WSS_TLS_ANY (0) is "no bound", not a TlsVersion.
    let mut tls = sorted(TlsVersion::ALL.iter().map(|k| k.to_c()).collect());
    tls.insert(0, 0);
    assert_eq!(values("WSS_TLS_"), tls);
}

/// The close codes' one list is `wss::conn::close_code`; the header must hold exactly it.
#[test]
fn close_codes_in_the_header_are_the_rust_list() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/conn.rs"))
        .expect("src/conn.rs");
    let module = src
        .split("pub mod close_code {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .expect("close_code module in src/conn.rs");
    let mut rust: Vec<(String, i64)> = module
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .map(|l| {
            let (name, rest) = l.split_once(": u16 = ").expect("pub const NAME: u16 = N;");
            (
                name.to_string(),
                rest.trim_end_matches(';').parse().unwrap(),
            )
        })
        .collect();
    let mut c = defines("WSS_CLOSE_");
    rust.sort();
    c.sort();
    assert_eq!(c, rust);
    assert!(c.contains(&("UNSUPPORTED_DATA".to_string(), 1003)));
    assert_eq!(wss::conn::close_code::UNSUPPORTED_DATA, 1003);
}

#[test]
fn version_macros_follow_cargo_toml_and_the_library() {
    let get = |name: &str| defines(&format!("WSS_VERSION_{name}"))[0].1 as u32;
    let (major, minor, patch) = (get("MAJOR"), get("MINOR"), get("PATCH"));
    assert_eq!(major.to_string(), env!("CARGO_PKG_VERSION_MAJOR"));
    assert_eq!(minor.to_string(), env!("CARGO_PKG_VERSION_MINOR"));
    assert_eq!(patch.to_string(), env!("CARGO_PKG_VERSION_PATCH"));
    assert_eq!(
        wss::ffi::result::wss_version_number(),
        major << 16 | minor << 8 | patch
    );
}

/// Every function declaration is marked `WSS_API` (exported from a Windows DLL).
#[test]
fn every_function_is_declared_wss_api() {
    let header = header();
    let lines: Vec<&str> = header.lines().collect();
    let mut count = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with([' ', '\t', '*', '/', '#', '}', '{']) || line.starts_with("typedef") {
            continue;
        }
        let Some(open) = line.find('(') else { continue };
        let name = line[..open]
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        if !name.starts_with("wss_") {
            continue;
        }
        count += 1;
        assert!(
            line.starts_with("WSS_API ") || (i > 0 && lines[i - 1] == "WSS_API"),
            "not marked WSS_API: {line}"
        );
    }
    assert!(count > 50, "found only {count} declarations");
}

/// ABI 1.0: only fixed-width types cross the ABI (.NET marshals `bool` as 4 bytes).
#[test]
fn no_bool_in_the_header() {
    let header = header();
    let found: Vec<&str> = header
        .lines()
        .filter(|l| {
            !l.trim_start().starts_with('*')
                && l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                    .any(|w| w == "bool" || w == "_Bool" || w == "stdbool.h")
        })
        .collect();
    assert!(found.is_empty(), "bool in include/wss.h: {found:#?}");
}
