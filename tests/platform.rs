//! The platform engineer's week: an OKE tenancy's exports (VCN-native pod
//! networking: secondary VNICs holding many private IPs, node pools, load
//! balancers with NSGs, several compartments) and captures written by many
//! tools, run through `import`, `check`, `explain` and `replay` as a
//! script runs them. Each test asserts what the script relies on.

use std::collections::BTreeMap;

use assert_cmd::Command;
use serde_json::{Value, json};
use zprsim_control::import::{Files, oci};
use zprsim_control::load;

/// One file of an export: the CLI's `{"data": ...}` envelope.
fn file(data: &Value) -> String {
    serde_json::to_string_pretty(&json!({ "data": data })).unwrap()
}

/// A one-VCN OKE export: a workers subnet with `nodes` nodes, a pods
/// subnet where each node has one secondary VNIC holding `pods` private
/// IPs. The private-IP list is ordered by address, as
/// `oci network private-ip list --subnet-id` prints it, so one VNIC's IPs
/// are interleaved with the others'.
fn oke_export(nodes: usize, pods: usize) -> Files {
    let vcn = "ocid1.vcn.oc1.iad.v1";
    let rt = "ocid1.routetable.oc1.iad.rt1";
    let workers = "ocid1.subnet.oc1.iad.workers";
    let pod_subnet = "ocid1.subnet.oc1.iad.pods";
    let mut files = Files::new();
    files.insert(
        "network-vcn-list.json".into(),
        file(
            &json!([{ "id": vcn, "display-name": "oke-vcn", "cidr-blocks": ["10.0.0.0/16"], "security-attributes": {},
            "default-route-table-id": rt, "lifecycle-state": "AVAILABLE" }]),
        ),
    );
    files.insert(
        "network-route-table-list.json".into(),
        file(&json!([{ "id": rt, "vcn-id": vcn, "display-name": "rt", "route-rules": [] }])),
    );
    files.insert(
        "network-subnet-list.json".into(),
        file(&json!([
            { "id": workers, "vcn-id": vcn, "display-name": "workers", "cidr-block": "10.0.8.0/21", "security-list-ids": [] },
            { "id": pod_subnet, "vcn-id": vcn, "display-name": "pods", "cidr-block": "10.0.64.0/18", "security-list-ids": [] },
        ])),
    );
    let mut vnics = Vec::new();
    let mut ips = Vec::new();
    for n in 0..nodes {
        let node = format!("ocid1.vnic.oc1.iad.node{n}");
        let node_ip = format!("10.0.8.{}", n + 2);
        vnics.push(
            json!({ "id": node, "subnet-id": workers, "display-name": format!("node-{n}"),
            "private-ip": node_ip, "is-primary": true, "nsg-ids": [] }),
        );
        ips.push(
            json!({ "id": format!("ocid1.privateip.oc1.iad.n{n}"), "ip-address": node_ip,
            "vnic-id": node, "is-primary": true }),
        );
        let pod_vnic = format!("ocid1.vnic.oc1.iad.pods{n}");
        vnics.push(
            json!({ "id": pod_vnic, "subnet-id": pod_subnet, "display-name": null,
            "private-ip": pod_ip(n, 0, nodes), "is-primary": false, "nsg-ids": [] }),
        );
    }
    // By address: pod p of every node, then pod p + 1 of every node.
    for p in 0..pods {
        for n in 0..nodes {
            ips.push(json!({ "id": format!("ocid1.privateip.oc1.iad.p{n}x{p}"),
                "ip-address": pod_ip(n, p, nodes), "vnic-id": format!("ocid1.vnic.oc1.iad.pods{n}"),
                "is-primary": p == 0, "ip-state": "ASSIGNED" }));
        }
    }
    for (i, v) in vnics.iter().enumerate() {
        files.insert(
            format!("network-vnic-get-{i}.json"),
            serde_json::to_string(&json!({ "data": v, "etag": "e" })).unwrap(),
        );
    }
    files.insert(
        "network-private-ip-list.json".into(),
        file(&Value::Array(ips)),
    );
    files
}

/// The address of node `n`'s pod `p`, numbered pod-major as the list is.
fn pod_ip(n: usize, p: usize, nodes: usize) -> String {
    let i = p * nodes + n;
    format!("10.0.{}.{}", 64 + i / 250, i % 250 + 2)
}

/// Every VNIC's private IPs in the imported scenario, by name.
fn imported_ips(files: &Files) -> BTreeMap<String, Vec<String>> {
    let imported = oci::import(files, None).unwrap();
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let s = load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
    s.vnics
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                v.private_ips.iter().map(ToString::to_string).collect(),
            )
        })
        .collect()
}

/// A node pool's pod VNICs (VCN-native pod networking) each get exactly
/// their own secondary IPs, primary first, in the list's order, however
/// the list interleaves them; the nodes keep their one address. (The
/// importer looked every VNIC's IPs up by scanning the whole private-IP
/// list: 29 s on 3,020 VNICs and 40,000 IPs, 0.4 s now.)
#[test]
fn pod_vnics_get_their_own_secondary_ips_in_order() {
    let (nodes, pods) = (40, 31);
    let ips = imported_ips(&oke_export(nodes, pods));
    assert_eq!(ips.len(), 2 * nodes);
    for n in 0..nodes {
        assert_eq!(ips[&format!("node-{n}")], [format!("10.0.8.{}", n + 2)]);
        let want: Vec<String> = (0..pods).map(|p| pod_ip(n, p, nodes)).collect();
        let name = format!("vnic-pods{n}");
        assert_eq!(ips.get(&name), Some(&want), "{name}");
    }
}

/// `oci network private-ip list --subnet-id S >> ips.json` once per subnet
/// (or `--page` in a loop) writes several CLI outputs one after another.
/// That was "not JSON: trailing characters", exit 2, and nothing imported.
/// Each output is read; a page token followed by its next page is no
/// missing page, one on the last output still is.
#[test]
fn outputs_appended_to_one_file_are_all_read() {
    let (nodes, pods) = (6, 4);
    let whole = oke_export(nodes, pods);
    let want = imported_ips(&whole);
    let list: Value = serde_json::from_str(&whole["network-private-ip-list.json"]).unwrap();
    let ips = list["data"].as_array().unwrap();
    let (a, b) = ips.split_at(ips.len() / 2);
    let page = |data: &[Value], next: Option<&str>| {
        let mut o = json!({ "data": data });
        if let Some(t) = next {
            o["opc-next-page"] = json!(t);
        }
        serde_json::to_string_pretty(&o).unwrap()
    };
    let mut appended = whole.clone();
    appended.insert(
        "network-private-ip-list.json".into(),
        format!("{}\n{}\n", page(a, Some("AAAA2")), page(b, None)),
    );
    assert_eq!(imported_ips(&appended), want);

    let mut cut = whole.clone();
    cut.insert(
        "network-private-ip-list.json".into(),
        format!("{}\n{}", page(a, None), page(b, Some("AAAA3"))),
    );
    let imported = oci::import(&cut, None).unwrap();
    assert!(
        imported.warnings.len() == 1 && imported.warnings[0].contains("`AAAA3`"),
        "{:?}",
        imported.warnings
    );

    let mut broken = whole;
    broken.insert(
        "network-private-ip-list.json".into(),
        format!("{}\n{{\"data\": [", page(a, None)),
    );
    let e = oci::import(&broken, None).unwrap_err();
    assert_eq!(e.file, "network-private-ip-list.json");
    assert!(e.line.is_some() && e.message.starts_with("not JSON"), "{e}");
}

/// `oci network subnet list` prints a deleted subnet for a while. A subnet
/// recreated with the same CIDR then overlapped its terminated self: the
/// whole export was refused (exit 2), and the live subnet would have been
/// named `app-2`. Deleted and deleting objects are left out with a warning
/// naming them; a reserved private IP assigned to no VNIC is no "VNIC ``
/// not in the export" warning.
#[test]
fn deleted_objects_and_unassigned_ips_are_not_the_network() {
    let mut files = oke_export(2, 2);
    let mut subnets: Value = serde_json::from_str(&files["network-subnet-list.json"]).unwrap();
    let live = subnets["data"][1].clone();
    let mut old = live.clone();
    old["id"] = json!("ocid1.subnet.oc1.iad.oldpods");
    old["lifecycle-state"] = json!("TERMINATED");
    subnets["data"] = json!([subnets["data"][0].clone(), old, live]);
    files.insert("network-subnet-list.json".into(), subnets.to_string());
    files.insert(
        "zpr-zpr-policy-list.json".into(),
        file(
            &json!({ "items": [{ "id": "ocid1.zprpolicy.oc1.iad.p", "name": "going",
            "lifecycle-state": "DELETING",
            "statements": ["allow 'any' endpoints to connect to 'any' endpoints"] }] }),
        ),
    );
    let mut ips: Value = serde_json::from_str(&files["network-private-ip-list.json"]).unwrap();
    ips["data"].as_array_mut().unwrap().push(json!({
        "id": "ocid1.privateip.oc1.iad.reserved", "ip-address": "10.0.64.200",
        "vnic-id": null, "ip-state": "AVAILABLE", "lifetime": "RESERVED" }));
    files.insert("network-private-ip-list.json".into(), ips.to_string());

    let imported = oci::import(&files, None).unwrap();
    let s = load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
    let subnets: Vec<(&str, Option<&str>)> = s
        .subnets
        .iter()
        .map(|x| (x.name.as_str(), x.id.as_deref()))
        .collect();
    assert_eq!(
        subnets,
        [
            ("workers", Some("ocid1.subnet.oc1.iad.workers")),
            ("pods", Some("ocid1.subnet.oc1.iad.pods"))
        ]
    );
    assert!(s.zpr_policies.is_empty());
    assert_eq!(
        imported.warnings,
        [
            "`network-subnet-list.json`: subnet `pods` (`ocid1.subnet.oc1.iad.oldpods`) is TERMINATED; left out",
            "`zpr-zpr-policy-list.json`: zprpolicy `going` (`ocid1.zprpolicy.oc1.iad.p`) is DELETING; left out",
        ]
    );
}

/// An OKE `LoadBalancer` service's NSGs and security attributes are set on
/// the load balancer (`oci.oraclecloud.com/oci-network-security-groups`,
/// `oci.oraclecloud.com/security-attributes`); its VNIC (`VNIC for LB
/// <OCID>`) may show `"nsg-ids": []` and `"security-attributes": {}`.
/// The importer read only the VNIC: the load balancer lost its NSGs (its
/// allowed traffic judged dropped) and, worse, its attributes, so ZPR's
/// default deny no longer held for it (a wider scenario than the network). The balancers' own list outputs are
/// read now (joined by the OCID in the VNIC's name, else by address,
/// whatever the VNIC's name), and
/// a balancer VNIC without its balancer in the export is a warning.
#[test]
fn a_load_balancers_nsgs_and_attributes_reach_its_vnic() {
    let mut files = oke_export(1, 1);
    let vcn = "ocid1.vcn.oc1.iad.v1";
    let lb_subnet = "ocid1.subnet.oc1.iad.lb";
    let mut subnets: Value = serde_json::from_str(&files["network-subnet-list.json"]).unwrap();
    subnets["data"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": lb_subnet, "vcn-id": vcn,
        "display-name": "lb", "cidr-block": "10.0.0.0/24", "security-list-ids": [] }));
    files.insert("network-subnet-list.json".into(), subnets.to_string());
    files.insert(
        "network-nsg-list.json".into(),
        file(&json!([
            { "id": "ocid1.networksecuritygroup.oc1.iad.lbnsg", "vcn-id": vcn, "display-name": "lb-nsg" },
            { "id": "ocid1.networksecuritygroup.oc1.iad.nlbnsg", "vcn-id": vcn, "display-name": "nlb-nsg" },
        ])),
    );
    // Their rules files, empty (an NSG without one is a stand-in).
    for n in ["lbnsg", "nlbnsg"] {
        files.insert(
            format!("network-nsg-rules-list.ocid1.networksecuritygroup.oc1.iad.{n}.json"),
            file(&json!([])),
        );
    }
    let attrs = json!({ "oracle-zpr": { "app": { "mode": "enforce", "value": "orders-lb" } } });
    for (i, (display, ip)) in [
        ("VNIC for LB ocid1.loadbalancer.oc1.iad.lb1", "10.0.0.10"),
        ("ingress-nlb-vnic", "10.0.0.20"),
        ("VNIC for LB ocid1.loadbalancer.oc1.iad.gone", "10.0.0.30"),
    ]
    .into_iter()
    .enumerate()
    {
        files.insert(
            format!("network-vnic-get-lb{i}.json"),
            file(
                &json!({ "id": format!("ocid1.vnic.oc1.iad.lb{i}"), "subnet-id": lb_subnet,
                "display-name": display, "private-ip": ip, "nsg-ids": [],
                "security-attributes": {} }),
            ),
        );
    }
    // `oci lb load-balancer list`: a list; `oci nlb network-load-balancer
    // list`: a collection.
    files.insert(
        "lb-load-balancer-list.json".into(),
        file(
            &json!([{ "id": "ocid1.loadbalancer.oc1.iad.lb1", "display-name": "orders",
            "ip-addresses": [{ "ip-address": "129.80.1.1", "is-public": true }],
            "network-security-group-ids": ["ocid1.networksecuritygroup.oc1.iad.lbnsg"],
            "security-attributes": attrs, "subnet-ids": [lb_subnet] }]),
        ),
    );
    files.insert(
        "nlb-network-load-balancer-list.json".into(),
        file(&json!({ "items": [{ "id": "ocid1.networkloadbalancer.oc1.iad.nlb1",
            "display-name": "ingress", "subnet-id": lb_subnet,
            "ip-addresses": [{ "ip-address": "10.0.0.20", "is-public": false, "ip-version": "IPV4" }],
            "network-security-group-ids": ["ocid1.networksecuritygroup.oc1.iad.nlbnsg"] }] })),
    );

    let imported = oci::import(&files, None).unwrap();
    let s = load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
    let vnic = |ip: &str| {
        s.vnics
            .iter()
            .find(|v| v.private_ips.iter().any(|a| a.to_string() == ip))
            .unwrap()
    };
    let nsgs = |ip: &str| -> Vec<&str> {
        vnic(ip)
            .nsgs
            .iter()
            .map(|&n| s.nsgs[n.index()].name.as_str())
            .collect()
    };
    assert_eq!(nsgs("10.0.0.10"), ["lb-nsg"]);
    let lb_attrs: Vec<String> = vnic("10.0.0.10")
        .attributes
        .iter()
        .map(|a| {
            format!(
                "{}.{}:{}",
                a.attribute.namespace, a.attribute.key, a.attribute.value
            )
        })
        .collect();
    assert_eq!(lb_attrs, ["oracle-zpr.app:orders-lb"]);
    assert_eq!(nsgs("10.0.0.20"), ["nlb-nsg"]);
    assert_eq!(vnic("10.0.0.20").kind, "load-balancer");
    // Its VNIC says `{}`: none.
    assert!(vnic("10.0.0.20").attributes.is_empty());
    assert!(nsgs("10.0.0.30").is_empty());
    // The fixture's other VNICs give no `security-attributes` in an export
    // that uses ZPR: the stand-in attribute, a warning each (since the
    // nineteenth session).
    let warnings: Vec<&String> = imported
        .warnings
        .iter()
        .filter(|w| !w.contains("the export does not give its `security-attributes`"))
        // Nor any policy (a stand-in, since the twenty-first session).
        .filter(|w| !w.contains("the export holds no ZPR policy"))
        // Nor the `lb` subnet's private IPs, which the fixture does not
        // list: its VNICs are not all known (since the twenty-eighth
        // session).
        .filter(|w| {
            !w.starts_with(
                "subnet `lb` (`ocid1.subnet.oc1.iad.lb`): the export lists none of its private IPs",
            )
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", imported.warnings);
    assert!(
        warnings[0]
            .starts_with("1 load balancer VNIC(s) (`VNIC-for-LB-ocid1.loadbalancer.oc1.iad.gone`)"),
        "{:?}",
        imported.warnings
    );
}

/// Copies the OKE example (scenario, policies, expectations) and its demo
/// capture into a temporary directory.
fn oke_copy() -> tempfile::TempDir {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let ex = root.join("examples/oke-orders");
    for f in ["scenario.toml", "expect.toml"] {
        std::fs::copy(ex.join(f), dir.path().join(f)).unwrap();
    }
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    for e in std::fs::read_dir(ex.join("policies")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join("policies").join(e.file_name())).unwrap();
    }
    std::fs::copy(root.join("pcaps/oke-demo.pcap"), dir.path().join("in.pcap")).unwrap();
    dir
}

/// `zprsim replay s.toml in.pcap >> in.pcap`, `zprsim check s.toml >>
/// s.toml`: a script's log redirected onto an input. `--report - >>
/// in.pcap` was refused (docs/cli.md), but a command's own standard
/// output (the summary, `explain`'s and `verify`'s result, `check`'s
/// counts, `bench`'s table) was appended to the capture, scenario or
/// expectations, which then no longer read. Each is refused before
/// anything is written, naming the input; the input is unchanged.
#[test]
fn standard_output_appended_onto_an_input_is_refused() {
    let dir = oke_copy();
    let d = dir.path();
    let explain = [
        "explain",
        "scenario.toml",
        "--src",
        "10.0.10.11",
        "--dst",
        "10.0.30.10",
        "--proto",
        "tcp",
        "--dport",
        "2049",
    ];
    let cases: [(&[&str], &str, &str); 9] = [
        (
            &["replay", "scenario.toml", "in.pcap"],
            "in.pcap",
            "PCAP `in.pcap`",
        ),
        (
            &["diff", "scenario.toml", "scenario.toml", "in.pcap"],
            "in.pcap",
            "CAPTURE `in.pcap`",
        ),
        (
            &["check", "scenario.toml"],
            "scenario.toml",
            "SCENARIO `scenario.toml`",
        ),
        (
            &["check", "scenario.toml", "--json"],
            "scenario.toml",
            "SCENARIO `scenario.toml`",
        ),
        (
            &["dump-table", "scenario.toml"],
            "scenario.toml",
            "SCENARIO `scenario.toml`",
        ),
        (&explain, "scenario.toml", "SCENARIO `scenario.toml`"),
        (
            &[
                "explain",
                "scenario.toml",
                "--capture",
                "in.pcap",
                "--packet",
                "1",
                "--json",
            ],
            "in.pcap",
            "--capture `in.pcap`",
        ),
        (
            &["verify", "scenario.toml", "expect.toml"],
            "expect.toml",
            "EXPECT `expect.toml`",
        ),
        (
            &["bench", "scenario.toml", "--packets", "100"],
            "scenario.toml",
            "SCENARIO `scenario.toml`",
        ),
    ];
    for (args, target, named) in cases {
        let before = std::fs::read(d.join(target)).unwrap();
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(d.join(target))
            .unwrap();
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("zprsim"))
            .current_dir(d)
            .args(args)
            .stdout(log)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "error: standard output is the same file as {named}: an output must not overwrite an input"
            ),
            "{args:?}"
        );
        assert_eq!(std::fs::read(d.join(target)).unwrap(), before, "{args:?}");
    }
    // `--quiet` writes nothing there, and a log beside the inputs is fine.
    let log = std::fs::File::create(d.join("log.txt")).unwrap();
    let quiet = std::process::Command::new(assert_cmd::cargo::cargo_bin("zprsim"))
        .current_dir(d)
        .args(["replay", "scenario.toml", "in.pcap", "--quiet"])
        .stdout(
            std::fs::OpenOptions::new()
                .append(true)
                .open(d.join("in.pcap"))
                .unwrap(),
        )
        .output()
        .unwrap();
    assert_eq!(quiet.status.code(), Some(0));
    let ok = std::process::Command::new(assert_cmd::cargo::cargo_bin("zprsim"))
        .current_dir(d)
        .args(["check", "scenario.toml"])
        .stdout(log)
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert!(
        std::fs::read_to_string(d.join("log.txt"))
            .unwrap()
            .contains(": ok")
    );
}

/// A tenancy in Hyderabad, Melbourne or Jeddah with OCI's whole
/// `public_ip_ranges.json`: the service gateway's label
/// (`all-hyd-services-in-oracle-services-network`) got no CIDRs, since
/// the importer knew 24 region keys, and the warning blamed the file
/// ("has no CIDRs in the `--services` file") though it holds them. Every
/// traffic to Oracle services through the gateway then matched nothing.
/// The commercial regions' keys are known now, and a key that is not
/// says so.
#[test]
fn service_labels_of_every_commercial_region_get_their_cidrs() {
    let ranges = json!({ "regions": [
        { "region": "us-ashburn-1", "cidrs": [{ "cidr": "134.70.0.0/17", "tags": ["OCI", "OSN"] }] },
        { "region": "ap-hyderabad-1", "cidrs": [
            { "cidr": "134.70.80.0/22", "tags": ["OCI", "OSN", "OBJECT_STORAGE"] },
            { "cidr": "192.29.0.0/20", "tags": ["OCI"] } ] },
        { "region": "me-jeddah-1", "cidrs": [{ "cidr": "134.70.100.0/22", "tags": ["OSN"] }] },
    ] })
    .to_string();
    let mut files = oke_export(1, 1);
    files.insert(
        "network-service-list.json".into(),
        file(&json!([
            { "id": "ocid1.service.oc1.ap-hyderabad-1.osn", "cidr-block": "all-hyd-services-in-oracle-services-network" },
            { "id": "ocid1.service.oc1.ap-hyderabad-1.os", "cidr-block": "oci-hyd-objectstorage" },
            { "id": "ocid1.service.oc1.me-jeddah-1.osn", "cidr-block": "all-jed-services-in-oracle-services-network" },
            { "id": "ocid1.service.oc1.xx-nowhere-1.osn", "cidr-block": "all-zzz-services-in-oracle-services-network" },
        ])),
    );
    let imported = oci::import(&files, Some(&ranges)).unwrap();
    let s = load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
    let cidrs = |label: &str| -> Vec<String> {
        s.services
            .iter()
            .find(|l| l.name == label)
            .unwrap()
            .cidrs
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        cidrs("all-hyd-services-in-oracle-services-network"),
        ["134.70.80.0/22"]
    );
    assert_eq!(cidrs("oci-hyd-objectstorage"), ["134.70.80.0/22"]);
    assert_eq!(
        cidrs("all-jed-services-in-oracle-services-network"),
        ["134.70.100.0/22"]
    );
    assert_eq!(
        imported.warnings,
        [
            "service label `all-zzz-services-in-oracle-services-network` has no CIDRs: its region key `zzz` is not one zprsim knows; give `--services` the ranges of that region alone, or an object of label to CIDRs"
        ]
    );
}

/// A tenancy export over several compartments where dev and prod both use
/// the console wizard's `10.0.0.0/16`: a scenario holds VCNs of distinct
/// addresses, so the import was refused with the loader's overlap error
/// and no way out short of editing the export. `--vcn` imports one VCN
/// (by display name or OCID) and what is in it, named as if alone; the
/// overlap error says so; a `--vcn` naming nothing is bad input.
#[test]
fn overlapping_vcns_import_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = |name: &str, v: Value| {
        std::fs::write(d.join(name), file(&v)).unwrap();
    };
    data(
        "network-vcn-list.json",
        json!([
            { "id": "ocid1.vcn.oc1.iad.dev", "display-name": "dev", "cidr-blocks": ["10.0.0.0/16"] },
            { "id": "ocid1.vcn.oc1.iad.prod", "display-name": "prod", "cidr-blocks": ["10.0.0.0/16"] },
        ]),
    );
    data(
        "network-subnet-list.json",
        json!([
            { "id": "ocid1.subnet.oc1.iad.dev", "vcn-id": "ocid1.vcn.oc1.iad.dev", "display-name": "app", "cidr-block": "10.0.1.0/24", "security-list-ids": [] },
            { "id": "ocid1.subnet.oc1.iad.prod", "vcn-id": "ocid1.vcn.oc1.iad.prod", "display-name": "app", "cidr-block": "10.0.1.0/24", "security-list-ids": [] },
        ]),
    );
    data(
        "network-private-ip-list.json",
        json!([
            { "id": "ocid1.privateip.oc1.iad.d", "ip-address": "10.0.1.5", "vnic-id": "ocid1.vnic.oc1.iad.dev" },
            { "id": "ocid1.privateip.oc1.iad.p", "ip-address": "10.0.1.5", "vnic-id": "ocid1.vnic.oc1.iad.prod" },
        ]),
    );
    for env in ["dev", "prod"] {
        data(
            &format!("network-vnic-get-{env}.json"),
            json!({ "id": format!("ocid1.vnic.oc1.iad.{env}"), "display-name": format!("{env}-vm"),
                "subnet-id": format!("ocid1.subnet.oc1.iad.{env}"), "private-ip": "10.0.1.5", "nsg-ids": [] }),
        );
    }
    let run = |extra: &[&str]| {
        let mut args = vec!["import", "oci", d.to_str().unwrap(), "-o", "out.toml"];
        args.extend_from_slice(extra);
        crate::support::run_in(d, args)
    };
    let all = run(&[]);
    assert_eq!(all.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&all.stderr).contains("import one at a time with `--vcn NAME`"),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    assert!(!d.join("out.toml").exists());

    let prod = run(&["--vcn", "prod"]);
    assert_eq!(
        prod.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&prod.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&prod.stderr),
        "warning: --vcn: 4 object(s) of the other VCNs left out\n"
    );
    let s = load::from_toml_str(
        &std::fs::read_to_string(d.join("out.toml")).unwrap(),
        "out.toml",
    )
    .unwrap()
    .scenario;
    let vcns: Vec<Option<&str>> = s.vcns.iter().map(|v| v.id.as_deref()).collect();
    assert_eq!(vcns, [Some("ocid1.vcn.oc1.iad.prod")]);
    assert_eq!(s.subnets[0].name, "app");
    let vnics: Vec<Option<&str>> = s.vnics.iter().map(|v| v.id.as_deref()).collect();
    assert_eq!(vnics, [Some("ocid1.vnic.oc1.iad.prod")]);

    let dev = run(&["--vcn", "ocid1.vcn.oc1.iad.dev"]);
    assert_eq!(dev.status.code(), Some(0));
    let none = run(&["--vcn", "staging"]);
    assert_eq!(none.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&none.stderr),
        "error: --vcn: no VCN in the export has the display name or OCID `staging`\n"
    );
}

/// The importer keeps one copy of each object (it cloned every object to
/// compare later copies: 453 MB for a 69 MB export of 9,030 VNICs, 319 MB
/// now): later copies are still compared and merged, for objects kept in
/// a list (a VNIC from `list-vnics` then `vnic get`) and for kinds kept in
/// none (a VNIC attachment listed twice).
#[test]
fn repeated_objects_are_compared_with_the_one_kept_copy() {
    let mut files = oke_export(1, 1);
    // `list-vnics` (older: no attributes) after `vnic get` (with them).
    let node: Value = serde_json::from_str(&files["network-vnic-get-0.json"]).unwrap();
    let mut with = node["data"].clone();
    with["security-attributes"] = json!({ "oracle-zpr": { "app": { "value": "oke-node" } } });
    files.insert("network-vnic-get-0.json".into(), file(&with));
    files.insert(
        "compute-instance-list-vnics-0.json".into(),
        file(&json!([node["data"]])),
    );
    let attachment = json!({ "id": "ocid1.vnicattachment.oc1.iad.a", "vnic-id": "x", "lifecycle-state": "ATTACHED" });
    let mut moved = attachment.clone();
    moved["vnic-id"] = json!("y");
    files.insert(
        "compute-vnic-attachment-list.json".into(),
        file(&json!([attachment, moved])),
    );
    let imported = oci::import(&files, None).unwrap();
    // The other VNICs, whose attributes this export does not give, in an
    // export that now uses ZPR, get the stand-in attribute with a warning
    // each (since the nineteenth session).
    let warnings: Vec<&String> = imported
        .warnings
        .iter()
        .filter(|w| !w.contains("the export does not give its `security-attributes`"))
        // Nor any policy (a stand-in, since the twenty-first session).
        .filter(|w| !w.contains("the export holds no ZPR policy"))
        // The attached VNIC `x`, which nothing else names, and of no
        // subnet: every subnet's VNICs are not all known (since the
        // twenty-ninth session).
        .filter(|w| {
            !w.contains("VNIC `x` is attached to an instance (VNIC attachment `ocid1.vnicattachment.oc1.iad.a`)")
        })
        .collect();
    assert_eq!(
        warnings,
        [
            "`compute-vnic-attachment-list.json`: OCID `ocid1.vnicattachment.oc1.iad.a` appears again with another `vnic-id`; the first, from `compute-vnic-attachment-list.json`, is kept"
        ]
    );
    let s = load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap()
        .scenario;
    let node = s.vnics.iter().find(|v| v.name == "node-0").unwrap();
    assert_eq!(node.attributes.len(), 1);
}

/// An export made per compartment, one folder each (`prod/`, `dev/`),
/// every folder with its own `network-vcn-list.json`: the subfolders were
/// not read and the import ended with exit 0, no warning, and none of
/// their objects. They are read now, by their path under DIR (two files
/// of one name both count; NSG rules still find their NSG by the file's
/// own name), hidden folders and symlinked folders (a loop) excepted.
#[test]
fn an_export_in_one_folder_per_compartment_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let vcn = "ocid1.vcn.oc1.iad.v1";
    let nsg = "ocid1.networksecuritygroup.oc1.iad.n1";
    let put = |path: &str, v: Value| {
        let p = d.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, file(&v)).unwrap();
    };
    put(
        "network/network-vcn-list.json",
        json!([{ "id": vcn, "display-name": "v", "cidr-blocks": ["10.0.0.0/16"], "security-attributes": {} }]),
    );
    put(
        "prod/network-subnet-list.json",
        json!([{ "id": "ocid1.subnet.oc1.iad.p", "vcn-id": vcn, "display-name": "prod", "cidr-block": "10.0.1.0/24", "security-list-ids": [] }]),
    );
    put(
        "dev/network-subnet-list.json",
        json!([{ "id": "ocid1.subnet.oc1.iad.d", "vcn-id": vcn, "display-name": "dev", "cidr-block": "10.0.2.0/24", "security-list-ids": [] }]),
    );
    put(
        "prod/nsgs/network-nsg-list.json",
        json!([{ "id": nsg, "vcn-id": vcn, "display-name": "web" }]),
    );
    put(
        &format!("prod/nsgs/network-nsg-rules-list.{nsg}.json"),
        json!([{ "direction": "INGRESS", "protocol": "6", "source": "10.0.0.0/16", "source-type": "CIDR_BLOCK" }]),
    );
    // Skipped: a hidden folder (an editor's, a sync tool's) and a loop.
    put(
        ".trash/network-subnet-list.json",
        json!([{ "id": "ocid1.subnet.oc1.iad.x", "vcn-id": vcn, "display-name": "x", "cidr-block": "10.0.1.0/24", "security-list-ids": [] }]),
    );
    std::os::unix::fs::symlink(d, d.join("prod/loop")).unwrap();
    let out = crate::support::run_in(d, ["import", "oci", ".", "-o", "out.toml"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = load::from_toml_str(
        &std::fs::read_to_string(d.join("out.toml")).unwrap(),
        "out.toml",
    )
    .unwrap()
    .scenario;
    let subnets: Vec<&str> = s.subnets.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(subnets, ["dev", "prod"]);
    assert_eq!(s.nsgs.len(), 1);
    assert_eq!(s.nsgs[0].rules.len(), 1);
}

/// NSG rules have no OCID, only an `id` within their NSG: two copies of
/// one rules file (two snapshots of an export under DIR, now that
/// subfolders are read, or a file appended twice) gave every rule twice,
/// so the console's rule `#3` became `#43` as well and the NSG looked over
/// OCI's 120-rule limit. A rule another file already gave (same NSG,
/// `id` and fields) is taken once; one `id` with other fields is a
/// warning, the first kept. (Within one file every rule counts.)
#[test]
fn an_nsg_rule_given_twice_is_taken_once() {
    let mut files = oke_export(1, 1);
    let vcn = "ocid1.vcn.oc1.iad.v1";
    let nsg = "ocid1.networksecuritygroup.oc1.iad.n1";
    files.insert(
        "network-nsg-list.json".into(),
        file(&json!([{ "id": nsg, "vcn-id": vcn, "display-name": "web" }])),
    );
    let rule = |id: &str, port: u16| {
        json!({ "id": id, "direction": "INGRESS", "protocol": "6", "source": "10.0.0.0/16",
            "source-type": "CIDR_BLOCK",
            "tcp-options": { "destination-port-range": { "min": port, "max": port } } })
    };
    let rules = json!([rule("A1B2C3", 443), rule("D4E5F6", 8080)]);
    files.insert(
        format!("day1/network-nsg-rules-list.{nsg}.json"),
        file(&rules),
    );
    files.insert(
        format!("day2/network-nsg-rules-list.{nsg}.json"),
        file(&rules),
    );
    let imported = oci::import(&files, None).unwrap();
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
    let s = load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap()
        .scenario;
    assert_eq!(s.nsgs[0].rules.len(), 2);

    files.insert(
        format!("day2/network-nsg-rules-list.{nsg}.json"),
        file(&json!([rule("A1B2C3", 22), rule("D4E5F6", 8080)])),
    );
    let imported = oci::import(&files, None).unwrap();
    assert_eq!(
        imported.warnings,
        [format!(
            "`day2/network-nsg-rules-list.{nsg}.json`: NSG `{nsg}` rule `A1B2C3` appears again with other fields; the first, from `day1/network-nsg-rules-list.{nsg}.json`, is kept"
        )]
    );
    let s = load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap()
        .scenario;
    assert_eq!(s.nsgs[0].rules.len(), 2);
}

/// The nightly loop: re-import the tenancy, `diff` yesterday's scenario
/// against today's on a capture, `--fail-on reason-changed`. Someone
/// added an (empty) NSG with the same display name as the load
/// balancer's: the import names it `lb-nsg` and the old one `lb-nsg-2`.
/// Nothing changed for any flow, but 13 of the demo's 32 flows were
/// "reason changed" (their NSG, or the NSG a rule names as peer, had
/// another name) and the gate failed. Rules are compared by their
/// containers' ids (OCIDs) when the scenarios have them; a real change
/// (the load balancer's rule to the pods moved to another port) is still
/// one.
#[test]
fn a_reimport_that_renames_an_nsg_changes_no_reason() {
    let services = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/oke-orders/oci-public-ip-ranges.json"),
    )
    .unwrap();
    let before = crate::support::oke_export();
    let mut after = before.clone();
    let mut nsgs: Value = serde_json::from_str(&after["network-nsg-list.json"]).unwrap();
    let lb = nsgs["data"][0].clone();
    assert_eq!(lb["display-name"], "lb-nsg");
    let mut twin = lb.clone();
    twin["id"] = json!("ocid1.networksecuritygroup.oc1.iad.aaanew");
    nsgs["data"].as_array_mut().unwrap().insert(0, twin);
    after.insert("network-nsg-list.json".into(), nsgs.to_string());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, files) in [("before.toml", &before), ("after.toml", &after)] {
        let imported = oci::import(files, Some(&services)).unwrap();
        std::fs::write(d.join(name), imported.toml).unwrap();
    }
    let after_toml = std::fs::read_to_string(d.join("after.toml")).unwrap();
    assert!(after_toml.contains("name = \"lb-nsg-2\""));
    let capture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps/oke-demo.pcap");
    let diff = |after: &str, input: &std::path::Path| {
        let out = crate::support::run_in(
            d,
            [
                "diff",
                "before.toml",
                after,
                input.to_str().unwrap(),
                "--quiet",
                "--fail-on",
                "reason-changed",
                "--report",
                "-",
            ],
        );
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let n = |k: &str| r["flows"][k].as_u64().unwrap();
        (out.status.code(), n("reason_changed"), n("would_break"))
    };
    assert_eq!(diff("after.toml", &capture), (Some(0), 0, 0));
    // The same on the OKE flow logs (the flow-log diff keyed rules by
    // name and position: 3 of its 31 flows).
    let flow_log = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    assert_eq!(diff("after.toml", &flow_log), (Some(0), 0, 0));
    // A real change: the load balancer's egress to the pods' 8080 moved.
    let moved = after_toml.replacen("max = 8080, min = 8080", "max = 8081, min = 8081", 1);
    assert_ne!(moved, after_toml);
    std::fs::write(d.join("moved.toml"), moved).unwrap();
    let (_, changed, broken) = diff("moved.toml", &capture);
    assert!(changed + broken > 0, "{changed} {broken}");
}

/// OKE pods on prefix delegation: the node's pod VNIC holds a /28
/// (`oci network private-ip list` shows `ip-address` 10.0.64.16 with
/// `cidr-prefix-length` 28), and its pods use every address of it. Only
/// the first address was imported: the others were no VNIC's, so a pod's
/// egress rules and ZPR's egress check at its VNIC were skipped (a wider
/// scenario than the network). Every address of an IPv4 prefix of at most
/// 256 is imported now; a wider or IPv6 prefix is a warning.
#[test]
fn a_delegated_prefix_gives_the_vnic_every_address_of_it() {
    let mut files = oke_export(1, 1);
    let mut ips: Value = serde_json::from_str(&files["network-private-ip-list.json"]).unwrap();
    let list = ips["data"].as_array_mut().unwrap();
    list.push(
        json!({ "id": "ocid1.privateip.oc1.iad.prefix", "ip-address": "10.0.64.16",
        "cidr-prefix-length": 28, "vnic-id": "ocid1.vnic.oc1.iad.pods0" }),
    );
    list.push(
        json!({ "id": "ocid1.privateip.oc1.iad.wide", "ip-address": "10.0.96.0",
        "cidr-prefix-length": 20, "vnic-id": "ocid1.vnic.oc1.iad.pods0" }),
    );
    files.insert("network-private-ip-list.json".into(), ips.to_string());
    let imported = oci::import(&files, None).unwrap();
    assert_eq!(
        imported.warnings,
        [
            "private IP `10.0.96.0` (`ocid1.privateip.oc1.iad.wide`) of VNIC `ocid1.vnic.oc1.iad.pods0`: a prefix of /20 holds more than 256 addresses; only `10.0.96.0` is imported, and the prefix's other addresses are judged as no VNIC's"
        ]
    );
    let s = load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap()
        .scenario;
    let pods = s.vnics.iter().find(|v| v.name == "vnic-pods0").unwrap();
    let got: Vec<String> = pods.private_ips.iter().map(ToString::to_string).collect();
    let mut want = vec![pod_ip(0, 0, 1)];
    want.extend((16..32).map(|i| format!("10.0.64.{i}")));
    want.push("10.0.96.0".into());
    assert_eq!(got, want);
}

/// A pod subnet grown with a second IPv4 block (`oci network subnet
/// add-ipv4-subnet-cidr`: the subnet lists both in `ipv4-cidr-blocks`,
/// the primary `cidr-block` among them). Before, the importer kept only
/// `cidr-block`, so the import of every such tenancy failed to load:
/// "address `10.0.128.2` is outside subnet `pods`".
#[test]
fn a_subnet_with_a_second_ipv4_block_imports_with_its_pods_in_either() {
    let mut files = oke_export(2, 1);
    files.insert(
        "network-subnet-list.json".into(),
        file(&json!([
            { "id": "ocid1.subnet.oc1.iad.workers", "vcn-id": "ocid1.vcn.oc1.iad.v1", "display-name": "workers",
              "cidr-block": "10.0.8.0/21", "security-list-ids": [] },
            { "id": "ocid1.subnet.oc1.iad.pods", "vcn-id": "ocid1.vcn.oc1.iad.v1", "display-name": "pods",
              "cidr-block": "10.0.64.0/18", "ipv4-cidr-blocks": ["10.0.64.0/18", "10.0.128.0/20"],
              "security-list-ids": [] },
        ])),
    );
    // One more pod of node 0, in the second block.
    let list: Value = serde_json::from_str(&files["network-private-ip-list.json"]).unwrap();
    let mut ips = list["data"].as_array().unwrap().clone();
    ips.push(
        json!({ "id": "ocid1.privateip.oc1.iad.extra", "ip-address": "10.0.128.2",
        "vnic-id": "ocid1.vnic.oc1.iad.pods0", "is-primary": false }),
    );
    files.insert(
        "network-private-ip-list.json".into(),
        file(&Value::Array(ips)),
    );
    let imported = oci::import(&files, None).unwrap();
    assert!(
        imported
            .toml
            .contains(r#"ipv4_cidr_blocks = ["10.0.128.0/20"]"#),
        "{}",
        imported.toml
    );
    let ips = imported_ips(&files);
    let pods0 = ips.values().find(|v| v.contains(&"10.0.128.2".to_owned()));
    assert!(pods0.is_some_and(|v| v.len() == 2), "{ips:?}");
}

/// A dual-stack VCN on brought IPv6 addresses (BYOIPv6): its prefix is
/// in `byoipv6-cidr-blocks`, its subnets' /64s inside it. Before, the
/// importer read only `ipv6-cidr-blocks` and `ipv6-private-cidr-blocks`,
/// so the subnet's block was "outside the cidr blocks of vcn" and the
/// import failed to load.
#[test]
fn a_vcn_on_byoipv6_imports_with_its_ipv6_subnets() {
    let mut files = oke_export(1, 1);
    files.insert(
        "network-vcn-list.json".into(),
        file(&json!([{ "id": "ocid1.vcn.oc1.iad.v1", "display-name": "oke-vcn",
            "cidr-blocks": ["10.0.0.0/16"], "security-attributes": {}, "byoipv6-cidr-blocks": ["2001:db8:100::/48"],
            "default-route-table-id": "ocid1.routetable.oc1.iad.rt1", "lifecycle-state": "AVAILABLE" }])),
    );
    files.insert(
        "network-subnet-list.json".into(),
        file(&json!([
            { "id": "ocid1.subnet.oc1.iad.workers", "vcn-id": "ocid1.vcn.oc1.iad.v1", "display-name": "workers",
              "cidr-block": "10.0.8.0/21", "ipv6-cidr-blocks": ["2001:db8:100:8::/64"], "security-list-ids": [] },
            { "id": "ocid1.subnet.oc1.iad.pods", "vcn-id": "ocid1.vcn.oc1.iad.v1", "display-name": "pods",
              "cidr-block": "10.0.64.0/18", "security-list-ids": [] },
        ])),
    );
    let imported = oci::import(&files, None).unwrap();
    let s = load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", imported.toml))
        .scenario;
    assert!(
        s.vcns[0]
            .cidr_blocks
            .contains(&"2001:db8:100::/48".parse().unwrap())
    );
}

/// The journey of docs/benchmarks.md on a small cluster: `zprsim-gen oke
/// --nodes N --pods P -o DIR` (`zprsim_bench::oke`), then `zprsim verify
/// DIR/scenario.toml DIR/expect.toml`, on the scenario and on its export
/// (`zprsim-gen export`, `zprsim_bench::oci_export`) imported back with
/// `zprsim import oci`. With fewer than ten pod VNICs (fewer than 280 pod
/// IPs) no VNIC ran billing, so the generated expectations failed on their
/// own scenario ("`attr:app.workload:billing` matches no endpoint", exit
/// 1); with 31 pods or fewer only one workload can run, and with one node
/// no node-to-node path has a pair: the generator now refuses both.
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]
fn a_small_generated_oke_cluster_passes_its_own_expectations() {
    let dir = tempfile::tempdir().unwrap();
    for (nodes, pods) in [(12, 120), (3, 40), (20, 279), (2, 32)] {
        let out = dir.path().join(format!("oke-{nodes}-{pods}"));
        std::fs::create_dir_all(out.join("policies")).unwrap();
        let text = zprsim_bench::oke::scenario(nodes, pods).unwrap();
        std::fs::write(out.join("scenario.toml"), &text).unwrap();
        std::fs::write(out.join("policies/orders.zpl"), zprsim_bench::oke::POLICY).unwrap();
        std::fs::write(out.join("expect.toml"), zprsim_bench::oke::EXPECT).unwrap();
        let loaded = zprsim_dataplane::scenario_file::load_path(&out.join("scenario.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let (files, services) = zprsim_bench::oci_export::export(&loaded.scenario);
        let exp = dir.path().join(format!("exp-{nodes}-{pods}"));
        std::fs::create_dir_all(&exp).unwrap();
        for (name, body) in &files {
            std::fs::write(exp.join(name), body).unwrap();
        }
        let ranges = dir.path().join(format!("exp-{nodes}-{pods}.services.json"));
        std::fs::write(&ranges, services).unwrap();
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .args(["import", "oci"])
            .arg(&exp)
            .arg("--services")
            .arg(&ranges)
            .arg("-o")
            .arg(out.join("imported.toml"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for s in ["scenario.toml", "imported.toml"] {
            let o = Command::cargo_bin("zprsim")
                .unwrap()
                .current_dir(&out)
                .args(["verify", s, "expect.toml"])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&o.stdout);
            assert_eq!(
                o.status.code(),
                Some(0),
                "{nodes} nodes, {pods} pods, {s}:\n{text}{}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(text.contains("36 path(s): 36 ok, 0 failed"), "{text}");
        }
    }
    for (nodes, pods) in [(1, 100), (3, 31)] {
        let e = zprsim_bench::oke::scenario(nodes, pods).unwrap_err();
        assert!(e.contains("at least 2 nodes and 32 pods"), "{e}");
    }
}
