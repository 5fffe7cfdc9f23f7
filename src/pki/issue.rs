//! Issuing: a certificate with its key ([`Issued`]), self-signed or signed by a CA.

use std::time::{SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Name, X509NameBuilder, X509Ref, X509};

use crate::pki::CertSpec;

/// Seconds in one day; validity offsets in this module are whole days.
pub const SECONDS_PER_DAY: i64 = 86_400;

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

    /// Loads a certificate and its key from PEM (key: PKCS#8 or traditional, unencrypted).
    /// Whether they match is not checked; see [`Issued::key_matches_cert`].
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
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `now + days`, as an ASN.1 time.
pub(crate) fn time_in_days(days: i64) -> Result<Asn1Time, ErrorStack> {
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
        let mut bc = BasicConstraints::new();
        bc.critical().ca();
        if let Some(n) = spec.path_len {
            bc.pathlen(n);
        }
        b.append_extension(bc.build()?)?;
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
        if spec.key.is_rsa() {
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
