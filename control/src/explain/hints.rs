//! What would open a dropped packet: the rules and statements that let it
//! through, each proven (`verify`'s hints), or the layers no hint opens;
//! the stand-ins `zprsim import` made up at its ends; and these as text.

use std::fmt::Write as _;

use crate::model::{AddressIndex, Scenario, proto};
use crate::packet::{L4, Packet};
use crate::verdict::{Decision, Stage, Verdict};
use crate::verify;

/// What would open a dropped packet: the hints, or the layers no hint
/// opens.
#[derive(Debug, Default)]
pub(super) struct Hints {
    /// The rules and statements that let it through, each proven.
    pub(super) to_open: Vec<String>,
    /// The layers that still drop it with every hint added: it stays
    /// closed, and `to_open` is empty.
    pub(super) closed_at: Vec<Stage>,
    /// Hints for the other layers left out of `to_open` because of
    /// `closed_at`: alone, they would not open it.
    left_out: usize,
    /// The layers of `closed_at` that a stand-in decides (`zprsim import`
    /// made it up; no hint goes into one): said as such, not as "nothing
    /// opens it" (the late review's L2; since the twentieth session).
    by_stand_in: Vec<Stage>,
}

/// A first packet (`d` its decision): the rules and statements that would
/// let it through, each proven, judged again all added, and since the
/// twenty-second session what opens its reply when that then drops
/// (`verify::packet_hints_with_replies`, as `verify` does for a path's
/// pairs); nothing for an allowed packet whose reply passes.
/// A packet they leave dropped (a route no gateway carries: the internet
/// to a unique local IPv6 address) gets no hint, but the layers that
/// keep it closed: the other layers' hints would not open it.
pub(super) fn to_open(s: &Scenario, p: &Packet, d: &Decision) -> Hints {
    match d.judgement.verdict {
        Verdict::Allow => Hints {
            to_open: verify::packet_hints_with_replies(s, p).to_open,
            ..Hints::default()
        },
        Verdict::Drop => {
            let w = verify::packet_hints_with_replies(s, p);
            // Left closed by its reply alone: the first packet's hints
            // open it, and say what stays closed of the reply (a
            // stand-in's table: the route hint says so).
            if w.left == 0 || w.left == w.left_replies {
                Hints {
                    to_open: w.to_open,
                    ..Hints::default()
                }
            } else {
                let ix = AddressIndex::new(s);
                let by_stand_in = w
                    .closed_at
                    .iter()
                    .copied()
                    .filter(|&l| verify::stand_in_closing(s, &ix, p.src, p.dst, Some(l)).is_some())
                    .collect();
                Hints {
                    to_open: Vec::new(),
                    closed_at: w.closed_at,
                    left_out: w.to_open.len(),
                    by_stand_in,
                }
            }
        }
    }
}

/// The objects `zprsim import` made up at the ends of a dropped packet
/// (`verify::stand_in_notes`): it may be dropped only because the export
/// is partial, and a hint for it may add rules nobody needs.
pub(super) fn stand_ins(s: &Scenario, p: &Packet, d: &Decision) -> Vec<String> {
    if d.judgement.verdict == Verdict::Drop {
        let stage = d.judgement.stage;
        verify::stand_in_notes(
            s,
            None,
            [verify::Failing {
                src: p.src,
                dst: p.dst,
                egress_denied: stage == Some(Stage::EgressSecurity),
                ingress_denied: stage == Some(Stage::IngressSecurity),
                zpr_denied: stage == Some(Stage::Zpr),
            }],
        )
    } else {
        Vec::new()
    }
}

/// [`stand_ins`] as text lines.
pub(super) fn stand_in_text(notes: &[String]) -> String {
    notes.iter().map(|n| format!("  stand-in: {n}\n")).collect()
}

/// The hints of [`to_open`] for `p` as text lines, with why they open
/// the whole protocol when they do ([`fragment_why`]), or that `p` stays
/// closed.
pub(super) fn to_open_text(p: &Packet, hints: &Hints) -> String {
    let mut t: String = hints
        .to_open
        .iter()
        .map(|h| format!("  to open: {h}\n"))
        .collect();
    if let Some(why) = fragment_why(p, &hints.to_open) {
        let _ = writeln!(t, "  why the whole protocol: {why}");
    }
    if let Some(closed) = closed_text(hints) {
        let _ = writeln!(t, "  {closed}");
    }
    t
}

/// That the packet stays closed whatever is added, in `verify`'s words
/// (`verify::stay_closed`), with the layers that keep it closed and the
/// hints left out; `None` when the hints open it.
pub(super) fn closed_text(hints: &Hints) -> Option<String> {
    if hints.closed_at.is_empty() {
        return None;
    }
    let (stand_in, others): (Vec<Stage>, Vec<Stage>) = hints
        .closed_at
        .iter()
        .partition(|l| hints.by_stand_in.contains(l));
    let names = |ls: &[Stage]| ls.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", ");
    let mut parts = Vec::new();
    if !stand_in.is_empty() {
        parts.push(format!(
            "no hint at {}: a stand-in `zprsim import` made up decides it there (its stand-in note names it), and no hint goes into one: export what it stands for and import again",
            names(&stand_in)
        ));
    }
    if !others.is_empty() {
        parts.push(format!(
            "{} (at {}: see its reason above)",
            verify::stay_closed(None),
            names(&others)
        ));
    }
    let mut t = parts.join("; ");
    match hints.left_out {
        0 => {}
        1 => t.push_str("; the hint for another layer is left out: alone, it would not open it"),
        n => {
            let _ = write!(
                t,
                "; the {n} hints for other layers are left out: alone, they would not open it"
            );
        }
    }
    Some(t)
}

/// Why the hints for `p`, a non-first fragment, open its whole protocol
/// (semantics §3), and what usually fixes it instead: fragments are
/// packets larger than the path's MTU. `None` for other packets, or no
/// hint.
pub(super) fn fragment_why(p: &Packet, hints: &[String]) -> Option<String> {
    if p.l4 != L4::Fragment || hints.is_empty() {
        return None;
    }
    let (name, what, all) = match p.proto {
        proto::TCP => ("tcp", "ports", "every tcp port"),
        proto::UDP => ("udp", "ports", "every udp port"),
        proto::ICMP => ("icmp", "ICMP type", "every ICMP type"),
        proto::ICMPV6 => ("icmpv6", "ICMPv6 type", "every ICMPv6 type"),
        _ => ("its protocol", "ports", "the whole protocol"),
    };
    Some(format!(
        "a non-first fragment carries no {what}, so OCI can match it by protocol ({name}) alone (semantics §3): these hints open {all} between these ends. Fragments are packets larger than an MTU on the path; the usual fix is the MTU, not a rule this wide: lower the sender's to the path's, or let path MTU discovery work (ICMP type 3 code 4, or ICMPv6 type 2, let in to the sender)"
    ))
}
