//! Every certificate fault is rejected on the right side, with the right X509 code, the OpenSSL
//! queue and a hint surfaced to the host; the rejected peer gets the matching TLS alert; a server
//! keeps serving after every rejected handshake; hardened defaults and insecure opt-ins behave.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use common::pki::PFX_PASSWORD;
use common::*;
use openssl::hash::MessageDigest;
use wss::{
    Client, ClientConfig, Connection, Error, ErrorKind, MessageKind, Server, ServerConfig,
    TlsConfig, TlsVersion, VerifyMode,
};

// X509_V_ERR_* numbers.
const NOT_YET_VALID: i32 = 9;
const EXPIRED: i32 = 10;
const UNABLE_TO_GET_ISSUER_LOCALLY: i32 = 20;
const REVOKED: i32 = 23;
const HOSTNAME_MISMATCH: i32 = 62;
const IP_MISMATCH: i32 = 64;

const SERVER_CN: &str = "localhost";
const CLIENT_CN: &str = common::pki::TestPki::CLIENT_CN;
const CA_CN: &str = common::pki::TestPki::CA_CN;

// ------------------------------------------------------------------------------------- helpers

/// TLS config with the given PEM certificate (chain) and key.
fn identity(cert: &Path, key: &Path) -> TlsConfig {
    let mut t = TlsConfig::new();
    t.load_pem_chain(cert, key, None).expect("identity");
    t
}

/// Client TLS trusting the test CA and presenting the given certificate.
fn client_with(cert: &Path, key: &Path) -> TlsConfig {
    let mut t = client_tls();
    t.load_pem_chain(cert, key, None).expect("client identity");
    t
}

/// A wss echo server on 127.0.0.1, port 0; its handler records open/close/error events.
fn serve(tls: TlsConfig) -> (Server, Events) {
    let (h, rx) = recorder(true);
    let config = ServerConfig {
        tls: Some(tls),
        ..Default::default()
    };
    (Server::bind("127.0.0.1:0", config, h).expect("bind"), rx)
}

/// Connect to `scheme://host:port/echo` with `tls`.
fn connect_url(
    scheme: &str,
    host: &str,
    server: &Server,
    tls: Option<TlsConfig>,
) -> wss::Result<(Client, Events)> {
    let (h, rx) = recorder(false);
    let config = ClientConfig {
        tls,
        connect_timeout: WAIT,
        ..Default::default()
    };
    let url = format!("{scheme}://{host}:{}/echo", server.port());
    Client::connect(&url, &config, h).map(|c| (c, rx))
}

fn connect(host: &str, server: &Server, tls: TlsConfig) -> wss::Result<(Client, Events)> {
    connect_url("wss", host, server, Some(tls))
}

/// Connect, expecting failure.
fn connect_err(host: &str, server: &Server, tls: TlsConfig) -> Error {
    match connect(host, server, tls) {
        Ok(_) => panic!("the connection to {host} was expected to fail"),
        Err(e) => e,
    }
}

/// One text and one binary echo round trip; returns the open client for inspection.
fn echo(client: &Client, crx: &Events) {
    wait_open(crx);
    let conn = client.connection();
    conn.send_text("hello über TLS").unwrap();
    assert_eq!(
        wait_msg(crx),
        (MessageKind::Text, "hello über TLS".as_bytes().to_vec())
    );
    conn.send_binary(&[0, 1, 2, 255]).unwrap();
    assert_eq!(wait_msg(crx), (MessageKind::Binary, vec![0, 1, 2, 255]));
}

/// Connect with `tls` to `host`, echo, and return the client with the server side's connection.
fn connect_echo(host: &str, server: &Server, srx: &Events, tls: TlsConfig) -> (Client, Connection) {
    let (client, crx) = match connect(host, server, tls) {
        Ok(c) => c,
        Err(e) => panic!("connection to {host} failed: {e}"),
    };
    echo(&client, &crx);
    let sconn = wait_open(srx);
    (client, sconn)
}

/// The next error the server reported for a connection that never opened.
fn server_error(srx: &Events) -> Error {
    until(srx, |e| match e {
        Ev::Error(None, err) => Some(err.clone()),
        Ev::Error(Some(id), err) => panic!("unexpected error on open connection {id}: {err}"),
        _ => None,
    })
}

/// The OpenSSL queue is present, every entry names its library and reason, and one reason holds
/// `reason`.
fn assert_openssl(err: &Error, reason: &str) {
    assert!(!err.openssl.is_empty(), "no OpenSSL entries in: {err}");
    for e in &err.openssl {
        assert_ne!(e.code, 0, "{err}");
        assert!(!e.library.is_empty(), "entry without library in: {err}");
        assert!(!e.reason.is_empty(), "entry without reason in: {err}");
    }
    let hit = err
        .openssl
        .iter()
        .find(|e| e.reason.contains(reason))
        .unwrap_or_else(|| panic!("no OpenSSL reason containing '{reason}' in: {err}"));
    assert_eq!(hit.library, "SSL routines", "{err}");
    assert_eq!(hit.library_code(), 20, "ERR_LIB_SSL expected: {err}");
    assert!(
        err.message.contains(reason),
        "message lacks '{reason}': {err}"
    );
}

fn assert_hint(err: &Error, needle: &str) {
    let hint = err
        .hint
        .as_deref()
        .unwrap_or_else(|| panic!("no hint in: {err}"));
    assert!(!hint.is_empty(), "{err}");
    assert!(
        hint.to_lowercase().contains(&needle.to_lowercase()),
        "hint lacks '{needle}': {hint}"
    );
}

/// A certificate verification failure with full detail.
fn assert_verify(err: &Error, code: i32, cn: &str) {
    assert_eq!(err.kind, ErrorKind::CertVerify, "{err}");
    let v = err
        .verify
        .as_ref()
        .unwrap_or_else(|| panic!("no verify result in: {err}"));
    assert_eq!(v.code, code, "{err}");
    assert_eq!(v.depth, 0, "{err}");
    assert!(
        v.subject.contains(&format!("CN={cn}")),
        "subject '{}' lacks CN={cn}",
        v.subject
    );
    assert!(!v.text.is_empty());
    assert!(
        err.message.contains(&format!("X509 verify error {code}")),
        "{err}"
    );
    assert!(err.message.contains(&v.text), "{err}");
    assert_openssl(err, "certificate verify failed");
    assert!(err.hint.as_deref().is_some_and(|h| !h.is_empty()), "{err}");
}

/// The error the server host gets when a client aborted the handshake with an alert.
fn assert_server_saw_alert(err: &Error, alert: &str, hint: &str) {
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    assert!(
        err.verify.is_none(),
        "the server did not verify anything: {err}"
    );
    assert_openssl(err, alert);
    assert_hint(err, hint);
    assert_loopback_peer(err);
}

fn assert_loopback_peer(err: &Error) {
    let peer = err.peer.unwrap_or_else(|| panic!("no peer in: {err}"));
    assert!(peer.ip().is_loopback(), "{err}");
    assert_ne!(peer.port(), 0);
}

fn assert_peer_is(err: &Error, addr: SocketAddr) {
    assert_eq!(err.peer, Some(addr), "{err}");
}

/// The client side of a server-side rejection in TLS 1.3: the alert arrives after the client's
/// handshake finished (while sending the upgrade or reading its answer), and must still be
/// reported with its detail rather than as a bare reset.
fn assert_client_got_alert(err: &Error, server: &Server, alert: &str, hint: &str) {
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    assert_openssl(err, alert);
    assert_hint(err, hint);
    assert_peer_is(err, server.local_addr());
}

// ------------------------------------------------------------- client rejects the server

/// The client rejects the server's certificate: full detail on the client, the alert on the
/// server, and the server keeps serving a good client.
#[allow(clippy::too_many_arguments)]
fn client_rejects(
    server_tls: TlsConfig,
    host: &str,
    client: TlsConfig,
    code: i32,
    cn: &str,
    alert: &str,
    server_hint: &str,
    good_host: &str,
    good_client: TlsConfig,
) -> Error {
    let (server, srx) = serve(server_tls);
    let err = connect_err(host, &server, client);
    assert_verify(&err, code, cn);
    assert_peer_is(&err, server.local_addr());
    let serr = server_error(&srx);
    assert_server_saw_alert(&serr, alert, server_hint);
    connect_echo(good_host, &server, &srx, good_client);
    server.shutdown(WAIT).unwrap();
    err
}

fn insecure_client() -> TlsConfig {
    let mut t = TlsConfig::new();
    t.set_insecure_skip_peer_verification(true);
    t
}

#[test]
fn client_rejects_expired_server() {
    let p = pki();
    let err = client_rejects(
        identity(&p.expired_server_cert, &p.expired_server_key),
        "127.0.0.1",
        client_tls(),
        EXPIRED,
        SERVER_CN,
        "alert certificate expired",
        "expired",
        "127.0.0.1",
        insecure_client(),
    );
    assert_hint(&err, "expired");
}

#[test]
fn client_rejects_not_yet_valid_server() {
    let p = pki();
    let err = client_rejects(
        identity(&p.not_yet_valid_server_cert, &p.not_yet_valid_server_key),
        "127.0.0.1",
        client_tls(),
        NOT_YET_VALID,
        SERVER_CN,
        "alert bad certificate",
        "rejected our certificate",
        "127.0.0.1",
        insecure_client(),
    );
    assert_hint(&err, "not valid yet");
}

#[test]
fn client_rejects_server_from_untrusted_ca() {
    let p = pki();
    let mut trusts_rogue = TlsConfig::new();
    trusts_rogue.load_ca_file(&p.rogue_ca_cert).unwrap();
    let err = client_rejects(
        identity(&p.rogue_server_cert, &p.rogue_server_key),
        "127.0.0.1",
        client_tls(),
        UNABLE_TO_GET_ISSUER_LOCALLY,
        SERVER_CN,
        "alert unknown ca",
        "does not trust the CA",
        "127.0.0.1",
        trusts_rogue,
    );
    assert_hint(&err, "issuer");
}

#[test]
fn client_rejects_wrong_host_name() {
    let p = pki();
    // The same client, told which name the certificate carries, gets in.
    let mut by_name = client_tls();
    by_name.set_server_name(Some("wrong.example")).unwrap();
    let err = client_rejects(
        identity(&p.wrong_host_server_cert, &p.wrong_host_server_key),
        "localhost",
        client_tls(),
        HOSTNAME_MISMATCH,
        "wrong.example",
        "alert bad certificate",
        "rejected our certificate",
        "127.0.0.1",
        by_name,
    );
    assert_hint(&err, "DNS SAN");
    // OpenSSL says only "hostname mismatch": the message names both sides of the comparison.
    assert!(
        err.message
            .contains("expected localhost, the certificate lists DNS:wrong.example"),
        "{err}"
    );
}

#[test]
fn client_rejects_ip_without_ip_san() {
    let p = pki();
    let err = client_rejects(
        identity(&p.no_ip_san_server_cert, &p.no_ip_san_server_key),
        "127.0.0.1",
        client_tls(),
        IP_MISMATCH,
        SERVER_CN,
        "alert bad certificate",
        "rejected our certificate",
        // By the DNS name the certificate lists, it is fine.
        "localhost",
        client_tls(),
    );
    assert_hint(&err, "IP SAN");
    assert!(err.hint.as_deref().unwrap().contains("127.0.0.1"), "{err}");
    assert!(
        err.message
            .contains("expected 127.0.0.1, the certificate lists DNS:localhost"),
        "{err}"
    );
}

#[test]
fn client_rejects_revoked_server() {
    let p = pki();
    let mut with_crl = client_tls();
    with_crl.load_crl_file(&p.crl).unwrap();
    let err = client_rejects(
        identity(&p.revoked_server_cert, &p.revoked_server_key),
        "127.0.0.1",
        with_crl,
        REVOKED,
        SERVER_CN,
        "alert certificate revoked",
        "rejected our certificate",
        // Without the CRL the same certificate is accepted: the CRL made the difference.
        "127.0.0.1",
        client_tls(),
    );
    assert_hint(&err, "revoked");
}

#[test]
fn client_with_ca_folder_crl_rejects_revoked_server() {
    // The hashed CA folder carries the CRL as <hash>.r0: loading the folder enables the check.
    let p = pki();
    let mut from_dir = TlsConfig::new();
    from_dir.load_ca_dir(&p.hashed_ca_dir).unwrap();
    client_rejects(
        identity(&p.revoked_server_cert, &p.revoked_server_key),
        "127.0.0.1",
        from_dir,
        REVOKED,
        SERVER_CN,
        "alert certificate revoked",
        "rejected our certificate",
        "127.0.0.1",
        insecure_client(),
    );
}

// ------------------------------------------------------------- server rejects the client

/// The server (mutual TLS required) rejects the client's certificate: full detail on the server,
/// the alert on the client, and the server keeps serving a good client.
fn server_rejects(server_tls: TlsConfig, client: TlsConfig, code: i32, alert: &str) {
    let (server, srx) = serve(server_tls);
    let err = connect_err("127.0.0.1", &server, client);
    let serr = server_error(&srx);
    assert_verify(&serr, code, CLIENT_CN);
    assert_loopback_peer(&serr);
    assert_client_got_alert(&err, &server, alert, "certificate");
    connect_echo("127.0.0.1", &server, &srx, client_mtls());
    server.shutdown(WAIT).unwrap();
}

#[test]
fn server_requires_a_client_certificate() {
    let (server, srx) = serve(server_mtls());
    let err = connect_err("127.0.0.1", &server, client_tls());
    assert_client_got_alert(
        &err,
        &server,
        "alert certificate required",
        "requires a client certificate",
    );
    let serr = server_error(&srx);
    assert_eq!(serr.kind, ErrorKind::Tls, "{serr}");
    assert_openssl(&serr, "peer did not return a certificate");
    assert_hint(&serr, "client sent no certificate");
    assert_loopback_peer(&serr);
    connect_echo("127.0.0.1", &server, &srx, client_mtls());
    server.shutdown(WAIT).unwrap();
}

#[test]
fn server_rejects_expired_client() {
    let p = pki();
    server_rejects(
        server_mtls(),
        client_with(&p.expired_client_cert, &p.expired_client_key),
        EXPIRED,
        "alert certificate expired",
    );
}

#[test]
fn server_rejects_not_yet_valid_client() {
    let p = pki();
    server_rejects(
        server_mtls(),
        client_with(&p.not_yet_valid_client_cert, &p.not_yet_valid_client_key),
        NOT_YET_VALID,
        "alert bad certificate",
    );
}

#[test]
fn server_rejects_client_from_untrusted_ca() {
    let p = pki();
    server_rejects(
        server_mtls(),
        client_with(&p.rogue_client_cert, &p.rogue_client_key),
        UNABLE_TO_GET_ISSUER_LOCALLY,
        "alert unknown ca",
    );
}

#[test]
fn server_rejects_revoked_client() {
    let p = pki();
    let mut s = server_mtls();
    s.load_crl_file(&p.crl).unwrap();
    server_rejects(
        s,
        client_with(&p.revoked_client_cert, &p.revoked_client_key),
        REVOKED,
        "alert certificate revoked",
    );
}

/// Several bad clients in a row on one server, then a good one: nothing leaks or wedges.
#[test]
fn server_survives_a_series_of_bad_clients() {
    let p = pki();
    let mut s = server_mtls();
    s.load_crl_file(&p.crl).unwrap();
    let (server, srx) = serve(s);
    let bad = [
        (client_tls(), 0),
        (
            client_with(&p.expired_client_cert, &p.expired_client_key),
            EXPIRED,
        ),
        (
            client_with(&p.not_yet_valid_client_cert, &p.not_yet_valid_client_key),
            NOT_YET_VALID,
        ),
        (
            client_with(&p.rogue_client_cert, &p.rogue_client_key),
            UNABLE_TO_GET_ISSUER_LOCALLY,
        ),
        (
            client_with(&p.revoked_client_cert, &p.revoked_client_key),
            REVOKED,
        ),
    ];
    for (tls, code) in bad {
        let err = connect_err("127.0.0.1", &server, tls);
        assert_eq!(err.kind, ErrorKind::Tls, "{err}");
        assert_openssl(&err, "alert");
        let serr = server_error(&srx);
        if code == 0 {
            assert_openssl(&serr, "peer did not return a certificate");
        } else {
            assert_eq!(serr.verify.as_ref().map(|v| v.code), Some(code), "{serr}");
        }
    }
    connect_echo("127.0.0.1", &server, &srx, client_mtls());
    server.shutdown(WAIT).unwrap();
    assert_eq!(server.active_connections(), 0);
}

// ------------------------------------------------------------------------ accepted peers

fn fingerprint(cert: &openssl::x509::X509) -> String {
    cert.digest(MessageDigest::sha256())
        .unwrap()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn serial_hex(cert: &openssl::x509::X509) -> String {
    cert.serial_number()
        .to_bn()
        .unwrap()
        .to_hex_str()
        .unwrap()
        .to_string()
}

#[test]
fn mutual_tls_accepted_with_certificate_details() {
    let p = pki();
    let (server, srx) = serve(server_mtls());
    let (client, sconn) = connect_echo("localhost", &server, &srx, client_mtls());

    // Server side: the client's certificate, verified.
    let tls = sconn.info().tls.as_ref().expect("server TLS info");
    assert_eq!(tls.version, "TLSv1.3");
    assert!(tls.cipher.starts_with("TLS_"), "{}", tls.cipher);
    assert_eq!(tls.server_name.as_deref(), Some("localhost"));
    assert_eq!(tls.alpn, None);
    let pc = tls.peer_certificate.as_ref().expect("client certificate");
    assert!(pc.subject.contains(&format!("CN={CLIENT_CN}")), "{pc:?}");
    assert!(pc.issuer.contains(&format!("CN={CA_CN}")), "{pc:?}");
    assert_eq!(pc.serial, serial_hex(&p.client.cert));
    assert!(pc.serial.bytes().all(|b| b.is_ascii_hexdigit()));
    let pairs: Vec<&str> = pc.sha256_fingerprint.split(':').collect();
    assert_eq!(pairs.len(), 32, "{}", pc.sha256_fingerprint);
    assert!(pairs
        .iter()
        .all(|h| h.len() == 2 && h.bytes().all(|b| b.is_ascii_hexdigit())));
    assert_eq!(pc.sha256_fingerprint, fingerprint(&p.client.cert));
    assert!(
        pc.sans.is_empty(),
        "the test client cert has no SAN: {pc:?}"
    );
    assert!(!pc.not_before.is_empty() && !pc.not_after.is_empty());
    assert!(pc.verified);

    // Client side: the server's certificate with its SANs, verified.
    let ctls = client
        .connection()
        .info()
        .tls
        .as_ref()
        .expect("client TLS info");
    assert_eq!(ctls.version, "TLSv1.3");
    assert_eq!(ctls.cipher, tls.cipher);
    let sc = ctls.peer_certificate.as_ref().expect("server certificate");
    assert!(sc.subject.contains("CN=localhost"), "{sc:?}");
    assert!(sc.issuer.contains(&format!("CN={CA_CN}")), "{sc:?}");
    for san in ["DNS:localhost", "IP:127.0.0.1", "IP:::1"] {
        assert!(sc.sans.iter().any(|s| s == san), "{san} missing: {sc:?}");
    }
    assert_eq!(sc.sha256_fingerprint, fingerprint(&p.server.cert));
    assert!(sc.verified);
    server.shutdown(WAIT).unwrap();
}

#[test]
fn server_without_client_auth_reports_no_peer_certificate() {
    let (server, srx) = serve(server_tls());
    let (_client, sconn) = connect_echo("127.0.0.1", &server, &srx, client_mtls());
    let tls = sconn.info().tls.as_ref().unwrap();
    // Not requested, so not sent.
    assert!(tls.peer_certificate.is_none(), "{tls:?}");
    server.shutdown(WAIT).unwrap();
}

#[test]
fn optional_client_certificate() {
    let p = pki();
    let mut s = server_mtls();
    s.set_verify_mode(VerifyMode::Optional);
    let (server, srx) = serve(s);

    // No certificate: accepted, none reported.
    let (_c1, sconn) = connect_echo("127.0.0.1", &server, &srx, client_tls());
    assert!(sconn
        .info()
        .tls
        .as_ref()
        .unwrap()
        .peer_certificate
        .is_none());

    // A good certificate: accepted and verified.
    let (_c2, sconn) = connect_echo("127.0.0.1", &server, &srx, client_mtls());
    let pc = sconn.info().tls.as_ref().unwrap().peer_certificate.clone();
    assert!(pc.is_some_and(|c| c.verified && c.subject.contains(CLIENT_CN)));

    // A certificate that does not verify: rejected, never fail-open.
    let err = connect_err(
        "127.0.0.1",
        &server,
        client_with(&p.rogue_client_cert, &p.rogue_client_key),
    );
    let serr = server_error(&srx);
    assert_verify(&serr, UNABLE_TO_GET_ISSUER_LOCALLY, CLIENT_CN);
    assert_client_got_alert(&err, &server, "alert unknown ca", "trust");
    // Same for an expired one.
    let err = connect_err(
        "127.0.0.1",
        &server,
        client_with(&p.expired_client_cert, &p.expired_client_key),
    );
    assert_verify(&server_error(&srx), EXPIRED, CLIENT_CN);
    assert_client_got_alert(&err, &server, "alert certificate expired", "expired");

    connect_echo("127.0.0.1", &server, &srx, client_tls());
    server.shutdown(WAIT).unwrap();
}

#[test]
fn mutual_tls_with_pfx_files_and_hashed_ca_folder() {
    let p = pki();
    let mut s = TlsConfig::new();
    s.load_pfx_file(&p.server_pfx, PFX_PASSWORD).unwrap();
    s.load_ca_dir(&p.hashed_ca_dir).unwrap();
    s.set_verify_mode(VerifyMode::Required);
    let (server, srx) = serve(s);
    let mut c = TlsConfig::new();
    c.load_pfx_file(&p.client_pfx, PFX_PASSWORD).unwrap();
    c.load_ca_dir(&p.hashed_ca_dir).unwrap();
    let (client, sconn) = connect_echo("127.0.0.1", &server, &srx, c);
    let pc = sconn.info().tls.as_ref().unwrap().peer_certificate.clone();
    assert!(pc.is_some_and(|c| c.verified && c.subject.contains(CLIENT_CN)));
    let sc = client.connection().info().tls.as_ref().unwrap();
    assert!(sc.peer_certificate.as_ref().is_some_and(|c| c.verified));
    server.shutdown(WAIT).unwrap();
}

#[test]
fn mutual_tls_with_plain_ca_folder() {
    let p = pki();
    let mut s = server_tls();
    s.load_ca_dir(&p.plain_ca_dir).unwrap();
    s.set_verify_mode(VerifyMode::Required);
    let (server, srx) = serve(s);
    let mut c = TlsConfig::new();
    c.load_ca_dir(&p.plain_ca_dir).unwrap();
    c.load_pfx_file(&p.client_pfx, PFX_PASSWORD).unwrap();
    let (_client, sconn) = connect_echo("127.0.0.1", &server, &srx, c);
    let pc = sconn.info().tls.as_ref().unwrap().peer_certificate.clone();
    assert!(pc.is_some_and(|c| c.verified));
    // The plain folder trusts only our CA: a rogue client is still refused.
    let err = connect_err(
        "127.0.0.1",
        &server,
        client_with(&p.rogue_client_cert, &p.rogue_client_key),
    );
    assert_verify(&server_error(&srx), UNABLE_TO_GET_ISSUER_LOCALLY, CLIENT_CN);
    assert_client_got_alert(&err, &server, "alert unknown ca", "trust");
    server.shutdown(WAIT).unwrap();
}

#[test]
fn intermediate_chain_trusted_via_root_only() {
    let p = pki();
    let (server, srx) = serve(identity(&p.chain_server_cert, &p.chain_server_key));
    let (client, _) = connect_echo("127.0.0.1", &server, &srx, client_tls());
    let sc = client
        .connection()
        .info()
        .tls
        .as_ref()
        .unwrap()
        .peer_certificate
        .clone()
        .unwrap();
    assert!(sc.issuer.contains("CN=wss test intermediate CA"), "{sc:?}");
    assert!(sc.verified);

    // Served without its intermediate, the leaf cannot be chained to the root.
    let mut leaf_only = TlsConfig::new();
    leaf_only
        .load_pem_chain_mem(
            &p.chain_server.cert_pem().unwrap(),
            &p.chain_server.key_pem().unwrap(),
            None,
        )
        .unwrap();
    let (server2, srx2) = serve(leaf_only);
    let err = connect_err("127.0.0.1", &server2, client_tls());
    assert_verify(&err, UNABLE_TO_GET_ISSUER_LOCALLY, SERVER_CN);
    assert_server_saw_alert(&server_error(&srx2), "alert unknown ca", "trust");
    server.shutdown(WAIT).unwrap();
    server2.shutdown(WAIT).unwrap();
}

// ------------------------------------------------------------------ versions and ciphers

#[test]
fn no_common_tls_version_fails_on_both_sides_with_a_hint() {
    let mut s = server_tls();
    s.set_max_version(Some(TlsVersion::Tls12)).unwrap();
    let (server, srx) = serve(s);
    let mut c = client_tls();
    c.set_min_version(TlsVersion::Tls13).unwrap();
    let err = connect_err("127.0.0.1", &server, c);
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    assert_openssl(&err, "alert protocol version");
    assert_hint(&err, "version");
    assert_peer_is(&err, server.local_addr());
    let serr = server_error(&srx);
    assert_eq!(serr.kind, ErrorKind::Tls, "{serr}");
    assert_openssl(&serr, "unsupported protocol");
    assert_hint(&serr, "version");
    connect_echo("127.0.0.1", &server, &srx, client_tls());
    server.shutdown(WAIT).unwrap();
}

fn is_ecdhe_aead(cipher: &str) -> bool {
    cipher.starts_with("ECDHE-")
        && (cipher.contains("-GCM-") || cipher.contains("CHACHA20-POLY1305"))
}

#[test]
fn tls12_negotiates_an_ecdhe_aead_cipher() {
    let p = pki();
    for (stls, kind) in [
        (server_tls(), "ECDSA"),
        (identity(&p.rsa_server_cert, &p.rsa_server_key), "RSA"),
    ] {
        let (server, srx) = serve(stls);
        let mut c = client_tls();
        c.set_max_version(Some(TlsVersion::Tls12)).unwrap();
        let (client, sconn) = connect_echo("127.0.0.1", &server, &srx, c);
        for info in [
            client.connection().info().tls.as_ref().unwrap(),
            sconn.info().tls.as_ref().unwrap(),
        ] {
            assert_eq!(info.version, "TLSv1.2");
            assert!(is_ecdhe_aead(&info.cipher), "{}", info.cipher);
            assert!(info.cipher.contains(kind), "{}", info.cipher);
        }
        server.shutdown(WAIT).unwrap();
    }
}

#[test]
fn server_cipher_preference_wins_in_tls12() {
    // The client prefers AES-256 then CHACHA20; the server's order puts AES-128-GCM first.
    let (server, srx) = serve(server_tls());
    let mut c = client_tls();
    c.set_max_version(Some(TlsVersion::Tls12)).unwrap();
    c.set_ciphers(
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
    )
    .unwrap();
    let (client, _) = connect_echo("127.0.0.1", &server, &srx, c);
    let info = client.connection().info().tls.clone().unwrap();
    assert_eq!(info.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
    server.shutdown(WAIT).unwrap();
}

#[test]
fn tls13_with_rsa_server_certificate() {
    let p = pki();
    let (server, srx) = serve(identity(&p.rsa_server_cert, &p.rsa_server_key));
    let (client, sconn) = connect_echo("127.0.0.1", &server, &srx, client_tls());
    let info = client.connection().info().tls.clone().unwrap();
    assert_eq!(info.version, "TLSv1.3");
    assert_eq!(sconn.info().tls.as_ref().unwrap().version, "TLSv1.3");
    let sc = info.peer_certificate.unwrap();
    assert_eq!(sc.sha256_fingerprint, fingerprint(&p.rsa_server.cert));
    assert!(sc.verified);
    server.shutdown(WAIT).unwrap();
}

#[test]
fn alpn_negotiated_when_both_sides_set_it() {
    let mut s = server_tls();
    s.set_alpn(&["wss-test", "other"]).unwrap();
    let (server, srx) = serve(s);
    let mut c = client_tls();
    c.set_alpn(&["nope", "wss-test"]).unwrap();
    let (client, sconn) = connect_echo("127.0.0.1", &server, &srx, c);
    assert_eq!(
        client
            .connection()
            .info()
            .tls
            .as_ref()
            .unwrap()
            .alpn
            .as_deref(),
        Some("wss-test")
    );
    assert_eq!(
        sconn.info().tls.as_ref().unwrap().alpn.as_deref(),
        Some("wss-test")
    );
    // No overlap: the server does not acknowledge ALPN, the connection still works.
    let mut c = client_tls();
    c.set_alpn(&["nope"]).unwrap();
    let (client, sconn) = connect_echo("127.0.0.1", &server, &srx, c);
    assert_eq!(client.connection().info().tls.as_ref().unwrap().alpn, None);
    assert_eq!(sconn.info().tls.as_ref().unwrap().alpn, None);
    // A client without ALPN: none reported.
    let (client, _) = connect_echo("127.0.0.1", &server, &srx, client_tls());
    assert_eq!(client.connection().info().tls.as_ref().unwrap().alpn, None);
    server.shutdown(WAIT).unwrap();
}

/// A client restricted to `ciphers` (TLS 1.2) fails against a default server, although a server
/// that allows everything accepts the very same client (so the default policy is what refused).
fn weak_cipher_refused(server_cert: &Path, server_key: &Path, ciphers: &str) {
    let client = || {
        let mut c = client_tls();
        c.set_max_version(Some(TlsVersion::Tls12)).unwrap();
        c.set_ciphers(ciphers).unwrap();
        c
    };
    // Control: a permissive server accepts this client.
    let mut lax = identity(server_cert, server_key);
    lax.set_ciphers("ALL").unwrap();
    let (lax_server, lax_rx) = serve(lax);
    let (c, _) = connect_echo("127.0.0.1", &lax_server, &lax_rx, client());
    let negotiated = c.connection().info().tls.as_ref().unwrap().cipher.clone();
    assert_eq!(
        negotiated, ciphers,
        "control connection used another cipher"
    );
    lax_server.shutdown(WAIT).unwrap();

    let (server, srx) = serve(identity(server_cert, server_key));
    let err = connect_err("127.0.0.1", &server, client());
    assert_eq!(err.kind, ErrorKind::Tls, "{ciphers}: {err}");
    assert_openssl(&err, "alert handshake failure");
    assert_hint(&err, "cipher");
    let serr = server_error(&srx);
    assert_openssl(&serr, "no shared cipher");
    assert_hint(&serr, "cipher");
    connect_echo("127.0.0.1", &server, &srx, client_tls());
    server.shutdown(WAIT).unwrap();
}

#[test]
fn default_server_refuses_static_rsa_and_cbc_suites() {
    let p = pki();
    let (rsa_cert, rsa_key) = (&p.rsa_server_cert, &p.rsa_server_key);
    // Static RSA key exchange (no forward secrecy), even with an AEAD cipher.
    weak_cipher_refused(rsa_cert, rsa_key, "AES128-GCM-SHA256");
    // Static RSA with CBC.
    weak_cipher_refused(rsa_cert, rsa_key, "AES128-SHA256");
    // Forward secret but CBC.
    weak_cipher_refused(rsa_cert, rsa_key, "ECDHE-RSA-AES128-SHA256");
    weak_cipher_refused(&p.server_cert, &p.server_key, "ECDHE-ECDSA-AES128-SHA256");
    weak_cipher_refused(&p.server_cert, &p.server_key, "ECDHE-ECDSA-AES256-SHA");
}

#[test]
fn default_server_refuses_tls11() {
    use openssl::ssl::{SslConnector, SslMethod, SslVersion};
    let (server, srx) = serve(server_tls());
    let mut b = SslConnector::builder(SslMethod::tls_client()).unwrap();
    b.set_security_level(0);
    b.set_cipher_list("DEFAULT:@SECLEVEL=0").unwrap();
    b.set_min_proto_version(Some(SslVersion::TLS1)).unwrap();
    b.set_max_proto_version(Some(SslVersion::TLS1_1)).unwrap();
    b.set_verify(openssl::ssl::SslVerifyMode::NONE);
    let tcp = std::net::TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let r = b.build().connect("localhost", tcp);
    assert!(r.is_err(), "a TLS 1.1 handshake must fail");
    let serr = server_error(&srx);
    assert_openssl(&serr, "unsupported protocol");
    assert_hint(&serr, "version");
    server.shutdown(WAIT).unwrap();
}

// ------------------------------------------------------------------------- ws versus wss

#[test]
fn ws_client_against_wss_server_fails_cleanly() {
    let (server, srx) = serve(server_tls());
    let start = Instant::now();
    let err = match connect_url("ws", "127.0.0.1", &server, None) {
        Ok(_) => panic!("a plain client must not get through a TLS port"),
        Err(e) => e,
    };
    // Fails at once (the server answers the plain request by closing), not by a timeout.
    assert!(start.elapsed() < WAIT / 2, "took {:?}", start.elapsed());
    assert!(
        matches!(err.kind, ErrorKind::Io | ErrorKind::Handshake),
        "{err}"
    );
    assert!(!err.message.is_empty());
    assert_peer_is(&err, server.local_addr());
    // The server host learns why: a plain HTTP request arrived on its TLS port.
    let serr = server_error(&srx);
    assert_eq!(serr.kind, ErrorKind::Tls, "{serr}");
    assert_openssl(&serr, "http request");
    assert_hint(&serr, "wss://");
    connect_echo("127.0.0.1", &server, &srx, client_tls());
    server.shutdown(WAIT).unwrap();
}

#[test]
fn wss_client_against_ws_server_fails_with_scheme_hint() {
    let (h, _srx) = recorder(true);
    let server = Server::bind("127.0.0.1:0", ServerConfig::default(), h).unwrap();
    let start = Instant::now();
    let err = connect_err("127.0.0.1", &server, client_tls());
    assert!(start.elapsed() < WAIT / 2, "took {:?}", start.elapsed());
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    assert_openssl(&err, "wrong version number");
    assert_hint(&err, "ws:// versus wss://");
    assert_peer_is(&err, server.local_addr());
    // The plain server still serves plain clients.
    let (client, crx) = connect_url("ws", "127.0.0.1", &server, None).unwrap();
    echo(&client, &crx);
    server.shutdown(WAIT).unwrap();
}

// ---------------------------------------------------------------------- insecure opt-ins

#[test]
fn insecure_skip_peer_verification_connects_to_untrusted_server() {
    let p = pki();
    let (server, srx) = serve(identity(&p.rogue_server_cert, &p.rogue_server_key));
    let mut c = client_tls();
    c.set_insecure_skip_peer_verification(true);
    let (client, _) = connect_echo("127.0.0.1", &server, &srx, c);
    let info = client.connection().info().tls.clone().unwrap();
    let pc = info
        .peer_certificate
        .expect("the certificate is still reported");
    assert!(
        !pc.verified,
        "skipping verification must report verified == false"
    );
    assert!(pc.issuer.contains("CN=rogue CA"), "{pc:?}");
    server.shutdown(WAIT).unwrap();
}

#[test]
fn insecure_skip_peer_verification_also_accepts_expired_and_wrong_host() {
    let p = pki();
    for (cert, key, host) in [
        (&p.expired_server_cert, &p.expired_server_key, "127.0.0.1"),
        (
            &p.wrong_host_server_cert,
            &p.wrong_host_server_key,
            "localhost",
        ),
    ] {
        let (server, srx) = serve(identity(cert, key));
        let mut c = client_tls();
        c.set_insecure_skip_peer_verification(true);
        let (client, _) = connect_echo(host, &server, &srx, c);
        let pc = client
            .connection()
            .info()
            .tls
            .clone()
            .unwrap()
            .peer_certificate;
        assert!(pc.is_some_and(|c| !c.verified));
        server.shutdown(WAIT).unwrap();
    }
}

#[test]
fn insecure_skip_hostname_verification_connects_to_wrong_host() {
    let p = pki();
    let (server, srx) = serve(identity(
        &p.wrong_host_server_cert,
        &p.wrong_host_server_key,
    ));
    let mut c = client_tls();
    c.set_insecure_skip_hostname_verification(true);
    let (client, _) = connect_echo("localhost", &server, &srx, c);
    let pc = client
        .connection()
        .info()
        .tls
        .clone()
        .unwrap()
        .peer_certificate
        .unwrap();
    // The chain was still verified; only the name check was skipped.
    assert!(pc.verified);
    assert!(pc.subject.contains("CN=wrong.example"));
    // Also by IP address.
    let mut c = client_tls();
    c.set_insecure_skip_hostname_verification(true);
    connect_echo("127.0.0.1", &server, &srx, c);
    server.shutdown(WAIT).unwrap();
}

#[test]
fn skipping_hostname_verification_still_verifies_the_chain() {
    let p = pki();
    for (cert, key, code) in [
        (
            &p.rogue_server_cert,
            &p.rogue_server_key,
            UNABLE_TO_GET_ISSUER_LOCALLY,
        ),
        (&p.expired_server_cert, &p.expired_server_key, EXPIRED),
    ] {
        let (server, srx) = serve(identity(cert, key));
        let mut c = client_tls();
        c.set_insecure_skip_hostname_verification(true);
        let err = connect_err("localhost", &server, c);
        assert_verify(&err, code, SERVER_CN);
        server_error(&srx);
        server.shutdown(WAIT).unwrap();
    }
}

#[test]
fn host_names_come_from_subject_alt_names_only() {
    // A certificate whose only name is its CN (no SAN) is not accepted for that name, and a
    // partial wildcard SAN does not match.
    let p = pki();
    let cn_only =
        p.ca.issue(&wss::pki::CertSpec::server("localhost", &[], &[]))
            .unwrap();
    let mut tls = TlsConfig::new();
    tls.load_pem_chain_mem(
        &cn_only.cert_pem().unwrap(),
        &cn_only.key_pem().unwrap(),
        None,
    )
    .unwrap();
    let (server, srx) = serve(tls);
    let err = connect_err("localhost", &server, client_tls());
    assert_eq!(err.kind, ErrorKind::CertVerify, "{err}");
    assert_eq!(err.verify.as_ref().unwrap().code, HOSTNAME_MISMATCH);
    assert_server_saw_alert(&server_error(&srx), "alert bad certificate", "rejected");

    let wild =
        p.ca.issue(&wss::pki::CertSpec::server("w", &["l*host"], &[]))
            .unwrap();
    let mut tls = TlsConfig::new();
    tls.load_pem_chain_mem(&wild.cert_pem().unwrap(), &wild.key_pem().unwrap(), None)
        .unwrap();
    let (server, srx) = serve(tls);
    let err = connect_err("localhost", &server, client_tls());
    assert_eq!(
        err.verify.as_ref().unwrap().code,
        HOSTNAME_MISMATCH,
        "{err}"
    );
    assert_server_saw_alert(&server_error(&srx), "alert bad certificate", "rejected");
}
