//! The test PKI: every certificate, key, CRL, PFX and CA folder the tests need, including the
//! broken ones of the certificate-fault matrix, with fixed passwords. Built on the product API
//! (`wss::pki`); test-only, so it lives here and not in the library.
//!
//! Used through `mod common;` (`common::pki()`), or on its own with
//! `#[path = "common/pki.rs"] mod pki;`.
#![allow(dead_code)]

use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use openssl::x509::X509;
use wss::pki::{write_hashed_ca_dir, write_private, write_public, CertSpec, Issued, KeyKind};
use wss::{Error, ErrorKind, Result};

/// Password of the encrypted server key written by [`TestPki::generate`].
pub const KEY_PASSWORD: &str = "key-pass";

/// Password of the PKCS#12 files written by [`TestPki::generate`].
pub const PFX_PASSWORD: &str = "pfx-pass";

/// A uniquely named directory under [`std::env::temp_dir`], deleted with its
/// contents when dropped. Handy for tests: `TestPki::generate(tmp.path())`.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `<temp>/<prefix>-<pid>-<counter>-<nanos>`.
    pub fn new(prefix: &str) -> io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        let mut last_err = None;
        for _ in 0..16 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = base.join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("cannot create a temporary directory")))
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// The complete fixture set the tests need, written as files under `dir`.
///
/// All files are PEM unless noted; keys are unencrypted PKCS#8 unless noted. Every leaf is
/// P-256 except `rsa_server`; all are valid from yesterday for `CertSpec::LEAF_DAYS` (CAs
/// `CertSpec::CA_DAYS`) unless stated otherwise. Each certificate is available both as an
/// [`Issued`] field and as file path fields.
///
/// | field(s) | file(s) | contents |
/// |---|---|---|
/// | `ca`, `ca_cert`, `ca_key` | `ca.pem`, `ca.key` | root CA "wss test root CA" |
/// | `server`, `server_cert`, `server_key` | `server.pem`, `server.key` | CN localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1, serverAuth; `server.pem` = leaf + root CA |
/// | `server_leaf_cert` | `server-leaf.pem` | the same server certificate alone |
/// | `server_key_encrypted` | `server-enc.key` | server key, PKCS#8 AES-256-CBC, password [`KEY_PASSWORD`] |
/// | `client`, `client_cert`, `client_key` | `client.pem`, `client.key` | CN "wss test client", clientAuth |
/// | `expired_server`, `expired_client` | `expired-server.pem/.key`, `expired-client.pem/.key` | valid −30 … −1 days |
/// | `not_yet_valid_server`, `not_yet_valid_client` | `not-yet-valid-server.pem/.key`, `not-yet-valid-client.pem/.key` | valid +1 … +30 days |
/// | `wrong_host_server` | `wrong-host-server.pem/.key` | SAN DNS:wrong.example only |
/// | `no_ip_san_server` | `no-ip-san-server.pem/.key` | SAN DNS:localhost only (no IP entries) |
/// | `rogue_ca` | `rogue-ca.pem/.key` | untrusted CA "rogue CA" |
/// | `rogue_server`, `rogue_client` | `rogue-server.pem/.key`, `rogue-client.pem/.key` | like server/client, signed by the rogue CA |
/// | `revoked_server`, `revoked_client` | `revoked-server.pem/.key`, `revoked-client.pem/.key` | like server/client, listed in the CRL |
/// | `crl` | `ca.crl.pem` | root CA's CRL revoking the two `revoked_*` serials, next update +30 days |
/// | `expired_crl` | `ca-expired.crl.pem` | same serials, next update −1 day (expired) |
/// | `client_pfx`, `server_pfx` | `client.p12`, `server.p12` (DER) | key + cert + root CA, password [`PFX_PASSWORD`] |
/// | `hashed_ca_dir` | `ca-hashed/<hash>.0`, `ca-hashed/<hash>.r0` | root CA and its CRL named by subject hash |
/// | `plain_ca_dir` | `ca-plain/root.pem`, `ca-plain/notes.txt` | root CA plus a junk text file |
/// | `unhashed_ca_dir` | `ca-unhashed/my-ca.pem` | root CA under a non-hash name |
/// | `intermediate_ca` | `intermediate-ca.pem/.key` | CA signed by the root |
/// | `chain_server`, `chain_server_cert`, `chain_server_key` | `chain-server.pem`, `chain-server.key` | like server, signed by the intermediate; `.pem` = leaf + intermediate |
/// | `rsa_server` | `rsa-server.pem/.key` | like server, RSA-2048 key (keyEncipherment too) |
/// | `garbage_file` | `not-a-cert.pem` | plain text, not PEM |
/// | `mismatched_key` | `mismatched.key` | a P-256 key matching none of the certificates |
#[derive(Debug)]
pub struct TestPki {
    /// The directory all files were written to.
    pub dir: PathBuf,

    /// Root CA "wss test root CA".
    pub ca: Issued,
    /// `ca.pem`.
    pub ca_cert: PathBuf,
    /// `ca.key`.
    pub ca_key: PathBuf,

    /// Good server certificate (localhost, 127.0.0.1, ::1).
    pub server: Issued,
    /// `server.pem`: server leaf followed by the root CA.
    pub server_cert: PathBuf,
    /// `server-leaf.pem`: server leaf only.
    pub server_leaf_cert: PathBuf,
    /// `server.key`.
    pub server_key: PathBuf,
    /// `server-enc.key`: the server key encrypted with [`KEY_PASSWORD`].
    pub server_key_encrypted: PathBuf,

    /// Good client certificate "wss test client".
    pub client: Issued,
    /// `client.pem`.
    pub client_cert: PathBuf,
    /// `client.key`.
    pub client_key: PathBuf,

    /// Server certificate that expired yesterday.
    pub expired_server: Issued,
    /// `expired-server.pem`.
    pub expired_server_cert: PathBuf,
    /// `expired-server.key`.
    pub expired_server_key: PathBuf,
    /// Client certificate that expired yesterday.
    pub expired_client: Issued,
    /// `expired-client.pem`.
    pub expired_client_cert: PathBuf,
    /// `expired-client.key`.
    pub expired_client_key: PathBuf,

    /// Server certificate valid from tomorrow.
    pub not_yet_valid_server: Issued,
    /// `not-yet-valid-server.pem`.
    pub not_yet_valid_server_cert: PathBuf,
    /// `not-yet-valid-server.key`.
    pub not_yet_valid_server_key: PathBuf,
    /// Client certificate valid from tomorrow.
    pub not_yet_valid_client: Issued,
    /// `not-yet-valid-client.pem`.
    pub not_yet_valid_client_cert: PathBuf,
    /// `not-yet-valid-client.key`.
    pub not_yet_valid_client_key: PathBuf,

    /// Server certificate for DNS:wrong.example only.
    pub wrong_host_server: Issued,
    /// `wrong-host-server.pem`.
    pub wrong_host_server_cert: PathBuf,
    /// `wrong-host-server.key`.
    pub wrong_host_server_key: PathBuf,

    /// Server certificate for DNS:localhost without IP SANs.
    pub no_ip_san_server: Issued,
    /// `no-ip-san-server.pem`.
    pub no_ip_san_server_cert: PathBuf,
    /// `no-ip-san-server.key`.
    pub no_ip_san_server_key: PathBuf,

    /// Untrusted CA "rogue CA".
    pub rogue_ca: Issued,
    /// `rogue-ca.pem`.
    pub rogue_ca_cert: PathBuf,
    /// `rogue-ca.key`.
    pub rogue_ca_key: PathBuf,
    /// Server certificate signed by the rogue CA.
    pub rogue_server: Issued,
    /// `rogue-server.pem` (leaf only).
    pub rogue_server_cert: PathBuf,
    /// `rogue-server.key`.
    pub rogue_server_key: PathBuf,
    /// Client certificate signed by the rogue CA.
    pub rogue_client: Issued,
    /// `rogue-client.pem` (leaf only).
    pub rogue_client_cert: PathBuf,
    /// `rogue-client.key`.
    pub rogue_client_key: PathBuf,

    /// Server certificate revoked by [`TestPki::crl`].
    pub revoked_server: Issued,
    /// `revoked-server.pem`.
    pub revoked_server_cert: PathBuf,
    /// `revoked-server.key`.
    pub revoked_server_key: PathBuf,
    /// Client certificate revoked by [`TestPki::crl`].
    pub revoked_client: Issued,
    /// `revoked-client.pem`.
    pub revoked_client_cert: PathBuf,
    /// `revoked-client.key`.
    pub revoked_client_key: PathBuf,
    /// `ca.crl.pem`: root CA's CRL listing the `revoked_*` serials.
    pub crl: PathBuf,
    /// `ca-expired.crl.pem`: the same list, but past its nextUpdate.
    pub expired_crl: PathBuf,

    /// `client.p12` (DER): client key, certificate and root CA, [`PFX_PASSWORD`].
    pub client_pfx: PathBuf,
    /// `server.p12` (DER): server key, certificate and root CA, [`PFX_PASSWORD`].
    pub server_pfx: PathBuf,

    /// `ca-hashed/`: root CA as `<hash>.0` and its CRL as `<hash>.r0`.
    pub hashed_ca_dir: PathBuf,
    /// `ca-plain/`: root CA as `root.pem` plus the junk file `notes.txt`.
    pub plain_ca_dir: PathBuf,
    /// `ca-unhashed/`: root CA as `my-ca.pem` only (not hash-named).
    pub unhashed_ca_dir: PathBuf,

    /// Intermediate CA signed by the root.
    pub intermediate_ca: Issued,
    /// `intermediate-ca.pem`.
    pub intermediate_ca_cert: PathBuf,
    /// `intermediate-ca.key`.
    pub intermediate_ca_key: PathBuf,
    /// Server certificate (as `server`) signed by the intermediate CA.
    pub chain_server: Issued,
    /// `chain-server.pem`: leaf followed by the intermediate CA.
    pub chain_server_cert: PathBuf,
    /// `chain-server.key`.
    pub chain_server_key: PathBuf,

    /// Server certificate (as `server`) with an RSA-2048 key.
    pub rsa_server: Issued,
    /// `rsa-server.pem`.
    pub rsa_server_cert: PathBuf,
    /// `rsa-server.key`.
    pub rsa_server_key: PathBuf,

    /// `not-a-cert.pem`: text that is not PEM.
    pub garbage_file: PathBuf,
    /// `mismatched.key`: a valid key that matches none of the certificates.
    pub mismatched_key: PathBuf,
}

/// Attaches `what` to an OpenSSL error.
fn ossl(what: &str) -> impl Fn(openssl::error::ErrorStack) -> Error + '_ {
    move |e| Error::from_stack(ErrorKind::Tls, format!("test PKI: {what}"), &e)
}

fn make_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::from_io(dir.display(), &e))
}

impl TestPki {
    /// Common name of the root CA.
    pub const CA_CN: &'static str = "wss test root CA";
    /// Common name of the good client certificate.
    pub const CLIENT_CN: &'static str = "wss test client";

    /// Generates the whole fixture set into `dir` (created if missing; none of the files may
    /// exist yet), with the product API of `wss::pki`.
    pub fn generate(dir: &Path) -> Result<TestPki> {
        fs::create_dir_all(dir).map_err(|e| Error::from_io(dir.display(), &e))?;
        let localhost_ips = [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ];
        let server_spec = CertSpec::server("localhost", &["localhost"], &localhost_ips);
        let client_spec = CertSpec::client(Self::CLIENT_CN);
        let expired = |s: &CertSpec| s.clone().with_validity(-30, -1);
        let not_yet = |s: &CertSpec| s.clone().with_validity(1, 30);
        // `<stem>.pem` (leaf + chain) and `<stem>.key`.
        let pair = |stem: &str, issued: &Issued, chain: &[&X509]| {
            let (cert, key) = (
                dir.join(format!("{stem}.pem")),
                dir.join(format!("{stem}.key")),
            );
            issued.write_pem(&cert, &key, chain)?;
            Ok::<_, Error>((cert, key))
        };
        let issue_pair = |issuer: &Issued, spec: &CertSpec, stem: &str| {
            let issued = issuer.issue(spec).map_err(ossl(stem))?;
            let (cert, key) = pair(stem, &issued, &[])?;
            Ok::<_, Error>((issued, cert, key))
        };

        let ca = Issued::self_signed(&CertSpec::ca(Self::CA_CN)).map_err(ossl("root CA"))?;
        let (ca_cert, ca_key) = pair("ca", &ca, &[])?;

        let server = ca.issue(&server_spec).map_err(ossl("server"))?;
        let (server_cert, server_key) = pair("server", &server, &[&ca.cert])?;
        let server_leaf_cert = dir.join("server-leaf.pem");
        write_public(
            &server_leaf_cert,
            &server.cert_pem().map_err(ossl("server"))?,
        )?;
        let server_key_encrypted = dir.join("server-enc.key");
        let encrypted = server.key_pem_encrypted(KEY_PASSWORD);
        write_private(
            &server_key_encrypted,
            &encrypted.map_err(ossl("server key"))?,
        )?;

        let client = ca.issue(&client_spec).map_err(ossl("client"))?;
        let (client_cert, client_key) = pair("client", &client, &[])?;

        let (expired_server, expired_server_cert, expired_server_key) =
            issue_pair(&ca, &expired(&server_spec), "expired-server")?;
        let (expired_client, expired_client_cert, expired_client_key) =
            issue_pair(&ca, &expired(&client_spec), "expired-client")?;
        let (not_yet_valid_server, not_yet_valid_server_cert, not_yet_valid_server_key) =
            issue_pair(&ca, &not_yet(&server_spec), "not-yet-valid-server")?;
        let (not_yet_valid_client, not_yet_valid_client_cert, not_yet_valid_client_key) =
            issue_pair(&ca, &not_yet(&client_spec), "not-yet-valid-client")?;
        let (wrong_host_server, wrong_host_server_cert, wrong_host_server_key) = issue_pair(
            &ca,
            &CertSpec::server("wrong.example", &["wrong.example"], &[]),
            "wrong-host-server",
        )?;
        let (no_ip_san_server, no_ip_san_server_cert, no_ip_san_server_key) = issue_pair(
            &ca,
            &CertSpec::server("localhost", &["localhost"], &[]),
            "no-ip-san-server",
        )?;

        let rogue_ca = Issued::self_signed(&CertSpec::ca("rogue CA")).map_err(ossl("rogue CA"))?;
        let (rogue_ca_cert, rogue_ca_key) = pair("rogue-ca", &rogue_ca, &[])?;
        let (rogue_server, rogue_server_cert, rogue_server_key) =
            issue_pair(&rogue_ca, &server_spec, "rogue-server")?;
        let (rogue_client, rogue_client_cert, rogue_client_key) =
            issue_pair(&rogue_ca, &client_spec, "rogue-client")?;

        let (revoked_server, revoked_server_cert, revoked_server_key) =
            issue_pair(&ca, &server_spec, "revoked-server")?;
        let (revoked_client, revoked_client_cert, revoked_client_key) =
            issue_pair(&ca, &client_spec, "revoked-client")?;
        let revoked = [
            revoked_server.cert.serial_number(),
            revoked_client.cert.serial_number(),
        ];
        let crl_list = ca.build_crl(&revoked, 30).map_err(ossl("CRL"))?;
        let crl = dir.join("ca.crl.pem");
        write_public(&crl, &crl_list.to_pem().map_err(ossl("CRL"))?)?;
        let expired_crl = dir.join("ca-expired.crl.pem");
        write_public(
            &expired_crl,
            &ca.crl(&revoked, -1).map_err(ossl("expired CRL"))?,
        )?;

        let client_pfx = dir.join("client.p12");
        client.write_pfx(&client_pfx, PFX_PASSWORD, &[&ca.cert])?;
        let server_pfx = dir.join("server.p12");
        server.write_pfx(&server_pfx, PFX_PASSWORD, &[&ca.cert])?;

        let hashed_ca_dir = dir.join("ca-hashed");
        write_hashed_ca_dir(&hashed_ca_dir, &[&ca.cert], &[&crl_list])?;

        let ca_pem = ca.cert_pem().map_err(ossl("root CA"))?;
        let plain_ca_dir = dir.join("ca-plain");
        make_dir(&plain_ca_dir)?;
        write_public(&plain_ca_dir.join("root.pem"), &ca_pem)?;
        write_public(
            &plain_ca_dir.join("notes.txt"),
            b"These are notes, not certificates.\nLoaders must ignore this file.\n",
        )?;
        let unhashed_ca_dir = dir.join("ca-unhashed");
        make_dir(&unhashed_ca_dir)?;
        write_public(&unhashed_ca_dir.join("my-ca.pem"), &ca_pem)?;

        let intermediate_ca = ca
            .issue(&CertSpec::ca("wss test intermediate CA"))
            .map_err(ossl("intermediate CA"))?;
        let (intermediate_ca_cert, intermediate_ca_key) =
            pair("intermediate-ca", &intermediate_ca, &[])?;
        let chain_server = intermediate_ca
            .issue(&server_spec)
            .map_err(ossl("chain server"))?;
        let (chain_server_cert, chain_server_key) =
            pair("chain-server", &chain_server, &[&intermediate_ca.cert])?;

        // RSA-2048 rather than the product's RSA-3072: the same code path, generated faster.
        let (rsa_server, rsa_server_cert, rsa_server_key) = issue_pair(
            &ca,
            &server_spec.clone().with_key(KeyKind::Rsa2048),
            "rsa-server",
        )?;

        let garbage_file = dir.join("not-a-cert.pem");
        write_public(
            &garbage_file,
            b"This is not a certificate.\nJust some text in a file named .pem.\n",
        )?;
        let mismatched_key = dir.join("mismatched.key");
        let stray = KeyKind::EcP256
            .generate()
            .and_then(|k| k.private_key_to_pem_pkcs8())
            .map_err(ossl("mismatched key"))?;
        write_private(&mismatched_key, &stray)?;

        Ok(TestPki {
            dir: dir.to_path_buf(),
            ca,
            ca_cert,
            ca_key,
            server,
            server_cert,
            server_leaf_cert,
            server_key,
            server_key_encrypted,
            client,
            client_cert,
            client_key,
            expired_server,
            expired_server_cert,
            expired_server_key,
            expired_client,
            expired_client_cert,
            expired_client_key,
            not_yet_valid_server,
            not_yet_valid_server_cert,
            not_yet_valid_server_key,
            not_yet_valid_client,
            not_yet_valid_client_cert,
            not_yet_valid_client_key,
            wrong_host_server,
            wrong_host_server_cert,
            wrong_host_server_key,
            no_ip_san_server,
            no_ip_san_server_cert,
            no_ip_san_server_key,
            rogue_ca,
            rogue_ca_cert,
            rogue_ca_key,
            rogue_server,
            rogue_server_cert,
            rogue_server_key,
            rogue_client,
            rogue_client_cert,
            rogue_client_key,
            revoked_server,
            revoked_server_cert,
            revoked_server_key,
            revoked_client,
            revoked_client_cert,
            revoked_client_key,
            crl,
            expired_crl,
            client_pfx,
            server_pfx,
            hashed_ca_dir,
            plain_ca_dir,
            unhashed_ca_dir,
            intermediate_ca,
            intermediate_ca_cert,
            intermediate_ca_key,
            chain_server,
            chain_server_cert,
            chain_server_key,
            rsa_server,
            rsa_server_cert,
            rsa_server_key,
            garbage_file,
            mismatched_key,
        })
    }
}
