//! PKI generator: keys, certificates, PEM and PFX files, CRLs and hashed CA folders.
//!
//! What the `wss-pki` tool (and anyone making certificates for wss endpoints) builds on. Only the
//! `openssl` crate is used, and every file written is readable by the `openssl` CLI.
//!
//! | module | holds |
//! |---|---|
//! | `key` | [`KeyKind`]: ECDSA P-256 (default) or RSA-3072 key pairs |
//! | `spec` | [`CertSpec`]: profile (CA, server, client), names, [`San`]s, validity |
//! | `inspect` | [`inspect`]: what a PEM, PFX or CA folder holds, and its problems |
//! | `issue` | [`Issued`]: a certificate with its key, self-signed or issued by a CA (SHA-256) |
//! | `encode` | PEM chains, plain and encrypted keys, password-protected PFX (PKCS#12) |
//! | `crl` | CRLs signed by a CA: [`Revocation`] entries with a [`RevocationReason`] |
//! | `ca_dir` | subject-hash names, hashed CA folders, [`rehash`] |
//! | `check` | [`check_chain`]: would a peer accept this certificate for a role (offline)? |
//! | `files` | writing files: never over an existing one, keys owner-only (0600) |
//! | `init` | [`init`]: a complete throwaway PKI in one folder |
//! | `folder` | [`PkiFolder`]: an existing PKI folder: add clients, revoke, renew |
//!
//! Errors: operations that only call OpenSSL return its [`ErrorStack`](openssl::error::ErrorStack);
//! operations that check caller input or touch files return the crate's [`Error`](crate::Error)
//! (`InvalidArgument`, `Io` with errno and path, `Config` for an unreadable PFX, or `Tls` with
//! the OpenSSL queue when encoding fails).
//!
//! ```no_run
//! use wss::pki::{init, InitOptions};
//!
//! # fn main() -> wss::Result<()> {
//! let mut opts = InitOptions::new("a PFX password");
//! opts.add_sans("localhost,127.0.0.1,::1")?.add_client("alice")?;
//! let pki = init("my-pki", &opts)?;
//! let mut server = wss::TlsConfig::new();
//! server
//!     .load_pfx_file(&pki.server.pfx, "a PFX password")?
//!     .load_ca_dir(&pki.hashed_ca_dir)?
//!     .set_verify_mode(wss::VerifyMode::Required);
//! # Ok(())
//! # }
//! ```
//!
//! Single certificates:
//!
//! ```no_run
//! use wss::pki::{CertSpec, Issued};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ca = Issued::self_signed(&CertSpec::ca("my CA"))?;
//! let server = ca.issue(&CertSpec::server("localhost", &["localhost"], &["127.0.0.1".parse()?]))?;
//! server.write_pem("server.pem".as_ref(), "server.key".as_ref(), &[])?;
//! std::fs::write("ca.crl.pem", ca.crl(&[server.cert.serial_number()], 30)?)?;
//! # Ok(())
//! # }
//! ```

// Rust API only: `cbindgen:ignore` keeps these modules (and their constants) out of wss.h.
/// cbindgen:ignore
mod ca_dir;
/// cbindgen:ignore
mod check;
/// cbindgen:ignore
mod crl;
/// cbindgen:ignore
mod encode;
/// cbindgen:ignore
mod files;
/// cbindgen:ignore
mod folder;
/// cbindgen:ignore
mod init;
/// cbindgen:ignore
mod inspect;
/// cbindgen:ignore
mod issue;
/// cbindgen:ignore
mod key;
/// cbindgen:ignore
mod spec;
#[cfg(test)]
mod testing;

pub use ca_dir::{
    crl_hash, is_hash_name, rehash, subject_hash, write_hashed_ca_dir, HashLink, Rehash,
};
pub use check::{check_chain, check_key, load_pem, load_pfx, Checked, Role, Trust};
pub use crl::{crl_number, Revocation, RevocationReason};
pub use files::{write_private, write_public};
pub use folder::{PkiFolder, Revoked, SERVER_NAME};
pub use init::{init, InitOptions, IssuedFiles, Pki};
pub use inspect::{inspect, Inspection};
pub use issue::{Issued, SECONDS_PER_DAY};
pub use key::KeyKind;
pub use spec::{parse_sans, CertSpec, San};
