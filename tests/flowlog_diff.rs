//! `zprsim diff BEFORE AFTER FLOWLOG...` judges each flow along its whole
//! path (since the twenty-sixth session), not only at the VNIC that
//! logged a record:
//!
//! - a flow logged at both ends counts its packets once;
//! - a record OCI logged `REJECT` never "would break" (`rejected_by_oci`);
//! - a flow the change breaks at the other VNIC, which logged nothing, is
//!   "would break";
//! - on the OKE example, the would-break flows and packets are those of
//!   `diff` on the equivalent capture.

use std::path::Path;

use serde_json::Value;

use crate::support::{root, run_in};

/// Two VNICs in two subnets of one VCN: `a` (10.0.1.10, egress as
/// `A_EGRESS`) and `b` (10.0.2.10, ingress as `B_INGRESS`).
const TWO: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]

[[route_table]]
name = "rt"
vcn = "v"
route_rules = []

[[security_list]]
name = "a-sl"
vcn = "v"
ingress_security_rules = [{ protocol = "all", source = "10.0.0.0/16" }]
egress_security_rules = A_EGRESS

[[security_list]]
name = "b-sl"
vcn = "v"
ingress_security_rules = B_INGRESS
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]

[[subnet]]
name = "sa"
vcn = "v"
cidr_block = "10.0.1.0/24"
route_table = "rt"
security_lists = ["a-sl"]

[[subnet]]
name = "sb"
vcn = "v"
cidr_block = "10.0.2.0/24"
route_table = "rt"
security_lists = ["b-sl"]

[[vnic]]
name = "a"
id = "ocid1.vnic.oc1..a"
subnet = "sa"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "b"
id = "ocid1.vnic.oc1..b"
subnet = "sb"
private_ips = ["10.0.2.10"]
"#;

const OPEN: &str = r#"[{ protocol = "all", source = "10.0.0.0/16" }]"#;
const OPEN_OUT: &str = r#"[{ protocol = "all", destination = "0.0.0.0/0" }]"#;

/// The scenario with `a`'s egress and `b`'s ingress rules.
fn two(a_egress: &str, b_ingress: &str) -> String {
    TWO.replace("A_EGRESS", a_egress)
        .replace("B_INGRESS", b_ingress)
}

/// One record of the flow 10.0.1.10:40000 -> 10.0.2.10:5432 (`forward`)
/// or its reply, logged at `vnic` with `action`, 2 packets.
fn record(vnic: &str, forward: bool, action: &str) -> String {
    let (src, sp, dst, dp) = if forward {
        ("10.0.1.10", 40000, "10.0.2.10", 5432)
    } else {
        ("10.0.2.10", 5432, "10.0.1.10", 40000)
    };
    format!(
        r#"{{"datetime": 1, "logContent": {{"data": {{"action": "{action}", "bytesOut": 120, "destinationAddress": "{dst}", "destinationPort": {dp}, "endTime": 159, "packets": 2, "protocol": 6, "sourceAddress": "{src}", "sourcePort": {sp}, "startTime": 100, "status": "OK", "version": "2"}}, "oracle": {{"vnicocid": "ocid1.vnic.oc1..{vnic}"}}}}}}"#
    ) + "\n"
}

/// `diff before.toml after.toml log.jsonl` in `d`: exit code, report,
/// summary.
fn diff(d: &Path, before: &str, after: &str, log: &[String]) -> (Option<i32>, Value, String) {
    std::fs::write(d.join("before.toml"), before).unwrap();
    std::fs::write(d.join("after.toml"), after).unwrap();
    std::fs::write(d.join("log.jsonl"), log.concat()).unwrap();
    let o = run_in(
        d,
        [
            "diff",
            "before.toml",
            "after.toml",
            "log.jsonl",
            "--report",
            "r.json",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    (o.status.code(), r, stdout)
}

/// A flow logged at both ends (each direction at `a` and at `b`) is
/// one flow of 4 packets, not 8: its forward direction, dropped after by
/// `b`'s ingress, breaks 2.
#[test]
fn a_flow_logged_at_both_ends_counts_its_packets_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = [
        record("a", true, "ACCEPT"),
        record("b", true, "ACCEPT"),
        record("b", false, "ACCEPT"),
        record("a", false, "ACCEPT"),
    ];
    let (code, r, out) = diff(dir.path(), &two(OPEN_OUT, OPEN), &two(OPEN_OUT, "[]"), &log);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(r["flows"]["would_break"], 1, "{r}");
    assert_eq!(r["packets"]["total"], 4, "{r}");
    assert_eq!(r["packets"]["would_break"], 2, "{r}");
    assert!(out.contains("(4 packets)"), "{out}");
    // The sides still count every record at its VNIC.
    assert_eq!(r["before"]["judged"], 4, "{r}");
}

/// A record OCI logged `REJECT` was dropped today: a change that drops it
/// (here at `a`'s own egress, so even the logging VNIC sees it) does not
/// break it, though BEFORE (wrongly) allows it.
#[test]
fn a_flow_oci_rejected_never_would_break() {
    let dir = tempfile::tempdir().unwrap();
    let log = [record("a", true, "REJECT")];
    let (code, r, out) = diff(dir.path(), &two(OPEN_OUT, OPEN), &two("[]", OPEN), &log);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(r["flows"]["would_break"], 0, "{r}");
    assert_eq!(r["packets"]["would_break"], 0, "{r}");
    assert_eq!(r["rejected_by_oci"]["flows"], 1, "{r}");
    assert_eq!(r["rejected_by_oci"]["packets"], 2, "{r}");
    assert!(
        out.contains("rejected by OCI: 1 flow(s) (2 packets)"),
        "{out}"
    );
    // The same record accepted by OCI would break.
    let (code, r, _) = diff(
        dir.path(),
        &two(OPEN_OUT, OPEN),
        &two("[]", OPEN),
        &[record("a", true, "ACCEPT")],
    );
    assert_eq!(code, Some(1));
    assert_eq!(r["flows"]["would_break"], 1, "{r}");
    assert_eq!(r["rejected_by_oci"]["flows"], 0, "{r}");
}

/// Only `a` logged the flow (its egress, allowed by both scenarios at
/// `a`); the change closes `b`'s ingress. Judged along its path the flow
/// is allowed before and dropped after: would break, at ingress security.
#[test]
fn a_flow_the_change_drops_at_the_other_vnic_would_break() {
    let dir = tempfile::tempdir().unwrap();
    let log = [record("a", true, "ACCEPT")];
    let (code, r, out) = diff(dir.path(), &two(OPEN_OUT, OPEN), &two(OPEN_OUT, "[]"), &log);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(r["flows"]["would_break"], 1, "{r}");
    assert_eq!(r["packets"]["would_break"], 2, "{r}");
    assert!(
        out.contains("before allow, after drop at ingress-security"),
        "{out}"
    );
    // The side judged at `a` is unchanged: allowed by both.
    assert_eq!(r["after"]["packets"]["allowed"], 2, "{r}");
}

/// A changed flow: src, dst, sport, dport, packets.
type Flow = (String, String, u64, u64, u64);

/// The would-break flows of `diff` on the OKE flow logs, with their
/// packets; and the report's would-break packets.
fn would_break(input: &str) -> (Vec<Flow>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("f.jsonl");
    let report = dir.path().join("r.json");
    let o = run_in(
        root(),
        [
            "diff",
            "examples/oke-orders/scenario.toml",
            "examples/oke-orders/proposed.toml",
            input,
            "--quiet",
            "--flows",
            flows.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{input}");
    let mut out: Vec<_> = std::fs::read_to_string(&flows)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["class"] == "would-break")
        .map(|v| {
            (
                v["src"].as_str().unwrap().to_owned(),
                v["dst"].as_str().unwrap().to_owned(),
                v["sport"].as_u64().unwrap(),
                v["dport"].as_u64().unwrap(),
                v["packets"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    (out, r["packets"]["would_break"].as_u64().unwrap())
}

/// `diff` on the OKE flow logs and on the capture they were made from
/// agree on the flows that would break and on their packets (the flow
/// logged at both its VNICs counted once: 10 packets, not 20).
#[test]
fn would_break_flows_agree_with_diff_on_the_capture() {
    let (logs, logs_packets) = would_break("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let (capture, capture_packets) = would_break("pcaps/oke-demo.pcap");
    assert_eq!(logs.len(), 1, "{logs:?}");
    assert_eq!(logs, capture);
    assert_eq!(logs_packets, capture_packets);
}
