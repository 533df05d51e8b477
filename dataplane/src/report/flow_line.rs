//! A line of `replay --flows`: the flow record's fields, then how its
//! first packet and its first reply were decided, rule ids named.

use serde::Serialize;
use zprsim_control::compile::{Compiled, RuleId, rule_text};
use zprsim_control::model::Scenario;
use zprsim_control::verdict::{Stage, Verdict};

use crate::engine::Decided;
use crate::output::{OutputFile, OutputState};
use crate::replay::{FlowRecord, FlowSink};

/// The deciding rule or statement of each layer (null where none decided:
/// a layer not reached, a default deny, a missing policy).
#[derive(Debug, Serialize)]
pub struct DecidedBy {
    /// The route rule.
    pub route: Option<String>,
    /// The egress security rule.
    #[serde(rename = "egress-security")]
    pub egress: Option<String>,
    /// The ingress security rule.
    #[serde(rename = "ingress-security")]
    pub ingress: Option<String>,
    /// The ZPR statement of the egress check.
    pub zpr_egress: Option<String>,
    /// The ZPR statement of the ingress check.
    pub zpr_ingress: Option<String>,
}

/// One direction's decision as a flow-log line writes it.
#[derive(Debug, Serialize)]
pub struct DecisionLine {
    /// `allow` or `drop`.
    pub verdict: Verdict,
    /// The deciding layer of a drop (null if allowed).
    pub stage: Option<Stage>,
    /// An audit attribute would have denied it.
    pub zpr_audit: bool,
    /// The rule or statement of each layer.
    pub decided_by: DecidedBy,
}

/// A flow-log line: the flow record's fields, then how its first packet and
/// its first reply were decided.
#[derive(Debug, Serialize)]
pub struct FlowLine<'a> {
    /// The record (the contract's fields).
    #[serde(flatten)]
    pub flow: &'a FlowRecord,
    /// The first packet's audit flag.
    pub zpr_audit: bool,
    /// The first packet's deciding rule per layer.
    pub decided_by: DecidedBy,
    /// The first packet of the reply direction (null when none came).
    pub reply: Option<DecisionLine>,
}

fn decided_by(s: &Scenario, c: &Compiled, rules: &[Option<RuleId>; 5]) -> DecidedBy {
    let t = |i: usize| {
        rules
            .get(i)
            .copied()
            .flatten()
            .and_then(|id| c.rule_ref(id))
            .map(|r| rule_text(s, r))
    };
    DecidedBy {
        route: t(0),
        egress: t(1),
        ingress: t(2),
        zpr_egress: t(3),
        zpr_ingress: t(4),
    }
}

/// The flow-log line of a record, rule ids named.
#[must_use]
pub fn flow_line<'a>(s: &Scenario, c: &Compiled, f: &'a FlowRecord) -> FlowLine<'a> {
    FlowLine {
        flow: f,
        zpr_audit: f.first.zpr_audit,
        decided_by: decided_by(s, c, &f.first.rules),
        reply: f.reply.map(|d: Decided| DecisionLine {
            verdict: d.verdict,
            stage: d.stage,
            zpr_audit: d.zpr_audit,
            decided_by: decided_by(s, c, &d.rules),
        }),
    }
}

/// Writes the flow log (`--flows`) as the engine hands the records over
/// (in order, after the pass), one line each. The first write error is
/// kept, and reported after the pass like any other output's
/// ([`FlowLines::into_error`]).
pub struct FlowLines<'a> {
    out: &'a mut OutputFile,
    s: &'a Scenario,
    c: &'a Compiled,
    error: Option<std::io::Error>,
}

impl<'a> FlowLines<'a> {
    /// Lines of records judged by `c`, compiled from `s`, into `out`.
    pub fn new(out: &'a mut OutputFile, s: &'a Scenario, c: &'a Compiled) -> Self {
        FlowLines {
            out,
            s,
            c,
            error: None,
        }
    }

    /// The first error writing a line, if any.
    #[must_use]
    pub fn into_error(self) -> Option<std::io::Error> {
        self.error
    }
}

impl FlowSink for FlowLines<'_> {
    fn flow(&mut self, _scenario: usize, r: &FlowRecord) -> std::io::Result<()> {
        // Nothing to format for an output that takes no more (its reader
        // left, or it failed and will be abandoned).
        if self.error.is_some() || self.out.state() != OutputState::Open {
            return Ok(());
        }
        let line = flow_line(self.s, self.c, r);
        if let Err(e) = self.out.write_json_line(&line) {
            self.error = Some(e);
        }
        Ok(())
    }

    fn name(&self) -> String {
        "--flows".into()
    }

    fn abandon(&mut self, why: std::io::Error) -> bool {
        self.out.abandon(why);
        true
    }
}
