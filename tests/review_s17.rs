//! Defects found in the fifteenth session's review (branch s17-qa; QA round ten), as
//! real users would meet them: each test fails on the code before its fix.

use std::path::Path;

use serde_json::Value;

use crate::support::run_in;

/// Two VNICs in one open subnet, both under ZPR `audit`, with a policy
/// that names neither's traffic: every flow between them is one audit
/// would deny.
const TWO_AUDITED: &str = r#"
name = "two-audited"

[[vcn]]
name = "app-vcn"
cidr_blocks = ["10.1.0.0/16"]
security_attributes = { network = { vcn = { value = "app" } } }

[[route_table]]
name = "rt"
vcn = "app-vcn"
route_rules = []

[[security_list]]
name = "open-sl"
vcn = "app-vcn"
ingress_security_rules = [{ protocol = "all", source = "10.1.0.0/16" }]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]

[[subnet]]
name = "app"
vcn = "app-vcn"
cidr_block = "10.1.1.0/24"
route_table = "rt"
security_lists = ["open-sl"]

[[vnic]]
name = "web-1"
id = "ocid1.vnic.oc1..web1"
subnet = "app"
private_ips = ["10.1.1.10"]
security_attributes = { app = { role = { value = "web", mode = "audit" } } }

[[vnic]]
name = "client-1"
id = "ocid1.vnic.oc1..client1"
subnet = "app"
private_ips = ["10.1.1.20"]
security_attributes = { app = { role = { value = "client", mode = "audit" } } }

[[zpr_policy]]
name = "app"
statements = ["in network.vcn:app VCN allow app.role:web endpoints to connect to '10.1.1.30/32' with protocol='tcp/5432'"]
"#;

/// One flow-log record (OCI's JSON line) of `vnic` for `src` -> `dst`,
/// its window starting `start` seconds after the first.
fn record(
    vnic: &str,
    (src, dst): (&str, &str),
    proto: u8,
    ports: Option<(u16, u16)>,
    start: u64,
) -> String {
    let (sp, dp) = ports.map_or(("null".into(), "null".into()), |(s, d)| {
        (s.to_string(), d.to_string())
    });
    format!(
        r#"{{"datetime": 1, "logContent": {{"data": {{"action": "ACCEPT", "bytesOut": 120, "destinationAddress": "{dst}", "destinationPort": {dp}, "endTime": {end}, "packets": 2, "protocol": {proto}, "sourceAddress": "{src}", "sourcePort": {sp}, "startTime": {start}, "status": "OK", "version": "2"}}, "oracle": {{"vnicocid": "{vnic}"}}}}}}"#,
        start = 1_700_000_000 + start,
        end = 1_700_000_059 + start,
    ) + "\n"
}

/// `replay s.toml LOG --report`, with `log` as LOG, in `d`: the report.
fn replay_report(d: &Path, log: &str) -> Value {
    std::fs::write(d.join("log.jsonl"), log).unwrap();
    let out = run_in(
        d,
        [
            "replay",
            "s.toml",
            "log.jsonl",
            "--report",
            "r.json",
            "--quiet",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap()
}

/// A ping between two audited VNICs, logged at both ends with both
/// directions in one window (OCI aggregates per window, so both start in
/// the same second), the two ends' records in opposite orders: the tie
/// rule at each VNIC took input order, so `client-1` judged the client's
/// direction as the opening echo and `web-1` the server's. `flows` counts
/// one flow, but the ZPR audit list had two, one per direction, each with
/// half the packets: the echo each end was judged as keyed the flow
/// (Community ID pairs an echo with its reply, not with an echo the
/// other way). TCP of the same shape was listed once. An ICMP record
/// carries no type, so both ends' records are one flow, listed once.
#[test]
fn an_icmp_flow_logged_at_both_ends_in_one_second_is_one_audit_flow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), TWO_AUDITED).unwrap();
    let (web, client) = ("ocid1.vnic.oc1..web1", "ocid1.vnic.oc1..client1");
    let (w, c) = ("10.1.1.10", "10.1.1.20");
    for (proto, name) in [(1, "icmp"), (6, "tcp")] {
        let ports = (proto == 6).then_some((50001, 50002));
        let back = ports.map(|(a, b)| (b, a));
        let log = [
            record(client, (c, w), proto, ports, 0),
            record(client, (w, c), proto, back, 0),
            record(web, (w, c), proto, back, 0),
            record(web, (c, w), proto, ports, 0),
        ]
        .concat();
        let r = replay_report(d, &log);
        assert_eq!(r["flow_log"]["flows"], 1, "{name}: {}", r["flow_log"]);
        let audit = &r["zpr_audit_flows"];
        assert_eq!(audit["total"], 1, "{name}: {audit:#}");
        let listed = audit["listed"].as_array().unwrap();
        assert_eq!(listed.len(), 1, "{name}: {audit:#}");
        assert_eq!(listed[0]["packets"], 8, "{name}: {audit:#}");
        assert_eq!(listed[0]["direction_guessed"], true, "{name}: {audit:#}");
        assert!(listed[0].get("to_keep_open").is_none(), "{name}: {audit:#}");
    }
    // A ping each way in windows far apart, logged at both ends: two
    // flows, each opened by its own end, each with its statement (the
    // one above must not join them).
    let log = [
        record(client, (c, w), 1, None, 0),
        record(web, (c, w), 1, None, 0),
        record(client, (w, c), 1, None, 1000),
        record(web, (w, c), 1, None, 1000),
    ]
    .concat();
    let r = replay_report(d, &log);
    let audit = &r["zpr_audit_flows"];
    let listed = audit["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{audit:#}");
    for (f, src) in listed.iter().zip([c, w]) {
        assert_eq!(f["src"], src, "{audit:#}");
        assert_eq!(f["packets"], 4, "{audit:#}");
        assert!(f["to_keep_open"].is_string(), "{audit:#}");
    }
}
