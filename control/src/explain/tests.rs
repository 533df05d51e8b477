//! Unit tests of `explain`'s request reading, judgement and text.

use super::request::{check_flags, packet};
use super::{ExplainError, Request, explain_flow, parse_proto};
use crate::compile::{Compiled, Config};
use crate::load::from_toml_str;
use crate::model::{Scenario, proto};
use crate::packet::L4;

/// Two VNICs in one subnet: TCP 443 from `a` to `b` allowed, the rest of
/// the ingress dropped; `a` has a second IPv4 address.
fn scenario() -> Scenario {
    from_toml_str(
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[security_list]]
name = "sl"
vcn = "v"
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]
ingress_security_rules = [{ protocol = "6", source = "10.0.0.0/16", tcp_options = { destination_port_range = { min = 443, max = 443 } } }]
[[subnet]]
name = "s"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["sl"]
[[vnic]]
name = "a"
subnet = "s"
private_ips = ["10.0.1.10", "10.0.1.20"]
[[vnic]]
name = "b"
subnet = "s"
private_ips = ["10.0.1.11"]
"#,
        "s.toml",
    )
    .unwrap()
    .scenario
}

fn tcp<'a>(src: &'a str, dst: &'a str, dport: u16) -> Request<'a> {
    Request {
        src: Some(src),
        dst: Some(dst),
        proto: Some("tcp"),
        dport: Some(dport),
        ..Request::default()
    }
}

#[test]
fn protocols_are_read_by_name_or_number() {
    assert_eq!(parse_proto("TCP"), Ok(proto::TCP));
    assert_eq!(parse_proto("icmpv6"), Ok(proto::ICMPV6));
    assert_eq!(parse_proto("47"), Ok(47));
    assert!(matches!(parse_proto("256"), Err(ExplainError::Input(m)) if m.contains("`256`")));
}

#[test]
fn a_flag_the_protocol_ignores_is_refused() {
    let icmp_with_port = Request {
        proto: Some("icmp"),
        dport: Some(80),
        ..Request::default()
    };
    assert_eq!(
        check_flags(&icmp_with_port, proto::ICMP),
        Err(ExplainError::Input(
            "error: `--dport` is only for tcp and udp, not `icmp`".into()
        ))
    );
    let fragment_with_type = Request {
        proto: Some("icmp"),
        icmp_type: Some(8),
        fragment: true,
        ..Request::default()
    };
    assert!(check_flags(&fragment_with_type, proto::ICMP).is_err());
}

#[test]
fn a_vnic_name_stands_for_its_first_address() {
    let s = scenario();
    let p = packet(&tcp("vnic:a", "b", 443), &s).unwrap();
    assert_eq!(p.src, "10.0.1.10".parse::<std::net::IpAddr>().unwrap());
    assert_eq!(p.dst, "10.0.1.11".parse::<std::net::IpAddr>().unwrap());
    assert_eq!(
        p.l4,
        L4::Ports {
            sport: 49152,
            dport: 443
        }
    );
    assert!(matches!(
        packet(&tcp("nobody", "b", 443), &s),
        Err(ExplainError::Input(m)) if m.contains("no VNIC is named `nobody`")
    ));
}

#[test]
fn a_flow_is_judged_with_its_other_addresses_and_hints() {
    let s = scenario();
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let open = explain_flow(&s, &c, &tcp("a", "b", 443)).unwrap();
    let text = open.text(&s);
    assert!(
        text.starts_with("tcp 10.0.1.10:49152 -> 10.0.1.11:443: ALLOW\n"),
        "{text}"
    );
    assert!(
        text.contains("VNIC `a` has 1 more IPv4 address, judged the same way: 10.0.1.20 ALLOW"),
        "{text}"
    );
    let closed = explain_flow(&s, &c, &tcp("a", "b", 22)).unwrap();
    let text = closed.text(&s);
    assert!(text.contains("DROP at ingress-security"), "{text}");
    assert!(
        text.contains("  to open: ingress-security: add to security list `sl`"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&closed.json(&s, &[]).unwrap()).unwrap();
    assert_eq!(json["verdict"], "drop");
    assert_eq!(json["reply"], false);
    assert!(json["to_open"].as_array().is_some_and(|h| !h.is_empty()));
}

#[test]
fn a_dropped_first_packet_leaves_its_reply_a_first_packet() {
    let s = scenario();
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let req = Request {
        reply: true,
        ..tcp("a", "b", 22)
    };
    let e = explain_flow(&s, &c, &req).unwrap();
    let text = e.text(&s);
    assert!(text.starts_with("first packet "), "{text}");
    assert!(
        text.contains("no connection is tracked: the reply is judged as a first packet"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&e.json(&s, &[]).unwrap()).unwrap();
    assert_eq!(json["first_packet"]["verdict"], "drop");
}

/// A layer a stand-in decides gets no hint, said after the stand-in note
/// (the text prints that note first: "named below" was wrong).
#[test]
fn the_no_hint_line_follows_the_stand_in_note_it_refers_to() {
    let s = from_toml_str(
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[subnet]]
name = "bare"
vcn = "v"
cidr_block = "10.0.3.0/24"
stand_in = true
[[vnic]]
name = "x"
subnet = "bare"
private_ips = ["10.0.3.10"]
"#,
        "s.toml",
    )
    .unwrap()
    .scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let text = explain_flow(&s, &c, &tcp("x", "8.8.8.8", 443))
        .unwrap()
        .text(&s);
    let note = text.find("  stand-in: subnet `bare`");
    let no_hint = text.find("  no hint at route, egress-security: a stand-in `zprsim import` made up decides it there (its stand-in note names it), and no hint goes into one");
    assert!(
        matches!((note, no_hint), (Some(n), Some(h)) if n < h),
        "{text}"
    );
    assert!(!text.contains("named below"), "{text}");
}
