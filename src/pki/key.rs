//! Key pairs: which algorithm a new certificate's key uses, and generating it.

use std::fmt;
use std::str::FromStr;

use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;

use crate::error::Error;

/// Key algorithm of a generated key pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyKind {
    /// ECDSA on NIST P-256 (prime256v1): fast, small, accepted everywhere TLS 1.2+ is. The default.
    #[default]
    EcP256,
    /// RSA with a 3072-bit modulus (128-bit security), for peers that need RSA. Slow to generate
    /// (hundreds of milliseconds to seconds).
    Rsa3072,
    /// RSA with a 2048-bit modulus: the minimum still accepted, for old peers and quick test keys.
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
            KeyKind::Rsa3072 => PKey::from_rsa(Rsa::generate(3072)?),
            KeyKind::Rsa2048 => PKey::from_rsa(Rsa::generate(2048)?),
        }
    }

    /// Whether this is an RSA kind (leaf certificates then also allow keyEncipherment).
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyKind::Rsa3072 | KeyKind::Rsa2048)
    }

    /// The name [`KeyKind::from_str`] reads back: `ecdsa`, `rsa` or `rsa2048`.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::EcP256 => "ecdsa",
            KeyKind::Rsa3072 => "rsa",
            KeyKind::Rsa2048 => "rsa2048",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyKind {
    type Err = Error;

    /// Reads `ecdsa` (also `ec`, `p256`), `rsa` (also `rsa3072`) or `rsa2048`, in any case.
    fn from_str(s: &str) -> Result<KeyKind, Error> {
        match s.to_ascii_lowercase().as_str() {
            "ecdsa" | "ec" | "p256" | "p-256" => Ok(KeyKind::EcP256),
            "rsa" | "rsa3072" => Ok(KeyKind::Rsa3072),
            "rsa2048" => Ok(KeyKind::Rsa2048),
            _ => Err(Error::invalid(format!(
                "unknown key kind {s:?} (expected ecdsa, rsa or rsa2048)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::pkey::Id;

    #[test]
    fn kinds_generate_the_promised_keys() {
        let ec = KeyKind::default().generate().unwrap();
        assert_eq!(ec.id(), Id::EC);
        assert_eq!(ec.bits(), 256);
        let rsa = KeyKind::Rsa3072.generate().unwrap();
        assert_eq!((rsa.id(), rsa.bits()), (Id::RSA, 3072));
        assert!(KeyKind::Rsa3072.is_rsa() && !KeyKind::EcP256.is_rsa());
    }

    #[test]
    fn names_round_trip() {
        for k in [KeyKind::EcP256, KeyKind::Rsa3072, KeyKind::Rsa2048] {
            assert_eq!(k.name().parse::<KeyKind>().unwrap(), k);
        }
        assert_eq!("RSA".parse::<KeyKind>().unwrap(), KeyKind::Rsa3072);
        let err = "dsa".parse::<KeyKind>().unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidArgument);
    }
}
