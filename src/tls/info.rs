//! What a connection knows about its TLS session and the peer's certificate.

use openssl::hash::MessageDigest;
use openssl::ssl::SslRef;
use openssl::x509::{X509NameRef, X509Ref, X509VerifyResult};

/// Fields of a peer certificate, as text ready for logs and host languages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerCertificate {
    /// Subject, e.g. `CN=client, O=Example`.
    pub subject: String,
    /// Issuer, same form.
    pub issuer: String,
    /// Subject alternative names, each `DNS:name` or `IP:address` (also `email:`/`URI:`).
    pub sans: Vec<String>,
    /// Serial number in upper-case hex.
    pub serial: String,
    /// Start of validity, e.g. `Jan  1 00:00:00 2026 GMT`.
    pub not_before: String,
    /// End of validity, same form.
    pub not_after: String,
    /// SHA-256 fingerprint of the DER certificate, upper-case hex with colons.
    pub sha256_fingerprint: String,
    /// Whether OpenSSL verified the certificate against the configured trust.
    pub verified: bool,
}

/// TLS session facts of an open connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// Protocol version, e.g. `TLSv1.3`.
    pub version: String,
    /// Negotiated cipher suite (OpenSSL name).
    pub cipher: String,
    /// ALPN protocol chosen, if any.
    pub alpn: Option<String>,
    /// SNI server name (as sent by the client / received by the server).
    pub server_name: Option<String>,
    /// Whether this session was resumed.
    pub resumed: bool,
    /// The peer's certificate, if it presented one.
    pub peer_certificate: Option<PeerCertificate>,
}

/// `CN=a, O=b` form of an X509 name.
pub(crate) fn name_to_string(name: &X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let val = e.data().to_string().unwrap_or_default();
            format!("{key}={val}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The certificate's subjectAltName entries as `DNS:name`, `IP:addr`, `email:..`, `URI:..`.
pub(crate) fn san_strings(cert: &X509Ref) -> Vec<String> {
    let mut sans = Vec::new();
    if let Some(names) = cert.subject_alt_names() {
        for n in &names {
            if let Some(d) = n.dnsname() {
                sans.push(format!("DNS:{d}"));
            } else if let Some(ip) = n.ipaddress() {
                let s = match ip.len() {
                    4 => std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
                    16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(ip);
                        std::net::Ipv6Addr::from(a).to_string()
                    }
                    _ => format!("{ip:?}"),
                };
                sans.push(format!("IP:{s}"));
            } else if let Some(e) = n.email() {
                sans.push(format!("email:{e}"));
            } else if let Some(u) = n.uri() {
                sans.push(format!("URI:{u}"));
            }
        }
    }
    sans
}

/// Describe a certificate.
pub fn describe(cert: &X509Ref, verified: bool) -> PeerCertificate {
    let sans = san_strings(cert);
    let serial = cert
        .serial_number()
        .to_bn()
        .and_then(|b| b.to_hex_str().map(|s| s.to_string()))
        .unwrap_or_default();
    let fp = cert
        .digest(MessageDigest::sha256())
        .map(|d| {
            d.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        })
        .unwrap_or_default();
    PeerCertificate {
        subject: name_to_string(cert.subject_name()),
        issuer: name_to_string(cert.issuer_name()),
        sans,
        serial,
        not_before: cert.not_before().to_string(),
        not_after: cert.not_after().to_string(),
        sha256_fingerprint: fp,
        verified,
    }
}

/// Session facts of a completed handshake. `verify_requested` tells whether the peer's certificate
/// was checked at all (a server that did not ask for one reports `verified = false`).
pub(crate) fn session_info(ssl: &SslRef, verify_requested: bool) -> TlsInfo {
    let peer = ssl.peer_certificate();
    let verified =
        verify_requested && peer.is_some() && ssl.verify_result() == X509VerifyResult::OK;
    TlsInfo {
        version: ssl.version_str().to_string(),
        cipher: ssl
            .current_cipher()
            .map(|c| c.name().to_string())
            .unwrap_or_default(),
        alpn: ssl
            .selected_alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        server_name: ssl
            .servername(openssl::ssl::NameType::HOST_NAME)
            .map(str::to_string),
        resumed: ssl.session_reused(),
        peer_certificate: peer.as_deref().map(|c| describe(c, verified)),
    }
}
