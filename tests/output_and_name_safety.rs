//! Outputs never overwrite an input (policy and pack files included), a full standard output
//! is an error, and names from input (file names, OCIDs, `why`) cannot forge a line.

use crate::support::{cli, oke_copy, read_back, root};

/// Found in review.
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
        "error: cannot write to standard output: No space left on device\n"
    );
}

/// Found in review.
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

/// Found in review.
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

/// The `.zpl` file a scenario names (`file = "policies/orders.zpl"`) is an
/// input of every command that loads the scenario, but only the files
/// named on the command line were checked: `--report` onto it replaced
/// the policy with a JSON report, and `check s.toml >> policy.zpl`
/// appended to it. Also a pack file an expectations file includes.
///
/// Found by the eleventh session's review.
#[test]
fn no_output_overwrites_a_policy_or_pack_file_the_inputs_name() {
    let t = oke_copy();
    let dir = t.path();
    let zpl = "policies/orders.zpl";
    let before = std::fs::read(dir.join(zpl)).unwrap();
    let runs: [&[&str]; 8] = [
        &[
            "replay",
            "scenario.toml",
            "in.pcap",
            "--report",
            zpl,
            "--quiet",
        ],
        &[
            "replay",
            "scenario.toml",
            "in.pcap",
            "--flows",
            "./policies/../policies/orders.zpl",
            "--quiet",
        ],
        &[
            "replay",
            "scenario.toml",
            "in.pcap",
            "--dropped",
            zpl,
            "--quiet",
        ],
        &[
            "replay",
            "scenario.toml",
            "flowlogs",
            "--report",
            zpl,
            "--quiet",
        ],
        &[
            "diff",
            "proposed.toml",
            "scenario.toml",
            "in.pcap",
            "--report",
            zpl,
            "--quiet",
        ],
        &[
            "diff",
            "scenario.toml",
            "proposed.toml",
            "flowlogs",
            "--flows",
            zpl,
            "--quiet",
        ],
        &["verify", "scenario.toml", "expect.toml", "--junit", zpl],
        &["bench", "scenario.toml", "--packets", "100", "--csv", zpl],
    ];
    for args in runs {
        let out = crate::support::run_in(dir, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("is the same file as policy file of ") && err.contains("orders.zpl`"),
            "{args:?}: {err}"
        );
        assert_eq!(
            std::fs::read(dir.join(zpl)).unwrap(),
            before,
            "{args:?} wrote the policy"
        );
    }
    // Standard output appended onto the policy file.
    for args in [
        &["check", "scenario.toml"][..],
        &[
            "explain",
            "scenario.toml",
            "--src",
            "10.0.10.21",
            "--dst",
            "10.0.30.10",
            "--proto",
            "tcp",
            "--dport",
            "2049",
        ][..],
    ] {
        let sink = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(zpl))
            .unwrap();
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("zprsim"))
            .current_dir(dir)
            .args(args)
            .stdout(sink)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("standard output is the same file as policy file of SCENARIO"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(dir.join(zpl)).unwrap(),
            before,
            "{args:?} appended"
        );
    }
    // A pack file the expectations include.
    let pack = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packs/oke.toml"),
    )
    .unwrap();
    std::fs::write(
        dir.join("mine.toml"),
        pack.replacen("pack = \"oke\"", "pack = \"mine\"", 1),
    )
    .unwrap();
    let expect = std::fs::read_to_string(dir.join("expect.toml")).unwrap();
    assert!(expect.contains("pack = \"oke\""));
    std::fs::write(
        dir.join("e2.toml"),
        expect.replace("pack = \"oke\"", "pack = \"mine.toml\""),
    )
    .unwrap();
    let pack_before = std::fs::read(dir.join("mine.toml")).unwrap();
    let ok = crate::support::run_in(dir, ["verify", "scenario.toml", "e2.toml"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let out = crate::support::run_in(
        dir,
        ["verify", "scenario.toml", "e2.toml", "--junit", "mine.toml"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is the same file as pack file of EXPECT `mine.toml`"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("mine.toml")).unwrap(), pack_before);
    // Nothing else was left behind (no temporary file beside a target).
    let mut names: Vec<String> = std::fs::read_dir(dir.join("policies"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["orders.zpl"]);
}

/// A file name is input: a newline in it was printed raw in the messages
/// about capture files, directories' files and outputs (the final escaper
/// keeps newlines, for messages of several lines), so a name could forge
/// a line of zprsim's output (docs/cli.md, "Untrusted text").
///
/// Found by the eleventh session's review.
#[test]
fn a_newline_in_a_file_name_cannot_forge_a_line() {
    let t = oke_copy();
    let dir = t.path();
    let forged = "x\nwarning: forged";
    std::fs::write(dir.join(format!("{forged}.pcap")), b"not a capture").unwrap();
    std::fs::create_dir(dir.join("d")).unwrap();
    std::fs::copy(dir.join("in.pcap"), dir.join("d/a.pcap")).unwrap();
    std::os::unix::fs::symlink("a.pcap", dir.join(format!("d/{forged}.pcap"))).unwrap();
    let bad = format!("{forged}.pcap");
    let missing_dir = format!("{forged}/out.pcap");
    // A flow-log file (JSON by its first byte) that is cut: its read error
    // names the file.
    let bad_log = format!("{forged}.json");
    std::fs::write(dir.join(&bad_log), b"{\"a\":").unwrap();
    let runs: [Vec<&str>; 8] = [
        vec!["replay", "scenario.toml", &bad_log],
        vec!["replay", "scenario.toml", "in.pcap", &bad_log],
        vec!["replay", "scenario.toml", &bad],
        vec!["replay", "scenario.toml", "d", "--quiet"],
        vec![
            "replay",
            "scenario.toml",
            "in.pcap",
            "--allowed",
            &missing_dir,
        ],
        vec!["replay", "scenario.toml", &bad, "--dropped", &bad],
        vec![
            "explain",
            "scenario.toml",
            "--capture",
            &bad,
            "--packet",
            "1",
        ],
        vec!["bench", "scenario.toml", "--capture", &bad],
    ];
    for args in runs {
        let out = crate::support::run_in(dir, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("x\\nwarning: forged"), "{args:?}: {err}");
        assert!(
            !err.lines().any(|l| l.starts_with("warning: forged")),
            "{args:?}: a forged line: {err}"
        );
    }
}

/// `replay --report out.json.gz`, `--flows f.jsonl.zst`, `--allowed
/// a.pcap.gz`, `diff --report x.gz` and the rest wrote plain bytes under a
/// compressed name: `zcat` failed on them ("not in gzip format"), and a
/// capture named `.pcap.gz` was read back by zprsim only because it sniffs
/// content. Each is now written as its name says, the same bytes as the
/// plain run's once decompressed.
///
/// Asked by the twenty-eighth session's brief.
#[test]
fn outputs_named_gz_or_zst_are_written_compressed_and_read_back() {
    let t = oke_copy();
    let dir = t.path();
    // A plain run, and the same run with every output compressed.
    let outs = ["r.json", "f.jsonl", "a.pcap", "d.pcapng"];
    let run = |ends: [&str; 4]| {
        let names: Vec<String> = outs
            .iter()
            .zip(ends)
            .map(|(o, e)| format!("{o}{e}"))
            .collect();
        let o = cli(
            dir,
            &[
                "replay",
                "scenario.toml",
                "in.pcap",
                "--quiet",
                "--report",
                &names[0],
                "--flows",
                &names[1],
                "--allowed",
                &names[2],
                "--dropped",
                &names[3],
            ],
        );
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        names
            .iter()
            .map(|n| read_back(&dir.join(n)))
            .collect::<Vec<_>>()
    };
    let plain = run(["", "", "", ""]);
    for ends in [
        [".gz", ".zst", ".gz", ".zst"],
        [".zst", ".gz", ".zst", ".gz"],
    ] {
        let got = run(ends);
        // The report, but for its timings.
        let report = |b: &[u8]| {
            let v: serde_json::Value = serde_json::from_slice(b).unwrap();
            ["packets", "bytes", "dropped_by_stage", "flows", "rules"].map(|k| v[k].clone())
        };
        assert_eq!(report(&got[0]), report(&plain[0]), "{ends:?}");
        assert_eq!(got[1..], plain[1..], "{ends:?}");
    }
    // The pcaps hold packets (a nanosecond pcap header first).
    assert!(plain[2].len() > 24 && plain[2].starts_with(&[0x4d, 0x3c, 0xb2, 0xa1]));
    // Flow logs in, and `diff` and `verify`'s outputs.
    for (args, out) in [
        (
            &[
                "replay",
                "scenario.toml",
                "flowlogs",
                "--quiet",
                "--flows",
                "fl.jsonl.gz",
            ][..],
            "fl.jsonl.gz",
        ),
        (
            &[
                "diff",
                "scenario.toml",
                "proposed.toml",
                "in.pcap",
                "--quiet",
                "--report",
                "x.gz",
            ][..],
            "x.gz",
        ),
        (
            &[
                "verify",
                "scenario.toml",
                "expect.toml",
                "--junit",
                "j.xml.zst",
            ][..],
            "j.xml.zst",
        ),
    ] {
        let o = cli(dir, args);
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8(read_back(&dir.join(out))).unwrap();
        assert!(!text.is_empty(), "{args:?}");
    }
}

/// An output named for a compression zprsim does not write (`.xz`, `.bz2`,
/// `.lz4`) is refused before any work, exit 2, naming the flag and the
/// file and saying which compressions are written; an output with a
/// compressed name is still never an input, whichever way it is spelled.
///
/// Asked by the twenty-eighth session's brief.
#[test]
fn an_output_named_xz_bz2_or_lz4_is_refused_before_any_work() {
    let t = oke_copy();
    let dir = t.path();
    for (flag, name, what) in [
        ("--report", "r.json.xz", "xz"),
        ("--flows", "f.jsonl.bz2", "bzip2"),
        ("--allowed", "a.pcap.lz4", "lz4"),
    ] {
        let o = cli(
            dir,
            &[
                "replay",
                "scenario.toml",
                "in.pcap",
                flag,
                name,
                "--dropped",
                "ok.pcap",
            ],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.starts_with(&format!("error: {flag} `{name}`: zprsim does not write {what}: an output named `.gz` is written gzip, `.zst` zstd, and any other name plain")),
            "{err}"
        );
        assert!(o.stdout.is_empty());
        assert!(!dir.join(name).exists() && !dir.join("ok.pcap").exists());
    }
    let o = cli(
        dir,
        &[
            "bench",
            "scenario.toml",
            "--packets",
            "100",
            "--csv",
            "b.csv.xz",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--csv `b.csv.xz`: zprsim does not write xz")
    );
    // A compressed capture is an input like any other.
    std::fs::write(
        dir.join("in.pcap.gz"),
        crate::support::gzip(&std::fs::read(dir.join("in.pcap")).unwrap()),
    )
    .unwrap();
    let before = std::fs::read(dir.join("in.pcap.gz")).unwrap();
    let o = cli(
        dir,
        &[
            "replay",
            "scenario.toml",
            "in.pcap.gz",
            "--allowed",
            "./in.pcap.gz",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is the same file as PCAP `in.pcap.gz`"),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.join("in.pcap.gz")).unwrap(), before);
}
