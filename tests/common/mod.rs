//! Shared test support: an event-recording handler whose errors are checked when the test ends,
//! the test PKI, TLS configs, bounded waits.
#![allow(dead_code)]

pub mod pki;
pub mod raw;

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};
use once_cell::sync::Lazy;
use pki::{TempDir, TestPki};
use wss::{
    AcceptDecision, Client, ClientConfig, Connection, Error, Handler, MessageKind, Server,
    ServerConfig, TlsConfig, UpgradeRequest, VerifyMode,
};

/// Generous upper bound for any single expected event (a bound, not a synchronisation sleep).
pub const WAIT: Duration = Duration::from_secs(30);

/// An event seen by a handler.
#[derive(Debug)]
pub enum Ev {
    Open(Connection),
    Msg(u64, MessageKind, Vec<u8>),
    Pong(u64, Vec<u8>),
    Close(u64, u16, String),
    Error(Option<u64>, Error),
}

/// An accept hook for tests.
pub type AcceptFn = Box<dyn Fn(&UpgradeRequest<'_>) -> AcceptDecision + Send + Sync>;

/// Records every event; optionally echoes messages back.
pub struct Recorder {
    tx: Sender<Ev>,
    pub echo: bool,
    pub accept: Option<AcceptFn>,
}

impl Handler for Recorder {
    fn on_accept(&self, req: &UpgradeRequest<'_>) -> AcceptDecision {
        match &self.accept {
            Some(f) => f(req),
            None => AcceptDecision::accept(),
        }
    }
    fn on_open(&self, conn: &Connection) {
        let _ = self.tx.send(Ev::Open(conn.clone()));
    }
    fn on_message(&self, conn: &Connection, kind: MessageKind, data: &[u8]) {
        if self.echo {
            conn.send(kind, data).expect("echo send");
        } else {
            let _ = self.tx.send(Ev::Msg(conn.id(), kind, data.to_vec()));
        }
    }
    fn on_pong(&self, conn: &Connection, data: &[u8]) {
        let _ = self.tx.send(Ev::Pong(conn.id(), data.to_vec()));
    }
    fn on_close(&self, conn: &Connection, code: u16, reason: &str) {
        let _ = self.tx.send(Ev::Close(conn.id(), code, reason.to_string()));
    }
    fn on_error(&self, conn: Option<&Connection>, err: &Error) {
        let _ = self.tx.send(Ev::Error(conn.map(|c| c.id()), err.clone()));
    }
}

/// The events of one handler as a test reads them, with the promise that no error event goes
/// unnoticed: an `Ev::Error` that the test skips while waiting for something else (`until`,
/// `wait_close`, ...) is kept aside, `wait_error` takes kept errors first, and when `Events`
/// drops at the end of the test any error still kept or still queued fails the test. A test
/// that expects errors takes exactly those (`wait_error`, `take_errors`).
///
/// A binding named `_rx` is checked like any other (only `let _ = ...` would drop it at once).
/// Declared before the server or client it watches (as `let (h, rx) = recorder(..)` does), it
/// drops last and sees every error the endpoint reported while shutting down.
pub struct Events {
    rx: Receiver<Ev>,
    kept: Mutex<VecDeque<(Option<u64>, Error)>>,
}

impl Events {
    /// Wraps the receiving end of a handler's event channel.
    pub fn new(rx: Receiver<Ev>) -> Events {
        Events {
            rx,
            kept: Mutex::new(VecDeque::new()),
        }
    }

    /// Keep a skipped error for `wait_error` or the final check.
    fn keep(&self, conn: Option<u64>, err: Error) {
        self.kept.lock().unwrap().push_back((conn, err));
    }

    /// The oldest kept error, if any.
    fn take_kept(&self) -> Option<(Option<u64>, Error)> {
        self.kept.lock().unwrap().pop_front()
    }

    /// Every error reported so far and not yet taken: kept ones, then those still queued (other
    /// queued events are dropped).
    pub fn take_errors(&self) -> Vec<(Option<u64>, Error)> {
        let mut errs: Vec<_> = self.kept.lock().unwrap().drain(..).collect();
        errs.extend(self.rx.try_iter().filter_map(|e| match e {
            Ev::Error(c, err) => Some((c, err)),
            _ => None,
        }));
        errs
    }
}

impl Deref for Events {
    type Target = Receiver<Ev>;
    fn deref(&self) -> &Receiver<Ev> {
        &self.rx
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return; // the test already failed; do not turn its panic into an abort
        }
        assert_no_errors(self);
    }
}

/// Fails the test if the handler reported an error that the test did not take. Runs by itself
/// when `Events` drops; call it earlier to check a point in the middle of a test.
pub fn assert_no_errors(rx: &Events) {
    let errs = rx.take_errors();
    assert!(
        errs.is_empty(),
        "{} unexpected error event(s): {}{}",
        errs.len(),
        errs.iter()
            .take(5)
            .map(|(c, e)| format!("[conn {c:?}] {e}"))
            .collect::<Vec<_>>()
            .join("; "),
        if errs.len() > 5 { "; ..." } else { "" }
    );
}

/// Takes every error reported so far and checks each with `check` (for tests where a race
/// decides how many errors of an expected kind there are); returns how many there were.
pub fn take_errors_each(rx: &Events, mut check: impl FnMut(&Error)) -> usize {
    let errs = rx.take_errors();
    for (_, e) in &errs {
        check(e);
    }
    errs.len()
}

pub fn recorder(echo: bool) -> (Arc<Recorder>, Events) {
    let (tx, rx) = unbounded();
    (
        Arc::new(Recorder {
            tx,
            echo,
            accept: None,
        }),
        Events::new(rx),
    )
}

pub fn recorder_with_accept(
    f: impl Fn(&UpgradeRequest<'_>) -> AcceptDecision + Send + Sync + 'static,
) -> (Arc<Recorder>, Events) {
    let (tx, rx) = unbounded();
    (
        Arc::new(Recorder {
            tx,
            echo: false,
            accept: Some(Box::new(f)),
        }),
        Events::new(rx),
    )
}

/// Wraps a test's own handler: every call goes to it unchanged, and its errors are also
/// recorded for the end-of-test check, like a `Recorder`'s.
pub struct Watched<H> {
    inner: Arc<H>,
    tx: Sender<Ev>,
}

impl<H: Handler> Handler for Watched<H> {
    fn on_accept(&self, req: &UpgradeRequest<'_>) -> AcceptDecision {
        self.inner.on_accept(req)
    }
    fn on_open(&self, conn: &Connection) {
        self.inner.on_open(conn)
    }
    fn on_message(&self, conn: &Connection, kind: MessageKind, data: &[u8]) {
        self.inner.on_message(conn, kind, data)
    }
    fn on_message_owned(&self, conn: &Connection, kind: MessageKind, data: bytes::Bytes) {
        self.inner.on_message_owned(conn, kind, data)
    }
    fn wants_messages(&self, conn: &Connection) -> bool {
        self.inner.wants_messages(conn)
    }
    fn on_pong(&self, conn: &Connection, data: &[u8]) {
        self.inner.on_pong(conn, data)
    }
    fn on_close(&self, conn: &Connection, code: u16, reason: &str) {
        self.inner.on_close(conn, code, reason)
    }
    fn on_error(&self, conn: Option<&Connection>, err: &Error) {
        let _ = self.tx.send(Ev::Error(conn.map(|c| c.id()), err.clone()));
        self.inner.on_error(conn, err)
    }
}

/// `handler` wrapped so that its errors are checked at the end of the test (see `Events`).
pub fn watched<H: Handler>(handler: Arc<H>) -> (Arc<Watched<H>>, Events) {
    let (tx, rx) = unbounded();
    (Arc::new(Watched { inner: handler, tx }), Events::new(rx))
}

/// Next event, or panic after `WAIT`.
pub fn next(rx: &Events) -> Ev {
    rx.recv_timeout(WAIT).expect("expected an event in time")
}

/// Skip events until `f` matches one. A skipped error is kept for `wait_error` and the final
/// check, never dropped.
pub fn until<T>(rx: &Events, mut f: impl FnMut(&Ev) -> Option<T>) -> T {
    loop {
        let ev = next(rx);
        if let Some(t) = f(&ev) {
            return t;
        }
        if let Ev::Error(conn, err) = ev {
            rx.keep(conn, err);
        }
    }
}

pub fn wait_open(rx: &Events) -> Connection {
    until(rx, |e| match e {
        Ev::Open(c) => Some(c.clone()),
        _ => None,
    })
}

pub fn wait_msg(rx: &Events) -> (MessageKind, Vec<u8>) {
    until(rx, |e| match e {
        Ev::Msg(_, k, d) => Some((*k, d.clone())),
        _ => None,
    })
}

pub fn wait_close(rx: &Events) -> (u16, String) {
    until(rx, |e| match e {
        Ev::Close(_, c, r) => Some((*c, r.clone())),
        _ => None,
    })
}

/// The next error: one kept while waiting for something else, or the next reported.
pub fn wait_error(rx: &Events) -> Error {
    if let Some((_, err)) = rx.take_kept() {
        return err;
    }
    until(rx, |e| match e {
        Ev::Error(_, err) => Some(err.clone()),
        _ => None,
    })
}

static PKI: Lazy<(TempDir, TestPki)> = Lazy::new(|| {
    // Statics are never dropped, so a TempDir here would outlive the process: remove the
    // folders of earlier test processes that are gone, then make this process's own.
    sweep_stale_pki_dirs();
    let dir = TempDir::new(PKI_PREFIX).expect("temp dir");
    let pki = TestPki::generate(dir.path()).expect("test PKI");
    (dir, pki)
});

const PKI_PREFIX: &str = "wss-test-pki";

/// Delete `<temp>/wss-test-pki-<pid>-...` folders whose process no longer exists.
fn sweep_stale_pki_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&format!("{PKI_PREFIX}-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The test PKI, generated once per test binary.
pub fn pki() -> &'static TestPki {
    &PKI.1
}

/// Server TLS with the good server certificate; no client certificates requested.
pub fn server_tls() -> TlsConfig {
    let p = pki();
    let mut t = TlsConfig::new();
    t.load_pem_chain(&p.server_cert, &p.server_key, None)
        .expect("server cert");
    t
}

/// Server TLS requiring client certificates from the test CA.
pub fn server_mtls() -> TlsConfig {
    let mut t = server_tls();
    t.load_ca_file(&pki().ca_cert).expect("ca");
    t.set_verify_mode(VerifyMode::Required);
    t
}

/// Client TLS trusting the test CA, no client certificate.
pub fn client_tls() -> TlsConfig {
    let mut t = TlsConfig::new();
    t.load_ca_file(&pki().ca_cert).expect("ca");
    t
}

/// Client TLS trusting the test CA, with the good client certificate.
pub fn client_mtls() -> TlsConfig {
    let mut t = client_tls();
    t.load_pem_chain(&pki().client_cert, &pki().client_key, None)
        .expect("client cert");
    t
}

/// A deterministic payload of `n` bytes (the interop peers build the same one from `seed`).
pub fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Text of exactly `n` UTF-8 bytes with 1-, 2- and 3-byte characters.
pub fn text(n: usize) -> String {
    let mut s = String::with_capacity(n);
    let pattern = ['a', 'é', '€', 'z'];
    let mut i = 0;
    while s.len() < n {
        let c = pattern[i % 4];
        s.push(if s.len() + c.len_utf8() > n { 'x' } else { c });
        i += 1;
    }
    s
}

/// `Server::bind` on 127.0.0.1, on a free port, with `config` and `handler`.
pub fn local_server(config: ServerConfig, handler: Arc<dyn Handler>) -> Server {
    Server::bind("127.0.0.1:0", config, handler).expect("bind a server on 127.0.0.1:0")
}

/// A server on 127.0.0.1 (a free port) with `config`, its events recorded by a `Recorder` that
/// echoes messages back when `echo` is set.
pub fn recording_server(echo: bool, config: ServerConfig) -> (Server, Events) {
    let (h, rx) = recorder(echo);
    (local_server(config, h), rx)
}

/// The blocking connect of a plain ws:// client with default settings to
/// `ws://127.0.0.1:<port>/`, recording its events: its result, whether it opened or failed.
pub fn ws_connect(port: u16) -> (wss::Result<Client>, Events) {
    let (ch, crx) = recorder(false);
    let client = Client::connect(
        &format!("ws://127.0.0.1:{port}/"),
        &ClientConfig::default(),
        ch,
    );
    (client, crx)
}

/// A plain ws:// client with default settings connected to the server on `port`, recording its
/// events; returns once it is open.
pub fn ws_client_on(port: u16) -> (Client, Events) {
    let (client, crx) = ws_connect(port);
    let client = client.expect("connect a ws:// client");
    wait_open(&crx);
    (client, crx)
}

/// A plain ws:// client with default settings connected to `server`, recording its events;
/// returns once it is open.
pub fn ws_client(server: &Server) -> (Client, Events) {
    ws_client_on(server.port())
}

/// Poll `cond` until it holds, failing with `what` after `WAIT`. For states no event reports
/// (a buffered amount, a connection count); the pause between polls grows to 10 ms, so the
/// waiting thread does not compete with the I/O threads for a loaded machine's cores.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    let mut pause = Duration::from_micros(100);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// Raise this process's soft limit on open descriptors to at least `need` (up to the hard
/// limit), or fail with what to change: tests that hold thousands of sockets must not depend
/// on the shell's `ulimit -n`.
pub fn raise_fd_limit(need: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        assert_eq!(
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim),
            0,
            "getrlimit"
        );
        if lim.rlim_cur >= need as libc::rlim_t {
            return;
        }
        assert!(
            lim.rlim_max >= need as libc::rlim_t,
            "this test needs {need} open files; the hard limit is {} (raise it with ulimit -Hn)",
            lim.rlim_max
        );
        lim.rlim_cur = need as libc::rlim_t;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0, "setrlimit");
    }
}
