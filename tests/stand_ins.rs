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
