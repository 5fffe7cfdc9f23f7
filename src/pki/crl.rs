//! Certificate revocation lists signed by a CA: building them (with revocation reasons) and
//! reading their entries back.

use std::fmt;
use std::str::FromStr;

use foreign_types::ForeignType;
use openssl::asn1::{Asn1IntegerRef, Asn1Object, Asn1OctetString, Asn1Time, Asn1TimeRef};
use openssl::bn::BigNum;
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::x509::extension::{AuthorityKeyIdentifier, CrlNumber};
use openssl::x509::{
    ReasonCode, X509Builder, X509Crl, X509CrlBuilder, X509CrlRef, X509Extension, X509RevokedBuilder,
};

use crate::error::Error;
use crate::pki::issue::{time_in_days, unix_now};
use crate::pki::Issued;

/// Why a certificate was revoked: RFC 5280's CRLReason, named as in the RFC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// No reason given (written without a reason code, as RFC 5280 asks).
    Unspecified,
    /// The certificate's private key was exposed.
    KeyCompromise,
    /// The CA's key was exposed.
    CaCompromise,
    /// The subject's name or affiliation changed.
    AffiliationChanged,
    /// A new certificate replaces this one.
    Superseded,
    /// The certificate is no longer needed.
    CessationOfOperation,
    /// Suspended for now (may be lifted).
    CertificateHold,
    /// A privilege the certificate stood for was withdrawn.
    PrivilegeWithdrawn,
    /// An attribute authority's key was exposed.
    AaCompromise,
}

impl RevocationReason {
    /// Every reason, in RFC order.
    pub const ALL: [RevocationReason; 9] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::CertificateHold,
        RevocationReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise,
    ];

    /// The RFC 5280 code (`keyCompromise` is 1, ...).
    pub fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::CaCompromise => 2,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::CertificateHold => 6,
            RevocationReason::PrivilegeWithdrawn => 9,
            RevocationReason::AaCompromise => 10,
        }
    }

    /// The RFC 5280 name (`keyCompromise`, `cACompromise`, ...), also what `openssl crl -text`
    /// prints in words.
    pub fn name(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "keyCompromise",
            RevocationReason::CaCompromise => "cACompromise",
            RevocationReason::AffiliationChanged => "affiliationChanged",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessationOfOperation",
            RevocationReason::CertificateHold => "certificateHold",
            RevocationReason::PrivilegeWithdrawn => "privilegeWithdrawn",
            RevocationReason::AaCompromise => "aACompromise",
        }
    }

    /// The reason with RFC 5280 code `code`, if it is one.
    pub fn from_code(code: i64) -> Option<RevocationReason> {
        Self::ALL.into_iter().find(|r| i64::from(r.code()) == code)
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RevocationReason {
    type Err = Error;

    /// Reads an RFC 5280 name (`keyCompromise`, `superseded`, ...), in any case.
    fn from_str(s: &str) -> Result<RevocationReason, Error> {
        Self::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|r| r.name()).collect();
                Error::invalid(format!(
                    "unknown revocation reason {s:?} (expected one of {})",
                    names.join(", ")
                ))
            })
    }
}

/// One entry of a CRL: which serial number was revoked, when and why.
#[derive(Debug)]
pub struct Revocation {
    /// Serial number of the revoked certificate.
    pub serial: BigNum,
    /// When it was revoked (Unix time, seconds).
    pub revoked_at: i64,
    /// Why, when the CRL says (`None`: no reason code).
    pub reason: Option<RevocationReason>,
}

impl Revocation {
    /// An entry revoking `serial` now for `reason`.
    pub fn now(
        serial: &Asn1IntegerRef,
        reason: Option<RevocationReason>,
    ) -> Result<Revocation, ErrorStack> {
        Ok(Revocation {
            serial: serial.to_bn()?,
            revoked_at: unix_now(),
            reason,
        })
    }

    /// The entries of `crl`, in the CRL's order.
    pub fn read_all(crl: &X509CrlRef) -> Result<Vec<Revocation>, ErrorStack> {
        let Some(list) = crl.get_revoked() else {
            return Ok(Vec::new());
        };
        list.iter()
            .map(|r| {
                let reason = r
                    .extension::<ReasonCode>()?
                    .and_then(|(_, code)| code.get_i64().ok())
                    .and_then(RevocationReason::from_code);
                Ok(Revocation {
                    serial: r.serial_number().to_bn()?,
                    revoked_at: unix_time(r.revocation_date())?,
                    reason,
                })
            })
            .collect()
    }
}

/// An ASN.1 time as Unix seconds.
pub(crate) fn unix_time(t: &Asn1TimeRef) -> Result<i64, ErrorStack> {
    let d = Asn1Time::from_unix(0)?.diff(t)?;
    Ok(i64::from(d.days) * crate::pki::SECONDS_PER_DAY + i64::from(d.secs))
}

/// The cRLNumber of `crl`, if it has one that fits in 64 bits.
pub fn crl_number(crl: &X509CrlRef) -> Option<u64> {
    let (_, n) = crl.extension::<CrlNumber>().ok()??;
    n.to_bn().ok()?.to_dec_str().ok()?.parse().ok()
}

impl Issued {
    /// Builds a v2 CRL signed by `self` (acting as the CA) revoking `revoked_serials`
    /// (e.g. `leaf.cert.serial_number()`), signed with SHA-256.
    ///
    /// nextUpdate is `next_update_days` from now (negative gives an expired CRL); lastUpdate and
    /// the revocation dates are one day before now (or one day before nextUpdate if that is
    /// earlier). Carries the authorityKeyIdentifier and a cRLNumber (current Unix time), so
    /// `self` must have a subjectKeyIdentifier (all certificates made here do).
    pub fn build_crl(
        &self,
        revoked_serials: &[&Asn1IntegerRef],
        next_update_days: i64,
    ) -> Result<X509Crl, ErrorStack> {
        let revoked_at = unix_now().saturating_add(
            next_update_days.saturating_sub(1).min(-1) * crate::pki::SECONDS_PER_DAY,
        );
        let entries = revoked_serials
            .iter()
            .map(|s| {
                Ok(Revocation {
                    serial: s.to_bn()?,
                    revoked_at,
                    reason: None,
                })
            })
            .collect::<Result<Vec<_>, ErrorStack>>()?;
        self.build_crl_entries(&entries, next_update_days, None)
    }

    /// Builds a v2 CRL signed by `self` listing `entries` with their own dates and reasons
    /// (what `wss-pki revoke` rewrites), signed with SHA-256.
    ///
    /// lastUpdate is one day before now (or one day before nextUpdate if that is earlier), so
    /// machines whose clocks lag a little accept it; nextUpdate is `next_update_days` from now.
    /// The cRLNumber is `number`, or the current Unix time when `None`.
    pub fn build_crl_entries(
        &self,
        entries: &[Revocation],
        next_update_days: i64,
        number: Option<u64>,
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
        let number = number.unwrap_or_else(|| unix_now().max(1) as u64);
        builder.append_extension(
            CrlNumber::new(BigNum::from_dec_str(&number.to_string())?)?.build()?,
        )?;

        for entry in entries {
            let mut revoked = X509RevokedBuilder::new()?;
            revoked.set_serial_number(&*entry.serial.to_asn1_integer()?)?;
            // `time_t` is 64-bit on every supported target; the cast is a no-op there.
            revoked.set_revocation_date(&*Asn1Time::from_unix(entry.revoked_at as _)?)?;
            let revoked = revoked.build();
            if let Some(reason) = entry.reason.filter(|r| *r != RevocationReason::Unspecified) {
                // CRLReason ::= ENUMERATED, DER: tag 0x0a, length 1, the code.
                let der = Asn1OctetString::new_from_bytes(&[0x0a, 0x01, reason.code()])?;
                let oid = Asn1Object::from_str("2.5.29.21")?;
                let ext = X509Extension::new_from_der(&oid, false, &der)?;
                // SAFETY: both pointers are valid for the call; the entry copies the extension.
                let rc = unsafe {
                    openssl_sys::X509_REVOKED_add_ext(revoked.as_ptr(), ext.as_ptr(), -1)
                };
                if rc != 1 {
                    return Err(ErrorStack::get());
                }
            }
            builder.add_revoked(revoked)?;
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
}

#[cfg(test)]
mod tests {
    use crate::pki::testing::{verify_code, Scratch};
    use crate::pki::{CertSpec, Issued};
    use openssl::x509::{CrlStatus, X509Crl};

    #[test]
    fn crl_revokes_listed_serials_only() {
        let ca = Issued::self_signed(&CertSpec::ca("CRL CA")).unwrap();
        let bad = ca.issue(&CertSpec::client("revoked")).unwrap();
        let good = ca.issue(&CertSpec::client("kept")).unwrap();
        let crl = ca.build_crl(&[bad.cert.serial_number()], 30).unwrap();

        assert!(crl.verify(&ca.cert.public_key().unwrap()).unwrap());
        assert!(matches!(crl.get_by_cert(&bad.cert), CrlStatus::Revoked(_)));
        assert!(matches!(crl.get_by_cert(&good.cert), CrlStatus::NotRevoked));

        let dir = Scratch::new("crl");
        let ca_pem = dir.write("ca.pem", &ca.cert_pem().unwrap());
        let crl_pem = dir.write("ca.crl.pem", &crl.to_pem().unwrap());
        let code =
            |crl: &std::path::Path, leaf: &Issued| verify_code(&ca_pem, Some(crl), &leaf.cert, &[]);
        assert_eq!(code(&crl_pem, &bad), openssl_sys::X509_V_ERR_CERT_REVOKED);
        assert_eq!(code(&crl_pem, &good), openssl_sys::X509_V_OK);

        let expired = ca.build_crl(&[], -1).unwrap();
        assert!(expired.last_update() < expired.next_update().unwrap());
        let expired_pem = dir.write("expired.crl.pem", &expired.to_pem().unwrap());
        assert_eq!(
            code(&expired_pem, &good),
            openssl_sys::X509_V_ERR_CRL_HAS_EXPIRED
        );
        let empty = X509Crl::from_pem(&ca.crl(&[], 7).unwrap()).unwrap();
        assert!(empty.get_revoked().is_none_or(|r| r.is_empty()));
    }
}
