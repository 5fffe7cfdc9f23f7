//! `wss-pki`: the openssl cheat sheet as one tool. Makes a throwaway PKI for wss endpoints
//! (CA, server and client certificates as PEM and PFX, a hashed CA folder, a CRL), adds clients,
//! revokes and renews, and explains what a certificate file holds and why a chain fails.
//!
//! Each command is one module; the work is done by the library (`wss::pki`). Exit status: 0 ok,
//! 1 a check failed (`check`), 2 bad usage or input.

mod add_client;
mod args;
mod check;
mod init;
mod inspect;
mod password;
mod rehash;
mod renew;
mod report;
mod revoke;

use std::ffi::OsString;
use std::process::ExitCode;

/// Why a command stopped: a usage mistake, or an error from the library.
#[derive(Debug)]
pub enum Fail {
    /// Bad command line (unknown flag, missing value, ...).
    Usage(String),
    /// Bad input or an operation that failed (wrong password, unreadable file, ...).
    Error(wss::Error),
}

impl Fail {
    /// A usage error with `message`.
    pub fn usage(message: String) -> Fail {
        Fail::Usage(message)
    }
}

impl From<wss::Error> for Fail {
    fn from(e: wss::Error) -> Fail {
        Fail::Error(e)
    }
}

/// What a command returns: its exit status (0, or 1 when a check failed).
pub type Outcome = Result<u8, Fail>;

/// A command: its name, a one-line summary, its full help, and what runs it.
struct Command {
    name: &'static str,
    summary: &'static str,
    help: &'static str,
    run: fn(Vec<OsString>) -> Outcome,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "init",
        summary:
            "make a CA, a server certificate, client certificates, a CRL and a hashed CA folder",
        help: init::HELP,
        run: init::run,
    },
    Command {
        name: "add-client",
        summary: "issue one more client certificate from a folder's CA",
        help: add_client::HELP,
        run: add_client::run,
    },
    Command {
        name: "rehash",
        summary: "subject-hash names for a folder of CA certificates (like openssl rehash)",
        help: rehash::HELP,
        run: rehash::run,
    },
    Command {
        name: "revoke",
        summary: "add a certificate to the CRL (ca.crl.pem and the hashed CA folder)",
        help: revoke::HELP,
        run: revoke::run,
    },
    Command {
        name: "renew",
        summary: "re-issue a certificate: same names, new key, new validity",
        help: renew::HELP,
        run: renew::run,
    },
    Command {
        name: "inspect",
        summary: "what a PEM, PFX or CA folder holds: names, validity, usages, key match, hashes",
        help: inspect::HELP,
        run: inspect::run,
    },
    Command {
        name: "check",
        summary: "would a peer accept this certificate (role, host, CRL)? and if not, why",
        help: check::HELP,
        run: check::run,
    },
];

const HELP: &str = "\
wss-pki: certificates for wss endpoints, without the openssl cheat sheet

Usage: wss-pki COMMAND [ARGS]...   (wss-pki COMMAND --help for each)
";

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let first = args.first().and_then(|a| a.to_str()).map(str::to_owned);
    let code = match first.as_deref() {
        None | Some("-h" | "--help" | "help") => {
            print!("{}", main_help());
            if first.is_none() {
                2
            } else {
                0
            }
        }
        Some("-V" | "--version") => {
            println!(
                "wss-pki {} ({})",
                env!("CARGO_PKG_VERSION"),
                openssl::version::version()
            );
            0
        }
        Some(name) => match COMMANDS.iter().find(|c| c.name == name) {
            None => report::usage(None, &format!("unknown command {name:?}")),
            Some(cmd) => {
                args.remove(0);
                if args.iter().any(|a| a == "--help" || a == "-h") {
                    print!("{}", cmd.help);
                    0
                } else {
                    match (cmd.run)(args) {
                        Ok(code) => code,
                        Err(Fail::Usage(m)) => report::usage(Some(cmd.name), &m),
                        Err(Fail::Error(e)) => report::error(&e),
                    }
                }
            }
        },
    };
    ExitCode::from(code)
}

fn main_help() -> String {
    let mut out = HELP.to_owned();
    out.push_str("\nCommands:\n");
    for c in COMMANDS {
        out.push_str(&format!("  {:<11} {}\n", c.name, c.summary));
    }
    out.push_str(
        "\nExit status: 0 ok, 1 a check failed, 2 bad usage or input.\n\
         Passwords: --password-file F (first line), WSS_PKI_PASSWORD, or a prompt on a terminal;\n\
         --password P works but other users can see it.\n",
    );
    out
}
