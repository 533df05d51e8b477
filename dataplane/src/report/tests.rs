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
