//! `wss-pki add-client`: one more client certificate from an existing folder's CA.

use std::ffi::OsString;

use wss::pki::{CertSpec, PkiFolder};

use crate::args::{opt, switch, Parsed, PASSWORD_FLAGS};
use crate::{init::print_set, password, Outcome};

pub const HELP: &str = "\
Usage: wss-pki add-client DIR NAME [--days N] [--expired] [--password-file F | --password P]

Issues client certificate NAME from the CA in DIR (made by `wss-pki init`) and writes
DIR/clients/NAME.pem, NAME.key and NAME.p12. NAME must be new. The PFX password must be the
one given to init (it is checked against DIR/server.p12).

Options:
  --days N           lifetime in days (default 397)
  --expired          TESTING AID: a certificate whose validity ended yesterday, to see how
                     peers refuse an expired certificate (X509 error 10)
  --password-file F  PFX password: the first line of F
  --password P       PFX password on the command line (visible to other users: warns)
                     Without either: $WSS_PKI_PASSWORD, else a prompt on a terminal.
";

pub fn run(args: Vec<OsString>) -> Outcome {
    let flags = [opt("days"), switch("expired")];
    let args = Parsed::parse(args, &[&flags, &PASSWORD_FLAGS], 2, 2)?;
    let (dir, name) = (&args.words[0], &args.words[1]);
    let days = args.days("days")?;
    let (from, to) = if args.has("expired") {
        if days.is_some() {
            return Err(crate::Fail::usage(
                "--expired and --days do not go together".to_owned(),
            ));
        }
        (-2, -1)
    } else {
        (-1, days.unwrap_or(CertSpec::LEAF_DAYS))
    };
    let folder = PkiFolder::open(dir)?;
    // The name is checked before asking for a password.
    folder.check_new_client(name)?;
    let password = password::obtain(&args, false)?;
    folder.check_password(&password)?;
    let set = folder.add_client(name, &password, from, to)?;
    let what = if args.has("expired") {
        "client, EXPIRED yesterday (a testing aid)".to_owned()
    } else {
        format!("client, valid for {} days", to)
    };
    println!("Issued a client certificate in {}:", folder.dir.display());
    print_set(&folder.dir, &set, &what);
    Ok(0)
}
