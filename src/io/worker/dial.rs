//! Client states, from `Client::connect_async` to `Open`: `Resolving` (a host name is resolved
//! on a short-lived thread, never on the I/O thread) → `Connecting` (non-blocking TCP connect,
//! each resolved address in turn) → `TlsConnect` (wss only) → `WriteRequest` → `ReadResponse`
//! → `Open`. The connect timeout (the `Handshake` timer) covers all of them. A failure ends the
//! connection with `on_error(Some(conn), ..)` and no `on_close` (it never opened); a cancel
//! (`Client` dropped) ends it without callbacks.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Token};
use openssl::ssl::{ErrorCode, Ssl, SslStream};

use super::slot::{End, Slot, State, TimerKind};
use super::{would_block, Worker};
use crate::conn::{self, close_code, ConnInfo, Connection, Link};
use crate::error::{Error, ErrorKind};
use crate::http;
use crate::io::Owner;
use crate::stream::{Stream, Tcp};
use crate::tls::{self, verify, TlsInfo};
use crate::ws::deflate::{self, Deflate};
use crate::ws::Role;

/// Everything a client connection needs until it opens, prepared by `Client::connect_async`
/// (where URL, header and TLS configuration errors are reported synchronously).
pub(crate) struct Dial {
    pub link: Arc<Link>,
    /// Host as in the URL (for messages).
    pub host: String,
    /// Addresses still to try.
    pub addrs: VecDeque<SocketAddr>,
    /// The addresses are known (an IP literal, or the resolver answered).
    pub resolved: bool,
    /// The upgrade request and its `Sec-WebSocket-Key`.
    pub request: Vec<u8>,
    pub key: String,
    pub subprotocols: Vec<String>,
    /// permessage-deflate settings: what the request offered and the answer is checked against.
    pub deflate: Deflate,
    pub max_header_size: usize,
    /// Present for wss://.
    pub tls: Option<ClientTls>,
    /// The connect timeout: TCP + TLS + upgrade (and name resolution) must be done by then.
    pub deadline: Instant,
    /// Why the last address tried failed (reported when none is left).
    pub last_error: Option<Error>,
    /// The TLS session facts, once the TLS handshake is done.
    pub tls_info: Option<TlsInfo>,
    /// A failure goes to the handler's `on_error` (false for the blocking `Client::connect`,
    /// which returns it instead).
    pub report_failure: bool,
}

/// The client's TLS session, configured before the connect (SNI, hostname or IP check).
pub(crate) struct ClientTls {
    pub ssl: Option<Ssl>,
    /// The name (or IP address) the server's certificate is checked against; `None` when the
    /// check is off. A mismatch names it and what the certificate lists.
    pub checked_name: Option<String>,
    pub verifies_peer: bool,
}

impl Worker {
    /// `Cmd::Dial`: take a new client connection; connect at once when its addresses are known.
    pub(super) fn dial(&mut self, dial: Box<Dial>, owner: Arc<Owner>) {
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        dial.link.key.store(key, Ordering::Release);
        let (id, peer, deadline) = (dial.link.id, dial.link.info().remote, dial.deadline);
        let resolved = dial.resolved;
        entry.insert(Slot::new(id, peer, owner, State::Resolving(dial), false));
        self.arm(key, TimerKind::Handshake, deadline);
        if resolved {
            self.connect_next(key);
        }
    }

    /// `Cmd::Resolved`: the name of a `Resolving` connection was looked up.
    pub(super) fn resolved(&mut self, key: usize, addrs: Result<Vec<SocketAddr>, Error>) {
        let State::Resolving(dial) = &mut self.conns[key].state else {
            return;
        };
        match addrs {
            Ok(list) if !list.is_empty() => {
                dial.addrs = list.into();
                dial.resolved = true;
                self.connect_next(key);
            }
            Ok(_) => {
                let err = Error::new(
                    ErrorKind::Io,
                    format!("'{}' resolved to no address", dial.host),
                );
                self.fail(key, err);
            }
            Err(err) => self.fail(key, err),
        }
    }

    /// `Cmd::Cancel`: the `Client` was dropped. A connection still connecting ends without
    /// callbacks; one that opened meanwhile is closed normally.
    pub(super) fn cancel(&mut self, key: usize) {
        match &self.conns[key].state {
            State::Open(o) => {
                if o.conn.shared.start_close() {
                    let code = close_code::NORMAL;
                    self.close_requested(key, code, String::new());
                }
            }
            _ => {
                if let Some(c) = self.conns.try_remove(key) {
                    if let Some(link) = c.state.dial().map(|d| d.link.clone()) {
                        conn::unregister(link.id);
                        link.mark_closed(close_code::ABNORMAL, "");
                    }
                }
            }
        }
    }

    /// Start a TCP connect to the next address (`Connecting`), or fail with the last error.
    fn connect_next(&mut self, key: usize) {
        loop {
            let c = &mut self.conns[key];
            let dial = match std::mem::replace(&mut c.state, State::Gone) {
                State::Resolving(d) | State::Connecting(d, _) => d,
                other => {
                    c.state = other;
                    return;
                }
            };
            let mut dial = dial;
            let Some(addr) = dial.addrs.pop_front() else {
                let err = dial.last_error.take().unwrap_or_else(|| {
                    Error::new(ErrorKind::Io, format!("cannot connect to '{}'", dial.host))
                });
                c.state = State::Resolving(dial);
                return self.fail(key, err);
            };
            c.peer = addr;
            let started = TcpStream::connect(addr).and_then(|mut tcp| {
                self.poll
                    .registry()
                    .register(
                        &mut tcp,
                        Token(key),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .map(|()| tcp)
            });
            match started {
                Ok(tcp) => {
                    self.conns[key].state = State::Connecting(dial, tcp);
                    return;
                }
                Err(e) => {
                    dial.last_error = Some(connect_error(addr, &e));
                    self.conns[key].state = State::Resolving(dial);
                }
            }
        }
    }

    /// `Connecting`: readiness means the connect finished (or failed).
    pub(super) fn drive_connecting(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let State::Connecting(dial, tcp) = &mut c.state else {
            return;
        };
        let addr = c.peer;
        let failed = match tcp.take_error() {
            Ok(Some(e)) | Err(e) => Some(e),
            Ok(None) => match tcp.peer_addr() {
                Ok(_) => None,
                Err(e)
                    if e.kind() == io::ErrorKind::NotConnected
                        || e.raw_os_error() == Some(EINPROGRESS) =>
                {
                    return; // not yet
                }
                Err(e) => Some(e),
            },
        };
        if let Some(e) = failed {
            dial.last_error = Some(connect_error(addr, &e));
            return self.connect_next(key);
        }
        let State::Connecting(mut dial, tcp) = std::mem::replace(&mut c.state, State::Gone) else {
            return;
        };
        let _ = tcp.set_nodelay(true);
        let tcp = Tcp::tracked(tcp);
        match dial.tls.as_mut().and_then(|t| t.ssl.take()) {
            Some(ssl) => match SslStream::new(ssl, tcp) {
                Ok(s) => {
                    c.state = State::TlsConnect(dial, Box::new(s));
                    self.drive_tls_connect(key);
                }
                Err(e) => {
                    c.state = State::Resolving(dial);
                    let err = Error::from_stack(ErrorKind::Tls, "cannot start TLS", &e)
                        .with_peer(Some(addr));
                    self.fail(key, err);
                }
            },
            None => {
                c.state = State::WriteRequest {
                    dial,
                    stream: Stream::Plain(tcp),
                    pos: 0,
                };
                self.write_request(key);
            }
        }
    }

    /// `TlsConnect`: the TLS handshake with the server.
    pub(super) fn drive_tls_connect(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let State::TlsConnect(dial, s) = &mut c.state else {
            return;
        };
        match s.connect() {
            Ok(()) => {
                let verifies = dial.tls.as_ref().is_some_and(|t| t.verifies_peer);
                dial.tls_info = Some(tls::session_info(s.ssl(), verifies));
                let State::TlsConnect(dial, s) = std::mem::replace(&mut c.state, State::Gone)
                else {
                    return;
                };
                c.state = State::WriteRequest {
                    dial,
                    stream: Stream::Tls(s),
                    pos: 0,
                };
                self.write_request(key);
            }
            Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => {}
            Err(e) => {
                let mut err = Error::from_ssl(
                    "TLS handshake with server failed",
                    &e,
                    verify::failure(s.ssl()),
                )
                .with_peer(Some(c.peer));
                let mismatch = err
                    .verify
                    .as_ref()
                    .is_some_and(|v| verify::is_name_mismatch(v.code));
                if let Some(t) = dial.tls.as_ref().filter(|_| mismatch) {
                    name_mismatch_detail(&mut err, t, &verify::mismatched_names(s.ssl()));
                }
                self.fail(key, err);
            }
        }
    }

    /// `WriteRequest`: send the upgrade request.
    pub(super) fn write_request(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let State::WriteRequest { dial, stream, pos } = &mut c.state else {
            return;
        };
        while *pos < dial.request.len() {
            match stream.write(&dial.request[*pos..]) {
                Ok(n) => *pos += n,
                Err(e) if would_block(&e) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // The server may have rejected us with a TLS alert that is still readable
                    // (TLS 1.3 checks client certificates after our handshake completed).
                    // Read from the kernel even if the last read was short.
                    stream.inner().untrack();
                    let mut probe = [0u8; 256];
                    if let Err(alert) = stream.read(&mut probe) {
                        let err = Error::from_io("the server rejected the connection", &alert);
                        if !err.openssl.is_empty() {
                            let err = err.with_peer(Some(c.peer));
                            return self.fail(key, err);
                        }
                    }
                    let err = Error::from_io("sending the upgrade request failed", &e)
                        .with_peer(Some(c.peer));
                    return self.fail(key, err);
                }
            }
        }
        let State::WriteRequest { dial, stream, .. } = std::mem::replace(&mut c.state, State::Gone)
        else {
            return;
        };
        c.state = State::ReadResponse {
            dial,
            stream,
            buf: Vec::with_capacity(1024),
        };
        self.read_response(key);
    }

    /// `ReadResponse`: read and check the server's answer; a 101 opens the WebSocket.
    pub(super) fn read_response(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let peer = c.peer;
        let State::ReadResponse { dial, stream, buf } = &mut c.state else {
            return;
        };
        let mut chunk = [0u8; 2048];
        let http::Upgraded {
            len,
            subprotocol,
            deflate,
            headers,
        } = loop {
            match stream.read(&mut chunk) {
                Ok(0) => {
                    let err = Error::new(
                        ErrorKind::Handshake,
                        "the server closed the connection before answering the upgrade",
                    )
                    .with_peer(Some(peer))
                    .with_hint("the server may have rejected our client certificate or this path; check the server's error log");
                    return self.fail(key, err);
                }
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    match http::parse_response(
                        buf,
                        &dial.key,
                        &dial.subprotocols,
                        &dial.deflate,
                        dial.max_header_size,
                    ) {
                        Ok(Some(done)) => break done,
                        Ok(None) => {}
                        Err(e) => return self.fail(key, e.with_peer(Some(peer))),
                    }
                }
                Err(e) if would_block(&e) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let err = Error::from_io("reading the upgrade response failed", &e)
                        .with_peer(Some(peer));
                    return self.fail(key, err);
                }
            }
        };
        let State::ReadResponse {
            dial,
            stream,
            mut buf,
        } = std::mem::replace(&mut c.state, State::Gone)
        else {
            return;
        };
        let leftover = buf.split_off(len);
        let link = dial.link;
        let info = ConnInfo {
            id: link.id,
            remote: peer,
            path: link.info().path.clone(),
            subprotocol,
            tls: dial.tls_info,
            is_client: true,
            deflate,
            response_headers: headers,
        };
        let ext = deflate::extension(Role::Client, deflate.as_ref(), &dial.deflate);
        link.mark_open(info);
        self.enter_open(key, stream, leftover, link, ext);
    }

    /// The connect timeout passed in one of the client states.
    pub(super) fn dial_expired(&mut self, key: usize) {
        let c = &self.conns[key];
        let what = match &c.state {
            State::Resolving(d) if !d.resolved => format!("resolving '{}'", d.host),
            State::Resolving(_) | State::Connecting(..) => format!("cannot connect to {}", c.peer),
            State::TlsConnect(..) => "TLS handshake".into(),
            State::WriteRequest { .. } => "sending the upgrade request".into(),
            _ => "waiting for the upgrade response".into(),
        };
        let resolved = c.state.dial().is_some_and(|d| d.resolved);
        let err = Error::new(ErrorKind::Timeout, "connect timed out")
            .context(what)
            .with_peer(resolved.then_some(c.peer));
        self.fail(key, err);
    }

    /// End a client connection that did not open.
    fn fail(&mut self, key: usize, err: Error) {
        self.finish(key, End::err(close_code::ABNORMAL, err));
    }

    /// A client connection that never opened ended: the error goes to its handler with the
    /// connection (no `on_close`) if `report`, and `Connection::wait_open` returns it.
    pub(super) fn report_failed_dial(&self, link: &Arc<Link>, report: bool, end: &End) {
        conn::unregister(link.id);
        let conn = Connection {
            shared: link.clone(),
        };
        if let Some(e) = &end.error {
            link.record_failure(e);
        }
        link.mark_ending();
        let callback = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Some(e) = end.error.as_ref().filter(|_| report) {
                link.handler.on_error(Some(&conn), e);
            }
        }));
        link.release_user_data();
        link.mark_closed(end.code, &end.reason);
        if let Err(panic) = callback {
            std::panic::resume_unwind(panic);
        }
    }
}

/// The error for a failed TCP connect to `addr`.
fn connect_error(addr: SocketAddr, e: &io::Error) -> Error {
    let mut err = Error::from_io(format!("cannot connect to {addr}"), e).with_peer(Some(addr));
    if e.kind() == io::ErrorKind::ConnectionRefused {
        err.hint =
            Some("nothing listens on that port: check the server is running and the port".into());
    }
    err
}

/// EINPROGRESS: besides `NotConnected`, how `peer_addr` may say a connect is still under way
/// (mio's `TcpStream::connect` documentation).
#[cfg(any(target_os = "linux", target_os = "android"))]
const EINPROGRESS: i32 = 115;
#[cfg(windows)]
const EINPROGRESS: i32 = 10036;
#[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
const EINPROGRESS: i32 = 36;

/// Say which name was checked and what the certificate lists (OpenSSL says only "hostname
/// mismatch"), with the IP SAN hint when the name is an address.
fn name_mismatch_detail(err: &mut Error, tls: &ClientTls, names: &[String]) {
    let Some(name) = tls.checked_name.as_deref() else {
        return;
    };
    let lists = if names.is_empty() {
        "no subjectAltName".to_string()
    } else {
        names.join(", ")
    };
    err.message = format!(
        "{}; expected {name}, the certificate lists {lists}",
        err.message
    );
    if name.parse::<std::net::IpAddr>().is_ok() {
        err.hint = Some(format!(
            "the server certificate has no IP SAN for {name}: reissue it with IP:{name} in subjectAltName, or connect by a DNS name it lists"
        ));
    }
}
