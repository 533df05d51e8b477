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
//! first packet, or its first reply) was decided where that layer's rules
//! are not all known:
//! - route: the table that decided is the sender's when the sender is a
//!   VNIC (a reply: its own sender's), else the receiver's (the return
//!   path, docs/semantics.md section 3); the drop is owed when that table
//!   is a stand-in (or the VNIC has none and its subnet's is unknown), or
//!   the deciding route rule sends to a stand-in gateway (since the
//!   twentieth session: before, either end's table counted, and any route
//!   drop at a VNIC whose table held a rule to a stand-in gateway);
//! - egress (ingress) security: the sender's (receiver's) rules are not
//!   all known, as the compiler tells them
//!   ([`zprsim_control::compile::security_rules_unknown`]), or (since the
//!   twenty-first session) one of its NSGs has a rule of that direction
//!   naming an NSG and the other end is a stand-in VNIC whose NSGs are
//!   unknown: such a rule matches members only, and the stand-in may be
//!   one (QA round sixteen: the balancer's egress to a stand-in pod was
//!   not owed). A rule by address decides alike whatever the other end
//!   lacks, so a drop there is not owed (the mid-session review's L2: an
//!   owed drop excuses a drop as the import's, so counting more hides real
//!   ones). The reply of a flow whose first packet a stand-in dropped is
//!   owed through its flow record ([`StandInOwed::owes`]) or, on flow
//!   logs, through [`RecordsOwed`];
//! - ZPR: either end carries the stand-in attribute, or (since the
//!   twenty-first session) a ZPR policy is a stand-in (the export held
//!   none while its endpoints carry attributes): every ZPR drop is then
//!   owed, as any statement the export lacked may have allowed it;
//! - any layer, when either end may be a VNIC the export lacks (since the
//!   twenty-eighth session, [`StandInOwed::may_be_a_lost_vnic`]): an
//!   address no VNIC holds in a subnet whose VNICs are not all known
//!   (`vnics_unknown`). Everything to and from it drops (at its security
//!   layer, or earlier), while the whole export may hold a VNIC there whose
//!   NSGs, attributes and route table allow it.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use zprsim_control::compile::{Compiled, RuleId};
use zprsim_control::model::{Direction, Peer, RouteTarget, Scenario};
use zprsim_control::verdict::{RuleRef, Stage};

use crate::engine::FlowRecord;

const ROUTE: u8 = 1;
const SECURITY: u8 = 2;
const ZPR: u8 = 4;
/// A stand-in VNIC without NSGs: its memberships are unknown.
const MEMBERS_UNKNOWN: u8 = 8;
/// One of the VNIC's NSGs has an egress rule naming an NSG.
const NAMES_NSG_EGRESS: u8 = 16;
/// One of the VNIC's NSGs has an ingress rule naming an NSG.
const NAMES_NSG_INGRESS: u8 = 32;

/// The VNIC addresses at which some layer's rules are not all known, with
/// which layers, and the route rules to stand-in gateways.
#[derive(Debug, Clone, Default)]
pub struct StandInOwed {
    /// Every VNIC address (the sender of a packet is a VNIC or not), with
    /// its flags (0: all known).
    flags: HashMap<IpAddr, u8>,
    /// Global ids of the route rules sending to a stand-in gateway.
    to_stand_in_gateway: HashSet<RuleId>,
    /// A ZPR policy is a stand-in: the statements are unknown.
    statements_unknown: bool,
    /// The blocks of the subnets whose VNICs are not all known.
    vnics_unknown: Vec<ipnet::IpNet>,
}

impl StandInOwed {
    /// The flags of `s`'s VNICs and its route rules to stand-in gateways
    /// (their ids in `c`, compiled from `s`); `None` when there are none
    /// (no stand-in touches a verdict).
    #[must_use]
    pub fn new(s: &Scenario, c: &Compiled) -> Option<StandInOwed> {
        let security = zprsim_control::compile::security_rules_unknown(s);
        let routes = zprsim_control::compile::route_rules_unknown(s);
        let mut to_stand_in_gateway = HashSet::new();
        if s.gateways.iter().any(|g| g.stand_in) {
            for id in (0..c.rule_count()).filter_map(|i| RuleId::new(i).ok()) {
                if let Some(RuleRef::Route { table, index }) = c.rule_ref(id)
                    && let Some(r) = s
                        .route_tables
                        .get(table.index())
                        .and_then(|t| t.rules.get(index as usize))
                    && matches!(r.target, RouteTarget::Gateway(g)
                        if s.gateways.get(g.index()).is_some_and(|g| g.stand_in))
                {
                    to_stand_in_gateway.insert(id);
                }
            }
        }
        let statements_unknown = s.zpr_policies.iter().any(|p| p.stand_in);
        let vnics_unknown: Vec<ipnet::IpNet> = s
            .subnets
            .iter()
            .filter(|sn| sn.vnics_unknown)
            .flat_map(|sn| sn.cidrs.iter().copied())
            .collect();
        let known = |i: usize, v: &zprsim_control::model::Vnic| {
            let mut f = 0;
            if routes.get(i).copied().unwrap_or(false) {
                f |= ROUTE;
            }
            if security.get(i).copied().unwrap_or(false) {
                f |= SECURITY;
            }
            if v.attributes
                .iter()
                .any(|a| a.attribute.namespace == zprsim_control::shared::STAND_IN_NAMESPACE)
            {
                f |= ZPR;
            }
            f
        };
        // Most scenarios have no stand-in: say so before any VNIC's flags
        // are kept. (Building the map of every VNIC address and walking each
        // VNIC's NSG rules, then throwing it away, cost 8.2 M instructions
        // of the 10k-VNIC scenario's `replay` between its compile and its
        // first packet: docs/benchmarks.md, the twenty-ninth session.)
        // A stand-in without NSGs is flagged SECURITY (its own rules are
        // not all known), so it is seen here.
        let any = !to_stand_in_gateway.is_empty()
            || statements_unknown
            || !vnics_unknown.is_empty()
            || s.vnics.iter().enumerate().any(|(i, v)| known(i, v) != 0);
        if !any {
            return None;
        }
        let mut flags = HashMap::with_capacity(s.vnics.iter().map(|v| v.private_ips.len()).sum());
        for (i, v) in s.vnics.iter().enumerate() {
            let mut f = known(i, v);
            if v.stand_in && v.nsgs.is_empty() {
                f |= MEMBERS_UNKNOWN;
            }
            for n in &v.nsgs {
                for r in s.nsgs.get(n.index()).map_or(&[][..], |n| &n.rules[..]) {
                    if matches!(r.peer, Peer::Nsg(_)) {
                        f |= match r.direction {
                            Direction::Egress => NAMES_NSG_EGRESS,
                            Direction::Ingress => NAMES_NSG_INGRESS,
                        };
                    }
                }
            }
            for ip in &v.private_ips {
                flags.insert(*ip, f);
            }
        }
        Some(StandInOwed {
            flags,
            to_stand_in_gateway,
            statements_unknown,
            vnics_unknown,
        })
    }

    fn of(&self, ip: IpAddr) -> u8 {
        self.flags.get(&ip).copied().unwrap_or(0)
    }

    /// Whether `ip` may be a VNIC the export lacks: no VNIC holds it, and
    /// it lies in a subnet whose VNICs are not all known (`vnics_unknown`).
    #[must_use]
    pub fn may_be_a_lost_vnic(&self, ip: IpAddr) -> bool {
        !self.flags.contains_key(&ip) && self.vnics_unknown.iter().any(|n| n.contains(&ip))
    }

    /// Whether a packet from `from` to `to` dropped at `stage` was
    /// decided where a stand-in is; `route_rule` is the deciding route
    /// rule ([`zprsim_control::compile::Fast::rules`]`[0]`).
    #[must_use]
    pub fn owes_drop(
        &self,
        from: IpAddr,
        to: IpAddr,
        stage: Stage,
        route_rule: Option<RuleId>,
    ) -> bool {
        if self.may_be_a_lost_vnic(from) || self.may_be_a_lost_vnic(to) {
            return true;
        }
        match stage {
            Stage::Route => {
                // The sender's table when it is a VNIC, else the
                // receiver's (the return path).
                let table_at = match self.flags.get(&from) {
                    Some(&f) => f,
                    None => self.of(to),
                };
                table_at & ROUTE != 0
                    || route_rule.is_some_and(|r| self.to_stand_in_gateway.contains(&r))
            }
            Stage::EgressSecurity => {
                let (at, other) = (self.of(from), self.of(to));
                at & SECURITY != 0 || (at & NAMES_NSG_EGRESS != 0 && other & MEMBERS_UNKNOWN != 0)
            }
            Stage::IngressSecurity => {
                let (at, other) = (self.of(to), self.of(from));
                at & SECURITY != 0 || (at & NAMES_NSG_INGRESS != 0 && other & MEMBERS_UNKNOWN != 0)
            }
            Stage::Zpr => self.statements_unknown || (self.of(from) | self.of(to)) & ZPR != 0,
        }
    }

    /// Whether the drops of flow record `r` are owed to a stand-in: its
    /// first packet, or its first reply, dropped where one is.
    #[must_use]
    pub fn owes(&self, r: &FlowRecord) -> bool {
        r.first
            .stage
            .is_some_and(|st| self.owes_drop(r.src, r.dst, st, r.first.rules[0]))
            || r.reply.is_some_and(|d| {
                d.stage
                    .is_some_and(|st| self.owes_drop(r.dst, r.src, st, d.rules[0]))
            })
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

/// Flows [`RecordsOwed`] remembers (owed, and pending in the current
/// second), each: 8 bytes and a hash set's overhead, about 32 MiB at
/// most. Past it a later record is owed only where a stand-in decided
/// it itself, so the count may fall short of the drops a cut adds.
pub const MAX_OWED_FLOWS: usize = 1 << 20;

/// The drops owed to stand-ins among flow-log records, each judged on its
/// own at the VNIC that logged it (since the twenty-first session).
///
/// A record's drop is owed when [`StandInOwed::owes_drop`] says so of its
/// packet, or when another record of the same flow (either direction) at
/// the same VNIC had an owed drop before it, or later in the same second
/// (records of one second are judged in the tie order of
/// docs/semantics.md 6.4, which may take the answer first). A reply is
/// logged and judged apart from its opener: when a stand-in dropped the
/// opener nothing was tracked, so the reply drops at a layer whose rules
/// are all known (the balancer's ingress of a pod's reply, when the
/// stand-in route table dropped the balancer's request: QA round
/// sixteen's random cuts). A capture's flow record holds both directions,
/// so [`StandInOwed::owes`] needs no such memory.
///
/// Flows are kept as 64-bit keys of a hasher with fixed keys (a collision is
/// negligible), so the
/// count is the same in every run (the mid-session review: a hash with
/// per-process keys made it vary), at most [`MAX_OWED_FLOWS`].
#[derive(Debug, Clone)]
pub struct RecordsOwed<'a> {
    owed: &'a StandInOwed,
    /// Flows with an owed drop.
    flows: HashSet<u64>,
    /// The second being judged, and its dropped records not owed (yet):
    /// per flow, records and packets.
    second: u64,
    pending: HashMap<u64, (u64, u64)>,
}

impl<'a> RecordsOwed<'a> {
    /// An empty memory over `owed`.
    #[must_use]
    pub fn new(owed: &'a StandInOwed) -> Self {
        RecordsOwed {
            owed,
            flows: HashSet::new(),
            second: 0,
            pending: HashMap::new(),
        }
    }

    /// A dropped record (window start `start`, `packets` packets, its
    /// packet `p`, judged at VNIC `vnic`, dropped at `stage` with deciding
    /// route rule `route_rule`): the records and packets now owed, its own
    /// and those of the same second it makes owed.
    pub fn dropped(
        &mut self,
        start: u64,
        packets: u64,
        vnic: usize,
        p: &zprsim_control::packet::Packet,
        stage: Stage,
        route_rule: Option<RuleId>,
    ) -> (u64, u64) {
        if start != self.second {
            self.second = start;
            self.pending.clear();
        }
        let key = flow_key(vnic, p);
        if self.flows.contains(&key) || self.owed.owes_drop(p.src, p.dst, stage, route_rule) {
            let (records, earlier) = self.pending.remove(&key).unwrap_or((0, 0));
            if self.flows.len() < MAX_OWED_FLOWS {
                self.flows.insert(key);
            }
            (records + 1, earlier.saturating_add(packets))
        } else {
            if self.pending.len() < MAX_OWED_FLOWS || self.pending.contains_key(&key) {
                let e = self.pending.entry(key).or_insert((0, 0));
                e.0 += 1;
                e.1 = e.1.saturating_add(packets);
            }
            (0, 0)
        }
    }
}

/// The key of a flow at a VNIC: both directions alike (ports with their
/// addresses, the pair in order); an ICMP record's type and code left out
/// (a reply's differ from its request's). `DefaultHasher::new` has fixed
/// keys: the same in every run.
fn flow_key(vnic: usize, p: &zprsim_control::packet::Packet) -> u64 {
    use std::hash::{Hash, Hasher};
    use zprsim_control::packet::L4;
    let (sp, dp) = match p.l4 {
        L4::Ports { sport, dport } => (sport, dport),
        _ => (0, 0),
    };
    let (a, b) = ((p.src, sp), (p.dst, dp));
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (vnic, p.proto, lo, hi).hash(&mut h);
    h.finish()
}
