//! Unit-test support for the PKI modules: a scratch folder, chain verification, the openssl CLI.
//! tests/pki_fixture.rs includes this file too (`#[path]`), so it uses only std and openssl.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use openssl::ssl::SslFiletype;
use openssl::stack::Stack;
use openssl::x509::store::{X509Lookup, X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509StoreContext, X509};

/// A fresh folder under the system temp dir, removed with its contents on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates `<temp>/wss-pki-unit-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> Scratch {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("wss-pki-unit-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Scratch(p)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `data` to `name` in the folder; returns its path.
    pub fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Verifies `leaf` (with `untrusted` intermediates) against `store`; returns the X509_V_* code.
pub fn verify_in(store: &X509Store, leaf: &X509, untrusted: &[&X509]) -> i32 {
    let mut chain = Stack::new().unwrap();
    for c in untrusted {
        chain.push((*c).clone()).unwrap();
    }
    let mut ctx = X509StoreContext::new().unwrap();
    ctx.init(store, leaf, &chain, |c| {
        let ok = c.verify_cert()?;
        let code = c.error().as_raw();
        assert_eq!(
            ok,
            code == openssl_sys::X509_V_OK,
            "verify result vs code {code}"
        );
        Ok(code)
    })
    .unwrap()
}

/// Verifies `leaf` strictly against the CA file `ca` (and with CRL checking against `crl`).
pub fn verify_code(ca: &Path, crl: Option<&Path>, leaf: &X509, untrusted: &[&X509]) -> i32 {
    let mut b = X509StoreBuilder::new().unwrap();
    let lookup = b.add_lookup(X509Lookup::file()).unwrap();
    lookup.load_cert_file(ca, SslFiletype::PEM).unwrap();
    let mut flags = X509VerifyFlags::X509_STRICT;
    if let Some(crl) = crl {
        lookup.load_crl_file(crl, SslFiletype::PEM).unwrap();
        flags |= X509VerifyFlags::CRL_CHECK;
    }
    b.set_flags(flags).unwrap();
    verify_in(&b.build(), leaf, untrusted)
}

/// A store over a hashed CA folder (`-CApath`), with CRL checking if `crl_check`.
pub fn hashed_dir_store(dir: &Path, crl_check: bool) -> X509Store {
    let mut b = X509StoreBuilder::new().unwrap();
    b.add_lookup(X509Lookup::hash_dir())
        .unwrap()
        .add_dir(dir.to_str().unwrap(), SslFiletype::PEM)
        .unwrap();
    let mut flags = X509VerifyFlags::X509_STRICT;
    if crl_check {
        flags |= X509VerifyFlags::CRL_CHECK;
    }
    b.set_flags(flags).unwrap();
    b.build()
}

/// Set to `1` to let a machine without the openssl CLI, python3 or node skip the steps that
/// need them. Unset, a missing program fails the test: the test command (scripts/test.sh)
/// installs them, so a check that silently passed would hide a broken install.
pub const ALLOW_MISSING_TOOLS: &str = "WSS_TEST_ALLOW_MISSING_TOOLS";

/// Runs `program` with `args` and stdin closed. If it is not installed: `None` (the step is
/// skipped, with a note) when [`ALLOW_MISSING_TOOLS`] is `1`, otherwise a panic naming it.
pub fn run_tool(program: &str, args: &[&str]) -> Option<Output> {
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => Some(out),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if std::env::var(ALLOW_MISSING_TOOLS).as_deref() == Ok("1") {
                eprintln!("{program} not found; {ALLOW_MISSING_TOOLS}=1: skipping {args:?}");
                return None;
            }
            panic!(
                "{program} not found: install it (scripts/test.sh does) or set \
                 {ALLOW_MISSING_TOOLS}=1 to skip the checks that need it"
            )
        }
        Err(e) => panic!("running {program} {args:?}: {e}"),
    }
}

/// Runs the openssl CLI (see [`run_tool`] for a missing one).
pub fn openssl_cli(args: &[&str]) -> Option<Output> {
    run_tool("openssl", args)
}

/// Runs the openssl CLI and asserts success; its stdout (`None`: see [`run_tool`]).
pub fn cli_ok(args: &[&str]) -> Option<String> {
    let out = openssl_cli(args)?;
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A path as `&str` for command lines.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
