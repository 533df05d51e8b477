//! One packet judged by both engines, the compiled table and the reference
//! evaluator, with the deciding rule of every layer compared: what
//! `explain` and `verify` answer from, and fail loudly on when they differ.

use crate::compile::Compiled;
use crate::eval;
use crate::model::Scenario;
use crate::packet::Packet;
use crate::verdict::{Context, Decision};

/// Judges `p` in `ctx` with the compiled table and the reference evaluator.
///
/// # Errors
/// When their judgements or deciding rules differ: the message names the
/// packet and both answers.
pub fn judge_both(
    s: &Scenario,
    c: &Compiled,
    p: &Packet,
    ctx: Context,
) -> Result<Decision, String> {
    let fast = c.judge(p, ctx);
    let d = eval::evaluate(s, p, ctx);
    let fast_rules: Vec<_> = fast
        .rules
        .iter()
        .map(|r| r.and_then(|id| c.rule_ref(id)))
        .collect();
    let dd = &d.deciders;
    let ref_rules = [
        dd.route,
        dd.egress,
        dd.ingress,
        dd.zpr_egress,
        dd.zpr_ingress,
    ];
    if fast.judgement != d.judgement || fast_rules != ref_rules {
        return Err(format!(
            "the compiled table and the reference evaluator disagree on {p}: table {:?} {fast_rules:?}, reference {:?} {ref_rules:?}",
            fast.judgement, d.judgement
        ));
    }
    Ok(d)
}
