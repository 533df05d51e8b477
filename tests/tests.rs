//! zprsim's integration tests: one binary, one module per topic.

// Test helpers may unwrap and panic: a failure is the report.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod address_index;
mod audit_statements;
mod bench;
mod broken_exports;
mod capture_formats;
mod capture_shapes;
mod cases;
mod cli_flag_checks;
mod closed_gateways;
mod compressed_captures;
mod contract;
mod diff;
mod diff_bounded;
mod diff_changes;
mod diff_oracle;
mod diff_reports;
mod differential;
mod differential_edges;
mod docs;
mod docs_drift;
mod engine;
mod engine_served_paths;
mod engine_splits_and_orders;
mod expectations_and_services_files;
mod explain;
mod explain_hints;
mod explain_inputs;
mod explain_shapes;
mod explain_state;
mod firstday;
mod flowlog;
mod flowlog_archives;
mod flowlog_diff;
mod flowlog_diff_paths;
mod flowlog_formats;
mod full_disk;
mod gzip_damage;
mod identical_outputs;
mod import;
mod import_files;
mod import_lost_service_vnics;
mod import_objects;
mod import_partial_exports;
mod input_dirs;
mod inputs_of_the_wrong_kind;
mod internet;
mod interrupted_runs;
mod io_messages;
mod lab;
mod link_local;
mod link_scope;
mod output_and_name_safety;
mod owed_drops;
mod paste;
mod platform;
mod replay;
mod replay_oracle;
mod reply_routes;
mod rollout;
mod route_hints;
mod run_warnings;
mod safety;
mod scenario_loading;
mod spool;
mod stand_in_flags;
mod stand_ins;
mod stand_ins_never_allow_more;
mod streams;
mod support;
mod unique_local_addresses;
mod utf16_inputs;
mod verify;
mod verify_grouped;
mod verify_hints;
mod verify_replies;
mod virtual_router_dhcp;
mod zpr_reply_hints;
