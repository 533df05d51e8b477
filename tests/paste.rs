//! Hints pasted as a user pastes them: their TEXT applied to the
//! scenario's TOML (`zprsim_bench::scale::to_toml`), the result loaded and
//! compiled (what `zprsim check` does). The property tests applied a hint
//! as an edit on the model (`verify::apply`), which takes what the loader
//! refuses: a `SERVICE_CIDR_BLOCK` route rule retargeted to an internet
//! gateway (bf759b9) passed them, and `check` refused it. With the text
//! pasted, a hint the loader or the compiler refuses fails the test.

use zprsim_bench::scale::to_toml;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::escape::toml_string;
use zprsim_control::load;
use zprsim_control::model::Scenario;

/// `s` as the loader reads it back from its TOML: a random scenario may
/// give a VNIC two values of one attribute key, which the format cannot
/// write (`to_toml` keeps the first), so hints are found on this.
pub(crate) fn loadable(s: &Scenario) -> Scenario {
    let text = to_toml(s);
    load::from_toml_str(&text, "random.toml")
        .unwrap_or_else(|e| panic!("a random scenario does not load: {e}\n{text}"))
        .scenario
}

/// `s` with every hint of `hints` pasted into its TOML, in order, loaded
/// and compiled; panics (naming the hints and the text) when the loader
/// or the compiler refuses it.
pub(crate) fn pasted(s: &Scenario, hints: &[String]) -> Scenario {
    let mut text = to_toml(s);
    for h in hints {
        paste(&mut text, h);
    }
    let loaded = load::from_toml_str(&text, "pasted.toml")
        .unwrap_or_else(|e| panic!("the hints pasted do not load: {e}\nhints: {hints:#?}\n{text}"));
    if let Err(e) = Compiled::new(&loaded.scenario, &Config::default()) {
        panic!("the hints pasted do not compile: {e}\nhints: {hints:#?}\n{text}");
    }
    loaded.scenario
}

/// The hints of `got` (the result of `path` on `s`) leave the failing
/// pairs they say (`to_open_left`), twice: applied as edits on the model
/// (`verify::apply`), and their TEXT pasted into the scenario's TOML,
/// loaded and compiled as `check` does (since the twenty-first session: an
/// edit on the model takes what the loader refuses). `seed` names the
/// random case in the messages.
pub(crate) fn hints_leave_what_they_say(
    s: &Scenario,
    path: &zprsim_control::verify::PathSpec,
    got: &zprsim_control::verify::PathResult,
    limits: &zprsim_control::verify::Limits,
    seed: u64,
) {
    use zprsim_control::verify;
    let mut fixed = s.clone();
    verify::apply(&mut fixed, &got.to_open_edits);
    let text = pasted(s, &got.to_open);
    for (how, fixed) in [("applied", fixed), ("pasted", text)] {
        let fc = Compiled::new(&fixed, &Config::default()).unwrap();
        let after = verify::run(&fixed, &fc, std::slice::from_ref(path), limits).unwrap();
        assert_eq!(
            after.paths[0].failed_pairs, got.to_open_left,
            "seed {seed} {}: {how} {:?} left {} of {} failing: {:?}",
            path.name, got.to_open, got.to_open_left, got.failed_pairs, after.paths[0].failed
        );
    }
}

/// Where the block `[[KIND]]` named `name` starts in `text`.
fn block(text: &str, kind: &str, name: &str) -> usize {
    let head = format!("[[{kind}]]\nname = {}\n", toml_string(name));
    text.find(&head)
        .unwrap_or_else(|| panic!("no {kind} `{name}` in:\n{text}"))
}

/// Appends `item` to the multi-line array `key = [` of the block at `at`
/// (as `to_toml` writes arrays of rules: one item a line, `]` alone).
fn append(text: &mut String, at: usize, key: &str, item: &str) {
    let open = format!("\n{key} = [");
    let i = at
        + text[at..]
            .find(&open)
            .unwrap_or_else(|| panic!("no `{key}` after {at}:\n{text}"))
        + open.len();
    // The array's end: `]` at the start of a line, or `]` right after `[`.
    let end = if text[i..].starts_with(']') {
        text.insert(i, '\n');
        i + 1
    } else {
        i + text[i..].find("\n]").unwrap() + 1
    };
    text.insert_str(end, &format!("  {item},\n"));
}

/// Sets `key = value` in the block at `at` (the line replaced, or added
/// after the name).
fn set(text: &mut String, at: usize, key: &str, value: &str) {
    let body_end = text[at + 1..]
        .find("\n[[")
        .map_or(text.len(), |i| at + 1 + i);
    let line = format!("\n{key} = ");
    match text[at..body_end].find(&line) {
        Some(i) => {
            let i = at + i + 1;
            let end = i + text[i..].find('\n').unwrap();
            text.replace_range(i..end, &format!("{key} = {value}"));
        }
        None => {
            let name_end = at + text[at..].find("\nname = ").unwrap() + 1;
            let name_end = name_end + text[name_end..].find('\n').unwrap() + 1;
            text.insert_str(name_end, &format!("{key} = {value}\n"));
        }
    }
}

/// The `{ ... }` at the start of `t` (braces included), and the rest.
fn inline(t: &str) -> (&str, &str) {
    let t = t.trim_start();
    assert!(t.starts_with('{'), "{t}");
    let (mut depth, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in t.char_indices() {
        if quoted {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => quoted = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return (&t[..=i], &t[i + 1..]);
                }
            }
            _ => {}
        }
    }
    panic!("unclosed: {t}")
}

/// The `key = value` parts of an inline table's body (no braces).
fn parts(body: &str) -> Vec<(String, String)> {
    let (mut out, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0i32, false);
    let mut push = |cur: &str| {
        let (k, v) = cur.split_once(" = ").unwrap();
        out.push((k.trim().to_owned(), v.trim().to_owned()));
    };
    for c in body.chars() {
        match c {
            '"' => quoted = !quoted,
            '[' | '{' if !quoted => depth += 1,
            ']' | '}' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                push(&cur);
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        push(&cur);
    }
    out
}

/// The TOML strings of `t`, `"..." and "..."`, as written (quotes
/// included).
fn strings(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = t.trim();
    while !rest.is_empty() {
        assert!(rest.starts_with('"'), "{t}");
        let mut escaped = false;
        let end = rest[1..]
            .char_indices()
            .find(|&(_, c)| {
                let close = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                close
            })
            .map(|(i, _)| i + 1)
            .unwrap_or_else(|| panic!("unclosed: {t}"));
        out.push(rest[..=end].to_owned());
        rest = rest[end + 1..].trim_start();
        rest = rest.strip_prefix("and ").unwrap_or(rest).trim_start();
    }
    out
}

/// Pastes one hint's text into `text` (scenario TOML as `to_toml` writes
/// it), as docs/verify.md says to: a security rule into its NSG's `rules`
/// or its list's array; a ZPR statement into its policy's `statements`
/// (a new policy when it says so); a route hint's steps (objects added,
/// rules added or retargeted, fields set); a cross-VCN hint's rule back
/// after it. What a hint adds in words (alternatives, a shared table) is
/// no step.
pub(crate) fn paste(text: &mut String, hint: &str) {
    let (layer, rest) = hint.split_once(": ").unwrap();
    match layer {
        // A new NSG for a VNIC with none, in a subnet with no security
        // list (since the twenty-ninth session): its steps, as a route
        // hint's new table.
        "egress-security" | "ingress-security" if rest.starts_with("needs ") => {
            paste_route(text, rest);
        }
        "egress-security" | "ingress-security" => {
            let rest = rest.strip_prefix("add to ").unwrap();
            let (kind, rest) = rest.split_once(" `").unwrap();
            let (name, rest) = rest.split_once('`').unwrap();
            let (kind, key, rule) = match kind {
                "NSG" => ("nsg", "rules", rest.strip_prefix(": ").unwrap()),
                "security list" => {
                    let (key, rule) = rest
                        .strip_prefix(" (")
                        .and_then(|r| r.split_once("): "))
                        .unwrap();
                    ("security_list", key, rule)
                }
                other => panic!("{other}: {hint}"),
            };
            let (rule, tail) = inline(rule);
            assert!(tail.trim().is_empty(), "{hint}");
            let at = block(text, kind, name);
            append(text, at, key, rule);
        }
        // A stateless statement made stateful (since the twenty-sixth
        // session): statement #N of the policy replaced by the one given.
        "zpr" if rest.starts_with("remove `connection-state='stateless'` from statement #") => {
            let r = &rest["remove `connection-state='stateless'` from statement #".len()..];
            let (n, r) = r.split_once(" of ZPR policy `").unwrap();
            let n: usize = n.parse().unwrap();
            let (policy, r) = r.split_once('`').unwrap();
            let st = strings(r.rsplit_once("): ").unwrap().1);
            assert_eq!(st.len(), 1, "{hint}");
            let at = block(text, "zpr_policy", policy);
            let open = "\nstatements = [\n";
            let mut i = at + text[at..].find(open).unwrap() + open.len();
            for _ in 0..n {
                i += text[i..].find('\n').unwrap() + 1;
            }
            let end = i + text[i..].find('\n').unwrap();
            text.replace_range(i..end, &format!("  {},", st[0]));
        }
        "zpr" => {
            let (policy, statements) = if let Some(r) = rest.strip_prefix("add to ZPR policy `") {
                let (name, r) = r.split_once('`').unwrap();
                let (_, r) = r.split_once(": ").unwrap();
                (name.to_owned(), r)
            } else {
                let r = rest.strip_prefix("add a ZPR policy (e.g. `").unwrap();
                // The name, then what the hint says of it (a reply's
                // statement is stateful, since the twenty-second session).
                let (name, r) = r.split_once('`').unwrap();
                let (_, r) = r.split_once(") with: ").unwrap();
                (name.to_owned(), r)
            };
            let head = format!("[[zpr_policy]]\nname = {}\n", toml_string(&policy));
            if !text.contains(&head) {
                text.push_str(&format!("\n{head}statements = [\n]\n"));
            }
            let at = block(text, "zpr_policy", &policy);
            for st in strings(statements) {
                append(text, at, "statements", &st);
            }
        }
        "route" => paste_route(text, rest),
        other => panic!("a hint of no known layer `{other}`: {hint}"),
    }
}

fn paste_route(text: &mut String, hint: &str) {
    // The reply's own hint (a cross-VCN packet's rule back), after the
    // first packet's: its steps pasted after.
    if let Some((first, reply)) = hint.split_once("; for the reply from `") {
        paste_route(text, first);
        let (_, reply) = reply.split_once("), ").unwrap();
        paste_route(text, reply);
        return;
    }
    // A reply's own route hint (since the twenty-second session: its
    // first packet passes, its reply has no route back): its steps.
    if let Some(reply) = hint.strip_prefix("for the reply from `") {
        let (_, reply) = reply.split_once("), ").unwrap();
        paste_route(text, reply);
        return;
    }
    let rest = hint.split("; the reply from `").next().unwrap();
    let mut rest = rest;
    if let Some(r) = rest.strip_prefix("needs ") {
        rest = r.split_once(": ").map(|(_, r)| r).unwrap();
    }
    // What the shared-table sentences and the alternatives add is no step.
    let rest = rest.split("; but route table").next().unwrap();
    let rest = rest.split("; and route table").next().unwrap();
    let mut rest = rest.to_owned();
    while let Some(i) = rest.find(" (or ") {
        let end = i + rest[i..].find(')').unwrap();
        rest.replace_range(i..=end, "");
    }
    let mut rest = rest.as_str();
    while !rest.is_empty() {
        // What a label's hint says it leaves closed (`the label's C is not
        // opened ... (...)`, `but D of the label's C stays closed (...)`)
        // is no step.
        if rest.starts_with("the label's ") || rest.starts_with("but ") {
            let open = rest.find('(').unwrap();
            let (mut depth, mut end) = (0, open);
            for (i, c) in rest[open..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = open + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = rest[end + 1..].trim_start();
            rest = rest.strip_prefix("; ").unwrap_or(rest);
            continue;
        }
        let step = rest.strip_prefix("then ").unwrap_or(rest);
        // Each step ends at `; ` outside an inline table.
        let (step, next) = if step.starts_with("add [[") || step.starts_with("add to route table") {
            let (head, r) = step.split_once(": ").unwrap();
            let (table, r) = inline(r);
            ((head, Some(table)), r)
        } else {
            let (s, r) = step.split_once("; ").unwrap_or((step, ""));
            ((s, None), r)
        };
        rest = next.strip_prefix("; ").unwrap_or(next).trim_start();
        let (head, table) = step;
        if let Some(kind) = head
            .strip_prefix("add [[")
            .and_then(|r| r.strip_suffix("]]"))
        {
            let body = table.unwrap();
            let mut lines = vec![format!("[[{kind}]]")];
            for (k, v) in parts(&body[1..body.len() - 1]) {
                if k == "route_rules" || k == "rules" {
                    let inner = v[1..v.len() - 1].trim();
                    let mut items = Vec::new();
                    let mut r = inner;
                    while !r.trim().is_empty() {
                        let (t, after) = inline(r);
                        items.push(format!("  {t},"));
                        r = after.trim_start().strip_prefix(',').unwrap_or(after);
                    }
                    lines.push(format!("{k} = [\n{}\n]", items.join("\n")));
                } else {
                    lines.push(format!("{k} = {v}"));
                }
            }
            text.push_str(&format!("\n{}\n", lines.join("\n")));
        } else if let Some(name) = head
            .strip_prefix("add to route table `")
            .and_then(|r| r.strip_suffix('`'))
        {
            let at = block(text, "route_table", name);
            append(text, at, "route_rules", table.unwrap());
        } else if let Some(r) = head.strip_prefix("in route table `") {
            let (name, r) = r.split_once("`, change rule #").unwrap();
            let (n, r) = r.split_once(" (").unwrap();
            let n: usize = n.parse().unwrap();
            let (_, entity) = r.split_once("to network_entity = ").unwrap();
            let at = block(text, "route_table", name);
            let open = "\nroute_rules = [\n";
            let mut i = at + text[at..].find(open).unwrap() + open.len();
            for _ in 0..n {
                i += text[i..].find('\n').unwrap() + 1;
            }
            let end = i + text[i..].find('\n').unwrap();
            let line = &text[i..end];
            let k = line.find("network_entity = ").unwrap() + "network_entity = ".len();
            // The entity: a quoted name or address, to the next `,` or ` }`.
            let old_end = k + line[k..]
                .find(", ")
                .or_else(|| line[k..].find(" }"))
                .unwrap();
            text.replace_range(i + k..i + old_end, entity);
        } else if let Some(r) = head.strip_prefix("set ") {
            let (field, r) = r.split_once(" in ").unwrap();
            let (key, value) = field.split_once(" = ").unwrap();
            let (kind, name) = if let Some(n) = r.strip_prefix("[[vnic]] `") {
                ("vnic", n.split('`').next().unwrap())
            } else if let Some(n) = r.strip_prefix("[[gateway]] `") {
                ("gateway", n.split('`').next().unwrap())
            } else if let Some(n) = r.strip_prefix("subnet `") {
                ("subnet", n.split('`').next().unwrap())
            } else {
                panic!("a step of no known shape: {head} (in {hint})")
            };
            let at = block(text, kind, name);
            set(text, at, key, value);
        } else {
            panic!("a step of no known shape: {head} (in {hint})");
        }
    }
}

/// Two VCNs over DRGs, `x` in NSG `a-nsg` (VCN `a`), `y` in NSG `b-nsg`
/// (VCN `b`) with no ingress rule.
const TWO_VCN_NSGS: &str = r#"
[[vcn]]
name = "a"
cidr_blocks = ["10.0.0.0/16"]

[[vcn]]
name = "b"
cidr_blocks = ["10.1.0.0/16"]

[[gateway]]
name = "ad"
vcn = "a"
kind = "drg"

[[gateway]]
name = "bd"
vcn = "b"
kind = "drg"

[[nsg]]
name = "a-nsg"
vcn = "a"
rules = [
  { direction = "EGRESS", protocol = "all", destination = "0.0.0.0/0" },
]

[[nsg]]
name = "b-nsg"
vcn = "b"
rules = [
  { direction = "EGRESS", protocol = "all", destination = "0.0.0.0/0" },
]

[[route_table]]
name = "art"
vcn = "a"
route_rules = [
  { destination = "10.1.0.0/16", network_entity = "ad" },
]

[[route_table]]
name = "brt"
vcn = "b"
route_rules = [
  { destination = "10.0.0.0/16", network_entity = "bd" },
]

[[subnet]]
name = "sa"
vcn = "a"
cidr_block = "10.0.1.0/24"
route_table = "art"
security_lists = []

[[subnet]]
name = "sb"
vcn = "b"
cidr_block = "10.1.1.0/24"
route_table = "brt"
security_lists = []

[[vnic]]
name = "x"
subnet = "sa"
private_ips = ["10.0.1.10"]
nsgs = ["a-nsg"]

[[vnic]]
name = "y"
subnet = "sb"
private_ips = ["10.1.1.10"]
nsgs = ["b-nsg"]
"#;

/// A path from `nsg:a-nsg` to a VNIC of another VCN: the ingress hint
/// named `a-nsg` as the peer of a rule in `b-nsg` (`source_type =
/// "NETWORK_SECURITY_GROUP"`), which the model judged open and the
/// loader refuses ("nsg `a-nsg` belongs to vcn `a`, not to vcn `b` of
/// this nsg"; OCI too): found pasting the hints' text in the property
/// tests. The hint names the address now, and pasted it loads and opens
/// the path.
#[test]
fn a_hint_never_names_an_nsg_of_another_vcn_as_its_peer() {
    use zprsim_control::verify::{self, Limits};
    use zprsim_dataplane::scenario_file::FsFiles;
    let files = FsFiles::new(".");
    let s = load::from_toml_str(TWO_VCN_NSGS, "s.toml")
        .unwrap()
        .scenario;
    let expect = "[[path]]\nname = \"a-to-y\"\nfrom = \"nsg:a-nsg\"\nto = \"vnic:y\"\nproto = \"tcp\"\ndport = 443\nexpect = \"allow\"\n";
    let limits = Limits::default();
    let paths = verify::read(&s, expect, "e.toml", &files, &limits).unwrap();
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let r = verify::run(&s, &c, &paths, &limits).unwrap();
    let p = &r.paths[0];
    assert!(!p.ok, "{p:?}");
    assert_eq!(
        p.to_open,
        [
            "ingress-security: add to NSG `b-nsg`: { direction = \"INGRESS\", protocol = \"6\", source = \"10.0.1.10/32\", tcp_options = { destination_port_range = { min = 443, max = 443 } } }"
        ]
    );
    let fixed = pasted(&s, &p.to_open);
    let fc = Compiled::new(&fixed, &Config::default()).unwrap();
    let paths = verify::read(&fixed, expect, "e.toml", &files, &limits).unwrap();
    assert_eq!(verify::run(&fixed, &fc, &paths, &limits).unwrap().failed, 0);
}
