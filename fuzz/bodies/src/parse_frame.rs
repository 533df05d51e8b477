//! A link-type selector byte and a frame: parsing must not panic, a
//! malformed layer must start inside the frame, and for unfragmented TCP
//! and UDP packets that etherparse parses strictly the 5-tuple must agree
//! with etherparse's.

use zprsim_dataplane::parse::{Parsed, parse_frame};

/// The link types the first byte selects (byte modulo the length); the
/// regression test in dataplane/tests/input.rs uses the same table.
const LINKTYPES: [u32; 11] = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 105];

// etherparse's view of a frame, from the dataplane's integration tests'
// helpers (the same file, not a copy: the two checks must agree on what
// etherparse is asked).
#[path = "../../../dataplane/tests/common/mod.rs"]
mod common;
use common::etherparse_tuple;

/// The body of the `parse_frame` fuzz target.
pub fn run(data: &[u8]) {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let lt = LINKTYPES[usize::from(selector) % LINKTYPES.len()];
    let parsed = parse_frame(lt, frame);
    if let Parsed::Malformed { offset, .. } = parsed {
        assert!(offset <= frame.len());
    }
    if let Some(oracle) = etherparse_tuple(lt, frame) {
        assert!(
            matches!(parsed, Parsed::Ip(m) if m.packet == oracle),
            "ours {parsed:?}, etherparse {oracle:?}"
        );
    }
}
