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

mod build;
mod dump;
mod hot;
pub mod lpm;
pub mod prefix;
mod read;
mod rule_text;
pub mod service;
pub mod side;
mod table;
#[cfg(test)]
mod tests;
mod valid;
mod virtual_router;

pub use crate::ids::{ClassId, ProfileId, RuleId};
pub use rule_text::{RuleText, rule_text};
pub use table::{
    ClassInfo, Compiled, Entry, Fast, RouteEntry, SecurityLayer, SidedLayer, Stats, ZprProfileInfo,
};

/// Which VNICs' security rules are not all known, one flag per VNIC (in
/// `s.vnics` order): the VNICs at which the compiler tracks nothing,
/// because the rules the export lacks may hold a stateless one that
/// matches (see `build::rules_unknown`). All false in a scenario without
/// stand-ins. Shared with the dataplane's count of drops owed to
/// stand-ins (since the twentieth session), so the two cannot disagree.
#[must_use]
pub fn security_rules_unknown(s: &crate::model::Scenario) -> Vec<bool> {
    let naming_unknown = build::nsgs_naming_unknown_members(s);
    (0..s.vnics.len())
        .map(|i| {
            crate::ids::VnicId::new(i).is_ok_and(|v| build::rules_unknown(s, v, &naming_unknown))
        })
        .collect()
}

/// Which VNICs' route rules are not all known, one flag per VNIC (in
/// `s.vnics` order): its route table is a stand-in, or it has none and its
/// subnet's is unknown (`route_table_unknown`), where the compiler gives
/// no route past the VNIC's subnet and no return path through the local
/// routes (see `build::route::routes_unknown`). Shared with the
/// dataplane's count of drops owed to stand-ins, as
/// [`security_rules_unknown`] is.
#[must_use]
pub fn route_rules_unknown(s: &crate::model::Scenario) -> Vec<bool> {
    (0..s.vnics.len())
        .map(|i| {
            crate::ids::VnicId::new(i).is_ok_and(|v| {
                build::route::table_unknown(
                    s,
                    s.effective_route_table(v),
                    s.vnics[v.index()].subnet,
                )
            })
        })
        .collect()
}

/// Hash maps of the compiler: ahash, whose keys `AHasher::default()` draws once per process (the
/// `runtime-rng` feature; the twenty-first session's late review): nothing
/// here depends on iteration order, and every output was checked
/// byte-identical across processes.
type HashMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<ahash::AHasher>>;

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
    /// Work of one table's local service classes (`build/local_svc.rs`):
    /// the set operations of its sweep, predicted from its distinct
    /// service conditions before any is made, plus the (condition, local
    /// service) entries it lists (2 bytes each), checked per row of
    /// classes before the row's new local services list their
    /// conditions. Linear in the conditions on every shape but nested
    /// ranges (n statements on ports 1..=k for k = 1..n list n²/2
    /// entries), which this is what bounds (1 << 26: nested n ≈ 11,500,
    /// about a second and 128 MiB of lists at the limit).
    pub max_condition_work: usize,
    /// A sided layer whose `u32` cells would take fewer bytes than this
    /// keeps them; larger ones store `u16` cells (see `SidedLayer`). A
    /// layout choice, never a verdict change: narrow cells halve the bytes
    /// but add a decode and a dependent read per look-up, which measured
    /// slower on `large` and `wide` (1-17 MB of cells per layer), so by
    /// default only layers of 64 MiB or more, where resident memory
    /// matters more than a few ns, are narrow (`max_table_bytes` is still
    /// checked on the `u32` size while building). Tests set 0 to run the
    /// narrow layout.
    pub narrow_cells_from_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_table_bytes: 512 << 20,
            max_address_classes: 1 << 22,
            max_service_classes: 1 << 20,
            max_profile_cells: 1 << 24,
            max_condition_work: 1 << 26,
            narrow_cells_from_bytes: 64 << 20,
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
    #[error("too many service classes: {given} (limit {limit}){why}")]
    TooManyServiceClasses {
        /// Classes needed.
        given: usize,
        /// The limit.
        limit: usize,
        /// Where they come from, when it is one protocol's port grid
        /// (empty otherwise).
        why: String,
    },
    /// One table's local classes (its services, or its peers) do not fit
    /// the 16-bit ids its cells are indexed by.
    #[error(
        "one {layer} table needs more than {limit} local {what} classes (ids are 16-bit): split the rules or statements over more containers"
    )]
    TooManyLocalClasses {
        /// Which layer.
        layer: &'static str,
        /// `service` or `peer`.
        what: &'static str,
        /// The limit (65,535).
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
    /// One table's service matching needs more than
    /// [`Config::max_condition_work`] steps.
    #[error(
        "the {layer} conditions of one profile need {given} steps of service matching (limit {limit}, max_condition_work): {conditions} distinct service conditions, {events} sweep events, the rest listed entries"
    )]
    TooMuchConditionWork {
        /// Which layer.
        layer: &'static str,
        /// Steps needed (so far, when the listed entries crossed the limit).
        given: usize,
        /// The limit.
        limit: usize,
        /// Distinct service conditions.
        conditions: usize,
        /// Sweep events (set operations), predicted before the sweep.
        events: usize,
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
