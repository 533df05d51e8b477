//! The address classes: every address node's keys (its route key, its
//! security peer keys per direction and profile, its ZPR peer and
//! profile), each numbered in the order of the node that first has it,
//! and the class of every node (the same numbering for the tuple of its
//! keys and flags).
//!
//! A tree with many nodes (10^4 VNIC addresses and more) has them keyed
//! in parts, through the loader's [`Jobs`] (on its threads when it has
//! them: the second core was idle through this loop, ~36 M instructions
//! on the 10k-VNIC scenario, docs/benchmarks.md, the thirty-third
//! session). Each part numbers its own keys in the order its nodes first
//! have them; the parts are joined in node order, each part's keys in
//! its own order, so every key gets the number the one pass over all the
//! nodes gives it: a key first seen in part `k` is new to the parts
//! before it, and the parts' keys come in node order. The tables are the
//! same whatever the runner and however many parts.
//!
//! In a part a node's keys are small: an NSG membership or an attribute
//! set is looked up by slice in the part's own list of them (built in one
//! buffer, no allocation per node), a VNIC's NSG list is borrowed from the
//! scenario; the keys the rest of the compile reads (with their lists)
//! are made at the join, once per distinct key of a part.

use std::hash::Hash;
use std::ops::Range;
use std::sync::OnceLock;

use super::super::HashMap;
use super::super::prefix::{NodeId, Pfx};
use super::super::table::ClassInfo;
use super::super::{CompileError, ProfileId};
use super::{Builder, Ident, ZPeer, ZSelf, peer_order, route, rules_unknown};
use crate::ids::{NsgId, SubnetId, VcnId};
use crate::load::Jobs;
use crate::model::{Attribute, Endpoint, ZprRole, zpr_role};

/// A node's route key: the nearest route-marked prefix, and the VNIC's
/// view when the node is a VNIC address.
pub(super) type RouteKey = (Option<NodeId>, Option<route::RouteVnic>);
/// A security peer key: the nearest prefix a rule of the direction names,
/// and the NSGs (named by such a rule) the node's VNIC is in.
pub(super) type SecPeerKey = (Option<NodeId>, Vec<NsgId>);
/// A security profile: the VNIC's NSGs, its subnet, and whether its rules
/// are not all known ([`rules_unknown`]).
pub(super) type SecProfileKey = (Vec<NsgId>, SubnetId, bool);

/// Nodes per part: a tree with fewer than twice this many is keyed in one
/// pass (a part's thread and join cost more than its share).
const PART_NODES: usize = 2048;

/// At most this many parts (and no more than the [`Jobs`] has threads).
const MAX_PARTS: usize = 8;

/// What the loop reads besides the builder: the layers' marks.
pub(super) struct Marks<'m> {
    pub(super) vcn: &'m [Option<VcnId>],
    pub(super) route: &'m [bool],
    pub(super) eg: &'m [bool],
    pub(super) ingress: &'m [bool],
    pub(super) zpr: &'m [bool],
    /// Per NSG: whether a rule of each direction names it.
    pub(super) eg_nsgs: &'m [bool],
    pub(super) in_nsgs: &'m [bool],
    pub(super) exempt_node: NodeId,
    pub(super) in_lost_subnet: &'m [bool],
    pub(super) undelivered: &'m [bool],
    /// The first hosts of IPv4 subnet blocks
    /// (`compile/virtual_router.rs`).
    pub(super) at_router: &'m [bool],
    /// [`super::nsgs_naming_unknown_members`].
    pub(super) naming_unknown: &'m [bool],
}

/// The keys and classes, numbered as the one pass over the nodes does.
pub(super) struct Classes<'s> {
    pub(super) route_keys: Vec<RouteKey>,
    pub(super) eg_keys: Vec<SecPeerKey>,
    pub(super) in_keys: Vec<SecPeerKey>,
    pub(super) sec_profiles: Vec<SecProfileKey>,
    pub(super) zpeers: Vec<ZPeer<'s>>,
    pub(super) zselves: Vec<ZSelf<'s>>,
    pub(super) classes: Vec<ClassInfo>,
    /// Class of every node (0 for a node without an address of its own).
    pub(super) node_class: Vec<u32>,
    /// Per direction (egress, ingress, ZPR): the peer classes holding a
    /// VNIC address, numbered first later (`peer_order.rs`).
    pub(super) vnic_peers: [Vec<bool>; 3],
}

/// Dense ids for keys, in the order they are first given.
struct Interner<K> {
    keys: Vec<K>,
    index: HashMap<K, u32>,
}

impl<K: Hash + Eq + Clone> Interner<K> {
    fn new() -> Self {
        Interner {
            keys: Vec::new(),
            index: HashMap::default(),
        }
    }

    /// The id of `k` (one hash, new or not).
    fn id(&mut self, k: K) -> u32 {
        let next = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        match self.index.entry(k) {
            std::collections::hash_map::Entry::Occupied(e) => *e.get(),
            std::collections::hash_map::Entry::Vacant(e) => {
                self.keys.push(e.key().clone());
                *e.insert(next)
            }
        }
    }
}

impl<T: Hash + Eq + Clone> Interner<Vec<T>> {
    /// The id of the list `k`, looked up by slice: copied only when new.
    fn id_of(&mut self, k: &[T]) -> u32 {
        if let Some(&i) = self.index.get(k) {
            return i;
        }
        let next = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.keys.push(k.to_vec());
        self.index.insert(k.to_vec(), next);
        next
    }
}

/// A part's class of a node without an address of its own (its class in
/// the whole stays 0, as the one pass leaves it).
const NO_CLASS: u32 = u32::MAX;

/// A node's class in a part: its keys as the part's own ids.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct LocalClass {
    route: u32,
    sec_profile: Option<u32>,
    zpr_profile: Option<u32>,
    eg_peer: u32,
    in_peer: u32,
    zpr_peer: u32,
    flags: u32,
}

/// The nodes of a range, keyed with the part's own ids.
struct Part<'s> {
    range: Range<usize>,
    route: Vec<RouteKey>,
    /// `(region, membership)`: an index into `sets`.
    eg: Vec<(Option<NodeId>, u32)>,
    ingress: Vec<(Option<NodeId>, u32)>,
    sets: Vec<Vec<NsgId>>,
    sec: Vec<(&'s [NsgId], SubnetId, bool)>,
    /// `(region, VCN, attributes)`: an index into `attr_sets`.
    zpeers: Vec<(Option<NodeId>, Option<VcnId>, u32)>,
    /// `(audited, attributes, VCN, region)`.
    zselves: Vec<(bool, u32, VcnId, Option<NodeId>)>,
    attr_sets: Vec<Vec<&'s Attribute>>,
    classes: Vec<LocalClass>,
    /// The part's class of each node of `range` ([`NO_CLASS`] for a node
    /// without an address of its own).
    node_class: Vec<u32>,
    hot: [Vec<bool>; 3],
}

impl<'s> Builder<'s> {
    /// Every address node's keys and class ([`Classes`]), in parts on
    /// `jobs`' threads when the tree is large.
    pub(super) fn classes(
        &self,
        marks: &Marks<'_>,
        jobs: &dyn Jobs,
    ) -> Result<Classes<'s>, CompileError> {
        let n = self.tree.len();
        let parts = (n / PART_NODES).min(jobs.threads()).clamp(1, MAX_PARTS);
        let bound = |k: usize| k.saturating_mul(n) / parts;
        let done: Vec<Part<'s>> = if parts == 1 {
            vec![self.key_range(marks, 0..n)]
        } else {
            let slots: Vec<OnceLock<Part<'s>>> = (0..parts).map(|_| OnceLock::new()).collect();
            jobs.run(parts, &|k| {
                if let Some(slot) = slots.get(k) {
                    let _ = slot.set(self.key_range(marks, bound(k)..bound(k + 1)));
                }
            });
            // A part the runner did not run is keyed here.
            slots
                .into_iter()
                .enumerate()
                .map(|(k, slot)| {
                    slot.into_inner()
                        .unwrap_or_else(|| self.key_range(marks, bound(k)..bound(k + 1)))
                })
                .collect()
        };
        join(done, n)
    }

    /// One pass over the nodes of `range`, in order.
    fn key_range(&self, m: &Marks<'_>, range: Range<usize>) -> Part<'s> {
        let s = self.s;
        let tree = &self.tree;
        let mut route: Interner<RouteKey> = Interner::new();
        let mut eg: Interner<(Option<NodeId>, u32)> = Interner::new();
        let mut ingress: Interner<(Option<NodeId>, u32)> = Interner::new();
        let mut sets: Interner<Vec<NsgId>> = Interner::new();
        let mut sec: Interner<(&'s [NsgId], SubnetId, bool)> = Interner::new();
        let mut zpeers: Interner<(Option<NodeId>, Option<VcnId>, u32)> = Interner::new();
        let mut zselves: Interner<(bool, u32, VcnId, Option<NodeId>)> = Interner::new();
        let mut attr_sets: Interner<Vec<&'s Attribute>> = Interner::new();
        let mut classes: Interner<LocalClass> = Interner::new();
        // `NO_CLASS` for a node without an address of its own.
        let mut node_class = vec![NO_CLASS; range.len()];
        let mut hot: [Vec<bool>; 3] = Default::default();
        // One buffer for every node's NSG membership and attribute set.
        let mut members: Vec<NsgId> = Vec::new();
        let mut attrs: Vec<&'s Attribute> = Vec::new();
        let exempt_len = tree
            .nodes
            .get(m.exempt_node as usize)
            .is_some_and(|p| p.len == 16);
        let mut membership = |ident: Ident, named: &[bool], sets: &mut Interner<_>| {
            members.clear();
            if let Ident::Vnic(v) = ident {
                members.extend(
                    s.vnics[v.index()]
                        .nsgs
                        .iter()
                        .copied()
                        .filter(|x| named.get(x.index()).copied().unwrap_or(false)),
                );
                members.sort_unstable();
                members.dedup();
            }
            sets.id_of(&members)
        };
        let start = range.start;
        for n in range {
            if tree.own_addr[n].is_none() {
                continue;
            }
            let nid = u32::try_from(n).unwrap_or(u32::MAX);
            let ident = self.ident(nid);
            let vnic = match ident {
                Ident::Vnic(v) => Some((v, &s.vnics[v.index()])),
                Ident::Other => None,
            };
            let exempt = exempt_len && tree.chain(nid).any(|a| a == m.exempt_node);
            let route_region = tree.nearest_marked(nid, m.route);
            // The node's own address: the VNIC's address whose host
            // prefix is this node (the tree holds each once).
            let route_vnic = vnic.map(|(v, vn)| {
                let here = tree.nodes[n];
                let own = vn
                    .private_ips
                    .iter()
                    .copied()
                    .find(|a| Pfx::host(*a) == here);
                route::RouteVnic::of(s, v, own)
            });
            let route = route.id((route_region, route_vnic));
            let eg_set = membership(ident, m.eg_nsgs, &mut sets);
            let eg_peer = eg.id((tree.nearest_marked(nid, m.eg), eg_set));
            let in_set = membership(ident, m.in_nsgs, &mut sets);
            let in_peer = ingress.id((tree.nearest_marked(nid, m.ingress), in_set));
            let sec_profile = vnic.map(|(v, vn)| {
                sec.id((
                    vn.nsgs.as_slice(),
                    vn.subnet,
                    rules_unknown(s, v, m.naming_unknown),
                ))
            });
            let zregion = tree.nearest_marked(nid, m.zpr);
            let vcn = self.vcn_of(m.vcn, nid);
            attrs.clear();
            if let Some((_, vn)) = vnic {
                // Sorted attribute set of the VNIC (any mode).
                attrs.extend(vn.attributes.iter().map(|x| &x.attribute));
                attrs.sort();
                attrs.dedup();
            }
            let attr_set = attr_sets.id_of(&attrs);
            let zpr_peer = zpeers.id((zregion, vcn, attr_set));
            if vnic.is_some() {
                for (hot, id) in hot.iter_mut().zip([eg_peer, in_peer, zpr_peer]) {
                    peer_order::mark(hot, id);
                }
            }
            let zpr_self = vnic.and_then(|(v, _)| match zpr_role(s, Endpoint::Vnic(v)) {
                ZprRole::None => None,
                role => {
                    let audited = role == ZprRole::Audited;
                    Some((
                        zselves.id((audited, attr_set, s.vnic_vcn(v), zregion)),
                        audited,
                    ))
                }
            });
            let mut flags = 0;
            if exempt {
                flags |= ClassInfo::EXEMPT;
            }
            if m.undelivered.get(n).copied().unwrap_or(false) {
                flags |= ClassInfo::UNDELIVERABLE;
            }
            if vnic.is_some() {
                flags |= ClassInfo::VNIC;
            } else if m.in_lost_subnet.get(n).copied().unwrap_or(false) {
                flags |= ClassInfo::MAY_BE_LOST_VNIC;
            }
            if vnic.is_none() && m.at_router.get(n).copied().unwrap_or(false) {
                flags |= ClassInfo::VIRTUAL_ROUTER;
            }
            if zpr_self.is_some_and(|(_, audited)| audited) {
                flags |= ClassInfo::ZPR_AUDITED;
            }
            node_class[n - start] = classes.id(LocalClass {
                route,
                sec_profile,
                zpr_profile: zpr_self.map(|(id, _)| id),
                eg_peer,
                in_peer,
                zpr_peer,
                flags,
            });
        }
        Part {
            range: start..start + node_class.len(),
            route: route.keys,
            eg: eg.keys,
            ingress: ingress.keys,
            sets: sets.keys,
            sec: sec.keys,
            zpeers: zpeers.keys,
            zselves: zselves.keys,
            attr_sets: attr_sets.keys,
            classes: classes.keys,
            node_class,
            hot,
        }
    }
}

/// The parts joined in node order: each part's keys, in its order, given
/// their numbers in the whole (see the module's comment).
fn join(parts: Vec<Part<'_>>, n_nodes: usize) -> Result<Classes<'_>, CompileError> {
    let mut route: Interner<RouteKey> = Interner::new();
    let mut eg: Interner<SecPeerKey> = Interner::new();
    let mut ingress: Interner<SecPeerKey> = Interner::new();
    let mut sec: Interner<SecProfileKey> = Interner::new();
    let mut zpeers: Interner<ZPeer<'_>> = Interner::new();
    let mut zselves: Interner<ZSelf<'_>> = Interner::new();
    let mut classes: Interner<ClassInfo> = Interner::new();
    let mut node_class = vec![0u32; n_nodes];
    let mut vnic_peers: [Vec<bool>; 3] = Default::default();
    let profile_id =
        |i: u32| ProfileId::new(i as usize).map_err(|_| CompileError::Internal("profile id"));
    for p in parts {
        let route_id: Vec<u32> = p.route.iter().map(|k| route.id(*k)).collect();
        let peer_ids = |keys: &[(Option<NodeId>, u32)], whole: &mut Interner<SecPeerKey>| {
            keys.iter()
                .map(|&(region, set)| whole.id((region, p.sets[set as usize].clone())))
                .collect::<Vec<u32>>()
        };
        let eg_id = peer_ids(&p.eg, &mut eg);
        let in_id = peer_ids(&p.ingress, &mut ingress);
        let sec_id: Vec<u32> = p
            .sec
            .iter()
            .map(|&(nsgs, subnet, unknown)| sec.id((nsgs.to_vec(), subnet, unknown)))
            .collect();
        let zpeer_id: Vec<u32> = p
            .zpeers
            .iter()
            .map(|&(region, vcn, a)| {
                zpeers.id(ZPeer {
                    region,
                    vcn,
                    attrs: p.attr_sets[a as usize].clone(),
                })
            })
            .collect();
        let zself_id: Vec<u32> = p
            .zselves
            .iter()
            .map(|&(audited, a, vcn, region)| {
                zselves.id(ZSelf {
                    audited,
                    attrs: p.attr_sets[a as usize].clone(),
                    vcn,
                    region,
                })
            })
            .collect();
        let mut class_id = Vec::with_capacity(p.classes.len());
        for c in &p.classes {
            let id = |ids: &[u32], i: u32| ids[i as usize];
            class_id.push(
                classes.id(ClassInfo {
                    route: id(&route_id, c.route),
                    sec_profile: c
                        .sec_profile
                        .map(|i| profile_id(id(&sec_id, i)))
                        .transpose()?,
                    zpr_profile: c
                        .zpr_profile
                        .map(|i| profile_id(id(&zself_id, i)))
                        .transpose()?,
                    eg_peer: id(&eg_id, c.eg_peer),
                    in_peer: id(&in_id, c.in_peer),
                    zpr_peer: id(&zpeer_id, c.zpr_peer),
                    flags: c.flags,
                }),
            );
        }
        for ((whole, part), ids) in vnic_peers
            .iter_mut()
            .zip(&p.hot)
            .zip([&eg_id, &in_id, &zpeer_id])
        {
            for (i, &h) in part.iter().enumerate() {
                if h {
                    peer_order::mark(whole, ids[i]);
                }
            }
        }
        for (out, &c) in node_class[p.range].iter_mut().zip(&p.node_class) {
            if c != NO_CLASS {
                *out = class_id[c as usize];
            }
        }
    }
    Ok(Classes {
        route_keys: route.keys,
        eg_keys: eg.keys,
        in_keys: ingress.keys,
        sec_profiles: sec.keys,
        zpeers: zpeers.keys,
        zselves: zselves.keys,
        classes: classes.keys,
        node_class,
        vnic_peers,
    })
}
