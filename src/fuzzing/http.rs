//! The HTTP upgrade in both roles: the server parsing a request head, the client a response.

use crate::http::{self, Parsed};
use crate::ws::deflate::Deflate;

/// The `Sec-WebSocket-Key` of RFC 6455's example; the seed corpus answers it, so the fuzzer
/// starts from a response that passes.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// A small head limit, so the 431 path is reached as well.
const MAX_HEAD: usize = 4096;

/// Server role: parse `data` as an upgrade request head (as `ReadRequest` does), then check
/// and route what parsed. A complete head must parse to the same length from its own bytes
/// (what follows it is the WebSocket's, never the head's).
pub fn server_request(data: &[u8]) {
    match http::parse_request(data, MAX_HEAD) {
        Ok(Parsed::Complete(req, len)) => {
            assert!(len <= data.len(), "head length {len} beyond the input");
            assert!(
                len <= MAX_HEAD,
                "head of {len} bytes passed the {MAX_HEAD} limit"
            );
            match http::parse_request(&data[..len], MAX_HEAD) {
                Ok(Parsed::Complete(_, again)) => assert_eq!(again, len),
                _ => panic!("a complete head is not complete on its own"),
            }
            let _ = req.subprotocols();
            if let Ok(key) = http::check_upgrade(&req) {
                assert!(!key.is_empty());
            }
        }
        Ok(Parsed::Partial) => assert!(data.len() <= MAX_HEAD),
        Err(refusal) => assert!((400..600).contains(&refusal.status)),
    }
}

/// Client role: parse `data` as the answer to our upgrade request with key `KEY`, offering the
/// subprotocols "chat" and "echo", with and without permessage-deflate (as `ReadResponse`
/// does). What passes names only what we offered.
pub fn client_response(data: &[u8]) {
    let offered = ["chat".to_string(), "echo".to_string()];
    for deflate in [Deflate::default(), Deflate::on()] {
        if let Ok(Some(up)) = http::parse_response(data, KEY, &offered, &deflate, MAX_HEAD) {
            assert!(
                up.len <= data.len() && up.len <= MAX_HEAD,
                "head length {}",
                up.len
            );
            if let Some(p) = &up.subprotocol {
                assert!(
                    offered.contains(p),
                    "accepted a subprotocol we did not offer: {p:?}"
                );
            }
            assert!(
                deflate.enabled || up.deflate.is_none(),
                "deflate agreed without an offer"
            );
        }
    }
}
