//! The internet gateway and who it carries: a VNIC's public IP
//! (`[[vnic]] public_ip`) and a subnet's `prohibit_internet_ingress`
//! (docs/semantics.md §2), in both engines, the loader and `import`.

use crate::support::run_in;
use zprsim_control::agree::judge_both;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::model::PublicIp;
use zprsim_control::packet::Packet;
use zprsim_control::verdict::{Context, Stage, Verdict};

/// A VCN with an internet gateway (IPv4 and IPv6 default routes), a DRG
/// for an on-premises IPv6 prefix and a NAT gateway, open security lists,
/// a public subnet `app` (its flags in `app_flags`) and a NAT'd subnet;
/// `vnics` is appended.
fn scenario(app_flags: &str, vnics: &str) -> String {
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
route_rules = [{{ destination = "0.0.0.0/0", network_entity = "igw" }}, {{ destination = "::/0", network_entity = "igw" }}, {{ destination = "2001:db8:100::/48", network_entity = "drg" }}]
[[route_table]]
name = "to-nat"
vcn = "v"
route_rules = [{{ destination = "0.0.0.0/0", network_entity = "nat" }}]
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
{app_flags}
[[subnet]]
name = "natted"
vcn = "v"
cidr_block = "10.0.2.0/24"
route_table = "to-nat"
security_lists = ["open"]
{vnics}
"#
    )
}

fn load(text: &str) -> zprsim_control::model::Scenario {
    zprsim_control::load::from_toml_str(text, "s.toml")
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .scenario
}

/// Both engines' judgement (`judge_both` fails where they disagree) and
/// the route layer's reason.
fn judge(text: &str, p: Packet) -> (Verdict, Option<Stage>, String) {
    let s = load(text);
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let d = judge_both(&s, &c, &p, Context::First).unwrap();
    (
        d.judgement.verdict,
        d.judgement.stage,
        d.layers[0].reason.clone().unwrap_or_default(),
    )
}

fn both_ways(local: &str, remote: &str) -> [Packet; 2] {
    let (l, r) = (local.parse().unwrap(), remote.parse().unwrap());
    [Packet::tcp(l, 40000, r, 443), Packet::tcp(r, 40000, l, 443)]
}

#[test]
fn a_vnic_without_a_public_ip_gets_no_ipv4_through_an_internet_gateway() {
    // Four VNICs of one subnet and one route table, told apart only by
    // their public IP: the compiled route table must key on it.
    let text = scenario(
        "",
        r#"
[[vnic]]
name = "none"
subnet = "app"
private_ips = ["10.0.1.10", "2603:c020:0:1::10", "10.0.1.20"]
public_ip = false
[[vnic]]
name = "addr"
subnet = "app"
private_ips = ["10.0.1.11"]
public_ip = "129.80.49.99"
[[vnic]]
name = "yes"
subnet = "app"
private_ips = ["10.0.1.12"]
public_ip = true
[[vnic]]
name = "unsaid"
subnet = "app"
private_ips = ["10.0.1.13"]
[[vnic]]
name = "n"
subnet = "natted"
private_ips = ["10.0.2.10"]
public_ip = false
"#,
    );
    let s = load(&text);
    assert_eq!(s.vnics[0].public_ip, PublicIp::Absent);
    assert_eq!(
        s.vnics[1].public_ip,
        PublicIp::Present(Some("129.80.49.99".parse().unwrap()))
    );
    assert_eq!(s.vnics[2].public_ip, PublicIp::Present(None));
    assert_eq!(s.vnics[3].public_ip, PublicIp::Unknown);
    for p in both_ways("10.0.1.10", "93.184.216.34") {
        let (v, stage, reason) = judge(&text, p);
        assert_eq!((v, stage), (Verdict::Drop, Some(Stage::Route)), "{p}");
        assert!(
            reason.contains("VNIC `none` has none (`public_ip = false`)"),
            "{p}: {reason}"
        );
    }
    for a in ["10.0.1.11", "10.0.1.12", "10.0.1.13"] {
        for p in both_ways(a, "93.184.216.34") {
            assert_eq!(judge(&text, p).0, Verdict::Allow, "{p}");
        }
    }
    // An IPv6 address needs no public IP; `public_ip` speaks of the
    // primary private IPv4 (OCI gives public IPs to private IPs: a
    // secondary may hold a reserved one, which the scenario does not say).
    for p in both_ways("2603:c020:0:1::10", "2001:db8::1")
        .into_iter()
        .chain(both_ways("10.0.1.20", "93.184.216.34"))
    {
        assert_eq!(judge(&text, p).0, Verdict::Allow, "{p}");
    }
    // Inside the VCN, and out through NAT, a public IP is not needed.
    for p in both_ways("10.0.1.10", "10.0.2.10") {
        assert_eq!(judge(&text, p).0, Verdict::Allow, "{p}");
    }
    let [out, _] = both_ways("10.0.2.10", "93.184.216.34");
    assert_eq!(judge(&text, out).0, Verdict::Allow);
}

#[test]
fn a_subnet_that_prohibits_internet_ingress_keeps_its_ipv6_and_ipv4_off_the_internet() {
    let vnics = r#"
[[vnic]]
name = "a"
subnet = "app"
private_ips = ["10.0.1.10", "2603:c020:0:1::10"]
"#;
    let private = scenario("prohibit_internet_ingress = true", vnics);
    for p in both_ways("2603:c020:0:1::10", "2001:db8::1") {
        let (v, stage, reason) = judge(&private, p);
        assert_eq!((v, stage), (Verdict::Drop, Some(Stage::Route)), "{p}");
        assert!(
            reason.contains("carries no IPv6 traffic of subnet `app`")
                && reason.contains("OCI has no NAT for IPv6"),
            "{p}: {reason}"
        );
    }
    // OCI sets `prohibit-public-ip-on-vnic` from it: no public IPv4 either.
    for p in both_ways("10.0.1.10", "93.184.216.34") {
        let (v, stage, reason) = judge(&private, p);
        assert_eq!((v, stage), (Verdict::Drop, Some(Stage::Route)), "{p}");
        assert!(
            reason.contains("`prohibit_internet_ingress = true`"),
            "{p}: {reason}"
        );
    }
    // Not the internet: IPv6 to on-premises through the DRG passes.
    for p in both_ways("2603:c020:0:1::10", "2001:db8:100::1") {
        assert_eq!(judge(&private, p).0, Verdict::Allow, "{p}");
    }
    // Unset, or `false`: as before.
    for open in [
        scenario("", vnics),
        scenario("prohibit_internet_ingress = false", vnics),
    ] {
        for p in both_ways("2603:c020:0:1::10", "2001:db8::1")
            .into_iter()
            .chain(both_ways("10.0.1.10", "93.184.216.34"))
        {
            assert_eq!(judge(&open, p).0, Verdict::Allow, "{p}");
        }
    }
    // `prohibit_public_ip` alone leaves IPv6 on the internet.
    let v4_only = scenario("prohibit_public_ip = true", vnics);
    for p in both_ways("2603:c020:0:1::10", "2001:db8::1") {
        assert_eq!(judge(&v4_only, p).0, Verdict::Allow, "{p}");
    }
}

#[test]
fn a_public_ip_the_scenario_cannot_have_is_refused_with_its_place() {
    let err = |flags: &str, public: &str| {
        let text = scenario(
            flags,
            &format!(
                "[[vnic]]\nname = \"a\"\nsubnet = \"app\"\nprivate_ips = [\"10.0.1.10\"]\npublic_ip = {public}\n"
            ),
        );
        let line = text
            .lines()
            .position(|l| l.starts_with("public_ip"))
            .unwrap()
            + 1;
        let e = zprsim_control::load::from_toml_str(&text, "s.toml")
            .err()
            .unwrap_or_else(|| panic!("{flags} {public}: loaded"))
            .to_string();
        assert!(e.starts_with(&format!("s.toml:{line}:")), "{e}");
        e
    };
    let e = err("", "\"not-an-ip\"");
    assert!(e.contains("`not-an-ip` is not an IPv4 address"), "{e}");
    let e = err("", "\"2001:db8::1\"");
    assert!(e.contains("is not an IPv4 address"), "{e}");
    let e = err("", "3");
    assert!(e.contains("a boolean or an IPv4 address"), "{e}");
    for flag in ["prohibit_public_ip", "prohibit_internet_ingress"] {
        for public in ["true", "\"129.80.49.99\""] {
            let e = err(&format!("{flag} = true"), public);
            assert!(
                e.contains(&format!(
                    "subnet `app` prohibits public IPs on its VNICs (`{flag} = true`)"
                )),
                "{e}"
            );
        }
        // Saying it has none is no contradiction.
        let text = scenario(
            &format!("{flag} = true"),
            "[[vnic]]\nname = \"a\"\nsubnet = \"app\"\nprivate_ips = [\"10.0.1.10\"]\npublic_ip = false\n",
        );
        load(&text);
    }
}

#[test]
fn import_reads_public_ips_and_internet_ingress_and_judges_as_the_export() {
    use serde_json::Value;
    let text = scenario(
        "",
        r#"
[[subnet]]
name = "private6"
vcn = "v"
cidr_block = "10.0.3.0/24"
ipv6_cidr_blocks = ["2603:c020:0:3::/64"]
route_table = "to-igw"
security_lists = ["open"]
prohibit_internet_ingress = true
[[vnic]]
name = "none"
subnet = "app"
private_ips = ["10.0.1.10"]
public_ip = false
[[vnic]]
name = "addr"
subnet = "app"
private_ips = ["10.0.1.11"]
public_ip = "129.80.49.99"
[[vnic]]
name = "unsaid"
subnet = "app"
private_ips = ["10.0.1.13"]
[[vnic]]
name = "p6"
subnet = "private6"
private_ips = ["10.0.3.10", "2603:c020:0:3::10"]
"#,
    );
    let s = load(&text);
    let (files, services) = zprsim_bench::oci_export::export(&s);
    let imported = zprsim_control::import::oci::import(&files, Some(&services)).unwrap();
    let t = load(&imported.toml);
    let by_name = |n: &str| {
        t.vnics
            .iter()
            .find(|v| v.name == n)
            .unwrap_or_else(|| panic!("{n}\n{}", imported.toml))
            .public_ip
    };
    assert_eq!(by_name("none"), PublicIp::Absent);
    assert_eq!(
        by_name("addr"),
        PublicIp::Present(Some("129.80.49.99".parse().unwrap()))
    );
    assert_eq!(by_name("unsaid"), PublicIp::Unknown);
    assert!(
        t.subnets
            .iter()
            .any(|s| s.name == "private6" && s.prohibit_internet_ingress),
        "{}",
        imported.toml
    );
    // The same verdicts, both ways, for every VNIC address and the internet.
    let c = Compiled::new(&t, &Config::default()).unwrap();
    let c0 = Compiled::new(&s, &Config::default()).unwrap();
    for a in [
        "10.0.1.10",
        "10.0.1.11",
        "10.0.1.13",
        "10.0.3.10",
        "2603:c020:0:3::10",
    ] {
        let web = if a.contains(':') {
            "2001:db8::1"
        } else {
            "93.184.216.34"
        };
        for p in both_ways(a, web) {
            let want = judge_both(&s, &c0, &p, Context::First).unwrap();
            let got = judge_both(&t, &c, &p, Context::First).unwrap();
            assert_eq!(want.judgement.verdict, got.judgement.verdict, "{p}");
        }
    }

    // OCI's shapes the generator does not write: a VNIC whose
    // `public-ip` is not an address is imported as having none, with a
    // warning; one in a private subnet says nothing (the subnet does).
    let mut files = files;
    let vnic_file = |files: &zprsim_control::import::Files, n: &str| {
        files
            .iter()
            .find_map(|(f, t)| {
                let v: Value = serde_json::from_str(t).ok()?;
                (f.starts_with("network-vnic-get-") && v["data"]["display-name"] == n)
                    .then(|| (f.clone(), v))
            })
            .unwrap()
    };
    let (f, mut v) = vnic_file(&files, "unsaid");
    v["data"]["public-ip"] = Value::from("a.b.c.d");
    files.insert(f, v.to_string());
    let (f, mut v) = vnic_file(&files, "p6");
    v["data"]["public-ip"] = Value::from("129.80.49.100");
    files.insert(f, v.to_string());
    let imported = zprsim_control::import::oci::import(&files, Some(&services)).unwrap();
    assert!(
        imported
            .warnings
            .iter()
            .any(|w| w.contains("`public-ip` is not an IPv4 address; imported as none")),
        "{:?}",
        imported.warnings
    );
    let t = load(&imported.toml);
    let p = |n: &str| t.vnics.iter().find(|v| v.name == n).unwrap().public_ip;
    assert_eq!(p("unsaid"), PublicIp::Absent);
    assert_eq!(p("p6"), PublicIp::Unknown);
}

#[test]
fn stand_in_vnics_have_no_public_ip_and_a_balancers_has_its_public_address() {
    let files = crate::support::oke_export();
    let clean = zprsim_control::import::oci::import(&files, None).unwrap();
    let whole = load(&clean.toml);
    let lb = |s: &zprsim_control::model::Scenario| {
        s.vnics
            .iter()
            .find(|v| v.id.as_deref() == Some("ocid1.vnic.oc1.iad.okeordersorderslb"))
            .unwrap()
            .clone()
    };
    assert_eq!(
        lb(&whole).public_ip,
        PublicIp::Present(Some("129.80.49.99".parse().unwrap()))
    );
    // The balancer's VNIC missing, the balancer exported: its stand-in
    // takes the balancer's public address.
    let mut partial = files.clone();
    let (file, vnic) = partial
        .iter()
        .find_map(|(n, t)| {
            let v: serde_json::Value = serde_json::from_str(t).ok()?;
            (n.starts_with("network-vnic-get-") && v["data"]["display-name"] == "orders-lb")
                .then(|| (n.clone(), v["data"].clone()))
        })
        .unwrap();
    partial.remove(&file);
    let balancer = |public: bool| {
        let mut ips =
            vec![serde_json::json!({ "ip-address": vnic["private-ip"], "is-public": false })];
        if public {
            ips.push(serde_json::json!({ "ip-address": "129.80.49.99", "is-public": true }));
        }
        serde_json::json!({ "data": [{
            "id": "ocid1.loadbalancer.oc1.iad.orders",
            "display-name": "orders",
            "ip-addresses": ips,
            "network-security-group-ids": vnic["nsg-ids"],
            "security-attributes": vnic["security-attributes"],
            "subnet-ids": [vnic["subnet-id"]],
        }] })
        .to_string()
    };
    for (public, want) in [
        (
            true,
            PublicIp::Present(Some("129.80.49.99".parse().unwrap())),
        ),
        (false, PublicIp::Absent),
    ] {
        let mut p = partial.clone();
        p.insert("lb-load-balancer-list.json".into(), balancer(public));
        let imported = zprsim_control::import::oci::import(&p, None).unwrap();
        assert_eq!(lb(&load(&imported.toml)).public_ip, want, "{public}");
    }
    // Without the balancer: a stand-in of kind `unknown` in a public
    // subnet, with no public IP (the least an internet gateway could
    // carry for it).
    let imported = zprsim_control::import::oci::import(&partial, None).unwrap();
    let s = load(&imported.toml);
    let stand_in = s
        .vnics
        .iter()
        .find(|v| v.id.as_deref() == vnic["id"].as_str())
        .unwrap();
    assert_eq!(stand_in.kind, "unknown");
    assert_eq!(stand_in.public_ip, PublicIp::Absent);
    assert!(
        imported.warnings.iter().any(|w| w.contains("no public IP")),
        "{:?}",
        imported.warnings
    );
}

/// A public subnet `web` sharing route table `to-igw` with the subnet
/// `app` (private in the tests that use it): VNIC `a` in `app`, VNIC `w`
/// with a public IP in `web`.
const SHARED_WITH_WEB: &str = r#"
[[subnet]]
name = "web"
vcn = "v"
cidr_block = "10.0.3.0/24"
route_table = "to-igw"
security_lists = ["open"]
[[vnic]]
name = "a"
subnet = "app"
private_ips = ["10.0.1.10"]
[[vnic]]
name = "w"
subnet = "web"
private_ips = ["10.0.3.10"]
public_ip = true
"#;

#[test]
fn verify_retargets_the_rule_that_sends_a_private_subnet_to_an_internet_gateway() {
    // The common mistake: a private subnet's 0.0.0.0/0 to the internet
    // gateway. A rule added for 0.0.0.0/0 would never win over it (the
    // first of equal prefixes does), so the hint changes its target; the
    // table is shared with a public subnet whose server the internet
    // reaches, which a NAT gateway would close (it admits replies only).
    // The VCN's DRG is not offered for the internet (since the nineteenth
    // session: "(or `drg`)" was).
    let text = scenario(
        "prohibit_public_ip = true",
        &format!(
            "{SHARED_WITH_WEB}[[vnic]]\nname = \"b\"\nsubnet = \"app\"\nprivate_ips = [\"10.0.1.11\"]\n"
        ),
    );
    let expect = r#"
[[path]]
name = "a-out"
from = "vnic:a"
to = "internet"
proto = "tcp"
dport = 443
expect = "allow"
[[path]]
name = "b-out"
from = "vnic:b"
to = "internet"
proto = "tcp"
dport = 443
expect = "allow"
[[path]]
name = "web-in"
from = "internet"
to = "vnic:w"
proto = "tcp"
dport = 443
expect = "allow"
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &text).unwrap();
    std::fs::write(dir.path().join("e.toml"), expect).unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let a = &j["paths"][0];
    assert_eq!(a["name"], "a-out");
    let hint = "route: in route table `to-igw`, change rule #0 (0.0.0.0/0 -> internet gateway `igw`) to network_entity = \"nat\"; but route table `to-igw` is shared: with this change its route layer would drop new connections ";
    let given = a["failed"][0]["to_open"][0].as_str().unwrap();
    assert!(given.starts_with(hint), "{a}");
    assert!(given.contains("-> `w` at 10.0.3.10 (subnet `web`)"), "{a}");
    // Together, the change would close the public subnet's inbound path;
    // `a-out` and `b-out` propose the same change, counted once.
    assert_eq!(j["hints_together"]["closed"][0], "web-in", "{j}");
    assert_eq!(j["hints_together"]["hints"], 1, "{j}");
    // The hint applied as written: the private subnet's path opens.
    let fixed = text.replacen(
        r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
        r#"{ destination = "0.0.0.0/0", network_entity = "nat" }"#,
        1,
    );
    assert_ne!(fixed, text);
    std::fs::write(dir.path().join("s.toml"), &fixed).unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["paths"][0]["ok"], true, "{j}");
    assert_eq!(j["paths"][1]["ok"], true, "{j}");
    assert_eq!(j["paths"][2]["ok"], false, "{j}");
}

#[test]
fn json_scenarios_take_the_same_fields() {
    let json = |public: &str| {
        format!(
            r#"{{
  "vcn": [{{ "name": "v", "cidr_blocks": ["10.0.0.0/16"] }}],
  "subnet": [{{ "name": "app", "vcn": "v", "cidr_block": "10.0.1.0/24", "prohibit_internet_ingress": false, "stand_in": true }}],
  "vnic": [{{ "name": "a", "subnet": "app", "private_ips": ["10.0.1.10"], "public_ip": {public}, "stand_in": true }}]
}}"#
        )
    };
    for (public, want) in [
        ("false", PublicIp::Absent),
        ("true", PublicIp::Present(None)),
        (
            "\"129.80.49.99\"",
            PublicIp::Present(Some("129.80.49.99".parse().unwrap())),
        ),
        ("null", PublicIp::Unknown),
    ] {
        let s = zprsim_control::load::from_json_str(&json(public), "s.json")
            .unwrap_or_else(|e| panic!("{public}: {e}"))
            .scenario;
        assert_eq!(s.vnics[0].public_ip, want, "{public}");
        assert!(s.vnics[0].stand_in && s.subnets[0].stand_in);
    }
    let e = zprsim_control::load::from_json_str(&json("7"), "s.json")
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.starts_with("s.json:4:") && e.contains("a boolean or an IPv4 address"),
        "{e}"
    );
}

#[test]
fn a_nat_gateway_carries_no_ipv6() {
    // OCI: only DRGs, LPGs and internet gateways carry IPv6.
    let text = scenario(
        "",
        r#"
[[route_table]]
name = "nat-both"
vcn = "v"
route_rules = [{ destination = "0.0.0.0/0", network_entity = "nat" }, { destination = "::/0", network_entity = "nat" }]
[[subnet]]
name = "n6"
vcn = "v"
cidr_block = "10.0.6.0/24"
ipv6_cidr_blocks = ["2603:c020:0:6::/64"]
route_table = "nat-both"
security_lists = ["open"]
[[vnic]]
name = "p"
subnet = "n6"
private_ips = ["10.0.6.10", "2603:c020:0:6::10"]
"#,
    );
    // The loader says so where the rule is written.
    let w = zprsim_control::load::from_toml_str(&text, "s.toml")
        .unwrap()
        .warnings;
    let line = text
        .lines()
        .position(|l| l.contains(r#"{ destination = "::/0", network_entity = "nat" }"#))
        .unwrap()
        + 1;
    assert!(
        w.iter().any(|w| w.code.as_str() == "ipv4-only-gateway"
            && w.line == Some(u32::try_from(line).unwrap())
            && w.message
                .contains("sends IPv6 `::/0` to nat gateway `nat`, which carries IPv4 only")),
        "{w:?}"
    );
    assert_eq!(w.len(), 1, "{w:?}");
    let [out, back] = both_ways("2603:c020:0:6::10", "2001:db8::1");
    for p in [out, back] {
        let (v, stage, reason) = judge(&text, p);
        assert_eq!((v, stage), (Verdict::Drop, Some(Stage::Route)), "{p}");
        assert!(
            reason.contains(
                "which carries no IPv6 traffic (OCI's NAT and service gateways are IPv4 only"
            ),
            "{p}: {reason}"
        );
    }
    let [out, _] = both_ways("10.0.6.10", "93.184.216.34");
    assert_eq!(judge(&text, out).0, Verdict::Allow);
}

#[test]
fn a_stand_in_subnet_is_private_unless_a_vnic_of_it_has_a_public_ip() {
    use serde_json::Value;
    // Two VNICs with their own route table to the internet gateway, in
    // two subnets the partial export lacks: one private (its IPv6 and
    // IPv4 off the internet), one public whose VNIC has a public IP.
    let text = scenario(
        "",
        r#"
[[subnet]]
name = "private6"
vcn = "v"
cidr_block = "10.0.3.0/24"
ipv6_cidr_blocks = ["2603:c020:0:3::/64"]
security_lists = ["open"]
prohibit_internet_ingress = true
[[subnet]]
name = "web"
vcn = "v"
cidr_block = "10.0.4.0/24"
security_lists = ["open"]
[[vnic]]
name = "p6"
subnet = "private6"
private_ips = ["10.0.3.10", "2603:c020:0:3::10"]
route_table = "to-igw"
nsgs = ["all"]
[[vnic]]
name = "w"
subnet = "web"
private_ips = ["10.0.4.10"]
route_table = "to-igw"
nsgs = ["all"]
public_ip = "129.80.49.98"
[[nsg]]
name = "all"
vcn = "v"
rules = [{ direction = "EGRESS", destination = "0.0.0.0/0", protocol = "all" }, { direction = "EGRESS", destination = "::/0", protocol = "all" }, { direction = "INGRESS", source = "0.0.0.0/0", protocol = "all" }, { direction = "INGRESS", source = "::/0", protocol = "all" }]
"#,
    );
    let s = load(&text);
    let (mut files, services) = zprsim_bench::oci_export::export(&s);
    let list = files.get_mut("network-subnet-list.json").unwrap();
    let mut v: Value = serde_json::from_str(list).unwrap();
    v["data"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["display-name"] != "private6" && s["display-name"] != "web");
    *list = v.to_string();
    let imported = zprsim_control::import::oci::import(&files, Some(&services)).unwrap();
    let t = load(&imported.toml);
    let subnet_of = |n: &str| {
        let v = t.vnics.iter().find(|v| v.name == n).unwrap();
        t.subnets[v.subnet.index()].clone()
    };
    assert!(subnet_of("p6").stand_in && subnet_of("p6").prohibit_internet_ingress);
    assert!(subnet_of("w").stand_in && !subnet_of("w").prohibit_internet_ingress);
    // Nothing the whole export denies is allowed, both ways, both families.
    let c0 = Compiled::new(&s, &Config::default()).unwrap();
    let c = Compiled::new(&t, &Config::default()).unwrap();
    for (a, web) in [
        ("2603:c020:0:3::10", "2001:db8::1"),
        ("10.0.3.10", "93.184.216.34"),
        ("10.0.4.10", "93.184.216.34"),
    ] {
        for p in both_ways(a, web) {
            let want = judge_both(&s, &c0, &p, Context::First).unwrap();
            let got = judge_both(&t, &c, &p, Context::First).unwrap();
            assert!(
                !(got.judgement.verdict == Verdict::Allow
                    && want.judgement.verdict == Verdict::Drop),
                "{p}: the partial import allows what the whole denies"
            );
        }
    }
    let [out, _] = both_ways("2603:c020:0:3::10", "2001:db8::1");
    assert_eq!(
        judge_both(&t, &c, &out, Context::First)
            .unwrap()
            .judgement
            .verdict,
        Verdict::Drop
    );
    let [out, _] = both_ways("10.0.4.10", "93.184.216.34");
    assert_eq!(
        judge_both(&t, &c, &out, Context::First)
            .unwrap()
            .judgement
            .verdict,
        Verdict::Allow
    );
}

#[test]
fn import_reads_an_odd_private_flag_as_private_and_says_so() {
    use serde_json::Value;
    let text = scenario(
        "",
        r#"
[[vnic]]
name = "addr"
subnet = "app"
private_ips = ["10.0.1.11"]
public_ip = "129.80.49.99"
"#,
    );
    let (mut files, services) = zprsim_bench::oci_export::export(&load(&text));
    let list = files.get_mut("network-subnet-list.json").unwrap();
    let mut v: Value = serde_json::from_str(list).unwrap();
    for s in v["data"].as_array_mut().unwrap() {
        if s["display-name"] == "app" {
            s["prohibit-internet-ingress"] = Value::from("yes");
        }
    }
    *list = v.to_string();
    let imported = zprsim_control::import::oci::import(&files, Some(&services)).unwrap();
    let has = |w: &str| imported.warnings.iter().any(|x| x.contains(w));
    assert!(
        has("`prohibit-internet-ingress` is not a boolean; imported as true"),
        "{:?}",
        imported.warnings
    );
    assert!(
        has("`public-ip` is given, but its subnet `app` prohibits public IPs; not imported"),
        "{:?}",
        imported.warnings
    );
    let t = load(&imported.toml);
    assert!(
        t.subnets
            .iter()
            .any(|s| s.name == "app" && s.prohibit_internet_ingress)
    );
    assert_eq!(t.vnics[0].public_ip, PublicIp::Unknown);
}

/// A scenario whose VCN adds a ULA prefix (`fd00:9::/48`) and a private
/// IPv6 prefix of global form (`2001:db8:77::/48`, OCI's
/// `ipv6-private-cidr-blocks`) to its global one; VNIC `a` of the public
/// subnet `app` has an address in each.
fn private_v6_scenario() -> String {
    scenario(
        "",
        r#"
[[vnic]]
name = "a"
subnet = "app"
private_ips = ["10.0.1.10", "2603:c020:0:1::10", "fd00:9:0:1::10", "2001:db8:77:1::10"]
"#,
    )
    .replace(
        r#"cidr_blocks = ["10.0.0.0/16", "2603:c020::/48"]"#,
        "cidr_blocks = [\"10.0.0.0/16\", \"2603:c020::/48\", \"fd00:9::/48\"]\nipv6_private_cidr_blocks = [\"2001:db8:77::/48\"]",
    )
    .replace(
        r#"ipv6_cidr_blocks = ["2603:c020:0:1::/64"]"#,
        r#"ipv6_cidr_blocks = ["2603:c020:0:1::/64", "fd00:9:0:1::/64", "2001:db8:77:1::/64"]"#,
    )
}

#[test]
fn an_internet_gateway_carries_no_ula_or_private_ipv6_prefix() {
    let text = private_v6_scenario();
    assert_eq!(
        load(&text).vcns[0].ipv6_private_cidr_blocks,
        vec!["2001:db8:77::/48".parse::<ipnet::IpNet>().unwrap()]
    );
    // One VNIC, one subnet, one route table: the compiled table must tell
    // its addresses apart.
    for (a, says) in [
        ("fd00:9:0:1::10", "a unique local address (`fc00::/7`)"),
        (
            "2001:db8:77:1::10",
            "a private IPv6 prefix of VCN `v` (`ipv6_private_cidr_blocks`)",
        ),
    ] {
        for p in both_ways(a, "2001:db8::1") {
            let (v, stage, reason) = judge(&text, p);
            assert_eq!((v, stage), (Verdict::Drop, Some(Stage::Route)), "{p}");
            assert!(reason.contains(says), "{p}: {reason}");
            assert!(reason.contains("VNIC `a`"), "{p}: {reason}");
        }
        // Not the internet: on-premises through the DRG, and the VCN.
        for p in both_ways(a, "2001:db8:100::1")
            .into_iter()
            .chain(both_ways(a, "2603:c020:0:1::10"))
        {
            assert_eq!(judge(&text, p).0, Verdict::Allow, "{p}");
        }
    }
    // Its global address, and its IPv4 address, reach the internet.
    for p in both_ways("2603:c020:0:1::10", "2001:db8::1")
        .into_iter()
        .chain(both_ways("10.0.1.10", "93.184.216.34"))
    {
        assert_eq!(judge(&text, p).0, Verdict::Allow, "{p}");
    }
}

#[test]
fn private_ipv6_prefixes_are_checked_with_their_place() {
    let err = |text: &str, needle: &str| {
        let line = text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let e = zprsim_control::load::from_toml_str(text, "s.toml")
            .err()
            .unwrap_or_else(|| panic!("loaded:\n{text}"))
            .to_string();
        assert!(e.starts_with(&format!("s.toml:{line}:")), "{e}");
        assert!(e.contains("ipv6_private_cidr_blocks"), "{e}");
        e
    };
    let base = private_v6_scenario();
    let v4 = base.replace(
        "\"2001:db8:77::/48\"]",
        "\"2001:db8:77::/48\", \"10.9.0.0/16\"]",
    );
    let e = err(&v4, "ipv6_private_cidr_blocks");
    assert!(e.contains("`10.9.0.0/16` is not an IPv6 prefix"), "{e}");
    // A private prefix is a block of the VCN: one that overlaps another
    // block is refused where it is written.
    let overlap = base.replace(
        "\"2001:db8:77::/48\"]",
        "\"2001:db8:77::/48\", \"2603:c020::/56\"]",
    );
    let e = err(&overlap, "ipv6_private_cidr_blocks");
    assert!(e.contains("overlaps cidr block `2603:c020::/48`"), "{e}");
}

#[test]
fn import_keeps_private_ipv6_prefixes_and_judges_as_the_export() {
    use serde_json::Value;
    let s = load(&private_v6_scenario());
    let (files, services) = zprsim_bench::oci_export::export(&s);
    // The generator writes them where OCI does, ULA included.
    let vcns: Value = serde_json::from_str(&files["network-vcn-list.json"]).unwrap();
    let private = &vcns["data"][0]["ipv6-private-cidr-blocks"];
    assert_eq!(
        private,
        &serde_json::json!(["fd00:9::/48", "2001:db8:77::/48"]),
        "{vcns}"
    );
    assert_eq!(
        vcns["data"][0]["ipv6-cidr-blocks"],
        serde_json::json!(["2603:c020::/48"])
    );
    let imported = zprsim_control::import::oci::import(&files, Some(&services)).unwrap();
    assert!(
        imported
            .toml
            .contains(r#"ipv6_private_cidr_blocks = ["fd00:9::/48", "2001:db8:77::/48"]"#),
        "{}",
        imported.toml
    );
    let t = load(&imported.toml);
    let (c0, c) = (
        Compiled::new(&s, &Config::default()).unwrap(),
        Compiled::new(&t, &Config::default()).unwrap(),
    );
    for a in ["2603:c020:0:1::10", "fd00:9:0:1::10", "2001:db8:77:1::10"] {
        for p in both_ways(a, "2001:db8::1") {
            let want = judge_both(&s, &c0, &p, Context::First).unwrap();
            let got = judge_both(&t, &c, &p, Context::First).unwrap();
            assert_eq!(want.judgement.verdict, got.judgement.verdict, "{p}");
        }
    }
}

#[test]
fn explain_says_what_a_route_hint_in_a_shared_table_would_close() {
    // `explain` has no expectations to judge again (`verify`'s
    // hints_together): the hint itself says which VNICs of the shared
    // table would lose a route, and says nothing when none would.
    let shared = scenario("prohibit_public_ip = true", SHARED_WITH_WEB);
    let alone = shared.replacen(
        "route_table = \"to-igw\"\nsecurity_lists = [\"open\"]\n[[vnic]]",
        "security_lists = [\"open\"]\n[[vnic]]",
        1,
    );
    assert_ne!(alone, shared);
    let hint = |text: &str| {
        explain_json(text, "vnic:a", "93.184.216.34")["to_open"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let h = hint(&shared);
    // A rule for the address alone (no path says `internet`), through NAT.
    assert!(
        h.starts_with("route: add to route table `to-igw`: { destination = \"93.184.216.34/32\", network_entity = \"nat\" }"),
        "{h}"
    );
    assert!(
        h.ends_with("; but route table `to-igw` is shared: with this change its route layer would drop new connections 93.184.216.34 -> `w` at 10.0.3.10 (subnet `web`) (they pass today)"),
        "{h}"
    );
    // `web` with no route table of its own: nothing else uses `to-igw`.
    let h = hint(&alone);
    assert!(
        h.starts_with("route: add to route table `to-igw`: { destination = \"93.184.216.34/32\""),
        "{h}"
    );
    assert!(!h.contains("is shared"), "{h}");
}

/// `explain`'s JSON for a TCP/443 first packet from `src` to `dst` in
/// scenario `text`.
fn explain_json(text: &str, src: &str, dst: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let o = run_in(
        dir.path(),
        [
            "explain", "s.toml", "--src", src, "--dst", dst, "--proto", "tcp", "--dport", "443",
            "--json",
        ],
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn no_route_hint_sends_an_ipv6_address_the_internet_does_not_route_elsewhere() {
    // The review of the seventeenth session: for a ULA address the hint
    // pointed the internet at the DRG (which the model lets through), so
    // every VNIC of the table would have sent its internet IPv6
    // on-premises; the route reason already says what to do.
    let text = private_v6_scenario();
    for (a, prefix) in [
        ("fd00:9:0:1::10", "fd00:9:0:1::10"),
        ("2001:db8:77:1::10", "2001:db8:77:1::10"),
    ] {
        for (src, dst) in [(a, "2001:db8::1"), ("2001:db8::1", a)] {
            let j = explain_json(&text, src, dst);
            assert_eq!(j["verdict"], "drop", "{j}");
            assert!(
                j["to_open"].as_array().is_none_or(|h| h.is_empty()),
                "{src} -> {dst} ({prefix}): {j}"
            );
        }
    }
    // A private subnet's IPv6 likewise (before, the hint named the DRG).
    let private = scenario(
        "prohibit_internet_ingress = true",
        "[[vnic]]\nname = \"a\"\nsubnet = \"app\"\nprivate_ips = [\"10.0.1.10\", \"2603:c020:0:1::10\"]\n",
    );
    let j = explain_json(&private, "2603:c020:0:1::10", "2001:db8::1");
    assert!(j["to_open"].as_array().is_none_or(|h| h.is_empty()), "{j}");
    // An IPv4 address without a public IP still gets its NAT hint.
    let j = explain_json(&private, "10.0.1.10", "93.184.216.34");
    assert!(
        j["to_open"][0]
            .as_str()
            .unwrap_or_default()
            .contains("network_entity = \"nat\""),
        "{j}"
    );
}

#[test]
fn the_shared_table_note_reads_every_kind_of_address() {
    // One VNIC, alone on its table: its primary IPv4 has no public IP,
    // its secondary may have one. A NAT hint for the primary closes the
    // internet's new connections to the secondary; the note says so.
    let text = scenario(
        "",
        "[[vnic]]\nname = \"a\"\nsubnet = \"app\"\nprivate_ips = [\"10.0.1.10\", \"10.0.1.20\"]\npublic_ip = false\n",
    );
    let j = explain_json(&text, "10.0.1.10", "93.184.216.34");
    let h = j["to_open"][0].as_str().unwrap_or_default();
    assert!(
        h.starts_with("route: add to route table `to-igw`: { destination = \"93.184.216.34/32\", network_entity = \"nat\" }"),
        "{j}"
    );
    assert!(
        h.ends_with("would drop new connections 93.184.216.34 -> `a` at 10.0.1.20 (subnet `app`) (they pass today)"),
        "{h}"
    );
}

#[test]
fn import_keeps_a_prefix_listed_as_private_private() {
    use serde_json::Value;
    let s = load(&private_v6_scenario());
    let (mut files, services) = zprsim_bench::oci_export::export(&s);
    let mut vcns: Value = serde_json::from_str(&files["network-vcn-list.json"]).unwrap();
    // The private global-form prefix listed as global too (spelled
    // otherwise), and an IPv4 prefix in the private list.
    vcns["data"][0]["ipv6-cidr-blocks"] =
        serde_json::json!(["2603:c020::/48", "2001:0db8:0077::/48"]);
    vcns["data"][0]["ipv6-private-cidr-blocks"] =
        serde_json::json!(["fd00:9::/48", "2001:db8:77::/48", "10.9.0.0/16"]);
    files.insert("network-vcn-list.json".into(), vcns.to_string());
    let imported = zprsim_control::import::oci::import(&files, Some(&services)).unwrap();
    let w = imported.warnings.join("\n");
    assert!(
        w.contains("`2001:db8:77::/48` is listed both as private"),
        "{w}"
    );
    assert!(
        w.contains("lists the IPv4 prefix `10.9.0.0/16`; kept as one of its blocks"),
        "{w}"
    );
    let t = load(&imported.toml);
    assert_eq!(
        t.vcns[0].ipv6_private_cidr_blocks,
        vec![
            "fd00:9::/48".parse::<ipnet::IpNet>().unwrap(),
            "2001:db8:77::/48".parse().unwrap()
        ],
        "{}",
        imported.toml
    );
    let c = Compiled::new(&t, &Config::default()).unwrap();
    for p in both_ways("2001:db8:77:1::10", "2001:db8::1") {
        let d = judge_both(&t, &c, &p, Context::First).unwrap();
        assert_eq!(d.judgement.verdict, Verdict::Drop, "{p}");
    }
}

#[test]
fn a_public_ip_on_a_vnic_without_ipv4_is_said_to_change_nothing() {
    use zprsim_control::load::WarningCode;
    for (public, warned) in [("true", true), ("\"129.80.49.99\"", true), ("false", false)] {
        let text = scenario(
            "",
            &format!(
                "[[vnic]]\nname = \"six\"\nsubnet = \"app\"\nprivate_ips = [\"2603:c020:0:1::10\"]\npublic_ip = {public}\n"
            ),
        );
        let line = text
            .lines()
            .position(|l| l.starts_with("public_ip"))
            .unwrap()
            + 1;
        let w = zprsim_control::load::from_toml_str(&text, "s.toml")
            .unwrap()
            .warnings;
        let of: Vec<_> = w
            .iter()
            .filter(|w| w.code == WarningCode::PublicIpWithoutIpv4)
            .collect();
        assert_eq!(of.len(), usize::from(warned), "{public}: {w:?}");
        if let Some(w) = of.first() {
            assert_eq!(w.line, Some(u32::try_from(line).unwrap()), "{w:?}");
            assert!(w.message.contains("`six`"), "{w:?}");
        }
    }
    // With an IPv4 address, no warning.
    let text = scenario(
        "",
        "[[vnic]]\nname = \"four\"\nsubnet = \"app\"\nprivate_ips = [\"10.0.1.10\"]\npublic_ip = true\n",
    );
    assert!(
        zprsim_control::load::from_toml_str(&text, "s.toml")
            .unwrap()
            .warnings
            .is_empty()
    );
}
