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
//!    family (`group.rs`); the addresses expanded ([`Limits::max_endpoints`])
//!    and the judgements of all paths ([`Limits::max_judgements`]: pairs of
//!    groups, plus a sample, times port runs) are checked before any path
//!    is judged; endpoint pairs are counted (`u64`), never listed. A pair of
//!    one address with itself, or of two address families, or of a family
//!    the protocol does not fit (ICMP is IPv4, ICMPv6 is IPv6) is skipped;
//! 2. a destination port range is judged exactly, without judging every
//!    port: the compiler cuts ports into service classes at every boundary
//!    any rule or statement mentions, and every port of one class is judged
//!    alike; so one probe per run of equal classes inside the range
//!    ([`port_runs`]) covers the whole range; where replies are judged,
//!    runs are cut where the reply's class changes too
//!    ([`path_port_runs`], since the twenty-first session);
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
//!    own VNICs, so never shared within a class;
//! 5. for a path that should be open, what would open it, each hint proven
//!    by the reference evaluator on one scratch copy of the scenario: the
//!    security rules (`fix.rs`), route rules (`route_fix.rs`) and ZPL
//!    statements (`zpr_fix.rs`) for its first failing pair, and those that
//!    together open every failing pair (`whole.rs`); then, when the caller
//!    asks (`zprsim verify` always does), every path's hints added at once to
//!    a compiled copy and every path judged again ([`together`]): do they
//!    open a path that must stay closed?
//!
//! Pure: the caller reads the files (packs named by file go through
//! [`SourceFiles`]).

mod expect;
mod fix;
mod gate;
mod group;
mod junit;
pub mod packs;
mod reply_fix;
mod route_fix;
mod run;
pub mod selector;
mod stand_in;
mod summary;
#[cfg(test)]
mod tests;
mod text;
mod together;
pub mod whole;
mod zpr_fix;
mod zpr_reply_fix;

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::load::SourceFiles;
use crate::model::{PortRange, Scenario};
use crate::verdict::{Stage, Verdict};

pub use fix::{Edit, Target, apply, apply_all};
pub use gate::{HintsGate, hints_gate, run_with_together};
pub use junit::junit;
pub use run::{Job, SAMPLED_PAIRS, path_port_runs, port_runs, run, run_until, run_until_with};
pub use selector::Selector;
pub use stand_in::{Failing, closing as stand_in_closing, notes as stand_in_notes};
pub use summary::{summary, together_text};
pub use text::{
    audit_witness, failing_runs, layer_text, pair_failure, reply_failure, stay_closed,
    stay_closed_of,
};
pub use together::{Together, together};
pub use zpr_reply_fix::ZprReplies;

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
    /// Whether a pair of a path that should be open needs its reply too:
    /// one whose first packet passes and whose reply drops fails (TCP since
    /// the twentieth session; UDP, unless the path says `replies = false`,
    /// and ICMP echo since the twenty-first). [`replies_by_default`].
    pub replies: bool,
}

/// Whether a path of `protocol` sending `probe` needs its replies unless
/// it says otherwise: TCP (a connection cannot complete without them), UDP
/// (request and response, as DNS, NTP and the portmapper are; OCI tracks
/// UDP as it tracks TCP, and a one-way path says `replies = false`) and
/// an ICMP echo request (ping: its echo reply); not other ICMP types (an
/// error such as type 3 code 4 is answered by nothing) nor other protocols.
#[must_use]
pub fn replies_by_default(protocol: u8, probe: Probe) -> bool {
    match probe {
        Probe::Ports { .. } => {
            protocol == crate::model::proto::TCP || protocol == crate::model::proto::UDP
        }
        Probe::Icmp { icmp_type, .. } => is_echo(protocol, icmp_type),
        Probe::Opaque => false,
    }
}

/// Whether a packet alone has a reply a path of it would need
/// ([`replies_by_default`]): TCP, UDP, an ICMP echo request.
#[must_use]
pub fn packet_has_reply(p: &crate::packet::Packet) -> bool {
    use crate::packet::L4;
    let probe = match p.l4 {
        L4::Ports { sport, dport } => Probe::Ports {
            sport,
            dport: PortRange {
                min: dport,
                max: dport,
            },
        },
        L4::Icmp { icmp_type, code } => Probe::Icmp { icmp_type, code },
        L4::Opaque | L4::Fragment => Probe::Opaque,
    };
    replies_by_default(p.proto, probe)
}

/// Whether ICMP type `icmp_type` of `protocol` is an echo request (ICMP 8,
/// ICMPv6 128), answered by an echo reply ([`crate::packet::Packet::reply`]).
#[must_use]
pub fn is_echo(protocol: u8, icmp_type: u8) -> bool {
    (protocol == crate::model::proto::ICMP && icmp_type == 8)
        || (protocol == crate::model::proto::ICMPV6 && icmp_type == 128)
}

/// What would let the first packet `p` through, as `verify` finds what
/// opens a path's pairs ([`whole::hints`], `p` one pair of one probe):
/// for every layer that blocks it on its own, the security rule
/// (`fix.rs`), route rule (`route_fix.rs`) or ZPL statement (`zpr_fix.rs`)
/// that opens it, each proven, then `p` judged again with all of them added;
/// `left` 1 and `closed_at` its layers no hint opens when it is still
/// dropped (a route no gateway carries, not even a new one, such as the
/// internet to a unique local IPv6 address: nothing opens it).
#[must_use]
pub fn packet_hints(s: &Scenario, p: &crate::packet::Packet) -> whole::WholePath {
    let ix = crate::model::AddressIndex::new(s);
    whole::hints(&mut fix::Scratch::new(), s, &ix, None, [vec![*p]])
}

/// [`packet_hints`], and what opens the reply of `p` too when, with `p`
/// passing (as it is or with those hints), its reply drops (TCP, UDP, an
/// ICMP echo request: [`replies_by_default`]): the same hints `verify`
/// gives a path's pair whose reply drops, by the same code (`whole.rs`;
/// `explain`, since the twenty-second session).
#[must_use]
pub fn packet_hints_with_replies(s: &Scenario, p: &crate::packet::Packet) -> whole::WholePath {
    let ix = crate::model::AddressIndex::new(s);
    whole::hints_with(&mut fix::Scratch::new(), s, &ix, None, [vec![*p]], true)
}

/// A first packet that drops, as the hint finders take it: the parameter
/// list [`hints`], `fix::to_open_on` and `route_fix::to_open` share.
#[derive(Clone, Copy)]
struct Blocked<'a> {
    /// The scenario as it is (the hints are proved on a copy of it, the
    /// caller's [`fix::Scratch`]).
    s: &'a Scenario,
    /// Its address index, when one was built (a rule or statement added
    /// changes no address: it indexes the copy too).
    ix: Option<&'a crate::model::AddressIndex>,
    /// The path `p` is a witness of; `None`: the packet alone, as
    /// `explain` judges it.
    path: Option<&'a PathSpec>,
    /// The packet.
    p: &'a crate::packet::Packet,
    /// The reports of every layer that blocks it.
    blocking: &'a [crate::verdict::LayerReport],
}

/// The hints for `b`'s packet at each layer that blocks it: the route
/// rule (`route_fix.rs`), the security rules (`fix.rs`), then the ZPL
/// statement (`zpr_fix.rs`), all proven on `scratch`, a copy of the
/// scenario.
fn hints(scratch: &mut fix::Scratch, b: &Blocked<'_>) -> Vec<String> {
    let mut out: Vec<String> = route_fix::to_open(scratch, b).into_iter().collect();
    out.extend(fix::to_open_on(scratch, b));
    let keep = scratch.keeping();
    let Blocked {
        s,
        ix,
        path,
        p,
        blocking,
    } = *b;
    if let Some((text, kept)) = zpr_fix::to_open_at(scratch.of(s), ix, path, p, blocking, keep) {
        if let Some(k) = kept {
            scratch.kept(k);
        }
        out.push(text);
    }
    out
}

/// Every layer's report of `p` on `s` ([`crate::eval::every_layer`]),
/// finding endpoints through `ix`, the address index of `s` (or of the
/// scenario `s` copies: a rule or statement added changes no address),
/// when given. What every hint is proven with.
fn layers_of(
    s: &Scenario,
    ix: Option<&crate::model::AddressIndex>,
    p: &crate::packet::Packet,
) -> Vec<crate::verdict::LayerReport> {
    match ix {
        Some(ix) => crate::eval::every_layer_with(s, ix, p),
        None => crate::eval::every_layer(s, p),
    }
}

/// The endpoint `ip` is in `s`, through `ix` when given (as [`layers_of`]).
fn endpoint_at(
    s: &Scenario,
    ix: Option<&crate::model::AddressIndex>,
    ip: IpAddr,
) -> crate::model::Endpoint {
    match ix {
        Some(ix) => ix.endpoint_of(s, ip),
        None => crate::model::endpoint_of(s, ip),
    }
}

/// The reference evaluator's decision on `p` as a first packet, and on
/// its reply in the context `p` leaves (through `ix` when given); `None`
/// when `p` itself does not pass. What every reply hint judges
/// (`whole.rs`, `reply_fix.rs`, `route_fix.rs`, `zpr_fix.rs`).
fn first_and_reply(
    s: &Scenario,
    ix: Option<&crate::model::AddressIndex>,
    p: &crate::packet::Packet,
) -> Option<(crate::verdict::Decision, crate::verdict::Decision)> {
    let judge = |p: &crate::packet::Packet, ctx| match ix {
        Some(ix) => crate::eval::evaluate_with(s, ix, p, ctx),
        None => crate::eval::evaluate(s, p, ctx),
    };
    let first = judge(p, crate::verdict::Context::First);
    if first.judgement.verdict != Verdict::Allow {
        return None;
    }
    let reply = judge(
        &p.reply(),
        crate::verdict::Context::Reply(first.judgement.tracking),
    );
    Some((first, reply))
}

/// A copy of `s` with every security attribute in `enforce` mode: the
/// network once an `audit` rollout is switched to enforce (the scratch
/// copy [`keep_open`] proves its statements in).
#[must_use]
pub fn enforced(s: &Scenario) -> Scenario {
    let mut e = s.clone();
    for v in &mut e.vnics {
        for a in &mut v.attributes {
            a.mode = crate::model::Mode::Enforce;
        }
    }
    e
}

/// The ZPL statement (with its policy, as hint text) that keeps the first
/// packet `p` (a witness of `path`, or `None`: the packet alone) open
/// through ZPR in `enforced` (from [`enforced`]), proven by judging `p`
/// again with it added; `None` when ZPR would not block it there or no
/// statement can be written. `enforced` is left as it was.
#[must_use]
pub fn keep_open(
    enforced: &mut Scenario,
    path: Option<&PathSpec>,
    p: &crate::packet::Packet,
) -> Option<String> {
    let blocking = text::blocking(crate::eval::every_layer(enforced, p));
    zpr_fix::to_open_in(enforced, path, p, &blocking)
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
    /// For a port range: each failing run with the layer its probe dropped
    /// at and whether that was its reply, adjacent runs of one stage and
    /// flag joined (since the twenty-second session; `stage` and `reply`
    /// below are the witness's, the first run's). Absent when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failing_runs: Vec<FailingRun>,
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
    /// For the first failing pair of a path that should be open: per
    /// blocking security layer, the rule that would open it (as narrow as
    /// the pair, in the scenario's TOML, checked by judging the pair again
    /// with it added).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to_open: Vec<String>,
    /// The first packet passes and its reply drops (a TCP path: the
    /// connection cannot complete); `packet`, `stage` and `rule` are the
    /// reply's. Absent when false (since the twentieth session).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reply: bool,
}

/// One failing run of a pair's ports ([`PairFailure::failing_runs`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailingRun {
    /// `lo-hi`, or `p` for one port.
    pub ports: String,
    /// The layer its probe dropped at.
    pub stage: Option<Stage>,
    /// Its first packet passes and its reply drops there. Absent when
    /// false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reply: bool,
}

/// The first endpoint pair of a path (in source-major expansion order)
/// that is allowed today but that ZPR would deny once `audit` attributes
/// are enforced: the rollout's witness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditWitness {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// The witness probe.
    pub packet: String,
    /// The ZPR layer's report of it (`zpr AUDIT_WOULD_DENY: ...`).
    pub rule: String,
    /// The ZPL statement that would keep it open once enforced (checked by
    /// judging it again in a copy of the scenario with every attribute
    /// enforced and the statement added); empty when none can be written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to_open: Vec<String>,
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
    /// When `audit_would_deny` > 0: its first pair, and what keeps it open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_witness: Option<AuditWitness>,
    /// Why the path matters, from the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// A failure that is not about a pair (a selector matched nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The failing pairs (at most [`Limits::max_failures_kept`]).
    pub failed: Vec<PairFailure>,
    /// For a path that should be open: the rules and statements that,
    /// added together, open every failing pair checked (`whole.rs`), in
    /// the order the pairs needed them; the first pair's own are in
    /// `failed[0].to_open`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to_open: Vec<String>,
    /// Failing pairs `to_open` was checked on, in the order `failed`
    /// lists them (all of them, up to [`whole::MAX_PAIRS`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub to_open_checked: u64,
    /// Of those, pairs that `to_open` leaves closed (a layer no hint can be
    /// written for, or past [`whole::MAX_HINTS`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub to_open_left: u64,
    /// Of those, pairs whose first packet passes with `to_open` and whose
    /// reply still drops (since the twenty-first session): a reply gets no
    /// hint but a stateless rule's rule back, so these are not said to be
    /// opened by nothing ([`stay_closed_of`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub to_open_left_replies: u64,
    /// What `to_open` says it leaves closed of what the path stands for,
    /// though the path's pairs pass with it (since the twenty-first
    /// session): a CIDR of a `service:LABEL` side no rule of the hint
    /// opens, or the part of one a longer route rule holds (`D of C`). The
    /// pairs judge one address of the label, so `hints_together` names the
    /// path in `partly_closed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to_open_closed: Vec<String>,
    /// For a failing path that should be open: the objects `zprsim
    /// import` made up (`stand_in = true`) at the ends of its listed
    /// failing pairs, each with what to export (`stand_in.rs`): the path
    /// may fail only because the export is partial. For a path that
    /// should be closed (since the nineteenth session): those that close
    /// its pairs (`stand_in::closing`): it may hold only because the
    /// export is partial.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stand_ins: Vec<String>,
    /// What the path's selectors bind that the scenario does not say
    /// (since the twenty-sixth session): a `kind:` selector matching VNICs
    /// whose `kind` is absent (read as `instance`). Absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What `to_open` adds to the scenario ([`together`] adds every
    /// path's at once).
    #[serde(skip)]
    pub to_open_edits: Vec<Edit>,
    /// When `audit_would_deny` > 0 (a path judged on every layer): the ZPL
    /// statements that keep every such pair open once `audit` attributes
    /// are enforced (`whole.rs`, on the copy with every attribute
    /// enforced), in the order the pairs needed them; the first pair's
    /// own are in `audit_witness.to_open`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub to_keep_open: Vec<String>,
    /// Pairs `to_keep_open` was checked on (all of them, up to
    /// [`whole::MAX_PAIRS`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub to_keep_open_checked: u64,
    /// Of those, pairs that `to_keep_open` leaves to be denied.
    #[serde(skip_serializing_if = "is_zero")]
    pub to_keep_open_left: u64,
    /// What `to_keep_open` adds to the scenario ([`together`] adds them
    /// with every path's `to_open`: a statement that keeps one path open
    /// can open another that must stay closed).
    #[serde(skip)]
    pub to_keep_open_edits: Vec<Edit>,
}

// serde's `skip_serializing_if` takes a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl PathResult {
    /// Records what [`whole::hints`] found for this path.
    pub fn set_whole(&mut self, w: whole::WholePath) {
        self.to_open = w.to_open;
        self.to_open_checked = w.checked;
        self.to_open_left = w.left;
        self.to_open_left_replies = w.left_replies;
        self.to_open_edits = w.edits;
        self.to_open_closed = w.closed_parts;
    }

    /// Records what [`whole::hints`] found on the enforced copy for this
    /// path's audited pairs.
    pub fn set_keep_open(&mut self, w: whole::WholePath) {
        self.to_keep_open = w.to_open;
        self.to_keep_open_checked = w.checked;
        self.to_keep_open_left = w.left;
        self.to_keep_open_edits = w.edits;
    }
}

/// [`whole::hints`] for `path` on its own copy of `s`: the rules and
/// statements that together open the failing pairs `pairs` (each its
/// failing probes, in the order `verify` lists them).
#[must_use]
pub fn path_hints(
    s: &Scenario,
    path: &PathSpec,
    pairs: impl IntoIterator<Item = Vec<crate::packet::Packet>>,
) -> whole::WholePath {
    hints_on(fix::Scratch::new(), s, path, pairs)
}

/// [`path_hints`] on a copy of `s` with every attribute enforced: the
/// statements that keep the pairs `pairs` (each its probes that `audit`
/// attributes would deny once enforced) open.
#[must_use]
pub fn path_keep_open(
    s: &Scenario,
    path: &PathSpec,
    pairs: impl IntoIterator<Item = Vec<crate::packet::Packet>>,
) -> whole::WholePath {
    let mut scratch = fix::Scratch::new();
    scratch.enforced(s);
    hints_on(scratch, s, path, pairs)
}

/// [`whole::hints`] on `scratch`, with the address index of `s`.
fn hints_on(
    mut scratch: fix::Scratch,
    s: &Scenario,
    path: &PathSpec,
    pairs: impl IntoIterator<Item = Vec<crate::packet::Packet>>,
) -> whole::WholePath {
    let ix = crate::model::AddressIndex::new(s);
    whole::hints(&mut scratch, s, &ix, Some(path), pairs)
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
    /// What stopped it (`"sigint"`, `"sigterm"`): set by the caller, which
    /// knows why its stop flag was set; `null` when not interrupted.
    pub stopped_by: Option<crate::stopped::StoppedBy>,
    /// Every path's hints added at once ([`together`]), when the caller
    /// asked and some path has hints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hints_together: Option<Together>,
}
