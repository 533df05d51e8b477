//! Connection tracking and flow records, sharded so that every result is
//! the same whatever the number of workers.
//!
//! The flow space is cut into [`SHARDS`] shards by a symmetric flow hash;
//! worker `w` of `n` owns the shards `s` with `s % n == w`. A shard's
//! behaviour (its capacity, what it evicts and when) depends only on the
//! packets of that shard, in input order, so one worker or sixteen produce
//! the same verdicts, counters and flow records.
//!
//! Both tables are bounded: a full shard evicts its oldest entry (insertion
//! order) and counts it. Expiry is lazy, driven by packet timestamps: an
//! entry whose idle gap exceeds its timeout is forgotten when its key is
//! next seen, when it reaches the front of the eviction queue, or at the end.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;

use zprsim_control::model::proto;
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::Tracking;

/// Number of shards of the flow space (fixed: results must not depend on
/// the number of workers).
pub const SHARDS: usize = 256;

/// TCP FIN flag.
pub const TCP_FIN: u8 = 0x01;
/// TCP RST flag.
pub const TCP_RST: u8 = 0x04;

const NS: u64 = 1_000_000_000;

/// Idle timeout of a connection or flow record (semantics §2b), in ns:
/// TCP 60 s, 86,400 s once both ways, 120 s once closing (FIN or RST,
/// whichever way); UDP 30 s, 180 s once both ways; ICMP and ICMPv6 15 s;
/// any other protocol 300 s.
///
/// Two reads of small constant tables ([`PROTO_CLASS`], [`TIMEOUTS`])
/// instead of a `match` on the protocol: an allowed packet of a known flow
/// takes it twice (its flow record's timeout and its connection's), and
/// the match was ~12 instructions and four branches each time (callgrind,
/// docs/benchmarks.md, twenty-ninth session). Equal to the match for every
/// protocol and flag (test `timeouts_match_the_rules`).
#[must_use]
#[inline]
pub fn timeout_ns(protocol: u8, both_directions: bool, closing: bool) -> u64 {
    let class = usize::from(PROTO_CLASS[usize::from(protocol)]) & 3;
    TIMEOUTS[class][usize::from(both_directions) | (usize::from(closing) << 1)]
}

/// Row of [`TIMEOUTS`] per protocol number: TCP 0, UDP 1, ICMP and
/// ICMPv6 2, anything else 3.
const PROTO_CLASS: [u8; 256] = {
    let mut t = [3u8; 256];
    t[proto::TCP as usize] = 0;
    t[proto::UDP as usize] = 1;
    t[proto::ICMP as usize] = 2;
    t[proto::ICMPV6 as usize] = 2;
    t
};

/// Idle timeouts per protocol class ([`PROTO_CLASS`]), indexed by
/// `both_directions | closing << 1` ([`timeout_ns`]).
const TIMEOUTS: [[u64; 4]; 4] = [
    // TCP: closing wins over both ways.
    [60 * NS, 86_400 * NS, 120 * NS, 120 * NS],
    // UDP: closing means nothing.
    [30 * NS, 180 * NS, 30 * NS, 180 * NS],
    [15 * NS; 4],
    [300 * NS; 4],
];

/// Whether `p` goes the reverse way of a flow's first packet (from
/// `first_src` to `first_dst`, transport `first_l4`): addresses swapped,
/// and for ports their ports swapped; a packet to itself is never a
/// reply. What makes a flow record (and `diff`'s flows) "both ways".
#[must_use]
#[inline]
pub fn reverses(p: &Packet, first_src: IpAddr, first_dst: IpAddr, first_l4: L4) -> bool {
    p.src == first_dst
        && p.dst == first_src
        && match (p.l4, first_l4) {
            (
                L4::Ports { sport, dport },
                L4::Ports {
                    sport: fs,
                    dport: fd,
                },
            ) => sport == fd && dport == fs && !(p.src == first_src && sport == fs),
            _ => p.src != first_src,
        }
}

/// The tuple connection tracking keys on, in canonical order (lower
/// address first), so both directions find one entry: protocol, addresses
/// and ports for TCP and UDP; protocol and addresses otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnKey {
    lo: IpAddr,
    hi: IpAddr,
    lo_port: u16,
    hi_port: u16,
    proto: u8,
}

impl ConnKey {
    /// The key of a packet and whether the packet goes from the key's
    /// `lo` side to its `hi` side. `None` for a non-first fragment, which
    /// belongs to no tracked connection.
    #[must_use]
    pub fn of(p: &Packet) -> Option<(ConnKey, bool)> {
        let (sp, dp) = match p.l4 {
            L4::Ports { sport, dport } => (sport, dport),
            L4::Icmp { .. } | L4::Opaque => (0, 0),
            L4::Fragment => return None,
        };
        let forward = (p.src, sp) <= (p.dst, dp);
        let k = if forward {
            ConnKey {
                lo: p.src,
                hi: p.dst,
                lo_port: sp,
                hi_port: dp,
                proto: p.proto,
            }
        } else {
            ConnKey {
                lo: p.dst,
                hi: p.src,
                lo_port: dp,
                hi_port: sp,
                proto: p.proto,
            }
        };
        Some((k, forward))
    }

    /// Its parts: the lower address, the higher one, their ports (0 for
    /// protocols without ports) and the protocol.
    #[must_use]
    pub fn parts(&self) -> (IpAddr, IpAddr, u16, u16, u8) {
        (self.lo, self.hi, self.lo_port, self.hi_port, self.proto)
    }

    /// The compact key of the state tables.
    #[must_use]
    pub(crate) fn state_key(&self) -> crate::state_table::StateKey {
        crate::state_table::StateKey::new(
            self.lo,
            self.hi,
            self.proto,
            Some((self.lo_port, self.hi_port)),
        )
    }

    /// The key that decides a packet's shard: the connection key, or for a
    /// non-first fragment its addresses and protocol.
    #[must_use]
    pub fn shard_key(p: &Packet) -> ConnKey {
        match ConnKey::of(p) {
            Some((k, _)) => k,
            None => {
                let (lo, hi) = if p.src <= p.dst {
                    (p.src, p.dst)
                } else {
                    (p.dst, p.src)
                };
                ConnKey {
                    lo,
                    hi,
                    lo_port: 0,
                    hi_port: 0,
                    proto: p.proto,
                }
            }
        }
    }
}

/// The shard of a packet, from a fixed hash of its shard key (the same in
/// every run). ICMP packets of any type land with the rest of their
/// addresses' protocol, as tracking needs.
///
/// The hash folds the key into one word and finishes it with MurmurHash3's
/// 64-bit mixer: the reader computes it for every packet, and this is
/// about 3x cheaper than feeding the key field by field to a `Hasher`.
#[must_use]
pub fn shard_of(p: &Packet) -> usize {
    // The top byte of the mixed word, below SHARDS (256).
    usize::from(shard_word(p).to_be_bytes()[0]) % SHARDS
}

/// The whole mixed word [`shard_of`] takes its top byte from: equal for
/// both directions of a connection, and (but for collisions) different
/// between connections, so a set of them counts the connections of a
/// sample of packets (the reader's share under
/// [`crate::engine::ReaderShare::Auto`]).
#[must_use]
pub(crate) fn shard_word(p: &Packet) -> u64 {
    let k = ConnKey::shard_key(p);
    let ports = (u64::from(k.lo_port) << 24) | (u64::from(k.hi_port) << 8) | u64::from(k.proto);
    let h = fold(k.lo) ^ fold(k.hi).rotate_left(29) ^ ports.rotate_left(47);
    mix64(h)
}

/// An address as one word (IPv6: both halves folded).
#[inline]
pub(crate) fn fold(a: IpAddr) -> u64 {
    match a {
        IpAddr::V4(x) => u64::from(u32::from(x)),
        IpAddr::V6(x) => {
            let b = x.octets();
            let mut hi = [0u8; 8];
            let mut lo = [0u8; 8];
            hi.copy_from_slice(&b[..8]);
            lo.copy_from_slice(&b[8..]);
            u64::from_be_bytes(hi) ^ u64::from_be_bytes(lo).rotate_left(32) ^ 0x6a09_e667_f3bc_c909
        }
    }
}

/// MurmurHash3's 64-bit finalizer.
#[inline]
pub(crate) fn mix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A tracked connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conn {
    /// What the opening packet left behind.
    pub tracking: Tracking,
    /// Direction of the opening packet (lo -> hi).
    pub initiator_forward: bool,
    /// Timestamp of the last packet that passed.
    pub last_ns: u64,
    /// A packet has passed in each direction.
    pub both: bool,
    /// A FIN or RST has passed in either direction.
    pub closing: bool,
}

impl Conn {
    /// Whether the connection has expired at time `now`.
    #[must_use]
    pub fn expired(&self, protocol: u8, now: u64) -> bool {
        now.saturating_sub(self.last_ns) > timeout_ns(protocol, self.both, self.closing)
    }
}

/// A bounded map with insertion-order eviction.
#[derive(Debug)]
pub struct Bounded<K, V> {
    map: HashMap<K, (V, u64), ahash::RandomState>,
    order: VecDeque<(K, u64)>,
    cap: usize,
    next_gen: u64,
}

impl<K: Hash + Eq + Copy, V> Bounded<K, V> {
    /// An empty map holding at most `cap` entries (at least 1).
    #[must_use]
    pub fn new(cap: usize) -> Self {
        Bounded {
            map: HashMap::with_hasher(ahash::RandomState::with_seeds(1, 2, 3, 4)),
            order: VecDeque::new(),
            cap: cap.max(1),
            next_gen: 0,
        }
    }

    /// The entry of a key.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k).map(|(v, _)| v)
    }

    /// Removes a key.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k).map(|(v, _)| v)
    }

    /// Inserts (the key must be absent); returns the entry evicted to make
    /// room, if any.
    pub fn insert(&mut self, k: K, v: V) -> Option<(K, V)> {
        let mut evicted = None;
        while self.map.len() >= self.cap {
            let Some((old, generation)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|(_, g)| *g == generation) {
                evicted = self.map.remove(&old).map(|(v, _)| (old, v));
                break;
            }
        }
        self.next_gen += 1;
        self.map.insert(k, (v, self.next_gen));
        self.order.push_back((k, self.next_gen));
        // Stale queue entries (keys removed by expiry) are dropped once they
        // outnumber live ones, so the queue stays O(cap).
        if self.order.len() > 2 * self.cap + 16 {
            let map = &self.map;
            self.order
                .retain(|(k, g)| map.get(k).is_some_and(|(_, mg)| mg == g));
        }
        evicted
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Takes every entry out, in insertion order.
    pub fn drain_ordered(&mut self) -> Vec<(K, V)> {
        // Sorting by generation avoids a random lookup per entry.
        let mut all: Vec<(u64, K, V)> = self.map.drain().map(|(k, (v, g))| (g, k, v)).collect();
        all.sort_unstable_by_key(|(g, _, _)| *g);
        self.order.clear();
        all.into_iter().map(|(_, k, v)| (k, v)).collect()
    }
}

/// New connection entry.
#[must_use]
pub fn new_conn(tracking: Tracking, initiator_forward: bool, now: u64, tcp_flags: u8) -> Conn {
    Conn {
        tracking,
        initiator_forward,
        last_ns: now,
        both: false,
        closing: tcp_flags & (TCP_FIN | TCP_RST) != 0,
    }
}

impl Conn {
    /// Records a packet that passed.
    pub fn touch(&mut self, now: u64, forward: bool, tcp_flags: u8) {
        self.last_ns = self.last_ns.max(now);
        if forward != self.initiator_forward {
            self.both = true;
        }
        if tcp_flags & (TCP_FIN | TCP_RST) != 0 {
            self.closing = true;
        }
    }
}

#[cfg(test)]
mod timeout_tests {
    use super::*;

    /// The rules of semantics §2b, as a `match` (what [`timeout_ns`] was).
    fn by_rules(protocol: u8, both: bool, closing: bool) -> u64 {
        match protocol {
            proto::TCP if closing => 120 * NS,
            proto::TCP if both => 86_400 * NS,
            proto::TCP => 60 * NS,
            proto::UDP if both => 180 * NS,
            proto::UDP => 30 * NS,
            proto::ICMP | proto::ICMPV6 => 15 * NS,
            _ => 300 * NS,
        }
    }

    #[test]
    fn timeouts_match_the_rules() {
        for p in 0..=u8::MAX {
            for both in [false, true] {
                for closing in [false, true] {
                    assert_eq!(
                        timeout_ns(p, both, closing),
                        by_rules(p, both, closing),
                        "protocol {p}, both {both}, closing {closing}"
                    );
                }
            }
        }
        assert_eq!(timeout_ns(proto::TCP, true, false), 86_400 * NS);
        assert_eq!(timeout_ns(proto::UDP, false, true), 30 * NS);
    }
}
