//! A record that cannot hold its connection tries again only after a
//! packet of the slow path ([`super::HOLD_TRIED`]).

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};

use zprsim_control::packet::Packet;

use super::{Flows, Open, Side};
use crate::engine::Item;
use crate::judge::{Counters, HeldConn};
use crate::state_table::{Hint, KeyHasher, Keys, Slot};

const ALLOWED: Side = Side {
    code: 0,
    audit: false,
    rules: [None; 5],
};

/// A TCP packet from 10.0.0.1:40000 to 10.0.0.2:443 (or back), at `ts_ns`.
fn item(back: bool, ts_ns: u64) -> Item {
    let (a, b) = (
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
    );
    let p = if back {
        Packet::tcp(b, 443, a, 40_000)
    } else {
        Packet::tcp(a, 40_000, b, 443)
    };
    Item {
        packet: p,
        tcp_flags: 0x10,
        tcp_header_cut: false,
        ts_ns,
        wire_len: 64,
        shard: 3,
        keys: Keys::of(&p),
    }
}

/// The connection as the tracker would hold it for the record opened by
/// [`item`]`(false, 1)`, its initiator `forward` (in the key's order)
/// and its last time `last_ns`; both directions allowed with no rule.
fn conn(forward: bool, last_ns: u64) -> HeldConn {
    HeldConn {
        initiator_forward: forward,
        state: (last_ns, false, false),
        allowed: [Some((false, [None; 5])), None],
    }
}

/// What [`Flows::known_drop`] finds for `it`: the live record's slot.
fn live(f: &mut Flows<()>, it: &Item, h: u64) -> Slot {
    let mut c = Counters::default();
    match f.known_drop(it, (&it.keys.flow, h), (true, it.keys.forward()), &mut c) {
        Err(Open::Live(slot, _)) => slot,
        other => panic!("not a live record that holds nothing: {other:?}"),
    }
}

/// `it` allowed on the slow path ([`Flows::packet`]), its record `found`
/// or none, with a connection held after it.
fn slow(f: &mut Flows<()>, it: &Item, h: u64, found: Option<Slot>) {
    let mut c = Counters::default();
    let (key, forward) = (&it.keys.flow, it.keys.forward());
    f.packet(it, key, h, found, ALLOWED, (forward, true, true), &mut c);
}

#[test]
fn a_record_that_cannot_hold_tries_again_only_after_the_slow_path() {
    let mut f = Flows::<()>::new(1024, false, 16, None, 0, None);
    let h = KeyHasher::default().hash(&item(false, 1).keys.flow);
    let first = item(false, 1);
    let forward = first.keys.forward();
    let mut c = Counters::default();
    // Opened by an allowed first packet with its connection.
    slow(&mut f, &first, h, None);
    // Served through the tracker: may try; the connection's initiator is
    // the other direction (a record opened by a packet the tracker did
    // not make the connection with), so it cannot hold.
    let it = item(false, 2);
    let slot = live(&mut f, &it, h);
    assert!(f.allowed_live(&it, slot, forward, ALLOWED, Hint::NONE));
    f.hold(it.shard, slot, &conn(!forward, 2));
    // The next packets served through the tracker do not try again.
    for ts in 3..6 {
        let it = item(false, ts);
        let slot = live(&mut f, &it, h);
        assert!(!f.allowed_live(&it, slot, forward, ALLOWED, Hint::NONE));
    }
    // A packet of the slow path (judged again): the record tries again,
    // and holds a connection whose state is its own.
    let it = item(false, 6);
    let slot = live(&mut f, &it, h);
    slow(&mut f, &it, h, Some(slot));
    let it = item(false, 7);
    let slot = live(&mut f, &it, h);
    assert!(f.allowed_live(&it, slot, forward, ALLOWED, Hint::NONE));
    f.hold(it.shard, slot, &conn(forward, 7));
    // Held: the first direction is served from the record alone.
    let it = item(false, 8);
    assert!(
        f.known_drop(&it, (&it.keys.flow, h), (true, forward), &mut c)
            .is_ok()
    );
    // A reply it does not hold hands the connection back; served through
    // the tracker, it does not hold again until the slow path.
    let it = item(true, 9);
    let Err(Open::Held(slot, _)) =
        f.known_drop(&it, (&it.keys.flow, h), (true, it.keys.forward()), &mut c)
    else {
        panic!("a reply of a connection held one way only is handed back");
    };
    assert_eq!(
        f.take_held(it.shard, &it.keys.flow, slot),
        Some((8, false, false))
    );
    let slot = live(&mut f, &it, h);
    assert!(!f.allowed_live(&it, slot, it.keys.forward(), ALLOWED, Hint::NONE));
}
