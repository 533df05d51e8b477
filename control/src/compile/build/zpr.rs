//! The ZPR layer's tables: the statements that can hold for a profile,
//! and each peer's row of them.

use super::*;

impl Builder<'_> {
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    pub(super) fn zpr_table(
        &self,
        me: &ZSelf<'_>,
        egress_check: bool,
        (stmts, gconds): (&[ZStmt<'_>], &[ServiceCond]),
        index: &StmtIndex<'_>,
        zpeers: &[ZPeer<'_>],
        vcn_marks: &[Option<VcnId>],
        services: &ServiceClasses,
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
        let LocalServices {
            remap: svc_remap,
            reps: svc_rep_idx,
            cond_svcs,
        } = self.local_services(&conds, services, "zpr")?;
        let n_svc = svc_rep_idx.len();
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
            // The memo of the empty set, once the first peer made it, is
            // every later peer's row too (nothing changes the memo for
            // them): one look-up per profile, not one per peer (129,825
            // on the 10k-VNIC scenario, 8.5 M instructions).
            if no_peer_side && let Some(id) = ok_rows.get(&[]) {
                peer_remap.resize(zpeers.len(), id);
                break;
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
                    let cell = &mut row[usize::from(ls)];
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
pub(super) struct OkRows {
    masked: bool,
    masks: HashMap<u64, u16>,
    lists: HashMap<Vec<usize>, u16>,
}

impl OkRows {
    pub(super) fn new(relevant: usize) -> OkRows {
        OkRows {
            masked: relevant <= 64,
            masks: HashMap::default(),
            lists: HashMap::default(),
        }
    }

    /// The set's bit mask (positions are below 64 when `masked`).
    pub(super) fn mask(ok: &[usize]) -> u64 {
        ok.iter().fold(0u64, |m, &k| m | 1u64 << (k & 63))
    }

    pub(super) fn get(&self, ok: &[usize]) -> Option<u16> {
        if self.masked {
            self.masks.get(&Self::mask(ok)).copied()
        } else {
            self.lists.get(ok).copied()
        }
    }

    pub(super) fn insert(&mut self, ok: &[usize], id: u16) {
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
pub(super) struct StmtIndex<'s> {
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
pub(super) struct Whereabouts<'a> {
    attrs: &'a [&'a Attribute],
    region: Option<NodeId>,
    /// Inside some VCN (`all-endpoints` may hold).
    in_vcn: bool,
    /// Inside a service label's CIDR (`osn-services-ip-addresses` may hold).
    in_osn: bool,
}

impl<'s> StmtIndex<'s> {
    pub(super) fn new(stmts: impl Iterator<Item = &'s Statement>, tree: &PrefixTree) -> Self {
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
    pub(super) fn side_is_empty(&self, side: usize) -> bool {
        self.by_attr[side].is_empty()
            && self.by_node[side].is_empty()
            && self.all_endpoints[side].is_empty()
            && self.osn[side].is_empty()
    }

    /// Statements whose side (0: source, 1: destination) may hold for the
    /// endpoint, ascending and without duplicates (a superset: the caller
    /// still checks each).
    pub(super) fn candidates(
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

pub(super) fn statement_terms(st: &Statement) -> impl Iterator<Item = &Term> {
    let v: Vec<&Term> = match &st.kind {
        StatementKind::Scoped { src, dst, .. } => vec![&src.node, &dst.node],
        StatementKind::CrossVcn { .. } => Vec::new(),
    };
    v.into_iter()
}
