//! A capture that starts mid-connection: a record opened on the
//! connection's reply holds the connection in the connection's direction
//! (`engine::flows`, `FLIPPED`), and changes nothing that comes out.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use zprsim_control::compile::Compiled;
use zprsim_control::packet::Packet;

use super::Judge;
use crate::conntrack::{SHARDS, TCP_FIN};
use crate::engine::flows::{self, FlowRecord, Flows};
use crate::engine::spool::SpoolError;
use crate::engine::{EngineConfig, Item};
use crate::judge::Counters;
use crate::state_table::{KeyHasher, Keys};

const WEB: Ipv4Addr = Ipv4Addr::new(10, 77, 1, 10);
const DB: Ipv4Addr = Ipv4Addr::new(10, 77, 2, 10);
const NS: u64 = 1_000_000_000;

/// A TCP packet between web (port `port`) and db:5432, from db when
/// `from_db`, in shard 5.
fn item(from_db: bool, port: u16, ts_ns: u64, tcp_flags: u8) -> Item {
    let (web, db) = (IpAddr::V4(WEB), IpAddr::V4(DB));
    let p = if from_db {
        Packet::tcp(db, 5432, web, port)
    } else {
        Packet::tcp(web, port, db, 5432)
    };
    Item {
        packet: p,
        tcp_flags,
        tcp_header_cut: false,
        ts_ns,
        wire_len: 60 + u32::from(from_db),
        shard: 5,
        keys: Keys::of(&p),
    }
}

/// The packets of web:`port` -> db:5432 from the handshake's reply on
/// (the capture started after the SYN), both ways, from `t0`; a FIN at
/// the end when `fin`.
fn mid_flow(port: u16, t0: u64, n: u64, fin: bool) -> Vec<Item> {
    let mut v = vec![item(true, port, t0, 0x12), item(false, port, t0 + 1, 0x10)];
    for i in 0..n {
        v.push(item(i % 3 == 0, port, t0 + 2 + i, 0x18));
    }
    if fin {
        v.push(item(false, port, t0 + 2 + n, 0x10 | TCP_FIN));
        v.push(item(true, port, t0 + 3 + n, 0x10 | TCP_FIN));
    }
    v
}

/// Every packet through `j`: the verdict codes.
fn run(
    j: &mut Judge<()>,
    items: &[Item],
    hasher: &KeyHasher,
    after: &mut dyn FnMut(usize, &Judge<()>),
) -> Vec<u8> {
    items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let fh = hasher.hash(&it.keys.flow);
            let code = j.packet(it, fh, it.keys.exact, hasher).0;
            after(i, j);
            code
        })
        .collect()
}

/// The counters and the flow log at the end.
fn end(j: Judge<()>) -> (Counters, Vec<FlowRecord>) {
    let (mut sizes, mut rules) = (Vec::new(), Vec::new());
    let (counters, kept, top) = j.end(&mut sizes, &mut rules);
    let mut log = Vec::new();
    flows::merge_ordered(vec![kept], &|| false, &mut |r| {
        log.push(r);
        Ok::<(), SpoolError>(())
    })
    .unwrap();
    log.extend(top);
    (counters, log)
}

/// A judge of `c` that can hold in the connection's direction, and one
/// that cannot (its records never held so: the unheld path).
fn judges(c: &Arc<Compiled>, cfg: &EngineConfig) -> (Judge<()>, Judge<()>) {
    let held = Judge::<()>::new(c, cfg, 0);
    let mut plain = Judge::<()>::new(c, cfg, 0);
    plain.flows = Flows::new(
        cfg.max_flow_records,
        cfg.keep_flows,
        cfg.flow_spool,
        None,
        cfg.top_flows,
        None,
    );
    (held, plain)
}

/// A case: its name, the bounds on records and connections per shard (0:
/// the default), and its flows in order (web's port, first time, a FIN).
type Case = (&'static str, (usize, usize), &'static [(u16, u64, bool)]);

/// A record opened on a connection's reply (dropped as a first packet;
/// the connection made by the next packet, the other way) holds the
/// connection in the connection's direction once both ways are cached,
/// and serves both directions from itself: every verdict, counter and
/// flow record (its first packet's decision, judged again when it stops
/// holding) is that of the record that cannot hold. Closed at the end
/// while held, across an idle timeout, evicted by a new record in its
/// shard, and with its connection evicted by a new one.
#[test]
fn a_record_opened_mid_connection_holds_and_changes_nothing() {
    let c = super::tests::lab();
    let hasher = KeyHasher::default();
    let cases: [Case; 4] = [
        ("open at the end", (0, 0), &[(40_000, NS, false)]),
        (
            "idle timeout crossed",
            (0, 0),
            &[(40_000, NS, false), (40_000, 100_000 * NS, true)],
        ),
        (
            "record evicted",
            (1, 0),
            &[
                (40_000, NS, false),
                (40_001, 2 * NS, true),
                (40_000, 3 * NS, false),
            ],
        ),
        (
            "connection evicted",
            (0, 1),
            &[
                (40_000, NS, false),
                (40_001, 2 * NS, false),
                (40_000, 3 * NS, true),
            ],
        ),
    ];
    for (name, (records, conns), spec) in cases {
        let defaults = EngineConfig::default();
        let cfg = EngineConfig {
            keep_flows: true,
            top_flows: 4,
            max_flow_records: if records == 0 {
                defaults.max_flow_records
            } else {
                records * SHARDS
            },
            max_connections: if conns == 0 {
                defaults.max_connections
            } else {
                conns * SHARDS
            },
            ..defaults
        };
        let items: Vec<Item> = spec
            .iter()
            .flat_map(|&(port, t0, fin)| mid_flow(port, t0, 30, fin))
            .collect();
        let (mut held, mut plain) = judges(&c, &cfg);
        let mut flipped = 0;
        let held_codes = run(&mut held, &items, &hasher, &mut |_, j| {
            flipped = flipped.max(j.flows.holding().1);
        });
        let plain_codes = run(&mut plain, &items, &hasher, &mut |_, j| {
            assert_eq!(
                j.flows.holding().1,
                0,
                "{name}: the plain judge never flips"
            );
        });
        assert_ne!(
            held_codes[0], 0,
            "{name}: the reply is dropped as a first packet"
        );
        assert_eq!(
            held_codes[1], 0,
            "{name}: the next packet makes the connection"
        );
        assert_eq!(held_codes, plain_codes, "{name}: verdicts");
        assert!(
            flipped > 0,
            "{name}: the record held in the connection's direction"
        );
        let (hc, hlog) = end(held);
        let (pc, plog) = end(plain);
        assert_eq!(hc, pc, "{name}: counters");
        assert!(!hlog.is_empty());
        assert_eq!(hlog, plog, "{name}: flow records");
        assert!(
            hlog.iter().all(|r| r.first.verdict == r.verdict),
            "{name}: each record's first decision is its first packet's"
        );
    }
}
