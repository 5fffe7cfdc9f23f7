//! Load generator for the `wss` side-by-side benchmark.
//!
//! Every connection is TLS (any certificate is accepted: the bench CA is
//! throw-away) + a WebSocket upgrade to `wss://localhost:<port>/` on 127.0.0.1,
//! except with `--raw` (plain TCP, no TLS, no WebSocket: the transport floor,
//! driven against `benches/peers/tcp_echo.c`).
//!
//! Subcommands (see `loadgen help`):
//!   echo    --port P --conns N --size BYTES --messages M [--rate R] [--pipeline K] [--text] [--sync] [--raw]
//!           [--json] [--deflate takeover|nct|off]
//!   connect --port P --count N [--resume] [--concurrency C] [--raw]
//!   idle    --port P --count N [--hold-file F] [--threads T] [--exchange BYTES] [--deflate ...]
//!   hsfloor --cert C --key K --count N [--resume] [--warmup W]
//!
//! Each prints one JSON line with its results on stdout (idle prints
//! `READY {json}` once every connection is open). With `--sync`, `echo` prints
//! `CONNECTED` once all connections are up and waits for one line on stdin
//! before sending; after printing its JSON it waits for stdin to yield a line
//! or EOF before closing the connections. This lets a driver sample the
//! server's CPU time around the message phase only.
//!
//! `hsfloor` needs no server: it runs N TLS handshakes between an OpenSSL
//! server and client in this process over in-memory pipes and reports the
//! server side's thread CPU time per handshake (OpenSSL's own cost, no
//! sockets).
//!
//! `--deflate` clients are `wss::Client`s (our own library) offering permessage-deflate, since
//! tungstenite cannot negotiate it (it rejects RSV1); without it every WebSocket client is a
//! tungstenite one. Their payload is compressible JSON-like text (`--json`, implied).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use openssl::ssl::{
    ErrorCode, Ssl, SslConnector, SslContext, SslContextBuilder, SslFiletype, SslMethod,
    SslOptions, SslSession, SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

type Ws = WebSocket<SslStream<TcpStream>>;
type Res<T> = Result<T, String>;

// ---------------------------------------------------------------- args

struct Args {
    cmd: String,
    kv: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse() -> Args {
        let mut it = std::env::args().skip(1);
        let cmd = it.next().unwrap_or_else(|| "help".into());
        let rest: Vec<String> = it.collect();
        let mut kv = Vec::new();
        let mut i = 0;
        while i < rest.len() {
            let k = rest[i].trim_start_matches("--").to_string();
            if let Some((a, b)) = k.split_once('=') {
                kv.push((a.to_string(), Some(b.to_string())));
                i += 1;
            } else if i + 1 < rest.len() && !rest[i + 1].starts_with("--") {
                kv.push((k, Some(rest[i + 1].clone())));
                i += 2;
            } else {
                kv.push((k, None));
                i += 1;
            }
        }
        Args { cmd, kv }
    }
    /// Refuse options `cmd` does not know: a misspelt or stale option would otherwise be
    /// ignored silently and a run would measure something else than asked.
    fn only(&self, known: &[&str]) {
        if let Some((k, _)) = self.kv.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            die(&format!("{}: unknown option --{k}", self.cmd));
        }
    }
    fn flag(&self, k: &str) -> bool {
        self.kv.iter().any(|(a, _)| a == k)
    }
    fn str(&self, k: &str) -> Option<String> {
        self.kv
            .iter()
            .find(|(a, _)| a == k)
            .and_then(|(_, v)| v.clone())
    }
    fn num<T: std::str::FromStr>(&self, k: &str, default: Option<T>) -> T {
        match self.str(k) {
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| die(&format!("bad value for --{k}: {v}"))),
            None => default.unwrap_or_else(|| die(&format!("missing --{k}"))),
        }
    }
}

fn die(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(2)
}

const USAGE: &str = "\
usage:
  loadgen echo    --port P --conns N --size BYTES --messages M [--rate R] [--pipeline K] [--text] [--sync] [--raw]
      M is the total number of messages (split over the N connections).
      Every echo is verified byte-for-byte (and its opcode); --text sends
      ASCII text messages instead of binary ones.
      --rate R: open-loop schedule of R msgs/s in total; latency is measured
      from the scheduled send time (no coordinated omission).
      --raw: plain TCP (no TLS, no WebSocket) against a TCP echo server: each
      message is SIZE bytes written, then exactly SIZE bytes read back and
      verified.
      --json: compressible payload: JSON-like records (one per line) whose
      numbers vary with the connection, the message and the record.
      --deflate takeover|nct|off: the clients are wss::Client (our library)
      instead of tungstenite and offer permessage-deflate with context
      takeover (the defaults), without it in either direction (nct), or not
      at all (off: the same client uncompressed, a control). Implies --json.
  loadgen connect --port P --count N [--resume] [--concurrency C (default 2)] [--raw]
      --raw: TCP connect, 1 byte each way, close (no TLS, no WebSocket).
  loadgen idle    --port P --count N [--hold-file F] [--threads T (default 4)]
                  [--exchange BYTES] [--deflate takeover|nct|off]
      prints `READY {json}` when all N are open, then holds them until stdin
      reaches EOF or F is deleted. --exchange: each connection echoes one
      --json message of BYTES first (with compression, the state a connection
      keeps after its first message is what is held). --deflate: as for echo.
  loadgen hsfloor --cert C --key K --count N [--resume] [--warmup W (default 300)]
      N TLS 1.3 handshakes in this process between an OpenSSL server (configured
      like wss's) and client over in-memory pipes, no sockets; reports the server
      side's thread CPU time per handshake. --resume: the client offers the
      ticket from its previous connection.
  loadgen kexfloor --key K --count N
      The public-key work of one TLS 1.3 server handshake done directly through
      OpenSSL's EVP calls, thread CPU per operation: X25519 key generation (the
      key share), X25519 derive (the shared secret), ECDSA sign with SHA-256 of a
      CertificateVerify-sized input with the server key K (PEM).";

// ---------------------------------------------------------------- TLS + WS

thread_local! {
    /// Latest session delivered by the new-session callback on this thread.
    static LAST_SESSION: RefCell<Option<SslSession>> = const { RefCell::new(None) };
}

fn connector(resume: bool) -> SslConnector {
    let mut b = SslConnector::builder(SslMethod::tls_client()).expect("SslConnector");
    client_sessions(&mut b, resume);
    b.build()
}

/// No verification; with `resume`, remember the newest session of this thread. TLS 1.3 tickets
/// arrive after the handshake (while reading app data) and are offered by the next connection.
fn client_sessions(b: &mut SslContextBuilder, resume: bool) {
    b.set_verify(SslVerifyMode::NONE);
    if resume {
        b.set_session_cache_mode(SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL);
        b.set_new_session_callback(|_ssl, sess| {
            LAST_SESSION.with(|s| *s.borrow_mut() = Some(sess));
        });
    } else {
        b.set_session_cache_mode(SslSessionCacheMode::OFF);
    }
}

fn ws_config(read_buf: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(read_buf)
        .max_message_size(Some(256 << 20))
        .max_frame_size(Some(256 << 20))
}

/// "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519"-style description of a connection.
fn tls_desc(ws: &Ws) -> String {
    let ssl = ws.get_ref().ssl();
    let cipher = ssl.current_cipher().map(|c| c.name()).unwrap_or("?");
    format!("{} {}", ssl.version_str(), cipher)
}

fn connect_ws(
    port: u16,
    conn: &SslConnector,
    session: Option<&SslSession>,
    read_buf: usize,
) -> Res<Ws> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("tcp connect: {e}"))?;
    tcp.set_nodelay(true).ok();
    let mut cfg = conn.configure().map_err(|e| e.to_string())?;
    cfg.set_verify_hostname(false);
    if let Some(s) = session {
        unsafe { cfg.set_session(s) }.map_err(|e| format!("set_session: {e}"))?;
    }
    let tls = cfg
        .connect("localhost", tcp)
        .map_err(|e| format!("tls handshake: {e}"))?;
    let url = format!("wss://localhost:{port}/");
    let (ws, _resp) = tungstenite::client::client_with_config(url, tls, Some(ws_config(read_buf)))
        .map_err(|e| format!("ws upgrade: {e}"))?;
    Ok(ws)
}

fn close_ws(mut ws: Ws) {
    let _ = ws.close(None);
    // Drain until the server's close frame (or EOF), bounded in time.
    let _ = ws
        .get_ref()
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(2)));
    while ws.read().is_ok() {}
    let _ = ws.get_mut().shutdown();
}

fn raise_nofile() {
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

fn wait_stdin_line() {
    let mut s = String::new();
    let _ = std::io::stdin().lock().read_line(&mut s);
}

fn println_flush(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
    let _ = out.flush();
}

// ---------------------------------------------------------------- wss::Client (--deflate)

/// `--deflate takeover|nct|off` (a bare `--deflate` is `takeover`): `None` without the option
/// (tungstenite clients), else the `Deflate` settings of the wss clients (`off`: disabled).
fn deflate_arg(a: &Args) -> Option<wss::Deflate> {
    if !a.flag("deflate") {
        return None;
    }
    match a.str("deflate").as_deref() {
        None | Some("takeover") => Some(wss::Deflate::on()),
        Some("nct") => Some(wss::Deflate::on().no_context_takeover()),
        Some("off") => Some(wss::Deflate::default()),
        Some(v) => die(&format!("--deflate takes takeover, nct or off, not {v}")),
    }
}

/// A throw-away self-signed certificate (PEM), made once per process.
fn dummy_ca_pem() -> &'static [u8] {
    static PEM: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PEM.get_or_init(|| {
        use openssl::{asn1::Asn1Time, ec, hash::MessageDigest, nid::Nid, pkey::PKey, x509};
        let make = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
            let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
            let key = PKey::from_ec_key(ec::EcKey::generate(&group)?)?;
            let mut name = x509::X509NameBuilder::new()?;
            name.append_entry_by_text("CN", "loadgen")?;
            let name = name.build();
            let mut b = x509::X509Builder::new()?;
            b.set_version(2)?;
            b.set_subject_name(&name)?;
            b.set_issuer_name(&name)?;
            b.set_pubkey(&key)?;
            b.set_not_before(&*Asn1Time::days_from_now(0)?)?;
            b.set_not_after(&*Asn1Time::days_from_now(2)?)?;
            b.sign(&key, MessageDigest::sha256())?;
            b.build().to_pem()
        };
        make().unwrap_or_else(|e| die(&format!("cannot make a throw-away CA: {e}")))
    })
}

/// What a wss client connection's handler hands to the thread driving it.
enum WssEvent {
    Message(bool, wss::Bytes),
    Closed(String),
}

/// Forwards a client connection's events to its driving thread.
struct Forward(mpsc::Sender<WssEvent>);

impl wss::Handler for Forward {
    fn on_message_owned(&self, _c: &wss::Connection, kind: wss::MessageKind, data: wss::Bytes) {
        let _ = self
            .0
            .send(WssEvent::Message(kind == wss::MessageKind::Text, data));
    }
    fn on_close(&self, _c: &wss::Connection, code: u16, reason: &str) {
        let _ = self
            .0
            .send(WssEvent::Closed(format!("closed {code} {reason}")));
    }
    fn on_error(&self, _c: Option<&wss::Connection>, e: &wss::Error) {
        let _ = self.0.send(WssEvent::Closed(format!("error: {e}")));
    }
}

/// One wss client connection driven synchronously: sends go straight to the library, echoes
/// come back through the channel.
struct WssConn {
    client: wss::Client,
    rx: mpsc::Receiver<WssEvent>,
}

impl WssConn {
    fn connect(port: u16, deflate: wss::Deflate) -> Res<WssConn> {
        let mut tls = wss::TlsConfig::new();
        tls.set_insecure_skip_peer_verification(true)
            .set_insecure_skip_hostname_verification(true);
        // Without a CA of its own, every wss::Client connect loads the system trust store into a
        // new TLS context (~1 MiB and milliseconds each: 10,000 idle clients would need 10 GB).
        // Verification is off anyway, so any CA will do.
        tls.load_ca_pem_mem(dummy_ca_pem())
            .map_err(|e| format!("wss client CA: {e}"))?;
        let mut cfg = wss::ClientConfig {
            tls: Some(tls),
            connect_timeout: Duration::from_secs(60),
            deflate,
            ..Default::default()
        };
        cfg.limits.max_message_size = 256 << 20;
        cfg.limits.max_frame_size = 256 << 20;
        cfg.limits.send_queue_limit = 256 << 20;
        let (tx, rx) = mpsc::channel();
        let client = wss::Client::connect(
            &format!("wss://127.0.0.1:{port}/"),
            &cfg,
            Arc::new(Forward(tx)),
        )
        .map_err(|e| format!("wss connect: {e}"))?;
        if deflate.enabled && client.connection().info().deflate.is_none() {
            return Err("the server did not accept permessage-deflate".into());
        }
        Ok(WssConn { client, rx })
    }

    /// "TLSv1.3 TLS_AES_128_GCM_SHA256 permessage-deflate; ..." as negotiated.
    fn desc(&self) -> String {
        let info = self.client.connection().info();
        let tls = info
            .tls
            .as_ref()
            .map(|t| format!("{} {}", t.version, t.cipher))
            .unwrap_or_else(|| "?".into());
        match &info.deflate {
            Some(d) => format!("{tls} {d}"),
            None => format!("{tls} uncompressed"),
        }
    }

    fn recv(&mut self) -> Res<(bool, wss::Bytes)> {
        match self.rx.recv_timeout(Duration::from_secs(60)) {
            Ok(WssEvent::Message(t, d)) => Ok((t, d)),
            Ok(WssEvent::Closed(why)) => Err(format!("server {why}")),
            Err(_) => Err("no echo within 60 s".into()),
        }
    }

    fn close(self) {
        let _ = self.client.close(1000, "", Duration::from_secs(2));
    }
}

// ---------------------------------------------------------------- echo

/// `--json` payload of message `seq` on connection `conn`: JSON-like records, one per line, whose
/// numbers vary with the connection, the message and the record, cut to `size` bytes. Text that
/// compresses about as well as real API traffic (repeated keys, varying values), and verifiable
/// by generating it again.
fn json_msg(conn: usize, seq: u64, size: usize) -> Vec<u8> {
    const SIDES: [&str; 2] = ["buy", "sell"];
    let mut v = Vec::with_capacity(size + 160);
    let mut x: u64 =
        0x9E37_79B9_7F4A_7C15 ^ ((conn as u64 + 1) << 40) ^ seq.wrapping_mul(0x1000_0000_01B3);
    let mut i = 0u64;
    while v.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let _ = writeln!(
            v,
            "{{\"conn\":{conn},\"seq\":{seq},\"i\":{i},\"user\":\"user-{:05}\",\"symbol\":\"SYM{}\",\"price\":{}.{:02},\"qty\":{},\"side\":\"{}\",\"ts\":{}}}",
            x % 100_000,
            (x >> 17) % 50,
            (x >> 23) % 10_000,
            (x >> 37) % 100,
            (x >> 44) % 1_000 + 1,
            SIDES[((x >> 55) & 1) as usize],
            1_700_000_000_000u64 + seq * 1_000 + i,
        );
        i += 1;
    }
    v.truncate(size);
    v
}

fn pattern(conn: usize, size: usize, text: bool) -> Vec<u8> {
    let mut v = pattern_bin(conn, size);
    if text {
        for b in v.iter_mut() {
            *b = b'a' + (*b % 26);
        }
    }
    v
}

fn pattern_bin(conn: usize, size: usize) -> Vec<u8> {
    // xorshift stream seeded by the connection id: verifiable, not compressible.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ ((conn as u64 + 1) * 0x1000_0000_01B3);
    let mut v = Vec::with_capacity(size);
    while v.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        for b in x.to_le_bytes() {
            if v.len() < size {
                v.push(b);
            }
        }
    }
    v
}

const HDR: usize = 12; // u32 connection id + u64 sequence number

/// Per-message header. Binary: u32 connection id + u64 sequence number, both
/// little-endian. Text: the low 48 bits of (conn << 32 | seq) as 12 letters
/// 'a'..'p' (one per nibble), so the message stays valid UTF-8.
fn header(conn: usize, seq: u64, text: bool) -> [u8; HDR] {
    let mut h = [0u8; HDR];
    if text {
        let v = ((conn as u64) << 32) ^ seq;
        for (i, b) in h.iter_mut().enumerate() {
            *b = b'a' + ((v >> (4 * i)) & 0xF) as u8;
        }
    } else {
        h[0..4].copy_from_slice(&(conn as u32).to_le_bytes());
        h[4..12].copy_from_slice(&seq.to_le_bytes());
    }
    h
}

fn make_msg(pat: &[u8], conn: usize, seq: u64, text: bool) -> Vec<u8> {
    let mut m = pat.to_vec();
    if m.len() >= HDR {
        m[0..HDR].copy_from_slice(&header(conn, seq, text));
    }
    m
}

fn verify(pat: &[u8], conn: usize, seq: u64, got: &[u8], text: bool) -> Res<()> {
    if got.len() != pat.len() {
        return Err(format!(
            "conn {conn} seq {seq}: length {} != {}",
            got.len(),
            pat.len()
        ));
    }
    if pat.len() >= HDR {
        if got[0..HDR] != header(conn, seq, text) {
            return Err(format!(
                "conn {conn} seq {seq}: wrong header (reordered or corrupted)"
            ));
        }
        if got[HDR..] != pat[HDR..] {
            return Err(format!("conn {conn} seq {seq}: payload mismatch"));
        }
    } else if got != pat {
        return Err(format!("conn {conn} seq {seq}: payload mismatch"));
    }
    Ok(())
}

// ---------------------------------------------------------------- echo connections

/// One echo connection: WebSocket over TLS (tungstenite, or wss with `--deflate`), or plain
/// TCP (`--raw`).
enum EchoConn {
    Ws(Box<Ws>),
    Wss(WssConn),
    Raw(RawConn),
}

impl EchoConn {
    fn open(
        port: u16,
        raw: bool,
        tls: &SslConnector,
        size: usize,
        read_buf: usize,
        deflate: Option<wss::Deflate>,
    ) -> Res<EchoConn> {
        if raw {
            RawConn::connect(port, size).map(EchoConn::Raw)
        } else if let Some(d) = deflate {
            WssConn::connect(port, d).map(EchoConn::Wss)
        } else {
            connect_ws(port, tls, None, read_buf).map(|w| EchoConn::Ws(Box::new(w)))
        }
    }

    fn desc(&self) -> String {
        match self {
            EchoConn::Ws(ws) => tls_desc(ws),
            EchoConn::Wss(w) => w.desc(),
            EchoConn::Raw(_) => "none".into(),
        }
    }

    /// Queue one message (WS: one frame; raw: its bytes).
    fn send(&mut self, m: Vec<u8>, text: bool) -> Res<()> {
        match self {
            EchoConn::Ws(ws) => {
                let m = if text {
                    Message::Text(String::from_utf8(m).expect("ascii").into())
                } else {
                    Message::Binary(m.into())
                };
                ws.write(m).map_err(|e| format!("write: {e}"))
            }
            EchoConn::Wss(w) => {
                let kind = if text {
                    wss::MessageKind::Text
                } else {
                    wss::MessageKind::Binary
                };
                w.client
                    .connection()
                    .send(kind, &m)
                    .map_err(|e| format!("send: {e}"))
            }
            EchoConn::Raw(r) => {
                r.out.push_back(m);
                Ok(())
            }
        }
    }

    /// Push queued output towards the peer (raw: as far as it goes without blocking;
    /// the rest is sent while waiting for the echo).
    fn flush(&mut self) -> Res<()> {
        match self {
            EchoConn::Ws(ws) => ws.flush().map_err(|e| format!("flush: {e}")),
            EchoConn::Wss(_) => Ok(()), // sent by the library's I/O thread
            EchoConn::Raw(r) => r.send_some().map(drop),
        }
    }

    /// Wait for the next echoed message and hand it to `f` as (is_text, payload).
    /// Ok(false): a control frame arrived instead (WS only); call again.
    fn recv(&mut self, f: impl FnOnce(bool, &[u8]) -> Res<()>) -> Res<bool> {
        match self {
            EchoConn::Ws(ws) => match ws.read().map_err(|e| format!("read: {e}"))? {
                m @ (Message::Binary(_) | Message::Text(_)) => {
                    let t = m.is_text();
                    f(t, &m.into_data())?;
                    Ok(true)
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(false),
                Message::Close(fr) => Err(format!("server closed: {fr:?}")),
            },
            EchoConn::Wss(w) => {
                let (t, d) = w.recv()?;
                f(t, &d)?;
                Ok(true)
            }
            EchoConn::Raw(r) => {
                let m = r.recv_msg()?;
                f(false, m)?;
                Ok(true)
            }
        }
    }

    fn close(self) {
        match self {
            EchoConn::Ws(ws) => close_ws(*ws),
            EchoConn::Wss(w) => w.close(),
            EchoConn::Raw(r) => r.close(),
        }
    }
}

/// Plain-TCP echo connection: messages are `size` bytes back to back in both
/// directions. Output is queued and sent without blocking while the echo is
/// read, so a message larger than the socket buffers cannot deadlock against
/// a server that stops reading while its own output is backed up.
struct RawConn {
    s: TcpStream,
    size: usize,
    out: VecDeque<Vec<u8>>,
    out_off: usize, // sent part of out.front()
    inb: Vec<u8>,
    in_off: usize, // start of the unconsumed input in inb
}

impl RawConn {
    fn connect(port: u16, size: usize) -> Res<RawConn> {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("tcp connect: {e}"))?;
        s.set_nodelay(true).ok();
        Ok(RawConn {
            s,
            size,
            out: VecDeque::new(),
            out_off: 0,
            inb: Vec::with_capacity(size.max(64 * 1024)),
            in_off: 0,
        })
    }

    /// Send queued output until done or the socket would block. Ok(true): all sent.
    fn send_some(&mut self) -> Res<bool> {
        let fd = self.s.as_raw_fd();
        while let Some(front) = self.out.front() {
            let rest = &front[self.out_off..];
            // SAFETY: `rest` is a valid readable buffer of rest.len() bytes; fd is our socket.
            let n = unsafe {
                libc::send(
                    fd,
                    rest.as_ptr().cast(),
                    rest.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                return match e.kind() {
                    std::io::ErrorKind::WouldBlock => Ok(false),
                    std::io::ErrorKind::Interrupted => continue,
                    _ => Err(format!("send: {e}")),
                };
            }
            self.out_off += n as usize;
            if self.out_off == front.len() {
                self.out.pop_front();
                self.out_off = 0;
            }
        }
        Ok(true)
    }

    /// One recv into the input buffer. `block`: wait for data; else return 0 if none.
    fn recv_some(&mut self, block: bool) -> Res<usize> {
        if self.in_off > 0 && self.in_off == self.inb.len() {
            self.inb.clear();
            self.in_off = 0;
        } else if self.in_off > 0 && self.in_off >= self.inb.capacity() / 2 {
            // Pipelined: move the partial next message to the front.
            self.inb.drain(..self.in_off);
            self.in_off = 0;
        }
        let want = (self.size - (self.inb.len() - self.in_off).min(self.size)).max(64 * 1024);
        self.inb.reserve(want);
        let len = self.inb.len();
        let spare = self.inb.capacity() - len;
        let flags = if block { 0 } else { libc::MSG_DONTWAIT };
        loop {
            // SAFETY: the spare capacity of `inb` is writable for `spare` bytes; only the
            // n bytes recv() initialised are added to the length.
            let n = unsafe {
                libc::recv(
                    self.s.as_raw_fd(),
                    self.inb.as_mut_ptr().add(len).cast(),
                    spare,
                    flags,
                )
            };
            if n > 0 {
                unsafe { self.inb.set_len(len + n as usize) };
                return Ok(n as usize);
            }
            if n == 0 {
                return Err("server closed the connection".into());
            }
            let e = std::io::Error::last_os_error();
            match e.kind() {
                std::io::ErrorKind::Interrupted => continue,
                std::io::ErrorKind::WouldBlock if !block => return Ok(0),
                _ => return Err(format!("recv: {e}")),
            }
        }
    }

    /// The next `size` echoed bytes (valid until the next call).
    fn recv_msg(&mut self) -> Res<&[u8]> {
        while self.inb.len() - self.in_off < self.size {
            if self.out.is_empty() {
                self.recv_some(true)?;
                continue;
            }
            // Output still queued: wait for either direction.
            let mut pfd = libc::pollfd {
                fd: self.s.as_raw_fd(),
                events: libc::POLLIN | libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, 30_000) };
            if r < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(format!("poll: {e}"));
            }
            if r == 0 {
                return Err("no progress for 30 s".into());
            }
            if pfd.revents & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0 {
                self.send_some()?;
            }
            if pfd.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0 {
                self.recv_some(false)?;
            }
        }
        let m = &self.inb[self.in_off..self.in_off + self.size];
        self.in_off += self.size;
        Ok(m)
    }

    fn close(self) {
        // Half-close, then wait (bounded) for the server to close its side.
        let mut s = self.s;
        let _ = s.shutdown(Shutdown::Write);
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }
}

struct ConnResult {
    done: u64,
    lat_us: Vec<u32>,
    err: Option<String>,
}

fn echo(a: &Args) {
    let port: u16 = a.num("port", None);
    let conns: usize = a.num("conns", Some(1));
    let size: usize = a.num("size", Some(64));
    let total: u64 = a.num("messages", Some(1000));
    let rate: f64 = a.num("rate", Some(0.0));
    let pipeline: usize = a.num::<usize>("pipeline", Some(1)).max(1);
    let sync = a.flag("sync");
    let text = a.flag("text");
    let raw = a.flag("raw");
    let deflate = deflate_arg(a);
    let json = a.flag("json") || deflate.is_some();
    if conns == 0 {
        die("--conns must be > 0");
    }
    if raw && text {
        die("--text has no meaning with --raw (no WebSocket opcodes)");
    }
    if raw && deflate.is_some() {
        die("--deflate has no meaning with --raw (no WebSocket)");
    }

    let tls = Arc::new(connector(false));
    let ready = Arc::new(Barrier::new(conns + 1));
    let go = Arc::new(Barrier::new(conns + 1));
    let finish = Arc::new(Barrier::new(conns + 1));
    let start_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let connect_errors = Arc::new(AtomicU64::new(0));
    let close_gate = Arc::new(Barrier::new(conns + 1));
    let results: Arc<Mutex<Vec<ConnResult>>> = Arc::new(Mutex::new(Vec::new()));
    let tls_used: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));

    let mut handles = Vec::new();
    for c in 0..conns {
        let my = total / conns as u64
            + if (c as u64) < total % conns as u64 {
                1
            } else {
                0
            };
        let (results, close_gate, tls_used) =
            (results.clone(), close_gate.clone(), tls_used.clone());
        let (tls, ready, go, finish, start_at, cerr) = (
            tls.clone(),
            ready.clone(),
            go.clone(),
            finish.clone(),
            start_at.clone(),
            connect_errors.clone(),
        );
        let h = thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || {
                let ws = EchoConn::open(port, raw, &tls, size, 128 * 1024, deflate);
                match &ws {
                    Ok(w) if c == 0 => *tls_used.lock().unwrap() = w.desc(),
                    Ok(_) => {}
                    Err(_) => {
                        cerr.fetch_add(1, Ordering::Relaxed);
                    }
                }
                ready.wait();
                go.wait();
                let t0 = start_at.lock().unwrap().unwrap();
                let mut ws = match ws {
                    Ok(ws) => ws,
                    Err(e) => {
                        results.lock().unwrap().push(ConnResult {
                            done: 0,
                            lat_us: vec![],
                            err: Some(e),
                        });
                        finish.wait();
                        close_gate.wait();
                        return;
                    }
                };
                let payload = Payload { text, json };
                let r = echo_conn(&mut ws, c, conns, size, my, rate, pipeline, payload, t0);
                results.lock().unwrap().push(r);
                finish.wait();
                close_gate.wait();
                ws.close();
            })
            .expect("spawn");
        handles.push(h);
    }

    ready.wait();
    if sync {
        println_flush("CONNECTED");
        wait_stdin_line();
    }
    let t0 = Instant::now() + Duration::from_millis(if rate > 0.0 { 20 } else { 0 });
    *start_at.lock().unwrap() = Some(t0);
    go.wait();
    finish.wait();
    let elapsed = t0.elapsed().as_secs_f64();
    let mut done = 0u64;
    let mut lat: Vec<u32> = Vec::new();
    let mut errors = 0u64;
    let mut first_err: Option<String> = None;
    let results = std::mem::take(&mut *results.lock().unwrap());
    for r in results {
        done += r.done;
        lat.extend_from_slice(&r.lat_us);
        if let Some(e) = r.err {
            errors += 1;
            if first_err.is_none() {
                first_err = Some(e);
            }
        }
    }
    lat.sort_unstable();
    let pct = |p: f64| -> u32 {
        if lat.is_empty() {
            0
        } else {
            lat[(((lat.len() as f64) * p).ceil() as usize).clamp(1, lat.len()) - 1]
        }
    };
    let bytes = done * size as u64;
    let deflate_s = match deflate {
        None => "null".to_string(),
        Some(d) if !d.enabled => "\"off\"".into(),
        Some(d) if d.server_no_context_takeover => "\"nct\"".into(),
        Some(_) => "\"takeover\"".into(),
    };
    let json = format!(
        "{{\"mode\":\"echo\",\"raw\":{raw},\"json\":{json},\"deflate\":{deflate_s},\"conns\":{conns},\"size\":{size},\"pipeline\":{pipeline},\"text\":{text},\"rate\":{rate},\
\"messages\":{done},\"expected\":{total},\"bytes\":{bytes},\"elapsed_s\":{elapsed:.6},\
\"msgs_per_s\":{:.1},\"mib_per_s\":{:.2},\"errors\":{errors},\"first_error\":{},\"tls\":{},\
\"latency_us\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"max\":{}}}}}",
        done as f64 / elapsed,
        bytes as f64 / elapsed / 1048576.0,
        json_str(first_err.as_deref()),
        json_str(Some(&tls_used.lock().unwrap())),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        lat.last().copied().unwrap_or(0)
    );
    println_flush(&json);
    if sync {
        wait_stdin_line();
    }
    close_gate.wait();
    for h in handles {
        let _ = h.join();
    }
}

/// What the messages of one echo run are: the opcode, and random bytes or `--json` text.
#[derive(Clone, Copy)]
struct Payload {
    text: bool,
    json: bool,
}

impl Payload {
    /// Message `seq` of connection `c` (`pat`: the connection's random pattern).
    fn make(self, pat: &[u8], c: usize, seq: u64) -> Vec<u8> {
        if self.json {
            json_msg(c, seq, pat.len())
        } else {
            make_msg(pat, c, seq, self.text)
        }
    }

    fn verify(self, pat: &[u8], c: usize, seq: u64, got: &[u8]) -> Res<()> {
        if !self.json {
            return verify(pat, c, seq, got, self.text);
        }
        if got != json_msg(c, seq, pat.len()).as_slice() {
            return Err(format!(
                "conn {c} seq {seq}: payload mismatch ({} bytes)",
                got.len()
            ));
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn echo_conn(
    ws: &mut EchoConn,
    c: usize,
    conns: usize,
    size: usize,
    my: u64,
    rate: f64,
    pipeline: usize,
    payload: Payload,
    t0: Instant,
) -> ConnResult {
    let text = payload.text;
    let pat = if payload.json {
        vec![0; size] // only its length is used
    } else {
        pattern(c, size, text)
    };
    let mut lat = Vec::with_capacity(my as usize);
    // Per-connection schedule: conn c sends at t0 + (c/conns + i) * period.
    let period = if rate > 0.0 { conns as f64 / rate } else { 0.0 };
    let offset = if rate > 0.0 {
        period * c as f64 / conns as f64
    } else {
        0.0
    };
    let mut inflight: VecDeque<(u64, Instant)> = VecDeque::with_capacity(pipeline);
    let mut sent = 0u64;
    let mut done = 0u64;
    let mut run = || -> Res<()> {
        while done < my {
            let mut wrote = false;
            while inflight.len() < pipeline && sent < my {
                let stamp = if rate > 0.0 {
                    let at = t0 + Duration::from_secs_f64(offset + period * sent as f64);
                    let now = Instant::now();
                    if at > now {
                        if !inflight.is_empty() {
                            break; // read what is due first
                        }
                        thread::sleep(at - now);
                    }
                    at
                } else {
                    Instant::now()
                };
                ws.send(payload.make(&pat, c, sent), text)
                    .map_err(|e| format!("conn {c}: {e}"))?;
                inflight.push_back((sent, stamp));
                sent += 1;
                wrote = true;
            }
            if wrote {
                ws.flush().map_err(|e| format!("conn {c}: {e}"))?;
            }
            let got = ws
                .recv(|is_text, data| {
                    if is_text != text {
                        return Err(format!("conn {c}: echo came back with the wrong opcode"));
                    }
                    let (seq, stamp) = inflight
                        .pop_front()
                        .ok_or_else(|| format!("conn {c}: unexpected message"))?;
                    payload.verify(&pat, c, seq, data)?;
                    lat.push(stamp.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    Ok(())
                })
                .map_err(|e| {
                    if e.starts_with("conn ") {
                        e
                    } else {
                        format!("conn {c}: {e}")
                    }
                })?;
            if got {
                done += 1;
            }
        }
        Ok(())
    };
    let r = run();
    ConnResult {
        done,
        lat_us: lat,
        err: r.err(),
    }
}

fn json_str(s: Option<&str>) -> String {
    match s {
        None => "null".into(),
        Some(s) => {
            let mut o = String::from("\"");
            for ch in s.chars() {
                match ch {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
    }
}

// ---------------------------------------------------------------- connect

fn connect(a: &Args) {
    let port: u16 = a.num("port", None);
    let count: usize = a.num("count", Some(100));
    let conc: usize = a.num::<usize>("concurrency", Some(2)).max(1);
    let resume = a.flag("resume");
    let raw = a.flag("raw");
    if raw && resume {
        die("--resume has no meaning with --raw (no TLS)");
    }
    let tls = Arc::new(connector(resume));
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let resumed = Arc::new(AtomicU64::new(0));
    let errs = Arc::new(AtomicU64::new(0));
    let first_err: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..conc)
        .map(|_| {
            let (tls, next, ok, resumed, errs, first_err) = (
                tls.clone(),
                next.clone(),
                ok.clone(),
                resumed.clone(),
                errs.clone(),
                first_err.clone(),
            );
            thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                if raw {
                    match raw_exchange(port, i as u8) {
                        Ok(()) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            errs.fetch_add(1, Ordering::Relaxed);
                            first_err.lock().unwrap().get_or_insert(e);
                        }
                    }
                    continue;
                }
                let sess = if resume {
                    LAST_SESSION.with(|s| s.borrow_mut().take())
                } else {
                    None
                };
                match connect_ws(port, &tls, sess.as_ref(), 4096) {
                    Ok(ws) => {
                        if ws.get_ref().ssl().session_reused() {
                            resumed.fetch_add(1, Ordering::Relaxed);
                        }
                        ok.fetch_add(1, Ordering::Relaxed);
                        close_ws(ws);
                    }
                    Err(e) => {
                        errs.fetch_add(1, Ordering::Relaxed);
                        first_err.lock().unwrap().get_or_insert(e);
                    }
                }
            })
        })
        .collect();
    for h in hs {
        let _ = h.join();
    }
    let el = t0.elapsed().as_secs_f64();
    let okn = ok.load(Ordering::Relaxed);
    let fe = first_err.lock().unwrap().clone();
    println_flush(&format!(
        "{{\"mode\":\"connect\",\"raw\":{raw},\"resume\":{resume},\"count\":{count},\"concurrency\":{conc},\"ok\":{okn},\
\"resumed\":{},\"errors\":{},\"first_error\":{},\"elapsed_s\":{el:.6},\"handshakes_per_s\":{:.1}}}",
        resumed.load(Ordering::Relaxed),
        errs.load(Ordering::Relaxed),
        json_str(fe.as_deref()),
        okn as f64 / el
    ));
}

/// `connect --raw`: TCP connect, one byte each way (verified), half-close, wait for
/// the server's close. Mirrors connection setup, one exchange and teardown.
fn raw_exchange(port: u16, b: u8) -> Res<()> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("tcp connect: {e}"))?;
    s.set_nodelay(true).ok();
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.write_all(&[b]).map_err(|e| format!("write: {e}"))?;
    let mut got = [0u8; 1];
    s.read_exact(&mut got).map_err(|e| format!("read: {e}"))?;
    if got[0] != b {
        return Err(format!("echo mismatch: sent {b}, got {}", got[0]));
    }
    s.shutdown(Shutdown::Write)
        .map_err(|e| format!("shutdown: {e}"))?;
    match s.read(&mut got) {
        Ok(0) => Ok(()),
        Ok(_) => Err("unexpected data after the echo".into()),
        Err(e) => Err(format!("waiting for the server's close: {e}")),
    }
}

// ---------------------------------------------------------------- idle

fn idle(a: &Args) {
    let port: u16 = a.num("port", None);
    let count: usize = a.num("count", Some(100));
    let threads: usize = a.num::<usize>("threads", Some(4)).clamp(1, 64);
    let hold_file = a.str("hold-file");
    let deflate = deflate_arg(a);
    let exchange: usize = a.num("exchange", Some(0));
    let tls = Arc::new(connector(false));
    let next = Arc::new(AtomicUsize::new(0));
    let first_err: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (tls, next, first_err) = (tls.clone(), next.clone(), first_err.clone());
            thread::spawn(move || {
                let mut mine: Vec<EchoConn> = Vec::new();
                let mut errs = 0u64;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    match EchoConn::open(port, false, &tls, 0, 4096, deflate)
                        .and_then(|c| idle_exchange(c, i, exchange))
                    {
                        Ok(ws) => mine.push(ws),
                        Err(e) => {
                            errs += 1;
                            first_err.lock().unwrap().get_or_insert(e);
                        }
                    }
                }
                (mine, errs)
            })
        })
        .collect();
    let mut all: Vec<EchoConn> = Vec::with_capacity(count);
    let mut errors = 0u64;
    for h in hs {
        let (v, e) = h.join().unwrap();
        all.extend(v);
        errors += e;
    }
    let el = t0.elapsed().as_secs_f64();
    let fe = first_err.lock().unwrap().clone();
    println_flush(&format!(
        "READY {{\"mode\":\"idle\",\"count\":{count},\"exchange\":{exchange},\"tls\":{},\"open\":{},\"errors\":{errors},\"first_error\":{},\"elapsed_s\":{el:.3}}}",
        json_str(all.first().map(|c| c.desc()).as_deref()),
        all.len(),
        json_str(fe.as_deref())
    ));

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 256];
            let mut stdin = std::io::stdin();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            stop.store(true, Ordering::SeqCst);
        });
    }
    while !stop.load(Ordering::SeqCst) {
        if let Some(f) = &hold_file {
            if !std::path::Path::new(f).exists() {
                break;
            }
        }
        thread::sleep(Duration::from_millis(100));
    }
    // Connections are dropped (sockets closed) on exit.
    drop(all);
}

/// `idle --exchange BYTES`: echo one `--json` message of BYTES on a fresh connection (binary),
/// so that what it holds afterwards is the state of a connection that has been used.
fn idle_exchange(mut c: EchoConn, i: usize, bytes: usize) -> Res<EchoConn> {
    if bytes == 0 {
        return Ok(c);
    }
    let payload = Payload {
        text: false,
        json: true,
    };
    let pat = vec![0; bytes];
    c.send(payload.make(&pat, i, 0), false)?;
    c.flush()?;
    while !c.recv(|_, data| payload.verify(&pat, i, 0, data))? {}
    Ok(c)
}

// ---------------------------------------------------------------- hsfloor

/// One direction-pair of an in-memory transport: reads from `rd`, writes to `wr`.
/// Reading an empty buffer is WouldBlock, like a non-blocking socket.
struct Pipe {
    rd: Rc<RefCell<VecDeque<u8>>>,
    wr: Rc<RefCell<VecDeque<u8>>>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut q = self.rd.borrow_mut();
        if q.is_empty() {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        q.read(buf)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.wr.borrow_mut().extend(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Accumulates this thread's CPU time over the sections run through `time`.
#[derive(Default)]
struct CpuMeter {
    ns: u64,
    sections: u64,
}

impl CpuMeter {
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t0 = thread_cpu_ns();
        let r = f();
        self.ns += thread_cpu_ns() - t0;
        self.sections += 1;
        r
    }
}

/// Server context configured like wss's (src/tls/mod.rs: apply_common + server_context),
/// minus the I/O-buffer modes (read-ahead, RELEASE_BUFFERS), which only matter with sockets.
fn floor_server_ctx(cert: &str, key: &str) -> Result<SslContext, openssl::error::ErrorStack> {
    let mut b = SslContextBuilder::new(SslMethod::tls_server())?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2))?;
    b.set_cipher_list(
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:\
ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305",
    )?;
    b.set_ciphersuites(
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
    )?;
    b.set_groups_list("X25519:P-256:P-384")?;
    b.set_options(
        SslOptions::NO_COMPRESSION
            | SslOptions::NO_RENEGOTIATION
            | SslOptions::CIPHER_SERVER_PREFERENCE,
    );
    b.set_certificate_chain_file(cert)?;
    b.set_private_key_file(key, SslFiletype::PEM)?;
    b.check_private_key()?;
    // Build the certificate chain once (as wss does), not on every handshake.
    const SSL_CTRL_BUILD_CERT_CHAIN: std::os::raw::c_int = 105;
    const FLAGS: std::os::raw::c_long = 0x1 | 0x8 | 0x10; // UNTRUSTED | IGNORE_ERROR | CLEAR_ERROR
                                                          // SAFETY: `b` holds a valid SSL_CTX with a certificate; the call takes no pointer argument.
    if unsafe {
        openssl_sys::SSL_CTX_ctrl(
            b.as_ptr(),
            SSL_CTRL_BUILD_CERT_CHAIN,
            FLAGS,
            std::ptr::null_mut(),
        )
    } <= 0
    {
        let _ = openssl::error::ErrorStack::get();
    }
    b.set_verify(SslVerifyMode::NONE);
    b.set_session_id_context(b"wss")?;
    b.set_num_tickets(1)?;
    Ok(b.build())
}

fn floor_client_ctx(resume: bool) -> Result<SslContext, openssl::error::ErrorStack> {
    let mut b = SslContextBuilder::new(SslMethod::tls_client())?;
    client_sessions(&mut b, resume);
    Ok(b.build())
}

/// Result of one in-memory connection: (resumed, "TLSv1.3 <cipher>").
fn floor_handshake(
    sctx: &SslContext,
    cctx: &SslContext,
    resume: bool,
    cpu: &mut CpuMeter,
) -> Res<(bool, String)> {
    let e = |what: &str, err: &dyn std::fmt::Display| format!("{what}: {err}");
    let c2s = Rc::new(RefCell::new(VecDeque::with_capacity(4096)));
    let s2c = Rc::new(RefCell::new(VecDeque::with_capacity(4096)));
    let mut cssl = Ssl::new(cctx).map_err(|x| e("client Ssl::new", &x))?;
    if resume {
        if let Some(sess) = LAST_SESSION.with(|s| s.borrow_mut().take()) {
            // SAFETY: the session comes from a context with the same protocol settings.
            unsafe { cssl.set_session(&sess) }.map_err(|x| e("set_session", &x))?;
        }
    }
    let mut client = SslStream::new(
        cssl,
        Pipe {
            rd: s2c.clone(),
            wr: c2s.clone(),
        },
    )
    .map_err(|x| e("client SslStream::new", &x))?;
    let mut server = cpu
        .time(|| {
            Ssl::new(sctx).and_then(|ssl| {
                SslStream::new(
                    ssl,
                    Pipe {
                        rd: c2s.clone(),
                        wr: s2c.clone(),
                    },
                )
            })
        })
        .map_err(|x| e("server Ssl::new", &x))?;

    let (mut c_done, mut s_done) = (false, false);
    for _ in 0..16 {
        if !c_done {
            match client.connect() {
                Ok(()) => c_done = true,
                Err(x) if x.code() == ErrorCode::WANT_READ => {}
                Err(x) => return Err(e("client handshake", &x)),
            }
        }
        if !s_done {
            match cpu.time(|| server.accept()) {
                Ok(()) => s_done = true,
                Err(x) if x.code() == ErrorCode::WANT_READ => {}
                Err(x) => return Err(e("server handshake", &x)),
            }
        }
        if c_done && s_done {
            break;
        }
    }
    if !(c_done && s_done) {
        return Err("handshake did not complete".into());
    }
    // One small record each way: the client's read also processes the server's ticket.
    let mut buf = [0u8; 16];
    client.ssl_write(b"c").map_err(|x| e("client write", &x))?;
    let n = cpu
        .time(|| server.ssl_read(&mut buf))
        .map_err(|x| e("server read", &x))?;
    if buf[..n] != *b"c" {
        return Err("server read the wrong data".into());
    }
    cpu.time(|| server.ssl_write(b"s"))
        .map_err(|x| e("server write", &x))?;
    let n = client
        .ssl_read(&mut buf)
        .map_err(|x| e("client read", &x))?;
    if buf[..n] != *b"s" {
        return Err("client read the wrong data".into());
    }
    let resumed = client.ssl().session_reused();
    let ssl = server.ssl();
    let desc = format!(
        "{} {}",
        ssl.version_str(),
        ssl.current_cipher().map(|c| c.name()).unwrap_or("?")
    );
    // close_notify both ways: an SSL freed without it has its session marked not resumable.
    client.shutdown().map_err(|x| e("client shutdown", &x))?;
    cpu.time(|| server.shutdown())
        .map_err(|x| e("server shutdown", &x))?;
    drop(client);
    cpu.time(|| drop(server));
    Ok((resumed, desc))
}

fn hsfloor(a: &Args) {
    let cert = a.str("cert").unwrap_or_else(|| die("missing --cert"));
    let key = a.str("key").unwrap_or_else(|| die("missing --key"));
    let count: u64 = a.num("count", Some(2000));
    let warmup: u64 = a.num("warmup", Some(300));
    let resume = a.flag("resume");
    let fail = |msg: String| -> ! {
        println_flush(&format!(
            "{{\"mode\":\"hsfloor\",\"resume\":{resume},\"count\":{count},\"errors\":1,\"first_error\":{}}}",
            json_str(Some(&msg))
        ));
        std::process::exit(1)
    };
    let sctx =
        floor_server_ctx(&cert, &key).unwrap_or_else(|x| fail(format!("server context: {x}")));
    let cctx = floor_client_ctx(resume).unwrap_or_else(|x| fail(format!("client context: {x}")));

    // Cost of one timed section with nothing in it (two clock_gettime calls), subtracted below.
    let mut empty = CpuMeter::default();
    for _ in 0..10_000 {
        empty.time(|| ());
    }
    let overhead_ns = empty.ns as f64 / empty.sections as f64;

    let mut scratch = CpuMeter::default();
    for _ in 0..warmup {
        floor_handshake(&sctx, &cctx, resume, &mut scratch)
            .unwrap_or_else(|x| fail(format!("warm-up: {x}")));
    }
    let mut cpu = CpuMeter::default();
    let mut resumed = 0u64;
    let mut tls = String::new();
    let t0 = Instant::now();
    for _ in 0..count {
        let (r, d) = floor_handshake(&sctx, &cctx, resume, &mut cpu).unwrap_or_else(|x| fail(x));
        resumed += r as u64;
        tls = d;
    }
    let el = t0.elapsed().as_secs_f64();
    let n = count.max(1) as f64;
    let per = ((cpu.ns as f64 - overhead_ns * cpu.sections as f64) / n / 1e3).max(0.0);
    println_flush(&format!(
        "{{\"mode\":\"hsfloor\",\"resume\":{resume},\"count\":{count},\"warmup\":{warmup},\"resumed\":{resumed},\
\"server_cpu_us_per_handshake\":{per:.2},\"timed_sections_per_handshake\":{:.1},\"timer_overhead_ns\":{overhead_ns:.0},\
\"elapsed_s\":{el:.3},\"errors\":0,\"first_error\":null,\"tls\":{}}}",
        cpu.sections as f64 / n,
        json_str(Some(&tls))
    ));
}

/// What OpenSSL's own key exchange and signature cost, called directly: the floor the
/// handshake targets are stated against ("the OpenSSL cost of its key exchange + signature").
/// `openssl speed ecdhx25519` times only the derive, with keys made beforehand; a server
/// handshake also generates its key share.
fn kexfloor(a: &Args) {
    use openssl::derive::Deriver;
    use openssl::hash::MessageDigest;
    use openssl::pkey::{Id, PKey};
    use openssl::sign::Signer;

    let key = a.str("key").unwrap_or_else(|| die("missing --key"));
    let count: u64 = a.num("count", Some(2000));
    let fail = |msg: String| -> ! {
        println_flush(&format!(
            "{{\"mode\":\"kexfloor\",\"count\":{count},\"errors\":1,\"first_error\":{}}}",
            json_str(Some(&msg))
        ));
        std::process::exit(1)
    };
    let pem = std::fs::read(&key).unwrap_or_else(|e| fail(format!("{key}: {e}")));
    let signing = PKey::private_key_from_pem(&pem).unwrap_or_else(|e| fail(format!("{key}: {e}")));
    let client = PKey::generate_x25519().unwrap_or_else(|e| fail(format!("X25519: {e}")));
    let raw = client
        .raw_public_key()
        .unwrap_or_else(|e| fail(format!("X25519: {e}")));
    let peer = PKey::public_key_from_raw_bytes(&raw, Id::X25519)
        .unwrap_or_else(|e| fail(format!("X25519: {e}")));
    // TLS 1.3 CertificateVerify signs 64 spaces, a 33-byte context string, a zero byte and the
    // transcript hash (32 bytes with SHA-256): 130 bytes.
    let content = [0x20u8; 130];
    let (mut keygen, mut derive, mut sign) = (
        CpuMeter::default(),
        CpuMeter::default(),
        CpuMeter::default(),
    );
    let one = |keygen: &mut CpuMeter, derive: &mut CpuMeter, sign: &mut CpuMeter| -> Res<()> {
        let share = keygen
            .time(PKey::generate_x25519)
            .map_err(|e| e.to_string())?;
        let secret = derive
            .time(|| {
                let mut d = Deriver::new(&share)?;
                d.set_peer(&peer)?;
                d.derive_to_vec()
            })
            .map_err(|e| e.to_string())?;
        let sig = sign
            .time(|| {
                let mut s = Signer::new(MessageDigest::sha256(), &signing)?;
                s.sign_oneshot_to_vec(&content)
            })
            .map_err(|e| e.to_string())?;
        if secret.len() != 32 || sig.is_empty() {
            return Err("unexpected key exchange or signature output".into());
        }
        Ok(())
    };
    let mut scratch = (
        CpuMeter::default(),
        CpuMeter::default(),
        CpuMeter::default(),
    );
    for _ in 0..count / 10 + 10 {
        one(&mut scratch.0, &mut scratch.1, &mut scratch.2).unwrap_or_else(|e| fail(e));
    }
    for _ in 0..count {
        one(&mut keygen, &mut derive, &mut sign).unwrap_or_else(|e| fail(e));
    }
    let us = |m: &CpuMeter| m.ns as f64 / m.sections.max(1) as f64 / 1e3;
    let (k, d, s) = (us(&keygen), us(&derive), us(&sign));
    println_flush(&format!(
        "{{\"mode\":\"kexfloor\",\"count\":{count},\"x25519_keygen_us\":{k:.2},\"x25519_derive_us\":{d:.2},\
\"ecdsa_sign_us\":{s:.2},\"full_us\":{:.2},\"resumed_us\":{:.2},\"errors\":0,\"first_error\":null}}",
        k + d + s,
        k + d
    ));
}

fn main() {
    raise_nofile();
    let a = Args::parse();
    let known: &[&str] = match a.cmd.as_str() {
        "echo" => &[
            "port", "conns", "size", "messages", "rate", "pipeline", "sync", "text", "raw", "json",
            "deflate",
        ],
        "connect" => &["port", "count", "concurrency", "resume", "raw"],
        "idle" => &[
            "port",
            "count",
            "hold-file",
            "threads",
            "exchange",
            "deflate",
        ],
        "hsfloor" => &["cert", "key", "count", "warmup", "resume"],
        "kexfloor" => &["key", "count"],
        _ => &[],
    };
    a.only(known);
    match a.cmd.as_str() {
        "echo" => echo(&a),
        "connect" => connect(&a),
        "idle" => idle(&a),
        "hsfloor" => hsfloor(&a),
        "kexfloor" => kexfloor(&a),
        _ => {
            println!("{USAGE}");
        }
    }
}
