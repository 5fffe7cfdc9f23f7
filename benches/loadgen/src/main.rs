//! Load generator for the `wss` side-by-side benchmark.
//!
//! Every connection is TLS (any certificate is accepted: the bench CA is
//! throw-away) + a WebSocket upgrade to `wss://localhost:<port>/` on 127.0.0.1.
//!
//! Subcommands (see `loadgen help`):
//!   echo    --port P --conns N --size BYTES --messages M [--rate R] [--pipeline K] [--text] [--sync]
//!   connect --port P --count N [--resume] [--concurrency C]
//!   idle    --port P --count N [--hold-file F] [--threads T]
//!
//! Each prints one JSON line with its results on stdout (idle prints
//! `READY {json}` once every connection is open). With `--sync`, `echo` prints
//! `CONNECTED` once all connections are up and waits for one line on stdin
//! before sending; after printing its JSON it waits for stdin to yield a line
//! or EOF before closing the connections. This lets a driver sample the
//! server's CPU time around the message phase only.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use openssl::ssl::{
    SslConnector, SslMethod, SslSession, SslSessionCacheMode, SslStream, SslVerifyMode,
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
    fn flag(&self, k: &str) -> bool {
        self.kv.iter().any(|(a, _)| a == k)
    }
    fn str(&self, k: &str) -> Option<String> {
        self.kv.iter().find(|(a, _)| a == k).and_then(|(_, v)| v.clone())
    }
    fn num<T: std::str::FromStr>(&self, k: &str, default: Option<T>) -> T {
        match self.str(k) {
            Some(v) => v.parse().unwrap_or_else(|_| die(&format!("bad value for --{k}: {v}"))),
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
  loadgen echo    --port P --conns N --size BYTES --messages M [--rate R] [--pipeline K] [--text] [--sync]
      M is the total number of messages (split over the N connections).
      Every echo is verified byte-for-byte (and its opcode); --text sends
      ASCII text messages instead of binary ones.
      --rate R: open-loop schedule of R msgs/s in total; latency is measured
      from the scheduled send time (no coordinated omission).
  loadgen connect --port P --count N [--resume] [--concurrency C (default 2)]
  loadgen idle    --port P --count N [--hold-file F] [--threads T (default 4)]
      prints `READY {json}` when all N are open, then holds them until stdin
      reaches EOF or F is deleted.";

// ---------------------------------------------------------------- TLS + WS

thread_local! {
    /// Latest session delivered by the new-session callback on this thread.
    static LAST_SESSION: RefCell<Option<SslSession>> = const { RefCell::new(None) };
}

fn connector(resume: bool) -> SslConnector {
    let mut b = SslConnector::builder(SslMethod::tls_client()).expect("SslConnector");
    b.set_verify(SslVerifyMode::NONE);
    if resume {
        b.set_session_cache_mode(SslSessionCacheMode::CLIENT | SslSessionCacheMode::NO_INTERNAL);
        // TLS 1.3 tickets arrive after the handshake (while reading app data);
        // keep the newest one for the next connection made by this thread.
        b.set_new_session_callback(|_ssl, sess| {
            LAST_SESSION.with(|s| *s.borrow_mut() = Some(sess));
        });
    } else {
        b.set_session_cache_mode(SslSessionCacheMode::OFF);
    }
    b.build()
}

fn ws_config(read_buf: usize) -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(read_buf).max_message_size(Some(256 << 20)).max_frame_size(Some(256 << 20))
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
    let tls = cfg.connect("localhost", tcp).map_err(|e| format!("tls handshake: {e}"))?;
    let url = format!("wss://localhost:{port}/");
    let (ws, _resp) = tungstenite::client::client_with_config(url, tls, Some(ws_config(read_buf)))
        .map_err(|e| format!("ws upgrade: {e}"))?;
    Ok(ws)
}

fn close_ws(mut ws: Ws) {
    let _ = ws.close(None);
    // Drain until the server's close frame (or EOF), bounded in time.
    let _ = ws.get_ref().get_ref().set_read_timeout(Some(Duration::from_secs(2)));
    loop {
        match ws.read() {
            Ok(_) => continue,
            Err(_) => break,
        }
    }
    let _ = ws.get_mut().shutdown();
}

fn raise_nofile() {
    unsafe {
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
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

// ---------------------------------------------------------------- echo

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
        return Err(format!("conn {conn} seq {seq}: length {} != {}", got.len(), pat.len()));
    }
    if pat.len() >= HDR {
        if got[0..HDR] != header(conn, seq, text) {
            return Err(format!("conn {conn} seq {seq}: wrong header (reordered or corrupted)"));
        }
        if got[HDR..] != pat[HDR..] {
            return Err(format!("conn {conn} seq {seq}: payload mismatch"));
        }
    } else if got != pat {
        return Err(format!("conn {conn} seq {seq}: payload mismatch"));
    }
    Ok(())
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
    if conns == 0 {
        die("--conns must be > 0");
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
        let my = total / conns as u64 + if (c as u64) < total % conns as u64 { 1 } else { 0 };
        let (results, close_gate, tls_used) = (results.clone(), close_gate.clone(), tls_used.clone());
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
                let ws = connect_ws(port, &tls, None, 128 * 1024);
                match &ws {
                    Ok(w) if c == 0 => *tls_used.lock().unwrap() = tls_desc(w),
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
                        results.lock().unwrap().push(ConnResult { done: 0, lat_us: vec![], err: Some(e) });
                        finish.wait();
                        close_gate.wait();
                        return;
                    }
                };
                let r = echo_conn(&mut ws, c, conns, size, my, rate, pipeline, text, t0);
                results.lock().unwrap().push(r);
                finish.wait();
                close_gate.wait();
                close_ws(ws);
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
    let json = format!(
        "{{\"mode\":\"echo\",\"conns\":{conns},\"size\":{size},\"pipeline\":{pipeline},\"text\":{text},\"rate\":{rate},\
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

#[allow(clippy::too_many_arguments)]
fn echo_conn(
    ws: &mut Ws,
    c: usize,
    conns: usize,
    size: usize,
    my: u64,
    rate: f64,
    pipeline: usize,
    text: bool,
    t0: Instant,
) -> ConnResult {
    let pat = pattern(c, size, text);
    let mut lat = Vec::with_capacity(my as usize);
    // Per-connection schedule: conn c sends at t0 + (c/conns + i) * period.
    let period = if rate > 0.0 { conns as f64 / rate } else { 0.0 };
    let offset = if rate > 0.0 { period * c as f64 / conns as f64 } else { 0.0 };
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
                let m = make_msg(&pat, c, sent, text);
                let m = if text {
                    Message::Text(String::from_utf8(m).expect("ascii").into())
                } else {
                    Message::Binary(m.into())
                };
                ws.write(m)
                    .map_err(|e| format!("conn {c}: write: {e}"))?;
                inflight.push_back((sent, stamp));
                sent += 1;
                wrote = true;
            }
            if wrote {
                ws.flush().map_err(|e| format!("conn {c}: flush: {e}"))?;
            }
            match ws.read().map_err(|e| format!("conn {c}: read: {e}"))? {
                m @ (Message::Binary(_) | Message::Text(_)) => {
                    if m.is_text() != text {
                        return Err(format!("conn {c}: echo came back with the wrong opcode"));
                    }
                    let (seq, stamp) = inflight
                        .pop_front()
                        .ok_or_else(|| format!("conn {c}: unexpected message"))?;
                    verify(&pat, c, seq, &m.into_data(), text)?;
                    lat.push(stamp.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    done += 1;
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                Message::Close(f) => return Err(format!("conn {c}: server closed: {f:?}")),
            }
        }
        Ok(())
    };
    let r = run();
    ConnResult { done, lat_us: lat, err: r.err() }
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
    let tls = Arc::new(connector(resume));
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let resumed = Arc::new(AtomicU64::new(0));
    let errs = Arc::new(AtomicU64::new(0));
    let first_err: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..conc)
        .map(|_| {
            let (tls, next, ok, resumed, errs, first_err) =
                (tls.clone(), next.clone(), ok.clone(), resumed.clone(), errs.clone(), first_err.clone());
            thread::spawn(move || {
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    let sess = if resume { LAST_SESSION.with(|s| s.borrow_mut().take()) } else { None };
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
        "{{\"mode\":\"connect\",\"resume\":{resume},\"count\":{count},\"concurrency\":{conc},\"ok\":{okn},\
\"resumed\":{},\"errors\":{},\"first_error\":{},\"elapsed_s\":{el:.6},\"handshakes_per_s\":{:.1}}}",
        resumed.load(Ordering::Relaxed),
        errs.load(Ordering::Relaxed),
        json_str(fe.as_deref()),
        okn as f64 / el
    ));
}

// ---------------------------------------------------------------- idle

fn idle(a: &Args) {
    let port: u16 = a.num("port", None);
    let count: usize = a.num("count", Some(100));
    let threads: usize = a.num::<usize>("threads", Some(4)).clamp(1, 64);
    let hold_file = a.str("hold-file");
    let tls = Arc::new(connector(false));
    let next = Arc::new(AtomicUsize::new(0));
    let first_err: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let t0 = Instant::now();
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let (tls, next, first_err) = (tls.clone(), next.clone(), first_err.clone());
            thread::spawn(move || {
                let mut mine: Vec<Ws> = Vec::new();
                let mut errs = 0u64;
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    match connect_ws(port, &tls, None, 4096) {
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
    let mut all: Vec<Ws> = Vec::with_capacity(count);
    let mut errors = 0u64;
    for h in hs {
        let (v, e) = h.join().unwrap();
        all.extend(v);
        errors += e;
    }
    let el = t0.elapsed().as_secs_f64();
    let fe = first_err.lock().unwrap().clone();
    println_flush(&format!(
        "READY {{\"mode\":\"idle\",\"count\":{count},\"open\":{},\"errors\":{errors},\"first_error\":{},\"elapsed_s\":{el:.3}}}",
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

fn main() {
    raise_nofile();
    let a = Args::parse();
    match a.cmd.as_str() {
        "echo" => echo(&a),
        "connect" => connect(&a),
        "idle" => idle(&a),
        _ => {
            println!("{USAGE}");
        }
    }
}
