//! A frozen, leaf-pushed multibit trie: address -> class in a few array reads.
//!
//! Strides are 16 bits at the root, then 8 bits per level (DIR-16-8-8 for
//! IPv4: at most three dependent reads; IPv6 walks one level per byte below
//! the first 16 bits and stops at the first leaf, so a /64 subnet takes at
//! most 7 reads and a /128 host 15).
//!
//! Why by hand: the tries on crates.io measured 60-400 ns per lookup on
//! this machine class (shared/reference/crates-and-lab.md §4), against
//! 17-45 ns for an array-based DIR table; the compiled table is immutable,
//! so the crates' update support buys nothing. Compared with a DIR-24-8
//! (64 MiB, 0.2-0.6 s to build), a 16-bit root costs 256 KiB per family and
//! builds in microseconds, for one more read on /25-/32 prefixes.
//!
//! Layout: `root4`/`root6` hold 65,536 entries each; `nodes` holds chunks of
//! 256 entries. An entry with the top bit set points to chunk
//! `entry & !PTR`; otherwise it is a class id.
//! INVARIANT: every pointer names an existing chunk, and a chunk is only
//! reached from one parent entry, at the level its depth implies.
//!
//! IPv6 /64-first path ([`V6Fast`], built by [`Lpm::finish`]): VNIC
//! addresses are /128 host prefixes inside /64 subnets, which the byte
//! trie reaches in 15 and 7 reads. Two open-addressing hash tables answer
//! them first: `hosts` maps each /128 prefix of the trie to its class, and
//! `nets` maps the upper 64 bits of every /64 that holds prefixes of length
//! 64 or more, and no prefix of length 65-127, to the class every non-host
//! address of it has. Both values are read off the trie itself when the
//! tables are built, so a hit returns what the walk would; a miss (or a
//! probe sequence longer than [`V6Fast::MAX_PROBE`], which the builder
//! never leaves in the table) falls back to the walk. A VNIC's IPv6
//! address is then one hash probe (usually one cache line), an address of
//! its subnet two.

use super::prefix::Pfx;
use super::read::{Checked, Read};

const PTR: u32 = 1 << 31;
const CHUNK: usize = 256;
/// Entries of a root: one per value of an address's top 16 bits.
const ROOT: usize = 1 << 16;

/// A root whose every entry is `fill`, made on the heap (an array of
/// [`ROOT`] on the stack first would be 256 KiB).
fn root(fill: u32) -> Box<[u32; ROOT]> {
    match vec![fill; ROOT].into_boxed_slice().try_into() {
        Ok(r) => r,
        // The vector has ROOT entries: never taken.
        Err(_) => Box::new([fill; ROOT]),
    }
}

/// Whether some entry of `entries` is a pointer to a chunk past `chunks`
/// or a leaf naming a class past `classes`: the trie check, folded
/// without a branch or an early exit so the pass over the trie's entries
/// (1.3 M on `wide`) vectorizes (3.4 instructions an entry against ~10
/// for an entry-by-entry `all`, callgrind, docs/benchmarks.md, the
/// thirty-fourth session's judgement work).
fn any_entry_out_of_bounds(entries: &[u32], chunks: u32, classes: u32) -> bool {
    // A pointer is below `PTR | chunks`, a leaf below `classes`.
    let ptr_limit = PTR | chunks;
    entries.iter().fold(0u32, |bad, &e| {
        // All ones for a pointer, 0 for a leaf.
        let ptr = (e >> 31).wrapping_neg();
        let limit = classes ^ (ptr & (ptr_limit ^ classes));
        bad | u32::from(e >= limit)
    }) != 0
}

/// The frozen trie. `Send + Sync`, no interior mutability.
#[derive(Debug, Clone)]
pub struct Lpm {
    /// Arrays of [`ROOT`] (not slices): a root index, the address's top 16
    /// bits, is below their length by its type, so it is read without a
    /// bounds check (two a judgement: its source and destination).
    root4: Box<[u32; ROOT]>,
    root6: Box<[u32; ROOT]>,
    nodes: Vec<u32>,
    /// IPv6 prefixes of length 64 or more, as inserted (for [`Lpm::finish`]).
    long6: Vec<Pfx>,
    v6: V6Fast,
}

/// One slot of [`V6Fast::hosts`]: a /128 and its class, 32 bytes aligned
/// so a slot is one cache-line read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(32))]
struct HostSlot {
    addr: u128,
    class: u32,
}

/// One slot of [`V6Fast::nets`]: the upper 64 bits of a /64 and the class
/// of its non-host addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, align(16))]
struct NetSlot {
    hi: u64,
    class: u32,
}

/// The IPv6 /64-first tables (see the module docs). Empty slots hold
/// class [`V6Fast::EMPTY`], which no class id reaches (ids are below
/// `PTR`).
/// INVARIANTS: the slot counts are powers of two (or zero); every key
/// sits at most `MAX_PROBE - 1` slots after its hash's home slot; a host's
/// class is the trie's class of that address, a net's class the trie's
/// class of every address of the /64 that is not a host of `hosts`.
/// Size: `32 × host slots + 16 × net slots`, each at most 4 × its keys.
#[derive(Debug, Clone, Default)]
struct V6Fast {
    hosts: Box<[HostSlot]>,
    nets: Box<[NetSlot]>,
}

impl V6Fast {
    const EMPTY: u32 = u32::MAX;
    /// The longest probe sequence a look-up follows.
    const MAX_PROBE: usize = 16;

    fn bytes(&self) -> usize {
        self.hosts.len() * std::mem::size_of::<HostSlot>()
            + self.nets.len() * std::mem::size_of::<NetSlot>()
    }

    #[inline]
    fn host(&self, a: u128) -> Option<u32> {
        let mask = self.hosts.len().wrapping_sub(1);
        let h = home(a);
        for i in 0..Self::MAX_PROBE {
            let s = self.hosts.get(h.wrapping_add(i) & mask)?;
            if s.class == Self::EMPTY {
                return None;
            }
            if s.addr == a {
                return Some(s.class);
            }
        }
        None
    }

    #[inline]
    fn net(&self, hi: u64) -> Option<u32> {
        let mask = self.nets.len().wrapping_sub(1);
        let h = home(u128::from(hi));
        for i in 0..Self::MAX_PROBE {
            let s = self.nets.get(h.wrapping_add(i) & mask)?;
            if s.class == Self::EMPTY {
                return None;
            }
            if s.hi == hi {
                return Some(s.class);
            }
        }
        None
    }
}

/// The home slot of a key: MurmurHash3's 64-bit finalizer over the folded
/// address (only the slot depends on it; a hit compares the whole key).
#[inline]
#[allow(clippy::cast_possible_truncation)] // a hash: any bits will do
fn home(a: u128) -> usize {
    let mut x = (a as u64) ^ ((a >> 64) as u64).rotate_left(29);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x as usize
}

/// Open-addressing table of `keys` (distinct) with load factor at most
/// 1/2; a key whose probe sequence would exceed `max_probe` (at most
/// `MAX_PROBE`) is left out
/// (its look-ups fall back to the trie).
fn open_table<K: Copy, S: Copy>(
    keys: &[K],
    empty: S,
    max_probe: usize,
    key_of: impl Fn(K) -> u128,
    is_empty: impl Fn(&S) -> bool,
    slot: impl Fn(K) -> S,
) -> Box<[S]> {
    if keys.is_empty() {
        return Box::new([]);
    }
    let n = (keys.len() * 2).next_power_of_two();
    let mut t = vec![empty; n];
    for &k in keys {
        let h = home(key_of(k));
        if let Some(i) = (0..max_probe.min(V6Fast::MAX_PROBE))
            .map(|i| h.wrapping_add(i) & (n - 1))
            .find(|&i| is_empty(&t[i]))
        {
            t[i] = slot(k);
        }
    }
    t.into_boxed_slice()
}

/// The trie would need more chunks than a `u32` pointer can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LpmFull;

impl Lpm {
    /// An empty trie where every address maps to `default4` / `default6`.
    #[must_use]
    pub fn new(default4: u32, default6: u32) -> Lpm {
        Lpm {
            root4: root(default4),
            root6: root(default6),
            nodes: Vec::new(),
            long6: Vec::new(),
            v6: V6Fast::default(),
        }
    }

    /// Bytes used.
    #[must_use]
    pub fn bytes(&self) -> usize {
        (self.root4.len() + self.root6.len() + self.nodes.len()) * 4 + self.v6.bytes()
    }

    /// Builds the IPv6 /64-first tables from the prefixes inserted so far
    /// (call once, after the last [`Lpm::insert`]; look-ups before are
    /// exact too, only slower). Every class they hold is read from the
    /// trie, so they change no answer.
    pub fn finish(&mut self) {
        self.finish_probing(V6Fast::MAX_PROBE);
    }

    /// [`Lpm::finish`], placing keys at most `max_probe` slots after their
    /// home (tests use 1 to exercise keys left out).
    fn finish_probing(&mut self, max_probe: usize) {
        let mut long = std::mem::take(&mut self.long6);
        long.sort_unstable_by_key(|p| (p.addr >> 64, p.len, p.addr));
        long.dedup();
        let hosts: Vec<u128> = long
            .iter()
            .filter(|p| p.len == 128)
            .map(|p| p.addr)
            .collect();
        self.v6.hosts = open_table(
            &hosts,
            HostSlot {
                addr: 0,
                class: V6Fast::EMPTY,
            },
            max_probe,
            |a| a,
            |s| s.class == V6Fast::EMPTY,
            |a| HostSlot {
                addr: a,
                class: self.walk_v6(a),
            },
        );
        let mut nets: Vec<(u64, u32)> = Vec::new();
        for group in long.chunk_by(|x, y| x.addr >> 64 == y.addr >> 64) {
            // Only /64s whose longer prefixes are all hosts, and all in
            // `hosts` (one left out would be answered as a non-host):
            // every other address of them has one class.
            if group.iter().any(|p| {
                (p.len > 64 && p.len < 128) || (p.len == 128 && self.v6.host(p.addr).is_none())
            }) {
                continue;
            }
            let hi = group[0].addr >> 64;
            // The smallest low half that is not a host (there are fewer
            // hosts than low halves, so it exists); hosts come sorted.
            let mut low = 0u128;
            for p in group.iter().filter(|p| p.len == 128) {
                if p.addr & u128::from(u64::MAX) == low {
                    low += 1;
                } else if p.addr & u128::from(u64::MAX) > low {
                    break;
                }
            }
            #[allow(clippy::cast_possible_truncation)] // the upper 64 bits
            nets.push((hi as u64, self.walk_v6((hi << 64) | low)));
        }
        self.v6.nets = open_table(
            &nets,
            NetSlot {
                hi: 0,
                class: V6Fast::EMPTY,
            },
            max_probe,
            |(hi, _)| u128::from(hi),
            |s| s.class == V6Fast::EMPTY,
            |(hi, class)| NetSlot { hi, class },
        );
    }

    /// Writes `class` over every address of `p`.
    ///
    /// Prefixes must be inserted in order of non-decreasing length (then a
    /// longer prefix overwrites the part of a shorter one it covers, and the
    /// entries a prefix covers at its last level are always leaves).
    ///
    /// # Errors
    /// When the trie runs out of chunk ids.
    pub fn insert(&mut self, p: Pfx, class: u32) -> Result<(), LpmFull> {
        if p.fam == 6 && p.len >= 64 {
            self.long6.push(p);
        }
        let bits = u32::from(p.bits());
        let len = u32::from(p.len);
        // Level 0: 16 bits.
        let top = usize::try_from(p.addr >> (bits - 16)).map_err(|_| LpmFull)?;
        if len <= 16 {
            let span = 1usize << (16 - len);
            let root = if p.fam == 4 {
                &mut self.root4
            } else {
                &mut self.root6
            };
            root[top..top + span].fill(class);
            return Ok(());
        }
        let mut entry = if p.fam == 4 {
            self.root4[top]
        } else {
            self.root6[top]
        };
        let mut chunk = if entry & PTR != 0 {
            (entry & !PTR) as usize
        } else {
            let c = self.new_chunk(entry)?;
            let e = PTR | u32::try_from(c).map_err(|_| LpmFull)?;
            if p.fam == 4 {
                self.root4[top] = e;
            } else {
                self.root6[top] = e;
            }
            c
        };
        let mut consumed = 16u32;
        loop {
            let shift = bits - consumed - 8;
            let idx = usize::try_from((p.addr >> shift) & 0xff).map_err(|_| LpmFull)?;
            if len <= consumed + 8 {
                let span = 1usize << (consumed + 8 - len);
                let base = chunk * CHUNK + idx;
                self.nodes[base..base + span].fill(class);
                return Ok(());
            }
            entry = self.nodes[chunk * CHUNK + idx];
            chunk = if entry & PTR != 0 {
                (entry & !PTR) as usize
            } else {
                let c = self.new_chunk(entry)?;
                self.nodes[chunk * CHUNK + idx] = PTR | u32::try_from(c).map_err(|_| LpmFull)?;
                c
            };
            consumed += 8;
        }
    }

    fn new_chunk(&mut self, fill: u32) -> Result<usize, LpmFull> {
        let c = self.nodes.len() / CHUNK;
        if c >= (PTR - 1) as usize {
            return Err(LpmFull);
        }
        self.nodes.resize(self.nodes.len() + CHUNK, fill);
        Ok(c)
    }

    /// Class of an IPv4 address.
    #[inline(always)]
    #[must_use]
    #[allow(unsafe_code)]
    pub fn lookup_v4(&self, a: u32) -> u32 {
        // SAFETY: checked reads.
        unsafe { self.lookup_v4_as::<Checked>(a) }
    }

    /// [`Lpm::lookup_v4`] with reader `R`.
    ///
    /// # Safety
    /// With [`super::read::Trusted`]: the trie passed [`Lpm::check`].
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) unsafe fn lookup_v4_as<R: Read>(&self, a: u32) -> u32 {
        let mut e = self.root4[(a >> 16) as usize];
        if e & PTR == 0 {
            return e;
        }
        // SAFETY: every pointer names a whole chunk of `nodes` (checked by
        // `Lpm::check`), and the index inside the chunk is a byte.
        e = unsafe {
            *R::at(
                &self.nodes,
                (e & !PTR) as usize * CHUNK + ((a >> 8) & 0xff) as usize,
            )
        };
        if e & PTR == 0 {
            return e;
        }
        // SAFETY: as above.
        unsafe {
            *R::at(
                &self.nodes,
                (e & !PTR) as usize * CHUNK + (a & 0xff) as usize,
            )
        }
    }

    /// Checks what [`Lpm::lookup_v4_as`] with the trusted reader relies
    /// on, and what the judgement reads with the classes it returns:
    /// `nodes` holds whole chunks, every pointer (in the roots and the
    /// chunks) names one of them, and every leaf (and every class of the
    /// IPv6 hash tables) is below `n_classes`. Run once, when the
    /// compiled tables are made (`Compiled::validated`).
    ///
    /// # Errors
    /// The invariant that does not hold.
    pub(super) fn check(&self, n_classes: usize) -> Result<(), &'static str> {
        if !self.nodes.len().is_multiple_of(CHUNK) {
            return Err("trie nodes are not whole chunks");
        }
        // Chunks and classes past PTR could not be named at all.
        let chunks = u32::try_from(self.nodes.len() / CHUNK)
            .ok()
            .filter(|&c| c < PTR)
            .ok_or("more trie chunks than a pointer names")?;
        let classes = u32::try_from(n_classes).unwrap_or(u32::MAX).min(PTR);
        if [&self.root4[..], &self.root6[..], &self.nodes]
            .into_iter()
            .any(|e| any_entry_out_of_bounds(e, chunks, classes))
        {
            return Err("a trie entry names no chunk or no class");
        }
        let v6 = self.v6.hosts.iter().map(|s| s.class);
        if !v6
            .chain(self.v6.nets.iter().map(|s| s.class))
            .all(|c| c == V6Fast::EMPTY || (c as usize) < n_classes)
        {
            return Err("an IPv6 hash slot names no class");
        }
        Ok(())
    }

    /// Class of an IPv6 address: a VNIC's /128, then its /64, from the
    /// hash tables, else the trie walk.
    #[inline]
    #[allow(clippy::cast_possible_truncation)] // the upper 64 bits
    #[must_use]
    pub fn lookup_v6(&self, a: u128) -> u32 {
        if let Some(c) = self.v6.host(a) {
            return c;
        }
        if let Some(c) = self.v6.net((a >> 64) as u64) {
            return c;
        }
        self.walk_v6(a)
    }

    /// Class of an IPv6 address by the trie alone.
    #[inline]
    #[allow(clippy::cast_possible_truncation)] // masked to 8 and 16 bits before the cast
    #[must_use]
    pub fn walk_v6(&self, a: u128) -> u32 {
        let mut e = self.root6[(a >> 112) as usize];
        let mut shift = 104u32;
        while e & PTR != 0 {
            e = self.nodes[(e & !PTR) as usize * CHUNK + ((a >> shift) & 0xff) as usize];
            // INVARIANT: a /128 ends on a leaf at shift 0, so this never underflows.
            shift = shift.wrapping_sub(8);
        }
        e
    }

    /// Class of an address.
    #[inline(always)]
    #[must_use]
    pub fn lookup(&self, ip: std::net::IpAddr) -> u32 {
        match ip {
            std::net::IpAddr::V4(a) => self.lookup_v4(u32::from(a)),
            std::net::IpAddr::V6(a) => self.lookup_v6(u128::from(a)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::prefix::{Pfx, PrefixTree};
    use proptest::prelude::*;

    fn pfx4(a: u32, len: u8) -> Pfx {
        let mask = if len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(len))
        };
        Pfx {
            fam: 4,
            addr: u128::from(a & mask),
            len,
        }
    }

    proptest! {
        /// The trie agrees with a linear longest-prefix scan.
        #[test]
        fn agrees_with_linear_scan(
            prefixes in proptest::collection::vec((any::<u32>(), 0u8..=32), 0..40),
            probes in proptest::collection::vec(any::<u32>(), 1..50),
        ) {
            let ps: Vec<Pfx> = prefixes.iter().map(|&(a, l)| pfx4(a, l)).collect();
            let tree = PrefixTree::build(ps.iter().copied());
            let mut lpm = Lpm::new(0, 0);
            let mut order: Vec<usize> = (0..tree.nodes.len()).collect();
            order.sort_by_key(|&i| tree.nodes[i].len);
            for i in order {
                if tree.nodes[i].fam == 4 {
                    lpm.insert(tree.nodes[i], u32::try_from(i).unwrap()).unwrap();
                }
            }
            for &a in probes.iter().chain(ps.iter().map(|p| u32::try_from(p.addr).unwrap()).collect::<Vec<_>>().iter()) {
                let ip = std::net::IpAddr::V4(a.into());
                prop_assert_eq!(lpm.lookup(ip), tree.deepest(ip));
            }
        }
    }

    /// An IPv6 prefix of `len` bits at `addr`.
    fn pfx6(addr: u128, len: u8) -> Pfx {
        let mask = if len == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(len))
        };
        Pfx {
            fam: 6,
            addr: addr & mask,
            len,
        }
    }

    /// An IPv6 prefix drawn around a few /64 subnets: hosts (/128), the
    /// /64s themselves, lengths between (65-127) and shorter ones.
    fn v6_prefix() -> impl Strategy<Value = Pfx> {
        (0u128..4, 0u128..3, any::<u64>(), 0u64..6, 0u8..8, 0u8..=128).prop_map(
            |(site, net, low, small_low, kind, any_len)| {
                let hi = (0xfd00_0000_0000_0000u128 | (site << 16) | net) << 64;
                let low = if low % 2 == 0 {
                    u128::from(small_low)
                } else {
                    u128::from(low)
                };
                let len = match kind {
                    0..=2 => 128,
                    3 | 4 => 64,
                    5 => 65 + any_len % 63,
                    6 => 48,
                    _ => any_len,
                };
                pfx6(hi | low, len)
            },
        )
    }

    /// The class of the longest prefix holding `a` (prefix `i` has class
    /// `i + 1`; none: class 0).
    fn naive6(ps: &[Pfx], a: u128) -> u32 {
        ps.iter()
            .enumerate()
            .filter(|(_, p)| pfx6(a, p.len).addr == p.addr)
            .max_by_key(|(_, p)| p.len)
            .map_or(0, |(i, _)| u32::try_from(i + 1).unwrap())
    }

    proptest! {
        /// IPv6: the /64-first tables and the trie walk agree with a
        /// naive longest-prefix search, on the prefixes' own addresses,
        /// their neighbours and random addresses of their /64s.
        #[test]
        fn ipv6_agrees_with_naive_longest_prefix(
            prefixes in proptest::collection::vec(v6_prefix(), 0..60),
            lows in proptest::collection::vec(any::<u64>(), 1..30),
        ) {
            let mut ps = prefixes;
            ps.sort_by_key(|p| (p.len, p.addr));
            ps.dedup();
            let mut lpm = Lpm::new(0, 0);
            for (i, p) in ps.iter().enumerate() {
                lpm.insert(*p, u32::try_from(i + 1).unwrap()).unwrap();
            }
            lpm.finish();
            let mut probes = Vec::new();
            for p in &ps {
                for d in [0u128, 1, 2, u128::MAX] {
                    probes.push(p.addr.wrapping_add(d));
                }
                for &l in &lows {
                    probes.push((p.addr & !u128::from(u64::MAX)) | u128::from(l));
                }
            }
            probes.extend(lows.iter().map(|&l| u128::from(l) << 64 | u128::from(l)));
            for a in probes {
                let want = naive6(&ps, a);
                prop_assert_eq!(lpm.walk_v6(a), want, "walk {:x}", a);
                prop_assert_eq!(lpm.lookup_v6(a), want, "lookup {:x}", a);
            }
        }
    }

    /// Hosts left out of the host table (here: every one not in its home
    /// slot) still resolve exactly: their /64 is then left out too.
    #[test]
    fn ipv6_hosts_left_out_fall_back_to_the_walk() {
        let sub: Pfx = "fd00:10::/64".parse::<ipnet::IpNet>().unwrap().into();
        let mut lpm = Lpm::new(0, 7);
        lpm.insert(sub, 1).unwrap();
        for h in 1..=2000u128 {
            lpm.insert(
                Pfx::host(std::net::IpAddr::V6((sub.addr | h).into())),
                100 + u32::try_from(h).unwrap(),
            )
            .unwrap();
        }
        lpm.finish_probing(1);
        assert!((1..=2000u128).any(|h| lpm.v6.host(sub.addr | h).is_none()));
        assert_eq!(lpm.v6.net(u64::try_from(sub.addr >> 64).unwrap()), None);
        for h in 0..=2001u128 {
            assert_eq!(lpm.lookup_v6(sub.addr | h), lpm.walk_v6(sub.addr | h));
        }
        assert_eq!(lpm.lookup_v6(sub.addr | 5), 105);
    }

    /// `check` (run before the judgement reads a trie without bounds
    /// checks) accepts a trie as built and refuses a pointer past the
    /// chunks, a class past the classes and a stray IPv6 hash class.
    #[test]
    fn check_refuses_entries_past_the_chunks_or_the_classes() {
        let mut lpm = Lpm::new(0, 0);
        lpm.insert(pfx4(0x0a00_0000, 8), 1).unwrap();
        lpm.insert(pfx4(0x0a00_0100, 24), 2).unwrap();
        lpm.insert(pfx4(0x0a00_0105, 32), 3).unwrap();
        lpm.insert(pfx6(0xfd00 << 112 | 5, 128), 3).unwrap();
        lpm.finish();
        assert_eq!(lpm.check(4), Ok(()));
        assert!(lpm.check(3).is_err(), "class 3 of 3");
        let chunks = u32::try_from(lpm.nodes.len() / CHUNK).unwrap();
        let mut bad = lpm.clone();
        bad.root4[7] = PTR | chunks;
        assert!(bad.check(4).is_err());
        let mut edge = lpm.clone();
        edge.root6[9] = PTR | (chunks - 1);
        edge.nodes[0] = 3;
        assert_eq!(edge.check(4), Ok(()), "the last chunk, the last class");
        let mut bad = lpm.clone();
        let last = bad.nodes.len() - 1;
        bad.nodes[last] = PTR | chunks;
        assert!(bad.check(4).is_err(), "a chunk's pointer past the chunks");
        let mut bad = lpm.clone();
        bad.root6[9] = 4;
        assert!(bad.check(4).is_err(), "an IPv6 root's class 4 of 4");
        let mut bad = lpm.clone();
        bad.nodes.pop();
        assert!(bad.check(4).is_err());
        let mut bad = lpm.clone();
        bad.v6.hosts[0].class = 9;
        assert!(bad.check(4).is_err());
    }

    #[test]
    fn ipv6_fast_tables_answer_hosts_and_subnets() {
        let sub: Pfx = "fd00:10::/64".parse::<ipnet::IpNet>().unwrap().into();
        let mut lpm = Lpm::new(0, 7);
        lpm.insert(sub, 1).unwrap();
        for h in 1..=200u128 {
            lpm.insert(
                Pfx::host(std::net::IpAddr::V6((sub.addr | h).into())),
                100 + u32::try_from(h).unwrap(),
            )
            .unwrap();
        }
        lpm.finish();
        assert_eq!(lpm.v6.host(sub.addr | 17), Some(117));
        assert_eq!(lpm.v6.host(sub.addr | 201), None);
        assert_eq!(lpm.v6.net(u64::try_from(sub.addr >> 64).unwrap()), Some(1));
        assert_eq!(lpm.lookup_v6(sub.addr | 201), 1);
        assert_eq!(lpm.lookup_v6(sub.addr | 17), 117);
        assert_eq!(lpm.lookup_v6(1), 7);
    }

    #[test]
    fn ipv6_host_and_subnet() {
        let sub: Pfx = "fd00:10::/64".parse::<ipnet::IpNet>().unwrap().into();
        let host = Pfx::host("fd00:10::11".parse().unwrap());
        let mut lpm = Lpm::new(0, 7);
        lpm.insert(sub, 1).unwrap();
        lpm.insert(host, 2).unwrap();
        assert_eq!(lpm.lookup("fd00:10::11".parse().unwrap()), 2);
        assert_eq!(lpm.lookup("fd00:10::12".parse().unwrap()), 1);
        assert_eq!(lpm.lookup("fd00:11::12".parse().unwrap()), 7);
        assert_eq!(lpm.lookup("10.0.0.1".parse().unwrap()), 0);
    }
}
