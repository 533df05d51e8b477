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

use super::prefix::Pfx;

const PTR: u32 = 1 << 31;
const CHUNK: usize = 256;

/// The frozen trie. `Send + Sync`, no interior mutability.
#[derive(Debug, Clone)]
pub struct Lpm {
    root4: Box<[u32]>,
    root6: Box<[u32]>,
    nodes: Vec<u32>,
}

/// The trie would need more chunks than a `u32` pointer can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LpmFull;

impl Lpm {
    /// An empty trie where every address maps to `default4` / `default6`.
    #[must_use]
    pub fn new(default4: u32, default6: u32) -> Lpm {
        Lpm {
            root4: vec![default4; 1 << 16].into_boxed_slice(),
            root6: vec![default6; 1 << 16].into_boxed_slice(),
            nodes: Vec::new(),
        }
    }

    /// Bytes used.
    #[must_use]
    pub fn bytes(&self) -> usize {
        (self.root4.len() + self.root6.len() + self.nodes.len()) * 4
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
    #[inline]
    #[must_use]
    pub fn lookup_v4(&self, a: u32) -> u32 {
        let mut e = self.root4[(a >> 16) as usize];
        if e & PTR == 0 {
            return e;
        }
        e = self.nodes[(e & !PTR) as usize * CHUNK + ((a >> 8) & 0xff) as usize];
        if e & PTR == 0 {
            return e;
        }
        self.nodes[(e & !PTR) as usize * CHUNK + (a & 0xff) as usize]
    }

    /// Class of an IPv6 address.
    #[inline]
    #[allow(clippy::cast_possible_truncation)] // masked to 8 and 16 bits before the cast
    #[must_use]
    pub fn lookup_v6(&self, a: u128) -> u32 {
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
    #[inline]
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
