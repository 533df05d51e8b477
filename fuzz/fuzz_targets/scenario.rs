//! Scenario text (TOML and JSON): the loader returns a scenario or an
//! error, and a loaded scenario compiles or fails with a limit error;
//! never a panic.
//! The body lives in `fuzz/bodies/src/scenario.rs`, shared with the stable
//! smoke run CI makes (`fuzz/bodies/tests/smoke.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::scenario::run(data));

// Structure-aware: 3 of 4 mutations change values and keys inside the
// parsed scenario (`zprsim_fuzz_bodies::scenario::mutate_structure`), so
// most inputs load and reach the compiler (and, for `agree`, both
// engines); the rest, and any input that does not parse, get
// libFuzzer's byte mutations, which keep the parsers covered.
libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    if seed % 4 != 0
        && let Some(m) =
            zprsim_fuzz_bodies::scenario::mutate_structure(&data[..size], u64::from(seed))
        && m.len() <= max_size
    {
        data[..m.len()].copy_from_slice(&m);
        return m.len();
    }
    libfuzzer_sys::fuzzer_mutate(data, size, max_size)
});
