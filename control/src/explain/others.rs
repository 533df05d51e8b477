//! A VNIC named at an end of the command line stands for one address; its
//! other addresses of the family are judged the same way and listed, so
//! that a VNIC with a global and a unique local IPv6 address is not judged
//! by its first alone.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use super::ExplainError;
use super::flow::judge_flow;
use super::packet::verdict_text;
use super::request::{Request, named_vnic};
use crate::compile::Compiled;
use crate::model::Scenario;
use crate::packet::Packet;
use crate::verdict::{Stage, Verdict};

/// Other addresses of a VNIC named on the command line listed one by one,
/// per end: a VNIC with hundreds of pod addresses gets the rest counted.
pub const OTHERS_JUDGED: usize = 16;

/// Other addresses judged at most, per end (a VNIC holds a few hundred at
/// most, a delegated prefix's included); past them, a count.
pub const OTHERS_MAX: usize = 4096;

/// Addresses named per verdict of the rest, when it is not the verdict of
/// the packet the command names.
const ODD_NAMED: usize = 4;

/// An end named as a VNIC, and its other addresses of the family judged.
#[derive(Debug, Serialize)]
pub(super) struct Others {
    /// `--src` or `--dst`.
    flag: &'static str,
    /// The VNIC's name.
    vnic: String,
    /// Its addresses of the family other than the one judged.
    count: usize,
    /// The first [`OTHERS_JUDGED`] of them, judged as the command judged
    /// the one it names (the first packet, or with `--reply` its reply).
    judged: Vec<OtherVerdict>,
    /// The others after those (up to [`OTHERS_MAX`] in all), judged the
    /// same way and counted per verdict, in order of first appearance
    /// (since the nineteenth session; before, they were not judged, and a
    /// VNIC's unique local addresses after 16 global ones went unsaid).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rest: Vec<RestGroup>,
}

/// Other addresses past the listed ones with one verdict.
#[derive(Debug, Serialize)]
struct RestGroup {
    verdict: Verdict,
    stage: Option<Stage>,
    count: usize,
    /// The first [`ODD_NAMED`] of them, when the verdict is not the
    /// packet's the command names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<IpAddr>,
}

#[derive(Debug, Serialize)]
struct OtherVerdict {
    address: IpAddr,
    verdict: Verdict,
    stage: Option<Stage>,
}

/// For each end of `p` named as a VNIC: its other addresses of `p`'s
/// family, the first [`OTHERS_JUDGED`] judged as `p` is (the other end
/// kept), so that a VNIC with a global and a unique local IPv6 address
/// is not judged by its first alone.
pub(super) fn other_addresses(
    a: &Request<'_>,
    s: &Scenario,
    compiled: &Compiled,
    p: &Packet,
) -> Result<Vec<Others>, ExplainError> {
    let mut out = Vec::new();
    let mut main = None;
    for (flag, text, own, src) in [
        ("--src", a.src, p.src, true),
        ("--dst", a.dst, p.dst, false),
    ] {
        let Some(v) = text.and_then(|t| named_vnic(s, t)) else {
            continue;
        };
        let rest: Vec<IpAddr> = v
            .private_ips
            .iter()
            .copied()
            .filter(|ip| ip.is_ipv4() == own.is_ipv4() && *ip != own)
            .collect();
        if rest.is_empty() {
            continue;
        }
        let main = match main {
            Some(m) => m,
            None => {
                let j = judge_flow(s, compiled, p, a.reply)?.d.judgement;
                *main.insert((j.verdict, j.stage))
            }
        };
        let mut judged = Vec::new();
        let mut groups: Vec<RestGroup> = Vec::new();
        for (i, &ip) in rest.iter().take(OTHERS_MAX).enumerate() {
            let q = if src {
                Packet { src: ip, ..*p }
            } else {
                Packet { dst: ip, ..*p }
            };
            let j = judge_flow(s, compiled, &q, a.reply)?.d.judgement;
            if i < OTHERS_JUDGED {
                judged.push(OtherVerdict {
                    address: ip,
                    verdict: j.verdict,
                    stage: j.stage,
                });
                continue;
            }
            let g = match groups
                .iter_mut()
                .position(|g| (g.verdict, g.stage) == (j.verdict, j.stage))
            {
                Some(k) => &mut groups[k],
                None => {
                    groups.push(RestGroup {
                        verdict: j.verdict,
                        stage: j.stage,
                        count: 0,
                        addresses: Vec::new(),
                    });
                    let k = groups.len() - 1;
                    &mut groups[k]
                }
            };
            g.count += 1;
            if (j.verdict, j.stage) != main && g.addresses.len() < ODD_NAMED {
                g.addresses.push(ip);
            }
        }
        out.push(Others {
            flag,
            vnic: v.name.clone(),
            count: rest.len(),
            judged,
            rest: groups,
        });
    }
    Ok(out)
}

/// [`other_addresses`] as text lines.
pub(super) fn others_text(others: &[Others]) -> String {
    let mut t = String::new();
    for o in others {
        let family = match o.judged.first().map(|j| j.address) {
            Some(IpAddr::V6(_)) => "IPv6",
            _ => "IPv4",
        };
        let list: Vec<String> = o
            .judged
            .iter()
            .map(|j| format!("{} {}", j.address, verdict_text(j.verdict, j.stage)))
            .collect();
        let head = if o.count == o.judged.len() {
            format!(
                "VNIC `{}` has {} more {family} address{}, judged the same way:",
                o.vnic,
                o.count,
                if o.count == 1 { "" } else { "es" }
            )
        } else {
            format!(
                "VNIC `{}` has {} more {family} addresses; the first {}, judged the same way:",
                o.vnic,
                o.count,
                o.judged.len()
            )
        };
        let mut line = format!("  {head} {}", list.join(", "));
        let in_rest: usize = o.rest.iter().map(|g| g.count).sum();
        if in_rest > 0 {
            let groups: Vec<String> = o
                .rest
                .iter()
                .map(|g| {
                    let mut t = format!("{} {}", g.count, verdict_text(g.verdict, g.stage));
                    if !g.addresses.is_empty() {
                        let named: Vec<String> =
                            g.addresses.iter().map(ToString::to_string).collect();
                        let more = if g.count > g.addresses.len() {
                            ", ..."
                        } else {
                            ""
                        };
                        let _ = write!(t, " ({}{more})", named.join(", "));
                    }
                    t
                })
                .collect();
            let _ = write!(line, "; the {in_rest} others: {}", groups.join(", "));
        }
        let unjudged = o.count - o.judged.len() - in_rest;
        if unjudged > 0 {
            let _ = write!(line, "; {unjudged} more not judged");
        }
        let _ = writeln!(line, " (explain one with `{} ADDRESS`)", o.flag);
        t.push_str(&line);
    }
    t
}
