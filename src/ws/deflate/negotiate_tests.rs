//! Negotiation tables: server answers to offers, client checks of answers.

use super::*;

fn on() -> Deflate {
    Deflate::on()
}

fn agreed(snct: bool, cnct: bool, sbits: u8, cbits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: sbits,
        client_max_window_bits: cbits,
    }
}

/// Request header lines, our config, and the expected agreement with its response header.
type AnswerCase = (
    &'static [&'static str],
    Deflate,
    Option<(DeflateParams, &'static str)>,
);

#[test]
fn server_answers_the_first_acceptable_offer() {
    let d = agreed(false, false, 15, 15);
    #[rustfmt::skip]
    let cases: Vec<AnswerCase> = vec![
        // Not offered, or only other extensions.
        (&[], on(), None),
        (&["x-webkit-deflate-frame, foo; bar=1"], on(), None),
        // Chromium's offer.
        (&["permessage-deflate; client_max_window_bits"], on(), Some((d, "permessage-deflate"))),
        (&["permessage-deflate"], on(), Some((d, "permessage-deflate"))),
        // Case-insensitive names, quoted values, whitespace.
        (&["PerMessage-Deflate ;  Server_Max_Window_Bits = \"10\""], on(),
         Some((agreed(false, false, 10, 15), "permessage-deflate; server_max_window_bits=10"))),
        // All four parameters offered.
        (&["permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8"], on(),
         Some((agreed(true, true, 9, 8), "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=8"))),
        // The first alternative is invalid (unknown param, duplicate, bad bits): the next one wins.
        (&["permessage-deflate; foo, permessage-deflate; server_max_window_bits=12"], on(),
         Some((agreed(false, false, 12, 15), "permessage-deflate; server_max_window_bits=12"))),
        (&["permessage-deflate; server_no_context_takeover; server_no_context_takeover", "permessage-deflate"], on(),
         Some((d, "permessage-deflate"))),
        (&["permessage-deflate; server_max_window_bits=16, permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=010, permessage-deflate; server_max_window_bits, permessage-deflate; client_max_window_bits=x, permessage-deflate; server_no_context_takeover=1"], on(), None),
        // Our own limits: our window, no context for us, limits asked of the client.
        (&["permessage-deflate; client_max_window_bits"],
         Deflate { server_max_window_bits: 11, client_max_window_bits: 10, ..on() },
         Some((agreed(false, false, 11, 10), "permessage-deflate; server_max_window_bits=11; client_max_window_bits=10"))),
        (&["permessage-deflate; server_max_window_bits=9"], Deflate { server_max_window_bits: 11, ..on() },
         Some((agreed(false, false, 9, 15), "permessage-deflate; server_max_window_bits=9"))),
        (&["permessage-deflate; server_max_window_bits=13"], Deflate { server_max_window_bits: 11, ..on() },
         Some((agreed(false, false, 11, 15), "permessage-deflate; server_max_window_bits=11"))),
        // A client that did not offer client_max_window_bits gets none (it inflates with 15).
        (&["permessage-deflate"], Deflate { client_max_window_bits: 10, ..on() }, Some((d, "permessage-deflate"))),
        (&["permessage-deflate; client_max_window_bits=12"], on(),
         Some((agreed(false, false, 15, 12), "permessage-deflate; client_max_window_bits=12"))),
        (&["permessage-deflate"], on().no_context_takeover(),
         Some((agreed(true, true, 15, 15), "permessage-deflate; server_no_context_takeover; client_no_context_takeover"))),
    ];
    for (lines, cfg, want) in cases {
        let got = answer(lines, &cfg).unwrap();
        let want = want.map(|(a, h)| (a, h.to_string()));
        assert_eq!(got, want, "{lines:?} with {cfg:?}");
        // Our answer must pass our own client's strict check of it.
        if let Some((a, h)) = &got {
            let client = Deflate {
                server_no_context_takeover: false,
                server_max_window_bits: 15,
                ..on()
            };
            if lines.iter().all(|l| !l.contains("client_max_window_bits=")) {
                assert_eq!(check_answer(&[h], &client).unwrap().as_ref(), Some(a));
            }
        }
    }
}

#[test]
fn server_refuses_a_header_that_does_not_parse() {
    for bad in [
        "permessage-deflate;",
        "permessage-deflate; a=\"",
        "permessage-deflate x",
    ] {
        assert!(answer(&[bad], &on()).is_err(), "{bad:?}");
    }
}

#[test]
fn client_offer_follows_the_config() {
    assert_eq!(offer(&on()), "permessage-deflate; client_max_window_bits");
    assert_eq!(
        offer(&Deflate {
            server_max_window_bits: 10,
            client_max_window_bits: 9,
            ..on().no_context_takeover()
        }),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=9"
    );
    // Every offer we make parses back as one valid element the server accepts.
    let cfg = Deflate {
        server_max_window_bits: 12,
        ..on()
    };
    let (a, _) = answer(&[&offer(&cfg)], &on()).unwrap().unwrap();
    assert_eq!(a.server_max_window_bits, 12);
}

#[test]
fn client_accepts_valid_answers() {
    let limited = Deflate {
        server_max_window_bits: 12,
        client_max_window_bits: 11,
        server_no_context_takeover: true,
        ..on()
    };
    #[rustfmt::skip]
    let cases: Vec<(&[&str], Deflate, Option<DeflateParams>)> = vec![
        (&[], on(), None),
        (&["permessage-deflate"], on(), Some(agreed(false, false, 15, 15))),
        (&["permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"], on(),
         Some(agreed(true, true, 10, 9))),
        (&["Permessage-Deflate; Client_Max_Window_Bits=\"8\""], on(), Some(agreed(false, false, 15, 8))),
        (&["permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11"], limited,
         Some(agreed(true, false, 12, 11))),
        (&["permessage-deflate; server_no_context_takeover; server_max_window_bits=8"], limited,
         Some(agreed(true, false, 8, 15))),
    ];
    for (lines, cfg, want) in cases {
        assert_eq!(check_answer(lines, &cfg).unwrap(), want, "{lines:?}");
    }
}

#[test]
fn client_fails_invalid_answers() {
    let limited = Deflate {
        server_max_window_bits: 12,
        client_max_window_bits: 11,
        server_no_context_takeover: true,
        ..on()
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Deflate, &str)> = vec![
        ("permessage-deflate;", on(), "malformed"),
        ("x-foo", on(), "did not offer"),
        ("permessage-deflate, x-foo", on(), "did not offer"),
        ("permessage-deflate, permessage-deflate", on(), "more than once"),
        ("permessage-deflate; foo", on(), "unknown parameter"),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", on(), "twice"),
        ("permessage-deflate; server_max_window_bits=16", on(), "8..=15"),
        ("permessage-deflate; client_max_window_bits=7", on(), "8..=15"),
        ("permessage-deflate; server_max_window_bits", on(), "needs a value"),
        ("permessage-deflate; client_max_window_bits", on(), "no value"),
        ("permessage-deflate; client_no_context_takeover=yes", on(), "takes no value"),
        ("permessage-deflate; server_max_window_bits=10", limited, "server_no_context_takeover was asked"),
        ("permessage-deflate; server_no_context_takeover", limited, "server_max_window_bits was asked"),
        ("permessage-deflate; server_no_context_takeover; server_max_window_bits=13", limited, "above the 12"),
        ("permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12", limited, "above the 11"),
    ];
    for (line, cfg, why) in cases {
        let e = check_answer(&[line], &cfg).unwrap_err();
        assert!(e.contains(why), "{line:?}: {e}");
    }
}

#[test]
fn agreement_displays_as_the_header_value() {
    assert_eq!(
        agreed(false, false, 15, 15).to_string(),
        "permessage-deflate"
    );
    assert_eq!(
        agreed(true, true, 10, 8).to_string(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=8"
    );
    // What the server answers and what the client makes of it display alike.
    let (params, header) = answer(&["permessage-deflate; client_max_window_bits=9"], &on())
        .unwrap()
        .unwrap();
    assert_eq!(params.to_string(), header);
}
