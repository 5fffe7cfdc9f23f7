#![no_main]
//! See `wss::fuzzing::client_response`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wss::fuzzing::client_response(data));
