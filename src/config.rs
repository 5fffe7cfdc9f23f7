//! Endpoint settings shared by servers and clients: limits against bad peers, keepalive, queues.

use std::time::Duration;

use crate::tls::TlsConfig;
pub use crate::ws::deflate::{Deflate, DeflateParams};

/// Limits that protect an endpoint from slow, large or hostile peers.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest incoming message (bytes); larger closes with 1009. Default 64 MiB.
    pub max_message_size: usize,
    /// Largest incoming frame payload (bytes); larger closes with 1009. Default 16 MiB.
    pub max_frame_size: usize,
    /// Most frames one incoming message may take; more closes with 1009. Default 100,000: a
    /// 64 MiB message still fits in fragments of 672 bytes, while a peer cannot keep a message
    /// open with millions of empty continuation frames.
    pub max_frames_per_message: usize,
    /// Largest HTTP upgrade head (bytes); larger gets 431. Default 16 KiB.
    pub max_header_size: usize,
    /// Most simultaneous connections on a server; more get 503. Default 100,000.
    pub max_connections: usize,
    /// Time allowed from TCP accept/connect to an open WebSocket (TLS + HTTP). Default 10 s.
    pub handshake_timeout: Duration,
    /// Bytes a connection may have queued for sending; a send beyond it fails with
    /// `Backpressure` (a message larger than the limit is accepted only when the queue is
    /// empty). Default 16 MiB.
    pub send_queue_limit: usize,
    /// Time to wait for the peer's close frame after sending ours, and for our close to go out
    /// behind data still queued (longer only while the peer keeps taking bytes; a peer that
    /// stops reading is cut off with 1006 and a `Timeout` error). Default 5 s.
    pub close_timeout: Duration,
    /// What happens to a peer whose send queue is over `send_queue_limit` (a send was refused
    /// with `Backpressure`, and the queue has not drained to half since): `false` (default)
    /// pauses reading its input until the queue drains to half, so a peer that sends fast and
    /// never reads cannot make the host work without end (with keepalive on, such a peer that
    /// takes none of our bytes for its interval + timeout is closed with a `Timeout` error);
    /// `true` closes it with 1008 and a `Backpressure` error instead (µWebSockets'
    /// `closeOnBackpressureLimit`).
    pub close_on_backpressure: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 64 << 20,
            max_frame_size: 16 << 20,
            max_frames_per_message: 100_000,
            max_header_size: 16 << 10,
            max_connections: 100_000,
            handshake_timeout: Duration::from_secs(10),
            send_queue_limit: 16 << 20,
            close_timeout: Duration::from_secs(5),
            close_on_backpressure: false,
        }
    }
}

/// Periodic pings, and closing a peer that stops answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Send a ping after this long without receiving anything.
    pub interval: Duration,
    /// Close the connection (code 1006, `Timeout` error) when nothing arrives for this long
    /// after a ping.
    pub timeout: Duration,
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// TLS settings: `Some` serves `wss://`, `None` serves `ws://`.
    pub tls: Option<TlsConfig>,
    /// Number of I/O threads; 0 = number of CPU cores.
    pub io_threads: usize,
    /// Limits against bad peers.
    pub limits: Limits,
    /// Keepalive pings; `None` = off.
    pub keepalive: Option<Keepalive>,
    /// Send `Strict-Transport-Security` on HTTP responses over TLS. Default on.
    pub hsts: bool,
    /// Connections the kernel completes and queues for accepting (the `listen` backlog) while
    /// the server is busy; more wait in SYN retries. Default 4096 (as libwebsockets and
    /// websocketpp); the kernel caps it (Linux: `net.core.somaxconn`, 4096 since 5.4). Unix
    /// only; elsewhere the socket keeps the platform default (128).
    pub listen_backlog: u32,
    /// permessage-deflate: accept clients' offers (off by default, see [`Deflate`]).
    pub deflate: Deflate,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            tls: None,
            io_threads: 0,
            limits: Limits::default(),
            keepalive: None,
            hsts: true,
            listen_backlog: 4096,
            deflate: Deflate::default(),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// TLS settings for `wss://` URLs; `None` uses secure defaults with the system trust store.
    pub tls: Option<TlsConfig>,
    /// Extra request headers. A `Host` header replaces the one made from the URL; the headers
    /// the library writes (Upgrade, Connection, Sec-WebSocket-*, Content-Length,
    /// Transfer-Encoding) are refused at connect.
    pub headers: Vec<(String, String)>,
    /// Subprotocols to offer, in preference order.
    pub subprotocols: Vec<String>,
    /// Time allowed for TCP connect + TLS + upgrade. Default 10 s.
    pub connect_timeout: Duration,
    /// Limits (message/frame sizes, send queue, close timeout).
    pub limits: Limits,
    /// Keepalive pings; `None` = off.
    pub keepalive: Option<Keepalive>,
    /// permessage-deflate: offer it to the server (off by default, see [`Deflate`]).
    pub deflate: Deflate,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            tls: None,
            headers: Vec::new(),
            subprotocols: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            keepalive: None,
            deflate: Deflate::default(),
        }
    }
}
