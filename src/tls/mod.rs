//! TLS configuration: one `TlsConfig` type for servers and clients, loaders for PEM, PFX, CA files
//! and folders, CRLs and DH parameters, and the hardened OpenSSL contexts built from it.
//!
//! Defaults follow Mozilla's "intermediate" profile: TLS 1.2 and 1.3 only, ECDHE/DHE with AEAD
//! ciphers only, server cipher preference, no renegotiation, no compression. Clients verify the
//! peer's certificate and its host name unless an `insecure_*` option is set.

mod info;
pub(crate) mod key_update;
pub(crate) mod load;
mod system_roots;
pub(crate) mod verify;

use once_cell::sync::OnceCell;
use std::path::Path;
use std::sync::Arc;

use openssl::dh::Dh;
use openssl::pkey::Params;
use openssl::ssl::{
    AlpnError, SslContext, SslContextBuilder, SslMethod, SslMode, SslOptions, SslVerifyMode,
    SslVersion,
};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509Crl, X509Name, X509};

pub(crate) use info::session_info;
pub use info::{describe, PeerCertificate, TlsInfo};
pub(crate) use key_update::KeyUpdateFlood;
use load::Identity;
pub use load::MAX_FILE_SIZE;

use crate::error::{Error, ErrorKind, Result};

/// Mozilla "intermediate" TLS 1.2 cipher list: forward-secret AEAD suites only.
pub const DEFAULT_CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

/// TLS 1.3 suites (all AEAD by definition).
pub const DEFAULT_CIPHERSUITES: &str =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// Key-exchange groups offered by default.
pub const DEFAULT_GROUPS: &str = "X25519:P-256:P-384";

/// How the peer's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(i32)]
pub enum VerifyMode {
    /// The role's default: clients verify the server; servers do not ask for a client certificate.
    #[default]
    Default = crate::ffi::result::WSS_VERIFY_DEFAULT,
    /// Servers: do not ask for a client certificate. (Clients keep verifying the server; to
    /// disable that, use `set_insecure_skip_peer_verification`.)
    None = crate::ffi::result::WSS_VERIFY_NONE,
    /// Servers: ask for a client certificate; a certificate that is presented must verify.
    Optional = crate::ffi::result::WSS_VERIFY_OPTIONAL,
    /// Mutual TLS: the peer must present a certificate that verifies.
    Required = crate::ffi::result::WSS_VERIFY_REQUIRED,
}

/// TLS protocol versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12 = crate::ffi::result::WSS_TLS_1_2,
    /// TLS 1.3.
    Tls13 = crate::ffi::result::WSS_TLS_1_3,
}

impl TlsVersion {
    fn ossl(self) -> SslVersion {
        match self {
            TlsVersion::Tls12 => SslVersion::TLS1_2,
            TlsVersion::Tls13 => SslVersion::TLS1_3,
        }
    }
}

/// TLS settings for a server or a client. Loaders parse eagerly and report failures at once.
#[derive(Clone, Default)]
pub struct TlsConfig {
    identity: Option<Identity>,
    ca_certs: Vec<X509>,
    crls: Vec<Arc<X509Crl>>,
    dh: Option<Arc<Dh<Params>>>,
    verify_mode: VerifyMode,
    insecure_skip_peer: bool,
    insecure_skip_hostname: bool,
    server_name: Option<String>,
    ciphers: Option<String>,
    ciphersuites: Option<String>,
    groups: Option<String>,
    min_version: Option<TlsVersion>,
    max_version: Option<TlsVersion>,
    alpn: Vec<String>,
    /// The client context built from this configuration, shared by its clones (a C host's
    /// `wss_tls_config` is copied for every connect) and replaced by every setter: one context
    /// (and one load of the system trust store) serves every client connection made with it.
    client_ctx: Arc<OnceCell<SslContext>>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("has_identity", &self.identity.is_some())
            .field("ca_certs", &self.ca_certs.len())
            .field("crls", &self.crls.len())
            .field("verify_mode", &self.verify_mode)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

fn check_name(s: &str, what: &str) -> Result<()> {
    if s.is_empty() || s.contains('\0') {
        return Err(Error::invalid(format!(
            "{what} must be a non-empty string without NUL"
        )));
    }
    Ok(())
}

impl TlsConfig {
    /// A configuration with secure defaults and nothing loaded.
    pub fn new() -> Self {
        Self::default()
    }

    /// Load our certificate chain (PEM, leaf first) and private key (PEM, optionally encrypted).
    pub fn load_pem_chain(
        &mut self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
        password: Option<&str>,
    ) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let c = load::read_file(cert, "certificate")?;
        let k = load::read_file(key, "private key")?;
        self.identity = Some(load::pem_identity(
            &c,
            &k,
            password,
            &cert.display().to_string(),
            &key.display().to_string(),
        )?);
        Ok(self)
    }

    /// Load our certificate chain and private key from PEM bytes.
    pub fn load_pem_chain_mem(
        &mut self,
        cert: &[u8],
        key: &[u8],
        password: Option<&str>,
    ) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        self.identity = Some(load::pem_identity(
            cert,
            key,
            password,
            "PEM certificate data",
            "PEM key data",
        )?);
        Ok(self)
    }

    /// Load our certificate, key and chain from a PKCS#12 (.pfx/.p12) file.
    pub fn load_pfx_file(&mut self, path: impl AsRef<Path>, password: &str) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        let path = path.as_ref();
        let der = load::read_file(path, "PKCS#12")?;
        self.identity = Some(load::pfx_identity(
            &der,
            password,
            &path.display().to_string(),
        )?);
        Ok(self)
    }

    /// Load our certificate, key and chain from PKCS#12 bytes.
    pub fn load_pfx_mem(&mut self, der: &[u8], password: &str) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        self.identity = Some(load::pfx_identity(der, password, "PKCS#12 data")?);
        Ok(self)
    }

    /// Trust the CA certificates in a PEM file (one or more).
    pub fn load_ca_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        let path = path.as_ref();
        let data = load::read_file(path, "CA")?;
        let certs = load::certs_from_pem(&data, &path.display().to_string())?;
        self.ca_certs.extend(certs);
        Ok(self)
    }

    /// Trust the CA certificates in PEM bytes.
    pub fn load_ca_pem_mem(&mut self, pem: &[u8]) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        self.ca_certs
            .extend(load::certs_from_pem(pem, "CA PEM data")?);
        Ok(self)
    }

    /// Trust every CA in a folder: OpenSSL hashed layout (`<hash>.0`, CRLs as `<hash>.r0`) and
    /// plain `.pem`/`.crt`/`.cer` files; other files are ignored.
    pub fn load_ca_dir(&mut self, path: impl AsRef<Path>) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        let (certs, crls) = load::ca_dir(path.as_ref())?;
        self.ca_certs.extend(certs);
        self.crls.extend(crls.into_iter().map(Arc::new));
        Ok(self)
    }

    /// Load a CRL (PEM or DER); a peer whose own certificate it lists is rejected (verify error
    /// 23). Only the peer's certificate is checked, so intermediates need no CRL of their own.
    pub fn load_crl_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        let path = path.as_ref();
        let data = load::read_file(path, "CRL")?;
        self.crls.extend(
            load::crls(&data, &path.display().to_string())?
                .into_iter()
                .map(Arc::new),
        );
        Ok(self)
    }

    /// Load DH parameters (PEM) enabling the DHE cipher suites on a server.
    pub fn load_dhparam_file(&mut self, path: impl AsRef<Path>) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        let path = path.as_ref();
        let data = load::read_file(path, "DH parameters")?;
        self.dh = Some(Arc::new(load::dhparams(
            &data,
            &path.display().to_string(),
        )?));
        Ok(self)
    }

    /// How the peer's certificate is requested and checked.
    pub fn set_verify_mode(&mut self, mode: VerifyMode) -> &mut Self {
        self.client_ctx = Arc::default();
        self.verify_mode = mode;
        self
    }

    /// Clients: accept any server certificate. Insecure: for tests and diagnostics only.
    pub fn set_insecure_skip_peer_verification(&mut self, skip: bool) -> &mut Self {
        self.client_ctx = Arc::default();
        self.insecure_skip_peer = skip;
        self
    }

    /// Clients: do not check that the server certificate matches the host name or IP.
    /// Insecure: any certificate from a trusted CA would be accepted for any host.
    pub fn set_insecure_skip_hostname_verification(&mut self, skip: bool) -> &mut Self {
        self.client_ctx = Arc::default();
        self.insecure_skip_hostname = skip;
        self
    }

    /// Clients: the name sent as SNI and checked against the certificate, instead of the URL host.
    pub fn set_server_name(&mut self, name: Option<&str>) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        if let Some(n) = name {
            check_name(n, "server name")?;
        }
        self.server_name = name.map(str::to_string);
        Ok(self)
    }

    /// TLS 1.2 cipher list (OpenSSL syntax). Validated now.
    pub fn set_ciphers(&mut self, list: &str) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        self.ciphers = Some(validated(list, "cipher list", |b, l| b.set_cipher_list(l))?);
        Ok(self)
    }

    /// TLS 1.3 cipher suites (OpenSSL syntax). Validated now.
    pub fn set_ciphersuites(&mut self, list: &str) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        self.ciphersuites = Some(validated(list, "TLS 1.3 suites", |b, l| {
            b.set_ciphersuites(l)
        })?);
        Ok(self)
    }

    /// Key-exchange groups, e.g. `X25519:P-256`. Validated now.
    pub fn set_groups(&mut self, list: &str) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        self.groups = Some(validated(list, "groups", |b, l| b.set_groups_list(l))?);
        Ok(self)
    }

    /// Lowest protocol version accepted (default TLS 1.2).
    pub fn set_min_version(&mut self, v: TlsVersion) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        if self.max_version.is_some_and(|m| m < v) {
            return Err(Error::invalid("minimum TLS version is above the maximum"));
        }
        self.min_version = Some(v);
        Ok(self)
    }

    /// Highest protocol version accepted (default: the newest OpenSSL supports).
    pub fn set_max_version(&mut self, v: Option<TlsVersion>) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        if let (Some(max), Some(min)) = (v, self.min_version) {
            if max < min {
                return Err(Error::invalid("maximum TLS version is below the minimum"));
            }
        }
        self.max_version = v;
        Ok(self)
    }

    /// ALPN protocols, in preference order (e.g. `["http/1.1"]`).
    pub fn set_alpn(&mut self, protocols: &[&str]) -> Result<&mut Self> {
        self.client_ctx = Arc::default();
        for p in protocols {
            if p.is_empty() || p.len() > 255 {
                return Err(Error::invalid("each ALPN protocol must be 1 to 255 bytes"));
            }
        }
        self.alpn = protocols.iter().map(|s| s.to_string()).collect();
        Ok(self)
    }

    /// Whether a certificate + key is loaded.
    pub fn has_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// The configured SNI / verification name override.
    pub fn server_name(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// Whether clients check the host name (false only with the insecure option).
    pub fn verifies_hostname(&self) -> bool {
        !self.insecure_skip_hostname && !self.insecure_skip_peer
    }

    fn alpn_wire(&self) -> Vec<u8> {
        let mut w = Vec::new();
        for p in &self.alpn {
            w.push(p.len() as u8);
            w.extend_from_slice(p.as_bytes());
        }
        w
    }

    fn store(&self) -> Result<X509Store> {
        let mut b = X509StoreBuilder::new()?;
        for c in &self.ca_certs {
            // Duplicates (same CA loaded twice) are harmless.
            let _ = b.add_cert(c.clone());
        }
        for crl in &self.crls {
            crl_add(&mut b, crl)?;
        }
        if !self.crls.is_empty() {
            b.set_flags(X509VerifyFlags::CRL_CHECK)?;
        }
        Ok(b.build())
    }

    fn apply_common(&self, b: &mut SslContextBuilder) -> Result<()> {
        let min = self.min_version.unwrap_or(TlsVersion::Tls12);
        b.set_min_proto_version(Some(min.ossl()))?;
        b.set_max_proto_version(self.max_version.map(TlsVersion::ossl))?;
        b.set_cipher_list(self.ciphers.as_deref().unwrap_or(DEFAULT_CIPHERS))?;
        b.set_ciphersuites(self.ciphersuites.as_deref().unwrap_or(DEFAULT_CIPHERSUITES))?;
        b.set_groups_list(self.groups.as_deref().unwrap_or(DEFAULT_GROUPS))?;
        b.set_options(
            SslOptions::NO_COMPRESSION
                | SslOptions::NO_RENEGOTIATION
                | SslOptions::CIPHER_SERVER_PREFERENCE,
        );
        // Read whole socket buffers instead of record header and body separately (one recv per
        // batch of records instead of two per record).
        b.set_read_ahead(true);
        b.set_mode(
            SslMode::RELEASE_BUFFERS
                | SslMode::ACCEPT_MOVING_WRITE_BUFFER
                | SslMode::ENABLE_PARTIAL_WRITE,
        );
        clear_auto_retry(b);
        key_update::install(b);
        if let Some(id) = &self.identity {
            b.set_certificate(&id.cert)?;
            for c in &id.chain {
                b.add_extra_chain_cert(c.clone())?;
            }
            b.set_private_key(&id.key)?;
            b.check_private_key()?;
        }
        b.set_cert_store(self.store()?);
        Ok(())
    }

    /// Build a leaf-only identity's chain now, from the trust store as it will be used (call
    /// last: after the client's system CA paths are added).
    fn prebuild_chain(&self, b: &mut SslContextBuilder) {
        if self.identity.as_ref().is_some_and(|id| id.chain.is_empty()) {
            prebuild_chain(b);
        }
    }

    /// Build the server context. Fails without a certificate.
    pub(crate) fn server_context(&self) -> Result<SslContext> {
        if self.identity.is_none() {
            return Err(Error::new(
                ErrorKind::Config,
                "a TLS server needs a certificate and key (load_pem_chain or load_pfx_*)",
            ));
        }
        let build = || -> Result<SslContext> {
            let mut b = SslContextBuilder::new(SslMethod::tls_server())?;
            self.apply_common(&mut b)?;
            let mode = match self.verify_mode {
                VerifyMode::Default | VerifyMode::None => SslVerifyMode::NONE,
                VerifyMode::Optional => SslVerifyMode::PEER,
                VerifyMode::Required => SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
            };
            if mode != SslVerifyMode::NONE && self.ca_certs.is_empty() {
                return Err(Error::new(
                    ErrorKind::Config,
                    "client certificates are requested but no CA is loaded to verify them",
                )
                .with_hint(
                    "load_ca_file or load_ca_dir with the CA that issues client certificates",
                ));
            }
            b.set_verify_callback(mode, verify::callback);
            let mut names = Stack::<X509Name>::new()?;
            for c in &self.ca_certs {
                names.push(c.subject_name().to_owned()?)?;
            }
            b.set_client_ca_list(names);
            b.set_session_id_context(b"wss")?;
            // One TLS 1.3 session ticket per handshake (OpenSSL sends two by default): each is
            // encrypted and sent by the server, and a client resumes with one at a time.
            b.set_num_tickets(1)?;
            if let Some(dh) = &self.dh {
                b.set_tmp_dh(dh)?;
            }
            if !self.alpn.is_empty() {
                let wire = self.alpn_wire();
                b.set_alpn_select_callback(move |_, client| {
                    select_alpn(&wire, client).ok_or(AlpnError::NOACK)
                });
            }
            self.prebuild_chain(&mut b);
            Ok(b.build())
        };
        build().map_err(|e| e.context("building the TLS server context"))
    }

    /// Build the client context.
    pub(crate) fn client_context(&self) -> Result<SslContext> {
        self.client_ctx
            .get_or_try_init(|| self.build_client_context())
            .cloned()
    }

    fn build_client_context(&self) -> Result<SslContext> {
        let build = || -> Result<SslContext> {
            let mut b = SslContextBuilder::new(SslMethod::tls_client())?;
            self.apply_common(&mut b)?;
            if self.ca_certs.is_empty() {
                system_roots::load(&mut b)?;
            }
            let mode = if self.insecure_skip_peer {
                SslVerifyMode::NONE
            } else {
                SslVerifyMode::PEER
            };
            b.set_verify_callback(mode, verify::callback);
            if !self.alpn.is_empty() {
                b.set_alpn_protos(&self.alpn_wire())?;
            }
            self.prebuild_chain(&mut b);
            Ok(b.build())
        };
        build().map_err(|e| e.context("building the TLS client context"))
    }

    /// Whether a server built from this config checks client certificates.
    pub(crate) fn server_verifies_peer(&self) -> bool {
        matches!(
            self.verify_mode,
            VerifyMode::Optional | VerifyMode::Required
        )
    }

    /// Whether a client built from this config checks the server certificate.
    pub(crate) fn client_verifies_peer(&self) -> bool {
        !self.insecure_skip_peer
    }
}

/// The first of our protocols (server preference) that the client offered, as a slice of the
/// client's list (as OpenSSL requires).
fn select_alpn<'c>(ours: &[u8], client: &'c [u8]) -> Option<&'c [u8]> {
    let theirs = alpn_list(client);
    alpn_list(ours)
        .into_iter()
        .find_map(|p| theirs.iter().copied().find(|t| *t == p))
}

/// Split an ALPN wire list (length-prefixed names).
fn alpn_list(mut wire: &[u8]) -> Vec<&[u8]> {
    let mut v = Vec::new();
    while let Some((&n, rest)) = wire.split_first() {
        let n = n as usize;
        if rest.len() < n {
            break;
        }
        v.push(&rest[..n]);
        wire = &rest[n..];
    }
    v
}

/// Check an OpenSSL list setting by applying it to a scratch context; the list on success.
fn validated(
    list: &str,
    what: &str,
    apply: impl FnOnce(
        &mut SslContextBuilder,
        &str,
    ) -> std::result::Result<(), openssl::error::ErrorStack>,
) -> Result<String> {
    check_name(list, what)?;
    let mut b = scratch()?;
    apply(&mut b, list).map_err(|e| {
        Error::from_stack(
            ErrorKind::InvalidArgument,
            format!("{what} '{list}' rejected"),
            &e,
        )
    })?;
    Ok(list.to_string())
}

fn scratch() -> Result<SslContextBuilder> {
    Ok(SslContextBuilder::new(SslMethod::tls())?)
}

/// Clear `SSL_MODE_AUTO_RETRY` (on by default since OpenSSL 3.0): with it `SSL_read` loops over
/// records that carry no application data (KeyUpdate, session tickets) for as long as the peer
/// sends them, so one peer could keep an I/O thread to itself. Without it `SSL_read` returns
/// WANT_READ after such a record once its read-ahead buffer is used up, and `stream::tls_read`
/// bounds how many it handles per turn. Handshakes and shutdown are unaffected (the mode only
/// changes `SSL_read`/`SSL_write` after the handshake; our sockets are non-blocking anyway).
fn clear_auto_retry(b: &mut SslContextBuilder) {
    const SSL_CTRL_CLEAR_MODE: std::os::raw::c_int = 78;
    const SSL_MODE_AUTO_RETRY: std::os::raw::c_long = 0x4;
    // SAFETY: a valid SSL_CTX; a mode change takes no pointer.
    unsafe {
        openssl_sys::SSL_CTX_ctrl(
            b.as_ptr(),
            SSL_CTRL_CLEAR_MODE,
            SSL_MODE_AUTO_RETRY,
            std::ptr::null_mut(),
        );
    }
}

/// Given a leaf without intermediates, OpenSSL completes the chain it sends from the trust store
/// on *every* handshake (`X509_verify_cert`, signature checks included): with a private CA loaded
/// for mutual TLS that cost ~160 µs per handshake here, half the handshake. Build it once now;
/// the result is the same chain (intermediates and root found in the store, none if there are
/// none). If building fails, OpenSSL's per-handshake completion stays as it was.
fn prebuild_chain(b: &mut SslContextBuilder) {
    const SSL_CTRL_BUILD_CERT_CHAIN: std::os::raw::c_int = 105;
    const FLAGS: std::os::raw::c_long = 0x1 | 0x8 | 0x10; // UNTRUSTED | IGNORE_ERROR | CLEAR_ERROR
                                                          // SAFETY: `b` holds a valid SSL_CTX with a certificate; the call takes no pointer argument.
    let rc = unsafe {
        openssl_sys::SSL_CTX_ctrl(
            b.as_ptr(),
            SSL_CTRL_BUILD_CERT_CHAIN,
            FLAGS,
            std::ptr::null_mut(),
        )
    };
    if rc <= 0 {
        // Leave nothing behind for the next error report.
        let _ = openssl::error::ErrorStack::get();
    }
}

/// The chain certificates a built context sends after its leaf (None: completed per handshake).
#[cfg(test)]
fn chain_certs(ctx: &SslContext) -> Option<Vec<X509>> {
    use foreign_types::{ForeignType, ForeignTypeRef};
    const SSL_CTRL_GET_CHAIN_CERTS: std::os::raw::c_int = 115;
    let mut sk: *mut openssl_sys::stack_st_X509 = std::ptr::null_mut();
    // SAFETY: GET_CHAIN_CERTS stores a borrowed STACK_OF(X509) pointer (or NULL) into `sk`.
    unsafe {
        openssl_sys::SSL_CTX_ctrl(
            ctx.as_ptr(),
            SSL_CTRL_GET_CHAIN_CERTS,
            0,
            &mut sk as *mut _ as *mut std::os::raw::c_void,
        );
        if sk.is_null() {
            return None;
        }
        let stack = openssl::stack::StackRef::<X509>::from_ptr(sk);
        Some(stack.iter().map(|c| c.to_owned()).collect())
    }
}

/// Whether `SSL_free_buffers` may be used: before CVE-2024-4741 was fixed (3.0.14, 3.1.6,
/// 3.2.2, 3.3.1, 1.1.1y) it could free input not yet read.
pub(crate) fn free_buffers_is_safe() -> bool {
    version_frees_safely(openssl::version::number())
}

fn version_frees_safely(v: i64) -> bool {
    let (major, minor, patch) = ((v >> 28) & 0xf, (v >> 20) & 0xff, (v >> 4) & 0xff);
    match (major, minor) {
        (1, _) => v >= 0x1010_119f,
        (3, 0) => patch >= 14,
        (3, 1) => patch >= 6,
        (3, 2) => patch >= 2,
        (3, 3) => patch >= 1,
        (m, _) => m >= 3,
    }
}

/// Keep a busy connection's record buffers between records (`keep`), or go back to releasing
/// them after every read and write and free them now (when that is safe, else at the next I/O).
///
/// Contexts set `SSL_MODE_RELEASE_BUFFERS` so that idle connections stay small; on a busy one
/// that costs an allocation (and a free) of a 16 KiB buffer per record: ~1,500 instructions per
/// small echoed message, 8% of the server's user-space work (OpenSSL 3.0). From OpenSSL 3.2 the
/// record layers copy the mode when they are created: a mode call (even of nothing) passes it to
/// the read layer, the write layer keeps releasing until the next key change.
pub(crate) fn keep_buffers(ssl: &openssl::ssl::SslRef, keep: bool) {
    use foreign_types::ForeignTypeRef;
    const SSL_CTRL_MODE: std::os::raw::c_int = 33;
    const SSL_CTRL_CLEAR_MODE: std::os::raw::c_int = 78;
    let release = SslMode::RELEASE_BUFFERS.bits() as std::os::raw::c_long;
    let cmd = if keep {
        SSL_CTRL_CLEAR_MODE
    } else {
        SSL_CTRL_MODE
    };
    // SAFETY: a valid SSL owned by the calling I/O thread; mode changes take no pointers, and
    // SSL_free_buffers refuses (returns 0) while records are pending.
    unsafe {
        openssl_sys::SSL_ctrl(ssl.as_ptr(), cmd, release, std::ptr::null_mut());
        if keep {
            // OpenSSL 3.2+: hand the cleared mode to the read record layer (no-op before).
            openssl_sys::SSL_ctrl(ssl.as_ptr(), SSL_CTRL_MODE, 0, std::ptr::null_mut());
        }
        if !keep && free_buffers_is_safe() {
            SSL_free_buffers(ssl.as_ptr());
        }
    }
}

extern "C" {
    fn SSL_free_buffers(ssl: *mut openssl_sys::SSL) -> std::os::raw::c_int;
    fn X509_STORE_add_crl(
        store: *mut openssl_sys::X509_STORE,
        crl: *mut openssl_sys::X509_CRL,
    ) -> std::os::raw::c_int;
}

pub(crate) fn crl_add(b: &mut X509StoreBuilder, crl: &X509Crl) -> Result<()> {
    use foreign_types::ForeignType;
    // SAFETY: both pointers are valid for the call; X509_STORE_add_crl takes its own reference.
    let rc = unsafe { X509_STORE_add_crl(b.as_ptr(), crl.as_ptr()) };
    if rc != 1 {
        return Err(openssl::error::ErrorStack::get().into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CertSpec, Issued};

    #[test]
    fn free_buffers_only_where_cve_2024_4741_is_fixed() {
        assert!(!version_frees_safely(0x3000_00d0)); // 3.0.13
        assert!(version_frees_safely(0x3000_00e0)); // 3.0.14
        assert!(version_frees_safely(0x3000_0130)); // 3.0.19
        assert!(!version_frees_safely(0x3010_0050)); // 3.1.5
        assert!(version_frees_safely(0x3010_0060)); // 3.1.6
        assert!(!version_frees_safely(0x3020_0010)); // 3.2.1
        assert!(!version_frees_safely(0x3030_0000)); // 3.3.0
        assert!(version_frees_safely(0x3030_0010)); // 3.3.1
        assert!(version_frees_safely(0x3040_0000)); // 3.4.0
        assert!(!version_frees_safely(0x1010_118f)); // 1.1.1x
        assert!(version_frees_safely(0x1010_119f)); // 1.1.1y
    }

    #[test]
    fn one_client_context_serves_every_connect_until_a_setter_runs() {
        use foreign_types::ForeignType;
        let ptr = |c: &SslContext| c.as_ptr() as usize;
        let mut t = TlsConfig::new();
        let first = t.client_context().unwrap();
        assert_eq!(ptr(&first), ptr(&t.client_context().unwrap()), "built once");
        // A copy (what a C host's wss_tls_config becomes at every connect) shares it.
        let copy = t.clone();
        assert_eq!(ptr(&first), ptr(&copy.client_context().unwrap()));
        // A setter on the original gives it a new context; the copy keeps the old one.
        t.set_alpn(&["http/1.1"]).unwrap();
        let second = t.client_context().unwrap();
        assert_ne!(ptr(&first), ptr(&second), "rebuilt after a setter");
        assert_eq!(ptr(&first), ptr(&copy.client_context().unwrap()));
        // A failed setter still drops the cache (harmless), never keeps a stale one.
        assert!(t.set_ciphers("no-such-cipher").is_err());
        assert_ne!(ptr(&second), ptr(&t.client_context().unwrap()));
    }

    #[test]
    fn busy_connections_keep_their_buffers() {
        let ctx = TlsConfig::new().client_context().unwrap();
        let ssl = openssl::ssl::Ssl::new(&ctx).unwrap();
        let released = |ssl: &openssl::ssl::SslRef| {
            use foreign_types::ForeignTypeRef;
            // SAFETY: reading the mode of a valid SSL.
            let mode = unsafe { openssl_sys::SSL_ctrl(ssl.as_ptr(), 33, 0, std::ptr::null_mut()) };
            mode & SslMode::RELEASE_BUFFERS.bits() as std::os::raw::c_long != 0
        };
        assert!(released(&ssl), "contexts start out releasing buffers");
        keep_buffers(&ssl, true);
        assert!(!released(&ssl));
        keep_buffers(&ssl, false);
        assert!(released(&ssl));
    }

    #[test]
    fn leaf_chain_is_built_once_from_the_store() {
        let ca = Issued::self_signed(&CertSpec::ca("Chain CA")).unwrap();
        let leaf = ca
            .issue(&CertSpec::server("localhost", &["localhost"], &[]))
            .unwrap();
        let mut t = TlsConfig::new();
        t.load_pem_chain_mem(&leaf.cert_pem().unwrap(), &leaf.key_pem().unwrap(), None)
            .unwrap();
        t.load_ca_pem_mem(&ca.cert_pem().unwrap()).unwrap();
        t.set_verify_mode(VerifyMode::Required);
        for ctx in [t.server_context().unwrap(), t.client_context().unwrap()] {
            let chain = chain_certs(&ctx).expect("chain prebuilt, not completed per handshake");
            let names: Vec<String> = chain
                .iter()
                .map(|c| format!("{:?}", c.subject_name()))
                .collect();
            assert_eq!(chain.len(), 1, "{names:?}");
            assert_eq!(
                chain[0].to_der().unwrap(),
                ca.cert.to_der().unwrap(),
                "the CA completes the chain"
            );
        }
        // Without a CA that issued it, the leaf goes alone (as OpenSSL's own completion would).
        let mut alone = TlsConfig::new();
        alone
            .load_pem_chain_mem(&leaf.cert_pem().unwrap(), &leaf.key_pem().unwrap(), None)
            .unwrap();
        let chain = chain_certs(&alone.server_context().unwrap()).expect("prebuilt");
        assert!(chain.is_empty());
        assert!(openssl::error::ErrorStack::get().errors().is_empty());
    }
}
