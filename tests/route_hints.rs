//! Route hints that need more than a rule (nineteenth session): a rule
//! narrower than the path's that sends it to the wrong gateway is
//! retargeted, a VCN without the gateway the traffic needs gets one, a
//! subnet without a route table gets one. Each hint is pasted as written
//! into the scenario's TOML and the path judged again; "stays closed" is
//! said only when none of them opens it.

use serde_json::Value;

use crate::support::run_in;

/// One VCN, a private subnet `priv` (VNIC `app`), a public one `pub`
/// (VNIC `web`) and `bare`, with no route table (VNIC `b`); a security
/// list that lets everything through. `GATEWAYS` and `TABLES` are
/// replaced by each test.
const BASE: &str = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
GATEWAYS
TABLES
[[security_list]]
name = "open"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]

[[subnet]]
name = "pub"
vcn = "v"
cidr_block = "10.0.1.0/24"
route_table = "pub-rt"
security_lists = ["open"]

[[subnet]]
name = "priv"
vcn = "v"
cidr_block = "10.0.2.0/24"
route_table = "priv-rt"
security_lists = ["open"]
prohibit_public_ip = true

[[subnet]]
name = "bare"
vcn = "v"
cidr_block = "10.0.3.0/24"
security_lists = ["open"]

[[vnic]]
name = "web"
subnet = "pub"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "app"
subnet = "priv"
private_ips = ["10.0.2.10"]

[[vnic]]
name = "b"
subnet = "bare"
private_ips = ["10.0.3.10"]
"#;

fn scenario(gateways: &[(&str, &str)], pub_rules: &str, priv_rules: &str) -> String {
    let gws: String = gateways
        .iter()
        .map(|(name, kind)| {
            format!("[[gateway]]\nname = \"{name}\"\nvcn = \"v\"\nkind = \"{kind}\"\n")
        })
        .collect();
    let tables = format!(
        "[[route_table]]\nname = \"pub-rt\"\nvcn = \"v\"\nroute_rules = [{pub_rules}]\n\n[[route_table]]\nname = \"priv-rt\"\nvcn = \"v\"\nroute_rules = [{priv_rules}]\n"
    );
    BASE.replace("GATEWAYS", &gws).replace("TABLES", &tables)
}

/// Paths of TCP/443 from each `(name, from, to)`, all expected open.
fn expect(paths: &[(&str, &str, &str)]) -> String {
    paths
        .iter()
        .map(|(name, from, to)| {
            format!(
                "[[path]]\nname = \"{name}\"\nfrom = \"{from}\"\nto = \"{to}\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n\n"
            )
        })
        .collect()
}

/// `zprsim verify --json` of `s` and `e`: its exit code and report.
fn verify(s: &str, e: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), s).unwrap();
    std::fs::write(dir.path().join("e.toml"), e).unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code().unwrap_or(-1), v)
}

/// `zprsim explain --json` of a TCP/443 first packet.
fn explain(s: &str, src: &str, dst: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), s).unwrap();
    let o = run_in(
        dir.path(),
        [
            "explain", "s.toml", "--src", src, "--dst", dst, "--proto", "tcp", "--dport", "443",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The path `name`'s result.
fn path<'v>(v: &'v Value, name: &str) -> &'v Value {
    v["paths"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no path {name}: {v}"))
}

/// The path's `to_open`, as strings.
fn hints(v: &Value, name: &str) -> Vec<String> {
    path(v, name)["to_open"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .filter_map(|h| h.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The top-level `key = value` parts of an inline table's body (commas
/// inside brackets, braces and strings left alone).
fn parts(body: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0i32, false);
    for c in body.chars() {
        match c {
            '"' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(cur.trim().to_owned());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

/// The inline table `{ ... }` at the start of `t`, without its braces,
/// and the rest.
fn inline(t: &str) -> (&str, &str) {
    let t = t.trim_start();
    assert!(t.starts_with('{'), "{t}");
    let mut depth = 0;
    for (i, c) in t.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return (&t[1..i], &t[i + 1..]);
                }
            }
            _ => {}
        }
    }
    panic!("unclosed: {t}")
}

/// Pastes route hints into `scenario` as a user would from their text:
/// `add [[KIND]]: { ... }` appends the object, `add to route table `T`:
/// { ... }` adds the rule to `T`'s `route_rules`, `in route table `T`,
/// change rule #N (D -> ...) to network_entity = "G"` changes that rule,
/// and `set route_table = "T" in subnet `S`` gives `S` its table.
fn paste(scenario: &mut String, hint: &str) {
    // The reply's own hint (a cross-VCN packet's rule back), after the
    // first packet's: pasted as a hint of its own.
    if let Some((first, reply)) = hint.split_once("; for the reply from `") {
        paste(scenario, first);
        let (_, reply) = reply.split_once("), ").unwrap();
        if !reply.starts_with("would still drop") {
            paste(scenario, &format!("route: {reply}"));
        }
        return;
    }
    let mut rest = hint
        .strip_prefix("route: ")
        .unwrap_or_else(|| panic!("{hint}"));
    if let Some((_, r)) = rest.split_once("needs ") {
        rest = r.split_once(": ").map(|(_, r)| r).unwrap();
    }
    // What the shared-table sentence and the alternatives add is no step.
    let rest = rest.split("; but route table").next().unwrap();
    let rest = rest.split("; and route table").next().unwrap();
    let mut rest = rest.to_owned();
    while let Some(i) = rest.find(" (or ") {
        let end = i + rest[i..].find(')').unwrap();
        rest.replace_range(i..=end, "");
    }
    for step in rest.split("; ") {
        let step = step.strip_prefix("then ").unwrap_or(step);
        if let Some(r) = step.strip_prefix("add [[") {
            let (kind, r) = r.split_once("]]: ").unwrap();
            let (body, _) = inline(r);
            let lines: Vec<String> = parts(body);
            scenario.push_str(&format!("\n[[{kind}]]\n{}\n", lines.join("\n")));
        } else if let Some(r) = step.strip_prefix("add to route table `") {
            let (table, r) = r.split_once("`: ").unwrap();
            let (body, _) = inline(r);
            let at = scenario.find(&format!("name = \"{table}\"")).unwrap();
            let open = "route_rules = [";
            let at = at + scenario[at..].find(open).unwrap() + open.len();
            scenario.insert_str(at, &format!("{{ {body} }}, "));
        } else if let Some(r) = step.strip_prefix("in route table `") {
            let (table, r) = r.split_once("`, change rule #").unwrap();
            let (_, r) = r.split_once(" (").unwrap();
            let (dest, r) = r.split_once(" -> ").unwrap();
            let (_, entity) = r.split_once("to network_entity = ").unwrap();
            let at = scenario.find(&format!("name = \"{table}\"")).unwrap();
            let from = format!("{{ destination = \"{dest}\", network_entity = ");
            let i = at + scenario[at..].find(&from).unwrap() + from.len();
            let end = i + scenario[i..].find(" }").unwrap();
            scenario.replace_range(i..end, entity);
        } else if let Some((field, name)) = step
            .strip_prefix("set ")
            .and_then(|r| r.split_once(" in [[vnic]] `"))
        {
            let name = name.split('`').next().unwrap();
            let at = scenario
                .find(&format!("[[vnic]]\nname = \"{name}\"\n"))
                .unwrap();
            let key = field.split(" = ").next().unwrap();
            let i = at + scenario[at..].find(&format!("\n{key} = ")).unwrap() + 1;
            let end = i + scenario[i..].find('\n').unwrap();
            scenario.replace_range(i..end, field);
        } else if let Some(r) = step
            .strip_prefix("set ")
            .and_then(|r| r.split_once(" in [[gateway]] `"))
            .map(|(field, name)| (field, name.trim_end_matches('`')))
        {
            let (field, name) = r;
            let key = field.split(" = ").next().unwrap();
            let at = scenario
                .find(&format!("[[gateway]]\nname = \"{name}\"\n"))
                .unwrap();
            let i = at + scenario[at..].find(&format!("\n{key} = ")).unwrap() + 1;
            let end = i + scenario[i..].find('\n').unwrap();
            scenario.replace_range(i..end, field);
        } else if let Some(r) = step.strip_prefix("set route_table = ") {
            let (table, subnet) = r.split_once(" in subnet `").unwrap();
            let subnet = subnet.trim_end_matches('`');
            let head = format!("[[subnet]]\nname = \"{subnet}\"\n");
            let at = scenario.find(&head).unwrap() + head.len();
            scenario.insert_str(at, &format!("route_table = {table}\n"));
        } else {
            panic!("a step of no known shape: {step} (in {hint})");
        }
    }
}

/// Every failing path's hints pasted as written, then `verify` again:
/// every path passes.
fn pasted_all_pass(s: &str, e: &str, v: &Value) {
    let mut fixed = s.to_owned();
    for p in v["paths"].as_array().unwrap() {
        for h in p["to_open"].as_array().into_iter().flatten() {
            let h = h.as_str().unwrap();
            // Two paths may give the same hint (the same new table).
            let already = h.contains("add [[route_table]]: { name = \"bare-rt\"")
                && fixed.contains("name = \"bare-rt\"");
            if !already {
                paste(&mut fixed, h);
            }
        }
    }
    let (code, after) = verify(&fixed, e);
    assert_eq!(code, 0, "{fixed}\n{after}");
}

/// A private subnet's table sends the internet to a NAT gateway, but a
/// narrower rule sends 8.8.8.0/24 to the internet gateway, which carries
/// none of its traffic. An added `0.0.0.0/0` never wins over the /24, and
/// the table's `0.0.0.0/0` already goes to the NAT gateway: before, no
/// hint, and the pair "stayed closed". The hint now retargets the rule
/// that dropped it.
#[test]
fn a_narrower_rule_to_the_wrong_gateway_is_retargeted() {
    let s = scenario(
        &[("igw", "internet"), ("nat", "nat")],
        r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
        r#"{ destination = "0.0.0.0/0", network_entity = "nat" }, { destination = "8.8.8.0/24", network_entity = "igw" }"#,
    );
    let e = expect(&[("app-out", "vnic:app", "internet")]);
    let (code, v) = verify(&s, &e);
    assert_eq!(code, 1, "{v}");
    let p = path(&v, "app-out");
    assert!(p.get("to_open_left").is_none(), "{p}");
    assert_eq!(
        hints(&v, "app-out"),
        [
            "route: in route table `priv-rt`, change rule #1 (8.8.8.0/24 -> internet gateway `igw`) to network_entity = \"nat\""
        ]
    );
    pasted_all_pass(&s, &e, &v);
    // `explain`: a hint, not "stays closed".
    let j = explain(&s, "10.0.2.10", "8.8.8.8");
    assert!(j.get("stays_closed").is_none(), "{j}");
    assert!(j.get("closed_at").is_none(), "{j}");
    assert!(
        j["to_open"][0]
            .as_str()
            .is_some_and(|h| h.starts_with("route: ")),
        "{j}"
    );
}

/// A VCN with an internet gateway and no NAT gateway: a private subnet's
/// path to the internet was said to stay closed ("no gateway of its VCN
/// opens the route layer"); a NAT gateway would open it. The hint now
/// says so plainly and writes the gateway and the rule: with no rule for
/// the destination, an added one; with the table's own `0.0.0.0/0` to
/// the internet gateway, that rule retargeted to the new gateway.
#[test]
fn a_vcn_without_the_gateway_the_traffic_needs_gets_one() {
    let e = expect(&[("app-out", "vnic:app", "internet")]);
    for (priv_rules, step) in [
        (
            "",
            "then add to route table `priv-rt`: { destination = \"0.0.0.0/0\", network_entity = \"v-nat\" }",
        ),
        (
            r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
            "then in route table `priv-rt`, change rule #0 (0.0.0.0/0 -> internet gateway `igw`) to network_entity = \"v-nat\"",
        ),
    ] {
        let s = scenario(
            &[("igw", "internet")],
            r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
            priv_rules,
        );
        let (code, v) = verify(&s, &e);
        assert_eq!(code, 1, "{v}");
        assert!(path(&v, "app-out").get("to_open_left").is_none(), "{v}");
        assert_eq!(
            hints(&v, "app-out"),
            [format!(
                "route: needs a new NAT gateway in VCN `v`: add [[gateway]]: {{ name = \"v-nat\", vcn = \"v\", kind = \"nat\" }}; {step}"
            )]
        );
        // Every path's hints together: the gateway and the rule.
        let t = &v["hints_together"];
        assert_eq!(t["hints"], 2, "{t}");
        assert_eq!(t["still_failing"], serde_json::json!([]), "{t}");
        pasted_all_pass(&s, &e, &v);
        let j = explain(&s, "10.0.2.10", "8.8.8.8");
        assert!(j.get("stays_closed").is_none(), "{j}");
        assert!(
            j["to_open"][0]
                .as_str()
                .is_some_and(|h| h.starts_with("route: needs a new NAT gateway in VCN `v`: ")),
            "{j}"
        );
    }
    // A name another VCN's gateway has: the next free one.
    let s = scenario(
        &[("igw", "internet")],
        r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
        "",
    )
    .replacen(
        "[[gateway]]",
        "[[vcn]]\nname = \"w\"\ncidr_blocks = [\"10.1.0.0/16\"]\n[[gateway]]\nname = \"v-nat\"\nvcn = \"w\"\nkind = \"nat\"\n[[gateway]]",
        1,
    );
    let j = explain(&s, "10.0.2.10", "8.8.8.8");
    assert_eq!(
        j["to_open"][0],
        "route: needs a new NAT gateway in VCN `v`: add [[gateway]]: { name = \"v-nat-2\", vcn = \"v\", kind = \"nat\" }; then add to route table `priv-rt`: { destination = \"8.8.8.8/32\", network_entity = \"v-nat-2\" }",
        "{j}"
    );
}

/// A VCN's internet gateway is disabled and its NAT gateway blocks
/// traffic: the hint enables the one the table's rule already sends the
/// packet to (alone), or the one that opens it with a rule, rather than
/// create a second gateway of a kind the VCN has (OCI allows one internet
/// gateway per VCN). Before, the internet's return path to a public VNIC
/// "stayed closed".
#[test]
fn a_disabled_gateway_is_enabled_not_doubled() {
    let s = scenario(
        &[("igw", "internet"), ("nat", "nat")],
        r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
        "",
    )
    .replace(
        "kind = \"internet\"\n",
        "kind = \"internet\"\nis_enabled = false\n",
    )
    .replace("kind = \"nat\"\n", "kind = \"nat\"\nblock_traffic = true\n");
    let e = expect(&[
        ("web-in", "internet", "vnic:web"),
        ("web-out", "vnic:web", "internet"),
        ("app-out", "vnic:app", "internet"),
    ]);
    let (code, v) = verify(&s, &e);
    assert_eq!(code, 1, "{v}");
    let enable =
        "route: needs internet gateway `igw` enabled: set is_enabled = true in [[gateway]] `igw`";
    assert_eq!(hints(&v, "web-in"), [enable]);
    assert_eq!(hints(&v, "web-out"), [enable]);
    assert_eq!(
        hints(&v, "app-out"),
        [
            "route: needs NAT gateway `nat` to let traffic through: set block_traffic = false in [[gateway]] `nat`; then add to route table `priv-rt`: { destination = \"0.0.0.0/0\", network_entity = \"nat\" }"
        ]
    );
    // Together: two gateways enabled (once each, though two paths ask for
    // `igw`), one rule.
    let t = &v["hints_together"];
    assert_eq!(t["hints"], 3, "{t}");
    assert_eq!(t["still_failing"], serde_json::json!([]), "{t}");
    let mut fixed = s.clone();
    for name in ["web-in", "app-out"] {
        for h in hints(&v, name) {
            paste(&mut fixed, &h);
        }
    }
    assert!(fixed.contains("is_enabled = true") && fixed.contains("block_traffic = false"));
    let (code, after) = verify(&fixed, &e);
    assert_eq!(code, 0, "{fixed}\n{after}");
    let j = explain(&s, "8.8.8.8", "10.0.1.10");
    assert!(j.get("stays_closed").is_none(), "{j}");
    assert_eq!(j["to_open"][0], enable, "{j}");
}

/// A subnet with no route table (nor its VNIC): only the VCN's local
/// routes apply, and `verify` gave no hint. The hint now writes a table
/// for the subnet with the rule and gives it to the subnet; with no
/// gateway that opens it either, the gateway too. Both directions (the
/// internet's return path is the destination's table) need the same new
/// table: added once when every path's hints are added together.
#[test]
fn a_subnet_without_a_route_table_gets_one() {
    let e = expect(&[
        ("b-out", "vnic:b", "internet"),
        ("b-in", "internet", "vnic:b"),
    ]);
    let s = scenario(
        &[("igw", "internet")],
        r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
        "",
    );
    let (code, v) = verify(&s, &e);
    assert_eq!(code, 1, "{v}");
    let table = "route: needs a new route table for subnet `bare`: add [[route_table]]: { name = \"bare-rt\", vcn = \"v\", route_rules = [{ destination = \"0.0.0.0/0\", network_entity = \"igw\" }] }; then set route_table = \"bare-rt\" in subnet `bare`";
    assert_eq!(hints(&v, "b-out"), [table]);
    assert_eq!(hints(&v, "b-in"), [table]);
    // The table and its one rule, each once.
    let t = &v["hints_together"];
    assert_eq!(t["hints"], 2, "{t}");
    assert_eq!(t["still_failing"], serde_json::json!([]), "{t}");
    pasted_all_pass(&s, &e, &v);
    // No gateway at all: the table and the gateway. From the internet a
    // NAT gateway admits replies only; `b` may have a public IP, so its
    // way out is the internet gateway too (since the nineteenth session:
    // a NAT gateway there and the internet gateway for `b-in` in the same
    // table, for the same destination, cancelled out).
    let s = scenario(&[], "", "");
    let (_, v) = verify(&s, &e);
    let both = "route: needs a new route table for subnet `bare` and a new internet gateway in VCN `v`: add [[gateway]]: { name = \"v-igw\", vcn = \"v\", kind = \"internet\" }; add [[route_table]]: { name = \"bare-rt\", vcn = \"v\", route_rules = [{ destination = \"0.0.0.0/0\", network_entity = \"v-igw\" }] }; then set route_table = \"bare-rt\" in subnet `bare`";
    assert_eq!(hints(&v, "b-out"), [both]);
    assert_eq!(hints(&v, "b-in"), [both]);
    let j = explain(&s, "10.0.3.10", "8.8.8.8");
    assert!(j.get("stays_closed").is_none(), "{j}");
    assert!(
        j["to_open"][0].as_str().is_some_and(|h| h.starts_with(
            "route: needs a new route table for subnet `bare` and a new internet gateway in VCN `v`: "
        )),
        "{j}"
    );
    // Without a public IP, the NAT gateway.
    let s = s.replace(
        "private_ips = [\"10.0.3.10\"]",
        "private_ips = [\"10.0.3.10\"]\npublic_ip = false",
    );
    let j = explain(&s, "10.0.3.10", "8.8.8.8");
    assert!(
        j["to_open"][0].as_str().is_some_and(|h| h.starts_with(
            "route: needs a new route table for subnet `bare` and a new NAT gateway in VCN `v`: "
        )),
        "{j}"
    );
}

/// What no new object opens still stays closed: an address of the private
/// prefix of a VCN (no internet gateway carries it, and no NAT gateway
/// IPv6), from the internet, with no gateway at all. No internet gateway
/// is proposed for it, nor a DRG for the internet.
#[test]
fn what_no_new_gateway_or_table_opens_still_stays_closed() {
    let s = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16", "fd00:9::/48"]
[[security_list]]
name = "open"
vcn = "v"
egress_security_rules = [{ destination = "::/0", protocol = "all" }]
ingress_security_rules = [{ source = "::/0", protocol = "all" }]
[[subnet]]
name = "app"
vcn = "v"
cidr_block = "10.0.1.0/24"
ipv6_cidr_blocks = ["fd00:9:0:1::/64"]
security_lists = ["open"]
[[vnic]]
name = "a"
subnet = "app"
private_ips = ["10.0.1.10", "fd00:9:0:1::10"]
"#;
    // In words: what was tried is named, new gateways and tables too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), s).unwrap();
    let o = run_in(
        dir.path(),
        [
            "explain",
            "s.toml",
            "--src",
            "2001:db8:1::1",
            "--dst",
            "fd00:9:0:1::10",
            "--proto",
            "tcp",
            "--dport",
            "443",
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("\n  stays closed: no rule, statement, gateway or route table opens it (at route: see its reason above)\n"),
        "{text}"
    );
    for (src, dst) in [
        ("2001:db8:1::1", "fd00:9:0:1::10"),
        ("fd00:9:0:1::10", "2001:db8:1::1"),
    ] {
        let j = explain(s, src, dst);
        assert!(j.get("to_open").is_none(), "{j}");
        assert_eq!(j["closed_at"], serde_json::json!(["route"]), "{j}");
        assert!(
            j["stays_closed"]
                .as_str()
                .is_some_and(|t| t.starts_with(&zprsim_control::verify::stay_closed(None))),
            "{j}"
        );
    }
}

/// Every path's hints are proved on a copy of their own, so two paths
/// may each create a gateway at the same index of their copy: here a NAT
/// gateway in VCN `v` and an internet gateway in VCN `w`. Added together
/// (`hints_together`), each path's rule must go to its own new gateway:
/// mapped by the index alone, `w`'s return path went to `v`'s NAT gateway
/// (which admits replies only) and the path was said to still fail.
#[test]
fn every_paths_new_gateways_are_added_together_each_where_it_belongs() {
    let s = r#"
[[vcn]]
name = "v"
cidr_blocks = ["10.0.0.0/16"]
[[vcn]]
name = "w"
cidr_blocks = ["10.1.0.0/16"]
[[route_table]]
name = "v-rt"
vcn = "v"
route_rules = []
[[route_table]]
name = "w-rt"
vcn = "w"
route_rules = []
[[security_list]]
name = "v-open"
vcn = "v"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]
[[security_list]]
name = "w-open"
vcn = "w"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]
[[subnet]]
name = "priv"
vcn = "v"
cidr_block = "10.0.2.0/24"
route_table = "v-rt"
security_lists = ["v-open"]
prohibit_public_ip = true
[[subnet]]
name = "pub"
vcn = "w"
cidr_block = "10.1.1.0/24"
route_table = "w-rt"
security_lists = ["w-open"]
[[vnic]]
name = "app"
subnet = "priv"
private_ips = ["10.0.2.10"]
[[vnic]]
name = "web"
subnet = "pub"
private_ips = ["10.1.1.10"]
"#;
    let e = expect(&[
        ("app-out", "vnic:app", "internet"),
        ("web-in", "internet", "vnic:web"),
    ]);
    let (code, v) = verify(s, &e);
    assert_eq!(code, 1, "{v}");
    assert!(
        hints(&v, "app-out")[0].starts_with("route: needs a new NAT gateway in VCN `v`: "),
        "{v}"
    );
    assert!(
        hints(&v, "web-in")[0].starts_with("route: needs a new internet gateway in VCN `w`: "),
        "{v}"
    );
    let t = &v["hints_together"];
    assert_eq!(t["hints"], 4, "{t}");
    assert_eq!(t["still_failing"], serde_json::json!([]), "{t}");
    pasted_all_pass(s, &e, &v);
}

/// Takes every gateway of `kind` of VCN `vcn` out of `s`, with the route
/// rules that target it; the others keep their targets.
fn drop_gateways(
    s: &mut zprsim_control::model::Scenario,
    vcn: usize,
    kind: zprsim_control::model::GatewayKind,
) {
    use zprsim_control::ids::GatewayId;
    use zprsim_control::model::RouteTarget;
    let gone = |g: &zprsim_control::model::Gateway| g.vcn.index() == vcn && g.kind == kind;
    let mut map: Vec<Option<usize>> = Vec::new();
    let mut next = 0;
    for g in &s.gateways {
        if gone(g) {
            map.push(None);
        } else {
            map.push(Some(next));
            next += 1;
        }
    }
    s.gateways.retain(|g| !gone(g));
    for t in &mut s.route_tables {
        t.rules.retain(|r| match r.target {
            RouteTarget::Gateway(g) => map[g.index()].is_some(),
            RouteTarget::PrivateIp { .. } => true,
        });
        for r in &mut t.rules {
            if let RouteTarget::Gateway(g) = r.target {
                r.target = RouteTarget::Gateway(GatewayId::new(map[g.index()].unwrap()).unwrap());
            }
        }
    }
}

/// Takes gateways of random kinds out of each VCN, disables or blocks
/// some of the others (not a DRG: the scenario format cannot), and takes
/// away the route tables of random subnets and their VNICs'.
fn break_routes(rng: &mut impl rand::Rng, s: &mut zprsim_control::model::Scenario) {
    use zprsim_control::model::GatewayKind;
    for vcn in 0..s.vcns.len() {
        for kind in [
            GatewayKind::Internet,
            GatewayKind::Nat,
            GatewayKind::Service,
            GatewayKind::Drg,
            GatewayKind::Lpg,
        ] {
            if rng.random_bool(0.4) {
                drop_gateways(s, vcn, kind);
            }
        }
    }
    for g in &mut s.gateways {
        if g.kind != GatewayKind::Drg && rng.random_bool(0.15) {
            g.blocked = true;
        }
    }
    for sn in 0..s.subnets.len() {
        if rng.random_bool(0.3) {
            s.subnets[sn].route_table = None;
            for v in s.vnics.iter_mut().filter(|v| v.subnet.index() == sn) {
                v.route_table = None;
            }
        }
    }
}

/// Random scenarios where the route layer drops packets for every reason
/// a hint can meet: gateways of random kinds taken out of each VCN, the
/// route tables of random subnets (and their VNICs') taken away, and
/// random first packets. For each packet the reference evaluator drops at
/// route, `verify::packet_hints` (what `explain` gives): every route hint
/// it gives, applied (`verify::apply`, with its new gateways and tables),
/// opens the route layer for the packet; every hint applied opens the
/// packet when it says none is left (`left` 0), and a packet it says
/// stays closed is still dropped, at the layers it names (`closed_at`),
/// route among them only when no route hint was given.
#[test]
fn every_route_hint_applied_opens_the_route_layer_for_its_packet() {
    use rand::seq::IndexedRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use zprsim_bench::random::{
        Shape, address_pool_shaped, random_packet_shaped, random_scenario_shaped, vnic_addresses,
    };
    use zprsim_control::eval;
    use zprsim_control::verdict::{Context, Outcome, Stage, Verdict};
    use zprsim_control::verify::{self, Edit};

    let route_drops = |s: &zprsim_control::model::Scenario, p: &zprsim_control::packet::Packet| {
        eval::every_layer(s, p)
            .iter()
            .any(|l| l.layer == Stage::Route && l.outcome == Outcome::NoRoute)
    };
    let seeds = crate::support::seeds("ZPRSIM_ROUTE_HINT_SEEDS", 60);
    let (mut drops, mut hinted, mut retargets, mut new_gateways, mut new_tables, mut closed) =
        (0, 0, 0, 0, 0, 0);
    let (mut enabled, mut replies, mut skips) = (0, 0, 0);
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x2011);
        let shape = if seed % 2 == 0 {
            Shape::classic()
        } else {
            Shape::edges()
        };
        let mut s = random_scenario_shaped(&mut rng, &shape);
        break_routes(&mut rng, &mut s);
        // As the loader reads it (one value per attribute key of a VNIC),
        // so that its hints can be pasted as text.
        let s = crate::paste::loadable(&s);
        let pool = address_pool_shaped(&s, &shape);
        let vnics = vnic_addresses(&s);
        for _ in 0..40 {
            let mut p = random_packet_shaped(&mut rng, &pool, &vnics, &shape);
            if rng.random_bool(0.5) {
                // Toward one of the VNICs, or from it: the drops hints are for.
                let v = *vnics.choose(&mut rng).unwrap();
                let other = *pool.choose(&mut rng).unwrap();
                if v.is_ipv4() == other.is_ipv4() {
                    (p.src, p.dst) = if rng.random_bool(0.5) {
                        (v, other)
                    } else {
                        (other, v)
                    };
                }
            }
            let d = eval::evaluate(&s, &p, Context::First);
            if d.judgement.verdict != Verdict::Drop || !route_drops(&s, &p) {
                continue;
            }
            drops += 1;
            let w = verify::packet_hints(&s, &p);
            let route_hint = w.to_open.iter().any(|h| h.starts_with("route: "));
            let route_edits: Vec<Edit> = w
                .edits
                .iter()
                .filter(|e| {
                    matches!(
                        e,
                        Edit::Route { .. }
                            | Edit::Retarget { .. }
                            | Edit::Gateway { .. }
                            | Edit::Enable { .. }
                            | Edit::Table { .. }
                            | Edit::SkipCheck { .. }
                    )
                })
                .cloned()
                .collect();
            assert_eq!(
                route_hint,
                !route_edits.is_empty(),
                "seed {seed} {p}: {:?} {route_edits:?}",
                w.to_open
            );
            if route_hint {
                hinted += 1;
                let mut fixed = s.clone();
                verify::apply(&mut fixed, &route_edits);
                assert!(
                    !route_drops(&fixed, &p),
                    "seed {seed} {p}: the route hint does not open the route layer: {:?}",
                    w.to_open
                );
                // Between VNICs of two VCNs, the reply's route layer too
                // (since the twentieth session the hint writes the rule
                // back), unless the hint says it would still drop.
                let vcn_of = |ip| {
                    s.vnics
                        .iter()
                        .find(|v| v.private_ips.contains(&ip))
                        .map(|v| s.subnets[v.subnet.index()].vcn)
                };
                if let (Some(a), Some(b)) = (vcn_of(p.src), vcn_of(p.dst))
                    && a != b
                    && !w.to_open.iter().any(|h| h.contains("would still drop"))
                {
                    replies += 1;
                    assert!(
                        !route_drops(&fixed, &p.reply()),
                        "seed {seed} {p}: the reply still drops at route: {:?}",
                        w.to_open
                    );
                }
                for e in &route_edits {
                    match e {
                        Edit::Retarget { .. } => retargets += 1,
                        Edit::Gateway { .. } => new_gateways += 1,
                        Edit::Table { .. } => new_tables += 1,
                        Edit::Enable { .. } => enabled += 1,
                        Edit::SkipCheck { .. } => skips += 1,
                        _ => {}
                    }
                }
                // Unless the reply still drops there, as the hint says
                // (a TCP path's replies count since the twentieth session).
                assert!(
                    !w.closed_at.contains(&Stage::Route)
                        || w.to_open.iter().any(|h| h.contains("would still drop")),
                    "seed {seed} {p}: {w:?}"
                );
            }
            let mut fixed = s.clone();
            verify::apply(&mut fixed, &w.edits);
            let after = eval::evaluate(&fixed, &p, Context::First).judgement;
            // The hints' TEXT pasted into the scenario's TOML, loaded and
            // compiled (`check`; since the twenty-first session), judges
            // the packet as the edits do.
            let text = crate::paste::pasted(&s, &w.to_open);
            if route_hint {
                assert!(
                    !route_drops(&text, &p),
                    "seed {seed} {p}: pasted, the route hint does not open the route layer: {:?}",
                    w.to_open
                );
            }
            assert_eq!(
                eval::evaluate(&text, &p, Context::First).judgement.verdict,
                after.verdict,
                "seed {seed} {p}: pasted {:?}",
                w.to_open
            );
            if w.left == 0 {
                assert_eq!(after.verdict, Verdict::Allow, "seed {seed} {p}: {w:?}");
                assert!(w.closed_at.is_empty());
            } else {
                closed += 1;
                // The first packet, or (TCP, since the twentieth session)
                // its reply, still drops at a stage it names.
                let dropped = if after.verdict == Verdict::Allow && p.proto == 6 {
                    eval::evaluate(&fixed, &p.reply(), Context::Reply(after.tracking)).judgement
                } else {
                    after
                };
                assert_eq!(dropped.verdict, Verdict::Drop, "seed {seed} {p}: {w:?}");
                assert!(!w.closed_at.is_empty());
                assert!(
                    w.closed_at.contains(&dropped.stage.unwrap()),
                    "seed {seed} {p}: {w:?} {dropped:?}"
                );
            }
        }
    }
    eprintln!(
        "route drops {drops}, with a route hint {hinted} (retargets {retargets}, new gateways {new_gateways}, new tables {new_tables}, gateways enabled {enabled}, next hops set to skip the check {skips}, cross-VCN replies opened {replies}), staying closed {closed}"
    );
    assert!(replies >= 5, "{replies}");
    assert!(skips >= 1, "{skips}");
    assert!(enabled >= 10, "{enabled}");
    assert!(hinted >= 50, "{hinted}");
    assert!(retargets >= 3, "{retargets}");
    assert!(new_gateways >= 10, "{new_gateways}");
    assert!(new_tables >= 10, "{new_tables}");
}

/// A path's later pairs are judged with the earlier pairs' hints kept on
/// the copy (`whole.rs`): a table a hint created is there for them, so
/// the second pair's rule goes into that new table, not into a second
/// one (nor does reading the table, kept on the copy only, fail).
#[test]
fn a_paths_later_pairs_add_their_rules_to_the_table_an_earlier_hint_created() {
    use zprsim_control::load::{self, Format};
    use zprsim_control::packet::{L4, Packet};
    use zprsim_control::verify::{self, Edit, Limits};
    use zprsim_dataplane::scenario_file::FsFiles;

    let text = format!(
        "[[vcn]]\nname = \"w\"\ncidr_blocks = [\"10.1.0.0/16\"]\n{}",
        scenario(
            &[("igw", "internet"), ("drg", "drg")],
            r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
            "",
        )
    );
    let dir = tempfile::tempdir().unwrap();
    let files = FsFiles::new(dir.path());
    let s = load::load_str(&text, "s.toml", Format::Toml, &files)
        .unwrap()
        .scenario;
    let paths = verify::read(
        &s,
        &expect(&[("b-out", "vnic:b", "internet")]),
        "e.toml",
        &files,
        &Limits::default(),
    )
    .unwrap();
    let packet = |dst: &str| Packet {
        src: "10.0.3.10".parse().unwrap(),
        dst: dst.parse().unwrap(),
        proto: 6,
        l4: L4::Ports {
            sport: 49152,
            dport: 443,
        },
    };
    let (to_internet, to_w) = (packet("8.8.8.8"), packet("10.1.0.5"));
    let w = verify::path_hints(&s, &paths[0], [vec![to_internet], vec![to_w]]);
    assert_eq!(w.left, 0, "{w:?}");
    assert_eq!(
        w.to_open,
        [
            "route: needs a new route table for subnet `bare`: add [[route_table]]: { name = \"bare-rt\", vcn = \"v\", route_rules = [{ destination = \"0.0.0.0/0\", network_entity = \"igw\" }] }; then set route_table = \"bare-rt\" in subnet `bare`",
            "route: add to route table `bare-rt`: { destination = \"10.1.0.0/16\", network_entity = \"drg\" }",
        ]
    );
    let kinds: Vec<&str> = w
        .edits
        .iter()
        .map(|e| match e {
            Edit::Table { .. } => "table",
            Edit::Route { .. } => "route",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["table", "route", "route"]);
    let mut fixed = s.clone();
    verify::apply(&mut fixed, &w.edits);
    assert_eq!(fixed.route_tables.len(), s.route_tables.len() + 1);
    assert_eq!(fixed.route_tables.last().map(|t| t.rules.len()), Some(2));
    for p in [to_internet, to_w] {
        let d = zprsim_control::eval::evaluate(&fixed, &p, zprsim_control::verdict::Context::First);
        assert_eq!(
            d.judgement.verdict,
            zprsim_control::verdict::Verdict::Allow,
            "{p}: {d:?}"
        );
    }
}

/// A stand-in subnet (`zprsim import` made it for one the export lacks)
/// has no route table here because its real one is unknown: it gets no
/// new table (the stand-in note says to export it), and the packet is
/// said to stay closed, with the note.
#[test]
fn a_stand_in_subnet_gets_no_new_route_table() {
    let s = scenario(
        &[("igw", "internet")],
        r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
        "",
    )
    // As `zprsim import` makes one: no list, no table.
    .replace(
        "name = \"bare\"\nvcn = \"v\"\ncidr_block = \"10.0.3.0/24\"\nsecurity_lists = [\"open\"]\n",
        "name = \"bare\"\nvcn = \"v\"\ncidr_block = \"10.0.3.0/24\"\nstand_in = true\n",
    );
    assert!(s.contains("stand_in = true"));
    let j = explain(&s, "10.0.3.10", "8.8.8.8");
    assert!(j.get("to_open").is_none(), "{j}");
    assert!(
        j["closed_at"]
            .as_array()
            .is_some_and(|c| c.contains(&serde_json::json!("route"))),
        "{j}"
    );
    assert!(
        j["stand_ins"][0]
            .as_str()
            .is_some_and(|n| n.contains("subnet `bare`")),
        "{j}"
    );
    // Its route reason does not say "give it one" (its real table is
    // unknown), and it says why no hint is given rather than that nothing
    // opens it (the late review's L2; since the twentieth session).
    let reason = j["layers"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason
            .contains("stand-in subnet `bare` has no route table here, since the export lacks it")
            && !reason.contains("give it one"),
        "{j}"
    );
    let why = j["stays_closed"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("no hint at route, egress-security: a stand-in `zprsim import` made up decides it there (its stand-in note names it), and no hint goes into one: export what it stands for and import again")
            && !why.contains("no rule, statement, gateway or route table opens it"),
        "{j}"
    );
    // Likewise a stand-in route table's address of the VCN past the
    // subnet (no route since the twentieth session).
    let s = s.replace(
        "stand_in = true\n",
        "route_table = \"lost\"\nsecurity_lists = [\"open\"]\n",
    ) + "\n[[route_table]]\nname = \"lost\"\nvcn = \"v\"\nroute_rules = []\nstand_in = true\n";
    let j = explain(&s, "10.0.3.10", "10.0.2.10");
    assert_eq!(j["stage"], "route", "{j}");
    let why = j["stays_closed"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("no hint at route: a stand-in `zprsim import` made up decides it there"),
        "{j}"
    );
}

/// `verify_grouped`'s property on scenarios whose routes are broken
/// ([`break_routes`]): a path's `to_open`, with its edits (new gateways
/// and tables among them) added to the scenario, compiled and judged
/// again by `verify`, leaves exactly the `to_open_left` pairs it says.
/// The pairs after the first are judged with the earlier pairs' new
/// objects kept on the copy, and the edits name them by their index
/// there: this checks that they come out as they were proved.
#[test]
fn a_paths_hints_with_new_objects_leave_exactly_the_pairs_they_say() {
    let seeds = crate::support::seeds("ZPRSIM_ROUTE_HINT_SEEDS", 60);
    let (checked, with_new, together) = new_objects_leave_what_they_say(0..seeds);
    eprintln!(
        "checked {checked}, with a new gateway or table {with_new}, every path's hints together {together}"
    );
    assert!(together >= 30, "{together}");
    assert!(checked >= 50, "{checked}");
    assert!(with_new >= 20, "{with_new}");
}

/// The late review's F5 (seed 1257 of the check above): a pair left closed
/// when its turn came was opened by a later pair's hint, and was counted
/// as left (10 said, 9 left after applying). The pairs left are judged
/// again with every hint kept. Seed 429 since the DRG is no longer
/// offered for the internet (seed 1257 then no longer met it): 60 said,
/// 57 left.
#[test]
fn a_pair_a_later_pairs_hint_opens_is_not_counted_as_left() {
    for seeds in [429..430, 1257..1258] {
        let (checked, _, _) = new_objects_leave_what_they_say(seeds);
        assert!(checked >= 1, "{checked}");
    }
}

/// The check of [`a_paths_hints_with_new_objects_leave_exactly_the_pairs_they_say`]
/// on `seeds`: (paths checked, of those with a new gateway or table,
/// scenarios whose every path's hints were judged together).
fn new_objects_leave_what_they_say(seeds: std::ops::Range<u64>) -> (usize, usize, usize) {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use zprsim_bench::random::{Shape, address_pool_shaped, random_scenario_shaped};
    use zprsim_control::compile::{Compiled, Config};
    use zprsim_control::verify::{self, Edit, Expect, Limits, PathSpec};

    let (mut checked, mut with_new, mut together) = (0, 0, 0);
    for seed in seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x2012);
        let shape = if seed % 2 == 0 {
            Shape::classic()
        } else {
            Shape::edges()
        };
        let mut s = random_scenario_shaped(&mut rng, &shape);
        crate::verify_grouped::clone_vnics(&mut rng, &mut s);
        break_routes(&mut rng, &mut s);
        let s = crate::paste::loadable(&s);
        let c = Compiled::new(&s, &Config::default()).unwrap();
        let pool = address_pool_shaped(&s, &shape);
        let mut paths: Vec<PathSpec> = (0..8)
            .map(|i| crate::verify_grouped::random_path(&mut rng, &s, &pool, i))
            .collect();
        for p in &mut paths {
            p.expect = Expect::Allow;
            p.skipped = false;
        }
        let limits = Limits::default();
        let r = verify::run(&s, &c, &paths, &limits).unwrap();
        // Every path's hints at once: the copy with every new object
        // compiles and is judged.
        if let Some(t) = verify::together(
            &verify::Job {
                scenario: &s,
                compiled: &c,
                paths: &paths,
                limits: &limits,
                stop: &|| false,
            },
            &Config::default(),
            &r,
        )
        .unwrap()
        {
            assert!(t.error.is_none(), "seed {seed}: {t:?}");
            together += 1;
        }
        for (path, got) in paths.iter().zip(&r.paths) {
            if got.to_open_edits.is_empty() || got.to_open_checked < got.failed_pairs {
                continue;
            }
            crate::paste::hints_leave_what_they_say(&s, path, got, &limits, seed);
            checked += 1;
            with_new += usize::from(
                got.to_open_edits
                    .iter()
                    .any(|e| matches!(e, Edit::Gateway { .. } | Edit::Table { .. })),
            );
        }
    }
    (checked, with_new, together)
}

/// The late review's F3: an internet gateway disabled (`is_enabled =
/// false`) and a DRG, `0.0.0.0/0 -> igw`: both directions were opened by
/// retargeting the rule to the DRG (all the VCN's internet traffic
/// on-premises). The hint enables the gateway. With no rule at all, the
/// hint was `0.0.0.0/0 -> drg`; it enables the gateway and adds the rule
/// to it. A DRG is offered for a private range still.
#[test]
fn a_rule_to_a_disabled_internet_gateway_is_not_retargeted_to_the_drg() {
    let e = expect(&[
        ("web-out", "vnic:web", "internet"),
        ("web-in", "internet", "vnic:web"),
    ]);
    let disabled = |pub_rules: &str| {
        scenario(&[("igw", "internet"), ("drg", "drg")], pub_rules, "").replace(
            "kind = \"internet\"\n",
            "kind = \"internet\"\nis_enabled = false\n",
        )
    };
    let s = disabled(
        r#"{ destination = "0.0.0.0/0", network_entity = "igw" }, { destination = "192.168.0.0/16", network_entity = "drg" }"#,
    );
    let (code, v) = verify(&s, &e);
    assert_eq!(code, 1, "{v}");
    let enable =
        "route: needs internet gateway `igw` enabled: set is_enabled = true in [[gateway]] `igw`";
    assert_eq!(hints(&v, "web-out"), [enable], "{v}");
    assert_eq!(hints(&v, "web-in"), [enable], "{v}");
    pasted_all_pass(&s, &e, &v);
    // No rule for the internet.
    let s = disabled(r#"{ destination = "192.168.0.0/16", network_entity = "drg" }"#);
    let (_, v) = verify(&s, &e);
    let add = "route: needs internet gateway `igw` enabled: set is_enabled = true in [[gateway]] `igw`; then add to route table `pub-rt`: { destination = \"0.0.0.0/0\", network_entity = \"igw\" }";
    assert_eq!(hints(&v, "web-out"), [add], "{v}");
    assert_eq!(hints(&v, "web-in"), [add], "{v}");
    for name in ["web-out", "web-in"] {
        assert!(hints(&v, name).iter().all(|h| !h.contains("drg")), "{v}");
    }
    pasted_all_pass(&s, &e, &v);
    // On-premises (a private range outside the VCNs): the DRG.
    let s = disabled("");
    let j = explain(&s, "10.0.1.10", "172.16.5.5");
    assert_eq!(
        j["to_open"][0],
        "route: add to route table `pub-rt`: { destination = \"172.16.5.5/32\", network_entity = \"drg\" }",
        "{j}"
    );
}

/// The late review's F4: a VNIC that may have a public IP and no gateway:
/// `web-out` got a new NAT gateway with `0.0.0.0/0 -> v-nat`, `web-in` a
/// new internet gateway with `0.0.0.0/0 -> v-igw` in the same table, each
/// proved alone; together the first rule wins and `web-in` still failed.
/// The internet gateway, which carries both directions, is tried first
/// for such a VNIC: both paths get the same hint, and together they pass.
#[test]
fn a_public_vnics_two_directions_get_the_same_internet_gateway() {
    let e = expect(&[
        ("web-out", "vnic:web", "internet"),
        ("web-in", "internet", "vnic:web"),
    ]);
    let s = scenario(&[], "", "").replace(
        "private_ips = [\"10.0.1.10\"]",
        "private_ips = [\"10.0.1.10\"]\npublic_ip = \"203.0.113.10\"",
    );
    let (code, v) = verify(&s, &e);
    assert_eq!(code, 1, "{v}");
    let igw = "route: needs a new internet gateway in VCN `v`: add [[gateway]]: { name = \"v-igw\", vcn = \"v\", kind = \"internet\" }; then add to route table `pub-rt`: { destination = \"0.0.0.0/0\", network_entity = \"v-igw\" }";
    assert_eq!(hints(&v, "web-out"), [igw], "{v}");
    assert_eq!(hints(&v, "web-in"), [igw], "{v}");
    let t = &v["hints_together"];
    assert_eq!(t["still_failing"], serde_json::json!([]), "{t}");
    // The one hint, pasted once, opens both.
    let mut fixed = s.clone();
    paste(&mut fixed, igw);
    let (code, after) = verify(&fixed, &e);
    assert_eq!(code, 0, "{fixed}\n{after}");
}

/// The late review's F2: a route rule whose target the export lacks sends
/// to a stand-in gateway `zprsim import` made up (an internet gateway with
/// `is_enabled = false`). Hints said "set is_enabled = true" on it, or
/// retargeted the rule to a gateway of the VCN. Now `stand_in = true`
/// marks it: no route hint touches it, and the stand-in note names it
/// with the `oci network ... list` command that finds it.
#[test]
fn a_stand_in_gateway_is_never_enabled_nor_routed_around() {
    let e = expect(&[
        ("web-out", "vnic:web", "internet"),
        ("web-in", "internet", "vnic:web"),
    ]);
    let s = scenario(
        &[("missing-x", "internet"), ("nat", "nat")],
        r#"{ destination = "0.0.0.0/0", network_entity = "missing-x" }"#,
        "",
    )
    .replace(
        "kind = \"internet\"\n",
        "kind = \"internet\"\nis_enabled = false\nid = \"ocid1.natgateway.oc1..x\"\nstand_in = true\n",
    );
    let (code, v) = verify(&s, &e);
    assert_eq!(code, 1, "{v}");
    for name in ["web-out", "web-in"] {
        let hs = hints(&v, name);
        assert!(
            hs.iter().all(|h| !h.starts_with("route:")),
            "{name}: {hs:?}"
        );
        let notes = path(&v, name)["stand_ins"].to_string();
        assert!(
            notes.contains("gateway `missing-x`") && notes.contains("oci network nat-gateway list"),
            "{name}: {notes}"
        );
    }
    let j = explain(&s, "10.0.1.10", "8.8.8.8");
    assert!(
        j["to_open"].as_array().is_none_or(|hs| hs
            .iter()
            .all(|h| !h.as_str().unwrap_or("").starts_with("route:"))),
        "{j}"
    );
    // The route reason calls it what it is, not a disabled gateway of the
    // network (the fourth fix helper's planning note).
    let route = j["layers"][0].to_string();
    assert!(
        route.contains("a stand-in for a gateway the export lacks")
            && !route.contains("is_enabled"),
        "{route}"
    );
    // With no rule to it, no second gateway beside it either: its kind is
    // unknown.
    let s = s
        .replace(
            r#"route_rules = [{ destination = "0.0.0.0/0", network_entity = "missing-x" }]"#,
            "route_rules = []",
        )
        .replace(
            "[[gateway]]\nname = \"nat\"\nvcn = \"v\"\nkind = \"nat\"\n",
            "",
        );
    let (_, v) = verify(&s, &e);
    for name in ["web-out", "web-in"] {
        let hs = hints(&v, name);
        assert!(hs.iter().all(|h| !h.contains("new")), "{name}: {hs:?}");
    }
}

/// The late review's L1: the text line of every path's hints together
/// counts gateways enabled (and new gateways and tables) in "rule(s) and
/// statement(s)"; it says so. Here the one change is a gateway enabled.
#[test]
fn the_together_line_says_it_counts_gateways_and_tables() {
    let s = scenario(
        &[("igw", "internet")],
        r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
        "",
    )
    .replace(
        "kind = \"internet\"\n",
        "kind = \"internet\"\nis_enabled = false\n",
    );
    let e = expect(&[("web-out", "vnic:web", "internet")]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &s).unwrap();
    std::fs::write(dir.path().join("e.toml"), &e).unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("with every path's hints added (1 rule(s) and statement(s), new gateways, route tables and gateways enabled included): every path that should be open passes"),
        "{out}"
    );
}

/// The late review's F6: a hint for a first packet to a VNIC in another
/// VCN opened that packet only; pasted, its reply dropped at the other
/// VCN's route layer (no table, no rule back). The nineteenth session's
/// hint named the rule back; since the twentieth it writes it (the table
/// and DRG attachment VCN `b` needs, and the rule), proved: pasted, the
/// path passes, and its reply passes the route layer.
#[test]
fn a_cross_vcn_hint_writes_the_reply_return_route() {
    let s = r#"
[[vcn]]
name = "a"
cidr_blocks = ["10.0.0.0/16"]

[[vcn]]
name = "b"
cidr_blocks = ["10.1.0.0/16"]

[[security_list]]
name = "oa"
vcn = "a"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]

[[security_list]]
name = "ob"
vcn = "b"
egress_security_rules = [{ destination = "0.0.0.0/0", protocol = "all" }]
ingress_security_rules = [{ source = "0.0.0.0/0", protocol = "all" }]

[[route_table]]
name = "art"
vcn = "a"
route_rules = []

[[subnet]]
name = "sa"
vcn = "a"
cidr_block = "10.0.1.0/24"
route_table = "art"
security_lists = ["oa"]

[[subnet]]
name = "sb"
vcn = "b"
cidr_block = "10.1.1.0/24"
security_lists = ["ob"]

[[vnic]]
name = "x"
subnet = "sa"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "y"
subnet = "sb"
private_ips = ["10.1.1.10"]
"#;
    let j = explain(s, "10.0.1.10", "10.1.1.10");
    let h = j["to_open"][0].as_str().unwrap_or_default();
    assert!(
        h.ends_with("; for the reply from `y` (10.1.1.10 -> 10.0.1.10), needs a new route table for subnet `sb` and a new DRG attachment in VCN `b`: add [[gateway]]: { name = \"b-drg\", vcn = \"b\", kind = \"drg\" }; add [[route_table]]: { name = \"sb-rt\", vcn = \"b\", route_rules = [{ destination = \"10.0.0.0/16\", network_entity = \"b-drg\" }] }; then set route_table = \"sb-rt\" in subnet `sb`"),
        "{j}"
    );
    // Pasted as written: the first packet and its reply pass the route
    // layer (before, the reply dropped there: no table in subnet `sb`).
    let mut fixed = s.to_owned();
    paste(&mut fixed, h);
    let j = explain(&fixed, "10.0.1.10", "10.1.1.10");
    assert_eq!(j["verdict"], "allow", "{fixed}\n{j}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.toml"), &fixed).unwrap();
    let o = run_in(
        dir.path(),
        [
            "explain",
            "s.toml",
            "--src",
            "10.1.1.10",
            "--dst",
            "10.0.1.10",
            "--proto",
            "tcp",
            "--sport",
            "443",
            "--dport",
            "49152",
            "--json",
        ],
    );
    let back: Value = serde_json::from_slice(&o.stdout).unwrap();
    let route = &back["layers"][0];
    assert_eq!(route["layer"], "route", "{back}");
    assert_eq!(route["outcome"], "FORWARDED", "{back}");
    // With a rule back, no such sentence.
    let s = s.replace(
        "security_lists = [\"ob\"]\n",
        "security_lists = [\"ob\"]\nroute_table = \"brt\"\n\n[[gateway]]\nname = \"bd\"\nvcn = \"b\"\nkind = \"drg\"\n\n[[route_table]]\nname = \"brt\"\nvcn = \"b\"\nroute_rules = [{ destination = \"10.0.0.0/16\", network_entity = \"bd\" }]\n",
    );
    let j = explain(&s, "10.0.1.10", "10.1.1.10");
    let h = j["to_open"][0].as_str().unwrap_or_default();
    assert!(h.starts_with("route: ") && !h.contains("the reply"), "{j}");
}

/// A path that should be closed and is closed only by a stand-in gateway
/// (the one `zprsim import` makes up for a route target the export lacks)
/// names it, as it names a stand-in route table: the path may hold only
/// because the export is partial (the fourth fix helper's planning note:
/// `stand_in::closing` looked at stand-in tables, not gateways).
#[test]
fn a_deny_path_closed_only_by_a_stand_in_gateway_names_it() {
    let e = expect(&[("web-out", "vnic:web", "internet")])
        .replace("expect = \"allow\"", "expect = \"deny\"");
    let s = scenario(
        &[("missing-x", "internet")],
        r#"{ destination = "0.0.0.0/0", network_entity = "missing-x" }"#,
        "",
    )
    .replace(
        "kind = \"internet\"\n",
        "kind = \"internet\"\nis_enabled = false\nid = \"ocid1.natgateway.oc1..x\"\nstand_in = true\n",
    );
    let (code, v) = verify(&s, &e);
    assert_eq!(code, 0, "{v}");
    let notes = path(&v, "web-out")["stand_ins"].to_string();
    assert!(
        notes.contains("gateway `missing-x`") && notes.contains("oci network nat-gateway list"),
        "{notes}"
    );
    // The same gateway not a stand-in (really disabled): nothing to say.
    let s = s.replace("stand_in = true\n", "");
    let (code, v) = verify(&s, &e);
    assert_eq!(code, 0, "{v}");
    assert!(path(&v, "web-out")["stand_ins"].is_null(), "{v}");
}

/// A private range outside every VCN (RFC 1918 here: an on-premises
/// network) from a VCN with a NAT gateway and no DRG: the hint sent it to
/// the existing NAT gateway (which the model forwards, but which takes
/// the traffic to the internet, where no private address is routed),
/// before a DRG. Since the twentieth session a private range goes to a
/// DRG (attachment) only, a new one when the VCN has none, as OCI teams
/// route on-premises networks; the internet still goes to the NAT
/// gateway. Both directions: the return path from a private source too.
#[test]
fn a_private_range_goes_to_a_drg_not_to_an_existing_nat_gateway() {
    let s = scenario(
        &[("nat", "nat")],
        "",
        r#"{ destination = "8.8.8.0/24", network_entity = "nat" }"#,
    );
    let j = explain(&s, "10.0.2.10", "192.168.10.5");
    assert_eq!(
        j["to_open"][0].as_str().unwrap_or_default(),
        "route: needs a new DRG attachment in VCN `v`: add [[gateway]]: { name = \"v-drg\", vcn = \"v\", kind = \"drg\" }; then add to route table `priv-rt`: { destination = \"192.168.10.5/32\", network_entity = \"v-drg\" }",
        "{j}"
    );
    // The return path from the same network (the destination's table).
    let j = explain(&s, "192.168.10.5", "10.0.2.10");
    assert_eq!(
        j["to_open"][0].as_str().unwrap_or_default(),
        "route: needs a new DRG attachment in VCN `v`: add [[gateway]]: { name = \"v-drg\", vcn = \"v\", kind = \"drg\" }; then add to route table `priv-rt`: { destination = \"192.168.10.5/32\", network_entity = \"v-drg\" }",
        "{j}"
    );
    // The internet still through the NAT gateway.
    let j = explain(&s, "10.0.2.10", "8.8.4.4");
    assert_eq!(
        j["to_open"][0].as_str().unwrap_or_default(),
        "route: add to route table `priv-rt`: { destination = \"8.8.4.4/32\", network_entity = \"nat\" }",
        "{j}"
    );
    // With a DRG, the DRG, and no NAT gateway named beside it.
    let s = scenario(
        &[("nat", "nat"), ("drg", "drg")],
        "",
        r#"{ destination = "8.8.8.0/24", network_entity = "nat" }"#,
    );
    let j = explain(&s, "10.0.2.10", "172.16.0.9");
    assert_eq!(
        j["to_open"][0].as_str().unwrap_or_default(),
        "route: add to route table `priv-rt`: { destination = \"172.16.0.9/32\", network_entity = \"drg\" }",
        "{j}"
    );
}

/// A route rule whose next hop is a private IP whose VNIC checks source
/// and destination (`skip_source_dest_check = false`, OCI's default)
/// drops what it is given (semantics §3). The hint retargeted the rule to
/// a gateway, or made a new one, routing around the appliance the network
/// sends its traffic through; since the twentieth session it sets
/// `skip_source_dest_check = true` on that VNIC, proved (the witness
/// judged again with it), and not on a stand-in VNIC (its real flag is
/// unknown: the stand-in note says what to export).
#[test]
fn a_checking_next_hop_gets_skip_source_dest_check() {
    let s = scenario(
        &[("nat", "nat")],
        "",
        r#"{ destination = "0.0.0.0/0", network_entity = "10.0.1.20" }"#,
    ) + "\n[[vnic]]\nname = \"fw\"\nsubnet = \"pub\"\nprivate_ips = [\"10.0.1.20\"]\nskip_source_dest_check = false\n";
    let e = expect(&[("app-out", "vnic:app", "internet")]);
    let (code, v) = verify(&s, &e);
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        hints(&v, "app-out"),
        [
            "route: set skip_source_dest_check = true in [[vnic]] `fw` (private IP 10.0.1.20, the next hop of rule #0 of route table `priv-rt`: it drops what is not addressed to it)"
        ],
        "{v}"
    );
    let t = &v["hints_together"];
    assert_eq!(t["still_failing"], serde_json::json!([]), "{t}");
    pasted_all_pass(&s, &e, &v);
    // A stand-in VNIC as the next hop: not that hint.
    let s = s.replace(
        "skip_source_dest_check = false\n",
        "skip_source_dest_check = false\nstand_in = true\n",
    );
    let j = explain(&s, "10.0.2.10", "8.8.8.8");
    assert!(!j.to_string().contains("set skip_source_dest_check"), "{j}");
}

/// The late review's L4: a route hint in a table that other subnets use
/// too opens their route layer as well, and `explain` (which has no
/// expectations to judge again) said nothing: an internet gateway route
/// for `web` opened the internet's new connections to `web2`, a public
/// VNIC of another subnet. Since the twentieth session the hint names
/// what it also opens there, as it names what it would close.
#[test]
fn a_route_hint_in_a_shared_table_says_what_it_also_opens() {
    let s = scenario(&[("igw", "internet")], "", "")
        + "\n[[subnet]]\nname = \"pub2\"\nvcn = \"v\"\ncidr_block = \"10.0.4.0/24\"\nroute_table = \"pub-rt\"\nsecurity_lists = [\"open\"]\n\n[[vnic]]\nname = \"web2\"\nsubnet = \"pub2\"\nprivate_ips = [\"10.0.4.10\"]\n";
    let j = explain(&s, "10.0.1.10", "8.8.8.8");
    let h = j["to_open"][0].as_str().unwrap_or_default();
    assert_eq!(
        h,
        "route: add to route table `pub-rt`: { destination = \"8.8.8.8/32\", network_entity = \"igw\" }; and route table `pub-rt` is shared with other subnets: this change also opens its route layer to new connections 8.8.8.8 -> `web2` at 10.0.4.10 (subnet `pub2`) (they drop today)",
        "{j}"
    );
    // Alone in its table: nothing more said.
    let alone = s.replace(
        "cidr_block = \"10.0.4.0/24\"\nroute_table = \"pub-rt\"\n",
        "cidr_block = \"10.0.4.0/24\"\n",
    );
    assert_ne!(alone, s);
    let j = explain(&alone, "10.0.1.10", "8.8.8.8");
    let h = j["to_open"][0].as_str().unwrap_or_default();
    assert!(!h.contains("shared"), "{j}");
}

/// A service label's route rule (`SERVICE_CIDR_BLOCK`) targets a service
/// gateway only: the loader refuses any other target. From an address of
/// a label's `/32` CIDR to a VNIC, the rule for the label ties with a
/// `/32` rule for the address and wins (written first), and the hint
/// retargeted the label's rule to the internet gateway: a hint `check`
/// refuses. Since the twentieth session it is never retargeted to another
/// kind; the pair stays closed here (the route reason says why).
#[test]
fn a_service_label_rule_is_never_retargeted_away_from_a_service_gateway() {
    let s = scenario(
        &[("igw", "internet"), ("sgw", "service")],
        r#"{ destination = "osn", destination_type = "SERVICE_CIDR_BLOCK", network_entity = "sgw" }"#,
        "",
    )
    .replacen(
        "[[vcn]]",
        "[services]\n\"osn\" = [\"134.70.1.1/32\", \"147.154.0.0/16\"]\n\n[[vcn]]",
        1,
    );
    let j = explain(&s, "134.70.1.1", "10.0.1.10");
    assert!(
        !j.to_string().contains("to network_entity = \\\"igw\\\""),
        "{j}"
    );
    assert!(j.get("to_open").is_none(), "{j}");
}

/// The late review's L3: a path from `service:LABEL` to a VNIC got a
/// return-path rule for its witness's address alone (`/32`), so `verify`
/// passed once it was pasted while the label's other addresses stayed
/// closed. Since the twentieth session the rules are for the label's
/// CIDRs (of the witness's family), each proved; a label's own rule
/// (`SERVICE_CIDR_BLOCK`) can target a service gateway only, which admits
/// replies only, so they are CIDR rules. Where such a rule cannot win
/// (the table's rule for the label ties with it and is written first),
/// the witness's address, as before.
#[test]
fn a_path_from_a_service_label_gets_rules_for_the_labels_cidrs() {
    let s = scenario(&[("igw", "internet"), ("sgw", "service")], "", "").replacen(
        "[[vcn]]",
        "[services]\n\"osn\" = [\"134.70.0.0/17\", \"147.154.0.0/16\"]\n\n[[vcn]]",
        1,
    );
    let e = expect(&[("osn-in", "service:osn", "vnic:web")]);
    let (code, v) = verify(&s, &e);
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        hints(&v, "osn-in"),
        [
            "route: add to route table `pub-rt`: { destination = \"134.70.0.0/17\", network_entity = \"igw\" }; then add to route table `pub-rt`: { destination = \"147.154.0.0/16\", network_entity = \"igw\" }"
        ],
        "{v}"
    );
    assert_eq!(v["hints_together"]["hints"], 2, "{v}");
    pasted_all_pass(&s, &e, &v);
    // Pasted, the label's other CIDR passes too.
    let mut fixed = s.clone();
    paste(&mut fixed, &hints(&v, "osn-in")[0]);
    let j = explain(&fixed, "147.154.3.4", "10.0.1.10");
    assert_eq!(j["verdict"], "allow", "{j}");
    // With the label's own rule to the service gateway first: a /17 rule
    // ties and loses, so the witness's address.
    let s = s.replacen(
        "route_rules = []",
        r#"route_rules = [{ destination = "osn", destination_type = "SERVICE_CIDR_BLOCK", network_entity = "sgw" }]"#,
        1,
    );
    let (_, v) = verify(&s, &e);
    assert_eq!(
        hints(&v, "osn-in"),
        [
            "route: add to route table `pub-rt`: { destination = \"134.70.0.1/32\", network_entity = \"igw\" }"
        ],
        "{v}"
    );
}

/// The mid-session review's M1 and L2 (twentieth session): a stand-in
/// route table (`zprsim import` made it for one the export lacks) gets no
/// rule from a hint, neither for an outward destination nor for the return
/// path of an address of its own VCN (which OCI's local routes reach: a
/// rule for it may target a private IP only); and an address of the
/// VNIC's own subnet is delivered there without a lookup, both ways, as
/// between two VNICs of the subnet.
#[test]
fn a_stand_in_route_table_gets_no_hint_and_its_subnet_is_delivered_directly() {
    let s = scenario(
        &[("igw", "internet"), ("drg", "drg")],
        r#"{ destination = "0.0.0.0/0", network_entity = "igw" }"#,
        "",
    )
    .replace(
        "name = \"priv-rt\"\nvcn = \"v\"\nroute_rules = []\n",
        "name = \"priv-rt\"\nvcn = \"v\"\nroute_rules = []\nstand_in = true\n",
    );
    assert!(s.contains("stand_in = true"));
    for (src, dst) in [
        ("10.0.2.10", "192.168.1.1"),
        ("10.0.2.10", "8.8.8.8"),
        ("10.0.9.9", "10.0.2.10"),
        ("192.168.1.1", "10.0.2.10"),
    ] {
        let j = explain(&s, src, dst);
        assert_eq!(j["stage"], "route", "{src} -> {dst}: {j}");
        assert!(
            !j.to_string().contains("add to route table `priv-rt`"),
            "{src} -> {dst}: {j}"
        );
        assert!(j.get("to_open").is_none(), "{src} -> {dst}: {j}");
    }
    for (src, dst) in [("10.0.2.99", "10.0.2.10"), ("10.0.2.10", "10.0.2.99")] {
        let j = explain(&s, src, dst);
        assert_eq!(j["verdict"], "allow", "{src} -> {dst}: {j}");
        assert_eq!(j["layers"][0]["outcome"], "DIRECT", "{src} -> {dst}: {j}");
    }
}

/// The late review's L1 (twentieth session): the reply of a cross-VCN
/// first packet whose route table is a stand-in gets no hint (none goes
/// into a stand-in), and the hint says so rather than that no rule back
/// opens it.
#[test]
fn a_cross_vcn_reply_through_a_stand_in_table_says_it_is_a_stand_in() {
    let j = explain(REPLY_THROUGH_STAND_IN, "10.0.1.10", "10.1.1.10");
    let hints = j["to_open"].to_string();
    assert!(
        hints.contains("would still drop at route: VNIC `y`'s route table `rt-b` is a stand-in")
            && !hints.contains("add to route table `rt-b`"),
        "{j}"
    );
}

const REPLY_THROUGH_STAND_IN: &str = r#"
name = "owed-repro"

[[vcn]]
name = "va"
cidr_blocks = ["10.0.0.0/16"]

[[vcn]]
name = "vb"
cidr_blocks = ["10.1.0.0/16"]

[[gateway]]
name = "drg-a"
vcn = "va"
kind = "drg"

[[gateway]]
name = "drg-b"
vcn = "vb"
kind = "drg"

[[route_table]]
name = "rt-a"
vcn = "va"
route_rules = []

[[route_table]]
name = "rt-b"
vcn = "vb"
route_rules = []
stand_in = true

[[security_list]]
name = "all-a"
vcn = "va"
ingress_security_rules = [ { protocol = "all", source = "0.0.0.0/0" } ]
egress_security_rules = [ { protocol = "all", destination = "0.0.0.0/0" } ]

[[security_list]]
name = "all-b"
vcn = "vb"
ingress_security_rules = [ { protocol = "all", source = "0.0.0.0/0" } ]
egress_security_rules = [ { protocol = "all", destination = "0.0.0.0/0" } ]

[[subnet]]
name = "a1"
vcn = "va"
cidr_block = "10.0.1.0/24"
route_table = "rt-a"
security_lists = ["all-a"]

[[subnet]]
name = "b1"
vcn = "vb"
cidr_block = "10.1.1.0/24"
route_table = "rt-b"
security_lists = ["all-b"]

[[vnic]]
name = "x"
subnet = "a1"
private_ips = ["10.0.1.10"]

[[vnic]]
name = "y"
subnet = "b1"
private_ips = ["10.1.1.10"]
"#;

/// The late review's M2 (twentieth session): a path from `service:LABEL`
/// whose other CIDR a rule for it cannot open (the table's longer rule for
/// part of it, to a NAT gateway, stays first) says so in the hint instead
/// of leaving that CIDR out in silence.
#[test]
fn a_label_cidr_the_hint_cannot_open_is_named() {
    let (_, v) = verify(LABEL_NAT, LABEL_EXPECT);
    let hints = v.to_string();
    assert!(
        hints.contains("the label's 134.70.0.0/17 is not opened by this hint (from 134.70.0.1"),
        "{v}"
    );
}

/// The late review's M2 rest (twenty-first session): with the label path's
/// hints pasted, `verify` passes (its pairs judge one address of the
/// label, 147.154.0.1), and "with every path's hints added" said "every
/// path that should be open passes", while the label's 134.70.0.0/17 (or
/// the /24 of it a longer rule sends to the NAT gateway) stays closed.
/// Now the hint notes what it leaves closed (`to_open_closed`), and the
/// together line names the path in `partly_closed` instead of claiming it
/// passes; a longer rule in the middle of a CIDR the hint opens (not at
/// its first host) is found too, and named in the hint.
#[test]
fn together_does_not_claim_a_label_path_passes_where_part_of_it_stays_closed() {
    use zprsim_control::eval;
    use zprsim_control::packet::Packet;
    use zprsim_control::verdict::{Context, Stage, Verdict};
    for (scenario, part) in [
        (LABEL_NAT.to_owned(), "134.70.0.0/17"),
        (
            LABEL_NAT.replace("134.70.0.0/24", "134.70.5.0/24"),
            "134.70.5.0/24 of 134.70.0.0/17",
        ),
    ] {
        let (code, v) = verify(&scenario, LABEL_EXPECT);
        assert_eq!(code, 1, "{v}");
        let p = path(&v, "osn-to-web");
        assert_eq!(p["to_open_closed"], serde_json::json!([part]), "{v}");
        let t = &v["hints_together"];
        assert_eq!(t["still_failing"], serde_json::json!([]), "{v}");
        assert_eq!(
            t["partly_closed"],
            serde_json::json!([format!("osn-to-web ({part})")]),
            "{v}"
        );
        // What it says holds: pasted, the path passes where it is judged,
        // and the part named still drops at route.
        let s = zprsim_control::load::from_toml_str(&scenario, "s.toml")
            .unwrap()
            .scenario;
        let hints: Vec<String> = p["to_open"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect();
        let fixed = crate::paste::pasted(&s, &hints);
        let web = "10.0.1.10".parse().unwrap();
        let judged = |src: &str| {
            eval::evaluate(
                &fixed,
                &Packet::tcp(src.parse().unwrap(), 49152, web, 443),
                Context::First,
            )
            .judgement
        };
        assert_eq!(judged("147.154.0.1").verdict, Verdict::Allow);
        let first = part.split(' ').next().unwrap();
        let host = first.replace(".0/24", ".1").replace(".0/17", ".1");
        let closed = judged(&host);
        assert_eq!(
            (closed.verdict, closed.stage),
            (Verdict::Drop, Some(Stage::Route)),
            "{host}"
        );
    }
    // The text line says so.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("s.toml"),
        LABEL_NAT.replace("134.70.0.0/24", "134.70.5.0/24"),
    )
    .unwrap();
    std::fs::write(dir.path().join("e.toml"), LABEL_EXPECT).unwrap();
    let o = run_in(dir.path(), ["verify", "s.toml", "e.toml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("every path that should be open passes where it is judged, but part of what 1 of them stand(s) for stays closed: osn-to-web (134.70.5.0/24 of 134.70.0.0/17)"),
        "{out}"
    );
    assert!(
        out.contains("; but 134.70.5.0/24 of the label's 134.70.0.0/17 stays closed (from 134.70.5.1: rule #0 of route table `pub-rt` for it, a longer match, sends it elsewhere"),
        "{out}"
    );
}

const LABEL_NAT: &str = r#"
name = "label-probe"

[services]
"osn" = ["147.154.0.0/16", "134.70.0.0/17"]

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
name = "pub-rt"
vcn = "v"
route_rules = [ { destination = "134.70.0.0/24", network_entity = "nat" } ]

[[security_list]]
name = "all"
vcn = "v"
ingress_security_rules = [ { protocol = "all", source = "0.0.0.0/0" } ]
egress_security_rules = [ { protocol = "all", destination = "0.0.0.0/0" } ]

[[subnet]]
name = "pub"
vcn = "v"
cidr_block = "10.0.1.0/24"
route_table = "pub-rt"
security_lists = ["all"]

[[vnic]]
name = "web"
subnet = "pub"
private_ips = ["10.0.1.10"]
"#;

const LABEL_EXPECT: &str = r#"
[[path]]
name = "osn-to-web"
from = "service:osn"
to = "vnic:web"
proto = "tcp"
dport = 443
expect = "allow"
"#;
