//! The flows a ZPR `audit` attribute would have denied: listed with why,
//! and the statements that would keep them open once enforced, proven;
//! and the summary's section on them.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use zprsim_control::eval;
use zprsim_control::model::Scenario;
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Decision, Outcome, Stage, Verdict};

use super::secs;
use crate::replay::AuditFlow;

/// A flow an `audit` attribute would have denied.
#[derive(Debug, Serialize)]
pub struct AuditListed {
    /// Source of the first packet audit would have denied.
    pub src: std::net::IpAddr,
    /// Its destination.
    pub dst: std::net::IpAddr,
    /// Protocol number.
    pub proto: u8,
    /// Ports (TCP/UDP).
    pub sport: Option<u16>,
    /// Destination port.
    pub dport: Option<u16>,
    /// ICMP type (null for a flow log's ICMP: records carry none).
    pub icmp_type: Option<u8>,
    /// ICMP code (null for a flow log's ICMP).
    pub icmp_code: Option<u8>,
    /// Community ID v1, seed 0.
    pub community_id: String,
    /// Time of that packet, seconds since the epoch.
    pub first_ts: f64,
    /// Packets audit would have denied.
    pub packets: u64,
    /// The check, and the statement or missing policy, as the reference
    /// evaluator reports them.
    pub reason: String,
    /// Today's verdict of that packet (as a first packet): `allow` when the
    /// flow is open now and enforcing would close it, `drop` when another
    /// check already closes it.
    pub verdict: Verdict,
    /// The ZPL statement (and its policy) that keeps the flow open once
    /// every attribute is enforced, proven on its first such packet
    /// (`verify::keep_open`); absent when that packet is not allowed today
    /// (there is nothing to keep open), the flow is `mid_flow` or
    /// `direction_guessed`, or no statement can be written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_keep_open: Option<String>,
    /// A capture's flow whose first such packet only the answering end
    /// sends (`rule_stats::answers_first`: a TCP packet with ACK set, an
    /// ICMP reply, a UDP datagram from the server's port): the capture
    /// started inside the connection, so which end opened
    /// it is not known, and no statement is proposed (one for the packet's
    /// direction would be for the server's answer to the client's port:
    /// it would open that reverse path and leave the connection closed).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mid_flow: bool,
    /// A `mid_flow` flow whose first such packet is TCP whose flags the
    /// capture cut off (its snapshot length ends inside the TCP header):
    /// whether it was the SYN is not known, so no statement is proposed,
    /// and the summary says the flags were cut, not "no SYN" (since the
    /// twenty-eighth session).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub flags_cut: bool,
    /// A flow log's flow logged in both directions in the same second at
    /// one VNIC, where neither the rules nor the ports told which end
    /// opened it (the tie rule took input order): no statement is
    /// proposed, as for `mid_flow`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub direction_guessed: bool,
}

/// One statement that keeps listed flows open once enforced, with what it
/// covers among them.
#[derive(Debug, Serialize)]
pub struct KeepOpen {
    /// The hint: the statement and the policy to add it to.
    pub to_keep_open: String,
    /// Listed flows it keeps open.
    pub flows: usize,
    /// Their packets audit would have denied.
    pub packets: u64,
}

/// `zpr_audit_flows` of the report: the top flows, and how many more.
#[derive(Debug, Serialize)]
pub struct AuditFlows {
    /// Flows audit would have denied.
    pub total: usize,
    /// The `listed` flows with the most such packets.
    pub listed: Vec<AuditListed>,
    /// Flows not listed.
    pub more: usize,
    /// Records audit would have denied whose flow was past the number of
    /// flows kept (`MAX_AUDIT_FLOWS`; in captures per shard, as the flow
    /// bound of `--max-connections` when that is lower): counted in
    /// `zpr_audit_would_drop`, in no flow here, so `total` is a lower
    /// bound (absent when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub untracked_records: u64,
    /// The distinct statements that keep the flows open once enforced
    /// (the `to_keep_open` of every flow, listed or not, up to
    /// [`MAX_STATEMENT_FLOWS`]), most packets first: what a rollout
    /// chooses from before it enforces (ZPR is there to close some of
    /// them).
    pub statements: Vec<KeepOpen>,
    /// Flows past [`MAX_STATEMENT_FLOWS`] (the fewest packets) whose
    /// statement was not worked out (absent when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub statements_unchecked: u64,
    /// Flows open today, among those examined, that get no statement
    /// because which end opened them is not known (`mid_flow`,
    /// `direction_guessed`; absent when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub statements_withheld: u64,
}

/// Why audit would have denied the packet: the ZPR checks whose outcome is
/// `AUDIT_WOULD_DENY` in `d`, its decision by the reference evaluator.
#[must_use]
pub fn audit_reason(d: &Decision) -> String {
    let mut parts = Vec::new();
    for l in d.layers.iter().filter(|l| l.layer == Stage::Zpr) {
        for c in &l.checks {
            if c.outcome != Outcome::AuditWouldDeny {
                continue;
            }
            let what = c.reason.clone().unwrap_or_else(|| "would deny".into());
            parts.push(format!(
                "{} check at `{}` (audit): {what}",
                c.check, c.endpoint
            ));
        }
    }
    if parts.is_empty() {
        "audit would deny (judged as a reply of a tracked connection)".into()
    } else {
        parts.join("; ")
    }
}

/// Flows (most packets first) whose statement [`audit_flows`] works out
/// at most: each is one judgement by the reference evaluator, and one
/// proof per distinct (addresses, protocol, destination port).
pub const MAX_STATEMENT_FLOWS: usize = 8192;

/// The flows audit would have denied (`audit`, most packets first), the
/// `top` with the most packets listed; the statements that keep them open
/// worked out for the first [`MAX_STATEMENT_FLOWS`] of them, listed or not
/// (a flood on port 444 beside one on 443 needs both statements).
#[must_use]
pub fn audit_flows(s: &Scenario, audit: &[AuditFlow], top: usize) -> AuditFlows {
    // A copy with every attribute enforced, made at the first flow open
    // today: each statement is proven in it and taken out again. The
    // statement of a flow depends on its addresses, protocol and
    // destination port (or ICMP type and code, when known), not on its source port:
    // proven once per such key.
    let mut enforced: Option<Scenario> = None;
    let mut proven: HashMap<(IpAddr, IpAddr, u8, L4), Option<String>> = HashMap::new();
    let mut withheld = 0u64;
    let mut judged = |a: &AuditFlow| {
        let p = a.first;
        let d = eval::evaluate(s, &p, Context::First);
        // Only a flow open today can be kept open: one that another check
        // already denies is not ZPR audit's to keep; nor one whose opener
        // is not known (a capture starting inside it, a flow log's tie
        // decided by input order): its first packet may be the reply.
        let open = d.judgement.verdict == Verdict::Allow;
        let unknown_opener = a.mid_flow || a.direction_guessed;
        withheld += u64::from(open && unknown_opener);
        let to_keep_open = (open && !unknown_opener)
            .then(|| {
                // The packet the statement is written and proven for: an
                // ICMP type the flow log never had is left out (no type:
                // a statement that lets it through names none, so it
                // keeps every type of the flow open, as the record
                // counted them).
                let w = Packet {
                    l4: match p.l4 {
                        L4::Ports { dport, .. } => L4::Ports { sport: 0, dport },
                        L4::Icmp { .. } if a.icmp_type_unknown => L4::Opaque,
                        other => other,
                    },
                    ..p
                };
                proven
                    .entry((w.src, w.dst, w.proto, w.l4))
                    .or_insert_with(|| {
                        let e = enforced.get_or_insert_with(|| zprsim_control::verify::enforced(s));
                        zprsim_control::verify::keep_open(e, None, &w)
                    })
                    .clone()
            })
            .flatten();
        (d, to_keep_open)
    };
    let examined = audit.len().min(MAX_STATEMENT_FLOWS);
    let mut listed: Vec<AuditListed> = Vec::new();
    let mut statements: Vec<KeepOpen> = Vec::new();
    // Each statement's place in `statements` (up to 8,192 flows: a scan of
    // the list per flow would be quadratic).
    let mut at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (i, a) in audit.iter().take(examined).enumerate() {
        let (d, to_keep_open) = judged(a);
        if let Some(h) = &to_keep_open {
            let k = *at.entry(h.clone()).or_insert_with(|| {
                statements.push(KeepOpen {
                    to_keep_open: h.clone(),
                    flows: 0,
                    packets: 0,
                });
                statements.len() - 1
            });
            statements[k].flows += 1;
            statements[k].packets += a.packets;
        }
        if i >= top {
            continue;
        }
        let p = a.first;
        let (sport, dport, mut icmp_type, mut icmp_code) = p.l4.fields();
        if a.icmp_type_unknown {
            (icmp_type, icmp_code) = (None, None);
        }
        listed.push(AuditListed {
            src: p.src,
            dst: p.dst,
            proto: p.proto,
            sport,
            dport,
            icmp_type,
            icmp_code,
            community_id: a.key.community_id(0),
            first_ts: secs(Some(a.first_ns)).unwrap_or_default(),
            packets: a.packets,
            reason: audit_reason(&d),
            verdict: d.judgement.verdict,
            to_keep_open,
            mid_flow: a.mid_flow,
            flags_cut: a.flags_cut,
            direction_guessed: a.direction_guessed,
        });
    }
    statements.sort_by_key(|k| std::cmp::Reverse(k.packets));
    AuditFlows {
        untracked_records: 0,
        total: audit.len(),
        more: audit.len() - listed.len(),
        listed,
        statements,
        statements_unchecked: (audit.len() - examined) as u64,
        statements_withheld: withheld,
    }
}

/// The summary's audit section: the top `n` flows audit would have denied.
#[must_use]
pub fn audit_section(a: &AuditFlows, n: usize) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    if a.total == 0 {
        return t;
    }
    if a.untracked_records == 0 {
        let _ = writeln!(t, "flows ZPR audit mode would deny ({}):", a.total);
    } else {
        // Past the bound of flows kept: the rest are counted, not listed.
        let _ = writeln!(
            t,
            "flows ZPR audit mode would deny (at least {}: {} record(s) of later flows, past the flows kept, are counted but not listed and get no statement):",
            a.total, a.untracked_records
        );
    }
    for f in a.listed.iter().take(n) {
        let ends = match (f.sport, f.dport) {
            (Some(sp), Some(dp)) => format!(
                "{} -> {}",
                SocketAddr::new(f.src, sp),
                SocketAddr::new(f.dst, dp)
            ),
            _ => format!("{} -> {}", f.src, f.dst),
        };
        let today = match f.verdict {
            Verdict::Allow if f.mid_flow && f.icmp_type.is_some() => {
                "open today; the capture starts inside it (a reply, no request), so which end opened it is not known and no statement is proposed"
            }
            Verdict::Allow if f.mid_flow && f.proto == zprsim_control::model::proto::UDP => {
                "open today; the capture starts inside it (a datagram from the server's port, no request), so which end opened it is not known and no statement is proposed"
            }
            Verdict::Allow if f.mid_flow && f.flags_cut => {
                "open today; the capture cut its first packet's TCP flags off (its snapshot length ends inside the TCP header), so whether that packet opened it is not known and no statement is proposed"
            }
            Verdict::Allow if f.mid_flow => {
                "open today; the capture starts inside it (no SYN), so which end opened it is not known and no statement is proposed"
            }
            Verdict::Allow if f.direction_guessed => {
                "open today; both directions were logged in the same second and neither the rules nor the ports tell which end opened it, so no statement is proposed"
            }
            Verdict::Allow => "open today",
            Verdict::Drop => "dropped today by another check",
        };
        let _ = writeln!(
            t,
            "  {} {ends}: {} packet(s), {today}\n      {}",
            super::proto_name(f.proto),
            f.packets,
            f.reason
        );
    }
    if a.total > n.min(a.listed.len()) {
        let _ = writeln!(
            t,
            "  ... {} more (see `zpr_audit_flows` in --report)",
            a.total - n.min(a.listed.len())
        );
    }
    if !a.statements.is_empty() {
        let _ = writeln!(
            t,
            "statements that would keep them open once enforced ({}, for the {} listed flow(s); add those that must stay open, `verify` checks the paths that must stay closed):",
            a.statements.len(),
            a.listed.len()
        );
        for k in a.statements.iter().take(n) {
            let _ = writeln!(
                t,
                "  {} ({} flow(s), {} packet(s))",
                k.to_keep_open, k.flows, k.packets
            );
        }
        if a.statements.len() > n {
            let _ = writeln!(
                t,
                "  ... {} more (see `zpr_audit_flows.statements` in --report)",
                a.statements.len() - n
            );
        }
    }
    if a.statements_withheld > 0 {
        let _ = writeln!(
            t,
            "no statement for {} flow(s) open today: which end opened them is not known (`mid_flow`, `direction_guessed` in --report); `explain` the client's direction to get one",
            a.statements_withheld
        );
    }
    t
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}
