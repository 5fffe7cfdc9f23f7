//! Reading paused for the host or for the peer's own good: a connection stops reading when its
//! host paused it (`Connection::pause_reading`) or when its send queue is over the limit (a send
//! was refused with `Backpressure`): a peer that sends fast and never reads would otherwise be
//! read without end while every answer to it fails. The pause ends by itself once the queue
//! has drained to half (`pump` calls `wake_if_drained`; no polling), or, with
//! `Limits::close_on_backpressure`, the peer is closed with 1008 instead. With keepalive on, a
//! peer paused this way that takes none of our bytes for keepalive's interval + timeout is
//! closed (`stalled`): it cannot answer pings we do not read, but it can take bytes.
//! (Pausing because the handler wants no messages, with its retry timer, is in `open`.)

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::slot::{End, Open, State};
use super::Worker;
use crate::conn::{close_code, Link};
use crate::error::{Error, ErrorKind};

/// Why reading stops.
pub(super) enum Hold {
    /// The host paused it; `Connection::resume_reading` (`Cmd::Resume`) resumes it.
    Host,
    /// The send queue is over its limit; draining to half resumes it.
    Backpressure,
}

/// Whether reading `link` must stop now, and why.
pub(super) fn hold(link: &Link) -> Option<Hold> {
    if link.host_paused.load(Ordering::Acquire) {
        return Some(Hold::Host);
    }
    // Only a refused send pauses: a single message larger than the limit is accepted into an
    // empty queue, and must not stop the connection from reading (a close, say).
    if link.refused.load(Ordering::Acquire) {
        if link.buffered.load(Ordering::Acquire) > link.queue_limit / 2 {
            return Some(Hold::Backpressure);
        }
        link.refused.store(false, Ordering::Release);
    }
    None
}

/// `Limits::close_on_backpressure`: how a peer over the limit ends (a close frame is tried,
/// behind what is buffered; the socket closes either way).
pub(super) fn backpressure_end(o: &mut Open, peer: std::net::SocketAddr) -> End {
    let link = &o.conn.shared;
    let err = Error::new(
        ErrorKind::Backpressure,
        format!(
            "the peer does not read: {} bytes are queued for it (send queue limit {}); closed with 1008 (close_on_backpressure)",
            link.buffered.load(Ordering::Acquire),
            link.queue_limit
        ),
    )
    .with_peer(Some(peer))
    .with_hint("a peer that sends without reading; turn close_on_backpressure off to pause reading it instead");
    o.writer.close(close_code::POLICY, "backpressure limit");
    let _ = super::closing::flush(&mut o.writer, &mut o.stream);
    End::err(close_code::POLICY, err)
}

/// Keepalive on a connection paused for backpressure: the error that ends it when its socket
/// took none of our bytes for `limit`, else `None` (and the progress noted).
pub(super) fn stalled(o: &mut Open, now: Instant, limit: Duration) -> Option<Error> {
    let written = o.stream.bytes_written();
    match o.progress {
        Some((w, since)) if w == written => (now >= since + limit).then(|| {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "the peer took none of the {} bytes queued for it for {limit:?} (its reading was paused for backpressure)",
                    o.conn.shared.buffered.load(Ordering::Acquire)
                ),
            )
            .with_hint("a peer that sends without reading: keepalive closed it")
        }),
        _ => {
            o.progress = Some((written, now));
            None
        }
    }
}

impl Worker {
    /// After `pump` wrote: a connection paused for backpressure reads again once its queue is
    /// down to half the limit.
    pub(super) fn wake_if_drained(&mut self, key: usize) {
        let Some(State::Open(o)) = self.conns.get_mut(key).map(|c| &mut c.state) else {
            return;
        };
        let link = &o.conn.shared;
        if o.wake_on_drain && link.buffered.load(Ordering::Acquire) <= link.queue_limit / 2 {
            link.refused.store(false, Ordering::Release);
            o.wake_on_drain = false;
            o.progress = None;
            self.again.push(key);
        }
    }
}
