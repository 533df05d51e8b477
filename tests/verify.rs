//! `zprsim verify`: the packs on the OKE example and on a Base Database
//! fixture, mutations that must fail exactly the expected paths, port
//! ranges judged exactly, JUnit output checked against the schema's
//! structure, errors with positions, limits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use quick_xml::events::Event;
use quick_xml::{Reader, XmlVersion};
use serde_json::Value;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::eval;
use zprsim_control::load::{self, Format};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Verdict};
use zprsim_control::verify::{self, Limits, RunError};
use zprsim_dataplane::scenario_file::FsFiles;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const OKE_DIR: &str = "examples/oke-orders";

fn oke_text() -> String {
    std::fs::read_to_string(root().join(OKE_DIR).join("scenario.toml")).unwrap()
}

fn expect_text() -> String {
    std::fs::read_to_string(root().join(OKE_DIR).join("expect.toml")).unwrap()
}

/// Loads scenario text as if it were `examples/oke-orders/scenario.toml`
/// (its policy files are read from there) and runs the expectations.
fn run(scenario: &str, expect: &str) -> verify::Report {
    run_from(&root().join(OKE_DIR), scenario, expect)
}

/// [`run`] with the policy files read from `dir`.
fn run_from(dir: &std::path::Path, scenario: &str, expect: &str) -> verify::Report {
    let files = FsFiles::new(dir);
    let loaded = load::load_str(scenario, "scenario.toml", Format::Toml, &files).unwrap();
    let s = &loaded.scenario;
    let c = Compiled::new(s, &Config::default()).unwrap();
    let limits = Limits::default();
    let paths = verify::read(s, expect, "expect.toml", &files, &limits).unwrap();
    verify::run(s, &c, &paths, &limits).unwrap()
}

/// The example's `policies/orders.zpl`.
fn orders_zpl() -> String {
    std::fs::read_to_string(root().join(OKE_DIR).join("policies/orders.zpl")).unwrap()
}

/// A directory whose `policies/orders.zpl` is `text` (for [`run_from`]).
fn orders_zpl_with(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    std::fs::write(dir.path().join("policies/orders.zpl"), text).unwrap();
    dir
}

/// The rollout's first step: the example's expectations plus a path from
/// the legacy VM to billing, and the example with billing's attribute in
/// `audit` mode.
fn billing_in_audit() -> (String, String) {
    let expect = format!(
        "{}\n[[path]]\nname = \"legacy-to-billing\"\nfrom = \"vnic:legacy-vm\"\nto = \"attr:app.workload:billing\"\nproto = \"tcp\"\ndport = 8080\nexpect = \"allow\"\n",
        expect_text()
    );
    let audit = mutate(
        &oke_text(),
        "security_attributes = { app = { workload = { value = \"billing\" } } }",
        "security_attributes = { app = { workload = { value = \"billing\", mode = \"audit\" } } }",
    );
    (expect, audit)
}

fn failed(r: &verify::Report) -> BTreeSet<String> {
    r.paths
        .iter()
        .filter(|p| !p.ok)
        .map(|p| p.name.clone())
        .collect()
}

/// Replaces exactly one occurrence.
fn mutate(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
    text.replacen(from, to, 1)
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn oke_example_passes_every_pack_path() {
    let r = run(&oke_text(), &expect_text());
    assert_eq!(failed(&r), BTreeSet::new());
    let names: Vec<&str> = r.paths.iter().map(|p| p.name.as_str()).collect();
    // Every path of the pack is there and judged something.
    let pack = names.iter().filter(|n| n.starts_with("oke/")).count();
    assert_eq!(pack, 29, "{names:?}");
    for p in &r.paths {
        assert!(p.pairs > 0 && p.probes >= p.pairs, "{}: {p:?}", p.name);
    }
    // Role bindings expand as documented: 2 workers x 1 API endpoint.
    let p = r
        .paths
        .iter()
        .find(|p| p.name == "oke/workers-to-api-6443")
        .unwrap();
    assert_eq!(
        (p.pairs, p.from.as_str(), p.to.as_str()),
        (2, "subnet:workers", "vnic:k8s-api-endpoint")
    );
    // fss-clients is bound to two subnets: 2 workers + 3 pods.
    let p = r
        .paths
        .iter()
        .find(|p| p.name == "oke/fss-udp-2048")
        .unwrap();
    assert_eq!(p.pairs, 5);
}

#[test]
fn the_cli_passes_on_the_example_and_prints_json() {
    let o = crate::support::run_in(
        root(),
        [
            "verify",
            "examples/oke-orders/scenario.toml",
            "examples/oke-orders/expect.toml",
            "--json",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["failed"], 0);
    let paths = v["paths"].as_array().unwrap();
    assert_eq!(paths.len(), 36);
    for p in paths {
        assert_eq!(p["ok"], true);
        assert!(p["name"].is_string() && p["expect"].is_string());
        assert!(p["pairs"].as_u64().unwrap() > 0);
        assert_eq!(p["failed"], Value::Array(vec![]));
    }
}

#[test]
fn removing_a_rule_fails_exactly_its_path() {
    // The nodes' egress rule to the API endpoint on 6443 (pods-nsg has the
    // same text: take the one after `nodes-nsg`).
    let base = oke_text();
    let at = base.find("name = \"nodes-nsg\"").unwrap();
    let (head, tail) = base.split_at(at);
    let rule = "  { direction = \"EGRESS\", protocol = \"6\", destination = \"api-nsg\", destination_type = \"NETWORK_SECURITY_GROUP\", tcp_options = { destination_port_range = { min = 6443, max = 6443 } } },\n";
    assert!(tail.contains(rule));
    let text = format!("{head}{}", tail.replacen(rule, "", 1));
    let r = run(&text, &expect_text());
    assert_eq!(failed(&r), set(&["oke/workers-to-api-6443"]));
    let p = r.paths.iter().find(|p| !p.ok).unwrap();
    assert_eq!(p.failed_pairs, 2);
    let f = &p.failed[0];
    assert_eq!(f.packet, "tcp 10.0.2.11:49152 -> 10.0.0.5:6443");
    assert_eq!(f.verdict, Verdict::Drop);
    assert_eq!(f.stage.map(|s| s.as_str()), Some("egress-security"));
    assert!(
        f.rule
            .starts_with("egress-security DENIED: at VNIC `worker-1`"),
        "{}",
        f.rule
    );
    // Only the egress side blocks it: the API endpoint still admits it.
    assert_eq!(f.blocked_by.len(), 1, "{:?}", f.blocked_by);
}

#[test]
fn renaming_the_nodes_attribute_fails_the_node_join_paths() {
    let text = oke_text().replace(
        "security_attributes = { app = { role = { value = \"oke-node\" } } }",
        "security_attributes = { app = { role = { value = \"k8s-node\" } } }",
    );
    assert_ne!(text, oke_text());
    let r = run(&text, &expect_text());
    // The paths judged on every layer that involve the nodes; the
    // network-scope paths (security rules only) still pass.
    assert_eq!(
        failed(&r),
        set(&[
            "oke/workers-to-api-6443",
            "oke/workers-to-api-12250",
            "oke/api-to-kubelet-10250",
            "oke/workers-to-osn-443",
        ])
    );
    let p = r
        .paths
        .iter()
        .find(|p| p.name == "oke/workers-to-api-6443")
        .unwrap();
    let f = &p.failed[0];
    assert_eq!(f.stage.map(|s| s.as_str()), Some("zpr"));
    assert!(f.rule.contains("MISSING_POLICY"), "{}", f.rule);
    assert!(f.rule.contains("`worker-1`"), "{}", f.rule);
    assert_eq!(f.blocked_by.len(), 1);
}

#[test]
fn switching_audit_to_enforce_fails_exactly_the_paths_it_would_deny() {
    // The rollout technique: billing's attribute starts in audit mode, and
    // the legacy VM still calls billing. With audit, the path is open (and
    // verify notes the would-deny); enforced (the example as it is), it
    // closes: no statement names `app.workload:billing`.
    let (expect, audit) = billing_in_audit();
    let r = run(&audit, &expect);
    assert_eq!(failed(&r), BTreeSet::new());
    let p = r
        .paths
        .iter()
        .find(|p| p.name == "legacy-to-billing")
        .unwrap();
    assert_eq!(p.audit_would_deny, 1, "{p:?}");
    let r = run(&oke_text(), &expect);
    assert_eq!(failed(&r), set(&["legacy-to-billing"]));
    let p = r.paths.iter().find(|p| !p.ok).unwrap();
    assert_eq!(p.failed_pairs, 1);
    let f = &p.failed[0];
    assert_eq!(f.stage.map(|s| s.as_str()), Some("zpr"));
    assert!(
        f.rule
            .contains("ingress check at `billing-pod-1` (enforce): MISSING_POLICY"),
        "{}",
        f.rule
    );
}

#[test]
fn a_port_range_is_judged_exactly() {
    // A path over every TCP port between a pod and the mount target: the
    // failing ports verify reports must be exactly the ports the reference
    // evaluator drops, port by port.
    let files = FsFiles::new(root().join(OKE_DIR));
    let loaded = load::load_str(&oke_text(), "scenario.toml", Format::Toml, &files).unwrap();
    let s = &loaded.scenario;
    let c = Compiled::new(s, &Config::default()).unwrap();
    let expect = r#"
[[path]]
name = "pod-to-fss-all"
from = "vnic:orders-api-pod-1"
to = "vnic:orders-fss-mt"
proto = "tcp"
dport = "0-65535"
expect = "allow"
"#;
    let limits = Limits::default();
    let paths = verify::read(s, expect, "e.toml", &files, &limits).unwrap();
    let r = verify::run(s, &c, &paths, &limits).unwrap();
    let p = &r.paths[0];
    assert_eq!(p.pairs, 1);
    assert!(p.probes < 40, "{} probes", p.probes);
    let mut reported = BTreeSet::new();
    for range in &p.failed[0].failing_ports {
        let (lo, hi) = match range.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().unwrap(), b.parse::<u32>().unwrap()),
            None => (range.parse().unwrap(), range.parse().unwrap()),
        };
        reported.extend(lo..=hi);
    }
    let mut brute = BTreeSet::new();
    for port in 0..=u16::MAX {
        let pkt = Packet {
            src: "10.0.10.11".parse().unwrap(),
            dst: "10.0.30.10".parse().unwrap(),
            proto: 6,
            l4: L4::Ports {
                sport: 49152,
                dport: port,
            },
        };
        if eval::evaluate(s, &pkt, Context::First).judgement.verdict != Verdict::Allow {
            brute.insert(u32::from(port));
        }
    }
    assert_eq!(reported.len(), brute.len());
    assert_eq!(reported, brute);
    // The open ones are the NFS ports the policy allows.
    assert!(!brute.contains(&2049) && !brute.contains(&2050) && !brute.contains(&111));
}

#[test]
fn base_db_pack_passes_and_a_removed_listener_rule_fails_it() {
    let dir = root().join("tests/verify");
    let scenario = std::fs::read_to_string(dir.join("base-db.toml")).unwrap();
    let expect = std::fs::read_to_string(dir.join("base-db-expect.toml")).unwrap();
    let check = |text: &str| {
        let loaded = load::from_toml_str(text, "base-db.toml").unwrap();
        let s = &loaded.scenario;
        let c = Compiled::new(s, &Config::default()).unwrap();
        let limits = Limits::default();
        let paths = verify::read(s, &expect, "e.toml", &load::NoFiles, &limits).unwrap();
        verify::run(s, &c, &paths, &limits).unwrap()
    };
    let r = check(&scenario);
    assert_eq!(failed(&r), BTreeSet::new());
    assert_eq!(r.paths.len(), 6);
    let no_1521 = mutate(
        &scenario,
        "  { protocol = \"6\", source = \"10.1.0.0/16\", tcp_options = { destination_port_range = { min = 1521, max = 1521 } } },\n",
        "",
    );
    assert_eq!(
        failed(&check(&no_1521)),
        set(&["base-db/clients-to-db-1521"])
    );
    // Opening the listener to the internet (and routing it) fails the
    // closed path.
    let open = mutate(
        &scenario,
        "route_rules = [\n  { destination = \"all-iad",
        "route_rules = [\n  { destination = \"0.0.0.0/0\", network_entity = \"igw\" },\n  { destination = \"all-iad",
    )
    .replace("source = \"10.1.0.0/16\", tcp_options = { destination_port_range = { min = 1521", "source = \"0.0.0.0/0\", tcp_options = { destination_port_range = { min = 1521")
    .replace("protocol='tcp/1521'\",", "protocol='tcp/1521'\",\n  \"in network.vcn:app VCN allow '0.0.0.0/0' to connect to db.server:orders-db endpoints with protocol='tcp/1521'\",");
    let r = check(&open);
    assert_eq!(failed(&r), set(&["base-db/internet-to-db-1521"]));
    let f = &r.paths.iter().find(|p| !p.ok).unwrap().failed[0];
    assert_eq!(f.verdict, Verdict::Allow);
    assert!(
        f.rule.contains("security_list:db-sl/ingress#0"),
        "{}",
        f.rule
    );
}

/// An expectations file that names no path (empty, comments only) is bad
/// input: exit 2, not a pass that checked nothing.
#[test]
fn an_expectations_file_without_paths_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let scenario = root().join(OKE_DIR).join("scenario.toml");
    for (name, text) in [("empty.toml", ""), ("comments.toml", "# paths: TODO\n\n")] {
        std::fs::write(t.path().join(name), text).unwrap();
        let o = crate::support::run_in(t.path(), ["verify", scenario.to_str().unwrap(), name]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("{name}: error: no `[[path]]`")),
            "{name}: {err}"
        );
        assert!(o.stdout.is_empty(), "{name}");
    }
}

/// Copies the example with one rule removed into a temporary directory.
fn broken_example() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("policies")).unwrap();
    std::fs::copy(
        root().join(OKE_DIR).join("policies/orders.zpl"),
        t.path().join("policies/orders.zpl"),
    )
    .unwrap();
    let text = mutate(
        &oke_text(),
        "  { direction = \"EGRESS\", protocol = \"6\", destination = \"nodes-nsg\", destination_type = \"NETWORK_SECURITY_GROUP\", tcp_options = { destination_port_range = { min = 30000, max = 32767 } } },\n",
        "",
    );
    std::fs::write(t.path().join("scenario.toml"), text).unwrap();
    std::fs::write(t.path().join("expect.toml"), expect_text()).unwrap();
    t
}

#[test]
fn a_failure_exits_1_and_names_witness_rule_and_blocking_layers() {
    let t = broken_example();
    let o = crate::support::run_in(t.path(), ["verify", "scenario.toml", "expect.toml"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("  FAIL  oke/lb-to-nodeports: vnic:orders-lb -> subnet:workers, expect allow, network layers (2 pair(s), 2 failing)\n"), "{out}");
    assert!(out.contains("        tcp 10.0.1.10:49152 -> 10.0.2.11:30000: DROP at egress-security (failing ports 30000-32767)\n"), "{out}");
    assert!(out.contains("          egress-security DENIED: at VNIC `orders-lb` (evaluated NSG `lb-nsg`, security list `lb-sl`); no egress rule matches\n"), "{out}");
    assert!(
        out.ends_with("36 path(s): 35 ok, 1 failed, 0 skipped\n"),
        "{out}"
    );
}

/// The attributes each JUnit element may carry (the JUnit XSD used by
/// Jenkins and GitLab: `testsuites`, `testsuite`, `testcase`, `failure`,
/// `skipped`), and where each element may appear.
fn check_junit(xml: &str) -> BTreeMap<String, Option<String>> {
    let allowed: BTreeMap<&str, (&[&str], &[&str])> = BTreeMap::from([
        (
            "testsuites",
            (
                &["name", "tests", "failures", "errors", "time", "disabled"][..],
                &[""][..],
            ),
        ),
        (
            "testsuite",
            (
                &[
                    "name",
                    "tests",
                    "failures",
                    "errors",
                    "skipped",
                    "time",
                    "timestamp",
                    "hostname",
                    "id",
                    "package",
                    "disabled",
                ][..],
                &["testsuites"][..],
            ),
        ),
        (
            "testcase",
            (
                &["name", "classname", "time", "assertions", "status"][..],
                &["testsuite"][..],
            ),
        ),
        ("failure", (&["message", "type"][..], &["testcase"][..])),
        ("skipped", (&["message"][..], &["testcase"][..])),
        ("system-out", (&[][..], &["testcase"][..])),
    ]);
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut cases: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut current_case: Option<String> = None;
    let mut suite_counts = (0usize, 0usize, 0usize);
    let mut seen_failures = 0usize;
    let mut seen_skipped = 0usize;
    loop {
        let ev = reader.read_event().unwrap();
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = e.name().into_inner().to_string();
            let (attrs, parents) = allowed
                .get(name.as_str())
                .unwrap_or_else(|| panic!("element `{name}` is not in the JUnit schema"));
            let parent = stack.last().map_or("", String::as_str);
            assert!(parents.contains(&parent), "`{name}` inside `{parent}`");
            let mut a: BTreeMap<String, String> = BTreeMap::new();
            for at in e.attributes() {
                let at = at.unwrap();
                let k = at.key.into_inner().to_string();
                assert!(attrs.contains(&k.as_str()), "attribute `{k}` of `{name}`");
                a.insert(
                    k,
                    at.normalized_value(XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned(),
                );
            }
            match name.as_str() {
                "testsuite" => {
                    suite_counts = (
                        a["tests"].parse().unwrap(),
                        a["failures"].parse().unwrap(),
                        a["skipped"].parse().unwrap(),
                    );
                }
                "testcase" => {
                    assert!(a.contains_key("classname"));
                    let n = a["name"].clone();
                    assert!(
                        cases.insert(n.clone(), None).is_none(),
                        "two test cases named `{n}`"
                    );
                    current_case = Some(n);
                }
                "failure" => {
                    seen_failures += 1;
                    let c = current_case.clone().unwrap();
                    cases.insert(c, Some(a["message"].clone()));
                }
                "skipped" => seen_skipped += 1,
                _ => {}
            }
            if !empty {
                stack.push(name);
            }
        }
        match ev {
            Event::End(e) => {
                let name = e.name().into_inner().to_string();
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty());
    assert_eq!(suite_counts, (cases.len(), seen_failures, seen_skipped));
    cases
}

#[test]
fn junit_report_follows_the_schema_and_is_written_beside_its_target() {
    let t = broken_example();
    let o = crate::support::run_in(
        t.path(),
        [
            "verify",
            "scenario.toml",
            "expect.toml",
            "--junit",
            "out/junit.xml",
        ],
    );
    // The directory does not exist: an error, nothing half-written.
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: --junit `out/junit.xml`: directory `out`: No such file or directory\n"
    );
    let o = crate::support::run_in(
        t.path(),
        [
            "verify",
            "scenario.toml",
            "expect.toml",
            "--junit",
            "junit.xml",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let xml = std::fs::read_to_string(t.path().join("junit.xml")).unwrap();
    let cases = check_junit(&xml);
    assert_eq!(cases.len(), 36);
    let failing: Vec<(&String, &String)> = cases
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|m| (k, m)))
        .collect();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].0, "oke/lb-to-nodeports");
    assert_eq!(failing[0].1, "2 of 2 pair(s) fail: expected allow");
    assert!(
        xml.contains("tcp 10.0.1.10:49152 -&gt; 10.0.2.11:30000: DROP at egress-security"),
        "{xml}"
    );
    // Nothing else was left beside it.
    let names: Vec<String> = std::fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    // An output that is an input: refused before anything is written.
    let o = crate::support::run_in(
        t.path(),
        [
            "verify",
            "scenario.toml",
            "expect.toml",
            "--junit",
            "expect.toml",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(t.path().join("expect.toml")).unwrap(),
        expect_text()
    );
}

#[test]
fn skipped_pack_paths_are_reported_as_skipped() {
    let expect = mutate(
        &expect_text(),
        "pack = \"oke\"\n",
        "pack = \"oke\"\nskip = [\"lb-to-nodeports\", \"lb-to-health-10256\"]\n",
    );
    let r = run(&oke_text(), &expect);
    assert_eq!(r.skipped, 2);
    let sk: Vec<&str> = r
        .paths
        .iter()
        .filter(|p| p.skipped)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(sk, ["oke/lb-to-nodeports", "oke/lb-to-health-10256"]);
    assert_eq!(r.failed, 0);
}

fn read_err(expect: &str) -> String {
    let files = FsFiles::new(root().join(OKE_DIR));
    let loaded = load::load_str(&oke_text(), "scenario.toml", Format::Toml, &files).unwrap();
    verify::read(
        &loaded.scenario,
        expect,
        "expect.toml",
        &files,
        &Limits::default(),
    )
    .unwrap_err()
    .to_string()
}

#[test]
fn errors_name_file_line_and_column() {
    let path = |body: &str| {
        format!(
            "[[path]]\nname = \"p\"\nfrom = \"vnic:worker-1\"\nto = \"vnic:k8s-api-endpoint\"\nexpect = \"allow\"\n{body}"
        )
    };
    assert_eq!(
        read_err(&path("proto = \"tcp\"\ndport = \"90-80\"\n")),
        "expect.toml:7:9: error: `dport` must be a port (0 to 65535) or a range `\"lo-hi\"` with lo <= hi"
    );
    assert_eq!(
        read_err(&path("proto = \"tcp\"\n")),
        "expect.toml:1:1: error: path `p`: `dport` is required for tcp and udp (a port or a range `\"lo-hi\"`)"
    );
    assert_eq!(
        read_err(&path("proto = \"icmp\"\ndport = 5\n")),
        "expect.toml:7:9: error: `dport` is only for tcp and udp"
    );
    // `sport` is one port: a range was serde's "invalid type: string,
    // expected i64"; an out-of-range number and a range get one message.
    for v in ["\"0-65535\"", "70000", "1.5"] {
        assert_eq!(
            read_err(&path(&format!("proto = \"tcp\"\ndport = 1\nsport = {v}\n"))),
            "expect.toml:8:9: error: `sport` must be one port from 0 to 65535, a number (a probe has one source port; 49152 when left out); ranges `\"lo-hi\"` are for `dport`",
            "{v}"
        );
    }
    assert_eq!(
        read_err(&path("proto = \"icmp\"\nsport = 5\n")),
        "expect.toml:7:9: error: `sport` is only for tcp and udp"
    );
    assert_eq!(
        read_err(&path("proto = \"tcp\"\ndport = 1\nexpekt = 1\n")),
        "expect.toml:8:1: error: unknown field `expekt`, expected one of `name`, `from`, `to`, `proto`, `dport`, `sport`, `icmp_type`, `icmp_code`, `expect`, `scope`, `replies`, `why`"
    );
    assert_eq!(
        read_err(
            "[[path]]\nname = \"p\"\nfrom = \"vnic:nope\"\nto = \"internet\"\nproto = \"tcp\"\ndport = 1\nexpect = \"deny\"\n"
        ),
        "expect.toml:3:8: error: no VNIC is named `nope`"
    );
    assert_eq!(
        read_err(
            "[[path]]\nname = \"p\"\nfrom = \"attr:a:b:c\"\nto = \"bogus\"\nproto = \"tcp\"\ndport = 1\nexpect = \"deny\"\n"
        ),
        "expect.toml:4:6: error: unknown selector `bogus`: expected an IP or CIDR, `vnic:NAME`, `subnet:NAME`, `nsg:NAME`, `attr:NS.KEY:VALUE`, `kind:KIND`, `service:LABEL` or `internet`"
    );
    assert_eq!(
        read_err("[[include]]\npack = \"okay\"\n"),
        "expect.toml:2:8: error: unknown pack `okay`: the built-in packs are `oke`, `base-db`; a pack file's name ends in `.toml`"
    );
    assert_eq!(
        read_err("[[include]]\npack = \"base-db\"\nroles = { db = \"subnet:storage\" }\n"),
        "expect.toml:1:1: error: pack `base-db` path `clients-to-db-1521` needs role `clients`: bind it (`roles.clients = \"subnet:...\"`) or skip the path (`skip = [\"clients-to-db-1521\"]`)"
    );
    assert_eq!(
        read_err("[[include]]\npack = \"base-db\"\nroles = { dbs = \"subnet:storage\" }\n"),
        "expect.toml:3:17: error: pack `base-db` has no role `dbs`; its roles are `clients`, `db`, `osn`"
    );
}

#[test]
fn an_empty_selector_fails_its_path_and_limits_stop_before_judging() {
    let r = run(
        &oke_text(),
        "[[path]]\nname = \"p\"\nfrom = \"attr:app.role:nobody\"\nto = \"internet\"\nproto = \"tcp\"\ndport = 1\nexpect = \"deny\"\n",
    );
    assert!(!r.paths[0].ok);
    assert_eq!(
        r.paths[0].error.as_deref(),
        Some("`attr:app.role:nobody` matches no endpoint")
    );

    let files = FsFiles::new(root().join(OKE_DIR));
    let loaded = load::load_str(&oke_text(), "scenario.toml", Format::Toml, &files).unwrap();
    let s = &loaded.scenario;
    let c = Compiled::new(s, &Config::default()).unwrap();
    // A path is judged once per pair of address classes (of one family)
    // and port run, plus a sample of 16 endpoint pairs: the 9 addresses
    // of 10.0.0.0/16 in the example fall in 7 classes, so 7 × 7 + 16 = 65
    // judgements for one port.
    let limits = Limits {
        max_judgements: 60,
        ..Limits::default()
    };
    let paths = verify::read(s, "[[path]]\nname = \"p\"\nfrom = \"10.0.0.0/16\"\nto = \"10.0.0.0/16\"\nproto = \"tcp\"\ndport = 1\nexpect = \"deny\"\n", "e.toml", &files, &limits).unwrap();
    assert_eq!(
        verify::run(s, &c, &paths, &limits).unwrap_err(),
        RunError::Limit("e.toml:1:1: error: path `p` brings the judgements to 65 (limit 60; one per pair of address classes, or sampled pair, and port run, over every path): narrow `from`, `to` or the ports".into())
    );
    // Every path's limits are checked before the first is judged: the
    // second path's error comes without judging the first (on the `wide`
    // preset, a first path of 40,000 pairs over a whole port range took
    // 44 s before the second was refused; now 0.8 s). The stop request is
    // looked at before each path is judged: never looked at, nothing was.
    // The first path is one class pair and one sampled pair at 20 port
    // runs (40), the second 65.
    let two = "[[path]]\nname = \"ok\"\nfrom = \"vnic:worker-1\"\nto = \"vnic:k8s-api-endpoint\"\nproto = \"tcp\"\ndport = \"1-65535\"\nexpect = \"deny\"\n\
               [[path]]\nname = \"wide\"\nfrom = \"10.0.0.0/16\"\nto = \"10.0.0.0/16\"\nproto = \"tcp\"\ndport = 1\nexpect = \"deny\"\n";
    let limits = Limits {
        max_judgements: 100,
        ..Limits::default()
    };
    let paths = verify::read(s, two, "e.toml", &files, &limits).unwrap();
    let looks = std::cell::Cell::new(0);
    let stop = || {
        looks.set(looks.get() + 1);
        false
    };
    assert_eq!(
        verify::run_until(&verify::Job {
            scenario: s,
            compiled: &c,
            paths: &paths,
            limits: &limits,
            stop: &stop,
        })
        .unwrap_err(),
        RunError::Limit("e.toml:8:1: error: path `wide` brings the judgements to 105 (limit 100; one per pair of address classes, or sampled pair, and port run, over every path): narrow `from`, `to` or the ports".into())
    );
    assert_eq!(looks.get(), 0);
    // Each alone fits.
    for one in [&paths[..1], &paths[1..]] {
        let limits = Limits {
            max_judgements: 65,
            ..Limits::default()
        };
        assert!(verify::run(s, &c, one, &limits).is_ok());
    }
}

/// Adds to every security list and NSG of `s` stateless rules of
/// `protocol` for any address of the family of `v4`, each cut inside
/// `lo..=hi`: in each direction one by source port and one by destination
/// port. The source-port ones cut only the replies' service classes (a
/// reply's source port is the first packet's destination port), the
/// destination-port ones leave first packets untracked, so a range's
/// replies drop on part of it.
fn plant_stateless_port_rules(
    s: &mut zprsim_control::model::Scenario,
    rng: &mut impl rand::Rng,
    protocol: u8,
    v4: bool,
    lo: u16,
    hi: u16,
) {
    use zprsim_control::model::{Direction, Peer, PortRange, Protocol, RuleOptions, SecurityRule};
    let any: ipnet::IpNet = if v4 { "0.0.0.0/0" } else { "::/0" }.parse().unwrap();
    let rule = |rng: &mut dyn rand::RngCore, direction, by_source: bool| {
        let min = rand::Rng::random_range(rng, lo..=hi);
        let max = rand::Rng::random_range(rng, min..=hi);
        let r = Some(PortRange { min, max });
        SecurityRule {
            direction,
            protocol: Protocol::Number(protocol),
            peer: Peer::Cidr(any),
            stateless: true,
            options: if by_source {
                RuleOptions::Ports { src: r, dst: None }
            } else {
                RuleOptions::Ports { src: None, dst: r }
            },
            description: None,
        }
    };
    for l in &mut s.security_lists {
        l.ingress.push(rule(rng, Direction::Ingress, true));
        l.ingress.push(rule(rng, Direction::Ingress, false));
        l.egress.push(rule(rng, Direction::Egress, true));
        l.egress.push(rule(rng, Direction::Egress, false));
    }
    for n in &mut s.nsgs {
        for (d, by_source) in [
            (Direction::Ingress, true),
            (Direction::Ingress, false),
            (Direction::Egress, true),
            (Direction::Egress, false),
        ] {
            n.rules.push(rule(rng, d, by_source));
        }
    }
}

/// On random scenarios (the differential test's generator), the failing
/// ports `verify` reports for a port range are exactly the ports the
/// reference evaluator drops, judged one by one (first packet and reply).
/// Every other seed, stateless rules cut by source and destination ports
/// inside the range are planted in every list and NSG (since the
/// twenty-first session: a stateless `source_port_range` cuts only the
/// replies' classes, and a range whose replies dropped on part of it said
/// `ok`).
#[test]
fn port_ranges_are_exact_on_random_scenarios() {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use zprsim_bench::random::{address_pool, random_scenario};
    use zprsim_control::model::{PortRange, proto};
    use zprsim_control::verify::{Expect, Location, PathSpec, Probe, Scope, Selector};

    let (mut checked, mut mixed, mut planted_mixed) = (0, 0, 0);
    for seed in 0..60u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut s = random_scenario(&mut rng);
        let mut c = Compiled::new(&s, &Config::default()).unwrap();
        let pool = address_pool(&s);
        // A pair, protocol and source port with at least one open port
        // among the generator's, so that ranges around it are partly open;
        // any pair when none is found in 300 tries.
        let pool_ports = [22u16, 53, 80, 443, 1521, 2049, 6443, 8080, 40000];
        let mut pick = None;
        for _ in 0..300 {
            let a = pool[rng.random_range(0..pool.len())];
            let b = pool[rng.random_range(0..pool.len())];
            if a == b || a.is_ipv4() != b.is_ipv4() {
                continue;
            }
            let protocol = if rng.random_bool(0.5) {
                proto::TCP
            } else {
                proto::UDP
            };
            let sport = pool_ports[rng.random_range(0..pool_ports.len())];
            let allowed = |d: u16| {
                let p = Packet {
                    src: a,
                    dst: b,
                    proto: protocol,
                    l4: L4::Ports { sport, dport: d },
                };
                eval::evaluate(&s, &p, Context::First).judgement.verdict == Verdict::Allow
            };
            let open: Vec<u16> = pool_ports.iter().copied().filter(|&d| allowed(d)).collect();
            if !open.is_empty() && open.len() < pool_ports.len() {
                pick = Some((a, b, protocol, sport, open[rng.random_range(0..open.len())]));
                break;
            }
            pick.get_or_insert((a, b, protocol, sport, 80));
        }
        let Some((a, b, protocol, sport, around)) = pick else {
            continue;
        };
        let lo = around.saturating_sub(rng.random_range(0..3_000));
        let hi = around.saturating_add(rng.random_range(0..3_000));
        let planted = seed % 2 == 0;
        if planted {
            // A stream of its own: the other seeds' picks stay as they were.
            let mut plant = ChaCha8Rng::seed_from_u64(seed + 1_000);
            plant_stateless_port_rules(&mut s, &mut plant, protocol, a.is_ipv4(), lo, hi);
            c = Compiled::new(&s, &Config::default()).unwrap();
        }
        let path = PathSpec {
            name: format!("seed-{seed}"),
            location: Location {
                file: "random".into(),
                line: None,
                column: None,
            },
            from: Selector::Addr(a),
            to: Selector::Addr(b),
            from_text: a.to_string(),
            to_text: b.to_string(),
            proto: protocol,
            probe: Probe::Ports {
                sport,
                dport: PortRange { min: lo, max: hi },
            },
            expect: Expect::Allow,
            scope: Scope::All,
            why: None,
            skipped: false,
            // TCP and UDP: both need their replies.
            replies: true,
        };
        let r = verify::run(&s, &c, &[path], &Limits::default()).unwrap();
        let mut reported = BTreeSet::new();
        if let Some(f) = r.paths[0].failed.first() {
            for range in &f.failing_ports {
                let (x, y) = match range.split_once('-') {
                    Some((x, y)) => (x.parse::<u16>().unwrap(), y.parse::<u16>().unwrap()),
                    None => (range.parse().unwrap(), range.parse().unwrap()),
                };
                reported.extend(x..=y);
            }
        }
        let brute: BTreeSet<u16> = (lo..=hi)
            .filter(|&port| {
                let p = Packet {
                    src: a,
                    dst: b,
                    proto: protocol,
                    l4: L4::Ports { sport, dport: port },
                };
                // A TCP path's reply must pass too (since the twentieth
                // session), and a UDP path's (since the twenty-first).
                let first = eval::evaluate(&s, &p, Context::First).judgement;
                first.verdict != Verdict::Allow
                    || ((protocol == 6 || protocol == 17)
                        && eval::evaluate(&s, &p.reply(), Context::Reply(first.tracking))
                            .judgement
                            .verdict
                            != Verdict::Allow)
            })
            .collect();
        assert_eq!(
            reported, brute,
            "seed {seed}: {a} -> {b} proto {protocol} ports {lo}-{hi}"
        );
        checked += 1;
        if !brute.is_empty() && brute.len() <= usize::from(hi - lo) {
            mixed += 1;
            planted_mixed += usize::from(planted);
        }
    }
    assert!(checked >= 45, "only {checked} seeds had a pair");
    // The test means something only if ranges that are partly open occur.
    assert!(mixed >= 10, "only {mixed} ranges were partly open");
    assert!(
        planted_mixed >= 3,
        "only {planted_mixed} planted ranges were partly open"
    );
}

/// SIGINT in the middle of a long `verify`: exit 130, and both outputs
/// hold the paths judged whole, saying the run was interrupted (the JSON's
/// `interrupted`, the JUnit suite's `interrupted` property).
#[cfg(unix)]
#[test]
fn an_interrupted_verify_writes_the_paths_judged_and_says_so() {
    use std::fmt::Write as _;
    let d = tempfile::tempdir().unwrap();
    // 300 VNICs in one subnet, each with an attribute of its own (so an
    // address class of its own: verify judges once per pair of classes,
    // and 300 VNICs without attributes would be one class, judged at
    // once): a subnet-to-subnet path is 89,700 pairs of classes, and 20
    // of them take far longer than the signal's delay.
    let mut sc = String::from(
        "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n[[subnet]]\nname = \"s\"\nvcn = \"v\"\ncidr_block = \"10.0.0.0/16\"\n",
    );
    for i in 0..300 {
        let _ = write!(
            sc,
            "[[vnic]]\nname = \"n{i}\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.{}.{}\"]\nsecurity_attributes = {{ app = {{ id = {{ value = \"n{i}\" }} }} }}\n",
            i / 200 + 1,
            i % 200 + 10
        );
    }
    let mut ex = String::new();
    for i in 0..20 {
        let _ = write!(
            ex,
            "[[path]]\nname = \"p{i}\"\nfrom = \"subnet:s\"\nto = \"subnet:s\"\nproto = \"tcp\"\ndport = {}\nexpect = \"deny\"\n",
            1000 + i
        );
    }
    let (s, e, j) = (
        d.path().join("s.toml"),
        d.path().join("e.toml"),
        d.path().join("j.xml"),
    );
    std::fs::write(&s, sc).unwrap();
    std::fs::write(&e, ex).unwrap();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("zprsim"))
        .args([
            "verify",
            s.to_str().unwrap(),
            e.to_str().unwrap(),
            "--json",
            "--junit",
        ])
        .arg(&j)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    let st = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted:") && err.contains("of 20 path(s) judged"),
        "{err}"
    );
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["stopped_by"], "sigint");
    let judged = r["paths"].as_array().unwrap().len();
    assert!(judged < 20, "{judged}");
    let xml = std::fs::read_to_string(&j).unwrap();
    assert!(
        xml.contains("<property name=\"interrupted\" value=\"true\"/>"),
        "{xml}"
    );
    assert!(
        xml.contains("<property name=\"stopped_by\" value=\"sigint\"/>"),
        "{xml}"
    );
    assert_eq!(xml.matches("<testcase ").count(), judged, "{xml}");
}

/// A failing pair of a path that should be open says which rule would
/// open it (`to_open`): the rule, added as written to the NSG it names,
/// opens it (here the whole path: both workers are in that NSG and the
/// rule's destination is the one API endpoint). Only the path's first
/// failing pair carries it.
#[test]
fn a_failing_pair_names_the_rule_that_opens_it_and_that_rule_does() {
    let base = oke_text();
    let at = base.find("name = \"nodes-nsg\"").unwrap();
    let (head, tail) = base.split_at(at);
    let rule = "  { direction = \"EGRESS\", protocol = \"6\", destination = \"api-nsg\", destination_type = \"NETWORK_SECURITY_GROUP\", tcp_options = { destination_port_range = { min = 6443, max = 6443 } } },\n";
    let broken = format!("{head}{}", tail.replacen(rule, "", 1));
    let r = run(&broken, &expect_text());
    let p = r.paths.iter().find(|p| !p.ok).unwrap();
    assert_eq!(p.failed_pairs, 2);
    let f = &p.failed[0];
    assert_eq!(f.to_open.len(), 1, "{:?}", f.to_open);
    let hint = &f.to_open[0];
    let prefix = "egress-security: add to NSG `nodes-nsg`: ";
    assert!(hint.starts_with(prefix), "{hint}");
    assert!(p.failed[1].to_open.is_empty(), "{:?}", p.failed[1].to_open);
    // Applied as written, in place of the rule removed: every path passes
    // again.
    let fixed = format!(
        "{head}{}",
        tail.replacen(rule, &format!("  {},\n", &hint[prefix.len()..]), 1)
    );
    let r = run(&fixed, &expect_text());
    assert_eq!(failed(&r), set(&[]));
    // A path that should be closed gets no hint.
    assert!(
        r.paths
            .iter()
            .filter(|p| p.expect == verify::Expect::Deny)
            .flat_map(|p| &p.failed)
            .all(|f| f.to_open.is_empty())
    );
}

#[test]
fn a_pair_zpr_blocks_names_the_statement_that_opens_it_and_that_statement_does() {
    let base = oke_text();
    let stmt = "  \"in network.vcn:backend VCN allow app.role:oke-node endpoints to connect to app.role:k8s-api endpoints with protocol='tcp/6443'\",    # 0\n";
    assert!(base.contains(stmt));
    let broken = base.replacen(stmt, "", 1);
    let r = run(&broken, &expect_text());
    let p = r.paths.iter().find(|p| !p.ok).unwrap();
    let f = &p.failed[0];
    assert_eq!(f.stage, Some(zprsim_control::verdict::Stage::Zpr), "{f:?}");
    assert_eq!(f.to_open.len(), 1, "{:?}", f.to_open);
    let hint = &f.to_open[0];
    let prefix = "zpr: add to ZPR policy `oke-cluster` (in scenario.toml): \"";
    let text = hint
        .strip_prefix(prefix)
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{hint}"));
    // As narrow as the witness: its roles and its one port.
    assert!(
        text.contains("oke-node") && text.contains("k8s-api"),
        "{text}"
    );
    assert!(text.ends_with("with protocol='tcp/6443'"), "{text}");
    // Added to the policy as written, in place of the statement removed:
    // every path passes again.
    let fixed = base.replacen(stmt, &format!("  \"{text}\",\n"), 1);
    let r = run(&fixed, &expect_text());
    assert_eq!(failed(&r), set(&[]));
}

#[test]
fn a_zpr_hint_for_an_unattributed_peer_names_it_by_its_address() {
    // The legacy subnet's statement removed: its hosts carry no attribute,
    // so the hint names the one host of the witness, in the policy whose
    // statements name the attributed side (written in a `.zpl` file).
    let base = oke_text();
    let stmt = "  \"in network.vcn:backend VCN allow '10.0.20.0/24' to connect to app.workload:orders-api endpoints with protocol='tcp/8080'\",          # 0\n";
    assert!(base.contains(stmt));
    let broken = base.replacen(stmt, "", 1);
    let r = run(&broken, &expect_text());
    let p = r
        .paths
        .iter()
        .find(|p| p.name == "legacy-to-orders-api")
        .unwrap();
    assert!(!p.ok);
    let f = &p.failed[0];
    assert_eq!(f.to_open.len(), 1, "{:?}", f.to_open);
    let prefix = "zpr: add to ZPR policy `orders` (in policies/orders.zpl): \"";
    let text = f.to_open[0]
        .strip_prefix(prefix)
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{}", f.to_open[0]));
    assert!(text.contains(&format!("'{}/32'", f.src)), "{text}");
    // Appended to that file as written: the legacy VM reaches orders-api
    // again, and every other path still passes.
    let dir = orders_zpl_with(&format!("{}\n{text}\n", orders_zpl()));
    let r = run_from(dir.path(), &broken, &expect_text());
    assert_eq!(failed(&r), set(&[]));
}

#[test]
fn the_audit_witness_names_the_statement_that_keeps_the_path_open_once_enforced() {
    // The rollout: billing's attribute in audit mode, the legacy VM still
    // calls billing. verify names the first pair that enforcing would deny
    // and the statement that keeps it open; with that statement in the
    // policy file it names, billing enforced, every path passes.
    let (expect, audit) = billing_in_audit();
    let r = run(&audit, &expect);
    let p = r
        .paths
        .iter()
        .find(|p| p.name == "legacy-to-billing")
        .unwrap();
    assert!(p.ok);
    let w = p.audit_witness.as_ref().unwrap_or_else(|| panic!("{p:?}"));
    assert_eq!(w.packet, "tcp 10.0.20.10:49152 -> 10.0.10.21:8080");
    assert!(w.rule.starts_with("zpr AUDIT_WOULD_DENY"), "{}", w.rule);
    assert_eq!(w.to_open.len(), 1, "{w:?}");
    let prefix = "zpr: add to ZPR policy `orders` (in policies/orders.zpl): \"";
    let text = w.to_open[0]
        .strip_prefix(prefix)
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{}", w.to_open[0]));
    // A path judged on the network layers only gets the witness, no hint.
    for q in r.paths.iter().filter(|q| q.scope == verify::Scope::Network) {
        if let Some(w) = &q.audit_witness {
            assert!(w.to_open.is_empty(), "{}: {w:?}", q.name);
        }
    }
    // Paths with nothing to deny have no witness.
    assert!(
        r.paths
            .iter()
            .all(|q| (q.audit_would_deny > 0) == q.audit_witness.is_some())
    );
    let dir = orders_zpl_with(&format!("{}\n{text}\n", orders_zpl()));
    // Enforced (the example as it is) without the statement: the path
    // fails; with it: every path passes.
    assert_eq!(
        failed(&run(&oke_text(), &expect)),
        set(&["legacy-to-billing"])
    );
    let r = run_from(dir.path(), &oke_text(), &expect);
    assert_eq!(failed(&r), set(&[]));
}

#[test]
fn a_zpr_hint_covers_what_the_path_stands_for_not_the_witness_alone() {
    // Two statements of the orders policy removed: the internet's to the
    // load balancer (the path's `internet` is one stand-in address) and
    // the NFS one (a port range). The hints must name every address and
    // every port of the paths, not the witness's: a statement for the
    // stand-in or one port would let verify pass while the path stays
    // closed. Added back as written, every path passes.
    let zpl = orders_zpl();
    let lb = "in network.vcn:backend VCN allow '0.0.0.0/0' to connect to app.workload:orders-lb endpoints\n    with protocol='tcp/443'\n";
    let nfs = "in network.vcn:backend VCN allow app.workload:orders-api endpoints to connect to storage.dataset:orders-fss endpoints with protocol='tcp/2049-2050'\n";
    assert!(zpl.contains(lb) && zpl.contains(nfs));
    let broken = zpl.replacen(lb, "", 1).replacen(nfs, "", 1);
    let dir = orders_zpl_with(&broken);
    let r = run_from(dir.path(), &oke_text(), &expect_text());
    assert_eq!(
        failed(&r),
        set(&["customers-to-lb-https", "orders-api-to-nfs"])
    );
    let mut added = broken.clone();
    for p in r.paths.iter().filter(|p| !p.ok) {
        let hints: Vec<&String> = p.failed[0]
            .to_open
            .iter()
            .filter(|h| h.starts_with("zpr: "))
            .collect();
        assert_eq!(hints.len(), 1, "{}: {:?}", p.name, p.failed[0].to_open);
        let text = hints[0]
            .split_once(": \"")
            .unwrap()
            .1
            .strip_suffix('"')
            .unwrap();
        match p.name.as_str() {
            "customers-to-lb-https" => assert!(
                text.contains("allow '0.0.0.0/0' to connect to") && text.ends_with("'tcp/443'"),
                "{text}"
            ),
            _ => assert!(text.ends_with("protocol='tcp/2049-2050'"), "{text}"),
        }
        added.push_str(&format!("{text}\n"));
    }
    let dir = orders_zpl_with(&added);
    assert_eq!(
        failed(&run_from(dir.path(), &oke_text(), &expect_text())),
        set(&[])
    );
}

/// Hints naming a value or a name that holds `"` or `\` paste into the
/// scenario as written: the statement as a TOML string (`\"`, `\\`), the
/// attribute inside it quoted as ZPL quotes it, the NSG name of a rule as
/// a TOML string. Before, they were written raw between `"` and broke the
/// scenario they were pasted into.
#[test]
fn hints_with_quotes_and_backslashes_paste_as_written() {
    let base = oke_text();
    // The API endpoint's role with a double quote and a backslash
    // (TOML-escaped here).
    let role = "value = \"k8s-api\"";
    assert_eq!(base.matches(role).count(), 1);
    let odd = base.replacen(role, "value = \"k8s\\\"api\\\\x\"", 1);
    // ZPR: the statement for worker -> API on 6443 removed.
    let stmt = "  \"in network.vcn:backend VCN allow app.role:oke-node endpoints to connect to app.role:k8s-api endpoints with protocol='tcp/6443'\",    # 0\n";
    assert!(odd.contains(stmt));
    let broken = odd.replacen(stmt, "", 1);
    let r = run(&broken, &expect_text());
    let hint = r
        .paths
        .iter()
        .flat_map(|p| &p.failed)
        .flat_map(|f| &f.to_open)
        .find(|h| h.starts_with("zpr: ") && h.contains("6443"))
        .unwrap_or_else(|| panic!("no ZPR hint for 6443: {r:?}"))
        .clone();
    assert!(hint.contains(r#"'app.role:k8s\"api\\x'"#), "{hint}");
    let (_, text) = hint.split_once("(in scenario.toml): ").unwrap();
    let fixed = broken.replacen(
        "statements = [\n",
        &format!("statements = [\n  {text},\n"),
        1,
    );
    let after = run(&fixed, &expect_text());
    let still = after
        .paths
        .iter()
        .flat_map(|p| &p.failed)
        .flat_map(|f| &f.to_open)
        .any(|h| h == &hint);
    assert!(!still, "the hint applied as written did not open its pair");

    // A security rule naming the service label `osn"all\x`: the rules to
    // the label removed, the hint added as written where it says.
    let label = "all-iad-services-in-oracle-services-network";
    let odd = base.replace(label, "osn\\\"all\\\\x");
    let broken: String = odd
        .lines()
        .filter(|l| !(l.contains("protocol = ") && l.contains("SERVICE_CIDR_BLOCK")))
        .map(|l| format!("{l}\n"))
        .collect();
    let expect = "[[path]]\nname = \"to-osn\"\nfrom = \"vnic:worker-1\"\nto = \"service:osn\\\"all\\\\x\"\nproto = \"tcp\"\ndport = 8443\nexpect = \"allow\"\n";
    let r = run(&broken, expect);
    assert_eq!(failed(&r), set(&["to-osn"]));
    let hints = &r.paths[0].failed[0].to_open;
    let hint = hints
        .iter()
        .find(|h| !h.starts_with("zpr: "))
        .unwrap_or_else(|| panic!("no hint: {r:?}"));
    assert!(hint.contains(r#"destination = "osn\"all\\x""#), "{hint}");
    // `...: add to NSG `N`: RULE` or `...: add to security list `L`
    // (egress_security_rules): RULE`.
    let (_, rest) = hint.split_once(": add to ").unwrap();
    let (_, rest) = rest.split_once('`').unwrap();
    let (name, rest) = rest.split_once('`').unwrap();
    let (key, rule) = match rest.strip_prefix(": ") {
        Some(rule) => ("rules", rule),
        None => rest
            .strip_prefix(" (")
            .and_then(|r| r.split_once("): "))
            .unwrap(),
    };
    let at = broken.find(&format!("name = \"{name}\"")).unwrap();
    let at = at + broken[at..].find(&format!("{key} = [")).unwrap() + key.len() + 4;
    let mut fixed = broken.clone();
    fixed.insert_str(at, &format!("\n  {rule},"));
    // ZPR's statement too, when the path needs one.
    for h in hints.iter().filter(|h| h.starts_with("zpr: ")) {
        let (_, text) = h.split_once("(in scenario.toml): ").unwrap();
        fixed = fixed.replacen(
            "statements = [\n",
            &format!("statements = [\n  {text},\n"),
            1,
        );
    }
    assert_eq!(failed(&run(&fixed, expect)), set(&[]));
}

/// `hints` applied as written: a rule into the `rules` of the NSG it names
/// or the array of the security list it names (in `scenario`), a ZPL
/// statement appended to `zpl` (the `orders` policy's file). How many.
fn apply_as_written(scenario: &mut String, zpl: &mut String, hints: &[String]) -> usize {
    for hint in hints {
        if let Some((_, stmts)) = hint.split_once("(in policies/orders.zpl): ") {
            for st in stmts.split(" and ") {
                let st = st.strip_prefix('"').and_then(|t| t.strip_suffix('"'));
                zpl.push_str(&format!("\n{}\n", st.unwrap_or_else(|| panic!("{hint}"))));
            }
            continue;
        }
        let (_, rest) = hint
            .split_once(": add to ")
            .unwrap_or_else(|| panic!("{hint}"));
        let (name, rest) = rest
            .split_once('`')
            .and_then(|(_, r)| r.split_once('`'))
            .unwrap_or_else(|| panic!("{hint}"));
        let (key, rule) = match rest.strip_prefix(": ") {
            // A route hint may name other gateways that would do too.
            Some(rule) if hint.starts_with("route: ") => (
                "route_rules",
                rule.split_once(" (or through ").map_or(rule, |(r, _)| r),
            ),
            Some(rule) => ("rules", rule),
            None => rest
                .strip_prefix(" (")
                .and_then(|r| r.split_once("): "))
                .unwrap_or_else(|| panic!("{hint}")),
        };
        let at = scenario.find(&format!("name = \"{name}\"")).unwrap();
        let open = format!("{key} = [");
        let at = at + scenario[at..].find(&open).unwrap() + open.len();
        scenario.insert_str(at, &format!("\n  {rule},"));
    }
    hints.len()
}

/// A path from a subnet whose VNICs sit in two NSGs, and a path into it:
/// the first failing pair's hints open the pairs of its own NSG only (the
/// user met the billing pod's pair on the next run), and until this
/// session each named the pair's own address (a round per VNIC). Now the
/// subnet side is the subnet's CIDR, the list is the one only the legacy
/// subnet has, and the path's `to_open` opens every pair: applied as
/// written once, with every failing path's (the example's paths whose
/// rules name `pods-nsg` as a peer fail too), every path passes.
#[test]
fn a_path_from_a_subnet_of_several_nsgs_is_opened_by_its_hints_in_one_round() {
    // The billing pod moved into an NSG of its own, a copy of `pods-nsg`.
    let base = oke_text();
    let (i, j) = (
        base.find("[[nsg]]\nname = \"pods-nsg\"").unwrap(),
        base.find("[[nsg]]\nname = \"fss-nsg\"").unwrap(),
    );
    let billing_nsg = base[i..j].replace("name = \"pods-nsg\"", "name = \"billing-nsg\"");
    let mut scenario = format!("{}{billing_nsg}{}", &base[..j], &base[j..]).replacen(
        "private_ips = [\"10.0.10.21\"]\nnsgs = [\"pods-nsg\"]",
        "private_ips = [\"10.0.10.21\"]\nnsgs = [\"billing-nsg\"]",
        1,
    );
    assert!(scenario.contains("nsgs = [\"billing-nsg\"]"));
    let expect = format!(
        "{}\n[[path]]\nname = \"legacy-to-pods-9100\"\nfrom = \"vnic:legacy-vm\"\nto = \"subnet:pods\"\nproto = \"tcp\"\ndport = 9100\nexpect = \"allow\"\n\n[[path]]\nname = \"pods-to-legacy-5432\"\nfrom = \"subnet:pods\"\nto = \"vnic:legacy-vm\"\nproto = \"tcp\"\ndport = 5432\nexpect = \"allow\"\nscope = \"network\"\n",
        expect_text()
    );
    let mut zpl = orders_zpl();
    let dir = orders_zpl_with(&zpl);
    let r = run_from(dir.path(), &scenario, &expect);
    // The new paths, and the example's paths whose rules name `pods-nsg`
    // as a peer (the billing pod left it).
    let failing = failed(&r);
    assert!(failing.contains("oke/pods-to-pods-tcp"), "{failing:?}");
    let mut whole = Vec::new();
    for p in r.paths.iter().filter(|p| !p.ok) {
        assert_eq!(
            (p.to_open_checked, p.to_open_left),
            (p.failed_pairs, 0),
            "{p:?}"
        );
        whole.extend(p.to_open.iter().cloned());
    }
    for name in ["legacy-to-pods-9100", "pods-to-legacy-5432"] {
        let p = r.paths.iter().find(|p| p.name == name).unwrap();
        assert_eq!(p.failed_pairs, 3, "{p:?}");
        // More than the first pair's: the billing pod's NSG needs its own.
        assert!(p.to_open.len() > p.failed[0].to_open.len(), "{p:?}");
        assert!(
            p.to_open.iter().any(|h| h.contains("NSG `billing-nsg`")),
            "{:?}",
            p.to_open
        );
    }
    // The pods subnet named by its CIDR, in the list only the legacy
    // subnet has.
    assert!(
        whole.iter().any(|h| h.starts_with(
            "ingress-security: add to security list `legacy-sl` (ingress_security_rules): { protocol = \"6\", source = \"10.0.10.0/24\""
        )),
        "{whole:?}"
    );
    // The first pairs' hints alone leave the billing pod's pairs closed.
    let (mut first_s, mut first_z) = (scenario.clone(), zpl.clone());
    let firsts: Vec<String> = r
        .paths
        .iter()
        .filter(|p| !p.ok)
        .flat_map(|p| p.failed[0].to_open.clone())
        .collect();
    apply_as_written(&mut first_s, &mut first_z, &firsts);
    let d = orders_zpl_with(&first_z);
    let still = failed(&run_from(d.path(), &first_s, &expect));
    assert!(
        still.contains("legacy-to-pods-9100") && still.contains("pods-to-legacy-5432"),
        "{still:?}"
    );
    // The whole paths' hints: one round, every path passes.
    assert!(apply_as_written(&mut scenario, &mut zpl, &whole) > 0);
    let d = orders_zpl_with(&zpl);
    assert_eq!(failed(&run_from(d.path(), &scenario, &expect)), set(&[]));
}

/// A ZPR statement names an attribute, so it opens every VNIC that carries
/// it: the hint for one orders pod to the legacy database opens the other
/// pod too, which the expectations say must stay closed (the security
/// rules already let the pods subnet through; ZPR held it). Each path's
/// hint is proved on its own; `hints_together` adds them all and judges
/// every path again, and says the hints would open the closed path, in
/// `--json` and in text.
#[test]
fn hints_that_would_open_a_path_that_must_stay_closed_are_flagged() {
    let base = oke_text();
    let at = base.find("name = \"legacy-sl\"").unwrap();
    let (head, tail) = base.split_at(at);
    let scenario = format!(
        "{head}{}",
        tail.replacen(
            "ingress_security_rules = []",
            "ingress_security_rules = [{ protocol = \"6\", source = \"10.0.10.0/24\", tcp_options = { destination_port_range = { min = 5432, max = 5432 } } }]",
            1
        )
    );
    let at = scenario.find("name = \"pods-nsg\"").unwrap();
    let (head, tail) = scenario.split_at(at);
    let scenario = format!(
        "{head}{}",
        tail.replacen(
            "rules = [\n",
            "rules = [\n  { direction = \"EGRESS\", protocol = \"6\", destination = \"10.0.20.10/32\", tcp_options = { destination_port_range = { min = 5432, max = 5432 } } },\n",
            1
        )
    );
    let path = |name: &str, from: &str, expect: &str| {
        format!(
            "\n[[path]]\nname = \"{name}\"\nfrom = \"vnic:{from}\"\nto = \"vnic:legacy-vm\"\nproto = \"tcp\"\ndport = 5432\nexpect = \"{expect}\"\n"
        )
    };
    let expect = format!(
        "{}{}{}",
        expect_text(),
        path("pod-1-to-db", "orders-api-pod-1", "allow"),
        path("pod-2-not-to-db", "orders-api-pod-2", "deny")
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("policies")).unwrap();
    std::fs::write(d.join("policies/orders.zpl"), orders_zpl()).unwrap();
    std::fs::write(d.join("scenario.toml"), &scenario).unwrap();
    std::fs::write(d.join("expect.toml"), &expect).unwrap();
    let o = crate::support::run_in(d, ["verify", "scenario.toml", "expect.toml", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let failing: Vec<&str> = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ok"] == false)
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["pod-1-to-db"], "{v}");
    let h = &v["hints_together"];
    assert_eq!(h["hints"], 1, "{v}");
    assert_eq!(h["still_failing"], Value::Array(vec![]), "{v}");
    assert_eq!(h["opened"], serde_json::json!(["pod-2-not-to-db"]), "{v}");
    // What it says is so: the hint applied as written opens the pod-1
    // path and the pod-2 one.
    let hint = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "pod-1-to-db")
        .unwrap()["to_open"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut s2, mut zpl) = (scenario.clone(), orders_zpl());
    apply_as_written(&mut s2, &mut zpl, &[hint]);
    let after = run_from(orders_zpl_with(&zpl).path(), &s2, &expect);
    assert_eq!(failed(&after), set(&["pod-2-not-to-db"]));
    let o = crate::support::run_in(d, ["verify", "scenario.toml", "expect.toml"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("WARNING: they would open 1 path(s) that should be closed: pod-2-not-to-db"),
        "{text}"
    );
    // The example as it is: nothing to hint, no `hints_together`.
    let o = crate::support::run_in(
        root(),
        [
            "verify",
            "examples/oke-orders/scenario.toml",
            "examples/oke-orders/expect.toml",
            "--json",
        ],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.get("hints_together").is_none(), "{v}");
}

/// A route table missing its default route (the private subnets' NAT
/// route, the public subnet's internet gateway): `verify` names the route
/// rule that opens each path, in the table the lookup used (the source
/// VNIC's, or for a packet from outside, the destination's: the return
/// path), through a gateway of the VCN that opens it; applied as written,
/// every path passes again. Before, a route drop had no hint.
#[test]
fn a_route_drop_names_the_route_rule_that_opens_it_and_that_rule_does() {
    let base = oke_text();
    let nat = "  { destination = \"0.0.0.0/0\", network_entity = \"natgw\" },\n";
    let igw = "  { destination = \"0.0.0.0/0\", network_entity = \"igw\" },\n";
    assert!(base.contains(nat) && base.contains(igw));
    // A local peering gateway beside them (QA round nine): the internet's
    // return path is no peering's, so the public table's hint names the
    // internet gateway alone (it said "(or through `lpg`)").
    let gw = "[[gateway]]\nname = \"igw\"\n";
    assert!(base.contains(gw));
    let mut scenario = base.replacen(nat, "", 1).replacen(igw, "", 1).replacen(
        gw,
        &format!("[[gateway]]\nname = \"lpg\"\nvcn = \"backend-vcn\"\nkind = \"lpg\"\n\n{gw}"),
        1,
    );
    let expect = format!(
        "{}\n[[path]]\nname = \"workers-out-443\"\nfrom = \"subnet:workers\"\nto = \"internet\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\nscope = \"network\"\n",
        expect_text()
    );
    let r = run(&scenario, &expect);
    assert_eq!(
        failed(&r),
        set(&["customers-to-lb-https", "workers-out-443"])
    );
    let mut hints = Vec::new();
    for p in r.paths.iter().filter(|p| !p.ok) {
        assert_eq!(
            p.failed[0].stage,
            Some(zprsim_control::verdict::Stage::Route)
        );
        assert_eq!(p.to_open_left, 0, "{p:?}");
        hints.extend(p.to_open.iter().cloned());
    }
    assert!(
        hints.contains(
            // `workers` is a private subnet (`prohibit_public_ip`): an
            // internet gateway does not carry it (it offered "(or through
            // `igw`)" before the fifteenth session).
            &"route: add to route table `private-rt`: { destination = \"0.0.0.0/0\", network_entity = \"natgw\" }".to_owned()
        ),
        "{hints:?}"
    );
    assert!(
        hints.contains(
            &"route: add to route table `public-rt`: { destination = \"0.0.0.0/0\", network_entity = \"igw\" }".to_owned()
        ),
        "{hints:?}"
    );
    let mut zpl = orders_zpl();
    apply_as_written(&mut scenario, &mut zpl, &hints);
    let after = run_from(orders_zpl_with(&zpl).path(), &scenario, &expect);
    assert_eq!(failed(&after), set(&[]));
}

/// A dual-stack tenancy (QA, round eight): the client reaches the audited
/// web server over IPv4 and IPv6, so enforcing would deny two pairs. The
/// audit witness's statement names the IPv4 client only; applied and
/// enforced, the IPv6 pair failed. The path's `to_keep_open` keeps every
/// audited pair open: applied as written, then the attribute enforced,
/// the path passes.
#[test]
fn what_keeps_a_path_open_once_enforced_covers_every_audited_pair() {
    let scenario = r#"name = "mytenant"

[[vcn]]
name = "app-vcn"
cidr_blocks = ["10.1.0.0/16", "fd00:1::/48"]
security_attributes = { network = { vcn = { value = "app" } } }

[[route_table]]
name = "rt"
vcn = "app-vcn"
route_rules = []

[[security_list]]
name = "open-sl"
vcn = "app-vcn"
ingress_security_rules = [
  { protocol = "all", source = "10.1.0.0/16" },
  { protocol = "all", source = "fd00:1::/48" },
]
egress_security_rules = [
  { protocol = "all", destination = "0.0.0.0/0" },
  { protocol = "all", destination = "::/0" },
]

[[subnet]]
name = "web"
vcn = "app-vcn"
cidr_block = "10.1.1.0/24"
ipv6_cidr_blocks = ["fd00:1:0:1::/64"]
route_table = "rt"
security_lists = ["open-sl"]

[[vnic]]
name = "web-1"
subnet = "web"
private_ips = ["10.1.1.10", "fd00:1:0:1::10"]
security_attributes = { app = { role = { value = "web", mode = "audit" } } }

[[vnic]]
name = "client-1"
subnet = "web"
private_ips = ["10.1.1.20", "fd00:1:0:1::20"]

[[zpr_policy]]
name = "app"
file = "app.zpl"
"#;
    let expect = "[[path]]\nname = \"client-to-web\"\nfrom = \"vnic:client-1\"\nto = \"attr:app.role:web\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n";
    let zpl = "in network.vcn:app VCN allow app.role:web endpoints to connect to app.role:web endpoints with protocol='tcp/8443'\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.zpl"), zpl).unwrap();
    let r = run_from(dir.path(), scenario, expect);
    let p = &r.paths[0];
    assert!(p.ok);
    assert_eq!(p.audit_would_deny, 2);
    let w = p.audit_witness.as_ref().unwrap();
    assert_eq!(w.to_open.len(), 1, "{w:?}");
    assert_eq!(
        (p.to_keep_open_checked, p.to_keep_open_left),
        (2, 0),
        "{p:?}"
    );
    assert_eq!(p.to_keep_open.len(), 2, "{:?}", p.to_keep_open);
    assert_eq!(p.to_keep_open[0], w.to_open[0]);
    let statement = |h: &str| {
        h.split_once("(in app.zpl): \"")
            .and_then(|(_, t)| t.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{h}"))
            .to_owned()
    };
    let enforced = scenario.replace("mode = \"audit\"", "mode = \"enforce\"");
    let with = |hints: &[String]| {
        let text: String = hints.iter().map(|h| statement(h) + "\n").collect();
        std::fs::write(dir.path().join("app.zpl"), format!("{zpl}{text}")).unwrap();
        run_from(dir.path(), &enforced, expect).paths[0].failed_pairs
    };
    // The witness's statement alone leaves the IPv6 pair denied; the
    // path's keeps both open.
    assert_eq!(with(&w.to_open), 1);
    assert_eq!(with(&p.to_keep_open), 0);
}

/// A path that passes today but that enforcing `audit` attributes would
/// deny was an empty, passing `<testcase>` in the JUnit report (QA round
/// eight): a CI gate on the rollout did not see it. Its case now carries
/// the note, the witness and what keeps it open in `<system-out>` (and
/// still passes: it is open today).
#[test]
fn junit_says_what_enforcing_audit_would_deny() {
    let (expect, audit) = billing_in_audit();
    let dir = orders_zpl_with(&orders_zpl());
    let d = dir.path();
    std::fs::write(d.join("scenario.toml"), &audit).unwrap();
    std::fs::write(d.join("expect.toml"), &expect).unwrap();
    let o = crate::support::run_in(
        d,
        ["verify", "scenario.toml", "expect.toml", "--junit", "j.xml"],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let xml = std::fs::read_to_string(d.join("j.xml")).unwrap();
    let cases = check_junit(&xml);
    assert_eq!(cases.get("legacy-to-billing"), Some(&None), "{xml}");
    let at = xml.find("name=\"legacy-to-billing\"").unwrap();
    let case = &xml[at..at + xml[at..].find("</testcase>").unwrap()];
    assert!(
        case.contains("<system-out>")
            && case.contains("would be denied once `audit` attributes are enforced")
            && case.contains("to keep it open: zpr: add to ZPR policy `orders`"),
        "{case}"
    );
}

/// The example with billing and orders-api-pod-1 in audit, pod-2
/// enforced, in a directory (`scenario.toml`, `policies/orders.zpl`,
/// `expect.toml`): every path passes today, and the statement that keeps
/// pod-1 -> billing open opens pod-2 -> billing, expected closed.
fn keep_open_opens_a_closed_path() -> (tempfile::TempDir, String, &'static str) {
    let scenario = oke_text()
        .replacen(
            "value = \"billing\" } } }",
            "value = \"billing\", mode = \"audit\" } } }",
            1,
        )
        .replacen(
            "value = \"orders-api\", mode = \"enforce\"",
            "value = \"orders-api\", mode = \"audit\"",
            1,
        );
    assert_ne!(scenario, oke_text());
    let expect = "[[path]]\nname = \"pod1-to-billing\"\nfrom = \"vnic:orders-api-pod-1\"\nto = \"vnic:billing-pod-1\"\nproto = \"tcp\"\ndport = 8080\nexpect = \"allow\"\n\n[[path]]\nname = \"pod2-not-billing\"\nfrom = \"vnic:orders-api-pod-2\"\nto = \"vnic:billing-pod-1\"\nproto = \"tcp\"\ndport = 8080\nexpect = \"deny\"\n";
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("policies")).unwrap();
    std::fs::write(d.join("policies/orders.zpl"), orders_zpl()).unwrap();
    std::fs::write(d.join("scenario.toml"), &scenario).unwrap();
    std::fs::write(d.join("expect.toml"), expect).unwrap();
    (dir, scenario, expect)
}

/// The statements that keep a path open once `audit` attributes are
/// enforced (`to_keep_open`) are pasted today, in a rollout: they are
/// judged together with every path's hints too. Here billing and
/// orders-api-pod-1 are in audit, pod-2 enforced; "keep pod-1 -> billing
/// open" names `app.workload:orders-api`, which opens pod-2 -> billing,
/// a path that must stay closed. Before (QA round nine), `verify` passed
/// with no warning, and the statement pasted made the next run fail.
#[test]
fn statements_that_keep_a_path_open_are_judged_together_with_the_hints() {
    let (dir, scenario, expect) = keep_open_opens_a_closed_path();
    let d = dir.path();
    let o = crate::support::run_in(d, ["verify", "scenario.toml", "expect.toml", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let keep = v["paths"][0]["to_keep_open"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!keep.is_empty(), "{v}");
    assert_eq!(
        v["hints_together"]["opened"],
        serde_json::json!(["pod2-not-billing"]),
        "{v}"
    );
    // What it says is so: the statement pasted as written opens pod-2.
    let hints: Vec<String> = keep
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    let (mut s2, mut zpl) = (scenario.clone(), orders_zpl());
    apply_as_written(&mut s2, &mut zpl, &hints);
    let after = run_from(orders_zpl_with(&zpl).path(), &s2, expect);
    assert_eq!(failed(&after), set(&["pod2-not-billing"]));
}

/// `--fail-on-hints-open`: a CI gate on a rollout fails where every
/// path passes today but the hints together (here the statement that
/// keeps pod-1 -> billing open) would open a path expected closed.
/// Without the flag the run passes as before (exit 0, no new field, no
/// new test case); with it, exit 1, `fail_on_hints_open` in the JSON says
/// why, and JUnit has a failing case for it. Before the flag (the
/// fifteenth session's planning list) the only word was the warning.
#[test]
fn fail_on_hints_open_fails_a_run_whose_hints_together_open_a_closed_path() {
    let (dir, _, _) = keep_open_opens_a_closed_path();
    let d = dir.path();
    let plain = crate::support::run_in(d, ["verify", "scenario.toml", "expect.toml", "--json"]);
    assert_eq!(plain.status.code(), Some(0), "{plain:?}");
    let v: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(v["failed"], 0, "{v}");
    assert!(v.get("fail_on_hints_open").is_none(), "{v}");
    let o = crate::support::run_in(
        d,
        [
            "verify",
            "scenario.toml",
            "expect.toml",
            "--json",
            "--junit",
            "out.xml",
            "--fail-on-hints-open",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    // The paths themselves still pass: the gate is its own reason.
    assert_eq!(v["failed"], 0, "{v}");
    let g = &v["fail_on_hints_open"];
    assert_eq!(g["failed"], true, "{v}");
    assert_eq!(g["opened"], serde_json::json!(["pod2-not-billing"]), "{v}");
    assert!(
        g["why"].as_str().unwrap().contains("pod2-not-billing"),
        "{v}"
    );
    let xml = std::fs::read_to_string(d.join("out.xml")).unwrap();
    assert!(xml.contains("tests=\"3\" failures=\"1\""), "{xml}");
    let at = xml.find("classname=\"verify.fail-on-hints-open\"").unwrap();
    let case = &xml[at..at + xml[at..].find("</testcase>").unwrap()];
    assert!(
        case.contains("<failure") && case.contains("pod2-not-billing"),
        "{case}"
    );
    // The summary says it too.
    let t = crate::support::run_in(
        d,
        [
            "verify",
            "scenario.toml",
            "expect.toml",
            "--fail-on-hints-open",
        ],
    );
    assert_eq!(t.status.code(), Some(1), "{t:?}");
    let text = String::from_utf8_lossy(&t.stdout);
    assert!(
        text.contains("--fail-on-hints-open: FAIL:") && text.contains("pod2-not-billing"),
        "{text}"
    );
    // And a run whose hints open nothing passes the gate.
    let ok = crate::support::run_in(
        root().join(OKE_DIR),
        [
            "verify",
            "scenario.toml",
            "expect.toml",
            "--json",
            "--fail-on-hints-open",
        ],
    );
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    let v: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["fail_on_hints_open"]["failed"], false, "{v}");
}

/// A scenario written by `import oci` takes the hints as written: its
/// rule lists are inline arrays, as the examples' (since the fourteenth
/// session). They were arrays of tables (`[[nsg.rules]]`), where the
/// hint's `{ ... }` could not be pasted (a duplicate key), and an
/// `[[nsg.rules]]` block pasted at the file's end joined the last NSG
/// (QA round nine). Two rules removed from the imported example, the
/// hints pasted into the lists they name, every path passes.
#[test]
fn an_imported_scenario_takes_the_hints_as_written() {
    let ranges =
        std::fs::read_to_string(root().join(OKE_DIR).join("oci-public-ip-ranges.json")).unwrap();
    let imported =
        zprsim_control::import::oci::import(&crate::support::oke_export(), Some(&ranges))
            .unwrap()
            .toml;
    let expect = expect_text();
    assert_eq!(failed(&run(&imported, &expect)), set(&[]));
    // The pods' ingress from the load balancer's NSG, and the NAT route.
    let lb_rule = "  { direction = \"INGRESS\", protocol = \"6\", source = \"lb-nsg\", source_type = \"NETWORK_SECURITY_GROUP\", tcp_options = { destination_port_range = { max = 8080, min = 8080 } } },\n";
    let nat = "  { destination = \"0.0.0.0/0\", network_entity = \"natgw\" },\n";
    let mut broken = mutate(&mutate(&imported, lb_rule, ""), nat, "");
    let r = run(&broken, &expect);
    assert!(!failed(&r).is_empty());
    let hints: Vec<String> = r
        .paths
        .iter()
        .filter(|p| !p.ok)
        .flat_map(|p| p.to_open.iter().cloned())
        .collect();
    assert!(!hints.is_empty());
    let mut zpl = String::new();
    apply_as_written(&mut broken, &mut zpl, &hints);
    assert!(zpl.is_empty(), "no ZPR hint: {zpl}");
    assert_eq!(failed(&run(&broken, &expect)), set(&[]));
}

/// A policy whose `.zpl` file holds no statement yet: the hint names the
/// file and is ZPL as it stands, so it pastes into the file. It named the
/// policy alone, with a TOML string, and pasted as `statements` beside
/// `file` the scenario no longer loaded (QA round nine, item B).
#[test]
fn a_hint_for_a_policy_whose_file_is_still_empty_names_the_file() {
    let text = oke_text();
    let scenario = &text[..text.find("# Transitional").unwrap()];
    let expect = "[[path]]\nname = \"lb-to-orders-api\"\nfrom = \"vnic:orders-lb\"\nto = \"attr:app.workload:orders-api\"\nproto = \"tcp\"\ndport = 8080\nexpect = \"allow\"\n";
    let empty = "# orders-api statements: to come\n";
    let dir = orders_zpl_with(empty);
    let r = run_from(dir.path(), scenario, expect);
    assert_eq!(failed(&r), set(&["lb-to-orders-api"]));
    let hints = r.paths[0].to_open.clone();
    assert!(
        hints
            .iter()
            .any(|h| h.starts_with("zpr: add to ZPR policy `orders` (in policies/orders.zpl): \"")),
        "{hints:?}"
    );
    let (mut s2, mut zpl) = (scenario.to_owned(), empty.to_owned());
    apply_as_written(&mut s2, &mut zpl, &hints);
    assert_eq!(s2, scenario, "the hints go to the file");
    let after = run_from(orders_zpl_with(&zpl).path(), &s2, expect);
    assert_eq!(failed(&after), set(&[]));
}

/// QA round ten (C): a subnet with no route table (every stand-in subnet
/// of a partial export has none) drops what leaves its VCN with
/// `NO_ROUTE`, and `verify` gave no hint (a route hint adds a rule to a
/// table) and no word of why: "no rule matches". The reason now says the
/// subnet has no route table and what to do.
#[test]
fn a_route_drop_from_a_subnet_without_a_route_table_says_so() {
    let base = oke_text();
    let pods = "name = \"pods\"\nvcn = \"backend-vcn\"\ncidr_block = \"10.0.10.0/24\"\nroute_table = \"private-rt\"\n";
    assert!(base.contains(pods));
    let scenario = base.replacen(
        pods,
        "name = \"pods\"\nvcn = \"backend-vcn\"\ncidr_block = \"10.0.10.0/24\"\n",
        1,
    );
    let r = run(&scenario, &expect_text());
    let p = r
        .paths
        .iter()
        .find(|p| p.name == "oke/pods-to-osn-tcp")
        .expect("the pack's path");
    assert!(!p.ok);
    let f = &p.failed[0];
    assert_eq!(f.stage, Some(zprsim_control::verdict::Stage::Route));
    assert!(
        f.rule.contains("subnet `pods` has no route table"),
        "{}",
        f.rule
    );
}

/// The review of the fifteenth session: a route hint can close a path that
/// passes today. A route table shared by a public and a private subnet
/// (`prohibit_public_ip`) routes `0.0.0.0/0` to the internet gateway; the
/// private subnet's path to a partner gets a NAT hint for the partner's
/// prefix, which also takes the public subnet's return path from that
/// partner off the internet gateway (a NAT gateway admits replies only).
/// `hints_together` said "every path that should be open passes"; it now
/// judges the passing paths again when a route hint is among the hints,
/// names the path it would close, and `--fail-on-hints-open` fails on it.
#[test]
fn a_route_hint_that_closes_a_passing_path_is_said_and_fails_the_gate() {
    let scenario = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[gateway]]
name = "igw"
vcn = "v"
kind = "internet"
[[gateway]]
name = "nat"
vcn = "v"
kind = "nat"
[[route_table]]
name = "shared"
vcn = "v"
route_rules = [{ destination = "0.0.0.0/0", network_entity = "igw" }]
[[security_list]]
name = "open"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]
[[subnet]]
name = "pub"
vcn = "v"
cidr_block = "10.0.1.0/24"
route_table = "shared"
security_lists = ["open"]
[[subnet]]
name = "priv"
vcn = "v"
cidr_block = "10.0.2.0/24"
route_table = "shared"
security_lists = ["open"]
prohibit_public_ip = true
[[vnic]]
name = "web"
subnet = "pub"
private_ips = ["10.0.1.10"]
[[vnic]]
name = "app"
subnet = "priv"
private_ips = ["10.0.2.10"]
"#;
    let expect = r#"
[[path]]
name = "app-out"
from = "vnic:app"
to = "203.0.113.0/24"
proto = "tcp"
dport = 443
expect = "allow"
[[path]]
name = "partner-in"
from = "203.0.113.0/24"
to = "vnic:web"
proto = "tcp"
dport = 443
expect = "allow"
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), scenario).unwrap();
    std::fs::write(dir.path().join("e.toml"), expect).unwrap();
    let o = crate::support::run_in(dir.path(), ["verify", "s.toml", "e.toml", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(1), "{v}");
    let h = &v["hints_together"];
    assert_eq!(h["closed"], serde_json::json!(["partner-in"]), "{v}");
    let text = crate::support::run_in(dir.path(), ["verify", "s.toml", "e.toml"]);
    let out = String::from_utf8_lossy(&text.stdout);
    assert!(
        out.contains(
            "WARNING: 1 path(s) that should be open and pass today would fail: partner-in"
        ),
        "{out}"
    );
    let gated = crate::support::run_in(
        dir.path(),
        [
            "verify",
            "s.toml",
            "e.toml",
            "--json",
            "--fail-on-hints-open",
        ],
    );
    let g: serde_json::Value = serde_json::from_slice(&gated.stdout).unwrap();
    assert_eq!(g["fail_on_hints_open"]["failed"], true, "{g}");
    assert_eq!(
        g["fail_on_hints_open"]["closed"],
        serde_json::json!(["partner-in"]),
        "{g}"
    );
}

/// A `kind:NAME` selector (item 4 of the twenty-second session): `import
/// oci` sets each VNIC's kind from the export's evidence, so a cluster's
/// roles bind by kind without listing subnets. The OKE example bound by
/// kind (`examples/oke-orders/expect-by-kind.toml`) passes its 36 paths
/// as `expect.toml` does, each with the same pairs; a kind no VNIC has
/// that is not one zprsim knows is an error with its position and the
/// near kind; a known kind no VNIC has matches nothing and fails its
/// path, as an attribute renamed does.
#[test]
fn a_kind_selector_binds_the_oke_roles_by_vnic_kind() {
    let by_kind =
        std::fs::read_to_string(root().join(OKE_DIR).join("expect-by-kind.toml")).unwrap();
    let k = run(&oke_text(), &by_kind);
    let n = run(&oke_text(), &expect_text());
    assert_eq!((k.paths.len(), k.failed, k.skipped), (36, 0, 0), "{k:#?}");
    let pairs = |r: &verify::Report| -> Vec<(String, u64)> {
        r.paths.iter().map(|p| (p.name.clone(), p.pairs)).collect()
    };
    assert_eq!(pairs(&k), pairs(&n));
    let files = FsFiles::new(root().join(OKE_DIR));
    let loaded = load::load_str(&oke_text(), "scenario.toml", Format::Toml, &files).unwrap();
    let s = &loaded.scenario;
    let limits = Limits::default();
    let err = |e: &str| {
        verify::read(s, e, "expect.toml", &files, &limits)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err("[[include]]\npack = \"oke\"\n[include.roles]\nworkers = \"kind:nodes\"\n"),
        "expect.toml:4:11: error: role `workers`: `kind:nodes`: no VNIC is of kind `nodes`; did you mean `kind:node`? (kinds: `instance`, `node`, `pod`, `load-balancer`, `mount-target`, `api-endpoint`, `unknown`)"
    );
    let path = |sel: &str| {
        format!(
            "[[path]]\nname = \"p\"\nfrom = \"{sel}\"\nto = \"vnic:orders-lb\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n"
        )
    };
    let e = err(&path("kind:gpu-box"));
    assert!(
        e.starts_with("expect.toml:3:8: error: ")
            && e.contains("no VNIC is of kind `gpu-box` (kinds:"),
        "{e}"
    );
    assert!(err(&path("kind:loadbalancer")).contains("did you mean `kind:load-balancer`?"));
    // Known, but no VNIC of the example has it: the path fails.
    let r = run(&oke_text(), &path("kind:unknown"));
    assert_eq!(r.failed, 1);
    assert_eq!(
        r.paths[0].error.as_deref(),
        Some("`kind:unknown` matches no endpoint")
    );
    // A pack's role bound by kind, in `from` of a path: the VNICs of it.
    let r = run(&oke_text(), &path("kind:node"));
    assert_eq!(r.paths[0].pairs, 2, "{:?}", r.paths[0]);
}

/// Item 5 of the twenty-second session: each UDP path of the `oke` pack
/// was checked against Oracle's documentation for whether it is request
/// and response (replies required) or may be one-way (flannel's VXLAN,
/// which a VCN-native cluster does not use). None is one-way: all four
/// require their replies, and each says why, naming what answers it.
#[test]
fn the_oke_packs_udp_paths_require_their_replies_and_say_why() {
    let files = FsFiles::new(root().join(OKE_DIR));
    let loaded = load::load_str(&oke_text(), "scenario.toml", Format::Toml, &files).unwrap();
    let paths = verify::read(
        &loaded.scenario,
        &expect_text(),
        "expect.toml",
        &files,
        &Limits::default(),
    )
    .unwrap();
    let udp: Vec<&verify::PathSpec> = paths.iter().filter(|p| p.proto == 17).collect();
    let names: Vec<&str> = udp.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "oke/workers-to-workers-udp",
            "oke/pods-to-pods-udp",
            "oke/fss-udp-111",
            "oke/fss-udp-2048"
        ]
    );
    for p in udp {
        assert!(p.replies, "{}", p.name);
        let why = p.why.as_deref().unwrap_or_default();
        assert!(
            why.contains("request and response") && why.contains("replies required"),
            "{}: {why}",
            p.name
        );
    }
    let pack = std::fs::read_to_string(root().join("packs/oke.toml")).unwrap();
    assert!(
        pack.contains("flannel's\n# VXLAN (udp/8472)"),
        "the pack says why no path is one-way"
    );
}

/// `zprsim import` wrote `kind = "instance"` on every VNIC whose kind the
/// export does not say, so a `kind:instance` selector bound nodes and
/// pods of an export without its node pools (planning: "import loses the
/// VNIC kind"). Now it writes `kind` only where the export says it; a VNIC
/// without it is read as `instance` as before (`kind_said` false), and a
/// `kind:` selector binding such VNICs gets a note in `verify`'s output
/// (`notes` in `--json`, `note:` in the text). The example's own scenario
/// says every kind: no note, and expect-by-kind.toml passes 36 of 36
/// (a_kind_selector_binds_the_oke_roles_by_vnic_kind).
#[test]
fn import_writes_no_kind_without_evidence_and_a_kind_selector_says_so() {
    // The example's export holds no node pool, cluster, mount target or
    // balancer list: no VNIC's kind is said (`import::oke_and_file_storage_
    // objects_give_vnics_their_kinds` adds them: then they are).
    let without = zprsim_control::import::oci::import(&crate::support::oke_export(), None).unwrap();
    let s = load::from_toml_str(&without.toml, "s.toml")
        .unwrap()
        .scenario;
    assert!(!s.vnics.is_empty());
    assert!(
        s.vnics.iter().all(|v| !v.kind_said && v.kind == "instance"),
        "{}",
        without.toml
    );
    assert!(
        !without.toml.contains("kind = \"instance\""),
        "{}",
        without.toml
    );
    let e = "[[path]]\nname = \"vms\"\nfrom = \"kind:instance\"\nto = \"internet\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n";
    let r = run(&without.toml, e);
    let n = &r.paths[0].notes;
    assert_eq!(n.len(), 1, "{:?}", r.paths[0]);
    assert!(
        n[0].starts_with("`kind:instance` binds ")
            && n[0].contains(
                "VNIC(s) whose kind the scenario does not say (`kind` absent, read as `instance`)"
            ),
        "{n:?}"
    );
    // The example's scenario says every kind: no note.
    let r = run(&oke_text(), e);
    assert!(r.paths[0].notes.is_empty(), "{:?}", r.paths[0].notes);
    let v = serde_json::to_value(&r).unwrap();
    assert!(v["paths"][0].get("notes").is_none(), "{v}");
}

/// QA round 23: `verify` of the example's expectations against its own
/// OCI export imported without `--services` (the import warns) failed
/// with "service label `...` has no CIDRs" and no way forward; the
/// message now says why and what to run.
#[test]
fn a_service_role_of_an_import_without_services_says_how_to_give_them() {
    let t = tempfile::tempdir().unwrap();
    let export = crate::support::ex("examples/oke-orders/oci-export");
    let o = crate::support::run_in(t.path(), ["import", "oci", &export, "-o", "s.toml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let expect = crate::support::ex("examples/oke-orders/expect.toml");
    let o = crate::support::run_in(t.path(), ["verify", "s.toml", &expect]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("role `osn`: service label `all-iad-services-in-oracle-services-network` has no CIDRs, so no packet can stand for it")
            && e.contains("import again with `--services RANGES.json`"),
        "{e}"
    );
}
