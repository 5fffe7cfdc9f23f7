//! TLS loaders read only regular files of at most `wss::tls::MAX_FILE_SIZE` bytes (issue 16,
//! defect 6): a FIFO used to block the loader forever, `/dev/zero` to read until memory ran out.
//! Each case must fail at once with a `Config` error naming the file and what it is.
#![cfg(unix)]

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

#[path = "common/pki.rs"]
mod pki;
use pki::{TempDir, TestPki};
use wss::{Error, ErrorKind, TlsConfig};

/// Generous bound for a call that must not block (a FIFO would block it forever).
const BOUND: Duration = Duration::from_secs(60);

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// Every file loader, by name, applied to `path`.
type Loader = fn(&mut TlsConfig, &Path) -> Result<(), Error>;
const LOADERS: [(&str, Loader); 6] = [
    ("CA file", |c, p| c.load_ca_file(p).map(drop)),
    ("CRL", |c, p| c.load_crl_file(p).map(drop)),
    ("PFX", |c, p| c.load_pfx_file(p, "password").map(drop)),
    ("PEM certificate", |c, p| {
        c.load_pem_chain(p, "/nonexistent-key.pem", None).map(drop)
    }),
    ("PEM key", |c, p| {
        // Any regular file as the certificate: both files are read before either is parsed.
        let cert = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        c.load_pem_chain(cert, p, None).map(drop)
    }),
    ("DH parameters", |c, p| c.load_dhparam_file(p).map(drop)),
];

/// Run every loader on `path` on another thread (so a blocking read fails the test instead of
/// hanging it) and check the error.
fn refused(path: &Path, expect_in_message: &str) {
    for (what, load) in LOADERS {
        let (tx, rx) = mpsc::channel();
        let p = path.to_path_buf();
        std::thread::spawn(move || {
            let _ = tx.send(load(&mut TlsConfig::new(), &p));
        });
        let result = rx
            .recv_timeout(BOUND)
            .unwrap_or_else(|_| panic!("{what} loader still blocked on {}", path.display()));
        let err = result.expect_err(what);
        assert_eq!(err.kind, ErrorKind::Config, "{what}: {err}");
        let shown = path.display().to_string();
        if what != "PEM key" {
            assert!(err.message.contains(&shown), "{what}: {err}");
        }
        assert!(
            err.message.contains(expect_in_message),
            "{what}: expected {expect_in_message:?} in {err}"
        );
    }
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = TempDir::new("wss-tls-files").expect("temp dir");
    let fifo = dir.path().join("ca.pem");
    mkfifo(&fifo);
    refused(&fifo, "it is a FIFO, not a regular file");
}

#[test]
fn a_device_is_refused_without_reading() {
    refused(
        Path::new("/dev/zero"),
        "it is a character device, not a regular file",
    );
}

#[test]
fn a_folder_is_refused() {
    let dir = TempDir::new("wss-tls-files").expect("temp dir");
    refused(dir.path(), "it is a folder, not a regular file");
}

#[test]
fn a_file_over_the_cap_is_refused_without_reading() {
    let dir = TempDir::new("wss-tls-files").expect("temp dir");
    let big = dir.path().join("big.pem");
    // Sparse: no disk space is used.
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(wss::tls::MAX_FILE_SIZE + 1).expect("set_len");
    drop(f);
    refused(&big, "larger than the 64 MiB limit");
    // At the cap itself the size check passes (and the parser then rejects the zeros).
    std::fs::File::options()
        .write(true)
        .open(&big)
        .and_then(|f| f.set_len(wss::tls::MAX_FILE_SIZE))
        .expect("shrink");
    let err = TlsConfig::new().load_ca_file(&big).map(drop).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Config);
    assert!(!err.message.contains("limit"), "{err}");
}

/// A CA folder skips what is not a regular file (a FIFO named like a certificate) and loads the
/// rest.
#[test]
fn a_ca_folder_skips_a_fifo() {
    let dir = TempDir::new("wss-tls-files").expect("temp dir");
    let pki = TestPki::generate(&dir.path().join("pki")).expect("test PKI");
    let ca_dir = dir.path().join("cas");
    std::fs::create_dir(&ca_dir).expect("mkdir");
    std::fs::copy(&pki.ca_cert, ca_dir.join("root.pem")).expect("copy CA");
    mkfifo(&ca_dir.join("blocked.pem"));
    mkfifo(&ca_dir.join("0badc0de.0"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(TlsConfig::new().load_ca_dir(&ca_dir).map(drop));
    });
    rx.recv_timeout(BOUND)
        .expect("load_ca_dir blocked on a FIFO")
        .expect("the regular CA file loads");
}
