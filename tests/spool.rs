//! The bounded spool of closed flow records (`dataplane/src/engine/spool.rs`):
//! a flow log whose records were spilled in sorted runs to temporary files
//! and merged equals the one kept whole in memory, record for record, for
//! 1 to 4 workers; the bound holds; the files are gone after the pass and
//! after an error; an unwritable spool directory is an error, not a panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_bench::fixtures;
use zprsim_bench::random::{address_pool, random_scenario};
use zprsim_control::compile::{Compiled, Config};
use zprsim_dataplane::engine::{
    self, EngineConfig, EngineError, FlowRecord, FlowSink, MemorySource, Sinks,
};
use zprsim_dataplane::replay::{self, ReplayConfig};

use crate::engine::frames;
use crate::replay_oracle::{Pkt, traffic};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

/// Every fixture's flow log with runs of at most 1 or 3 records per
/// worker (so every fixture with more records than that spills) equals
/// the one held whole in memory (the engine the recorded flow logs pin,
/// `engine::flow_logs_equal_the_recorded_all_in_memory_ones`), for 1 to 4
/// workers.
#[test]
fn spilled_flow_logs_equal_the_in_memory_ones_on_every_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let mut spilled_fixtures = 0;
    let mut checked = 0;
    for f in fixtures::all() {
        let loaded = zprsim_dataplane::scenario_file::load_path(&root().join(f.scenario)).unwrap();
        let c = Arc::new(Compiled::new(&loaded.scenario, &Config::default()).unwrap());
        let input = [root().join("pcaps").join(f.name)];
        let run = |workers: usize, spool: usize| {
            let cfg = ReplayConfig {
                workers,
                keep_flows: true,
                flow_spool: spool,
                spool_dir: Some(dir.path().to_path_buf()),
                ..ReplayConfig::default()
            };
            replay::replay(Arc::clone(&c), &input, &cfg, None)
                .unwrap_or_else(|e| panic!("{}: {e}", f.name))
        };
        let want = run(1, usize::MAX).flows;
        let mut spilled = false;
        for workers in 1..=4 {
            for spool in [1, 3, usize::MAX] {
                let got = run(workers, spool);
                assert!(
                    got.flows == want,
                    "{}: {workers} worker(s), spool {spool}: flow log differs",
                    f.name
                );
                assert!(got.spool.peak <= spool, "{:?}", got.spool);
                spilled |= got.spool.runs > 0;
                assert_eq!(entries(dir.path()), 0, "{}: a spool file was left", f.name);
            }
        }
        spilled_fixtures += usize::from(spilled);
        checked += 1;
    }
    assert!(checked >= 16, "{checked} fixtures");
    assert!(
        spilled_fixtures >= 8,
        "only {spilled_fixtures} fixtures spilled"
    );
}

fn run_mem(
    c: &Arc<Compiled>,
    pkts: &[Pkt],
    workers: usize,
    spool: usize,
    dir: &Path,
) -> engine::ScenarioOutput {
    let mut src = MemorySource::new(frames(pkts));
    let cfg = EngineConfig {
        workers,
        keep_flows: true,
        // Small open tables: flows are also evicted, not only timed out.
        max_flow_records: 512,
        max_connections: 512,
        flow_spool: spool,
        spool_dir: Some(dir.to_path_buf()),
        ..EngineConfig::default()
    };
    let o = engine::run(&[Arc::clone(c)], &mut src, &cfg, Sinks::default()).unwrap();
    o.scenarios.into_iter().next().unwrap()
}

/// Random flows with replies and idle timeouts crossed, in time order and
/// with timestamps that sometimes go back (captures are not always in
/// order): spilled runs merge to exactly the in-memory flow log, for 1 to
/// 4 workers, and each worker's spool never holds more than its bound.
#[test]
fn spilled_flow_logs_equal_the_in_memory_ones_on_random_flows() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..6u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(4100 + seed);
        let s = random_scenario(&mut rng);
        let pool = address_pool(&s);
        let mut pkts = traffic(&mut rng, &s, &pool, 3000);
        if seed % 2 == 1 {
            // Out of order: some packets swapped with a later one.
            for i in 0..pkts.len() - 8 {
                if rng.random_bool(0.1) {
                    let j = i + rng.random_range(1..8);
                    let (a, b) = (pkts[i].ts, pkts[j].ts);
                    pkts[i].ts = b;
                    pkts[j].ts = a;
                }
            }
        }
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        let want = run_mem(&c, &pkts, 1, usize::MAX, dir.path());
        assert_eq!(want.spool.spilled, 0);
        assert!(want.flows.len() > 100, "seed {seed}: {}", want.flows.len());
        for workers in 1..=4 {
            for spool in [3, 17, 1000] {
                let got = run_mem(&c, &pkts, workers, spool, dir.path());
                assert!(
                    got.flows == want.flows,
                    "seed {seed}, {workers} workers, spool {spool}: flow log differs"
                );
                assert_eq!(got.counters, want.counters);
                assert_eq!(got.top_dropped, want.top_dropped);
                assert!(got.spool.peak <= spool, "{:?}", got.spool);
                if spool == 3 {
                    assert!(got.spool.runs > 0 && got.spool.spilled > 0);
                }
                assert_eq!(entries(dir.path()), 0);
            }
        }
    }
}

/// Counts records and checks their order without keeping them.
struct Count {
    n: u64,
    last: Option<f64>,
    fail_at: Option<u64>,
}

impl FlowSink for Count {
    fn flow(&mut self, _scenario: usize, r: &FlowRecord) -> std::io::Result<()> {
        if self.fail_at == Some(self.n) {
            return Err(std::io::Error::other("sink full"));
        }
        if let Some(l) = self.last {
            assert!(l <= r.first_ts, "out of order: {l} then {}", r.first_ts);
        }
        self.last = Some(r.first_ts);
        self.n += 1;
        Ok(())
    }
    fn name(&self) -> String {
        "count".into()
    }
}

fn some_traffic() -> (Arc<Compiled>, Vec<Pkt>) {
    let mut rng = ChaCha8Rng::seed_from_u64(4200);
    let s = random_scenario(&mut rng);
    let pool = address_pool(&s);
    let pkts = traffic(&mut rng, &s, &pool, 2000);
    (
        Arc::new(Compiled::new(&s, &Config::default()).unwrap()),
        pkts,
    )
}

/// A sink that fails half-way ends the pass with its error; the spool's
/// files are gone all the same.
#[test]
fn spool_files_are_gone_after_a_failed_sink() {
    let (c, pkts) = some_traffic();
    let dir = tempfile::tempdir().unwrap();
    let mut src = MemorySource::new(frames(&pkts));
    let cfg = EngineConfig {
        workers: 2,
        keep_flows: true,
        flow_spool: 5,
        spool_dir: Some(dir.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let mut sink = Count {
        n: 0,
        last: None,
        fail_at: Some(50),
    };
    let r = engine::run(
        &[c],
        &mut src,
        &cfg,
        Sinks {
            flows: Some(&mut sink),
            ..Sinks::default()
        },
    );
    match r {
        Err(EngineError::Output { path, source }) => {
            assert_eq!(path, "count");
            assert_eq!(source.to_string(), "sink full");
        }
        other => panic!("{:?}", other.map(|o| o.scenarios.len())),
    }
    assert_eq!(sink.n, 50);
    assert_eq!(entries(dir.path()), 0);
}

/// A spool directory that cannot hold a file is an error naming it, once
/// the first run is full; with nothing to spill it is never touched.
#[test]
fn an_unusable_spool_directory_is_an_error_not_a_panic() {
    let (c, pkts) = some_traffic();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not there");
    let run = |spool: usize| {
        let mut src = MemorySource::new(frames(&pkts));
        let cfg = EngineConfig {
            workers: 2,
            keep_flows: true,
            flow_spool: spool,
            spool_dir: Some(missing.clone()),
            ..EngineConfig::default()
        };
        engine::run(&[Arc::clone(&c)], &mut src, &cfg, Sinks::default())
    };
    match run(4) {
        Err(e @ EngineError::Spool { .. }) => {
            let m = e.to_string();
            assert!(m.contains("not there"), "{m}");
            assert!(m.starts_with("flow records' temporary file in"), "{m}");
        }
        other => panic!("{:?}", other.map(|o| o.scenarios.len())),
    }
    let o = run(usize::MAX).unwrap();
    assert_eq!(o.scenarios[0].spool.spilled, 0);
    assert!(!o.scenarios[0].flows.is_empty());
}

/// A flow sink that is an output of its own ([`FlowSink::abandon`]) is
/// abandoned when the spool's directory cannot hold a file, and the pass
/// ends with its counts: the error names the directory, for the sink.
#[test]
fn an_unusable_spool_directory_abandons_a_sink_that_takes_it() {
    struct Abandoning {
        n: u64,
        why: Option<String>,
    }
    impl FlowSink for Abandoning {
        fn flow(&mut self, _: usize, _: &FlowRecord) -> std::io::Result<()> {
            self.n += 1;
            Ok(())
        }
        fn name(&self) -> String {
            "abandoning".into()
        }
        fn abandon(&mut self, why: std::io::Error) -> bool {
            self.why = Some(why.to_string());
            true
        }
    }
    let (c, pkts) = some_traffic();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not there");
    let mut sink = Abandoning { n: 0, why: None };
    let mut src = MemorySource::new(frames(&pkts));
    let cfg = EngineConfig {
        workers: 2,
        keep_flows: true,
        flow_spool: 4,
        spool_dir: Some(missing),
        ..EngineConfig::default()
    };
    let sinks = Sinks {
        flows: Some(&mut sink),
        ..Sinks::default()
    };
    let o = engine::run(&[Arc::clone(&c)], &mut src, &cfg, sinks).unwrap();
    assert_eq!(o.scenarios[0].counters.packets.total, pkts.len() as u64);
    assert_eq!(sink.n, 0);
    let why = sink.why.unwrap();
    assert!(
        why.starts_with("its flow records' temporary file in "),
        "{why}"
    );
    assert!(why.contains("not there"), "{why}");
}

/// What the flood tests check of the flow log: the records handed to the
/// sink, counted and in order, never all held.
pub(crate) struct FloodSink(Count);

impl FloodSink {
    pub(crate) fn new() -> FloodSink {
        FloodSink(Count {
            n: 0,
            last: None,
            fail_at: None,
        })
    }

    pub(crate) fn records(&self) -> u64 {
        self.0.n
    }

    pub(crate) fn sink(&mut self) -> &mut dyn FlowSink {
        &mut self.0
    }
}

/// An interrupted pass (stopped after 1,500 of 2,000 packets) says so, and
/// its flow log, spilled or not, holds the same records, for 1 to 4
/// workers.
#[test]
fn an_interrupted_pass_spills_and_merges_what_it_read() {
    let (c, pkts) = some_traffic();
    let dir = tempfile::tempdir().unwrap();
    let run = |workers: usize, spool: usize| {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut src = MemorySource::new(frames(&pkts)).stopping_after(1500, Arc::clone(&stop));
        let cfg = EngineConfig {
            workers,
            keep_flows: true,
            flow_spool: spool,
            spool_dir: Some(dir.path().to_path_buf()),
            stop: Some(stop),
            ..EngineConfig::default()
        };
        let o = engine::run(&[Arc::clone(&c)], &mut src, &cfg, Sinks::default()).unwrap();
        assert!(o.interrupted);
        o.scenarios.into_iter().next().unwrap()
    };
    let want = run(1, usize::MAX);
    assert!(want.counters.packets.total < pkts.len() as u64);
    assert!(want.flows.len() > 50);
    for workers in 1..=4 {
        let got = run(workers, 4);
        assert!(got.spool.spilled > 0);
        assert_eq!(got.counters, want.counters, "{workers} workers");
        assert!(
            got.flows == want.flows,
            "{workers} workers: flow log differs"
        );
        assert_eq!(entries(dir.path()), 0);
    }
}

/// The OKE fixture (its path and scenario) and a capture of `n` distinct
/// first packets drawn from it, in a new temporary directory.
fn distinct_capture(
    n: usize,
) -> (
    std::path::PathBuf,
    zprsim_control::model::Scenario,
    tempfile::TempDir,
    std::path::PathBuf,
) {
    let scenario = root().join(fixtures::OKE);
    let s = zprsim_dataplane::scenario_file::load_path(&scenario)
        .unwrap()
        .scenario;
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("distinct.pcap");
    zprsim_dataplane::synth::write_distinct_first_packets(
        &s,
        n,
        7,
        std::io::BufWriter::new(std::fs::File::create(&cap).unwrap()),
    )
    .unwrap();
    (scenario, s, dir, cap)
}

/// Through the command line, byte for byte: 70,000 distinct flows, more
/// than one worker's default spool holds (so one worker spills its run
/// to a file beside the flow log) and fewer than each of three workers
/// gets (so three keep everything in memory), give the same flow log; and
/// nothing is left beside it.
#[test]
fn the_cli_flow_log_is_the_same_spilled_or_not() {
    use assert_cmd::Command;
    let n = 70_000;
    assert!(n > engine::DEFAULT_FLOW_SPOOL);
    let (scenario, s, dir, cap) = distinct_capture(n);
    // In process: one worker spills, three do not.
    let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
    for (workers, spills) in [(1, true), (3, false)] {
        let cfg = ReplayConfig {
            workers,
            keep_flows: true,
            ..ReplayConfig::default()
        };
        let o = replay::replay(Arc::clone(&c), std::slice::from_ref(&cap), &cfg, None).unwrap();
        assert_eq!(o.spool.runs > 0, spills, "{workers} workers: {:?}", o.spool);
    }
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut logs = Vec::new();
    for workers in [1, 3] {
        let f = out.join(format!("flows{workers}.jsonl"));
        Command::cargo_bin("zprsim")
            .unwrap()
            .arg("replay")
            .arg(&scenario)
            .arg(&cap)
            .args(["--quiet", "--workers", &workers.to_string(), "--flows"])
            .arg(&f)
            .timeout(std::time::Duration::from_secs(120))
            .assert()
            .success();
        logs.push(std::fs::read(&f).unwrap());
    }
    assert_eq!(logs[0].iter().filter(|b| **b == b'\n').count(), n);
    assert!(logs[0] == logs[1], "the spilled flow log differs");
    assert_eq!(entries(&out), 2, "only the two flow logs are left");
}

/// Review: a flow log written to a device or pipe (`--flows /dev/fd/N`,
/// `--flows /dev/stdout`, a FIFO: written in place, `output.rs`) has no
/// directory of its own to spill into; a pass that spills (one worker,
/// more closed records than `DEFAULT_FLOW_SPOOL`) must still write the
/// whole log there, spilling to `$TMPDIR`, not fail on `/dev/fd`.
#[test]
fn a_flow_log_to_a_pipe_spills_to_the_temporary_directory() {
    use assert_cmd::Command;
    let n = 70_000;
    assert!(n > engine::DEFAULT_FLOW_SPOOL);
    let (scenario, _, dir, cap) = distinct_capture(n);
    let tmp = tempfile::tempdir().unwrap();
    let file = dir.path().join("flows.jsonl");
    let mut want = None;
    for flows in [file.clone(), PathBuf::from("/dev/fd/1")] {
        let out = Command::cargo_bin("zprsim")
            .unwrap()
            .env("TMPDIR", tmp.path())
            .arg("replay")
            .arg(&scenario)
            .arg(&cap)
            .args(["--quiet", "--workers", "1", "--flows"])
            .arg(&flows)
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "--flows {}: {}",
            flows.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let log = if flows == file {
            std::fs::read(&file).unwrap()
        } else {
            out.stdout
        };
        assert_eq!(log.iter().filter(|b| **b == b'\n').count(), n);
        match &want {
            None => want = Some(log),
            Some(w) => assert!(*w == log, "the flow log on a pipe differs"),
        }
    }
    assert_eq!(entries(tmp.path()), 0, "nothing left in $TMPDIR");
}
