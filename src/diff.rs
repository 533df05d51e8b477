//! `zprsim diff BEFORE AFTER CAPTURE... [--workers N] [--report F.json]
//! [--flows F.jsonl] [--fail-on KINDS] [--quiet]`: what a change would do to
//! recorded traffic.
//!
//! One pass of the engine with two scenarios: every packet is judged by
//! both, each with its own connection tracking, flow records and counters.
//! A [`VerdictSink`] sees each record's two verdicts in input order and
//! keeps, per flow record, what changed: a packet allowed before and
//! dropped after (would break), dropped before and allowed after (newly
//! allowed), dropped by another stage. Its flow records are cut exactly as
//! the engine's (`FlowKey`, the idle timeouts of `conntrack`, the same
//! per-shard bounded tables), and the two lists are checked to line up.
//! After the pass, each changed flow's representative packet is explained
//! by the reference evaluator: what blocks it after, what allowed it
//! before, and the endpoints involved, for the grouped summary.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use zprsim_control::compile::{Compiled, Config, rule_text};
use zprsim_control::eval::{self, Endpoint};
use zprsim_control::load::Warning;
use zprsim_control::model::{AddressIndex, RouteDestination, Scenario, proto};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Deciders, RuleRef, Stage, Verdict};
use zprsim_control::verify::layer_text;
use zprsim_dataplane::community_id::FlowKey;
use zprsim_dataplane::conntrack::{self, Bounded, SHARDS};
use zprsim_dataplane::drop_reason::DropReason;
use zprsim_dataplane::engine::{
    self, CaptureFiles, EngineConfig, EngineError, FlowRecord, Judged, Sinks, VerdictSink,
};
use zprsim_dataplane::judge::Totals;
use zprsim_dataplane::output::{OutputFile, Plan};
use zprsim_dataplane::parse::{Parsed, parse_frame};

use crate::Failure;
use crate::interrupt::Interrupt;
use crate::report::{self, FlowCounts, PacketCounts, StageCounts};

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario as it is.
    before: PathBuf,
    /// The scenario as proposed.
    after: PathBuf,
    /// Captures (pcap or pcapng, or gzip of one) or flow logs, read in this order as one stream. A directory stands for the files under it, in name order.
    #[arg(required = true)]
    captures: Vec<PathBuf>,
    /// Warnings of [`Args::expand_inputs`] (inputs read once, `--fail-on` with no class).
    #[arg(skip)]
    input_warnings: Vec<String>,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Write the JSON report here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the changed flows (JSON lines) here.
    #[arg(long)]
    flows: Option<PathBuf>,
    /// Exit 1 when a flow of one of these classes exists (comma list of
    /// would-break, newly-allowed, reason-changed; `none` for a run that
    /// never exits 1).
    #[arg(long, default_value = "would-break")]
    fail_on: String,
    /// No summary and no progress bar.
    #[arg(long)]
    quiet: bool,
    /// Connections tracked at most per scenario (1 to 2^30): spread over 256
    /// shards of at least one entry each, so below 256 it acts as 256.
    #[arg(long, default_value_t = zprsim_dataplane::engine::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Flow-log records read at most (flow-log input only), as for
    /// `replay`: past `--flow-log-buffer` they are kept in temporary files.
    #[arg(long, default_value_t = zprsim_dataplane::flowlog::read::MAX_RECORDS_SPILLED)]
    max_flow_log_records: usize,
    /// Flow-log records held in memory before a sorted run is written to a
    /// temporary file, as for `replay`.
    #[arg(long, default_value_t = zprsim_dataplane::flowlog::spill::DEFAULT_BUFFER)]
    flow_log_buffer: usize,
    /// MiB of temporary files the flow-log records may take, as for `replay`.
    #[arg(long, default_value_t = zprsim_dataplane::flowlog::spill::DEFAULT_MAX_SPILL >> 20)]
    max_flow_log_spill: u64,
    /// Flow-log records whose window starts in one second, at most, as for
    /// `replay`.
    #[arg(long, default_value_t = zprsim_dataplane::flowlog::spill::DEFAULT_MAX_GROUP)]
    max_flow_log_group: usize,
    /// Count a packet captured on several interfaces once, as `replay
    /// --dedup` does (captures only).
    #[arg(long)]
    dedup: bool,
    /// Judge the frame inside each record's tunnel header, as `replay
    /// --decap` does (captures only).
    #[arg(long, value_enum, ignore_case = true)]
    decap: Option<crate::replay::Decap>,
    /// Leave out packets to or from this prefix, as `replay --node-local`
    /// does (captures only; repeatable).
    #[arg(long, value_name = "CIDR", value_parser = crate::replay::parse_prefix, value_delimiter = ',')]
    node_local: Vec<ipnet::IpNet>,
}

impl Args {
    /// Puts the files under each directory among the inputs in its place.
    ///
    /// # Errors
    /// A directory that cannot be read, holds no file or is past a limit.
    pub fn expand_inputs(&mut self) -> Result<(), Failure> {
        self.input_warnings = crate::replay::expand_dirs(&mut self.captures)?;
        // An empty list (an unset variable in `--fail-on "$KINDS"`) turns
        // the gate off as `none` does: kept, and said, since a CI job would
        // otherwise pass whatever breaks.
        if self.fail_on.split(',').all(|t| t.trim().is_empty()) {
            self.input_warnings.insert(
                0,
                "`--fail-on` names no class: this run never exits 1 (write `--fail-on none` to mean it)".into(),
            );
        }
        Ok(())
    }
}

/// The class of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Some packets allowed before are dropped after.
    WouldBreak,
    /// Some packets dropped before are allowed after, and none would break.
    NewlyAllowed,
    /// The same verdict for every packet, another deciding layer or rule.
    ReasonChanged,
    /// Nothing changed.
    Unchanged,
}

impl Class {
    fn parse(t: &str) -> Option<Class> {
        match t.trim() {
            "would-break" => Some(Class::WouldBreak),
            "newly-allowed" => Some(Class::NewlyAllowed),
            "reason-changed" => Some(Class::ReasonChanged),
            _ => None,
        }
    }
}

// ------------------------------------------------------------ the sink --

/// An open flow record with what changed in it.
#[derive(Debug, Clone, Copy)]
struct Open {
    first_ns: u64,
    last_ns: u64,
    first: Packet,
    src_is_a: bool,
    both: bool,
    closing: bool,
    first_verdicts: [Option<DropReason>; 2],
    would_break: u64,
    newly_allowed: u64,
    stage_changed: bool,
    breaking: Option<Packet>,
    newly: Option<Packet>,
}

/// A finished flow record of the sink.
#[derive(Debug, Clone, Copy)]
struct Done {
    key: SortKey,
    open: Open,
}

type SortKey = (
    u64,
    IpAddr,
    IpAddr,
    u8,
    Option<u16>,
    Option<u16>,
    Option<u8>,
    Option<u8>,
);

fn sort_key(first_ns: u64, p: &Packet) -> SortKey {
    let (sport, dport, t, c) = match p.l4 {
        L4::Ports { sport, dport } => (Some(sport), Some(dport), None, None),
        L4::Icmp { icmp_type, code } => (None, None, Some(icmp_type), Some(code)),
        L4::Opaque | L4::Fragment => (None, None, None, None),
    };
    (first_ns, p.src, p.dst, p.proto, sport, dport, t, c)
}

/// Keeps per flow record what changed between the two verdicts. Flow
/// records are cut as the engine cuts them (`engine/flows.rs`): same key,
/// same idle timeouts, same per-shard bounded tables, same order of
/// operations, so the finished records line up one for one.
struct DiffSink {
    tables: Vec<Option<Bounded<FlowKey, Open>>>,
    cap: usize,
    done: Vec<Done>,
    packets_would_break: u64,
    packets_newly_allowed: u64,
}

impl DiffSink {
    fn new(max_records: usize) -> DiffSink {
        DiffSink {
            tables: (0..SHARDS).map(|_| None).collect(),
            cap: (max_records / SHARDS).max(1),
            done: Vec::new(),
            packets_would_break: 0,
            packets_newly_allowed: 0,
        }
    }

    fn finish(&mut self, o: Open) {
        self.done.push(Done {
            key: sort_key(o.first_ns, &o.first),
            open: o,
        });
    }

    fn packet(&mut self, p: Packet, ts_ns: u64, tcp_flags: u8, v: [Option<DropReason>; 2]) {
        let (before_ok, after_ok) = (v[0].is_none(), v[1].is_none());
        let breaks = before_ok && !after_ok;
        let newly = !before_ok && after_ok;
        self.packets_would_break += u64::from(breaks);
        self.packets_newly_allowed += u64::from(newly);
        let key = FlowKey::of(&p);
        let cap = self.cap;
        let shard = conntrack::shard_of(&p) % SHARDS;
        let Some(slot) = self.tables.get_mut(shard) else {
            return;
        };
        let table = slot.get_or_insert_with(|| Bounded::new(cap));
        let fin = tcp_flags & (conntrack::TCP_FIN | conntrack::TCP_RST) != 0;
        let mut expired = None;
        if let Some(r) = table.get_mut(&key) {
            if ts_ns.saturating_sub(r.last_ns) <= conntrack::timeout_ns(p.proto, r.both, r.closing)
            {
                r.last_ns = r.last_ns.max(ts_ns);
                let (first_src, first_dst) = if r.src_is_a {
                    (key.a, key.b)
                } else {
                    (key.b, key.a)
                };
                let reverse = conntrack::reverses(&p, first_src, first_dst, r.first.l4);
                r.both |= reverse;
                r.closing |= fin;
                note(r, &p, v, breaks, newly);
                return;
            }
            expired = table.remove(&key);
        }
        let mut o = Open {
            first_ns: ts_ns,
            last_ns: ts_ns,
            first: p,
            src_is_a: p.src == key.a,
            both: false,
            closing: p.proto == proto::TCP && fin,
            first_verdicts: v,
            would_break: 0,
            newly_allowed: 0,
            stage_changed: false,
            breaking: None,
            newly: None,
        };
        note(&mut o, &p, v, breaks, newly);
        let evicted = table.insert(key, o);
        if let Some((_, old)) = evicted {
            self.finish(old);
        }
        if let Some(r) = expired {
            self.finish(r);
        }
    }

    /// Closes every open record (the end of the input).
    fn close(&mut self) {
        let mut rest = Vec::new();
        for t in self.tables.iter_mut().flatten() {
            rest.extend(t.drain_ordered());
        }
        for (_, o) in rest {
            self.finish(o);
        }
        self.done.sort_by_key(|d| d.key);
    }
}

fn note(o: &mut Open, p: &Packet, v: [Option<DropReason>; 2], breaks: bool, newly: bool) {
    if breaks {
        o.would_break += 1;
        o.breaking.get_or_insert(*p);
    }
    if newly {
        o.newly_allowed += 1;
        o.newly.get_or_insert(*p);
    }
    if let (Some(a), Some(b)) = (v[0], v[1])
        && a != b
    {
        o.stage_changed = true;
    }
}

impl VerdictSink for DiffSink {
    fn judged(&mut self, r: &Judged<'_>) -> std::io::Result<()> {
        if let Parsed::Ip(m) = parse_frame(r.linktype, r.data)
            && let [b, a] = r.verdicts
        {
            self.packet(m.packet, r.ts_ns, m.tcp_flags, [*b, *a]);
        }
        Ok(())
    }

    fn name(&self) -> String {
        "diff".into()
    }
}

// ---------------------------------------------------- explaining flows --

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
pub(crate) fn ids_compared(b: &Scenario, a: &Scenario) -> bool {
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
pub(crate) fn rule_content(s: &Scenario, r: RuleRef, by_id: bool) -> String {
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
fn decided(s: &Scenario, ix: &AddressIndex, p: &Packet) -> (Verdict, String, Vec<String>) {
    let d = eval::evaluate_with(s, ix, p, Context::First);
    match d.judgement.stage {
        Some(stage) => {
            let text = d
                .layers
                .iter()
                .find(|l| l.layer == stage)
                .map(layer_text)
                .unwrap_or_else(|| stage.as_str().to_owned());
            (Verdict::Drop, text, Vec::new())
        }
        None => (Verdict::Allow, String::new(), allowed_by(s, &d.deciders)),
    }
}

fn endpoint_name(s: &Scenario, ix: &AddressIndex, ip: IpAddr) -> String {
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

/// A group of changed flows.
#[derive(Debug, Default, Serialize)]
struct Group {
    /// What decides them now: for would-break flows what blocks them after
    /// (layer, rule or missing policy); for newly allowed flows what allows
    /// them after.
    reason: String,
    flows: u64,
    packets: u64,
    /// For would-break flows the rules that allowed them before; for newly
    /// allowed flows what blocked them before.
    before: BTreeSet<String>,
    /// Endpoint pairs (VNIC, subnet, attributes), with their flow counts.
    endpoints: BTreeMap<String, u64>,
}

fn add_group(
    groups: &mut BTreeMap<String, Group>,
    reason: String,
    packets: u64,
    before: Vec<String>,
    pair: String,
) {
    let g = groups.entry(reason.clone()).or_default();
    g.reason = reason;
    g.flows += 1;
    g.packets += packets;
    g.before.extend(before);
    *g.endpoints.entry(pair).or_default() += 1;
}

fn sorted(groups: BTreeMap<String, Group>) -> Vec<Group> {
    let mut v: Vec<Group> = groups.into_values().collect();
    v.sort_by(|a, b| b.flows.cmp(&a.flows).then_with(|| a.reason.cmp(&b.reason)));
    v
}

// -------------------------------------------------------------- report --

#[derive(Serialize)]
struct Side {
    scenario: String,
    packets: Totals,
    bytes: Totals,
    dropped_by_stage: StageCounts,
    zpr_audit_would_drop: u64,
}

#[derive(Serialize)]
struct Report {
    captures: Vec<String>,
    flows: FlowCounts,
    packets: PacketCounts,
    before: Side,
    after: Side,
    would_break: Vec<Group>,
    newly_allowed: Vec<Group>,
    warnings: Vec<String>,
    /// Both scenarios' own warnings, BEFORE's first (as `check --json`
    /// gives them; each names its file), also printed on standard error.
    scenario_warnings: Vec<Warning>,
    error: Option<String>,
    interrupted: bool,
    /// Records left out as copies of a packet seen on another interface
    /// (`--dedup`; 0 without it).
    copies: u64,
    /// Records judged by the frame inside their VXLAN header (`--decap
    /// vxlan`; 0 without it).
    decapsulated: u64,
    /// Records left out as traffic that stays on the node
    /// (`--node-local`; 0 without it).
    node_local: u64,
    duration_s: f64,
    workers: usize,
}

#[derive(Serialize)]
struct SideFlow {
    verdict: Verdict,
    stage: Option<Stage>,
    allowed_packets: u64,
    dropped_packets: u64,
}

impl SideFlow {
    fn of(f: &FlowRecord) -> SideFlow {
        SideFlow {
            verdict: f.verdict,
            stage: f.stage,
            allowed_packets: f.allowed_packets,
            dropped_packets: f.dropped_packets,
        }
    }
}

#[derive(Serialize)]
struct ChangedFlow<'a> {
    #[serde(flatten)]
    flow: &'a FlowRecord,
    class: Class,
    before: SideFlow,
    after: SideFlow,
}

fn check_args(a: &Args) -> Result<(BTreeSet<Class>, Plan), Failure> {
    crate::replay::check_engine_bounds(a.workers, a.max_connections)?;
    let mut fail_on = BTreeSet::new();
    let none = a.fail_on.trim() == "none";
    for t in a
        .fail_on
        .split(',')
        .filter(|t| !none && !t.trim().is_empty())
    {
        fail_on.insert(Class::parse(t).ok_or_else(|| {
            Failure::Input(format!(
                "error: `--fail-on {}`: `{}` is not a class; expected `would-break`, `newly-allowed` or `reason-changed` (or `none` alone)",
                a.fail_on,
                t.trim()
            ))
        })?);
    }
    let mut plan = Plan::new();
    plan.input("BEFORE", &a.before).input("AFTER", &a.after);
    for c in &a.captures {
        plan.input("CAPTURE", c);
    }
    for (flag, path) in [("--report", &a.report), ("--flows", &a.flows)] {
        if let Some(p) = path {
            plan.output(flag, p);
        }
    }
    if !a.quiet {
        plan.standard_output();
    }
    plan.check()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    Ok((fail_on, plan))
}

fn load(
    plan: &Plan,
    flag: &str,
    path: &std::path::Path,
) -> Result<(zprsim_control::load::Loaded, Arc<Compiled>), Failure> {
    let loaded = crate::load_scenario(plan, flag, path)?;
    let c = Compiled::new(&loaded.scenario, &Config::default()).map_err(|e| {
        Failure::Input(format!(
            "{}: error: {e}",
            zprsim_dataplane::output::shown(path)
        ))
    })?;
    Ok((loaded, Arc::new(c)))
}

/// The first packet's reason in each scenario is compared by content;
/// only when both re-judged verdicts are the ones the pass gave (the
/// first packet of a record can be a reply of a tracked connection).
fn first_reason_changed(
    (b, ib): (&Scenario, &AddressIndex),
    (a, ia): (&Scenario, &AddressIndex),
    o: &Open,
    by_id: bool,
) -> bool {
    let p = &o.first;
    let db = eval::evaluate_with(b, ib, p, Context::First);
    let da = eval::evaluate_with(a, ia, p, Context::First);
    let agrees = |d: &zprsim_control::verdict::Decision, v: Option<DropReason>| {
        d.judgement.stage.map(DropReason::of_stage) == v
    };
    if !agrees(&db, o.first_verdicts[0]) || !agrees(&da, o.first_verdicts[1]) {
        return false;
    }
    let names = |s: &Scenario, d: &Deciders| -> Vec<Option<String>> {
        deciders(d)
            .into_iter()
            .map(|r| r.map(|r| rule_content(s, r, by_id)))
            .collect()
    };
    names(b, &db.deciders) != names(a, &da.deciders)
}

/// Runs `diff`.
#[allow(clippy::too_many_lines)]
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    let (fail_on, plan) = check_args(a)?;
    // Flow-log files instead of captures: judged record by record.
    if let Some(code) = crate::flowlog_diff::diff_if_flow_logs(&crate::flowlog_diff::Inputs {
        plan: &plan,
        before: &a.before,
        after: &a.after,
        inputs: &a.captures,
        input_warnings: &a.input_warnings,
        max_records: a.max_flow_log_records,
        spill: zprsim_dataplane::flowlog::spill::SpillConfig {
            buffer: a.flow_log_buffer.max(1),
            max_spill: a.max_flow_log_spill.saturating_mul(1 << 20),
            max_group: a.max_flow_log_group.max(1),
            max_connections: a.max_connections,
            dir: None,
        },
        report: a.report.as_deref(),
        flows: a.flows.as_deref(),
        fail_on: &fail_on,
        capture_flags: a.dedup || a.decap.is_some() || !a.node_local.is_empty(),
        quiet: a.quiet,
    })? {
        return Ok(code);
    }
    let interrupt = Interrupt::install()?;
    let mut report_out = a
        .report
        .as_ref()
        .map(|p| OutputFile::create("--report", p))
        .transpose()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    let mut flows_out = a
        .flows
        .as_ref()
        .map(|p| OutputFile::create("--flows", p))
        .transpose()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    let (lb, cb) = load(&plan, "BEFORE", &a.before)?;
    let (la, ca) = load(&plan, "AFTER", &a.after)?;
    let (sb, sa) = (&lb.scenario, &la.scenario);
    // Each flow's endpoints and first packet are looked up in both
    // scenarios: through the model's address index, not a scan of every
    // VNIC's addresses per look-up (86% of a diff of 100,000 flows on
    // 10,000 VNICs, perf).
    let (ib, ia) = (AddressIndex::new(sb), AddressIndex::new(sa));
    let mut source =
        CaptureFiles::open(&a.captures).map_err(|e| Failure::Input(format!("error: {e}")))?;
    let cfg = EngineConfig {
        workers: a.workers,
        max_connections: a.max_connections,
        max_flow_records: a.max_connections,
        keep_flows: true,
        // Runs of closed flow records spill beside the flow log, else
        // beside the report (where the user has room for outputs), else in
        // `$TMPDIR`, as `replay` does.
        spool_dir: flows_out
            .as_ref()
            .and_then(OutputFile::scratch_dir)
            .or_else(|| report_out.as_ref().and_then(OutputFile::scratch_dir)),
        stop: Some(Arc::clone(&interrupt.stop)),
        dedup: a.dedup,
        decap_vxlan: a.decap == Some(crate::replay::Decap::Vxlan),
        node_local: a.node_local.clone(),
        ..EngineConfig::default()
    };
    let mut sink = DiffSink::new(cfg.max_flow_records);
    let show_progress = !a.quiet && std::io::stderr().is_terminal();
    let bar = report::progress_bar(show_progress);
    let progress = |done: u64, total: u64| report::progress_to(bar.as_ref(), done, total);
    let sinks = Sinks {
        verdicts: Some(&mut sink),
        progress: Some(&progress),
        ..Sinks::default()
    };
    let o = engine::run(
        &[Arc::clone(&cb), Arc::clone(&ca)],
        &mut source,
        &cfg,
        sinks,
    )
    .map_err(|e| match e {
        EngineError::Internal(m) => Failure::Internal(m),
        other => Failure::Input(format!("error: {other}")),
    })?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    sink.close();
    let [before, after] = o.scenarios.as_slice() else {
        return Err(Failure::Internal(
            "the engine returned another number of scenarios".into(),
        ));
    };
    if before.flows.len() != sink.done.len() || after.flows.len() != sink.done.len() {
        return Err(Failure::Internal(format!(
            "flow records do not line up: before {}, after {}, diff {}",
            before.flows.len(),
            after.flows.len(),
            sink.done.len()
        )));
    }
    let mut counts = FlowCounts::default();
    let mut wb_groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut na_groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut lines = String::new();
    let by_id = ids_compared(sb, sa);
    for ((fb, fa), d) in before.flows.iter().zip(&after.flows).zip(&sink.done) {
        let k = &d.key;
        if (
            fb.src,
            fb.dst,
            fb.proto,
            fb.sport,
            fb.dport,
            fb.icmp_type,
            fb.icmp_code,
        ) != (k.1, k.2, k.3, k.4, k.5, k.6, k.7)
            || (fa.src, fa.dst, fa.packets) != (fb.src, fb.dst, fb.packets)
        {
            return Err(Failure::Internal(format!(
                "flow records do not line up at {} -> {}",
                fb.src, fb.dst
            )));
        }
        let o = &d.open;
        let class = if o.would_break > 0 {
            Class::WouldBreak
        } else if o.newly_allowed > 0 {
            Class::NewlyAllowed
        } else if o.stage_changed || first_reason_changed((sb, &ib), (sa, &ia), o, by_id) {
            Class::ReasonChanged
        } else {
            Class::Unchanged
        };
        let pair = format!(
            "{} -> {}",
            endpoint_name(sb, &ib, fb.src),
            endpoint_name(sb, &ib, fb.dst)
        );
        match class {
            Class::WouldBreak => {
                counts.would_break += 1;
                let p = o.breaking.unwrap_or(o.first);
                let (va, why_after, _) = decided(sa, &ia, &p);
                let reason = if va == Verdict::Drop {
                    why_after
                } else {
                    "dropped as a later packet: allowed on its own, but its connection is not tracked after the change".to_owned()
                };
                let (vb, _, by) = decided(sb, &ib, &p);
                let before_by = if vb == Verdict::Allow {
                    by
                } else {
                    vec!["a tracked connection (a reply)".to_owned()]
                };
                add_group(&mut wb_groups, reason, o.would_break, before_by, pair);
            }
            Class::NewlyAllowed => {
                counts.newly_allowed += 1;
                let p = o.newly.unwrap_or(o.first);
                let (va, _, by) = decided(sa, &ia, &p);
                let reason = if va == Verdict::Allow {
                    format!("allowed by {}", by.join(", "))
                } else {
                    "allowed as a reply of a connection tracked after the change".to_owned()
                };
                let (vb, why_before, _) = decided(sb, &ib, &p);
                let before = if vb == Verdict::Drop {
                    vec![why_before]
                } else {
                    vec!["dropped as a later packet of an untracked connection".to_owned()]
                };
                add_group(&mut na_groups, reason, o.newly_allowed, before, pair);
            }
            Class::ReasonChanged => counts.reason_changed += 1,
            Class::Unchanged => counts.unchanged += 1,
        }
        if class != Class::Unchanged && flows_out.is_some() {
            let line = ChangedFlow {
                flow: fb,
                class,
                before: SideFlow::of(fb),
                after: SideFlow::of(fa),
            };
            lines.push_str(&serde_json::to_string(&line)?);
            lines.push('\n');
        }
    }
    let side = |path: &PathBuf, k: &zprsim_dataplane::judge::Counters| Side {
        scenario: path.display().to_string(),
        packets: k.packets,
        bytes: k.bytes,
        dropped_by_stage: StageCounts::of(k),
        zpr_audit_would_drop: k.zpr_audit_would_drop,
    };
    let r = Report {
        captures: a.captures.iter().map(|p| p.display().to_string()).collect(),
        packets: PacketCounts {
            total: before.counters.packets.total,
            would_break: sink.packets_would_break,
            newly_allowed: sink.packets_newly_allowed,
        },
        flows: counts,
        before: side(&a.before, &before.counters),
        after: side(&a.after, &after.counters),
        would_break: sorted(wb_groups),
        newly_allowed: sorted(na_groups),
        warnings: a
            .input_warnings
            .iter()
            .chain(&o.warnings)
            .cloned()
            .collect(),
        scenario_warnings: lb.warnings.iter().chain(&la.warnings).cloned().collect(),
        error: o.error.clone(),
        interrupted: o.interrupted,
        copies: before.counters.copies,
        decapsulated: before.counters.decapsulated,
        node_local: before.counters.node_local,
        duration_s: o.duration_s,
        workers: o.workers,
    };
    if let Some(f) = flows_out.as_mut()
        && let Err(e) = f.write_all(lines.as_bytes())
    {
        return Err(Failure::Input(format!(
            "error: --flows `{}`: {e}",
            f.path().display()
        )));
    }
    if let Some(f) = report_out.as_mut() {
        let res = serde_json::to_writer_pretty(&mut *f, &r)
            .map_err(std::io::Error::from)
            .and_then(|()| f.write_all(b"\n"));
        if let Err(e) = res {
            return Err(Failure::Input(format!(
                "error: --report `{}`: {e}",
                f.path().display()
            )));
        }
    }
    for f in flows_out.into_iter().chain(report_out) {
        f.commit()
            .map_err(|e| Failure::Input(format!("error: {e}")))?;
    }
    report::print_warnings(lb.warnings.iter().chain(&la.warnings), &r.warnings);
    if !a.quiet {
        crate::summary_out(&summary(a, &r), &[a.report.as_deref(), a.flows.as_deref()])?;
    }
    if let Some(e) = &o.error {
        return Err(Failure::Input(format!("error: {e}")));
    }
    if o.interrupted {
        crate::err("interrupted: the outputs hold the packets judged before it\n");
        return Ok(ExitCode::from(interrupt.exit_code()));
    }
    let found = |c: Class| match c {
        Class::WouldBreak => r.flows.would_break > 0,
        Class::NewlyAllowed => r.flows.newly_allowed > 0,
        Class::ReasonChanged => r.flows.reason_changed > 0,
        Class::Unchanged => false,
    };
    Ok(if fail_on.iter().any(|c| found(*c)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Groups printed in the summary (the report has them all).
const GROUPS_SHOWN: usize = 10;

fn summary(a: &Args, r: &Report) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "diff {} -> {} on {} packet(s), {} flow(s)",
        a.before.display(),
        a.after.display(),
        r.packets.total,
        r.flows.would_break + r.flows.newly_allowed + r.flows.reason_changed + r.flows.unchanged
    );
    let _ = writeln!(
        t,
        "  would break     {:>8} flow(s) {:>10} packet(s)",
        r.flows.would_break, r.packets.would_break
    );
    let _ = writeln!(
        t,
        "  newly allowed   {:>8} flow(s) {:>10} packet(s)",
        r.flows.newly_allowed, r.packets.newly_allowed
    );
    let _ = writeln!(t, "  reason changed  {:>8} flow(s)", r.flows.reason_changed);
    let _ = writeln!(t, "  unchanged       {:>8} flow(s)", r.flows.unchanged);
    for (name, s) in [("before", &r.before), ("after", &r.after)] {
        let _ = writeln!(
            t,
            "  {name:<6} allowed {}, dropped {} ({})",
            s.packets.allowed,
            s.packets.dropped,
            s.dropped_by_stage.line()
        );
    }
    for (title, groups, before_label) in [
        (
            "would break, by what blocks them after:",
            &r.would_break,
            "allowed before by",
        ),
        (
            "newly allowed, by what allows them after:",
            &r.newly_allowed,
            "blocked before by",
        ),
    ] {
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(t, "{title}");
        for g in groups.iter().take(GROUPS_SHOWN) {
            let _ = writeln!(
                t,
                "  {} flow(s), {} packet(s): {}",
                g.flows, g.packets, g.reason
            );
            let before: Vec<&str> = g.before.iter().map(String::as_str).collect();
            let _ = writeln!(t, "      {before_label}: {}", before.join("; "));
            for (pair, n) in g.endpoints.iter().take(5) {
                let _ = writeln!(t, "      {pair}: {n} flow(s)");
            }
            if g.endpoints.len() > 5 {
                let _ = writeln!(
                    t,
                    "      ... {} more endpoint pair(s)",
                    g.endpoints.len() - 5
                );
            }
        }
        if groups.len() > GROUPS_SHOWN {
            let _ = writeln!(
                t,
                "  ... {} more group(s) in the report",
                groups.len() - GROUPS_SHOWN
            );
        }
    }
    t
}
