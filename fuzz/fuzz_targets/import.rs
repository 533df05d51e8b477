//! Any text as the files of an OCI CLI export (`zprsim import oci DIR`):
//! the conversion must not panic or hang.
//! The input is cut into up to three files at `\0` bytes (named like the
//! export script's), so objects that refer to each other across files,
//! several CLI outputs in one file and repeated objects are all reached.
//! The body lives in `fuzz/bodies/src/import.rs`, shared with the stable
//! smoke run CI makes (`fuzz/bodies/tests/smoke.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::import::run(data));
