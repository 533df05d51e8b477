//! [`SidedBuilder`]: a [`SidedLayer`] built profile by profile, with
//! its helpers (dense ids, shared remap rows).

use super::*;

/// Builds a [`SidedLayer`] profile by profile, sharing identical remaps;
/// the tables are collected wide (`u32`) and made narrow by
/// [`SidedBuilder::finish`] when every slot's ids fit.
pub(in crate::compile) struct SidedBuilder {
    pub(super) layer: SidedLayer,
    /// The peer and the service remap rows stored so far ([`intern`]).
    peer_index: (SeqIndex, Vec<u32>),
    svc_index: (SeqIndex, Vec<u32>),
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
    pub(in crate::compile) fn new(name: &'static str, cfg: &Config) -> Self {
        SidedBuilder {
            layer: SidedLayer::default(),
            peer_index: Default::default(),
            svc_index: Default::default(),
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
    pub(in crate::compile) fn finish(self) -> Result<SidedLayer, CompileError> {
        self.finish_rows(None)
    }

    /// [`SidedBuilder::finish`] for a security layer: each slot's peer row
    /// folded as `fold` says (the coarse classes, then the classes of the
    /// slot's domain; see [`SecurityLayer`]) when every row reads back
    /// exactly that way, else flat. Returns the folding used.
    pub(in crate::compile) fn finish_folded(
        self,
        fold: PeerFolding,
    ) -> Result<(SidedLayer, PeerFolding), CompileError> {
        // A layer without a container has no row (and `peer_len` 0), but
        // its profiles still read a fold per peer class.
        let n = u32::try_from(fold.peers.len())
            .map_err(|_| CompileError::Internal("peer classes past u32"))?;
        if !self.layer.slots.is_empty() && self.layer.peer_len != n {
            return Err(CompileError::Internal("peer rows and peer classes differ"));
        }
        let fold = if folds_exactly(&self.layer, &fold) {
            fold
        } else {
            PeerFolding::flat(n, self.layer.slots.len())
        };
        let layer = self.finish_rows(Some(&fold))?;
        Ok((layer, fold))
    }

    fn finish_rows(self, fold: Option<&PeerFolding>) -> Result<SidedLayer, CompileError> {
        let mut layer = self.layer;
        pack_peer_rows(&mut layer, fold)?;
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

    pub(in crate::compile) fn push(
        &mut self,
        mut peer_remap: Vec<u16>,
        mut svc_remap: Vec<u16>,
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
        let offset = u32::try_from(self.layer.entries.len()).map_err(|_| too_large(usize::MAX))?;
        let n_svc = squeeze(
            seq_mix,
            &mut peer_remap,
            &mut svc_remap,
            n_svc,
            table,
            &mut self.layer.entries,
        );
        let table = self
            .layer
            .entries
            .get(offset as usize..)
            .ok_or(CompileError::Internal("squeezed table outside the entries"))?;
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
        let pr = intern(
            seq_mix,
            &mut self.peer_index,
            &mut self.layer.remaps,
            &peer_remap,
        )
        .map_err(|()| too_large(usize::MAX))?;
        let sr = intern(
            seq_mix,
            &mut self.svc_index,
            &mut self.layer.remaps,
            &svc_remap,
        )
        .map_err(|()| too_large(usize::MAX))?;
        if self.layer.remaps.len() * 2 > cfg.max_table_bytes {
            return Err(too_large(self.layer.remaps.len() * 2));
        }
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

/// Whether every slot's full peer row (over all global classes, as
/// built) reads back exactly through `fold`: every class outside the
/// slot's domain has the entry of its coarse class.
fn folds_exactly(layer: &SidedLayer, fold: &PeerFolding) -> bool {
    let n = fold.peers.len();
    let nc = fold.n_coarse as usize;
    if fold.slot_dom.len() != layer.slots.len()
        || fold.dom_len.len() != fold.dom_start.len()
        || fold.peers.iter().any(|f| f.coarse >= fold.n_coarse)
    {
        return false;
    }
    let mut checked: HashMap<(u32, u8), ()> = HashMap::default();
    layer.slots.iter().zip(&fold.slot_dom).all(|(slot, &dom)| {
        let p = slot.peer_remap;
        if checked.insert((p, dom), ()).is_some() {
            return true;
        }
        let Some(row) = layer.remaps.get(p as usize..p as usize + n) else {
            return false;
        };
        let own = match dom {
            PeerFold::NO_DOMAIN => 0..0,
            d => match (
                fold.dom_start.get(usize::from(d)),
                fold.dom_len.get(usize::from(d)),
            ) {
                (Some(&a), Some(&l)) => a as usize..a as usize + l as usize,
                _ => return false,
            },
        };
        (nc..n).all(|q| own.contains(&q) || row.get(fold.peers[q].coarse as usize) == row.get(q))
    })
}

/// Moves every distinct peer remap row of `layer` from `remaps` (`u16`,
/// as built) into `peer_bits`, each as wide as its largest id needs (1,
/// 2, 4, 8 or 16 bits, packed in `u16` words), and compacts `remaps` to
/// the service rows; the slots are renumbered to match (see
/// [`SidedLayer`]). Rows shared by several slots (of one domain) stay
/// shared. With `fold`, a slot's row keeps only the coarse classes and
/// its domain's ([`SecurityLayer`]; [`folds_exactly`] has checked it).
fn pack_peer_rows(layer: &mut SidedLayer, fold: Option<&PeerFolding>) -> Result<(), CompileError> {
    let internal = CompileError::Internal;
    let peer_len = layer.peer_len as usize;
    let svc_len = layer.svc_len as usize;
    let mut peer_at: HashMap<(u32, u8), u32> = HashMap::default();
    let mut svc_at: HashMap<u32, u32> = HashMap::default();
    let mut words: Vec<u16> = Vec::new();
    let mut svc: Vec<u16> = Vec::new();
    let mut kept: Vec<u16> = Vec::new();
    for (i, slot) in layer.slots.iter_mut().enumerate() {
        let p = slot.peer_remap;
        let dom = fold.map_or(PeerFold::NO_DOMAIN, |f| {
            f.slot_dom.get(i).copied().unwrap_or(PeerFold::NO_DOMAIN)
        });
        slot.peer_remap = if let Some(&v) = peer_at.get(&(p, dom)) {
            v
        } else {
            let full = layer
                .remaps
                .get(p as usize..p as usize + peer_len)
                .ok_or(internal("peer row outside the remaps"))?;
            let row = match fold {
                None => full,
                Some(f) => {
                    let nc = f.n_coarse as usize;
                    kept.clear();
                    kept.extend_from_slice(full.get(..nc).ok_or(internal("coarse classes"))?);
                    if dom != PeerFold::NO_DOMAIN {
                        let d = usize::from(dom);
                        let (a, l) = (f.dom_start[d] as usize, f.dom_len[d] as usize);
                        kept.extend_from_slice(
                            full.get(a..a + l).ok_or(internal("domain classes"))?,
                        );
                    }
                    &kept[..]
                }
            };
            let log: u32 = match row.iter().copied().max().unwrap_or(0) {
                0..=1 => 0,
                2..=3 => 1,
                4..=15 => 2,
                16..=255 => 3,
                _ => 4,
            };
            let start = words.len();
            // The row's first bit, with the width's log in bits 0-2.
            let v = u32::try_from(start)
                .ok()
                .and_then(|w| w.checked_mul(16))
                .ok_or(CompileError::TooLarge {
                    given: 2 * start,
                    limit: (u32::MAX / 8) as usize,
                })?
                | log;
            words.resize(start + (row.len() << log).div_ceil(16), 0);
            for (i, &id) in row.iter().enumerate() {
                let bit = i << log;
                words[start + (bit >> 4)] |= id << (bit & 15);
            }
            peer_at.insert((p, dom), v);
            v
        };
        let q = slot.svc_remap;
        slot.svc_remap = if let Some(&v) = svc_at.get(&q) {
            v
        } else {
            let v = u32::try_from(svc.len()).map_err(|_| internal("service rows past u32"))?;
            svc.extend_from_slice(
                layer
                    .remaps
                    .get(q as usize..q as usize + svc_len)
                    .ok_or(internal("service row outside the remaps"))?,
            );
            svc_at.insert(q, v);
            v
        };
    }
    layer.peer_bits = words;
    layer.remaps = svc;
    Ok(())
}

/// Merges the local services whose columns are equal and then the local
/// peers whose rows are equal, renumbering the remap rows to match: the
/// table a look-up reads is smaller and no look-up reads more (the remap
/// cell names the shared row or column directly). Appends the distinct
/// rows to `out` and returns the row length. Ids are given in
/// first-occurrence order, so the result is the same in every run.
///
/// Rows and columns are compared where they lie (found by a hash, see
/// [`SeqIndex`]): no copy of the table is made to key a map, and the rows
/// go straight into the layer's cells. `mix` is the hash's step
/// ([`seq_mix`]; a test gives one under which every sequence collides).
pub(in crate::compile) fn squeeze(
    mix: fn(u64, u32) -> u64,
    peer_remap: &mut [u16],
    svc_remap: &mut [u16],
    n_svc: usize,
    table: &[u32],
    out: &mut Vec<u32>,
) -> usize {
    if n_svc == 0 || table.is_empty() {
        out.extend_from_slice(table);
        return n_svc;
    }
    let n_peer = table.len() / n_svc;
    let cell = |p: usize, c: usize| table.get(p * n_svc + c).copied().unwrap_or(0);
    // Columns: local service -> distinct column; every column's hash in
    // one pass over the rows.
    let mut col_hash = vec![SEQ_SEED; n_svc];
    for row in table.chunks_exact(n_svc) {
        for (h, &e) in col_hash.iter_mut().zip(row) {
            *h = mix(*h, e);
        }
    }
    let mut cols = SeqIndex::default();
    let mut col_of = Vec::with_capacity(n_svc);
    let mut keep_cols: Vec<usize> = Vec::new();
    for (c, &h) in col_hash.iter().enumerate() {
        let same = |k: usize| {
            let kc = keep_cols.get(k).copied().unwrap_or(usize::MAX);
            (0..n_peer).all(|p| cell(p, kc) == cell(p, c))
        };
        let id = cols.find(h, same).unwrap_or_else(|| {
            keep_cols.push(c);
            cols.add(h)
        });
        col_of.push(u16::try_from(id).unwrap_or(u16::MAX));
    }
    let w = keep_cols.len();
    // Rows of the narrowed table: local peer -> distinct row.
    let base = out.len();
    let mut rows = SeqIndex::default();
    let mut row_of = Vec::with_capacity(n_peer);
    for p in 0..n_peer {
        let h = keep_cols.iter().fold(SEQ_SEED, |h, &c| mix(h, cell(p, c)));
        let same = |k: usize| {
            let stored = out.get(base + k * w..base + (k + 1) * w).unwrap_or(&[]);
            stored.len() == w
                && stored
                    .iter()
                    .zip(&keep_cols)
                    .all(|(&e, &c)| e == cell(p, c))
        };
        let id = rows.find(h, same).unwrap_or_else(|| {
            out.extend(keep_cols.iter().map(|&c| cell(p, c)));
            rows.add(h)
        });
        row_of.push(u16::try_from(id).unwrap_or(u16::MAX));
    }
    for v in svc_remap.iter_mut() {
        *v = col_of.get(usize::from(*v)).copied().unwrap_or(0);
    }
    for v in peer_remap.iter_mut() {
        *v = row_of.get(usize::from(*v)).copied().unwrap_or(0);
    }
    w
}

/// The start of a sequence's hash ([`seq_mix`]).
const SEQ_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// Adds one value to a sequence's hash. Only used to find candidates:
/// [`SeqIndex`] compares every candidate in full, so a collision costs a
/// comparison, never a wrong id.
pub(in crate::compile) fn seq_mix(h: u64, v: u32) -> u64 {
    (h.rotate_left(5) ^ u64::from(v)).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// Dense ids of distinct sequences in first-occurrence order, without
/// holding the sequences: the caller keeps them (in the table, the
/// layer's cells or its remap store) and compares a candidate in place.
/// Ids with the same hash form a chain, newest first.
#[derive(Default)]
pub(in crate::compile) struct SeqIndex {
    /// Hash -> the newest id with that hash.
    newest: HashMap<u64, usize>,
    /// Per id: the previous id with the same hash.
    older: Vec<Option<usize>>,
}

impl SeqIndex {
    /// The id of an earlier sequence with hash `h` for which `same` holds.
    pub(super) fn find(&self, h: u64, mut same: impl FnMut(usize) -> bool) -> Option<usize> {
        let mut at = self.newest.get(&h).copied();
        while let Some(k) = at {
            if same(k) {
                return Some(k);
            }
            at = self.older.get(k).copied().flatten();
        }
        None
    }

    /// A new id for a sequence with hash `h` (not found by [`Self::find`]).
    pub(super) fn add(&mut self, h: u64) -> usize {
        let id = self.older.len();
        self.older.push(self.newest.insert(h, id));
        id
    }
}

/// Stores a remap row once in the flat `store`; returns its start. `index`
/// holds the starts of the rows stored so far by this index (all of one
/// length), compared in the store; `mix` is the hash's step (as
/// [`squeeze`] takes it).
pub(in crate::compile) fn intern(
    mix: fn(u64, u32) -> u64,
    index: &mut (SeqIndex, Vec<u32>),
    store: &mut Vec<u16>,
    v: &[u16],
) -> Result<u32, ()> {
    let (seqs, starts) = index;
    let h = v.iter().fold(SEQ_SEED, |h, &x| mix(h, u32::from(x)));
    let same = |k: usize| {
        let at = starts.get(k).map_or(usize::MAX, |&a| a as usize);
        store.get(at..at.saturating_add(v.len())) == Some(v)
    };
    if let Some(k) = seqs.find(h, same) {
        return starts.get(k).copied().ok_or(());
    }
    let i = u32::try_from(store.len()).map_err(|_| ())?;
    store.extend_from_slice(v);
    if u32::try_from(store.len()).is_err() {
        return Err(());
    }
    seqs.add(h);
    starts.push(i);
    Ok(i)
}

/// Dedups keys into dense u16 ids (the peers of a security table; the
/// local-service oracle under test).
pub(super) fn dense_ids<K: std::hash::Hash + Eq + Clone>(
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
                let id = u16::try_from(next).map_err(|_| CompileError::TooManyLocalClasses {
                    layer,
                    what: "peer",
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
