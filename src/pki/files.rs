//! Writing PKI files: never over an existing file; private material owner-only (0600 on Unix).

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use openssl::x509::X509;

use crate::error::{Error, ErrorKind, Result};
use crate::pki::Issued;

/// Writes `data` to a new file at `path` readable by its owner only (mode 0600 on Unix; other
/// platforms use their defaults). Fails with `Io` (errno `EEXIST`) if the file exists.
pub fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    write_new(path, data, true)
}

/// Writes `data` to a new file at `path` with the default permissions (certificates, CRLs).
/// Fails with `Io` (errno `EEXIST`) if the file exists.
pub fn write_public(path: &Path, data: &[u8]) -> Result<()> {
    write_new(path, data, false)
}

fn write_new(path: &Path, data: &[u8], private: bool) -> Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    opts.open(path)
        .and_then(|mut f| f.write_all(data).and_then(|()| f.sync_all()))
        .map_err(|e| Error::from_io(format!("writing {}", path.display()), &e))
}

/// Reads a regular file of at most `cap` bytes (not a FIFO or device, which could block or
/// never end).
pub(crate) fn read_regular(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    if meta.len() > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("larger than {cap} bytes"),
        ));
    }
    fs::read(path)
}

/// OpenSSL failures while encoding, as the crate's error with the queue kept.
pub(crate) fn encoding(what: &str) -> impl Fn(openssl::error::ErrorStack) -> Error + '_ {
    move |e| Error::from_stack(ErrorKind::Tls, format!("encoding {what}"), &e)
}

impl Issued {
    /// Writes the certificate followed by `chain` (PEM) to `cert` and the unencrypted PKCS#8
    /// key to `key` (owner-only); neither file may exist.
    pub fn write_pem(&self, cert: &Path, key: &Path, chain: &[&X509]) -> Result<()> {
        let cert_pem = self
            .cert_chain_pem(chain)
            .map_err(encoding("certificate"))?;
        let key_pem = self.key_pem().map_err(encoding("private key"))?;
        write_public(cert, &cert_pem)?;
        write_private(key, &key_pem)
    }

    /// Writes [`Issued::to_pfx`] to `path` (owner-only; it must not exist).
    pub fn write_pfx(&self, path: &Path, password: &str, chain: &[&X509]) -> Result<()> {
        write_private(path, &self.to_pfx(password, chain)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::testing::Scratch;

    #[test]
    fn files_are_never_overwritten_and_keys_are_private() {
        let dir = Scratch::new("files");
        let key = dir.path().join("a.key");
        let cert = dir.path().join("a.pem");
        write_private(&key, b"secret").unwrap();
        write_public(&cert, b"public").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&key), 0o600);
            assert_eq!(
                mode(&cert) & 0o077 & !0o044,
                0,
                "public files are not writable by others"
            );
        }
        let again = write_private(&key, b"other").unwrap_err();
        assert_eq!(again.kind, ErrorKind::Io);
        #[cfg(unix)]
        assert_eq!(again.errno, Some(libc::EEXIST), "{again}");
        assert!(again.message.contains("a.key"), "{}", again.message);
        assert_eq!(fs::read(&key).unwrap(), b"secret");
        assert_eq!(write_public(&cert, b"x").unwrap_err().kind, ErrorKind::Io);

        assert!(
            read_regular(dir.path(), 1 << 20).is_err(),
            "a folder is refused"
        );
        assert!(read_regular(&key, 3).is_err(), "over the cap");
        assert_eq!(read_regular(&key, 6).unwrap(), b"secret");
    }
}
