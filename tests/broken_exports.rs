//! Exports cut or damaged in ways `import` used to refuse with its own
//! output ("the export does not make a valid scenario") or with a reason
//! about another object: a subnet without a CIDR block, one made-up id
//! used for two kinds of object, a VNIC that names no subnet. Each is now
//! imported with a warning that says what was done. Each test failed
//! before its fix.

use serde_json::Value;
use zprsim_control::import::{Files, oci::import};

/// The OKE export with `edit` applied to the parsed JSON of `file`.
fn edited(file: &str, edit: impl FnOnce(&mut Value)) -> Files {
    let mut files = crate::support::oke_export();
    let text = files.get_mut(file).unwrap();
    let mut v: Value = serde_json::from_str(text).unwrap();
    edit(&mut v);
    *text = v.to_string();
    files
}

/// The subnet `name` of a subnet list.
fn subnet<'v>(list: &'v mut Value, name: &str) -> &'v mut serde_json::Map<String, Value> {
    list["data"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter_map(Value::as_object_mut)
        .find(|s| s["display-name"] == name)
        .unwrap()
}

fn load(toml: &str) -> zprsim_control::model::Scenario {
    zprsim_control::load::from_toml_str(toml, "s.toml")
        .unwrap_or_else(|e| panic!("{e}\n{toml}"))
        .scenario
}

/// A subnet the export gives no CIDR block (a hand-cut file, a field
/// filtered out by a `--query`): its VNIC's address read as outside it
/// and the import refused the VNIC; a subnet without a block and without
/// a VNIC made the import refuse its own output (`cidr_block = ""`). The
/// subnet now keeps its lists, route table and flags, with a host block
/// per VNIC address, marked a stand-in; one with no VNIC is left out.
#[test]
fn a_subnet_without_a_cidr_block_keeps_its_vnics_lists_and_table() {
    let whole = load(&import(&crate::support::oke_export(), None).unwrap().toml);
    let files = edited("network-subnet-list.json", |v| {
        let mut empty = subnet(v, "api").clone();
        subnet(v, "api").remove("cidr-block");
        empty.insert("id".into(), "ocid1.subnet.oc1.iad.nocidr".into());
        empty.insert("display-name".into(), "nocidr".into());
        empty.remove("cidr-block");
        v["data"].as_array_mut().unwrap().push(Value::Object(empty));
        // A block that is no block is left out as well.
        subnet(v, "workers").insert("ipv6-cidr-blocks".into(), serde_json::json!(["nonsense"]));
    });
    let imported = import(&files, None).unwrap_or_else(|e| panic!("{e}"));
    let s = load(&imported.toml);
    let api = s.subnets.iter().find(|n| n.name == "api").unwrap();
    let was = whole.subnets.iter().find(|n| n.name == "api").unwrap();
    assert!(api.stand_in, "{}", imported.toml);
    let blocks: Vec<String> = api.cidrs.iter().map(ToString::to_string).collect();
    assert_eq!(blocks, ["10.0.0.5/32"], "{}", imported.toml);
    assert_eq!(api.route_table, was.route_table);
    assert_eq!(api.security_lists, was.security_lists);
    assert_eq!(api.prohibit_public_ip, was.prohibit_public_ip);
    let endpoint = s
        .vnics
        .iter()
        .find(|v| v.name == "k8s-api-endpoint")
        .unwrap();
    assert_eq!(s.subnets[endpoint.subnet.index()].name, "api");
    assert!(
        !s.subnets.iter().any(|n| n.name == "nocidr"),
        "{}",
        imported.toml
    );
    let said = imported.warnings.join("\n");
    assert!(
        said.contains(
            "subnet `nocidr` (`ocid1.subnet.oc1.iad.nocidr`): the export gives it no CIDR block"
        ),
        "{said}"
    );
    assert!(
        said.contains("`nonsense` is not a CIDR block; left out"),
        "{said}"
    );
}

/// One made-up string used as a VNIC's `subnet-id` and as a subnet's
/// `route-table-id`: the stand-in subnet and the stand-in route table took
/// the same id and the import refused its own output ("id `garbage` is
/// already the id of route table ..."). The second holder is left
/// without an id, with a warning.
#[test]
fn one_made_up_id_for_two_missing_objects_is_kept_on_one() {
    let mut files = edited("network-subnet-list.json", |v| {
        subnet(v, "api").insert("route-table-id".into(), "garbage".into());
    });
    // The API endpoint's VNIC, moved out of every exported subnet (but
    // inside its VCN) into a subnet named by the same string.
    for (name, text) in files.iter_mut() {
        if name.starts_with("network-vnic-get") || name == "network-private-ip-list.json" {
            *text = text.replace("\"10.0.0.5\"", "\"10.0.200.5\"");
        }
        if text.contains("okeordersk8sapiendpoint") && name.starts_with("network-vnic-get") {
            *text = text.replace("ocid1.subnet.oc1.iad.gen000000", "garbage");
        }
    }
    let imported = import(&files, None).unwrap_or_else(|e| panic!("{e}"));
    let s = load(&imported.toml);
    let table = s
        .route_tables
        .iter()
        .find(|t| t.id.as_deref() == Some("garbage"));
    assert!(table.is_some_and(|t| t.stand_in), "{}", imported.toml);
    let endpoint = s
        .vnics
        .iter()
        .find(|v| v.name == "k8s-api-endpoint")
        .unwrap();
    let home = &s.subnets[endpoint.subnet.index()];
    assert!(home.stand_in && home.id.is_none(), "{}", imported.toml);
    let said = imported.warnings.join("\n");
    assert!(
        said.contains("its id `garbage` is the id of route table"),
        "{said}"
    );
}

/// A VNIC with no `subnet-id` whose addresses lie in one exported subnet:
/// the import refused it ("it names no subnet ..., and its address lies in
/// subnet `api` of the export: ... the export contradicts itself"). It is
/// that subnet's VNIC, and the scenario is the whole export's.
#[test]
fn a_vnic_naming_no_subnet_is_placed_in_the_subnet_holding_its_addresses() {
    let whole = import(&crate::support::oke_export(), None).unwrap();
    let mut files = crate::support::oke_export();
    let file = files
        .iter()
        .find(|(n, t)| n.starts_with("network-vnic-get") && t.contains("okeordersk8sapiendpoint"))
        .map(|(n, _)| n.clone())
        .unwrap();
    let files = {
        let text = files.get_mut(&file).unwrap();
        let mut v: Value = serde_json::from_str(text).unwrap();
        v["data"].as_object_mut().unwrap().remove("subnet-id");
        *text = v.to_string();
        files
    };
    let imported = import(&files, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imported.toml, whole.toml);
    let said = imported.warnings.join("\n");
    assert!(
        said.contains("it names no subnet (no `subnet-id`); its addresses lie in subnet `api`"),
        "{said}"
    );
}
