//! Where a PFX password comes from: `--password-file F` (its first line), `--password P` (with a
//! warning: other users can see it), the `WSS_PKI_PASSWORD` variable, or a prompt without echo
//! when stdin is a terminal. Anything else is an error, never a silent default.

use std::io::{self, BufRead};

use crate::args::Parsed;
use crate::Fail;

/// The environment variable read when no password flag is given.
pub const ENV: &str = "WSS_PKI_PASSWORD";

/// Largest password file read.
const MAX_FILE: u64 = 64 << 10;

/// The password for this command: from the flags, the environment or a prompt (asked twice when
/// `confirm`, i.e. when it protects new files).
pub fn obtain(args: &Parsed, confirm: bool) -> Result<String, Fail> {
    let pw = match (args.get("password"), args.get("password-file")) {
        (Some(_), Some(_)) => {
            return Err(Fail::usage(
                "give either --password or --password-file, not both".to_owned(),
            ))
        }
        (Some(p), None) => {
            eprintln!(
                "wss-pki: warning: a password on the command line is visible to other users \
                 (ps, shell history); prefer --password-file or {ENV}"
            );
            p.to_owned()
        }
        (None, Some(f)) => from_file(f)?,
        (None, None) => match std::env::var(ENV) {
            Ok(p) if !p.is_empty() => p,
            _ => prompt(confirm)?,
        },
    };
    if pw.is_empty() {
        return Err(Fail::usage("the password is empty".to_owned()));
    }
    if pw.contains('\0') {
        return Err(Fail::usage(
            "a password cannot contain a NUL byte".to_owned(),
        ));
    }
    Ok(pw)
}

fn from_file(path: &str) -> Result<String, Fail> {
    let bad = |why: String| Fail::usage(format!("cannot read the password file {path}: {why}"));
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    if !meta.is_file() {
        return Err(bad("not a regular file".to_owned()));
    }
    if meta.len() > MAX_FILE {
        return Err(bad(format!("larger than {MAX_FILE} bytes")));
    }
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut line = String::new();
    io::BufReader::new(file)
        .read_line(&mut line)
        .map_err(|e| bad(e.to_string()))?;
    let line = line.trim_end_matches(['\n', '\r']).to_owned();
    if line.is_empty() {
        return Err(bad("its first line is empty".to_owned()));
    }
    Ok(line)
}

fn prompt(confirm: bool) -> Result<String, Fail> {
    let none = || {
        Fail::usage(format!(
            "no password: give --password-file FILE, set {ENV}, or run on a terminal to be asked"
        ))
    };
    let Some(tty) = terminal::Tty::open() else {
        return Err(none());
    };
    let first = tty.ask("PFX password: ").map_err(|_| none())?;
    if confirm {
        let again = tty.ask("PFX password (again): ").map_err(|_| none())?;
        if again != first {
            return Err(Fail::usage("the two passwords differ".to_owned()));
        }
    }
    Ok(first)
}

#[cfg(unix)]
mod terminal {
    use std::fs::File;
    use std::io::{self, BufRead, BufReader, Write};
    use std::os::unix::io::AsRawFd;

    /// The controlling terminal, when stdin is one.
    pub struct Tty(File);

    impl Tty {
        pub fn open() -> Option<Tty> {
            // SAFETY: isatty only inspects the descriptor.
            if unsafe { libc::isatty(0) } != 1 {
                return None;
            }
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .ok()
                .map(Tty)
        }

        /// Asks with echo off; echo is restored even when reading fails. The question is
        /// written once echo is off: whoever answers on seeing it is never echoed.
        pub fn ask(&self, question: &str) -> io::Result<String> {
            let fd = self.0.as_raw_fd();
            // SAFETY: a zeroed termios is valid storage for tcgetattr to fill.
            let mut old: libc::termios = unsafe { std::mem::zeroed() };
            // SAFETY: fd is an open terminal; `old` is valid for writes.
            if unsafe { libc::tcgetattr(fd, &mut old) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut quiet = old;
            quiet.c_lflag &= !libc::ECHO;
            quiet.c_lflag |= libc::ECHONL;
            // SAFETY: as above; `quiet` is a valid termios.
            if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut line = String::new();
            let read = (&self.0)
                .write_all(question.as_bytes())
                .and_then(|()| BufReader::new(&self.0).read_line(&mut line));
            // SAFETY: restores the settings read above.
            unsafe { libc::tcsetattr(fd, libc::TCSANOW, &old) };
            read?;
            Ok(line.trim_end_matches(['\n', '\r']).to_owned())
        }
    }
}

#[cfg(not(unix))]
mod terminal {
    /// No prompt without echo control on this platform: passwords come from flags or the
    /// environment.
    pub struct Tty;

    impl Tty {
        pub fn open() -> Option<Tty> {
            None
        }

        pub fn ask(&self, _: &str) -> std::io::Result<String> {
            Err(std::io::ErrorKind::Unsupported.into())
        }
    }
}
