//! [`HotClass`]: what the judgement reads of an address class, with the
//! reads it used to make next from the class's ids (its peer folds and
//! its ZPR profile's two slots) copied in, one cache line per class.

use super::table::{ClassInfo, PeerFold, ProfileSlot, SecurityLayer, SidedLayer};
use super::{CompileError, ProfileId};

/// Per address class, the judgement's part of its [`ClassInfo`] and the
/// table entries those ids would be read at: 64 bytes, aligned, so a class
/// is one cache-line read and the layers go straight from it to their
/// rows.
///
/// Layout and INVARIANTS (made by [`HotClass::of`], which checks every
/// index): `route`, `flags` (the class's [`ClassInfo`] flags, plus
/// [`HotClass::ZPR`] when it has a ZPR profile), `sec_profile` and
/// `zpr_peer` are the [`ClassInfo`]'s; `eg_fold == egress.peers[eg_peer]`
/// and `in_fold == ingress.peers[in_peer]` (the peer folds the security
/// look-ups of the other side read, [`SecurityLayer`]); with a ZPR
/// profile `p`, `zpr_egress == zpr_egress_layer.slots[p]` and
/// `zpr_ingress == zpr_ingress_layer.slots[p]`, else both default (never
/// read: the ZPR check of a class without [`HotClass::ZPR`] reads nothing).
/// Size: `64 × address classes` bytes, beside the 32 of [`ClassInfo`]
/// (kept for the dump and `class_info`).
///
/// Why (docs/benchmarks.md, the thirty-second session): the peer fold
/// and the ZPR slot were each one read more per layer after the class
/// info, the ZPR slot a dependent one on the way to its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(64))]
pub(super) struct HotClass {
    pub(super) route: u32,
    pub(super) flags: u32,
    pub(super) sec_profile: Option<ProfileId>,
    pub(super) zpr_peer: u32,
    pub(super) eg_fold: PeerFold,
    pub(super) in_fold: PeerFold,
    pub(super) zpr_egress: ProfileSlot,
    pub(super) zpr_ingress: ProfileSlot,
}

// One class, one cache line.
const _: () = assert!(std::mem::size_of::<HotClass>() == 64);

impl HotClass {
    /// The class has a ZPR profile (its slots are read).
    pub(super) const ZPR: u32 = 1 << 31;

    /// The hot class of `info`, its folds and slots read from the layers.
    pub(super) fn of(
        info: &ClassInfo,
        egress: &SecurityLayer,
        ingress: &SecurityLayer,
        zpr: [&SidedLayer; 2],
    ) -> Result<HotClass, CompileError> {
        let internal = CompileError::Internal;
        if info.flags & Self::ZPR != 0 {
            return Err(internal("a class flag takes the hot ZPR bit"));
        }
        let fold = |layer: &SecurityLayer, peer: u32| {
            layer
                .peers
                .get(peer as usize)
                .copied()
                .ok_or(internal("a class's peer has no fold"))
        };
        let (zpr_egress, zpr_ingress, has) = match info.zpr_profile {
            Some(p) => {
                let slot = |l: &SidedLayer| {
                    l.slots
                        .get(p.index())
                        .copied()
                        .ok_or(internal("a ZPR profile without a slot"))
                };
                (slot(zpr[0])?, slot(zpr[1])?, Self::ZPR)
            }
            None => (ProfileSlot::default(), ProfileSlot::default(), 0),
        };
        Ok(HotClass {
            route: info.route,
            flags: info.flags | has,
            sec_profile: info.sec_profile,
            zpr_peer: info.zpr_peer,
            eg_fold: fold(egress, info.eg_peer)?,
            in_fold: fold(ingress, info.in_peer)?,
            zpr_egress,
            zpr_ingress,
        })
    }

    /// Whether the class has a ZPR profile.
    #[inline(always)]
    pub(super) fn has_zpr(&self) -> bool {
        self.flags & Self::ZPR != 0
    }
}

/// The hot classes of `classes`, in order.
pub(super) fn hot_classes(
    classes: &[ClassInfo],
    egress: &SecurityLayer,
    ingress: &SecurityLayer,
    zpr: [&SidedLayer; 2],
) -> Result<Vec<HotClass>, CompileError> {
    classes
        .iter()
        .map(|c| HotClass::of(c, egress, ingress, zpr))
        .collect()
}
