//! The invariants the judgement's unchecked reads rely on ([`super::read`]),
//! checked once when a [`Compiled`] is made. The one way to make one
//! (`Compiled::new_with`, `build/mod.rs`) ends with
//! [`Compiled::validated`], and the tables are immutable after it (no
//! dump or spool loads them back): a table that breaks an invariant is
//! refused there (`CompileError::Internal`, a compiler bug), never read out
//! of bounds. The checks are linear in the tables' bytes (each distinct
//! peer and service row, each narrow table, read once).
//!
//! What each trusted read needs, and where it is checked:
//! - the trie's chunk reads, and the class it returns indexing `hot`:
//!   `Lpm::check`;
//! - the service classifier's lane and map reads, and its classes being
//!   below the service count: `ServiceClasses::check`;
//! - `route[a.route × n_route + b.route]`: [`Compiled::check_tables`];
//! - a security profile, its inline slots and their domains, the fold of
//!   the peer: [`security`], [`fold`];
//! - a slot's peer word, service cell and table cell (and a narrow cell's
//!   id pair) for any peer below its row length and service below the
//!   service count: [`sided_slot`].

use super::table::{Compiled, Entry, Members, PeerFold, ProfileSlot, SecurityLayer, SidedLayer};
use super::{CompileError, HashMap};

/// Largest values of the rows already read ([`sided_slot`]): identical
/// rows are stored once, and many slots share them.
#[derive(Default)]
struct Seen {
    peer: HashMap<(u32, u32), u32>,
    svc: HashMap<u32, u32>,
}

impl Compiled {
    /// `self`, when every invariant the judgement's trusted reads rely on
    /// holds (see the module docs).
    ///
    /// # Errors
    /// [`CompileError::Internal`] naming the invariant that does not hold.
    pub(super) fn validated(self) -> Result<Compiled, CompileError> {
        self.check_tables().map_err(CompileError::Internal)?;
        Ok(self)
    }

    fn check_tables(&self) -> Result<(), &'static str> {
        let n_classes = self.hot.len();
        if n_classes == 0 || self.classes.len() != n_classes {
            return Err("no address class, or hot lines apart from the classes");
        }
        self.lpm.check(n_classes)?;
        self.services.check()?;
        let n_svc = u32::try_from(self.services.len()).map_err(|_| "service classes past a u32")?;
        let n_route = u64::from(self.n_route);
        if n_route * n_route != self.route.len() as u64 || n_route * n_route > 1 << 32 {
            return Err("the route table is not n_route × n_route cells of u32 index");
        }
        for layer in [&self.egress, &self.ingress] {
            security(layer, n_svc)?;
        }
        let zpr = [&self.zpr_egress, &self.zpr_ingress];
        for layer in zpr {
            // A ZPR layer's rows cover every ZPR peer class.
            let mut seen = Seen::default();
            for &s in &layer.slots {
                sided_slot(layer, s, layer.peer_len, n_svc, &mut seen)?;
            }
        }
        let any_zpr = self.hot.iter().any(|h| h.has_zpr());
        for (h, info) in self.hot.iter().zip(&self.classes) {
            if u64::from(h.route) >= n_route {
                return Err("a class's route class is past the route table");
            }
            if let Some(p) = h.sec_profile
                && (p.index() >= self.egress.profiles.len()
                    || p.index() >= self.ingress.profiles.len())
            {
                return Err("a class's security profile is past a layer's profiles");
            }
            fold(&self.egress, h.eg_fold)?;
            fold(&self.ingress, h.in_fold)?;
            if h.has_zpr() != info.zpr_profile.is_some() {
                return Err("a hot class's ZPR bit is not its class's");
            }
            if let Some(p) = info.zpr_profile {
                let same =
                    |layer: &SidedLayer, s: ProfileSlot| layer.slots.get(p.index()) == Some(&s);
                if !same(zpr[0], h.zpr_egress) || !same(zpr[1], h.zpr_ingress) {
                    return Err("a hot class's ZPR slot is not its profile's");
                }
            }
            if any_zpr && zpr.iter().any(|l| h.zpr_peer >= l.peer_len) {
                return Err("a class's ZPR peer is past a ZPR layer's rows");
            }
        }
        Ok(())
    }
}

/// A security layer: the slots' domains and rows, every profile's members
/// and inline copies, every peer fold.
fn security(l: &SecurityLayer, n_svc: u32) -> Result<(), &'static str> {
    let t = &l.tables;
    let mut seen = Seen::default();
    if l.slot_dom.len() != t.slots.len() || l.dom_len.len() >= usize::from(PeerFold::COARSE) {
        return Err("security slot domains do not match the slots");
    }
    for (i, (&s, &dom)) in t.slots.iter().zip(&l.slot_dom).enumerate() {
        if usize::from(dom) >= l.dom_len.len() && dom != PeerFold::NO_DOMAIN {
            return Err("a security slot's domain is no domain");
        }
        sided_slot(t, s, l.row_len(i), n_svc, &mut seen)?;
    }
    for m in &l.profiles {
        if u64::from(m.start) + u64::from(m.n) > l.members.len() as u64 {
            return Err("a security profile's members are past the member list");
        }
        let start = m.start as usize;
        let mine = &l.members[start..start + m.n as usize];
        if mine.iter().any(|&s| s as usize >= t.slots.len()) {
            return Err("a security profile's member is no slot");
        }
        for (k, &slot) in mine.iter().take(Members::INLINE).enumerate() {
            let s = slot as usize;
            if m.inline[k] != t.slots[s] || m.dom[k] != l.slot_dom[s] {
                return Err("a security profile's inline slot is not its member's");
            }
        }
    }
    for &f in &l.peers {
        fold(l, f)?;
    }
    Ok(())
}

/// A peer fold of a security layer: its coarse index inside every row,
/// its fine index (when its domain is a domain) inside its domain's rows,
/// and no domain that a slot without one (`NO_DOMAIN`) would match.
fn fold(l: &SecurityLayer, f: PeerFold) -> Result<(), &'static str> {
    if l.tables.slots.is_empty() {
        // No container: no row is ever read.
        return Ok(());
    }
    let d = f.fine >> 24;
    let fine_ok = match l.dom_len.get(d as usize) {
        Some(&len) => {
            u64::from(f.fine & PeerFold::FINE_MASK) < u64::from(l.n_coarse) + u64::from(len)
        }
        None => d == u32::from(PeerFold::COARSE),
    };
    if f.coarse >= l.n_coarse || !fine_ok {
        return Err("a peer fold reads past its rows");
    }
    Ok(())
}

/// The largest local peer id of a slot's packed row of `row_len` entries
/// (width log at most 4), word by word: the full words' fields with a
/// field count the compiler knows per width, then the last word's
/// fields inside the row. `None` when the row's words are not all inside
/// `peer_bits`.
fn row_max(t: &SidedLayer, s: ProfileSlot, row_len: u32) -> Option<u32> {
    /// The largest of the `16 >> LOG` fields of every word.
    fn fields<const LOG: u32>(words: &[u16]) -> u32 {
        let mask = (1u32 << (1 << LOG)) - 1;
        words
            .iter()
            .map(|&w| {
                (0..16 >> LOG)
                    .map(|j| (u32::from(w) >> (j << LOG)) & mask)
                    .max()
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    }
    let log = s.peer_remap & 7;
    let bits = (row_len as usize) << log;
    let first = (s.peer_remap >> 4) as usize;
    let words = t.peer_bits.get(first..first + bits.div_ceil(16))?;
    let (full, last) = words.split_at(bits / 16);
    let m = match log {
        0 => fields::<0>(full),
        1 => fields::<1>(full),
        2 => fields::<2>(full),
        3 => fields::<3>(full),
        _ => fields::<4>(full),
    };
    // The fields of the last, partial word that belong to the row.
    let rest = (bits % 16) >> log;
    let tail = last.first().map_or(0, |&w| {
        (0..rest)
            .map(|j| (u32::from(w) >> (j << log)) & ((1u32 << (1 << log)) - 1))
            .max()
            .unwrap_or(0)
    });
    Some(m.max(tail))
}

/// A slot of a sided layer, read at any peer below `row_len` and service
/// below `n_svc`: its peer row's words inside `peer_bits` (width log at
/// most 4, first bit a multiple of 16), its service row inside `remaps`,
/// its cell index (largest local peer × `n_svc` + largest local service)
/// a `u32` inside its layer's cells, and, narrow, every cell of its table
/// naming an id pair inside the list before it (`offset >= 2 + 2k`).
fn sided_slot(
    t: &SidedLayer,
    s: ProfileSlot,
    row_len: u32,
    n_svc: u32,
    seen: &mut Seen,
) -> Result<(), &'static str> {
    if row_len == 0 {
        // No peer index is below 0: the row is never read.
        return Ok(());
    }
    if t.svc_len != n_svc {
        return Err("a layer's service rows are not the service classes");
    }
    let log = s.peer_remap & 7;
    let last_bit = u64::from(s.peer_remap & !7) + (u64::from(row_len - 1) << log);
    if log > 4 || s.peer_remap & 8 != 0 || last_bit >> 4 >= t.peer_bits.len() as u64 {
        // (Bit 3 set: a row not starting at a word, as `row_max` reads it.)
        return Err("a peer row reads past the peer words");
    }
    let lp = match seen.peer.get(&(s.peer_remap, row_len)) {
        Some(&m) => m,
        None => {
            let m = row_max(t, s, row_len).ok_or("a peer row reads past the peer words")?;
            seen.peer.insert((s.peer_remap, row_len), m);
            m
        }
    };
    let start = u64::from(s.svc_remap);
    if start + u64::from(n_svc) > (t.remaps.len() as u64).min(1 << 32) {
        return Err("a service row reads past the service rows");
    }
    let ls = *seen.svc.entry(s.svc_remap).or_insert_with(|| {
        let a = s.svc_remap as usize;
        t.remaps[a..a + n_svc as usize]
            .iter()
            .copied()
            .max()
            .map_or(0, u32::from)
    });
    let last = u64::from(lp) * u64::from(s.n_svc) + u64::from(ls);
    if last > u64::from(u32::MAX) {
        return Err("a slot's cell index overflows a u32");
    }
    let o = s.offset as usize;
    let end = o + usize::try_from(last).map_err(|_| "a slot's cell index past a usize")?;
    if !t.narrow {
        return if end < t.entries.len() {
            Ok(())
        } else {
            Err("a slot's cells are past the entries")
        };
    }
    let Some(cells) = t.cells.get(o..=end) else {
        return Err("a slot's narrow cells are past the cells");
    };
    let ids = |c: &u16| 2 + 2 * (usize::from(*c) & Entry::NARROW_MAX as usize);
    if cells.iter().any(|c| ids(c) > o) {
        return Err("a narrow cell names an id before its slot's list");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{both_cell_layouts, scenario};
    use super::super::{CompileError, Compiled};
    use crate::ids::ProfileId;

    /// A way to break a table, named.
    type Case = (&'static str, fn(&mut Compiled));

    /// Whether `validated` refuses `c` broken by `break_it`.
    fn refused(c: &Compiled, break_it: fn(&mut Compiled)) -> bool {
        let mut bad = c.clone();
        break_it(&mut bad);
        matches!(bad.validated(), Err(CompileError::Internal(_)))
    }

    fn len32(n: usize) -> u32 {
        u32::try_from(n).unwrap()
    }

    /// The row maxima read word by word are those read one local id at
    /// a time, for every slot of every layer (both cell layouts).
    #[test]
    fn row_maxima_word_by_word_are_the_local_ids_maxima() {
        for cfg in both_cell_layouts() {
            let c = Compiled::new(&scenario(), &cfg).unwrap();
            for l in [&c.egress, &c.ingress] {
                for (i, &s) in l.tables.slots.iter().enumerate() {
                    for len in [1, l.row_len(i)] {
                        let one = (0..len).map(|p| l.tables.local_peer(s, p)).max();
                        assert_eq!(super::row_max(&l.tables, s, len), one);
                    }
                }
            }
            for t in [&c.zpr_egress, &c.zpr_ingress] {
                for &s in &t.slots {
                    let one = (0..t.peer_len).map(|p| t.local_peer(s, p)).max();
                    assert_eq!(super::row_max(t, s, t.peer_len), one);
                }
            }
        }
    }

    /// The compiled tables pass; each index they hold, moved out of what
    /// the judgement's trusted reads may touch, is refused when the
    /// tables are made (both cell layouts).
    #[test]
    fn tables_the_judgement_would_read_out_of_bounds_are_refused() {
        let cases: [Case; 12] = [
            ("no class", |c| c.hot.clear()),
            ("route class", |c| c.hot[0].route = c.n_route),
            ("route table", |c| {
                c.route.pop();
            }),
            ("security profile", |c| {
                c.hot[0].sec_profile = ProfileId::new(c.egress.profiles.len()).ok();
            }),
            ("coarse fold", |c| {
                c.hot[0].eg_fold.coarse = c.egress.n_coarse
            }),
            ("fold of no domain", |c| {
                c.ingress.peers[0].fine = u32::from(super::PeerFold::NO_DOMAIN) << 24;
            }),
            ("peer width", |c| c.egress.tables.slots[0].peer_remap |= 5),
            ("service row", |c| {
                c.ingress.tables.slots[0].svc_remap = len32(c.ingress.tables.remaps.len());
            }),
            ("cells", |c| {
                c.egress.tables.slots[0].offset = len32(
                    c.egress
                        .tables
                        .entries
                        .len()
                        .max(c.egress.tables.cells.len()),
                )
            }),
            ("members", |c| {
                c.egress.profiles[0].start = len32(c.egress.members.len())
            }),
            ("ZPR peer", |c| c.hot[0].zpr_peer = c.zpr_egress.peer_len),
            ("ZPR slot", |c| {
                for h in c.hot.iter_mut().filter(|h| h.has_zpr()) {
                    h.zpr_ingress.offset += 1;
                }
            }),
        ];
        for cfg in both_cell_layouts() {
            let c = Compiled::new(&scenario(), &cfg).unwrap();
            assert!(c.clone().validated().is_ok());
            assert!(
                c.hot.iter().any(|h| h.has_zpr()),
                "the scenario has a ZPR class"
            );
            for (what, break_it) in cases {
                assert!(
                    refused(&c, break_it),
                    "{what} (narrow: {})",
                    cfg.narrow_cells_from_bytes == 0
                );
            }
        }
    }
}
