#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera::fuzzing::client_assertion(data));
