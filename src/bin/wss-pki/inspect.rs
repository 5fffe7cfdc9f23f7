//! `wss-pki inspect`: what a certificate file or CA folder holds.

use std::ffi::OsString;
use std::path::Path;

use crate::args::{Parsed, PASSWORD_FLAGS};
use crate::{password, Outcome};

pub const HELP: &str = "\
Usage: wss-pki inspect FILE|DIR [--password-file F | --password P]

Says what a file holds - PEM certificates, keys (encrypted or not) and CRLs, a DER certificate
or CRL, or a PFX/PKCS#12 file (which needs its password) - or, for a folder, each file and
whether its hash name (<hash>.0, <hash>.r0) matches, and which files lack one. For each
certificate: subject, issuer, serial, validity (expired? not yet valid?), key type and size,
SANs, basic constraints, key usage and extended key usage, subject hash; whether a key matches a
certificate; whether a chain file is in order (each certificate issued by the next).
Problems are marked PROBLEM; the exit status is 0 whenever the file could be read.

Passwords: --password-file F, --password P (visible to other users: warns), $WSS_PKI_PASSWORD,
or a prompt on a terminal; asked only when a PFX or an encrypted key needs one.
";

pub fn run(args: Vec<OsString>) -> Outcome {
    let args = Parsed::parse(args, &[&PASSWORD_FLAGS], 1, 1)?;
    let path = Path::new(&args.words[0]);
    let given = args.has("password")
        || args.has("password-file")
        || std::env::var(password::ENV).is_ok_and(|p| !p.is_empty());
    let first = if given {
        Some(password::obtain(&args, false)?)
    } else {
        None
    };
    let found = match wss::pki::inspect(path, first.as_deref()) {
        // A PFX without a password: ask (on a terminal) and try again.
        Err(e) if first.is_none() && e.message.contains("needs its password") => {
            let pw = password::obtain(&args, false)?;
            wss::pki::inspect(path, Some(&pw))?
        }
        other => other?,
    };
    for line in &found.lines {
        println!("{line}");
    }
    match found.problems.len() {
        0 => println!("No problems found."),
        n => println!("{n} problem(s) found."),
    }
    Ok(0)
}
