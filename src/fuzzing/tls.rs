//! The TLS loaders on untrusted bytes: PKCS#12, PEM chains and keys, CA PEM, CRLs, DH
//! parameters (from memory, as the `_mem` loaders and the file loaders after reading).

use crate::tls::load;

/// Split `data` at its first NUL byte (the seed corpus joins certificate and key with one):
/// two inputs from one.
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, data),
    }
}

/// PKCS#12 with the empty password and with "wss" (the seed corpus uses both).
pub fn pkcs12(data: &[u8]) {
    for password in ["", "wss"] {
        let _ = load::pfx_identity(data, password, "fuzz");
    }
}

/// A PEM certificate chain and key (`data` split at its first NUL), unencrypted and with the
/// password "wss".
pub fn pem_identity(data: &[u8]) {
    let (cert, key) = split(data);
    let _ = load::pem_identity(cert, key, None, "fuzz cert", "fuzz key");
    let _ = load::pem_identity(cert, key, Some("wss"), "fuzz cert", "fuzz key");
}

/// CA certificates in PEM: what loads, loads into a store.
pub fn ca_pem(data: &[u8]) {
    if let Ok(certs) = load::certs_from_pem(data, "fuzz") {
        assert!(!certs.is_empty(), "a CA file that loads has a certificate");
    }
}

/// A CRL in PEM or DER.
pub fn crl(data: &[u8]) {
    let _ = load::crls(data, "fuzz");
}

/// DH parameters in PEM.
pub fn dhparams(data: &[u8]) {
    let _ = load::dhparams(data, "fuzz");
}
