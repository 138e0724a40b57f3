#![no_main]
// Generated alike for every target of `hydrant_fuzzing::TARGETS`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| hydrant_fuzzing::target("simple_query_string").expect("target")(data));
