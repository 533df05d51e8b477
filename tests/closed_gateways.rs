//! Gateways and next hops that carry nothing in OCI (disabled, blocking, unpeered, a checking
//! appliance, an internet gateway for a private subnet): imported, loaded, exported and
//! judged closed.

use zprsim_control::agree::judge_both;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::packet::Packet;
use zprsim_control::verdict::{Context, Outcome, Stage, Tracking, Verdict};

use crate::support::{ip, oke_export, run_in};

/// The OKE export with `key` set to `value` on the one gateway of `file`.
fn export_with(file: &str, key: &str, value: serde_json::Value) -> zprsim_control::import::Files {
    let mut f = oke_export();
    let mut v: serde_json::Value = serde_json::from_str(&f[file]).unwrap();
    v["data"][0][key] = value;
    f.insert(file.into(), v.to_string());
    f
}

/// The route layer's outcome and the judgement of `p` (both engines agree)
/// in the scenario imported from `files`.
fn route_of(
    files: &zprsim_control::import::Files,
    p: &Packet,
    ctx: Context,
) -> (Outcome, Verdict, Option<Stage>) {
    let out = zprsim_control::import::oci::import(files, None).unwrap();
    let s = zprsim_control::load::from_toml_str(&out.toml, "i.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", out.toml))
        .scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let d = judge_both(&s, &c, p, ctx).unwrap();
    (d.layers[0].outcome, d.judgement.verdict, d.judgement.stage)
}

const REPLY: Context = Context::Reply(Tracking {
    at_src: true,
    at_dst: true,
    zpr: true,
    zpr_audit: true,
});

/// A disabled internet gateway (`is-enabled: false`) and a NAT gateway that
/// blocks traffic (`block-traffic: true`) drop every packet in OCI. The
/// import read neither, so the imported scenario forwarded through them:
/// it allowed what the network drops.
///
/// Found by the eleventh session's review.
#[test]
fn import_keeps_a_disabled_or_blocking_gateway_closed() {
    // The internet reaches the public load balancer through `igw`.
    let inbound = Packet::tcp(ip("203.0.113.50"), 60001, ip("10.0.1.10"), 443);
    // A pod reaches the internet through `natgw`, and the reply comes back.
    let outbound = Packet::tcp(ip("10.0.10.11"), 41000, ip("93.184.216.34"), 443);
    let cases = [
        (
            "network-internet-gateway-list.json",
            "is-enabled",
            inbound,
            Context::First,
        ),
        (
            "network-internet-gateway-list.json",
            "is-enabled",
            inbound.reversed(),
            REPLY,
        ),
        (
            "network-nat-gateway-list.json",
            "block-traffic",
            outbound,
            Context::First,
        ),
        (
            "network-nat-gateway-list.json",
            "block-traffic",
            outbound.reversed(),
            REPLY,
        ),
    ];
    for (file, key, p, ctx) in cases {
        let open_value = serde_json::json!(key == "is-enabled");
        let open = route_of(&export_with(file, key, open_value.clone()), &p, ctx);
        assert_eq!(
            open.0,
            Outcome::Forwarded,
            "{file} {key}={open_value}: {p} {ctx:?}"
        );
        let mut absent = oke_export();
        let mut v: serde_json::Value = serde_json::from_str(&absent[file]).unwrap();
        v["data"][0].as_object_mut().unwrap().remove(key);
        absent.insert(file.into(), v.to_string());
        assert_eq!(
            route_of(&absent, &p, ctx),
            open,
            "{file}: the key's absence"
        );
        let closed_value = serde_json::json!(key != "is-enabled");
        let closed = route_of(&export_with(file, key, closed_value.clone()), &p, ctx);
        assert_eq!(
            closed,
            (Outcome::NoRoute, Verdict::Drop, Some(Stage::Route)),
            "{file} {key}={closed_value}: {p} {ctx:?}"
        );
    }
    // A value that is not a boolean is read as blocking, with a warning.
    // (The key as the CLI writes it: the committed export has it since
    // the sixteenth session, and the CLI's key is read before the REST
    // API's `blockTraffic`.)
    let f = export_with(
        "network-nat-gateway-list.json",
        "block-traffic",
        serde_json::json!("yes"),
    );
    let out = zprsim_control::import::oci::import(&f, None).unwrap();
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("`block-traffic` is not a boolean")),
        "{:?}",
        out.warnings
    );
    assert_eq!(
        route_of(&f, &outbound, Context::First).2,
        Some(Stage::Route)
    );
}

/// A scenario says so with the fields OCI names; a field of the wrong kind
/// of gateway is a load error at the field.
///
/// Found by the eleventh session's review.
#[test]
fn scenario_gateway_switches_load_and_are_checked() {
    let base = "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n\n\
                [[gateway]]\nname = \"igw\"\nvcn = \"v\"\nkind = \"internet\"\n\n\
                [[gateway]]\nname = \"natgw\"\nvcn = \"v\"\nkind = \"nat\"\n";
    let with = |from: &str, to: &str| {
        assert!(base.contains(from));
        base.replacen(from, to, 1)
    };
    let igw = "name = \"igw\"\nvcn = \"v\"\nkind = \"internet\"\n";
    let nat = "name = \"natgw\"\nvcn = \"v\"\nkind = \"nat\"\n";
    let load =
        |text: &str| zprsim_control::load::from_toml_str(text, "s.toml").map_err(|e| e.to_string());
    let blocked = |text: &str, name: &str| {
        load(text)
            .unwrap()
            .scenario
            .gateways
            .iter()
            .find(|g| g.name == name)
            .unwrap()
            .blocked
    };
    assert!(!blocked(base, "igw"));
    assert!(blocked(
        &with(igw, &format!("{igw}is_enabled = false\n")),
        "igw"
    ));
    assert!(!blocked(
        &with(igw, &format!("{igw}is_enabled = true\n")),
        "igw"
    ));
    assert!(blocked(
        &with(nat, &format!("{nat}block_traffic = true\n")),
        "natgw"
    ));
    assert!(!blocked(
        &with(nat, &format!("{nat}block_traffic = false\n")),
        "natgw"
    ));
    let e = load(&with(nat, &format!("{nat}is_enabled = false\n"))).unwrap_err();
    assert!(
        e.contains("`is_enabled` is a field of `internet` gateways, not of a `nat` gateway")
            && e.contains("s.toml:"),
        "{e}"
    );
    let e = load(&with(igw, &format!("{igw}block_traffic = true\n"))).unwrap_err();
    assert!(
        e.contains("`block_traffic` is a field of `nat` and `service` gateways"),
        "{e}"
    );
}

/// A local peering gateway whose `peering-status` is not `PEERED` (a new
/// LPG, a revoked or pending peering) carries nothing, but was imported as
/// a peering that forwards to the other VCN.
///
/// Found by the eleventh session's review.
#[test]
fn import_keeps_an_unpeered_local_peering_gateway_closed() {
    let vcn = "ocid1.vcn.oc1.iad.a";
    let lpg = "ocid1.localpeeringgateway.oc1.iad.l";
    let export = |status: serde_json::Value| -> zprsim_control::import::Files {
        let data = |v: serde_json::Value| serde_json::json!({ "data": v }).to_string();
        let mut f = zprsim_control::import::Files::new();
        f.insert(
            "vcn.json".into(),
            data(serde_json::json!([{"id": vcn, "display-name": "a", "cidr-blocks": ["10.0.0.0/16"]}])),
        );
        f.insert(
            "subnet.json".into(),
            data(serde_json::json!([{"id": "ocid1.subnet.oc1.iad.s", "vcn-id": vcn, "display-name": "s",
                "cidr-block": "10.0.1.0/24", "route-table-id": "ocid1.routetable.oc1.iad.r"}])),
        );
        f.insert(
            "rt.json".into(),
            data(serde_json::json!([{"id": "ocid1.routetable.oc1.iad.r", "vcn-id": vcn, "display-name": "r",
                "route-rules": [{"destination": "10.1.0.0/16", "network-entity-id": lpg}]}])),
        );
        let mut g = serde_json::json!({"id": lpg, "vcn-id": vcn, "display-name": "to-b"});
        if !status.is_null() {
            g["peering-status"] = status;
        }
        f.insert("lpg.json".into(), data(serde_json::json!([g])));
        f.insert(
            "vnic.json".into(),
            data(serde_json::json!([{"id": "ocid1.vnic.oc1.iad.v", "subnet-id": "ocid1.subnet.oc1.iad.s",
                "display-name": "v", "private-ip": "10.0.1.5"}])),
        );
        f
    };
    let out = Packet::tcp(ip("10.0.1.5"), 40000, ip("10.1.2.3"), 22);
    let inbound = out.reversed();
    for (status, open) in [
        (serde_json::Value::Null, true),
        (serde_json::json!("PEERED"), true),
        (serde_json::json!("NEW"), false),
        (serde_json::json!("pending"), false),
        (serde_json::json!("REVOKED"), false),
        (serde_json::json!(7), false),
    ] {
        for (p, ctx) in [
            (out, Context::First),
            (inbound, Context::First),
            (inbound, REPLY),
        ] {
            let got = route_of(&export(status.clone()), &p, ctx);
            if open {
                assert_eq!(got.0, Outcome::Forwarded, "{status}: {p} {ctx:?}");
            } else {
                assert_eq!(
                    got,
                    (Outcome::NoRoute, Verdict::Drop, Some(Stage::Route)),
                    "{status}: {p} {ctx:?}"
                );
            }
        }
    }
}

/// `peering_status` loads on a local peering gateway only, with OCI's
/// values (any case); anything but `PEERED` blocks it.
///
/// Found by the eleventh session's review.
#[test]
fn scenario_peering_status_loads_and_is_checked() {
    let with = |extra: &str, kind: &str| {
        format!(
            "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n\n[[gateway]]\nname = \"g\"\nvcn = \"v\"\nkind = \"{kind}\"\n{extra}"
        )
    };
    let load = |text: &str| {
        zprsim_control::load::from_toml_str(text, "s.toml")
            .map(|l| l.scenario.gateways[0].blocked)
            .map_err(|e| e.to_string())
    };
    assert_eq!(load(&with("", "lpg")), Ok(false));
    assert_eq!(
        load(&with("peering_status = \"peered\"\n", "lpg")),
        Ok(false)
    );
    assert_eq!(load(&with("peering_status = \"NEW\"\n", "lpg")), Ok(true));
    assert_eq!(
        load(&with("peering_status = \"REVOKED\"\n", "lpg")),
        Ok(true)
    );
    let e = load(&with("peering_status = \"UP\"\n", "lpg")).unwrap_err();
    assert!(
        e.contains("`UP` is not `PEERED`, `NEW`, `PENDING`, `REVOKED` or `INVALID`"),
        "{e}"
    );
    let e = load(&with("peering_status = \"PEERED\"\n", "drg")).unwrap_err();
    assert!(
        e.contains("`peering_status` is a field of `lpg` gateways, not of a `drg` gateway"),
        "{e}"
    );
}

/// A route rule to a private IP (a firewall appliance) blackholes in OCI
/// while that VNIC checks source and destination (`skip-source-dest-check`
/// false, OCI's default); the import read no such key, so the imported
/// scenario forwarded through the appliance.
///
/// Found by the eleventh session's review.
#[test]
fn import_keeps_a_route_through_a_checking_appliance_closed() {
    let vcn = "ocid1.vcn.oc1.iad.a";
    let sn = "ocid1.subnet.oc1.iad.s";
    let export = |skip: serde_json::Value| -> zprsim_control::import::Files {
        let data = |v: serde_json::Value| serde_json::json!({ "data": v }).to_string();
        let mut f = zprsim_control::import::Files::new();
        f.insert(
            "vcn.json".into(),
            data(serde_json::json!([{"id": vcn, "display-name": "a", "cidr-blocks": ["10.0.0.0/16"]}])),
        );
        f.insert(
            "subnet.json".into(),
            data(
                serde_json::json!([{"id": sn, "vcn-id": vcn, "display-name": "s",
                "cidr-block": "10.0.1.0/24", "route-table-id": "ocid1.routetable.oc1.iad.r"},
                {"id": "ocid1.subnet.oc1.iad.fw", "vcn-id": vcn, "display-name": "fw",
                "cidr-block": "10.0.9.0/24"}]),
            ),
        );
        f.insert(
            "rt.json".into(),
            data(serde_json::json!([{"id": "ocid1.routetable.oc1.iad.r", "vcn-id": vcn, "display-name": "r",
                "route-rules": [{"destination": "0.0.0.0/0", "network-entity-id": "ocid1.privateip.oc1.iad.p"}]}])),
        );
        let mut fw = serde_json::json!({"id": "ocid1.vnic.oc1.iad.fw", "subnet-id": "ocid1.subnet.oc1.iad.fw",
            "display-name": "firewall", "private-ip": "10.0.9.4"});
        if !skip.is_null() {
            fw["skip-source-dest-check"] = skip;
        }
        f.insert(
            "vnic.json".into(),
            data(
                serde_json::json!([{"id": "ocid1.vnic.oc1.iad.v", "subnet-id": sn,
                "display-name": "v", "private-ip": "10.0.1.5"}, fw]),
            ),
        );
        f.insert(
            "pip.json".into(),
            data(
                serde_json::json!([{"id": "ocid1.privateip.oc1.iad.p", "ip-address": "10.0.9.4",
                "vnic-id": "ocid1.vnic.oc1.iad.fw", "subnet-id": "ocid1.subnet.oc1.iad.fw"}]),
            ),
        );
        f
    };
    let out = Packet::tcp(ip("10.0.1.5"), 40000, ip("192.168.1.1"), 443);
    for (skip, open) in [
        (serde_json::Value::Null, true),
        (serde_json::json!(true), true),
        (serde_json::json!(false), false),
        (serde_json::json!("no"), false),
    ] {
        for (p, ctx) in [(out, Context::First), (out.reversed(), REPLY)] {
            let got = route_of(&export(skip.clone()), &p, ctx);
            if open {
                assert_eq!(got.0, Outcome::Forwarded, "{skip}: {p} {ctx:?}");
            } else {
                assert_eq!(
                    got,
                    (Outcome::NoRoute, Verdict::Drop, Some(Stage::Route)),
                    "{skip}: {p} {ctx:?}"
                );
            }
        }
    }
    let out = zprsim_control::import::oci::import(&export(serde_json::json!("no")), None).unwrap();
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("`skip-source-dest-check` is not a boolean")),
        "{:?}",
        out.warnings
    );
}

/// Gateways that drop everything, and a next hop that checks source and
/// destination, beside ones that forward.
const SWITCHED_OFF: &str = r#"
name = "switched-off"

[[vcn]]
name = "a"
cidr_blocks = ["10.1.0.0/16"]

[[vcn]]
name = "b"
cidr_blocks = ["10.2.0.0/16"]

[[gateway]]
name = "igw"
vcn = "a"
kind = "internet"
is_enabled = false

[[gateway]]
name = "nat"
vcn = "a"
kind = "nat"
block_traffic = true

[[gateway]]
name = "sgw"
vcn = "a"
kind = "service"
block_traffic = true

[[gateway]]
name = "lpg-a"
vcn = "a"
kind = "lpg"
peering_status = "PENDING"

[[gateway]]
name = "drg-a"
vcn = "a"
kind = "drg"

[[gateway]]
name = "lpg-b"
vcn = "b"
kind = "lpg"

[[gateway]]
name = "igw-b"
vcn = "b"
kind = "internet"

[services]
"osn" = ["134.70.0.0/17"]

[[route_table]]
name = "rt-a"
vcn = "a"
route_rules = [
  { destination = "0.0.0.0/0", network_entity = "igw" },
  { destination = "8.8.8.0/24", network_entity = "nat" },
  { destination = "osn", destination_type = "SERVICE_CIDR_BLOCK", network_entity = "sgw" },
  { destination = "10.2.0.0/17", network_entity = "lpg-a" },
  { destination = "10.2.128.0/17", network_entity = "drg-a" },
  { destination = "192.168.0.0/16", network_entity = "10.1.1.20" },
]

[[route_table]]
name = "rt-b"
vcn = "b"
route_rules = [
  { destination = "10.1.0.0/16", network_entity = "lpg-b" },
  { destination = "0.0.0.0/0", network_entity = "igw-b" },
]

[[security_list]]
name = "open-a"
vcn = "a"
ingress_security_rules = [{ protocol = "all", source = "0.0.0.0/0" }]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]

[[security_list]]
name = "open-b"
vcn = "b"
ingress_security_rules = [{ protocol = "all", source = "0.0.0.0/0" }]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]

[[subnet]]
name = "s1"
vcn = "a"
cidr_block = "10.1.1.0/24"
route_table = "rt-a"
security_lists = ["open-a"]

[[subnet]]
name = "sb"
vcn = "b"
cidr_block = "10.2.1.0/24"
route_table = "rt-b"
security_lists = ["open-b"]

[[subnet]]
name = "sb2"
vcn = "b"
cidr_block = "10.2.200.0/24"
route_table = "rt-b"
security_lists = ["open-b"]

[[vnic]]
name = "v1"
subnet = "s1"
private_ips = ["10.1.1.10"]

[[vnic]]
name = "fw"
subnet = "s1"
private_ips = ["10.1.1.20"]
skip_source_dest_check = false

[[vnic]]
name = "vb"
subnet = "sb"
private_ips = ["10.2.1.10"]

[[vnic]]
name = "vb2"
subnet = "sb2"
private_ips = ["10.2.200.10"]
"#;

/// `zprsim-gen export` (`zprsim_bench::oci_export`) wrote no gateway's
/// switch (`is-enabled`, `block-traffic`, `peering-status`) and no VNIC's
/// `skip-source-dest-check`, which `zprsim import` reads: a disabled
/// internet gateway, NAT and service gateways blocking traffic, an LPG not
/// peered and a next hop that checks source and destination came back
/// forwarding, so `10.1.1.10 -> 1.1.1.1` and `1.1.1.1 -> 10.1.1.10`,
/// dropped by the scenario, were allowed by its round trip. Every packet
/// between these addresses is now judged alike before and after.
///
/// Found by the sixteenth session's review (branch s18-qa; QA round eleven).
#[test]
fn an_exported_scenario_keeps_its_switched_off_gateways_and_next_hops() {
    use zprsim_control::compile::{Compiled, Config};
    use zprsim_control::packet::Packet;
    use zprsim_control::verdict::{Context, Tracking};

    let s = zprsim_control::load::from_toml_str(SWITCHED_OFF, "s.toml")
        .unwrap()
        .scenario;
    let (files, services) = zprsim_bench::oci_export::export(&s);
    let imported = zprsim_control::import::oci::import(&files, Some(&services)).unwrap();
    let t = zprsim_control::load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap()
        .scenario;
    let (a, b) = (
        Compiled::new(&s, &Config::default()).unwrap(),
        Compiled::new(&t, &Config::default()).unwrap(),
    );
    let addresses = [
        "10.1.1.10",
        "10.1.1.20",
        "10.2.1.10",
        "10.2.200.10",
        "1.1.1.1",
        "8.8.8.8",
        "134.70.1.1",
        "192.168.1.1",
    ];
    let mut judged = 0;
    for src in addresses {
        for dst in addresses {
            for ctx in [Context::First, Context::Reply(Tracking::default())] {
                let p = Packet::tcp(src.parse().unwrap(), 49152, dst.parse().unwrap(), 443);
                assert_eq!(
                    a.judge(&p, ctx).judgement,
                    b.judge(&p, ctx).judgement,
                    "{src} -> {dst} ({ctx:?}):\n{}",
                    imported.toml
                );
                judged += 1;
            }
        }
    }
    assert_eq!(judged, 128);
}

/// A private subnet (`prohibit_public_ip = true`, OCI's
/// `prohibit-public-ip-on-vnic`) routing the internet to an internet
/// gateway: OCI drops that traffic (its VNICs have no public IP), and the
/// model forwarded it, so a private subnet's `0.0.0.0/0 -> igw`, a common
/// mistake, passed every check. Both engines now drop it at the route
/// layer, both ways, naming the subnet; a subnet that does not say keeps
/// the old answer; a NAT gateway carries it; `verify`'s route hint from
/// such a subnet no longer offers the internet gateway; `import` reads
/// the flag from the export. (The last note's planning item 6.)
///
/// From the fourteenth session's planning list (note-s16).
#[test]
fn a_private_subnet_gets_nothing_through_an_internet_gateway() {
    use zprsim_control::agree::judge_both;
    use zprsim_control::compile::{Compiled, Config};
    use zprsim_control::packet::Packet;
    use zprsim_control::verdict::{Context, Stage, Verdict};
    let text = |private: &str| {
        format!(
            r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16", "2603:c020::/48"]
[[gateway]]
name = "igw"
vcn = "v"
kind = "internet"
[[gateway]]
name = "nat"
vcn = "v"
kind = "nat"
[[gateway]]
name = "drg"
vcn = "v"
kind = "drg"
[[route_table]]
name = "to-igw"
vcn = "v"
route_rules = [{{ destination = "0.0.0.0/0", network_entity = "igw" }}, {{ destination = "::/0", network_entity = "igw" }}]
[[route_table]]
name = "to-nat"
vcn = "v"
route_rules = [{{ destination = "0.0.0.0/0", network_entity = "nat" }}]
[[route_table]]
name = "none"
vcn = "v"
route_rules = []
[[security_list]]
name = "open"
vcn = "v"
egress_security_rules = [{{ destination = "0.0.0.0/0", protocol = "all" }}, {{ destination = "::/0", protocol = "all" }}]
ingress_security_rules = [{{ source = "0.0.0.0/0", protocol = "all" }}, {{ source = "::/0", protocol = "all" }}]
[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.0.1.0/24"
ipv6_cidr_blocks = ["2603:c020:0:1::/64"]
route_table = "to-igw"
security_lists = ["open"]
{private}
[[subnet]]
name = "natted"
vcn = "v"
cidr_block = "10.0.2.0/24"
route_table = "to-nat"
security_lists = ["open"]
prohibit_public_ip = true
[[subnet]]
name = "bare"
vcn = "v"
cidr_block = "10.0.3.0/24"
route_table = "none"
security_lists = ["open"]
prohibit_public_ip = true
[[vnic]]
name = "a"
subnet = "app"
private_ips = ["10.0.1.10", "2603:c020:0:1::10"]
[[vnic]]
name = "n"
subnet = "natted"
private_ips = ["10.0.2.10"]
[[vnic]]
name = "b"
subnet = "bare"
private_ips = ["10.0.3.10"]
"#
        )
    };
    let judge = |text: &str, p: Packet| {
        let s = zprsim_control::load::from_toml_str(text, "s.toml")
            .unwrap()
            .scenario;
        let c = Compiled::new(&s, &Config::default()).unwrap();
        judge_both(&s, &c, &p, Context::First).unwrap()
    };
    let (a, n, web) = (
        "10.0.1.10".parse().unwrap(),
        "10.0.2.10".parse().unwrap(),
        "93.184.216.34".parse().unwrap(),
    );
    let private = text("prohibit_public_ip = true");
    for p in [
        Packet::tcp(a, 40000, web, 443),
        Packet::tcp(web, 40000, a, 443),
    ] {
        let d = judge(&private, p);
        assert_eq!(d.judgement.verdict, Verdict::Drop, "{p}");
        assert_eq!(d.judgement.stage, Some(Stage::Route), "{p}");
        let reason = d.layers[0].reason.clone().unwrap_or_default();
        assert!(
            reason.contains("subnet `app` prohibits them"),
            "{p}: {reason}"
        );
        // The subnet that does not say, and the one that says `false`:
        // as before.
        for open in [text(""), text("prohibit_public_ip = false")] {
            assert_eq!(judge(&open, p).judgement.verdict, Verdict::Allow, "{p}");
        }
    }
    // IPv6 needs no public IP (OCI's `prohibit-internet-ingress`, not
    // modeled, governs it): the flag does not touch it.
    let (a6, web6) = (
        "2603:c020:0:1::10".parse().unwrap(),
        "2001:db8::1".parse().unwrap(),
    );
    for p in [
        Packet::tcp(a6, 40000, web6, 443),
        Packet::tcp(web6, 40000, a6, 443),
    ] {
        assert_eq!(judge(&private, p).judgement.verdict, Verdict::Allow, "{p}");
    }
    // Through NAT, a private subnet reaches the internet.
    assert_eq!(
        judge(&private, Packet::tcp(n, 40000, web, 443))
            .judgement
            .verdict,
        Verdict::Allow
    );

    // `verify`: the route hint from the bare private subnet to the
    // internet names the NAT or the DRG, never the internet gateway.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &private).unwrap();
    std::fs::write(
        dir.path().join("e.toml"),
        "[[path]]\nname = \"b-out\"\nfrom = \"vnic:b\"\nto = \"internet\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n",
    )
    .unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "add to route table `none`: { destination = \"0.0.0.0/0\", network_entity = \"nat\" }"
        ),
        "{out}"
    );
    assert!(!out.contains("`igw`") && !out.contains("\"igw\""), "{out}");

    // `import` reads `prohibit-public-ip-on-vnic`, and the imported
    // scenario judges as the exported one.
    let s = zprsim_control::load::from_toml_str(&private, "s.toml")
        .unwrap()
        .scenario;
    let (files, services) = zprsim_bench::oci_export::export(&s);
    let imported = zprsim_control::import::oci::import(&files, Some(&services)).unwrap();
    assert!(
        imported.toml.contains("prohibit_public_ip = true"),
        "{}",
        imported.toml
    );
    let d = judge(&imported.toml, Packet::tcp(a, 40000, web, 443));
    assert_eq!(d.judgement.stage, Some(Stage::Route));
}
