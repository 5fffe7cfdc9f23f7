//! `wss-pki rehash`: subject-hash names for a folder of CA certificates and CRLs.

use std::ffi::OsString;
use std::path::Path;

use crate::args::Parsed;
use crate::Outcome;

pub const HELP: &str = "\
Usage: wss-pki rehash DIR

Gives every CA certificate and CRL in DIR (.pem, .crt, .cer, .crl files holding one PEM object)
its OpenSSL subject-hash name, like `openssl rehash`: <hash>.0 for a certificate, <hash>.r0 for a
CRL (symbolic links on Unix). A folder in this layout loads with -CApath and with wss's CA-folder
loading. Earlier hash links are replaced; other files are left alone.
";

pub fn run(args: Vec<OsString>) -> Outcome {
    let args = Parsed::parse(args, &[], 1, 1)?;
    let dir = Path::new(&args.words[0]);
    let done = wss::pki::rehash(dir)?;
    for l in &done.links {
        println!("  {} -> {}", l.name, l.target);
    }
    for (name, why) in &done.skipped {
        println!("  skipped {name}: {why}");
    }
    println!(
        "{}: {} hash link(s), {} file(s) skipped",
        dir.display(),
        done.links.len(),
        done.skipped.len()
    );
    Ok(0)
}
