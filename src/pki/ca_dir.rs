//! CA folders in OpenSSL's hashed layout (`-CApath`): subject-hash names (`1a2b3c4d.0` for a
//! certificate, `1a2b3c4d.r0` for a CRL), writing such a folder, and rehashing a folder of
//! `.pem`/`.crt`/`.cer`/`.crl` files like `openssl rehash`.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::x509::{X509Builder, X509Crl, X509CrlRef, X509NameRef, X509Ref, X509};

use crate::error::{Error, Result};
use crate::pki::files::{encoding, read_regular, write_public};

/// Largest file [`rehash`] reads (CA certificates and CRLs are far smaller).
const MAX_FILE: u64 = 16 << 20;

impl crate::pki::Issued {
    /// The OpenSSL subject-name hash of the certificate (see [`subject_hash`]): its file name
    /// stem in a hashed CA folder (`<hash>.0`, CRLs `<hash>.r0`).
    pub fn subject_hash(&self) -> String {
        subject_hash(&self.cert)
    }
}

/// The OpenSSL subject-name hash of `cert` as 8 lowercase hex digits: the stem of its file name
/// in a hashed CA folder; equals `openssl x509 -subject_hash -noout`.
pub fn subject_hash(cert: &X509Ref) -> String {
    format!("{:08x}", cert.subject_name_hash())
}

/// The hash of a CRL's issuer name (the stem of its `<hash>.rN` name); equals
/// `openssl crl -hash -noout`, and the [`subject_hash`] of the CA that signed it.
pub fn crl_hash(crl: &X509CrlRef) -> Result<String, ErrorStack> {
    name_hash(crl.issuer_name())
}

/// `X509_NAME_hash` without binding it (it is a macro in OpenSSL 3): the subject-name hash of
/// an unsigned certificate carrying `name`.
fn name_hash(name: &X509NameRef) -> Result<String, ErrorStack> {
    let mut b = X509Builder::new()?;
    b.set_subject_name(name)?;
    Ok(subject_hash(&b.build()))
}

/// Whether `name` has the form of a hashed-folder entry: 8 hex digits, `.`, an optional `r`,
/// and a decimal number.
pub fn is_hash_name(name: &str) -> bool {
    let Some((stem, n)) = name.split_once('.') else {
        return false;
    };
    let n = n.strip_prefix('r').unwrap_or(n);
    stem.len() == 8
        && stem.bytes().all(|b| b.is_ascii_hexdigit())
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
}

/// The first free `<hash>.<n>` (or `<hash>.r<n>` for a CRL) name in `dir`.
fn free_name(dir: &Path, hash: &str, crl: bool, taken: &HashSet<String>) -> String {
    let r = if crl { "r" } else { "" };
    (0u32..)
        .map(|n| format!("{hash}.{r}{n}"))
        .find(|name| !taken.contains(name) && fs::symlink_metadata(dir.join(name)).is_err())
        .expect("a free suffix exists")
}

/// Writes `certs` as `<hash>.N` and `crls` as `<hash>.rN` PEM files into `dir` (created if
/// missing), taking the next free `N` per hash so that colliding subjects and files already
/// there are kept. Returns the written paths, certificates first.
pub fn write_hashed_ca_dir(
    dir: &Path,
    certs: &[&X509Ref],
    crls: &[&X509CrlRef],
) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)
        .map_err(|e| Error::from_io(format!("creating {}", dir.display()), &e))?;
    let mut written = Vec::new();
    let none = HashSet::new();
    for cert in certs {
        let path = dir.join(free_name(dir, &subject_hash(cert), false, &none));
        write_public(&path, &cert.to_pem().map_err(encoding("CA certificate"))?)?;
        written.push(path);
    }
    for crl in crls {
        let hash = crl_hash(crl).map_err(encoding("CRL issuer hash"))?;
        let path = dir.join(free_name(dir, &hash, true, &none));
        write_public(&path, &crl.to_pem().map_err(encoding("CRL"))?)?;
        written.push(path);
    }
    Ok(written)
}

/// One hash-named entry [`rehash`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashLink {
    /// The entry's name (`1a2b3c4d.0`, `1a2b3c4d.r0`).
    pub name: String,
    /// The file it points to (a name in the same folder).
    pub target: String,
}

/// What [`rehash`] did to a folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rehash {
    /// The hash-named entries now in the folder, in name order.
    pub links: Vec<HashLink>,
    /// Files that were not linked, with why (no or several PEM objects, a duplicate, unreadable).
    pub skipped: Vec<(String, String)>,
}

/// Gives every CA certificate and CRL in `dir` its subject-hash name, like `openssl rehash`:
/// each `.pem`, `.crt`, `.cer` or `.crl` file holding exactly one PEM certificate or CRL gets a
/// `<hash>.N` (CRL: `<hash>.rN`) entry pointing at it. Hash-named symbolic links from an earlier
/// run are replaced; hash-named regular files are left as they are. Entries are symbolic links
/// on Unix and copies elsewhere (so there a second run adds entries instead of replacing them).
/// Duplicates (same SHA-256 fingerprint) are linked once; files are read in name order.
pub fn rehash(dir: &Path) -> Result<Rehash> {
    let io_err = |what: String| move |e: std::io::Error| Error::from_io(what, &e);
    let mut files = BTreeMap::new();
    let mut old_links = Vec::new();
    let mut taken = HashSet::new();
    for entry in fs::read_dir(dir).map_err(io_err(format!("reading {}", dir.display())))? {
        let entry = entry.map_err(io_err(format!("reading {}", dir.display())))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let path = entry.path();
        let is_link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
        if is_hash_name(&name) {
            if is_link {
                old_links.push(path);
            } else {
                taken.insert(name);
            }
            continue;
        }
        let ext = Path::new(&name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("pem" | "crt" | "cer" | "crl")) {
            files.insert(name, path);
        }
    }
    for link in &old_links {
        fs::remove_file(link).map_err(io_err(format!("removing {}", link.display())))?;
    }

    let mut out = Rehash::default();
    let mut seen = HashSet::new();
    for (name, path) in files {
        let (hash, crl, fingerprint) = match classify(&path) {
            Ok(found) => found,
            Err(why) => {
                out.skipped.push((name, why));
                continue;
            }
        };
        if !seen.insert(fingerprint) {
            out.skipped
                .push((name, "duplicate of an earlier file".to_owned()));
            continue;
        }
        let link = free_name(dir, &hash, crl, &taken);
        taken.insert(link.clone());
        make_link(dir, &name, &link)?;
        out.links.push(HashLink {
            name: link,
            target: name,
        });
    }
    out.links.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Reads one file: its hash, whether it is a CRL, and its SHA-256 fingerprint; or why not.
fn classify(path: &Path) -> Result<(String, bool, Vec<u8>), String> {
    let data = read_regular(path, MAX_FILE).map_err(|e| format!("unreadable: {e}"))?;
    let text = String::from_utf8_lossy(&data);
    let certs = text.matches("-----BEGIN CERTIFICATE-----").count()
        + text.matches("-----BEGIN TRUSTED CERTIFICATE-----").count();
    let crls = text.matches("-----BEGIN X509 CRL-----").count();
    let digest = MessageDigest::sha256();
    match (certs, crls) {
        (1, 0) => {
            let cert = X509::from_pem(&data).map_err(|e| format!("bad certificate: {e}"))?;
            let fp = cert.digest(digest).map_err(|e| e.to_string())?;
            Ok((subject_hash(&cert), false, fp.to_vec()))
        }
        (0, 1) => {
            let crl = X509Crl::from_pem(&data).map_err(|e| format!("bad CRL: {e}"))?;
            let der = crl.to_der().map_err(|e| e.to_string())?;
            let fp = openssl::hash::hash(digest, &der).map_err(|e| e.to_string())?;
            Ok((
                crl_hash(&crl).map_err(|e| e.to_string())?,
                true,
                fp.to_vec(),
            ))
        }
        (0, 0) => Err("no PEM certificate or CRL".to_owned()),
        _ => Err("more than one certificate or CRL".to_owned()),
    }
}

#[cfg(unix)]
fn make_link(dir: &Path, target: &str, link: &str) -> Result<()> {
    std::os::unix::fs::symlink(target, dir.join(link))
        .map_err(|e| Error::from_io(format!("linking {link} to {target}"), &e))
}

#[cfg(not(unix))]
fn make_link(dir: &Path, target: &str, link: &str) -> Result<()> {
    fs::copy(dir.join(target), dir.join(link))
        .map(|_| ())
        .map_err(|e| Error::from_io(format!("copying {target} to {link}"), &e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::testing::{cli_ok, hashed_dir_store, openssl_cli, s, verify_in, Scratch};
    use crate::pki::{CertSpec, Issued};

    #[test]
    fn hash_names_match_the_openssl_cli() {
        let ca = Issued::self_signed(&CertSpec::ca("hash CA")).unwrap();
        let crl = ca.build_crl(&[], 30).unwrap();
        let hash = subject_hash(&ca.cert);
        assert_eq!(hash.len(), 8);
        assert!(hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(crl_hash(&crl).unwrap(), hash);

        let dir = Scratch::new("hash");
        let ca_pem = dir.write("ca.pem", &ca.cert_pem().unwrap());
        let crl_pem = dir.write("ca.crl.pem", &crl.to_pem().unwrap());
        if let Some(out) = cli_ok(&["x509", "-subject_hash", "-noout", "-in", s(&ca_pem)]) {
            assert_eq!(out.trim(), hash);
        }
        if let Some(out) = cli_ok(&["crl", "-hash", "-noout", "-in", s(&crl_pem)]) {
            assert_eq!(out.trim(), hash);
        }
        assert!(is_hash_name("0a1b2c3d.0") && is_hash_name("0a1b2c3d.r12"));
        for no in [
            "0a1b2c3d",
            "0a1b2c3.0",
            "0a1b2c3d.",
            "0a1b2c3d.r",
            "ca.pem",
            "0a1b2c3g.0",
        ] {
            assert!(!is_hash_name(no), "{no}");
        }
    }

    #[test]
    fn hashed_folder_verifies_and_checks_the_crl() {
        let ca = Issued::self_signed(&CertSpec::ca("folder CA")).unwrap();
        let good = ca.issue(&CertSpec::client("good")).unwrap();
        let bad = ca.issue(&CertSpec::client("bad")).unwrap();
        let crl = ca.build_crl(&[bad.cert.serial_number()], 30).unwrap();
        let dir = Scratch::new("hashed");
        let folder = dir.path().join("ca-hashed");
        let written = write_hashed_ca_dir(&folder, &[&ca.cert], &[&crl]).unwrap();
        let hash = subject_hash(&ca.cert);
        assert_eq!(
            written,
            [
                folder.join(format!("{hash}.0")),
                folder.join(format!("{hash}.r0"))
            ]
        );

        let store = hashed_dir_store(&folder, true);
        assert_eq!(verify_in(&store, &good.cert, &[]), openssl_sys::X509_V_OK);
        assert_eq!(
            verify_in(&store, &bad.cert, &[]),
            openssl_sys::X509_V_ERR_CERT_REVOKED
        );

        // A second CA with the same subject gets the next suffix; nothing is overwritten.
        let twin = Issued::self_signed(&CertSpec::ca("folder CA")).unwrap();
        let again = write_hashed_ca_dir(&folder, &[&twin.cert], &[]).unwrap();
        assert_eq!(again, [folder.join(format!("{hash}.1"))]);
        let twin_leaf = twin.issue(&CertSpec::client("twin")).unwrap();
        let store = hashed_dir_store(&folder, false);
        assert_eq!(
            verify_in(&store, &twin_leaf.cert, &[]),
            openssl_sys::X509_V_OK
        );
    }

    #[test]
    fn rehash_links_like_openssl_rehash() {
        let a = Issued::self_signed(&CertSpec::ca("rehash A")).unwrap();
        let b = Issued::self_signed(&CertSpec::ca("rehash B")).unwrap();
        let crl = a.build_crl(&[], 30).unwrap();
        let dir = Scratch::new("rehash");
        let files = |d: &Path| {
            fs::write(d.join("a.pem"), a.cert_pem().unwrap()).unwrap();
            fs::write(d.join("b.CRT"), b.cert_pem().unwrap()).unwrap();
            fs::write(d.join("a-copy.cer"), a.cert_pem().unwrap()).unwrap();
            fs::write(d.join("a.crl"), crl.to_pem().unwrap()).unwrap();
            fs::write(d.join("notes.txt"), "not a certificate").unwrap();
            fs::write(d.join("junk.pem"), "no PEM here").unwrap();
            fs::write(
                d.join("both.pem"),
                [a.cert_pem().unwrap(), b.cert_pem().unwrap()].concat(),
            )
            .unwrap();
        };
        let ours = dir.path().join("ours");
        fs::create_dir(&ours).unwrap();
        files(&ours);
        let first = rehash(&ours).unwrap();
        let (ha, hb) = (subject_hash(&a.cert), subject_hash(&b.cert));
        let mut expected = vec![
            HashLink {
                name: format!("{ha}.0"),
                target: "a-copy.cer".into(),
            },
            HashLink {
                name: format!("{ha}.r0"),
                target: "a.crl".into(),
            },
            HashLink {
                name: format!("{hb}.0"),
                target: "b.CRT".into(),
            },
        ];
        expected.sort_by(|x, y| x.name.cmp(&y.name));
        assert_eq!(first.links, expected);
        let skipped: Vec<&str> = first.skipped.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            skipped,
            ["a.pem", "both.pem", "junk.pem"],
            "{:?}",
            first.skipped
        );
        // Idempotent: a second run replaces its own links with the same ones.
        assert_eq!(rehash(&ours).unwrap(), first);
        let store = hashed_dir_store(&ours, true);
        let leaf = a.issue(&CertSpec::client("leaf")).unwrap();
        assert_eq!(verify_in(&store, &leaf.cert, &[]), openssl_sys::X509_V_OK);

        // The same names as `openssl rehash` gives the same folder (where the CLI exists).
        let theirs = dir.path().join("theirs");
        fs::create_dir(&theirs).unwrap();
        files(&theirs);
        let Some(out) = openssl_cli(&["rehash", s(&theirs)]) else {
            return;
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut names: Vec<String> = fs::read_dir(&theirs)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| is_hash_name(n))
            .collect();
        names.sort();
        let ours: Vec<String> = first.links.iter().map(|l| l.name.clone()).collect();
        assert_eq!(names, ours);
    }
}
