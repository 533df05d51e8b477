//! DHCP between a VNIC and its subnet's virtual router (QA round 24's open
//! MEDIUM, decided in the thirty-third session: docs/semantics.md §2.1,
//! decision 36). A renewal is unicast UDP 68 -> 67 to the subnet's first
//! host and back: before, it dropped at egress security (and the answer at
//! ingress) in any scenario without a rule for it, which OCI does not
//! need. Both engines now allow it before any layer, untracked, as
//! 169.254.0.0/16; a packet of the router from port 67 to any port but 68,
//! or to another subnet's router, is judged as before.

use std::net::{IpAddr, Ipv4Addr};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tempfile::TempDir;
use zprsim_bench::fixtures::{l2, l3, l4};
use zprsim_bench::random::{Shape, random_scenario_shaped};
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::eval;
use zprsim_control::model::proto;
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Tracking, Verdict};

/// `a` (10.1.1.10) in subnet `s` (10.1.1.0/24) and a second subnet `t`
/// (10.1.2.0/24), with no security rule at all: every judged packet
/// drops.
const SCENARIO: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.1.0.0/16"]
[[security_list]]
name = "closed"
vcn = "v"
[[subnet]]
name = "s"
vcn = "v"
cidr_block = "10.1.1.0/24"
security_lists = ["closed"]
[[subnet]]
name = "t"
vcn = "v"
cidr_block = "10.1.2.0/24"
security_lists = ["closed"]
[[vnic]]
name = "a"
subnet = "s"
private_ips = ["10.1.1.10"]
"#;

const A: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 10);
const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 1);

/// The capture: (frame, judged) in order.
fn frames() -> Vec<(Vec<u8>, bool)> {
    let eth = |src: Ipv4Addr, dst: Ipv4Addr, sp: u16, dp: u16| {
        l2::ether(
            [2, 0, 0, 0, 0, 0x01],
            [2, 0, 0, 0, 0, 0x10],
            &[],
            0x0800,
            &l3::ipv4(src, dst, 17, &l4::udp(sp, dp, b"dhcp")),
        )
    };
    vec![
        // DISCOVER and a broadcast OFFER: link-scope, never judged.
        (
            eth(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, 68, 67),
            false,
        ),
        (eth(ROUTER, Ipv4Addr::BROADCAST, 67, 68), false),
        // A renewal and its ACK, unicast with the virtual router: allowed.
        (eth(A, ROUTER, 68, 67), true),
        (eth(ROUTER, A, 67, 68), true),
        // Judged as before: the router's port 67 to a port other than 68
        // (ingress security drops it), and DHCP to another subnet's router
        // (egress security drops it).
        (eth(ROUTER, A, 67, 69), true),
        (eth(A, Ipv4Addr::new(10, 1, 2, 1), 68, 67), true),
    ]
}

#[test]
fn a_renewal_with_the_virtual_router_is_allowed_and_other_ports_are_judged() {
    let t = TempDir::new().unwrap();
    std::fs::write(t.path().join("s.toml"), SCENARIO).unwrap();
    crate::link_local::write_frames(&t.path().join("d.pcap"), &frames());
    let judged = frames().iter().filter(|(_, j)| *j).count();
    for workers in ["1", "3"] {
        let o = crate::support::run_in(
            t.path(),
            [
                "replay",
                "s.toml",
                "d.pcap",
                "--quiet",
                "--report",
                "r.json",
                "--workers",
                workers,
                "--allowed",
                "yes.pcap",
                "--dropped",
                "no.pcap",
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r = crate::support::report(t.path(), "r.json");
        assert_eq!(r["packets"]["total"], judged, "{r:#}");
        assert_eq!(r["packets"]["allowed"], 2, "{r:#}");
        assert_eq!(r["dropped_by_stage"]["ingress-security"], 1, "{r:#}");
        assert_eq!(r["dropped_by_stage"]["egress-security"], 1, "{r:#}");
        assert_eq!(r["link_local"], 2, "{r:#}");
        assert_eq!(crate::support::records(&t.path().join("yes.pcap")), 2);
        assert_eq!(crate::support::records(&t.path().join("no.pcap")), 2);
    }
    let explain = |n: &str| {
        let o = crate::support::run_in(
            t.path(),
            ["explain", "s.toml", "--capture", "d.pcap", "--packet", n],
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    for n in ["3", "4"] {
        let out = explain(n);
        assert!(
            out.contains("ALLOW")
                && out.contains("the virtual router of its subnet `s` (10.1.1.0/24)"),
            "{n}: {out}"
        );
    }
    let out = explain("5");
    assert!(out.contains("DROP at ingress-security"), "{out}");
}

/// Every VNIC address against every subnet's first host (and a VNIC's
/// neighbour), on DHCP's ports both ways and their near misses, first
/// packets and replies: the compiled table equals the reference, and the
/// exemption is reached.
#[test]
fn compiled_equals_reference_on_dhcp_with_every_subnets_router() {
    let mut exempt = 0usize;
    let mut judged = 0usize;
    for seed in 0..24u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shape = if seed % 2 == 1 {
            Shape::wide()
        } else {
            Shape::classic()
        };
        let s = random_scenario_shaped(&mut rng, &shape);
        let c = Compiled::new(&s, &Config::default()).unwrap();
        let vnics: Vec<IpAddr> = s
            .vnics
            .iter()
            .flat_map(|v| v.private_ips.iter().copied())
            .filter(IpAddr::is_ipv4)
            .collect();
        let mut routers: Vec<IpAddr> = Vec::new();
        for sn in &s.subnets {
            for n in &sn.cidrs {
                if let ipnet::IpNet::V4(n) = n {
                    let first = u32::from(n.network());
                    for k in [0, 1, 2] {
                        routers.push(IpAddr::V4(Ipv4Addr::from(first.wrapping_add(k))));
                    }
                }
            }
        }
        routers.push("169.254.169.254".parse().unwrap());
        let contexts = [
            Context::First,
            Context::Reply(Tracking::default()),
            Context::Reply(Tracking {
                at_src: true,
                at_dst: true,
                zpr: true,
                zpr_audit: true,
            }),
        ];
        for v in &vnics {
            for r in &routers {
                for (sport, dport) in [(68, 67), (67, 68), (68, 68), (67, 67), (68, 69), (69, 67)] {
                    for (src, dst) in [(*v, *r), (*r, *v)] {
                        for ctx in contexts {
                            let p = Packet {
                                src,
                                dst,
                                proto: proto::UDP,
                                l4: L4::Ports { sport, dport },
                            };
                            let reference = eval::evaluate(&s, &p, ctx);
                            let fast = c.judge(&p, ctx);
                            let rules: Vec<_> = fast
                                .rules
                                .iter()
                                .map(|r| r.and_then(|id| c.rule_ref(id)))
                                .collect();
                            let d = &reference.deciders;
                            assert_eq!(
                                (fast.judgement, rules),
                                (
                                    reference.judgement,
                                    vec![d.route, d.egress, d.ingress, d.zpr_egress, d.zpr_ingress]
                                ),
                                "seed {seed}: {p} {ctx:?}"
                            );
                            let dhcp = eval::virtual_router_dhcp(
                                &s,
                                eval::endpoint_of(&s, src),
                                eval::endpoint_of(&s, dst),
                                &p,
                            );
                            if dhcp.is_some() {
                                assert_eq!(reference.judgement.verdict, Verdict::Allow);
                                exempt += 1;
                            } else {
                                judged += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        exempt > 100 && judged > exempt,
        "{exempt} exempt, {judged} judged"
    );
}

/// `verify` judges a port range at one port per run of service classes:
/// DHCP's ports start runs of their own, so a path that should be closed
/// from a VNIC to its subnet's router on UDP 60-70 fails at port 67 (it
/// was judged at port 60 alone and said `ok`), and the renewal itself is
/// open.
#[test]
fn verify_judges_dhcps_ports_on_their_own() {
    let t = TempDir::new().unwrap();
    std::fs::write(t.path().join("s.toml"), SCENARIO).unwrap();
    std::fs::write(
        t.path().join("e.toml"),
        r#"
[[path]]
name = "closed-range"
from = "vnic:a"
to = "10.1.1.1"
proto = "udp"
sport = 68
dport = "60-70"
expect = "deny"

[[path]]
name = "renewal"
from = "vnic:a"
to = "10.1.1.1"
proto = "udp"
sport = 68
dport = 67
expect = "allow"
replies = false
"#,
    )
    .unwrap();
    let o = crate::support::run_in(t.path(), ["verify", "s.toml", "e.toml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL  closed-range"), "{out}");
    assert!(
        out.contains("ok    renewal") || out.contains("OK    renewal"),
        "{out}"
    );
    assert!(out.contains("10.1.1.1:67: ALLOW"), "{out}");
    assert!(
        out.contains("allowed before any layer: DHCP between VNIC `a` and 10.1.1.1"),
        "{out}"
    );
}
