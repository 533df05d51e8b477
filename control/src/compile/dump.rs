//! The readable dump of the compiled tables (`zprsim dump-table`) and rule
//! names.

use super::prefix::Pfx;
use crate::ids::{ProfileId, RuleId};
use crate::model::Scenario;
use crate::verdict::RuleRef;

use super::table::*;

impl Compiled {
    /// A readable dump of the classes and tables, for debugging the
    /// compiler (`zprsim dump-table`).
    #[must_use]
    pub fn dump(&self, s: &Scenario) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let name = |id: Option<RuleId>| -> String {
            id.and_then(|i| self.rule_ref(i))
                .map_or_else(|| "-".to_string(), |r| rule_text(s, r))
        };
        let _ = writeln!(t, "# address classes ({})", self.classes.len());
        for (c, info) in self.classes.iter().enumerate() {
            let prefixes: Vec<String> = self
                .prefix_classes
                .iter()
                .filter(|(_, pc)| *pc as usize == c)
                .map(|(p, _)| {
                    let ip = Pfx::ip(p.fam, p.addr);
                    format!("{ip}/{}", p.len)
                })
                .collect();
            let none = |v: Option<ProfileId>| v.map_or_else(|| "-".to_string(), |p| p.to_string());
            let _ = writeln!(
                t,
                "class {c}: route {} sec-profile {} zpr-profile {} eg-peer {} in-peer {} zpr-peer {}{}{} <- {}",
                info.route,
                none(info.sec_profile),
                none(info.zpr_profile),
                info.eg_peer,
                info.in_peer,
                info.zpr_peer,
                if info.flags & ClassInfo::VNIC != 0 {
                    " vnic"
                } else {
                    ""
                },
                if info.flags & ClassInfo::EXEMPT != 0 {
                    " exempt"
                } else {
                    ""
                },
                prefixes.join(" ")
            );
        }
        let _ = writeln!(t, "\n# service classes ({})", self.services.len());
        for c in 0..self.services.len() {
            let (p, l4) = self.services.rep(u32::try_from(c).unwrap_or(0));
            let _ = writeln!(t, "service {c}: proto {p} {l4:?}");
        }
        let _ = writeln!(
            t,
            "\n# route table ({} x {} classes, non-empty cells)",
            self.n_route, self.n_route
        );
        for (i, cell) in self.route.iter().enumerate() {
            if *cell == 0 {
                continue;
            }
            let e = RouteEntry(*cell);
            let n = self.n_route as usize;
            let _ = writeln!(
                t,
                "route[{}][{}]: first {} reply {} rule {}",
                i / n.max(1),
                i % n.max(1),
                if e.passes(false) { "pass" } else { "drop" },
                if e.passes(true) { "pass" } else { "drop" },
                name(e.rule())
            );
        }
        for (label, layer) in [
            ("egress security", &self.egress),
            ("ingress security", &self.ingress),
        ] {
            let _ = writeln!(
                t,
                "\n# {label}: {} profile(s) over {} container table(s), {} cells, {} bytes",
                layer.profiles(),
                layer.containers(),
                layer.cells(),
                layer.bytes()
            );
            for p in 0..layer.profiles() {
                let m: Vec<String> = layer.members(p).map(|m| m.to_string()).collect();
                let _ = writeln!(t, "profile {p}: tables [{}]", m.join(", "));
            }
            dump_sided(&mut t, "table", &layer.tables, &name);
        }
        for (label, layer) in [
            ("zpr egress check", &self.zpr_egress),
            ("zpr ingress check", &self.zpr_ingress),
        ] {
            let _ = writeln!(
                t,
                "\n# {label}: {} profile(s), {} cells, {} bytes",
                layer.profiles(),
                layer.cells(),
                layer.bytes()
            );
            dump_sided(&mut t, "profile", layer, &name);
        }
        t
    }
}

/// Writes every table of a sided layer, one line per local peer.
fn dump_sided(
    t: &mut String,
    what: &str,
    layer: &SidedLayer,
    name: &dyn Fn(Option<RuleId>) -> String,
) {
    use std::fmt::Write as _;
    for (pi, slot) in layer.slots.iter().enumerate() {
        let n_peer = layer
            .peer_row(*slot)
            .iter()
            .copied()
            .max()
            .map_or(0, |m| usize::from(m) + 1);
        let _ = writeln!(
            t,
            "{what} {pi}: {n_peer} local peer(s) x {} local service(s)",
            slot.n_svc
        );
        for lp in 0..n_peer {
            let row: Vec<String> = (0..slot.n_svc as usize)
                .map(|ls| {
                    let e = layer.cell(*slot, lp * slot.n_svc as usize + ls);
                    if !e.allowed() {
                        "deny".to_string()
                    } else {
                        format!(
                            "{}{}",
                            name(e.rule()),
                            if e.tracks() { "+track" } else { "" }
                        )
                    }
                })
                .collect();
            let _ = writeln!(t, "  peer {lp}: {}", row.join(" | "));
        }
    }
}

/// `route_table:NAME#i`, `nsg:NAME#i`, `security_list:NAME/ingress#i`, `zpr_policy:NAME#i`.
#[must_use]
pub fn rule_text(s: &Scenario, r: RuleRef) -> String {
    match r {
        RuleRef::Route { table, index } => {
            format!("route_table:{}#{index}", s.route_tables[table.index()].name)
        }
        RuleRef::Nsg { nsg, index } => format!("nsg:{}#{index}", s.nsgs[nsg.index()].name),
        RuleRef::SecurityList {
            list,
            direction,
            index,
        } => {
            let d = match direction {
                crate::verdict::DirectionKey::Ingress => "ingress",
                crate::verdict::DirectionKey::Egress => "egress",
            };
            format!(
                "security_list:{}/{d}#{index}",
                s.security_lists[list.index()].name
            )
        }
        RuleRef::Statement(st) => format!(
            "zpr_policy:{}#{}",
            s.zpr_policies[st.policy.index()].name,
            st.index
        ),
    }
}

impl Compiled {
    /// Layout statistics of the security layers (temporary experiment).
    #[doc(hidden)]
    #[must_use]
    pub fn layout_stats(&self) -> String {
        use std::collections::{HashMap, HashSet};
        use std::fmt::Write as _;
        let mut t = String::new();
        for (name, l) in [
            ("egress", &self.egress.tables),
            ("ingress", &self.ingress.tables),
        ] {
            let mut tables: HashSet<(u32, Vec<u32>)> = HashSet::new();
            let mut rows: HashSet<Vec<u32>> = HashSet::new();
            let mut row_cells = 0usize;
            let mut npeers = Vec::new();
            let mut nsvc = Vec::new();
            let mut peers_distinct_per_row: HashMap<u32, usize> = HashMap::new();
            let ends: Vec<usize> = {
                let mut o: Vec<usize> = l.slots.iter().map(|s| s.offset as usize).collect();
                o.push(l.entries.len());
                o.sort_unstable();
                o
            };
            for s in &l.slots {
                let o = s.offset as usize;
                let end = ends.iter().copied().find(|&e| e > o).unwrap_or(o);
                let tab = l.entries[o..end].to_vec();
                let n = s.n_svc.max(1) as usize;
                npeers.push(tab.len() / n);
                nsvc.push(n);
                *peers_distinct_per_row.entry(s.peer_remap).or_default() += 1;
                for r in tab.chunks(n) {
                    if rows.insert(r.to_vec()) {
                        row_cells += r.len();
                    }
                }
                tables.insert((s.n_svc, tab));
            }
            let tab_cells: usize = tables.iter().map(|t| t.1.len()).sum();
            npeers.sort_unstable();
            nsvc.sort_unstable();
            let q = |v: &Vec<usize>| {
                format!(
                    "min {} med {} p90 {} max {}",
                    v.first().unwrap_or(&0),
                    v.get(v.len() / 2).unwrap_or(&0),
                    v.get(v.len() * 9 / 10).unwrap_or(&0),
                    v.last().unwrap_or(&0)
                )
            };
            let _ = writeln!(
                t,
                "{name}: slots {} cells {} distinct-tables {} ({} cells) distinct-rows-global {} cells; peer_len {} svc_len {} distinct peer rows {}; local peers {}; local svcs {}",
                l.slots.len(),
                l.entries.len(),
                tables.len(),
                tab_cells,
                row_cells,
                l.peer_len,
                l.svc_len,
                peers_distinct_per_row.len(),
                q(&npeers),
                q(&nsvc)
            );
        }
        t
    }
}
