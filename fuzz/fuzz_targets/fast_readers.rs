//! The loader's fast TOML and JSON readers against the `toml` crate and
//! serde_json: whatever text they take, they read as the crates do, spans
//! included (differential; `load::fast_readers_agree`).
//! The body lives in `fuzz/bodies/src/fast_readers.rs`, shared with the stable
//! smoke run CI makes (`fuzz/bodies/tests/smoke.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::fast_readers::run(data));
