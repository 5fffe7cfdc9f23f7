//! Test and development PKI generator.
//!
//! Builds root and intermediate CAs, server and client certificates, CRLs,
//! PKCS#12 bundles and the broken fixtures the certificate-fault tests need,
//! using only the `openssl` crate. Everything is generated in memory (well
//! under a second) and every written file is readable by the `openssl` CLI.
//!
//! Typical use:
//!
//! ```no_run
//! use wss::pki::{CertSpec, Issued};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let ca = Issued::self_signed(&CertSpec::ca("my test CA"))?;
//! let spec = CertSpec::server("localhost", &["localhost"], &["127.0.0.1".parse()?]);
//! let server = ca.issue(&spec)?;
//! std::fs::write("ca.pem", ca.cert_pem()?)?;
//! std::fs::write("server.pem", server.cert_chain_pem(&[&ca.cert])?)?;
//! std::fs::write("server.key", server.key_pem()?)?;
//! std::fs::write("ca.crl.pem", ca.crl(&[server.cert.serial_number()], 30)?)?;
//! # Ok(())
//! # }
//! ```
//!
//! For the complete fixture set used by the integration tests see
//! [`TestPki::generate`].

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Integer, Asn1IntegerRef, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::stack::Stack;
use openssl::symm::Cipher;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, CrlNumber, ExtendedKeyUsage, KeyUsage,
    SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{
    X509Builder, X509Crl, X509CrlBuilder, X509Name, X509NameBuilder, X509Ref, X509RevokedBuilder,
    X509,
};

/// Seconds in one day; all validity offsets in this module are whole days.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// Password of the encrypted server key written by [`TestPki::generate`].
pub const KEY_PASSWORD: &str = "key-pass";

/// Password of the PKCS#12 files written by [`TestPki::generate`].
pub const PFX_PASSWORD: &str = "pfx-pass";

/// Key algorithm for generated certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyKind {
    /// ECDSA on NIST P-256 (prime256v1). Fast to generate; the default.
    #[default]
    EcP256,
    /// RSA, 2048-bit modulus. Slow to generate (tens to hundreds of ms).
    Rsa2048,
}

impl KeyKind {
    /// Generates a fresh private key of this kind.
    pub fn generate(self) -> Result<PKey<Private>, ErrorStack> {
        match self {
            KeyKind::EcP256 => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
                PKey::from_ec_key(EcKey::generate(&group)?)
            }
            KeyKind::Rsa2048 => PKey::from_rsa(Rsa::generate(2048)?),
        }
    }
}

/// Description of one certificate to issue.
///
/// Start from [`CertSpec::ca`], [`CertSpec::server`] or [`CertSpec::client`]
/// and adjust fields (or use the `with_*` helpers) as needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    /// Subject common name (CN, must not be empty); the subject contains
    /// only this attribute.
    pub common_name: String,
    /// DNS names for the subjectAltName extension.
    pub dns: Vec<String>,
    /// IP addresses for the subjectAltName extension.
    pub ips: Vec<IpAddr>,
    /// Issue a CA certificate (basicConstraints CA:TRUE, keyCertSign, cRLSign).
    pub is_ca: bool,
    /// Add extendedKeyUsage serverAuth.
    pub server_auth: bool,
    /// Add extendedKeyUsage clientAuth.
    pub client_auth: bool,
    /// Start of validity in days relative to now (negative = in the past).
    pub not_before_days: i64,
    /// End of validity in days relative to now (negative = already expired).
    pub not_after_days: i64,
    /// Key algorithm of the new certificate's key pair.
    pub key: KeyKind,
    /// Fixed serial number; `None` picks a random positive 64-bit serial.
    pub serial: Option<u32>,
}

impl CertSpec {
    fn base(cn: &str) -> CertSpec {
        CertSpec {
            common_name: cn.to_owned(),
            dns: Vec::new(),
            ips: Vec::new(),
            is_ca: false,
            server_auth: false,
            client_auth: false,
            not_before_days: -1,
            not_after_days: 365,
            key: KeyKind::EcP256,
            serial: None,
        }
    }

    /// A CA certificate: valid from yesterday for 365 days, P-256 key.
    pub fn ca(cn: &str) -> CertSpec {
        CertSpec {
            is_ca: true,
            ..CertSpec::base(cn)
        }
    }

    /// A TLS server certificate (serverAuth) with the given SAN entries:
    /// valid from yesterday for 365 days, P-256 key.
    pub fn server(cn: &str, dns: &[&str], ips: &[IpAddr]) -> CertSpec {
        CertSpec {
            dns: dns.iter().map(|d| (*d).to_owned()).collect(),
            ips: ips.to_vec(),
            server_auth: true,
            ..CertSpec::base(cn)
        }
    }

    /// A TLS client certificate (clientAuth), no SAN: valid from yesterday
    /// for 365 days, P-256 key.
    pub fn client(cn: &str) -> CertSpec {
        CertSpec {
            client_auth: true,
            ..CertSpec::base(cn)
        }
    }

    /// Sets the validity window in days relative to now.
    pub fn with_validity(mut self, not_before_days: i64, not_after_days: i64) -> CertSpec {
        self.not_before_days = not_before_days;
        self.not_after_days = not_after_days;
        self
    }

    /// Sets the key algorithm.
    pub fn with_key(mut self, key: KeyKind) -> CertSpec {
        self.key = key;
        self
    }

    /// Sets a fixed serial number (you are responsible for uniqueness).
    pub fn with_serial(mut self, serial: u32) -> CertSpec {
        self.serial = Some(serial);
        self
    }
}

/// A certificate with its private key.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert: X509,
    /// The certificate's private key.
    pub key: PKey<Private>,
}

impl Issued {
    /// Creates a self-signed certificate (normally a root CA, `spec.is_ca`).
    pub fn self_signed(spec: &CertSpec) -> Result<Issued, ErrorStack> {
        build_cert(spec, None)
    }

    /// Issues a certificate for `spec`, signed by `self` acting as the CA.
    ///
    /// `self` is not checked to be a CA, so broken chains can be built too.
    pub fn issue(&self, spec: &CertSpec) -> Result<Issued, ErrorStack> {
        build_cert(spec, Some(self))
    }

    /// Loads a certificate and its key from PEM (key: PKCS#8 or traditional,
    /// unencrypted). Whether they match is not checked; see
    /// [`Issued::key_matches_cert`].
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Issued, ErrorStack> {
        Ok(Issued {
            cert: X509::from_pem(cert_pem)?,
            key: PKey::private_key_from_pem(key_pem)?,
        })
    }

    /// Returns whether the private key belongs to the certificate.
    pub fn key_matches_cert(&self) -> Result<bool, ErrorStack> {
        Ok(self.cert.public_key()?.public_eq(&self.key))
    }

    /// The certificate as PEM (`BEGIN CERTIFICATE`).
    pub fn cert_pem(&self) -> Result<Vec<u8>, ErrorStack> {
        self.cert.to_pem()
    }

    /// The certificate followed by `chain` (issuer first), as concatenated PEM:
    /// the usual server/client "chain file".
    pub fn cert_chain_pem(&self, chain: &[&X509]) -> Result<Vec<u8>, ErrorStack> {
        let mut out = self.cert.to_pem()?;
        for c in chain {
            out.extend_from_slice(&c.to_pem()?);
        }
        Ok(out)
    }

    /// The private key as unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub fn key_pem(&self) -> Result<Vec<u8>, ErrorStack> {
        self.key.private_key_to_pem_pkcs8()
    }

    /// The private key as PKCS#8 PEM encrypted with AES-256-CBC
    /// (`BEGIN ENCRYPTED PRIVATE KEY`).
    pub fn key_pem_encrypted(&self, password: &str) -> Result<Vec<u8>, ErrorStack> {
        self.key
            .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), password.as_bytes())
    }

    /// A PKCS#12 (PFX) file, DER-encoded, holding the key, the certificate
    /// (friendly name = its CN) and the `chain` certificates, protected by
    /// `password` with OpenSSL 3 defaults (AES-256-CBC, PBKDF2, SHA-256 MAC).
    ///
    /// # Panics
    ///
    /// If `password` contains a NUL byte.
    pub fn to_pfx(&self, password: &str, chain: &[&X509]) -> Result<Vec<u8>, ErrorStack> {
        let mut builder = Pkcs12::builder();
        let name = self.common_name();
        if !name.is_empty() && !name.contains('\0') {
            builder.name(&name);
        }
        builder.pkey(&self.key).cert(&self.cert);
        if !chain.is_empty() {
            let mut stack = Stack::new()?;
            for c in chain {
                stack.push((*c).clone())?;
            }
            builder.ca(stack);
        }
        builder.build2(password)?.to_der()
    }

    /// Builds a v2 CRL signed by `self` (acting as the CA) revoking
    /// `revoked_serials` (e.g. `leaf.cert.serial_number()`).
    ///
    /// nextUpdate is `next_update_days` from now (negative gives an expired
    /// CRL); lastUpdate and the revocation dates are one day before now (or
    /// one day before nextUpdate if that is earlier). Carries the
    /// authorityKeyIdentifier and a cRLNumber (current Unix time), so `self`
    /// must have a subjectKeyIdentifier (all certificates made here do).
    pub fn build_crl(
        &self,
        revoked_serials: &[&Asn1IntegerRef],
        next_update_days: i64,
    ) -> Result<X509Crl, ErrorStack> {
        let last_update = time_in_days(next_update_days.saturating_sub(1).min(-1))?;
        let mut builder = X509CrlBuilder::new()?;
        builder.set_issuer_name(self.cert.subject_name())?;
        builder.set_last_update(&last_update)?;
        builder.set_next_update(&*time_in_days(next_update_days)?)?;

        let aki = {
            let dummy = X509Builder::new()?;
            let ctx = dummy.x509v3_context(Some(&self.cert), None);
            AuthorityKeyIdentifier::new().keyid(true).build(&ctx)?
        };
        builder.append_extension(aki)?;
        let number = BigNum::from_dec_str(&unix_now().max(1).to_string())?;
        builder.append_extension(CrlNumber::new(number)?.build()?)?;

        for serial in revoked_serials {
            let mut revoked = X509RevokedBuilder::new()?;
            revoked.set_serial_number(serial)?;
            revoked.set_revocation_date(&last_update)?;
            builder.add_revoked(revoked.build())?;
        }
        builder.sort()?;
        builder.sign(&self.key, MessageDigest::sha256())?;
        builder.build()
    }

    /// Like [`Issued::build_crl`], returned as PEM (`BEGIN X509 CRL`).
    pub fn crl(
        &self,
        revoked_serials: &[&Asn1IntegerRef],
        next_update_days: i64,
    ) -> Result<Vec<u8>, ErrorStack> {
        self.build_crl(revoked_serials, next_update_days)?.to_pem()
    }

    /// The OpenSSL subject-name hash as 8 lowercase hex digits, as used for
    /// file names in hashed CA directories (`<hash>.0`, CRLs `<hash>.r0`);
    /// equals `openssl x509 -hash -noout`.
    pub fn subject_hash(&self) -> String {
        format!("{:08x}", self.cert.subject_name_hash())
    }

    /// The subject common name (empty if absent or not UTF-8 convertible).
    pub fn common_name(&self) -> String {
        self.cert
            .subject_name()
            .entries_by_nid(Nid::COMMONNAME)
            .next()
            .and_then(|e| e.data().to_string().ok())
            .unwrap_or_default()
    }
}

/// Current Unix time in seconds (0 if the clock is before 1970).
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `now + days`, as an ASN.1 time.
fn time_in_days(days: i64) -> Result<Asn1Time, ErrorStack> {
    let secs = unix_now().saturating_add(days.saturating_mul(SECONDS_PER_DAY));
    // `time_t` is 64-bit on every supported target; the cast is a no-op there.
    Asn1Time::from_unix(secs as _)
}

fn serial_number(fixed: Option<u32>) -> Result<Asn1Integer, ErrorStack> {
    let bn = match fixed {
        Some(n) => BigNum::from_u32(n)?,
        None => {
            // 64 bits with the top bit set: positive, never zero, 63 random bits.
            let mut bn = BigNum::new()?;
            bn.rand(64, MsbOption::ONE, false)?;
            bn
        }
    };
    bn.to_asn1_integer()
}

fn cn_name(cn: &str) -> Result<X509Name, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    Ok(name.build())
}

fn build_cert(spec: &CertSpec, issuer: Option<&Issued>) -> Result<Issued, ErrorStack> {
    let key = spec.key.generate()?;
    let subject = cn_name(&spec.common_name)?;
    let issuer_cert: Option<&X509Ref> = issuer.map(|i| &*i.cert);

    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    b.set_serial_number(&*serial_number(spec.serial)?)?;
    b.set_subject_name(&subject)?;
    match issuer_cert {
        Some(i) => b.set_issuer_name(i.subject_name())?,
        None => b.set_issuer_name(&subject)?,
    }
    b.set_not_before(&*time_in_days(spec.not_before_days)?)?;
    b.set_not_after(&*time_in_days(spec.not_after_days)?)?;
    b.set_pubkey(&key)?;

    if spec.is_ca {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
    } else {
        b.append_extension(BasicConstraints::new().critical().build()?)?;
        let mut ku = KeyUsage::new();
        ku.critical().digital_signature();
        if spec.key == KeyKind::Rsa2048 {
            ku.key_encipherment();
        }
        b.append_extension(ku.build()?)?;
    }

    if spec.server_auth || spec.client_auth {
        let mut eku = ExtendedKeyUsage::new();
        if spec.server_auth {
            eku.server_auth();
        }
        if spec.client_auth {
            eku.client_auth();
        }
        b.append_extension(eku.build()?)?;
    }

    if !spec.dns.is_empty() || !spec.ips.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for d in &spec.dns {
            san.dns(d);
        }
        for ip in &spec.ips {
            san.ip(&ip.to_string());
        }
        let ext = san.build(&b.x509v3_context(issuer_cert, None))?;
        b.append_extension(ext)?;
    }

    // SKI first: for a self-signed certificate the AKI is derived from it.
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(issuer_cert, None))?;
    b.append_extension(ski)?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&b.x509v3_context(issuer_cert, None))?;
    b.append_extension(aki)?;

    let signing_key = issuer.map_or(&key, |i| &i.key);
    b.sign(signing_key, MessageDigest::sha256())?;
    Ok(Issued {
        cert: b.build(),
        key,
    })
}

/// A uniquely named directory under [`std::env::temp_dir`], deleted with its
/// contents when dropped. Handy for tests: `TestPki::generate(tmp.path())`.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<temp>/<prefix>-<pid>-<counter>-<nanos>`.
    pub fn new(prefix: &str) -> io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let mut last_err = None;
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = base.join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("cannot create a temporary directory")))
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// The complete fixture set the tests need, written as files under `dir`.
///
/// All files are PEM unless noted; keys are unencrypted PKCS#8 unless noted.
/// Every leaf is P-256 except `rsa_server`; all are valid from yesterday
/// for 365 days unless stated otherwise. Each certificate is available both
/// as an [`Issued`] field and as file path fields.
///
/// | field(s) | file(s) | contents |
/// |---|---|---|
/// | `ca`, `ca_cert`, `ca_key` | `ca.pem`, `ca.key` | root CA "wss test root CA" |
/// | `server`, `server_cert`, `server_key` | `server.pem`, `server.key` | CN localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1, serverAuth; `server.pem` = leaf + root CA |
/// | `server_leaf_cert` | `server-leaf.pem` | the same server certificate alone |
/// | `server_key_encrypted` | `server-enc.key` | server key, PKCS#8 AES-256-CBC, password [`KEY_PASSWORD`] |
/// | `client`, `client_cert`, `client_key` | `client.pem`, `client.key` | CN "wss test client", clientAuth |
/// | `expired_server`, `expired_client` | `expired-server.pem/.key`, `expired-client.pem/.key` | valid −30 … −1 days |
/// | `not_yet_valid_server`, `not_yet_valid_client` | `not-yet-valid-server.pem/.key`, `not-yet-valid-client.pem/.key` | valid +1 … +30 days |
/// | `wrong_host_server` | `wrong-host-server.pem/.key` | SAN DNS:wrong.example only |
/// | `no_ip_san_server` | `no-ip-san-server.pem/.key` | SAN DNS:localhost only (no IP entries) |
/// | `rogue_ca` | `rogue-ca.pem/.key` | untrusted CA "rogue CA" |
/// | `rogue_server`, `rogue_client` | `rogue-server.pem/.key`, `rogue-client.pem/.key` | like server/client, signed by the rogue CA |
/// | `revoked_server`, `revoked_client` | `revoked-server.pem/.key`, `revoked-client.pem/.key` | like server/client, listed in the CRL |
/// | `crl` | `ca.crl.pem` | root CA's CRL revoking the two `revoked_*` serials, next update +30 days |
/// | `expired_crl` | `ca-expired.crl.pem` | same serials, next update −1 day (expired) |
/// | `client_pfx`, `server_pfx` | `client.p12`, `server.p12` (DER) | key + cert + root CA, password [`PFX_PASSWORD`] |
/// | `hashed_ca_dir` | `ca-hashed/<hash>.0`, `ca-hashed/<hash>.r0` | root CA and its CRL named by subject hash |
/// | `plain_ca_dir` | `ca-plain/root.pem`, `ca-plain/notes.txt` | root CA plus a junk text file |
/// | `unhashed_ca_dir` | `ca-unhashed/my-ca.pem` | root CA under a non-hash name |
/// | `intermediate_ca` | `intermediate-ca.pem/.key` | CA signed by the root |
/// | `chain_server`, `chain_server_cert`, `chain_server_key` | `chain-server.pem`, `chain-server.key` | like server, signed by the intermediate; `.pem` = leaf + intermediate |
/// | `rsa_server` | `rsa-server.pem/.key` | like server, RSA-2048 key (keyEncipherment too) |
/// | `garbage_file` | `not-a-cert.pem` | plain text, not PEM |
/// | `mismatched_key` | `mismatched.key` | a P-256 key matching none of the certificates |
#[derive(Debug)]
pub struct TestPki {
    /// The directory all files were written to.
    pub dir: PathBuf,

    /// Root CA "wss test root CA".
    pub ca: Issued,
    /// `ca.pem`.
    pub ca_cert: PathBuf,
    /// `ca.key`.
    pub ca_key: PathBuf,

    /// Good server certificate (localhost, 127.0.0.1, ::1).
    pub server: Issued,
    /// `server.pem`: server leaf followed by the root CA.
    pub server_cert: PathBuf,
    /// `server-leaf.pem`: server leaf only.
    pub server_leaf_cert: PathBuf,
    /// `server.key`.
    pub server_key: PathBuf,
    /// `server-enc.key`: the server key encrypted with [`KEY_PASSWORD`].
    pub server_key_encrypted: PathBuf,

    /// Good client certificate "wss test client".
    pub client: Issued,
    /// `client.pem`.
    pub client_cert: PathBuf,
    /// `client.key`.
    pub client_key: PathBuf,

    /// Server certificate that expired yesterday.
    pub expired_server: Issued,
    /// `expired-server.pem`.
    pub expired_server_cert: PathBuf,
    /// `expired-server.key`.
    pub expired_server_key: PathBuf,
    /// Client certificate that expired yesterday.
    pub expired_client: Issued,
    /// `expired-client.pem`.
    pub expired_client_cert: PathBuf,
    /// `expired-client.key`.
    pub expired_client_key: PathBuf,

    /// Server certificate valid from tomorrow.
    pub not_yet_valid_server: Issued,
    /// `not-yet-valid-server.pem`.
    pub not_yet_valid_server_cert: PathBuf,
    /// `not-yet-valid-server.key`.
    pub not_yet_valid_server_key: PathBuf,
    /// Client certificate valid from tomorrow.
    pub not_yet_valid_client: Issued,
    /// `not-yet-valid-client.pem`.
    pub not_yet_valid_client_cert: PathBuf,
    /// `not-yet-valid-client.key`.
    pub not_yet_valid_client_key: PathBuf,

    /// Server certificate for DNS:wrong.example only.
    pub wrong_host_server: Issued,
    /// `wrong-host-server.pem`.
    pub wrong_host_server_cert: PathBuf,
    /// `wrong-host-server.key`.
    pub wrong_host_server_key: PathBuf,

    /// Server certificate for DNS:localhost without IP SANs.
    pub no_ip_san_server: Issued,
    /// `no-ip-san-server.pem`.
    pub no_ip_san_server_cert: PathBuf,
    /// `no-ip-san-server.key`.
    pub no_ip_san_server_key: PathBuf,

    /// Untrusted CA "rogue CA".
    pub rogue_ca: Issued,
    /// `rogue-ca.pem`.
    pub rogue_ca_cert: PathBuf,
    /// `rogue-ca.key`.
    pub rogue_ca_key: PathBuf,
    /// Server certificate signed by the rogue CA.
    pub rogue_server: Issued,
    /// `rogue-server.pem` (leaf only).
    pub rogue_server_cert: PathBuf,
    /// `rogue-server.key`.
    pub rogue_server_key: PathBuf,
    /// Client certificate signed by the rogue CA.
    pub rogue_client: Issued,
    /// `rogue-client.pem` (leaf only).
    pub rogue_client_cert: PathBuf,
    /// `rogue-client.key`.
    pub rogue_client_key: PathBuf,

    /// Server certificate revoked by [`TestPki::crl`].
    pub revoked_server: Issued,
    /// `revoked-server.pem`.
    pub revoked_server_cert: PathBuf,
    /// `revoked-server.key`.
    pub revoked_server_key: PathBuf,
    /// Client certificate revoked by [`TestPki::crl`].
    pub revoked_client: Issued,
    /// `revoked-client.pem`.
    pub revoked_client_cert: PathBuf,
    /// `revoked-client.key`.
    pub revoked_client_key: PathBuf,
    /// `ca.crl.pem`: root CA's CRL listing the `revoked_*` serials.
    pub crl: PathBuf,
    /// `ca-expired.crl.pem`: the same list, but past its nextUpdate.
    pub expired_crl: PathBuf,

    /// `client.p12` (DER): client key, certificate and root CA, [`PFX_PASSWORD`].
    pub client_pfx: PathBuf,
    /// `server.p12` (DER): server key, certificate and root CA, [`PFX_PASSWORD`].
    pub server_pfx: PathBuf,

    /// `ca-hashed/`: root CA as `<hash>.0` and its CRL as `<hash>.r0`.
    pub hashed_ca_dir: PathBuf,
    /// `ca-plain/`: root CA as `root.pem` plus the junk file `notes.txt`.
    pub plain_ca_dir: PathBuf,
    /// `ca-unhashed/`: root CA as `my-ca.pem` only (not hash-named).
    pub unhashed_ca_dir: PathBuf,

    /// Intermediate CA signed by the root.
    pub intermediate_ca: Issued,
    /// `intermediate-ca.pem`.
    pub intermediate_ca_cert: PathBuf,
    /// `intermediate-ca.key`.
    pub intermediate_ca_key: PathBuf,
    /// Server certificate (as `server`) signed by the intermediate CA.
    pub chain_server: Issued,
    /// `chain-server.pem`: leaf followed by the intermediate CA.
    pub chain_server_cert: PathBuf,
    /// `chain-server.key`.
    pub chain_server_key: PathBuf,

    /// Server certificate (as `server`) with an RSA-2048 key.
    pub rsa_server: Issued,
    /// `rsa-server.pem`.
    pub rsa_server_cert: PathBuf,
    /// `rsa-server.key`.
    pub rsa_server_key: PathBuf,

    /// `not-a-cert.pem`: text that is not PEM.
    pub garbage_file: PathBuf,
    /// `mismatched.key`: a valid key that matches none of the certificates.
    pub mismatched_key: PathBuf,
}

/// Attaches `what` to an OpenSSL error, as an `io::Error`.
fn ossl(what: &'static str) -> impl Fn(ErrorStack) -> io::Error {
    move |e| io::Error::other(format!("test PKI: {what}: {e}"))
}

fn write_file(path: &Path, data: &[u8]) -> io::Result<()> {
    fs::write(path, data).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Writes a private key file, owner-only on Unix.
fn write_key_file(path: &Path, data: &[u8]) -> io::Result<()> {
    let res = {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        opts.open(path)
            .and_then(|mut f| io::Write::write_all(&mut f, data))
    };
    res.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Writes `<stem>.pem` (leaf + `chain`) and `<stem>.key`; returns both paths.
fn write_pair(
    dir: &Path,
    stem: &str,
    issued: &Issued,
    chain: &[&X509],
) -> io::Result<(PathBuf, PathBuf)> {
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}.key"));
    write_file(
        &cert,
        &issued
            .cert_chain_pem(chain)
            .map_err(ossl("encoding certificate"))?,
    )?;
    write_key_file(&key, &issued.key_pem().map_err(ossl("encoding key"))?)?;
    Ok((cert, key))
}

impl TestPki {
    /// Common name of the root CA.
    pub const CA_CN: &'static str = "wss test root CA";
    /// Common name of the good client certificate.
    pub const CLIENT_CN: &'static str = "wss test client";

    /// Generates the whole fixture set into `dir` (created if missing;
    /// existing files with the same names are overwritten).
    ///
    /// OpenSSL failures become `io::Error`s (kind `Other`) carrying the
    /// OpenSSL error text.
    pub fn generate(dir: &Path) -> io::Result<TestPki> {
        fs::create_dir_all(dir)?;
        let localhost_ips = [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        let server_spec = CertSpec::server("localhost", &["localhost"], &localhost_ips);
        let client_spec = CertSpec::client(Self::CLIENT_CN);
        let expired = |s: &CertSpec| s.clone().with_validity(-30, -1);
        let not_yet = |s: &CertSpec| s.clone().with_validity(1, 30);

        let ca = Issued::self_signed(&CertSpec::ca(Self::CA_CN)).map_err(ossl("root CA"))?;
        let (ca_cert, ca_key) = write_pair(dir, "ca", &ca, &[])?;

        let server = ca.issue(&server_spec).map_err(ossl("server"))?;
        let (server_cert, server_key) = write_pair(dir, "server", &server, &[&ca.cert])?;
        let server_leaf_cert = dir.join("server-leaf.pem");
        write_file(
            &server_leaf_cert,
            &server.cert_pem().map_err(ossl("server"))?,
        )?;
        let server_key_encrypted = dir.join("server-enc.key");
        write_key_file(
            &server_key_encrypted,
            &server
                .key_pem_encrypted(KEY_PASSWORD)
                .map_err(ossl("encrypting server key"))?,
        )?;

        let client = ca.issue(&client_spec).map_err(ossl("client"))?;
        let (client_cert, client_key) = write_pair(dir, "client", &client, &[])?;

        let issue_pair = |issuer: &Issued, spec: &CertSpec, stem: &str, what: &'static str| {
            let issued = issuer.issue(spec).map_err(ossl(what))?;
            let (cert, key) = write_pair(dir, stem, &issued, &[])?;
            Ok::<_, io::Error>((issued, cert, key))
        };

        let (expired_server, expired_server_cert, expired_server_key) = issue_pair(
            &ca,
            &expired(&server_spec),
            "expired-server",
            "expired server",
        )?;
        let (expired_client, expired_client_cert, expired_client_key) = issue_pair(
            &ca,
            &expired(&client_spec),
            "expired-client",
            "expired client",
        )?;
        let (not_yet_valid_server, not_yet_valid_server_cert, not_yet_valid_server_key) =
            issue_pair(
                &ca,
                &not_yet(&server_spec),
                "not-yet-valid-server",
                "not-yet-valid server",
            )?;
        let (not_yet_valid_client, not_yet_valid_client_cert, not_yet_valid_client_key) =
            issue_pair(
                &ca,
                &not_yet(&client_spec),
                "not-yet-valid-client",
                "not-yet-valid client",
            )?;
        let (wrong_host_server, wrong_host_server_cert, wrong_host_server_key) = issue_pair(
            &ca,
            &CertSpec::server("wrong.example", &["wrong.example"], &[]),
            "wrong-host-server",
            "wrong-host server",
        )?;
        let (no_ip_san_server, no_ip_san_server_cert, no_ip_san_server_key) = issue_pair(
            &ca,
            &CertSpec::server("localhost", &["localhost"], &[]),
            "no-ip-san-server",
            "no-IP-SAN server",
        )?;

        let rogue_ca = Issued::self_signed(&CertSpec::ca("rogue CA")).map_err(ossl("rogue CA"))?;
        let (rogue_ca_cert, rogue_ca_key) = write_pair(dir, "rogue-ca", &rogue_ca, &[])?;
        let (rogue_server, rogue_server_cert, rogue_server_key) =
            issue_pair(&rogue_ca, &server_spec, "rogue-server", "rogue server")?;
        let (rogue_client, rogue_client_cert, rogue_client_key) =
            issue_pair(&rogue_ca, &client_spec, "rogue-client", "rogue client")?;

        let (revoked_server, revoked_server_cert, revoked_server_key) =
            issue_pair(&ca, &server_spec, "revoked-server", "revoked server")?;
        let (revoked_client, revoked_client_cert, revoked_client_key) =
            issue_pair(&ca, &client_spec, "revoked-client", "revoked client")?;
        let revoked = [
            revoked_server.cert.serial_number(),
            revoked_client.cert.serial_number(),
        ];
        let crl_pem = ca.crl(&revoked, 30).map_err(ossl("CRL"))?;
        let crl = dir.join("ca.crl.pem");
        write_file(&crl, &crl_pem)?;
        let expired_crl = dir.join("ca-expired.crl.pem");
        write_file(
            &expired_crl,
            &ca.crl(&revoked, -1).map_err(ossl("expired CRL"))?,
        )?;

        let client_pfx = dir.join("client.p12");
        write_key_file(
            &client_pfx,
            &client
                .to_pfx(PFX_PASSWORD, &[&ca.cert])
                .map_err(ossl("client PKCS#12"))?,
        )?;
        let server_pfx = dir.join("server.p12");
        write_key_file(
            &server_pfx,
            &server
                .to_pfx(PFX_PASSWORD, &[&ca.cert])
                .map_err(ossl("server PKCS#12"))?,
        )?;

        let ca_pem = ca.cert_pem().map_err(ossl("root CA"))?;
        let hashed_ca_dir = dir.join("ca-hashed");
        fs::create_dir_all(&hashed_ca_dir)?;
        let hash = ca.subject_hash();
        write_file(&hashed_ca_dir.join(format!("{hash}.0")), &ca_pem)?;
        write_file(&hashed_ca_dir.join(format!("{hash}.r0")), &crl_pem)?;

        let plain_ca_dir = dir.join("ca-plain");
        fs::create_dir_all(&plain_ca_dir)?;
        write_file(&plain_ca_dir.join("root.pem"), &ca_pem)?;
        write_file(
            &plain_ca_dir.join("notes.txt"),
            b"These are notes, not certificates.\nLoaders must ignore this file.\n",
        )?;

        let unhashed_ca_dir = dir.join("ca-unhashed");
        fs::create_dir_all(&unhashed_ca_dir)?;
        write_file(&unhashed_ca_dir.join("my-ca.pem"), &ca_pem)?;

        let intermediate_ca = ca
            .issue(&CertSpec::ca("wss test intermediate CA"))
            .map_err(ossl("intermediate CA"))?;
        let (intermediate_ca_cert, intermediate_ca_key) =
            write_pair(dir, "intermediate-ca", &intermediate_ca, &[])?;
        let chain_server = intermediate_ca
            .issue(&server_spec)
            .map_err(ossl("chain server"))?;
        let (chain_server_cert, chain_server_key) =
            write_pair(dir, "chain-server", &chain_server, &[&intermediate_ca.cert])?;

        let (rsa_server, rsa_server_cert, rsa_server_key) = issue_pair(
            &ca,
            &server_spec.clone().with_key(KeyKind::Rsa2048),
            "rsa-server",
            "RSA server",
        )?;

        let garbage_file = dir.join("not-a-cert.pem");
        write_file(
            &garbage_file,
            b"This is not a certificate.\nJust some text in a file named .pem.\n",
        )?;
        let mismatched_key = dir.join("mismatched.key");
        let stray = KeyKind::EcP256
            .generate()
            .and_then(|k| k.private_key_to_pem_pkcs8())
            .map_err(ossl("mismatched key"))?;
        write_key_file(&mismatched_key, &stray)?;

        Ok(TestPki {
            dir: dir.to_path_buf(),
            ca,
            ca_cert,
            ca_key,
            server,
            server_cert,
            server_leaf_cert,
            server_key,
            server_key_encrypted,
            client,
            client_cert,
            client_key,
            expired_server,
            expired_server_cert,
            expired_server_key,
            expired_client,
            expired_client_cert,
            expired_client_key,
            not_yet_valid_server,
            not_yet_valid_server_cert,
            not_yet_valid_server_key,
            not_yet_valid_client,
            not_yet_valid_client_cert,
            not_yet_valid_client_key,
            wrong_host_server,
            wrong_host_server_cert,
            wrong_host_server_key,
            no_ip_san_server,
            no_ip_san_server_cert,
            no_ip_san_server_key,
            rogue_ca,
            rogue_ca_cert,
            rogue_ca_key,
            rogue_server,
            rogue_server_cert,
            rogue_server_key,
            rogue_client,
            rogue_client_cert,
            rogue_client_key,
            revoked_server,
            revoked_server_cert,
            revoked_server_key,
            revoked_client,
            revoked_client_cert,
            revoked_client_key,
            crl,
            expired_crl,
            client_pfx,
            server_pfx,
            hashed_ca_dir,
            plain_ca_dir,
            unhashed_ca_dir,
            intermediate_ca,
            intermediate_ca_cert,
            intermediate_ca_key,
            chain_server,
            chain_server_cert,
            chain_server_key,
            rsa_server,
            rsa_server_cert,
            rsa_server_key,
            garbage_file,
            mismatched_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkcs12::Pkcs12;
    use openssl::pkey::Id;
    use openssl::ssl::SslFiletype;
    use openssl::x509::store::{X509Lookup, X509Store, X509StoreBuilder};
    use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
    use openssl::x509::{CrlStatus, X509PurposeId, X509StoreContext};
    use std::process::{Command, Output};
    use std::time::Instant;

    const OK: i32 = openssl_sys::X509_V_OK;
    const NOT_YET_VALID: i32 = openssl_sys::X509_V_ERR_CERT_NOT_YET_VALID; // 9
    const EXPIRED: i32 = openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED; // 10
    const CRL_EXPIRED: i32 = openssl_sys::X509_V_ERR_CRL_HAS_EXPIRED; // 12
    const NO_ISSUER: i32 = openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY; // 20
    const REVOKED: i32 = openssl_sys::X509_V_ERR_CERT_REVOKED; // 23
    const BAD_PURPOSE: i32 = openssl_sys::X509_V_ERR_INVALID_PURPOSE; // 26
    const HOST_MISMATCH: i32 = openssl_sys::X509_V_ERR_HOSTNAME_MISMATCH; // 62
    const IP_MISMATCH: i32 = openssl_sys::X509_V_ERR_IP_ADDRESS_MISMATCH; // 64

    fn fixture() -> (TempDir, TestPki) {
        let tmp = TempDir::new("wss-pki-test").unwrap();
        let pki = TestPki::generate(tmp.path()).unwrap();
        (tmp, pki)
    }

    fn store_builder(trusted: &[&X509]) -> X509StoreBuilder {
        let mut b = X509StoreBuilder::new().unwrap();
        for c in trusted {
            b.add_cert((*c).clone()).unwrap();
        }
        b.set_flags(X509VerifyFlags::X509_STRICT).unwrap();
        b
    }

    fn store(trusted: &[&X509]) -> X509Store {
        store_builder(trusted).build()
    }

    /// Verifies `leaf` (with `untrusted` intermediates); returns the X509_V_* code.
    fn verify(store: &X509Store, leaf: &X509, untrusted: &[&X509]) -> i32 {
        let mut chain = Stack::new().unwrap();
        for c in untrusted {
            chain.push((*c).clone()).unwrap();
        }
        let mut ctx = X509StoreContext::new().unwrap();
        ctx.init(store, leaf, &chain, |c| {
            let ok = c.verify_cert()?;
            let code = c.error().as_raw();
            assert_eq!(ok, code == OK, "verify_cert result vs error code {code}");
            Ok(code)
        })
        .unwrap()
    }

    fn verify_for(pki: &TestPki, leaf: &X509, param: X509VerifyParam) -> i32 {
        let mut b = store_builder(&[&pki.ca.cert]);
        b.set_param(&param).unwrap();
        verify(&b.build(), leaf, &[])
    }

    fn host_param(host: &str) -> X509VerifyParam {
        let mut p = X509VerifyParam::new().unwrap();
        p.set_host(host).unwrap();
        p
    }

    fn ip_param(ip: &str) -> X509VerifyParam {
        let mut p = X509VerifyParam::new().unwrap();
        p.set_ip(ip.parse().unwrap()).unwrap();
        p
    }

    fn sans(cert: &X509) -> (Vec<String>, Vec<IpAddr>) {
        let mut dns = Vec::new();
        let mut ips = Vec::new();
        if let Some(names) = cert.subject_alt_names() {
            for n in &names {
                if let Some(d) = n.dnsname() {
                    dns.push(d.to_owned());
                }
                if let Some(ip) = n.ipaddress() {
                    ips.push(match ip.len() {
                        4 => IpAddr::from(<[u8; 4]>::try_from(ip).unwrap()),
                        16 => IpAddr::from(<[u8; 16]>::try_from(ip).unwrap()),
                        n => panic!("bad IP SAN length {n}"),
                    });
                }
            }
        }
        (dns, ips)
    }

    /// Runs the openssl CLI; `None` (test step skipped) if it is not installed.
    fn openssl_cli(args: &[&str]) -> Option<Output> {
        match Command::new("openssl").args(args).output() {
            Ok(out) => Some(out),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                eprintln!("openssl CLI not found; skipping CLI check {args:?}");
                None
            }
            Err(e) => panic!("running openssl {args:?}: {e}"),
        }
    }

    fn cli_ok(args: &[&str]) -> Option<String> {
        let out = openssl_cli(args)?;
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn s(p: &Path) -> &str {
        p.to_str().unwrap()
    }

    fn all_issued(pki: &TestPki) -> Vec<(&'static str, &Issued)> {
        vec![
            ("ca", &pki.ca),
            ("server", &pki.server),
            ("client", &pki.client),
            ("expired_server", &pki.expired_server),
            ("expired_client", &pki.expired_client),
            ("not_yet_valid_server", &pki.not_yet_valid_server),
            ("not_yet_valid_client", &pki.not_yet_valid_client),
            ("wrong_host_server", &pki.wrong_host_server),
            ("no_ip_san_server", &pki.no_ip_san_server),
            ("rogue_ca", &pki.rogue_ca),
            ("rogue_server", &pki.rogue_server),
            ("rogue_client", &pki.rogue_client),
            ("revoked_server", &pki.revoked_server),
            ("revoked_client", &pki.revoked_client),
            ("intermediate_ca", &pki.intermediate_ca),
            ("chain_server", &pki.chain_server),
            ("rsa_server", &pki.rsa_server),
        ]
    }

    #[test]
    fn generates_quickly_and_temp_dir_is_cleaned() {
        let tmp = TempDir::new("wss-pki-test").unwrap();
        let path = tmp.path().to_path_buf();
        let start = Instant::now();
        let pki = TestPki::generate(&path).unwrap();
        let elapsed = start.elapsed();
        eprintln!("TestPki::generate took {elapsed:?}");
        // The budget is < 1 s; leave headroom for slow, loaded CI machines.
        assert!(elapsed.as_secs_f64() < 3.0, "generation took {elapsed:?}");
        assert_eq!(pki.dir, path);
        assert!(pki.server_cert.is_file());
        drop(tmp);
        assert!(!path.exists(), "TempDir was not removed");
    }

    #[test]
    fn all_files_exist_with_expected_names() {
        let (_tmp, pki) = fixture();
        let hash = pki.ca.subject_hash();
        let expected = [
            "ca.pem",
            "ca.key",
            "server.pem",
            "server-leaf.pem",
            "server.key",
            "server-enc.key",
            "client.pem",
            "client.key",
            "expired-server.pem",
            "expired-server.key",
            "expired-client.pem",
            "expired-client.key",
            "not-yet-valid-server.pem",
            "not-yet-valid-server.key",
            "not-yet-valid-client.pem",
            "not-yet-valid-client.key",
            "wrong-host-server.pem",
            "wrong-host-server.key",
            "no-ip-san-server.pem",
            "no-ip-san-server.key",
            "rogue-ca.pem",
            "rogue-ca.key",
            "rogue-server.pem",
            "rogue-server.key",
            "rogue-client.pem",
            "rogue-client.key",
            "revoked-server.pem",
            "revoked-server.key",
            "revoked-client.pem",
            "revoked-client.key",
            "ca.crl.pem",
            "ca-expired.crl.pem",
            "client.p12",
            "server.p12",
            "intermediate-ca.pem",
            "intermediate-ca.key",
            "chain-server.pem",
            "chain-server.key",
            "rsa-server.pem",
            "rsa-server.key",
            "not-a-cert.pem",
            "mismatched.key",
            "ca-plain/root.pem",
            "ca-plain/notes.txt",
            "ca-unhashed/my-ca.pem",
            &format!("ca-hashed/{hash}.0"),
            &format!("ca-hashed/{hash}.r0"),
        ];
        for name in expected {
            assert!(pki.dir.join(name).is_file(), "missing {name}");
        }
        let list = |d: &Path| {
            let mut v: Vec<String> = fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            list(&pki.hashed_ca_dir),
            [format!("{hash}.0"), format!("{hash}.r0")]
        );
        assert_eq!(list(&pki.plain_ca_dir), ["notes.txt", "root.pem"]);
        assert_eq!(list(&pki.unhashed_ca_dir), ["my-ca.pem"]);
        let paths = [
            (&pki.ca_cert, "ca.pem"),
            (&pki.server_cert, "server.pem"),
            (&pki.server_key_encrypted, "server-enc.key"),
            (&pki.crl, "ca.crl.pem"),
            (&pki.client_pfx, "client.p12"),
            (&pki.garbage_file, "not-a-cert.pem"),
            (&pki.mismatched_key, "mismatched.key"),
            (&pki.chain_server_cert, "chain-server.pem"),
        ];
        for (p, name) in paths {
            assert_eq!(*p, pki.dir.join(name));
        }
    }

    #[test]
    fn good_leaves_verify_against_root() {
        let (_tmp, pki) = fixture();
        let st = store(&[&pki.ca.cert]);
        for (name, leaf) in [
            ("server", &pki.server),
            ("client", &pki.client),
            ("wrong_host_server", &pki.wrong_host_server),
            ("no_ip_san_server", &pki.no_ip_san_server),
            ("revoked_server", &pki.revoked_server),
            ("rsa_server", &pki.rsa_server),
            ("intermediate_ca", &pki.intermediate_ca),
        ] {
            assert_eq!(verify(&st, &leaf.cert, &[]), OK, "{name}");
        }
        // The intermediate is needed, and enough, for chain_server.
        assert_eq!(
            verify(&st, &pki.chain_server.cert, &[&pki.intermediate_ca.cert]),
            OK
        );
        assert_eq!(verify(&st, &pki.chain_server.cert, &[]), NO_ISSUER);
        // Certificates loaded back from the written files verify too.
        let chain = X509::stack_from_pem(&fs::read(&pki.chain_server_cert).unwrap()).unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(verify(&st, &chain[0], &[&chain[1]]), OK);
    }

    #[test]
    fn faulty_leaves_fail_with_specific_errors() {
        let (_tmp, pki) = fixture();
        let st = store(&[&pki.ca.cert]);
        assert_eq!(verify(&st, &pki.rogue_server.cert, &[]), NO_ISSUER);
        assert_eq!(verify(&st, &pki.rogue_client.cert, &[]), NO_ISSUER);
        assert_eq!(verify(&st, &pki.expired_server.cert, &[]), EXPIRED);
        assert_eq!(verify(&st, &pki.expired_client.cert, &[]), EXPIRED);
        assert_eq!(
            verify(&st, &pki.not_yet_valid_server.cert, &[]),
            NOT_YET_VALID
        );
        assert_eq!(
            verify(&st, &pki.not_yet_valid_client.cert, &[]),
            NOT_YET_VALID
        );
        // Rogue leaves are fine against their own CA: only the trust is wrong.
        let rogue = store(&[&pki.rogue_ca.cert]);
        assert_eq!(verify(&rogue, &pki.rogue_server.cert, &[]), OK);
        assert_eq!(verify(&rogue, &pki.server.cert, &[]), NO_ISSUER);
    }

    #[test]
    fn hostnames_ips_and_purposes() {
        let (_tmp, pki) = fixture();
        let server = &pki.server.cert;
        assert_eq!(verify_for(&pki, server, host_param("localhost")), OK);
        assert_eq!(verify_for(&pki, server, ip_param("127.0.0.1")), OK);
        assert_eq!(verify_for(&pki, server, ip_param("::1")), OK);
        assert_eq!(
            verify_for(&pki, server, host_param("wrong.example")),
            HOST_MISMATCH
        );
        let wrong = &pki.wrong_host_server.cert;
        assert_eq!(
            verify_for(&pki, wrong, host_param("localhost")),
            HOST_MISMATCH
        );
        assert_eq!(verify_for(&pki, wrong, ip_param("127.0.0.1")), IP_MISMATCH);
        assert_eq!(verify_for(&pki, wrong, host_param("wrong.example")), OK);
        let no_ip = &pki.no_ip_san_server.cert;
        assert_eq!(verify_for(&pki, no_ip, host_param("localhost")), OK);
        assert_eq!(verify_for(&pki, no_ip, ip_param("127.0.0.1")), IP_MISMATCH);
        assert_eq!(verify_for(&pki, no_ip, ip_param("::1")), IP_MISMATCH);

        let purpose_store = |p: X509PurposeId| {
            let mut b = store_builder(&[&pki.ca.cert]);
            b.set_purpose(p).unwrap();
            b.build()
        };
        let tls_server = purpose_store(X509PurposeId::SSL_SERVER);
        let tls_client = purpose_store(X509PurposeId::SSL_CLIENT);
        assert_eq!(verify(&tls_server, server, &[]), OK);
        assert_eq!(verify(&tls_server, &pki.rsa_server.cert, &[]), OK);
        assert_eq!(verify(&tls_server, &pki.client.cert, &[]), BAD_PURPOSE);
        assert_eq!(verify(&tls_client, &pki.client.cert, &[]), OK);
        assert_eq!(verify(&tls_client, server, &[]), BAD_PURPOSE);
    }

    #[test]
    fn sans_are_as_specified() {
        let (_tmp, pki) = fixture();
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        for issued in [&pki.server, &pki.chain_server, &pki.rsa_server] {
            assert_eq!(
                sans(&issued.cert),
                (vec!["localhost".to_owned()], vec![v4, v6])
            );
        }
        assert_eq!(
            sans(&pki.wrong_host_server.cert),
            (vec!["wrong.example".to_owned()], vec![])
        );
        assert_eq!(
            sans(&pki.no_ip_san_server.cert),
            (vec!["localhost".to_owned()], vec![])
        );
        assert!(pki.client.cert.subject_alt_names().is_none());
        assert!(pki.ca.cert.subject_alt_names().is_none());
    }

    #[test]
    fn names_keys_serials_and_extensions() {
        let (_tmp, pki) = fixture();
        assert_eq!(pki.ca.common_name(), "wss test root CA");
        assert_eq!(pki.client.common_name(), "wss test client");
        assert_eq!(pki.server.common_name(), "localhost");
        assert_eq!(pki.rogue_ca.common_name(), "rogue CA");

        let issued = all_issued(&pki);
        let mut serials = Vec::new();
        for (name, i) in &issued {
            assert!(i.key_matches_cert().unwrap(), "{name}");
            assert_eq!(i.cert.version(), 2, "{name} is not v3");
            // Every issuer has a P-256 key, so every signature is ECDSA/SHA-256.
            assert_eq!(
                i.cert.signature_algorithm().object().nid(),
                Nid::ECDSA_WITH_SHA256,
                "{name}"
            );
            let serial = i.cert.serial_number().to_bn().unwrap();
            assert!(!serial.is_negative() && serial.num_bits() == 64, "{name}");
            serials.push(serial.to_hex_str().unwrap().to_string());
            assert!(i.cert.subject_key_id().is_some(), "{name} lacks SKI");
            assert!(i.cert.authority_key_id().is_some(), "{name} lacks AKI");
        }
        serials.sort();
        serials.dedup();
        assert_eq!(serials.len(), issued.len(), "serials are not unique");

        assert_eq!(pki.rsa_server.key.id(), Id::RSA);
        assert_eq!(pki.rsa_server.key.bits(), 2048);
        assert_eq!(pki.server.key.id(), Id::EC);
        // The RSA leaf is issued by the EC root, so its signature is ECDSA.
        assert_eq!(
            pki.rsa_server.cert.signature_algorithm().object().nid(),
            Nid::ECDSA_WITH_SHA256
        );
        assert_eq!(
            pki.chain_server.cert.authority_key_id().unwrap().as_slice(),
            pki.intermediate_ca
                .cert
                .subject_key_id()
                .unwrap()
                .as_slice()
        );
        assert_eq!(
            pki.ca.cert.authority_key_id().unwrap().as_slice(),
            pki.ca.cert.subject_key_id().unwrap().as_slice()
        );

        let fixed = pki
            .ca
            .issue(&CertSpec::client("fixed").with_serial(42))
            .unwrap();
        assert_eq!(
            fixed.cert.serial_number().to_bn().unwrap().to_string(),
            "42"
        );
    }

    #[test]
    fn key_files() {
        let (_tmp, pki) = fixture();
        let server_pub = pki.server.cert.public_key().unwrap();
        let plain = PKey::private_key_from_pem(&fs::read(&pki.server_key).unwrap()).unwrap();
        assert!(server_pub.public_eq(&plain));

        let enc = fs::read(&pki.server_key_encrypted).unwrap();
        assert!(String::from_utf8_lossy(&enc).contains("BEGIN ENCRYPTED PRIVATE KEY"));
        let dec = PKey::private_key_from_pem_passphrase(&enc, KEY_PASSWORD.as_bytes()).unwrap();
        assert!(server_pub.public_eq(&dec));
        assert!(PKey::private_key_from_pem_passphrase(&enc, b"wrong").is_err());

        let stray = PKey::private_key_from_pem(&fs::read(&pki.mismatched_key).unwrap()).unwrap();
        assert!(!server_pub.public_eq(&stray));
        for (name, i) in all_issued(&pki) {
            assert!(!i.cert.public_key().unwrap().public_eq(&stray), "{name}");
        }

        let rsa = PKey::private_key_from_pem(&fs::read(&pki.rsa_server_key).unwrap()).unwrap();
        assert_eq!(rsa.id(), Id::RSA);

        let chain = X509::stack_from_pem(&fs::read(&pki.server_cert).unwrap()).unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(
            chain[0].to_der().unwrap(),
            pki.server.cert.to_der().unwrap()
        );
        assert_eq!(chain[1].to_der().unwrap(), pki.ca.cert.to_der().unwrap());
        let leaf = X509::stack_from_pem(&fs::read(&pki.server_leaf_cert).unwrap()).unwrap();
        assert_eq!(leaf.len(), 1);

        let garbage = fs::read(&pki.garbage_file).unwrap();
        assert!(!garbage.is_empty());
        assert!(X509::from_pem(&garbage).is_err());
        assert!(!String::from_utf8_lossy(&garbage).contains("-----BEGIN"));

        let loaded = Issued::from_pem(
            &fs::read(&pki.client_cert).unwrap(),
            &fs::read(&pki.client_key).unwrap(),
        )
        .unwrap();
        assert!(loaded.key_matches_cert().unwrap());
        let wrong = Issued::from_pem(
            &fs::read(&pki.server_leaf_cert).unwrap(),
            &fs::read(&pki.mismatched_key).unwrap(),
        )
        .unwrap();
        assert!(!wrong.key_matches_cert().unwrap());
    }

    #[test]
    fn pfx_files_open_only_with_the_password() {
        let (_tmp, pki) = fixture();
        for (path, issued) in [
            (&pki.client_pfx, &pki.client),
            (&pki.server_pfx, &pki.server),
        ] {
            let der = fs::read(path).unwrap();
            let p12 = Pkcs12::from_der(&der).unwrap();
            let parsed = p12.parse2(PFX_PASSWORD).unwrap();
            let cert = parsed.cert.unwrap();
            assert_eq!(cert.to_der().unwrap(), issued.cert.to_der().unwrap());
            assert!(cert.public_key().unwrap().public_eq(&parsed.pkey.unwrap()));
            let ca = parsed.ca.unwrap();
            assert_eq!(ca.len(), 1);
            assert_eq!(ca[0].to_der().unwrap(), pki.ca.cert.to_der().unwrap());
            assert!(p12.parse2("not-the-password").is_err());
        }
    }

    #[test]
    fn crl_lists_both_revoked_serials() {
        let (_tmp, pki) = fixture();
        let crl = X509Crl::from_pem(&fs::read(&pki.crl).unwrap()).unwrap();
        assert!(crl.verify(&pki.ca.cert.public_key().unwrap()).unwrap());
        assert_eq!(
            crl.issuer_name().to_der().unwrap(),
            pki.ca.cert.subject_name().to_der().unwrap()
        );
        assert_eq!(crl.get_revoked().unwrap().len(), 2);
        assert!(matches!(
            crl.get_by_cert(&pki.revoked_server.cert),
            CrlStatus::Revoked(_)
        ));
        assert!(matches!(
            crl.get_by_cert(&pki.revoked_client.cert),
            CrlStatus::Revoked(_)
        ));
        assert!(matches!(
            crl.get_by_cert(&pki.server.cert),
            CrlStatus::NotRevoked
        ));
        let next = crl.next_update().unwrap();
        let now = Asn1Time::days_from_now(0).unwrap();
        let diff = now.diff(next).unwrap();
        let secs = i64::from(diff.days) * SECONDS_PER_DAY + i64::from(diff.secs);
        assert!((30 * SECONDS_PER_DAY - 60..=30 * SECONDS_PER_DAY).contains(&secs));
        assert!(crl.last_update() < now);
        // The hashed directory holds the very same CRL.
        let r0 = pki
            .hashed_ca_dir
            .join(format!("{}.r0", pki.ca.subject_hash()));
        assert_eq!(fs::read(r0).unwrap(), fs::read(&pki.crl).unwrap());

        let expired = X509Crl::from_pem(&fs::read(&pki.expired_crl).unwrap()).unwrap();
        assert!(expired.next_update().unwrap() < now);
        assert!(expired.last_update() < expired.next_update().unwrap());
        assert_eq!(expired.get_revoked().unwrap().len(), 2);

        // An empty CRL is valid too.
        let empty = X509Crl::from_pem(&pki.ca.crl(&[], 7).unwrap()).unwrap();
        assert!(empty.get_revoked().is_none_or(|r| r.is_empty()));

        if let Some(text) = cli_ok(&["crl", "-in", s(&pki.crl), "-noout", "-text"]) {
            for issued in [&pki.revoked_server, &pki.revoked_client] {
                let hex = issued
                    .cert
                    .serial_number()
                    .to_bn()
                    .unwrap()
                    .to_hex_str()
                    .unwrap();
                assert!(
                    text.contains(&format!("Serial Number: {}", &*hex)),
                    "serial {} missing from:\n{text}",
                    &*hex
                );
            }
        }
    }

    #[test]
    fn crl_checking_via_hashed_dir_and_files() {
        let (_tmp, pki) = fixture();
        let mut b = X509StoreBuilder::new().unwrap();
        b.add_lookup(X509Lookup::hash_dir())
            .unwrap()
            .add_dir(s(&pki.hashed_ca_dir), SslFiletype::PEM)
            .unwrap();
        b.set_flags(X509VerifyFlags::CRL_CHECK | X509VerifyFlags::X509_STRICT)
            .unwrap();
        let st = b.build();
        assert_eq!(verify(&st, &pki.server.cert, &[]), OK);
        assert_eq!(verify(&st, &pki.client.cert, &[]), OK);
        assert_eq!(verify(&st, &pki.revoked_server.cert, &[]), REVOKED);
        assert_eq!(verify(&st, &pki.revoked_client.cert, &[]), REVOKED);

        let mut b = X509StoreBuilder::new().unwrap();
        let lookup = b.add_lookup(X509Lookup::file()).unwrap();
        lookup
            .load_cert_file(&pki.ca_cert, SslFiletype::PEM)
            .unwrap();
        lookup
            .load_crl_file(&pki.expired_crl, SslFiletype::PEM)
            .unwrap();
        b.set_flags(X509VerifyFlags::CRL_CHECK).unwrap();
        assert_eq!(verify(&b.build(), &pki.server.cert, &[]), CRL_EXPIRED);
    }

    #[test]
    fn hashed_name_matches_openssl_cli() {
        let (_tmp, pki) = fixture();
        let hash = pki.ca.subject_hash();
        assert_eq!(hash.len(), 8);
        assert!(hash
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let file = pki.hashed_ca_dir.join(format!("{hash}.0"));
        assert_eq!(fs::read(file).unwrap(), fs::read(&pki.ca_cert).unwrap());
        if let Some(out) = cli_ok(&["x509", "-hash", "-noout", "-in", s(&pki.ca_cert)]) {
            assert_eq!(out.trim(), hash);
        }
    }

    #[test]
    fn every_file_is_readable_by_openssl_cli() {
        let (_tmp, pki) = fixture();
        let d = &pki.dir;
        let hash = pki.ca.subject_hash();
        let mut certs: Vec<PathBuf> = [
            "ca.pem",
            "server.pem",
            "server-leaf.pem",
            "client.pem",
            "expired-server.pem",
            "expired-client.pem",
            "not-yet-valid-server.pem",
            "not-yet-valid-client.pem",
            "wrong-host-server.pem",
            "no-ip-san-server.pem",
            "rogue-ca.pem",
            "rogue-server.pem",
            "rogue-client.pem",
            "revoked-server.pem",
            "revoked-client.pem",
            "intermediate-ca.pem",
            "chain-server.pem",
            "rsa-server.pem",
            "ca-plain/root.pem",
            "ca-unhashed/my-ca.pem",
        ]
        .iter()
        .map(|n| d.join(n))
        .collect();
        certs.push(pki.hashed_ca_dir.join(format!("{hash}.0")));
        for c in &certs {
            if cli_ok(&["x509", "-noout", "-in", s(c)]).is_none() {
                return;
            }
        }
        for k in fs::read_dir(d).unwrap().map(|e| e.unwrap().path()) {
            if k.extension().is_some_and(|e| e == "key") && k != pki.server_key_encrypted {
                cli_ok(&["pkey", "-noout", "-in", s(&k)]);
            }
        }
        cli_ok(&[
            "pkey",
            "-noout",
            "-in",
            s(&pki.server_key_encrypted),
            "-passin",
            &format!("pass:{KEY_PASSWORD}"),
        ]);
        for crl in [
            pki.crl.clone(),
            pki.expired_crl.clone(),
            pki.hashed_ca_dir.join(format!("{hash}.r0")),
        ] {
            cli_ok(&["crl", "-noout", "-in", s(&crl)]);
        }
        for pfx in [&pki.client_pfx, &pki.server_pfx] {
            cli_ok(&[
                "pkcs12",
                "-noout",
                "-in",
                s(pfx),
                "-passin",
                &format!("pass:{PFX_PASSWORD}"),
            ]);
        }
        // And the CLI agrees about trust.
        cli_ok(&[
            "verify",
            "-x509_strict",
            "-CAfile",
            s(&pki.ca_cert),
            "-untrusted",
            s(&pki.intermediate_ca_cert),
            s(&pki.server_leaf_cert),
            s(&pki.client_cert),
            s(&pki.chain_server_cert),
        ]);
        cli_ok(&[
            "verify",
            "-crl_check",
            "-CApath",
            s(&pki.hashed_ca_dir),
            s(&pki.server_leaf_cert),
        ]);
        let bad = openssl_cli(&["x509", "-noout", "-in", s(&pki.garbage_file)]).unwrap();
        assert!(!bad.status.success());
    }
}
