//! The builder: a scenario becomes the tables of [`super::table`].

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use super::HashMap;
use super::lpm::Lpm;
use super::prefix::{NodeId, Pfx, PrefixTree};
use super::service::{ServiceClasses, ServiceCond};
use super::{CompileError, Config};
use crate::ids::{NsgId, RouteTableId, SecurityListId, SubnetId, VcnId, VnicId};
use crate::model::{
    Attribute, Direction, Endpoint, Peer, RouteDestination, RouteTarget, Scenario, SecurityRule,
    ZprRole, zpr_role,
};
use crate::packet::Packet;
use crate::verdict::RuleRef;
use crate::zpl::ast::{ConnectionState, Endpoint as Term, Statement, StatementKind};

use super::table::*;
use crate::ids::ProfileId;

impl Compiled {
    /// Compiles a scenario.
    ///
    /// # Errors
    /// When a [`Config`] limit is exceeded.
    pub fn new(s: &Scenario, cfg: &Config) -> Result<Compiled, CompileError> {
        let t0 = Instant::now();
        let mut c = Builder::new(s, cfg)?.build()?;
        c.stats.compile_s = t0.elapsed().as_secs_f64();
        Ok(c)
    }
}

/// Builds a [`SidedLayer`] profile by profile, sharing identical remaps;
/// the tables are collected wide (`u32`) and made narrow by
/// [`SidedBuilder::finish`] when every slot's ids fit.
pub(super) struct SidedBuilder {
    pub(super) layer: SidedLayer,
    peer_index: HashMap<Box<[u16]>, u32>,
    svc_index: HashMap<Box<[u16]>, u32>,
    /// Per slot: its table's length.
    lens: Vec<u32>,
    /// Per slot: the distinct stored ids its table names, ascending.
    distinct: Vec<Vec<u32>>,
    /// Whether every table so far fits narrow cells.
    fits_narrow: bool,
    /// Narrow only when the wide cells would take at least this many
    /// bytes ([`Config::narrow_cells_from_bytes`]).
    narrow_from_bytes: usize,
    name: &'static str,
}

impl SidedBuilder {
    pub(super) fn new(name: &'static str, cfg: &Config) -> Self {
        SidedBuilder {
            layer: SidedLayer::default(),
            peer_index: HashMap::default(),
            svc_index: HashMap::default(),
            lens: Vec::new(),
            distinct: Vec::new(),
            fits_narrow: true,
            // Below this many bytes of `u32` cells a layer stays wide:
            // narrow cells save bytes at the price of a decode and one
            // more (dependent) read per look-up (see the Config field).
            narrow_from_bytes: cfg.narrow_cells_from_bytes,
            name,
        }
    }

    /// The finished layer: narrow when no slot's table names more than
    /// [`Entry::NARROW_MAX`] distinct ids ([`SidedLayer`]), else wide as
    /// built.
    pub(super) fn finish(self) -> Result<SidedLayer, CompileError> {
        let mut layer = self.layer;
        layer.n_cells = layer.entries.len();
        if !self.fits_narrow
            || layer.entries.is_empty()
            || layer.entries.len() * 4 < self.narrow_from_bytes
        {
            return Ok(layer);
        }
        let internal = CompileError::Internal;
        let mut cells: Vec<u16> = Vec::with_capacity(layer.entries.len() + 4 * self.lens.len());
        let mut local: HashMap<u32, u32> = HashMap::default();
        for ((slot, &len), mine) in layer.slots.iter_mut().zip(&self.lens).zip(&self.distinct) {
            let o = slot.offset as usize;
            let table = layer
                .entries
                .get(o..o + len as usize)
                .ok_or(internal("slot table outside the entries"))?;
            // The id list, backwards, ending with the pair of zeros; the
            // table starts at an even cell.
            if cells.len() % 2 == 1 {
                cells.push(0);
            }
            local.clear();
            for (k, &id) in mine.iter().enumerate().rev() {
                local.insert(id, u32::try_from(k + 1).map_err(|_| internal("local id"))?);
                cells.push((id & 0xffff) as u16);
                cells.push((id >> 16) as u16);
            }
            cells.extend([0, 0]);
            slot.offset =
                u32::try_from(cells.len()).map_err(|_| internal("narrow cells past u32"))?;
            for &e in table {
                let id = e & Entry::ID_MASK;
                let k = if id == 0 {
                    0
                } else {
                    *local.get(&id).ok_or(internal("id not in the list"))?
                };
                cells.push(
                    Entry(e)
                        .narrow(k)
                        .ok_or(internal("narrow cell does not fit"))?,
                );
            }
        }
        layer.cells = cells;
        layer.entries = Vec::new();
        layer.narrow = true;
        Ok(layer)
    }

    pub(super) fn push(
        &mut self,
        peer_remap: Vec<u16>,
        svc_remap: Vec<u16>,
        n_svc: usize,
        table: &[u32],
        cfg: &Config,
    ) -> Result<u32, CompileError> {
        if table.len() > cfg.max_profile_cells {
            return Err(CompileError::ProfileTooLarge {
                layer: self.name,
                given: table.len(),
                limit: cfg.max_profile_cells,
            });
        }
        let too_large = |given| CompileError::TooLarge {
            given,
            limit: cfg.max_table_bytes,
        };
        let (mut peer_remap, mut svc_remap) = (peer_remap, svc_remap);
        let (table, n_svc) = squeeze(&mut peer_remap, &mut svc_remap, n_svc, table);
        let table = table.as_slice();
        let lens = (self.layer.peer_len as usize, self.layer.svc_len as usize);
        if self.layer.slots.is_empty() {
            self.layer.peer_len =
                u32::try_from(peer_remap.len()).map_err(|_| too_large(usize::MAX))?;
            self.layer.svc_len =
                u32::try_from(svc_remap.len()).map_err(|_| too_large(usize::MAX))?;
        } else if lens != (peer_remap.len(), svc_remap.len()) {
            return Err(CompileError::Internal(
                "remap rows of one layer differ in length",
            ));
        }
        let pr = intern(&mut self.peer_index, &mut self.layer.remaps, peer_remap)
            .map_err(|()| too_large(usize::MAX))?;
        let sr = intern(&mut self.svc_index, &mut self.layer.remaps, svc_remap)
            .map_err(|()| too_large(usize::MAX))?;
        if self.layer.remaps.len() * 2 > cfg.max_table_bytes {
            return Err(too_large(self.layer.remaps.len() * 2));
        }
        let offset = u32::try_from(self.layer.entries.len()).map_err(|_| too_large(usize::MAX))?;
        // The distinct deciding ids (cells repeat in runs: skip repeats
        // before the sort).
        let mut prev = 0;
        let mut distinct: Vec<u32> = table
            .iter()
            .map(|&e| e & Entry::ID_MASK)
            .filter(|&i| i != 0 && std::mem::replace(&mut prev, i) != i)
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        self.fits_narrow &= distinct.len() <= Entry::NARROW_MAX as usize
            && table.iter().all(|&e| Entry(e).narrow(0).is_some());
        self.lens
            .push(u32::try_from(table.len()).map_err(|_| too_large(usize::MAX))?);
        self.distinct.push(distinct);
        self.layer.entries.extend_from_slice(table);
        if self.layer.entries.len() * 4 > cfg.max_table_bytes {
            return Err(too_large(self.layer.entries.len() * 4));
        }
        let slot = u32::try_from(self.layer.slots.len()).map_err(|_| too_large(usize::MAX))?;
        self.layer.slots.push(ProfileSlot {
            peer_remap: pr,
            svc_remap: sr,
            offset,
            n_svc: u32::try_from(n_svc).map_err(|_| too_large(usize::MAX))?,
        });
        Ok(slot)
    }
}

/// Merges the local services whose columns are equal and then the local
/// peers whose rows are equal, renumbering the remap rows to match: the
/// table a look-up reads is smaller and no look-up reads more (the remap
/// cell names the shared row or column directly). Returns the table and
/// its row length. Ids are given in first-occurrence order, so the result
/// is the same in every run.
fn squeeze(
    peer_remap: &mut [u16],
    svc_remap: &mut [u16],
    n_svc: usize,
    table: &[u32],
) -> (Vec<u32>, usize) {
    if n_svc == 0 || table.is_empty() {
        return (table.to_vec(), n_svc);
    }
    let n_peer = table.len() / n_svc;
    // Columns: local service -> distinct column.
    let mut col_index: HashMap<Vec<u32>, u16> = HashMap::default();
    let mut col_of = Vec::with_capacity(n_svc);
    let mut keep_cols = Vec::new();
    for c in 0..n_svc {
        let col: Vec<u32> = (0..n_peer).map(|p| table[p * n_svc + c]).collect();
        let next = u16::try_from(keep_cols.len()).unwrap_or(u16::MAX);
        let id = *col_index.entry(col).or_insert_with(|| {
            keep_cols.push(c);
            next
        });
        col_of.push(id);
    }
    let w = keep_cols.len();
    // Rows of the narrowed table: local peer -> distinct row.
    let mut row_index: HashMap<Vec<u32>, u16> = HashMap::default();
    let mut row_of = Vec::with_capacity(n_peer);
    let mut out: Vec<u32> = Vec::new();
    for p in 0..n_peer {
        let row: Vec<u32> = keep_cols.iter().map(|&c| table[p * n_svc + c]).collect();
        let next = u16::try_from(out.len() / w).unwrap_or(u16::MAX);
        let id = *row_index.entry(row).or_insert_with_key(|r| {
            out.extend_from_slice(r);
            next
        });
        row_of.push(id);
    }
    for v in svc_remap.iter_mut() {
        *v = col_of.get(usize::from(*v)).copied().unwrap_or(0);
    }
    for v in peer_remap.iter_mut() {
        *v = row_of.get(usize::from(*v)).copied().unwrap_or(0);
    }
    (out, w)
}

/// Stores a remap row once in the flat `store`; returns its start.
fn intern(
    index: &mut HashMap<Box<[u16]>, u32>,
    store: &mut Vec<u16>,
    v: Vec<u16>,
) -> Result<u32, ()> {
    let b = v.into_boxed_slice();
    if let Some(&i) = index.get(&b) {
        return Ok(i);
    }
    let i = u32::try_from(store.len()).map_err(|_| ())?;
    store.extend_from_slice(&b);
    if u32::try_from(store.len()).is_err() {
        return Err(());
    }
    index.insert(b, i);
    Ok(i)
}

/// Dedups keys into dense u16 ids.
fn dense_ids<K: std::hash::Hash + Eq + Clone>(
    keys: &[K],
    layer: &'static str,
    cfg: &Config,
) -> Result<(Vec<u16>, Vec<usize>), CompileError> {
    let mut map: HashMap<&K, u16> = HashMap::default();
    let mut ids = Vec::with_capacity(keys.len());
    let mut reps = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let next = map.len();
        let id = match map.get(k) {
            Some(id) => *id,
            None => {
                let id = u16::try_from(next).map_err(|_| CompileError::ProfileTooLarge {
                    layer,
                    given: next + 1,
                    limit: usize::from(u16::MAX),
                })?;
                if next >= cfg.max_profile_cells {
                    return Err(CompileError::ProfileTooLarge {
                        layer,
                        given: next,
                        limit: cfg.max_profile_cells,
                    });
                }
                map.insert(k, id);
                reps.push(i);
                id
            }
        };
        ids.push(id);
    }
    Ok((ids, reps))
}

// ----------------------------------------------------------------- builder --

/// What an address node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ident {
    Vnic(VnicId),
    Other,
}

struct Builder<'a> {
    s: &'a Scenario,
    cfg: &'a Config,
    tree: PrefixTree,
    /// Global rule ids.
    rules: Vec<RuleRef>,
    route_rule_gid: HashMap<(RouteTableId, u32), u32>,
    sec_rule_gid: HashMap<RuleRef, u32>,
    stmt_gid: Vec<u32>,
    /// VNIC holding each host node.
    vnic_at: HashMap<NodeId, VnicId>,
    /// Whether a service label's CIDR covers each node (the ZPR tables ask
    /// it of every peer of every profile).
    osn_cover: Vec<bool>,
}

fn node_of(tree: &PrefixTree, p: Pfx) -> NodeId {
    tree.find(p).unwrap_or(0)
}

fn sec_rules_of(s: &Scenario) -> Vec<(RuleRef, &SecurityRule)> {
    let mut out = Vec::new();
    for (n, nsg) in s.nsgs.iter().enumerate() {
        let Ok(nsg_id) = NsgId::new(n) else { continue };
        for (i, r) in nsg.rules.iter().enumerate() {
            let Ok(index) = u32::try_from(i) else {
                continue;
            };
            out.push((RuleRef::Nsg { nsg: nsg_id, index }, r));
        }
    }
    for (l, list) in s.security_lists.iter().enumerate() {
        let Ok(list_id) = SecurityListId::new(l) else {
            continue;
        };
        for (dir, rules) in [
            (Direction::Ingress, &list.ingress),
            (Direction::Egress, &list.egress),
        ] {
            for (i, r) in rules.iter().enumerate() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                out.push((
                    RuleRef::SecurityList {
                        list: list_id,
                        direction: dir.into(),
                        index,
                    },
                    r,
                ));
            }
        }
    }
    out
}

fn peer_prefixes(s: &Scenario, p: &Peer) -> Vec<Pfx> {
    match p {
        Peer::Cidr(c) => vec![Pfx::from(*c)],
        Peer::Service(l) => s.service_cidrs(*l).iter().map(|c| Pfx::from(*c)).collect(),
        Peer::Nsg(_) => Vec::new(),
    }
}

fn term_prefixes(s: &Scenario, t: &Term) -> Vec<Pfx> {
    match t {
        Term::Cidr(c) => vec![Pfx::from(*c)],
        Term::OsnServices => s
            .services
            .iter()
            .flat_map(|l| l.cidrs.iter().map(|c| Pfx::from(*c)))
            .collect(),
        Term::Attribute(_) | Term::AllEndpoints => Vec::new(),
    }
}

fn link_local() -> Pfx {
    Pfx {
        fam: 4,
        addr: u128::from(u32::from(Ipv4Addr::new(169, 254, 0, 0))),
        len: 16,
    }
}

/// Local service ids over the global classes, the global class standing
/// for each local one, and `matches[condition][global class]`.
type LocalServices = (Vec<u16>, Vec<usize>, Vec<Vec<bool>>);

/// A rule of a profile's union, in evaluation order.
struct URule<'a> {
    gid: u32,
    rule: &'a SecurityRule,
}

/// Sorted attribute set of a VNIC (any mode), borrowed from the scenario:
/// no copy of its strings per VNIC (the copies were ~3% of a `check`).
fn attr_set(s: &Scenario, v: VnicId) -> Vec<&Attribute> {
    let mut a: Vec<&Attribute> = s.vnics[v.index()]
        .attributes
        .iter()
        .map(|x| &x.attribute)
        .collect();
    a.sort();
    a.dedup();
    a
}

/// A statement as the ZPR tables use it.
struct ZStmt<'a> {
    gid: u32,
    st: &'a Statement,
    /// Index into the distinct service conditions.
    cond: usize,
    stateful: bool,
}

/// A ZPR peer: what statements can see of the other side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ZPeer<'s> {
    region: Option<NodeId>,
    vcn: Option<VcnId>,
    attrs: Vec<&'s Attribute>,
}

/// A ZPR profile: what statements can see of the checked VNIC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ZSelf<'s> {
    audited: bool,
    attrs: Vec<&'s Attribute>,
    vcn: VcnId,
    region: Option<NodeId>,
}

impl<'a> Builder<'a> {
    fn new(s: &'a Scenario, cfg: &'a Config) -> Result<Self, CompileError> {
        let mut prefixes: Vec<Pfx> = vec![link_local()];
        for v in &s.vcns {
            prefixes.extend(v.cidr_blocks.iter().map(|c| Pfx::from(*c)));
        }
        for sn in &s.subnets {
            prefixes.extend(sn.cidrs.iter().map(|c| Pfx::from(*c)));
        }
        for l in &s.services {
            prefixes.extend(l.cidrs.iter().map(|c| Pfx::from(*c)));
        }
        for v in &s.vnics {
            prefixes.extend(v.private_ips.iter().map(|ip| Pfx::host(*ip)));
        }
        for t in &s.route_tables {
            for r in &t.rules {
                if let RouteDestination::Cidr(c) = r.destination {
                    prefixes.push(Pfx::from(c));
                }
            }
        }
        let sec = sec_rules_of(s);
        for (_, r) in &sec {
            if let Peer::Cidr(c) = r.peer {
                prefixes.push(Pfx::from(c));
            }
        }
        for (_, st) in s.statements() {
            for t in statement_terms(&st.statement) {
                if let Term::Cidr(c) = t {
                    prefixes.push(Pfx::from(*c));
                }
            }
        }
        let tree = PrefixTree::build(prefixes);

        // The rule maps are sized up front, not grown and rehashed as the
        // rules (10^5 on large scenarios) arrive.
        let n_route: usize = s.route_tables.iter().map(|t| t.rules.len()).sum();
        let mut rules = Vec::with_capacity(n_route + sec.len());
        let mut route_rule_gid = HashMap::with_capacity_and_hasher(n_route, Default::default());
        for (t, table) in s.route_tables.iter().enumerate() {
            let Ok(tid) = RouteTableId::new(t) else {
                continue;
            };
            for i in 0..table.rules.len() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                route_rule_gid.insert((tid, index), u32::try_from(rules.len()).unwrap_or(u32::MAX));
                rules.push(RuleRef::Route { table: tid, index });
            }
        }
        let mut sec_rule_gid = HashMap::with_capacity_and_hasher(sec.len(), Default::default());
        for (r, _) in &sec {
            sec_rule_gid.insert(*r, u32::try_from(rules.len()).unwrap_or(u32::MAX));
            rules.push(*r);
        }
        let mut stmt_gid = Vec::new();
        for (r, _) in s.statements() {
            stmt_gid.push(u32::try_from(rules.len()).unwrap_or(u32::MAX));
            rules.push(RuleRef::Statement(r));
        }
        if rules.len() > Entry::MAX_ID {
            return Err(CompileError::TooManyRules {
                given: rules.len(),
                limit: Entry::MAX_ID,
            });
        }
        let n_ips = s.vnics.iter().map(|v| v.private_ips.len()).sum();
        let mut vnic_at = HashMap::with_capacity_and_hasher(n_ips, Default::default());
        for (i, v) in s.vnics.iter().enumerate() {
            let Ok(id) = VnicId::new(i) else { continue };
            for ip in &v.private_ips {
                vnic_at.insert(node_of(&tree, Pfx::host(*ip)), id);
            }
        }
        let mut osn_marks = vec![false; tree.len()];
        for l in &s.services {
            for c in &l.cidrs {
                if let Some(n) = tree.find(Pfx::from(*c)) {
                    osn_marks[n as usize] = true;
                }
            }
        }
        let osn_cover = tree.covered(&osn_marks);
        Ok(Builder {
            s,
            cfg,
            tree,
            rules,
            route_rule_gid,
            sec_rule_gid,
            stmt_gid,
            vnic_at,
            osn_cover,
        })
    }

    fn marks(&self, prefixes: impl IntoIterator<Item = Pfx>) -> Vec<bool> {
        let mut m = vec![false; self.tree.len()];
        for p in prefixes {
            if let Some(n) = self.tree.find(p) {
                m[n as usize] = true;
            }
        }
        m
    }

    fn ident(&self, n: NodeId) -> Ident {
        match self.vnic_at.get(&n) {
            Some(v) => Ident::Vnic(*v),
            None => Ident::Other,
        }
    }

    /// The VCN whose CIDR blocks hold node `n`.
    fn vcn_of(&self, vcn_marks: &[Option<VcnId>], n: NodeId) -> Option<VcnId> {
        self.tree.chain(n).find_map(|a| vcn_marks[a as usize])
    }

    #[allow(clippy::too_many_lines)]
    fn build(self) -> Result<Compiled, CompileError> {
        let mut phases: Vec<(&'static str, f64)> = Vec::new();
        let mut clock = Instant::now();
        let mut lap = |name: &'static str| {
            phases.push((name, clock.elapsed().as_secs_f64()));
            clock = Instant::now();
        };
        let s = self.s;
        let cfg = self.cfg;
        let tree = &self.tree;
        let n_nodes = tree.len();

        // VCN of every VCN CIDR node.
        let mut vcn_marks: Vec<Option<VcnId>> = vec![None; n_nodes];
        for (i, v) in s.vcns.iter().enumerate() {
            let Ok(id) = VcnId::new(i) else { continue };
            for c in &v.cidr_blocks {
                vcn_marks[node_of(tree, Pfx::from(*c)) as usize] = Some(id);
            }
        }
        let exempt_node = node_of(tree, link_local());

        // ---- layer marks
        let route_marks = self.marks(
            s.vcns
                .iter()
                .flat_map(|v| v.cidr_blocks.iter().map(|c| Pfx::from(*c)))
                .chain(
                    s.subnets
                        .iter()
                        .flat_map(|sn| sn.cidrs.iter().map(|c| Pfx::from(*c))),
                )
                .chain(s.route_tables.iter().flat_map(|t| {
                    t.rules.iter().flat_map(|r| match &r.destination {
                        RouteDestination::Cidr(c) => vec![Pfx::from(*c)],
                        RouteDestination::Service(l) => {
                            s.service_cidrs(*l).iter().map(|c| Pfx::from(*c)).collect()
                        }
                    })
                })),
        );
        let sec = sec_rules_of(s);
        let dir_marks = |dir: Direction| {
            self.marks(
                sec.iter()
                    .filter(|(_, r)| r.direction == dir)
                    .flat_map(|(_, r)| peer_prefixes(s, &r.peer)),
            )
        };
        let eg_marks = dir_marks(Direction::Egress);
        let in_marks = dir_marks(Direction::Ingress);
        let referenced_nsgs = |dir: Direction| -> BTreeSet<NsgId> {
            sec.iter()
                .filter(|(_, r)| r.direction == dir)
                .filter_map(|(_, r)| match r.peer {
                    Peer::Nsg(n) => Some(n),
                    _ => None,
                })
                .collect()
        };
        let eg_nsgs = referenced_nsgs(Direction::Egress);
        let in_nsgs = referenced_nsgs(Direction::Ingress);
        let zpr_marks = self.marks(
            s.vcns
                .iter()
                .flat_map(|v| v.cidr_blocks.iter().map(|c| Pfx::from(*c)))
                .chain(
                    s.services
                        .iter()
                        .flat_map(|l| l.cidrs.iter().map(|c| Pfx::from(*c))),
                )
                .chain(s.statements().flat_map(|(_, st)| {
                    statement_terms(&st.statement)
                        .flat_map(|t| term_prefixes(s, t))
                        .collect::<Vec<_>>()
                })),
        );

        // ---- per node keys
        type RouteKey = (Option<NodeId>, Option<(Option<RouteTableId>, SubnetId)>);
        type SecPeerKey = (Option<NodeId>, Vec<NsgId>);
        type SecProfileKey = (Vec<NsgId>, SubnetId);
        let mut route_keys: Vec<RouteKey> = Vec::new();
        let mut route_index: HashMap<RouteKey, u32> = HashMap::default();
        let mut eg_keys: Vec<SecPeerKey> = Vec::new();
        let mut eg_index: HashMap<SecPeerKey, u32> = HashMap::default();
        let mut in_keys: Vec<SecPeerKey> = Vec::new();
        let mut in_index: HashMap<SecPeerKey, u32> = HashMap::default();
        let mut sec_profiles: Vec<SecProfileKey> = Vec::new();
        let mut sec_index: HashMap<SecProfileKey, u32> = HashMap::default();
        let mut zpeers: Vec<ZPeer> = Vec::new();
        let mut zpeer_index: HashMap<ZPeer, u32> = HashMap::default();
        let mut zselves: Vec<ZSelf> = Vec::new();
        let mut zself_index: HashMap<ZSelf, u32> = HashMap::default();
        let mut classes: Vec<ClassInfo> = Vec::new();
        let mut class_index: HashMap<ClassInfo, u32> = HashMap::default();
        let mut node_class: Vec<u32> = vec![0; n_nodes];

        fn get<K: std::hash::Hash + Eq + Clone>(
            keys: &mut Vec<K>,
            index: &mut HashMap<K, u32>,
            k: K,
        ) -> u32 {
            if let Some(&i) = index.get(&k) {
                return i;
            }
            let i = u32::try_from(keys.len()).unwrap_or(u32::MAX);
            keys.push(k.clone());
            index.insert(k, i);
            i
        }

        for (n, own) in tree.own_addr.iter().enumerate() {
            let nid = u32::try_from(n).unwrap_or(u32::MAX);
            if own.is_none() {
                continue;
            }
            let ident = self.ident(nid);
            let exempt = tree.chain(nid).any(|a| a == exempt_node)
                && tree.nodes[exempt_node as usize].len == 16;
            let route_region = tree.nearest_marked(nid, &route_marks);
            let route_vnic = match ident {
                Ident::Vnic(v) => Some((s.effective_route_table(v), s.vnics[v.index()].subnet)),
                Ident::Other => None,
            };
            let route = get(
                &mut route_keys,
                &mut route_index,
                (route_region, route_vnic),
            );
            let membership = |set: &BTreeSet<NsgId>| match ident {
                Ident::Vnic(v) => {
                    let mut m: Vec<NsgId> = s.vnics[v.index()]
                        .nsgs
                        .iter()
                        .copied()
                        .filter(|x| set.contains(x))
                        .collect();
                    m.sort();
                    m.dedup();
                    m
                }
                Ident::Other => Vec::new(),
            };
            let eg_peer = get(
                &mut eg_keys,
                &mut eg_index,
                (tree.nearest_marked(nid, &eg_marks), membership(&eg_nsgs)),
            );
            let in_peer = get(
                &mut in_keys,
                &mut in_index,
                (tree.nearest_marked(nid, &in_marks), membership(&in_nsgs)),
            );
            let profile_id = |i: u32| {
                ProfileId::new(i as usize).map_err(|_| CompileError::Internal("profile id"))
            };
            let sec_profile = match ident {
                Ident::Vnic(v) => {
                    let vn = &s.vnics[v.index()];
                    Some(profile_id(get(
                        &mut sec_profiles,
                        &mut sec_index,
                        (vn.nsgs.clone(), vn.subnet),
                    ))?)
                }
                Ident::Other => None,
            };
            let zregion = tree.nearest_marked(nid, &zpr_marks);
            let vcn = self.vcn_of(&vcn_marks, nid);
            let attrs = match ident {
                Ident::Vnic(v) => attr_set(s, v),
                Ident::Other => Vec::new(),
            };
            // Looked up by reference and cloned only when new (a few hundred
            // distinct peers over 10^4 VNICs), then its attribute list moved
            // on to the profile's key: one list per VNIC, not two.
            let zpeer = ZPeer {
                region: zregion,
                vcn,
                attrs,
            };
            let zpr_peer = match zpeer_index.get(&zpeer) {
                Some(&i) => i,
                None => get(&mut zpeers, &mut zpeer_index, zpeer.clone()),
            };
            let attrs = zpeer.attrs;
            let zpr_profile = match ident {
                Ident::Vnic(v) => match zpr_role(s, Endpoint::Vnic(v)) {
                    ZprRole::None => None,
                    role => Some(profile_id(get(
                        &mut zselves,
                        &mut zself_index,
                        ZSelf {
                            audited: role == ZprRole::Audited,
                            attrs,
                            vcn: s.vnic_vcn(v),
                            region: zregion,
                        },
                    ))?),
                },
                Ident::Other => None,
            };
            let mut flags = 0;
            if exempt {
                flags |= ClassInfo::EXEMPT;
            }
            if matches!(ident, Ident::Vnic(_)) {
                flags |= ClassInfo::VNIC;
            }
            if zpr_profile.is_some_and(|p| zselves.get(p.index()).is_some_and(|z| z.audited)) {
                flags |= ClassInfo::ZPR_AUDITED;
            }
            let info = ClassInfo {
                route,
                sec_profile,
                zpr_profile,
                eg_peer,
                in_peer,
                zpr_peer,
                flags,
            };
            node_class[n] = get(&mut classes, &mut class_index, info);
        }
        if classes.len() > cfg.max_address_classes {
            return Err(CompileError::TooManyAddressClasses {
                given: classes.len(),
                limit: cfg.max_address_classes,
            });
        }

        lap("classes");
        // ---- LPM
        let mut lpm = Lpm::new(node_class[0], node_class[1]);
        let mut order: Vec<usize> = (0..n_nodes).collect();
        order.sort_by_key(|&i| tree.nodes[i].len);
        for i in order {
            lpm.insert(tree.nodes[i], node_class[i])
                .map_err(|_| CompileError::TooLarge {
                    given: usize::MAX,
                    limit: cfg.max_table_bytes,
                })?;
        }

        lpm.finish();
        lap("lpm");
        // ---- services
        let mut conds: Vec<ServiceCond> = sec
            .iter()
            .map(|(_, r)| ServiceCond::Rule(r.protocol, r.options))
            .collect();
        conds.extend(
            s.statements()
                .map(|(_, st)| ServiceCond::Stmt(st.statement.conditions())),
        );
        let services =
            ServiceClasses::build(conds.iter(), cfg.max_service_classes).map_err(|given| {
                CompileError::TooManyServiceClasses {
                    given,
                    limit: cfg.max_service_classes,
                }
            })?;
        let svc_reps: Vec<Packet> = (0..services.len())
            .map(|i| {
                let (proto, l4) = services.rep(u32::try_from(i).unwrap_or(0));
                Packet {
                    src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    proto,
                    l4,
                }
            })
            .collect();

        lap("services");
        // ---- route table
        let route = self.build_route(&route_keys, &vcn_marks)?;
        let n_route = u32::try_from(route_keys.len()).unwrap_or(u32::MAX);

        lap("route");
        // ---- security layers: one table per rule container
        let mut egress = SidedBuilder::new("egress-security", cfg);
        let mut ingress = SidedBuilder::new("ingress-security", cfg);
        let mut list_sets: Vec<&[SecurityListId]> = Vec::new();
        let mut list_set_index: HashMap<&[SecurityListId], usize> = HashMap::default();
        let subnet_set: Vec<usize> = s
            .subnets
            .iter()
            .map(|sn| {
                let next = list_sets.len();
                *list_set_index
                    .entry(sn.security_lists.as_slice())
                    .or_insert_with(|| {
                        list_sets.push(sn.security_lists.as_slice());
                        next
                    })
            })
            .collect();
        let n_nsgs = s.nsgs.len();
        // slot_of[direction][container]: the container's table, if it has rules.
        let mut slot_of: [Vec<Option<u32>>; 2] = [Vec::new(), Vec::new()];
        for c in 0..n_nsgs + list_sets.len() {
            for (k, dir, builder, peers) in [
                (0usize, Direction::Egress, &mut egress, &eg_keys),
                (1, Direction::Ingress, &mut ingress, &in_keys),
            ] {
                let urules = if c < n_nsgs {
                    self.nsg_rules(
                        NsgId::new(c).map_err(|_| CompileError::Internal("nsg id"))?,
                        dir,
                    )
                } else {
                    self.list_rules(list_sets[c - n_nsgs], dir)
                };
                if urules.is_empty() {
                    slot_of[k].push(None);
                    continue;
                }
                let (peer_remap, svc_remap, n_svc, table) =
                    self.security_table(&urules, peers, &svc_reps)?;
                slot_of[k].push(Some(
                    builder.push(peer_remap, svc_remap, n_svc, &table, cfg)?,
                ));
            }
        }
        let mut layers = [egress.finish()?, ingress.finish()?].map(|tables| SecurityLayer {
            tables,
            ..SecurityLayer::default()
        });
        let mut members = Vec::new();
        for (nsgs, subnet) in &sec_profiles {
            for (k, layer) in layers.iter_mut().enumerate() {
                let containers = nsgs
                    .iter()
                    .map(|n| n.index())
                    .chain(std::iter::once(n_nsgs + subnet_set[subnet.index()]));
                members.clear();
                for c in containers {
                    if let Some(Some(slot)) = slot_of[k].get(c) {
                        members.push(*slot);
                    }
                }
                layer
                    .push_profile(&members)
                    .map_err(CompileError::Internal)?;
            }
        }
        let [egress, ingress] = layers;

        lap("security");
        // ---- zpr layers
        let mut zpr_egress = SidedBuilder::new("zpr egress", cfg);
        let mut zpr_ingress = SidedBuilder::new("zpr ingress", cfg);
        let mut zpr_profiles = Vec::new();
        // Every statement once: its global id, its service condition (as an
        // index into the distinct conditions) and whether it is stateful.
        let mut gconds: Vec<ServiceCond> = Vec::new();
        let mut gcond_index: HashMap<ServiceCond, usize> = HashMap::default();
        let stmts: Vec<ZStmt<'_>> = s
            .statements()
            .zip(self.stmt_gid.iter())
            .map(|((_, st), g)| {
                let c = st.statement.conditions();
                let stateful = c.state == ConnectionState::Stateful;
                let next = gconds.len();
                let cond = *gcond_index
                    .entry(ServiceCond::Stmt(c))
                    .or_insert_with_key(|k| {
                        gconds.push(k.clone());
                        next
                    });
                ZStmt {
                    gid: *g,
                    st: &st.statement,
                    cond,
                    stateful,
                }
            })
            .collect();
        let index = StmtIndex::new(stmts.iter().map(|z| z.st), tree);
        let named_attrs: std::collections::HashSet<&Attribute> = stmts
            .iter()
            .flat_map(|z| z.st.endpoint_attributes())
            .collect();
        for zs in &zselves {
            let named = zs.attrs.iter().any(|a| named_attrs.contains(a));
            zpr_profiles.push(ZprProfileInfo {
                audited: zs.audited,
                missing_policy: !named,
            });
            for (egress_check, builder) in [(true, &mut zpr_egress), (false, &mut zpr_ingress)] {
                let (peer_remap, svc_remap, n_svc, table) = self.zpr_table(
                    zs,
                    egress_check,
                    (&stmts, &gconds),
                    &index,
                    &zpeers,
                    &vcn_marks,
                    &svc_reps,
                )?;
                let slot = builder.push(peer_remap, svc_remap, n_svc, &table, cfg)?;
                if slot as usize != zpr_profiles.len() - 1 {
                    return Err(CompileError::Internal("zpr slot is not the profile"));
                }
            }
        }

        lap("zpr");
        let zpr_egress = zpr_egress.finish()?;
        let zpr_ingress = zpr_ingress.finish()?;
        let table_entries = route.len()
            + egress.cells()
            + ingress.cells()
            + zpr_egress.cells()
            + zpr_ingress.cells();
        let table_bytes = lpm.bytes()
            + services.bytes()
            + classes.len() * std::mem::size_of::<ClassInfo>()
            + route.len() * 4
            + egress.bytes()
            + ingress.bytes()
            + zpr_egress.bytes()
            + zpr_ingress.bytes();
        if table_bytes > cfg.max_table_bytes {
            return Err(CompileError::TooLarge {
                given: table_bytes,
                limit: cfg.max_table_bytes,
            });
        }
        let stats = Stats {
            prefixes: n_nodes,
            address_classes: classes.len(),
            service_classes: services.len(),
            route_classes: route_keys.len(),
            security_profiles: sec_profiles.len(),
            security_tables: egress.containers() + ingress.containers(),
            zpr_profiles: zselves.len(),
            table_entries,
            table_bytes,
            compile_s: 0.0,
            phases,
        };
        Ok(Compiled {
            lpm,
            classes,
            services,
            n_route,
            route,
            egress,
            ingress,
            zpr_egress,
            zpr_ingress,
            zpr_profiles,
            rules: self.rules,
            stats,
            prefix_classes: (0..n_nodes)
                .filter(|&i| tree.own_addr[i].is_some())
                .map(|i| (tree.nodes[i], node_class[i]))
                .collect(),
        })
    }

    // ------------------------------------------------------------ route --

    #[allow(clippy::type_complexity)]
    fn build_route(
        &self,
        keys: &[(Option<NodeId>, Option<(Option<RouteTableId>, SubnetId)>)],
        vcn_marks: &[Option<VcnId>],
    ) -> Result<Vec<u32>, CompileError> {
        let s = self.s;
        let tree = &self.tree;
        let n = keys.len();
        let cells = n.saturating_mul(n);
        if cells.saturating_mul(4) > self.cfg.max_table_bytes {
            return Err(CompileError::TooLarge {
                given: cells.saturating_mul(4),
                limit: self.cfg.max_table_bytes,
            });
        }
        // Static prefixes of each table: node -> lowest rule index.
        let mut statics: Vec<HashMap<NodeId, u32>> = Vec::with_capacity(s.route_tables.len());
        for t in &s.route_tables {
            let mut m: HashMap<NodeId, u32> = HashMap::default();
            for (i, r) in t.rules.iter().enumerate() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                let ps: Vec<Pfx> = match &r.destination {
                    RouteDestination::Cidr(c) => vec![Pfx::from(*c)],
                    RouteDestination::Service(l) => {
                        s.service_cidrs(*l).iter().map(|c| Pfx::from(*c)).collect()
                    }
                };
                for p in ps {
                    if let Some(node) = tree.find(p) {
                        m.entry(node).or_insert(index);
                    }
                }
            }
            statics.push(m);
        }
        let vcn_of_region =
            |r: Option<NodeId>| r.and_then(|r| tree.chain(r).find_map(|a| vcn_marks[a as usize]));
        // The longest-prefix winner for an address whose deepest
        // route-relevant node is `region`: `Local`, a static rule (with its
        // cell bits' rule id), or nothing.
        enum Hit<'r> {
            Local,
            Static(u32, &'r RouteTarget),
        }
        // Every route rule by its position over all tables, for the memo.
        let mut table_start: Vec<usize> = Vec::with_capacity(s.route_tables.len());
        let mut static_rules: Vec<(u32, &RouteTarget)> = Vec::new();
        for (t, table) in s.route_tables.iter().enumerate() {
            table_start.push(static_rules.len());
            let Ok(tid) = RouteTableId::new(t) else {
                continue;
            };
            for (i, r) in table.rules.iter().enumerate() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                let id = self.route_rule_gid.get(&(tid, index)).copied().unwrap_or(0) + 1;
                static_rules.push((id, &r.target));
            }
        }
        // The winner as a memo cell: 0 nothing, 1 local, 2 + the rule's
        // position in `static_rules`.
        let lookup = |table: Option<RouteTableId>, vcn: VcnId, region: Option<NodeId>| -> u32 {
            let Some(region) = region else { return 0 };
            for a in tree.chain(region) {
                if let Some(t) = table
                    && let Some(&i) = statics[t.index()].get(&a)
                {
                    let at = table_start[t.index()] + i as usize;
                    return u32::try_from(at).map_or(0, |x| x.saturating_add(2));
                }
                if vcn_marks[a as usize] == Some(vcn) {
                    return 1;
                }
            }
            0
        };
        let hit = |m: u32| -> Option<Hit<'_>> {
            match m {
                0 => None,
                1 => Some(Hit::Local),
                k => static_rules
                    .get((k - 2) as usize)
                    .map(|&(id, target)| Hit::Static(id, target)),
            }
        };
        // The lookup depends on the key's (table, VCN) and the other key's
        // region only: done once per distinct (table, VCN) and key, not per
        // cell (a few route tables, hundreds of keys). At most as many
        // cells as the table itself, whose size was checked above.
        let mut memo_of: HashMap<(Option<RouteTableId>, VcnId), usize> = HashMap::default();
        let mut memo: Vec<Vec<u32>> = Vec::new();
        let key_memo: Vec<Option<usize>> = keys
            .iter()
            .map(|(_, vnic)| {
                let (table, subnet) = (*vnic)?;
                let vcn = s.subnets[subnet.index()].vcn;
                let next = memo.len();
                Some(*memo_of.entry((table, vcn)).or_insert_with(|| {
                    memo.push(keys.iter().map(|(r, _)| lookup(table, vcn, *r)).collect());
                    next
                }))
            })
            .collect();
        // Each key's VCN as a destination, and each subnet's prefixes.
        let dst_vcns: Vec<Option<VcnId>> = keys
            .iter()
            .map(|(region, vnic)| match vnic {
                Some((_, bs)) => Some(s.subnets[bs.index()].vcn),
                None => vcn_of_region(*region),
            })
            .collect();
        let subnet_pfx: Vec<Vec<Pfx>> = s
            .subnets
            .iter()
            .map(|sn| sn.cidrs.iter().map(|c| Pfx::from(*c)).collect())
            .collect();
        const PASS: u32 = RouteEntry::FIRST_OK | RouteEntry::REPLY_OK;
        const FORWARDED: u32 = 1 << 30;
        const DIRECT: u32 = 2 << 30;
        let mut out = vec![0u32; cells];
        for (ai, (_, a_vnic)) in keys.iter().enumerate() {
            let a_memo = key_memo[ai].map(|m| &memo[m]);
            for (bi, (b_region, b_vnic)) in keys.iter().enumerate() {
                let cell = match (a_vnic, b_vnic) {
                    (None, None) => 0,
                    // From a VNIC: same subnet is direct; else the LPM over its
                    // table and VCN, and another VCN needs a DRG, LPG or private IP.
                    (Some((_, subnet)), _) => {
                        let sn = &s.subnets[subnet.index()];
                        let direct = b_region.is_some_and(|r| {
                            subnet_pfx[subnet.index()]
                                .iter()
                                .any(|p| p.covers(tree.nodes[r as usize]))
                        });
                        let dst_vcn = dst_vcns[bi];
                        match a_memo.and_then(|m| hit(m[bi])) {
                            _ if direct => PASS | DIRECT,
                            None => 0,
                            Some(Hit::Local) => PASS | FORWARDED,
                            Some(Hit::Static(id, target)) => {
                                let reaches = match target {
                                    RouteTarget::Gateway(g) => {
                                        s.gateways[g.index()].kind.reaches_other_vcn()
                                    }
                                    RouteTarget::PrivateIp { .. } => true,
                                };
                                if dst_vcn.is_some_and(|d| d != sn.vcn) && !reaches {
                                    id
                                } else {
                                    id | PASS | FORWARDED
                                }
                            }
                        }
                    }
                    // From outside to a VNIC: the return path in its table; NAT
                    // and service gateways and private IPs admit replies only.
                    (None, Some(_)) => match key_memo[bi].and_then(|m| hit(memo[m][ai])) {
                        None => 0,
                        Some(Hit::Local) => PASS | FORWARDED,
                        Some(Hit::Static(id, target)) => {
                            let admits = match target {
                                RouteTarget::Gateway(g) => {
                                    s.gateways[g.index()].kind.admits_inbound()
                                }
                                RouteTarget::PrivateIp { .. } => false,
                            };
                            let first = if admits { RouteEntry::FIRST_OK } else { 0 };
                            id | first | RouteEntry::REPLY_OK | FORWARDED
                        }
                    },
                };
                out[ai * n + bi] = cell;
            }
        }
        Ok(out)
    }

    // --------------------------------------------------------- security --

    /// An NSG's rules of one direction, in order, with their global ids.
    fn nsg_rules(&self, n: NsgId, dir: Direction) -> Vec<URule<'a>> {
        let s = self.s;
        let mut out = Vec::new();
        for (i, r) in s.nsgs[n.index()].rules.iter().enumerate() {
            let Ok(index) = u32::try_from(i) else {
                continue;
            };
            if r.direction == dir {
                let gid = self
                    .sec_rule_gid
                    .get(&RuleRef::Nsg { nsg: n, index })
                    .copied()
                    .unwrap_or(0);
                out.push(URule { gid, rule: r });
            }
        }
        out
    }

    /// The rules of one direction of a sequence of security lists, in order.
    fn list_rules(&self, lists: &[SecurityListId], dir: Direction) -> Vec<URule<'a>> {
        let s = self.s;
        let mut out = Vec::new();
        for l in lists {
            let list = &s.security_lists[l.index()];
            let rules = match dir {
                Direction::Ingress => &list.ingress,
                Direction::Egress => &list.egress,
            };
            for (i, r) in rules.iter().enumerate() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                let key = RuleRef::SecurityList {
                    list: *l,
                    direction: dir.into(),
                    index,
                };
                let gid = self.sec_rule_gid.get(&key).copied().unwrap_or(0);
                out.push(URule { gid, rule: r });
            }
        }
        out
    }

    /// Local service classes of a set of conditions: the services that every
    /// condition treats alike share one.
    fn local_services(
        &self,
        conds: &[ServiceCond],
        svc_reps: &[Packet],
        layer: &'static str,
    ) -> Result<LocalServices, CompileError> {
        // matches[c][s]
        let matches: Vec<Vec<bool>> = conds
            .iter()
            .map(|c| svc_reps.iter().map(|p| service_matches(c, p)).collect())
            .collect();
        // Each service's signature (which conditions it matches) as bits,
        // all in one buffer: one allocation, not one per service.
        // At least one word: with no conditions (a profile no statement
        // holds for, most of them) every service's signature is 0.
        let words = conds.len().div_ceil(64).max(1);
        let mut bits = vec![0u64; svc_reps.len().saturating_mul(words)];
        for (c, m) in matches.iter().enumerate() {
            for (si, &hit) in m.iter().enumerate() {
                if hit {
                    bits[si * words + c / 64] |= 1 << (c % 64);
                }
            }
        }
        // At most 64 conditions (most tables): one word per service, keyed
        // as a number rather than a slice (no `memcmp` call per compare).
        let (ids, reps) = if words == 1 {
            dense_ids(&bits, layer, self.cfg)?
        } else {
            let sigs: Vec<&[u64]> = (0..svc_reps.len())
                .map(|si| &bits[si * words..(si + 1) * words])
                .collect();
            dense_ids(&sigs, layer, self.cfg)?
        };
        Ok((ids, reps, matches))
    }

    #[allow(clippy::type_complexity)]
    fn security_table(
        &self,
        urules: &[URule<'_>],
        peers: &[(Option<NodeId>, Vec<NsgId>)],
        svc_reps: &[Packet],
    ) -> Result<(Vec<u16>, Vec<u16>, usize, Vec<u32>), CompileError> {
        let s = self.s;
        let tree = &self.tree;
        // Distinct service conditions of these rules.
        let mut cond_index: HashMap<ServiceCond, usize> = HashMap::default();
        let mut conds: Vec<ServiceCond> = Vec::new();
        let rule_cond: Vec<usize> = urules
            .iter()
            .map(|u| {
                let c = ServiceCond::Rule(u.rule.protocol, u.rule.options);
                let next = conds.len();
                *cond_index.entry(c.clone()).or_insert_with(|| {
                    conds.push(c);
                    next
                })
            })
            .collect();
        let (svc_remap, svc_rep_idx, matches) =
            self.local_services(&conds, svc_reps, "security")?;
        // Local peers: nearest ancestor among this profile's prefixes, and the
        // membership restricted to the NSGs its rules name.
        let marks = self.marks(urules.iter().flat_map(|u| peer_prefixes(s, &u.rule.peer)));
        let named: BTreeSet<NsgId> = urules
            .iter()
            .filter_map(|u| match u.rule.peer {
                Peer::Nsg(n) => Some(n),
                _ => None,
            })
            .collect();
        let local_keys: Vec<(Option<NodeId>, Vec<NsgId>)> = peers
            .iter()
            .map(|(region, m)| {
                (
                    region.and_then(|r| tree.nearest_marked(r, &marks)),
                    m.iter().copied().filter(|x| named.contains(x)).collect(),
                )
            })
            .collect();
        let (peer_remap, peer_rep_idx) = dense_ids(&local_keys, "security", self.cfg)?;
        let n_peer = peer_rep_idx.len();
        let n_svc = svc_rep_idx.len();
        let cells = n_peer.saturating_mul(n_svc);
        if cells > self.cfg.max_profile_cells {
            return Err(CompileError::ProfileTooLarge {
                layer: "security",
                given: cells,
                limit: self.cfg.max_profile_cells,
            });
        }
        // Each rule hangs on the prefix nodes (or the NSGs) it names, so a
        // peer finds its matching rules by walking its ancestor chain:
        // O(peers × depth + matches), not O(peers × rules).
        let mut by_node: HashMap<NodeId, Vec<usize>> = HashMap::default();
        let mut by_nsg: HashMap<NsgId, Vec<usize>> = HashMap::default();
        for (i, u) in urules.iter().enumerate() {
            match &u.rule.peer {
                Peer::Nsg(n) => by_nsg.entry(*n).or_default().push(i),
                p => {
                    for q in peer_prefixes(s, p) {
                        if let Some(node) = tree.find(q) {
                            by_node.entry(node).or_default().push(i);
                        }
                    }
                }
            }
        }
        // The local services each condition matches.
        let cond_svcs: Vec<Vec<usize>> = (0..conds.len())
            .map(|c| {
                svc_rep_idx
                    .iter()
                    .enumerate()
                    .filter(|(_, si)| matches[c][**si])
                    .map(|(ls, _)| ls)
                    .collect()
            })
            .collect();
        let mut table = vec![0u32; cells];
        let mut matching: Vec<usize> = Vec::new();
        for (lp, &pi) in peer_rep_idx.iter().enumerate() {
            let (anchor, members) = &local_keys[pi];
            matching.clear();
            if let Some(a) = anchor {
                for node in tree.chain(*a) {
                    if let Some(v) = by_node.get(&node) {
                        matching.extend_from_slice(v);
                    }
                }
            }
            for n in members {
                if let Some(v) = by_nsg.get(n) {
                    matching.extend_from_slice(v);
                }
            }
            matching.sort_unstable();
            matching.dedup();
            let row = &mut table[lp * n_svc..(lp + 1) * n_svc];
            // Ascending rule order: the first rule to reach a cell names it.
            for &ri in &matching {
                let id = urules[ri].gid + 1;
                let bit = if urules[ri].rule.stateless {
                    Entry::STATELESS
                } else {
                    Entry::STATEFUL
                };
                for &ls in &cond_svcs[rule_cond[ri]] {
                    let cell = &mut row[ls];
                    if *cell & Entry::ID_MASK == 0 {
                        *cell |= id;
                    }
                    *cell |= bit;
                }
            }
        }
        Ok((peer_remap, svc_remap, n_svc, table))
    }

    // -------------------------------------------------------------- zpr --

    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    fn zpr_table(
        &self,
        me: &ZSelf<'_>,
        egress_check: bool,
        (stmts, gconds): (&[ZStmt<'_>], &[ServiceCond]),
        index: &StmtIndex<'_>,
        zpeers: &[ZPeer<'_>],
        vcn_marks: &[Option<VcnId>],
        svc_reps: &[Packet],
    ) -> Result<(Vec<u16>, Vec<u16>, usize, Vec<u32>), CompileError> {
        let s = self.s;
        let tree = &self.tree;
        let my_vcn_attr = s.vcns[me.vcn.index()].attribute.as_ref();
        let in_region = |region: Option<NodeId>, p: Pfx| {
            region.is_some_and(|r| p.covers(tree.nodes[r as usize]))
        };
        // Inside some service label's CIDR (every one is a node of the tree).
        let in_osn = |region: Option<NodeId>| {
            region.is_some_and(|r| self.osn_cover.get(r as usize).copied().unwrap_or(false))
        };
        // Does one side of a statement (`src_side`: its source side) hold for
        // an endpoint described by (region, vcn, attrs)? Form A terms are
        // scoped to the checked VNIC's VCN; form B sides name their own VCN.
        let side_ok = |st: &Statement,
                       src_side: bool,
                       region: Option<NodeId>,
                       vcn: Option<VcnId>,
                       attrs: &[&Attribute]| {
            let vcn_attr = vcn.and_then(|v| s.vcns[v.index()].attribute.as_ref());
            match &st.kind {
                StatementKind::Scoped { src, dst, .. } => {
                    let scope = me.vcn;
                    match if src_side { &src.node } else { &dst.node } {
                        Term::Attribute(a) => vcn == Some(scope) && attrs.contains(&a),
                        Term::Cidr(c) => in_region(region, Pfx::from(*c)),
                        Term::AllEndpoints => region.is_some_and(|r| {
                            tree.chain(r).any(|x| vcn_marks[x as usize] == Some(scope))
                        }),
                        Term::OsnServices => in_osn(region),
                    }
                }
                StatementKind::CrossVcn {
                    src,
                    src_vcn,
                    dst,
                    dst_vcn,
                } => {
                    let (a, v) = if src_side {
                        (src, src_vcn)
                    } else {
                        (dst, dst_vcn)
                    };
                    vcn_attr == Some(&v.node) && attrs.contains(&&a.node)
                }
            }
        };
        // Statements whose own side holds for this profile (and, for form A,
        // whose scope is its VCN's attribute).
        let own_side = usize::from(!egress_check);
        let mut cand = Vec::new();
        let me_at = Whereabouts {
            attrs: &me.attrs,
            region: me.region,
            in_vcn: true,
            in_osn: in_osn(me.region),
        };
        index.candidates(own_side, &me_at, tree, &mut cand);
        let mut relevant: Vec<&ZStmt<'_>> = Vec::new();
        for &k in &cand {
            let z = &stmts[k];
            let st = z.st;
            let scope_ok = match &st.kind {
                StatementKind::Scoped { vcn, .. } => my_vcn_attr == Some(&vcn.node),
                StatementKind::CrossVcn { .. } => true,
            };
            if scope_ok && side_ok(st, egress_check, me.region, Some(me.vcn), &me.attrs) {
                relevant.push(z);
            }
        }
        // The relevant statements filed by their peer side.
        let local = StmtIndex::new(relevant.iter().map(|z| z.st), tree);
        // The distinct conditions of the relevant statements.
        let mut local_cond: HashMap<usize, usize> = HashMap::default();
        let mut conds: Vec<ServiceCond> = Vec::new();
        let stmt_cond: Vec<usize> = relevant
            .iter()
            .map(|z| {
                let next = conds.len();
                *local_cond.entry(z.cond).or_insert_with(|| {
                    conds.push(gconds[z.cond].clone());
                    next
                })
            })
            .collect();
        let (svc_remap, svc_rep_idx, matches) = self.local_services(&conds, svc_reps, "zpr")?;
        let n_svc = svc_rep_idx.len();
        // The local services each distinct condition matches.
        let cond_svcs: Vec<Vec<usize>> = (0..conds.len())
            .map(|c| {
                svc_rep_idx
                    .iter()
                    .enumerate()
                    .filter(|(_, si)| matches[c][**si])
                    .map(|(ls, _)| ls)
                    .collect()
            })
            .collect();
        // Rows over the global ZPR peers (the other side), then compressed.
        // Rows are deduplicated as they are made, so memory is bounded by
        // the distinct rows (which the cell limit bounds), not peers × services.
        let mut row_ids: HashMap<Vec<u32>, u16> = HashMap::default();
        let mut table: Vec<u32> = Vec::new();
        let mut peer_remap: Vec<u16> = Vec::with_capacity(zpeers.len());
        let mut peer_cand = Vec::new();
        let mut peer_ok: Vec<usize> = Vec::new();
        let mut ok_rows = OkRows::new(relevant.len());
        let mut row: Vec<u32> = Vec::new();
        // No relevant statement names a peer (most profiles: none holds for
        // them): every peer's candidates are empty, not looked up 10^2 times.
        let no_peer_side = local.side_is_empty(1 - own_side);
        for zp in zpeers {
            // The memo of the empty set, once the first peer made it.
            if no_peer_side && let Some(id) = ok_rows.get(&[]) {
                peer_remap.push(id);
                continue;
            }
            // The relevant statements whose peer side holds, in order.
            let at = Whereabouts {
                attrs: &zp.attrs,
                region: zp.region,
                in_vcn: zp
                    .region
                    .is_some_and(|r| tree.chain(r).any(|x| vcn_marks[x as usize].is_some())),
                in_osn: in_osn(zp.region),
            };
            local.candidates(1 - own_side, &at, tree, &mut peer_cand);
            peer_ok.clear();
            peer_ok.extend(
                peer_cand.iter().copied().filter(|&k| {
                    side_ok(relevant[k].st, !egress_check, zp.region, zp.vcn, &zp.attrs)
                }),
            );
            // The row is a function of the statements that hold: peers with
            // the same ones (most peers, often none) share the row's id
            // without building and hashing it again.
            if let Some(id) = ok_rows.get(&peer_ok) {
                peer_remap.push(id);
                continue;
            }
            row.clear();
            row.resize(n_svc, 0);
            // Ascending statement order: the first to reach a cell names it.
            for &k in &peer_ok {
                let bit = if relevant[k].stateful {
                    Entry::STATEFUL
                } else {
                    0
                };
                for &ls in &cond_svcs[stmt_cond[k]] {
                    let cell = &mut row[ls];
                    if *cell & Entry::ID_MASK == 0 {
                        *cell |= relevant[k].gid + 1;
                    }
                    *cell |= bit;
                }
            }
            let next = row_ids.len();
            let id = match row_ids.get(&row) {
                Some(id) => *id,
                None => {
                    let cells = (next + 1).saturating_mul(n_svc);
                    if cells > self.cfg.max_profile_cells {
                        return Err(CompileError::ProfileTooLarge {
                            layer: "zpr",
                            given: cells,
                            limit: self.cfg.max_profile_cells,
                        });
                    }
                    let id = u16::try_from(next).map_err(|_| CompileError::ProfileTooLarge {
                        layer: "zpr",
                        given: next + 1,
                        limit: usize::from(u16::MAX),
                    })?;
                    table.extend_from_slice(&row);
                    row_ids.insert(row.clone(), id);
                    id
                }
            };
            ok_rows.insert(&peer_ok, id);
            peer_remap.push(id);
        }
        Ok((peer_remap, svc_remap, n_svc, table))
    }
}

/// The ZPR row id of each set of a profile's relevant statements that hold
/// for a peer (their positions among the relevant statements, ascending):
/// the row is a function of that set, so peers with the same one share its
/// id without building and hashing the row again.
///
/// With at most 64 relevant statements (most profiles) a set is keyed as a
/// bit mask: no heap copy to hash or compare (a slice key's compare was ~7%
/// of a `check`'s time, cache misses on the keys' heap copies). Past that,
/// sets of at most 64 statements are kept as lists (bounded keys).
struct OkRows {
    masked: bool,
    masks: HashMap<u64, u16>,
    lists: HashMap<Vec<usize>, u16>,
}

impl OkRows {
    fn new(relevant: usize) -> OkRows {
        OkRows {
            masked: relevant <= 64,
            masks: HashMap::default(),
            lists: HashMap::default(),
        }
    }

    /// The set's bit mask (positions are below 64 when `masked`).
    fn mask(ok: &[usize]) -> u64 {
        ok.iter().fold(0u64, |m, &k| m | 1u64 << (k & 63))
    }

    fn get(&self, ok: &[usize]) -> Option<u16> {
        if self.masked {
            self.masks.get(&Self::mask(ok)).copied()
        } else {
            self.lists.get(ok).copied()
        }
    }

    fn insert(&mut self, ok: &[usize], id: u16) {
        if self.masked {
            self.masks.insert(Self::mask(ok), id);
        } else if ok.len() <= 64 {
            self.lists.insert(ok.to_vec(), id);
        }
    }
}

/// Statements filed by what one side names, so a profile or a peer finds
/// the statements that can hold for it from its own attributes and its
/// prefix chain (O(attributes + depth + candidates)), not by trying every
/// statement.
struct StmtIndex<'s> {
    /// `by_attr[side][attribute]`: statement positions, ascending.
    by_attr: [HashMap<&'s Attribute, Vec<usize>>; 2],
    /// `by_node[side][node]`: statements whose side is a CIDR, by its node.
    by_node: [HashMap<NodeId, Vec<usize>>; 2],
    /// `all_endpoints[side]`: statements whose side is `all-endpoints`.
    all_endpoints: [Vec<usize>; 2],
    /// `osn[side]`: statements whose side is `osn-services-ip-addresses`.
    osn: [Vec<usize>; 2],
}

/// Where an endpoint is, for [`StmtIndex::candidates`].
struct Whereabouts<'a> {
    attrs: &'a [&'a Attribute],
    region: Option<NodeId>,
    /// Inside some VCN (`all-endpoints` may hold).
    in_vcn: bool,
    /// Inside a service label's CIDR (`osn-services-ip-addresses` may hold).
    in_osn: bool,
}

impl<'s> StmtIndex<'s> {
    fn new(stmts: impl Iterator<Item = &'s Statement>, tree: &PrefixTree) -> Self {
        let mut ix = StmtIndex {
            by_attr: [HashMap::default(), HashMap::default()],
            by_node: [HashMap::default(), HashMap::default()],
            all_endpoints: [Vec::new(), Vec::new()],
            osn: [Vec::new(), Vec::new()],
        };
        for (k, st) in stmts.enumerate() {
            for side in [0usize, 1] {
                let term = match &st.kind {
                    StatementKind::Scoped { src, dst, .. } => {
                        if side == 0 {
                            &src.node
                        } else {
                            &dst.node
                        }
                    }
                    StatementKind::CrossVcn { src, dst, .. } => {
                        let a = if side == 0 { &src.node } else { &dst.node };
                        ix.by_attr[side].entry(a).or_default().push(k);
                        continue;
                    }
                };
                match term {
                    Term::Attribute(a) => ix.by_attr[side].entry(a).or_default().push(k),
                    Term::Cidr(c) => {
                        // Every statement CIDR is in the tree; one that were
                        // not would cover no node, hence no endpoint.
                        if let Some(n) = tree.find(Pfx::from(*c)) {
                            ix.by_node[side].entry(n).or_default().push(k);
                        }
                    }
                    Term::AllEndpoints => ix.all_endpoints[side].push(k),
                    Term::OsnServices => ix.osn[side].push(k),
                }
            }
        }
        ix
    }

    /// Whether no statement is filed under `side`: then
    /// [`StmtIndex::candidates`] is empty for every endpoint.
    fn side_is_empty(&self, side: usize) -> bool {
        self.by_attr[side].is_empty()
            && self.by_node[side].is_empty()
            && self.all_endpoints[side].is_empty()
            && self.osn[side].is_empty()
    }

    /// Statements whose side (0: source, 1: destination) may hold for the
    /// endpoint, ascending and without duplicates (a superset: the caller
    /// still checks each).
    fn candidates(
        &self,
        side: usize,
        at: &Whereabouts<'_>,
        tree: &PrefixTree,
        out: &mut Vec<usize>,
    ) {
        out.clear();
        for a in at.attrs {
            if let Some(v) = self.by_attr[side].get(a) {
                out.extend_from_slice(v);
            }
        }
        if let Some(r) = at.region {
            for n in tree.chain(r) {
                if let Some(v) = self.by_node[side].get(&n) {
                    out.extend_from_slice(v);
                }
            }
        }
        if at.in_vcn {
            out.extend_from_slice(&self.all_endpoints[side]);
        }
        if at.in_osn {
            out.extend_from_slice(&self.osn[side]);
        }
        out.sort_unstable();
        out.dedup();
    }
}

fn statement_terms(st: &Statement) -> impl Iterator<Item = &Term> {
    let v: Vec<&Term> = match &st.kind {
        StatementKind::Scoped { src, dst, .. } => vec![&src.node, &dst.node],
        StatementKind::CrossVcn { .. } => Vec::new(),
    };
    v.into_iter()
}

/// Whether a service condition matches a representative packet.
fn service_matches(c: &ServiceCond, p: &Packet) -> bool {
    c.matches(p.proto, p.l4)
}
