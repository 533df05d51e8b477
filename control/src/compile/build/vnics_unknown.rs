//! Addresses that may be VNICs the export lacks: those of a subnet whose
//! VNICs are not all known (`vnics_unknown`, set by `zprsim import` when
//! the export does not list the subnet's private IPs) that no VNIC holds
//! (docs/semantics.md, decision 34). Compiled as ranges of the prefix
//! tree: the flagged subnets' blocks mark their nodes, and every node they
//! cover that is no VNIC's host node gets `ClassInfo::MAY_BE_LOST_VNIC`,
//! which makes its security layer deny. The reference evaluator asks the
//! same of the subnets' blocks directly (`eval::vnics_unknown_at`); the
//! differential tests hold the two equal.

use super::super::prefix::{Pfx, PrefixTree};
use crate::model::Scenario;

/// For every node of `tree`: whether a block of a subnet whose VNICs are
/// not all known covers it (empty when no subnet is flagged).
pub(super) fn covered(s: &Scenario, tree: &PrefixTree) -> Vec<bool> {
    let blocks: Vec<Pfx> = s
        .subnets
        .iter()
        .filter(|sn| sn.vnics_unknown)
        .flat_map(|sn| sn.cidrs.iter().map(|c| Pfx::from(*c)))
        .collect();
    if blocks.is_empty() {
        return Vec::new();
    }
    let mut marks = vec![false; tree.len()];
    for p in blocks {
        if let Some(n) = tree.find(p) {
            marks[n as usize] = true;
        }
    }
    tree.covered(&marks)
}
