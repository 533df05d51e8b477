//! The compiled tables against the reference evaluator on the edge shapes
//! the classic generator never draws (`Shape::edges`): IPv6 and mixed
//! scenarios, /0 to /128 prefixes nested across layers, port ranges
//! touching 0 and 65535, source ports, ICMP errors and ICMP of the other
//! family, numbered protocols, fragments, VNICs in 4 to 6 NSGs, tied
//! routes, a second service label, several attributes per endpoint and
//! ZPR conditions on ICMPv6, codes and protocol numbers; first packets
//! and replies with every tracking combination.
//!
//! Each shape has a coverage count with an assertion, so a generator
//! change cannot silently stop drawing it. `ZPRSIM_EDGE_SEEDS` runs more
//! seeds (e.g. 20000 in release for a long run).

use crate::support::random_context;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use zprsim_bench::random::{
    Shape, address_pool_shaped, random_packet_shaped, random_scenario_shaped, vnic_addresses,
};
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::eval;
use zprsim_control::ids::ServiceId;
use zprsim_control::model::{
    Peer, Protocol, RouteDestination, RuleOptions, Scenario, SecurityRule, proto,
};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Decision, DirectionKey, RuleRef};
use zprsim_control::zpl::ast::Condition;

/// How often each edge shape decided a packet.
#[derive(Default, Debug)]
struct EdgeCoverage {
    packets: usize,
    allowed: usize,
    by_stage: [usize; 4],
    v6_allowed: usize,
    v6_by_stage: [usize; 4],
    /// Security decided by a rule with a port range from 0 or to 65535.
    port_edge: usize,
    /// Security decided by a rule with a source-port range.
    sport_rule: usize,
    /// Security decided by a typed ICMP rule on an error message
    /// (unreachable, redirect, time exceeded, parameter problem).
    icmp_error: usize,
    /// ICMP (1) over IPv6 or ICMPv6 (58) over IPv4, allowed.
    cross_family_icmp: usize,
    /// Security decided by a rule of a VNIC's 4th or later NSG (past the
    /// compiler's inline container slots).
    past_inline: usize,
    /// Security decided at a VNIC in 5 or more NSGs.
    five_nsgs: usize,
    /// Security decided by a rule on protocol 0, 50, 132 or 255.
    odd_proto: usize,
    /// A first packet allowed by a stateful rule and not tracked: a
    /// stateless rule elsewhere in the union matched too.
    stateless_wins: usize,
    /// Route decided by a rule whose destination a later rule repeats.
    route_tie: usize,
    /// Decided by the second service label (security peer or route).
    second_label: usize,
    /// ZPR decided by a statement with an ICMP type or code, a protocol
    /// without ports (ICMP, ICMPv6, numbered), or a port range touching 0
    /// or 65535.
    zpr_cond_edges: usize,
    /// Non-first fragments allowed.
    fragments_allowed: usize,
    /// Security decided by a rule whose peer is one of the checked VNIC's
    /// own NSGs.
    own_nsg_peer: usize,
    audit: usize,
    replies_allowed: usize,
    /// Decided between two VNICs of one subnet in different IPv4 blocks
    /// of it (OCI's `ipv4-cidr-blocks`: delivered directly, as within one
    /// block).
    across_blocks: usize,
}

fn security_rule(s: &Scenario, r: Option<RuleRef>) -> Option<&SecurityRule> {
    match r? {
        RuleRef::Nsg { nsg, index } => s.nsgs[nsg.index()].rules.get(index as usize),
        RuleRef::SecurityList {
            list,
            direction,
            index,
        } => {
            let l = &s.security_lists[list.index()];
            let rules = match direction {
                DirectionKey::Ingress => &l.ingress,
                DirectionKey::Egress => &l.egress,
            };
            rules.get(index as usize)
        }
        _ => None,
    }
}

fn count_security(
    s: &Scenario,
    vnic_ip: std::net::IpAddr,
    r: Option<RuleRef>,
    tracked: bool,
    first: bool,
    cov: &mut EdgeCoverage,
) {
    let Some(rule) = security_rule(s, r) else {
        return;
    };
    let Some(v) = s.vnics.iter().find(|v| v.private_ips.contains(&vnic_ip)) else {
        return;
    };
    if let RuleOptions::Ports { src, dst } = rule.options {
        let edge = |p: Option<zprsim_control::model::PortRange>| {
            p.is_some_and(|p| p.min == 0 || p.max == u16::MAX)
        };
        cov.port_edge += usize::from(edge(src) || edge(dst));
        cov.sport_rule += usize::from(src.is_some());
    }
    if let RuleOptions::Icmp { icmp_type, .. } = rule.options {
        cov.icmp_error += usize::from([3u8, 5, 11, 12, 1].contains(&icmp_type));
    }
    if let Some(RuleRef::Nsg { nsg, .. }) = r {
        cov.past_inline += usize::from(v.nsgs.iter().position(|n| *n == nsg) >= Some(3));
    }
    cov.five_nsgs += usize::from(v.nsgs.len() >= 5);
    cov.odd_proto += usize::from(matches!(
        rule.protocol,
        Protocol::Number(0 | 50 | 132 | 255)
    ));
    cov.stateless_wins += usize::from(first && !rule.stateless && !tracked);
    match rule.peer {
        Peer::Service(l) => cov.second_label += usize::from(l != ServiceId::default()),
        Peer::Nsg(n) => cov.own_nsg_peer += usize::from(v.nsgs.contains(&n)),
        Peer::Cidr(_) => {}
    }
}

fn count(s: &Scenario, p: &Packet, ctx: Context, d: &Decision, cov: &mut EdgeCoverage) {
    let j = d.judgement;
    cov.packets += 1;
    match j.stage {
        None => {
            cov.allowed += 1;
            cov.v6_allowed += usize::from(p.src.is_ipv6());
            cov.replies_allowed += usize::from(matches!(ctx, Context::Reply(_)));
            cov.fragments_allowed += usize::from(p.l4 == L4::Fragment);
            let cross = (p.proto == proto::ICMP && p.src.is_ipv6())
                || (p.proto == proto::ICMPV6 && p.src.is_ipv4());
            cov.cross_family_icmp += usize::from(cross);
        }
        Some(st) => {
            cov.by_stage[st as usize] += 1;
            if p.src.is_ipv6() {
                cov.v6_by_stage[st as usize] += 1;
            }
        }
    }
    cov.audit += usize::from(j.zpr_audit);
    let first = ctx == Context::First && j.stage.is_none();
    let block = |a: std::net::IpAddr| {
        s.subnets
            .iter()
            .enumerate()
            .find_map(|(i, sn)| sn.cidrs.iter().position(|c| c.contains(&a)).map(|b| (i, b)))
    };
    if let (Some((x, bx)), Some((y, by))) = (block(p.src), block(p.dst))
        && x == y
        && bx != by
        && p.src.is_ipv4()
    {
        cov.across_blocks += 1;
    }
    let dd = &d.deciders;
    count_security(s, p.src, dd.egress, j.tracking.at_src, first, cov);
    count_security(s, p.dst, dd.ingress, j.tracking.at_dst, first, cov);
    if let Some(RuleRef::Route { table, index }) = dd.route {
        let rules = &s.route_tables[table.index()].rules;
        let dest = &rules[index as usize].destination;
        cov.route_tie += usize::from(
            rules
                .iter()
                .skip(index as usize + 1)
                .any(|r| &r.destination == dest),
        );
        if let RouteDestination::Service(l) = dest {
            cov.second_label += usize::from(*l != ServiceId::default());
        }
    }
    for r in [dd.zpr_egress, dd.zpr_ingress] {
        if let Some(RuleRef::Statement(st)) = r {
            let edge = s
                .statement(st)
                .statement
                .conditions
                .iter()
                .any(|c| match &c.node {
                    Condition::IcmpCode(_) | Condition::IcmpType(_) => true,
                    Condition::Protocol(ps) => {
                        !proto::has_ports(ps.protocol)
                            || ps.ports.iter().any(|r| r.min == 0 || r.max == u16::MAX)
                    }
                    Condition::ConnectionState(_) => false,
                });
            cov.zpr_cond_edges += usize::from(edge);
        }
    }
}

/// Checks one seed; returns a description of the first disagreement.
fn check_seed(seed: u64, packets: usize, cov: &mut EdgeCoverage) -> Result<(), String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let shape = Shape::edges();
    let s = random_scenario_shaped(&mut rng, &shape);
    // Every other seed compiles the narrow (u16) cells too.
    let cfg = if seed % 2 == 1 {
        Config {
            narrow_cells_from_bytes: 0,
            ..Config::default()
        }
    } else {
        Config::default()
    };
    let c = Compiled::new(&s, &cfg).map_err(|e| format!("seed {seed}: compile: {e}"))?;
    let pool = address_pool_shaped(&s, &shape);
    let vnics = vnic_addresses(&s);
    for i in 0..packets {
        let p = random_packet_shaped(&mut rng, &pool, &vnics, &shape);
        let ctx = random_context(&mut rng, 0.7);
        let reference = eval::evaluate(&s, &p, ctx);
        count(&s, &p, ctx, &reference, cov);
        let fast = c.judge(&p, ctx);
        let fast_rules: Vec<_> = fast
            .rules
            .iter()
            .map(|r| r.and_then(|id| c.rule_ref(id)))
            .collect();
        let d = &reference.deciders;
        let ref_rules = vec![d.route, d.egress, d.ingress, d.zpr_egress, d.zpr_ingress];
        if reference.judgement != fast.judgement || ref_rules != fast_rules {
            // The scenario as TOML, to minimize into a case of tests/cases/.
            let path = std::env::temp_dir().join(format!("zprsim-edge-seed-{seed}.toml"));
            let saved = std::fs::write(&path, zprsim_bench::scale::to_toml(&s)).map_or_else(
                |e| format!("not saved: {e}"),
                |()| path.display().to_string(),
            );
            return Err(format!(
                "seed {seed}, packet {i}: {p} ({ctx:?})\n reference: {:?} {ref_rules:?}\n compiled:  {:?} {fast_rules:?}\n scenario: {saved}\n layers: {:#?}",
                reference.judgement, fast.judgement, reference.layers
            ));
        }
    }
    Ok(())
}

#[test]
fn compiled_equals_reference_on_edge_shapes() {
    let seeds = crate::support::seeds("ZPRSIM_EDGE_SEEDS", 300);
    let mut cov = EdgeCoverage::default();
    crate::support::no_disagreement(seeds, |seed| check_seed(seed, 200, &mut cov));
    eprintln!("edge coverage over {seeds} seeds: {cov:#?}");
    let total = cov.packets;
    for (stage, n) in cov.by_stage.iter().enumerate() {
        assert!(
            *n * 100 > total,
            "stage {stage} decided only {n} of {total}"
        );
    }
    for (stage, n) in cov.v6_by_stage.iter().enumerate() {
        assert!(*n > 0, "no IPv6 packet dropped at stage {stage}: {cov:?}");
    }
    assert!(
        cov.allowed * 50 > total,
        "only {} of {total} allowed",
        cov.allowed
    );
    let shapes = [
        ("v6_allowed", cov.v6_allowed),
        ("port_edge", cov.port_edge),
        ("sport_rule", cov.sport_rule),
        ("icmp_error", cov.icmp_error),
        ("cross_family_icmp", cov.cross_family_icmp),
        ("past_inline", cov.past_inline),
        ("five_nsgs", cov.five_nsgs),
        ("odd_proto", cov.odd_proto),
        ("stateless_wins", cov.stateless_wins),
        ("route_tie", cov.route_tie),
        ("second_label", cov.second_label),
        ("zpr_cond_edges", cov.zpr_cond_edges),
        ("fragments_allowed", cov.fragments_allowed),
        ("own_nsg_peer", cov.own_nsg_peer),
        ("audit", cov.audit),
        ("replies_allowed", cov.replies_allowed),
        ("across_blocks", cov.across_blocks),
    ];
    for (name, n) in shapes {
        assert!(n > 0, "the edge generator never reached {name}: {cov:#?}");
    }
}

/// The scale generator's `wide` shape (random NSG membership), scaled
/// down, over many seeds: 3 VCNs, up to 5 NSGs per VNIC (past the inline
/// container slots), more IPv6, narrow and wide cells; the generator's
/// traffic plus edge packets (ICMP errors, fragments, numbered protocols,
/// ports at the ends) between its addresses, first packets and replies.
/// `ZPRSIM_WIDE_SEEDS` runs more seeds.
#[test]
fn compiled_equals_reference_on_scaled_wide_shapes() {
    use zprsim_bench::scale::{ScaleSpec, packets, scenario};
    let seeds = crate::support::seeds("ZPRSIM_WIDE_SEEDS", 2);
    let shape = Shape::edges();
    let (mut past_inline, mut v6_allowed, mut checked) = (0usize, 0usize, 0usize);
    for seed in 0..seeds {
        let spec = ScaleSpec {
            vcns: 3,
            subnets: 9,
            vnics: 300,
            node_pools: 9,
            security_lists: 12,
            sl_rules: 600,
            nsgs: 18,
            nsg_rules: 360,
            zpr_policies: 3,
            statements: 40,
            workloads: 6,
            external_cidrs: 40,
            ipv6_share: 0.5,
            random_nsgs: Some(5),
            seed: 100 + seed,
            ..ScaleSpec::wide()
        };
        let s = scenario(&spec);
        let cfg = if seed % 2 == 1 {
            Config {
                narrow_cells_from_bytes: 0,
                ..Config::default()
            }
        } else {
            Config::default()
        };
        let c = Compiled::new(&s, &cfg).expect("compiles");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let vnics = vnic_addresses(&s);
        let mut pool = vnics.clone();
        pool.extend(address_pool_shaped(&s, &shape));
        let mut pkts = packets(&s, 600, seed);
        pkts.extend((0..600).map(|_| random_packet_shaped(&mut rng, &pool, &vnics, &shape)));
        for (i, p) in pkts.iter().enumerate() {
            let ctx = random_context(&mut rng, 0.7);
            let reference = eval::evaluate(&s, p, ctx);
            let d = &reference.deciders;
            let fast = c.judge(p, ctx);
            let fast_rules: Vec<_> = fast
                .rules
                .iter()
                .map(|r| r.and_then(|id| c.rule_ref(id)))
                .collect();
            let ref_rules = vec![d.route, d.egress, d.ingress, d.zpr_egress, d.zpr_ingress];
            assert_eq!(
                (reference.judgement, &ref_rules),
                (fast.judgement, &fast_rules),
                "seed {seed}, packet {i}: {p} ({ctx:?})"
            );
            checked += 1;
            v6_allowed += usize::from(p.src.is_ipv6() && reference.judgement.stage.is_none());
            for (ip, r) in [(p.src, d.egress), (p.dst, d.ingress)] {
                if let Some(RuleRef::Nsg { nsg, .. }) = r
                    && let Some(v) = s.vnics.iter().find(|v| v.private_ips.contains(&ip))
                {
                    past_inline += usize::from(v.nsgs.iter().position(|n| *n == nsg) >= Some(3));
                }
            }
        }
    }
    eprintln!(
        "scaled wide: {seeds} seeds, {checked} packets, {past_inline} decided past the inline slots, {v6_allowed} IPv6 allowed"
    );
    assert!(
        past_inline > 0 && v6_allowed > 0,
        "{past_inline} {v6_allowed}"
    );
}

/// The edge scenarios survive the scenario format: written as TOML
/// (`scale::to_toml`), loaded back, every statement prints and parses
/// back to itself, and the reloaded scenario's reference and compiled
/// judgements equal the original's on edge packets (`ZPRSIM_EDGE_RT_SEEDS`
/// for more seeds).
#[test]
fn edge_scenarios_round_trip_through_toml() {
    use zprsim_bench::scale::to_toml;
    use zprsim_control::load::from_toml_str;
    use zprsim_control::zpl::{parse_statement, print_statement};
    let shape = Shape::edges();
    let seeds = crate::support::seeds("ZPRSIM_EDGE_RT_SEEDS", 40);
    let mut compared = 0usize;
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(90_000 + seed);
        let s = random_scenario_shaped(&mut rng, &shape);
        for (_, st) in s.statements() {
            let text = print_statement(&st.statement);
            let back = parse_statement(&text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(
                print_statement(&back),
                text,
                "seed {seed}: a statement does not print back to itself"
            );
        }
        let text = to_toml(&s);
        let loaded = from_toml_str(&text, "edges.toml")
            .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}"))
            .scenario;
        let c = Compiled::new(&loaded, &Config::default()).unwrap();
        let pool = address_pool_shaped(&s, &shape);
        let vnics = vnic_addresses(&s);
        for _ in 0..300 {
            let p = random_packet_shaped(&mut rng, &pool, &vnics, &shape);
            let ctx = random_context(&mut rng, 0.7);
            let a = eval::evaluate(&s, &p, ctx);
            let b = eval::evaluate(&loaded, &p, ctx);
            assert_eq!(a.judgement, b.judgement, "seed {seed}: {p} ({ctx:?})");
            assert_eq!(
                c.judge(&p, ctx).judgement,
                b.judgement,
                "seed {seed}: {p} ({ctx:?})"
            );
            compared += 1;
        }
    }
    assert!(compared > 0);
}
