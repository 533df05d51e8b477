//! `diff` held against the reference evaluator for every kind of change a
//! user proposes (a rule removed or added, a ZPR statement removed, an NSG
//! or a security list detached, a route rule retargeted, an attribute
//! taken off), on captures and on flow logs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
use crate::replay_oracle::{Pkt, reference_decisions, traffic_with, v6_header_proto};
use crate::support::diff_run;

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
/// A random owner among those whose list is not empty (`lens`: each
/// owner's list length) and a random index in its list; `None` when every
/// list is empty.
fn pick(rng: &mut ChaCha8Rng, lens: impl Iterator<Item = usize>) -> Option<(usize, usize)> {
    let lens: Vec<usize> = lens.collect();
    let with: Vec<usize> = (0..lens.len()).filter(|&i| lens[i] > 0).collect();
    if with.is_empty() {
        return None;
    }
    let owner = with[rng.random_range(0..with.len())];
    Some((owner, rng.random_range(0..lens[owner])))
}

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
            let (v, j) = pick(rng, s.vnics.iter().map(|v| v.nsgs.len()))?;
            let n = s.vnics[v].nsgs.remove(j);
            Some(format!(
                "nsg {} detached from {}",
                s.nsgs[n.index()].name,
                s.vnics[v].name
            ))
        }
        Change::DetachList => {
            let (n, j) = pick(rng, s.subnets.iter().map(|n| n.security_lists.len()))?;
            let l = s.subnets[n].security_lists.remove(j);
            Some(format!(
                "list {} detached from subnet {}",
                s.security_lists[l.index()].name,
                s.subnets[n].name
            ))
        }
        Change::DropAttribute => {
            let (v, j) = pick(rng, s.vnics.iter().map(|v| v.attributes.len()))?;
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
/// Every kind of change, in the order the checks draw them.
const KINDS: [Change; 6] = [
    Change::Remove,
    Change::AddRule,
    Change::DetachNsg,
    Change::Retarget,
    Change::DetachList,
    Change::DropAttribute,
];

/// A changed scenario A, the change in words, the reference's decisions
/// on A and A loaded: up to 8 changes of `kind` to `s` are drawn, and the
/// first that changes a verdict or stage of `pkts` (whose decisions on `s`
/// are `vb`) is kept, else the last that loads; `None` when none does.
fn pick_change(
    rng: &mut ChaCha8Rng,
    s: &Scenario,
    kind: Change,
    pkts: &[Pkt],
    vb: &[Decision],
) -> Option<(Scenario, String, Vec<Decision>, Scenario)> {
    let mut picked = None;
    for _ in 0..8 {
        let mut a = s.clone();
        let Some(what) = change(rng, &mut a, kind) else {
            break;
        };
        let Ok(la) = load::from_toml_str(&to_toml(&a), "a") else {
            continue;
        };
        let va = reference_decisions(&la.scenario, pkts, &mut 0);
        let changes = vb.iter().zip(&va).any(|(b, a)| core(b) != core(a));
        picked = Some((a, what, va, la.scenario));
        if changes {
            break;
        }
    }
    picked
}

/// BEFORE (`s`), AFTER (`a`) and the capture of `pkts` written in `dir`:
/// their paths.
fn write_inputs(
    dir: &Path,
    s: &Scenario,
    a: &Scenario,
    pkts: &[Pkt],
) -> (PathBuf, PathBuf, PathBuf) {
    let bp = dir.join("b.toml");
    let ap = dir.join("a.toml");
    let cap = dir.join("c.pcap");
    std::fs::write(&bp, to_toml(s)).unwrap();
    std::fs::write(&ap, to_toml(a)).unwrap();
    write_capture(&cap, pkts);
    (bp, ap, cap)
}

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
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]
fn diff_agrees_with_the_reference_for_every_kind_of_change() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = crate::support::seeds("ZPRSIM_QA22_DIFF_SEEDS", 12).min(400);
    let mut tally: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for seed in 0..seeds {
        for (ki, &kind) in KINDS.iter().enumerate() {
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
            let vb = reference_decisions(&sb, &pkts, &mut 0);
            let Some((a, what, va, sa)) = pick_change(&mut rng, &s, kind, &pkts, &vb) else {
                continue;
            };
            let (bp, ap, cap) = write_inputs(dir.path(), &s, &a, &pkts);
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
/// record at its VNIC). A record carries no ICMP type (it is judged as an
/// echo) where the capture's packet has its own: ICMP flows are left out,
/// and the packets compared when no ICMP flow changed.
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]
fn flow_log_diff_agrees_with_replay_of_each_side_for_every_kind_of_change() {
    use zprsim_bench::flowlogs;
    use zprsim_control::compile::{Compiled, Config};
    let dir = tempfile::tempdir().unwrap();
    let seeds = crate::support::seeds("ZPRSIM_QA22_DIFF_SEEDS", 6).min(200);
    let mut tally: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    let mut packets_compared = 0u32;
    for seed in 0..seeds {
        for (ki, &kind) in KINDS.iter().enumerate() {
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
            let vr = reference_decisions(&sb, &pkts, &mut 0);
            let Some((a, what, _, _)) = pick_change(&mut rng, &s, kind, &pkts, &vr) else {
                continue;
            };
            let (bp, ap, cap) = write_inputs(dir.path(), &s, &a, &pkts);
            let cb = Compiled::new(&sb, &Config::default()).unwrap();
            let recs = flowlogs::records_from_capture(&sb, &cb, &std::fs::read(&cap).unwrap());
            let entries: Vec<_> = recs
                .iter()
                .enumerate()
                .map(|(n, r)| flowlogs::entry(r, n as u64))
                .collect();
            let lp = dir.path().join("l.jsonl");
            std::fs::write(&lp, flowlogs::json_lines(&entries)).unwrap();
            let c = diff_run(
                dir.path(),
                &bp,
                &ap,
                &[&cap],
                &["--quiet", "--fail-on", "none"],
            );
            let r = diff_run(
                dir.path(),
                &bp,
                &ap,
                &[&lp],
                &["--quiet", "--fail-on", "none"],
            );
            let ctx = format!("seed {seed}, {kind:?}: {what}\n{}", r.stderr);
            assert_eq!(r.code, 0, "{ctx}");
            let changed = |l: &&Value| l["class"] == "would-break" || l["class"] == "newly-allowed";
            let icmp = |l: &Value| matches!(l["proto"].as_u64(), Some(1 | 58));
            let tuples = |flows: &[Value]| -> BTreeSet<String> {
                flows
                    .iter()
                    .filter(changed)
                    .filter(|l| !icmp(l))
                    // A fragment without its ports: port 0 in a flow log.
                    .map(|l| match l["proto"].as_u64() {
                        Some(6 | 17) => tuple_key(l).replace(":null", ":0"),
                        _ => tuple_key(l),
                    })
                    .collect()
            };
            let expected = tuples(&c.flows);
            assert_eq!(tuples(&r.flows), expected, "{ctx}");
            let (wb, na) = (
                &c.report["packets"]["would_break"],
                &c.report["packets"]["newly_allowed"],
            );
            if !c.flows.iter().chain(&r.flows).filter(changed).any(icmp) {
                assert_eq!(&r.report["packets"]["would_break"], wb, "{ctx}");
                assert_eq!(&r.report["packets"]["newly_allowed"], na, "{ctx}");
                packets_compared += 1;
            }
            let (wb, na) = (wb.as_u64().unwrap(), na.as_u64().unwrap());
            let t = tally.entry(format!("{kind:?}")).or_default();
            t.0 += wb + na;
            t.1 += expected.len();
        }
    }
    eprintln!(
        "flow-log diff vs capture diff, per kind (changed packets, changed flows): {tally:?}; packets compared in {packets_compared} case(s)"
    );
    assert!(tally.values().map(|t| t.1).sum::<usize>() > 0, "{tally:?}");
    assert!(packets_compared > 0);
}
