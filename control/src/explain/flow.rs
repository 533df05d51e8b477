//! A flow explained: its first packet judged and, with `--reply`, its
//! reply in the context the first packet left; why its reply drops when
//! the first packet passes; the text and JSON `explain` prints.

use serde::Serialize;
use std::fmt::Write as _;

use super::hints::{self, Hints};
use super::others::{self, Others};
use super::packet::{JsonPacket, endpoint_text, json_packet, judge_both, render, verdict_text};
use super::request::{self, Request};
use super::{ExplainError, yes};
use crate::compile::Compiled;
use crate::eval::{self, Endpoint};
use crate::model::Scenario;
use crate::packet::{L4, Packet};
use crate::verdict::{Context, Decision, LayerReport, Stage, Tracking, Verdict};
use crate::warning::Warning;

/// A flow's first packet judged, and with `--reply` its reply.
pub(super) struct Flow {
    /// The first packet's decision.
    first: Decision,
    /// The packet judged: the first, or with `--reply` the reply.
    judged: Packet,
    /// Its decision.
    pub(super) d: Decision,
    /// Why the reply is judged as a first packet, when it is.
    note: Option<&'static str>,
}

/// Judges `p` as a first packet and, with `reply`, its reply in the
/// context the first packet left (a dropped first packet tracks nothing:
/// the reply is then a first packet of its own).
pub(super) fn judge_flow(
    s: &Scenario,
    compiled: &Compiled,
    p: &Packet,
    reply: bool,
) -> Result<Flow, ExplainError> {
    let first = judge_both(s, compiled, p, Context::First)?;
    if !reply {
        return Ok(Flow {
            d: first.clone(),
            first,
            judged: *p,
            note: None,
        });
    }
    let r = p.reply();
    let (ctx, note) = if first.judgement.verdict == Verdict::Allow {
        (Context::Reply(first.judgement.tracking), None)
    } else {
        (
            Context::First,
            Some(
                "the first packet is dropped, so no connection is tracked: the reply is judged as a first packet",
            ),
        )
    };
    Ok(Flow {
        d: judge_both(s, compiled, &r, ctx)?,
        first,
        judged: r,
        note,
    })
}

/// For a first packet from a VNIC to a VNIC in another VCN that the route
/// layer forwards (a route drop has its route hint, which checks the
/// reply itself), why its reply drops at route, when it does: the other
/// VCN's route table has no rule back. The reply's security and ZPR pass
/// by tracking once the first packet passes; its route does not, so the
/// connection cannot complete however the first packet is opened (since
/// the twentieth session; before, only `--reply` showed it).
fn reply_route_note(
    s: &Scenario,
    compiled: &Compiled,
    p: &Packet,
    first: &Decision,
) -> Result<Option<String>, ExplainError> {
    if p.l4 == L4::Fragment || first.judgement.stage == Some(Stage::Route) {
        return Ok(None);
    }
    let (Endpoint::Vnic(x), Endpoint::Vnic(y)) =
        (eval::endpoint_of(s, p.src), eval::endpoint_of(s, p.dst))
    else {
        return Ok(None);
    };
    if s.vnic_vcn(x) == s.vnic_vcn(y) {
        return Ok(None);
    }
    let r = p.reply();
    let tracked = Tracking {
        at_src: true,
        at_dst: true,
        zpr: true,
        zpr_audit: true,
    };
    let d = judge_both(s, compiled, &r, Context::Reply(tracked))?;
    if d.judgement.stage != Some(Stage::Route) {
        return Ok(None);
    }
    let why = d
        .layers
        .iter()
        .find(|l| l.layer == Stage::Route)
        .and_then(|l| l.reason.clone())
        .unwrap_or_default();
    Ok(Some(format!(
        "its reply {r} drops at route ({why}): the connection cannot complete{} (`--reply` explains it)",
        if first.judgement.verdict == Verdict::Allow {
            ""
        } else {
            ", even with the first packet opened"
        }
    )))
}

/// For a first packet that passes (and whose reply `reply_route_note`
/// has not named), why its reply drops, when it does: judged in the
/// context the first packet leaves, as `verify` judges a path's replies
/// (TCP, UDP, an ICMP echo request; since the twenty-second session).
fn reply_drop_note(
    s: &Scenario,
    compiled: &Compiled,
    p: &Packet,
    first: &Decision,
    said: bool,
) -> Result<Option<String>, ExplainError> {
    if said || !crate::verify::packet_has_reply(p) || first.judgement.verdict != Verdict::Allow {
        return Ok(None);
    }
    let r = p.reply();
    let d = judge_both(s, compiled, &r, Context::Reply(first.judgement.tracking))?;
    let Some(stage) = d
        .judgement
        .stage
        .filter(|_| d.judgement.verdict == Verdict::Drop)
    else {
        return Ok(None);
    };
    let why = d
        .layers
        .iter()
        .find(|l| l.layer == stage)
        .map(crate::verify::layer_text)
        .unwrap_or_default();
    Ok(Some(format!(
        "its reply {r} drops at {} ({why}): the connection cannot complete (`--reply` explains it)",
        stage.as_str()
    )))
}

/// `explain` without a capture, judged: what the text and the JSON say.
pub struct FlowExplained {
    /// The first packet, as the command describes it.
    p: Packet,
    /// `--reply`.
    reply: bool,
    flow: Flow,
    others: Vec<Others>,
    reply_route: Option<String>,
    reply_drop: Option<String>,
    hints: Hints,
    stand_ins: Vec<String>,
}

/// Judges the flow `a` describes in `s`: its first packet (with `--reply`
/// its reply too) by both engines, a named VNIC's other addresses, why
/// its reply drops, and what would open it.
///
/// # Errors
/// A bad request ([`ExplainError::Input`]), or the two engines disagree.
pub fn explain_flow(
    s: &Scenario,
    compiled: &Compiled,
    a: &Request<'_>,
) -> Result<FlowExplained, ExplainError> {
    let p = request::packet(a, s)?;
    let flow = judge_flow(s, compiled, &p, a.reply)?;
    let others = others::other_addresses(a, s, compiled, &p)?;
    let reply_route = if a.reply {
        None
    } else {
        reply_route_note(s, compiled, &p, &flow.first)?
    };
    // A reply whose first packet is dropped is opened by opening that
    // first packet (its reply is then tracked): a hint for the reply on
    // its own would open the reverse path, to the client's port, and
    // leave the flow closed. So the hints are always the first packet's,
    // and since the twenty-second session its reply's too when that
    // drops (what `verify` gives a pair whose reply drops, by the same
    // code): with `--reply`, and for a first packet that passes and whose
    // reply would drop.
    let hints = hints::to_open(s, &p, &flow.first);
    let reply_drop = if a.reply {
        None
    } else {
        reply_drop_note(s, compiled, &p, &flow.first, reply_route.is_some())?
    };
    let stand_ins = hints::stand_ins(s, &flow.judged, &flow.d);
    Ok(FlowExplained {
        p,
        reply: a.reply,
        flow,
        others,
        reply_route,
        reply_drop,
        hints,
        stand_ins,
    })
}

impl FlowExplained {
    /// The text `explain` prints.
    #[must_use]
    pub fn text(&self, s: &Scenario) -> String {
        let p = &self.p;
        let Flow {
            first,
            judged,
            d,
            note,
        } = &self.flow;
        let hints = &self.hints;
        let mut text = String::new();
        if self.reply {
            let fj = &first.judgement;
            let verdict = verdict_text(fj.verdict, fj.stage);
            let t = fj.tracking;
            let _ = writeln!(text, "first packet {p}: {verdict}");
            if fj.verdict == Verdict::Allow {
                let _ = writeln!(
                    text,
                    "  tracked: at the source {}, at the destination {}, by ZPR {}",
                    yes(t.at_src),
                    yes(t.at_dst),
                    yes(t.zpr)
                );
            }
            if let Some(n) = note {
                let _ = writeln!(text, "  {n}");
                text.push_str(&hints::to_open_text(p, hints));
            }
            text.push_str("reply ");
        }
        text.push_str(&render(s, judged, d));
        text.push_str(&others::others_text(&self.others));
        text.push_str(&hints::stand_in_text(&self.stand_ins));
        // A first packet that passes has hints only for its reply: they
        // follow the note that says it drops.
        let after = !self.reply && first.judgement.verdict == Verdict::Allow;
        if note.is_none() && !after {
            text.push_str(&hints::to_open_text(p, hints));
        }
        if let Some(n) = &self.reply_route {
            let _ = writeln!(text, "  note: {n}");
        }
        if let Some(n) = &self.reply_drop {
            let _ = writeln!(text, "  note: {n}");
        }
        if after {
            text.push_str(&hints::to_open_text(p, hints));
        }
        text
    }

    /// The JSON object `explain --json` prints (pretty, no final newline),
    /// with the scenario's `warnings`.
    ///
    /// # Errors
    /// Serializing failed.
    pub fn json(&self, s: &Scenario, warnings: &[Warning]) -> serde_json::Result<String> {
        let p = &self.p;
        let Flow {
            first,
            judged,
            d,
            note,
        } = &self.flow;
        let hints = &self.hints;
        let j = JsonExplain {
            packet: json_packet(judged),
            src_endpoint: endpoint_text(s, eval::endpoint_of(s, judged.src)),
            dst_endpoint: endpoint_text(s, eval::endpoint_of(s, judged.dst)),
            verdict: d.judgement.verdict,
            stage: d.judgement.stage,
            zpr_audit: d.judgement.zpr_audit,
            tracking: d.judgement.tracking,
            layers: &d.layers,
            reply: self.reply,
            first_packet: self.reply.then(|| JsonFirst {
                packet: json_packet(p),
                verdict: first.judgement.verdict,
                stage: first.judgement.stage,
                tracking: first.judgement.tracking,
            }),
            note: *note,
            to_open: &hints.to_open,
            stays_closed: hints::closed_text(hints),
            closed_at: &hints.closed_at,
            to_open_why: hints::fragment_why(p, &hints.to_open),
            reply_route: self.reply_route.as_deref(),
            reply_drops: self.reply_drop.as_deref(),
            stand_ins: &self.stand_ins,
            other_addresses: &self.others,
            warnings,
        };
        serde_json::to_string_pretty(&j)
    }
}

#[derive(Serialize)]
struct JsonExplain<'a> {
    packet: JsonPacket,
    src_endpoint: String,
    dst_endpoint: String,
    verdict: Verdict,
    stage: Option<Stage>,
    zpr_audit: bool,
    tracking: Tracking,
    layers: &'a [LayerReport],
    /// `--reply`: the judged packet is the reply.
    reply: bool,
    /// `--reply`: the first packet and what it left tracked.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_packet: Option<JsonFirst>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
    /// A dropped first packet: what would let it through.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    to_open: &'a [String],
    /// A dropped first packet no hint opens: that it stays closed, and
    /// the layers that keep it closed (`to_open` is then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    stays_closed: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    closed_at: &'a [Stage],
    /// Why `to_open` opens the whole protocol (a non-first fragment).
    #[serde(skip_serializing_if = "Option::is_none")]
    to_open_why: Option<String>,
    /// A first packet between VNICs of two VCNs that passes the route
    /// layer: why its reply drops there, when it does (the connection
    /// cannot complete, whatever opens the first packet).
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_route: Option<&'a str>,
    /// A first packet that passes: why its reply (TCP, UDP, an ICMP echo)
    /// drops, when it does and `reply_route` does not say it (since the
    /// twenty-second session); `to_open` then holds what opens it.
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_drops: Option<&'a str>,
    /// A dropped packet: the objects `zprsim import` made up at its ends.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stand_ins: &'a [String],
    /// An end named as a VNIC (`vnic:NAME`, its name or id) with more
    /// addresses of the family than the one judged: each judged the same
    /// way, at most [`others::OTHERS_JUDGED`] per end.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    other_addresses: &'a [Others],
    warnings: &'a [Warning],
}

#[derive(Serialize)]
struct JsonFirst {
    packet: JsonPacket,
    verdict: Verdict,
    stage: Option<Stage>,
    tracking: Tracking,
}
