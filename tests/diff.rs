//! `zprsim diff`: a scenario against itself changes nothing; the OKE
//! example against its proposed change gives exactly the documented
//! classes; on random scenarios with one rule or statement removed, the
//! changed flows and packets are exactly those the reference evaluator
//! (with its own connection tracker) says change, for 1 and 3 workers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use zprsim_bench::random::{address_pool, random_scenario};
use zprsim_bench::scale::to_toml;
use zprsim_control::load;
use zprsim_control::verdict::Verdict;
use zprsim_dataplane::community_id::FlowKey;
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

use crate::replay_oracle::{Pkt, frame, reference, traffic};
// `zprsim diff` from the repository's root, its report and flows in `dir`.
use crate::support::diff_run as diff;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const OKE: &str = "examples/oke-orders/scenario.toml";
const PROPOSED: &str = "examples/oke-orders/proposed.toml";
const DEMO: &str = "pcaps/oke-demo.pcap";

#[test]
fn a_scenario_against_itself_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let r = diff(
        t.path(),
        OKE,
        OKE,
        &[DEMO],
        &["--fail-on", "would-break,newly-allowed,reason-changed"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.report["flows"]["unchanged"], 32);
    for k in ["would_break", "newly_allowed", "reason_changed"] {
        assert_eq!(r.report["flows"][k], 0, "{k}");
    }
    assert_eq!(r.report["packets"]["total"], 188);
    assert_eq!(r.report["before"], r.report["after"]);
    assert!(r.flows.is_empty());
}

#[test]
fn the_proposed_oke_change_breaks_the_legacy_flow() {
    let t = tempfile::tempdir().unwrap();
    let r = diff(t.path(), OKE, PROPOSED, &[DEMO], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let f = &r.report["flows"];
    assert_eq!(
        (
            f["would_break"].as_u64(),
            f["newly_allowed"].as_u64(),
            f["reason_changed"].as_u64(),
            f["unchanged"].as_u64()
        ),
        (Some(1), Some(1), Some(1), Some(29))
    );
    assert_eq!(r.report["packets"]["would_break"], 10);
    assert_eq!(r.report["packets"]["newly_allowed"], 3);
    let classes: Vec<(String, String, String)> = r
        .flows
        .iter()
        .map(|l| {
            (
                l["class"].as_str().unwrap().to_owned(),
                l["src"].as_str().unwrap().to_owned(),
                l["dst"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        classes,
        [
            (
                "newly-allowed".into(),
                "10.0.1.10".into(),
                "10.0.10.21".into()
            ),
            (
                "reason-changed".into(),
                "10.0.2.11".into(),
                "8.8.8.8".into()
            ),
            (
                "would-break".into(),
                "10.0.20.10".into(),
                "10.0.10.11".into()
            ),
        ]
    );
    let wb = &r.flows[2];
    assert_eq!(wb["before"]["allowed_packets"], 10);
    assert_eq!(wb["after"]["stage"], "zpr");
    assert_eq!(wb["community_id"], "1:Ajrb4IuOjcQKMSZEmT0GqGQMOWQ=");
    // The group says what blocks it after and what allowed it before.
    let g = &r.report["would_break"][0];
    assert!(
        g["reason"]
            .as_str()
            .unwrap()
            .starts_with("zpr DENIED: ingress check at `orders-api-pod-1`"),
        "{g}"
    );
    assert!(
        g["before"].to_string().contains("zpr_policy:transition#0"),
        "{g}"
    );
    assert!(
        r.stdout
            .contains("would break            1 flow(s)         10 packet(s)\n"),
        "{}",
        r.stdout
    );
    // --fail-on picks the classes that fail the run.
    assert_eq!(
        diff(
            t.path(),
            OKE,
            PROPOSED,
            &[DEMO],
            &["--fail-on", "reason-changed"]
        )
        .code,
        1
    );
    let rev = diff(
        t.path(),
        PROPOSED,
        OKE,
        &[DEMO],
        &["--fail-on", "reason-changed"],
    );
    assert_eq!(rev.code, 1);
    assert_eq!(rev.report["flows"]["would_break"], 1);
    assert_eq!(rev.report["flows"]["newly_allowed"], 1);
    // `none` never fails the run (a job that only wants the report),
    // though a flow would break; an empty list does the same and says so
    // (an unset `$KINDS` in a CI job would pass whatever breaks).
    let none = diff(t.path(), OKE, PROPOSED, &[DEMO], &["--fail-on", "none"]);
    assert_eq!(none.code, 0, "{}", none.stderr);
    assert_eq!(none.report["flows"]["would_break"], 1);
    assert!(!none.stderr.contains("names no class"), "{}", none.stderr);
    let never = diff(t.path(), OKE, PROPOSED, &[DEMO], &["--fail-on", ""]);
    assert_eq!(never.code, 0, "{}", never.stderr);
    assert_eq!(never.report["flows"]["would_break"], 1);
    assert!(
        never.stderr.contains("`--fail-on` names no class"),
        "{}",
        never.stderr
    );
    assert!(
        never.report["warnings"]
            .to_string()
            .contains("names no class"),
        "{}",
        never.report
    );
    let bad = diff(
        t.path(),
        OKE,
        PROPOSED,
        &[DEMO],
        &["--fail-on", "would-brake"],
    );
    assert_eq!(bad.code, 2);
    assert_eq!(
        bad.stderr,
        "error: `--fail-on would-brake`: `would-brake` is not a class; expected `would-break`, `newly-allowed`, `reason-changed`, `new-path` or `gone-path` (or `none` alone)\n"
    );
}

/// `new-path` and `gone-path` are classes of flow-log diffs only (a record
/// placed by a VNIC one scenario lacks): on captures such a gate could
/// never fire, so it is a usage error (exit 2, nothing written), alone or
/// in a list, as flow-log-only flags are; the same list passes on flow logs.
#[test]
fn fail_on_a_flow_log_only_class_is_refused_on_captures() {
    let t = tempfile::tempdir().unwrap();
    for (kinds, named) in [
        ("new-path", "`new-path` is a class"),
        ("would-break,gone-path", "`gone-path` is a class"),
        (
            "gone-path,new-path",
            "`new-path` and `gone-path` are classes",
        ),
    ] {
        let r = diff(t.path(), OKE, PROPOSED, &[DEMO], &["--fail-on", kinds]);
        assert_eq!(r.code, 2, "{kinds}: {}", r.stderr);
        assert_eq!(
            r.stderr,
            format!(
                "error: `--fail-on {kinds}`: {named} of flow-log input only (a VNIC one scenario lacks), and the inputs are captures: the gate could never fire\n"
            )
        );
        assert!(r.report.is_null() && r.flows.is_empty(), "{kinds}");
    }
}

#[test]
fn outputs_are_the_same_for_any_number_of_workers() {
    let t = tempfile::tempdir().unwrap();
    let strip = |mut v: Value| {
        let o = v.as_object_mut().unwrap();
        assert!(o.remove("duration_s").is_some() && o.remove("workers").is_some());
        v
    };
    let one = diff(t.path(), OKE, PROPOSED, &[DEMO], &["--workers", "1"]);
    for w in ["2", "4"] {
        let r = diff(t.path(), OKE, PROPOSED, &[DEMO], &["--workers", w]);
        assert_eq!(
            strip(r.report.clone()),
            strip(one.report.clone()),
            "{w} workers"
        );
        assert_eq!(r.flows, one.flows, "{w} workers");
    }
}

pub(crate) fn write_capture(path: &Path, pkts: &[Pkt]) {
    let f = std::fs::File::create(path).unwrap();
    let mut w =
        PcapOut::create(std::io::BufWriter::new(f), OutFormat::Pcap { linktype: 1 }).unwrap();
    for k in pkts {
        let fr = frame(k);
        w.write(k.ts, 1, u32::try_from(fr.len()).unwrap(), &fr)
            .unwrap();
    }
    w.finish().unwrap();
}

/// Removes one security rule or ZPR statement, chosen at random; returns
/// what was removed.
pub(crate) fn remove_one(
    rng: &mut ChaCha8Rng,
    s: &mut zprsim_control::model::Scenario,
) -> Option<String> {
    let mut slots: Vec<(u8, usize, usize)> = Vec::new();
    for (i, n) in s.nsgs.iter().enumerate() {
        slots.extend((0..n.rules.len()).map(|j| (0, i, j)));
    }
    for (i, l) in s.security_lists.iter().enumerate() {
        slots.extend((0..l.ingress.len()).map(|j| (1, i, j)));
        slots.extend((0..l.egress.len()).map(|j| (2, i, j)));
    }
    for (i, p) in s.zpr_policies.iter().enumerate() {
        slots.extend((0..p.statements.len()).map(|j| (3, i, j)));
    }
    if slots.is_empty() {
        return None;
    }
    let (k, i, j) = slots[rng.random_range(0..slots.len())];
    Some(match k {
        0 => {
            let name = s.nsgs[i].name.clone();
            format!("nsg {name} rule {j}: {:?}", s.nsgs[i].rules.remove(j))
        }
        1 => {
            let name = s.security_lists[i].name.clone();
            format!(
                "list {name} ingress {j}: {:?}",
                s.security_lists[i].ingress.remove(j)
            )
        }
        2 => {
            let name = s.security_lists[i].name.clone();
            format!(
                "list {name} egress {j}: {:?}",
                s.security_lists[i].egress.remove(j)
            )
        }
        _ => {
            let name = s.zpr_policies[i].name.clone();
            format!(
                "policy {name} statement {j}: {}",
                s.zpr_policies[i].statements.remove(j).text
            )
        }
    })
}

#[test]
fn changed_flows_are_exactly_those_the_reference_changes() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = crate::support::seeds("ZPRSIM_DIFF_CMD_SEEDS", 20).min(500);
    let (mut changed_total, mut unchanged_total) = (0usize, 0usize);
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(7000 + seed);
        let s = random_scenario(&mut rng);
        let bp = dir.path().join(format!("b{seed}.toml"));
        let ap = dir.path().join(format!("a{seed}.toml"));
        // The reference runs on what the files load back to.
        let sb = load::from_toml_str(&to_toml(&s), "b").unwrap().scenario;
        let pool = address_pool(&sb);
        let pkts = traffic(&mut rng, &sb, &pool, 300);
        let cap = dir.path().join(format!("c{seed}.pcap"));
        write_capture(&cap, &pkts);
        let mut n = 0;
        let vb = reference(&sb, &pkts, &mut n);
        // With up to five NSGs per VNIC most single rules are redundant:
        // draw up to 8 removals and keep the first that the reference says
        // changes a packet (else the last), so the test compares changes.
        let mut picked = None;
        for _ in 0..8 {
            let mut after = s.clone();
            let Some(what) = remove_one(&mut rng, &mut after) else {
                break;
            };
            let sa = load::from_toml_str(&to_toml(&after), "a").unwrap().scenario;
            let va = reference(&sa, &pkts, &mut n);
            let changes = vb.iter().zip(&va).any(|(b, a)| b.0 != a.0);
            picked = Some((after, what, va));
            if changes {
                break;
            }
        }
        let Some((after, what, va)) = picked else {
            continue;
        };
        std::fs::write(&bp, to_toml(&s)).unwrap();
        std::fs::write(&ap, to_toml(&after)).unwrap();
        let (mut wb, mut na) = (0u64, 0u64);
        let mut expected: BTreeSet<String> = BTreeSet::new();
        for (k, (b, a)) in pkts.iter().zip(vb.iter().zip(&va)) {
            match (b.0, a.0) {
                (Verdict::Allow, Verdict::Drop) => wb += 1,
                (Verdict::Drop, Verdict::Allow) => na += 1,
                _ => continue,
            }
            expected.insert(FlowKey::of(&k.p).community_id(0));
        }
        for workers in ["1", "3"] {
            let r = diff(
                dir.path(),
                bp.to_str().unwrap(),
                ap.to_str().unwrap(),
                &[cap.to_str().unwrap()],
                &["--workers", workers, "--quiet"],
            );
            assert!(r.code == 0 || r.code == 1, "seed {seed}: {}", r.stderr);
            let ctx = format!("seed {seed}, {workers} worker(s), removed {what}");
            assert_eq!(r.report["packets"]["total"], pkts.len(), "{ctx}");
            assert_eq!(r.report["packets"]["would_break"], wb, "{ctx}");
            assert_eq!(r.report["packets"]["newly_allowed"], na, "{ctx}");
            let got: BTreeSet<String> = r
                .flows
                .iter()
                .filter(|l| l["class"] != "reason-changed")
                .map(|l| l["community_id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(got, expected, "{ctx}");
            assert_eq!(
                r.code == 1,
                r.report["flows"]["would_break"].as_u64() > Some(0),
                "{ctx}"
            );
            if workers == "1" {
                changed_total += expected.len();
                unchanged_total +=
                    usize::try_from(r.report["flows"]["unchanged"].as_u64().unwrap()).unwrap();
            }
        }
    }
    // The test means something only if removals change flows, and leave others.
    assert!(changed_total >= 5, "only {changed_total} changed flows");
    assert!(unchanged_total > changed_total);
}

const FLOWLOG: &str = "examples/oke-orders/flowlogs/oke-demo.jsonl";

/// Each flow-log record under one scenario, from `replay`'s flow-log
/// output: (file line) -> its line there.
fn replay_records(dir: &Path, scenario: &str) -> std::collections::BTreeMap<u64, Value> {
    let flows = dir.join("replay.jsonl");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .args(["replay", scenario, FLOWLOG, "--quiet", "--flows"])
        .arg(&flows)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(&flows)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["line"].as_u64().unwrap(), v)
        })
        .collect()
}

/// `diff` on the OKE flow logs with the proposed change: each side counts
/// every record at its VNIC, as `replay` does; the flows' packets count
/// each direction once, at the VNIC that logged the most of it (since the
/// twenty-sixth session: a flow logged at both ends counted twice).
#[test]
fn flow_log_diff_packets_count_each_direction_of_a_flow_once() {
    let dir = tempfile::tempdir().unwrap();
    let r = diff(dir.path(), OKE, PROPOSED, &[FLOWLOG], &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let f = &r.report["flows"];
    assert_eq!(
        (&f["would_break"], &f["newly_allowed"], &f["reason_changed"]),
        (&Value::from(1), &Value::from(1), &Value::from(1)),
        "{:#}",
        r.report
    );
    let before = replay_records(dir.path(), OKE);
    let packets = |v: &Value| v["packets"].as_u64().unwrap();
    let every: u64 = before.values().map(packets).sum();
    assert_eq!(r.report["before"]["packets"]["total"], every);
    // Each direction (its tuple) as the VNIC that logged most of it saw it.
    let mut seen: std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> =
        std::collections::BTreeMap::new();
    for v in before.values() {
        let dir = format!(
            "{} {} {} {} {}",
            v["src"], v["sport"], v["dst"], v["dport"], v["proto"]
        );
        *seen
            .entry(dir)
            .or_default()
            .entry(v["vnic"].to_string())
            .or_default() += packets(v);
    }
    let once: u64 = seen.values().map(|m| m.values().max().unwrap()).sum();
    let p = &r.report["packets"];
    assert_eq!(p["total"], once);
    assert!(once < every, "some flow is logged at both ends");
    let wb: Vec<&Value> = r
        .flows
        .iter()
        .filter(|v| v["class"] == "would-break")
        .collect();
    assert_eq!(wb.len(), 1);
    assert_eq!(
        (wb[0]["src"].as_str(), wb[0]["dport"].as_u64()),
        (Some("10.0.20.10"), Some(8080))
    );
    assert_eq!(wb[0]["before"]["dropped_packets"], 0);
    assert_eq!(wb[0]["after"]["dropped_packets"], p["would_break"]);
    assert!(p["would_break"].as_u64() > Some(0) && p["newly_allowed"].as_u64() > Some(0));
}

/// A scenario's warning prints once, as every command prints it
/// (`FILE:LINE:COL: warning: ...`), from `diff` on flow logs as on
/// captures; flow-log `diff` printed it as a run warning, `warning:
/// FILE:LINE:COL: warning: ...`.
#[test]
fn diff_prints_a_scenarios_warning_as_every_command_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let oke = root.join("examples/oke-orders");
    std::fs::create_dir(d.join("policies")).unwrap();
    for e in std::fs::read_dir(oke.join("policies")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), d.join("policies").join(e.file_name())).unwrap();
    }
    // A statement naming an attribute nobody carries: an `unknown-attribute`
    // warning.
    let text = std::fs::read_to_string(oke.join("scenario.toml")).unwrap();
    let from = "app.role:k8s-api endpoints with protocol='tcp/12250'";
    assert_eq!(text.matches(from).count(), 1);
    let s = d.join("s.toml");
    std::fs::write(
        &s,
        text.replace(from, "app.role:k8s-apj endpoints with protocol='tcp/12250'"),
    )
    .unwrap();
    let s = s.to_str().unwrap();
    for input in [
        "pcaps/oke-demo.pcap",
        "examples/oke-orders/flowlogs/oke-demo.jsonl",
    ] {
        let o = crate::support::run_in(
            root,
            [
                "diff",
                s,
                "examples/oke-orders/proposed.toml",
                input,
                "--quiet",
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.contains("k8s-apj")).collect();
        assert_eq!(lines.len(), 1, "{input}: {err}");
        assert!(
            lines[0].starts_with(&format!("{s}:")) && lines[0].contains(": warning: in zpr_policy"),
            "{input}: {}",
            lines[0]
        );
    }
}
