//! QA round fifteen (twentieth session): `diff` held against the reference
//! evaluator for every kind of change a user proposes (a rule removed, a
//! rule added, a ZPR statement removed, an NSG detached from a VNIC, a route
//! rule retargeted), flow logs as OCI archives them in Object Storage, and
//! careless command lines on the newest flags. Each test failed before its
//! fix (or is ignored, saying whose area the fix is in).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use zprsim_bench::random::{
    Shape, address_pool_shaped, random_packet_shaped, random_scenario_shaped, vnic_addresses,
};
use zprsim_bench::scale::to_toml;
use zprsim_control::load;
use zprsim_control::model::{
    Direction, Peer, Protocol, RouteTarget, RuleOptions, Scenario, SecurityRule,
};
use zprsim_control::verdict::{Decision, DirectionKey, RuleRef, Verdict};
use zprsim_dataplane::community_id::FlowKey;

use crate::diff::{remove_one, write_capture};
use crate::replay_oracle::{reference_decisions, traffic_with, v6_header_proto};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Run {
    code: i32,
    stderr: String,
    report: Value,
    flows: Vec<Value>,
}

fn diff_run(dir: &Path, before: &Path, after: &Path, inputs: &[&Path], extra: &[&str]) -> Run {
    let report = dir.join("r.json");
    let flows = dir.join("f.jsonl");
    let _ = std::fs::remove_file(&report);
    let _ = std::fs::remove_file(&flows);
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .arg("diff")
        .arg(before)
        .arg(after)
        .args(inputs)
        .arg("--report")
        .arg(&report)
        .arg("--flows")
        .arg(&flows)
        .args(extra)
        .output()
        .unwrap();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    Run {
        code: o.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        report: serde_json::from_str(&read(&report)).unwrap_or(Value::Null),
        flows: read(&flows)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    }
}

/// The kinds of change of the brief's check 1.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// A security rule or ZPR statement removed.
    Remove,
    /// A security rule added (to an NSG or a list).
    AddRule,
    /// An NSG detached from a VNIC.
    DetachNsg,
    /// A route rule sent to another target of its VCN.
    Retarget,
    /// A security list detached from a subnet.
    DetachList,
    /// A security attribute taken off a VNIC.
    DropAttribute,
}

fn random_rule(rng: &mut ChaCha8Rng, vnics: &[std::net::IpAddr]) -> SecurityRule {
    let peer = if rng.random_bool(0.3) || vnics.is_empty() {
        Peer::Cidr("0.0.0.0/0".parse().unwrap())
    } else {
        let ip = vnics[rng.random_range(0..vnics.len())];
        Peer::Cidr(ipnet::IpNet::from(ip))
    };
    let protocol = match rng.random_range(0..3) {
        0 => Protocol::All,
        1 => Protocol::Number(6),
        _ => Protocol::Number(17),
    };
    SecurityRule {
        direction: if rng.random_bool(0.5) {
            Direction::Ingress
        } else {
            Direction::Egress
        },
        protocol,
        peer,
        stateless: rng.random_bool(0.3),
        options: RuleOptions::None,
        description: None,
    }
}

/// Applies one change of kind `c`; what it changed, or None when the
/// scenario has nothing to change that way.
fn change(rng: &mut ChaCha8Rng, s: &mut Scenario, c: Change) -> Option<String> {
    match c {
        Change::Remove => remove_one(rng, s),
        Change::AddRule => {
            let vnics = vnic_addresses(s);
            let r = random_rule(rng, &vnics);
            let n = s.nsgs.len() + s.security_lists.len();
            if n == 0 {
                return None;
            }
            let k = rng.random_range(0..n);
            if k < s.nsgs.len() {
                let at = rng.random_range(0..=s.nsgs[k].rules.len());
                s.nsgs[k].rules.insert(at, r.clone());
                Some(format!("nsg {} + rule at {at}: {r:?}", s.nsgs[k].name))
            } else {
                let l = &mut s.security_lists[k - s.nsgs.len()];
                let v = if r.direction == Direction::Ingress {
                    &mut l.ingress
                } else {
                    &mut l.egress
                };
                let at = rng.random_range(0..=v.len());
                v.insert(at, r.clone());
                Some(format!("list {} + rule at {at}: {r:?}", l.name))
            }
        }
        Change::DetachNsg => {
            let with: Vec<usize> = (0..s.vnics.len())
                .filter(|&i| !s.vnics[i].nsgs.is_empty())
                .collect();
            if with.is_empty() {
                return None;
            }
            let v = with[rng.random_range(0..with.len())];
            let j = rng.random_range(0..s.vnics[v].nsgs.len());
            let n = s.vnics[v].nsgs.remove(j);
            Some(format!(
                "nsg {} detached from {}",
                s.nsgs[n.index()].name,
                s.vnics[v].name
            ))
        }
        Change::DetachList => {
            let with: Vec<usize> = (0..s.subnets.len())
                .filter(|&i| !s.subnets[i].security_lists.is_empty())
                .collect();
            if with.is_empty() {
                return None;
            }
            let n = with[rng.random_range(0..with.len())];
            let j = rng.random_range(0..s.subnets[n].security_lists.len());
            let l = s.subnets[n].security_lists.remove(j);
            Some(format!(
                "list {} detached from subnet {}",
                s.security_lists[l.index()].name,
                s.subnets[n].name
            ))
        }
        Change::DropAttribute => {
            let with: Vec<usize> = (0..s.vnics.len())
                .filter(|&i| !s.vnics[i].attributes.is_empty())
                .collect();
            if with.is_empty() {
                return None;
            }
            let v = with[rng.random_range(0..with.len())];
            let j = rng.random_range(0..s.vnics[v].attributes.len());
            let a = s.vnics[v].attributes.remove(j);
            Some(format!("attribute {a:?} taken off {}", s.vnics[v].name))
        }
        Change::Retarget => {
            let mut slots = Vec::new();
            for (t, rt) in s.route_tables.iter().enumerate() {
                for (j, r) in rt.rules.iter().enumerate() {
                    if matches!(r.target, RouteTarget::Gateway(_)) {
                        slots.push((t, j));
                    }
                }
            }
            if slots.is_empty() {
                return None;
            }
            let (t, j) = slots[rng.random_range(0..slots.len())];
            let vcn = s.route_tables[t].vcn;
            let RouteTarget::Gateway(old) = s.route_tables[t].rules[j].target else {
                return None;
            };
            let others: Vec<usize> = (0..s.gateways.len())
                .filter(|&g| s.gateways[g].vcn == vcn && g != old.index())
                .collect();
            if others.is_empty() {
                return None;
            }
            let g = others[rng.random_range(0..others.len())];
            s.route_tables[t].rules[j].target =
                RouteTarget::Gateway(zprsim_control::ids::GatewayId::new(g).ok()?);
            Some(format!(
                "route table {} rule {j}: {} -> {}",
                s.route_tables[t].name,
                s.gateways[old.index()].name,
                s.gateways[g].name
            ))
        }
    }
}

/// What the reference says of a packet, for comparing two scenarios: the
/// verdict and the stage (the deciding rules are compared by `diff` by
/// content, which index-based deciders cannot do here).
fn core(d: &Decision) -> (Verdict, Option<zprsim_control::verdict::Stage>) {
    (d.judgement.verdict, d.judgement.stage)
}

/// A deciding rule or statement by content (its container's name and its
/// text), as `diff` compares them: an index shifts when a rule before it
/// is removed or added.
fn content(s: &Scenario, r: Option<RuleRef>) -> String {
    match r {
        None => String::new(),
        Some(RuleRef::Route { table, index }) => {
            let t = &s.route_tables[table.index()];
            format!("route {} {:?}", t.name, t.rules.get(index as usize))
        }
        Some(RuleRef::SecurityList {
            list,
            direction,
            index,
        }) => {
            let l = &s.security_lists[list.index()];
            let v = match direction {
                DirectionKey::Ingress => &l.ingress,
                DirectionKey::Egress => &l.egress,
            };
            format!("list {} {:?}", l.name, v.get(index as usize))
        }
        Some(RuleRef::Nsg { nsg, index }) => {
            let n = &s.nsgs[nsg.index()];
            format!("nsg {} {:?}", n.name, n.rules.get(index as usize))
        }
        Some(RuleRef::Statement(st)) => {
            let p = &s.zpr_policies[st.policy.index()];
            format!(
                "policy {} {:?}",
                p.name,
                p.statements.get(st.index as usize).map(|x| &x.text)
            )
        }
    }
}

fn deciders(s: &Scenario, d: &Decision) -> [String; 5] {
    let x = &d.deciders;
    [
        content(s, x.route),
        content(s, x.egress),
        content(s, x.ingress),
        content(s, x.zpr_egress),
        content(s, x.zpr_ingress),
    ]
}

/// Check 1: for random scenarios B and A = B with one change of each kind,
/// on random traffic with replies, the flows `diff` reports would-break or
/// newly-allowed are exactly those with a packet whose verdict the
/// reference changes (by its own connection tracker, judging both), the
/// packet counts are the reference's, and a reason-changed flow has a
/// packet the reference judges at another stage or by other rules.
#[test]
fn diff_agrees_with_the_reference_for_every_kind_of_change() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = crate::support::seeds("ZPRSIM_QA22_DIFF_SEEDS", 12).min(400);
    let kinds = [
        Change::Remove,
        Change::AddRule,
        Change::DetachNsg,
        Change::Retarget,
        Change::DetachList,
        Change::DropAttribute,
    ];
    let mut tally: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for seed in 0..seeds {
        for (ki, &kind) in kinds.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(22_000 + seed * 7 + ki as u64);
            let shape = if seed % 2 == 0 {
                Shape::edges()
            } else {
                Shape::classic()
            };
            let s = random_scenario_shaped(&mut rng, &shape);
            let sb = load::from_toml_str(&to_toml(&s), "b").unwrap().scenario;
            let pool = address_pool_shaped(&sb, &shape);
            let vn = vnic_addresses(&sb);
            let pkts = traffic_with(&mut rng, &sb, 300, |r| {
                loop {
                    let p = random_packet_shaped(r, &pool, &vn, &shape);
                    if !v6_header_proto(&p) {
                        break p;
                    }
                }
            });
            let mut n = 0;
            let vb = reference_decisions(&sb, &pkts, &mut n);
            // Draw up to 8 changes and keep the first the reference says
            // changes a packet (else the last).
            let mut picked = None;
            for _ in 0..8 {
                let mut a = s.clone();
                let Some(what) = change(&mut rng, &mut a, kind) else {
                    break;
                };
                let Ok(la) = load::from_toml_str(&to_toml(&a), "a") else {
                    continue;
                };
                let va = reference_decisions(&la.scenario, &pkts, &mut n);
                let changes = vb.iter().zip(&va).any(|(b, a)| core(b) != core(a));
                picked = Some((a, what, va, la.scenario));
                if changes {
                    break;
                }
            }
            let Some((a, what, va, sa)) = picked else {
                continue;
            };
            let bp = dir.path().join("b.toml");
            let ap = dir.path().join("a.toml");
            let cap = dir.path().join("c.pcap");
            std::fs::write(&bp, to_toml(&s)).unwrap();
            std::fs::write(&ap, to_toml(&a)).unwrap();
            write_capture(&cap, &pkts);
            let (mut wb, mut na) = (0u64, 0u64);
            let mut verdict_changed: BTreeSet<String> = BTreeSet::new();
            let mut any_changed: BTreeSet<String> = BTreeSet::new();
            for (k, (b, a)) in pkts.iter().zip(vb.iter().zip(&va)) {
                let cid = FlowKey::of(&k.p).community_id(0);
                match (b.judgement.verdict, a.judgement.verdict) {
                    (Verdict::Allow, Verdict::Drop) => wb += 1,
                    (Verdict::Drop, Verdict::Allow) => na += 1,
                    _ => {
                        if core(b) != core(a) || deciders(&sb, b) != deciders(&sa, a) {
                            any_changed.insert(cid);
                        }
                        continue;
                    }
                }
                verdict_changed.insert(cid.clone());
                any_changed.insert(cid);
            }
            let r = diff_run(
                dir.path(),
                &bp,
                &ap,
                &[&cap],
                &["--quiet", "--fail-on", "none"],
            );
            let ctx = format!("seed {seed}, {kind:?}: {what}\n{}", r.stderr);
            assert_eq!(r.code, 0, "{ctx}");
            assert_eq!(r.report["packets"]["total"], pkts.len(), "{ctx}");
            assert_eq!(r.report["packets"]["would_break"], wb, "{ctx}");
            assert_eq!(r.report["packets"]["newly_allowed"], na, "{ctx}");
            let class = |c: &str| -> BTreeSet<String> {
                r.flows
                    .iter()
                    .filter(|l| l["class"] == c)
                    .filter_map(|l| l["community_id"].as_str().map(str::to_owned))
                    .collect()
            };
            let got: BTreeSet<String> = class("would-break")
                .union(&class("newly-allowed"))
                .cloned()
                .collect();
            assert_eq!(got, verdict_changed, "{ctx}");
            let rc = class("reason-changed");
            for f in &rc {
                assert!(
                    any_changed.contains(f),
                    "{ctx}: flow {f} reported reason-changed, the reference judges it alike"
                );
            }
            let t = tally.entry(format!("{kind:?}")).or_default();
            t.0 += verdict_changed.len();
            t.1 += rc.len();
            t.2 += usize::try_from(r.report["flows"]["unchanged"].as_u64().unwrap_or(0)).unwrap();
        }
    }
    eprintln!(
        "diff vs reference, per kind (verdict-changed, reason-changed, unchanged flows): {tally:?}"
    );
    for (k, t) in &tally {
        assert!(t.0 > 0, "{k}: no change ever changed a verdict: {tally:?}");
    }
}

/// The docs' pages, README first.
fn doc_pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

/// Check 2 (docs drift): every `--fail-on VALUE` the docs write in prose
/// with a literal value is one `diff` takes. The docs test runs only the
/// commands of code blocks and checks flag names, not the values written in
/// prose; docs/rollout.md told users "Exit 1 with `--fail-on broken`",
/// which exits 2 (`broken` is not a class).
#[test]
fn every_fail_on_value_the_docs_write_is_accepted() {
    let mut values: BTreeSet<(String, String)> = BTreeSet::new();
    for page in doc_pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        for (i, _) in text.match_indices("--fail-on ") {
            let rest = &text[i + "--fail-on ".len()..];
            let v: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '-' || *c == ',')
                .collect();
            // Placeholders (KINDS) and variables are not values.
            if !v.is_empty() && !v.ends_with('-') {
                values.insert((v, name.clone()));
            }
        }
    }
    assert!(values.len() >= 2, "{values:?}");
    let mut bad = Vec::new();
    for (v, page) in &values {
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(root())
            .args([
                "diff",
                "examples/oke-orders/rollout.toml",
                "examples/oke-orders/scenario.toml",
                "pcaps/oke-demo.pcap",
                "--quiet",
                "--fail-on",
                v,
            ])
            .output()
            .unwrap();
        if o.status.code() == Some(2) {
            bad.push(format!(
                "{page}: `--fail-on {v}`: {}",
                String::from_utf8_lossy(&o.stderr).trim_end()
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// A bucket of flow logs as `oci os object bulk-download` leaves it:
/// Connector Hub objects (`<connector OCID>/<start>_<end>.<n>.log.gz`,
/// gzip of JSON lines) of the OKE example's log, the last still being
/// written (cut inside its gzip member), and a second download of the
/// same bucket beside it with that object whole.
fn two_downloads(dir: &Path) -> (PathBuf, PathBuf) {
    use std::io::Write;
    let log = std::fs::read_to_string(root().join("examples/oke-orders/flowlogs/oke-demo.jsonl"))
        .unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let gz = |part: &[&str]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for l in part {
            writeln!(e, "{l}").unwrap();
        }
        e.finish().unwrap()
    };
    let names = [
        "20240301T085800Z_20240301T090000Z.0.log.gz",
        "20240301T090000Z_20240301T090200Z.0.log.gz",
        "20240301T090200Z_20240301T090400Z.0.log.gz",
        "20240301T090400Z_20240301T090600Z.0.log.gz",
    ];
    let mut roots = Vec::new();
    for d in ["download-1", "download-2"] {
        let at = dir
            .join(d)
            .join("flowlogs/ocid1.serviceconnector.oc1.iad.aaaa");
        std::fs::create_dir_all(&at).unwrap();
        for (i, chunk) in lines.chunks(lines.len().div_ceil(4)).enumerate() {
            let mut bytes = gz(chunk);
            if d == "download-1" && i == 3 {
                bytes.truncate(bytes.len() / 2);
            }
            std::fs::write(at.join(names[i]), bytes).unwrap();
        }
        roots.push(dir.join(d));
    }
    (roots[0].clone(), roots[1].clone())
}

/// Check 3: `replay` and `diff` on two downloads of one bucket of flow logs
/// (one object cut, still being written in the first) judge every record
/// once: the same packets, verdicts, agreement and classes as the one log
/// they were cut from, with a warning naming the cut object and one
/// counting the duplicates (77 judged, 65 duplicates skipped: the 64 data
/// records and, since the next test's fix, the NODATA entry).
#[test]
fn two_downloads_of_a_bucket_judge_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let (d1, d2) = two_downloads(dir.path());
    let one = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let scenario = root().join("examples/oke-orders/scenario.toml");
    let proposed = root().join("examples/oke-orders/proposed.toml");
    let replay = |inputs: &[&Path], report: &Path| -> (i32, String, Value) {
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(dir.path())
            .arg("replay")
            .arg(&scenario)
            .args(inputs)
            .arg("--quiet")
            .arg("--report")
            .arg(report)
            .output()
            .unwrap();
        let r = serde_json::from_str(&std::fs::read_to_string(report).unwrap_or_default())
            .unwrap_or(Value::Null);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            r,
        )
    };
    let (c1, _, whole) = replay(&[&one], &dir.path().join("a.json"));
    let (c2, err, both) = replay(&[&d1, &d2], &dir.path().join("b.json"));
    assert_eq!((c1, c2), (0, 0), "{err}");
    for k in ["packets", "bytes", "dropped_by_stage", "flows"] {
        assert_eq!(whole[k], both[k], "{k}");
    }
    for k in ["judged", "agreement", "unplaced", "disagreements_total"] {
        assert_eq!(whole["flow_log"][k], both["flow_log"][k], "flow_log.{k}");
    }
    assert!(err.contains("download-1/flowlogs/ocid1.serviceconnector.oc1.iad.aaaa/20240301T090400Z_20240301T090600Z.0.log.gz:6: the gzip stream ends early"), "{err}");
    assert!(
        err.contains("flow-log entries skipped: an earlier entry has the same `id`"),
        "{err}"
    );
    // diff on the two downloads: the classes of diff on the one log.
    let a = diff_run(dir.path(), &scenario, &proposed, &[&one], &["--quiet"]);
    let b = diff_run(dir.path(), &scenario, &proposed, &[&d1, &d2], &["--quiet"]);
    assert_eq!((a.code, b.code), (1, 1), "{}", b.stderr);
    assert_eq!(a.report["flows"], b.report["flows"]);
    assert_eq!(a.report["packets"], b.report["packets"]);
    let key = |r: &Run| -> BTreeSet<String> {
        r.flows
            .iter()
            .map(|f| format!("{} {}", f["community_id"], f["class"]))
            .collect()
    };
    assert_eq!(key(&a), key(&b));
}

/// Check 3, the quality entries: a NODATA or SKIPDATA entry read twice (two
/// downloads of a bucket, a `.jsonl` beside its `.gz`) was counted twice,
/// where docs/flow-logs.md says an entry whose `id` and `startTime` an
/// earlier entry had is skipped and counted in `skipped_duplicate`: two
/// copies of the OKE log gave 2 NODATA, 2 SKIPDATA and 78 duplicates (of 80
/// entries), and the warning named the first data duplicate (line 2), not
/// the first duplicate (line 1). Data records are found again in the spool
/// one second at a time; quality entries never reach it, so the reading
/// keeps their keys (at most `MAX_QUALITY_IDS`). `replay` and `diff`.
#[test]
fn a_quality_entry_read_twice_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let copy = dir.path().join("copy.jsonl");
    std::fs::copy(&log, &copy).unwrap();
    let report = dir.path().join("r.json");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .arg("replay")
        .arg(root().join("examples/oke-orders/scenario.toml"))
        .arg(&log)
        .arg(&copy)
        .arg("--quiet")
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("copy.jsonl:1: 80 flow-log entries skipped"),
        "{err}"
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let f = &r["flow_log"];
    let counts = |f: &Value| {
        (
            f["records"].clone(),
            f["skipped_nodata"].clone(),
            f["skipped_skipdata"].clone(),
            f["skipped_duplicate"].clone(),
        )
    };
    let want = (
        Value::from(160),
        Value::from(1),
        Value::from(1),
        Value::from(80),
    );
    assert_eq!(counts(f), want, "{f:#}");
    // diff counts them alike.
    let oke = root().join("examples/oke-orders/scenario.toml");
    let proposed = root().join("examples/oke-orders/proposed.toml");
    let d = diff_run(dir.path(), &oke, &proposed, &[&log, &copy], &["--quiet"]);
    assert_eq!(d.code, 1, "{}", d.stderr);
    assert_eq!(counts(&d.report["flow_log"]), want, "{:#}", d.report);
}

/// The journey of docs/benchmarks.md on a small cluster: `zprsim-gen oke
/// --nodes N --pods P -o DIR` (`zprsim_bench::oke`), then `zprsim verify
/// DIR/scenario.toml DIR/expect.toml`, on the scenario and on its export
/// (`zprsim-gen export`, `zprsim_bench::oci_export`) imported back with
/// `zprsim import oci`. With fewer than ten pod VNICs (fewer than 280 pod
/// IPs) no VNIC ran billing, so the generated expectations failed on their
/// own scenario ("`attr:app.workload:billing` matches no endpoint", exit
/// 1); with 31 pods or fewer only one workload can run, and with one node
/// no node-to-node path has a pair: the generator now refuses both.
#[test]
fn a_small_generated_oke_cluster_passes_its_own_expectations() {
    let dir = tempfile::tempdir().unwrap();
    for (nodes, pods) in [(12, 120), (3, 40), (20, 279), (2, 32)] {
        let out = dir.path().join(format!("oke-{nodes}-{pods}"));
        std::fs::create_dir_all(out.join("policies")).unwrap();
        let text = zprsim_bench::oke::scenario(nodes, pods).unwrap();
        std::fs::write(out.join("scenario.toml"), &text).unwrap();
        std::fs::write(out.join("policies/orders.zpl"), zprsim_bench::oke::POLICY).unwrap();
        std::fs::write(out.join("expect.toml"), zprsim_bench::oke::EXPECT).unwrap();
        let loaded = zprsim_dataplane::scenario_file::load_path(&out.join("scenario.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let (files, services) = zprsim_bench::oci_export::export(&loaded.scenario);
        let exp = dir.path().join(format!("exp-{nodes}-{pods}"));
        std::fs::create_dir_all(&exp).unwrap();
        for (name, body) in &files {
            std::fs::write(exp.join(name), body).unwrap();
        }
        let ranges = dir.path().join(format!("exp-{nodes}-{pods}.services.json"));
        std::fs::write(&ranges, services).unwrap();
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .args(["import", "oci"])
            .arg(&exp)
            .arg("--services")
            .arg(&ranges)
            .arg("-o")
            .arg(out.join("imported.toml"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for s in ["scenario.toml", "imported.toml"] {
            let o = Command::cargo_bin("zprsim")
                .unwrap()
                .current_dir(&out)
                .args(["verify", s, "expect.toml"])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&o.stdout);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{nodes} nodes, {pods} pods, {s}:\n{text}{}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(text.contains("36 path(s): 36 ok, 0 failed"), "{text}");
        }
    }
    for (nodes, pods) in [(1, 100), (3, 31)] {
        let e = zprsim_bench::oke::scenario(nodes, pods).unwrap_err();
        assert!(e.contains("at least 2 nodes and 32 pods"), "{e}");
    }
}

/// A flow line's or record's tuple, both directions as one (`diff` on flow
/// logs groups records by it and names the flow by its first record: an
/// ICMP flow's community id is its first record's, which for pings both
/// ways is not every record's).
fn tuple_key(v: &Value) -> String {
    let a = format!("{}:{}", v["src"], v["sport"]);
    let b = format!("{}:{}", v["dst"], v["dport"]);
    let (x, y) = if a <= b { (a, b) } else { (b, a) };
    format!("{} {x} {y}", v["proto"])
}

/// Check 1 on flow logs: the logs OCI would write for random traffic
/// (`zprsim_bench::flowlogs`), B and A = B with one change of each kind:
/// `diff` on the logs reports as would-break or newly-allowed exactly the
/// flows (tuples, both directions) and packets `diff` on the capture the
/// logs were made from reports (since the twenty-sixth session, when
/// `diff` on flow logs came to judge each flow along its whole path and
/// count its packets once; the oracle was `replay`'s verdict of each
/// record at its VNIC).
#[test]
fn flow_log_diff_agrees_with_replay_of_each_side_for_every_kind_of_change() {
    use zprsim_bench::flowlogs;
    use zprsim_control::compile::{Compiled, Config};
    let dir = tempfile::tempdir().unwrap();
    let seeds = crate::support::seeds("ZPRSIM_QA22_DIFF_SEEDS", 6).min(200);
    let kinds = [
        Change::Remove,
        Change::AddRule,
        Change::DetachNsg,
        Change::Retarget,
        Change::DetachList,
        Change::DropAttribute,
    ];
    let mut tally: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    for seed in 0..seeds {
        for (ki, &kind) in kinds.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(23_000 + seed * 7 + ki as u64);
            let shape = Shape::classic();
            let mut s = random_scenario_shaped(&mut rng, &shape);
            for (i, v) in s.vnics.iter_mut().enumerate() {
                v.id = Some(format!("ocid1.vnic.oc1..qa{i}"));
            }
            let sb = load::from_toml_str(&to_toml(&s), "b").unwrap().scenario;
            let pool = address_pool_shaped(&sb, &shape);
            let vn = vnic_addresses(&sb);
            let pkts = traffic_with(&mut rng, &sb, 300, |r| {
                random_packet_shaped(r, &pool, &vn, &shape)
            });
            // As for captures: the first of up to 8 changes the reference
            // says changes a packet (else the last).
            let mut n = 0;
            let vr = reference_decisions(&sb, &pkts, &mut n);
            let mut picked = None;
            for _ in 0..8 {
                let mut a = s.clone();
                let Some(what) = change(&mut rng, &mut a, kind) else {
                    break;
                };
                let Ok(la) = load::from_toml_str(&to_toml(&a), "a") else {
                    continue;
                };
                let va = reference_decisions(&la.scenario, &pkts, &mut n);
                let changes = vr.iter().zip(&va).any(|(b, a)| core(b) != core(a));
                picked = Some((a, what));
                if changes {
                    break;
                }
            }
            let Some((a, what)) = picked else {
                continue;
            };
            let bp = dir.path().join("b.toml");
            let ap = dir.path().join("a.toml");
            std::fs::write(&bp, to_toml(&s)).unwrap();
            std::fs::write(&ap, to_toml(&a)).unwrap();
            let cap = dir.path().join("c.pcap");
            write_capture(&cap, &pkts);
            let cb = Compiled::new(&sb, &Config::default()).unwrap();
            let recs = flowlogs::records_from_capture(&sb, &cb, &std::fs::read(&cap).unwrap());
            let entries: Vec<_> = recs
                .iter()
                .enumerate()
                .map(|(n, r)| flowlogs::entry(r, n as u64))
                .collect();
            let lp = dir.path().join("l.jsonl");
            std::fs::write(&lp, flowlogs::json_lines(&entries)).unwrap();
            // Since the twenty-sixth session each flow is judged along its
            // whole path, as `diff` judges the capture the logs were made
            // from: that is the oracle now (`replay` judges each record at
            // its VNIC alone).
            let c = diff_run(
                dir.path(),
                &bp,
                &ap,
                &[&cap],
                &["--quiet", "--fail-on", "none"],
            );
            let wb = c.report["packets"]["would_break"].as_u64().unwrap();
            let na = c.report["packets"]["newly_allowed"].as_u64().unwrap();
            let expected: BTreeSet<String> = c
                .flows
                .iter()
                .filter(|l| l["class"] == "would-break" || l["class"] == "newly-allowed")
                // A fragment without its ports: port 0 in a flow log.
                .map(|l| match l["proto"].as_u64() {
                    Some(6 | 17) => tuple_key(l).replace(":null", ":0"),
                    _ => tuple_key(l),
                })
                .collect();
            let r = diff_run(
                dir.path(),
                &bp,
                &ap,
                &[&lp],
                &["--quiet", "--fail-on", "none"],
            );
            let ctx = format!("seed {seed}, {kind:?}: {what}\n{}", r.stderr);
            assert_eq!(r.code, 0, "{ctx}");
            assert_eq!(r.report["packets"]["would_break"], wb, "{ctx}");
            assert_eq!(r.report["packets"]["newly_allowed"], na, "{ctx}");
            let got: BTreeSet<String> = r
                .flows
                .iter()
                .filter(|l| l["class"] == "would-break" || l["class"] == "newly-allowed")
                .map(tuple_key)
                .collect();
            assert_eq!(got, expected, "{ctx}");
            let t = tally.entry(format!("{kind:?}")).or_default();
            t.0 += wb + na;
            t.1 += expected.len();
        }
    }
    eprintln!("flow-log diff vs replay, per kind (changed packets, changed flows): {tally:?}");
    assert!(tally.values().map(|t| t.1).sum::<usize>() > 0, "{tally:?}");
}

/// What an engineer needs from `explain` when stateless wins: the line
/// named the first matching rule (stateful here) and said "stateful and
/// stateless rules match: stateless wins, not tracked", without naming the
/// stateless rule that made the connection untracked (the one to change
/// when the reply is dropped). It is now named, in the text and in
/// `--json`'s layer `reason`.
#[test]
fn explain_names_the_stateless_rule_that_wins() {
    let run = |json: bool| {
        let mut c = Command::cargo_bin("zprsim").unwrap();
        c.current_dir(root()).args([
            "explain",
            "tests/cases/scenarios/security.toml",
            "--src",
            "10.0.1.10",
            "--dst",
            "10.0.2.11",
            "--proto",
            "tcp",
            "--sport",
            "40000",
            "--dport",
            "8050",
        ]);
        if json {
            c.arg("--json");
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let text = run(false);
    let want = "stateless wins, not tracked (the stateless one: security list `front-sl` rule #9: egress tcp to 10.0.2.0/24 dport 8050-8059 (stateless))";
    assert!(text.contains(want), "{text}");
    let json = run(true);
    assert!(json.contains(want), "{json}");
}

/// Check 2 (docs drift): the outputs the pages show in a `text` block
/// right after a `sh` block of `zprsim` commands (README's quick start,
/// docs/diff.md, docs/flow-logs.md, docs/verify.md, ...) are what the
/// commands print. The docs test runs the commands of `console` blocks
/// with their output, and only flags and files of `sh` blocks: these
/// outputs, the first numbers a user compares, were checked by nobody
/// (they all matched at this commit). Every line of the `text` block but
/// elided ones (`...`) must be a line of the output; the commands run in a
/// copy of `examples/` and `pcaps/` with the debug binary first on `PATH`.
#[test]
fn the_outputs_shown_after_sh_blocks_are_what_the_commands_print() {
    let clone = tempfile::tempdir().unwrap();
    for d in ["examples", "pcaps"] {
        copy_tree(&root().join(d), &clone.path().join(d));
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_zprsim"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut checked = 0;
    let mut problems = Vec::new();
    for page in doc_pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.file_name().unwrap().to_string_lossy().into_owned();
        let blocks = fenced_blocks(&text);
        for w in blocks.windows(2) {
            let ((lang, _, end, body), (next, start, _, shown)) = (&w[0], &w[1]);
            let runs_zprsim = body.iter().any(|l| {
                l.trim_start().starts_with("zprsim ") || l.contains("cargo run --release --")
            });
            // A text block close below (prose between is fine) and a block
            // of commands that need nothing but this repository.
            if !matches!(lang.as_str(), "sh" | "bash")
                || next != "text"
                || !runs_zprsim
                || start - end > 16
                || body
                    .iter()
                    .any(|l| l.contains("/tmp/") || l.contains("valgrind"))
            {
                continue;
            }
            let script: Vec<String> = body
                .iter()
                .filter(|l| {
                    let t = l.trim_start();
                    !t.starts_with("cargo build")
                        && !t.starts_with("export PATH")
                        && !t.starts_with("cargo test")
                })
                .map(|l| l.replace("cargo run --release --", "zprsim"))
                .collect();
            let o = std::process::Command::new("bash")
                .arg("-c")
                .arg(script.join("\n"))
                .current_dir(clone.path())
                .env("PATH", &path)
                .output()
                .unwrap();
            let real = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            let lines: HashSet<&str> = real.lines().map(str::trim).collect();
            checked += 1;
            for l in shown
                .iter()
                .filter(|l| !l.trim().is_empty() && !l.contains("..."))
            {
                if !lines.contains(l.trim()) {
                    problems.push(format!(
                        "{name}:{start}: the page shows `{}`; the commands print:\n{real}",
                        l.trim_end()
                    ));
                    break;
                }
            }
        }
    }
    assert!(checked >= 6, "only {checked} outputs checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The fenced blocks of a Markdown page: (language, first line, last line,
/// body lines), lines counted from 1.
fn fenced_blocks(text: &str) -> Vec<(String, usize, usize, Vec<String>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(lang) = lines[i].strip_prefix("```") {
            let mut j = i + 1;
            while j < lines.len() && !lines[j].starts_with("```") {
                j += 1;
            }
            let body = lines[i + 1..j.min(lines.len())]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            out.push((lang.trim().to_owned(), i + 1, j + 1, body));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// Check 2 (docs drift): every top-level key `verify --json` writes is in
/// docs/verify.md's list of them (`stopped_by`, written since the
/// nineteenth session, was not).
#[test]
fn every_top_level_key_of_verify_json_is_documented() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &root().join("examples/oke-orders"),
        &dir.path().join("oke-orders"),
    );
    let scenario = dir.path().join("oke-orders/scenario.toml");
    let text = std::fs::read_to_string(&scenario).unwrap();
    // The load balancer's egress to the NodePorts removed, as in
    // docs/verify.md: a failing path with hints.
    let broken: String = text
        .lines()
        .filter(|l| !(l.contains("destination = \"nodes-nsg\"") && l.contains("min = 30000")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(broken, text);
    std::fs::write(&scenario, broken).unwrap();
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(dir.path().join("oke-orders"))
        .args(["verify", "scenario.toml", "expect.toml", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let docs = std::fs::read_to_string(root().join("docs/verify.md")).unwrap();
    let line = docs
        .lines()
        .find(|l| l.starts_with("- `--json`: one object, `{"))
        .unwrap();
    let listed = &line[line.find('{').unwrap()..line.find('}').unwrap()];
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert!(keys.len() >= 6, "{keys:?}");
    for k in keys {
        assert!(
            listed.split(", ").any(|x| x.trim_start_matches('{') == k),
            "`{k}` is not in docs/verify.md's list: {listed}"
        );
    }
}

/// Two VCNs over a DRG: `a` routes 10.1.0.0/16 to its DRG, `b`'s subnet has
/// no route table (only local routes, no rule back to `a`), and `b`'s list
/// lets in tcp/443 from x. The first packet x -> y passes every layer; its
/// reply drops at route in `b` (`explain --reply`: "no rule matches
/// 10.0.1.10: subnet `sb` has no route table"), so no connection can
/// complete.
const NO_RETURN_ROUTE: &str = r#"
[[vcn]]
name = "a"
cidr_blocks = ["10.0.0.0/16"]

[[vcn]]
name = "b"
cidr_blocks = ["10.1.0.0/16"]

[[gateway]]
name = "ad"
vcn = "a"
kind = "drg"

[[gateway]]
name = "bd"
vcn = "b"
kind = "drg"

[[security_list]]
name = "oa"
vcn = "a"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]

[[security_list]]
name = "ob"
vcn = "b"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ protocol = "6", source = "10.0.1.10/32", tcp_options = { destination_port_range = { min = 443, max = 443 } } }]

[[route_table]]
name = "art"
vcn = "a"
route_rules = [{ destination = "10.1.0.0/16", network_entity = "ad" }]

[[subnet]]
name = "sa"
vcn = "a"
cidr_block = "10.0.1.0/24"
route_table = "art"
security_lists = ["oa"]

[[subnet]]
name = "sb"
vcn = "b"
cidr_block = "10.1.1.0/24"
security_lists = ["ob"]

[[vnic]]
name = "x"
subnet = "sa"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "y"
subnet = "sb"
private_ips = ["10.1.1.10"]
"#;

/// A required path across a DRG whose replies have no route back: `verify`
/// says `ok` (exit 0) though in OCI the reply of every connection drops at
/// route in VCN `b`. `verify` judges first packets only (docs/verify.md,
/// "The reply of a first packet to another VCN": only a route hint checks
/// the reply's route); so does the hint that opens such a path when the
/// first packet is dropped by a security list or ZPR (the same scenario
/// with `ob`'s rule removed: "to open: ingress-security: add to security
/// list `ob` ...", and "with every path's hints added ...: every path that
/// should be open passes"). A path that should be open needs its replies'
/// route judged too (the reply's security and ZPR pass by tracking; its
/// route does not).
#[test]

fn a_required_path_whose_replies_have_no_route_back_fails() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s.toml");
    std::fs::write(&s, NO_RETURN_ROUTE).unwrap();
    let e = dir.path().join("e.toml");
    std::fs::write(
        &e,
        "[[path]]\nname = \"x-to-y\"\nfrom = \"vnic:x\"\nto = \"vnic:y\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n",
    )
    .unwrap();
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .arg("verify")
        .arg(&s)
        .arg(&e)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("reply"), "{out}");
}

/// `explain` of a first packet between VNICs of two VCNs whose reply has no
/// route back says so, in the text and in `--json`'s `reply_route`: the
/// first packet passing (or the hint that opens it) told the engineer the
/// path works, and only `--reply` showed the reply dropped at route. With
/// a rule back (a route table for `sb` sending 10.0.0.0/16 to its DRG) no
/// note.
#[test]
fn explain_says_when_the_reply_of_a_cross_vcn_packet_has_no_route_back() {
    let dir = tempfile::tempdir().unwrap();
    let explain = |scenario: &str, json: bool| {
        let s = dir.path().join("s.toml");
        std::fs::write(&s, scenario).unwrap();
        let mut c = Command::cargo_bin("zprsim").unwrap();
        c.arg("explain").arg(&s).args([
            "--src", "x", "--dst", "y", "--proto", "tcp", "--dport", "443",
        ]);
        if json {
            c.arg("--json");
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let note = "note: its reply tcp 10.1.1.10:443 -> 10.0.1.10:49152 drops at route (no rule matches 10.0.1.10: subnet `sb` has no route table (nor has the VNIC), so only the VCN's local routes apply; give it one (`route_table = ...`) with a rule for it): the connection cannot complete (`--reply` explains it)";
    let text = explain(NO_RETURN_ROUTE, false);
    assert!(
        text.starts_with("tcp 10.0.1.10:49152 -> 10.1.1.10:443: ALLOW"),
        "{text}"
    );
    assert!(text.contains(note), "{text}");
    let j: Value = serde_json::from_str(&explain(NO_RETURN_ROUTE, true)).unwrap();
    assert_eq!(
        j["reply_route"].as_str(),
        note.strip_prefix("note: "),
        "{j:#}"
    );
    // The first packet dropped by the list: its hint opens it, the reply
    // still has no route.
    let closed = NO_RETURN_ROUTE.replace("source = \"10.0.1.10/32\"", "source = \"10.9.0.0/16\"");
    let text = explain(&closed, false);
    assert!(text.contains("DROP at ingress-security"), "{text}");
    assert!(
        text.contains("the connection cannot complete, even with the first packet opened"),
        "{text}"
    );
    // A rule back: no note.
    let back = NO_RETURN_ROUTE.replace(
        "security_lists = [\"ob\"]\n",
        "security_lists = [\"ob\"]\nroute_table = \"brt\"\n\n[[route_table]]\nname = \"brt\"\nvcn = \"b\"\nroute_rules = [{ destination = \"10.0.0.0/16\", network_entity = \"bd\" }]\n",
    );
    let text = explain(&back, false);
    assert!(!text.contains("note: its reply"), "{text}");
    let j: Value = serde_json::from_str(&explain(&back, true)).unwrap();
    assert!(j.get("reply_route").is_none(), "{j:#}");
}
