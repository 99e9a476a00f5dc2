//! Decoding and validation of arbitrary bytes: never panics; what it accepts tags with evidence
//! spans on char boundaries of the fields as sent.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vigil_fuzz::check_decode_and_tag(data);
});
