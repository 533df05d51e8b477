//! The reader's two hand-offs give the same results: a capture read as a
//! stream of shared blocks (records handed on as offsets, no copy) and
//! the same frames from memory (copied into the engine's own blocks), over
//! many blocks and chunks, for several worker counts; and the reader's
//! thread judging a share of the shards itself gives the plain split's
//! outputs, byte for byte, also when the pass is stopped.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use zprsim_control::compile::{Compiled, Config};
use zprsim_dataplane::capture::Records;
use zprsim_dataplane::drop_reason::DropReason;
use zprsim_dataplane::engine::{
    self, CaptureFiles, EngineConfig, EngineOutput, Frame, Judged, MemorySource, PacketSource,
    PcapSink, ReaderShare, Sinks, VerdictSink,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A pcap output held in memory.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One judged record: index, time, wire length, bytes, verdicts.
type Row = (u64, u64, u32, Vec<u8>, Vec<Option<DropReason>>);

/// Every verdict with its record, in order.
#[derive(Default)]
struct Seen(Vec<Row>);

impl VerdictSink for Seen {
    fn judged(&mut self, r: &Judged<'_>) -> std::io::Result<()> {
        self.0.push((
            r.index,
            r.ts_ns,
            r.orig_len,
            r.data.to_vec(),
            r.verdicts.to_vec(),
        ));
        Ok(())
    }
    fn name(&self) -> String {
        "seen".into()
    }
}

/// What one pass produced, as comparable text and bytes.
fn pass(
    c: &Arc<Compiled>,
    src: &mut dyn PacketSource,
    workers: usize,
) -> (String, Seen, Vec<u8>, Vec<u8>) {
    let (o, seen, a, d) = pass_split(c, src, workers, ReaderShare::Auto, None);
    assert!(o.error.is_none() && !o.interrupted);
    let text = format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        o.scenarios[0].counters, o.scenarios[1].counters, o.scenarios[0].flows, o.warnings
    );
    (text, seen, a, d)
}

/// One pass against the scenario twice, the reader's share and the stop
/// flag given: its output, verdicts and the two pcaps' bytes.
fn pass_split(
    c: &Arc<Compiled>,
    src: &mut dyn PacketSource,
    workers: usize,
    reader_share: ReaderShare,
    stop: Option<Arc<std::sync::atomic::AtomicBool>>,
) -> (EngineOutput, Seen, Vec<u8>, Vec<u8>) {
    let (a, d) = (Shared::default(), Shared::default());
    let mut seen = Seen::default();
    let cfg = EngineConfig {
        workers,
        keep_flows: true,
        reader_share,
        stop,
        ..EngineConfig::default()
    };
    // Each output's length whenever its `on_finish` is called.
    let finished: Arc<Mutex<Vec<(&str, usize)>>> = Arc::default();
    let on_finish = |name: &'static str, out: &Shared| -> Option<Box<dyn FnOnce() + Send>> {
        let (out, finished) = (out.clone(), Arc::clone(&finished));
        Some(Box::new(move || {
            let len = out.0.lock().unwrap().len();
            finished.lock().unwrap().push((name, len));
        }))
    };
    let sinks = Sinks {
        allowed: Some(PcapSink {
            name: "a".into(),
            out: Box::new(a.clone()),
            on_finish: on_finish("a", &a),
        }),
        dropped: Some(PcapSink {
            name: "d".into(),
            out: Box::new(d.clone()),
            on_finish: on_finish("d", &d),
        }),
        verdicts: Some(&mut seen),
        flows: None,
        pairs: None,
        progress: None,
    };
    let o = engine::run(&[Arc::clone(c), Arc::clone(c)], src, &cfg, sinks).unwrap();
    let a = a.0.lock().unwrap().clone();
    let d = d.0.lock().unwrap().clone();
    // Called once per output, stopped or not, after its last byte.
    let mut finished = finished.lock().unwrap().clone();
    finished.sort_unstable();
    assert_eq!(finished, [("a", a.len()), ("d", d.len())]);
    (o, seen, a, d)
}

/// The demo scenario, compiled, and its capture 80 times over (3 MiB:
/// several blocks of either kind, and chunks cut by blocks as well as by
/// count), as bytes and as frames.
fn demo_big() -> (Arc<Compiled>, Vec<u8>, Vec<Frame>) {
    let loaded = zprsim_dataplane::scenario_file::load_path(
        &root().join("examples/oke-orders/scenario.toml"),
    )
    .unwrap();
    let c = Arc::new(Compiled::new(&loaded.scenario, &Config::default()).unwrap());
    let demo = std::fs::read(root().join("pcaps/oke-demo.pcap")).unwrap();
    let mut big = demo.clone();
    for _ in 0..80 {
        big.extend_from_slice(&demo[24..]);
    }
    let frames: Vec<Frame> = Records::from_slice(&big)
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            Frame {
                ts_ns: r.ts_ns,
                linktype: r.linktype,
                orig_len: r.orig_len,
                data: r.data.to_vec(),
            }
        })
        .collect();
    assert!(frames.len() > 10_000);
    (c, big, frames)
}

#[test]
fn shared_blocks_and_copied_records_give_the_same_outputs() {
    let (c, big, frames) = demo_big();
    let mut want = None;
    for workers in [1, 2, 3] {
        let mut shared = CaptureFiles::from_bytes("big", big.clone()).unwrap();
        assert!(shared.shares_blocks());
        let s = pass(&c, &mut shared, workers);
        let mut memory = MemorySource::new(frames.clone());
        assert!(!memory.shares_blocks());
        let m = pass(&c, &mut memory, workers);
        assert_eq!(s.0, m.0, "{workers} worker(s)");
        assert_eq!(
            s.1.0.len(),
            frames.len() - 2 * 81,
            "every IP record seen once"
        );
        assert!(
            s.1.0 == m.1.0,
            "{workers} worker(s): verdict streams differ"
        );
        assert!(
            s.2 == m.2 && s.3 == m.3,
            "{workers} worker(s): pcaps differ"
        );
        assert!(!s.2.is_empty() && !s.3.is_empty());
        match &want {
            None => want = Some(s),
            Some(w) => {
                assert_eq!(w.0, s.0, "{workers} worker(s)");
                assert!(
                    w.1.0 == s.1.0 && w.2 == s.2 && w.3 == s.3,
                    "{workers} worker(s)"
                );
            }
        }
    }
}

/// The splits the reader-share tests run: worker count and the reader's
/// share (none, one shard, a third, half, all but one: the worker threads
/// then own one shard between them and some none; and the default).
const SPLITS: [(usize, ReaderShare); 8] = [
    (1, ReaderShare::Shards(1)),
    (1, ReaderShare::Shards(96)),
    (1, ReaderShare::Shards(255)),
    (2, ReaderShare::Shards(128)),
    (3, ReaderShare::Shards(255)),
    (2, ReaderShare::Shards(0)),
    (2, ReaderShare::Auto),
    (4, ReaderShare::Auto),
];

/// Text of everything a pass produced but its timings.
fn text(o: &EngineOutput) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        o.scenarios[0].counters,
        o.scenarios[1].counters,
        o.scenarios[0].flows,
        o.scenarios[1].top_dropped,
        o.warnings,
        o.written
    )
}

/// The reader's thread judging a share of the shards gives the plain
/// split's outputs byte for byte (counters, flow records, every verdict,
/// both pcaps), from shared blocks and from copied records.
#[test]
fn a_reader_share_gives_the_plain_split_outputs_byte_for_byte() {
    let (c, big, frames) = demo_big();
    let mut shared = CaptureFiles::from_bytes("big", big.clone()).unwrap();
    let (o, seen, a, d) = pass_split(&c, &mut shared, 1, ReaderShare::Off, None);
    assert_eq!(o.plan.reader_shards, 0);
    let want = (text(&o), seen.0, a, d);
    assert!(!want.2.is_empty() && !want.3.is_empty());
    for (workers, share) in SPLITS {
        for copied in [false, true] {
            let what = format!("{workers} worker(s), {share:?}, copied {copied}");
            let mut src: Box<dyn PacketSource> = if copied {
                Box::new(MemorySource::new(frames.clone()))
            } else {
                Box::new(CaptureFiles::from_bytes("big", big.clone()).unwrap())
            };
            let (o, seen, a, d) = pass_split(&c, src.as_mut(), workers, share, None);
            assert!(o.error.is_none() && !o.interrupted, "{what}");
            if let ReaderShare::Shards(k) = share {
                assert_eq!(o.plan.reader_shards, usize::from(k), "{what}");
                assert_eq!(o.plan.threads, workers, "{what}");
            }
            assert_eq!(
                o.cpu.reader_judging_s.is_some(),
                o.plan.reader_shards > 0,
                "{what}"
            );
            assert_eq!(text(&o), want.0, "{what}");
            assert!(seen.0 == want.1, "{what}: verdict streams differ");
            assert!(a == want.2 && d == want.3, "{what}: pcaps differ");
        }
    }
}

/// Stopped after 7,000 of the records, a pass with a reader's share ends
/// where the plain split does, at a record boundary: it says it was
/// interrupted, and its pcaps (whole records, as many as it says it
/// wrote), verdicts and counters are the plain split's.
#[test]
fn a_stopped_pass_with_a_reader_share_ends_at_the_same_record() {
    let (c, _, frames) = demo_big();
    let run = |workers: usize, share: ReaderShare| {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut src = MemorySource::new(frames.clone()).stopping_after(7000, Arc::clone(&stop));
        pass_split(&c, &mut src, workers, share, Some(stop))
    };
    let (o, seen, a, d) = run(1, ReaderShare::Off);
    assert!(o.interrupted);
    assert!(seen.0.len() < frames.len() - 2 * 81);
    assert!(seen.0.len() > 6000);
    for (bytes, written) in [(&a, o.written.0), (&d, o.written.1)] {
        let records: Vec<_> = Records::from_slice(bytes)
            .unwrap()
            .map(Result::unwrap)
            .map(|r| r.data.len())
            .collect();
        assert_eq!(records.len() as u64, written);
    }
    assert_eq!(o.written.0 + o.written.1, seen.0.len() as u64);
    let want = (text(&o), seen.0, a, d);
    for (workers, share) in SPLITS {
        let what = format!("{workers} worker(s), {share:?}");
        let (o, seen, a, d) = run(workers, share);
        assert!(o.interrupted, "{what}");
        assert_eq!(text(&o), want.0, "{what}");
        assert!(seen.0 == want.1, "{what}: verdict streams differ");
        assert!(a == want.2 && d == want.3, "{what}: pcaps differ");
    }
}

/// A live source: each record after the first comes only once the
/// previous one has been judged (as a TAP bump's next frame may depend on
/// the last one being forwarded), and it says it is idle after each.
struct Live {
    frames: Vec<Frame>,
    pos: usize,
    judged: Arc<std::sync::atomic::AtomicUsize>,
    stalled: bool,
}

impl PacketSource for Live {
    fn link_types(&mut self) -> Vec<u32> {
        vec![1]
    }
    fn next_record(&mut self) -> Option<Result<zprsim_dataplane::capture::Record<'_>, String>> {
        let f = self.frames.get(self.pos)?;
        // Wait (bounded, so a failure ends instead of hanging) for the
        // verdict of the record before.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !self.stalled && self.judged.load(std::sync::atomic::Ordering::SeqCst) < self.pos {
            if std::time::Instant::now() > deadline {
                self.stalled = true;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        self.pos += 1;
        Some(Ok(zprsim_dataplane::capture::Record {
            data: &f.data,
            orig_len: f.orig_len,
            ts_ns: f.ts_ns,
            linktype: f.linktype,
            offset: 0,
        }))
    }
    fn input(&self) -> usize {
        0
    }
    fn input_name(&self, _: usize) -> String {
        "live".into()
    }
    fn progress(&self) -> (u64, u64) {
        (0, 0)
    }
    fn take_warnings(&mut self) -> Vec<zprsim_dataplane::warning::RunWarning> {
        Vec::new()
    }
    fn idle(&self) -> bool {
        true
    }
}

/// Counts the verdicts as they come.
struct Count(Arc<std::sync::atomic::AtomicUsize>);

impl VerdictSink for Count {
    fn judged(&mut self, _: &Judged<'_>) -> std::io::Result<()> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn name(&self) -> String {
        "count".into()
    }
}

#[test]
fn an_idle_live_source_gets_each_verdict_before_its_next_record() {
    let loaded = zprsim_dataplane::scenario_file::load_path(
        &root().join("examples/oke-orders/scenario.toml"),
    )
    .unwrap();
    let c = Arc::new(Compiled::new(&loaded.scenario, &Config::default()).unwrap());
    let demo = std::fs::read(root().join("pcaps/oke-demo.pcap")).unwrap();
    // IP frames only: every record gets a verdict.
    let frames: Vec<Frame> = Records::from_slice(&demo)
        .unwrap()
        .map(Result::unwrap)
        .filter(|r| {
            matches!(
                zprsim_dataplane::parse::parse_frame(r.linktype, r.data),
                zprsim_dataplane::parse::Parsed::Ip(_)
            )
        })
        .take(40)
        .map(|r| Frame {
            ts_ns: r.ts_ns,
            linktype: r.linktype,
            orig_len: r.orig_len,
            data: r.data.to_vec(),
        })
        .collect();
    let judged = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut src = Live {
        frames: frames.clone(),
        pos: 0,
        judged: Arc::clone(&judged),
        stalled: false,
    };
    let mut sink = Count(Arc::clone(&judged));
    let sinks = Sinks {
        verdicts: Some(&mut sink),
        ..Sinks::default()
    };
    let cfg = EngineConfig {
        workers: 2,
        ..EngineConfig::default()
    };
    let o = engine::run(&[c], &mut src, &cfg, sinks).unwrap();
    assert!(
        !src.stalled,
        "a record waited for a verdict that never came"
    );
    assert_eq!(
        judged.load(std::sync::atomic::Ordering::SeqCst),
        frames.len()
    );
    assert_eq!(o.scenarios[0].counters.packets.total, frames.len() as u64);
}

/// Rule statistics and their flows (`--rule-stats`, the audit) with a
/// reader's share: the reader's worker is merged first, whatever its id,
/// so they must not depend on the order of the merge.
#[test]
fn a_reader_share_gives_the_plain_split_rule_stats() {
    let (c, _, frames) = demo_big();
    let run = |workers: usize, reader_share: ReaderShare| {
        let mut src = MemorySource::new(frames.clone());
        let cfg = EngineConfig {
            workers,
            keep_flows: true,
            rule_stats: true,
            rule_flows: true,
            reader_share,
            ..EngineConfig::default()
        };
        let o = engine::run(
            &[Arc::clone(&c), Arc::clone(&c)],
            &mut src,
            &cfg,
            Sinks::default(),
        )
        .unwrap();
        assert!(o.error.is_none());
        let stats: Vec<String> = o
            .scenarios
            .iter()
            .map(|s| format!("{:?}", s.rule_stats))
            .collect();
        stats
    };
    let want = run(1, ReaderShare::Off);
    assert!(want[0].contains("RuleStat"), "{}", want[0]);
    for (workers, share) in SPLITS {
        assert!(
            run(workers, share) == want,
            "{workers} worker(s), {share:?}"
        );
    }
}
