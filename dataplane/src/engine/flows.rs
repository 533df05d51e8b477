//! Flow records: one per flow (keyed like Community ID, with the idle
//! timeouts of connection tracking), for `--flows` and the top dropped
//! flows.

use std::sync::Arc;

use serde::Serialize;
use zprsim_control::compile::{Compiled, Fast, RuleId};
use zprsim_control::model::proto;
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Judgement, Stage, Tracking, Verdict};

use crate::community_id::{CommunityId, FlowKey};
use crate::conntrack::{self, SHARDS};
use crate::drop_reason::DropReason;
use crate::judge::Counters;
use crate::stand_in_owed::StandInOwed;
use crate::state_table::{Hint, ShardTable, Slot, StateKey};

use super::Item;
use super::spool::{Cursor, Spool, SpoolError, SpoolStats};

mod codec;
pub(crate) mod compare;
#[cfg(test)]
mod hold_tests;

pub(crate) use compare::{Change, Extra};

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

/// What [`Flows::known_drop`] found under a packet's key when it could not
/// serve the packet itself.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Open {
    /// No record is open under the key.
    None,
    /// A record of an exact packet, live (within its timeout): its slot,
    /// and where the tracker last held its connection
    /// ([`FlowState::conn_at`]). A packet of a connection its scenario's
    /// tracker holds, whose verdict the connection caches, is added with
    /// [`Flows::allowed_live`].
    Live(Slot, Hint),
    /// A record timed out, or the packet is not exact: its slot.
    Other(Slot),
    /// A record that holds its connection ([`FlowState::conn`]) could not
    /// serve the packet: the connection's state must go back to the
    /// tracker ([`Flows::take_held`]) before anything else reads it. Its
    /// slot, and where the tracker last held the connection.
    Held(Slot, Hint),
}

impl Open {
    /// The record's slot, if one is open.
    pub(crate) fn slot(self) -> Option<Slot> {
        match self {
            Open::None => None,
            Open::Live(s, _) | Open::Other(s) | Open::Held(s, _) => Some(s),
        }
    }
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

    /// A packet's side from its judgement alone: its verdict code (0
    /// allowed, else the drop stage's [`DropReason::code`]), audit flag and
    /// deciding rules. How a record's side is made when a packet is
    /// judged, and again when a flipped record's first side is
    /// ([`unflip`]).
    pub(crate) fn judged(fast: &zprsim_control::compile::Fast) -> Side {
        let code = DropReason::code(fast.judgement.stage.map(DropReason::of_stage));
        Side::of(code, fast)
    }

    /// The verdict code (0 allowed, else [`DropReason::code`]).
    pub(crate) fn code(self) -> u8 {
        self.code
    }

    /// The verdict this side records, as the rule statistics count it
    /// (deciding rules and the audit flag; [`Judgement::tracking`], which
    /// they do not read, left at its default).
    pub(crate) fn as_fast(self) -> Fast {
        Fast {
            judgement: Judgement {
                verdict: if self.code == 0 {
                    Verdict::Allow
                } else {
                    Verdict::Drop
                },
                stage: code_stage(self.code),
                zpr_audit: self.audit,
                tracking: Tracking::default(),
            },
            rules: self.rules,
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

/// A side as an open record keeps it ([`FlowState::first_how`] or
/// [`FlowState::reply_how`], and the rules in place): what a packet served
/// from its record returns, read without copying the rules
/// ([`Flows::known_drop`]; a [`Side`] made there cost ~10 instructions a
/// packet of a known flow, the rules copied, docs/benchmarks.md,
/// thirty-fourth session).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SideRef<'a> {
    how: u8,
    rules: &'a [Option<RuleId>; 5],
}

impl SideRef<'_> {
    /// The verdict code (0 allowed, else [`DropReason::code`]).
    #[inline(always)]
    pub(crate) fn code(self) -> u8 {
        self.how & CODE
    }

    /// The audit flag.
    #[inline(always)]
    fn audit(self) -> bool {
        self.how & AUDIT != 0
    }

    /// The side, its rules copied.
    #[inline(always)]
    fn side(self) -> Side {
        Side {
            code: self.code(),
            audit: self.audit(),
            rules: *self.rules,
        }
    }

    /// [`Side::as_fast`].
    pub(crate) fn as_fast(self) -> Fast {
        self.side().as_fast()
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
///
/// In this order (`repr(C)`), after the key in its entry
/// ([`crate::state_table`]'s `Entry` keeps the key first): what every
/// packet served from the record reads and writes (the last time, the
/// counts, the direction and connection flags, the two sides) first, the
/// first time last.
///
/// 96 bytes, a 128-byte entry (two cache lines; 144 bytes and 2.25 lines
/// before the thirty-fourth session, docs/benchmarks.md): the two sides
/// are kept as their parts ([`FlowState::first`], [`FlowState::reply`]
/// make the [`Side`]s), each side's code and audit flag in one byte
/// ([`side_byte`]), the first's with [`SRC_IS_A`], so that no [`Side`]'s
/// padding and no copy of the first side's code take room.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct FlowState<X = ()> {
    last_ns: u64,
    bytes: u64,
    allowed: u64,
    dropped: u64,
    /// The first packet's direction as its connection key orders it
    /// ([`crate::state_table::packet_keys`]): for an exact record, a packet
    /// with the same direction is the same packet. (While the record holds
    /// its connection in the connection's direction, [`FLIPPED`]: the
    /// connection's initiator's, the reverse.)
    first_forward: bool,
    /// What the record knows of its connection: [`NO_CONN`], or what it
    /// holds of it ([`HOLDS_FIRST`], [`HOLDS_REPLY`], and [`FLIPPED`]
    /// when in the connection's direction), or neither, and then whether
    /// it tried to hold it ([`HOLD_TRIED`]); and whether its first side
    /// can be judged again ([`FIRST_PLAIN`]).
    ///
    /// [`NO_CONN`]: an exact record (TCP or UDP with ports, its connection
    /// key equal to its flow key) whose scenario's tracker has held no
    /// connection under that key since the record opened: every packet of
    /// it so far was judged as a first packet and dropped. Its first and
    /// reply sides are then the verdicts of any later packet in their
    /// directions ([`Flows::known_drop`]).
    ///
    /// [`HOLDS_FIRST`], [`HOLDS_REPLY`]: the record holds its connection:
    /// the connection's idle state is the record's own (`last_ns`, `both`,
    /// `closing`, the same values, and its initiator is the first packet's
    /// direction, or the reverse with [`FLIPPED`]), and its entry in the
    /// tracker is stale until
    /// [`Flows::take_held`] hands it back. A bit says the verdict the
    /// connection caches for that direction is allowed and is the record's
    /// side of it, so an allowed packet of a known connection is served
    /// from this one entry ([`Flows::known_drop`]). Set by [`Flows::hold`].
    ///
    /// One byte for both (the record's state has no byte to spare: 96
    /// bytes, a 128-byte entry).
    conn: u8,
    both: bool,
    closing: bool,
    /// How the first packet was decided: its verdict code (0 allowed, else
    /// its stage + 1) and audit flag ([`side_byte`]), and whether it went
    /// from the key's `a` to its `b` ([`SRC_IS_A`]).
    first_how: u8,
    /// How the first reply was decided ([`side_byte`]; none yet:
    /// [`NO_REPLY`]).
    reply_how: u8,
    /// Transport fields of the first packet.
    l4: L4,
    /// Where the scenario's tracker last held this record's connection
    /// ([`Flows::allowed_live`]; only a hint).
    conn_at: Hint,
    /// The first packet's deciding rules ([`Side`]).
    first_rules: [Option<RuleId>; 5],
    /// The first reply's (meaningless while there is none).
    reply_rules: [Option<RuleId>; 5],
    first_ns: u64,
    /// What else the pass keeps per record ([`Extra`]: nothing, or what
    /// changed between two scenarios).
    x: X,
}

/// [`FlowState::first_how`], [`FlowState::reply_how`]: the audit flag.
const AUDIT: u8 = 0x80;
/// [`FlowState::first_how`]: the first packet went from the key's `a` to
/// its `b`.
const SRC_IS_A: u8 = 0x40;
/// [`FlowState::first_how`], [`FlowState::reply_how`]: the verdict code
/// ([`DropReason::code`], at most 6).
const CODE: u8 = 0x3f;
/// [`FlowState::reply_how`]: no reply yet. Never a side's byte (a side's
/// has no [`SRC_IS_A`]), and its code bits are an allowed side's, so
/// that [`Flows::known_drop`] sends both to the tracker with one test.
const NO_REPLY: u8 = SRC_IS_A;

/// A side's code and audit flag in one byte.
#[inline(always)]
fn side_byte(s: &Side) -> u8 {
    (s.code & CODE) | if s.audit { AUDIT } else { 0 }
}

impl<X> FlowState<X> {
    /// The side of a packet in the first packet's direction, or in the
    /// reverse one (`reverse`; before a first reply, [`NO_REPLY`]'s:
    /// code 0, no rules), read in place.
    #[inline(always)]
    fn side_ref(&self, reverse: bool) -> SideRef<'_> {
        if reverse {
            SideRef {
                how: self.reply_how,
                rules: &self.reply_rules,
            }
        } else {
            SideRef {
                how: self.first_how,
                rules: &self.first_rules,
            }
        }
    }

    /// How the first packet was decided.
    #[inline(always)]
    fn first(&self) -> Side {
        self.side_ref(false).side()
    }

    /// How the first reply was decided (none yet: `None`).
    #[inline(always)]
    fn reply(&self) -> Option<Side> {
        self.has_reply().then(|| self.side_ref(true).side())
    }

    /// Whether a first reply came.
    #[inline(always)]
    fn has_reply(&self) -> bool {
        self.reply_how != NO_REPLY
    }

    /// The first side becomes `s` (the first packet's direction kept).
    #[inline]
    fn set_first(&mut self, s: &Side) {
        self.first_how = side_byte(s) | (self.first_how & SRC_IS_A);
        self.first_rules = s.rules;
    }

    /// The reply side becomes `s`.
    #[inline]
    fn set_reply(&mut self, s: &Side) {
        self.reply_how = side_byte(s);
        self.reply_rules = s.rules;
    }

    /// The first packet went from the key's `a` to its `b`.
    #[inline]
    fn src_is_a(&self) -> bool {
        self.first_how & SRC_IS_A != 0
    }

    /// The first packet's verdict code (0 allowed, else its stage + 1).
    #[inline]
    fn code(&self) -> u8 {
        self.first_how & CODE
    }
}

/// A closed flow record kept for the flow log, compact (the key and the
/// open record's state, 152 bytes against 208 for a [`FlowRecord`]; 143
/// in a spool's file, [`Spooled`]): it becomes a [`FlowRecord`] only when
/// it is handed to the sink, one at a time, in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Finished<X = ()> {
    key: StateKey,
    st: FlowState<X>,
    /// Position among the records this worker closed for the scenario
    /// ([`Tie`]): orders records whose sort keys are equal (the same flow
    /// key closed and reopened at the same time), which can only come from
    /// one shard.
    seq: u64,
}

/// The flow log's sort key of a record: first timestamp, then the 5-tuple.
fn tuple<X>(key: &StateKey, st: &FlowState<X>) -> SortKey {
    let (a, b) = key.addrs();
    let (src, dst) = if st.src_is_a() { (a, b) } else { (b, a) };
    let (sport, dport, icmp_type, icmp_code) = st.l4.fields();
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
fn order<X>(
    a: (&StateKey, &FlowState<X>, Tie),
    b: (&StateKey, &FlowState<X>, Tie),
) -> std::cmp::Ordering {
    a.1.first_ns
        .cmp(&b.1.first_ns)
        .then_with(|| tuple(a.0, a.1).cmp(&tuple(b.0, b.1)))
        .then(a.2.cmp(&b.2))
}

fn flow_record<X>(key: &FlowKey, st: &FlowState<X>) -> FlowRecord {
    let (src, dst) = if st.src_is_a() {
        (key.a, key.b)
    } else {
        (key.b, key.a)
    };
    let (sport, dport, icmp_type, icmp_code) = st.l4.fields();
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
        verdict: if st.code() == 0 {
            Verdict::Allow
        } else {
            Verdict::Drop
        },
        stage: code_stage(st.code()),
        community_id: CommunityId::default(),
        first: st.first().decided(),
        reply: st.reply().map(Side::decided),
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
pub(crate) struct Flows<X: Extra = ()> {
    /// One table per shard, made at its first record: an array, so that
    /// a shard's index (below [`SHARDS`]) needs no bounds check.
    tables: Box<[Option<ShardTable<FlowState<X>>>; SHARDS]>,
    cap: usize,
    keep: bool,
    /// The closed records kept (with `keep`), bounded in memory.
    finished: Spool<Finished<X>>,
    /// Records closed so far (the next [`Finished::seq`]).
    closed: u64,
    top: Vec<FlowRecord>,
    top_n: usize,
    /// Where the scenario's stand-ins are: a closed record whose drops
    /// are owed to one is counted ([`Counters::stand_in_dropped`]).
    owed: Option<Arc<StandInOwed>>,
    /// A record that held its connection ([`FlowState::conn`]), evicted
    /// by a new one: its connection's state, for the tracker
    /// ([`Flows::take_back`]).
    back: Option<(StateKey, Hint, HeldState)>,
    /// The scenario's table, under which a record's first side is judged
    /// again ([`unflip`]); `None` (a live pass, whose tables change, or a
    /// test): no record holds its connection in the connection's
    /// direction ([`FLIPPED`]).
    table: Option<Arc<Compiled>>,
}

/// [`FlowState::conn`]: the record holds its connection, whose verdict
/// for the first packet's direction is allowed and is the record's
/// `first` side.
const HOLDS_FIRST: u8 = 1;
/// [`FlowState::conn`]: the record holds its connection, whose verdict
/// for the reverse direction is allowed and is the record's `reply` side.
const HOLDS_REPLY: u8 = 2;
/// [`FlowState::conn`]: the record holds its connection.
const HELD: u8 = HOLDS_FIRST | HOLDS_REPLY;
/// [`FlowState::conn`]: no connection since the record opened.
pub(crate) const NO_CONN: u8 = 4;
/// [`FlowState::conn`]: the record could not hold its connection
/// ([`Flows::hold`] refused it, or [`Flows::take_held`] took it back) and
/// has not been through the slow path ([`Flows::packet`]) since: a live
/// packet served through the tracker ([`Flows::allowed_live`]) does not
/// try again. Only a hint (holding or not, outputs are the same). The
/// connection's initiator and cached verdicts and the record's sides
/// change only on the slow path, and a dropped packet there (which the
/// connection does not see) clears the bit, so the next allowed packet,
/// whose time makes both last times equal, tries again; what else could
/// end a difference of idle state (a FIN, a first reverse packet, both
/// seen alike) is left to the next slow packet. Tried on every packet, a
/// record that could not hold cost a second probe of the tracker's entry
/// each time (the thirty-first session's review; docs/benchmarks.md,
/// thirty-second session).
const HOLD_TRIED: u8 = 8;
/// [`FlowState::conn`]: the record's `first` side is what the table gives
/// its first packet judged as a first packet ([`Context::First`]): the
/// packet was exact (TCP or UDP with ports, under a table that never
/// changes) and no connection was held after it (it was dropped, and was
/// not the reply of a live connection). Set when the record opens, never
/// cleared: the side can be judged again from the record's key and
/// transport fields ([`unflip`]).
const FIRST_PLAIN: u8 = 16;
/// [`FlowState::conn`]: the record holds its connection ([`HELD`], both
/// bits) in the connection's direction, not its own: the connection's
/// initiator is the reverse of the record's first packet (a capture that
/// starts mid-connection: the record opened on a reply, dropped as a
/// first packet, and the connection was made by the next packet the other
/// way). While it holds, `first_forward` is the connection's initiator,
/// `first` the connection's verdict for it (the record's first reply
/// side) and `reply` its verdict for replies, so [`held_allowed`] serves
/// both directions as for any held record; [`unflip`] puts the record's
/// own back (the first side judged again, [`FIRST_PLAIN`]) when it stops
/// holding or closes. Set by [`Flows::hold`].
const FLIPPED: u8 = 32;

/// A held connection's idle state as the tracker keeps it: the time of
/// its last packet, both ways, closing ([`crate::conntrack::Conn`]).
pub(crate) type HeldState = (u64, bool, bool);

/// An allowed packet of a connection its record holds
/// ([`FlowState::conn`]), served from the record alone when the record
/// holds the verdict of the packet's direction (`forward` in the key's
/// order): what [`crate::judge::Tracker::known_allowed`], the worker's
/// count and [`Flows::allowed_live`] do for it, in one entry. The
/// connection's touch is the record's own update: while held, the
/// connection's `last_ns`, `both` and `closing` are the record's and
/// change as the record's do (the same maximum of times, the same reverse
/// direction, the same FIN or RST), and the record's timeout, already
/// looked at, is the connection's. `None`, nothing changed, when the
/// record does not hold that direction's verdict.
#[inline(always)]
fn held_allowed<'a, X>(
    r: &'a mut FlowState<X>,
    it: &Item,
    forward: bool,
    counters: &mut Counters,
) -> Option<SideRef<'a>> {
    // A packet to itself has one direction, never a reply.
    let reverse = forward != r.first_forward;
    let bit = if reverse { HOLDS_REPLY } else { HOLDS_FIRST };
    // HOLDS_REPLY is set only with a reply side.
    if r.conn & bit == 0 || (reverse && !r.has_reply()) {
        return None;
    }
    r.bytes += u64::from(it.wire_len);
    r.allowed += 1;
    r.last_ns = r.last_ns.max(it.ts_ns);
    r.both |= reverse;
    r.closing |= it.tcp_flags & (conntrack::TCP_FIN | conntrack::TCP_RST) != 0;
    let side = r.side_ref(reverse);
    counters.record_held(side.audit(), side.rules, it.wire_len, reverse);
    Some(side)
}

/// A record held in its connection's direction ([`FLIPPED`]) back in its
/// own: its first packet's direction, its first reply side (the
/// connection's initiator verdict, which `first` kept while held), and its
/// first side judged again under `table` (the first packet rebuilt from
/// the key and the transport fields: exact, [`FIRST_PLAIN`]). Nothing for
/// any other record. Once when a flipped record stops holding, off the
/// per-packet path.
#[cold]
#[inline(never)]
fn unflip<X>(r: &mut FlowState<X>, key: &StateKey, table: Option<&Compiled>) {
    if r.conn & FLIPPED == 0 {
        return;
    }
    r.conn &= !FLIPPED;
    r.first_forward = !r.first_forward;
    r.set_reply(&r.first());
    // Flipped only with a table (`Flows::hold`).
    if let Some(table) = table {
        let (a, b) = key.addrs();
        let (src, dst) = if r.src_is_a() { (a, b) } else { (b, a) };
        let p = Packet {
            src,
            dst,
            proto: key.proto(),
            l4: r.l4,
        };
        r.set_first(&Side::judged(&table.judge(&p, Context::First)));
    }
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

impl<X: Extra> Flows<X> {
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
        owed: Option<Arc<StandInOwed>>,
    ) -> Flows<X> {
        Flows {
            tables: Box::new(std::array::from_fn(|_| None)),
            cap: (max_records / SHARDS).max(1),
            keep,
            finished: Spool::new(spool, spool_dir),
            closed: 0,
            top: Vec::new(),
            top_n,
            owed,
            back: None,
            table: None,
        }
    }

    /// Lets a record hold its connection in the connection's direction
    /// ([`FLIPPED`]), its first side judged again under `table` when it
    /// stops: only for a table that never changes during the pass (the
    /// one every packet is judged with).
    pub(crate) fn judged_under(mut self, table: &Arc<Compiled>) -> Flows<X> {
        self.table = Some(Arc::clone(table));
        self
    }

    /// Bytes of one open record's state (for tests: what a compared pass
    /// adds per live flow, [`Extra`]).
    #[cfg(test)]
    pub(crate) fn record_bytes(&self) -> usize {
        size_of::<FlowState<X>>()
    }

    /// Open records that hold their connection, and of those the ones
    /// that hold it in the connection's direction ([`FLIPPED`]) (for
    /// tests).
    #[cfg(test)]
    pub(crate) fn holding(&self) -> (usize, usize) {
        let held = self.tables.iter().flatten().flat_map(ShardTable::values);
        held.fold((0, 0), |(n, f), r| {
            (
                n + usize::from(r.conn & HELD != 0),
                f + usize::from(r.conn & FLIPPED != 0),
            )
        })
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

    /// Hints the cache about a coming [`Flows::known_drop`] of `key` in `shard`
    /// ([`ShardTable::prefetch`]).
    #[inline(always)]
    pub(crate) fn prefetch(&self, shard: u16, key: &StateKey, h: u64) {
        if let Some(Some(t)) = self.tables.get(usize::from(shard) % SHARDS) {
            t.prefetch(key, h);
        }
    }

    /// Finds the packet's open record (`key`, `h` its hash) and, when it
    /// can, serves the packet from it: the verdict of a packet of an
    /// exact record that holds no connection (see [`NO_CONN`]),
    /// when the record already has it, counted and added to the record:
    /// the first packet's verdict when `forward` is the first packet's
    /// direction, the first reply's otherwise (most packets of generated
    /// and scanned traffic). Exact because the table never changes under
    /// a tracker with a memo (the only one the worker asks this for): the
    /// same packet judged as a first packet gets the same verdict, and a
    /// dropped one creates no connection.
    ///
    /// What the tracker, [`Counters::record`] and [`Flows::packet`] would
    /// do for it, in one step: the record is found, read and updated
    /// through one look-up, its timeout looked at once, the drop counted
    /// from the record's [`Side`] (no [`Fast`] built and taken apart), and
    /// the direction is the connection key's (`forward` against the first
    /// packet's), which for an exact record is [`conntrack::reverses`]
    /// without comparing addresses.
    ///
    /// And an allowed packet of a connection the record holds
    /// ([`FlowState::conn`], [`held_allowed`]): counted and added to the
    /// record, the connection's touch being the record's own update, with
    /// no read of the connection's entry (the tracker's table is another
    /// array: two entries, ~5 MB for 20,000 flows, more than a core's L2,
    /// where a dropped packet read one; docs/benchmarks.md, thirtieth
    /// session).
    ///
    /// `Ok` with how the packet was decided; else nothing changed and
    /// `Err` says what was found, for the slow path ([`Open`]: the slot is
    /// valid until this table changes; the tracker's tables are others).
    /// `exact`: the packet's flow key is its connection key, with ports
    /// not both 0, under a table that never changes (the worker's
    /// `exact`); otherwise only found.
    ///
    /// Always inlined into the worker's per-packet path: left to the
    /// compiler it was called out of line once the worker's first scenario
    /// got a type of its own, +5 instructions a packet on `replay`
    /// (callgrind, docs/benchmarks.md, sixteenth session).
    #[inline(always)]
    pub(crate) fn known_drop(
        &mut self,
        it: &Item,
        (key, h): (&StateKey, u64),
        (exact, forward): (bool, bool),
        counters: &mut Counters,
    ) -> Result<SideRef<'_>, Open> {
        let Some(Some(t)) = self.tables.get_mut(usize::from(it.shard) % SHARDS) else {
            return Err(Open::None);
        };
        let Some((slot, r)) = t.find_mut(key, h) else {
            return Err(Open::None);
        };
        if !exact
            || it.ts_ns.saturating_sub(r.last_ns)
                > conntrack::timeout_ns(it.packet.proto, r.both, r.closing)
        {
            if r.conn & HELD != 0 {
                return Err(Open::Held(slot, r.conn_at));
            }
            return Err(Open::Other(slot));
        }
        if r.conn & NO_CONN == 0 {
            if r.conn & HELD == 0 {
                return Err(Open::Live(slot, r.conn_at));
            }
            let at = r.conn_at;
            return held_allowed(r, it, forward, counters).ok_or(Open::Held(slot, at));
        }
        // Same key, other direction: the first packet's reverse (a packet
        // to itself has one direction, never a reply).
        let reverse = forward != r.first_forward;
        // An allowed side, or no reply side yet (only the reverse's can
        // be missing: [`NO_REPLY`]'s code bits are 0).
        if r.side_ref(reverse).code() == 0 {
            return Err(Open::Live(slot, r.conn_at));
        }
        r.bytes += u64::from(it.wire_len);
        r.dropped += 1;
        r.last_ns = r.last_ns.max(it.ts_ns);
        // A reply side is set: `reply` stays as it is.
        r.both |= reverse;
        r.closing |= it.tcp_flags & (conntrack::TCP_FIN | conntrack::TCP_RST) != 0;
        let side = r.side_ref(reverse);
        counters.record_drop(side.code(), side.audit(), side.rules, it.wire_len);
        Ok(side)
    }

    /// Adds an allowed packet (its decision `side`, `forward` its
    /// direction in the connection key's order) to the live record
    /// [`Flows::known_drop`] found as [`Open::Live`]: what
    /// [`Flows::packet`] does for it with a connection held, in fewer
    /// steps (the record is known live and exact, so the timeout is not
    /// looked at again and the direction is `forward` against the first
    /// packet's, which for an exact record is [`conntrack::reverses`]).
    /// `conn_at`: where the tracker holds the connection now. Returns
    /// whether the record may try to hold its connection ([`Flows::hold`]):
    /// not when it tried since its last packet of the slow path
    /// ([`HOLD_TRIED`]).
    #[inline]
    pub(crate) fn allowed_live(
        &mut self,
        it: &Item,
        slot: Slot,
        forward: bool,
        side: Side,
        conn_at: Hint,
    ) -> bool {
        let Some(Some(t)) = self.tables.get_mut(usize::from(it.shard) % SHARDS) else {
            return false;
        };
        let Some(r) = t.get_mut(slot) else {
            return false;
        };
        r.bytes += u64::from(it.wire_len);
        r.allowed += 1;
        r.last_ns = r.last_ns.max(it.ts_ns);
        r.conn &= !NO_CONN;
        r.conn_at = conn_at;
        if !r.both {
            // A packet to itself has one direction, never a reply.
            let reverse = forward != r.first_forward;
            if reverse && !r.has_reply() {
                r.set_reply(&side);
            }
            r.both |= reverse;
        }
        r.closing |= it.tcp_flags & (conntrack::TCP_FIN | conntrack::TCP_RST) != 0;
        // Found live, the record holds nothing (`Open::Live`): `conn` is
        // at most HOLD_TRIED and FIRST_PLAIN.
        r.conn & HOLD_TRIED == 0
    }

    /// Lets the live record at `slot` (in `shard`) hold its connection
    /// ([`FlowState::conn`]) after a packet served through the tracker
    /// ([`Flows::allowed_live`]), `conn` the connection as the tracker
    /// holds it now: only when the connection's idle state is the
    /// record's (the same last time, both ways and closing) and its
    /// initiator the first packet's direction, so that both change alike
    /// from here on; each direction's bit only when the connection caches
    /// an allowed verdict for it that is the record's side of it (the same
    /// audit flag and deciding rules). When the initiator is the first
    /// packet's reverse (a record opened mid-connection): both ways or
    /// not at all, in the connection's direction ([`FLIPPED`]), when the
    /// record's first reply side is the initiator's cached verdict, the
    /// connection caches an allowed verdict for replies, and the record's
    /// first side can be judged again ([`FIRST_PLAIN`], under this
    /// [`Flows::judged_under`] table). Otherwise the record notes that it
    /// tried ([`HOLD_TRIED`]). Once a flow, off the per-packet path.
    #[inline(never)]
    pub(crate) fn hold(&mut self, shard: u16, slot: Slot, conn: &crate::judge::HeldConn) {
        let Some(Some(t)) = self.tables.get_mut(usize::from(shard) % SHARDS) else {
            return;
        };
        let Some(r) = t.get_mut(slot) else {
            return;
        };
        if r.conn & !FIRST_PLAIN != 0 {
            return;
        }
        /// `bit` when the connection's cached verdict `v` is the record's
        /// `side`.
        #[inline(always)]
        fn same(side: Option<Side>, v: Option<(bool, [Option<RuleId>; 5])>, bit: u8) -> u8 {
            let fits = matches!((side, v), (Some(s), Some((audit, rules)))
                if s.code == 0 && s.audit == audit && s.rules == rules);
            if fits { bit } else { 0 }
        }
        let [first, reply] = conn.allowed;
        let plain = r.conn & FIRST_PLAIN;
        let held = if conn.state != (r.last_ns, r.both, r.closing) {
            0
        } else if conn.initiator_forward == r.first_forward {
            same(Some(r.first()), first, HOLDS_FIRST) | same(r.reply(), reply, HOLDS_REPLY)
        } else {
            // The connection's initiator is the record's reverse: held in
            // the connection's direction ([`FLIPPED`]), both ways, when the
            // record's first side can be judged again, its first reply is
            // the initiator's cached verdict, and replies have one.
            match (reply, r.reply()) {
                (Some((audit, rules)), Some(back))
                    if plain != 0
                        && self.table.is_some()
                        && same(Some(back), first, HOLDS_FIRST) != 0 =>
                {
                    r.first_forward = !r.first_forward;
                    r.set_first(&back);
                    r.set_reply(&Side {
                        code: 0,
                        audit,
                        rules,
                    });
                    HELD | FLIPPED
                }
                _ => 0,
            }
        };
        r.conn = plain | if held == 0 { HOLD_TRIED } else { held };
    }

    /// The connection state the record at `slot` (in `shard`) holds, if
    /// it holds it ([`FlowState::conn`]), for the tracker: the record no
    /// longer holds it, nor tries again before its next packet of the slow
    /// path ([`HOLD_TRIED`]: a record that holds one direction only would
    /// otherwise hold again after each packet of the other, handed back
    /// and served through the tracker). What every path but the held one
    /// does first.
    /// `key`: the record's (its first side may be judged again,
    /// [`unflip`]).
    #[inline(never)]
    pub(crate) fn take_held(
        &mut self,
        shard: u16,
        key: &StateKey,
        slot: Slot,
    ) -> Option<HeldState> {
        let Some(Some(t)) = self.tables.get_mut(usize::from(shard) % SHARDS) else {
            return None;
        };
        let r = t.get_mut(slot)?;
        if r.conn & HELD == 0 {
            return None;
        }
        unflip(r, key, self.table.as_deref());
        r.conn = (r.conn & !HELD) | HOLD_TRIED;
        Some((r.last_ns, r.both, r.closing))
    }

    /// The tracker evicted the connection under `key` (hash `h`, in
    /// `shard`): its record, if open, no longer holds it (there is nothing
    /// to hand back).
    #[cold]
    #[inline(never)]
    pub(crate) fn release(&mut self, shard: u16, key: &StateKey, h: u64) {
        if let Some(Some(t)) = self.tables.get_mut(usize::from(shard) % SHARDS)
            && let Some((_, r)) = t.find_mut(key, h)
        {
            unflip(r, key, self.table.as_deref());
            r.conn &= !HELD;
        }
    }

    /// The connection state of a record that held it and was evicted by
    /// [`Flows::packet`] (its key, where the tracker last held it, its
    /// state), for the tracker.
    ///
    /// Looked at before it is taken: `Option::take` writes the empty value
    /// back every time, on the path of every new flow.
    #[inline(always)]
    pub(crate) fn take_back(&mut self) -> Option<(StateKey, Hint, HeldState)> {
        self.back.as_ref()?;
        self.back.take()
    }

    /// Adds a judged packet (its decision `side`) to its flow record, found
    /// by [`Flows::known_drop`] as `found`; `key` is the packet's flow key and
    /// `h` its hash, `forward` its direction in the connection key's
    /// order. `exact`: the packet has ports and its connection key is
    /// `key`; `conn`: the tracker holds a connection under that key after
    /// this packet.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn packet(
        &mut self,
        it: &Item,
        key: &StateKey,
        h: u64,
        found: Option<Slot>,
        side: Side,
        (forward, exact, conn): (bool, bool, bool),
        counters: &mut Counters,
    ) {
        let code = side.code;
        let allowed = code == 0;
        let p = &it.packet;
        let cap = self.cap;
        let Some(slot) = self.tables.get_mut(usize::from(it.shard) % SHARDS) else {
            return;
        };
        let table = slot.get_or_insert_with(|| ShardTable::new(cap));
        let fin = it.tcp_flags & (conntrack::TCP_FIN | conntrack::TCP_RST) != 0;
        // The record found before the packet was judged; an expired one is
        // closed and a new record started.
        let mut done = None;
        if let Some(found) = found {
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
                // The slow path: the record may try to hold again.
                r.conn &= !(HOLD_TRIED | if conn { NO_CONN } else { 0 });
                // The reverse direction of the first packet: addresses and
                // ports swapped (a packet to itself is never a reply). Once
                // one has come (`both`), it changes nothing more: not
                // looked at again.
                if !r.both {
                    let (ka, kb) = key.addrs();
                    let (first_src, first_dst) = if r.src_is_a() { (ka, kb) } else { (kb, ka) };
                    let reverse = conntrack::reverses(p, first_src, first_dst, r.l4);
                    if reverse && !r.has_reply() {
                        r.set_reply(&side);
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
            first_how: side_byte(&side) | if key.first_is(&p.src) { SRC_IS_A } else { 0 },
            first_forward: forward,
            conn: if exact && !conn {
                NO_CONN | FIRST_PLAIN
            } else {
                0
            },
            conn_at: Hint::NONE,
            first_rules: side.rules,
            reply_how: NO_REPLY,
            reply_rules: [None; 5],
            both: false,
            closing: p.proto == proto::TCP && fin,
            x: X::default(),
        };
        let mut evicted = None;
        table.insert_evicting(*key, h, st, |k, old| evicted = Some((k, old)));
        if let Some((k, old)) = evicted {
            counters.flows_evicted += 1;
            if old.conn & HELD != 0 {
                self.back = Some((k, old.conn_at, (old.last_ns, old.both, old.closing)));
            }
            self.finish_flow(k, &old, counters);
        }
        if let Some(r) = done {
            self.finish_flow(*key, &r, counters);
        }
    }

    /// Notes a packet's verdict codes under the two scenarios compared
    /// (`codes`: first scenario's, this one's) in its open record, which
    /// [`Flows::packet`] or the paths before it have just updated (`h` the
    /// hash of its flow key): what changed, for `diff` ([`Change`]). One
    /// more probe of a slot just touched; nothing for `X = ()`.
    #[inline]
    pub(crate) fn note(&mut self, it: &Item, h: u64, codes: [u8; 2]) {
        let Some(Some(t)) = self.tables.get_mut(usize::from(it.shard) % SHARDS) else {
            return;
        };
        if let Some((_, r)) = t.find_mut(&it.keys.flow, h) {
            let src_is_a = it.keys.flow.first_is(&it.packet.src);
            r.x.note(src_is_a, it.packet.l4, codes);
        }
    }

    /// Closes a flow record: counted, kept for `--flows`, and considered
    /// for the top dropped flows (Community ID computed only when kept).
    fn finish_flow(&mut self, key: StateKey, st: &FlowState<X>, counters: &mut Counters) {
        let own;
        let st = if st.conn & FLIPPED == 0 {
            st
        } else {
            // Closed while it held its connection in the connection's
            // direction (evicted, or open at the end): its own sides back.
            let mut r = *st;
            unflip(&mut r, &key, self.table.as_deref());
            own = r;
            &own
        };
        counters.flows += 1;
        let seq = self.closed;
        self.closed += 1;
        if self.keep {
            self.finished.push(Finished { key, st: *st, seq });
        }
        if st.dropped == 0 || (self.owed.is_none() && self.top_n == 0) {
            return;
        }
        // Without stand-ins, the record is made only when it may enter the
        // top: a full top's worst record ranks before it by its drops and
        // first time alone (the top key's first fields) when it cannot.
        // Made and compared whole, it was ~160 instructions a closed
        // record with drops (every one of 1M distinct dropped flows at
        // the end of a pass; docs/benchmarks.md, thirty-first session).
        if self.owed.is_none()
            && self.top.len() >= self.top_n
            && self.top.last().is_some_and(|w| {
                (std::cmp::Reverse(st.dropped), st.first_ns)
                    > (std::cmp::Reverse(w.dropped_packets), w.first_ns)
            })
        {
            return;
        }
        let r = flow_record(&flow_key(&key), st);
        // Once per closed record with drops, never per packet.
        if self.owed.as_ref().is_some_and(|o| o.owes(&r)) {
            counters.stand_in_dropped += st.dropped;
            counters.stand_in_dropped_flows += 1;
        }
        if self.top_n > 0 {
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
    pub(crate) fn finish(mut self, counters: &mut Counters) -> (Kept<X>, Vec<FlowRecord>) {
        self.close_open(counters);
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

    /// Closes every open record, oldest first, as at the end of the pass
    /// (a shard's table freed once drained; again, nothing).
    pub(crate) fn close_open(&mut self, counters: &mut Counters) {
        for s in 0..SHARDS {
            if let Some(mut t) = self.tables.get_mut(s).and_then(Option::take) {
                // Counted and considered for the top as if closed now, oldest
                // first; each one's [`Finished::seq`] is past every record
                // closed during the pass, so a record closed and reopened
                // with an equal sort key keeps its place.
                t.drain_each(|k, r| self.finish_flow(k, &r, counters));
            }
        }
    }
}

/// One worker's kept records of one scenario at the end of the pass: its
/// spool's sorted runs (or the spool's error).
pub(crate) struct Kept<X: Extra = ()> {
    closed: Result<Vec<Cursor<Finished<X>>>, SpoolError>,
    /// What the spool did.
    pub(crate) spool: SpoolStats,
}

impl<X: Extra> Kept<X> {
    /// Records kept.
    pub(crate) fn len(&self) -> usize {
        self.closed
            .as_ref()
            .map_or(0, |c| c.iter().map(Cursor::remaining).sum::<usize>())
    }
}

/// The kept records of one scenario (one [`Kept`] per worker) in the flow
/// log's order: the spools' sorted runs (most in temporary files, the last
/// of each in memory) merged through a heap of their heads, one record at
/// a time.
pub(crate) struct Merge<X: Extra> {
    runs: Vec<Cursor<Finished<X>>>,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<(SortKey, Tie, usize)>>,
}

impl<X: Extra> Merge<X> {
    /// The merge of `kept`.
    ///
    /// # Errors
    /// A spool's I/O error.
    pub(crate) fn new(kept: Vec<Kept<X>>) -> Result<Merge<X>, SpoolError> {
        let mut runs: Vec<Cursor<Finished<X>>> = Vec::new();
        for k in kept {
            runs.extend(k.closed?);
        }
        let mut heap = std::collections::BinaryHeap::with_capacity(runs.len());
        for (r, run) in runs.iter().enumerate() {
            if let Some(f) = run.head() {
                heap.push(std::cmp::Reverse((tuple(&f.key, &f.st), f.seq, r)));
            }
        }
        Ok(Merge { runs, heap })
    }

    /// The next record in order, `None` after the last.
    ///
    /// # Errors
    /// A spool's I/O error.
    pub(crate) fn next(&mut self) -> Result<Option<Finished<X>>, SpoolError> {
        while let Some(std::cmp::Reverse((_, _, r))) = self.heap.pop() {
            let Some(run) = self.runs.get_mut(r) else {
                continue;
            };
            let f = run.head().copied();
            run.advance()?;
            if let Some(n) = run.head() {
                self.heap
                    .push(std::cmp::Reverse((tuple(&n.key, &n.st), n.seq, r)));
            }
            if f.is_some() {
                return Ok(f);
            }
        }
        Ok(None)
    }
}

impl<X> Finished<X> {
    /// The flow log's record (Community ID computed here).
    fn record(&self) -> FlowRecord {
        let key = flow_key(&self.key);
        let mut rec = flow_record(&key, &self.st);
        rec.community_id = key.community_id_compact(0);
        rec
    }
}

/// Hands every kept record of one scenario (one [`Kept`] per worker) to
/// `emit` as a [`FlowRecord`], in the flow log's order ([`Merge`]), so each
/// [`FlowRecord`] lives only while `emit` has it, until `stop` says so
/// (looked at before each record): whether it stopped before the last.
///
/// # Errors
/// The first error `emit` returns, or a spool's I/O error.
pub(crate) fn merge_ordered<X: Extra, E: From<SpoolError>>(
    kept: Vec<Kept<X>>,
    stop: &dyn Fn() -> bool,
    emit: &mut impl FnMut(FlowRecord) -> Result<(), E>,
) -> Result<bool, E> {
    let mut m = Merge::new(kept)?;
    while let Some(f) = m.next()? {
        if stop() {
            return Ok(true);
        }
        emit(f.record())?;
    }
    Ok(false)
}

/// Records of a compared pass that a full disk left out of one worker's
/// spools ([`line_up`]): the two scenarios keep the same first `kept`.
#[derive(Debug)]
pub(crate) struct SpoolCut {
    /// The write that failed.
    pub(crate) error: SpoolError,
    /// Records kept, the same in both scenarios.
    pub(crate) kept: u64,
    /// Records the worker closed.
    pub(crate) total: u64,
}

/// Lines up one worker's two scenarios of a compared pass once every
/// record is closed ([`Flows::close_open`]), when a write of either spool
/// failed (a full disk): each had kept the records pushed before its own
/// failed write, and a record's twin is pushed at the same place in the
/// other (they close alike, `seq` for `seq`), so both keep the first of
/// them that both hold ([`Spool::keep_first`]). `None` when no write
/// failed.
///
/// Why the twins close alike: a worker hands every packet to both
/// scenarios' [`Flows`] (`Worker::handle`), and what opens, closes and
/// orders a record reads the packet only, never its verdict. A record
/// closes when a packet comes past its idle timeout
/// ([`conntrack::timeout_ns`] of the protocol, `both` and `closing`, and
/// `last_ns`: each path, [`Flows::known_drop`], [`Flows::allowed_live`]
/// and [`Flows::packet`], sets them from the packet's direction, flags
/// and time alone, dropped or allowed), when a new record evicts the
/// oldest by insertion (`ShardTable::insert`; a look-up moves nothing),
/// or at the end, drained by insertion ([`Flows::close_open`]); both
/// spools have the same bound. Tested with every packet allowed on one
/// side and dropped on the other, across timeouts, FIN and RST,
/// evictions and spills (`tests/engine_splits_and_orders.rs`), and
/// checked per record where the pairs are merged (`merge_pairs`: an
/// internal error otherwise).
pub(crate) fn line_up<Y: Extra>(a: &mut Flows<()>, b: &mut Flows<Y>) -> Option<SpoolCut> {
    if !a.finished.failed() && !b.finished.failed() {
        return None;
    }
    let (ea, eb) = (a.finished.recover(), b.finished.recover());
    let error = ea.or(eb)?;
    let mut kept = a.finished.held().min(b.finished.held());
    if !(a.finished.keep_first(kept) && b.finished.keep_first(kept)) {
        // Not cut at a run's end (runs are written at the same pushes in
        // both): compare none rather than records of one side only.
        kept = 0;
        a.finished.keep_first(0);
        b.finished.keep_first(0);
    }
    Some(SpoolCut {
        error,
        kept,
        total: a.closed,
    })
}

#[cfg(test)]
mod top_tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn state(dropped: u64, allowed: u64, first_ns: u64, port: u16) -> FlowState {
        let side = Side {
            code: 3,
            audit: false,
            rules: [None; 5],
        };
        FlowState {
            last_ns: first_ns,
            bytes: 64 * (dropped + allowed),
            allowed,
            dropped,
            first_forward: true,
            conn: NO_CONN,
            both: false,
            closing: false,
            conn_at: Hint::NONE,
            first_how: side_byte(&side) | SRC_IS_A,
            first_rules: side.rules,
            reply_how: NO_REPLY,
            reply_rules: [None; 5],
            first_ns,
            l4: L4::Ports {
                sport: port,
                dport: 443,
            },
            x: (),
        }
    }

    /// The top dropped flows a worker keeps, with the records it skips
    /// making (a full top's worst ranks before them by drops and first
    /// time), are the first of every closed record with drops in the top
    /// order: ties of drops and first time broken by the 5-tuple, records
    /// closed in every order.
    #[test]
    fn the_top_dropped_flows_are_the_first_of_all_records_in_top_order() {
        for top_n in [1, 3, 8] {
            for order in 0..3u64 {
                let mut f = Flows::<()>::new(1 << 12, false, 1 << 10, None, top_n, None);
                let mut counters = Counters::default();
                let mut all = Vec::new();
                for i in 0..200u64 {
                    let j = match order {
                        0 => i,
                        1 => 199 - i,
                        _ => (i * 37) % 200,
                    };
                    // Few distinct drop counts and first times: many ties.
                    let st = state(j % 4, j % 2, 1_000 * (j % 5), u16::try_from(j).unwrap_or(0));
                    let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, u8::try_from(j % 7).unwrap_or(0)));
                    let b = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1));
                    let key = StateKey::new(a, b, 6, Some((st.l4.fields().0.unwrap_or(0), 443)));
                    if st.dropped > 0 {
                        all.push(flow_record(&flow_key(&key), &st));
                    }
                    f.finish_flow(key, &st, &mut counters);
                }
                all.sort_by_key(FlowRecord::top_key);
                all.truncate(top_n);
                assert_eq!(f.top, all, "top {top_n}, order {order}");
            }
        }
    }
}
