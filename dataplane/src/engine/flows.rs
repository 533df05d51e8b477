//! Flow records: one per flow (keyed like Community ID, with the idle
//! timeouts of connection tracking), for `--flows` and the top dropped
//! flows.

use serde::Serialize;
use zprsim_control::compile::RuleId;
use zprsim_control::model::proto;
use zprsim_control::packet::L4;
use zprsim_control::verdict::{Stage, Verdict};

use crate::community_id::{CommunityId, FlowKey};
use crate::conntrack::{self, SHARDS};
use crate::drop_reason::DropReason;
use crate::judge::Counters;
use crate::state_table::{ShardTable, StateKey};

use super::Item;
use super::spool::{Cursor, Spool, SpoolError, SpoolStats, Spooled};

/// One flow record of the flow log (CLI contract, `--flows`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowRecord {
    /// Source of the first packet.
    pub src: std::net::IpAddr,
    /// Destination of the first packet.
    pub dst: std::net::IpAddr,
    /// Protocol number.
    pub proto: u8,
    /// Source port of the first packet (TCP/UDP).
    pub sport: Option<u16>,
    /// Destination port of the first packet (TCP/UDP).
    pub dport: Option<u16>,
    /// ICMP type of the first packet.
    pub icmp_type: Option<u8>,
    /// ICMP code of the first packet.
    pub icmp_code: Option<u8>,
    /// Timestamp of the first packet, seconds since the epoch.
    pub first_ts: f64,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Packets allowed.
    pub allowed_packets: u64,
    /// Packets dropped.
    pub dropped_packets: u64,
    /// Verdict of the first packet.
    pub verdict: Verdict,
    /// Stage of the first packet (null if allowed).
    pub stage: Option<Stage>,
    /// Community ID v1, seed 0.
    pub community_id: CommunityId,
    /// How the first packet was decided (the CLI writes it with rule names).
    #[serde(skip)]
    pub first: Decided,
    /// How the first packet of the reply direction was decided, if one came.
    #[serde(skip)]
    pub reply: Option<Decided>,
    #[serde(skip)]
    first_ns: u64,
}

/// How one packet of a flow was decided: verdict, stage, the audit flag and
/// the deciding rule of each layer (global rule ids, as
/// [`zprsim_control::compile::Fast::rules`]: route, egress, ingress, ZPR
/// egress, ZPR ingress).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided {
    /// Verdict.
    pub verdict: Verdict,
    /// Stage of a drop.
    pub stage: Option<Stage>,
    /// An audit attribute would have denied it.
    pub zpr_audit: bool,
    /// Deciding rule per layer.
    pub rules: [Option<RuleId>; 5],
}

/// A packet's decision as an open record keeps it (an `Option<RuleId>` is
/// 4 bytes: the id's niche holds `None`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Side {
    code: u8,
    audit: bool,
    rules: [Option<RuleId>; 5],
}

impl Side {
    /// From a packet's verdict code and fast-path result.
    pub(crate) fn of(code: u8, fast: &zprsim_control::compile::Fast) -> Side {
        Side {
            code,
            audit: fast.judgement.zpr_audit,
            rules: fast.rules,
        }
    }

    fn decided(self) -> Decided {
        Decided {
            verdict: if self.code == 0 {
                Verdict::Allow
            } else {
                Verdict::Drop
            },
            stage: code_stage(self.code),
            zpr_audit: self.audit,
            rules: self.rules,
        }
    }
}

/// Sort key of a flow record: first timestamp, then the 5-tuple.
pub(crate) type SortKey = (
    u64,
    std::net::IpAddr,
    std::net::IpAddr,
    u8,
    Option<u16>,
    Option<u16>,
    Option<u8>,
    Option<u8>,
);

impl FlowRecord {
    /// Sort key: first timestamp, then the 5-tuple.
    pub(crate) fn sort_key(&self) -> SortKey {
        (
            self.first_ns,
            self.src,
            self.dst,
            self.proto,
            self.sport,
            self.dport,
            self.icmp_type,
            self.icmp_code,
        )
    }

    /// Order for "top dropped flows": most dropped packets first, then sort key.
    pub(crate) fn top_key(&self) -> (std::cmp::Reverse<u64>, SortKey) {
        (std::cmp::Reverse(self.dropped_packets), self.sort_key())
    }
}

/// An open flow record, compact: the key holds the addresses and protocol.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowState {
    first_ns: u64,
    last_ns: u64,
    bytes: u64,
    allowed: u64,
    dropped: u64,
    /// Transport fields of the first packet.
    l4: L4,
    /// The first packet went from the key's `a` to its `b`.
    src_is_a: bool,
    /// Verdict code of the first packet (0 allowed, else its stage + 1).
    code: u8,
    /// How the first packet was decided.
    first: Side,
    /// How the first reply was decided (none yet: `None`).
    reply: Option<Side>,
    both: bool,
    closing: bool,
}

/// A closed flow record kept for the flow log, compact (the key and the
/// open record's state, 160 bytes against 208 for a [`FlowRecord`]; 143
/// in a spool's file, [`Spooled`]): it becomes a [`FlowRecord`] only when
/// it is handed to the sink, one at a time, in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finished {
    key: StateKey,
    st: FlowState,
    /// Position among the records this worker closed for the scenario
    /// ([`Tie`]): orders records whose sort keys are equal (the same flow
    /// key closed and reopened at the same time), which can only come from
    /// one shard.
    seq: u64,
}

impl Spooled for Finished {
    const SIZE: usize = 143;

    fn encode(&self, out: &mut [u8]) {
        let mut w = Put { b: out, at: 0 };
        let (a, b) = self.key.addrs();
        w.addr(a);
        w.addr(b);
        w.bytes(&[self.key.proto()]);
        match self.key.ports() {
            Some((x, y)) => {
                w.bytes(&[1]);
                w.bytes(&x.to_le_bytes());
                w.bytes(&y.to_le_bytes());
            }
            None => w.bytes(&[0; 5]),
        }
        let st = &self.st;
        for v in [st.first_ns, st.last_ns, st.bytes, st.allowed, st.dropped] {
            w.bytes(&v.to_le_bytes());
        }
        match st.l4 {
            L4::Ports { sport, dport } => {
                w.bytes(&[0]);
                w.bytes(&sport.to_le_bytes());
                w.bytes(&dport.to_le_bytes());
            }
            L4::Icmp { icmp_type, code } => w.bytes(&[1, icmp_type, code, 0, 0]),
            L4::Opaque => w.bytes(&[2, 0, 0, 0, 0]),
            L4::Fragment => w.bytes(&[3, 0, 0, 0, 0]),
        }
        w.bytes(&[
            u8::from(st.src_is_a),
            st.code,
            u8::from(st.both),
            u8::from(st.closing),
        ]);
        w.side(Some(st.first));
        w.side(st.reply);
        w.bytes(&self.seq.to_le_bytes());
        debug_assert_eq!(w.at, Self::SIZE, "the spooled form fills SIZE bytes");
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let mut r = Get { b, at: 0 };
        let a = r.addr()?;
        let bb = r.addr()?;
        let proto = r.u8()?;
        let has_ports = r.u8()?;
        let ports = (r.u16()?, r.u16()?);
        let key = StateKey::new(a, bb, proto, (has_ports == 1).then_some(ports));
        let [first_ns, last_ns, bytes, allowed, dropped] =
            [r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?];
        let tag = r.u8()?;
        let l4 = match tag {
            0 => L4::Ports {
                sport: r.u16()?,
                dport: r.u16()?,
            },
            1 => {
                let (icmp_type, code) = (r.u8()?, r.u8()?);
                r.u16()?;
                L4::Icmp { icmp_type, code }
            }
            2 | 3 => {
                r.u16()?;
                r.u16()?;
                if tag == 2 { L4::Opaque } else { L4::Fragment }
            }
            _ => return None,
        };
        let (src_is_a, code, both, closing) = (r.u8()? == 1, r.u8()?, r.u8()? == 1, r.u8()? == 1);
        let first = r.side()??;
        let reply = r.side()?;
        let seq = r.u64()?;
        Some(Finished {
            key,
            st: FlowState {
                first_ns,
                last_ns,
                bytes,
                allowed,
                dropped,
                l4,
                src_is_a,
                code,
                first,
                reply,
                both,
                closing,
            },
            seq,
        })
    }

    fn order(&self, other: &Self) -> std::cmp::Ordering {
        order(
            (&self.key, &self.st, self.seq),
            (&other.key, &other.st, other.seq),
        )
    }
}

/// Writes a [`Finished`]'s binary form (the buffer is exactly
/// [`Spooled::SIZE`] bytes, so every write fits: bytes past it would be
/// dropped, never a panic).
struct Put<'a> {
    b: &'a mut [u8],
    at: usize,
}

impl Put<'_> {
    fn bytes(&mut self, v: &[u8]) {
        if let Some(d) = self.b.get_mut(self.at..self.at + v.len()) {
            d.copy_from_slice(v);
        }
        self.at += v.len();
    }

    /// A family byte (4 or 6) and 16 address bytes.
    fn addr(&mut self, a: std::net::IpAddr) {
        match a {
            std::net::IpAddr::V4(v) => {
                self.bytes(&[4]);
                self.bytes(&v.octets());
                self.bytes(&[0; 12]);
            }
            std::net::IpAddr::V6(v) => {
                self.bytes(&[6]);
                self.bytes(&v.octets());
            }
        }
    }

    /// A presence byte, the code, the audit flag and five stored rule ids.
    fn side(&mut self, s: Option<Side>) {
        match s {
            Some(s) => {
                self.bytes(&[1, s.code, u8::from(s.audit)]);
                for r in s.rules {
                    self.bytes(&r.map_or(0, |r| r.raw() + 1).to_le_bytes());
                }
            }
            None => self.bytes(&[0; 23]),
        }
    }
}

/// Reads what [`Put`] wrote (`None` past the end or on a bad tag).
struct Get<'a> {
    b: &'a [u8],
    at: usize,
}

impl Get<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let v = self.b.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(v)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }

    fn addr(&mut self) -> Option<std::net::IpAddr> {
        let fam = self.u8()?;
        let b: [u8; 16] = self.take()?;
        match fam {
            4 => Some(std::net::IpAddr::from([b[0], b[1], b[2], b[3]])),
            6 => Some(std::net::IpAddr::from(b)),
            _ => None,
        }
    }

    /// `Some(None)` for an absent side, `None` for a bad one.
    fn side(&mut self) -> Option<Option<Side>> {
        let present = self.u8()?;
        let (code, audit) = (self.u8()?, self.u8()?);
        let mut rules = [None; 5];
        for r in &mut rules {
            *r = RuleId::from_stored(u32::from_le_bytes(self.take()?));
        }
        match present {
            0 => Some(None),
            1 => Some(Some(Side {
                code,
                audit: audit == 1,
                rules,
            })),
            _ => None,
        }
    }
}

/// The flow log's sort key of a record: first timestamp, then the 5-tuple.
fn tuple(key: &StateKey, st: &FlowState) -> SortKey {
    let (a, b) = key.addrs();
    let (src, dst) = if st.src_is_a { (a, b) } else { (b, a) };
    let (sport, dport, icmp_type, icmp_code) = l4_fields(st.l4);
    (
        st.first_ns,
        src,
        dst,
        key.proto(),
        sport,
        dport,
        icmp_type,
        icmp_code,
    )
}

/// What orders records whose sort keys are equal (the same flow key closed
/// and reopened at the same time, so from one shard, one worker): the
/// order closed ([`Finished::seq`]; those still open at the end are closed
/// last). The flow log was sorted stably from exactly that order.
type Tie = u64;

/// The flow log's order: sort key, then [`Tie`] (a total order, so the
/// result does not depend on how the records were split or sorted).
fn order(a: (&StateKey, &FlowState, Tie), b: (&StateKey, &FlowState, Tie)) -> std::cmp::Ordering {
    a.1.first_ns
        .cmp(&b.1.first_ns)
        .then_with(|| tuple(a.0, a.1).cmp(&tuple(b.0, b.1)))
        .then(a.2.cmp(&b.2))
}

fn l4_fields(l4: L4) -> (Option<u16>, Option<u16>, Option<u8>, Option<u8>) {
    match l4 {
        L4::Ports { sport, dport } => (Some(sport), Some(dport), None, None),
        L4::Icmp { icmp_type, code } => (None, None, Some(icmp_type), Some(code)),
        L4::Opaque | L4::Fragment => (None, None, None, None),
    }
}

fn flow_record(key: &FlowKey, st: &FlowState) -> FlowRecord {
    let (src, dst) = if st.src_is_a {
        (key.a, key.b)
    } else {
        (key.b, key.a)
    };
    let (sport, dport, icmp_type, icmp_code) = l4_fields(st.l4);
    FlowRecord {
        src,
        dst,
        proto: key.proto,
        sport,
        dport,
        icmp_type,
        icmp_code,
        first_ts: ns_to_s(st.first_ns),
        // Every packet is allowed or dropped.
        packets: st.allowed + st.dropped,
        bytes: st.bytes,
        allowed_packets: st.allowed,
        dropped_packets: st.dropped,
        verdict: if st.code == 0 {
            Verdict::Allow
        } else {
            Verdict::Drop
        },
        stage: code_stage(st.code),
        community_id: CommunityId::default(),
        first: st.first.decided(),
        reply: st.reply.map(Side::decided),
        first_ns: st.first_ns,
    }
}

fn code_stage(code: u8) -> Option<Stage> {
    DropReason::of_code(code).and_then(DropReason::stage)
}

pub(crate) fn key_of(r: &FlowRecord) -> FlowKey {
    let ports = match (r.sport, r.dport, r.icmp_type, r.icmp_code) {
        (Some(s), Some(d), _, _) => Some((s, d)),
        (_, _, Some(t), Some(c)) => Some((u16::from(t), u16::from(c))),
        _ => None,
    };
    FlowKey::new(r.src, r.dst, r.proto, ports)
}

pub(crate) fn trim_top(v: &mut Vec<FlowRecord>, n: usize) {
    v.sort_by_key(FlowRecord::top_key);
    v.truncate(n);
}

#[allow(clippy::cast_precision_loss)]
fn ns_to_s(ns: u64) -> f64 {
    // Whole seconds and the fraction separately, so microseconds survive.
    (ns / 1_000_000_000) as f64 + (ns % 1_000_000_000) as f64 / 1e9
}

/// The open flow records of one scenario's shards (of one worker), in
/// one compact [`ShardTable`] per shard, and the finished ones kept.
pub(crate) struct Flows {
    tables: Vec<Option<ShardTable<FlowState>>>,
    cap: usize,
    keep: bool,
    /// The closed records kept (with `keep`), bounded in memory.
    finished: Spool<Finished>,
    /// Records closed so far (the next [`Finished::seq`]).
    closed: u64,
    top: Vec<FlowRecord>,
    top_n: usize,
}

fn flow_key(k: &StateKey) -> FlowKey {
    let (a, b) = k.addrs();
    FlowKey {
        a,
        b,
        proto: k.proto(),
        ports: k.ports(),
    }
}

impl Flows {
    /// At most `max_records` open records over all shards; keep finished
    /// records when `keep` (at most `spool` in memory, the rest in sorted
    /// runs in a temporary file in `spool_dir`, [`Spool`]); track the
    /// `top_n` flows with most drops.
    pub(crate) fn new(
        max_records: usize,
        keep: bool,
        spool: usize,
        spool_dir: Option<&std::path::Path>,
        top_n: usize,
    ) -> Flows {
        Flows {
            tables: (0..SHARDS).map(|_| None).collect(),
            cap: (max_records / SHARDS).max(1),
            keep,
            finished: Spool::new(spool, spool_dir),
            closed: 0,
            top: Vec::new(),
            top_n,
        }
    }

    /// Open records held now, and (index slots, entry room) allocated, over
    /// all shards (for tests: bounded by the configured maximum).
    pub(crate) fn sizes(&self) -> (usize, usize, usize) {
        self.tables
            .iter()
            .flatten()
            .fold((0, 0, 0), |(n, i, e), t| {
                (n + t.len(), i + t.index_slots(), e + t.entry_capacity())
            })
    }

    /// Adds a judged packet (its decision `side`) to its flow record; `key`
    /// is the packet's flow key and `h` its hash.
    pub(crate) fn packet(
        &mut self,
        it: &Item,
        key: StateKey,
        h: u64,
        side: Side,
        counters: &mut Counters,
    ) {
        let code = side.code;
        let allowed = code == 0;
        let p = &it.packet;
        let cap = self.cap;
        let Some(slot) = self.tables.get_mut(usize::from(it.shard)) else {
            return;
        };
        let table = slot.get_or_insert_with(|| ShardTable::new(cap));
        let fin = it.tcp_flags & (conntrack::TCP_FIN | conntrack::TCP_RST) != 0;
        // One look-up for an open record; an expired one is closed and a new
        // record started.
        let mut done = None;
        if let Some(found) = table.find(&key, h) {
            if let Some(r) = table.get_mut(found)
                && it.ts_ns.saturating_sub(r.last_ns)
                    <= conntrack::timeout_ns(p.proto, r.both, r.closing)
            {
                r.bytes += u64::from(it.wire_len);
                if allowed {
                    r.allowed += 1;
                } else {
                    r.dropped += 1;
                }
                r.last_ns = r.last_ns.max(it.ts_ns);
                // The reverse direction of the first packet: addresses and
                // ports swapped (a packet to itself is never a reply). Once
                // one has come (`both`), it changes nothing more: not
                // looked at again.
                if !r.both {
                    let (ka, kb) = key.addrs();
                    let (first_src, first_dst) = if r.src_is_a { (ka, kb) } else { (kb, ka) };
                    let reverse = p.src == first_dst
                        && p.dst == first_src
                        && match (p.l4, r.l4) {
                            (
                                L4::Ports { sport, dport },
                                L4::Ports {
                                    sport: fs,
                                    dport: fd,
                                },
                            ) => sport == fd && dport == fs && !(p.src == first_src && sport == fs),
                            _ => p.src != first_src,
                        };
                    if reverse && r.reply.is_none() {
                        r.reply = Some(side);
                    }
                    r.both |= reverse;
                }
                r.closing |= fin;
                return;
            }
            done = table.remove(found);
        }
        let st = FlowState {
            first_ns: it.ts_ns,
            last_ns: it.ts_ns,
            bytes: u64::from(it.wire_len),
            allowed: u64::from(allowed),
            dropped: u64::from(!allowed),
            l4: p.l4,
            src_is_a: p.src == key.addrs().0,
            code,
            first: side,
            reply: None,
            both: false,
            closing: p.proto == proto::TCP && fin,
        };
        if let Some((k, old)) = table.insert(key, h, st) {
            counters.flows_evicted += 1;
            self.finish_flow(k, &old, counters);
        }
        if let Some(r) = done {
            self.finish_flow(key, &r, counters);
        }
    }

    /// Closes a flow record: counted, kept for `--flows`, and considered
    /// for the top dropped flows (Community ID computed only when kept).
    fn finish_flow(&mut self, key: StateKey, st: &FlowState, counters: &mut Counters) {
        counters.flows += 1;
        let seq = self.closed;
        self.closed += 1;
        if self.keep {
            self.finished.push(Finished { key, st: *st, seq });
        }
        if st.dropped > 0 && self.top_n > 0 {
            let r = flow_record(&flow_key(&key), st);
            let enters = self.top.len() < self.top_n
                || self
                    .top
                    .last()
                    .is_some_and(|worst| r.top_key() < worst.top_key());
            if enters {
                let at = self.top.partition_point(|x| x.top_key() < r.top_key());
                self.top.insert(at, r);
                self.top.truncate(self.top_n);
            }
        }
    }

    /// Closes every open record (into the spool too, with `keep`: a shard's
    /// table is freed once drained); returns the kept records and the top
    /// dropped flows.
    pub(crate) fn finish(mut self, counters: &mut Counters) -> (Kept, Vec<FlowRecord>) {
        for s in 0..SHARDS {
            if let Some(mut t) = self.tables.get_mut(s).and_then(Option::take) {
                // Counted and considered for the top as if closed now, oldest
                // first; each one's [`Finished::seq`] is past every record
                // closed during the pass, so a record closed and reopened
                // with an equal sort key keeps its place.
                for (k, r) in t.drain_ordered() {
                    self.finish_flow(k, &r, counters);
                }
            }
        }
        for r in &mut self.top {
            r.community_id = key_of(r).community_id_compact(0);
        }
        let spool = self.finished.stats();
        (
            Kept {
                closed: self.finished.finish(),
                spool,
            },
            self.top,
        )
    }
}

/// One worker's kept records of one scenario at the end of the pass: its
/// spool's sorted runs (or the spool's error).
pub(crate) struct Kept {
    closed: Result<Vec<Cursor<Finished>>, SpoolError>,
    /// What the spool did.
    pub(crate) spool: SpoolStats,
}

impl Kept {
    /// Records kept.
    pub(crate) fn len(&self) -> usize {
        self.closed
            .as_ref()
            .map_or(0, |c| c.iter().map(Cursor::remaining).sum::<usize>())
    }
}

/// Hands every kept record of one scenario (one [`Kept`] per worker) to
/// `emit` as a [`FlowRecord`], in the flow log's order: the spools' sorted
/// runs (most in temporary files, the last of each in memory) are merged
/// through a heap of their heads, so each [`FlowRecord`] lives only while
/// `emit` has it.
///
/// # Errors
/// The first error `emit` returns, or a spool's I/O error.
pub(crate) fn merge_ordered<E: From<SpoolError>>(
    kept: Vec<Kept>,
    emit: &mut impl FnMut(FlowRecord) -> Result<(), E>,
) -> Result<(), E> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut runs: Vec<Cursor<Finished>> = Vec::new();
    for k in kept {
        runs.extend(k.closed?);
    }
    let mut heap = BinaryHeap::with_capacity(runs.len());
    for (r, run) in runs.iter().enumerate() {
        if let Some(f) = run.head() {
            heap.push(Reverse((tuple(&f.key, &f.st), f.seq, r)));
        }
    }
    while let Some(Reverse((_, _, r))) = heap.pop() {
        let Some(run) = runs.get_mut(r) else { continue };
        if let Some(f) = run.head() {
            let key = flow_key(&f.key);
            let mut rec = flow_record(&key, &f.st);
            rec.community_id = key.community_id_compact(0);
            emit(rec)?;
        }
        run.advance()?;
        if let Some(f) = run.head() {
            heap.push(Reverse((tuple(&f.key, &f.st), f.seq, r)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::net::IpAddr;

    fn side(code: u8, audit: bool, r: usize) -> Side {
        Side {
            code,
            audit,
            rules: [
                RuleId::new(r).ok(),
                None,
                RuleId::new(r + 7).ok(),
                None,
                RuleId::new(1 << 27).ok(),
            ],
        }
    }

    /// Every kind of key (IPv4, IPv6, mixed families, with and without
    /// ports) and transport field, with and without a reply, reads back
    /// from its spooled form as the same record.
    #[test]
    fn a_finished_record_reads_back_from_its_spooled_form() {
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let v4b: IpAddr = "192.168.7.9".parse().unwrap();
        let v6: IpAddr = "2001:db8::5".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let keys = [
            StateKey::new(v4, v4b, 6, Some((40000, 443))),
            StateKey::new(v6, mapped, 17, Some((53, 1))),
            StateKey::new(v4, v6, 1, Some((8, 0))),
            StateKey::new(v6, v4, 50, None),
        ];
        let l4s = [
            L4::Ports {
                sport: 40000,
                dport: 443,
            },
            L4::Icmp {
                icmp_type: 8,
                code: 3,
            },
            L4::Opaque,
            L4::Fragment,
        ];
        let mut n = 0u64;
        for key in keys {
            for l4 in l4s {
                for reply in [None, Some(side(3, true, 9))] {
                    n += 1;
                    let f = Finished {
                        key,
                        st: FlowState {
                            first_ns: 1_700_000_000_123_456_789 + n,
                            last_ns: u64::MAX - n,
                            bytes: 1 << 40,
                            allowed: n,
                            dropped: 7,
                            l4,
                            src_is_a: n.is_multiple_of(2),
                            code: u8::try_from(n % 6).unwrap(),
                            first: side(0, false, 2),
                            reply,
                            both: n.is_multiple_of(3),
                            closing: n.is_multiple_of(4),
                        },
                        seq: n * 1_000_003,
                    };
                    let mut buf = vec![0xAA; Finished::SIZE];
                    f.encode(&mut buf);
                    let g = Finished::decode(&buf).unwrap();
                    assert_eq!(g.key, f.key);
                    assert_eq!(g.seq, f.seq);
                    assert_eq!(
                        (g.st.last_ns, g.st.both, g.st.closing),
                        (f.st.last_ns, f.st.both, f.st.closing)
                    );
                    let k = flow_key(&f.key);
                    assert_eq!(flow_record(&k, &g.st), flow_record(&k, &f.st));
                    assert_eq!(g.order(&f), std::cmp::Ordering::Equal);
                }
            }
        }
        // A bad tag is refused, not misread.
        let mut buf = vec![0; Finished::SIZE];
        assert!(Finished::decode(&buf).is_none());
        buf.truncate(10);
        assert!(Finished::decode(&buf).is_none());
    }
}
