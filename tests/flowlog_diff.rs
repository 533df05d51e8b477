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

pub(crate) const OPEN: &str = r#"[{ protocol = "all", source = "10.0.0.0/16" }]"#;
pub(crate) const OPEN_OUT: &str = r#"[{ protocol = "all", destination = "0.0.0.0/0" }]"#;

/// The scenario with `a`'s egress and `b`'s ingress rules.
pub(crate) fn two(a_egress: &str, b_ingress: &str) -> String {
    TWO.replace("A_EGRESS", a_egress)
        .replace("B_INGRESS", b_ingress)
}

/// One record of the flow 10.0.1.10:40000 -> 10.0.2.10:5432 (`forward`)
/// or its reply, logged at `vnic` with `action`, 2 packets.
fn record(vnic: &str, forward: bool, action: &str) -> String {
    conn(vnic, forward, action, (40000, 2, 100))
}

/// As [`record`], for the client port, packets and window start of
/// `(sport, packets, start)`.
pub(crate) fn conn(
    vnic: &str,
    forward: bool,
    action: &str,
    (port, packets, start): (u16, u64, u64),
) -> String {
    let (src, sp, dst, dp) = if forward {
        ("10.0.1.10", port, "10.0.2.10", 5432)
    } else {
        ("10.0.2.10", 5432, "10.0.1.10", port)
    };
    let end = start + 59;
    format!(
        r#"{{"datetime": 1, "logContent": {{"data": {{"action": "{action}", "bytesOut": 120, "destinationAddress": "{dst}", "destinationPort": {dp}, "endTime": {end}, "packets": {packets}, "protocol": 6, "sourceAddress": "{src}", "sourcePort": {sp}, "startTime": {start}, "status": "OK", "version": "2"}}, "oracle": {{"vnicocid": "ocid1.vnic.oc1..{vnic}"}}}}}}"#
    ) + "\n"
}

/// `diff before.toml after.toml log.jsonl` in `d`: exit code, report,
/// summary.
pub(crate) fn diff(
    d: &Path,
    before: &str,
    after: &str,
    log: &[String],
) -> (Option<i32>, Value, String) {
    diff_with(d, before, after, log, &[])
}

/// [`diff`] with `extra` arguments.
pub(crate) fn diff_with(
    d: &Path,
    before: &str,
    after: &str,
    log: &[String],
    extra: &[&str],
) -> (Option<i32>, Value, String) {
    std::fs::write(d.join("before.toml"), before).unwrap();
    std::fs::write(d.join("after.toml"), after).unwrap();
    std::fs::write(d.join("log.jsonl"), log.concat()).unwrap();
    let args = [
        "diff",
        "before.toml",
        "after.toml",
        "log.jsonl",
        "--report",
        "r.json",
    ];
    let o = run_in(d, args.iter().chain(extra));
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

/// TCP to ports 1-100 only: closes `a`'s egress (or `b`'s ingress) to
/// 5432.
const LOW_OUT: &str = r#"[{ protocol = "6", destination = "0.0.0.0/0", tcp_options = { destination_port_range = { min = 1, max = 100 } } }]"#;
const LOW_IN: &str = r#"[{ protocol = "6", source = "10.0.0.0/16", tcp_options = { destination_port_range = { min = 1, max = 100 } } }]"#;

/// Each of `logs`, diffed as AFTER closes `a`'s egress to 5432: the one
/// flow would break, 2 packets.
fn breaks_once<const N: usize>(logs: &[[String; N]]) {
    let dir = tempfile::tempdir().unwrap();
    for log in logs {
        let (code, r, out) = diff(dir.path(), &two(OPEN_OUT, OPEN), &two(LOW_OUT, OPEN), log);
        assert_eq!(code, Some(1), "{out}");
        assert_eq!(r["flows"]["would_break"], 1, "{r}");
        assert_eq!(r["packets"]["would_break"], 2, "{r}");
    }
}

/// The request and its reply, both logged at `a` in one second; AFTER
/// closes `a`'s egress to 5432. AFTER's rules alone let only the reply
/// open (`a`'s ingress is open), which made the dropped request that
/// reply's reply and hid the break (the review of the twenty-sixth
/// session): the opener is chosen once, by BEFORE, in either input order.
#[test]
fn a_request_logged_with_its_reply_at_one_vnic_would_break() {
    breaks_once(&[
        [record("a", true, "ACCEPT"), record("a", false, "ACCEPT")],
        [record("a", false, "ACCEPT"), record("a", true, "ACCEPT")],
    ]);
}

/// Both directions logged at both ends in one second: every input order
/// gives one report (it gave 0 or 1 would break by which VNIC's records
/// came first).
#[test]
fn a_flow_logged_at_both_ends_is_judged_alike_in_any_order() {
    let a_first = [
        record("a", true, "ACCEPT"),
        record("a", false, "ACCEPT"),
        record("b", true, "ACCEPT"),
        record("b", false, "ACCEPT"),
    ];
    let b_first = [
        record("b", true, "ACCEPT"),
        record("b", false, "ACCEPT"),
        record("a", true, "ACCEPT"),
        record("a", false, "ACCEPT"),
    ];
    breaks_once(&[a_first, b_first]);
}

/// A connection at 08:00 OCI rejected at `a` (100 packets) and one at
/// 10:00 logged only at `b` (2 packets), which AFTER's `b` ingress drops:
/// the larger view (`a`'s) no longer hides the other's break; the
/// rejected packets are still never would-break.
#[test]
fn a_rejected_connection_never_hides_a_later_break_logged_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let log = [
        conn("a", true, "REJECT", (40000, 100, 28800)),
        conn("b", true, "ACCEPT", (40000, 2, 36000)),
    ];
    let (code, r, out) = diff(
        dir.path(),
        &two(OPEN_OUT, OPEN),
        &two(OPEN_OUT, LOW_IN),
        &log,
    );
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(r["flows"]["would_break"], 1, "{r}");
    assert_eq!(r["packets"]["would_break"], 2, "{r}");
    assert_eq!(r["rejected_by_oci"]["flows"], 1, "{r}");
}

/// 50 client connections to 5432, each logged in both directions at
/// both ends in five windows, some requests `REJECT`ed at `b`, shuffled
/// (`seed`): every connection has accepted requests AFTER drops at `a`'s
/// egress, so all 50 would break.
fn many(seed: u64) -> Vec<String> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut log = Vec::new();
    for (i, port) in (40000u16..40050).enumerate() {
        for (w, start) in (100..=340).step_by(60).enumerate() {
            let packets = 1 + (i + w) as u64 % 3;
            let rejected = (i + w) % 7 == 0;
            for vnic in ["a", "b"] {
                for forward in [true, false] {
                    let action = if rejected && vnic == "b" && forward {
                        "REJECT"
                    } else {
                        "ACCEPT"
                    };
                    log.push(conn(vnic, forward, action, (port, packets, start)));
                }
            }
        }
    }
    log.shuffle(&mut rng);
    log
}

#[test]
fn every_shuffled_connection_with_an_accepted_request_would_break() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..3 {
        let (code, r, out) = diff(
            dir.path(),
            &two(OPEN_OUT, OPEN),
            &two(LOW_OUT, OPEN),
            &many(seed),
        );
        assert_eq!(code, Some(1), "{out}");
        assert_eq!(r["flows"]["would_break"], 50, "seed {seed}: {r}");
        assert_eq!(r["flows"]["unchanged"], 0, "seed {seed}: {r}");
    }
}

/// What of `diff`'s report must not depend on the input order: counts,
/// packets, rejected, and the `--flows` lines (sorted).
fn order_free(d: &Path, before: &str, after: &str, log: &[String]) -> String {
    std::fs::write(d.join("log.jsonl"), log.concat()).unwrap();
    let o = run_in(
        d,
        [
            "diff",
            before,
            after,
            "log.jsonl",
            "--quiet",
            "--report",
            "r.json",
            "--flows",
            "f.jsonl",
        ],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{o:?}");
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    let mut flows: Vec<String> = std::fs::read_to_string(d.join("f.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    flows.sort();
    format!(
        "{:?} {} {} {} {}\n{}",
        o.status.code(),
        r["flows"],
        r["packets"],
        r["rejected_by_oci"],
        r["before"]["packets"],
        flows.join("\n")
    )
}

/// Permuting the records of a flow log never changes `diff`'s report:
/// the OKE example's flow logs and generated ones, a few permutations
/// each.
#[test]
fn permuting_a_flow_log_never_changes_the_diff() {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ex = root().join("examples/oke-orders");
    let oke: Vec<String> = std::fs::read_to_string(ex.join("flowlogs/oke-demo.jsonl"))
        .unwrap()
        .lines()
        .map(|l| format!("{l}\n"))
        .collect();
    let (sb, sa) = (ex.join("scenario.toml"), ex.join("proposed.toml"));
    std::fs::write(d.join("before.toml"), two(OPEN_OUT, OPEN)).unwrap();
    std::fs::write(d.join("after.toml"), two(LOW_OUT, OPEN)).unwrap();
    let cases: [(&str, &str, Vec<String>); 2] = [
        (sb.to_str().unwrap(), sa.to_str().unwrap(), oke),
        ("before.toml", "after.toml", many(7)),
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(26);
    for (before, after, mut log) in cases {
        let want = order_free(d, before, after, &log);
        for _ in 0..4 {
            log.shuffle(&mut rng);
            assert_eq!(order_free(d, before, after, &log), want, "{before}");
        }
    }
}
