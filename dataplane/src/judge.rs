//! One packet through the compiled table with connection tracking: the
//! step replay and the TAP router share.
//!
//! A [`Tracker`] owns the connection tables of the shards one worker
//! serves; [`Tracker::judge`] looks the packet's connection up, judges it
//! as a first packet or as a reply of a tracked connection (semantics
//! §2b), and creates or refreshes the entry when the packet is allowed.
//! [`Counters::record`] then adds the verdict to the counters. Neither does
//! I/O, so replay (packet timestamps) and the live router (a monotonic
//! clock) drive them the same way.

use serde::Serialize;
use zprsim_control::compile::{Compiled, Fast, RuleId};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Stage, Verdict};

use crate::conntrack::{self, Conn, SHARDS};
use crate::drop_reason::DropReason;
use crate::state_table::{self, Hint, KeyHasher, ShardTable, StateKey};

/// Packets and bytes, by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Every IP packet judged (including malformed ones, which are dropped).
    pub total: u64,
    /// Allowed.
    pub allowed: u64,
    /// Dropped.
    pub dropped: u64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.total += o.total;
        self.allowed += o.allowed;
        self.dropped += o.dropped;
    }
}

/// Index of the `malformed` entry of [`Counters::dropped_by_stage`].
pub const STAGE_MALFORMED: usize = DropReason::Malformed as usize;

/// Counters, summed over workers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets.
    pub packets: Totals,
    /// Bytes (wire length of each record).
    pub bytes: Totals,
    /// Drops by reason, indexed by [`DropReason::index`].
    pub dropped_by_stage: [u64; DropReason::COUNT],
    /// Packets an audit-mode attribute would have dropped.
    pub zpr_audit_would_drop: u64,
    /// Records that are not IP or of a link type not decoded, and IP
    /// packets no VCN layer sees ([`crate::unjudged`]): every record read
    /// is in `packets.total` or here (copies and node-local aside).
    pub non_ip: u64,
    /// Of `non_ip`: IPv6 neighbour discovery and MLD
    /// ([`crate::unjudged::Unjudged::LinkLocal`]).
    pub link_local: u64,
    /// Of `non_ip`: packets of a host to itself
    /// ([`crate::unjudged::Unjudged::Loopback`]).
    pub loopback: u64,
    /// Records left out as copies of a packet seen on another interface
    /// (`--dedup`): neither packets nor `non_ip`.
    pub copies: u64,
    /// Records judged by the frame inside their VXLAN header
    /// (`--decap vxlan`).
    pub decapsulated: u64,
    /// Records left out as traffic that stays on the node
    /// (`--node-local`).
    pub node_local: u64,
    /// Hits per rule global id.
    pub rule_hits: Vec<u64>,
    /// Connections created.
    pub connections: u64,
    /// Connections evicted because their shard was full.
    pub connections_evicted: u64,
    /// Packets that passed as replies of tracked connections.
    pub replies_tracked: u64,
    /// Flow records (finished, including those still open at the end).
    pub flows: u64,
    /// Flow records closed early because their shard was full.
    pub flows_evicted: u64,
    /// Dropped packets of flow records whose drop was decided where a
    /// stand-in is (`crate::stand_in_owed`; counted as each record closes).
    pub stand_in_dropped: u64,
    /// Those flow records.
    pub stand_in_dropped_flows: u64,
}

impl Counters {
    /// Counters with room for `rules` rule ids.
    #[must_use]
    pub fn with_rules(rules: usize) -> Self {
        Counters {
            rule_hits: vec![0; rules],
            ..Counters::default()
        }
    }

    /// Adds another set of counters to this one.
    pub fn add(&mut self, o: &Counters) {
        self.packets.add(&o.packets);
        self.bytes.add(&o.bytes);
        for (a, b) in self.dropped_by_stage.iter_mut().zip(o.dropped_by_stage) {
            *a += b;
        }
        self.zpr_audit_would_drop += o.zpr_audit_would_drop;
        self.non_ip += o.non_ip;
        self.link_local += o.link_local;
        self.loopback += o.loopback;
        self.copies += o.copies;
        self.decapsulated += o.decapsulated;
        self.node_local += o.node_local;
        if self.rule_hits.len() < o.rule_hits.len() {
            self.rule_hits.resize(o.rule_hits.len(), 0);
        }
        for (a, b) in self.rule_hits.iter_mut().zip(&o.rule_hits) {
            *a += b;
        }
        self.connections += o.connections;
        self.connections_evicted += o.connections_evicted;
        self.replies_tracked += o.replies_tracked;
        self.flows += o.flows;
        self.flows_evicted += o.flows_evicted;
        self.stand_in_dropped += o.stand_in_dropped;
        self.stand_in_dropped_flows += o.stand_in_dropped_flows;
    }

    /// Counts one packet not judged: in `non_ip` and in the counter of
    /// why.
    #[cold]
    pub fn count_unjudged(&mut self, why: crate::unjudged::Unjudged) {
        self.non_ip += 1;
        match why {
            crate::unjudged::Unjudged::LinkLocal => self.link_local += 1,
            crate::unjudged::Unjudged::Loopback => self.loopback += 1,
        }
    }

    /// Counts one judged packet of `wire_len` bytes: totals, the stage of a
    /// drop, the audit flag and the deciding rules.
    #[inline]
    pub fn record(&mut self, fast: &Fast, wire_len: u32) {
        let j = fast.judgement;
        self.packets.total += 1;
        self.bytes.total += u64::from(wire_len);
        if j.verdict == Verdict::Allow {
            self.packets.allowed += 1;
            self.bytes.allowed += u64::from(wire_len);
        } else {
            self.packets.dropped += 1;
            self.bytes.dropped += u64::from(wire_len);
        }
        if let Some(s) = j.stage {
            self.dropped_by_stage[stage_index(s)] += 1;
        }
        self.zpr_audit_would_drop += u64::from(j.zpr_audit);
        self.hit_rules(&fast.rules);
    }

    /// Counts a packet for each of its deciding rules. Over the array by
    /// value: five fixed steps the compiler unrolls (a slice iterator with
    /// `flatten` was ~50 instructions a packet).
    #[inline(always)]
    fn hit_rules(&mut self, rules: &[Option<RuleId>; 5]) {
        for r in *rules {
            if let Some(r) = r
                && let Some(h) = self.rule_hits.get_mut(r.index())
            {
                *h += 1;
            }
        }
    }

    /// Counts one dropped packet of `wire_len` bytes from its verdict code
    /// (`code` ≥ 1: [`DropReason::code`]), audit flag and deciding rules:
    /// what [`Counters::record`] counts for the same drop, without a
    /// [`Fast`] to take apart (the engine's known-dropped-flow path keeps
    /// the drop in this form).
    #[inline(always)]
    pub(crate) fn record_drop(
        &mut self,
        code: u8,
        audit: bool,
        rules: &[Option<RuleId>; 5],
        wire_len: u32,
    ) {
        self.packets.total += 1;
        self.packets.dropped += 1;
        self.bytes.total += u64::from(wire_len);
        self.bytes.dropped += u64::from(wire_len);
        // A code's drop reason is at index code - 1.
        if let Some(n) = self
            .dropped_by_stage
            .get_mut(usize::from(code.wrapping_sub(1)))
        {
            *n += 1;
        }
        self.zpr_audit_would_drop += u64::from(audit);
        self.hit_rules(rules);
    }

    /// Counts one allowed packet of `wire_len` bytes served from a flow
    /// record that holds its connection (the engine's held path): what
    /// [`Counters::record`] counts for its cached allowed verdict (no
    /// stage, `audit`, deciding `rules`), and a reply tracked when `reply`.
    #[inline(always)]
    pub(crate) fn record_held(
        &mut self,
        audit: bool,
        rules: &[Option<RuleId>; 5],
        wire_len: u32,
        reply: bool,
    ) {
        self.packets.total += 1;
        self.packets.allowed += 1;
        self.bytes.total += u64::from(wire_len);
        self.bytes.allowed += u64::from(wire_len);
        self.zpr_audit_would_drop += u64::from(audit);
        self.replies_tracked += u64::from(reply);
        self.hit_rules(rules);
    }

    /// Counts one malformed packet of `wire_len` bytes (dropped).
    pub fn record_malformed(&mut self, wire_len: u32) {
        self.packets.total += 1;
        self.packets.dropped += 1;
        self.bytes.total += u64::from(wire_len);
        self.bytes.dropped += u64::from(wire_len);
        self.dropped_by_stage[STAGE_MALFORMED] += 1;
    }
}

/// Index of a stage in [`Counters::dropped_by_stage`].
#[must_use]
pub fn stage_index(s: Stage) -> usize {
    DropReason::of_stage(s).index()
}

/// A per-worker memo of [`Compiled::judge`]: direct-mapped, keyed by the
/// whole packet and context, so a hit returns exactly what the table walk
/// would (the table is immutable while the memo lives). Packets of a known
/// flow in the same direction and context, the bulk of real traffic, skip
/// the walk: measured in docs/benchmarks.md.
///
/// 16,384 slots of about 100 bytes: 1.6 MiB, within a core's L2 (2 MiB
/// here).
#[derive(Debug)]
struct Memo {
    slots: Vec<Option<(Packet, Context, Fast)>>,
}

const MEMO_SLOTS: usize = 16_384;

impl Memo {
    fn new() -> Memo {
        Memo {
            slots: vec![None; MEMO_SLOTS],
        }
    }

    #[inline]
    fn judge(&mut self, compiled: &Compiled, p: &Packet, ctx: Context) -> Fast {
        let h = memo_hash(p, ctx);
        // The remainder is below MEMO_SLOTS, so it fits any usize.
        let i = usize::try_from(h % MEMO_SLOTS as u64).unwrap_or(0);
        let Some(slot) = self.slots.get_mut(i) else {
            return compiled.judge(p, ctx);
        };
        if let Some((mp, mc, fast)) = slot
            && mp == p
            && *mc == ctx
        {
            return *fast;
        }
        let fast = compiled.judge(p, ctx);
        *slot = Some((*p, ctx, fast));
        fast
    }
}

/// The memo's slot hash of a packet and its context: the fields folded
/// into one word and finished with MurmurHash3's mixer, as
/// [`conntrack::shard_of`] does. Feeding the `(Packet, Context)` tuple
/// field by field to `ahash` was the largest single cost of a worker
/// (`perf record`, docs/benchmarks.md). Only the slot depends on it: a hit
/// still compares the whole packet and context, so any hash is exact.
#[inline]
fn memo_hash(p: &Packet, ctx: Context) -> u64 {
    let l4 = match p.l4 {
        L4::Ports { sport, dport } => (1 << 32) | (u64::from(sport) << 16) | u64::from(dport),
        L4::Icmp { icmp_type, code } => (2 << 32) | (u64::from(icmp_type) << 8) | u64::from(code),
        L4::Opaque => 3 << 32,
        L4::Fragment => 4 << 32,
    };
    let c = match ctx {
        Context::First => 0,
        Context::Reply(t) => {
            1 | (u64::from(t.at_src) << 1)
                | (u64::from(t.at_dst) << 2)
                | (u64::from(t.zpr) << 3)
                | (u64::from(t.zpr_audit) << 4)
        }
    };
    let rest = l4 | (u64::from(p.proto) << 40) | (c << 48);
    conntrack::mix64(
        conntrack::fold(p.src) ^ conntrack::fold(p.dst).rotate_left(29) ^ rest.rotate_left(47),
    )
}

/// A judged verdict kept in a connection's entry: [`Fast`]'s fields (an
/// `Option<RuleId>` is 4 bytes, the id's niche holding `None`), 28 bytes.
#[derive(Debug, Clone, Copy)]
struct CachedFast {
    judgement: zprsim_control::verdict::Judgement,
    rules: [Option<RuleId>; 5],
    /// The packet had ports (`L4::Ports`), not `L4::Opaque`: the key and
    /// direction then fix every field the table reads.
    ports: bool,
}

impl CachedFast {
    fn of(f: &Fast, ports: bool) -> CachedFast {
        CachedFast {
            judgement: f.judgement,
            rules: f.rules,
            ports,
        }
    }

    fn fast(&self) -> Fast {
        Fast {
            judgement: self.judgement,
            rules: self.rules,
        }
    }
}

/// A connection's entry: its state, and the verdict of each direction
/// (0: the initiator's, judged as a first packet; 1: replies, judged with
/// the connection's tracking) once judged, so later packets of a known
/// connection skip the table walk. Only with a table that never changes
/// (see [`Tracker::with_memo`]), and only for packets whose key and
/// direction fix the whole packet (ports or no transport fields; not
/// ICMP, whose type and code the key leaves out).
#[derive(Debug, Clone, Copy)]
struct ConnEntry {
    conn: Conn,
    cache: [Option<CachedFast>; 2],
}

/// A connection as a flow record may hold it (`engine::flows`,
/// `Flows::hold`): its initiator's direction, its idle state, and for the
/// initiator's direction (0) and replies (1) the verdict it caches when
/// that is allowed, for a packet with ports, with no stage: its audit
/// flag and deciding rules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeldConn {
    /// [`Conn::initiator_forward`].
    pub(crate) initiator_forward: bool,
    /// [`Conn::last_ns`], [`Conn::both`], [`Conn::closing`].
    pub(crate) state: (u64, bool, bool),
    /// The cached allowed verdicts.
    pub(crate) allowed: [Option<(bool, [Option<RuleId>; 5])>; 2],
}

/// The connection tables of the shards one worker serves, bounded: one
/// compact [`ShardTable`] per shard.
#[derive(Debug)]
pub struct Tracker {
    /// One table per shard, made at its first connection: an array, so
    /// that a shard's index (below [`SHARDS`]) needs no bounds check.
    conns: Box<[Option<ShardTable<ConnEntry>>; SHARDS]>,
    cap: usize,
    hasher: KeyHasher,
    /// Only for a table that never changes under the tracker (replay);
    /// the live router swaps tables and judges without it (nor the
    /// verdicts cached in connection entries).
    memo: Option<Memo>,
    /// The key of the last connection evicted to make room for a new one
    /// ([`Tracker::take_evicted`]: a flow record may hold it).
    evicted: Option<StateKey>,
    /// No connection was ever made: every shard's table is empty (or not
    /// made), known without reading the shards' array (40 KB that the
    /// flow records' writes push out of the L1 cache: a miss a packet on
    /// dropped first packets, where the tracker's prefetch and
    /// [`Tracker::holds_none`] read it; docs/benchmarks.md, thirty-first
    /// session).
    none_ever: bool,
}

impl Tracker {
    /// Tables for at most `max_connections` connections over all shards
    /// (each shard holds `max_connections / SHARDS`, at least 1).
    #[must_use]
    pub fn new(max_connections: usize) -> Self {
        Tracker {
            conns: Box::new(std::array::from_fn(|_| None)),
            cap: (max_connections / SHARDS).max(1),
            hasher: KeyHasher::default(),
            memo: None,
            evicted: None,
            none_ever: true,
        }
    }

    /// Like [`Tracker::new`], with a memo of verdicts and verdicts cached
    /// in connection entries: only for a tracker always called with the
    /// same compiled table.
    #[must_use]
    pub fn with_memo(max_connections: usize) -> Self {
        Tracker {
            memo: Some(Memo::new()),
            ..Tracker::new(max_connections)
        }
    }

    #[inline]
    fn judge_packet(&mut self, compiled: &Compiled, p: &Packet, ctx: Context) -> Fast {
        match &mut self.memo {
            Some(m) => m.judge(compiled, p, ctx),
            None => compiled.judge(p, ctx),
        }
    }

    /// Connections tracked now (expired ones not yet seen again included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.conns.iter().flatten().map(ShardTable::len).sum()
    }

    /// Whether nothing is tracked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Index slots and entry room allocated over all shards (bounded by
    /// the configured maximum; for tests).
    #[must_use]
    pub fn allocated(&self) -> (usize, usize) {
        self.conns.iter().flatten().fold((0, 0), |(i, e), t| {
            (i + t.index_slots(), e + t.entry_capacity())
        })
    }

    /// Judges `p` (of shard `shard`, at time `ts_ns`, with TCP flags
    /// `tcp_flags`) with connection tracking, and counts connections
    /// created and evicted and replies passed in `counters`.
    pub fn judge(
        &mut self,
        compiled: &Compiled,
        p: &Packet,
        shard: usize,
        ts_ns: u64,
        tcp_flags: u8,
        counters: &mut Counters,
    ) -> Fast {
        let conn = state_table::packet_keys(p)
            .1
            .map(|(k, forward)| (k, forward, self.hasher.hash(&k)));
        let conn = conn.as_ref().map(|(k, forward, h)| (k, *forward, *h));
        self.judge_keyed(compiled, p, shard, ts_ns, tcp_flags, counters, conn, false)
            .0
    }

    /// The context [`Tracker::judge`] would give `p` (of shard `shard`, at
    /// `ts_ns`) now, changing nothing: the reply context of a live
    /// connection the packet answers, else [`Context::First`]; with the
    /// packet's connection key (`None` for a non-first fragment). For
    /// `explain --capture` (`crate::capture_state`), which must say which
    /// context replay judged a packet in: one probe, off the hot path.
    #[must_use]
    pub(crate) fn context_of(
        &self,
        p: &Packet,
        shard: usize,
        ts_ns: u64,
    ) -> (Context, Option<StateKey>) {
        let Some((key, forward)) = state_table::packet_keys(p).1 else {
            return (Context::First, None);
        };
        let live = self
            .conns
            .get(shard % SHARDS)
            .and_then(Option::as_ref)
            .and_then(|t| t.find(&key, self.hasher.hash(&key)).and_then(|s| t.get(s)))
            .filter(|e| !e.conn.expired(p.proto, ts_ns));
        let ctx = match live {
            Some(e) if forward != e.conn.initiator_forward => Context::Reply(e.conn.tracking),
            _ => Context::First,
        };
        (ctx, Some(key))
    }

    /// An entry for `key` is held in shard `shard` (live or not yet
    /// found expired); cold, as [`Tracker::context_of`].
    #[must_use]
    pub(crate) fn holds(&self, key: &StateKey, shard: usize) -> bool {
        self.conns
            .get(shard % SHARDS)
            .and_then(Option::as_ref)
            .is_some_and(|t| t.find(key, self.hasher.hash(key)).is_some())
    }

    /// Hints the cache about a coming look-up of connection key `key`
    /// (hash `h`) in `shard` ([`ShardTable::prefetch`]).
    #[inline(always)]
    pub(crate) fn prefetch(&self, shard: usize, key: &StateKey, h: u64) {
        if self.none_ever {
            return;
        }
        if let Some(Some(t)) = self.conns.get(shard % SHARDS) {
            t.prefetch(key, h);
        }
    }

    /// The cached allowed verdict of a packet of a live connection, with
    /// what [`Tracker::judge_keyed`] does for it in that case (the reply
    /// counted, the connection touched), or `None` with nothing changed:
    /// no connection under `key` (hash `h`, in `shard`), an expired one,
    /// no verdict cached for the packet's direction (`forward` in the key's
    /// order), or a cached drop. For a packet with ports (`L4::Ports`) of
    /// protocol `proto`, at `ts_ns` with TCP flags `tcp_flags`, whose
    /// connection key is `key`: the engine's known-flow path
    /// ([`crate::engine`]'s `Judge::packet`), which then counts it and
    /// adds it to its flow record as the slow path would. `hint`: where
    /// the flow record last found the connection; returned with the
    /// connection's position now.
    #[allow(clippy::too_many_arguments)]
    // Always inlined: the compiler called it out of line on the engine's
    // known-flow path (callgrind: about 5% of the worker's instructions
    // in a call of its own on a mostly allowed capture).
    #[inline(always)]
    pub(crate) fn known_allowed(
        &mut self,
        shard: usize,
        (key, h, hint): (&StateKey, u64, Hint),
        forward: bool,
        (proto, ts_ns, tcp_flags): (u8, u64, u8),
        counters: &mut Counters,
    ) -> Option<(Fast, Hint)> {
        // Verdicts are cached only under a table that never changes.
        self.memo.as_ref()?;
        let table = self.conns.get_mut(shard % SHARDS)?.as_mut()?;
        let (at, e) = table.find_hinted_mut(key, h, hint)?;
        if e.conn.expired(proto, ts_ns) {
            return None;
        }
        let reply = forward != e.conn.initiator_forward;
        let c = e.cache.get(usize::from(reply)).copied().flatten()?;
        if !c.ports || c.judgement.verdict != Verdict::Allow {
            return None;
        }
        if reply {
            counters.replies_tracked += 1;
        }
        e.conn.touch(ts_ns, forward, tcp_flags);
        Some((c.fast(), at))
    }

    /// The connection under `key` (hash `h`, in `shard`; `hint` where it
    /// is, from [`Tracker::known_allowed`]) as a flow record may hold it
    /// ([`HeldConn`]), `None` when none is held. Only with a memo (the
    /// verdicts are cached only then). Inlined into its one caller (the
    /// engine's `Judge::hold`, itself out of line).
    #[inline(always)]
    pub(crate) fn held_conn(
        &mut self,
        shard: usize,
        (key, h, hint): (&StateKey, u64, Hint),
    ) -> Option<HeldConn> {
        self.memo.as_ref()?;
        let table = self.conns.get_mut(shard % SHARDS)?.as_mut()?;
        let (_, e) = table.find_hinted_mut(key, h, hint)?;
        // Each direction's by hand: `map` over the array was a loop
        // (callgrind, thirty-second session).
        let allowed = |c: Option<CachedFast>| {
            c.filter(|c| {
                c.ports && c.judgement.verdict == Verdict::Allow && c.judgement.stage.is_none()
            })
            .map(|c| (c.judgement.zpr_audit, c.rules))
        };
        let [first, reply] = e.cache;
        Some(HeldConn {
            initiator_forward: e.conn.initiator_forward,
            state: (e.conn.last_ns, e.conn.both, e.conn.closing),
            allowed: [allowed(first), allowed(reply)],
        })
    }

    /// Takes back the idle state `(last_ns, both, closing)` of the
    /// connection under `key` (hash `h`, in `shard`; `hint` where it was
    /// last) from the flow record that held it: its entry is current
    /// again. The entry is there: a held connection leaves the table only
    /// when evicted, and then its record is told first
    /// ([`Tracker::take_evicted`]) and holds it no more.
    pub(crate) fn put_back(
        &mut self,
        shard: usize,
        (key, h, hint): (&StateKey, u64, Hint),
        (last_ns, both, closing): (u64, bool, bool),
    ) {
        if let Some(Some(t)) = self.conns.get_mut(shard % SHARDS)
            && let Some((_, e)) = t.find_hinted_mut(key, h, hint)
        {
            e.conn.last_ns = last_ns;
            e.conn.both = both;
            e.conn.closing = closing;
        }
    }

    /// The key of the connection evicted by the last one made, once.
    #[inline]
    pub(crate) fn take_evicted(&mut self) -> Option<StateKey> {
        self.evicted.take()
    }

    /// [`Tracker::judge`] with the packet's connection key, direction and
    /// key hash already made ([`state_table::packet_keys`], `None` for a
    /// non-first fragment): the engine's worker makes them once for the
    /// flow table too. Also returns whether a connection is held under
    /// that key after the packet (found live, or created by it).
    ///
    /// `fresh`: the packet opens a flow record (none was open under its
    /// key). Judged as a first packet, it then skips the memo, where it
    /// would almost never be: the same packet judged recently would have
    /// left its record open. On distinct first packets the memo's hash,
    /// compare and 100-byte slot write were ~100 instructions a packet
    /// and 1.6 MiB of cache lines pulled in for nothing.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn judge_keyed(
        &mut self,
        compiled: &Compiled,
        p: &Packet,
        shard: usize,
        ts_ns: u64,
        tcp_flags: u8,
        counters: &mut Counters,
        conn: Option<(&StateKey, bool, u64)>,
        fresh: bool,
    ) -> (Fast, bool) {
        let Some((skey, forward, h)) = conn else {
            return (self.judge_packet(compiled, p, Context::First), false);
        };
        let cap = self.cap;
        let Some(slot) = self.conns.get_mut(shard % SHARDS) else {
            return (self.judge_packet(compiled, p, Context::First), false);
        };
        let table = slot.get_or_insert_with(|| ShardTable::new(cap));
        let memo = &mut self.memo;
        let (ports, cacheable) = cache_kind(memo.is_some(), p);
        let mut judge = |ctx: Context| match memo {
            Some(m) => m.judge(compiled, p, ctx),
            None => compiled.judge(p, ctx),
        };
        // One look-up for a live connection; an expired one is forgotten
        // and the packet judged as a first packet.
        if let Some(found) = table.find(skey, h) {
            if let Some(e) = table.get_mut(found)
                && !e.conn.expired(p.proto, ts_ns)
            {
                let reply = forward != e.conn.initiator_forward;
                let dir = usize::from(reply);
                let cached = e
                    .cache
                    .get(dir)
                    .copied()
                    .flatten()
                    .filter(|c| cacheable && c.ports == ports);
                let fast = match cached {
                    Some(c) => c.fast(),
                    None => {
                        let ctx = if reply {
                            Context::Reply(e.conn.tracking)
                        } else {
                            Context::First
                        };
                        let fast = judge(ctx);
                        if cacheable && let Some(c) = e.cache.get_mut(dir) {
                            *c = Some(CachedFast::of(&fast, ports));
                        }
                        fast
                    }
                };
                if fast.judgement.verdict == Verdict::Allow {
                    if reply {
                        counters.replies_tracked += 1;
                    }
                    e.conn.touch(ts_ns, forward, tcp_flags);
                }
                return (fast, true);
            }
            table.remove(found);
        }
        let fast = if fresh {
            compiled.judge(p, Context::First)
        } else {
            judge(Context::First)
        };
        let allowed = fast.judgement.verdict == Verdict::Allow;
        if allowed {
            let cache = cacheable.then(|| CachedFast::of(&fast, ports));
            self.none_ever = false;
            add_conn(
                table,
                (skey, forward, h),
                (ts_ns, tcp_flags),
                &fast,
                cache,
                (counters, &mut self.evicted),
            );
        }
        (fast, allowed)
    }

    /// Whether shard `shard` holds no connection (none made yet, or every
    /// one gone): a packet of it is judged as a first packet, without a
    /// probe ([`Tracker::judge_fresh`]).
    #[inline(always)]
    #[must_use]
    pub(crate) fn holds_none(&self, shard: usize) -> bool {
        self.none_ever
            || self
                .conns
                .get(shard % SHARDS)
                .is_none_or(|t| t.as_ref().is_none_or(|t| t.len() == 0))
    }

    /// [`Tracker::judge_keyed`] of a packet that opens a flow record
    /// (`fresh`) in a shard that [`Tracker::holds_none`], with its
    /// connection key `(key, forward, h)`: judged as a first packet
    /// (no memo, as `judge_keyed` does for a fresh packet), and a
    /// connection made when it is allowed. The engine's path for a new
    /// flow while nothing is allowed (distinct dropped first packets):
    /// `judge_keyed`, called, spent ~80 instructions a packet on its
    /// frame, the probe set-up and the copy of its result
    /// (callgrind, docs/benchmarks.md, twenty-eighth session).
    #[inline(always)]
    pub(crate) fn judge_fresh(
        &mut self,
        (compiled, p): (&Compiled, &Packet),
        (shard, at): (usize, (u64, u8)),
        counters: &mut Counters,
        conn: (&StateKey, bool, u64),
    ) -> (Fast, bool) {
        let fast = compiled.judge(p, Context::First);
        let allowed = fast.judgement.verdict == Verdict::Allow;
        if allowed {
            self.open(p, (shard, at), counters, conn, &fast);
        }
        (fast, allowed)
    }

    /// The connection an allowed first packet makes ([`Tracker::judge_fresh`]),
    /// cached as [`Tracker::judge_keyed`] caches it.
    #[inline(never)]
    fn open(
        &mut self,
        p: &Packet,
        (shard, at): (usize, (u64, u8)),
        counters: &mut Counters,
        conn: (&StateKey, bool, u64),
        fast: &Fast,
    ) {
        let cap = self.cap;
        let Some(slot) = self.conns.get_mut(shard % SHARDS) else {
            return;
        };
        let table = slot.get_or_insert_with(|| ShardTable::new(cap));
        let (ports, cacheable) = cache_kind(self.memo.is_some(), p);
        let cache = cacheable.then(|| CachedFast::of(fast, ports));
        self.none_ever = false;
        add_conn(table, conn, at, fast, cache, (counters, &mut self.evicted));
    }
}

/// Whether `p` has ports, and whether its verdict may be cached in its
/// connection: for a packet its key and direction fix whole, and only
/// under a table that never changes (`has_memo`: the memo's).
#[inline(always)]
fn cache_kind(has_memo: bool, p: &Packet) -> (bool, bool) {
    let ports = matches!(p.l4, L4::Ports { .. });
    (ports, has_memo && (ports || p.l4 == L4::Opaque))
}

/// The connection an allowed first packet (`fast`, at `(ts_ns,
/// tcp_flags)`) makes under its key `(key, forward, h)`, its verdict
/// cached when `cache`; counted in `counters` with the one a full table
/// evicts for it.
fn add_conn(
    table: &mut ShardTable<ConnEntry>,
    (key, forward, h): (&StateKey, bool, u64),
    (ts_ns, tcp_flags): (u64, u8),
    fast: &Fast,
    cache: Option<CachedFast>,
    (counters, evicted): (&mut Counters, &mut Option<StateKey>),
) {
    counters.connections += 1;
    let conn = conntrack::new_conn(fast.judgement.tracking, forward, ts_ns, tcp_flags);
    let e = ConnEntry {
        conn,
        cache: [cache, None],
    };
    table.insert_evicting(*key, h, e, |k, _| {
        counters.connections_evicted += 1;
        *evicted = Some(k);
    });
}

#[cfg(test)]
mod size_tests {
    use crate::state_table::{Entry, Key4, Key6};

    /// The entry sizes docs/architecture.md's size formula uses.
    #[test]
    fn state_entries_have_the_documented_sizes() {
        assert_eq!(size_of::<super::CachedFast>(), 28);
        assert_eq!(size_of::<Entry<Key4, super::ConnEntry>>(), 104);
        assert_eq!(size_of::<Entry<Key6, super::ConnEntry>>(), 128);
        // Two cache lines (docs/benchmarks.md, thirty-fourth session).
        assert_eq!(
            size_of::<Entry<Key4, crate::engine::FlowStateForSize>>(),
            128
        );
        assert_eq!(
            size_of::<Entry<Key6, crate::engine::FlowStateForSize>>(),
            152
        );
        assert_eq!(size_of::<crate::engine::FinishedForSize>(), 152);
        // A compared pass's second scenario (`diff`): what changed, too.
        type Compared = crate::engine::FlowStateForSize<crate::engine::ChangeForSize>;
        assert_eq!(size_of::<Entry<Key4, Compared>>(), 168);
        assert_eq!(size_of::<Entry<Key6, Compared>>(), 192);
    }
}
