//! `zprsim import oci`: a scenario written as OCI CLI JSON
//! (`zprsim_bench::oci_export`) and imported back judges every packet as
//! the original did, on the differential test's random scenarios (IPv4 and
//! IPv6, NSG peers, service labels, attributes in both modes) and on the
//! OKE example; unresolvable references are warnings naming the OCID.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use crate::support::random_context;
use assert_cmd::Command;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use zprsim_bench::random::{address_pool, random_packet, random_scenario};
use zprsim_bench::{fixtures, oci_export};
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::import::oci;
use zprsim_control::load;
use zprsim_control::model::{GatewayKind, Scenario, Vnic};
use zprsim_control::verdict::Context;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn round_trip(s: &Scenario) -> (Scenario, Vec<String>) {
    let (files, services) = oci_export::export(s);
    let imported = oci::import(&files, Some(&services)).unwrap();
    let back = load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    (back.scenario, imported.warnings)
}

#[test]
fn random_scenarios_survive_export_and_import() {
    let seeds = crate::support::seeds("ZPRSIM_DIFF_SEEDS", 100);
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut s = random_scenario(&mut rng);
        // Gateways switched off (an internet gateway disabled, a NAT or
        // service gateway blocking, a local peering gateway not peered),
        // which the generator never makes: one in three, by position (no
        // draw from `rng`, so the packets stay those of the seed). A DRG
        // has no such switch in OCI.
        for (i, g) in s.gateways.iter_mut().enumerate() {
            g.blocked = g.kind != GatewayKind::Drg && (i + seed as usize).is_multiple_of(3);
        }
        // OCI's shape (namespace -> key -> value) holds one value per key.
        for v in &mut s.vnics {
            let mut seen = std::collections::HashSet::new();
            v.attributes
                .retain(|a| seen.insert((a.attribute.namespace.clone(), a.attribute.key.clone())));
        }
        let (mut t, warnings) = round_trip(&s);
        assert!(warnings.is_empty(), "seed {seed}: {warnings:?}");
        // What `is_zpr_only` does is a simulator setting, not an OCI object.
        t.options.zpr_only = s.options.zpr_only;
        assert_eq!(s.vnics.len(), t.vnics.len(), "seed {seed}");
        let a = Compiled::new(&s, &Config::default()).unwrap();
        let b = Compiled::new(&t, &Config::default()).unwrap();
        let pool = address_pool(&s);
        for _ in 0..200 {
            let p = random_packet(&mut rng, &pool);
            let ctx = random_context(&mut rng, 0.7);
            assert_eq!(
                a.judge(&p, ctx).judgement,
                b.judge(&p, ctx).judgement,
                "seed {seed}: {p} {ctx:?}"
            );
        }
    }
}

#[test]
fn committed_oci_export_is_what_the_generator_writes() {
    let s = zprsim_dataplane::scenario_file::load_path(&root().join(fixtures::OKE))
        .unwrap()
        .scenario;
    let (files, _) = oci_export::export(&s);
    let dir = root().join("examples/oke-orders/oci-export");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, files.keys().cloned().collect::<Vec<_>>());
    for (name, text) in &files {
        assert_eq!(
            &std::fs::read_to_string(dir.join(name)).unwrap(),
            text,
            "{name}: regenerate with cargo run -p zprsim-bench --bin zprsim-oci-fixtures -- examples/oke-orders"
        );
    }
    assert_eq!(
        std::fs::read_to_string(root().join("examples/oke-orders/oci-public-ip-ranges.json"))
            .unwrap(),
        oci_export::oci_ranges(&s)
    );
}

#[test]
fn the_oke_example_survives_export_and_import_with_its_ids() {
    let s = zprsim_dataplane::scenario_file::load_path(&root().join(fixtures::OKE))
        .unwrap()
        .scenario;
    let (t, _) = round_trip(&s);
    for (x, y) in s.vnics.iter().zip(&t.vnics) {
        assert_eq!((&x.name, &x.id), (&y.name, &y.id));
    }
    let a = Compiled::new(&s, &Config::default()).unwrap();
    let b = Compiled::new(&t, &Config::default()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let pool = address_pool(&s);
    for _ in 0..2000 {
        let p = random_packet(&mut rng, &pool);
        assert_eq!(
            a.judge(&p, Context::First).judgement,
            b.judge(&p, Context::First).judgement,
            "{p}"
        );
    }
}

#[test]
fn unresolvable_references_are_warnings_naming_the_ocid() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let s = random_scenario(&mut rng);
    let (mut files, services) = oci_export::export(&s);
    // Drop the NSG list: every NSG rule file and NSG reference dangles.
    files.remove("network-nsg-list.json");
    files.insert(
        "network-route-table-list.json".into(),
        files["network-route-table-list.json"].replacen("ocid1.", "ocid1.missing", 1),
    );
    let out = oci::import(&files, Some(&services)).unwrap();
    assert!(!out.warnings.is_empty());
    assert!(
        out.warnings.iter().all(|w| w.contains("`ocid1.")),
        "{:?}",
        out.warnings
    );
    load::from_toml_str(&out.toml, "x.toml").unwrap();
    // Not JSON: an error with file, line and column.
    let mut bad = files.clone();
    bad.insert(
        "network-vcn-list.json".into(),
        "{\n  \"data\": [\n    oops\n".into(),
    );
    let e = oci::import(&bad, None).unwrap_err().to_string();
    assert!(e.starts_with("network-vcn-list.json:3:5: not JSON"), "{e}");
}

#[test]
fn the_cli_writes_the_scenario_and_refuses_to_overwrite_an_input() {
    let dir = root().join("examples/oke-orders/oci-export");
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("scenario.toml");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .arg("import")
        .arg("oci")
        .arg(&dir)
        .arg("-o")
        .arg(&target)
        .arg("--services")
        .arg(root().join("examples/oke-orders/oci-public-ip-ranges.json"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    load::from_toml_str(&std::fs::read_to_string(&target).unwrap(), "s.toml").unwrap();
    // The imported scenario places and judges the flow logs as the original.
    let agreement = |scenario: &std::path::Path| {
        let report = out.path().join("r.json");
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(root())
            .arg("replay")
            .arg(scenario)
            .arg("examples/oke-orders/flowlogs/oke-demo.jsonl")
            .arg("--quiet")
            .arg("--report")
            .arg(&report)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        v["flow_log"]["agreement"].clone()
    };
    assert_eq!(agreement(&target), agreement(&root().join(fixtures::OKE)));
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .arg("import")
        .arg("oci")
        .arg(&dir)
        .arg("-o")
        .arg(dir.join("network-vcn-list.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("must not overwrite an input"));
}

/// kebab-case keys to camelCase (REST shapes), except inside maps whose
/// keys are the user's (attributes, tags).
fn camelize(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Array(a) => Value::Array(a.iter().map(camelize).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let mut out = String::new();
                    let mut up = false;
                    for c in k.chars() {
                        if c == '-' {
                            up = true;
                        } else if up {
                            out.extend(c.to_uppercase());
                            up = false;
                        } else {
                            out.push(c);
                        }
                    }
                    let keep = k == "security-attributes";
                    (out, if keep { v.clone() } else { camelize(v) })
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[test]
fn rest_camel_case_bare_lists_and_extra_keys_import_alike() {
    for seed in 0..20 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s = random_scenario(&mut rng);
        let (files, services) = oci_export::export(&s);
        let cli = oci::import(&files, Some(&services)).unwrap();
        let rest: zprsim_control::import::Files = files
            .iter()
            .map(|(name, text)| {
                let v: serde_json::Value = serde_json::from_str(text).unwrap();
                // No envelope, camelCase keys, an unknown key on every object.
                let mut data = camelize(&v["data"]);
                if let Some(a) = data.as_array_mut() {
                    for o in a.iter_mut().filter_map(|o| o.as_object_mut()) {
                        o.insert("someNewField".into(), serde_json::json!({"x": 1}));
                        o.remove("lifecycleState");
                    }
                }
                (name.clone(), data.to_string())
            })
            .collect();
        let imported = oci::import(&rest, Some(&services)).unwrap();
        assert_eq!(cli.toml, imported.toml, "seed {seed}");
        assert_eq!(cli.warnings, imported.warnings, "seed {seed}");
    }
}

/// `oci network ipv6 list` output (`network-ipv6-list.json`, objects of
/// OCID type `ipv6` with a private IP's `ip-address` and `vnic-id`) gives
/// a VNIC its IPv6 addresses when its `vnic get` does not list them: it was
/// read and ignored without a word.
/// A random scenario (seed 11) with an IPv6 VNIC address, exported: its
/// files and services, and the scenario they import as.
fn ipv6_export() -> (zprsim_control::import::Files, String, Scenario) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let s = (0..50)
        .map(|_| random_scenario(&mut rng))
        .find(|s| {
            s.vnics
                .iter()
                .any(|v| v.private_ips.iter().any(std::net::IpAddr::is_ipv6))
        })
        .expect("a random scenario with an IPv6 VNIC address");
    let (files, services) = oci_export::export(&s);
    let (want, _) = round_trip(&s);
    (files, services, want)
}

/// Calls `f` on each `vnic get`'s VNIC (its `data`), writing back those it
/// changed (`f` returns true); how many.
fn edit_vnic_gets(
    files: &mut zprsim_control::import::Files,
    mut f: impl FnMut(&mut serde_json::Value) -> bool,
) -> usize {
    let mut changed = 0;
    for (name, text) in files.iter_mut() {
        if !name.starts_with("network-vnic-get-") {
            continue;
        }
        let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
        if f(&mut v["data"]) {
            *text = v.to_string();
            changed += 1;
        }
    }
    changed
}

#[test]
fn ipv6_address_objects_give_vnics_their_ipv6_addresses() {
    let (mut files, services, want) = ipv6_export();
    // Move every VNIC's `ipv6-addresses` into IPv6 objects.
    let mut objects = Vec::new();
    edit_vnic_gets(&mut files, |vnic| {
        let id = vnic["id"].as_str().unwrap().to_owned();
        let subnet = vnic["subnet-id"].clone();
        let Some(serde_json::Value::Array(v6)) = vnic
            .as_object_mut()
            .and_then(|o| o.remove("ipv6-addresses"))
        else {
            return false;
        };
        for a in v6 {
            objects.push(serde_json::json!({
                "id": format!("ocid1.ipv6.oc1.iad.{}", objects.len()),
                "ip-address": a,
                "vnic-id": id,
                "subnet-id": subnet,
                "lifecycle-state": "AVAILABLE",
            }));
        }
        true
    });
    assert!(!objects.is_empty());
    let without = oci::import(&files, Some(&services)).unwrap();
    let without = load::from_toml_str(&without.toml, "w.toml")
        .unwrap()
        .scenario;
    assert_ne!(without.vnics, want.vnics, "the addresses were moved out");
    files.insert(
        "network-ipv6-list.json".into(),
        serde_json::json!({ "data": objects }).to_string(),
    );
    let with = oci::import(&files, Some(&services)).unwrap();
    let back = load::from_toml_str(&with.toml, "i.toml").unwrap().scenario;
    assert_eq!(back.vnics, want.vnics);
}

/// One VNIC address the scenario cannot hold (not an address, outside its
/// subnet) is left out with a warning naming it, and one written two ways
/// is one address: the rest of the export imports (QA, fourteenth
/// session: the whole import failed at the scenario's load).
#[test]
fn a_bad_vnic_address_is_left_out_with_a_warning_not_the_whole_import() {
    let (mut files, services, want) = ipv6_export();
    let touched = edit_vnic_gets(&mut files, |vnic| {
        let Some(serde_json::Value::Array(v6)) = vnic.get_mut("ipv6-addresses") else {
            return false;
        };
        let Some(a) = v6.first().and_then(|a| a.as_str()) else {
            return false;
        };
        // The same address written out in full, one outside every subnet
        // (documentation prefix), one that is not an address.
        let ip: std::net::Ipv6Addr = a.parse().unwrap();
        let full = ip
            .segments()
            .iter()
            .map(|x| format!("{x:04x}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_ne!(full, a);
        v6.push(serde_json::json!(full));
        v6.push(serde_json::json!("2001:db8:ffff::1"));
        v6.push(serde_json::json!("fd00::zz"));
        true
    });
    assert!(touched > 0);
    let imported = oci::import(&files, Some(&services)).unwrap();
    let back = load::from_toml_str(&imported.toml, "i.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
    assert_eq!(back.vnics, want.vnics);
    let said = |needle: &str| {
        imported
            .warnings
            .iter()
            .filter(|w| w.contains(needle))
            .count()
    };
    assert_eq!(
        said("private IP `2001:db8:ffff::1` is outside its subnet's CIDR blocks; left out"),
        touched
    );
    assert_eq!(
        said("private IP `fd00::zz` is not an IP address; left out"),
        touched
    );
}

/// The first object of an export file's list (`data` or `data.items`)
/// for which `f` returns true, as `f` changed it.
fn mutate_first(
    files: &mut zprsim_control::import::Files,
    name: impl Fn(&str) -> bool,
    mut f: impl FnMut(&mut serde_json::Value) -> bool,
) -> bool {
    for (n, text) in files.iter_mut() {
        if !name(n) {
            continue;
        }
        let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
        let list = match v.get_mut("data") {
            Some(serde_json::Value::Object(m)) => m.get_mut("items"),
            other => other,
        };
        let Some(serde_json::Value::Array(items)) = list else {
            continue;
        };
        if items.iter_mut().any(&mut f) {
            *text = v.to_string();
            return true;
        }
    }
    false
}

/// Other objects the scenario cannot hold (QA, fourteenth session: each
/// failed the whole import at the final load): a stateful security rule
/// with a bad CIDR block, protocol or port range is left out, and so is a
/// ZPR statement that does not parse. Each is a warning naming the
/// object, and the scenario imported allows nothing the clean export's
/// does not (random packets and tracking states, judged on both). (This
/// test found that emptying the route table of a rule with a bad
/// destination lets more in: route rules are return paths too. That
/// stays fatal: `a_bad_stateless_rule_or_route_still_fails_the_import`.)
#[test]
fn other_bad_objects_are_left_out_only_where_that_cannot_allow_more() {
    let mut checked = [0; 5];
    for seed in 0..40 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let s = random_scenario(&mut rng);
        let (mut files, services) = oci_export::export(&s);
        let clean = oci::import(&files, Some(&services)).unwrap();
        let stateful = |r: &serde_json::Value| r["is-stateless"] != true;
        let list = mutate_first(
            &mut files,
            |n| n == "network-security-list-list.json",
            |l| {
                let Some(serde_json::Value::Array(rules)) = l.get_mut("ingress-security-rules")
                else {
                    return false;
                };
                let Some(r) = rules.iter_mut().find(|r| {
                    stateful(r)
                        && matches!(r.get("source-type"), None | Some(serde_json::Value::Null))
                        || r["source-type"] == "CIDR_BLOCK" && stateful(r)
                }) else {
                    return false;
                };
                r["source"] = "10.0.0.1/8".into(); // host bits set
                true
            },
        );
        let nsg = mutate_first(
            &mut files,
            |n| n.starts_with("network-nsg-rules-list."),
            |r| {
                if !stateful(r) {
                    return false;
                }
                r["protocol"] = "6".into();
                r["tcp-options"] =
                    serde_json::json!({"destination-port-range": {"min": 9, "max": 70000}});
                r["icmp-options"] = serde_json::Value::Null;
                true
            },
        );
        let zpr = mutate_first(
            &mut files,
            |n| n == "zpr-zpr-policy-list.json",
            |p| {
                let Some(serde_json::Value::Array(st)) = p.get_mut("statements") else {
                    return false;
                };
                st.push("allow '10.0.0.0/8' to connect to (((".into());
                true
            },
        );
        // A route rule whose target is not in the export: kept, to a
        // stand-in gateway that drops every packet.
        let route = mutate_first(
            &mut files,
            |n| n == "network-route-table-list.json",
            |t| {
                let Some(serde_json::Value::Array(rules)) = t.get_mut("route-rules") else {
                    return false;
                };
                // The table's most specific rule: leaving it out would send
                // its traffic to a wider one.
                let Some(r) = rules.iter_mut().max_by_key(|r| {
                    r["destination"]
                        .as_str()
                        .and_then(|d| d.split_once('/'))
                        .and_then(|(_, l)| l.parse::<u8>().ok())
                        .unwrap_or(0)
                }) else {
                    return false;
                };
                r["network-entity-id"] = "ocid1.internetgateway.oc1..gone".into();
                true
            },
        );
        // A subnet that holds a VNIC, missing from the export: the VNIC
        // is kept in a stand-in subnet.
        let held: Vec<String> = files
            .iter()
            .filter(|(n, _)| n.starts_with("network-vnic-get-"))
            .filter_map(|(_, t)| {
                let v: serde_json::Value = serde_json::from_str(t).ok()?;
                v["data"]["subnet-id"].as_str().map(str::to_owned)
            })
            .collect();
        let subnet = seed % 2 == 0 && {
            let mut v: serde_json::Value =
                serde_json::from_str(&files["network-subnet-list.json"]).unwrap();
            let items = v["data"].as_array_mut().unwrap();
            let n = items.len();
            if let Some(i) = items.iter().position(|s| {
                s["id"]
                    .as_str()
                    .is_some_and(|id| held.iter().any(|h| h == id))
            }) {
                items.remove(i);
            }
            let removed = items.len() < n;
            files.insert("network-subnet-list.json".into(), v.to_string());
            removed
        };
        if !(list || nsg || zpr || route || subnet) {
            continue;
        }
        let bad = oci::import(&files, Some(&services)).unwrap();
        let b = load::from_toml_str(&bad.toml, "bad.toml")
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"))
            .scenario;
        let a = load::from_toml_str(&clean.toml, "clean.toml")
            .unwrap()
            .scenario;
        let said = |needle: &str| bad.warnings.iter().any(|w| w.contains(needle));
        for (did, needle, n) in [
            (list, "has host bits set", 0),
            (nsg, "is not a port range", 1),
            (zpr, "does not parse", 2),
            (route, "a stand-in gateway that drops every packet", 3),
            (subnet, "a stand-in subnet with no security list", 4),
        ] {
            if did {
                assert!(
                    said(needle),
                    "seed {seed}: no `{needle}` in {:?}",
                    bad.warnings
                );
                checked[n] += 1;
            }
        }
        // The stand-in gateway says so, with the OCID the rule names (since
        // the nineteenth session): no route hint touches it.
        if route {
            assert!(
                b.gateways
                    .iter()
                    .any(|g| g.stand_in
                        && g.id.as_deref() == Some("ocid1.internetgateway.oc1..gone")),
                "seed {seed}: {:?}",
                b.gateways
            );
        }
        let ca = Compiled::new(&a, &Config::default()).unwrap();
        let cb = Compiled::new(&b, &Config::default()).unwrap();
        let pool = address_pool(&a);
        for _ in 0..500 {
            let p = random_packet(&mut rng, &pool);
            let ctx = random_context(&mut rng, 0.7);
            let allowed = |c: &Compiled| {
                c.judge(&p, ctx).judgement.verdict == zprsim_control::verdict::Verdict::Allow
            };
            assert!(
                !allowed(&cb) || allowed(&ca),
                "seed {seed}: {p} {ctx:?} allowed only after leaving objects out: {:?}",
                bad.warnings,
            );
        }
    }
    assert!(
        checked.iter().all(|&n| n > 0),
        "kinds exercised: {checked:?}"
    );
}

/// A stateless security rule the scenario cannot hold is not left out:
/// without it, a flow it matched beside a stateful rule would be tracked
/// and its replies let in. The import says so and fails at the load. A
/// route rule whose destination is not a CIDR block fails it too.
#[test]
fn a_bad_stateless_rule_or_route_still_fails_the_import() {
    let mut files = crate::support::oke_export();
    assert!(mutate_first(
        &mut files,
        |n| n == "network-security-list-list.json",
        |l| {
            let Some(serde_json::Value::Array(rules)) = l.get_mut("ingress-security-rules") else {
                return false;
            };
            let Some(r) = rules.first_mut() else {
                return false;
            };
            r["is-stateless"] = true.into();
            r["protocol"] = "sctp".into();
            true
        }
    ));
    let bad = oci::import(&files, None).unwrap();
    assert!(
        bad.warnings
            .iter()
            .any(|w| w.contains("a stateless rule is not left out")),
        "{:?}",
        bad.warnings
    );
    let e = load::from_toml_str(&bad.toml, "bad.toml").unwrap_err();
    assert!(e.to_string().contains("protocol `sctp`"), "{e}");

    let mut files = crate::support::oke_export();
    assert!(mutate_first(
        &mut files,
        |n| n == "network-route-table-list.json",
        |t| {
            let Some(serde_json::Value::Array(rules)) = t.get_mut("route-rules") else {
                return false;
            };
            let Some(r) = rules.first_mut() else {
                return false;
            };
            r["destination"] = "not-a-cidr".into();
            true
        }
    ));
    let bad = oci::import(&files, None).unwrap();
    let e = load::from_toml_str(&bad.toml, "bad.toml").unwrap_err();
    assert!(
        e.to_string().contains("`not-a-cidr` is not a cidr block"),
        "{e}"
    );
}

/// A stateless rule the import would leave out for a missing field (here
/// its `source`), or for a peer NSG the export lacks, was left out: a
/// flow it matched beside a stateful rule was then tracked and its replies
/// let in. The import now fails, naming it (the fix helper's planning
/// item, thirteenth session).
#[test]
fn a_stateless_rule_with_a_missing_field_fails_the_import() {
    for (field, value) in [
        ("source", None),
        ("source-type", Some("NETWORK_SECURITY_GROUP")),
    ] {
        let mut files = crate::support::oke_export();
        assert!(mutate_first(
            &mut files,
            |n| n == "network-security-list-list.json",
            |l| {
                let Some(serde_json::Value::Array(rules)) = l.get_mut("ingress-security-rules")
                else {
                    return false;
                };
                let Some(r) = rules.first_mut().and_then(|r| r.as_object_mut()) else {
                    return false;
                };
                r.insert("is-stateless".into(), true.into());
                match value {
                    None => {
                        r.remove(field);
                    }
                    Some(v) => {
                        r.insert(field.into(), v.into());
                    }
                }
                true
            }
        ));
        let e = oci::import(&files, None).unwrap_err();
        // A list's rules have no `id`: the refusal names its place
        // (fourteenth session; QA round nine: nothing said which rule).
        assert!(
            e.message
                .contains(": stateless rule #0 of its ingress rules:")
                && e.message.contains("a stateless rule is not left out"),
            "{field}: {e}"
        );
    }
}

/// A `source-type` or `destination-type` in lower case (a hand-converted
/// export) is read as OCI's upper case, as `direction` is: it failed the
/// load with "... is not a cidr block" at a line of the TOML that would
/// have been written (QA round nine). And a refusal of the whole export
/// names the directory, not "DIR/the export".
#[test]
fn peer_types_in_lower_case_import_and_refusals_name_the_directory() {
    let clean = oci::import(&crate::support::oke_export(), None).unwrap();
    let mut files = crate::support::oke_export();
    let mut lowered = 0;
    for (n, t) in files.iter_mut() {
        if n.starts_with("network-nsg-rules-list.") {
            let v = t
                .replace("\"NETWORK_SECURITY_GROUP\"", "\"network_security_group\"")
                .replace("\"SERVICE_CIDR_BLOCK\"", "\"service_cidr_block\"");
            if v != *t {
                lowered += 1;
                *t = v;
            }
        }
    }
    assert!(lowered > 0);
    let imported = oci::import(&files, None).unwrap();
    assert_eq!(imported.toml, clean.toml);
    // The CLI: a refusal of the export names the directory.
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("exp");
    std::fs::create_dir(&dir).unwrap();
    let mut files = crate::support::oke_export();
    first_vnic(&mut files, |v| {
        v["subnet-id"] = "ocid1.subnet.oc1.iad.elsewhere".into()
    });
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let o = crate::support::run_in(t.path(), ["import", "oci", "exp", "-o", "s.toml"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: exp: VNIC `"), "{err}");
}

/// A VNIC whose subnet the export lacks (VNICs exported from an
/// application compartment, the subnets from a network compartment that
/// was not) is kept in a stand-in subnet of the VCN holding its addresses,
/// with its NSGs and attributes: left out, its addresses were unassigned
/// VCN addresses, on whose side no security layer runs and ZPR's default
/// deny does not hold, so the enforced `orders-api` pods' traffic was
/// allowed where the whole export denies it. The stand-in allows nothing
/// the whole export does not, from and to the pods, and the warning names
/// the VNIC, the subnet and the stand-in.
#[test]
fn a_vnic_whose_subnet_is_missing_keeps_its_nsgs_and_attributes_in_a_stand_in() {
    let files = crate::support::oke_export();
    let clean = oci::import(&files, None).unwrap();
    let mut partial = files.clone();
    let pods = "ocid1.subnet.oc1.iad.gen000003";
    let list: serde_json::Value =
        serde_json::from_str(&partial["network-subnet-list.json"]).unwrap();
    let mut list = list;
    let items = list["data"].as_array_mut().unwrap();
    let before = items.len();
    items.retain(|s| s["id"] != pods);
    assert_eq!(items.len(), before - 1);
    partial.insert("network-subnet-list.json".into(), list.to_string());
    let imported = oci::import(&partial, None).unwrap();
    // `--vcn` keeps them too (it dropped VNICs whose subnet it did not
    // keep).
    let one = oci::import_vcns(&partial, None, &["backend-vcn".into()]).unwrap();
    assert_eq!(one.toml, imported.toml);
    let a = load::from_toml_str(&clean.toml, "clean.toml")
        .unwrap()
        .scenario;
    let b = load::from_toml_str(&imported.toml, "partial.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml))
        .scenario;
    let pod = |s: &Scenario| {
        s.vnics
            .iter()
            .find(|v| v.name == "orders-api-pod-1")
            .cloned()
            .expect("the pod is imported")
    };
    let (pa, pb) = (pod(&a), pod(&b));
    assert_eq!(pa.private_ips, pb.private_ips);
    assert_eq!(pa.attributes, pb.attributes);
    assert!(!pa.attributes.is_empty());
    assert_eq!(pa.nsgs.len(), pb.nsgs.len());
    let stand_in = &b.subnets[pb.subnet.index()];
    assert!(stand_in.name.starts_with("missing-"), "{}", stand_in.name);
    assert!(stand_in.security_lists.is_empty());
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.contains("`orders-api-pod-1`")
                && w.contains(pods)
                && w.contains(&format!("kept in `{}`", stand_in.name))),
        "{:?}",
        imported.warnings
    );
    allows_nothing_the_whole_denies(&a, &b, "pods");
}

/// Every packet of 7 services between a VNIC of subnet `subnet` of `a`
/// (the whole export, imported) and any VNIC, a VCN address of no VNIC or
/// an internet address, both ways: allowed in `b` (a partial export,
/// imported) only where `a` allows it too.
fn allows_nothing_the_whole_denies(a: &Scenario, b: &Scenario, subnet: &str) {
    use zprsim_control::packet::Packet;
    use zprsim_control::verdict::Verdict;
    let ca = Compiled::new(a, &Config::default()).unwrap();
    let cb = Compiled::new(b, &Config::default()).unwrap();
    let pod_ips: Vec<std::net::IpAddr> = a
        .vnics
        .iter()
        .filter(|v| a.subnets[v.subnet.index()].name == subnet)
        .flat_map(|v| v.private_ips.clone())
        .collect();
    assert!(!pod_ips.is_empty());
    let others: Vec<std::net::IpAddr> = a
        .vnics
        .iter()
        .flat_map(|v| v.private_ips.clone())
        .chain(["10.0.99.7".parse().unwrap(), "8.8.8.8".parse().unwrap()])
        .collect();
    let (mut pairs, mut denied_in_both) = (0, 0);
    for &x in &pod_ips {
        for &y in &others {
            if x == y {
                continue;
            }
            for (src, dst) in [(x, y), (y, x)] {
                for p in [
                    Packet::tcp(src, 40000, dst, 22),
                    Packet::tcp(src, 40000, dst, 443),
                    Packet::tcp(src, 40000, dst, 2049),
                    Packet::tcp(src, 40000, dst, 5432),
                    Packet::tcp(src, 40000, dst, 8080),
                    Packet::udp(src, 40000, dst, 53),
                    Packet::icmp(src, dst, 8, 0),
                ] {
                    let allowed = |c: &Compiled| {
                        c.judge(&p, Context::First).judgement.verdict == Verdict::Allow
                    };
                    pairs += 1;
                    assert!(
                        !allowed(&cb) || allowed(&ca),
                        "{p} allowed only in the partial export"
                    );
                    if !allowed(&ca) && !allowed(&cb) {
                        denied_in_both += 1;
                    }
                }
            }
        }
    }
    assert!(
        pairs > 100 && denied_in_both > 0,
        "{pairs} {denied_in_both}"
    );
}

/// QA round ten: private IPs whose VNIC and subnet are both missing were
/// left out, though their addresses lie in the exported `backend-vcn`:
/// unassigned addresses there, with no security layer on their side
/// (`10.0.10.11 -> 10.0.1.10 tcp/443`, an egress-security drop, was
/// allowed). They are now kept on a stand-in VNIC in a stand-in subnet of
/// the VCN holding them, `--vcn` too (the review: it still dropped them).
///
/// A subnet whose VCN is not in the export is another case: the export
/// says its VNICs are of that VCN, whose addresses may overlap an
/// exported VCN's (every VCN on 10.0.0.0/16); placing them in the
/// exported VCN (as this session first did) refused such an export, or
/// made them VNICs of a VCN they are not in (the review). Since the
/// twenty-second session the import is refused, naming the VCN and
/// `--vcn`, which leaves them out knowingly (they were left out with a
/// warning, their addresses external ones with no security layer on
/// their side).
#[test]
fn private_ips_of_a_missing_vnic_and_subnet_are_kept_in_a_stand_in() {
    let files = crate::support::oke_export();
    let clean = oci::import(&files, None).unwrap();
    let a = load::from_toml_str(&clean.toml, "clean.toml")
        .unwrap()
        .scenario;
    let pods = "ocid1.subnet.oc1.iad.gen000003";
    // A subnet of a VCN not in the export, overlapping `pods`: refused,
    // naming the VCN and `--vcn`; with `--vcn` its VNICs are left out.
    let mut partial = files.clone();
    let mut list: serde_json::Value =
        serde_json::from_str(&partial["network-subnet-list.json"]).unwrap();
    let item = list["data"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["id"] == pods)
        .unwrap();
    item["vcn-id"] = "ocid1.vcn.oc1.iad.notexported".into();
    partial.insert("network-subnet-list.json".into(), list.to_string());
    let e = oci::import(&partial, None).unwrap_err().to_string();
    assert!(
        e.contains("VCN `ocid1.vcn.oc1.iad.notexported` is not in the export")
            && e.contains("oci network vcn get --vcn-id ocid1.vcn.oc1.iad.notexported")
            && e.contains("`--vcn backend-vcn`"),
        "{e}"
    );
    let imported = oci::import_vcns(&partial, None, &["backend-vcn".into()]).unwrap();
    assert!(!imported.toml.contains("orders-api-pod-1"));

    // Private IPs whose VNIC and subnet are both missing: the pod's VNIC
    // and the `pods` subnet removed.
    let mut partial = files.clone();
    let pod_id = {
        let v: serde_json::Value =
            serde_json::from_str(&partial["network-vnic-get-4.json"]).unwrap();
        v["data"]["id"].as_str().unwrap().to_owned()
    };
    partial.remove("network-vnic-get-4.json");
    let mut list: serde_json::Value =
        serde_json::from_str(&partial["network-subnet-list.json"]).unwrap();
    list["data"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["id"] != pods);
    partial.insert("network-subnet-list.json".into(), list.to_string());
    let changed = partial
        .iter()
        .filter(|(n, t)| n.starts_with("network-private-ip-list") && t.contains(pod_id.as_str()))
        .count();
    assert!(changed > 0);
    let imported = oci::import(&partial, None).unwrap();
    let b = load::from_toml_str(&imported.toml, "partial.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml))
        .scenario;
    let stand_in = b
        .vnics
        .iter()
        .find(|v| v.id.as_deref() == Some(pod_id.as_str()))
        .expect("a stand-in VNIC holds the pod's addresses");
    assert!(
        b.subnets[stand_in.subnet.index()]
            .name
            .starts_with("missing-")
    );
    allows_nothing_the_whole_denies(&a, &b, "pods");
    let one = oci::import_vcns(&partial, None, &["backend-vcn".into()]).unwrap();
    assert_eq!(one.toml, imported.toml);
}

/// The OKE export's first `vnic get` changed by `f` (on its `data`): the
/// VNIC's display name and OCID.
fn first_vnic(
    files: &mut zprsim_control::import::Files,
    f: impl FnOnce(&mut serde_json::Value),
) -> (String, String) {
    let file = "network-vnic-get-0.json";
    let mut v: serde_json::Value = serde_json::from_str(&files[file]).unwrap();
    f(&mut v["data"]);
    files.insert(file.into(), v.to_string());
    let s = |k: &str| v["data"][k].as_str().unwrap().to_owned();
    (s("display-name"), s("id"))
}

/// A VNIC of a missing subnet whose address another exported subnet
/// holds contradicts the export: the import fails naming it (left out,
/// the address would be an unassigned one of that subnet, with no
/// security layer on its side).
#[test]
fn a_vnic_of_a_missing_subnet_inside_another_subnet_fails_the_import() {
    let mut files = crate::support::oke_export();
    let (name, _) = first_vnic(&mut files, |v| {
        v["subnet-id"] = "ocid1.subnet.oc1.iad.elsewhere".into()
    });
    let e = oci::import(&files, None).unwrap_err().to_string();
    assert!(
        e.contains(&format!("`{name}`"))
            && e.contains("ocid1.subnet.oc1.iad.elsewhere")
            && e.contains("lies in subnet"),
        "{e}"
    );
}

/// A VNIC address outside its subnet but inside an exported VCN fails the
/// import naming it: left out (as until the fourteenth session), it was
/// an unassigned address of that VCN, on whose side no security layer
/// runs and ZPR does not apply. Outside every exported VCN it is still
/// left out with a warning (`a_bad_vnic_address_is_left_out_…`).
#[test]
fn a_vnic_address_outside_its_subnet_inside_the_vcn_fails_the_import() {
    let mut files = crate::support::oke_export();
    let (name, id) = first_vnic(&mut files, |_| {});
    let mut list: serde_json::Value =
        serde_json::from_str(&files["network-private-ip-list.json"]).unwrap();
    list["data"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": "ocid1.privateip.oc1.iad.stray",
            "vnic-id": id,
            "ip-address": "10.0.99.7",
        }));
    files.insert("network-private-ip-list.json".into(), list.to_string());
    let e = oci::import(&files, None).unwrap_err().to_string();
    assert!(
        e.contains(&format!("`{name}`"))
            && e.contains(
                "private IP `10.0.99.7` is outside its subnet's CIDR blocks but inside VCN"
            ),
        "{e}"
    );
}

/// Private IPs of a VNIC the export lacks (`private-ip list --subnet-id`
/// lists every VNIC's of the subnet, `vnic get` only the exported
/// compartments'): the VNIC is kept as a stand-in in the private IP's
/// subnet, with its security lists, no NSG and no attribute. Left out (as
/// until the fourteenth session), its address was an unassigned address
/// of the subnet, on whose side no security layer runs: `app`'s tcp/22 to
/// the database, which the database's subnet and NSG deny, was allowed.
#[test]
fn private_ips_of_a_vnic_missing_from_the_export_get_a_stand_in_vnic() {
    use zprsim_control::packet::Packet;
    use zprsim_control::verdict::Verdict;
    let s = load::from_toml_str(
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.1.0.0/16"]
[[security_list]]
name = "open-egress"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = []
[[security_list]]
name = "db-sl"
vcn = "v"
egress_security_rules = []
ingress_security_rules = [{ source = "10.1.1.0/24", protocol = "6", tcp_options = { destination_port_range = { min = 5432, max = 5432 } } }]
[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.1.1.0/24"
security_lists = ["open-egress"]
[[subnet]]
name = "db"
vcn = "v"
cidr_block = "10.1.2.0/24"
security_lists = ["db-sl"]
[[vnic]]
name = "app-1"
subnet = "app"
private_ips = ["10.1.1.10"]
[[vnic]]
name = "db-1"
subnet = "db"
private_ips = ["10.1.2.10"]
"#,
        "two.toml",
    )
    .unwrap()
    .scenario;
    let (mut files, services) = oci_export::export(&s);
    let db_file = crate::support::vnic_get_file(&files, "\"db-1\"");
    files.remove(&db_file);
    let imported = oci::import(&files, Some(&services)).unwrap();
    // `--vcn` keeps them too (it dropped private IPs whose VNIC it did
    // not keep).
    let one = oci::import_vcns(&files, Some(&services), &["v".into()]).unwrap();
    assert_eq!(one.toml, imported.toml);
    let b = load::from_toml_str(&imported.toml, "partial.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml))
        .scenario;
    let stand_in = b
        .vnics
        .iter()
        .find(|v| v.private_ips == ["10.1.2.10".parse::<std::net::IpAddr>().unwrap()])
        .expect("a stand-in VNIC holds the address");
    assert!(stand_in.name.starts_with("missing-"), "{}", stand_in.name);
    assert_eq!(b.subnets[stand_in.subnet.index()].name, "db");
    assert!(stand_in.nsgs.is_empty() && stand_in.attributes.is_empty());
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.contains(&format!("kept as `{}`", stand_in.name))),
        "{:?}",
        imported.warnings
    );
    let c = Compiled::new(&b, &Config::default()).unwrap();
    let (app, db) = ("10.1.1.10".parse().unwrap(), "10.1.2.10".parse().unwrap());
    let verdict = |p: Packet| c.judge(&p, Context::First).judgement.verdict;
    assert_eq!(verdict(Packet::tcp(app, 40000, db, 22)), Verdict::Drop);
    assert_eq!(verdict(Packet::tcp(app, 40000, db, 5432)), Verdict::Allow);
}

/// A stand-in VNIC in an export that uses ZPR: its attributes are
/// unknown, so it carries `zprsim-stand-in.attributes:unknown` in enforce
/// mode. Judged unattributed (as until the fifteenth session), the
/// unattributed `app-1`'s tcp/22 to it escaped ZPR, though the real
/// `db-1` is enforce-attributed and no statement allows it: the partial
/// export allowed what the whole denies. Statements naming its address
/// still allow it, and `verify`'s hint names the address, never the
/// stand-in's attribute.
#[test]
fn a_stand_in_vnic_of_an_export_that_uses_zpr_is_default_deny() {
    use zprsim_control::packet::Packet;
    use zprsim_control::verdict::Verdict;
    let s = load::from_toml_str(
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.1.0.0/16"]
security_attributes = { network = { vcn = { value = "v" } } }
[[security_list]]
name = "open"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "10.1.0.0/16", protocol = "all" }]
[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.1.1.0/24"
security_lists = ["open"]
[[subnet]]
name = "db"
vcn = "v"
cidr_block = "10.1.2.0/24"
security_lists = ["open"]
[[vnic]]
name = "app-1"
subnet = "app"
private_ips = ["10.1.1.10"]
[[vnic]]
name = "web-1"
subnet = "app"
private_ips = ["10.1.1.20"]
security_attributes = { app = { role = { value = "web" } } }
[[vnic]]
name = "db-1"
subnet = "db"
private_ips = ["10.1.2.10"]
security_attributes = { app = { role = { value = "db" } } }
[[zpr_policy]]
name = "p"
statements = [
  "in network.vcn:v VCN allow all-endpoints to connect to '10.1.2.10/32' with protocol='tcp/5432'",
  "in network.vcn:v VCN allow app.role:web endpoints to connect to all-endpoints with protocol='tcp/5432'",
]
"#,
        "zpr.toml",
    )
    .unwrap()
    .scenario;
    let (mut files, services) = oci_export::export(&s);
    let db_file = crate::support::vnic_get_file(&files, "\"db-1\"");
    files.remove(&db_file);
    let imported = oci::import(&files, Some(&services)).unwrap();
    let b = load::from_toml_str(&imported.toml, "partial.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml))
        .scenario;
    let stand_in = b
        .vnics
        .iter()
        .find(|v| v.private_ips == ["10.1.2.10".parse::<std::net::IpAddr>().unwrap()])
        .expect("a stand-in VNIC holds the address");
    assert_eq!(stand_in.attributes.len(), 1, "{}", imported.toml);
    assert_eq!(
        stand_in.attributes[0].attribute.to_string(),
        "zprsim-stand-in.attributes:unknown"
    );
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.contains(&format!("kept as `{}`", stand_in.name))
                && w.contains("the export uses ZPR")),
        "{:?}",
        imported.warnings
    );
    let whole = Compiled::new(&s, &Config::default()).unwrap();
    let part = Compiled::new(&b, &Config::default()).unwrap();
    let db = "10.1.2.10".parse().unwrap();
    let verdict = |c: &Compiled, p: Packet| c.judge(&p, Context::First).judgement.verdict;
    for src in ["10.1.1.10", "10.1.1.20"] {
        let src = src.parse().unwrap();
        for port in [22, 5432, 8080] {
            let p = Packet::tcp(src, 40000, db, port);
            let (w, b) = (verdict(&whole, p), verdict(&part, p));
            // Nothing the whole export denies is allowed.
            assert!(
                !(w == Verdict::Drop && b == Verdict::Allow),
                "{p:?}: whole {w:?}, partial {b:?}"
            );
        }
    }
    // Seen before: the unattributed app-1's tcp/22 was allowed.
    let app = "10.1.1.10".parse().unwrap();
    assert_eq!(
        verdict(&part, Packet::tcp(app, 40000, db, 22)),
        Verdict::Drop
    );
    // What statements naming its address allow stays allowed.
    assert_eq!(
        verdict(&part, Packet::tcp(app, 40000, db, 5432)),
        Verdict::Allow
    );

    // `verify` gives no ZPR hint for the stand-in (since the twenty-sixth
    // session; it named its address): its attributes are unknown, and the
    // stand-in note says the drop is owed to them and what to export.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("partial.toml"), &imported.toml).unwrap();
    std::fs::write(
        dir.path().join("expect.toml"),
        "[[path]]\nname = \"web-to-db-ssh\"\nfrom = \"vnic:web-1\"\nto = \"10.1.2.10\"\nproto = \"tcp\"\ndport = 22\nexpect = \"allow\"\n",
    )
    .unwrap();
    let o = crate::support::run_in(dir.path(), ["verify", "partial.toml", "expect.toml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(!out.contains("zpr: add"), "{out}");
    // One note says it is a stand-in and that the drop is owed to its
    // unknown attributes (two notes until the twenty-eighth session).
    assert!(
        out.contains(&format!(
            "stand-in: VNIC `{}` (10.1.2.10) is a stand-in `zprsim import` made for ",
            stand_in.name
        )) && out.contains(
            ", so it is judged with the least they could allow. ZPR drops this path at it: it carries `zprsim-stand-in.attributes:unknown`, which no statement names, so the drop is owed to its unknown attributes, and no ZPR statement is hinted for it (one written for attributes nobody knows is a guess). Export it (`oci network vnic get --vnic-id "
        ),
        "{out}"
    );
    assert_eq!(out.matches("stand-in: ").count(), 1, "{out}");
}

/// A VNIC whose own route table the export lacks keeps a stand-in table
/// with no rule: falling back to its subnet's table (as until the
/// fourteenth session) routed, and admitted as a return path, what its own
/// table may not: the internet's tcp/443 to the load balancer came in
/// through the subnet's internet gateway route.
#[test]
fn a_vnic_whose_own_route_table_is_missing_routes_by_a_stand_in_with_no_rule() {
    use zprsim_control::packet::Packet;
    use zprsim_control::verdict::{Stage, Verdict};
    let mut files = crate::support::oke_export();
    let clean = oci::import(&files, None).unwrap();
    let name = crate::support::vnic_get_file(&files, "\"orders-lb\"");
    let text = files[&name].clone();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["data"]["route-table-id"] = "ocid1.routetable.oc1.iad.gone".into();
    files.insert(name, v.to_string());
    let imported = oci::import(&files, None).unwrap();
    assert!(
        imported.warnings.iter().any(|w| w.contains("`orders-lb`")
            && w.contains("ocid1.routetable.oc1.iad.gone")
            && w.contains("a stand-in route table with no rule")),
        "{:?}",
        imported.warnings
    );
    let judge = |toml: &str| {
        let s = load::from_toml_str(toml, "s.toml").unwrap().scenario;
        let c = Compiled::new(&s, &Config::default()).unwrap();
        let p = Packet::tcp(
            "198.51.100.7".parse().unwrap(),
            50000,
            "10.0.1.10".parse().unwrap(),
            443,
        );
        let j = c.judge(&p, Context::First).judgement;
        (j.verdict, j.stage)
    };
    assert_eq!(judge(&clean.toml).0, Verdict::Allow);
    assert_eq!(judge(&imported.toml), (Verdict::Drop, Some(Stage::Route)));
}

/// A route table whose `route-rules` is absent or null (OCI always lists
/// them) is imported with no rule, and said: it imported without a word
/// (QA round nine).
#[test]
fn a_route_table_without_its_rules_list_is_said() {
    for value in [None, Some(serde_json::Value::Null)] {
        let mut files = crate::support::oke_export();
        assert!(mutate_first(
            &mut files,
            |n| n == "network-route-table-list.json",
            |t| {
                let Some(m) = t.as_object_mut() else {
                    return false;
                };
                match &value {
                    None => m.remove("route-rules"),
                    Some(v) => m.insert("route-rules".into(), v.clone()),
                };
                true
            }
        ));
        let out = oci::import(&files, None).unwrap();
        assert!(
            out.warnings
                .iter()
                .any(|w| w.contains("`route-rules` is absent or not a list")),
            "{:?}",
            out.warnings
        );
    }
}

/// QA round ten (B): private IPs of a load balancer's VNIC whose VNIC is
/// not in the export (OCI lists a balancer's VNIC in no compartment a user
/// exports) got a stand-in with no NSG and no attribute, though the
/// balancer, exported, says both. The stand-in is now the balancer's VNIC,
/// with its NSGs and attributes, as an exported balancer VNIC is.
#[test]
fn a_missing_vnic_holding_a_balancers_address_takes_the_balancers_nsgs_and_attributes() {
    let files = crate::support::oke_export();
    let clean = oci::import(&files, None).unwrap();
    let a = load::from_toml_str(&clean.toml, "clean.toml")
        .unwrap()
        .scenario;
    let mut partial = files.clone();
    let (file, vnic) = partial
        .iter()
        .find_map(|(n, t)| {
            let v: serde_json::Value = serde_json::from_str(t).ok()?;
            (n.starts_with("network-vnic-get-") && v["data"]["display-name"] == "orders-lb")
                .then(|| (n.clone(), v["data"].clone()))
        })
        .expect("the export has the balancer's VNIC");
    partial.remove(&file);
    partial.insert(
        "lb-load-balancer-list.json".into(),
        serde_json::json!({ "data": [{
            "id": "ocid1.loadbalancer.oc1.iad.orders",
            "display-name": "orders",
            "ip-addresses": [{ "ip-address": vnic["private-ip"], "is-public": false }],
            "network-security-group-ids": vnic["nsg-ids"],
            "security-attributes": vnic["security-attributes"],
            "subnet-ids": [vnic["subnet-id"]],
        }] })
        .to_string(),
    );
    let imported = oci::import(&partial, None).unwrap();
    let b = load::from_toml_str(&imported.toml, "partial.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml))
        .scenario;
    let lb = |s: &Scenario| {
        s.vnics
            .iter()
            .find(|v| v.id.as_deref() == vnic["id"].as_str())
            .cloned()
            .expect("a VNIC holds the balancer's address")
    };
    let (la, lbb) = (lb(&a), lb(&b));
    assert_eq!(lbb.kind, "load-balancer");
    assert_eq!(la.attributes, lbb.attributes);
    assert!(!la.attributes.is_empty());
    let names = |s: &Scenario, v: &Vnic| -> Vec<String> {
        v.nsgs
            .iter()
            .map(|n| s.nsgs[n.index()].name.clone())
            .collect()
    };
    assert_eq!(names(&a, &la), names(&b, &lbb));
    assert!(!la.nsgs.is_empty());
    allows_nothing_the_whole_denies(&a, &b, "lb-public");
}

#[test]
fn an_export_directory_given_as_the_scenario_says_to_import_it() {
    // QA round eleven: `zprsim check DIR` said only "Is a directory".
    use crate::support::run_in;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let export = root.join("examples/oke-orders/oci-export");
    for args in [
        vec!["check", export.to_str().unwrap()],
        vec![
            "explain",
            export.to_str().unwrap(),
            "--src",
            "1.1.1.1",
            "--dst",
            "10.0.0.5",
            "--proto",
            "tcp",
            "--dport",
            "1",
        ],
    ] {
        let o = run_in(root, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("zprsim import oci DIR -o scenario.toml"),
            "{args:?}: {err}"
        );
    }
}

/// Planning 5 (QA, note-s18): `import -o FILE` replaced any file that was
/// not an input, so `-o policies/orders.zpl` (a slip of the hand) lost the
/// policy. A file `import` did not write (its first line is not the
/// header `import` writes) is now refused, before the export is read,
/// naming it and `--force`, and left as it was; one `import` wrote is
/// replaced, as is any file with `--force`.
#[test]
fn import_replaces_only_a_file_it_wrote_unless_forced() {
    let dir = root().join("examples/oke-orders/oci-export");
    let out = tempfile::tempdir().unwrap();
    let import = |target: &std::path::Path, force: bool| {
        let mut c = Command::cargo_bin("zprsim").unwrap();
        c.arg("import").arg("oci").arg(&dir).arg("-o").arg(target);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    let policy = out.path().join("orders.zpl");
    let text = "in network.vcn:app VCN allow app.role:web endpoints to connect to '10.1.1.30/32'\n";
    std::fs::write(&policy, text).unwrap();
    let o = import(&policy, false);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "error: -o `{}` exists and `zprsim import` did not write it",
            policy.display()
        )) && err.contains("`--force`"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), text);
    // What `import` wrote is replaced without `--force`.
    let target = out.path().join("scenario.toml");
    assert!(import(&target, false).status.success());
    let first = std::fs::read_to_string(&target).unwrap();
    let o = import(&target, false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), first);
    // Written compressed (`-o s.toml.gz`, `.zst`), it is read decompressed
    // for its header: replaced without `--force` (since the twenty-ninth
    // session: refused), and it loads.
    for name in ["scenario.toml.gz", "scenario.toml.zst"] {
        let target = out.path().join(name);
        assert!(import(&target, false).status.success());
        let o = import(&target, false);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let o = crate::support::run_in(out.path(), ["check", name]);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // A first line that only starts with the header is not it.
    let forged = out.path().join("forged.toml");
    let header = first.lines().next().unwrap();
    std::fs::write(&forged, format!("{header} and then my notes\n")).unwrap();
    assert_eq!(import(&forged, false).status.code(), Some(2));
    assert!(
        std::fs::read_to_string(&forged)
            .unwrap()
            .contains("my notes")
    );
    // `--force` replaces anything.
    let o = import(&policy, true);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), first);
}

/// QA round twenty-one: `-o` named `.gz` or `.zst` is written compressed
/// (docs/cli.md, "Compressed outputs"), so its first bytes are the codec's,
/// never the header: importing again to the same file was refused as a file
/// `import` did not write. Its header is looked for in what it holds; a
/// compressed file of anything else is still refused and kept.
#[test]
fn import_replaces_its_own_compressed_output() {
    let dir = root().join("examples/oke-orders/oci-export");
    let out = tempfile::tempdir().unwrap();
    let import = |target: &std::path::Path| {
        Command::cargo_bin("zprsim")
            .unwrap()
            .arg("import")
            .arg("oci")
            .arg(&dir)
            .arg("-o")
            .arg(target)
            .output()
            .unwrap()
    };
    for name in ["s.toml.gz", "s.toml.zst"] {
        let target = out.path().join(name);
        assert!(import(&target).status.success(), "{name}");
        let first = std::fs::read(&target).unwrap();
        let o = import(&target);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(std::fs::read(&target).unwrap(), first, "{name}");
    }
    // A compressed file import did not write is refused and kept.
    let notes = out.path().join("notes.toml.gz");
    let gz = crate::support::gzip(b"# my notes\n[[vcn]]\n");
    std::fs::write(&notes, &gz).unwrap();
    let o = import(&notes);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("did not write it"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(&notes).unwrap(), gz);
}

/// Planning item 4 of the twentieth session's note: the VNIC kind was
/// lost (every VNIC not a balancer's came back `instance`). OKE's and File
/// Storage's own objects say it: a cluster's private endpoint address
/// (`oci ce cluster list`), a node pool's nodes and pod subnets (`oci ce
/// node-pool get`) with the VNIC attachments of those nodes (`oci compute
/// vnic-attachment list`), a mount target's private IPs (`oci fs
/// mount-target list`). With them, the OKE export comes back with the
/// example's kinds; no verdict changes (no layer judges by kind); without
/// them, kinds are as before; evidence that disagrees gives none.
#[test]
fn oke_and_file_storage_objects_give_vnics_their_kinds() {
    use serde_json::{Value, json};
    let base = crate::support::oke_export();
    let vnic = |name: &str| -> Value {
        base.iter()
            .filter(|(f, _)| f.starts_with("network-vnic-get-"))
            .map(|(_, t)| serde_json::from_str::<Value>(t).unwrap()["data"].clone())
            .find(|v| v["display-name"] == name)
            .unwrap()
    };
    let ips: Value = serde_json::from_str(&base["network-private-ip-list.json"]).unwrap();
    let mt = vnic("orders-fss-mt");
    let mt_ip = ips["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["vnic-id"] == mt["id"])
        .unwrap()["id"]
        .clone();
    let api = vnic("k8s-api-endpoint");
    let (w1, w2) = (vnic("worker-1"), vnic("worker-2"));
    let pods = ["orders-api-pod-1", "orders-api-pod-2", "billing-pod-1"].map(vnic);
    let attach = |i: usize, instance: &str, v: &Value| {
        json!({"id": format!("ocid1.vnicattachment.oc1.iad.a{i}"), "instance-id": instance,
               "vnic-id": v["id"], "subnet-id": v["subnet-id"], "lifecycle-state": "ATTACHED"})
    };
    let mut attachments = vec![
        attach(0, "ocid1.instance.oc1.iad.n1", &w1),
        attach(1, "ocid1.instance.oc1.iad.n2", &w2),
    ];
    for (i, p) in pods.iter().enumerate() {
        let node = if i % 2 == 0 { "n1" } else { "n2" };
        attachments.push(attach(2 + i, &format!("ocid1.instance.oc1.iad.{node}"), p));
    }
    let mut files = base.clone();
    files.insert(
        "ce-cluster-list.json".into(),
        json!({"data": [{"id": "ocid1.cluster.oc1.iad.c1", "lifecycle-state": "ACTIVE", "vcn-id": "ocid1.vcn.oc1.iad.gen000000",
            "endpoints": {"kubernetes": null, "public-endpoint": null,
                          "private-endpoint": format!("{}:6443", api["private-ip"].as_str().unwrap())}}]})
        .to_string(),
    );
    files.insert(
        "ce-node-pool-get-np1.json".into(),
        json!({"data": {"id": "ocid1.nodepool.oc1.iad.np1", "lifecycle-state": "ACTIVE",
            "nodes": [
                {"id": "ocid1.instance.oc1.iad.n1", "private-ip": w1["private-ip"], "subnet-id": w1["subnet-id"], "lifecycle-state": "ACTIVE"},
                {"id": "ocid1.instance.oc1.iad.n2", "private-ip": w2["private-ip"], "subnet-id": w2["subnet-id"], "lifecycle-state": "ACTIVE"},
            ],
            "node-config-details": {"node-pool-pod-network-option-details": {
                "cni-type": "OCI_VCN_IP_NATIVE", "pod-subnet-ids": [pods[0]["subnet-id"]]}}}})
        .to_string(),
    );
    files.insert(
        "compute-vnic-attachment-list.json".into(),
        json!({ "data": attachments }).to_string(),
    );
    files.insert(
        "fs-mount-target-list-AD-1.json".into(),
        json!({"data": [{"id": "ocid1.mounttarget.oc1.iad.mt1", "lifecycle-state": "ACTIVE",
                         "private-ip-ids": [mt_ip]}]})
        .to_string(),
    );
    // The balancer itself (already read before: its address makes its
    // VNIC `load-balancer`), so every kind of the example is said.
    let lb = vnic("orders-lb");
    files.insert(
        "lb-load-balancer-list.json".into(),
        json!({"data": [{"id": "ocid1.loadbalancer.oc1.iad.lb1", "lifecycle-state": "ACTIVE",
            "subnet-ids": [lb["subnet-id"]],
            "ip-addresses": [{"ip-address": lb["private-ip"], "is-public": false}]}]})
        .to_string(),
    );
    let kinds = |s: &Scenario| -> Vec<(String, String)> {
        let mut k: Vec<(String, String)> = s
            .vnics
            .iter()
            .map(|v| (v.name.clone(), v.kind.clone()))
            .collect();
        k.sort();
        k
    };
    let original = zprsim_dataplane::scenario_file::load_path(&root().join(fixtures::OKE))
        .unwrap()
        .scenario;
    let with = load::from_toml_str(&oci::import(&files, None).unwrap().toml, "w.toml")
        .unwrap()
        .scenario;
    assert_eq!(kinds(&with), kinds(&original));
    let without = load::from_toml_str(&oci::import(&base, None).unwrap().toml, "b.toml")
        .unwrap()
        .scenario;
    let was: Vec<String> = kinds(&without).into_iter().map(|(_, k)| k).collect();
    assert!(
        was.iter().all(|k| k == "instance" || k == "load-balancer"),
        "{was:?}"
    );
    // No verdict changes.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let pool = address_pool(&original);
    for _ in 0..3000 {
        let p = random_packet(&mut rng, &pool);
        let ctx = random_context(&mut rng, 0.7);
        assert_eq!(
            zprsim_control::eval::evaluate(&with, &p, ctx).judgement,
            zprsim_control::eval::evaluate(&without, &p, ctx).judgement,
            "{p:?}"
        );
    }
    // Evidence that disagrees (worker-1's address also the API
    // endpoint's) gives no kind; a node that is gone gives none.
    let mut disagree = files.clone();
    disagree.insert(
        "ce-cluster-list.json".into(),
        json!({"data": [{"id": "ocid1.cluster.oc1.iad.c1", "lifecycle-state": "ACTIVE", "vcn-id": "ocid1.vcn.oc1.iad.gen000000",
            "endpoints": {"private-endpoint": format!("{}:6443", w1["private-ip"].as_str().unwrap())}}]})
        .to_string(),
    );
    let d = load::from_toml_str(&oci::import(&disagree, None).unwrap().toml, "d.toml")
        .unwrap()
        .scenario;
    let kind_of =
        |s: &Scenario, n: &str| s.vnics.iter().find(|v| v.name == n).unwrap().kind.clone();
    assert_eq!(kind_of(&d, "worker-1"), "instance");
    assert_eq!(kind_of(&d, "k8s-api-endpoint"), "instance");
    assert_eq!(kind_of(&d, "worker-2"), "node");
    // The mount target's and the API endpoint's VNICs not exported (OCI
    // lists such VNICs in no compartment a user exports): their private
    // IPs make stand-in VNICs, which get the kind too (else `unknown`).
    let stand_in_kinds = |files: &zprsim_control::import::Files| -> Vec<String> {
        let mut files = files.clone();
        files.retain(|f, t| {
            !(f.starts_with("network-vnic-get-")
                && (t.contains("\"orders-fss-mt\"") || t.contains("\"k8s-api-endpoint\"")))
        });
        let s = load::from_toml_str(&oci::import(&files, None).unwrap().toml, "s.toml")
            .unwrap()
            .scenario;
        let mut k: Vec<String> = s
            .vnics
            .iter()
            .filter(|v| v.stand_in)
            .map(|v| v.kind.clone())
            .collect();
        k.sort();
        k
    };
    assert_eq!(stand_in_kinds(&files), ["api-endpoint", "mount-target"]);
    assert_eq!(stand_in_kinds(&base), ["unknown", "unknown"]);
}

/// The twenty-second session's item 4: a mount target's and a cluster
/// API endpoint's stand-in VNICs (their `vnic get` not exported: OCI lists
/// such VNICs in no compartment a user exports) were judged with no NSG
/// and the stand-in attribute, though the mount target (`nsg-ids`,
/// `security-attributes`) and the cluster (`endpoint-config`) say them.
/// They get them now, as a balancer's VNIC gets its balancer's: with them
/// the stand-ins judge every first packet as the whole export does, and
/// never allow more (replies included); `nsg-ids` or
/// `security-attributes` absent there is unknown, as on a VNIC.
#[test]
fn mount_target_and_api_endpoint_stand_ins_get_their_owners_nsgs_and_attributes() {
    use serde_json::{Value, json};
    use zprsim_control::eval::evaluate;
    use zprsim_control::verdict::Verdict;
    let base = crate::support::oke_export();
    let vnic = |name: &str| -> Value {
        base.iter()
            .filter(|(f, _)| f.starts_with("network-vnic-get-"))
            .map(|(_, t)| serde_json::from_str::<Value>(t).unwrap()["data"].clone())
            .find(|v| v["display-name"] == name)
            .unwrap()
    };
    let ips: Value = serde_json::from_str(&base["network-private-ip-list.json"]).unwrap();
    let (mt, api) = (vnic("orders-fss-mt"), vnic("k8s-api-endpoint"));
    let mt_ip = ips["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["vnic-id"] == mt["id"])
        .unwrap()["id"]
        .clone();
    assert!(!mt["nsg-ids"].as_array().unwrap().is_empty());
    assert!(
        api["security-attributes"]
            .as_object()
            .is_some_and(|a| !a.is_empty())
    );
    let owners = |mt_extra: Value, api_config: Value| {
        let mut files = base.clone();
        files.retain(|f, t| {
            !(f.starts_with("network-vnic-get-")
                && (t.contains("\"orders-fss-mt\"") || t.contains("\"k8s-api-endpoint\"")))
        });
        let mut m = json!({"id": "ocid1.mounttarget.oc1.iad.mt1", "lifecycle-state": "ACTIVE",
                           "private-ip-ids": [mt_ip]});
        for (k, v) in mt_extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        files.insert(
            "fs-mount-target-list-AD-1.json".into(),
            json!({ "data": [m] }).to_string(),
        );
        let mut c = json!({"id": "ocid1.cluster.oc1.iad.c1", "lifecycle-state": "ACTIVE", "vcn-id": "ocid1.vcn.oc1.iad.gen000000",
            "endpoints": {"private-endpoint": format!("{}:6443", api["private-ip"].as_str().unwrap())}});
        if !api_config.is_null() {
            c["endpoint-config"] = api_config;
        }
        files.insert(
            "ce-cluster-list.json".into(),
            json!({ "data": [c] }).to_string(),
        );
        let out = oci::import(&files, None).unwrap();
        let s = load::from_toml_str(&out.toml, "s.toml")
            .unwrap_or_else(|e| panic!("{e}"))
            .scenario;
        (s, out.warnings)
    };
    let whole = load::from_toml_str(&oci::import(&base, None).unwrap().toml, "w.toml")
        .unwrap()
        .scenario;
    // The NSGs (sorted names) and attributes of the first VNIC of `s`
    // that `pick` takes.
    let nsgs_and_attributes = |s: &Scenario, pick: &dyn Fn(&Vnic) -> bool| {
        let v = s.vnics.iter().find(|v| pick(v)).unwrap();
        let mut nsgs: Vec<String> = v
            .nsgs
            .iter()
            .map(|n| s.nsgs[n.index()].name.clone())
            .collect();
        nsgs.sort();
        let attrs: Vec<String> = v
            .attributes
            .iter()
            .map(|a| a.attribute.to_string())
            .collect();
        (nsgs, attrs)
    };
    let by_kind = |s: &Scenario, kind: &str| nsgs_and_attributes(s, &|v| v.kind == kind);
    let of = |s: &Scenario, name: &str| nsgs_and_attributes(s, &|v| v.name == name);
    let (s, warnings) = owners(
        json!({"nsg-ids": mt["nsg-ids"], "security-attributes": mt["security-attributes"]}),
        json!({"subnet-id": api["subnet-id"], "nsg-ids": api["nsg-ids"],
               "security-attributes": api["security-attributes"]}),
    );
    assert_eq!(by_kind(&s, "mount-target"), of(&whole, "orders-fss-mt"));
    assert_eq!(by_kind(&s, "api-endpoint"), of(&whole, "k8s-api-endpoint"));
    assert!(
        warnings.iter().any(|w| w.contains(
            "the NSGs and security attributes of mount target `ocid1.mounttarget.oc1.iad.mt1`"
        )),
        "{warnings:#?}"
    );
    // Judged as the whole export on first packets; never more on replies.
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let pool = address_pool(&whole);
    let mut differ = 0;
    for _ in 0..3000 {
        let p = random_packet(&mut rng, &pool);
        let w = evaluate(&whole, &p, Context::First);
        let c = evaluate(&s, &p, Context::First);
        if c.judgement.verdict != w.judgement.verdict {
            differ += 1;
            assert_ne!(c.judgement.verdict, Verdict::Allow, "{p:?}: {c:?} / {w:?}");
        }
        if c.judgement.verdict == Verdict::Allow {
            let r = p.reversed();
            let cr = evaluate(&s, &r, Context::Reply(c.judgement.tracking));
            let wr = evaluate(&whole, &r, Context::Reply(w.judgement.tracking));
            assert!(
                cr.judgement.verdict != Verdict::Allow || wr.judgement.verdict == Verdict::Allow,
                "reply {r:?}: {cr:?} / {wr:?}"
            );
        }
    }
    assert_eq!(
        differ, 0,
        "first packets judged otherwise than the whole export"
    );
    // Not said there (the keys absent): unknown, as before.
    let (s, _) = owners(json!({}), json!({"subnet-id": api["subnet-id"]}));
    for kind in ["mount-target", "api-endpoint"] {
        let (nsgs, attrs) = by_kind(&s, kind);
        assert!(nsgs.is_empty(), "{kind}");
        assert_eq!(attrs, ["zprsim-stand-in.attributes:unknown"], "{kind}");
    }
    // `[]` and `{}` say none.
    let (s, _) = owners(
        json!({"nsg-ids": [], "security-attributes": {}}),
        json!({"nsg-ids": [], "security-attributes": {}}),
    );
    for kind in ["mount-target", "api-endpoint"] {
        assert_eq!(by_kind(&s, kind), (vec![], vec![]), "{kind}");
    }
}
