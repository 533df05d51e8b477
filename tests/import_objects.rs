//! How `import` reads the objects of an export: one OCID naming two objects, VNIC
//! attributes, unreadable statelessness, ICMP options and port ranges it cannot hold, routes
//! OCI adds itself.

use crate::support::{LB_NSG_RULES, cli, export_copy, oke_export};

/// Found in review.
#[test]
fn import_warns_when_one_ocid_names_two_different_objects() {
    let t = export_copy();
    let vcns = t.path().join("exp/network-vcn-list.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&vcns).unwrap()).unwrap();
    let data = doc["data"].as_array_mut().unwrap();
    let mut twin = data[0].clone();
    let id = twin["id"].as_str().unwrap().to_owned();
    twin["display-name"] = "impostor".into();
    data.push(twin);
    let text = serde_json::to_string(&doc).unwrap();
    std::fs::write(&vcns, &text).unwrap();
    let o = cli(t.path(), &["import", "oci", "exp", "-o", "out.toml"]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains(&format!(
            "warning: `network-vcn-list.json`: OCID `{id}` appears again with another `display-name`; the first, from `network-vcn-list.json`, is kept\n"
        )),
        "{err}"
    );
    let out = std::fs::read_to_string(t.path().join("out.toml")).unwrap();
    assert!(!out.contains("impostor"), "{out}");
    assert_eq!(std::fs::read_to_string(&vcns).unwrap(), text);

    // the same object twice (as `vnic get` and `list-vnics` give it) is quiet
    let t = export_copy();
    let one = t.path().join("exp/network-vnic-get-0.json");
    std::fs::copy(&one, t.path().join("exp/network-vnic-get-again.json")).unwrap();
    let o = cli(t.path(), &["import", "oci", "exp", "-o", "out.toml"]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(!err.contains("appears again"), "{err}");
}

/// The imported VNIC `k8s-api-endpoint`'s attributes (ZPR default-deny
/// holds for a VNIC only while it has them).
/// `None`: the imported scenario does not load (the CLI then refuses the
/// export and writes nothing).
fn k8s_api_attributes(files: &zprsim_control::import::Files) -> Option<(bool, Vec<String>)> {
    let out = zprsim_control::import::oci::import(files, None).unwrap();
    let s = zprsim_control::load::from_toml_str(&out.toml, "i.toml")
        .ok()?
        .scenario;
    let v = s
        .vnics
        .iter()
        .find(|v| v.name == "k8s-api-endpoint")
        .unwrap();
    Some((!v.attributes.is_empty(), out.warnings))
}

/// Found in review.
#[test]
fn import_never_drops_a_vnics_attributes_silently() {
    const F: &str = "network-vnic-get-0.json";
    let files = oke_export();
    assert!(k8s_api_attributes(&files).unwrap().0);
    // An empty object is no attributes, as before.
    let mut f = files.clone();
    let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
    v["data"]["security-attributes"] = serde_json::json!({});
    f.insert(F.into(), v.to_string());
    assert!(!k8s_api_attributes(&f).unwrap().0);
    for bad in [
        serde_json::json!("app.role=k8s-api"),
        serde_json::json!([{"app": {"role": {"value": "k8s-api"}}}]),
        serde_json::json!(true),
    ] {
        let mut f = files.clone();
        let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
        v["data"]["security-attributes"] = bad.clone();
        f.insert(F.into(), v.to_string());
        // Before: imported without attributes and without a word, so ZPR
        // no longer held the VNIC to its policy.
        assert_eq!(k8s_api_attributes(&f), None, "{bad}: imported");
    }
}

/// Found in review.
#[test]
fn a_vnic_seen_first_without_its_attributes_keeps_them() {
    // `compute instance list-vnics` (older CLIs: no `security-attributes`)
    // sorts before `network-vnic-get-*.json`; the copies differ only by the
    // key one of them lacks, so one is kept.
    const F: &str = "network-vnic-get-0.json";
    let mut f = oke_export();
    let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
    v["data"]
        .as_object_mut()
        .unwrap()
        .remove("security-attributes");
    f.insert(
        "compute-instance-list-vnics.json".into(),
        serde_json::json!({"data": [v["data"]]}).to_string(),
    );
    let (attributed, warnings) = k8s_api_attributes(&f).unwrap();
    assert!(attributed, "attributes lost: {warnings:?}");
}

/// Found in review.
#[test]
fn a_rule_whose_statelessness_is_unreadable_is_not_imported_stateful() {
    // A stateful rule also lets the replies through: reading an
    // `is-stateless` that is not a boolean as stateful widens the rule.
    const F: &str = LB_NSG_RULES;
    let files = oke_export();
    let rules = |f: &zprsim_control::import::Files| {
        let out = zprsim_control::import::oci::import(f, None).unwrap();
        let s = zprsim_control::load::from_toml_str(&out.toml, "i.toml")
            .unwrap()
            .scenario;
        let n = s.nsgs.iter().find(|n| n.name == "lb-nsg").unwrap();
        (
            n.rules.len(),
            n.rules.iter().filter(|r| r.stateless).count(),
            out.warnings,
        )
    };
    let (all, _, _) = rules(&files);
    // Nor left out (thirteenth session): it may be stateless, and left
    // out, a flow it matched beside a stateful rule would be tracked and
    // its replies let in. The import fails, naming it.
    for bad in [
        serde_json::json!("true"),
        serde_json::json!(1),
        serde_json::json!({}),
    ] {
        let mut f = files.clone();
        let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
        v["data"][0]["is-stateless"] = bad.clone();
        f.insert(F.into(), v.to_string());
        let e = zprsim_control::import::oci::import(&f, None).unwrap_err();
        assert!(
            e.message
                .contains("`is-stateless` is not `true` or `false`")
                && e.message.contains("so the import fails"),
            "{bad}: {e}"
        );
    }
    // `false` and null (OCI's default: stateful) keep the rule.
    for ok in [serde_json::json!(false), serde_json::Value::Null] {
        let mut f = files.clone();
        let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
        v["data"][0]["is-stateless"] = ok;
        f.insert(F.into(), v.to_string());
        assert_eq!(rules(&f).0, all);
    }
}

/// The rules of NSG `lb-nsg` when `files` import (they must).
fn lb_rules(files: &zprsim_control::import::Files) -> (usize, Vec<String>) {
    let out = zprsim_control::import::oci::import(files, None).unwrap();
    let l = zprsim_control::load::from_toml_str(&out.toml, "i.toml")
        .unwrap_or_else(|e| panic!("{e}; warnings {:?}", out.warnings));
    let n = l.scenario.nsgs.iter().find(|n| n.name == "lb-nsg").unwrap();
    (n.rules.len(), out.warnings)
}

/// ICMP options the scenario cannot hold: the (stateful) rule is left out
/// with a warning, never widened to every type. (Refused, the whole import
/// failed, until the fifteenth session: docs/import.md.)
///
/// Found in review.
#[test]
fn icmp_options_of_another_type_are_left_out_not_widened() {
    const F: &str = LB_NSG_RULES;
    let files = oke_export();
    let (all, _) = lb_rules(&files);
    for (t, c) in [
        (serde_json::json!("8"), serde_json::Value::Null),
        (serde_json::json!(3), serde_json::json!("4")),
        (serde_json::json!(3.5), serde_json::Value::Null),
        (serde_json::json!(-1), serde_json::Value::Null),
        (serde_json::json!(3), serde_json::json!(-1)),
    ] {
        let mut f = files.clone();
        let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
        let r = &mut v["data"][0];
        r["protocol"] = serde_json::json!("1");
        r["tcp-options"] = serde_json::Value::Null;
        r["icmp-options"] = serde_json::json!({"type": t, "code": c});
        f.insert(F.into(), v.to_string());
        let (n, warnings) = lb_rules(&f);
        assert_eq!(n, all - 1, "{t} {c}: {warnings:?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("is not a number from 0 to 255; the rule is left out")),
            "{t} {c}: {warnings:?}"
        );
    }
}

/// A port range outside 0-65535 or upside down: left out with a warning,
/// never widened. (Refused until the fifteenth session.)
///
/// Found in review.
#[test]
fn port_ranges_out_of_range_are_left_out_not_widened() {
    const F: &str = LB_NSG_RULES;
    let files = oke_export();
    let (all, _) = lb_rules(&files);
    for (min, max) in [(8080, 70000), (9000, 8080), (65536, 65536)] {
        let mut f = files.clone();
        let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
        v["data"][0]["tcp-options"] =
            serde_json::json!({"destination-port-range": {"min": min, "max": max}});
        f.insert(F.into(), v.to_string());
        let (n, warnings) = lb_rules(&f);
        assert_eq!(n, all - 1, "{min}-{max}: {warnings:?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("is not a port range") && w.ends_with("the rule is left out")),
            "{min}-{max}: {warnings:?}"
        );
    }
}

/// A route rule OCI adds itself (`route-type: LOCAL`, targeting the VCN)
/// was imported with the warning "targets `ocid1.vcn…`, which is not in
/// the export; the rule is left out", as if the export were incomplete
/// (QA, this session). It is left out without a word: the model routes
/// within a VCN without a rule. The scenario is the one imported without
/// that rule.
///
/// Found by the twelfth session's review.
#[test]
fn an_oci_added_local_route_is_left_out_without_a_warning() {
    use zprsim_control::import::oci;
    let files = crate::support::oke_export();
    let name = "network-route-table-list.json";
    let text = &files.iter().find(|(n, _)| n.as_str() == name).unwrap().1;
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    let table = &mut v["data"][0];
    let vcn = table["vcn-id"].clone();
    table["route-rules"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "description": null,
            "destination": "10.0.0.0/16",
            "destination-type": "CIDR_BLOCK",
            "network-entity-id": vcn,
            "route-type": "LOCAL"
        }));
    let with_local: zprsim_control::import::Files = files
        .iter()
        .map(|(n, t)| {
            let t = if n.as_str() == name {
                v.to_string()
            } else {
                t.clone()
            };
            (n.clone(), t)
        })
        .collect();
    let plain = oci::import(&files, None).unwrap();
    let got = oci::import(&with_local, None).unwrap();
    assert_eq!(got.warnings, plain.warnings);
    assert_eq!(got.toml, plain.toml);
}
