//! Rule names as reports and flow logs print them
//! (`route_table:NAME#i`, `nsg:NAME#i`, `security_list:NAME/ingress#i`,
//! `zpr_policy:NAME#i`), one at a time ([`rule_text`]) or every rule's
//! made once and borrowed ([`RuleText`]).

use std::fmt;

use super::table::Compiled;
use crate::ids::RuleId;
use crate::model::Scenario;
use crate::verdict::{DirectionKey, RuleRef};

/// `route_table:NAME#i`, `nsg:NAME#i`, `security_list:NAME/ingress#i`, `zpr_policy:NAME#i`.
#[must_use]
pub fn rule_text(s: &Scenario, r: RuleRef) -> String {
    let mut t = String::new();
    let _ = write_rule_text(&mut t, s, r);
    t
}

/// [`rule_text`] written to `w`.
fn write_rule_text(w: &mut impl fmt::Write, s: &Scenario, r: RuleRef) -> fmt::Result {
    match r {
        RuleRef::Route { table, index } => {
            write!(
                w,
                "route_table:{}#{index}",
                s.route_tables[table.index()].name
            )
        }
        RuleRef::Nsg { nsg, index } => write!(w, "nsg:{}#{index}", s.nsgs[nsg.index()].name),
        RuleRef::SecurityList {
            list,
            direction,
            index,
        } => {
            let d = match direction {
                DirectionKey::Ingress => "ingress",
                DirectionKey::Egress => "egress",
            };
            write!(
                w,
                "security_list:{}/{d}#{index}",
                s.security_lists[list.index()].name
            )
        }
        RuleRef::Statement(st) => write!(
            w,
            "zpr_policy:{}#{}",
            s.zpr_policies[st.policy.index()].name,
            st.index
        ),
    }
}

/// Every rule's [`rule_text`], by global rule id, made once for a run
/// that names rules per record (`replay --flows` on captures and on flow
/// logs) and borrowed by each line written: formatting a `String` per
/// rule named per record was the flow log's allocations (`replay --flows`
/// on 10,000 distinct first packets, 9,745 flow records: 22,531 mallocs
/// and 8,848 reallocs before, 4,469 and 638 with it, 4,408 and 595 without
/// `--flows`; docs/benchmarks.md). Not kept in [`Compiled`]: the other
/// commands name a few rules or none.
///
/// Layout: the names end to end in one `String`; `ends[i]` is where rule
/// `i`'s ends (it starts where rule `i - 1`'s ends, or at 0).
#[derive(Debug, Clone, Default)]
pub struct RuleText {
    text: String,
    ends: Vec<usize>,
}

impl RuleText {
    /// The names of every rule `c` (compiled from `s`) has.
    #[must_use]
    pub fn new(s: &Scenario, c: &Compiled) -> Self {
        let n = c.rule_count();
        let mut text = String::new();
        let mut ends = Vec::with_capacity(n);
        for i in 0..n {
            if let Some(r) = RuleId::new(i).ok().and_then(|id| c.rule_ref(id)) {
                let _ = write_rule_text(&mut text, s, r);
            }
            ends.push(text.len());
        }
        RuleText { text, ends }
    }

    /// Rule `id`'s name; `None` for an id past the table's rules.
    #[must_use]
    pub fn get(&self, id: RuleId) -> Option<&str> {
        let i = id.index();
        let end = *self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(before) => *self.ends.get(before)?,
            None => 0,
        };
        self.text.get(start..end)
    }

    /// How many rules are named.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// No rule is named.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}
