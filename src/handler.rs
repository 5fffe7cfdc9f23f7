//! What a host implements to receive events, and what the accept hook sees and decides.

use std::net::SocketAddr;

use bytes::Bytes;

use crate::conn::Connection;
use crate::error::{Error, Result};
use crate::http::Request;
use crate::tls::TlsInfo;

/// Kind of a data message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum MessageKind {
    /// UTF-8 text (always validated before delivery).
    Text = crate::ffi::result::WSS_MESSAGE_TEXT,
    /// Binary data.
    Binary = crate::ffi::result::WSS_MESSAGE_BINARY,
}

/// An upgrade request as the accept hook sees it.
#[derive(Debug)]
pub struct UpgradeRequest<'a> {
    /// The id the connection will have once open (also the id [`crate::Server::decide`] takes
    /// after a [`AcceptDecision::Defer`]).
    pub id: u64,
    /// The parsed HTTP request (path, query, headers).
    pub request: &'a Request,
    /// Subprotocols the client offered, in its order.
    pub subprotocols: Vec<String>,
    /// The client's address.
    pub remote: SocketAddr,
    /// TLS session facts and the (verified, if requested) client certificate; `None` on ws://.
    pub tls: Option<&'a TlsInfo>,
}

/// The accept hook's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptDecision {
    /// Upgrade, optionally choosing one of the offered subprotocols and adding response headers.
    Accept {
        /// The chosen subprotocol (must be one the client offered).
        subprotocol: Option<String>,
        /// Extra response headers (not the ones the library writes: Upgrade, Connection,
        /// Sec-WebSocket-*, Content-Length, Transfer-Encoding).
        headers: Vec<(String, String)>,
    },
    /// Refuse with an HTTP status (e.g. 401, 403) and reason phrase.
    Reject {
        /// HTTP status code, 400..=599.
        status: u16,
        /// Reason phrase.
        reason: String,
    },
    /// Decide later, on any thread, with [`crate::Server::decide`] and the request's `id`
    /// (e.g. a host that handles events on its own thread). Until then nothing more is read
    /// from the connection; the handshake timeout keeps running, and when it passes the client
    /// gets 503 and the server's handler an `on_error(None, ..)` with a `Timeout` error.
    Defer,
}

impl AcceptDecision {
    /// Accept without a subprotocol or extra headers.
    pub fn accept() -> Self {
        AcceptDecision::Accept {
            subprotocol: None,
            headers: Vec::new(),
        }
    }

    /// Why an accept with these values cannot be answered: a subprotocol the client did not
    /// offer, or a header that is not safe on the wire.
    pub(crate) fn accept_problem(
        subprotocol: Option<&String>,
        headers: &[(String, String)],
        offered: &[String],
    ) -> Option<String> {
        if subprotocol.is_some_and(|p| !offered.contains(p)) {
            return Some("the accept decision chose a subprotocol the client did not offer".into());
        }
        headers.iter().find_map(|(n, v)| {
            crate::http::host_header_problem(n, v)
                .map(|why| format!("the accept decision's response header {why}"))
        })
    }

    /// Check a decision given to [`crate::Server::decide`] for a request that offered
    /// `offered`.
    pub(crate) fn check_deferred(&self, offered: &[String]) -> Result<()> {
        let problem = match self {
            AcceptDecision::Defer => Some("a deferred decision cannot be deferred again".into()),
            AcceptDecision::Reject { status, .. } if !(400..=599).contains(status) => {
                Some("a refusal's status must be 400..=599".into())
            }
            AcceptDecision::Reject { .. } => None,
            AcceptDecision::Accept {
                subprotocol,
                headers,
            } => Self::accept_problem(subprotocol.as_ref(), headers, offered),
        };
        match problem {
            Some(p) => Err(Error::invalid(p)),
            None => Ok(()),
        }
    }
}

/// Event handler for a route (server) or a client connection. Methods run on I/O threads: keep
/// them short, never block on the network. Sending from inside any of them is allowed.
pub trait Handler: Send + Sync + 'static {
    /// Decide whether to upgrade (servers only). Default: accept, no subprotocol.
    fn on_accept(&self, _req: &UpgradeRequest<'_>) -> AcceptDecision {
        AcceptDecision::accept()
    }
    /// The WebSocket is open.
    fn on_open(&self, _conn: &Connection) {}
    /// A complete message arrived; `data` is valid only during the call.
    fn on_message(&self, _conn: &Connection, _kind: MessageKind, _data: &[u8]) {}
    /// The same event with the payload handed over, for handlers that keep it past the call:
    /// implement this instead of `on_message` to avoid a copy. The default calls `on_message`.
    fn on_message_owned(&self, conn: &Connection, kind: MessageKind, data: Bytes) {
        self.on_message(conn, kind, &data)
    }
    /// Whether `conn` should read further messages now. Return false while the application is
    /// behind (events it has not taken yet): reading pauses, so the peer's sends back up through
    /// TCP instead of piling up in memory. Call `Connection::resume_reading` when ready again;
    /// the library also asks again after 2 ms, then at doubling intervals up to 1 s. While
    /// paused, our keepalive does not hold the peer's silence against it (the peer's pings go
    /// unanswered, though); the peer's close frame, behind its messages, is read once reading
    /// resumes. A connection that is closing reads on regardless, dropping the data messages
    /// this refuses (reported once, as a `Backpressure` error, when the connection ends).
    /// Default true.
    fn wants_messages(&self, _conn: &Connection) -> bool {
        true
    }
    /// A pong arrived (answer to our ping).
    fn on_pong(&self, _conn: &Connection, _data: &[u8]) {}
    /// The connection closed; called once for every opened connection. `code` 1006 means it
    /// ended without a close handshake.
    fn on_close(&self, _conn: &Connection, _code: u16, _reason: &str) {}
    /// Something failed. `conn` is `None` for failures before the WebSocket opened (TLS or HTTP
    /// handshake, timeouts); the error's `peer` names the remote.
    fn on_error(&self, _conn: Option<&Connection>, _err: &Error) {}
}
