//! TLS 1.3 KeyUpdate accounting: a peer may ask for fresh keys, but not without end.
//!
//! Each KeyUpdate costs a key derivation (and, when the peer requests it, one of ours in reply),
//! and OpenSSL accepts them without limit. The contexts' message callback counts the ones a
//! connection receives; more than [`MAX_PER_WINDOW`] within [`WINDOW`] marks it flooded, and the
//! read that received it fails with [`KeyUpdateFlood`] (see `stream::tls_read`).
//!
//! Why 32 per second: key limits (RFC 8446 §5.5) call for an update after ~2^24 records (about
//! 380 GB at 16 KiB records for AES-GCM); real peers update every few GB or minutes, the most
//! eager policies once per message at low rates. 32 a second is far above any of those, and a
//! flooder (hundreds of thousands a second) is cut off within its first read buffer.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::os::raw::{c_int, c_void};
use std::time::{Duration, Instant};

use foreign_types::ForeignTypeRef;
use once_cell::sync::Lazy;
use openssl::ex_data::Index;
use openssl::ssl::{Ssl, SslContextBuilder, SslRef};
use parking_lot::Mutex;

/// KeyUpdates a connection may receive per [`WINDOW`].
pub(crate) const MAX_PER_WINDOW: u32 = 32;
/// The window [`MAX_PER_WINDOW`] applies to.
pub(crate) const WINDOW: Duration = Duration::from_secs(1);

/// TLS record content type "handshake" and handshake message type "key_update" (RFC 8446).
const CONTENT_HANDSHAKE: c_int = 22;
const KEY_UPDATE: u8 = 24;

#[derive(Default)]
struct Counter {
    start: Option<Instant>,
    count: u32,
    flooded: bool,
}

static SLOT: Lazy<Option<Index<Ssl, Mutex<Counter>>>> = Lazy::new(|| Ssl::new_ex_index().ok());

thread_local! {
    /// A KeyUpdate arrived during the current `SSL_read` on this thread (checked right after).
    static SEEN: Cell<bool> = const { Cell::new(false) };
}

/// Count KeyUpdates on every connection of this context.
pub(crate) fn install(b: &mut SslContextBuilder) {
    // SAFETY: a valid SSL_CTX; the callback is a plain function that only reads its arguments.
    unsafe { SSL_CTX_set_msg_callback(b.as_ptr(), Some(on_message)) }
}

/// Give `ssl` its KeyUpdate counter (connections without one are not limited).
pub(crate) fn attach(ssl: &mut SslRef) {
    if let Some(idx) = *SLOT {
        ssl.set_ex_data(idx, Mutex::new(Counter::default()));
    }
}

/// Whether a KeyUpdate received during the last read pushed `ssl` over the limit.
pub(crate) fn tripped(ssl: &SslRef) -> bool {
    if !SEEN.with(|s| s.replace(false)) {
        return false;
    }
    let Some(idx) = *SLOT else { return false };
    ssl.ex_data(idx).is_some_and(|c| c.lock().flooded)
}

unsafe extern "C" fn on_message(
    write_p: c_int,
    _version: c_int,
    content_type: c_int,
    buf: *const c_void,
    len: usize,
    ssl: *mut openssl_sys::SSL,
    _arg: *mut c_void,
) {
    if write_p != 0 || content_type != CONTENT_HANDSHAKE || len < 1 || buf.is_null() {
        return;
    }
    // SAFETY: OpenSSL passes `len` readable bytes at `buf`.
    if unsafe { *(buf as *const u8) } != KEY_UPDATE {
        return;
    }
    let Some(idx) = *SLOT else { return };
    // SAFETY: the SSL the message belongs to, valid for the call; only its ex-data is read.
    let ssl = unsafe { SslRef::from_ptr(ssl) };
    let Some(counter) = ssl.ex_data(idx) else {
        return;
    };
    let mut c = counter.lock();
    let now = Instant::now();
    match c.start {
        Some(start) if now.duration_since(start) < WINDOW => c.count += 1,
        _ => {
            c.start = Some(now);
            c.count = 1;
        }
    }
    if c.count > MAX_PER_WINDOW {
        c.flooded = true;
    }
    SEEN.with(|s| s.set(true));
}

type MsgCallback = unsafe extern "C" fn(
    c_int,
    c_int,
    c_int,
    *const c_void,
    usize,
    *mut openssl_sys::SSL,
    *mut c_void,
);

extern "C" {
    fn SSL_CTX_set_msg_callback(ctx: *mut openssl_sys::SSL_CTX, cb: Option<MsgCallback>);
}

/// Why a connection was dropped: its peer sent KeyUpdates beyond the limit. Carried inside the
/// `io::Error` of the failing read; `Error::from_io` turns it into a TLS error with a hint.
#[derive(Debug)]
pub(crate) struct KeyUpdateFlood;

impl KeyUpdateFlood {
    pub(crate) fn io_error() -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, KeyUpdateFlood)
    }
}

impl fmt::Display for KeyUpdateFlood {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the peer sent more than {MAX_PER_WINDOW} TLS KeyUpdate messages within {WINDOW:?} (a KeyUpdate flood): connection dropped"
        )
    }
}

impl std::error::Error for KeyUpdateFlood {}
