//! Defects found in the eleventh session's review, as real users would
//! meet them: each test fails on the code before its fix.

use std::net::IpAddr;

use zprsim_control::agree::judge_both;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::packet::Packet;
use zprsim_control::verdict::{Context, Outcome, Stage, Tracking, Verdict};

use crate::support::oke_export;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The OKE export with `key` set to `value` on the one gateway of `file`.
fn export_with(file: &str, key: &str, value: serde_json::Value) -> zprsim_control::import::Files {
    let mut f = oke_export();
    let mut v: serde_json::Value = serde_json::from_str(&f[file]).unwrap();
    v["data"][0][key] = value;
    f.insert(file.into(), v.to_string());
    f
}

/// The route layer's outcome and the judgement of `p` (both engines agree)
/// in the scenario imported from `files`.
fn route_of(
    files: &zprsim_control::import::Files,
    p: &Packet,
    ctx: Context,
) -> (Outcome, Verdict, Option<Stage>) {
    let out = zprsim_control::import::oci::import(files, None).unwrap();
    let s = zprsim_control::load::from_toml_str(&out.toml, "i.toml")
        .unwrap_or_else(|e| panic!("{e}\n{}", out.toml))
        .scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let d = judge_both(&s, &c, p, ctx).unwrap();
    (d.layers[0].outcome, d.judgement.verdict, d.judgement.stage)
}

const REPLY: Context = Context::Reply(Tracking {
    at_src: true,
    at_dst: true,
    zpr: true,
    zpr_audit: true,
});

/// A disabled internet gateway (`is-enabled: false`) and a NAT gateway that
/// blocks traffic (`block-traffic: true`) drop every packet in OCI. The
/// import read neither, so the imported scenario forwarded through them:
/// it allowed what the network drops.
#[test]
fn import_keeps_a_disabled_or_blocking_gateway_closed() {
    // The internet reaches the public load balancer through `igw`.
    let inbound = Packet::tcp(ip("203.0.113.50"), 60001, ip("10.0.1.10"), 443);
    // A pod reaches the internet through `natgw`, and the reply comes back.
    let outbound = Packet::tcp(ip("10.0.10.11"), 41000, ip("93.184.216.34"), 443);
    let cases = [
        (
            "network-internet-gateway-list.json",
            "is-enabled",
            inbound,
            Context::First,
        ),
        (
            "network-internet-gateway-list.json",
            "is-enabled",
            inbound.reversed(),
            REPLY,
        ),
        (
            "network-nat-gateway-list.json",
            "block-traffic",
            outbound,
            Context::First,
        ),
        (
            "network-nat-gateway-list.json",
            "block-traffic",
            outbound.reversed(),
            REPLY,
        ),
    ];
    for (file, key, p, ctx) in cases {
        let open_value = serde_json::json!(key == "is-enabled");
        let open = route_of(&export_with(file, key, open_value.clone()), &p, ctx);
        assert_eq!(
            open.0,
            Outcome::Forwarded,
            "{file} {key}={open_value}: {p} {ctx:?}"
        );
        let mut absent = oke_export();
        let mut v: serde_json::Value = serde_json::from_str(&absent[file]).unwrap();
        v["data"][0].as_object_mut().unwrap().remove(key);
        absent.insert(file.into(), v.to_string());
        assert_eq!(
            route_of(&absent, &p, ctx),
            open,
            "{file}: the key's absence"
        );
        let closed_value = serde_json::json!(key != "is-enabled");
        let closed = route_of(&export_with(file, key, closed_value.clone()), &p, ctx);
        assert_eq!(
            closed,
            (Outcome::NoRoute, Verdict::Drop, Some(Stage::Route)),
            "{file} {key}={closed_value}: {p} {ctx:?}"
        );
    }
    // A value that is not a boolean is read as blocking, with a warning.
    // (The key as the CLI writes it: the committed export has it since
    // the sixteenth session, and the CLI's key is read before the REST
    // API's `blockTraffic`.)
    let f = export_with(
        "network-nat-gateway-list.json",
        "block-traffic",
        serde_json::json!("yes"),
    );
    let out = zprsim_control::import::oci::import(&f, None).unwrap();
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("`block-traffic` is not a boolean")),
        "{:?}",
        out.warnings
    );
    assert_eq!(
        route_of(&f, &outbound, Context::First).2,
        Some(Stage::Route)
    );
}

/// A scenario says so with the fields OCI names; a field of the wrong kind
/// of gateway is a load error at the field.
#[test]
fn scenario_gateway_switches_load_and_are_checked() {
    let base = "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n\n\
                [[gateway]]\nname = \"igw\"\nvcn = \"v\"\nkind = \"internet\"\n\n\
                [[gateway]]\nname = \"natgw\"\nvcn = \"v\"\nkind = \"nat\"\n";
    let with = |from: &str, to: &str| {
        assert!(base.contains(from));
        base.replacen(from, to, 1)
    };
    let igw = "name = \"igw\"\nvcn = \"v\"\nkind = \"internet\"\n";
    let nat = "name = \"natgw\"\nvcn = \"v\"\nkind = \"nat\"\n";
    let load =
        |text: &str| zprsim_control::load::from_toml_str(text, "s.toml").map_err(|e| e.to_string());
    let blocked = |text: &str, name: &str| {
        load(text)
            .unwrap()
            .scenario
            .gateways
            .iter()
            .find(|g| g.name == name)
            .unwrap()
            .blocked
    };
    assert!(!blocked(base, "igw"));
    assert!(blocked(
        &with(igw, &format!("{igw}is_enabled = false\n")),
        "igw"
    ));
    assert!(!blocked(
        &with(igw, &format!("{igw}is_enabled = true\n")),
        "igw"
    ));
    assert!(blocked(
        &with(nat, &format!("{nat}block_traffic = true\n")),
        "natgw"
    ));
    assert!(!blocked(
        &with(nat, &format!("{nat}block_traffic = false\n")),
        "natgw"
    ));
    let e = load(&with(nat, &format!("{nat}is_enabled = false\n"))).unwrap_err();
    assert!(
        e.contains("`is_enabled` is a field of `internet` gateways, not of a `nat` gateway")
            && e.contains("s.toml:"),
        "{e}"
    );
    let e = load(&with(igw, &format!("{igw}block_traffic = true\n"))).unwrap_err();
    assert!(
        e.contains("`block_traffic` is a field of `nat` and `service` gateways"),
        "{e}"
    );
}

/// A copy of the OKE example (scenario, policy file, expectations, flow
/// logs) and the demo capture in a fresh directory.
fn oke_copy() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let from = root.join("examples/oke-orders");
    for dir in ["", "policies", "flowlogs"] {
        std::fs::create_dir_all(t.path().join(dir)).unwrap();
        for e in std::fs::read_dir(from.join(dir)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), t.path().join(dir).join(e.file_name())).unwrap();
            }
        }
    }
    std::fs::copy(root.join("pcaps/oke-demo.pcap"), t.path().join("in.pcap")).unwrap();
    t
}

/// The `.zpl` file a scenario names (`file = "policies/orders.zpl"`) is an
/// input of every command that loads the scenario, but only the files
/// named on the command line were checked: `--report` onto it replaced
/// the policy with a JSON report, and `check s.toml >> policy.zpl`
/// appended to it. Also a pack file an expectations file includes.
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

/// `--node-local` cleared a CIDR's host bits where every other CIDR of
/// zprsim is refused with them: `10.0.0.1/8` (a typo) silently left out
/// every packet of the OKE example's VCN, and the run said 0 packets.
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

/// A local peering gateway whose `peering-status` is not `PEERED` (a new
/// LPG, a revoked or pending peering) carries nothing, but was imported as
/// a peering that forwards to the other VCN.
#[test]
fn import_keeps_an_unpeered_local_peering_gateway_closed() {
    let vcn = "ocid1.vcn.oc1.iad.a";
    let lpg = "ocid1.localpeeringgateway.oc1.iad.l";
    let export = |status: serde_json::Value| -> zprsim_control::import::Files {
        let data = |v: serde_json::Value| serde_json::json!({ "data": v }).to_string();
        let mut f = zprsim_control::import::Files::new();
        f.insert(
            "vcn.json".into(),
            data(serde_json::json!([{"id": vcn, "display-name": "a", "cidr-blocks": ["10.0.0.0/16"]}])),
        );
        f.insert(
            "subnet.json".into(),
            data(serde_json::json!([{"id": "ocid1.subnet.oc1.iad.s", "vcn-id": vcn, "display-name": "s",
                "cidr-block": "10.0.1.0/24", "route-table-id": "ocid1.routetable.oc1.iad.r"}])),
        );
        f.insert(
            "rt.json".into(),
            data(serde_json::json!([{"id": "ocid1.routetable.oc1.iad.r", "vcn-id": vcn, "display-name": "r",
                "route-rules": [{"destination": "10.1.0.0/16", "network-entity-id": lpg}]}])),
        );
        let mut g = serde_json::json!({"id": lpg, "vcn-id": vcn, "display-name": "to-b"});
        if !status.is_null() {
            g["peering-status"] = status;
        }
        f.insert("lpg.json".into(), data(serde_json::json!([g])));
        f.insert(
            "vnic.json".into(),
            data(serde_json::json!([{"id": "ocid1.vnic.oc1.iad.v", "subnet-id": "ocid1.subnet.oc1.iad.s",
                "display-name": "v", "private-ip": "10.0.1.5"}])),
        );
        f
    };
    let out = Packet::tcp(ip("10.0.1.5"), 40000, ip("10.1.2.3"), 22);
    let inbound = out.reversed();
    for (status, open) in [
        (serde_json::Value::Null, true),
        (serde_json::json!("PEERED"), true),
        (serde_json::json!("NEW"), false),
        (serde_json::json!("pending"), false),
        (serde_json::json!("REVOKED"), false),
        (serde_json::json!(7), false),
    ] {
        for (p, ctx) in [
            (out, Context::First),
            (inbound, Context::First),
            (inbound, REPLY),
        ] {
            let got = route_of(&export(status.clone()), &p, ctx);
            if open {
                assert_eq!(got.0, Outcome::Forwarded, "{status}: {p} {ctx:?}");
            } else {
                assert_eq!(
                    got,
                    (Outcome::NoRoute, Verdict::Drop, Some(Stage::Route)),
                    "{status}: {p} {ctx:?}"
                );
            }
        }
    }
}

/// `peering_status` loads on a local peering gateway only, with OCI's
/// values (any case); anything but `PEERED` blocks it.
#[test]
fn scenario_peering_status_loads_and_is_checked() {
    let with = |extra: &str, kind: &str| {
        format!(
            "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n\n[[gateway]]\nname = \"g\"\nvcn = \"v\"\nkind = \"{kind}\"\n{extra}"
        )
    };
    let load = |text: &str| {
        zprsim_control::load::from_toml_str(text, "s.toml")
            .map(|l| l.scenario.gateways[0].blocked)
            .map_err(|e| e.to_string())
    };
    assert_eq!(load(&with("", "lpg")), Ok(false));
    assert_eq!(
        load(&with("peering_status = \"peered\"\n", "lpg")),
        Ok(false)
    );
    assert_eq!(load(&with("peering_status = \"NEW\"\n", "lpg")), Ok(true));
    assert_eq!(
        load(&with("peering_status = \"REVOKED\"\n", "lpg")),
        Ok(true)
    );
    let e = load(&with("peering_status = \"UP\"\n", "lpg")).unwrap_err();
    assert!(
        e.contains("`UP` is not `PEERED`, `NEW`, `PENDING`, `REVOKED` or `INVALID`"),
        "{e}"
    );
    let e = load(&with("peering_status = \"PEERED\"\n", "drg")).unwrap_err();
    assert!(
        e.contains("`peering_status` is a field of `lpg` gateways, not of a `drg` gateway"),
        "{e}"
    );
}

/// A ZPL error showed its whole source line: a 2 MB statement printed 4 MB
/// of error (the line, then a line of spaces to the caret). Now the line
/// is shown around the error, the cuts marked, and the caret still under
/// the error.
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

/// A route rule to a private IP (a firewall appliance) blackholes in OCI
/// while that VNIC checks source and destination (`skip-source-dest-check`
/// false, OCI's default); the import read no such key, so the imported
/// scenario forwarded through the appliance.
#[test]
fn import_keeps_a_route_through_a_checking_appliance_closed() {
    let vcn = "ocid1.vcn.oc1.iad.a";
    let sn = "ocid1.subnet.oc1.iad.s";
    let export = |skip: serde_json::Value| -> zprsim_control::import::Files {
        let data = |v: serde_json::Value| serde_json::json!({ "data": v }).to_string();
        let mut f = zprsim_control::import::Files::new();
        f.insert(
            "vcn.json".into(),
            data(serde_json::json!([{"id": vcn, "display-name": "a", "cidr-blocks": ["10.0.0.0/16"]}])),
        );
        f.insert(
            "subnet.json".into(),
            data(
                serde_json::json!([{"id": sn, "vcn-id": vcn, "display-name": "s",
                "cidr-block": "10.0.1.0/24", "route-table-id": "ocid1.routetable.oc1.iad.r"},
                {"id": "ocid1.subnet.oc1.iad.fw", "vcn-id": vcn, "display-name": "fw",
                "cidr-block": "10.0.9.0/24"}]),
            ),
        );
        f.insert(
            "rt.json".into(),
            data(serde_json::json!([{"id": "ocid1.routetable.oc1.iad.r", "vcn-id": vcn, "display-name": "r",
                "route-rules": [{"destination": "0.0.0.0/0", "network-entity-id": "ocid1.privateip.oc1.iad.p"}]}])),
        );
        let mut fw = serde_json::json!({"id": "ocid1.vnic.oc1.iad.fw", "subnet-id": "ocid1.subnet.oc1.iad.fw",
            "display-name": "firewall", "private-ip": "10.0.9.4"});
        if !skip.is_null() {
            fw["skip-source-dest-check"] = skip;
        }
        f.insert(
            "vnic.json".into(),
            data(
                serde_json::json!([{"id": "ocid1.vnic.oc1.iad.v", "subnet-id": sn,
                "display-name": "v", "private-ip": "10.0.1.5"}, fw]),
            ),
        );
        f.insert(
            "pip.json".into(),
            data(
                serde_json::json!([{"id": "ocid1.privateip.oc1.iad.p", "ip-address": "10.0.9.4",
                "vnic-id": "ocid1.vnic.oc1.iad.fw", "subnet-id": "ocid1.subnet.oc1.iad.fw"}]),
            ),
        );
        f
    };
    let out = Packet::tcp(ip("10.0.1.5"), 40000, ip("192.168.1.1"), 443);
    for (skip, open) in [
        (serde_json::Value::Null, true),
        (serde_json::json!(true), true),
        (serde_json::json!(false), false),
        (serde_json::json!("no"), false),
    ] {
        for (p, ctx) in [(out, Context::First), (out.reversed(), REPLY)] {
            let got = route_of(&export(skip.clone()), &p, ctx);
            if open {
                assert_eq!(got.0, Outcome::Forwarded, "{skip}: {p} {ctx:?}");
            } else {
                assert_eq!(
                    got,
                    (Outcome::NoRoute, Verdict::Drop, Some(Stage::Route)),
                    "{skip}: {p} {ctx:?}"
                );
            }
        }
    }
    let out = zprsim_control::import::oci::import(&export(serde_json::json!("no")), None).unwrap();
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("`skip-source-dest-check` is not a boolean")),
        "{:?}",
        out.warnings
    );
}

/// Windows PowerShell 5's `>` writes UTF-16 with a byte order mark: an
/// export made there (`oci network vcn list ... > network-vcn-list.json`)
/// was refused as "not UTF-8 text". Both byte orders now read as the
/// UTF-8 file does; text that is not UTF-16 after the mark is still an
/// error at its byte.
#[test]
fn import_reads_an_export_powershell_wrote_in_utf16() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("export");
    std::fs::create_dir(&dir).unwrap();
    for e in std::fs::read_dir(root.join("examples/oke-orders/oci-export")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
    }
    let import =
        |out: &str| crate::support::run_in(t.path(), ["import", "oci", "export", "-o", out]);
    let want = import("utf8.toml");
    assert_eq!(want.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.join("network-vcn-list.json"))
        .unwrap()
        .replace('\n', "\r\n");
    for (mark, be) in [([0xFFu8, 0xFE], false), ([0xFE, 0xFF], true)] {
        let mut bytes = mark.to_vec();
        for u in text.encode_utf16() {
            bytes.extend(if be { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        std::fs::write(dir.join("network-vcn-list.json"), &bytes).unwrap();
        let out = import("utf16.toml");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(t.path().join("utf16.toml")).unwrap(),
            std::fs::read(t.path().join("utf8.toml")).unwrap()
        );
    }
    // A lone surrogate after the mark.
    std::fs::write(
        dir.join("network-vcn-list.json"),
        [0xFF, 0xFE, b'{', 0, 0x00, 0xD8],
    )
    .unwrap();
    let out = import("bad.toml");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("network-vcn-list.json: byte 4: not UTF-16 text"),
        "{err}"
    );
}

/// `examples/export-oci.sh` could not run: its `jq` merge of the private
/// IPs (`{data: map(.data) | add // []}`) is a jq syntax error (`//` needs
/// parentheses inside an object), so the script stopped (exit 3) after
/// the lists, before the VNICs, NSG rules and ZPR policies; and a
/// compartment without subnets gave jq no file at all. Run here against a
/// stand-in `oci` (`tests/review_s11/fake-oci`) that answers from the OKE
/// fixture export: the script's export imports as the fixture does.
#[test]
fn export_script_runs_and_its_export_imports_as_the_fixture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let have = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("bash") || !have("jq") {
        eprintln!(
            "skipped: export_script_runs_and_its_export_imports_as_the_fixture needs bash and jq"
        );
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let bin = t.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy(root.join("tests/review_s11/fake-oci"), bin.join("oci")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let export = |fixture: &std::path::Path, out: &str| {
        std::process::Command::new("bash")
            .arg(root.join("examples/export-oci.sh"))
            .args(["ocid1.compartment.oc1..c", out, "ocid1.tenancy.oc1..t"])
            .current_dir(t.path())
            .env("PATH", &path)
            .env("FIXTURE", fixture)
            .output()
            .unwrap()
    };
    let fixture = root.join("examples/oke-orders/oci-export");
    let out = export(&fixture, "exported");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let import = |dir: &std::path::Path, to: &str| {
        let out = crate::support::run_in(
            t.path(),
            [
                std::ffi::OsStr::new("import"),
                "oci".as_ref(),
                dir.as_os_str(),
                "-o".as_ref(),
                to.as_ref(),
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The VNICs come in the order of their files' names: compare the
        // objects, not their order.
        let text = std::fs::read_to_string(t.path().join(to)).unwrap();
        let mut blocks: Vec<String> = text.split("\n[[").map(str::to_owned).collect();
        blocks.sort();
        blocks
    };
    assert_eq!(
        import(&t.path().join("exported"), "a.toml"),
        import(&fixture, "b.toml")
    );
    // A compartment with nothing in it (no subnets, so no private IPs).
    let out = export(&t.path().join("nothing"), "empty");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("empty/network-private-ip-list.json")).unwrap(),
        "{\"data\": []}\n"
    );
}

/// `diff` keyed a rule's container by its `id` whenever it had one, so a
/// hand-written scenario (no ids) against its own import (OCIDs as ids)
/// called 25 of the demo's 32 flows `reason-changed` though every rule
/// was the same: with ids on one side only, names are compared.
#[test]
fn diff_of_a_scenario_and_its_import_changes_nothing() {
    let t = oke_copy();
    let dir = t.path();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let export = root.join("examples/oke-orders/oci-export");
    let out = crate::support::run_in(
        dir,
        [
            std::ffi::OsStr::new("import"),
            "oci".as_ref(),
            export.as_os_str(),
            "-o".as_ref(),
            "imported.toml".as_ref(),
            "--services".as_ref(),
            "oci-public-ip-ranges.json".as_ref(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (input, before, after) in [
        ("in.pcap", "scenario.toml", "imported.toml"),
        ("in.pcap", "imported.toml", "scenario.toml"),
        ("flowlogs", "scenario.toml", "imported.toml"),
    ] {
        let out = crate::support::run_in(
            dir,
            [
                "diff",
                before,
                after,
                input,
                "--report",
                "-",
                "--quiet",
                "--fail-on",
                "would-break,newly-allowed,reason-changed",
            ],
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{before} -> {after} on {input}: {}",
            r["flows"]
        );
        assert_eq!(
            r["flows"]["reason_changed"], 0,
            "{before} -> {after} on {input}"
        );
    }
    // Ids on both sides still key by id: the import against itself with
    // an NSG renamed (its OCID kept) changes nothing either.
    let text = std::fs::read_to_string(dir.join("imported.toml")).unwrap();
    assert!(text.contains("name = \"pods-nsg\""));
    std::fs::write(
        dir.join("renamed.toml"),
        text.replace("\"pods-nsg\"", "\"pods-nsg-2\""),
    )
    .unwrap();
    let out = crate::support::run_in(
        dir,
        [
            "diff",
            "imported.toml",
            "renamed.toml",
            "in.pcap",
            "--quiet",
            "--fail-on",
            "reason-changed",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The usual mistake with ZPR between two VCNs: one `in <vcn> VCN`
/// statement per VCN naming the other VCN's workload by its attribute.
/// Such a term names VNICs of the statement's own VCNs, so neither
/// statement ever matches and the flow is denied, and the scenario loaded
/// with "no warnings". It is now warned at the term (both engines agree
/// the statements never allow the flow).
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

/// An empty capture, or nothing piped into `-` (a `tcpdump -w -` that
/// failed before writing its header), was "byte 0: not a pcap or pcapng
/// file", as if the bytes were of another kind; it now says the input is
/// empty, for `replay`, `diff`, `explain --capture` and `bench --capture`.
#[test]
fn an_empty_capture_or_empty_standard_input_is_named_empty() {
    let t = oke_copy();
    let dir = t.path();
    std::fs::write(dir.join("empty.pcap"), b"").unwrap();
    let runs: [&[&str]; 5] = [
        &["replay", "scenario.toml", "-"],
        &["replay", "scenario.toml", "empty.pcap"],
        &["diff", "scenario.toml", "scenario.toml", "empty.pcap"],
        &[
            "explain",
            "scenario.toml",
            "--capture",
            "empty.pcap",
            "--packet",
            "1",
        ],
        &["bench", "scenario.toml", "--capture", "empty.pcap"],
    ];
    for args in runs {
        let out = assert_cmd::Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(dir)
            .args(args)
            .write_stdin(Vec::<u8>::new())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("empty (0 bytes)"), "{args:?}: {err}");
        assert!(
            !err.contains("not a pcap or pcapng file"),
            "{args:?}: {err}"
        );
    }
}

/// Records cut by a small snapshot length (`tcpdump -s 30`) before their
/// IP header ends are malformed drops; the run gave no reason, so a
/// capture setting looked like broken traffic. A warning now names the
/// count and the fix; an intact capture has none.
#[test]
fn records_cut_by_the_snapshot_length_are_named_in_a_warning() {
    let t = oke_copy();
    let dir = t.path();
    // Every other record of the demo cut to 30 bytes (Ethernet and 16
    // bytes of IPv4 header), its original length kept.
    let b = std::fs::read(dir.join("in.pcap")).unwrap();
    let mut out = b[..24].to_vec();
    let (mut at, mut n, mut cut) = (24, 0usize, 0usize);
    let word = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    while at + 16 <= b.len() {
        let incl = word(at + 8) as usize;
        let keep = if n % 2 == 0 { incl.min(30) } else { incl };
        // Non-IP records (ARP) of the demo are non-IP cut or not: only
        // IPv4 and IPv6 records become malformed, and those are counted.
        let ethertype = [b[at + 16 + 12], b[at + 16 + 13]];
        if keep < incl && (ethertype == [0x08, 0x00] || ethertype == [0x86, 0xdd]) {
            cut += 1;
        }
        out.extend_from_slice(&b[at..at + 8]);
        out.extend_from_slice(&u32::try_from(keep).unwrap().to_le_bytes());
        out.extend_from_slice(&b[at + 12..at + 16]);
        out.extend_from_slice(&b[at + 16..at + 16 + keep]);
        at += 16 + incl;
        n += 1;
    }
    std::fs::write(dir.join("cut.pcap"), out).unwrap();
    assert!(cut > 0);
    let mut seen = Vec::new();
    for workers in ["1", "3"] {
        let o = crate::support::run_in(
            dir,
            ["replay", "scenario.toml", "cut.pcap", "--workers", workers],
        );
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let line = err
            .lines()
            .find(|l| l.contains("snapshot length"))
            .unwrap_or_else(|| panic!("no snapshot-length warning: {err}"))
            .to_owned();
        assert!(
            line.starts_with(&format!("warning: cut.pcap: {cut} record(s)")),
            "{line}"
        );
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(text.contains(&format!("malformed {cut}")), "{text}");
        seen.push(line);
    }
    assert_eq!(seen[0], seen[1]);
    let o = crate::support::run_in(dir, ["replay", "scenario.toml", "in.pcap"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("snapshot length"));
}

/// Captures given out of time order (rotated files named so they sort
/// wrong, or typed in the wrong order) are replayed in the order given,
/// and connection tracking saw time go back with no word of it. A warning
/// now names the input that starts before the one read before it ended;
/// in time order there is none.
#[test]
fn captures_given_out_of_time_order_are_named_in_a_warning() {
    let t = oke_copy();
    let dir = t.path();
    let b = std::fs::read(dir.join("in.pcap")).unwrap();
    let mut starts = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        starts.push(at);
        at += 16 + u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
    }
    let half = starts[starts.len() / 2];
    let mut first = b[..half].to_vec();
    let mut second = b[..24].to_vec();
    second.extend_from_slice(&b[half..]);
    first.truncate(half);
    std::fs::write(dir.join("first.pcap"), &first).unwrap();
    std::fs::write(dir.join("second.pcap"), &second).unwrap();
    let warned = |args: &[&str]| {
        let o = crate::support::run_in(dir, args);
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| l.contains("replayed in the order given"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    for workers in ["1", "3"] {
        let w = warned(&[
            "replay",
            "scenario.toml",
            "second.pcap",
            "first.pcap",
            "--quiet",
            "--workers",
            workers,
        ]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("warning: first.pcap: starts ")
                && w[0].contains("before second.pcap ended"),
            "{w:?}"
        );
        let w = warned(&[
            "replay",
            "scenario.toml",
            "first.pcap",
            "second.pcap",
            "--quiet",
            "--workers",
            workers,
        ]);
        assert!(w.is_empty(), "{w:?}");
    }
}
