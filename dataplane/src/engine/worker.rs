//! A worker: the shards it owns, judged against every scenario of the
//! pass, each with its own tracker, counters, rule hits and flow records.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use hdrhistogram::Histogram;
use zprsim_control::compile::Compiled;

use crate::drop_reason::DropReason;
use crate::judge::{Counters, Tracker};

use crate::state_table::{Hint, KeyHasher, Slot};

use super::flows::{self, Extra, FlowRecord, Flows, Kept, Open, Side};
use super::live::{Live, PUBLISH_EVERY};
use super::rule_stats::RuleTally;
use super::{EngineConfig, Item, ResultBatch, WorkBatch, WorkRec};

/// How many packets ahead of the one judged a worker parses, hashes and
/// prefetches the table slots of (docs/benchmarks.md, tenth pass).
const AHEAD: usize = 8;

/// One scenario's state in one worker (`X`: what its flow records keep
/// beyond their counts, [`Extra`]).
struct Judge<X: Extra> {
    compiled: Arc<Compiled>,
    tracker: Tracker,
    flows: Flows<X>,
    counters: Counters,
    /// Per-rule packets, flows and times (with [`EngineConfig::rule_stats`]).
    rules: Option<RuleTally>,
}

impl<X: Extra> Judge<X> {
    /// One packet against this scenario (see [`Worker::handle`]): its
    /// verdict code, and whether it found no open flow record.
    #[inline(always)]
    fn packet(&mut self, it: &Item, fh: u64, exact: bool, hasher: &KeyHasher) -> (u8, bool) {
        match self.flows.known_drop(
            it,
            (&it.keys.flow, fh),
            (exact, it.keys.forward()),
            &mut self.counters,
        ) {
            Ok(side) => {
                if let Some(t) = &mut self.rules {
                    t.packet(
                        (&it.packet, it.flags()),
                        it.ts_ns,
                        &side.as_fast(),
                        (fh, usize::from(it.shard)),
                    );
                }
                (side.code(), false)
            }
            Err(Open::Live(slot, hint)) => {
                let forward = it.keys.forward();
                let p = &it.packet;
                match self.tracker.known_allowed(
                    usize::from(it.shard),
                    (&it.keys.flow, fh, hint),
                    forward,
                    (p.proto, it.ts_ns, it.tcp_flags),
                    &mut self.counters,
                ) {
                    Some((fast, at)) => {
                        self.counters.record(&fast, it.wire_len);
                        if let Some(t) = &mut self.rules {
                            t.packet(
                                (p, it.flags()),
                                it.ts_ns,
                                &fast,
                                (fh, usize::from(it.shard)),
                            );
                        }
                        if self
                            .flows
                            .allowed_live(it, slot, forward, Side::of(0, &fast), at)
                        {
                            self.hold(it, fh, slot, at);
                        }
                        (0, false)
                    }
                    None => (self.judge(it, fh, Some(slot), exact, hasher), false),
                }
            }
            Err(Open::Held(slot, hint)) => self.hand_back(it, (fh, exact, hasher), (slot, hint)),
            Err(found) => {
                let found = found.slot();
                (self.judge(it, fh, found, exact, hasher), found.is_none())
            }
        }
    }

    /// A record that holds its connection could not serve the packet
    /// ([`Open::Held`]: its `slot`, and `hint` where the tracker last held
    /// the connection): the connection's state goes back to the tracker,
    /// and the packet is judged again from the start ([`Judge::packet`]),
    /// its record now one that does not hold it. Out of line, called
    /// from the match on the record's answer: handled before that match,
    /// the answer was kept in memory, and each dropped packet served from
    /// its record paid ~8 instructions more (callgrind, thirtieth
    /// session).
    #[cold]
    #[inline(never)]
    fn hand_back(
        &mut self,
        it: &Item,
        (fh, exact, hasher): (u64, bool, &KeyHasher),
        (slot, hint): (Slot, Hint),
    ) -> (u8, bool) {
        if let Some(st) = self.flows.take_held(it.shard, &it.keys.flow, slot) {
            self.tracker
                .put_back(usize::from(it.shard), (&it.keys.flow, fh, hint), st);
        }
        self.packet(it, fh, exact, hasher)
    }

    /// After a packet served through the tracker from its live record at
    /// `slot` (the connection at `at`): the record holds the connection
    /// from now on when it can ([`Flows::hold`]), so that the next packets
    /// read one entry. Out of line: once a flow (a record that cannot hold
    /// tries again only after its next packet of the slow path,
    /// [`Flows::allowed_live`]).
    #[inline(never)]
    fn hold(&mut self, it: &Item, fh: u64, slot: Slot, at: Hint) {
        if let Some(c) = self
            .tracker
            .held_conn(usize::from(it.shard), (&it.keys.flow, fh, at))
        {
            self.flows.hold(it.shard, slot, &c);
        }
    }

    /// Judges a packet the flow record could not serve (its record `found`
    /// before, `fh` its flow key's hash): the tracker (connection probe,
    /// cached or memo verdict, or the table walk), counters, rule
    /// statistics and the flow record. Returns the verdict code.
    ///
    /// Out of line: most packets of a known flow take
    /// [`Flows::known_drop`] instead, and with this inlined beside it the
    /// worker's per-packet function kept some 70 loads and stores of
    /// the packet's fields that only this path needs (callgrind,
    /// docs/benchmarks.md, eleventh pass).
    #[inline(never)]
    fn judge(
        &mut self,
        it: &Item,
        fh: u64,
        found: Option<Slot>,
        exact: bool,
        hasher: &KeyHasher,
    ) -> u8 {
        // The keys and their hashes, once for the connection and flow
        // tables and the rule statistics (for TCP and UDP the connection
        // key is the flow key: one hash, `fh`, made when the packet was
        // prefetched).
        let keys = &it.keys;
        let fkey = &keys.flow;
        // The connection key: the flow key itself (TCP, UDP), or made
        // again from the packet (ICMP, other protocols).
        let other;
        let conn = match keys.conn(&it.packet) {
            Some((None, forward)) => Some((fkey, forward, fh)),
            Some((Some(k), forward)) => {
                other = k;
                Some((&other, forward, hasher.hash(&other)))
            }
            None => None,
        };
        let forward = conn.is_some_and(|c| c.1);
        let shard = usize::from(it.shard);
        // A new flow in a shard holding no connection (every packet while
        // nothing is allowed): judged as a first packet, no probe.
        let (fast, held) = match conn {
            Some(c) if found.is_none() && self.tracker.holds_none(shard) => {
                self.tracker.judge_fresh(
                    (&self.compiled, &it.packet),
                    (shard, (it.ts_ns, it.tcp_flags)),
                    &mut self.counters,
                    c,
                )
            }
            _ => self.tracker.judge_keyed(
                &self.compiled,
                &it.packet,
                shard,
                it.ts_ns,
                it.tcp_flags,
                &mut self.counters,
                conn,
                found.is_none(),
            ),
        };
        // A connection evicted for this one: its record, if open, may hold
        // it (and must not serve its packets any more).
        if held && let Some(k) = self.tracker.take_evicted() {
            self.flows.release(it.shard, &k, hasher.hash(&k));
        }
        self.counters.record(&fast, it.wire_len);
        if let Some(t) = &mut self.rules {
            t.packet(
                (&it.packet, it.flags()),
                it.ts_ns,
                &fast,
                (fh, usize::from(it.shard)),
            );
        }
        let side = Side::judged(&fast);
        self.flows.packet(
            it,
            fkey,
            fh,
            found,
            side,
            (forward, exact, held),
            &mut self.counters,
        );
        // A record evicted for this one held its connection: the
        // connection's state goes back to the tracker.
        if let Some((k, hint, st)) = self.flows.take_back() {
            self.tracker
                .put_back(shard, (&k, hasher.hash(&k), hint), st);
        }
        side.code()
    }
}

/// A worker's state: for each scenario, its shards' tables and counters.
///
/// The first scenario's flow records keep nothing more (`Judge<()>`,
/// replay's records), whatever the pass: in a compared pass (`diff`) only
/// the second scenario's records note what changed ([`Extra`]), so the
/// first's would carry a [`super::flows::Change`] they never use (40
/// bytes per live flow).
pub(crate) struct Worker<X: Extra = ()> {
    /// The first scenario's state.
    first: Judge<()>,
    /// The other scenarios' (none for `replay`; the second for `diff`).
    others: Vec<Judge<X>>,
    hasher: KeyHasher,
    pub(crate) hist: Histogram<u64>,
    /// Per packet: each batch's time over its size, counted once per packet.
    pub(crate) packet_hist: Histogram<u64>,
    /// A live pass ([`EngineConfig::live`]).
    live: Option<LiveState>,
    /// Whether packets are prefetched ahead ([`Worker::prefetch`]): when
    /// at least one in [`PREFETCH_WHEN`] of the last batch's packets
    /// opened a flow record (where the misses are); a batch of known flows
    /// finds its tables in cache and would pay the hints for nothing. Only
    /// a hint either way: outputs do not depend on it.
    prefetching: bool,
    /// Packets of the current batch that opened a flow record.
    opened: usize,
    /// Wall time spent judging batches, nanoseconds.
    pub(crate) busy_ns: u64,
    /// TCP packets judged without their flags, the capture cut inside
    /// their TCP header ([`Item::tcp_header_cut`]): counted per packet in
    /// `tcp_header_cut_batch` (one add, no branch), then per input index
    /// once a batch (grown only by a batch that holds such packets).
    tcp_header_cut: Vec<u64>,
    /// Those of the batch being judged.
    tcp_header_cut_batch: u64,
}

/// See [`Worker::prefetching`].
const PREFETCH_WHEN: usize = 8;

/// A worker's side of a live pass.
struct LiveState {
    hook: Arc<Live>,
    /// The generation of the tables judged with.
    generation: u64,
    /// When the counters were last published.
    last: Instant,
    /// Counted since then.
    dirty: bool,
}

/// What one scenario's state tables held and allocated at the end of a
/// pass (before the open flow records were closed), summed over workers:
/// the figures the memory bound is about (docs/architecture.md, "State
/// tables").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateSizes {
    /// Connection entries held.
    pub connections: usize,
    /// Connection table index slots allocated (8 bytes each).
    pub connection_slots: usize,
    /// Connection entries allocated room for.
    pub connection_room: usize,
    /// Open flow records held.
    pub flows: usize,
    /// Flow table index slots allocated.
    pub flow_slots: usize,
    /// Flow records allocated room for.
    pub flow_room: usize,
}

impl StateSizes {
    pub(crate) fn add(&mut self, o: &StateSizes) {
        self.connections += o.connections;
        self.connection_slots += o.connection_slots;
        self.connection_room += o.connection_room;
        self.flows += o.flows;
        self.flow_slots += o.flow_slots;
        self.flow_room += o.flow_room;
    }
}

/// What one scenario of a worker ends with: its counters, kept flow
/// records and top dropped flows.
pub(crate) type Ended<X> = (Counters, Kept<X>, Vec<FlowRecord>);

/// What a worker hands back at the end, per scenario.
pub(crate) struct WorkerResult<X: Extra> {
    pub(crate) sizes: Vec<StateSizes>,
    /// The first scenario's ([`Worker::first`]).
    pub(crate) first: Ended<()>,
    /// The other scenarios', in order.
    pub(crate) others: Vec<Ended<X>>,
    pub(crate) rules: Vec<Option<RuleTally>>,
    pub(crate) hist: Histogram<u64>,
    pub(crate) packet_hist: Histogram<u64>,
    /// A compared pass's records a full disk left out ([`flows::line_up`]).
    pub(crate) cut: Option<flows::SpoolCut>,
    /// [`Worker::tcp_header_cut`].
    pub(crate) tcp_header_cut: Vec<u64>,
}

pub(crate) fn new_hist() -> Histogram<u64> {
    // 1 ns to 100 s, 3 significant digits: bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, 100_000_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable_hist()))
}

#[allow(clippy::panic)]
fn unreachable_hist() -> Histogram<u64> {
    panic!("a histogram with constant bounds cannot fail to build")
}

impl<X: Extra> Judge<X> {
    /// Judges with `c`, the `nth` scenario of the pass (its stand-ins,
    /// [`EngineConfig::stand_ins`]).
    fn new(c: &Arc<Compiled>, cfg: &EngineConfig, nth: usize) -> Judge<X> {
        let flows = Flows::new(
            cfg.max_flow_records,
            cfg.keep_flows,
            cfg.flow_spool,
            cfg.spool_dir.as_deref(),
            cfg.top_flows,
            cfg.stand_ins.get(nth).cloned().flatten(),
        );
        Judge {
            compiled: Arc::clone(c),
            // A live pass swaps tables: no verdict memo, no verdicts
            // cached in connection entries, no first side judged again
            // (each exact only for one table).
            tracker: match cfg.live {
                Some(_) => Tracker::new(cfg.max_connections),
                None => Tracker::with_memo(cfg.max_connections),
            },
            flows: match cfg.live {
                Some(_) => flows,
                None => flows.judged_under(c),
            },
            counters: Counters::with_rules(c.rule_count()),
            rules: cfg
                .rule_stats
                .then(|| RuleTally::new(c.rule_count(), cfg.max_flow_records, cfg.rule_flows)),
        }
    }

    /// A live pass: judges with `c` from now on (rule hits start again:
    /// rule ids belong to one table).
    fn retable(&mut self, c: &Arc<Compiled>) {
        self.compiled = Arc::clone(c);
        self.counters.rule_hits.clear();
        self.counters.rule_hits.resize(c.rule_count(), 0);
    }

    /// Connections tracked and the counters, as a live pass publishes them.
    fn published(&self) -> (u64, &Counters) {
        let tracked = u64::try_from(self.tracker.len()).unwrap_or(u64::MAX);
        (tracked, &self.counters)
    }

    /// Hints the cache about the packet's look-ups in this scenario's
    /// tables (see [`Worker::prefetch`]).
    #[inline(always)]
    fn prefetch(&self, it: &Item, fh: u64) {
        let keys = &it.keys;
        self.flows.prefetch(it.shard, &keys.flow, fh);
        if keys.same {
            self.tracker.prefetch(usize::from(it.shard), &keys.flow, fh);
        }
    }

    /// The end of the pass: the state's sizes to `sizes`, the rule tally
    /// to `rules`, the open records closed.
    fn end(mut self, sizes: &mut Vec<StateSizes>, rules: &mut Vec<Option<RuleTally>>) -> Ended<X> {
        let (connection_slots, connection_room) = self.tracker.allocated();
        let (flows, flow_slots, flow_room) = self.flows.sizes();
        sizes.push(StateSizes {
            connections: self.tracker.len(),
            connection_slots,
            connection_room,
            flows,
            flow_slots,
            flow_room,
        });
        let (flows, top) = self.flows.finish(&mut self.counters);
        rules.push(self.rules);
        (self.counters, flows, top)
    }
}

impl<X: Extra> Worker<X> {
    /// A worker judging against `first` and then each of `others`.
    pub(crate) fn new(
        first: &Arc<Compiled>,
        others: &[Arc<Compiled>],
        cfg: &EngineConfig,
    ) -> Worker<X> {
        Worker {
            first: Judge::new(first, cfg, 0),
            others: others
                .iter()
                .enumerate()
                .map(|(i, c)| Judge::new(c, cfg, i + 1))
                .collect(),
            hasher: KeyHasher::default(),
            hist: new_hist(),
            packet_hist: new_hist(),
            live: cfg.live.as_ref().map(|l| LiveState {
                hook: Arc::clone(l),
                generation: 0,
                last: Instant::now(),
                dirty: false,
            }),
            prefetching: true,
            opened: 0,
            busy_ns: 0,
            tcp_header_cut: Vec::new(),
            tcp_header_cut_batch: 0,
        }
    }

    /// A live pass: takes the tables published since the last batch, if
    /// any (rule hits start again: rule ids belong to one table).
    fn refresh(&mut self) {
        let Some(st) = &mut self.live else {
            return;
        };
        if st.hook.generation() == st.generation {
            return;
        }
        let set = st.hook.scenarios();
        let mut tables = set.scenarios.iter();
        if let Some(c) = tables.next() {
            self.first.retable(c);
        }
        for (j, c) in self.others.iter_mut().zip(tables) {
            j.retable(c);
        }
        st.generation = set.generation;
    }

    /// A live pass: publishes what was counted since the last publish,
    /// when `now` or when that is [`PUBLISH_EVERY`] old.
    fn publish(&mut self, id: u8, now: bool) {
        let Some(st) = &mut self.live else {
            return;
        };
        if !st.dirty || (!now && st.last.elapsed() < PUBLISH_EVERY) {
            return;
        }
        let (first, others) = (&self.first, &self.others);
        st.hook.store(
            usize::from(id),
            st.generation,
            1 + others.len(),
            |i| match i.checked_sub(1) {
                None => Some(first.published()),
                Some(o) => others.get(o).map(Judge::published),
            },
        );
        st.last = Instant::now();
        st.dirty = false;
    }

    /// Judges one packet against every scenario; pushes each verdict code
    /// ([`DropReason::code`]) to `codes` when given.
    ///
    /// Per scenario, the packet's open flow record is found first (one
    /// probe). A TCP or UDP packet of a record that has only ever seen
    /// dropped first packets and no connection takes its verdict from the
    /// record and is counted and added to it in the same step
    /// ([`Flows::known_drop`]): no connection-table probe, no memo, no
    /// second look at the record. Otherwise [`Judge::judge`] (kept out of
    /// line, so that the common path stays small) has the tracker judge
    /// it and updates the record through the slot found.
    #[inline]
    fn handle(&mut self, it: &Item, fh: u64, mut codes: Option<&mut Vec<u8>>) {
        // A verdict from the flow record needs a table that never changes
        // (not a live pass) and a packet its key and direction fix whole,
        // whose connection key is its flow key (`Keys::exact`).
        let exact = self.live.is_none() && it.keys.exact;
        let hasher = &self.hasher;
        let (cb, ob) = self.first.packet(it, fh, exact, hasher);
        self.opened += usize::from(ob);
        if let Some(c) = codes.as_deref_mut() {
            c.push(cb);
        }
        // One scenario (replay, bench): nothing more. Over a loop run
        // once, the compiler loaded the packet's fields before it and
        // kept them on the stack, ~40 loads and stores a packet for
        // nothing.
        if self.others.is_empty() {
            return;
        }
        // Two scenarios compared (`diff`): the second's record notes
        // what changed ([`Flows::note`]).
        if X::COMPARES
            && let [a] = self.others.as_mut_slice()
        {
            let (ca, oa) = a.packet(it, fh, exact, hasher);
            self.opened += usize::from(oa);
            if let Some(c) = codes {
                c.push(ca);
            }
            a.flows.note(it, fh, [cb, ca]);
            return;
        }
        for j in &mut self.others {
            let (code, opened) = j.packet(it, fh, exact, hasher);
            self.opened += usize::from(opened);
            if let Some(c) = codes.as_deref_mut() {
                c.push(code);
            }
        }
    }

    /// Hints the cache about the coming look-ups of a packet (flow key
    /// hash `fh`) in every scenario's flow and connection tables
    /// ([`crate::state_table::ShardTable::prefetch`]): nothing changes.
    #[inline]
    fn prefetch(&self, it: &Item, fh: u64) {
        self.first.prefetch(it, fh);
        for j in &self.others {
            j.prefetch(it, fh);
        }
    }

    pub(crate) fn finish(mut self) -> WorkerResult<X> {
        let k = 1 + self.others.len();
        // A compared pass: both scenarios keep the same records, even when
        // a full disk stopped one spool's writes ([`flows::line_up`]).
        let mut cut = None;
        if X::COMPARES
            && let [a] = self.others.as_mut_slice()
        {
            self.first.flows.close_open(&mut self.first.counters);
            a.flows.close_open(&mut a.counters);
            cut = flows::line_up(&mut self.first.flows, &mut a.flows);
        }
        let mut rules = Vec::with_capacity(k);
        let mut sizes = Vec::with_capacity(k);
        let first = self.first.end(&mut sizes, &mut rules);
        let others = self
            .others
            .into_iter()
            .map(|j| j.end(&mut sizes, &mut rules))
            .collect();
        WorkerResult {
            sizes,
            first,
            others,
            rules,
            hist: self.hist,
            packet_hist: self.packet_hist,
            cut,
            tcp_header_cut: self.tcp_header_cut,
        }
    }
}

/// The next batch, `None` at the end. In a live pass, counters not yet
/// published are published once no batch came for [`PUBLISH_EVERY`], so
/// what an idle worker counted is readable within that time.
fn next_batch<X: Extra>(w: &mut Worker<X>, id: u8, rx: &Receiver<WorkBatch>) -> Option<WorkBatch> {
    if w.live.is_none() {
        return rx.recv().ok();
    }
    loop {
        match rx.recv_timeout(PUBLISH_EVERY) {
            Ok(b) => return Some(b),
            Err(RecvTimeoutError::Timeout) => w.publish(id, true),
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Where a judging unit's verdict codes go: to the writer, when there is
/// one, a vector per batch; the writer sends emptied vectors back through
/// `pool`, so no batch allocates once the pipeline is full (a live pass's
/// batches may be single frames).
struct CodesOut {
    results: Option<Sender<ResultBatch>>,
    pool: Receiver<Vec<u8>>,
    spare: Vec<Vec<u8>>,
}

impl CodesOut {
    fn new(results: Option<Sender<ResultBatch>>, pool: Receiver<Vec<u8>>) -> CodesOut {
        CodesOut {
            results,
            pool,
            spare: Vec::new(),
        }
    }

    /// An empty codes vector for the next batch.
    fn take(&mut self) -> Vec<u8> {
        let mut codes = self
            .spare
            .pop()
            .or_else(|| self.pool.try_recv().ok())
            .unwrap_or_default();
        codes.clear();
        codes
    }

    /// Whether codes are wanted at all (a writer runs).
    fn wanted(&self) -> bool {
        self.results.is_some()
    }

    /// Hands the codes of `chunk` judged by unit `worker` to the writer;
    /// `false` when the writer has gone.
    fn give(&mut self, chunk: u64, worker: u8, codes: Vec<u8>) -> bool {
        match &self.results {
            Some(tx) => tx
                .send(ResultBatch {
                    chunk,
                    worker,
                    codes,
                })
                .is_ok(),
            None => {
                self.spare.push(codes);
                true
            }
        }
    }
}

impl<X: Extra> Worker<X> {
    /// Counts `n` packets of input `input` judged without their TCP flags.
    fn header_cut(&mut self, input: u32, n: u64) {
        let Ok(i) = usize::try_from(input) else {
            return;
        };
        if i >= self.tcp_header_cut.len() {
            self.tcp_header_cut.resize(i + 1, 0);
        }
        if let Some(c) = self.tcp_header_cut.get_mut(i) {
            *c += n;
        }
    }

    /// The packets of `batch` judged without their TCP flags
    /// ([`Worker::tcp_header_cut_batch`]) to their inputs: all to the
    /// batch's input, or, for a batch across inputs, each to its own.
    #[cold]
    #[inline(never)]
    fn header_cut_batch(&mut self, batch: &WorkBatch) {
        let n = std::mem::take(&mut self.tcp_header_cut_batch);
        match batch.one_input() {
            Some(input) => self.header_cut(input, n),
            None => batch.header_cut_inputs(|input| self.header_cut(input, 1)),
        }
    }

    /// Parses and judges every record of `batch` in order; pushes each
    /// verdict code to `codes` when given (`k` a record, `k` the
    /// scenarios), and records the batch's time.
    fn judge_batch(&mut self, batch: &WorkBatch, mut codes: Option<&mut Vec<u8>>) {
        let t0 = Instant::now();
        let k = 1 + self.others.len();
        let mut judge = |w: &mut Worker<X>, it: Option<&Item>, fh: u64| match it {
            Some(it) => {
                w.tcp_header_cut_batch += u64::from(it.tcp_header_cut);
                w.handle(it, fh, codes.as_deref_mut());
            }
            // Not an IP packet after all (the reader checked: cannot
            // happen): dropped, never allowed, so the codes stay aligned.
            None => {
                if let Some(c) = codes.as_deref_mut() {
                    c.extend(std::iter::repeat_n(
                        DropReason::code(Some(DropReason::Malformed)),
                        k,
                    ));
                }
            }
        };
        if self.prefetching {
            // A packet is parsed, hashed and its table slots prefetched
            // AHEAD packets before it is judged (a ring of the packets in
            // between, judged in input order), so the cache misses of new
            // flows overlap instead of stalling one after the other.
            let mut ring: [Option<(Item, u64)>; AHEAD] = [None; AHEAD];
            let mut n = 0usize;
            batch.each(|it| {
                let Some(slot) = ring.get_mut(n % AHEAD) else {
                    return;
                };
                if n >= AHEAD {
                    judge(self, slot.as_ref().map(|s| &s.0), slot.map_or(0, |s| s.1));
                }
                n += 1;
                *slot = it.map(|it| {
                    let fh = self.hasher.hash(&it.keys.flow);
                    self.prefetch(it, fh);
                    (*it, fh)
                });
            });
            for m in n.saturating_sub(AHEAD)..n {
                if let Some(slot) = ring.get(m % AHEAD) {
                    judge(self, slot.as_ref().map(|s| &s.0), slot.map_or(0, |s| s.1));
                }
            }
        } else {
            // Known flows: their tables are in cache; each packet judged
            // as it is parsed, without the ring's copies. This closure is
            // small and inlined into `each` (called, each packet paid the
            // call and six registers saved and restored: ~16 instructions,
            // docs/benchmarks.md, twenty-ninth session); the ring's above
            // is left to the compiler, which calls it (inlined, its own
            // inner closure was called instead, +30 instructions a
            // distinct first packet).
            batch.each(
                #[inline(always)]
                |it| {
                    let fh = it.map_or(0, |it| self.hasher.hash(&it.keys.flow));
                    judge(self, it, fh);
                },
            );
        }
        if self.tcp_header_cut_batch > 0 {
            self.header_cut_batch(batch);
        }
        self.prefetching = self.opened * PREFETCH_WHEN >= batch.len() * k;
        self.opened = 0;
        let ns = u64::try_from(t0.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        self.busy_ns = self.busy_ns.saturating_add(ns);
        let _ = self.hist.record(ns.min(100_000_000_000));
        let len = batch.len() as u64;
        if let Some(per) = ns.checked_div(len) {
            let _ = self
                .packet_hist
                .record_n(per.clamp(1, 100_000_000_000), len);
        }
    }
}

/// The reader's own share of the shards ([`super::ReaderShare`]): a
/// [`Worker`] living on the reader's thread, fed by the reader's `flush`
/// like one more worker, its codes to the writer as a worker thread's are.
pub(crate) struct OnReader<X: Extra> {
    pub(crate) worker: Worker<X>,
    /// Its worker id (the one after the worker threads').
    pub(crate) id: u8,
    out: CodesOut,
}

impl<X: Extra> OnReader<X> {
    pub(crate) fn new(
        worker: Worker<X>,
        id: u8,
        results: Option<Sender<ResultBatch>>,
        codes_pool: Receiver<Vec<u8>>,
    ) -> OnReader<X> {
        OnReader {
            worker,
            id,
            out: CodesOut::new(results, codes_pool),
        }
    }

    /// Judges `batch` and hands its codes to the writer; returns the
    /// emptied record list for reuse, and `false` when the writer has gone.
    pub(crate) fn judge(&mut self, batch: WorkBatch) -> (Vec<WorkRec>, bool) {
        let mut codes = self.out.take();
        let want = self.out.wanted();
        self.worker.judge_batch(&batch, want.then_some(&mut codes));
        let chunk = batch.chunk;
        let recs = batch.into_recs();
        let ok = self.out.give(chunk, self.id, codes);
        (recs, ok)
    }
}

/// A worker's loop: parse and judge each batch, hand the codes to the
/// writer, and send the emptied batch back to the reader for reuse (the
/// writer sends the codes back through `codes_pool`).
///
/// Never inlined into the thread's closure: a function of its own is what
/// profiles measure the worker by (`callgrind --toggle-collect`,
/// docs/benchmarks.md).
#[inline(never)]
pub(crate) fn worker_loop<X: Extra>(
    mut w: Worker<X>,
    id: u8,
    rx: Receiver<WorkBatch>,
    results: Option<Sender<ResultBatch>>,
    recycle: Sender<Vec<WorkRec>>,
    codes_pool: Receiver<Vec<u8>>,
) -> Worker<X> {
    let mut out = CodesOut::new(results, codes_pool);
    while let Some(batch) = next_batch(&mut w, id, &rx) {
        w.refresh();
        let mut codes = out.take();
        w.judge_batch(&batch, out.wanted().then_some(&mut codes));
        let chunk = batch.chunk;
        let _ = recycle.try_send(batch.into_recs());
        // Live: counters readable while the pass runs.
        if let Some(st) = &mut w.live {
            st.dirty = true;
        }
        w.publish(id, false);
        if !out.give(chunk, id, codes) {
            break;
        }
    }
    w.publish(id, true);
    w
}

#[cfg(test)]
mod hold_tests;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use zprsim_control::compile::Config;
    use zprsim_control::load::{Format, load_str};

    use super::*;
    use crate::engine::flows::Change;
    use crate::scenario_file::FsFiles;

    impl<X: Extra> Worker<X> {
        /// Bytes of one open flow record's state, per scenario in order.
        fn record_bytes(&self) -> Vec<usize> {
            std::iter::once(self.first.flows.record_bytes())
                .chain(self.others.iter().map(|j| j.flows.record_bytes()))
                .collect()
        }
    }

    /// The lab scenario's table.
    pub(super) fn lab() -> Arc<Compiled> {
        let text = include_str!("../../../tests/lab/scenario.toml");
        let loaded = load_str(text, "lab.toml", Format::Toml, &FsFiles::new(".")).unwrap();
        Arc::new(Compiled::new(&loaded.scenario, &Config::default()).unwrap())
    }

    /// A compared pass (`diff`) keeps what changed only in the second
    /// scenario's flow records: the first scenario's are replay's, byte for
    /// byte (they carried an unused `Change`, 40 bytes per live flow,
    /// until the sixteenth session).
    #[test]
    fn only_the_second_scenario_of_a_compared_pass_keeps_what_changed() {
        let c = lab();
        let cfg = EngineConfig::default();
        let replay = Worker::<()>::new(&c, &[], &cfg).record_bytes();
        let two = Worker::<()>::new(&c, &[Arc::clone(&c)], &cfg).record_bytes();
        let compared = Worker::<Change>::new(&c, &[Arc::clone(&c)], &cfg).record_bytes();
        assert_eq!(replay.len(), 1);
        assert_eq!(two, [replay[0], replay[0]]);
        assert_eq!(compared.len(), 2);
        assert_eq!(compared[0], replay[0], "the first scenario's records");
        assert!(
            compared[1] >= replay[0] + size_of::<Change>(),
            "the second's keep the change: {compared:?}"
        );
    }
}
