//! `wss-pki renew`: re-issue a certificate with a new key and validity.

use std::ffi::OsString;

use wss::pki::{CertSpec, PkiFolder};

use crate::args::{opt, Parsed, PASSWORD_FLAGS};
use crate::{init::print_set, password, Outcome};

pub const HELP: &str = "\
Usage: wss-pki renew DIR NAME [--days N] [--password-file F | --password P]

Re-issues certificate NAME of the PKI in DIR (`server`, or a client name) with the same subject
and SANs, a new key and serial number, valid from yesterday for N days, and replaces its .pem,
.key and .p12 files (all three or none). The old certificate is not revoked: it stays valid
until it expires (run `wss-pki revoke` first if its key leaked).

Options:
  --days N           lifetime in days (default 397)
  --password-file F  PFX password (the one given to init): the first line of F
  --password P       PFX password on the command line (visible to other users: warns)
                     Without either: $WSS_PKI_PASSWORD, else a prompt on a terminal.
";

pub fn run(args: Vec<OsString>) -> Outcome {
    let args = Parsed::parse(args, &[&[opt("days")], &PASSWORD_FLAGS], 2, 2)?;
    let (dir, name) = (&args.words[0], &args.words[1]);
    let days = args.days("days")?.unwrap_or(CertSpec::LEAF_DAYS);
    let folder = PkiFolder::open(dir)?;
    // The name is checked before asking for a password.
    folder.cert(name)?;
    let password = password::obtain(&args, false)?;
    folder.check_password(&password)?;
    let set = folder.renew(name, &password, days)?;
    println!("Renewed {name} in {}:", folder.dir.display());
    print_set(
        &folder.dir,
        &set,
        &format!("new key, valid until {}", set.issued.cert.not_after()),
    );
    Ok(0)
}
