//! Loader tests: the spec example, every error and warning, JSON
//! equivalence, `file =` policies, and hostile input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// The example of `scenario-format.md`, with the `sgw` gateway and the
/// `pods-nsg` NSG it refers to but does not define.
const EXAMPLE: &str = r#"name = "oke-orders"              # optional

# Service CIDR labels. osn-services-ip-addresses in ZPL is the union of all of them.
[services]
"all-iad-services-in-oracle-services-network" = ["134.70.0.0/17", "147.154.0.0/16"]

[[vcn]]
name = "backend-vcn"
cidr_blocks = ["10.0.0.0/16"]
security_attributes = { network = { vcn = { value = "backend" } } }   # -> network.vcn:backend
# is_zpr_only = false

[[gateway]]
name = "natgw"
vcn = "backend-vcn"
kind = "nat"                     # internet | nat | service | drg | lpg

[[gateway]]
name = "sgw"
vcn = "backend-vcn"
kind = "service"

[[route_table]]
name = "private-rt"
vcn = "backend-vcn"
route_rules = [
  { destination = "0.0.0.0/0", network_entity = "natgw" },
  { destination = "all-iad-services-in-oracle-services-network", destination_type = "SERVICE_CIDR_BLOCK", network_entity = "sgw" },
  # network_entity may also name a VNIC private IP: { destination = "10.0.3.0/24", network_entity = "10.0.1.5" }
]

[[security_list]]
name = "pods-sl"
vcn = "backend-vcn"
ingress_security_rules = [
  { protocol = "6", source = "10.0.0.0/16", tcp_options = { destination_port_range = { min = 443, max = 443 } } },
  { protocol = "1", source = "0.0.0.0/0", icmp_options = { type = 3, code = 4 } },
]
egress_security_rules = [
  { protocol = "all", destination = "0.0.0.0/0" },
  { protocol = "17", destination = "10.0.0.0/16", is_stateless = true, udp_options = { destination_port_range = { min = 53, max = 53 } } },
]

[[nsg]]
name = "pods-nsg"
vcn = "backend-vcn"
rules = [
  { direction = "EGRESS", protocol = "all", destination = "0.0.0.0/0" },
]

[[nsg]]
name = "fss-nsg"
vcn = "backend-vcn"
rules = [
  { direction = "INGRESS", protocol = "6", source = "pods-nsg", source_type = "NETWORK_SECURITY_GROUP",
    tcp_options = { destination_port_range = { min = 2049, max = 2050 } } },
  { direction = "EGRESS", protocol = "all", destination = "0.0.0.0/0" },
]

[[subnet]]
name = "pods"
vcn = "backend-vcn"
cidr_block = "10.0.10.0/24"       # IPv4 or IPv6
# ipv6_cidr_blocks = ["fd00:10::/64"]   optional, for dual-stack subnets
route_table = "private-rt"
security_lists = ["pods-sl"]

[[vnic]]
name = "orders-api-pod-1"
subnet = "pods"
private_ips = ["10.0.10.11"]
nsgs = ["pods-nsg"]
kind = "pod"                     # instance | node | pod | load-balancer | mount-target | api-endpoint | ...
security_attributes = { app = { workload = { value = "orders-api", mode = "enforce" } } }
# route_table = "..."            # overrides the subnet's

[[zpr_policy]]
name = "orders"
statements = [
  "in network.vcn:backend VCN allow app.workload:orders-api endpoints to connect to storage.dataset:orders-fss endpoints with protocol='tcp/2049-2050'",
]
"#;

/// A VCN and a subnet; cases append objects after it (line 8 onwards).
const BASE: &str = r#"[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[subnet]]
name = "s"
vcn = "v"
cidr_block = "10.0.1.0/24"
"#;

fn with_base(extra: &str) -> String {
    format!("{BASE}{extra}")
}

fn toml_err(text: &str) -> LoadError {
    match from_toml_str(text, "s.toml") {
        Ok(l) => panic!("expected an error, loaded {:#?}", l.scenario),
        Err(e) => e,
    }
}

/// The warnings of `text`, without the lint warnings about attributes no
/// endpoint carries (the cases here name attributes freely; `lint.rs`
/// tests those).
fn toml_warnings(text: &str) -> Vec<String> {
    match from_toml_str(text, "s.toml") {
        Ok(l) => l
            .warnings
            .iter()
            .filter(|w| w.code != crate::warning::WarningCode::UnknownAttribute)
            .map(ToString::to_string)
            .collect(),
        Err(e) => panic!("expected a scenario, got {e}"),
    }
}

/// One test per error: scenario text (appended to [`BASE`]) and the exact
/// rendered message.
macro_rules! error_case {
    ($name:ident, $extra:expr, $expected:expr) => {
        #[test]
        fn $name() {
            let e = toml_err(&with_base($extra));
            assert_eq!(e.to_string(), $expected);
        }
    };
}

use std::collections::HashMap;
use std::net::IpAddr;

use crate::ids::{GatewayId, NsgId, RouteTableId, SecurityListId, ServiceId, SubnetId, VcnId};
use crate::model::{
    Attribute, Direction, GatewayKind, Mode, Peer, PortRange, Protocol, RouteDestination,
    RouteTarget, RuleOptions, SecurityAttribute, ZprOnlyMode,
};
use crate::zpl::ast::StatementKind;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn net(s: &str) -> ipnet::IpNet {
    s.parse().unwrap()
}

#[test]
fn example_round() {
    let l = from_toml_str(EXAMPLE, "example.toml").unwrap();
    // The mount target is left out of this copy of the example: the lint
    // says its attribute is carried by no endpoint, at the term.
    let w: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "example.toml:80:85: warning: in zpr_policy `orders`: no VNIC or VCN carries `storage.dataset:orders-fss`, so this statement never matches it"
        ]
    );
    let s = &l.scenario;
    assert_eq!(s.name.as_deref(), Some("oke-orders"));
    assert_eq!(s.options, crate::model::Options::default());

    assert_eq!(s.services.len(), 1);
    assert_eq!(
        s.services[0].name,
        "all-iad-services-in-oracle-services-network"
    );
    assert_eq!(
        s.services[0].cidrs,
        vec![net("134.70.0.0/17"), net("147.154.0.0/16")]
    );

    assert_eq!(s.vcns.len(), 1);
    let v = &s.vcns[0];
    assert_eq!(v.name, "backend-vcn");
    assert_eq!(v.cidr_blocks, vec![net("10.0.0.0/16")]);
    assert_eq!(
        v.attribute,
        Some(Attribute::new("network", "vcn", "backend"))
    );
    assert!(!v.is_zpr_only);

    let kinds: Vec<_> = s
        .gateways
        .iter()
        .map(|g| (g.name.as_str(), g.kind, g.vcn))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("natgw", GatewayKind::Nat, VcnId::new(0).unwrap()),
            ("sgw", GatewayKind::Service, VcnId::new(0).unwrap())
        ]
    );

    let rt = &s.route_tables[0];
    assert_eq!(rt.name, "private-rt");
    assert_eq!(rt.rules.len(), 2);
    assert_eq!(
        rt.rules[0].destination,
        RouteDestination::Cidr(net("0.0.0.0/0"))
    );
    assert_eq!(
        rt.rules[0].target,
        RouteTarget::Gateway(GatewayId::new(0).unwrap())
    );
    assert_eq!(
        rt.rules[1].destination,
        RouteDestination::Service(ServiceId::new(0).unwrap())
    );
    assert_eq!(
        rt.rules[1].target,
        RouteTarget::Gateway(GatewayId::new(1).unwrap())
    );

    let sl = &s.security_lists[0];
    assert_eq!(sl.ingress.len(), 2);
    assert_eq!(sl.egress.len(), 2);
    let r = &sl.ingress[0];
    assert_eq!(r.direction, Direction::Ingress);
    assert_eq!(r.protocol, Protocol::Number(6));
    assert_eq!(r.peer, Peer::Cidr(net("10.0.0.0/16")));
    assert!(!r.stateless);
    assert_eq!(
        r.options,
        RuleOptions::Ports {
            src: None,
            dst: Some(PortRange { min: 443, max: 443 })
        }
    );
    assert_eq!(
        sl.ingress[1].options,
        RuleOptions::Icmp {
            icmp_type: 3,
            code: Some(4)
        }
    );
    assert_eq!(sl.egress[0].protocol, Protocol::All);
    assert_eq!(sl.egress[0].direction, Direction::Egress);
    assert_eq!(sl.egress[0].options, RuleOptions::None);
    assert!(sl.egress[1].stateless);
    assert_eq!(
        sl.egress[1].options,
        RuleOptions::Ports {
            src: None,
            dst: Some(PortRange { min: 53, max: 53 })
        }
    );

    assert_eq!(s.nsgs.len(), 2);
    let fss = &s.nsgs[1];
    assert_eq!(fss.name, "fss-nsg");
    assert_eq!(fss.rules[0].peer, Peer::Nsg(NsgId::new(0).unwrap()));
    assert_eq!(
        fss.rules[0].options,
        RuleOptions::Ports {
            src: None,
            dst: Some(PortRange {
                min: 2049,
                max: 2050
            })
        }
    );
    assert_eq!(fss.rules[1].direction, Direction::Egress);

    let sub = &s.subnets[0];
    assert_eq!(sub.cidrs, vec![net("10.0.10.0/24")]);
    assert_eq!(sub.route_table, Some(RouteTableId::new(0).unwrap()));
    assert_eq!(sub.security_lists, vec![SecurityListId::new(0).unwrap()]);

    let vn = &s.vnics[0];
    assert_eq!(vn.name, "orders-api-pod-1");
    assert_eq!(vn.subnet, SubnetId::new(0).unwrap());
    assert_eq!(vn.private_ips, vec![ip("10.0.10.11")]);
    assert_eq!(vn.nsgs, vec![NsgId::new(0).unwrap()]);
    assert_eq!(vn.kind, "pod");
    assert_eq!(vn.route_table, None);
    assert_eq!(
        vn.attributes,
        vec![SecurityAttribute {
            attribute: Attribute::new("app", "workload", "orders-api"),
            mode: Mode::Enforce
        }]
    );

    let p = &s.zpr_policies[0];
    assert_eq!(p.name, "orders");
    assert_eq!(p.statements.len(), 1);
    let st = &p.statements[0];
    assert!(st.text.starts_with("in network.vcn:backend VCN allow"));
    assert!(matches!(st.statement.kind, StatementKind::Scoped { .. }));
    // Line 80 is `  "in network...`: the statement starts one past the quote.
    assert_eq!(
        (st.origin.file.as_str(), st.origin.line, st.origin.column),
        ("example.toml", 80, 4)
    );
    assert_eq!(EXAMPLE.lines().nth(79).unwrap().find("in network"), Some(3));
}

#[test]
fn defaults_are_applied() {
    let l = from_toml_str(
        &with_base(
            "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nsecurity_attributes = { app = { tier = { value = \"web\", mode = \"audit\" } } }\n",
        ),
        "s.toml",
    )
    .unwrap();
    let s = &l.scenario;
    assert_eq!(s.vnics[0].kind, "instance");
    assert_eq!(s.vnics[0].attributes[0].mode, Mode::Audit);
    assert_eq!(s.subnets[0].route_table, None);
    assert!(s.subnets[0].security_lists.is_empty());
    assert_eq!(s.vcns[0].attribute, None);
    assert_eq!(s.options.max_statements_per_policy, 25);
    assert_eq!(s.options.zpr_only, ZprOnlyMode::Report);
    assert!(s.name.is_none());
}

/// `vnics_unknown` on a subnet (since the twenty-eighth session): false
/// when not given, read from TOML and from JSON alike, and a value that is
/// not a boolean is refused where it stands.
#[test]
fn a_subnet_says_its_vnics_are_unknown() {
    let flagged = "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n[[subnet]]\nname = \"s\"\nvcn = \"v\"\ncidr_block = \"10.0.1.0/24\"\nvnics_unknown = true\n[[subnet]]\nname = \"t\"\nvcn = \"v\"\ncidr_block = \"10.0.2.0/24\"\nvnics_unknown = false\n";
    let plain = from_toml_str(BASE, "s.toml").unwrap().scenario;
    assert!(!plain.subnets[0].vnics_unknown);
    let t = from_toml_str(flagged, "s.toml").unwrap().scenario;
    assert!(t.subnets[0].vnics_unknown && !t.subnets[1].vnics_unknown);
    let j = from_json_str(&toml_to_json(flagged), "s.json")
        .unwrap()
        .scenario;
    assert_same_model(&t, &j);
    assert!(j.subnets[0].vnics_unknown);
    let e = toml_err(&format!("{BASE}vnics_unknown = \"yes\"\n"));
    assert!(
        e.to_string().starts_with("s.toml:8:17:") && e.to_string().contains("bool"),
        "{e}"
    );
}

#[test]
fn options_references_by_id_aliases_and_protocol_forms() {
    let text = r#"[options]
zpr_only = "default-deny"
max_statements_per_policy = 3

[[vcn]]
name = "v"
id = "ocid1.vcn.oc1..v"
cidr_blocks = ["10.0.0.0/16", "fd00::/48"]
is_zpr_only = true

[[gateway]]
name = "igw"
id = "ocid1.internetgateway.oc1..a"
vcn = "ocid1.vcn.oc1..v"
kind = "INTERNET"

[[route_table]]
name = "rt"
vcn = "v"
route_rules = [
  { cidr_block = "0.0.0.0/0", network_entity_id = "ocid1.internetgateway.oc1..a", description = "default" },
  { destination = "10.0.9.0/24", network_entity = "fd00:0:0:1::5" },
]

[[nsg]]
name = "n"
id = "ocid1.nsg.oc1..n"
vcn = "v"
rules = [
  { direction = "ingress", protocol = "TCP", source = "ocid1.nsg.oc1..n", source_type = "NETWORK_SECURITY_GROUP" },
  { direction = "EGRESS", protocol = 17, destination = "::/0" },
  { direction = "EGRESS", protocol = "icmpv6", destination = "::/0", icmp_options = { type = 128 } },
  { direction = "EGRESS", protocol = "47", destination = "10.0.0.0/8" },
]

[[subnet]]
name = "s"
vcn = "v"
cidr_block = "10.0.1.0/24"
ipv6_cidr_blocks = ["fd00:0:0:1::/64"]
route_table = "rt"

[[vnic]]
name = "a"
subnet = "s"
private_ips = ["10.0.1.5", "fd00:0:0:1::5"]
nsgs = ["ocid1.nsg.oc1..n"]
route_table = "rt"
"#;
    let l = from_toml_str(text, "s.toml").unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let s = &l.scenario;
    assert_eq!(s.options.zpr_only, ZprOnlyMode::DefaultDeny);
    assert_eq!(s.options.max_statements_per_policy, 3);
    assert!(s.vcns[0].is_zpr_only);
    assert_eq!(s.vcns[0].id.as_deref(), Some("ocid1.vcn.oc1..v"));
    assert_eq!(s.gateways[0].kind, GatewayKind::Internet);
    let rules = &s.route_tables[0].rules;
    assert_eq!(
        rules[0].destination,
        RouteDestination::Cidr(net("0.0.0.0/0"))
    );
    assert_eq!(
        rules[0].target,
        RouteTarget::Gateway(GatewayId::new(0).unwrap())
    );
    assert_eq!(rules[0].description.as_deref(), Some("default"));
    assert_eq!(
        rules[1].target,
        RouteTarget::PrivateIp {
            ip: ip("fd00:0:0:1::5"),
            vnic: crate::ids::VnicId::new(0).unwrap()
        }
    );
    let nr = &s.nsgs[0].rules;
    assert_eq!(nr[0].direction, Direction::Ingress);
    assert_eq!(nr[0].protocol, Protocol::Number(6));
    assert_eq!(nr[0].peer, Peer::Nsg(NsgId::new(0).unwrap()));
    assert_eq!(nr[1].protocol, Protocol::Number(17));
    assert_eq!(nr[2].protocol, Protocol::Number(58));
    assert_eq!(
        nr[2].options,
        RuleOptions::Icmp {
            icmp_type: 128,
            code: None
        }
    );
    assert_eq!(nr[3].protocol, Protocol::Number(47));
    assert_eq!(
        s.subnets[0].cidrs,
        vec![net("10.0.1.0/24"), net("fd00:0:0:1::/64")]
    );
    assert_eq!(s.vnics[0].route_table, Some(RouteTableId::new(0).unwrap()));
    assert_eq!(
        s.vnics[0].private_ips,
        vec![ip("10.0.1.5"), ip("fd00:0:0:1::5")]
    );
}

#[test]
fn error_fields_name_object_field_and_position() {
    let e = toml_err(&with_base(
        "[[vnic]]\nname = \"orders-api-pod-1\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.4\", \"10.0.9.1\"]\n",
    ));
    assert_eq!(e.file, "s.toml");
    assert_eq!((e.line, e.column), (Some(11), Some(28)));
    assert_eq!(e.object.as_deref(), Some("vnic `orders-api-pod-1`"));
    assert_eq!(e.field.as_deref(), Some("private_ips"));
    assert_eq!(
        e.message,
        "address `10.0.9.1` is outside subnet `s` (10.0.1.0/24)"
    );
    assert_eq!(e.rendered_zpl, None);
}

#[test]
fn line_col_counts_characters() {
    let t = "ab\nçd\n";
    assert_eq!(line_col(t, 0), (1, 1));
    assert_eq!(line_col(t, 3), (2, 1));
    assert_eq!(line_col(t, 5), (2, 2)); // after the two-byte `ç`
    assert_eq!(line_col(t, 4), (2, 1)); // inside `ç`: clamped to its start
    assert_eq!(line_col(t, 999), (3, 1));
}

#[test]
fn format_from_file_name() {
    assert_eq!(Format::from_file_name("a/b.TOML"), Some(Format::Toml));
    assert_eq!(Format::from_file_name("b.json"), Some(Format::Json));
    assert_eq!(Format::from_file_name("b.yaml"), None);
    assert_eq!(Format::from_file_name("json"), None);
}

#[test]
fn too_large_text_is_refused() {
    let big = " ".repeat(MAX_SCENARIO_BYTES + 1);
    let e = from_toml_str(&big, "big.toml").unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "big.toml: error: the scenario is {} bytes long; at most 268435456 bytes are accepted",
            MAX_SCENARIO_BYTES + 1
        )
    );
}

// --- JSON -------------------------------------------------------------------

/// The same model, apart from where statements were written.
fn assert_same_model(a: &crate::model::Scenario, b: &crate::model::Scenario) {
    assert_eq!(a.name, b.name);
    assert_eq!(a.services, b.services);
    assert_eq!(a.vcns, b.vcns);
    assert_eq!(a.gateways, b.gateways);
    assert_eq!(a.route_tables, b.route_tables);
    assert_eq!(a.security_lists, b.security_lists);
    assert_eq!(a.nsgs, b.nsgs);
    assert_eq!(a.subnets, b.subnets);
    assert_eq!(a.vnics, b.vnics);
    assert_eq!(a.options, b.options);
    assert_eq!(a.zpr_policies.len(), b.zpr_policies.len());
    for (p, q) in a.zpr_policies.iter().zip(&b.zpr_policies) {
        assert_eq!((&p.name, &p.id), (&q.name, &q.id));
        assert_eq!(p.statements.len(), q.statements.len());
        for (x, y) in p.statements.iter().zip(&q.statements) {
            assert_eq!(x.text, y.text);
            assert_eq!(x.statement, y.statement);
        }
    }
}

fn toml_to_json(text: &str) -> String {
    let v: toml::Value = toml::from_str(text).unwrap();
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn json_equals_toml_for_the_example() {
    let json = toml_to_json(EXAMPLE);
    let t = from_toml_str(EXAMPLE, "example.toml").unwrap();
    let j = from_json_str(&json, "example.json").unwrap();
    assert_same_model(&t.scenario, &j.scenario);
    assert_eq!(j.warnings.len(), 1, "{:?}", j.warnings);
    assert_eq!(
        j.warnings[0].code,
        crate::warning::WarningCode::UnknownAttribute
    );
    // Statement origins point into the JSON text.
    let st = &j.scenario.zpr_policies[0].statements[0];
    let line = json.lines().nth(st.origin.line as usize - 1).unwrap();
    let col = st.origin.column as usize - 1;
    assert!(
        line.chars()
            .skip(col)
            .collect::<String>()
            .starts_with("in network.vcn:backend")
    );
    assert_eq!(st.origin.file, "example.json");
}

#[test]
fn json_cli_style_nulls_are_absent() {
    let json = r#"{
  "vcn": [{ "name": "v", "id": null, "cidr_blocks": ["10.0.0.0/16"] }],
  "security_list": [{
    "name": "l", "vcn": "v",
    "ingress_security_rules": [
      { "description": null, "icmp_options": null, "is_stateless": false, "protocol": "6",
        "source": "0.0.0.0/0", "source_type": "CIDR_BLOCK",
        "tcp_options": { "destination_port_range": { "max": 22, "min": 22 }, "source_port_range": null },
        "udp_options": null },
      { "description": null, "icmp_options": { "code": null, "type": 3 }, "is_stateless": null,
        "protocol": "1", "source": "10.0.0.0/16", "source_type": null,
        "tcp_options": null, "udp_options": null }
    ],
    "egress_security_rules": [
      { "description": null, "destination": "0.0.0.0/0", "destination_type": "CIDR_BLOCK",
        "icmp_options": null, "is_stateless": false, "protocol": "all",
        "tcp_options": null, "udp_options": null }
    ]
  }]
}"#;
    let toml = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[security_list]]
name = "l"
vcn = "v"
ingress_security_rules = [
  { protocol = "6", source = "0.0.0.0/0", tcp_options = { destination_port_range = { min = 22, max = 22 } } },
  { protocol = "1", source = "10.0.0.0/16", icmp_options = { type = 3 } },
]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]
"#;
    let j = from_json_str(json, "s.json").unwrap();
    let t = from_toml_str(toml, "s.toml").unwrap();
    assert!(j.warnings.is_empty(), "{:?}", j.warnings);
    assert_same_model(&t.scenario, &j.scenario);
    assert_eq!(
        j.scenario.security_lists[0].ingress[1].options,
        RuleOptions::Icmp {
            icmp_type: 3,
            code: None
        }
    );
}

#[test]
fn json_syntax_error_has_line_and_column() {
    let e = from_json_str(
        "{\n  \"vcn\": [\n    { \"name\": \"v\", }\n  ]\n}",
        "s.json",
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "s.json:3:20: error: trailing comma");
}

#[test]
fn json_unknown_field_has_line_and_column() {
    let e = from_json_str("{\n  \"vcns\": []\n}", "s.json").unwrap_err();
    assert_eq!(
        e.to_string(),
        "s.json:2:8: error: unknown field `vcns`; did you mean `vcn`? (expected one of `name`, `services`, `vcn`, `gateway`, `route_table`, `security_list`, `nsg`, `subnet`, `vnic`, `zpr_policy`, `options`)"
    );
}

#[test]
fn json_semantic_error_names_object_and_field() {
    let json = toml_to_json(&with_base(
        "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.9.1\"]\n",
    ));
    let e = from_json_str(&json, "s.json").unwrap_err();
    // The position of the value, as for TOML: spans are where serde_json's
    // borrowed raw values sit in the document.
    let at = json.find("\"10.0.9.1\"").unwrap();
    let line = json[..at].matches('\n').count() + 1;
    let column = at - json[..at].rfind('\n').map_or(0, |n| n + 1) + 1;
    assert_eq!(
        e.to_string(),
        format!(
            "s.json:{line}:{column}: error: in vnic `a`, field `private_ips`: address `10.0.9.1` is outside subnet `s` (10.0.1.0/24)"
        )
    );
}

/// A value that fails to read inside a value read with its span is
/// placed where it fails, not where the outer value ends; nested too.
#[test]
fn json_errors_inside_spanned_values_have_their_own_position() {
    // A duplicate attribute namespace key inside `security_attributes`
    // (an `Sp` map of maps), on line 3, at the closing quote of the
    // repeated key as for a duplicate key at the top level.
    let json = "{\"vcn\": [{\"name\": \"v\", \"cidr_blocks\": [\"10.0.0.0/16\"],\n\"security_attributes\": {\"app\": {\"k\": {\"value\": \"x\"}},\n  \"app\": {}}}]}";
    let e = from_json_str(json, "s.json").unwrap_err();
    assert_eq!(e.to_string(), "s.json:3:7: error: duplicate key `app`");
    // A value of the wrong type inside an attribute value (`value` must be
    // a string), on line 2.
    let json = "{\"vcn\": [{\"name\": \"v\", \"cidr_blocks\": [\"10.0.0.0/16\"],\n\"security_attributes\": {\"app\": {\"k\": {\"value\": 5}}}}]}";
    let e = from_json_str(json, "s.json").unwrap_err().to_string();
    assert!(e.starts_with("s.json:2:"), "{e}");
    assert!(e.contains("expected a string"), "{e}");
}

#[test]
fn json_duplicate_key_is_an_error() {
    let json = r#"{ "services": { "a": ["10.0.0.0/8"], "a": ["11.0.0.0/8"] } }"#;
    let e = from_json_str(json, "s.json").unwrap_err();
    assert_eq!(e.to_string(), "s.json:1:40: error: duplicate key `a`");
}

/// Past the small maps' scan the duplicate check is a hash set: a key
/// repeated at any place of a long map is still found, the first repeat.
#[test]
fn json_duplicate_key_in_a_long_map_is_an_error() {
    for (n, dup) in [(15, 3), (16, 0), (17, 16), (40, 39), (40, 7)] {
        let mut keys: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        keys.push(format!("k{dup}"));
        keys.push("k0".to_owned());
        let body: Vec<String> = keys
            .iter()
            .map(|k| format!(r#""{k}": ["10.0.0.0/8"]"#))
            .collect();
        let json = format!(r#"{{ "services": {{ {} }} }}"#, body.join(", "));
        let e = from_json_str(&json, "s.json").unwrap_err();
        assert!(
            e.to_string()
                .ends_with(&format!("error: duplicate key `k{dup}`")),
            "{n} keys, repeat of k{dup}: {e}"
        );
    }
}

#[test]
fn json_zpl_error_points_into_the_json_text() {
    let json = "{\n  \"zpr_policy\": [{\n    \"name\": \"p\",\n    \"statements\": [\"in net:prod VCN allow app:web to connnect to app:db\"]\n  }]\n}";
    let e = from_json_str(json, "s.json").unwrap_err();
    assert_eq!(
        e.to_string(),
        "error: expected `connect`, found `connnect`\n  --> s.json:4:54\n   |\n 4 | in net:prod VCN allow app:web to connnect to app:db\n   |                                  ^^^^^^^^"
    );
    assert_eq!((e.line, e.column), (Some(4), Some(54)));
    assert_eq!(e.object.as_deref(), Some("zpr policy `p`"));
    assert_eq!(e.field.as_deref(), Some("statements[0]"));
}

// --- syntax and shape -------------------------------------------------------

#[test]
fn unknown_top_level_field() {
    let e = toml_err(&format!("colour = \"blue\"\n{BASE}"));
    assert_eq!(
        e.to_string(),
        "s.toml:1:1: error: unknown field `colour`, expected one of `name`, `services`, `vcn`, `gateway`, `route_table`, `security_list`, `nsg`, `subnet`, `vnic`, `zpr_policy`, `options`"
    );
}
error_case!(
    unknown_nested_field,
    "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nprivate_ip = \"10.0.1.6\"\n",
    "s.toml:12:1: error: unknown field `private_ip`; did you mean `private_ips`? (expected one of `name`, `id`, `subnet`, `private_ips`, `nsgs`, `kind`, `security_attributes`, `route_table`, `skip_source_dest_check`, `public_ip`, `stand_in`)"
);
error_case!(
    unknown_rule_field,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"6\", source = \"10.0.0.0/8\", destination = \"10.0.0.0/8\" }]\n",
    "s.toml:11:68: error: unknown field `destination`, expected one of `protocol`, `source`, `source_type`, `is_stateless`, `tcp_options`, `udp_options`, `icmp_options`, `description`"
);
error_case!(
    toml_syntax_error,
    "[[vnic]\nname = \"a\"\n",
    "s.toml:8:8: error: unclosed array table, expected `]`"
);
error_case!(
    missing_required_field,
    "[[vnic]]\nname = \"a\"\nprivate_ips = [\"10.0.1.5\"]\n",
    "s.toml:8:1: error: missing field `subnet`"
);
// A number field's type error said "expected i64" (and "integer `N` as
// i128"), the Rust type it is read into. Found by QA round twenty.
error_case!(
    a_port_with_a_fraction_says_an_integer_is_expected,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"6\", source = \"0.0.0.0/0\", tcp_options = { destination_port_range = { min = 22.5, max = 22 } } }]\n",
    "s.toml:11:116: error: invalid type: floating point `22.5`, expected an integer"
);
error_case!(
    a_port_past_any_integer_says_it_is_too_large,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"6\", source = \"0.0.0.0/0\", tcp_options = { destination_port_range = { min = 99999999999999999999, max = 22 } } }]\n",
    "s.toml:11:116: error: integer `99999999999999999999` is too large for any number field here"
);
error_case!(
    a_port_past_i64_says_it_is_too_large,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"6\", source = \"0.0.0.0/0\", tcp_options = { destination_port_range = { min = 9223372036854775808, max = 22 } } }]\n",
    "s.toml:11:116: error: integer `9223372036854775808` is too large for any number field here"
);
error_case!(
    wrong_value_type,
    "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = \"10.0.1.5\"\n",
    "s.toml:11:15: error: invalid type: string \"10.0.1.5\", expected a sequence"
);

// --- references ------------------------------------------------------------

error_case!(
    dangling_reference,
    "[[vnic]]\nname = \"a\"\nsubnet = \"nope\"\nprivate_ips = [\"10.0.1.5\"]\n",
    "s.toml:10:10: error: in vnic `a`, field `subnet`: no subnet has the name or id `nope`"
);
error_case!(
    wrong_kind_reference,
    "[[vnic]]\nname = \"a\"\nsubnet = \"v\"\nprivate_ips = [\"10.0.1.5\"]\n",
    "s.toml:10:10: error: in vnic `a`, field `subnet`: `v` is a vcn, not a subnet"
);
error_case!(
    route_target_wrong_kind,
    "[[route_table]]\nname = \"rt\"\nvcn = \"v\"\nroute_rules = [{ destination = \"0.0.0.0/0\", network_entity = \"s\" }]\n",
    "s.toml:11:62: error: in route table `rt`, field `route_rules[0].network_entity`: `s` is a subnet, not a gateway or a private ip"
);
error_case!(
    route_target_dangling,
    "[[route_table]]\nname = \"rt\"\nvcn = \"v\"\nroute_rules = [{ destination = \"0.0.0.0/0\", network_entity = \"igw\" }]\n",
    "s.toml:11:62: error: in route table `rt`, field `route_rules[0].network_entity`: no gateway has the name or id `igw`, and it is not an ip address"
);
error_case!(
    duplicate_name,
    "[[subnet]]\nname = \"s\"\nvcn = \"v\"\ncidr_block = \"10.0.2.0/24\"\n",
    "s.toml:9:8: error: in subnet `s`, field `name`: another subnet is already named `s` (line 5)"
);
error_case!(
    duplicate_id,
    "[[gateway]]\nname = \"g\"\nid = \"ocid1.x\"\nvcn = \"v\"\nkind = \"nat\"\n[[nsg]]\nname = \"n\"\nid = \"ocid1.x\"\nvcn = \"v\"\n",
    "s.toml:15:6: error: in nsg `n`, field `id`: id `ocid1.x` is already the id of gateway `g`"
);
error_case!(
    reference_by_id_of_wrong_kind,
    "[[gateway]]\nname = \"g\"\nid = \"ocid1.gw\"\nvcn = \"v\"\nkind = \"nat\"\n[[vnic]]\nname = \"a\"\nsubnet = \"ocid1.gw\"\nprivate_ips = [\"10.0.1.5\"]\n",
    "s.toml:15:10: error: in vnic `a`, field `subnet`: `ocid1.gw` is a gateway, not a subnet"
);

// --- CIDRs and addresses ----------------------------------------------------

error_case!(
    bad_cidr,
    "[[vcn]]\nname = \"w\"\ncidr_blocks = [\"10.1.0.0/33\"]\n",
    "s.toml:10:16: error: in vcn `w`, field `cidr_blocks`: `10.1.0.0/33` is not a cidr block"
);
error_case!(
    cidr_with_host_bits,
    "[[vcn]]\nname = \"w\"\ncidr_blocks = [\"10.1.0.1/16\"]\n",
    "s.toml:10:16: error: in vcn `w`, field `cidr_blocks`: cidr block `10.1.0.1/16` has host bits set (write `10.1.0.0/16`; host bits are an error here)"
);
error_case!(
    vcn_without_cidr,
    "[[vcn]]\nname = \"w\"\n",
    "s.toml:9:8: error: in vcn `w`, field `cidr_blocks`: a vcn needs at least one cidr block"
);
error_case!(
    bad_ip,
    "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.300\"]\n",
    "s.toml:11:16: error: in vnic `a`, field `private_ips`: `10.0.1.300` is not an ip address"
);
error_case!(
    ip_outside_subnet,
    "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.9.1\"]\n",
    "s.toml:11:16: error: in vnic `a`, field `private_ips`: address `10.0.9.1` is outside subnet `s` (10.0.1.0/24)"
);
error_case!(
    vnic_without_ip,
    "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\n",
    "s.toml:9:8: error: in vnic `a`, field `private_ips`: a vnic needs at least one private ip"
);
error_case!(
    duplicate_ip_across_vnics,
    "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\n[[vnic]]\nname = \"b\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.6\", \"10.0.1.5\"]\n",
    "s.toml:15:28: error: in vnic `b`, field `private_ips`: address `10.0.1.5` is already held by vnic `a`"
);
error_case!(
    overlapping_vcns,
    "[[vcn]]\nname = \"w\"\ncidr_blocks = [\"192.168.0.0/16\", \"10.0.128.0/20\"]\n",
    "s.toml:10:34: error: in vcn `w`, field `cidr_blocks`: cidr block `10.0.128.0/20` overlaps cidr block `10.0.0.0/16` of vcn `v`; an address must belong to one vcn"
);
error_case!(
    subnet_outside_vcn,
    "[[subnet]]\nname = \"t\"\nvcn = \"v\"\ncidr_block = \"10.1.0.0/24\"\n",
    "s.toml:11:14: error: in subnet `t`, field `cidr_block`: cidr block `10.1.0.0/24` is outside the cidr blocks of vcn `v` (10.0.0.0/16)"
);
error_case!(
    overlapping_subnets,
    "[[subnet]]\nname = \"t\"\nvcn = \"v\"\ncidr_block = \"10.0.0.0/23\"\n",
    "s.toml:11:14: error: in subnet `t`, field `cidr_block`: cidr block `10.0.0.0/23` overlaps cidr block `10.0.1.0/24` of subnet `s`"
);
error_case!(
    ipv4_in_ipv6_cidr_blocks,
    "[[subnet]]\nname = \"t\"\nvcn = \"v\"\ncidr_block = \"10.0.2.0/24\"\nipv6_cidr_blocks = [\"10.0.3.0/24\"]\n",
    "s.toml:12:21: error: in subnet `t`, field `ipv6_cidr_blocks`: `10.0.3.0/24` is not an ipv6 cidr block"
);

// --- objects of another VCN -------------------------------------------------

/// A second VCN `w` with one of everything, for cross-VCN cases (line 8..).
const OTHER_VCN: &str = "[[vcn]]\nname = \"w\"\ncidr_blocks = [\"10.1.0.0/16\"]\n[[gateway]]\nname = \"wgw\"\nvcn = \"w\"\nkind = \"drg\"\n[[route_table]]\nname = \"wrt\"\nvcn = \"w\"\n[[security_list]]\nname = \"wsl\"\nvcn = \"w\"\n[[nsg]]\nname = \"wnsg\"\nvcn = \"w\"\n";

error_case!(
    subnet_route_table_of_other_vcn,
    &format!(
        "{OTHER_VCN}[[subnet]]\nname = \"t\"\nvcn = \"v\"\ncidr_block = \"10.0.2.0/24\"\nroute_table = \"wrt\"\n"
    ),
    "s.toml:28:15: error: in subnet `t`, field `route_table`: route table `wrt` belongs to vcn `w`, not to vcn `v` of this subnet"
);
error_case!(
    subnet_security_list_of_other_vcn,
    &format!(
        "{OTHER_VCN}[[subnet]]\nname = \"t\"\nvcn = \"v\"\ncidr_block = \"10.0.2.0/24\"\nsecurity_lists = [\"wsl\"]\n"
    ),
    "s.toml:28:19: error: in subnet `t`, field `security_lists`: security list `wsl` belongs to vcn `w`, not to vcn `v` of this subnet"
);
error_case!(
    vnic_nsg_of_other_vcn,
    &format!(
        "{OTHER_VCN}[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nnsgs = [\"wnsg\"]\n"
    ),
    "s.toml:28:9: error: in vnic `a`, field `nsgs`: nsg `wnsg` belongs to vcn `w`, not to vcn `v` of this vnic"
);
error_case!(
    vnic_route_table_of_other_vcn,
    &format!(
        "{OTHER_VCN}[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nroute_table = \"wrt\"\n"
    ),
    "s.toml:28:15: error: in vnic `a`, field `route_table`: route table `wrt` belongs to vcn `w`, not to vcn `v` of this vnic"
);
error_case!(
    route_rule_gateway_of_other_vcn,
    &format!(
        "{OTHER_VCN}[[route_table]]\nname = \"rt\"\nvcn = \"v\"\nroute_rules = [{{ destination = \"10.1.0.0/16\", network_entity = \"wgw\" }}]\n"
    ),
    "s.toml:27:64: error: in route table `rt`, field `route_rules[0].network_entity`: gateway `wgw` belongs to vcn `w`, not to vcn `v` of this route table"
);
error_case!(
    nsg_peer_of_other_vcn,
    &format!(
        "{OTHER_VCN}[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [{{ direction = \"INGRESS\", protocol = \"all\", source = \"wnsg\", source_type = \"NETWORK_SECURITY_GROUP\" }}]\n"
    ),
    "s.toml:27:62: error: in nsg `n`, field `rules[0].source`: nsg `wnsg` belongs to vcn `w`, not to vcn `v` of this nsg"
);
error_case!(
    route_private_ip_of_other_vcn,
    &format!(
        "{OTHER_VCN}[[subnet]]\nname = \"ws\"\nvcn = \"w\"\ncidr_block = \"10.1.1.0/24\"\n[[vnic]]\nname = \"fw\"\nsubnet = \"ws\"\nprivate_ips = [\"10.1.1.5\"]\n[[route_table]]\nname = \"rt\"\nvcn = \"v\"\nroute_rules = [{{ destination = \"0.0.0.0/0\", network_entity = \"10.1.1.5\" }}]\n"
    ),
    "s.toml:35:62: error: in route table `rt`, field `route_rules[0].network_entity`: private ip `10.1.1.5` of vnic `fw` is in vcn `w`, not in vcn `v` of this route table"
);

// --- routes ------------------------------------------------------------------

error_case!(
    service_route_to_nat_gateway,
    "[services]\nosn = [\"134.70.0.0/17\"]\n[[gateway]]\nname = \"nat\"\nvcn = \"v\"\nkind = \"nat\"\n[[route_table]]\nname = \"rt\"\nvcn = \"v\"\nroute_rules = [{ destination = \"osn\", destination_type = \"SERVICE_CIDR_BLOCK\", network_entity = \"nat\" }]\n",
    "s.toml:17:97: error: in route table `rt`, field `route_rules[0].network_entity`: a `SERVICE_CIDR_BLOCK` rule must target a service gateway; `nat` is a nat gateway"
);
error_case!(
    unknown_service_label_in_route,
    "[[gateway]]\nname = \"sgw\"\nvcn = \"v\"\nkind = \"service\"\n[[route_table]]\nname = \"rt\"\nvcn = \"v\"\nroute_rules = [{ destination = \"osn\", destination_type = \"SERVICE_CIDR_BLOCK\", network_entity = \"sgw\" }]\n",
    "s.toml:15:32: error: in route table `rt`, field `route_rules[0].destination`: service label `osn` is not defined in [services]"
);
error_case!(
    unknown_service_label_in_rule,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\negress_security_rules = [{ protocol = \"6\", destination = \"osn\", destination_type = \"SERVICE_CIDR_BLOCK\" }]\n",
    "s.toml:11:58: error: in security list `l`, field `egress_security_rules[0].destination`: service label `osn` is not defined in [services]"
);
error_case!(
    private_ip_target_nobody_holds,
    "[[route_table]]\nname = \"rt\"\nvcn = \"v\"\nroute_rules = [{ destination = \"0.0.0.0/0\", network_entity = \"10.0.1.5\" }]\n",
    "s.toml:11:62: error: in route table `rt`, field `route_rules[0].network_entity`: no vnic holds private ip `10.0.1.5`"
);
error_case!(
    bad_destination_type,
    "[[route_table]]\nname = \"rt\"\nvcn = \"v\"\nroute_rules = [{ destination = \"0.0.0.0/0\", destination_type = \"CIDR\", network_entity = \"10.0.1.5\" }]\n",
    "s.toml:11:64: error: in route table `rt`, field `route_rules[0].destination_type`: `CIDR` is not `CIDR_BLOCK` or `SERVICE_CIDR_BLOCK`"
);
error_case!(
    bad_gateway_kind,
    "[[gateway]]\nname = \"g\"\nvcn = \"v\"\nkind = \"vpn\"\n",
    "s.toml:11:8: error: in gateway `g`, field `kind`: `vpn` is not `internet`, `nat`, `service`, `drg` or `lpg`"
);

// --- security rules -----------------------------------------------------------

error_case!(
    bad_protocol,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"sctp\", source = \"0.0.0.0/0\" }]\n",
    "s.toml:11:40: error: in security list `l`, field `ingress_security_rules[0].protocol`: protocol `sctp` is not `all`, `tcp`, `udp`, `icmp`, `icmpv6` or a number from 0 to 255"
);
error_case!(
    protocol_number_out_of_range,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = 256, source = \"0.0.0.0/0\" }]\n",
    "s.toml:11:40: error: in security list `l`, field `ingress_security_rules[0].protocol`: protocol `256` is not `all`, `tcp`, `udp`, `icmp`, `icmpv6` or a number from 0 to 255"
);
error_case!(
    port_out_of_range,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"6\", source = \"0.0.0.0/0\", tcp_options = { destination_port_range = { min = 1, max = 65536 } } }]\n",
    "s.toml:11:125: error: in security list `l`, field `ingress_security_rules[0].tcp_options.destination_port_range.max`: port `65536` is outside 0-65535"
);
error_case!(
    port_min_above_max,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"6\", source = \"0.0.0.0/0\", tcp_options = { source_port_range = { min = 90, max = 80 } } }]\n",
    "s.toml:11:103: error: in security list `l`, field `ingress_security_rules[0].tcp_options.source_port_range`: min `90` is greater than max `80`"
);
error_case!(
    icmp_type_out_of_range,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"1\", source = \"0.0.0.0/0\", icmp_options = { type = 300 } }]\n",
    "s.toml:11:91: error: in security list `l`, field `ingress_security_rules[0].icmp_options.type`: icmp type `300` is outside 0-255"
);
error_case!(
    icmp_without_type,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"1\", source = \"0.0.0.0/0\", icmp_options = { code = 4 } }]\n",
    "s.toml:11:82: error: missing field `type`"
);
error_case!(
    nsg_peer_in_security_list,
    "[[nsg]]\nname = \"n\"\nvcn = \"v\"\n[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"6\", source = \"n\", source_type = \"NETWORK_SECURITY_GROUP\" }]\n",
    "s.toml:14:73: error: in security list `l`, field `ingress_security_rules[0].source_type`: `NETWORK_SECURITY_GROUP` is allowed in nsg rules only"
);
error_case!(
    nsg_rule_bad_direction,
    "[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [{ direction = \"IN\", protocol = \"6\", source = \"0.0.0.0/0\" }]\n",
    "s.toml:11:24: error: in nsg `n`, field `rules[0].direction`: `IN` is not `INGRESS` or `EGRESS`"
);
error_case!(
    nsg_ingress_rule_with_destination,
    "[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [{ direction = \"INGRESS\", protocol = \"6\", source = \"0.0.0.0/0\", destination = \"10.0.0.0/8\" }]\n",
    "s.toml:11:87: error: in nsg `n`, field `rules[0].destination`: an ingress rule takes `source`, not `destination`"
);
error_case!(
    nsg_egress_rule_without_destination,
    "[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [{ direction = \"EGRESS\", protocol = \"6\" }]\n",
    "s.toml:11:10: error: in nsg `n`, field `rules[0]`: an egress rule needs `destination`"
);
error_case!(
    nsg_peer_dangling,
    "[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [{ direction = \"EGRESS\", protocol = \"6\", destination = \"m\", destination_type = \"NETWORK_SECURITY_GROUP\" }]\n",
    "s.toml:11:64: error: in nsg `n`, field `rules[0].destination`: no nsg has the name or id `m`"
);
error_case!(
    bad_source_type,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"6\", source = \"0.0.0.0/0\", source_type = \"CIDR\" }]\n",
    "s.toml:11:81: error: in security list `l`, field `ingress_security_rules[0].source_type`: `CIDR` is not `CIDR_BLOCK`, `SERVICE_CIDR_BLOCK` or `NETWORK_SECURITY_GROUP`"
);
error_case!(
    rule_cidr_with_host_bits,
    "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{ protocol = \"6\", source = \"10.0.1.5/24\" }]\n",
    "s.toml:11:54: error: in security list `l`, field `ingress_security_rules[0].source`: cidr block `10.0.1.5/24` has host bits set (write `10.0.1.0/24`; host bits are an error here)"
);

// --- attributes, options, policies -------------------------------------------

error_case!(
    bad_attribute_mode,
    "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nsecurity_attributes = { app = { tier = { value = \"web\", mode = \"strict\" } } }\n",
    "s.toml:12:64: error: in vnic `a`, field `security_attributes`: mode `strict` is not `enforce` or `audit`"
);
error_case!(
    bad_attribute_namespace,
    "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nsecurity_attributes = { \"my.ns\" = { tier = { value = \"web\" } } }\n",
    "s.toml:12:25: error: in vnic `a`, field `security_attributes`: namespace `my.ns` may hold only letters, digits, `-` and `_`"
);
error_case!(
    bad_zpr_only_option,
    "[options]\nzpr_only = \"strict\"\n",
    "s.toml:9:12: error: in [options], field `zpr_only`: `strict` is not `report` or `default-deny`"
);
error_case!(
    negative_statement_limit,
    "[options]\nmax_statements_per_policy = -1\n",
    "s.toml:9:29: error: in [options], field `max_statements_per_policy`: `-1` is not a count (0 or more)"
);
error_case!(
    policy_with_statements_and_file,
    "[[zpr_policy]]\nname = \"p\"\nstatements = []\nfile = \"p.zpl\"\n",
    "s.toml:11:8: error: in zpr policy `p`, field `file`: give either `statements` or `file`, not both"
);
error_case!(
    policy_without_statements_or_file,
    "[[zpr_policy]]\nname = \"p\"\n",
    "s.toml:9:8: error: in zpr policy `p`: a zpr policy needs `statements` or `file`"
);
error_case!(
    policy_file_unreadable,
    "[[zpr_policy]]\nname = \"p\"\nfile = \"policies/p.zpl\"\n",
    "s.toml:10:8: error: in zpr policy `p`, field `file`: cannot read `policies/p.zpl`: reading files is not available here"
);
error_case!(
    zpl_error_inline,
    "[[zpr_policy]]\nname = \"p\"\nstatements = [\n  \"in net:prod VCN allow app:web to connnect to app:db\",\n]\n",
    "error: expected `connect`, found `connnect`\n   --> s.toml:11:37\n    |\n 11 | in net:prod VCN allow app:web to connnect to app:db\n    |                                  ^^^^^^^^"
);
error_case!(
    zpl_error_inline_literal,
    "[[zpr_policy]]\nname = \"p\"\nstatements = ['in net:prod VCN allow app:web to connect app:db']\n",
    "error: expected `to`, found `app:db`\n   --> s.toml:10:57\n    |\n 10 | in net:prod VCN allow app:web to connect app:db\n    |                                          ^^^^^^"
);
error_case!(
    zpl_error_triple_quoted,
    "[[zpr_policy]]\nname = \"p\"\nstatements = [\"\"\"\nin net:prod VCN allow app:web\n  to connnect to app:db\"\"\"]\n",
    "error: expected `connect`, found `connnect`\n   --> s.toml:12:6\n    |\n 12 |   to connnect to app:db\n    |      ^^^^^^^^"
);

// --- warnings -----------------------------------------------------------------

fn many(n: usize, f: impl Fn(usize) -> String) -> String {
    (0..n).map(f).collect()
}

#[test]
fn warns_on_more_than_five_security_lists_per_subnet() {
    let text = with_base(&format!(
        "{}[[subnet]]\nname = \"t\"\nvcn = \"v\"\ncidr_block = \"10.0.2.0/24\"\nsecurity_lists = [{}]\n",
        many(6, |i| format!(
            "[[security_list]]\nname = \"l{i}\"\nvcn = \"v\"\n"
        )),
        many(6, |i| format!("\"l{i}\", "))
    ));
    assert_eq!(
        toml_warnings(&text),
        ["s.toml:30:19: warning: subnet `t` has 6 security lists; OCI allows at most 5"]
    );
}

#[test]
fn warns_on_more_than_five_nsgs_per_vnic() {
    let text = with_base(&format!(
        "{}[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nnsgs = [{}]\n",
        many(6, |i| format!("[[nsg]]\nname = \"n{i}\"\nvcn = \"v\"\n")),
        many(6, |i| format!("\"n{i}\", "))
    ));
    assert_eq!(
        toml_warnings(&text),
        ["s.toml:30:9: warning: vnic `a` is in 6 nsgs; OCI allows at most 5"]
    );
}

/// The resolver keeps one set of a vnic's nsgs for all vnics, emptied for
/// each: an nsg in two vnics is fine, twice in one is an error, at the
/// second mention.
#[test]
fn an_nsg_twice_in_one_vnic_is_an_error_once_in_each_of_two_is_not() {
    let vnic = |name: &str, ip: &str, nsgs: &str| {
        format!(
            "[[vnic]]\nname = \"{name}\"\nsubnet = \"s\"\nprivate_ips = [\"{ip}\"]\nnsgs = [{nsgs}]\n"
        )
    };
    let nsg = "[[nsg]]\nname = \"g\"\nvcn = \"v\"\n[[nsg]]\nname = \"h\"\nvcn = \"v\"\n";
    let ok = with_base(&format!(
        "{nsg}{}{}",
        vnic("a", "10.0.1.5", "\"g\", \"h\""),
        vnic("b", "10.0.1.6", "\"h\", \"g\"")
    ));
    let l = from_toml_str(&ok, "s.toml").unwrap();
    assert_eq!(l.scenario.vnics[0].nsgs.len(), 2);
    assert_eq!(l.scenario.vnics[1].nsgs.len(), 2);
    let twice = with_base(&format!(
        "{nsg}{}{}",
        vnic("a", "10.0.1.5", "\"g\""),
        vnic("b", "10.0.1.6", "\"g\", \"h\", \"g\"")
    ));
    assert_eq!(
        toml_err(&twice).to_string(),
        "s.toml:23:19: error: in vnic `b`, field `nsgs`: nsg `g` is listed twice"
    );
}

#[test]
fn warns_on_more_than_five_attributes_per_vnic() {
    let text = with_base(&format!(
        "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nsecurity_attributes = {{ app = {{ {} }} }}\n",
        many(6, |i| format!("k{i} = {{ value = \"x\" }}, ")).trim_end_matches(", ")
    ));
    let l = from_toml_str(&text, "s.toml").unwrap();
    assert_eq!(l.scenario.vnics[0].attributes.len(), 6);
    assert_eq!(
        l.warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["s.toml:12:23: warning: vnic `a` has 6 security attributes; OCI allows at most 5"]
    );
}

#[test]
fn warns_on_more_than_one_attribute_per_vcn_and_uses_the_first() {
    let text = "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\nsecurity_attributes = { net = { zone = { value = \"a\" }, tier = { value = \"b c\" } } }\n";
    let l = from_toml_str(text, "s.toml").unwrap();
    assert_eq!(
        l.scenario.vcns[0].attribute,
        Some(Attribute::new("net", "zone", "a"))
    );
    assert_eq!(
        l.warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "s.toml:4:23: warning: vcn `v` has 2 security attributes; OCI allows at most 1: only the first, `net.zone:a`, is used"
        ]
    );
}

#[test]
fn warns_on_more_than_120_rules_per_nsg() {
    let rule = "{ direction = \"EGRESS\", protocol = \"all\", destination = \"0.0.0.0/0\" },";
    let text = with_base(&format!(
        "[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [{}]\n",
        rule.repeat(121)
    ));
    assert_eq!(
        toml_warnings(&text),
        ["s.toml:9:8: warning: nsg `n` has 121 rules; OCI allows at most 120"]
    );
    let ok = with_base(&format!(
        "[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [{}]\n",
        rule.repeat(120)
    ));
    assert!(toml_warnings(&ok).is_empty());
}

#[test]
fn warns_on_more_than_200_rules_per_list_direction() {
    let rule = "{ protocol = \"all\", source = \"0.0.0.0/0\" },";
    let text = with_base(&format!(
        "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{}]\negress_security_rules = [{}]\n",
        rule.repeat(201),
        rule.replace("source", "destination").repeat(200)
    ));
    assert_eq!(
        toml_warnings(&text),
        ["s.toml:9:8: warning: security list `l` has 201 ingress rules; OCI allows at most 200"]
    );
}

#[test]
fn warns_on_more_than_200_rules_per_route_table() {
    let rule = "{ destination = \"10.1.0.0/16\", network_entity = \"g\" },";
    let text = with_base(&format!(
        "[[gateway]]\nname = \"g\"\nvcn = \"v\"\nkind = \"drg\"\n[[route_table]]\nname = \"rt\"\nvcn = \"v\"\nroute_rules = [{}]\n",
        rule.repeat(201)
    ));
    assert_eq!(
        toml_warnings(&text),
        ["s.toml:13:8: warning: route table `rt` has 201 rules; OCI allows at most 200"]
    );
}

#[test]
fn warns_on_more_statements_than_the_limit() {
    let st = "\"in net:prod VCN allow app:web to connect to app:db\",";
    let text = with_base(&format!(
        "[[zpr_policy]]\nname = \"p\"\nstatements = [{}]\n",
        st.repeat(26)
    ));
    assert_eq!(
        toml_warnings(&text),
        ["s.toml:9:8: warning: zpr policy `p` has 26 statements; the limit is 25"]
    );
    let text = format!(
        "[options]\nmax_statements_per_policy = 1\n{}",
        with_base(&format!(
            "[[zpr_policy]]\nname = \"p\"\nstatements = [{}]\n",
            st.repeat(2)
        ))
    );
    assert_eq!(
        toml_warnings(&text),
        ["s.toml:11:8: warning: zpr policy `p` has 2 statements; the limit is 1"]
    );
}

#[test]
fn warns_on_options_that_do_not_fit_the_protocol() {
    let text = with_base(
        r#"[[security_list]]
name = "l"
vcn = "v"
ingress_security_rules = [
  { protocol = "17", source = "0.0.0.0/0", tcp_options = { destination_port_range = { min = 53, max = 53 } } },
  { protocol = "all", source = "0.0.0.0/0", icmp_options = { type = 8 } },
  { protocol = "6", source = "0.0.0.0/0", icmp_options = { type = 8 }, tcp_options = { source_port_range = { min = 1, max = 2 } } },
]
"#,
    );
    let l = from_toml_str(&text, "s.toml").unwrap();
    let rules = &l.scenario.security_lists[0].ingress;
    assert_eq!(rules[0].options, RuleOptions::None);
    assert_eq!(rules[1].options, RuleOptions::None);
    assert_eq!(
        rules[2].options,
        RuleOptions::Ports {
            src: Some(PortRange { min: 1, max: 2 }),
            dst: None
        }
    );
    assert_eq!(
        l.warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "s.toml:12:58: warning: in security list `l`, ingress_security_rules[0]: `tcp_options` does not fit protocol `17` and is ignored",
            "s.toml:13:60: warning: in security list `l`, ingress_security_rules[1]: `icmp_options` does not fit protocol `all` and is ignored",
            "s.toml:14:58: warning: in security list `l`, ingress_security_rules[2]: `icmp_options` does not fit protocol `6` and is ignored",
        ]
    );
}

// --- `file =` policies ----------------------------------------------------------

/// Files in memory, by the path the scenario writes.
struct MemFiles(HashMap<&'static str, &'static str>);

impl SourceFiles for MemFiles {
    fn read(&self, relative_path: &str) -> Result<String, String> {
        self.0
            .get(relative_path)
            .map(|s| (*s).to_owned())
            .ok_or_else(|| "No such file or directory".to_owned())
    }
}

const ZPL_FILE: &str = "# orders\n\nin net:prod VCN allow app:web to connect to app:db\n  with protocol='tcp/1521'\n\nin net:prod VCN allow app:db to connect to '10.0.1.0/24'\n";

#[test]
fn policy_file_is_read_through_source_files() {
    let files = MemFiles(HashMap::from([("policies/orders.zpl", ZPL_FILE)]));
    let text = with_base("[[zpr_policy]]\nname = \"orders\"\nfile = \"policies/orders.zpl\"\n");
    let l = load_str(&text, "scenarios/s.toml", Format::Toml, &files).unwrap();
    let p = &l.scenario.zpr_policies[0];
    assert_eq!(p.statements.len(), 2);
    let o: Vec<_> = p
        .statements
        .iter()
        .map(|s| (s.origin.file.as_str(), s.origin.line, s.origin.column))
        .collect();
    assert_eq!(
        o,
        [
            ("scenarios/policies/orders.zpl", 3, 1),
            ("scenarios/policies/orders.zpl", 6, 1)
        ]
    );
    assert_eq!(
        p.statements[1].statement,
        crate::zpl::parse_statement("in net:prod VCN allow app:db to connect to '10.0.1.0/24'")
            .unwrap()
    );
}

#[test]
fn policy_file_that_cannot_be_read() {
    let files = MemFiles(HashMap::new());
    let text = with_base("[[zpr_policy]]\nname = \"orders\"\nfile = \"policies/orders.zpl\"\n");
    let e = load_str(&text, "scenarios/s.toml", Format::Toml, &files).unwrap_err();
    assert_eq!(
        e.to_string(),
        "scenarios/s.toml:10:8: error: in zpr policy `orders`, field `file`: cannot read `scenarios/policies/orders.zpl`: No such file or directory"
    );
}

#[test]
fn zpl_error_in_policy_file_names_the_zpl_file() {
    let files = MemFiles(HashMap::from([(
        "p.zpl",
        "# x\nin net:prod VCN allow app:web to connect to app:db\nin net:prod VCN allow app:web to connect too app:db\n",
    )]));
    let text = with_base("[[zpr_policy]]\nname = \"orders\"\nfile = \"p.zpl\"\n");
    let e = load_str(&text, "s.toml", Format::Toml, &files).unwrap_err();
    assert_eq!(e.file, "p.zpl");
    assert_eq!((e.line, e.column), (Some(3), Some(42)));
    assert_eq!(e.field.as_deref(), Some("file"));
    assert_eq!(
        e.to_string(),
        "error: expected `to`, found `too`\n  --> p.zpl:3:42\n   |\n 3 | in net:prod VCN allow app:web to connect too app:db\n   |                                          ^^^"
    );
}

#[test]
fn keys_keep_their_written_order() {
    let text = "[services]\nzeta = [\"134.70.0.0/17\"]\nalpha = [\"147.154.0.0/16\"]\n[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n[[subnet]]\nname = \"s\"\nvcn = \"v\"\ncidr_block = \"10.0.1.0/24\"\n[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nsecurity_attributes = { zz = { b = { value = \"1\" }, a = { value = \"2\" } }, aa = { c = { value = \"3\" } } }\n";
    let t = from_toml_str(text, "s.toml").unwrap();
    // Written by hand: going through `toml::Value` would sort the keys.
    let json = r#"{ "services": { "zeta": ["134.70.0.0/17"], "alpha": ["147.154.0.0/16"] },
      "vcn": [{ "name": "v", "cidr_blocks": ["10.0.0.0/16"] }],
      "subnet": [{ "name": "s", "vcn": "v", "cidr_block": "10.0.1.0/24" }],
      "vnic": [{ "name": "a", "subnet": "s", "private_ips": ["10.0.1.5"], "security_attributes":
        { "zz": { "b": { "value": "1" }, "a": { "value": "2" } }, "aa": { "c": { "value": "3" } } } }] }"#;
    let j = from_json_str(json, "s.json").unwrap();
    for s in [&t.scenario, &j.scenario] {
        let names: Vec<_> = s.services.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["zeta", "alpha"]);
        let attrs: Vec<_> = s.vnics[0]
            .attributes
            .iter()
            .map(|a| a.attribute.to_string())
            .collect();
        assert_eq!(attrs, ["zz.b:1", "zz.a:2", "aa.c:3"]);
    }
}

// --- hostile input ----------------------------------------------------------------

/// Loads `text` both ways: no panic, and an error in the scenario file
/// names a line of it and a column of that line (or one past its end).
fn load_both(text: &str) {
    let files = MemFiles(HashMap::from([("p.zpl", ZPL_FILE)]));
    for (name, format) in [("fuzz.toml", Format::Toml), ("fuzz.json", Format::Json)] {
        let Err(e) = load_str(text, name, format, &files) else {
            continue;
        };
        if e.file != name {
            continue;
        }
        if let (Some(line), Some(column)) = (e.line, e.column) {
            let lines: Vec<&str> = text.split('\n').collect();
            let at = lines.get(line as usize - 1);
            assert!(
                at.is_some_and(|l| column as usize <= l.chars().count() + 1),
                "{name}: {line}:{column} is outside the text ({e})"
            );
        }
    }
}

/// One edit of a text: delete, insert or duplicate a byte range.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        let n = b.len().max(1);
        match e {
            Edit::Delete(at, len) => {
                let at = at % n;
                let end = (at + len).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Edit::Insert(at, s) => {
                let at = (at % n).min(b.len());
                b.splice(at..at, s.bytes());
            }
            Edit::Duplicate(at, len) => {
                let at = (at % n).min(b.len());
                let end = (at + len).min(b.len());
                let piece = b[at..end].to_vec();
                b.splice(at..at, piece);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn edit() -> impl proptest::strategy::Strategy<Value = Edit> {
    use proptest::prelude::*;
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, l)| Edit::Delete(a, l)),
        (
            any::<usize>(),
            prop_oneof![
                Just("\"".to_owned()),
                Just("[".to_owned()),
                Just("{".to_owned()),
                Just("}".to_owned()),
                Just("0".to_owned()),
                Just("\n[[vnic]]\n".to_owned()),
                Just("file = \"p.zpl\"\n".to_owned()),
                Just(":".to_owned()),
                Just("/".to_owned()),
                Just("'".to_owned()),
                Just("\\".to_owned()),
                ".{0,12}",
            ]
        )
            .prop_map(|(a, s)| Edit::Insert(a, s)),
        (any::<usize>(), 0usize..200).prop_map(|(a, l)| Edit::Duplicate(a, l)),
    ]
}

proptest::proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        load_both(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_toml_scenario_never_panics(edits in proptest::collection::vec(edit(), 1..6)) {
        load_both(&apply(EXAMPLE, &edits));
    }

    #[test]
    fn mutated_json_scenario_never_panics(edits in proptest::collection::vec(edit(), 1..6)) {
        load_both(&apply(&toml_to_json(EXAMPLE), &edits));
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(from_json_str(&deep_json, "d.json").is_err());
    let deep_toml = format!("x = {}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(from_toml_str(&deep_toml, "d.toml").is_err());
    let deep_inline = format!("x = {}{}", "{ a = ".repeat(50_000), "}".repeat(50_000));
    assert!(from_toml_str(&deep_inline, "d.toml").is_err());
    let dotted = format!("{} = 1", vec!["a"; 100_000].join("."));
    assert!(from_toml_str(&dotted, "d.toml").is_err());
}

#[test]
fn positions_agree_with_line_col_across_strides() {
    let unit = "ab\nçd€\n\n  x = \"🦀\"\n";
    let text = unit.repeat(2 * Positions::STRIDE / unit.len() + 3);
    let p = Positions::new(&text);
    for off in (0..=text.len() + 2).step_by(7).chain([text.len()]) {
        assert_eq!(p.line_col(off), line_col(&text, off), "offset {off}");
    }
}

#[test]
fn positions_agree_with_line_col_on_long_lines() {
    // Strides with no newline, a newline as a stride's last byte, and
    // characters cut by a stride boundary.
    let mut text = "é€🦀x".repeat(3 * Positions::STRIDE / 10);
    text.push('\n');
    text.push_str(&"a".repeat(Positions::STRIDE - 1));
    text.push('\n');
    text.push_str(&"€".repeat(Positions::STRIDE));
    let p = Positions::new(&text);
    for off in (0..=text.len() + 2).step_by(5).chain([text.len()]) {
        assert_eq!(p.line_col(off), line_col(&text, off), "offset {off}");
    }
}

#[test]
fn warnings_are_capped() {
    let rule = "{ protocol = \"all\", source = \"0.0.0.0/0\", icmp_options = { type = 8 } },";
    let text = with_base(&format!(
        "[[security_list]]\nname = \"l\"\nvcn = \"v\"\ningress_security_rules = [{}]\n",
        rule.repeat(1100)
    ));
    let w = toml_warnings(&text);
    assert_eq!(w.len(), 1001);
    assert_eq!(
        w[0],
        "s.toml:9:8: warning: security list `l` has 1100 ingress rules; OCI allows at most 200"
    );
    assert_eq!(w[1000], "s.toml: warning: 101 more warnings left out");
}

#[test]
fn many_objects_load() {
    let n = 3000;
    let text = format!(
        "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/8\"]\n[[nsg]]\nname = \"n\"\nvcn = \"v\"\n{}{}",
        many(n, |i| format!(
            "[[subnet]]\nname = \"s{i}\"\nvcn = \"v\"\ncidr_block = \"10.{}.{}.0/24\"\n",
            i / 256,
            i % 256
        )),
        many(n, |i| format!(
            "[[vnic]]\nname = \"a{i}\"\nsubnet = \"s{i}\"\nprivate_ips = [\"10.{}.{}.7\"]\nnsgs = [\"n\"]\n",
            i / 256,
            i % 256
        ))
    );
    let l = from_toml_str(&text, "big.toml").unwrap();
    assert_eq!(l.scenario.subnets.len(), n);
    assert_eq!(l.scenario.vnics.len(), n);
    assert_eq!(
        l.scenario.vnics[n - 1].subnet,
        SubnetId::new(n - 1).unwrap()
    );
    assert_eq!(l.scenario.vnics[n - 1].private_ips, vec![ip("10.11.183.7")]);
}

#[test]
fn json_statement_written_with_other_escapes_has_no_position() {
    // `\u0069` is `i`: the text cannot be found verbatim in the JSON.
    let json = r#"{ "zpr_policy": [{ "name": "p", "statements": ["\u0069n net:prod VCN allow app:web to connect to app:db"] }] }"#;
    let l = from_json_str(json, "s.json").unwrap();
    let o = &l.scenario.zpr_policies[0].statements[0].origin;
    assert_eq!((o.line, o.column), (0, 0));
}

// --- review (session 8): JSON values read with their spans ------------------------

/// Every shared-case scenario loads from JSON to the model it loads to from
/// TOML, with the same warnings (code and message; JSON now has positions
/// too, each inside the text).
#[test]
fn json_spans_load_every_shared_case_scenario_as_toml_does() {
    for (name, toml) in [
        (
            "edges",
            include_str!("../../../tests/cases/scenarios/edges.toml"),
        ),
        (
            "routing",
            include_str!("../../../tests/cases/scenarios/routing.toml"),
        ),
        (
            "security",
            include_str!("../../../tests/cases/scenarios/security.toml"),
        ),
        (
            "zpr",
            include_str!("../../../tests/cases/scenarios/zpr.toml"),
        ),
        ("example", EXAMPLE),
    ] {
        let json = toml_to_json(toml);
        let t = from_toml_str(toml, "s.toml").unwrap();
        let j = from_json_str(&json, "s.json").unwrap();
        assert_same_model(&t.scenario, &j.scenario);
        let what = |w: &[crate::warning::Warning]| {
            w.iter()
                .map(|w| (w.code, w.message.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(what(&t.warnings), what(&j.warnings), "{name}");
        let lines: Vec<&str> = json.split('\n').collect();
        for w in &j.warnings {
            if let (Some(l), Some(c)) = (w.line, w.column) {
                let at = lines.get(l as usize - 1);
                assert!(
                    at.is_some_and(|x| c as usize <= x.chars().count() + 1),
                    "{name}: {l}:{c}"
                );
            }
        }
    }
}

/// Hostile JSON inside values read with their spans: a value nested a
/// million deep (the raw value is skipped without recursion; the value is
/// then refused at its first bracket), a 4 MiB string of escapes (read
/// whole, decoded), and a byte order mark before a failing value (the
/// position counted without it). No panic, no stack overflow.
#[test]
fn json_spans_survive_deep_nesting_huge_strings_and_a_bom() {
    let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    for doc in [
        format!("{{\"name\": {deep}}}"),
        format!("{{\"services\": {{\"a\": {deep}}}}}"),
        format!("{{\"services\": {deep}}}"),
        format!(
            "{{\"vcn\": [{{\"name\": \"v\", \"cidr_blocks\": [\"10.0.0.0/16\"]}}],\n\"security_list\": [{{\"name\": \"l\", \"vcn\": \"v\", \"ingress_security_rules\": [{{\"protocol\": \"6\", \"source\": \"0.0.0.0/0\", \"tcp_options\": {deep}}}]}}]}}"
        ),
        format!(
            "{{\"vcn\": [{{\"name\": \"v\", \"cidr_blocks\": [\"10.0.0.0/16\"],\n\"security_attributes\": {{\"app\": {{\"k\": {{\"value\": {deep}}}}}}}}}]}}"
        ),
    ] {
        let e = from_json_str(&doc, "s.json").unwrap_err();
        assert_eq!(e.file, "s.json");
        assert!(e.line.is_some() && e.column.is_some(), "{}", e.message);
        assert!(e.message.len() < 400, "{}", e.message);
    }
    // A huge name of escapes.
    let piece = "\\u0041\\u00e9\\\"";
    let n = 4 << 20;
    let doc = format!("{{\"name\": \"{}\"}}", piece.repeat(n / piece.len()));
    let l = from_json_str(&doc, "s.json").unwrap();
    let name = l.scenario.name.unwrap();
    assert_eq!(name.chars().count(), 3 * (n / piece.len()));
    assert!(name.starts_with("Aé\""));
    // A byte order mark, then an error inside a spanned value on line 2.
    let doc = "\u{feff}{\"vcn\": [{\"name\": \"v\", \"cidr_blocks\": [\"10.0.0.0/16\"],\n\"security_attributes\": {\"app\": {\"k\": {\"value\": 5}}}}]}";
    let e = from_json_str(doc, "s.json").unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
    let col = e.column.unwrap() as usize;
    assert_eq!(&doc.lines().nth(1).unwrap()[col - 1..col], "5", "{e}");
}

/// Several loads on one thread: a failure inside a spanned value, then a
/// good load, a TOML load and failures elsewhere; each error has its own
/// position, the one it has when it is the only load on a fresh thread
/// (the thread-locals leak nothing from one load into the next).
#[test]
fn json_error_positions_do_not_leak_between_loads() {
    let inner = "{\"vcn\": [{\"name\": \"v\", \"cidr_blocks\": [\"10.0.0.0/16\"],\n\"security_attributes\": {\"app\": {\"k\": {\"value\": 5}}}}]}";
    let good = toml_to_json(EXAMPLE);
    let unknown =
        "{\"vcn\": [{\"name\": \"v\", \"cidr_blocks\": [\"10.0.0.0/16\"]}],\n\n\n  \"bogus\": 1}";
    let syntax =
        "{\"vcn\": [{\"name\": \"v\", \"cidr_blocks\": [\"10.0.0.0/16\"]}],\n  \"name\": }";
    let late = "{\"name\": \"n\",\n \"vcn\": [{\"name\": \"v\", \"cidr_blocks\": [\"10.0.0.0/16\"], \"bad\": 1}]}";
    let docs = [inner, &good, unknown, inner, syntax, inner, late, inner];
    let alone = |d: &str| {
        let d = d.to_owned();
        std::thread::spawn(move || {
            from_json_str(&d, "s.json")
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .join()
        .unwrap()
    };
    let want: Vec<_> = docs.iter().map(|d| alone(d)).collect();
    assert!(want[0].as_ref().unwrap_err().starts_with("s.json:2:"));
    assert!(want[1].is_ok());
    assert!(
        want[2].as_ref().unwrap_err().starts_with("s.json:4:"),
        "{want:?}"
    );
    assert!(
        want[4].as_ref().unwrap_err().starts_with("s.json:2:"),
        "{want:?}"
    );
    assert!(
        want[6].as_ref().unwrap_err().starts_with("s.json:2:"),
        "{want:?}"
    );
    for _ in 0..2 {
        let got: Vec<_> = docs
            .iter()
            .map(|d| {
                let _ = from_toml_str(EXAMPLE, "e.toml").unwrap();
                from_json_str(d, "s.json")
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .collect();
        assert_eq!(got, want);
    }
}

/// A subnet with several IPv4 blocks (OCI's `ipv4-cidr-blocks`): its
/// VNICs may sit in any of them; the primary block listed again is taken
/// once; JSON loads the same model.
#[test]
fn a_subnet_takes_several_ipv4_blocks() {
    let text = with_base(
        "[[subnet]]\nname = \"multi\"\nvcn = \"v\"\ncidr_block = \"10.0.2.0/24\"\n\
         ipv4_cidr_blocks = [\"10.0.2.0/24\", \"10.0.8.0/22\"]\n\
         [[vnic]]\nname = \"n\"\nsubnet = \"multi\"\nprivate_ips = [\"10.0.9.7\"]\n",
    );
    let l = from_toml_str(&text, "s.toml").unwrap();
    assert_eq!(
        l.scenario.subnets[1].cidrs,
        vec![net("10.0.2.0/24"), net("10.0.8.0/22")]
    );
    let j = from_json_str(&toml_to_json(&text), "s.json").unwrap();
    assert_same_model(&l.scenario, &j.scenario);
    // Without the block, the same VNIC is outside its subnet.
    let e = toml_err(&text.replace(", \"10.0.8.0/22\"", ""));
    assert!(e.to_string().contains("is outside subnet `multi`"), "{e}");
}

error_case!(
    ipv4_cidr_blocks_take_no_ipv6_block,
    "[[subnet]]\nname = \"m\"\nvcn = \"v\"\ncidr_block = \"10.0.2.0/24\"\nipv4_cidr_blocks = [\"fd00::/64\"]\n",
    "s.toml:12:21: error: in subnet `m`, field `ipv4_cidr_blocks`: `fd00::/64` is not an ipv4 cidr block"
);

error_case!(
    an_overlapping_further_ipv4_block_is_named_where_written,
    "[[subnet]]\nname = \"m\"\nvcn = \"v\"\ncidr_block = \"10.0.2.0/24\"\nipv4_cidr_blocks = [\"10.0.3.0/24\", \"10.0.1.128/25\"]\n",
    "s.toml:12:36: error: in subnet `m`, field `ipv4_cidr_blocks`: cidr block `10.0.1.128/25` overlaps cidr block `10.0.1.0/24` of subnet `s`"
);

/// QA round 24 (Q3): `café` typed as `e` + U+0301 (NFD, as macOS writes
/// names) and as U+00E9 (NFC) loaded as two NSGs that print alike, without
/// a word; a reference written the other way failed with "did you mean
/// `café`?", the text the user had typed. Two such names of one kind are
/// a warning naming both; a reference's error says how the two differ;
/// a ZPL attribute value so written is told apart from the one carried.
#[test]
fn names_equal_under_unicode_normalization_are_told_apart() {
    let (nfc, nfd) = ("caf\u{e9}", "cafe\u{301}");
    let nsg = |n: &str| format!("[[nsg]]\nname = \"{n}\"\nvcn = \"v\"\n");
    let w = toml_warnings(&with_base(&format!("{}{}", nsg(nfc), nsg(nfd))));
    assert_eq!(
        w,
        [format!(
            "s.toml:12:8: warning: nsg `{nfd}` and nsg `{nfc}` (line 9) are one name in two Unicode normalizations (`cafe\\u{{301}}` and `caf\\u{{e9}}`): they print alike but are two objects, and a reference finds the one written like it, character for character"
        )]
    );
    // Either order, and a name that normalizes to an ASCII one (U+212A
    // KELVIN SIGN is `K`).
    assert_eq!(
        toml_warnings(&with_base(&format!("{}{}", nsg(nfd), nsg(nfc)))).len(),
        1
    );
    assert_eq!(
        toml_warnings(&with_base(&format!("{}{}", nsg("K"), nsg("\u{212a}")))).len(),
        1
    );
    // Two objects of different kinds, or two distinct accented names: no warning.
    assert!(toml_warnings(&with_base(&format!("{}{}", nsg(nfc), nsg("caf\u{e8}")))).is_empty());
    // A reference written unlike the only name.
    let vnic = format!(
        "{}[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nnsgs = [\"{nfc}\"]\n",
        nsg(nfd)
    );
    assert_eq!(
        toml_err(&with_base(&vnic)).to_string(),
        format!(
            "s.toml:15:9: error: in vnic `a`, field `nsgs`: no nsg has the name or id `{nfc}`; `{nfd}` (`cafe\\u{{301}}`) is the same text in another Unicode normalization (this is `caf\\u{{e9}}`): names, ids and attribute values match character for character, so write it as that one is written"
        )
    );
    // A ZPL attribute value written unlike the one a VNIC carries.
    let zpr = format!(
        "[[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.5\"]\nsecurity_attributes = {{ app = {{ role = {{ value = \"{nfc}\" }} }} }}\n[[zpr_policy]]\nname = \"p\"\nstatements = [\"in n.vcn:v VCN allow 'app.role:{nfd}' endpoints to connect to '10.0.0.0/8'\"]\n"
    );
    let l = from_toml_str(&with_base(&zpr), "s.toml").unwrap();
    let unknown: Vec<String> = l
        .warnings
        .iter()
        .filter(|w| w.code == crate::warning::WarningCode::UnknownAttribute)
        .map(|w| w.message.clone())
        .filter(|m| m.contains("app.role"))
        .collect();
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    assert!(
        unknown[0].ends_with("(`'app.role:caf\\u{e9}'`) is the same text in another Unicode normalization (this is `'app.role:cafe\\u{301}'`): names, ids and attribute values match character for character, so write it as that one is written"),
        "{}",
        unknown[0]
    );
}

/// A dotted key deeper than the TOML reader's 80 levels: its error came
/// without a span (`s.toml: error: recursion limit`); it is placed at the
/// key's line now, in scenarios and in `verify`'s files alike (QA round
/// 25).
#[test]
fn a_dotted_key_past_the_readers_depth_is_placed() {
    let text = format!(
        "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n{}b = 1\n",
        "a.".repeat(100)
    );
    let e = from_toml_str(&text, "s.toml").unwrap_err();
    assert_eq!((e.line, e.column), (Some(4), Some(1)), "{}", e.message);
    assert!(
        e.message
            .contains("recursion limit: a dotted key of 80 parts or more"),
        "{}",
        e.message
    );
    let s = from_toml_str("", "s.toml").unwrap().scenario;
    let err = crate::verify::read(
        &s,
        &format!("[[path]]\nname = \"x\"\n{}b = 1\n", "a.".repeat(100)),
        "e.toml",
        &NoFiles,
        &crate::verify::Limits::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("e.toml:3:1: error: recursion limit: a dotted key"),
        "{err}"
    );
}
