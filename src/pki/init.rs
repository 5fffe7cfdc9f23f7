//! A complete throwaway PKI in one folder: what `wss-pki init` makes.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, ErrorKind, Result};
use crate::pki::files::{encoding, write_public};
use crate::pki::{parse_sans, write_hashed_ca_dir, CertSpec, Issued, KeyKind, San};

/// What [`init`] makes. Its `Debug` output hides the password.
#[derive(Clone)]
pub struct InitOptions {
    /// subjectAltName entries of the server certificate (at least one); its CN is the first.
    pub sans: Vec<San>,
    /// Client certificates to issue, by name (the CN, and the file stem under `clients/`).
    pub clients: Vec<String>,
    /// Key algorithm of every key (CA, server, clients).
    pub key: KeyKind,
    /// Password of every PFX file written; must not be empty.
    pub pfx_password: String,
    /// Common name of the root CA.
    pub ca_name: String,
    /// Lifetime of the root CA in days.
    pub ca_days: i64,
    /// Lifetime of the server and client certificates in days.
    pub leaf_days: i64,
    /// Days until the CRL's nextUpdate.
    pub crl_days: i64,
}

impl InitOptions {
    /// Default number of days until the first CRL's nextUpdate.
    pub const CRL_DAYS: i64 = 30;

    /// Options with no SANs and no clients yet, ECDSA P-256 keys, the default lifetimes
    /// ([`CertSpec::CA_DAYS`], [`CertSpec::LEAF_DAYS`], [`InitOptions::CRL_DAYS`]) and a root
    /// CA named "wss root CA".
    pub fn new(pfx_password: impl Into<String>) -> InitOptions {
        InitOptions {
            sans: Vec::new(),
            clients: Vec::new(),
            key: KeyKind::default(),
            pfx_password: pfx_password.into(),
            ca_name: "wss root CA".to_owned(),
            ca_days: CertSpec::CA_DAYS,
            leaf_days: CertSpec::LEAF_DAYS,
            crl_days: Self::CRL_DAYS,
        }
    }

    /// Adds the SANs of a comma-separated list such as `localhost,127.0.0.1,::1`.
    pub fn add_sans(&mut self, list: &str) -> Result<&mut InitOptions> {
        self.sans.extend(parse_sans(list)?);
        Ok(self)
    }

    /// Adds a client certificate named `name`: letters, digits, `.`, `_` and `-`, not starting
    /// with `.`, at most 64 characters, unique.
    pub fn add_client(&mut self, name: &str) -> Result<&mut InitOptions> {
        check_client_name(name)?;
        if self.clients.iter().any(|c| c == name) {
            return Err(Error::invalid(format!("client {name:?} is listed twice")));
        }
        self.clients.push(name.to_owned());
        Ok(self)
    }

    fn check(&self) -> Result<()> {
        for (i, name) in self.clients.iter().enumerate() {
            check_client_name(name)?;
            if self.clients[..i].contains(name) {
                return Err(Error::invalid(format!("client {name:?} is listed twice")));
            }
        }
        if self.sans.is_empty() {
            return Err(Error::invalid(
                "the server certificate needs a subjectAltName (e.g. localhost,127.0.0.1)",
            ));
        }
        if self.pfx_password.is_empty() {
            return Err(Error::invalid("the PFX password must not be empty"));
        }
        if self.pfx_password.contains('\0') {
            return Err(Error::invalid("a PFX password cannot contain a NUL byte"));
        }
        if self.ca_days < 1 || self.leaf_days < 1 || self.crl_days < 1 {
            return Err(Error::invalid("lifetimes must be at least one day"));
        }
        Ok(())
    }
}

impl fmt::Debug for InitOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitOptions")
            .field("sans", &self.sans)
            .field("clients", &self.clients)
            .field("key", &self.key)
            .field("pfx_password", &"<hidden>")
            .field("ca_name", &self.ca_name)
            .field("ca_days", &self.ca_days)
            .field("leaf_days", &self.leaf_days)
            .field("crl_days", &self.crl_days)
            .finish()
    }
}

/// A client name is also a file name: keep it to a safe, portable set.
pub(crate) fn check_client_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "bad client name {name:?}: use 1 to 64 letters, digits, '.', '_', '-', no leading '.'"
    )))
}

/// One certificate [`init`] issued, with its files.
#[derive(Debug, Clone)]
pub struct IssuedFiles {
    /// Its name: the client name, or `server`.
    pub name: String,
    /// The certificate and key.
    pub issued: Issued,
    /// The certificate (PEM, leaf only).
    pub cert: PathBuf,
    /// Its private key (unencrypted PKCS#8 PEM, mode 0600).
    pub key: PathBuf,
    /// Key, certificate and root CA as a password-protected PFX (DER, mode 0600).
    pub pfx: PathBuf,
}

/// The PKI [`init`] made, and where each file is.
///
/// ```text
/// DIR/ca.pem  ca.key  ca.crl.pem            root CA, its key (0600), its CRL (revokes nothing yet)
/// DIR/ca-hashed/<hash>.0  <hash>.r0         the CA and CRL in hashed layout (-CApath)
/// DIR/server.pem  server.key  server.p12    server certificate (DNS and IP SANs, serverAuth)
/// DIR/clients/<name>.pem  .key  .p12        one set per client (clientAuth)
/// ```
#[derive(Debug, Clone)]
pub struct Pki {
    /// The folder holding everything.
    pub dir: PathBuf,
    /// The root CA (with its key, to issue or revoke more later).
    pub ca: Issued,
    /// `ca.pem`: the root CA certificate (what peers trust).
    pub ca_cert: PathBuf,
    /// `ca.key`: the root CA key (mode 0600; keep it away from servers).
    pub ca_key: PathBuf,
    /// `ca.crl.pem`: the CA's CRL.
    pub crl: PathBuf,
    /// `ca-hashed/`: the CA and its CRL under subject-hash names, for CA-folder loading.
    pub hashed_ca_dir: PathBuf,
    /// The server certificate.
    pub server: IssuedFiles,
    /// The client certificates, in the order asked for.
    pub clients: Vec<IssuedFiles>,
}

/// Makes a complete PKI in `dir`: a root CA (path length 0), a server certificate for
/// `opts.sans`, one client certificate per `opts.clients`, each as PEM and as a PFX with
/// `opts.pfx_password`, a CRL and a hashed CA folder (see [`Pki`] for the layout). Keys are
/// written owner-only, certificates are signed with SHA-256.
///
/// `dir` must not exist or be an empty folder. Everything is written to a temporary folder
/// beside it and renamed into place at the end, so a failure leaves nothing half-written.
/// Bad options give `InvalidArgument`; an existing file or an unwritable parent `Io`.
pub fn init(dir: impl AsRef<Path>, opts: &InitOptions) -> Result<Pki> {
    let dir = dir.as_ref();
    opts.check()?;
    let (pki, tmp) = write_into_place(dir, |tmp| write_pki(tmp, opts))?;
    Ok(pki.moved_to(&tmp, dir))
}

/// Runs `write` on a fresh folder beside `dir` and renames that folder to `dir` when it
/// succeeds, or removes it when it fails. `dir` must not exist or be an empty folder.
/// Returns `write`'s result and the temporary path it wrote under (gone by then).
pub(crate) fn write_into_place<T>(
    dir: &Path,
    write: impl FnOnce(&Path) -> Result<T>,
) -> Result<(T, PathBuf)> {
    let io = |what: String| move |e: std::io::Error| Error::from_io(what, &e);
    if let Ok(meta) = fs::symlink_metadata(dir) {
        let empty = meta.is_dir()
            && fs::read_dir(dir)
                .map_err(io(format!("reading {}", dir.display())))?
                .next()
                .is_none();
        if !empty {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} exists and is not an empty folder: init never overwrites",
                    dir.display()
                ),
            ));
        }
    }
    let name = dir
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{} names no folder", dir.display())))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match fs::metadata(&parent) {
        // create_dir_all would report EEXIST, as if the parent were fine.
        Ok(meta) if !meta.is_dir() => {
            return Err(Error::from_io(
                format!(
                    "creating {} in {}",
                    name.to_string_lossy(),
                    parent.display()
                ),
                &not_a_folder(),
            ))
        }
        Ok(_) => {}
        Err(_) => {
            fs::create_dir_all(&parent).map_err(io(format!("creating {}", parent.display())))?
        }
    }
    static N: AtomicU64 = AtomicU64::new(0);
    let tmp = parent.join(format!(
        ".{}.partial-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&tmp).map_err(io(format!("creating {}", tmp.display())))?;

    let result = write(&tmp).and_then(|done| {
        if dir.is_dir() {
            fs::remove_dir(dir).map_err(io(format!("replacing {}", dir.display())))?;
        }
        fs::rename(&tmp, dir).map_err(io(format!(
            "renaming {} to {}",
            tmp.display(),
            dir.display()
        )))?;
        Ok(done)
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result.map(|done| (done, tmp))
}

/// ENOTDIR, with its errno where there is one.
fn not_a_folder() -> std::io::Error {
    #[cfg(unix)]
    return std::io::Error::from_raw_os_error(libc::ENOTDIR);
    #[cfg(not(unix))]
    return std::io::ErrorKind::NotADirectory.into();
}

fn write_pki(dir: &Path, opts: &InitOptions) -> Result<Pki> {
    let issuing = |what: &str| {
        let what = format!("issuing the {what} certificate");
        move |e| Error::from_stack(ErrorKind::Tls, what.clone(), &e)
    };
    let ca_spec = CertSpec::ca(&opts.ca_name)
        .with_key(opts.key)
        .with_path_len(0)
        .with_validity(-1, opts.ca_days);
    let ca = Issued::self_signed(&ca_spec).map_err(issuing("CA"))?;
    let (ca_cert, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    ca.write_pem(&ca_cert, &ca_key, &[])?;
    let crl = ca.build_crl(&[], opts.crl_days).map_err(encoding("CRL"))?;
    let crl_path = dir.join("ca.crl.pem");
    write_public(&crl_path, &crl.to_pem().map_err(encoding("CRL"))?)?;
    let hashed_ca_dir = dir.join("ca-hashed");
    write_hashed_ca_dir(&hashed_ca_dir, &[&ca.cert], &[&crl])?;

    let cn = match &opts.sans[0] {
        San::Dns(d) => d.clone(),
        San::Ip(ip) => ip.to_string(),
    };
    let server_spec = opts
        .sans
        .iter()
        .fold(CertSpec::server(&cn, &[], &[]), |s, san| s.with_san(san))
        .with_key(opts.key)
        .with_validity(-1, opts.leaf_days);
    let write_set = |dir: &Path, name: &str, spec: &CertSpec| {
        write_set(&ca, dir, name, spec, &opts.pfx_password)
    };
    let server = write_set(dir, "server", &server_spec)?;
    let clients_dir = dir.join("clients");
    if !opts.clients.is_empty() {
        fs::create_dir(&clients_dir)
            .map_err(|e| Error::from_io(format!("creating {}", clients_dir.display()), &e))?;
    }
    let clients = opts
        .clients
        .iter()
        .map(|name| {
            let spec = CertSpec::client(name)
                .with_key(opts.key)
                .with_validity(-1, opts.leaf_days);
            write_set(&clients_dir, name, &spec)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Pki {
        dir: dir.to_path_buf(),
        ca,
        ca_cert,
        ca_key,
        crl: crl_path,
        hashed_ca_dir,
        server,
        clients,
    })
}

/// Issues `spec` with `ca` and writes `<name>.pem`, `.key` (0600) and `.p12` (0600, with the
/// root CA, protected by `password`) into `dir`; none of them may exist.
pub(crate) fn write_set(
    ca: &Issued,
    dir: &Path,
    name: &str,
    spec: &CertSpec,
    password: &str,
) -> Result<IssuedFiles> {
    let issued = ca.issue(spec).map_err(|e| {
        Error::from_stack(
            ErrorKind::Tls,
            format!("issuing the {name} certificate"),
            &e,
        )
    })?;
    let files = IssuedFiles {
        name: name.to_owned(),
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}.key")),
        pfx: dir.join(format!("{name}.p12")),
        issued,
    };
    files.issued.write_pem(&files.cert, &files.key, &[])?;
    files.issued.write_pfx(&files.pfx, password, &[&ca.cert])?;
    Ok(files)
}

impl Pki {
    /// The same PKI with every path under `from` rebased under `to`.
    fn moved_to(mut self, from: &Path, to: &Path) -> Pki {
        let mv = |p: &mut PathBuf| {
            if let Ok(rest) = p.strip_prefix(from) {
                *p = if rest.as_os_str().is_empty() {
                    to.to_path_buf()
                } else {
                    to.join(rest)
                };
            }
        };
        for p in [
            &mut self.dir,
            &mut self.ca_cert,
            &mut self.ca_key,
            &mut self.crl,
            &mut self.hashed_ca_dir,
        ] {
            mv(p);
        }
        for set in std::iter::once(&mut self.server).chain(self.clients.iter_mut()) {
            for p in [&mut set.cert, &mut set.key, &mut set.pfx] {
                mv(p);
            }
        }
        self
    }
}

#[cfg(test)]
#[path = "init_tests.rs"]
mod tests;
