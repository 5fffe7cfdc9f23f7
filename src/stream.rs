//! The one transport type: plain TCP (ws) or TLS over TCP (wss). The only difference between the
//! two is configuration.

use std::io::{self, Read, Write};

use mio::net::TcpStream;
use openssl::ssl::SslStream;

/// A connection's byte stream.
#[derive(Debug)]
pub(crate) enum Stream {
    /// `ws://`: bytes go straight to the socket.
    Plain(TcpStream),
    /// `wss://`: bytes go through OpenSSL.
    Tls(Box<SslStream<TcpStream>>),
}

impl Stream {
    /// The socket underneath.
    pub(crate) fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_mut(),
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
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}
