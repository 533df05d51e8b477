//! The compact state table of one shard: connection entries (in
//! [`crate::judge::Tracker`]) and open flow records (in the engine's flow
//! log) each live in one of these per shard.
//!
//! Layout (docs/architecture.md §6.2, "State tables"):
//!
//! - **Compact keys, IPv4 fast path.** A key is the canonical tuple of
//!   Community ID / connection tracking: two addresses, the ports (or ICMP
//!   type pair) packed in a `u32`, the protocol and a flag byte. IPv4 keys
//!   ([`Key4`], 16 bytes) and IPv6 keys ([`Key6`], 40 bytes) live in two
//!   sub-tables, so an IPv4 entry does not pay for IPv6 addresses.
//! - **Open addressing.** Each sub-table is an index of `u64` slots (linear
//!   probing; a slot packs the high 32 bits of the key's hash, which also
//!   pick its home slot, and the entry's position + 1; 0 is empty) over a
//!   dense vector of entries. A look-up is one hash and, in the common
//!   case, one index slot and one entry read; the tag spares reading
//!   entries whose hash differs. Removal shifts the following slots back
//!   (no tombstones), and the entry vector stays dense (the last entry
//!   moves into the hole).
//! - **Bounded, sized from the bound.** A table holds at most `cap` entries
//!   (its shard's share of `--max-connections` or `--max-flow-records`);
//!   the index never exceeds `next_power_of_two(2 × cap)` slots, so its
//!   load stays at or below 1/2 and every probe ends at an empty slot. The
//!   index and the entries grow by doubling up to that size rather than
//!   being allocated whole up front: with the default bounds (4M per
//!   table) a fully pre-sized index would be 64 MiB per table and scenario,
//!   made resident as soon as entries scatter over it; grown, memory
//!   follows the live entries.
//! - **Intrusive insertion order.** Entries are linked oldest to newest
//!   (`prev`/`next` positions) and carry a generation number: a full table
//!   evicts its oldest entry (the older of the two sub-tables' heads), which
//!   is exactly the insertion-order eviction of [`crate::conntrack::Bounded`]
//!   it replaces, without a side queue of stale keys.
//!
//! INVARIANT: `index.len()` is a power of two and at least `2 × len`;
//! every entry has exactly one index slot, reachable from its home slot
//! without crossing an empty one; the list from `head` through `next`
//! visits every entry once, in increasing generation; every entry's key
//! hashes to the `h` it was inserted with ([`KeyHasher`], one fixed-seed
//! function: a removal finds the entry's slot by hashing its key again).

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use zprsim_control::packet::{L4, Packet};

use crate::parse::{Plain, PlainAddrs};

const NIL: u32 = u32::MAX;

/// Entries per table at most (positions are `u32`, `NIL` reserved).
const MAX_CAP: usize = 1 << 30;

/// Index slots a table starts with (grows by doubling up to its bound).
const INITIAL_INDEX: usize = 64;

/// Entries a sub-table reserves room for at its first insert (at most its
/// bound): 4,096 covers a million live flows over the 256 shards.
const PRESIZED_ENTRIES: usize = 4096;

/// An IPv4 key: 16 bytes.
#[derive(Debug, Clone, Copy, Eq)]
pub(crate) struct Key4 {
    a: u32,
    b: u32,
    ports: u32,
    proto: u8,
    flags: u8,
}

impl PartialEq for Key4 {
    /// Every field, without a branch per field (the derived comparison
    /// branched five times on every probe that met a tag).
    #[inline]
    fn eq(&self, o: &Key4) -> bool {
        (self.a == o.a)
            & (self.b == o.b)
            & (self.ports == o.ports)
            & (self.proto == o.proto)
            & (self.flags == o.flags)
    }
}

/// An IPv6 key (or, never from a parsed frame, a pair of mixed families).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key6 {
    a: [u8; 16],
    b: [u8; 16],
    ports: u32,
    proto: u8,
    flags: u8,
}

/// `flags`: the key has ports (TCP/UDP ports or an ICMP type pair).
const HAS_PORTS: u8 = 1;
/// `flags` of a [`Key6`]: `a` is an IPv4 address (mapped).
const A_V4: u8 = 2;
/// `flags` of a [`Key6`]: `b` is an IPv4 address (mapped).
const B_V4: u8 = 4;

/// A compact, exact key: two addresses in a fixed order, the protocol and
/// optional ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StateKey {
    /// Both addresses IPv4.
    V4(Key4),
    /// Otherwise.
    V6(Key6),
}

impl StateKey {
    /// The key of `(a, b, proto, ports)`, in that order (the caller
    /// canonicalises).
    #[must_use]
    pub(crate) fn new(a: IpAddr, b: IpAddr, proto: u8, ports: Option<(u16, u16)>) -> StateKey {
        let (ports, flags) = match ports {
            Some((x, y)) => ((u32::from(x) << 16) | u32::from(y), HAS_PORTS),
            None => (0, 0),
        };
        match (a, b) {
            (IpAddr::V4(a), IpAddr::V4(b)) => StateKey::V4(Key4 {
                a: u32::from(a),
                b: u32::from(b),
                ports,
                proto,
                flags,
            }),
            _ => {
                let (a, fa) = v6_bytes(a);
                let (b, fb) = v6_bytes(b);
                StateKey::V6(Key6 {
                    a,
                    b,
                    ports,
                    proto,
                    flags: flags | if fa { A_V4 } else { 0 } | if fb { B_V4 } else { 0 },
                })
            }
        }
    }

    /// The addresses, in the key's order.
    #[must_use]
    pub(crate) fn addrs(&self) -> (IpAddr, IpAddr) {
        match self {
            StateKey::V4(k) => (
                IpAddr::V4(Ipv4Addr::from(k.a)),
                IpAddr::V4(Ipv4Addr::from(k.b)),
            ),
            StateKey::V6(k) => (
                from_v6_bytes(k.a, k.flags & A_V4 != 0),
                from_v6_bytes(k.b, k.flags & B_V4 != 0),
            ),
        }
    }

    /// Whether `ip` is the key's first address: `addrs().0 == *ip`, without
    /// making the `IpAddr`s of an IPv4 key.
    #[inline]
    #[must_use]
    pub(crate) fn first_is(&self, ip: &IpAddr) -> bool {
        match (self, ip) {
            (StateKey::V4(k), IpAddr::V4(x)) => k.a == u32::from(*x),
            _ => self.addrs().0 == *ip,
        }
    }

    /// The protocol.
    #[must_use]
    pub(crate) fn proto(&self) -> u8 {
        match self {
            StateKey::V4(k) => k.proto,
            StateKey::V6(k) => k.proto,
        }
    }

    /// The ports, in the key's order.
    #[must_use]
    pub(crate) fn ports(&self) -> Option<(u16, u16)> {
        let (ports, flags) = match self {
            StateKey::V4(k) => (k.ports, k.flags),
            StateKey::V6(k) => (k.ports, k.flags),
        };
        let [p0, p1, p2, p3] = ports.to_be_bytes();
        (flags & HAS_PORTS != 0)
            .then(|| (u16::from_be_bytes([p0, p1]), u16::from_be_bytes([p2, p3])))
    }
}

/// A packet's keys: its flow key (Community ID's order, ICMP type pairs as
/// ports), and its connection key with the packet's direction (`true`:
/// from the key's first side), `None` for a non-first fragment. Built
/// straight from the packet (no [`FlowKey`](crate::community_id::FlowKey)
/// or [`ConnKey`](crate::conntrack::ConnKey) on the way) for the common
/// cases; for TCP and UDP the two keys are one value, so one hash serves
/// both tables. Equal, by construction and by test, to the keys made
/// through those types.
#[must_use]
pub(crate) fn packet_keys(p: &Packet) -> (StateKey, Option<(StateKey, bool)>) {
    use zprsim_control::model::proto;
    let icmp = p.proto == proto::ICMP || p.proto == proto::ICMPV6;
    // IPv4 TCP and UDP, most packets: the key built in place.
    // Matched through references: a tuple of the values made the
    // compiler copy both `IpAddr`s and the `L4` first (~75 instructions a
    // packet under callgrind, docs/benchmarks.md).
    if let (IpAddr::V4(a), IpAddr::V4(b), &L4::Ports { sport, dport }, false) =
        (&p.src, &p.dst, &p.l4, icmp)
    {
        return v4_ports_keys(u32::from(*a), u32::from(*b), sport, dport, p.proto);
    }
    // IPv4 ICMP: FlowKey's and ConnKey's rules on the numbers (their
    // general form compares `IpAddr`s byte by byte: ~490 instructions a
    // packet, docs/benchmarks.md, eleventh pass).
    if let (IpAddr::V4(a), IpAddr::V4(b), &L4::Icmp { icmp_type, code }, true) =
        (&p.src, &p.dst, &p.l4, icmp)
    {
        return v4_icmp_keys(u32::from(*a), u32::from(*b), icmp_type, code, p.proto);
    }
    let order = match (p.src, p.dst) {
        (IpAddr::V4(a), IpAddr::V4(b)) => u32::from(a).cmp(&u32::from(b)),
        (IpAddr::V6(a), IpAddr::V6(b)) => a.octets().cmp(&b.octets()),
        _ => return slow_keys(p),
    };
    match p.l4 {
        L4::Ports { sport, dport } if !icmp => {
            // (src, sport) <= (dst, dport): the connection's order, which
            // for TCP and UDP is also the flow key's.
            let forward = order.then(sport.cmp(&dport)).is_le();
            let k = if forward {
                StateKey::new(p.src, p.dst, p.proto, Some((sport, dport)))
            } else {
                StateKey::new(p.dst, p.src, p.proto, Some((dport, sport)))
            };
            (k, Some((k, forward)))
        }
        L4::Opaque if !icmp => {
            let forward = order.is_le();
            let (lo, hi) = if forward {
                (p.src, p.dst)
            } else {
                (p.dst, p.src)
            };
            let flow = if order.is_lt() {
                StateKey::new(p.src, p.dst, p.proto, None)
            } else {
                StateKey::new(p.dst, p.src, p.proto, None)
            };
            (
                flow,
                Some((StateKey::new(lo, hi, p.proto, Some((0, 0))), forward)),
            )
        }
        L4::Fragment => {
            let flow = if order.is_lt() {
                StateKey::new(p.src, p.dst, p.proto, None)
            } else {
                StateKey::new(p.dst, p.src, p.proto, None)
            };
            (flow, None)
        }
        _ => slow_keys(p),
    }
}

/// A TCP or UDP packet's addresses and ports in the connection's order,
/// `(src, sport) <= (dst, dport)`, which for TCP and UDP is also the flow
/// key's: the lower end, the higher end, both ports as one word, and
/// whether the packet goes forward.
#[inline(always)]
fn port_order<A: Ord + Copy>(src: A, dst: A, sport: u16, dport: u16) -> (A, A, u32, bool) {
    let forward = (src, sport) <= (dst, dport);
    let (a, b, sport, dport) = if forward {
        (src, dst, sport, dport)
    } else {
        (dst, src, dport, sport)
    };
    (a, b, (u32::from(sport) << 16) | u32::from(dport), forward)
}

/// [`packet_keys`] of an IPv4 TCP or UDP packet from its numbers
/// (`proto` not ICMP): the flow key is the connection key.
#[inline]
fn v4_ports_keys(
    src: u32,
    dst: u32,
    sport: u16,
    dport: u16,
    proto: u8,
) -> (StateKey, Option<(StateKey, bool)>) {
    let (a, b, ports, forward) = port_order(src, dst, sport, dport);
    let k = StateKey::V4(Key4 {
        a,
        b,
        ports,
        proto,
        flags: HAS_PORTS,
    });
    (k, Some((k, forward)))
}

/// [`v4_ports_keys`] for IPv6 addresses given as numbers (the big-endian
/// octets as a `u128`, which orders as the octets do).
#[inline]
fn v6_ports_keys(
    src: u128,
    dst: u128,
    sport: u16,
    dport: u16,
    proto: u8,
) -> (StateKey, Option<(StateKey, bool)>) {
    let (a, b, ports, forward) = port_order(src, dst, sport, dport);
    let k = StateKey::V6(Key6 {
        a: a.to_be_bytes(),
        b: b.to_be_bytes(),
        ports,
        proto,
        flags: HAS_PORTS,
    });
    (k, Some((k, forward)))
}

/// [`packet_keys`] of an IPv4 ICMP or ICMPv6 packet from its numbers:
/// the flow key is Community ID's (a request/reply type pair as ports,
/// else type and code, one-way, in the packet's order), the connection
/// key the addresses in order with ports 0 and 0.
#[inline]
fn v4_icmp_keys(
    src: u32,
    dst: u32,
    icmp_type: u8,
    code: u8,
    proto: u8,
) -> (StateKey, Option<(StateKey, bool)>) {
    use zprsim_control::model::proto as p;
    let counterpart = if proto == p::ICMP {
        crate::community_id::icmp4_counterpart(icmp_type)
    } else {
        crate::community_id::icmp6_counterpart(icmp_type)
    };
    let ((x, y), one_way) = match counterpart {
        Some(c) => ((u16::from(icmp_type), u16::from(c)), false),
        None => ((u16::from(icmp_type), u16::from(code)), true),
    };
    let ordered = one_way || src < dst || (src == dst && x < y);
    let (a, b, x, y) = if ordered {
        (src, dst, x, y)
    } else {
        (dst, src, y, x)
    };
    let flow = StateKey::V4(Key4 {
        a,
        b,
        ports: (u32::from(x) << 16) | u32::from(y),
        proto,
        flags: HAS_PORTS,
    });
    let (conn, forward) = v4_portless_conn(src, dst, proto);
    (flow, Some((conn, forward)))
}

/// The connection key of an IPv4 packet without ports (ICMP, or a
/// protocol without them: [`ConnKey`](crate::conntrack::ConnKey) gives it
/// ports 0 and 0) and the packet's direction in it.
#[inline]
fn v4_portless_conn(src: u32, dst: u32, proto: u8) -> (StateKey, bool) {
    let forward = src <= dst;
    let (a, b) = if forward { (src, dst) } else { (dst, src) };
    let k = StateKey::V4(Key4 {
        a,
        b,
        ports: 0,
        proto,
        flags: HAS_PORTS,
    });
    (k, forward)
}

/// A packet's keys as the engine's worker uses them: [`packet_keys`], and
/// whether the connection key is the flow key (TCP and UDP), so one hash
/// serves both tables and no key is compared to find that out.
///
/// Compact (the engine's worker keeps a few packets in flight): the
/// connection key itself is kept only as "it is the flow key"; when it is
/// not (ICMP, other protocols), [`Keys::conn`] makes it again from the
/// packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keys {
    /// The flow key.
    pub(crate) flow: StateKey,
    /// The packet's direction in its connection key's order (`None`: it
    /// has no connection key, a non-first fragment).
    forward: Option<bool>,
    /// The connection key is `flow`.
    pub(crate) same: bool,
    /// The key and direction fix every field of the packet the compiled
    /// table reads, and the connection key is the flow key: TCP or UDP
    /// with ports not both 0 (an opaque packet's connection key has ports
    /// 0 and 0 too, and such a connection would not be the flow record's).
    /// What lets a flow record serve the packet's verdict
    /// (`engine/flows.rs`, `Flows::known_drop`).
    pub(crate) exact: bool,
}

impl Keys {
    /// The keys of any packet.
    #[must_use]
    pub(crate) fn of(p: &Packet) -> Keys {
        use zprsim_control::model::proto;
        let (flow, conn) = packet_keys(p);
        let same = conn.is_some_and(|c| c.0 == flow);
        Keys {
            flow,
            forward: conn.map(|c| c.1),
            same,
            exact: same
                && matches!(p.l4, L4::Ports { sport, dport } if sport | dport != 0)
                && p.proto != proto::ICMP
                && p.proto != proto::ICMPV6,
        }
    }

    /// The packet's direction in its connection key's order (`false` when
    /// it has none: a non-first fragment).
    #[inline]
    #[must_use]
    pub(crate) fn forward(&self) -> bool {
        self.forward.unwrap_or(false)
    }

    /// The connection key and direction of `p`, the packet these are the
    /// keys of ([`packet_keys`]`(p).1`), with the key `None` when it is
    /// [`Keys::flow`] (not copied).
    ///
    /// The common case (TCP, UDP: the flow key) inline, the others out of
    /// line: called, the whole function was ~20 instructions a packet
    /// for a flag and a copy (callgrind, twenty-eighth session).
    #[inline(always)]
    #[must_use]
    pub(crate) fn conn(&self, p: &Packet) -> Option<(Option<StateKey>, bool)> {
        if self.same {
            return self.forward.map(|f| (None, f));
        }
        Keys::other_conn(p)
    }

    /// [`Keys::conn`] of a packet whose connection key is not its flow key.
    #[inline(never)]
    fn other_conn(p: &Packet) -> Option<(Option<StateKey>, bool)> {
        match (&p.src, &p.dst, &p.l4) {
            (IpAddr::V4(a), IpAddr::V4(b), L4::Icmp { .. } | L4::Opaque) => {
                let (k, f) = v4_portless_conn(u32::from(*a), u32::from(*b), p.proto);
                Some((Some(k), f))
            }
            _ => crate::conntrack::ConnKey::of(p).map(|(k, f)| (Some(k.state_key()), f)),
        }
    }

    /// The keys of a plain TCP or UDP packet ([`crate::parse::plain_then`]),
    /// from its numbers, without making its `IpAddr`s: equal to
    /// [`Keys::of`] its packet (by construction and by test).
    #[inline]
    #[must_use]
    pub(crate) fn plain(t: &Plain) -> Keys {
        let (flow, conn) = match t.addrs {
            PlainAddrs::V4(src, dst) => v4_ports_keys(src, dst, t.sport, t.dport, t.proto),
            PlainAddrs::V6(src, dst) => v6_ports_keys(src, dst, t.sport, t.dport, t.proto),
        };
        Keys {
            flow,
            forward: conn.map(|c| c.1),
            same: true,
            // `plain` reads only TCP and UDP.
            exact: t.sport | t.dport != 0,
        }
    }
}

/// [`packet_keys`] through [`FlowKey`](crate::community_id::FlowKey) and
/// [`ConnKey`](crate::conntrack::ConnKey): ICMP (type pairs) and pairs of
/// mixed families.
fn slow_keys(p: &Packet) -> (StateKey, Option<(StateKey, bool)>) {
    let f = crate::community_id::FlowKey::of(p);
    let flow = StateKey::new(f.a, f.b, f.proto, f.ports);
    let conn = crate::conntrack::ConnKey::of(p).map(|(k, fwd)| (k.state_key(), fwd));
    (flow, conn)
}

fn v6_bytes(a: IpAddr) -> ([u8; 16], bool) {
    match a {
        IpAddr::V4(x) => (x.to_ipv6_mapped().octets(), true),
        IpAddr::V6(x) => (x.octets(), false),
    }
}

fn from_v6_bytes(b: [u8; 16], v4: bool) -> IpAddr {
    let x = Ipv6Addr::from(b);
    match x.to_ipv4_mapped() {
        Some(a) if v4 => IpAddr::V4(a),
        _ => IpAddr::V6(x),
    }
}

impl Hash for Key4 {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // Two words: cheaper for the hasher than five fields.
        h.write_u64((u64::from(self.a) << 32) | u64::from(self.b));
        h.write_u64(
            (u64::from(self.ports) << 16) | (u64::from(self.proto) << 8) | u64::from(self.flags),
        );
    }
}

impl Hash for Key6 {
    fn hash<H: Hasher>(&self, h: &mut H) {
        h.write_u128(u128::from_be_bytes(self.a));
        h.write_u128(u128::from_be_bytes(self.b));
        h.write_u64(
            (u64::from(self.ports) << 16) | (u64::from(self.proto) << 8) | u64::from(self.flags),
        );
    }
}

/// The hash of state keys: `ahash` with fixed seeds, the same in every
/// worker and run (the rule statistics count distinct flows by it, and
/// the union over workers needs one function). Outputs never depend on it:
/// a table compares whole keys, and its eviction order is the insertion
/// order.
#[derive(Debug, Clone)]
pub(crate) struct KeyHasher(ahash::RandomState);

/// The one [`KeyHasher`]: every table's keys are hashed with it, so a
/// table can hash an entry's key again ([`TableKey::rehash`]) and find
/// the index slot its caller placed it in.
const KEY_HASHER: KeyHasher = KeyHasher(ahash::RandomState::with_seeds(
    0x243f_6a88_85a3_08d3,
    0x1319_8a2e_0370_7344,
    0xa409_3822_299f_31d0,
    0x082e_fa98_ec4e_6c89,
));

impl Default for KeyHasher {
    fn default() -> Self {
        KEY_HASHER
    }
}

/// A sub-table's key type: its hash again, [`KeyHasher::hash`] of the
/// key as a [`StateKey`] (what every caller passes as `h`).
trait TableKey: Copy + Eq {
    fn rehash(&self) -> u64;
}

impl TableKey for Key4 {
    fn rehash(&self) -> u64 {
        KEY_HASHER.0.hash_one(self)
    }
}

impl TableKey for Key6 {
    fn rehash(&self) -> u64 {
        KEY_HASHER.0.hash_one(self)
    }
}

impl KeyHasher {
    /// The 64-bit hash of a key.
    #[inline]
    #[must_use]
    pub(crate) fn hash(&self, k: &StateKey) -> u64 {
        match k {
            StateKey::V4(k) => self.0.hash_one(k),
            StateKey::V6(k) => self.0.hash_one(k),
        }
    }
}

/// Asks the CPU to bring the cache line at `p` in, without waiting for
/// it: a hint that changes nothing the program sees (a no-op off x86_64).
///
/// By hand because no maintained crate wraps the one intrinsic; used by
/// [`ShardTable::prefetch`], which the engine's worker calls a few packets
/// ahead so that the index misses of new flows overlap.
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: `_mm_prefetch` is only a hint to the cache: it never faults
    // and reads nothing the program observes, whatever the address (here
    // within a live allocation or up to one entry past its end, or the dangling non-null
    // pointer of an empty `Vec`: the pointer is only made with
    // `wrapping_add`, never dereferenced). Its one requirement is the SSE
    // target feature, part of every x86_64 CPU's baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The high half of a hash: the tag an index slot keeps, and its home.
#[inline]
#[allow(clippy::cast_possible_truncation)] // the high 32 bits of a u64 fit a u32
fn high(h: u64) -> u32 {
    (h >> 32) as u32
}

/// The entry position an index slot points to (`slot` non-zero).
#[inline]
#[allow(clippy::cast_possible_truncation)] // the low 32 bits, by construction
fn slot_entry(slot: u64) -> usize {
    (slot as u32).wrapping_sub(1) as usize
}

#[inline]
fn make_slot(hi: u32, entry: usize) -> u64 {
    // entry < MAX_CAP < u32::MAX, so entry + 1 fits the low half.
    (u64::from(hi) << 32) | (entry as u64 + 1)
}

fn to_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(NIL)
}

/// One entry: its key and value, and its place in the insertion order.
///
/// Key first, then the value (`repr(C)`): a probe compares the key and
/// then reads the value's first fields, which a flow record keeps for its
/// per-packet work (`engine/flows.rs`, `FlowState`), so both are in the
/// entry's first cache lines; the order and links, read only when entries
/// come and go, last.
///
/// No copy of the hash's tag (the index slot holds it): a removal hashes
/// the key again to find the slot ([`TableKey::rehash`]), so that a flow
/// record's entry is 128 bytes, two cache lines, where the tag made it
/// 144 (docs/benchmarks.md, thirty-fourth session).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Entry<K, V> {
    key: K,
    value: V,
    generation: u64,
    prev: u32,
    next: u32,
}

impl From<Key4> for StateKey {
    fn from(k: Key4) -> StateKey {
        StateKey::V4(k)
    }
}

impl From<Key6> for StateKey {
    fn from(k: Key6) -> StateKey {
        StateKey::V6(k)
    }
}

/// One sub-table (one key type).
#[derive(Debug)]
struct Table<K, V> {
    index: Vec<u64>,
    entries: Vec<Entry<K, V>>,
    head: u32,
    tail: u32,
    /// Index slots at most: `next_power_of_two(2 × cap)`.
    max_index: usize,
    cap: usize,
}

impl<K: TableKey, V> Table<K, V> {
    fn new(cap: usize) -> Self {
        let max_index = (2 * cap).next_power_of_two();
        Table {
            index: vec![0; max_index.min(INITIAL_INDEX)],
            entries: Vec::new(),
            head: NIL,
            tail: NIL,
            max_index,
            cap,
        }
    }

    #[inline]
    fn mask(&self) -> usize {
        self.index.len() - 1
    }

    /// The position of `key`'s entry.
    #[inline]
    fn find(&self, key: &K, h: u64) -> Option<usize> {
        // An empty table (a tracker's when nothing was allowed, as on
        // distinct dropped first packets) holds nothing: its index, 256
        // small arrays over the shards that the flow records' writes
        // evict from the cache, is not read (a cache miss a packet).
        if self.entries.is_empty() {
            return None;
        }
        let hi = high(h);
        let mask = self.mask();
        let mut pos = hi as usize & mask;
        // Ends: the load is at most 1/2, so an empty slot exists.
        loop {
            let s = *self.index.get(pos)?;
            if s == 0 {
                return None;
            }
            if high(s) == hi {
                let i = slot_entry(s);
                if self.entries.get(i).is_some_and(|e| e.key == *key) {
                    return Some(i);
                }
            }
            pos = (pos + 1) & mask;
        }
    }

    /// The position of `key`'s entry, and the entry to change.
    #[inline]
    fn find_mut(&mut self, key: &K, h: u64) -> Option<(usize, &mut V)> {
        let i = self.find(key, h)?;
        self.entries.get_mut(i).map(|e| (i, &mut e.value))
    }

    /// Hints the cache: `h`'s home index slot, and every cache line of
    /// where the next entry would be written.
    #[inline(always)]
    fn prefetch(&self, h: u64) {
        // An empty table (a tracker's, when nothing is allowed) has no
        // slot to find and its first insert allocates: nothing to fetch.
        if self.entries.is_empty() {
            return;
        }
        let pos = high(h) as usize & self.mask();
        prefetch(self.index.as_ptr().wrapping_add(pos));
        // An entry spans two or three lines (a flow record's: 128 bytes,
        // two lines when the entries start on a line, three otherwise),
        // and a new flow writes all of them: one hint a line, not only
        // the first (the others missed when the record was written).
        let next = self.entries.as_ptr().wrapping_add(self.entries.len());
        let bytes = next.cast::<u8>();
        let mut off = 0;
        while off < size_of::<Entry<K, V>>() {
            prefetch(bytes.wrapping_add(off));
            off += 64;
        }
        prefetch(bytes.wrapping_add(size_of::<Entry<K, V>>() - 1));
    }

    /// The index slot holding entry `i` (whose tag is `hi`).
    fn slot_of(&self, i: usize, hi: u32) -> Option<usize> {
        let mask = self.mask();
        let mut pos = hi as usize & mask;
        for _ in 0..self.index.len() {
            let s = *self.index.get(pos)?;
            if s == 0 {
                return None;
            }
            if slot_entry(s) == i {
                return Some(pos);
            }
            pos = (pos + 1) & mask;
        }
        None
    }

    fn place(&mut self, hi: u32, i: usize) {
        let mask = self.mask();
        let mut pos = hi as usize & mask;
        for _ in 0..self.index.len() {
            if let Some(s) = self.index.get_mut(pos)
                && *s == 0
            {
                *s = make_slot(hi, i);
                return;
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Doubles the index when one more entry would load it past 1/2.
    #[inline(always)]
    fn grow_for_one(&mut self) {
        if 2 * (self.entries.len() + 1) <= self.index.len() || self.index.len() >= self.max_index {
            return;
        }
        self.double_index();
    }

    /// [`Table::grow_for_one`]'s doubling, out of line: a table doubles
    /// a few times in its life, and is pushed to on every new flow.
    #[cold]
    #[inline(never)]
    fn double_index(&mut self) {
        // Re-placed from the old slots, which hold each entry's tag and
        // position: a sequential read of 8 bytes per slot instead of a
        // read of every entry.
        let doubled = vec![0; self.index.len() * 2];
        let old = std::mem::replace(&mut self.index, doubled);
        for s in old {
            if s != 0 {
                self.place(high(s), slot_entry(s));
            }
        }
    }

    /// Appends a new entry (the key must be absent and `len < cap`).
    ///
    /// Always inlined, the index doubled and the room reserved out of
    /// line: every new flow's record is pushed, and the compiler called
    /// it or not depending on changes elsewhere (called: +24 to +34
    /// instructions a distinct first packet, docs/benchmarks.md,
    /// twenty-ninth session).
    #[inline(always)]
    fn push(&mut self, key: K, h: u64, generation: u64, value: V) {
        self.grow_for_one();
        if self.entries.len() == self.entries.capacity() {
            self.reserve_room();
        }
        let i = self.entries.len();
        let hi = high(h);
        // The invariant a removal relies on (it hashes the key again):
        // checked in every test build, free in the product.
        debug_assert_eq!(hi, high(key.rehash()), "a key inserted with another hash");
        self.entries.push(Entry {
            key,
            value,
            generation,
            prev: self.tail,
            next: NIL,
        });
        let i32 = to_u32(i);
        match self.entries.get_mut(self.tail as usize) {
            Some(t) => t.next = i32,
            None => self.head = i32,
        }
        self.tail = i32;
        self.place(hi, i);
    }

    /// Room for more entries ([`Table::push`] into a full vector).
    #[cold]
    #[inline(never)]
    fn reserve_room(&mut self) {
        // The first room is for PRESIZED_ENTRIES (or the bound): address
        // space only until entries are written, which they are densely,
        // so the resident memory still follows the live entries while a
        // shard of up to that many flows never copies its entries
        // (growth by doubling copied every entry about once more: 17%
        // of a worker's instructions on distinct first packets,
        // docs/benchmarks.md). Past it, doubling, never past the bound.
        let want = (self.entries.capacity() * 2)
            .max(PRESIZED_ENTRIES)
            .min(self.cap);
        self.entries
            .reserve_exact(want.saturating_sub(self.entries.len()));
    }

    /// Removes entry `i`: its index slot (shifting the next slots back),
    /// its links, and the entry (the last one moves into its place).
    fn remove(&mut self, i: usize) -> Option<(K, V, u64)> {
        let (hi, prev, next) = {
            let e = self.entries.get(i)?;
            (high(e.key.rehash()), e.prev, e.next)
        };
        if let Some(pos) = self.slot_of(i, hi) {
            self.unplace(pos);
        }
        // Unlink.
        match self.entries.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.entries.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
        let last = self.entries.len() - 1;
        let e = self.entries.swap_remove(i);
        if i != last {
            // The former last entry now sits at `i`: repoint its slot and
            // its neighbours.
            let (mhi, mprev, mnext) = match self.entries.get(i) {
                Some(m) => (high(m.key.rehash()), m.prev, m.next),
                None => return Some((e.key, e.value, e.generation)),
            };
            if let Some(pos) = self.slot_of(last, mhi)
                && let Some(s) = self.index.get_mut(pos)
            {
                *s = make_slot(mhi, i);
            }
            let i32 = to_u32(i);
            match self.entries.get_mut(mprev as usize) {
                Some(p) => p.next = i32,
                None => self.head = i32,
            }
            match self.entries.get_mut(mnext as usize) {
                Some(n) => n.prev = i32,
                None => self.tail = i32,
            }
        }
        Some((e.key, e.value, e.generation))
    }

    /// Empties slot `hole` and shifts back the slots after it that may
    /// move (backward-shift deletion for linear probing).
    fn unplace(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut j = (hole + 1) & mask;
        loop {
            let s = self.index.get(j).copied().unwrap_or(0);
            if s == 0 {
                break;
            }
            let home = high(s) as usize & mask;
            // The slot at `j` may fill the hole when the hole lies on its
            // probe path, from its home to `j`.
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                if let Some(h) = self.index.get_mut(hole) {
                    *h = s;
                }
                hole = j;
            }
            j = (j + 1) & mask;
        }
        if let Some(h) = self.index.get_mut(hole) {
            *h = 0;
        }
    }

    fn oldest(&self) -> Option<(usize, u64)> {
        let i = self.head as usize;
        self.entries.get(i).map(|e| (i, e.generation))
    }

    /// Every entry, oldest first ([`Ordered`]); the table is left empty
    /// (and small).
    fn take_ordered(&mut self) -> Ordered<K, V> {
        let all = std::mem::take(&mut self.entries);
        let at = self.head;
        self.index = vec![0; self.max_index.min(INITIAL_INDEX)];
        self.head = NIL;
        self.tail = NIL;
        Ordered {
            left: all.len(),
            all,
            at,
        }
    }
}

/// A sub-table's entries taken out, oldest first: along the insertion
/// list, whose order is the generations' (an entry is linked at the tail
/// with the next generation, and a removal unlinks it or moves the last
/// entry into its place with its links). The entries were sorted by
/// generation and copied into a vector before: ~60 instructions a record
/// at the end of a pass, most of them moving 144-byte entries, where the
/// list is read in place (in memory order while nothing was removed;
/// docs/benchmarks.md, thirty-first session).
struct Ordered<K, V> {
    all: Vec<Entry<K, V>>,
    /// The next entry's position (`NIL`: none).
    at: u32,
    /// Entries not yet yielded: the walk ends after as many steps as there
    /// are entries, whatever the links say.
    left: usize,
}

impl<K: Copy, V: Copy> Iterator for Ordered<K, V> {
    type Item = (K, V, u64);

    fn next(&mut self) -> Option<(K, V, u64)> {
        self.left = self.left.checked_sub(1)?;
        let e = self.all.get(self.at as usize)?;
        self.at = e.next;
        Some((e.key, e.value, e.generation))
    }
}

/// A handle to an entry found by [`ShardTable::find`], valid until the
/// table next changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// In the IPv4 sub-table.
    V4(usize),
    /// In the IPv6 sub-table.
    V6(usize),
}

/// Where an entry was last found in its sub-table, kept by another table's
/// record to find it again without a probe ([`ShardTable::find_hinted_mut`]).
/// Only a hint: entries move when others are removed, so a hinted position
/// is used only when the entry there has the key looked for (keys are
/// unique in a table), and otherwise the key is probed as usual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hint(u32);

impl Hint {
    /// No position known.
    pub(crate) const NONE: Hint = Hint(u32::MAX);
}

/// One shard's bounded state table: at most `cap` entries over its IPv4
/// and IPv6 sub-tables, the oldest evicted first.
#[derive(Debug)]
pub(crate) struct ShardTable<V> {
    v4: Table<Key4, V>,
    v6: Table<Key6, V>,
    cap: usize,
    next_generation: u64,
}

impl<V> ShardTable<V> {
    /// An empty table for at most `cap` entries (1 to 2^30).
    #[must_use]
    pub(crate) fn new(cap: usize) -> Self {
        let cap = cap.clamp(1, MAX_CAP);
        ShardTable {
            v4: Table::new(cap),
            v6: Table::new(cap),
            cap,
            next_generation: 0,
        }
    }

    /// Entries held.
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.v4.entries.len() + self.v6.entries.len()
    }

    /// Index slots allocated (for tests: bounded by the cap).
    #[must_use]
    pub(crate) fn index_slots(&self) -> usize {
        self.v4.index.len() + self.v6.index.len()
    }

    /// Entry room allocated (for tests: bounded by the cap).
    #[must_use]
    pub(crate) fn entry_capacity(&self) -> usize {
        self.v4.entries.capacity() + self.v6.entries.capacity()
    }

    /// The entry of `key` (`h`: its [`KeyHasher::hash`]).
    ///
    /// Always inlined, as [`ShardTable::find_mut`]: called out of line,
    /// the probe of an empty table (a tracker's on dropped first packets)
    /// cost a call, six saved registers and a returned `Option<Slot>`,
    /// ~20 instructions a packet for a length compared with 0
    /// (callgrind, docs/benchmarks.md, twenty-eighth session).
    #[inline(always)]
    #[must_use]
    pub(crate) fn find(&self, key: &StateKey, h: u64) -> Option<Slot> {
        match key {
            StateKey::V4(k) => self.v4.find(k, h).map(Slot::V4),
            StateKey::V6(k) => self.v6.find(k, h).map(Slot::V6),
        }
    }

    /// [`ShardTable::find`] and [`ShardTable::get_mut`] in one. Always
    /// inlined: it is the flow record's probe on every packet
    /// (`engine/flows.rs`, `Flows::known_drop`), where a call saved six
    /// registers for a probe of one or two slots.
    #[inline(always)]
    pub(crate) fn find_mut(&mut self, key: &StateKey, h: u64) -> Option<(Slot, &mut V)> {
        match key {
            StateKey::V4(k) => self.v4.find_mut(k, h).map(|(i, v)| (Slot::V4(i), v)),
            StateKey::V6(k) => self.v6.find_mut(k, h).map(|(i, v)| (Slot::V6(i), v)),
        }
    }

    /// [`ShardTable::find_mut`], looking first at the position `hint`
    /// (where the entry was last found): the entry's value, and its
    /// position now.
    #[inline]
    pub(crate) fn find_hinted_mut(
        &mut self,
        key: &StateKey,
        h: u64,
        hint: Hint,
    ) -> Option<(Hint, &mut V)> {
        fn at<'a, K: TableKey, V>(
            t: &'a mut Table<K, V>,
            k: &K,
            h: u64,
            hint: Hint,
        ) -> Option<(Hint, &'a mut V)> {
            let hinted = t.entries.get(hint.0 as usize).is_some_and(|e| e.key == *k);
            let i = if hinted {
                hint.0 as usize
            } else {
                t.find(k, h)?
            };
            // Entries are fewer than 2^30 (`MAX_CAP`): the position fits.
            let pos = Hint(u32::try_from(i).ok()?);
            t.entries.get_mut(i).map(|e| (pos, &mut e.value))
        }
        match key {
            StateKey::V4(k) => at(&mut self.v4, k, h, hint),
            StateKey::V6(k) => at(&mut self.v6, k, h, hint),
        }
    }

    /// Hints the cache about a coming [`ShardTable::find`] of `key` (and
    /// insert): its home index slot and where a new entry would go. Only a
    /// hint: nothing changes.
    #[inline(always)]
    pub(crate) fn prefetch(&self, key: &StateKey, h: u64) {
        match key {
            StateKey::V4(_) => self.v4.prefetch(h),
            StateKey::V6(_) => self.v6.prefetch(h),
        }
    }

    /// The value of a found entry.
    #[inline]
    pub(crate) fn get(&self, s: Slot) -> Option<&V> {
        match s {
            Slot::V4(i) => self.v4.entries.get(i).map(|e| &e.value),
            Slot::V6(i) => self.v6.entries.get(i).map(|e| &e.value),
        }
    }

    /// The value of a found entry, to change.
    #[inline]
    pub(crate) fn get_mut(&mut self, s: Slot) -> Option<&mut V> {
        match s {
            Slot::V4(i) => self.v4.entries.get_mut(i).map(|e| &mut e.value),
            Slot::V6(i) => self.v6.entries.get_mut(i).map(|e| &mut e.value),
        }
    }

    /// Removes a found entry.
    pub(crate) fn remove(&mut self, s: Slot) -> Option<V> {
        match s {
            Slot::V4(i) => self.v4.remove(i).map(|(_, v, _)| v),
            Slot::V6(i) => self.v6.remove(i).map(|(_, v, _)| v),
        }
    }

    /// Inserts `key` (which must be absent); returns the entry evicted to
    /// make room, the oldest, if the table was full.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, key: StateKey, h: u64, value: V) -> Option<(StateKey, V)> {
        let mut evicted = None;
        self.insert_evicting(key, h, value, |k, v| evicted = Some((k, v)));
        evicted
    }

    /// Inserts `key` (which must be absent); when the table is full, its
    /// oldest entry is evicted first and handed to `evicted`.
    ///
    /// The evicted entry goes to a closure rather than back as an
    /// `Option<(StateKey, V)>`: returned, that option (a flow record's
    /// 120 bytes) was written out and read back on every insert, ~20
    /// instructions a new flow for an eviction that almost never happens
    /// (callgrind, docs/benchmarks.md, twentieth session).
    #[inline]
    pub(crate) fn insert_evicting(
        &mut self,
        key: StateKey,
        h: u64,
        value: V,
        evicted: impl FnOnce(StateKey, V),
    ) {
        if self.len() >= self.cap {
            self.evict_oldest(evicted);
        }
        let g = self.next_generation;
        self.next_generation += 1;
        match key {
            StateKey::V4(k) => self.v4.push(k, h, g, value),
            StateKey::V6(k) => self.v6.push(k, h, g, value),
        }
    }

    /// A full table's oldest entry out, to `evicted`.
    #[cold]
    #[inline(never)]
    fn evict_oldest(&mut self, evicted: impl FnOnce(StateKey, V)) {
        if let Some((k, v)) = self.pop_oldest() {
            evicted(k, v);
        }
    }

    fn pop_oldest(&mut self) -> Option<(StateKey, V)> {
        match (self.v4.oldest(), self.v6.oldest()) {
            (Some((i, g4)), Some((_, g6))) if g4 < g6 => {
                self.v4.remove(i).map(|(k, v, _)| (StateKey::V4(k), v))
            }
            (_, Some((i, _))) => self.v6.remove(i).map(|(k, v, _)| (StateKey::V6(k), v)),
            (Some((i, _)), None) => self.v4.remove(i).map(|(k, v, _)| (StateKey::V4(k), v)),
            (None, None) => None,
        }
    }

    /// Every entry's value, in no order (for tests).
    #[cfg(test)]
    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        let v4 = self.v4.entries.iter().map(|e| &e.value);
        v4.chain(self.v6.entries.iter().map(|e| &e.value))
    }

    /// Takes every entry out, oldest first.
    #[cfg(test)]
    pub(crate) fn drain_ordered(&mut self) -> Vec<(StateKey, V)>
    where
        V: Copy,
    {
        let mut out = Vec::with_capacity(self.len());
        self.drain_each(|k, v| out.push((k, v)));
        out
    }

    /// Takes every entry out, oldest first, each to `f` (no vector of
    /// them made).
    pub(crate) fn drain_each(&mut self, mut f: impl FnMut(StateKey, V))
    where
        V: Copy,
    {
        let mut a = self.v4.take_ordered().peekable();
        let mut b = self.v6.take_ordered().peekable();
        loop {
            let take_a = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) => x.2 < y.2,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_a {
                if let Some((k, v, _)) = a.next() {
                    f(StateKey::V4(k), v);
                }
            } else if let Some((k, v, _)) = b.next() {
                f(StateKey::V6(k), v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, VecDeque};

    fn k4(i: u32) -> StateKey {
        StateKey::new(
            IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i % 1000))),
            IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + i / 1000)),
            6,
            Some((u16::try_from(i % 7).unwrap(), 80)),
        )
    }

    fn k6(i: u32) -> StateKey {
        let mut a = [0u8; 16];
        a[0] = 0xfd;
        a[12..].copy_from_slice(&i.to_be_bytes());
        StateKey::new(
            IpAddr::V6(Ipv6Addr::from(a)),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            17,
            None,
        )
    }

    /// The fast keys equal the ones made through `FlowKey` and `ConnKey`,
    /// for every transport kind, both families, both directions and equal
    /// addresses or ports.
    #[test]
    fn packet_keys_equal_the_slow_ones() {
        let v4 = [
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
        ];
        let v6 = [
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
        ];
        let l4s = [
            (
                6,
                L4::Ports {
                    sport: 80,
                    dport: 443,
                },
            ),
            (
                17,
                L4::Ports {
                    sport: 443,
                    dport: 80,
                },
            ),
            (6, L4::Ports { sport: 5, dport: 5 }),
            (47, L4::Opaque),
            (6, L4::Fragment),
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
        let mut n = 0;
        for addrs in [&v4[..], &v6[..], &[v4[0], v6[0]][..]] {
            for &src in addrs {
                for &dst in addrs {
                    for &(proto, l4) in &l4s {
                        let p = Packet {
                            src,
                            dst,
                            proto,
                            l4,
                        };
                        assert_eq!(packet_keys(&p), slow_keys(&p), "{p:?}");
                        let k = Keys::of(&p);
                        let conn = k.conn(&p).map(|(c, f)| (c.unwrap_or(k.flow), f));
                        assert_eq!((k.flow, conn), packet_keys(&p), "{p:?}");
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 100);
        // Every ICMP and ICMPv6 type (pairs, one-way types), a few codes,
        // over IPv4 addresses in both orders and equal.
        let mut m = 0;
        for proto in [1u8, 58] {
            for icmp_type in 0..=255u8 {
                for code in [0u8, 1, 8, 255] {
                    for (src, dst) in [(v4[0], v4[1]), (v4[1], v4[0]), (v4[2], v4[2])] {
                        let p = Packet {
                            src,
                            dst,
                            proto,
                            l4: L4::Icmp { icmp_type, code },
                        };
                        assert_eq!(packet_keys(&p), slow_keys(&p), "{p:?}");
                        let k = Keys::of(&p);
                        let conn = k.conn(&p).map(|(c, f)| (c.unwrap_or(k.flow), f));
                        assert_eq!((k.flow, conn), packet_keys(&p), "{p:?}");
                        m += 1;
                    }
                }
            }
        }
        assert_eq!(m, 2 * 256 * 4 * 3);
    }

    /// A plain packet's keys made from its numbers equal the keys of its
    /// packet, both families, both directions, equal addresses and ports.
    #[test]
    fn plain_keys_equal_the_packets() {
        use crate::parse::{Plain, PlainAddrs};
        let v4 = [0x0a00_0001u32, 0x0a00_0002, 0xc0a8_0001];
        let v6 = [1u128, 0xfd00 << 112 | 1, 0xfd00 << 112 | 2, u128::MAX];
        let ports = [(80u16, 443u16), (443, 80), (5, 5), (0, 0)];
        let mut n = 0;
        for proto in [6u8, 17] {
            for &(sport, dport) in &ports {
                let mut addrs = Vec::new();
                for &a in &v4 {
                    for &b in &v4 {
                        addrs.push(PlainAddrs::V4(a, b));
                    }
                }
                for &a in &v6 {
                    for &b in &v6 {
                        addrs.push(PlainAddrs::V6(a, b));
                    }
                }
                for addrs in addrs {
                    let (src, dst) = match addrs {
                        PlainAddrs::V4(a, b) => {
                            (IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b)))
                        }
                        PlainAddrs::V6(a, b) => {
                            (IpAddr::V6(Ipv6Addr::from(a)), IpAddr::V6(Ipv6Addr::from(b)))
                        }
                    };
                    let p = Packet {
                        src,
                        dst,
                        proto,
                        l4: L4::Ports { sport, dport },
                    };
                    let t = Plain {
                        addrs,
                        sport,
                        dport,
                        proto,
                    };
                    assert_eq!(Keys::plain(&t), Keys::of(&p), "{p:?}");
                    assert_eq!(
                        Keys::plain(&t).conn(&p),
                        packet_keys(&p).1.map(|c| (None, c.1))
                    );
                    n += 1;
                }
            }
        }
        assert_eq!(n, 2 * 4 * (9 + 16));
    }

    #[test]
    fn keys_round_trip() {
        for k in [k4(12345), k6(77)] {
            let (a, b) = k.addrs();
            assert_eq!(StateKey::new(a, b, k.proto(), k.ports()), k);
            assert!(k.first_is(&a));
            assert_eq!(k.first_is(&b), a == b);
        }
        // Mixed families stay distinct from a mapped IPv6 pair.
        let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        let six = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let mixed = StateKey::new(v4, six, 6, None);
        assert_ne!(mixed, StateKey::new(mapped, six, 6, None));
        assert_eq!(mixed.addrs(), (v4, six));
        assert!(mixed.first_is(&v4));
        assert!(!mixed.first_is(&mapped));
        assert!(!k4(1).first_is(&mapped));
        assert_eq!(
            StateKey::new(v4, six, 6, Some((0, 0))).ports(),
            Some((0, 0))
        );
        assert_eq!(mixed.ports(), None);
    }

    /// A hinted look-up finds exactly what a probe finds, whatever the
    /// hint: the position last returned for the key (gone stale as other
    /// entries were removed and evicted, moving entries), another key's
    /// position, or a position past the end.
    #[test]
    fn hinted_lookups_find_what_a_probe_finds() {
        use rand::{Rng, SeedableRng};
        let hasher = KeyHasher::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut t: ShardTable<u32> = ShardTable::new(40);
        let mut hints: HashMap<StateKey, Hint> = HashMap::new();
        let (mut hinted, mut stale) = (0, 0);
        for step in 0..30_000u32 {
            let i = rng.random_range(0..100u32);
            let key = if rng.random_bool(0.3) { k6(i) } else { k4(i) };
            let h = hasher.hash(&key);
            let hint = match rng.random_range(0..4) {
                0 => Hint(rng.random_range(0..50)),
                1 => Hint::NONE,
                _ => hints.get(&key).copied().unwrap_or(Hint::NONE),
            };
            let expect = t.find(&key, h).map(|s| {
                let i = match s {
                    Slot::V4(i) | Slot::V6(i) => i,
                };
                (Hint(u32::try_from(i).unwrap()), *t.get_mut(s).unwrap())
            });
            if let Some((at, _)) = expect {
                hinted += usize::from(at == hint);
                stale += usize::from(at != hint && hints.get(&key) == Some(&hint));
            }
            let got = t.find_hinted_mut(&key, h, hint).map(|(at, v)| (at, *v));
            assert_eq!(got, expect, "step {step}, hint {hint:?}");
            match got {
                Some((at, _)) if rng.random_bool(0.3) => {
                    let s = match key {
                        StateKey::V4(_) => Slot::V4(at.0 as usize),
                        StateKey::V6(_) => Slot::V6(at.0 as usize),
                    };
                    t.remove(s);
                }
                Some((at, _)) => {
                    hints.insert(key, at);
                }
                None => {
                    t.insert(key, h, step);
                }
            }
        }
        // Both kinds of hint were met: right ones, and stale ones.
        assert!(hinted > 200 && stale > 200, "{hinted} {stale}");
    }

    /// The table against a plain model: a map plus an insertion-order
    /// queue, through random inserts, removals and evictions.
    #[test]
    fn behaves_like_a_map_with_insertion_order_eviction() {
        use rand::{Rng, SeedableRng};
        let hasher = KeyHasher::default();
        for (seed, cap) in [(1u64, 1usize), (2, 5), (3, 64), (4, 300)] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut t: ShardTable<u32> = ShardTable::new(cap);
            let mut model: HashMap<StateKey, u32> = HashMap::new();
            let mut order: VecDeque<StateKey> = VecDeque::new();
            let mut evictions = 0;
            for step in 0..20_000u32 {
                let i = rng.random_range(0..u32::try_from(cap * 3 + 4).unwrap());
                let key = if rng.random_bool(0.3) { k6(i) } else { k4(i) };
                let h = hasher.hash(&key);
                match t.find(&key, h) {
                    Some(s) => {
                        assert_eq!(t.get_mut(s).copied(), model.get(&key).copied());
                        if rng.random_bool(0.5) {
                            assert_eq!(t.remove(s), model.remove(&key));
                            order.retain(|k| *k != key);
                        } else {
                            *t.get_mut(s).unwrap() = step;
                            model.insert(key, step);
                        }
                    }
                    None => {
                        assert!(!model.contains_key(&key), "step {step}: lost {key:?}");
                        let expect = if model.len() >= cap {
                            let old = order.pop_front().unwrap();
                            Some((old, model.remove(&old).unwrap()))
                        } else {
                            None
                        };
                        let got = t.insert(key, h, step);
                        evictions += usize::from(got.is_some());
                        assert_eq!(got, expect);
                        model.insert(key, step);
                        order.push_back(key);
                    }
                }
                assert_eq!(t.len(), model.len());
                assert!(t.index_slots() <= 2 * (2 * cap).next_power_of_two());
            }
            assert!(evictions > 0);
            let drained = t.drain_ordered();
            let expect: Vec<(StateKey, u32)> = order.iter().map(|k| (*k, model[k])).collect();
            assert_eq!(drained, expect);
            assert_eq!(t.len(), 0);
        }
    }
}
