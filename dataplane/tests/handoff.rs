//! The reader's two hand-offs give the same results: a capture read as a
//! stream of shared blocks (records handed on as offsets, no copy) and
//! the same frames from memory (copied into the engine's own blocks), over
//! many blocks and chunks, for several worker counts.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use zprsim_control::compile::{Compiled, Config};
use zprsim_dataplane::capture::Records;
use zprsim_dataplane::drop_reason::DropReason;
use zprsim_dataplane::engine::{
    self, CaptureFiles, EngineConfig, Frame, Judged, MemorySource, PacketSource, PcapSink, Sinks,
    VerdictSink,
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
    let (a, d) = (Shared::default(), Shared::default());
    let mut seen = Seen::default();
    let cfg = EngineConfig {
        workers,
        keep_flows: true,
        ..EngineConfig::default()
    };
    let sinks = Sinks {
        allowed: Some(PcapSink {
            name: "a".into(),
            out: Box::new(a.clone()),
        }),
        dropped: Some(PcapSink {
            name: "d".into(),
            out: Box::new(d.clone()),
        }),
        verdicts: Some(&mut seen),
        flows: None,
        progress: None,
    };
    let o = engine::run(&[Arc::clone(c), Arc::clone(c)], src, &cfg, sinks).unwrap();
    assert!(o.error.is_none() && !o.interrupted);
    let text = format!(
        "{:?}\n{:?}\n{:?}\n{:?}",
        o.scenarios[0].counters, o.scenarios[1].counters, o.scenarios[0].flows, o.warnings
    );
    let a = a.0.lock().unwrap().clone();
    let d = d.0.lock().unwrap().clone();
    (text, seen, a, d)
}

#[test]
fn shared_blocks_and_copied_records_give_the_same_outputs() {
    let loaded = zprsim_dataplane::scenario_file::load_path(
        &root().join("examples/oke-orders/scenario.toml"),
    )
    .unwrap();
    let c = Arc::new(Compiled::new(&loaded.scenario, &Config::default()).unwrap());
    // The demo capture 80 times over (3 MiB: several blocks of either
    // kind, and chunks cut by blocks as well as by count).
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
    fn take_warnings(&mut self) -> Vec<String> {
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
