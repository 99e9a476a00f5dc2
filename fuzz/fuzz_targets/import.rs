//! The JSONL and ACLED/UCDP CSV importers, and the engine (with its renderings) on what they
//! produce.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vigil_fuzz::check_import(data);
});
