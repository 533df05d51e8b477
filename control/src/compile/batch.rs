//! Batched judgement: [`Compiled::judge_many`] judges a group of packets
//! stage by stage, so the cache misses of different packets overlap.
//!
//! One judgement is a chain of dependent reads (LPM walk, class info,
//! profile line, remap cells, table cells; `docs/architecture.md` §4.5):
//! each link waits for the one before, and the out-of-order window of the
//! core (a few hundred instructions) is shorter than one judgement (about
//! 500), so consecutive [`Compiled::judge`] calls barely overlap. Here
//! each link is taken for [`BATCH`] packets before the next one: the
//! class look-ups of all of them, then their class infos, then a
//! prefetch of every profile line and route cell, then of every remap
//! cell, then of every table cell, and last the ordinary
//! [`Compiled::judge_infos`] on lines now in cache. The prefetches only
//! move lines into the cache; every value the judgement uses is read by
//! the same code as the single-packet path, so the results are the same
//! by construction (and tested: `tests/differential.rs`).

use crate::ids::ClassId;
use crate::packet::Packet;
use crate::verdict::Context;

use super::table::{ClassInfo, Compiled, Fast};

/// Packets judged together: enough independent misses to fill the core's
/// miss buffers (about 20 lines in flight per core), few enough that a
/// stage's loads fit the out-of-order window.
pub const BATCH: usize = 8;

/// Asks for the cache line holding `r`, without waiting for it (`None`:
/// nothing to fetch). A hint only: it changes no value.
#[inline(always)]
pub(super) fn prefetch<T>(r: Option<&T>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(r) = r {
        let p: *const T = r;
        // SAFETY: `prefetch` is a hint that never faults and reads nothing
        // into the program's state, and `p` comes from a live reference;
        // SSE, which it needs, is part of the x86_64 baseline.
        #[allow(unsafe_code)]
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

impl Compiled {
    /// Judges every packet of `ps` in context `ctx` (for first packets:
    /// [`Context::First`]), writing `out[i]` for `ps[i]`: exactly what
    /// [`Compiled::judge`] returns for each, but faster per packet on
    /// tables larger than the cache, because the misses of up to
    /// [`BATCH`] packets overlap. Judges `min(ps.len(), out.len())`
    /// packets.
    pub fn judge_many(&self, ps: &[Packet], ctx: Context, out: &mut [Fast]) {
        self.judge_many_depth(ps, ctx, out, 3);
    }

    /// Experiment knob: `depth` prefetch stages (0-3).
    #[doc(hidden)]
    pub fn judge_many_depth(&self, ps: &[Packet], ctx: Context, out: &mut [Fast], depth: u8) {
        for (pc, oc) in ps.chunks(BATCH).zip(out.chunks_mut(BATCH)) {
            self.judge_batch(pc, ctx, oc, depth);
        }
    }

    /// One group of at most [`BATCH`] packets (see the module docs).
    #[inline]
    fn judge_batch(&self, ps: &[Packet], ctx: Context, out: &mut [Fast], depth: u8) {
        let n = ps.len().min(out.len()).min(BATCH);
        let mut cs = [ClassId::default(); BATCH];
        let mut cd = [ClassId::default(); BATCH];
        let mut svc = [0u32; BATCH];
        for i in 0..n {
            cs[i] = self.address_class(ps[i].src);
            cd[i] = self.address_class(ps[i].dst);
            svc[i] = self.service_class(ps[i].proto, ps[i].l4);
        }
        let mut a = [ClassInfo::EMPTY; BATCH];
        let mut b = [ClassInfo::EMPTY; BATCH];
        for i in 0..n {
            a[i] = self.classes[cs[i].index()];
            b[i] = self.classes[cd[i].index()];
        }
        if depth >= 1 {
            for i in 0..n {
                self.prefetch_profiles(a[i], b[i]);
            }
        }
        if depth >= 2 {
            for i in 0..n {
                self.prefetch_remaps(a[i], b[i], svc[i]);
            }
        }
        if depth >= 3 {
            for i in 0..n {
                self.prefetch_cells(a[i], b[i], svc[i]);
            }
        }
        for i in 0..n {
            out[i] = self.judge_infos(a[i], b[i], svc[i], ctx);
        }
    }
}
