//! A WebSocket client: `ws://` or `wss://` by URL. `connect` performs TCP, TLS and the upgrade on
//! the caller's thread (blocking, with a deadline), then hands the open socket to a shared pool
//! of I/O threads.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use once_cell::sync::OnceCell;
use openssl::ssl::{ErrorCode, Ssl, SslStream};
use openssl::x509::verify::X509CheckFlags;
use tungstenite::protocol::Role;
use tungstenite::WebSocket;

use crate::config::ClientConfig;
use crate::conn::{self, ConnInfo, Connection, Link};
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;
use crate::http;
use crate::io::{in_io_thread, Cmd, Owner, Runtime};
use crate::stream::{Stream, Tcp};
use crate::tls::{self, verify, TlsConfig};

/// A parsed `ws://` / `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// True for `wss://`.
    pub secure: bool,
    /// Host name or IP address (without brackets).
    pub host: String,
    /// Port (default 80 / 443).
    pub port: u16,
    /// Path and query, at least `/`.
    pub resource: String,
}

impl WsUrl {
    /// Parse a WebSocket URL.
    pub fn parse(url: &str) -> Result<WsUrl> {
        let bad = |why: &str| Error::invalid(format!("invalid WebSocket URL '{url}': {why}"));
        let (secure, rest) = if let Some(r) = strip_prefix_ci(url, "wss://") {
            (true, r)
        } else if let Some(r) = strip_prefix_ci(url, "ws://") {
            (false, r)
        } else {
            return Err(bad("the scheme must be ws:// or wss://"));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(bad("user info is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let close = v6
                .find(']')
                .ok_or_else(|| bad("unterminated IPv6 literal"))?;
            let after = &v6[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad("garbage after the IPv6 literal")),
            };
            (v6[..close].to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        if host.is_empty() || host.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(bad("missing or invalid host"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("invalid port"))?,
            None if secure => 443,
            None => 80,
        };
        let tail = tail.split('#').next().unwrap_or("");
        let resource = if tail.is_empty() {
            "/".to_string()
        } else if tail.starts_with('?') {
            format!("/{tail}")
        } else {
            tail.to_string()
        };
        if resource.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(bad("the path holds spaces or control characters"));
        }
        Ok(WsUrl {
            secure,
            host,
            port,
            resource,
        })
    }

    fn host_header(&self) -> String {
        let h = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.secure { 443 } else { 80 } {
            h
        } else {
            format!("{h}:{}", self.port)
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    (s.len() >= prefix.len()
        && s.is_char_boundary(prefix.len())
        && s[..prefix.len()].eq_ignore_ascii_case(prefix))
    .then(|| &s[prefix.len()..])
}

static CLIENT_RUNTIME: OnceCell<Arc<Runtime>> = OnceCell::new();

/// The I/O threads shared by every client in the process (started on first use).
fn runtime() -> Result<&'static Arc<Runtime>> {
    CLIENT_RUNTIME.get_or_try_init(|| Runtime::start(0, "wss-client"))
}

/// An open client connection. Dropping it starts a normal close without waiting.
pub struct Client {
    conn: Connection,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Client({:?})", self.conn)
    }
}

impl Client {
    /// Connect to `url`, blocking until the WebSocket is open or `config.connect_timeout`
    /// passes. Events go to `handler` on an I/O thread; `on_open` may run before this returns.
    pub fn connect(url: &str, config: &ClientConfig, handler: Arc<dyn Handler>) -> Result<Client> {
        let url = WsUrl::parse(url)?;
        for (n, v) in &config.headers {
            if !http::header_ok(n, v) {
                return Err(Error::invalid(format!("invalid request header '{n}'")));
            }
        }
        for p in &config.subprotocols {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
                return Err(Error::invalid(format!("invalid subprotocol '{p}'")));
            }
        }
        let deadline = Instant::now() + config.connect_timeout;
        let (tcp, peer) = tcp_connect(&url, deadline)?;
        let mut link = SyncHandshake::new(tcp, peer)?;
        let default_tls;
        let tls = match &config.tls {
            Some(t) => t,
            None => {
                default_tls = TlsConfig::new();
                &default_tls
            }
        };
        let (stream, tls_info) = if url.secure {
            link.tls(&url, tls, deadline)?
        } else {
            (Stream::Plain(Tcp::new(link.take_tcp())), None)
        };
        let (stream, leftover, subprotocol) = link.upgrade(stream, &url, config, deadline)?;
        let ep = Owner::new(config.limits.clone(), config.keepalive, None);
        let mut ws =
            WebSocket::from_partially_read(stream, leftover, Role::Client, Some(ep.ws_config));
        link.release(ws.get_mut().tcp());
        let info = ConnInfo {
            id: conn::next_id(),
            remote: peer,
            path: url.resource.clone(),
            subprotocol,
            tls: tls_info,
            is_client: true,
        };
        let worker = runtime()?.next_worker().clone();
        let shared = Link::new(
            info,
            worker.clone(),
            handler.clone(),
            usize::MAX,
            config.limits.send_queue_limit,
            false,
        );
        // Registered before returning: the host may use the id at once (its commands queue
        // behind the adoption on the same worker).
        conn::register(&shared);
        worker.submit(Cmd::Adopt {
            ws: Box::new(ws),
            conn: shared.clone(),
            owner: ep,
        });
        Ok(Client {
            conn: Connection { shared },
        })
    }

    /// The connection (send, close, info, buffered amount).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Close with `code`/`reason` and wait up to `timeout` for the close to finish. From inside a
    /// callback it only starts the close (it cannot wait there).
    pub fn close(&self, code: u16, reason: &str, timeout: Duration) -> Result<()> {
        self.conn.close(code, reason)?;
        if in_io_thread() {
            return Ok(());
        }
        match self.conn.wait_closed(timeout) {
            Some(_) => Ok(()),
            None => Err(Error::new(
                ErrorKind::Timeout,
                "the server did not complete the close handshake in time",
            )),
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if self.conn.is_open() {
            let _ = self.conn.close(conn::close_code::NORMAL, "");
        }
    }
}

fn remaining(deadline: Instant) -> Result<Duration> {
    let now = Instant::now();
    if now >= deadline {
        return Err(Error::new(ErrorKind::Timeout, "connect timed out"));
    }
    Ok(deadline - now)
}

fn tcp_connect(url: &WsUrl, deadline: Instant) -> Result<(TcpStream, SocketAddr)> {
    let addrs: Vec<SocketAddr> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| Error::from_io(format!("cannot resolve '{}'", url.host), &e))?
        .collect();
    let mut last = Error::new(
        ErrorKind::Io,
        format!("'{}' resolved to no address", url.host),
    );
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, remaining(deadline)?) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                s.set_nonblocking(true)
                    .map_err(|e| Error::from_io("cannot make the socket non-blocking", &e))?;
                return Ok((TcpStream::from_std(s), addr));
            }
            Err(e) => {
                last =
                    Error::from_io(format!("cannot connect to {addr}"), &e).with_peer(Some(addr));
                if e.kind() == io::ErrorKind::ConnectionRefused {
                    last.hint = Some(
                        "nothing listens on that port: check the server is running and the port"
                            .into(),
                    );
                }
            }
        }
    }
    Err(last)
}

/// The socket during the synchronous handshake, with a private poller to wait on it.
struct SyncHandshake {
    tcp: Option<TcpStream>,
    poll: Poll,
    events: Events,
    peer: SocketAddr,
}

impl SyncHandshake {
    fn new(mut tcp: TcpStream, peer: SocketAddr) -> Result<SyncHandshake> {
        let poll = Poll::new().map_err(|e| Error::from_io("cannot create poller", &e))?;
        poll.registry()
            .register(&mut tcp, Token(0), Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| Error::from_io("cannot watch the socket", &e))?;
        Ok(SyncHandshake {
            tcp: Some(tcp),
            poll,
            events: Events::with_capacity(4),
            peer,
        })
    }

    fn take_tcp(&mut self) -> TcpStream {
        self.tcp.take().expect("socket present")
    }

    /// Wait for readiness (edge-triggered: any event means "try again").
    fn wait(&mut self, deadline: Instant, what: &str) -> Result<()> {
        let left = remaining(deadline).map_err(|e| e.context(what).with_peer(Some(self.peer)))?;
        match self.poll.poll(&mut self.events, Some(left)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(Error::from_io("poll failed", &e)),
        }
    }

    fn release(&mut self, tcp: &mut TcpStream) {
        let _ = self.poll.registry().deregister(tcp);
    }

    fn tls(
        &mut self,
        url: &WsUrl,
        tls: &TlsConfig,
        deadline: Instant,
    ) -> Result<(Stream, Option<tls::TlsInfo>)> {
        let ctx = tls.client_context()?;
        let mut ssl = Ssl::new(&ctx)?;
        verify::attach(&mut ssl);
        let name = tls.server_name().unwrap_or(&url.host).to_string();
        let ip = name.parse::<IpAddr>().ok();
        if ip.is_none() {
            ssl.set_hostname(&name)?;
        }
        if tls.verifies_hostname() {
            // Names come from subjectAltName only (no fallback to the subject CN), and no
            // partial wildcards like "w*.example".
            ssl.param_mut().set_hostflags(
                X509CheckFlags::NEVER_CHECK_SUBJECT | X509CheckFlags::NO_PARTIAL_WILDCARDS,
            );
            match ip {
                Some(ip) => ssl.param_mut().set_ip(ip)?,
                None => ssl.param_mut().set_host(&name)?,
            }
        }
        let mut s = SslStream::new(ssl, Tcp::new(self.take_tcp()))?;
        loop {
            match s.connect() {
                Ok(()) => break,
                Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => {
                    self.wait(deadline, "TLS handshake")?;
                }
                Err(e) => {
                    let mut err = Error::from_ssl(
                        "TLS handshake with server failed",
                        &e,
                        verify::failure(s.ssl()),
                    )
                    .with_peer(Some(self.peer));
                    if err
                        .verify
                        .as_ref()
                        .is_some_and(|v| v.code == 64 || v.code == 62)
                        && ip.is_some()
                    {
                        err.hint = Some(format!(
                            "the server certificate has no IP SAN for {name}: reissue it with IP:{name} in subjectAltName, or connect by a DNS name it lists"
                        ));
                    }
                    return Err(err);
                }
            }
        }
        let info = tls::session_info(s.ssl(), tls.client_verifies_peer());
        Ok((Stream::Tls(Box::new(s)), Some(info)))
    }

    fn upgrade(
        &mut self,
        mut stream: Stream,
        url: &WsUrl,
        config: &ClientConfig,
        deadline: Instant,
    ) -> Result<(Stream, Vec<u8>, Option<String>)> {
        let (request, key) = http::client_request(
            &url.host_header(),
            &url.resource,
            &config.subprotocols,
            &config.headers,
        );
        let mut pos = 0;
        while pos < request.len() {
            match stream.write(&request[pos..]) {
                Ok(n) => pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.wait(deadline, "sending the upgrade request")?
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // The server may have rejected us with a TLS alert that is still readable
                    // (TLS 1.3 checks client certificates after our handshake completed).
                    let mut probe = [0u8; 256];
                    if let Err(alert) = stream.read(&mut probe) {
                        let err = Error::from_io("the server rejected the connection", &alert);
                        if !err.openssl.is_empty() {
                            return Err(err.with_peer(Some(self.peer)));
                        }
                    }
                    return Err(Error::from_io("sending the upgrade request failed", &e)
                        .with_peer(Some(self.peer)));
                }
            }
        }
        let mut buf = Vec::with_capacity(1024);
        let mut chunk = [0u8; 2048];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => {
                    return Err(Error::new(ErrorKind::Handshake, "the server closed the connection before answering the upgrade")
                        .with_peer(Some(self.peer))
                        .with_hint("the server may have rejected our client certificate or this path; check the server's error log"))
                }
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some((len, proto)) =
                        http::parse_response(&buf, &key, &config.subprotocols, config.limits.max_header_size).map_err(|e| e.with_peer(Some(self.peer)))?
                    {
                        let leftover = buf.split_off(len);
                        return Ok((stream, leftover, proto));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(deadline, "waiting for the upgrade response")?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::from_io("reading the upgrade response failed", &e).with_peer(Some(self.peer))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WsUrl;

    #[test]
    fn urls() {
        let u = WsUrl::parse("wss://example.com/chat?x=1").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port, u.resource.as_str()),
            (true, "example.com", 443, "/chat?x=1")
        );
        let u = WsUrl::parse("ws://127.0.0.1:9000").unwrap();
        assert_eq!(
            (
                u.secure,
                u.port,
                u.resource.as_str(),
                u.host_header().as_str()
            ),
            (false, 9000, "/", "127.0.0.1:9000")
        );
        let u = WsUrl::parse("WSS://[::1]:8443/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.host_header().as_str()),
            ("::1", 8443, "[::1]:8443")
        );
        assert_eq!(WsUrl::parse("ws://h?q").unwrap().resource, "/?q");
        for bad in [
            "http://x",
            "ws://",
            "ws://h:0",
            "ws://h:99999",
            "ws://u@h",
            "ws://[::1",
            "ws://h/a b",
        ] {
            assert!(WsUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
