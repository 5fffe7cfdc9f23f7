//! # wss — one secure WebSocket core for C, C++ and C# hosts
//!
//! RFC 6455 WebSockets over plain TCP (`ws://`) or TLS (`wss://`, OpenSSL), with mutual TLS, PFX
//! and CA-folder loading, hardened defaults and errors that keep every OpenSSL and X509 detail.
//!
//! * [`Server`] binds, routes by path and serves ws or wss depending on [`ServerConfig::tls`].
//! * [`Client`] connects to a `ws://` or `wss://` URL.
//! * Both deliver events to a [`Handler`] on a small pool of I/O threads; [`Connection`] handles
//!   send from any thread.
//! * [`TlsConfig`] loads certificates, keys, CAs and CRLs and reports failures at load time.
//! * [`Error`] carries a stable [`ErrorKind`], the OpenSSL error queue, the X509 verify result,
//!   errno, the peer address and a hint.

#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod conn;
pub mod error;
pub mod ffi;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod handler;
pub mod http;
mod io;
pub mod pki;
pub mod pull;
pub mod server;
mod stream;
pub mod tls;
mod ws;

/// Shared, cheaply cloned byte buffer: message payloads handed to `Handler::on_message_owned`.
pub use bytes::Bytes;
pub use client::{Client, WsUrl};
pub use config::{ClientConfig, Deflate, DeflateParams, Keepalive, Limits, ServerConfig};
pub use conn::{connection, ConnInfo, Connection};
pub use error::{Error, ErrorDetail, ErrorKind, OpenSslError, Result, VerifyFailure};
pub use handler::{AcceptDecision, Handler, MessageKind, UpgradeRequest};
pub use pull::{AcceptRequest, Event, EventKind, EventQueue, UserData};
pub use server::Server;
pub use tls::{PeerCertificate, TlsConfig, TlsInfo, TlsVersion, VerifyMode};

/// The library version.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The OpenSSL version the library runs with.
pub fn openssl_version() -> &'static str {
    openssl::version::version()
}

/// The README's Rust samples, compiled by `cargo test --doc` (its other samples:
/// tests/dist/readme.sh).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeSamples;
