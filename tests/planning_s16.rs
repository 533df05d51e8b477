//! The user-facing defects of the fifteenth session's planning list, as
//! users met them: each test fails on the code before its fix.

use std::path::Path;

use serde_json::Value;

use crate::support::run_in;

/// A small tenancy with VNIC OCIDs (flow logs place records by them): open
/// security lists (ZPR does the work), a web server whose attribute is
/// audited, a client without one.
pub(crate) const AUDITED_WEB: &str = r#"
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

pub(crate) const WEB: &str = "10.1.1.10";
pub(crate) const CLIENT: &str = "10.1.1.20";

/// One flow-log record (accepted, 2 packets) logged at the VNIC `vnic`
/// (its OCID), as a JSON line; `ports` `None` for ICMP.
pub(crate) fn record(
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

/// A copy of the OKE example's OCI export in `d`/`exp`.
pub(crate) fn oke_export_in(d: &Path) {
    let from =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/oci-export");
    std::fs::create_dir(d.join("exp")).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), d.join("exp").join(e.file_name())).unwrap();
    }
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Planning item 10: `zprsim import oci FILE` (one OCI CLI output, as the
/// OCI CLI's `oci network vcn list > vcns.json` wrote it) said only
/// "Not a directory (os error 20)", and `zprsim import DIR` "unrecognized
/// subcommand". Each now says what the file is and the command line that
/// takes it (exit 2), and that line works.
#[test]
fn import_given_a_file_or_no_source_says_the_command_line_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oke_export_in(d);
    let one = "exp/network-vcn-list.json";
    let out = run_in(d, ["import", "oci", one, "-o", "s.toml"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "`{one}` is a file, not a directory, and is one OCI CLI output"
        )),
        "{err}"
    );
    assert!(err.ends_with("zprsim import oci exp -o s.toml\n"), "{err}");
    // Without `-o`, the same message first (it used to be clap's "--output
    // is required", then "Not a directory").
    let out = run_in(d, ["import", "oci", one]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).ends_with("zprsim import oci exp -o SCENARIO.toml\n"),
        "{out:?}"
    );
    // The source word left out.
    let out = run_in(d, ["import", "exp", "-o", "s.toml"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`import` takes its source first, `oci`"),
        "{err}"
    );
    assert!(err.ends_with("zprsim import oci exp -o s.toml\n"), "{err}");
    // The line they give works.
    let out = run_in(d, ["import", "oci", "exp", "-o", "s.toml"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!std::fs::read(d.join("s.toml")).unwrap().is_empty());
}

/// `import oci` given an empty file, a file of flow-log records, a TOML
/// scenario: each is named for what it is, with what import wants (they
/// all said "Not a directory (os error 20)"). A directory of flow logs
/// imported with exit 0 into a scenario with nothing in it, one warning
/// per record ("an object without an OCID `id` was left out"); it is now
/// refused, and a flow log kept beside an export is left out with one
/// warning, the scenario as without it.
#[test]
fn import_names_what_it_was_given_when_it_is_no_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("empty.json"), "").unwrap();
    std::fs::write(d.join("s.toml"), AUDITED_WEB).unwrap();
    let log = record(
        "ocid1.vnic.oc1..web1",
        (CLIENT, WEB),
        6,
        Some((40000, 443)),
        1_700_000_000,
    );
    std::fs::write(d.join("log.jsonl"), &log).unwrap();
    for (file, says) in [
        ("empty.json", "and is empty"),
        ("log.jsonl", "and holds OCI VCN flow-log records"),
        ("s.toml", "and is a zprsim scenario (TOML) already"),
    ] {
        let out = run_in(d, ["import", "oci", file, "-o", "out.toml"]);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("`{file}` is a file, not a directory, {says}")),
            "{err}"
        );
        assert!(
            err.contains("`import oci` reads a directory of OCI CLI JSON outputs"),
            "{err}"
        );
        assert!(!d.join("out.toml").exists());
    }
    let out = run_in(d, ["import", "oci", "log.jsonl", "-o", "out.toml"]);
    assert!(
        stderr_of(&out).ends_with("zprsim replay out.toml log.jsonl\n"),
        "{out:?}"
    );

    // A directory of flow logs (a JSON array, as OCI's console exports).
    std::fs::create_dir(d.join("logs")).unwrap();
    std::fs::write(d.join("logs/flows.json"), format!("[{}]", log.trim_end())).unwrap();
    let out = run_in(d, ["import", "oci", "logs", "-o", "out.toml"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: `logs` holds no OCI CLI output: `logs/flows.json` holds OCI VCN flow-log records"), "{err}");
    assert!(!d.join("out.toml").exists());

    // Beside an export: left out, with one warning.
    oke_export_in(d);
    let out = run_in(d, ["import", "oci", "exp", "-o", "a.toml"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    std::fs::copy(d.join("logs/flows.json"), d.join("exp/flows.json")).unwrap();
    let out = run_in(d, ["import", "oci", "exp", "-o", "b.toml"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("flows.json").count(), 1, "{err}");
    assert!(
        err.contains("warning: `exp/flows.json` holds OCI VCN flow-log records"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("a.toml")).unwrap(),
        std::fs::read_to_string(d.join("b.toml")).unwrap()
    );
}

/// Planning item 8: the bounded spool of `replay --flows`'s records
/// (65,536 per worker in memory, the rest in sorted runs in a temporary
/// file) on a file system that refuses to grow its file (`ulimit -f`,
/// SIGXFSZ ignored, as a full tmpfs refuses a write) ended the run with
/// "error: flow records' temporary file in …: File too large" and no
/// report. Now only `--flows` is abandoned: nothing of it is written, the
/// report is, with an `output-failed` warning saying why, stderr says it
/// once, and the run exits 2 (as when the output's own write fails).
#[test]
fn a_full_disk_under_the_flow_records_spool_abandons_only_the_flows_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), AUDITED_WEB).unwrap();
    // 70,000 distinct UDP flows: past one worker's 65,536 records in
    // memory, a run of ~10 MB is written.
    std::fs::write(d.join("many.pcap"), crate::planning_s19::udp_flows(70_000)).unwrap();
    std::fs::create_dir(d.join("tmp")).unwrap();
    let zprsim = assert_cmd::cargo::cargo_bin!("zprsim");
    // `--flows -`: the spool is in `$TMPDIR`; 400 blocks (200 or 400 KB)
    // hold the report, not the spool's run.
    let script = format!(
        "trap '' XFSZ; ulimit -f 400; TMPDIR=tmp exec '{}' replay s.toml many.pcap --flows - --report r.json --quiet",
        zprsim.display()
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(d)
        .output()
        .unwrap();
    let err = stderr_of(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty(), "a partial flow log was written");
    let said = "error: --flows `-`: its flow records' temporary file in tmp: ";
    assert!(err.starts_with(said), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let r = report(d, "r.json");
    assert_eq!(r["packets"]["total"], 70_000, "{r:#}");
    let failed: Vec<&Value> = r["run_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "output-failed")
        .collect();
    assert_eq!(failed.len(), 1, "{r:#}");
    assert_eq!(failed[0]["file"], "-");
    let m = failed[0]["message"].as_str().unwrap();
    assert!(m.contains("its flow records' temporary file in tmp"), "{m}");
    // The temporary file is unnamed: nothing is left.
    assert_eq!(std::fs::read_dir(d.join("tmp")).unwrap().count(), 0);
}
