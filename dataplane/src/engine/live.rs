//! A pass that never ends on its own (the TAP bump): scenarios replaced
//! while it runs, and counters read while it runs.
//!
//! With [`super::EngineConfig::live`] set, each worker
//! - loads the [`ScenarioSet`] in force once per batch, and when a new one
//!   was published ([`Live::publish`]), judges with it from that batch on;
//!   its connection and flow tables stay (tracked connections survive a
//!   new policy) and its rule hits start again from zero (rule ids belong
//!   to one compiled table);
//! - publishes a copy of its counters ([`Snapshot`]) every 100 ms while
//!   it counts, 100 ms after its last batch when it goes idle, and once
//!   more when it ends, so [`Live::snapshots`] taken after [`super::run`]
//!   returns is complete.
//!
//! Without it (replay, diff, bench) nothing of this runs. Workers of a live
//! pass judge without the per-worker verdict memo, which is only exact for
//! a table that never changes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use zprsim_control::compile::Compiled;

use crate::judge::Counters;

/// The most workers a pass runs (see [`super::EngineConfig::workers`]).
pub(crate) const MAX_WORKERS: usize = 64;

/// How often a busy worker publishes its counters at least.
pub(crate) const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// The compiled scenarios in force, with how many sets were published
/// before this one.
#[derive(Debug)]
pub struct ScenarioSet {
    /// 0 for the set the pass started with, then 1, 2, ...
    pub generation: u64,
    /// One table per scenario of the pass, in order.
    pub scenarios: Vec<Arc<Compiled>>,
}

/// What one worker has counted, per scenario.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The generation of the set the worker judged with last (its rule
    /// hits count since it took that set).
    pub generation: u64,
    /// Per scenario, in order (empty until the worker first publishes).
    pub counters: Vec<Counters>,
    /// Connections in the worker's tables, per scenario.
    pub tracked: Vec<u64>,
}

/// Why a set was not published.
#[derive(Debug, thiserror::Error)]
#[error("a pass of {running} scenario(s) cannot take a set of {given}")]
pub struct SetSizeError {
    /// Scenarios of the pass.
    pub running: usize,
    /// Scenarios of the set refused.
    pub given: usize,
}

/// Shared by the caller and the workers of one live pass.
#[derive(Debug)]
pub struct Live {
    set: ArcSwap<ScenarioSet>,
    /// Bumped on every publish: a worker compares it (one relaxed load per
    /// batch) before loading the set.
    generation: AtomicU64,
    snaps: Vec<Mutex<Snapshot>>,
}

impl Live {
    /// A live pass starting with `scenarios` (the same tables given to
    /// [`super::run`]).
    #[must_use]
    pub fn new(scenarios: Vec<Arc<Compiled>>) -> Live {
        Live {
            set: ArcSwap::from_pointee(ScenarioSet {
                generation: 0,
                scenarios,
            }),
            generation: AtomicU64::new(0),
            snaps: (0..MAX_WORKERS)
                .map(|_| Mutex::new(Snapshot::default()))
                .collect(),
        }
    }

    /// The set in force.
    #[must_use]
    pub fn scenarios(&self) -> Arc<ScenarioSet> {
        self.set.load_full()
    }

    /// Publishes a new set: every batch a worker takes after this is judged
    /// with it. Returns its generation.
    ///
    /// # Errors
    /// A set of another number of scenarios than the pass has.
    pub fn publish(&self, scenarios: Vec<Arc<Compiled>>) -> Result<u64, SetSizeError> {
        let old = self.set.load();
        if scenarios.len() != old.scenarios.len() {
            return Err(SetSizeError {
                running: old.scenarios.len(),
                given: scenarios.len(),
            });
        }
        let generation = old.generation + 1;
        self.set.store(Arc::new(ScenarioSet {
            generation,
            scenarios,
        }));
        self.generation.store(generation, Ordering::Release);
        Ok(generation)
    }

    /// The generation last published (cheap: one atomic load).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The counters each worker published last, for the workers that have
    /// published (in worker order).
    #[must_use]
    pub fn snapshots(&self) -> Vec<Snapshot> {
        self.snaps
            .iter()
            .filter_map(|m| m.lock().ok().map(|g| g.clone()))
            .filter(|s| !s.counters.is_empty())
            .collect()
    }

    /// Worker `id` publishes its counters: `k` scenarios, scenario `i`'s
    /// from `of(i)` (copied into the slot's own buffers: no allocation once
    /// the slot has them).
    pub(crate) fn store<'c>(
        &self,
        id: usize,
        generation: u64,
        k: usize,
        of: impl Fn(usize) -> Option<(u64, &'c Counters)>,
    ) {
        let Some(slot) = self.snaps.get(id) else {
            return;
        };
        let Ok(mut g) = slot.lock() else { return };
        g.generation = generation;
        g.counters.resize_with(k, Counters::default);
        g.tracked.resize(k, 0);
        for i in 0..k {
            let Some((tracked, c)) = of(i) else { continue };
            if let Some(dst) = g.counters.get_mut(i) {
                copy_counters(dst, c);
            }
            if let Some(t) = g.tracked.get_mut(i) {
                *t = tracked;
            }
        }
    }
}

/// `*dst = src.clone()` without a new rule-hits vector (a derived
/// `clone_from` would allocate one on every publish).
fn copy_counters(dst: &mut Counters, src: &Counters) {
    let mut rule_hits = std::mem::take(&mut dst.rule_hits);
    rule_hits.clone_from(&src.rule_hits);
    *dst = Counters {
        packets: src.packets,
        bytes: src.bytes,
        dropped_by_stage: src.dropped_by_stage,
        zpr_audit_would_drop: src.zpr_audit_would_drop,
        non_ip: src.non_ip,
        link_local: src.link_local,
        loopback: src.loopback,
        copies: src.copies,
        decapsulated: src.decapsulated,
        node_local: src.node_local,
        rule_hits,
        connections: src.connections,
        connections_evicted: src.connections_evicted,
        replies_tracked: src.replies_tracked,
        flows: src.flows,
        flows_evicted: src.flows_evicted,
        stand_in_dropped: src.stand_in_dropped,
        stand_in_dropped_flows: src.stand_in_dropped_flows,
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    //! A live pass driven packet by packet: each record's verdict comes
    //! out while the source is still open (no chunk to fill), a new table
    //! judges new connections while tracked ones go on, and the counters
    //! are readable before the pass ends.

    use std::net::Ipv4Addr;
    use std::time::Duration;

    use crossbeam_channel::{Receiver, Sender, unbounded};
    use zprsim_control::compile::Config;
    use zprsim_control::load::{Format, load_str};

    use super::*;
    use crate::capture::Record;
    use crate::drop_reason::DropReason;
    use crate::engine::{self, EngineConfig, Judged, PacketSource, Sinks, VerdictSink};
    use crate::scenario_file::FsFiles;

    const SCENARIO: &str = include_str!("../../../tests/lab/scenario.toml");
    const WEB: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 10);
    const DB: Ipv4Addr = Ipv4Addr::new(10, 77, 2, 10);

    /// Frames from a channel; nothing ready when the channel is empty.
    struct ChannelSource {
        rx: Receiver<(usize, Vec<u8>)>,
        current: (usize, Vec<u8>),
        ts: u64,
    }

    impl PacketSource for ChannelSource {
        fn link_types(&mut self) -> Vec<u32> {
            vec![1]
        }
        fn next_record(&mut self) -> Option<Result<Record<'_>, String>> {
            self.current = self.rx.recv().ok()?;
            self.ts += 1_000_000;
            Some(Ok(Record {
                data: &self.current.1,
                orig_len: u32::try_from(self.current.1.len()).unwrap(),
                ts_ns: self.ts,
                linktype: 1,
                offset: 0,
            }))
        }
        fn idle(&self) -> bool {
            self.rx.is_empty()
        }
        fn input(&self) -> usize {
            self.current.0
        }
        fn input_name(&self, i: usize) -> String {
            format!("port {i}")
        }
        fn progress(&self) -> (u64, u64) {
            (0, 0)
        }
        fn take_warnings(&mut self) -> Vec<crate::warning::RunWarning> {
            Vec::new()
        }
    }

    /// Index, input and verdict of each record, as they come.
    struct ChannelSink(Sender<(u64, usize, Option<DropReason>)>);

    impl VerdictSink for ChannelSink {
        fn judged(&mut self, r: &Judged<'_>) -> std::io::Result<()> {
            let _ = self.0.send((r.index, r.input, r.verdicts[0]));
            Ok(())
        }
        fn name(&self) -> String {
            "channel".into()
        }
    }

    fn compiled(text: &str) -> Arc<Compiled> {
        let loaded = load_str(text, "lab.toml", Format::Toml, &FsFiles::new(".")).unwrap();
        Arc::new(Compiled::new(&loaded.scenario, &Config::default()).unwrap())
    }

    fn tcp(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, flags: u8) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f
    }

    fn totals(live: &Live) -> Counters {
        let mut c = Counters::default();
        for s in live.snapshots() {
            c.add(&s.counters[0]);
        }
        c
    }

    fn wait_total(live: &Live, n: u64) -> Counters {
        let t0 = std::time::Instant::now();
        loop {
            let c = totals(live);
            if c.packets.total >= n || t0.elapsed() > Duration::from_secs(5) {
                return c;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_live_pass_answers_each_record_at_once_and_takes_a_new_table() {
        let first = compiled(SCENARIO);
        let changed = SCENARIO.replace(
            "source = \"web-nsg\", source_type = \"NETWORK_SECURITY_GROUP\", tcp_options = { destination_port_range = { min = 5432, max = 5432 } }",
            "source = \"web-nsg\", source_type = \"NETWORK_SECURITY_GROUP\", tcp_options = { destination_port_range = { min = 5433, max = 5433 } }",
        );
        assert_ne!(changed, SCENARIO);
        let second = compiled(&changed);
        let live = Arc::new(Live::new(vec![Arc::clone(&first)]));
        let (in_tx, in_rx) = unbounded();
        let (out_tx, out_rx) = unbounded();
        // A share for the reader asked for: a live pass runs without one
        // (its reader stays free for the ports), as it did before.
        let cfg = EngineConfig {
            workers: 2,
            live: Some(Arc::clone(&live)),
            reader_share: engine::ReaderShare::Shards(128),
            ..EngineConfig::default()
        };
        let pass = std::thread::spawn(move || {
            let mut source = ChannelSource {
                rx: in_rx,
                current: (0, Vec::new()),
                ts: 0,
            };
            let mut sink = ChannelSink(out_tx);
            let sinks = Sinks {
                verdicts: Some(&mut sink),
                ..Sinks::default()
            };
            engine::run(&[first], &mut source, &cfg, sinks).unwrap()
        });
        let next = || out_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        // One SYN, the source still open: its verdict comes out alone.
        in_tx.send((0, tcp(WEB, 40000, DB, 5432, 0x02))).unwrap();
        assert_eq!(next(), (0, 0, None));
        let c = wait_total(&live, 1);
        assert_eq!((c.packets.allowed, c.connections), (1, 1));
        // The new table: db no longer takes tcp/5432 from web.
        assert_eq!(live.publish(vec![second]).unwrap(), 1);
        assert!(live.publish(Vec::new()).is_err(), "a set of another size");
        // The tracked connection's reply still passes...
        in_tx.send((1, tcp(DB, 5432, WEB, 40000, 0x12))).unwrap();
        assert_eq!(next(), (1, 1, None));
        // ...while its initiator's next packet is judged as a first packet
        // by the new table (no verdict kept from the old one)...
        in_tx.send((0, tcp(WEB, 40000, DB, 5432, 0x10))).unwrap();
        assert_eq!(next(), (2, 0, Some(DropReason::IngressSecurity)));
        // ...and a new connection meets the new table.
        in_tx.send((0, tcp(WEB, 40001, DB, 5432, 0x02))).unwrap();
        assert_eq!(next(), (3, 0, Some(DropReason::IngressSecurity)));
        drop(in_tx);
        let out = pass.join().unwrap();
        assert_eq!(
            out.plan,
            engine::Plan {
                threads: 2,
                reader_shards: 0
            }
        );
        assert!(out.cpu.reader_judging_s.is_none());
        let c = totals(&live);
        assert_eq!(c.packets.total, 4);
        assert_eq!(c.packets.allowed, 2);
        assert_eq!(c.replies_tracked, 1);
        assert_eq!(c.dropped_by_stage[DropReason::IngressSecurity.index()], 2);
        assert!(
            live.snapshots()
                .iter()
                .all(|s| s.generation == 1 || s.counters[0].packets.total == 0)
        );
        // The pass's own output agrees with the snapshots.
        assert_eq!(out.scenarios[0].counters.packets, c.packets);
    }
}
