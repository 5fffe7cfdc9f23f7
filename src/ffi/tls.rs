//! `wss_tls_config`: TLS settings for servers and clients. Loaders parse at once and fail with
//! the OpenSSL detail (wrong password, unreadable file, key mismatch).

use std::os::raw::c_char;

use parking_lot::Mutex;

use super::guard::*;
use super::result::*;
use crate::error::{Error, Result};
use crate::tls::TlsConfig;

/// Opaque TLS configuration. Create with `wss_tls_config_new`, free with `wss_tls_config_free`.
/// Thread-safe (a lock serializes changes). Servers and clients copy it when created, so it may
/// be freed or changed afterwards.
pub struct wss_tls_config {
    pub(crate) inner: Mutex<TlsConfig>,
}

fn with(cfg: *mut wss_tls_config, f: impl FnOnce(&mut TlsConfig) -> Result<()>) -> wss_result {
    guard(|| {
        let c = handle(cfg, "config")?;
        f(&mut c.inner.lock())
    })
}

/// Create a TLS configuration with secure defaults (TLS 1.2+, forward-secret AEAD ciphers, peer
/// and host name verification for clients).
///
/// # Safety
/// `out` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_new(out: *mut *mut wss_tls_config) -> wss_result {
    guard(|| {
        let out = out_arg(out, "out")?;
        *out = Box::into_raw(Box::new(wss_tls_config {
            inner: Mutex::new(TlsConfig::new()),
        }));
        Ok(())
    })
}

/// Free a configuration. NULL is a no-op. Freeing twice is a host bug.
///
/// # Safety
/// `cfg` must be NULL or a live handle from `wss_tls_config_new`.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_free(cfg: *mut wss_tls_config) {
    if !cfg.is_null() {
        contain(|| drop(unsafe { Box::from_raw(cfg) }));
    }
}

/// Load our certificate (or chain, leaf first) and private key from PEM files. `key_password`
/// may be NULL for an unencrypted key.
///
/// # Safety
/// Pointers must be NULL or valid NUL-terminated strings; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_load_pem_chain(
    cfg: *mut wss_tls_config,
    cert_path: *const c_char,
    key_path: *const c_char,
    key_password: *const c_char,
) -> wss_result {
    with(cfg, |c| {
        let (cert, key) = (
            str_arg(cert_path, "cert_path")?,
            str_arg(key_path, "key_path")?,
        );
        c.load_pem_chain(cert, key, opt_str_arg(key_password, "key_password")?)
            .map(drop)
    })
}

/// Load our certificate chain and key from PEM bytes.
///
/// # Safety
/// Buffers must hold the given lengths; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_load_pem_chain_mem(
    cfg: *mut wss_tls_config,
    cert_pem: *const u8,
    cert_len: usize,
    key_pem: *const u8,
    key_len: usize,
    key_password: *const c_char,
) -> wss_result {
    with(cfg, |c| {
        let cert = bytes_arg(cert_pem, cert_len, "cert_pem")?;
        let key = bytes_arg(key_pem, key_len, "key_pem")?;
        if cert.is_empty() || key.is_empty() {
            return Err(Error::invalid("cert_pem and key_pem must not be empty"));
        }
        c.load_pem_chain_mem(cert, key, opt_str_arg(key_password, "key_password")?)
            .map(drop)
    })
}

/// Load our certificate, key and chain from a PKCS#12 (.pfx/.p12) file. `password` may be NULL
/// for an empty password.
///
/// # Safety
/// Pointers must be NULL or valid NUL-terminated strings; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_load_pfx_file(
    cfg: *mut wss_tls_config,
    path: *const c_char,
    password: *const c_char,
) -> wss_result {
    with(cfg, |c| {
        c.load_pfx_file(
            str_arg(path, "path")?,
            opt_str_arg(password, "password")?.unwrap_or(""),
        )
        .map(drop)
    })
}

/// Load our certificate, key and chain from PKCS#12 bytes.
///
/// # Safety
/// `data` must hold `len` bytes; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_load_pfx_mem(
    cfg: *mut wss_tls_config,
    data: *const u8,
    len: usize,
    password: *const c_char,
) -> wss_result {
    with(cfg, |c| {
        let der = bytes_arg(data, len, "data")?;
        if der.is_empty() {
            return Err(Error::invalid("PKCS#12 data must not be empty"));
        }
        c.load_pfx_mem(der, opt_str_arg(password, "password")?.unwrap_or(""))
            .map(drop)
    })
}

/// Trust the CA certificates in a PEM file.
///
/// # Safety
/// `path` a valid NUL-terminated string; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_load_ca_file(
    cfg: *mut wss_tls_config,
    path: *const c_char,
) -> wss_result {
    with(cfg, |c| c.load_ca_file(str_arg(path, "path")?).map(drop))
}

/// Trust every CA in a folder: OpenSSL hashed names (`1a2b3c4d.0`, CRLs `1a2b3c4d.r0`) and plain
/// `.pem`/`.crt`/`.cer` files.
///
/// # Safety
/// `path` a valid NUL-terminated string; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_load_ca_dir(
    cfg: *mut wss_tls_config,
    path: *const c_char,
) -> wss_result {
    with(cfg, |c| c.load_ca_dir(str_arg(path, "path")?).map(drop))
}

/// Load a CRL (PEM or DER); a peer whose own certificate it lists is rejected (verify error 23).
/// Only the peer's certificate is checked, so intermediates need no CRL of their own.
///
/// # Safety
/// `path` a valid NUL-terminated string; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_load_crl_file(
    cfg: *mut wss_tls_config,
    path: *const c_char,
) -> wss_result {
    with(cfg, |c| c.load_crl_file(str_arg(path, "path")?).map(drop))
}

/// Load DH parameters (PEM) for the DHE cipher suites.
///
/// # Safety
/// `path` a valid NUL-terminated string; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_load_dhparam_file(
    cfg: *mut wss_tls_config,
    path: *const c_char,
) -> wss_result {
    with(cfg, |c| {
        c.load_dhparam_file(str_arg(path, "path")?).map(drop)
    })
}

/// Set how the peer's certificate is requested and checked (`WSS_VERIFY_*`).
///
/// # Safety
/// `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_set_verify_mode(
    cfg: *mut wss_tls_config,
    mode: wss_verify_mode,
) -> wss_result {
    with(cfg, |c| {
        c.set_verify_mode(verify_mode_from_c(mode)?);
        Ok(())
    })
}

/// Clients: `skip` 1 accepts any server certificate (0 restores verification). INSECURE: tests
/// and diagnostics only.
///
/// # Safety
/// `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_set_insecure_skip_peer_verification(
    cfg: *mut wss_tls_config,
    skip: u8,
) -> wss_result {
    with(cfg, |c| {
        c.set_insecure_skip_peer_verification(flag(skip, "skip")?);
        Ok(())
    })
}

/// Clients: `skip` 1 does not check the server certificate's host name / IP (0 checks it).
/// INSECURE.
///
/// # Safety
/// `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_set_insecure_skip_hostname_verification(
    cfg: *mut wss_tls_config,
    skip: u8,
) -> wss_result {
    with(cfg, |c| {
        c.set_insecure_skip_hostname_verification(flag(skip, "skip")?);
        Ok(())
    })
}

/// Clients: name to send as SNI and verify, instead of the URL host (NULL = URL host).
///
/// # Safety
/// `name` NULL or a valid string; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_set_server_name(
    cfg: *mut wss_tls_config,
    name: *const c_char,
) -> wss_result {
    with(cfg, |c| {
        c.set_server_name(opt_str_arg(name, "name")?).map(drop)
    })
}

/// TLS 1.2 cipher list in OpenSSL syntax (validated now).
///
/// # Safety
/// `list` a valid string; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_set_ciphers(
    cfg: *mut wss_tls_config,
    list: *const c_char,
) -> wss_result {
    with(cfg, |c| c.set_ciphers(str_arg(list, "list")?).map(drop))
}

/// TLS 1.3 cipher suites in OpenSSL syntax (validated now).
///
/// # Safety
/// `list` a valid string; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_set_ciphersuites(
    cfg: *mut wss_tls_config,
    list: *const c_char,
) -> wss_result {
    with(cfg, |c| {
        c.set_ciphersuites(str_arg(list, "list")?).map(drop)
    })
}

/// Key-exchange groups, e.g. "X25519:P-256" (validated now).
///
/// # Safety
/// `list` a valid string; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_set_groups(
    cfg: *mut wss_tls_config,
    list: *const c_char,
) -> wss_result {
    with(cfg, |c| c.set_groups(str_arg(list, "list")?).map(drop))
}

/// Lowest TLS version accepted (`WSS_TLS_1_2` default, or `WSS_TLS_1_3`).
///
/// # Safety
/// `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_set_min_version(
    cfg: *mut wss_tls_config,
    v: wss_tls_version,
) -> wss_result {
    with(cfg, |c| match tls_version_from_c(v)? {
        Some(v) => c.set_min_version(v).map(drop),
        None => Err(Error::invalid(
            "the minimum TLS version must be WSS_TLS_1_2 or WSS_TLS_1_3",
        )),
    })
}

/// Highest TLS version accepted (`WSS_TLS_ANY` = newest available).
///
/// # Safety
/// `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_set_max_version(
    cfg: *mut wss_tls_config,
    v: wss_tls_version,
) -> wss_result {
    with(cfg, |c| c.set_max_version(tls_version_from_c(v)?).map(drop))
}

/// ALPN protocols in preference order (`count` may be 0 to clear).
///
/// # Safety
/// `protocols` must hold `count` valid strings; `cfg` a live handle.
#[no_mangle]
pub unsafe extern "C" fn wss_tls_config_set_alpn(
    cfg: *mut wss_tls_config,
    protocols: *const *const c_char,
    count: usize,
) -> wss_result {
    with(cfg, |c| {
        let list = str_list(protocols, count, "protocols")?;
        c.set_alpn(&list).map(drop)
    })
}

/// Borrow an array of `count` strings.
pub(crate) fn str_list<'a>(
    p: *const *const c_char,
    count: usize,
    what: &str,
) -> Result<Vec<&'a str>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(Error::invalid(format!("{what} is NULL with count {count}")));
    }
    // SAFETY: the caller promises `count` pointers.
    let ptrs = unsafe { std::slice::from_raw_parts(p, count) };
    ptrs.iter()
        .enumerate()
        .map(|(i, s)| str_arg(*s, &format!("{what}[{i}]")))
        .collect()
}

/// A copy of the configuration behind `tls` (NULL: none).
pub(crate) fn tls_copy(tls: *const wss_tls_config) -> Option<TlsConfig> {
    // SAFETY: NULL or a live handle, by the caller's contract.
    unsafe { tls.as_ref() }.map(|t| t.inner.lock().clone())
}
