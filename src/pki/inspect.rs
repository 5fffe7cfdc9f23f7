//! What a certificate file or CA folder holds, in words: what `wss-pki inspect` prints, and the
//! checks users otherwise do with five openssl commands (`x509 -text`, `pkcs12 -info`, `crl
//! -text`, `x509 -subject_hash`, comparing key and certificate moduli).

use std::fs;
use std::path::Path;

use foreign_types::ForeignTypeRef;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use openssl::x509::{X509Crl, X509ExtendedKeyUsage, X509KeyUsage, X509VerifyResult, X509};

use crate::error::{Error, ErrorKind, Result};
use crate::pki::crl::unix_time;
use crate::pki::files::read_regular;
use crate::pki::issue::unix_now;
use crate::pki::{crl_hash, is_hash_name, subject_hash, Revocation, SECONDS_PER_DAY};

/// Largest file inspected.
const MAX_FILE: u64 = 16 << 20;

/// What [`inspect`] found: a description (one fact per line, indented under its object) and the
/// problems among them (expired, a key that matches no certificate, a wrong hash name, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspection {
    /// The description, line by line.
    pub lines: Vec<String>,
    /// The problems found, each also in `lines`.
    pub problems: Vec<String>,
}

impl Inspection {
    fn line(&mut self, s: impl Into<String>) {
        self.lines.push(s.into());
    }

    fn problem(&mut self, indent: &str, s: impl Into<String>) {
        let s = s.into();
        self.lines.push(format!("{indent}PROBLEM: {s}"));
        self.problems.push(s);
    }
}

/// Describes a PEM file (certificates, keys - encrypted or not -, CRLs), a DER certificate or
/// CRL, a PFX (opened with `password`) or a folder (each file, with a check of its hash name).
/// Fails with `Io` for an unreadable path, `Config` for a file that is none of these or a PFX
/// whose password is missing or wrong.
pub fn inspect(path: &Path, password: Option<&str>) -> Result<Inspection> {
    let mut out = Inspection::default();
    if path.is_dir() {
        folder(path, &mut out)?;
    } else {
        file(path, password, &mut out)?;
    }
    Ok(out)
}

/// `CN=a, O=b`: the form the library's errors and `PeerCertificate` use.
fn name_text(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let val = e
                .data()
                .to_string()
                .map(|s| s.to_string())
                .unwrap_or_default();
            format!("{key}={val}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn read(path: &Path) -> Result<Vec<u8>> {
    read_regular(path, MAX_FILE)
        .map_err(|e| Error::from_io(format!("reading {}", path.display()), &e))
}

fn file(path: &Path, password: Option<&str>, out: &mut Inspection) -> Result<()> {
    let data = read(path)?;
    let name = path.display().to_string();
    let not_pki = || {
        Error::new(
            ErrorKind::Config,
            format!("{name}: not a certificate, key, CRL or PFX file (PEM or DER)"),
        )
    };
    if data.windows(10).any(|w| w == b"-----BEGIN") {
        return pem(&name, &data, password, out).and_then(|found| {
            if found {
                Ok(())
            } else {
                Err(not_pki())
            }
        });
    }
    if let Ok(pfx) = Pkcs12::from_der(&data) {
        let Some(password) = password else {
            return Err(Error::new(
                ErrorKind::Config,
                format!("{name} is a PFX/PKCS#12 file: it needs its password to be read"),
            )
            .with_hint("give --password-file F or --password P, or set WSS_PKI_PASSWORD"));
        };
        let parsed = pfx.parse2(password).map_err(|e| {
            Error::from_stack(
                ErrorKind::Config,
                format!("{name}: cannot open the PFX"),
                &e,
            )
        })?;
        let mut certs: Vec<X509> = parsed.cert.into_iter().collect();
        certs.extend(parsed.ca.into_iter().flatten());
        out.line(format!(
            "{name}: PFX/PKCS#12 with {} certificate(s){}",
            certs.len(),
            if parsed.pkey.is_some() {
                " and a private key"
            } else {
                ", no private key"
            }
        ));
        describe_certs(&certs, out);
        if let Some(key) = &parsed.pkey {
            describe_key(key, &certs, out);
        }
        return Ok(());
    }
    if let Ok(cert) = X509::from_der(&data) {
        out.line(format!("{name}: DER certificate"));
        describe_certs(&[cert], out);
        return Ok(());
    }
    if let Ok(crl) = X509Crl::from_der(&data) {
        out.line(format!("{name}: DER CRL"));
        describe_crl(&crl, out);
        return Ok(());
    }
    Err(not_pki())
}

/// The PEM blocks of `data`: (label, the block's text).
fn pem_blocks(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut rest = &text[..];
    while let Some(i) = rest.find("-----BEGIN ") {
        let after = &rest[i + 11..];
        let Some(j) = after.find("-----") else { break };
        let label = after[..j].to_owned();
        let end_marker = format!("-----END {label}-----");
        let Some(k) = after.find(&end_marker) else {
            break;
        };
        let block = &rest[i..i + 11 + k + end_marker.len()];
        out.push((label, format!("{block}\n").into_bytes()));
        rest = &after[k + end_marker.len()..];
    }
    out
}

/// Describes the PEM objects of a file; false if it holds none this tool knows.
fn pem(name: &str, data: &[u8], password: Option<&str>, out: &mut Inspection) -> Result<bool> {
    let blocks = pem_blocks(data);
    let bad = |what: &str, e: openssl::error::ErrorStack| {
        Error::from_stack(ErrorKind::Config, format!("{name}: bad {what}"), &e)
    };
    let mut certs = Vec::new();
    let mut keys: Vec<(String, Option<PKey<Private>>)> = Vec::new();
    let mut crls = Vec::new();
    for (label, block) in &blocks {
        match label.as_str() {
            "CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                certs.push(X509::from_pem(block).map_err(|e| bad("certificate", e))?)
            }
            "X509 CRL" => crls.push(X509Crl::from_pem(block).map_err(|e| bad("CRL", e))?),
            "ENCRYPTED PRIVATE KEY" => match password {
                Some(p) => keys.push((
                    "encrypted private key".into(),
                    Some(
                        PKey::private_key_from_pem_passphrase(block, p.as_bytes())
                            .map_err(|e| bad("encrypted key (or a wrong password)", e))?,
                    ),
                )),
                None => keys.push(("encrypted private key".into(), None)),
            },
            l if l.ends_with("PRIVATE KEY") => keys.push((
                "private key".into(),
                Some(
                    PKey::private_key_from_pem_callback(block, |_| Ok(0))
                        .map_err(|e| bad("private key", e))?,
                ),
            )),
            _ => {}
        }
    }
    if certs.is_empty() && keys.is_empty() && crls.is_empty() {
        return Ok(false);
    }
    let mut parts = Vec::new();
    if !certs.is_empty() {
        parts.push(format!("{} certificate(s)", certs.len()));
    }
    if !keys.is_empty() {
        parts.push(format!("{} private key(s)", keys.len()));
    }
    if !crls.is_empty() {
        parts.push(format!("{} CRL(s)", crls.len()));
    }
    out.line(format!("{name}: PEM with {}", parts.join(", ")));
    describe_certs(&certs, out);
    for (what, key) in &keys {
        match key {
            Some(k) => describe_key(k, &certs, out),
            None => out.line(format!(
                "  {what}: give its password to read it and check it against a certificate"
            )),
        }
    }
    for crl in &crls {
        describe_crl(crl, out);
    }
    Ok(true)
}

fn key_text<T: HasPublic>(k: &PKeyRef<T>) -> String {
    match k.id() {
        Id::RSA => format!("RSA {} bits", k.bits()),
        Id::EC => {
            let curve = k
                .ec_key()
                .ok()
                .and_then(|ec| ec.group().curve_name())
                .map(|n| match n {
                    Nid::X9_62_PRIME256V1 => "P-256".to_owned(),
                    Nid::SECP384R1 => "P-384".to_owned(),
                    Nid::SECP521R1 => "P-521".to_owned(),
                    other => other.short_name().unwrap_or("?").to_owned(),
                })
                .unwrap_or_else(|| "?".to_owned());
            format!("ECDSA {curve}")
        }
        Id::ED25519 => "Ed25519".to_owned(),
        other => format!("key type {}", other.as_raw()),
    }
}

fn describe_key(key: &PKey<Private>, certs: &[X509], out: &mut Inspection) {
    let matching = certs.iter().position(|c| {
        c.public_key()
            .map(|p| p.public_eq(key.as_ref()))
            .unwrap_or(false)
    });
    let text = key_text(key);
    match (matching, certs.is_empty()) {
        (Some(i), _) => out.line(format!("  private key: {text}, matches certificate [{i}]")),
        (None, true) => out.line(format!("  private key: {text}")),
        (None, false) => {
            out.line(format!("  private key: {text}"));
            out.problem("  ", "the private key matches none of the certificates")
        }
    }
}

fn when(t: &openssl::asn1::Asn1TimeRef) -> (String, i64) {
    (t.to_string(), unix_time(t).unwrap_or(0))
}

fn describe_certs(certs: &[X509], out: &mut Inspection) {
    let now = unix_now();
    for (i, c) in certs.iter().enumerate() {
        let d = crate::tls::describe(c, false);
        out.line(format!("  certificate [{i}]: {}", d.subject));
        out.line(format!("    issuer:  {}", d.issuer));
        out.line(format!("    serial:  {}", d.serial));
        let (nb, nb_t) = when(c.not_before());
        let (na, na_t) = when(c.not_after());
        out.line(format!("    valid:   {nb} to {na}"));
        if now > na_t {
            out.problem(
                "    ",
                format!(
                    "[{i}] expired {} day(s) ago",
                    (now - na_t) / SECONDS_PER_DAY
                ),
            );
        } else if now < nb_t {
            out.problem("    ", format!("[{i}] not yet valid"));
        } else {
            out.line(format!(
                "    status:  valid, {} day(s) left",
                (na_t - now) / SECONDS_PER_DAY
            ));
        }
        if let Ok(k) = c.public_key() {
            out.line(format!("    key:     {}", key_text(&k)));
        }
        if !d.sans.is_empty() {
            out.line(format!("    SANs:    {}", d.sans.join(", ")));
        }
        // SAFETY: reads the cached extension flags of a valid certificate.
        let flags = unsafe { openssl_sys::X509_get_extension_flags(c.as_ptr()) };
        if flags & openssl_sys::EXFLAG_CA != 0 {
            match c.pathlen() {
                Some(n) => out.line(format!("    basic constraints: CA, path length {n}")),
                None => out.line("    basic constraints: CA"),
            }
        } else {
            out.line("    basic constraints: not a CA");
        }
        if let Some(ku) = c.key_usage() {
            out.line(format!("    key usage: {}", ku_names(ku)));
        }
        if let Some(eku) = c.extended_key_usage() {
            out.line(format!("    extended key usage: {}", eku_names(eku)));
        }
        let self_signed = c.issued(c) == X509VerifyResult::OK;
        out.line(format!(
            "    subject hash: {} (CA-folder name {}.0){}",
            subject_hash(c),
            subject_hash(c),
            if self_signed { "; self-signed" } else { "" }
        ));
    }
    if certs.len() > 1 {
        let broken: Vec<usize> = (0..certs.len() - 1)
            .filter(|&i| certs[i + 1].issued(&certs[i]) != X509VerifyResult::OK)
            .collect();
        if broken.is_empty() {
            out.line("  chain order: OK (each certificate is issued by the next)");
        } else {
            for i in broken {
                out.problem(
                    "  ",
                    format!(
                        "chain order: [{}] did not issue [{i}] (a chain file lists the leaf first, then each issuer)",
                        i + 1
                    ),
                );
            }
        }
    }
}

fn ku_names(ku: X509KeyUsage) -> String {
    let names = [
        (X509KeyUsage::DIGITAL_SIGNATURE, "digitalSignature"),
        (X509KeyUsage::NON_REPUDIATION, "nonRepudiation"),
        (X509KeyUsage::KEY_ENCIPHERMENT, "keyEncipherment"),
        (X509KeyUsage::DATA_ENCIPHERMENT, "dataEncipherment"),
        (X509KeyUsage::KEY_AGREEMENT, "keyAgreement"),
        (X509KeyUsage::KEY_CERT_SIGN, "keyCertSign"),
        (X509KeyUsage::CRL_SIGN, "cRLSign"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(f, _)| ku.contains(*f))
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn eku_names(eku: X509ExtendedKeyUsage) -> String {
    let names = [
        (X509ExtendedKeyUsage::SSL_SERVER, "serverAuth"),
        (X509ExtendedKeyUsage::SSL_CLIENT, "clientAuth"),
        (X509ExtendedKeyUsage::CODE_SIGN, "codeSigning"),
        (X509ExtendedKeyUsage::SMIME, "emailProtection"),
        (X509ExtendedKeyUsage::OCSP_SIGN, "OCSPSigning"),
        (X509ExtendedKeyUsage::TIMESTAMP, "timeStamping"),
        (X509ExtendedKeyUsage::ANYEKU, "anyExtendedKeyUsage"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(f, _)| eku.contains(*f))
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "none this tool knows".into()
    } else {
        v.join(", ")
    }
}

fn describe_crl(crl: &X509Crl, out: &mut Inspection) {
    let issuer = name_text(crl.issuer_name());
    out.line(format!("  CRL by {issuer}"));
    let (last, _) = when(crl.last_update());
    out.line(format!("    last update: {last}"));
    if let Some(next) = crl.next_update() {
        let (n, n_t) = when(next);
        out.line(format!("    next update: {n}"));
        if unix_now() > n_t {
            out.problem(
                "    ",
                "the CRL has expired: peers checking revocation refuse every certificate (X509 error 12)",
            );
        }
    }
    if let Some(n) = crate::pki::crl_number(crl) {
        out.line(format!("    CRL number: {n}"));
    }
    if let Ok(h) = crl_hash(crl) {
        out.line(format!("    issuer hash: {h} (CA-folder name {h}.r0)"));
    }
    match Revocation::read_all(crl) {
        Ok(entries) if entries.is_empty() => out.line("    revokes nothing"),
        Ok(entries) => {
            out.line(format!("    revokes {} certificate(s):", entries.len()));
            for e in entries {
                let serial = e
                    .serial
                    .to_hex_str()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                let reason = e.reason.map_or("no reason given", |r| r.name());
                out.line(format!("      serial {serial} ({reason})"));
            }
        }
        Err(_) => out.problem("    ", "the revoked entries cannot be read"),
    }
}

fn folder(dir: &Path, out: &mut Inspection) -> Result<()> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(|e| Error::from_io(format!("reading {}", dir.display()), &e))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    out.line(format!(
        "{}: folder with {} entries",
        dir.display(),
        names.len()
    ));
    let mut hashes_named = Vec::new();
    let mut hashes_needed = Vec::new();
    for name in &names {
        let path = dir.join(name);
        if !path.is_file() {
            continue;
        }
        let Ok(data) = read(&path) else {
            out.problem("  ", format!("{name}: unreadable"));
            continue;
        };
        let cert = X509::from_pem(&data).ok();
        let crl = X509Crl::from_pem(&data).ok();
        let (hash, what, ext) = match (&cert, &crl) {
            (Some(c), _) => (
                subject_hash(c),
                format!("certificate {}", crate::tls::describe(c, false).subject),
                "",
            ),
            (None, Some(c)) => (
                crl_hash(c).unwrap_or_default(),
                format!("CRL by {}", name_text(c.issuer_name())),
                "r",
            ),
            (None, None) => {
                out.line(format!("  {name}: no PEM certificate or CRL (ignored)"));
                continue;
            }
        };
        if is_hash_name(name) {
            let (stem, n) = name.split_once('.').unwrap_or((name, ""));
            let is_crl = n.starts_with('r');
            if stem.eq_ignore_ascii_case(&hash) && is_crl == (ext == "r") {
                out.line(format!("  {name}: {what}; hash name OK"));
                hashes_named.push((hash.clone(), ext));
            } else {
                out.problem(
                    "  ",
                    format!(
                        "{name}: {what}, but its hash is {hash}: name it {hash}.{ext}0 (run `wss-pki rehash`)"
                    ),
                );
            }
        } else {
            out.line(format!("  {name}: {what} (hash {hash})"));
            hashes_needed.push((hash, ext, name.clone()));
        }
    }
    for (hash, ext, name) in hashes_needed {
        if !hashes_named.iter().any(|(h, e)| *h == hash && *e == ext) {
            out.problem(
                "  ",
                format!(
                    "{name} has no {hash}.{ext}0 entry: a -CApath lookup will not find it (run `wss-pki rehash {}`)",
                    dir.display()
                ),
            );
        }
    }
    Ok(())
}
