//! Unit tests of the report pieces' text.

use super::rules::{Container, Unused, Window};
use super::{AuditFlows, proto_name, rate, unused_section};

#[test]
fn protocols_are_named_as_summaries_say_them() {
    assert_eq!(proto_name(6), "tcp");
    assert_eq!(proto_name(58), "icmpv6");
    assert_eq!(proto_name(47), "proto 47");
}

#[test]
fn a_rate_over_no_time_is_zero() {
    assert!(rate(10, 0.0).abs() < f64::EPSILON);
    assert!((rate(10, 2.0) - 5.0).abs() < f64::EPSILON);
}

fn unused(containers: usize) -> Unused {
    Unused {
        window: Window {
            first_ts: Some(10.0),
            last_ts: Some(70.5),
            packets: 1234,
            flows: 56,
            flows_exact: true,
            flows_counted: true,
        },
        count: containers * 2,
        by_container: (0..containers)
            .map(|i| Container {
                kind: "nsg",
                name: format!("n{i}"),
                rules: vec![format!("nsg:n{i}#0"), format!("nsg:n{i}#3")],
            })
            .collect(),
    }
}

#[test]
fn the_unused_section_lists_ten_containers_and_counts_the_rest() {
    assert_eq!(unused_section(&unused(0)), "");
    let t = unused_section(&unused(12));
    assert!(
        t.starts_with(
            "unused rules (24) over 1234 packet(s) in 56 flow(s), 10.000 to 70.500 (60 s):\n  nsg `n0`: #0, #3\n"
        ),
        "{t}"
    );
    assert!(
        t.ends_with("  nsg `n9`: #0, #3\n  ... 2 more (see `unused` in --report)\n"),
        "{t}"
    );
}

#[test]
fn no_audit_flow_no_audit_section() {
    let a = AuditFlows {
        total: 0,
        listed: Vec::new(),
        more: 0,
        untracked_records: 0,
        statements: Vec::new(),
        statements_unchecked: 0,
        statements_withheld: 0,
    };
    assert_eq!(super::audit_section(&a, 10), "");
}

/// A flow-log record's line (`replay FLOWLOG --flows`) allocates nothing:
/// its file name, reason and Community ID are formatted as they are
/// written (each was a `String` per record: 277 allocations for 77
/// records, docs/benchmarks.md, twenty-sixth session).
#[test]
#[allow(clippy::unwrap_used)]
fn a_flow_log_records_line_allocates_nothing() {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use zprsim_control::compile::{Compiled, Config, RuleText};
    use zprsim_control::verdict::Context;

    use super::flow_log::Ctx;
    use crate::flowlog::judge::{Direction, Judged, record_packet};
    use crate::flowlog::record::{Action, LogRecord};

    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/oke-orders/scenario.toml"
    ));
    let loaded = crate::scenario_file::load_path(path).unwrap();
    let s = &loaded.scenario;
    let c = Compiled::new(s, &Config::default()).unwrap();
    let names = RuleText::new(s, &c);
    let files = [PathBuf::from("logs/flows.json")];
    let cx = Ctx {
        s,
        scenario: path,
        warnings: &[],
        c: &c,
        names: &names,
        files: &files,
        input_warnings: &[],
    };
    let vnic = &s.vnics[0];
    let src = vnic.private_ips[0];
    let records: Vec<(LogRecord, Judged)> = (0..200u16)
        .map(|i| {
            let r = LogRecord {
                file: 0,
                line: u64::from(i) + 1,
                vnic: Arc::from("ocid1.vnic.test"),
                action: if i % 2 == 0 {
                    Action::Accept
                } else {
                    Action::Reject
                },
                src,
                dst: "10.0.99.9".parse().unwrap(),
                proto: if i % 3 == 0 { 17 } else { 6 },
                sport: 40_000 + i,
                dport: 443 + i % 7,
                packets: 3,
                bytes: 180,
                start: 1_700_000_000 + u64::from(i),
                end: 1_700_000_060 + u64::from(i),
            };
            let reply = i % 5 == 0;
            let fast = c.judge(&record_packet(&r, reply), Context::First);
            let j = Judged {
                record: usize::from(i),
                vnic: 0,
                direction: if i % 2 == 0 {
                    Direction::Egress
                } else {
                    Direction::Ingress
                },
                reply,
                fast,
            };
            (r, j)
        })
        .collect();
    let mut out: Vec<u8> = Vec::with_capacity(1 << 20);
    let before = crate::test_alloc::allocations();
    for (r, j) in &records {
        serde_json::to_writer(&mut out, &cx.record(r, j)).unwrap();
        out.push(b'\n');
    }
    let made = crate::test_alloc::allocations() - before;
    assert_eq!(made, 0, "{made} allocations for {} lines", records.len());
    let text = String::from_utf8(out).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.contains(r#""file":"logs/flows.json""#), "{first}");
    assert!(first.contains(r#""community_id":"1:"#), "{first}");
    assert!(first.contains(&format!("`{}`", vnic.name)), "{first}");
}
