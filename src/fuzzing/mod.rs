//! Entry points for the fuzz targets in `fuzz/` (cargo feature `fuzzing`; not part of the API).
//! Each takes arbitrary bytes, runs one parser as the library runs it on untrusted input, and
//! panics only when an invariant the rest of the library relies on is broken. One file per
//! area, so each target's entry points sit together.

mod http;
mod tls;
mod url;

pub use self::http::{client_response, server_request};
pub use self::tls::{ca_pem, crl, dhparams, pem_identity, pkcs12};
pub use self::url::connect_url;
