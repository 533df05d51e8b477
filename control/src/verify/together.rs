//! Every path's hints added at once: do they open what they are for, and
//! do they open a path that must stay closed?
//!
//! Each path's hints (`whole.rs`) are proved against the scenario as it
//! is, path by path: what opens it (`to_open`), and under ZPR audit what
//! keeps it open once enforced (`to_keep_open`, statements a rollout
//! pastes today). A user applies them all at once, and a rule written
//! for one path (a subnet's CIDR, an NSG as peer, `0.0.0.0/0`) can open
//! another path the expectations say must stay closed. So the scenario is
//! copied, every hint's rule and statement added ([`fix::apply`]), the copy
//! compiled, and the paths the hints can change judged again, exactly as
//! `verify` judges ([`run::run_with`], without hints): a path that should
//! be closed, closed today and open with the hints is *opened*; a path
//! that should be open, failing today and failing still is *still
//! failing*. (Adding a stateful security rule or a statement never closes
//! anything, so a path that should be open and passes today, or should be
//! closed and fails today, stays as it is. A route rule can, and so can a
//! stateless rule (it untracks what a stateful rule matched too): with one
//! among them, a path that should be open, passes today and fails with the
//! hints is *closed*.)

use serde::Serialize;

use super::fix;
use super::run;
use super::{Expect, Job, PathSpec, Report};
use crate::compile::{Compiled, Config};

/// What every path's hints, added at once, do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Together {
    /// Rules and statement groups added, gateways and route tables
    /// created and gateways enabled (since the nineteenth session), each
    /// counted once.
    pub hints: usize,
    /// Paths that should be open and still fail with the hints.
    pub still_failing: Vec<String>,
    /// Paths that should be closed, pass today, and fail with the hints:
    /// the hints would open them.
    pub opened: Vec<String>,
    /// Paths that should be open, pass today, and fail with the hints: a
    /// route hint, as a longer match, took over their traffic (judged only
    /// when some hint is a route rule; absent when none closes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<String>,
    /// Paths that should be open and pass with the hints, but whose hints
    /// say they leave part of what the path stands for closed (`NAME
    /// (PARTS)`, from `to_open_closed`; since the twenty-first session):
    /// their pairs judge one address of a `service:LABEL` side, so they
    /// pass while a CIDR of the label, or a part of one a longer route rule
    /// holds, stays closed. Absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partly_closed: Vec<String>,
    /// Why the scenario with the hints could not be judged (it does not
    /// compile within `config`'s limits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// [`Together`] for `report`, the result of `job`'s paths on its
/// scenario; `None` when no path has hints, or when `job`'s `stop` stopped
/// the run of the copy. The copy is compiled with `config` (the one the
/// scenario was compiled with).
///
/// # Errors
/// As [`super::run`] (a [`super::RunError::Disagree`] between the
/// engines on the copy).
pub fn together(
    job: &Job<'_>,
    config: &Config,
    report: &Report,
) -> Result<Option<Together>, super::RunError> {
    let (s, paths) = (job.scenario, job.paths);
    // Each path's edits were proved on a copy of their own: a gateway or
    // route table a hint creates is named by its index there, which
    // another path may give to another object, so each path's list is
    // added on its own terms ([`fix::apply_all`]). Two paths may propose
    // the same edit (a retarget of one shared rule, the same new NAT
    // gateway): added, and counted, once.
    let lists: Vec<&[fix::Edit]> = report
        .paths
        .iter()
        .flat_map(|p| [&p.to_open_edits[..], &p.to_keep_open_edits[..]])
        .filter(|l| !l.is_empty())
        .collect();
    if lists.is_empty() || report.interrupted {
        return Ok(None);
    }
    let mut fixed = s.clone();
    let hints = fix::apply_all(&mut fixed, lists.iter().copied());
    let mut out = Together {
        hints,
        still_failing: Vec::new(),
        opened: Vec::new(),
        closed: Vec::new(),
        partly_closed: Vec::new(),
        error: None,
    };
    let c = match Compiled::new(&fixed, config) {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(format!(
                "the scenario with every hint added does not compile: {e}"
            ));
            return Ok(Some(out));
        }
    };
    // What the hints can change: a security rule or statement added opens
    // and never closes, so a path that should be open and passes today
    // passes with them, and one that should be closed and fails today
    // fails. A route rule is the exception: as a longer match it takes
    // over traffic a wider rule carried, and the gateway it names may not
    // carry all of it. A hint is written last (a tie goes to the rule
    // written first) and only for an address the route layer drops for
    // its source, but a route table is shared: the review of the
    // fifteenth session found a NAT hint for a private subnet's VNIC in a
    // table a public subnet uses too, which took that subnet's return
    // path from the internet gateway (a NAT gateway admits replies only).
    // So with a route hint among them, the paths that should be open and
    // pass today are judged again too. So with a stateless rule (the rule
    // back of a stateless rule's reply, `reply_fix.rs`, since the
    // twenty-first session): where a stateful rule matched a first packet
    // too, stateless wins and it is no longer tracked, so its reply needs
    // a rule of its own.
    let routes = lists.iter().flat_map(|l| l.iter()).any(|e| {
        matches!(
            e,
            fix::Edit::Route { .. }
                | fix::Edit::Retarget { .. }
                | fix::Edit::Gateway { .. }
                | fix::Edit::Enable { .. }
                | fix::Edit::Table { .. }
                | fix::Edit::SkipCheck { .. }
        ) || matches!(e, fix::Edit::Rule { rule, .. } if rule.stateless)
    });
    let again: Vec<(PathSpec, bool, &[String])> = paths
        .iter()
        .zip(&report.paths)
        .filter(|(_, r)| !r.skipped && r.error.is_none())
        .filter(|(_, r)| r.ok == (r.expect == Expect::Deny) || (routes && r.ok))
        .map(|(p, r)| (p.clone(), r.ok, &r.to_open_closed[..]))
        .collect();
    let specs: Vec<PathSpec> = again.iter().map(|(p, _, _)| p.clone()).collect();
    let again_job = Job {
        scenario: &fixed,
        compiled: &c,
        paths: &specs,
        ..*job
    };
    let after = run::run_with(&again_job, None)?;
    if after.interrupted {
        return Ok(None);
    }
    for (now, (_, ok_today, left_closed)) in after.paths.iter().zip(&again) {
        // Passing with the hints, but not where its hints say they leave
        // part of it closed: not claimed to pass (the late review's M2).
        if now.expect == Expect::Allow && now.ok && !left_closed.is_empty() {
            out.partly_closed
                .push(format!("{} ({})", now.name, left_closed.join(", ")));
        }
        match now.expect {
            Expect::Allow if !now.ok && *ok_today => out.closed.push(now.name.clone()),
            Expect::Allow if !now.ok => out.still_failing.push(now.name.clone()),
            Expect::Deny if !now.ok => out.opened.push(now.name.clone()),
            _ => {}
        }
    }
    Ok(Some(out))
}
