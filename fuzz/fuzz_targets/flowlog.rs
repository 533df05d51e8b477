//! Any bytes as a flow-log file (plain or gzip): reading must not panic,
//! hang or hold more than its limits allow, and what it yields must be
//! consistent.
//! The body lives in `fuzz/bodies/src/flowlog.rs`, shared with the stable
//! smoke run CI makes (`fuzz/bodies/tests/smoke.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::flowlog::run(data));
