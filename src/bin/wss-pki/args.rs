//! A small, strict command-line parser: each command declares its flags; unknown flags, a flag
//! missing its value, a flag given twice (unless repeatable) and extra words are usage errors.

use std::ffi::OsString;

use crate::Fail;

/// One flag a command accepts.
pub struct Flag {
    /// Its name without the dashes (`days` for `--days`).
    pub name: &'static str,
    /// Whether it takes a value (`--days 30`, `--days=30`).
    pub value: bool,
    /// Whether it may be given more than once.
    pub repeat: bool,
}

/// A flag with a value, given at most once.
pub const fn opt(name: &'static str) -> Flag {
    Flag {
        name,
        value: true,
        repeat: false,
    }
}

/// A flag with a value that may be repeated.
pub const fn many(name: &'static str) -> Flag {
    Flag {
        name,
        value: true,
        repeat: true,
    }
}

/// A flag without a value.
pub const fn switch(name: &'static str) -> Flag {
    Flag {
        name,
        value: false,
        repeat: false,
    }
}

/// The password flags every command that reads or writes a PFX accepts.
pub const PASSWORD_FLAGS: [Flag; 2] = [opt("password"), opt("password-file")];

/// A parsed command line.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The words that are not flags, in order.
    pub words: Vec<String>,
    flags: Vec<(&'static str, Option<String>)>,
    /// Whether `--help` or `-h` was given.
    pub help: bool,
}

impl Parsed {
    /// Parses `args` against `flags`, expecting between `min` and `max` words.
    pub fn parse(
        args: Vec<OsString>,
        flags: &[&[Flag]],
        min: usize,
        max: usize,
    ) -> Result<Parsed, Fail> {
        let mut out = Parsed::default();
        let mut args = args.into_iter();
        let mut only_words = false;
        while let Some(arg) = args.next() {
            let arg = utf8(arg)?;
            if only_words || !arg.starts_with('-') || arg == "-" {
                out.words.push(arg);
                continue;
            }
            if arg == "--" {
                only_words = true;
                continue;
            }
            if arg == "-h" || arg == "--help" {
                out.help = true;
                continue;
            }
            let Some(body) = arg.strip_prefix("--") else {
                return Err(Fail::usage(format!("unknown option {arg:?}")));
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (body, None),
            };
            let Some(flag) = flags.iter().flat_map(|f| f.iter()).find(|f| f.name == name) else {
                return Err(Fail::usage(format!("unknown option --{name}")));
            };
            let value = match (flag.value, inline) {
                (true, Some(v)) => Some(v),
                (true, None) => match args.next() {
                    Some(v) => Some(utf8(v)?),
                    None => return Err(Fail::usage(format!("--{name} needs a value"))),
                },
                (false, Some(_)) => {
                    return Err(Fail::usage(format!("--{name} takes no value")));
                }
                (false, None) => None,
            };
            if !flag.repeat && out.flags.iter().any(|(n, _)| *n == flag.name) {
                return Err(Fail::usage(format!("--{name} is given twice")));
            }
            out.flags.push((flag.name, value));
        }
        if out.help {
            return Ok(out);
        }
        if out.words.len() < min {
            return Err(Fail::usage("missing arguments".to_owned()));
        }
        if out.words.len() > max {
            return Err(Fail::usage(format!(
                "unexpected argument {:?}",
                out.words[max]
            )));
        }
        Ok(out)
    }

    /// The value of flag `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Every value of a repeatable flag, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.flags
            .iter()
            .filter(|(n, _)| *n == name)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }

    /// Whether flag `name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| *n == name)
    }

    /// A whole number of days, at least 1, if given.
    pub fn days(&self, name: &str) -> Result<Option<i64>, Fail> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        match v.parse::<i64>() {
            Ok(n) if (1..=365_000).contains(&n) => Ok(Some(n)),
            _ => Err(Fail::usage(format!(
                "--{name} needs a whole number of days from 1 to 365000, not {v:?}"
            ))),
        }
    }
}

fn utf8(arg: OsString) -> Result<String, Fail> {
    arg.into_string()
        .map_err(|a| Fail::usage(format!("argument {a:?} is not valid UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Parsed, Fail> {
        let flags: &[&[Flag]] = &[&[opt("days"), many("client"), switch("expired")]];
        Parsed::parse(args.iter().map(OsString::from).collect(), flags, 1, 2)
    }

    #[test]
    fn flags_words_and_values() {
        let p = parse(&[
            "dir",
            "--days=3",
            "--client",
            "a",
            "--client",
            "b",
            "--expired",
        ])
        .unwrap();
        assert_eq!(p.words, ["dir"]);
        assert_eq!(p.days("days").unwrap(), Some(3));
        assert_eq!(p.all("client"), ["a", "b"]);
        assert!(p.has("expired") && !p.help);
        let p = parse(&["--", "--dir", "x"]).unwrap();
        assert_eq!(p.words, ["--dir", "x"]);
    }

    #[test]
    fn mistakes_are_usage_errors() {
        for bad in [
            &["dir", "--nope"][..],
            &["dir", "--days"],
            &["dir", "--days", "1", "--days", "2"],
            &["dir", "--expired=yes"],
            &["dir", "-x"],
            &[],
            &["a", "b", "c"],
        ] {
            assert!(matches!(parse(bad), Err(Fail::Usage(_))), "{bad:?}");
        }
        for days in ["0", "-1", "x", "1.5"] {
            let p = parse(&["dir", "--days", days]).unwrap();
            assert!(p.days("days").is_err(), "{days}");
        }
        assert!(parse(&["--help"]).unwrap().help);
    }
}
