//! One OCI VCN flow-log record: the fields zprsim judges, taken from a
//! parsed JSON entry with or without the `{datetime, logContent}` envelope
//! (field names in `../shared/reference/oci-inputs.md` §1.2). Unknown keys
//! are ignored; every field that is missing, null, of the wrong type or out
//! of range is a [`RecordError`] naming the field.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use zprsim_control::model::proto as ip_proto;

/// What OCI recorded it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    /// `ACCEPT`.
    Accept,
    /// `REJECT`.
    Reject,
}

/// A record with `status` `OK` (a data record), or a quality record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `status: OK`, with the entry's `id` when it has one (a string).
    Data(LogRecord, Option<EntryId>),
    /// `status: NODATA`: nothing was recorded in the window (with the
    /// entry's `id` and `startTime` when it has both, to find it read
    /// twice).
    NoData(Option<(EntryId, u64)>),
    /// `status: SKIPDATA`: some traffic was not logged (key as for
    /// `NoData`).
    SkipData(Option<(EntryId, u64)>),
}

/// An entry's `id` ("Random UUID, unique to each log entry"), as a 128-bit
/// hash: the reader counts an entry whose id it has seen as a duplicate
/// (the same object downloaded twice, a `.jsonl` beside its `.jsonl.gz`)
/// without keeping the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryId(pub u128);

impl EntryId {
    /// The id of an entry whose `id` is `text`.
    #[must_use]
    pub fn of(text: &str) -> EntryId {
        // Two hashes with different fixed seeds, compared only within one
        // run (ahash's output may differ between CPUs: never stored). A
        // collision (two ids taken for one) would lose a record; at 128
        // bits over millions of entries it does not happen.
        let h = |a: u64, b: u64| {
            ahash::RandomState::with_seeds(a, b, a ^ 0x5bd1, b ^ 0x2f1e).hash_one(text)
        };
        EntryId(
            u128::from(h(0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344)) << 64
                | u128::from(h(0xa409_3822_299f_31d0, 0x082e_fa98_ec4e_6c89)),
        )
    }
}

/// A data record: one VNIC, one direction, one capture window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRecord {
    /// Index of the file among the inputs.
    pub file: u32,
    /// 1-based line of the entry in its (decompressed) file.
    pub line: u64,
    /// `oracle.vnicocid`: shared by the records of one VNIC (the reader
    /// keeps one copy of each OCID: [`crate::flowlog::read::ReadOutcome`]),
    /// so a record's VNIC costs a pointer, not its ~90 bytes of text.
    pub vnic: Arc<str>,
    /// `data.action`.
    pub action: Action,
    /// `data.sourceAddress`.
    pub src: IpAddr,
    /// `data.destinationAddress`.
    pub dst: IpAddr,
    /// `data.protocol`.
    pub proto: u8,
    /// `data.sourcePort` (0 when null, as for protocols without ports).
    pub sport: u16,
    /// `data.destinationPort` (0 when null).
    pub dport: u16,
    /// `data.packets`.
    pub packets: u64,
    /// `data.bytesOut`.
    pub bytes: u64,
    /// `data.startTime`, epoch seconds.
    pub start: u64,
    /// `data.endTime`, epoch seconds.
    pub end: u64,
}

/// Why an entry is not a usable record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(pub String);

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, RecordError> {
    Err(RecordError(msg.into()))
}

/// Longest accepted OCID (OCI's are well under 255 characters).
pub const MAX_OCID: usize = 255;

/// Largest accepted packet or byte count of one record (2^53: what a JSON
/// number holds exactly; OCI's one-minute windows are far below it).
pub const MAX_COUNT: u64 = 1 << 53;

/// Latest accepted `startTime` or `endTime`, in epoch seconds: the bound
/// keeps nanosecond arithmetic in range.
pub const MAX_TIME: u64 = u64::MAX / 1_000_000_000 - 1;

/// The `logContent` object of an entry: the entry itself when it has no
/// envelope (it then has `data` and `oracle`).
#[must_use]
pub fn log_content(entry: &Map<String, Value>) -> Option<&Map<String, Value>> {
    match entry.get("logContent") {
        Some(Value::Object(m)) => Some(m),
        Some(_) => None,
        None if entry.contains_key("oracle") || entry_has_flow_data(entry) => Some(entry),
        None => None,
    }
}

fn entry_has_flow_data(entry: &Map<String, Value>) -> bool {
    matches!(entry.get("data"), Some(Value::Object(d)) if d.contains_key("status") || d.contains_key("sourceAddress"))
}

fn field<'a>(m: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a Value, RecordError> {
    match m.get(key) {
        None => err(format!("missing field `{path}`")),
        Some(Value::Null) => err(format!("field `{path}` is null")),
        Some(v) => Ok(v),
    }
}

fn string<'a>(m: &'a Map<String, Value>, path: &str, key: &str) -> Result<&'a str, RecordError> {
    match field(m, path, key)? {
        Value::String(s) => Ok(s),
        other => err(format!(
            "field `{path}`: expected a string, found {}",
            kind(other)
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A whole number in `0..=max`; a string of digits is accepted too (OCI
/// writes `version` as a string; some exporters quote numbers), and so is
/// a JSON number with a fraction of zero (`6.0`, `1e3`: what pandas and
/// other tools that hold a column with nulls as floats write; QA round 26).
/// Every `max` is at most 2^53, so such a number is exact.
fn number(m: &Map<String, Value>, path: &str, key: &str, max: u64) -> Result<u64, RecordError> {
    let v = field(m, path, key)?;
    let n = match v {
        Value::Number(n) => n.as_u64().or_else(|| whole_float(n.as_f64()?, max)),
        Value::String(s)
            if s.len() <= 20 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse::<u64>().ok()
        }
        other => {
            return err(format!(
                "field `{path}`: expected a whole number, found {}",
                kind(other)
            ));
        }
    };
    match n {
        Some(n) if n <= max => Ok(n),
        _ => err(format!(
            "field `{path}`: `{}` is not a whole number from 0 to {max}",
            short(v)
        )),
    }
}

/// `f` as a whole number when it is one in `0..=max` (`max` at most
/// 2^53, where every whole `f64` is exact).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
fn whole_float(f: f64, max: u64) -> Option<u64> {
    // Checked before the cast: in range, so the cast is exact.
    (f.fract() == 0.0 && (0.0..=max.min(1 << 53) as f64).contains(&f)).then_some(f as u64)
}

/// A value as text, cut to 40 characters for messages.
/// A value from the input as messages quote it: at most 40 characters,
/// escaped (a line break in a field must not forge a warning line).
fn short(v: &Value) -> String {
    let t = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if t.chars().count() > 40 {
        let cut: String = t.chars().take(40).collect();
        format!("{}...", zprsim_control::escape::escape(&cut))
    } else {
        zprsim_control::escape::escape(&t).into_owned()
    }
}

fn port(d: &Map<String, Value>, path: &str, key: &str) -> Result<u16, RecordError> {
    match d.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(_) => {
            let n = number(d, path, key, u64::from(u16::MAX))?;
            Ok(u16::try_from(n).unwrap_or(0))
        }
    }
}

fn address(d: &Map<String, Value>, path: &str, key: &str) -> Result<IpAddr, RecordError> {
    let s = string(d, path, key)?;
    s.parse().or_else(|_| {
        err(format!(
            "field `{path}`: `{}` is not an IP address",
            short(&Value::String(s.to_owned()))
        ))
    })
}

/// The `data.version` of an entry, as messages quote it, when it is there
/// and is not `2` (a string, as OCI writes it, or a number): the one
/// schema version OCI documents (oci-inputs.md §1.2). A missing or null
/// version is not reported: OCI always writes one, and hand-made or
/// trimmed records (`jq` with a field list) leave it out.
#[must_use]
pub fn other_version(entry: &Value) -> Option<String> {
    let Value::Object(obj) = entry else {
        return None;
    };
    let Some(Value::Object(d)) = log_content(obj)?.get("data") else {
        return None;
    };
    match d.get("version")? {
        Value::Null => None,
        Value::String(s) if s == "2" => None,
        Value::Number(n) if n.as_u64() == Some(2) => None,
        v => Some(short(v)),
    }
}

/// A quality entry's `id` and `startTime`, when it has both (an entry
/// without them is never taken for a duplicate).
fn quality_key(lc: &Map<String, Value>, d: &Map<String, Value>) -> Option<(EntryId, u64)> {
    let id = lc.get("id").and_then(Value::as_str).map(EntryId::of)?;
    let start = number(d, "data.startTime", "startTime", MAX_TIME).ok()?;
    Some((id, start))
}

/// Reads one entry (a JSON object). `file` and `line` are stored in the
/// record for messages.
///
/// # Errors
/// A [`RecordError`] naming the first field that is missing, null, of the
/// wrong type or out of range.
pub fn parse_entry(entry: &Value, file: u32, line: u64) -> Result<Entry, RecordError> {
    let Value::Object(obj) = entry else {
        return err(format!(
            "expected a flow-log entry object, found {}",
            kind(entry)
        ));
    };
    let Some(lc) = log_content(obj) else {
        return err("not a flow-log entry: no `logContent`, and no `data` and `oracle`");
    };
    let d = match field(lc, "data", "data")? {
        Value::Object(d) => d,
        other => {
            return err(format!(
                "field `data`: expected an object, found {}",
                kind(other)
            ));
        }
    };
    let status = string(d, "data.status", "status")?;
    match status {
        "OK" => {}
        "NODATA" => return Ok(Entry::NoData(quality_key(lc, d))),
        "SKIPDATA" => return Ok(Entry::SkipData(quality_key(lc, d))),
        other => {
            return err(format!(
                "field `data.status`: `{}` is not OK, NODATA or SKIPDATA",
                short(&Value::String(other.to_owned()))
            ));
        }
    }
    let oracle = match field(lc, "oracle", "oracle")? {
        Value::Object(o) => o,
        other => {
            return err(format!(
                "field `oracle`: expected an object, found {}",
                kind(other)
            ));
        }
    };
    let vnic = string(oracle, "oracle.vnicocid", "vnicocid")?;
    if vnic.is_empty() || vnic.len() > MAX_OCID {
        return err(format!(
            "field `oracle.vnicocid`: expected an OCID of 1 to {MAX_OCID} characters"
        ));
    }
    let action = match string(d, "data.action", "action")? {
        "ACCEPT" => Action::Accept,
        "REJECT" => Action::Reject,
        other => {
            return err(format!(
                "field `data.action`: `{}` is not ACCEPT or REJECT",
                short(&Value::String(other.to_owned()))
            ));
        }
    };
    let src = address(d, "data.sourceAddress", "sourceAddress")?;
    let dst = address(d, "data.destinationAddress", "destinationAddress")?;
    if src.is_ipv4() != dst.is_ipv4() {
        return err(
            "`data.sourceAddress` and `data.destinationAddress` are of different IP versions",
        );
    }
    let proto = u8::try_from(number(d, "data.protocol", "protocol", 255)?).unwrap_or(0);
    let sport = port(d, "data.sourcePort", "sourcePort")?;
    let dport = port(d, "data.destinationPort", "destinationPort")?;
    // ICMP travels over IPv4 and ICMPv6 over IPv6: the other pairing is no
    // packet any VNIC sent (judged, it would match the wrong rules).
    if (proto == ip_proto::ICMP && src.is_ipv6()) || (proto == ip_proto::ICMPV6 && src.is_ipv4()) {
        return err(format!(
            "field `data.protocol`: {proto} ({}) with IPv{} addresses",
            if proto == ip_proto::ICMP {
                "ICMP"
            } else {
                "ICMPv6"
            },
            if src.is_ipv4() { 4 } else { 6 }
        ));
    }
    // OCI leaves the ports null for protocols without ports only: a TCP or
    // UDP record without them would be judged as port 0, which it is not.
    if matches!(proto, ip_proto::TCP | ip_proto::UDP) {
        for (path, key) in [
            ("data.sourcePort", "sourcePort"),
            ("data.destinationPort", "destinationPort"),
        ] {
            if matches!(d.get(key), None | Some(Value::Null)) {
                return err(format!(
                    "field `{path}`: missing or null in a {} record, which has ports",
                    if proto == ip_proto::TCP { "TCP" } else { "UDP" }
                ));
            }
        }
    }
    let packets = number(d, "data.packets", "packets", MAX_COUNT)?;
    let bytes = number(d, "data.bytesOut", "bytesOut", MAX_COUNT)?;
    let start = number(d, "data.startTime", "startTime", MAX_TIME)?;
    let end = number(d, "data.endTime", "endTime", MAX_TIME)?;
    if end < start {
        return err(format!(
            "`data.endTime` {end} is before `data.startTime` {start}"
        ));
    }
    let id = lc.get("id").and_then(Value::as_str).map(EntryId::of);
    Ok(Entry::Data(
        LogRecord {
            file,
            line,
            vnic: Arc::from(vnic),
            action,
            src,
            dst,
            proto,
            sport,
            dport,
            packets,
            bytes,
            start,
            end,
        },
        id,
    ))
}
