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
    PortRange, Protocol, PublicIp, RouteDestination, RouteRule, RouteTable, RouteTarget,
    RuleOptions, Scenario, SecurityAttribute, SecurityList, SecurityRule, ServiceLabel, Subnet,
    Vcn, Vnic, ZprOnlyMode, ZprPolicy, proto,
};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::zpl::ast::{
    Condition, ConnectionState, Endpoint, ProtocolSpec, Span, Spanned, Statement, StatementKind,
};

fn net(s: &str) -> IpNet {
    s.parse().unwrap_or_else(|_| IpNet::default())
}

/// The first 48 bits (as text) of VCN `v`'s IPv6 prefix: `vcn0` has a
/// ULA prefix (the internet does not route it), the others a global one.
fn v6_base(v: usize) -> String {
    if v == 0 {
        "fd00:0".to_owned()
    } else {
        format!("2603:c020:{v}")
    }
}

/// The private IPv6 prefix of global form that VCN `v` (not `vcn0`) adds
/// in the edge shape; subnets `sn` with `sn % 3 == 2` take a `/64` of it.
fn private_v6_block(v: usize) -> Option<String> {
    (v > 0).then(|| format!("2603:c020:f{v}::/48"))
}

/// The `/64` of [`private_v6_block`] subnet `sn` of VCN `v` takes in the
/// edge shape, as text ending in `::` (`None` for the others).
fn private_v6_subnet(shape: &Shape, v: usize, sn: usize) -> Option<String> {
    (shape.edges && v > 0 && sn % 3 == 2).then(|| format!("2603:c020:f{v}:{sn}::"))
}

/// VCN `v`'s IPv6 prefix (its subnets are `v6_base(v):<sn>::/64`).
fn v6_block(v: usize) -> String {
    if v == 0 {
        "fd00:0::/32".to_owned()
    } else {
        format!("{}::/48", v6_base(v))
    }
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

fn random_range(rng: &mut impl Rng, shape: &Shape) -> PortRange {
    if shape.edges {
        return edge_range(rng);
    }
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
fn prefix_pool(shape: &Shape) -> Vec<IpNet> {
    let mut out: Vec<IpNet> = [
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
        "2603:c020:1::/48",
        "fd00:0:1::/64",
        "fd00:0:1::10/128",
        "2001:db8::/32",
        "169.254.0.0/16",
    ]
    .iter()
    .map(|s| net(s))
    .collect();
    if shape.edges {
        out.extend(EDGE_PREFIXES.iter().map(|s| net(s)));
    }
    out
}

fn random_rule(
    rng: &mut impl Rng,
    shape: &Shape,
    dir: Direction,
    nsgs_of_vcn: &[NsgId],
    allow_nsg: bool,
) -> SecurityRule {
    let protocol = if shape.edges {
        edge_protocol(rng)
    } else {
        match rng.random_range(0..10) {
            0..=1 => Protocol::All,
            2..=4 => Protocol::Number(proto::TCP),
            5..=6 => Protocol::Number(proto::UDP),
            7 => Protocol::Number(proto::ICMP),
            8 => Protocol::Number(proto::ICMPV6),
            _ => Protocol::Number(47),
        }
    };
    let peer = if allow_nsg && !nsgs_of_vcn.is_empty() && rng.random_bool(shape.nsg_peer) {
        Peer::Nsg(*nsgs_of_vcn.choose(rng).unwrap_or(&NsgId::default()))
    } else if rng.random_bool(0.1) {
        Peer::Service(random_service(rng, shape))
    } else {
        Peer::Cidr(*prefix_pool(shape).choose(rng).unwrap_or(&IpNet::default()))
    };
    let options = match protocol {
        Protocol::Number(p) if proto::has_ports(p) => {
            if rng.random_bool(0.3) {
                RuleOptions::None
            } else {
                RuleOptions::Ports {
                    src: if rng.random_bool(0.2) {
                        Some(random_range(rng, shape))
                    } else {
                        None
                    },
                    dst: if rng.random_bool(0.8) {
                        Some(random_range(rng, shape))
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
                    icmp_type: icmp_type(rng, shape),
                    code: if rng.random_bool(0.5) {
                        Some(icmp_code(rng, shape))
                    } else {
                        None
                    },
                }
            }
        }
        _ => RuleOptions::None,
    };
    let mut stateless = rng.random_bool(0.25);
    let mut options = options;
    if shape.stateless_sport > 0.0
        && matches!(protocol, Protocol::Number(p) if proto::has_ports(p))
        && rng.random_bool(shape.stateless_sport)
    {
        stateless = true;
        // A server's port, a span of them, or the ephemeral ports.
        let src = match rng.random_range(0..3) {
            0 => random_range(rng, shape),
            1 => {
                let a = *PORTS.choose(rng).unwrap_or(&80);
                let b = *PORTS.choose(rng).unwrap_or(&80);
                PortRange {
                    min: a.min(b),
                    max: a.max(b),
                }
            }
            _ => PortRange {
                min: 1024,
                max: 65535,
            },
        };
        options = RuleOptions::Ports {
            src: Some(src),
            dst: if rng.random_bool(0.5) {
                Some(random_range(rng, shape))
            } else {
                None
            },
        };
    }
    SecurityRule {
        direction: dir,
        protocol,
        peer,
        stateless,
        options,
        description: None,
    }
}

fn random_term(
    rng: &mut impl Rng,
    shape: &Shape,
    attrs: &[Attribute],
    allow_address: bool,
) -> Endpoint {
    match rng.random_range(0..10) {
        0..=5 => Endpoint::Attribute(
            attrs
                .choose(rng)
                .cloned()
                .unwrap_or_else(|| Attribute::new("a", "b", "c")),
        ),
        6 if allow_address => {
            Endpoint::Cidr(*prefix_pool(shape).choose(rng).unwrap_or(&IpNet::default()))
        }
        7 if allow_address => Endpoint::OsnServices,
        _ => Endpoint::AllEndpoints,
    }
}

fn random_statement(rng: &mut impl Rng, shape: &Shape) -> Statement {
    let mut attrs = attrs_pool();
    let mut vattrs = vcn_attrs_pool();
    if shape.edges {
        // Attributes and a VCN attribute no endpoint carries.
        attrs.extend(edge_attrs());
        attrs.push(Attribute::new("app", "ghost", "z"));
        vattrs.push(Attribute::new("network", "vcn", "c"));
    }
    let pick_v = |rng: &mut _| {
        vattrs
            .choose(rng)
            .cloned()
            .unwrap_or_else(|| Attribute::new("n", "v", "a"))
    };
    let kind = if rng.random_bool(0.8) {
        let src = random_term(rng, shape, &attrs, true);
        let mut dst = random_term(rng, shape, &attrs, !src.is_address_term());
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
    if shape.edges {
        conditions = edge_conditions(rng);
    } else {
        match rng.random_range(0..8) {
            0..=2 => {}
            3..=4 => conditions.push(sp(Condition::Protocol(ProtocolSpec {
                protocol: proto::TCP,
                ports: (0..rng.random_range(0..3))
                    .map(|_| random_range(rng, shape))
                    .collect(),
            }))),
            5 => conditions.push(sp(Condition::Protocol(ProtocolSpec {
                protocol: proto::UDP,
                ports: vec![random_range(rng, shape)],
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
    }
    // At most one `connection-state` (the edge conditions may hold an
    // explicit `stateful`).
    if rng.random_bool(0.25)
        && !conditions
            .iter()
            .any(|c| matches!(c.node, Condition::ConnectionState(_)))
    {
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
    /// The edge shapes the classic pools never draw: port ranges touching
    /// 0 and 65535, source-port ranges, /0, /1, /8, /31, /32, /125, /128
    /// and IPv4-mapped prefixes nested across layers, ICMP and ICMPv6
    /// types and codes of errors, protocols 0, 50, 132 and 255, a second
    /// (overlapping, dual-stack) service label, VNICs with two IPv4
    /// addresses and up to 6 NSGs, tied route prefixes, more attributes
    /// per endpoint (some no statement names, some named by no endpoint),
    /// ZPR conditions on ICMPv6, protocol numbers, ICMP codes and explicit
    /// `stateful`; see [`random_packet_shaped`] and [`address_pool_shaped`]
    /// for the packets. Off in `classic` and `wide`, which keep drawing
    /// exactly what they drew before.
    pub edges: bool,
    /// Share of TCP and UDP rules made stateless with a source-port range
    /// (and a destination range half the time): the shape of the
    /// twenty-first session's H1, where a stateless rule's source ports
    /// decide a reply. 0 in `classic`, `wide` and `edges`, which then draw
    /// exactly what they drew before (no extra draw); the differential
    /// tests set it (since the twenty-second session).
    pub stateless_sport: f64,
    /// Share of subnets whose VNICs are not all known (`vnics_unknown`:
    /// an address of them no VNIC holds may be a VNIC an export lacks).
    /// 0 in `classic`, `wide` and `edges`, which then draw exactly what
    /// they drew before (no extra draw); drawn after everything else, so
    /// the scenario is the same but for the flags (since the
    /// twenty-eighth session).
    pub vnics_unknown: f64,
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
            edges: false,
            stateless_sport: 0.0,
            vnics_unknown: 0.0,
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
            edges: false,
            stateless_sport: 0.0,
            vnics_unknown: 0.0,
        }
    }

    /// The `wide` shape with [`Shape::edges`] on and up to 7 NSGs per VCN
    /// (so VNICs in 4, 5 and 6 NSGs, past the compiler's 3 inline
    /// container slots).
    #[must_use]
    pub fn edges() -> Shape {
        Shape {
            max_nsgs_per_vcn: 7,
            edges: true,
            ..Shape::wide()
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
    if shape.edges {
        // Overlaps the first label and an external prefix; dual-stack.
        s.services.push(ServiceLabel {
            name: "svc2".into(),
            cidrs: vec![
                net("134.70.1.0/24"),
                net("8.8.8.0/24"),
                net("2001:db8::/48"),
            ],
        });
    }
    let vattrs = vcn_attrs_pool();
    for v in 0..2 {
        s.vcns.push(Vcn {
            name: format!("vcn{v}"),
            id: None,
            cidr_blocks: if shape.edges {
                // A second IPv4 block no subnet uses: unassigned
                // addresses reached by the local route, in `all-endpoints`.
                let mut blocks = vec![
                    net(&format!("10.{v}.0.0/16")),
                    net(&v6_block(v)),
                    net(&format!("172.16.{v}.0/24")),
                ];
                blocks.extend(private_v6_block(v).map(|b| net(&b)));
                blocks
            } else {
                vec![net(&format!("10.{v}.0.0/16")), net(&v6_block(v))]
            },
            // In the edge shape, `vcn0` says its ULA prefix is private (it
            // is private for being a ULA anyway), and the others add a
            // private prefix of global form, which only the list makes
            // private.
            ipv6_private_cidr_blocks: match (shape.edges, v) {
                (false, _) => Vec::new(),
                (true, 0) => vec![net(&v6_block(v))],
                (true, _) => private_v6_block(v).map(|b| net(&b)).into_iter().collect(),
            },
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
                blocked: false,
                stand_in: false,
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
                stand_in: false,
            });
        }
    }
    for n in 0..s.nsgs.len() {
        let v = s.nsgs[n].vcn.index();
        let count = rng.random_range(0..=if shape.edges { 7 } else { 5 });
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
            let ingress = (0..rng.random_range(0..=if shape.edges { 6 } else { 4 }))
                .map(|_| random_rule(rng, shape, Direction::Ingress, &[], false))
                .collect();
            let egress = (0..rng.random_range(0..=if shape.edges { 6 } else { 4 }))
                .map(|_| random_rule(rng, shape, Direction::Egress, &[], false))
                .collect();
            s.security_lists.push(SecurityList {
                name: format!("sl{}", s.security_lists.len()),
                id: None,
                vcn: id(VcnId::new, v),
                ingress,
                egress,
                stand_in: false,
            });
        }
    }
    // Subnets and VNICs.
    let attrs = attrs_pool();
    for v in 0..2 {
        for sn in 1..=2 {
            let subnet = id(SubnetId::new, s.subnets.len());
            // Edges: the second subnet of each VCN has a second IPv4 block
            // (OCI's `ipv4-cidr-blocks`); chosen without a draw, so the
            // random stream is the one it was before.
            let multi = shape.edges && sn == 2;
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
                cidrs: {
                    let mut c = if multi {
                        vec![
                            net(&format!("10.{v}.{sn}.0/24")),
                            net(&format!("10.{v}.{}.0/24", 100 + sn)),
                            net(&format!("{}:{sn}::/64", v6_base(v))),
                        ]
                    } else {
                        vec![
                            net(&format!("10.{v}.{sn}.0/24")),
                            net(&format!("{}:{sn}::/64", v6_base(v))),
                        ]
                    };
                    c.extend(private_v6_subnet(shape, v, sn).map(|b| net(&format!("{b}/64"))));
                    c
                },
                route_table: None,
                security_lists: lists,
                // In the edge shape, every third subnet is private (not
                // drawn from the rng, so that every seed's draws, and the
                // outputs recorded from the classic shape, stay as they
                // were).
                prohibit_public_ip: shape.edges && (v + sn) % 3 == 1,
                // And every fifth keeps its IPv6 off the internet (OCI's
                // `prohibit-internet-ingress`, which prohibits public IPv4
                // addresses too).
                prohibit_internet_ingress: shape.edges && (v + sn) % 5 == 2,
                stand_in: false,
                lists_unknown: false,
                table_unknown: false,
                vnics_unknown: false,
            });
            for k in 0..rng.random_range(1..=shape.max_vnics_per_subnet.max(1)) {
                // A subnet with a second IPv4 block (OCI's
                // `ipv4-cidr-blocks`) puts some VNICs in it.
                let third = if multi && k % 2 == 1 { 100 + sn } else { sn };
                let mut ips = vec![ip(&format!("10.{v}.{third}.{}", 10 + k))];
                if shape.edges && rng.random_bool(0.2) {
                    ips.push(ip(&format!("10.{v}.{sn}.{}", 50 + k)));
                }
                if rng.random_bool(0.4) {
                    ips.push(ip(&format!("{}:{sn}::{}", v6_base(v), 10 + k)));
                    // And one in the private prefix, where the subnet has
                    // one (no draw: the seeds' draws stay as they were).
                    if let Some(b) = private_v6_subnet(shape, v, sn) {
                        ips.push(ip(&format!("{b}{}", 10 + k)));
                    }
                }
                let nsgs: Vec<NsgId> = if shape.many_nsgs {
                    // Many NSGs per VNIC, in any order (NSGs are evaluated
                    // in the VNIC's order), so profiles are many and varied.
                    let most = if shape.edges { 6 } else { 5 };
                    let want = rng.random_range(0..=nsgs_by_vcn[v].len().min(most));
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
                let mut vnic_attrs = attrs.clone();
                if shape.edges {
                    vnic_attrs.extend(edge_attrs());
                }
                for a in &vnic_attrs {
                    // Edges: one value per key, as the scenario format
                    // writes attributes (so edge scenarios round-trip).
                    let key_taken = shape.edges
                        && attributes.iter().any(|x| {
                            x.attribute.namespace == a.namespace && x.attribute.key == a.key
                        });
                    if rng.random_bool(0.3) && !key_taken {
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
                    kind_said: true,
                    skip_source_dest_check: None,
                    // In the edge shape, VNICs of subnets that allow public
                    // IPs say whether they have one, by position (no draw:
                    // see the subnet above): none, one, or not said.
                    public_ip: {
                        let sn = &s.subnets[subnet.index()];
                        let allowed = !sn.prohibit_public_ip && !sn.prohibit_internet_ingress;
                        match s.vnics.len() % 4 {
                            _ if !shape.edges || !allowed => PublicIp::Unknown,
                            3 => PublicIp::Absent,
                            1 => PublicIp::Present(None),
                            _ => PublicIp::Unknown,
                        }
                    },
                    stand_in: false,
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
                if shape.edges
                    && !rules.is_empty()
                    && rng.random_bool(0.25)
                    && let Some(destination) =
                        rules.choose(rng).map(|r: &RouteRule| r.destination.clone())
                {
                    // A tie: the same destination again, another target
                    // (the first written wins).
                    // A service label is reached through the service
                    // gateway only.
                    let gateway = if matches!(destination, RouteDestination::Service(_)) {
                        2
                    } else {
                        rng.random_range(0..5)
                    };
                    rules.push(RouteRule {
                        destination,
                        target: RouteTarget::Gateway(id(GatewayId::new, v * 5 + gateway)),
                        description: None,
                    });
                    continue;
                }
                let (destination, target) = if rng.random_bool(0.15) {
                    (
                        RouteDestination::Service(random_service(rng, shape)),
                        RouteTarget::Gateway(id(GatewayId::new, v * 5 + 2)),
                    )
                } else {
                    let d = *prefix_pool(shape)
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
            if shape.edges && rng.random_bool(0.5) {
                // Default routes through the DRG last (more packets pass
                // the route layer; earlier rules still win or tie).
                for d in ["0.0.0.0/0", "::/0"] {
                    rules.push(RouteRule {
                        destination: RouteDestination::Cidr(net(d)),
                        target: RouteTarget::Gateway(id(GatewayId::new, v * 5 + 3)),
                        description: None,
                    });
                }
            }
            let tid = id(RouteTableId::new, s.route_tables.len());
            s.route_tables.push(RouteTable {
                name: format!("rt{v}-{t}"),
                id: None,
                vcn: id(VcnId::new, v),
                rules,
                stand_in: false,
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
    let (policies, statements) = if shape.edges { (3, 8) } else { (2, 4) };
    for p in 0..rng.random_range(0..=policies) {
        let statements = (0..rng.random_range(1..=statements))
            .map(|_| {
                let st = random_statement(rng, shape);
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
            file: None,
            stand_in: false,
            name: format!("policy{p}"),
            id: None,
            statements,
        });
    }
    // Gateways that drop everything (a disabled internet gateway, a NAT or
    // service gateway blocking traffic, a local peering gateway not
    // peered), drawn last so that the draws above
    // make the same scenarios as before.
    if shape.edges {
        for g in &mut s.gateways {
            let switch = matches!(
                g.kind,
                GatewayKind::Internet | GatewayKind::Nat | GatewayKind::Service | GatewayKind::Lpg
            );
            g.blocked = switch && rng.random_bool(0.2);
        }
        // Next-hop appliances whose VNIC checks source and destination.
        for v in &mut s.vnics {
            v.skip_source_dest_check = match rng.random_range(0..4) {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            };
        }
    }
    if shape.vnics_unknown > 0.0 {
        for sn in &mut s.subnets {
            sn.vnics_unknown = rng.random_bool(shape.vnics_unknown);
        }
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
            "2603:c020:1:2::1",
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

// ------------------------------------------------------------- edges --

/// Ports of [`Shape::edges`]: the ends of the range and both sides of the
/// privileged boundary, beside the classic pool.
const EDGE_PORTS: [u16; 13] = [
    0, 1, 22, 53, 80, 443, 1023, 1024, 2049, 8080, 40000, 65534, 65535,
];

/// Prefixes [`Shape::edges`] adds: the VCNs' second blocks and a /12
/// over both, IPv6 link-local, halves of the address space, a /8 over
/// both VCNs, /31, /30 and /32 around VNIC addresses, a /17 cutting a VCN,
/// a /23 over two subnets, the broadcast and all-ones hosts, IPv6 /1, /16,
/// /120, /125 and /128 around VNIC addresses, IPv4-mapped IPv6 and
/// multicast, and host routes inside the service labels.
const EDGE_PREFIXES: [&str; 27] = [
    "172.16.0.0/12",
    "172.16.1.0/24",
    "fe80::/10",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "10.0.0.0/8",
    "10.0.1.10/31",
    "10.0.1.12/30",
    "10.0.1.11/32",
    "10.1.1.50/32",
    "10.1.0.0/17",
    "10.0.2.0/23",
    "255.255.255.255/32",
    "134.70.1.1/32",
    "147.154.0.0/16",
    "8.8.8.8/32",
    "::/1",
    "8000::/1",
    "fd00::/16",
    "fd00:0:1::/120",
    "fd00:0:1::8/125",
    "2603:c020:1:1::10/128",
    "2603:c020:1:2::/64",
    "2001:db8::9/128",
    "::ffff:0:0/96",
    "ff00::/8",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
];

/// A port range of [`Shape::edges`]: single ports, ranges from 0, ranges
/// to 65535, every port written as a range, and arbitrary ranges.
fn edge_range(rng: &mut impl Rng) -> PortRange {
    let a = *EDGE_PORTS.choose(rng).unwrap_or(&80);
    let b = *EDGE_PORTS.choose(rng).unwrap_or(&80);
    match rng.random_range(0..10) {
        0..=3 => PortRange { min: a, max: a },
        4..=5 => PortRange { min: 0, max: a },
        6..=7 => PortRange { min: a, max: 65535 },
        8 => PortRange::ALL,
        _ => PortRange {
            min: a.min(b),
            max: a.max(b),
        },
    }
}

/// A rule protocol of [`Shape::edges`]: `all`, the four with options, and
/// numbered protocols without (GRE, ESP, SCTP, 0, 255).
fn edge_protocol(rng: &mut impl Rng) -> Protocol {
    match rng.random_range(0..12) {
        0..=1 => Protocol::All,
        2..=3 => Protocol::Number(proto::TCP),
        4..=5 => Protocol::Number(proto::UDP),
        6 => Protocol::Number(proto::ICMP),
        7 => Protocol::Number(proto::ICMPV6),
        8 => Protocol::Number(47),
        9 => Protocol::Number(50),
        10 => Protocol::Number(132),
        _ => Protocol::Number(*[0u8, 255].choose(rng).unwrap_or(&0)),
    }
}

/// One of the scenario's service labels.
fn random_service(rng: &mut impl Rng, shape: &Shape) -> ServiceId {
    if shape.edges && rng.random_bool(0.5) {
        id(ServiceId::new, 1)
    } else {
        ServiceId::default()
    }
}

/// ICMP types: echo and reply, the error messages (unreachable, redirect,
/// time exceeded, parameter problem), ICMPv6 echo, neighbour discovery,
/// and 255.
const EDGE_ICMP_TYPES: [u8; 12] = [0, 1, 3, 5, 8, 11, 12, 128, 129, 133, 135, 255];

fn icmp_type(rng: &mut impl Rng, shape: &Shape) -> u8 {
    if shape.edges {
        *EDGE_ICMP_TYPES.choose(rng).unwrap_or(&8)
    } else {
        *[0u8, 3, 8, 128, 129].choose(rng).unwrap_or(&8)
    }
}

fn icmp_code(rng: &mut impl Rng, shape: &Shape) -> u8 {
    if shape.edges {
        *[0u8, 1, 3, 4, 255].choose(rng).unwrap_or(&0)
    } else {
        rng.random_range(0..2)
    }
}

/// Attributes [`Shape::edges`] gives VNICs besides the classic pool: a
/// second key, so endpoints carry several attributes, one of which no
/// statement may name.
fn edge_attrs() -> Vec<Attribute> {
    vec![
        Attribute::new("app", "tier", "front"),
        Attribute::new("oracle-zpr", "env", "prod"),
    ]
}

/// ZPR conditions of [`Shape::edges`]: none, TCP/UDP with port lists
/// (edge ranges), a protocol without ports, ICMP and ICMPv6 with type,
/// type and code, or code only, a numbered protocol, an ICMP type alone,
/// an explicit `stateful`.
fn edge_conditions(rng: &mut impl Rng) -> Vec<Spanned<Condition>> {
    let mut c = Vec::new();
    let protocol = |protocol: u8, ports: Vec<PortRange>| {
        sp(Condition::Protocol(ProtocolSpec { protocol, ports }))
    };
    match rng.random_range(0..12) {
        0..=2 => {}
        3..=4 => {
            let p = *[proto::TCP, proto::UDP].choose(rng).unwrap_or(&6);
            let ports = (0..rng.random_range(0..4))
                .map(|_| edge_range(rng))
                .collect();
            c.push(protocol(p, ports));
        }
        5..=6 => {
            let p = *[proto::ICMP, proto::ICMPV6].choose(rng).unwrap_or(&1);
            c.push(protocol(p, vec![]));
            match rng.random_range(0..4) {
                0 => {}
                1 => c.push(sp(Condition::IcmpType(icmp_type(rng, &Shape::edges())))),
                2 => {
                    c.push(sp(Condition::IcmpType(icmp_type(rng, &Shape::edges()))));
                    c.push(sp(Condition::IcmpCode(icmp_code(rng, &Shape::edges()))));
                }
                _ => c.push(sp(Condition::IcmpCode(icmp_code(rng, &Shape::edges())))),
            }
        }
        7 => c.push(protocol(
            *[47u8, 50, 132].choose(rng).unwrap_or(&47),
            vec![],
        )),
        8 => c.push(sp(Condition::IcmpType(icmp_type(rng, &Shape::edges())))),
        9 => {
            c.push(sp(Condition::IcmpType(icmp_type(rng, &Shape::edges()))));
            c.push(sp(Condition::IcmpCode(icmp_code(rng, &Shape::edges()))));
        }
        10 => c.push(protocol(proto::TCP, vec![PortRange::ALL])),
        _ => c.push(sp(Condition::ConnectionState(ConnectionState::Stateful))),
    }
    c
}

/// Addresses [`address_pool_shaped`] adds for [`Shape::edges`]: second
/// VNIC addresses and their neighbours, subnet and VCN ends, addresses of
/// a VCN outside every subnet, the all-zero and all-ones addresses, the
/// service labels' ends, IPv4-mapped (169.254.169.254 too: not the IPv4
/// link-local range) and link-local IPv6, multicast, the VCNs' second
/// blocks.
const EDGE_ADDRESSES: [&str; 27] = [
    "172.16.0.5",
    "172.16.1.5",
    "::ffff:169.254.169.254",
    "10.0.1.11",
    "10.0.1.51",
    "10.0.1.255",
    "10.0.2.0",
    "10.0.255.255",
    "10.1.0.0",
    "10.1.1.50",
    "10.2.0.1",
    "0.0.0.0",
    "255.255.255.255",
    "128.0.0.1",
    "134.70.1.1",
    "134.70.127.255",
    "147.154.255.255",
    "8.8.8.9",
    "fd00:0:1::ffff",
    "2603:c020:1:1::10",
    "fd00:0:ffff::1",
    "::",
    "::ffff:10.0.1.10",
    "fe80::1",
    "ff02::1",
    "2001:db8::1",
    "2001:db8:1::1",
];

/// A packet that a ZPR statement of `s` allows on its face: a statement
/// drawn, its source and destination drawn from the addresses its terms
/// name (VNICs carrying its attribute, in a VCN of its scope where it
/// names one; addresses of its CIDR or service labels; every VNIC for
/// `all-endpoints`), of one family, its protocol, ports and ICMP type from
/// its conditions (an echo request where it names none, ports drawn from
/// its ranges, an ephemeral source port). `None` when `s` has no
/// statement, or the one drawn names no address. Where random packets
/// seldom meet what a policy allows, these do (its other layers, and the
/// statements' VCN scopes, may still drop them); replies are what ZPR's
/// reply handling judges (`tests/zpr_reply_hints.rs`, since the
/// twenty-ninth session).
pub fn statement_packet(rng: &mut impl Rng, s: &Scenario) -> Option<Packet> {
    let statements: Vec<&Statement> = s
        .zpr_policies
        .iter()
        .flat_map(|p| &p.statements)
        .map(|ps| &ps.statement)
        .collect();
    let st = *statements.choose(rng)?;
    let vcn_has = |v: &Vnic, scope: &Attribute| {
        s.vcns[s.subnets[v.subnet.index()].vcn.index()]
            .attribute
            .as_ref()
            == Some(scope)
    };
    let carries = |v: &Vnic, a: &Attribute| v.attributes.iter().any(|x| x.attribute == *a);
    let vnics_where = |keep: &dyn Fn(&Vnic) -> bool| -> Vec<IpAddr> {
        s.vnics
            .iter()
            .filter(|v| keep(v))
            .flat_map(|v| v.private_ips.iter().copied())
            .collect()
    };
    let term = |e: &Endpoint, scope: &Attribute| -> Vec<IpAddr> {
        match e {
            Endpoint::Attribute(a) => vnics_where(&|v| carries(v, a) && vcn_has(v, scope)),
            Endpoint::AllEndpoints => vnics_where(&|v| vcn_has(v, scope)),
            Endpoint::Cidr(n) => {
                let mut inside = vnics_where(&|v| v.private_ips.iter().any(|a| n.contains(a)));
                inside.retain(|a| n.contains(a));
                if inside.is_empty() {
                    inside.push(n.network());
                }
                inside
            }
            Endpoint::OsnServices => s
                .services
                .iter()
                .flat_map(|l| &l.cidrs)
                .map(IpNet::network)
                .collect(),
        }
    };
    let (srcs, dsts) = match &st.kind {
        StatementKind::Scoped { vcn, src, dst } => {
            (term(&src.node, &vcn.node), term(&dst.node, &vcn.node))
        }
        StatementKind::CrossVcn {
            src,
            src_vcn,
            dst,
            dst_vcn,
        } => (
            vnics_where(&|v| carries(v, &src.node) && vcn_has(v, &src_vcn.node)),
            vnics_where(&|v| carries(v, &dst.node) && vcn_has(v, &dst_vcn.node)),
        ),
    };
    let src = *srcs.choose(rng)?;
    let dsts: Vec<IpAddr> = dsts
        .into_iter()
        .filter(|d| d.is_ipv4() == src.is_ipv4() && *d != src)
        .collect();
    let dst = *dsts.choose(rng)?;
    let c = st.conditions();
    let icmp = if src.is_ipv4() {
        proto::ICMP
    } else {
        proto::ICMPV6
    };
    let protocol = match &c.protocol {
        Some(p) => p.protocol,
        None if c.icmp_type.is_some() || c.icmp_code.is_some() => icmp,
        None => *[proto::TCP, proto::TCP, proto::UDP, icmp]
            .choose(rng)
            .unwrap_or(&proto::TCP),
    };
    let l4 = match protocol {
        proto::TCP | proto::UDP => {
            let dport = match c.protocol.as_ref().and_then(|p| p.ports.choose(rng)) {
                Some(r) => rng.random_range(r.min.min(r.max)..=r.max),
                None => *PORTS.choose(rng).unwrap_or(&80),
            };
            L4::Ports {
                sport: rng.random_range(1024..=65535),
                dport,
            }
        }
        proto::ICMP | proto::ICMPV6 => L4::Icmp {
            icmp_type: c
                .icmp_type
                .unwrap_or(if protocol == proto::ICMP { 8 } else { 128 }),
            code: c.icmp_code.unwrap_or(0),
        },
        _ => L4::Opaque,
    };
    Some(Packet {
        src,
        dst,
        proto: protocol,
        l4,
    })
}

/// Every VNIC address of a scenario.
#[must_use]
pub fn vnic_addresses(s: &Scenario) -> Vec<IpAddr> {
    s.vnics
        .iter()
        .flat_map(|v| v.private_ips.iter().copied())
        .collect()
}

/// [`address_pool`], plus [`EDGE_ADDRESSES`] for [`Shape::edges`].
#[must_use]
pub fn address_pool_shaped(s: &Scenario, shape: &Shape) -> Vec<IpAddr> {
    let mut out = address_pool(s);
    if shape.edges {
        out.extend(EDGE_ADDRESSES.iter().map(|a| ip(a)));
        out.sort_unstable();
        out.dedup();
    }
    out
}

/// [`random_packet`], or for [`Shape::edges`]: ports from the edge pool,
/// ICMP error types and codes, ICMP over IPv6 and ICMPv6 over IPv4 (a
/// capture can hold either), fragments of every protocol, opaque
/// protocols 0, 2, 41, 47, 50, 132, 255.
/// `vnics`: the scenario's VNIC addresses (see [`vnic_addresses`]).
pub fn random_packet_shaped(
    rng: &mut impl Rng,
    pool: &[IpAddr],
    vnics: &[IpAddr],
    shape: &Shape,
) -> Packet {
    if !shape.edges {
        return random_packet(rng, pool);
    }
    let fallback = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    // Most packets touch a VNIC (the pool's many outside addresses would
    // otherwise end most packets at the route layer): one side, either,
    // from the VNIC addresses, the other from the whole pool.
    let (src, dst) = if rng.random_bool(0.75) && !vnics.is_empty() {
        let v = *vnics.choose(rng).unwrap_or(&fallback);
        let same: Vec<IpAddr> = pool
            .iter()
            .copied()
            .filter(|a| a.is_ipv4() == v.is_ipv4())
            .collect();
        let other = if rng.random_bool(0.5) {
            *vnics
                .iter()
                .filter(|a| a.is_ipv4() == v.is_ipv4())
                .collect::<Vec<_>>()
                .choose(rng)
                .copied()
                .unwrap_or(&v)
        } else {
            *same.choose(rng).unwrap_or(&v)
        };
        if rng.random_bool(0.5) {
            (v, other)
        } else {
            (other, v)
        }
    } else {
        let src = *pool.choose(rng).unwrap_or(&fallback);
        let same_family: Vec<IpAddr> = pool
            .iter()
            .copied()
            .filter(|a| a.is_ipv4() == src.is_ipv4())
            .collect();
        (src, *same_family.choose(rng).unwrap_or(&src))
    };
    let port = |rng: &mut _| {
        if rng_bool(rng, 0.8) {
            *EDGE_PORTS.choose(rng).unwrap_or(&80)
        } else {
            rng_range(rng)
        }
    };
    let (proto, l4) = match rng.random_range(0..10) {
        0..=2 => (
            proto::TCP,
            L4::Ports {
                sport: port(rng),
                dport: port(rng),
            },
        ),
        3..=4 => (
            proto::UDP,
            L4::Ports {
                sport: port(rng),
                dport: port(rng),
            },
        ),
        5..=6 => {
            let native = if src.is_ipv4() {
                proto::ICMP
            } else {
                proto::ICMPV6
            };
            let other = if native == proto::ICMP {
                proto::ICMPV6
            } else {
                proto::ICMP
            };
            (
                if rng.random_bool(0.85) { native } else { other },
                L4::Icmp {
                    icmp_type: icmp_type(rng, shape),
                    code: if rng.random_bool(0.2) {
                        rng.random()
                    } else {
                        icmp_code(rng, shape)
                    },
                },
            )
        }
        7 => (
            *[proto::TCP, proto::UDP, proto::ICMP, proto::ICMPV6, 47, 50]
                .choose(rng)
                .unwrap_or(&6),
            L4::Fragment,
        ),
        _ => (
            *[0u8, 2, 41, 47, 50, 132, 255].choose(rng).unwrap_or(&47),
            L4::Opaque,
        ),
    };
    Packet {
        src,
        dst,
        proto,
        l4,
    }
}
