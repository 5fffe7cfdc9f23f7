//! Shared test support: an event-recording handler, the test PKI, TLS configs.
#![allow(dead_code)]

pub mod pki;

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{unbounded, Receiver, Sender};
use once_cell::sync::Lazy;
use pki::{TempDir, TestPki};
use wss::{
    AcceptDecision, Client, ClientConfig, Connection, Error, Handler, MessageKind, Server,
    TlsConfig, UpgradeRequest, VerifyMode,
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

pub fn recorder(echo: bool) -> (Arc<Recorder>, Receiver<Ev>) {
    let (tx, rx) = unbounded();
    (
        Arc::new(Recorder {
            tx,
            echo,
            accept: None,
        }),
        rx,
    )
}

pub fn recorder_with_accept(
    f: impl Fn(&UpgradeRequest<'_>) -> AcceptDecision + Send + Sync + 'static,
) -> (Arc<Recorder>, Receiver<Ev>) {
    let (tx, rx) = unbounded();
    (
        Arc::new(Recorder {
            tx,
            echo: false,
            accept: Some(Box::new(f)),
        }),
        rx,
    )
}

/// Next event, or panic after `WAIT`.
pub fn next(rx: &Receiver<Ev>) -> Ev {
    rx.recv_timeout(WAIT).expect("expected an event in time")
}

/// Skip events until `f` matches one.
pub fn until<T>(rx: &Receiver<Ev>, mut f: impl FnMut(&Ev) -> Option<T>) -> T {
    loop {
        let ev = next(rx);
        if let Some(t) = f(&ev) {
            return t;
        }
    }
}

pub fn wait_open(rx: &Receiver<Ev>) -> Connection {
    until(rx, |e| match e {
        Ev::Open(c) => Some(c.clone()),
        _ => None,
    })
}

pub fn wait_msg(rx: &Receiver<Ev>) -> (MessageKind, Vec<u8>) {
    until(rx, |e| match e {
        Ev::Msg(_, k, d) => Some((*k, d.clone())),
        _ => None,
    })
}

pub fn wait_close(rx: &Receiver<Ev>) -> (u16, String) {
    until(rx, |e| match e {
        Ev::Close(_, c, r) => Some((*c, r.clone())),
        _ => None,
    })
}

pub fn wait_error(rx: &Receiver<Ev>) -> Error {
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

/// A plain ws:// client with default settings connected to `server`, recording its events;
/// returns once it is open.
pub fn ws_client(server: &Server) -> (Client, Receiver<Ev>) {
    let (ch, crx) = recorder(false);
    let client = Client::connect(
        &format!("ws://127.0.0.1:{}/", server.port()),
        &ClientConfig::default(),
        ch,
    )
    .unwrap();
    wait_open(&crx);
    (client, crx)
}
