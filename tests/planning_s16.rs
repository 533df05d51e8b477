//! The user-facing defects of the fifteenth session's planning list, as
//! users met them: each test fails on the code before its fix.

use std::path::Path;

use serde_json::Value;

use crate::support::run_in;

/// A small tenancy with VNIC OCIDs (flow logs place records by them): open
/// security lists (ZPR does the work), a web server whose attribute is
/// audited, a client without one.
const AUDITED_WEB: &str = r#"
name = "mytenant"

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
name = "web"
vcn = "app-vcn"
cidr_block = "10.1.1.0/24"
route_table = "rt"
security_lists = ["open-sl"]

[[vnic]]
name = "web-1"
id = "ocid1.vnic.oc1..web1"
subnet = "web"
private_ips = ["10.1.1.10"]
security_attributes = { app = { role = { value = "web", mode = "audit" } } }

[[vnic]]
name = "client-1"
id = "ocid1.vnic.oc1..client1"
subnet = "web"
private_ips = ["10.1.1.20"]

[[zpr_policy]]
name = "app"
statements = ["in network.vcn:app VCN allow app.role:web endpoints to connect to '10.1.1.30/32' with protocol='tcp/5432'"]
"#;

const WEB: &str = "10.1.1.10";
const CLIENT: &str = "10.1.1.20";

/// One flow-log record (accepted, 2 packets) logged at the VNIC `vnic`
/// (its OCID), as a JSON line; `ports` `None` for ICMP.
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
        end = start + 59
    ) + "\n"
}

fn report(d: &Path, name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(d.join(name)).unwrap()).unwrap()
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
