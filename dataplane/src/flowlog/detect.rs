//! Is an input a capture or a file of OCI flow-log entries? Decided from
//! the first bytes, as pcap and pcapng are: a flow-log file is JSON (its
//! first non-blank byte is `{` or `[`), or gzip or zstd whose first
//! decompressed bytes are. No capture format starts with those bytes or
//! gzip's or zstd's magic.

use std::io::Read;
use std::path::Path;

use crate::capture::decompress::{Codec, Decoder};

/// Bytes read from the start of a file to decide its kind.
pub const HEAD: usize = crate::sniff::HEAD;

/// gzip's magic number.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What the first bytes of an input say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// JSON, or gzip or zstd of JSON: a flow-log file.
    FlowLog,
    /// Nothing but blanks (an empty file, blank lines, a gzip or zstd of
    /// those):
    /// a flow-log file with no records beside flow logs (a Connector Hub
    /// window with no traffic); alone, no kind (the capture reader
    /// refuses it).
    Blank,
    /// Anything else: left to the capture reader.
    Capture,
}

fn text_kind(bytes: &[u8]) -> Kind {
    // UTF-16 with its byte order mark (Windows PowerShell 5's `>`): its
    // ASCII characters are what decide.
    if let Some((be, mark)) = crate::input::utf16_start(bytes) {
        let ascii: Vec<u8> = bytes[mark..]
            .chunks_exact(2)
            .map(|c| match (be, c) {
                (false, [a, 0]) | (true, [0, a]) => *a,
                _ => b'?',
            })
            .collect();
        return text_kind(&ascii);
    }
    let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match b.iter().find(|c| !c.is_ascii_whitespace()) {
        // A scenario or expectations file whose first line is a table
        // header (`[[vcn]]`, `[[path]]`) starts as a JSON array does: left
        // to the capture reader, which names it as what it is (it read as
        // a flow log that is "not JSON").
        Some(b'[') if crate::scenario_file::own_text(&String::from_utf8_lossy(b)).is_some() => {
            Kind::Capture
        }
        Some(b'{' | b'[') => Kind::FlowLog,
        Some(_) => Kind::Capture,
        None => Kind::Blank,
    }
}

/// What `head` (the first bytes of a file, up to [`HEAD`]) starts.
#[must_use]
pub fn kind(head: &[u8]) -> Kind {
    text_kind(&decompressed(head))
}

/// Decompressed bytes of a gzip or zstd `head` out at most: a JSON text's
/// first keys come in the first few hundred.
const LOOK: usize = 16 << 10;

/// `head` itself, or its first [`LOOK`] bytes decompressed when it is gzip
/// or zstd.
#[must_use]
pub fn decompressed(head: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    decompressed_within(head, LOOK)
}

/// `head` itself, or its first `max` bytes decompressed when it is gzip or
/// zstd.
#[must_use]
pub fn decompressed_within(head: &[u8], max: usize) -> std::borrow::Cow<'_, [u8]> {
    let Some(codec) = Codec::of(head) else {
        return std::borrow::Cow::Borrowed(head);
    };
    let mut out = Vec::new();
    // A head cut inside the stream ends the decoder with an error; what
    // came out before it is enough. (A zstd window over the readers'
    // bound is refused here too: nothing comes out, and the reader
    // names it.)
    if let Ok(d) = Decoder::new(codec, head) {
        let _ = d.take(max as u64).read_to_end(&mut out);
    }
    std::borrow::Cow::Owned(out)
}

/// What the OCI object an OCID names is (`ocid1.vnic.oc1...` is a VNIC),
/// as messages say it.
fn ocid_type(t: &str) -> String {
    match t {
        "vnic" => "VNIC".into(),
        "vcn" => "VCN".into(),
        "privateip" => "private IP".into(),
        "securitylist" => "security list".into(),
        "networksecuritygroup" => "network security group".into(),
        "routetable" => "route table".into(),
        "internetgateway" => "internet gateway".into(),
        "natgateway" => "NAT gateway".into(),
        "servicegateway" => "service gateway".into(),
        "drg" => "DRG".into(),
        "zprpolicy" => "ZPR policy".into(),
        "loadbalancer" => "load balancer".into(),
        other => other
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(40)
            .collect(),
    }
}

/// What an OCI CLI output is (`VNIC list`, `VNIC`), when `text` (a
/// file's decompressed start) is one: a JSON object whose first key is
/// `data` holding a list or an object of OCI resources (a flow log's
/// `data` holds a record, with `oracle` beside it). `Some("")` when its
/// first resource's `id` is not in `text`.
#[must_use]
pub fn cli_output(text: &[u8]) -> Option<String> {
    let t = std::str::from_utf8(text)
        .unwrap_or_else(|e| std::str::from_utf8(&text[..e.valid_up_to()]).unwrap_or(""));
    let t = t.trim_start_matches('\u{feff}').trim_start();
    let rest = t.strip_prefix('{')?.trim_start().strip_prefix("\"data\"")?;
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let list = rest.starts_with('[');
    if !list && !rest.starts_with('{') {
        return None;
    }
    // Flow logs whose first key is `data` too: a bare `logContent` (its
    // record under `data`, in any key order), `oci logging-search
    // search-logs` output (`{"data": {"results": [...]}}`, `fields` first
    // when its keys are sorted) and the lines of `jq -c '.data.results[]'`
    // (`{"data": ENTRY}`). OCI's flow-log keys are camelCase and the CLI's
    // resource keys kebab-case, so a flow-log key anywhere in the head
    // tells them apart.
    let inner = rest.get(1..)?.trim_start();
    let inner = inner.strip_prefix('{').unwrap_or(inner).trim_start();
    if ["\"action\"", "\"status\"", "\"version\""]
        .iter()
        .any(|k| inner.starts_with(k))
        || FLOW_LOG_KEYS.iter().any(|k| has_key(rest, k))
    {
        return None;
    }
    // The first resource's `id`: `"id": "ocid1.TYPE.`.
    let mut what = String::new();
    let mut at = rest;
    while let Some(i) = at.find("\"id\"") {
        at = &at[i + 4..];
        let Some(v) = at.trim_start().strip_prefix(':') else {
            continue;
        };
        if let Some(o) = v.trim_start().strip_prefix("\"ocid1.") {
            what = ocid_type(o.split('.').next().unwrap_or(""));
            break;
        }
    }
    Some(match (what.is_empty(), list) {
        (true, _) => String::new(),
        (false, true) => format!("{what} list"),
        (false, false) => what,
    })
}

/// Keys of a flow-log entry, a search output or a flow-log record that no
/// OCI CLI resource output has (its keys are kebab-case).
/// (`action`, `status` and `version` are told only as the record's first
/// key: other OCI resources may have such keys.)
const FLOW_LOG_KEYS: [&str; 9] = [
    "results",
    "datetime",
    "logContent",
    "bytesOut",
    "sourceAddress",
    "destinationAddress",
    "sourcePort",
    "vnicocid",
    "flowid",
];

/// Whether `text` holds `key` as a JSON object key: `"key"` then `:`
/// (not a string value that happens to read `"key"`).
fn has_key(text: &str, key: &str) -> bool {
    let mut at = text;
    while let Some(i) = at.find('"') {
        let after = &at[i + 1..];
        if after
            .strip_prefix(key)
            .and_then(|t| t.strip_prefix('"'))
            .is_some_and(|tail| tail.trim_start().starts_with(':'))
        {
            return true;
        }
        at = after;
    }
    false
}

/// Whether `head` (the first bytes of a file, up to [`HEAD`]) starts a
/// flow-log file: JSON, or gzip or zstd of JSON.
#[must_use]
pub fn is_flow_log(head: &[u8]) -> bool {
    kind(head) == Kind::FlowLog
}

/// What the file at `path` is (see [`kind`]).
///
/// # Errors
/// When the file cannot be opened or read.
pub fn kind_of_path(path: &Path) -> std::io::Result<Kind> {
    // A stream (standard input, a pipe, a FIFO) can be read only once: its
    // head is kept by `sniff` and given back to whichever reader opens it.
    Ok(kind(&crate::sniff::head(path)?))
}

/// Whether the file at `path` is a flow-log file (see [`is_flow_log`]).
///
/// # Errors
/// When the file cannot be opened or read.
pub fn is_flow_log_path(path: &Path) -> std::io::Result<bool> {
    Ok(kind_of_path(path)? == Kind::FlowLog)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn json_and_gzip_are_flow_logs_and_captures_are_not() {
        assert!(is_flow_log(b"  \n{\"datetime\": 1}"));
        assert!(is_flow_log(b"\xEF\xBB\xBF[ ]"));
        assert!(!is_flow_log(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00"));
        assert!(!is_flow_log(b"\x0a\x0d\x0d\x0a"));
        assert!(!is_flow_log(b""));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"a\":1}\n").unwrap_or_default();
        let bytes = gz.finish().unwrap_or_default();
        assert!(is_flow_log(&bytes));
        // A gzip head cut short still decides.
        assert!(is_flow_log(&bytes[..bytes.len() - 4]));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"\xd4\xc3\xb2\xa1").unwrap_or_default();
        assert!(!is_flow_log(&gz.finish().unwrap_or_default()));
    }

    #[test]
    fn cli_outputs_are_told_from_flow_logs_by_their_data() {
        let vnics = b"{\n  \"data\": [\n    {\n      \"availability-domain\": \"AD-1\",\n      \"id\": \"ocid1.vnic.oc1.iad.x\"";
        assert_eq!(cli_output(vnics).as_deref(), Some("VNIC list"));
        assert_eq!(
            cli_output(b"{\"data\": {\"id\": \"ocid1.vcn.oc1..a\"}, \"etag\": \"1\"}").as_deref(),
            Some("VCN")
        );
        assert_eq!(cli_output(b"{\"data\": []}").as_deref(), Some(""));
        // Flow logs, in either form, are none.
        assert_eq!(
            cli_output(b"{\"data\": {\"action\": \"ACCEPT\"}, \"oracle\": {}}"),
            None
        );
        assert_eq!(cli_output(b"{\"datetime\": 1, \"logContent\": {}}"), None);
        assert_eq!(cli_output(b"[{\"data\": []}]"), None);
        // The forms whose first key is `data` too (docs/flow-logs.md).
        for log in [
            // search-logs output, as the CLI sorts its keys and not.
            &b"{\"data\": {\"fields\": null, \"results\": [{\"data\": {\"datetime\": 1}}]}}"[..],
            b"{\"data\": {\"results\": []}}",
            // a line of `jq -c '.data.results[]'`, envelope and bare.
            b"{\"data\":{\"datetime\":1,\"logContent\":{}}}",
            b"{\"data\":{\"data\":{\"action\":\"ACCEPT\",\"sourceAddress\":\"10.0.0.1\"},\"oracle\":{}}}",
            // a bare `logContent` whose record's keys come in another order.
            b"{\"data\": {\"sourceAddress\": \"10.0.0.1\", \"action\": \"ACCEPT\"}}",
            b"{\"data\": {\"endTime\": 1, \"flowid\": \"x\"}}",
        ] {
            assert_eq!(cli_output(log), None, "{}", String::from_utf8_lossy(log));
        }
        // A value that reads as a flow-log key is no key.
        assert_eq!(
            cli_output(
                b"{\"data\": [{\"display-name\": \"results\", \"id\": \"ocid1.vnic.oc1..a\"}]}"
            )
            .as_deref(),
            Some("VNIC list")
        );
        // Compressed, looked at decompressed.
        let zst = zstd::stream::encode_all(&vnics[..], 3).unwrap_or_default();
        assert_eq!(
            cli_output(&decompressed(&zst)).as_deref(),
            Some("VNIC list")
        );
    }

    #[test]
    fn zstd_of_json_is_flow_logs_and_of_blanks_blank() {
        let zst = |b: &[u8]| zstd::stream::encode_all(b, 3).unwrap_or_default();
        assert_eq!(kind(&zst(b"{\"a\":1}\n")), Kind::FlowLog);
        assert_eq!(kind(&zst(b" \n\n")), Kind::Blank);
        assert_eq!(kind(&zst(b"\xd4\xc3\xb2\xa1")), Kind::Capture);
    }

    #[test]
    fn blanks_and_a_gzip_of_nothing_are_blank() {
        assert_eq!(kind(b""), Kind::Blank);
        assert_eq!(kind(b"\xEF\xBB\xBF \r\n\n"), Kind::Blank);
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        assert_eq!(kind(&gz.finish().unwrap_or_default()), Kind::Blank);
        assert_eq!(kind(b"\n x"), Kind::Capture);
    }

    #[test]
    fn utf16_json_is_flow_logs_and_utf16_blanks_are_blank() {
        assert_eq!(kind(b"\xFF\xFE[\x00\r\x00"), Kind::FlowLog);
        assert_eq!(kind(b"\xFE\xFF\x00 \x00{"), Kind::FlowLog);
        assert_eq!(kind(b"\xFF\xFE \x00\n\x00"), Kind::Blank);
        assert_eq!(kind(b"\xFF\xFEx\x00"), Kind::Capture);
    }
}
