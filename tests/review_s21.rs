//! QA round fourteen (nineteenth session): what users bring, on stand-ins
//! for a partial export (many NSG combinations, NSG peers, the NSG list or
//! the security-list file deleted, entries removed), `import -o` onto
//! other file systems and links, flow logs through `replay` and `diff`,
//! and `verify`/`explain` on many paths and addresses. Each test failed
//! before its fix (or is ignored, saying whose area the fix is in).

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_bench::oci_export;
use zprsim_bench::random::{address_pool, random_packet, random_scenario};
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::eval;
use zprsim_control::import::oci;
use zprsim_control::load;
use zprsim_control::model::{GatewayKind, Scenario};
use zprsim_control::verdict::{Context, Decision, Stage, Verdict};

/// The parts of an export a partial one lacks, the ways users lose them:
/// a whole file deleted, or entries taken out of a list.
#[derive(Debug, Clone, Copy)]
enum Cut {
    NsgList,
    SecurityLists,
    NsgListAndSecurityLists,
    SomeNsgsAndLists,
    SomeNsgRulesFiles,
    SomeVnics,
    SomeRouteTables,
    SomeSubnets,
    Everything,
}

/// The cuts that lose security rules only (the route's are in
/// `ROUTE_CUTS`; [`Cut::SomeNsgRulesFiles`] in
/// `an_nsg_whose_rules_file_is_missing_is_a_stand_in`).
const SECURITY_CUTS: [Cut; 5] = [
    Cut::NsgList,
    Cut::SecurityLists,
    Cut::NsgListAndSecurityLists,
    Cut::SomeNsgsAndLists,
    Cut::SomeVnics,
];

/// The cuts that lose route tables (a stand-in subnet has none).
const ROUTE_CUTS: [Cut; 2] = [Cut::SomeRouteTables, Cut::SomeSubnets];

/// What a stand-in route table does not assume, by design (docs/import.md):
/// a VNIC's packet to an address of its own VCN goes by the local routes,
/// where the real table may hold a longer rule to a gateway that blocks
/// traffic (the generator writes such rules; OCI's intra-VCN routing
/// sends to private IPs, which forward). Assuming it would drop every
/// packet between subnets of a VNIC whose table the export lacks.
fn known_limit(s: &Scenario, p: &zprsim_control::packet::Packet, whole: &Decision) -> bool {
    let from_vnic = s.vnics.iter().any(|v| v.private_ips.contains(&p.src));
    from_vnic
        && whole.judgement.stage == Some(Stage::Route)
        && whole.layers.first().is_some_and(|l| {
            l.reason
                .as_deref()
                .is_some_and(|r| r.contains("which blocks traffic"))
        })
}

/// Takes about half of the entries out of `file`'s `data` array.
fn drop_entries(files: &mut BTreeMap<String, String>, file: &str, rng: &mut impl Rng) {
    let Some(text) = files.get(file) else { return };
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    if let Some(a) = v["data"].as_array_mut() {
        a.retain(|_| rng.random_bool(0.5));
    }
    files.insert(file.into(), v.to_string());
}

fn drop_files(files: &mut BTreeMap<String, String>, prefix: &str, rng: &mut impl Rng) {
    let names: Vec<String> = files
        .keys()
        .filter(|k| k.starts_with(prefix))
        .cloned()
        .collect();
    for n in names {
        if rng.random_bool(0.5) {
            files.remove(&n);
        }
    }
}

/// `network-ipv6-list.json` as `examples/export-oci.sh` writes it (`oci
/// network ipv6 list` per subnet with IPv6 blocks), which the generator's
/// export leaves out: without it a VNIC whose `vnic get` is gone loses its
/// IPv6 addresses, which no import can tell from free ones.
fn with_ipv6_list(files: &mut BTreeMap<String, String>) {
    let mut objects = Vec::new();
    for (name, text) in files.iter() {
        if !name.starts_with("network-vnic-get-") {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        for a in v["data"]["ipv6-addresses"].as_array().into_iter().flatten() {
            objects.push(serde_json::json!({
                "id": format!("ocid1.ipv6.oc1.iad.qa{}", objects.len()),
                "ip-address": a,
                "vnic-id": v["data"]["id"],
                "subnet-id": v["data"]["subnet-id"],
                "lifecycle-state": "AVAILABLE",
            }));
        }
    }
    files.insert(
        "network-ipv6-list.json".into(),
        serde_json::json!({ "data": objects }).to_string(),
    );
}

fn cut(files: &mut BTreeMap<String, String>, c: Cut, rng: &mut impl Rng) {
    match c {
        Cut::NsgList => {
            files.remove("network-nsg-list.json");
        }
        Cut::SecurityLists => {
            files.remove("network-security-list-list.json");
        }
        Cut::NsgListAndSecurityLists => {
            files.remove("network-nsg-list.json");
            files.remove("network-security-list-list.json");
        }
        Cut::SomeNsgsAndLists => {
            drop_entries(files, "network-nsg-list.json", rng);
            drop_entries(files, "network-security-list-list.json", rng);
        }
        Cut::SomeNsgRulesFiles => drop_files(files, "network-nsg-rules-list.", rng),
        // The VNIC's private IP stays (`private-ip list --subnet-id` lists
        // it): with both gone its address is an unassigned one, which no
        // import can tell from a free address.
        Cut::SomeVnics => drop_files(files, "network-vnic-get-", rng),
        Cut::SomeRouteTables => drop_entries(files, "network-route-table-list.json", rng),
        Cut::SomeSubnets => drop_entries(files, "network-subnet-list.json", rng),
        Cut::Everything => {
            for c in [
                Cut::SomeNsgsAndLists,
                Cut::SomeVnics,
                Cut::SomeRouteTables,
                Cut::SomeSubnets,
            ] {
                cut(files, c, rng);
            }
        }
    }
}

/// The differential test's random scenario, in the shape OCI can hold
/// (as `import::random_scenarios_survive_export_and_import` makes it).
fn exportable(seed: u64, rng: &mut ChaCha8Rng) -> Scenario {
    let mut s = random_scenario(rng);
    for (i, g) in s.gateways.iter_mut().enumerate() {
        g.blocked = g.kind != GatewayKind::Drg && (i + seed as usize).is_multiple_of(3);
    }
    for v in &mut s.vnics {
        let mut seen = std::collections::HashSet::new();
        v.attributes
            .retain(|a| seen.insert((a.attribute.namespace.clone(), a.attribute.key.clone())));
    }
    s
}

/// Area 1: an export with parts removed imports to stand-ins that never
/// judge more permissively than the network they stand for, on first
/// packets and on the replies of what they let open (each scenario's own
/// tracking), by the reference evaluator. The worst bug a stand-in can
/// have is allowing what the real network denies.
#[test]
fn stand_ins_never_allow_what_the_whole_export_denies() {
    never_more_permissive(&SECURITY_CUTS, 40);
}

/// The same with route tables lost: a stand-in route table (only the VCN's
/// local routes) admitted a first packet from an unassigned address of the
/// VCN that the real table's more specific rule (to a private IP, which
/// admits replies only) drops at route.
#[test]
fn a_stand_in_route_table_never_admits_what_the_real_one_denies() {
    never_more_permissive(&ROUTE_CUTS, 100);
}

fn never_more_permissive(cuts: &[Cut], default_seeds: u64) {
    let seeds = crate::support::seeds("ZPRSIM_DIFF_SEEDS", default_seeds);
    crate::support::no_disagreement(seeds, |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s = exportable(seed, &mut rng);
        let (mut whole, services) = oci_export::export(&s);
        with_ipv6_list(&mut whole);
        let pool = address_pool(&s);
        let mut found = Vec::new();
        for &c in cuts {
            let mut files = whole.clone();
            cut(&mut files, c, &mut rng);
            let imported = match oci::import(&files, Some(&services)) {
                Ok(i) => i,
                // A refusal allows nothing; the import tests see to its wording.
                Err(_) => continue,
            };
            let mut t = load::from_toml_str(&imported.toml, "imported.toml")
                .map_err(|e| format!("seed {seed} {c:?}: own output refused: {e}"))?
                .scenario;
            t.options.zpr_only = s.options.zpr_only;
            // The compiled table judges the stand-ins as the reference
            // evaluator does (the differential test's scenarios have none).
            let compiled = Compiled::new(&t, &Config::default())
                .map_err(|e| format!("seed {seed} {c:?}: {e}"))?;
            for _ in 0..300 {
                let p = random_packet(&mut rng, &pool);
                let ti = eval::evaluate(&t, &p, Context::First);
                if compiled.judge(&p, Context::First).judgement != ti.judgement {
                    found.push(format!(
                        "seed {seed} {c:?}: {p}: the table and the evaluator differ"
                    ));
                }
                if ti.judgement.verdict != Verdict::Allow {
                    continue;
                }
                let si = eval::evaluate(&s, &p, Context::First);
                if si.judgement.verdict != Verdict::Allow && !known_limit(&s, &p, &si) {
                    found.push(format!(
                        "seed {seed} {c:?}: {p} allowed by the import, dropped at {:?} by the whole export\n  warnings: {:?}",
                        si.judgement.stage, imported.warnings
                    ));
                    continue;
                }
                let r = p.reversed();
                let tr = eval::evaluate(&t, &r, Context::Reply(ti.judgement.tracking));
                if compiled
                    .judge(&r, Context::Reply(ti.judgement.tracking))
                    .judgement
                    != tr.judgement
                {
                    found.push(format!(
                        "seed {seed} {c:?}: reply {r}: the table and the evaluator differ"
                    ));
                }
                let sr = eval::evaluate(&s, &r, Context::Reply(si.judgement.tracking));
                if tr.judgement.verdict == Verdict::Allow
                    && sr.judgement.verdict != Verdict::Allow
                    && !known_limit(&s, &r, &sr)
                {
                    found.push(format!(
                        "seed {seed} {c:?}: reply {r} allowed by the import (tracking {:?}), dropped at {:?} by the whole export (tracking {:?})",
                        ti.judgement.tracking, sr.judgement.stage, si.judgement.tracking
                    ));
                }
            }
        }
        found.dedup();
        if found.is_empty() {
            Ok(())
        } else {
            found.truncate(4);
            Err(found.join("\n"))
        }
    });
}

/// An NSG the export lists but whose rules file
/// (`network-nsg-rules-list.<NSG OCID>.json`, one per NSG from
/// `examples/export-oci.sh`, `{"data": []}` for an NSG without rules) is
/// missing imports as an NSG with `rules = []`, silently, and is no
/// stand-in: its rules are unknown, and one of them may be a stateless
/// rule that matches (stateless wins), so the import tracks connections the
/// real network does not and lets their replies in (found by the random
/// round trip with rules files deleted: seed 12, a UDP reply at the
/// responder's egress). It should be a stand-in (`stand_in = true`, a
/// warning naming the file to export), as an NSG missing from
/// `network-nsg-list.json` is. Lives in control/src/import/oci/.
#[test]
#[ignore = "defect in control/src/import/oci/ (another helper's area): an NSG whose rules file is missing is no stand-in, and no warning says so"]
fn an_nsg_whose_rules_file_is_missing_is_a_stand_in() {
    let mut files = crate::support::oke_export();
    assert!(files.remove(crate::support::LB_NSG_RULES).is_some());
    let imported = oci::import(&files, None).unwrap();
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.contains("ocid1.networksecuritygroup.oc1.iad.gen000000")),
        "{:?}",
        imported.warnings
    );
    let s = load::from_toml_str(&imported.toml, "s.toml")
        .unwrap()
        .scenario;
    let lb = s
        .nsgs
        .iter()
        .find(|n| n.id.as_deref() == Some("ocid1.networksecuritygroup.oc1.iad.gen000000"))
        .unwrap();
    assert!(lb.stand_in, "{lb:?}");
    // And the random round trip with rules files deleted holds.
    never_more_permissive(&[Cut::SomeNsgRulesFiles], 40);
}

/// An export whose VCN carries security attributes (ZPR in use) but whose
/// ZPR policy file and attributed VNICs' `vnic get` files are missing:
/// the private IPs' stand-in VNICs get no attribute (`zpr_in_use` in
/// control/src/import/oci/vnics.rs reads policies, exported VNICs and
/// balancers, not the VCNs' `security-attributes` nor `is-zpr-only`), so
/// ZPR does not apply to them, and traffic the whole export drops at ZPR
/// (MISSING_POLICY of an enforce-attributed VNIC) is allowed (found by the
/// random round trip with every cut at once, seed 129: an IPv6 VNIC to an
/// unassigned address). Lives in control/src/import/oci/.
#[test]
#[ignore = "defect in control/src/import/oci/vnics.rs (another helper's area): a VCN's security attributes do not count as ZPR in use for stand-in VNICs"]
fn a_vcn_with_security_attributes_gives_stand_in_vnics_the_unknown_attribute() {
    let mut files = crate::support::oke_export();
    files.retain(|f, _| f != "zpr-zpr-policy-list.json" && !f.starts_with("network-vnic-get-"));
    let imported = oci::import(&files, None).unwrap();
    let s = load::from_toml_str(&imported.toml, "s.toml")
        .unwrap()
        .scenario;
    let stand_ins: Vec<_> = s.vnics.iter().filter(|v| v.stand_in).collect();
    assert!(!stand_ins.is_empty(), "{}", imported.toml);
    for v in stand_ins {
        assert!(
            v.attributes
                .iter()
                .any(|a| a.attribute.namespace == zprsim_control::shared::STAND_IN_NAMESPACE),
            "{}: {:?}",
            v.name,
            v.attributes
        );
    }
    // And the random round trip with every cut at once holds.
    never_more_permissive(&[Cut::Everything], 400);
}
