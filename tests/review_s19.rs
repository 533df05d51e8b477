//! QA round twelve: what users bring, on the sixteenth session's paths
//! (stand-ins, public IPs, private subnets, the retarget hint) and the
//! careless command lines around them. Each test failed before its fix.

use crate::support::run_in;

/// A partial export without the route-table list (`oci network
/// route-table list` not run, or run in another compartment): every
/// subnet's table is missing. It was left out, so the subnets had no table
/// and `verify` told the user to "give it one (`route_table = ...`)", as
/// if their subnet lacked one, naming no stand-in; the table is now kept
/// as a marked stand-in, as a VNIC's own missing table already was.
#[test]
fn a_subnets_route_table_the_export_lacks_is_a_named_stand_in() {
    let mut files = crate::support::oke_export();
    assert!(files.remove("network-route-table-list.json").is_some());
    let imported = zprsim_control::import::oci::import(&files, None).unwrap();
    let s = zprsim_control::load::from_toml_str(&imported.toml, "s.toml")
        .unwrap()
        .scenario;
    let lb = s.subnets.iter().find(|n| n.name == "lb-public").unwrap();
    let t = lb.route_table.expect("lb-public keeps a (stand-in) route table");
    let table = &s.route_tables[t.index()];
    assert!(table.stand_in && table.rules.is_empty(), "{}", imported.toml);
    // One stand-in per table: the private subnets share theirs.
    let tables: std::collections::BTreeSet<_> =
        s.subnets.iter().filter_map(|n| n.route_table).collect();
    assert_eq!(tables.len(), 2, "{}", imported.toml);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &imported.toml).unwrap();
    std::fs::write(
        dir.path().join("e.toml"),
        r#"
[[path]]
name = "customers-to-lb"
from = "internet"
to = "vnic:orders-lb"
proto = "tcp"
dport = 443
expect = "allow"
"#,
    )
    .unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    let p = &j["paths"][0];
    assert_eq!(p["ok"], false, "{p}");
    let notes = p["stand_ins"].as_array().cloned().unwrap_or_default();
    assert_eq!(notes.len(), 1, "{p}");
    let note = notes[0].as_str().unwrap();
    assert!(
        note.contains("oci network route-table get --rt-id ocid1.routetable.oc1.iad.gen000000"),
        "{note}"
    );
    assert!(!p.to_string().contains("give it one"), "{p}");
}
