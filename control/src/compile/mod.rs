//! The compiler: a scenario becomes flat, immutable tables, so the dataplane
//! decides a packet in a constant number of memory reads, whatever the
//! number of rules.
//!
//! # Classes
//! Every prefix the scenario mentions (VCN and subnet CIDRs, VNIC addresses
//! as host prefixes, route destinations, rule CIDRs, service-label CIDRs,
//! ZPR CIDR terms, 169.254.0.0/16) goes into one laminar [`prefix::PrefixTree`].
//! An address behaves, under every rule, as the deepest prefix containing it
//! (its *node*) says. Nodes that every layer treats alike share an *address
//! class*; [`lpm::Lpm`] maps an address to its class. Each class carries,
//! per layer, the small ids the layer's tables are indexed by
//! ([`ClassInfo`]): the route class, the security profile and ZPR profile
//! of a VNIC (its "attribute-set id": VNICs with the same NSGs, lists,
//! attributes and VCN share one), and the peer class the address has when
//! it is the other side of an egress, ingress or ZPR check.
//! Protocol, ports and ICMP type/code map to a *service class*
//! ([`service::ServiceClasses`]).
//!
//! # Tables (the factorization)
//! A full `(src class, dst class, service class)` cube does not fit for
//! large scenarios, so the verdict is factored by layer, as OCI evaluates it:
//! - route: `route[src route class][dst route class]`;
//! - egress security, ingress security, ZPR egress check, ZPR ingress
//!   check: one [`SidedLayer`] each. For the profile of the checked VNIC,
//!   the peer class and the service class are remapped to the profile's
//!   local classes (only the distinctions its own rules make) and index a
//!   dense `local peer × local service` table of [`Entry`]s.
//!
//! A packet therefore costs two trie walks, one service lookup, the route
//! read and three reads per sided layer, all independent of the number of
//! rules. [`Compiled::judge`] combines them with connection-tracking state
//! exactly as the reference evaluator does.

pub mod lpm;
pub mod prefix;
pub mod service;
pub mod side;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

/// Hash maps of the compiler: ahash with fixed keys (fast, and the same in
/// every run; nothing here depends on iteration order).
type HashMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<ahash::AHasher>>;

use crate::eval::{self, ZprRole};
use crate::ids::{NsgId, RouteTableId, SecurityListId, SubnetId, VcnId, VnicId};
use crate::model::{
    Attribute, Direction, Peer, RouteDestination, RouteTarget, Scenario, SecurityRule,
};
use crate::packet::{L4, Packet};
use crate::verdict::{Context, Judgement, RuleRef, Stage, Tracking, Verdict};
use crate::zpl::ast::{ConnectionState, Endpoint as Term, Statement, StatementKind};

use lpm::Lpm;
use prefix::{NodeId, Pfx, PrefixTree};
use service::{ServiceClasses, ServiceCond};

/// Explicit limits. Exceeding one is an error, never a silent truncation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Total bytes of all tables.
    pub max_table_bytes: usize,
    /// Address classes.
    pub max_address_classes: usize,
    /// Service classes.
    pub max_service_classes: usize,
    /// Cells of one profile's table (local peers × local services).
    pub max_profile_cells: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_table_bytes: 512 << 20,
            max_address_classes: 1 << 22,
            max_service_classes: 1 << 20,
            max_profile_cells: 1 << 24,
        }
    }
}

/// Why a scenario could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// More address classes than [`Config::max_address_classes`].
    #[error("too many address classes: {given} (limit {limit})")]
    TooManyAddressClasses {
        /// Classes needed.
        given: usize,
        /// The limit.
        limit: usize,
    },
    /// More service classes than [`Config::max_service_classes`].
    #[error("too many service classes: {given} (limit {limit})")]
    TooManyServiceClasses {
        /// Classes needed.
        given: usize,
        /// The limit.
        limit: usize,
    },
    /// One profile's table is larger than [`Config::max_profile_cells`].
    #[error("the {layer} table of one profile needs {given} cells (limit {limit})")]
    ProfileTooLarge {
        /// Which layer.
        layer: &'static str,
        /// Cells needed.
        given: usize,
        /// The limit.
        limit: usize,
    },
    /// All tables together exceed [`Config::max_table_bytes`].
    #[error("the compiled tables need {given} bytes (limit {limit})")]
    TooLarge {
        /// Bytes needed.
        given: usize,
        /// The limit.
        limit: usize,
    },
    /// A broken invariant of the compiler (a bug, never the scenario's fault).
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// More rules or statements than an entry can name.
    #[error("too many rules and statements: {given} (limit {limit})")]
    TooManyRules {
        /// Rules needed.
        given: usize,
        /// The limit.
        limit: usize,
    },
}

// ----------------------------------------------------------------- entries --

/// One cell of a sided layer's table.
///
/// Layout: bits 0-27 hold the deciding rule's or statement's global id plus
/// one (0: nothing matched, the check denies); bit 31 a stateful rule or
/// statement matched; bit 30 a stateless one matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Entry(pub u32);

impl Entry {
    const ID_MASK: u32 = (1 << 28) - 1;
    const STATEFUL: u32 = 1 << 31;
    const STATELESS: u32 = 1 << 30;
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
    const FIRST_OK: u32 = 1 << 28;
    const REPLY_OK: u32 = 1 << 29;

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
struct ProfileSlot {
    peer_remap: u32,
    svc_remap: u32,
    offset: u32,
    n_svc: u32,
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
    slots: Vec<ProfileSlot>,
    peer_remaps: Vec<Box<[u16]>>,
    svc_remaps: Vec<Box<[u16]>>,
    entries: Vec<u32>,
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

/// Builds a [`SidedLayer`] profile by profile, sharing identical remaps.
struct SidedBuilder {
    layer: SidedLayer,
    peer_index: HashMap<Box<[u16]>, u32>,
    svc_index: HashMap<Box<[u16]>, u32>,
    name: &'static str,
}

impl SidedBuilder {
    fn new(name: &'static str) -> Self {
        SidedBuilder {
            layer: SidedLayer::default(),
            peer_index: HashMap::default(),
            svc_index: HashMap::default(),
            name,
        }
    }

    fn push(
        &mut self,
        peer_remap: Vec<u16>,
        svc_remap: Vec<u16>,
        n_svc: usize,
        table: &[u32],
        cfg: &Config,
    ) -> Result<(), CompileError> {
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
        let pr = intern(
            &mut self.peer_index,
            &mut self.layer.peer_remaps,
            peer_remap,
        );
        let sr = intern(&mut self.svc_index, &mut self.layer.svc_remaps, svc_remap);
        let offset = u32::try_from(self.layer.entries.len()).map_err(|_| too_large(usize::MAX))?;
        self.layer.entries.extend_from_slice(table);
        if self.layer.entries.len() * 4 > cfg.max_table_bytes {
            return Err(too_large(self.layer.entries.len() * 4));
        }
        self.layer.slots.push(ProfileSlot {
            peer_remap: pr,
            svc_remap: sr,
            offset,
            n_svc: u32::try_from(n_svc).map_err(|_| too_large(usize::MAX))?,
        });
        Ok(())
    }
}

fn intern(index: &mut HashMap<Box<[u16]>, u32>, store: &mut Vec<Box<[u16]>>, v: Vec<u16>) -> u32 {
    let b = v.into_boxed_slice();
    if let Some(&i) = index.get(&b) {
        return i;
    }
    let i = u32::try_from(store.len()).unwrap_or(u32::MAX);
    store.push(b.clone());
    index.insert(b, i);
    i
}

/// Dedups keys into dense u16 ids.
fn dense_ids<K: std::hash::Hash + Eq + Clone>(
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
                let id = u16::try_from(next).map_err(|_| CompileError::ProfileTooLarge {
                    layer,
                    given: next + 1,
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
    lpm: Lpm,
    classes: Vec<ClassInfo>,
    services: ServiceClasses,
    n_route: u32,
    route: Vec<u32>,
    egress: SidedLayer,
    ingress: SidedLayer,
    zpr_egress: SidedLayer,
    zpr_ingress: SidedLayer,
    zpr_profiles: Vec<ZprProfileInfo>,
    rules: Vec<RuleRef>,
    stats: Stats,
    /// Every prefix with addresses of its own, and its class (for `dump`).
    prefix_classes: Vec<(Pfx, u32)>,
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
    /// Compiles a scenario.
    ///
    /// # Errors
    /// When a [`Config`] limit is exceeded.
    pub fn new(s: &Scenario, cfg: &Config) -> Result<Compiled, CompileError> {
        let t0 = Instant::now();
        let mut c = Builder::new(s, cfg)?.build()?;
        c.stats.compile_s = t0.elapsed().as_secs_f64();
        Ok(c)
    }

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

    /// A readable dump of the classes and tables, for debugging the
    /// compiler (`zprsim dump-table`).
    #[must_use]
    pub fn dump(&self, s: &Scenario) -> String {
        use std::fmt::Write as _;
        let mut t = String::new();
        let name = |id: Option<u32>| -> String {
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
            let none = |v: u32| {
                if v == ClassInfo::NONE {
                    "-".to_string()
                } else {
                    v.to_string()
                }
            };
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
            for (pi, slot) in layer.slots.iter().enumerate() {
                let n_peer = layer.peer_remaps[slot.peer_remap as usize]
                    .iter()
                    .copied()
                    .max()
                    .map_or(0, |m| usize::from(m) + 1);
                let _ = writeln!(
                    t,
                    "profile {pi}: {n_peer} local peer(s) x {} local service(s)",
                    slot.n_svc
                );
                for lp in 0..n_peer {
                    let row: Vec<String> = (0..slot.n_svc as usize)
                        .map(|ls| {
                            let e = Entry(
                                layer.entries[slot.offset as usize + lp * slot.n_svc as usize + ls],
                            );
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
        t
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
            return Fast {
                judgement: Judgement {
                    verdict: Verdict::Allow,
                    stage: None,
                    zpr_audit: false,
                    tracking: Tracking {
                        at_src: false,
                        at_dst: false,
                        zpr: true,
                        zpr_audit: true,
                    },
                },
                rules,
            };
        }
        let (reply, t) = match ctx {
            Context::First => (false, Tracking::default()),
            Context::Reply(t) => (true, t),
        };
        let drop = |stage, rules| Fast {
            judgement: Judgement {
                verdict: Verdict::Drop,
                stage: Some(stage),
                zpr_audit: false,
                tracking: Tracking::default(),
            },
            rules,
        };
        let r = RouteEntry(self.route[(a.route * self.n_route + b.route) as usize]);
        rules[0] = r.rule();
        if !r.passes(reply) {
            return drop(Stage::Route, rules);
        }
        let mut tracking = Tracking {
            at_src: false,
            at_dst: false,
            zpr: true,
            zpr_audit: true,
        };
        if a.sec_profile != ClassInfo::NONE && !(reply && t.at_dst) {
            let e = self.egress.lookup(a.sec_profile, b.eg_peer, svc);
            rules[1] = e.rule();
            if !e.allowed() {
                return drop(Stage::EgressSecurity, rules);
            }
            tracking.at_src = e.tracks();
        }
        if b.sec_profile != ClassInfo::NONE && !(reply && t.at_src) {
            let e = self.ingress.lookup(b.sec_profile, a.in_peer, svc);
            rules[2] = e.rule();
            if !e.allowed() {
                return drop(Stage::IngressSecurity, rules);
            }
            tracking.at_dst = e.tracks();
        }
        let mut zpr_ok = true;
        let mut audit = false;
        for (check, profile, peer) in [
            (0usize, a.zpr_profile, b.zpr_peer),
            (1, b.zpr_profile, a.zpr_peer),
        ] {
            if profile == ClassInfo::NONE {
                continue;
            }
            let info = self.zpr_profiles[profile as usize];
            let tracked = reply && if info.audited { t.zpr_audit } else { t.zpr };
            let (ok, stateful) = if tracked {
                (true, true)
            } else {
                let layer = if check == 0 {
                    &self.zpr_egress
                } else {
                    &self.zpr_ingress
                };
                let e = layer.lookup(profile, peer, svc);
                rules[3 + check] = e.rule();
                (e.allowed(), e.tracks())
            };
            if info.audited {
                tracking.zpr_audit &= ok && stateful;
                audit |= !ok;
            } else {
                tracking.zpr &= ok && stateful;
                zpr_ok &= ok;
            }
        }
        if !zpr_ok {
            let mut d = drop(Stage::Zpr, rules);
            d.judgement.zpr_audit = audit;
            return d;
        }
        if reply {
            tracking = Tracking::default();
        }
        Fast {
            judgement: Judgement {
                verdict: Verdict::Allow,
                stage: None,
                zpr_audit: audit,
                tracking,
            },
            rules,
        }
    }
}

// ----------------------------------------------------------------- builder --

/// What an address node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ident {
    Vnic(VnicId),
    Other,
}

struct Builder<'a> {
    s: &'a Scenario,
    cfg: &'a Config,
    tree: PrefixTree,
    /// Global rule ids.
    rules: Vec<RuleRef>,
    route_rule_gid: HashMap<(RouteTableId, u32), u32>,
    sec_rule_gid: HashMap<RuleRef, u32>,
    stmt_gid: Vec<u32>,
    /// VNIC holding each host node.
    vnic_at: HashMap<NodeId, VnicId>,
}

fn node_of(tree: &PrefixTree, p: Pfx) -> NodeId {
    tree.find(p).unwrap_or(0)
}

fn sec_rules_of(s: &Scenario) -> Vec<(RuleRef, &SecurityRule)> {
    let mut out = Vec::new();
    for (n, nsg) in s.nsgs.iter().enumerate() {
        let Ok(nsg_id) = NsgId::new(n) else { continue };
        for (i, r) in nsg.rules.iter().enumerate() {
            let Ok(index) = u32::try_from(i) else {
                continue;
            };
            out.push((RuleRef::Nsg { nsg: nsg_id, index }, r));
        }
    }
    for (l, list) in s.security_lists.iter().enumerate() {
        let Ok(list_id) = SecurityListId::new(l) else {
            continue;
        };
        for (dir, rules) in [
            (Direction::Ingress, &list.ingress),
            (Direction::Egress, &list.egress),
        ] {
            for (i, r) in rules.iter().enumerate() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                out.push((
                    RuleRef::SecurityList {
                        list: list_id,
                        direction: dir.into(),
                        index,
                    },
                    r,
                ));
            }
        }
    }
    out
}

fn peer_prefixes(s: &Scenario, p: &Peer) -> Vec<Pfx> {
    match p {
        Peer::Cidr(c) => vec![Pfx::from(*c)],
        Peer::Service(l) => s.service_cidrs(*l).iter().map(|c| Pfx::from(*c)).collect(),
        Peer::Nsg(_) => Vec::new(),
    }
}

fn term_prefixes(s: &Scenario, t: &Term) -> Vec<Pfx> {
    match t {
        Term::Cidr(c) => vec![Pfx::from(*c)],
        Term::OsnServices => s
            .services
            .iter()
            .flat_map(|l| l.cidrs.iter().map(|c| Pfx::from(*c)))
            .collect(),
        Term::Attribute(_) | Term::AllEndpoints => Vec::new(),
    }
}

fn link_local() -> Pfx {
    Pfx {
        fam: 4,
        addr: u128::from(u32::from(Ipv4Addr::new(169, 254, 0, 0))),
        len: 16,
    }
}

/// Local service ids over the global classes, the global class standing
/// for each local one, and `matches[condition][global class]`.
type LocalServices = (Vec<u16>, Vec<usize>, Vec<Vec<bool>>);

/// A rule of a profile's union, in evaluation order.
struct URule<'a> {
    gid: u32,
    rule: &'a SecurityRule,
}

/// Sorted attribute set of a VNIC (any mode).
fn attr_set(s: &Scenario, v: VnicId) -> Vec<Attribute> {
    let mut a: Vec<Attribute> = s.vnics[v.index()]
        .attributes
        .iter()
        .map(|x| x.attribute.clone())
        .collect();
    a.sort();
    a.dedup();
    a
}

/// A ZPR peer: what statements can see of the other side.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ZPeer {
    region: Option<NodeId>,
    vcn: Option<VcnId>,
    attrs: Vec<Attribute>,
}

/// A ZPR profile: what statements can see of the checked VNIC.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ZSelf {
    audited: bool,
    attrs: Vec<Attribute>,
    vcn: VcnId,
    region: Option<NodeId>,
}

impl<'a> Builder<'a> {
    fn new(s: &'a Scenario, cfg: &'a Config) -> Result<Self, CompileError> {
        let mut prefixes: Vec<Pfx> = vec![link_local()];
        for v in &s.vcns {
            prefixes.extend(v.cidr_blocks.iter().map(|c| Pfx::from(*c)));
        }
        for sn in &s.subnets {
            prefixes.extend(sn.cidrs.iter().map(|c| Pfx::from(*c)));
        }
        for l in &s.services {
            prefixes.extend(l.cidrs.iter().map(|c| Pfx::from(*c)));
        }
        for v in &s.vnics {
            prefixes.extend(v.private_ips.iter().map(|ip| Pfx::host(*ip)));
        }
        for t in &s.route_tables {
            for r in &t.rules {
                if let RouteDestination::Cidr(c) = r.destination {
                    prefixes.push(Pfx::from(c));
                }
            }
        }
        let sec = sec_rules_of(s);
        for (_, r) in &sec {
            if let Peer::Cidr(c) = r.peer {
                prefixes.push(Pfx::from(c));
            }
        }
        for (_, st) in s.statements() {
            for t in statement_terms(&st.statement) {
                if let Term::Cidr(c) = t {
                    prefixes.push(Pfx::from(*c));
                }
            }
        }
        let tree = PrefixTree::build(prefixes);

        let mut rules = Vec::new();
        let mut route_rule_gid = HashMap::default();
        for (t, table) in s.route_tables.iter().enumerate() {
            let Ok(tid) = RouteTableId::new(t) else {
                continue;
            };
            for i in 0..table.rules.len() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                route_rule_gid.insert((tid, index), u32::try_from(rules.len()).unwrap_or(u32::MAX));
                rules.push(RuleRef::Route { table: tid, index });
            }
        }
        let mut sec_rule_gid = HashMap::default();
        for (r, _) in &sec {
            sec_rule_gid.insert(*r, u32::try_from(rules.len()).unwrap_or(u32::MAX));
            rules.push(*r);
        }
        let mut stmt_gid = Vec::new();
        for (r, _) in s.statements() {
            stmt_gid.push(u32::try_from(rules.len()).unwrap_or(u32::MAX));
            rules.push(RuleRef::Statement(r));
        }
        if rules.len() > Entry::MAX_ID {
            return Err(CompileError::TooManyRules {
                given: rules.len(),
                limit: Entry::MAX_ID,
            });
        }
        let mut vnic_at = HashMap::default();
        for (i, v) in s.vnics.iter().enumerate() {
            let Ok(id) = VnicId::new(i) else { continue };
            for ip in &v.private_ips {
                vnic_at.insert(node_of(&tree, Pfx::host(*ip)), id);
            }
        }
        Ok(Builder {
            s,
            cfg,
            tree,
            rules,
            route_rule_gid,
            sec_rule_gid,
            stmt_gid,
            vnic_at,
        })
    }

    fn marks(&self, prefixes: impl IntoIterator<Item = Pfx>) -> Vec<bool> {
        let mut m = vec![false; self.tree.len()];
        for p in prefixes {
            if let Some(n) = self.tree.find(p) {
                m[n as usize] = true;
            }
        }
        m
    }

    fn ident(&self, n: NodeId) -> Ident {
        match self.vnic_at.get(&n) {
            Some(v) => Ident::Vnic(*v),
            None => Ident::Other,
        }
    }

    /// The VCN whose CIDR blocks hold node `n`.
    fn vcn_of(&self, vcn_marks: &[Option<VcnId>], n: NodeId) -> Option<VcnId> {
        self.tree.chain(n).find_map(|a| vcn_marks[a as usize])
    }

    #[allow(clippy::too_many_lines)]
    fn build(self) -> Result<Compiled, CompileError> {
        let mut phases: Vec<(&'static str, f64)> = Vec::new();
        let mut clock = Instant::now();
        let mut lap = |name: &'static str| {
            phases.push((name, clock.elapsed().as_secs_f64()));
            clock = Instant::now();
        };
        let s = self.s;
        let cfg = self.cfg;
        let tree = &self.tree;
        let n_nodes = tree.len();

        // VCN of every VCN CIDR node.
        let mut vcn_marks: Vec<Option<VcnId>> = vec![None; n_nodes];
        for (i, v) in s.vcns.iter().enumerate() {
            let Ok(id) = VcnId::new(i) else { continue };
            for c in &v.cidr_blocks {
                vcn_marks[node_of(tree, Pfx::from(*c)) as usize] = Some(id);
            }
        }
        let exempt_node = node_of(tree, link_local());

        // ---- layer marks
        let route_marks = self.marks(
            s.vcns
                .iter()
                .flat_map(|v| v.cidr_blocks.iter().map(|c| Pfx::from(*c)))
                .chain(
                    s.subnets
                        .iter()
                        .flat_map(|sn| sn.cidrs.iter().map(|c| Pfx::from(*c))),
                )
                .chain(s.route_tables.iter().flat_map(|t| {
                    t.rules.iter().flat_map(|r| match &r.destination {
                        RouteDestination::Cidr(c) => vec![Pfx::from(*c)],
                        RouteDestination::Service(l) => {
                            s.service_cidrs(*l).iter().map(|c| Pfx::from(*c)).collect()
                        }
                    })
                })),
        );
        let sec = sec_rules_of(s);
        let dir_marks = |dir: Direction| {
            self.marks(
                sec.iter()
                    .filter(|(_, r)| r.direction == dir)
                    .flat_map(|(_, r)| peer_prefixes(s, &r.peer)),
            )
        };
        let eg_marks = dir_marks(Direction::Egress);
        let in_marks = dir_marks(Direction::Ingress);
        let referenced_nsgs = |dir: Direction| -> BTreeSet<NsgId> {
            sec.iter()
                .filter(|(_, r)| r.direction == dir)
                .filter_map(|(_, r)| match r.peer {
                    Peer::Nsg(n) => Some(n),
                    _ => None,
                })
                .collect()
        };
        let eg_nsgs = referenced_nsgs(Direction::Egress);
        let in_nsgs = referenced_nsgs(Direction::Ingress);
        let zpr_marks = self.marks(
            s.vcns
                .iter()
                .flat_map(|v| v.cidr_blocks.iter().map(|c| Pfx::from(*c)))
                .chain(
                    s.services
                        .iter()
                        .flat_map(|l| l.cidrs.iter().map(|c| Pfx::from(*c))),
                )
                .chain(s.statements().flat_map(|(_, st)| {
                    statement_terms(&st.statement)
                        .flat_map(|t| term_prefixes(s, t))
                        .collect::<Vec<_>>()
                })),
        );

        // ---- per node keys
        type RouteKey = (Option<NodeId>, Option<(Option<RouteTableId>, SubnetId)>);
        type SecPeerKey = (Option<NodeId>, Vec<NsgId>);
        type SecProfileKey = (Vec<NsgId>, SubnetId);
        let mut route_keys: Vec<RouteKey> = Vec::new();
        let mut route_index: HashMap<RouteKey, u32> = HashMap::default();
        let mut eg_keys: Vec<SecPeerKey> = Vec::new();
        let mut eg_index: HashMap<SecPeerKey, u32> = HashMap::default();
        let mut in_keys: Vec<SecPeerKey> = Vec::new();
        let mut in_index: HashMap<SecPeerKey, u32> = HashMap::default();
        let mut sec_profiles: Vec<SecProfileKey> = Vec::new();
        let mut sec_index: HashMap<SecProfileKey, u32> = HashMap::default();
        let mut zpeers: Vec<ZPeer> = Vec::new();
        let mut zpeer_index: HashMap<ZPeer, u32> = HashMap::default();
        let mut zselves: Vec<ZSelf> = Vec::new();
        let mut zself_index: HashMap<ZSelf, u32> = HashMap::default();
        let mut classes: Vec<ClassInfo> = Vec::new();
        let mut class_index: HashMap<ClassInfo, u32> = HashMap::default();
        let mut node_class: Vec<u32> = vec![0; n_nodes];

        fn get<K: std::hash::Hash + Eq + Clone>(
            keys: &mut Vec<K>,
            index: &mut HashMap<K, u32>,
            k: K,
        ) -> u32 {
            if let Some(&i) = index.get(&k) {
                return i;
            }
            let i = u32::try_from(keys.len()).unwrap_or(u32::MAX);
            keys.push(k.clone());
            index.insert(k, i);
            i
        }

        for (n, own) in tree.own_addr.iter().enumerate() {
            let nid = u32::try_from(n).unwrap_or(u32::MAX);
            if own.is_none() {
                continue;
            }
            let ident = self.ident(nid);
            let exempt = tree.chain(nid).any(|a| a == exempt_node)
                && tree.nodes[exempt_node as usize].len == 16;
            let route_region = tree.nearest_marked(nid, &route_marks);
            let route_vnic = match ident {
                Ident::Vnic(v) => Some((s.effective_route_table(v), s.vnics[v.index()].subnet)),
                Ident::Other => None,
            };
            let route = get(
                &mut route_keys,
                &mut route_index,
                (route_region, route_vnic),
            );
            let membership = |set: &BTreeSet<NsgId>| match ident {
                Ident::Vnic(v) => {
                    let mut m: Vec<NsgId> = s.vnics[v.index()]
                        .nsgs
                        .iter()
                        .copied()
                        .filter(|x| set.contains(x))
                        .collect();
                    m.sort();
                    m.dedup();
                    m
                }
                Ident::Other => Vec::new(),
            };
            let eg_peer = get(
                &mut eg_keys,
                &mut eg_index,
                (tree.nearest_marked(nid, &eg_marks), membership(&eg_nsgs)),
            );
            let in_peer = get(
                &mut in_keys,
                &mut in_index,
                (tree.nearest_marked(nid, &in_marks), membership(&in_nsgs)),
            );
            let sec_profile = match ident {
                Ident::Vnic(v) => {
                    let vn = &s.vnics[v.index()];
                    get(
                        &mut sec_profiles,
                        &mut sec_index,
                        (vn.nsgs.clone(), vn.subnet),
                    )
                }
                Ident::Other => ClassInfo::NONE,
            };
            let zregion = tree.nearest_marked(nid, &zpr_marks);
            let vcn = self.vcn_of(&vcn_marks, nid);
            let attrs = match ident {
                Ident::Vnic(v) => attr_set(s, v),
                Ident::Other => Vec::new(),
            };
            let zpr_peer = get(
                &mut zpeers,
                &mut zpeer_index,
                ZPeer {
                    region: zregion,
                    vcn,
                    attrs: attrs.clone(),
                },
            );
            let zpr_profile = match ident {
                Ident::Vnic(v) => match eval::zpr_role(s, eval::Endpoint::Vnic(v)) {
                    ZprRole::None => ClassInfo::NONE,
                    role => get(
                        &mut zselves,
                        &mut zself_index,
                        ZSelf {
                            audited: role == ZprRole::Audited,
                            attrs,
                            vcn: s.vnic_vcn(v),
                            region: zregion,
                        },
                    ),
                },
                Ident::Other => ClassInfo::NONE,
            };
            let mut flags = 0;
            if exempt {
                flags |= ClassInfo::EXEMPT;
            }
            if matches!(ident, Ident::Vnic(_)) {
                flags |= ClassInfo::VNIC;
            }
            let info = ClassInfo {
                route,
                sec_profile,
                zpr_profile,
                eg_peer,
                in_peer,
                zpr_peer,
                flags,
            };
            node_class[n] = get(&mut classes, &mut class_index, info);
        }
        if classes.len() > cfg.max_address_classes {
            return Err(CompileError::TooManyAddressClasses {
                given: classes.len(),
                limit: cfg.max_address_classes,
            });
        }

        lap("classes");
        // ---- LPM
        let mut lpm = Lpm::new(node_class[0], node_class[1]);
        let mut order: Vec<usize> = (0..n_nodes).collect();
        order.sort_by_key(|&i| tree.nodes[i].len);
        for i in order {
            lpm.insert(tree.nodes[i], node_class[i])
                .map_err(|_| CompileError::TooLarge {
                    given: usize::MAX,
                    limit: cfg.max_table_bytes,
                })?;
        }

        lap("lpm");
        // ---- services
        let mut conds: Vec<ServiceCond> = sec
            .iter()
            .map(|(_, r)| ServiceCond::Rule(r.protocol, r.options))
            .collect();
        conds.extend(
            s.statements()
                .map(|(_, st)| ServiceCond::Stmt(st.statement.conditions())),
        );
        let services = ServiceClasses::build(conds.iter());
        if services.len() > cfg.max_service_classes {
            return Err(CompileError::TooManyServiceClasses {
                given: services.len(),
                limit: cfg.max_service_classes,
            });
        }
        let svc_reps: Vec<Packet> = (0..services.len())
            .map(|i| {
                let (proto, l4) = services.rep(u32::try_from(i).unwrap_or(0));
                Packet {
                    src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    proto,
                    l4,
                }
            })
            .collect();

        lap("services");
        // ---- route table
        let route = self.build_route(&route_keys, &vcn_marks)?;
        let n_route = u32::try_from(route_keys.len()).unwrap_or(u32::MAX);

        lap("route");
        // ---- security layers
        let mut egress = SidedBuilder::new("egress-security");
        let mut ingress = SidedBuilder::new("ingress-security");
        for (nsgs, subnet) in &sec_profiles {
            for (dir, builder, peers) in [
                (Direction::Egress, &mut egress, &eg_keys),
                (Direction::Ingress, &mut ingress, &in_keys),
            ] {
                let urules = self.union(nsgs, *subnet, dir);
                let (peer_remap, svc_remap, n_svc, table) =
                    self.security_table(&urules, peers, &svc_reps)?;
                builder.push(peer_remap, svc_remap, n_svc, &table, cfg)?;
            }
        }

        lap("security");
        // ---- zpr layers
        let mut zpr_egress = SidedBuilder::new("zpr egress");
        let mut zpr_ingress = SidedBuilder::new("zpr ingress");
        let mut zpr_profiles = Vec::new();
        let stmts: Vec<(u32, &Statement)> = s
            .statements()
            .zip(self.stmt_gid.iter())
            .map(|((_, st), g)| (*g, &st.statement))
            .collect();
        for zs in &zselves {
            let named = stmts
                .iter()
                .any(|(_, st)| st.endpoint_attributes().any(|a| zs.attrs.contains(a)));
            zpr_profiles.push(ZprProfileInfo {
                audited: zs.audited,
                missing_policy: !named,
            });
            for (egress_check, builder) in [(true, &mut zpr_egress), (false, &mut zpr_ingress)] {
                let (peer_remap, svc_remap, n_svc, table) =
                    self.zpr_table(zs, egress_check, &stmts, &zpeers, &vcn_marks, &svc_reps)?;
                builder.push(peer_remap, svc_remap, n_svc, &table, cfg)?;
            }
        }

        lap("zpr");
        let egress = egress.layer;
        let ingress = ingress.layer;
        let zpr_egress = zpr_egress.layer;
        let zpr_ingress = zpr_ingress.layer;
        let table_entries = route.len()
            + egress.cells()
            + ingress.cells()
            + zpr_egress.cells()
            + zpr_ingress.cells();
        let table_bytes = lpm.bytes()
            + services.bytes()
            + classes.len() * std::mem::size_of::<ClassInfo>()
            + route.len() * 4
            + egress.bytes()
            + ingress.bytes()
            + zpr_egress.bytes()
            + zpr_ingress.bytes();
        if table_bytes > cfg.max_table_bytes {
            return Err(CompileError::TooLarge {
                given: table_bytes,
                limit: cfg.max_table_bytes,
            });
        }
        let stats = Stats {
            prefixes: n_nodes,
            address_classes: classes.len(),
            service_classes: services.len(),
            route_classes: route_keys.len(),
            security_profiles: sec_profiles.len(),
            zpr_profiles: zselves.len(),
            table_entries,
            table_bytes,
            compile_s: 0.0,
            phases,
        };
        Ok(Compiled {
            lpm,
            classes,
            services,
            n_route,
            route,
            egress,
            ingress,
            zpr_egress,
            zpr_ingress,
            zpr_profiles,
            rules: self.rules,
            stats,
            prefix_classes: (0..n_nodes)
                .filter(|&i| tree.own_addr[i].is_some())
                .map(|i| (tree.nodes[i], node_class[i]))
                .collect(),
        })
    }

    // ------------------------------------------------------------ route --

    #[allow(clippy::type_complexity)]
    fn build_route(
        &self,
        keys: &[(Option<NodeId>, Option<(Option<RouteTableId>, SubnetId)>)],
        vcn_marks: &[Option<VcnId>],
    ) -> Result<Vec<u32>, CompileError> {
        let s = self.s;
        let tree = &self.tree;
        let n = keys.len();
        let cells = n.saturating_mul(n);
        if cells.saturating_mul(4) > self.cfg.max_table_bytes {
            return Err(CompileError::TooLarge {
                given: cells.saturating_mul(4),
                limit: self.cfg.max_table_bytes,
            });
        }
        // Static prefixes of each table: node -> lowest rule index.
        let mut statics: Vec<HashMap<NodeId, u32>> = Vec::with_capacity(s.route_tables.len());
        for t in &s.route_tables {
            let mut m: HashMap<NodeId, u32> = HashMap::default();
            for (i, r) in t.rules.iter().enumerate() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                let ps: Vec<Pfx> = match &r.destination {
                    RouteDestination::Cidr(c) => vec![Pfx::from(*c)],
                    RouteDestination::Service(l) => {
                        s.service_cidrs(*l).iter().map(|c| Pfx::from(*c)).collect()
                    }
                };
                for p in ps {
                    if let Some(node) = tree.find(p) {
                        m.entry(node).or_insert(index);
                    }
                }
            }
            statics.push(m);
        }
        let vcn_of_region =
            |r: Option<NodeId>| r.and_then(|r| tree.chain(r).find_map(|a| vcn_marks[a as usize]));
        // LPM over a table plus the VCN's local routes, for an address whose
        // deepest route-relevant node is `region`.
        // The longest-prefix winner for an address whose deepest
        // route-relevant node is `region`: `Local`, a static rule, or nothing.
        enum Hit<'r> {
            Local,
            Static(RouteTableId, u32, &'r RouteTarget),
        }
        let lookup =
            |table: Option<RouteTableId>, vcn: VcnId, region: Option<NodeId>| -> Option<Hit<'_>> {
                let region = region?;
                for a in tree.chain(region) {
                    if let Some(t) = table
                        && let Some(&i) = statics[t.index()].get(&a)
                    {
                        return Some(Hit::Static(
                            t,
                            i,
                            &s.route_tables[t.index()].rules[i as usize].target,
                        ));
                    }
                    if vcn_marks[a as usize] == Some(vcn) {
                        return Some(Hit::Local);
                    }
                }
                None
            };
        let gid =
            |t: RouteTableId, i: u32| self.route_rule_gid.get(&(t, i)).copied().unwrap_or(0) + 1;
        const PASS: u32 = RouteEntry::FIRST_OK | RouteEntry::REPLY_OK;
        const FORWARDED: u32 = 1 << 30;
        const DIRECT: u32 = 2 << 30;
        let mut out = vec![0u32; cells];
        for (ai, (a_region, a_vnic)) in keys.iter().enumerate() {
            for (bi, (b_region, b_vnic)) in keys.iter().enumerate() {
                let cell = match (a_vnic, b_vnic) {
                    (None, None) => 0,
                    // From a VNIC: same subnet is direct; else the LPM over its
                    // table and VCN, and another VCN needs a DRG, LPG or private IP.
                    (Some((table, subnet)), _) => {
                        let sn = &s.subnets[subnet.index()];
                        let direct = b_region.is_some_and(|r| {
                            sn.cidrs
                                .iter()
                                .any(|c| Pfx::from(*c).covers(tree.nodes[r as usize]))
                        });
                        let dst_vcn = match b_vnic {
                            Some((_, bs)) => Some(s.subnets[bs.index()].vcn),
                            None => vcn_of_region(*b_region),
                        };
                        match lookup(*table, sn.vcn, *b_region) {
                            _ if direct => PASS | DIRECT,
                            None => 0,
                            Some(Hit::Local) => PASS | FORWARDED,
                            Some(Hit::Static(t, i, target)) => {
                                let reaches = match target {
                                    RouteTarget::Gateway(g) => {
                                        s.gateways[g.index()].kind.reaches_other_vcn()
                                    }
                                    RouteTarget::PrivateIp { .. } => true,
                                };
                                if dst_vcn.is_some_and(|d| d != sn.vcn) && !reaches {
                                    gid(t, i)
                                } else {
                                    gid(t, i) | PASS | FORWARDED
                                }
                            }
                        }
                    }
                    // From outside to a VNIC: the return path in its table; NAT
                    // and service gateways and private IPs admit replies only.
                    (None, Some((table, subnet))) => {
                        match lookup(*table, s.subnets[subnet.index()].vcn, *a_region) {
                            None => 0,
                            Some(Hit::Local) => PASS | FORWARDED,
                            Some(Hit::Static(t, i, target)) => {
                                let admits = match target {
                                    RouteTarget::Gateway(g) => {
                                        s.gateways[g.index()].kind.admits_inbound()
                                    }
                                    RouteTarget::PrivateIp { .. } => false,
                                };
                                let first = if admits { RouteEntry::FIRST_OK } else { 0 };
                                gid(t, i) | first | RouteEntry::REPLY_OK | FORWARDED
                            }
                        }
                    }
                };
                out[ai * n + bi] = cell;
            }
        }
        Ok(out)
    }

    // --------------------------------------------------------- security --

    fn union(&self, nsgs: &[NsgId], subnet: SubnetId, dir: Direction) -> Vec<URule<'a>> {
        let s = self.s;
        let mut out = Vec::new();
        for n in nsgs {
            for (i, r) in s.nsgs[n.index()].rules.iter().enumerate() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                if r.direction == dir {
                    let gid = self
                        .sec_rule_gid
                        .get(&RuleRef::Nsg { nsg: *n, index })
                        .copied()
                        .unwrap_or(0);
                    out.push(URule { gid, rule: r });
                }
            }
        }
        for l in &s.subnets[subnet.index()].security_lists {
            let list = &s.security_lists[l.index()];
            let rules = match dir {
                Direction::Ingress => &list.ingress,
                Direction::Egress => &list.egress,
            };
            for (i, r) in rules.iter().enumerate() {
                let Ok(index) = u32::try_from(i) else {
                    continue;
                };
                let key = RuleRef::SecurityList {
                    list: *l,
                    direction: dir.into(),
                    index,
                };
                let gid = self.sec_rule_gid.get(&key).copied().unwrap_or(0);
                out.push(URule { gid, rule: r });
            }
        }
        out
    }

    /// Local service classes of a set of conditions: the services that every
    /// condition treats alike share one.
    fn local_services(
        &self,
        conds: &[ServiceCond],
        svc_reps: &[Packet],
        layer: &'static str,
    ) -> Result<LocalServices, CompileError> {
        // matches[c][s]
        let matches: Vec<Vec<bool>> = conds
            .iter()
            .map(|c| svc_reps.iter().map(|p| service_matches(c, p)).collect())
            .collect();
        let sigs: Vec<Vec<bool>> = (0..svc_reps.len())
            .map(|si| matches.iter().map(|m| m[si]).collect())
            .collect();
        let (ids, reps) = dense_ids(&sigs, layer, self.cfg)?;
        Ok((ids, reps, matches))
    }

    #[allow(clippy::type_complexity)]
    fn security_table(
        &self,
        urules: &[URule<'_>],
        peers: &[(Option<NodeId>, Vec<NsgId>)],
        svc_reps: &[Packet],
    ) -> Result<(Vec<u16>, Vec<u16>, usize, Vec<u32>), CompileError> {
        let s = self.s;
        let tree = &self.tree;
        // Distinct service conditions of these rules.
        let mut cond_index: HashMap<ServiceCond, usize> = HashMap::default();
        let mut conds: Vec<ServiceCond> = Vec::new();
        let rule_cond: Vec<usize> = urules
            .iter()
            .map(|u| {
                let c = ServiceCond::Rule(u.rule.protocol, u.rule.options);
                let next = conds.len();
                *cond_index.entry(c.clone()).or_insert_with(|| {
                    conds.push(c);
                    next
                })
            })
            .collect();
        let (svc_remap, svc_rep_idx, matches) =
            self.local_services(&conds, svc_reps, "security")?;
        // Local peers: nearest ancestor among this profile's prefixes, and the
        // membership restricted to the NSGs its rules name.
        let marks = self.marks(urules.iter().flat_map(|u| peer_prefixes(s, &u.rule.peer)));
        let named: BTreeSet<NsgId> = urules
            .iter()
            .filter_map(|u| match u.rule.peer {
                Peer::Nsg(n) => Some(n),
                _ => None,
            })
            .collect();
        let local_keys: Vec<(Option<NodeId>, Vec<NsgId>)> = peers
            .iter()
            .map(|(region, m)| {
                (
                    region.and_then(|r| tree.nearest_marked(r, &marks)),
                    m.iter().copied().filter(|x| named.contains(x)).collect(),
                )
            })
            .collect();
        let (peer_remap, peer_rep_idx) = dense_ids(&local_keys, "security", self.cfg)?;
        let n_peer = peer_rep_idx.len();
        let n_svc = svc_rep_idx.len();
        let cells = n_peer.saturating_mul(n_svc);
        if cells > self.cfg.max_profile_cells {
            return Err(CompileError::ProfileTooLarge {
                layer: "security",
                given: cells,
                limit: self.cfg.max_profile_cells,
            });
        }
        // Each rule hangs on the prefix nodes (or the NSGs) it names, so a
        // peer finds its matching rules by walking its ancestor chain:
        // O(peers × depth + matches), not O(peers × rules).
        let mut by_node: HashMap<NodeId, Vec<usize>> = HashMap::default();
        let mut by_nsg: HashMap<NsgId, Vec<usize>> = HashMap::default();
        for (i, u) in urules.iter().enumerate() {
            match &u.rule.peer {
                Peer::Nsg(n) => by_nsg.entry(*n).or_default().push(i),
                p => {
                    for q in peer_prefixes(s, p) {
                        if let Some(node) = tree.find(q) {
                            by_node.entry(node).or_default().push(i);
                        }
                    }
                }
            }
        }
        // The local services each condition matches.
        let cond_svcs: Vec<Vec<usize>> = (0..conds.len())
            .map(|c| {
                svc_rep_idx
                    .iter()
                    .enumerate()
                    .filter(|(_, si)| matches[c][**si])
                    .map(|(ls, _)| ls)
                    .collect()
            })
            .collect();
        let mut table = vec![0u32; cells];
        let mut matching: Vec<usize> = Vec::new();
        for (lp, &pi) in peer_rep_idx.iter().enumerate() {
            let (anchor, members) = &local_keys[pi];
            matching.clear();
            if let Some(a) = anchor {
                for node in tree.chain(*a) {
                    if let Some(v) = by_node.get(&node) {
                        matching.extend_from_slice(v);
                    }
                }
            }
            for n in members {
                if let Some(v) = by_nsg.get(n) {
                    matching.extend_from_slice(v);
                }
            }
            matching.sort_unstable();
            matching.dedup();
            let row = &mut table[lp * n_svc..(lp + 1) * n_svc];
            // Ascending rule order: the first rule to reach a cell names it.
            for &ri in &matching {
                let id = urules[ri].gid + 1;
                let bit = if urules[ri].rule.stateless {
                    Entry::STATELESS
                } else {
                    Entry::STATEFUL
                };
                for &ls in &cond_svcs[rule_cond[ri]] {
                    let cell = &mut row[ls];
                    if *cell & Entry::ID_MASK == 0 {
                        *cell |= id;
                    }
                    *cell |= bit;
                }
            }
        }
        Ok((peer_remap, svc_remap, n_svc, table))
    }

    // -------------------------------------------------------------- zpr --

    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    fn zpr_table(
        &self,
        me: &ZSelf,
        egress_check: bool,
        stmts: &[(u32, &Statement)],
        zpeers: &[ZPeer],
        vcn_marks: &[Option<VcnId>],
        svc_reps: &[Packet],
    ) -> Result<(Vec<u16>, Vec<u16>, usize, Vec<u32>), CompileError> {
        let s = self.s;
        let tree = &self.tree;
        let my_vcn_attr = s.vcns[me.vcn.index()].attribute.as_ref();
        let in_region = |region: Option<NodeId>, p: Pfx| {
            region.is_some_and(|r| p.covers(tree.nodes[r as usize]))
        };
        // Does one side of a statement (`src_side`: its source side) hold for
        // an endpoint described by (region, vcn, attrs)? Form A terms are
        // scoped to the checked VNIC's VCN; form B sides name their own VCN.
        let side_ok = |st: &Statement,
                       src_side: bool,
                       region: Option<NodeId>,
                       vcn: Option<VcnId>,
                       attrs: &[Attribute]| {
            let vcn_attr = vcn.and_then(|v| s.vcns[v.index()].attribute.as_ref());
            match &st.kind {
                StatementKind::Scoped { src, dst, .. } => {
                    let scope = me.vcn;
                    match if src_side { &src.node } else { &dst.node } {
                        Term::Attribute(a) => vcn == Some(scope) && attrs.contains(a),
                        Term::Cidr(c) => in_region(region, Pfx::from(*c)),
                        Term::AllEndpoints => region.is_some_and(|r| {
                            tree.chain(r).any(|x| vcn_marks[x as usize] == Some(scope))
                        }),
                        Term::OsnServices => s
                            .services
                            .iter()
                            .any(|l| l.cidrs.iter().any(|c| in_region(region, Pfx::from(*c)))),
                    }
                }
                StatementKind::CrossVcn {
                    src,
                    src_vcn,
                    dst,
                    dst_vcn,
                } => {
                    let (a, v) = if src_side {
                        (src, src_vcn)
                    } else {
                        (dst, dst_vcn)
                    };
                    vcn_attr == Some(&v.node) && attrs.contains(&a.node)
                }
            }
        };
        // Statements whose own side holds for this profile (and, for form A,
        // whose scope is its VCN's attribute).
        let mut relevant: Vec<(u32, &Statement)> = Vec::new();
        for (gid, st) in stmts {
            let scope_ok = match &st.kind {
                StatementKind::Scoped { vcn, .. } => my_vcn_attr == Some(&vcn.node),
                StatementKind::CrossVcn { .. } => true,
            };
            if scope_ok && side_ok(st, egress_check, me.region, Some(me.vcn), &me.attrs) {
                relevant.push((*gid, st));
            }
        }
        let conds: Vec<ServiceCond> = relevant
            .iter()
            .map(|(_, st)| ServiceCond::Stmt(st.conditions()))
            .collect();
        let (svc_remap, svc_rep_idx, matches) = self.local_services(&conds, svc_reps, "zpr")?;
        let n_svc = svc_rep_idx.len();
        // Rows over the global ZPR peers (the other side), then compressed.
        let mut rows: Vec<Vec<u32>> = Vec::with_capacity(zpeers.len());
        for zp in zpeers {
            let peer_ok: Vec<bool> = relevant
                .iter()
                .map(|(_, st)| side_ok(st, !egress_check, zp.region, zp.vcn, &zp.attrs))
                .collect();
            let mut row = vec![0u32; n_svc];
            for (ls, &si) in svc_rep_idx.iter().enumerate() {
                let mut cell = 0u32;
                for (k, (gid, st)) in relevant.iter().enumerate() {
                    if !peer_ok[k] || !matches[k][si] {
                        continue;
                    }
                    if cell & Entry::ID_MASK == 0 {
                        cell |= gid + 1;
                    }
                    if st.conditions().state == ConnectionState::Stateful {
                        cell |= Entry::STATEFUL;
                    }
                }
                row[ls] = cell;
            }
            rows.push(row);
        }
        let (peer_remap, row_reps) = dense_ids(&rows, "zpr", self.cfg)?;
        let mut table = Vec::with_capacity(row_reps.len() * n_svc);
        for r in row_reps {
            table.extend_from_slice(&rows[r]);
        }
        Ok((peer_remap, svc_remap, n_svc, table))
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

fn statement_terms(st: &Statement) -> impl Iterator<Item = &Term> {
    let v: Vec<&Term> = match &st.kind {
        StatementKind::Scoped { src, dst, .. } => vec![&src.node, &dst.node],
        StatementKind::CrossVcn { .. } => Vec::new(),
    };
    v.into_iter()
}

/// Whether a service condition matches a representative packet. Uses the
/// reference evaluator's own matching, so the two cannot drift apart.
fn service_matches(c: &ServiceCond, p: &Packet) -> bool {
    match c {
        ServiceCond::Rule(protocol, options) => eval::rule_matches_service(
            &SecurityRule {
                direction: Direction::Ingress,
                protocol: *protocol,
                peer: Peer::Nsg(NsgId::default()),
                stateless: false,
                options: *options,
                description: None,
            },
            p,
        ),
        ServiceCond::Stmt(conds) => eval::conditions_hold(conds, p),
    }
}
