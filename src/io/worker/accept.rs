//! How connections arrive on a worker: a server's listening socket (worker 0 spreads accepted
//! sockets round robin) and a new server-side socket entering its first state (`TlsAccept`, or
//! `ReadRequest` on plain ws). Client connections arrive as `Cmd::Dial` (module `dial`).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Interest, Token};
use openssl::ssl::{Ssl, SslStream};

use super::slot::{End, Slot, State, TimerKind};
use super::{would_block, Worker};
use crate::conn::{self, close_code};
use crate::error::{Error, ErrorKind};
use crate::io::{Cmd, Owner, WorkerHandle, LISTENER};
use crate::stream::{Stream, Tcp};
use crate::tls::verify;

/// Back-off after the process ran out of descriptors while accepting.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

impl Worker {
    /// Own a server's listening socket.
    pub(super) fn listen(
        &mut self,
        mut listener: TcpListener,
        owner: Arc<Owner>,
        peers: Vec<Arc<WorkerHandle>>,
    ) {
        match self
            .poll
            .registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
        {
            Ok(()) => {
                self.listener = Some((listener, owner, peers));
                self.accept_ready();
            }
            Err(e) => {
                if let Some(s) = &owner.server {
                    s.default_handler.on_error(
                        None,
                        &Error::from_io("cannot watch the listening socket", &e),
                    );
                }
            }
        }
    }

    pub(super) fn accept_ready(&mut self) {
        if let Some(until) = self.accept_paused_until {
            if Instant::now() < until {
                return;
            }
            self.accept_paused_until = None;
        }
        loop {
            let Some((listener, owner, peers)) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((tcp, peer)) => {
                    let (owner, id) = (owner.clone(), conn::next_id());
                    let n = peers.len().max(1);
                    let target = self.rr % n;
                    self.rr = self.rr.wrapping_add(1);
                    let w = peers.get(target).cloned();
                    match w {
                        Some(w) if w.uid != self.handle.uid => w.submit(Cmd::Accept {
                            tcp,
                            peer,
                            owner,
                            id,
                        }),
                        _ => self.take_socket(tcp, peer, owner, id),
                    }
                }
                Err(e) if would_block(&e) => return,
                Err(e)
                    if e.kind() == io::ErrorKind::Interrupted
                        || e.kind() == io::ErrorKind::ConnectionAborted =>
                {
                    continue
                }
                Err(e) => {
                    // Typically EMFILE: report, pause accepting briefly, keep serving the others.
                    if let Some(s) = &owner.server {
                        s.default_handler.on_error(None, &Error::from_io("accept failed", &e).with_hint(
                            "the process may be out of file descriptors: raise `ulimit -n` or lower max_connections",
                        ));
                    }
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    /// A new server-side socket: start its TLS or HTTP state and its handshake deadline.
    pub(super) fn take_socket(
        &mut self,
        tcp: TcpStream,
        peer: SocketAddr,
        owner: Arc<Owner>,
        id: u64,
    ) {
        let Some(server) = &owner.server else { return };
        if server.closing.load(Ordering::Acquire) {
            return; // dropped: the server is shutting down
        }
        let _ = tcp.set_nodelay(true);
        server.active.fetch_add(1, Ordering::AcqRel);
        let state = match &server.ssl {
            Some(ctx) => {
                let stream = Ssl::new(ctx).and_then(|mut ssl| {
                    crate::tls::key_update::attach(&mut ssl);
                    if server.verify_peer {
                        verify::attach(&mut ssl);
                    }
                    SslStream::new(ssl, Tcp::tracked(tcp))
                });
                match stream {
                    Ok(s) => State::TlsAccept(Box::new(s)),
                    Err(e) => {
                        server.default_handler.on_error(
                            None,
                            &Error::from_stack(ErrorKind::Tls, "cannot create TLS session", &e)
                                .with_peer(Some(peer)),
                        );
                        server.release();
                        return;
                    }
                }
            }
            None => State::ReadRequest {
                stream: Stream::Plain(Tcp::tracked(tcp)),
                buf: Vec::new(),
            },
        };
        let now = Instant::now();
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        entry.insert(Slot::new(id, peer, owner.clone(), state, true));
        let c = &mut self.conns[key];
        let sock = match &mut c.state {
            State::TlsAccept(s) => Some(s.get_mut().sock_mut()),
            State::ReadRequest { stream, .. } => Some(stream.tcp()),
            _ => None,
        };
        let registered = sock.map_or(Ok(()), |sock| {
            self.poll
                .registry()
                .register(sock, Token(key), Interest::READABLE | Interest::WRITABLE)
        });
        if let Err(e) = registered {
            self.finish(
                key,
                End::err(
                    close_code::ABNORMAL,
                    Error::from_io("cannot watch the socket", &e).with_peer(Some(peer)),
                ),
            );
            return;
        }
        self.arm(
            key,
            TimerKind::Handshake,
            now + owner.limits.handshake_timeout,
        );
        self.guarded(Some(key), |w| w.drive(key, true, true));
    }
}
