#![no_main]
//! PEM inputs: a certificate chain + key (`wss::fuzzing::pem_identity`), CA certificates
//! (`ca_pem`) and DH parameters (`dhparams`), all from the same bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    wss::fuzzing::pem_identity(data);
    wss::fuzzing::ca_pem(data);
    wss::fuzzing::dhparams(data);
});
