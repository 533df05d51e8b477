//! Audited flows of flow logs: no TCP flags, one-second ties, no ICMP type.

use std::path::Path;

use serde_json::Value;

use crate::support::{AUDITED_WEB, CLIENT, WEB, record, report, run_in};

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
///
/// Found by the fifteenth session's review (branch s17-qa; QA round ten).
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

/// The statement of a hint `zpr: add to ZPR policy `app` (in s.toml): "…"`,
/// as the TOML string it is written as.
fn hint_statement(hint: &str) -> &str {
    let (_, quoted) = hint.split_once(": \"").unwrap();
    quoted.strip_suffix('"').unwrap()
}

/// `AUDITED_WEB` with web enforced and `statement` (a TOML string's
/// contents) added to its policy.
fn enforced_with(statement: &str) -> String {
    let s = AUDITED_WEB.replace("mode = \"audit\"", "mode = \"enforce\"");
    s.replace(
        "protocol='tcp/5432'\"]",
        &format!("protocol='tcp/5432'\", \"{statement}\"]"),
    )
}

/// `explain` of an ICMP packet client -> web of `icmp_type`/`code` on the
/// scenario in `d`/`file`: its JSON.
fn explain_icmp(d: &Path, file: &str, icmp_type: u8, code: u8) -> Value {
    let out = run_in(
        d,
        [
            "explain",
            file,
            "--src",
            CLIENT,
            "--dst",
            WEB,
            "--proto",
            "icmp",
            "--icmp-type",
            &icmp_type.to_string(),
            "--icmp-code",
            &code.to_string(),
            "--json",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Planning item 4: a flow-log record carries no ICMP type, and the
/// statement `replay` proposed for an audited ICMP flow pinned the type
/// the record was judged as: `protocol='icmp', protocol.icmp.type='8',
/// protocol.icmp.code='0'`. Pasted and enforced, it closed every other
/// ICMP the record counted: "fragmentation needed" (type 3 code 4), which
/// Path MTU discovery needs, was dropped at ZPR. The statement now names
/// the protocol only, and the listed flow has no ICMP type; a packet whose
/// type is known (`explain`) keeps a statement for its type.
///
/// From the fifteenth session's planning list.
#[test]
fn a_flow_log_icmp_statement_names_no_type_and_keeps_fragmentation_needed_open() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), AUDITED_WEB).unwrap();
    std::fs::write(
        d.join("icmp.jsonl"),
        record(
            "ocid1.vnic.oc1..web1",
            (CLIENT, WEB),
            1,
            None,
            1_700_000_000,
        ),
    )
    .unwrap();
    let out = run_in(d, ["replay", "s.toml", "icmp.jsonl", "--report", "r.json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let a = &report(d, "r.json")["zpr_audit_flows"];
    let listed = &a["listed"][0];
    assert_eq!(listed["proto"], 1, "{a:#}");
    assert!(listed["icmp_type"].is_null(), "{listed:#}");
    assert!(listed["icmp_code"].is_null(), "{listed:#}");
    let hint = a["statements"][0]["to_keep_open"].as_str().unwrap();
    assert_eq!(listed["to_keep_open"].as_str(), Some(hint));
    let statement = hint_statement(hint);
    assert!(statement.ends_with("with protocol='icmp'"), "{hint}");
    assert!(!statement.contains("icmp.type"), "{hint}");

    // Pasted as written, web enforced: fragmentation needed passes, and
    // so does the echo request the record was judged as.
    std::fs::write(d.join("new.toml"), enforced_with(statement)).unwrap();
    for (t, c) in [(3, 4), (11, 0), (8, 0)] {
        let e = explain_icmp(d, "new.toml", t, c);
        assert_eq!(e["verdict"], "allow", "type {t} code {c}: {e:#}");
    }
    // The statement as it was proposed before closes it at ZPR.
    let old = statement.replace(
        "protocol='icmp'",
        "protocol='icmp', protocol.icmp.type='8', protocol.icmp.code='0'",
    );
    std::fs::write(d.join("old.toml"), enforced_with(&old)).unwrap();
    let e = explain_icmp(d, "old.toml", 3, 4);
    assert_eq!(e["verdict"], "drop", "{e:#}");
    assert_eq!(e["stage"], "zpr", "{e:#}");
    // A packet whose type is known gets a statement for its type.
    std::fs::write(
        d.join("enforced.toml"),
        AUDITED_WEB.replace("mode = \"audit\"", "mode = \"enforce\""),
    )
    .unwrap();
    let e = explain_icmp(d, "enforced.toml", 3, 4);
    let hints = e["to_open"].to_string();
    assert!(
        hints.contains("protocol='icmp', protocol.icmp.type='3', protocol.icmp.code='4'"),
        "{e:#}"
    );
}

/// `replay`'s `zpr_audit_flows` of `AUDITED_WEB` on `log`, through every
/// flow-log path: the library's in-memory judgement (its audit flows:
/// first packet as text, `direction_guessed`), and the command's, with
/// the records in memory and spilled to sorted runs (`--flow-log-buffer
/// 1`), for `--workers` 1 and 2 (all equal: the last is returned).
fn audit_on_every_path(log: &str) -> (Vec<(String, bool)>, Value) {
    use zprsim_control::compile::{Compiled, Config};
    use zprsim_dataplane::flowlog::judge::judge_records;
    use zprsim_dataplane::flowlog::read::{Limits, ReadOutcome, read_from};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), AUDITED_WEB).unwrap();
    std::fs::write(d.join("log.jsonl"), log).unwrap();
    let s = zprsim_dataplane::scenario_file::load_path(&d.join("s.toml"))
        .unwrap()
        .scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let mut read = ReadOutcome::default();
    read_from(
        "log.jsonl",
        0,
        log.as_bytes(),
        &Limits::default(),
        &mut read,
    )
    .unwrap();
    read.end_reading();
    let in_memory: Vec<(String, bool)> = judge_records(&c, &s, &read.records)
        .audit
        .sorted()
        .iter()
        .map(|a| (a.first.to_string(), a.direction_guessed))
        .collect();
    let mut seen: Option<Value> = None;
    for buffer in ["1000000", "1"] {
        for workers in ["1", "2"] {
            let out = run_in(
                d,
                [
                    "replay",
                    "s.toml",
                    "log.jsonl",
                    "--report",
                    "r.json",
                    "--flow-log-buffer",
                    buffer,
                    "--workers",
                    workers,
                ],
            );
            assert_eq!(out.status.code(), Some(0), "{out:?}");
            let a = report(d, "r.json")["zpr_audit_flows"].clone();
            if let Some(before) = &seen {
                assert_eq!(&a, before, "--flow-log-buffer {buffer} --workers {workers}");
            }
            seen = Some(a);
        }
    }
    (in_memory, seen.unwrap())
}

/// Planning item 3: flow logs carry no TCP flags, and when one VNIC logged
/// both directions of a connection in the same second, under open
/// security rules and ZPR audit both directions are allowed as first
/// packets, so the tie rule took input order: with the server's answer
/// first in the file, `replay` proposed "allow app.role:web endpoints to
/// connect to '10.1.1.20/32' with protocol='tcp/40000'", the reply's
/// direction, which once enforced closes the client's connections. The
/// port tie-break now takes the direction to port 443 (a Linux client's
/// 40000 is the ephemeral one), on every flow-log path.
///
/// From the fifteenth session's planning list.
#[test]
fn a_tie_in_one_second_proposes_the_clients_direction_by_its_ports() {
    let web = "ocid1.vnic.oc1..web1";
    let t = 1_700_000_000;
    let log = record(web, (WEB, CLIENT), 6, Some((443, 40000)), t)
        + &record(web, (CLIENT, WEB), 6, Some((40000, 443)), t);
    let (in_memory, a) = audit_on_every_path(&log);
    assert_eq!(
        in_memory,
        [(format!("tcp {CLIENT}:40000 -> {WEB}:443"), false)]
    );
    let listed = &a["listed"][0];
    assert_eq!(
        (&listed["sport"], &listed["dport"]),
        (&40000.into(), &443.into())
    );
    assert!(listed.get("direction_guessed").is_none(), "{a:#}");
    let hint = a["statements"][0]["to_keep_open"].as_str().unwrap();
    assert!(
        hint_statement(hint).ends_with(&format!(
            "allow '{CLIENT}/32' to connect to app.role:web endpoints with protocol='tcp/443'"
        )),
        "{hint}"
    );
    assert!(a.get("statements_withheld").is_none(), "{a:#}");
}

/// The same tie where the ports do not tell which end is the server (two
/// ports of the dynamic range; an NFS client's reserved port 700 to its
/// server's 2049, where the lower port is the client's): the direction is
/// input order's guess, the flow is marked `direction_guessed`, gets no
/// statement, and the report counts it as withheld; the summary says so.
///
/// From the fifteenth session's planning list.
#[test]
fn a_tie_the_ports_do_not_tell_is_marked_and_gets_no_statement() {
    let web = "ocid1.vnic.oc1..web1";
    let t = 1_700_000_000;
    let mut log = String::new();
    for (server, client) in [(50001, 50002), (2049, 700)] {
        log += &record(web, (WEB, CLIENT), 6, Some((server, client)), t);
        log += &record(web, (CLIENT, WEB), 6, Some((client, server)), t);
    }
    let (in_memory, a) = audit_on_every_path(&log);
    assert_eq!(in_memory.len(), 2, "{in_memory:?}");
    assert!(
        in_memory.iter().all(|(_, guessed)| *guessed),
        "{in_memory:?}"
    );
    let listed = a["listed"].as_array().unwrap();
    assert_eq!(listed.len(), 2, "{a:#}");
    for f in listed {
        assert_eq!(f["verdict"], "allow", "{f:#}");
        assert_eq!(f["direction_guessed"], true, "{f:#}");
        assert!(f.get("to_keep_open").is_none(), "{f:#}");
    }
    assert_eq!(a["statements"], serde_json::json!([]), "{a:#}");
    assert_eq!(a["statements_withheld"], 2, "{a:#}");

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), AUDITED_WEB).unwrap();
    std::fs::write(d.join("log.jsonl"), &log).unwrap();
    let out = run_in(d, ["replay", "s.toml", "log.jsonl"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("no statement for 2 flow(s) open today: which end opened them is not known"),
        "{text}"
    );
    assert!(
        text.contains("neither the rules nor the ports tell"),
        "{text}"
    );
}
