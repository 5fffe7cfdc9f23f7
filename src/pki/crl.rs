//! Certificate revocation lists signed by a CA.

use openssl::asn1::Asn1IntegerRef;
use openssl::bn::BigNum;
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::x509::extension::{AuthorityKeyIdentifier, CrlNumber};
use openssl::x509::{X509Builder, X509Crl, X509CrlBuilder, X509RevokedBuilder};

use crate::pki::issue::{time_in_days, unix_now};
use crate::pki::Issued;

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
