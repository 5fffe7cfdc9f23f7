//! Entry points for the fuzz targets in `fuzz/` (cargo feature `fuzzing`; not part of the API).
//! Each takes arbitrary bytes, runs one parser as the library runs it on untrusted input, and
//! panics only when an invariant the rest of the library relies on is broken. One file per
//! area (the frame reader's is the message layer's own, src/ws/fuzzing.rs, re-exported here),
//! so each target's entry points sit together. The unit tests replay the seed corpora
//! (fuzz/seeds/TARGET) and every input that once failed (fuzz/regressions/TARGET).

mod http;
mod tls;
mod url;

/// The frame reader (src/ws/fuzzing.rs, the message layer's own file).
#[cfg(feature = "fuzzing")]
pub use crate::ws::fuzzing::*;

pub use self::http::{client_response, server_request};
pub use self::tls::{ca_pem, crl, dhparams, pem_identity, pkcs12};
pub use self::url::connect_url;

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every file under fuzz/seeds/`target` and fuzz/regressions/`target` through `run`;
    /// returns how many there were.
    fn replay(target: &str, run: impl Fn(&[u8])) -> usize {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut n = 0;
        for set in ["seeds", "regressions"] {
            let Ok(dir) = std::fs::read_dir(root.join(set).join(target)) else {
                continue;
            };
            for entry in dir {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data)));
                assert!(outcome.is_ok(), "{} fails again", path.display());
                n += 1;
            }
        }
        n
    }

    #[test]
    fn http_inputs_replay() {
        assert!(replay("http_request", super::server_request) > 0);
        assert!(replay("http_response", super::client_response) > 0);
    }

    #[test]
    fn url_inputs_replay() {
        assert!(replay("url", super::connect_url) > 0);
    }

    #[test]
    fn tls_inputs_replay() {
        assert!(replay("pkcs12", super::pkcs12) > 0);
        assert!(replay("crl", super::crl) > 0);
        assert!(
            replay("pem", |d| {
                super::pem_identity(d);
                super::ca_pem(d);
                super::dhparams(d);
            }) > 0
        );
    }

    /// The seeds reach the paths that accept: the fuzzer starts from inputs that pass.
    #[test]
    fn seeds_reach_success() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
        let read = |p: &str| std::fs::read(root.join(p)).unwrap();
        let req = read("http_request/upgrade");
        assert!(matches!(
            crate::http::parse_request(&req, 4096),
            Ok(crate::http::Parsed::Complete(..))
        ));
        let resp = read("http_response/101");
        let offered = ["chat".to_string()];
        let deflate = crate::ws::deflate::Deflate::default();
        let parsed = crate::http::parse_response(
            &resp,
            "dGhlIHNhbXBsZSBub25jZQ==",
            &offered,
            &deflate,
            4096,
        );
        assert!(
            matches!(&parsed, Ok(Some(up)) if up.subprotocol.is_some()),
            "{parsed:?}"
        );
        assert!(crate::tls::load::pfx_identity(&read("pkcs12/wss"), "wss", "seed").is_ok());
        assert!(crate::tls::load::crls(&read("crl/der"), "seed").is_ok());
    }
}
