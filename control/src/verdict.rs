//! What a decision says: the verdict, the stage that decided it, what the
//! connection tracker must remember, and (for explanations) each layer's
//! outcome and the object behind it, the way Network Path Analyzer reports.

use serde::Serialize;

use crate::ids::{NsgId, RouteTableId, SecurityListId};
use crate::model::{Direction, StatementRef};

/// Allow or drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every applicable layer allowed.
    Allow,
    /// A layer denied (see the stage).
    Drop,
}

/// The layer that dropped a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Routing (including "neither side is a VNIC").
    Route,
    /// Security lists and NSGs at the source VNIC.
    EgressSecurity,
    /// Security lists and NSGs at the destination VNIC.
    IngressSecurity,
    /// Zero Trust Packet Routing.
    Zpr,
}

impl Stage {
    /// All stages in pipeline order.
    pub const ALL: [Stage; 4] = [
        Stage::Route,
        Stage::EgressSecurity,
        Stage::IngressSecurity,
        Stage::Zpr,
    ];

    /// The name used in reports and the CLI contract.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Route => "route",
            Stage::EgressSecurity => "egress-security",
            Stage::IngressSecurity => "ingress-security",
            Stage::Zpr => "zpr",
        }
    }
}

/// What connection tracking remembers about a connection, decided by the
/// packet that opened it (semantics §2b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Tracking {
    /// Tracked at the initiator's VNIC (stateful egress match, no stateless one):
    /// replies pass its ingress check.
    pub at_src: bool,
    /// Tracked at the responder's VNIC (stateful ingress match, no stateless one):
    /// replies pass its egress check.
    pub at_dst: bool,
    /// Every enforced ZPR check that ran was satisfied by a stateful statement:
    /// replies pass enforced ZPR checks.
    pub zpr: bool,
    /// The same for audit-only checks: replies pass them without a would-deny.
    pub zpr_audit: bool,
}

/// Whether a packet opens (or continues forward) a flow, or replies to a
/// tracked connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// A first packet, or a later packet in the forward direction: judged by
    /// the rules.
    First,
    /// A packet in the reverse direction of a tracked connection, with what
    /// the connection's first packet left behind.
    Reply(Tracking),
}

/// The comparable core of a decision: what the compiled table and the
/// reference evaluator must agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Judgement {
    /// Allow or drop.
    pub verdict: Verdict,
    /// The deciding stage; `None` when allowed.
    pub stage: Option<Stage>,
    /// An audit-mode attribute would have denied.
    pub zpr_audit: bool,
    /// What to track when the packet opens a connection (meaningful only
    /// when allowed in [`Context::First`]).
    pub tracking: Tracking,
}

/// A rule or statement that decided a layer: the key for hit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleRef {
    /// A static route rule (index into the table's rules).
    Route {
        /// The table.
        table: RouteTableId,
        /// Rule index.
        index: u32,
    },
    /// A rule of a security list.
    SecurityList {
        /// The list.
        list: SecurityListId,
        /// Ingress or egress rules.
        direction: DirectionKey,
        /// Index within that direction's rules.
        index: u32,
    },
    /// A rule of an NSG.
    Nsg {
        /// The NSG.
        nsg: NsgId,
        /// Index within the NSG's rules.
        index: u32,
    },
    /// A ZPR statement.
    Statement(StatementRef),
}

/// [`Direction`] as an orderable key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirectionKey {
    /// Ingress.
    Ingress,
    /// Egress.
    Egress,
}

impl From<Direction> for DirectionKey {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Ingress => DirectionKey::Ingress,
            Direction::Egress => DirectionKey::Egress,
        }
    }
}

/// The outcome of one layer (or one ZPR check), as Network Path Analyzer names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Route: a rule (or the implicit local route) forwards it.
    Forwarded,
    /// Route: nothing forwards it.
    NoRoute,
    /// Route: same subnet, delivered without a lookup.
    Direct,
    /// Security or ZPR: a rule or statement allows it.
    Allowed,
    /// Security or ZPR: reply of a tracked connection.
    AllowedTracked,
    /// Security or ZPR: nothing allows it.
    Denied,
    /// Security: that side is not a VNIC.
    Skipped,
    /// ZPR: no statement names any attribute the checked endpoint carries.
    MissingPolicy,
    /// ZPR: no endpoint carries an enforced attribute; or a layer exempted
    /// (169.254.0.0/16).
    NotApplicable,
    /// An earlier layer denied.
    NotEvaluated,
    /// ZPR: an audit-mode check fails; the packet is not dropped for it.
    AuditWouldDeny,
}

/// The rule that allowed a security layer, for explanations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityRuleDetail {
    /// `nsg` or `security_list`.
    pub kind: &'static str,
    /// The NSG's or list's name.
    pub name: String,
    /// Index of the rule within the NSG, or within the list's rules of that
    /// direction (0-based).
    pub index: u32,
    /// The rule in a short readable form.
    pub rule: String,
    /// Whether the rule is stateless.
    pub stateless: bool,
}

/// One ZPR check (egress or ingress) of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZprCheck {
    /// `egress` (the source's check) or `ingress` (the destination's).
    pub check: &'static str,
    /// The checked endpoint (VNIC name).
    pub endpoint: String,
    /// `enforce` or `audit`.
    pub mode: &'static str,
    /// The check's outcome.
    pub outcome: Outcome,
    /// The policy of the statement that allowed it.
    pub policy: Option<String>,
    /// Index of that statement in its policy.
    pub statement_index: Option<u32>,
    /// The statement's text.
    pub statement: Option<String>,
    /// Why it failed, in words.
    pub reason: Option<String>,
}

/// One layer of a decision with the object that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerReport {
    /// `route`, `egress-security`, `ingress-security` or `zpr`.
    pub layer: Stage,
    /// The layer's outcome.
    pub outcome: Outcome,
    /// Route: the route table evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_table: Option<String>,
    /// Route: the deciding rule's index, its destination and target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_rule: Option<u32>,
    /// Route: destination of the deciding rule (`local` for the implicit route).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Route: where the deciding rule sends the packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Security: the rule that allowed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<SecurityRuleDetail>,
    /// Security: the VNIC whose rules were evaluated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vnic: Option<String>,
    /// Security: the NSGs evaluated.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nsgs_evaluated: Vec<String>,
    /// Security: the security lists evaluated.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_lists_evaluated: Vec<String>,
    /// Security: whether the connection is tracked at this VNIC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracked: Option<bool>,
    /// ZPR: the egress and ingress checks that ran.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<ZprCheck>,
    /// ZPR: the policies evaluated (when a check failed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies_evaluated: Vec<String>,
    /// Why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Outcome {
    /// The outcome's name as reports write it (the same text serde writes).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Forwarded => "FORWARDED",
            Outcome::NoRoute => "NO_ROUTE",
            Outcome::Direct => "DIRECT",
            Outcome::Allowed => "ALLOWED",
            Outcome::AllowedTracked => "ALLOWED_TRACKED",
            Outcome::Denied => "DENIED",
            Outcome::Skipped => "SKIPPED",
            Outcome::MissingPolicy => "MISSING_POLICY",
            Outcome::NotApplicable => "NOT_APPLICABLE",
            Outcome::NotEvaluated => "NOT_EVALUATED",
            Outcome::AuditWouldDeny => "AUDIT_WOULD_DENY",
        }
    }
}

impl LayerReport {
    /// A report with only the layer and outcome set.
    #[must_use]
    pub fn new(layer: Stage, outcome: Outcome) -> Self {
        LayerReport {
            layer,
            outcome,
            route_table: None,
            route_rule: None,
            destination: None,
            target: None,
            rule: None,
            vnic: None,
            nsgs_evaluated: Vec::new(),
            security_lists_evaluated: Vec::new(),
            tracked: None,
            checks: Vec::new(),
            policies_evaluated: Vec::new(),
            reason: None,
        }
    }

    /// The rule containers this security layer evaluated, as messages
    /// name them: "NSG `a`", then "security list `b`".
    #[must_use]
    pub fn containers_evaluated(&self) -> Vec<String> {
        let nsgs = self.nsgs_evaluated.iter().map(|n| format!("NSG `{n}`"));
        let lists = self
            .security_lists_evaluated
            .iter()
            .map(|n| format!("security list `{n}`"));
        nsgs.chain(lists).collect()
    }

    /// Sets the reason.
    #[must_use]
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// The deciding rules and statements of a decision, for hit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Deciders {
    /// Route rule (None: direct, local route, or no route).
    pub route: Option<RuleRef>,
    /// Egress security rule that allowed it.
    pub egress: Option<RuleRef>,
    /// Ingress security rule that allowed it.
    pub ingress: Option<RuleRef>,
    /// ZPR statement that satisfied the egress check.
    pub zpr_egress: Option<RuleRef>,
    /// ZPR statement that satisfied the ingress check.
    pub zpr_ingress: Option<RuleRef>,
}

/// A full decision: judgement, deciders and per-layer report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The comparable core.
    pub judgement: Judgement,
    /// Deciding rules and statements.
    pub deciders: Deciders,
    /// One report per layer, in pipeline order.
    pub layers: Vec<LayerReport>,
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn outcome_names_are_what_serde_writes() {
        for o in [
            Outcome::Forwarded,
            Outcome::NoRoute,
            Outcome::Direct,
            Outcome::Allowed,
            Outcome::AllowedTracked,
            Outcome::Denied,
            Outcome::Skipped,
            Outcome::MissingPolicy,
            Outcome::NotApplicable,
            Outcome::NotEvaluated,
            Outcome::AuditWouldDeny,
        ] {
            let serde = serde_json::to_value(o).unwrap_or_default();
            assert_eq!(serde.as_str(), Some(o.as_str()), "{o:?}");
        }
    }
}
