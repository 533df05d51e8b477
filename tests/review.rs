//! Hostile and careless inputs found in review: each test runs the binary
//! and asserts the exit code, the message (with its position) and that the
//! inputs' bytes are unchanged.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

use crate::support::{LB_NSG_RULES, oke_export};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    crate::support::run_in(dir, args)
}

/// A `[[path]]` on the OKE example with `dport` set to `value`.
fn expect_with_dport(value: &str) -> String {
    format!(
        "[[path]]\nname = \"x\"\nfrom = \"subnet:pods\"\nto = \"subnet:workers\"\nproto = \"tcp\"\ndport = {value}\nexpect = \"allow\"\n"
    )
}

#[test]
fn verify_refuses_a_float_port_with_the_fields_own_message() {
    let t = tempfile::tempdir().unwrap();
    let scenario = root().join("examples/oke-orders/scenario.toml");
    for (value, field) in [
        ("nan", "dport"),
        ("1e9", "dport"),
        ("-0.5", "dport"),
        ("true", "dport"),
        ("[1, 2]", "dport"),
    ] {
        let text = expect_with_dport(value);
        let expect = t.path().join("e.toml");
        std::fs::write(&expect, &text).unwrap();
        let o = cli(t.path(), &["verify", scenario.to_str().unwrap(), "e.toml"]);
        assert_eq!(o.status.code(), Some(2), "{value}");
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(
            err.starts_with("e.toml:6:9: error: `dport` must be a port"),
            "{value}: {err}"
        );
        assert!(!err.contains("untagged"), "{field}: {err}");
        assert_eq!(std::fs::read_to_string(&expect).unwrap(), text);
    }
    // the same for `proto`
    let text = "[[path]]\nname = \"x\"\nfrom = \"subnet:pods\"\nto = \"subnet:workers\"\nproto = 6.5\ndport = 1\nexpect = \"allow\"\n";
    std::fs::write(t.path().join("e.toml"), text).unwrap();
    let o = cli(t.path(), &["verify", scenario.to_str().unwrap(), "e.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("e.toml:5:9: error: `proto` must be"),
        "{err}"
    );
}

/// Copies the OKE example's OCI export into a temporary directory.
fn export_copy() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("exp")).unwrap();
    let from = root().join("examples/oke-orders/oci-export");
    for e in std::fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), t.path().join("exp").join(e.file_name())).unwrap();
    }
    t
}

#[test]
fn import_warns_when_one_ocid_names_two_different_objects() {
    let t = export_copy();
    let vcns = t.path().join("exp/network-vcn-list.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&vcns).unwrap()).unwrap();
    let data = doc["data"].as_array_mut().unwrap();
    let mut twin = data[0].clone();
    let id = twin["id"].as_str().unwrap().to_owned();
    twin["display-name"] = "impostor".into();
    data.push(twin);
    let text = serde_json::to_string(&doc).unwrap();
    std::fs::write(&vcns, &text).unwrap();
    let o = cli(t.path(), &["import", "oci", "exp", "-o", "out.toml"]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains(&format!(
            "warning: `network-vcn-list.json`: OCID `{id}` appears again with another `display-name`; the first, from `network-vcn-list.json`, is kept\n"
        )),
        "{err}"
    );
    let out = std::fs::read_to_string(t.path().join("out.toml")).unwrap();
    assert!(!out.contains("impostor"), "{out}");
    assert_eq!(std::fs::read_to_string(&vcns).unwrap(), text);

    // the same object twice (as `vnic get` and `list-vnics` give it) is quiet
    let t = export_copy();
    let one = t.path().join("exp/network-vnic-get-0.json");
    std::fs::copy(&one, t.path().join("exp/network-vnic-get-again.json")).unwrap();
    let o = cli(t.path(), &["import", "oci", "exp", "-o", "out.toml"]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(!err.contains("appears again"), "{err}");
}

/// A small expectations file on the OKE example: one path that passes.
const ONE_PATH: &str = "[[path]]\nname = \"api\"\nfrom = \"subnet:workers\"\nto = \"vnic:k8s-api-endpoint\"\nproto = \"tcp\"\ndport = 6443\nexpect = \"allow\"\n";

#[test]
fn verify_reads_the_expectations_from_standard_input() {
    let scenario = root().join("examples/oke-orders/scenario.toml");
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .args(["verify", scenario.to_str().unwrap(), "-"])
        .write_stdin(ONE_PATH)
        .output()
        .unwrap();
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.ends_with("1 path(s): 1 ok, 0 failed, 0 skipped\n"),
        "{out}"
    );
}

#[test]
fn verify_reads_at_most_the_limit_of_an_endless_or_huge_expectations_file() {
    let scenario = root().join("examples/oke-orders/scenario.toml");
    // An endless device: refused after the limit, not read until memory runs out.
    let o = cli(
        &root(),
        &["verify", scenario.to_str().unwrap(), "/dev/zero"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "/dev/zero: error: the expectations file is longer than 4194304 bytes (the limit)\n"
    );
    // Too long on standard input.
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .args(["verify", scenario.to_str().unwrap(), "-"])
        .write_stdin(vec![b'#'; 4 * 1024 * 1024 + 1])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "-: error: the expectations file is longer than 4194304 bytes (the limit)\n"
    );
    // Not UTF-8: the byte offset.
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("e.toml"), b"# ok\n\xff\n").unwrap();
    let o = cli(t.path(), &["verify", scenario.to_str().unwrap(), "e.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "e.toml: error: byte 5: the expectations file is not UTF-8 text\n"
    );
    assert_eq!(
        std::fs::read(t.path().join("e.toml")).unwrap(),
        b"# ok\n\xff\n"
    );
}

#[test]
fn import_reads_services_from_standard_input_and_at_most_the_limit() {
    let t = export_copy();
    let ranges = root().join("examples/oke-orders/oci-public-ip-ranges.json");
    let via_file = cli(
        t.path(),
        &[
            "import",
            "oci",
            "exp",
            "-o",
            "a.toml",
            "--services",
            ranges.to_str().unwrap(),
        ],
    );
    assert_eq!(via_file.status.code(), Some(0));
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(t.path())
        .args(["import", "oci", "exp", "-o", "b.toml", "--services", "-"])
        .write_stdin(std::fs::read(&ranges).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("a.toml")).unwrap(),
        std::fs::read_to_string(t.path().join("b.toml")).unwrap()
    );
    // An endless device is refused at the limit, not read until memory runs out.
    let o = cli(
        t.path(),
        &[
            "import",
            "oci",
            "exp",
            "-o",
            "c.toml",
            "--services",
            "/dev/zero",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "error: /dev/zero: longer than 268435456 bytes (the limit)\n"
    );
    assert!(!t.path().join("c.toml").exists());
    // DIR `-`: said plainly.
    let o = cli(t.path(), &["import", "oci", "-", "-o", "d.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "error: DIR is a directory of `*.json` files; `-` (standard input) cannot be one\n"
    );
}

#[test]
fn explain_reads_the_capture_from_standard_input() {
    let dir = root().join("examples/oke-orders");
    let pcap = root().join("pcaps/oke-demo.pcap");
    let bytes = std::fs::read(&pcap).unwrap();
    let by_file = cli(
        &dir,
        &[
            "explain",
            "scenario.toml",
            "--capture",
            pcap.to_str().unwrap(),
            "--packet",
            "3",
            "--json",
        ],
    );
    assert_eq!(by_file.status.code(), Some(0));
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(&dir)
        .args([
            "explain",
            "scenario.toml",
            "--capture",
            "-",
            "--packet",
            "3",
            "--json",
        ])
        .write_stdin(bytes.clone())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let a: serde_json::Value = serde_json::from_slice(&by_file.stdout).unwrap();
    let mut b: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(b["capture"], "-");
    b["capture"] = a["capture"].clone();
    assert_eq!(a, b);
    // past the end: the count of records, from a stream as from a file
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(&dir)
        .args([
            "explain",
            "scenario.toml",
            "--capture",
            "-",
            "--packet",
            "99999",
        ])
        .write_stdin(bytes.clone())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "error: `--packet 99999`: `-` has 190 record(s)\n"
    );
    assert_eq!(std::fs::read(&pcap).unwrap(), bytes);
}

#[test]
fn a_full_standard_output_is_an_error_with_the_prefix() {
    let dir = root().join("examples/oke-orders");
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("zprsim"))
        .current_dir(&dir)
        .args(["verify", "scenario.toml", "expect.toml", "--json"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(o.stderr).unwrap(),
        "error: cannot write to standard output: No space left on device (os error 28)\n"
    );
}

#[test]
fn verify_refuses_control_characters_in_a_path_name_or_why() {
    let t = tempfile::tempdir().unwrap();
    let scenario = root().join("examples/oke-orders/scenario.toml");
    let body = "from = \"vnic:worker-1\"\nto = \"vnic:k8s-api-endpoint\"\nproto = \"icmp\"\nexpect = \"allow\"\n";
    for (text, want) in [
        (
            format!("[[path]]\nname = \"x\\u202e\\u001b[31mred\"\n{body}"),
            "e.toml:2:8: error: the path name holds a bidirectional control (`\\u{202e}`) at character 2",
        ),
        (
            format!("[[path]]\nname = \"x\"\n{body}why = \"fine\\n  ok    forged\"\n"),
            "e.toml:1:1: error: path `x`: the `why` holds a line break (`\\n`) at character 5",
        ),
    ] {
        std::fs::write(t.path().join("e.toml"), &text).unwrap();
        for extra in [&[][..], &["--junit", "j.xml"][..]] {
            let mut args = vec!["verify", scenario.to_str().unwrap(), "e.toml"];
            args.extend_from_slice(extra);
            let o = cli(t.path(), &args);
            assert_eq!(o.status.code(), Some(2));
            let err = String::from_utf8(o.stderr).unwrap();
            assert!(err.starts_with(want), "{err}");
            assert!(o.stdout.is_empty());
            assert!(!t.path().join("j.xml").exists());
        }
        assert_eq!(
            std::fs::read_to_string(t.path().join("e.toml")).unwrap(),
            text
        );
    }
}

#[test]
fn a_flow_logs_vnic_ocid_reaches_the_summary_escaped() {
    let t = tempfile::tempdir().unwrap();
    let dir = root().join("examples/oke-orders");
    let first_ok = std::fs::read_to_string(dir.join("flowlogs/oke-demo.jsonl"))
        .unwrap()
        .lines()
        .find(|l| l.contains("\"OK\""))
        .unwrap()
        .to_owned();
    let mut v: serde_json::Value = serde_json::from_str(&first_ok).unwrap();
    v["logContent"]["oracle"]["vnicocid"] = "ocid1.vnic.\u{202e}evil\u{1b}[31m".into();
    let text = format!("{v}\n");
    std::fs::write(t.path().join("f.jsonl"), &text).unwrap();
    let o = cli(
        t.path(),
        &[
            "replay",
            dir.join("scenario.toml").to_str().unwrap(),
            "f.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap() + &String::from_utf8(o.stderr).unwrap();
    assert!(
        out.contains("  f.jsonl:1: no VNIC has id `ocid1.vnic.\\u{202e}evil\\u{1b}[31m`\n"),
        "{out}"
    );
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{202e}'),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("f.jsonl")).unwrap(),
        text
    );
}

/// The imported VNIC `k8s-api-endpoint`'s attributes (ZPR default-deny
/// holds for a VNIC only while it has them).
/// `None`: the imported scenario does not load (the CLI then refuses the
/// export and writes nothing).
fn k8s_api_attributes(files: &zprsim_control::import::Files) -> Option<(bool, Vec<String>)> {
    let out = zprsim_control::import::oci::import(files, None).unwrap();
    let s = zprsim_control::load::from_toml_str(&out.toml, "i.toml")
        .ok()?
        .scenario;
    let v = s
        .vnics
        .iter()
        .find(|v| v.name == "k8s-api-endpoint")
        .unwrap();
    Some((!v.attributes.is_empty(), out.warnings))
}

#[test]
fn import_never_drops_a_vnics_attributes_silently() {
    const F: &str = "network-vnic-get-0.json";
    let files = oke_export();
    assert!(k8s_api_attributes(&files).unwrap().0);
    // An empty object is no attributes, as before.
    let mut f = files.clone();
    let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
    v["data"]["security-attributes"] = serde_json::json!({});
    f.insert(F.into(), v.to_string());
    assert!(!k8s_api_attributes(&f).unwrap().0);
    for bad in [
        serde_json::json!("app.role=k8s-api"),
        serde_json::json!([{"app": {"role": {"value": "k8s-api"}}}]),
        serde_json::json!(true),
    ] {
        let mut f = files.clone();
        let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
        v["data"]["security-attributes"] = bad.clone();
        f.insert(F.into(), v.to_string());
        // Before: imported without attributes and without a word, so ZPR
        // no longer held the VNIC to its policy.
        assert_eq!(k8s_api_attributes(&f), None, "{bad}: imported");
    }
}

#[test]
fn a_vnic_seen_first_without_its_attributes_keeps_them() {
    // `compute instance list-vnics` (older CLIs: no `security-attributes`)
    // sorts before `network-vnic-get-*.json`; the copies differ only by the
    // key one of them lacks, so one is kept.
    const F: &str = "network-vnic-get-0.json";
    let mut f = oke_export();
    let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
    v["data"]
        .as_object_mut()
        .unwrap()
        .remove("security-attributes");
    f.insert(
        "compute-instance-list-vnics.json".into(),
        serde_json::json!({"data": [v["data"]]}).to_string(),
    );
    let (attributed, warnings) = k8s_api_attributes(&f).unwrap();
    assert!(attributed, "attributes lost: {warnings:?}");
}

#[test]
fn a_rule_whose_statelessness_is_unreadable_is_not_imported_stateful() {
    // A stateful rule also lets the replies through: reading an
    // `is-stateless` that is not a boolean as stateful widens the rule.
    const F: &str = LB_NSG_RULES;
    let files = oke_export();
    let rules = |f: &zprsim_control::import::Files| {
        let out = zprsim_control::import::oci::import(f, None).unwrap();
        let s = zprsim_control::load::from_toml_str(&out.toml, "i.toml")
            .unwrap()
            .scenario;
        let n = s.nsgs.iter().find(|n| n.name == "lb-nsg").unwrap();
        (
            n.rules.len(),
            n.rules.iter().filter(|r| r.stateless).count(),
            out.warnings,
        )
    };
    let (all, _, _) = rules(&files);
    // Nor left out (thirteenth session): it may be stateless, and left
    // out, a flow it matched beside a stateful rule would be tracked and
    // its replies let in. The import fails, naming it.
    for bad in [
        serde_json::json!("true"),
        serde_json::json!(1),
        serde_json::json!({}),
    ] {
        let mut f = files.clone();
        let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
        v["data"][0]["is-stateless"] = bad.clone();
        f.insert(F.into(), v.to_string());
        let e = zprsim_control::import::oci::import(&f, None).unwrap_err();
        assert!(
            e.message
                .contains("`is-stateless` is not `true` or `false`")
                && e.message.contains("so the import fails"),
            "{bad}: {e}"
        );
    }
    // `false` and null (OCI's default: stateful) keep the rule.
    for ok in [serde_json::json!(false), serde_json::Value::Null] {
        let mut f = files.clone();
        let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
        v["data"][0]["is-stateless"] = ok;
        f.insert(F.into(), v.to_string());
        assert_eq!(rules(&f).0, all);
    }
}

/// The rules of NSG `lb-nsg` when `files` import (they must).
fn lb_rules(files: &zprsim_control::import::Files) -> (usize, Vec<String>) {
    let out = zprsim_control::import::oci::import(files, None).unwrap();
    let l = zprsim_control::load::from_toml_str(&out.toml, "i.toml")
        .unwrap_or_else(|e| panic!("{e}; warnings {:?}", out.warnings));
    let n = l.scenario.nsgs.iter().find(|n| n.name == "lb-nsg").unwrap();
    (n.rules.len(), out.warnings)
}

/// ICMP options the scenario cannot hold: the (stateful) rule is left out
/// with a warning, never widened to every type. (Refused, the whole import
/// failed, until the fifteenth session: docs/import.md.)
#[test]
fn icmp_options_of_another_type_are_left_out_not_widened() {
    const F: &str = LB_NSG_RULES;
    let files = oke_export();
    let (all, _) = lb_rules(&files);
    for (t, c) in [
        (serde_json::json!("8"), serde_json::Value::Null),
        (serde_json::json!(3), serde_json::json!("4")),
        (serde_json::json!(3.5), serde_json::Value::Null),
        (serde_json::json!(-1), serde_json::Value::Null),
        (serde_json::json!(3), serde_json::json!(-1)),
    ] {
        let mut f = files.clone();
        let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
        let r = &mut v["data"][0];
        r["protocol"] = serde_json::json!("1");
        r["tcp-options"] = serde_json::Value::Null;
        r["icmp-options"] = serde_json::json!({"type": t, "code": c});
        f.insert(F.into(), v.to_string());
        let (n, warnings) = lb_rules(&f);
        assert_eq!(n, all - 1, "{t} {c}: {warnings:?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("is not a number from 0 to 255; the rule is left out")),
            "{t} {c}: {warnings:?}"
        );
    }
}

/// A port range outside 0-65535 or upside down: left out with a warning,
/// never widened. (Refused until the fifteenth session.)
#[test]
fn port_ranges_out_of_range_are_left_out_not_widened() {
    const F: &str = LB_NSG_RULES;
    let files = oke_export();
    let (all, _) = lb_rules(&files);
    for (min, max) in [(8080, 70000), (9000, 8080), (65536, 65536)] {
        let mut f = files.clone();
        let mut v: serde_json::Value = serde_json::from_str(&f[F]).unwrap();
        v["data"][0]["tcp-options"] =
            serde_json::json!({"destination-port-range": {"min": min, "max": max}});
        f.insert(F.into(), v.to_string());
        let (n, warnings) = lb_rules(&f);
        assert_eq!(n, all - 1, "{min}-{max}: {warnings:?}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("is not a port range") && w.ends_with("the rule is left out")),
            "{min}-{max}: {warnings:?}"
        );
    }
}
