//! Objects `zprsim import` makes up for what a partial export lacks carry
//! `stand_in = true`, and `verify` and `explain` name them beside their
//! hints, saying what to export (a rule added for a stand-in may be
//! needed by nobody).

use crate::support::run_in;

/// The example's export without `orders-api-pod-1`'s VNIC (its private IP
/// stays: `private-ip list --subnet-id` lists it) and with `worker-1`'s
/// own route table left out (the VNIC names one the export lacks).
fn partial_export() -> zprsim_control::import::Files {
    let mut files = crate::support::oke_export();
    let find = |files: &zprsim_control::import::Files, name: &str| {
        files
            .iter()
            .find_map(|(f, t)| {
                let v: serde_json::Value = serde_json::from_str(t).ok()?;
                (f.starts_with("network-vnic-get-") && v["data"]["display-name"] == name)
                    .then(|| (f.clone(), v))
            })
            .unwrap_or_else(|| panic!("{name}"))
    };
    let (f, _) = find(&files, "orders-api-pod-1");
    files.remove(&f);
    let (f, mut v) = find(&files, "worker-1");
    v["data"]["route-table-id"] = serde_json::json!("ocid1.routetable.oc1.iad.gone");
    files.insert(f, v.to_string());
    files
}

#[test]
fn import_marks_what_it_makes_up_and_only_that() {
    let whole = zprsim_control::import::oci::import(&crate::support::oke_export(), None).unwrap();
    assert!(!whole.toml.contains("stand_in"), "{}", whole.toml);
    let imported = zprsim_control::import::oci::import(&partial_export(), None).unwrap();
    let s = zprsim_control::load::from_toml_str(&imported.toml, "s.toml")
        .unwrap()
        .scenario;
    let vnic = |id: &str| {
        s.vnics
            .iter()
            .find(|v| v.id.as_deref() == Some(id))
            .unwrap()
    };
    assert!(vnic("ocid1.vnic.oc1.iad.okeordersordersapipod1").stand_in);
    assert!(!vnic("ocid1.vnic.oc1.iad.okeordersordersapipod2").stand_in);
    let w1 = vnic("ocid1.vnic.oc1.iad.okeordersworker1");
    assert!(!w1.stand_in);
    let t = &s.route_tables[w1.route_table.unwrap().index()];
    assert!(t.stand_in && t.rules.is_empty(), "{t:?}");
    assert_eq!(
        s.route_tables.iter().filter(|t| t.stand_in).count(),
        1,
        "{}",
        imported.toml
    );
    assert!(s.subnets.iter().all(|s| !s.stand_in));
}

#[test]
fn verify_and_explain_name_the_stand_ins_on_a_failing_path() {
    let imported = zprsim_control::import::oci::import(&partial_export(), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &imported.toml).unwrap();
    // The ZPR policy file the export's policy came from is inline in the
    // import; the paths: the missing pod to its NFS share (open in the
    // whole export), worker-1 to the internet (its route table is gone),
    // and one path through no stand-in.
    std::fs::write(
        dir.path().join("e.toml"),
        r#"
[[path]]
name = "pod-to-nfs"
from = "10.0.10.11"
to = "10.0.30.10"
proto = "tcp"
dport = 2049
expect = "allow"

[[path]]
name = "worker-out"
from = "10.0.2.11"
to = "internet"
proto = "tcp"
dport = 443
expect = "allow"

[[path]]
name = "legacy-to-nfs"
from = "10.0.20.10"
to = "10.0.30.10"
proto = "tcp"
dport = 2049
expect = "allow"
"#,
    )
    .unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    let path = |n: &str| {
        j["paths"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .unwrap()
            .clone()
    };
    let notes = |n: &str| -> Vec<String> {
        path(n)["stand_ins"]
            .as_array()
            .map(|a| a.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let pod = path("pod-to-nfs");
    assert_eq!(pod["ok"], false, "{pod}");
    let n = notes("pod-to-nfs");
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(
        n[0].contains("(10.0.10.11) is a stand-in")
            && n[0].contains(
                "oci network vnic get --vnic-id ocid1.vnic.oc1.iad.okeordersordersapipod1"
            ),
        "{n:?}"
    );
    assert_eq!(path("worker-out")["ok"], false);
    let n = notes("worker-out");
    assert_eq!(n.len(), 1, "{n:?}");
    assert!(
        n[0].contains("(of VNIC `worker-1`) is a stand-in for `ocid1.routetable.oc1.iad.gone`")
            && n[0].contains("oci network route-table get --rt-id ocid1.routetable.oc1.iad.gone"),
        "{n:?}"
    );
    // A failing path through no stand-in gets no note.
    assert_eq!(path("legacy-to-nfs")["ok"], false);
    assert!(path("legacy-to-nfs").get("stand_ins").is_none());

    // The text report prints them.
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.matches("stand-in: ").count(), 2, "{text}");

    // `explain` of the pod's dropped packet says it too; of a packet
    // between exported VNICs, nothing.
    let o = run_in(
        dir.path(),
        [
            "explain",
            "s.toml",
            "--src",
            "10.0.10.11",
            "--dst",
            "10.0.30.10",
            "--proto",
            "tcp",
            "--dport",
            "2049",
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("DROP"), "{text}");
    assert!(
        text.contains("stand-in: VNIC `") && text.contains("(10.0.10.11) is a stand-in"),
        "{text}"
    );
    let o = run_in(
        dir.path(),
        [
            "explain",
            "s.toml",
            "--src",
            "10.0.20.10",
            "--dst",
            "10.0.30.10",
            "--proto",
            "tcp",
            "--dport",
            "2049",
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("DROP"), "{text}");
    assert!(!text.contains("stand-in:"), "{text}");
}

#[test]
fn a_note_names_only_what_the_packet_met() {
    let imported = zprsim_control::import::oci::import(&partial_export(), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &imported.toml).unwrap();
    let explain = |src: &str, dst: &str, port: &str| {
        let o = run_in(
            dir.path(),
            [
                "explain", "s.toml", "--src", src, "--dst", dst, "--proto", "tcp", "--dport", port,
            ],
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // VNIC to VNIC: the route layer reads the source's table only, so
    // worker-1's stand-in table is not named when worker-1 is the
    // destination ...
    let text = explain("10.0.20.10", "10.0.2.11", "10250");
    assert!(text.contains("DROP"), "{text}");
    assert!(!text.contains("stand-in:"), "{text}");
    // ... but is for a packet from outside (its return path).
    let text = explain("8.8.8.8", "10.0.2.11", "10250");
    assert!(text.contains("DROP"), "{text}");
    assert!(
        text.contains("stand-in: route table `missing-gone` (of VNIC `worker-1`)"),
        "{text}"
    );
}

#[test]
fn a_balancers_stand_in_vnic_gets_no_note() {
    // The balancer's VNIC missing (OCI lists it in no compartment a user
    // exports), the balancer exported: its stand-in carries the
    // balancer's NSGs and attributes; nothing to export.
    let mut files = crate::support::oke_export();
    let (file, vnic) = files
        .iter()
        .find_map(|(n, t)| {
            let v: serde_json::Value = serde_json::from_str(t).ok()?;
            (n.starts_with("network-vnic-get-") && v["data"]["display-name"] == "orders-lb")
                .then(|| (n.clone(), v["data"].clone()))
        })
        .unwrap();
    files.remove(&file);
    files.insert(
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
    let imported = zprsim_control::import::oci::import(&files, None).unwrap();
    assert!(
        imported.toml.contains("stand_in = true"),
        "{}",
        imported.toml
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &imported.toml).unwrap();
    let o = run_in(
        dir.path(),
        [
            "explain",
            "s.toml",
            "--src",
            "10.0.1.10",
            "--dst",
            "10.0.30.10",
            "--proto",
            "tcp",
            "--dport",
            "2049",
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("DROP"), "{text}");
    assert!(!text.contains("stand-in:"), "{text}");
}

/// A partial export without the security-list list and the NSG list (run
/// in another compartment): the references were left out, and `verify`
/// said "VNIC `orders-lb` has no ingress rules" and hinted a rule into
/// another container, naming nothing to export, though the missing list
/// or NSG may hold the rule. Each is now a stand-in with no rule (the
/// verdicts are those of leaving it out: an empty container adds nothing
/// to the union), named on the failing path with its `oci` command, and
/// never hinted into.
#[test]
fn missing_security_lists_and_nsgs_are_named_stand_ins_never_hinted_into() {
    let whole = zprsim_control::import::oci::import(&crate::support::oke_export(), None).unwrap();
    // Each with a path of the example that passes on the whole export and
    // fails without the file.
    for (missing, from, to, port) in [
        (
            "network-security-list-list.json",
            "internet",
            "vnic:orders-lb",
            443,
        ),
        (
            "network-nsg-list.json",
            "subnet:workers",
            "vnic:k8s-api-endpoint",
            6443,
        ),
    ] {
        let mut files = crate::support::oke_export();
        assert!(files.remove(missing).is_some());
        let imported = zprsim_control::import::oci::import(&files, None).unwrap();
        let s = zprsim_control::load::from_toml_str(&imported.toml, "s.toml")
            .unwrap_or_else(|e| panic!("{e}"))
            .scenario;
        let made: Vec<(&str, Option<&str>)> = if missing.contains("nsg") {
            assert!(s.security_lists.iter().all(|l| !l.stand_in));
            s.nsgs
                .iter()
                .filter(|n| n.stand_in && n.rules.is_empty())
                .map(|n| (n.name.as_str(), n.id.as_deref()))
                .collect()
        } else {
            assert!(s.nsgs.iter().all(|n| !n.stand_in));
            s.security_lists
                .iter()
                .filter(|l| l.stand_in && l.ingress.is_empty() && l.egress.is_empty())
                .map(|l| (l.name.as_str(), l.id.as_deref()))
                .collect()
        };
        assert!(made.len() >= 3, "{missing}: {}", imported.toml);
        assert!(
            made.iter()
                .all(|(n, id)| n.starts_with("missing-") && id.is_some())
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.toml"), &imported.toml).unwrap();
        std::fs::write(dir.path().join("whole.toml"), &whole.toml).unwrap();
        std::fs::write(
            dir.path().join("e.toml"),
            format!(
                "[[path]]\nname = \"p\"\nfrom = \"{from}\"\nto = \"{to}\"\nproto = \"tcp\"\ndport = {port}\nexpect = \"allow\"\n"
            ),
        )
        .unwrap();
        let o = run_in(dir.path(), ["verify", "whole.toml", "e.toml"]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        let o = run_in(dir.path(), ["verify", "s.toml", "e.toml", "--json"]);
        let j: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        let p = &j["paths"][0];
        assert_eq!(p["ok"], false, "{missing}: {p}");
        let notes = p["stand_ins"].as_array().cloned().unwrap_or_default();
        let kind = if missing.contains("nsg") {
            "NSG `missing-"
        } else {
            "security list `missing-"
        };
        assert!(
            notes
                .iter()
                .filter_map(|n| n.as_str())
                .any(|n| n.contains(kind) && n.contains("its rules may allow this path")),
            "{missing}: {p}"
        );
        assert!(!p.to_string().contains("add to NSG `missing-"), "{p}");
        assert!(
            !p.to_string().contains("add to security list `missing-"),
            "{p}"
        );
    }
}

/// The review of the eighteenth session: a stand-in NSG or list was named
/// on every failing pair at its VNIC, though its layer allowed (egress
/// passed by the subnet's list, ingress denied: the source's stand-in NSG
/// was named); and a subnet exported without its CIDR blocks was said to
/// have "no security list and no route table" on every failing path
/// through it, though it keeps both and only a packet to an address of
/// its VCN that no VNIC holds can be judged otherwise.
#[test]
fn a_stand_in_is_named_only_where_it_can_matter() {
    let explain = |files: zprsim_control::import::Files, args: &[&str]| -> Vec<String> {
        let imported = zprsim_control::import::oci::import(&files, None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.toml"), &imported.toml).unwrap();
        let mut all = vec!["explain", "s.toml", "--proto", "tcp", "--json"];
        all.extend_from_slice(args);
        let o = run_in(dir.path(), all);
        let j: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        j["stand_ins"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect()
    };
    let mut no_nsgs = crate::support::oke_export();
    assert!(no_nsgs.remove("network-nsg-list.json").is_some());
    let notes = explain(
        no_nsgs,
        &[
            "--src",
            "vnic:worker-1",
            "--dst",
            "vnic:k8s-api-endpoint",
            "--dport",
            "443",
        ],
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("(of VNIC `k8s-api-endpoint`)"),
        "{notes:?}"
    );

    let mut no_block = crate::support::oke_export();
    let subnets = no_block.get_mut("network-subnet-list.json").unwrap();
    let mut v: serde_json::Value = serde_json::from_str(subnets).unwrap();
    for s in v["data"].as_array_mut().unwrap() {
        if s["display-name"] == "api" {
            s.as_object_mut().unwrap().remove("cidr-block");
        }
    }
    *subnets = v.to_string();
    let to_vnic = explain(
        no_block.clone(),
        &[
            "--src",
            "vnic:k8s-api-endpoint",
            "--dst",
            "vnic:worker-1",
            "--dport",
            "1",
        ],
    );
    assert!(to_vnic.is_empty(), "{to_vnic:?}");
    let to_unassigned = explain(
        no_block,
        &[
            "--src",
            "vnic:k8s-api-endpoint",
            "--dst",
            "10.0.0.9",
            "--dport",
            "1",
        ],
    );
    assert_eq!(to_unassigned.len(), 1, "{to_unassigned:?}");
    assert!(
        to_unassigned[0].contains("was exported without its CIDR blocks"),
        "{to_unassigned:?}"
    );
}
