//! The reports of `replay`, `tap` and `bench` built from what the engine
//! counted: pure data and text, written by the binary. [`rules`]: rule
//! and statement use; [`audit`]: the flows ZPR audit would have denied and
//! the statements that keep them open; [`flow_line`]: a line of
//! `--flows`; [`replay`]: the report and summary of `replay` on captures;
//! [`flow_log`]: on flow logs.

pub mod audit;
pub mod flow_line;
pub mod flow_log;
pub mod nothing_judged;
pub mod replay;
pub mod rules;

#[cfg(test)]
mod tests;

pub use crate::drop_reason::StageCounts;
pub use audit::{AuditFlows, audit_flows, audit_section};
pub use flow_line::{FlowLine, flow_line};
pub use rules::{RuleHits, RuleUse, Unused, rule_hits, rule_use, unused_section};

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

/// Nanoseconds to seconds since the epoch (as the flow log's `first_ts`).
#[allow(clippy::cast_precision_loss)]
fn secs(ns: Option<u64>) -> Option<f64> {
    ns.map(|n| n as f64 / 1e9)
}

/// A protocol as summaries name it (`tcp`, `proto 47`).
#[must_use]
pub fn proto_name(p: u8) -> String {
    use zprsim_control::model::proto;
    match p {
        proto::TCP => "tcp".into(),
        proto::UDP => "udp".into(),
        proto::ICMP => "icmp".into(),
        proto::ICMPV6 => "icmpv6".into(),
        n => format!("proto {n}"),
    }
}
