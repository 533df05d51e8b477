//! A file of one kind given where another goes (a capture as the scenario, a scenario as the
//! expectations or a capture, a pack as the expectations, a compressed scenario, a CLI output
//! as services or flow logs, a file or nothing to `import`): each is named for what it is,
//! with the command line that works.

use std::path::Path;

use crate::support::{
    AUDITED_WEB, CLIENT, DEMO, OKE, WEB, gzip, oke_export_in, record, root, run_in, stderr_of, zstd,
};

/// Arguments in the wrong order, the usual slip on a first day: `zprsim
/// replay cap.pcap scenario.toml` said "byte 2: the scenario is not UTF-8
/// text", a flow log given first "1:1: invalid key-value pair, expected
/// key", and `verify expect.toml scenario.toml` "unknown field `include`":
/// true, and no help. Now the message says what the file is and that the
/// scenario comes first; a scenario with a real error keeps its line and
/// column.
///
/// Found by the twelfth session's review.
#[test]
fn a_capture_flow_log_or_expectations_file_given_as_the_scenario_is_named() {
    let s = "examples/oke-orders/scenario.toml";
    let cases: [(&[&str], &str, &str); 5] = [
        (
            &["replay", "pcaps/oke-demo.pcap", s],
            "pcaps/oke-demo.pcap: error: a pcap capture, not a scenario",
            "SCENARIO CAPTURE",
        ),
        (
            &[
                "diff",
                s,
                "pcaps/two_linktypes.pcapng",
                "pcaps/oke-demo.pcap",
            ],
            "pcaps/two_linktypes.pcapng: error: a pcapng capture, not a scenario",
            "the scenario comes first",
        ),
        (
            &[
                "replay",
                "examples/oke-orders/flowlogs/oke-demo.jsonl",
                s,
                "--quiet",
            ],
            "oke-demo.jsonl: error: OCI flow logs, not a scenario",
            "the scenario comes first",
        ),
        (
            &[
                "replay",
                "examples/oke-orders/flowlogs/oke-demo.jsonl.gz",
                s,
            ],
            "oke-demo.jsonl.gz: error: gzip-compressed JSON (OCI flow logs), not a scenario",
            "the scenario comes first",
        ),
        (
            &["verify", "examples/oke-orders/expect.toml", s],
            "expect.toml: error: an expectations file",
            "`zprsim verify SCENARIO EXPECT.toml`",
        ),
    ];
    for (args, what, hint) in cases {
        let out = run_in(root(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(what) && err.contains(hint), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // A scenario that is one, with an error: its own message, placed.
    let out = run_in(root(), ["check", "examples/docs/bad2.toml"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.starts_with("examples/docs/bad2.toml:9:85: error: ") && !err.contains("not a scenario"),
        "{err}"
    );
}

/// `zprsim verify scenario.toml packs/oke.toml` (a pack given where the
/// expectations go, as a first try at "verify with the OKE pack") said
/// `unknown field \`description\`, expected \`include\` or \`path\``: true,
/// and no help. It now says the file is a pack and how to include it,
/// naming its roles, at its `pack = ` line.
///
/// Found by the twelfth session's review (branch s14-qa).
#[test]
fn a_pack_given_as_the_expectations_says_how_to_include_it() {
    let o = run_in(root(), ["verify", OKE, "packs/oke.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let pack = std::fs::read_to_string(root().join("packs/oke.toml")).unwrap();
    let line = pack.lines().position(|l| l.starts_with("pack = ")).unwrap() + 1;
    assert!(
        err.starts_with(&format!("packs/oke.toml:{line}:"))
            && err.contains("this is pack `oke`, not an expectations file")
            && err.contains("`[[include]]` with `pack = \"oke\"`")
            && err.contains("api, fss, fss-clients, lb, osn, pods, workers"),
        "{err}"
    );
    // An expectations file with a field it does not know is still told so.
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("e.toml");
    std::fs::write(&e, "pack = \"oke\"\n").unwrap();
    let o = run_in(root(), ["verify", OKE, e.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown field `pack`"), "{err}");
}

/// A scenario given compressed, first as it should be, was told "the
/// scenario comes first" (QA round nine), then that a scenario is read
/// uncompressed. Since the twenty-ninth session gzip and zstd are read
/// decompressed (`compressed_scenarios_load_as_their_text`); xz and bzip2
/// are still told to be decompressed first.
///
/// Found by the fourteenth session's review (branch s16-qa).
#[test]
fn an_xz_scenario_is_told_to_decompress_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut xz = b"\xfd7zXZ\x00\x00\x04".to_vec();
    xz.extend_from_slice(&[0u8; 64]);
    std::fs::write(d.join("s.toml.xz"), xz).unwrap();
    let out = run_in(d, ["check", "s.toml.xz"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("compressed data, not a scenario: a scenario is read plain, or compressed with gzip or zstd (`xzcat FILE > scenario.toml`"),
        "{err}"
    );
    // A gzip-compressed capture given first is still one.
    let pcap = std::fs::read(root().join("pcaps/oke-demo.pcap")).unwrap();
    std::fs::write(d.join("cap.pcap.gz"), gzip(&pcap)).unwrap();
    let out = run_in(d, ["check", "cap.pcap.gz"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("a gzip-compressed pcap capture, not a scenario: the scenario comes first"),
        "{err}"
    );
}

/// Task 4 of the twenty-ninth session: `import -o s.toml.gz` wrote gzip,
/// and no command read it back ("compressed data, not a scenario"). A
/// scenario compressed with gzip or zstd, told by its magic whatever its
/// name (standard input too), is read decompressed by every command that
/// loads one (`check` and `verify` here): the same verdicts as the plain
/// file; a JSON one named `.json.gz` is JSON. Its limit (256 MiB) is on
/// the decompressed bytes: a zstd bomb (257 frames of 1 MiB of spaces,
/// 257 MiB out of a few KiB) is refused naming the limit, and a gzip
/// scenario with bytes after its member names the byte.
#[test]
fn compressed_scenarios_load_as_their_text() {
    let t = crate::support::oke_copy();
    let d = t.path();
    let plain = std::fs::read(d.join("scenario.toml")).unwrap();
    let gz = gzip(&plain);
    let zst = zstd(&plain);
    std::fs::write(d.join("s.toml.gz"), &gz).unwrap();
    std::fs::write(d.join("s.toml.zst"), &zst).unwrap();
    // gzip under a plain name: the magic decides.
    std::fs::write(d.join("gz-inside.toml"), &gz).unwrap();
    let want = run_in(d, ["check", "scenario.toml", "--json"]);
    assert_eq!(want.status.code(), Some(0));
    // What was loaded: all but the file's name, the timings and the
    // warnings' words (which name the file); their number kept.
    let summary = |o: &std::process::Output| {
        let mut j = crate::support::json_of(o);
        let m = j.as_object_mut().unwrap();
        for k in ["scenario", "compile_s", "compile_phases"] {
            m.remove(k);
        }
        let n = m
            .remove("warnings")
            .and_then(|w| w.as_array().map(Vec::len));
        m.insert("warnings".into(), n.into());
        j
    };
    for f in ["s.toml.gz", "s.toml.zst", "gz-inside.toml"] {
        let o = run_in(d, ["check", f, "--json"]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{f}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(summary(&o), summary(&want), "{f}");
    }
    let verify_plain = run_in(d, ["verify", "scenario.toml", "expect.toml"]);
    let verify_zst = run_in(d, ["verify", "s.toml.zst", "expect.toml"]);
    assert_eq!(verify_zst.status.code(), verify_plain.status.code());
    assert_eq!(
        String::from_utf8_lossy(&verify_zst.stdout).replace("s.toml.zst", "scenario.toml"),
        String::from_utf8_lossy(&verify_plain.stdout)
    );
    // Standard input, gzip.
    let o = assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(d)
        .args(["check", "-"])
        .write_stdin(gz.clone())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A JSON scenario, `.json.gz`.
    let json = br#"{"vcn": [{"name": "v", "cidr_blocks": ["10.0.0.0/16"]}]}"#;
    std::fs::write(d.join("j.json.gz"), gzip(json)).unwrap();
    let o = run_in(d, ["check", "j.json.gz"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Bytes after the gzip member: named where they start.
    let mut trailing = gz.clone();
    trailing.extend_from_slice(b"junk");
    std::fs::write(d.join("t.toml.gz"), &trailing).unwrap();
    let o = run_in(d, ["check", "t.toml.gz"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "byte {}: the 4 byte(s) after its last whole gzip member",
            gz.len()
        )),
        "{err}"
    );
    // The bomb.
    let frame = zstd(&vec![b' '; 1 << 20]);
    let bomb: Vec<u8> = frame.repeat(257);
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    std::fs::write(d.join("bomb.toml.zst"), &bomb).unwrap();
    let o = run_in(d, ["check", "bomb.toml.zst"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "the scenario, decompressed (zstd), is longer than 268435456 bytes, the size limit"
        ),
        "{err}"
    );
}

/// `verify`'s second argument is an expectations file; given a scenario
/// (`zprsim verify scenario.toml proposed.toml`, taking `verify` for
/// `diff`), a capture or flow logs, it said "unknown field `gateway`,
/// expected `include` or `path`" or "byte 2: the expectations file is not
/// UTF-8 text". The scenario's own slot has named such files since QA
/// round five; EXPECT's now does too, with the command that fits.
///
/// Found by the sixteenth session's review (branch s18-qa; QA round eleven).
#[test]
fn a_scenario_capture_or_flow_log_given_as_the_expectations_is_named() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let oke = root.join("examples/oke-orders");
    for (given, what) in [
        (oke.join("proposed.toml"), "a scenario"),
        (oke.join("scenario.toml"), "a scenario"),
        (root.join("pcaps/oke-demo.pcap"), "pcap"),
        (oke.join("flowlogs/oke-demo.jsonl"), "OCI flow logs"),
        (
            oke.join("flowlogs/oke-demo.jsonl.gz"),
            "gzip-compressed JSON",
        ),
    ] {
        let out = run_in(
            root,
            [
                "verify".as_ref(),
                oke.join("scenario.toml").as_os_str(),
                given.as_os_str(),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{given:?}: {out:?}");
        let err = stderr_of(&out);
        assert!(
            err.contains(what) && err.contains("not an expectations file"),
            "{given:?}: {err}"
        );
        assert!(
            err.contains("zprsim verify SCENARIO EXPECT.toml") && err.contains("zprsim diff"),
            "{given:?}: {err}"
        );
    }
    // An expectations file with a mistake keeps its own message.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("expect.toml");
    std::fs::write(&bad, "[[path]]\nname = \"x\"\nfrom = \"internet\"\n").unwrap();
    let out = run_in(
        root,
        [
            "verify".as_ref(),
            oke.join("scenario.toml").as_os_str(),
            bad.as_os_str(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        !stderr_of(&out).contains("not an expectations file"),
        "{out:?}"
    );
}

/// `--services` takes OCI's public IP ranges file; given the export's own
/// `network-service-list.json` (the CLI's `oci network service list`, whose
/// name says "services"), a flow log or another CLI output, `import` wrote
/// the scenario with every service label empty (traffic to Oracle services
/// then takes whatever else the route table says) and exited 0 with only
/// ``service label `...` has no CIDRs in the `--services` file``. It is
/// refused now, saying what the file is and what `--services` takes.
///
/// Found by the sixteenth session's review (branch s18-qa; QA round eleven).
#[test]
fn import_refuses_a_cli_output_or_flow_log_given_as_services() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let oke = root.join("examples/oke-orders");
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("s.toml");
    for (given, what) in [
        (
            oke.join("oci-export/network-service-list.json"),
            "is an OCI CLI output",
        ),
        (oke.join("flowlogs/oke-demo.jsonl.gz"), "flow-log records"),
    ] {
        let out = run_in(
            root,
            [
                "import".as_ref(),
                "oci".as_ref(),
                oke.join("oci-export").as_os_str(),
                "-o".as_ref(),
                out_path.as_os_str(),
                "--services".as_ref(),
                given.as_os_str(),
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{given:?}: {out:?}");
        let err = stderr_of(&out);
        assert!(
            err.contains(what) && err.contains("public IP ranges"),
            "{given:?}: {err}"
        );
        assert!(!out_path.exists(), "{given:?}: written");
    }
    // The ranges file itself, and an object of label to CIDRs, still do.
    let labels = dir.path().join("labels.json");
    std::fs::write(
        &labels,
        r#"{"all-iad-services-in-oracle-services-network": ["134.70.0.0/17"]}"#,
    )
    .unwrap();
    for given in [oke.join("oci-public-ip-ranges.json"), labels] {
        let out = run_in(
            root,
            [
                "import".as_ref(),
                "oci".as_ref(),
                oke.join("oci-export").as_os_str(),
                "-o".as_ref(),
                out_path.as_os_str(),
                "--services".as_ref(),
                given.as_os_str(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{given:?}: {out:?}");
        std::fs::remove_file(&out_path).unwrap();
    }
}

/// `bench --capture` given a flow log told the user "(to explain one
/// record, give its addresses, protocol and ports with `--src`, `--dst`,
/// ...)": flags `bench` does not have. The message now says which command
/// reads what, for `bench` as for `explain`.
///
/// Found by QA round thirteen, on the seventeenth session's paths.
#[test]
fn bench_given_a_flow_log_is_not_told_to_use_explains_flags() {
    let o = run_in(
        root(),
        [
            "bench",
            OKE,
            "--capture",
            "examples/oke-orders/flowlogs/oke-demo.jsonl",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("an OCI flow-log file, not a pcap or pcapng file: here a capture is needed (`replay` and `diff` read flow logs; `explain` judges one record given by its addresses"), "{e}");
    assert!(!e.contains("to explain one record, give"), "{e}");
}

/// `zprsim replay s.toml proposed.toml` (taking `replay` for `diff`), or
/// `replay s.toml expect.toml`: the scenario or expectations file given
/// where a capture goes was "byte 0: not a pcap or pcapng file", while the
/// other slips (a capture as the scenario, a scenario as the
/// expectations) were named. It is now named, with where it goes, in
/// `replay`, `diff`, `explain --capture` and `bench --capture`; a file of
/// them in an input directory is still skipped as before.
///
/// Found by QA round thirteen, on the seventeenth session's paths.
#[test]
fn a_scenario_or_expectations_file_given_as_a_capture_is_named() {
    let proposed = "examples/oke-orders/proposed.toml";
    let expect = "examples/oke-orders/expect.toml";
    for (args, says) in [
        (
            vec!["replay", OKE, proposed],
            "a scenario (it has `[[vcn]]`",
        ),
        (
            vec!["replay", OKE, expect],
            "an expectations file (it has `[[path]]`",
        ),
        (
            vec!["diff", OKE, proposed, OKE],
            "a scenario (it has `[[vcn]]`",
        ),
        (
            vec!["explain", OKE, "--capture", proposed, "--packet", "1"],
            "a scenario (it has `[[vcn]]`",
        ),
        (
            vec!["bench", OKE, "--capture", expect],
            "an expectations file",
        ),
        // Among flow logs: it was "neither a capture nor flow logs ...:
        // give one kind per run".
        (
            vec![
                "replay",
                OKE,
                "examples/oke-orders/flowlogs/oke-demo.jsonl",
                proposed,
            ],
            "a scenario (it has `[[vcn]]`",
        ),
    ] {
        let o = run_in(root(), &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(says), "{args:?}: {e}");
        assert!(
            e.contains("not a pcap or pcapng file: a capture or flow log is needed here"),
            "{args:?}: {e}"
        );
    }
    // Files whose first line is a table header (no leading comment), as
    // expectations files usually start: `[` read as a JSON flow log that
    // is "not JSON" (the second review of the eighteenth session).
    let bare = tempfile::tempdir().unwrap();
    for (name, text, says) in [
        (
            "s.toml",
            "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n",
            "a scenario (it has `[[vcn]]`",
        ),
        (
            "e.toml",
            "[[path]]\nname = \"p\"\nfrom = \"internet\"\nto = \"internet\"\nexpect = \"deny\"\n",
            "an expectations file (it has `[[path]]`",
        ),
    ] {
        let p = bare.path().join(name);
        std::fs::write(&p, text).unwrap();
        for args in [
            vec!["replay", OKE, p.to_str().unwrap()],
            vec![
                "replay",
                OKE,
                "examples/oke-orders/flowlogs/oke-demo.jsonl",
                p.to_str().unwrap(),
            ],
        ] {
            let o = run_in(root(), &args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let e = String::from_utf8_lossy(&o.stderr);
            assert!(e.contains(says), "{args:?}: {e}");
        }
    }
    // In a directory of captures, a scenario is one of the files skipped.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join(DEMO), dir.path().join("a.pcap")).unwrap();
    std::fs::copy(root().join(proposed), dir.path().join("b.toml")).unwrap();
    let o = run_in(
        root(),
        ["replay", OKE, dir.path().to_str().unwrap(), "--quiet"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A user splitting expectations over files includes one from another
/// (`[[include]] pack = "more.toml"`), or includes a scenario: the error
/// was serde's, in the included file ("more.toml:1:1: error: missing
/// field `pack`", "unknown field `include`", "unknown field `gateway`").
/// It now names what the file is, at the `pack =` line, and what to do.
///
/// Found by QA round thirteen, on the seventeenth session's paths.
#[test]
fn an_expectations_file_or_scenario_included_as_a_pack_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let oke = root().join(OKE);
    let oke = oke.to_str().unwrap();
    let expect = std::fs::read_to_string(root().join("examples/oke-orders/expect.toml")).unwrap();
    let paths = &expect[expect.find("\n[[path]]").unwrap()..];
    std::fs::write(d.join("paths.toml"), paths).unwrap();
    std::fs::write(d.join("whole.toml"), &expect).unwrap();
    std::fs::copy(
        root().join("examples/oke-orders/proposed.toml"),
        d.join("scenario-copy.toml"),
    )
    .unwrap();
    for (pack, says) in [
        ("paths.toml", "an expectations file, not a pack"),
        ("whole.toml", "an expectations file, not a pack"),
        ("scenario-copy.toml", "a scenario, not a pack"),
    ] {
        std::fs::write(
            d.join("e.toml"),
            format!("[[include]]\npack = \"{pack}\"\n"),
        )
        .unwrap();
        let o = run_in(d, ["verify", oke, "e.toml"]);
        assert_eq!(o.status.code(), Some(2), "{pack}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.starts_with(&format!("e.toml:2:8: error: `{pack}` is {says}")),
            "{pack}: {e}"
        );
    }
}

/// Planning item 10: `zprsim import oci FILE` (one OCI CLI output, as the
/// OCI CLI's `oci network vcn list > vcns.json` wrote it) said only
/// "Not a directory (os error 20)", and `zprsim import DIR` "unrecognized
/// subcommand". Each now says what the file is and the command line that
/// takes it (exit 2), and that line works.
///
/// From the fifteenth session's planning list.
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
///
/// From the fifteenth session's planning list.
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

/// `import oci FILE` with a gzipped CLI output, or the ranges file
/// gzipped (`oci ... | gzip`), said the file held flow-log records
/// (`flowlog::detect::kind` takes any compressed JSON for a flow log).
/// The decompressed head is looked at: each is named for what it is,
/// with the command line that takes it. A gzipped flow log is still one.
///
/// From the fourteenth session's planning list (note-s16).
#[test]
fn import_given_a_compressed_file_says_what_it_holds_decompressed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oke_export_in(d);
    let ranges = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples/oke-orders/oci-public-ip-ranges.json"),
    )
    .unwrap();
    std::fs::write(d.join("ranges.json.gz"), gzip(&ranges)).unwrap();
    let log = std::fs::read(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples/oke-orders/flowlogs/oke-demo.jsonl"),
    )
    .unwrap();
    std::fs::write(d.join("log.jsonl.gz"), gzip(&log)).unwrap();
    let vcns = std::fs::read(d.join("exp/network-vcn-list.json")).unwrap();
    std::fs::write(d.join("exp/vcns.json.gz"), gzip(&vcns)).unwrap();
    std::fs::write(d.join("exp/vcns.json.zst"), zstd(&vcns)).unwrap();
    for (file, says, then) in [
        (
            "exp/vcns.json.gz",
            "is gzip data; decompressed, it is one OCI CLI output",
            "zprsim import oci exp -o s.toml\n",
        ),
        (
            "exp/vcns.json.zst",
            "is zstd data; decompressed, it is one OCI CLI output",
            "zprsim import oci exp -o s.toml\n",
        ),
        (
            "ranges.json.gz",
            "is gzip data; decompressed, it is OCI's public IP ranges file",
            "--services ranges.json.gz\n",
        ),
        (
            "log.jsonl.gz",
            "is gzip data; decompressed, it holds OCI VCN flow-log records",
            "zprsim replay s.toml log.jsonl.gz\n",
        ),
    ] {
        let out = run_in(d, ["import", "oci", file, "-o", "s.toml"]);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("`{file}` is a file, not a directory, and {says}")),
            "{file}: {err}"
        );
        assert!(err.ends_with(then), "{file}: {err}");
    }
}

/// Planning 8 (note-s17): `replay` (and `diff`) given a gzipped OCI CLI
/// output (`oci network private-ip list ... | gzip > ips.json.gz`) took it
/// for flow logs (`detect::kind` takes any compressed JSON for one), and
/// the user read "no flow-log entry could be read: ... not a flow-log
/// entry". The decompressed head is looked at: the file is named for what
/// it is, with the command that takes it; a compressed flow log is still
/// one.
///
/// From the sixteenth session's planning list (note-s17).
#[test]
fn replay_given_a_compressed_cli_output_says_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::support::oke_export_in(d);
    let exp = |f: &str| std::fs::read(d.join("exp").join(f)).unwrap();
    std::fs::write(
        d.join("ips.json.gz"),
        gzip(&exp("network-private-ip-list.json")),
    )
    .unwrap();
    std::fs::write(
        d.join("vnic.json.zst"),
        zstd::stream::encode_all(&exp("network-vnic-get-0.json")[..], 3).unwrap(),
    )
    .unwrap();
    std::fs::write(d.join("vcns.json"), exp("network-vcn-list.json")).unwrap();
    let ranges =
        std::fs::read(root().join("examples/oke-orders/oci-public-ip-ranges.json")).unwrap();
    std::fs::write(d.join("ranges.json.gz"), gzip(&ranges)).unwrap();
    let log = std::fs::read(root().join("examples/oke-orders/flowlogs/oke-demo.jsonl")).unwrap();
    std::fs::write(d.join("log.jsonl.gz"), gzip(&log)).unwrap();
    let scenario = root().join("examples/oke-orders/scenario.toml");
    let scenario = scenario.to_str().unwrap();
    let import =
        "give the directory of the CLI outputs to `zprsim import oci DIR -o scenario.toml`";
    for (file, says, then) in [
        (
            "ips.json.gz",
            "is gzip data; decompressed, it is an OCI CLI output (private IP list), not flow-log records",
            import,
        ),
        (
            "vnic.json.zst",
            "is zstd data; decompressed, it is an OCI CLI output (VNIC), not flow-log records",
            import,
        ),
        (
            "vcns.json",
            "is an OCI CLI output (VCN list), not flow-log records",
            import,
        ),
        (
            "ranges.json.gz",
            "is gzip data; decompressed, it is OCI's public IP ranges file, not flow-log records",
            "it is for `zprsim import oci DIR --services ranges.json.gz`",
        ),
    ] {
        for cmd in [
            &["replay", scenario, file][..],
            &["diff", scenario, scenario, "log.jsonl.gz", file][..],
        ] {
            let out = crate::support::run_in(d, cmd);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
            assert!(
                err.contains(&format!("error: `{file}` {says}")) && err.contains(then),
                "{cmd:?}: {err}"
            );
            assert!(!err.contains("flow-log entry"), "{cmd:?}: {err}");
        }
    }
    // A gzipped flow log is still one.
    let out = crate::support::run_in(d, ["replay", scenario, "log.jsonl.gz", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same through standard input or a pipe (`zprsim replay s.toml - <
/// proposed.toml`, `cat proposed.toml | zprsim diff s.toml - ...`): only
/// the first read's bytes (512) were looked at, and a scenario whose
/// `[[vcn]]` comes after its comments and `[services]` (the OKE example's
/// proposed change: byte 570) was "-: byte 0: not a pcap or pcapng file",
/// while the same file given by name was named. The first 4 KiB are
/// looked at, as for a file.
///
/// Found by QA round twenty.
#[test]
fn a_scenario_piped_where_a_capture_goes_is_named_too() {
    use std::io::Write as _;
    use std::process::Stdio;
    let proposed = std::fs::read(root().join("examples/oke-orders/proposed.toml")).unwrap();
    let first = String::from_utf8_lossy(&proposed[..512]).into_owned();
    assert!(
        !first.contains("[[vcn]]"),
        "the fixture no longer tests this"
    );
    for args in [
        vec!["replay", OKE, "-"],
        vec!["diff", OKE, OKE, "-", "--quiet"],
    ] {
        let mut child = crate::support::zprsim()
            .current_dir(root())
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // Written in small pieces, as a pipe gives them.
        for piece in proposed.chunks(100) {
            if stdin.write_all(piece).is_err() {
                break;
            }
        }
        drop(stdin);
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("-: byte 0: a scenario (it has `[[vcn]]`, `[[subnet]]` or the like), not a pcap or pcapng file"),
            "{args:?}: {e}"
        );
    }
}

/// QA round twenty-one: an earlier run's `--report` or `--flows` (docs/cli.md
/// calls `--flows` "the flow log") named where OCI flow logs, a scenario or
/// an expectations file go was read as what goes there: "no flow-log entry
/// could be read: 32 entries skipped as malformed ... no `logContent`",
/// "invalid key-value pair", and compressed, "zstd-compressed JSON (OCI flow
/// logs), not a scenario". Found in a directory it was named already
/// (`earlier-output-skipped`); named on the command line it is now too.
#[test]
fn an_earlier_runs_report_or_flow_lines_named_as_an_input_is_named() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let o = crate::support::zprsim()
        .current_dir(root())
        .args(["replay", OKE, DEMO, "--quiet", "--report"])
        .arg(dir.join("r.json"))
        .arg("--flows")
        .arg(dir.join("f.jsonl"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    std::fs::write(
        dir.join("f.jsonl.gz"),
        gzip(&std::fs::read(dir.join("f.jsonl")).unwrap()),
    )
    .unwrap();
    std::fs::write(
        dir.join("r.json.zst"),
        zstd(&std::fs::read(dir.join("r.json")).unwrap()),
    )
    .unwrap();
    let said = "a zprsim report or flow lines (an earlier run's output)";
    for f in ["r.json", "f.jsonl", "f.jsonl.gz", "r.json.zst"] {
        let p = dir.join(f).display().to_string();
        for args in [
            vec!["replay", OKE, &p],
            vec!["diff", OKE, OKE, &p, "--quiet"],
            vec!["check", &p],
            vec!["verify", OKE, &p],
        ] {
            let o = run_in(root(), &args);
            let e = stderr_of(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
            assert!(e.contains(said), "{args:?}: {e}");
            assert!(
                !e.contains("(OCI flow logs)")
                    && !e.contains("OCI flow logs, not")
                    && !e.contains("malformed"),
                "{args:?}: {e}"
            );
        }
    }
}

/// The same report and flow lines given where a capture alone goes
/// (`explain --capture`, `bench --capture`) were "an OCI flow-log file, not
/// a pcap or pcapng file" (QA round twenty-one, after F2).
#[test]
fn an_earlier_runs_report_given_as_a_capture_is_named() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path().join("r.json");
    let o = crate::support::zprsim()
        .current_dir(root())
        .args(["replay", OKE, DEMO, "--quiet", "--report"])
        .arg(&r)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr_of(&o));
    let gz = d.path().join("r.json.gz");
    std::fs::write(&gz, gzip(&std::fs::read(&r).unwrap())).unwrap();
    for p in [&r, &gz] {
        for args in [
            vec!["explain", OKE, "--packet", "1", "--capture"],
            vec!["bench", OKE, "--capture"],
        ] {
            let o = crate::support::zprsim()
                .current_dir(root())
                .args(&args)
                .arg(p)
                .output()
                .unwrap();
            let e = stderr_of(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
            assert!(
                e.contains("a zprsim report or flow lines (an earlier run's output), not a pcap or pcapng file"),
                "{args:?}: {e}"
            );
        }
    }
}

/// A directory given as the scenario: `check DIR` (through the loader)
/// said "a directory, not a scenario file", or for one holding JSON files
/// that an OCI export is imported first, while `replay DIR CAPTURE` (and
/// `explain`, `verify`, `diff`, through the plan of inputs) said "SCENARIO
/// `DIR` is a directory, not a file (an OCI export's directory is imported
/// first: ...)" for any directory. Every command now says the same words
/// for the same directory, naming it.
///
/// Item 4 of the twenty-ninth session's polish brief.
#[test]
fn a_directory_given_as_the_scenario_is_worded_alike_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("export")).unwrap();
    std::fs::write(d.join("export/network-vcn-list.json"), "{}").unwrap();
    std::fs::create_dir(d.join("empty")).unwrap();
    std::fs::copy(root().join(DEMO), d.join("cap.pcap")).unwrap();
    std::fs::write(d.join("expect.toml"), "").unwrap();
    for (dir, words) in [
        (
            "export",
            "a directory of JSON files, not a scenario: an OCI export is imported first (`zprsim import oci DIR -o scenario.toml`), then the scenario is given",
        ),
        ("empty", "a directory, not a scenario file"),
    ] {
        let o = run_in(d, ["check", dir]);
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(stderr_of(&o), format!("{dir}: error: {words}\n"));
        for args in [
            vec!["replay", dir, "cap.pcap"],
            vec![
                "explain", dir, "--src", "10.0.0.1", "--dst", "10.0.0.2", "--proto", "tcp",
            ],
            vec!["verify", dir, "expect.toml"],
            vec!["diff", dir, dir, "cap.pcap"],
        ] {
            let o = run_in(d, &args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let flag = if args[0] == "diff" {
                "BEFORE"
            } else {
                "SCENARIO"
            };
            assert_eq!(
                stderr_of(&o),
                format!("error: {flag} `{dir}` is {words}\n"),
                "{args:?}"
            );
        }
    }
}
