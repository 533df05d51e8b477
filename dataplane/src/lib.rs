//! # zprsim-dataplane
//!
//! Reads packets (pcap, pcapng, TAP), parses them without allocating, and
//! judges them with the tables compiled by `zprsim-control` on lock-free
//! worker threads with per-worker connection tracking.

pub mod baseline;
pub mod bench;
pub mod capture;
pub mod capture_state;
pub mod community_id;
pub mod conntrack;
pub mod diff;
pub mod drop_reason;
#[cfg(test)]
mod edge_frames;
pub mod engine;
pub mod flowlog;
pub mod import_files;
pub mod import_looks;
pub mod input;
pub mod input_dir;
pub mod judge;
pub mod lab;
pub mod output;
pub mod parse;
pub mod pcap_out;
pub mod replay;
pub mod report;
pub mod scenario_file;
pub mod server_port;
pub mod sniff;
pub mod stand_in_owed;
pub(crate) mod state_table;
pub mod synth;
pub mod tap;
#[cfg(test)]
mod test_alloc;
pub mod unjudged;
pub mod warning;
pub mod why;
