//! `explain`'s hints and reasons: a packet no route rule opens, the other addresses of a VNIC
//! named, a VNIC without a route table, the reply of a dropped flow, a non-first fragment.

use std::path::Path;

use crate::support::{json_of, root, run_in};

/// The OKE example (billing enforced, no statement for the legacy VM)
/// copied into `d` with its policy file, as a user's own copy.
fn oke_copy(d: &Path) {
    let oke = root().join("examples/oke-orders");
    std::fs::copy(oke.join("scenario.toml"), d.join("scenario.toml")).unwrap();
    std::fs::create_dir(d.join("policies")).unwrap();
    std::fs::copy(
        oke.join("policies/orders.zpl"),
        d.join("policies/orders.zpl"),
    )
    .unwrap();
}

/// `explain --reply` on a flow whose first packet the scenario drops (the
/// legacy VM calling billing): the reply is judged as a first packet and
/// its hints were the reply's own, a rule and a statement from billing to
/// the legacy VM's port 49152 in every layer. Applied as written they
/// open that reverse path and leave the flow closed. The hints are now
/// the first packet's: applied, the flow opens and its reply is tracked.
///
/// Found by the thirteenth session's review (branch s15-qa).
#[test]
fn explain_reply_of_a_dropped_flow_hints_what_opens_the_flow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    oke_copy(d);
    let args = [
        "explain",
        "scenario.toml",
        "--src",
        "legacy-vm",
        "--dst",
        "billing-pod-1",
        "--proto",
        "tcp",
        "--dport",
        "8080",
        "--reply",
        "--json",
    ];
    let before = json_of(&run_in(d, args));
    assert_eq!(before["first_packet"]["verdict"], "drop");
    let hints: Vec<String> = before["to_open"]
        .as_array()
        .map(|a| a.iter().map(|h| h.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    assert!(!hints.is_empty(), "{before:#}");
    // Apply every hint as written: each is a ZPL statement for the
    // policy file it names (only ZPR blocks the first packet).
    let mut zpl = std::fs::read_to_string(d.join("policies/orders.zpl")).unwrap();
    for h in &hints {
        assert!(h.contains("(in policies/orders.zpl)"), "{h}");
        let statement = h.split('"').nth(1).unwrap();
        zpl.push_str(statement);
        zpl.push('\n');
    }
    std::fs::write(d.join("policies/orders.zpl"), zpl).unwrap();
    let after = json_of(&run_in(d, args));
    assert_eq!(after["first_packet"]["verdict"], "allow", "{hints:?}");
    assert_eq!(after["verdict"], "allow", "{hints:?}");
    // The text gives the hints under the first packet they open.
    std::fs::copy(
        root().join("examples/oke-orders/policies/orders.zpl"),
        d.join("policies/orders.zpl"),
    )
    .unwrap();
    let text = run_in(d, &args[..args.len() - 1]);
    let text = String::from_utf8_lossy(&text.stdout);
    let (first, reply) = text.split_once("\nreply ").unwrap();
    assert!(first.contains("to open: zpr:"), "{text}");
    assert!(!reply.contains("to open:"), "{text}");
}

/// The hints for a non-first fragment open the whole protocol (it carries
/// no ports: semantics §3), which is right but said nowhere: a user
/// pasted `protocol = "6"` from any port where the real fix was the MTU.
/// `explain --fragment` now says why under the hints, and mentions MTU
/// and path MTU discovery (`to_open_why` in `--json`); a packet with
/// ports gets no such line.
///
/// From the fourteenth session's planning list (note-s16).
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

/// A VCN with a global, a unique local (`fd00:9::/48`) and a private
/// (`2001:db8:77::/48`) IPv6 prefix, an internet gateway for both
/// families, a DRG for an on-premises prefix, and a security list that
/// lets nothing in: VNIC `a` has an address in each prefix.
const CLOSED: &str = r#"
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
route_rules = [{ destination = "0.0.0.0/0", network_entity = "igw" }, { destination = "::/0", network_entity = "igw" }, { destination = "2001:db8:100::/48", network_entity = "drg" }]
[[security_list]]
name = "shut"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }, { destination = "::/0", protocol = "all" }]
ingress_security_rules = []
[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.0.1.0/24"
ipv6_cidr_blocks = ["2603:c020:0:1::/64", "fd00:9:0:1::/64", "2001:db8:77:1::/64"]
route_table = "rt"
security_lists = ["shut"]
[[vnic]]
name = "a"
subnet = "app"
private_ips = ["10.0.1.10", "2603:c020:0:1::10", "fd00:9:0:1::10", "2001:db8:77:1::10"]
"#;

/// `explain` of a TCP/443 first packet in scenario `text`, as text (with
/// `json` false) or JSON.
fn explain(text: &str, src: &str, dst: &str, json: bool) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    let mut args = vec![
        "explain", "s.toml", "--src", src, "--dst", dst, "--proto", "tcp", "--dport", "443",
    ];
    if json {
        args.push("--json");
    }
    let o = run_in(dir.path(), args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn explain_json(text: &str, src: &str, dst: &str) -> serde_json::Value {
    serde_json::from_str(&explain(text, src, dst, true)).unwrap()
}

/// From QA round thirteen's planning items in `explain` (eighteenth session).
#[test]
fn a_packet_no_route_rule_opens_is_said_to_stay_closed_without_other_hints() {
    // The internet to a ULA or a private prefix's address: no internet
    // gateway carries it, so the ingress rule `explain` proposed (the
    // security layer blocks it too) opened nothing.
    for a in ["fd00:9:0:1::10", "2001:db8:77:1::10"] {
        let t = explain(CLOSED, "2001:db8:1::1", a, false);
        assert!(!t.contains("to open:"), "{t}");
        assert!(
            t.contains("  stays closed: no rule, statement, gateway or route table opens it (at route: see its reason above); the hint for another layer is left out"),
            "{t}"
        );
        let j = explain_json(CLOSED, "2001:db8:1::1", a);
        assert_eq!(j["closed_at"], serde_json::json!(["route"]), "{j}");
        assert!(j.get("to_open").is_none(), "{j}");
        assert!(
            j["stays_closed"]
                .as_str()
                .is_some_and(|s| s.starts_with(&zprsim_control::verify::stay_closed(None))),
            "{j}"
        );
    }
    // Its global address: the route passes, the hint opens the rest.
    let j = explain_json(CLOSED, "2001:db8:1::1", "2603:c020:0:1::10");
    assert!(
        j["to_open"][0]
            .as_str()
            .is_some_and(|h| h.starts_with("ingress-security: add to security list `shut`")),
        "{j}"
    );
    assert!(j.get("stays_closed").is_none(), "{j}");
    assert!(j.get("closed_at").is_none(), "{j}");
}

/// From QA round thirteen's planning items in `explain` (eighteenth session).
#[test]
fn a_vnic_named_has_its_other_addresses_of_the_family_judged_too() {
    // `--dst vnic:a` stood for its first IPv6 address (global) alone:
    // its ULA and private-prefix addresses, which the internet never
    // reaches, went unsaid.
    let t = explain(CLOSED, "2001:db8:1::1", "vnic:a", false);
    assert!(
        t.contains("-> [2603:c020:0:1::10]:443: DROP at ingress-security"),
        "{t}"
    );
    assert!(
        t.contains("  VNIC `a` has 2 more IPv6 addresses, judged the same way: fd00:9:0:1::10 DROP at route, 2001:db8:77:1::10 DROP at route (explain one with `--dst ADDRESS`)"),
        "{t}"
    );
    let j = explain_json(CLOSED, "2001:db8:1::1", "vnic:a");
    let o = &j["other_addresses"];
    assert_eq!(o.as_array().map(Vec::len), Some(1), "{j}");
    assert_eq!(o[0]["flag"], "--dst");
    assert_eq!(o[0]["vnic"], "a");
    assert_eq!(o[0]["count"], 2);
    assert_eq!(o[0]["judged"][1]["address"], "2001:db8:77:1::10");
    assert_eq!(o[0]["judged"][1]["verdict"], "drop");
    assert_eq!(o[0]["judged"][1]["stage"], "route");
    // Each as the command judges: with `--reply`, the reply.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), CLOSED).unwrap();
    let o = run_in(
        dir.path(),
        [
            "explain",
            "s.toml",
            "--src",
            "vnic:a",
            "--dst",
            "2001:db8:1::1",
            "--proto",
            "tcp",
            "--dport",
            "443",
            "--reply",
            "--json",
        ],
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["verdict"], "allow", "{j}");
    assert_eq!(j["other_addresses"][0]["flag"], "--src", "{j}");
    assert_eq!(
        j["other_addresses"][0]["judged"][0]["stage"], "route",
        "{j}"
    );
    // An address named, or a VNIC with one address of the family: no note.
    let j = explain_json(CLOSED, "2001:db8:1::1", "fd00:9:0:1::10");
    assert!(j.get("other_addresses").is_none(), "{j}");
    let j = explain_json(CLOSED, "93.184.216.34", "vnic:a");
    assert!(j.get("other_addresses").is_none(), "{j}");
}

/// From QA round thirteen's planning items in `explain` (eighteenth session).
#[test]
fn a_vnic_with_many_addresses_has_a_bounded_few_judged_and_the_rest_counted() {
    let ips: Vec<String> = (10..50).map(|i| format!("\"10.0.1.{i}\"")).collect();
    let text = CLOSED.replace(
        r#"private_ips = ["10.0.1.10", "2603:c020:0:1::10", "fd00:9:0:1::10", "2001:db8:77:1::10"]"#,
        &format!("private_ips = [{}]", ips.join(", ")),
    );
    assert_ne!(text, CLOSED);
    let j = explain_json(&text, "vnic:a", "93.184.216.34");
    let o = &j["other_addresses"][0];
    assert_eq!(o["count"], 39, "{j}");
    assert_eq!(o["judged"].as_array().map(Vec::len), Some(16), "{j}");
    assert_eq!(o["judged"][0]["address"], "10.0.1.11", "{j}");
    let t = explain(&text, "vnic:a", "93.184.216.34", false);
    let line = t
        .lines()
        .find(|l| l.starts_with("  VNIC `a` has 39 more IPv4 addresses; the first 16, judged the same way: 10.0.1.11 "))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(
        // Since the nineteenth session the rest are judged too, and
        // counted per verdict (unique_local_addresses).
        line.ends_with("; the 23 others: 23 ALLOW (explain one with `--src ADDRESS`)"),
        "{line}"
    );
}

/// The route reason of packet `src` -> `dst` in `text` (TCP/443).
fn route_reason(text: &str, src: &str, dst: &str) -> (String, String) {
    let j = explain_json(text, src, dst);
    let route = j["layers"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["layer"] == "route"))
        .unwrap_or_else(|| panic!("{j}"));
    (
        j["verdict"].as_str().unwrap_or_default().to_owned(),
        route["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

/// From QA round thirteen's planning items in `explain` (eighteenth session).
#[test]
fn a_vnic_without_a_route_table_is_told_what_would_route_an_address_off_the_internet() {
    // "give it one with a rule for it" was wrong for a ULA or a private
    // prefix's address and the internet: no internet gateway carries it.
    let none = CLOSED.replace("route_table = \"rt\"\n", "");
    assert_ne!(none, CLOSED);
    for (a, why) in [
        ("fd00:9:0:1::10", "a unique local address (`fc00::/7`)"),
        ("2001:db8:77:1::10", "a private IPv6 prefix of VCN `v`"),
    ] {
        for (src, dst) in [(a, "2001:db8:1::1"), ("2001:db8:1::1", a)] {
            let (verdict, reason) = route_reason(&none, src, dst);
            assert_eq!(verdict, "drop");
            assert!(
                reason.contains("has no route table (nor has the VNIC)"),
                "{reason}"
            );
            assert!(
                reason.contains("give it one (`route_table = ...`) with a rule for it to a DRG, for a network behind one; not to an internet gateway, which carries no traffic of"),
                "{reason}"
            );
            assert!(reason.contains(why), "{reason}");
        }
    }
    // A global address: any rule would do, as before.
    let (_, reason) = route_reason(&none, "2603:c020:0:1::10", "2001:db8:1::1");
    assert!(
        reason.ends_with("give it one (`route_table = ...`) with a rule for it"),
        "{reason}"
    );
    // And what it says works: a table with a rule to the DRG routes the
    // ULA address; one to the internet gateway does not.
    for (gateway, verdict) in [("drg", "allow"), ("igw", "drop")] {
        let with = CLOSED.replace(
            r#"route_rules = [{ destination = "0.0.0.0/0", network_entity = "igw" }, { destination = "::/0", network_entity = "igw" }, { destination = "2001:db8:100::/48", network_entity = "drg" }]"#,
            &format!(r#"route_rules = [{{ destination = "::/0", network_entity = "{gateway}" }}]"#),
        );
        assert_ne!(with, CLOSED);
        let (v, reason) = route_reason(&with, "fd00:9:0:1::10", "2001:db8:1::1");
        assert_eq!(v, verdict, "{gateway}: {reason}");
    }
}

/// From QA round thirteen's planning items in `explain` (eighteenth session).
#[test]
fn the_cheap_off_internet_predicate_agrees_with_the_reason() {
    use zprsim_control::eval::{OffInternet, ipv6_off_internet, ipv6_off_internet_cause};
    use zprsim_control::ids::VnicId;
    let private = CLOSED.replace(
        "security_lists = [\"shut\"]\n",
        "security_lists = [\"shut\"]\nprohibit_internet_ingress = true\n",
    );
    assert_ne!(private, CLOSED);
    for (text, want) in [
        (
            CLOSED,
            [
                None,
                None,
                Some(OffInternet::UniqueLocal),
                Some(OffInternet::PrivatePrefix(
                    "2001:db8:77::/48".parse().unwrap(),
                )),
            ],
        ),
        (
            private.as_str(),
            [
                None,
                Some(OffInternet::PrivateSubnet),
                Some(OffInternet::PrivateSubnet),
                Some(OffInternet::PrivateSubnet),
            ],
        ),
    ] {
        let s = zprsim_control::load::from_toml_str(text, "s.toml")
            .unwrap()
            .scenario;
        let v = VnicId::new(0).unwrap();
        for (&ip, want) in s.vnics[0].private_ips.iter().zip(want) {
            let cause = ipv6_off_internet_cause(&s, v, ip);
            assert_eq!(cause, want, "{ip}");
            assert_eq!(
                cause.is_some(),
                ipv6_off_internet(&s, v, ip).is_some(),
                "{ip}"
            );
        }
    }
}

/// M3 of the twenty-fifth session's review: a first packet that passes
/// and whose reply drops at a stand-in route table (`y`'s subnet's table
/// is one `zprsim import` made up, with no rule): `verify` names the
/// stand-in beside the failing pair, `explain` said nothing of it (its
/// notes were a dropped first packet's only). Now it gives the note
/// `verify` gives, word for word.
#[test]
fn explain_names_the_stand_in_a_reply_drops_at() {
    let dir = tempfile::tempdir().unwrap();
    let s = crate::support::NO_RETURN_ROUTE.replace(
        "name = \"sb\"\nvcn = \"b\"\ncidr_block = \"10.1.1.0/24\"\n",
        "name = \"sb\"\nvcn = \"b\"\ncidr_block = \"10.1.1.0/24\"\nroute_table = \"lost\"\n",
    ) + "\n[[route_table]]\nname = \"lost\"\nvcn = \"b\"\nid = \"ocid1.routetable.oc1..lost\"\nroute_rules = []\nstand_in = true\n";
    std::fs::write(dir.path().join("s.toml"), &s).unwrap();
    std::fs::write(
        dir.path().join("e.toml"),
        "[[path]]\nname = \"x-to-y\"\nfrom = \"vnic:x\"\nto = \"vnic:y\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n",
    )
    .unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let note = v["paths"][0]["stand_ins"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        note.starts_with(
            "route table `lost` (of subnet `sb`) is a stand-in for `ocid1.routetable.oc1..lost`"
        ),
        "{v}"
    );
    let args = [
        "explain", "s.toml", "--src", "x", "--dst", "y", "--proto", "tcp", "--dport", "443",
    ];
    let o = run_in(dir.path(), args);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("ALLOW"), "{text}");
    assert!(
        text.contains("its reply tcp 10.1.1.10:443 -> 10.0.1.10:"),
        "{text}"
    );
    assert!(text.contains(&format!("  stand-in: {note}\n")), "{text}");
    let mut json = args.to_vec();
    json.push("--json");
    let j = json_of(&run_in(dir.path(), json));
    assert_eq!(j["stand_ins"][0].as_str(), Some(note.as_str()), "{j}");
}

/// L3 of the twenty-fifth session's review: `explain` said "the
/// connection cannot complete" of any reply that drops, a UDP flow's too,
/// which may be one-way. A UDP (or ICMP) reply now "would drop"; a TCP
/// reply still drops and the connection cannot complete.
#[test]
fn a_udp_reply_would_drop_and_a_tcp_connection_cannot_complete() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::fs::read_to_string(root().join("tests/cases/scenarios/zpr.toml"))
        .unwrap()
        .replace(
            "  \"in network.vcn:prod VCN allow app:sl-server endpoints to connect to app:sl-client endpoints with protocol='udp', connection-state='stateless'\",",
            "",
        );
    std::fs::write(dir.path().join("zpr.toml"), &s).unwrap();
    let explain = |proto: &str, dport: &str| {
        let o = run_in(
            dir.path(),
            [
                "explain",
                "zpr.toml",
                "--src",
                "10.10.1.60",
                "--dst",
                "10.10.1.61",
                "--proto",
                proto,
                "--dport",
                dport,
            ],
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let udp = explain("udp", "5000");
    assert!(
        udp.contains("note: its reply udp 10.10.1.61:5000 -> 10.10.1.60:")
            && udp.contains("would drop at zpr (")
            && udp.contains(") (`--reply` explains it)"),
        "{udp}"
    );
    assert!(!udp.contains("cannot complete"), "{udp}");
    let tcp = explain("tcp", "9200");
    assert!(
        tcp.contains("note: its reply tcp 10.10.1.61:9200 -> 10.10.1.60:")
            && tcp.contains("drops at zpr (")
            && tcp.contains("): the connection cannot complete (`--reply` explains it)"),
        "{tcp}"
    );
}
