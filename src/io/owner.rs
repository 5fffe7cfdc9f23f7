//! The server or client a connection belongs to, as the I/O threads see it (`Owner`): the
//! settings all its connections share and, for a server, its routes, counters and shutdown flag.
//! (The C ABI's `Endpoint` in src/ffi is the host's handle on a server or client; this is the
//! engine's side of it.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use openssl::ssl::SslContext;
use parking_lot::{Condvar, Mutex, RwLock};

use super::WorkerHandle;
use crate::config::{Keepalive, Limits};
use crate::handler::Handler;

/// What every connection of one server or client shares.
pub(crate) struct Owner {
    pub limits: Limits,
    pub keepalive: Option<Keepalive>,
    /// Present for servers.
    pub server: Option<ServerSide>,
}

impl Owner {
    pub(crate) fn new(
        limits: Limits,
        keepalive: Option<Keepalive>,
        server: Option<ServerSide>,
    ) -> Arc<Self> {
        Arc::new(Owner {
            limits,
            keepalive,
            server,
        })
    }
}

/// Server-only state.
pub(crate) struct ServerSide {
    pub ssl: Option<SslContext>,
    pub verify_peer: bool,
    pub hsts: bool,
    /// permessage-deflate settings (answered at each upgrade).
    pub deflate: crate::config::Deflate,
    /// Serves every path while `routes` is empty; receives errors that happen before routing.
    pub default_handler: Arc<dyn Handler>,
    pub routes: RwLock<HashMap<String, Arc<dyn Handler>>>,
    /// Connections accepted and not yet finished (handshaking or open).
    pub active: AtomicUsize,
    pub idle_lock: Mutex<()>,
    pub idle_cv: Condvar,
    /// Set once shutdown starts: new sockets are refused.
    pub closing: AtomicBool,
    /// Upgrades whose accept decision was deferred, by connection id (`Server::decide`).
    /// Whoever removes an entry (a decision, or the worker on timeout, disconnect or
    /// shutdown) owns the outcome.
    pub deferred: Mutex<HashMap<u64, Deferral>>,
}

/// Where a deferred upgrade waits, and what the decision is checked against.
pub(crate) struct Deferral {
    pub worker: Arc<WorkerHandle>,
    /// Slab key on that worker.
    pub key: usize,
    /// Subprotocols the client offered.
    pub offered: Vec<String>,
}

impl ServerSide {
    pub(crate) fn new(
        ssl: Option<SslContext>,
        verify_peer: bool,
        hsts: bool,
        deflate: crate::config::Deflate,
        default_handler: Arc<dyn Handler>,
    ) -> Self {
        ServerSide {
            ssl,
            verify_peer,
            hsts,
            deflate,
            default_handler,
            routes: RwLock::new(HashMap::new()),
            active: AtomicUsize::new(0),
            idle_lock: Mutex::new(()),
            idle_cv: Condvar::new(),
            closing: AtomicBool::new(false),
            deferred: Mutex::new(HashMap::new()),
        }
    }

    /// The handler for `path`: the route's, or the default one while no route is set.
    pub(crate) fn route(&self, path: &str) -> Option<Arc<dyn Handler>> {
        let routes = self.routes.read();
        if routes.is_empty() {
            return Some(self.default_handler.clone());
        }
        routes.get(path).cloned()
    }

    /// One connection finished.
    pub(crate) fn release(&self) {
        if self.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _g = self.idle_lock.lock();
            self.idle_cv.notify_all();
        }
    }
}
