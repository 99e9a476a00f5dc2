//! Normalisation: the byte map stays on char boundaries of the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        vigil_fuzz::check_normalize(text);
    }
});
