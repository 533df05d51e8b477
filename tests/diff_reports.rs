//! `diff`'s reports: evicted tracking said, a connection named by its opener, a route drop
//! grouped once.

use serde_json::Value;

use crate::support::{OKE, evicting_capture, root, run_in};

/// `diff` with connection tracking past its bound (`--max-connections`,
/// or the default 4,194,304 on a week of captures: established TCP lives
/// a day). Each scenario tracks only what it allowed, so the two evict
/// different connections, and a reply only tracking admits is judged as a
/// first packet on the side that evicted its connection. Here the load
/// balancer's connection to a pod is allowed by both; then 3,000 legacy
/// connections the proposed change drops fill BEFORE's tracker (every
/// shard) and evict it there, not in AFTER; the pod's reply was then
/// "newly allowed", with no rule behind it and no sign in the report.
/// The report now counts each side's evictions and warns.
///
/// Found by the eleventh session's review (branch s13-qa).
#[test]
fn a_diff_whose_tracking_evicted_connections_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("evict.pcap");
    evicting_capture(&cap);
    let run = |bound: &str| {
        let o = run_in(
            root(),
            [
                "diff",
                OKE,
                "examples/oke-orders/proposed.toml",
                cap.to_str().unwrap(),
                "--quiet",
                "--fail-on",
                "none",
                "--report",
                "-",
                "--max-connections",
                bound,
            ],
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let r: Value = serde_json::from_slice(&o.stdout).unwrap();
        (r, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (r, err) = run("1");
    let evicted = r["before"]["connections_evicted"].as_u64().unwrap();
    assert!(evicted > 0, "{r}");
    assert_eq!(r["after"]["connections_evicted"].as_u64(), Some(0), "{r}");
    let warned = |w: &str| {
        w.contains(&format!(
            "evicted {evicted} connection(s) of BEFORE and 0 of AFTER"
        )) && w.contains("`--max-connections 1`")
    };
    assert!(
        r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().is_some_and(warned)),
        "{r}"
    );
    assert!(warned(&err), "{err}");
    // Unbounded (the default), nothing is evicted and no warning is given.
    let (r, err) = run("4194304");
    assert_eq!(r["before"]["connections_evicted"].as_u64(), Some(0));
    assert!(!err.contains("evicted"), "{err}");
    assert_eq!(r["flows"]["newly_allowed"].as_u64(), Some(0), "{r}");
}

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

/// OCI logs a connection's two directions at a VNIC as two records of
/// one window (one start second), in no particular order. `diff` on flow
/// logs named each flow by its first record in input order, so a
/// connection whose reply record came first was listed server to client:
/// making a subnet private (`prohibit_public_ip`) showed `would break:
/// tcp 203.0.113.7:443 -> 10.1.1.10:50001`, an inbound connection to an
/// ephemeral port, where the VNIC's own HTTPS call breaks. `replay` takes
/// the opener by the tie rule (docs/semantics.md §6.4); `diff` now names
/// the flow by it too, whatever the order of the records in the file.
///
/// Found by the sixteenth session's review (branch s18-qa; QA round eleven).
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
            let flows = crate::support::json_lines_of(&d.join("f.jsonl"));
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

/// `diff` of a capture grouped would-break flows by the text of what
/// blocks them after, and the route layer's text names the packet's
/// address (`the return path for 203.0.113.7 is rule #0 to the internet
/// gateway ...`, `no rule matches 8.8.8.8`): making a public subnet
/// private put every internet client in a group of its own (309 groups
/// in the review's capture, where two causes broke everything). The
/// address is left out of the group's reason; the group lists the
/// endpoint pairs beside it.
///
/// Found by the sixteenth session's review (branch s18-qa; QA round eleven).
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
