//! Small random scenarios and packets for differential property tests.
//!
//! The universe is deliberately tiny (two VCNs, a handful of subnets,
//! prefixes and ports drawn from short pools) so that random rules overlap,
//! nest and collide: that is where a compiled table and the reference
//! evaluator could disagree.

use std::net::IpAddr;

use ipnet::IpNet;
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};

use zprsim_control::ids::{
    GatewayId, NsgId, RouteTableId, SecurityListId, ServiceId, SubnetId, VcnId, VnicId,
};
use zprsim_control::model::{
    Attribute, Direction, Gateway, GatewayKind, Mode, Nsg, Options, Origin, Peer, PolicyStatement,
    PortRange, Protocol, RouteDestination, RouteRule, RouteTable, RouteTarget, RuleOptions,
    Scenario, SecurityAttribute, SecurityList, SecurityRule, ServiceLabel, Subnet, Vcn, Vnic,
    ZprOnlyMode, ZprPolicy, proto,
};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::zpl::ast::{
    Condition, ConnectionState, Endpoint, ProtocolSpec, Span, Spanned, Statement, StatementKind,
};

fn net(s: &str) -> IpNet {
    s.parse().unwrap_or_else(|_| IpNet::default())
}

fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
}

fn id<T>(f: impl Fn(usize) -> Result<T, zprsim_control::ids::IdOverflow>, i: usize) -> T
where
    T: Default,
{
    f(i).unwrap_or_default()
}

fn sp<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

const PORTS: [u16; 9] = [22, 53, 80, 443, 1521, 2049, 6443, 8080, 40000];

const EXTERNAL: [&str; 6] = [
    "8.8.8.8",
    "134.70.1.1",
    "147.154.3.4",
    "192.168.1.1",
    "203.0.113.9",
    "2001:db8::9",
];

fn attrs_pool() -> Vec<Attribute> {
    vec![
        Attribute::new("app", "workload", "web"),
        Attribute::new("app", "workload", "db"),
        Attribute::new("oracle-zpr", "app", "api"),
    ]
}

fn vcn_attrs_pool() -> Vec<Attribute> {
    vec![
        Attribute::new("network", "vcn", "a"),
        Attribute::new("network", "vcn", "b"),
    ]
}

fn random_range(rng: &mut impl Rng) -> PortRange {
    let a = *PORTS.choose(rng).unwrap_or(&80);
    if rng.random_bool(0.7) {
        PortRange { min: a, max: a }
    } else {
        let b = *PORTS.choose(rng).unwrap_or(&80);
        PortRange {
            min: a.min(b),
            max: a.max(b),
        }
    }
}

/// Prefixes rules and routes draw from: subnets, VCNs, halves, hosts, outside ranges.
fn prefix_pool() -> Vec<IpNet> {
    [
        "0.0.0.0/0",
        "10.0.0.0/16",
        "10.1.0.0/16",
        "10.0.1.0/24",
        "10.0.2.0/24",
        "10.1.1.0/24",
        "10.0.1.0/25",
        "10.0.1.128/25",
        "10.0.1.10/32",
        "10.1.1.11/32",
        "192.168.0.0/16",
        "8.8.8.0/24",
        "134.70.0.0/17",
        "::/0",
        "fd00:0::/32",
        "fd00:1::/32",
        "fd00:0:1::/64",
        "fd00:0:1::10/128",
        "2001:db8::/32",
        "169.254.0.0/16",
    ]
    .iter()
    .map(|s| net(s))
    .collect()
}

fn random_rule(
    rng: &mut impl Rng,
    shape: &Shape,
    dir: Direction,
    nsgs_of_vcn: &[NsgId],
    allow_nsg: bool,
) -> SecurityRule {
    let protocol = match rng.random_range(0..10) {
        0..=1 => Protocol::All,
        2..=4 => Protocol::Number(proto::TCP),
        5..=6 => Protocol::Number(proto::UDP),
        7 => Protocol::Number(proto::ICMP),
        8 => Protocol::Number(proto::ICMPV6),
        _ => Protocol::Number(47),
    };
    let peer = if allow_nsg && !nsgs_of_vcn.is_empty() && rng.random_bool(shape.nsg_peer) {
        Peer::Nsg(*nsgs_of_vcn.choose(rng).unwrap_or(&NsgId::default()))
    } else if rng.random_bool(0.1) {
        Peer::Service(ServiceId::default())
    } else {
        Peer::Cidr(*prefix_pool().choose(rng).unwrap_or(&IpNet::default()))
    };
    let options = match protocol {
        Protocol::Number(p) if proto::has_ports(p) => {
            if rng.random_bool(0.3) {
                RuleOptions::None
            } else {
                RuleOptions::Ports {
                    src: if rng.random_bool(0.2) {
                        Some(random_range(rng))
                    } else {
                        None
                    },
                    dst: if rng.random_bool(0.8) {
                        Some(random_range(rng))
                    } else {
                        None
                    },
                }
            }
        }
        Protocol::Number(p) if proto::is_icmp(p) => {
            if rng.random_bool(0.4) {
                RuleOptions::None
            } else {
                RuleOptions::Icmp {
                    icmp_type: *[0u8, 3, 8, 128, 129].choose(rng).unwrap_or(&8),
                    code: if rng.random_bool(0.5) {
                        Some(rng.random_range(0..2))
                    } else {
                        None
                    },
                }
            }
        }
        _ => RuleOptions::None,
    };
    SecurityRule {
        direction: dir,
        protocol,
        peer,
        stateless: rng.random_bool(0.25),
        options,
        description: None,
    }
}

fn random_term(rng: &mut impl Rng, attrs: &[Attribute], allow_address: bool) -> Endpoint {
    match rng.random_range(0..10) {
        0..=5 => Endpoint::Attribute(
            attrs
                .choose(rng)
                .cloned()
                .unwrap_or_else(|| Attribute::new("a", "b", "c")),
        ),
        6 if allow_address => {
            Endpoint::Cidr(*prefix_pool().choose(rng).unwrap_or(&IpNet::default()))
        }
        7 if allow_address => Endpoint::OsnServices,
        _ => Endpoint::AllEndpoints,
    }
}

fn random_statement(rng: &mut impl Rng) -> Statement {
    let attrs = attrs_pool();
    let vattrs = vcn_attrs_pool();
    let pick_v = |rng: &mut _| {
        vattrs
            .choose(rng)
            .cloned()
            .unwrap_or_else(|| Attribute::new("n", "v", "a"))
    };
    let kind = if rng.random_bool(0.8) {
        let src = random_term(rng, &attrs, true);
        let mut dst = random_term(rng, &attrs, !src.is_address_term());
        if src == Endpoint::AllEndpoints && dst == Endpoint::AllEndpoints {
            dst = Endpoint::Attribute(attrs[0].clone());
        }
        StatementKind::Scoped {
            vcn: sp(pick_v(rng)),
            src: sp(src),
            dst: sp(dst),
        }
    } else {
        StatementKind::CrossVcn {
            src: sp(attrs
                .choose(rng)
                .cloned()
                .unwrap_or_else(|| attrs[0].clone())),
            src_vcn: sp(pick_v(rng)),
            dst: sp(attrs
                .choose(rng)
                .cloned()
                .unwrap_or_else(|| attrs[0].clone())),
            dst_vcn: sp(pick_v(rng)),
        }
    };
    let mut conditions = Vec::new();
    match rng.random_range(0..8) {
        0..=2 => {}
        3..=4 => conditions.push(sp(Condition::Protocol(ProtocolSpec {
            protocol: proto::TCP,
            ports: (0..rng.random_range(0..3))
                .map(|_| random_range(rng))
                .collect(),
        }))),
        5 => conditions.push(sp(Condition::Protocol(ProtocolSpec {
            protocol: proto::UDP,
            ports: vec![random_range(rng)],
        }))),
        6 => {
            conditions.push(sp(Condition::Protocol(ProtocolSpec {
                protocol: proto::ICMP,
                ports: vec![],
            })));
            conditions.push(sp(Condition::IcmpType(*[0u8, 8].choose(rng).unwrap_or(&8))));
        }
        _ => conditions.push(sp(Condition::IcmpType(
            *[3u8, 8, 128].choose(rng).unwrap_or(&8),
        ))),
    }
    if rng.random_bool(0.25) {
        conditions.push(sp(Condition::ConnectionState(ConnectionState::Stateless)));
    }
    Statement { kind, conditions }
}

/// What [`random_scenario_shaped`] draws besides its fixed skeleton.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// NSGs per VCN: 1 to this many.
    pub max_nsgs_per_vcn: i32,
    /// VNICs per subnet: 1 to this many.
    pub max_vnics_per_subnet: i32,
    /// Share of NSG rules whose peer is an NSG.
    pub nsg_peer: f64,
    /// Each VNIC joins 0 to 5 of its VCN's NSGs in random order and each
    /// subnet's lists come in random order (else: each NSG with
    /// probability 0.4, in id order, lists in id order).
    pub many_nsgs: bool,
}

impl Shape {
    /// The shape [`random_scenario`] draws (other tests depend on it).
    #[must_use]
    pub fn classic() -> Shape {
        Shape {
            max_nsgs_per_vcn: 3,
            max_vnics_per_subnet: 3,
            nsg_peer: 0.2,
            many_nsgs: false,
        }
    }

    /// Many NSGs per VNIC in any order, more NSG peers, more VNICs: many
    /// distinct (subnet, NSG list) profiles, for the compiler's
    /// per-container tables.
    #[must_use]
    pub fn wide() -> Shape {
        Shape {
            max_nsgs_per_vcn: 5,
            max_vnics_per_subnet: 5,
            nsg_peer: 0.35,
            many_nsgs: true,
        }
    }
}

/// A random, valid, small scenario of the classic shape.
pub fn random_scenario(rng: &mut impl Rng) -> Scenario {
    random_scenario_shaped(rng, &Shape::classic())
}

/// A random, valid, small scenario of the given shape.
#[allow(clippy::too_many_lines)]
pub fn random_scenario_shaped(rng: &mut impl Rng, shape: &Shape) -> Scenario {
    let mut s = Scenario {
        name: Some("random".into()),
        options: Options {
            zpr_only: if rng.random_bool(0.2) {
                ZprOnlyMode::DefaultDeny
            } else {
                ZprOnlyMode::Report
            },
            max_statements_per_policy: 25,
        },
        ..Scenario::default()
    };
    s.services.push(ServiceLabel {
        name: "osn".into(),
        cidrs: vec![net("134.70.0.0/17"), net("147.154.0.0/16")],
    });
    let vattrs = vcn_attrs_pool();
    for v in 0..2 {
        s.vcns.push(Vcn {
            name: format!("vcn{v}"),
            id: None,
            cidr_blocks: vec![
                net(&format!("10.{v}.0.0/16")),
                net(&format!("fd00:{v}::/32")),
            ],
            attribute: if rng.random_bool(0.8) {
                vattrs.choose(rng).cloned()
            } else {
                None
            },
            is_zpr_only: rng.random_bool(0.2),
        });
        for kind in [
            GatewayKind::Internet,
            GatewayKind::Nat,
            GatewayKind::Service,
            GatewayKind::Drg,
            GatewayKind::Lpg,
        ] {
            s.gateways.push(Gateway {
                name: format!("{}{v}", kind.as_str()),
                id: None,
                vcn: id(VcnId::new, v),
                kind,
            });
        }
    }
    // NSGs and lists first (rules may reference NSGs of the same VCN).
    let mut nsgs_by_vcn: Vec<Vec<NsgId>> = vec![Vec::new(), Vec::new()];
    for (v, nsgs) in nsgs_by_vcn.iter_mut().enumerate() {
        for _ in 0..rng.random_range(1..=shape.max_nsgs_per_vcn.max(1)) {
            nsgs.push(id(NsgId::new, s.nsgs.len()));
            s.nsgs.push(Nsg {
                name: format!("nsg{}", s.nsgs.len()),
                id: None,
                vcn: id(VcnId::new, v),
                rules: vec![],
            });
        }
    }
    for n in 0..s.nsgs.len() {
        let v = s.nsgs[n].vcn.index();
        let count = rng.random_range(0..=5);
        let rules = (0..count)
            .map(|_| {
                let dir = if rng.random_bool(0.5) {
                    Direction::Ingress
                } else {
                    Direction::Egress
                };
                random_rule(rng, shape, dir, &nsgs_by_vcn[v], true)
            })
            .collect();
        s.nsgs[n].rules = rules;
    }
    let mut lists_by_vcn: Vec<Vec<SecurityListId>> = vec![Vec::new(), Vec::new()];
    for (v, lists) in lists_by_vcn.iter_mut().enumerate() {
        for _ in 0..rng.random_range(1..=3) {
            lists.push(id(SecurityListId::new, s.security_lists.len()));
            let ingress = (0..rng.random_range(0..=4))
                .map(|_| random_rule(rng, shape, Direction::Ingress, &[], false))
                .collect();
            let egress = (0..rng.random_range(0..=4))
                .map(|_| random_rule(rng, shape, Direction::Egress, &[], false))
                .collect();
            s.security_lists.push(SecurityList {
                name: format!("sl{}", s.security_lists.len()),
                id: None,
                vcn: id(VcnId::new, v),
                ingress,
                egress,
            });
        }
    }
    // Subnets and VNICs.
    let attrs = attrs_pool();
    for v in 0..2 {
        for sn in 1..=2 {
            let subnet = id(SubnetId::new, s.subnets.len());
            // Any order: the union is evaluated in the subnet's list order.
            let mut lists: Vec<SecurityListId> = lists_by_vcn[v]
                .iter()
                .copied()
                .filter(|_| rng.random_bool(0.6))
                .collect();
            if shape.many_nsgs {
                lists.shuffle(rng);
            }
            s.subnets.push(Subnet {
                name: format!("subnet{v}-{sn}"),
                id: None,
                vcn: id(VcnId::new, v),
                cidrs: vec![
                    net(&format!("10.{v}.{sn}.0/24")),
                    net(&format!("fd00:{v}:{sn}::/64")),
                ],
                route_table: None,
                security_lists: lists,
            });
            for k in 0..rng.random_range(1..=shape.max_vnics_per_subnet.max(1)) {
                let mut ips = vec![ip(&format!("10.{v}.{sn}.{}", 10 + k))];
                if rng.random_bool(0.4) {
                    ips.push(ip(&format!("fd00:{v}:{sn}::{}", 10 + k)));
                }
                let nsgs: Vec<NsgId> = if shape.many_nsgs {
                    // Many NSGs per VNIC, in any order (NSGs are evaluated
                    // in the VNIC's order), so profiles are many and varied.
                    let want = rng.random_range(0..=nsgs_by_vcn[v].len().min(5));
                    let mut nsgs: Vec<NsgId> =
                        nsgs_by_vcn[v].choose_multiple(rng, want).copied().collect();
                    nsgs.shuffle(rng);
                    nsgs
                } else {
                    nsgs_by_vcn[v]
                        .iter()
                        .copied()
                        .filter(|_| rng.random_bool(0.4))
                        .collect()
                };
                let mut attributes: Vec<SecurityAttribute> = Vec::new();
                for a in &attrs {
                    if rng.random_bool(0.3) {
                        attributes.push(SecurityAttribute {
                            attribute: a.clone(),
                            mode: if rng.random_bool(0.3) {
                                Mode::Audit
                            } else {
                                Mode::Enforce
                            },
                        });
                    }
                }
                s.vnics.push(Vnic {
                    name: format!("vnic{}", s.vnics.len()),
                    id: None,
                    subnet,
                    private_ips: ips,
                    nsgs,
                    attributes,
                    route_table: None,
                    kind: "instance".into(),
                });
            }
        }
    }
    // Route tables.
    for v in 0..2 {
        for t in 0..rng.random_range(1..=2) {
            let vnics_here: Vec<VnicId> = (0..s.vnics.len())
                .filter(|&i| s.subnets[s.vnics[i].subnet.index()].vcn.index() == v)
                .map(|i| id(VnicId::new, i))
                .collect();
            let mut rules = Vec::new();
            for _ in 0..rng.random_range(0..=4) {
                let (destination, target) = if rng.random_bool(0.15) {
                    (
                        RouteDestination::Service(ServiceId::default()),
                        RouteTarget::Gateway(id(GatewayId::new, v * 5 + 2)),
                    )
                } else {
                    let d = *prefix_pool()
                        .iter()
                        .filter(|p| !p.to_string().starts_with("169.254"))
                        .collect::<Vec<_>>()
                        .choose(rng)
                        .copied()
                        .unwrap_or(&IpNet::default());
                    let target = if rng.random_bool(0.15) && !vnics_here.is_empty() {
                        let w = *vnics_here.choose(rng).unwrap_or(&VnicId::default());
                        RouteTarget::PrivateIp {
                            ip: s.vnics[w.index()].private_ips[0],
                            vnic: w,
                        }
                    } else {
                        RouteTarget::Gateway(id(GatewayId::new, v * 5 + rng.random_range(0..5)))
                    };
                    (RouteDestination::Cidr(d), target)
                };
                rules.push(RouteRule {
                    destination,
                    target,
                    description: None,
                });
            }
            let tid = id(RouteTableId::new, s.route_tables.len());
            s.route_tables.push(RouteTable {
                name: format!("rt{v}-{t}"),
                id: None,
                vcn: id(VcnId::new, v),
                rules,
            });
            for sn in 0..s.subnets.len() {
                if s.subnets[sn].vcn.index() == v && rng.random_bool(0.6) {
                    s.subnets[sn].route_table = Some(tid);
                }
            }
            for w in &vnics_here {
                if rng.random_bool(0.15) {
                    s.vnics[w.index()].route_table = Some(tid);
                }
            }
        }
    }
    // ZPR.
    for p in 0..rng.random_range(0..=2) {
        let statements = (0..rng.random_range(1..=4))
            .map(|_| {
                let st = random_statement(rng);
                PolicyStatement {
                    text: zprsim_control::zpl::print_statement(&st),
                    statement: st,
                    origin: Origin {
                        file: "random".into(),
                        line: 1,
                        column: 1,
                    },
                }
            })
            .collect();
        s.zpr_policies.push(ZprPolicy {
            name: format!("policy{p}"),
            id: None,
            statements,
        });
    }
    s
}

/// Addresses worth probing in a scenario: every VNIC address, unassigned
/// addresses of its subnets, external and link-local ones.
#[must_use]
pub fn address_pool(s: &Scenario) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = s
        .vnics
        .iter()
        .flat_map(|v| v.private_ips.iter().copied())
        .collect();
    out.extend(
        [
            "10.0.1.200",
            "10.0.1.100",
            "10.1.2.99",
            "10.0.9.9",
            "fd00:0:1::99",
            "fd00:1:2::1",
            "169.254.169.254",
        ]
        .iter()
        .map(|a| ip(a)),
    );
    out.extend(EXTERNAL.iter().map(|a| ip(a)));
    out
}

/// A random packet between two addresses of the pool.
pub fn random_packet(rng: &mut impl Rng, pool: &[IpAddr]) -> Packet {
    let fallback = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let src = *pool.choose(rng).unwrap_or(&fallback);
    let same_family: Vec<IpAddr> = pool
        .iter()
        .copied()
        .filter(|a| a.is_ipv4() == src.is_ipv4())
        .collect();
    let dst = *same_family.choose(rng).unwrap_or(&src);
    let port = |rng: &mut _| {
        if rng_bool(rng, 0.8) {
            *PORTS.choose(rng).unwrap_or(&80)
        } else {
            rng_range(rng)
        }
    };
    let (proto, l4) = match rng.random_range(0..10) {
        0..=3 => (
            proto::TCP,
            L4::Ports {
                sport: port(rng),
                dport: port(rng),
            },
        ),
        4..=5 => (
            proto::UDP,
            L4::Ports {
                sport: port(rng),
                dport: port(rng),
            },
        ),
        6..=7 => (
            if src.is_ipv4() {
                proto::ICMP
            } else {
                proto::ICMPV6
            },
            L4::Icmp {
                icmp_type: *[0u8, 3, 8, 128, 129].choose(rng).unwrap_or(&8),
                code: rng.random_range(0..2),
            },
        ),
        8 => (
            *[proto::TCP, proto::UDP, proto::ICMP]
                .choose(rng)
                .unwrap_or(&6),
            L4::Fragment,
        ),
        _ => (*[47u8, 50, 132].choose(rng).unwrap_or(&47), L4::Opaque),
    };
    Packet {
        src,
        dst,
        proto,
        l4,
    }
}

fn rng_bool(rng: &mut impl Rng, p: f64) -> bool {
    rng.random_bool(p)
}

fn rng_range(rng: &mut impl Rng) -> u16 {
    rng.random()
}
