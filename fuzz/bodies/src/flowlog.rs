//! Any bytes as a flow-log file (plain or gzip): reading must not panic,
//! hang or hold more than its limits allow, and what it yields must be
//! consistent.

use zprsim_dataplane::flowlog::detect::is_flow_log;
use zprsim_dataplane::flowlog::read::{Limits, ReadOutcome, read_from};

/// The body of the `flowlog` fuzz target.
pub fn run(data: &[u8]) {
    let _ = is_flow_log(data);
    let limits = Limits {
        max_line: 4096,
        max_document: 1 << 20,
        max_records: 1000,
        max_problems: 5,
        // Small, so that mutations reach the bound on NODATA/SKIPDATA ids.
        max_quality_ids: 4,
    };
    let mut out = ReadOutcome::default();
    let _ = read_from("fuzz", 0, data, &limits, &mut out);
    assert!(out.records.len() <= limits.max_records);
    // The listed malformed entries (at most `max_problems`), and for a gzip
    // stream that ends early one warning more (one file here).
    assert!(out.problems.len() <= limits.max_problems + 1);
    assert!(out.problems.len() as u64 <= out.malformed + 1);
    for r in &out.records {
        assert!(r.end >= r.start);
        assert!(r.line >= 1);
        assert!(r.src.is_ipv4() == r.dst.is_ipv4());
    }
}
