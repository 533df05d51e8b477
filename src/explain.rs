//! `zprsim explain SCENARIO --src IP --dst IP --proto P ...`: the first
//! packet of a flow, layer by layer. The verdict comes from the compiled
//! table the dataplane uses; the layer detail from the reference evaluator;
//! the two must agree or the command fails loudly.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::eval::{self, Endpoint};
use zprsim_control::model::{Scenario, proto};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, LayerReport, Outcome, Stage, Tracking, Verdict};
use zprsim_dataplane::scenario_file;

use crate::{Failure, out};

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario (TOML, or JSON when it ends in `.json`).
    scenario: PathBuf,
    /// Source address.
    #[arg(long)]
    src: IpAddr,
    /// Destination address.
    #[arg(long)]
    dst: IpAddr,
    /// Protocol: tcp, udp, icmp, icmpv6 or a number.
    #[arg(long)]
    proto: String,
    /// Source port (TCP/UDP; default 49152, an ephemeral port).
    #[arg(long)]
    sport: Option<u16>,
    /// Destination port (TCP/UDP; required for them).
    #[arg(long)]
    dport: Option<u16>,
    /// ICMP type (default: echo request, 8 for ICMP and 128 for ICMPv6).
    #[arg(long = "icmp-type")]
    icmp_type: Option<u8>,
    /// ICMP code (default 0).
    #[arg(long = "icmp-code")]
    icmp_code: Option<u8>,
    /// Judge a non-first IP fragment (no ports or ICMP type).
    #[arg(long)]
    fragment: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Parses a protocol name or number.
pub fn parse_proto(p: &str) -> Result<u8, Failure> {
    match p.to_ascii_lowercase().as_str() {
        "tcp" => Ok(proto::TCP),
        "udp" => Ok(proto::UDP),
        "icmp" => Ok(proto::ICMP),
        "icmpv6" => Ok(proto::ICMPV6),
        n => n.parse::<u8>().map_err(|_| {
            Failure::Input(format!(
                "error: invalid protocol `{p}`: expected `tcp`, `udp`, `icmp`, `icmpv6` or a number from 0 to 255"
            ))
        }),
    }
}

fn packet(a: &Args) -> Result<Packet, Failure> {
    if a.src.is_ipv4() != a.dst.is_ipv4() {
        return Err(Failure::Input(format!(
            "error: `{}` and `{}` are not of the same address family",
            a.src, a.dst
        )));
    }
    let protocol = parse_proto(&a.proto)?;
    let l4 = if a.fragment {
        L4::Fragment
    } else if proto::has_ports(protocol) {
        let dport = a.dport.ok_or_else(|| {
            Failure::Input(format!(
                "error: `--dport` is required for protocol `{}`",
                a.proto
            ))
        })?;
        L4::Ports {
            sport: a.sport.unwrap_or(49152),
            dport,
        }
    } else if proto::is_icmp(protocol) {
        let default = if protocol == proto::ICMP { 8 } else { 128 };
        L4::Icmp {
            icmp_type: a.icmp_type.unwrap_or(default),
            code: a.icmp_code.unwrap_or(0),
        }
    } else {
        L4::Opaque
    };
    Ok(Packet {
        src: a.src,
        dst: a.dst,
        proto: protocol,
        l4,
    })
}

fn endpoint_text(s: &Scenario, ep: Endpoint) -> String {
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

#[derive(Serialize)]
struct JsonPacket {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    fragment: bool,
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
}

fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Forwarded => "FORWARDED",
        Outcome::NoRoute => "NO_ROUTE",
        Outcome::Direct => "DIRECT",
        Outcome::Allowed => "ALLOWED",
        Outcome::AllowedTracked => "ALLOWED_TRACKED",
        Outcome::Denied => "DENIED",
        Outcome::Skipped => "SKIPPED",
        Outcome::MissingPolicy => "MISSING_POLICY",
        Outcome::NotApplicable => "NOT_APPLICABLE",
        Outcome::NotEvaluated => "NOT_EVALUATED",
        Outcome::AuditWouldDeny => "AUDIT_WOULD_DENY",
    }
}

/// The human trace of one decision.
pub fn render(s: &Scenario, p: &Packet, d: &zprsim_control::verdict::Decision) -> String {
    let mut t = String::new();
    let j = &d.judgement;
    let verdict = match (j.verdict, j.stage) {
        (Verdict::Allow, _) => "ALLOW".to_string(),
        (Verdict::Drop, Some(st)) => format!("DROP at {}", st.as_str()),
        (Verdict::Drop, None) => "DROP".to_string(),
    };
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
            let mut evaluated: Vec<String> = l
                .nsgs_evaluated
                .iter()
                .map(|n| format!("NSG `{n}`"))
                .collect();
            evaluated.extend(
                l.security_lists_evaluated
                    .iter()
                    .map(|n| format!("security list `{n}`")),
            );
            if !evaluated.is_empty() {
                let _ = write!(what, "evaluated {}", evaluated.join(", "));
            }
        }
        if let Some(reason) = &l.reason {
            let _ = write!(what, "{}{reason}", if what.is_empty() { "" } else { "; " });
        }
        let _ = writeln!(
            t,
            "  {:<17} {:<16} {what}",
            l.layer.as_str(),
            outcome_text(l.outcome)
        );
        for c in &l.checks {
            let mut line = format!(
                "{} check at `{}` ({}): {}",
                c.check,
                c.endpoint,
                c.mode,
                outcome_text(c.outcome)
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

/// Runs `explain`.
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    let p = packet(a)?;
    let loaded = scenario_file::load_path(&a.scenario)?;
    let s = &loaded.scenario;
    let compiled = Compiled::new(s, &Config::default())
        .map_err(|e| Failure::Input(format!("{}: error: {e}", a.scenario.display())))?;
    let fast = compiled.judge(&p, Context::First);
    let d = eval::evaluate(s, &p, Context::First);
    let fast_rules: Vec<_> = fast
        .rules
        .iter()
        .map(|r| r.and_then(|id| compiled.rule_ref(id)))
        .collect();
    let dd = &d.deciders;
    let ref_rules = vec![
        dd.route,
        dd.egress,
        dd.ingress,
        dd.zpr_egress,
        dd.zpr_ingress,
    ];
    if fast.judgement != d.judgement || fast_rules != ref_rules {
        return Err(Failure::Internal(format!(
            "the compiled table and the reference evaluator disagree on {p}: table {:?} {fast_rules:?}, reference {:?} {ref_rules:?}",
            fast.judgement, d.judgement
        )));
    }
    if a.json {
        let j = JsonExplain {
            packet: JsonPacket {
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
            },
            src_endpoint: endpoint_text(s, eval::endpoint_of(s, p.src)),
            dst_endpoint: endpoint_text(s, eval::endpoint_of(s, p.dst)),
            verdict: fast.judgement.verdict,
            stage: fast.judgement.stage,
            zpr_audit: fast.judgement.zpr_audit,
            tracking: fast.judgement.tracking,
            layers: &d.layers,
        };
        let mut text = serde_json::to_string_pretty(&j)?;
        text.push('\n');
        out(&text)?;
    } else {
        let mut text = String::new();
        for w in &loaded.warnings {
            let _ = writeln!(text, "{w}");
        }
        text.push_str(&render(s, &p, &d));
        out(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}
