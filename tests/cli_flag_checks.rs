//! Command-line flags checked, never replaced: `--node-local` prefixes, zero buffers, flags
//! of `explain --capture` given without it.

use crate::support::{ex, oke_copy, root, run_in};

/// `--node-local` cleared a CIDR's host bits where every other CIDR of
/// zprsim is refused with them: `10.0.0.1/8` (a typo) silently left out
/// every packet of the OKE example's VCN, and the run said 0 packets.
///
/// Found by the eleventh session's review.
#[test]
fn node_local_refuses_host_bits_as_every_cidr_does() {
    let t = oke_copy();
    for cmd in [
        &["replay", "scenario.toml", "in.pcap", "--quiet"][..],
        &[
            "diff",
            "scenario.toml",
            "proposed.toml",
            "in.pcap",
            "--quiet",
            "--fail-on",
            "none",
        ][..],
    ] {
        let mut args = cmd.to_vec();
        args.extend(["--node-local", "10.96.0.0/16,10.0.0.1/8"]);
        let out = crate::support::run_in(t.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("`10.0.0.1/8` has host bits set (did you mean `10.0.0.0/8`, or the address `10.0.0.1`?)"),
            "{err}"
        );
        let mut ok = cmd.to_vec();
        ok.extend(["--node-local", "10.96.0.0/16,10.0.0.1"]);
        let out = crate::support::run_in(t.path(), &ok);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{ok:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// docs/cli.md: bounds are checked, never replaced, and
/// `--flow-log-buffer` is "at least 1". `replay` and `diff` took
/// `--flow-log-buffer 0` and `--max-flow-log-group 0` for 1 without a word
/// (exit 0), and the group's error then named a limit of 1 that nobody
/// gave. Both are usage errors now, before anything is written.
///
/// Found by the twelfth session's review.
#[test]
fn a_zero_flow_log_buffer_or_group_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.json");
    let s = "examples/oke-orders/scenario.toml";
    let log = "examples/oke-orders/flowlogs/oke-demo.jsonl";
    // `--max-flow-log-records 0` too (QA round ten: it was taken, and the
    // run failed at the first record).
    for flag in [
        "--flow-log-buffer",
        "--max-flow-log-group",
        "--max-flow-log-records",
    ] {
        for args in [
            vec!["replay", s, log],
            vec!["diff", s, "examples/oke-orders/proposed.toml", log],
        ] {
            let mut args: Vec<&str> = args;
            args.extend([flag, "0", "--quiet", "--report", report.to_str().unwrap()]);
            let out = run_in(root(), &args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert_eq!(
                err.trim_end(),
                format!("error: `{flag} 0`: expected at least 1"),
                "{args:?}"
            );
            assert!(!report.exists(), "{args:?}");
        }
    }
    // 1 is taken as given.
    let out = run_in(
        root(),
        [
            "replay",
            s,
            log,
            "--flow-log-buffer",
            "1",
            "--quiet",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
}

/// `explain --src .. --dst .. --proto tcp --dport 6443 --packet 3`: the
/// `--packet` of a capture, given without `--capture`, was ignored
/// without a word (exit 0, the described packet judged), and `--dedup`
/// there was answered "required: --packet" (clap drops `requires =
/// "capture"` when `--capture` conflicts with a flag given). Each flag of
/// `--capture` given without it is now a usage error naming it.
///
/// Found by the fourteenth session's review (branch s16-qa).
#[test]
fn a_flag_of_explain_capture_given_without_it_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let packet = [
        "--src",
        "10.0.2.11",
        "--dst",
        "10.0.0.5",
        "--proto",
        "tcp",
        "--dport",
        "6443",
    ];
    assert_eq!(zprsim_dataplane::engine::DEFAULT_MAX_CONNECTIONS, 4_194_304);
    for (flag, value) in [
        ("--packet", Some("3")),
        ("--dedup", None),
        ("--decap", Some("vxlan")),
        ("--node-local", Some("10.96.0.0/16")),
        ("--max-connections", Some("5")),
        // At the default's value too (it was taken for no flag; the
        // value is checked below).
        ("--max-connections", Some("4194304")),
    ] {
        let mut args = vec![
            "explain".to_owned(),
            ex("examples/oke-orders/scenario.toml"),
        ];
        args.extend(packet.iter().map(|s| (*s).to_owned()));
        args.push(flag.to_owned());
        args.extend(value.map(str::to_owned));
        let o = run_in(dir.path(), &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag}: {err}");
        assert!(
            err.starts_with(&format!("error: `{flag}` goes with `--capture`")),
            "{flag}: {err}"
        );
        assert!(o.stdout.is_empty(), "{flag}");
    }
    // With the capture, as before.
    let o = run_in(
        dir.path(),
        [
            "explain",
            &ex("examples/oke-orders/scenario.toml"),
            "--capture",
            &ex("pcaps/oke-demo.pcap"),
            "--packet",
            "3",
            "--dedup",
            "--max-connections",
            "5",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `--node-local 10.0.0.0/8` (meant: OKE's service range 10.96.0.0/16)
/// left out every packet of the VCN: `replay --fail-on-drop` exited 0 on
/// a capture with drops, having judged nothing. A prefix that holds an
/// address of a VNIC of the scenario is now refused (its packets cross
/// the VCN), by `replay`, `diff`, `bench` and `explain --capture`.
///
/// Found by the fourteenth session's review (branch s16-qa).
#[test]
fn a_node_local_prefix_holding_a_vnic_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = ex("examples/oke-orders/scenario.toml");
    let cap = ex("pcaps/oke-demo.pcap");
    let runs: [Vec<&str>; 5] = [
        vec!["replay", &s, &cap, "--quiet", "--fail-on-drop"],
        vec!["replay", &s, &cap, "--quiet", "--report", "r.json"],
        vec!["diff", &s, &s, &cap, "--quiet", "--report", "d.json"],
        vec!["bench", &s, "--capture", &cap, "--workers", "1"],
        vec!["explain", &s, "--capture", &cap, "--packet", "3"],
    ];
    for run in &runs {
        for wide in ["10.0.0.0/8", "0.0.0.0/0", "10.96.0.0/16,10.0.2.12"] {
            let mut args = run.clone();
            args.extend(["--node-local", wide]);
            let o = run_in(d, &args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.starts_with("error: `--node-local ") && err.contains(", an address of VNIC `"),
                "{args:?}: {err}"
            );
        }
        assert!(!d.join("r.json").exists() && !d.join("d.json").exists());
    }
    let o = run_in(
        d,
        [
            "replay",
            &s,
            &cap,
            "--quiet",
            "--fail-on-drop",
            "--node-local",
            "10.0.0.0/8",
        ],
    );
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("holds 10.0.0.5, an address of VNIC `k8s-api-endpoint`"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The service range, as docs/cli.md shows it, still runs.
    for run in &runs {
        let mut args = run.clone();
        args.extend(["--node-local", "10.96.0.0/16"]);
        if args[0] == "replay" {
            args.retain(|a| *a != "--fail-on-drop");
        }
        let o = run_in(d, &args);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}
