//! A service's VNIC lost from an export (since the thirtieth session):
//! OCI lists the VNICs of load balancers, mount targets and clusters' API
//! endpoints in no compartment a user exports (no `vnic get`), so the
//! private-IP list names them; an entry cut from it left the address
//! reading as a free one of its subnet, on whose side no security layer
//! runs and which ZPR does not judge. The service's own object (its
//! private address, or its private IP's OCID) now says the subnet's VNICs
//! are not all known (`vnics_unknown`), as a compute VNIC attachment does
//! for an instance's VNIC (07488a8).

use serde_json::json;
use zprsim_control::import::Files;

use crate::import_partial_exports::{edit_list, never_allows_more, vnics_unknown_of};

const VCN: &str = "ocid1.vcn.oc1.iad.gen000000";

/// The OKE export without VNIC `vnic`'s `vnic get` and private IPs.
fn without_vnic(files: &Files, vnic: &str) -> Files {
    let mut cut = files.clone();
    cut.remove(&crate::support::vnic_get_file(files, vnic));
    edit_list(&mut cut, "network-private-ip-list.json", |d| {
        d.retain(|p| p["vnic-id"] != vnic);
    });
    cut
}

/// A service of the OKE example: the file holding its object, the
/// object, its VNIC, the subnet it is in, and what the warning says.
struct Service {
    file: &'static str,
    object: serde_json::Value,
    vnic: &'static str,
    subnet: &'static str,
    says: &'static str,
}

fn services() -> Vec<Service> {
    let list = |o: serde_json::Value| json!({ "data": [o] });
    vec![
        Service {
            file: "lb-load-balancer-list.json",
            object: list(json!({
                "id": "ocid1.loadbalancer.oc1.iad.lb1", "lifecycle-state": "ACTIVE",
                "subnet-ids": ["ocid1.subnet.oc1.iad.gen000001"],
                "ip-addresses": [{"ip-address": "10.0.1.10", "is-public": false}],
            })),
            vnic: "ocid1.vnic.oc1.iad.okeordersorderslb",
            subnet: "lb-public",
            says: "load balancer `ocid1.loadbalancer.oc1.iad.lb1` has 10.0.1.10 in it, and the export has no VNIC or private IP holding it",
        },
        Service {
            file: "fs-mount-target-list-AD-1.json",
            object: list(json!({
                "id": "ocid1.mounttarget.oc1.iad.mt1", "lifecycle-state": "ACTIVE",
                "subnet-id": "ocid1.subnet.oc1.iad.gen000005",
                "private-ip-ids": ["ocid1.privateip.oc1.iad.gen0008x000"],
            })),
            vnic: "ocid1.vnic.oc1.iad.okeordersordersfssmt",
            subnet: "storage",
            says: "`oci network private-ip get --private-ip-id ocid1.privateip.oc1.iad.gen0008x000`",
        },
        Service {
            file: "ce-cluster-list.json",
            object: list(json!({
                "id": "ocid1.cluster.oc1.iad.c1", "lifecycle-state": "ACTIVE", "vcn-id": VCN,
                "endpoints": {"private-endpoint": "10.0.0.5:6443"},
                "endpoint-config": {"subnet-id": "ocid1.subnet.oc1.iad.gen000000"},
            })),
            vnic: "ocid1.vnic.oc1.iad.okeordersk8sapiendpoint",
            subnet: "api",
            says: "the API endpoint of cluster `ocid1.cluster.oc1.iad.c1` has 10.0.0.5 in it",
        },
        Service {
            file: "ce-node-pool-get-np1.json",
            object: json!({"data": {
                "id": "ocid1.nodepool.oc1.iad.np1", "lifecycle-state": "ACTIVE",
                "nodes": [{"id": "ocid1.instance.oc1.iad.n1", "private-ip": "10.0.2.11",
                           "subnet-id": "ocid1.subnet.oc1.iad.gen000002", "lifecycle-state": "ACTIVE"}],
            }}),
            vnic: "ocid1.vnic.oc1.iad.okeordersworker1",
            subnet: "workers",
            says: "node `ocid1.instance.oc1.iad.n1` of node pool `ocid1.nodepool.oc1.iad.np1` has 10.0.2.11 in it",
        },
    ]
}

/// Each service's VNIC cut with its private IP: its subnet is flagged,
/// with one warning saying which service names it and what to export,
/// and the cut allows nothing the whole export denies. Without the
/// service's object nothing says the VNIC existed (not flagged), nor with
/// its private IP kept (a stand-in VNIC holds the address).
///
/// Without the service's evidence the balancer's cut fails the last
/// check: ICMP 3/4 from its lost address 10.0.1.10 to `legacy-vm` is
/// allowed by the cut (a free address, no security layer on its side) and
/// dropped at egress-security by the whole export.
///
/// Item 2 of the thirtieth session's polish brief.
#[test]
fn a_service_vnic_named_by_its_service_alone_flags_its_subnet() {
    let load = |f: &Files| {
        let i = zprsim_control::import::oci::import(f, None).unwrap_or_else(|e| panic!("{e}"));
        zprsim_control::load::from_toml_str(&i.toml, "s.toml")
            .unwrap_or_else(|e| panic!("{e}"))
            .scenario
    };
    let mut base = crate::support::oke_export();
    // The nodes' VNIC attachments say the same of a worker's VNIC: left
    // out, the node pool alone says it.
    base.remove("compute-vnic-attachment-list.json");
    for s in services() {
        let mut whole = base.clone();
        whole.insert(s.file.into(), s.object.to_string());
        assert!(vnics_unknown_of(&whole).0.is_empty(), "{}", s.file);
        let unsaid = without_vnic(&base, s.vnic);
        assert!(vnics_unknown_of(&unsaid).0.is_empty(), "{}", s.file);
        let cut = without_vnic(&whole, s.vnic);
        let (flagged, warnings) = vnics_unknown_of(&cut);
        assert_eq!(flagged, [s.subnet], "{}: {warnings:#?}", s.file);
        let w: Vec<&String> = warnings
            .iter()
            .filter(|w| w.contains("vnics_unknown"))
            .collect();
        assert_eq!(w.len(), 1, "{warnings:#?}");
        assert!(w[0].contains(s.says), "{}", w[0]);
        never_allows_more(s.file, &load(&whole), &load(&cut));
        // Its private IP kept: a stand-in VNIC holds the address.
        let mut kept = cut.clone();
        kept.insert(
            "network-private-ip-list.json".into(),
            whole["network-private-ip-list.json"].clone(),
        );
        assert!(vnics_unknown_of(&kept).0.is_empty(), "{}", s.file);
    }
}

/// No firm evidence, no flag: a service whose `lifecycle-state` says it is
/// gone, a balancer's public address (a public balancer lists that alone),
/// an address outside the subnets the balancer names.
#[test]
fn a_gone_service_or_a_public_address_flags_nothing() {
    let base = crate::support::oke_export();
    let lb = "ocid1.vnic.oc1.iad.okeordersorderslb";
    let balancer = |state: &str, address: &str, public: bool| {
        json!({"data": [{
            "id": "ocid1.loadbalancer.oc1.iad.lb1", "lifecycle-state": state,
            "subnet-ids": ["ocid1.subnet.oc1.iad.gen000001"],
            "ip-addresses": [{"ip-address": address, "is-public": public}],
        }]})
        .to_string()
    };
    let cut = without_vnic(&base, lb);
    for (state, address, public, evidence) in [
        ("ACTIVE", "10.0.1.10", false, true),
        ("DELETED", "10.0.1.10", false, false),
        ("DELETING", "10.0.1.10", false, false),
        ("ACTIVE", "10.0.1.10", true, false),
        ("ACTIVE", "10.0.2.99", false, false),
    ] {
        let mut f = cut.clone();
        f.insert(
            "lb-load-balancer-list.json".into(),
            balancer(state, address, public),
        );
        let (flagged, warnings) = vnics_unknown_of(&f);
        assert_eq!(
            !flagged.is_empty(),
            evidence,
            "{state} {address} {public}: {warnings:#?}"
        );
    }
}

/// A balancer's address in a subnet's second IPv4 block (`ipv4-cidr-blocks`)
/// is in that subnet as much as one in its `cidr-block`: the subnet's
/// blocks are read as everywhere else in the import (`vcn_guess::
/// subnet_blocks`). An address in neither block is no evidence.
#[test]
fn a_balancer_address_in_a_second_block_of_its_subnet_flags_it() {
    let lb = "ocid1.vnic.oc1.iad.okeordersorderslb";
    let mut base = without_vnic(&crate::support::oke_export(), lb);
    edit_list(&mut base, "network-subnet-list.json", |d| {
        for s in d.iter_mut() {
            if s["id"] == "ocid1.subnet.oc1.iad.gen000001" {
                s["ipv4-cidr-blocks"] = json!(["10.0.1.0/24", "10.0.9.0/24"]);
            }
        }
    });
    for (address, flagged) in [("10.0.9.7", true), ("10.0.8.7", false)] {
        let mut f = base.clone();
        f.insert(
            "lb-load-balancer-list.json".into(),
            json!({"data": [{
                "id": "ocid1.loadbalancer.oc1.iad.lb1", "lifecycle-state": "ACTIVE",
                "subnet-ids": ["ocid1.subnet.oc1.iad.gen000001"],
                "ip-addresses": [{"ip-address": address, "is-public": false}],
            }]})
            .to_string(),
        );
        let (got, warnings) = vnics_unknown_of(&f);
        let want: &[&str] = if flagged { &["lb-public"] } else { &[] };
        assert_eq!(got, want, "{address}: {warnings:#?}");
    }
}
