//! The CLI contract (`/work/shared/spec/cli-contract.md`) as a test outside
//! the project reads it: the binary run on the shipped examples, every JSON
//! field the contract names checked for presence, type and the sums it
//! states. Nothing here looks inside the crates.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::run_in;

const S: &str = "examples/oke-orders/scenario.toml";
const AFTER: &str = "examples/oke-orders/proposed.toml";
const CAPTURE: &str = "pcaps/oke-demo.pcap";
const FLOW_LOG: &str = "examples/oke-orders/flowlogs/oke-demo.jsonl";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `zprsim ARGS` from the repository root: exit code, stdout.
fn zprsim(args: &[&str]) -> (i32, String) {
    let out = run_in(root(), args);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "{args:?}: exit {code}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, String::from_utf8(out.stdout).unwrap())
}

fn json(args: &[&str]) -> (i32, Value) {
    let (code, out) = zprsim(args);
    (code, serde_json::from_str(&out).unwrap())
}

/// Runs `zprsim ARGS --quiet --report - --flows FILE`: exit code, the
/// report and the flow lines.
fn with_flows(args: &[&str]) -> (i32, Value, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("f.jsonl");
    let mut all = args.to_vec();
    all.extend([
        "--quiet",
        "--report",
        "-",
        "--flows",
        flows.to_str().unwrap(),
    ]);
    let (code, report) = json(&all);
    let lines = crate::support::json_lines_of(&flows);
    (code, report, lines)
}

/// `v[key]` is present and a whole number.
fn uint(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("`{key}` is not a whole number in {v}"))
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {v}"))
}

/// `{total, allowed, dropped}` with total = allowed + dropped.
fn totals(v: &Value) -> u64 {
    let t = uint(v, "total");
    assert_eq!(t, uint(v, "allowed") + uint(v, "dropped"), "{v}");
    t
}

/// `dropped_by_stage` with the contract's five keys; their sum.
fn stages(v: &Value) -> u64 {
    [
        "route",
        "egress-security",
        "ingress-security",
        "zpr",
        "malformed",
    ]
    .iter()
    .map(|k| uint(v, k))
    .sum()
}

fn is_stage(v: &Value) -> bool {
    v.is_null()
        || ["route", "egress-security", "ingress-security", "zpr"]
            .contains(&v.as_str().unwrap_or_default())
}

#[test]
fn check_json_prints_the_counts_and_warnings() {
    let (code, c) = json(&["check", S, "--json"]);
    assert_eq!(code, 0);
    for k in [
        "vcns",
        "subnets",
        "vnics",
        "rules",
        "statements",
        "address_classes",
        "table_entries",
        "table_bytes",
    ] {
        assert!(uint(&c, k) > 0, "{k}");
    }
    assert!(num(&c, "compile_s") > 0.0);
    assert!(c["warnings"].is_array());
}

#[test]
fn explain_json_has_verdict_stage_layers_and_audit() {
    // Allowed: stage null, the four layers in order, each with its outcome.
    let (_, e) = json(&[
        "explain",
        S,
        "--src",
        "10.0.1.10",
        "--dst",
        "10.0.10.11",
        "--proto",
        "tcp",
        "--dport",
        "8080",
        "--json",
    ]);
    assert_eq!(e["verdict"], "allow");
    assert!(e["stage"].is_null());
    assert!(e["zpr_audit"].is_boolean());
    let layers: Vec<&str> = e["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            assert!(l["outcome"].is_string(), "{l}");
            l["layer"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        layers,
        ["route", "egress-security", "ingress-security", "zpr"]
    );
    // Dropped, with the protocol given as a number and ICMP options.
    let (_, e) = json(&[
        "explain",
        S,
        "--src",
        "10.0.2.11",
        "--dst",
        "10.0.0.5",
        "--proto",
        "1",
        "--icmp-type",
        "8",
        "--icmp-code",
        "0",
        "--json",
    ]);
    assert_eq!(e["verdict"], "drop");
    assert!(is_stage(&e["stage"]) && !e["stage"].is_null());
}

/// The fields `--flows` lines carry for captures and flow logs alike.
fn flow_line(f: &Value) {
    for k in ["src", "dst", "verdict", "community_id"] {
        assert!(f[k].is_string(), "{k}: {f}");
    }
    let proto = uint(f, "proto");
    let ports = proto == 6 || proto == 17;
    let icmp = proto == 1 || proto == 58;
    for k in ["sport", "dport"] {
        assert!(f[k].is_u64() || (!ports || f[k].is_null()), "{k}: {f}");
        assert!(ports || f[k].is_null(), "{k}: {f}");
    }
    for k in ["icmp_type", "icmp_code"] {
        assert!(icmp || f[k].is_null(), "{k}: {f}");
    }
    assert!(num(f, "first_ts") > 0.0);
    assert_eq!(
        uint(f, "packets"),
        uint(f, "allowed_packets") + uint(f, "dropped_packets")
    );
    uint(f, "bytes");
    assert!(is_stage(&f["stage"]));
    assert_eq!(f["stage"].is_null(), f["verdict"] == "allow", "{f}");
    assert!(f["community_id"].as_str().unwrap().starts_with("1:"));
}

fn replay_report(r: &Value) {
    let total = totals(&r["packets"]);
    totals(&r["bytes"]);
    assert_eq!(
        stages(&r["dropped_by_stage"]),
        uint(&r["packets"], "dropped")
    );
    assert!(total > 0);
    for k in ["zpr_audit_would_drop", "flows", "non_ip", "workers"] {
        uint(r, k);
    }
    assert!(r["warnings"].is_array());
    for k in ["compile_s", "duration_s", "packets_per_second"] {
        num(r, k);
    }
}

#[test]
fn replay_of_a_capture_writes_the_report_and_flow_lines_of_the_contract() {
    let (code, r, lines) = with_flows(&["replay", S, CAPTURE]);
    assert_eq!(code, 0);
    replay_report(&r);
    assert_eq!(lines.len() as u64, uint(&r, "flows"));
    for f in &lines {
        flow_line(f);
    }
    // Sorted by `first_ts` (docs/cli.md gives the order of ties).
    let ts: Vec<f64> = lines.iter().map(|f| num(f, "first_ts")).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
    let packets: u64 = lines.iter().map(|f| uint(f, "packets")).sum();
    assert_eq!(packets, uint(&r["packets"], "total"));
}

#[test]
fn replay_of_a_flow_log_adds_the_flow_log_object() {
    let (_, r) = json(&["replay", S, FLOW_LOG, "--quiet", "--report", "-"]);
    replay_report(&r);
    let fl = &r["flow_log"];
    for k in [
        "records",
        "judged",
        "skipped_nodata",
        "skipped_skipdata",
        "unplaced",
    ] {
        uint(fl, k);
    }
    let mut packets = 0;
    let mut bytes = 0;
    let mut records = 0;
    for k in ["accept_allow", "accept_drop", "reject_allow", "reject_drop"] {
        let a = &fl["agreement"][k];
        records += uint(a, "records");
        packets += uint(a, "packets");
        bytes += uint(a, "bytes");
    }
    // Counts of the report are the judged records' packets and bytesOut.
    assert_eq!(records, uint(fl, "judged"));
    assert_eq!(packets, uint(&r["packets"], "total"));
    assert_eq!(bytes, uint(&r["bytes"], "total"));
}

#[test]
fn diff_report_flow_lines_and_exit_codes() {
    let (code, d, lines) = with_flows(&["diff", S, AFTER, CAPTURE]);
    let classes = [
        "would_break",
        "newly_allowed",
        "reason_changed",
        "unchanged",
    ];
    let counts: Vec<u64> = classes.iter().map(|k| uint(&d["flows"], k)).collect();
    // The default --fail-on is would-break.
    assert_eq!(code, i32::from(counts[0] > 0));
    for k in ["total", "would_break", "newly_allowed"] {
        uint(&d["packets"], k);
    }
    for side in ["before", "after"] {
        let t = totals(&d[side]["packets"]);
        totals(&d[side]["bytes"]);
        assert_eq!(t, uint(&d["packets"], "total"));
        assert_eq!(
            stages(&d[side]["dropped_by_stage"]),
            uint(&d[side]["packets"], "dropped")
        );
    }
    assert!(d["warnings"].is_array());
    // One line per flow that is not unchanged.
    assert_eq!(
        lines.len() as u64,
        counts[0] + counts[1] + counts[2],
        "{lines:?}"
    );
    for f in &lines {
        flow_line(f);
        assert!(
            ["would-break", "newly-allowed", "reason-changed"]
                .contains(&f["class"].as_str().unwrap())
        );
        for side in ["before", "after"] {
            let s = &f[side];
            assert!(s["verdict"] == "allow" || s["verdict"] == "drop", "{f}");
            assert!(is_stage(&s["stage"]));
            uint(s, "allowed_packets");
            uint(s, "dropped_packets");
        }
    }
    // A scenario against itself: every flow unchanged, exit 0.
    let (code, _) = zprsim(&["diff", S, S, CAPTURE, "--quiet"]);
    assert_eq!(code, 0);
}

#[test]
fn verify_json_lists_paths_pairs_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let expect = dir.path().join("e.toml");
    std::fs::write(
        &expect,
        r#"
[[path]]
name = "workers-to-api"
from = "subnet:workers"
to = "vnic:k8s-api-endpoint"
proto = "tcp"
dport = 6443
expect = "allow"

[[path]]
name = "workers-to-api-ssh"
from = "subnet:workers"
to = "vnic:k8s-api-endpoint"
proto = "tcp"
dport = "22-23"
expect = "allow"
why = "planted failure"
"#,
    )
    .unwrap();
    let (code, v) = json(&["verify", S, expect.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1);
    assert_eq!(uint(&v, "failed"), 1);
    let paths = v["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 2);
    for p in paths {
        assert!(p["name"].is_string() && p["expect"] == "allow");
        assert_eq!(uint(p, "pairs"), 2, "{p}");
        assert!(p["ok"].is_boolean());
        let failed = p["failed"].as_array().unwrap();
        assert_eq!(failed.is_empty(), p["ok"] == true);
        for f in failed {
            assert!(f["src"].is_string() && f["dst"].is_string(), "{f}");
            assert_eq!(f["verdict"], "drop");
            assert!(is_stage(&f["stage"]) && !f["stage"].is_null());
            assert!(f["rule"].is_string(), "{f}");
        }
    }
}

#[test]
fn bench_json_has_runs_with_rates_scaling_and_latency() {
    let (code, b) = json(&[
        "bench",
        S,
        "--packets",
        "2000",
        "--workers",
        "1,2",
        "--json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(totals(&b["packets"]), 2000);
    assert_eq!(
        stages(&b["dropped_by_stage"]),
        uint(&b["packets"], "dropped")
    );
    num(&b, "compile_s");
    assert!(uint(&b, "table_bytes") > 0);
    assert!(num(&b, "baseline_pps") > 0.0);
    let runs = b["runs"].as_array().unwrap();
    assert_eq!(
        runs.iter().map(|r| uint(r, "workers")).collect::<Vec<_>>(),
        [1, 2]
    );
    for r in runs {
        for k in [
            "packets_per_second",
            "per_worker_pps",
            "scaling",
            "fraction_of_baseline",
        ] {
            assert!(num(r, k) > 0.0, "{k}: {r}");
        }
        let l = &r["latency_ns"];
        let q: Vec<u64> = ["p50", "p90", "p99", "p999"]
            .iter()
            .map(|k| uint(l, k))
            .collect();
        assert!(q.windows(2).all(|w| w[0] <= w[1]), "{l}");
    }
}

/// "130 or 143 when SIGINT or SIGTERM ended the run, after every output
/// was finished ... and the report says `"interrupted": true`": a tap
/// ends only so, and exited 143 with a report that had no `interrupted`
/// at all (its `--status` snapshots, written while it runs, say `false`).
/// Needs root and /dev/net/tun (to create the TAP device); skipped
/// without them.
#[test]
fn a_tap_ended_by_a_signal_reports_interrupted() {
    use std::process::{Command, Stdio};
    let root_user = std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:\t0\t")));
    if !root_user || !std::path::Path::new("/dev/net/tun").exists() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"contract::a_tap_ended_by_a_signal_reports_interrupted: skipped (needs root and /dev/net/tun)\n",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let status = dir.path().join("s.json");
    // A device name of its own (at most 15 bytes), gone with the process.
    let iface = format!("zqc{}", std::process::id() % 100_000);
    let mut tap = Command::new(assert_cmd::cargo::cargo_bin("zprsim"))
        .current_dir(root())
        .args([
            "tap",
            "tests/lab/scenario.toml",
            "--attach",
            &format!("web={iface}"),
            "--quiet",
            "--report",
            report.to_str().unwrap(),
            "--status",
            status.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Running once its first status snapshot is in place.
    let t0 = std::time::Instant::now();
    while !status.exists() && t0.elapsed() < std::time::Duration::from_secs(60) {
        if let Some(s) = tap.try_wait().unwrap() {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(&mut tap.stderr.take().unwrap(), &mut err);
            panic!("tap ended early ({s}): {err}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let snapshot: Value = serde_json::from_str(&std::fs::read_to_string(&status).unwrap()).unwrap();
    assert_eq!(snapshot["interrupted"], false, "{snapshot}");
    assert!(snapshot["stopped_by"].is_null(), "{snapshot}");
    let _ = Command::new("kill")
        .args(["-TERM", &tap.id().to_string()])
        .status();
    assert_eq!(tap.wait().unwrap().code(), Some(143));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["interrupted"], true, "{r}");
    assert_eq!(r["stopped_by"], "sigterm", "{r}");
    assert_eq!(r["running"], false, "{r}");
    for k in ["overload", "undeliverable", "non_ip", "flows", "workers"] {
        uint(&r, k);
    }
    totals(&r["packets"]);
}
