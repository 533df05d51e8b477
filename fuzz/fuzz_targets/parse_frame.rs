//! A link-type selector byte and a frame: parsing must not panic, a
//! malformed layer must start inside the frame, and for unfragmented TCP
//! and UDP packets that etherparse parses strictly the 5-tuple must agree
//! with etherparse's.
//! The body lives in `fuzz/bodies/src/parse_frame.rs`, shared with the stable
//! smoke run CI makes (`fuzz/bodies/tests/smoke.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::parse_frame::run(data));
