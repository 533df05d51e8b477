//! The hot path allocates nothing per packet: a pass over ten times the
//! packets makes (almost) no more allocations than the shorter pass. What
//! a pass allocates once (threads, shards, tables sized from the
//! configured bounds, histograms) is the same for both; what grows by
//! doubling (flow records kept for `--flows`, per-rule flow sets) adds a
//! logarithmic handful. A `Vec`, `String` or `Box` made per packet or per
//! new flow shows as thousands.
//!
//! Its own test binary: the count is the process's (a global allocator
//! cannot be given to one module), so this file holds one test and
//! nothing else runs beside it.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use zprsim_control::compile::{Compiled, Config};
use zprsim_control::model::Scenario;
use zprsim_dataplane::capture::Records;
use zprsim_dataplane::engine::{self, EngineConfig, FlowSink, Frame, MemorySource, Sinks};
use zprsim_dataplane::output::OutputFile;
use zprsim_dataplane::report::flow_line::FlowLines;
use zprsim_dataplane::synth::{SynthConfig, write_distinct_first_packets, write_realistic};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

fn count() {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed to `System` unchanged, with the layout it
// was given; the counters are atomics (no allocation, no lock).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn frames(pcap: &[u8]) -> Vec<Frame> {
    Records::from_slice(pcap)
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
        .collect()
}

/// Allocations made while the engine judges these frames (and, with
/// `flow_log`, while the flow log is written: `replay --flows`'s
/// [`FlowLines`], into a file).
fn allocations(
    s: &Scenario,
    c: &Arc<Compiled>,
    frames: &[Frame],
    cfg: &EngineConfig,
    flow_log: bool,
) -> u64 {
    let mut src = MemorySource::new(frames.to_vec());
    let dir = tempfile::tempdir().unwrap();
    let mut out = OutputFile::create("--flows", dir.path().join("flows.jsonl")).unwrap();
    let mut lines = FlowLines::new(&mut out, s, c);
    let sinks = Sinks {
        allowed: None,
        dropped: None,
        verdicts: None,
        flows: flow_log.then_some(&mut lines as &mut dyn FlowSink),
        pairs: None,
        progress: None,
    };
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    let run = engine::run(std::slice::from_ref(c), &mut src, cfg, sinks);
    COUNTING.store(false, Ordering::SeqCst);
    let n = ALLOCATIONS.load(Ordering::SeqCst);
    assert!(lines.into_error().is_none());
    let out = run.unwrap();
    assert!(out.error.is_none() && !out.interrupted);
    assert!(
        out.scenarios[0].counters.packets.total > 0,
        "nothing judged"
    );
    drop(out);
    n
}

#[test]
fn a_pass_ten_times_longer_allocates_no_more_per_packet() {
    let loaded = zprsim_dataplane::scenario_file::load_path(
        &root().join("examples/oke-orders/scenario.toml"),
    )
    .unwrap();
    let s = &loaded.scenario;
    let c = Arc::new(Compiled::new(s, &Config::default()).unwrap());
    let realistic = |packets: usize| {
        let cfg = SynthConfig {
            packets,
            flows: packets / 20,
            seed: 7,
            ..SynthConfig::default()
        };
        frames(&write_realistic(s, &cfg, Vec::new()).unwrap().0)
    };
    let distinct =
        |packets: usize| frames(&write_distinct_first_packets(s, packets, 7, Vec::new()).unwrap());
    let short = 20_000;
    let long = 200_000;
    let captures = [
        ("realistic", realistic(short), realistic(long)),
        ("distinct first packets", distinct(short), distinct(long)),
    ];
    for workers in [1, 2] {
        for (what, keep_flows, rule_stats, flow_log) in [
            ("counters", false, false, false),
            ("flow records kept", true, false, false),
            ("rule statistics", false, true, false),
            // `replay --flows`: each record's line names its rules,
            // borrowed from one `RuleText` (a `String` per rule named
            // per record before).
            ("flow log written", true, false, true),
        ] {
            let cfg = EngineConfig {
                workers,
                keep_flows,
                rule_stats,
                ..EngineConfig::default()
            };
            for (capture, a, b) in &captures {
                let few = allocations(s, &c, a, &cfg, flow_log);
                let many = allocations(s, &c, b, &cfg, flow_log);
                let more = (b.len() - a.len()) as u64;
                eprintln!(
                    "{capture}, {what}, {workers} worker(s): {few} allocations for {} frames, {many} for {}",
                    a.len(),
                    b.len()
                );
                assert!(
                    many.saturating_sub(few) < more / 50,
                    "{capture}, {what}, {workers} worker(s): {few} allocations for {} frames, {many} for {}: \
                     one allocation every {} packets more",
                    a.len(),
                    b.len(),
                    more / many.saturating_sub(few).max(1)
                );
            }
        }
    }
}
