//! The report's rules: each rule and statement with the packets (and
//! flows) it decided, the unused ones grouped per container, and the
//! summary's section on them.

use serde::Serialize;
use zprsim_control::compile::{Compiled, RuleId, rule_text};
use zprsim_control::model::Scenario;

use super::secs;
use crate::replay::{Counters, RuleStats};

/// One rule or statement with the packets it decided.
#[derive(Debug, Serialize)]
pub struct RuleHits {
    /// `route_table:NAME#i`, `nsg:NAME#i`, `security_list:NAME/DIR#i`, `zpr_policy:NAME#i`.
    pub rule: String,
    /// Packets it decided.
    pub hits: u64,
}

/// The rules that decided packets (most hits first, then by name) and the
/// names of those that decided none.
#[must_use]
pub fn rule_hits(s: &Scenario, c: &Compiled, k: &Counters) -> (Vec<RuleHits>, Vec<String>) {
    let mut hits = Vec::new();
    let mut unused = Vec::new();
    for (id, h) in k.rule_hits.iter().enumerate() {
        let Some(r) = RuleId::new(id).ok().and_then(|i| c.rule_ref(i)) else {
            continue;
        };
        if *h > 0 {
            hits.push(RuleHits {
                rule: rule_text(s, r),
                hits: *h,
            });
        } else {
            unused.push(rule_text(s, r));
        }
    }
    hits.sort_by(|x, y| y.hits.cmp(&x.hits).then_with(|| x.rule.cmp(&y.rule)));
    (hits, unused)
}

/// One rule or statement of the report's `rules`: what it decided.
#[derive(Debug, Serialize)]
pub struct RuleUse {
    /// As in `rules_hit` (`nsg:NAME#i`, ...).
    pub rule: String,
    /// `route_table`, `nsg`, `security_list` or `zpr_policy`.
    pub kind: &'static str,
    /// The policy, NSG, security list (with direction) or route table.
    pub container: String,
    /// Packets it decided.
    pub packets: u64,
    /// Distinct flows among them.
    pub flows: u64,
    /// First packet it decided, seconds since the epoch.
    pub first_ts: Option<f64>,
    /// Last packet it decided.
    pub last_ts: Option<f64>,
}

/// The coverage window the counts are over.
#[derive(Debug, Serialize)]
pub struct Window {
    /// First packet time, seconds since the epoch.
    pub first_ts: Option<f64>,
    /// Last packet time.
    pub last_ts: Option<f64>,
    /// Packets judged against the tables.
    pub packets: u64,
    /// Distinct flows among them.
    pub flows: u64,
    /// False when a bound was reached (flow counts are lower bounds).
    pub flows_exact: bool,
    /// Flows were counted (always with `--report`).
    #[serde(skip)]
    pub flows_counted: bool,
}

/// The unused rules of one policy, NSG, security list or route table.
#[derive(Debug, Serialize)]
pub struct Container {
    /// `route_table`, `nsg`, `security_list` or `zpr_policy`.
    pub kind: &'static str,
    /// Its name (a security list with `/ingress` or `/egress`).
    pub name: String,
    /// Its rules or statements that decided no packet.
    pub rules: Vec<String>,
}

/// `unused` of the report.
#[derive(Debug, Serialize)]
pub struct Unused {
    /// The window they were unused over.
    pub window: Window,
    /// How many.
    pub count: usize,
    /// Grouped per policy, NSG, security list and route table.
    pub by_container: Vec<Container>,
}

fn split(text: &str) -> (&'static str, String) {
    let (kind, rest) = text.split_once(':').unwrap_or(("", text));
    let kind = match kind {
        "route_table" => "route_table",
        "nsg" => "nsg",
        "security_list" => "security_list",
        _ => "zpr_policy",
    };
    let name = rest.rsplit_once('#').map_or(rest, |(n, _)| n);
    (kind, name.to_owned())
}

/// Every rule and statement with what it decided (in the compiled order:
/// route tables, security rules, statements), and the unused ones grouped.
#[must_use]
pub fn rule_use(s: &Scenario, c: &Compiled, st: &RuleStats) -> (Vec<RuleUse>, Unused) {
    let mut rules = Vec::new();
    let mut groups: Vec<Container> = Vec::new();
    let mut index: std::collections::HashMap<(&'static str, String), usize> =
        std::collections::HashMap::new();
    for (id, r) in st.rules.iter().enumerate() {
        let Some(rr) = RuleId::new(id).ok().and_then(|i| c.rule_ref(i)) else {
            continue;
        };
        let text = rule_text(s, rr);
        let (kind, container) = split(&text);
        if r.packets == 0 {
            let at = *index.entry((kind, container.clone())).or_insert_with(|| {
                groups.push(Container {
                    kind,
                    name: container.clone(),
                    rules: Vec::new(),
                });
                groups.len() - 1
            });
            if let Some(g) = groups.get_mut(at) {
                g.rules.push(text.clone());
            }
        }
        rules.push(RuleUse {
            rule: text,
            kind,
            container,
            packets: r.packets,
            flows: r.flows,
            first_ts: secs(r.first_ns),
            last_ts: secs(r.last_ns),
        });
    }
    let count = groups.iter().map(|g| g.rules.len()).sum();
    let unused = Unused {
        window: Window {
            first_ts: secs(st.first_ns),
            last_ts: secs(st.last_ns),
            packets: st.packets,
            flows: st.flows,
            flows_exact: st.flows_exact,
            flows_counted: st.flows_counted,
        },
        count,
        by_container: groups,
    };
    (rules, unused)
}

/// The summary's "unused rules" section (empty when every rule decided a
/// packet): the window, then per container the unused rule numbers.
#[must_use]
pub fn unused_section(u: &Unused) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    if u.count == 0 {
        return t;
    }
    let w = &u.window;
    let span = match (w.first_ts, w.last_ts) {
        (Some(f), Some(l)) => format!(", {f:.3} to {l:.3} ({:.0} s)", l - f),
        _ => String::new(),
    };
    let flows = if w.flows_counted {
        format!(" in {} flow(s)", w.flows)
    } else {
        String::new()
    };
    let _ = writeln!(
        t,
        "unused rules ({}) over {} packet(s){flows}{span}:",
        u.count, w.packets
    );
    const SHOWN: usize = 10;
    for g in u.by_container.iter().take(SHOWN) {
        let nums: Vec<&str> = g
            .rules
            .iter()
            .map(|r| r.rsplit_once('#').map_or(r.as_str(), |(_, n)| n))
            .collect();
        let _ = writeln!(t, "  {} `{}`: #{}", g.kind, g.name, nums.join(", #"));
    }
    if u.by_container.len() > SHOWN {
        let _ = writeln!(
            t,
            "  ... {} more (see `unused` in --report)",
            u.by_container.len() - SHOWN
        );
    }
    t
}
