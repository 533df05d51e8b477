//! `replay`'s report on captures: counts, drops by stage, the rules that
//! decided packets and those that decided none, the flows ZPR audit would
//! have denied, the top dropped flows with why; and its summary.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;
use zprsim_control::compile::Compiled;
use zprsim_control::load::{Loaded, Warning};
use zprsim_control::stopped::StoppedBy;

use super::{AuditFlows, RuleHits, RuleUse, StageCounts, Unused};
use crate::replay::{FlowRecord, ReplayOutput, Totals};
use crate::stand_in_owed::{StandInDrops, StandInOwed};
use crate::unjudged::Unjudged;
use crate::warning::{RunWarning, messages};
use crate::why::why;

#[derive(Serialize)]
struct Latency {
    count: u64,
    min: u64,
    p50: u64,
    p90: u64,
    p99: u64,
    max: u64,
    mean: f64,
}

#[derive(Serialize)]
struct Connections {
    created: u64,
    evicted: u64,
    replies_tracked: u64,
}

/// `replay`'s report on captures (`--report`, and the summary's source).
#[derive(Serialize)]
pub struct Report {
    scenario: String,
    pcaps: Vec<String>,
    packets: Totals,
    bytes: Totals,
    dropped_by_stage: StageCounts,
    /// The drops owed to what an imported export lacked: packets and flows
    /// whose drop a stand-in decided (since the twentieth session).
    stand_in_drops: StandInDrops,
    zpr_audit_would_drop: u64,
    flows: u64,
    flows_evicted: u64,
    non_ip: u64,
    /// Of `non_ip`: IPv6 neighbour discovery and MLD, which the VCN's
    /// virtual router handles and no layer judges (since the thirtieth
    /// session).
    link_local: u64,
    /// Of `non_ip`: packets of a host to itself (`127.0.0.0/8`, `::1`, a
    /// loopback device's capture; since the thirtieth session).
    loopback: u64,
    /// Records left out as copies of a packet seen on another interface
    /// (`--dedup`; 0 without it).
    copies: u64,
    /// Records judged by the frame inside their VXLAN header (`--decap
    /// vxlan`; 0 without it).
    decapsulated: u64,
    /// Records left out as traffic that stays on the node
    /// (`--node-local`; 0 without it).
    node_local: u64,
    warnings: Vec<String>,
    /// `warnings` as objects (code, message, file, byte offset), in the
    /// same order.
    run_warnings: Vec<RunWarning>,
    /// The scenario's own warnings (as `check --json` gives them), also
    /// printed on standard error: a CI job keeping only the report sees them.
    scenario_warnings: Vec<Warning>,
    error: Option<String>,
    /// A SIGINT or SIGTERM stopped the reading: the counts are of the
    /// packets judged before it, and every output holds exactly those.
    interrupted: bool,
    /// Which signal (`"sigint"`, `"sigterm"`); `null` when not interrupted.
    stopped_by: Option<StoppedBy>,
    connections: Connections,
    rules_hit: Vec<RuleHits>,
    rules_unused: Vec<String>,
    /// Every rule and statement with its packets, flows and times.
    rules: Vec<RuleUse>,
    /// The rules that decided no packet, grouped, with the window.
    unused: Unused,
    /// The flows an `audit` attribute would have denied.
    zpr_audit_flows: AuditFlows,
    top_dropped_flows: Vec<TopFlow>,
    written: Written,
    compile_s: f64,
    duration_s: f64,
    packets_per_second: f64,
    batch_latency_ns: Latency,
    workers: usize,
}

#[derive(Serialize)]
struct Written {
    allowed: u64,
    dropped: u64,
}

/// The report of a replay of `inputs` (`o`, what the engine counted)
/// against `scenario` (`loaded`, compiled into `c`).
#[must_use]
pub fn report(
    scenario: &Path,
    inputs: &[PathBuf],
    loaded: &Loaded,
    c: &Compiled,
    o: &ReplayOutput,
    compile_s: f64,
    stopped_by: Option<StoppedBy>,
) -> Report {
    let s = &loaded.scenario;
    let k = &o.counters;
    let owed = StandInOwed::new(s, c);
    let owed = owed.as_ref();
    let (hits, unused) = super::rule_hits(s, c, k);
    let stats = o.rule_stats.clone().unwrap_or_default();
    let (rules, unused_grouped) = super::rule_use(s, c, &stats);
    let h = &o.batch_ns;
    let pps = super::rate(k.packets.total, o.duration_s);
    Report {
        scenario: scenario.display().to_string(),
        pcaps: inputs.iter().map(|p| p.display().to_string()).collect(),
        packets: k.packets,
        bytes: k.bytes,
        dropped_by_stage: StageCounts::of(k),
        stand_in_drops: StandInDrops::of(k),
        zpr_audit_would_drop: k.zpr_audit_would_drop,
        flows: k.flows,
        flows_evicted: k.flows_evicted,
        non_ip: k.non_ip,
        link_local: k.link_local,
        loopback: k.loopback,
        copies: k.copies,
        decapsulated: k.decapsulated,
        node_local: k.node_local,
        warnings: messages(&o.warnings),
        run_warnings: o.warnings.clone(),
        scenario_warnings: loaded.warnings.clone(),
        error: o.error.clone(),
        interrupted: o.interrupted,
        stopped_by,
        connections: Connections {
            created: k.connections,
            evicted: k.connections_evicted,
            replies_tracked: k.replies_tracked,
        },
        rules_hit: hits,
        rules_unused: unused,
        rules,
        unused: unused_grouped,
        zpr_audit_flows: super::AuditFlows {
            untracked_records: stats.audit_untracked,
            ..super::audit_flows(s, &stats.audit, AUDIT_LISTED)
        },
        top_dropped_flows: o
            .top_dropped
            .iter()
            .map(|f| TopFlow {
                reason: why(s, f),
                stand_in: owed.is_some_and(|o| o.owes(f)),
                flow: f.clone(),
            })
            .collect(),
        written: Written {
            allowed: o.written.0,
            dropped: o.written.1,
        },
        compile_s,
        duration_s: o.duration_s,
        packets_per_second: pps,
        batch_latency_ns: Latency {
            count: h.len(),
            min: if h.is_empty() { 0 } else { h.min() },
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
            mean: h.mean(),
        },
        workers: o.workers,
    }
}

/// Flows audit would have denied listed in the report (the rest counted).
pub const AUDIT_LISTED: usize = 100;

/// A top dropped flow with the reason its first packet was dropped.
#[derive(Serialize)]
struct TopFlow {
    #[serde(flatten)]
    flow: FlowRecord,
    reason: String,
    /// Its drop was decided where a stand-in is (since the twentieth
    /// session; [`StandInDrops`]).
    stand_in: bool,
}

fn describe_flow(t: &TopFlow) -> String {
    let f = &t.flow;
    let what = match (f.sport, f.dport, f.icmp_type) {
        (Some(sp), Some(dp), _) => {
            format!(
                "{} {} -> {}",
                super::proto_name(f.proto),
                SocketAddr::new(f.src, sp),
                SocketAddr::new(f.dst, dp)
            )
        }
        (_, _, Some(ty)) => format!(
            "{} {} -> {} type {ty}",
            super::proto_name(f.proto),
            f.src,
            f.dst
        ),
        _ => format!("{} {} -> {}", super::proto_name(f.proto), f.src, f.dst),
    };
    format!(
        "{what}: {} of {} dropped\n      {}",
        f.dropped_packets, f.packets, t.reason
    )
}

/// The summary `replay` prints.
#[must_use]
pub fn summary(r: &Report) -> String {
    let mut t = String::new();
    let pct = |x: u64, of: u64| {
        if of == 0 {
            0.0
        } else {
            100.0 * x as f64 / of as f64
        }
    };
    let _ = writeln!(
        t,
        "replayed {} packet(s) ({} bytes) against {}",
        r.packets.total, r.bytes.total, r.scenario
    );
    let _ = writeln!(
        t,
        "  allowed {:>10} packets {:>6.2}%  {:>12} bytes",
        r.packets.allowed,
        pct(r.packets.allowed, r.packets.total),
        r.bytes.allowed
    );
    let _ = writeln!(
        t,
        "  dropped {:>10} packets {:>6.2}%  {:>12} bytes",
        r.packets.dropped,
        pct(r.packets.dropped, r.packets.total),
        r.bytes.dropped
    );
    let _ = writeln!(t, "  drops by stage: {}", r.dropped_by_stage.line());
    if let Some(line) = r.stand_in_drops.line(r.packets.dropped) {
        let _ = writeln!(t, "  {line}");
    }
    if r.zpr_audit_would_drop > 0 {
        let _ = writeln!(
            t,
            "  ZPR audit mode would drop {} more packet(s)",
            r.zpr_audit_would_drop
        );
    }
    let _ = writeln!(
        t,
        "  {} flow(s), {} connection(s) tracked, {} non-IP record(s)",
        r.flows, r.connections.created, r.non_ip
    );
    for why in Unjudged::ALL {
        let n = match why {
            Unjudged::LinkLocal => r.link_local,
            Unjudged::Loopback => r.loopback,
        };
        if n > 0 {
            let _ = writeln!(t, "  of them {n} {}: not judged", why.counted());
        }
    }
    if r.decapsulated > 0 {
        let _ = writeln!(
            t,
            "  {} record(s) judged by the frame inside their VXLAN header (--decap vxlan)",
            r.decapsulated
        );
    }
    if r.node_local > 0 {
        let _ = writeln!(
            t,
            "  {} record(s) to or from a --node-local prefix left out",
            r.node_local
        );
    }
    if r.copies > 0 {
        let _ = writeln!(
            t,
            "  {} copy record(s) of packets seen on another interface left out (--dedup)",
            r.copies
        );
    }
    if !r.top_dropped_flows.is_empty() {
        let _ = writeln!(t, "top dropped flows:");
        for f in &r.top_dropped_flows {
            let _ = writeln!(t, "  {}", describe_flow(f));
        }
    }
    if !r.rules_hit.is_empty() {
        let _ = writeln!(t, "top rules hit:");
        for h in r.rules_hit.iter().take(10) {
            let _ = writeln!(t, "  {:>10}  {}", h.hits, h.rule);
        }
    }
    let _ = writeln!(
        t,
        "  {} rule(s) and statement(s) never decided a packet",
        r.rules_unused.len()
    );
    t.push_str(&super::unused_section(&r.unused));
    t.push_str(&super::audit_section(&r.zpr_audit_flows, 10));
    let _ = writeln!(
        t,
        "compiled in {:.3} s; packet phase {:.3} s, {:.0} packets/s with {} worker(s)",
        r.compile_s, r.duration_s, r.packets_per_second, r.workers
    );
    t
}
