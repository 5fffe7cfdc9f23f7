//! A browser against our server: Debian's headless Chromium, driven by playwright-core
//! (tests/interop/browser.js), connects over ws:// on 127.0.0.1 with permessage-deflate on
//! the server, sees it negotiated in `WebSocket.extensions`, echoes text, binary and 1 MiB,
//! and closes 1000. scripts/test.sh installs chromium (apt) and playwright-core (npm ci).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use wss::{Deflate, ServerConfig};

#[test]
fn chromium_negotiates_deflate_and_echoes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run `npm ci` in tests/interop (scripts/test.sh does)"
    );
    let config = ServerConfig {
        deflate: Deflate::on(),
        ..Default::default()
    };
    let (server, srx) = recording_server(true, config);
    let out = Command::new("node")
        .current_dir(&dir)
        .args(["browser.js", "--url"])
        .arg(format!("ws://127.0.0.1:{}/echo", server.port()))
        .output()
        .expect("run node browser.js");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser.js failed: {stdout}\n{stderr}"
    );
    let summary = stdout.lines().last().unwrap_or_default();
    for part in [
        "\"extensions\":\"permessage-deflate",
        "\"echoed\":3",
        "\"close_code\":1000",
        "\"close_reason\":\"browser done\"",
        "\"was_clean\":true",
    ] {
        assert!(summary.contains(part), "{part} missing in {summary}");
    }
    let conn = wait_open(&srx);
    let agreed = conn.info().deflate.expect("compression negotiated");
    // Chromium offers `permessage-deflate; client_max_window_bits`: our defaults agree on that.
    assert_eq!(
        agreed,
        wss::DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    );
    assert_eq!(wait_close(&srx), (1000, "browser done".to_string()));
    assert_no_errors(&srx);
    server.shutdown(WAIT).unwrap();
}
