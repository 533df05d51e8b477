//! One packet explained: its layer-by-layer trace ([`render`]), its ends
//! in words, its JSON form, and a capture's packet judged with the state
//! the packets before it left ([`explain_captured`]).

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use super::hints::{self, Hints};
use super::{ExplainError, yes};
use crate::compile::Compiled;
use crate::eval::{self, Endpoint};
use crate::model::{Scenario, proto};
use crate::packet::{L4, Packet};
use crate::verdict::{Context, Decision, LayerReport, Outcome, Stage, Tracking, Verdict};
use crate::warning::Warning;

/// Judges `p` in `ctx` with both engines; they must agree.
pub(super) fn judge_both(
    s: &Scenario,
    compiled: &Compiled,
    p: &Packet,
    ctx: Context,
) -> Result<Decision, ExplainError> {
    crate::agree::judge_both(s, compiled, p, ctx).map_err(ExplainError::Disagree)
}

/// An end of a packet in words: a VNIC with its kind and subnet, an
/// unassigned address of a VCN, or an external address.
pub(super) fn endpoint_text(s: &Scenario, ep: Endpoint) -> String {
    match ep {
        Endpoint::Vnic(v) => {
            let vn = &s.vnics[v.index()];
            format!(
                "VNIC `{}` ({}, subnet `{}`)",
                vn.name,
                vn.kind,
                s.subnets[vn.subnet.index()].name
            )
        }
        Endpoint::Unassigned(vcn) => {
            format!("unassigned address in VCN `{}`", s.vcns[vcn.index()].name)
        }
        Endpoint::External => "external address".into(),
    }
}

/// A verdict as the text says it: `ALLOW`, `DROP at STAGE`.
pub(super) fn verdict_text(verdict: Verdict, stage: Option<Stage>) -> String {
    match (verdict, stage) {
        (Verdict::Allow, _) => "ALLOW".to_owned(),
        (Verdict::Drop, Some(st)) => format!("DROP at {}", st.as_str()),
        (Verdict::Drop, None) => "DROP".to_owned(),
    }
}

/// A packet in the JSON output.
#[derive(Serialize)]
pub(super) struct JsonPacket {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    fragment: bool,
}

/// `p` as the JSON output writes it.
pub(super) fn json_packet(p: &Packet) -> JsonPacket {
    JsonPacket {
        src: p.src,
        dst: p.dst,
        proto: p.proto,
        sport: p.sport(),
        dport: p.dport(),
        icmp_type: match p.l4 {
            L4::Icmp { icmp_type, .. } => Some(icmp_type),
            _ => None,
        },
        icmp_code: match p.l4 {
            L4::Icmp { code, .. } => Some(code),
            _ => None,
        },
        fragment: p.l4 == L4::Fragment,
    }
}

/// The human trace of one decision.
#[must_use]
pub fn render(s: &Scenario, p: &Packet, d: &Decision) -> String {
    let mut t = String::new();
    let j = &d.judgement;
    let verdict = verdict_text(j.verdict, j.stage);
    let _ = writeln!(
        t,
        "{p}: {verdict}{}",
        if j.zpr_audit {
            " (ZPR audit: would be denied)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        t,
        "  from {}",
        endpoint_text(s, eval::endpoint_of(s, p.src))
    );
    let _ = writeln!(
        t,
        "  to   {}",
        endpoint_text(s, eval::endpoint_of(s, p.dst))
    );
    for l in &d.layers {
        let mut what = String::new();
        if let Some(table) = &l.route_table {
            let _ = write!(what, "route table `{table}`");
        }
        if let Some(i) = l.route_rule {
            let _ = write!(what, ", rule #{i}");
        }
        if let (Some(dst), Some(target)) = (&l.destination, &l.target) {
            let _ = write!(
                what,
                "{}{dst} -> {target}",
                if what.is_empty() { "" } else { ": " }
            );
        }
        if let Some(r) = &l.rule {
            let kind = if r.kind == "nsg" {
                "NSG"
            } else {
                "security list"
            };
            let _ = write!(what, "{kind} `{}` rule #{}: {}", r.name, r.index, r.rule);
            if l.tracked == Some(true) {
                what.push_str(", connection tracked");
            }
        } else if l.outcome == Outcome::Denied && l.layer != Stage::Zpr {
            let evaluated = l.containers_evaluated();
            if !evaluated.is_empty() {
                let _ = write!(what, "evaluated {}", evaluated.join(", "));
            }
        }
        if let Some(reason) = &l.reason {
            let _ = write!(what, "{}{reason}", if what.is_empty() { "" } else { "; " });
        }
        // No trailing blanks when the layer has nothing more to say (the
        // ZPR layer: its checks follow on their own lines).
        let line = format!(
            "  {:<17} {:<16} {what}",
            l.layer.as_str(),
            l.outcome.as_str()
        );
        let _ = writeln!(t, "{}", line.trim_end());
        for c in &l.checks {
            let mut line = format!(
                "{} check at `{}` ({}): {}",
                c.check,
                c.endpoint,
                c.mode,
                c.outcome.as_str()
            );
            if let (Some(pol), Some(i), Some(text)) = (&c.policy, c.statement_index, &c.statement) {
                let _ = write!(line, " by policy `{pol}` statement #{i}: {text}");
            }
            if let Some(r) = &c.reason {
                let _ = write!(line, " ({r})");
            }
            let _ = writeln!(t, "      {line}");
        }
    }
    t
}

/// A packet of a capture as replay judged it (the dataplane's
/// `capture_state::packet_n` finds it).
#[derive(Debug, Clone, Copy)]
pub struct CapturedPacket {
    /// The packet.
    pub packet: Packet,
    /// First packet, or reply of a tracked connection.
    pub context: Context,
    /// Its timestamp (ns since the epoch).
    pub ts_ns: u64,
    /// For a reply: the number of the packet that opened the connection.
    pub opened_by: Option<u64>,
    /// For a first packet whose connection tracking no longer holds: the
    /// number of the packet that opened it.
    pub no_longer_tracked: Option<u64>,
    /// A first packet of a connection the capture starts inside: which
    /// end opened it is not known.
    pub mid_flow: bool,
}

/// `explain --capture F --packet N`, judged: what the text and the JSON
/// say.
#[derive(Debug)]
pub struct CaptureExplained {
    /// The capture as messages name it.
    file: String,
    /// The packet's number.
    number: u64,
    found: CapturedPacket,
    /// The state it was judged in, in words.
    context: String,
    d: Decision,
    hints: Hints,
    stand_ins: Vec<String>,
}

/// Judges packet `number` of capture `file` (`found`, in the state the
/// packets before it left, tracking at most `max_connections`) and says
/// what would open it.
///
/// # Errors
/// The compiled table and the reference evaluator disagree.
pub fn explain_captured(
    s: &Scenario,
    compiled: &Compiled,
    file: &str,
    number: u64,
    found: CapturedPacket,
    max_connections: usize,
) -> Result<CaptureExplained, ExplainError> {
    let d = judge_both(s, compiled, &found.packet, found.context)?;
    // A mid-flow packet's direction is not known to be the opener's: a
    // hint for it could open the server's answer to the client's port.
    // A packet of a capture judged as a reply, or allowed, gets none (its
    // reply, if any, is in the capture).
    let hints = if found.mid_flow
        || found.context != Context::First
        || d.judgement.verdict != Verdict::Drop
    {
        Hints::default()
    } else {
        hints::to_open(s, &found.packet, &d)
    };
    let mut context = match (found.context, found.opened_by, found.no_longer_tracked) {
        (Context::First, _, Some(at)) => format!(
            "first packet: tracking no longer holds the connection packet {at} opened (evicted to stay within `--max-connections {max_connections}`, the oldest first, or expired), as in `replay` with that bound"
        ),
        (Context::Reply(t), Some(by), _) => format!(
            "reply of the connection packet {by} opened (tracked at its initiator {}, at its responder {}, by ZPR {})",
            yes(t.at_src),
            yes(t.at_dst),
            yes(t.zpr)
        ),
        (Context::Reply(_), None, _) => "reply of a tracked connection".to_owned(),
        (Context::First, _, None) => {
            "first packet: no live connection of its flow answers it".to_owned()
        }
    };
    if found.mid_flow {
        context.push_str(match found.packet.proto {
            proto::TCP => "; a TCP packet with ACK set: the capture starts inside its connection, so which end opened it is not known and nothing is proposed to open it (explain the opening direction with --src, --dst and --dport)",
            proto::UDP => "; a UDP datagram from the server's port: the capture starts inside its exchange (the request is not in it), so which end opened it is not known and nothing is proposed to open it (explain the request's direction with --src, --dst and --dport)",
            _ => "; an ICMP reply: the capture starts inside its exchange (the request is not in it), so which end opened it is not known and nothing is proposed to open it (explain the request's direction with --src, --dst and --icmp-type)",
        });
    }
    let stand_ins = hints::stand_ins(s, &found.packet, &d);
    Ok(CaptureExplained {
        file: file.to_owned(),
        number,
        found,
        context,
        d,
        hints,
        stand_ins,
    })
}

impl CaptureExplained {
    /// The text `explain` prints.
    #[must_use]
    pub fn text(&self, s: &Scenario) -> String {
        let p = &self.found.packet;
        let mut text = format!(
            "packet {} of {}: {}\n",
            self.number, self.file, self.context
        );
        text.push_str(&render(s, p, &self.d));
        text.push_str(&hints::stand_in_text(&self.stand_ins));
        text.push_str(&hints::to_open_text(p, &self.hints));
        text
    }

    /// The JSON object `explain --json` prints (pretty, no final newline),
    /// with the scenario's `warnings`.
    ///
    /// # Errors
    /// Serializing failed.
    pub fn json(&self, s: &Scenario, warnings: &[Warning]) -> serde_json::Result<String> {
        let found = &self.found;
        let d = &self.d;
        let j = JsonCapture {
            capture: &self.file,
            packet_number: self.number,
            ts_ns: found.ts_ns,
            reply: matches!(found.context, Context::Reply(_)),
            opened_by: found.opened_by,
            context: &self.context,
            packet: json_packet(&found.packet),
            src_endpoint: endpoint_text(s, eval::endpoint_of(s, found.packet.src)),
            dst_endpoint: endpoint_text(s, eval::endpoint_of(s, found.packet.dst)),
            verdict: d.judgement.verdict,
            stage: d.judgement.stage,
            zpr_audit: d.judgement.zpr_audit,
            tracking: d.judgement.tracking,
            layers: &d.layers,
            to_open: &self.hints.to_open,
            stays_closed: hints::closed_text(&self.hints),
            closed_at: &self.hints.closed_at,
            to_open_why: hints::fragment_why(&found.packet, &self.hints.to_open),
            stand_ins: &self.stand_ins,
            warnings,
        };
        serde_json::to_string_pretty(&j)
    }
}

#[derive(Serialize)]
struct JsonCapture<'a> {
    capture: &'a str,
    packet_number: u64,
    ts_ns: u64,
    reply: bool,
    opened_by: Option<u64>,
    context: &'a str,
    packet: JsonPacket,
    src_endpoint: String,
    dst_endpoint: String,
    verdict: Verdict,
    stage: Option<Stage>,
    zpr_audit: bool,
    tracking: Tracking,
    layers: &'a [LayerReport],
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
    /// A dropped packet: the objects `zprsim import` made up at its ends.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stand_ins: &'a [String],
    warnings: &'a [Warning],
}
