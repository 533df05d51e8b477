//! The engine's record-served paths (allowed connections, reopened records, FINs, connection
//! hints) end every output exactly as the old path does.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_bench::random::{
    Shape, address_pool_shaped, random_packet_shaped, random_scenario_shaped, vnic_addresses,
};
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::packet::L4;
use zprsim_dataplane::engine::{self, EngineConfig, EngineOutput, Live, MemorySource, Sinks};

use crate::engine::frames;
use crate::replay_oracle::{Pkt, at_the_boundaries, traffic_with, v6_header_proto};

fn pass(
    scenarios: &[Arc<Compiled>],
    pkts: &[Pkt],
    workers: usize,
    (conns, flows): (usize, usize),
    live: bool,
) -> EngineOutput {
    let mut src = MemorySource::new(frames(pkts));
    let cfg = EngineConfig {
        workers,
        keep_flows: true,
        max_connections: conns,
        max_flow_records: flows,
        rule_stats: true,
        rule_flows: true,
        top_flows: 50,
        live: live.then(|| Arc::new(Live::new(scenarios.to_vec()))),
        ..EngineConfig::default()
    };
    let o = engine::run(scenarios, &mut src, &cfg, Sinks::default()).unwrap();
    assert!(o.error.is_none() && !o.interrupted);
    o
}

/// Edge-shape traffic (IPv6, ICMP, fragments, numbered protocols, ports 0
/// and 65535) with follow-ups exactly at and 1 ns past each idle timeout,
/// plus self-addressed packets (same address and port, same address with
/// other ports) and their repeats.
fn edge_traffic(rng: &mut ChaCha8Rng, shape: &Shape, n: usize) -> (Vec<Pkt>, usize) {
    let s = random_scenario_shaped(rng, shape);
    let pool = address_pool_shaped(&s, shape);
    let vnics = vnic_addresses(&s);
    let mut pkts = traffic_with(rng, &s, n, |rng| {
        loop {
            let p = random_packet_shaped(rng, &pool, &vnics, shape);
            if !v6_header_proto(&p) {
                break p;
            }
        }
    });
    let mut selfish = 0;
    for k in &mut pkts {
        if let L4::Ports { sport, dport } = &mut k.p.l4
            && rng.random_bool(0.08)
        {
            k.p.dst = k.p.src;
            if rng.random_bool(0.5) {
                *dport = *sport;
            }
            selfish += 1;
        }
    }
    // Repeats of the self-addressed ones, so their records see more packets.
    let again: Vec<Pkt> = pkts
        .iter()
        .filter(|k| k.p.src == k.p.dst)
        .map(|k| Pkt {
            p: k.p.reversed(),
            ..*k
        })
        .collect();
    pkts.extend(again);
    // New times: short gaps, and follow-ups at and 1 ns past the timeouts.
    let mut followups = 0;
    let pkts = at_the_boundaries(rng, &pkts, &mut followups);
    (pkts, selfish)
}

fn same(what: &str, a: &EngineOutput, b: &EngineOutput) {
    assert_eq!(a.scenarios.len(), b.scenarios.len(), "{what}");
    for (i, (x, y)) in a.scenarios.iter().zip(&b.scenarios).enumerate() {
        let what = format!("{what}, scenario {i}");
        assert_eq!(x.counters, y.counters, "{what}: counters");
        assert_eq!(x.flows, y.flows, "{what}: flow records");
        assert_eq!(x.top_dropped, y.top_dropped, "{what}: top dropped");
        // Past their per-shard bound too (`flows_exact` false), the rule
        // statistics keep the same flows for any split of the shards.
        assert_eq!(
            format!("{:?}", x.rule_stats),
            format!("{:?}", y.rule_stats),
            "{what}: rule statistics"
        );
        assert_eq!(
            (x.state.connections, x.state.flows),
            (y.state.connections, y.state.flows),
            "{what}: state held"
        );
    }
}

/// The record-served paths end every output exactly as the old path does:
/// K = 1 and 2 (two different scenarios), 1 and 3 workers, tables large,
/// and connections bounded far below the flow records (connections evicted
/// under live records: the hint then names another entry or none).
///
/// From the review of session 8's engine change.
#[test]
fn the_allowed_connection_path_ends_as_the_old_path() {
    let shape = Shape::edges();
    let seeds = crate::support::seeds("ZPRSIM_REVIEW_SEEDS", 6);
    let (mut replies, mut evicted, mut selfish, mut allowed) = (0, 0, 0, 0);
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(8800 + seed);
        let a = random_scenario_shaped(&mut rng, &shape);
        let b = random_scenario_shaped(&mut rng, &shape);
        let mut rng2 = ChaCha8Rng::seed_from_u64(8800 + seed);
        let (pkts, n_self) = edge_traffic(&mut rng2, &shape, 500);
        selfish += n_self;
        let ca = Arc::new(Compiled::new(&a, &Config::default()).unwrap());
        let cb = Arc::new(Compiled::new(&b, &Config::default()).unwrap());
        for k in [1usize, 2] {
            let sc: Vec<Arc<Compiled>> = [&ca, &cb].into_iter().take(k).cloned().collect();
            for bounds in [
                (4 << 20, 4 << 20),
                (300, 4 << 20),
                (4 << 20, 256),
                (256, 256),
            ] {
                let old = pass(&sc, &pkts, 2, bounds, true);
                for workers in [1, 3] {
                    let what = format!("seed {seed}, K = {k}, {workers} worker(s), {bounds:?}");
                    let new = pass(&sc, &pkts, workers, bounds, false);
                    same(&what, &old, &new);
                }
                let c = &old.scenarios[0].counters;
                replies += c.replies_tracked;
                evicted += c.connections_evicted;
                allowed += c.packets.allowed;
            }
        }
    }
    assert!(selfish > 20, "{selfish} self-addressed packets");
    assert!(replies > 100, "{replies} replies tracked");
    assert!(evicted > 20, "{evicted} connections evicted");
    assert!(allowed > 500, "{allowed} packets allowed");
}

/// Flow records evicted (one per shard) while their connections live on:
/// each flow's record reopens with a reply, and the initiator's next packet
/// is then served from the record (`Flows::allowed_live`) as the record's
/// first reverse packet, which sets its reply side and makes it both ways.
///
/// From the review of session 8's engine change.
#[test]
fn a_record_reopened_by_a_reply_gets_its_reply_side_on_the_served_path() {
    let shape = Shape::edges();
    let mut openers = 0;
    for seed in 0..8u64 {
        let Some((s, flows)) = allowed_flows(&shape, 8900 + seed) else {
            continue;
        };
        // 600 flows: an opener (source port varied) and its reply, then
        // later a reply again and two initiator packets.
        openers += flows.len();
        let mut pkts = Vec::new();
        let mut ts = 1_700_000_000_000_000_000u64;
        for p in &flows {
            ts += 1000;
            pkts.push(Pkt {
                p: *p,
                flags: 0x02,
                ts,
            });
            ts += 1000;
            pkts.push(Pkt {
                p: p.reversed(),
                flags: 0x12,
                ts,
            });
        }
        for p in &flows {
            ts += 1000;
            pkts.push(Pkt {
                p: p.reversed(),
                flags: 0x10,
                ts,
            });
            // The second one past TCP's one-way timeout (60 s): still the
            // record's only when the first made it both ways.
            for gap in [1000, 61_000_000_000] {
                ts += gap;
                pkts.push(Pkt {
                    p: *p,
                    flags: 0x10,
                    ts,
                });
            }
        }
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        let sc = [c];
        let old = pass(&sc, &pkts, 2, (4 << 20, 256), true);
        // Records reopened by a reply: the reply and two initiator packets.
        let reopened = old.scenarios[0]
            .flows
            .iter()
            .filter(|f| f.reply.is_some() && f.packets == 3)
            .count();
        assert!(old.scenarios[0].counters.flows_evicted > 100);
        assert!(reopened > 0, "seed {seed}: no record reopened both ways");
        for workers in [1, 3] {
            let new = pass(&sc, &pkts, workers, (4 << 20, 256), false);
            same(&format!("seed {seed}, {workers} worker(s)"), &old, &new);
        }
    }
    assert!(openers >= 1200, "{openers} flows");
}

/// Allowed TCP connections closed by a FIN the record serves (the
/// initiator's third packet), then a reply 121 s later: past the closing
/// timeout (120 s), so the connection must have taken the FIN from the
/// served path (`Tracker::known_allowed` touches it with the packet's
/// flags) for the reply to meet an expired connection, as on the old path.
/// And the same at exactly 120 s, where it is still live.
///
/// From the review of session 8's engine change.
#[test]
fn a_fin_on_the_served_path_closes_the_connection() {
    use zprsim_control::eval;
    use zprsim_control::model::proto;
    use zprsim_control::verdict::{Context, Verdict};
    const NS: u64 = 1_000_000_000;
    let shape = Shape::edges();
    let mut flows_total = 0;
    for seed in 0..6u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(9100 + seed);
        let s = random_scenario_shaped(&mut rng, &shape);
        let pool = address_pool_shaped(&s, &shape);
        let vnics = vnic_addresses(&s);
        let mut allowed = Vec::new();
        for _ in 0..20_000 {
            let p = random_packet_shaped(&mut rng, &pool, &vnics, &shape);
            if matches!(p.l4, L4::Ports { sport, dport } if sport != 0 && dport != 0)
                && p.proto == proto::TCP
                && !v6_header_proto(&p)
                && p.src != p.dst
                && eval::evaluate(&s, &p, Context::First).judgement.verdict == Verdict::Allow
            {
                allowed.push(p);
                if allowed.len() == 20 {
                    break;
                }
            }
        }
        if allowed.is_empty() {
            continue;
        }
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        for gap in [120 * NS, 120 * NS + 1] {
            let mut pkts = Vec::new();
            let mut ts = 1_700_000_000 * NS;
            for (i, p) in allowed.iter().enumerate() {
                let mut p = *p;
                if let L4::Ports { sport, .. } = &mut p.l4 {
                    *sport = 20_000 + u16::try_from(i).unwrap();
                }
                for (q, flags) in [(p, 0x02), (p.reversed(), 0x12), (p, 0x10), (p, 0x11)] {
                    ts += 1000;
                    pkts.push(Pkt { p: q, flags, ts });
                }
                flows_total += 1;
            }
            // The replies, each `gap` after its flow's FIN.
            let fins: Vec<u64> = pkts.iter().skip(3).step_by(4).map(|k| k.ts).collect();
            for fin in fins {
                let k = pkts[pkts.iter().position(|k| k.ts == fin).unwrap()];
                pkts.push(Pkt {
                    p: k.p.reversed(),
                    flags: 0x10,
                    ts: fin + gap,
                });
            }
            pkts.sort_by_key(|k| k.ts);
            let sc = [Arc::clone(&c)];
            let old = pass(&sc, &pkts, 2, (4 << 20, 4 << 20), true);
            for workers in [1, 3] {
                let new = pass(&sc, &pkts, workers, (4 << 20, 4 << 20), false);
                same(
                    &format!("seed {seed}, gap {gap}, {workers} worker(s)"),
                    &old,
                    &new,
                );
            }
        }
    }
    assert!(flows_total > 40, "{flows_total}");
}

/// Connections evicted (one per shard) under live flow records whose
/// served packets left a hint: the hinted position then holds another
/// connection, which must not be taken for the record's (its key differs);
/// the record's next packets are judged as the old path judges them.
///
/// From the review of session 8's engine change.
#[test]
fn a_stale_hint_to_another_connection_is_not_followed() {
    let shape = Shape::edges();
    let mut evicted = 0;
    for seed in 0..6u64 {
        let Some((s, flows)) = allowed_flows(&shape, 9300 + seed) else {
            continue;
        };
        let mut pkts = Vec::new();
        let mut ts = 1_700_000_000_000_000_000u64;
        let mut push = |p, flags| {
            ts += 1000;
            pkts.push(Pkt { p, flags, ts });
        };
        // Opener, reply, and a served packet (the hint) of each flow...
        for p in &flows {
            push(*p, 0x02);
            push(p.reversed(), 0x12);
            push(*p, 0x10);
        }
        // ...then each again, after later flows took its shard's one slot.
        for p in &flows {
            push(*p, 0x10);
            push(p.reversed(), 0x10);
        }
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        let sc = [c];
        let old = pass(&sc, &pkts, 2, (256, 4 << 20), true);
        evicted += old.scenarios[0].counters.connections_evicted;
        for workers in [1, 3] {
            let new = pass(&sc, &pkts, workers, (256, 4 << 20), false);
            same(&format!("seed {seed}, {workers} worker(s)"), &old, &new);
        }
    }
    assert!(evicted > 500, "{evicted} connections evicted");
}

/// A random edge-shaped scenario (seed `seed`) and 600 flows in it: up to
/// 40 allowed TCP or UDP first packets with both ports set (not to
/// itself, no IPv6 extension header), cycled with source ports 1024 + i.
/// `None` when the scenario allows none of its random packets.
fn allowed_flows(
    shape: &Shape,
    seed: u64,
) -> Option<(
    zprsim_control::model::Scenario,
    Vec<zprsim_control::packet::Packet>,
)> {
    use zprsim_control::eval;
    use zprsim_control::model::proto;
    use zprsim_control::verdict::{Context, Verdict};
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s = random_scenario_shaped(&mut rng, shape);
    let pool = address_pool_shaped(&s, shape);
    let vnics = vnic_addresses(&s);
    let mut allowed = Vec::new();
    for _ in 0..20_000 {
        let p = random_packet_shaped(&mut rng, &pool, &vnics, shape);
        if matches!(p.l4, L4::Ports { sport, dport } if sport != 0 && dport != 0)
            && (p.proto == proto::TCP || p.proto == proto::UDP)
            && !v6_header_proto(&p)
            && p.src != p.dst
            && eval::evaluate(&s, &p, Context::First).judgement.verdict == Verdict::Allow
        {
            allowed.push(p);
            if allowed.len() == 40 {
                break;
            }
        }
    }
    if allowed.is_empty() {
        return None;
    }
    let flows = (0..600u16)
        .map(|i| {
            let mut p = allowed[usize::from(i) % allowed.len()];
            if let L4::Ports { sport, .. } = &mut p.l4 {
                *sport = 1024 + i;
            }
            p
        })
        .collect();
    Some((s, flows))
}

/// A record that holds its connection (the held path, `Flows::known_drop`
/// serving an allowed packet from the record alone) never lets a cached
/// allowed verdict outlive the connection: against the old path (a live
/// pass: no cached verdicts), for 1 and 3 workers, pairs of flows of one
/// shard (TCP and UDP, both ports set), each flow opened, replied to and
/// served from its record in both directions, then:
///
/// - a packet exactly at and 1 ns past the connection's idle timeout
///   (both ways: UDP 180 s, TCP 86,400 s), each way;
/// - an RST served from the record, then a reply at and past the closing
///   timeout (TCP 120 s);
/// - the record evicted by its pair's (one record a shard) while it holds
///   the connection, then a reply at and 1 ns past the timeout counted
///   from the record's last packet (long past the one counted from the
///   connection's last packet as the tracker saw it before the record held
///   it): the connection must have got its state back;
/// - the connection evicted by its pair's (one connection a shard) while
///   the record holds it, then a packet each way: judged afresh.
///
/// Fails when the record keeps serving after the connection expired or
/// was evicted, or when an evicted record does not hand its state back
/// (checked by breaking each).
#[test]
fn a_held_verdict_does_not_outlive_its_connection() {
    use zprsim_control::model::proto;
    use zprsim_dataplane::conntrack::shard_of;
    const NS: u64 = 1_000_000_000;
    const MS: u64 = 1_000_000;
    let shape = Shape::edges();
    let mut pairs_total = 0;
    for seed in 0..6u64 {
        let Some((s, flows)) = allowed_flows(&shape, 9500 + seed) else {
            continue;
        };
        // Pairs of flows in one shard.
        let mut by_shard: std::collections::BTreeMap<usize, Vec<_>> = Default::default();
        for p in &flows {
            by_shard.entry(shard_of(p)).or_default().push(*p);
        }
        let pairs: Vec<_> = by_shard
            .values()
            .filter(|v| v.len() >= 2)
            .map(|v| (v[0], v[1]))
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
        let sc = [c];
        for case in 0..4 {
            for past in [0u64, 1] {
                let mut pkts = Vec::new();
                let mut t = 1_700_000_000 * NS;
                for (a, b) in &pairs {
                    let tmo = if a.proto == proto::TCP {
                        86_400 * NS
                    } else {
                        180 * NS
                    };
                    let mut push = |p, flags, ts| pkts.push(Pkt { p, flags, ts });
                    // Opened, replied to, served (the record then holds
                    // the connection), served each way from the record.
                    push(*a, 0x02, t);
                    push(a.reversed(), 0x12, t + MS);
                    push(*a, 0x10, t + 2 * MS);
                    push(*a, 0x10, t + 3 * MS);
                    push(a.reversed(), 0x10, t + 4 * MS);
                    let last = match case {
                        // At / past the idle timeout, each way.
                        0 => {
                            let at = t + 4 * MS + tmo + past;
                            push(*a, 0x10, at);
                            push(a.reversed(), 0x10, at + 1);
                            at + 1
                        }
                        // An RST from the record, then a reply at / past
                        // the closing timeout.
                        1 => {
                            push(*a, 0x14, t + 5 * MS);
                            let at = t + 5 * MS + 120 * NS + past;
                            push(a.reversed(), 0x10, at);
                            at
                        }
                        // Served from the record much later, evicted by
                        // the pair's record, then a reply at / past the
                        // timeout from the record's last packet.
                        2 => {
                            let late = t + tmo / 2;
                            push(*a, 0x10, late);
                            push(a.reversed(), 0x10, late + MS);
                            push(*b, 0x02, late + 2 * MS);
                            let at = late + MS + tmo + past;
                            push(a.reversed(), 0x10, at);
                            at
                        }
                        // The connection evicted by the pair's, then a
                        // packet each way.
                        _ => {
                            push(*b, 0x02, t + 5 * MS);
                            push(b.reversed(), 0x12, t + 6 * MS);
                            push(*a, 0x10, t + 7 * MS + past);
                            push(a.reversed(), 0x10, t + 8 * MS);
                            t + 8 * MS
                        }
                    };
                    t = last + 2 * tmo + NS;
                }
                pkts.sort_by_key(|k| k.ts);
                let bounds = match case {
                    2 => (4 << 20, 256),
                    3 => (256, 4 << 20),
                    _ => (4 << 20, 4 << 20),
                };
                let old = pass(&sc, &pkts, 2, bounds, true);
                for workers in [1, 3] {
                    let new = pass(&sc, &pkts, workers, bounds, false);
                    same(
                        &format!("seed {seed}, case {case}, past {past}, {workers} worker(s)"),
                        &old,
                        &new,
                    );
                }
            }
        }
        pairs_total += pairs.len();
    }
    assert!(pairs_total > 40, "{pairs_total} pairs");
}
