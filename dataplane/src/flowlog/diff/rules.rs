//! A record's verdict, stage and deciding rules under one scenario, with
//! the rules as numbers both scenarios share: two rules are the same when
//! their contents are ([`crate::diff::rule_content`], as the capture diff
//! compares them: container by `id` and the rule's text, not its
//! position), whichever scenario's ids they have.

use std::collections::HashMap;

use zprsim_control::compile::{Compiled, Fast};
use zprsim_control::model::Scenario;
use zprsim_control::verdict::{Stage, Verdict};

/// No rule in that slot of [`Rules`].
const NO_RULE: u32 = u32::MAX;

/// A record's deciding rules as [`RuleNumbers`] numbers, in layer order,
/// packed to the front ([`NO_RULE`] after the last): equal exactly when
/// the lists of texts are. 20 bytes a record and side, where the texts
/// were a `Vec<String>` (~140 bytes with two rules).
pub type Rules = [u32; 5];

/// A record's verdict, stage and deciding rules under one scenario.
pub type Verdicts = (Verdict, Option<Stage>, Rules);

/// Deciding rules as numbers shared by both scenarios.
pub struct RuleNumbers {
    /// Each rule's content and its number.
    names: HashMap<String, u32>,
    /// Per scenario, each rule id's number: a rule's text is made and
    /// looked up once, not once a record.
    known: [HashMap<u32, u32>; 2],
    /// Containers are compared by `id` ([`crate::diff::ids_compared`]).
    by_id: bool,
}

impl RuleNumbers {
    /// Numbers for BEFORE `before` and AFTER `after`.
    #[must_use]
    pub fn new(before: &Scenario, after: &Scenario) -> RuleNumbers {
        RuleNumbers {
            names: HashMap::new(),
            known: [HashMap::new(), HashMap::new()],
            by_id: crate::diff::ids_compared(before, after),
        }
    }

    /// The verdict, stage and rules of judgement `x` under scenario `side`
    /// (0 BEFORE, 1 AFTER) `s`, compiled as `c`.
    pub fn verdicts(&mut self, side: usize, s: &Scenario, c: &Compiled, x: &Fast) -> Verdicts {
        let mut rules = [NO_RULE; 5];
        let (names, by_id) = (&mut self.names, self.by_id);
        if let Some(known) = self.known.get_mut(side) {
            let texts = x.rules.iter().flatten().filter_map(|id| {
                let r = c.rule_ref(*id)?;
                let next = u32::try_from(names.len()).unwrap_or(NO_RULE - 1);
                Some(*known.entry(id.raw()).or_insert_with(|| {
                    *names
                        .entry(crate::diff::rule_content(s, r, by_id))
                        .or_insert(next)
                }))
            });
            for (slot, t) in rules.iter_mut().zip(texts) {
                *slot = t;
            }
        }
        (x.judgement.verdict, x.judgement.stage, rules)
    }
}
