#![no_main]
//! See `wss::fuzzing::pkcs12`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wss::fuzzing::pkcs12(data));
