//! What a certificate says: profile (CA, server, client), names, SANs, validity, key kind.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::Error;
use crate::pki::KeyKind;

/// One subjectAltName entry: a DNS name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    /// A DNS name (`localhost`, `api.example`, `*.example`).
    Dns(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
}

impl FromStr for San {
    type Err = Error;

    /// An IP address if `s` parses as one, otherwise a DNS name: letters, digits, `-` and `.`,
    /// labels of 1 to 63 characters, at most 253 in all, and a leading `*.` wildcard allowed.
    fn from_str(s: &str) -> Result<San, Error> {
        let s = s.trim();
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(San::Ip(ip));
        }
        let bad = |why: &str| Error::invalid(format!("bad subjectAltName {s:?}: {why}"));
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.len() > 253 {
            return Err(bad("longer than 253 characters"));
        }
        let rest = s.strip_prefix("*.").unwrap_or(s);
        for label in rest.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(bad("each label needs 1 to 63 characters"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return Err(bad("a DNS name holds only letters, digits, '-' and '.'"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(bad("a label may not start or end with '-'"));
            }
        }
        Ok(San::Dns(s.to_ascii_lowercase()))
    }
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(d) => write!(f, "DNS:{d}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

/// Parses a comma-separated SAN list such as `localhost,127.0.0.1,::1` (spaces ignored).
pub fn parse_sans(list: &str) -> Result<Vec<San>, Error> {
    list.split(',')
        .filter(|e| !e.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// Description of one certificate to issue.
///
/// Start from [`CertSpec::ca`], [`CertSpec::server`] or [`CertSpec::client`] and adjust fields
/// (or use the `with_*` helpers). Every certificate is X.509 v3, signed with SHA-256, and
/// carries subject and authority key identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSpec {
    /// Subject common name (CN); the subject contains only this attribute.
    pub common_name: String,
    /// DNS names for the subjectAltName extension.
    pub dns: Vec<String>,
    /// IP addresses for the subjectAltName extension.
    pub ips: Vec<IpAddr>,
    /// Issue a CA certificate (basicConstraints CA:TRUE, keyCertSign, cRLSign).
    pub is_ca: bool,
    /// For a CA: how many intermediate CAs may follow it (`None`: no limit).
    pub path_len: Option<u32>,
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
    /// Default lifetime of a CA certificate, in days (10 years).
    pub const CA_DAYS: i64 = 3650;

    /// Default lifetime of a server or client certificate, in days (the 397 days browsers
    /// accept).
    pub const LEAF_DAYS: i64 = 397;

    fn base(cn: &str, days: i64) -> CertSpec {
        CertSpec {
            common_name: cn.to_owned(),
            dns: Vec::new(),
            ips: Vec::new(),
            is_ca: false,
            path_len: None,
            server_auth: false,
            client_auth: false,
            not_before_days: -1,
            not_after_days: days,
            key: KeyKind::EcP256,
            serial: None,
        }
    }

    /// A CA certificate: valid from yesterday for [`CertSpec::CA_DAYS`], P-256 key, no path
    /// length limit.
    pub fn ca(cn: &str) -> CertSpec {
        CertSpec {
            is_ca: true,
            ..CertSpec::base(cn, Self::CA_DAYS)
        }
    }

    /// A TLS server certificate (serverAuth) with the given SAN entries: valid from yesterday
    /// for [`CertSpec::LEAF_DAYS`], P-256 key.
    pub fn server(cn: &str, dns: &[&str], ips: &[IpAddr]) -> CertSpec {
        CertSpec {
            dns: dns.iter().map(|d| (*d).to_owned()).collect(),
            ips: ips.to_vec(),
            server_auth: true,
            ..CertSpec::base(cn, Self::LEAF_DAYS)
        }
    }

    /// A TLS client certificate (clientAuth), no SAN: valid from yesterday for
    /// [`CertSpec::LEAF_DAYS`], P-256 key.
    pub fn client(cn: &str) -> CertSpec {
        CertSpec {
            client_auth: true,
            ..CertSpec::base(cn, Self::LEAF_DAYS)
        }
    }

    /// Adds one subjectAltName entry.
    pub fn with_san(mut self, san: &San) -> CertSpec {
        match san {
            San::Dns(d) => self.dns.push(d.clone()),
            San::Ip(ip) => self.ips.push(*ip),
        }
        self
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

    /// Limits a CA to `path_len` intermediate CAs below it (0: it may only issue leaves).
    pub fn with_path_len(mut self, path_len: u32) -> CertSpec {
        self.path_len = Some(path_len);
        self
    }

    /// Sets a fixed serial number (you are responsible for uniqueness).
    pub fn with_serial(mut self, serial: u32) -> CertSpec {
        self.serial = Some(serial);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans_parse_as_ip_or_dns() {
        let sans = parse_sans("localhost, 127.0.0.1,::1,*.Example.org,").unwrap();
        assert_eq!(
            sans,
            [
                San::Dns("localhost".into()),
                San::Ip("127.0.0.1".parse().unwrap()),
                San::Ip("::1".parse().unwrap()),
                San::Dns("*.example.org".into()),
            ]
        );
        for bad in ["exa mple", "-a.b", "a..b", "a_b.example", "*", "a.*.b"] {
            let e = bad.parse::<San>().unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::InvalidArgument, "{bad}");
            assert!(e.message.contains(bad), "{}", e.message);
        }
        let spec = CertSpec::server("s", &[], &[])
            .with_san(&sans[0])
            .with_san(&sans[1]);
        assert_eq!((spec.dns.len(), spec.ips.len()), (1, 1));
    }
}
