//! # zprsim-dataplane
//!
//! Reads packets (pcap, pcapng, TAP), parses them without allocating, and
//! judges them with the tables compiled by `zprsim-control` on lock-free
//! worker threads with per-worker connection tracking.
