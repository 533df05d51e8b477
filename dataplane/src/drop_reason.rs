//! Why a packet was dropped: the one type every count, report line and
//! output of a drop uses.

use serde::Serialize;
use zprsim_control::verdict::Stage;

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// No route, or a route that does not admit the packet.
    Route,
    /// The source VNIC's security rules (egress).
    EgressSecurity,
    /// The destination VNIC's security rules (ingress).
    IngressSecurity,
    /// Zero Trust Packet Routing.
    Zpr,
    /// The frame could not be parsed as IP.
    Malformed,
    /// The live router had no room for it (tap only).
    Overload,
}

impl DropReason {
    /// Every reason, in report order; `index()` is the position here.
    pub const ALL: [DropReason; 6] = [
        DropReason::Route,
        DropReason::EgressSecurity,
        DropReason::IngressSecurity,
        DropReason::Zpr,
        DropReason::Malformed,
        DropReason::Overload,
    ];

    /// Number of reasons.
    pub const COUNT: usize = 6;

    /// The reasons `dropped_by_stage` reports (the CLI contract's keys);
    /// overload has a field of its own in the tap report.
    pub const STAGES: [DropReason; 5] = [
        DropReason::Route,
        DropReason::EgressSecurity,
        DropReason::IngressSecurity,
        DropReason::Zpr,
        DropReason::Malformed,
    ];

    /// The reason for a drop at a judging stage.
    #[must_use]
    pub fn of_stage(s: Stage) -> DropReason {
        match s {
            Stage::Route => DropReason::Route,
            Stage::EgressSecurity => DropReason::EgressSecurity,
            Stage::IngressSecurity => DropReason::IngressSecurity,
            Stage::Zpr => DropReason::Zpr,
        }
    }

    /// The judging stage, for the reasons that are one.
    #[must_use]
    pub fn stage(self) -> Option<Stage> {
        match self {
            DropReason::Route => Some(Stage::Route),
            DropReason::EgressSecurity => Some(Stage::EgressSecurity),
            DropReason::IngressSecurity => Some(Stage::IngressSecurity),
            DropReason::Zpr => Some(Stage::Zpr),
            DropReason::Malformed | DropReason::Overload => None,
        }
    }

    /// Position in [`DropReason::ALL`] (and in counter arrays).
    #[must_use]
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name reports print.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Route => "route",
            DropReason::EgressSecurity => "egress-security",
            DropReason::IngressSecurity => "ingress-security",
            DropReason::Zpr => "zpr",
            DropReason::Malformed => "malformed",
            DropReason::Overload => "overload",
        }
    }

    /// A one-byte verdict code: 0 allowed, else the reason's index + 1
    /// (the code workers hand the writer).
    #[must_use]
    pub fn code(reason: Option<DropReason>) -> u8 {
        match reason {
            None => 0,
            // index() < 6, so this fits.
            Some(r) => u8::try_from(r.index() + 1).unwrap_or(u8::MAX),
        }
    }

    /// The reason of a verdict code (`None`: allowed or not a code).
    #[must_use]
    pub fn of_code(code: u8) -> Option<DropReason> {
        code.checked_sub(1)
            .and_then(|i| DropReason::ALL.get(usize::from(i)).copied())
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::DropReason;

    #[test]
    fn codes_and_indices_round_trip() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            assert_eq!(DropReason::of_code(DropReason::code(Some(*r))), Some(*r));
            if let Some(s) = r.stage() {
                assert_eq!(DropReason::of_stage(s), *r);
            }
        }
        assert_eq!(DropReason::code(None), 0);
        assert_eq!(DropReason::of_code(0), None);
        assert_eq!(DropReason::of_code(7), None);
        assert_eq!(
            serde_json::to_string(&DropReason::EgressSecurity)
                .ok()
                .as_deref(),
            Some("\"egress-security\"")
        );
    }
}

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
    pub fn of(k: &crate::judge::Counters) -> Self {
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
