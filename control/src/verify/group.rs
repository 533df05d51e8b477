//! The endpoints of a selector grouped by what the compiled table judges
//! them by, so `verify` judges once per pair of groups instead of once per
//! pair of endpoints.
//!
//! [`Compiled::judge`] is `judge_classes(address_class(src),
//! address_class(dst), service_class(..))`: two addresses of one address
//! class get the same judgement and deciding rules against every peer and
//! service. One exception, DHCP with a subnet's virtual router (decision
//! 36, `compile/virtual_router.rs`), is decided by addresses and ports
//! beside the classes, and keeps the grouping exact: the router's class
//! is flagged apart from every other address, a VNIC's class and a
//! router's are each within one subnet (both keys name it), and
//! `run::path_port_runs` gives DHCP's ports runs of their own. A group is one (address class, family) of the expansion: the
//! family is part of the key because the pairs `verify` judges (and skips)
//! depend on it, and one class may hold addresses of both families.
//!
//! Endpoint pairs are only counted here (`u64`), never listed: a pair of
//! groups `(g, h)` stands for `|g| × |h|` pairs, less the pairs of one
//! address with itself (an address in both expansions is in the groups of
//! one key on both sides).

use std::collections::BinaryHeap;
use std::net::IpAddr;

use crate::compile::{ClassId, Compiled};

/// Hash maps keyed by addresses and classes: ahash, as in the compiler
/// (SipHash took a third of the grouping's time); its keys are drawn once
/// per process, and nothing here depends on iteration order.
type HashMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<ahash::AHasher>>;

/// The addresses of one expansion, in expansion order, grouped.
#[derive(Debug)]
pub(super) struct Endpoints {
    /// The addresses (no duplicates: `selector::expand` removes them).
    pub addrs: Vec<IpAddr>,
    /// The group of each address (an index into `groups`).
    pub group_of: Vec<u32>,
    /// The groups, numbered in the order of their first address.
    pub groups: Vec<Group>,
    /// The position of each address in `addrs`.
    position: HashMap<IpAddr, u32>,
    /// Groups of IPv4 addresses and of IPv6 addresses.
    n_groups: [u64; 2],
}

/// One (address class, family) of an expansion.
#[derive(Debug)]
pub(super) struct Group {
    /// IPv4 (else IPv6).
    pub v4: bool,
    /// Positions of its addresses in [`Endpoints::addrs`], ascending.
    pub members: Vec<u32>,
}

impl Endpoints {
    /// Groups `addrs` by the compiled table's address class and family.
    /// Linear in the addresses.
    pub fn new(c: &Compiled, addrs: Vec<IpAddr>) -> Self {
        let mut key_of: HashMap<(ClassId, bool), u32> = HashMap::default();
        let mut groups: Vec<Group> = Vec::new();
        let mut group_of = Vec::with_capacity(addrs.len());
        let mut position = HashMap::with_capacity_and_hasher(addrs.len(), Default::default());
        for (i, &a) in addrs.iter().enumerate() {
            // Positions fit u32: the expansion of a selector is at most the
            // scenario's private IPs (plus a few), and `Limits` bounds them
            // far below 2^32.
            let pos = u32::try_from(i).unwrap_or(u32::MAX);
            let key = (c.address_class(a), a.is_ipv4());
            let next = u32::try_from(groups.len()).unwrap_or(u32::MAX);
            let g = *key_of.entry(key).or_insert(next);
            if g == next {
                groups.push(Group {
                    v4: key.1,
                    members: Vec::new(),
                });
            }
            groups[g as usize].members.push(pos);
            group_of.push(g);
            position.insert(a, pos);
        }
        let v4 = groups.iter().filter(|g| g.v4).count() as u64;
        let n_groups = [v4, groups.len() as u64 - v4];
        Endpoints {
            addrs,
            group_of,
            groups,
            position,
            n_groups,
        }
    }

    /// The groups of one family.
    pub fn groups_of(&self, v4: bool) -> u64 {
        self.n_groups[usize::from(!v4)]
    }
}

/// What [`shared`] finds: per source group, the destination group of its
/// key and how many addresses they share.
pub(super) type Shared = Vec<Option<(u32, u64)>>;

/// For each source group, the destination group holding the same
/// addresses (one key: same class and family) and how many addresses the
/// two share: the pairs of one address with itself, which are not judged.
pub(super) fn shared(srcs: &Endpoints, dsts: &Endpoints) -> Shared {
    let mut out: Shared = vec![None; srcs.groups.len()];
    for (i, a) in srcs.addrs.iter().enumerate() {
        if let Some(&pos) = dsts.position.get(a) {
            let h = dsts.group_of[pos as usize];
            let slot = &mut out[srcs.group_of[i] as usize];
            match slot {
                Some((_, n)) => *n += 1,
                None => *slot = Some((h, 1)),
            }
        }
    }
    out
}

/// The endpoint pairs a pair of groups stands for.
pub(super) fn pairs(
    srcs: &Endpoints,
    dsts: &Endpoints,
    shared: &[Option<(u32, u64)>],
    g: u32,
    h: u32,
) -> u64 {
    let n =
        srcs.groups[g as usize].members.len() as u64 * dsts.groups[h as usize].members.len() as u64;
    match shared[g as usize] {
        Some((hh, k)) if hh == h => n - k,
        _ => n,
    }
}

/// A pair of two different addresses standing for the pair of groups
/// `(g, h)`, which must stand for at least one pair: the first source
/// address and the first destination address that differs from it.
pub(super) fn representative(
    srcs: &Endpoints,
    dsts: &Endpoints,
    g: u32,
    h: u32,
) -> Option<(IpAddr, IpAddr)> {
    let sg = &srcs.groups[g as usize].members;
    let dh = &dsts.groups[h as usize].members;
    for &i in sg.iter().take(2) {
        let a = srcs.addrs[i as usize];
        for &j in dh.iter().take(2) {
            let b = dsts.addrs[j as usize];
            if a != b {
                return Some((a, b));
            }
        }
    }
    None
}

/// The first `limit` failing endpoint pairs in the order of the old
/// pair-by-pair loop: sources in expansion order, and for each source its
/// destinations in expansion order. `failing[g]` lists the destination
/// groups whose pair with source group `g` fails. Each pair comes with its
/// source and destination groups.
///
/// Cost: one look per source whose group fails with nothing; for the
/// others, a merge of the failing groups' member lists (a heap over the
/// groups), taking at most `limit` pairs in all. A source whose only
/// failing destination is itself takes a single look too (its group's list
/// is that one address).
pub(super) fn first_failing(
    srcs: &Endpoints,
    dsts: &Endpoints,
    failing: &[Vec<u32>],
    limit: usize,
) -> Vec<(IpAddr, IpAddr, u32, u32)> {
    let mut out = Vec::new();
    if limit == 0 {
        return out;
    }
    for (i, &a) in srcs.addrs.iter().enumerate() {
        let g = srcs.group_of[i];
        let hs = &failing[g as usize];
        if hs.is_empty() {
            continue;
        }
        // Min-heap of (next destination position, group, index in its list).
        let mut heap: BinaryHeap<std::cmp::Reverse<(u32, u32, usize)>> = hs
            .iter()
            .filter_map(|&h| {
                let m = &dsts.groups[h as usize].members;
                m.first().map(|&p| std::cmp::Reverse((p, h, 0)))
            })
            .collect();
        while let Some(std::cmp::Reverse((p, h, k))) = heap.pop() {
            let b = dsts.addrs[p as usize];
            if b != a {
                out.push((a, b, g, h));
                if out.len() == limit {
                    return out;
                }
            }
            if let Some(&next) = dsts.groups[h as usize].members.get(k + 1) {
                heap.push(std::cmp::Reverse((next, h, k + 1)));
            }
        }
    }
    out
}
