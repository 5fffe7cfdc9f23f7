//! `wss-pki init`: a whole PKI in a new folder.

use std::ffi::OsString;
use std::path::Path;

use wss::pki::{CertSpec, InitOptions, IssuedFiles};

use crate::args::{many, opt, Parsed, PASSWORD_FLAGS};
use crate::{password, Fail, Outcome};

pub const HELP: &str = "\
Usage: wss-pki init DIR --san NAMES [--client NAME]... [--key ecdsa|rsa]
                    [--password-file F | --password P] [--days N] [--ca-days N] [--ca-name CN]

Makes a throwaway PKI in DIR (which must not exist, or be empty):
  ca.pem ca.key ca.crl.pem              root CA (key 0600) and its CRL (revokes nothing yet)
  ca-hashed/<hash>.0 <hash>.r0          the CA and CRL for CA-folder loading (-CApath)
  server.pem server.key server.p12      server certificate with the SANs (serverAuth)
  clients/NAME.pem .key .p12            one set per --client (clientAuth)
Everything is written to a temporary folder and renamed into place at the end: a failure
leaves nothing behind.

Options:
  --san NAMES        comma-separated DNS names and IP addresses, e.g. localhost,127.0.0.1,::1
                     (required; may be repeated; the first is the server's CN)
  --client NAME      a client certificate (letters, digits, '.', '_', '-'); may be repeated
  --key ecdsa|rsa    key algorithm: ECDSA P-256 (default) or RSA-3072
  --days N           lifetime of server and client certificates (default 397)
  --ca-days N        lifetime of the CA (default 3650)
  --ca-name CN       the CA's common name (default \"wss root CA\")
  --password-file F  PFX password: the first line of F
  --password P       PFX password on the command line (visible to other users: warns)
                     Without either: $WSS_PKI_PASSWORD, else a prompt (twice) on a terminal.
";

pub fn run(args: Vec<OsString>) -> Outcome {
    let flags = [
        many("san"),
        many("client"),
        opt("key"),
        opt("days"),
        opt("ca-days"),
        opt("ca-name"),
    ];
    let args = Parsed::parse(args, &[&flags, &PASSWORD_FLAGS], 1, 1)?;
    let dir = Path::new(&args.words[0]);
    let sans = args.all("san");
    if sans.is_empty() {
        return Err(Fail::usage(
            "--san is required (e.g. --san localhost,127.0.0.1)".to_owned(),
        ));
    }
    // Options are checked before asking for a password.
    let mut opts = InitOptions::new("unset");
    for list in sans {
        opts.add_sans(list)?;
    }
    for name in args.all("client") {
        opts.add_client(name)?;
    }
    if let Some(k) = args.get("key") {
        if !matches!(k, "ecdsa" | "rsa") {
            return Err(Fail::usage(format!("--key is ecdsa or rsa, not {k:?}")));
        }
        opts.key = k.parse()?;
    }
    opts.leaf_days = args.days("days")?.unwrap_or(CertSpec::LEAF_DAYS);
    opts.ca_days = args.days("ca-days")?.unwrap_or(CertSpec::CA_DAYS);
    if let Some(cn) = args.get("ca-name") {
        if cn.trim().is_empty() {
            return Err(Fail::usage("--ca-name must not be empty".to_owned()));
        }
        opts.ca_name = cn.to_owned();
    }
    opts.pfx_password = password::obtain(&args, true)?;

    let pki = wss::pki::init(dir, &opts)?;
    println!("Made a PKI in {}:", pki.dir.display());
    println!(
        "  ca.pem ca.key ca.crl.pem     root CA \"{}\" ({} days, {} key), its CRL",
        opts.ca_name, opts.ca_days, opts.key
    );
    println!(
        "  ca-hashed/                   the CA and CRL under hash names, for CA-folder loading"
    );
    let sans: Vec<String> = opts.sans.iter().map(ToString::to_string).collect();
    print_set(
        &pki.dir,
        &pki.server,
        &format!("server: {}", sans.join(", ")),
    );
    for c in &pki.clients {
        print_set(&pki.dir, c, "client");
    }
    println!(
        "Keys and PFX files are readable by you only. Leaf certificates are valid for {} days.",
        opts.leaf_days
    );
    Ok(0)
}

/// One line per certificate set: its three files and what it is.
pub fn print_set(dir: &Path, set: &IssuedFiles, what: &str) {
    let rel = |p: &Path| p.strip_prefix(dir).unwrap_or(p).display().to_string();
    let files = format!("{} .key .p12", rel(&set.cert));
    println!("  {files:<28} {what}");
}
