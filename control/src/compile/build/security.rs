//! The security layers' tables (NSGs and security lists, per container).

use super::*;

impl<'a> Builder<'a> {
    /// An NSG's rules of one direction, in order, with their global ids.
    pub(super) fn nsg_rules(&self, n: NsgId, dir: Direction) -> Vec<URule<'a>> {
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
    pub(super) fn list_rules(&self, lists: &[SecurityListId], dir: Direction) -> Vec<URule<'a>> {
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
    /// condition treats alike share one (see `local_svc.rs`).
    pub(super) fn local_services(
        &self,
        conds: &[ServiceCond],
        services: &ServiceClasses,
        layer: &'static str,
    ) -> Result<LocalServices, CompileError> {
        let out = local_svc::local_services(conds, services, layer, self.cfg)?;
        // Under test, every table small enough is checked against the
        // matrix the sweep replaced: the same ids, the same lists.
        #[cfg(test)]
        if conds.len().saturating_mul(services.len()) <= 1 << 22 {
            let want = local_svc::oracle::local_services(conds, services, self.cfg)?;
            assert_eq!(out, want, "local services differ from the matrix oracle");
        }
        Ok(out)
    }

    #[allow(clippy::type_complexity)]
    pub(super) fn security_table(
        &self,
        urules: &[URule<'_>],
        peers: &[(Option<NodeId>, Vec<NsgId>)],
        services: &ServiceClasses,
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
        let LocalServices {
            remap: svc_remap,
            reps: svc_rep_idx,
            cond_svcs,
        } = self.local_services(&conds, services, "security")?;
        // Local peers: nearest ancestor among this profile's prefixes, and the
        // membership restricted to the NSGs its rules name.
        let marks = self.marks(urules.iter().flat_map(|u| peer_prefixes(s, &u.rule.peer)));
        let named = named_nsgs(urules);
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
                    let cell = &mut row[usize::from(ls)];
                    if *cell & Entry::ID_MASK == 0 {
                        *cell |= id;
                    }
                    *cell |= bit;
                }
            }
        }
        Ok((peer_remap, svc_remap, n_svc, table))
    }
}

/// The NSGs some of these rules name as their peer.
pub(super) fn named_nsgs(urules: &[URule<'_>]) -> BTreeSet<NsgId> {
    urules
        .iter()
        .filter_map(|u| match u.rule.peer {
            Peer::Nsg(n) => Some(n),
            _ => None,
        })
        .collect()
}
