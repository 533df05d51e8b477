//! What opens the reply of a first packet that passes by a stateless rule
//! (since the twenty-first session). A stateless rule tracks nothing
//! ("stateless wins", semantics.md §3), so the reply needs a rule of its
//! own in the other direction; without one it drops at the security layer
//! of the VNIC where the stateless rule matched: the responder's egress
//! (a stateless ingress rule) or the initiator's ingress (a stateless
//! egress rule). The hint is that rule back: the stateless rule's reverse,
//! in the same NSG or security list, stateless, its remote side the same,
//! its ports swapped (the forward rule's destination ports are the reply's
//! source ports), an echo request's type answered by the echo reply's.
//!
//! Proved on the run's copy of the scenario as every hint is
//! ([`Scratch`]): the rule is added, the first packet judged again (it
//! must still pass), its reply judged in the context the first packet now
//! leaves, and the hint given only when the reply passes that layer. Never
//! into a stand-in NSG or list (`stand_in = true`): a stand-in holds no
//! rule, so no stateless rule matched there; a reply untracked because the
//! VNIC's rules are partly unknown gets no hint (the stand-in note says to
//! export them).

use crate::model::{AddressIndex, Direction, RuleOptions, Scenario, SecurityRule, proto};
use crate::packet::Packet;
use crate::verdict::{Outcome, Stage, Verdict};

use super::fix::{Kept, Scratch, Target};

/// A stateless rule the first packet matched: where it is, its index
/// among that target's rules of its direction (an NSG's: all its rules).
struct Stateless {
    target: Target,
    /// Index in the target's rules (an NSG's all, a list's of the
    /// direction).
    index: usize,
    rule: SecurityRule,
}

/// The rule back that opens the reply of `p`, a first packet that passes
/// on `scratch` and whose reply drops at a security layer there, as hint
/// text (`egress-security: add to ...`); `None` when its reply does not
/// drop at a security layer, when no stateless rule the first packet
/// matched at that VNIC has a reverse that opens it, or when that rule's
/// group is a stand-in. With hints kept ([`Scratch::keep`]) the rule stays
/// on the copy.
pub(super) fn to_open(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: &AddressIndex,
    p: &Packet,
) -> Option<String> {
    let copy = scratch.of(s);
    let (first, back) = super::first_and_reply(copy, Some(ix), p)?;
    // The reply's layer that drops it, and the first packet's layer of the
    // same VNIC in the other direction.
    let (reply_dir, forward_stage) = match back.judgement.stage {
        Some(Stage::EgressSecurity) => (Direction::Egress, Stage::IngressSecurity),
        Some(Stage::IngressSecurity) => (Direction::Ingress, Stage::EgressSecurity),
        _ => return None,
    };
    if back.judgement.verdict == Verdict::Allow {
        return None;
    }
    let forward = first.layers.iter().find(|l| l.layer == forward_stage)?;
    // Tracked there, the reply would pass: something else drops it.
    if forward.outcome != Outcome::Allowed || forward.tracked != Some(false) {
        return None;
    }
    let forward_dir = match reply_dir {
        Direction::Egress => Direction::Ingress,
        Direction::Ingress => Direction::Egress,
    };
    // The stateless rules of the groups evaluated there (NSGs first, then
    // lists, as evaluated), the one the report names first.
    let mut candidates = stateless_rules(copy, forward, forward_dir);
    if let Some(d) = forward.rule.as_ref().filter(|d| d.stateless)
        && let Some(i) = candidates
            .iter()
            .position(|c| c.index == d.index as usize && group_name(copy, c.target) == d.name)
    {
        let named = candidates.remove(i);
        candidates.insert(0, named);
    }
    // Those the first packet matched first (taken out, it is tracked there
    // or denied); then the others, whose reverse is proved all the same
    // (two stateless rules that both match are each not needed alone).
    let (mut candidates, others): (Vec<_>, Vec<_>) = candidates
        .into_iter()
        .partition(|c| matched(scratch.of(s), ix, p, forward_stage, c));
    candidates.extend(others);
    for c in candidates {
        let Some(rule) = reverse(&c.rule, p.proto) else {
            continue;
        };
        if opens(scratch, s, ix, p, reply_dir, c.target, rule.clone()) {
            return Some(super::fix::rule_text(s, c.target, &rule));
        }
    }
    None
}

/// The stateless rules of `direction` of the NSGs and lists `l` evaluated
/// that are not stand-ins.
fn stateless_rules(
    s: &Scenario,
    l: &crate::verdict::LayerReport,
    direction: Direction,
) -> Vec<Stateless> {
    let mut out = Vec::new();
    for n in &l.nsgs_evaluated {
        if let Some(i) = s.nsgs.iter().position(|x| x.name == *n && !x.stand_in) {
            for (k, r) in s.nsgs[i].rules.iter().enumerate() {
                if r.stateless && r.direction == direction {
                    out.push(Stateless {
                        target: Target::Nsg(i),
                        index: k,
                        rule: r.clone(),
                    });
                }
            }
        }
    }
    for n in &l.security_lists_evaluated {
        if let Some(i) = s
            .security_lists
            .iter()
            .position(|x| x.name == *n && !x.stand_in)
        {
            let list = &s.security_lists[i];
            let rules = match direction {
                Direction::Ingress => &list.ingress,
                Direction::Egress => &list.egress,
            };
            for (k, r) in rules.iter().enumerate() {
                if r.stateless {
                    out.push(Stateless {
                        target: Target::List(i),
                        index: k,
                        rule: r.clone(),
                    });
                }
            }
        }
    }
    out
}

fn group_name(s: &Scenario, t: Target) -> &str {
    match t {
        Target::Nsg(i) => &s.nsgs[i].name,
        Target::List(i) => &s.security_lists[i].name,
    }
}

fn rules_mut(s: &mut Scenario, t: Target, d: Direction) -> &mut Vec<SecurityRule> {
    match t {
        Target::Nsg(i) => &mut s.nsgs[i].rules,
        Target::List(i) => match d {
            Direction::Ingress => &mut s.security_lists[i].ingress,
            Direction::Egress => &mut s.security_lists[i].egress,
        },
    }
}

/// Whether first packet `p` matched stateless rule `c` at layer `stage`:
/// without it, the layer no longer passes it untracked (it tracks it, or
/// denies it). The rule is put back.
fn matched(s: &mut Scenario, ix: &AddressIndex, p: &Packet, stage: Stage, c: &Stateless) -> bool {
    let rules = rules_mut(s, c.target, c.rule.direction);
    if c.index >= rules.len() {
        return false;
    }
    let taken = rules.remove(c.index);
    let l = crate::eval::every_layer_with(s, ix, p)
        .into_iter()
        .find(|l| l.layer == stage);
    rules_mut(s, c.target, c.rule.direction).insert(c.index, taken);
    l.is_none_or(|l| l.outcome != Outcome::Allowed || l.tracked != Some(false))
}

/// The reverse of stateless rule `r` for the reply of a packet of
/// `protocol`: the other direction, the same remote side and protocol,
/// stateless, source and destination ports swapped; an ICMP echo request
/// rule answered by an echo reply rule (8 -> 0, 128 -> 129), another type
/// kept. `None` for an ICMP rule of a type no reply has (a rule for every
/// type and code is kept as it is).
fn reverse(r: &SecurityRule, protocol: u8) -> Option<SecurityRule> {
    let options = match r.options {
        RuleOptions::Ports { src, dst } => RuleOptions::Ports { src: dst, dst: src },
        RuleOptions::Icmp { icmp_type, code } => {
            let t = match (protocol, icmp_type) {
                (proto::ICMP, 8) => 0,
                (proto::ICMPV6, 128) => 129,
                _ => return None,
            };
            RuleOptions::Icmp { icmp_type: t, code }
        }
        RuleOptions::None => RuleOptions::None,
    };
    Some(SecurityRule {
        direction: match r.direction {
            Direction::Ingress => Direction::Egress,
            Direction::Egress => Direction::Ingress,
        },
        protocol: r.protocol,
        peer: r.peer.clone(),
        stateless: true,
        options,
        description: None,
    })
}

/// Whether `rule`, added to `target` on `scratch`, opens the reply of `p`
/// at the layer of `dir` while `p` still passes (both judged again). Taken
/// out again unless hints stay on the copy and it opened the reply.
fn opens(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: &AddressIndex,
    p: &Packet,
    dir: Direction,
    target: Target,
    rule: SecurityRule,
) -> bool {
    rules_mut(scratch.of(s), target, dir).push(rule);
    let stage = match dir {
        Direction::Egress => Stage::EgressSecurity,
        Direction::Ingress => Stage::IngressSecurity,
    };
    let ok = super::first_and_reply(scratch.of(s), Some(ix), p).is_some_and(|(_, r)| {
        !(r.judgement.verdict == Verdict::Drop && r.judgement.stage == Some(stage))
    });
    if !ok || !scratch.kept(Kept::Rule(target, dir)) {
        rules_mut(scratch.of(s), target, dir).pop();
    }
    ok
}
