//! Unit tests of selectors: parsing, resolution, expansion.

use std::net::IpAddr;

use super::selector::{Selector, expand, first_host, internet_addresses, parse};
use crate::load::from_toml_str;
use crate::model::{Attribute, Scenario};

fn scenario() -> Scenario {
    from_toml_str(
        r#"
[services]
"osn" = ["8.8.8.0/24", "134.70.0.0/17"]
"dual" = ["134.71.0.0/17", "2603:c020::/32", "134.72.0.0/17", "2603:c030::/32"]
"only6" = ["2603:c040::/32"]
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16", "fd00::/48"]
[[nsg]]
name = "n"
vcn = "v"
[[subnet]]
name = "s"
vcn = "v"
cidr_block = "10.0.1.0/24"
ipv6_cidr_blocks = ["fd00:0:0:1::/64"]
[[vnic]]
name = "a"
subnet = "s"
private_ips = ["10.0.1.10", "fd00:0:0:1::10"]
nsgs = ["n"]
security_attributes = { app = { role = { value = "web", mode = "audit" } } }
[[vnic]]
name = "b"
subnet = "s"
private_ips = ["10.0.1.11"]
security_attributes = { "oracle-zpr" = { tier = { value = "db" } } }
"#,
        "s.toml",
    )
    .unwrap()
    .scenario
}

fn ips(v: &[&str]) -> Vec<IpAddr> {
    v.iter().map(|s| s.parse().unwrap()).collect()
}

#[test]
fn selectors_resolve_and_expand() {
    let s = scenario();
    let e = |t: &str| expand(&s, &parse(&s, t).unwrap());
    assert_eq!(e("vnic:a"), ips(&["10.0.1.10", "fd00:0:0:1::10"]));
    assert_eq!(
        e("subnet:s"),
        ips(&["10.0.1.10", "fd00:0:0:1::10", "10.0.1.11"])
    );
    assert_eq!(e("nsg:n"), ips(&["10.0.1.10", "fd00:0:0:1::10"]));
    // Either mode; the namespace defaults to oracle-zpr.
    assert_eq!(
        e("attr:app.role:web"),
        ips(&["10.0.1.10", "fd00:0:0:1::10"])
    );
    assert_eq!(e("attr:tier:db"), ips(&["10.0.1.11"]));
    assert_eq!(e("attr:app.role:nobody"), Vec::<IpAddr>::new());
    // A CIDR: the VNIC addresses inside, or its first host address.
    assert_eq!(e("10.0.1.0/24"), ips(&["10.0.1.10", "10.0.1.11"]));
    assert_eq!(e("192.0.2.0/24"), ips(&["192.0.2.1"]));
    assert_eq!(e("service:osn"), ips(&["8.8.8.1"]));
    // A label with CIDRs of both families: the first of each family, so
    // that an IPv6-only endpoint still gets a pair.
    assert_eq!(e("service:dual"), ips(&["134.71.0.1", "2603:c020::1"]));
    assert_eq!(e("service:only6"), ips(&["2603:c040::1"]));
    // `internet` avoids VCN and service CIDRs (8.8.8.8 is in `osn` here),
    // and has an IPv6 address because the VCN has an IPv6 CIDR.
    assert_eq!(e("internet"), ips(&["1.1.1.1", "2001:4860::8888"]));
    assert_eq!(internet_addresses(&s).len(), 2);
    assert_eq!(
        parse(&s, "attr:app.role:web").unwrap(),
        Selector::Attr(Attribute::new("app", "role", "web"))
    );
}

#[test]
fn selector_errors() {
    let s = scenario();
    let err = |t: &str| parse(&s, t).unwrap_err().0;
    assert_eq!(err("vnic:z"), "no VNIC is named `z`");
    // Quoted as written, escaped: no forged line.
    assert_eq!(err("vnic:z\nok"), "no VNIC is named `z\\nok`");
    assert_eq!(err("subnet:\u{202e}x"), "no subnet is named `\\u{202e}x`");
    assert_eq!(err("subnet:z"), "no subnet is named `z`");
    assert_eq!(err("nsg:z"), "no NSG is named `z`");
    assert_eq!(err("service:z"), "no service label is named `z`");
    assert_eq!(
        err("10.0.1.5/24"),
        "`10.0.1.5/24` has host bits set (did you mean `10.0.1.0/24`?)"
    );
    assert_eq!(
        err("attr:web"),
        "`attr:web` is not an attribute: expected `attr:NS.KEY:VALUE` or `attr:KEY:VALUE`"
    );
    assert_eq!(
        err("attr:a b.c:d"),
        "`attr:a b.c:d` is not an attribute: expected `attr:NS.KEY:VALUE` or `attr:KEY:VALUE`"
    );
    assert!(err("role:x").starts_with("`role:x`: roles are only for the paths of a pack"));
}

#[test]
fn first_host_addresses() {
    let f = |t: &str| first_host(t.parse().unwrap()).to_string();
    assert_eq!(f("10.0.0.0/24"), "10.0.0.1");
    assert_eq!(f("10.0.0.4/31"), "10.0.0.4");
    assert_eq!(f("10.0.0.7/32"), "10.0.0.7");
    assert_eq!(f("fd00::/64"), "fd00::1");
    assert_eq!(f("fd00::5/128"), "fd00::5");
}

/// A run stopped after `k` looks at the stop request holds the paths
/// judged whole before it, says it was interrupted, and agrees with the
/// whole run on them; a run never stopped is the whole run.
#[test]
fn a_stopped_run_holds_the_paths_judged_whole_and_says_so() {
    use crate::compile::{Compiled, Config};
    let s = scenario();
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let text = (0..6)
        .map(|i| {
            format!(
                "[[path]]\nname = \"p{i}\"\nfrom = \"vnic:a\"\nto = \"vnic:b\"\nproto = \"tcp\"\ndport = {}\nexpect = \"allow\"\n",
                8000 + i
            )
        })
        .collect::<String>();
    let limits = super::Limits::default();
    let paths = super::read(&s, &text, "e.toml", &crate::load::NoFiles, &limits).unwrap();
    let whole = super::run(&s, &c, &paths, &limits).unwrap();
    assert_eq!(whole.paths.len(), 6);
    assert!(!whole.interrupted);
    for k in 0..4 {
        let looks = std::cell::Cell::new(0);
        let stop = || {
            looks.set(looks.get() + 1);
            looks.get() > k
        };
        let r = super::run_until(&super::Job {
            scenario: &s,
            compiled: &c,
            paths: &paths,
            limits: &limits,
            stop: &stop,
        })
        .unwrap();
        assert!(r.interrupted);
        assert_eq!(r.paths.len(), k, "stopped at look {}", k + 1);
        for (x, y) in r.paths.iter().zip(&whole.paths) {
            assert_eq!(
                serde_json::to_string(x).unwrap(),
                serde_json::to_string(y).unwrap()
            );
        }
    }
}

/// Grouping by (class, family): the scenario's `a` (IPv4 and IPv6) and
/// `b` (IPv4) fall in groups of one family each; the pairs of two groups
/// leave out each address with itself; the first failing pairs come in
/// source-major order and skip a source's own address.
#[test]
fn groups_count_pairs_without_self_pairs_and_list_failures_in_order() {
    use super::group::{Endpoints, first_failing, pairs, representative, shared};
    use crate::compile::{Compiled, Config};
    let s = scenario();
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let all = ips(&["10.0.1.10", "fd00:0:0:1::10", "10.0.1.11"]);
    let e = Endpoints::new(&c, all.clone());
    assert!(e.groups.iter().all(|g| {
        g.members
            .iter()
            .all(|&m| e.addrs[m as usize].is_ipv4() == g.v4)
    }));
    let v4: u64 = e.groups_of(true);
    let v6: u64 = e.groups_of(false);
    assert_eq!(v4 + v6, e.groups.len() as u64);
    assert_eq!(v6, 1);
    let sh = shared(&e, &e);
    let n_groups = u32::try_from(e.groups.len()).unwrap();
    // Every pair of groups of one family: the endpoint pairs they stand
    // for add up to the ordered pairs of two different addresses of one
    // family (2 IPv4: 2 pairs; 1 IPv6: none).
    let mut total = 0;
    for g in 0..n_groups {
        for h in 0..n_groups {
            if e.groups[g as usize].v4 != e.groups[h as usize].v4 {
                continue;
            }
            let n = pairs(&e, &e, &sh, g, h);
            total += n;
            match representative(&e, &e, g, h) {
                Some((x, y)) => assert_ne!(x, y),
                None => assert_eq!(n, 0),
            }
        }
    }
    assert_eq!(total, 2);
    // Every pair of groups fails: the pairs in source-major order, no
    // address with itself, across families never (the lists only name
    // groups of the source's family).
    let failing: Vec<Vec<u32>> = e
        .groups
        .iter()
        .map(|g| {
            (0..n_groups)
                .filter(|&h| e.groups[h as usize].v4 == g.v4)
                .collect()
        })
        .collect();
    let got: Vec<(IpAddr, IpAddr)> = first_failing(&e, &e, &failing, 10)
        .into_iter()
        .map(|(a, b, _, _)| (a, b))
        .collect();
    assert_eq!(
        got,
        vec![(all[0], all[2]), (all[2], all[0])],
        "{:?}",
        e.groups
    );
    assert_eq!(first_failing(&e, &e, &failing, 1).len(), 1);
    assert!(first_failing(&e, &e, &failing, 0).is_empty());
}

/// The rule `fix.rs` proposes for a VNIC with only a security list goes in
/// that list, in the scenario's TOML; added there as written, the pair
/// passes the layer; an ICMP witness gets its type and code.
#[test]
fn a_hint_for_a_list_only_vnic_is_a_list_rule_that_opens_the_layer() {
    use crate::eval;
    use crate::packet::{L4, Packet};
    use crate::verdict::{Outcome, Stage};
    let text = |extra: &str| {
        format!(
            r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[security_list]]
name = "sl"
vcn = "v"
ingress_security_rules = [{extra}]
egress_security_rules = [{{ protocol = "all", destination = "0.0.0.0/0" }}]
[[subnet]]
name = "s"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["sl"]
[[vnic]]
name = "a"
subnet = "s"
private_ips = ["10.0.1.10"]
[[vnic]]
name = "b"
subnet = "s"
private_ips = ["10.0.1.11"]
"#
        )
    };
    let load = |t: &str| from_toml_str(t, "s.toml").unwrap().scenario;
    let ingress_denied = |s: &Scenario, p: &Packet| {
        eval::every_layer(s, p)
            .into_iter()
            .filter(|l| l.layer == Stage::IngressSecurity && l.outcome == Outcome::Denied)
            .collect::<Vec<_>>()
    };
    let a: IpAddr = "10.0.1.10".parse().unwrap();
    let b: IpAddr = "10.0.1.11".parse().unwrap();
    for p in [
        Packet::tcp(a, 40000, b, 5432),
        Packet {
            src: a,
            dst: b,
            proto: crate::model::proto::ICMP,
            l4: L4::Icmp {
                icmp_type: 8,
                code: 0,
            },
        },
    ] {
        let s = load(&text(""));
        let blocking = ingress_denied(&s, &p);
        assert_eq!(blocking.len(), 1);
        let probe = match p.l4 {
            L4::Icmp { icmp_type, code } => super::Probe::Icmp { icmp_type, code },
            L4::Ports { sport, dport } => super::Probe::Ports {
                sport,
                dport: crate::model::PortRange {
                    min: dport,
                    max: dport,
                },
            },
            _ => super::Probe::Opaque,
        };
        let path = super::PathSpec {
            name: "p".into(),
            location: super::Location {
                file: "e.toml".into(),
                line: None,
                column: None,
            },
            from: Selector::Addr(a),
            to: Selector::Addr(b),
            from_text: a.to_string(),
            to_text: b.to_string(),
            proto: p.proto,
            probe,
            expect: super::Expect::Allow,
            scope: super::Scope::All,
            why: None,
            skipped: false,
            replies: super::replies_by_default(p.proto, probe),
        };
        let mut scratch = super::fix::Scratch::new();
        let b = super::Blocked {
            s: &s,
            ix: None,
            path: Some(&path),
            p: &p,
            blocking: &blocking,
        };
        let hints = super::fix::to_open_on(&mut scratch, &b);
        // The copy hints are proved on is the scenario again.
        assert_eq!(
            scratch.copy().map(|c| format!("{c:?}")),
            Some(format!("{s:?}"))
        );
        assert_eq!(hints.len(), 1, "{hints:?}");
        let prefix = "ingress-security: add to security list `sl` (ingress_security_rules): ";
        let rule = hints[0]
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{}", hints[0]));
        assert!(rule.contains("source = \"10.0.1.10/32\""), "{rule}");
        if p.proto == crate::model::proto::ICMP {
            assert!(
                rule.contains("icmp_options = { type = 8, code = 0 }"),
                "{rule}"
            );
        }
        // Added to the list as written: the layer lets the pair through.
        let fixed = load(&text(rule));
        assert!(ingress_denied(&fixed, &p).is_empty(), "{rule}");
    }
}

/// The statement `zpr_fix.rs` proposes for a pair across two VCNs: form B
/// when both ends are attributed VNICs of attributed VCNs, form A with the
/// unattributed end's address otherwise, none when an attributed end's VCN
/// has no attribute; added as written (in a new policy: the scenario has
/// none), the pair passes ZPR.
#[test]
fn a_zpr_hint_across_vcns_is_a_statement_that_opens_the_layer() {
    use crate::eval;
    use crate::packet::Packet;
    use crate::verdict::{Outcome, Stage};
    let text = |y_attr: &str, b_attrs: &str, policy: &str| {
        format!(
            r#"
[[vcn]]
name = "x"
cidr_blocks = ["10.0.0.0/16"]
security_attributes = {{ net = {{ vcn = {{ value = "x" }} }} }}
[[vcn]]
name = "y"
cidr_blocks = ["10.1.0.0/16"]
{y_attr}
[[subnet]]
name = "sx"
vcn = "x"
cidr_block = "10.0.1.0/24"
[[subnet]]
name = "sy"
vcn = "y"
cidr_block = "10.1.1.0/24"
[[vnic]]
name = "a"
subnet = "sx"
private_ips = ["10.0.1.10"]
security_attributes = {{ app = {{ role = {{ value = "web" }} }} }}
[[vnic]]
name = "b"
subnet = "sy"
private_ips = ["10.1.1.11"]
{b_attrs}
{policy}
"#
        )
    };
    let load = |t: &str| from_toml_str(t, "s.toml").unwrap().scenario;
    let zpr_blocks = |s: &Scenario, p: &Packet| {
        eval::every_layer(s, p)
            .into_iter()
            .filter(|l| {
                l.layer == Stage::Zpr
                    && matches!(l.outcome, Outcome::Denied | Outcome::MissingPolicy)
            })
            .collect::<Vec<_>>()
    };
    let p = Packet::tcp(
        "10.0.1.10".parse().unwrap(),
        40000,
        "10.1.1.11".parse().unwrap(),
        5432,
    );
    let y_attr = "security_attributes = { net = { vcn = { value = \"y\" } } }";
    let b_db = "security_attributes = { app = { role = { value = \"db\" } } }";
    let cases = [
        (
            y_attr,
            b_db,
            Some(
                "allow app.role:web endpoints in net.vcn:x VCN to connect to \
                 app.role:db endpoints with protocol='tcp/5432' in net.vcn:y VCN",
            ),
        ),
        (
            y_attr,
            "",
            Some(
                "in net.vcn:x VCN allow app.role:web endpoints to connect to \
                 '10.1.1.11/32' with protocol='tcp/5432'",
            ),
        ),
        ("", b_db, None),
    ];
    for (y, b, want) in cases {
        let s = load(&text(y, b, ""));
        let blocking = zpr_blocks(&s, &p);
        assert_eq!(blocking.len(), 1, "{y} {b}");
        let hint = super::zpr_fix::to_open_in(&mut s.clone(), None, &p, &blocking);
        let Some(want) = want else {
            assert_eq!(hint, None);
            continue;
        };
        let prefix = "zpr: add a ZPR policy (e.g. `zpr-hints`) with: \"";
        let got = hint
            .as_deref()
            .and_then(|h| h.strip_prefix(prefix))
            .and_then(|h| h.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{hint:?}"));
        assert_eq!(got, want);
        let fixed = load(&text(
            y,
            b,
            &format!("[[zpr_policy]]\nname = \"p\"\nstatements = [\"{got}\"]"),
        ));
        assert!(zpr_blocks(&fixed, &p).is_empty(), "{got}");
    }
}
