//! The shared cases of `tests/cases/*.toml` (format in tests/cases/README.md),
//! run against the reference evaluator and the compiled table.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::eval;
use zprsim_control::model::{Scenario, proto};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Decision, Outcome, RuleRef, Stage, Verdict};
use zprsim_dataplane::scenario_file::load_path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    scenario: Option<String>,
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[allow(dead_code)]
    semantics: Option<String>,
    scenario: Option<String>,
    packet: PacketSpec,
    opened_by: Option<PacketSpec>,
    expect: Expect,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct PacketSpec {
    src: IpAddr,
    dst: IpAddr,
    proto: toml::Value,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    icmp_code: Option<u8>,
    #[serde(default)]
    fragment: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    verdict: String,
    stage: String,
    zpr_audit: Option<bool>,
    tracking: Option<BTreeMap<String, bool>>,
    outcomes: Option<BTreeMap<String, String>>,
    rule: Option<BTreeMap<String, String>>,
}

fn packet(p: &PacketSpec) -> Packet {
    let protocol = match &p.proto {
        toml::Value::String(s) => match s.as_str() {
            "tcp" => proto::TCP,
            "udp" => proto::UDP,
            "icmp" => proto::ICMP,
            "icmpv6" => proto::ICMPV6,
            n => n.parse().expect("protocol"),
        },
        toml::Value::Integer(n) => u8::try_from(*n).expect("protocol number"),
        other => panic!("bad protocol {other:?}"),
    };
    let l4 = if p.fragment {
        L4::Fragment
    } else if proto::has_ports(protocol) {
        L4::Ports {
            sport: p.sport.unwrap_or(49152),
            dport: p.dport.expect("dport"),
        }
    } else if proto::is_icmp(protocol) {
        L4::Icmp {
            icmp_type: p.icmp_type.expect("icmp_type"),
            code: p.icmp_code.unwrap_or(0),
        }
    } else {
        L4::Opaque
    };
    Packet {
        src: p.src,
        dst: p.dst,
        proto: protocol,
        l4,
    }
}

/// The case format's names: `TABLE#i`, `nsg:NAME#i`,
/// `security_list:NAME/DIR#i`, `POLICY#i` (the report's names without the
/// `route_table:` and `zpr_policy:` kinds).
fn rule_name(s: &Scenario, r: RuleRef) -> String {
    let t = zprsim_control::compile::rule_text(s, r);
    t.strip_prefix("route_table:")
        .or_else(|| t.strip_prefix("zpr_policy:"))
        .unwrap_or(&t)
        .to_string()
}

fn outcome_name(o: Outcome) -> String {
    serde_json::to_value(o)
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

/// Checks one case; returns the list of mismatches.
fn check(s: &Scenario, c: &Compiled, case: &Case) -> Vec<String> {
    let mut errs = Vec::new();
    let p = packet(&case.packet);
    let ctx = match &case.opened_by {
        None => Context::First,
        Some(o) => {
            let op = packet(o);
            let d = eval::evaluate(s, &op, Context::First);
            if d.judgement.verdict != Verdict::Allow {
                errs.push(format!("opener {op} is not allowed: {:?}", d.judgement));
                return errs;
            }
            Context::Reply(d.judgement.tracking)
        }
    };
    let d: Decision = eval::evaluate(s, &p, ctx);
    let fast = c.judge(&p, ctx);
    if fast.judgement != d.judgement {
        errs.push(format!(
            "compiled {:?} != reference {:?}",
            fast.judgement, d.judgement
        ));
    }
    let e = &case.expect;
    let verdict = match d.judgement.verdict {
        Verdict::Allow => "allow",
        Verdict::Drop => "drop",
    };
    if verdict != e.verdict {
        errs.push(format!("verdict {verdict}, expected {}", e.verdict));
    }
    let stage = d.judgement.stage.map_or("none", Stage::as_str);
    if stage != e.stage {
        errs.push(format!("stage {stage}, expected {}", e.stage));
    }
    if let Some(a) = e.zpr_audit
        && a != d.judgement.zpr_audit
    {
        errs.push(format!("zpr_audit {}, expected {a}", d.judgement.zpr_audit));
    }
    if let Some(t) = &e.tracking {
        let got = d.judgement.tracking;
        for (k, v) in t {
            let g = match k.as_str() {
                "at_src" => got.at_src,
                "at_dst" => got.at_dst,
                "zpr" => got.zpr,
                "zpr_audit" => got.zpr_audit,
                other => {
                    errs.push(format!("unknown tracking key {other}"));
                    continue;
                }
            };
            if g != *v {
                errs.push(format!("tracking.{k} {g}, expected {v}"));
            }
        }
    }
    if let Some(o) = &e.outcomes {
        for (layer, want) in o {
            match d.layers.iter().find(|l| l.layer.as_str() == layer) {
                Some(l) if outcome_name(l.outcome) == *want => {}
                Some(l) => errs.push(format!(
                    "{layer} outcome {}, expected {want}",
                    outcome_name(l.outcome)
                )),
                None => errs.push(format!("no layer {layer}")),
            }
        }
    }
    if let Some(r) = &e.rule {
        let dd = &d.deciders;
        for (k, want) in r {
            let got = match k.as_str() {
                "route" => dd.route,
                "egress" => dd.egress,
                "ingress" => dd.ingress,
                "zpr_egress" => dd.zpr_egress,
                "zpr_ingress" => dd.zpr_ingress,
                other => {
                    errs.push(format!("unknown rule key {other}"));
                    continue;
                }
            };
            let got = got
                .map(|r| rule_name(s, r))
                .unwrap_or_else(|| "none".into());
            if got != *want {
                errs.push(format!("rule.{k} {got}, expected {want}"));
            }
        }
    }
    errs
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases")
}

#[test]
fn shared_cases_hold_for_reference_and_compiled_table() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    let mut cache: BTreeMap<PathBuf, (Scenario, Compiled)> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let cf: CaseFile = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for case in &cf.cases {
            total += 1;
            let rel = case
                .scenario
                .as_ref()
                .or(cf.scenario.as_ref())
                .expect("a scenario");
            let path = cases_dir().join(rel);
            let (s, c) = cache.entry(path.clone()).or_insert_with(|| {
                let loaded = load_path(&path).unwrap_or_else(|e| panic!("{e}"));
                let c = Compiled::new(&loaded.scenario, &Config::default()).unwrap();
                (loaded.scenario, c)
            });
            let errs = check(s, c, case);
            if !errs.is_empty() {
                failures.push(format!(
                    "{} / {}:\n    {}",
                    f.file_name().unwrap().to_string_lossy(),
                    case.name,
                    errs.join("\n    ")
                ));
            }
        }
    }
    assert!(total >= 60, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
