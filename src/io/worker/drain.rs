//! Server state `Drain`: after a refusal (HTTP 4xx/5xx) or a failed TLS handshake our answer is
//! out and our side shut down; the peer's input is read and discarded until it closes or the
//! linger deadline passes, so that closing cannot reset the connection before the peer has
//! read the answer.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use super::slot::{End, State, TimerKind, TIMER_KINDS};
use super::{would_block, Worker};
use crate::conn::close_code;
use crate::error::Error;
use crate::stream::Stream;

/// How long a refused connection is drained before it is closed.
pub(super) const LINGER: Duration = Duration::from_secs(2);

impl Worker {
    /// Report `err` (if any) and let the peer read our answer before closing: enter `Drain`.
    pub(super) fn linger(&mut self, key: usize, err: Option<Error>) {
        let c = &mut self.conns[key];
        let stream = match std::mem::replace(&mut c.state, State::Gone) {
            State::TlsAccept(s) => Stream::Tls(s),
            State::ReadRequest { stream, .. } | State::WriteResponse { stream, .. } => stream,
            other => {
                c.state = other;
                return self.finish(
                    key,
                    End {
                        code: close_code::ABNORMAL,
                        reason: String::new(),
                        error: err,
                    },
                );
            }
        };
        c.state = State::Drain(stream);
        if let (Some(e), Some(server)) = (&err, &c.owner.server) {
            server.default_handler.on_error(None, e);
        }
        // The handshake is over (refused or failed): only the linger deadline is left.
        self.conns[key].timers = [None; TIMER_KINDS];
        self.arm(key, TimerKind::Linger, Instant::now() + LINGER);
        if let State::Drain(stream) = &mut self.conns[key].state {
            let _ = stream.tcp().shutdown(std::net::Shutdown::Write);
        }
        self.drain(key);
    }

    /// Discard input of a lingering connection; close at EOF or error.
    pub(super) fn drain(&mut self, key: usize) {
        let State::Drain(stream) = &mut self.conns[key].state else {
            return;
        };
        let mut scratch = [0u8; 4096];
        loop {
            match stream.tcp().read(&mut scratch) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if would_block(&e) => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        self.finish(key, End::new(close_code::ABNORMAL, ""));
    }
}
