//! Judging flow-log records at the VNIC that logged them.
//!
//! A record is placed at its VNIC (`oracle.vnicocid` matched to a VNIC's
//! `id`); its direction is egress when its source address is one of that
//! VNIC's private IPs, else ingress when its destination address is, else
//! it is unplaced. An egress record is judged on what the source side
//! enforces (route, egress security, the ZPR egress check), an ingress
//! record on what the destination side enforces (ingress security, the ZPR
//! ingress check): [`Compiled::judge_side`].
//!
//! Tracking runs per VNIC, across records sorted by window start: a record
//! whose tuple is the reverse of a live connection at the same VNIC (seen
//! within the idle timeout of [`conntrack::timeout_ns`], measured from the
//! end of the last record to the start of this one) is a reply to it.
//! Records are taken by window start, then input order, with one tie rule:
//! when one VNIC logged both directions of a tuple in windows that start in
//! the same second, the direction that VNIC's rules allow as a first packet
//! goes first (it opened the connection); if both or neither are allowed,
//! the one to the server's port ([`server_port`](crate::server_port::server_port)); if the ports do not
//! tell, the one to the lower port (of equal ports, the canonical forward
//! one: never input order, so a permuted log is judged alike), and which
//! end opened the flow is a guess ([`AuditFlow::direction_guessed`]: no statement is proposed for
//! it). Every count is weighted by the record's packets and bytes.

use std::net::IpAddr;

use serde::Serialize;
use zprsim_control::compile::side::Side;
use zprsim_control::compile::{Compiled, Fast};
use zprsim_control::model::{Scenario, proto};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Stage, Tracking, Verdict};

use super::record::{Action, LogRecord};
use crate::community_id::FlowKey;
use crate::conntrack::{self, ConnKey};
use crate::engine::AuditFlow;
use crate::judge::{Counters, stage_index};
use crate::server_port::server_port;

pub(super) const NS: u64 = 1_000_000_000;

/// Hash maps with ahash (keys drawn once per process): fast, and nothing
/// here depends on iteration order.
pub(super) type HashMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<ahash::AHasher>>;

/// Records, packets and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Weight {
    /// Records.
    pub records: u64,
    /// Their `packets`.
    pub packets: u64,
    /// Their `bytesOut`.
    pub bytes: u64,
}

impl Weight {
    pub(super) fn add(&mut self, r: &LogRecord) {
        self.records += 1;
        self.packets = self.packets.saturating_add(r.packets);
        self.bytes = self.bytes.saturating_add(r.bytes);
    }
}

/// Recorded OCI action against simulated verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Agreement {
    /// OCI accepted, the scenario allows.
    pub accept_allow: Weight,
    /// OCI accepted, the scenario drops.
    pub accept_drop: Weight,
    /// OCI rejected, the scenario allows.
    pub reject_allow: Weight,
    /// OCI rejected, the scenario drops.
    pub reject_drop: Weight,
}

/// Egress or ingress at the logging VNIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The VNIC sent it.
    Egress,
    /// The VNIC received it.
    Ingress,
}

/// Why a record could not be placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unplaced {
    /// No VNIC of the scenario has the record's OCID as `id`.
    UnknownVnic,
    /// Neither address is one of the VNIC's private IPs.
    NotTheVnicsAddress,
}

/// One record judged at its VNIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    /// Index into the records.
    pub record: usize,
    /// The VNIC (index into the scenario's VNICs).
    pub vnic: usize,
    /// Its direction at that VNIC.
    pub direction: Direction,
    /// Judged as a reply of a connection tracked at that VNIC. The packet
    /// judged is [`record_packet`]`(record, reply)` (not kept: 44 bytes a
    /// record, and every record is kept).
    pub reply: bool,
    /// The side judgement.
    pub fast: Fast,
}

/// Everything judging the records produced.
#[derive(Debug, Clone, Default)]
pub struct FlowLogJudgement {
    /// Counters weighted by packets and bytes (`rule_hits` by packets).
    pub counters: Counters,
    /// Judged records, in judging order (window start).
    pub judged: Vec<Judged>,
    /// Agreement matrix.
    pub agreement: Agreement,
    /// Unplaced records (weights).
    pub unplaced: Weight,
    /// Unplaced records: index and reason, in input order.
    pub unplaced_records: Vec<(usize, Unplaced)>,
    /// Distinct flows (the tuple, both directions as one) among judged records.
    pub flows: u64,
    /// Of those, flows logged at two or more VNICs.
    pub flows_at_two_vnics: u64,
    /// The flows an `audit` attribute would have denied (by the packet
    /// judged: the tuple's direction), at most [`MAX_AUDIT_FLOWS`].
    pub audit: AuditTally,
}

/// Distinct audit flows a flow-log judgement keeps: past it, new ones are
/// counted in [`AuditTally::untracked`] only (the capture tally's bound).
pub use crate::engine::MAX_AUDIT_FLOWS;

/// The flows an `audit` attribute would have denied, as the capture
/// replay's rule statistics list them ([`crate::replay::AuditFlow`]).
#[derive(Debug, Clone, Default)]
pub struct AuditTally {
    flows: HashMap<FlowKey, AuditFlow>,
    /// ICMP keys counted under the other end's key ([`Self::same_icmp_pair`]).
    icmp_aliases: HashMap<FlowKey, FlowKey>,
    /// Records of flows past [`MAX_AUDIT_FLOWS`], not tracked.
    pub untracked: u64,
}

impl AuditTally {
    /// A record's `packets`, judged as `p` at `ns`, that audit would deny;
    /// `guessed`: the tie rule guessed its direction (the lower port).
    fn add(&mut self, p: &Packet, ns: u64, packets: u64, guessed: bool) {
        let key = FlowKey::of(p);
        let key = self.icmp_aliases.get(&key).copied().unwrap_or(key);
        let key = self.same_icmp_pair(p, key, ns, guessed).unwrap_or(key);
        if let Some(a) = self.flows.get_mut(&key) {
            a.packets = a.packets.saturating_add(packets);
            if ns < a.first_ns {
                a.first = *p;
                a.first_ns = ns;
                a.direction_guessed = guessed;
            } else if ns == a.first_ns {
                // The other direction in the same second: which one
                // `first` is was the tie rule's choice.
                a.direction_guessed |= guessed;
            }
        } else if self.flows.len() < MAX_AUDIT_FLOWS {
            self.flows.insert(
                key,
                AuditFlow {
                    key,
                    first: *p,
                    first_ns: ns,
                    packets,
                    mid_flow: false,
                    flags_cut: false,
                    // A record carries no ICMP type: `p`'s is the echo
                    // it was judged as (`record_packet`).
                    icmp_type_unknown: matches!(p.l4, L4::Icmp { .. }),
                    direction_guessed: guessed,
                },
            );
        } else {
            self.untracked = self.untracked.saturating_add(1);
        }
    }

    /// For an ICMP record whose flow is not listed yet: the key of the
    /// flow the other end's VNIC listed for the same pair, when it is the
    /// same conversation. A record carries no ICMP type, so `p` is the
    /// echo (or reply) it was judged as, from whichever end opened at its
    /// VNIC; when the tie rule (both directions in one second) took
    /// opposite ends at the two VNICs, their echoes run opposite ways and
    /// Community ID keys them apart (it pairs an echo with its reply). A
    /// flow of the other orientation that starts in the same second,
    /// where either end's direction was a guess, is that flow: `key` is
    /// counted under it from then on. A ping the other way in another
    /// second is another flow, with its own statement.
    fn same_icmp_pair(
        &mut self,
        p: &Packet,
        key: FlowKey,
        ns: u64,
        guessed: bool,
    ) -> Option<FlowKey> {
        if !matches!(p.l4, L4::Icmp { .. }) || self.flows.contains_key(&key) {
            return None;
        }
        let other = FlowKey::of(&Packet {
            src: p.dst,
            dst: p.src,
            ..*p
        });
        let a = self.flows.get(&other)?;
        (a.first_ns == ns && (guessed || a.direction_guessed)).then(|| {
            self.icmp_aliases.insert(key, other);
            other
        })
    }

    /// The flows, most packets first, then by first time and key (the
    /// order of [`crate::replay::RuleStats::audit`]).
    #[must_use]
    pub fn sorted(&self) -> Vec<AuditFlow> {
        let mut v: Vec<AuditFlow> = self.flows.values().cloned().collect();
        v.sort_by(|x, y| {
            y.packets
                .cmp(&x.packets)
                .then(x.first_ns.cmp(&y.first_ns))
                .then(x.key.cmp(&y.key))
        });
        v
    }
}

/// A connection tracked at one VNIC.
pub(super) struct SideConn {
    initiator_forward: bool,
    tracking: Tracking,
    last_ns: u64,
    both: bool,
    /// Its protocol (its idle timeout).
    proto: u8,
}

/// The packet a record stands for. ICMP records carry no type or code:
/// an opening record is judged as an echo request, a reply as an echo reply.
/// That type is the judgement's stand-in, not the flow's: an audited
/// flow keeps it only with [`AuditFlow::icmp_type_unknown`] set, so what
/// keeps the flow open names no type.
#[must_use]
pub fn record_packet(r: &LogRecord, reply: bool) -> Packet {
    let l4 = match r.proto {
        proto::TCP | proto::UDP => L4::Ports {
            sport: r.sport,
            dport: r.dport,
        },
        proto::ICMP => L4::Icmp {
            icmp_type: if reply { 0 } else { 8 },
            code: 0,
        },
        proto::ICMPV6 => L4::Icmp {
            icmp_type: if reply { 129 } else { 128 },
            code: 0,
        },
        _ => L4::Opaque,
    };
    Packet {
        src: r.src,
        dst: r.dst,
        proto: r.proto,
        l4,
    }
}

pub(super) fn holds(s: &Scenario, v: usize, ip: IpAddr) -> bool {
    s.vnics.get(v).is_some_and(|x| x.private_ips.contains(&ip))
}

/// Places and judges `records` against `compiled` (built from `s`).
#[must_use]
pub fn judge_records(compiled: &Compiled, s: &Scenario, records: &[LogRecord]) -> FlowLogJudgement {
    let mut out = FlowLogJudgement {
        counters: Counters::with_rules(compiled.rule_count()),
        ..FlowLogJudgement::default()
    };
    let by_id: HashMap<&str, usize> = s
        .vnics
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.id.as_deref().map(|id| (id, i)))
        .collect();
    // Place.
    let mut placed: Vec<Place> = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let Some(&v) = by_id.get(&*r.vnic) else {
            out.unplaced.add(r);
            out.unplaced_records.push((i, Unplaced::UnknownVnic));
            continue;
        };
        let dir = if holds(s, v, r.src) {
            Direction::Egress
        } else if holds(s, v, r.dst) {
            Direction::Ingress
        } else {
            out.unplaced.add(r);
            out.unplaced_records.push((i, Unplaced::NotTheVnicsAddress));
            continue;
        };
        placed.push(Place {
            start: r.start,
            rank: 0,
            guessed: false,
            dir,
            vnic: v,
            record: i,
        });
    }
    let opener = openers(
        compiled,
        placed.iter().map(|p| (p.record, p.vnic, p.dir)),
        |i| &records[i],
    );
    for p in &mut placed {
        (p.rank, p.guessed) = rank(&opener, &records[p.record], p.vnic);
    }
    drop(opener);
    // Judging order: window start, the tie rule's rank, input order. The
    // keys are distinct (input order is), so an unstable sort in place
    // gives the one order, with no key stored beside each record (a
    // cached key was 32 more bytes a record at the peak).
    placed.sort_unstable_by_key(|p| (p.start, p.rank, p.record));
    out.judged.reserve_exact(placed.len());
    let mut conns = Conns::default();
    let mut flows: HashMap<ConnKey, (usize, bool)> = HashMap::default();
    for Place {
        record: i,
        vnic: v,
        dir,
        guessed,
        ..
    } in placed
    {
        let r = &records[i];
        let Some((key, reply, fast)) =
            judge_one(compiled, &mut conns, &mut out, r, (v, dir), guessed)
        else {
            continue;
        };
        let f = flows.entry(key).or_insert((v, false));
        f.1 |= f.0 != v;
        out.judged.push(Judged {
            record: i,
            vnic: v,
            direction: dir,
            reply,
            fast,
        });
    }
    out.flows = flows.len() as u64;
    out.flows_at_two_vnics = flows.values().filter(|f| f.1).count() as u64;
    out.counters.flows = out.flows;
    out
}

/// Connection tracking across records, per VNIC (index into the
/// scenario's VNICs) and tuple.
pub(super) type Conns = HashMap<(usize, ConnKey), SideConn>;

/// Whether a tracked connection is still live at `start_ns` (the start of
/// a record): idle no longer than its timeout since its last record ended.
/// Records come in window-start order, so one not live at a record's
/// start is never live again: dropping it changes nothing.
pub(super) fn live_at(c: &SideConn, start_ns: u64) -> bool {
    start_ns.saturating_sub(c.last_ns) <= conntrack::timeout_ns(c.proto, c.both, false)
}

/// The last time (ns) a record may start and find `c` live
/// ([`live_at`] holds exactly up to it).
pub(super) fn expiry(c: &SideConn) -> u64 {
    c.last_ns
        .saturating_add(conntrack::timeout_ns(c.proto, c.both, false))
}

/// What [`track`] gave of a record.
pub(super) struct Tracked {
    /// Its tuple.
    pub(super) key: ConnKey,
    /// Judged as a reply of a live connection.
    pub(super) reply: bool,
    /// The packet judged ([`record_packet`]).
    pub(super) packet: Packet,
    /// The judgement.
    pub(super) fast: Fast,
    /// It opened a connection (one more in `conns`).
    pub(super) opened: bool,
}

/// Judges `r`, the next record in judging order, tracked as `v` (a VNIC,
/// or one index for a whole path): as a reply when it reverses a live
/// connection tracked there, else as an opening packet; an allowed record
/// opens or extends the connection. `judge` judges the packet in its
/// context. `None` for no tuple, which a record never lacks.
pub(super) fn track(
    conns: &mut Conns,
    r: &LogRecord,
    v: usize,
    judge: impl FnOnce(&Packet, Context) -> Fast,
) -> Option<Tracked> {
    let start_ns = r.start.saturating_mul(NS);
    let end_ns = r.end.saturating_mul(NS);
    let opening = record_packet(r, false);
    let (key, forward) = ConnKey::of(&opening)?;
    let live = conns
        .get(&(v, key))
        .filter(|c| live_at(c, start_ns))
        .map(|c| (c.initiator_forward, c.tracking));
    let (ctx, reply) = match live {
        Some((initiator, t)) if forward != initiator => (Context::Reply(t), true),
        _ => (Context::First, false),
    };
    let packet = if reply {
        record_packet(r, true)
    } else {
        opening
    };
    let fast = judge(&packet, ctx);
    let mut opened = false;
    if fast.judgement.verdict == Verdict::Allow {
        match conns.get_mut(&(v, key)).filter(|_| live.is_some()) {
            Some(c) => {
                c.last_ns = c.last_ns.max(end_ns);
                c.both |= reply;
            }
            None => {
                opened = true;
                conns.insert(
                    (v, key),
                    SideConn {
                        initiator_forward: forward,
                        tracking: fast.judgement.tracking,
                        last_ns: end_ns,
                        both: false,
                        proto: r.proto,
                    },
                );
            }
        }
    }
    Some(Tracked {
        key,
        reply,
        packet,
        fast,
        opened,
    })
}

/// Judges `r`, the next placed record in judging order, at VNIC `v` in
/// direction `dir` ([`track`], on what that side enforces). Counts it
/// into `out`; `guessed` ([`rank`]): the tie rule placed it by a guess
/// (the lower port). Its tuple, whether it was judged as a reply, and the judgement
/// (`None` for no tuple, which a record never lacks).
pub(super) fn judge_one(
    compiled: &Compiled,
    conns: &mut Conns,
    out: &mut FlowLogJudgement,
    r: &LogRecord,
    (v, dir): (usize, Direction),
    guessed: bool,
) -> Option<(ConnKey, bool, Fast)> {
    let side = match dir {
        Direction::Egress => Side::Source,
        Direction::Ingress => Side::Destination,
    };
    let t = track(conns, r, v, |p, ctx| compiled.judge_side(p, ctx, side))?;
    if t.opened {
        out.counters.connections += 1;
    }
    count(out, r, &t.fast, t.reply);
    if t.fast.judgement.zpr_audit {
        out.audit
            .add(&t.packet, r.start.saturating_mul(NS), r.packets, guessed);
    }
    Some((t.key, t.reply, t.fast))
}

/// The tie rule's rank of `r` at VNIC `v`: 1 when the other direction of
/// its tuple opens in its window-start second ([`openers`]), else 0; and
/// whether that order is input order's guess (both directions there, and
/// neither the rules nor the ports told which opens).
pub(super) fn rank(opener: &HashMap<GroupKey, Opener>, r: &LogRecord, v: usize) -> (u8, bool) {
    ConnKey::of(&record_packet(r, false)).map_or((0, false), |(key, fwd)| {
        opener
            .get(&(r.start, v, key))
            .map_or((0, false), |o| (u8::from(o.forward != fwd), o.guessed))
    })
}

pub(super) fn count(out: &mut FlowLogJudgement, r: &LogRecord, fast: &Fast, reply: bool) {
    let k = &mut out.counters;
    let j = fast.judgement;
    let (pk, by) = (r.packets, r.bytes);
    k.packets.total = k.packets.total.saturating_add(pk);
    k.bytes.total = k.bytes.total.saturating_add(by);
    let allowed = j.verdict == Verdict::Allow;
    if allowed {
        k.packets.allowed = k.packets.allowed.saturating_add(pk);
        k.bytes.allowed = k.bytes.allowed.saturating_add(by);
        if reply {
            k.replies_tracked = k.replies_tracked.saturating_add(pk);
        }
    } else {
        k.packets.dropped = k.packets.dropped.saturating_add(pk);
        k.bytes.dropped = k.bytes.dropped.saturating_add(by);
    }
    if let Some(st) = j.stage {
        let d = &mut k.dropped_by_stage[stage_index(st)];
        *d = d.saturating_add(pk);
    }
    if j.zpr_audit {
        k.zpr_audit_would_drop = k.zpr_audit_would_drop.saturating_add(pk);
    }
    for id in fast.rules.iter().flatten() {
        if let Some(h) = k.rule_hits.get_mut(id.index()) {
            *h = h.saturating_add(pk);
        }
    }
    let a = &mut out.agreement;
    let cell = match (r.action, allowed) {
        (Action::Accept, true) => &mut a.accept_allow,
        (Action::Accept, false) => &mut a.accept_drop,
        (Action::Reject, true) => &mut a.reject_allow,
        (Action::Reject, false) => &mut a.reject_drop,
    };
    cell.add(r);
}

/// A placed record: its judging-order key and where it is judged.
#[derive(Clone, Copy)]
struct Place {
    start: u64,
    /// 1 when the tie rule puts it after the other direction of its tuple.
    rank: u8,
    /// The tie rule decided by input order ([`rank`]).
    guessed: bool,
    dir: Direction,
    vnic: usize,
    record: usize,
}

/// Window start, VNIC, tuple.
pub(super) type GroupKey = (u64, usize, ConnKey);

/// Which direction of a tuple logged both ways in one second opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Opener {
    /// The direction (`forward` of [`ConnKey::of`]) that opens.
    pub(super) forward: bool,
    /// Taken by input order: neither the rules nor the ports told.
    pub(super) guessed: bool,
}

/// For each (window start, VNIC, tuple) logged in both directions: the
/// direction (`forward` of [`ConnKey::of`]) that opens, by the tie rule:
/// the one the VNIC's rules allow as a first packet, else the one to the
/// server's port ([`server_port`]), else the one to the lower port, of
/// equal ports `forward` (`guessed`: never the input order, so that a
/// permuted log is judged alike). `placed` gives each placed record's position in input
/// order (`rec` finds the record), VNIC and direction.
pub(super) fn openers<'r>(
    compiled: &Compiled,
    placed: impl Iterator<Item = (usize, usize, Direction)>,
    rec: impl Fn(usize) -> &'r LogRecord,
) -> HashMap<GroupKey, Opener> {
    // First record of each direction, in input order.
    let mut first: HashMap<GroupKey, [Option<(usize, Direction)>; 2]> = HashMap::default();
    for (i, v, dir) in placed {
        let r = rec(i);
        let Some((key, fwd)) = ConnKey::of(&record_packet(r, false)) else {
            continue;
        };
        let e = first.entry((r.start, v, key)).or_default();
        let slot = &mut e[usize::from(fwd)];
        if slot.is_none() {
            *slot = Some((i, dir));
        }
    }
    let mut out = HashMap::default();
    for (k, e) in first {
        let [Some(back), Some(fwd)] = e else { continue };
        // Whether the VNIC's rules let the record open. An ingress record
        // dropped at route only opens too: its route check is the return
        // path from a source that is no VNIC, which says nothing about
        // which end sent first (taken as a drop, it made the reply the
        // opener and hid the very drop: the review of the eighteenth
        // session).
        let opens = |(i, dir): (usize, Direction)| {
            let side = match dir {
                Direction::Egress => Side::Source,
                Direction::Ingress => Side::Destination,
            };
            let j = compiled
                .judge_side(&record_packet(rec(i), false), Context::First, side)
                .judgement;
            j.verdict == Verdict::Allow
                || (dir == Direction::Ingress && j.stage == Some(Stage::Route))
        };
        let told = match (opens(fwd), opens(back)) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => server_port(rec(fwd.0).dport, rec(back.0).dport),
        };
        out.insert(
            k,
            Opener {
                // Neither told: the direction to the lower port opens
                // (of equal ports, `forward`), whatever the input order:
                // an order-dependent guess gave a permuted log another
                // report.
                forward: told.unwrap_or(rec(fwd.0).dport <= rec(back.0).dport),
                guessed: told.is_none(),
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past [`MAX_AUDIT_FLOWS`] distinct flows, a new flow is counted as
    /// untracked, not kept; a kept flow still adds its packets and keeps
    /// its earliest packet.
    #[test]
    fn the_audit_tally_keeps_at_most_its_bound() {
        let mut t = AuditTally::default();
        let p = |i: usize| {
            let i = u32::try_from(i).unwrap();
            Packet::tcp(
                std::net::Ipv4Addr::from(0x0a00_0000 + i).into(),
                40000,
                "10.1.0.1".parse().unwrap(),
                443,
            )
        };
        for i in 0..MAX_AUDIT_FLOWS + 5 {
            t.add(&p(i), 100, 2, false);
        }
        assert_eq!(t.untracked, 5);
        t.add(&p(0), 50, 3, false);
        let v = t.sorted();
        assert_eq!(v.len(), MAX_AUDIT_FLOWS);
        assert_eq!(v[0].packets, 5);
        assert_eq!(v[0].first_ns, 50);
    }
}
