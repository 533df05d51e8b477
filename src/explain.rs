//! `zprsim explain SCENARIO --src IP|VNIC --dst IP|VNIC --proto P ...`: the
//! first packet of a flow (or with `--reply`, the reply to it), layer by
//! layer. The verdict comes from the compiled table the dataplane uses; the
//! layer detail from the reference evaluator; the two must agree or the
//! command fails loudly.

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
use zprsim_control::warning::Warning;
use zprsim_dataplane::capture::decompress;
use zprsim_dataplane::capture_state;
use zprsim_dataplane::engine::shape::Shape;
use zprsim_dataplane::output::Plan;

use crate::{Failure, out};

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario (TOML, or JSON when it ends in `.json`).
    scenario: PathBuf,
    /// Source: an address, `vnic:NAME`, or the name or id (OCID) of a VNIC.
    #[arg(long, required_unless_present = "capture")]
    src: Option<String>,
    /// Destination: an address, `vnic:NAME`, or the name or id (OCID) of a VNIC.
    #[arg(long, required_unless_present = "capture")]
    dst: Option<String>,
    /// Protocol: tcp, udp, icmp, icmpv6 or a number.
    #[arg(long, required_unless_present = "capture")]
    proto: Option<String>,
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
    /// Judge the reply of the flow (destination back to source, ICMP echo
    /// answered by an echo reply) with the tracking its first packet left.
    #[arg(long)]
    reply: bool,
    /// Explain packet `--packet N` of this capture, with the connection
    /// tracking state of the packets before it replayed as `replay` does.
    #[arg(
        long,
        requires = "packet",
        conflicts_with_all = ["src", "dst", "proto", "sport", "dport", "icmp_type", "icmp_code", "fragment", "reply"]
    )]
    capture: Option<PathBuf>,
    /// With `--capture`: the packet's number (1-based, every record counted,
    /// as Wireshark numbers frames).
    #[arg(long)]
    packet: Option<u64>,
    /// With `--capture`: judge a VXLAN record by its inner frame, as
    /// `replay --decap vxlan` does (an OCI VTAP's mirror).
    #[arg(long, value_enum, ignore_case = true)]
    decap: Option<crate::replay::Decap>,
    /// With `--capture`: leave out a copy of a packet read less than 1 ms
    /// before (a capture on several interfaces), as `replay --dedup` does;
    /// packets keep their numbers, and a copy's number is refused, naming
    /// the packet it copies.
    #[arg(long)]
    dedup: bool,
    /// With `--capture`: leave out packets to or from this prefix, as
    /// `replay --node-local` does (repeatable or comma-separated); such a
    /// packet's number is refused.
    #[arg(long, value_name = "CIDR", value_parser = crate::replay::parse_prefix, value_delimiter = ',')]
    node_local: Vec<ipnet::IpNet>,
    /// With `--capture`: connections tracked at most, as `replay
    /// --max-connections` (1 to 2^30), so a replay run with a bound is
    /// explained in the state it gave each packet (default: `replay`'s
    /// default bound). No default value here, so that one given without
    /// `--capture` is seen, even at the default's value.
    #[arg(long)]
    max_connections: Option<usize>,
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

/// Checks that every flag given fits the protocol: a flag that would be
/// silently ignored is a usage error.
fn check_flags(a: &Args, protocol: u8) -> Result<(), Failure> {
    let proto_text = a.proto.as_deref().unwrap_or_default();
    let given = |flag: &str, set: bool| set.then(|| flag.to_owned());
    let port_flags = [
        given("--sport", a.sport.is_some()),
        given("--dport", a.dport.is_some()),
    ];
    let icmp_flags = [
        given("--icmp-type", a.icmp_type.is_some()),
        given("--icmp-code", a.icmp_code.is_some()),
    ];
    if a.fragment {
        if let Some(f) = port_flags.iter().chain(icmp_flags.iter()).flatten().next() {
            return Err(Failure::Input(format!(
                "error: `{f}` does not go with `--fragment`: a non-first fragment has no ports or ICMP type"
            )));
        }
        return Ok(());
    }
    if !proto::has_ports(protocol)
        && let Some(f) = port_flags.iter().flatten().next()
    {
        return Err(Failure::Input(format!(
            "error: `{f}` is only for tcp and udp, not `{proto_text}`"
        )));
    }
    if !proto::is_icmp(protocol)
        && let Some(f) = icmp_flags.iter().flatten().next()
    {
        return Err(Failure::Input(format!(
            "error: `{f}` is only for icmp and icmpv6, not `{proto_text}`"
        )));
    }
    Ok(())
}

/// An endpoint of the command line: an address, `vnic:NAME` or a bare VNIC
/// name or id (the OCID a flow log names). A VNIC stands for its first
/// private IP of the family `want`
/// (the other side's, when that side is an address), else its first.
fn resolve(s: &Scenario, flag: &str, text: &str, want: Option<bool>) -> Result<IpAddr, Failure> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(ip);
    }
    let name = text.strip_prefix("vnic:").unwrap_or(text);
    let Some(v) = named_vnic(s, text) else {
        return Err(Failure::Input(format!(
            "error: `{flag} {text}`: not an address, and no VNIC is named `{name}`"
        )));
    };
    let pick = want.and_then(|v4| v.private_ips.iter().find(|ip| ip.is_ipv4() == v4));
    pick.or_else(|| v.private_ips.first())
        .copied()
        .ok_or_else(|| {
            Failure::Input(format!(
                "error: `{flag} {text}`: VNIC `{name}` has no address"
            ))
        })
}

fn packet(a: &Args, s: &Scenario) -> Result<Packet, Failure> {
    let (Some(src_text), Some(dst_text), Some(proto_text)) = (&a.src, &a.dst, &a.proto) else {
        return Err(Failure::Input(
            "error: `--src`, `--dst` and `--proto` are required without `--capture`".into(),
        ));
    };
    let protocol = parse_proto(proto_text)?;
    check_flags(a, protocol)?;
    let src_ip = src_text.parse::<IpAddr>().ok();
    let dst_ip = dst_text.parse::<IpAddr>().ok();
    // ICMP travels over IPv4 and ICMPv6 over IPv6: a dual-stack VNIC
    // named on both sides stands for its address of that family.
    let icmp_v4 = match protocol {
        proto::ICMP => Some(true),
        proto::ICMPV6 => Some(false),
        _ => None,
    };
    let src = resolve(
        s,
        "--src",
        src_text,
        dst_ip.map(|ip| ip.is_ipv4()).or(icmp_v4),
    )?;
    let dst = resolve(
        s,
        "--dst",
        dst_text,
        Some(src_ip.map_or(src.is_ipv4(), |ip| ip.is_ipv4())),
    )?;
    if src.is_ipv4() != dst.is_ipv4() {
        // An IPv4-mapped IPv6 address (`::ffff:10.0.1.10`, as some tools
        // print IPv4 peers) is never on a VCN's wire: say which to write.
        let mapped = [src, dst].into_iter().find_map(|ip| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(|v4| (v6, v4)),
            IpAddr::V4(_) => None,
        });
        let hint = mapped.map_or(String::new(), |(v6, v4)| {
            format!(" (`{v6}` is IPv4-mapped: for IPv4 traffic write `{v4}`)")
        });
        return Err(Failure::Input(format!(
            "error: `{src}` and `{dst}` are not of the same address family{hint}"
        )));
    }
    // The other pairing is no packet a VNIC sends (flow-log records and
    // `verify` refuse it too); judged, it would match the wrong rules.
    if let Some(v4) = icmp_v4
        && src.is_ipv4() != v4
    {
        let (other, family) = if v4 { ("icmpv6", 6) } else { ("icmp", 4) };
        return Err(Failure::Input(format!(
            "error: `--proto {proto_text}` between IPv{family} addresses (`{src}`, `{dst}`): {} travels over IPv{}; for IPv{family} write `--proto {other}`",
            if v4 { "ICMP" } else { "ICMPv6" },
            if v4 { 4 } else { 6 },
        )));
    }
    let l4 = if a.fragment {
        L4::Fragment
    } else if proto::has_ports(protocol) {
        let dport = a.dport.ok_or_else(|| {
            Failure::Input(format!(
                "error: `--dport` is required for protocol `{proto_text}`"
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
        src,
        dst,
        proto: protocol,
        l4,
    })
}

/// The reply to a flow's first packet: addresses and ports swapped; an
/// ICMP echo request answered by an echo reply (ICMP 8 -> 0, ICMPv6 128 ->
/// 129); other ICMP types kept.
fn reply_of(p: &Packet) -> Packet {
    p.reply()
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
    /// `--reply`: the judged packet is the reply.
    reply: bool,
    /// `--reply`: the first packet and what it left tracked.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_packet: Option<JsonFirst>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
    /// A dropped first packet: what would let it through.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to_open: Vec<String>,
    /// A dropped first packet no hint opens: that it stays closed, and
    /// the layers that keep it closed (`to_open` is then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    stays_closed: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    closed_at: Vec<Stage>,
    /// Why `to_open` opens the whole protocol (a non-first fragment).
    #[serde(skip_serializing_if = "Option::is_none")]
    to_open_why: Option<String>,
    /// A first packet between VNICs of two VCNs that passes the route
    /// layer: why its reply drops there, when it does (the connection
    /// cannot complete, whatever opens the first packet).
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_route: Option<String>,
    /// A first packet that passes: why its reply (TCP, UDP, an ICMP echo)
    /// drops, when it does and `reply_route` does not say it (since the
    /// twenty-second session); `to_open` then holds what opens it.
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_drops: Option<String>,
    /// A dropped packet: the objects `zprsim import` made up at its ends.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stand_ins: Vec<String>,
    /// An end named as a VNIC (`vnic:NAME`, its name or id) with more
    /// addresses of the family than the one judged: each judged the same
    /// way, at most [`OTHERS_JUDGED`] per end.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    other_addresses: Vec<Others>,
    warnings: &'a [Warning],
}

#[derive(Serialize)]
struct JsonFirst {
    packet: JsonPacket,
    verdict: Verdict,
    stage: Option<Stage>,
    tracking: Tracking,
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

/// Judges `p` in `ctx` with both engines; they must agree.
fn judge_both(
    s: &Scenario,
    compiled: &Compiled,
    p: &Packet,
    ctx: Context,
) -> Result<zprsim_control::verdict::Decision, Failure> {
    zprsim_control::agree::judge_both(s, compiled, p, ctx).map_err(Failure::Internal)
}

fn json_packet(p: &Packet) -> JsonPacket {
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

/// `--max-connections`, or `replay`'s default bound.
fn max_connections(a: &Args) -> usize {
    a.max_connections
        .unwrap_or(zprsim_dataplane::engine::DEFAULT_MAX_CONNECTIONS)
}

/// The flags of `--capture` given without it, refused. Checked here, not
/// by clap's `requires = "capture"`: clap drops the requirement of an
/// argument that conflicts with one given (`--capture` conflicts with
/// `--src`), so `explain --src .. --packet 7` judged the packet `--src`
/// described without a word, and `--dedup` there asked for `--packet`
/// (tried, clap 4.6).
fn capture_flags_alone(a: &Args) -> Result<(), Failure> {
    if a.capture.is_some() {
        return Ok(());
    }
    let given = [
        (a.packet.is_some(), "--packet"),
        (a.decap.is_some(), "--decap"),
        (a.dedup, "--dedup"),
        (!a.node_local.is_empty(), "--node-local"),
        (a.max_connections.is_some(), "--max-connections"),
    ];
    match given.iter().find_map(|&(g, flag)| g.then_some(flag)) {
        Some(flag) => Err(Failure::Input(format!(
            "error: `{flag}` goes with `--capture`: without a capture, `--src`, `--dst` and `--proto` describe the one packet judged"
        ))),
        None => Ok(()),
    }
}

/// Runs `explain`.
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    capture_flags_alone(a)?;
    // Flags that do not fit the protocol are refused before any file is read.
    if let Some(pr) = &a.proto {
        check_flags(a, parse_proto(pr)?)?;
    }
    crate::replay::check_engine_bounds(1, max_connections(a))?;
    let mut plan = Plan::new();
    plan.input("SCENARIO", &a.scenario);
    if let Some(c) = &a.capture {
        plan.input("--capture", c);
    }
    plan.standard_output();
    plan.check()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    let loaded = crate::load_scenario(&plan, "SCENARIO", &a.scenario)?;
    let s = &loaded.scenario;
    crate::replay::check_node_local(&a.node_local, s, &a.scenario)?;
    let compiled = Compiled::new(s, &Config::default()).map_err(|e| {
        Failure::Input(format!(
            "{}: error: {e}",
            zprsim_dataplane::output::shown(&a.scenario)
        ))
    })?;
    if let (Some(cap), Some(n)) = (&a.capture, a.packet) {
        return explain_capture(a, &loaded, &compiled, cap, n);
    }
    let p = packet(a, s)?;
    let Flow {
        first,
        judged,
        d,
        note: ctx_note,
    } = judge_flow(s, &compiled, &p, a.reply)?;
    let others = other_addresses(a, s, &compiled, &p)?;
    let reply_route = if a.reply {
        None
    } else {
        reply_route_note(s, &compiled, &p, &first)?
    };
    // A reply whose first packet is dropped is opened by opening that
    // first packet (its reply is then tracked): a hint for the reply on
    // its own would open the reverse path, to the client's port, and
    // leave the flow closed. So the hints are always the first packet's,
    // and since the twenty-second session its reply's too when that
    // drops (what `verify` gives a pair whose reply drops, by the same
    // code): with `--reply`, and for a first packet that passes and whose
    // reply would drop.
    let hints = to_open(s, &p, &first);
    let reply_drop = if a.reply {
        None
    } else {
        reply_drop_note(s, &compiled, &p, &first, reply_route.is_some())?
    };
    let mut warnings = String::new();
    for w in &loaded.warnings {
        let _ = writeln!(warnings, "{w}");
    }
    crate::err(&warnings);
    if a.json {
        let j = JsonExplain {
            packet: json_packet(&judged),
            src_endpoint: endpoint_text(s, eval::endpoint_of(s, judged.src)),
            dst_endpoint: endpoint_text(s, eval::endpoint_of(s, judged.dst)),
            verdict: d.judgement.verdict,
            stage: d.judgement.stage,
            zpr_audit: d.judgement.zpr_audit,
            tracking: d.judgement.tracking,
            layers: &d.layers,
            reply: a.reply,
            first_packet: a.reply.then(|| JsonFirst {
                packet: json_packet(&p),
                verdict: first.judgement.verdict,
                stage: first.judgement.stage,
                tracking: first.judgement.tracking,
            }),
            note: ctx_note,
            to_open_why: fragment_why(&p, &hints.to_open),
            stays_closed: closed_text(&hints),
            closed_at: hints.closed_at,
            to_open: hints.to_open,
            reply_route: reply_route.clone(),
            reply_drops: reply_drop.clone(),
            stand_ins: stand_ins(s, &judged, &d),
            other_addresses: others,
            warnings: &loaded.warnings,
        };
        let mut text = serde_json::to_string_pretty(&j)?;
        text.push('\n');
        out(&text)?;
    } else {
        let mut text = String::new();
        if a.reply {
            let fj = &first.judgement;
            let verdict = match (fj.verdict, fj.stage) {
                (Verdict::Allow, _) => "ALLOW".to_string(),
                (Verdict::Drop, Some(st)) => format!("DROP at {}", st.as_str()),
                (Verdict::Drop, None) => "DROP".to_string(),
            };
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
            if let Some(n) = ctx_note {
                let _ = writeln!(text, "  {n}");
                text.push_str(&to_open_text(&p, &hints));
            }
            text.push_str("reply ");
        }
        text.push_str(&render(s, &judged, &d));
        text.push_str(&others_text(&others));
        text.push_str(&stand_in_text(&stand_ins(s, &judged, &d)));
        // A first packet that passes has hints only for its reply: they
        // follow the note that says it drops.
        let after = !a.reply && first.judgement.verdict == Verdict::Allow;
        if ctx_note.is_none() && !after {
            text.push_str(&to_open_text(&p, &hints));
        }
        if let Some(n) = &reply_route {
            let _ = writeln!(text, "  note: {n}");
        }
        if let Some(n) = &reply_drop {
            let _ = writeln!(text, "  note: {n}");
        }
        if after {
            text.push_str(&to_open_text(&p, &hints));
        }
        out(&text)?;
    }
    Ok(ExitCode::SUCCESS)
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
    first: &zprsim_control::verdict::Decision,
) -> Result<Option<String>, Failure> {
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
    let r = reply_of(p);
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
    first: &zprsim_control::verdict::Decision,
    said: bool,
) -> Result<Option<String>, Failure> {
    if said
        || !zprsim_control::verify::packet_has_reply(p)
        || first.judgement.verdict != Verdict::Allow
    {
        return Ok(None);
    }
    let r = reply_of(p);
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
        .map(zprsim_control::verify::layer_text)
        .unwrap_or_default();
    Ok(Some(format!(
        "its reply {r} drops at {} ({why}): the connection cannot complete (`--reply` explains it)",
        stage.as_str()
    )))
}

/// A flow's first packet judged, and with `--reply` its reply.
struct Flow {
    /// The first packet's decision.
    first: zprsim_control::verdict::Decision,
    /// The packet judged: the first, or with `--reply` the reply.
    judged: Packet,
    /// Its decision.
    d: zprsim_control::verdict::Decision,
    /// Why the reply is judged as a first packet, when it is.
    note: Option<&'static str>,
}

/// Judges `p` as a first packet and, with `reply`, its reply in the
/// context the first packet left (a dropped first packet tracks nothing:
/// the reply is then a first packet of its own).
fn judge_flow(s: &Scenario, compiled: &Compiled, p: &Packet, reply: bool) -> Result<Flow, Failure> {
    let first = judge_both(s, compiled, p, Context::First)?;
    if !reply {
        return Ok(Flow {
            d: first.clone(),
            first,
            judged: *p,
            note: None,
        });
    }
    let r = reply_of(p);
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

/// Other addresses of a VNIC named on the command line listed one by one,
/// per end: a VNIC with hundreds of pod addresses gets the rest counted.
const OTHERS_JUDGED: usize = 16;

/// Other addresses judged at most, per end (a VNIC holds a few hundred at
/// most, a delegated prefix's included); past them, a count.
const OTHERS_MAX: usize = 4096;

/// Addresses named per verdict of the rest, when it is not the verdict of
/// the packet the command names.
const ODD_NAMED: usize = 4;

/// An end named as a VNIC, and its other addresses of the family judged.
#[derive(Serialize)]
struct Others {
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
#[derive(Serialize)]
struct RestGroup {
    verdict: Verdict,
    stage: Option<Stage>,
    count: usize,
    /// The first [`ODD_NAMED`] of them, when the verdict is not the
    /// packet's the command names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    addresses: Vec<IpAddr>,
}

#[derive(Serialize)]
struct OtherVerdict {
    address: IpAddr,
    verdict: Verdict,
    stage: Option<Stage>,
}

/// The VNIC an endpoint of the command line names (`vnic:NAME`, a bare
/// name or id, as [`resolve`] reads it); `None` for an address.
fn named_vnic<'s>(s: &'s Scenario, text: &str) -> Option<&'s zprsim_control::model::Vnic> {
    if text.parse::<IpAddr>().is_ok() {
        return None;
    }
    let name = text.strip_prefix("vnic:").unwrap_or(text);
    s.vnics
        .iter()
        .find(|v| v.name == name)
        .or_else(|| s.vnics.iter().find(|v| v.id.as_deref() == Some(name)))
}

/// For each end of `p` named as a VNIC: its other addresses of `p`'s
/// family, the first [`OTHERS_JUDGED`] judged as `p` is (the other end
/// kept), so that a VNIC with a global and a unique local IPv6 address
/// is not judged by its first alone.
fn other_addresses(
    a: &Args,
    s: &Scenario,
    compiled: &Compiled,
    p: &Packet,
) -> Result<Vec<Others>, Failure> {
    let mut out = Vec::new();
    let mut main = None;
    for (flag, text, own, src) in [
        ("--src", a.src.as_deref(), p.src, true),
        ("--dst", a.dst.as_deref(), p.dst, false),
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
fn others_text(others: &[Others]) -> String {
    let mut t = String::new();
    for o in others {
        let family = match o.judged.first().map(|j| j.address) {
            Some(IpAddr::V6(_)) => "IPv6",
            _ => "IPv4",
        };
        let verdict_text = |verdict: Verdict, stage: Option<Stage>| match (verdict, stage) {
            (Verdict::Allow, _) => "ALLOW".to_owned(),
            (Verdict::Drop, Some(st)) => format!("DROP at {}", st.as_str()),
            (Verdict::Drop, None) => "DROP".to_owned(),
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

/// `explain --capture F --packet N`.
fn explain_capture(
    a: &Args,
    loaded: &zprsim_control::load::Loaded,
    compiled: &Compiled,
    capture: &std::path::Path,
    n: u64,
) -> Result<ExitCode, Failure> {
    let s = &loaded.scenario;
    let file = zprsim_dataplane::output::shown(capture);
    // The reader's steps of `replay` with the same flags: packet N is
    // judged with the state of the packets replay would have judged
    // before it.
    let mut shape = Shape::new(
        a.decap == Some(crate::replay::Decap::Vxlan),
        &a.node_local,
        a.dedup,
    );
    let bad = |e: &dyn std::fmt::Display| Failure::Input(format!("{file}: error: {e}"));
    // Read as a stream (`-`: standard input; gzip: the capture it holds),
    // one record at a time.
    let stream = zprsim_dataplane::sniff::open(capture).map_err(|e| bad(&e))?;
    let (mut cap, _) = decompress::records(stream).map_err(|e| bad(&e))?;
    let found =
        capture_state::packet_n(&mut cap, &file, compiled, n, &mut shape, max_connections(a))
            .map_err(from_state)?;
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
        to_open(s, &found.packet, &d)
    };
    let mut warnings = String::new();
    for w in &loaded.warnings {
        let _ = writeln!(warnings, "{w}");
    }
    crate::err(&warnings);
    let mut context = match (found.context, found.opened_by, found.no_longer_tracked) {
        (Context::First, _, Some(at)) => format!(
            "first packet: tracking no longer holds the connection packet {at} opened (evicted to stay within `--max-connections {}`, the oldest first, or expired), as in `replay` with that bound",
            max_connections(a)
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
        use zprsim_control::model::proto;
        context.push_str(match found.packet.proto {
            proto::TCP if found.tcp_flags_cut => "; a TCP packet whose flags the capture cut off (its snapshot length ends inside the TCP header): it may be from inside its connection, so which end opened it is not known and nothing is proposed to open it (explain the opening direction with --src, --dst and --dport)",
            proto::TCP => "; a TCP packet with ACK set: the capture starts inside its connection, so which end opened it is not known and nothing is proposed to open it (explain the opening direction with --src, --dst and --dport)",
            proto::UDP => "; a UDP datagram from the server's port: the capture starts inside its exchange (the request is not in it), so which end opened it is not known and nothing is proposed to open it (explain the request's direction with --src, --dst and --dport)",
            _ => "; an ICMP reply: the capture starts inside its exchange (the request is not in it), so which end opened it is not known and nothing is proposed to open it (explain the request's direction with --src, --dst and --icmp-type)",
        });
    }
    if a.json {
        let j = JsonCapture {
            capture: &file,
            packet_number: n,
            ts_ns: found.ts_ns,
            reply: matches!(found.context, Context::Reply(_)),
            opened_by: found.opened_by,
            context: &context,
            packet: json_packet(&found.packet),
            src_endpoint: endpoint_text(s, eval::endpoint_of(s, found.packet.src)),
            dst_endpoint: endpoint_text(s, eval::endpoint_of(s, found.packet.dst)),
            verdict: d.judgement.verdict,
            stage: d.judgement.stage,
            zpr_audit: d.judgement.zpr_audit,
            tracking: d.judgement.tracking,
            layers: &d.layers,
            to_open_why: fragment_why(&found.packet, &hints.to_open),
            stays_closed: closed_text(&hints),
            closed_at: hints.closed_at,
            to_open: hints.to_open,
            stand_ins: stand_ins(s, &found.packet, &d),
            warnings: &loaded.warnings,
        };
        let mut text = serde_json::to_string_pretty(&j)?;
        text.push('\n');
        out(&text)?;
    } else {
        let mut text = format!("packet {n} of {file}: {context}\n");
        text.push_str(&render(s, &found.packet, &d));
        text.push_str(&stand_in_text(&stand_ins(s, &found.packet, &d)));
        text.push_str(&to_open_text(&found.packet, &hints));
        out(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// [`capture_state::Failure`] as the command's.
fn from_state(e: capture_state::Failure) -> Failure {
    match e {
        capture_state::Failure::Input(m) => Failure::Input(m),
        capture_state::Failure::Internal(m) => Failure::Internal(m),
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to_open: Vec<String>,
    /// A dropped first packet no hint opens: that it stays closed, and
    /// the layers that keep it closed (`to_open` is then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    stays_closed: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    closed_at: Vec<Stage>,
    /// Why `to_open` opens the whole protocol (a non-first fragment).
    #[serde(skip_serializing_if = "Option::is_none")]
    to_open_why: Option<String>,
    /// A dropped packet: the objects `zprsim import` made up at its ends.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stand_ins: Vec<String>,
    warnings: &'a [Warning],
}

/// What would open a dropped packet: the hints, or the layers no hint
/// opens.
#[derive(Debug, Default)]
struct Hints {
    /// The rules and statements that let it through, each proven.
    to_open: Vec<String>,
    /// The layers that still drop it with every hint added: it stays
    /// closed, and `to_open` is empty.
    closed_at: Vec<Stage>,
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
fn to_open(s: &Scenario, p: &Packet, d: &zprsim_control::verdict::Decision) -> Hints {
    match d.judgement.verdict {
        Verdict::Allow => Hints {
            to_open: zprsim_control::verify::packet_hints_with_replies(s, p).to_open,
            ..Hints::default()
        },
        Verdict::Drop => {
            let w = zprsim_control::verify::packet_hints_with_replies(s, p);
            // Left closed by its reply alone: the first packet's hints
            // open it, and say what stays closed of the reply (a
            // stand-in's table: the route hint says so).
            if w.left == 0 || w.left == w.left_replies {
                Hints {
                    to_open: w.to_open,
                    ..Hints::default()
                }
            } else {
                let ix = zprsim_control::model::AddressIndex::new(s);
                let by_stand_in = w
                    .closed_at
                    .iter()
                    .copied()
                    .filter(|&l| {
                        zprsim_control::verify::stand_in_closing(s, &ix, p.src, p.dst, Some(l))
                            .is_some()
                    })
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
fn stand_ins(s: &Scenario, p: &Packet, d: &zprsim_control::verdict::Decision) -> Vec<String> {
    if d.judgement.verdict == Verdict::Drop {
        let stage = d.judgement.stage;
        zprsim_control::verify::stand_in_notes(
            s,
            None,
            [zprsim_control::verify::Failing {
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
fn stand_in_text(notes: &[String]) -> String {
    notes
        .iter()
        .map(|n| {
            format!(
                "  stand-in: {n}
"
            )
        })
        .collect()
}

/// The hints of [`to_open`] for `p` as text lines, with why they open
/// the whole protocol when they do ([`fragment_why`]), or that `p` stays
/// closed.
fn to_open_text(p: &Packet, hints: &Hints) -> String {
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
fn closed_text(hints: &Hints) -> Option<String> {
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
            "no hint at {}: a stand-in `zprsim import` made up decides it there (named below), and no hint goes into one: export what it stands for and import again",
            names(&stand_in)
        ));
    }
    if !others.is_empty() {
        parts.push(format!(
            "{} (at {}: see its reason above)",
            zprsim_control::verify::stay_closed(None),
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
fn fragment_why(p: &Packet, hints: &[String]) -> Option<String> {
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

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
