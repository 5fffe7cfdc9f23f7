#![no_main]
//! See `wss::fuzzing::connect_url`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wss::fuzzing::connect_url(data));
