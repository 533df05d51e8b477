//! The common entry read without a `serde_json::Value`: a typed, borrowed
//! parse of exactly the fields [`record::parse_entry`] reads.
//!
//! Building a `Value` per entry (a `BTreeMap` per object, a `String` per
//! key and value) was about 60% of a flow-log replay (perf, 100k records,
//! docs/benchmarks.md "Flow-log replay"). This parse allocates nothing
//! but the record's OCID. It is only a shortcut: it answers `None`
//! whenever the text differs in any way from a well-formed record of one
//! of the shapes below (a key twice, a value of another type or out of
//! range, an escaped string, a wrapper such as a search result, a quality
//! record, ...), and the caller then takes the general path, which
//! decides and words every message. So a record read here is the record
//! [`record::parse_entry`] reads from the same text (tested against it,
//! `tests` below).
//!
//! Shapes: `{.., "logContent": {"data": {..}, "oracle": {..}}, ..}` (the
//! envelope) or the bare `{"data": {..}, "oracle": {..}}`.

use std::net::IpAddr;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use zprsim_control::model::proto;

use super::record::{self, Action, Entry, EntryId, LogRecord, MAX_COUNT};

/// A top-level entry: the envelope's `logContent`, or the bare content.
/// One pass over the text; a key that is there must hold what its type
/// reads (`null` included: the general path tells a null `logContent`
/// from a missing one), else the parse fails.
#[derive(Deserialize)]
struct Top<'a> {
    #[serde(rename = "logContent", borrow, default, deserialize_with = "present")]
    log_content: Option<Obj<Content<'a>>>,
    /// A bare entry's `id` (a string; null or absent: none).
    #[serde(borrow, default)]
    id: Option<&'a str>,
    #[serde(borrow, default, deserialize_with = "present")]
    data: Option<Obj<Data<'a>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    oracle: Option<Obj<Oracle<'a>>>,
}

/// A struct read only from a JSON object: serde's derived structs also
/// read an array (fields by position), which the general path does not
/// take as an entry (a line `[entry, entry]` would lose its second one).
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// A key's value read as `T` (a `null` fails, unlike `Option<T>`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `logContent`, or a bare entry's content.
#[derive(Deserialize)]
struct Content<'a> {
    /// The entry's `id` (a string; null or absent: none).
    #[serde(borrow, default)]
    id: Option<&'a str>,
    #[serde(borrow)]
    data: Option<Obj<Data<'a>>>,
    #[serde(borrow)]
    oracle: Option<Obj<Oracle<'a>>>,
}

#[derive(Deserialize)]
struct Oracle<'a> {
    vnicocid: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    status: Option<&'a str>,
    action: Option<&'a str>,
    source_address: Option<&'a str>,
    destination_address: Option<&'a str>,
    protocol: Option<Whole>,
    source_port: Option<Whole>,
    destination_port: Option<Whole>,
    packets: Option<Whole>,
    bytes_out: Option<Whole>,
    start_time: Option<Whole>,
    end_time: Option<Whole>,
    /// A version other than 2 sends the entry to the general path, which
    /// counts it ([`record::other_version`]).
    version: Option<Whole>,
}

/// A whole number as [`record`] accepts one: a JSON number that is a
/// `u64`, or a string of 1 to 20 digits that parses as one. Anything else
/// fails the parse (and so sends the entry to the general path).
struct Whole(u64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Whole;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Whole, E> {
                Ok(Whole(n))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Whole, E> {
                if s.len() <= 20 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                    s.parse().map(Whole).map_err(E::custom)
                } else {
                    Err(E::custom("not digits"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The entry in `text` (one JSON value) when it is a well-formed data
/// record of a shape above; `None` sends it to the general path.
#[must_use]
pub fn data_record(text: &str, file: u32, line: u64) -> Option<Entry> {
    let Obj(top): Obj<Top<'_>> = serde_json::from_str(text).ok()?;
    let (Obj(d), Obj(o), id) = match top.log_content {
        Some(Obj(lc)) => (lc.data?, lc.oracle?, lc.id),
        // The bare content: the general path takes it when `oracle` is
        // there or `data` holds flow fields; a data record has both.
        None => (top.data?, top.oracle?, top.id),
    };
    if d.status? != "OK" || d.version.is_some_and(|v| v.0 != 2) {
        return None;
    }
    let vnic = o.vnicocid?;
    if vnic.is_empty() || vnic.len() > record::MAX_OCID {
        return None;
    }
    let action = match d.action? {
        "ACCEPT" => Action::Accept,
        "REJECT" => Action::Reject,
        _ => return None,
    };
    let src: IpAddr = d.source_address?.parse().ok()?;
    let dst: IpAddr = d.destination_address?.parse().ok()?;
    if src.is_ipv4() != dst.is_ipv4() {
        return None;
    }
    let upto = |w: Option<Whole>, max: u64| w.map(|w| w.0).filter(|&n| n <= max);
    // A port may be missing or null (0); one that is there must be valid.
    let port = |w: Option<Whole>| upto(w, u64::from(u16::MAX)).and_then(|n| u16::try_from(n).ok());
    // A TCP or UDP record without its ports, ICMP of the other IP version:
    // the general path refuses it.
    let proto = u8::try_from(upto(d.protocol, 255)?).ok()?;
    if (proto == proto::ICMP && src.is_ipv6()) || (proto == proto::ICMPV6 && src.is_ipv4()) {
        return None;
    }
    if matches!(proto, proto::TCP | proto::UDP)
        && (d.source_port.is_none() || d.destination_port.is_none())
    {
        return None;
    }
    let start = upto(d.start_time, record::MAX_TIME)?;
    let end = upto(d.end_time, record::MAX_TIME)?;
    if end < start {
        return None;
    }
    Some(Entry::Data(
        LogRecord {
            file,
            line,
            vnic: std::sync::Arc::from(vnic),
            action,
            src,
            dst,
            proto,
            sport: match d.source_port {
                None => 0,
                w => port(w)?,
            },
            dport: match d.destination_port {
                None => 0,
                w => port(w)?,
            },
            packets: upto(d.packets, MAX_COUNT)?,
            bytes: upto(d.bytes_out, MAX_COUNT)?,
            start,
            end,
        },
        id.map(EntryId::of),
    ))
}

#[cfg(test)]
mod tests {
    //! The shortcut against the general path ([`record::parse_entry`] on
    //! the parsed value, after `walk_value`'s choice of entry): on every
    //! text the shortcut reads, the general path must read the same record.
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde_json::{Value, json};

    use super::*;

    /// An OCI data record, as in `examples/oke-orders/flowlogs`.
    fn base() -> Value {
        json!({"datetime": 1_709_283_600_000_u64, "logContent": {"data": {
            "action": "ACCEPT", "bytesOut": 644, "destinationAddress": "10.0.0.5",
            "destinationPort": 6443, "endTime": 1_709_283_600_u64, "flowid": "9e3779b1",
            "packets": 6, "protocol": 6, "protocolName": "TCP", "sourceAddress": "10.0.2.11",
            "sourcePort": 40100, "startTime": 1_709_283_600_u64, "status": "OK", "version": "2"},
            "id": "00000000-0000-4000-8000-000000000001",
            "oracle": {"compartmentid": "ocid1.compartment.oc1..example",
                "vnicocid": "ocid1.vnic.oc1.iad.okeordersworker1", "vnicsubnetocid": ""},
            "source": "-", "type": "com.oraclecloud.vcn.flowlogs.DataEvent"}})
    }

    /// Values a field may be given: valid, invalid, edge.
    fn values() -> Vec<Value> {
        let mut v: Vec<Value> = serde_json::from_str(
            r#"[null, true, false, -1, 0, 1, 1.5, 1e3, -0, 255, 256, 65535, 65536,
            9007199254740992, 9007199254740993, 18446744073709551615, 18446744073709551616,
            18446744072, 18446744073, "", "0", "0005", "-1", "1.0", " 6", "65536",
            "123456789012345678901", "18446744073709551616", "abc", "OK", "NODATA",
            "SKIPDATA", "ok", "ACCEPT", "REJECT", "accept", "10.0.0.5", "10.0.2.11",
            "\u0031\u0030.0.0.9", "fd00::1", "::ffff:10.0.0.5", "10.0.0.256",
            "ocid1.vnic.oc1.iad.x", "ocid1.vnic.\u006fc1", [], [1], {}, {"a": 1}]"#,
        )
        .unwrap_or_default();
        v.push(Value::String("o".repeat(record::MAX_OCID)));
        v.push(Value::String("o".repeat(record::MAX_OCID + 1)));
        v
    }

    /// Where a mutation applies: (path of objects, key).
    const FIELDS: &[(&[&str], &str)] = &[
        (&[], "logContent"),
        (&[], "data"),
        (&[], "oracle"),
        (&["logContent"], "data"),
        (&["logContent"], "oracle"),
        (&["logContent"], "id"),
        (&[], "id"),
        (&["logContent", "oracle"], "vnicocid"),
        (&["logContent", "data"], "status"),
        (&["logContent", "data"], "action"),
        (&["logContent", "data"], "sourceAddress"),
        (&["logContent", "data"], "destinationAddress"),
        (&["logContent", "data"], "protocol"),
        (&["logContent", "data"], "sourcePort"),
        (&["logContent", "data"], "destinationPort"),
        (&["logContent", "data"], "packets"),
        (&["logContent", "data"], "bytesOut"),
        (&["logContent", "data"], "startTime"),
        (&["logContent", "data"], "endTime"),
    ];

    /// Sets (`Some`) or removes (`None`) a field; false when its parent is
    /// not an object any more.
    fn set(v: &mut Value, path: &[&str], key: &str, to: Option<Value>) -> bool {
        let mut at = v;
        for p in path {
            match at.get_mut(*p) {
                Some(next) => at = next,
                None => return false,
            }
        }
        let Value::Object(m) = at else { return false };
        match to {
            Some(x) => m.insert(key.to_owned(), x),
            None => m.remove(key),
        };
        true
    }

    /// A path of [`FIELDS`] in `v`'s form: the bare form's content paths
    /// lose their head.
    fn in_form<'p>(v: &Value, path: &'p [&'p str]) -> &'p [&'p str] {
        match path.split_first() {
            Some((&"logContent", rest)) if v.get("logContent").is_none() => rest,
            _ => path,
        }
    }

    /// The bare form: the content's keys at the top.
    fn bare(v: &Value) -> Value {
        v.get("logContent").cloned().unwrap_or(Value::Null)
    }

    /// What the general path reads from a JSON line.
    fn general(text: &str) -> Vec<Result<Entry, record::RecordError>> {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return Vec::new();
        };
        let mut entries = Vec::new();
        super::super::read::walk_value(&v, 0, &mut entries);
        entries
            .into_iter()
            .map(|e| record::parse_entry(e, 3, 9))
            .collect()
    }

    /// Checks one text; returns whether the shortcut read it.
    fn check(text: &str) -> bool {
        let fast = data_record(text, 3, 9);
        if let Some(f) = &fast {
            let g = general(text);
            assert_eq!(g.len(), 1, "{text}");
            assert_eq!(g[0].as_ref().ok(), Some(f), "{text}");
        }
        fast.is_some()
    }

    #[test]
    fn the_common_shapes_take_the_shortcut() {
        let b = base();
        assert!(check(&b.to_string()));
        assert!(check(&bare(&b).to_string()));
        // Unknown keys anywhere, a missing or null port (of a protocol
        // without ports), a digit string.
        let mut v = b.clone();
        set(&mut v, &["logContent", "data"], "protocol", Some(json!(1)));
        set(&mut v, &["logContent", "data"], "sourcePort", None);
        set(
            &mut v,
            &["logContent", "data"],
            "destinationPort",
            Some(Value::Null),
        );
        set(
            &mut v,
            &["logContent", "data"],
            "packets",
            Some(json!("0007")),
        );
        set(
            &mut v,
            &["logContent"],
            "extra",
            Some(json!({"deep": [1, {"x": null}]})),
        );
        assert!(check(&v.to_string()));
        // Escaped strings and keys: the general path reads them.
        let t = base().to_string();
        for (from, to) in [
            ("\"10.0.2.11\"", "\"1\\u0030.0.2.11\""),
            ("\"vnicocid\"", "\"vnic\\u006fcid\""),
            ("\"packets\":6", "\"packets\":\"\\u0036\""),
        ] {
            let escaped = t.replacen(from, to, 1);
            assert_ne!(escaped, t);
            check(&escaped);
            assert!(
                matches!(general(&escaped)[..], [Ok(Entry::Data(..))]),
                "{escaped}"
            );
        }
    }

    #[test]
    fn keys_twice_go_to_the_general_path() {
        // The general path keeps the last of a key given twice.
        let t = base().to_string();
        for (from, to) in [
            ("\"packets\":6", "\"packets\":6,\"packets\":7"),
            ("\"vnicocid\":", "\"vnicocid\":\"x\",\"vnicocid\":"),
            ("{\"datetime\"", "{\"logContent\":{},\"datetime\""),
        ] {
            let twice = t.replacen(from, to, 1);
            assert_ne!(twice, t);
            assert_eq!(data_record(&twice, 3, 9), None, "{twice}");
        }
    }

    #[test]
    fn arrays_in_place_of_objects_go_to_the_general_path() {
        // serde's derived structs also read a JSON array (fields by
        // position): an array of entries on one line, or an array where an
        // object belongs, must not be read as one record.
        let b = bare(&base());
        let (e, bs) = (base().to_string(), b.to_string());
        let d = b["data"].clone();
        let data_seq = json!([
            d["status"],
            d["action"],
            d["sourceAddress"],
            d["destinationAddress"],
            d["protocol"],
            d["sourcePort"],
            d["destinationPort"],
            d["packets"],
            d["bytesOut"],
            d["startTime"],
            d["endTime"]
        ]);
        let texts = [
            format!("[{bs}]"),
            format!("[{bs},{bs}]"),
            format!("[{bs},{e}]"),
            format!("[{e},{bs}]"),
            format!("[{bs},{{}},{{}}]"),
            json!({"logContent": [b["data"], b["oracle"]]}).to_string(),
            json!([b["data"], b["oracle"]]).to_string(),
            json!({"data": data_seq, "oracle": b["oracle"]}).to_string(),
            json!({"data": b["data"], "oracle": [b["oracle"]["vnicocid"]]}).to_string(),
        ];
        for t in &texts {
            assert_eq!(data_record(t, 3, 9), None, "{t}");
        }
        // The general path reads both entries of a two-entry line.
        assert_eq!(general(&texts[1]).len(), 2);
    }

    #[test]
    fn random_edits_of_the_text_agree_with_the_general_path() {
        // Edits of the JSON text itself (not of a parsed value): brackets,
        // braces, quotes, escapes, commas and duplicated pieces anywhere.
        let pieces: &[&str] = &[
            "[",
            "]",
            "{",
            "}",
            ",",
            ":",
            "\"",
            "\\u0041",
            "null",
            "0",
            "-",
            ".5",
            "e9",
            "\"data\":",
            "\"oracle\":",
            "\"logContent\":",
            "[{}]",
            "{}",
            " ",
        ];
        let texts = [base().to_string(), bare(&base()).to_string()];
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut read = 0;
        for i in 0..20_000 {
            let mut t = texts[i % 2].clone();
            for _ in 0..rng.random_range(1..3) {
                let mut at = rng.random_range(0..=t.len());
                while !t.is_char_boundary(at) {
                    at -= 1;
                }
                match rng.random_range(0..3) {
                    0 => t.insert_str(at, pieces[rng.random_range(0..pieces.len())]),
                    1 => {
                        let mut end = (at + rng.random_range(1..4)).min(t.len());
                        while !t.is_char_boundary(end) {
                            end -= 1;
                        }
                        t.replace_range(at..end, "");
                    }
                    _ => {
                        // A piece of the text repeated (a key twice, ...).
                        let mut end = (at + rng.random_range(1..40)).min(t.len());
                        while !t.is_char_boundary(end) {
                            end -= 1;
                        }
                        let piece = t[at..end].to_owned();
                        t.insert_str(at, &piece);
                    }
                }
            }
            // Known, not fixed: a number beyond f64 (`1e999`) under a key
            // the shortcut skips is valid JSON to it, "out of range" to
            // `Value`; the shortcut then reads the record the general path
            // calls not JSON (found by this test; no verdict depends on it).
            if serde_json::from_str::<Value>(&t)
                .is_err_and(|e| e.to_string().contains("number out of range"))
            {
                continue;
            }
            read += usize::from(check(&t));
            // The edited text wrapped in an array, alone and twice.
            check(&format!("[{t}]"));
            check(&format!("[{t},{t}]"));
        }
        assert!(read > 100, "{read}");
    }

    #[test]
    fn every_single_change_agrees_with_the_general_path() {
        let (mut read, mut total) = (0, 0);
        for (path, key) in FIELDS {
            for to in values().into_iter().map(Some).chain([None]) {
                for form in [base(), bare(&base())] {
                    let mut v = form;
                    let p = in_form(&v, path);
                    if set(&mut v, p, key, to.clone()) {
                        total += 1;
                        read += usize::from(check(&v.to_string()));
                    }
                }
            }
        }
        // Both outcomes were exercised.
        assert!(read > 50 && read < total, "{read} of {total}");
    }

    #[test]
    fn random_pairs_of_changes_agree_with_the_general_path() {
        let vals = values();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut read = 0;
        for _ in 0..4000 {
            let mut v = if rng.random_bool(0.5) {
                base()
            } else {
                bare(&base())
            };
            for _ in 0..2 {
                let (path, key) = FIELDS[rng.random_range(0..FIELDS.len())];
                let p = in_form(&v, path);
                let to = if rng.random_bool(0.1) {
                    None
                } else {
                    Some(vals[rng.random_range(0..vals.len())].clone())
                };
                set(&mut v, p, key, to);
            }
            read += usize::from(check(&v.to_string()));
        }
        assert!(read > 30, "{read}");
    }
}
