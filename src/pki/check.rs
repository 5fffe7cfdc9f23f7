//! Offline chain checks: would a peer accept this certificate for this role? What `wss-pki
//! check` runs. Files are read with the same loaders a [`TlsConfig`](crate::TlsConfig) uses
//! and the chain is built by OpenSSL's `X509_verify_cert` with the role's purpose, the same
//! hostname rules as a wss client and CRL checking when CRLs are loaded, so a failure reads as
//! it would on a connection: the same X509 code, depth, subject and hint.

use std::net::IpAddr;
use std::path::Path;

use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509CheckFlags, X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509Crl, X509PurposeId, X509StoreContext, X509};

use crate::error::{Error, ErrorKind, Result, VerifyFailure};
use crate::tls::load;

/// The role a certificate is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A TLS server's certificate (purpose sslserver: serverAuth EKU), as a client checks it.
    Server,
    /// A TLS client's certificate (purpose sslclient: clientAuth EKU), as a server checks it.
    Client,
}

/// What a peer trusts: CA certificates and CRLs, loaded like a [`TlsConfig`](crate::TlsConfig)
/// loads them.
#[derive(Default)]
pub struct Trust {
    /// Trusted CA certificates.
    pub certs: Vec<X509>,
    /// CRLs; when there is at least one, the leaf's revocation is checked (as wss does).
    pub crls: Vec<X509Crl>,
}

impl Trust {
    /// Adds the certificates of a PEM CA file. Errors as `TlsConfig::load_ca_file`.
    pub fn add_ca_file(&mut self, path: &Path) -> Result<&mut Trust> {
        let data = load::read_file(path, "CA")?;
        let origin = path.display().to_string();
        self.certs.extend(load::certs_from_pem(&data, &origin)?);
        Ok(self)
    }

    /// Adds a CA folder (hashed `<hash>.0`/`<hash>.r0` entries and plain `.pem`/`.crt`/`.cer`
    /// files), certificates and CRLs. Errors as `TlsConfig::load_ca_dir`.
    pub fn add_ca_dir(&mut self, path: &Path) -> Result<&mut Trust> {
        let (certs, crls) = load::ca_dir(path)?;
        self.certs.extend(certs);
        self.crls.extend(crls);
        Ok(self)
    }

    /// Adds the CRLs of a PEM or DER CRL file. Errors as `TlsConfig::load_crl_file`.
    pub fn add_crl_file(&mut self, path: &Path) -> Result<&mut Trust> {
        let data = load::read_file(path, "CRL")?;
        self.crls
            .extend(load::crls(&data, &path.display().to_string())?);
        Ok(self)
    }
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("certs", &self.certs.len())
            .field("crls", &self.crls.len())
            .finish()
    }
}

/// The result of [`check_chain`].
#[derive(Debug, Clone)]
pub struct Checked {
    /// The chain OpenSSL built, leaf first, up to where it stopped (the trusted root when
    /// verification passed).
    pub chain: Vec<X509>,
    /// Whether CRLs were consulted.
    pub crl_checked: bool,
    /// Why verification failed: kind `CertVerify` with `verify` (X509 code, text, depth,
    /// subject) and the library's hint; `None` when the certificate is accepted.
    pub failure: Option<Error>,
}

/// Verifies `leaf` (with the `untrusted` certificates sent beside it) against `trust` for
/// `role`, and for a server certificate against `host` (a DNS name or an IP address, matched
/// against the subjectAltNames only, as a wss client does). Returns `Err` only when OpenSSL
/// could not run the check; a refused certificate is `Ok` with `failure` set.
pub fn check_chain(
    leaf: &X509,
    untrusted: &[X509],
    trust: &Trust,
    role: Role,
    host: Option<&str>,
) -> Result<Checked> {
    let stack = |e| Error::from_stack(ErrorKind::Tls, "preparing the verification", &e);
    let mut b = X509StoreBuilder::new().map_err(stack)?;
    for c in &trust.certs {
        // Duplicates (the same CA twice) are harmless.
        let _ = b.add_cert(c.clone());
    }
    for crl in &trust.crls {
        crate::tls::crl_add(&mut b, crl)?;
    }
    if !trust.crls.is_empty() {
        b.set_flags(X509VerifyFlags::CRL_CHECK).map_err(stack)?;
    }
    b.set_purpose(match role {
        Role::Server => X509PurposeId::SSL_SERVER,
        Role::Client => X509PurposeId::SSL_CLIENT,
    })
    .map_err(stack)?;
    if let Some(host) = host {
        let mut p = X509VerifyParam::new().map_err(stack)?;
        p.set_hostflags(X509CheckFlags::NEVER_CHECK_SUBJECT | X509CheckFlags::NO_PARTIAL_WILDCARDS);
        match host.parse::<IpAddr>() {
            Ok(ip) => p.set_ip(ip),
            Err(_) => p.set_host(host),
        }
        .map_err(stack)?;
        b.set_param(&p).map_err(stack)?;
    }
    let store = b.build();
    let mut chain = Stack::new().map_err(stack)?;
    for c in untrusted {
        chain.push(c.clone()).map_err(stack)?;
    }
    let mut ctx = X509StoreContext::new().map_err(stack)?;
    let (ok, failure, built) = ctx
        .init(&store, leaf, &chain, |c| {
            let ok = c.verify_cert()?;
            let err = c.error();
            let failure = VerifyFailure {
                code: err.as_raw(),
                text: err.error_string().to_owned(),
                depth: c.error_depth() as i32,
                subject: c
                    .current_cert()
                    .map(|x| crate::tls::describe(x, false).subject)
                    .unwrap_or_default(),
            };
            let built: Vec<X509> = c
                .chain()
                .map(|s| s.iter().map(|x| x.to_owned()).collect())
                .unwrap_or_default();
            Ok((ok, failure, built))
        })
        .map_err(stack)?;
    let failure = (!ok).then(|| {
        let mut e = Error::new(
            ErrorKind::CertVerify,
            format!(
                "certificate verification failed (X509 verify error {}: {} at depth {}, subject {})",
                failure.code, failure.text, failure.depth, failure.subject
            ),
        );
        e.verify = Some(failure);
        e.apply_hints();
        e
    });
    Ok(Checked {
        chain: built,
        crl_checked: !trust.crls.is_empty(),
        failure,
    })
}

/// The certificate (leaf first) and chain of a PEM file; errors as
/// `TlsConfig::load_pem_chain`.
pub fn load_pem(cert: &Path) -> Result<(X509, Vec<X509>)> {
    let data = load::read_file(cert, "certificate")?;
    let mut certs = load::certs_from_pem(&data, &cert.display().to_string())?;
    let leaf = certs.remove(0);
    Ok((leaf, certs))
}

/// Whether the PEM private key at `key` (unencrypted) belongs to `cert`, by OpenSSL's own
/// check: `Ok(None)` if it does, `Ok(Some(why))` if not (kind `Config`, OpenSSL's "key values
/// mismatch" and a hint); `Err` when the key cannot be read.
pub fn check_key(cert: &X509, key: &Path) -> Result<Option<Error>> {
    let data = load::read_file(key, "private key")?;
    let origin = key.display().to_string();
    let key = load::key_from_pem(&data, None, &origin)?;
    let identity = load::Identity {
        cert: cert.clone(),
        chain: Vec::new(),
        key,
    };
    Ok(load::check_pair(&identity, &origin).err())
}

/// The certificate and chain of a PFX file opened with `password` (its key checked to be the
/// certificate's); errors as `TlsConfig::load_pfx_file`.
pub fn load_pfx(path: &Path, password: &str) -> Result<(X509, Vec<X509>)> {
    let data = load::read_file(path, "PKCS#12")?;
    let id = load::pfx_identity(&data, password, &path.display().to_string())?;
    Ok((id.cert, id.chain))
}
