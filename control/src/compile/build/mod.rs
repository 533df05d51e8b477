//! The builder: a scenario becomes the tables of [`super::table`].

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Instant;

use super::HashMap;
use super::hot::{HotClass, hot_classes};
use super::lpm::Lpm;
use super::prefix::{NodeId, Pfx, PrefixTree};
use super::service::{ServiceClasses, ServiceCond};
use super::{CompileError, Config};
use crate::ids::{NsgId, RouteTableId, SecurityListId, SubnetId, VcnId, VnicId};
use crate::model::{
    Attribute, Direction, Peer, RouteDestination, RouteTarget, Scenario, SecurityRule,
};
use crate::verdict::RuleRef;
use crate::zpl::ast::{ConnectionState, Endpoint as Term, Statement, StatementKind};

use super::table::*;

impl Compiled {
    /// Compiles a scenario.
    ///
    /// # Errors
    /// When a [`Config`] limit is exceeded.
    pub fn new(s: &Scenario, cfg: &Config) -> Result<Compiled, CompileError> {
        Compiled::new_with(s, cfg, &crate::load::InOrder)
    }

    /// [`Compiled::new`], with `jobs` running its independent parts (the
    /// LPM and route table beside the service, security and ZPR tables)
    /// on the threads it has: the same tables, and the same first error,
    /// whatever the runner.
    ///
    /// # Errors
    /// As [`Compiled::new`].
    pub fn new_with(
        s: &Scenario,
        cfg: &Config,
        jobs: &dyn crate::load::Jobs,
    ) -> Result<Compiled, CompileError> {
        let t0 = Instant::now();
        let mut c = Builder::new(s, cfg)?.build(jobs)?;
        c.stats.compile_s = t0.elapsed().as_secs_f64();
        Ok(c)
    }
}

mod classes;
#[cfg(test)]
mod classes_tests;
mod local_svc;
mod peer_order;
pub(super) mod route;
mod security;
use security::named_nsgs;
mod sided;
mod undeliverable;
mod vnics_unknown;
mod zpr;

use local_svc::LocalServices;
pub(super) use sided::SidedBuilder;
use sided::dense_ids;
#[cfg(test)]
pub(super) use sided::{SeqIndex, intern, seq_mix, squeeze};
use zpr::{StmtIndex, statement_terms};

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
    /// VNIC holding each node (a host node), by node.
    vnic_at: Vec<Option<VnicId>>,
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

/// A rule of a profile's union, in evaluation order.
struct URule<'a> {
    gid: u32,
    rule: &'a SecurityRule,
}

/// Which NSGs leave their VNICs' tracking unknown although their own
/// rules are known: those with a stateless rule naming an NSG of a VCN
/// that holds a stand-in VNIC without NSGs (lost with it: it may be a
/// member of the named NSG, and then the stateless rule matches it). One
/// flag per NSG, all false (and nothing scanned past the VNICs) when the
/// scenario has no such stand-in.
pub(super) fn nsgs_naming_unknown_members(s: &Scenario) -> Vec<bool> {
    let mut open = vec![false; s.vcns.len()];
    for vn in s
        .vnics
        .iter()
        .filter(|vn| vn.stand_in && vn.nsgs.is_empty())
    {
        open[s.subnets[vn.subnet.index()].vcn.index()] = true;
    }
    let any = open.contains(&true);
    s.nsgs
        .iter()
        .map(|n| {
            any && n.rules.iter().any(|r| match r.peer {
                Peer::Nsg(named) => r.stateless && open[s.nsgs[named.index()].vcn.index()],
                _ => false,
            })
        })
        .collect()
}

/// Whether VNIC `v`'s security rules are not all known: one of its NSGs or
/// of its subnet's security lists is a stand-in (`zprsim import` made it up
/// for one the export lacks), or the VNIC is a stand-in without NSGs (its
/// NSGs were lost with it) or sits in a stand-in subnet without security
/// lists (lost with it), or one of its NSGs is flagged in `naming_unknown`
/// ([`nsgs_naming_unknown_members`]). Nothing is tracked at such a VNIC:
/// the rules it lacks may hold a stateless one that matches (or a stateless
/// rule may match a peer it cannot see), and stateless wins.
pub(super) fn rules_unknown(s: &Scenario, v: VnicId, naming_unknown: &[bool]) -> bool {
    let vn = &s.vnics[v.index()];
    let sn = &s.subnets[vn.subnet.index()];
    (vn.stand_in && vn.nsgs.is_empty())
        || sn.lists_unknown
        || vn
            .nsgs
            .iter()
            .any(|n| s.nsgs[n.index()].stand_in || naming_unknown[n.index()])
        || sn
            .security_lists
            .iter()
            .any(|l| s.security_lists[l.index()].stand_in)
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
        // Sized once from an upper bound (every route rule and security
        // rule a CIDR), with room for the two roots `PrefixTree::build`
        // adds: grown by doubling, the vector (10^4 VNIC addresses and
        // more) was copied into fresh pages at each step, on the path to
        // the first packet of a `replay` (docs/benchmarks.md, the
        // twenty-ninth session).
        let sec = sec_rules_of(s);
        let bound = 3
            + s.vcns.iter().map(|v| v.cidr_blocks.len()).sum::<usize>()
            + s.subnets.iter().map(|sn| sn.cidrs.len()).sum::<usize>()
            + s.services.iter().map(|l| l.cidrs.len()).sum::<usize>()
            + s.vnics.iter().map(|v| v.private_ips.len()).sum::<usize>()
            + s.route_tables.iter().map(|t| t.rules.len()).sum::<usize>()
            + sec.len();
        let undeliverable = undeliverable::prefixes(s);
        let routers = super::virtual_router::hosts(s);
        let mut prefixes: Vec<Pfx> =
            Vec::with_capacity(bound + undeliverable.len() + routers.len());
        prefixes.push(link_local());
        prefixes.extend(undeliverable);
        prefixes.extend(routers);
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
        // By node, not a map: asked of every node with an address of its
        // own by the classes' loop.
        let mut vnic_at = vec![None; tree.len()];
        for (i, v) in s.vnics.iter().enumerate() {
            let Ok(id) = VnicId::new(i) else { continue };
            for ip in &v.private_ips {
                if let Some(at) = vnic_at.get_mut(node_of(&tree, Pfx::host(*ip)) as usize) {
                    *at = Some(id);
                }
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
        match self.vnic_at.get(n as usize) {
            Some(Some(v)) => Ident::Vnic(*v),
            _ => Ident::Other,
        }
    }

    /// The VCN whose CIDR blocks hold node `n`.
    fn vcn_of(&self, vcn_marks: &[Option<VcnId>], n: NodeId) -> Option<VcnId> {
        self.tree.chain(n).find_map(|a| vcn_marks[a as usize])
    }

    #[allow(clippy::too_many_lines)]
    fn build(self, jobs: &dyn crate::load::Jobs) -> Result<Compiled, CompileError> {
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
        let in_lost_subnet = vnics_unknown::covered(s, tree);
        let undelivered = tree.covered(&self.marks(undeliverable::prefixes(s)));
        let at_router = self.marks(super::virtual_router::hosts(s));

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
        // Per NSG: whether a rule of the direction names it (one flag per
        // NSG: asked for every NSG of every VNIC address).
        let referenced_nsgs = |dir: Direction| -> Vec<bool> {
            let mut named = vec![false; s.nsgs.len()];
            for (_, r) in sec.iter().filter(|(_, r)| r.direction == dir) {
                if let Peer::Nsg(n) = r.peer
                    && let Some(flag) = named.get_mut(n.index())
                {
                    *flag = true;
                }
            }
            named
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
        let naming_unknown = nsgs_naming_unknown_members(s);
        let classes::Classes {
            route_keys,
            mut eg_keys,
            mut in_keys,
            sec_profiles,
            mut zpeers,
            zselves,
            mut classes,
            node_class,
            vnic_peers,
        } = self.classes(
            &classes::Marks {
                vcn: &vcn_marks,
                route: &route_marks,
                eg: &eg_marks,
                ingress: &in_marks,
                zpr: &zpr_marks,
                eg_nsgs: &eg_nsgs,
                in_nsgs: &in_nsgs,
                exempt_node,
                in_lost_subnet: &in_lost_subnet,
                undelivered: &undelivered,
                at_router: &at_router,
                naming_unknown: &naming_unknown,
            },
            jobs,
        )?;
        let [eg_hot, in_hot, zpr_hot] = &vnic_peers;
        let eg_fold = peer_order::fold_peers(s, &mut eg_keys, eg_hot);
        let in_fold = peer_order::fold_peers(s, &mut in_keys, in_hot);
        let zpr_new = peer_order::hot_first(&mut zpeers, zpr_hot);
        for c in &mut classes {
            // Every old id has a new one (the orders are permutations of
            // the keys); one without would read another class's row.
            let renumber = |new: &[u32], id: u32| {
                new.get(id as usize)
                    .copied()
                    .ok_or(CompileError::Internal("a peer class without a new id"))
            };
            c.eg_peer = renumber(&eg_fold.new_id, c.eg_peer)?;
            c.in_peer = renumber(&in_fold.new_id, c.in_peer)?;
            c.zpr_peer = renumber(&zpr_new, c.zpr_peer)?;
        }
        if classes.len() > cfg.max_address_classes {
            return Err(CompileError::TooManyAddressClasses {
                given: classes.len(),
                limit: cfg.max_address_classes,
            });
        }

        lap("classes");
        // The LPM and the route table on one side, the services, security
        // and ZPR tables on the other: they read the classes' keys and
        // share nothing else, so a runner with threads builds both at once
        // (the second core was idle through the compile of a `replay`,
        // docs/benchmarks.md, the twenty-ninth session). The tables are
        // the same either way; a failure is the one the phases in their
        // order (lpm, services, route, security, zpr) meet first.
        // A half's failure, with its phase's place in the order above.
        type Failed = (u8, CompileError);
        let by_lpm = || -> Result<(Lpm, Vec<u32>, [f64; 2]), Failed> {
            let t = Instant::now();
            let lpm = (|| -> Result<Lpm, CompileError> {
                // ---- LPM
                let mut lpm = Lpm::new(node_class[0], node_class[1]);
                let mut order: Vec<usize> = (0..n_nodes).collect();
                order.sort_by_key(|&i| tree.nodes[i].len);
                for i in order {
                    lpm.insert(tree.nodes[i], node_class[i]).map_err(|_| {
                        CompileError::TooLarge {
                            given: usize::MAX,
                            limit: cfg.max_table_bytes,
                        }
                    })?;
                }

                lpm.finish();
                Ok(lpm)
            })()
            .map_err(|e| (0, e))?;
            let lpm_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let route = self
                .build_route(&route_keys, &vcn_marks)
                .map_err(|e| (2, e))?;
            Ok((lpm, route, [lpm_s, t.elapsed().as_secs_f64()]))
        };
        type Tables = (
            ServiceClasses,
            [SecurityLayer; 2],
            [SidedLayer; 2],
            Vec<ZprProfileInfo>,
            [f64; 3],
        );
        let by_services = || -> Result<Tables, Failed> {
            let t = Instant::now();
            let services = (|| -> Result<ServiceClasses, CompileError> {
                // ---- services
                let mut conds: Vec<ServiceCond> = sec
                    .iter()
                    .map(|(_, r)| ServiceCond::Rule(r.protocol, r.options))
                    .collect();
                conds.extend(
                    s.statements()
                        .map(|(_, st)| ServiceCond::Stmt(st.statement.conditions())),
                );
                let services = ServiceClasses::build(conds.iter(), cfg.max_service_classes)
                    .map_err(|e| CompileError::TooManyServiceClasses {
                        given: e.count,
                        limit: cfg.max_service_classes,
                        why: e.to_string(),
                    })?;

                Ok(services)
            })()
            .map_err(|e| (1, e))?;
            let services_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let security = (|| -> Result<[SecurityLayer; 2], CompileError> {
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
                // Per direction, per slot: its peer domain (`peer_order.rs`).
                let mut slot_dom: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
                for c in 0..n_nsgs + list_sets.len() {
                    for (k, dir, builder, peers, folded) in [
                        (0usize, Direction::Egress, &mut egress, &eg_keys, &eg_fold),
                        (1, Direction::Ingress, &mut ingress, &in_keys, &in_fold),
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
                            self.security_table(&urules, peers, &services)?;
                        slot_of[k].push(Some(
                            builder.push(peer_remap, svc_remap, n_svc, &table, cfg)?,
                        ));
                        slot_dom[k].push(folded.container_dom(s, &named_nsgs(&urules)));
                    }
                }
                let [eg_dom, in_dom] = slot_dom;
                let layers = [(egress, &eg_fold, eg_dom), (ingress, &in_fold, in_dom)].map(
                    |(builder, folded, slot_dom)| {
                        let fold = PeerFolding {
                            slot_dom,
                            ..folded.fold.clone()
                        };
                        builder
                            .finish_folded(fold)
                            .map(|(tables, fold)| SecurityLayer::new(tables, fold))
                    },
                );
                let [eg_layer, in_layer] = layers;
                let mut layers = [eg_layer?, in_layer?];
                let mut members = Vec::new();
                for (nsgs, subnet, incomplete) in &sec_profiles {
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
                            .push_profile(&members, *incomplete)
                            .map_err(CompileError::Internal)?;
                    }
                }
                let [egress, ingress] = layers;

                Ok([egress, ingress])
            })()
            .map_err(|e| (3, e))?;
            let security_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let (zpr, zpr_profiles) =
                (|| -> Result<([SidedLayer; 2], Vec<ZprProfileInfo>), CompileError> {
                    // ---- zpr layers
                    let mut zpr_egress = SidedBuilder::new("zpr egress", cfg);
                    let mut zpr_ingress = SidedBuilder::new("zpr ingress", cfg);
                    let mut zpr_profiles = Vec::new();
                    // Every statement once: its global id, its service condition (as an
                    // index into the distinct conditions) and whether it is stateful.
                    let mut gconds: Vec<ServiceCond> = Vec::new();
                    let mut gcond_index: HashMap<ServiceCond, usize> = HashMap::default();
                    let stmts: Vec<ZStmt<'_>> =
                        s.statements()
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
                        for (egress_check, builder) in
                            [(true, &mut zpr_egress), (false, &mut zpr_ingress)]
                        {
                            let (peer_remap, svc_remap, n_svc, table) = self.zpr_table(
                                zs,
                                egress_check,
                                (&stmts, &gconds),
                                &index,
                                &zpeers,
                                &vcn_marks,
                                &services,
                            )?;
                            let slot = builder.push(peer_remap, svc_remap, n_svc, &table, cfg)?;
                            if slot as usize != zpr_profiles.len() - 1 {
                                return Err(CompileError::Internal("zpr slot is not the profile"));
                            }
                        }
                    }

                    Ok(([zpr_egress.finish()?, zpr_ingress.finish()?], zpr_profiles))
                })()
                .map_err(|e| (4, e))?;
            Ok((
                services,
                security,
                zpr,
                zpr_profiles,
                [services_s, security_s, t.elapsed().as_secs_f64()],
            ))
        };
        let first = std::sync::Mutex::new(None);
        let second = std::sync::Mutex::new(None);
        jobs.run(2, &|i| {
            if i == 0 {
                let r = by_lpm();
                *first
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
            } else {
                let r = by_services();
                *second
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(r);
            }
        });
        fn taken<T>(m: std::sync::Mutex<Option<T>>) -> Result<T, CompileError> {
            m.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .ok_or(CompileError::Internal("a compile job did not run"))
        }
        let (
            (lpm, route, [lpm_s, route_s]),
            (services, [egress, ingress], zpr, zpr_profiles, times),
        ) = match (taken(first)?, taken(second)?) {
            (Ok(a), Ok(b)) => (a, b),
            (Err((_, e)), Ok(_)) | (Ok(_), Err((_, e))) => return Err(e),
            (Err((i, e)), Err((j, f))) => return Err(if i <= j { e } else { f }),
        };
        let [zpr_egress, zpr_ingress] = zpr;
        let [services_s, security_s, zpr_s] = times;
        let n_route = u32::try_from(route_keys.len()).unwrap_or(u32::MAX);
        for (name, secs) in [
            ("lpm", lpm_s),
            ("services", services_s),
            ("route", route_s),
            ("security", security_s),
            ("zpr", zpr_s),
        ] {
            phases.push((name, secs));
        }
        let table_entries = route.len()
            + egress.cells()
            + ingress.cells()
            + zpr_egress.cells()
            + zpr_ingress.cells();
        let hot = hot_classes(&classes, &egress, &ingress, [&zpr_egress, &zpr_ingress])?;
        let routers = super::virtual_router::VirtualRouters::new(s);
        let table_bytes = lpm.bytes()
            + routers.bytes()
            + services.bytes()
            + classes.len() * std::mem::size_of::<ClassInfo>()
            + hot.len() * std::mem::size_of::<HotClass>()
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
        // Sized once (collected from a `filter`, it grew by doubling: ~1 MB
        // copied into fresh pages on the 10k-VNIC scenario).
        let mut prefix_classes =
            Vec::with_capacity(tree.own_addr.iter().filter(|a| a.is_some()).count());
        prefix_classes.extend(
            (0..n_nodes)
                .filter(|&i| tree.own_addr[i].is_some())
                .map(|i| (tree.nodes[i], node_class[i])),
        );
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
            hot,
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
            prefix_classes,
            routers,
        })
    }
}
