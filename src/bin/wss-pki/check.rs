//! `wss-pki check`: would a peer accept this certificate? Verified offline by OpenSSL, failures
//! explained with the library's own codes and hints.

use std::ffi::OsString;
use std::path::Path;

use wss::pki::{check_chain, check_key, load_pem, load_pfx, Role, Trust};

use crate::args::{opt, switch, Parsed, PASSWORD_FLAGS};
use crate::{password, report, Fail, Outcome};

pub const HELP: &str = "\
Usage: wss-pki check (--cert F [--key F] | --pfx F [--password-file F | --password P])
                     (--ca-file F | --ca-dir D) [--host H] [--crl F] [--client]

Verifies a certificate chain offline, the way a wss peer would (OpenSSL's X509_verify_cert with
the same loaders, purpose and name rules), and says why it fails: the X509 error code and text,
the depth and subject of the failing certificate, and the library's hint - the words a
connection would report.

  --cert F       the certificate (PEM; more certificates after it are its chain)
  --key F        also check that this PEM private key belongs to the certificate
  --pfx F        the certificate, chain and key of a PFX/PKCS#12 file (needs its password:
                 --password-file F, --password P, $WSS_PKI_PASSWORD or a terminal prompt)
  --ca-file F    trusted CA certificates (PEM)
  --ca-dir D     a CA folder (hashed <hash>.0 names or .pem files; its <hash>.r0 CRLs count)
  --crl F        a CRL: the certificate must not be revoked
  --host H       (server role) the name or IP address a client connects to; matched against
                 the subjectAltNames only
  --client       check a client certificate (clientAuth) instead of a server's (serverAuth)

Exit status: 0 accepted, 1 refused (or the key does not match), 2 bad usage or input.
";

pub fn run(args: Vec<OsString>) -> Outcome {
    let flags = [
        opt("cert"),
        opt("key"),
        opt("pfx"),
        opt("ca-file"),
        opt("ca-dir"),
        opt("crl"),
        opt("host"),
        switch("client"),
    ];
    let args = Parsed::parse(args, &[&flags, &PASSWORD_FLAGS], 0, 0)?;
    let usage = |m: &str| Err(Fail::usage(m.to_owned()));
    let role = if args.has("client") {
        Role::Client
    } else {
        Role::Server
    };
    match (args.get("cert"), args.get("pfx")) {
        (None, None) | (Some(_), Some(_)) => return usage("give one of --cert or --pfx"),
        (Some(_), None) if args.has("password") || args.has("password-file") => {
            return usage("a password goes with --pfx only (--key must be unencrypted)")
        }
        (None, Some(_)) if args.has("key") => return usage("--key goes with --cert only"),
        _ => {}
    }
    if !args.has("ca-file") && !args.has("ca-dir") {
        return usage("give --ca-file or --ca-dir: what the peer trusts");
    }
    if role == Role::Client && args.has("host") {
        return usage("--host checks a server certificate's names; it does not go with --client");
    }

    let mut trust = Trust::default();
    if let Some(f) = args.get("ca-file") {
        trust.add_ca_file(Path::new(f))?;
    }
    if let Some(d) = args.get("ca-dir") {
        trust.add_ca_dir(Path::new(d))?;
    }
    if let Some(f) = args.get("crl") {
        trust.add_crl_file(Path::new(f))?;
    }
    let (file, (leaf, chain)) = match (args.get("cert"), args.get("pfx")) {
        (Some(c), _) => (c, load_pem(Path::new(c))?),
        (_, Some(p)) => (p, load_pfx(Path::new(p), &password::obtain(&args, false)?)?),
        _ => unreachable!("checked above"),
    };
    let key_mismatch = match args.get("key") {
        Some(k) => check_key(&leaf, Path::new(k))?,
        None => None,
    };

    let host = args.get("host");
    let checked = check_chain(&leaf, &chain, &trust, role, host)?;
    let what = match (role, host) {
        (Role::Server, Some(h)) => format!("a server (serverAuth) named {h}"),
        (Role::Server, None) => "a server (serverAuth; name not checked: give --host)".to_owned(),
        (Role::Client, _) => "a client (clientAuth)".to_owned(),
    };
    let crl = if checked.crl_checked {
        "revocation checked against the CRL"
    } else {
        "no CRL loaded: revocation not checked"
    };
    let mut code = 0;
    match &checked.failure {
        None => println!("OK: {file} is accepted as {what}; {crl}."),
        Some(e) => {
            code = 1;
            println!("FAILED: {file} is refused as {what}.");
            for line in report::detail(e) {
                println!("  {line}");
            }
        }
    }
    println!("  chain{}:", if code == 0 { "" } else { " built so far" });
    for (i, c) in checked.chain.iter().enumerate() {
        let d = wss::tls::describe(c, false);
        println!(
            "    {i} {}  (issuer {}, until {})",
            d.subject, d.issuer, d.not_after
        );
    }
    if let Some(e) = key_mismatch {
        code = 1;
        println!("FAILED: the private key does not belong to the certificate.");
        for line in report::detail(&e) {
            println!("  {line}");
        }
    } else if args.has("key") {
        println!("  the private key belongs to the certificate");
    }
    Ok(code)
}
