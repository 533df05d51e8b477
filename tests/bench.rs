//! `zprsim bench`: synthetic traffic reproducible from the seed and
//! covering every stage of the OKE example; the counts it reports equal a
//! `replay` of the same packets; timing fields present and sane (never
//! thresholds); arguments and limits checked before any work.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use zprsim_control::compile::{Compiled, Config};
use zprsim_dataplane::bench::{synth_config, synthesize};
use zprsim_dataplane::synth::Allowed;

const OKE: &str = "examples/oke-orders/scenario.toml";
const DEMO: &str = "pcaps/oke-demo.pcap";
/// Small enough for a debug build, large enough that every stage decides.
const PACKETS: &str = "20000";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn zprsim(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

fn bench_json(args: &[&str]) -> Value {
    let mut all = vec!["bench", OKE, "--json"];
    all.extend_from_slice(args);
    let o = zprsim(&all);
    assert!(
        o.status.success(),
        "{all:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn n(v: &Value, p: &str) -> u64 {
    v.pointer(p)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no number at {p}: {v}"))
}

fn f(v: &Value, p: &str) -> f64 {
    v.pointer(p)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {p}: {v}"))
}

const STAGES: [&str; 4] = ["route", "egress-security", "ingress-security", "zpr"];

/// The verdict mix: packets and drops by stage.
fn mix(v: &Value) -> Vec<u64> {
    let mut m = vec![
        n(v, "/packets/total"),
        n(v, "/packets/allowed"),
        n(v, "/packets/dropped"),
    ];
    for s in STAGES.iter().chain(&["malformed"]) {
        m.push(n(v, &format!("/dropped_by_stage/{s}")));
    }
    m
}

/// The OKE example's scenario, loaded as `bench` loads it.
fn oke() -> zprsim_control::model::Scenario {
    zprsim_dataplane::scenario_file::load_path(&root().join(OKE))
        .unwrap()
        .scenario
}

#[test]
fn synthetic_traffic_is_reproducible_from_the_seed_and_covers_every_stage() {
    let s = oke();
    // The packets themselves: the same seed gives the same bytes.
    let a = synthesize(&s, &synth_config(&s, 5000, 100, 9), None, 1 << 30).unwrap();
    let b = synthesize(&s, &synth_config(&s, 5000, 100, 9), None, 1 << 30).unwrap();
    let c = synthesize(&s, &synth_config(&s, 5000, 100, 10), None, 1 << 30).unwrap();
    assert_eq!(a.0.inputs[0].bytes, b.0.inputs[0].bytes);
    assert_eq!(a.1, b.1);
    assert_ne!(a.0.inputs[0].bytes, c.0.inputs[0].bytes);
    assert_eq!(a.0.records(), 5000);

    // And through the command: the same verdict mix, with any workers.
    let one = bench_json(&["--packets", PACKETS, "--seed", "3", "--workers", "1"]);
    let two = bench_json(&["--packets", PACKETS, "--seed", "3", "--workers", "2"]);
    let other = bench_json(&["--packets", PACKETS, "--seed", "4", "--workers", "1"]);
    assert_eq!(mix(&one), mix(&two));
    assert_eq!(one["synthetic"], two["synthetic"]);
    assert_ne!(mix(&one), mix(&other), "another seed, other packets");
    assert_eq!(n(&one, "/packets/total"), 20_000);
    // Every stage of the OKE example decides some packets, and some pass.
    assert!(n(&one, "/packets/allowed") > 0, "{one}");
    for st in STAGES {
        assert!(
            n(&one, &format!("/dropped_by_stage/{st}")) > 0,
            "{st}: {one}"
        );
    }
    assert_eq!(
        n(&one, "/packets/allowed") + n(&one, "/packets/dropped"),
        n(&one, "/packets/total")
    );
    // Random pairs of hosts only: far fewer allowed (the OKE example is strict).
    let random = bench_json(&[
        "--packets",
        PACKETS,
        "--seed",
        "3",
        "--workers",
        "1",
        "--allowed-share",
        "0",
    ]);
    assert!(
        n(&random, "/packets/allowed") * 2 < n(&one, "/packets/allowed"),
        "{random}\n{one}"
    );
}

/// Writes the packets `bench --seed S --packets N` measures to `path`
/// (its default `--allowed-share` is 0.8).
fn write_synthetic(path: &Path, packets: usize, seed: u64) {
    let s = oke();
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let allowed = Allowed {
        compiled: &c,
        share: 0.8,
    };
    let cfg = synth_config(&s, packets, packets / 50, seed);
    let (t, _) = synthesize(&s, &cfg, Some(allowed), 1 << 30).unwrap();
    std::fs::write(path, &t.inputs[0].bytes).unwrap();
}

#[test]
fn bench_counts_equal_a_replay_of_the_same_packets() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("synthetic.pcap");
    write_synthetic(&pcap, 20_000, 5);
    let report = dir.path().join("r.json");
    let o = zprsim(&[
        "replay",
        OKE,
        pcap.to_str().unwrap(),
        "--quiet",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let replay: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();

    let synthetic = bench_json(&["--packets", PACKETS, "--seed", "5", "--workers", "1,2"]);
    let captured = bench_json(&["--capture", pcap.to_str().unwrap(), "--workers", "2"]);
    for b in [&synthetic, &captured] {
        assert_eq!(mix(b), mix(&replay), "bench {b}\nreplay {replay}");
        assert_eq!(n(b, "/non_ip"), n(&replay, "/non_ip"));
        for run in b["runs"].as_array().unwrap() {
            assert_eq!(n(run, "/connections"), n(&replay, "/connections/created"));
            assert_eq!(n(run, "/flows"), n(&replay, "/flows"));
        }
    }
    // `--workers 2` measures one worker too: scaling is over it.
    let workers: Vec<u64> = captured["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| n(r, "/workers"))
        .collect();
    assert_eq!(workers, [1, 2]);
}

#[test]
fn timing_fields_are_present_and_sane() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("b.csv");
    let v = bench_json(&[
        "--packets",
        "5000",
        "--workers",
        "1,2",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    let positive = |x: f64, what: &str| assert!(x.is_finite() && x > 0.0, "{what} = {x}: {v}");
    positive(f(&v, "/compile_s"), "compile_s");
    positive(f(&v, "/load_s"), "load_s");
    positive(f(&v, "/baseline_pps"), "baseline_pps");
    // More than the trie's two 256 KiB roots (since the service maps
    // went into blocks, 787 KB fewer, the fixture's tables are under 1 MiB).
    assert!(n(&v, "/table_bytes") > 1 << 19);
    assert!(n(&v, "/peak_memory_bytes") > n(&v, "/traffic_bytes"));
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        for k in [
            "packets_per_second",
            "per_worker_pps",
            "scaling",
            "fraction_of_baseline",
            "duration_s",
        ] {
            positive(f(r, &format!("/{k}")), k);
        }
        let lat: Vec<u64> = ["p50", "p90", "p99", "p999"]
            .iter()
            .map(|p| n(r, &format!("/latency_ns/{p}")))
            .collect();
        assert!(
            lat[0] > 0 && lat.windows(2).all(|w| w[0] <= w[1]),
            "{lat:?}"
        );
        let (pps, per) = (f(r, "/packets_per_second"), f(r, "/per_worker_pps"));
        let w = f(r, "/workers");
        assert!((per * w - pps).abs() <= pps * 1e-9);
        let frac = f(r, "/fraction_of_baseline");
        assert!((frac * f(&v, "/baseline_pps") - per).abs() <= per * 1e-9);
    }
    assert!((f(&runs[0], "/scaling") - 1.0).abs() < 1e-12);
    assert!(v["latency_note"].as_str().unwrap().contains("divided by"));
    // The CSV: a header and one row per worker count, the JSON's numbers.
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("workers,packets_per_second,per_worker_pps,scaling,"));
    assert!(lines[1].starts_with("1,") && lines[2].starts_with("2,"));
    let cols: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(cols[11], "5000");
    // No temporary file left beside the target.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn the_table_names_every_measure() {
    let o = zprsim(&["bench", OKE, "--packets", "3000", "--workers", "1"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = String::from_utf8(o.stdout).unwrap();
    for want in [
        "3000 synthetic packet(s)",
        "compiled in",
        "drops by stage: route ",
        "bare stateful loop on the same packets",
        "p99.9 ns",
        "divided by its size",
        "peak memory",
    ] {
        assert!(t.contains(want), "{want:?} not in\n{t}");
    }
}

fn usage_error(args: &[&str], want: &str) {
    let mut all = vec!["bench", OKE];
    all.extend_from_slice(args);
    let o = zprsim(&all);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{all:?}: {err}");
    assert!(err.contains(want), "{all:?}: {want:?} not in {err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn arguments_and_limits_are_checked_before_any_work() {
    usage_error(
        &["--packets", "0"],
        "error: `--packets 0`: expected at least 1 packet",
    );
    usage_error(
        &["--workers", "0,2"],
        "error: `--workers 0,2`: 0 is out of range",
    );
    usage_error(&["--workers", "1,x"], "`x` is not a number");
    usage_error(&["--workers", "2,2"], "2 is given twice");
    usage_error(&["--workers", "65"], "65 is out of range");
    usage_error(&["--packets", "10", "--flows", "11"], "error: `--flows 11`");
    usage_error(&["--flows", "0"], "error: `--flows 0`");
    usage_error(
        &["--packets", "100000000", "--memory-limit", "64"],
        "memory limit",
    );
    usage_error(&["--csv", OKE], "error: ");
    usage_error(&["--allowed-share", "1.5"], "expected a share from 0 to 1");
    // What was given, as given (QA round 24: `nan` was echoed `NaN`).
    for given in ["nan", "NaN", "infinity", "-inf", "-0.5", "0x1", "1,5"] {
        usage_error(
            &[&format!("--allowed-share={given}")],
            &format!("'{given}' for '--allowed-share <F>': expected a share from 0 to 1"),
        );
    }
    usage_error(&["--json", "--csv", "-"], "give `--csv` a file");

    let dir = tempfile::tempdir().unwrap();
    // Captures over the memory limit are refused from their size.
    let big = dir.path().join("big.pcap");
    write_synthetic(&big, 20_000, 1);
    assert!(std::fs::metadata(&big).unwrap().len() > 1 << 20);
    usage_error(
        &["--capture", big.to_str().unwrap(), "--memory-limit", "1"],
        "the memory limit is 1.0 MiB",
    );
    // --capture with synthetic-only flags.
    usage_error(
        &["--capture", big.to_str().unwrap(), "--seed", "2"],
        "cannot be used with",
    );
    // Not a capture, and a capture cut inside a record header: the byte offset.
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"this is not a capture at all, not even close").unwrap();
    usage_error(
        &["--capture", junk.to_str().unwrap()],
        "not a pcap or pcapng file",
    );
    let missing = dir.path().join("missing.pcap");
    usage_error(&["--capture", missing.to_str().unwrap()], "missing.pcap");
}

#[test]
fn bench_on_every_kind_of_capture_counts_as_replay_does() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "oke-demo.pcap",
        "linux_sll.pcap",
        "two_linktypes.pcapng",
        "truncated_records.pcap",
        "truncated_file.pcap",
        "vlan_qinq.pcap",
        "non_ip.pcap",
    ] {
        let pcap = format!("pcaps/{name}");
        let report = dir.path().join(format!("{name}.json"));
        let o = zprsim(&[
            "replay",
            OKE,
            &pcap,
            "--quiet",
            "--report",
            report.to_str().unwrap(),
        ]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let replay: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let o = zprsim(&[
            "bench",
            OKE,
            "--capture",
            &pcap,
            "--workers",
            "1,3",
            "--json",
        ]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let b: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(mix(&b), mix(&replay), "{name}");
        assert_eq!(n(&b, "/non_ip"), n(&replay, "/non_ip"), "{name}");
        let warnings = b["warnings"].to_string();
        if name == "truncated_file.pcap" {
            assert!(warnings.contains("file ends inside a record"), "{b}");
        }
        if name == "linux_sll.pcap" {
            // No Ethernet frame: no baseline, and the user is told.
            assert_eq!(n(&b, "/baseline_packets"), 0);
            assert!(f(&b, "/baseline_pps").abs() < f64::EPSILON);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains("warning: the bare loop found no Ethernet IP packet"),
                "{err}"
            );
        }
    }
}

/// `bench --capture F` with `--dedup`, `--decap vxlan` or `--node-local`
/// judges what `replay` with the same flag judges: the same verdicts,
/// drops by stage and records left out or opened, for 1 and 2 workers;
/// and the flag changes what is judged (the plain bench counts more).
#[test]
fn bench_with_capture_flags_counts_as_replay_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::capture_shapes::demo(d);
    let demo = d.join("demo.pcap");
    crate::capture_shapes::with_copies(&demo, &d.join("copies.pcapng"));
    crate::capture_shapes::vtap_capture(&demo, &d.join("vtap.pcap"));
    crate::explain_shapes::reshape(&demo, &d.join("node.pcapng"), true, true);
    let cases: [(&str, &[&str], &str); 4] = [
        ("copies.pcapng", &["--dedup"], "/copies"),
        ("vtap.pcap", &["--decap", "vxlan"], "/decapsulated"),
        (
            "node.pcapng",
            &["--node-local", "10.96.0.0/16"],
            "/node_local",
        ),
        (
            "node.pcapng",
            &["--dedup", "--node-local", "10.96.0.0/16"],
            "/node_local",
        ),
    ];
    for (capture, flags, field) in cases {
        let path = d.join(capture);
        let report = d.join("r.json");
        let mut args = vec![
            "replay",
            OKE,
            path.to_str().unwrap(),
            "--quiet",
            "--report",
            report.to_str().unwrap(),
        ];
        args.extend_from_slice(flags);
        let o = zprsim(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let replay: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        assert!(n(&replay, field) > 0, "{capture} {flags:?}");
        let mut args = vec!["--capture", path.to_str().unwrap(), "--workers", "1,2"];
        args.extend_from_slice(flags);
        let b = bench_json(&args);
        assert_eq!(mix(&b), mix(&replay), "{capture} {flags:?}");
        for k in ["/non_ip", "/copies", "/decapsulated", "/node_local"] {
            assert_eq!(n(&b, k), n(&replay, k), "{capture} {flags:?} {k}");
        }
        let plain = bench_json(&["--capture", path.to_str().unwrap(), "--workers", "1"]);
        assert!(
            mix(&plain) != mix(&b),
            "{capture} {flags:?}: the flag changed nothing"
        );
        assert_eq!(n(&plain, field), 0);
    }
    // Synthetic traffic has no capture to shape: a usage error.
    for flag in [
        &["--dedup"][..],
        &["--decap", "vxlan"],
        &["--node-local", "10.96.0.0/16"],
    ] {
        let mut args = vec!["bench", OKE, "--packets", "100"];
        args.extend_from_slice(flag);
        assert_eq!(zprsim(&args).status.code(), Some(2), "{flag:?}");
    }
}

/// A capture given twice (under two names) is measured once, with the
/// `same-file` warning `replay` gives; `bench` measured it twice (QA). A
/// directory is its files, as for `replay`.
#[test]
fn a_capture_given_twice_is_measured_once_and_a_directory_is_its_files() {
    let once = bench_json(&["--capture", DEMO, "--workers", "1"]);
    let twice = bench_json(&["--capture", DEMO, &format!("./{DEMO}"), "--workers", "1"]);
    assert_eq!(twice["packets"], once["packets"]);
    let w = &twice["run_warnings"];
    assert_eq!(w.as_array().map(Vec::len), Some(1), "{w}");
    assert_eq!(w[0]["code"], "same-file", "{w}");
    // A directory stands for the files under it, as for `replay` (it was
    // refused: "is a directory, not a file"): the demo and a zstd copy.
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    std::fs::write(dir.path().join("a.pcap"), &demo).unwrap();
    std::fs::write(
        dir.path().join("b.pcap.zst"),
        zstd::stream::encode_all(&demo[..], 3).unwrap(),
    )
    .unwrap();
    let both = bench_json(&["--capture", dir.path().to_str().unwrap(), "--workers", "1"]);
    assert_eq!(
        n(&both, "/packets/total"),
        2 * n(&once, "/packets/total"),
        "{both}"
    );
}
