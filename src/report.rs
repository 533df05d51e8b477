//! Report pieces the `replay` and `tap` reports share.

use serde::Serialize;
use zprsim_control::compile::{Compiled, rule_text};
use zprsim_control::model::Scenario;
use zprsim_dataplane::drop_reason::DropReason;
use zprsim_dataplane::replay::Counters;

/// `dropped_by_stage` of the CLI contract.
#[derive(Debug, Serialize)]
pub struct StageCounts {
    route: u64,
    #[serde(rename = "egress-security")]
    egress_security: u64,
    #[serde(rename = "ingress-security")]
    ingress_security: u64,
    zpr: u64,
    malformed: u64,
}

impl StageCounts {
    /// From the counters' drops by stage.
    #[must_use]
    pub fn of(k: &Counters) -> Self {
        let d = |r: DropReason| k.dropped_by_stage[r.index()];
        StageCounts {
            route: d(DropReason::Route),
            egress_security: d(DropReason::EgressSecurity),
            ingress_security: d(DropReason::IngressSecurity),
            zpr: d(DropReason::Zpr),
            malformed: d(DropReason::Malformed),
        }
    }

    /// The human line: `route N, egress-security N, ...`.
    #[must_use]
    pub fn line(&self) -> String {
        let n = [
            self.route,
            self.egress_security,
            self.ingress_security,
            self.zpr,
            self.malformed,
        ];
        DropReason::STAGES
            .iter()
            .zip(n)
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One rule or statement with the packets it decided.
#[derive(Debug, Serialize)]
pub struct RuleHits {
    /// `route_table:NAME#i`, `nsg:NAME#i`, `security_list:NAME/DIR#i`, `zpr_policy:NAME#i`.
    pub rule: String,
    /// Packets it decided.
    pub hits: u64,
}

/// The rules that decided packets (most hits first, then by name) and the
/// names of those that decided none.
#[must_use]
pub fn rule_hits(s: &Scenario, c: &Compiled, k: &Counters) -> (Vec<RuleHits>, Vec<String>) {
    let mut hits = Vec::new();
    let mut unused = Vec::new();
    for (id, h) in k.rule_hits.iter().enumerate() {
        let Some(r) = u32::try_from(id).ok().and_then(|i| c.rule_ref(i)) else {
            continue;
        };
        if *h > 0 {
            hits.push(RuleHits {
                rule: rule_text(s, r),
                hits: *h,
            });
        } else {
            unused.push(rule_text(s, r));
        }
    }
    hits.sort_by(|x, y| y.hits.cmp(&x.hits).then_with(|| x.rule.cmp(&y.rule)));
    (hits, unused)
}

/// Packets per second over `seconds` (0 when no time passed).
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn rate(packets: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        packets as f64 / seconds
    } else {
        0.0
    }
}
