//! `diff` against recorded outputs: the report (less its timing), the
//! `--flows` lines and the summary of every fixture capture and of random
//! scenarios with one rule or statement removed, each run with 1, 2 and 3
//! workers and with a small `--max-connections` (flow records evicted),
//! byte for byte equal to what the implementation before the diff moved
//! into the engine (a second parse and flow table in the CLI, every flow
//! held to the end) wrote, recorded in `tests/snapshots/diff_oracle/`.
//!
//! `ZPRSIM_RECORD_DIFF=1` writes the snapshots instead of comparing (only
//! for a change of the outputs that is meant, said in its commit). The
//! random cases come from fixed seeds through `zprsim_bench::random`: a
//! change of that generator changes them too and needs them recorded again.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use zprsim_bench::flowlogs;
use zprsim_bench::random::{address_pool, random_scenario};
use zprsim_bench::scale::to_toml;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::load;
use zprsim_control::model::Scenario;

use crate::diff::{remove_one, write_capture};
use crate::replay_oracle::{reference, traffic};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn snapshot_dir() -> PathBuf {
    root().join("tests/snapshots/diff_oracle")
}

/// One `diff` run's outputs, normalised: `dir` written `$DIR`, the report's
/// `duration_s` and `workers` left out, and its `run_warnings` (checked
/// against `warnings`).
fn run(dir: &Path, before: &str, after: &str, captures: &[String], extra: &[&str]) -> String {
    let report = dir.join("oracle-r.json");
    let flows = dir.join("oracle-f.jsonl");
    let _ = std::fs::remove_file(&report);
    let _ = std::fs::remove_file(&flows);
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .arg("diff")
        .arg(before)
        .arg(after)
        .args(captures)
        .arg("--report")
        .arg(&report)
        .arg("--flows")
        .arg(&flows)
        .args(extra)
        .output()
        .unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let mut r: Value = serde_json::from_str(&read(&report)).unwrap_or(Value::Null);
    if let Some(m) = r.as_object_mut() {
        m.remove("duration_s");
        m.remove("workers");
        // Added after the recording: `warnings` as objects, one each.
        let objects = m
            .remove("run_warnings")
            .expect("a report has `run_warnings`");
        let messages: Vec<&Value> = objects
            .as_array()
            .unwrap()
            .iter()
            .map(|w| &w["message"])
            .collect();
        let texts: Vec<&Value> = m["warnings"].as_array().unwrap().iter().collect();
        assert_eq!(messages, texts, "run_warnings against warnings");
    }
    let d = dir.to_str().unwrap();
    let mut t = String::new();
    let _ = writeln!(t, "## exit {:?}", o.status.code());
    let _ = writeln!(t, "## stdout\n{}", String::from_utf8_lossy(&o.stdout));
    let _ = writeln!(t, "## stderr\n{}", String::from_utf8_lossy(&o.stderr));
    let _ = writeln!(
        t,
        "## report\n{}",
        serde_json::to_string_pretty(&r).unwrap()
    );
    let _ = writeln!(t, "## flows\n{}", read(&flows));
    t.replace(d, "$DIR")
}

/// Compares (or with `ZPRSIM_RECORD_DIFF` records) case `name` for 1, 2
/// and 3 workers.
fn check(dir: &Path, name: &str, before: &str, after: &str, captures: &[String], extra: &[&str]) {
    let path = snapshot_dir().join(format!("{name}.txt"));
    let mut outs = Vec::new();
    for w in ["1", "2", "3"] {
        let mut args = extra.to_vec();
        args.extend(["--workers", w]);
        outs.push((w, run(dir, before, after, captures, &args)));
    }
    if std::env::var_os("ZPRSIM_RECORD_DIFF").is_some() {
        std::fs::create_dir_all(snapshot_dir()).unwrap();
        let (_, first) = &outs[0];
        for (w, o) in &outs {
            assert_eq!(
                o, first,
                "{name}: {w} workers differ from 1 while recording"
            );
        }
        std::fs::write(&path, first).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (record with ZPRSIM_RECORD_DIFF=1)", path.display()));
    for (w, o) in &outs {
        if *o != want {
            let at = o
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{name}, {w} worker(s): differs from {} at line {}:\n  got  {:?}\n  want {:?}",
                path.display(),
                at + 1,
                o.lines().nth(at),
                want.lines().nth(at)
            );
        }
    }
}

const OKE: &str = "examples/oke-orders/scenario.toml";
const PROPOSED: &str = "examples/oke-orders/proposed.toml";

#[test]
fn diff_on_the_fixture_captures_equals_the_recorded_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let mut pcaps: Vec<String> = std::fs::read_dir(root().join("pcaps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    pcaps.sort();
    assert!(pcaps.len() >= 10, "{pcaps:?}");
    for p in &pcaps {
        let cap = vec![format!("pcaps/{p}")];
        let name = format!("fixture-{}", p.replace('.', "_"));
        check(dir.path(), &name, OKE, PROPOSED, &cap, &[]);
    }
    let demo = vec!["pcaps/oke-demo.pcap".to_owned()];
    check(dir.path(), "oke-reversed", PROPOSED, OKE, &demo, &[]);
    check(dir.path(), "oke-itself", OKE, OKE, &demo, &[]);
    // Every fixture as one stream, flow records evicted (256 at most).
    let all: Vec<String> = pcaps.iter().map(|p| format!("pcaps/{p}")).collect();
    check(
        dir.path(),
        "fixtures-all-evicting",
        OKE,
        PROPOSED,
        &all,
        &["--max-connections", "1", "--fail-on", "none"],
    );
}

/// Random case `seed`: a random scenario and the same with up to four
/// rules or statements removed, each kept only when the reference says it
/// changes a packet, and 600 packets of traffic through it.
fn random_case(seed: u64) -> (Scenario, Scenario, Vec<crate::replay_oracle::Pkt>) {
    let mut rng = ChaCha8Rng::seed_from_u64(91_000 + seed);
    let s = random_scenario(&mut rng);
    let sb = load::from_toml_str(&to_toml(&s), "b").unwrap().scenario;
    let pool = address_pool(&sb);
    let pkts = traffic(&mut rng, &sb, &pool, 600);
    // Up to four removals, each kept only when the reference says it
    // changes a packet (with many NSGs per VNIC most single rules are
    // redundant), so that flows of every class come up.
    let mut n = 0;
    let mut now = reference(&sb, &pkts, &mut n);
    let mut after = s.clone();
    let mut kept = 0;
    for _ in 0..16 {
        let mut a = after.clone();
        if remove_one(&mut rng, &mut a).is_none() {
            break;
        }
        let sa = load::from_toml_str(&to_toml(&a), "a").unwrap().scenario;
        let va = reference(&sa, &pkts, &mut n);
        if va != now {
            after = a;
            now = va;
            kept += 1;
            if kept == 4 {
                break;
            }
        }
    }
    (s, after, pkts)
}

#[test]
fn diff_on_random_scenarios_equals_the_recorded_outputs() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..10u64 {
        let (s, after, pkts) = random_case(seed);
        let bp = dir.path().join(format!("b{seed}.toml"));
        let ap = dir.path().join(format!("a{seed}.toml"));
        std::fs::write(&bp, to_toml(&s)).unwrap();
        std::fs::write(&ap, to_toml(&after)).unwrap();
        let cap = dir.path().join(format!("c{seed}.pcap"));
        write_capture(&cap, &pkts);
        let caps = vec![cap.to_str().unwrap().to_owned()];
        let (b, a) = (bp.to_str().unwrap(), ap.to_str().unwrap());
        check(dir.path(), &format!("random-{seed}"), b, a, &caps, &[]);
        if seed % 3 == 0 {
            check(
                dir.path(),
                &format!("random-{seed}-evicting"),
                a,
                b,
                &caps,
                &["--max-connections", "1"],
            );
        }
    }
}

/// `diff` on flow logs against outputs recorded before its logic moved
/// from the binary into the dataplane: the OKE example's log both ways,
/// beside its gzip copy (duplicates), with an AFTER that places only some
/// of the records (one-sided records), with every record spilled, and the
/// logs OCI would write for random scenarios' traffic.
#[test]
fn diff_on_flow_logs_equals_the_recorded_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let log = vec!["examples/oke-orders/flowlogs/oke-demo.jsonl".to_owned()];
    check(dir.path(), "flowlog-oke", OKE, PROPOSED, &log, &[]);
    check(dir.path(), "flowlog-oke-reversed", PROPOSED, OKE, &log, &[]);
    let both = vec![
        log[0].clone(),
        "examples/oke-orders/flowlogs/oke-demo.jsonl.gz".to_owned(),
    ];
    check(
        dir.path(),
        "flowlog-oke-duplicates-spilled",
        OKE,
        PROPOSED,
        &both,
        &["--flow-log-buffer", "1", "--fail-on", "none"],
    );
    // AFTER without worker-1's id (its policy files beside it).
    let text = std::fs::read_to_string(root().join(PROPOSED)).unwrap();
    let one_sided = dir.path().join("one-sided.toml");
    std::fs::write(
        &one_sided,
        text.replace("okeordersworker1\"", "okeordersworkerX\""),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    for e in std::fs::read_dir(root().join("examples/oke-orders/policies")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join("policies").join(e.file_name())).unwrap();
    }
    let one_sided = one_sided.to_str().unwrap().to_owned();
    check(
        dir.path(),
        "flowlog-oke-one-sided",
        OKE,
        &one_sided,
        &log,
        &[],
    );
    for seed in [0u64, 1, 4] {
        let (mut s, mut after, pkts) = random_case(seed);
        // Every VNIC logs: the same `id` on both sides.
        for sc in [&mut s, &mut after] {
            for (i, v) in sc.vnics.iter_mut().enumerate() {
                v.id = Some(format!("ocid1.vnic.oc1..random{i}"));
            }
        }
        let bp = dir.path().join(format!("fb{seed}.toml"));
        let ap = dir.path().join(format!("fa{seed}.toml"));
        std::fs::write(&bp, to_toml(&s)).unwrap();
        std::fs::write(&ap, to_toml(&after)).unwrap();
        let cap = dir.path().join(format!("fc{seed}.pcap"));
        write_capture(&cap, &pkts);
        let sb = load::from_toml_str(&to_toml(&s), "b").unwrap().scenario;
        let cb = Compiled::new(&sb, &Config::default()).unwrap();
        let recs = flowlogs::records_from_capture(&sb, &cb, &std::fs::read(&cap).unwrap());
        assert!(recs.len() > 50, "seed {seed}: {} records", recs.len());
        let entries: Vec<_> = recs
            .iter()
            .enumerate()
            .map(|(n, r)| flowlogs::entry(r, n as u64))
            .collect();
        let lp = dir.path().join(format!("fl{seed}.jsonl"));
        std::fs::write(&lp, flowlogs::json_lines(&entries)).unwrap();
        let logs = vec![lp.to_str().unwrap().to_owned()];
        let (b, a) = (bp.to_str().unwrap(), ap.to_str().unwrap());
        check(
            dir.path(),
            &format!("flowlog-random-{seed}"),
            b,
            a,
            &logs,
            &[],
        );
        check(
            dir.path(),
            &format!("flowlog-random-{seed}-reversed-spilled"),
            a,
            b,
            &logs,
            &["--flow-log-buffer", "3"],
        );
    }
}
