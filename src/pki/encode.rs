//! Encodings: PEM certificates and chains, plain and encrypted PKCS#8 keys, password-protected
//! PKCS#12 (PFX) files.

use openssl::error::ErrorStack;
use openssl::pkcs12::Pkcs12;
use openssl::stack::Stack;
use openssl::symm::Cipher;
use openssl::x509::X509;

use crate::error::{Error, ErrorKind, Result};
use crate::pki::Issued;

impl Issued {
    /// The certificate as PEM (`BEGIN CERTIFICATE`).
    pub fn cert_pem(&self) -> Result<Vec<u8>, ErrorStack> {
        self.cert.to_pem()
    }

    /// The certificate followed by `chain` (issuer first), as concatenated PEM: the usual
    /// server/client "chain file".
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

    /// The private key as PKCS#8 PEM encrypted with AES-256-CBC (`BEGIN ENCRYPTED PRIVATE KEY`).
    pub fn key_pem_encrypted(&self, password: &str) -> Result<Vec<u8>, ErrorStack> {
        self.key
            .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), password.as_bytes())
    }

    /// A PKCS#12 (PFX) file, DER-encoded, holding the key, the certificate (friendly name = its
    /// CN) and the `chain` certificates, protected by `password` with OpenSSL 3 defaults
    /// (AES-256-CBC, PBKDF2, SHA-256 MAC).
    ///
    /// Fails with `InvalidArgument` if `password` contains a NUL byte (PKCS#12 passwords are C
    /// strings), and with `Tls` and the OpenSSL queue if encoding fails.
    pub fn to_pfx(&self, password: &str, chain: &[&X509]) -> Result<Vec<u8>> {
        if password.contains('\0') {
            return Err(Error::invalid("a PFX password cannot contain a NUL byte"));
        }
        let stack = |e: ErrorStack| Error::from_stack(ErrorKind::Tls, "encoding PFX", &e);
        let mut builder = Pkcs12::builder();
        let name = self.common_name();
        if !name.is_empty() && !name.contains('\0') {
            builder.name(&name);
        }
        builder.pkey(&self.key).cert(&self.cert);
        if !chain.is_empty() {
            let mut certs = Stack::new().map_err(stack)?;
            for c in chain {
                certs.push((*c).clone()).map_err(stack)?;
            }
            builder.ca(certs);
        }
        builder
            .build2(password)
            .and_then(|p| p.to_der())
            .map_err(stack)
    }

    /// Reads a PKCS#12 (PFX) file made by [`Issued::to_pfx`] or any other tool: the key, its
    /// certificate and the other certificates it carries.
    ///
    /// Fails with `Config` (and OpenSSL's reason, e.g. "mac verify failure") for a wrong password
    /// or bytes that are not PKCS#12, and with `Config` if the file holds no key or certificate.
    pub fn from_pfx(der: &[u8], password: &str) -> Result<(Issued, Vec<X509>)> {
        if password.contains('\0') {
            return Err(Error::invalid("a PFX password cannot contain a NUL byte"));
        }
        let parsed = Pkcs12::from_der(der)
            .and_then(|p| p.parse2(password))
            .map_err(|e| Error::from_stack(ErrorKind::Config, "reading PFX", &e))?;
        let (Some(cert), Some(key)) = (parsed.cert, parsed.pkey) else {
            return Err(Error::new(
                ErrorKind::Config,
                "reading PFX: it holds no certificate with its private key",
            ));
        };
        let chain = parsed
            .ca
            .map(|s| s.into_iter().collect())
            .unwrap_or_default();
        Ok((Issued { cert, key }, chain))
    }
}

#[cfg(test)]
mod tests {
    use crate::pki::{CertSpec, Issued};
    use openssl::pkey::PKey;

    #[test]
    fn pfx_round_trips_only_with_its_password() {
        let ca = Issued::self_signed(&CertSpec::ca("pfx CA")).unwrap();
        let leaf = ca.issue(&CertSpec::client("pfx client")).unwrap();
        let der = leaf.to_pfx("s3cret pass", &[&ca.cert]).unwrap();

        let (back, chain) = Issued::from_pfx(&der, "s3cret pass").unwrap();
        assert_eq!(back.cert.to_der().unwrap(), leaf.cert.to_der().unwrap());
        assert!(back.key_matches_cert().unwrap());
        assert_eq!(back.common_name(), "pfx client");
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].to_der().unwrap(), ca.cert.to_der().unwrap());

        let wrong = Issued::from_pfx(&der, "not the password").unwrap_err();
        assert_eq!(wrong.kind, crate::ErrorKind::Config);
        assert!(!wrong.openssl.is_empty(), "{wrong}");
        let nul = leaf.to_pfx("a\0b", &[]).unwrap_err();
        assert_eq!(nul.kind, crate::ErrorKind::InvalidArgument);
        let garbage = Issued::from_pfx(b"not a pfx", "x").unwrap_err();
        assert_eq!(garbage.kind, crate::ErrorKind::Config);
    }

    #[test]
    fn encrypted_key_needs_its_password() {
        let ca = Issued::self_signed(&CertSpec::ca("key CA")).unwrap();
        let pem = ca.key_pem_encrypted("pw").unwrap();
        assert!(String::from_utf8_lossy(&pem).contains("BEGIN ENCRYPTED PRIVATE KEY"));
        let key = PKey::private_key_from_pem_passphrase(&pem, b"pw").unwrap();
        assert!(ca.cert.public_key().unwrap().public_eq(&key));
        assert!(PKey::private_key_from_pem_passphrase(&pem, b"wrong").is_err());
        let chain = ca.cert_chain_pem(&[&ca.cert]).unwrap();
        assert_eq!(
            openssl::x509::X509::stack_from_pem(&chain).unwrap().len(),
            2
        );
    }
}
