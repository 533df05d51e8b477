//! The defects of the fourteenth session's planning list (note-s16) ("For planning"
//! and "Looked at and left"), as users met them: each test fails on the
//! code before its fix.

use std::io::Write as _;
use std::path::Path;

use crate::planning_s16::oke_export_in;
use crate::support::run_in;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).unwrap()
}

/// Replaces `d`/`file` by `codec`'s output of it, written as `to`.
fn compress_as(d: &Path, file: &str, to: &str, codec: fn(&[u8]) -> Vec<u8>) {
    let bytes = std::fs::read(d.join(file)).unwrap();
    std::fs::remove_file(d.join(file)).unwrap();
    std::fs::write(d.join(to), codec(&bytes)).unwrap();
}

/// `import oci FILE` with a gzipped CLI output, or the ranges file
/// gzipped (`oci ... | gzip`), said the file held flow-log records
/// (`flowlog::detect::kind` takes any compressed JSON for a flow log).
/// The decompressed head is looked at: each is named for what it is,
/// with the command line that takes it. A gzipped flow log is still one.
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

/// A directory whose CLI outputs are gzipped or zstd-compressed (`oci
/// ... | gzip > network-vcn-list.json.gz`, or gzip under the `.json`
/// name), with the ranges file gzipped, imports to the very scenario the
/// plain export does: they were skipped (`*.json.gz`) or refused ("byte
/// 1: not UTF-8 text"). An NSG's rules keep the NSG their file name
/// names. A plain and a compressed copy of one output are refused.
#[test]
fn import_reads_gzipped_and_zstd_cli_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oke_export_in(d);
    let ranges = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/oke-orders/oci-public-ip-ranges.json");
    std::fs::write(
        d.join("ranges.json.gz"),
        gzip(&std::fs::read(&ranges).unwrap()),
    )
    .unwrap();
    let plain = run_in(
        d,
        [
            "import",
            "oci",
            "exp",
            "-o",
            "plain.toml",
            "--services",
            ranges.to_str().unwrap(),
        ],
    );
    assert_eq!(plain.status.code(), Some(0), "{plain:?}");
    let e = d.join("exp");
    let nsg_rules = std::fs::read_dir(&e)
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("network-nsg-rules-list."))
        .unwrap();
    compress_as(&e, &nsg_rules, &format!("{nsg_rules}.gz"), gzip);
    compress_as(
        &e,
        "network-subnet-list.json",
        "network-subnet-list.json.gz",
        gzip,
    );
    compress_as(
        &e,
        "network-vnic-get-0.json",
        "network-vnic-get-0.json.zst",
        zstd,
    );
    compress_as(&e, "network-vcn-list.json", "network-vcn-list.json", gzip);
    let out = run_in(
        d,
        [
            "import",
            "oci",
            "exp",
            "-o",
            "packed.toml",
            "--services",
            "ranges.json.gz",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(stderr_of(&out), stderr_of(&plain));
    assert_eq!(
        std::fs::read_to_string(d.join("packed.toml")).unwrap(),
        std::fs::read_to_string(d.join("plain.toml")).unwrap()
    );
    // One output twice, plain and compressed: which is meant is unknown.
    std::fs::write(
        e.join("network-subnet-list.json"),
        b"{\"data\": []}".as_slice(),
    )
    .unwrap();
    let out = run_in(d, ["import", "oci", "exp", "-o", "twice.toml"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("network-subnet-list.json` and `")
            && err.contains("are one output, in two forms (plain, gzip or zstd): keep one"),
        "{err}"
    );
    assert!(!d.join("twice.toml").exists());
}

/// Runs `zprsim ARGS` in `d` with `TMPDIR` a 64 KiB tmpfs of a mount
/// namespace of its own (`unshare -m`, as root); `None` when it cannot be
/// mounted here (not root, no `unshare`): the caller skips.
pub(crate) fn with_tiny_tmpdir(d: &Path, args: &[&str]) -> Option<std::process::Output> {
    crate::planning_s19::with_small_tmpdir("64k", d, args)
}

/// A full disk under the flow-log records spilled past
/// `--flow-log-buffer` (a 64 KiB tmpfs as `TMPDIR`) ended `replay` and
/// `diff` with "error: cannot use a temporary file in DIR: No space left
/// on device", and no report or flow lines at all. The reading now stops
/// there, as a Ctrl-C stops it: the records read before are judged, the
/// report and `--flows` are written, valid, and say `interrupted` with a
/// `temporary-files-full` warning, and the run exits 2 with a message
/// naming the directory, what fills it and what to do. `diff` builds its
/// report from its records sorted by flow, in the same directory: when
/// that cannot be written either, it ends before any output is opened
/// (none is left), with the same kind of message.
#[test]
fn a_full_disk_under_spilled_flow_log_records_ends_the_run_with_its_outputs_partial() {
    use crate::planning_s16::{AUDITED_WEB, CLIENT, WEB, record};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), AUDITED_WEB).unwrap();
    // 3,000 distinct records (127 bytes each spilled: ~380 KB).
    let n = 3000u16;
    let log: String = (0..n)
        .map(|i| {
            record(
                "ocid1.vnic.oc1..web1",
                (CLIENT, WEB),
                6,
                Some((40000 + i, 443)),
                1_700_000_000 + u64::from(i),
            )
        })
        .collect();
    std::fs::write(d.join("log.jsonl"), log).unwrap();
    let tiny = d.join("tiny");
    let runs: [&[&str]; 2] = [
        &[
            "replay",
            "s.toml",
            "log.jsonl",
            "--flow-log-buffer",
            "16",
            "--report",
            "r.json",
            "--flows",
            "f.jsonl",
            "--quiet",
        ],
        &[
            "diff",
            "s.toml",
            "s.toml",
            "log.jsonl",
            "--flow-log-buffer",
            "16",
            "--report",
            "r.json",
            "--flows",
            "f.jsonl",
            "--fail-on",
            "none",
            "--quiet",
        ],
    ];
    for args in runs {
        let _ = std::fs::remove_file(d.join("r.json"));
        let _ = std::fs::remove_file(d.join("f.jsonl"));
        let Some(o) = with_tiny_tmpdir(d, args) else {
            eprintln!("skipped: a tmpfs cannot be mounted here (unshare -m, as root)");
            return;
        };
        let err = stderr_of(&o);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", args[0]);
        let said = format!(
            "the temporary files in {} could not be written",
            tiny.display()
        );
        assert!(err.contains("error: ") && err.contains(&said), "{err}");
        assert!(
            err.contains("No space left on device")
                && err.contains("past `--flow-log-buffer`")
                && err.contains("TMPDIR=")
                && err.contains("a larger `--flow-log-buffer`"),
            "{err}"
        );
        if args[0] == "diff" && !d.join("r.json").exists() {
            // `diff`'s report is built from its records sorted by flow, in
            // the same directory: with it still full, the run ends before
            // any output is opened, and leaves none (nor a temporary).
            assert!(
                err.contains("`diff`'s flow-log records, sorted by flow"),
                "{err}"
            );
            let names: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert!(
                !names
                    .iter()
                    .any(|n| n.contains("f.jsonl") || n.contains("r.json")),
                "{names:?}"
            );
            continue;
        }
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
        assert_eq!(r["interrupted"], true, "{}: {r}", args[0]);
        assert_eq!(r["stopped_by"], "temporary-files-full", "{}: {r}", args[0]);
        let records = r["flow_log"]["records"].as_u64().unwrap();
        assert!(records > 0 && records < u64::from(n), "{}: {r}", args[0]);
        let full: Vec<&serde_json::Value> = r["run_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] == "temporary-files-full")
            .collect();
        assert!(!full.is_empty(), "{r}");
        assert!(full[0]["message"].as_str().unwrap().contains(&said), "{r}");
        // The flow lines are whole lines of JSON.
        let flows = std::fs::read_to_string(d.join("f.jsonl")).unwrap();
        for l in flows.lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
        if args[0] == "replay" {
            assert_eq!(flows.lines().count() as u64, records, "{r}");
        }
    }
}

/// The hints for a non-first fragment open the whole protocol (it carries
/// no ports: semantics §3), which is right but said nowhere: a user
/// pasted `protocol = "6"` from any port where the real fix was the MTU.
/// `explain --fragment` now says why under the hints, and mentions MTU
/// and path MTU discovery (`to_open_why` in `--json`); a packet with
/// ports gets no such line.
#[test]
fn hints_for_a_non_first_fragment_say_why_and_name_the_mtu() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let base = [
        "explain",
        "examples/oke-orders/scenario.toml",
        "--src",
        "10.0.2.11",
        "--dst",
        "10.0.20.10",
        "--proto",
        "tcp",
    ];
    let o = run_in(&root, base.iter().copied().chain(["--fragment"]));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("  to open: "), "{text}");
    let why = text
        .lines()
        .find(|l| l.starts_with("  why the whole protocol: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        why.contains("non-first fragment carries no ports")
            && why.contains("every tcp port")
            && why.contains("MTU")
            && why.contains("ICMP type 3 code 4"),
        "{why}"
    );
    let o = run_in(&root, base.iter().copied().chain(["--fragment", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["to_open_why"].as_str().is_some_and(|w| w.contains("MTU")),
        "{v}"
    );
    // With ports: the hints name the port, and no such line.
    let o = run_in(&root, base.iter().copied().chain(["--dport", "22"]));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("  to open: "), "{text}");
    assert!(!text.contains("why the whole protocol"), "{text}");
    let o = run_in(
        &root,
        base.iter().copied().chain(["--dport", "22", "--json"]),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.get("to_open_why").is_none(), "{v}");
}

/// A private subnet (`prohibit_public_ip = true`, OCI's
/// `prohibit-public-ip-on-vnic`) routing the internet to an internet
/// gateway: OCI drops that traffic (its VNICs have no public IP), and the
/// model forwarded it, so a private subnet's `0.0.0.0/0 -> igw`, a common
/// mistake, passed every check. Both engines now drop it at the route
/// layer, both ways, naming the subnet; a subnet that does not say keeps
/// the old answer; a NAT gateway carries it; `verify`'s route hint from
/// such a subnet no longer offers the internet gateway; `import` reads
/// the flag from the export. (The last note's planning item 6.)
#[test]
fn a_private_subnet_gets_nothing_through_an_internet_gateway() {
    use zprsim_control::agree::judge_both;
    use zprsim_control::compile::{Compiled, Config};
    use zprsim_control::packet::Packet;
    use zprsim_control::verdict::{Context, Stage, Verdict};
    let text = |private: &str| {
        format!(
            r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16", "2603:c020::/48"]
[[gateway]]
name = "igw"
vcn = "v"
kind = "internet"
[[gateway]]
name = "nat"
vcn = "v"
kind = "nat"
[[gateway]]
name = "drg"
vcn = "v"
kind = "drg"
[[route_table]]
name = "to-igw"
vcn = "v"
route_rules = [{{ destination = "0.0.0.0/0", network_entity = "igw" }}, {{ destination = "::/0", network_entity = "igw" }}]
[[route_table]]
name = "to-nat"
vcn = "v"
route_rules = [{{ destination = "0.0.0.0/0", network_entity = "nat" }}]
[[route_table]]
name = "none"
vcn = "v"
route_rules = []
[[security_list]]
name = "open"
vcn = "v"
egress_security_rules = [{{ destination = "0.0.0.0/0", protocol = "all" }}, {{ destination = "::/0", protocol = "all" }}]
ingress_security_rules = [{{ source = "0.0.0.0/0", protocol = "all" }}, {{ source = "::/0", protocol = "all" }}]
[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.0.1.0/24"
ipv6_cidr_blocks = ["2603:c020:0:1::/64"]
route_table = "to-igw"
security_lists = ["open"]
{private}
[[subnet]]
name = "natted"
vcn = "v"
cidr_block = "10.0.2.0/24"
route_table = "to-nat"
security_lists = ["open"]
prohibit_public_ip = true
[[subnet]]
name = "bare"
vcn = "v"
cidr_block = "10.0.3.0/24"
route_table = "none"
security_lists = ["open"]
prohibit_public_ip = true
[[vnic]]
name = "a"
subnet = "app"
private_ips = ["10.0.1.10", "2603:c020:0:1::10"]
[[vnic]]
name = "n"
subnet = "natted"
private_ips = ["10.0.2.10"]
[[vnic]]
name = "b"
subnet = "bare"
private_ips = ["10.0.3.10"]
"#
        )
    };
    let judge = |text: &str, p: Packet| {
        let s = zprsim_control::load::from_toml_str(text, "s.toml")
            .unwrap()
            .scenario;
        let c = Compiled::new(&s, &Config::default()).unwrap();
        judge_both(&s, &c, &p, Context::First).unwrap()
    };
    let (a, n, web) = (
        "10.0.1.10".parse().unwrap(),
        "10.0.2.10".parse().unwrap(),
        "93.184.216.34".parse().unwrap(),
    );
    let private = text("prohibit_public_ip = true");
    for p in [
        Packet::tcp(a, 40000, web, 443),
        Packet::tcp(web, 40000, a, 443),
    ] {
        let d = judge(&private, p);
        assert_eq!(d.judgement.verdict, Verdict::Drop, "{p}");
        assert_eq!(d.judgement.stage, Some(Stage::Route), "{p}");
        let reason = d.layers[0].reason.clone().unwrap_or_default();
        assert!(
            reason.contains("subnet `app` prohibits them"),
            "{p}: {reason}"
        );
        // The subnet that does not say, and the one that says `false`:
        // as before.
        for open in [text(""), text("prohibit_public_ip = false")] {
            assert_eq!(judge(&open, p).judgement.verdict, Verdict::Allow, "{p}");
        }
    }
    // IPv6 needs no public IP (OCI's `prohibit-internet-ingress`, not
    // modeled, governs it): the flag does not touch it.
    let (a6, web6) = (
        "2603:c020:0:1::10".parse().unwrap(),
        "2001:db8::1".parse().unwrap(),
    );
    for p in [
        Packet::tcp(a6, 40000, web6, 443),
        Packet::tcp(web6, 40000, a6, 443),
    ] {
        assert_eq!(judge(&private, p).judgement.verdict, Verdict::Allow, "{p}");
    }
    // Through NAT, a private subnet reaches the internet.
    assert_eq!(
        judge(&private, Packet::tcp(n, 40000, web, 443))
            .judgement
            .verdict,
        Verdict::Allow
    );

    // `verify`: the route hint from the bare private subnet to the
    // internet names the NAT or the DRG, never the internet gateway.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &private).unwrap();
    std::fs::write(
        dir.path().join("e.toml"),
        "[[path]]\nname = \"b-out\"\nfrom = \"vnic:b\"\nto = \"internet\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n",
    )
    .unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "add to route table `none`: { destination = \"0.0.0.0/0\", network_entity = \"nat\" }"
        ),
        "{out}"
    );
    assert!(!out.contains("`igw`") && !out.contains("\"igw\""), "{out}");

    // `import` reads `prohibit-public-ip-on-vnic`, and the imported
    // scenario judges as the exported one.
    let s = zprsim_control::load::from_toml_str(&private, "s.toml")
        .unwrap()
        .scenario;
    let (files, services) = zprsim_bench::oci_export::export(&s);
    let imported = zprsim_control::import::oci::import(&files, Some(&services)).unwrap();
    assert!(
        imported.toml.contains("prohibit_public_ip = true"),
        "{}",
        imported.toml
    );
    let d = judge(&imported.toml, Packet::tcp(a, 40000, web, 443));
    assert_eq!(d.judgement.stage, Some(Stage::Route));
}
