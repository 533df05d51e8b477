//! Loading scenarios and their policies: ZPL errors on huge lines, typographic quotes, a
//! one-VCN statement naming another VCN, `/dev/stdin` and one scenario named from two
//! directories.

use std::path::Path;

use zprsim_control::agree::judge_both;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::packet::Packet;
use zprsim_control::verdict::{Context, Stage, Verdict};

use crate::support::{DEMO, OKE, ip, oke_policies_in, root, run_in};

/// A ZPL error showed its whole source line: a 2 MB statement printed 4 MB
/// of error (the line, then a line of spaces to the caret). Now the line
/// is shown around the error, the cuts marked, and the caret still under
/// the error.
///
/// Found by the eleventh session's review.
#[test]
fn a_zpl_error_on_a_huge_line_shows_the_line_around_the_error() {
    let long = " with protocol='tcp/1'".repeat(100_000);
    let head = "in a.b:c VCN allow a.b:c endpoints to connect to a.b:c endpoints";
    let ports = (1..9000)
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    for (statement, what) in [
        (format!("{head}{long}"), "at most 65536 bytes"),
        (
            format!("{head} with protocol='tcp/1' whith x"),
            "found `whith`",
        ),
        (
            format!("{head} with protocol='tcp/{ports}' whith x"),
            "found `whith`",
        ),
    ] {
        let toml = format!(
            "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n\n[[zpr_policy]]\nname = \"p\"\nstatements = [\"{statement}\"]\n"
        );
        let e = zprsim_control::load::from_toml_str(&toml, "s.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains(what), "{}", &e[..e.len().min(500)]);
        assert!(e.len() < 2_000, "{} bytes of error", e.len());
        // The caret sits under the first character the error points at.
        let lines: Vec<&str> = e.lines().collect();
        let (text, carets) = (lines[lines.len() - 2], lines[lines.len() - 1]);
        let col = carets.find('^').unwrap();
        let pointed: String = text.chars().skip(col).take(5).collect();
        if what.starts_with("found") {
            assert_eq!(pointed, "whith", "{e}");
        }
    }
}

/// The usual mistake with ZPR between two VCNs: one `in <vcn> VCN`
/// statement per VCN naming the other VCN's workload by its attribute.
/// Such a term names VNICs of the statement's own VCNs, so neither
/// statement ever matches and the flow is denied, and the scenario loaded
/// with "no warnings". It is now warned at the term (both engines agree
/// the statements never allow the flow).
///
/// Found by the eleventh session's review.
#[test]
fn a_one_vcn_statement_naming_another_vcns_workload_is_warned() {
    let scenario = |statements: &str| {
        format!(
            r#"[[vcn]]
name = "a"
cidr_blocks = ["10.1.0.0/16"]
security_attributes = {{ network = {{ vcn = {{ value = "a" }} }} }}
[[vcn]]
name = "b"
cidr_blocks = ["10.2.0.0/16"]
security_attributes = {{ network = {{ vcn = {{ value = "b" }} }} }}
[[gateway]]
name = "drg-a"
vcn = "a"
kind = "drg"
[[gateway]]
name = "drg-b"
vcn = "b"
kind = "drg"
[[route_table]]
name = "ra"
vcn = "a"
route_rules = [{{ destination = "10.2.0.0/16", network_entity = "drg-a" }}]
[[route_table]]
name = "rb"
vcn = "b"
route_rules = [{{ destination = "10.1.0.0/16", network_entity = "drg-b" }}]
[[security_list]]
name = "open-a"
vcn = "a"
ingress_security_rules = [{{ protocol = "all", source = "0.0.0.0/0" }}]
egress_security_rules = [{{ protocol = "all", destination = "0.0.0.0/0" }}]
[[security_list]]
name = "open-b"
vcn = "b"
ingress_security_rules = [{{ protocol = "all", source = "0.0.0.0/0" }}]
egress_security_rules = [{{ protocol = "all", destination = "0.0.0.0/0" }}]
[[subnet]]
name = "sa"
vcn = "a"
cidr_block = "10.1.1.0/24"
route_table = "ra"
security_lists = ["open-a"]
[[subnet]]
name = "sb"
vcn = "b"
cidr_block = "10.2.1.0/24"
route_table = "rb"
security_lists = ["open-b"]
[[vnic]]
name = "web"
subnet = "sa"
private_ips = ["10.1.1.5"]
security_attributes = {{ app = {{ role = {{ value = "web" }} }} }}
[[vnic]]
name = "db"
subnet = "sb"
private_ips = ["10.2.1.5"]
security_attributes = {{ app = {{ role = {{ value = "db" }} }} }}
[[zpr_policy]]
name = "p"
statements = [
{statements}
]
"#
        )
    };
    let one_vcn = "\"in network.vcn:a VCN allow app.role:web endpoints to connect to app.role:db endpoints\",\n\
                   \"in network.vcn:b VCN allow app.role:web endpoints to connect to app.role:db endpoints\",";
    let loaded = zprsim_control::load::from_toml_str(&scenario(one_vcn), "s.toml").unwrap();
    let w: Vec<String> = loaded
        .warnings
        .iter()
        .filter(|w| w.code.as_str() == "attribute-outside-scope")
        .map(ToString::to_string)
        .collect();
    assert_eq!(w.len(), 2, "{:?}", loaded.warnings);
    assert!(
        w[0].starts_with(
            "s.toml:60:66: warning: in zpr_policy `p`: only VNICs of VCN `b` carry `app.role:db`"
        ),
        "{w:?}"
    );
    assert!(
        w[1].contains("only VNICs of VCN `a` carry `app.role:web`"),
        "{w:?}"
    );
    // Neither statement allows web -> db, at either check.
    let web_to_db = Packet::tcp(ip("10.1.1.5"), 40000, ip("10.2.1.5"), 5432);
    let judged = |loaded: &zprsim_control::load::Loaded| {
        let s = &loaded.scenario;
        let c = Compiled::new(s, &Config::default()).unwrap();
        judge_both(s, &c, &web_to_db, Context::First)
            .unwrap()
            .judgement
    };
    assert_eq!(judged(&loaded).stage, Some(Stage::Zpr));
    // The two-VCN form, and CIDRs for the other side, are not warned.
    let fixed = "\"allow app.role:web endpoints in network.vcn:a VCN to connect to app.role:db endpoints in network.vcn:b VCN\",\n\
                 \"in network.vcn:a VCN allow app.role:web endpoints to connect to '10.2.1.0/24'\",\n\
                 \"in network.vcn:b VCN allow '10.1.1.0/24' to connect to app.role:db endpoints\",";
    let loaded = zprsim_control::load::from_toml_str(&scenario(fixed), "s.toml").unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(judged(&loaded).verdict, Verdict::Allow);
    // The two-VCN form with the VCNs swapped never matches either.
    let swapped = "\"allow app.role:web endpoints in network.vcn:b VCN to connect to app.role:db endpoints in network.vcn:a VCN\",";
    let loaded = zprsim_control::load::from_toml_str(&scenario(swapped), "s.toml").unwrap();
    let w: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("only VNICs of VCN `a` carry `app.role:web`, and in `in network.vcn:b VCN`")
            && w[0].ends_with("is that end's `in ... VCN` the other one's?"),
        "{w:?}"
    );
    assert_eq!(judged(&loaded).stage, Some(Stage::Zpr));
}

/// A policy copied from a word processor, a web page or a chat carries
/// typographic quotes (`‘10.0.0.0/8’`, `protocol=’tcp/443’`) or double
/// ones. zprsim said "expected an endpoint (... a quoted IP address or CIDR
/// ...), found `‘10.0.0.0/8’`" and, for a condition, "expected
/// `'’tcp/443’'`", which looks like what was written: the quote character
/// itself, the real fault, was never named. Now it is, at its column.
///
/// Found by the twelfth session's review.
#[test]
fn typographic_or_double_quotes_in_zpl_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
security_attributes = { network = { vcn = { value = "prod" } } }

[[zpr_policy]]
name = "p"
file = "p.zpl"
"#,
    )
    .unwrap();
    let cases = [
        (
            "in network.vcn:prod VCN allow app:web to connect to ‘10.0.0.0/8’",
            "p.zpl:1:53",
            "found `‘` (U+2018, a typographic quote",
        ),
        (
            "in network.vcn:prod VCN allow app:web to connect to app:db with protocol=’tcp/443’",
            "p.zpl:1:74",
            "found `’` (U+2019, a typographic quote",
        ),
        (
            "in network.vcn:prod VCN allow app:web to connect to app:db with protocol=\"tcp/443\"",
            "p.zpl:1:74",
            "found `\"` (a double quote)",
        ),
        (
            "in network.vcn:prod VCN allow “my-corp.biz:dev and test db” to connect to app:db",
            "p.zpl:1:31",
            "found `“` (U+201C, a typographic quote",
        ),
    ];
    for (statement, at, found) in cases {
        std::fs::write(dir.path().join("p.zpl"), format!("{statement}\n")).unwrap();
        let out = run_in(dir.path(), ["check", "s.toml"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{statement}: {err}");
        assert!(
            err.contains(at)
                && err.contains(found)
                && err.contains("expected `'` (ZPL quotes with the straight single quote, U+0027)"),
            "{statement}: {err}"
        );
    }
    // A typographic quote inside a quoted value is text, as before.
    std::fs::write(
        dir.path().join("p.zpl"),
        "in network.vcn:prod VCN allow 'app:o’brien' to connect to '10.0.0.0/8'\n",
    )
    .unwrap();
    let out = run_in(dir.path(), ["check", "s.toml"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The same slip in TOML: `name = “web”` in a scenario or an expectations
/// file said "string values must be quoted, expected literal string" at
/// the quote, which looks quoted. The message now names the character.
///
/// Found by the twelfth session's review.
#[test]
fn typographic_quotes_in_a_scenario_or_expectations_file_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        "name = \"s\"\n[[vcn]]\nname = ‘v’\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("e.toml"), "[[path]]\nname = “p”\n").unwrap();
    let scenario = root().join("examples/oke-orders/scenario.toml");
    let runs: [(Vec<&std::ffi::OsStr>, &str); 2] = [
        (
            vec!["check".as_ref(), "s.toml".as_ref()],
            "s.toml:3:8: error: string values must be quoted, expected literal string; `‘` (U+2018) is a typographic quote",
        ),
        (
            vec!["verify".as_ref(), scenario.as_os_str(), "e.toml".as_ref()],
            "e.toml:2:8: error: string values must be quoted, expected literal string; `“` (U+201C) is a typographic quote",
        ),
    ];
    for (args, want) in runs {
        let out = run_in(dir.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{err}");
    }
}

/// A scenario or expectations file read through a descriptor path —
/// `zprsim check /dev/stdin`, or `zprsim check <(envsubst < s.toml)`, whose
/// name is `/dev/fd/63` — had its `file =` policies (and an expectations
/// file its pack files) read from `/dev` or `/dev/fd`: `cannot read
/// \`/dev/policies/orders.zpl\``. They are now read relative to the
/// working directory, as for `-`.
///
/// Found by the twelfth session's review (branch s14-qa).
#[test]
fn a_scenario_read_through_dev_stdin_finds_its_policies_as_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let oke = oke_policies_in(d);
    let scenario = std::fs::read(oke.join("scenario.toml")).unwrap();
    std::fs::write(d.join("scenario.toml"), &scenario).unwrap();
    std::fs::copy(root().join("packs/base-db.toml"), d.join("mine.toml")).unwrap();
    let zprsim = |args: &[&str], stdin: &[u8]| {
        assert_cmd::Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(d)
            .args(args)
            .write_stdin(stdin)
            .output()
            .unwrap()
    };
    for name in ["-", "/dev/stdin"] {
        let o = zprsim(&["check", name], &scenario);
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // An expectations file naming a pack file: beside it, which for a
        // descriptor is the working directory.
        let expect = "[[include]]\npack = \"mine.toml\"\nroles = { clients = \"subnet:workers\", db = \"vnic:orders-fss-mt\", osn = \"service:all-iad-services-in-oracle-services-network\" }\n";
        let o = zprsim(&["verify", "scenario.toml", name], expect.as_bytes());
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // Descriptors, not files in `/dev/shm` (a tmpfs people keep files in).
    use zprsim_control::load::is_descriptor_path as descriptor;
    for p in [
        "/dev/stdin",
        "/dev/fd/63",
        "/proc/self/fd/0",
        "/proc/42/fd/3",
    ] {
        assert!(descriptor(Path::new(p)), "{p}");
    }
    for p in [
        "/dev/shm/s.toml",
        "/dev/shm/fd/s.toml",
        "s.toml",
        "/procedures/s.toml",
    ] {
        assert!(!descriptor(Path::new(p)), "{p}");
    }
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
///
/// Found by QA round thirteen, on the seventeenth session's paths.
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
