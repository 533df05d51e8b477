//! QA round thirteen: what users bring, on the seventeenth session's paths
//! (IPv6 the internet does not route, route hints in shared tables, the
//! `same-scenarios` warning) and the careless command lines around them.
//! Each test failed before its fix.

use std::path::{Path, PathBuf};

use crate::support::run_in;

const OKE: &str = "examples/oke-orders/scenario.toml";
const DEMO: &str = "pcaps/oke-demo.pcap";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A directory holding the OKE example's policies, with `orders`'
/// statement 0 (the internet to the load balancer) taken out.
fn other_policies() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("policies");
    std::fs::create_dir(&p).unwrap();
    for e in std::fs::read_dir(root().join("examples/oke-orders/policies")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), p.join(e.file_name())).unwrap();
    }
    let orders = p.join("orders.zpl");
    let text = std::fs::read_to_string(&orders).unwrap();
    let cut = text.replace(
        "in network.vcn:backend VCN allow '0.0.0.0/0' to connect to app.workload:orders-lb endpoints\n    with protocol='tcp/443'\n",
        "",
    );
    assert_ne!(cut, text);
    std::fs::write(&orders, cut).unwrap();
    dir
}

/// `diff`'s exit code and whether its report says `same-scenarios`.
fn diff_in(dir: &Path, before: &str, after: &str, stdin: Option<&Path>) -> (i32, bool) {
    let r = tempfile::tempdir().unwrap();
    let report = r.path().join("r.json");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("zprsim"));
    cmd.current_dir(dir)
        .args(["diff", before, after])
        .arg(root().join(DEMO))
        .arg("--quiet")
        .arg("--report")
        .arg(&report);
    if let Some(f) = stdin {
        cmd.stdin(std::fs::File::open(f).unwrap());
    }
    let o = cmd.output().unwrap();
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (
        o.status.code().unwrap(),
        j["run_warnings"].to_string().contains("same-scenarios"),
    )
}

/// One scenario file named from two directories reads its `file =`
/// policies from each: a link to it elsewhere, or `-` (and `/dev/stdin`)
/// redirected from it, whose policies are read from the working
/// directory. `diff` said "the same file: nothing can change, so this run
/// never exits 1" and then broke 3 flows and exited 1. It is said only
/// when the policies are read from the same directory too.
#[test]
fn one_scenario_named_from_two_directories_is_not_said_to_be_the_same() {
    let dir = other_policies();
    let oke = root().join(OKE);
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&oke, &link).unwrap();
    let oke = oke.to_str().unwrap();
    for (before, after, stdin) in [
        (oke, "link.toml", None),
        (oke, "-", Some(Path::new(oke))),
        (oke, "/dev/stdin", Some(Path::new(oke))),
        ("-", oke, Some(Path::new(oke))),
    ] {
        let (code, said) = diff_in(dir.path(), before, after, stdin);
        assert!(!said, "{before} {after}: said the same file, exit {code}");
        // The policies differ: 3 flows change.
        assert_eq!(code, i32::from(before == oke), "{before} {after}");
    }
    // From the scenario's own directory it is the same scenario.
    let own = root().join("examples/oke-orders");
    for (before, after, stdin) in [
        ("scenario.toml", "./scenario.toml", None),
        ("scenario.toml", "-", Some(Path::new(OKE))),
    ] {
        let stdin = stdin.map(|f| root().join(f));
        let (code, said) = diff_in(&own, before, after, stdin.as_deref());
        assert!(said, "{before} {after}");
        assert_eq!(code, 0);
    }
}

/// A dual-stack VCN whose route table has no IPv6 rule yet: VNIC `ula`
/// has a unique local IPv6 address, `private` one in a private prefix of
/// global form, `global` an Oracle-allocated one.
const NO_V6_ROUTE: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16", "2603:c020::/48", "fd00:9::/48"]
ipv6_private_cidr_blocks = ["2001:db8:77::/48"]
[[gateway]]
name = "igw"
vcn = "v"
kind = "internet"
[[gateway]]
name = "drg"
vcn = "v"
kind = "drg"
[[route_table]]
name = "rt"
vcn = "v"
route_rules = [{ destination = "0.0.0.0/0", network_entity = "igw" }]
[[security_list]]
name = "open"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }, { destination = "::/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }, { source = "::/0", protocol = "all" }]
[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.0.1.0/24"
ipv6_cidr_blocks = ["2603:c020:0:1::/64", "fd00:9:0:1::/64", "2001:db8:77:1::/64"]
route_table = "rt"
security_lists = ["open"]
[[vnic]]
name = "ula"
subnet = "app"
private_ips = ["10.0.1.10", "fd00:9:0:1::10"]
[[vnic]]
name = "private"
subnet = "app"
private_ips = ["10.0.1.12", "2001:db8:77:1::12"]
[[vnic]]
name = "global"
subnet = "app"
private_ips = ["10.0.1.11", "2603:c020:0:1::11"]
"#;

/// `verify NO_V6_ROUTE` of the paths between `vnic:NAME` and `internet`,
/// both ways: each path's IPv6 failing pair's route hints.
fn internet_hints(name: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), NO_V6_ROUTE).unwrap();
    let path = |n: &str, from: &str, to: &str| {
        format!(
            "[[path]]\nname = \"{n}\"\nfrom = \"{from}\"\nto = \"{to}\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n"
        )
    };
    let v = format!("vnic:{name}");
    std::fs::write(
        dir.path().join("e.toml"),
        path("out", &v, "internet") + &path("in", "internet", &v),
    )
    .unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    j["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            // Only the IPv6 pair fails: IPv4 goes through the internet
            // gateway.
            assert_eq!(p["failed"].as_array().map(Vec::len), Some(1), "{p}");
            let f = &p["failed"][0];
            assert!(f.to_string().contains("2001:4860::8888"), "{f}");
            p["to_open"].clone()
        })
        .collect()
}

/// The seventeenth session took the DRG hint away from an IPv6 address
/// the internet does not route when a rule to the internet gateway drops
/// it; with no IPv6 rule at all the hint was still `::/0` to the DRG, for
/// `vnic:ula -> internet` and back: every VNIC of the table would have
/// sent its internet IPv6 on-premises (and `global`'s `::/0` to the
/// internet gateway, written second, would never win).
#[test]
fn no_route_hint_sends_the_internet_of_a_ula_to_a_drg_where_no_rule_matches() {
    for name in ["ula", "private"] {
        for hints in internet_hints(name) {
            assert!(
                hints.as_array().is_none_or(Vec::is_empty),
                "{name}: {hints}"
            );
        }
    }
    // An address the internet routes still gets the internet gateway.
    for hints in internet_hints("global") {
        assert!(
            hints[0]
                .as_str()
                .unwrap_or_default()
                .starts_with("route: add to route table `rt`: { destination = \"::/0\", network_entity = \"igw\" }"),
            "{hints}"
        );
    }
}

/// `bench --capture` given a flow log told the user "(to explain one
/// record, give its addresses, protocol and ports with `--src`, `--dst`,
/// ...)": flags `bench` does not have. The message now says which command
/// reads what, for `bench` as for `explain`.
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
