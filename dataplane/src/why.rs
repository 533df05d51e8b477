//! Why a flow was dropped, in words: the first packet of a flow record
//! judged again by the reference evaluator, whose layer report names the
//! deciding layer, its outcome and its reason. (Pure: no I/O; the summary
//! and the report call it for the few top dropped flows.)

use zprsim_control::eval;
use zprsim_control::model::{Scenario, proto};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Outcome};

use crate::engine::FlowRecord;

/// Why the first packet of a flow was dropped, from the reference
/// evaluator's layer report: the deciding layer, its outcome and reason.
#[must_use]
pub fn why(s: &Scenario, f: &FlowRecord) -> String {
    let l4 = match (f.sport, f.dport, f.icmp_type, f.icmp_code) {
        (Some(sport), Some(dport), _, _) => L4::Ports { sport, dport },
        (_, _, Some(icmp_type), Some(code)) => L4::Icmp { icmp_type, code },
        _ if proto::has_ports(f.proto) || proto::is_icmp(f.proto) => L4::Fragment,
        _ => L4::Opaque,
    };
    let p = Packet {
        src: f.src,
        dst: f.dst,
        proto: f.proto,
        l4,
    };
    let d = eval::evaluate(s, &p, Context::First);
    let Some(stage) = d.judgement.stage else {
        return "first packet allowed; later packets dropped".into();
    };
    let Some(layer) = d.layers.iter().find(|l| l.layer == stage) else {
        return stage.as_str().into();
    };
    let outcome = serde_json::to_value(layer.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let detail = layer
        .checks
        .iter()
        .find(|c| !matches!(c.outcome, Outcome::Allowed | Outcome::AllowedTracked))
        .and_then(|c| {
            c.reason
                .clone()
                .map(|r| format!("{} check at `{}`: {r}", c.check, c.endpoint))
        })
        .or_else(|| layer.reason.clone())
        .or_else(|| {
            layer
                .vnic
                .as_ref()
                .map(|v| format!("no rule of `{v}` matches"))
        })
        .unwrap_or_default();
    let evaluated = layer.containers_evaluated();
    if layer.checks.is_empty() && !evaluated.is_empty() {
        let vnic = layer.vnic.as_deref().unwrap_or_default();
        return format!(
            "{} {outcome}: {detail} at `{vnic}` (evaluated {})",
            stage.as_str(),
            evaluated.join(", ")
        );
    }
    format!("{} {outcome}: {detail}", stage.as_str())
}
