//! What opens the reply of a first packet that ZPR lets through and
//! tracks nothing of (since the twenty-second session; exact since the
//! twenty-sixth). A ZPR check tracks the connection when a stateful
//! statement is among those that allow it (semantics.md section 6.1,
//! decision 23: stateful wins); when an enforced check is allowed by
//! `connection-state='stateless'` statements only, nothing is tracked and
//! the reply is judged as a first packet in its direction, where it drops.
//!
//! Two hints, as `verify --zpr-replies` says:
//! - `stateful` (the default): remove `connection-state='stateless'` from
//!   the statement that allowed the check (the first that allows it, the
//!   one `explain` names; one statement for every such check when one
//!   allows them all). The connection state takes no part in matching, so
//!   the statement allows exactly the first packets it allowed before,
//!   and now tracks them: their replies pass. (Until the twenty-sixth
//!   session the hint was a new stateful statement built from the
//!   witness's attributes, which could allow endpoints and ports the
//!   stateless statement never did: the review's M1.)
//! - `stateless`: a stateless statement for the reply's direction, written
//!   and placed as a first packet's ([`zpr_fix::written_for`]), to every
//!   port the initiator may send from (its ephemeral ports): for users who
//!   keep their statements stateless.
//!
//! Each is proved on the run's copy ([`Scratch`]) with both packets judged
//! by the reference evaluator (the first packet passes, and its reply, in
//! the context the first packet leaves, no longer drops at ZPR). None when
//! an end carries the stand-in attribute (`zprsim import`: its attributes
//! are unknown, the drop is owed to them, and the stand-in note says what
//! to export), nor into a stand-in policy.

use super::fix::{Kept, Scratch};
use super::zpr_fix::{self, Proof, Wanted};
use super::{Probe, Seek};
use crate::model::{AddressIndex, PolicyStatement, PortRange, Scenario, StatementRef};
use crate::packet::{L4, Packet};
use crate::verdict::{Outcome, Stage, Verdict, ZprCheck};
use crate::zpl::ast::{Condition, ConnectionState, Statement};
use crate::zpl::parse_statement;

/// How `verify` opens a reply that drops at ZPR (`--zpr-replies`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ZprReplies {
    /// Make the stateless statement that allowed the first packet stateful.
    #[default]
    Stateful,
    /// Add a stateless statement for the reply's direction.
    Stateless,
}

/// The first port of the ephemeral range a stateless reply statement
/// allows (IANA's dynamic ports start at 49152, Linux's at 32768, some
/// systems' at 1024: the range covers them all).
const EPHEMERAL_FIRST: u16 = 1024;

/// Whether the reply of `p` drops at ZPR on `s` (judged in the context
/// `p` leaves); `None` when `p` itself does not pass.
pub(super) fn reply_zpr_drops(s: &Scenario, ix: Option<&AddressIndex>, p: &Packet) -> Option<bool> {
    let r = super::first_and_reply(s, ix, p)?.1.judgement;
    Some(r.verdict == Verdict::Drop && r.stage == Some(Stage::Zpr))
}

/// The hints that open the reply of `p` (a first packet of `at`'s path, or the
/// packet alone, that passes on the copy) at ZPR, as `scratch` says
/// ([`Scratch::zpr_replies`]); empty when the reply does not drop at ZPR,
/// an end's attributes are unknown, or nothing opens it. Kept on the copy
/// when hints are ([`Scratch::keep`]).
pub(super) fn reply_to_open(scratch: &mut Scratch, at: Seek<'_>, p: &Packet) -> Vec<String> {
    let Seek { s, ix, .. } = at;
    let copy = scratch.of(s);
    if reply_zpr_drops(copy, Some(ix), p) != Some(true) {
        return Vec::new();
    }
    let unknown = [p.src, p.dst].into_iter().any(|ip| {
        ix.vnic_of(ip)
            .is_some_and(|v| super::stand_in::attributes_unknown(copy, v.index()))
    });
    if unknown {
        return Vec::new();
    }
    match scratch.zpr_replies() {
        ZprReplies::Stateful => made_stateful(scratch, s, ix, p),
        ZprReplies::Stateless => stateless_back(scratch, at, p),
    }
}

/// An enforced check of the first packet that tracks nothing, with the
/// statements that allow it (all stateless), in policy order.
struct Untracked {
    check: ZprCheck,
    by: Vec<StatementRef>,
}

/// `--zpr-replies stateful`: the statements whose
/// `connection-state='stateless'` to remove, one hint each.
fn made_stateful(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: &AddressIndex,
    p: &Packet,
) -> Vec<String> {
    let copy = scratch.of(s);
    let layers = super::layers_of(copy, Some(ix), p);
    let Some(zpr) = layers.into_iter().find(|l| l.layer == Stage::Zpr) else {
        return Vec::new();
    };
    let (src, dst) = (
        super::endpoint_at(copy, Some(ix), p.src),
        super::endpoint_at(copy, Some(ix), p.dst),
    );
    let mut untracked: Vec<Untracked> = Vec::new();
    let mut tracked: Vec<ZprCheck> = Vec::new();
    for c in zpr.checks {
        if c.mode != "enforce" || c.outcome != Outcome::Allowed {
            continue;
        }
        let by = crate::eval::zpr_check_statements(copy, c.check == "egress", src, dst, p);
        if by.iter().any(|&(_, stateful)| stateful) {
            tracked.push(c);
        } else {
            untracked.push(Untracked {
                check: c,
                by: by.into_iter().map(|(r, _)| r).collect(),
            });
        }
    }
    // One statement for every untracked check when one allows them all
    // (within one VCN, one form-A statement allows both), else the first
    // of each.
    let chosen: Vec<StatementRef> = match untracked.first().and_then(|u| {
        u.by.iter()
            .find(|r| untracked.iter().all(|o| o.by.contains(r)))
    }) {
        Some(&r) => vec![r],
        None => {
            let mut v: Vec<StatementRef> = Vec::new();
            for u in &untracked {
                if let Some(&r) = u.by.first()
                    && !v.contains(&r)
                {
                    v.push(r);
                }
            }
            v
        }
    };
    if chosen.is_empty()
        || chosen
            .iter()
            .any(|r| copy.zpr_policies[r.policy.index()].stand_in)
    {
        return Vec::new();
    }
    // Each made stateful on the copy, with the statement it was.
    let mut made: Vec<(StatementRef, PolicyStatement)> = Vec::new();
    for &r in &chosen {
        let old = copy.statement(r).clone();
        let Some((text, statement)) = stateful_text(&old) else {
            put_back(copy, made);
            return Vec::new();
        };
        let new = PolicyStatement {
            text,
            statement,
            origin: old.origin.clone(),
        };
        copy.zpr_policies[r.policy.index()].statements[r.index as usize] = new;
        made.push((r, old));
    }
    if reply_zpr_drops(copy, Some(ix), p) != Some(false) {
        put_back(copy, made);
        return Vec::new();
    }
    let hints: Vec<String> = made
        .iter()
        .map(|(r, _)| stateful_hint(copy, *r, &untracked, &tracked))
        .collect();
    if scratch.keeping() {
        for (r, old) in made {
            scratch.kept(Kept::Stateful {
                policy: r.policy.index(),
                index: r.index as usize,
                old: Box::new(old),
            });
        }
    } else {
        put_back(scratch.of(s), made);
    }
    hints
}

/// Puts the statements `made` replaced back, last first.
fn put_back(copy: &mut Scenario, made: Vec<(StatementRef, PolicyStatement)>) {
    for (r, old) in made.into_iter().rev() {
        copy.zpr_policies[r.policy.index()].statements[r.index as usize] = old;
    }
}

/// The hint for statement `r`, made stateful on `copy`: which statement,
/// where, why, and the statement as it becomes.
fn stateful_hint(
    copy: &Scenario,
    r: StatementRef,
    untracked: &[Untracked],
    tracked: &[ZprCheck],
) -> String {
    let pol = &copy.zpr_policies[r.policy.index()];
    let st = copy.statement(r);
    let at = |c: &ZprCheck| format!("the {} check at `{}`", c.check, c.endpoint);
    let its: Vec<String> = untracked
        .iter()
        .filter(|u| u.by.contains(&r))
        .map(|u| at(&u.check))
        .collect();
    let others: Vec<String> = tracked.iter().map(at).collect();
    let pass = if its.len() == 1 { "passes" } else { "pass" };
    let mixed = if others.is_empty() {
        String::new()
    } else {
        format!(" ({} by a stateful one)", others.join(" and "))
    };
    let file = Some(st.origin.file.as_str())
        .filter(|f| !f.is_empty())
        .or_else(|| zpr_fix::written_in(pol));
    let place = match (file, st.origin.line) {
        (Some(f), 0) => format!("in {f}; "),
        (Some(f), l) => format!("in {f}, line {l}; "),
        (None, _) => String::new(),
    };
    format!(
        "{}: remove `connection-state='stateless'` from statement #{} of ZPR policy `{}` ({place}{} {pass} by `connection-state='stateless'` statements only{mixed}, so ZPR tracks nothing of the connection and its reply drops; stateful, the statement allows the same first packets, no other, and tracks them, so their replies pass): {}",
        Stage::Zpr.as_str(),
        r.index,
        pol.name,
        its.join(" and "),
        zpr_fix::quoted(&st.text, zpr_fix::in_zpl(pol))
    )
}

/// `st` without its `connection-state='stateless'` condition: the text as
/// written with the condition and its joiner taken out (the joiner before
/// it, or after it when it comes first; with the `with` when it is the
/// only condition), else the canonical text, and the statement it parses
/// to, which is `st`'s, stateful. `None` when `st` is not stateless.
fn stateful_text(st: &PolicyStatement) -> Option<(String, Statement)> {
    let stateless =
        |c: &Condition| matches!(c, Condition::ConnectionState(ConnectionState::Stateless));
    if !st.statement.conditions.iter().any(|c| stateless(&c.node)) {
        return None;
    }
    let mut want = st.statement.clone();
    want.conditions.retain(|c| !stateless(&c.node));
    let edited = parse_statement(&st.text)
        .ok()
        .and_then(|parsed| {
            let conds = &parsed.conditions;
            let i = conds.iter().position(|c| stateless(&c.node))?;
            let span = conds[i].span;
            let range = if i > 0 {
                conds[i - 1].span.end..span.end
            } else if let Some(next) = conds.get(i + 1) {
                span.start..next.span.start
            } else {
                let head = st.text.get(..span.start)?;
                let with = head.to_ascii_lowercase().rfind("with")?;
                head[..with].trim_end().len()..span.end
            };
            st.text.get(range.clone())?;
            let mut text = st.text.clone();
            text.replace_range(range, "");
            Some(text)
        })
        .filter(|text| parse_statement(text).is_ok_and(|p| p == want));
    let text = edited.unwrap_or_else(|| want.to_string());
    let statement = parse_statement(&text).ok().filter(|p| *p == want)?;
    Some((text, statement))
}

/// `--zpr-replies stateless`: the stateless statement for the reply's
/// direction (from the responder to the initiator), to the initiator's
/// ephemeral ports.
fn stateless_back(scratch: &mut Scratch, at: Seek<'_>, p: &Packet) -> Vec<String> {
    let Seek { s, ix, path } = at;
    let r = p.reply();
    // The reply's destination port is the port the initiator sent from:
    // every ephemeral port, or the one it used when it is below them.
    let (cond, ports) = match r.l4 {
        L4::Ports { dport, .. } if dport >= EPHEMERAL_FIRST => {
            let probe = Probe::Ports {
                sport: 0,
                dport: PortRange {
                    min: EPHEMERAL_FIRST,
                    max: u16::MAX,
                },
            };
            (
                zpr_fix::condition(&r, Some(probe)),
                format!(
                    "to every port the initiator may send from (its ephemeral ports, {EPHEMERAL_FIRST}-{})",
                    u16::MAX
                ),
            )
        }
        L4::Ports { dport, .. } => (
            zpr_fix::condition(&r, None),
            format!("to port {dport}, the one the initiator sends from"),
        ),
        _ => (zpr_fix::condition(&r, None), "its answer".to_owned()),
    };
    let note = format!(
        "stateless, for the replies (`--zpr-replies stateless`), in the reply's own direction, {ports}; the connection is allowed by `connection-state='stateless'` statements, so ZPR tracks nothing of it"
    );
    let want = Wanted {
        packet: &r,
        from: path.map(|x| &x.to),
        to: path.map(|x| &x.from),
        cond: format!("{cond}, connection-state='stateless'"),
        proof: Proof::ReplyOf(p),
        note: Some(&note),
    };
    let keep = scratch.keeping();
    let Some((text, kept)) = zpr_fix::written_for(scratch.of(s), Some(ix), &want, keep) else {
        return Vec::new();
    };
    if let Some(k) = kept {
        scratch.kept(k);
    }
    vec![text]
}
