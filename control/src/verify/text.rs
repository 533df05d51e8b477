//! What `verify` says of a failing pair: the deciding layer and rule in
//! words, every layer that blocks it, what let a closed path's packet
//! through, and the failing port runs. Each text names the pair's own
//! VNICs, NSGs and ZPR endpoints, so it is made per pair, never shared by
//! the pairs of one address class.

use crate::compile::rule_text;
use crate::eval;
use crate::model::{AddressIndex, Scenario};
use crate::packet::Packet;
use crate::verdict::{Decision, LayerReport, Outcome, RuleRef, Stage};

use super::fix::Scratch;
use super::{AuditWitness, Expect, PairFailure, PathSpec, Scope};

/// The deciding layer of a drop in words: the layer, the object evaluated
/// and why.
#[must_use]
pub fn layer_text(l: &LayerReport) -> String {
    let mut t = format!("{} {}", l.layer.as_str(), l.outcome.as_str());
    let mut parts: Vec<String> = Vec::new();
    if let Some(table) = &l.route_table {
        let mut p = format!("route table `{table}`");
        if let Some(i) = l.route_rule {
            p.push_str(&format!(" rule #{i}"));
        }
        if let (Some(d), Some(tg)) = (&l.destination, &l.target) {
            p.push_str(&format!(" ({d} -> {tg})"));
        }
        parts.push(p);
    }
    if let Some(v) = &l.vnic {
        let evaluated = l.containers_evaluated();
        let mut p = format!("at VNIC `{v}`");
        if let Some(r) = &l.rule {
            let kind = if r.kind == "nsg" {
                "NSG"
            } else {
                "security list"
            };
            p.push_str(&format!(
                ": {kind} `{}` rule #{}: {}",
                r.name, r.index, r.rule
            ));
        } else if !evaluated.is_empty() {
            p.push_str(&format!(" (evaluated {})", evaluated.join(", ")));
        }
        parts.push(p);
    }
    for c in &l.checks {
        if matches!(
            c.outcome,
            Outcome::Denied | Outcome::MissingPolicy | Outcome::AuditWouldDeny
        ) {
            let mut p = format!(
                "{} check at `{}` ({}): {}",
                c.check,
                c.endpoint,
                c.mode,
                c.outcome.as_str()
            );
            if let Some(r) = &c.reason {
                p.push_str(&format!(" ({r})"));
            }
            parts.push(p);
        }
    }
    if let Some(r) = &l.reason {
        parts.push(r.clone());
    }
    if !parts.is_empty() {
        t.push_str(": ");
        t.push_str(&parts.join("; "));
    }
    t
}

fn blocks(l: &LayerReport) -> bool {
    matches!(
        l.outcome,
        Outcome::NoRoute | Outcome::Denied | Outcome::MissingPolicy
    )
}

/// The layers of `reports` that block the packet on their own.
pub(super) fn blocking(mut reports: Vec<LayerReport>) -> Vec<LayerReport> {
    reports.retain(blocks);
    reports
}

fn rule_name(s: &Scenario, r: RuleRef) -> String {
    match r {
        RuleRef::Statement(st) => format!("{}: {}", rule_text(s, r), s.statement(st).text),
        other => rule_text(s, other),
    }
}

/// What `verify` says of one failing pair: `p` is its witness probe and
/// `d` its decision (by the reference evaluator, [`crate::agree`]); the
/// packet, the deciding rule text and, for a path that should be open,
/// every layer that blocks it and the rules that would open its security
/// layers (`fix.rs`). `failing_ports` is left empty.
#[must_use]
pub fn pair_failure(s: &Scenario, path: &PathSpec, p: &Packet, d: &Decision) -> PairFailure {
    failure(
        s,
        path,
        p,
        d,
        || eval::every_layer(s, p),
        Some((&mut Scratch::new(), None)),
    )
}

/// [`pair_failure`] with the endpoints found through `ix`, the address
/// index of `s`; with the rules that would open it only when `hint` is
/// given, the run's copy of the scenario they are checked on (a path
/// gives them for its first failing pair).
#[must_use]
pub fn pair_failure_with(
    s: &Scenario,
    ix: &AddressIndex,
    path: &PathSpec,
    p: &Packet,
    d: &Decision,
    hint: Option<&mut Scratch>,
) -> PairFailure {
    failure(
        s,
        path,
        p,
        d,
        || eval::every_layer_with(s, ix, p),
        hint.map(|h| (h, Some(ix))),
    )
}

/// [`pair_failure`], with `every_layer` giving [`eval::every_layer`]'s
/// reports of `p`.
fn failure(
    s: &Scenario,
    path: &PathSpec,
    p: &Packet,
    d: &Decision,
    every_layer: impl FnOnce() -> Vec<LayerReport>,
    hint: Option<(&mut Scratch, Option<&AddressIndex>)>,
) -> PairFailure {
    let j = d.judgement;
    let (rule, blocked_by, to_open) = match j.stage {
        Some(stage) if path.expect == Expect::Allow => {
            let decided = d
                .layers
                .iter()
                .find(|l| l.layer == stage)
                .map(layer_text)
                .unwrap_or_default();
            let mut reports = blocking(every_layer());
            reports.retain(|l| !(path.scope == Scope::Network && l.layer == Stage::Zpr));
            let blocked = reports.iter().map(layer_text).collect();
            // What opens it, its reply too when that then drops (since
            // the twenty-second session): the whole path's hints of this
            // one probe, as `verify` gives its first failing pair.
            let to_open = match hint {
                Some((scratch, ix)) => {
                    let built;
                    let ix = match ix {
                        Some(ix) => ix,
                        None => {
                            built = AddressIndex::new(s);
                            &built
                        }
                    };
                    super::whole::hints(scratch, s, ix, Some(path), [vec![*p]]).first
                }
                None => Vec::new(),
            };
            (decided, blocked, to_open)
        }
        _ => {
            // Open while it should be closed (or dropped only by ZPR in the
            // network scope): what let it through.
            let dd = &d.deciders;
            let mut by: Vec<String> = [
                dd.route,
                dd.egress,
                dd.ingress,
                dd.zpr_egress,
                dd.zpr_ingress,
            ]
            .into_iter()
            .flatten()
            .map(|r| rule_name(s, r))
            .collect();
            by.dedup();
            // Allowed before any layer (169.254.0.0/16, DHCP with the
            // subnet's virtual router): every layer says why.
            let before_layers = d
                .layers
                .iter()
                .all(|l| l.outcome == crate::verdict::Outcome::NotApplicable);
            let mut text = if let Some(why) = d
                .layers
                .first()
                .and_then(|l| l.reason.as_deref())
                .filter(|_| before_layers && by.is_empty())
            {
                format!("allowed before any layer: {why}")
            } else if by.is_empty() {
                "allowed by the implicit local route; no security rule or ZPR statement applies"
                    .to_owned()
            } else {
                format!("allowed by {}", by.join(", "))
            };
            if let Some(zpr) = d
                .layers
                .iter()
                .find(|l| l.layer == Stage::Zpr && j.stage == Some(Stage::Zpr))
            {
                text = format!(
                    "route, security lists and NSGs allow it; {}",
                    layer_text(zpr)
                );
            }
            (text, Vec::new(), Vec::new())
        }
    };
    PairFailure {
        src: p.src,
        dst: p.dst,
        packet: p.to_string(),
        failing_ports: Vec::new(),
        failing_runs: Vec::new(),
        verdict: j.verdict,
        stage: j.stage,
        rule,
        blocked_by,
        to_open,
        reply: false,
    }
}

/// The failure of a pair whose first packet `first` passes and whose
/// reply `reply` (judged `d` in the context the first packet left) drops
/// (since the twentieth session). The witness is the reply; its hints are
/// the whole path's (`whole.rs`: the rule back, the route back, the
/// stateful statement; `zprsim explain --reply` explains it). `rule` says
/// it as `explain` does ([`reply_drop_rule`]).
#[must_use]
pub fn reply_failure(first: &Packet, reply: &Packet, d: &Decision) -> PairFailure {
    let j = d.judgement;
    let decided = d
        .layers
        .iter()
        .find(|l| Some(l.layer) == j.stage)
        .map(layer_text)
        .unwrap_or_default();
    PairFailure {
        src: first.src,
        dst: first.dst,
        packet: format!("{reply} (the reply of {first}, which passes)"),
        failing_ports: Vec::new(),
        failing_runs: Vec::new(),
        verdict: j.verdict,
        stage: j.stage,
        rule: reply_drop_rule(first, &decided),
        blocked_by: vec![format!("reply: {decided}")],
        to_open: Vec::new(),
        reply: true,
    }
}

/// The `rule` of a pair whose first packet `first` passes and whose reply
/// drops, `decided` the reply's layer as [`layer_text`] writes it: a TCP
/// reply drops and the connection cannot complete; a UDP reply or an echo
/// reply "would drop", as `explain` says it (the flow is a request and
/// its response, and the request itself passes). Before the twenty-eighth
/// session every protocol's said the connection cannot complete.
#[must_use]
pub fn reply_drop_rule(first: &Packet, decided: &str) -> String {
    match first.proto {
        crate::model::proto::TCP => {
            format!("the reply drops: {decided}: the connection cannot complete")
        }
        crate::model::proto::UDP => {
            format!("the reply would drop: {decided}: the request passes but gets no response")
        }
        _ => format!(
            "the echo reply would drop: {decided}: the echo request passes but gets no echo reply"
        ),
    }
}

/// What `verify` and `explain` say of pairs that the hints, all added,
/// leave closed ([`super::whole::WholePath::left`]): `n` of a path's
/// pairs, or `None` for the one packet `explain` judges. Since the
/// nineteenth session a route hint may create a gateway or a route table
/// (`route_fix.rs`), so the words name them too: none of them opens it.
#[must_use]
pub fn stay_closed(n: Option<u64>) -> String {
    const NOTHING: &str = "no rule, statement, gateway or route table opens";
    match n {
        None => format!("stays closed: {NOTHING} it"),
        Some(1) => format!("1 stays closed: {NOTHING} it"),
        Some(n) => format!("{n} stay closed: {NOTHING} them"),
    }
}

/// What `verify` says of the `left` pairs of a path its hints leave
/// closed, `replies` of them because their reply still drops
/// ([`super::PathResult::to_open_left_replies`]): [`stay_closed`] for the
/// others; a reply's hints are the rule back of a stateless rule
/// (`reply_fix.rs`, since the twenty-first session), the route back and
/// the stateful ZPR statement (`route_fix.rs`, `zpr_fix.rs`, since the
/// twenty-second), and it is said so (before the twenty-second session:
/// "a reply gets no hint but a stateless rule's rule back").
#[must_use]
pub fn stay_closed_of(left: u64, replies: u64) -> String {
    const REPLY: &str = "no rule back, route back or stateful statement opens";
    let replies = replies.min(left);
    let others = left - replies;
    match (others, replies) {
        (_, 0) => stay_closed(Some(left)),
        (0, 1) => format!(
            "1 stays closed: its reply still drops, and {REPLY} it (`zprsim explain --reply` it)"
        ),
        (0, n) => format!(
            "{n} stay closed: their replies still drop, and {REPLY} them (`zprsim explain --reply` them)"
        ),
        (k, n) => format!(
            "{left} stay closed: no rule, statement, gateway or route table opens {k} of them; the replies of {n} still drop, and {REPLY} them (`zprsim explain --reply` them)"
        ),
    }
}

/// Adjacent runs joined, written `lo-hi` (or `p` for one port).
pub(super) fn merged_runs(runs: &[(u16, u16)]) -> Vec<String> {
    let mut merged: Vec<(u16, u16)> = Vec::new();
    for &(lo, hi) in runs {
        match merged.last_mut() {
            Some(last) if u32::from(last.1) + 1 == u32::from(lo) => last.1 = hi,
            _ => merged.push((lo, hi)),
        }
    }
    merged
        .into_iter()
        .map(|(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect()
}

/// The failing runs of a pair, each `((lo, hi), stage, reply)` (the
/// layer its probe dropped at, and whether that was its reply), adjacent
/// runs of one stage and reply flag joined (since the twenty-second
/// session; the late review's L2: a pair failing on some ports at the
/// first packet and on others only at the reply printed one stage for
/// all of them).
#[must_use]
pub fn failing_runs(runs: &[((u16, u16), Option<Stage>, bool)]) -> Vec<super::FailingRun> {
    let mut merged: Vec<((u16, u16), Option<Stage>, bool)> = Vec::new();
    for &((lo, hi), stage, reply) in runs {
        match merged.last_mut() {
            Some(last)
                if u32::from(last.0.1) + 1 == u32::from(lo)
                    && last.1 == stage
                    && last.2 == reply =>
            {
                last.0.1 = hi;
            }
            _ => merged.push(((lo, hi), stage, reply)),
        }
    }
    merged
        .into_iter()
        .map(|((lo, hi), stage, reply)| super::FailingRun {
            ports: merged_runs(&[(lo, hi)]).concat(),
            stage,
            reply,
        })
        .collect()
}

/// What `verify` says of the first pair of a path that is allowed today but
/// that ZPR would deny once `audit` attributes are enforced: the witness
/// `p`, its ZPR layer's report (from `d`, the reference evaluator's
/// decision) and the statement that would keep it open, found and checked
/// (`zpr_fix.rs`) in a copy of the scenario with every attribute enforced;
/// none for a path judged on the network layers only (ZPR is not its
/// concern, as for its failures).
#[must_use]
pub fn audit_witness(s: &Scenario, path: &PathSpec, p: &Packet, d: &Decision) -> AuditWitness {
    let mut w = audit_witness_bare(p, d);
    if path.scope == Scope::All {
        w.to_open
            .extend(super::keep_open(&mut super::enforced(s), Some(path), p));
    }
    w
}

/// [`audit_witness`] without the statement that keeps it open: a run
/// takes that from the whole path's (`whole.rs`, the first pair's
/// `first`), the same proof made once.
pub(super) fn audit_witness_bare(p: &Packet, d: &Decision) -> AuditWitness {
    let rule = d
        .layers
        .iter()
        .find(|l| l.layer == Stage::Zpr)
        .map(layer_text)
        .unwrap_or_default();
    AuditWitness {
        src: p.src,
        dst: p.dst,
        packet: p.to_string(),
        rule,
        to_open: Vec::new(),
    }
}
