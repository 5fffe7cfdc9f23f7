//! permessage-deflate negotiation (RFC 7692 §5, §7.1): the server picks the first acceptable
//! offer and answers it; the client builds its offer and validates the answer strictly.

use super::header::{self, Element};
use super::options::Deflate;

/// The extension's registered name.
pub(crate) const NAME: &str = "permessage-deflate";

/// What both ends agreed on for one connection (absent window bits are 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server compresses each message on its own.
    pub server_no_context_takeover: bool,
    /// The client compresses each message on its own.
    pub client_no_context_takeover: bool,
    /// Largest window the server compresses with (8 to 15).
    pub server_max_window_bits: u8,
    /// Largest window the client compresses with (8 to 15).
    pub client_max_window_bits: u8,
}

/// The parameters of one permessage-deflate element, checked against RFC 7692 §7.1: known
/// names only, none twice, no value on the `*_no_context_takeover` ones, window bits a decimal
/// 8..=15 without leading zeros. `client_max_window_bits` may come without a value
/// (`Some(None)`), which only an offer may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<Option<u8>>,
}

fn window_bits(name: &str, v: &Option<String>) -> Result<u8, String> {
    let v = v
        .as_deref()
        .ok_or_else(|| format!("{name} needs a value"))?;
    match v.parse::<u8>() {
        Ok(n @ 8..=15) if !v.starts_with('0') && v.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("{name}={v:?} is not 8..=15")),
    }
}

impl Params {
    fn parse(el: &Element) -> Result<Params, String> {
        let mut p = Params::default();
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in &el.params {
            let key = name.to_ascii_lowercase();
            if seen.contains(&key) {
                return Err(format!("{name} appears twice"));
            }
            seen.push(key.clone());
            let flag = |v: &Option<String>| match v {
                None => Ok(true),
                Some(v) => Err(format!("{name} takes no value (got {v:?})")),
            };
            match key.as_str() {
                "server_no_context_takeover" => p.server_no_context_takeover = flag(value)?,
                "client_no_context_takeover" => p.client_no_context_takeover = flag(value)?,
                "server_max_window_bits" => {
                    p.server_max_window_bits = Some(window_bits(name, value)?)
                }
                "client_max_window_bits" => {
                    p.client_max_window_bits = Some(match value {
                        None => None,
                        Some(_) => Some(window_bits(name, value)?),
                    })
                }
                _ => return Err(format!("unknown parameter {name}")),
            }
        }
        Ok(p)
    }

    fn header(&self) -> String {
        let mut s = NAME.to_string();
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if let Some(b) = self.server_max_window_bits {
            s.push_str(&format!("; server_max_window_bits={b}"));
        }
        match self.client_max_window_bits {
            Some(Some(b)) => s.push_str(&format!("; client_max_window_bits={b}")),
            Some(None) => s.push_str("; client_max_window_bits"),
            None => {}
        }
        s
    }
}

/// The agreement as a `Sec-WebSocket-Extensions` value, parameters at their defaults left out:
/// `permessage-deflate; client_no_context_takeover; server_max_window_bits=10`.
impl std::fmt::Display for DeflateParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bits = |b: u8| (b < 15).then_some(b);
        let p = Params {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: bits(self.server_max_window_bits),
            client_max_window_bits: bits(self.client_max_window_bits).map(Some),
        };
        f.write_str(&p.header())
    }
}

fn is_deflate(el: &Element) -> bool {
    el.name.eq_ignore_ascii_case(NAME)
}

/// The server's side: `lines` are the request's `Sec-WebSocket-Extensions` values. Returns the
/// agreed parameters and the response header value for the first permessage-deflate offer we
/// can accept, `Ok(None)` (answer without the header) when there is none: an offer with unknown
/// or repeated parameters or bad values is declined on its own (RFC 7692 §5), the next
/// alternative is tried. `Err` when the header does not parse at all: the request is malformed
/// (RFC 6455 §4.2.1), the caller answers 400, as Node `ws` and Python `websockets` do.
pub(crate) fn answer(
    lines: &[&str],
    cfg: &Deflate,
) -> Result<Option<(DeflateParams, String)>, String> {
    let elements = header::parse(lines.iter().copied())?;
    for el in elements.iter().filter(|e| is_deflate(e)) {
        let Ok(offer) = Params::parse(el) else {
            continue;
        };
        // server_max_window_bits: at most what was offered and what we want; absent = 15.
        let ours = cfg.server_max_window_bits;
        let server_bits = offer.server_max_window_bits.map_or(ours, |o| o.min(ours));
        // client_max_window_bits: only when the client said it supports it.
        let client_bits = offer
            .client_max_window_bits
            .map(|o| o.unwrap_or(15).min(cfg.client_max_window_bits));
        let response = Params {
            server_no_context_takeover: offer.server_no_context_takeover
                || cfg.server_no_context_takeover,
            // The client's own no_context_takeover is a hint (§7.1.1.2); answering it makes it
            // binding, and lets our inflater drop its window between messages.
            client_no_context_takeover: offer.client_no_context_takeover
                || cfg.client_no_context_takeover,
            server_max_window_bits: (offer.server_max_window_bits.is_some() || server_bits < 15)
                .then_some(server_bits),
            client_max_window_bits: client_bits
                .filter(|&b| b < 15 || matches!(offer.client_max_window_bits, Some(Some(_))))
                .map(Some),
        };
        let agreed = DeflateParams {
            server_no_context_takeover: response.server_no_context_takeover,
            client_no_context_takeover: response.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits.unwrap_or(15),
        };
        return Ok(Some((agreed, response.header())));
    }
    Ok(None)
}

/// The client's offer: one permessage-deflate element from `cfg`. We always accept the
/// server's limit on our window (`client_max_window_bits`, valueless unless we want less).
pub(crate) fn offer(cfg: &Deflate) -> String {
    Params {
        server_no_context_takeover: cfg.server_no_context_takeover,
        client_no_context_takeover: cfg.client_no_context_takeover,
        server_max_window_bits: (cfg.server_max_window_bits < 15)
            .then_some(cfg.server_max_window_bits),
        client_max_window_bits: Some(
            (cfg.client_max_window_bits < 15).then_some(cfg.client_max_window_bits),
        ),
    }
    .header()
}

/// The client's check of the server's answer to [`offer`] (`lines`: the response's
/// `Sec-WebSocket-Extensions` values; none = declined). `Err` (fail the connection, RFC 6455
/// §9.1) for: a header that does not parse, an extension we did not offer, more than one
/// element, unknown or repeated parameters, bad values, a valueless `client_max_window_bits`,
/// window bits above what we offered, a `client_max_window_bits` we did not offer, or an answer
/// missing the `server_*` parameter we asked for (RFC 7692 §7.1.1.1, §7.1.2.1). The server may
/// add `server_no_context_takeover`, `client_no_context_takeover` and `server_max_window_bits`
/// on its own (§7.1.1.2, §7.1.2.1).
pub(crate) fn check_answer(lines: &[&str], cfg: &Deflate) -> Result<Option<DeflateParams>, String> {
    let elements = header::parse(lines.iter().copied())?;
    let Some(el) = elements.first() else {
        return Ok(None);
    };
    if let Some(other) = elements.iter().find(|e| !is_deflate(e)) {
        return Err(format!(
            "the server accepted extension {:?}, which we did not offer",
            other.name
        ));
    }
    if elements.len() > 1 {
        return Err("the server accepted permessage-deflate more than once".to_string());
    }
    let bad = |why: String| format!("the server's permessage-deflate answer is invalid: {why}");
    let p = Params::parse(el).map_err(bad)?;
    let asked_server_bits = (cfg.server_max_window_bits < 15).then_some(cfg.server_max_window_bits);
    if cfg.server_no_context_takeover && !p.server_no_context_takeover {
        return Err(bad(
            "server_no_context_takeover was asked for and not answered".into(),
        ));
    }
    let server_bits = match (asked_server_bits, p.server_max_window_bits) {
        (Some(_), None) => {
            return Err(bad(
                "server_max_window_bits was asked for and not answered".into()
            ))
        }
        (Some(asked), Some(got)) if got > asked => {
            return Err(bad(format!(
                "server_max_window_bits={got} is above the {asked} we offered"
            )))
        }
        (_, got) => got.unwrap_or(15),
    };
    let client_bits = match p.client_max_window_bits {
        None => 15,
        Some(None) => return Err(bad("client_max_window_bits has no value".into())),
        Some(Some(got)) if got > cfg.client_max_window_bits => {
            return Err(bad(format!(
                "client_max_window_bits={got} is above the {} we offered",
                cfg.client_max_window_bits
            )))
        }
        Some(Some(got)) => got,
    };
    Ok(Some(DeflateParams {
        server_no_context_takeover: p.server_no_context_takeover,
        client_no_context_takeover: p.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    }))
}

#[cfg(test)]
#[path = "negotiate_tests.rs"]
mod tests;
