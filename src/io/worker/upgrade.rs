//! Server states `ReadRequest` and `WriteResponse`: the HTTP upgrade. The request head is read
//! and checked (size limit, upgrade headers, connection limit, route), the route's handler
//! decides (`Handler::on_accept`), and the answer is written: 101 then `Open`, or a refusal then
//! `Drain`.

use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tungstenite::protocol::Role;
use tungstenite::WebSocket;

use super::slot::{End, State};
use super::{would_block, Worker};
use crate::conn::{close_code, ConnInfo, Link};
use crate::error::Error;
use crate::handler::{AcceptDecision, Handler, UpgradeRequest};
use crate::http::{self, Parsed, Refusal};
use crate::stream::Stream;
use crate::tls;

/// Bytes read per call while collecting an HTTP request head.
const HEAD_CHUNK: usize = 2048;

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

    /// Decide what to answer to a complete request.
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
        let offered = req.subprotocols();
        let upgrade = UpgradeRequest {
            request: &req,
            subprotocols: offered.clone(),
            remote: peer,
            tls: tls_info.as_ref(),
        };
        match handler.on_accept(&upgrade) {
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
                let bad_proto = subprotocol.as_ref().is_some_and(|p| !offered.contains(p));
                let bad_header = headers.iter().any(|(n, v)| !http::header_ok(n, v));
                if bad_proto || bad_header {
                    let what = if bad_proto {
                        "the accept hook chose a subprotocol the client did not offer"
                    } else {
                        "the accept hook returned an invalid header"
                    };
                    handler.on_error(None, &Error::invalid(what).with_peer(Some(peer)));
                    return self.respond(key, &Refusal::new(500, "Internal Server Error"));
                }
                let response = http::switching_response(&key_hdr, subprotocol.as_deref(), &headers);
                let info = ConnInfo {
                    id,
                    remote: peer,
                    path: req.path.clone(),
                    subprotocol,
                    tls: tls_info,
                    is_client: false,
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
                let ws = WebSocket::from_partially_read(
                    stream,
                    leftover,
                    Role::Server,
                    Some(c.owner.ws_config),
                );
                let link = Link::new(
                    info,
                    self.handle.clone(),
                    handler,
                    key,
                    c.owner.limits.send_queue_limit,
                );
                self.enter_open(key, ws, link);
            }
        }
    }
}
