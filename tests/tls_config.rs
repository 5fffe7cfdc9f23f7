//! TLS loaders and options report failures at once, with the OpenSSL detail, the OS errno, the
//! file involved and a hint; good inputs load and work.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::pki::{TempDir, KEY_PASSWORD, PFX_PASSWORD};
use common::*;
use wss::{
    Client, ClientConfig, Error, ErrorKind, Server, ServerConfig, TlsConfig, TlsVersion, VerifyMode,
};

/// RFC 7919 ffdhe2048 group (what `openssl genpkey -genparam -algorithm DH -pkeyopt
/// group:ffdhe2048` writes): valid DH parameters without a slow generation.
const FFDHE2048_PEM: &str = "-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
";

fn expect_err<T>(r: wss::Result<T>, what: &str) -> Error {
    match r {
        Ok(_) => panic!("{what}: expected an error"),
        Err(e) => e,
    }
}

fn assert_config(err: &Error) {
    assert_eq!(err.kind, ErrorKind::Config, "{err}");
    assert!(!err.message.is_empty());
}

/// The OpenSSL queue is present and complete, and one reason holds `reason`.
fn assert_openssl(err: &Error, reason: &str) {
    assert!(!err.openssl.is_empty(), "no OpenSSL entries in: {err}");
    for e in &err.openssl {
        assert_ne!(e.code, 0, "{err}");
        assert!(!e.library.is_empty() && !e.reason.is_empty(), "{err}");
    }
    assert!(
        err.openssl.iter().any(|e| e.reason.contains(reason)),
        "no OpenSSL reason containing '{reason}' in: {err}"
    );
    // The Display form carries the queue too (what a log line shows).
    assert!(err.to_string().contains(reason), "{err}");
}

fn assert_hint(err: &Error, needle: &str) {
    let hint = err
        .hint
        .as_deref()
        .unwrap_or_else(|| panic!("no hint in: {err}"));
    assert!(
        hint.to_lowercase().contains(&needle.to_lowercase()),
        "hint lacks '{needle}': {hint}"
    );
}

fn mentions(err: &Error, path: &Path) {
    let p = path.display().to_string();
    assert!(err.message.contains(&p), "message does not name {p}: {err}");
}

fn temp() -> TempDir {
    TempDir::new("wss-tls-config").expect("temp dir")
}

fn write(dir: &TempDir, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    fs::write(&p, data).unwrap();
    p
}

/// A wss echo server with `tls`; returns it for a client to try.
fn serve(tls: TlsConfig) -> (Server, Events) {
    let (h, rx) = recorder(true);
    let config = ServerConfig {
        tls: Some(tls),
        ..Default::default()
    };
    (Server::bind("127.0.0.1:0", config, h).expect("bind"), rx)
}

/// Connect to `server` by IP with `tls`; returns the outcome and the client's events.
fn connect(server: &Server, tls: TlsConfig) -> (wss::Result<Client>, Events) {
    let (h, rx) = recorder(false);
    let config = ClientConfig {
        tls: Some(tls),
        connect_timeout: WAIT,
        ..Default::default()
    };
    let url = format!("wss://127.0.0.1:{}/", server.port());
    (Client::connect(&url, &config, h), rx)
}

/// Connect with `tls`, expecting the connection to fail.
fn connect_fails(server: &Server, tls: TlsConfig) -> Error {
    expect_err(connect(server, tls).0, "connect")
}

/// Connect with `tls`, echo once.
fn connect_echo(server: &Server, tls: TlsConfig) -> Client {
    let (client, rx) = connect(server, tls);
    let client = client.unwrap_or_else(|e| panic!("connect: {e}"));
    wait_open(&rx);
    client.connection().send_text("ping").unwrap();
    assert_eq!(wait_msg(&rx).1, b"ping");
    client
}

// ------------------------------------------------------------------------------ PKCS#12

#[test]
fn pfx_with_wrong_password() {
    let p = pki();
    let mut t = TlsConfig::new();
    let err = expect_err(
        t.load_pfx_file(&p.client_pfx, "wrong"),
        "wrong PFX password",
    );
    assert_config(&err);
    assert_openssl(&err, "mac verify failure");
    assert_hint(&err, "password");
    mentions(&err, &p.client_pfx);
    assert!(
        !t.has_identity(),
        "a failed load must not leave an identity"
    );

    let der = fs::read(&p.client_pfx).unwrap();
    let err = expect_err(t.load_pfx_mem(&der, ""), "empty PFX password");
    assert_config(&err);
    assert_hint(&err, "password");
}

#[test]
fn pfx_with_right_password_loads() {
    let p = pki();
    let mut t = TlsConfig::new();
    t.load_pfx_file(&p.client_pfx, PFX_PASSWORD).unwrap();
    assert!(t.has_identity());
}

#[test]
fn pfx_from_memory_serves_and_authenticates_a_client() {
    // Both identities from PKCS#12 bytes: the server's certificate and key serve a handshake,
    // and the client's pass a server that requires (and verifies) client certificates.
    let p = pki();
    let mut s = TlsConfig::new();
    s.load_pfx_mem(&fs::read(&p.server_pfx).unwrap(), PFX_PASSWORD)
        .unwrap();
    s.load_ca_file(&p.ca_cert).unwrap();
    s.set_verify_mode(VerifyMode::Required);
    let (server, srx) = serve(s);
    let mut c = client_tls();
    c.load_pfx_mem(&fs::read(&p.client_pfx).unwrap(), PFX_PASSWORD)
        .unwrap();
    let client = connect_echo(&server, c);
    let sconn = wait_open(&srx);
    let peer_cert = |conn: &wss::Connection| conn.info().tls.as_ref()?.peer_certificate.clone();
    assert!(
        peer_cert(&sconn)
            .is_some_and(|c| c.verified && c.subject.contains(common::pki::TestPki::CLIENT_CN)),
        "the server verified the client's PFX certificate"
    );
    assert!(
        peer_cert(client.connection())
            .is_some_and(|c| c.verified && c.subject.contains("CN=localhost")),
        "the client verified the server's PFX certificate"
    );
    server.shutdown(WAIT).unwrap();
}

#[test]
fn pfx_that_is_not_pkcs12() {
    let p = pki();
    for path in [&p.garbage_file, &p.client_cert, &p.client_key] {
        let mut t = TlsConfig::new();
        let err = expect_err(t.load_pfx_file(path, PFX_PASSWORD), "non-PKCS#12 file");
        assert_config(&err);
        assert!(!err.openssl.is_empty(), "{err}");
        assert_hint(&err, ".pfx");
        mentions(&err, path);
    }
    let mut t = TlsConfig::new();
    let err = expect_err(t.load_pfx_mem(b"", PFX_PASSWORD), "empty PFX");
    assert_config(&err);
    assert!(err.hint.is_some(), "{err}");
}

// ------------------------------------------------------------------------ PEM cert + key

#[test]
fn key_that_does_not_match_certificate() {
    let p = pki();
    let mut t = TlsConfig::new();
    let err = expect_err(
        t.load_pem_chain(&p.server_cert, &p.mismatched_key, None),
        "mismatched key",
    );
    assert_config(&err);
    assert_openssl(&err, "key values mismatch");
    assert_hint(&err, "does not belong to the certificate");
    mentions(&err, &p.server_cert);
    assert!(!t.has_identity());

    let err = expect_err(
        t.load_pem_chain_mem(
            &fs::read(&p.client_cert).unwrap(),
            &fs::read(&p.server_key).unwrap(),
            None,
        ),
        "mismatched key in memory",
    );
    assert_config(&err);
    assert_openssl(&err, "key values mismatch");
}

#[test]
fn encrypted_key_without_password() {
    // Must fail at once: never prompt on a terminal ("Enter PEM pass phrase:") and block.
    let p = pki();
    let mut t = TlsConfig::new();
    let err = expect_err(
        t.load_pem_chain(&p.server_cert, &p.server_key_encrypted, None),
        "encrypted key, no password",
    );
    assert_config(&err);
    assert!(!err.openssl.is_empty(), "{err}");
    assert_hint(&err, "encrypted");
    mentions(&err, &p.server_key_encrypted);
    // OpenSSL's terminal prompt (UI routines) was not involved.
    assert!(
        !err.openssl
            .iter()
            .any(|e| e.library == "UI routines" || e.reason.contains("problems getting password")),
        "the default password prompt was used: {err}"
    );
}

#[test]
fn encrypted_key_with_wrong_password() {
    let p = pki();
    let mut t = TlsConfig::new();
    let err = expect_err(
        t.load_pem_chain(&p.server_cert, &p.server_key_encrypted, Some("nope")),
        "encrypted key, wrong password",
    );
    assert_config(&err);
    assert!(!err.openssl.is_empty(), "{err}");
    assert_hint(&err, "password");
}

#[test]
fn encrypted_key_with_right_password_serves() {
    let p = pki();
    let mut t = TlsConfig::new();
    t.load_pem_chain(&p.server_cert, &p.server_key_encrypted, Some(KEY_PASSWORD))
        .unwrap();
    assert!(t.has_identity());
    let (server, _srx) = serve(t);
    connect_echo(&server, client_tls());
    server.shutdown(WAIT).unwrap();
}

#[test]
fn missing_files_report_enoent_and_the_path() {
    let p = pki();
    let dir = temp();
    let missing = dir.path().join("does-not-exist.pem");
    let mut t = TlsConfig::new();
    let errs = vec![
        t.load_pem_chain(&missing, &p.server_key, None).err(),
        t.load_pem_chain(&p.server_cert, &missing, None).err(),
        t.load_pfx_file(&missing, PFX_PASSWORD).err(),
        t.load_ca_file(&missing).err(),
        t.load_ca_dir(&missing).err(),
        t.load_crl_file(&missing).err(),
        t.load_dhparam_file(&missing).err(),
    ];
    for err in errs {
        let err = err.expect("loading a missing file must fail");
        assert_config(&err);
        assert_eq!(err.errno, Some(libc::ENOENT), "{err}");
        mentions(&err, &missing);
    }
}

#[test]
fn garbage_certificate_files() {
    let p = pki();
    let mut t = TlsConfig::new();
    let err = expect_err(t.load_ca_file(&p.garbage_file), "garbage CA file");
    assert_config(&err);
    assert!(err.hint.is_some(), "{err}");
    mentions(&err, &p.garbage_file);

    let err = expect_err(
        t.load_pem_chain(&p.garbage_file, &p.server_key, None),
        "garbage certificate",
    );
    assert_config(&err);
    mentions(&err, &p.garbage_file);

    let err = expect_err(
        t.load_pem_chain(&p.server_cert, &p.garbage_file, None),
        "garbage key",
    );
    assert_config(&err);
    assert!(!err.openssl.is_empty(), "{err}");
    mentions(&err, &p.garbage_file);

    let err = expect_err(t.load_crl_file(&p.garbage_file), "garbage CRL");
    assert_config(&err);
    mentions(&err, &p.garbage_file);

    // A truncated PEM certificate: OpenSSL's decoder detail is kept.
    let dir = temp();
    let pem = fs::read_to_string(&p.ca_cert).unwrap();
    let cut = write(&dir, "cut.pem", &pem.as_bytes()[..pem.len() / 2]);
    let err = expect_err(t.load_ca_file(&cut), "truncated PEM");
    assert_config(&err);
    assert!(!err.openssl.is_empty(), "{err}");
    assert!(!t.has_identity());
}

#[test]
fn certificate_and_key_from_memory() {
    let p = pki();
    let mut t = TlsConfig::new();
    t.load_pem_chain_mem(
        &fs::read(&p.server_cert).unwrap(),
        &fs::read(&p.server_key).unwrap(),
        None,
    )
    .unwrap();
    t.load_ca_pem_mem(&fs::read(&p.ca_cert).unwrap()).unwrap();
    assert!(t.has_identity());
    let err = expect_err(t.load_ca_pem_mem(b"nothing here"), "garbage CA bytes");
    assert_config(&err);
}

// ------------------------------------------------------------------------------ CA folders

#[test]
fn unhashed_folder_with_plain_pem_loads_and_verifies() {
    let p = pki();
    assert!(p.unhashed_ca_dir.join("my-ca.pem").is_file());
    let mut c = TlsConfig::new();
    c.load_ca_dir(&p.unhashed_ca_dir).unwrap();
    let (server, _srx) = serve(server_tls());
    let client = connect_echo(&server, c);
    let pc = client
        .connection()
        .info()
        .tls
        .clone()
        .unwrap()
        .peer_certificate;
    assert!(pc.is_some_and(|c| c.verified));
    server.shutdown(WAIT).unwrap();
}

#[test]
fn plain_folder_ignores_non_certificate_files() {
    let p = pki();
    assert!(p.plain_ca_dir.join("notes.txt").is_file());
    let mut c = TlsConfig::new();
    c.load_ca_dir(&p.plain_ca_dir).unwrap();
    assert!(format!("{c:?}").contains("ca_certs: 1"), "{c:?}");
}

#[test]
fn empty_folder_is_a_config_error_with_hash_hint() {
    let dir = temp();
    let mut t = TlsConfig::new();
    let err = expect_err(t.load_ca_dir(dir.path()), "empty CA folder");
    assert_config(&err);
    assert_hint(&err, "hash");
    mentions(&err, dir.path());

    // Only files that are neither hash-named nor .pem/.crt/.cer: same.
    write(&dir, "readme.txt", b"nothing");
    write(&dir, "ca.key", b"nothing");
    let err = expect_err(t.load_ca_dir(dir.path()), "folder without CA files");
    assert_hint(&err, "rehash");
}

#[test]
fn hashed_folder_loads_ca_and_crl() {
    let p = pki();
    let hash = p.ca.subject_hash();
    assert!(p.hashed_ca_dir.join(format!("{hash}.0")).is_file());
    assert!(p.hashed_ca_dir.join(format!("{hash}.r0")).is_file());
    let mut t = TlsConfig::new();
    t.load_ca_dir(&p.hashed_ca_dir).unwrap();
    let dbg = format!("{t:?}");
    assert!(dbg.contains("ca_certs: 1"), "{dbg}");
    assert!(dbg.contains("crls: 1"), "{dbg}");
    // The CRL is in force: the revoked server is refused (code 23), the good one accepted.
    let (server, _srx) = serve(server_tls());
    connect_echo(&server, t.clone());
    server.shutdown(WAIT).unwrap();
    let mut revoked = TlsConfig::new();
    revoked
        .load_pem_chain(&p.revoked_server_cert, &p.revoked_server_key, None)
        .unwrap();
    let (server, srx) = serve(revoked);
    let err = connect_fails(&server, t);
    assert_eq!(err.verify.as_ref().map(|v| v.code), Some(23), "{err}");
    // The server hears the client's alert.
    assert_eq!(wait_error(&srx).kind, ErrorKind::Tls);
    server.shutdown(WAIT).unwrap();
}

#[test]
fn broken_hash_named_file_is_reported() {
    // A hash-named file that is not a certificate is a mistake worth reporting, with its name.
    let dir = temp();
    let bad = write(&dir, "0badc0de.0", b"not a certificate");
    let mut t = TlsConfig::new();
    let err = expect_err(t.load_ca_dir(dir.path()), "garbage hash-named file");
    assert_config(&err);
    mentions(&err, &bad);
}

#[test]
fn crl_in_der_and_pem() {
    let p = pki();
    let pem = fs::read(&p.crl).unwrap();
    let der = openssl::x509::X509Crl::from_pem(&pem)
        .unwrap()
        .to_der()
        .unwrap();
    let dir = temp();
    let der_path = write(&dir, "ca.crl", &der);
    let mut t = TlsConfig::new();
    t.load_crl_file(&p.crl).unwrap();
    let err = expect_err(t.load_crl_file(&p.ca_cert), "a certificate is not a CRL");
    assert_config(&err);
    // The DER CRL alone is in force: a server requiring client certificates and holding only
    // it accepts the good client and refuses the revoked one (X509 error 23).
    let mut s = server_mtls();
    s.load_crl_file(&der_path).unwrap();
    let (server, srx) = serve(s);
    connect_echo(&server, client_mtls());
    wait_open(&srx);
    let mut revoked = client_tls();
    revoked
        .load_pem_chain(&p.revoked_client_cert, &p.revoked_client_key, None)
        .unwrap();
    let err = connect_fails(&server, revoked);
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    let serr = wait_error(&srx);
    assert_eq!(serr.verify.as_ref().map(|v| v.code), Some(23), "{serr}");
    server.shutdown(WAIT).unwrap();
}

// ------------------------------------------------------------------------------- options

#[test]
fn bad_cipher_list_suites_and_groups_are_invalid_arguments() {
    let mut t = TlsConfig::new();
    let cases: Vec<(wss::Result<()>, &str)> = vec![
        (t.set_ciphers("NOT-A-CIPHER").map(|_| ()), "cipher list"),
        (t.set_ciphersuites("TLS_NOT_A_SUITE").map(|_| ()), "suites"),
        (t.set_groups("P-999").map(|_| ()), "groups"),
    ];
    for (r, what) in cases {
        let err = expect_err(r, what);
        assert_eq!(err.kind, ErrorKind::InvalidArgument, "{what}: {err}");
        assert!(!err.openssl.is_empty(), "{what}: no OpenSSL detail: {err}");
        assert!(err.openssl.iter().all(|e| !e.reason.is_empty()), "{err}");
    }
    let err = expect_err(t.set_ciphers("NOT-A-CIPHER"), "cipher list");
    assert_openssl(&err, "no cipher match");
    for r in [
        t.set_ciphers("").map(|_| ()),
        t.set_ciphersuites("").map(|_| ()),
        t.set_groups("").map(|_| ()),
        t.set_ciphers("AES\0").map(|_| ()),
    ] {
        assert_eq!(expect_err(r, "empty").kind, ErrorKind::InvalidArgument);
    }
    // Good values are accepted.
    t.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256").unwrap();
    t.set_ciphersuites("TLS_AES_256_GCM_SHA384").unwrap();
    t.set_groups("X25519:P-256").unwrap();
}

#[test]
fn groups_limit_the_key_exchange() {
    // A server limited to P-256 and a client limited to X25519 share no group: the handshake
    // fails on both sides. Either side's default list (both groups) agrees with the other.
    let p256_server = || {
        let mut s = server_tls();
        s.set_groups("P-256").unwrap();
        s
    };
    let x25519_client = || {
        let mut c = client_tls();
        c.set_groups("X25519").unwrap();
        c
    };
    let (server, srx) = serve(p256_server());
    let err = connect_fails(&server, x25519_client());
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    let serr = wait_error(&srx);
    assert_eq!(serr.kind, ErrorKind::Tls, "{serr}");
    assert!(!serr.openssl.is_empty(), "{serr}");
    connect_echo(&server, client_tls());
    wait_open(&srx);
    server.shutdown(WAIT).unwrap();

    let (server, srx) = serve(server_tls());
    connect_echo(&server, x25519_client());
    wait_open(&srx);
    server.shutdown(WAIT).unwrap();
}

#[test]
fn a_rejected_option_keeps_the_previous_value() {
    let mut s = server_tls();
    s.set_ciphersuites("TLS_AES_256_GCM_SHA384").unwrap();
    assert!(s.set_ciphersuites("TLS_NOT_A_SUITE").is_err());
    let (server, _srx) = serve(s);
    let client = connect_echo(&server, client_tls());
    assert_eq!(
        client.connection().info().tls.as_ref().unwrap().cipher,
        "TLS_AES_256_GCM_SHA384"
    );
    server.shutdown(WAIT).unwrap();
}

#[test]
fn min_version_above_max_is_rejected() {
    let mut t = TlsConfig::new();
    t.set_max_version(Some(TlsVersion::Tls12)).unwrap();
    let err = expect_err(t.set_min_version(TlsVersion::Tls13), "min > max");
    assert_eq!(err.kind, ErrorKind::InvalidArgument);

    let mut t = TlsConfig::new();
    t.set_min_version(TlsVersion::Tls13).unwrap();
    let err = expect_err(t.set_max_version(Some(TlsVersion::Tls12)), "max < min");
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    // Equal is fine, and so is lifting the maximum.
    t.set_max_version(Some(TlsVersion::Tls13)).unwrap();
    t.set_max_version(None).unwrap();
}

#[test]
fn alpn_names_are_checked() {
    let mut t = TlsConfig::new();
    assert_eq!(
        expect_err(t.set_alpn(&["h2", ""]), "empty ALPN").kind,
        ErrorKind::InvalidArgument
    );
    let long = "x".repeat(256);
    assert_eq!(
        expect_err(t.set_alpn(&[long.as_str()]), "long ALPN").kind,
        ErrorKind::InvalidArgument
    );
    let max = "y".repeat(255);
    t.set_alpn(&[max.as_str(), "wss-test"]).unwrap();
    t.set_alpn(&[]).unwrap();
}

#[test]
fn server_name_is_checked() {
    let mut t = TlsConfig::new();
    assert_eq!(
        expect_err(t.set_server_name(Some("")), "empty SNI").kind,
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        expect_err(t.set_server_name(Some("a\0b")), "NUL in SNI").kind,
        ErrorKind::InvalidArgument
    );
    t.set_server_name(Some("localhost")).unwrap();
    assert_eq!(t.server_name(), Some("localhost"));
    t.set_server_name(None).unwrap();
    assert_eq!(t.server_name(), None);
}

#[test]
fn server_without_certificate_fails_at_bind() {
    let (h, _rx) = recorder(false);
    let config = ServerConfig {
        tls: Some(TlsConfig::new()),
        ..Default::default()
    };
    let err = Server::bind("127.0.0.1:0", config, h).unwrap_err();
    assert_config(&err);
    assert!(err.message.contains("certificate"), "{err}");
}

#[test]
fn client_certificates_requested_without_a_ca_fail_at_bind() {
    for mode in [VerifyMode::Required, VerifyMode::Optional] {
        let mut t = server_tls();
        t.set_verify_mode(mode);
        let (h, _rx) = recorder(false);
        let config = ServerConfig {
            tls: Some(t),
            ..Default::default()
        };
        let err = Server::bind("127.0.0.1:0", config, h).unwrap_err();
        assert_config(&err);
        assert_hint(&err, "CA");
    }
}

// ------------------------------------------------------------------------------ dhparam

#[test]
fn dhparam_file_loads_and_enables_dhe() {
    let p = pki();
    let dir = temp();
    let dh = write(&dir, "ffdhe2048.pem", FFDHE2048_PEM.as_bytes());
    // A client that only speaks DHE (TLS 1.2), against an RSA server.
    let dhe_client = || {
        let mut c = client_tls();
        c.set_max_version(Some(TlsVersion::Tls12)).unwrap();
        c.set_ciphers("DHE-RSA-AES128-GCM-SHA256").unwrap();
        c
    };
    let rsa = || {
        let mut t = TlsConfig::new();
        t.load_pem_chain(&p.rsa_server_cert, &p.rsa_server_key, None)
            .unwrap();
        t
    };
    let mut with_dh = rsa();
    with_dh.load_dhparam_file(&dh).unwrap();
    let (server, _srx) = serve(with_dh);
    let client = connect_echo(&server, dhe_client());
    assert_eq!(
        client.connection().info().tls.as_ref().unwrap().cipher,
        "DHE-RSA-AES128-GCM-SHA256"
    );
    server.shutdown(WAIT).unwrap();

    // Generated parameters of the openssl crate load too.
    let generated = openssl::dh::Dh::get_2048_256()
        .unwrap()
        .params_to_pem()
        .unwrap();
    let gen_path = write(&dir, "rfc5114.pem", &generated);
    rsa().load_dhparam_file(&gen_path).unwrap();
}

#[test]
fn garbage_dhparam_file() {
    let p = pki();
    let mut t = TlsConfig::new();
    let err = expect_err(t.load_dhparam_file(&p.garbage_file), "garbage dhparam");
    assert_config(&err);
    assert!(!err.openssl.is_empty(), "{err}");
    mentions(&err, &p.garbage_file);
    // A certificate is not DH parameters either.
    let err = expect_err(t.load_dhparam_file(&p.ca_cert), "certificate as dhparam");
    assert_config(&err);
}
