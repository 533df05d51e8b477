//! QA round thirteen: what users bring, on the seventeenth session's paths
//! (IPv6 the internet does not route, route hints in shared tables, the
//! `same-scenarios` warning) and the careless command lines around them.
//! Each test failed before its fix.

use std::path::{Path, PathBuf};

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
