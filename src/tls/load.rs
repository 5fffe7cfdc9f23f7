//! File and memory loaders: every loader parses eagerly, so a bad file, a wrong password or a key
//! that does not match its certificate is reported at load time with the OpenSSL detail.

use std::fs;
use std::io::Read;
use std::path::Path;

use openssl::dh::Dh;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Params, Private};
use openssl::ssl::{SslContextBuilder, SslMethod};
use openssl::x509::{X509Crl, X509};

use crate::error::{Error, ErrorKind, Result};

/// A certificate chain with its private key.
#[derive(Clone)]
pub(crate) struct Identity {
    pub cert: X509,
    pub chain: Vec<X509>,
    pub key: PKey<Private>,
}

/// Largest file a loader reads (certificates, keys, PKCS#12, CA files and folders, CRLs, DH
/// parameters): 64 MiB. Larger files are refused with `ErrorKind::Config` before being read.
pub const MAX_FILE_SIZE: u64 = 64 << 20;

/// Read a whole regular file of at most [`MAX_FILE_SIZE`] bytes, turning failures into `Config`
/// errors naming the file. Anything else (a FIFO, a device such as `/dev/zero`, a folder) is
/// refused without reading: a FIFO would block the caller and a device could be endless.
pub(crate) fn read_file(path: &Path, what: &str) -> Result<Vec<u8>> {
    let name = || format!("cannot read {what} file {}", path.display());
    let io_err = |e: &std::io::Error| {
        let mut err = Error::from_io(name(), e);
        err.kind = ErrorKind::Config;
        err
    };
    // Checked before opening: opening a FIFO for reading blocks until a writer appears.
    check_regular(&fs::metadata(path).map_err(|e| io_err(&e))?, &name)?;
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never block in open if the path was swapped for a FIFO after the check.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| io_err(&e))?;
    // The file opened is the one checked (not a FIFO or device swapped in meanwhile).
    let meta = file.metadata().map_err(|e| io_err(&e))?;
    check_regular(&meta, &name)?;
    let mut data = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut data)
        .map_err(|e| io_err(&e))?;
    if data.len() as u64 > MAX_FILE_SIZE {
        return Err(too_big(&name));
    }
    Ok(data)
}

fn check_regular(meta: &fs::Metadata, name: &impl Fn() -> String) -> Result<()> {
    let ft = meta.file_type();
    if !ft.is_file() {
        let kind = if ft.is_dir() {
            "a folder"
        } else {
            special_kind(&ft)
        };
        return Err(Error::new(
            ErrorKind::Config,
            format!("{}: it is {kind}, not a regular file", name()),
        )
        .with_hint("give the path of a regular file (FIFOs, devices and folders are refused)"));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(too_big(name));
    }
    Ok(())
}

fn too_big(name: &impl Fn() -> String) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "{}: larger than the {} MiB limit for TLS files",
            name(),
            MAX_FILE_SIZE >> 20
        ),
    )
}

#[cfg(unix)]
fn special_kind(ft: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &fs::FileType) -> &'static str {
    "a special file"
}

fn config_err(what: impl std::fmt::Display, stack: &openssl::error::ErrorStack) -> Error {
    Error::from_stack(ErrorKind::Config, what, stack)
}

/// Parse all PEM certificates in `data` (at least one).
pub(crate) fn certs_from_pem(data: &[u8], origin: &str) -> Result<Vec<X509>> {
    let certs = X509::stack_from_pem(data)
        .map_err(|e| config_err(format!("{origin}: not a PEM certificate"), &e))?;
    if certs.is_empty() {
        let mut e = Error::new(ErrorKind::Config, format!("{origin}: no certificate found"));
        e.hint = Some("expected one or more '-----BEGIN CERTIFICATE-----' blocks".into());
        return Err(e);
    }
    Ok(certs)
}

/// Parse a PEM private key, encrypted when `password` is given.
pub(crate) fn key_from_pem(
    data: &[u8],
    password: Option<&str>,
    origin: &str,
) -> Result<PKey<Private>> {
    let parsed = match password {
        Some(p) => PKey::private_key_from_pem_passphrase(data, p.as_bytes()),
        // Never the null callback: OpenSSL's default then prompts "Enter PEM pass phrase:" on the
        // controlling terminal and blocks the host process. An encrypted key without a password
        // must fail (with OpenSSL's detail) instead.
        None => PKey::private_key_from_pem_callback(data, |_buf| Ok(0)),
    };
    parsed.map_err(|e| {
        let mut err = config_err(format!("{origin}: cannot load private key"), &e);
        let encrypted = data.windows(9).any(|w| w == b"ENCRYPTED");
        if encrypted && password.is_none() {
            err.hint = Some("the key is encrypted: pass its password".into());
        } else if encrypted {
            err.hint = Some("the password is wrong for this encrypted key".into());
        }
        err
    })
}

/// Check that `key` belongs to `cert`, with OpenSSL's own check (and its error codes).
pub(crate) fn check_pair(identity: &Identity, origin: &str) -> Result<()> {
    let mut b = SslContextBuilder::new(SslMethod::tls())
        .map_err(|e| config_err("cannot create TLS context", &e))?;
    b.set_certificate(&identity.cert)
        .map_err(|e| config_err(format!("{origin}: certificate rejected"), &e))?;
    // set_private_key itself runs X509_check_private_key and fails with "key values mismatch".
    b.set_private_key(&identity.key)
        .and_then(|_| b.check_private_key())
        .map_err(|e| {
            config_err(
                format!("{origin}: private key does not match the certificate"),
                &e,
            )
        })
}

/// Load a PEM certificate chain (leaf first) and its key. `origin` names the certificate (and the
/// pair), `key_origin` the key.
pub(crate) fn pem_identity(
    cert_pem: &[u8],
    key_pem: &[u8],
    password: Option<&str>,
    origin: &str,
    key_origin: &str,
) -> Result<Identity> {
    let mut certs = certs_from_pem(cert_pem, origin)?;
    let key = key_from_pem(key_pem, password, key_origin)?;
    let cert = certs.remove(0);
    let identity = Identity {
        cert,
        chain: certs,
        key,
    };
    check_pair(&identity, origin)?;
    Ok(identity)
}

/// Load a PKCS#12 (PFX) blob with its password.
pub(crate) fn pfx_identity(der: &[u8], password: &str, origin: &str) -> Result<Identity> {
    let pfx = Pkcs12::from_der(der).map_err(|e| {
        config_err(format!("{origin}: not a PKCS#12/PFX file"), &e)
            .with_hint("expected a DER-encoded .pfx/.p12 file (not PEM)")
    })?;
    let parsed = pfx.parse2(password).map_err(|e| {
        let mut err = config_err(format!("{origin}: cannot open PKCS#12/PFX"), &e);
        if err.openssl.iter().any(|x| x.reason.contains("mac verify failure") || x.reason.contains("decrypt")) {
            err.hint = Some("the PFX password is wrong".into());
        } else if err.openssl.iter().any(|x| x.reason.contains("unsupported")) {
            err.hint = Some("the PFX uses a legacy algorithm (RC2/3DES): re-export it with AES, or load OpenSSL's legacy provider".into());
        }
        err
    })?;
    let (Some(cert), Some(key)) = (parsed.cert, parsed.pkey) else {
        return Err(Error::new(
            ErrorKind::Config,
            format!("{origin}: the PKCS#12/PFX holds no certificate with a private key"),
        ));
    };
    let chain = parsed
        .ca
        .map(|s| s.into_iter().collect())
        .unwrap_or_default();
    let identity = Identity { cert, chain, key };
    check_pair(&identity, origin)?;
    Ok(identity)
}

/// Parse a CRL in PEM or DER.
pub(crate) fn crls(data: &[u8], origin: &str) -> Result<Vec<X509Crl>> {
    if data.starts_with(b"-----") || data.windows(10).any(|w| w == b"-----BEGIN") {
        let mut out = Vec::new();
        let text = String::from_utf8_lossy(data);
        let marker = "-----BEGIN X509 CRL-----";
        for (i, _) in text.match_indices(marker) {
            let end = text[i..]
                .find("-----END X509 CRL-----")
                .map(|e| i + e + 22)
                .unwrap_or(text.len());
            out.push(
                X509Crl::from_pem(text[i..end].as_bytes())
                    .map_err(|e| config_err(format!("{origin}: bad CRL"), &e))?,
            );
        }
        if out.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                format!("{origin}: no '-----BEGIN X509 CRL-----' block found"),
            ));
        }
        Ok(out)
    } else {
        Ok(vec![X509Crl::from_der(data).map_err(|e| {
            config_err(format!("{origin}: not a CRL"), &e)
        })?])
    }
}

/// Parse DH parameters (PEM).
pub(crate) fn dhparams(data: &[u8], origin: &str) -> Result<Dh<Params>> {
    Dh::params_from_pem(data)
        .map_err(|e| config_err(format!("{origin}: not PEM DH parameters"), &e))
}

/// Whether `name` looks like an OpenSSL hashed CA-folder entry (`1a2b3c4d.0`, `.r0` for CRLs).
fn hashed_name(name: &str) -> Option<bool> {
    let (hash, suffix) = name.split_once('.')?;
    if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if suffix.bytes().all(|b| b.is_ascii_digit()) && !suffix.is_empty() {
        Some(false)
    } else if let Some(n) = suffix.strip_prefix('r') {
        (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(true)
    } else {
        None
    }
}

/// Load a CA folder: OpenSSL hashed layout (`<hash>.N` certificates, `<hash>.rN` CRLs) and plain
/// `.pem`/`.crt`/`.cer` files. Other files (and anything not a regular file, e.g. a FIFO) are
/// ignored; each file read is capped at [`MAX_FILE_SIZE`]. Returns certificates and CRLs.
pub(crate) fn ca_dir(dir: &Path) -> Result<(Vec<X509>, Vec<X509Crl>)> {
    let entries = fs::read_dir(dir).map_err(|e| {
        let mut err = Error::from_io(format!("cannot read CA folder {}", dir.display()), &e);
        err.kind = ErrorKind::Config;
        err
    })?;
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let (mut certs, mut crl_list) = (Vec::new(), Vec::new());
    for path in names {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        let lower = name.to_ascii_lowercase();
        let origin = path.display().to_string();
        match hashed_name(&name) {
            Some(true) => crl_list.extend(crls(&read_file(&path, "CRL")?, &origin)?),
            Some(false) => certs.extend(certs_from_pem(&read_file(&path, "CA")?, &origin)?),
            None if lower.ends_with(".pem")
                || lower.ends_with(".crt")
                || lower.ends_with(".cer") =>
            {
                let data = read_file(&path, "CA")?;
                if data.windows(19).any(|w| w == b"BEGIN CERTIFICATE--")
                    || !data.starts_with(b"-----")
                {
                    match certs_from_pem(&data, &origin) {
                        Ok(c) => certs.extend(c),
                        // A DER certificate with a .cer/.crt name.
                        Err(e) => certs.push(X509::from_der(&data).map_err(|_| e)?),
                    }
                } else if data.windows(14).any(|w| w == b"BEGIN X509 CRL") {
                    crl_list.extend(crls(&data, &origin)?);
                }
            }
            None => {}
        }
    }
    if certs.is_empty() {
        let mut e = Error::new(
            ErrorKind::Config,
            format!("CA folder {} holds no certificate", dir.display()),
        );
        e.hint = Some("name CA files <subject-hash>.0 (run `openssl rehash DIR`) or give them a .pem/.crt extension".into());
        return Err(e);
    }
    Ok((certs, crl_list))
}

#[cfg(test)]
mod tests {
    use super::hashed_name;

    #[test]
    fn hashed_names() {
        assert_eq!(hashed_name("1a2b3c4d.0"), Some(false));
        assert_eq!(hashed_name("1a2b3c4d.12"), Some(false));
        assert_eq!(hashed_name("1a2b3c4d.r0"), Some(true));
        assert_eq!(hashed_name("1a2b3c4d.pem"), None);
        assert_eq!(hashed_name("ca.pem"), None);
        assert_eq!(hashed_name("1a2b3c4.0"), None);
        assert_eq!(hashed_name("1a2b3c4d."), None);
    }
}
