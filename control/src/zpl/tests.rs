//! Unit and property tests of the ZPL parser, printer and errors.

use std::net::IpAddr;

use ipnet::IpNet;
use proptest::prelude::*;

use super::ast::{
    Condition, ConnectionState, Endpoint, ProtocolSpec, Span, Spanned, Statement, StatementKind,
};
use super::*;
use crate::model::{Attribute, PortRange};

// ---------------------------------------------------------------------------
// Helpers

fn attr(ns: &str, key: &str, value: &str) -> Attribute {
    Attribute::new(ns, key, value)
}

fn zpr(key: &str, value: &str) -> Attribute {
    Attribute::new("oracle-zpr", key, value)
}

fn sp<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

fn net(s: &str) -> Endpoint {
    Endpoint::Cidr(s.parse().unwrap())
}

fn ports(ranges: &[(u16, u16)]) -> Vec<PortRange> {
    ranges
        .iter()
        .map(|&(min, max)| PortRange { min, max })
        .collect()
}

fn tcp(ranges: &[(u16, u16)]) -> Condition {
    Condition::Protocol(ProtocolSpec {
        protocol: 6,
        ports: ports(ranges),
    })
}

fn scoped(vcn: Attribute, src: Endpoint, dst: Endpoint, conditions: Vec<Condition>) -> Statement {
    Statement {
        kind: StatementKind::Scoped {
            vcn: sp(vcn),
            src: sp(src),
            dst: sp(dst),
        },
        conditions: conditions.into_iter().map(sp).collect(),
    }
}

fn cross(
    src: Attribute,
    src_vcn: Attribute,
    dst: Attribute,
    dst_vcn: Attribute,
    conditions: Vec<Condition>,
) -> Statement {
    Statement {
        kind: StatementKind::CrossVcn {
            src: sp(src),
            src_vcn: sp(src_vcn),
            dst: sp(dst),
            dst_vcn: sp(dst_vcn),
        },
        conditions: conditions.into_iter().map(sp).collect(),
    }
}

#[track_caller]
fn ok(text: &str) -> Statement {
    match parse_statement(text) {
        Ok(s) => s,
        Err(e) => panic!("{}", e.render("t.zpl", text)),
    }
}

/// The conditions of a form-A statement `in n:v VCN allow a:b to connect to
/// c:d <with>`.
#[track_caller]
fn conds(with: &str) -> Vec<Condition> {
    let s = ok(&format!("in n:v VCN allow a:b to connect to c:d {with}"));
    s.conditions.into_iter().map(|c| c.node).collect()
}

#[track_caller]
fn render_err(text: &str) -> String {
    match parse_statement(text) {
        Ok(s) => panic!("`{text}` parsed: {s:?}"),
        Err(e) => e.render("t.zpl", text),
    }
}

/// The rendering of an error on a one-line statement, the caret under
/// `width` characters from 1-based column `col`.
fn one_line(text: &str, msg: &str, col: usize, width: usize) -> String {
    format!(
        "error: {msg}\n  --> t.zpl:1:{col}\n   |\n{}\n   | {}{}",
        format!(" 1 | {text}").trim_end(),
        " ".repeat(col - 1),
        "^".repeat(width)
    )
}

/// Asserts the exact rendered error, the caret under the first occurrence
/// of `at` in `text`.
#[track_caller]
fn check_err(text: &str, at: &str, msg: &str) {
    let col = text.find(at).unwrap() + 1;
    assert_eq!(
        render_err(text),
        one_line(text, msg, col, at.chars().count())
    );
}

/// Like [`check_err`], the caret under the last occurrence of `at`.
#[track_caller]
fn check_err_last(text: &str, at: &str, msg: &str) {
    let col = text.rfind(at).unwrap() + 1;
    assert_eq!(
        render_err(text),
        one_line(text, msg, col, at.chars().count())
    );
}

/// Asserts the exact rendered error, one caret just past the end.
#[track_caller]
fn check_err_end(text: &str, msg: &str) {
    assert_eq!(
        render_err(text),
        one_line(text, msg, text.chars().count() + 1, 1)
    );
}

// ---------------------------------------------------------------------------
// Statement forms

#[test]
fn form_a_with_spans() {
    let text = "in net:prod VCN allow app:web endpoints to connect to app:db endpoints with protocol='tcp/1521'";
    let s = ok(text);
    assert_eq!(
        s,
        scoped(
            zpr("net", "prod"),
            Endpoint::Attribute(zpr("app", "web")),
            Endpoint::Attribute(zpr("app", "db")),
            vec![tcp(&[(1521, 1521)])]
        )
    );
    let StatementKind::Scoped { vcn, src, dst } = &s.kind else {
        panic!("form A")
    };
    let slice = |sp: Span| &text[sp.start..sp.end];
    assert_eq!(slice(vcn.span), "net:prod");
    assert_eq!(slice(src.span), "app:web");
    assert_eq!(slice(dst.span), "app:db");
    assert_eq!(slice(s.conditions[0].span), "protocol='tcp/1521'");
}

#[test]
fn form_b_with_spans() {
    let text = "allow app:web endpoints in net:a VCN to connect to app:db endpoints with protocol='tcp/5432' in net:b VCN";
    let s = ok(text);
    assert_eq!(
        s,
        cross(
            zpr("app", "web"),
            zpr("net", "a"),
            zpr("app", "db"),
            zpr("net", "b"),
            vec![tcp(&[(5432, 5432)])]
        )
    );
    let StatementKind::CrossVcn {
        src,
        src_vcn,
        dst,
        dst_vcn,
    } = &s.kind
    else {
        panic!("form B")
    };
    let slice = |sp: Span| &text[sp.start..sp.end];
    assert_eq!(
        [
            slice(src.span),
            slice(src_vcn.span),
            slice(dst.span),
            slice(dst_vcn.span)
        ],
        ["app:web", "net:a", "app:db", "net:b"]
    );
}

#[test]
fn form_b_without_endpoints_and_conditions() {
    assert_eq!(
        ok("allow app:web in net:a VCN to connect to app:db in net:b VCN"),
        cross(
            zpr("app", "web"),
            zpr("net", "a"),
            zpr("app", "db"),
            zpr("net", "b"),
            vec![]
        )
    );
}

#[test]
fn endpoints_keyword_may_be_left_out() {
    let with = ok("in n:v VCN allow a:b endpoints to connect to c:d endpoints");
    let without = ok("in n:v VCN allow a:b to connect to c:d");
    assert_eq!(with, without);
    assert_eq!(
        ok("in n:v VCN allow a:b endpoints to connect to c:d"),
        without
    );
}

#[test]
fn keywords_are_case_insensitive() {
    assert_eq!(
        ok(
            "IN n:v vcn ALLOW a:b ENDPOINTS To Connect TO c:d Endpoints WITH PROTOCOL='TCP/22' AND Connection-State='STATELESS'"
        ),
        scoped(
            zpr("n", "v"),
            Endpoint::Attribute(zpr("a", "b")),
            Endpoint::Attribute(zpr("c", "d")),
            vec![
                tcp(&[(22, 22)]),
                Condition::ConnectionState(ConnectionState::Stateless)
            ]
        )
    );
    assert_eq!(
        ok("ALLOW a:b Endpoints IN n:v Vcn TO CONNECT TO c:d IN n:w VCN"),
        cross(
            zpr("a", "b"),
            zpr("n", "v"),
            zpr("c", "d"),
            zpr("n", "w"),
            vec![]
        )
    );
    assert_eq!(
        ok("in n:v VCN allow ALL-ENDPOINTS to connect to Osn-Services-IP-Addresses"),
        scoped(
            zpr("n", "v"),
            Endpoint::AllEndpoints,
            Endpoint::OsnServices,
            vec![]
        )
    );
}

#[test]
fn attribute_names_and_values_are_case_sensitive() {
    let s = ok("in Net:Prod VCN allow My-Corp.App:Web to connect to app:web");
    assert_eq!(
        s,
        scoped(
            zpr("Net", "Prod"),
            Endpoint::Attribute(attr("My-Corp", "App", "Web")),
            Endpoint::Attribute(zpr("app", "web")),
            vec![]
        )
    );
    assert_ne!(
        s,
        ok("in net:prod VCN allow my-corp.app:web to connect to app:web")
    );
}

#[test]
fn whitespace_between_tokens_is_free() {
    assert_eq!(
        ok(
            "  in\tn:v  VCN\nallow a:b\r\n  to connect to c:d with protocol = 'tcp/22' ,connection-state='stateless'  "
        ),
        ok(
            "in n:v VCN allow a:b to connect to c:d with protocol='tcp/22', connection-state='stateless'"
        )
    );
}

// ---------------------------------------------------------------------------
// Endpoint terms

#[test]
fn attribute_forms() {
    let dst = |text: &str| {
        let s = ok(&format!(
            "in n:v VCN allow all-endpoints to connect to {text}"
        ));
        let StatementKind::Scoped { dst, .. } = s.kind else {
            panic!("form A")
        };
        dst.node
    };
    assert_eq!(dst("app:web"), Endpoint::Attribute(zpr("app", "web")));
    assert_eq!(
        dst("oracle-zpr.app:fe-nodes"),
        Endpoint::Attribute(zpr("app", "fe-nodes"))
    );
    assert_eq!(
        dst("my-corp.biz:hr"),
        Endpoint::Attribute(attr("my-corp", "biz", "hr"))
    );
    assert_eq!(
        dst("my_corp.biz_1:HR_2-x"),
        Endpoint::Attribute(attr("my_corp", "biz_1", "HR_2-x"))
    );
    // Beyond the documented set: periods and colons in a bare value.
    assert_eq!(dst("app:v1.2"), Endpoint::Attribute(zpr("app", "v1.2")));
    assert_eq!(
        dst("networks:net1:App1"),
        Endpoint::Attribute(zpr("networks", "net1:App1"))
    );
    // Quoted: spaces, periods, quotes (`''`), keywords inside.
    assert_eq!(
        dst("'my-corp.biz:dev and test db'"),
        Endpoint::Attribute(attr("my-corp", "biz", "dev and test db"))
    );
    assert_eq!(
        dst("'app:it''s v1.0'"),
        Endpoint::Attribute(zpr("app", "it's v1.0"))
    );
    assert_eq!(dst("'app:'''"), Endpoint::Attribute(zpr("app", "'")));
    assert_eq!(
        dst("'app: to connect to '"),
        Endpoint::Attribute(zpr("app", " to connect to "))
    );
    assert_eq!(dst("'app:web'"), Endpoint::Attribute(zpr("app", "web")));
    assert_eq!(dst("'app:a,b=c'"), Endpoint::Attribute(zpr("app", "a,b=c")));
    // An attribute whose value looks like IPv6 is still an attribute when it
    // names its namespace.
    assert_eq!(
        dst("'oracle-zpr.fd00::1'"),
        Endpoint::Attribute(zpr("fd00", ":1"))
    );
}

#[test]
fn address_terms() {
    let src = |text: &str| {
        let s = ok(&format!("in n:v VCN allow {text} to connect to app:db"));
        let StatementKind::Scoped { src, .. } = s.kind else {
            panic!("form A")
        };
        src.node
    };
    assert_eq!(src("'10.0.0.0/16'"), net("10.0.0.0/16"));
    assert_eq!(src("'0.0.0.0/0'"), net("0.0.0.0/0"));
    assert_eq!(src("'10.0.2.5/32'"), net("10.0.2.5/32"));
    assert_eq!(src("'10.0.2.5'"), net("10.0.2.5/32"));
    assert_eq!(src("'fd00::/64'"), net("fd00::/64"));
    assert_eq!(src("'fd00::5'"), net("fd00::5/128"));
    assert_eq!(src("'::/0'"), net("::/0"));
    for osn in [
        "osn-services-ip-addresses",
        "'osn-services-ip-addresses'",
        "osn-services-ip-endpoints",
        "'osn-services-ip-endpoints'",
        "'OSN-Services-IP-Addresses'",
    ] {
        assert_eq!(src(osn), Endpoint::OsnServices, "{osn}");
    }
    assert_eq!(src("all-endpoints"), Endpoint::AllEndpoints);
    // The prefix is kept as written.
    let Endpoint::Cidr(n) = src("'10.0.2.5'") else {
        panic!("address")
    };
    assert_eq!(n.prefix_len(), 32);
    assert_eq!(n.addr(), "10.0.2.5".parse::<IpAddr>().unwrap());
}

#[test]
fn allowed_side_combinations() {
    // all-endpoints with an address or the OSN keyword on the other side.
    ok("in n:v VCN allow all-endpoints to connect to '0.0.0.0/0'");
    ok("in n:v VCN allow '0.0.0.0/0' to connect to all-endpoints");
    ok("in n:v VCN allow all-endpoints to connect to osn-services-ip-addresses");
    ok("in n:v VCN allow all-endpoints to connect to app:db");
    ok("in n:v VCN allow app:db to connect to app:db");
    ok("in n:v VCN allow '10.0.0.0/8' to connect to app:db");
}

#[test]
fn attribute_length_limits() {
    let ns = "n".repeat(100);
    let key = "k".repeat(100);
    let value = "v".repeat(255);
    let quoted = format!("'{ns}.{key}:{}'", "x y".repeat(85));
    let s = ok(&format!(
        "in {ns}.{key}:{value} VCN allow {quoted} to connect to a:b"
    ));
    let StatementKind::Scoped { vcn, src, .. } = s.kind else {
        panic!("form A")
    };
    assert_eq!(vcn.node, attr(&ns, &key, &value));
    assert_eq!(
        src.node,
        Endpoint::Attribute(attr(&ns, &key, &"x y".repeat(85)))
    );
    // Characters, not bytes: 255 two-byte characters fit.
    ok(&format!(
        "in n:v VCN allow 'a:{}' to connect to a:b",
        "é".repeat(255)
    ));
}

// ---------------------------------------------------------------------------
// Conditions

#[test]
fn protocol_conditions() {
    let p = |protocol: u8, r: &[(u16, u16)]| {
        Condition::Protocol(ProtocolSpec {
            protocol,
            ports: ports(r),
        })
    };
    let cases: Vec<(&str, Condition)> = vec![
        ("'tcp/443'", p(6, &[(443, 443)])),
        ("'tcp/1521-1522'", p(6, &[(1521, 1522)])),
        (
            "'tcp/22,1521-1522,6200'",
            p(6, &[(22, 22), (1521, 1522), (6200, 6200)]),
        ),
        ("'tcp/999-11199'", p(6, &[(999, 11199)])),
        ("'udp/53'", p(17, &[(53, 53)])),
        ("'icmp'", p(1, &[])),
        ("'icmpv6'", p(58, &[])),
        ("'tcp'", p(6, &[])),
        ("'udp'", p(17, &[])),
        ("'47'", p(47, &[])),
        ("'0'", p(0, &[])),
        ("'255'", p(255, &[])),
        ("'6/443'", p(6, &[(443, 443)])),
        ("'17/53-54'", p(17, &[(53, 54)])),
        ("'1'", p(1, &[])),
        ("'TCP/443'", p(6, &[(443, 443)])),
        ("'IcmpV6'", p(58, &[])),
        ("'tcp/0-65535'", p(6, &[(0, 65535)])),
        ("'tcp/80-80'", p(6, &[(80, 80)])),
        // Blanks inside the quotes around `/`, `,` and `-`, and at the ends.
        (
            "' tcp / 22 , 1521 - 1522 '",
            p(6, &[(22, 22), (1521, 1522)]),
        ),
    ];
    for (value, want) in cases {
        assert_eq!(
            conds(&format!("with protocol={value}")),
            vec![want.clone()],
            "{value}"
        );
        assert_eq!(
            conds(&format!("with protocol = {value}")),
            vec![want],
            "{value}"
        );
    }
}

#[test]
fn icmp_and_state_conditions() {
    assert_eq!(
        conds("with protocol.icmp.type='8'"),
        vec![Condition::IcmpType(8)]
    );
    assert_eq!(
        conds("with protocol.icmp.code='0'"),
        vec![Condition::IcmpCode(0)]
    );
    assert_eq!(
        conds("with protocol.icmp.type = ' 255 '"),
        vec![Condition::IcmpType(255)]
    );
    assert_eq!(
        conds("with PROTOCOL.ICMP.CODE='3'"),
        vec![Condition::IcmpCode(3)]
    );
    assert_eq!(
        conds("with connection-state='stateless'"),
        vec![Condition::ConnectionState(ConnectionState::Stateless)]
    );
    assert_eq!(
        conds("with connection-state='Stateful'"),
        vec![Condition::ConnectionState(ConnectionState::Stateful)]
    );
}

#[test]
fn condition_joins() {
    let want = vec![
        Condition::Protocol(ProtocolSpec {
            protocol: 1,
            ports: vec![],
        }),
        Condition::IcmpType(8),
        Condition::IcmpCode(0),
        Condition::ConnectionState(ConnectionState::Stateless),
    ];
    for with in [
        "with protocol='icmp', protocol.icmp.type='8', protocol.icmp.code='0', connection-state='stateless'",
        "with protocol='icmp' with protocol.icmp.type='8' with protocol.icmp.code='0' with connection-state='stateless'",
        "with protocol='icmp' and protocol.icmp.type='8' and protocol.icmp.code='0' and connection-state='stateless'",
        "with protocol='icmp', and protocol.icmp.type='8', and protocol.icmp.code='0', and connection-state='stateless'",
        "with protocol='icmp',protocol.icmp.type='8' and protocol.icmp.code='0' with connection-state='stateless'",
    ] {
        assert_eq!(conds(with), want, "{with}");
    }
    // Written order is kept.
    assert_eq!(
        conds("with connection-state='stateful', protocol='udp'"),
        vec![
            Condition::ConnectionState(ConnectionState::Stateful),
            Condition::Protocol(ProtocolSpec {
                protocol: 17,
                ports: vec![]
            })
        ]
    );
}

#[test]
fn conditions_in_form_b_come_before_the_last_vcn() {
    assert_eq!(
        ok(
            "allow a:b in n:v VCN to connect to c:d with protocol='tcp/22', connection-state='stateless' in n:w VCN"
        ),
        cross(
            zpr("a", "b"),
            zpr("n", "v"),
            zpr("c", "d"),
            zpr("n", "w"),
            vec![
                tcp(&[(22, 22)]),
                Condition::ConnectionState(ConnectionState::Stateless)
            ]
        )
    );
}

#[test]
fn flattened_conditions() {
    let s = ok(
        "in n:v VCN allow a:b to connect to c:d with protocol='icmp' with protocol.icmp.type='3' and connection-state='stateless'",
    );
    let c = s.conditions();
    assert_eq!(
        c.protocol,
        Some(ProtocolSpec {
            protocol: 1,
            ports: vec![]
        })
    );
    assert_eq!(c.icmp_type, Some(3));
    assert_eq!(c.icmp_code, None);
    assert_eq!(c.state, ConnectionState::Stateless);
}

// ---------------------------------------------------------------------------
// Official examples (oci-semantics.md §7.4, placeholders left out)

#[test]
fn official_examples_parse() {
    let examples = [
        "in app:fin-network VCN allow app:web endpoints to connect to app:store endpoints",
        "in networks:application VCN allow apps:hr-apps endpoints to connect to apps:hr-app-data endpoints",
        "in networks:net1 VCN allow apps:app1 endpoints to connect to '192.168.0.0/16'",
        "allow networks:net1:App1 endpoints in networks:net1 VCN to connect to DB-Server:App1 endpoints in networks:net2 VCN",
        "in network:backend-vcn VCN allow app:orders-api endpoints to connect to storage:orders-fss endpoints",
        "in net:prod VCN allow app:web endpoints to connect to app:db endpoints with protocol='tcp/1521'",
        "in ns.abc:myVcn VCN allow '0.0.0.0/0' to connect to ns.demo:myFirewall endpoints",
        "in ns.abc:myVcn VCN allow ns.demo:myFirewall endpoints to connect to '0.0.0.0/0'",
        "in my:VCN VCN allow '0.0.0.0/0' to connect to XYZ-NLB:NLB1 endpoints",
        "in net:prod VCN allow app:web endpoints to connect to app:db endpoints with protocol = 'tcp/1521', connection-state = 'stateless'",
        "in net:prod VCN allow App:App1 to connect to app:db endpoints",
        "in net:prod VCN allow app:db endpoints to connect to 'osn-services-ip-addresses'",
        "in net:prod VCN allow app:db endpoints to connect to app:db endpoints",
        "in net:prod VCN allow app:web endpoints to connect to app:db endpoints with protocol='tcp/22'",
    ];
    for e in examples {
        let s = ok(e);
        // Printing and parsing again gives the same statement.
        assert_eq!(ok(&print_statement(&s)), s, "{e}");
    }
    let s = ok(examples[3]);
    assert_eq!(
        s,
        cross(
            zpr("networks", "net1:App1"),
            zpr("networks", "net1"),
            zpr("DB-Server", "App1"),
            zpr("networks", "net2"),
            vec![]
        )
    );
    let s = ok(examples[8]);
    assert_eq!(
        s,
        scoped(
            zpr("my", "VCN"),
            net("0.0.0.0/0"),
            Endpoint::Attribute(zpr("XYZ-NLB", "NLB1")),
            vec![]
        )
    );
}

// ---------------------------------------------------------------------------
// Printer

#[test]
fn printer_canonical_text() {
    let cases = [
        (
            "IN net:prod vcn ALLOW app:web TO CONNECT TO '10.0.0.0/8' WITH protocol = 'TCP / 22 , 80-81'",
            "in oracle-zpr.net:prod VCN allow oracle-zpr.app:web endpoints to connect to '10.0.0.0/8' with protocol='tcp/22,80-81'",
        ),
        (
            "in n:v VCN allow all-endpoints to connect to 'osn-services-ip-endpoints' with protocol='6/443' and connection-state='stateless'",
            "in oracle-zpr.n:v VCN allow all-endpoints to connect to osn-services-ip-addresses with protocol='tcp/443', connection-state='stateless'",
        ),
        (
            "in n:v VCN allow '10.0.2.5' to connect to 'c.d:it''s here' with protocol='icmp' with protocol.icmp.type='8', protocol.icmp.code='0'",
            "in oracle-zpr.n:v VCN allow '10.0.2.5/32' to connect to 'c.d:it''s here' endpoints with protocol='icmp', protocol.icmp.type='8', protocol.icmp.code='0'",
        ),
        (
            "in n:v VCN allow 'fd00::1' to connect to a:b with protocol='47', connection-state='stateful'",
            "in oracle-zpr.n:v VCN allow 'fd00::1/128' to connect to oracle-zpr.a:b endpoints with protocol='47', connection-state='stateful'",
        ),
        (
            "allow a:b in n:v VCN to connect to c:d with protocol='udp/53' in n:w VCN",
            "allow oracle-zpr.a:b endpoints in oracle-zpr.n:v VCN to connect to oracle-zpr.c:d endpoints with protocol='udp/53' in oracle-zpr.n:w VCN",
        ),
        (
            "allow a:b in n:v VCN to connect to c:d in n:w VCN",
            "allow oracle-zpr.a:b endpoints in oracle-zpr.n:v VCN to connect to oracle-zpr.c:d endpoints in oracle-zpr.n:w VCN",
        ),
    ];
    for (input, want) in cases {
        let s = ok(input);
        assert_eq!(print_statement(&s), want);
        assert_eq!(s.to_string(), want);
        assert_eq!(ok(want), s);
    }
}

// ---------------------------------------------------------------------------
// Errors, exact rendering

#[test]
fn rendering_format() {
    // The layout of the brief: file, 1-based line:column, the line, carets.
    let text = "in network.vcn:backend VCN allow app:orders endpoints to connnect to app:db";
    assert_eq!(
        render_err(text),
        "error: expected `connect`, found `connnect`\n  \
         --> t.zpl:1:58\n   \
         |\n \
         1 | in network.vcn:backend VCN allow app:orders endpoints to connnect to app:db\n   \
         |                                                          ^^^^^^^^"
    );
    let e = parse_statement(text).unwrap_err();
    assert_eq!(e.offset(), 57);
    assert_eq!(e.len(), 8);
    assert_eq!(e.expected(), "`connect`");
    assert_eq!(e.found(), "`connnect`");
    assert_eq!(e.message(), "expected `connect`, found `connnect`");
    assert_eq!(e.to_string(), e.message());
    assert_eq!(e.line_col(text), (1, 58));
}

#[test]
fn empty_and_unknown_start() {
    check_err_end("", "expected `in` or `allow`, found end of statement");
    // Trailing blanks of the line are not shown.
    assert_eq!(
        render_err("   "),
        "error: expected `in` or `allow`, found end of statement\n  --> t.zpl:1:4\n   |\n 1 |\n   |    ^"
    );
    check_err_end(
        "# only a comment",
        "expected `in` or `allow`, found end of statement",
    );
    check_err(
        "deny a:b to connect to c:d",
        "deny",
        "expected `in` or `allow`, found `deny`",
    );
    check_err(
        "'in' n:v VCN",
        "'in'",
        "expected `in` or `allow`, found `'in'`",
    );
}

#[test]
fn keyword_errors() {
    check_err(
        "in n:v allow a:b to connect to c:d",
        "allow",
        "expected `VCN`, found `allow`",
    );
    check_err(
        "in n:v VCN a:b to connect to c:d",
        "a:b",
        "expected `allow`, found `a:b`",
    );
    check_err(
        "in n:v VCN allow a:b endpoint to connect to c:d",
        "endpoint",
        "expected `endpoints` or `to`, found `endpoint`",
    );
    let text = "in n:v VCN allow all-endpoints endpoints to connect to c:d";
    assert_eq!(
        render_err(text),
        one_line(text, "expected `to`, found `endpoints`", 32, 9)
    );
    check_err(
        "in n:v VCN allow a:b to connect c:d",
        "c:d",
        "expected `to`, found `c:d`",
    );
    check_err_end(
        "in n:v VCN allow a:b to connect to",
        &format!("expected {}, found end of statement", ENDPOINT_EXPECTED),
    );
    check_err(
        "in n:v VCN allow a:b with protocol='tcp' to connect to c:d",
        "with",
        "expected `endpoints` or `to`, found `with` (conditions go after the destination)",
    );
    check_err(
        "in n:v VCN allow a:b to connect to c:d endpoint",
        "endpoint",
        "expected `endpoints`, `with` or end of statement, found `endpoint`",
    );
    check_err(
        "in n:v VCN allow a:b to connect to '10.0.0.0/8' extra",
        "extra",
        "expected `with` or end of statement, found `extra`",
    );
    check_err(
        "in n:v VCN allow a:b to connect to c:d with protocol='tcp' extra",
        "extra",
        "expected `,`, `and`, `with` or end of statement, found `extra`",
    );
    check_err_last(
        "in n:v VCN allow a:b to connect to c:d with protocol='tcp' = 'x'",
        "=",
        "expected `,`, `and`, `with` or end of statement, found `=`",
    );
}

const ENDPOINT_EXPECTED: &str = "an endpoint (a security attribute, a quoted IP address or CIDR, `all-endpoints` or `osn-services-ip-addresses`)";
const ATTRIBUTE_EXPECTED: &str = "a security attribute (`key:value` or `namespace.key:value`)";

#[test]
fn endpoint_errors() {
    check_err(
        "in n:v VCN allow to connect to c:d",
        "to",
        &format!("expected {ENDPOINT_EXPECTED}, found `to`"),
    );
    check_err(
        "in n:v VCN allow , to connect to c:d",
        ",",
        &format!("expected {ENDPOINT_EXPECTED}, found `,`"),
    );
    check_err(
        "in n:v VCN allow 10.0.0.0/16 to connect to c:d",
        "10.0.0.0/16",
        "expected `'10.0.0.0/16'` (addresses are quoted), found `10.0.0.0/16`",
    );
    check_err(
        "in n:v VCN allow fd00::/64 to connect to c:d",
        "fd00::/64",
        "expected `'fd00::/64'` (addresses are quoted), found `fd00::/64`",
    );
    check_err(
        "in n:v VCN allow '10.0.0.0/33' to connect to c:d",
        "'10.0.0.0/33'",
        "expected an IP address or CIDR, found `'10.0.0.0/33'`",
    );
    check_err(
        "in n:v VCN allow '10.0.0.256' to connect to c:d",
        "'10.0.0.256'",
        "expected an IP address or CIDR, found `'10.0.0.256'`",
    );
    check_err(
        "in n:v VCN allow 'fd00::/129' to connect to c:d",
        "'fd00::/129'",
        "expected an IP address or CIDR, found `'fd00::/129'`",
    );
    check_err(
        "in n:v VCN allow '10.0.2.5/24' to connect to c:d",
        "'10.0.2.5/24'",
        "host bits set in `10.0.2.5/24`, expected `10.0.2.0/24` or `10.0.2.5/32`",
    );
    check_err(
        "in n:v VCN allow 'fd00::5/64' to connect to c:d",
        "'fd00::5/64'",
        "host bits set in `fd00::5/64`, expected `fd00::/64` or `fd00::5/128`",
    );
    check_err(
        "in n:v VCN allow 'web servers' to connect to c:d",
        "'web servers'",
        &format!("expected {ATTRIBUTE_EXPECTED}, found `'web servers'`"),
    );
    check_err(
        "in n:v VCN allow web to connect to c:d",
        "web",
        &format!("expected {ENDPOINT_EXPECTED}, found `web`"),
    );
}

#[test]
fn both_sides_errors() {
    check_err_last(
        "in n:v VCN allow all-endpoints to connect to all-endpoints",
        "all-endpoints",
        "`all-endpoints` on both sides: expected a security attribute, an address or `osn-services-ip-addresses` on one side",
    );
    check_err(
        "in n:v VCN allow '10.0.0.0/8' to connect to osn-services-ip-addresses",
        "osn-services-ip-addresses",
        "address terms on both sides: expected a security attribute or `all-endpoints` on one side, found `'10.0.0.0/8'` and `osn-services-ip-addresses`",
    );
    check_err(
        "in n:v VCN allow '10.0.0.0/8' to connect to '192.168.0.0/16'",
        "'192.168.0.0/16'",
        "address terms on both sides: expected a security attribute or `all-endpoints` on one side, found `'10.0.0.0/8'` and `'192.168.0.0/16'`",
    );
    check_err_last(
        "in n:v VCN allow 'osn-services-ip-addresses' to connect to osn-services-ip-endpoints",
        "osn-services-ip-endpoints",
        "address terms on both sides: expected a security attribute or `all-endpoints` on one side, found `'osn-services-ip-addresses'` and `osn-services-ip-endpoints`",
    );
}

#[test]
fn attribute_errors() {
    check_err(
        "in x VCN allow a:b to connect to c:d",
        "x",
        &format!("expected {ATTRIBUTE_EXPECTED}, found `x`"),
    );
    check_err(
        "in 'n' VCN allow a:b to connect to c:d",
        "'n'",
        &format!("expected {ATTRIBUTE_EXPECTED}, found `'n'`"),
    );
    check_err(
        "in n:v VCN allow a.b.c:d to connect to c:d",
        "b.c",
        "expected an attribute key of letters, digits, `_` and `-`, found `b.c`",
    );
    check_err(
        "in n:v VCN allow 'my corp.biz:x' to connect to c:d",
        "my corp",
        "expected an attribute namespace of letters, digits, `_` and `-`, found `my corp`",
    );
    check_err(
        "in n:v VCN allow a:b/c to connect to c:d",
        "b/c",
        "expected an attribute value of letters, digits, `_`, `-`, `.` and `:` (quote the whole attribute for other characters), found `b/c`",
    );
    // Nothing found: one caret where the name is missing.
    let text = "in n:v VCN allow :b to connect to c:d";
    assert_eq!(
        render_err(text),
        one_line(text, "expected an attribute key, found nothing", 18, 1)
    );
    let text = "in n:v VCN allow 'x.:b' to connect to c:d";
    assert_eq!(
        render_err(text),
        one_line(text, "expected an attribute key, found nothing", 21, 1)
    );
    let text = "in n:v VCN allow .k:b to connect to c:d";
    assert_eq!(
        render_err(text),
        one_line(
            text,
            "expected an attribute namespace, found nothing",
            18,
            1
        )
    );
    // An empty value: the caret sits just after the colon.
    let text = "in n:v VCN allow a: to connect to c:d";
    assert_eq!(
        render_err(text),
        one_line(
            text,
            "expected an attribute value after `:`, found nothing",
            20,
            1
        )
    );
    let text = "in n:v VCN allow 'a:' to connect to c:d";
    assert_eq!(
        render_err(text),
        one_line(
            text,
            "expected an attribute value after `:`, found nothing",
            21,
            1
        )
    );
}

#[test]
fn attribute_length_errors() {
    let long_ns = "n".repeat(101);
    let text = format!("in {long_ns}.k:v VCN allow a:b to connect to c:d");
    check_err(
        &text,
        &long_ns,
        "expected an attribute namespace of at most 100 characters, found 101 characters",
    );
    let long_key = "k".repeat(101);
    let text = format!("in n:v VCN allow {long_key}:v to connect to c:d");
    check_err(
        &text,
        &long_key,
        "expected an attribute key of at most 100 characters, found 101 characters",
    );
    let long_value = "v".repeat(256);
    let text = format!("in n:v VCN allow a:{long_value} to connect to c:d");
    check_err(
        &text,
        &long_value,
        "expected an attribute value of at most 255 characters, found 256 characters",
    );
    // `''` counts as one character: 254 + 2 quotes = 256.
    let value = format!("{}''''", "v".repeat(254));
    let text = format!("in n:v VCN allow 'a:{value}' to connect to c:d");
    check_err(
        &text,
        &value,
        "expected an attribute value of at most 255 characters, found 256 characters",
    );
}

#[test]
fn form_b_errors() {
    check_err(
        "allow all-endpoints in n:v VCN to connect to c:d in n:w VCN",
        "all-endpoints",
        "expected a security attribute, found `all-endpoints` (a cross-VCN statement names attributes only)",
    );
    check_err(
        "allow a:b in n:v VCN to connect to '10.0.0.0/8' in n:w VCN",
        "'10.0.0.0/8'",
        "expected a security attribute, found `'10.0.0.0/8'` (a cross-VCN statement names attributes only)",
    );
    check_err(
        "allow a:b endpoints to connect to c:d",
        "to",
        "expected `in`, found `to`",
    );
    check_err(
        "allow a:b to connect to c:d",
        "to",
        "expected `endpoints` or `in`, found `to`",
    );
    check_err_end(
        "allow a:b in n:v VCN to connect to c:d",
        "expected `endpoints`, `with` or `in`, found end of statement",
    );
    check_err_end(
        "allow a:b in n:v VCN to connect to c:d endpoints",
        "expected `with` or `in`, found end of statement",
    );
    check_err_end(
        "allow a:b in n:v VCN to connect to c:d with protocol='tcp'",
        "expected `,`, `and`, `with` or `in`, found end of statement",
    );
    check_err(
        "allow a:b in n:v VCN with protocol='tcp' to connect to c:d in n:w VCN",
        "with",
        "expected `to`, found `with` (conditions go after the destination)",
    );
    check_err_end(
        "allow a:b in n:v VCN to connect to c:d in n:w",
        "expected `VCN`, found end of statement",
    );
    check_err(
        "allow a:b in n:v VCN to connect to c:d in n:w VCN with protocol='tcp'",
        "with",
        "expected end of statement, found `with`",
    );
}

#[test]
fn quote_errors() {
    check_err(
        "in n:v VCN allow 'a:b to connect to c:d",
        "'a:b to connect to c:d",
        "unterminated quote: expected `'` to close the quote, found end of statement",
    );
    check_err(
        "in n:v VCN allow a:b to connect to c:d with protocol='tcp/22",
        "'tcp/22",
        "unterminated quote: expected `'` to close the quote, found end of statement",
    );
    // `''` inside a quote does not close it.
    check_err(
        "in n:v VCN allow 'a:b'' to connect to c:d",
        "'a:b'' to connect to c:d",
        "unterminated quote: expected `'` to close the quote, found end of statement",
    );
}

#[test]
fn condition_syntax_errors() {
    check_err_end(
        "in n:v VCN allow a:b to connect to c:d with",
        &format!("expected {CONDITION_EXPECTED}, found end of statement"),
    );
    check_err(
        "in n:v VCN allow a:b to connect to c:d with port='80'",
        "port",
        &format!("expected {CONDITION_EXPECTED}, found `port`"),
    );
    check_err(
        "in n:v VCN allow a:b to connect to c:d with 'protocol'='tcp'",
        "'protocol'",
        &format!("expected {CONDITION_EXPECTED}, found `'protocol'`"),
    );
    check_err(
        "in n:v VCN allow a:b to connect to c:d with protocol 'tcp'",
        "'tcp'",
        "expected `=`, found `'tcp'`",
    );
    check_err(
        "in n:v VCN allow a:b to connect to c:d with protocol=tcp/443",
        "tcp/443",
        "expected `'tcp/443'` (condition values are quoted), found `tcp/443`",
    );
    check_err_end(
        "in n:v VCN allow a:b to connect to c:d with protocol=",
        "expected a quoted value for `protocol`, found end of statement",
    );
    check_err_end(
        "in n:v VCN allow a:b to connect to c:d with protocol='tcp',",
        &format!("expected {CONDITION_EXPECTED}, found end of statement"),
    );
    check_err_end(
        "in n:v VCN allow a:b to connect to c:d with protocol='tcp', and",
        &format!("expected {CONDITION_EXPECTED}, found end of statement"),
    );
}

const CONDITION_EXPECTED: &str =
    "a condition (`protocol`, `protocol.icmp.type`, `protocol.icmp.code` or `connection-state`)";

#[test]
fn condition_value_errors() {
    let base = "in n:v VCN allow a:b to connect to c:d with ";
    let cases: &[(&str, &str, &str)] = &[
        (
            "protocol='tcpp/8'",
            "tcpp",
            "expected `tcp`, `udp`, `icmp`, `icmpv6` or a protocol number, found `tcpp`",
        ),
        (
            "protocol='/443'",
            "/",
            "expected `tcp`, `udp`, `icmp`, `icmpv6` or a protocol number, found `/`",
        ),
        (
            "protocol='256'",
            "256",
            "expected a protocol number from 0 to 255, found `256`",
        ),
        (
            "protocol='icmp/8'",
            "/8",
            "expected ports only after `tcp` or `udp`, found ports after `icmp`",
        ),
        (
            "protocol='47/80'",
            "/80",
            "expected ports only after `tcp` or `udp`, found ports after `47`",
        ),
        (
            "protocol='tcp/70000'",
            "70000",
            "expected a port from 0 to 65535, found `70000`",
        ),
        (
            "protocol='tcp/99999999999999999999'",
            "99999999999999999999",
            "expected a port from 0 to 65535, found `99999999999999999999`",
        ),
        (
            "protocol='tcp/1522-1521'",
            "1522-1521",
            "expected a port range whose first port is not above its last, found `1522-1521`",
        ),
        (
            "protocol='tcp/http'",
            "http",
            "expected a port, found `http`",
        ),
        (
            "protocol='tcp/22;23'",
            ";",
            "expected `,`, `-` or the end of the value, found `;`",
        ),
        (
            "protocol='tcp 22'",
            "22",
            "expected `/` and ports, or the end of the value, found `22`",
        ),
        (
            "protocol='tcp,80'",
            "80",
            "expected `/` and ports, found `80`",
        ),
        (
            "protocol='tcp/80,udp/53'",
            "udp",
            "expected one protocol, found a second protocol `udp` (write one statement per protocol)",
        ),
        (
            "protocol='tcp/80, UDP'",
            "UDP",
            "expected one protocol, found a second protocol `UDP` (write one statement per protocol)",
        ),
        (
            "protocol='tcp,udp'",
            "udp",
            "expected one protocol, found a second protocol `udp` (write one statement per protocol)",
        ),
        (
            "protocol='tcp/80,17 /53'",
            "17",
            "expected one protocol, found a second protocol `17` (write one statement per protocol)",
        ),
        (
            "protocol.icmp.type='300'",
            "300",
            "expected an ICMP type from 0 to 255, found `300`",
        ),
        (
            "protocol.icmp.type='x'",
            "x",
            "expected an ICMP type from 0 to 255, found `x`",
        ),
        (
            "protocol.icmp.code='-1'",
            "-",
            "expected an ICMP code from 0 to 255, found `-`",
        ),
        (
            "protocol.icmp.code='3 4'",
            "4",
            "expected the end of the value, found `4`",
        ),
        (
            "connection-state='statefull'",
            "statefull",
            "expected `stateless` or `stateful`, found `statefull`",
        ),
    ];
    for (cond, at, msg) in cases {
        let text = format!("{base}{cond}");
        let col = base.len() + cond.rfind(at).unwrap() + 1;
        assert_eq!(
            render_err(&text),
            one_line(&text, msg, col, at.len()),
            "{cond}"
        );
    }
    // Errors at the end of a value: the caret on the closing quote.
    let end_cases: &[(&str, &str)] = &[
        (
            "protocol=''",
            "expected `tcp`, `udp`, `icmp`, `icmpv6` or a protocol number, found an empty value",
        ),
        ("protocol='tcp/'", "expected a port, found end of value"),
        ("protocol='tcp/22,'", "expected a port, found end of value"),
        ("protocol='tcp/22-'", "expected a port, found end of value"),
        (
            "protocol.icmp.type=''",
            "expected an ICMP type from 0 to 255, found an empty value",
        ),
        (
            "connection-state=''",
            "expected `stateless` or `stateful`, found an empty value",
        ),
    ];
    for (cond, msg) in end_cases {
        let text = format!("{base}{cond}");
        let col = text.len();
        assert_eq!(render_err(&text), one_line(&text, msg, col, 1), "{cond}");
    }
}

#[test]
fn condition_given_twice() {
    check_err_last(
        "in n:v VCN allow a:b to connect to c:d with protocol='tcp', protocol='udp'",
        "protocol",
        "`protocol` given twice",
    );
    check_err_last(
        "in n:v VCN allow a:b to connect to c:d with connection-state='stateless' with Connection-State='stateful'",
        "Connection-State",
        "`connection-state` given twice",
    );
    check_err_last(
        "in n:v VCN allow a:b to connect to c:d with protocol.icmp.type='8' and protocol.icmp.type='8'",
        "protocol.icmp.type",
        "`protocol.icmp.type` given twice",
    );
    let e = parse_statement(
        "in n:v VCN allow a:b to connect to c:d with protocol.icmp.code='1', protocol.icmp.code='1'",
    )
    .unwrap_err();
    assert_eq!(e.expected(), "`protocol.icmp.code` at most once");
}

#[test]
fn size_limits() {
    let text = format!(
        "in n:v VCN allow a:b to connect to 'c:{}'",
        " ".repeat(MAX_STATEMENT_LEN)
    );
    let e = parse_statement(&text).unwrap_err();
    assert_eq!(
        e.message(),
        format!(
            "expected a statement of at most 65536 bytes, found {} bytes",
            text.len()
        )
    );
    assert_eq!(e.offset(), MAX_STATEMENT_LEN);
    assert_eq!(e.offset() + e.len(), text.len());

    let line = "in n:v VCN allow a:b to connect to c:d\n";
    let file = line.repeat(MAX_FILE_LEN / line.len() + 1);
    let e = parse_policy_text(&file).unwrap_err();
    assert_eq!(
        e.message(),
        format!(
            "expected a policy text of at most 4194304 bytes, found {} bytes",
            file.len()
        )
    );
    // Just under the limit: every statement parses.
    let file = line.repeat(MAX_FILE_LEN / line.len());
    assert_eq!(
        parse_policy_text(&file).unwrap().len(),
        MAX_FILE_LEN / line.len()
    );
}

#[test]
fn pathological_inputs_up_to_the_limit_finish() {
    let max = MAX_STATEMENT_LEN;
    let head = "in n:v VCN allow a:b to connect to c:d";
    let inputs = [
        "'".repeat(max),
        "''".repeat(max / 2),
        "a".repeat(max),
        ",".repeat(max),
        "=".repeat(max),
        "\n#".repeat(max / 2),
        format!(
            "{head} with protocol='tcp/{}1'",
            "1,".repeat((max - head.len() - 40) / 2)
        ),
        format!(
            "{head} with protocol='tcp/{}'",
            " ".repeat(max - head.len() - 40)
        ),
        format!("{head} {}", "with connection-state='stateless' ".repeat(10)),
        format!(
            "{head} with protocol='tcp'{}",
            ", and".repeat((max - head.len() - 40) / 5)
        ),
        format!("in '{}' VCN", "a:".repeat((max - 10) / 2)),
    ];
    for text in &inputs {
        assert!(text.len() <= max);
        let _ = parse_checked(text);
        let _ = parse_policy_text(text);
    }
    // The long port list is fine: every port is kept.
    let s = parse_statement(&inputs[6]).unwrap();
    let Some(Condition::Protocol(p)) = s.conditions.first().map(|c| &c.node) else {
        panic!()
    };
    assert_eq!(p.ports.len(), (max - head.len() - 40) / 2 + 1);
}

// ---------------------------------------------------------------------------
// Rendering details

#[test]
fn render_multi_digit_line_and_tabs() {
    let mut text = String::new();
    for _ in 0..11 {
        text.push_str("in n:v VCN allow a:b to connect to c:d\n");
    }
    text.push_str("in n:v VCN allow a:b to connect to c:d with\n");
    text.push_str("in n:v VCN allow a:b to connect to c:d\n");
    let e = parse_policy_text(&text).unwrap_err();
    assert_eq!(e.line_col(&text), (12, 44));
    assert_eq!(
        e.render("p.zpl", &text),
        "error: expected a condition (`protocol`, `protocol.icmp.type`, `protocol.icmp.code` or `connection-state`), found end of statement\n   \
         --> p.zpl:12:44\n    \
         |\n \
         12 | in n:v VCN allow a:b to connect to c:d with\n    \
         |                                            ^"
    );
}

#[test]
fn render_expands_tabs_and_counts_characters() {
    let text = "in n:v VCN allow 'a:ü'\tto\tconnect\tto\tc:d\twith\tport='x'";
    // Column 47 in characters; 64 columns of display before `port`.
    assert_eq!(
        render_err(text),
        format!(
            "error: expected a condition (`protocol`, `protocol.icmp.type`, `protocol.icmp.code` or `connection-state`), found `port`\n  \
             --> t.zpl:1:47\n   \
             |\n \
             1 | in n:v VCN allow 'a:ü'    to    connect    to    c:d    with    port='x'\n   \
             | {}^^^^",
            " ".repeat(64)
        )
    );
}

#[test]
fn render_at_places_a_statement_inside_a_file() {
    // The statement sits in a TOML string starting at line 7, column 15.
    let text = "in n:v VCN allow a:b to connect to c:d with protocol='tcp/0-'";
    let e = parse_statement(text).unwrap_err();
    assert_eq!(
        e.render_at("scenario.toml", text, 7, 15),
        "error: expected a port, found end of value\n  \
         --> scenario.toml:7:75\n   \
         |\n \
         7 | in n:v VCN allow a:b to connect to c:d with protocol='tcp/0-'\n   \
         |                                                             ^"
    );
    // On a later line of the statement the column is not shifted.
    let text = "in n:v VCN allow a:b\n    to connect to c:d extra";
    let e = parse_statement(text).unwrap_err();
    assert_eq!(
        e.render_at("scenario.toml", text, 7, 15),
        "error: expected `endpoints`, `with` or end of statement, found `extra`\n  \
         --> scenario.toml:8:23\n   \
         |\n \
         8 |     to connect to c:d extra\n   \
         |                       ^^^^^"
    );
}

#[test]
fn render_multi_line_span_and_crlf() {
    // An unterminated quote running over lines: carets to the end of its
    // first line; the `\r` of a CRLF ending is not shown.
    let text = "in n:v VCN allow 'a:b\r\n  to connect to c:d";
    assert_eq!(
        render_err(text),
        "error: unterminated quote: expected `'` to close the quote, found end of statement\n  \
         --> t.zpl:1:18\n   \
         |\n \
         1 | in n:v VCN allow 'a:b\n   \
         |                  ^^^^"
    );
    // Control characters in found text are escaped; in the line they show as `�`.
    let text = "in n:v VCN allow a:b\u{1}c to connect to c:d";
    assert_eq!(
        render_err(text),
        "error: expected an attribute value of letters, digits, `_`, `-`, `.` and `:` (quote the whole attribute for other characters), found `b\\u{1}c`\n  \
         --> t.zpl:1:20\n   \
         |\n \
         1 | in n:v VCN allow a:b\u{fffd}c to connect to c:d\n   \
         |                    ^^^"
    );
}

#[test]
fn a_carriage_return_alone_is_named_where_it_stands() {
    // QA round 24 (Q4): a file whose lines end with CR alone (classic Mac
    // OS) was one line: starting with a comment, a policy of no statement
    // without a word; otherwise "expected `,`, `and`, `with` or end of
    // statement, found `in`" at the second statement. Now the first lone CR
    // is the error, at its line and column (a CR is no line end here).
    let headline = "a carriage return (CR) alone, the line end of classic Mac OS: ZPL lines end with LF or CRLF (convert the file, e.g. `tr '\\r' '\\n'`)";
    let text = "# orders\rin n:v VCN allow a:b to connect to c:d\r";
    let e = parse_policy_text(text).unwrap_err();
    assert_eq!(e.message(), headline);
    assert_eq!(e.line_col(text), (1, 9));
    // A stray CR in a file of LF or CRLF lines: on its own line.
    let text =
        "in n:v VCN allow a:b\r\n  to connect to c:d\nin n:v VCN\rallow c:d to connect to a:b\n";
    let e = parse_policy_text(text).unwrap_err();
    assert_eq!(e.line_col(text), (3, 11));
    assert_eq!(
        e.render("t.zpl", text),
        format!(
            "error: {headline}\n  \
             --> t.zpl:3:11\n   \
             |\n \
             3 | in n:v VCN\u{fffd}allow c:d to connect to a:b\n   \
             |           ^"
        )
    );
    // A CR inside a quote is the quoted text's, as before; apostrophes in
    // a comment open no quote.
    assert_eq!(
        parse_policy_text("# it's\nin n:v VCN allow 'a:b\rc' to connect to c:d\n")
            .unwrap()
            .len(),
        1
    );
    // CRLF alone is still a line end.
    assert_eq!(
        parse_policy_text("in n:v VCN allow a:b to connect to c:d\r\n")
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn long_found_text_is_shortened() {
    let word = "x".repeat(100);
    let e = parse_statement(&word).unwrap_err();
    assert_eq!(
        e.message(),
        format!("expected `in` or `allow`, found `{}…`", "x".repeat(60))
    );
    assert_eq!(e.len(), 100);
}

// ---------------------------------------------------------------------------
// Policy files

#[test]
fn policy_text_statements_lines_and_columns() {
    let text = "\u{feff}# orders policy\n\
                \n\
                in net:prod VCN allow app:web endpoints\n\
                \x20   to connect to app:db endpoints\n\
                \t# a comment inside a statement\n\
                \n\
                \x20   with protocol='tcp/1521'\n\
                allow a:b in n:v VCN to connect to c:d in n:w VCN   \n\
                \x20 # trailing comment\n";
    let parsed = parse_policy_text(text).unwrap();
    assert_eq!(parsed.len(), 2);

    let first = &parsed[0];
    assert_eq!((first.line, first.column), (3, 1));
    assert_eq!(first.offset, text.find("in net").unwrap());
    assert_eq!(
        first.text,
        "in net:prod VCN allow app:web endpoints\n    to connect to app:db endpoints\n\t# a comment inside a statement\n\n    with protocol='tcp/1521'"
    );
    assert_eq!(
        first.statement,
        ok("in net:prod VCN allow app:web to connect to app:db with protocol='tcp/1521'")
    );
    // Spans are relative to the statement's text.
    let StatementKind::Scoped { dst, .. } = &first.statement.kind else {
        panic!("form A")
    };
    assert_eq!(&first.text[dst.span.start..dst.span.end], "app:db");
    // The text parses alone to the same statement.
    assert_eq!(parse_statement(&first.text).unwrap(), first.statement);

    let second = &parsed[1];
    assert_eq!((second.line, second.column), (8, 1));
    assert_eq!(
        second.text,
        "allow a:b in n:v VCN to connect to c:d in n:w VCN"
    );
    assert_eq!(
        &text[second.offset..second.offset + second.text.len()],
        second.text
    );
}

#[test]
fn policy_text_edge_cases() {
    assert!(parse_policy_text("").unwrap().is_empty());
    assert!(
        parse_policy_text("\n\n   \n# x\n  # y\n")
            .unwrap()
            .is_empty()
    );
    // An indented first statement starts a statement; its column counts.
    let parsed = parse_policy_text("\n   in n:v VCN allow a:b to connect to c:d\r\n").unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(
        (parsed[0].line, parsed[0].column, parsed[0].offset),
        (2, 4, 4)
    );
    assert_eq!(parsed[0].text, "in n:v VCN allow a:b to connect to c:d");
    // CRLF line endings and continuation.
    let parsed = parse_policy_text(
        "in n:v VCN allow a:b\r\n  to connect to c:d\r\nin n:v VCN allow c:d to connect to a:b\r\n",
    )
    .unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[1].line, 3);
    assert_eq!(
        parsed[0].text,
        "in n:v VCN allow a:b\r\n  to connect to c:d"
    );
    // A `#` inside a statement line is not a comment.
    assert!(parse_policy_text("in n:v VCN allow a:b to connect to c:d # no\n").is_err());
    // A quote left open continues the statement on the next line, even one
    // starting in column 1 or with `#`.
    let text = "in n:v VCN allow 'a:two\n# lines' to connect to c:d\nin n:v VCN allow a:b to connect to c:d\n";
    let parsed = parse_policy_text(text).unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(
        parsed[0].text,
        "in n:v VCN allow 'a:two\n# lines' to connect to c:d"
    );
    let StatementKind::Scoped { src, .. } = &parsed[0].statement.kind else {
        panic!("form A")
    };
    assert_eq!(src.node, Endpoint::Attribute(zpr("a", "two\n# lines")));
    assert_eq!(parsed[1].line, 3);
    // An unterminated quote swallows the rest of the file, and says so.
    let text = "in n:v VCN allow 'a:b to connect to c:d\nin n:v VCN allow a:b to connect to c:d\n";
    let e = parse_policy_text(text).unwrap_err();
    assert_eq!(e.line_col(text), (1, 18));
    assert!(e.message().starts_with("unterminated quote"));
}

#[test]
fn policy_text_error_in_any_statement_fails_the_file() {
    let text = "in n:v VCN allow a:b to connect to c:d\n\
                # second\n\
                in n:v VCN allow a:b\n\
                \x20 to connect to c:d with protocol='tcp/1521-1520'\n\
                in n:v VCN allow a:b to connect to c:d\n";
    let e = parse_policy_text(text).unwrap_err();
    assert_eq!(e.line_col(text), (4, 40));
    assert_eq!(
        e.render("policies/orders.zpl", text),
        "error: expected a port range whose first port is not above its last, found `1521-1520`\n  \
         --> policies/orders.zpl:4:40\n   \
         |\n \
         4 |   to connect to c:d with protocol='tcp/1521-1520'\n   \
         |                                        ^^^^^^^^^"
    );
    // Two statements on one line: the second `in` is trailing garbage.
    let text = "in n:v VCN allow a:b to connect to c:d in n:v VCN allow c:d to connect to a:b";
    let e = parse_policy_text(text).unwrap_err();
    assert_eq!(
        e.message(),
        "expected `endpoints`, `with` or end of statement, found `in`"
    );
    assert_eq!(e.offset(), 39);
}

// ---------------------------------------------------------------------------
// Property tests

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => "[0-9A-Za-z_-]{1,12}",
        1 => "[0-9A-Za-z_-]{90,100}",
    ]
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[0-9A-Za-z_-]{1,12}",
        2 => "[0-9A-Za-z_ .:'#,=-]{1,20}",
        2 => proptest::collection::vec(any::<char>(), 1..20).prop_map(|v| v.into_iter().collect()),
        1 => "[a-z ']{250,255}",
    ]
}

fn attribute_strategy() -> impl Strategy<Value = Attribute> {
    (name_strategy(), name_strategy(), value_strategy())
        .prop_map(|(ns, key, value)| Attribute::new(ns, key, value))
}

fn cidr_strategy() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<[u8; 4]>(), 0u8..=32)
            .prop_map(|(a, p)| { IpNet::new(IpAddr::from(a), p).unwrap().trunc() }),
        (any::<[u8; 16]>(), 0u8..=128)
            .prop_map(|(a, p)| { IpNet::new(IpAddr::from(a), p).unwrap().trunc() }),
    ]
}

fn endpoint_strategy() -> impl Strategy<Value = Endpoint> {
    prop_oneof![
        4 => attribute_strategy().prop_map(Endpoint::Attribute),
        2 => cidr_strategy().prop_map(Endpoint::Cidr),
        1 => Just(Endpoint::AllEndpoints),
        1 => Just(Endpoint::OsnServices),
    ]
}

fn protocol_strategy() -> impl Strategy<Value = ProtocolSpec> {
    let ranges = proptest::collection::vec((any::<u16>(), any::<u16>()), 0..5).prop_map(|v| {
        v.into_iter()
            .map(|(a, b)| PortRange {
                min: a.min(b),
                max: a.max(b),
            })
            .collect::<Vec<_>>()
    });
    (
        prop_oneof![Just(6u8), Just(17u8), Just(1u8), Just(58u8), any::<u8>()],
        ranges,
    )
        .prop_map(|(protocol, ports)| ProtocolSpec {
            protocol,
            ports: if protocol == 6 || protocol == 17 {
                ports
            } else {
                Vec::new()
            },
        })
}

fn conditions_strategy() -> impl Strategy<Value = Vec<Condition>> {
    (
        proptest::option::of(protocol_strategy()),
        proptest::option::of(any::<u8>()),
        proptest::option::of(any::<u8>()),
        proptest::option::of(prop_oneof![
            Just(ConnectionState::Stateful),
            Just(ConnectionState::Stateless)
        ]),
    )
        .prop_flat_map(|(p, t, c, s)| {
            let v: Vec<Condition> = p
                .map(Condition::Protocol)
                .into_iter()
                .chain(t.map(Condition::IcmpType))
                .chain(c.map(Condition::IcmpCode))
                .chain(s.map(Condition::ConnectionState))
                .collect();
            Just(v).prop_shuffle()
        })
}

fn statement_strategy() -> impl Strategy<Value = Statement> {
    let a = (
        attribute_strategy(),
        endpoint_strategy(),
        endpoint_strategy(),
        conditions_strategy(),
    )
        .prop_filter(
            "one address side, not all-endpoints twice",
            |(_, s, d, _)| {
                let both_addresses = s.is_address_term() && d.is_address_term();
                let both_all = *s == Endpoint::AllEndpoints && *d == Endpoint::AllEndpoints;
                !both_addresses && !both_all
            },
        )
        .prop_map(|(vcn, src, dst, c)| scoped(vcn, src, dst, c));
    let b = (
        attribute_strategy(),
        attribute_strategy(),
        attribute_strategy(),
        attribute_strategy(),
        conditions_strategy(),
    )
        .prop_map(|(s, sv, d, dv, c)| cross(s, sv, d, dv, c));
    prop_oneof![3 => a, 1 => b]
}

/// Parses, and checks the error span lies on char boundaries of the text
/// and the rendering works.
fn parse_checked(text: &str) -> Result<Statement, ZplError> {
    let r = parse_statement(text);
    if let Err(e) = &r {
        assert!(
            e.offset() <= text.len(),
            "offset {} past {}",
            e.offset(),
            text.len()
        );
        assert!(e.offset() + e.len() <= text.len());
        assert!(text.is_char_boundary(e.offset()));
        assert!(text.is_char_boundary(e.offset() + e.len()));
        let rendered = e.render("f.zpl", text);
        assert!(rendered.starts_with("error: "));
        assert!(!e.message().contains('\n'));
    }
    r
}

/// Cuts, inserts and duplicates pieces of a text.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    Duplicate(usize, usize),
    Swap(usize, usize),
}

fn mutation_strategy() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0usize..12).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (
            any::<usize>(),
            prop_oneof![
                "[ ',=.:/#\\n\\t-]",
                "[a-z0-9]{1,4}",
                Just("''".to_string()),
                Just(" with ".to_string()),
                Just(" endpoints".to_string()),
                Just("\n  ".to_string()),
                Just("é".to_string()),
            ]
        )
            .prop_map(|(a, s)| Mutation::Insert(a, s)),
        (any::<usize>(), 1usize..20).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
}

fn floor(s: &str, i: usize) -> usize {
    let mut i = i % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn mutate(text: &str, m: &Mutation) -> String {
    match m {
        Mutation::Delete(a, n) => {
            let a = floor(text, *a);
            let b = floor(text, (a + n).min(text.len()));
            format!("{}{}", &text[..a], &text[b.max(a)..])
        }
        Mutation::Insert(a, s) => {
            let a = floor(text, *a);
            format!("{}{s}{}", &text[..a], &text[a..])
        }
        Mutation::Duplicate(a, n) => {
            let a = floor(text, *a);
            let b = floor(text, (a + n).min(text.len())).max(a);
            format!("{}{}", &text[..b], &text[a..])
        }
        Mutation::Swap(a, b) => {
            let (a, b) = (floor(text, *a), floor(text, *b));
            let (a, b) = (a.min(b), a.max(b));
            // Move text[a..b] to the end.
            format!("{}{}{}", &text[..a], &text[b..], &text[a..b])
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_round_trips(s in statement_strategy()) {
        let text = print_statement(&s);
        let parsed = match parse_statement(&text) {
            Ok(p) => p,
            Err(e) => return Err(TestCaseError::fail(e.render("printed", &text))),
        };
        prop_assert_eq!(&parsed, &s);
        prop_assert_eq!(print_statement(&parsed), text.clone());
        // Every span of the parsed statement lies inside the text.
        for c in &parsed.conditions {
            prop_assert!(c.span.start < c.span.end && c.span.end <= text.len());
        }
        // As a one-statement file, too.
        let file = parse_policy_text(&format!("# x\n{text}\n")).unwrap();
        prop_assert_eq!(file.len(), 1);
        prop_assert_eq!(&file[0].statement, &s);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = parse_checked(&text);
        let _ = parse_policy_text(&text);
    }

    #[test]
    fn random_zpl_like_text_never_panics(text in "[a-zA-Z0-9 '.:,=/#\\n\\t-]{0,120}") {
        let _ = parse_checked(&text);
        if let Err(e) = parse_policy_text(&text) {
            prop_assert!(e.offset() + e.len() <= text.len());
            let _ = e.render("f.zpl", &text);
        }
    }

    #[test]
    fn mutations_of_valid_statements_never_panic(
        s in statement_strategy(),
        muts in proptest::collection::vec(mutation_strategy(), 1..4),
    ) {
        let mut text = print_statement(&s);
        for m in &muts {
            text = mutate(&text, m);
        }
        if let Ok(parsed) = parse_checked(&text) {
            // Whatever parses prints to a text that parses to the same statement.
            let again = print_statement(&parsed);
            prop_assert_eq!(parse_statement(&again).ok(), Some(parsed));
        }
        let _ = parse_policy_text(&text);
    }
}

proptest! {
    // Quadratic in the statement length: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_prefix_of_a_valid_statement_is_handled(s in statement_strategy()) {
        let text = print_statement(&s);
        for (i, _) in text.char_indices() {
            let _ = parse_checked(&text[..i]);
        }
    }
}
