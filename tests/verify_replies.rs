//! The replies `verify` requires of a path that should be open (since the
//! twenty-first session): UDP (DNS, NTP, the portmapper) and ICMP echo
//! (ping) are request and response, as TCP is; a pair whose first packet
//! passes and whose reply drops fails. A one-way UDP path says `replies =
//! false`. docs/verify.md, "A path's replies".

use serde_json::Value;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::load::{self, Format};
use zprsim_control::verify::{self, Limits};
use zprsim_dataplane::scenario_file::FsFiles;

use crate::support::{NO_RETURN_ROUTE, paste_security_hint};

/// One VCN: a client `c` whose list lets everything out (stateful) and
/// nothing in, and a DNS server `d` whose list lets in, statelessly, DNS
/// (udp/53), syslog (udp/514), ping (icmp 8) and path MTU (icmp 3/4) from
/// the VCN, and TCP/853 statefully, with no egress rule: the stateless
/// rules' replies have no rule back. `REPLY_RULES` are the rules back.
pub(crate) const STATELESS_DNS: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]

[[security_list]]
name = "app-sl"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]

[[security_list]]
name = "dns-sl"
vcn = "v"
ingress_security_rules = [
  { source = "10.0.0.0/16", protocol = "17", is_stateless = true, udp_options = { destination_port_range = { min = 53, max = 53 } } },
  { source = "10.0.0.0/16", protocol = "17", is_stateless = true, udp_options = { destination_port_range = { min = 514, max = 514 } } },
  { source = "10.0.0.0/16", protocol = "1", is_stateless = true, icmp_options = { type = 8 } },
  { source = "10.0.0.0/16", protocol = "1", is_stateless = true, icmp_options = { type = 3, code = 4 } },
  { source = "10.0.0.0/16", protocol = "6", tcp_options = { destination_port_range = { min = 853, max = 853 } } },
]
egress_security_rules = [#EGRESS#]

[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["app-sl"]

[[subnet]]
name = "dns"
vcn = "v"
cidr_block = "10.0.2.0/24"
security_lists = ["dns-sl"]

[[vnic]]
name = "c"
subnet = "app"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "d"
subnet = "dns"
private_ips = ["10.0.2.53"]
"#;

/// The stateless rules back of `d`'s DNS answers and echo replies.
pub(crate) const REPLY_RULES: &str = r#"
  { destination = "10.0.0.0/16", protocol = "17", is_stateless = true, udp_options = { source_port_range = { min = 53, max = 53 } } },
  { destination = "10.0.0.0/16", protocol = "1", is_stateless = true, icmp_options = { type = 0 } },
"#;

pub(crate) const EXPECT: &str = r#"
[[path]]
name = "dns"
from = "vnic:c"
to = "vnic:d"
proto = "udp"
dport = 53
expect = "allow"

[[path]]
name = "ping"
from = "vnic:c"
to = "vnic:d"
proto = "icmp"
expect = "allow"

[[path]]
name = "syslog"
from = "vnic:c"
to = "vnic:d"
proto = "udp"
dport = 514
expect = "allow"
replies = false

[[path]]
name = "path-mtu"
from = "vnic:c"
to = "vnic:d"
proto = "icmp"
icmp_type = 3
icmp_code = 4
expect = "allow"

[[path]]
name = "dot"
from = "vnic:c"
to = "vnic:d"
proto = "tcp"
dport = 853
expect = "allow"
"#;

pub(crate) fn scenario(egress: &str) -> String {
    STATELESS_DNS.replace("#EGRESS#", egress)
}

fn run(scenario: &str, expect: &str) -> verify::Report {
    let files = FsFiles::new(".");
    let loaded = load::load_str(scenario, "scenario.toml", Format::Toml, &files).unwrap();
    let s = &loaded.scenario;
    let c = Compiled::new(s, &Config::default()).unwrap();
    let limits = Limits::default();
    let paths = verify::read(s, expect, "expect.toml", &files, &limits).unwrap();
    verify::run(s, &c, &paths, &limits).unwrap()
}

fn read_err(expect: &str) -> String {
    let files = FsFiles::new(".");
    let loaded = load::load_str(&scenario(""), "scenario.toml", Format::Toml, &files).unwrap();
    verify::read(
        &loaded.scenario,
        expect,
        "expect.toml",
        &files,
        &Limits::default(),
    )
    .unwrap_err()
    .to_string()
}

/// A DNS path and a ping path whose requests pass a stateless ingress rule
/// with no stateless egress rule back: every answer drops at the server's
/// egress, and `verify` said `ok` for both (only a TCP path's replies were
/// judged). Now both fail on their reply, said as a TCP path's is; the
/// one-way syslog path (`replies = false`) and the path-MTU error (ICMP
/// type 3, which nothing answers) pass, as does the stateful TCP path.
#[test]
fn a_udp_or_ping_path_whose_replies_drop_fails() {
    let r = run(&scenario(""), EXPECT);
    let by = |n: &str| r.paths.iter().find(|p| p.name == n).unwrap();
    for n in ["dns", "ping"] {
        let p = by(n);
        assert!(!p.ok, "{p:?}");
        let f = &p.failed[0];
        assert!(f.reply, "{f:?}");
        assert_eq!(
            f.stage,
            Some(zprsim_control::verdict::Stage::EgressSecurity)
        );
        let drops = if n == "dns" {
            "the reply would drop"
        } else {
            "the echo reply would drop"
        };
        assert!(
            f.rule
                .starts_with(&format!("{drops}: egress-security DENIED: at VNIC `d`")),
            "{f:?}"
        );
        assert_eq!(f.blocked_by.len(), 1, "{f:?}");
        assert!(f.blocked_by[0].starts_with("reply: "), "{f:?}");
    }
    assert_eq!(
        by("dns").failed[0].packet,
        "udp 10.0.2.53:53 -> 10.0.1.10:49152 (the reply of udp 10.0.1.10:49152 -> 10.0.2.53:53, which passes)"
    );
    // The echo reply is ICMP type 0, not the request turned round.
    assert_eq!(
        by("ping").failed[0].packet,
        "icmp 10.0.2.53 -> 10.0.1.10 type 0 code 0 (the reply of icmp 10.0.1.10 -> 10.0.2.53 type 8 code 0, which passes)"
    );
    for n in ["syslog", "path-mtu", "dot"] {
        assert!(by(n).ok, "{:?}", by(n));
    }
    assert_eq!(r.failed, 2);
    // In JSON, as a TCP reply: `"reply": true`.
    let j: Value = serde_json::to_value(&r).unwrap();
    assert_eq!(
        j["paths"][0]["failed"][0]["reply"],
        Value::Bool(true),
        "{j:#}"
    );

    // The rules back: every path passes.
    let r = run(&scenario(REPLY_RULES), EXPECT);
    assert_eq!(r.failed, 0, "{r:#?}");
}

/// The same for a path judged on the network layers (`scope =
/// "network"`, as the OKE pack's UDP paths are), and for ICMPv6 echo
/// (128, answered by 129).
#[test]
fn replies_are_judged_on_network_scope_and_for_icmpv6_echo() {
    let r = run(
        &scenario(""),
        &EXPECT.replace(
            "expect = \"allow\"\n\n[[path]]\nname = \"ping\"",
            "expect = \"allow\"\nscope = \"network\"\n\n[[path]]\nname = \"ping\"",
        ),
    );
    let dns = r.paths.iter().find(|p| p.name == "dns").unwrap();
    assert_eq!(dns.scope, verify::Scope::Network);
    assert!(!dns.ok && dns.failed[0].reply, "{dns:?}");

    let v6 = STATELESS_DNS
        .replace("cidr_blocks = [\"10.0.0.0/16\"]", "cidr_blocks = [\"10.0.0.0/16\", \"fd00::/48\"]")
        .replace(
            "egress_security_rules = [{ destination = \"0.0.0.0/0\", protocol = \"all\" }]",
            "egress_security_rules = [{ destination = \"0.0.0.0/0\", protocol = \"all\" }, { destination = \"::/0\", protocol = \"all\" }]",
        )
        .replace("cidr_block = \"10.0.1.0/24\"", "cidr_block = \"10.0.1.0/24\"\nipv6_cidr_blocks = [\"fd00:0:0:1::/64\"]")
        .replace("cidr_block = \"10.0.2.0/24\"", "cidr_block = \"10.0.2.0/24\"\nipv6_cidr_blocks = [\"fd00:0:0:2::/64\"]")
        .replace("private_ips = [\"10.0.1.10\"]", "private_ips = [\"10.0.1.10\", \"fd00:0:0:1::10\"]")
        .replace("private_ips = [\"10.0.2.53\"]", "private_ips = [\"10.0.2.53\", \"fd00:0:0:2::53\"]")
        .replace(
            "  { source = \"10.0.0.0/16\", protocol = \"6\"",
            "  { source = \"fd00::/48\", protocol = \"58\", is_stateless = true, icmp_options = { type = 128 } },\n  { source = \"10.0.0.0/16\", protocol = \"6\"",
        );
    let ping6 = "[[path]]\nname = \"ping6\"\nfrom = \"vnic:c\"\nto = \"vnic:d\"\nproto = \"icmpv6\"\nexpect = \"allow\"\n";
    let r = run(&v6.replace("#EGRESS#", ""), ping6);
    let p = &r.paths[0];
    assert!(!p.ok, "{p:?}");
    assert_eq!(
        p.failed[0].packet,
        "icmpv6 fd00:0:0:2::53 -> fd00:0:0:1::10 type 129 code 0 (the reply of icmpv6 fd00:0:0:1::10 -> fd00:0:0:2::53 type 128 code 0, which passes)"
    );
    let back = "{ destination = \"fd00::/48\", protocol = \"58\", is_stateless = true, icmp_options = { type = 129 } }";
    let r = run(&v6.replace("#EGRESS#", back), ping6);
    assert!(r.paths[0].ok, "{:?}", r.paths[0]);
}

/// `replies`: a boolean; `false` for a UDP path only (TCP and ICMP echo
/// always need theirs), `true` only where a reply exists to judge. Each
/// error names the file, line and column of the value.
#[test]
fn replies_is_checked_by_the_loader() {
    let path = |body: &str| {
        format!(
            "[[path]]\nname = \"p\"\nfrom = \"vnic:c\"\nto = \"vnic:d\"\nexpect = \"allow\"\n{body}"
        )
    };
    for v in ["\"no\"", "0", "[]"] {
        assert_eq!(
            read_err(&path(&format!(
                "proto = \"udp\"\ndport = 53\nreplies = {v}\n"
            ))),
            "expect.toml:8:11: error: `replies` must be `true` or `false` (whether the path's replies must pass too)",
            "{v}"
        );
    }
    assert_eq!(
        read_err(&path("proto = \"tcp\"\ndport = 443\nreplies = false\n")),
        "expect.toml:8:11: error: path `p`: `replies = false`: a TCP path always needs its replies: the connection cannot complete without them"
    );
    assert_eq!(
        read_err(&path("proto = \"icmp\"\nreplies = false\n")),
        "expect.toml:7:11: error: path `p`: `replies = false`: an ICMP echo request (type 8) always needs its echo reply: a ping without it fails"
    );
    assert_eq!(
        read_err(&path(
            "proto = \"icmp\"\nicmp_type = 3\nicmp_code = 4\nreplies = true\n"
        )),
        "expect.toml:9:11: error: path `p`: `replies = true`: ICMP type 3 is not answered (only an echo request is: type 8, or 128 for icmpv6), so it has no reply to require"
    );
    assert_eq!(
        read_err(&path("proto = 50\nreplies = true\n")),
        "expect.toml:7:11: error: path `p`: `replies = true`: a path of this protocol has no reply `verify` can judge (replies are judged for tcp, udp and icmp echo)"
    );
}

/// The reply of a first packet that passed a security layer by a
/// stateless rule drops, with no rule back: `verify` wrote no hint for a
/// reply failure (docs: "No hint is written for it"). Now it writes the
/// stateless rule's reverse, in the same list, stateless, ports swapped
/// (an echo request's rule answered by the echo reply's), proved on the
/// copy; pasted as written, every path passes.
#[test]
fn a_reply_dropped_after_a_stateless_rule_gets_the_rule_back() {
    let s = scenario("");
    let r = run(&s, EXPECT);
    let by = |n: &str| r.paths.iter().find(|p| p.name == n).unwrap().clone();
    assert_eq!(
        by("dns").failed[0].to_open,
        [
            "egress-security: add to security list `dns-sl` (egress_security_rules): { protocol = \"17\", destination = \"10.0.0.0/16\", is_stateless = true, udp_options = { source_port_range = { min = 53, max = 53 } } }"
        ]
    );
    assert_eq!(
        by("ping").failed[0].to_open,
        [
            "egress-security: add to security list `dns-sl` (egress_security_rules): { protocol = \"1\", destination = \"10.0.0.0/16\", is_stateless = true, icmp_options = { type = 0 } }"
        ]
    );
    let mut fixed = s.clone();
    for n in ["dns", "ping"] {
        for h in &by(n).failed[0].to_open {
            fixed = paste_security_hint(&fixed, h);
        }
    }
    let r = run(&fixed, EXPECT);
    assert_eq!(r.failed, 0, "{fixed}\n{r:#?}");
}

/// The other side: the client's stateless egress rule for DNS (the one
/// scenario-format.md shows) with no ingress rule for the answers; the
/// reply drops at the client's ingress. The hint is the ingress rule back
/// in the client's NSG, where the stateless rule is.
#[test]
fn a_reply_dropped_at_the_initiator_gets_the_rule_back_in_its_nsg() {
    let s = scenario("{ destination = \"10.0.0.0/16\", protocol = \"all\" }")
        .replace(
            "is_stateless = true, udp_options = { destination_port_range = { min = 53,",
            "udp_options = { destination_port_range = { min = 53,",
        )
        .replace(
            "egress_security_rules = [{ destination = \"0.0.0.0/0\", protocol = \"all\" }]",
            "egress_security_rules = []",
        )
        .replace(
            "[[subnet]]\nname = \"app\"",
            "[[nsg]]\nname = \"app-nsg\"\nvcn = \"v\"\nrules = [\n  { direction = \"EGRESS\", protocol = \"17\", destination = \"10.0.2.0/24\", is_stateless = true, udp_options = { destination_port_range = { min = 53, max = 53 } } },\n]\n\n[[subnet]]\nname = \"app\"",
        )
        .replace(
            "private_ips = [\"10.0.1.10\"]",
            "private_ips = [\"10.0.1.10\"]\nnsgs = [\"app-nsg\"]",
        )
        ;
    let dns = EXPECT.split("\n[[path]]\nname = \"ping\"").next().unwrap();
    let r = run(&s, dns);
    let p = &r.paths[0];
    assert!(!p.ok, "{s}\n{p:?}");
    assert_eq!(
        p.failed[0].stage,
        Some(zprsim_control::verdict::Stage::IngressSecurity)
    );
    assert_eq!(
        p.failed[0].to_open,
        [
            "ingress-security: add to NSG `app-nsg`: { direction = \"INGRESS\", protocol = \"17\", source = \"10.0.2.0/24\", is_stateless = true, udp_options = { source_port_range = { min = 53, max = 53 } } }"
        ]
    );
    let fixed = paste_security_hint(&s, &p.failed[0].to_open[0]);
    assert_eq!(run(&fixed, dns).failed, 0, "{fixed}");
}

/// A reply untracked because the responder's rules are partly unknown (a
/// stand-in NSG `zprsim import` made up): no stateless rule matched, so
/// no rule back is hinted, and the stand-in note names the NSG, at the
/// VNIC whose egress drops the reply (the pair's destination; it named
/// the source's).
#[test]
fn a_reply_untracked_by_a_stand_in_gets_no_hint_and_names_it() {
    let s = scenario("")
        .replace("is_stateless = true, udp_options = { destination_port_range = { min = 53", "udp_options = { destination_port_range = { min = 53")
        .replace(
            "[[subnet]]\nname = \"app\"",
            "[[nsg]]\nname = \"missing-nsg\"\nid = \"ocid1.networksecuritygroup.oc1..gone\"\nvcn = \"v\"\nstand_in = true\n\n[[subnet]]\nname = \"app\"",
        )
        .replace(
            "private_ips = [\"10.0.2.53\"]",
            "private_ips = [\"10.0.2.53\"]\nnsgs = [\"missing-nsg\"]",
        );
    let dns = EXPECT.split("\n[[path]]\nname = \"ping\"").next().unwrap();
    let r = run(&s, dns);
    let p = &r.paths[0];
    assert!(!p.ok && p.failed[0].reply, "{s}\n{p:?}");
    assert!(p.failed[0].to_open.is_empty(), "{p:?}");
    assert!(p.to_open.is_empty(), "{p:?}");
    assert_eq!(p.stand_ins.len(), 1, "{p:?}");
    assert!(
        p.stand_ins[0].starts_with("NSG `missing-nsg` (of VNIC `d`)"),
        "{p:?}"
    );
}

/// A server whose ingress lets 50-60 in statelessly and whose egress lets
/// out, statelessly, only what leaves from 50-54 (the mid-session review's
/// repro, `PROTO` udp or tcp): the replies of 55-60 drop at its egress.
const SOURCE_PORT_SPLIT: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]

[[security_list]]
name = "app-sl"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all", is_stateless = true }]

[[security_list]]
name = "srv-sl"
vcn = "v"
ingress_security_rules = [
  { source = "10.0.0.0/16", protocol = "@N@", is_stateless = true, @P@_options = { destination_port_range = { min = 50, max = 60 } } },
]
egress_security_rules = [
  { destination = "10.0.0.0/16", protocol = "@N@", is_stateless = true, @P@_options = { source_port_range = { min = 50, max = 54 } } },
]

[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["app-sl"]

[[subnet]]
name = "srv"
vcn = "v"
cidr_block = "10.0.2.0/24"
security_lists = ["srv-sl"]

[[vnic]]
name = "c"
subnet = "app"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "d"
subnet = "srv"
private_ips = ["10.0.2.53"]
"#;

/// A port range whose replies drop on some of its ports only: the runs
/// were cut by the first packet's service class alone, and a stateless
/// rule's `source_port_range` cuts only the reply's, so 50-60 was one run,
/// judged at 50, and the path said `ok` while dport 57 alone failed. Now
/// the runs are cut where the reply's class changes too, and the failing
/// ports are exact: 55-60. UDP and TCP.
#[test]
fn a_range_whose_replies_drop_on_some_ports_fails_on_exactly_those() {
    for (n, p) in [("17", "udp"), ("6", "tcp")] {
        let s = SOURCE_PORT_SPLIT.replace("@N@", n).replace("@P@", p);
        let expect = format!(
            "[[path]]\nname = \"range\"\nfrom = \"vnic:c\"\nto = \"vnic:d\"\nproto = \"{p}\"\ndport = \"48-62\"\nexpect = \"allow\"\n\n[[path]]\nname = \"one\"\nfrom = \"vnic:c\"\nto = \"vnic:d\"\nproto = \"{p}\"\ndport = 57\nexpect = \"allow\"\n"
        );
        let r = run(&s, &expect);
        let range = &r.paths[0];
        assert!(!range.ok, "{p}: {range:?}");
        assert_eq!(
            range.failed[0].failing_ports,
            ["48-49", "55-62"],
            "{p}: {range:?}"
        );
        assert!(!r.paths[1].ok, "{p}");
        // The ports that fail on the first packet (48, 49, 61, 62) and
        // those whose reply drops (55-60), each said as such.
        let expect = expect.replace("\"48-62\"", "\"50-60\"");
        let r = run(&s, &expect);
        let range = &r.paths[0];
        assert_eq!(range.failed[0].failing_ports, ["55-60"], "{p}: {range:?}");
        assert!(range.failed[0].reply, "{p}: {range:?}");
        assert_eq!(
            range.failed[0].stage,
            Some(zprsim_control::verdict::Stage::EgressSecurity)
        );
        // A path that should be closed judges no reply: its runs are the
        // first packet's (one run 50-60, open).
        let deny = expect.replace("expect = \"allow\"", "expect = \"deny\"");
        let r = run(&s, &deny);
        assert_eq!(r.paths[0].failed[0].failing_ports, ["50-60"], "{p}");
        assert_eq!(r.paths[0].probes, 1, "{p}");
    }
}

/// The review's second repro: the client's list lets DNS out statelessly
/// and the server's lets it in statelessly, neither with a rule back: the
/// reply drops at the server's egress, and with the rule back there, at
/// the client's ingress. `verify` gave the first rule back alone and said
/// "1 stays closed: no rule, statement, gateway or route table opens it",
/// though the client's rule back opens it. Now the rule back is tried once
/// per end, each proved on the copy: both are given, and pasted, the path
/// passes.
#[test]
fn a_reply_dropped_at_both_ends_gets_both_rules_back() {
    let s = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]

[[security_list]]
name = "app-sl"
vcn = "v"
egress_security_rules = [{ destination = "10.0.0.0/16", protocol = "17", is_stateless = true, udp_options = { destination_port_range = { min = 53, max = 53 } } }]
ingress_security_rules = []

[[security_list]]
name = "srv-sl"
vcn = "v"
ingress_security_rules = [
  { source = "10.0.0.0/16", protocol = "17", is_stateless = true, udp_options = { destination_port_range = { min = 53, max = 53 } } },
]
egress_security_rules = []

[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["app-sl"]

[[subnet]]
name = "srv"
vcn = "v"
cidr_block = "10.0.2.0/24"
security_lists = ["srv-sl"]

[[vnic]]
name = "c"
subnet = "app"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "d"
subnet = "srv"
private_ips = ["10.0.2.53"]
"#;
    let dns = EXPECT.split("\n[[path]]\nname = \"ping\"").next().unwrap();
    let r = run(s, dns);
    let p = &r.paths[0];
    assert!(!p.ok && p.failed[0].reply, "{p:?}");
    let both = [
        "egress-security: add to security list `srv-sl` (egress_security_rules): { protocol = \"17\", destination = \"10.0.0.0/16\", is_stateless = true, udp_options = { source_port_range = { min = 53, max = 53 } } }",
        "ingress-security: add to security list `app-sl` (ingress_security_rules): { protocol = \"17\", source = \"10.0.0.0/16\", is_stateless = true, udp_options = { source_port_range = { min = 53, max = 53 } } }",
    ];
    assert_eq!(p.failed[0].to_open, both, "{p:?}");
    assert_eq!(p.to_open, both, "{p:?}");
    assert_eq!((p.to_open_checked, p.to_open_left), (1, 0), "{p:?}");
    let mut fixed = s.to_owned();
    for h in &p.to_open {
        fixed = paste_security_hint(&fixed, h);
    }
    assert_eq!(run(&fixed, dns).failed, 0, "{fixed}");
}

/// A pair whose first packet a security hint opens and whose reply then
/// drops at route (asymmetric routing: `sb` has no route back across the
/// DRG). Until the twenty-first session the text said "1 stays closed: no
/// rule, statement, gateway or route table opens it"; in the twenty-first
/// `to_open_left_replies` counted it and the text said a reply gets no
/// hint. Since the twenty-second the reply's route back is the hint (a new
/// table for `sb` with `10.0.0.0/16 -> bd`), proved on the copy with both
/// packets judged, and pasted as text through the loader the path passes.
#[test]
fn a_reply_dropped_at_route_gets_the_route_back() {
    use assert_cmd::cargo::CommandCargoExt;
    // NO_RETURN_ROUTE without `ob`'s ingress rule: the first packet is
    // dropped at ingress security.
    let s = &NO_RETURN_ROUTE.replace(
        r#"ingress_security_rules = [{ protocol = "6", source = "10.0.1.10/32", tcp_options = { destination_port_range = { min = 443, max = 443 } } }]
"#,
        "",
    );
    assert_ne!(s, NO_RETURN_ROUTE);
    let e = "[[path]]\nname = \"x-to-y\"\nfrom = \"vnic:x\"\nto = \"vnic:y\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n";
    let r = run(s, e);
    let p = &r.paths[0];
    assert_eq!(
        p.to_open,
        [
            "ingress-security: add to security list `ob` (ingress_security_rules): { protocol = \"6\", source = \"10.0.1.10/32\", tcp_options = { destination_port_range = { min = 443, max = 443 } } }",
            "route: for the reply from `y` (10.1.1.10 -> 10.0.1.10), needs a new route table for subnet `sb`: add [[route_table]]: { name = \"sb-rt\", vcn = \"b\", route_rules = [{ destination = \"10.0.0.0/16\", network_entity = \"bd\" }] }; then set route_table = \"sb-rt\" in subnet `sb`"
        ],
        "{p:?}"
    );
    assert_eq!((p.to_open_left, p.to_open_left_replies), (0, 0), "{p:?}");
    assert_eq!(p.failed[0].to_open, p.to_open);
    // Pasted as text, loaded and compiled: the path passes.
    let loaded = load::from_toml_str(s, "s.toml").unwrap().scenario;
    let fixed = crate::paste::pasted(&loaded, &p.to_open);
    let c = Compiled::new(&fixed, &Config::default()).unwrap();
    let files = FsFiles::new(".");
    let limits = Limits::default();
    let paths = verify::read(&fixed, e, "e.toml", &files, &limits).unwrap();
    assert_eq!(verify::run(&fixed, &c, &paths, &limits).unwrap().failed, 0);
    // Without the first hint the reply is not judged (its first packet
    // drops); with the first alone, the reply drops at route: the route
    // back is the second hint on its own.
    let half = crate::paste::pasted(&loaded, &p.to_open[..1]);
    let c = Compiled::new(&half, &Config::default()).unwrap();
    let paths = verify::read(&half, e, "e.toml", &files, &limits).unwrap();
    let r = verify::run(&half, &c, &paths, &limits).unwrap();
    assert!(r.paths[0].failed[0].reply, "{:?}", r.paths[0]);
    assert_eq!(r.paths[0].to_open, p.to_open[1..]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), s).unwrap();
    std::fs::write(dir.path().join("e.toml"), e).unwrap();
    let o = std::process::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(dir.path())
        .args(["verify", "s.toml", "e.toml"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("to open: route: for the reply from `y` (10.1.1.10 -> 10.0.1.10), needs a new route table"),
        "{out}"
    );
    assert!(!out.contains("stays closed"), "{out}");
    assert_eq!(
        verify::stay_closed_of(1, 1),
        "1 stays closed: its reply still drops, and no rule back, route back or stateful statement opens it (`zprsim explain --reply` it)"
    );
    assert_eq!(
        verify::stay_closed_of(3, 1),
        "3 stay closed: no rule, statement, gateway or route table opens 2 of them; the replies of 1 still drop, and no rule back, route back or stateful statement opens them (`zprsim explain --reply` them)"
    );
    assert_eq!(verify::stay_closed_of(2, 0), verify::stay_closed(Some(2)));
}

/// ZPR and a reply (tests/cases/scenarios/zpr.toml, semantics.md §2b): a
/// connection allowed by stateful statements (the default) is tracked, so
/// its reply passes ZPR with no statement of its own, and no hint is
/// needed (`tcp/9300`: passes). One allowed by `connection-state=
/// 'stateless'` statements only is not: its reply is judged as a first
/// packet and drops at ZPR (`tcp/9200`). Until the twenty-second session
/// that pair got no hint; then a new stateful statement for the
/// connection, which could allow more than the stateless one; since the
/// twenty-sixth, the stateless statement made stateful (it allows the
/// same first packets and tracks them; tests/zpr_reply_hints.rs), proved
/// with both packets judged, and pasted through the loader the path
/// passes.
#[test]
fn a_reply_dropped_at_zpr_gets_the_stateful_statement() {
    let text = std::fs::read_to_string("tests/cases/scenarios/zpr.toml").unwrap();
    let s = load::from_toml_str(&text, "zpr.toml").unwrap().scenario;
    let e = "[[path]]\nname = \"stateless\"\nfrom = \"vnic:slc-1\"\nto = \"vnic:sls-1\"\nproto = \"tcp\"\ndport = 9200\nexpect = \"allow\"\n\n[[path]]\nname = \"stateful\"\nfrom = \"vnic:slc-1\"\nto = \"vnic:sls-1\"\nproto = \"tcp\"\ndport = 9300\nexpect = \"allow\"\n";
    let files = FsFiles::new(".");
    let limits = Limits::default();
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let paths = verify::read(&s, e, "e.toml", &files, &limits).unwrap();
    let r = verify::run(&s, &c, &paths, &limits).unwrap();
    assert!(r.paths[1].ok, "{:?}", r.paths[1]);
    let p = &r.paths[0];
    assert!(!p.ok);
    assert!(p.failed[0].reply, "{p:?}");
    assert_eq!(p.failed[0].stage, Some(zprsim_control::verdict::Stage::Zpr));
    assert_eq!(
        p.to_open,
        [
            "zpr: remove `connection-state='stateless'` from statement #0 of ZPR policy `stateless` (in zpr.toml, line 291; the egress check at `slc-1` and the ingress check at `sls-1` pass by `connection-state='stateless'` statements only, so ZPR tracks nothing of the connection and its reply drops; stateful, the statement allows the same first packets, no other, and tracks them, so their replies pass): \"in network.vcn:prod VCN allow app:sl-client endpoints to connect to app:sl-server endpoints with protocol='tcp/9200'\""
        ],
        "{p:?}"
    );
    assert_eq!((p.to_open_left, p.to_open_left_replies), (0, 0));
    let fixed = crate::paste::pasted(&s, &p.to_open);
    let c = Compiled::new(&fixed, &Config::default()).unwrap();
    let paths = verify::read(&fixed, e, "e.toml", &files, &limits).unwrap();
    assert_eq!(verify::run(&fixed, &c, &paths, &limits).unwrap().failed, 0);
}

/// The OKE example's include of the `oke` pack, bound to its cluster,
/// under `name` (none: the pack's own).
fn oke_include(name: Option<&str>, workers: &str) -> String {
    let name = name
        .map(|n| format!("name = \"{n}\"\n"))
        .unwrap_or_default();
    format!(
        "[[include]]\npack = \"oke\"\n{name}[include.roles]\napi = \"vnic:k8s-api-endpoint\"\nworkers = \"{workers}\"\npods = \"subnet:pods\"\nlb = \"vnic:orders-lb\"\nfss = \"vnic:orders-fss-mt\"\nfss-clients = [\"subnet:workers\", \"subnet:pods\"]\nosn = \"service:all-iad-services-in-oracle-services-network\"\n"
    )
}

fn read_oke(expect: &str) -> Result<Vec<verify::PathSpec>, String> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders");
    let files = FsFiles::new(&dir);
    let text = std::fs::read_to_string(dir.join("scenario.toml")).unwrap();
    let loaded = load::load_str(&text, "scenario.toml", Format::Toml, &files).unwrap();
    verify::read(
        &loaded.scenario,
        expect,
        "expect.toml",
        &files,
        &Limits::default(),
    )
    .map_err(|e| e.to_string())
}

/// A pack included twice (two OKE clusters in one expectations file, each
/// with its own role bindings) was refused: both includes named their
/// paths `oke/...` ("a second path is named `oke/workers-to-api-6443`").
/// An include now takes a `name` its paths go by (`NAME/PATH`); without
/// one, as before, the pack's name, and the error says what to do.
#[test]
fn a_pack_included_twice_names_each_include() {
    let two = format!(
        "{}{}",
        oke_include(Some("east"), "subnet:workers"),
        oke_include(Some("west"), "vnic:worker-1")
    );
    let paths = read_oke(&two).unwrap();
    let n = paths.len() / 2;
    assert!(n >= 20, "{n}");
    assert!(paths[..n].iter().all(|p| p.name.starts_with("east/")));
    assert!(paths[n..].iter().all(|p| p.name.starts_with("west/")));
    let w = |prefix: &str| {
        paths
            .iter()
            .find(|p| p.name == format!("{prefix}/workers-to-api-6443"))
            .unwrap()
            .from_text
            .clone()
    };
    assert_eq!(w("east"), "subnet:workers");
    assert_eq!(w("west"), "vnic:worker-1");
    // Today's form unchanged: the pack's name.
    let one = read_oke(&oke_include(None, "subnet:workers")).unwrap();
    assert!(one.iter().all(|p| p.name.starts_with("oke/")));
    // Twice without names: refused, saying how.
    let e = read_oke(&format!(
        "{}{}",
        oke_include(None, "subnet:workers"),
        oke_include(None, "vnic:worker-1")
    ))
    .unwrap_err();
    assert!(
        e.ends_with("a second path is named `oke/workers-to-api-6443`: pack `oke` is included twice? give each include its own `name = \"...\"` (its paths are then named NAME/PATH)"),
        "{e}"
    );
    for bad in ["", "a/b"] {
        let e = read_oke(&oke_include(Some(bad), "subnet:workers")).unwrap_err();
        assert!(
            e.ends_with("an include's `name` is what its paths are named after (`NAME/PATH`): not empty, and without `/`"),
            "{e}"
        );
    }
}

/// `zprsim explain` on a first packet that passes and whose reply drops
/// (item 2 of the twenty-second session): it said nothing of the reply
/// but a cross-VCN route note, and gave no hint. Now it says the reply
/// drops (`reply_drops` in `--json`) and gives the hint `verify` gives
/// the same pair, by the same code (`verify::packet_hints_with_replies`,
/// `whole.rs`): the route back (asymmetric routing) and the stateful
/// statement (a connection allowed by stateless ZPR statements); with
/// `--reply` the same hint.
#[test]
fn explain_gives_the_reply_hint_verify_gives() {
    use assert_cmd::cargo::CommandCargoExt;
    let dir = tempfile::tempdir().unwrap();
    // `sb`'s table has no rule back to VCN `a`.
    let routes = STATELESS_CROSS_VCN.replace("#BRT#", "");
    std::fs::write(dir.path().join("x.toml"), &routes).unwrap();
    let zpr = std::fs::read_to_string("tests/cases/scenarios/zpr.toml").unwrap();
    std::fs::write(dir.path().join("zpr.toml"), &zpr).unwrap();
    let cases = [
        (
            "x.toml",
            routes.as_str(),
            "10.0.1.10",
            "10.1.1.10",
            443,
            "route",
        ),
        (
            "zpr.toml",
            zpr.as_str(),
            "10.10.1.60",
            "10.10.1.61",
            9200,
            "zpr",
        ),
    ];
    for (file, text, src, dst, port, stage) in cases {
        let s = load::from_toml_str(text, file).unwrap().scenario;
        let e = format!(
            "[[path]]\nname = \"p\"\nfrom = \"{src}\"\nto = \"{dst}\"\nproto = \"tcp\"\ndport = {port}\nexpect = \"allow\"\n"
        );
        let files = FsFiles::new(dir.path());
        let limits = Limits::default();
        let c = Compiled::new(&s, &Config::default()).unwrap();
        let paths = verify::read(&s, &e, "e.toml", &files, &limits).unwrap();
        let r = verify::run(&s, &c, &paths, &limits).unwrap();
        let want = &r.paths[0].to_open;
        assert_eq!(want.len(), 1, "{file}: {:?}", r.paths[0]);
        assert!(want[0].starts_with(&format!("{stage}: ")), "{want:?}");
        for reply in [false, true] {
            let mut args = vec![
                "explain".to_owned(),
                file.to_owned(),
                "--src".into(),
                src.into(),
                "--dst".into(),
                dst.into(),
                "--proto".into(),
                "tcp".into(),
                "--dport".into(),
                port.to_string(),
                "--json".into(),
            ];
            if reply {
                args.push("--reply".into());
            }
            let o = std::process::Command::cargo_bin("zprsim")
                .unwrap()
                .current_dir(dir.path())
                .args(&args)
                .output()
                .unwrap();
            assert_eq!(
                o.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            let got: Vec<String> = v["to_open"]
                .as_array()
                .unwrap_or_else(|| panic!("{file} reply {reply}: no to_open: {v}"))
                .iter()
                .map(|h| h.as_str().unwrap().to_owned())
                .collect();
            // The hint names the path's file where the policy's
            // statements are: the same text but that.
            let got: Vec<String> = got
                .iter()
                .map(|h| h.replace(&format!("(in {file}"), "(in e"))
                .collect();
            let want: Vec<String> = want
                .iter()
                .map(|h| h.replace(&format!("(in {file}"), "(in e"))
                .collect();
            assert_eq!(got, want, "{file} reply {reply}");
            if !reply {
                let note = v["reply_drops"]
                    .as_str()
                    .or_else(|| v["reply_route"].as_str())
                    .unwrap_or_else(|| panic!("{file}: no note: {v}"));
                assert!(note.contains(&format!("drops at {stage}")), "{note}");
                // Text: the note, then the hint.
                args.pop();
                let o = std::process::Command::cargo_bin("zprsim")
                    .unwrap()
                    .current_dir(dir.path())
                    .args(&args)
                    .output()
                    .unwrap();
                let out = String::from_utf8_lossy(&o.stdout);
                let n = out
                    .find("  note: its reply")
                    .unwrap_or_else(|| panic!("{out}"));
                let h = out.find("  to open: ").unwrap_or_else(|| panic!("{out}"));
                assert!(n < h, "{out}");
                assert_eq!(out.matches("  to open: ").count(), 1, "{out}");
            }
        }
    }
}

/// Two VCNs over DRGs, every security rule open and stateful; `x` in
/// `a` routes to `b`, `#BRT#` is `b`'s table's rules.
const STATELESS_CROSS_VCN: &str = r#"
[[vcn]]
name = "a"
cidr_blocks = ["10.0.0.0/16"]

[[vcn]]
name = "b"
cidr_blocks = ["10.1.0.0/16"]

[[gateway]]
name = "ad"
vcn = "a"
kind = "drg"

[[gateway]]
name = "bd"
vcn = "b"
kind = "drg"

[[security_list]]
name = "oa"
vcn = "a"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]

[[security_list]]
name = "ob"
vcn = "b"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]

[[route_table]]
name = "art"
vcn = "a"
route_rules = [{ destination = "10.1.0.0/16", network_entity = "ad" }]

[[route_table]]
name = "brt"
vcn = "b"
route_rules = [#BRT#]

[[subnet]]
name = "sa"
vcn = "a"
cidr_block = "10.0.1.0/24"
route_table = "art"
security_lists = ["oa"]

[[subnet]]
name = "sb"
vcn = "b"
cidr_block = "10.1.1.0/24"
route_table = "brt"
security_lists = ["ob"]

[[vnic]]
name = "x"
subnet = "sa"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "y"
subnet = "sb"
private_ips = ["10.1.1.10"]
"#;

/// The late review's L2 (item 3 of the twenty-second session): a pair
/// failing on some ports at its first packet (48-49, 61-62: no ingress
/// rule) and on others only at its reply (55-60: no stateless rule back)
/// printed one stage for all of them, the witness's (`DROP at
/// ingress-security (failing ports 48-49, 55-62)`), so 55-60 read as an
/// ingress drop. Now each failing run has its own stage and reply flag:
/// `failing_runs` in `--json` (beside `failing_ports`, unchanged), and
/// in text and JUnit each run with its own verdict.
#[test]
fn each_failing_run_says_its_own_stage_and_reply() {
    use zprsim_control::verdict::Stage;
    let s = SOURCE_PORT_SPLIT.replace("@N@", "17").replace("@P@", "udp");
    let e = "[[path]]\nname = \"range\"\nfrom = \"vnic:c\"\nto = \"vnic:d\"\nproto = \"udp\"\ndport = \"48-62\"\nexpect = \"allow\"\n";
    let r = run(&s, e);
    let f = &r.paths[0].failed[0];
    assert_eq!(f.failing_ports, ["48-49", "55-62"]);
    let runs: Vec<(&str, Option<Stage>, bool)> = f
        .failing_runs
        .iter()
        .map(|x| (x.ports.as_str(), x.stage, x.reply))
        .collect();
    assert_eq!(
        runs,
        [
            ("48-49", Some(Stage::IngressSecurity), false),
            ("55-60", Some(Stage::EgressSecurity), true),
            ("61-62", Some(Stage::IngressSecurity), false),
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &s).unwrap();
    std::fs::write(dir.path().join("e.toml"), e).unwrap();
    let cmd = |extra: &[&str]| {
        crate::support::run_in(
            dir.path(),
            ["verify", "s.toml", "e.toml"].iter().chain(extra),
        )
    };
    let out = String::from_utf8_lossy(&cmd(&[]).stdout).into_owned();
    assert!(
        out.contains("(failing ports 48-49: DROP at ingress-security; 55-60: reply DROP at egress-security; 61-62: DROP at ingress-security)"),
        "{out}"
    );
    let v: Value = serde_json::from_slice(&cmd(&["--json"]).stdout).unwrap();
    let f = &v["paths"][0]["failed"][0];
    assert_eq!(
        f["failing_ports"],
        serde_json::json!(["48-49", "55-62"]),
        "{f}"
    );
    assert_eq!(
        f["failing_runs"],
        serde_json::json!([
            { "ports": "48-49", "stage": "ingress-security" },
            { "ports": "55-60", "stage": "egress-security", "reply": true },
            { "ports": "61-62", "stage": "ingress-security" },
        ]),
        "{f}"
    );
    let o = cmd(&["--junit", "-"]);
    let xml = String::from_utf8_lossy(&o.stdout);
    assert!(
        xml.contains("failing ports: 48-49: DROP at ingress-security; 55-60: reply DROP at egress-security; 61-62: DROP at ingress-security"),
        "{xml}"
    );
    // One stage for every run: printed as before.
    let e2 = e.replace("\"48-62\"", "\"50-60\"");
    let r = run(&s, &e2);
    assert_eq!(r.paths[0].failed[0].failing_runs.len(), 1);
}

/// `verify` said of every reply that drops "the connection cannot
/// complete", a DNS answer's and an echo reply's too, where `explain` says
/// a UDP or ICMP reply "would drop" and only a TCP connection "cannot
/// complete". Now a UDP path's failure says the request passes but gets
/// no response, a ping path's that the echo request gets no echo reply,
/// and a TCP path's still that the connection cannot complete: in text
/// and JUnit alike, `--json`'s fields unchanged.
///
/// Planning item 1 of the twenty-eighth session (branch s28-polish).
#[test]
fn a_reply_that_drops_is_said_per_protocol_in_text_and_junit() {
    // The DoT path (tcp/853) made stateless too: its reply drops as well.
    let s = scenario("").replace(
        "protocol = \"6\", tcp_options",
        "protocol = \"6\", is_stateless = true, tcp_options",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &s).unwrap();
    std::fs::write(dir.path().join("e.toml"), EXPECT).unwrap();
    let cmd = |extra: &[&str]| {
        crate::support::run_in(
            dir.path(),
            ["verify", "s.toml", "e.toml"].iter().chain(extra),
        )
    };
    let denied = "egress-security DENIED: at VNIC `d` (evaluated security list `dns-sl`); VNIC `d` has no egress rules: it allows nothing";
    let dns = format!("the reply would drop: {denied}: the request passes but gets no response");
    let ping = format!(
        "the echo reply would drop: {denied}: the echo request passes but gets no echo reply"
    );
    let dot = format!("the reply drops: {denied}: the connection cannot complete");
    let o = cmd(&[]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    for want in [&dns, &ping, &dot] {
        assert!(
            text.contains(&format!("\n          {want}\n")),
            "{want}\n{text}"
        );
    }
    assert_eq!(text.matches("cannot complete").count(), 1, "{text}");
    let o = cmd(&["--junit", "-"]);
    let xml = String::from_utf8_lossy(&o.stdout);
    for want in [&dns, &ping, &dot] {
        assert!(xml.contains(want.as_str()), "{want}\n{xml}");
    }
    assert_eq!(xml.matches("cannot complete").count(), 1, "{xml}");
    // `--json`: the same fields, `rule` in these words.
    let v: Value = serde_json::from_slice(&cmd(&["--json"]).stdout).unwrap();
    let rules: Vec<&str> = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["failed"][0]["rule"].as_str())
        .collect();
    assert_eq!(rules, [dns.as_str(), ping.as_str(), dot.as_str()], "{v:#}");
    // A UDP or echo reply's failure has the fields a TCP reply's has (a
    // port path's `failing_ports` and `failing_runs` aside).
    let keys = |f: &Value| {
        let mut k: Vec<String> = f.as_object().unwrap().keys().cloned().collect();
        k.retain(|k| !k.starts_with("failing_"));
        k
    };
    let failed: Vec<&Value> = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["failed"][0])
        .filter(|f| f.is_object())
        .collect();
    assert_eq!(failed.len(), 3, "{v:#}");
    for f in &failed {
        assert_eq!(keys(f), keys(failed[2]), "{f:#}");
        assert_eq!(f["reply"], true, "{f:#}");
    }
}
