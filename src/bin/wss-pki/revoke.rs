//! `wss-pki revoke`: add a certificate to the folder's CRL.

use std::ffi::OsString;

use wss::pki::{PkiFolder, RevocationReason};

use crate::args::{opt, Parsed};
use crate::Outcome;

pub const HELP: &str = "\
Usage: wss-pki revoke DIR NAME [--reason REASON]

Revokes certificate NAME of the PKI in DIR (`server`, or a client name): adds its serial number
to the CA's CRL and rewrites DIR/ca.crl.pem and the hashed CA folder's <hash>.r0, keeping the
entries already there. Peers that load the CRL (a CRL file, or the hashed CA folder) refuse the
certificate with X509 error 23 (certificate revoked) once they load the new one. The
certificate's files stay where they are.

Options:
  --reason REASON    keyCompromise, cACompromise, affiliationChanged, superseded,
                     cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise
                     or unspecified (the default: no reason code)
";

pub fn run(args: Vec<OsString>) -> Outcome {
    let args = Parsed::parse(args, &[&[opt("reason")]], 2, 2)?;
    let (dir, name) = (&args.words[0], &args.words[1]);
    let reason = args
        .get("reason")
        .map(str::parse::<RevocationReason>)
        .transpose()?;
    let folder = PkiFolder::open(dir)?;
    let done = folder.revoke(name, reason)?;
    let serial = done
        .entry
        .serial
        .to_hex_str()
        .map(|s| s.to_string())
        .unwrap_or_default();
    println!(
        "Revoked {name} (serial {serial}, reason {}).",
        reason.map_or("unspecified", |r| r.name())
    );
    for p in &done.written {
        println!("  rewrote {}", p.display());
    }
    println!(
        "The CRL lists {} certificate(s); servers refuse them once they load this CRL.",
        done.listed
    );
    Ok(0)
}
