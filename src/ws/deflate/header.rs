//! The `Sec-WebSocket-Extensions` grammar (RFC 6455 §9.1, lists per RFC 7230 §7): a comma-separated
//! list of extensions, each a token followed by `;`-separated parameters, each a token with an
//! optional `=` value that is a token or a quoted string. Whitespace around every delimiter is
//! allowed and empty list elements are skipped, as RFC 7230 requires of recipients.

/// One element of the list: an extension name and its parameters, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub name: String,
    pub params: Vec<(String, Option<String>)>,
}

/// Parses every header line given (their elements concatenated, in order). `Err` names the first
/// syntax error: the whole header is then unusable.
pub(crate) fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<Vec<Element>, String> {
    let mut out = Vec::new();
    for line in lines {
        let mut p = Parser {
            s: line.as_bytes(),
            i: 0,
        };
        p.list(&mut out)?;
    }
    Ok(out)
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn error(&self, what: &str) -> String {
        let at = String::from_utf8_lossy(&self.s[self.i.min(self.s.len())..]);
        format!("malformed Sec-WebSocket-Extensions: {what} at {at:?}")
    }

    fn token(&mut self, what: &str) -> Result<String, String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        if self.i == start {
            return Err(self.error(&format!("expected {what}")));
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn quoted(&mut self) -> Result<String, String> {
        self.i += 1; // the opening quote
        let mut v = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&v).into_owned());
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => v.push(c),
                        _ => return Err(self.error("bad escape in quoted string")),
                    }
                    self.i += 1;
                }
                Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                    v.push(c);
                    self.i += 1;
                }
                Some(_) => return Err(self.error("control character in quoted string")),
            }
        }
    }

    fn list(&mut self, out: &mut Vec<Element>) -> Result<(), String> {
        loop {
            self.ows();
            match self.peek() {
                None => return Ok(()),
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            out.push(self.element()?);
            self.ows();
            match self.peek() {
                None => return Ok(()),
                Some(b',') => self.i += 1,
                Some(_) => return Err(self.error("expected `,` or `;`")),
            }
        }
    }

    fn element(&mut self) -> Result<Element, String> {
        let name = self.token("an extension name")?;
        let mut params = Vec::new();
        loop {
            self.ows();
            if self.peek() != Some(b';') {
                return Ok(Element { name, params });
            }
            self.i += 1;
            self.ows();
            let key = self.token("a parameter name")?;
            self.ows();
            let value = if self.peek() == Some(b'=') {
                self.i += 1;
                self.ows();
                Some(if self.peek() == Some(b'"') {
                    self.quoted()?
                } else {
                    self.token("a parameter value")?
                })
            } else {
                None
            };
            params.push((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(name: &str, params: &[(&str, Option<&str>)]) -> Element {
        Element {
            name: name.into(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
        }
    }

    #[test]
    fn parses_lists_parameters_quotes_and_whitespace() {
        let cases: &[(&[&str], Vec<Element>)] = &[
            (&[""], vec![]),
            (&["permessage-deflate"], vec![el("permessage-deflate", &[])]),
            (
                &["permessage-deflate; client_max_window_bits"],
                vec![el(
                    "permessage-deflate",
                    &[("client_max_window_bits", None)],
                )],
            ),
            (
                &["x-foo ;a = 1 ; b=\"2\"\t,\t, permessage-deflate;server_max_window_bits=\"1\\0\""],
                vec![
                    el("x-foo", &[("a", Some("1")), ("b", Some("2"))]),
                    el(
                        "permessage-deflate",
                        &[("server_max_window_bits", Some("10"))],
                    ),
                ],
            ),
            (
                &["a", "b; c, d"],
                vec![el("a", &[]), el("b", &[("c", None)]), el("d", &[])],
            ),
            (
                &["a; q=\"x,y;z\""],
                vec![el("a", &[("q", Some("x,y;z"))])],
            ),
        ];
        for (lines, want) in cases {
            assert_eq!(&parse(lines.iter().copied()).unwrap(), want, "{lines:?}");
        }
    }

    #[test]
    fn rejects_broken_syntax() {
        for bad in [
            "permessage-deflate;",
            "permessage-deflate; =1",
            "permessage-deflate; a=",
            "permessage-deflate; a=\"1",
            "permessage-deflate; a=\"1\\",
            "permessage-deflate a",
            "perm{essage",
            "; a",
            "a; b=1 2",
            "a; b=\"1\" x",
            "a; b=\"\x01\"",
        ] {
            let e = parse([bad]).unwrap_err();
            assert!(
                e.starts_with("malformed Sec-WebSocket-Extensions"),
                "{bad:?}: {e}"
            );
        }
    }
}
