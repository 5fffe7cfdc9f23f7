#![no_main]
//! See `wss::fuzzing::server_request`.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wss::fuzzing::server_request(data));
