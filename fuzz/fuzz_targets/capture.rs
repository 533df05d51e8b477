//! Any bytes as a capture file: opening and reading every record must not
//! panic, hang or allocate in proportion to a length field, and what it
//! yields must be consistent.
//! The body lives in `fuzz/bodies/src/capture.rs`, shared with the stable
//! smoke run CI makes (`fuzz/bodies/tests/smoke.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::capture::run(data));
