//! Defects found in the sixteenth session's review (branch s18-qa; QA round eleven), as
//! real users would meet them: each test fails on the code before its fix.

use std::path::Path;

use serde_json::Value;

use crate::support::run_in;

/// One VNIC in a subnet whose table sends the internet to an internet
/// gateway, its security list open; `PROHIBIT` is replaced by the
/// subnet's `prohibit_public_ip` line (or nothing).
const ONE_VNIC_IGW: &str = r#"
name = "one-vnic-igw"

[[vcn]]
name = "vcn"
cidr_blocks = ["10.1.0.0/16"]

[[gateway]]
name = "igw"
vcn = "vcn"
kind = "internet"

[[route_table]]
name = "rt"
vcn = "vcn"
route_rules = [{ destination = "0.0.0.0/0", network_entity = "igw" }]

[[security_list]]
name = "open-sl"
vcn = "vcn"
ingress_security_rules = [{ protocol = "all", source = "0.0.0.0/0" }]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]

[[subnet]]
name = "app"
vcn = "vcn"
cidr_block = "10.1.1.0/24"
route_table = "rt"
security_lists = ["open-sl"]
PROHIBIT

[[vnic]]
name = "app-1"
id = "ocid1.vnic.oc1..app1"
subnet = "app"
private_ips = ["10.1.1.10"]
"#;

/// One flow-log record (OCI's JSON line) of `vnic` for `src:sport` ->
/// `dst:dport` over TCP, its window starting `start` seconds after the
/// first.
fn tcp_record(
    vnic: &str,
    (src, sport): (&str, u16),
    (dst, dport): (&str, u16),
    start: u64,
) -> String {
    format!(
        r#"{{"datetime": 1, "logContent": {{"data": {{"action": "ACCEPT", "bytesOut": 120, "destinationAddress": "{dst}", "destinationPort": {dport}, "endTime": {end}, "packets": 2, "protocol": 6, "sourceAddress": "{src}", "sourcePort": {sport}, "startTime": {start}, "status": "OK", "version": "2"}}, "oracle": {{"vnicocid": "{vnic}"}}}}}}"#,
        start = 1_700_000_000 + start,
        end = 1_700_000_059 + start,
    ) + "\n"
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json_lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// OCI logs a connection's two directions at a VNIC as two records of
/// one window (one start second), in no particular order. `diff` on flow
/// logs named each flow by its first record in input order, so a
/// connection whose reply record came first was listed server to client:
/// making a subnet private (`prohibit_public_ip`) showed `would break:
/// tcp 203.0.113.7:443 -> 10.1.1.10:50001`, an inbound connection to an
/// ephemeral port, where the VNIC's own HTTPS call breaks. `replay` takes
/// the opener by the tie rule (docs/semantics.md §6.4); `diff` now names
/// the flow by it too, whatever the order of the records in the file.
#[test]
fn diff_on_flow_logs_names_a_connection_by_its_opener_not_by_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("before.toml"), ONE_VNIC_IGW.replace("PROHIBIT", "")).unwrap();
    std::fs::write(
        d.join("after.toml"),
        ONE_VNIC_IGW.replace("PROHIBIT", "prohibit_public_ip = true"),
    )
    .unwrap();
    let vnic = "ocid1.vnic.oc1..app1";
    let (me, web) = (("10.1.1.10", 50001), ("203.0.113.7", 443));
    let reply_first = [
        tcp_record(vnic, web, me, 0),
        tcp_record(vnic, me, web, 0),
        tcp_record(vnic, web, me, 60),
        tcp_record(vnic, me, web, 60),
    ]
    .concat();
    let request_first = [
        tcp_record(vnic, me, web, 0),
        tcp_record(vnic, web, me, 0),
        tcp_record(vnic, me, web, 60),
        tcp_record(vnic, web, me, 60),
    ]
    .concat();
    for (name, log) in [
        ("reply first", &reply_first),
        ("request first", &request_first),
    ] {
        std::fs::write(d.join("log.jsonl"), log).unwrap();
        for buffer in ["1", "1000"] {
            let out = run_in(
                d,
                [
                    "diff",
                    "before.toml",
                    "after.toml",
                    "log.jsonl",
                    "--flows",
                    "f.jsonl",
                    "--flow-log-buffer",
                    buffer,
                ],
            );
            assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
            let text = stdout_of(&out);
            assert!(
                text.contains("would break: tcp 10.1.1.10:50001 -> 203.0.113.7:443"),
                "{name}, buffer {buffer}: {text}"
            );
            let flows = json_lines(&d.join("f.jsonl"));
            assert_eq!(flows.len(), 1, "{name}: {flows:?}");
            let f = &flows[0];
            assert_eq!(f["class"], "would-break", "{name}: {f}");
            assert_eq!(
                (&f["src"], &f["sport"], &f["dst"], &f["dport"]),
                (
                    &Value::from("10.1.1.10"),
                    &Value::from(50001),
                    &Value::from("203.0.113.7"),
                    &Value::from(443)
                ),
                "{name}, buffer {buffer}: {f}"
            );
            assert_eq!(f["records"], 4, "{name}: {f}");
        }
    }
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `verify`'s second argument is an expectations file; given a scenario
/// (`zprsim verify scenario.toml proposed.toml`, taking `verify` for
/// `diff`), a capture or flow logs, it said "unknown field `gateway`,
/// expected `include` or `path`" or "byte 2: the expectations file is not
/// UTF-8 text". The scenario's own slot has named such files since QA
/// round five; EXPECT's now does too, with the command that fits.
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

/// A dual-stack private subnet whose route table is empty, in a VCN with
/// a NAT and an internet gateway, its security list open.
const DUAL_STACK_EMPTY_TABLE: &str = r#"
name = "dual-stack"

[[vcn]]
name = "vcn"
cidr_blocks = ["10.1.0.0/16", "2603:c020:1::/48"]

[[gateway]]
name = "igw"
vcn = "vcn"
kind = "internet"

[[gateway]]
name = "nat"
vcn = "vcn"
kind = "nat"

[[route_table]]
name = "private-rt"
vcn = "vcn"
route_rules = []

[[security_list]]
name = "open-sl"
vcn = "vcn"
ingress_security_rules = []
egress_security_rules = [
  { protocol = "all", destination = "0.0.0.0/0" },
  { protocol = "all", destination = "::/0" },
]

[[subnet]]
name = "app"
vcn = "vcn"
cidr_block = "10.1.1.0/24"
ipv6_cidr_blocks = ["2603:c020:1:1::/64"]
route_table = "private-rt"
security_lists = ["open-sl"]
prohibit_public_ip = true

[[vnic]]
name = "app-1"
subnet = "app"
private_ips = ["10.1.1.10", "2603:c020:1:1::10"]
"#;

/// `verify`'s route hint for a dual-stack VNIC's path to the internet
/// offered `{ destination = "::/0", network_entity = "nat" }` (or through
/// `igw`): OCI refuses that rule (a route rule for an IPv6 prefix targets
/// a DRG or an internet gateway; the NAT gateway is IPv4 only), though
/// the model forwarded it, so the hint was "proven". The IPv6 hint now
/// names the internet gateway; the IPv4 one still the NAT gateway (the
/// subnet is private).
#[test]
fn a_route_hint_for_ipv6_never_names_a_nat_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.toml"), DUAL_STACK_EMPTY_TABLE).unwrap();
    std::fs::write(
        d.join("expect.toml"),
        "[[path]]\nname = \"out\"\nfrom = \"vnic:app-1\"\nto = \"internet\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n",
    )
    .unwrap();
    let out = run_in(d, ["verify", "s.toml", "expect.toml", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hints: Vec<&str> = r["paths"][0]["to_open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(hints.len(), 2, "{hints:?}");
    assert!(
        hints.contains(
            &"route: add to route table `private-rt`: { destination = \"0.0.0.0/0\", network_entity = \"nat\" }"
        ),
        "{hints:?}"
    );
    assert!(
        hints.contains(
            &"route: add to route table `private-rt`: { destination = \"::/0\", network_entity = \"igw\" }"
        ),
        "{hints:?}"
    );
    // Applied, they open the path both ways of addressing.
    let applied = DUAL_STACK_EMPTY_TABLE.replace(
        "route_rules = []",
        "route_rules = [{ destination = \"0.0.0.0/0\", network_entity = \"nat\" }, { destination = \"::/0\", network_entity = \"igw\" }]",
    );
    std::fs::write(d.join("s.toml"), applied).unwrap();
    let out = run_in(d, ["verify", "s.toml", "expect.toml"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// `diff` of a capture grouped would-break flows by the text of what
/// blocks them after, and the route layer's text names the packet's
/// address (`the return path for 203.0.113.7 is rule #0 to the internet
/// gateway ...`, `no rule matches 8.8.8.8`): making a public subnet
/// private put every internet client in a group of its own (309 groups
/// in the review's capture, where two causes broke everything). The
/// address is left out of the group's reason; the group lists the
/// endpoint pairs beside it.
#[test]
fn diff_groups_a_route_drop_once_not_once_per_internet_address() {
    use std::net::IpAddr;
    use zprsim_bench::fixtures::{Link, Trace, at};
    use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("before.toml"), ONE_VNIC_IGW.replace("PROHIBIT", "")).unwrap();
    std::fs::write(
        d.join("after.toml"),
        ONE_VNIC_IGW.replace("PROHIBIT", "prohibit_public_ip = true"),
    )
    .unwrap();
    // Ten clients on the internet open HTTPS to the VNIC; the VNIC opens
    // HTTPS to ten servers.
    let me: IpAddr = "10.1.1.10".parse().unwrap();
    let mut t = Trace::new(Link::Ether);
    for i in 0..10u16 {
        let client: IpAddr = format!("203.0.113.{}", 10 + i).parse().unwrap();
        t.tcp_attempt(at(u64::from(i), 0), client, me, (40000 + i, 443));
        let server: IpAddr = format!("198.51.100.{}", 10 + i).parse().unwrap();
        t.tcp_attempt(at(u64::from(i), 500), me, server, (50000 + i, 443));
    }
    t.sort();
    let mut w = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
    for r in &t.recs {
        w.write(r.ts_ns, r.linktype, r.orig_len, &r.data).unwrap();
    }
    std::fs::write(d.join("c.pcap"), w.finish().unwrap()).unwrap();
    let out = run_in(
        d,
        [
            "diff",
            "before.toml",
            "after.toml",
            "c.pcap",
            "--report",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("r.json")).unwrap()).unwrap();
    assert_eq!(r["flows"]["would_break"], 20, "{:#}", r["flows"]);
    let groups = r["would_break"].as_array().unwrap();
    let reasons: Vec<&str> = groups
        .iter()
        .map(|g| g["reason"].as_str().unwrap())
        .collect();
    // One group per way (the VNIC's own traffic out, the clients' in).
    assert_eq!(groups.len(), 2, "{reasons:#?}");
    for g in groups {
        assert_eq!(g["flows"], 10, "{g:#}");
        let reason = g["reason"].as_str().unwrap();
        assert!(
            !reason.contains("203.0.113.") && !reason.contains("198.51.100."),
            "{reason}"
        );
        assert!(reason.contains("prohibit_public_ip"), "{reason}");
    }
}

/// Gateways that drop everything, and a next hop that checks source and
/// destination, beside ones that forward.
const SWITCHED_OFF: &str = r#"
name = "switched-off"

[[vcn]]
name = "a"
cidr_blocks = ["10.1.0.0/16"]

[[vcn]]
name = "b"
cidr_blocks = ["10.2.0.0/16"]

[[gateway]]
name = "igw"
vcn = "a"
kind = "internet"
is_enabled = false

[[gateway]]
name = "nat"
vcn = "a"
kind = "nat"
block_traffic = true

[[gateway]]
name = "sgw"
vcn = "a"
kind = "service"
block_traffic = true

[[gateway]]
name = "lpg-a"
vcn = "a"
kind = "lpg"
peering_status = "PENDING"

[[gateway]]
name = "drg-a"
vcn = "a"
kind = "drg"

[[gateway]]
name = "lpg-b"
vcn = "b"
kind = "lpg"

[[gateway]]
name = "igw-b"
vcn = "b"
kind = "internet"

[services]
"osn" = ["134.70.0.0/17"]

[[route_table]]
name = "rt-a"
vcn = "a"
route_rules = [
  { destination = "0.0.0.0/0", network_entity = "igw" },
  { destination = "8.8.8.0/24", network_entity = "nat" },
  { destination = "osn", destination_type = "SERVICE_CIDR_BLOCK", network_entity = "sgw" },
  { destination = "10.2.0.0/17", network_entity = "lpg-a" },
  { destination = "10.2.128.0/17", network_entity = "drg-a" },
  { destination = "192.168.0.0/16", network_entity = "10.1.1.20" },
]

[[route_table]]
name = "rt-b"
vcn = "b"
route_rules = [
  { destination = "10.1.0.0/16", network_entity = "lpg-b" },
  { destination = "0.0.0.0/0", network_entity = "igw-b" },
]

[[security_list]]
name = "open-a"
vcn = "a"
ingress_security_rules = [{ protocol = "all", source = "0.0.0.0/0" }]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]

[[security_list]]
name = "open-b"
vcn = "b"
ingress_security_rules = [{ protocol = "all", source = "0.0.0.0/0" }]
egress_security_rules = [{ protocol = "all", destination = "0.0.0.0/0" }]

[[subnet]]
name = "s1"
vcn = "a"
cidr_block = "10.1.1.0/24"
route_table = "rt-a"
security_lists = ["open-a"]

[[subnet]]
name = "sb"
vcn = "b"
cidr_block = "10.2.1.0/24"
route_table = "rt-b"
security_lists = ["open-b"]

[[subnet]]
name = "sb2"
vcn = "b"
cidr_block = "10.2.200.0/24"
route_table = "rt-b"
security_lists = ["open-b"]

[[vnic]]
name = "v1"
subnet = "s1"
private_ips = ["10.1.1.10"]

[[vnic]]
name = "fw"
subnet = "s1"
private_ips = ["10.1.1.20"]
skip_source_dest_check = false

[[vnic]]
name = "vb"
subnet = "sb"
private_ips = ["10.2.1.10"]

[[vnic]]
name = "vb2"
subnet = "sb2"
private_ips = ["10.2.200.10"]
"#;

/// `zprsim-gen export` (`zprsim_bench::oci_export`) wrote no gateway's
/// switch (`is-enabled`, `block-traffic`, `peering-status`) and no VNIC's
/// `skip-source-dest-check`, which `zprsim import` reads: a disabled
/// internet gateway, NAT and service gateways blocking traffic, an LPG not
/// peered and a next hop that checks source and destination came back
/// forwarding, so `10.1.1.10 -> 1.1.1.1` and `1.1.1.1 -> 10.1.1.10`,
/// dropped by the scenario, were allowed by its round trip. Every packet
/// between these addresses is now judged alike before and after.
#[test]
fn an_exported_scenario_keeps_its_switched_off_gateways_and_next_hops() {
    use zprsim_control::compile::{Compiled, Config};
    use zprsim_control::packet::Packet;
    use zprsim_control::verdict::{Context, Tracking};

    let s = zprsim_control::load::from_toml_str(SWITCHED_OFF, "s.toml")
        .unwrap()
        .scenario;
    let (files, services) = zprsim_bench::oci_export::export(&s);
    let imported = zprsim_control::import::oci::import(&files, Some(&services)).unwrap();
    let t = zprsim_control::load::from_toml_str(&imported.toml, "imported.toml")
        .unwrap()
        .scenario;
    let (a, b) = (
        Compiled::new(&s, &Config::default()).unwrap(),
        Compiled::new(&t, &Config::default()).unwrap(),
    );
    let addresses = [
        "10.1.1.10",
        "10.1.1.20",
        "10.2.1.10",
        "10.2.200.10",
        "1.1.1.1",
        "8.8.8.8",
        "134.70.1.1",
        "192.168.1.1",
    ];
    let mut judged = 0;
    for src in addresses {
        for dst in addresses {
            for ctx in [Context::First, Context::Reply(Tracking::default())] {
                let p = Packet::tcp(src.parse().unwrap(), 49152, dst.parse().unwrap(), 443);
                assert_eq!(
                    a.judge(&p, ctx).judgement,
                    b.judge(&p, ctx).judgement,
                    "{src} -> {dst} ({ctx:?}):\n{}",
                    imported.toml
                );
                judged += 1;
            }
        }
    }
    assert_eq!(judged, 128);
}

/// `--services` takes OCI's public IP ranges file; given the export's own
/// `network-service-list.json` (the CLI's `oci network service list`, whose
/// name says "services"), a flow log or another CLI output, `import` wrote
/// the scenario with every service label empty (traffic to Oracle services
/// then takes whatever else the route table says) and exited 0 with only
/// ``service label `...` has no CIDRs in the `--services` file``. It is
/// refused now, saying what the file is and what `--services` takes.
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
