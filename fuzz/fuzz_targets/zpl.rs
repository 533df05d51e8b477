//! ZPL text: the parser returns a statement or an error whose span lies
//! inside the text; a parsed statement prints to text that parses back to
//! the same statement.
//! The body lives in `fuzz/bodies/src/zpl.rs`, shared with the stable
//! smoke run CI makes (`fuzz/bodies/tests/smoke.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::zpl::run(data));
