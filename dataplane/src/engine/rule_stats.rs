//! Which rules matter: per rule and statement, the packets and flows it
//! decided and its first and last packet time; the coverage window those
//! counts are over; and the flows an `audit` attribute would have denied.
//!
//! A worker keeps one [`RuleTally`] per scenario beside its tracker (no
//! lock: a tally sees only its worker's packets); the engine merges them
//! into one [`RuleStats`] per scenario at the end. A *flow* here is a flow
//! key as Community ID keys it ([`FlowKey`]): a rule's `flows` is the
//! number of distinct keys among the packets it decided. The sets behind
//! the flow counts are bounded per shard ([`RuleTally::new`]), as the flow
//! records and connections are; past the bound the packet counts and times
//! stay exact and [`RuleStats::flows_exact`] says the flow counts are lower
//! bounds. Because the bound is a shard's, and a shard's packets reach one
//! thread in input order, what is counted past it is the same for any
//! number of workers.

use ahash::{AHashMap, AHashSet};
use zprsim_control::compile::{Fast, RuleId};
use zprsim_control::packet::Packet;

use crate::community_id::FlowKey;
use crate::conntrack::SHARDS;

/// One rule or statement: what it decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RuleStat {
    /// Packets it decided (as the deciding rule of its layer).
    pub packets: u64,
    /// Distinct flows among those packets.
    pub flows: u64,
    /// Timestamp of the first packet it decided, nanoseconds (`None` if none).
    pub first_ns: Option<u64>,
    /// Timestamp of the last packet it decided, nanoseconds.
    pub last_ns: Option<u64>,
}

/// Distinct audit flows kept at most (about 150 bytes each with the map's
/// key), by capture and flow-log judgements alike: past it, the packets
/// (records) of new flows are counted as untracked only. A flood of
/// audited flows in a capture was bounded only by `--max-connections`
/// (4 Mi by default): 1M audited SYNs took 1.0 GB against 263 MB enforced.
pub const MAX_AUDIT_FLOWS: usize = 1 << 16;

/// A flow an `audit` attribute would have denied (its packets were
/// allowed, or dropped by another layer, while enforce would deny them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditFlow {
    /// The flow key.
    pub key: FlowKey,
    /// The first packet audit would have denied.
    pub first: Packet,
    /// Its timestamp, nanoseconds.
    pub first_ns: u64,
    /// Packets of the flow audit would have denied.
    pub packets: u64,
    /// `first` is a packet only the answering end sends ([`answers_first`]:
    /// a TCP packet with ACK set, an ICMP reply, a UDP datagram from the
    /// server's port): the capture started
    /// inside the connection (its SYN, or the request, is not in it), so
    /// which end opened it is not known (the replay takes the first packet
    /// seen as the opener). Always false for flow logs, which carry no
    /// flags or types.
    pub mid_flow: bool,
    /// `first` is TCP whose flags the capture cut off (its snapshot
    /// length ends inside the TCP header): `mid_flow` because nothing
    /// tells whether it opened its connection, said as such in the audit
    /// text, not as "no SYN" (since the twenty-eighth session). Always
    /// false for flow logs.
    pub flags_cut: bool,
    /// `first` is ICMP (or ICMPv6) whose type and code are not known: a
    /// flow-log record's (records carry none; `first` holds the echo
    /// request or reply it was judged as, which is not what the flow
    /// was). What keeps the flow open must then name no type. Always
    /// false for captures.
    pub icmp_type_unknown: bool,
    /// A flow log's flow whose first record was logged in the same second
    /// as a record of the other direction at the same VNIC, and neither
    /// the rules nor the ports (the tie rule, `flowlog::judge`) told which
    /// of the two opened it: input order chose `first`'s direction, so
    /// which end opened the flow is not known and no statement is
    /// proposed (one for the reply's direction, enforced, would close the
    /// connections). Always false for captures.
    pub direction_guessed: bool,
}

/// Whether `p` (with its TCP flags), the first packet of its flow in a
/// capture, is one only the answering end sends, so the capture started
/// inside the flow: a TCP segment with ACK set (its SYN came before), or
/// whose flags the capture cut off (`None`: it may be one; since the
/// twenty-sixth session, when a statement for its reverse was proposed), or
/// an ICMP or ICMPv6 reply (echo, timestamp, information, address mask;
/// node information, home agent address discovery: its request came
/// before), or a UDP datagram from the server's port to the client's, as
/// the ports tell it ([`server_port`](crate::server_port::server_port):
/// DNS's answer from 53 to 40000; a QA finding of the fourteenth session).
/// Another protocol's packet, or UDP whose ports do not tell, says nothing
/// of it.
#[must_use]
pub fn answers_first(p: &Packet, tcp_flags: Option<u8>) -> bool {
    use zprsim_control::model::proto;
    use zprsim_control::packet::L4;
    match (p.proto, p.l4) {
        (proto::TCP, _) => tcp_flags.is_none_or(|f| f & crate::parse::tcp_flags::ACK != 0),
        (proto::UDP, L4::Ports { sport, dport }) => {
            crate::server_port::server_port(dport, sport) == Some(false)
        }
        (proto::ICMP, L4::Icmp { icmp_type, .. }) => matches!(icmp_type, 0 | 14 | 16 | 18),
        (proto::ICMPV6, L4::Icmp { icmp_type, .. }) => matches!(icmp_type, 129 | 140 | 145),
        _ => false,
    }
}

/// What one scenario's rules decided over the whole pass.
#[derive(Debug, Clone, Default)]
pub struct RuleStats {
    /// Per global rule id ([`zprsim_control::compile::Compiled::rule_ref`]).
    pub rules: Vec<RuleStat>,
    /// Packets judged against the tables (IP records; malformed ones are
    /// dropped before any rule).
    pub packets: u64,
    /// Distinct flows among them.
    pub flows: u64,
    /// First packet time of the window, nanoseconds.
    pub first_ns: Option<u64>,
    /// Last packet time of the window, nanoseconds.
    pub last_ns: Option<u64>,
    /// False when a bound was reached: flow counts are then lower bounds
    /// and the audit listing may miss flows.
    pub flows_exact: bool,
    /// Flows were counted ([`crate::engine::EngineConfig::rule_flows`]);
    /// when false every flow count is 0.
    pub flows_counted: bool,
    /// The flows audit would have denied, most packets first, then by
    /// first time and key (all of them; the report keeps the top N).
    pub audit: Vec<AuditFlow>,
    /// Packets audit would have denied whose flow was past the audit
    /// flows' bound (per shard, as the flow sets'): in no flow of
    /// [`RuleStats::audit`], so that list is incomplete when this is not 0.
    pub audit_untracked: u64,
}

/// One worker's tally for one scenario.
///
/// The distinct-flow sets hold 64-bit hashes of the flow keys
/// ([`crate::state_table::KeyHasher`], the same function in every worker),
/// not the keys: 8 bytes an entry instead of 44 (48 with the rule id),
/// which is most of the memory of a report over a million flows. Two flows
/// whose hashes collide count once; with n flows that happens with a
/// probability of about n² / 2^65 (3 × 10^-8 for a million).
#[derive(Debug)]
pub(crate) struct RuleTally {
    rules: Vec<RuleStat>,
    /// (flow, rule) pairs seen, for the per-rule flow counts: the flow's
    /// hash combined with the rule's ([`pair`]).
    seen: AHashSet<u64>,
    /// Flows seen (their hashes), for the window.
    flows: AHashSet<u64>,
    audit: AHashMap<FlowKey, AuditFlow>,
    /// Audited packets of flows past the audit bound.
    audit_untracked: u64,
    packets: u64,
    first_ns: Option<u64>,
    last_ns: Option<u64>,
    /// Entries at most in each set and map, per shard.
    room: [ShardRoom; 3],
    exact: bool,
    /// Count distinct flows (the sets); without, only packets and times.
    count_flows: bool,
    /// The previous packet's flow key and deciding rules: a packet with the
    /// same ones adds nothing to the sets (bursts of one flow skip hashing
    /// them again).
    last: Option<(u64, [Option<RuleId>; 5])>,
}

/// Which bound of [`RuleTally::room`]: the flows, the (flow, rule) pairs
/// and the audit flows.
const FLOWS: usize = 0;
const PAIRS: usize = 1;
const AUDIT: usize = 2;

/// What is left of one set's bound in each shard.
///
/// The bound is per shard, not per tally: a tally's shards depend on how
/// many workers share them, a shard's packets do not (they reach one
/// thread, in input order), so which entries are kept, and the counts past
/// the bound, are the same for any number of workers.
#[derive(Debug)]
struct ShardRoom {
    used: Box<[u32]>,
    cap: u32,
}

impl ShardRoom {
    fn new(total: usize) -> Self {
        ShardRoom {
            used: vec![0; SHARDS].into_boxed_slice(),
            cap: u32::try_from((total / SHARDS).max(1)).unwrap_or(u32::MAX),
        }
    }

    /// Whether `shard` has room for one more entry.
    #[inline]
    fn has(&self, shard: usize) -> bool {
        self.used.get(shard % SHARDS).is_some_and(|u| *u < self.cap)
    }

    /// Counts one more entry of `shard` (after [`ShardRoom::has`]).
    #[inline]
    fn take(&mut self, shard: usize) {
        if let Some(u) = self.used.get_mut(shard % SHARDS) {
            *u = u.saturating_add(1);
        }
    }
}

/// A (flow, rule) pair as one word: the flow's hash with a mixed rule id
/// folded in (the mixer is a bijection, so distinct rules of one flow
/// never collide).
#[inline]
fn pair(flow_hash: u64, id: RuleId) -> u64 {
    flow_hash ^ crate::conntrack::mix64(u64::from(id.raw()) + 1)
}

fn widen(first: &mut Option<u64>, last: &mut Option<u64>, ts: u64) {
    *first = Some(first.map_or(ts, |f| f.min(ts)));
    *last = Some(last.map_or(ts, |l| l.max(ts)));
}

impl RuleTally {
    /// A tally for `rules` rules keeping at most `cap` entries per set over
    /// all shards: `cap / SHARDS` (at least 1) for each shard.
    /// Without `count_flows` the flow sets are not kept (the costly part:
    /// a hash insert per packet and rule) and every flow count is 0.
    pub(crate) fn new(rules: usize, cap: usize, count_flows: bool) -> Self {
        RuleTally {
            rules: vec![RuleStat::default(); rules],
            seen: AHashSet::new(),
            flows: AHashSet::new(),
            audit: AHashMap::new(),
            audit_untracked: 0,
            packets: 0,
            first_ns: None,
            last_ns: None,
            room: std::array::from_fn(|i| {
                ShardRoom::new(if i == AUDIT {
                    cap.min(MAX_AUDIT_FLOWS)
                } else {
                    cap
                })
            }),
            exact: true,
            count_flows,
            last: None,
        }
    }

    /// Counts one judged packet; `flow_hash` is its flow key's hash and
    /// `shard` the flow's shard.
    pub(crate) fn packet(
        &mut self,
        (p, tcp_flags): (&Packet, Option<u8>),
        ts_ns: u64,
        fast: &Fast,
        (flow_hash, shard): (u64, usize),
    ) {
        self.packets += 1;
        widen(&mut self.first_ns, &mut self.last_ns, ts_ns);
        if !self.count_flows {
            for &id in fast.rules.iter().flatten() {
                if let Some(st) = self.rules.get_mut(id.index()) {
                    st.packets += 1;
                    widen(&mut st.first_ns, &mut st.last_ns, ts_ns);
                }
            }
            if fast.judgement.zpr_audit {
                self.audit_packet((p, tcp_flags), ts_ns, shard);
            }
            return;
        }
        let key = flow_hash;
        let repeat = self.last == Some((key, fast.rules));
        if !repeat {
            self.last = Some((key, fast.rules));
            if self.room[FLOWS].has(shard) {
                if self.flows.insert(key) {
                    self.room[FLOWS].take(shard);
                }
            } else if !self.flows.contains(&key) {
                self.exact = false;
            }
        }
        for &id in fast.rules.iter().flatten() {
            let Some(st) = self.rules.get_mut(id.index()) else {
                continue;
            };
            st.packets += 1;
            widen(&mut st.first_ns, &mut st.last_ns, ts_ns);
            if repeat {
                continue;
            }
            let pair = pair(key, id);
            if self.room[PAIRS].has(shard) {
                if self.seen.insert(pair) {
                    self.room[PAIRS].take(shard);
                    st.flows += 1;
                }
            } else if !self.seen.contains(&pair) {
                self.exact = false;
            }
        }
        if fast.judgement.zpr_audit {
            self.audit_packet((p, tcp_flags), ts_ns, shard);
        }
    }

    /// A packet an audit attribute would have denied.
    fn audit_packet(&mut self, (p, tcp_flags): (&Packet, Option<u8>), ts_ns: u64, shard: usize) {
        let key = FlowKey::of(p);
        if let Some(a) = self.audit.get_mut(&key) {
            a.packets += 1;
        } else if self.room[AUDIT].has(shard) {
            self.room[AUDIT].take(shard);
            self.audit.insert(
                key,
                AuditFlow {
                    key,
                    first: *p,
                    first_ns: ts_ns,
                    packets: 1,
                    mid_flow: answers_first(p, tcp_flags),
                    flags_cut: p.proto == zprsim_control::model::proto::TCP && tcp_flags.is_none(),
                    icmp_type_unknown: false,
                    direction_guessed: false,
                },
            );
        } else {
            self.exact = false;
            self.audit_untracked += 1;
        }
    }
}

/// Merges the workers' tallies of one scenario (a flow's packets all go to
/// one worker, so the workers' distinct-flow counts add up).
pub(crate) fn merge(tallies: Vec<RuleTally>) -> RuleStats {
    let mut out = RuleStats {
        flows_exact: true,
        flows_counted: tallies.iter().all(|t| t.count_flows),
        ..RuleStats::default()
    };
    let mut flows = 0u64;
    let mut audit: AHashMap<FlowKey, AuditFlow> = AHashMap::new();
    for t in tallies {
        if out.rules.len() < t.rules.len() {
            out.rules.resize(t.rules.len(), RuleStat::default());
        }
        for (o, r) in out.rules.iter_mut().zip(&t.rules) {
            o.packets += r.packets;
            o.flows += r.flows;
            if let (Some(f), Some(l)) = (r.first_ns, r.last_ns) {
                widen(&mut o.first_ns, &mut o.last_ns, f);
                widen(&mut o.first_ns, &mut o.last_ns, l);
            }
        }
        out.packets += t.packets;
        if let (Some(f), Some(l)) = (t.first_ns, t.last_ns) {
            widen(&mut out.first_ns, &mut out.last_ns, f);
            widen(&mut out.first_ns, &mut out.last_ns, l);
        }
        out.flows_exact &= t.exact;
        out.audit_untracked += t.audit_untracked;
        flows += t.flows.len() as u64;
        for (k, a) in t.audit {
            audit
                .entry(k)
                .and_modify(|m| {
                    m.packets += a.packets;
                    if a.first_ns < m.first_ns {
                        m.first = a.first;
                        m.first_ns = a.first_ns;
                        m.mid_flow = a.mid_flow;
                        m.flags_cut = a.flags_cut;
                    }
                })
                .or_insert(a);
        }
    }
    out.flows = flows;
    let mut audit: Vec<AuditFlow> = audit.into_values().collect();
    audit.sort_by(|x, y| {
        y.packets
            .cmp(&x.packets)
            .then(x.first_ns.cmp(&y.first_ns))
            .then(x.key.cmp(&y.key))
    });
    out.audit = audit;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zprsim_control::verdict::{Judgement, Tracking, Verdict};

    /// A flood of audited flows in a capture keeps at most
    /// [`MAX_AUDIT_FLOWS`] of them, whatever `--max-connections` allows
    /// (4 Mi by default; the flows themselves are counted as hashes, 8
    /// bytes each, an audit flow takes about 150), and counts the packets
    /// of the rest as untracked.
    #[test]
    fn a_capture_keeps_at_most_max_audit_flows() {
        let fast = Fast {
            judgement: Judgement {
                verdict: Verdict::Allow,
                stage: None,
                zpr_audit: true,
                tracking: Tracking::default(),
            },
            rules: [None; 5],
        };
        let mut t = RuleTally::new(0, 4 << 20, true);
        let n = 2 * MAX_AUDIT_FLOWS;
        for i in 0..n {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            let p = Packet::tcp(
                std::net::Ipv4Addr::from(0x0a00_0000 + i).into(),
                40000,
                std::net::Ipv4Addr::new(10, 1, 0, 1).into(),
                443,
            );
            let shard = (i as usize) % SHARDS;
            t.packet((&p, Some(0x02)), u64::from(i), &fast, (u64::from(i), shard));
        }
        let stats = merge(vec![t]);
        assert_eq!(stats.audit.len(), MAX_AUDIT_FLOWS);
        assert_eq!(stats.audit_untracked, (n - MAX_AUDIT_FLOWS) as u64);
    }
}
