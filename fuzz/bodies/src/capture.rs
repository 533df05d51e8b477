//! Any bytes as a capture file: opening and reading every record must not
//! panic, hang or allocate in proportion to a length field, and what it
//! yields must be consistent.

use zprsim_dataplane::capture::{Capture, CaptureWarning};
use zprsim_dataplane::parse::parse_frame;

/// The body of the `capture` fuzz target.
pub fn run(data: &[u8]) {
    let len = data.len() as u64;
    let Ok(capture) = Capture::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = capture.link_types();
    let mut records = capture.records();
    let mut last_offset = None;
    let mut n = 0u64;
    let mut failed = false;
    for r in records.by_ref() {
        let Ok(r) = r else {
            failed = true;
            continue;
        };
        assert!(!failed, "a record after an error");
        n += 1;
        // Records move forward, and each costs at least 12 bytes of file.
        assert!(last_offset.is_none_or(|o| r.offset > o));
        assert!(r.offset + r.data.len() as u64 <= len);
        assert!(n * 12 <= len);
        last_offset = Some(r.offset);
        let _ = parse_frame(r.linktype, r.data);
    }
    for w in records.warnings() {
        let CaptureWarning::Truncated {
            offset,
            available,
            needed,
        } = *w
        else {
            continue;
        };
        assert!(offset + available == len && available < needed);
    }
}
