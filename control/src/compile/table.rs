//! The runtime tables and [`Compiled::judge`]: what the dataplane imports.
//! Everything here is immutable once built; nothing here looks at a rule.

use std::net::IpAddr;

use super::hot::HotClass;
use super::lpm::Lpm;
use super::prefix::Pfx;
use super::read::{Checked, Read, Trusted};
use super::service::ServiceClasses;
use super::virtual_router::may_be_dhcp;
use crate::ids::{ClassId, ProfileId, RuleId};
use crate::packet::{L4, Packet};
use crate::verdict::{Context, Judgement, RuleRef, Stage, Tracking, Verdict};

// ----------------------------------------------------------------- entries --

/// One cell of a sided layer's table.
///
/// Layout: bits 0-27 hold the deciding rule's or statement's global id plus
/// one, i.e. the stored value of its [`RuleId`] (0: nothing matched, the
/// check denies); bit 31 a stateful rule or
/// statement matched; bit 30 a stateless one matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Entry(pub u32);

impl Entry {
    pub(super) const ID_MASK: u32 = (1 << 28) - 1;
    pub(super) const STATEFUL: u32 = 1 << 31;
    pub(super) const STATELESS: u32 = 1 << 30;
    /// The largest global rule id an entry can hold.
    pub const MAX_ID: usize = (1 << 28) - 2;

    /// Whether something matched.
    #[inline]
    #[must_use]
    pub fn allowed(self) -> bool {
        self.0 & Self::ID_MASK != 0
    }

    /// Security: a stateful rule matched and no stateless one ("stateless wins").
    /// ZPR: a stateful statement matched.
    #[inline]
    #[must_use]
    pub fn tracks(self) -> bool {
        self.0 & Self::STATEFUL != 0 && self.0 & Self::STATELESS == 0
    }

    /// The deciding rule's global id.
    #[inline]
    #[must_use]
    pub fn rule(self) -> Option<RuleId> {
        RuleId::from_stored(self.0 & Self::ID_MASK)
    }

    /// Local ids a narrow cell can hold (bits 0-13; 0 is "nothing").
    pub(super) const NARROW_MAX: u32 = (1 << 14) - 1;

    /// The narrow (`u16`) cell of this entry: bits 0-13 `local` (the
    /// position + 1 of its deciding id in its slot's id list, 0: nothing
    /// matched), bit 14 stateless, bit 15 stateful. `None` when `local`
    /// does not fit or the entry has bits an entry never sets.
    pub(super) fn narrow(self, local: u32) -> Option<u16> {
        if self.0 & !(Self::ID_MASK | Self::STATEFUL | Self::STATELESS) != 0
            || local > Self::NARROW_MAX
        {
            return None;
        }
        u16::try_from(local | (self.0 >> 16 & 0xc000)).ok()
    }

    /// The entry of a narrow cell (see [`Entry::narrow`]) given the
    /// stored id its local id names.
    #[inline]
    #[must_use]
    pub(super) fn from_narrow(cell: u16, id: u32) -> Entry {
        Entry(id | (u32::from(cell) & 0xc000) << 16)
    }
}

/// One cell of the route table.
///
/// Layout: bits 0-27 the deciding route rule's global id plus one (0: the
/// local route, direct delivery, or no route); bit 28 a first packet passes;
/// bit 29 a reply passes; bits 30-31 the outcome (0 no route, 1 forwarded,
/// 2 direct).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RouteEntry(pub u32);

impl RouteEntry {
    pub(super) const FIRST_OK: u32 = 1 << 28;
    pub(super) const REPLY_OK: u32 = 1 << 29;

    /// Whether the route layer passes for a first (or forward) packet, or a reply.
    #[inline]
    #[must_use]
    pub fn passes(self, reply: bool) -> bool {
        self.0
            & if reply {
                Self::REPLY_OK
            } else {
                Self::FIRST_OK
            }
            != 0
    }

    /// The deciding route rule's global id.
    #[inline]
    #[must_use]
    pub fn rule(self) -> Option<RuleId> {
        RuleId::from_stored(self.0 & Entry::ID_MASK)
    }
}

// ------------------------------------------------------------- sided layer --

/// Where one profile's (or one container's) table lives inside a
/// [`SidedLayer`]: 16 bytes, four to a cache line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct ProfileSlot {
    /// The profile's peer remap row in [`SidedLayer::peer_bits`]: its
    /// first bit (a multiple of 16) plus, in bits 0-2, the base-2 log of
    /// its width (0-4: 1, 2, 4, 8 or 16 bits a local peer id).
    pub(super) peer_remap: u32,
    /// Start of the profile's service remap row in [`SidedLayer::remaps`].
    pub(super) svc_remap: u32,
    /// Start of the profile's table in [`SidedLayer::cells`] (narrow
    /// layer; its id base is in the two cells before) or
    /// [`SidedLayer::entries`] (wide layer).
    pub(super) offset: u32,
    /// Local service classes (the table's row length).
    pub(super) n_svc: u32,
}

/// The tables of one check that runs at one VNIC (egress or ingress
/// security, ZPR egress or ingress check).
///
/// Layout: `slots[profile]` names a peer remap row in `peer_bits`
/// (`peer_len` local peer ids, indexed by global peer class, each as wide
/// as the row's largest needs: 1, 2, 4, 8 or 16 bits, packed in `u16`
/// words from a word boundary), a service remap
/// row in `remaps` (`svc_len` `u16` local service ids, indexed by service
/// class), identical rows stored once, and the profile's dense `local
/// peer × local service` table. A look-up is three dependent reads: the
/// slot, the two remap cells (independent of each other), the cell.
///
/// The peer rows are packed because they are what random traffic misses
/// most: a row per container over every global peer class, read at a
/// random class (the thirtieth session's cache simulation,
/// docs/benchmarks.md: 1.87 of wide's 4.19 misses of a 2 MiB cache a
/// judgement were peer remap cells). Most containers tell fewer than 16
/// or 256 peers apart, so most rows take a quarter or half the `u16`
/// bytes. A peer id is one `u16` word, shifted and masked: the widths
/// divide 16, so a field never straddles two words.
///
/// The tables are **narrow** (`u16` cells in `cells`, see
/// [`Entry::narrow`]) when no slot's table names more than 16,383
/// distinct rules: a table of container `c` names only `c`'s own rules
/// (an NSG's, a list set's, a ZPR profile's candidate statements). A
/// narrow cell holds the flags and a slot-local id `k`; the slot's stored
/// ids are laid out right before its table, as `u16` pairs (low, high)
/// counted backwards from it: the pair at `offset - 2 - 2k` is id `k`, and
/// the pair at `offset - 2` is 0 ("nothing matched"), so the look-up reads
/// it without a branch. That is one read more, after the cell, into a few
/// cache lines beside the table's start (4 bytes per distinct deciding
/// rule of each container), while the cells, the bulk of the bytes, halve.
/// Otherwise the layer is **wide**: `u32` [`Entry`]s in `entries`, `cells`
/// empty.
///
/// INVARIANTS: every peer remap row of width `w` bits starts at a word
/// `o` with `o + ⌈peer_len × w / 16⌉ <= peer_bits.len()`, every service row at an offset `o`
/// with `o + svc_len <= remaps.len()`; every value in a profile's rows is
/// below its local peer / service count, so `offset + local_peer * n_svc + local_svc` is inside
/// `cells` (narrow) or `entries` (wide). Narrow: `offset` is even (a
/// pair never straddles a cache line), `cells[offset - 2 .. offset]` is
/// `[0, 0]`, and every cell's local id `k` has `2k + 2 <= offset` with the
/// pair at `offset - 2 - 2k` inside the slot's own list.
/// Size: `2 × Σ_distinct peer rows ⌈peer_len × width / 16⌉ + 2 × distinct
/// service rows × svc_len + 16 × profiles` plus, narrow, `2 × Σ_profiles (local peers ×
/// local services + 2 × (distinct deciding ids + 1) + (0 or 1 padding))`,
/// or, wide, `4 × Σ_profiles local peers × local services` bytes.
#[derive(Debug, Clone, Default)]
pub struct SidedLayer {
    pub(super) slots: Vec<ProfileSlot>,
    /// Service remap rows (and, while the layer is built, the peer rows
    /// too, as `u16`: `SidedBuilder::finish` packs them into `peer_bits`).
    pub(super) remaps: Vec<u16>,
    /// Peer remap rows, bit-packed in words.
    pub(super) peer_bits: Vec<u16>,
    /// Global peer classes of the layer (the length of a peer remap row).
    pub(super) peer_len: u32,
    /// Service classes (the length of a service remap row).
    pub(super) svc_len: u32,
    /// Narrow tables, each after its id list.
    pub(super) cells: Vec<u16>,
    /// Wide tables (when some slot's ids do not fit a narrow cell).
    pub(super) entries: Vec<u32>,
    /// Whether the tables are in `cells`.
    pub(super) narrow: bool,
    /// Cells of all tables (without the bases).
    pub(super) n_cells: usize,
}

impl SidedLayer {
    /// The entry for `profile` against a peer of global class `peer` and a
    /// service of class `svc`.
    // Always inlined, as `lookup_slot`: called out of line from
    // `Compiled::reads` it cost a call, a spill and its bounds checks
    // again (callgrind, docs/benchmarks.md).
    #[inline(always)]
    #[must_use]
    pub fn lookup(&self, profile: u32, peer: u32, svc: u32) -> Entry {
        self.lookup_slot(self.slots[profile as usize], peer, svc)
    }

    // Always inlined: called once per container of every layer, and as a
    // call it costs more instructions than its body (measured: twice the
    // security look-up's instructions under callgrind).
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) fn lookup_slot(&self, s: ProfileSlot, peer: u32, svc: u32) -> Entry {
        // SAFETY: checked reads.
        unsafe { self.lookup_r::<Checked>(s, peer, svc) }
    }

    /// [`SidedLayer::lookup_slot`] with reader `R`.
    ///
    /// # Safety
    /// With [`Trusted`]: as [`SidedLayer::lookup_slot_as`].
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) unsafe fn lookup_r<R: Read>(&self, s: ProfileSlot, peer: u32, svc: u32) -> Entry {
        // SAFETY: the caller's.
        unsafe {
            if self.narrow {
                self.lookup_slot_as::<true, R>(s, peer, svc)
            } else {
                self.lookup_slot_as::<false, R>(s, peer, svc)
            }
        }
    }

    /// [`SidedLayer::lookup_slot`] for a known layout ([`SidedLayer::cell_as`]).
    ///
    /// # Safety
    /// With [`Trusted`]: the layer passed `valid::sided_slot` for `s`
    /// with a row length above `peer` and a service count above `svc`.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) unsafe fn lookup_slot_as<const NARROW: bool, R: Read>(
        &self,
        s: ProfileSlot,
        peer: u32,
        svc: u32,
    ) -> Entry {
        // SAFETY: `peer` is inside the slot's row, whose words are inside
        // `peer_bits`; `svc` inside its service row, inside `remaps`; the
        // largest values of both rows index inside the slot's table, and
        // the table's cells name ids of its own list (`valid::sided_slot`).
        unsafe {
            let lp = self.local_peer_as::<R>(s, peer);
            let ls = u32::from(*R::at(&self.remaps, (s.svc_remap + svc) as usize));
            self.cell_as::<NARROW, R>(s, (lp * s.n_svc + ls) as usize)
        }
    }

    /// The local peer id of global peer class `peer` in a slot's packed
    /// row: the word holding it, shifted and masked.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) fn local_peer(&self, s: ProfileSlot, peer: u32) -> u32 {
        // SAFETY: checked reads.
        unsafe { self.local_peer_as::<Checked>(s, peer) }
    }

    /// [`SidedLayer::local_peer`] with reader `R`.
    ///
    /// # Safety
    /// With [`Trusted`]: `peer`'s word is inside `peer_bits`
    /// (`valid::sided_slot`).
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) unsafe fn local_peer_as<R: Read>(&self, s: ProfileSlot, peer: u32) -> u32 {
        /// The mask of a width's field, by its log (`& 7`: no bounds check).
        const MASK: [u32; 8] = [1, 3, 0xf, 0xff, 0xffff, 0, 0, 0];
        let log = s.peer_remap & 7;
        let bit = (s.peer_remap & !7) as usize + ((peer as usize) << log);
        // SAFETY: the caller's.
        let w = unsafe { *R::at(&self.peer_bits, bit >> 4) };
        (u32::from(w) >> (bit & 15)) & MASK[log as usize]
    }

    /// Cell `i` (local peer × `n_svc` + local service) of a slot's table.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) fn cell(&self, s: ProfileSlot, i: usize) -> Entry {
        let (o, i) = (s.offset as usize, i);
        if !self.narrow {
            return Entry(self.entries[o + i]);
        }
        // SAFETY: checked reads.
        unsafe { self.cell_as::<true, Checked>(s, i) }
    }

    /// [`SidedLayer::cell`] for a layer known to be narrow (`NARROW`) or
    /// wide: the caller tests the layout once for several look-ups.
    ///
    /// # Safety
    /// With [`Trusted`]: cell `i` is one of the slot's table, and a narrow
    /// layer's cells name ids of the slot's own list (`valid::sided_slot`).
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) unsafe fn cell_as<const NARROW: bool, R: Read>(
        &self,
        s: ProfileSlot,
        i: usize,
    ) -> Entry {
        let o = s.offset as usize;
        if NARROW {
            // SAFETY: the caller's.
            let c = unsafe { *R::at(&self.cells, o + i) };
            // The pair of local id k (0: the pair of zeros right before
            // the table).
            let p = o - 2 - 2 * (usize::from(c) & Entry::NARROW_MAX as usize);
            // SAFETY: the caller's (`p + 1 < o`).
            let id = unsafe {
                u32::from(*R::at(&self.cells, p)) | u32::from(*R::at(&self.cells, p + 1)) << 16
            };
            Entry::from_narrow(c, id)
        } else {
            // SAFETY: the caller's.
            Entry(unsafe { *R::at(&self.entries, o + i) })
        }
    }

    /// The first `len` entries of a slot's peer remap row, unpacked (for
    /// the dump; a ZPR row is `peer_len` long, a security row
    /// [`SecurityLayer::row_len`]).
    pub(super) fn peer_row(&self, s: ProfileSlot, len: u32) -> Vec<u32> {
        (0..len).map(|p| self.local_peer(s, p)).collect()
    }

    /// Whether the tables are narrow (`u16` cells).
    #[must_use]
    pub fn is_narrow(&self) -> bool {
        self.narrow
    }

    /// Bytes used.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.byte_parts().iter().map(|p| p.1).sum()
    }

    /// Bytes per part: slots, peer and service remap rows, cells
    /// (narrow or wide), narrow cells' ids.
    #[must_use]
    pub fn byte_parts(&self) -> [(&'static str, usize); 5] {
        [
            (
                "slots",
                self.slots.len() * std::mem::size_of::<ProfileSlot>(),
            ),
            ("peer-rows", self.peer_bits.len() * 2),
            ("svc-rows", self.remaps.len() * 2),
            (
                if self.narrow { "cells16" } else { "cells32" },
                if self.narrow {
                    self.n_cells * 2
                } else {
                    self.entries.len() * 4
                },
            ),
            ("ids", (self.cells.len().saturating_sub(self.n_cells)) * 2),
        ]
    }

    /// Cells of all profile tables.
    #[must_use]
    pub fn cells(&self) -> usize {
        self.n_cells
    }

    /// Number of profiles.
    #[must_use]
    pub fn profiles(&self) -> usize {
        self.slots.len()
    }
}

/// The container tables of one security profile, hot part: the slots
/// ([`ProfileSlot`], copied) of its first [`Members::INLINE`] containers
/// inline, so a look-up reads the profile and then goes straight to the
/// remap cells, without a read of the container's slot. Profiles with more
/// containers (OCI allows 5 NSGs per VNIC plus the list set; most VNICs
/// have 1-3) read the rest through the slot ids at
/// `start + INLINE..start + n` of [`SecurityLayer::members`].
/// 64 bytes, aligned: one profile is one cache-line read.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(64))]
pub(super) struct Members {
    pub(super) inline: [ProfileSlot; Members::INLINE],
    pub(super) n: u32,
    pub(super) start: u32,
    /// The peer domain of each inline slot (copies of
    /// [`SecurityLayer::slot_dom`]).
    pub(super) dom: [u8; 4],
    /// [`Entry::STATELESS`] when the profile's rules are not all known (a
    /// stand-in NSG or security list, or a stand-in VNIC or subnet whose
    /// NSGs or lists were lost): what is missing may hold a stateless rule
    /// that matches, and stateless wins, so nothing is tracked there (a
    /// tracked connection would let replies through that the real network
    /// may deny). Else 0.
    pub(super) untracked: u32,
}

// One profile, one cache line: a field added past 64 bytes would make
// every security look-up read two.
const _: () = assert!(std::mem::size_of::<Members>() == 64);

impl Members {
    /// Slots held inline.
    pub(super) const INLINE: usize = 3;
}

/// Egress or ingress security: one table per rule container (each NSG,
/// each distinct sequence of a subnet's security lists), and for each
/// security profile (a VNIC's NSGs in its subnet) the list of its
/// containers' tables, NSGs first in the VNIC's order, then the lists.
///
/// A VNIC's verdict is the union of its containers' entries, combined at
/// lookup time: OCI's rules only allow, so the union allows when any
/// container does; the deciding rule is the first match in evaluation
/// order, i.e. the first container (in member order) whose entry names a
/// rule; the stateful and stateless bits are OR-ed, so "stateless wins"
/// holds across containers exactly as within one.
///
/// Layout: `profiles[p]` ([`Members`], 64 bytes) holds copies of the first
/// three container slots of profile `p` and their peer domains, so a
/// look-up is one read of the profile and one of the peer's
/// [`PeerFold`], then per container the two remap cells and the entry;
/// `members` holds every profile's container slot ids in order (cold: the
/// dump, and containers past the third).
///
/// **Folded peer rows.** A global peer class is a region (the nearest
/// prefix any rule of the direction names) and the NSGs (named by some
/// rule) its VNICs are in. An NSG rule names NSGs of its own VCN only, so
/// a container tells apart the NSG memberships of one VCN at most, and
/// sees a VNIC of another VCN by its region alone. The classes are
/// numbered so that the `n_coarse` classes without NSG membership (one per
/// region: the **coarse** classes) come first, then the classes of each
/// peer **domain** (the VCN of their NSGs) together. A container whose
/// rules name NSGs of domain `d` (`slot_dom`) stores its peer row over
/// the coarse classes and domain `d`'s (`n_coarse + dom_len[d]` entries);
/// a container naming no NSG (a list set) over the coarse classes only. A
/// look-up reads the row at the peer's own index when the peer is in the
/// container's domain, else at the peer's coarse class (its region
/// without membership): [`PeerFold`]. On `wide` (2 VCNs) that keeps a
/// list set's row to the regions (3,078 entries instead of 8,948) and an
/// NSG's to the regions and its VCN's memberships. When some class's
/// NSGs or some container's named NSGs span two VCNs (not OCI, but a
/// scenario may say so), or a container's row would not read back exactly
/// (checked when built), the layer is **flat**: every class is coarse
/// (`n_coarse` = all classes), every row over all of them.
///
/// INVARIANTS: `profiles[p].inline[i] == tables.slots[members[start + i]]`
/// and `profiles[p].dom[i] == slot_dom[members[start + i]]`
/// for `i < min(n, INLINE)`; `start + n <= members.len()`; every member is
/// a slot of `tables`. Containers with no rule in this direction are left
/// out (their entry would always be 0). `peers` has one fold per global
/// peer class; every fold's coarse id is below `n_coarse`, and its fine
/// index (when its domain is `d < dom_len.len()`) below `n_coarse +
/// dom_len[d]`; a slot of domain `d` has a row of `n_coarse + dom_len[d]`
/// entries, a slot of [`PeerFold::NO_DOMAIN`] one of `n_coarse`.
/// Size: `tables.bytes() + 64 × profiles + 4 × Σ members + 8 × peer
/// classes + slots` (one byte a slot's domain): the tables grow with the
/// containers and their own rules, a profile adds 64 bytes plus 4 per
/// container.
#[derive(Debug, Clone, Default)]
pub struct SecurityLayer {
    pub(super) tables: SidedLayer,
    pub(super) profiles: Vec<Members>,
    pub(super) members: Vec<u32>,
    /// Per global peer class: where the rows hold it.
    pub(super) peers: Vec<PeerFold>,
    /// Per container slot: the peer domain its row covers besides the
    /// coarse classes, or [`PeerFold::NO_DOMAIN`].
    pub(super) slot_dom: Vec<u8>,
    /// Coarse classes: the first entries of every row.
    pub(super) n_coarse: u32,
    /// Per peer domain: its classes (the rest of its containers' rows).
    pub(super) dom_len: Vec<u32>,
}

/// Where a global peer class is read in a security layer's folded peer
/// rows ([`SecurityLayer`]): at `fine` (bits 0-23) in a row of the class's
/// domain (bits 24-31), else at `coarse` (the class of its region without
/// NSG membership). 8 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct PeerFold {
    pub(super) coarse: u32,
    pub(super) fine: u32,
}

impl PeerFold {
    /// The domain of a coarse class (no container has it).
    pub(super) const COARSE: u8 = 254;
    /// The domain of a container that names no NSG (no class has it).
    pub(super) const NO_DOMAIN: u8 = 255;
    /// The bits of `fine` that hold the index.
    pub(super) const FINE_MASK: u32 = (1 << 24) - 1;

    /// A coarse class: read at `id` in every row.
    pub(super) fn coarse(id: u32) -> PeerFold {
        PeerFold {
            coarse: id,
            fine: u32::from(Self::COARSE) << 24,
        }
    }

    /// The index a row of domain `dom` reads this class at.
    #[inline(always)]
    pub(super) fn index(self, dom: u8) -> u32 {
        if self.fine >> 24 == u32::from(dom) {
            self.fine & Self::FINE_MASK
        } else {
            self.coarse
        }
    }
}

impl SecurityLayer {
    /// The layer of `tables`, with the peer folds and slot domains they
    /// were folded with, and no profile yet.
    pub(super) fn new(tables: SidedLayer, fold: PeerFolding) -> Self {
        SecurityLayer {
            tables,
            peers: fold.peers,
            slot_dom: fold.slot_dom,
            n_coarse: fold.n_coarse,
            dom_len: fold.dom_len,
            ..SecurityLayer::default()
        }
    }

    /// Adds a profile with these container slots; `incomplete`: its
    /// rules are not all known (see [`Members::untracked`]).
    pub(super) fn push_profile(
        &mut self,
        slots: &[u32],
        incomplete: bool,
    ) -> Result<(), &'static str> {
        let mut m = Members {
            n: u32::try_from(slots.len()).map_err(|_| "containers in a profile")?,
            start: u32::try_from(self.members.len()).map_err(|_| "profile members")?,
            untracked: if incomplete { Entry::STATELESS } else { 0 },
            dom: [PeerFold::NO_DOMAIN; 4],
            ..Members::default()
        };
        for ((dst, dom), &slot) in m.inline.iter_mut().zip(&mut m.dom).zip(slots) {
            *dst = *self
                .tables
                .slots
                .get(slot as usize)
                .ok_or("member is not a container slot")?;
            *dom = *self
                .slot_dom
                .get(slot as usize)
                .ok_or("member has no peer domain")?;
        }
        self.members.extend_from_slice(slots);
        u32::try_from(self.members.len()).map_err(|_| "profile members")?;
        self.profiles.push(m);
        Ok(())
    }

    /// Whether nothing is tracked at a profile's VNICs (its rules are not
    /// all known: [`Members::untracked`]).
    pub(super) fn untracked(&self, profile: usize) -> bool {
        self.profiles.get(profile).is_some_and(|m| m.untracked != 0)
    }

    /// The container slots of a profile, in member order.
    pub(super) fn members(&self, profile: usize) -> impl Iterator<Item = u32> + '_ {
        let m = self.profiles.get(profile).copied().unwrap_or_default();
        let (a, n) = (m.start as usize, m.n as usize);
        self.members.get(a..a + n).unwrap_or(&[]).iter().copied()
    }

    /// Entries of a container slot's peer row (see the folded rows above).
    pub(super) fn row_len(&self, slot: usize) -> u32 {
        let dom = self
            .slot_dom
            .get(slot)
            .copied()
            .unwrap_or(PeerFold::NO_DOMAIN);
        self.n_coarse + self.dom_len.get(usize::from(dom)).copied().unwrap_or(0)
    }

    /// The combined entry of `profile`'s containers against a peer of
    /// global class `peer` and a service of class `svc`. One read of the
    /// profile and one of the peer's fold, then one table look-up per
    /// container (OCI: at most 5 NSGs and one list set); the containers'
    /// look-ups are independent.
    // Always inlined: out of line (as the compiler chose) each call pushed
    // and popped six registers.
    #[inline(always)]
    #[must_use]
    #[allow(unsafe_code)]
    pub fn lookup(&self, profile: ProfileId, peer: u32, svc: u32) -> Entry {
        // SAFETY: checked reads.
        unsafe { self.lookup_fold::<Checked>(profile, self.peers[peer as usize], svc) }
    }

    /// [`SecurityLayer::lookup`] given the peer's fold (`peers[peer]`,
    /// which the judgement finds in the peer's [`HotClass`]), with reader
    /// `R`.
    ///
    /// # Safety
    /// With [`Trusted`]: the layer passed `valid::security`, `f` passed
    /// `valid::fold` against it, `profile` is one of its profiles, and
    /// `svc` is below its service count.
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) unsafe fn lookup_fold<R: Read>(
        &self,
        profile: ProfileId,
        f: PeerFold,
        svc: u32,
    ) -> Entry {
        // The layout tested once for all the profile's containers.
        // SAFETY: the caller's.
        unsafe {
            if self.tables.narrow {
                self.lookup_as::<true, R>(profile, f, svc)
            } else {
                self.lookup_as::<false, R>(profile, f, svc)
            }
        }
    }

    /// [`SecurityLayer::lookup_fold`] for a known layout of the tables.
    ///
    /// # Safety
    /// As [`SecurityLayer::lookup_fold`].
    #[inline(always)]
    #[allow(unsafe_code)]
    unsafe fn lookup_as<const NARROW: bool, R: Read>(
        &self,
        profile: ProfileId,
        f: PeerFold,
        svc: u32,
    ) -> Entry {
        // SAFETY: `profile` is one of the layer's (the caller's).
        let m = unsafe { R::at(&self.profiles, profile.index()) };
        let n = m.n as usize;
        let mut acc = 0u32;
        // Branch-free (a branch on the loaded entry would make the next
        // container's read wait for this one): the id is taken only while
        // none is held, the flags always.
        let mut fold = |e: u32| {
            let empty = u32::from(acc & Entry::ID_MASK == 0).wrapping_neg();
            acc |= (e & Entry::ID_MASK & empty) | (e & (Entry::STATEFUL | Entry::STATELESS));
        };
        for (&s, &dom) in m.inline[..n.min(Members::INLINE)].iter().zip(&m.dom) {
            // SAFETY: every inline slot of a profile is a slot of the
            // tables with the domain beside it, so the fold's index for
            // that domain is inside its row (`valid::security`,
            // `valid::fold`); `svc` is the caller's.
            fold(unsafe {
                self.tables
                    .lookup_slot_as::<NARROW, R>(s, f.index(dom), svc)
                    .0
            });
        }
        if n > Members::INLINE {
            let a = m.start as usize;
            // A checked slice: the profiles past the inline ones are rare.
            for &slot in &self.members[a + Members::INLINE..a + n] {
                let dom = self.slot_dom[slot as usize];
                let s = self.tables.slots[slot as usize];
                // SAFETY: as above, for a member slot.
                fold(unsafe {
                    self.tables
                        .lookup_slot_as::<NARROW, R>(s, f.index(dom), svc)
                        .0
                });
            }
        }
        Entry(acc | m.untracked)
    }

    /// Bytes used.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.byte_parts().iter().map(|p| p.1).sum()
    }

    /// Cells of all container tables.
    #[must_use]
    pub fn cells(&self) -> usize {
        self.tables.cells()
    }

    /// Bytes per part: the container tables' slots, remap rows and
    /// entries, then the profiles, their member lists, and the peer folds
    /// with the slots' domains.
    #[must_use]
    pub fn byte_parts(&self) -> [(&'static str, usize); 8] {
        let [a, b, c, d, e] = self.tables.byte_parts();
        [
            a,
            b,
            c,
            d,
            e,
            (
                "profiles",
                self.profiles.len() * std::mem::size_of::<Members>(),
            ),
            ("members", 4 * self.members.len()),
            (
                "peer-folds",
                self.peers.len() * std::mem::size_of::<PeerFold>()
                    + self.slot_dom.len()
                    + 4 * self.dom_len.len(),
            ),
        ]
    }

    /// Number of security profiles.
    #[must_use]
    pub fn profiles(&self) -> usize {
        self.profiles.len()
    }

    /// Number of container tables.
    #[must_use]
    pub fn containers(&self) -> usize {
        self.tables.profiles()
    }
}

/// How a security layer's rows were folded ([`SecurityLayer`]): made by
/// the builder, moved into the layer.
#[derive(Debug, Clone, Default)]
pub(super) struct PeerFolding {
    pub(super) peers: Vec<PeerFold>,
    pub(super) slot_dom: Vec<u8>,
    pub(super) n_coarse: u32,
    pub(super) dom_len: Vec<u32>,
    /// Per peer domain: its first class (its classes are consecutive).
    pub(super) dom_start: Vec<u32>,
}

impl PeerFolding {
    /// The flat folding of `n` peer classes: every class coarse, every
    /// row over all of them, every slot of no domain.
    pub(super) fn flat(n: u32, slots: usize) -> Self {
        PeerFolding {
            peers: (0..n).map(PeerFold::coarse).collect(),
            slot_dom: vec![PeerFold::NO_DOMAIN; slots],
            n_coarse: n,
            dom_len: Vec::new(),
            dom_start: Vec::new(),
        }
    }
}

// ------------------------------------------------------------- class info --

/// Per address class: the ids every layer indexes by.
///
/// 28 bytes of ids padded and aligned to 32, so a class is always one
/// cache-line read (never split across two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(C, align(32))]
pub struct ClassInfo {
    /// Route class.
    pub route: u32,
    /// Security profile when the address is a VNIC.
    pub sec_profile: Option<ProfileId>,
    /// ZPR profile when the address is a VNIC with a ZPR role.
    pub zpr_profile: Option<ProfileId>,
    /// Peer class for egress security (the address as destination).
    pub eg_peer: u32,
    /// Peer class for ingress security (the address as source).
    pub in_peer: u32,
    /// Peer class for ZPR checks.
    pub zpr_peer: u32,
    /// [`ClassInfo::EXEMPT`], [`ClassInfo::VNIC`],
    /// [`ClassInfo::ZPR_AUDITED`], [`ClassInfo::MAY_BE_LOST_VNIC`],
    /// [`ClassInfo::UNDELIVERABLE`] and [`ClassInfo::VIRTUAL_ROUTER`].
    pub flags: u32,
}

impl ClassInfo {
    /// Inside 169.254.0.0/16.
    pub const EXEMPT: u32 = 1;
    /// A VNIC address.
    pub const VNIC: u32 = 2;
    /// A class of nothing (no profile, no flag): a placeholder.
    pub const EMPTY: ClassInfo = ClassInfo {
        route: 0,
        sec_profile: None,
        zpr_profile: None,
        eg_peer: 0,
        in_peer: 0,
        zpr_peer: 0,
        flags: 0,
    };
    /// The ZPR profile is audit-only (a copy of its
    /// [`ZprProfileInfo::audited`], so the judgement need not read it).
    pub const ZPR_AUDITED: u32 = 4;
    /// No VNIC, in a subnet whose VNICs are not all known
    /// (`vnics_unknown`): it may be a VNIC the export lacks, so its
    /// security layer denies, first packets and replies alike
    /// (`build/vnics_unknown.rs`; docs/semantics.md, decision 34).
    pub const MAY_BE_LOST_VNIC: u32 = 8;
    /// Multicast, broadcast, `0.0.0.0/8` or a subnet's broadcast address:
    /// a packet to or from it drops at route before any table is read
    /// (docs/semantics.md §2.1, decision 35).
    pub const UNDELIVERABLE: u32 = 16;
    /// The first host of an IPv4 subnet block, no VNIC's: the subnet's
    /// virtual router, with which DHCP is allowed before any layer
    /// (`virtual_router.rs`; docs/semantics.md §2.1, decision 36). A class
    /// of its own, so `verify`'s groups never mix it with the subnet's
    /// other addresses.
    pub const VIRTUAL_ROUTER: u32 = 32;
}

/// ZPR profile facts that do not depend on the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZprProfileInfo {
    /// Whether failures drop (enforced) or only set the audit flag.
    pub audited: bool,
    /// A failed check is MISSING_POLICY (no statement names its attributes)
    /// rather than DENIED.
    pub missing_policy: bool,
}

/// Counts for `zprsim check`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Prefixes in the tree.
    pub prefixes: usize,
    /// Address classes.
    pub address_classes: usize,
    /// Service classes.
    pub service_classes: usize,
    /// Route classes.
    pub route_classes: usize,
    /// Security profiles (distinct NSG + security-list sets).
    pub security_profiles: usize,
    /// Security tables: one per rule container (an NSG or a distinct
    /// security-list set) with rules in that direction, egress plus ingress.
    pub security_tables: usize,
    /// ZPR profiles (distinct attribute sets with their VCN).
    pub zpr_profiles: usize,
    /// Table entries (route + every sided layer).
    pub table_entries: usize,
    /// Bytes of all tables, tries and maps.
    pub table_bytes: usize,
    /// Seconds spent compiling.
    pub compile_s: f64,
    /// Seconds per compile phase, in order (prefix tree and classes, LPM,
    /// services, route table, security tables, ZPR tables).
    pub phases: Vec<(&'static str, f64)>,
}

/// The compiled scenario. Immutable, `Send + Sync`, shared by `Arc`.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub(super) lpm: Lpm,
    pub(super) classes: Vec<ClassInfo>,
    /// What the judgement reads of each class, one line a class.
    pub(super) hot: Vec<HotClass>,
    pub(super) services: ServiceClasses,
    pub(super) n_route: u32,
    pub(super) route: Vec<u32>,
    pub(super) egress: SecurityLayer,
    pub(super) ingress: SecurityLayer,
    pub(super) zpr_egress: SidedLayer,
    pub(super) zpr_ingress: SidedLayer,
    pub(super) zpr_profiles: Vec<ZprProfileInfo>,
    pub(super) rules: Vec<RuleRef>,
    pub(super) stats: Stats,
    /// Every prefix with addresses of its own, and its class (for `dump`).
    pub(super) prefix_classes: Vec<(Pfx, u32)>,
    /// DHCP's VNIC and virtual-router pairs (`virtual_router.rs`).
    pub(super) routers: super::virtual_router::VirtualRouters,
}

/// What [`Compiled::judge`] returns: the judgement and the deciding rules'
/// global ids (for hit counters; see [`Compiled::rule_ref`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fast {
    /// The verdict, stage, audit flag and tracking.
    pub judgement: Judgement,
    /// Global ids of the deciding route rule, egress rule, ingress rule,
    /// ZPR egress statement and ZPR ingress statement.
    pub rules: [Option<RuleId>; 5],
}

impl Compiled {
    /// Counts.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Bytes of each part of the tables, `(layer, part, bytes)`, in a
    /// fixed order; they sum to [`Stats::table_bytes`]. For size
    /// breakdowns (`zprsim-judge-probe --sizes`).
    #[must_use]
    pub fn byte_breakdown(&self) -> Vec<(&'static str, &'static str, usize)> {
        let mut v = vec![
            ("lpm", "trie+v6", self.lpm.bytes()),
            ("services", "maps", self.services.bytes()),
            (
                "classes",
                "info",
                self.classes.len() * std::mem::size_of::<ClassInfo>(),
            ),
            (
                "classes",
                "hot",
                self.hot.len() * std::mem::size_of::<HotClass>(),
            ),
            ("route", "entries", self.route.len() * 4),
        ];
        for (name, layer) in [("egress", &self.egress), ("ingress", &self.ingress)] {
            v.extend(layer.byte_parts().map(|(part, b)| (name, part, b)));
        }
        for (name, layer) in [
            ("zpr-egress", &self.zpr_egress),
            ("zpr-ingress", &self.zpr_ingress),
        ] {
            v.extend(layer.byte_parts().map(|(part, b)| (name, part, b)));
        }
        v
    }

    /// The facts of a ZPR profile that do not depend on the peer.
    #[must_use]
    pub fn zpr_profile_info(&self, profile: ProfileId) -> Option<ZprProfileInfo> {
        self.zpr_profiles.get(profile.index()).copied()
    }

    /// The rule or statement behind a global id.
    #[must_use]
    pub fn rule_ref(&self, id: RuleId) -> Option<RuleRef> {
        self.rules.get(id.index()).copied()
    }

    /// Number of global rule ids (route rules, security rules, statements).
    #[must_use]
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Address class of an address.
    #[inline(always)]
    #[must_use]
    pub fn address_class(&self, ip: IpAddr) -> ClassId {
        // The trie holds class ids only (below 2^31), so `new` never fails.
        ClassId::new(self.lpm.lookup(ip) as usize).unwrap_or_default()
    }

    /// [`Compiled::address_class`] read without bounds checks: the trie
    /// passed `Lpm::check` when the tables were made (`valid.rs`), so
    /// every class it returns is below `hot.len()`.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn address_class_trusted(&self, ip: IpAddr) -> ClassId {
        let c = match ip {
            // SAFETY: `Compiled::validated` ran `Lpm::check` on this trie.
            IpAddr::V4(a) => unsafe { self.lpm.lookup_v4_as::<Trusted>(u32::from(a)) },
            IpAddr::V6(a) => self.lpm.lookup_v6(u128::from(a)),
        };
        ClassId::new(c as usize).unwrap_or_default()
    }

    /// The hot line of a class the trusted trie returned.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn hot_of(&self, c: ClassId) -> &HotClass {
        // SAFETY: `c` comes from `address_class_trusted`: a leaf of the
        // trie (below the classes, `Lpm::check`) or the default 0, and
        // `validated` checked that there is a class.
        unsafe { Trusted::at(&self.hot, c.index()) }
    }

    /// The class info of an address class.
    #[must_use]
    pub fn class_info(&self, class: ClassId) -> ClassInfo {
        self.classes[class.index()]
    }

    /// Service class of a packet.
    #[inline(always)]
    #[must_use]
    pub fn service_class(&self, protocol: u8, l4: L4) -> u32 {
        self.services.classify(protocol, l4)
    }

    /// Judges a packet from the tables alone (the dataplane's path).
    #[inline]
    #[must_use]
    pub fn judge(&self, p: &Packet, ctx: Context) -> Fast {
        let (a, b, svc) = self.classes_of(p);
        if (a.flags | b.flags) & ClassInfo::VIRTUAL_ROUTER != 0
            && may_be_dhcp(p)
            && let Some(fast) = self.virtual_router_dhcp(p, a.flags, b.flags)
        {
            return fast;
        }
        self.judge_infos(a, b, svc, ctx)
    }

    /// The hot lines of a packet's two address classes and its service
    /// class, read without bounds checks (see [`Compiled::hot_of`]).
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) fn classes_of(&self, p: &Packet) -> (&HotClass, &HotClass, u32) {
        let a = self.hot_of(self.address_class_trusted(p.src));
        let b = self.hot_of(self.address_class_trusted(p.dst));
        // SAFETY: `Compiled::validated` ran `ServiceClasses::check`.
        let svc = unsafe { self.services.classify_as::<Trusted>(p.proto, p.l4) };
        (a, b, svc)
    }

    /// Judges a packet given its classes.
    #[inline]
    #[must_use]
    pub fn judge_classes(&self, cs: ClassId, cd: ClassId, svc: u32, ctx: Context) -> Fast {
        // Any class and service ids may come here: they are checked
        // before the trusted reads use them.
        let a = &self.hot[cs.index()];
        let b = &self.hot[cd.index()];
        if (svc as usize) < self.services.len() {
            self.judge_infos(a, b, svc, ctx)
        } else {
            // Past the service classes: as before the trusted reads, a
            // read out of a row (a panic past the tables).
            self.judge_infos_r::<Checked>(a, b, svc, ctx)
        }
    }

    /// Judges a packet given its classes' hot infos (lines of `hot`) and
    /// a service class below [`ServiceClasses::len`]: every table read
    /// after them.
    #[inline(always)]
    pub(super) fn judge_infos(&self, a: &HotClass, b: &HotClass, svc: u32, ctx: Context) -> Fast {
        self.judge_infos_r::<Trusted>(a, b, svc, ctx)
    }

    /// [`Compiled::judge_infos`] with reader `R` ([`Checked`] for a
    /// service class that may be out of range).
    #[inline(always)]
    fn judge_infos_r<R: Read>(&self, a: &HotClass, b: &HotClass, svc: u32, ctx: Context) -> Fast {
        let mut rules = [None; 5];
        if (a.flags | b.flags) & (ClassInfo::EXEMPT | ClassInfo::UNDELIVERABLE) != 0 {
            return before_layers(a, b);
        }
        let rd = self.reads::<R>(a, b, svc);
        let (reply, t) = split_context(ctx);
        let mut tracking = UNTRACKED;
        if let Some(stage) = source_layers(a, &rd, reply, t, &mut rules, &mut tracking) {
            return dropped(stage, rules);
        }
        if let Some(stage) = destination_layer(b, &rd, reply, t, &mut rules, &mut tracking) {
            return dropped(stage, rules);
        }
        let mut zpr_ok = true;
        let mut audit = false;
        for (check, me, e) in [
            (ZprCheck::Egress, a, rd.zpr_egress),
            (ZprCheck::Ingress, b, rd.zpr_ingress),
        ] {
            if let Some((ok, audited)) = zpr_step(check, me, e, reply, t, &mut rules, &mut tracking)
            {
                if audited {
                    audit |= !ok;
                } else {
                    zpr_ok &= ok;
                }
            }
        }
        if !zpr_ok {
            let mut d = dropped(Stage::Zpr, rules);
            d.judgement.zpr_audit = audit;
            return d;
        }
        allowed(reply, audit, tracking, rules)
    }

    /// Every table cell the judgement of `a -> b` can need, read
    /// before any of them is looked at: the reads do not depend on one
    /// another, so their cache misses overlap instead of waiting behind a
    /// branch on the previous layer's outcome (a mispredicted early exit
    /// would discard the later reads and start them again). A layer whose
    /// VNIC has no profile reads nothing (its entry stays 0).
    ///
    /// `a` and `b` are lines of `hot`; with [`Trusted`], `svc` is below
    /// [`ServiceClasses::len`] (the tables passed `valid.rs` when made).
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(super) fn reads<R: Read>(&self, a: &HotClass, b: &HotClass, svc: u32) -> Reads {
        // SAFETY (every read below, with `Trusted`): `a` and `b` are
        // classes of this table, whose routes are below `n_route` and
        // `route` is `n_route²` long, whose profiles, folds and ZPR slots
        // `valid.rs` checked against each layer; `svc` is below the
        // service count, which every layer's service rows cover.
        unsafe {
            Reads {
                route: RouteEntry(*R::at(
                    &self.route,
                    (a.route * self.n_route + b.route) as usize,
                )),
                egress: sec_read::<R>(&self.egress, a.sec_profile, b.eg_fold, svc),
                ingress: sec_read::<R>(&self.ingress, b.sec_profile, a.in_fold, svc),
                zpr_egress: zpr_read::<R>(&self.zpr_egress, a, a.zpr_egress, b.zpr_peer, svc),
                zpr_ingress: zpr_read::<R>(&self.zpr_ingress, b, b.zpr_ingress, a.zpr_peer, svc),
            }
        }
    }
}

/// A security layer's entry for a VNIC's profile (0 without one), the
/// peer's fold given.
// Functions, not closures, so they can be forced inline: as a closure the
// ZPR read was compiled out of line.
///
/// # Safety
/// As [`SecurityLayer::lookup_fold`].
#[inline(always)]
#[allow(unsafe_code)]
unsafe fn sec_read<R: Read>(
    layer: &SecurityLayer,
    profile: Option<ProfileId>,
    f: PeerFold,
    svc: u32,
) -> Entry {
    match profile {
        // SAFETY: the caller's.
        Some(p) => unsafe { layer.lookup_fold::<R>(p, f, svc) },
        None => Entry(0),
    }
}

/// A ZPR layer's entry for the checked VNIC's class `me`, through its
/// ZPR profile's slot in that layer (copied in the class: no read of
/// `slots`); 0 without a profile.
///
/// # Safety
/// As [`SidedLayer::lookup_slot_as`] (`slot` is `me`'s, `peer` a class's
/// ZPR peer).
#[inline(always)]
#[allow(unsafe_code)]
unsafe fn zpr_read<R: Read>(
    layer: &SidedLayer,
    me: &HotClass,
    slot: ProfileSlot,
    peer: u32,
    svc: u32,
) -> Entry {
    if me.has_zpr() {
        // SAFETY: the caller's.
        unsafe { layer.lookup_r::<R>(slot, peer, svc) }
    } else {
        Entry(0)
    }
}

/// The cells one judgement reads ([`Compiled::reads`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Reads {
    pub(super) route: RouteEntry,
    pub(super) egress: Entry,
    pub(super) ingress: Entry,
    pub(super) zpr_egress: Entry,
    pub(super) zpr_ingress: Entry,
}

/// The source VNIC's route and egress security (class `a`), the rules
/// they read put in `rules` and the egress tracking in `tracking`: the
/// stage that drops, if one does.
#[inline]
pub(super) fn source_layers(
    a: &HotClass,
    rd: &Reads,
    reply: bool,
    t: Tracking,
    rules: &mut [Option<RuleId>; 5],
    tracking: &mut Tracking,
) -> Option<Stage> {
    let r = rd.route;
    rules[0] = r.rule();
    if !r.passes(reply) {
        return Some(Stage::Route);
    }
    if a.flags & ClassInfo::MAY_BE_LOST_VNIC != 0 {
        return Some(Stage::EgressSecurity);
    }
    if let Some(e) = security_step(rd.egress, a.sec_profile, reply && t.at_dst, &mut rules[1]) {
        if !e.allowed() {
            return Some(Stage::EgressSecurity);
        }
        tracking.at_src = e.tracks();
    }
    None
}

/// The destination VNIC's (class `b`) ingress security, its rule put in
/// `rules` and its tracking in `tracking`: the stage that drops, if it does.
#[inline]
pub(super) fn destination_layer(
    b: &HotClass,
    rd: &Reads,
    reply: bool,
    t: Tracking,
    rules: &mut [Option<RuleId>; 5],
    tracking: &mut Tracking,
) -> Option<Stage> {
    if b.flags & ClassInfo::MAY_BE_LOST_VNIC != 0 {
        return Some(Stage::IngressSecurity);
    }
    if let Some(e) = security_step(rd.ingress, b.sec_profile, reply && t.at_src, &mut rules[2]) {
        if !e.allowed() {
            return Some(Stage::IngressSecurity);
        }
        tracking.at_dst = e.tracks();
    }
    None
}

/// One ZPR check (egress at the source, ingress at the destination) of
/// the checked VNIC's class `me`, its entry `e` against the peer: `None`
/// when the VNIC has no ZPR profile, else whether it allows and whether
/// the profile is audit-only. A reply the connection already tracks passes
/// without using the entry; the check's part of `tracking` (`zpr` or
/// `zpr_audit`) is narrowed in place.
#[inline]
pub(super) fn zpr_step(
    check: ZprCheck,
    me: &HotClass,
    e: Entry,
    reply: bool,
    t: Tracking,
    rules: &mut [Option<RuleId>; 5],
    tracking: &mut Tracking,
) -> Option<(bool, bool)> {
    if !me.has_zpr() {
        return None;
    }
    let audited = me.flags & ClassInfo::ZPR_AUDITED != 0;
    let tracked = reply && if audited { t.zpr_audit } else { t.zpr };
    let (ok, stateful) = if tracked {
        (true, true)
    } else {
        let slot = match check {
            ZprCheck::Egress => 3,
            ZprCheck::Ingress => 4,
        };
        rules[slot] = e.rule();
        (e.allowed(), e.tracks())
    };
    if audited {
        tracking.zpr_audit &= ok && stateful;
    } else {
        tracking.zpr &= ok && stateful;
    }
    Some((ok, audited))
}

/// Which ZPR check: the source's egress or the destination's ingress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ZprCheck {
    /// At the source VNIC, rule slot 3.
    Egress,
    /// At the destination VNIC, rule slot 4.
    Ingress,
}

/// Tracking before any layer: nothing tracked by security, ZPR still open.
pub(super) const UNTRACKED: Tracking = Tracking {
    at_src: false,
    at_dst: false,
    zpr: true,
    zpr_audit: true,
};

/// Whether the packet is a reply, and the connection's tracking if so.
#[inline]
pub(super) fn split_context(ctx: Context) -> (bool, Tracking) {
    match ctx {
        Context::First => (false, Tracking::default()),
        Context::Reply(t) => (true, t),
    }
}

/// The judgement of a packet decided before any layer: between exempt
/// classes (169.254.0.0/16) allowed and untracked, else (one side
/// [`ClassInfo::UNDELIVERABLE`]) dropped at route with no rule, as the
/// reference evaluator's `route_layer` checks both before any table.
#[cold]
pub(super) fn before_layers(a: &HotClass, b: &HotClass) -> Fast {
    if (a.flags | b.flags) & ClassInfo::EXEMPT != 0 {
        exempt()
    } else {
        dropped(Stage::Route, [None; 5])
    }
}

/// The judgement of a packet between exempt classes: allowed, untracked.
#[inline]
pub(super) fn exempt() -> Fast {
    Fast {
        judgement: Judgement {
            verdict: Verdict::Allow,
            stage: None,
            zpr_audit: false,
            tracking: UNTRACKED,
        },
        rules: [None; 5],
    }
}

/// A drop at `stage`, with the rules read so far.
#[inline]
pub(super) fn dropped(stage: Stage, rules: [Option<RuleId>; 5]) -> Fast {
    Fast {
        judgement: Judgement {
            verdict: Verdict::Drop,
            stage: Some(stage),
            zpr_audit: false,
            tracking: Tracking::default(),
        },
        rules,
    }
}

/// An allow; a reply creates no tracking of its own.
#[inline]
pub(super) fn allowed(
    reply: bool,
    audit: bool,
    tracking: Tracking,
    rules: [Option<RuleId>; 5],
) -> Fast {
    Fast {
        judgement: Judgement {
            verdict: Verdict::Allow,
            stage: None,
            zpr_audit: audit,
            tracking: if reply { Tracking::default() } else { tracking },
        },
        rules,
    }
}

/// One security layer's entry `e` (of `profile`), its rule put in `rule`:
/// `None` when the VNIC has no security profile or `skip` (a reply the
/// other side's layer tracks).
#[inline]
fn security_step(
    e: Entry,
    profile: Option<ProfileId>,
    skip: bool,
    rule: &mut Option<RuleId>,
) -> Option<Entry> {
    if profile.is_none() || skip {
        return None;
    }
    *rule = e.rule();
    Some(e)
}
