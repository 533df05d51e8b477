//! Scenario loader: TOML or JSON text in, a resolved [`Scenario`] out.
//!
//! The format is described in `docs/scenario-format.md`. Loading runs in
//! two passes:
//!
//! 1. serde reads the text into raw structs (`raw.rs`) that mirror the file
//!    and reject unknown fields; values keep their byte spans. The plain
//!    TOML and JSON scenarios are written in are read by small readers of
//!    our own (`fast_toml.rs`, `fast_json.rs`) into flat arrays
//!    (`arena.rs`) that the raw structs' serde reads; anything else, and
//!    every error, goes to the `toml` crate or serde_json as before. TOML
//!    is read in parts of ~16 KiB: cut before `[[` lines when the fast
//!    reader takes every part, else split at `[[key]]` lines
//!    (`chunks.rs`), each chunk read by the fast reader or the `toml`
//!    crate, so only one part's tree per parsing thread is alive at a
//!    time. The parts are independent: [`load_str_with`] hands them to a
//!    caller's [`Jobs`] runner, which may parse them on several threads;
//!    they are joined in document order, so the scenario and the first
//!    error are the same whatever the runner. JSON is read in batches of
//!    top-level array elements, joined the same way.
//! 2. The resolver (`resolve.rs`), one step per object kind, checks every
//!    name, reference, CIDR and address, turns names into index ids, applies
//!    defaults, drops protocol options that do not fit (with a warning),
//!    parses ZPR statements with [`crate::zpl`] and warns where OCI limits
//!    are exceeded.
//!
//! The loader is pure: a `file = "x.zpl"` of a ZPR policy is read through the
//! [`SourceFiles`] the caller hands in, never from the file system directly.
//! Every error names the file, the object, the field and, where the format
//! gives one, the line and column (JSON gives them for syntax and shape
//! errors and for ZPL statements, not for the checks of pass 2).
//!
//! Decisions where the format leaves room, each an error unless said:
//! - a CIDR with host bits set (`10.0.1.5/24`) is an error, not truncated;
//! - VCN CIDR blocks may not overlap, within a VCN or across VCNs: an
//!   address belongs to one VCN;
//! - a VNIC needs at least one private IP; a list naming the same security
//!   list, NSG or address twice is an error;
//! - a route rule's private-IP target must be held by a VNIC of the route
//!   table's VCN;
//! - an NSG rule gives `source` (ingress) or `destination` (egress), not the
//!   other one;
//! - attribute namespaces and keys hold only `[0-9A-Za-z_-]` (OCI's rule;
//!   ZPL could not name them otherwise);
//! - more than 200 rules in a route table is warned about too (OCI's limit);
//! - keys of `[services]` and `security_attributes` keep their written order
//!   (the first VCN attribute is the one used);
//! - at most 1000 warnings are kept, then one says how many were left out.

mod arena;
#[cfg(test)]
mod chunk_tests;
mod chunks;
mod fast_json;
#[cfg(test)]
mod fast_json_tests;
mod fast_toml;
#[cfg(test)]
mod fast_toml_tests;
pub(crate) mod lint;
mod lookalike;
pub(crate) mod names;
mod raw;
mod resolve;

pub(crate) use resolve::{parse_cidr, protocol_named};
#[cfg(test)]
pub(crate) mod test_jobs;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::OnceLock;

use crate::escape::{escape, escape_keep_newlines};

use crate::model::Scenario;

/// Scenario text larger than this is refused before parsing.
///
/// JSON is read straight into the scenario's structures (or in batches
/// of about 16 KiB, `fast_json.rs`), and TOML in parts of about 16 KiB
/// (`TOML_CHUNK_BYTES`), so memory grows with the objects, not with a
/// parse tree of the whole text.
pub const MAX_SCENARIO_BYTES: usize = 256 * 1024 * 1024;

/// TOML that cannot be split into parts (`chunks.rs`) is parsed whole, and
/// the `toml` crate's tree takes about 40 times the text: such TOML larger
/// than this is refused before parsing.
pub const MAX_WHOLE_TOML_BYTES: usize = 64 * 1024 * 1024;

/// A `.zpl` file larger than this is refused.
pub const MAX_POLICY_FILE_BYTES: usize = crate::zpl::MAX_FILE_LEN;

/// The syntax a scenario is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// TOML (the native format).
    Toml,
    /// JSON with the same field names.
    Json,
}

impl Format {
    /// The format a file name's extension stands for: `.json` is JSON,
    /// `.toml` is TOML, anything else `None`.
    #[must_use]
    pub fn from_file_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// Reads the files a scenario refers to (`file = "..."` of a ZPR policy).
///
/// The control crate does no I/O; the caller decides where files come from.
pub trait SourceFiles {
    /// Reads `relative_path`, relative to the scenario file.
    ///
    /// # Errors
    /// The text of the I/O error when the file cannot be read.
    fn read(&self, relative_path: &str) -> Result<String, String>;
}

/// A [`SourceFiles`] that has no files: every read fails.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl SourceFiles for NoFiles {
    fn read(&self, _relative_path: &str) -> Result<String, String> {
        Err("reading files is not available here".to_owned())
    }
}

/// Runs independent jobs of a load, one after another or at the same time:
/// the caller decides (the control crate starts no threads).
///
/// The loader hands it the parts of a split TOML text (`chunks.rs`); each
/// part parses on its own and the results are joined in document order,
/// so what loads, and the first error, do not depend on the runner.
pub trait Jobs: Sync {
    /// Calls `job(i)` exactly once for every `i` in `0..n`, in any order and
    /// on any threads, and returns when every call has returned.
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync));

    /// How many threads [`Jobs::run`] may run jobs on at once: a hint for
    /// how many parts to cut a step into (1 by default, and for
    /// [`InOrder`]: one part, nothing to join). Results never depend on it.
    fn threads(&self) -> usize {
        1
    }

    /// Frees what the loader no longer needs: the raw structs the text was
    /// read into, ~10^5 small allocations on a 10k-VNIC scenario (~14 M
    /// instructions). By default here and now; a runner with threads may
    /// free them on another one while the caller compiles.
    fn discard(&self, garbage: Box<dyn Send>) {
        drop(garbage);
    }
}

/// A [`Jobs`] that runs every job on the calling thread, in order.
#[derive(Debug, Clone, Copy, Default)]
pub struct InOrder;

impl Jobs for InOrder {
    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        for i in 0..n {
            job(i);
        }
    }
}

/// A loaded scenario with the warnings the loader produced.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The resolved scenario.
    pub scenario: Scenario,
    /// Warnings (OCI limits exceeded, options ignored, ...), in file order
    /// of the objects they concern.
    pub warnings: Vec<Warning>,
}

pub use crate::warning::{Warning, WarningCode};

/// Why a scenario did not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    /// The file the error is in (the scenario or a `.zpl` file it names).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// The object, e.g. ``vnic `orders-api-pod-1` ``.
    pub object: Option<String>,
    /// The field, e.g. `private_ips` or `route_rules[1].network_entity`.
    pub field: Option<String>,
    /// What is wrong, for people.
    pub message: String,
    /// For ZPL errors: the parser's rendering with the source line and a
    /// caret, already placed at the right line and column of `file`.
    pub rendered_zpl: Option<String>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every part may quote the input: shown through the one escaper.
        if let Some(r) = &self.rendered_zpl {
            return f.write_str(&escape_keep_newlines(r.trim_end()));
        }
        write_location(f, &escape(&self.file), self.line, self.column)?;
        f.write_str(": error: ")?;
        let object = self.object.as_deref().map(escape);
        let field = self.field.as_deref().map(escape);
        match (object, field) {
            (Some(o), Some(field)) => write!(f, "in {o}, field `{field}`: ")?,
            (Some(o), None) => write!(f, "in {o}: ")?,
            (None, Some(field)) => write!(f, "in field `{field}`: ")?,
            (None, None) => {}
        }
        f.write_str(&escape(&self.message))
    }
}

fn write_location(
    f: &mut fmt::Formatter<'_>,
    file: &str,
    line: Option<u32>,
    column: Option<u32>,
) -> fmt::Result {
    f.write_str(file)?;
    if let Some(l) = line {
        write!(f, ":{l}")?;
        if let Some(c) = column {
            write!(f, ":{c}")?;
        }
    }
    Ok(())
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
/// An offset past the end or inside a character is clamped.
pub(crate) fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let mut off = offset.min(text.len());
    while off > 0 && !text.is_char_boundary(off) {
        off -= 1;
    }
    let before = &text[..off];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// Line and column of byte offsets in a text, in bounded time per query
/// whatever the text (a scenario may be 64 MiB on one line, with an error or
/// warning for each of a million objects).
///
/// Every [`Positions::STRIDE`] bytes it remembers the line and column, so a
/// query scans at most one stride.
pub(crate) struct Positions<'a> {
    text: &'a str,
    /// (byte offset, line, column) at every stride, on char boundaries;
    /// built on the first query (a scenario that loads without errors or
    /// positioned warnings never needs it, and the pass costs ~10
    /// instructions per byte).
    /// A `OnceLock`, not a `OnceCell`: the resolver's parts (on the
    /// loader's threads) share the context that holds it.
    checkpoints: OnceLock<Vec<(usize, u32, u32)>>,
}

impl<'a> Positions<'a> {
    /// Bytes between checkpoints.
    pub(crate) const STRIDE: usize = 4096;

    /// Positions in `text`; the index is built on the first query.
    pub(crate) fn new(text: &'a str) -> Self {
        Positions {
            text,
            checkpoints: OnceLock::new(),
        }
    }

    /// Indexes the text (one pass over its bytes: newlines and the bytes
    /// that start a character are counted a stride at a time, which the
    /// compiler vectorizes; decoding every character cost ~16 instructions
    /// per byte).
    fn index(text: &str) -> Vec<(usize, u32, u32)> {
        let b = text.as_bytes();
        let mut checkpoints = vec![(0, 1, 1)];
        let (mut line, mut col) = (1u32, 1u32);
        let mut start = 0usize;
        loop {
            let mut next = start.saturating_add(Self::STRIDE);
            while next < b.len() && !text.is_char_boundary(next) {
                next += 1;
            }
            let Some(seg) = b.get(start..next).filter(|_| next < b.len()) else {
                break;
            };
            let chars = |s: &[u8]| {
                // Bytes that start a character (not 0b10xx_xxxx).
                let n = s.iter().filter(|&&c| (c as i8) >= -0x40).count();
                u32::try_from(n).unwrap_or(u32::MAX)
            };
            // memchr counts and finds newlines with SIMD (the byte loop
            // it replaced was ~5 instructions per byte of the scenario).
            match memchr::memrchr(b'\n', seg) {
                Some(p) => {
                    let lines = memchr::memchr_iter(b'\n', seg).count();
                    line = line.saturating_add(u32::try_from(lines).unwrap_or(u32::MAX));
                    col = chars(seg.get(p + 1..).unwrap_or_default()).saturating_add(1);
                }
                None => col = col.saturating_add(chars(seg)),
            }
            checkpoints.push((next, line, col));
            start = next;
        }
        checkpoints
    }

    /// 1-based line and column (in characters) of byte `offset`, clamped to
    /// the text and to a char boundary.
    pub(crate) fn line_col(&self, offset: usize) -> (u32, u32) {
        let mut off = offset.min(self.text.len());
        while off > 0 && !self.text.is_char_boundary(off) {
            off -= 1;
        }
        let checkpoints = self.checkpoints.get_or_init(|| Self::index(self.text));
        let k = checkpoints
            .partition_point(|c| c.0 <= off)
            .saturating_sub(1);
        let (start, mut line, mut col) = checkpoints.get(k).copied().unwrap_or((0, 1, 1));
        for c in self.text.get(start..off).unwrap_or("").chars() {
            if c == '\n' {
                line = line.saturating_add(1);
                col = 1;
            } else {
                col = col.saturating_add(1);
            }
        }
        (line, col)
    }
}

/// Whether `path` names a file descriptor (`/dev/stdin`, `/dev/fd/63` of
/// `<(envsubst < s.toml)`, `/proc/self/fd/0`) rather than a file in a
/// directory: the files it names (`file =` policies, packs) are read
/// relative to the working directory, as for `-`. (A file in `/dev/shm`
/// is a file in a directory.)
#[must_use]
pub fn is_descriptor_path(path: &std::path::Path) -> bool {
    path == std::path::Path::new("/dev/stdin")
        || path.starts_with("/dev/fd")
        || (path.starts_with("/proc") && path.parent().is_some_and(|p| p.ends_with("fd")))
}

/// Loads a scenario.
///
/// `file` is the scenario's name as messages should show it; `files` reads
/// the `.zpl` files its ZPR policies name.
///
/// # Errors
/// A [`LoadError`] naming the file, object, field and position of the first
/// problem found: syntax, unknown fields, dangling or wrong-kind references,
/// bad CIDRs or addresses, duplicates, overlaps, unreadable or bad ZPL.
// The error is large, but the API hands it out by value on purpose:
// loading fails once per run, and callers match on its fields.
#[allow(clippy::result_large_err)]
pub fn load_str(
    text: &str,
    file: &str,
    format: Format,
    files: &dyn SourceFiles,
) -> Result<Loaded, LoadError> {
    load_str_with(text, file, format, files, &InOrder)
}

/// Loads a scenario as [`load_str`] does, the parts of a large TOML text
/// parsed through `jobs` (at the same time, when it runs them so). The
/// result, warnings and errors are those of [`load_str`] whatever `jobs`
/// does.
///
/// # Errors
/// As [`load_str`].
// The error is large, but the API hands it out by value on purpose:
// loading fails once per run, and callers match on its fields.
#[allow(clippy::result_large_err)]
pub fn load_str_with(
    text: &str,
    file: &str,
    format: Format,
    files: &dyn SourceFiles,
    jobs: &dyn Jobs,
) -> Result<Loaded, LoadError> {
    // A UTF-8 byte order mark (Windows editors write one) is not part of
    // the text: TOML skips it, JSON would refuse it. Positions are counted
    // without it, as editors show the file.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.len() > MAX_SCENARIO_BYTES {
        return Err(LoadError {
            file: file.to_owned(),
            line: None,
            column: None,
            object: None,
            field: None,
            message: format!(
                "the scenario is {} bytes long; at most {MAX_SCENARIO_BYTES} bytes are accepted",
                text.len()
            ),
            rendered_zpl: None,
        });
    }
    let raw = match format {
        Format::Toml => parse_toml(text, file, jobs)?,
        Format::Json => parse_json(text, file)?,
    };
    names::check_raw(&raw, text, file).map_err(|e| *e)?;
    let mut loaded = resolve::resolve(&raw, text, file, format, files, jobs).map_err(|e| *e)?;
    jobs.discard(Box::new(raw));
    lint::lint(&mut loaded, file);
    Ok(loaded)
}

/// Loads a TOML scenario that names no `.zpl` files.
///
/// # Errors
/// As [`load_str`]; a `file =` in a ZPR policy is an error here.
// The error is large, but the API hands it out by value on purpose:
// loading fails once per run, and callers match on its fields.
#[allow(clippy::result_large_err)]
pub fn from_toml_str(text: &str, file: &str) -> Result<Loaded, LoadError> {
    load_str(text, file, Format::Toml, &NoFiles)
}

/// Loads a JSON scenario that names no `.zpl` files.
///
/// # Errors
/// As [`load_str`]; a `file =` in a ZPR policy is an error here.
// The error is large, but the API hands it out by value on purpose:
// loading fails once per run, and callers match on its fields.
#[allow(clippy::result_large_err)]
pub fn from_json_str(text: &str, file: &str) -> Result<Loaded, LoadError> {
    load_str(text, file, Format::Json, &NoFiles)
}

/// Whether the fast readers (`fast_toml.rs`, `fast_json.rs`) read `text`
/// exactly as the `toml` crate and serde_json do whenever they take it
/// (true also when they leave it to the crates): TOML whole, TOML cut in
/// parts of 64 bytes, and JSON. For the `fast_readers` fuzz target; not
/// part of the loader's API.
#[doc(hidden)]
#[must_use]
pub fn fast_readers_agree(text: &str) -> bool {
    let render = |r: &raw::RawScenario| format!("{r:?}");
    let by_toml = || parse_toml_whole(text, "f.toml").ok().map(|r| render(&r));
    let toml_whole = fast_toml::parse(text, 0).is_none_or(|r| Some(render(&r)) == by_toml());
    let toml_parts =
        parse_toml_fast(text, 64, &InOrder).is_none_or(|r| Some(render(&r)) == by_toml());
    let json = fast_json::parse(text).is_none_or(|r| {
        Some(render(&r)) == parse_json_serde(text, "f.json").ok().map(|r| render(&r))
    });
    toml_whole && toml_parts && json
}

// The error is large, but the API hands it out by value on purpose:
// loading fails once per run, and callers match on its fields.
#[allow(clippy::result_large_err)]
fn parse_toml(text: &str, file: &str, jobs: &dyn Jobs) -> Result<raw::RawScenario, LoadError> {
    if let Some(raw) = parse_toml_fast(text, TOML_CHUNK_BYTES, jobs)
        // Larger TOML that `chunks::split` cannot split is refused below,
        // and stays refused.
        .filter(|_| {
            text.len() <= MAX_WHOLE_TOML_BYTES || chunks::split(text, TOML_CHUNK_BYTES).is_some()
        })
    {
        return Ok(raw);
    }
    match parse_toml_chunked(text, TOML_CHUNK_BYTES, jobs) {
        Chunked::Parsed(raw) => Ok(raw),
        _ if text.len() <= MAX_WHOLE_TOML_BYTES => parse_toml_whole(text, file),
        // Too large to parse whole: the failing part's own error, placed
        // in the whole file.
        Chunked::Failed(start, end) => Err(text
            .get(start..end)
            .and_then(|part| parse_toml_part(part, start, text, file).err())
            .unwrap_or_else(|| too_large_whole(text, file))),
        Chunked::Unsplit => Err(too_large_whole(text, file)),
    }
}

/// The chunk length aimed at when the text can be split (`chunks.rs`):
/// small, so that the `toml` crate's tree of a chunk (tens of times its
/// size) stays in the core's cache while it is built, read and freed. With
/// 16 KiB chunks, `check` of the 10k-VNIC scenario takes ~20% less CPU
/// than with 150 KiB ones and `large` from TOML ~25% less, for the same
/// instructions (docs/benchmarks.md, "Start-up"); 4-32 KiB measure alike.
/// Many chunks also share the parse evenly between a runner's threads.
/// Tests split at every `[[key]]`, so every loader test goes through the
/// split.
const TOML_CHUNK_BYTES: usize = if cfg!(test) { 1 } else { 16 << 10 };

/// The scenario read by the fast reader (`fast_toml.rs`) in parts cut
/// before `[[` lines (`fast_toml::cuts`), read through `jobs`; `None` when
/// a part is outside the reader's subset or a top-level key other than an
/// array of tables is in two parts (the caller then goes the `toml`
/// crate's way, which gives the error if there is one). What it gives is
/// what the `toml` crate reads from the whole text: each part is read as
/// the crate reads it, each part the reader takes ends at the text's top
/// level, and the parts' arrays of tables are joined in document order.
/// Cutting costs a `memmem` pass instead of `chunks::split`'s scan.
fn parse_toml_fast(text: &str, target: usize, jobs: &dyn Jobs) -> Option<raw::RawScenario> {
    let ranges = fast_toml::cuts(text, target);
    let slots: Vec<OnceLock<Option<fast_toml::Part<'_>>>> =
        ranges.iter().map(|_| OnceLock::new()).collect();
    jobs.run(ranges.len(), &|i| {
        let (Some(r), Some(slot)) = (ranges.get(i), slots.get(i)) else {
            return;
        };
        let part = text
            .get(r.clone())
            .and_then(|t| fast_toml::parse_part(t, r.start));
        let _ = slot.set(part);
    });
    let mut parts = Vec::with_capacity(slots.len());
    // A top-level key (at most a dozen: the raw scenario's fields) and
    // whether it is an array of tables.
    let mut seen: Vec<(&str, bool)> = Vec::new();
    for slot in slots {
        let part = slot.into_inner().flatten()?;
        for &(key, array) in &part.keys {
            match seen.iter().find(|(k, _)| *k == key) {
                Some(&(_, was_array)) if array && was_array => {}
                Some(_) => return None,
                None => seen.push((key, array)),
            }
        }
        parts.push(part.raw);
    }
    let mut parts = parts.into_iter();
    let mut out = parts.next()?;
    reserve_for(&mut out, parts.as_slice());
    for part in parts {
        append(&mut out, part);
    }
    Some(out)
}

/// What the split parse gave.
// Made once per load and matched at once: boxing the scenario buys nothing.
#[allow(clippy::large_enum_variant)]
enum Chunked {
    /// Every part parsed.
    Parsed(raw::RawScenario),
    /// The text cannot be split safely (or is one part).
    Unsplit,
    /// The part between these byte offsets does not parse.
    Failed(usize, usize),
}

/// The scenario parsed chunk by chunk. When the text cannot be split safely
/// or a chunk fails to parse, the whole-text parse gives the error exactly
/// as it would have (for text up to [`MAX_WHOLE_TOML_BYTES`]).
fn parse_toml_chunked(text: &str, target: usize, jobs: &dyn Jobs) -> Chunked {
    let Some(ranges) = chunks::split(text, target) else {
        return Chunked::Unsplit;
    };
    if ranges.len() < 2 {
        return Chunked::Unsplit;
    }
    // One slot per chunk, filled by whichever thread parses it; `None` in a
    // slot is a chunk that did not parse.
    let slots: Vec<OnceLock<Option<raw::RawScenario>>> =
        ranges.iter().map(|_| OnceLock::new()).collect();
    jobs.run(ranges.len(), &|i| {
        let (Some(r), Some(slot)) = (ranges.get(i), slots.get(i)) else {
            return;
        };
        let parsed = text.get(r.clone()).and_then(|part| {
            // The plain TOML of most chunks is read without the `toml`
            // crate's tree (`fast_toml.rs`), anything else by the crate.
            fast_toml::parse(part, r.start).or_else(|| {
                let _mode = raw::SpanMode::enter_at(true, r.start);
                toml::from_str::<raw::RawScenario>(part).ok()
            })
        });
        // A runner calling a job twice would only parse it again.
        let _ = slot.set(parsed);
    });
    let mut parts = Vec::with_capacity(slots.len());
    // Joined in document order: the first chunk that failed is the one
    // reported, whatever order they ran in.
    for (r, slot) in ranges.into_iter().zip(slots) {
        let Some(part) = slot.into_inner().flatten() else {
            return Chunked::Failed(r.start, r.end);
        };
        parts.push(part);
    }
    let mut parts = parts.into_iter();
    let Some(mut out) = parts.next() else {
        return Chunked::Unsplit;
    };
    reserve_for(&mut out, parts.as_slice());
    for part in parts {
        append(&mut out, part);
    }
    Chunked::Parsed(out)
}

/// Makes room in `into` for the arrays of tables of the later chunks
/// `rest`, so that joining thousands of chunks moves each object once.
fn reserve_for(into: &mut raw::RawScenario, rest: &[raw::RawScenario]) {
    let sum = |len: fn(&raw::RawScenario) -> usize| rest.iter().map(len).sum::<usize>();
    into.vcn.reserve(sum(|p| p.vcn.len()));
    into.gateway.reserve(sum(|p| p.gateway.len()));
    into.route_table.reserve(sum(|p| p.route_table.len()));
    into.security_list.reserve(sum(|p| p.security_list.len()));
    into.nsg.reserve(sum(|p| p.nsg.len()));
    into.subnet.reserve(sum(|p| p.subnet.len()));
    into.vnic.reserve(sum(|p| p.vnic.len()));
    into.zpr_policy.reserve(sum(|p| p.zpr_policy.len()));
}

/// One part of a split text parsed alone, its error placed in the whole
/// `text` (the part starts at byte `start`).
// The error is large, but the API hands it out by value on purpose.
#[allow(clippy::result_large_err)]
fn parse_toml_part(
    part: &str,
    start: usize,
    text: &str,
    file: &str,
) -> Result<raw::RawScenario, LoadError> {
    let _mode = raw::SpanMode::enter_at(true, start);
    toml::from_str::<raw::RawScenario>(part).map_err(|e| toml_error(&e, text, start, file))
}

/// TOML too large to parse whole that could not be read in parts.
fn too_large_whole(text: &str, file: &str) -> LoadError {
    LoadError {
        file: file.to_owned(),
        line: None,
        column: None,
        object: None,
        field: None,
        message: format!(
            "the scenario is {} bytes of TOML that cannot be read in parts; at most \
             {MAX_WHOLE_TOML_BYTES} bytes are read whole (write each object as a top-level \
             `[[table]]`, or use JSON)",
            text.len()
        ),
        rendered_zpl: None,
    }
}

/// Adds a later chunk's objects to `into`. A key other than an array of
/// tables is in one chunk only (`chunks::split` checks), so at most one
/// chunk gives each `Option`.
fn append(into: &mut raw::RawScenario, more: raw::RawScenario) {
    // Destructured so that a new field fails to compile until handled here.
    let raw::RawScenario {
        name,
        services,
        vcn,
        gateway,
        route_table,
        security_list,
        nsg,
        subnet,
        vnic,
        zpr_policy,
        options,
    } = more;
    into.name = into.name.take().or(name);
    into.services = into.services.take().or(services);
    into.options = into.options.take().or(options);
    into.vcn.extend(vcn);
    into.gateway.extend(gateway);
    into.route_table.extend(route_table);
    into.security_list.extend(security_list);
    into.nsg.extend(nsg);
    into.subnet.extend(subnet);
    into.vnic.extend(vnic);
    into.zpr_policy.extend(zpr_policy);
}

// The error is large, but the API hands it out by value on purpose:
// loading fails once per run, and callers match on its fields.
#[allow(clippy::result_large_err)]
fn parse_toml_whole(text: &str, file: &str) -> Result<raw::RawScenario, LoadError> {
    let _mode = raw::SpanMode::enter(true);
    toml::from_str::<raw::RawScenario>(text).map_err(|e| toml_error(&e, text, 0, file))
}

/// A `toml` error of the text starting at byte `start` of `text`, placed
/// by line and column in `text`.
fn toml_error(e: &toml::de::Error, text: &str, start: usize, file: &str) -> LoadError {
    let mut message = clean_serde_message(e.message());
    let (line, column) = match e.span() {
        Some(s) => {
            let (l, c) = line_col(text, start + s.start);
            (Some(l), Some(c))
        }
        None => match text
            .get(start..)
            .and_then(|t| spanless_place(t, e.message()))
        {
            Some((at, words)) => {
                message.push_str(words);
                let (l, c) = line_col(text, start + at);
                (Some(l), Some(c))
            }
            None => (None, None),
        },
    };
    if let Some(hint) = e
        .span()
        .and_then(|s| typographic_quote_hint(text, start + s.start))
    {
        message.push_str(&hint);
    }
    LoadError {
        file: file.to_owned(),
        line,
        column,
        object: None,
        field: None,
        message,
        rendered_zpl: None,
    }
}

/// Where a `toml` error without a span happened, when it can be found
/// again: the reader says only `recursion limit` for a dotted key of 80
/// parts or more (`a.b.c. ... = 1`), which the other nesting errors place
/// (QA round 25: `verify` and `check` printed `FILE: error: recursion
/// limit` with no line). The byte offset of the first line whose key
/// (before `=`, or in a `[table]` header) has 79 dots or more, and the
/// words to add.
pub(crate) fn spanless_place(text: &str, message: &str) -> Option<(usize, &'static str)> {
    if message.trim() != "recursion limit" {
        return None;
    }
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let key = line.split('=').next().unwrap_or(line);
        if key.matches('.').count() >= 79 {
            return Some((
                at,
                ": a dotted key of 80 parts or more, deeper than the TOML reader allows (80 levels)",
            ));
        }
        at += line.len();
    }
    None
}

/// When the character at byte `at` of `text` is a typographic quote (a
/// value copied from a word processor or a web page: `name = “web”`),
/// the words that name it, to follow a TOML error there ("string values
/// must be quoted", which the text seems to be).
pub(crate) fn typographic_quote_hint(text: &str, at: usize) -> Option<String> {
    let c = text.get(at..)?.chars().next()?;
    matches!(c, '‘' | '’' | '‚' | '‛' | '“' | '”' | '„' | '‟').then(|| {
        format!(
            "; `{c}` (U+{:04X}) is a typographic quote, as word processors and web pages write it: TOML strings are quoted with `\"` or `'`",
            u32::from(c)
        )
    })
}

// The error is large, but the API hands it out by value on purpose:
// loading fails once per run, and callers match on its fields.
#[allow(clippy::result_large_err)]
fn parse_json(text: &str, file: &str) -> Result<raw::RawScenario, LoadError> {
    // Plain JSON is read without a second pass per span (`fast_json.rs`);
    // anything else, and every error, by serde_json.
    if let Some(raw) = fast_json::parse(text) {
        return Ok(raw);
    }
    parse_json_serde(text, file)
}

/// [`parse_json`] by serde_json alone.
// The error is large, but the API hands it out by value on purpose.
#[allow(clippy::result_large_err)]
fn parse_json_serde(text: &str, file: &str) -> Result<raw::RawScenario, LoadError> {
    let _mode = raw::SpanMode::enter_json(text);
    serde_json::from_str::<raw::RawScenario>(text).map_err(|e| {
        let full = e.to_string();
        let (line, column) = (e.line(), e.column());
        let suffix = format!(" at line {line} column {column}");
        let message = full.strip_suffix(&suffix).unwrap_or(&full);
        // Inside a value read with its span, where that read failed.
        let inner = raw::take_json_error_at();
        let at = match inner {
            Some(off) => Some(line_col(text, off.min(text.len()))),
            None => (line > 0).then(|| line_col(text, json_error_offset(text, line, column))),
        };
        LoadError {
            file: file.to_owned(),
            line: at.map(|(l, _)| l),
            column: at.map(|(_, c)| c),
            object: None,
            field: None,
            message: clean_serde_message(message),
            rendered_zpl: None,
        }
    })
}

/// The byte offset serde_json means by `line` and `column`: its column
/// counts the bytes of the line read before the error, so it is 0 when the
/// last byte read was the newline ending the previous line, and it counts
/// bytes where ours count characters.
pub(crate) fn json_error_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + column).saturating_sub(1).min(text.len())
}

/// serde messages end with a newline or a period now and then; ours don't.
/// An unknown field gets a "did you mean" when a known one is close. A
/// number field says what it takes in words, not as the Rust type it is
/// read into ("expected i64", "integer `N` as i128").
fn clean_serde_message(m: &str) -> String {
    let m = lint::unknown_field_hint(m.trim().trim_end_matches('.'));
    let Some(head) = m.strip_suffix(", expected i64") else {
        return m;
    };
    // An integer past what any number field takes (they are checked
    // against their own ranges once read).
    let too_large = |n: &str| format!("integer `{n}` is too large for any number field here");
    if let Some(n) = head
        .strip_prefix("invalid type: integer `")
        .and_then(|r| r.strip_suffix("` as i128"))
    {
        return too_large(n);
    }
    if let Some(n) = head
        .strip_prefix("invalid value: integer `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return too_large(n);
    }
    format!("{head}, expected an integer")
}
