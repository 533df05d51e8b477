//! Prefixes as integers, and the laminar tree of every prefix a scenario
//! mentions.
//!
//! Any two prefixes are either nested or disjoint, so the set of prefixes
//! that contain an address is a chain, and it is fully described by the
//! deepest one. That is what makes address classes cheap: an address's
//! behaviour under every rule is a function of its deepest containing
//! prefix (its *node*), and a subset of the prefixes (one layer's, one
//! profile's) sees the address as the nearest ancestor-or-self of that node
//! which belongs to the subset.

use std::net::IpAddr;

/// Hash maps of the compiler: ahash, whose keys `AHasher::default()` draws once per process (the
/// `runtime-rng` feature; the twenty-first session's late review): nothing
/// here depends on iteration order, and every output was checked
/// byte-identical across processes.
pub(crate) type HashMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<ahash::AHasher>>;

use ipnet::IpNet;

/// A prefix as (family, network address as an integer, length).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pfx {
    /// 4 or 6.
    pub fam: u8,
    /// Network address, right-aligned (an IPv4 address is its `u32` value).
    pub addr: u128,
    /// Prefix length.
    pub len: u8,
}

impl Pfx {
    /// Address bits of the family.
    #[must_use]
    pub fn bits(self) -> u8 {
        if self.fam == 4 { 32 } else { 128 }
    }

    /// Host bits below the prefix.
    fn host_bits(self) -> u32 {
        u32::from(self.bits() - self.len)
    }

    /// Last address inside.
    #[must_use]
    pub fn last(self) -> u128 {
        let hb = self.host_bits();
        if hb >= 128 {
            u128::MAX
        } else {
            self.addr | ((1u128 << hb) - 1)
        }
    }

    /// Whether `other` lies inside `self` (or equals it).
    #[must_use]
    pub fn covers(self, other: Pfx) -> bool {
        self.fam == other.fam
            && self.len <= other.len
            && other.addr >= self.addr
            && other.addr <= self.last()
    }

    /// Whether the address lies inside.
    #[must_use]
    pub fn contains(self, fam: u8, a: u128) -> bool {
        self.fam == fam && a >= self.addr && a <= self.last()
    }

    /// The root prefix of a family (`0.0.0.0/0` or `::/0`).
    #[must_use]
    pub fn root(fam: u8) -> Pfx {
        Pfx {
            fam,
            addr: 0,
            len: 0,
        }
    }

    /// A host prefix.
    #[must_use]
    pub fn host(ip: IpAddr) -> Pfx {
        let (fam, addr) = addr_key(ip);
        Pfx {
            fam,
            addr,
            len: if fam == 4 { 32 } else { 128 },
        }
    }

    /// The address of an integer in this prefix's family.
    #[must_use]
    pub fn ip(fam: u8, a: u128) -> IpAddr {
        if fam == 4 {
            IpAddr::V4(std::net::Ipv4Addr::from(
                u32::try_from(a).unwrap_or(u32::MAX),
            ))
        } else {
            IpAddr::V6(std::net::Ipv6Addr::from(a))
        }
    }
}

impl From<IpNet> for Pfx {
    fn from(n: IpNet) -> Self {
        let n = n.trunc();
        let (fam, addr) = addr_key(n.network());
        Pfx {
            fam,
            addr,
            len: n.prefix_len(),
        }
    }
}

/// (family, integer) of an address.
#[must_use]
pub fn addr_key(ip: IpAddr) -> (u8, u128) {
    match ip {
        IpAddr::V4(a) => (4, u128::from(u32::from(a))),
        IpAddr::V6(a) => (6, u128::from(a)),
    }
}

/// Index of a node in a [`PrefixTree`].
pub type NodeId = u32;

/// The laminar tree of a set of prefixes, with both family roots always present.
#[derive(Debug, Clone)]
pub struct PrefixTree {
    /// Prefixes, sorted by (family, address, length): parents come before children.
    pub nodes: Vec<Pfx>,
    /// Parent of each node (`u32::MAX` for the two roots).
    pub parent: Vec<NodeId>,
    /// Depth of each node (roots: 0).
    pub depth: Vec<u32>,
    /// One address of each node that no child covers, if any.
    pub own_addr: Vec<Option<u128>>,
    index: HashMap<Pfx, NodeId>,
}

impl PrefixTree {
    /// Builds the tree of the given prefixes (duplicates allowed) plus both roots.
    #[must_use]
    pub fn build(prefixes: impl IntoIterator<Item = Pfx>) -> PrefixTree {
        let mut nodes: Vec<Pfx> = prefixes.into_iter().collect();
        nodes.push(Pfx::root(4));
        nodes.push(Pfx::root(6));
        nodes.sort_unstable();
        nodes.dedup();
        let n = nodes.len();
        let mut parent = vec![u32::MAX; n];
        let mut depth = vec![0u32; n];
        let mut stack: Vec<usize> = Vec::new();
        for i in 0..n {
            while let Some(&top) = stack.last() {
                if nodes[top].covers(nodes[i]) {
                    break;
                }
                stack.pop();
            }
            if let Some(&top) = stack.last() {
                parent[i] = u32::try_from(top).unwrap_or(u32::MAX);
                depth[i] = depth[top] + 1;
            }
            stack.push(i);
        }
        // Own addresses: sweep each node's direct children in address order.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
        for i in 0..n {
            if parent[i] != u32::MAX {
                children[parent[i] as usize].push(i);
            }
        }
        let mut own_addr = vec![None; n];
        for i in 0..n {
            let node = nodes[i];
            let mut cur = node.addr;
            let mut found = None;
            for &c in &children[i] {
                let child = nodes[c];
                if child.addr > cur {
                    found = Some(cur);
                    break;
                }
                match child.last().checked_add(1) {
                    Some(next) => cur = next,
                    None => {
                        cur = u128::MAX;
                        break;
                    }
                }
            }
            if found.is_none() && cur <= node.last() {
                // `cur` may equal u128::MAX after an overflow; it is only an own
                // address if the last child did not end the range.
                let ended = children[i]
                    .last()
                    .is_some_and(|&c| nodes[c].last() == node.last());
                if !ended {
                    found = Some(cur);
                }
            }
            own_addr[i] = found;
        }
        // Sized once: collected from a `filter_map`, the map was grown and
        // rehashed from empty, each time into fresh pages.
        let mut index = HashMap::with_capacity_and_hasher(n, Default::default());
        index.extend(
            nodes
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((*p, u32::try_from(i).ok()?))),
        );
        PrefixTree {
            nodes,
            parent,
            depth,
            own_addr,
            index,
        }
    }

    /// The node of an exact prefix, if it is in the tree.
    #[must_use]
    pub fn find(&self, p: Pfx) -> Option<NodeId> {
        self.index.get(&p).copied()
    }

    /// The deepest node containing an address (slow: for tests and the
    /// reference side; the dataplane uses [`super::lpm::Lpm`]).
    #[must_use]
    pub fn deepest(&self, ip: IpAddr) -> NodeId {
        let (fam, a) = addr_key(ip);
        let mut best = 0usize;
        let mut best_len = None;
        for (i, p) in self.nodes.iter().enumerate() {
            if p.contains(fam, a) && best_len.is_none_or(|l| p.len > l) {
                best = i;
                best_len = Some(p.len);
            }
        }
        u32::try_from(best).unwrap_or(0)
    }

    /// Number of nodes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: both roots are always present.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// For every node, whether it or one of its ancestors is marked: one
    /// pass in node order (parents come before children), so that "does
    /// any of these prefixes cover node `n`" is one read instead of a scan
    /// of the prefixes (which are in the tree: a prefix of the tree covers
    /// exactly its subtree).
    #[must_use]
    pub fn covered(&self, marked: &[bool]) -> Vec<bool> {
        let mut out: Vec<bool> = Vec::with_capacity(self.nodes.len());
        for (i, &p) in self.parent.iter().enumerate() {
            let by_parent = out.get(p as usize).copied().unwrap_or(false);
            out.push(marked.get(i).copied().unwrap_or(false) || by_parent);
        }
        out
    }

    /// The nearest ancestor-or-self of `n` for which `marked` is true.
    #[must_use]
    pub fn nearest_marked(&self, mut n: NodeId, marked: &[bool]) -> Option<NodeId> {
        loop {
            if marked[n as usize] {
                return Some(n);
            }
            let p = self.parent[n as usize];
            if p == u32::MAX {
                return None;
            }
            n = p;
        }
    }

    /// Ancestors-or-self of `n`, deepest first.
    pub fn chain(&self, n: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let mut cur = Some(n);
        std::iter::from_fn(move || {
            let c = cur?;
            let p = self.parent[c as usize];
            cur = if p == u32::MAX { None } else { Some(p) };
            Some(c)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Pfx, PrefixTree};

    /// `covered` agrees with asking every marked prefix whether it covers
    /// the node, on nested, disjoint and duplicate prefixes of both families.
    #[test]
    fn covered_is_any_marked_prefix_covering_the_node() {
        let p = |fam: u8, addr: u128, len: u8| Pfx { fam, addr, len };
        let v4 = |a: [u8; 4], len: u8| p(4, u128::from(u32::from_be_bytes(a)), len);
        let prefixes = vec![
            v4([10, 0, 0, 0], 8),
            v4([10, 1, 0, 0], 16),
            v4([10, 1, 2, 0], 24),
            v4([10, 1, 2, 3], 32),
            v4([10, 2, 0, 0], 16),
            v4([10, 2, 0, 0], 16),
            v4([192, 168, 0, 0], 16),
            v4([192, 168, 1, 0], 24),
            p(6, 0xfd00 << 112, 8),
            p(6, 0xfd00_0001 << 96, 32),
        ];
        let tree = PrefixTree::build(prefixes);
        // Every subset of the nodes as the marked set.
        let n = tree.len();
        assert!(n <= 16);
        for mask in 0u32..(1 << n) {
            let marked: Vec<bool> = (0..n).map(|i| mask & (1 << i) != 0).collect();
            let covered = tree.covered(&marked);
            for (i, node) in tree.nodes.iter().enumerate() {
                let want = (0..n).any(|m| marked[m] && tree.nodes[m].covers(*node));
                assert_eq!(covered[i], want, "mask {mask:b}, node {node:?}");
            }
        }
    }
}
