//! The bodies of zprsim's fuzz targets. Each `fuzz/fuzz_targets/NAME.rs`
//! is `fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::NAME::run(data));`,
//! and `tests/smoke.rs` runs the same functions on stable over the seeds
//! in `fuzz/seeds/NAME/` and deterministic mutations of them (CI's fuzz
//! step). A body returns normally on any input it rejects; a panic is a
//! finding (a crash under libFuzzer, a failed test in the smoke run).
// Panicking is how a fuzz body reports a finding.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod agree;
pub mod capture;
pub mod fast_readers;
pub mod flowlog;
pub mod import;
pub mod parse_frame;
pub mod scenario;
pub mod stream;
pub mod zpl;

/// A fuzz target's body.
pub type Body = fn(&[u8]);

/// Every target's name and body, in the order of `fuzz/Cargo.toml`.
pub const TARGETS: [(&str, Body); 9] = [
    ("capture", capture::run),
    ("parse_frame", parse_frame::run),
    ("zpl", zpl::run),
    ("scenario", scenario::run),
    ("fast_readers", fast_readers::run),
    ("flowlog", flowlog::run),
    ("import", import::run),
    ("stream", stream::run),
    ("agree", agree::run),
];
