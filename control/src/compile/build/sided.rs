//! [`SidedBuilder`]: a [`SidedLayer`] built profile by profile, with
//! its helpers (dense ids, shared remap rows).

use super::*;

/// Builds a [`SidedLayer`] profile by profile, sharing identical remaps;
/// the tables are collected wide (`u32`) and made narrow by
/// [`SidedBuilder::finish`] when every slot's ids fit.
pub(in crate::compile) struct SidedBuilder {
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
    pub(in crate::compile) fn new(name: &'static str, cfg: &Config) -> Self {
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
    pub(in crate::compile) fn finish(self) -> Result<SidedLayer, CompileError> {
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

    pub(in crate::compile) fn push(
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
pub(super) fn squeeze(
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
pub(super) fn intern(
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
