//! The compiled tables against the reference evaluator, on random scenarios
//! and random packets, for first packets and for replies with every
//! combination of tracking state.

use crate::support::random_context;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use zprsim_bench::random::{Shape, address_pool, random_packet, random_scenario_shaped};
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::eval;
use zprsim_control::model::{Peer, RuleOptions, Scenario};
use zprsim_control::verdict::{Context, DirectionKey, RuleRef, Stage};

/// Counts, for the coverage assertion, what the deciding security rule
/// of a packet says about the union of containers at the checked VNIC.
fn security_coverage(
    s: &Scenario,
    vnic_ip: std::net::IpAddr,
    r: Option<RuleRef>,
    reply: bool,
    cov: &mut Coverage,
) {
    let Some(v) = s.vnics.iter().find(|v| v.private_ips.contains(&vnic_ip)) else {
        return;
    };
    let rule = match r {
        Some(RuleRef::Nsg { nsg, index }) => s.nsgs[nsg.index()].rules.get(index as usize),
        Some(RuleRef::SecurityList {
            list,
            direction,
            index,
        }) => {
            let l = &s.security_lists[list.index()];
            match direction {
                DirectionKey::Ingress => l.ingress.get(index as usize),
                DirectionKey::Egress => l.egress.get(index as usize),
            }
        }
        _ => None,
    };
    if let Some(rule) = rule
        && rule.stateless
        && matches!(rule.options, RuleOptions::Ports { src: Some(_), .. })
    {
        cov.stateless_sport += 1;
        cov.stateless_sport_reply += usize::from(reply);
    }
    match r {
        Some(RuleRef::Nsg { nsg, index }) => {
            if v.nsgs.first() != Some(&nsg) {
                cov.later_container += 1;
            }
            if matches!(s.nsgs[nsg.index()].rules[index as usize].peer, Peer::Nsg(_)) {
                cov.nsg_peer += 1;
            }
        }
        Some(RuleRef::SecurityList { .. }) if !v.nsgs.is_empty() => cov.later_container += 1,
        _ => {}
    }
}

/// How often each outcome was seen, so the test proves it explored every layer.
#[derive(Default, Debug)]
struct Coverage {
    allowed: usize,
    by_stage: [usize; 4],
    audit: usize,
    replies_allowed: usize,
    tracked_src: usize,
    tracked_dst: usize,
    /// Security decided by a rule of a VNIC's second or later NSG, or by a
    /// list although the VNIC has NSGs: the union across containers mattered.
    later_container: usize,
    /// Security decided by a rule whose peer is an NSG.
    nsg_peer: usize,
    /// Security decided by a stateless rule with a source-port range (the
    /// twenty-first session's H1 shape; [`Shape::stateless_sport`]).
    stateless_sport: usize,
    /// ... of which in a reply's context.
    stateless_sport_reply: usize,
    /// Packets to or from an address that may be a VNIC an export lacks
    /// (`vnics_unknown`), and of those the ones the route layer passed.
    lost_vnic: usize,
    lost_vnic_past_route: usize,
}

/// Checks one seed; returns a description of the first disagreement.
fn check_seed(seed: u64, packets: usize, cov: &mut Coverage) -> Result<(), String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Odd seeds draw many NSGs per VNIC in any order (many profiles, each
    // the union of several containers); even seeds the classic shape.
    // Every shape also makes a share of its TCP/UDP rules stateless
    // with a source-port range (since the twenty-second session: before,
    // 2 of 60,000 packets were decided by such a rule, none a reply).
    // And a share of subnets do not know all their VNICs (since the
    // twenty-eighth session: an address of them no VNIC holds may be a
    // VNIC an export lacks, and its security layer denies).
    let shape = Shape {
        stateless_sport: 0.5,
        vnics_unknown: 0.3,
        ..if seed % 2 == 1 {
            Shape::wide()
        } else {
            Shape::classic()
        }
    };
    let s = random_scenario_shaped(&mut rng, &shape);
    // Every other pair of seeds compiles the narrow (u16) cells, which
    // only layers past 1 MiB get by default: both layouts against the
    // reference.
    let cfg = if seed / 2 % 2 == 1 {
        Config {
            narrow_cells_from_bytes: 0,
            ..Config::default()
        }
    } else {
        Config::default()
    };
    let c = Compiled::new(&s, &cfg).map_err(|e| format!("seed {seed}: compile: {e}"))?;
    let pool = address_pool(&s);
    for i in 0..packets {
        let p = random_packet(&mut rng, &pool);
        let ctx = random_context(&mut rng, 0.7);
        let reference = eval::evaluate(&s, &p, ctx);
        let j = reference.judgement;
        match j.stage {
            None => {
                cov.allowed += 1;
                cov.replies_allowed += usize::from(matches!(ctx, Context::Reply(_)));
                cov.tracked_src += usize::from(j.tracking.at_src);
                cov.tracked_dst += usize::from(j.tracking.at_dst);
            }
            Some(st) => cov.by_stage[st as usize] += 1,
        }
        cov.audit += usize::from(j.zpr_audit);
        let lost = |ip| eval::vnics_unknown_at(&s, eval::endpoint_of(&s, ip), ip).is_some();
        if lost(p.src) || lost(p.dst) {
            cov.lost_vnic += 1;
            cov.lost_vnic_past_route += usize::from(j.stage != Some(Stage::Route));
        }
        let fast = c.judge(&p, ctx);
        let fast_rules: Vec<_> = fast
            .rules
            .iter()
            .map(|r| r.and_then(|id| c.rule_ref(id)))
            .collect();
        let d = &reference.deciders;
        let reply = matches!(ctx, Context::Reply(_));
        security_coverage(&s, p.src, d.egress, reply, cov);
        security_coverage(&s, p.dst, d.ingress, reply, cov);
        let ref_rules = vec![d.route, d.egress, d.ingress, d.zpr_egress, d.zpr_ingress];
        if reference.judgement != fast.judgement || ref_rules != fast_rules {
            return Err(format!(
                "seed {seed}, packet {i}: {p} ({ctx:?})\n reference: {:?} {ref_rules:?}\n compiled:  {:?} {fast_rules:?}\n layers: {:#?}",
                reference.judgement, fast.judgement, reference.layers
            ));
        }
    }
    Ok(())
}

#[test]
fn compiled_equals_reference_on_random_scenarios() {
    let seeds = crate::support::seeds("ZPRSIM_DIFF_SEEDS", 300);
    let mut cov = Coverage::default();
    crate::support::no_disagreement(seeds, |seed| check_seed(seed, 200, &mut cov));
    eprintln!("coverage over {seeds} seeds: {cov:?}");
    // The generator must reach every outcome, or agreement proves little.
    let total = (seeds as usize) * 200;
    for (stage, n) in cov.by_stage.iter().enumerate() {
        assert!(
            *n * 100 > total,
            "stage {stage} decided only {n} of {total} packets"
        );
    }
    assert!(
        cov.allowed * 50 > total,
        "only {} of {total} allowed",
        cov.allowed
    );
    assert!(
        cov.later_container * 100 > total && cov.nsg_peer * 100 > total,
        "the union of containers is barely exercised: {cov:?}"
    );
    assert!(
        cov.audit > 0 && cov.replies_allowed > 0 && cov.tracked_src > 0 && cov.tracked_dst > 0,
        "{cov:?}"
    );
    // The twenty-first session's H1 shape: a stateless rule's source
    // ports decide, in a reply's context too (300 seeds: 143 packets, 29
    // of them replies; 2 and 0 without `stateless_sport`).
    assert!(
        cov.stateless_sport * 1000 > total && cov.stateless_sport_reply * 5000 > total,
        "stateless rules with source ports barely decide: {cov:?}"
    );
    // Addresses that may be VNICs an export lacks reach their security
    // layer (`Shape::vnics_unknown`).
    assert!(
        cov.lost_vnic_past_route * 200 > total,
        "addresses that may be lost VNICs barely reach their security layer: {cov:?}"
    );
}

/// The `wide` shape (random NSG membership: profiles grow with VNICs),
/// scaled down: the compiled tables agree with the reference on the
/// generator's traffic, first packets and replies.
#[test]
fn compiled_equals_reference_on_the_wide_shape() {
    use zprsim_bench::scale::{ScaleSpec, packets, scenario};
    let spec = ScaleSpec {
        subnets: 10,
        vnics: 800,
        node_pools: 10,
        security_lists: 20,
        sl_rules: 2000,
        nsgs: 24,
        nsg_rules: 900,
        zpr_policies: 3,
        statements: 60,
        workloads: 10,
        external_cidrs: 100,
        random_nsgs: Some(3),
        ..ScaleSpec::wide()
    };
    let s = scenario(&spec);
    let c = Compiled::new(&s, &Config::default()).expect("compiles");
    // Many distinct (subnet, NSG set) profiles: the shape under test.
    assert!(c.stats().security_profiles > 200, "{:?}", c.stats());
    // ... over one table per container and direction, not per profile.
    assert!(
        c.stats().security_tables <= 2 * (s.nsgs.len() + s.subnets.len()),
        "{:?}",
        c.stats()
    );
    let narrow_cfg = Config {
        narrow_cells_from_bytes: 0,
        ..Config::default()
    };
    let narrow = Compiled::new(&s, &narrow_cfg).expect("compiles narrow");
    assert!(narrow.stats().table_bytes < c.stats().table_bytes);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut cov = Coverage::default();
    for (i, p) in packets(&s, 4000, 3).iter().enumerate() {
        let ctx = random_context(&mut rng, 0.8);
        let reference = eval::evaluate(&s, p, ctx);
        let d = &reference.deciders;
        let reply = matches!(ctx, Context::Reply(_));
        security_coverage(&s, p.src, d.egress, reply, &mut cov);
        security_coverage(&s, p.dst, d.ingress, reply, &mut cov);
        let fast = c.judge(p, ctx);
        let fast_rules: Vec<_> = fast
            .rules
            .iter()
            .map(|r| r.and_then(|id| c.rule_ref(id)))
            .collect();
        let ref_rules = vec![d.route, d.egress, d.ingress, d.zpr_egress, d.zpr_ingress];
        assert_eq!(
            (reference.judgement, ref_rules),
            (fast.judgement, fast_rules),
            "packet {i}: {p} ({ctx:?})"
        );
        // The narrow (u16) layout judges every packet alike.
        assert_eq!(
            narrow.judge(p, ctx),
            fast,
            "narrow, packet {i}: {p} ({ctx:?})"
        );
    }
    assert!(cov.later_container > 40 && cov.nsg_peer > 10, "{cov:?}");
}

/// Review (s6): the ZPR row memo keys the statements that hold for a peer
/// as a 64-bit mask when a profile has at most 64 relevant statements, and
/// as a list past that; the empty-peer-side path reuses the empty set's
/// row. One policy of `n` statements gathered from many random scenarios
/// (the generator's small attribute pools: a fifth hold for a profile, so
/// 400 and 800 give profiles of 80 to 260 relevant statements), for `n` on
/// both sides of 64: the compiled tables agree with the reference,
/// verdicts and deciding statements, on every pair of addresses of the
/// scenario and a set of services, first packets and replies; statements
/// past the 64th decide packets (the list key is exercised, not only the
/// mask).
#[test]
fn compiled_equals_reference_with_more_than_64_statements_per_profile() {
    use zprsim_bench::random::random_scenario;
    use zprsim_control::model::ZprPolicy;
    use zprsim_control::packet::{L4, Packet};
    use zprsim_control::verdict::Tracking;
    let services = [
        (
            6u8,
            L4::Ports {
                sport: 40000,
                dport: 80,
            },
        ),
        (
            6,
            L4::Ports {
                sport: 40000,
                dport: 443,
            },
        ),
        (
            6,
            L4::Ports {
                sport: 22,
                dport: 1521,
            },
        ),
        (
            17,
            L4::Ports {
                sport: 53,
                dport: 53,
            },
        ),
        (
            17,
            L4::Ports {
                sport: 40000,
                dport: 2049,
            },
        ),
        (
            1,
            L4::Icmp {
                icmp_type: 8,
                code: 0,
            },
        ),
        (
            1,
            L4::Icmp {
                icmp_type: 3,
                code: 1,
            },
        ),
        (
            58,
            L4::Icmp {
                icmp_type: 128,
                code: 0,
            },
        ),
    ];
    let contexts = [
        Context::First,
        // Tracked by both security layers, not by ZPR: ZPR decides.
        Context::Reply(Tracking {
            at_src: true,
            at_dst: true,
            zpr: false,
            zpr_audit: false,
        }),
    ];
    for (seed, n) in [
        (1u64, 40usize),
        (2, 64),
        (3, 65),
        (4, 130),
        (5, 400),
        (6, 800),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut s = random_scenario(&mut rng);
        let mut statements = Vec::new();
        let mut donor = 1000 * seed;
        while statements.len() < n {
            let mut r = ChaCha8Rng::seed_from_u64(donor);
            donor += 1;
            for p in random_scenario(&mut r).zpr_policies {
                statements.extend(p.statements);
            }
        }
        statements.truncate(n);
        s.zpr_policies = vec![ZprPolicy {
            file: None,
            stand_in: false,
            name: "many".into(),
            id: None,
            statements,
        }];
        let c = Compiled::new(&s, &Config::default()).expect("compiles");
        let pool = address_pool(&s);
        let (mut zpr, mut late) = (0, 0);
        for &src in &pool {
            for &dst in pool.iter().filter(|d| d.is_ipv4() == src.is_ipv4()) {
                for &(proto, l4) in &services {
                    for ctx in contexts {
                        let p = Packet {
                            src,
                            dst,
                            proto,
                            l4,
                        };
                        let reference = eval::evaluate(&s, &p, ctx);
                        let d = &reference.deciders;
                        let fast = c.judge(&p, ctx);
                        let fast_rules: Vec<_> = fast
                            .rules
                            .iter()
                            .map(|r| r.and_then(|id| c.rule_ref(id)))
                            .collect();
                        let ref_rules =
                            vec![d.route, d.egress, d.ingress, d.zpr_egress, d.zpr_ingress];
                        assert_eq!(
                            (reference.judgement, &ref_rules),
                            (fast.judgement, &fast_rules),
                            "n {n}: {p} ({ctx:?})"
                        );
                        zpr += usize::from(d.zpr_egress.is_some() || d.zpr_ingress.is_some());
                        late += [d.zpr_egress, d.zpr_ingress]
                            .iter()
                            .filter(|r| matches!(r, Some(RuleRef::Statement(st)) if st.index >= 64))
                            .count();
                    }
                }
            }
        }
        eprintln!("n {n}: {zpr} packets decided by a statement, {late} past the 64th");
        assert!(zpr > 0, "n {n}: ZPR decided nothing");
        if n >= 130 {
            assert!(late > 0, "n {n}: no statement past the 64th decided");
        }
    }
}
