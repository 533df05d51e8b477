//! The readable dump of the compiled tables (`zprsim dump-table`).

use super::prefix::Pfx;
use super::rule_text::rule_text;
use crate::ids::{ProfileId, RuleId};
use crate::model::Scenario;

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
                "class {c}: route {} sec-profile {} zpr-profile {} eg-peer {} in-peer {} zpr-peer {}{}{}{}{} <- {}",
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
                if info.flags & ClassInfo::MAY_BE_LOST_VNIC != 0 {
                    " vnics-unknown"
                } else {
                    ""
                },
                if info.flags & ClassInfo::UNDELIVERABLE != 0 {
                    " undeliverable"
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
                // A profile that tracks nothing (stand-ins) says so: its
                // cells' `+track` flags do not hold for its VNICs.
                let untracked = if layer.untracked(p) {
                    " untracked (rules not all known)"
                } else {
                    ""
                };
                let _ = writeln!(t, "profile {p}: tables [{}]{untracked}", m.join(", "));
            }
            dump_sided(&mut t, "table", &layer.tables, &|i| layer.row_len(i), &name);
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
            dump_sided(&mut t, "profile", layer, &|_| layer.peer_len, &name);
        }
        t
    }
}

/// Writes every table of a sided layer, one line per local peer;
/// `row_len`: the entries of a slot's peer row.
fn dump_sided(
    t: &mut String,
    what: &str,
    layer: &SidedLayer,
    row_len: &dyn Fn(usize) -> u32,
    name: &dyn Fn(Option<RuleId>) -> String,
) {
    use std::fmt::Write as _;
    for (pi, slot) in layer.slots.iter().enumerate() {
        let n_peer = layer
            .peer_row(*slot, row_len(pi))
            .into_iter()
            .max()
            .map_or(0, |m| m as usize + 1);
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
