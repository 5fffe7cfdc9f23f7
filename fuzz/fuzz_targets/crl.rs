#![no_main]
//! See `wss::fuzzing::crl`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wss::fuzzing::crl(data));
