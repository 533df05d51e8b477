//! The order of a layer's global peer classes: for security, coarse
//! classes first, then each peer domain's ([`fold_peers`]; the folded
//! rows of [`SecurityLayer`]); in every group the classes that hold a
//! VNIC address first.
//!
//! A peer remap row ([`super::SidedLayer`]) is indexed by global peer
//! class and read at the class of the packet's other end. Traffic between
//! VNICs, most of it, reads only the entries of classes that hold a VNIC
//! address; numbered first, those entries are the first bytes of every
//! row, so the lines that traffic touches are a row's first
//! `⌈VNIC classes × width / 512⌉` instead of lines spread over the whole
//! row (the thirty-first session's judgement work, docs/benchmarks.md).
//! The tables are the same up to that renumbering: nothing a look-up
//! returns changes.

use std::collections::BTreeSet;

use super::HashMap;
use super::{PeerFold, PeerFolding};
use crate::ids::{NsgId, VcnId};
use crate::model::Scenario;

/// Reorders `keys` (dense ids in first-occurrence order) so that the keys
/// with `hot[id]` come first, each group in its old order, and returns the
/// new id of every old id.
pub(super) fn hot_first<K>(keys: &mut Vec<K>, hot: &[bool]) -> Vec<u32> {
    let is_hot = |i: usize| hot.get(i).copied().unwrap_or(false);
    let order: Vec<usize> = (0..keys.len())
        .filter(|&i| is_hot(i))
        .chain((0..keys.len()).filter(|&i| !is_hot(i)))
        .collect();
    let mut new_id = vec![0u32; keys.len()];
    for (new, &old) in order.iter().enumerate() {
        // Ids came from `u32`s, so their count fits one.
        new_id[old] = u32::try_from(new).unwrap_or(u32::MAX);
    }
    let mut slots: Vec<Option<K>> = keys.drain(..).map(Some).collect();
    keys.extend(order.iter().filter_map(|&old| slots[old].take()));
    new_id
}

/// The security layer's peer classes folded ([`SecurityLayer`]): the
/// new id of every old key id, the folding (its `slot_dom` still empty:
/// the builder adds one per container), and the peer domain of each VCN
/// whose NSGs some class is in.
pub(super) struct Folded {
    pub(super) new_id: Vec<u32>,
    pub(super) fold: PeerFolding,
    pub(super) dom_of_vcn: HashMap<VcnId, u8>,
}

impl Folded {
    /// The peer domain of a container whose rules name `named` (in this
    /// direction): the domain of their VCN, or [`PeerFold::NO_DOMAIN`]
    /// when they name none, when no class is in an NSG of that VCN, or
    /// when they span VCNs (which the row check then finds, and the layer
    /// is flat).
    pub(super) fn container_dom(&self, s: &Scenario, named: &BTreeSet<NsgId>) -> u8 {
        let mut vcns = named.iter().map(|n| s.nsgs[n.index()].vcn);
        match vcns.next() {
            Some(v) if vcns.all(|w| w == v) => self
                .dom_of_vcn
                .get(&v)
                .copied()
                .unwrap_or(PeerFold::NO_DOMAIN),
            _ => PeerFold::NO_DOMAIN,
        }
    }
}

/// Orders a security layer's peer keys `(region, NSG membership)` (dense
/// ids in first-occurrence order): first the coarse keys (no membership),
/// adding `(region, [])` for every region that has only keys with one,
/// then the keys of each peer domain (the VCN of their NSGs) together;
/// in each group the keys with `hot[id]` (a VNIC address) first. Flat (the
/// keys only put hot first, every class coarse) when a membership spans
/// VCNs or there are more domains than a `u8` names.
pub(super) fn fold_peers<R: Copy + Eq + std::hash::Hash>(
    s: &Scenario,
    keys: &mut Vec<(R, Vec<NsgId>)>,
    hot: &[bool],
) -> Folded {
    let is_hot = |i: usize| hot.get(i).copied().unwrap_or(false);
    let flat = |keys: &mut Vec<(R, Vec<NsgId>)>| {
        let new_id = hot_first(keys, hot);
        let n = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        Folded {
            new_id,
            fold: PeerFolding::flat(n, 0),
            dom_of_vcn: HashMap::default(),
        }
    };
    // The domain of every key: None for a coarse one.
    let mut dom_of_vcn: HashMap<VcnId, u8> = HashMap::default();
    let mut key_dom: Vec<Option<u8>> = Vec::with_capacity(keys.len());
    for (_, m) in keys.iter() {
        let mut vcns = m.iter().map(|n| s.nsgs[n.index()].vcn);
        let Some(v) = vcns.next() else {
            key_dom.push(None);
            continue;
        };
        if !vcns.all(|w| w == v) {
            return flat(keys);
        }
        let next = dom_of_vcn.len();
        let d = *dom_of_vcn
            .entry(v)
            .or_insert_with(|| u8::try_from(next).unwrap_or(u8::MAX));
        if d >= PeerFold::COARSE {
            return flat(keys);
        }
        key_dom.push(Some(d));
    }
    // Every region's coarse key, added when missing.
    let mut coarse_of: HashMap<R, usize> = HashMap::default();
    for (i, (r, m)) in keys.iter().enumerate() {
        if m.is_empty() {
            coarse_of.insert(*r, i);
        }
    }
    let n_old = keys.len();
    for i in 0..n_old {
        let r = keys[i].0;
        if let std::collections::hash_map::Entry::Vacant(e) = coarse_of.entry(r) {
            e.insert(keys.len());
            keys.push((r, Vec::new()));
            key_dom.push(None);
        }
    }
    // The order: coarse keys, then each domain's; hot first in each.
    let n_dom = dom_of_vcn.len();
    let group = |i: usize| key_dom[i].map_or(0, |d| 1 + usize::from(d));
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| (group(i), !is_hot(i)));
    let mut starts = vec![0usize; n_dom + 2];
    for &i in &order {
        starts[group(i) + 1] += 1;
    }
    for g in 1..starts.len() {
        starts[g] += starts[g - 1];
    }
    let n_coarse = starts[1];
    if keys.len() > PeerFold::FINE_MASK as usize {
        return flat(keys);
    }
    let as_u32 = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    let mut new_id = vec![0u32; keys.len()];
    for (new, &old) in order.iter().enumerate() {
        new_id[old] = as_u32(new);
    }
    let peers: Vec<PeerFold> = order
        .iter()
        .enumerate()
        .map(|(new, &old)| match key_dom[old] {
            None => PeerFold::coarse(as_u32(new)),
            Some(d) => {
                let start = starts[1 + usize::from(d)];
                PeerFold {
                    coarse: new_id[coarse_of[&keys[old].0]],
                    fine: as_u32(n_coarse + new - start) | u32::from(d) << 24,
                }
            }
        })
        .collect();
    let mut slots: Vec<Option<(R, Vec<NsgId>)>> = keys.drain(..).map(Some).collect();
    keys.extend(order.iter().filter_map(|&old| slots[old].take()));
    Folded {
        new_id,
        fold: PeerFolding {
            peers,
            slot_dom: Vec::new(),
            n_coarse: as_u32(n_coarse),
            dom_len: (0..n_dom)
                .map(|d| as_u32(starts[d + 2] - starts[d + 1]))
                .collect(),
            dom_start: (0..n_dom).map(|d| as_u32(starts[d + 1])).collect(),
        },
        dom_of_vcn,
    }
}

/// Marks id `id` in `hot`, growing it as needed.
pub(super) fn mark(hot: &mut Vec<bool>, id: u32) {
    let i = id as usize;
    if hot.len() <= i {
        hot.resize(i + 1, false);
    }
    hot[i] = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_keys_come_first_in_their_old_order() {
        let mut keys = vec!['a', 'b', 'c', 'd', 'e'];
        let mut hot = Vec::new();
        mark(&mut hot, 3);
        mark(&mut hot, 1);
        let new_id = hot_first(&mut keys, &hot);
        assert_eq!(keys, vec!['b', 'd', 'a', 'c', 'e']);
        assert_eq!(new_id, vec![2, 0, 3, 1, 4]);
        for (old, &new) in new_id.iter().enumerate() {
            assert_eq!(keys[new as usize], ['a', 'b', 'c', 'd', 'e'][old]);
        }
    }
}
