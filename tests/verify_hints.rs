//! `verify`'s hints: applied as written they open what the path stands for; route hints
//! never name what OCI refuses (a NAT gateway for IPv6, a DRG where no rule matches).

use std::path::Path;

use serde_json::Value;

use crate::support::{oke_policies_in, paste_security_hint, root, run_in};

/// Applies every `to_open` hint of a `verify --json` report to scenario
/// TOML as docs/verify.md says to: the rule text added to the NSG's
/// `rules`, or to the security list's array the hint names. How many.
fn apply_hints(scenario: &mut String, report: &Value) -> usize {
    let mut n = 0;
    for hint in report["paths"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["failed"].as_array().unwrap())
        .filter_map(|f| f["to_open"].as_array())
        .flatten()
    {
        *scenario = paste_security_hint(scenario, hint.as_str().unwrap());
        n += 1;
    }
    n
}

/// `verify` of `expect` against `scenario` (both in `dir`), `--json`.
fn verify_json(dir: &Path, scenario: &str, expect: &str) -> (Value, Option<i32>) {
    let s = dir.join("scenario.toml");
    let e = dir.join("expect.toml");
    std::fs::write(&s, scenario).unwrap();
    std::fs::write(&e, expect).unwrap();
    let o = run_in(
        root(),
        ["verify", s.to_str().unwrap(), e.to_str().unwrap(), "--json"],
    );
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    (v, o.status.code())
}

/// `verify`'s `to_open` hint named the witness's own address and port:
/// for `from = "internet"` the one public address verify stands in for
/// the internet (`source = "8.8.8.8/32"`), for `service:LABEL` the first
/// host of the label's first CIDR (`destination = "134.70.0.1/32"`), for a
/// CIDR holding no VNIC (a partner's network) its first host, and for a
/// port range the witness's first failing port (`min = 1, max = 1` for
/// the OKE pack's `workers-to-osn-tcp`, 1-65535). Applied as written,
/// `verify` passed (it probes those same stand-ins) while the shop's
/// front door stayed closed to every other customer, the other Oracle
/// services' CIDRs and ports stayed blocked, and the range needed a hint
/// per port. The hint now names what the selector stands for (`0.0.0.0/0`,
/// the service label, the CIDR) and the path's destination ports; applied
/// once, every path passes, and so do other addresses and ports of what
/// they stand for.
///
/// Found by the twelfth session's review (branch s14-qa).
#[test]
fn a_hint_applied_as_written_opens_what_the_path_stands_for() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let oke = oke_policies_in(d);
    let mut scenario = std::fs::read_to_string(oke.join("scenario.toml")).unwrap();
    // The front door (TCP 443 from anywhere) and every rule to the Oracle
    // Services Network label, removed.
    let front = "  { protocol = \"6\", source = \"0.0.0.0/0\", tcp_options = { destination_port_range = { min = 443, max = 443 } } },\n";
    assert_eq!(scenario.matches(front).count(), 1);
    scenario = scenario.replacen(front, "", 1);
    scenario = scenario
        .lines()
        .filter(|l| !l.contains("destination_type = \"SERVICE_CIDR_BLOCK\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let partner = |from: &str, port: u16| {
        format!(
            "\n[[path]]\nname = \"partner-{port}\"\nfrom = \"{from}\"\nto = \"vnic:orders-lb\"\nproto = \"tcp\"\ndport = {port}\nexpect = \"allow\"\nscope = \"network\"\n"
        )
    };
    let expect = std::fs::read_to_string(oke.join("expect.toml")).unwrap()
        + &partner("198.51.100.0/24", 8443);
    let mut rounds = 0;
    loop {
        let (r, code) = verify_json(d, &scenario, &expect);
        if code == Some(0) {
            break;
        }
        assert_eq!(code, Some(1), "{r}");
        rounds += 1;
        assert!(
            rounds <= 2,
            "hints applied {rounds} times, still failing: {r}"
        );
        assert!(apply_hints(&mut scenario, &r) > 0, "no hint: {r}");
    }
    // What the stand-ins stood for is open: another customer, another
    // address and port of the label, another host of the partner's
    // network.
    let others = format!(
        "{}{}\n[[path]]\nname = \"osn-other\"\nfrom = \"subnet:workers\"\nto = \"147.154.3.3\"\nproto = \"tcp\"\ndport = 8080\nexpect = \"allow\"\nscope = \"network\"\n",
        "[[path]]\nname = \"customer\"\nfrom = \"203.0.113.7\"\nto = \"vnic:orders-lb\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n",
        partner("198.51.100.77", 8443),
    );
    let (r, code) = verify_json(d, &scenario, &others);
    assert_eq!(code, Some(0), "{r}");
}

/// A dual-stack private subnet whose route table is empty, in a VCN with
/// a NAT and an internet gateway, its security list open.
const DUAL_STACK_EMPTY_TABLE: &str = r#"
name = "dual-stack"

[[vcn]]
name = "vcn"
cidr_blocks = ["10.1.0.0/16", "2603:c020:1::/48"]

[[gateway]]
name = "igw"
vcn = "vcn"
kind = "internet"

[[gateway]]
name = "nat"
vcn = "vcn"
kind = "nat"

[[route_table]]
name = "private-rt"
vcn = "vcn"
route_rules = []

[[security_list]]
name = "open-sl"
vcn = "vcn"
ingress_security_rules = []
egress_security_rules = [
  { protocol = "all", destination = "0.0.0.0/0" },
  { protocol = "all", destination = "::/0" },
]

[[subnet]]
name = "app"
vcn = "vcn"
cidr_block = "10.1.1.0/24"
ipv6_cidr_blocks = ["2603:c020:1:1::/64"]
route_table = "private-rt"
security_lists = ["open-sl"]
prohibit_public_ip = true

[[vnic]]
name = "app-1"
subnet = "app"
private_ips = ["10.1.1.10", "2603:c020:1:1::10"]
"#;

/// `verify`'s route hint for a dual-stack VNIC's path to the internet
/// offered `{ destination = "::/0", network_entity = "nat" }` (or through
/// `igw`): OCI refuses that rule (a route rule for an IPv6 prefix targets
/// a DRG or an internet gateway; the NAT gateway is IPv4 only), though
/// the model forwarded it, so the hint was "proven". The IPv6 hint now
/// names the internet gateway; the IPv4 one still the NAT gateway (the
/// subnet is private).
///
/// Found by the sixteenth session's review (branch s18-qa; QA round eleven).
#[test]
fn a_route_hint_for_ipv6_never_names_a_nat_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), DUAL_STACK_EMPTY_TABLE).unwrap();
    std::fs::write(
        d.join("expect.toml"),
        "[[path]]\nname = \"out\"\nfrom = \"vnic:app-1\"\nto = \"internet\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n",
    )
    .unwrap();
    let out = run_in(d, ["verify", "s.toml", "expect.toml", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hints: Vec<&str> = r["paths"][0]["to_open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(hints.len(), 2, "{hints:?}");
    assert!(
        hints.contains(
            &"route: add to route table `private-rt`: { destination = \"0.0.0.0/0\", network_entity = \"nat\" }"
        ),
        "{hints:?}"
    );
    assert!(
        hints.contains(
            &"route: add to route table `private-rt`: { destination = \"::/0\", network_entity = \"igw\" }"
        ),
        "{hints:?}"
    );
    // Applied, they open the path both ways of addressing.
    let applied = DUAL_STACK_EMPTY_TABLE.replace(
        "route_rules = []",
        "route_rules = [{ destination = \"0.0.0.0/0\", network_entity = \"nat\" }, { destination = \"::/0\", network_entity = \"igw\" }]",
    );
    std::fs::write(d.join("s.toml"), applied).unwrap();
    let out = run_in(d, ["verify", "s.toml", "expect.toml"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// A dual-stack VCN whose route table has no IPv6 rule yet: VNIC `ula`
/// has a unique local IPv6 address, `private` one in a private prefix of
/// global form, `global` an Oracle-allocated one.
const NO_V6_ROUTE: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16", "2603:c020::/48", "fd00:9::/48"]
ipv6_private_cidr_blocks = ["2001:db8:77::/48"]
[[gateway]]
name = "igw"
vcn = "v"
kind = "internet"
[[gateway]]
name = "drg"
vcn = "v"
kind = "drg"
[[route_table]]
name = "rt"
vcn = "v"
route_rules = [{ destination = "0.0.0.0/0", network_entity = "igw" }]
[[security_list]]
name = "open"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }, { destination = "::/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }, { source = "::/0", protocol = "all" }]
[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.0.1.0/24"
ipv6_cidr_blocks = ["2603:c020:0:1::/64", "fd00:9:0:1::/64", "2001:db8:77:1::/64"]
route_table = "rt"
security_lists = ["open"]
[[vnic]]
name = "ula"
subnet = "app"
private_ips = ["10.0.1.10", "fd00:9:0:1::10"]
[[vnic]]
name = "private"
subnet = "app"
private_ips = ["10.0.1.12", "2001:db8:77:1::12"]
[[vnic]]
name = "global"
subnet = "app"
private_ips = ["10.0.1.11", "2603:c020:0:1::11"]
"#;

/// `verify NO_V6_ROUTE` of the paths between `vnic:NAME` and `internet`,
/// both ways: each path's IPv6 failing pair's route hints.
fn internet_hints(name: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), NO_V6_ROUTE).unwrap();
    let path = |n: &str, from: &str, to: &str| {
        format!(
            "[[path]]\nname = \"{n}\"\nfrom = \"{from}\"\nto = \"{to}\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n"
        )
    };
    let v = format!("vnic:{name}");
    std::fs::write(
        dir.path().join("e.toml"),
        path("out", &v, "internet") + &path("in", "internet", &v),
    )
    .unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    j["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            // Only the IPv6 pair fails: IPv4 goes through the internet
            // gateway.
            assert_eq!(p["failed"].as_array().map(Vec::len), Some(1), "{p}");
            let f = &p["failed"][0];
            assert!(f.to_string().contains("2001:4860::8888"), "{f}");
            p["to_open"].clone()
        })
        .collect()
}

/// The seventeenth session took the DRG hint away from an IPv6 address
/// the internet does not route when a rule to the internet gateway drops
/// it; with no IPv6 rule at all the hint was still `::/0` to the DRG, for
/// `vnic:ula -> internet` and back: every VNIC of the table would have
/// sent its internet IPv6 on-premises (and `global`'s `::/0` to the
/// internet gateway, written second, would never win).
///
/// Found by QA round thirteen, on the seventeenth session's paths.
#[test]
fn no_route_hint_sends_the_internet_of_a_ula_to_a_drg_where_no_rule_matches() {
    for name in ["ula", "private"] {
        for hints in internet_hints(name) {
            assert!(
                hints.as_array().is_none_or(Vec::is_empty),
                "{name}: {hints}"
            );
        }
    }
    // An address the internet routes still gets the internet gateway.
    for hints in internet_hints("global") {
        assert!(
            hints[0]
                .as_str()
                .unwrap_or_default()
                .starts_with("route: add to route table `rt`: { destination = \"::/0\", network_entity = \"igw\" }"),
            "{hints}"
        );
    }
}
