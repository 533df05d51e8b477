//! One packet judged by both engines, the compiled table and the reference
//! evaluator, with the deciding rule of every layer compared: what
//! `explain` and `verify` answer from, and fail loudly on when they differ.

use crate::compile::Compiled;
use crate::eval;
use crate::model::{AddressIndex, Scenario};
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
    agree(c, p, ctx, eval::evaluate(s, p, ctx))
}

/// [`judge_both`] with the reference evaluator finding endpoints through
/// `index`, built from `s` (the model's index: the compiled table plays
/// no part in it).
///
/// # Errors
/// As [`judge_both`].
pub fn judge_both_with(
    s: &Scenario,
    index: &AddressIndex,
    c: &Compiled,
    p: &Packet,
    ctx: Context,
) -> Result<Decision, String> {
    agree(c, p, ctx, eval::evaluate_with(s, index, p, ctx))
}

/// The reference's decision `d`, when the compiled table agrees with it.
fn agree(c: &Compiled, p: &Packet, ctx: Context, d: Decision) -> Result<Decision, String> {
    let fast = c.judge(p, ctx);
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
