//! OCI VCN flow logs as traffic (`zprsim replay SCENARIO FLOWLOG...`):
//!
//! - `Compiled::judge_side` against the reference evaluator's per-layer
//!   report, on the differential test's random scenarios and packets;
//! - the committed OKE flow-log fixtures are what the generator writes, and
//!   the three forms (JSON lines, gzip, array) give the same report;
//! - records made from `pcaps/oke-demo.pcap` get, record by record, the
//!   action the packet engine gave their packets: the only disagreements
//!   are the two planted ones; the agreement matrix is exact;
//! - every malformed-record class is a counted skip naming its line, a
//!   document that is not JSON an error with line and column, never a panic;
//! - mixing captures and flow logs is a usage error.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::support::random_context;
use assert_cmd::Command;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use zprsim_bench::random::{
    Shape, address_pool_shaped, random_packet_shaped, random_scenario_shaped, vnic_addresses,
};
use zprsim_bench::{fixtures, flowlogs};
use zprsim_control::compile::side::Side;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::eval;
use zprsim_control::verdict::{Context, Outcome, Stage, Verdict};
use zprsim_dataplane::flowlog::read::{Limits, ReadOutcome, read_from, read_path};
use zprsim_dataplane::scenario_file::load_path;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check_ok(o: Outcome) -> bool {
    matches!(
        o,
        Outcome::Allowed | Outcome::AllowedTracked | Outcome::AuditWouldDeny
    )
}

#[test]
fn judge_side_agrees_with_the_reference_evaluator() {
    judge_side_agrees_on(&Shape::classic(), "ZPRSIM_DIFF_SEEDS", 150);
}

/// The same on the edge shapes (`Shape::edges`: IPv6, ICMP errors,
/// fragments, numbered protocols, VNICs in up to 6 NSGs, ...).
#[test]
fn judge_side_agrees_with_the_reference_evaluator_on_edge_shapes() {
    judge_side_agrees_on(&Shape::edges(), "ZPRSIM_EDGE_SEEDS", 150);
}

fn judge_side_agrees_on(shape: &Shape, seeds_var: &str, default_seeds: u64) {
    let seeds: u64 = std::env::var(seeds_var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default_seeds);
    let mut seen = [0usize; 6];
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s = random_scenario_shaped(&mut rng, shape);
        let c = Compiled::new(&s, &Config::default()).unwrap();
        let pool = address_pool_shaped(&s, shape);
        let vnics = vnic_addresses(&s);
        for _ in 0..200 {
            let p = random_packet_shaped(&mut rng, &pool, &vnics, shape);
            let ctx = random_context(&mut rng, 0.7);
            let r = eval::evaluate(&s, &p, ctx);
            let e = c.judge_side(&p, ctx, Side::Source).judgement;
            let i = c.judge_side(&p, ctx, Side::Destination).judgement;
            let full = c.judge(&p, ctx);
            let what = format!(
                "seed {seed}: {p} {ctx:?}: reference {:?}, source {e:?}, destination {i:?}",
                r.judgement
            );
            let from_vnic = matches!(
                zprsim_control::model::endpoint_of(&s, p.src),
                zprsim_control::model::Endpoint::Vnic(_)
            );
            let both = e.verdict == Verdict::Allow && i.verdict == Verdict::Allow;
            assert_eq!(both, r.judgement.verdict == Verdict::Allow, "{what}");
            match r.judgement.stage {
                None => {
                    seen[0] += 1;
                    assert_eq!(r.judgement.zpr_audit, e.zpr_audit || i.zpr_audit, "{what}");
                    // The deciding rules split between the sides.
                    assert_eq!(
                        [full.rules[0], full.rules[1], None, full.rules[3], None],
                        c.judge_side(&p, ctx, Side::Source).rules,
                        "{what}"
                    );
                    // A source that is no VNIC leaves its route check
                    // (the return path) to the destination.
                    let route = (!from_vnic).then_some(full.rules[0]).flatten();
                    assert_eq!(
                        [route, None, full.rules[2], None, full.rules[4]],
                        c.judge_side(&p, ctx, Side::Destination).rules,
                        "{what}"
                    );
                    if ctx == Context::First {
                        let t = r.judgement.tracking;
                        assert_eq!(t.at_src, e.tracking.at_src, "{what}");
                        assert_eq!(t.at_dst, i.tracking.at_dst, "{what}");
                        assert_eq!(t.zpr, e.tracking.zpr && i.tracking.zpr, "{what}");
                    }
                }
                Some(st @ (Stage::Route | Stage::EgressSecurity)) => {
                    seen[1] += 1;
                    assert_eq!(e.stage, Some(st), "{what}");
                    if st == Stage::Route && !from_vnic {
                        assert_eq!(i.stage, Some(Stage::Route), "{what}");
                    }
                }
                Some(Stage::IngressSecurity) => {
                    seen[2] += 1;
                    assert_eq!(i.stage, Some(Stage::IngressSecurity), "{what}");
                    assert!(matches!(e.stage, None | Some(Stage::Zpr)), "{what}");
                }
                Some(Stage::Zpr) => {
                    seen[3] += 1;
                    let layer = r.layers.iter().find(|l| l.layer == Stage::Zpr).unwrap();
                    for (name, side) in [("egress", e), ("ingress", i)] {
                        let ok = layer
                            .checks
                            .iter()
                            .find(|ch| ch.check == name)
                            .is_none_or(|ch| check_ok(ch.outcome));
                        assert_eq!(ok, side.verdict == Verdict::Allow, "{what}: {name}");
                        if !ok {
                            seen[4 + usize::from(name == "ingress")] += 1;
                            assert_eq!(side.stage, Some(Stage::Zpr), "{what}");
                        }
                    }
                }
            }
        }
    }
    // Every branch was exercised.
    assert!(seen.iter().all(|&n| n > 20), "coverage {seen:?}");
}

fn oke() -> (zprsim_control::model::Scenario, Compiled) {
    let s = load_path(&root().join(fixtures::OKE)).unwrap().scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    (s, c)
}

#[test]
fn committed_flow_log_fixtures_are_what_the_generator_writes() {
    let (s, c) = oke();
    let entries = flowlogs::oke_demo(&s, &c, &fixtures::oke_demo().bytes);
    let dir = root().join("examples/oke-orders/flowlogs");
    let lines = std::fs::read_to_string(dir.join("oke-demo.jsonl")).unwrap();
    assert_eq!(
        lines,
        flowlogs::json_lines(&entries),
        "regenerate: cargo run -p zprsim-bench --bin zprsim-oci-fixtures -- examples/oke-orders/flowlogs"
    );
    let array: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("oke-demo.json")).unwrap()).unwrap();
    assert_eq!(array, Value::Array(entries));
}

fn replay_report(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .arg("replay")
        .args(args)
        .arg("--report")
        .arg(&report)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
}

fn weight(v: &Value) -> [u64; 3] {
    [
        v["records"].as_u64().unwrap(),
        v["packets"].as_u64().unwrap(),
        v["bytes"].as_u64().unwrap(),
    ]
}

#[test]
fn oke_flow_logs_agree_with_the_capture_except_the_planted_records() {
    let mut reports = Vec::new();
    for f in ["oke-demo.jsonl", "oke-demo.jsonl.gz", "oke-demo.json"] {
        let path = format!("examples/oke-orders/flowlogs/{f}");
        let mut r = replay_report(&[fixtures::OKE, &path]);
        for k in ["compile_s", "duration_s", "packets_per_second", "pcaps"] {
            r.as_object_mut().unwrap().remove(k);
        }
        for d in r["flow_log"]["disagreements"].as_array_mut().unwrap() {
            d.as_object_mut().unwrap().remove("file");
        }
        for d in r["flow_log"]["unplaced_examples"].as_array_mut().unwrap() {
            d.as_object_mut().unwrap().remove("file");
        }
        reports.push(r);
    }
    assert_eq!(reports[0], reports[1], "gzip");
    assert_eq!(
        reports[0]["flow_log"]["agreement"],
        reports[2]["flow_log"]["agreement"]
    );
    let r = &reports[0];
    let f = &r["flow_log"];
    assert_eq!(f["records"], 80);
    assert_eq!(f["judged"], 77);
    assert_eq!(f["skipped_nodata"], 1);
    assert_eq!(f["skipped_skipdata"], 1);
    assert_eq!(f["unplaced"], 1);
    let a = &f["agreement"];
    // The two planted records: a ping OCI accepted and the scenario drops,
    // a health check OCI rejected and the scenario allows.
    assert_eq!(weight(&a["accept_drop"]), [1, 3, 252]);
    assert_eq!(weight(&a["reject_allow"]), [1, 2, 120]);
    let dis = f["disagreements"].as_array().unwrap();
    assert_eq!(dis.len(), 2);
    assert_eq!(dis[0]["vnic"], "worker-1");
    assert_eq!(dis[0]["simulated"]["stage"], "egress-security");
    assert_eq!(dis[1]["vnic"], "orders-api-pod-1");
    assert_eq!(dis[1]["recorded"], "REJECT");
    assert_eq!(dis[1]["simulated"]["verdict"], "allow");
    assert_eq!(
        f["unplaced_examples"][0]["vnic_id"],
        "ocid1.vnic.oc1.iad.notinthescenario"
    );
    // Packet and byte totals are the records' sums, split by verdict.
    let p = &r["packets"];
    assert_eq!(
        p["total"].as_u64(),
        Some(p["allowed"].as_u64().unwrap() + p["dropped"].as_u64().unwrap())
    );
    let cells: u64 = ["accept_allow", "accept_drop", "reject_allow", "reject_drop"]
        .iter()
        .map(|k| a[k]["packets"].as_u64().unwrap())
        .sum();
    assert_eq!(Some(cells), p["total"].as_u64());
    // Every record made from the capture agrees with the action its
    // packets got from the packet engine.
    assert_eq!(
        weight(&a["accept_allow"])[0] + weight(&a["reject_drop"])[0],
        f["judged"].as_u64().unwrap() - 2
    );
    assert!(weight(&a["reject_drop"])[0] > 5);
}

fn entry(data: &str) -> String {
    format!(
        r#"{{"datetime": 1, "logContent": {{"data": {data}, "oracle": {{"vnicocid": "ocid1.vnic.oc1.iad.okeordersworker1"}}}}}}"#
    )
}

const GOOD: &str = r#"{"action": "ACCEPT", "bytesOut": 60, "destinationAddress": "10.0.0.5", "destinationPort": 6443, "endTime": 100, "packets": 1, "protocol": 6, "sourceAddress": "10.0.2.11", "sourcePort": 40000, "startTime": 100, "status": "OK", "version": "2"}"#;

fn read_text(text: &[u8]) -> Result<ReadOutcome, String> {
    let mut out = ReadOutcome::default();
    read_from("t.jsonl", 0, text, &Limits::default(), &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// 25 malformed entries in a gzip file cut at its end: 20 are listed, the
/// warning counts the 5 others, and the cut is a warning of its own (it
/// was counted among the listed malformed ones, so "4 more").
#[test]
fn unlisted_malformed_entries_are_counted_beside_a_cut_gzip() {
    use std::io::Write as _;
    let text: String = (0..25).map(|i| format!("{{\"bad\": {i}}}\n")).collect();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    let gz = e.finish().unwrap();
    let cut = &gz[..gz.len() - 4];
    let mut out = ReadOutcome::default();
    read_from("t.jsonl.gz", 0, cut, &Limits::default(), &mut out).unwrap();
    assert_eq!(out.malformed, 25);
    assert_eq!(out.problems.len(), 21, "{:?}", out.problems);
    assert!(
        out.problems[20]
            .message
            .contains("the gzip stream ends early"),
        "{:?}",
        out.problems
    );
    assert_eq!(
        out.unlisted_warning().map(|w| w.message).as_deref(),
        Some("5 more flow-log entries skipped as malformed")
    );
}

/// An entry whose `id` an earlier entry had is the same entry read again
/// (OCI: "Random UUID, unique to each log entry"): skipped and counted,
/// whichever path read either copy; entries without an id are all kept.
#[test]
fn entries_read_twice_are_counted_once() {
    let with_id =
        |id: &str| entry(GOOD).replacen("\"oracle\"", &format!("\"id\": \"{id}\", \"oracle\""), 1);
    // The second copy of `a` escapes a character: the general path reads it.
    let escaped = with_id("a").replace("\"id\": \"a\"", "\"id\": \"\\u0061\"");
    let text = [
        with_id("a"),
        with_id("b"),
        escaped,
        entry(GOOD),
        entry(GOOD),
        with_id("a"),
    ]
    .join("\n");
    let out = read_text(text.as_bytes()).unwrap();
    assert_eq!((out.records.len(), out.duplicates), (4, 2));
    assert_eq!(out.first_duplicate, Some(("t.jsonl".to_owned(), 3)));
    assert_eq!(out.malformed, 0);
    let w = out.duplicate_warning().unwrap();
    assert!(
        w.message
            .starts_with("t.jsonl:3: 2 flow-log entries skipped"),
        "{w}"
    );
}

/// A flow log and its gzip copy given together: every entry is judged
/// once, as from one of them, and the report counts the copies.
#[test]
fn a_flow_log_beside_its_gzip_copy_is_judged_once() {
    let plain = "examples/oke-orders/flowlogs/oke-demo.jsonl";
    let gz = "examples/oke-orders/flowlogs/oke-demo.jsonl.gz";
    let one = replay_report(&[fixtures::OKE, plain]);
    let both = replay_report(&[fixtures::OKE, plain, gz]);
    let fl = |r: &Value, k: &str| r["flow_log"][k].as_u64().unwrap();
    assert_eq!(fl(&both, "judged"), fl(&one, "judged"));
    assert_eq!(both["packets"], one["packets"]);
    // Every entry of the second file (its malformed ones stay malformed:
    // they are not entries the first file had), its NODATA and SKIPDATA
    // entries too since the twentieth session (they were counted twice).
    let entries = fl(&one, "records") - fl(&one, "skipped_malformed");
    assert_eq!(fl(&both, "skipped_duplicate"), entries);
    for k in ["skipped_nodata", "skipped_skipdata"] {
        assert_eq!(fl(&both, k), fl(&one, k), "{k}");
    }
    assert_eq!(fl(&one, "skipped_duplicate"), 0);
    let warned = both["warnings"].as_array().unwrap();
    assert!(
        warned
            .iter()
            .any(|w| w.as_str().unwrap().contains("same `id`")),
        "{warned:?}"
    );
}

/// The records of one VNIC share one copy of its OCID, whichever path
/// read them (the fast typed parse, or the general one for an escaped
/// string), and records of another VNIC have their own.
#[test]
fn records_of_a_vnic_share_one_ocid() {
    let other = entry(GOOD).replace("okeordersworker1", "other");
    // `\u006f` is `o`: the general path reads this one.
    let escaped = entry(GOOD).replace("okeordersworker1", "\\u006fkeordersworker1");
    let text = [entry(GOOD), other.clone(), entry(GOOD), escaped, other].join("\n");
    let out = read_text(text.as_bytes()).unwrap();
    let v: Vec<_> = out.records.iter().map(|r| r.vnic.clone()).collect();
    assert_eq!(v.len(), 5);
    assert_eq!(&*v[0], "ocid1.vnic.oc1.iad.okeordersworker1");
    assert_eq!(&*v[3], "ocid1.vnic.oc1.iad.okeordersworker1");
    assert_eq!(&*v[1], "ocid1.vnic.oc1.iad.other");
    assert!(std::sync::Arc::ptr_eq(&v[0], &v[2]) && std::sync::Arc::ptr_eq(&v[0], &v[3]));
    assert!(std::sync::Arc::ptr_eq(&v[1], &v[4]));
    assert!(!std::sync::Arc::ptr_eq(&v[0], &v[1]));
}

#[test]
fn every_malformed_record_class_is_a_counted_skip_with_its_line() {
    let with = |k: &str, v: &str| {
        let mut m: serde_json::Map<String, Value> = serde_json::from_str(GOOD).unwrap();
        if v == "<absent>" {
            m.remove(k);
        } else {
            m.insert(k.into(), serde_json::from_str(v).unwrap());
        }
        entry(&Value::Object(m).to_string())
    };
    let cases: Vec<(String, &str)> = vec![
        ("{\"datetime\": 1, \"logContent\": {".into(), "not JSON"),
        ("[1, 2".into(), "not JSON"),
        ("\"a string\"".into(), "expected a flow-log entry object"),
        ("{\"hello\": 1}".into(), "not a flow-log entry"),
        (with("packets", "<absent>"), "missing field `data.packets`"),
        (
            with("sourceAddress", "null"),
            "field `data.sourceAddress` is null",
        ),
        (
            with("protocol", "\"tcp\""),
            "expected a whole number, found a string",
        ),
        (
            with("packets", "true"),
            "expected a whole number, found a boolean",
        ),
        (with("bytesOut", "1e300"), "not a whole number from 0"),
        (
            with("bytesOut", "123456789012345678901234567890"),
            "not a whole number from 0",
        ),
        (with("packets", "-1"), "not a whole number from 0"),
        (with("packets", "1.5"), "not a whole number from 0"),
        (with("destinationPort", "70000"), "from 0 to 65535"),
        (
            with("protocol", "58"),
            "field `data.protocol`: 58 (ICMPv6) with IPv4 addresses",
        ),
        (
            with("sourcePort", "null"),
            "field `data.sourcePort`: missing or null in a TCP record",
        ),
        (
            with("destinationPort", "<absent>"),
            "field `data.destinationPort`: missing or null in a TCP record",
        ),
        (with("protocol", "256"), "from 0 to 255"),
        (
            with("sourceAddress", "\"10.0.2.300\""),
            "is not an IP address",
        ),
        (
            with("sourceAddress", "\"fd00::1\""),
            "different IP versions",
        ),
        (with("action", "\"MAYBE\""), "is not ACCEPT or REJECT"),
        (with("status", "\"WEIRD\""), "is not OK, NODATA or SKIPDATA"),
        (with("startTime", "200"), "is before `data.startTime`"),
        (with("endTime", "{}"), "found an object"),
        (
            entry(GOOD).replace(
                "\"vnicocid\": \"ocid1.vnic.oc1.iad.okeordersworker1\"",
                "\"vnicocid\": 7",
            ),
            "field `oracle.vnicocid`: expected a string",
        ),
        (format!("\u{0}{}", "x"), "not JSON"),
    ];
    for (bad, expect) in &cases {
        let text = format!("{}\n\n{bad}\n{}\n", entry(GOOD), entry(GOOD));
        let out = read_text(text.as_bytes()).unwrap_or_else(|e| panic!("{bad}: {e}"));
        assert_eq!(out.records.len(), 2, "{bad}");
        assert_eq!(out.malformed, 1, "{bad}");
        assert_eq!(out.records[1].line, 4, "{bad}");
        let p = &out.problems[0].message;
        // `FILE:LINE: skipped:`, or `FILE:LINE:COL: skipped:` where the
        // entry is not JSON (the column serde_json found, in the file).
        let place = match out.problems[0].column {
            Some(c) => format!("t.jsonl:3:{c}: skipped: "),
            None => "t.jsonl:3: skipped: ".to_owned(),
        };
        assert!(p.starts_with(&place), "{bad}: {p}");
        assert_eq!(out.problems[0].line, Some(3), "{bad}");
        assert!(!p.contains("at line 1 column"), "{bad}: {p}");
        assert!(p.contains(expect), "{bad}: {p} (expected `{expect}`)");
    }
    // A line over the limit is skipped without being held.
    let long = format!("{}\n{{\"x\": \"{}\"}}\n", entry(GOOD), "a".repeat(2 << 20));
    let out = read_text(long.as_bytes()).unwrap();
    assert_eq!((out.records.len(), out.malformed), (1, 1));
    assert!(
        out.problems[0]
            .message
            .contains("t.jsonl:2: skipped: line longer than")
    );
    // NODATA and SKIPDATA are counted, with nulls everywhere else.
    let q = r#"{"action": null, "bytesOut": null, "destinationAddress": null, "endTime": 5, "packets": null, "protocol": null, "sourceAddress": null, "startTime": 1, "status": "NODATA", "version": 2}"#;
    let out = read_text(
        format!(
            "{}\n{}\n",
            entry(q),
            entry(&q.replace("NODATA", "SKIPDATA"))
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!((out.nodata, out.skipdata, out.records.len()), (1, 1, 0));
}

#[test]
fn documents_envelopes_and_their_errors() {
    // A JSON array of bare logContent objects, pretty-printed: lines are
    // those of each entry's start.
    let bare = format!(r#"{{"data": {GOOD}, "oracle": {{"vnicocid": "v"}}}}"#);
    let doc = format!("[\n  {bare},\n\n  {bare}\n]\n");
    let out = read_text(doc.as_bytes()).unwrap();
    assert_eq!(out.records.len(), 2);
    assert_eq!((out.records[0].line, out.records[1].line), (2, 4));
    // The Logging search output through the CLI.
    let search = format!(
        "{{\n \"data\": {{\n  \"results\": [\n   {{\"data\": {}}}\n  ],\n  \"summary\": {{\"result-count\": 1}}\n }}\n}}\n",
        entry(GOOD)
    );
    let out = read_text(search.as_bytes()).unwrap();
    assert_eq!(out.records.len(), 1);
    assert_eq!(out.records[0].line, 4);
    // A document that is not JSON: an error with line and column.
    let e = read_text(b"[\n  {\"a\": 1},\n  {\"b\": }\n]").unwrap_err();
    assert!(e.starts_with("t.jsonl:3:"), "{e}");
    // gzip of JSON lines; a gzip stream cut short is an error, not a panic.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(format!("{}\n{}\n", entry(GOOD), entry(GOOD)).as_bytes())
        .unwrap();
    let bytes = gz.finish().unwrap();
    assert_eq!(read_text(&bytes).unwrap().records.len(), 2);
    for cut in 0..bytes.len() {
        let _ = read_text(&bytes[..cut]);
    }
    // The record limit is checked before a record is kept.
    let mut out = ReadOutcome::default();
    let limits = Limits {
        max_records: 1,
        ..Limits::default()
    };
    let e = read_from(
        "t",
        0,
        format!("{}\n{}\n", entry(GOOD), entry(GOOD)).as_bytes(),
        &limits,
        &mut out,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("more than 1 flow-log records"),
        "{e}"
    );
    // A document over the size limit is refused before it is parsed.
    let limits = Limits {
        max_document: 100,
        ..Limits::default()
    };
    let e = read_from("t", 0, doc.as_bytes(), &limits, &mut ReadOutcome::default()).unwrap_err();
    assert!(e.to_string().contains("over 100 bytes"), "{e}");
}

#[test]
fn mixing_captures_and_flow_logs_is_a_usage_error() {
    let o = crate::support::run_in(
        root(),
        [
            "replay",
            fixtures::OKE,
            "examples/oke-orders/flowlogs/oke-demo.jsonl",
            "pcaps/oke-demo.pcap",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("error: `pcaps/oke-demo.pcap` is a capture"),
        "{err}"
    );
    let o = crate::support::run_in(
        root(),
        [
            "replay",
            fixtures::OKE,
            "examples/oke-orders/flowlogs/oke-demo.jsonl",
            "--report",
            "examples/oke-orders/flowlogs/oke-demo.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(Path::new(&root().join("examples/oke-orders/flowlogs/oke-demo.jsonl")).exists());
}

/// src, dst, sport, dport, class, stage before, stage after.
type Changed = (String, String, u64, u64, String, String, String);

fn changed_flows(input: &str) -> (Option<i32>, Vec<Changed>) {
    changed_flows_to("examples/oke-orders/proposed.toml", input)
}

fn changed_flows_to(after: &str, input: &str) -> (Option<i32>, Vec<Changed>) {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("f.jsonl");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .args(["diff", fixtures::OKE, after, input, "--quiet", "--flows"])
        .arg(&flows)
        .output()
        .unwrap();
    let lines = std::fs::read_to_string(&flows).unwrap();
    let mut out: Vec<_> = lines
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["src"].as_str().unwrap().to_owned(),
                v["dst"].as_str().unwrap().to_owned(),
                v["sport"].as_u64().unwrap_or(0),
                v["dport"].as_u64().unwrap_or(0),
                v["class"].as_str().unwrap().to_owned(),
                v["before"]["stage"].to_string(),
                v["after"]["stage"].to_string(),
            )
        })
        .collect();
    out.sort();
    (o.status.code(), out)
}

#[test]
fn diff_on_flow_logs_finds_the_flows_the_capture_diff_finds() {
    let (code_fl, fl) = changed_flows("examples/oke-orders/flowlogs/oke-demo.jsonl.gz");
    let (code_pcap, pcap) = changed_flows("pcaps/oke-demo.pcap");
    assert_eq!(code_fl, Some(1), "a flow would break");
    assert_eq!(code_fl, code_pcap);
    assert_eq!(fl.len(), 3, "{fl:?}");
    assert_eq!(fl, pcap);
}

/// A rule that matches no packet, put first in an NSG, shifts the
/// positions of all its rules; the flows they decide did not change, and
/// neither diff may call them `reason-changed` (both compare rules by
/// their container and content, not their position).
#[test]
fn a_rule_added_before_the_deciding_ones_changes_no_flow_in_either_diff() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join(fixtures::OKE)).unwrap();
    let head = "name = \"pods-nsg\"\nvcn = \"backend-vcn\"\nrules = [\n";
    assert_eq!(text.matches(head).count(), 1);
    let never = "  { direction = \"INGRESS\", protocol = \"6\", source = \"192.0.2.0/24\", tcp_options = { destination_port_range = { min = 1, max = 1 } } },\n";
    let after = dir.path().join("after.toml");
    std::fs::write(&after, text.replacen(head, &format!("{head}{never}"), 1)).unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    for e in std::fs::read_dir(root().join("examples/oke-orders/policies")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), policies.join(e.file_name())).unwrap();
    }
    let after = after.to_str().unwrap();
    for input in [
        "pcaps/oke-demo.pcap",
        "examples/oke-orders/flowlogs/oke-demo.jsonl",
    ] {
        let (code, changed) = changed_flows_to(after, input);
        assert_eq!(code, Some(0), "{input}");
        assert!(changed.is_empty(), "{input}: {changed:?}");
    }
}

/// Several entries in a JSON array on one line: each is a record (the
/// typed shortcut must not read the array as one entry).
#[test]
fn an_array_of_entries_on_one_line_gives_every_record() {
    let bare = |port: u16| {
        format!(
            r#"{{"data": {}, "oracle": {{"vnicocid": "ocid1.vnic.oc1.iad.okeordersworker1"}}}}"#,
            GOOD.replace("40000", &port.to_string())
        )
    };
    for line in [
        format!("[{},{}]\n", bare(1), bare(2)),
        format!("[{},{}]\n", entry(GOOD), bare(2)),
        format!("{}\n[{},{},{}]\n", entry(GOOD), bare(1), bare(2), bare(3)),
    ] {
        let out = read_text(line.as_bytes()).unwrap();
        let n = line.matches("sourcePort").count();
        assert_eq!(out.records.len(), n, "{line}");
        assert_eq!(out.malformed, 0, "{line}");
    }
}

/// A whole document on one line longer than `max_line` (a minified
/// export) but within `max_document`: read as a document, not cut.
#[test]
fn a_one_line_document_over_the_line_limit_is_read_whole() {
    let entries: Vec<String> = (0..40).map(|_| entry(GOOD)).collect();
    let text = format!("[{}]\n", entries.join(","));
    let limits = Limits {
        max_line: 1000,
        ..Limits::default()
    };
    assert!(text.len() > 1000);
    let mut out = ReadOutcome::default();
    let r = read_from("t.json", 0, text.as_bytes(), &limits, &mut out);
    assert!(r.is_ok(), "{:?}", r.err().map(|e| e.to_string()));
    assert_eq!(out.records.len(), 40);
}

/// A minified document in a file, whose size the reader knows and makes
/// room for at once (the document was held three times before: the first
/// line, a trimmed copy of it and the document): after blank lines, with
/// and without a final newline, as big as the limit allows and one byte
/// more. Records, line numbers and errors are those of the same text read
/// from a stream, whose size is not known.
#[test]
fn a_document_file_is_read_as_the_same_text_from_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let entries: Vec<String> = (0..40).map(|_| entry(GOOD)).collect();
    let one_line = format!("[{}]", entries.join(","));
    let broken = format!("[{},\n{{\"b\": }}]", entries.join(","));
    let limits = |max_document: u64| Limits {
        max_line: 1000,
        max_document,
        ..Limits::default()
    };
    let mut cases = Vec::new();
    let mut outcomes = [0u32; 3];
    for blank in ["", "\n\n\n"] {
        for end in ["", "\n"] {
            for doc in [&one_line, &broken] {
                let text = format!("{blank}{doc}{end}");
                let exact = text.len() as u64 + 1;
                for max in [256 << 20, exact, exact - 1, exact - 2] {
                    cases.push((text.clone(), max));
                }
            }
        }
    }
    for (i, (text, max)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("{i}.json"));
        std::fs::write(&path, text).unwrap();
        let shown = |r: Result<(), zprsim_dataplane::flowlog::read::FlowLogError>,
                     out: &ReadOutcome| {
            let lines: Vec<u64> = out.records.iter().map(|r| r.line).collect();
            (
                r.map_err(|e| {
                    let m = e.to_string();
                    m[m.find(": ").unwrap_or(0)..].to_owned()
                }),
                lines,
            )
        };
        let mut a = ReadOutcome::default();
        let ra = read_path(&path, 0, &limits(*max), &mut a);
        let mut b = ReadOutcome::default();
        let rb = read_from("x", 0, text.as_bytes(), &limits(*max), &mut b);
        let (got, want) = (shown(ra, &a), shown(rb, &b));
        assert_eq!(got, want, "case {i}: max {max}, {:?}", &text[..20]);
        match &got {
            (Ok(()), lines) if lines.len() == 40 && lines.iter().all(|&l| l == 4) => {
                outcomes[0] += 1
            }
            (Err(m), _) if m.contains("not JSON") => outcomes[1] += 1,
            (Err(m), _) if m.contains("the limit") => outcomes[2] += 1,
            _ => {}
        }
    }
    // The cases reach each outcome: records after blank lines, a syntax
    // error, the size limit.
    let [after_blank, syntax, limit] = outcomes;
    assert!(after_blank > 0 && syntax > 0 && limit > 0, "{outcomes:?}");
}

/// `--max-flow-log-records` bounds the records kept, for `replay` and
/// `diff`: one past it is an error naming the file, the line and the flag.
#[test]
fn the_record_limit_is_a_flag_and_its_error_names_it() {
    let log = "examples/oke-orders/flowlogs/oke-demo.jsonl";
    for cmd in [
        vec!["replay", fixtures::OKE, log],
        vec![
            "diff",
            fixtures::OKE,
            "examples/oke-orders/proposed.toml",
            log,
        ],
    ] {
        let o = crate::support::run_in(
            root(),
            [&cmd[..], &["--quiet", "--max-flow-log-records", "10"]].concat(),
        );
        assert_eq!(o.status.code(), Some(2), "{cmd:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("more than 10 flow-log records")
                && err.contains("--max-flow-log-records")
                && err.contains("oke-demo.jsonl:"),
            "{err}"
        );
        let o = crate::support::run_in(
            root(),
            [&cmd[..], &["--quiet", "--max-flow-log-records", "1000"]].concat(),
        );
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// `replay`'s report, `--flows` lines, summary and warnings are the same
/// whether every record stays in memory or each is spilled in a run of
/// its own (`--flow-log-buffer 1`), with duplicates (the log beside its
/// gzip copy), NODATA, SKIPDATA and unplaced records; TMPDIR is left
/// empty.
#[test]
fn replay_of_flow_logs_is_the_same_for_any_buffer() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |buffer: &str| {
        let dir = tempfile::tempdir().unwrap();
        let (report, flows) = (dir.path().join("r.json"), dir.path().join("f.jsonl"));
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(root())
            .env("TMPDIR", tmp.path())
            .args([
                "replay",
                fixtures::OKE,
                "examples/oke-orders/flowlogs/oke-demo.jsonl",
                "examples/oke-orders/flowlogs/oke-demo.jsonl.gz",
                "--flow-log-buffer",
                buffer,
                "--report",
            ])
            .arg(&report)
            .arg("--flows")
            .arg(&flows)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        for k in ["compile_s", "duration_s", "packets_per_second"] {
            r[k] = Value::Null;
        }
        (r, std::fs::read(&flows).unwrap(), o.stdout, o.stderr)
    };
    let all = run("1000000");
    let one = run("1");
    assert_eq!(one.0, all.0);
    assert_eq!(one.1, all.1);
    assert_eq!(one.2, all.2);
    assert_eq!(one.3, all.3);
    assert!(all.0["flow_log"]["skipped_duplicate"].as_u64().unwrap() > 0);
    assert!(all.0["flow_log"]["unplaced"].as_u64().unwrap() > 0);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

/// More records in one second than `--max-flow-log-group`: exit 2 naming
/// the flag, the file and the line; the limit of temporary files, too.
#[test]
fn replay_limits_on_one_second_and_on_temporary_files_are_flags() {
    let log = "examples/oke-orders/flowlogs/oke-demo.jsonl";
    let o = crate::support::run_in(
        root(),
        [
            "replay",
            fixtures::OKE,
            log,
            "--quiet",
            "--max-flow-log-group",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("oke-demo.jsonl:")
            && err.contains("more than 2 flow-log records start in the second")
            && err.contains("`--max-flow-log-group`"),
        "{err}"
    );
    let o = crate::support::run_in(
        root(),
        [
            "replay",
            fixtures::OKE,
            log,
            "--quiet",
            "--flow-log-buffer",
            "3",
            "--max-flow-log-spill",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("oke-demo.jsonl:5:") && err.contains("`--max-flow-log-spill`"),
        "{err}"
    );
}

/// A `$TMPDIR` that cannot hold the temporary file: exit 2 naming the
/// directory, not a panic and not a partial report.
#[test]
fn replay_with_an_unwritable_temporary_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no such directory");
    let report = dir.path().join("r.json");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .env("TMPDIR", &missing)
        .args([
            "replay",
            fixtures::OKE,
            "examples/oke-orders/flowlogs/oke-demo.jsonl",
            "--quiet",
            "--flow-log-buffer",
            "2",
            "--report",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no such directory"), "{err}");
    assert!(!report.exists());
    // A log that fits the buffer writes nothing there (its unplaced
    // record's OCID included): the same directory is no obstacle.
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .env("TMPDIR", &missing)
        .args([
            "replay",
            fixtures::OKE,
            "examples/oke-orders/flowlogs/oke-demo.jsonl",
            "--quiet",
            "--report",
        ])
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(report.exists());
}

/// `diff` on flow logs: report, `--flows` lines and summary the same
/// whether the records stay in memory or each is spilled in a run of its
/// own, with duplicates (a log beside its gzip copy) and a scenario that
/// places some records the other does not.
#[test]
fn diff_of_flow_logs_is_the_same_for_any_buffer() {
    let tmp = tempfile::tempdir().unwrap();
    // AFTER without worker-1's id: its records are placed by BEFORE only.
    let after = tmp.path().join("after.toml");
    let text = std::fs::read_to_string(root().join("examples/oke-orders/proposed.toml")).unwrap();
    std::fs::write(
        &after,
        text.replace("okeordersworker1\"", "okeordersworkerX\""),
    )
    .unwrap();
    // Its ZPR policy files, which it names relative to itself.
    std::fs::create_dir(tmp.path().join("policies")).unwrap();
    for e in std::fs::read_dir(root().join("examples/oke-orders/policies")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), tmp.path().join("policies").join(e.file_name())).unwrap();
    }
    let spill = tempfile::tempdir().unwrap();
    let run = |after: &Path, buffer: &str| {
        let dir = tempfile::tempdir().unwrap();
        let (report, flows) = (dir.path().join("r.json"), dir.path().join("f.jsonl"));
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(root())
            .env("TMPDIR", spill.path())
            .args(["diff", fixtures::OKE])
            .arg(after)
            .args([
                "examples/oke-orders/flowlogs/oke-demo.jsonl",
                "examples/oke-orders/flowlogs/oke-demo.jsonl.gz",
                "--flow-log-buffer",
                buffer,
                "--report",
            ])
            .arg(&report)
            .arg("--flows")
            .arg(&flows)
            .output()
            .unwrap();
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        r["duration_s"] = Value::Null;
        (r, std::fs::read(&flows).unwrap(), o.stdout, o.stderr)
    };
    for after in [root().join("examples/oke-orders/proposed.toml"), after] {
        let all = run(&after, "1000000");
        let one = run(&after, "1");
        assert_eq!(one.0, all.0);
        assert_eq!(one.1, all.1);
        assert_eq!(one.2, all.2);
        assert_eq!(one.3, all.3);
        assert!(all.0["flow_log"]["skipped_duplicate"].as_u64().unwrap() > 0);
        assert!(!all.1.is_empty());
    }
    assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);
}

/// A log of many distinct flows (the OKE log 40 times, each copy from
/// other ephemeral ports): `replay` and `diff` give the same report,
/// `--flows` and summary with a buffer of 3 records as with all in memory
/// (distinct flows, diff's parts and changed flows all spilled).
#[test]
fn many_flows_are_the_same_for_any_buffer() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture =
        std::fs::read_to_string(root().join("examples/oke-orders/flowlogs/oke-demo.jsonl"))
            .unwrap();
    let mut text = String::new();
    for k in 0..40u64 {
        for line in fixture.lines() {
            let mut e: Value = serde_json::from_str(line).unwrap();
            let lc = &mut e["logContent"];
            if let Some(id) = lc["id"].as_str() {
                lc["id"] = Value::from(format!("{k}-{id}"));
            }
            let d = &mut lc["data"];
            for f in ["sourcePort", "destinationPort"] {
                if let Some(p) = d[f].as_u64().filter(|p| *p > 30000) {
                    d[f] = Value::from(p + k);
                }
            }
            for f in ["startTime", "endTime"] {
                if let Some(t) = d[f].as_u64() {
                    d[f] = Value::from(t + (k % 5) * 7);
                }
            }
            text.push_str(&e.to_string());
            text.push('\n');
        }
    }
    let log = tmp.path().join("many.jsonl");
    std::fs::write(&log, text).unwrap();
    let spill = tempfile::tempdir().unwrap();
    let run = |args: &[&str], buffer: &str| {
        let dir = tempfile::tempdir().unwrap();
        let (report, flows) = (dir.path().join("r.json"), dir.path().join("f.jsonl"));
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(root())
            .env("TMPDIR", spill.path())
            .args(args)
            .arg(&log)
            .args(["--flow-log-buffer", buffer, "--report"])
            .arg(&report)
            .arg("--flows")
            .arg(&flows)
            .output()
            .unwrap();
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        for k in ["compile_s", "duration_s", "packets_per_second"] {
            r[k] = Value::Null;
        }
        (r, std::fs::read(&flows).unwrap(), o.stdout)
    };
    let replay = ["replay", fixtures::OKE];
    let diff = ["diff", fixtures::OKE, "examples/oke-orders/proposed.toml"];
    let (r_all, r_one) = (run(&replay, "1000000"), run(&replay, "3"));
    assert_eq!(r_one, r_all);
    assert!(
        r_all.0["flows"].as_u64().unwrap() > 500,
        "{}",
        r_all.0["flows"]
    );
    let (d_all, d_one) = (run(&diff, "1000000"), run(&diff, "3"));
    assert_eq!(d_one, d_all);
    let changed = d_all.1.iter().filter(|&&b| b == b'\n').count();
    assert!(changed > 50, "{changed}");
    assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);
}

/// A zstd-compressed flow log (`.log.zst`) is read as a gzip one is: as a
/// file, a directory member and from standard input, with the report of
/// the plain file; cut, with the warning a cut gzip gets; a zstd bomb
/// stays within the document limit, a frame over zstd's window bound is
/// refused naming zstd. It was refused as "zstd-compressed data that
/// holds neither a pcap nor a pcapng file".
#[test]
fn zstd_flow_logs_are_read_as_gzip_ones_are() {
    let plain = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let text = std::fs::read(&plain).unwrap();
    let zst = zstd::stream::encode_all(&text[..], 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let file = logs.join("oke-demo.jsonl.zst");
    std::fs::write(&file, &zst).unwrap();
    let clean = |mut r: Value| {
        for k in ["compile_s", "duration_s", "packets_per_second", "pcaps"] {
            r.as_object_mut().unwrap().remove(k);
        }
        for k in ["disagreements", "unplaced_examples"] {
            for d in r["flow_log"][k].as_array_mut().unwrap() {
                d.as_object_mut().unwrap().remove("file");
            }
        }
        r
    };
    let want = clean(replay_report(&[fixtures::OKE, plain.to_str().unwrap()]));
    for input in [&file, &logs] {
        let got = clean(replay_report(&[fixtures::OKE, input.to_str().unwrap()]));
        assert_eq!(got, want, "{}", input.display());
    }
    let report = dir.path().join("stdin.json");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .args(["replay", fixtures::OKE, "-", "--quiet", "--report"])
        .arg(&report)
        .write_stdin(zst.clone())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = clean(serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap());
    assert_eq!(got, want, "stdin");
    // Cut (after its first blocks: zstd writes a block out whole): the
    // whole lines before the cut are read, with a warning.
    let many: String = (0..4000)
        .map(|i| entry(&GOOD.replace("40000", &i.to_string())) + "\n")
        .collect();
    let many = zstd::stream::encode_all(many.as_bytes(), 3).unwrap();
    let mut out = ReadOutcome::default();
    read_from(
        "t.jsonl.zst",
        0,
        &many[..many.len() * 3 / 4],
        &Limits::default(),
        &mut out,
    )
    .unwrap();
    assert!(!out.records.is_empty());
    assert!(
        out.problems
            .iter()
            .any(|p| p.message.contains("the zstd stream ends early")),
        "{:?}",
        out.problems
    );
    // A bomb: 64 MiB of one JSON array in a few KiB is refused at the
    // document limit, not held.
    let mut bomb = vec![b' '; 64 << 20];
    bomb[0] = b'[';
    let bomb = zstd::stream::encode_all(&bomb[..], 19).unwrap();
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    let limits = Limits {
        max_document: 1 << 20,
        ..Limits::default()
    };
    let e = read_from(
        "b.json.zst",
        0,
        &bomb[..],
        &limits,
        &mut ReadOutcome::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("a JSON document over 1048576 bytes"), "{e}");
    // A frame asking for a window over zstd's default bound (`--long=28`).
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.window_log(28).unwrap();
    e.long_distance_matching(true).unwrap();
    e.include_contentsize(false).unwrap();
    e.write_all(&text).unwrap();
    let long = e.finish().unwrap();
    let e = read_from(
        "l.jsonl.zst",
        0,
        &long[..],
        &Limits::default(),
        &mut ReadOutcome::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("zstd"), "{e}");
}

/// The flags that bound how flow-log records are read, given with
/// captures: a usage error naming them, before anything is written (as
/// `--dedup` with flow logs is), for `replay` and `diff`, on a capture and
/// on a directory of captures. They were taken without a word. Given with
/// flow logs they are taken (the other tests), and left at their defaults
/// a capture runs.
#[test]
fn flow_log_flags_with_captures_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let caps = dir.path().join("caps");
    std::fs::create_dir(&caps).unwrap();
    std::fs::copy(root().join("pcaps/oke-demo.pcap"), caps.join("a.pcap")).unwrap();
    let report = dir.path().join("r.json");
    let pcap = root().join("pcaps/oke-demo.pcap");
    for flags in [
        &["--max-flow-log-records", "10"][..],
        &["--flow-log-buffer", "5"],
        &["--max-flow-log-spill", "1"],
        &["--max-flow-log-group", "7"],
        &["--flow-log-buffer", "5", "--max-flow-log-group", "7"],
    ] {
        for cmd in [&["replay"][..], &["diff", fixtures::OKE]] {
            for input in [&pcap, &caps] {
                let mut args: Vec<&str> = cmd.to_vec();
                args.extend([fixtures::OKE, input.to_str().unwrap(), "--quiet"]);
                args.extend(["--report", report.to_str().unwrap()]);
                args.extend(flags);
                let o = crate::support::run_in(root(), &args);
                let err = String::from_utf8_lossy(&o.stderr);
                assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
                assert!(err.contains("flow-log input: "), "{args:?}: {err}");
                for f in flags.iter().filter(|f| f.starts_with("--")) {
                    assert!(err.contains(&format!("`{f}`")), "{args:?}: {err}");
                }
                assert!(!report.exists(), "{args:?}");
            }
        }
    }
    let o = crate::support::run_in(
        root(),
        ["replay", fixtures::OKE, pcap.to_str().unwrap(), "--quiet"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// An ingress record from the internet to a VNIC whose route table has no
/// way back (QA round thirteen: an IPv6 ULA VNIC, and any private
/// subnet): the record was judged on the destination's security and ZPR
/// only, so it was allowed where `explain` drops the packet at route. A
/// source that is no VNIC has no side of its own to judge it, so the
/// return path, which reads the destination VNIC's table, is judged with
/// the destination.
#[test]
fn an_ingress_record_from_outside_is_judged_on_its_return_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[gateway]]
name = "igw"
vcn = "v"
kind = "internet"
[[route_table]]
name = "none-out"
vcn = "v"
[[route_table]]
name = "out"
vcn = "v"
route_rules = [{ destination = "0.0.0.0/0", network_entity = "igw" }]
[[security_list]]
name = "open"
vcn = "v"
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
[[subnet]]
name = "closed"
vcn = "v"
cidr_block = "10.0.1.0/24"
route_table = "none-out"
security_lists = ["open"]
[[subnet]]
name = "public"
vcn = "v"
cidr_block = "10.0.2.0/24"
route_table = "out"
security_lists = ["open"]
[[vnic]]
name = "a"
id = "ocid1.vnic.oc1.iad.aaaa"
subnet = "closed"
private_ips = ["10.0.1.10"]
[[vnic]]
name = "b"
id = "ocid1.vnic.oc1.iad.bbbb"
subnet = "public"
private_ips = ["10.0.2.10"]
"#,
    )
    .unwrap();
    let record = |vnic: &str, dst: &str| {
        format!(
            r#"{{"datetime": 1, "logContent": {{"data": {{"action": "ACCEPT", "bytesOut": 60, "destinationAddress": "{dst}", "destinationPort": 22, "endTime": 100, "packets": 3, "protocol": 6, "sourceAddress": "8.8.8.8", "sourcePort": 50000, "startTime": 100, "status": "OK", "version": "2"}}, "oracle": {{"vnicocid": "ocid1.vnic.oc1.iad.{vnic}"}}}}}}"#
        )
    };
    std::fs::write(
        dir.path().join("log.jsonl"),
        format!(
            "{}\n{}\n",
            record("aaaa", "10.0.1.10"),
            record("bbbb", "10.0.2.10")
        ),
    )
    .unwrap();
    let flows = dir.path().join("records.jsonl");
    let r = replay_report(&[
        dir.path().join("s.toml").to_str().unwrap(),
        dir.path().join("log.jsonl").to_str().unwrap(),
        "--flows",
        flows.to_str().unwrap(),
    ]);
    // `a`'s record drops at route; `b`'s, whose table routes back, passes.
    assert_eq!(r["dropped_by_stage"]["route"], 3, "{r}");
    assert_eq!(r["packets"]["allowed"], 3, "{r}");
    let lines = std::fs::read_to_string(&flows).unwrap();
    let a: Value = lines
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["vnic"] == "a")
        .unwrap();
    assert_eq!(a["stage"], "route", "{a}");
    assert!(a.to_string().contains("no route back from `a`"), "{a}");
}

/// The review of the eighteenth session: with both directions of a flow
/// logged at the server in the same second, the tie rule took the
/// direction the rules allow as the opener; once ingress records from
/// outside were judged on their return path, an on-premises client's
/// connection to a server whose table reaches outside only through a NAT
/// gateway (which admits replies only) had its ingress record dropped at
/// route, so the server's reply was taken as the opener and the drop was
/// hidden. A drop at route of such a record says nothing about which end
/// sent first: the ports decide, and the ingress record opens and drops.
#[test]
fn the_tie_rule_is_not_turned_by_a_return_path_drop() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[gateway]]
name = "nat"
vcn = "v"
kind = "nat"
[[route_table]]
name = "rt"
vcn = "v"
route_rules = [{ destination = "0.0.0.0/0", network_entity = "nat" }]
[[security_list]]
name = "open"
vcn = "v"
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
[[subnet]]
name = "priv"
vcn = "v"
cidr_block = "10.0.1.0/24"
route_table = "rt"
security_lists = ["open"]
[[vnic]]
name = "srv"
id = "ocid1.vnic.oc1.iad.aaaa"
subnet = "priv"
private_ips = ["10.0.1.10"]
"#,
    )
    .unwrap();
    let record = |src: &str, sport: u16, dst: &str, dport: u16| {
        format!(
            r#"{{"datetime": 1, "logContent": {{"data": {{"action": "ACCEPT", "bytesOut": 60, "destinationAddress": "{dst}", "destinationPort": {dport}, "endTime": 100, "packets": 3, "protocol": 6, "sourceAddress": "{src}", "sourcePort": {sport}, "startTime": 100, "status": "OK", "version": "2"}}, "oracle": {{"vnicocid": "ocid1.vnic.oc1.iad.aaaa"}}}}}}"#
        )
    };
    // The reply first in the input: only the rules and ports may tell.
    std::fs::write(
        dir.path().join("log.jsonl"),
        format!(
            "{}\n{}\n",
            record("10.0.1.10", 22, "192.168.5.5", 50000),
            record("192.168.5.5", 50000, "10.0.1.10", 22)
        ),
    )
    .unwrap();
    let r = replay_report(&[
        dir.path().join("s.toml").to_str().unwrap(),
        dir.path().join("log.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(r["dropped_by_stage"]["route"], 3, "{r}");
}
