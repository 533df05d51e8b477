//! `diff` on captures: what a change of the scenario would do to recorded
//! traffic, in one pass of the engine with both scenarios
//! ([`crate::engine::EngineConfig::compare`]).
//!
//! - The engine judges every packet against both scenarios, each with its
//!   own tracking, counters and flow records; the second scenario's record
//!   of each flow also keeps what changed (packets that would break or are
//!   newly allowed, the first of each, a drop by another stage), and the
//!   two scenarios' records come out side by side in the flow log's order
//!   through the engine's bounded spools (`engine/flows/compare.rs`).
//! - [`DiffSink`] classes each flow as it comes ([`Class`]), counts the
//!   unchanged ones, groups the changed ones by what decides them now
//!   ([`Group`], explained by the reference evaluator, `names.rs`) and
//!   writes their `--flows` lines straight to the output: memory follows
//!   the live flows and the groups, not every flow seen.
//! - [`Report`] is the `--report`; the CLI fills it and prints the summary.

mod groups;
mod names;
mod report;
mod sink;

use serde::Serialize;

pub use groups::Group;
pub use names::{ids_compared, rule_content};
pub use report::{FlowCounts, PacketCounts, Report, Side, SideFlow, eviction_warning};
pub use sink::{Classified, DiffSink, FlowsOut};

/// The class of a flow. Its name ([`Class::name`]) is what `--fail-on`
/// takes and what `--flows` and the reports write (serialized as it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Some packets allowed before are dropped after.
    WouldBreak,
    /// Some packets dropped before are allowed after, and none would break.
    NewlyAllowed,
    /// The same verdict for every packet, another deciding layer or rule.
    ReasonChanged,
    /// Nothing changed.
    Unchanged,
    /// Flow logs only: a flow whose records only AFTER places (VNICs the
    /// change adds), judged by AFTER alone (since the twenty-ninth
    /// session; a class of `--fail-on` since the thirtieth).
    NewPath,
    /// Flow logs only: a flow whose records only BEFORE places (VNICs the
    /// change removes), judged by BEFORE alone (since the thirtieth
    /// session).
    GonePath,
}

impl Serialize for Class {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Class {
    /// Every class, in the order above.
    pub const ALL: [Class; 6] = [
        Class::WouldBreak,
        Class::NewlyAllowed,
        Class::ReasonChanged,
        Class::Unchanged,
        Class::NewPath,
        Class::GonePath,
    ];

    /// A class of `--fail-on` by its [`name`](Class::name)
    /// (`would-break`, `newly-allowed`, `reason-changed`; `new-path` and
    /// `gone-path`, which only flow logs have, since the thirtieth
    /// session); `unchanged` is none.
    #[must_use]
    pub fn parse(t: &str) -> Option<Class> {
        let t = t.trim();
        Class::ALL
            .into_iter()
            .find(|c| *c != Class::Unchanged && c.name() == t)
    }

    /// Whether only a diff of flow logs can find a flow of this class
    /// (`new-path`, `gone-path`: a flow-log record is placed by the VNIC
    /// that logged it, which one scenario may lack; a captured packet is
    /// judged by both scenarios).
    #[must_use]
    pub fn flow_logs_only(self) -> bool {
        matches!(self, Class::NewPath | Class::GonePath)
    }

    /// The class's name, as `--fail-on` and `--flows` write it
    /// (`would-break`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Class::WouldBreak => "would-break",
            Class::NewlyAllowed => "newly-allowed",
            Class::ReasonChanged => "reason-changed",
            Class::Unchanged => "unchanged",
            Class::NewPath => "new-path",
            Class::GonePath => "gone-path",
        }
    }

    /// The class in words, as summaries print it (`would break`).
    #[must_use]
    pub fn words(self) -> &'static str {
        match self {
            Class::WouldBreak => "would break",
            Class::NewlyAllowed => "newly allowed",
            Class::ReasonChanged => "reason changed",
            Class::Unchanged => "unchanged",
            Class::NewPath => "new path",
            Class::GonePath => "gone path",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Class;

    #[test]
    fn only_new_and_gone_paths_are_flow_log_only_classes() {
        for (t, only) in [
            ("would-break", false),
            ("newly-allowed", false),
            ("reason-changed", false),
            ("new-path", true),
            ("gone-path", true),
        ] {
            let c = Class::parse(t).unwrap();
            assert_eq!(c.flow_logs_only(), only, "{t}");
            assert_eq!(c.name(), t);
            // As `--flows` writes the class.
            assert_eq!(serde_json::to_value(c).unwrap(), t);
        }
        assert!(!Class::Unchanged.flow_logs_only());
        assert_eq!(serde_json::to_value(Class::Unchanged).unwrap(), "unchanged");
        assert_eq!(Class::parse("unchanged"), None);
        assert_eq!(Class::parse(" new-path "), Some(Class::NewPath));
        assert_eq!(Class::parse("new_path"), None);
    }
}
