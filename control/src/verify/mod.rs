//! `verify`: are the paths a network must keep open still open, and the
//! ones it must keep closed still closed?
//!
//! An expectations file (`EXPECT.toml`, format in `docs/verify.md`) lists
//! named paths: `from` and `to` selectors, a protocol, ports or ICMP type,
//! and `expect = "allow" | "deny"`; `[[include]]` adds the paths of a ready
//! pack ([`packs`]) with its roles bound to selectors. [`read`] resolves
//! every name against the scenario (errors carry file, line and column);
//! [`run`] judges each path over every pair of a source and a destination
//! address, with work that grows with the distinct behaviours, not the
//! pairs:
//!
//! 1. each selector expands to addresses ([`selector::expand`], once per
//!    distinct selector), grouped by the compiled table's address class and
//!    family ([`group`]); the addresses expanded ([`Limits::max_endpoints`])
//!    and the judgements of all paths ([`Limits::max_judgements`]: pairs of
//!    groups, plus a sample, times port runs) are checked before any path
//!    is judged; endpoint pairs are counted (`u64`), never listed. A pair of
//!    one address with itself, or of two address families, or of a family
//!    the protocol does not fit (ICMP is IPv4, ICMPv6 is IPv6) is skipped;
//! 2. a destination port range is judged exactly, without judging every
//!    port: the compiler cuts ports into service classes at every boundary
//!    any rule or statement mentions, and every port of one class is judged
//!    alike; so one probe per run of equal classes inside the range
//!    ([`port_runs`]) covers the whole range;
//! 3. each pair of groups is judged once per run, on a representative
//!    pair, by the compiled table and by the reference evaluator; every
//!    endpoint pair of the two groups gets that judgement (the compiled
//!    judgement is a function of the two address classes and the service
//!    class), so the counts are exact sums. Any difference between the
//!    engines is a [`RunError::Disagree`] (exit 3 in the CLI), as in
//!    `explain`; a sample of [`SAMPLED_PAIRS`] endpoint pairs per path,
//!    chosen by position alone, is judged by both engines too;
//! 4. the first [`Limits::max_failures_kept`] failing pairs, in source-major
//!    expansion order, are judged again one by one: each keeps its first
//!    failing probe as the witness, the deciding layer and rule (or
//!    missing policy), and for a path that should be open, every layer that
//!    blocks it ([`crate::eval::every_layer`]): texts that name the pair's
//!    own VNICs, so never shared within a class.
//!
//! Pure: the caller reads the files (packs named by file go through
//! [`SourceFiles`]).

mod expect;
mod group;
pub mod packs;
pub mod selector;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::rc::Rc;

use serde::Serialize;

use crate::compile::{Compiled, rule_text};
use crate::eval;
use crate::load::SourceFiles;
use crate::model::{PortRange, Scenario, proto};
use crate::packet::{L4, Packet};
use crate::verdict::{Context, Decision, LayerReport, Outcome, RuleRef, Stage, Verdict};

use group::Endpoints;
pub use selector::Selector;

/// Limits, each checked before the work it bounds.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Size of the expectations file and of each pack file.
    pub max_file_bytes: usize,
    /// Paths, packs included.
    pub max_paths: usize,
    /// Addresses the selectors expand to, over every path (a selector
    /// used by several paths counted once); checked as each is expanded.
    pub max_endpoints: usize,
    /// Judgements of one run, each by both engines, over every path:
    /// (pairs of address classes + sampled endpoint pairs) × port runs.
    /// Endpoint pairs are counted, not judged one by one, so they have no
    /// limit of their own.
    pub max_judgements: u64,
    /// Failing pairs kept per path (all are counted).
    pub max_failures_kept: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 4 * 1024 * 1024,
            max_paths: 10_000,
            max_endpoints: 2_000_000,
            max_judgements: 2_000_000,
            max_failures_kept: 100,
        }
    }
}

/// Where something was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// File name as messages show it.
    pub file: String,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        Ok(())
    }
}

/// A problem in an expectations file or a pack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: error: {message}")]
pub struct VerifyError {
    /// Where.
    pub location: Location,
    /// What, for people.
    pub message: String,
}

/// Why [`run`] stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// A limit would be exceeded (bad input: exit 2).
    #[error("{0}")]
    Limit(String),
    /// The compiled table and the reference evaluator disagree (a bug: exit 3).
    #[error("{0}")]
    Disagree(String),
}

/// What a path expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    /// Every judged packet is allowed.
    Allow,
    /// Every judged packet is dropped.
    Deny,
}

impl Expect {
    /// `allow` or `deny`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
        }
    }
}

/// Which layers a path is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every layer: route, security lists and NSGs, ZPR (the default).
    All,
    /// Route, security lists and NSGs only: "open" means the packet reaches
    /// the ZPR stage (ZPR may still drop it), "closed" means an earlier
    /// layer drops it. For required paths OCI documents as security rules
    /// while ZPR policy is the workload owner's choice.
    Network,
}

/// The packets a path sends, apart from the addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// TCP or UDP: one source port, a destination port range.
    Ports {
        /// Source port (49152 when not given).
        sport: u16,
        /// Destination ports.
        dport: PortRange,
    },
    /// ICMP or ICMPv6.
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
    },
    /// Any other protocol.
    Opaque,
}

/// One path, resolved against the scenario.
#[derive(Debug, Clone)]
pub struct PathSpec {
    /// Its name (`PACK/NAME` for a pack's path).
    pub name: String,
    /// Where it was written (the pack file for a pack's path).
    pub location: Location,
    /// Source selector.
    pub from: Selector,
    /// Destination selector.
    pub to: Selector,
    /// The source selector as written.
    pub from_text: String,
    /// The destination selector as written.
    pub to_text: String,
    /// Protocol number.
    pub proto: u8,
    /// Ports or ICMP fields.
    pub probe: Probe,
    /// Allow or deny.
    pub expect: Expect,
    /// Layers judged.
    pub scope: Scope,
    /// Why the path matters.
    pub why: Option<String>,
    /// Skipped by the expectations file (`skip` of an include).
    pub skipped: bool,
}

/// Reads an expectations file against a scenario.
///
/// # Errors
/// A [`VerifyError`] with the file, line and column of the first problem:
/// syntax, unknown fields, unknown names, packs, roles, bad ports.
pub fn read(
    s: &Scenario,
    text: &str,
    file: &str,
    files: &dyn SourceFiles,
    limits: &Limits,
) -> Result<Vec<PathSpec>, VerifyError> {
    expect::read(s, text, file, files, limits)
}

/// One failing endpoint pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairFailure {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The witness: the first probe of the pair that fails.
    pub packet: String,
    /// For a port range: every destination port run of the pair that
    /// fails, adjacent runs joined, as `lo-hi` (the witness is the first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing_ports: Vec<String>,
    /// The witness's verdict.
    pub verdict: Verdict,
    /// The layer that dropped it (null when allowed).
    pub stage: Option<Stage>,
    /// The deciding rule text: for a drop, the layer and the rule, the
    /// missing rule or the missing policy behind it; for an allowed packet
    /// of a path that should be closed, every rule and statement that let
    /// it through.
    pub rule: String,
    /// For a path that should be open: every layer that blocks the witness
    /// on its own (`layer: why`), not only the first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<String>,
}

/// The result of one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathResult {
    /// Name.
    pub name: String,
    /// Allow or deny.
    pub expect: Expect,
    /// Layers judged.
    pub scope: Scope,
    /// Whether every pair met the expectation (a skipped path is ok).
    pub ok: bool,
    /// Skipped by the expectations file.
    pub skipped: bool,
    /// Source selector as written.
    pub from: String,
    /// Destination selector as written.
    pub to: String,
    /// Endpoint pairs judged.
    pub pairs: u64,
    /// Probes judged (pairs × destination port runs).
    pub probes: u64,
    /// Pairs of address classes judged (of one family each): every
    /// endpoint pair of a class pair gets the same judgements, so each is
    /// judged once per port run (see [`run_until`]).
    pub class_pairs: u64,
    /// Failing pairs (all of them; `failed` keeps the first ones).
    pub failed_pairs: u64,
    /// Allowed probes that an `audit` attribute would deny once enforced.
    pub audit_would_deny: u64,
    /// Why the path matters, from the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// A failure that is not about a pair (a selector matched nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failing pairs (at most [`Limits::max_failures_kept`]).
    pub failed: Vec<PairFailure>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// One result per path, in file order (included packs first).
    pub paths: Vec<PathResult>,
    /// Paths not ok.
    pub failed: usize,
    /// Paths skipped.
    pub skipped: usize,
    /// The addresses `internet` stood for.
    pub internet: Vec<IpAddr>,
    /// The run was stopped ([`run_until`]) before every path was judged:
    /// `paths` holds the ones judged whole, in file order, and no more.
    pub interrupted: bool,
}

/// The destination port runs of a range: each `(lo, hi)` is a maximal run
/// of ports inside `range` that fall in one service class of the compiled
/// table (for `sport`), so judging `lo` judges every port of the run.
#[must_use]
pub fn port_runs(c: &Compiled, protocol: u8, sport: u16, range: PortRange) -> Vec<(u16, u16)> {
    let mut runs: Vec<(u16, u16)> = Vec::new();
    let mut last = None;
    for port in range.min..=range.max {
        let class = c.service_class(protocol, L4::Ports { sport, dport: port });
        match runs.last_mut() {
            Some(run) if last == Some(class) => run.1 = port,
            _ => runs.push((port, port)),
        }
        last = Some(class);
    }
    runs
}

fn family_fits(protocol: u8, a: IpAddr, b: IpAddr) -> bool {
    if a.is_ipv4() != b.is_ipv4() {
        return false;
    }
    match protocol {
        proto::ICMP => a.is_ipv4(),
        proto::ICMPV6 => a.is_ipv6(),
        _ => true,
    }
}

/// Whether a judgement meets an expectation.
fn meets(expect: Expect, scope: Scope, verdict: Verdict, stage: Option<Stage>) -> bool {
    let open = match scope {
        Scope::All => verdict == Verdict::Allow,
        Scope::Network => verdict == Verdict::Allow || stage == Some(Stage::Zpr),
    };
    match expect {
        Expect::Allow => open,
        Expect::Deny => !open,
    }
}

/// The deciding layer of a drop in words: the layer, the object evaluated
/// and why.
#[must_use]
pub fn layer_text(l: &LayerReport) -> String {
    let mut t = format!("{} {}", l.layer.as_str(), l.outcome.as_str());
    let mut parts: Vec<String> = Vec::new();
    if let Some(table) = &l.route_table {
        let mut p = format!("route table `{table}`");
        if let Some(i) = l.route_rule {
            p.push_str(&format!(" rule #{i}"));
        }
        if let (Some(d), Some(tg)) = (&l.destination, &l.target) {
            p.push_str(&format!(" ({d} -> {tg})"));
        }
        parts.push(p);
    }
    if let Some(v) = &l.vnic {
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
        let mut p = format!("at VNIC `{v}`");
        if let Some(r) = &l.rule {
            let kind = if r.kind == "nsg" {
                "NSG"
            } else {
                "security list"
            };
            p.push_str(&format!(
                ": {kind} `{}` rule #{}: {}",
                r.name, r.index, r.rule
            ));
        } else if !evaluated.is_empty() {
            p.push_str(&format!(" (evaluated {})", evaluated.join(", ")));
        }
        parts.push(p);
    }
    for c in &l.checks {
        if matches!(
            c.outcome,
            Outcome::Denied | Outcome::MissingPolicy | Outcome::AuditWouldDeny
        ) {
            let mut p = format!(
                "{} check at `{}` ({}): {}",
                c.check,
                c.endpoint,
                c.mode,
                c.outcome.as_str()
            );
            if let Some(r) = &c.reason {
                p.push_str(&format!(" ({r})"));
            }
            parts.push(p);
        }
    }
    if let Some(r) = &l.reason {
        parts.push(r.clone());
    }
    if !parts.is_empty() {
        t.push_str(": ");
        t.push_str(&parts.join("; "));
    }
    t
}

fn blocks(l: &LayerReport) -> bool {
    matches!(
        l.outcome,
        Outcome::NoRoute | Outcome::Denied | Outcome::MissingPolicy
    )
}

fn rule_name(s: &Scenario, r: RuleRef) -> String {
    match r {
        RuleRef::Statement(st) => format!("{}: {}", rule_text(s, r), s.statement(st).text),
        other => rule_text(s, other),
    }
}

/// Judges one probe with both engines; they must agree.
fn judge(s: &Scenario, c: &Compiled, p: &Packet) -> Result<Decision, RunError> {
    crate::agree::judge_both(s, c, p, Context::First).map_err(RunError::Disagree)
}

/// What `verify` says of one failing pair: `p` is its witness probe and
/// `d` its decision (by the reference evaluator, [`crate::agree`]); the
/// packet, the deciding rule text and, for a path that should be open,
/// every layer that blocks it. `failing_ports` is left empty.
#[must_use]
pub fn pair_failure(s: &Scenario, path: &PathSpec, p: &Packet, d: &Decision) -> PairFailure {
    let j = d.judgement;
    let (rule, blocked_by) = match j.stage {
        Some(stage) if path.expect == Expect::Allow => {
            let decided = d
                .layers
                .iter()
                .find(|l| l.layer == stage)
                .map(layer_text)
                .unwrap_or_default();
            let blocked = eval::every_layer(s, p)
                .iter()
                .filter(|l| blocks(l) && !(path.scope == Scope::Network && l.layer == Stage::Zpr))
                .map(layer_text)
                .collect();
            (decided, blocked)
        }
        _ => {
            // Open while it should be closed (or dropped only by ZPR in the
            // network scope): what let it through.
            let dd = &d.deciders;
            let mut by: Vec<String> = [
                dd.route,
                dd.egress,
                dd.ingress,
                dd.zpr_egress,
                dd.zpr_ingress,
            ]
            .into_iter()
            .flatten()
            .map(|r| rule_name(s, r))
            .collect();
            by.dedup();
            let mut text = if by.is_empty() {
                "allowed by the implicit local route; no security rule or ZPR statement applies"
                    .to_owned()
            } else {
                format!("allowed by {}", by.join(", "))
            };
            if let Some(zpr) = d
                .layers
                .iter()
                .find(|l| l.layer == Stage::Zpr && j.stage == Some(Stage::Zpr))
            {
                text = format!(
                    "route, security lists and NSGs allow it; {}",
                    layer_text(zpr)
                );
            }
            (text, Vec::new())
        }
    };
    PairFailure {
        src: p.src,
        dst: p.dst,
        packet: p.to_string(),
        failing_ports: Vec::new(),
        verdict: j.verdict,
        stage: j.stage,
        rule,
        blocked_by,
    }
}

/// Adjacent runs joined, written `lo-hi` (or `p` for one port).
fn merged_runs(runs: &[(u16, u16)]) -> Vec<String> {
    let mut merged: Vec<(u16, u16)> = Vec::new();
    for &(lo, hi) in runs {
        match merged.last_mut() {
            Some(last) if u32::from(last.1) + 1 == u32::from(lo) => last.1 = hi,
            _ => merged.push((lo, hi)),
        }
    }
    merged
        .into_iter()
        .map(|(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect()
}

fn no_pairs(path: &PathSpec, error: String) -> PathResult {
    PathResult {
        name: path.name.clone(),
        expect: path.expect,
        scope: path.scope,
        ok: false,
        skipped: false,
        from: path.from_text.clone(),
        to: path.to_text.clone(),
        pairs: 0,
        probes: 0,
        class_pairs: 0,
        failed_pairs: 0,
        audit_would_deny: 0,
        why: path.why.clone(),
        error: Some(error),
        failed: Vec::new(),
    }
}

/// The port runs of a path ([`port_runs`]; one `None` for a path without
/// ports), shared by the paths of one protocol, source port and range.
type Runs = Rc<Vec<Option<(u16, u16)>>>;

/// What [`run`] found a path to need, before judging any.
enum Planned {
    /// Its result already (skipped, or a selector that matches no
    /// endpoint): nothing to judge.
    Done(PathResult),
    /// Sources, destinations and port runs to judge.
    Judge {
        srcs: Rc<Endpoints>,
        dsts: Rc<Endpoints>,
        runs: Runs,
    },
}

/// Judges every path.
///
/// # Errors
/// [`RunError::Limit`] before any path is judged, when the selectors
/// expand to too many addresses or the judgements of all paths exceed
/// [`Limits::max_judgements`]; [`RunError::Disagree`] when the two engines
/// differ.
pub fn run(
    s: &Scenario,
    c: &Compiled,
    paths: &[PathSpec],
    limits: &Limits,
) -> Result<Report, RunError> {
    run_until(s, c, paths, limits, &|| false)
}

/// Judgements made between two looks at the stop request.
const JUDGEMENTS_BETWEEN_STOP_CHECKS: u64 = 256;

/// Endpoint pairs of a path judged by both engines at every port run,
/// spread evenly over all its pairs, whatever their classes: the check of
/// the reference evaluator that does not rest on the compiler's classes.
pub const SAMPLED_PAIRS: u64 = 16;

/// The probe of a path at one port run, between two addresses.
fn probe(path: &PathSpec, a: IpAddr, b: IpAddr, run: Option<(u16, u16)>) -> Packet {
    let l4 = match (path.probe, run) {
        (Probe::Ports { sport, .. }, Some((lo, _))) => L4::Ports { sport, dport: lo },
        (Probe::Icmp { icmp_type, code }, _) => L4::Icmp { icmp_type, code },
        _ => L4::Opaque,
    };
    Packet {
        src: a,
        dst: b,
        proto: path.proto,
        l4,
    }
}

/// The families a path judges: IPv4, IPv6, or both (never across them).
fn families(protocol: u8) -> &'static [bool] {
    match protocol {
        proto::ICMP => &[true],
        proto::ICMPV6 => &[false],
        _ => &[true, false],
    }
}

/// The pairs the sample of a path judges: [`SAMPLED_PAIRS`] positions
/// evenly spaced over the grid of all `(source, destination)` positions,
/// in grid order; positions that are not judged pairs (one address with
/// itself, two families, a family the protocol does not fit) are dropped.
fn sample(path: &PathSpec, srcs: &Endpoints, dsts: &Endpoints) -> Vec<(IpAddr, IpAddr)> {
    let (ns, nd) = (srcs.addrs.len() as u128, dsts.addrs.len() as u128);
    let grid = ns * nd;
    let n = grid.min(u128::from(SAMPLED_PAIRS));
    let mut out = Vec::new();
    for k in 0..n {
        let t = k * grid / n;
        // t < ns × nd, so both indices are in range.
        let (i, j) = ((t / nd) as usize, (t % nd) as usize);
        let (a, b) = (srcs.addrs[i], dsts.addrs[j]);
        if a != b && family_fits(path.proto, a, b) {
            out.push((a, b));
        }
    }
    out
}

/// The endpoints of a selector, expanded and grouped once per run;
/// `None` when the addresses expanded so far pass `max`.
fn expand_once<'p>(
    s: &Scenario,
    c: &Compiled,
    expanded: &mut HashMap<&'p Selector, Rc<Endpoints>>,
    sel: &'p Selector,
    endpoints: &mut usize,
    max: usize,
) -> Option<Rc<Endpoints>> {
    if let Some(e) = expanded.get(sel) {
        return Some(Rc::clone(e));
    }
    let addrs = selector::expand(s, sel);
    *endpoints = endpoints.saturating_add(addrs.len());
    if *endpoints > max {
        return None;
    }
    let e = Rc::new(Endpoints::new(c, addrs));
    expanded.insert(sel, Rc::clone(&e));
    Some(e)
}

/// Counts the judgements made and looks at the stop request every
/// [`JUDGEMENTS_BETWEEN_STOP_CHECKS`] of them.
struct Pace<'a> {
    judged: u64,
    stop: &'a dyn Fn() -> bool,
}

impl Pace<'_> {
    /// One more judgement; whether to stop.
    fn tick(&mut self) -> bool {
        self.judged += 1;
        self.judged.is_multiple_of(JUDGEMENTS_BETWEEN_STOP_CHECKS) && (self.stop)()
    }
}

/// One failing pair of groups: its witness run and failing runs.
struct GroupFailure {
    /// Index in the path's runs of the first failing probe.
    witness: usize,
    /// The failing runs, adjacent ones joined.
    failing_ports: Vec<String>,
    /// The witness's judgement (every pair of the groups gets it).
    judgement: crate::verdict::Judgement,
}

/// [`run`], looking at `stop` before each path and every
/// [`JUDGEMENTS_BETWEEN_STOP_CHECKS`] judgements (a Ctrl-C in the CLI):
/// once it says stop, the report holds the paths judged whole and says it
/// is [`Report::interrupted`].
///
/// # How a path is judged
/// Its sources and destinations are grouped by (address class of the
/// compiled table, family) ([`group`]). For every pair of groups of one
/// family that fits the protocol, each port run is judged once, on a
/// representative pair of the groups, by both engines: the compiled table
/// gives every endpoint pair of the two groups that judgement (its
/// judgement is a function of the two classes and the service class), so
/// the counts (`pairs`, `probes`, `failed_pairs`, `audit_would_deny`) are
/// sums over pairs of groups, each weighted by the endpoint pairs it
/// stands for. The failing pairs listed are the first
/// [`Limits::max_failures_kept`] in source-major order (sources in
/// expansion order, then destinations in expansion order, as a loop over
/// every pair would meet them); each is judged again on its own witness
/// probe, by both engines, so its packet, deciding rule text and blocking
/// layers are its own (they name VNICs, not classes). Besides, a sample of
/// [`SAMPLED_PAIRS`] endpoint pairs per path, spread over all pairs
/// whatever their classes, is judged by both engines at every run.
///
/// # Errors
/// As [`run`].
pub fn run_until(
    s: &Scenario,
    c: &Compiled,
    paths: &[PathSpec],
    limits: &Limits,
    stop: &dyn Fn() -> bool,
) -> Result<Report, RunError> {
    // Every limit is checked for every path before any is judged: a file
    // whose tenth path is too wide is refused at once, not after the nine
    // before it were judged. A selector used by several paths is expanded
    // and grouped once.
    let mut planned = Vec::with_capacity(paths.len());
    let mut expanded: HashMap<&Selector, Rc<Endpoints>> = HashMap::new();
    let mut walked: HashMap<(u8, u16, u16, u16), Runs> = HashMap::new();
    let mut endpoints: usize = 0;
    let mut judgements_total: u64 = 0;
    for path in paths {
        if path.skipped {
            let mut r = no_pairs(path, String::new());
            r.ok = true;
            r.skipped = true;
            r.error = None;
            planned.push(Planned::Done(r));
            continue;
        }
        let too_many = || {
            RunError::Limit(format!(
                "{}: error: path `{}`: the selectors expand to over {} addresses in all (each distinct selector counted once; the limit): narrow `from` or `to`",
                path.location, path.name, limits.max_endpoints
            ))
        };
        let mut side = |sel| {
            expand_once(
                s,
                c,
                &mut expanded,
                sel,
                &mut endpoints,
                limits.max_endpoints,
            )
            .ok_or_else(too_many)
        };
        let srcs = side(&path.from)?;
        let dsts = side(&path.to)?;
        if srcs.addrs.is_empty() || dsts.addrs.is_empty() {
            let empty = if srcs.addrs.is_empty() {
                &path.from_text
            } else {
                &path.to_text
            };
            planned.push(Planned::Done(no_pairs(
                path,
                format!("`{empty}` matches no endpoint"),
            )));
            continue;
        }
        // A walk over the range's ports, once per distinct (protocol,
        // source port, range): the OKE pack has a dozen paths on 1-65535.
        let runs: Runs = match path.probe {
            Probe::Ports { sport, dport } => Rc::clone(
                walked
                    .entry((path.proto, sport, dport.min, dport.max))
                    .or_insert_with(|| {
                        Rc::new(
                            port_runs(c, path.proto, sport, dport)
                                .into_iter()
                                .map(Some)
                                .collect(),
                        )
                    }),
            ),
            _ => Rc::new(vec![None]),
        };
        // Pairs of groups (an upper bound: a pair of groups standing only
        // for one address with itself is not judged), plus the sample.
        let group_pairs: u64 = families(path.proto)
            .iter()
            .map(|&v4| srcs.groups_of(v4).saturating_mul(dsts.groups_of(v4)))
            .fold(0, u64::saturating_add);
        let grid = (srcs.addrs.len() as u64).saturating_mul(dsts.addrs.len() as u64);
        let judgements = group_pairs
            .saturating_add(grid.min(SAMPLED_PAIRS))
            .saturating_mul(runs.len() as u64);
        judgements_total = judgements_total.saturating_add(judgements);
        if judgements_total > limits.max_judgements {
            return Err(RunError::Limit(format!(
                "{}: error: path `{}` brings the judgements to {judgements_total} (limit {}; one per pair of address classes, or sampled pair, and port run, over every path): narrow `from`, `to` or the ports",
                path.location, path.name, limits.max_judgements
            )));
        }
        planned.push(Planned::Judge { srcs, dsts, runs });
    }
    let mut out = Vec::with_capacity(paths.len());
    let mut pace = Pace { judged: 0, stop };
    // Keyed by the two sides' addresses: `expanded` holds every side until
    // the end, so an address names one side only.
    let mut counted: HashMap<(usize, usize), Rc<group::Shared>> = HashMap::new();
    let mut interrupted = false;
    for (path, plan) in paths.iter().zip(planned) {
        if stop() {
            interrupted = true;
            break;
        }
        let (srcs, dsts, runs) = match plan {
            Planned::Done(r) => {
                out.push(r);
                continue;
            }
            Planned::Judge { srcs, dsts, runs } => (srcs, dsts, runs),
        };
        // Paths between the same two selectors share the self-pair count
        // (linear in the sources).
        let key = (Rc::as_ptr(&srcs) as usize, Rc::as_ptr(&dsts) as usize);
        let shared = Rc::clone(
            counted
                .entry(key)
                .or_insert_with(|| Rc::new(group::shared(&srcs, &dsts))),
        );
        let sides = Sides {
            srcs: &srcs,
            dsts: &dsts,
            shared: &shared,
        };
        match judge_path(s, c, path, &sides, &runs, limits, &mut pace)? {
            Some(r) => out.push(r),
            None => {
                // This path is not whole: left out.
                interrupted = true;
                break;
            }
        }
    }
    let failed = out.iter().filter(|p| !p.ok).count();
    let skipped = out.iter().filter(|p| p.skipped).count();
    Ok(Report {
        paths: out,
        failed,
        skipped,
        internet: selector::internet_addresses(s),
        interrupted,
    })
}

/// The two sides of a path: its grouped sources and destinations, and
/// the addresses they share ([`group::shared`]).
struct Sides<'a> {
    srcs: &'a Endpoints,
    dsts: &'a Endpoints,
    shared: &'a [Option<(u32, u64)>],
}

/// Judges one path ([`run_until`]); `None` when stopped before the end.
fn judge_path(
    s: &Scenario,
    c: &Compiled,
    path: &PathSpec,
    sides: &Sides<'_>,
    runs: &[Option<(u16, u16)>],
    limits: &Limits,
    pace: &mut Pace<'_>,
) -> Result<Option<PathResult>, RunError> {
    let Sides { srcs, dsts, shared } = *sides;
    let mut r = no_pairs(path, String::new());
    r.error = None;
    let mut failing: Vec<Vec<u32>> = vec![Vec::new(); srcs.groups.len()];
    let mut failures: HashMap<(u32, u32), GroupFailure> = HashMap::new();
    let n_runs = runs.len() as u64;
    for (g, sg) in (0u32..).zip(&srcs.groups) {
        if !families(path.proto).contains(&sg.v4) {
            continue;
        }
        for (h, dh) in (0u32..).zip(&dsts.groups) {
            if dh.v4 != sg.v4 {
                continue;
            }
            let n = group::pairs(srcs, dsts, shared, g, h);
            if n == 0 {
                continue;
            }
            let Some((a, b)) = group::representative(srcs, dsts, g, h) else {
                continue;
            };
            r.class_pairs += 1;
            r.pairs += n;
            r.probes = r.probes.saturating_add(n.saturating_mul(n_runs));
            let mut first: Option<GroupFailure> = None;
            let mut failing_runs: Vec<(u16, u16)> = Vec::new();
            for (k, run) in runs.iter().enumerate() {
                if pace.tick() {
                    return Ok(None);
                }
                let d = judge(s, c, &probe(path, a, b, *run))?;
                let j = d.judgement;
                if meets(path.expect, path.scope, j.verdict, j.stage) {
                    if j.verdict == Verdict::Allow && j.zpr_audit {
                        r.audit_would_deny += n;
                    }
                    continue;
                }
                if let Some(run) = run {
                    failing_runs.push(*run);
                }
                first.get_or_insert(GroupFailure {
                    witness: k,
                    failing_ports: Vec::new(),
                    judgement: j,
                });
            }
            if let Some(mut f) = first {
                f.failing_ports = merged_runs(&failing_runs);
                r.failed_pairs += n;
                failing[g as usize].push(h);
                failures.insert((g, h), f);
            }
        }
    }
    // The sample: endpoint pairs chosen by position alone, judged by both
    // engines at every run.
    for (a, b) in sample(path, srcs, dsts) {
        for run in runs {
            if pace.tick() {
                return Ok(None);
            }
            judge(s, c, &probe(path, a, b, *run))?;
        }
    }
    if r.pairs == 0 {
        return Ok(Some(no_pairs(
            path,
            format!(
                "`{}` and `{}` give no pair of two addresses of one family that fits the protocol",
                path.from_text, path.to_text
            ),
        )));
    }
    for (a, b, g, h) in group::first_failing(srcs, dsts, &failing, limits.max_failures_kept) {
        let Some(gf) = failures.get(&(g, h)) else {
            continue;
        };
        let p = probe(path, a, b, runs.get(gf.witness).copied().flatten());
        let d = judge(s, c, &p)?;
        if d.judgement != gf.judgement {
            return Err(RunError::Disagree(format!(
                "{p} is judged {:?}, another pair of its address classes {:?}: the compiled table's classes do not hold",
                d.judgement, gf.judgement
            )));
        }
        let mut f = pair_failure(s, path, &p, &d);
        f.failing_ports.clone_from(&gf.failing_ports);
        r.failed.push(f);
    }
    r.ok = r.failed_pairs == 0;
    Ok(Some(r))
}
