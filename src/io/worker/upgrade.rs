//! Server states `ReadRequest`, `AwaitDecision` and `WriteResponse`: the HTTP upgrade. The
//! request head is read and checked (size limit, upgrade headers, connection limit, route), the
//! route's handler decides (`Handler::on_accept`) now or later (`Defer`, then `Server::decide`
//! from any thread, or 503 at the handshake deadline), and the answer is written: 101 then
//! `Open`, or a refusal then `Drain`.

use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::slot::{End, State, TimerKind};
use super::{would_block, Worker};
use crate::conn::{close_code, ConnInfo, Link};
use crate::error::{Error, ErrorKind};
use crate::handler::{AcceptDecision, Handler, UpgradeRequest};
use crate::http::{self, Parsed, Refusal};
use crate::io::Deferral;
use crate::stream::Stream;
use crate::tls::{self, TlsInfo};
use crate::ws::deflate::{self, DeflateParams};
use crate::ws::Role;

/// Bytes read per call while collecting an HTTP request head.
const HEAD_CHUNK: usize = 2048;

/// A complete, routed upgrade request waiting for its answer.
pub(super) struct Upgrade {
    /// The client's `Sec-WebSocket-Key`.
    key_hdr: String,
    /// Subprotocols it offered.
    offered: Vec<String>,
    /// Bytes that came after the request head.
    leftover: Vec<u8>,
    /// The route's handler.
    handler: Arc<dyn Handler>,
    path: String,
    tls_info: Option<TlsInfo>,
    /// permessage-deflate as we answer it: the agreed parameters and the header value.
    deflate: Option<(DeflateParams, String)>,
}

/// What the server needs to open the WebSocket after the 101 response is written.
pub(super) struct PendingOpen {
    leftover: Vec<u8>,
    handler: Arc<dyn Handler>,
    info: ConnInfo,
}

impl Worker {
    /// `ReadRequest`: collect the head; a complete one is routed and decided.
    pub(super) fn read_request(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let State::ReadRequest { stream, buf } = &mut c.state else {
            return;
        };
        let max = c.owner.limits.max_header_size;
        let mut chunk = [0u8; HEAD_CHUNK];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) => {
                    // Closed before sending a full request: nothing to answer.
                    self.finish(key, End::new(close_code::ABNORMAL, ""));
                    return;
                }
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    match http::parse_request(buf, max) {
                        Ok(Parsed::Partial) => continue,
                        Ok(Parsed::Complete(req, len)) => {
                            let leftover = buf.split_off(len);
                            self.route_request(key, req, leftover);
                            return;
                        }
                        Err(refusal) => {
                            self.respond(key, &refusal);
                            return;
                        }
                    }
                }
                Err(e) if would_block(&e) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.io_failed(key, "reading the upgrade request failed", &e),
            }
        }
    }

    /// A complete request: check it, route it and ask the route's handler.
    fn route_request(&mut self, key: usize, req: http::Request, leftover: Vec<u8>) {
        let c = &self.conns[key];
        let owner = c.owner.clone();
        let Some(server) = owner.server.as_ref() else {
            return;
        };
        let State::ReadRequest { stream, .. } = &c.state else {
            return;
        };
        let (id, peer) = (c.id, c.peer);
        let tls_info = stream
            .ssl()
            .map(|ssl| tls::session_info(ssl, server.verify_peer));
        let key_hdr = match http::check_upgrade(&req) {
            Ok(k) => k,
            Err(refusal) => return self.respond(key, &refusal),
        };
        if server.active.load(Ordering::Acquire) > owner.limits.max_connections {
            return self.respond(key, &Refusal::new(503, "Service Unavailable"));
        }
        let Some(handler) = server.route(&req.path) else {
            return self.respond(key, &Refusal::new(404, "Not Found"));
        };
        let deflate = match http::deflate_answer(&req, &server.deflate) {
            Ok(d) => d,
            Err(refusal) => return self.respond(key, &refusal),
        };
        let offered = req.subprotocols();
        // Listed before the hook runs: a host that defers may hand the id to another thread,
        // which may call `Server::decide` before the hook has even returned.
        server.deferred.lock().insert(
            id,
            Deferral {
                worker: self.handle.clone(),
                key,
                offered: offered.clone(),
            },
        );
        let decision = handler.on_accept(&UpgradeRequest {
            id,
            request: &req,
            subprotocols: offered.clone(),
            remote: peer,
            tls: tls_info.as_ref(),
        });
        if !matches!(decision, AcceptDecision::Defer) {
            server.deferred.lock().remove(&id);
        }
        let upgrade = Upgrade {
            key_hdr,
            offered,
            leftover,
            handler,
            path: req.path,
            tls_info,
            deflate,
        };
        self.answer(key, Box::new(upgrade), decision);
    }

    /// Carry out an accept decision: park the connection (`AwaitDecision`), or answer.
    fn answer(&mut self, key: usize, upgrade: Box<Upgrade>, decision: AcceptDecision) {
        let c = &mut self.conns[key];
        let (id, peer) = (c.id, c.peer);
        match decision {
            AcceptDecision::Defer => {
                // Listed in `ServerSide::deferred` already (`route_request`); a decision given
                // meanwhile is queued behind this.
                let State::ReadRequest { stream, .. } =
                    std::mem::replace(&mut c.state, State::Gone)
                else {
                    return;
                };
                c.state = State::AwaitDecision { stream, upgrade };
            }
            AcceptDecision::Reject { status, reason } => {
                let status = if (400..=599).contains(&status) {
                    status
                } else {
                    403
                };
                let reason: String = reason
                    .chars()
                    .filter(|ch| *ch != '\r' && *ch != '\n')
                    .collect();
                let reason = if reason.is_empty() {
                    "Forbidden".into()
                } else {
                    reason
                };
                self.respond(key, &Refusal::new(status, reason));
            }
            AcceptDecision::Accept {
                subprotocol,
                headers,
            } => {
                let problem = AcceptDecision::accept_problem(
                    subprotocol.as_ref(),
                    &headers,
                    &upgrade.offered,
                );
                if let Some(what) = problem {
                    upgrade
                        .handler
                        .on_error(None, &Error::invalid(what).with_peer(Some(peer)));
                    return self.respond(key, &Refusal::new(500, "Internal Server Error"));
                }
                let mut headers = headers;
                if let Some((_, answer)) = &upgrade.deflate {
                    headers.push(("Sec-WebSocket-Extensions".into(), answer.clone()));
                }
                let response =
                    http::switching_response(&upgrade.key_hdr, subprotocol.as_deref(), &headers);
                let Upgrade {
                    leftover,
                    handler,
                    path,
                    tls_info,
                    deflate,
                    ..
                } = *upgrade;
                let info = ConnInfo {
                    id,
                    remote: peer,
                    path,
                    subprotocol,
                    tls: tls_info,
                    is_client: false,
                    deflate: deflate.map(|(params, _)| params),
                    response_headers: Vec::new(),
                };
                let open = PendingOpen {
                    leftover,
                    handler,
                    info,
                };
                self.start_response(key, response, Some(Box::new(open)));
            }
        }
    }

    /// `Cmd::Decide`: `Server::decide` answered a parked connection.
    pub(super) fn decided(&mut self, key: usize, decision: AcceptDecision) {
        let c = &mut self.conns[key];
        let State::AwaitDecision { stream, upgrade } = std::mem::replace(&mut c.state, State::Gone)
        else {
            return;
        };
        c.state = State::ReadRequest {
            stream,
            buf: Vec::new(),
        };
        self.answer(key, upgrade, decision);
    }

    /// The handshake deadline passed while the decision was awaited: refuse with 503 and tell
    /// the server's handler, unless a decision is already on its way.
    pub(super) fn decision_expired(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let Some(server) = c.owner.server.as_ref() else {
            return;
        };
        if server.deferred.lock().remove(&c.id).is_none() {
            return; // `Server::decide` won the race: its `Cmd::Decide` is queued
        }
        let err = Error::new(
            ErrorKind::Timeout,
            "no accept decision within the handshake timeout",
        )
        .with_peer(Some(c.peer))
        .with_hint(
            "call Server::decide with the request's id before limits.handshake_timeout passes",
        );
        server.default_handler.on_error(None, &err);
        let State::AwaitDecision { stream, .. } = std::mem::replace(&mut c.state, State::Gone)
        else {
            return;
        };
        c.state = State::ReadRequest {
            stream,
            buf: Vec::new(),
        };
        // The answer must go out within the linger time, like a refusal's drain.
        self.arm(
            key,
            TimerKind::Linger,
            Instant::now() + super::drain::LINGER,
        );
        self.respond(key, &Refusal::new(503, "Service Unavailable"));
    }

    /// The handshake deadline passed while the request head was still arriving: answer
    /// `408 Request Timeout` (`Connection: close`), tell the server's handler, then drain.
    /// A connection that sent no byte of a request is closed without an answer (as Apache's
    /// request timeout does): a 408 could cross a request sent at that moment and read as its
    /// answer, and there is no request to answer.
    pub(super) fn request_expired(&mut self, key: usize) {
        let c = &self.conns[key];
        let State::ReadRequest { buf, .. } = &c.state else {
            return;
        };
        let err = Error::new(
            ErrorKind::Timeout,
            format!(
                "the upgrade request was still incomplete after {:?} ({} bytes received): answered 408 Request Timeout",
                c.owner.limits.handshake_timeout,
                buf.len()
            ),
        )
        .with_peer(Some(c.peer))
        .with_hint("a slow or stalled client: the handshake_timeout limit closed it");
        if let Some(server) = &c.owner.server {
            server.default_handler.on_error(None, &err);
        }
        // The answer must go out within the linger time, like a refusal's drain.
        self.arm(
            key,
            TimerKind::Linger,
            Instant::now() + super::drain::LINGER,
        );
        self.respond(key, &Refusal::new(408, "Request Timeout"));
    }

    /// Refuse with an HTTP error (HSTS on TLS when configured), then drain.
    fn respond(&mut self, key: usize, refusal: &Refusal) {
        let c = &self.conns[key];
        let tls = matches!(
            &c.state,
            State::ReadRequest {
                stream: Stream::Tls(_),
                ..
            }
        );
        let hsts = tls && c.owner.server.as_ref().is_some_and(|s| s.hsts);
        self.start_response(key, http::refusal_response(refusal, hsts), None);
    }

    /// `ReadRequest` → `WriteResponse`.
    fn start_response(&mut self, key: usize, out: Vec<u8>, open: Option<Box<PendingOpen>>) {
        let c = &mut self.conns[key];
        let State::ReadRequest { stream, .. } = std::mem::replace(&mut c.state, State::Gone) else {
            return;
        };
        c.state = State::WriteResponse {
            stream,
            out,
            pos: 0,
            open,
        };
        self.write_response(key);
    }

    /// `WriteResponse`: write the answer; then `Open` (101) or `Drain` (refusal).
    pub(super) fn write_response(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let State::WriteResponse {
            stream, out, pos, ..
        } = &mut c.state
        else {
            return;
        };
        while *pos < out.len() {
            match stream.write(&out[*pos..]) {
                Ok(n) => *pos += n,
                Err(e) if would_block(&e) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.io_failed(key, "writing the upgrade response failed", &e),
            }
        }
        let State::WriteResponse { stream, open, .. } =
            std::mem::replace(&mut c.state, State::Gone)
        else {
            return;
        };
        match open {
            None => {
                let mut stream = stream;
                stream.shutdown_tls();
                c.state = State::ReadRequest {
                    stream,
                    buf: Vec::new(),
                };
                self.linger(key, None);
            }
            Some(p) => {
                let PendingOpen {
                    leftover,
                    handler,
                    info,
                } = *p;
                let ext = c.owner.server.as_ref().and_then(|server| {
                    deflate::extension(Role::Server, info.deflate.as_ref(), &server.deflate)
                });
                let link = Link::new(
                    info,
                    self.handle.clone(),
                    handler,
                    key,
                    c.owner.limits.send_queue_limit,
                );
                self.enter_open(key, stream, leftover, link, ext);
            }
        }
    }
}
