//! Random cuts of the OKE export (files, fields, objects of lists
//! deleted; 1-3 stacked), replayed on a capture, a random capture and the
//! demo flow logs: every drop the cut adds is owed.

use std::net::IpAddr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use zprsim_control::import::{Files, oci};
use zprsim_control::load;

use super::{Owed, check_owed, draw, num};
use crate::diff::write_capture;
use crate::replay_oracle::traffic_with;
use crate::support::{Replayed, oke_export, replay, root, seeds};

/// One random cut of an export, and what it was (for the failure message).
/// Only what makes the export *lack* something (what a partial export
/// looks like: a list the script did not write, an older CLI or a
/// `--query` without a field, an object missing from a list), never an
/// edit the import cannot tell from a real export (an NSG id taken from a
/// VNIC's list, one attribute key, one rule of an NSG's rules file): a
/// whole file deleted, one field of one exported object deleted (an
/// element of `data`, or `data` itself for a `get`), one object deleted
/// from a list file's `data` (not from an NSG's rules file, where that is
/// a rule fewer). 1-3 cuts stacked.
fn cut_export(rng: &mut ChaCha8Rng, files: &mut Files) -> Vec<String> {
    let mut said = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        // The VNIC attachments (in the fixture since the twenty-ninth
        // session) are left whole: the files drawn from are those the
        // seeds named here were drawn from, so they cut what they did
        // (`a_vnic_lost_from_the_private_ip_list_is_owed_and_allows_nothing_more`
        // cuts with the attachments; without them, an export is as before).
        let mut names: Vec<String> = files
            .keys()
            .filter(|n| *n != "compute-vnic-attachment-list.json")
            .cloned()
            .collect();
        names.sort();
        if names.is_empty() {
            break;
        }
        let name = names[rng.random_range(0..names.len())].clone();
        let rules_file = name.starts_with("network-nsg-rules-list");
        let Ok(mut v) = serde_json::from_str::<Value>(&files[&name]) else {
            continue;
        };
        match rng.random_range(0..3) {
            0 => {
                files.remove(&name);
                said.push(format!("file {name} deleted"));
                continue;
            }
            1 => {
                // A field of an exported object.
                let object = match v.get_mut("data") {
                    Some(Value::Array(a)) if !a.is_empty() && !rules_file => {
                        let i = rng.random_range(0..a.len());
                        a.get_mut(i).map(|o| (format!("/data/{i}"), o))
                    }
                    Some(o @ Value::Object(_)) => Some(("/data".to_string(), o)),
                    _ => None,
                };
                let Some((at, Value::Object(m))) = object else {
                    continue;
                };
                let keys: Vec<String> = m.keys().filter(|k| *k != "id").cloned().collect();
                if keys.is_empty() {
                    continue;
                }
                let k = keys[rng.random_range(0..keys.len())].clone();
                m.remove(&k);
                said.push(format!("{name}: field {at}/{k} deleted"));
            }
            _ => {
                let Some(Value::Array(a)) = v.get_mut("data") else {
                    continue;
                };
                if a.is_empty() || rules_file {
                    continue;
                }
                let i = rng.random_range(0..a.len());
                a.remove(i);
                said.push(format!("{name}: object /data/{i} deleted"));
            }
        }
        files.insert(name, serde_json::to_string_pretty(&v).unwrap());
    }
    said
}

/// Planning item 5: random cuts of the OKE export (files, fields, array
/// elements deleted), imported; the demo capture, a random capture of the
/// example's addresses and ports, and the demo flow logs replayed on the
/// cut import and on the whole export. Every drop the cut adds is owed
/// (per tuple, see [`check_owed`]), and the owed are drops of the cut.
/// `ZPRSIM_STAND_IN_CUT_SEEDS` seeds (24 by default; each is four
/// replays), and seeds 139 and 315 always: a VNIC nothing names (its
/// `vnic get` and the private-IP list both deleted), the last gap this
/// test skipped, closed in the twenty-eighth session (`vnics_unknown`,
/// docs/semantics.md decision 34; both failed without it).
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
fn stand_in_drops_bound_every_drop_a_cut_export_adds() {
    owed_on_random_cuts("ZPRSIM_STAND_IN_CUT_SEEDS", 24, &[139, 315]);
}

/// [`stand_in_drops_bound_every_drop_a_cut_export_adds`] on 400 seeds
/// (`ZPRSIM_STAND_IN_CUT_SEEDS` for another count): no cut is skipped
/// since the twenty-eighth session (before, those of a VNIC nothing
/// names were; 40 seeds: 13 failed before the lead's fixes of the
/// twenty-first session; 400 seeds: seeds 139 and 315 failed before the
/// twenty-eighth's).
///
/// Found by QA round sixteen (twenty-first session, branch s23-qa).
#[test]
#[ignore = "long: 400 seeds of four replays each (minutes)"]
fn stand_in_drops_bound_every_drop_of_every_cut() {
    owed_on_random_cuts("ZPRSIM_STAND_IN_CUT_SEEDS", 400, &[]);
}

/// Task 1 of the twenty-ninth session: one entry deleted from the
/// private-IP list alone, with its VNIC's `vnic get` (what a cut that
/// loses one object of a list and one file leaves), the rest of the export
/// whole: nothing but the VNIC's attachment (`oci compute vnic-attachment
/// list`) names the VNIC. Its address read as a free one of its subnet,
/// on whose side no security layer runs: the cut allowed what the whole
/// export drops (`orders-api-pod-2`'s SYN to the balancer's 443, which its
/// NSG denies) and dropped what it allows, owed to nothing. Each VNIC an
/// attachment names (a worker's, a pod's, the legacy VM's: six of nine;
/// a load balancer's, mount target's or API endpoint's VNIC is attached
/// to no instance of the compartment, and nothing the export holds names
/// it once both are lost), in turn: every drop the cut adds is owed, and
/// no first packet between the example's addresses is allowed by the cut
/// and denied by the whole export (the reference evaluator).
#[test]
fn a_vnic_lost_from_the_private_ip_list_is_owed_and_allows_nothing_more() {
    let files = oke_export();
    let attached: Vec<String> = list(&files, "compute-vnic-attachment-list.json")
        .iter()
        .filter(|a| a["lifecycle-state"] == "ATTACHED")
        .filter_map(|a| a["vnic-id"].as_str().map(str::to_owned))
        .collect();
    let entries = list(&files, "network-private-ip-list.json");
    let cases: Vec<usize> = (0..entries.len())
        .filter(|&i| {
            entries[i]["vnic-id"]
                .as_str()
                .is_some_and(|v| attached.iter().any(|a| a == v))
        })
        .collect();
    assert_eq!(cases.len(), 6, "{attached:?}");
    owed_on(
        cases.into_iter().map(|i| {
            let mut files = oke_export();
            let said = lose_vnic(&mut files, i);
            (i as u64, ChaCha8Rng::seed_from_u64(i as u64), files, said)
        }),
        true,
    );
}

/// The `data` of list file `name` of `files`.
fn list(files: &Files, name: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(&files[name]).unwrap()["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Deletes entry `i` of the private-IP list and the `vnic get` of its VNIC.
fn lose_vnic(files: &mut Files, i: usize) -> Vec<String> {
    let name = "network-private-ip-list.json";
    let mut v: Value = serde_json::from_str(&files[name]).unwrap();
    let entry = v["data"].as_array_mut().unwrap().remove(i);
    files.insert(name.into(), v.to_string());
    let vnic = entry["vnic-id"].as_str().unwrap();
    let get = crate::support::vnic_get_file(files, vnic);
    files.remove(&get);
    vec![format!(
        "{name}: object /data/{i} ({}) deleted; file {get} deleted",
        entry["ip-address"]
    )]
}

fn owed_on_random_cuts(var: &str, default: u64, also: &[u64]) {
    let n = seeds(var, default);
    let extra = also.iter().copied().filter(|&x| x >= n);
    eprintln!("stand-in cuts: {n} seeds and {also:?}");
    owed_on(
        (0..n).chain(extra).map(|seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut files = oke_export();
            let cuts = cut_export(&mut rng, &mut files);
            (seed, rng, files, cuts)
        }),
        false,
    );
}

/// Each cut export of `cases` (its seed, the generator that drew it and
/// draws its random capture, its files and what was cut) imported and
/// replayed against the whole export: every drop it adds is owed; with
/// `first_packets`, none of the example's pairs is allowed by the cut
/// and denied by the whole export.
fn owed_on(
    cases: impl Iterator<Item = (u64, ChaCha8Rng, Files, Vec<String>)>,
    first_packets: bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let services =
        std::fs::read_to_string(root().join("examples/oke-orders/oci-public-ip-ranges.json"))
            .unwrap();
    let whole = oci::import(&oke_export(), Some(&services)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("whole.toml"), &whole.toml).unwrap();
    let s = load::from_toml_str(&whole.toml, "whole.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
    let mut pool: Vec<IpAddr> = s.vnics.iter().flat_map(|v| v.private_ips.clone()).collect();
    pool.extend(
        ["8.8.8.8", "134.70.24.1", "10.0.99.9", "192.168.7.7"]
            .iter()
            .map(|a| a.parse::<IpAddr>().unwrap()),
    );
    let demo = root().join("pcaps/oke-demo.pcap");
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let whole_demo = replay(d, "whole.toml", &demo, "whole-demo").unwrap();
    let whole_log = replay(d, "whole.toml", &log, "whole-log").unwrap();
    assert_eq!(num(&whole_demo.report, "/stand_in_drops/packets"), 0);

    let mut failures = Vec::new();
    let mut totals = [Owed::default(); 3];
    let (mut imported, mut refused, mut with_stand_ins, mut lost) = (0, 0, 0, 0);
    for (seed, mut rng, files, cuts) in cases {
        let Ok(cut) = oci::import(&files, Some(&services)) else {
            refused += 1;
            continue;
        };
        imported += 1;
        if first_packets {
            let c = load::from_toml_str(&cut.toml, "cut.toml")
                .unwrap_or_else(|e| panic!("{e}"))
                .scenario;
            crate::import_partial_exports::never_allows_more(&cuts.join("; "), &s, &c);
        }
        if cut.toml.contains("stand_in = true") {
            with_stand_ins += 1;
        }
        if cut.toml.contains("vnics_unknown = true") {
            lost += 1;
        }
        std::fs::write(d.join("cut.toml"), &cut.toml).unwrap();
        let pkts = traffic_with(&mut rng, &s, 300, draw(&pool));
        let pcap = d.join("gen.pcap");
        write_capture(&pcap, &pkts);
        let runs = [
            (
                replay(d, "whole.toml", &pcap, "whole-gen"),
                replay(d, "cut.toml", &pcap, "cut-gen"),
            ),
            (
                Ok(Replayed {
                    report: whole_demo.report.clone(),
                    flows: whole_demo.flows.clone(),
                }),
                replay(d, "cut.toml", &demo, "cut-demo"),
            ),
            (
                Ok(Replayed {
                    report: whole_log.report.clone(),
                    flows: whole_log.flows.clone(),
                }),
                replay(d, "cut.toml", &log, "cut-log"),
            ),
        ];
        for (i, (w, c)) in runs.into_iter().enumerate() {
            let what = ["random capture", "demo capture", "demo flow logs"][i];
            match w.and_then(|w| c.and_then(|c| check_owed(&w, &c))) {
                Ok(o) => {
                    let t = &mut totals[i];
                    t.dropped += o.dropped;
                    t.whole_dropped += o.whole_dropped;
                    t.extra_tuples += o.extra_tuples;
                    t.extra_packets += o.extra_packets;
                    t.owed_packets += o.owed_packets;
                    t.owed_flows += o.owed_flows;
                }
                Err(e) => {
                    if failures.len() < 3 {
                        let _ = std::fs::copy(
                            d.join("cut.toml"),
                            std::env::temp_dir().join(format!("zprsim-cut-{seed}.toml")),
                        );
                    }
                    failures.push(format!("seed {seed} ({}), {what}: {e}", cuts.join("; ")));
                }
            }
        }
    }
    eprintln!(
        "stand-in cuts: {imported} imported ({with_stand_ins} with stand-ins, {lost} with a subnet whose VNICs are unknown), {refused} refused; [random capture, demo capture, demo flow logs]: {totals:?}"
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(with_stand_ins + lost > 0);
    // Each lost VNIC's subnet is flagged.
    assert!(!first_packets || lost == imported, "{lost} of {imported}");
}
