//! Which dropped flows are owed to what an imported export lacked: a
//! stand-in (`stand_in = true`: an NSG, security list, route table,
//! gateway, VNIC or subnet `zprsim import` made up for one the export
//! names and lacks, or the attribute it gives a VNIC whose attributes are
//! not said) decided where the drop was, so the whole export may allow it
//! (since the twentieth session).
//!
//! Decided per flow record as it closes (`engine::flows`), never per
//! packet: each VNIC's flags are known from the scenario before the pass,
//! and a closed record with dropped packets costs one or two hash look-ups
//! of its addresses. A scenario without a stand-in has none
//! ([`StandInOwed::new`] is `None`) and costs nothing.
//!
//! A drop is owed when the layer that dropped a packet of the flow (its
//! first packet, or its first reply) runs at a VNIC whose part of that
//! layer is not all known:
//! - route: the sender's or the receiver's route table is a stand-in (or
//!   its subnet is, without a table), or holds a rule to a stand-in
//!   gateway;
//! - egress (ingress) security: the sender's (receiver's) rules are not
//!   all known: a stand-in NSG or security list, a stand-in VNIC without
//!   NSGs or stand-in subnet without lists, or one of its NSGs has a
//!   stateless rule naming an NSG of a VCN holding a stand-in VNIC without
//!   NSGs (nothing is tracked there, docs/semantics.md section 4);
//! - ZPR: either end carries the stand-in attribute.

use std::collections::HashMap;
use std::net::IpAddr;

use zprsim_control::model::{Peer, RouteTarget, Scenario};
use zprsim_control::verdict::Stage;

use crate::engine::FlowRecord;

const ROUTE: u8 = 1;
const SECURITY: u8 = 2;
const ZPR: u8 = 4;

/// The VNIC addresses at which some layer's rules are not all known, with
/// which layers.
#[derive(Debug, Clone, Default)]
pub struct StandInOwed {
    flags: HashMap<IpAddr, u8>,
}

impl StandInOwed {
    /// The flags of `s`'s VNICs; `None` when no VNIC has any (no
    /// stand-in touches a verdict).
    #[must_use]
    pub fn new(s: &Scenario) -> Option<StandInOwed> {
        // The first stand-in VNIC without NSGs of each VCN: a stateless
        // rule naming an NSG of that VCN may match it.
        let mut nsgless_in = vec![false; s.vcns.len()];
        for y in s.vnics.iter().filter(|y| y.stand_in && y.nsgs.is_empty()) {
            nsgless_in[s.subnets[y.subnet.index()].vcn.index()] = true;
        }
        let names_unknown: Vec<bool> = s
            .nsgs
            .iter()
            .map(|n| {
                n.rules.iter().any(|r| {
                    r.stateless
                        && matches!(r.peer, Peer::Nsg(p) if nsgless_in[s.nsgs[p.index()].vcn.index()])
                })
            })
            .collect();
        let table_unknown: Vec<bool> = s
            .route_tables
            .iter()
            .map(|t| {
                t.stand_in
                    || t.rules.iter().any(|r| {
                        matches!(r.target, RouteTarget::Gateway(g) if s.gateways[g.index()].stand_in)
                    })
            })
            .collect();
        let mut flags = HashMap::new();
        for v in &s.vnics {
            let sn = &s.subnets[v.subnet.index()];
            let mut f = 0;
            // The VNIC's own table, else its subnet's
            // (`Scenario::effective_route_table`).
            let route = match v.route_table.or(sn.route_table) {
                Some(t) => table_unknown[t.index()],
                None => sn.table_unknown,
            };
            if route {
                f |= ROUTE;
            }
            let security = v
                .nsgs
                .iter()
                .any(|n| s.nsgs[n.index()].stand_in || names_unknown[n.index()])
                || sn
                    .security_lists
                    .iter()
                    .any(|l| s.security_lists[l.index()].stand_in)
                || (v.stand_in && v.nsgs.is_empty())
                || sn.lists_unknown;
            if security {
                f |= SECURITY;
            }
            if v.attributes
                .iter()
                .any(|a| a.attribute.namespace == zprsim_control::shared::STAND_IN_NAMESPACE)
            {
                f |= ZPR;
            }
            if f != 0 {
                for ip in &v.private_ips {
                    flags.insert(*ip, f);
                }
            }
        }
        (!flags.is_empty()).then_some(StandInOwed { flags })
    }

    fn of(&self, ip: IpAddr) -> u8 {
        self.flags.get(&ip).copied().unwrap_or(0)
    }

    /// Whether a packet from `from` to `to` dropped at `stage` was
    /// decided where a stand-in is.
    #[must_use]
    pub fn owes_drop(&self, from: IpAddr, to: IpAddr, stage: Stage) -> bool {
        match stage {
            Stage::Route => (self.of(from) | self.of(to)) & ROUTE != 0,
            Stage::EgressSecurity => self.of(from) & SECURITY != 0,
            Stage::IngressSecurity => self.of(to) & SECURITY != 0,
            Stage::Zpr => (self.of(from) | self.of(to)) & ZPR != 0,
        }
    }

    /// Whether the drops of flow record `r` are owed to a stand-in: its
    /// first packet, or its first reply, dropped where one is.
    #[must_use]
    pub fn owes(&self, r: &FlowRecord) -> bool {
        r.first
            .stage
            .is_some_and(|st| self.owes_drop(r.src, r.dst, st))
            || r.reply
                .and_then(|d| d.stage)
                .is_some_and(|st| self.owes_drop(r.dst, r.src, st))
    }
}

/// `stand_in_drops` of the reports (`replay`, `diff`): the dropped
/// packets, and their flow records, whose drop a stand-in decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StandInDrops {
    /// Dropped packets of those flows.
    pub packets: u64,
    /// Flow records.
    pub flows: u64,
}

impl StandInDrops {
    /// From the counters ([`crate::judge::Counters::stand_in_dropped`]).
    #[must_use]
    pub fn of(k: &crate::judge::Counters) -> Self {
        StandInDrops {
            packets: k.stand_in_dropped,
            flows: k.stand_in_dropped_flows,
        }
    }

    /// The summary's line, of `dropped` packets in all; `None` when no
    /// drop is owed to a stand-in.
    #[must_use]
    pub fn line(&self, dropped: u64) -> Option<String> {
        (self.packets > 0).then(|| {
            format!(
                "{} of {dropped} drop(s) ({} flow(s)) owed to stand-ins: decided where the imported export lacked something (`stand_in = true`); export it for their real verdicts",
                self.packets, self.flows
            )
        })
    }
}
