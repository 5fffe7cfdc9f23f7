//! Interop with independent WebSocket implementations, both directions, over ws and wss (and
//! mutual TLS): Python `websockets` and Node `ws`, run as child processes from `tests/interop/`.
//!
//! The peers are installed by `scripts/test.sh` (`pip install websockets`, `npm install` in
//! `tests/interop`); when they are missing these tests fail with instructions rather than skip.
//!
//! Every child is killed when its guard drops (also on panic) and its output is read on a thread
//! and received with a bound (`common::WAIT`), so a hung peer fails the test instead of hanging.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError};
use wss::{
    Client, ClientConfig, Connection, ErrorKind, Limits, MessageKind, Server, ServerConfig,
    TlsConfig,
};

/// Message sizes exchanged in every echo test: empty, the 7-bit / 16-bit / 64-bit length
/// boundaries, and 1 MiB (Python websockets' default max_size, which the peers lift).
const SIZES: [usize; 6] = [0, 125, 126, 65535, 65536, 1 << 20];

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

// ---- peers: presence checks --------------------------------------------------------------------

/// Panics (fails the test) unless `python3` can import `websockets`; returns its version.
fn require_python() -> &'static str {
    static VERSION: OnceLock<Result<String, String>> = OnceLock::new();
    let r = VERSION.get_or_init(|| {
        let out = Command::new("python3")
            .args(["-c", "import websockets; print(websockets.__version__)"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    });
    match r {
        Ok(v) => v,
        Err(e) => panic!(
            "interop tests need the Python package `websockets` (>= 12): {e}\n\
             install it with `python3 -m pip install websockets` (scripts/test.sh does this)"
        ),
    }
}

/// Panics unless `node` runs and `tests/interop/node_modules/ws` is installed.
fn require_node() {
    static CHECK: OnceLock<Result<(), String>> = OnceLock::new();
    let r = CHECK.get_or_init(|| {
        let ws = interop_dir().join("node_modules/ws/package.json");
        if !ws.is_file() {
            return Err(format!("{} is missing", ws.display()));
        }
        let out = Command::new("node")
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run node: {e}"))?;
        if !out.status.success() {
            return Err(format!("`node --version` failed: {}", out.status));
        }
        Ok(())
    });
    if let Err(e) = r {
        panic!(
            "interop tests need Node.js and the npm package `ws`: {e}\n\
             install it with `cd tests/interop && npm install` (scripts/test.sh does this)"
        );
    }
}

// ---- peers: child processes ---------------------------------------------------------------------

/// A child process that is killed when dropped, with its stdout read line by line on a thread
/// and its stderr collected for failure messages.
struct Peer {
    name: String,
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Arc<Mutex<String>>,
}

impl Peer {
    fn spawn(name: &str, program: &str, args: &[String]) -> Peer {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(interop_dir())
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {program}: {e}"));
        let (tx, lines) = unbounded();
        let out = child.stdout.take().expect("piped stdout");
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(l) = line else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Peer {
            name: name.to_string(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
        }
    }

    fn python(script: &str, args: &[String]) -> Peer {
        require_python();
        let mut all = vec![script.to_string()];
        all.extend_from_slice(args);
        Peer::spawn(script, "python3", &all)
    }

    fn node(script: &str, args: &[String]) -> Peer {
        require_node();
        let mut all = vec![script.to_string()];
        all.extend_from_slice(args);
        Peer::spawn(script, "node", &all)
    }

    /// Everything known about the child, for failure messages.
    fn report(&self) -> String {
        format!(
            "{}: stdout so far {:?}\nstderr:\n{}",
            self.name,
            self.seen,
            self.stderr.lock().unwrap()
        )
    }

    /// The next stdout line, within `WAIT`.
    fn line(&mut self) -> String {
        match self.lines.recv_timeout(WAIT) {
            Ok(l) => {
                self.seen.push(l.clone());
                l
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!("no output line within {WAIT:?}\n{}", self.report())
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.try_wait().ok().flatten();
                panic!(
                    "stdout ended (exit status {status:?}) while a line was expected\n{}",
                    self.report()
                )
            }
        }
    }

    /// The rest of the line starting with `prefix` (which must be the next line).
    fn expect(&mut self, prefix: &str) -> String {
        let l = self.line();
        match l.strip_prefix(prefix) {
            Some(rest) => rest.to_string(),
            None => panic!(
                "expected a line starting {prefix:?}, got {l:?}\n{}",
                self.report()
            ),
        }
    }

    /// Wait (bounded) for the child to exit; returns its status and the remaining stdout lines.
    fn finish(&mut self) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + WAIT;
        let mut rest = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    rest.push(l);
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("child did not finish within {WAIT:?}\n{}", self.report())
                }
            }
        }
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return (status, rest),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) => panic!(
                    "child closed stdout but did not exit within {WAIT:?}\n{}",
                    self.report()
                ),
                Err(e) => panic!("cannot wait for the child: {e}\n{}", self.report()),
            }
        }
    }

    /// Wait for exit and return the single JSON summary line; asserts success when `ok`.
    fn summary(&mut self, ok: bool) -> String {
        let (status, lines) = self.finish();
        assert_eq!(
            status.success(),
            ok,
            "unexpected exit status {status}\n{}",
            self.report()
        );
        assert_eq!(
            lines.len(),
            1,
            "expected one summary line\n{}",
            self.report()
        );
        lines.into_iter().next().unwrap()
    }

    /// Read `PORT <n>` (a listening server peer).
    fn port(&mut self) -> u16 {
        let p = self.expect("PORT ");
        p.parse()
            .unwrap_or_else(|_| panic!("bad port {p:?}\n{}", self.report()))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Assert that a compact JSON summary holds `"key":value` (value already JSON-encoded).
#[track_caller]
fn assert_json(summary: &str, key: &str, value: &str) {
    let field = format!("\"{key}\":{value}");
    assert!(summary.contains(&field), "summary lacks {field}: {summary}");
}

fn s(p: &Path) -> String {
    p.to_str().expect("UTF-8 path").to_string()
}

// ---- our server <- foreign clients --------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sec {
    Plain,
    Tls,
    MutualTls,
}

fn scheme(sec: Sec) -> &'static str {
    if sec == Sec::Plain {
        "ws"
    } else {
        "wss"
    }
}

fn echo_server(sec: Sec) -> (Server, Events) {
    let (h, rx) = recorder(true);
    let config = ServerConfig {
        tls: match sec {
            Sec::Plain => None,
            Sec::Tls => Some(server_tls()),
            Sec::MutualTls => Some(server_mtls()),
        },
        ..Default::default()
    };
    (Server::bind("127.0.0.1:0", config, h).unwrap(), rx)
}

/// Client arguments: URL, and for wss the CA (and the client identity when `with_cert`).
fn client_args(sec: Sec, port: u16, with_cert: bool) -> Vec<String> {
    let mut a = vec![
        "--url".to_string(),
        format!("{}://127.0.0.1:{port}/echo", scheme(sec)),
    ];
    if sec != Sec::Plain {
        let p = pki();
        a.extend(["--ca".to_string(), s(&p.ca_cert)]);
        if with_cert {
            a.extend([
                "--cert".to_string(),
                s(&p.client_cert),
                "--key".to_string(),
                s(&p.client_key),
            ]);
        }
    }
    a
}

/// Checks our server's side of a foreign client's echo session: open (with the client's
/// certificate under mutual TLS), then a normal close with the client's code and reason.
fn check_server_side(srx: &Events, sec: Sec, reason: &str) {
    let conn = wait_open(srx);
    check_conn_tls(&conn, sec);
    assert_eq!(conn.info().path, "/echo");
    assert_eq!(wait_close(srx), (1000, reason.to_string()));
}

fn check_conn_tls(conn: &Connection, sec: Sec) {
    let tls = &conn.info().tls;
    assert_eq!(tls.is_some(), sec != Sec::Plain, "TLS info on {sec:?}");
    if let Some(tls) = tls {
        assert!(tls.version.starts_with("TLSv1."), "{tls:?}");
        let peer = tls.peer_certificate.as_ref();
        if conn.info().is_client {
            // The server's certificate, verified against the test CA, for the IP we dialled.
            let cert = peer.expect("the server certificate");
            assert!(cert.verified, "{cert:?}");
            assert!(cert.sans.iter().any(|n| n == "IP:127.0.0.1"), "{cert:?}");
        } else if sec == Sec::MutualTls {
            let cert = peer.expect("the client certificate");
            assert!(cert.subject.contains("CN=wss test client"), "{cert:?}");
            assert!(cert.verified, "{cert:?}");
        } else {
            assert!(peer.is_none(), "no client certificate was requested");
        }
    }
}

/// A foreign client (`start` runs `script`) echoes every size through our server, then closes
/// with "<who> done", which our server answers with the same code and reason.
fn foreign_client_echo(sec: Sec, start: fn(&str, &[String]) -> Peer, script: &str, who: &str) {
    let (server, srx) = echo_server(sec);
    let mut peer = start(
        script,
        &client_args(sec, server.port(), sec == Sec::MutualTls),
    );
    let summary = peer.summary(true);
    assert_json(&summary, "mode", "\"echo\"");
    assert_json(&summary, "echoed", &(2 * SIZES.len()).to_string());
    assert_json(
        &summary,
        "bytes",
        &(2 * SIZES.iter().sum::<usize>()).to_string(),
    );
    assert_json(&summary, "close_code", "1000");
    assert_json(&summary, "close_reason", &format!("\"{who} done\""));
    if sec != Sec::Plain {
        assert!(summary.contains("\"tls\":\"TLSv1."), "{summary}");
    }
    check_server_side(&srx, sec, &format!("{who} done"));
    server.shutdown(WAIT).unwrap();
}

fn python_client_echo(sec: Sec) {
    foreign_client_echo(sec, Peer::python, "py_client.py", "py");
}

#[test]
fn python_client_to_our_server_ws() {
    python_client_echo(Sec::Plain);
}

#[test]
fn python_client_to_our_server_wss() {
    python_client_echo(Sec::Tls);
}

#[test]
fn python_client_to_our_server_mutual_tls() {
    python_client_echo(Sec::MutualTls);
}

#[test]
fn python_client_without_certificate_is_refused_by_our_mutual_tls_server() {
    let (server, srx) = echo_server(Sec::MutualTls);
    let args = client_args(Sec::MutualTls, server.port(), false);
    // websockets: the connect fails. (It reports the TLS alert only sometimes, otherwise a bare
    // EOF, so only the failure is checked here.)
    let summary = Peer::python("py_client.py", &args).summary(false);
    assert!(summary.contains("\"error\":"), "{summary}");
    // Python's ssl module directly: it must read the TLS 1.3 alert our server sent
    // (certificate_required, 116) in place of the upgrade response.
    let mut raw_args = args.clone();
    raw_args.extend(["--mode".to_string(), "handshake".to_string()]);
    let summary = Peer::python("py_client.py", &raw_args).summary(false);
    assert!(
        summary.contains("TLSV13_ALERT_CERTIFICATE_REQUIRED"),
        "the client must see the certificate_required alert: {summary}"
    );
    // Each refusal reaches the host before any connection opens, with OpenSSL's reason.
    for _ in 0..2 {
        let err = until(&srx, |e| match e {
            Ev::Open(c) => panic!("connection {c:?} opened without a client certificate"),
            Ev::Error(None, err) => Some(err.clone()),
            _ => None,
        });
        assert_eq!(err.kind, ErrorKind::Tls, "{err:?}");
        assert!(
            err.openssl
                .iter()
                .any(|e| e.reason.contains("peer did not return a certificate")),
            "{err:?}"
        );
    }
    server.shutdown(WAIT).unwrap();
}

#[test]
fn node_client_to_our_server_ws() {
    node_client_echo(Sec::Plain);
}

#[test]
fn node_client_to_our_server_wss() {
    node_client_echo(Sec::Tls);
}

#[test]
fn node_client_to_our_server_mutual_tls() {
    node_client_echo(Sec::MutualTls);
}

fn node_client_echo(sec: Sec) {
    foreign_client_echo(sec, Peer::node, "node_client.js", "node");
}

// ---- our client -> foreign servers --------------------------------------------------------------

fn server_args(sec: Sec) -> Vec<String> {
    let mut a = vec!["--port".to_string(), "0".to_string()];
    if sec != Sec::Plain {
        let p = pki();
        a.extend([
            "--cert".to_string(),
            s(&p.server_cert),
            "--key".to_string(),
            s(&p.server_key),
        ]);
    }
    if sec == Sec::MutualTls {
        a.extend([
            "--ca".to_string(),
            s(&pki().ca_cert),
            "--require-client-cert".to_string(),
        ]);
    }
    a
}

fn client_config(sec: Sec, with_cert: bool) -> ClientConfig {
    let tls: Option<TlsConfig> = match sec {
        Sec::Plain => None,
        _ if with_cert => Some(client_mtls()),
        _ => Some(client_tls()),
    };
    ClientConfig {
        tls,
        ..Default::default()
    }
}

/// Connects our client to a foreign echo server, exchanges every size both ways, closes with
/// 4000 and a reason, and checks what the server printed.
fn our_client_echo(mut peer: Peer, sec: Sec) {
    let port = peer.port();
    let url = format!("{}://127.0.0.1:{port}/echo?peer=interop", scheme(sec));
    let (ch, crx) = recorder(false);
    let client = Client::connect(&url, &client_config(sec, sec == Sec::MutualTls), ch)
        .unwrap_or_else(|e| panic!("connect {url}: {e:?}\n{}", peer.report()));
    let conn = wait_open(&crx);
    check_conn_tls(&conn, sec);
    let cn = if sec == Sec::MutualTls {
        "wss test client"
    } else {
        "-"
    };
    assert_eq!(peer.expect("OPEN "), format!("/echo?peer=interop {cn}"));
    for (i, n) in SIZES.iter().enumerate() {
        let bin = payload(*n, i as u8);
        conn.send_binary(&bin).unwrap();
        let (k, got) = wait_msg(&crx);
        assert_eq!(k, MessageKind::Binary, "binary echo of {n} bytes");
        assert!(got == bin, "binary echo of {n} bytes differs");
        let t = text(*n);
        conn.send_text(&t).unwrap();
        let (k, got) = wait_msg(&crx);
        assert_eq!(k, MessageKind::Text, "text echo of {n} bytes");
        assert!(got == t.as_bytes(), "text echo of {n} bytes differs");
    }
    client
        .close(4000, "interop done", WAIT)
        .unwrap_or_else(|e| panic!("close: {e:?}\n{}", peer.report()));
    assert_eq!(wait_close(&crx), (4000, "interop done".to_string()));
    let (status, rest) = peer.finish();
    assert!(status.success(), "exit status {status}\n{}", peer.report());
    assert_eq!(
        rest,
        ["CLOSE 4000 interop done"],
        "the server must see our close code and reason\n{}",
        peer.report()
    );
}

#[test]
fn our_client_to_python_server_ws() {
    our_client_echo(
        Peer::python("py_server.py", &server_args(Sec::Plain)),
        Sec::Plain,
    );
}

#[test]
fn our_client_to_python_server_wss() {
    our_client_echo(
        Peer::python("py_server.py", &server_args(Sec::Tls)),
        Sec::Tls,
    );
}

#[test]
fn our_client_to_python_server_mutual_tls() {
    our_client_echo(
        Peer::python("py_server.py", &server_args(Sec::MutualTls)),
        Sec::MutualTls,
    );
}

#[test]
fn our_client_without_certificate_is_refused_by_python_mutual_tls_server() {
    let mut py = Peer::python("py_server.py", &server_args(Sec::MutualTls));
    let port = py.port();
    let (ch, crx) = recorder(false);
    let err = Client::connect(
        &format!("wss://127.0.0.1:{port}/echo"),
        &client_config(Sec::MutualTls, false),
        ch,
    )
    .expect_err("a client without a certificate must not get a WebSocket");
    // TLS 1.3 finishes the client's handshake before the server checks the certificate; the
    // refusal (alert certificate_required) then arrives while we send the upgrade request or
    // wait for its answer, and must be reported as that alert, not as a reset.
    assert_eq!(err.kind, ErrorKind::Tls, "{err:?}");
    assert!(
        err.openssl
            .iter()
            .any(|e| e.reason.contains("alert certificate required")),
        "{err:?}"
    );
    assert!(err.hint.is_some(), "{err:?}");
    assert!(crx.try_recv().is_err(), "no event for a failed connect");
}

#[test]
fn our_client_to_node_server_ws() {
    our_client_echo(
        Peer::node("node_server.js", &server_args(Sec::Plain)),
        Sec::Plain,
    );
}

#[test]
fn our_client_to_node_server_wss() {
    our_client_echo(
        Peer::node("node_server.js", &server_args(Sec::Tls)),
        Sec::Tls,
    );
}

#[test]
fn our_client_to_node_server_mutual_tls() {
    our_client_echo(
        Peer::node("node_server.js", &server_args(Sec::MutualTls)),
        Sec::MutualTls,
    );
}

// ---- edge cases: hand-written frames from Python -------------------------------------------------

/// Runs a raw-frame mode of py_client.py against our server (limits 1024 bytes) over `sec` and
/// returns the close code and reason the client received and the server's close and error.
fn python_raw(sec: Sec, mode: &str, size: usize) -> (String, (u16, String), wss::Error) {
    let (h, srx) = recorder(true);
    let config = ServerConfig {
        tls: (sec != Sec::Plain).then(server_tls),
        limits: Limits {
            max_message_size: 1024,
            max_frame_size: 1024,
            ..Default::default()
        },
        ..Default::default()
    };
    let server = Server::bind("127.0.0.1:0", config, h).unwrap();
    let mut args = client_args(sec, server.port(), false);
    args.extend([
        "--mode".to_string(),
        mode.to_string(),
        "--size".to_string(),
        size.to_string(),
    ]);
    let mut py = Peer::python("py_client.py", &args);
    let summary = py.summary(true);
    wait_open(&srx);
    // on_error and on_close both follow, in either order; exactly one error (the final check
    // of `srx` fails on a second).
    let close = wait_close(&srx);
    let err = wait_error(&srx);
    server.shutdown(WAIT).unwrap();
    (summary, close, err)
}

#[test]
fn invalid_utf8_text_frame_gets_1007() {
    for sec in [Sec::Plain, Sec::Tls] {
        let (summary, close, err) = python_raw(sec, "invalid-utf8", 0);
        assert_json(&summary, "close_code", "1007");
        assert_eq!(close.0, 1007, "{sec:?}: server's on_close");
        assert_eq!(err.kind, ErrorKind::Protocol, "{err:?}");
    }
}

#[test]
fn invalid_utf8_across_fragments_gets_1007() {
    let (summary, close, err) = python_raw(Sec::Tls, "invalid-utf8-split", 0);
    assert_json(&summary, "close_code", "1007");
    assert_eq!(close.0, 1007);
    assert_eq!(err.kind, ErrorKind::Protocol, "{err:?}");
}

#[test]
fn frame_over_the_limit_gets_1009() {
    for sec in [Sec::Plain, Sec::Tls] {
        let (summary, close, err) = python_raw(sec, "oversize-frame", 2048);
        assert_json(&summary, "close_code", "1009");
        assert_eq!(close.0, 1009, "{sec:?}: server's on_close");
        assert_eq!(err.kind, ErrorKind::MessageTooBig, "{err:?}");
    }
}

#[test]
fn fragmented_message_over_the_limit_gets_1009() {
    // Four 512-byte fragments: every frame is within max_frame_size, the message is not.
    let (summary, close, err) = python_raw(Sec::Tls, "oversize-message", 2048);
    assert_json(&summary, "close_code", "1009");
    assert_eq!(close.0, 1009);
    assert_eq!(err.kind, ErrorKind::MessageTooBig, "{err:?}");
}

#[test]
fn messages_at_the_limit_still_echo() {
    // The same limits let a 1024-byte message through (limits are inclusive).
    let (h, _srx) = recorder(true);
    let config = ServerConfig {
        tls: Some(server_tls()),
        limits: Limits {
            max_message_size: 1024,
            max_frame_size: 1024,
            ..Default::default()
        },
        ..Default::default()
    };
    let server = Server::bind("127.0.0.1:0", config, h).unwrap();
    let (ch, crx) = recorder(false);
    let client = Client::connect(
        &format!("wss://127.0.0.1:{}/echo", server.port()),
        &client_config(Sec::Tls, false),
        ch,
    )
    .unwrap();
    wait_open(&crx);
    let data = payload(1024, 3);
    client.connection().send_binary(&data).unwrap();
    assert_eq!(wait_msg(&crx), (MessageKind::Binary, data));
    client.close(1000, "", WAIT).unwrap();
    server.shutdown(WAIT).unwrap();
}

// ---- permessage-deflate (RFC 7692) --------------------------------------------------------------

/// The parameter combinations both peers support, as `--deflate` specs (tests/interop/
/// deflate_opts.*): defaults and each parameter alone; each test adds all four together with
/// the smallest windows its peer takes (below).
const DEFLATE_SPECS: [&str; 5] = [
    "on",
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits=10",
    "client_max_window_bits=9",
];

/// All four parameters with 8-bit windows (Node `ws` takes 8 on both sides).
const ALL_FOUR_8: &str =
    "server_no_context_takeover,client_no_context_takeover,server_max_window_bits=8,client_max_window_bits=8";
/// Python `websockets` never compresses with an 8-bit window (zlib refuses it): its client
/// factory takes `client_max_window_bits` 9..=15, its server factory `server_max_window_bits`
/// 9..=15; the window it only inflates with may be 8.
const PY_CLIENT_ALL_FOUR: &str =
    "server_no_context_takeover,client_no_context_takeover,server_max_window_bits=8,client_max_window_bits=9";
const PY_SERVER_ALL_FOUR: &str =
    "server_no_context_takeover,client_no_context_takeover,server_max_window_bits=9,client_max_window_bits=8";

/// A foreign client offering `spec` echoes every size (and 16 MiB, in 3 fragments each)
/// through our server with compression on; the answer must accept permessage-deflate.
fn foreign_client_deflate(
    start: fn(&str, &[String]) -> Peer,
    script: &str,
    who: &str,
    all_four: &str,
) {
    for spec in DEFLATE_SPECS.into_iter().chain([all_four]) {
        let (h, srx) = recorder(true);
        let config = ServerConfig {
            deflate: wss::Deflate::on(),
            ..Default::default()
        };
        let server = Server::bind("127.0.0.1:0", config, h).unwrap();
        let mut args = client_args(Sec::Plain, server.port(), false);
        args.extend(["--deflate", spec, "--fragments", "3"].map(String::from));
        if spec == "on" {
            args.push("--big".to_string());
        }
        let summary = start(script, &args).summary(true);
        assert!(
            summary.contains("\"extensions\":\"permessage-deflate"),
            "{spec}: {summary}"
        );
        assert_json(&summary, "close_reason", &format!("\"{who} done\""));
        check_server_side(&srx, Sec::Plain, &format!("{who} done"));
        server.shutdown(WAIT).unwrap();
    }
}

#[test]
fn python_client_deflate_to_our_server() {
    foreign_client_deflate(Peer::python, "py_client.py", "py", PY_CLIENT_ALL_FOUR);
}

#[test]
fn node_client_deflate_to_our_server() {
    foreign_client_deflate(Peer::node, "node_client.js", "node", ALL_FOUR_8);
}

/// Our client with each of our settings against a foreign server accepting `spec`.
fn our_client_deflate(start: fn(&str, &[String]) -> Peer, script: &str, all_four: &str) {
    let ours = [
        wss::Deflate::on(),
        wss::Deflate::on().no_context_takeover(),
        wss::Deflate {
            server_max_window_bits: 9,
            client_max_window_bits: 10,
            ..wss::Deflate::on()
        },
    ];
    for spec in DEFLATE_SPECS.into_iter().chain([all_four]) {
        for deflate in ours {
            let mut args = server_args(Sec::Plain);
            args.extend(["--deflate".to_string(), spec.to_string()]);
            let mut peer = start(script, &args);
            let port = peer.port();
            let config = ClientConfig {
                deflate,
                ..client_config(Sec::Plain, false)
            };
            let (ch, crx) = recorder(false);
            let url = format!("ws://127.0.0.1:{port}/echo");
            if script == "node_server.js"
                && spec == "server_max_window_bits=10"
                && deflate.server_max_window_bits < 10
            {
                // ws declines an offer asking for a smaller server window than its own
                // serverMaxWindowBits (lib/permessage-deflate.js, acceptAsServer), and a server
                // with no acceptable offer answers 400 rather than going uncompressed.
                let e = Client::connect(&url, &config, ch).unwrap_err();
                assert_eq!(e.http_status, Some(400), "{e:?}");
                drop(peer);
                continue;
            }
            let client = Client::connect(&url, &config, ch)
                .unwrap_or_else(|e| panic!("{spec} {deflate:?}: {e:?}\n{}", peer.report()));
            let conn = wait_open(&crx);
            peer.expect("OPEN ");
            let ext = peer.expect("EXT ");
            assert!(ext.starts_with("permessage-deflate"), "{spec}: {ext}");
            for (i, n) in SIZES.iter().enumerate() {
                let bin = payload(*n, i as u8);
                conn.send_binary(&bin).unwrap();
                assert_eq!(wait_msg(&crx), (MessageKind::Binary, bin));
                let t = text(*n);
                conn.send_text(&t).unwrap();
                assert_eq!(wait_msg(&crx), (MessageKind::Text, t.into_bytes()));
            }
            client.close(1000, "done", WAIT).unwrap();
            assert_eq!(wait_close(&crx), (1000, "done".to_string()));
            let (status, _) = peer.finish();
            assert!(status.success(), "{}", peer.report());
        }
    }
}

#[test]
fn our_client_deflate_to_python_server() {
    our_client_deflate(Peer::python, "py_server.py", PY_SERVER_ALL_FOUR);
}

#[test]
fn our_client_deflate_to_node_server() {
    our_client_deflate(Peer::node, "node_server.js", ALL_FOUR_8);
}
