//! zprsim's integration tests: one binary, one module per topic.

// Test helpers may unwrap and panic: a failure is the report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod address_index;
mod bench;
mod broken_exports;
mod capture_shapes;
mod cases;
mod compressed_captures;
mod contract;
mod diff;
mod diff_bounded;
mod diff_oracle;
mod differential;
mod differential_edges;
mod docs;
mod engine;
mod explain;
mod explain_s20;
mod explain_shapes;
mod explain_state;
mod firstday;
mod flowlog;
mod import;
mod input_dirs;
mod internet;
mod lab;
mod paste;
mod planning_s14;
mod planning_s15;
mod planning_s16;
mod planning_s17;
mod planning_s18;
mod planning_s19;
mod planning_s20;
mod platform;
mod replay;
mod replay_oracle;
mod review;
mod review_s10;
mod review_s11;
mod review_s12;
mod review_s13;
mod review_s14;
mod review_s15;
mod review_s16;
mod review_s17;
mod review_s18;
mod review_s19;
mod review_s20;
mod review_s21;
mod review_s22;
mod review_s23;
mod review_s24;
mod review_s8;
mod review_s9;
mod rollout;
mod route_hints;
mod run_warnings;
mod safety;
mod spool;
mod stand_in_flags;
mod stand_ins;
mod streams;
mod support;
mod verify;
mod verify_grouped;
mod verify_replies;
