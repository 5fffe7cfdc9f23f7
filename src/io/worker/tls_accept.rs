//! Server state `TlsAccept`: the non-blocking TLS handshake with a client. Next: `ReadRequest`
//! on success, `Drain` (after OpenSSL's alert, with the full error reported to the server's
//! default handler) on failure, or the end at the handshake deadline.

use openssl::ssl::ErrorCode;

use super::slot::State;
use super::Worker;
use crate::error::Error;
use crate::stream::Stream;
use crate::tls::verify;

impl Worker {
    pub(super) fn drive_tls_accept(&mut self, key: usize) {
        let c = &mut self.conns[key];
        let State::TlsAccept(s) = &mut c.state else {
            return;
        };
        match s.accept() {
            Ok(()) => {
                let State::TlsAccept(s) = std::mem::replace(&mut c.state, State::Gone) else {
                    return;
                };
                c.state = State::ReadRequest {
                    stream: Stream::Tls(s),
                    buf: Vec::new(),
                };
                self.read_request(key);
            }
            Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => {}
            Err(e) => {
                let err = Error::from_ssl(
                    "TLS handshake with client failed",
                    &e,
                    verify::failure(s.ssl()),
                )
                .with_peer(Some(c.peer));
                self.linger(key, Some(err));
            }
        }
    }
}
