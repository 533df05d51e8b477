//! The local service classes of one table (a security container or a ZPR
//! profile), computed in time that grows with the table's conditions and
//! its output, not with conditions × global service classes.
//!
//! # What is computed
//! A table's *signature* of a global service class is the set of the
//! table's distinct service conditions that match the class. Classes with
//! equal signatures share a local id; ids are given in first-appearance
//! order over the global class ids (class 0 gets 0). Per condition, the
//! local ids it matches, ascending (`cond_svcs`). The compiled tables are
//! built from exactly these, so they are byte-identical to the matrix
//! this replaced (a `#[cfg(test)]` oracle, [`oracle`], keeps that old
//! matrix and every compile under test asserts the two agree).
//!
//! # How
//! The global classes have structure ([`GroupLayout`]): one group per
//! named protocol, each a grid of `ns × nd` classes (sport × dport
//! intervals for TCP/UDP, one row of `type << 8 | code` intervals for ICMP)
//! and one tail class (fragments, or a plain protocol's one class). A
//! condition matches, in a group's grid, a set of rows (all of them unless
//! a rule names source ports) times a few column ranges, found by one map
//! read per range end ([`grid_ranges`]).
//!
//! Per group: the conditions that match every row are swept once along
//! the columns (start and end events, sorted), which gives every column's
//! set; the conditions naming source ports ("row conditions", rare) are
//! then added and removed column by column as the rows pass their ends.
//! Between two row events every row has the same signatures as the row
//! before, so it copies that row's ids (first appearance is unchanged).
//! The tails and class 0 are evaluated directly (`ServiceCond::matches`
//! on their one representative), over the conditions that can touch them.
//!
//! Sets are given an EXACT canonical id by hash-consing ([`Sets`]): a set
//! is a treap whose priorities are a fixed function of the keys, so every
//! set has one shape, and every node is interned by (key, left, right) in
//! a hash map that compares the whole triple. Equal sets therefore have
//! the same root id and different sets different ones: no probabilistic
//! identity (two conditions merged by a hash collision would let a table
//! allow what the reference denies). An insert or remove makes O(depth)
//! nodes; the depth is O(log n) for sets the input does not choose and at
//! most a few √n for adversarial ones (the longest monotone run of a fixed
//! pseudo-random permutation).
//!
//! # Cost
//! O(C + E·depth + G + output) per table, where C is the distinct
//! conditions, E the treap operations (two per column range of a
//! condition matching every row; two per covered column of a row
//! condition; one per condition touching a tail), G the global classes
//! (the remap row, which the table format stores anyway) and output the
//! `cond_svcs` entries (each new local id lists its set once).
//! [`Config::max_condition_work`] bounds E (predicted from the conditions
//! before any set is made) plus the output (checked before each new local
//! id lists its set). The output is quadratic for nested conditions
//! (statements on ports 1..=k for k = 1..n: n local ids, the k-th in n-k+1
//! sets), and the limit is what bounds it.

use super::*;
use crate::compile::service::GroupLayout;
use crate::model::{Protocol, RuleOptions, proto};

/// The local services of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LocalServices {
    /// The local id of every global service class.
    pub(super) remap: Vec<u16>,
    /// The first global class of every local id.
    pub(super) reps: Vec<usize>,
    /// Per distinct condition, the local ids it matches, ascending.
    pub(super) cond_svcs: Vec<Vec<u16>>,
}

/// The rows of a grid a condition matches: `None` for all of them, else
/// an inclusive range of row indices.
type Rows = Option<(u32, u32)>;

/// What condition `c` matches in the grid of group `g`: `None` when no
/// class of the grid; else its rows, with its column ranges (inclusive,
/// possibly overlapping) given to `sink`. Mirrors
/// [`ServiceCond::matches`] on the grid's representatives (the first value
/// of each interval): every range end a condition names is a cut point,
/// so a range covers whole intervals, from the interval of its first value
/// to the interval of its last.
fn grid_ranges(
    c: &ServiceCond,
    g: &GroupLayout<'_>,
    sink: &mut impl FnMut(u32, u32),
) -> Option<Rows> {
    let p = g.proto?;
    let dmap = g.dmap?;
    if g.ns == 0 || g.nd == 0 {
        return None;
    }
    let col = |v: u16| u32::from(dmap.get(usize::from(v)).copied().unwrap_or(0));
    // A range of columns; an inverted range (min > max) matches nothing.
    let mut cols = |lo: u16, hi: u16| {
        if lo <= hi {
            sink(col(lo), col(hi));
        }
    };
    let ports = proto::has_ports(p);
    let all = |sink: &mut dyn FnMut(u16, u16)| {
        sink(0, u16::MAX);
        Some(None)
    };
    // The grid's keys for an ICMP type and optional code.
    let icmp = |t: Option<u8>, code: Option<u8>, sink: &mut dyn FnMut(u16, u16)| match (t, code) {
        (Some(t), Some(c)) => {
            let k = u16::from_be_bytes([t, c]);
            sink(k, k);
        }
        (Some(t), None) => sink(u16::from_be_bytes([t, 0]), u16::from_be_bytes([t, 255])),
        (None, Some(c)) => {
            for t in 0..=255u8 {
                let k = u16::from_be_bytes([t, c]);
                sink(k, k);
            }
        }
        (None, None) => sink(0, u16::MAX),
    };
    match c {
        ServiceCond::Rule(Protocol::All, _) => all(&mut cols),
        ServiceCond::Rule(Protocol::Number(n), opts) => {
            if *n != p {
                return None;
            }
            match *opts {
                RuleOptions::None => all(&mut cols),
                RuleOptions::Ports { src, dst } if ports => {
                    let rows = match src {
                        None => None,
                        Some(r) => {
                            let smap = g.smap?;
                            let row =
                                |v: u16| u32::from(smap.get(usize::from(v)).copied().unwrap_or(0));
                            if r.min > r.max {
                                return None;
                            }
                            Some((row(r.min), row(r.max)))
                        }
                    };
                    match dst {
                        None => cols(0, u16::MAX),
                        Some(r) if r.min <= r.max => cols(r.min, r.max),
                        Some(_) => return None,
                    }
                    Some(rows)
                }
                // An ICMP grid's representatives carry no ports: only a
                // rule naming none matches them.
                RuleOptions::Ports { src, dst } => {
                    if src.is_none() && dst.is_none() {
                        all(&mut cols)
                    } else {
                        None
                    }
                }
                RuleOptions::Icmp { .. } if ports => None,
                RuleOptions::Icmp { icmp_type, code } => {
                    icmp(Some(icmp_type), code, &mut cols);
                    Some(None)
                }
            }
        }
        ServiceCond::Stmt(s) => {
            let names_icmp = s.icmp_type.is_some() || s.icmp_code.is_some();
            if let Some(spec) = &s.protocol {
                if spec.protocol != p {
                    return None;
                }
                if !spec.ports.is_empty() {
                    // Ports need a ports representative, and ICMP
                    // conditions an ICMP one: both never hold.
                    if !ports || names_icmp {
                        return None;
                    }
                    for r in &spec.ports {
                        cols(r.min, r.max);
                    }
                    return Some(None);
                }
            }
            if names_icmp {
                if ports || !proto::is_icmp(p) {
                    return None;
                }
                icmp(s.icmp_type, s.icmp_code, &mut cols);
                return Some(None);
            }
            all(&mut cols)
        }
    }
}

/// Hash-consed sets of condition indices (treaps with fixed priorities):
/// equal sets have equal root ids, exactly. Node 0 is the empty set.
struct Sets {
    nodes: Vec<Node>,
    index: HashMap<(u32, u32, u32), u32>,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    key: u32,
    left: u32,
    right: u32,
    size: u32,
}

/// A treap priority: a fixed bijective mix of the key (splitmix64's
/// finalizer), ties impossible (it is a bijection), so each set has one
/// shape.
fn prio(key: u32) -> u64 {
    let mut z = u64::from(key).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Sets {
    fn new() -> Self {
        Sets {
            nodes: vec![Node {
                key: 0,
                left: 0,
                right: 0,
                size: 0,
            }],
            index: HashMap::default(),
        }
    }

    fn node(&self, t: u32) -> Node {
        self.nodes[t as usize]
    }

    /// Number of elements of set `t`.
    fn size(&self, t: u32) -> u32 {
        self.node(t).size
    }

    /// The one node (key, left, right).
    fn mk(&mut self, key: u32, left: u32, right: u32) -> u32 {
        if let Some(&t) = self.index.get(&(key, left, right)) {
            return t;
        }
        let t = u32::try_from(self.nodes.len()).unwrap_or(u32::MAX);
        let size = 1 + self.size(left) + self.size(right);
        self.nodes.push(Node {
            key,
            left,
            right,
            size,
        });
        self.index.insert((key, left, right), t);
        t
    }

    fn insert(&mut self, t: u32, k: u32) -> u32 {
        if t == 0 {
            return self.mk(k, 0, 0);
        }
        let n = self.node(t);
        if k == n.key {
            t
        } else if k < n.key {
            let l = self.insert(n.left, k);
            let ln = self.node(l);
            if prio(ln.key) > prio(n.key) {
                let r = self.mk(n.key, ln.right, n.right);
                self.mk(ln.key, ln.left, r)
            } else {
                self.mk(n.key, l, n.right)
            }
        } else {
            let r = self.insert(n.right, k);
            let rn = self.node(r);
            if prio(rn.key) > prio(n.key) {
                let l = self.mk(n.key, n.left, rn.left);
                self.mk(rn.key, l, rn.right)
            } else {
                self.mk(n.key, n.left, r)
            }
        }
    }

    fn remove(&mut self, t: u32, k: u32) -> u32 {
        if t == 0 {
            return 0;
        }
        let n = self.node(t);
        if k == n.key {
            self.merge(n.left, n.right)
        } else if k < n.key {
            let l = self.remove(n.left, k);
            if l == n.left {
                t
            } else {
                self.mk(n.key, l, n.right)
            }
        } else {
            let r = self.remove(n.right, k);
            if r == n.right {
                t
            } else {
                self.mk(n.key, n.left, r)
            }
        }
    }

    /// The union of `a` and `b`, every key of `a` below every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == 0 {
            return b;
        }
        if b == 0 {
            return a;
        }
        let (an, bn) = (self.node(a), self.node(b));
        if prio(an.key) > prio(bn.key) {
            let r = self.merge(an.right, b);
            self.mk(an.key, an.left, r)
        } else {
            let l = self.merge(a, bn.left);
            self.mk(bn.key, l, bn.right)
        }
    }

    /// Calls `f` on every key of `t` (any order).
    fn for_each(&self, t: u32, stack: &mut Vec<u32>, mut f: impl FnMut(u32)) {
        stack.clear();
        stack.push(t);
        while let Some(x) = stack.pop() {
            if x == 0 {
                continue;
            }
            let n = self.node(x);
            f(n.key);
            stack.push(n.left);
            stack.push(n.right);
        }
    }
}

/// Gives local ids in first-appearance order and lists each new id's set.
struct Ids<'c> {
    sets: Sets,
    local: HashMap<u32, u16>,
    out: LocalServices,
    stack: Vec<u32>,
    /// Scratch of [`Ids::charge`]: the new sets of one row.
    fresh: std::collections::HashSet<u32, std::hash::BuildHasherDefault<ahash::AHasher>>,
    /// Work so far against [`Config::max_condition_work`].
    work: usize,
    events: usize,
    layer: &'static str,
    cfg: &'c Config,
}

impl Ids<'_> {
    /// The local id of set `root`, first seen at global class `class`.
    fn id(&mut self, root: u32, class: usize) -> Result<u16, CompileError> {
        if let Some(&id) = self.local.get(&root) {
            return Ok(id);
        }
        // As `dense_ids` checks: the id must fit, and the profile's cells.
        let next = self.local.len();
        let id = u16::try_from(next).map_err(|_| CompileError::TooManyLocalClasses {
            layer: self.layer,
            what: "service",
            limit: usize::from(u16::MAX),
        })?;
        if next >= self.cfg.max_profile_cells {
            return Err(CompileError::ProfileTooLarge {
                layer: self.layer,
                given: next,
                limit: self.cfg.max_profile_cells,
            });
        }
        // Listed once, into its conditions' lists (`charge` counted it).
        let Self {
            sets, out, stack, ..
        } = self;
        sets.for_each(root, stack, |c| {
            if let Some(v) = out.cond_svcs.get_mut(c as usize) {
                v.push(id);
            }
        });
        self.local.insert(root, id);
        self.out.reps.push(class);
        Ok(id)
    }

    /// Counts the entries the sets among `roots` not listed yet will
    /// list, against [`Config::max_condition_work`], before any is.
    fn charge(&mut self, roots: &[u32]) -> Result<(), CompileError> {
        self.fresh.clear();
        let mut prev = None;
        for &r in roots {
            // Columns come in runs of one set (it changes only at events):
            // one look-up per run.
            if prev == Some(r) {
                continue;
            }
            prev = Some(r);
            if !self.local.contains_key(&r) && self.fresh.insert(r) {
                self.work = self.work.saturating_add(self.sets.size(r) as usize);
            }
        }
        if self.work > self.cfg.max_condition_work {
            return Err(self.too_much());
        }
        Ok(())
    }

    fn too_much(&self) -> CompileError {
        CompileError::TooMuchConditionWork {
            layer: self.layer,
            given: self.work,
            limit: self.cfg.max_condition_work,
            conditions: self.out.cond_svcs.len(),
            events: self.events,
        }
    }
}

/// A condition that names source ports, in one grid: its merged column
/// ranges (`ranges[from..to]`).
struct RowCond {
    cond: u32,
    from: usize,
    to: usize,
}

/// Sorts and merges inclusive ranges (overlapping or adjacent) in place.
fn merge_ranges(v: &mut Vec<(u32, u32)>) {
    v.sort_unstable();
    let mut w = 0;
    for i in 0..v.len() {
        if w > 0 && v[i].0 <= v[w - 1].1.saturating_add(1) {
            v[w - 1].1 = v[w - 1].1.max(v[i].1);
        } else {
            v[w] = v[i];
            w += 1;
        }
    }
    v.truncate(w);
}

/// The local services of a table with distinct conditions `conds`.
///
/// # Errors
/// [`CompileError::TooMuchConditionWork`] past
/// [`Config::max_condition_work`] (the events predicted before any set is
/// made, then each row's listed entries before they are listed), and the
/// id limits `dense_ids` checks.
pub(super) fn local_services(
    conds: &[ServiceCond],
    services: &ServiceClasses,
    layer: &'static str,
    cfg: &Config,
) -> Result<LocalServices, CompileError> {
    let layouts: Vec<GroupLayout<'_>> = services.layouts().collect();
    let mut group_of = [None::<usize>; 256];
    for (gi, g) in layouts.iter().enumerate() {
        if let Some(p) = g.proto {
            group_of[usize::from(p)] = Some(gi);
        }
    }
    // The conditions that can match a class of each group (ascending).
    let mut touching: Vec<Vec<u32>> = vec![Vec::new(); layouts.len()];
    for (ci, c) in conds.iter().enumerate() {
        let ci = u32::try_from(ci).map_err(|_| CompileError::Internal("condition index"))?;
        let only = |p: u8| group_of[usize::from(p)];
        let (a, b) = match c {
            ServiceCond::Rule(Protocol::Number(n), _) => (only(*n), None),
            ServiceCond::Stmt(s) => match &s.protocol {
                Some(spec) => (only(spec.protocol), None),
                None if s.icmp_type.is_some() || s.icmp_code.is_some() => {
                    (only(proto::ICMP), only(proto::ICMPV6))
                }
                None => {
                    touching.iter_mut().skip(1).for_each(|t| t.push(ci));
                    continue;
                }
            },
            ServiceCond::Rule(Protocol::All, _) => {
                touching.iter_mut().skip(1).for_each(|t| t.push(ci));
                continue;
            }
        };
        for g in [a, b].into_iter().flatten() {
            // Group 0 (class 0) is evaluated on every condition.
            if g != 0 {
                touching[g].push(ci);
            }
        }
    }
    // The work, predicted from the conditions before any set is made:
    // class 0 and the tails (one insert per condition evaluated), two
    // events per column range of a condition on every row, two per
    // covered column of a row condition.
    let mut events = conds.len();
    for (g, t) in layouts.iter().zip(&touching) {
        events = events.saturating_add(t.len());
        for &ci in t {
            let mut n = 0usize;
            let mut cover = 0usize;
            let rows = grid_ranges(&conds[ci as usize], g, &mut |lo, hi| {
                n += 1;
                cover = cover.saturating_add((hi - lo + 1) as usize);
            });
            events = events.saturating_add(match rows {
                None => 0,
                Some(None) => n.saturating_mul(2),
                Some(Some(_)) => cover.min(g.nd as usize).saturating_mul(2),
            });
        }
    }
    let mut ids = Ids {
        sets: Sets::new(),
        local: HashMap::default(),
        out: LocalServices {
            remap: vec![0; services.len()],
            reps: Vec::new(),
            cond_svcs: vec![Vec::new(); conds.len()],
        },
        stack: Vec::new(),
        fresh: Default::default(),
        work: events,
        events,
        layer,
        cfg,
    };
    if events > cfg.max_condition_work {
        return Err(ids.too_much());
    }
    // A class evaluated directly: the conditions in `among` that match
    // its representative.
    let direct = |ids: &mut Ids<'_>, class: u32, among: &mut dyn Iterator<Item = u32>| {
        let (p, l4) = services.rep(class);
        let mut root = 0;
        for ci in among {
            if conds[ci as usize].matches(p, l4) {
                root = ids.sets.insert(root, ci);
            }
        }
        ids.charge(&[root])?;
        let id = ids.id(root, class as usize)?;
        if let Some(x) = ids.out.remap.get_mut(class as usize) {
            *x = id;
        }
        Ok::<(), CompileError>(())
    };
    let all = u32::try_from(conds.len()).map_err(|_| CompileError::Internal("conditions"))?;
    direct(&mut ids, 0, &mut (0..all))?;

    let mut ranges: Vec<(u32, u32)> = Vec::new();
    let mut scratch: Vec<(u32, u32)> = Vec::new();
    // (column, 0 remove / 1 add, condition): removes first at a column.
    let mut col_events: Vec<(u32, u8, u32)> = Vec::new();
    let mut row_conds: Vec<RowCond> = Vec::new();
    let mut row_events: Vec<(u32, u8, usize)> = Vec::new();
    let mut roots: Vec<u32> = Vec::new();
    for (g, touch) in layouts.iter().zip(&touching).skip(1) {
        let (ns, nd) = (g.ns, g.nd);
        if ns > 0 && nd > 0 {
            ranges.clear();
            col_events.clear();
            row_conds.clear();
            row_events.clear();
            for &ci in touch {
                scratch.clear();
                let rows = grid_ranges(&conds[ci as usize], g, &mut |lo, hi| {
                    scratch.push((lo, hi));
                });
                let Some(rows) = rows else { continue };
                // A condition's own ranges may overlap (a statement's port
                // list): merged, so each column is entered once.
                merge_ranges(&mut scratch);
                match rows {
                    None => {
                        for &(lo, hi) in &scratch {
                            col_events.push((lo, 1, ci));
                            if hi + 1 < nd {
                                col_events.push((hi + 1, 0, ci));
                            }
                        }
                    }
                    Some((s0, s1)) => {
                        let from = ranges.len();
                        ranges.extend_from_slice(&scratch);
                        let k = row_conds.len();
                        row_conds.push(RowCond {
                            cond: ci,
                            from,
                            to: ranges.len(),
                        });
                        row_events.push((s0, 1, k));
                        if s1 + 1 < ns {
                            row_events.push((s1 + 1, 0, k));
                        }
                    }
                }
            }
            // Every column's set of the conditions on every row.
            col_events.sort_unstable();
            roots.clear();
            let mut root = 0;
            let mut e = 0;
            for d in 0..nd {
                while let Some(&(at, kind, ci)) = col_events.get(e) {
                    if at != d {
                        break;
                    }
                    root = if kind == 1 {
                        ids.sets.insert(root, ci)
                    } else {
                        ids.sets.remove(root, ci)
                    };
                    e += 1;
                }
                roots.push(root);
            }
            // Rows in blocks between row events; a block's first row is
            // made, the others copy it.
            row_events.sort_unstable();
            let mut e = 0;
            let mut s = 0;
            while s < ns {
                while let Some(&(at, kind, k)) = row_events.get(e) {
                    if at != s {
                        break;
                    }
                    let rc = &row_conds[k];
                    for &(lo, hi) in &ranges[rc.from..rc.to] {
                        for d in lo..=hi {
                            let r = &mut roots[d as usize];
                            *r = if kind == 1 {
                                ids.sets.insert(*r, rc.cond)
                            } else {
                                ids.sets.remove(*r, rc.cond)
                            };
                        }
                    }
                    e += 1;
                }
                let next = row_events.get(e).map_or(ns, |x| x.0).min(ns);
                let first = (g.base + s * nd) as usize;
                ids.charge(&roots)?;
                // One id look-up per run of equal sets.
                let mut prev = None;
                for d in 0..nd {
                    let class = first + d as usize;
                    let root = roots[d as usize];
                    let id = match prev {
                        Some((r, id)) if r == root => id,
                        _ => ids.id(root, class)?,
                    };
                    prev = Some((root, id));
                    ids.out.remap[class] = id;
                }
                let row = first..first + nd as usize;
                for r in s + 1..next {
                    let at = (g.base + r * nd) as usize;
                    ids.out.remap.copy_within(row.clone(), at);
                }
                s = next;
            }
        }
        // The tail class (fragments, or a plain protocol's one class).
        let tail = g.base + ns * nd;
        direct(&mut ids, tail, &mut touch.iter().copied())?;
    }
    Ok(ids.out)
}

/// The matrix the sweep replaced, kept as the oracle the tests compare it
/// with: every condition tried on every class's representative, classes
/// grouped by signature in first-appearance order.
#[cfg(test)]
pub(super) mod oracle {
    use super::*;

    pub(in crate::compile) fn local_services(
        conds: &[ServiceCond],
        services: &ServiceClasses,
        cfg: &Config,
    ) -> Result<LocalServices, CompileError> {
        let n = services.len();
        let words = conds.len().div_ceil(64).max(1);
        let mut bits = vec![0u64; n * words];
        for (c, cond) in conds.iter().enumerate() {
            for si in 0..n {
                let (p, l4) = services.rep(u32::try_from(si).unwrap_or(0));
                if cond.matches(p, l4) {
                    bits[si * words + c / 64] |= 1 << (c % 64);
                }
            }
        }
        let sigs: Vec<&[u64]> = (0..n)
            .map(|si| &bits[si * words..(si + 1) * words])
            .collect();
        let (remap, reps) = dense_ids(&sigs, "oracle", cfg)?;
        let cond_svcs = (0..conds.len())
            .map(|c| {
                reps.iter()
                    .enumerate()
                    .filter(|(_, si)| bits[**si * words + c / 64] >> (c % 64) & 1 == 1)
                    .map(|(ls, _)| u16::try_from(ls).unwrap_or(u16::MAX))
                    .collect()
            })
            .collect();
        Ok(LocalServices {
            remap,
            reps,
            cond_svcs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PortRange;
    use crate::zpl::ast::{Conditions, ConnectionState, ProtocolSpec};
    use proptest::prelude::*;

    fn port() -> impl Strategy<Value = u16> {
        prop_oneof![Just(0u16), Just(65_535), 0u16..6, 1000u16..1004]
    }

    /// Port ranges, inverted ones (min > max, which match nothing) too.
    fn range() -> impl Strategy<Value = PortRange> {
        (port(), port()).prop_map(|(min, max)| PortRange { min, max })
    }

    fn protocol() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(1u8),
            Just(6),
            Just(17),
            Just(58),
            Just(47),
            Just(0),
            Just(255)
        ]
    }

    fn small() -> impl Strategy<Value = u8> {
        prop_oneof![Just(0u8), Just(3), Just(8), Just(255)]
    }

    fn cond() -> impl Strategy<Value = ServiceCond> {
        let rule = (
            proptest::option::weighted(0.85, protocol()),
            0u8..4,
            proptest::option::of(range()),
            proptest::option::of(range()),
            small(),
            proptest::option::of(small()),
        )
            .prop_map(|(p, kind, src, dst, t, code)| {
                let p = p.map_or(Protocol::All, Protocol::Number);
                let opts = match kind {
                    0 => RuleOptions::None,
                    1 | 2 => RuleOptions::Ports { src, dst },
                    _ => RuleOptions::Icmp { icmp_type: t, code },
                };
                ServiceCond::Rule(p, opts)
            });
        let stmt = (
            proptest::option::weighted(0.8, (protocol(), proptest::collection::vec(range(), 0..4))),
            proptest::option::weighted(0.2, small()),
            proptest::option::weighted(0.2, small()),
            any::<bool>(),
        )
            .prop_map(|(p, icmp_type, icmp_code, stateless)| {
                ServiceCond::Stmt(Conditions {
                    protocol: p.map(|(protocol, ports)| ProtocolSpec { protocol, ports }),
                    icmp_type,
                    icmp_code,
                    state: if stateless {
                        ConnectionState::Stateless
                    } else {
                        ConnectionState::Stateful
                    },
                })
            });
        prop_oneof![rule, stmt]
    }

    fn distinct(v: Vec<ServiceCond>) -> Vec<ServiceCond> {
        let mut seen = std::collections::HashSet::new();
        v.into_iter().filter(|c| seen.insert(c.clone())).collect()
    }

    fn agree(global: &[ServiceCond], local: &[ServiceCond]) {
        let services = ServiceClasses::build(global.iter(), 1 << 20).unwrap();
        let cfg = Config::default();
        let got = local_services(local, &services, "test", &cfg).unwrap();
        let want = oracle::local_services(local, &services, &cfg).unwrap();
        assert_eq!(got, want, "{local:?} over {global:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The sweep gives the matrix's ids, representatives and lists on
        /// any conditions: rules and statements of every shape, source
        /// ports, ICMP type/code, overlapping and inverted ranges, a
        /// table's conditions a subset of the scenario's.
        #[test]
        fn sweep_agrees_with_the_matrix(
            global in proptest::collection::vec(cond(), 1..24),
            pick in proptest::collection::vec(any::<bool>(), 24),
        ) {
            let local: Vec<ServiceCond> = global
                .iter()
                .zip(&pick)
                .filter(|(_, k)| **k)
                .map(|(c, _)| c.clone())
                .collect();
            agree(&global, &distinct(local));
            agree(&global, &distinct(global.clone()));
        }
    }

    /// Every shipped scenario compiles under test, where each table's
    /// local services are asserted equal to the matrix oracle's
    /// (`Builder::local_services`).
    #[test]
    fn shipped_scenarios_agree_with_the_matrix() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut compiled = 0;
        for dir in [
            "tests/cases/scenarios",
            "examples/shop",
            "examples/oke-orders",
            "examples/docs",
        ] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.extension().is_none_or(|x| x != "toml") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Not every TOML there is a valid scenario (expectations,
                // a deliberately broken example).
                let Ok(loaded) = crate::load::from_toml_str(&text, "t.toml") else {
                    continue;
                };
                crate::compile::Compiled::new(&loaded.scenario, &Config::default()).unwrap();
                compiled += 1;
            }
        }
        assert!(compiled >= 6, "{compiled}");
    }

    #[test]
    fn every_protocol_named_and_no_conditions_agree() {
        // All 256 protocols named: class 0 stands for none of them (its
        // representative is protocol 255, as the matrix saw it).
        let global: Vec<ServiceCond> = (0..=255u8)
            .map(|p| ServiceCond::Rule(Protocol::Number(p), RuleOptions::None))
            .collect();
        agree(&global, &global);
        agree(&global, &global[250..]);
        agree(&global, &[]);
    }

    #[test]
    fn hash_consed_sets_are_canonical() {
        // The same set reached by different histories has one root.
        let mut s = Sets::new();
        let mut a = 0;
        for k in [5, 1, 9, 3, 7] {
            a = s.insert(a, k);
        }
        let mut b = 0;
        for k in [9, 8, 7, 3, 1, 5, 2] {
            b = s.insert(b, k);
        }
        b = s.remove(b, 8);
        b = s.remove(b, 2);
        assert_eq!(a, b);
        assert_eq!(s.size(a), 5);
        let c = s.remove(a, 7);
        assert_ne!(a, c);
        assert_eq!(s.insert(c, 7), a);
        let mut keys = Vec::new();
        s.for_each(a, &mut Vec::new(), |k| keys.push(k));
        keys.sort_unstable();
        assert_eq!(keys, [1, 3, 5, 7, 9]);
    }
}
