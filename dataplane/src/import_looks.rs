//! What a file given to `import` looks like, from its first bytes: the
//! keys of its first JSON object (the value itself, or an array's first
//! element), read without keeping any value. `import oci` wants a
//! directory of OCI CLI outputs; a file given in its place, or a file in
//! that directory that is no CLI output (a flow log kept beside the
//! export), is named for what it is, with the command line that uses it.
//! A gzip or zstd file (`oci ... | gzip`) is looked at decompressed: its
//! first [`HEAD`] bytes out, at most.

use std::fmt;
use std::io::Read;
use std::path::Path;

use crate::capture::decompress::Codec;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Bytes looked at, at most: a flow-log entry's or a CLI output's first
/// keys come in the first few hundred.
pub const HEAD: usize = 64 << 10;

/// Keys of the first object kept, at most.
const MAX_KEYS: usize = 32;

/// What a file looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Looks {
    /// No bytes, or blanks only.
    Empty,
    /// OCI VCN flow-log entries (`logContent`, or `data` with `oracle`).
    FlowLog,
    /// One OCI CLI output (`data`).
    CliOutput,
    /// OCI's public IP ranges file (`regions`).
    Ranges,
    /// A zprsim scenario in TOML.
    Scenario,
    /// Other JSON.
    OtherJson,
    /// Anything else.
    Other,
}

impl fmt::Display for Looks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Looks::Empty => "is empty",
            Looks::FlowLog => "holds OCI VCN flow-log records (traffic, which `zprsim replay SCENARIO FILE` judges), not an OCI CLI output",
            Looks::CliOutput => "is one OCI CLI output",
            Looks::Ranges => "is OCI's public IP ranges file (for `--services`), not an OCI CLI output",
            Looks::Scenario => "is a zprsim scenario (TOML) already",
            Looks::OtherJson => "is JSON, but not an OCI CLI output (no `data`)",
            Looks::Other => "is neither JSON nor a scenario",
        })
    }
}

/// What the file at `p` looks like, from its first [`HEAD`] bytes, and
/// the compression it is in: a gzip or zstd file is looked at through its
/// first [`HEAD`] bytes decompressed (any compressed JSON was taken for a
/// flow log, a gzipped CLI output too).
///
/// # Errors
/// The file cannot be read.
pub fn file(p: &Path) -> std::io::Result<(Looks, Option<Codec>)> {
    let mut head = Vec::new();
    std::fs::File::open(p)?
        .take(HEAD as u64)
        .read_to_end(&mut head)?;
    let codec = Codec::of(&head);
    let head = crate::flowlog::detect::decompressed_within(&head, HEAD);
    // The name without the compression's suffix: `s.toml.gz` is TOML.
    let name = p.file_name().map(|n| n.to_string_lossy());
    let name = name.as_deref().map(|n| strip_compressed(n).unwrap_or(n));
    let toml_name = name.and_then(zprsim_control::load::Format::from_file_name)
        == Some(zprsim_control::load::Format::Toml);
    Ok((text(&String::from_utf8_lossy(&head), toml_name), codec))
}

/// `name` without `.gz` or `.zst`, when it ends so.
#[must_use]
pub fn strip_compressed(name: &str) -> Option<&str> {
    name.strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
}

/// What `text` (a file's text or its start) looks like; `toml_name`: the
/// file is named `*.toml`.
#[must_use]
pub fn text(text: &str, toml_name: bool) -> Looks {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.is_empty() {
        return Looks::Empty;
    }
    if !t.starts_with(['{', '[']) {
        let scenario = toml_name
            || t.lines().any(|l| {
                let l = l.trim();
                l.starts_with("[[vcn]]") || l.starts_with("[[subnet]]") || l.starts_with("[[vnic]]")
            });
        return if scenario {
            Looks::Scenario
        } else {
            Looks::Other
        };
    }
    let mut keys = Vec::new();
    // Cut at HEAD or not, the keys read before the end are kept: the
    // error at a cut is no verdict.
    let mut de = serde_json::Deserializer::from_str(t);
    let _ = FirstKeys {
        keys: &mut keys,
        top: true,
    }
    .deserialize(&mut de);
    let has = |k: &str| keys.iter().any(|x| x == k);
    if has("logContent") || (has("data") && has("oracle")) {
        Looks::FlowLog
    } else if has("regions") {
        Looks::Ranges
    } else if has("data") {
        Looks::CliOutput
    } else {
        Looks::OtherJson
    }
}

/// Collects the keys of the first object: the value itself, or (at the
/// top) an array's first element; every value is skipped unkept.
struct FirstKeys<'k> {
    keys: &'k mut Vec<String>,
    top: bool,
}

impl<'de> DeserializeSeed<'de> for FirstKeys<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.top {
            seq.next_element_seed(FirstKeys {
                keys: self.keys,
                top: false,
            })?;
        }
        // The rest is not looked at: the error it gives is ignored.
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<String>()? {
            self.keys.push(k);
            if self.keys.len() >= MAX_KEYS {
                break;
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    // Any other value holds no keys.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_told_by_their_first_keys() {
        for (t, want) in [
            ("", Looks::Empty),
            (" \n", Looks::Empty),
            (r#"{"data": [{"id": "ocid1.vcn"}]}"#, Looks::CliOutput),
            (r#"{"data": {"id": "x"}, "etag": "1"}"#, Looks::CliOutput),
            (
                r#"[{"datetime": 1, "logContent": {"data": {}}}]"#,
                Looks::FlowLog,
            ),
            (
                "{\"data\": {}, \"oracle\": {\"vnicocid\": \"v\"}}\n{\"data\": 1}",
                Looks::FlowLog,
            ),
            // Cut inside the first entry, after its keys.
            (
                r#"[{"datetime": 1, "logContent": {"data": {"act"#,
                Looks::FlowLog,
            ),
            (r#"{"syncToken": "1", "regions": []}"#, Looks::Ranges),
            (r#"[1, 2]"#, Looks::OtherJson),
            ("name = \"t\"\n[[vcn]]\nname = \"v\"", Looks::Scenario),
            ("\u{a1}\u{b2}pcap", Looks::Other),
        ] {
            assert_eq!(text(t, false), want, "{t}");
        }
        assert_eq!(text("name = \"t\"", true), Looks::Scenario);
    }
}
