//! End to end: each input line is a message for the engine (decode, validate, tag, windows,
//! rules, alerts); every alert is rendered as CAP XML and as an Alertmanager payload and both
//! are checked. The engine starts from an empty state for each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vigil_fuzz::check_engine_lines(data.split(|&b| b == b'\n'));
});
