//! Unit tests of [`init`](super::init): the PKI it makes verifies with OpenSSL and loads in wss.

use super::*;
use crate::pki::testing::{
    cli_ok, hashed_dir_store, openssl_cli, s, verify_code, verify_in, Scratch,
};
use crate::pki::{subject_hash, SECONDS_PER_DAY};
use openssl::asn1::Asn1Time;
use openssl::nid::Nid;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509PurposeId, X509};
use std::net::IpAddr;

const PASSWORD: &str = "unit test password";

fn options(sans: &str, clients: &[&str]) -> InitOptions {
    let mut o = InitOptions::new(PASSWORD);
    o.add_sans(sans).unwrap();
    for c in clients {
        o.add_client(c).unwrap();
    }
    o
}

/// Verify code of `leaf` against `ca` for a purpose and an optional host or IP check.
fn check(ca: &X509, leaf: &X509, purpose: X509PurposeId, peer: Option<&str>) -> i32 {
    let mut b = X509StoreBuilder::new().unwrap();
    b.add_cert(ca.clone()).unwrap();
    b.set_flags(X509VerifyFlags::X509_STRICT).unwrap();
    b.set_purpose(purpose).unwrap();
    if let Some(peer) = peer {
        let mut p = X509VerifyParam::new().unwrap();
        match peer.parse::<IpAddr>() {
            Ok(ip) => p.set_ip(ip).unwrap(),
            Err(_) => p.set_host(peer).unwrap(),
        }
        b.set_param(&p).unwrap();
    }
    verify_in(&b.build(), leaf, &[])
}

fn mode(p: &Path) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        0o600
    }
}

fn days_left(cert: &X509) -> i64 {
    let d = Asn1Time::days_from_now(0)
        .unwrap()
        .diff(cert.not_after())
        .unwrap();
    (i64::from(d.days) * SECONDS_PER_DAY + i64::from(d.secs)) / SECONDS_PER_DAY
}

#[test]
fn init_makes_a_pki_openssl_accepts() {
    let tmp = Scratch::new("init");
    let dir = tmp.path().join("pki");
    let pki = init(&dir, &options("localhost,127.0.0.1,::1", &["alice", "bob"])).unwrap();
    assert_eq!(pki.dir, dir);
    let hash = subject_hash(&pki.ca.cert);
    let mut names = Vec::new();
    for e in walk(&dir) {
        names.push(e.strip_prefix(&dir).unwrap().to_string_lossy().into_owned());
    }
    names.sort();
    let mut expected: Vec<String> = [
        "ca.crl.pem",
        "ca.key",
        "ca.pem",
        "clients/alice.key",
        "clients/alice.p12",
        "clients/alice.pem",
        "clients/bob.key",
        "clients/bob.p12",
        "clients/bob.pem",
        "server.key",
        "server.p12",
        "server.pem",
    ]
    .map(String::from)
    .to_vec();
    expected.push(format!("ca-hashed/{hash}.0"));
    expected.push(format!("ca-hashed/{hash}.r0"));
    expected.sort();
    assert_eq!(names, expected);
    let partial = fs::read_dir(tmp.path()).unwrap().count();
    assert_eq!(partial, 1, "the temporary folder is gone");

    // Private material is owner-only.
    for set in std::iter::once(&pki.server).chain(&pki.clients) {
        assert_eq!(mode(&set.key), 0o600, "{}", set.key.display());
        assert_eq!(mode(&set.pfx), 0o600, "{}", set.pfx.display());
        assert_eq!(mode(&set.cert) & 0o022, 0, "{}", set.cert.display());
    }
    assert_eq!(mode(&pki.ca_key), 0o600);

    // Chains, purposes (extended key usage) and SANs.
    let ca = &pki.ca.cert;
    let server = &pki.server.issued.cert;
    let alice = &pki.clients[0].issued.cert;
    assert_eq!(pki.clients[0].issued.common_name(), "alice");
    assert_eq!(pki.server.issued.common_name(), "localhost");
    use X509PurposeId as P;
    for peer in ["localhost", "127.0.0.1", "::1"] {
        assert_eq!(check(ca, server, P::SSL_SERVER, Some(peer)), 0, "{peer}");
    }
    assert_eq!(
        check(ca, server, P::SSL_SERVER, Some("other.example")),
        openssl_sys::X509_V_ERR_HOSTNAME_MISMATCH
    );
    assert_eq!(
        check(ca, server, P::SSL_SERVER, Some("10.0.0.1")),
        openssl_sys::X509_V_ERR_IP_ADDRESS_MISMATCH
    );
    assert_eq!(check(ca, alice, P::SSL_CLIENT, None), 0);
    assert_eq!(
        check(ca, alice, P::SSL_SERVER, None),
        openssl_sys::X509_V_ERR_INVALID_PURPOSE
    );
    assert_eq!(
        check(ca, server, P::SSL_CLIENT, None),
        openssl_sys::X509_V_ERR_INVALID_PURPOSE
    );
    assert!(alice.subject_alt_names().is_none());

    // SHA-256 with ECDSA P-256 everywhere; sensible lifetimes.
    for c in [ca, server, alice] {
        assert_eq!(
            c.signature_algorithm().object().nid(),
            Nid::ECDSA_WITH_SHA256
        );
        assert_eq!(c.public_key().unwrap().bits(), 256);
    }
    assert!((CertSpec::CA_DAYS - 1..=CertSpec::CA_DAYS).contains(&days_left(ca)));
    assert!((CertSpec::LEAF_DAYS - 1..=CertSpec::LEAF_DAYS).contains(&days_left(server)));

    // The root may issue leaves only (path length 0).
    let sub = pki.ca.issue(&CertSpec::ca("sub CA")).unwrap();
    let under_sub = sub.issue(&CertSpec::client("deep")).unwrap();
    assert_eq!(
        verify_code(&pki.ca_cert, None, &under_sub.cert, &[&sub.cert]),
        openssl_sys::X509_V_ERR_PATH_LENGTH_EXCEEDED
    );

    // PFX files open with the password only and carry key, certificate and CA.
    for set in std::iter::once(&pki.server).chain(&pki.clients) {
        let der = fs::read(&set.pfx).unwrap();
        let (issued, chain) = Issued::from_pfx(&der, PASSWORD).unwrap();
        assert_eq!(
            issued.cert.to_der().unwrap(),
            set.issued.cert.to_der().unwrap()
        );
        assert!(issued.key_matches_cert().unwrap());
        assert_eq!(chain.len(), 1);
        assert_eq!(chain[0].to_der().unwrap(), ca.to_der().unwrap());
        let wrong = Issued::from_pfx(&der, "wrong").unwrap_err();
        assert_eq!(wrong.kind, ErrorKind::Config);
        let pem = Issued::from_pem(&fs::read(&set.cert).unwrap(), &fs::read(&set.key).unwrap());
        assert!(pem.unwrap().key_matches_cert().unwrap());
    }

    // The hashed folder (with its CRL) and the CRL file verify with CRL checking.
    let store = hashed_dir_store(&pki.hashed_ca_dir, true);
    assert_eq!(verify_in(&store, server, &[]), 0);
    assert_eq!(verify_code(&pki.ca_cert, Some(&pki.crl), alice, &[]), 0);

    // The library loads it all.
    let mut tls = crate::TlsConfig::new();
    tls.load_pfx_file(&pki.server.pfx, PASSWORD).unwrap();
    tls.load_ca_dir(&pki.hashed_ca_dir).unwrap();
    tls.load_crl_file(&pki.crl).unwrap();
    let mut client = crate::TlsConfig::new();
    client
        .load_pem_chain(&pki.clients[1].cert, &pki.clients[1].key, None)
        .unwrap();
    let bad = crate::TlsConfig::new()
        .load_pfx_file(&pki.clients[0].pfx, "wrong")
        .map(|_| ())
        .unwrap_err();
    assert_eq!(bad.kind, ErrorKind::Config);

    // And so does the openssl CLI.
    let Some(text) = cli_ok(&["x509", "-noout", "-text", "-in", s(&pki.server.cert)]) else {
        return;
    };
    assert!(text.contains("Digital Signature"), "{text}");
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    assert!(
        text.contains("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"),
        "{text}"
    );
    let ca_text = cli_ok(&["x509", "-noout", "-text", "-in", s(&pki.ca_cert)]).unwrap();
    assert!(ca_text.contains("CA:TRUE, pathlen:0"), "{ca_text}");
    assert!(ca_text.contains("Certificate Sign, CRL Sign"), "{ca_text}");
    let out = cli_ok(&["x509", "-subject_hash", "-noout", "-in", s(&pki.ca_cert)]).unwrap();
    assert_eq!(out.trim(), hash);
    cli_ok(&[
        "verify",
        "-x509_strict",
        "-purpose",
        "sslserver",
        "-CAfile",
        s(&pki.ca_cert),
        s(&pki.server.cert),
    ]);
    cli_ok(&[
        "verify",
        "-x509_strict",
        "-crl_check",
        "-purpose",
        "sslclient",
        "-CApath",
        s(&pki.hashed_ca_dir),
        s(&pki.clients[0].cert),
        s(&pki.clients[1].cert),
    ]);
    let pass = format!("pass:{PASSWORD}");
    cli_ok(&[
        "pkcs12",
        "-noout",
        "-in",
        s(&pki.server.pfx),
        "-passin",
        &pass,
    ]);
    let wrong = openssl_cli(&[
        "pkcs12",
        "-noout",
        "-in",
        s(&pki.server.pfx),
        "-passin",
        "pass:x",
    ]);
    assert!(!wrong.unwrap().status.success());
    cli_ok(&["pkey", "-noout", "-in", s(&pki.server.key)]);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn rsa_option_makes_rsa_3072_keys() {
    let tmp = Scratch::new("init-rsa");
    let mut opts = options("wss.example", &[]);
    opts.key = KeyKind::Rsa3072;
    let pki = init(tmp.path().join("pki"), &opts).unwrap();
    assert!(pki.clients.is_empty() && !tmp.path().join("pki/clients").exists());
    let server = &pki.server.issued.cert;
    assert_eq!(pki.server.issued.key.bits(), 3072);
    assert_eq!(pki.ca.key.bits(), 3072);
    assert_eq!(
        server.signature_algorithm().object().nid(),
        Nid::SHA256WITHRSAENCRYPTION
    );
    assert_eq!(
        check(
            &pki.ca.cert,
            server,
            X509PurposeId::SSL_SERVER,
            Some("wss.example")
        ),
        0
    );
    if let Some(text) = cli_ok(&["x509", "-noout", "-text", "-in", s(&pki.server.cert)]) {
        assert!(
            text.contains("Digital Signature, Key Encipherment"),
            "{text}"
        );
    }
}

#[test]
fn bad_input_is_refused_and_nothing_is_left_behind() {
    let tmp = Scratch::new("init-bad");
    let kind = |dir: &Path, o: &InitOptions| init(dir, o).unwrap_err().kind;
    let good = options("localhost", &[]);
    let dir = tmp.path().join("pki");
    assert!(
        !format!("{good:?}").contains(PASSWORD),
        "Debug hides the password"
    );

    assert_eq!(
        kind(&dir, &InitOptions::new(PASSWORD)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(
            &dir,
            &options("localhost", &[]).tap(|o| o.pfx_password.clear())
        ),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(&dir, &good.clone().tap(|o| o.leaf_days = 0)),
        ErrorKind::InvalidArgument
    );
    let mut o = InitOptions::new(PASSWORD);
    for bad in ["", ".hidden", "a/b", "a b", &"x".repeat(65)] {
        assert_eq!(
            o.add_client(bad).unwrap_err().kind,
            ErrorKind::InvalidArgument,
            "{bad:?}"
        );
    }
    o.add_client("dup").unwrap();
    assert!(o.add_client("dup").is_err());
    assert!(o.add_sans("bad_name").is_err());

    // A folder with something in it is never touched.
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("keep.txt"), "mine").unwrap();
    let e = init(&dir, &good).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.message.contains("not an empty folder"), "{}", e.message);
    assert_eq!(fs::read_to_string(dir.join("keep.txt")).unwrap(), "mine");
    let file = tmp.path().join("file");
    fs::write(&file, "x").unwrap();
    assert_eq!(kind(&file, &good), ErrorKind::Io);
    // A parent that cannot be a folder.
    assert_eq!(kind(&file.join("pki"), &good), ErrorKind::Io);
    // An empty folder is filled.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let pki = init(&empty, &good).unwrap();
    assert!(pki.server.pfx.starts_with(&empty) && pki.server.pfx.is_file());

    let mut left: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["empty", "file", "pki"], "no partial folder is left");
}

#[test]
fn a_failure_midway_leaves_nothing_half_written() {
    let tmp = Scratch::new("init-midway");
    let dir = tmp.path().join("pki");
    let err = write_into_place(&dir, |partial| {
        fs::write(partial.join("ca.pem"), "written before the failure").unwrap();
        assert!(partial.starts_with(tmp.path()) && partial != dir);
        Err::<(), _>(Error::new(ErrorKind::Io, "disk full"))
    })
    .unwrap_err();
    assert_eq!(err.message, "disk full");
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "no partial folder"
    );

    // Names set on the public field are checked as add_client checks them.
    let mut opts = options("localhost", &[]);
    opts.clients = vec!["../escape".into()];
    assert_eq!(
        init(&dir, &opts).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    opts.clients = vec!["twice".into(), "twice".into()];
    assert_eq!(
        init(&dir, &opts).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    assert!(!dir.exists() && !tmp.path().join("escape.pem").exists());

    let (done, partial) = write_into_place(&dir, |p| {
        fs::write(p.join("f"), "x").map_err(|e| Error::from_io("f", &e))
    })
    .unwrap();
    assert_eq!(done, ());
    assert!(!partial.exists());
    assert_eq!(fs::read_to_string(dir.join("f")).unwrap(), "x");
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}
impl Tap for InitOptions {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}
