//! Scenario text (TOML) judged by both engines: for a scenario that loads
//! and compiles, the first packets (and replies) between its VNICs'
//! addresses and a few outside addresses, TCP, UDP and ICMP, must get the
//! same verdict, stage and deciding rules from the compiled table and the
//! reference evaluator (`agree::judge_both`); a disagreement is a crash.
//! Seed it with scenarios (`tests/cases/scenarios/*.toml`, the examples)
//! so that mutations stay close to loadable text.
//! The body lives in `fuzz/bodies/src/agree.rs`, shared with the stable
//! smoke run CI makes (`fuzz/bodies/tests/smoke.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zprsim_fuzz_bodies::agree::run(data));
