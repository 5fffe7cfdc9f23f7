//! The I/O engine: a fixed pool of OS threads, each blocking in a `mio` readiness poll over many
//! non-blocking sockets and woken through a `mio::Waker` when a host thread queues a command.
//! No async runtime, no thread per connection.

mod owner;
mod worker;

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{unbounded, Sender};
use mio::net::{TcpListener, TcpStream};
use mio::{Poll, Waker};
use parking_lot::{Condvar, Mutex};

pub(crate) use owner::{Deferral, Owner, ServerSide};
pub(crate) use worker::{ClientTls, Dial};

use crate::conn::Link;
use crate::error::{Error, ErrorKind, Result};
use crate::handler::AcceptDecision;
use crate::ws::Outgoing;

/// Token of each worker's waker.
const WAKER: mio::Token = mio::Token(usize::MAX);
/// Token of a listening socket (one per runtime, on worker 0).
const LISTENER: mio::Token = mio::Token(usize::MAX - 1);

/// A command for a worker, sent from any thread.
pub(crate) enum Cmd {
    /// Queue a message on a connection.
    Send {
        conn: Arc<Link>,
        msg: Outgoing,
        len: usize,
    },
    /// Close a connection after its queued messages.
    Close {
        conn: Arc<Link>,
        code: u16,
        reason: String,
    },
    /// Take a freshly accepted socket (server side).
    Accept {
        tcp: TcpStream,
        peer: SocketAddr,
        owner: Arc<Owner>,
        id: u64,
    },
    /// Own a listening socket and spread accepted sockets over `peers`.
    Listen {
        listener: TcpListener,
        owner: Arc<Owner>,
        peers: Vec<Arc<WorkerHandle>>,
    },
    /// Take a new client connection and run its handshake (`Client::connect_async`).
    Dial { dial: Box<Dial>, owner: Arc<Owner> },
    /// The name of a connecting client was resolved (on a short-lived thread).
    Resolved {
        conn: Arc<Link>,
        addrs: Result<Vec<SocketAddr>>,
    },
    /// The `Client` was dropped: stop connecting without callbacks (close it if it opened).
    Cancel { conn: Arc<Link> },
    /// The accept decision for a deferred upgrade (`Server::decide`), already checked.
    Decide {
        key: usize,
        id: u64,
        decision: AcceptDecision,
    },
    /// Read again from a connection whose handler wanted no messages.
    Resume { conn: Arc<Link> },
    /// Stop listening and close every connection of `owner` with `code` (graceful shutdown).
    CloseAll { owner: Arc<Owner>, code: u16 },
    /// Drop every connection and end the thread.
    Stop,
}

static NEXT_WORKER: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// Unique id of the worker running on this thread (0 = not an I/O thread).
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// Whether the calling thread is one of the library's I/O threads (inside a callback).
pub(crate) fn in_io_thread() -> bool {
    CURRENT.with(|c| c.get()) != 0
}

/// How other threads reach a worker: its command queue and waker.
pub(crate) struct WorkerHandle {
    uid: usize,
    tx: Sender<Cmd>,
    waker: Waker,
    wake_pending: AtomicBool,
}

impl WorkerHandle {
    /// Whether the calling thread is this worker.
    pub(crate) fn is_current(&self) -> bool {
        CURRENT.with(|c| c.get()) == self.uid
    }

    /// Queue a command and wake the worker (once per batch; never when called on the worker's
    /// own thread, which drains its queue before it polls again).
    pub(crate) fn submit(&self, cmd: Cmd) {
        if self.tx.send(cmd).is_err() {
            return; // the worker has ended; its connections are closed already
        }
        if CURRENT.with(|c| c.get()) != self.uid && !self.wake_pending.swap(true, Ordering::AcqRel)
        {
            let _ = self.waker.wake();
        }
    }
}

/// A pool of I/O threads.
pub(crate) struct Runtime {
    pub workers: Vec<Arc<WorkerHandle>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    rr: AtomicUsize,
    /// Threads that have ended, to wait for them with a deadline.
    ended: Arc<(Mutex<usize>, Condvar)>,
}

/// Counts its thread as ended when dropped (also when the thread unwinds).
struct EndSignal(Arc<(Mutex<usize>, Condvar)>);

impl Drop for EndSignal {
    fn drop(&mut self) {
        *self.0 .0.lock() += 1;
        self.0 .1.notify_all();
    }
}

impl Runtime {
    /// Start `threads` workers (0 = number of cores).
    pub(crate) fn start(threads: usize, name: &str) -> Result<Arc<Runtime>> {
        let n = if threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            threads
        };
        let mut workers = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        let ended = Arc::new((Mutex::new(0), Condvar::new()));
        for i in 0..n {
            let poll = Poll::new().map_err(|e| Error::from_io("cannot create poller", &e))?;
            let waker = Waker::new(poll.registry(), WAKER)
                .map_err(|e| Error::from_io("cannot create waker", &e))?;
            let (tx, rx) = unbounded();
            let shared = Arc::new(WorkerHandle {
                uid: NEXT_WORKER.fetch_add(1, Ordering::Relaxed),
                tx,
                waker,
                wake_pending: AtomicBool::new(false),
            });
            let w = worker::Worker::new(shared.clone(), poll, rx);
            let signal = EndSignal(ended.clone());
            let h = std::thread::Builder::new()
                .name(format!("{name}-io-{i}"))
                .spawn(move || {
                    let _signal = signal;
                    w.run()
                })
                .map_err(|e| Error::from_io("cannot start I/O thread", &e))?;
            workers.push(shared);
            handles.push(h);
        }
        Ok(Arc::new(Runtime {
            workers,
            threads: Mutex::new(handles),
            rr: AtomicUsize::new(0),
            ended,
        }))
    }

    /// The next worker, round robin.
    pub(crate) fn next_worker(&self) -> &Arc<WorkerHandle> {
        let i = self.rr.fetch_add(1, Ordering::Relaxed) % self.workers.len();
        &self.workers[i]
    }

    /// The next worker, round robin, other than the calling thread's own (for a caller that
    /// will wait on it); `None` if this thread is the runtime's only worker.
    pub(crate) fn next_other_worker(&self) -> Option<&Arc<WorkerHandle>> {
        let me = CURRENT.with(|c| c.get());
        (0..self.workers.len())
            .map(|_| self.next_worker())
            .find(|w| w.uid != me)
    }

    /// Ask every worker to end (does not wait).
    pub(crate) fn stop(&self) {
        for w in &self.workers {
            w.submit(Cmd::Stop);
        }
    }

    /// Wait for the threads to end, until `deadline`. `Timeout` when one is still running then
    /// (inside a host callback that has not returned); it is left to end on its own. Must not be
    /// called from an I/O thread.
    pub(crate) fn join_until(&self, deadline: Instant) -> Result<()> {
        if in_io_thread() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "cannot wait for I/O threads from inside a callback",
            ));
        }
        let n = self.workers.len();
        {
            let (count, cv) = &*self.ended;
            let mut g = count.lock();
            while *g < n {
                if cv.wait_until(&mut g, deadline).timed_out() {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        "an I/O thread is still inside a host callback; the endpoint is stopped and its release runs once that callback returns",
                    ));
                }
            }
        }
        let handles: Vec<_> = std::mem::take(&mut *self.threads.lock());
        for h in handles {
            let _ = h.join();
        }
        Ok(())
    }
}
