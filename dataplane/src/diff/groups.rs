//! Changed flows grouped by what decides them now, for the report and the
//! summary: memory follows the groups (distinct reasons and endpoint
//! pairs), not the flows.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// A group of changed flows.
#[derive(Debug, Default, Serialize)]
pub struct Group {
    /// What decides them now: for would-break flows what blocks them after
    /// (layer, rule or missing policy); for newly allowed flows what allows
    /// them after.
    pub reason: String,
    /// Flows in the group.
    pub flows: u64,
    /// Their changed packets.
    pub packets: u64,
    /// For would-break flows the rules that allowed them before; for newly
    /// allowed flows what blocked them before.
    pub before: BTreeSet<String>,
    /// Endpoint pairs (VNIC, subnet, attributes), with their flow counts.
    pub endpoints: BTreeMap<String, u64>,
}

/// Groups by reason.
#[derive(Debug, Default)]
pub(crate) struct Groups(BTreeMap<String, Group>);

impl Groups {
    /// One flow of `packets` changed packets.
    pub(crate) fn add(&mut self, reason: String, packets: u64, before: Vec<String>, pair: String) {
        let g = self.0.entry(reason.clone()).or_default();
        g.reason = reason;
        g.flows += 1;
        g.packets += packets;
        g.before.extend(before);
        *g.endpoints.entry(pair).or_default() += 1;
    }

    /// The groups, most flows first, then by reason.
    pub(crate) fn sorted(self) -> Vec<Group> {
        let mut v: Vec<Group> = self.0.into_values().collect();
        v.sort_by(|a, b| b.flows.cmp(&a.flows).then_with(|| a.reason.cmp(&b.reason)));
        v
    }
}
