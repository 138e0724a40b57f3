#![no_main]
// Generated alike for every target of `hydrant_fuzzing::TARGETS`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hydrant_fuzzing::target("wal_replay").expect("target")(data));
