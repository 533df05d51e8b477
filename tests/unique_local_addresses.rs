//! Unique local IPv6 addresses (`fc00::/7`), which the internet never
//! routes: `explain` judges every other address of a VNIC named and names
//! the odd ones; a flow-log disagreement dropped at route says why.

/// A VCN with a global (`2603:c020:9::/56`) and a unique local
/// (`fd00:9::/48`) IPv6 prefix and an internet gateway for both families:
/// VNIC `web` has 20 global addresses, then 3 unique local ones, which
/// the internet never reaches.
fn many_addresses() -> String {
    let mut ips: Vec<String> = (0x10..0x24)
        .map(|i| format!("\"2603:c020:9:1::{i:x}\""))
        .collect();
    ips.extend((0x10..0x13).map(|i| format!("\"fd00:9:0:1::{i:x}\"")));
    format!(
        r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.9.0.0/16", "2603:c020:9::/56", "fd00:9::/48"]
[[gateway]]
name = "igw"
vcn = "v"
kind = "internet"
[[route_table]]
name = "rt"
vcn = "v"
route_rules = [{{ destination = "::/0", network_entity = "igw" }}]
[[security_list]]
name = "sl"
vcn = "v"
ingress_security_rules = [{{ protocol = "6", source = "::/0", tcp_options = {{ destination_port_range = {{ min = 443, max = 443 }} }} }}]
egress_security_rules = [{{ protocol = "all", destination = "::/0" }}]
[[subnet]]
name = "web"
vcn = "v"
cidr_block = "10.9.1.0/24"
ipv6_cidr_blocks = ["2603:c020:9:1::/64", "fd00:9:0:1::/64"]
route_table = "rt"
security_lists = ["sl"]
[[vnic]]
name = "web"
subnet = "web"
private_ips = [{}]
"#,
        ips.join(", ")
    )
}

/// Area 4: `explain --dst vnic:web` from the internet judged its first 16
/// other IPv6 addresses (all global: ALLOW) and said "6 more not judged",
/// though three of those six are unique local addresses the internet never
/// reaches: the line meant to keep a VNIC from being judged by its first
/// address alone hid the very addresses it is for. Every other address is
/// judged now; those past the first 16 are counted by verdict, the ones
/// judged unlike the packet named.
///
/// Found by QA round fourteen (nineteenth session, branch s21-qa).
#[test]
fn explain_judges_every_other_address_of_a_vnic_named_and_names_the_odd_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), many_addresses()).unwrap();
    let args = |json: bool| {
        let mut a = vec![
            "explain",
            "s.toml",
            "--src",
            "2001:db8::1",
            "--dst",
            "vnic:web",
            "--proto",
            "tcp",
            "--dport",
            "443",
        ];
        if json {
            a.push("--json");
        }
        a
    };
    let o = crate::support::run_in(dir.path(), args(false));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(t.contains(": ALLOW\n"), "{t}");
    let line = t
        .lines()
        .find(|l| l.starts_with("  VNIC `web` has 22 more IPv6 addresses"))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(
        line.ends_with("; the 6 others: 3 ALLOW, 3 DROP at route (fd00:9:0:1::10, fd00:9:0:1::11, fd00:9:0:1::12) (explain one with `--dst ADDRESS`)"),
        "{line}"
    );
    let o = crate::support::run_in(dir.path(), args(true));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let o = &j["other_addresses"][0];
    assert_eq!(o["count"], 22, "{j}");
    assert_eq!(o["judged"].as_array().map(Vec::len), Some(16), "{j}");
    let rest = o["rest"].as_array().unwrap_or_else(|| panic!("{j}"));
    assert_eq!(rest.len(), 2, "{j}");
    assert_eq!(rest[0]["verdict"], "allow", "{j}");
    assert_eq!(rest[0]["count"], 3, "{j}");
    assert_eq!(rest[1]["verdict"], "drop", "{j}");
    assert_eq!(rest[1]["stage"], "route", "{j}");
    assert_eq!(rest[1]["count"], 3, "{j}");
    assert_eq!(
        rest[1]["addresses"],
        serde_json::json!(["fd00:9:0:1::10", "fd00:9:0:1::11", "fd00:9:0:1::12"]),
        "{j}"
    );
}

/// Area 3: a flow-log record of a VNIC's unique local IPv6 address to the
/// internet, which OCI logged ACCEPT, is a disagreement dropped at route;
/// its reason said "no route from `web` for this packet", though the
/// table sends `::/0` to the internet gateway: a user reading the table
/// finds a route. The disagreements listed (a bounded few) now give the
/// reference evaluator's route reason, as `explain` does: the internet
/// does not route a unique local address. Likewise the internet to that
/// address (the return path).
///
/// Found by QA round fourteen (nineteenth session, branch s21-qa).
#[test]
fn a_flow_log_disagreement_dropped_at_route_says_why_as_explain_does() {
    let dir = tempfile::tempdir().unwrap();
    let text = many_addresses().replace(
        "name = \"web\"\nsubnet = \"web\"",
        "name = \"web\"\nid = \"ocid1.vnic.oc1.iad.web\"\nsubnet = \"web\"",
    );
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let record = |src: &str, sport: u16, dst: &str, dport: u16, id: &str| {
        serde_json::json!({"logContent": {"data": {
            "action": "ACCEPT", "bytesOut": 100, "destinationAddress": dst,
            "destinationPort": dport, "endTime": 1_709_283_659, "packets": 2,
            "protocol": 6, "sourceAddress": src, "sourcePort": sport,
            "startTime": 1_709_283_600, "status": "OK", "version": "2"},
            "id": id, "oracle": {"vnicocid": "ocid1.vnic.oc1.iad.web"}}})
        .to_string()
    };
    std::fs::write(
        dir.path().join("f.jsonl"),
        format!(
            "{}\n{}\n",
            record("fd00:9:0:1::10", 443, "2001:db8::1", 50000, "a"),
            record("2001:db8::2", 50001, "fd00:9:0:1::11", 443, "b"),
        ),
    )
    .unwrap();
    let o = crate::support::run_in(dir.path(), ["replay", "s.toml", "f.jsonl"]);
    let t = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = t
        .lines()
        .filter(|l| l.contains("OCI ACCEPT, zprsim drop at route"))
        .collect();
    assert_eq!(lines.len(), 2, "{t}");
    for l in lines {
        assert!(
            l.contains("a unique local address (`fc00::/7`) is not routed on the internet"),
            "{l}"
        );
    }
}
