#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera::fuzzing::redirect_uri(data));
