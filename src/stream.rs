//! The one transport type: plain TCP (ws) or TLS over TCP (wss). The only difference between the
//! two is configuration.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use openssl::ssl::SslStream;

/// A non-blocking TCP socket that remembers when a read came back short.
///
/// A short read means the kernel buffer was empty at that moment; with edge-triggered readiness
/// any later arrival raises a new event, so until then further reads can answer `WouldBlock`
/// without a system call. This saves one `recv` per message on every connection (the read that
/// would only return EAGAIN). Tracking is on only on the I/O workers (where readiness events
/// clear the flag) and only on Linux, whose epoll raises an edge on every arrival.
#[derive(Debug)]
pub(crate) struct Tcp {
    sock: TcpStream,
    drained: bool,
    track: bool,
    /// Bytes the socket has accepted so far (wrapping): whether writing makes progress.
    written: u64,
    /// A read stopped after `NON_DATA_PER_READ` records without application data while more
    /// input may be buffered: the worker reads again in its next turn (no event would come).
    again: bool,
}

impl Tcp {
    /// A socket owned by an I/O worker, skipping reads after a short one (Linux).
    pub(crate) fn tracked(sock: TcpStream) -> Self {
        Tcp {
            sock,
            drained: false,
            track: cfg!(target_os = "linux"),
            written: 0,
            again: false,
        }
    }

    /// Whether the last read yielded with input still to process (see `Tcp::again`); clears it.
    pub(crate) fn take_again(&mut self) -> bool {
        std::mem::take(&mut self.again)
    }

    /// The socket (for registration).
    pub(crate) fn sock_mut(&mut self) -> &mut TcpStream {
        &mut self.sock
    }

    /// A readiness event arrived: the next read goes to the socket again.
    pub(crate) fn readable(&mut self) {
        self.drained = false;
    }

    /// The peer closed its side: a short read no longer means "nothing more until the next
    /// event" (the end of stream is pending and raises no further event), so stop tracking.
    pub(crate) fn untrack(&mut self) {
        self.track = false;
        self.drained = false;
    }
}

impl Read for Tcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.drained {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = self.sock.read(buf)?;
        if self.track && n > 0 && n < buf.len() {
            self.drained = true;
        }
        Ok(n)
    }
}

impl Write for Tcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.sock.write(buf)?;
        self.written = self.written.wrapping_add(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

/// A connection's byte stream.
#[derive(Debug)]
pub(crate) enum Stream {
    /// `ws://`: bytes go straight to the socket.
    Plain(Tcp),
    /// `wss://`: bytes go through OpenSSL.
    Tls(Box<SslStream<Tcp>>),
}

impl Stream {
    /// The socket wrapper underneath.
    pub(crate) fn inner(&mut self) -> &mut Tcp {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_mut(),
        }
    }

    /// Bytes the socket has accepted so far (wrapping); a change means writing progressed.
    pub(crate) fn bytes_written(&mut self) -> u64 {
        self.inner().written
    }

    /// The socket underneath (for registration and shutdown).
    pub(crate) fn tcp(&mut self) -> &mut TcpStream {
        &mut self.inner().sock
    }

    /// Write as many TLS records (or bytes) of `buf` as the socket takes.
    ///
    /// SSL_write takes at most one record (16 KiB) per call; writing as many records as the
    /// socket takes in one call saves the writer a round per record.
    pub(crate) fn write_through(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => {
                let mut total = 0;
                while total < buf.len() {
                    match tls_write(s, &buf[total..]) {
                        Ok(0) => break,
                        Ok(n) => total += n,
                        // Progress was made: report it; the error recurs on the next call.
                        Err(_) if total > 0 => break,
                        Err(e) => return Err(e),
                    }
                }
                Ok(total)
            }
        }
    }

    /// The TLS session, if any.
    pub(crate) fn ssl(&self) -> Option<&openssl::ssl::SslRef> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(s) => Some(s.ssl()),
        }
    }

    /// Best-effort TLS close_notify (never blocks; errors ignored because the socket is being
    /// dropped anyway).
    pub(crate) fn shutdown_tls(&mut self) {
        if let Stream::Tls(s) = self {
            let _ = s.shutdown();
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => {
                // Nothing in the kernel (see `Tcp`) and nothing buffered in OpenSSL: the read
                // could only fail. Skipping it saves a trip through SSL_read per message.
                if s.get_ref().drained && !has_pending(s.ssl()) {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                tls_read(s, buf)
            }
        }
    }
}

/// `SslStream`'s `write` (WANT_READ without an OS error retried, as it does), with
/// OpenSSL failures marked as the session's (`error::SessionError`: hints for an open
/// connection).
fn tls_write(s: &mut SslStream<Tcp>, buf: &[u8]) -> io::Result<usize> {
    use openssl::ssl::ErrorCode;
    if buf.is_empty() {
        return Ok(0);
    }
    loop {
        match s.ssl_write(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.code() == ErrorCode::WANT_READ && e.io_error().is_none() => {}
            Err(e) => return Err(crate::error::SessionError::io(e)),
        }
    }
}

/// Records without application data (TLS 1.3 KeyUpdate or session tickets) handled in one read
/// before it yields to other connections.
const NON_DATA_PER_READ: usize = 8;

/// `SSL_read` with the contexts' `SSL_MODE_AUTO_RETRY` cleared (see `tls::apply_common`): a
/// record that carries no application data returns WANT_READ instead of OpenSSL looping on to the
/// next one, so a peer sending only such records cannot keep this thread in one call. After
/// `NON_DATA_PER_READ` of them this answers `WouldBlock` and sets `Tcp::again`. A peer sending
/// KeyUpdates beyond `tls::key_update`'s limit gets an error (`tls::KeyUpdateFlood`).
fn tls_read(s: &mut SslStream<Tcp>, buf: &mut [u8]) -> io::Result<usize> {
    use openssl::ssl::ErrorCode;
    for _ in 0..NON_DATA_PER_READ {
        let r = s.ssl_read(buf);
        if crate::tls::key_update::tripped(s.ssl()) {
            return Err(crate::tls::KeyUpdateFlood::io_error());
        }
        match r {
            Ok(n) => return Ok(n),
            Err(e) if e.code() == ErrorCode::ZERO_RETURN => return Ok(0),
            Err(e) if e.code() == ErrorCode::SYSCALL && e.io_error().is_none() => return Ok(0),
            // A non-data record was handled; the next may be buffered already.
            Err(e) if e.code() == ErrorCode::WANT_READ && e.io_error().is_none() => {}
            Err(e) => return Err(crate::error::SessionError::io(e)),
        }
    }
    s.get_mut().again = true;
    Err(io::ErrorKind::WouldBlock.into())
}

/// Whether OpenSSL holds unread input: decrypted data or raw bytes read ahead.
fn has_pending(ssl: &openssl::ssl::SslRef) -> bool {
    use foreign_types::ForeignTypeRef;
    // SAFETY: a valid SSL for the duration of the call.
    unsafe { SSL_has_pending(ssl.as_ptr()) == 1 }
}

extern "C" {
    fn SSL_has_pending(ssl: *const openssl_sys::SSL) -> std::os::raw::c_int;
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_through(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}
