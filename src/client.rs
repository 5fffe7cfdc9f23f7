//! A WebSocket client: `ws://` or `wss://` by URL. TCP connect, TLS and the upgrade run on the
//! shared pool of client I/O threads (src/io/worker/dial.rs); `connect_async` returns at once,
//! `connect` waits for the outcome.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssl::ssl::Ssl;
use openssl::x509::verify::X509CheckFlags;

use crate::config::ClientConfig;
use crate::conn::{self, ConnInfo, Connection, Link};
use crate::error::{Error, ErrorKind, Result};
use crate::handler::Handler;
use crate::http;
use crate::io::{in_io_thread, ClientTls, Cmd, Dial, Owner, Runtime};
use crate::tls::{verify, TlsConfig};

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

/// The I/O threads shared by every client in the process, and how many client connections hold
/// them. Started by the first client; stopped once the last client connection is gone, so a host
/// whose runtime waits for every thread that ran its code (Mono and Unity at exit or domain
/// unload) is not kept waiting by idle I/O threads.
struct ClientRuntime {
    rt: Option<Arc<Runtime>>,
    leases: usize,
}

static CLIENT_RUNTIME: parking_lot::Mutex<ClientRuntime> = parking_lot::Mutex::new(ClientRuntime {
    rt: None,
    leases: 0,
});

/// A client connection's hold on the shared client I/O threads (kept in its `Link`).
pub(crate) struct RuntimeLease(());

impl Drop for RuntimeLease {
    fn drop(&mut self) {
        let mut cr = CLIENT_RUNTIME.lock();
        cr.leases -= 1;
        if cr.leases == 0 {
            if let Some(rt) = cr.rt.take() {
                rt.stop(); // asks the threads to end; never waits (this may be one of them)
            }
        }
    }
}

/// The client I/O threads (started if none run) and a lease on them.
fn runtime() -> Result<(Arc<Runtime>, RuntimeLease)> {
    let mut cr = CLIENT_RUNTIME.lock();
    let rt = match &cr.rt {
        Some(rt) => rt.clone(),
        None => {
            let rt = Runtime::start(0, "wss-client")?;
            cr.rt = Some(rt.clone());
            rt
        }
    };
    cr.leases += 1;
    Ok((rt, RuntimeLease(())))
}

/// A client connection. Dropping it starts a normal close without waiting, or cancels a
/// connect still under way (no further callbacks).
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
    /// On failure the error is returned (and not passed to the handler). From inside a callback this needs a client I/O thread other
    /// than the caller's (`InvalidState` on a one-thread client pool).
    pub fn connect(url: &str, config: &ClientConfig, handler: Arc<dyn Handler>) -> Result<Client> {
        let client = Self::start(url, config, handler, true)?;
        // The worker enforces the connect timeout; the margin only guards against a stalled
        // I/O thread.
        client
            .conn
            .wait_open(config.connect_timeout + Duration::from_secs(5))?;
        Ok(client)
    }

    /// Start connecting to `url` and return at once. URL, header, subprotocol and TLS
    /// configuration errors are returned here; everything else is reported to `handler`:
    /// `on_open` when the WebSocket is open, or `on_error(Some(conn), err)` with the same
    /// detail [`Client::connect`] returns (no `on_close`: it never opened). TCP connect, TLS
    /// and the upgrade run on an I/O thread within `config.connect_timeout`. An IP address is
    /// connected to directly; a host name is resolved on a short-lived thread (the system
    /// resolver blocks, and an I/O thread must not). Until it opens, sends fail with
    /// `NotConnected`; [`Connection::wait_open`] waits for the outcome. Dropping the `Client`
    /// before then cancels the connect (socket closed, no further callbacks).
    pub fn connect_async(
        url: &str,
        config: &ClientConfig,
        handler: Arc<dyn Handler>,
    ) -> Result<Client> {
        Self::start(url, config, handler, false)
    }

    fn start(
        url: &str,
        config: &ClientConfig,
        handler: Arc<dyn Handler>,
        will_wait: bool,
    ) -> Result<Client> {
        let deadline = Instant::now() + config.connect_timeout;
        let url = WsUrl::parse(url)?;
        for (n, v) in &config.headers {
            if let Some(why) = http::host_header_problem(n, v) {
                return Err(Error::invalid(format!("request header {why}")));
            }
        }
        for p in &config.subprotocols {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
                return Err(Error::invalid(format!("invalid subprotocol '{p}'")));
            }
        }
        let tls = if url.secure {
            Some(match &config.tls {
                Some(t) => client_tls(&url, t)?,
                None => client_tls(&url, &TlsConfig::new())?,
            })
        } else {
            None
        };
        config.deflate.validate()?;
        let mut headers = config.headers.clone();
        if let Some(offer) = http::deflate_offer(&config.deflate) {
            headers.push(offer);
        }
        let (request, key) = http::client_request(
            &url.host_header(),
            &url.resource,
            &config.subprotocols,
            &headers,
        );
        let (rt, lease) = runtime()?;
        let worker = if will_wait && in_io_thread() {
            rt.next_other_worker().cloned().ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidState,
                    "Client::connect cannot wait inside a callback of the only client I/O thread: use Client::connect_async",
                )
            })?
        } else {
            rt.next_worker().clone()
        };
        let literal = url.host.parse::<IpAddr>().ok();
        let provisional = ConnInfo {
            id: conn::next_id(),
            remote: SocketAddr::new(literal.unwrap_or(IpAddr::from([0, 0, 0, 0])), url.port),
            path: url.resource.clone(),
            subprotocol: None,
            tls: None,
            is_client: true,
            deflate: None,
            response_headers: Vec::new(),
        };
        let link = Link::connecting(
            provisional,
            worker.clone(),
            handler,
            config.limits.send_queue_limit,
            lease,
        );
        // Registered before returning: the host may use the id at once.
        conn::register(&link);
        let dial = Dial {
            link: link.clone(),
            host: url.host.clone(),
            addrs: literal
                .map(|ip| SocketAddr::new(ip, url.port))
                .into_iter()
                .collect(),
            resolved: literal.is_some(),
            request,
            key,
            subprotocols: config.subprotocols.clone(),
            deflate: config.deflate,
            max_header_size: config.limits.max_header_size,
            tls,
            deadline,
            last_error: None,
            tls_info: None,
            report_failure: !will_wait,
        };
        let owner = Owner::new(config.limits.clone(), config.keepalive, None);
        worker.submit(Cmd::Dial {
            dial: Box::new(dial),
            owner,
        });
        let client = Client {
            conn: Connection {
                shared: link.clone(),
            },
        };
        if literal.is_none() {
            let (host, port) = (url.host.clone(), url.port);
            std::thread::Builder::new()
                .name("wss-resolve".into())
                .spawn(move || {
                    let addrs = (host.as_str(), port)
                        .to_socket_addrs()
                        .map(|a| a.collect())
                        .map_err(|e| Error::from_io(format!("cannot resolve '{host}'"), &e));
                    let worker = link.worker.clone();
                    worker.submit(Cmd::Resolved { conn: link, addrs });
                })
                .map_err(|e| Error::from_io("cannot start the name resolution thread", &e))?;
        }
        Ok(client)
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
        let link = &self.conn.shared;
        if link.is_connecting() {
            link.worker.submit(Cmd::Cancel { conn: link.clone() });
        } else if self.conn.is_open() {
            let _ = self.conn.close(conn::close_code::NORMAL, "");
        }
    }
}

/// The client's TLS session for `url`: SNI, and the server's name or IP checked against its
/// certificate (subjectAltName only, no partial wildcards) unless disabled.
fn client_tls(url: &WsUrl, tls: &TlsConfig) -> Result<ClientTls> {
    let ctx = tls.client_context()?;
    let mut ssl = Ssl::new(&ctx)?;
    verify::attach(&mut ssl);
    crate::tls::key_update::attach(&mut ssl);
    let name = tls.server_name().unwrap_or(&url.host).to_string();
    let ip = name.parse::<IpAddr>().ok();
    if ip.is_none() {
        ssl.set_hostname(&name)?;
    }
    if tls.verifies_hostname() {
        ssl.param_mut().set_hostflags(
            X509CheckFlags::NEVER_CHECK_SUBJECT | X509CheckFlags::NO_PARTIAL_WILDCARDS,
        );
        match ip {
            Some(ip) => ssl.param_mut().set_ip(ip)?,
            None => ssl.param_mut().set_host(&name)?,
        }
    }
    Ok(ClientTls {
        ssl: Some(ssl),
        checked_name: tls.verifies_hostname().then_some(name),
        verifies_peer: tls.client_verifies_peer(),
    })
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
