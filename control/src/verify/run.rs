//! Judging the paths ([`run`], [`run_until`]): the limits checked before
//! any path is judged, then each path judged once per pair of address
//! classes and port run (module docs of `verify`, and [`run_until`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;

use crate::compile::Compiled;
use crate::model::{AddressIndex, PortRange, Scenario, proto};
use crate::packet::{L4, Packet};
use crate::verdict::{Context, Decision, Stage, Verdict};

use super::ZprReplies;
use super::fix::Scratch;
use super::group::{self, Endpoints};
use super::text::{audit_witness_bare, merged_runs, pair_failure_with, reply_failure};
use super::whole;
use super::{
    Expect, Limits, PathResult, PathSpec, Probe, Report, RunError, Scope, Selector, selector,
};

/// The destination port runs of a range: each `(lo, hi)` is a maximal run
/// of ports inside `range` that fall in one service class of the compiled
/// table (for `sport`), so judging `lo` judges every first packet of the
/// run. A path whose replies are judged is cut by [`path_port_runs`].
#[must_use]
pub fn port_runs(c: &Compiled, protocol: u8, sport: u16, range: PortRange) -> Vec<(u16, u16)> {
    path_port_runs(c, protocol, sport, range, false)
}

/// The destination port runs a path is judged at: [`port_runs`], and when
/// `replies` (a path that should be open and needs its replies,
/// `PathSpec::replies`) cut also where the class of the reply changes (its
/// source port is the run's port, its destination port `sport`): a
/// stateless rule's `source_port_range` cuts the reply's classes and never
/// the first packet's. Since the twenty-first session: before, a range
/// whose replies dropped on some of its ports only was judged at the first
/// port of a run and could say `ok`.
#[must_use]
pub fn path_port_runs(
    c: &Compiled,
    protocol: u8,
    sport: u16,
    range: PortRange,
    replies: bool,
) -> Vec<(u16, u16)> {
    let mut runs: Vec<(u16, u16)> = Vec::new();
    let mut last = None;
    for port in range.min..=range.max {
        let class = (
            c.service_class(protocol, L4::Ports { sport, dport: port }),
            replies.then(|| {
                c.service_class(
                    protocol,
                    L4::Ports {
                        sport: port,
                        dport: sport,
                    },
                )
            }),
        );
        // DHCP's ports start runs of their own: between a VNIC and its
        // subnet's virtual router, UDP 68 -> 67 and 67 -> 68 are allowed
        // before any layer, which the service classes do not tell apart
        // (docs/semantics.md §2.1, decision 36).
        let dhcp = protocol == proto::UDP && matches!(port, 67..=69);
        match runs.last_mut() {
            Some(run) if last == Some(class) && !dhcp => run.1 = port,
            _ => runs.push((port, port)),
        }
        last = Some(class);
    }
    runs
}

/// Whether the replies of `path` are judged: a path that should be open
/// and needs them ([`dropped_reply`]).
fn replies_judged(path: &PathSpec) -> bool {
    path.expect == Expect::Allow && path.replies
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

/// What a probe is judged against: the scenario with its address index
/// (the reference evaluator) and the compiled table.
#[derive(Clone, Copy)]
struct Engines<'a> {
    s: &'a Scenario,
    ix: &'a AddressIndex,
    c: &'a Compiled,
}

/// Judges one probe with both engines; they must agree.
fn judge(s: &Scenario, ix: &AddressIndex, c: &Compiled, p: &Packet) -> Result<Decision, RunError> {
    crate::agree::judge_both_with(s, ix, c, p, Context::First).map_err(RunError::Disagree)
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
        audit_witness: None,
        why: path.why.clone(),
        error: Some(error),
        failed: Vec::new(),
        to_open: Vec::new(),
        to_open_checked: 0,
        to_open_left: 0,
        to_open_left_replies: 0,
        stand_ins: Vec::new(),
        notes: Vec::new(),
        to_open_edits: Vec::new(),
        to_keep_open_edits: Vec::new(),
        to_open_closed: Vec::new(),
        to_keep_open: Vec::new(),
        to_keep_open_checked: 0,
        to_keep_open_left: 0,
    }
}

/// The port runs of a path ([`port_runs`]; one `None` for a path without
/// ports), shared by the paths of one protocol, source port and range.
type Runs = Rc<Vec<Option<(u16, u16)>>>;

/// What [`run`] found a path to need, before judging any.
enum Planned {
    /// Its result already (skipped, or a selector that matches no
    /// endpoint): nothing to judge.
    Done(Box<PathResult>),
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
    run_until(&Job {
        scenario: s,
        compiled: c,
        paths,
        limits,
        stop: &|| false,
    })
}

/// What one run of `verify` judges: the paths of an expectations file on
/// a scenario and its compiled table, within the limits, until `stop`
/// says so. The parameter list [`run_until`], [`run_until_with`],
/// [`super::run_with_together`] and [`super::together`] share (the last
/// judges again on a copy: `Job { scenario, compiled, ..*job }`).
#[derive(Clone, Copy)]
pub struct Job<'a> {
    /// The scenario as it is.
    pub scenario: &'a Scenario,
    /// Its compiled table (the reference evaluator judges `scenario`).
    pub compiled: &'a Compiled,
    /// The paths read from the expectations ([`super::read`]).
    pub paths: &'a [PathSpec],
    /// The limits the paths are checked against before any is judged.
    pub limits: &'a Limits,
    /// Looked at before each path and every 256 judgements (a Ctrl-C in
    /// the CLI).
    pub stop: &'a dyn Fn() -> bool,
}

impl std::fmt::Debug for Job<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("paths", &self.paths.len())
            .field("limits", self.limits)
            .finish_non_exhaustive()
    }
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
    /// The failing runs with their stage and reply flag, joined where
    /// adjacent and alike ([`super::text::failing_runs`]).
    failing_marked: Vec<super::FailingRun>,
    /// Indices in the path's runs of every failing probe.
    failing_runs: Vec<usize>,
    /// The witness's judgement (every pair of the groups gets it).
    judgement: crate::verdict::Judgement,
    /// The witness's first packet passed and its reply drops: `judgement`
    /// is the reply's (a TCP path's connection cannot complete).
    reply: bool,
}

/// The reply of first packet `p` that passed with `first`'s tracking,
/// judged by both engines, when it drops: a path that should be open needs
/// its replies (`PathSpec::replies`): TCP since the twentieth session
/// (before, a required path whose replies had no route back said `ok`),
/// UDP and ICMP echo since the twenty-first (a DNS, NTP or portmapper
/// request, or a ping, whose answer drops is as broken; a one-way UDP path
/// says `replies = false`). The reply is [`Packet::reply`]: ports swapped,
/// an echo request answered by an echo reply.
fn dropped_reply(
    s: &Scenario,
    ix: &AddressIndex,
    c: &Compiled,
    path: &PathSpec,
    p: &Packet,
    first: &crate::verdict::Judgement,
) -> Result<Option<Decision>, RunError> {
    if !path.replies || first.verdict != Verdict::Allow {
        return Ok(None);
    }
    let d = crate::agree::judge_both_with(s, ix, c, &p.reply(), Context::Reply(first.tracking))
        .map_err(RunError::Disagree)?;
    let j = d.judgement;
    Ok((!meets(Expect::Allow, path.scope, j.verdict, j.stage)).then_some(d))
}

/// [`run`], looking at `stop` before each path and every
/// 256 judgements (a Ctrl-C in the CLI):
/// once it says stop, the report holds the paths judged whole and says it
/// is [`Report::interrupted`].
///
/// # How a path is judged
/// Its sources and destinations are grouped by (address class of the
/// compiled table, family) (`group.rs`). For every pair of groups of one
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
pub fn run_until(job: &Job<'_>) -> Result<Report, RunError> {
    run_with(job, Some(ZprReplies::default()))
}

/// [`run_until`], a reply that drops at ZPR opened as `zpr_replies` says
/// (`verify --zpr-replies`; since the twenty-sixth session).
///
/// # Errors
/// As [`run`].
pub fn run_until_with(job: &Job<'_>, zpr_replies: ZprReplies) -> Result<Report, RunError> {
    run_with(job, Some(zpr_replies))
}

/// [`run_until`], with the hints (`to_open`) given (a reply that drops at
/// ZPR opened as the `Some` says) or not.
pub(super) fn run_with(job: &Job<'_>, hints: Option<ZprReplies>) -> Result<Report, RunError> {
    let Job {
        scenario: s,
        compiled: c,
        paths,
        limits,
        stop,
    } = *job;
    // Every limit is checked for every path before any is judged: a file
    // whose tenth path is too wide is refused at once, not after the nine
    // before it were judged. A selector used by several paths is expanded
    // and grouped once.
    let mut planned = Vec::with_capacity(paths.len());
    let mut expanded: HashMap<&Selector, Rc<Endpoints>> = HashMap::new();
    let mut walked: HashMap<(u8, u16, u16, u16, bool), Runs> = HashMap::new();
    let mut endpoints: usize = 0;
    let mut judgements_total: u64 = 0;
    for path in paths {
        if path.skipped {
            let mut r = no_pairs(path, String::new());
            r.ok = true;
            r.skipped = true;
            r.error = None;
            planned.push(Planned::Done(Box::new(r)));
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
            planned.push(Planned::Done(Box::new(no_pairs(
                path,
                format!("`{empty}` matches no endpoint"),
            ))));
            continue;
        }
        // A walk over the range's ports, once per distinct (protocol,
        // source port, range, replies judged): the OKE pack has a dozen
        // paths on 1-65535.
        let runs: Runs = match path.probe {
            Probe::Ports { sport, dport } => Rc::clone(
                walked
                    .entry((
                        path.proto,
                        sport,
                        dport.min,
                        dport.max,
                        replies_judged(path),
                    ))
                    .or_insert_with(|| {
                        Rc::new(
                            path_port_runs(c, path.proto, sport, dport, replies_judged(path))
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
    // The copy of the scenario the hints of every path are proved on.
    let mut copies = Copies {
        plain: Scratch::with_zpr_replies(hints.unwrap_or_default()),
        enforced: Scratch::with_zpr_replies(hints.unwrap_or_default()),
        hints: hints.is_some(),
    };
    // Keyed by the two sides' addresses: `expanded` holds every side until
    // the end, so an address names one side only.
    let mut counted: HashMap<(usize, usize), Rc<group::Shared>> = HashMap::new();
    // The reference evaluator finds each probe's endpoints through the
    // model's address index (built once: a scan over every VNIC's
    // addresses per probe was most of a large verify).
    let ix = AddressIndex::new(s);
    let engines = Engines { s, ix: &ix, c };
    let mut interrupted = false;
    for (path, plan) in paths.iter().zip(planned) {
        if stop() {
            interrupted = true;
            break;
        }
        let (srcs, dsts, runs) = match plan {
            Planned::Done(r) => {
                out.push(*r);
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
        match judge_path(
            &engines,
            path,
            &sides,
            &runs,
            limits,
            &mut pace,
            &mut copies,
        )? {
            Some(r) => out.push(r),
            None => {
                // This path is not whole: left out.
                interrupted = true;
                break;
            }
        }
    }
    for (r, path) in out.iter_mut().zip(paths) {
        r.notes = super::selector::kind_notes(s, [&path.from, &path.to]);
    }
    let failed = out.iter().filter(|p| !p.ok).count();
    let skipped = out.iter().filter(|p| p.skipped).count();
    Ok(Report {
        paths: out,
        failed,
        skipped,
        internet: selector::internet_addresses(s),
        interrupted,
        stopped_by: None,
        hints_together: None,
    })
}

/// The two sides of a path: its grouped sources and destinations, and
/// the addresses they share ([`group::shared`]).
struct Sides<'a> {
    srcs: &'a Endpoints,
    dsts: &'a Endpoints,
    shared: &'a [Option<(u32, u64)>],
}

/// The copies of the scenario a run proves its hints on, each made at its
/// first use ([`Scratch`]): the scenario itself (the rules and statements
/// that would open a failing pair) and the scenario with every attribute
/// enforced (the statement that keeps an audited pair open).
struct Copies {
    plain: Scratch,
    enforced: Scratch,
    /// Whether hints are given at all (not when judging the scenario with
    /// every path's hints added, [`super::together`]).
    hints: bool,
}

/// Judges one path ([`run_until`]); `None` when stopped before the end.
fn judge_path(
    engines: &Engines<'_>,
    path: &PathSpec,
    sides: &Sides<'_>,
    runs: &[Option<(u16, u16)>],
    limits: &Limits,
    pace: &mut Pace<'_>,
    copies: &mut Copies,
) -> Result<Option<PathResult>, RunError> {
    let Sides { srcs, dsts, shared } = *sides;
    let Engines { s, ix, c } = *engines;
    let mut r = no_pairs(path, String::new());
    r.error = None;
    let mut failing: Vec<Vec<u32>> = vec![Vec::new(); srcs.groups.len()];
    let mut failures: HashMap<(u32, u32), GroupFailure> = HashMap::new();
    // Pairs of groups allowed today that enforcing `audit` attributes
    // would deny, as `failing` (per source group), and each one's first
    // such port run.
    let mut auditing: Vec<Vec<u32>> = vec![Vec::new(); srcs.groups.len()];
    // Every such port run of each, in order.
    let mut audit_runs: HashMap<(u32, u32), Vec<usize>> = HashMap::new();
    // For a path that should be closed: closed pairs (representatives)
    // whose closing layer is one a stand-in leaves unknown.
    let mut closed_by_stand_ins: Vec<super::stand_in::Failing> = Vec::new();
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
            let mut marked: Vec<((u16, u16), Option<Stage>, bool)> = Vec::new();
            let mut failing_at: Vec<usize> = Vec::new();
            for (k, run) in runs.iter().enumerate() {
                if pace.tick() {
                    return Ok(None);
                }
                let p = probe(path, a, b, *run);
                let d = judge(s, ix, c, &p)?;
                let mut j = d.judgement;
                let mut reply = false;
                if path.expect == Expect::Allow
                    && meets(path.expect, path.scope, j.verdict, j.stage)
                    && let Some(r) = dropped_reply(s, ix, c, path, &p, &j)?
                {
                    j = r.judgement;
                    reply = true;
                }
                if !reply && meets(path.expect, path.scope, j.verdict, j.stage) {
                    if path.expect == Expect::Deny
                        && closed_by_stand_ins.len() < super::stand_in::MAX_NOTES
                        && let Some(f) = super::stand_in::closing(s, ix, a, b, j.stage)
                    {
                        closed_by_stand_ins.push(f);
                    }
                    if j.verdict == Verdict::Allow && j.zpr_audit {
                        r.audit_would_deny += n;
                        let at = audit_runs.entry((g, h)).or_default();
                        if at.is_empty() {
                            auditing[g as usize].push(h);
                        }
                        at.push(k);
                    }
                    continue;
                }
                if let Some(run) = run {
                    failing_runs.push(*run);
                    marked.push((*run, j.stage, reply));
                }
                failing_at.push(k);
                first.get_or_insert(GroupFailure {
                    witness: k,
                    failing_ports: Vec::new(),
                    failing_marked: Vec::new(),
                    failing_runs: Vec::new(),
                    judgement: j,
                    reply,
                });
            }
            if let Some(mut f) = first {
                f.failing_ports = merged_runs(&failing_runs);
                f.failing_marked = super::text::failing_runs(&marked);
                f.failing_runs = failing_at;
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
            judge(s, ix, c, &probe(path, a, b, *run))?;
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
        let first = probe(path, a, b, runs.get(gf.witness).copied().flatten());
        let mut p = first;
        let mut d = judge(s, ix, c, &p)?;
        if gf.reply
            && let Some(r) = dropped_reply(s, ix, c, path, &first, &d.judgement)?
        {
            p = first.reply();
            d = r;
        }
        if d.judgement != gf.judgement {
            return Err(RunError::Disagree(format!(
                "{p} is judged {:?}, another pair of its address classes {:?}: the compiled table's classes do not hold",
                d.judgement, gf.judgement
            )));
        }
        // The first pair's hints come from the whole path's (below): the
        // same judgement, made once.
        let mut f = if gf.reply {
            reply_failure(&first, &p, &d)
        } else {
            pair_failure_with(s, ix, path, &p, &d, None)
        };
        f.failing_ports.clone_from(&gf.failing_ports);
        f.failing_runs.clone_from(&gf.failing_marked);
        r.failed.push(f);
    }
    if path.expect == Expect::Deny && !closed_by_stand_ins.is_empty() {
        // Closed only by what the export lacks: the real objects may
        // open it (since the nineteenth session; it passed without a word).
        r.stand_ins = super::stand_in::notes(s, Some(ix), closed_by_stand_ins);
    }
    if path.expect == Expect::Allow && r.failed_pairs > 0 {
        // A security layer denies where it decided, or where it also
        // blocks on its own (`blocked_by`).
        let denies = |f: &super::PairFailure, stage: Stage| {
            f.stage == Some(stage) || f.blocked_by.iter().any(|b| b.starts_with(stage.as_str()))
        };
        r.stand_ins = super::stand_in::notes(
            s,
            Some(ix),
            // A reply that drops goes from the pair's destination to its
            // source: its egress is the destination's (since the
            // twenty-first session, when its stand-in is why no rule back
            // is hinted: the VNIC's unknown rules leave it untracked).
            r.failed.iter().map(|f| {
                let (src, dst) = if f.reply {
                    (f.dst, f.src)
                } else {
                    (f.src, f.dst)
                };
                super::stand_in::Failing {
                    src,
                    dst,
                    egress_denied: denies(f, Stage::EgressSecurity),
                    ingress_denied: denies(f, Stage::IngressSecurity),
                    zpr_denied: denies(f, Stage::Zpr),
                }
            }),
        );
    }
    if copies.hints && path.expect == Expect::Allow && r.failed_pairs > 0 {
        let pairs = group::first_failing(srcs, dsts, &failing, whole::MAX_PAIRS);
        let w = whole::hints(
            &mut copies.plain,
            s,
            ix,
            Some(path),
            pairs.iter().map(|&(a, b, g, h)| {
                failures.get(&(g, h)).map_or_else(Vec::new, |f| {
                    f.failing_runs
                        .iter()
                        .map(|&k| probe(path, a, b, runs.get(k).copied().flatten()))
                        .collect()
                })
            }),
        );
        if let Some(f) = r.failed.first_mut() {
            f.to_open.clone_from(&w.first);
        }
        r.set_whole(w);
    }
    if copies.hints
        && let Some(&(a, b, g, h)) = group::first_failing(srcs, dsts, &auditing, 1).first()
        && let Some(&k) = audit_runs.get(&(g, h)).and_then(|ks| ks.first())
    {
        let p = probe(path, a, b, runs.get(k).copied().flatten());
        let d = judge(s, ix, c, &p)?;
        let mut witness = audit_witness_bare(&p, &d);
        if path.scope == Scope::All {
            // What keeps every audited pair open once enforced, not the
            // first alone (a dual-stack client has two).
            let pairs = group::first_failing(srcs, dsts, &auditing, whole::MAX_PAIRS);
            copies.enforced.enforced(s);
            let w = whole::hints(
                &mut copies.enforced,
                s,
                ix,
                Some(path),
                pairs.iter().map(|&(a, b, g, h)| {
                    audit_runs.get(&(g, h)).map_or_else(Vec::new, |ks| {
                        ks.iter()
                            .map(|&k| probe(path, a, b, runs.get(k).copied().flatten()))
                            .collect()
                    })
                }),
            );
            // Its first pair's first probe is the witness: what keeps it
            // open was proven there (`verify::audit_witness` proves it
            // alone; the grouped-verify test holds the two equal).
            witness.to_open.clone_from(&w.first);
            r.set_keep_open(w);
        }
        r.audit_witness = Some(witness);
    }
    r.ok = r.failed_pairs == 0;
    Ok(Some(r))
}
