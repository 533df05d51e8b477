//! The runtime tables and [`Compiled::judge`]: what the dataplane imports.
//! Everything here is immutable once built; nothing here looks at a rule.

use std::net::IpAddr;

use super::lpm::Lpm;
use super::prefix::Pfx;
use super::service::ServiceClasses;
use crate::packet::{L4, Packet};
use crate::verdict::{Context, Judgement, RuleRef, Stage, Tracking, Verdict};

// ----------------------------------------------------------------- entries --

/// One cell of a sided layer's table.
///
/// Layout: bits 0-27 hold the deciding rule's or statement's global id plus
/// one (0: nothing matched, the check denies); bit 31 a stateful rule or
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
    pub fn rule(self) -> Option<u32> {
        (self.0 & Self::ID_MASK).checked_sub(1)
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
    pub fn rule(self) -> Option<u32> {
        (self.0 & Entry::ID_MASK).checked_sub(1)
    }
}

// ------------------------------------------------------------- sided layer --

/// Where one profile's table lives inside a [`SidedLayer`].
#[derive(Debug, Clone, Copy)]
pub(super) struct ProfileSlot {
    pub(super) peer_remap: u32,
    pub(super) svc_remap: u32,
    pub(super) offset: u32,
    pub(super) n_svc: u32,
}

/// The tables of one check that runs at one VNIC (egress or ingress
/// security, ZPR egress or ingress check).
///
/// INVARIANTS: `peer_remaps[p.peer_remap]` has one entry per global peer
/// class of the layer and `svc_remaps[p.svc_remap]` one per service class;
/// every value they hold is below the profile's local peer / service count,
/// so `offset + local_peer * n_svc + local_svc` is inside `entries`.
/// Size: `Σ_remaps (peer classes + service classes) × 2 + Σ_profiles
/// local peers × local services × 4` bytes.
#[derive(Debug, Clone, Default)]
pub struct SidedLayer {
    pub(super) slots: Vec<ProfileSlot>,
    pub(super) peer_remaps: Vec<Box<[u16]>>,
    pub(super) svc_remaps: Vec<Box<[u16]>>,
    pub(super) entries: Vec<u32>,
}

impl SidedLayer {
    /// The entry for `profile` against a peer of global class `peer` and a
    /// service of class `svc`.
    #[inline]
    #[must_use]
    pub fn lookup(&self, profile: u32, peer: u32, svc: u32) -> Entry {
        let s = self.slots[profile as usize];
        let lp = u32::from(self.peer_remaps[s.peer_remap as usize][peer as usize]);
        let ls = u32::from(self.svc_remaps[s.svc_remap as usize][svc as usize]);
        Entry(self.entries[(s.offset + lp * s.n_svc + ls) as usize])
    }

    /// Bytes used.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.peer_remaps.iter().map(|r| r.len() * 2).sum::<usize>()
            + self.svc_remaps.iter().map(|r| r.len() * 2).sum::<usize>()
            + self.entries.len() * 4
            + self.slots.len() * std::mem::size_of::<ProfileSlot>()
    }

    /// Cells of all profile tables.
    #[must_use]
    pub fn cells(&self) -> usize {
        self.entries.len()
    }

    /// Number of profiles.
    #[must_use]
    pub fn profiles(&self) -> usize {
        self.slots.len()
    }
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
/// INVARIANTS: `starts` is non-decreasing, has one more entry than there
/// are profiles and ends at `members.len()`; every member is a slot of
/// `tables`. Containers with no rule in this direction are left out (their
/// entry would always be 0).
/// Size: `tables.bytes() + 4 × (profiles + 1 + Σ members)`: the tables grow
/// with the containers and their own rules, the profiles add a few words
/// each.
#[derive(Debug, Clone, Default)]
pub struct SecurityLayer {
    pub(super) tables: SidedLayer,
    pub(super) starts: Vec<u32>,
    pub(super) members: Vec<u32>,
}

impl SecurityLayer {
    /// The combined entry of `profile`'s containers against a peer of
    /// global class `peer` and a service of class `svc`. At most one table
    /// read per container (OCI: at most 5 NSGs and one list set).
    #[inline]
    #[must_use]
    pub fn lookup(&self, profile: u32, peer: u32, svc: u32) -> Entry {
        let p = profile as usize;
        let (a, b) = (self.starts[p] as usize, self.starts[p + 1] as usize);
        let mut acc = 0u32;
        for &slot in &self.members[a..b] {
            let e = self.tables.lookup(slot, peer, svc).0;
            if acc & Entry::ID_MASK == 0 {
                acc |= e & Entry::ID_MASK;
            }
            acc |= e & (Entry::STATEFUL | Entry::STATELESS);
        }
        Entry(acc)
    }

    /// Bytes used.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.tables.bytes() + 4 * (self.starts.len() + self.members.len())
    }

    /// Cells of all container tables.
    #[must_use]
    pub fn cells(&self) -> usize {
        self.tables.cells()
    }

    /// Number of security profiles.
    #[must_use]
    pub fn profiles(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Number of container tables.
    #[must_use]
    pub fn containers(&self) -> usize {
        self.tables.profiles()
    }
}

// ------------------------------------------------------------- class info --

/// Per address class: the ids every layer indexes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClassInfo {
    /// Route class.
    pub route: u32,
    /// Security profile when the address is a VNIC, else [`ClassInfo::NONE`].
    pub sec_profile: u32,
    /// ZPR profile when the address is a VNIC with a ZPR role, else [`ClassInfo::NONE`].
    pub zpr_profile: u32,
    /// Peer class for egress security (the address as destination).
    pub eg_peer: u32,
    /// Peer class for ingress security (the address as source).
    pub in_peer: u32,
    /// Peer class for ZPR checks.
    pub zpr_peer: u32,
    /// [`ClassInfo::EXEMPT`] and [`ClassInfo::VNIC`].
    pub flags: u32,
}

impl ClassInfo {
    /// No profile.
    pub const NONE: u32 = u32::MAX;
    /// Inside 169.254.0.0/16.
    pub const EXEMPT: u32 = 1;
    /// A VNIC address.
    pub const VNIC: u32 = 2;
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
}

/// What [`Compiled::judge`] returns: the judgement and the deciding rules'
/// global ids (for hit counters; see [`Compiled::rule_ref`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fast {
    /// The verdict, stage, audit flag and tracking.
    pub judgement: Judgement,
    /// Global ids of the deciding route rule, egress rule, ingress rule,
    /// ZPR egress statement and ZPR ingress statement.
    pub rules: [Option<u32>; 5],
}

impl Compiled {
    /// Counts.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The rule or statement behind a global id.
    #[must_use]
    pub fn rule_ref(&self, id: u32) -> Option<RuleRef> {
        self.rules.get(id as usize).copied()
    }

    /// Number of global rule ids (route rules, security rules, statements).
    #[must_use]
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Address class of an address.
    #[inline]
    #[must_use]
    pub fn address_class(&self, ip: IpAddr) -> u32 {
        self.lpm.lookup(ip)
    }

    /// The class info of an address class.
    #[must_use]
    pub fn class_info(&self, class: u32) -> ClassInfo {
        self.classes[class as usize]
    }

    /// Service class of a packet.
    #[inline]
    #[must_use]
    pub fn service_class(&self, protocol: u8, l4: L4) -> u32 {
        self.services.classify(protocol, l4)
    }

    /// Judges a packet from the tables alone (the dataplane's path).
    #[inline]
    #[must_use]
    pub fn judge(&self, p: &Packet, ctx: Context) -> Fast {
        let cs = self.address_class(p.src);
        let cd = self.address_class(p.dst);
        let svc = self.service_class(p.proto, p.l4);
        self.judge_classes(cs, cd, svc, ctx)
    }

    /// Judges a packet given its classes.
    #[inline]
    #[must_use]
    pub fn judge_classes(&self, cs: u32, cd: u32, svc: u32, ctx: Context) -> Fast {
        let a = self.classes[cs as usize];
        let b = self.classes[cd as usize];
        let mut rules = [None; 5];
        if (a.flags | b.flags) & ClassInfo::EXEMPT != 0 {
            return exempt();
        }
        let (reply, t) = split_context(ctx);
        let mut tracking = UNTRACKED;
        if let Some(stage) = self.source_layers(a, b, svc, reply, t, &mut rules, &mut tracking) {
            return dropped(stage, rules);
        }
        if let Some(stage) = self.destination_layer(a, b, svc, reply, t, &mut rules, &mut tracking)
        {
            return dropped(stage, rules);
        }
        let mut zpr_ok = true;
        let mut audit = false;
        for (check, profile, peer) in [
            (ZprCheck::Egress, a.zpr_profile, b.zpr_peer),
            (ZprCheck::Ingress, b.zpr_profile, a.zpr_peer),
        ] {
            if let Some((ok, audited)) = self.zpr_step(
                check,
                profile,
                peer,
                svc,
                reply,
                t,
                &mut rules,
                &mut tracking,
            ) {
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

    /// The source VNIC's route and egress security, the rules they read put
    /// in `rules` and the egress tracking in `tracking`: the stage that
    /// drops, if one does.
    #[inline]
    #[allow(clippy::too_many_arguments)] // the judgement's state, passed by parts to stay on the stack
    pub(super) fn source_layers(
        &self,
        a: ClassInfo,
        b: ClassInfo,
        svc: u32,
        reply: bool,
        t: Tracking,
        rules: &mut [Option<u32>; 5],
        tracking: &mut Tracking,
    ) -> Option<Stage> {
        let r = RouteEntry(self.route[(a.route * self.n_route + b.route) as usize]);
        rules[0] = r.rule();
        if !r.passes(reply) {
            return Some(Stage::Route);
        }
        if let Some(e) = security_step(
            &self.egress,
            a.sec_profile,
            b.eg_peer,
            svc,
            reply && t.at_dst,
            &mut rules[1],
        ) {
            if !e.allowed() {
                return Some(Stage::EgressSecurity);
            }
            tracking.at_src = e.tracks();
        }
        None
    }

    /// The destination VNIC's ingress security, its rule put in `rules` and
    /// its tracking in `tracking`: the stage that drops, if it does.
    #[inline]
    #[allow(clippy::too_many_arguments)] // the judgement's state, passed by parts to stay on the stack
    pub(super) fn destination_layer(
        &self,
        a: ClassInfo,
        b: ClassInfo,
        svc: u32,
        reply: bool,
        t: Tracking,
        rules: &mut [Option<u32>; 5],
        tracking: &mut Tracking,
    ) -> Option<Stage> {
        if let Some(e) = security_step(
            &self.ingress,
            b.sec_profile,
            a.in_peer,
            svc,
            reply && t.at_src,
            &mut rules[2],
        ) {
            if !e.allowed() {
                return Some(Stage::IngressSecurity);
            }
            tracking.at_dst = e.tracks();
        }
        None
    }

    /// One ZPR check (egress at the source, ingress at the destination) of
    /// `profile` against `peer`: `None` when the VNIC has no ZPR profile,
    /// else whether it allows and whether the profile is audit-only. A reply
    /// the connection already tracks passes without a look-up; the check's
    /// part of `tracking` (`zpr` or `zpr_audit`) is narrowed in place.
    #[inline]
    #[allow(clippy::too_many_arguments)] // the judgement's state, passed by parts to stay on the stack
    pub(super) fn zpr_step(
        &self,
        check: ZprCheck,
        profile: u32,
        peer: u32,
        svc: u32,
        reply: bool,
        t: Tracking,
        rules: &mut [Option<u32>; 5],
        tracking: &mut Tracking,
    ) -> Option<(bool, bool)> {
        if profile == ClassInfo::NONE {
            return None;
        }
        let info = self.zpr_profiles[profile as usize];
        let tracked = reply && if info.audited { t.zpr_audit } else { t.zpr };
        let (ok, stateful) = if tracked {
            (true, true)
        } else {
            let (layer, slot) = match check {
                ZprCheck::Egress => (&self.zpr_egress, 3),
                ZprCheck::Ingress => (&self.zpr_ingress, 4),
            };
            let e = layer.lookup(profile, peer, svc);
            rules[slot] = e.rule();
            (e.allowed(), e.tracks())
        };
        if info.audited {
            tracking.zpr_audit &= ok && stateful;
        } else {
            tracking.zpr &= ok && stateful;
        }
        Some((ok, info.audited))
    }
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
pub(super) fn dropped(stage: Stage, rules: [Option<u32>; 5]) -> Fast {
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
    rules: [Option<u32>; 5],
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

/// One security layer's look-up of `profile` against `peer`, its rule put in
/// `rule`: `None` when the VNIC has no security profile or `skip` (a reply
/// the other side's layer tracks).
#[inline]
fn security_step(
    layer: &SecurityLayer,
    profile: u32,
    peer: u32,
    svc: u32,
    skip: bool,
    rule: &mut Option<u32>,
) -> Option<Entry> {
    if profile == ClassInfo::NONE || skip {
        return None;
    }
    let e = layer.lookup(profile, peer, svc);
    *rule = e.rule();
    Some(e)
}
