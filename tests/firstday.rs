//! A user's first day: what real users bring (endless devices, stdout
//! named twice, odd captures), each test running the binary and asserting
//! the exit code, the message and that nothing was eaten or lost.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

use crate::support::{LB_NSG_RULES, oke_export};

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("zprsim")
}

/// Runs `zprsim ARGS` in `dir` under a 3 GiB address-space limit, so a
/// read that does not stop at its limit fails the test (an allocation
/// failure) instead of eating the machine.
fn capped(dir: &Path, args: &[&str]) -> Output {
    let mut script = String::from("ulimit -v 3145728 && exec \"$0\"");
    for i in 1..=args.len() {
        script.push_str(&format!(" \"${i}\""));
    }
    std::process::Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .arg(bin())
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_scenario_on_an_endless_device_is_refused_at_the_limit() {
    let t = tempfile::tempdir().unwrap();
    let o = capped(t.path(), &["check", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "/dev/zero: error: the scenario is longer than 268435456 bytes; at most 268435456 bytes are accepted\n"
    );
}

#[test]
fn a_policy_file_on_an_endless_device_is_refused_at_the_limit() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("s.toml"),
        "[[zpr_policy]]\nname = \"p\"\nfile = \"/dev/zero\"\n",
    )
    .unwrap();
    let o = capped(t.path(), &["check", "s.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "s.toml:3:8: error: in zpr policy `p`, field `file`: cannot read `/dev/zero`: the file is longer than 4194304 bytes; at most 4194304 bytes are accepted\n"
    );
}

#[test]
fn a_scenario_that_is_not_utf8_names_the_byte() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("s.toml"), b"name = \"x\"\n# \xff\n").unwrap();
    let o = crate::support::run_in(t.path(), ["check", "s.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "s.toml: error: byte 13: the scenario is not UTF-8 text\n"
    );
}

fn demo() -> (PathBuf, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    (
        root.join("examples/oke-orders/scenario.toml"),
        root.join("pcaps/oke-demo.pcap"),
    )
}

#[test]
fn standard_output_named_twice_by_dash_and_by_path_is_refused() {
    let (scenario, pcap) = demo();
    let (s, p) = (scenario.to_str().unwrap(), pcap.to_str().unwrap());
    // Standard output is a pipe here: `/dev/stdout` and `/dev/fd/1` are
    // that pipe, and `-` writes to it too. Before the fix the pcap and the
    // JSON report went interleaved down the same pipe.
    for path in ["/dev/stdout", "/dev/fd/1"] {
        let o = Command::cargo_bin("zprsim")
            .unwrap()
            .args([
                "replay",
                s,
                p,
                "--allowed",
                path,
                "--report",
                "-",
                "--quiet",
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{path}: {}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!(
                "error: --report `-` and --allowed `{path}` are the same file: each output needs its own file\n"
            )
        );
        assert!(o.stdout.is_empty(), "{path}: nothing written");
    }
    // Alone, `/dev/stdout` is standard output, as documented.
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .args(["replay", s, p, "--allowed", "/dev/stdout", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let input = std::fs::read(&pcap).unwrap();
    assert_eq!(
        o.stdout.get(..24),
        input.get(..24),
        "the input's pcap header"
    );
}

#[test]
fn standard_output_redirected_onto_an_input_is_refused() {
    let (scenario, pcap) = demo();
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join("in.pcap");
    std::fs::copy(&pcap, &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    // `zprsim replay s.toml in.pcap --report - >> in.pcap`
    let append = std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap();
    let o = std::process::Command::new(bin())
        .current_dir(t.path())
        .args([
            "replay",
            scenario.to_str().unwrap(),
            "in.pcap",
            "--report",
            "-",
            "--quiet",
        ])
        .stdout(append)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "error: --report `-` is the same file as PCAP `in.pcap`: an output must not overwrite an input\n"
    );
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input is intact"
    );
}

#[test]
fn a_piped_standard_input_named_twice_is_refused() {
    let (scenario, pcap) = demo();
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .args([
            "replay",
            scenario.to_str().unwrap(),
            "-",
            "/dev/stdin",
            "--quiet",
        ])
        .write_stdin(std::fs::read(&pcap).unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Before: `/dev/stdin: byte 0: not a pcap or pcapng file` (the pipe
    // was already drained by `-`).
    assert_eq!(
        stderr(&o),
        "error: PCAP `/dev/stdin` is standard input, which PCAP `-` reads already: standard input can be used once\n"
    );
}

#[test]
fn an_export_missing_a_rule_field_never_imports_a_wider_rule() {
    use serde_json::{Value, json};
    use zprsim_control::import::oci;
    let files = oke_export();
    let rules_of = |toml: &str| {
        let s = zprsim_control::load::from_toml_str(toml, "i.toml")
            .unwrap()
            .scenario;
        s.nsgs
            .iter()
            .find(|n| n.name == "lb-nsg")
            .map(|n| n.rules.len())
            .unwrap()
    };
    let base = oci::import(&files, None).unwrap();
    let all = rules_of(&base.toml);
    assert_eq!(all, 3);
    // The first rule of `lb-nsg`: egress tcp to an NSG, dport 8080.
    type Edit = fn(&mut serde_json::Map<String, Value>);
    let cases: [(&str, Edit, &str); 7] = [
        // Before: `protocol = "all"` (every protocol and port).
        (
            "no protocol",
            |r| {
                r.remove("protocol");
            },
            "no `protocol`",
        ),
        (
            "null protocol",
            |r| {
                r.insert("protocol".into(), Value::Null);
            },
            "no `protocol`",
        ),
        // Before: `0.0.0.0/0`, read as an NSG name, left out with a wrong reason.
        (
            "no destination",
            |r| {
                r.remove("destination");
            },
            "no `destination`",
        ),
        // Before: every destination port.
        (
            "half a port range",
            |r| {
                r.insert(
                    "tcp-options".into(),
                    json!({"destination-port-range": {"min": 8080}}),
                );
            },
            "`destination-port-range` without a whole `min` and `max`",
        ),
        (
            "a port range that is a string",
            |r| {
                r.insert(
                    "tcp-options".into(),
                    json!({"destination-port-range": "8080"}),
                );
            },
            "`destination-port-range` without a whole `min` and `max`",
        ),
        // Before: every ICMP type.
        (
            "icmp options without a type",
            |r| {
                r.insert("protocol".into(), json!("1"));
                r.insert("tcp-options".into(), Value::Null);
                r.insert("icmp-options".into(), json!({"code": 4}));
            },
            "`icmp-options` without a `type`",
        ),
        // Before: an empty direction, which the scenario then refused to load.
        (
            "an unknown direction",
            |r| {
                r.insert("direction".into(), json!("SIDEWAYS"));
            },
            "direction `SIDEWAYS` is not `INGRESS` or `EGRESS`",
        ),
    ];
    for (what, edit, why) in cases {
        let mut f = files.clone();
        let mut v: Value = serde_json::from_str(&f[LB_NSG_RULES]).unwrap();
        edit(v["data"][0].as_object_mut().unwrap());
        f.insert(LB_NSG_RULES.into(), v.to_string());
        let out = oci::import(&f, None).unwrap();
        let expected = format!(
            "NSG `lb-nsg` (`ocid1.networksecuritygroup.oc1.iad.gen000000`): rule `04ABEC`: {why}; the rule is left out"
        );
        assert!(
            out.warnings.contains(&expected),
            "{what}: {:?}",
            out.warnings
        );
        assert_eq!(rules_of(&out.toml), all - 1, "{what}: the rule is left out");
    }
    // A null port range is OCI's "every port": kept as it is.
    let mut f = files.clone();
    let mut v: Value = serde_json::from_str(&f[LB_NSG_RULES]).unwrap();
    v["data"][0]["tcp-options"]["destination-port-range"] = Value::Null;
    f.insert(LB_NSG_RULES.into(), v.to_string());
    let out = oci::import(&f, None).unwrap();
    assert_eq!(rules_of(&out.toml), all);
}

#[test]
fn import_warnings_cannot_forge_a_line() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("exp");
    std::fs::create_dir(&dir).unwrap();
    for (name, text) in oke_export() {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let vnic = dir.join("network-vnic-get-0.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&vnic).unwrap()).unwrap();
    v["data"]["subnet-id"] = "ocid1.subnet.x\nwarning: all good\u{202e}".into();
    std::fs::write(&vnic, v.to_string()).unwrap();
    // Its address lies in another subnet of the export: the import fails
    // (fourteenth session; it was a warning), and the error quotes the
    // OCID escaped as the warnings do (it did not).
    let o = crate::support::run_in(t.path(), ["import", "oci", "exp", "-o", "s.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(
            "its subnet `ocid1.subnet.x\\nwarning: all good\\u{202e}` is not in the export, and its address"
        ),
        "{err}"
    );
    assert!(!err.contains("\nwarning: all good"), "{err}");
}

/// Pipes `body` into `zprsim ARGS -` cut at `cut`, sends SIG`sig` between
/// the two halves; the exit code and stderr.
fn piped_with_signal(args: &[&str], body: &[u8], cut: usize, sig: &str) -> (Option<i32>, String) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = std::process::Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&body[..cut]).unwrap();
    let killed = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(std::time::Duration::from_millis(100));
    let _ = stdin.write_all(&body[cut..]);
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn ctrl_c_stops_a_flow_log_replay_and_diff_cleanly() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario = root.join("examples/oke-orders/scenario.toml");
    let proposed = root.join("examples/oke-orders/proposed.toml");
    let lines: Vec<String> =
        std::fs::read_to_string(root.join("examples/oke-orders/flowlogs/oke-demo.jsonl"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
    // 400 copies of the fixture: the signal lands while zprsim reads the pipe.
    let mut body = String::new();
    for _ in 0..400 {
        for l in &lines {
            body.push_str(l);
            body.push('\n');
        }
    }
    let all = 400 * lines.len() as u64;
    let cut = body.len() / 3 + 5; // inside a line
    let t = tempfile::tempdir().unwrap();
    let (s, p) = (scenario.to_str().unwrap(), proposed.to_str().unwrap());
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let report = t.path().join(format!("r{sig}.json"));
        let flows = t.path().join(format!("f{sig}.jsonl"));
        let (r, f) = (report.to_str().unwrap(), flows.to_str().unwrap());
        // Before the fix: no handler, so SIGTERM killed the run with no
        // output (and an inherited ignored SIGINT let it finish with 0).
        let (got, err) = piped_with_signal(
            &["replay", s, "-", "--quiet", "--report", r, "--flows", f],
            body.as_bytes(),
            cut,
            sig,
        );
        assert_eq!(got, Some(code), "replay SIG{sig}: {err}");
        assert!(err.contains("interrupted: "), "{err}");
        let rep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert_eq!(rep["interrupted"], true);
        assert_eq!(rep["stopped_by"], format!("sig{}", sig.to_lowercase()));
        let records = rep["flow_log"]["records"].as_u64().unwrap();
        // Not `> 0`: on a slow machine the signal may land before the
        // first line is read, and then none is the right answer.
        assert!(records < all, "{records} of {all}");
        let judged = rep["flow_log"]["judged"].as_u64().unwrap();
        let written = std::fs::read_to_string(&flows).unwrap().lines().count() as u64;
        assert_eq!(
            written, judged,
            "the flow log holds exactly the judged records"
        );

        let dreport = t.path().join(format!("d{sig}.json"));
        let (got, err) = piped_with_signal(
            &[
                "diff",
                s,
                p,
                "-",
                "--quiet",
                "--report",
                dreport.to_str().unwrap(),
            ],
            body.as_bytes(),
            cut,
            sig,
        );
        assert_eq!(got, Some(code), "diff SIG{sig}: {err}");
        let rep: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&dreport).unwrap()).unwrap();
        assert_eq!(rep["interrupted"], true);
        assert_eq!(rep["stopped_by"], format!("sig{}", sig.to_lowercase()));
        let records = rep["flow_log"]["records"].as_u64().unwrap();
        assert!(records < all, "diff: {records} of {all}");
    }
}

#[test]
fn a_flow_log_field_cannot_forge_a_warning_line() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario = root.join("examples/oke-orders/scenario.toml");
    let text =
        std::fs::read_to_string(root.join("examples/oke-orders/flowlogs/oke-demo.jsonl")).unwrap();
    let line = text.lines().nth(1).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["logContent"]["data"]["action"] = "NOPE\nwarning: all good".into();
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("f.jsonl"), format!("{v}\n{line}\n")).unwrap();
    for args in [
        vec!["replay", scenario.to_str().unwrap(), "f.jsonl", "--quiet"],
        vec![
            "diff",
            scenario.to_str().unwrap(),
            scenario.to_str().unwrap(),
            "f.jsonl",
            "--quiet",
        ],
    ] {
        let o = crate::support::run_in(t.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("f.jsonl:1: skipped: field `data.action`: `NOPE\\nwarning: all good` is not ACCEPT or REJECT"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("\nwarning: all good"), "{args:?}: {err}");
    }
}

#[test]
fn a_byte_order_mark_is_accepted_in_json_scenarios_and_oci_exports() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The docs' ZPR-only scenario as JSON, written by a Windows editor.
    let toml = std::fs::read_to_string(root.join("examples/docs/zonly.toml")).unwrap();
    let value: toml::Value = toml::from_str(&toml).unwrap();
    let json = format!("\u{feff}{}", serde_json::to_string_pretty(&value).unwrap());
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("s.json"), &json).unwrap();
    let o = crate::support::run_in(t.path(), ["check", "s.json"]);
    // Before: `s.json:1:1: error: expected value`.
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // On standard input too (before: taken for TOML).
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .args(["check", "-"])
        .write_stdin(json.clone())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // An OCI export file with a BOM imports as without.
    let mut files = oke_export();
    let plain = zprsim_control::import::oci::import(&files, None).unwrap();
    let vcns = files.get_mut("network-vcn-list.json").unwrap();
    vcns.insert(0, '\u{feff}');
    let with_bom = zprsim_control::import::oci::import(&files, None).unwrap();
    assert_eq!(with_bom, plain);
}

#[test]
fn a_full_disk_is_said_once_and_plainly() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario = root.join("examples/oke-orders/scenario.toml");
    let expect = root.join("examples/oke-orders/expect.toml");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .args([
            "verify",
            scenario.to_str().unwrap(),
            expect.to_str().unwrap(),
            "--junit",
            "/dev/full",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    // Before: "error: --junit `/dev/full`: --junit `/dev/full`: No space left on device".
    assert_eq!(
        stderr(&o),
        "error: --junit `/dev/full`: No space left on device\n"
    );
}

/// A route rule without a destination: what it took is unknown. It was
/// left out with a warning until the thirteenth session; left out, its
/// traffic could take a wider rule (and route rules are the return paths
/// that admit traffic from outside), so the import could allow more than
/// the network. The import now fails, naming the rule.
#[test]
fn a_route_rule_without_destination_fails_the_import_naming_it() {
    use zprsim_control::import::oci;
    let mut files = oke_export();
    let name = "network-route-table-list.json";
    let mut v: serde_json::Value = serde_json::from_str(&files[name]).unwrap();
    v["data"][0]["route-rules"][0]
        .as_object_mut()
        .unwrap()
        .remove("destination");
    files.insert(name.into(), v.to_string());
    let e = oci::import(&files, None).unwrap_err();
    assert!(
        e.message.starts_with("route table `public-rt` (`")
            && e.message
                .contains("`): rule #0 has no `destination`; a route rule is not left out"),
        "{e}"
    );
}

/// A route rule whose target the export lacks was left out: its traffic
/// could then take a wider rule. It is kept, sending to a stand-in
/// gateway that drops every packet: the public subnet's default route,
/// its internet gateway missing, now drops the internet's traffic to the
/// load balancer (return path) instead of leaving it to nothing or to a
/// wider rule.
#[test]
fn a_route_rule_to_a_target_not_in_the_export_goes_to_a_stand_in_that_drops() {
    use zprsim_control::import::oci;
    let mut files = oke_export();
    let name = "network-route-table-list.json";
    let mut v: serde_json::Value = serde_json::from_str(&files[name]).unwrap();
    v["data"][0]["route-rules"][0]["network-entity-id"] = "ocid1.internetgateway.oc1..gone".into();
    files.insert(name.into(), v.to_string());
    let out = oci::import(&files, None).unwrap();
    assert!(
        out.warnings.iter().any(|w| w.contains(
            "targets `ocid1.internetgateway.oc1..gone`, which is not in the export; kept, sending to `missing-"
        )),
        "{:?}",
        out.warnings
    );
    let s = zprsim_control::load::from_toml_str(&out.toml, "i.toml")
        .unwrap()
        .scenario;
    let t = s
        .route_tables
        .iter()
        .find(|t| t.name == "public-rt")
        .unwrap();
    assert_eq!(t.rules.len(), 1);
    let zprsim_control::model::RouteTarget::Gateway(g) = t.rules[0].target else {
        panic!("{:?}", t.rules[0]);
    };
    assert!(s.gateways[g.index()].blocked, "{:?}", s.gateways[g.index()]);
    assert!(s.gateways[g.index()].name.starts_with("missing-"));
}

/// Why a route rule to a missing target is not left out: the public
/// subnet's table sends a partner's prefix to a NAT gateway (which admits
/// replies only) beside its default route to the internet gateway. The NAT
/// gateway missing from the export, leaving the rule out sent the
/// partner's unsolicited connection to the load balancer through the
/// internet gateway's return path: allowed, where the network drops it.
/// With the stand-in it is dropped at the route layer.
#[test]
fn a_route_rule_to_a_missing_target_left_out_would_let_a_partner_in() {
    use zprsim_control::import::oci;
    use zprsim_control::packet::Packet;
    use zprsim_control::verdict::{Context, Stage, Verdict};
    let mut files = oke_export();
    let name = "network-route-table-list.json";
    let mut v: serde_json::Value = serde_json::from_str(&files[name]).unwrap();
    let rules = v["data"][0]["route-rules"].as_array_mut().unwrap();
    rules.push(serde_json::json!({
        "destination": "203.0.113.0/24",
        "destination-type": "CIDR_BLOCK",
        "network-entity-id": "ocid1.natgateway.oc1..gone"
    }));
    files.insert(name.into(), v.to_string());
    let out = oci::import(&files, None).unwrap();
    let s = zprsim_control::load::from_toml_str(&out.toml, "i.toml")
        .unwrap()
        .scenario;
    let lb = s.vnics.iter().find(|v| v.name == "orders-lb").unwrap();
    let p = Packet::tcp(
        "203.0.113.7".parse().unwrap(),
        40_000,
        lb.private_ips[0],
        443,
    );
    let d = zprsim_control::eval::evaluate(&s, &p, Context::First);
    assert_eq!(d.judgement.verdict, Verdict::Drop, "{d:?}");
    assert_eq!(d.judgement.stage, Some(Stage::Route), "{d:?}");
    // Another customer, outside the partner's prefix, still comes in.
    let q = Packet::tcp(
        "198.51.100.7".parse().unwrap(),
        40_000,
        lb.private_ips[0],
        443,
    );
    let d = zprsim_control::eval::evaluate(&s, &q, Context::First);
    assert_eq!(d.judgement.verdict, Verdict::Allow, "{d:?}");
}

#[test]
fn import_refuses_an_export_that_makes_no_valid_scenario_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("exp");
    std::fs::create_dir(&dir).unwrap();
    for (name, text) in oke_export() {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let rules = dir.join(LB_NSG_RULES);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rules).unwrap()).unwrap();
    v["data"][0]["tcp-options"]["destination-port-range"] =
        serde_json::json!({"min": 9000, "max": 80});
    // Stateless: such a rule is not left out (a stateful one is, since the
    // fifteenth session: docs/import.md), so the export stays invalid.
    v["data"][0]["is-stateless"] = serde_json::json!(true);
    std::fs::write(&rules, v.to_string()).unwrap();
    // A scenario an earlier import wrote (any other file is refused
    // before the export is read, since the seventeenth session).
    let kept = format!("{}\n# keep me\n", zprsim_control::import::oci::HEADER);
    std::fs::write(t.path().join("s.toml"), &kept).unwrap();
    let o = crate::support::run_in(t.path(), ["import", "oci", "exp", "-o", "s.toml"]);
    // Before: exit 0, and `s.toml` replaced by a scenario `check` refused.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("s.toml (as it would be written):") && err.contains(": error: in nsg `lb-nsg`, field `rules[0].tcp_options.destination_port_range`: min `9000` is greater than max `80`\n"),
        "{err}"
    );
    assert!(
        err.ends_with(
            "error: the export does not make a valid scenario; `s.toml` is not written\n"
        ),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("s.toml")).unwrap(),
        kept
    );
}

#[test]
fn fail_on_drop_holds_for_flow_logs_too() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario = root.join("examples/oke-orders/scenario.toml");
    let logs = root.join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let run = |input: &str, body: Option<Vec<u8>>| {
        let mut c = Command::cargo_bin("zprsim").unwrap();
        c.args([
            "replay",
            scenario.to_str().unwrap(),
            input,
            "--quiet",
            "--fail-on-drop",
        ]);
        if let Some(b) = body {
            c.write_stdin(b);
        }
        c.output().unwrap()
    };
    // The fixture's records include drops: a CI gate must fail. Before:
    // the flag was ignored for flow logs and the exit was 0.
    let o = run(logs.to_str().unwrap(), None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // Only allowed records: 0.
    let text = std::fs::read_to_string(&logs).unwrap();
    let allowed: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    let o = run("-", Some(allowed.into_bytes()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_policy_file_that_cannot_be_read_says_so_once() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("s.toml"),
        "[[zpr_policy]]\nname = \"p\"\nfile = \".\"\n",
    )
    .unwrap();
    let o = crate::support::run_in(t.path(), ["check", "s.toml"]);
    assert_eq!(o.status.code(), Some(2));
    // The scenario, the key and the path, and what is wrong in words (62cae2b
    // said "cannot read `.`: cannot read the file: ...", and until the
    // twenty-ninth session "cannot read `.`: Is a directory (os error
    // 21)"); in a directory below, the path as given from here.
    assert_eq!(
        stderr(&o),
        "s.toml:3:8: error: in zpr policy `p`, field `file`: cannot read `.`: it is a directory, not a `.zpl` file\n"
    );
    std::fs::create_dir(t.path().join("sub")).unwrap();
    std::fs::write(
        t.path().join("sub/s.toml"),
        "[[zpr_policy]]\nname = \"p\"\nfile = \"policies\"\n",
    )
    .unwrap();
    std::fs::create_dir(t.path().join("sub/policies")).unwrap();
    let o = crate::support::run_in(t.path(), ["check", "sub/s.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "sub/s.toml:3:8: error: in zpr policy `p`, field `file`: cannot read `sub/policies`: it is a directory, not a `.zpl` file\n"
    );
}

#[test]
fn a_compressed_capture_is_named_as_such() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario = root.join("examples/oke-orders/scenario.toml");
    let pcap = std::fs::read(root.join("pcaps/oke-demo.pcap")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &pcap).unwrap();
    let gz = gz.finish().unwrap();
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("c.pcap.gz"), &gz).unwrap();
    let o = crate::support::run_in(
        t.path(),
        ["replay", scenario.to_str().unwrap(), "c.pcap.gz", "--quiet"],
    );
    // Since the tenth session a gzip capture is read as the capture it
    // holds (tests/gzip_captures.rs); before, it was this test's error.
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The other compressions are still named, with the command to use.
    let mut xz = b"\xfd7zXZ\x00\x00\x04".to_vec();
    xz.extend_from_slice(&pcap[..64]);
    std::fs::write(t.path().join("c.pcap.xz"), &xz).unwrap();
    let o = crate::support::run_in(
        t.path(),
        ["replay", scenario.to_str().unwrap(), "c.pcap.xz", "--quiet"],
    );
    assert_eq!(o.status.code(), Some(2));
    // Before: "not a pcap or pcapng file", with no word of the compression.
    assert_eq!(
        stderr(&o),
        "error: c.pcap.xz: byte 0: xz-compressed data, not a pcap or pcapng file: decompress it first (`xzcat FILE > capture.pcap`, or pipe `xzcat FILE` into `-`)\n"
    );
}

#[test]
fn import_refuses_a_directory_of_more_json_than_it_can_hold() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("exp");
    std::fs::create_dir(&dir).unwrap();
    for (name, text) in oke_export() {
        std::fs::write(dir.join(name), text).unwrap();
    }
    // Five sparse files of 250 MiB each: under the per-file limit, 1.2 GiB
    // in all. Before: each was read (and held) in turn, 1.2 GiB of memory.
    for i in 0..5 {
        let f = std::fs::File::create(dir.join(format!("big-{i}.json"))).unwrap();
        f.set_len(250 << 20).unwrap();
    }
    let o = capped(t.path(), &["import", "oci", "exp", "-o", "s.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: `exp` holds {} bytes of `*.json` files; at most 1073741824 bytes are read (the limit)\n",
            5 * (250u64 << 20) + oke_export().values().map(|t| t.len() as u64).sum::<u64>()
        )
    );
    assert!(!t.path().join("s.toml").exists());
}
