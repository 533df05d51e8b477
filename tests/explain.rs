//! `zprsim explain`: endpoints by VNIC name, `--reply`, and the flags that
//! do not fit the protocol (usage errors, exit 2).

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

use crate::support::root;

const S: &str = "examples/oke-orders/scenario.toml";

fn explain(args: &[&str]) -> (i32, String, String) {
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .arg("explain")
        .arg(S)
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(o.stderr).unwrap(),
    )
}

#[test]
fn vnic_names_stand_for_their_addresses() {
    let by_ip = explain(&[
        "--src",
        "10.0.10.21",
        "--dst",
        "10.0.30.10",
        "--proto",
        "tcp",
        "--dport",
        "2049",
    ]);
    let by_name = explain(&[
        "--src",
        "billing-pod-1",
        "--dst",
        "vnic:orders-fss-mt",
        "--proto",
        "tcp",
        "--dport",
        "2049",
    ]);
    assert_eq!(by_ip.0, 0);
    assert_eq!(by_ip, by_name);
    assert!(
        by_name
            .1
            .starts_with("tcp 10.0.10.21:49152 -> 10.0.30.10:2049: DROP at zpr\n"),
        "{}",
        by_name.1
    );
    // One side a name, the other an address.
    let mixed = explain(&[
        "--src", "worker-1", "--dst", "10.0.0.5", "--proto", "tcp", "--dport", "6443",
    ]);
    assert!(
        mixed
            .1
            .starts_with("tcp 10.0.2.11:49152 -> 10.0.0.5:6443: ALLOW\n"),
        "{}",
        mixed.1
    );
}

#[test]
fn reply_of_an_allowed_flow_passes_as_tracked() {
    let (code, out, _) = explain(&[
        "--src",
        "orders-api-pod-1",
        "--dst",
        "orders-fss-mt",
        "--proto",
        "udp",
        "--sport",
        "900",
        "--dport",
        "111",
        "--reply",
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["reply"], true);
    assert_eq!(v["packet"]["src"], "10.0.30.10");
    assert_eq!(v["packet"]["sport"], 111);
    assert_eq!(v["packet"]["dport"], 900);
    assert_eq!(v["verdict"], "allow");
    assert_eq!(v["first_packet"]["verdict"], "allow");
    assert_eq!(v["first_packet"]["tracking"]["at_dst"], true);
    let outcomes: Vec<&str> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "FORWARDED",
            "ALLOWED_TRACKED",
            "ALLOWED_TRACKED",
            "ALLOWED_TRACKED"
        ]
    );
    // The same packet as a first packet: the mount target may not send first.
    let (_, out, _) = explain(&[
        "--src",
        "10.0.30.10",
        "--dst",
        "10.0.10.11",
        "--proto",
        "udp",
        "--sport",
        "111",
        "--dport",
        "900",
    ]);
    assert!(
        out.starts_with("udp 10.0.30.10:111 -> 10.0.10.11:900: DROP at egress-security\n"),
        "{out}"
    );
}

#[test]
fn reply_of_a_dropped_flow_is_judged_as_a_first_packet() {
    let (code, out, _) = explain(&[
        "--src",
        "10.0.2.11",
        "--dst",
        "10.0.0.5",
        "--proto",
        "icmp",
        "--reply",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with(
        "first packet icmp 10.0.2.11 -> 10.0.0.5 type 8 code 0: DROP at egress-security\n  the first packet is dropped, so no connection is tracked: the reply is judged as a first packet\n"
    ), "{out}");
    // What would open the flow (the first packet's hints) comes before the
    // reply's judgement, which gets none of its own.
    let (first, reply) = out
        .split_once("\nreply icmp 10.0.0.5 -> 10.0.2.11 type 0 code 0: DROP at egress-security\n")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(first.contains("to open: egress-security:"), "{out}");
    assert!(!reply.contains("to open:"), "{out}");
}

#[test]
fn flags_that_do_not_fit_the_protocol_are_usage_errors() {
    for (args, msg) in [
        (
            &["--proto", "udp", "--dport", "53", "--icmp-type", "3"][..],
            "error: `--icmp-type` is only for icmp and icmpv6, not `udp`\n",
        ),
        (
            &["--proto", "icmp", "--dport", "53"][..],
            "error: `--dport` is only for tcp and udp, not `icmp`\n",
        ),
        (
            &["--proto", "tcp", "--fragment", "--dport", "5"][..],
            "error: `--dport` does not go with `--fragment`: a non-first fragment has no ports or ICMP type\n",
        ),
        (
            &["--proto", "icmp", "--sport", "5"][..],
            "error: `--sport` is only for tcp and udp, not `icmp`\n",
        ),
        (
            &["--proto", "47", "--icmp-code", "1"][..],
            "error: `--icmp-code` is only for icmp and icmpv6, not `47`\n",
        ),
    ] {
        let mut all = vec!["--src", "10.0.10.11", "--dst", "10.0.30.10"];
        all.extend_from_slice(args);
        let (code, out, err) = explain(&all);
        assert_eq!((code, out.as_str(), err.as_str()), (2, "", msg), "{args:?}");
    }
    let (code, _, err) = explain(&[
        "--src",
        "no-such-vnic",
        "--dst",
        "10.0.30.10",
        "--proto",
        "tcp",
        "--dport",
        "1",
    ]);
    assert_eq!(
        (code, err.as_str()),
        (
            2,
            "error: `--src no-such-vnic`: not an address, and no VNIC is named `no-such-vnic`\n"
        )
    );
}

fn explain_packet(n: u64) -> (i32, String, String) {
    explain(&[
        "--capture",
        "pcaps/oke-demo.pcap",
        "--packet",
        &n.to_string(),
        "--json",
    ])
}

#[test]
fn capture_packets_are_judged_with_the_state_replay_gives_them() {
    // Packet 2 answers packet 1 (SYN-ACK of the first session).
    let (code, out, _) = explain_packet(2);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["reply"].as_bool(), v["opened_by"].as_u64()),
        (Some(true), Some(1))
    );
    assert_eq!(v["verdict"], "allow");
    // The one-way UDP connection that expired (pcaps/README.md, 65.0 s):
    // judged as the mount target's first packet, dropped.
    let v: Value = serde_json::from_str(&explain_packet(158).1).unwrap();
    assert_eq!(v["packet"]["src"], "10.0.30.10");
    assert_eq!(
        (
            v["reply"].as_bool(),
            v["verdict"].as_str(),
            v["stage"].as_str()
        ),
        (Some(false), Some("drop"), Some("egress-security"))
    );
    // Within the timeout (66.0 s): a tracked reply.
    let v: Value = serde_json::from_str(&explain_packet(160).1).unwrap();
    assert_eq!(
        (
            v["reply"].as_bool(),
            v["opened_by"].as_u64(),
            v["verdict"].as_str()
        ),
        (Some(true), Some(159), Some("allow"))
    );
    // Every packet of the capture: the verdicts add up to replay's report
    // (155 allowed, 33 dropped, 2 non-IP records).
    let (mut allowed, mut dropped, mut non_ip) = (0, 0, 0);
    for n in 1..=190 {
        let (code, out, err) = explain_packet(n);
        if code == 2 && err.contains("is not an IP packet") {
            non_ip += 1;
            continue;
        }
        assert_eq!(code, 0, "{n}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        match v["verdict"].as_str() {
            Some("allow") => allowed += 1,
            _ => dropped += 1,
        }
    }
    assert_eq!((allowed, dropped, non_ip), (155, 33, 2));
}

#[test]
fn capture_packet_errors() {
    let (code, _, err) = explain_packet(0);
    assert_eq!(
        (code, err.as_str()),
        (2, "error: `--packet 0`: packets are numbered from 1\n")
    );
    let (code, _, err) = explain_packet(191);
    assert_eq!(
        (code, err.as_str()),
        (
            2,
            "error: `--packet 191`: `pcaps/oke-demo.pcap` has 190 record(s)\n"
        )
    );
    let (code, _, err) = explain_packet(41);
    assert_eq!(
        (code, err.as_str()),
        (
            2,
            "pcaps/oke-demo.pcap: error: packet 41 (byte offset 8311) is not an IP packet (ARP, LLDP, ...)\n"
        )
    );
    let (code, _, _) = explain(&[
        "--capture",
        "pcaps/oke-demo.pcap",
        "--packet",
        "3",
        "--src",
        "10.0.0.1",
    ]);
    assert_eq!(code, 2);
}

#[test]
fn an_ipv4_mapped_address_beside_an_ipv4_one_names_the_ipv4_form() {
    let (code, _, err) = explain(&[
        "--src",
        "::ffff:10.0.1.10",
        "--dst",
        "10.0.10.11",
        "--proto",
        "tcp",
        "--dport",
        "8080",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("not of the same address family"), "{err}");
    assert!(err.contains("for IPv4 traffic write `10.0.1.10`"), "{err}");
}

/// `explain` in `dir` (a copy of the example's directory).
fn explain_in(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let o = Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(dir)
        .arg("explain")
        .arg("scenario.toml")
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap(),
        String::from_utf8(o.stdout).unwrap(),
    )
}

#[test]
fn a_dropped_first_packet_names_what_opens_it_and_that_opens_it() {
    // The legacy VM to a billing pod on a port nothing opens: the egress
    // list, the pod's NSG and ZPR each block it. explain names a rule for
    // each security layer and a statement for ZPR; added as written (the
    // rules to the TOML, the statement to the policy file named), the
    // packet is allowed.
    let ex = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    for f in ["scenario.toml", "policies/orders.zpl"] {
        std::fs::copy(ex.join(f), dir.path().join(f)).unwrap();
    }
    let args = [
        "--src",
        "legacy-vm",
        "--dst",
        "billing-pod-1",
        "--proto",
        "tcp",
        "--dport",
        "9999",
        "--json",
    ];
    let (code, out) = explain_in(dir.path(), &args);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "drop");
    let hints: Vec<String> = v["to_open"]
        .as_array()
        .unwrap_or_else(|| panic!("{out}"))
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(hints.len(), 3, "{hints:?}");
    // The text form gives the same, one line each.
    let (_, text) = explain_in(dir.path(), &args[..8]);
    for h in &hints {
        assert!(text.contains(&format!("\n  to open: {h}\n")), "{text}");
    }
    let after = |hint: &str, prefix: &str| {
        hint.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{hint}"))
            .to_owned()
    };
    // Of the legacy subnet's lists, the one only it has (`common-sl` is
    // every private subnet's).
    let egress = after(
        &hints[0],
        "egress-security: add to security list `legacy-sl` (egress_security_rules): ",
    );
    let ingress = after(&hints[1], "ingress-security: add to NSG `pods-nsg`: ");
    let stmt = after(
        &hints[2],
        "zpr: add to ZPR policy `orders` (in policies/orders.zpl): \"",
    );
    let stmt = stmt.strip_suffix('"').unwrap();
    assert!(stmt.ends_with("protocol='tcp/9999'"), "{stmt}");
    let toml = std::fs::read_to_string(dir.path().join("scenario.toml")).unwrap();
    let at = toml.find("name = \"legacy-sl\"").unwrap();
    let (head, tail) = toml.split_at(at);
    let toml = format!(
        "{head}{}",
        tail.replacen(
            "egress_security_rules = [\n",
            &format!("egress_security_rules = [\n  {egress},\n"),
            1
        )
    );
    let at = toml.find("name = \"pods-nsg\"").unwrap();
    let (head, tail) = toml.split_at(at);
    let toml = format!(
        "{head}{}",
        tail.replacen("rules = [\n", &format!("rules = [\n  {ingress},\n"), 1)
    );
    std::fs::write(dir.path().join("scenario.toml"), toml).unwrap();
    let zpl = std::fs::read_to_string(dir.path().join("policies/orders.zpl")).unwrap();
    std::fs::write(
        dir.path().join("policies/orders.zpl"),
        format!("{zpl}\n{stmt}\n"),
    )
    .unwrap();
    let (code, out) = explain_in(dir.path(), &args);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "allow", "{out}");
    // Nothing to open on an allowed packet.
    assert!(v.get("to_open").is_none(), "{out}");
    let (_, text) = explain_in(dir.path(), &args[..8]);
    assert!(!text.contains("to open:"), "{text}");
}

/// What an engineer needs from `explain` when stateless wins: the line
/// named the first matching rule (stateful here) and said "stateful and
/// stateless rules match: stateless wins, not tracked", without naming the
/// stateless rule that made the connection untracked (the one to change
/// when the reply is dropped). It is now named, in the text and in
/// `--json`'s layer `reason`.
///
/// Found by QA round fifteen (twentieth session, branch s22-qa).
#[test]
fn explain_names_the_stateless_rule_that_wins() {
    let run = |json: bool| {
        let mut c = Command::cargo_bin("zprsim").unwrap();
        c.current_dir(root()).args([
            "explain",
            "tests/cases/scenarios/security.toml",
            "--src",
            "10.0.1.10",
            "--dst",
            "10.0.2.11",
            "--proto",
            "tcp",
            "--sport",
            "40000",
            "--dport",
            "8050",
        ]);
        if json {
            c.arg("--json");
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let text = run(false);
    let want = "stateless wins, not tracked (the stateless one: security list `front-sl` rule #9: egress tcp to 10.0.2.0/24 dport 8050-8059 (stateless))";
    assert!(text.contains(want), "{text}");
    let json = run(true);
    assert!(json.contains(want), "{json}");
}

/// A VCN whose subnet `b` has no security list, and whose VNIC `y` in it
/// no NSG: its ingress and egress allow nothing, by default.
const NO_CONTAINER: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]

[[security_list]]
name = "out"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]

[[subnet]]
name = "a"
vcn = "v"
cidr_block = "10.0.1.0/24"
security_lists = ["out"]

[[subnet]]
name = "b"
vcn = "v"
cidr_block = "10.0.2.0/24"

[[vnic]]
name = "x"
subnet = "a"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "y"
subnet = "b"
private_ips = ["10.0.2.10"]
"#;

/// A packet to a VNIC with no NSG in a subnet with no security list
/// (ingress closed by default; egress too, the packet from `y`): since the
/// twenty-eighth session `explain` said why it stays closed ("... there
/// is none to add one to: give the VNIC an NSG, or the subnet a security
/// list, with a rule for it"), advice no hint proved. Now that advice is a
/// `to_open` hint, proved as the others are (the packet judged again with
/// it): a new NSG for the VNIC with the rule, and the VNIC's `nsgs` set,
/// in text and `--json`. Pasted into the scenario as written, the packet
/// and its reply pass.
///
/// Item 1 of the twenty-ninth session's polish brief.
#[test]
fn a_vnic_with_no_nsg_and_no_security_list_gets_a_new_nsg_hint() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("scenario.toml"), NO_CONTAINER).unwrap();
    for (src, dst, want) in [
        (
            "x",
            "y",
            r#"ingress-security: needs a new NSG for VNIC `y` (it has none, and its subnet `b` no security list): add [[nsg]]: { name = "y-nsg", vcn = "v", rules = [{ direction = "INGRESS", protocol = "6", source = "10.0.1.10/32", tcp_options = { destination_port_range = { min = 80, max = 80 } } }] }; then set nsgs = ["y-nsg"] in [[vnic]] `y`"#,
        ),
        (
            "y",
            "x",
            r#"egress-security: needs a new NSG for VNIC `y` (it has none, and its subnet `b` no security list): add [[nsg]]: { name = "y-nsg", vcn = "v", rules = [{ direction = "EGRESS", protocol = "6", destination = "10.0.1.10/32", tcp_options = { destination_port_range = { min = 80, max = 80 } } }] }; then set nsgs = ["y-nsg"] in [[vnic]] `y`"#,
        ),
    ] {
        let args = [
            "--src", src, "--dst", dst, "--proto", "tcp", "--dport", "80",
        ];
        let (code, text) = explain_in(dir.path(), &args);
        assert_eq!(code, 0, "{text}");
        assert!(text.contains(&format!("  to open: {want}\n")), "{text}");
        assert!(!text.contains("stays closed"), "{text}");
        let mut json = args.to_vec();
        json.push("--json");
        let (_, out) = explain_in(dir.path(), &json);
        let j: Value = serde_json::from_str(&out).unwrap();
        let hints: Vec<String> = j["to_open"]
            .as_array()
            .unwrap_or_else(|| panic!("{j:#}"))
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect();
        assert!(hints.iter().any(|h| h == want), "{j:#}");
        assert!(j.get("stays_closed").is_none(), "{j:#}");
        // Every hint pasted as written: the packet passes, and so does
        // its reply (the new NSG's rule is stateful).
        let pasted = tempfile::tempdir().unwrap();
        let s = zprsim_control::load::from_toml_str(NO_CONTAINER, "scenario.toml")
            .unwrap()
            .scenario;
        let scenario = zprsim_bench::scale::to_toml(&crate::paste::pasted(&s, &hints));
        std::fs::write(pasted.path().join("scenario.toml"), &scenario).unwrap();
        let mut reply = json.clone();
        reply.push("--reply");
        for a in [&json, &reply] {
            let (code, out) = explain_in(pasted.path(), a);
            assert_eq!(code, 0, "{out}\n{scenario}");
            let j: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(j["verdict"], "allow", "{a:?}: {j:#}\n{scenario}");
            assert!(j.get("to_open").is_none(), "{a:?}: {j:#}");
        }
    }
}
