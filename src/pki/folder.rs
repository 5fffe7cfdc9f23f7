//! An existing PKI folder (the layout [`init`](crate::pki::init) makes): issuing more clients,
//! revoking and renewing certificates. What `wss-pki add-client`, `revoke` and `renew` do.
//!
//! The folder is its own state; there is no separate database that could drift from the files:
//! the CA certificate and key are `ca.pem` and `ca.key`, the revoked serial numbers (with dates
//! and reasons) are the entries of `ca.crl.pem`, serial numbers are random 64-bit values (so no
//! counter is needed), and new keys take the CA key's algorithm. A certificate is named by its
//! file: `server` is `server.pem`, any other name is `clients/<name>.pem`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::x509::{X509Crl, X509VerifyResult, X509};

use crate::error::{Error, ErrorKind, Result};
use crate::pki::crl::crl_number;
use crate::pki::files::{encoding, read_regular, write_public};
use crate::pki::init::{check_client_name, write_set};
use crate::pki::{
    subject_hash, CertSpec, InitOptions, Issued, IssuedFiles, KeyKind, Revocation,
    RevocationReason, San,
};

/// Largest PKI file read (certificates, keys, CRLs and PFX files are far smaller).
const MAX_FILE: u64 = 16 << 20;

/// The name that means the server certificate (`server.pem`) rather than a client.
pub const SERVER_NAME: &str = "server";

/// A PKI folder made by [`init`](crate::pki::init), opened with its CA to issue, revoke and
/// renew certificates.
#[derive(Debug, Clone)]
pub struct PkiFolder {
    /// The folder.
    pub dir: PathBuf,
    /// The root CA certificate and key (`ca.pem`, `ca.key`).
    pub ca: Issued,
}

/// What [`PkiFolder::revoke`] did.
#[derive(Debug)]
pub struct Revoked {
    /// The revoked certificate.
    pub cert: X509,
    /// The entry added to the CRL.
    pub entry: Revocation,
    /// How many certificates the new CRL lists.
    pub listed: usize,
    /// The files rewritten: `ca.crl.pem` and `ca-hashed/<hash>.r0`.
    pub written: Vec<PathBuf>,
}

impl PkiFolder {
    /// Opens `dir`: reads `ca.pem` and `ca.key` and checks that they are a pair. Fails with
    /// `Io` (and the path) if a file is missing or unreadable, `Config` if it is not what it
    /// should be.
    pub fn open(dir: impl AsRef<Path>) -> Result<PkiFolder> {
        let dir = dir.as_ref().to_path_buf();
        if !dir.join("ca.pem").is_file() {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} is not a PKI folder: it has no ca.pem (make one with `wss-pki init`)",
                    dir.display()
                ),
            ));
        }
        let cert_pem = read(&dir.join("ca.pem"))?;
        let key_pem = read(&dir.join("ca.key"))?;
        let ca = Issued::from_pem(&cert_pem, &key_pem).map_err(|e| {
            Error::from_stack(
                ErrorKind::Config,
                format!("reading the CA in {}", dir.display()),
                &e,
            )
        })?;
        if !ca.key_matches_cert().unwrap_or(false) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("{}: ca.key does not belong to ca.pem", dir.display()),
            ));
        }
        Ok(PkiFolder { dir, ca })
    }

    /// The key algorithm new certificates get: the CA key's (P-256, RSA-3072 or RSA-2048).
    pub fn key_kind(&self) -> KeyKind {
        key_kind_of(&self.ca.key.id(), self.ca.key.bits())
    }

    /// Where certificate `name` lives: `(folder, pem, key, p12)`; `server` is the server.
    pub fn paths(&self, name: &str) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
        let folder = if name == SERVER_NAME {
            self.dir.clone()
        } else {
            self.dir.join("clients")
        };
        let file = |ext: &str| folder.join(format!("{name}.{ext}"));
        let (pem, key, p12) = (file("pem"), file("key"), file("p12"));
        (folder, pem, key, p12)
    }

    /// Checks that `password` opens `server.p12` (every PFX of a folder shares the password
    /// given to `init`); passes when there is no `server.p12`. A wrong password gives `Config`
    /// with OpenSSL's reason and a hint.
    pub fn check_password(&self, password: &str) -> Result<()> {
        let pfx = self.dir.join("server.p12");
        if !pfx.is_file() {
            return Ok(());
        }
        Issued::from_pfx(&read(&pfx)?, password)
            .map(|_| ())
            .map_err(|e| {
                e.context(format!(
                    "the password does not open {} (every PFX of a PKI folder uses the password given to init)",
                    pfx.display()
                ))
            })
    }

    /// Issues client certificate `name` valid from `not_before_days` to `not_after_days`
    /// (relative to now; `(-2, -1)` is a certificate that expired yesterday, for tests) and
    /// writes `clients/<name>.pem`, `.key` and `.p12` (with `password`). Refuses an existing
    /// name, and the name `server`. Written beside and renamed into place: a failure leaves
    /// nothing behind.
    pub fn add_client(
        &self,
        name: &str,
        password: &str,
        not_before_days: i64,
        not_after_days: i64,
    ) -> Result<IssuedFiles> {
        self.check_new_client(name)?;
        check_password_text(password)?;
        if not_after_days <= not_before_days {
            return Err(Error::invalid("the validity must end after it starts"));
        }
        let (folder, ..) = self.paths(name);
        let spec = CertSpec::client(name)
            .with_key(self.key_kind())
            .with_validity(not_before_days, not_after_days);
        self.install(&folder, name, &spec, password)
    }

    /// Checks that `name` can be a new client: a valid name, not `server`, no files yet.
    pub fn check_new_client(&self, name: &str) -> Result<()> {
        check_client_name(name)?;
        if name == SERVER_NAME {
            return Err(Error::invalid(
                "a client cannot be named \"server\": that name means the server certificate",
            ));
        }
        let (_, pem, key, p12) = self.paths(name);
        for p in [&pem, &key, &p12] {
            if fs::symlink_metadata(p).is_ok() {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "{} exists: client {name:?} was issued already (renew or revoke it instead)",
                        p.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Re-issues certificate `name` (`server` or a client) with the same subject and SANs, a
    /// new key and serial, valid from yesterday for `days`, and replaces its three files (PFX
    /// with `password`). The old certificate is not revoked: it stays valid until it expires
    /// (revoke it first if its key leaked).
    pub fn renew(&self, name: &str, password: &str, days: i64) -> Result<IssuedFiles> {
        check_password_text(password)?;
        if days < 1 {
            return Err(Error::invalid("lifetimes must be at least one day"));
        }
        let old = self.cert(name)?;
        let cn = old
            .subject_name()
            .entries_by_nid(Nid::COMMONNAME)
            .next()
            .and_then(|e| e.data().to_string().ok())
            .map(|s| s.to_string())
            .unwrap_or_else(|| name.to_owned());
        let mut spec = if name == SERVER_NAME {
            CertSpec::server(&cn, &[], &[])
        } else {
            CertSpec::client(&cn)
        };
        for san in old.subject_alt_names().into_iter().flatten() {
            if let Some(d) = san.dnsname() {
                spec = spec.with_san(&San::Dns(d.to_owned()));
            } else if let Some(ip) = san.ipaddress().and_then(ip_from_bytes) {
                spec = spec.with_san(&San::Ip(ip));
            }
        }
        let key = old
            .public_key()
            .map_err(encoding("the old certificate's key"))?;
        let spec = spec
            .with_key(key_kind_of(&key.id(), key.bits()))
            .with_validity(-1, days);
        let (folder, ..) = self.paths(name);
        self.install(&folder, name, &spec, password)
    }

    /// Adds certificate `name` to the CRL with `reason` (and the current time) and rewrites
    /// `ca.crl.pem` and the hashed CA folder's `<hash>.r0`, keeping earlier entries. Refuses a
    /// certificate already revoked, or one this CA did not issue.
    pub fn revoke(&self, name: &str, reason: Option<RevocationReason>) -> Result<Revoked> {
        let cert = self.cert(name)?;
        let crl_path = self.dir.join("ca.crl.pem");
        let old = X509Crl::from_pem(&read(&crl_path)?).map_err(|e| {
            Error::from_stack(
                ErrorKind::Config,
                format!("{}: not a PEM CRL", crl_path.display()),
                &e,
            )
        })?;
        let mut entries = Revocation::read_all(&old).map_err(encoding("the CRL entries"))?;
        let serial = cert
            .serial_number()
            .to_bn()
            .map_err(encoding("serial number"))?;
        if entries.iter().any(|e| e.serial == serial) {
            return Err(Error::invalid(format!(
                "{name} (serial {}) is revoked already",
                hex_serial(&cert)
            )));
        }
        entries.push(Revocation::now(cert.serial_number(), reason).map_err(encoding("CRL entry"))?);
        let now = crate::pki::issue::unix_now().max(1) as u64;
        let number = crl_number(&old).map_or(now, |n| now.max(n.saturating_add(1)));
        let crl = self
            .ca
            .build_crl_entries(&entries, InitOptions::CRL_DAYS, Some(number))
            .map_err(encoding("CRL"))?;
        let pem = crl.to_pem().map_err(encoding("CRL"))?;
        let hashed = self
            .dir
            .join("ca-hashed")
            .join(format!("{}.r0", subject_hash(&self.ca.cert)));
        let staging = Staging::new(&self.dir, "crl")?;
        let (a, b) = (staging.path.join("ca.crl.pem"), staging.path.join("r0"));
        write_public(&a, &pem)?;
        write_public(&b, &pem)?;
        fs::create_dir_all(self.dir.join("ca-hashed"))
            .map_err(|e| Error::from_io("creating the hashed CA folder", &e))?;
        staging.replace(&[(a, crl_path.clone()), (b, hashed.clone())])?;
        let listed = entries.len();
        let entry = entries.pop().expect("the new entry");
        Ok(Revoked {
            cert,
            entry,
            listed,
            written: vec![crl_path, hashed],
        })
    }

    /// Reads certificate `name` and checks this CA issued it; an unknown name lists the known.
    pub fn cert(&self, name: &str) -> Result<X509> {
        if name != SERVER_NAME {
            check_client_name(name)?;
        }
        let (_, pem, ..) = self.paths(name);
        if !pem.is_file() {
            return Err(Error::invalid(format!(
                "no certificate named {name:?} in {} (known: {})",
                self.dir.display(),
                self.names().join(", ")
            )));
        }
        let cert = X509::from_pem(&read(&pem)?).map_err(|e| {
            Error::from_stack(
                ErrorKind::Config,
                format!("{}: not a PEM certificate", pem.display()),
                &e,
            )
        })?;
        if self.ca.cert.issued(&cert) != X509VerifyResult::OK
            || !cert.verify(&self.ca.key).unwrap_or(false)
        {
            return Err(Error::new(
                ErrorKind::Config,
                format!("{} was not issued by this folder's CA", pem.display()),
            ));
        }
        Ok(cert)
    }

    /// The certificate names in the folder: `server` (if present), then the clients by name.
    pub fn names(&self) -> Vec<String> {
        let mut clients: Vec<String> = fs::read_dir(self.dir.join("clients"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".pem").map(str::to_owned))
            .collect();
        clients.sort();
        let server = self.dir.join("server.pem").is_file();
        server
            .then(|| SERVER_NAME.to_owned())
            .into_iter()
            .chain(clients)
            .collect()
    }

    /// Issues `spec` into a staging folder inside `self.dir`, then renames the three files into
    /// `folder` (replacing what is there; restored if a rename fails).
    fn install(
        &self,
        folder: &Path,
        name: &str,
        spec: &CertSpec,
        password: &str,
    ) -> Result<IssuedFiles> {
        let staging = Staging::new(&self.dir, name)?;
        let staged = write_set(&self.ca, &staging.path, name, spec, password)?;
        fs::create_dir_all(folder)
            .map_err(|e| Error::from_io(format!("creating {}", folder.display()), &e))?;
        let target = |p: &Path| folder.join(p.file_name().expect("a file name"));
        let files = IssuedFiles {
            name: staged.name.clone(),
            cert: target(&staged.cert),
            key: target(&staged.key),
            pfx: target(&staged.pfx),
            issued: staged.issued.clone(),
        };
        staging.replace(&[
            (staged.cert, files.cert.clone()),
            (staged.key, files.key.clone()),
            (staged.pfx, files.pfx.clone()),
        ])?;
        Ok(files)
    }
}

/// A hidden folder inside a PKI folder for files being written; removed on drop.
struct Staging {
    path: PathBuf,
}

impl Staging {
    fn new(dir: &Path, tag: &str) -> Result<Staging> {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = dir.join(format!(
            ".{tag}.partial-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path)
            .map_err(|e| Error::from_io(format!("creating {}", path.display()), &e))?;
        Ok(Staging { path })
    }

    /// Renames each `(staged, target)` over its target. Targets that existed are moved aside
    /// first and put back if a later rename fails, so either every file is replaced or none.
    fn replace(&self, moves: &[(PathBuf, PathBuf)]) -> Result<()> {
        let mut done: Vec<(&Path, Option<PathBuf>)> = Vec::new();
        let mut result = Ok(());
        for (i, (staged, target)) in moves.iter().enumerate() {
            let backup = self.path.join(format!("old-{i}"));
            let had = fs::symlink_metadata(target).is_ok();
            let step = (|| {
                if had {
                    fs::rename(target, &backup)?;
                }
                injected_failure(i)
                    .and_then(|()| fs::rename(staged, target))
                    .inspect_err(|_| {
                        if had {
                            let _ = fs::rename(&backup, target);
                        }
                    })
            })();
            if let Err(e) = step {
                result = Err(Error::from_io(format!("writing {}", target.display()), &e));
                break;
            }
            done.push((target, had.then_some(backup)));
        }
        if result.is_err() {
            for (target, backup) in done.into_iter().rev() {
                match backup {
                    Some(b) => {
                        let _ = fs::rename(b, target);
                    }
                    None => {
                        let _ = fs::remove_file(target);
                    }
                }
            }
        }
        result
    }
}

#[cfg(test)]
thread_local! {
    /// Test hook: the index of the move in [`Staging::replace`] that fails on this thread,
    /// after its target was moved aside (the worst moment), as a full disk or a rename would.
    static FAIL_MOVE: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

#[cfg(test)]
fn injected_failure(i: usize) -> std::io::Result<()> {
    match FAIL_MOVE.get() {
        Some(n) if n == i => Err(std::io::Error::other("injected rename failure")),
        _ => Ok(()),
    }
}

#[cfg(not(test))]
fn injected_failure(_: usize) -> std::io::Result<()> {
    Ok(())
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    read_regular(path, MAX_FILE)
        .map_err(|e| Error::from_io(format!("reading {}", path.display()), &e))
}

fn check_password_text(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(Error::invalid("the PFX password must not be empty"));
    }
    if password.contains('\0') {
        return Err(Error::invalid("a PFX password cannot contain a NUL byte"));
    }
    Ok(())
}

fn key_kind_of(id: &Id, bits: u32) -> KeyKind {
    match *id {
        Id::RSA if bits >= 3072 => KeyKind::Rsa3072,
        Id::RSA => KeyKind::Rsa2048,
        _ => KeyKind::EcP256,
    }
}

fn ip_from_bytes(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => Some(<[u8; 4]>::try_from(b).ok()?.into()),
        16 => Some(<[u8; 16]>::try_from(b).ok()?.into()),
        _ => None,
    }
}

/// A certificate's serial number in upper-case hex.
pub(crate) fn hex_serial(cert: &X509) -> String {
    cert.serial_number()
        .to_bn()
        .and_then(|b| b.to_hex_str().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::testing::Scratch;
    use crate::pki::{init, InitOptions};
    use std::collections::BTreeMap;

    const PASSWORD: &str = "folder test password";

    /// Every entry under `dir` with its bytes (`None` for a folder): equal snapshots mean the
    /// same names, the same contents and nothing left behind (staging folders start with '.').
    fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
        fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                let rel = p.strip_prefix(base).unwrap().to_path_buf();
                if p.is_dir() {
                    walk(base, &p, out);
                    out.insert(rel, None);
                } else {
                    out.insert(rel, Some(fs::read(&p).unwrap()));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(dir, dir, &mut out);
        out
    }

    /// Runs `f` with move `n` of [`Staging::replace`] failing on this thread.
    fn failing_move<T>(n: usize, f: impl FnOnce() -> T) -> T {
        FAIL_MOVE.set(Some(n));
        let out = f();
        FAIL_MOVE.set(None);
        out
    }

    #[test]
    fn a_failed_rename_puts_every_old_file_back() {
        let tmp = Scratch::new("folder-restore");
        let dir = tmp.path().join("pki");
        let mut opts = InitOptions::new(PASSWORD);
        opts.add_sans("localhost")
            .unwrap()
            .add_client("alice")
            .unwrap();
        init(&dir, &opts).unwrap();
        let folder = &PkiFolder::open(&dir).unwrap();
        let before = snapshot(&dir);

        type Op<'a> = (&'a str, usize, &'a dyn Fn() -> Result<()>);
        let renew = |name: &'static str| move || folder.renew(name, PASSWORD, 30).map(drop);
        let (server, alice) = (renew(SERVER_NAME), renew("alice"));
        let revoke = || folder.revoke("alice", None).map(drop);
        let add = || folder.add_client("bob", PASSWORD, -1, 30).map(drop);
        // (what, the move that fails, the operation): pem, key and p12; CRL and hashed CRL.
        let cases: &[Op] = &[
            ("renew server", 0, &server),
            ("renew server", 1, &server),
            ("renew server", 2, &server),
            ("renew alice", 2, &alice),
            ("revoke alice", 0, &revoke),
            ("revoke alice", 1, &revoke),
            ("add-client bob", 2, &add),
        ];
        for &(what, n, op) in cases {
            let err = failing_move(n, op).expect_err(what);
            assert_eq!(err.kind, ErrorKind::Io, "{what} at move {n}: {err}");
            assert!(
                err.message.contains("injected rename failure"),
                "{what} at move {n}: {err}"
            );
            let after = snapshot(&dir);
            assert_eq!(
                after.keys().collect::<Vec<_>>(),
                before.keys().collect::<Vec<_>>(),
                "{what} at move {n}: files added, lost or left behind"
            );
            for (p, bytes) in &before {
                assert!(
                    after[p] == *bytes,
                    "{what} at move {n}: {} is not the old file",
                    p.display()
                );
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(dir.join("server.key")).unwrap().permissions();
                assert_eq!(mode.mode() & 0o777, 0o600, "{what} at move {n}");
            }
        }
        // Without the fault the same operations go through (the hook hit a real move).
        let old_key = fs::read(dir.join("server.key")).unwrap();
        server().unwrap();
        assert_ne!(fs::read(dir.join("server.key")).unwrap(), old_key);
        revoke().unwrap();
        assert!(snapshot(&dir).keys().all(|p| !p.starts_with(".")));
    }
}
