//! The test PKI fixture (tests/common/pki.rs) holds what the certificate-fault tests rely on:
//! each broken certificate fails verification with its specific X509 error, and every file is
//! where the tests look for it and readable by the `openssl` CLI. The product generator itself
//! (`wss::pki`) is tested by its unit tests.

#[path = "common/pki.rs"]
mod pki;
// The PKI unit tests' helpers (verification, the openssl CLI): one copy for both.
#[allow(dead_code)]
#[path = "../src/pki/testing.rs"]
mod testing;

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{Id, PKey};
use openssl::ssl::SslFiletype;
use openssl::x509::store::{X509Lookup, X509Store, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{CrlStatus, X509Crl, X509PurposeId, X509};
use pki::{TempDir, TestPki, KEY_PASSWORD, PFX_PASSWORD};
use testing::{cli_ok, openssl_cli, s, verify_in as verify};
use wss::pki::{CertSpec, Issued, SECONDS_PER_DAY};

const OK: i32 = openssl_sys::X509_V_OK;
const NOT_YET_VALID: i32 = openssl_sys::X509_V_ERR_CERT_NOT_YET_VALID; // 9
const EXPIRED: i32 = openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED; // 10
const CRL_EXPIRED: i32 = openssl_sys::X509_V_ERR_CRL_HAS_EXPIRED; // 12
const NO_ISSUER: i32 = openssl_sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY; // 20
const REVOKED: i32 = openssl_sys::X509_V_ERR_CERT_REVOKED; // 23
const BAD_PURPOSE: i32 = openssl_sys::X509_V_ERR_INVALID_PURPOSE; // 26
const HOST_MISMATCH: i32 = openssl_sys::X509_V_ERR_HOSTNAME_MISMATCH; // 62
const IP_MISMATCH: i32 = openssl_sys::X509_V_ERR_IP_ADDRESS_MISMATCH; // 64

fn fixture() -> (TempDir, TestPki) {
    let tmp = TempDir::new("wss-pki-test").unwrap();
    let pki = TestPki::generate(tmp.path()).unwrap();
    (tmp, pki)
}

fn store_builder(trusted: &[&X509]) -> X509StoreBuilder {
    let mut b = X509StoreBuilder::new().unwrap();
    for c in trusted {
        b.add_cert((*c).clone()).unwrap();
    }
    b.set_flags(X509VerifyFlags::X509_STRICT).unwrap();
    b
}

fn store(trusted: &[&X509]) -> X509Store {
    store_builder(trusted).build()
}

fn verify_for(pki: &TestPki, leaf: &X509, param: X509VerifyParam) -> i32 {
    let mut b = store_builder(&[&pki.ca.cert]);
    b.set_param(&param).unwrap();
    verify(&b.build(), leaf, &[])
}

fn host_param(host: &str) -> X509VerifyParam {
    let mut p = X509VerifyParam::new().unwrap();
    p.set_host(host).unwrap();
    p
}

fn ip_param(ip: &str) -> X509VerifyParam {
    let mut p = X509VerifyParam::new().unwrap();
    p.set_ip(ip.parse().unwrap()).unwrap();
    p
}

fn sans(cert: &X509) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Some(names) = cert.subject_alt_names() {
        for n in &names {
            if let Some(d) = n.dnsname() {
                dns.push(d.to_owned());
            }
            if let Some(ip) = n.ipaddress() {
                ips.push(match ip.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(ip).unwrap()),
                    16 => IpAddr::from(<[u8; 16]>::try_from(ip).unwrap()),
                    n => panic!("bad IP SAN length {n}"),
                });
            }
        }
    }
    (dns, ips)
}

fn all_issued(pki: &TestPki) -> Vec<(&'static str, &Issued)> {
    vec![
        ("ca", &pki.ca),
        ("server", &pki.server),
        ("client", &pki.client),
        ("expired_server", &pki.expired_server),
        ("expired_client", &pki.expired_client),
        ("not_yet_valid_server", &pki.not_yet_valid_server),
        ("not_yet_valid_client", &pki.not_yet_valid_client),
        ("wrong_host_server", &pki.wrong_host_server),
        ("no_ip_san_server", &pki.no_ip_san_server),
        ("rogue_ca", &pki.rogue_ca),
        ("rogue_server", &pki.rogue_server),
        ("rogue_client", &pki.rogue_client),
        ("revoked_server", &pki.revoked_server),
        ("revoked_client", &pki.revoked_client),
        ("intermediate_ca", &pki.intermediate_ca),
        ("chain_server", &pki.chain_server),
        ("rsa_server", &pki.rsa_server),
    ]
}

#[test]
fn generates_into_the_folder_and_temp_dir_is_cleaned() {
    let tmp = TempDir::new("wss-pki-test").unwrap();
    let path = tmp.path().to_path_buf();
    let pki = TestPki::generate(&path).unwrap();
    assert_eq!(pki.dir, path);
    assert!(pki.server_cert.is_file());
    drop(tmp);
    assert!(!path.exists(), "TempDir was not removed");
}

#[test]
fn all_files_exist_with_expected_names() {
    let (_tmp, pki) = fixture();
    let hash = pki.ca.subject_hash();
    let expected = [
        "ca.pem",
        "ca.key",
        "server.pem",
        "server-leaf.pem",
        "server.key",
        "server-enc.key",
        "client.pem",
        "client.key",
        "expired-server.pem",
        "expired-server.key",
        "expired-client.pem",
        "expired-client.key",
        "not-yet-valid-server.pem",
        "not-yet-valid-server.key",
        "not-yet-valid-client.pem",
        "not-yet-valid-client.key",
        "wrong-host-server.pem",
        "wrong-host-server.key",
        "no-ip-san-server.pem",
        "no-ip-san-server.key",
        "rogue-ca.pem",
        "rogue-ca.key",
        "rogue-server.pem",
        "rogue-server.key",
        "rogue-client.pem",
        "rogue-client.key",
        "revoked-server.pem",
        "revoked-server.key",
        "revoked-client.pem",
        "revoked-client.key",
        "ca.crl.pem",
        "ca-expired.crl.pem",
        "client.p12",
        "server.p12",
        "intermediate-ca.pem",
        "intermediate-ca.key",
        "chain-server.pem",
        "chain-server.key",
        "rsa-server.pem",
        "rsa-server.key",
        "not-a-cert.pem",
        "mismatched.key",
        "ca-plain/root.pem",
        "ca-plain/notes.txt",
        "ca-unhashed/my-ca.pem",
        &format!("ca-hashed/{hash}.0"),
        &format!("ca-hashed/{hash}.r0"),
    ];
    for name in expected {
        assert!(pki.dir.join(name).is_file(), "missing {name}");
    }
    let list = |d: &Path| {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        list(&pki.hashed_ca_dir),
        [format!("{hash}.0"), format!("{hash}.r0")]
    );
    assert_eq!(list(&pki.plain_ca_dir), ["notes.txt", "root.pem"]);
    assert_eq!(list(&pki.unhashed_ca_dir), ["my-ca.pem"]);
    let paths = [
        (&pki.ca_cert, "ca.pem"),
        (&pki.server_cert, "server.pem"),
        (&pki.server_key_encrypted, "server-enc.key"),
        (&pki.crl, "ca.crl.pem"),
        (&pki.client_pfx, "client.p12"),
        (&pki.garbage_file, "not-a-cert.pem"),
        (&pki.mismatched_key, "mismatched.key"),
        (&pki.chain_server_cert, "chain-server.pem"),
    ];
    for (p, name) in paths {
        assert_eq!(*p, pki.dir.join(name));
    }
}

#[test]
fn good_leaves_verify_against_root() {
    let (_tmp, pki) = fixture();
    let st = store(&[&pki.ca.cert]);
    for (name, leaf) in [
        ("server", &pki.server),
        ("client", &pki.client),
        ("wrong_host_server", &pki.wrong_host_server),
        ("no_ip_san_server", &pki.no_ip_san_server),
        ("revoked_server", &pki.revoked_server),
        ("rsa_server", &pki.rsa_server),
        ("intermediate_ca", &pki.intermediate_ca),
    ] {
        assert_eq!(verify(&st, &leaf.cert, &[]), OK, "{name}");
    }
    // The intermediate is needed, and enough, for chain_server.
    assert_eq!(
        verify(&st, &pki.chain_server.cert, &[&pki.intermediate_ca.cert]),
        OK
    );
    assert_eq!(verify(&st, &pki.chain_server.cert, &[]), NO_ISSUER);
    // Certificates loaded back from the written files verify too.
    let chain = X509::stack_from_pem(&fs::read(&pki.chain_server_cert).unwrap()).unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(verify(&st, &chain[0], &[&chain[1]]), OK);
}

#[test]
fn faulty_leaves_fail_with_specific_errors() {
    let (_tmp, pki) = fixture();
    let st = store(&[&pki.ca.cert]);
    assert_eq!(verify(&st, &pki.rogue_server.cert, &[]), NO_ISSUER);
    assert_eq!(verify(&st, &pki.rogue_client.cert, &[]), NO_ISSUER);
    assert_eq!(verify(&st, &pki.expired_server.cert, &[]), EXPIRED);
    assert_eq!(verify(&st, &pki.expired_client.cert, &[]), EXPIRED);
    assert_eq!(
        verify(&st, &pki.not_yet_valid_server.cert, &[]),
        NOT_YET_VALID
    );
    assert_eq!(
        verify(&st, &pki.not_yet_valid_client.cert, &[]),
        NOT_YET_VALID
    );
    // Rogue leaves are fine against their own CA: only the trust is wrong.
    let rogue = store(&[&pki.rogue_ca.cert]);
    assert_eq!(verify(&rogue, &pki.rogue_server.cert, &[]), OK);
    assert_eq!(verify(&rogue, &pki.server.cert, &[]), NO_ISSUER);
}

#[test]
fn hostnames_ips_and_purposes() {
    let (_tmp, pki) = fixture();
    let server = &pki.server.cert;
    assert_eq!(verify_for(&pki, server, host_param("localhost")), OK);
    assert_eq!(verify_for(&pki, server, ip_param("127.0.0.1")), OK);
    assert_eq!(verify_for(&pki, server, ip_param("::1")), OK);
    assert_eq!(
        verify_for(&pki, server, host_param("wrong.example")),
        HOST_MISMATCH
    );
    let wrong = &pki.wrong_host_server.cert;
    assert_eq!(
        verify_for(&pki, wrong, host_param("localhost")),
        HOST_MISMATCH
    );
    assert_eq!(verify_for(&pki, wrong, ip_param("127.0.0.1")), IP_MISMATCH);
    assert_eq!(verify_for(&pki, wrong, host_param("wrong.example")), OK);
    let no_ip = &pki.no_ip_san_server.cert;
    assert_eq!(verify_for(&pki, no_ip, host_param("localhost")), OK);
    assert_eq!(verify_for(&pki, no_ip, ip_param("127.0.0.1")), IP_MISMATCH);
    assert_eq!(verify_for(&pki, no_ip, ip_param("::1")), IP_MISMATCH);

    let purpose_store = |p: X509PurposeId| {
        let mut b = store_builder(&[&pki.ca.cert]);
        b.set_purpose(p).unwrap();
        b.build()
    };
    let tls_server = purpose_store(X509PurposeId::SSL_SERVER);
    let tls_client = purpose_store(X509PurposeId::SSL_CLIENT);
    assert_eq!(verify(&tls_server, server, &[]), OK);
    assert_eq!(verify(&tls_server, &pki.rsa_server.cert, &[]), OK);
    assert_eq!(verify(&tls_server, &pki.client.cert, &[]), BAD_PURPOSE);
    assert_eq!(verify(&tls_client, &pki.client.cert, &[]), OK);
    assert_eq!(verify(&tls_client, server, &[]), BAD_PURPOSE);
}

#[test]
fn sans_are_as_specified() {
    let (_tmp, pki) = fixture();
    let v4: IpAddr = "127.0.0.1".parse().unwrap();
    let v6: IpAddr = "::1".parse().unwrap();
    for issued in [&pki.server, &pki.chain_server, &pki.rsa_server] {
        assert_eq!(
            sans(&issued.cert),
            (vec!["localhost".to_owned()], vec![v4, v6])
        );
    }
    assert_eq!(
        sans(&pki.wrong_host_server.cert),
        (vec!["wrong.example".to_owned()], vec![])
    );
    assert_eq!(
        sans(&pki.no_ip_san_server.cert),
        (vec!["localhost".to_owned()], vec![])
    );
    assert!(pki.client.cert.subject_alt_names().is_none());
    assert!(pki.ca.cert.subject_alt_names().is_none());
}

#[test]
fn names_keys_serials_and_extensions() {
    let (_tmp, pki) = fixture();
    assert_eq!(pki.ca.common_name(), "wss test root CA");
    assert_eq!(pki.client.common_name(), "wss test client");
    assert_eq!(pki.server.common_name(), "localhost");
    assert_eq!(pki.rogue_ca.common_name(), "rogue CA");

    let issued = all_issued(&pki);
    let mut serials = Vec::new();
    for (name, i) in &issued {
        assert!(i.key_matches_cert().unwrap(), "{name}");
        assert_eq!(i.cert.version(), 2, "{name} is not v3");
        // Every issuer has a P-256 key, so every signature is ECDSA/SHA-256.
        assert_eq!(
            i.cert.signature_algorithm().object().nid(),
            Nid::ECDSA_WITH_SHA256,
            "{name}"
        );
        let serial = i.cert.serial_number().to_bn().unwrap();
        assert!(!serial.is_negative() && serial.num_bits() == 64, "{name}");
        serials.push(serial.to_hex_str().unwrap().to_string());
        assert!(i.cert.subject_key_id().is_some(), "{name} lacks SKI");
        assert!(i.cert.authority_key_id().is_some(), "{name} lacks AKI");
    }
    serials.sort();
    serials.dedup();
    assert_eq!(serials.len(), issued.len(), "serials are not unique");

    assert_eq!(pki.rsa_server.key.id(), Id::RSA);
    assert_eq!(pki.rsa_server.key.bits(), 2048);
    assert_eq!(pki.server.key.id(), Id::EC);
    // The RSA leaf is issued by the EC root, so its signature is ECDSA.
    assert_eq!(
        pki.rsa_server.cert.signature_algorithm().object().nid(),
        Nid::ECDSA_WITH_SHA256
    );
    assert_eq!(
        pki.chain_server.cert.authority_key_id().unwrap().as_slice(),
        pki.intermediate_ca
            .cert
            .subject_key_id()
            .unwrap()
            .as_slice()
    );
    assert_eq!(
        pki.ca.cert.authority_key_id().unwrap().as_slice(),
        pki.ca.cert.subject_key_id().unwrap().as_slice()
    );

    let fixed = pki
        .ca
        .issue(&CertSpec::client("fixed").with_serial(42))
        .unwrap();
    assert_eq!(
        fixed.cert.serial_number().to_bn().unwrap().to_string(),
        "42"
    );
}

#[test]
fn key_files() {
    let (_tmp, pki) = fixture();
    let server_pub = pki.server.cert.public_key().unwrap();
    let plain = PKey::private_key_from_pem(&fs::read(&pki.server_key).unwrap()).unwrap();
    assert!(server_pub.public_eq(&plain));

    let enc = fs::read(&pki.server_key_encrypted).unwrap();
    assert!(String::from_utf8_lossy(&enc).contains("BEGIN ENCRYPTED PRIVATE KEY"));
    let dec = PKey::private_key_from_pem_passphrase(&enc, KEY_PASSWORD.as_bytes()).unwrap();
    assert!(server_pub.public_eq(&dec));
    assert!(PKey::private_key_from_pem_passphrase(&enc, b"wrong").is_err());

    let stray = PKey::private_key_from_pem(&fs::read(&pki.mismatched_key).unwrap()).unwrap();
    assert!(!server_pub.public_eq(&stray));
    for (name, i) in all_issued(&pki) {
        assert!(!i.cert.public_key().unwrap().public_eq(&stray), "{name}");
    }

    let rsa = PKey::private_key_from_pem(&fs::read(&pki.rsa_server_key).unwrap()).unwrap();
    assert_eq!(rsa.id(), Id::RSA);

    let chain = X509::stack_from_pem(&fs::read(&pki.server_cert).unwrap()).unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(
        chain[0].to_der().unwrap(),
        pki.server.cert.to_der().unwrap()
    );
    assert_eq!(chain[1].to_der().unwrap(), pki.ca.cert.to_der().unwrap());
    let leaf = X509::stack_from_pem(&fs::read(&pki.server_leaf_cert).unwrap()).unwrap();
    assert_eq!(leaf.len(), 1);

    let garbage = fs::read(&pki.garbage_file).unwrap();
    assert!(!garbage.is_empty());
    assert!(X509::from_pem(&garbage).is_err());
    assert!(!String::from_utf8_lossy(&garbage).contains("-----BEGIN"));

    let loaded = Issued::from_pem(
        &fs::read(&pki.client_cert).unwrap(),
        &fs::read(&pki.client_key).unwrap(),
    )
    .unwrap();
    assert!(loaded.key_matches_cert().unwrap());
    let wrong = Issued::from_pem(
        &fs::read(&pki.server_leaf_cert).unwrap(),
        &fs::read(&pki.mismatched_key).unwrap(),
    )
    .unwrap();
    assert!(!wrong.key_matches_cert().unwrap());
}

#[test]
fn pfx_files_open_only_with_the_password() {
    let (_tmp, pki) = fixture();
    for (path, issued) in [
        (&pki.client_pfx, &pki.client),
        (&pki.server_pfx, &pki.server),
    ] {
        let der = fs::read(path).unwrap();
        let p12 = Pkcs12::from_der(&der).unwrap();
        let parsed = p12.parse2(PFX_PASSWORD).unwrap();
        let cert = parsed.cert.unwrap();
        assert_eq!(cert.to_der().unwrap(), issued.cert.to_der().unwrap());
        assert!(cert.public_key().unwrap().public_eq(&parsed.pkey.unwrap()));
        let ca = parsed.ca.unwrap();
        assert_eq!(ca.len(), 1);
        assert_eq!(ca[0].to_der().unwrap(), pki.ca.cert.to_der().unwrap());
        assert!(p12.parse2("not-the-password").is_err());
    }
}

#[test]
fn crl_lists_both_revoked_serials() {
    let (_tmp, pki) = fixture();
    let crl = X509Crl::from_pem(&fs::read(&pki.crl).unwrap()).unwrap();
    assert!(crl.verify(&pki.ca.cert.public_key().unwrap()).unwrap());
    assert_eq!(
        crl.issuer_name().to_der().unwrap(),
        pki.ca.cert.subject_name().to_der().unwrap()
    );
    assert_eq!(crl.get_revoked().unwrap().len(), 2);
    assert!(matches!(
        crl.get_by_cert(&pki.revoked_server.cert),
        CrlStatus::Revoked(_)
    ));
    assert!(matches!(
        crl.get_by_cert(&pki.revoked_client.cert),
        CrlStatus::Revoked(_)
    ));
    assert!(matches!(
        crl.get_by_cert(&pki.server.cert),
        CrlStatus::NotRevoked
    ));
    let next = crl.next_update().unwrap();
    let now = Asn1Time::days_from_now(0).unwrap();
    let diff = now.diff(next).unwrap();
    let secs = i64::from(diff.days) * SECONDS_PER_DAY + i64::from(diff.secs);
    assert!((30 * SECONDS_PER_DAY - 60..=30 * SECONDS_PER_DAY).contains(&secs));
    assert!(crl.last_update() < now);
    // The hashed directory holds the very same CRL.
    let r0 = pki
        .hashed_ca_dir
        .join(format!("{}.r0", pki.ca.subject_hash()));
    assert_eq!(fs::read(r0).unwrap(), fs::read(&pki.crl).unwrap());

    let expired = X509Crl::from_pem(&fs::read(&pki.expired_crl).unwrap()).unwrap();
    assert!(expired.next_update().unwrap() < now);
    assert!(expired.last_update() < expired.next_update().unwrap());
    assert_eq!(expired.get_revoked().unwrap().len(), 2);

    // An empty CRL is valid too.
    let empty = X509Crl::from_pem(&pki.ca.crl(&[], 7).unwrap()).unwrap();
    assert!(empty.get_revoked().is_none_or(|r| r.is_empty()));

    if let Some(text) = cli_ok(&["crl", "-in", s(&pki.crl), "-noout", "-text"]) {
        for issued in [&pki.revoked_server, &pki.revoked_client] {
            let hex = issued
                .cert
                .serial_number()
                .to_bn()
                .unwrap()
                .to_hex_str()
                .unwrap();
            assert!(
                text.contains(&format!("Serial Number: {}", &*hex)),
                "serial {} missing from:\n{text}",
                &*hex
            );
        }
    }
}

#[test]
fn crl_checking_via_hashed_dir_and_files() {
    let (_tmp, pki) = fixture();
    let mut b = X509StoreBuilder::new().unwrap();
    b.add_lookup(X509Lookup::hash_dir())
        .unwrap()
        .add_dir(s(&pki.hashed_ca_dir), SslFiletype::PEM)
        .unwrap();
    b.set_flags(X509VerifyFlags::CRL_CHECK | X509VerifyFlags::X509_STRICT)
        .unwrap();
    let st = b.build();
    assert_eq!(verify(&st, &pki.server.cert, &[]), OK);
    assert_eq!(verify(&st, &pki.client.cert, &[]), OK);
    assert_eq!(verify(&st, &pki.revoked_server.cert, &[]), REVOKED);
    assert_eq!(verify(&st, &pki.revoked_client.cert, &[]), REVOKED);

    let mut b = X509StoreBuilder::new().unwrap();
    let lookup = b.add_lookup(X509Lookup::file()).unwrap();
    lookup
        .load_cert_file(&pki.ca_cert, SslFiletype::PEM)
        .unwrap();
    lookup
        .load_crl_file(&pki.expired_crl, SslFiletype::PEM)
        .unwrap();
    b.set_flags(X509VerifyFlags::CRL_CHECK).unwrap();
    assert_eq!(verify(&b.build(), &pki.server.cert, &[]), CRL_EXPIRED);
}

#[test]
fn hashed_name_matches_openssl_cli() {
    let (_tmp, pki) = fixture();
    let hash = pki.ca.subject_hash();
    assert_eq!(hash.len(), 8);
    assert!(hash
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    let file = pki.hashed_ca_dir.join(format!("{hash}.0"));
    assert_eq!(fs::read(file).unwrap(), fs::read(&pki.ca_cert).unwrap());
    if let Some(out) = cli_ok(&["x509", "-hash", "-noout", "-in", s(&pki.ca_cert)]) {
        assert_eq!(out.trim(), hash);
    }
}

#[test]
fn every_file_is_readable_by_openssl_cli() {
    let (_tmp, pki) = fixture();
    let d = &pki.dir;
    let hash = pki.ca.subject_hash();
    let mut certs: Vec<PathBuf> = [
        "ca.pem",
        "server.pem",
        "server-leaf.pem",
        "client.pem",
        "expired-server.pem",
        "expired-client.pem",
        "not-yet-valid-server.pem",
        "not-yet-valid-client.pem",
        "wrong-host-server.pem",
        "no-ip-san-server.pem",
        "rogue-ca.pem",
        "rogue-server.pem",
        "rogue-client.pem",
        "revoked-server.pem",
        "revoked-client.pem",
        "intermediate-ca.pem",
        "chain-server.pem",
        "rsa-server.pem",
        "ca-plain/root.pem",
        "ca-unhashed/my-ca.pem",
    ]
    .iter()
    .map(|n| d.join(n))
    .collect();
    certs.push(pki.hashed_ca_dir.join(format!("{hash}.0")));
    for c in &certs {
        if cli_ok(&["x509", "-noout", "-in", s(c)]).is_none() {
            return;
        }
    }
    for k in fs::read_dir(d).unwrap().map(|e| e.unwrap().path()) {
        if k.extension().is_some_and(|e| e == "key") && k != pki.server_key_encrypted {
            cli_ok(&["pkey", "-noout", "-in", s(&k)]);
        }
    }
    cli_ok(&[
        "pkey",
        "-noout",
        "-in",
        s(&pki.server_key_encrypted),
        "-passin",
        &format!("pass:{KEY_PASSWORD}"),
    ]);
    for crl in [
        pki.crl.clone(),
        pki.expired_crl.clone(),
        pki.hashed_ca_dir.join(format!("{hash}.r0")),
    ] {
        cli_ok(&["crl", "-noout", "-in", s(&crl)]);
    }
    for pfx in [&pki.client_pfx, &pki.server_pfx] {
        cli_ok(&[
            "pkcs12",
            "-noout",
            "-in",
            s(pfx),
            "-passin",
            &format!("pass:{PFX_PASSWORD}"),
        ]);
    }
    // And the CLI agrees about trust.
    cli_ok(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        s(&pki.ca_cert),
        "-untrusted",
        s(&pki.intermediate_ca_cert),
        s(&pki.server_leaf_cert),
        s(&pki.client_cert),
        s(&pki.chain_server_cert),
    ]);
    cli_ok(&[
        "verify",
        "-crl_check",
        "-CApath",
        s(&pki.hashed_ca_dir),
        s(&pki.server_leaf_cert),
    ]);
    let bad = openssl_cli(&["x509", "-noout", "-in", s(&pki.garbage_file)]).unwrap();
    assert!(!bad.status.success());
}
