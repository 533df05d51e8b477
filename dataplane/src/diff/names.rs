//! Flows explained in words, for the grouped summary: a rule or statement
//! by its content (the same rule in both scenarios compares equal however
//! its container is indexed or named), what decides a packet in a scenario
//! (by the reference evaluator, [`zprsim_control::eval`]), and an endpoint
//! by its VNIC, subnet and attributes.

use std::fmt::Write as _;
use std::net::IpAddr;

use zprsim_control::compile::{Compiled, Fast, RuleId, rule_text};
use zprsim_control::eval::{self, Endpoint};
use zprsim_control::model::{AddressIndex, RouteDestination, Scenario};
use zprsim_control::packet::Packet;
use zprsim_control::verdict::{Context, Deciders, RuleRef, Stage, Verdict};
use zprsim_control::verify::layer_text;

use crate::drop_reason::DropReason;
use crate::engine::FlowChange;

/// An object by its `id` (OCID) when it has one and `by_id` (both
/// scenarios carry ids, [`ids_compared`]), else by its name: two imports
/// of one tenancy may name an object differently (a new NSG with the same
/// display name takes `lb-nsg` and the old one becomes `lb-nsg-2`), and
/// its rules must not look changed for that; a hand-written scenario
/// against its import has ids on one side only, and the names are what the
/// two have in common.
fn key<'a>(id: Option<&'a str>, name: &'a str, by_id: bool) -> &'a str {
    match id {
        Some(id) if by_id => id,
        _ => name,
    }
}

/// Whether [`rule_content`] keys containers by `id`: when both scenarios
/// give some container (NSG, security list, route table, ZPR policy) one.
pub fn ids_compared(b: &Scenario, a: &Scenario) -> bool {
    let carries = |s: &Scenario| {
        s.nsgs.iter().any(|x| x.id.is_some())
            || s.security_lists.iter().any(|x| x.id.is_some())
            || s.route_tables.iter().any(|x| x.id.is_some())
            || s.zpr_policies.iter().any(|x| x.id.is_some())
    };
    carries(b) && carries(a)
}

/// A rule's text with its NSG peer by [`key`].
fn rule_described(s: &Scenario, rule: &zprsim_control::model::SecurityRule, by_id: bool) -> String {
    let text = eval::describe_rule(s, rule);
    match rule.peer {
        zprsim_control::model::Peer::Nsg(p) => {
            let n = &s.nsgs[p.index()];
            text.replacen(
                &format!("nsg `{}`", n.name),
                &format!("nsg `{}`", key(n.id.as_deref(), &n.name, by_id)),
                1,
            )
        }
        _ => text,
    }
}

/// A rule or statement by its content (containers by [`key`] and text, not
/// indices), so a rule removed before another does not make the other look
/// changed, nor does a re-import that renamed its container.
pub fn rule_content(s: &Scenario, r: RuleRef, by_id: bool) -> String {
    match r {
        RuleRef::Route { table, index } => {
            let t = &s.route_tables[table.index()];
            match t.rules.get(index as usize) {
                Some(rule) => {
                    let dst = match &rule.destination {
                        RouteDestination::Cidr(c) => c.to_string(),
                        RouteDestination::Service(l) => s.services[l.index()].name.clone(),
                    };
                    format!(
                        "route_table:{}: {dst}",
                        key(t.id.as_deref(), &t.name, by_id)
                    )
                }
                None => rule_text(s, r),
            }
        }
        RuleRef::Nsg { nsg, index } => {
            let n = &s.nsgs[nsg.index()];
            match n.rules.get(index as usize) {
                Some(rule) => format!(
                    "nsg:{}: {}",
                    key(n.id.as_deref(), &n.name, by_id),
                    rule_described(s, rule, by_id)
                ),
                None => rule_text(s, r),
            }
        }
        RuleRef::SecurityList {
            list, direction, ..
        } => {
            let l = &s.security_lists[list.index()];
            let rules = match direction {
                zprsim_control::verdict::DirectionKey::Ingress => &l.ingress,
                zprsim_control::verdict::DirectionKey::Egress => &l.egress,
            };
            let index = match r {
                RuleRef::SecurityList { index, .. } => index as usize,
                _ => 0,
            };
            match rules.get(index) {
                Some(rule) => format!(
                    "security_list:{}: {}",
                    key(l.id.as_deref(), &l.name, by_id),
                    rule_described(s, rule, by_id)
                ),
                None => rule_text(s, r),
            }
        }
        RuleRef::Statement(st) => {
            let p = &s.zpr_policies[st.policy.index()];
            format!(
                "zpr_policy:{}: {}",
                key(p.id.as_deref(), &p.name, by_id),
                s.statement(st).text
            )
        }
    }
}

fn deciders(d: &Deciders) -> [Option<RuleRef>; 5] {
    [d.route, d.egress, d.ingress, d.zpr_egress, d.zpr_ingress]
}

/// The rules and statements that allowed a packet, by name and text.
fn allowed_by(s: &Scenario, d: &Deciders) -> Vec<String> {
    let mut v: Vec<String> = deciders(d)
        .into_iter()
        .flatten()
        .map(|r| match r {
            RuleRef::Statement(st) => format!("{}: {}", rule_text(s, r), s.statement(st).text),
            other => rule_text(s, other),
        })
        .collect();
    v.dedup();
    if v.is_empty() {
        v.push("the local route; no security rule or ZPR statement applies".into());
    }
    v
}

/// What decides a packet in a scenario, judged as a first packet: the
/// deciding layer in words for a drop, the rules for an allowed one.
pub(crate) fn decided(
    s: &Scenario,
    ix: &AddressIndex,
    p: &Packet,
) -> (Verdict, String, Vec<String>) {
    let d = eval::evaluate_with(s, ix, p, Context::First);
    match d.judgement.stage {
        Some(stage) => {
            let text = d
                .layers
                .iter()
                .find(|l| l.layer == stage)
                .map(|l| match &l.reason {
                    Some(r) if l.layer == Stage::Route => {
                        let mut l = l.clone();
                        l.reason = Some(without_address(r, p));
                        layer_text(&l)
                    }
                    _ => layer_text(l),
                })
                .unwrap_or_else(|| stage.as_str().to_owned());
            (Verdict::Drop, text, Vec::new())
        }
        None => (Verdict::Allow, String::new(), allowed_by(s, &d.deciders)),
    }
}

/// A route layer's reason without the packet's address, which the
/// evaluator names (`no rule matches 8.8.8.8`, `the return path for
/// 203.0.113.7 is rule #0 to ...`, `eval::route_layer`): flows are grouped
/// by this text, and with the address each internet client was a group of
/// its own; the group lists the endpoint pairs beside it.
fn without_address(reason: &str, p: &Packet) -> String {
    let (src, dst) = (p.src.to_string(), p.dst.to_string());
    reason
        .replacen(
            &format!("the return path for {src} is"),
            "the return path for the source is",
            1,
        )
        .replacen(
            &format!("matches the source {src}"),
            "matches the source",
            1,
        )
        .replacen(&format!("for the source {src} "), "for the source ", 1)
        .replacen(
            &format!("no rule matches {dst}"),
            "no rule matches the destination",
            1,
        )
}

pub(crate) fn endpoint_name(s: &Scenario, ix: &AddressIndex, ip: IpAddr) -> String {
    match ix.endpoint_of(s, ip) {
        Endpoint::Vnic(v) => {
            let vn = &s.vnics[v.index()];
            let mut t = format!(
                "`{}` (subnet `{}`",
                vn.name,
                s.subnets[vn.subnet.index()].name
            );
            for a in &vn.attributes {
                let _ = write!(t, ", {}", a.attribute);
            }
            t.push(')');
            t
        }
        Endpoint::Unassigned(vcn) => {
            format!("{ip} (unassigned, VCN `{}`)", s.vcns[vcn.index()].name)
        }
        Endpoint::External => format!("{ip} (external)"),
    }
}

/// One scenario as [`first_reason_changed`] reads it: its compiled table
/// and the content of each rule id it has named so far ([`rule_content`],
/// made once per rule: one string per rule of the scenario at most, not per
/// flow).
pub(crate) struct Reasons<'s> {
    scenario: &'s Scenario,
    compiled: &'s Compiled,
    contents: Vec<Option<String>>,
}

impl<'s> Reasons<'s> {
    pub(crate) fn new(scenario: &'s Scenario, compiled: &'s Compiled) -> Reasons<'s> {
        Reasons {
            scenario,
            compiled,
            contents: Vec::new(),
        }
    }

    /// The content of rule `id` (`None` for none, or an id the table does
    /// not know).
    fn content(&mut self, id: Option<RuleId>, by_id: bool) -> Option<&str> {
        let id = id?;
        let r = self.compiled.rule_ref(id)?;
        let i = id.index();
        if self.contents.len() <= i {
            self.contents
                .resize(self.compiled.rule_count().max(i + 1), None);
        }
        let slot = self.contents.get_mut(i)?;
        Some(slot.get_or_insert_with(|| rule_content(self.scenario, r, by_id)))
    }
}

/// Whether the first packet's reason differs between the scenarios: each
/// scenario judges it as a first packet, and when both verdicts are the
/// ones the pass gave (the first packet of a record can be a reply of a
/// tracked connection) the deciding rules of each layer are compared by
/// content ([`rule_content`]).
///
/// Through the compiled tables, whose verdicts and deciding rules are the
/// reference evaluator's for every packet and context (the project's
/// invariant, `tests/differential.rs`): two reference judgements per flow
/// were most of a diff of many flows (44 % of 100,000 distinct flows on
/// 10,000 VNICs, perf), two table look-ups are not.
pub(crate) fn first_reason_changed(
    b: &mut Reasons<'_>,
    a: &mut Reasons<'_>,
    o: &FlowChange,
    by_id: bool,
) -> bool {
    let p = &o.first;
    let fb = b.compiled.judge(p, Context::First);
    let fa = a.compiled.judge(p, Context::First);
    let agrees = |f: &Fast, v: Option<DropReason>| f.judgement.stage.map(DropReason::of_stage) == v;
    if !agrees(&fb, o.first_verdicts[0]) || !agrees(&fa, o.first_verdicts[1]) {
        return false;
    }
    fb.rules
        .iter()
        .zip(&fa.rules)
        .any(|(rb, ra)| b.content(*rb, by_id) != a.content(*ra, by_id))
}
