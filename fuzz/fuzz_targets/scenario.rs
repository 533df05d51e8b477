//! Scenario text (TOML and JSON): the loader returns a scenario or an
//! error, and a loaded scenario compiles or fails with a limit error;
//! never a panic.
//! The body lives in `fuzz/bodies/src/scenario.rs`, shared with the stable
//! smoke run CI makes (`fuzz/bodies/tests/smoke.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::scenario::run(data));
