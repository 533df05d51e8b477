//! Scenario text (TOML and JSON): the loader returns a scenario or an
//! error, and a loaded scenario compiles or fails with a limit error;
//! never a panic.

use zprsim_control::compile::{Compiled, Config};
use zprsim_control::load::{from_json_str, from_toml_str};

/// The body of the `scenario` fuzz target.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for loaded in [
        from_toml_str(text, "fuzz.toml"),
        from_json_str(text, "fuzz.json"),
    ] {
        match loaded {
            Ok(l) => {
                let cfg = Config {
                    max_table_bytes: 64 << 20,
                    ..Config::default()
                };
                let _ = Compiled::new(&l.scenario, &cfg);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

/// splitmix64: small, seeded, the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }
}

/// Values a scenario's fields take at their edges: addresses and prefixes
/// of both families, protocol names and numbers, directions, kinds,
/// selectors of ZPL, and the empty string.
const STRINGS: &[&str] = &[
    "",
    "0.0.0.0/0",
    "::/0",
    "10.0.0.0/8",
    "10.0.1.0/24",
    "10.0.1.10/32",
    "10.0.1.10",
    "fd00::/8",
    "fd00:7:0:1::10",
    "::ffff:10.0.0.1",
    "172.16.0.0/12",
    "all",
    "6",
    "17",
    "1",
    "58",
    "tcp",
    "udp",
    "icmp",
    "ingress",
    "egress",
    "internet",
    "nat",
    "service",
    "drg",
    "lpg",
    "private_ip",
    "CIDR_BLOCK",
    "SERVICE_CIDR_BLOCK",
    "NETWORK_SECURITY_GROUP",
    "all-services",
    "oci-iad-objectstorage",
    "app.role:web",
    "enforce",
    "audit",
    "allow app.role:web endpoints to connect to app.role:db endpoints with protocol='tcp/5432'",
    "in network.vcn:a VCN allow '10.0.0.0/16' to connect to all-endpoints",
];

/// Integers at the bounds of the types fields are read into.
const NUMBERS: &[i64] = &[
    0,
    1,
    -1,
    3,
    8,
    53,
    255,
    256,
    65535,
    65536,
    4_294_967_295,
    4_294_967_296,
    i64::MAX,
    i64::MIN,
];

/// Every path to a value of `v` (keys and indexes), leaves and containers.
fn paths(v: &toml::Value, at: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    out.push(at.clone());
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                at.push(PathStep::Key(k.clone()));
                paths(x, at, out);
                at.pop();
            }
        }
        toml::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(PathStep::Index(i));
                paths(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone, PartialEq, Eq)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn at_path<'a>(v: &'a mut toml::Value, path: &[PathStep]) -> Option<&'a mut toml::Value> {
    let mut cur = v;
    for step in path {
        cur = match (step, cur) {
            (PathStep::Key(k), toml::Value::Table(t)) => t.get_mut(k)?,
            (PathStep::Index(i), toml::Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Every value of `v` by the key it is under (an array's elements under
/// the array's key), and every key: a value another object gives the same
/// field keeps the field's type and references valid (a rule's NSG, a
/// VNIC's subnet), so the mutation reaches past the loader's checks.
fn by_key(
    v: &toml::Value,
    key: Option<&str>,
    values: &mut std::collections::BTreeMap<String, Vec<toml::Value>>,
    keys: &mut Vec<String>,
) {
    match v {
        toml::Value::Table(t) => {
            for (k, x) in t {
                keys.push(k.clone());
                if !x.is_table() {
                    values.entry(k.clone()).or_default().push(x.clone());
                }
                by_key(x, Some(k), values, keys);
            }
        }
        toml::Value::Array(a) => {
            for x in a {
                if let (Some(k), false) = (key, x.is_table()) {
                    values.entry(format!("{k}[]")).or_default().push(x.clone());
                }
                by_key(x, key, values, keys);
            }
        }
        _ => {}
    }
}

/// The key a value at `path` is read under (`KEY[]` for an element of an
/// array that is not a table).
fn key_of(root: &mut toml::Value, path: &[PathStep]) -> Option<String> {
    match path.last()? {
        PathStep::Key(k) => Some(k.clone()),
        PathStep::Index(_) => match path.iter().rev().nth(1)? {
            PathStep::Key(k) => at_path(root, path)
                .is_some_and(|v| !v.is_table())
                .then(|| format!("{k}[]")),
            PathStep::Index(_) => None,
        },
    }
}

/// One change inside the tree, mostly one that keeps the document a
/// scenario: a value replaced by one another object gives the same field
/// (half the changes), a field of one object copied into another (a
/// rule's `stateless`, `source_port_range`, `nsgs`, ...), an array's
/// element removed, duplicated or moved; and, less often, an edge value
/// (numbers at type bounds, prefixes, protocol names), a boolean flipped,
/// a key removed or renamed.
fn mutate_tree(
    rng: &mut Rng,
    root: &mut toml::Value,
    values: &std::collections::BTreeMap<String, Vec<toml::Value>>,
    keys: &[String],
) {
    let mut all = Vec::new();
    paths(root, &mut Vec::new(), &mut all);
    let path = all[rng.below(all.len())].clone();
    match rng.below(12) {
        // A value another object gives the same field.
        0..=5 => {
            let Some(k) = key_of(root, &path) else {
                return;
            };
            let Some(pool) = values.get(&k) else {
                return;
            };
            let x = pool[rng.below(pool.len())].clone();
            if let Some(v) = at_path(root, &path) {
                *v = x;
            }
        }
        // A field of one object copied into another.
        6 | 7 => {
            let tables: Vec<&Vec<PathStep>> = all
                .iter()
                .filter(|p| matches!(p.last(), Some(PathStep::Index(_))))
                .collect();
            if tables.is_empty() {
                return;
            }
            // Into a sibling of the same array (a rule into a rule).
            let from = tables[rng.below(tables.len())].clone();
            let parent = &from[..from.len() - 1];
            let siblings: Vec<&&Vec<PathStep>> = tables
                .iter()
                .filter(|p| p.len() == from.len() && p.starts_with(parent))
                .collect();
            let to = (*siblings[rng.below(siblings.len())]).clone();
            let Some(toml::Value::Table(src)) = at_path(root, &from).cloned() else {
                return;
            };
            if src.is_empty() {
                return;
            }
            let names: Vec<&String> = src.keys().collect();
            let k = names[rng.below(names.len())].clone();
            let x = src[&k].clone();
            if let Some(toml::Value::Table(dst)) = at_path(root, &to) {
                dst.insert(k, x);
            }
        }
        // An array's element removed, duplicated or moved.
        8 => {
            let arrays: Vec<&Vec<PathStep>> = all
                .iter()
                .filter(|p| matches!(p.last(), Some(PathStep::Index(_))))
                .collect();
            if arrays.is_empty() {
                return;
            }
            let mut p = arrays[rng.below(arrays.len())].clone();
            let Some(PathStep::Index(i)) = p.pop() else {
                return;
            };
            let how = rng.below(3);
            if let Some(toml::Value::Array(a)) = at_path(root, &p) {
                match how {
                    0 => {
                        a.remove(i);
                    }
                    1 => {
                        let x = a[i].clone();
                        a.push(x);
                    }
                    _ => {
                        let j = rng.below(a.len());
                        a.swap(i, j);
                    }
                }
            }
        }
        // An edge value of the value's kind.
        9 | 10 => {
            let Some(v) = at_path(root, &path) else {
                return;
            };
            match v {
                toml::Value::String(s) => {
                    *s = if rng.below(4) == 0 {
                        let mut t = s.clone();
                        t.truncate(rng.below(t.len() + 1));
                        t
                    } else {
                        STRINGS[rng.below(STRINGS.len())].to_owned()
                    };
                }
                toml::Value::Integer(n) => {
                    *n = match rng.below(3) {
                        0 => n.wrapping_add(1),
                        1 => n.wrapping_sub(1),
                        _ => NUMBERS[rng.below(NUMBERS.len())],
                    };
                }
                toml::Value::Boolean(b) => *b = !*b,
                toml::Value::Float(f) => *f = -*f,
                _ => {}
            }
        }
        // A key removed or renamed.
        _ => {
            let Some(PathStep::Key(k)) = path.last().cloned() else {
                return;
            };
            let parent = &path[..path.len() - 1];
            let to = (rng.below(2) == 0)
                .then(|| keys.get(rng.below(keys.len())).cloned())
                .flatten();
            if let Some(toml::Value::Table(t)) = at_path(root, parent)
                && let Some(x) = t.remove(&k)
                && let Some(to) = to
            {
                t.insert(to, x);
            }
        }
    }
}

/// A structure-aware mutation of a scenario (the `scenario` target's
/// custom mutator, and half the smoke test's mutations): `data` parsed as
/// TOML (or JSON when it starts with `{`), 1-2 changes of values and keys
/// inside it ([`mutate_tree`]), written back in the same language. So
/// most mutations stay loadable text and reach the checks past parsing,
/// the compiler and (for `agree`) both engines. `None` when `data` is
/// not a document of either language (fall back to byte mutations).
#[must_use]
pub fn mutate_structure(data: &[u8], seed: u64) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(data).ok()?;
    let json = text.trim_start().starts_with('{');
    let mut root: toml::Value = if json {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        toml::Value::try_from(v).ok()?
    } else {
        toml::Value::Table(text.parse::<toml::Table>().ok()?)
    };
    let mut rng = Rng(seed);
    let (mut values, mut keys) = (std::collections::BTreeMap::new(), Vec::new());
    by_key(&root, None, &mut values, &mut keys);
    for _ in 0..=rng.below(2) {
        mutate_tree(&mut rng, &mut root, &values, &keys);
    }
    if json {
        serde_json::to_vec_pretty(&root).ok()
    } else {
        toml::to_string(&root).ok().map(String::into_bytes)
    }
}
