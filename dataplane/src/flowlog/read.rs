//! Reading flow-log files: JSON lines (Connector Hub objects), a JSON array,
//! the Logging search output (`{"data": {"results": [{"data": ENTRY}]}}`),
//! entries pretty-printed one after another (`jq` without `-c`), or gzip
//! or zstd of any of them, decided from the content.
//!
//! Memory is bounded before the work: a JSON-lines file is streamed one
//! line at a time (a line over [`Limits::max_line`] is skipped without
//! being held, but the first content line, which tells a document from
//! lines, is held up to [`Limits::max_document`]: a minified document is
//! one line), a whole-document file is read up to
//! [`Limits::max_document`] bytes (decompressed), and at most
//! [`Limits::max_records`] records are kept. A record that cannot be read
//! is a counted skip with its file and line; a document that is not JSON
//! is an error with its line and column.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use serde_json::value::RawValue;

use super::fast;
use super::record::{Entry, EntryId, LogRecord, RecordError, parse_entry};
use super::spill::{FlowLogSpool, PushError};
use crate::capture::decompress::{Codec, Decoder};
use crate::warning::{RunWarning, RunWarningCode};

/// Data records read at most by default when they are spilled
/// ([`ReadOutcome::spilling`]: `replay`), where the bound is on disk and
/// time, not memory: a thousand million.
pub const MAX_RECORDS_SPILLED: usize = 1_000_000_000;

/// Limits checked before the work they bound.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest line of a JSON-lines file, in bytes.
    pub max_line: usize,
    /// Largest whole-document file (JSON array, search output), decompressed.
    pub max_document: u64,
    /// Most data records kept over all files.
    pub max_records: usize,
    /// Most problems kept as messages (the rest are counted).
    pub max_problems: usize,
    /// Most NODATA and SKIPDATA entry ids kept to find one read twice
    /// ([`MAX_QUALITY_IDS`]; smaller in tests).
    pub max_quality_ids: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 1 << 20,
            max_document: 256 << 20,
            max_records: 5_000_000,
            max_problems: 20,
            max_quality_ids: MAX_QUALITY_IDS,
        }
    }
}

/// What the files held.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// Data records (`status: OK`), in input order (none when
    /// [`ReadOutcome::spilling`]: they go to its spool).
    pub records: Vec<LogRecord>,
    /// Where the records go instead of `records`, placed and in fixed-size
    /// form, sorted outside memory past a bound; duplicates are then
    /// found as they are judged ([`super::stream`]).
    pub spool: Option<FlowLogSpool>,
    /// `NODATA` records.
    pub nodata: u64,
    /// `SKIPDATA` records.
    pub skipdata: u64,
    /// Entries that could not be read (counted, skipped).
    pub malformed: u64,
    /// The first problems, each naming file and line.
    pub problems: Vec<RunWarning>,
    /// Reading stopped early because the stop flag was set
    /// ([`read_path_until`]): the records are those before it.
    pub stopped: bool,
    /// Reading stopped early because the spool's temporary files could not
    /// be written (a full disk): the records are those before it, and
    /// `problems` holds the `temporary-files-full` warning saying so.
    pub temp_full: bool,
    /// Data records whose entry `id` an earlier record had (the same
    /// entry read twice: counted once, these skipped).
    pub duplicates: u64,
    /// Where the first of them is: the file (as named in messages) and
    /// line.
    pub first_duplicate: Option<(String, u64)>,
    /// Entries whose `data.version` is not 2 ([`record::other_version`]).
    pub other_versions: u64,
    /// Where the first of them is (file as named in messages, line) and
    /// its version as messages quote it.
    pub first_other_version: Option<(String, u64, String)>,
    /// Malformed entries listed in `problems` (which holds other warnings
    /// too: a gzip stream that ends early).
    malformed_listed: u64,
    /// One copy of each VNIC OCID the records name, which they share.
    ocids: HashSet<Arc<str>, ahash::RandomState>,
    /// The ids of the entries read ([`EntryId`]) with their `startTime`
    /// (a duplicate entry has its copy's).
    ids: HashSet<(EntryId, u64), ahash::RandomState>,
    /// The same for the NODATA and SKIPDATA entries, which never reach the
    /// spool (where data records are found again one second at a time):
    /// at most [`MAX_QUALITY_IDS`], later ones are counted unchecked.
    quality_ids: HashSet<(EntryId, u64), ahash::RandomState>,
    /// NODATA and SKIPDATA entries skipped as read before (counted in
    /// `duplicates` too, which a spooled run replaces with the spool's
    /// count: add these to it).
    pub quality_duplicates: u64,
    /// Where the first of them is: file index and line.
    pub first_quality_duplicate: Option<(u32, u64)>,
    /// The `quality-entries-unchecked` warning was given: the ids of
    /// NODATA and SKIPDATA entries reached [`Limits::max_quality_ids`].
    quality_ids_full: bool,
}

/// Most NODATA and SKIPDATA entries whose ids are kept to find one read
/// twice: 7/8 of 2^20, the most a table of 2^20 buckets holds before it
/// doubles (32-byte keys and a control byte each: about 35 MB). A week of
/// a large tenancy's idle VNICs may log more, whose later ones are counted
/// as read, unchecked.
pub const MAX_QUALITY_IDS: usize = 7 << 17;

impl ReadOutcome {
    /// An outcome whose data records go to `spool` (read in bounded
    /// memory; judged by [`super::stream::judge_spooled`]).
    #[must_use]
    pub fn spilling(spool: FlowLogSpool) -> ReadOutcome {
        ReadOutcome {
            spool: Some(spool),
            ..ReadOutcome::default()
        }
    }

    /// The warning counting the malformed entries `problems` does not list
    /// (past the first [`Limits::max_problems`]), if any.
    #[must_use]
    pub fn unlisted_warning(&self) -> Option<RunWarning> {
        (self.malformed > self.malformed_listed).then(|| {
            RunWarning::new(
                RunWarningCode::MalformedEntry,
                format!(
                    "{} more flow-log entries skipped as malformed",
                    self.malformed - self.malformed_listed
                ),
            )
        })
    }

    /// Frees what only the reading needs (the set of entry ids that finds
    /// duplicates, 16 bytes and more an entry): call it after the last
    /// file, before judging. A file read after it may repeat an entry of
    /// the files before.
    pub fn end_reading(&mut self) {
        self.ids = HashSet::default();
        self.quality_ids = HashSet::default();
        self.ocids = HashSet::default();
    }

    /// Why the run must stop, when nothing could be read: entries were
    /// found but every one was skipped as malformed, and none was a data,
    /// NODATA or SKIPDATA entry (files that are not flow logs as OCI writes
    /// them, e.g. another export's JSON). A run that judged nothing from
    /// them would exit 0 with warnings, and a CI gate (`diff --fail-on`,
    /// `replay --fail-on-drop`) would pass on no evidence. Not when the
    /// reading was stopped by a signal, nor for blank files (a window with
    /// no traffic).
    #[must_use]
    pub fn nothing_readable(&self) -> Option<String> {
        let data = self.records.len() as u64 + self.spool.as_ref().map_or(0, FlowLogSpool::records);
        let read = data + self.duplicates + self.nodata + self.skipdata;
        if self.stopped || self.temp_full || read > 0 || self.malformed == 0 {
            return None;
        }
        let first = self
            .problems
            .first()
            .map_or(String::new(), |p| format!("; the first: {p}"));
        Some(format!(
            "no flow-log entry could be read: {} entr{} skipped as malformed{first}",
            self.malformed,
            if self.malformed == 1 { "y" } else { "ies" }
        ))
    }

    /// The warning about entries of a schema version other than 2, if any.
    #[must_use]
    pub fn version_warning(&self) -> Option<RunWarning> {
        let (file, line, version) = self.first_other_version.as_ref()?;
        Some(
            RunWarning::new(
                RunWarningCode::OtherSchemaVersion,
                format!(
                    "{file}:{line}: {} flow-log entr{} of `data.version` other than 2 (the first: `{version}`); zprsim knows OCI's version 2 only and read {} with its fields: check that the fields still mean what they did",
                    self.other_versions,
                    if self.other_versions == 1 { "y" } else { "ies" },
                    if self.other_versions == 1 { "it" } else { "them" }
                ),
            )
            .file(file)
            .line(*line),
        )
    }

    /// The warning about the entries skipped as duplicates, if any.
    #[must_use]
    pub fn duplicate_warning(&self) -> Option<RunWarning> {
        let (file, line) = self.first_duplicate.as_ref()?;
        Some(
            RunWarning::new(
                RunWarningCode::DuplicateEntry,
                format!(
                    "{file}:{line}: {} flow-log entr{} skipped: an earlier entry has the same `id` (the same entry read twice, e.g. a file and its .gz copy); each entry is counted once",
                    self.duplicates,
                    if self.duplicates == 1 { "y" } else { "ies" }
                ),
            )
            .file(file)
            .line(*line),
        )
    }
}

/// A file that cannot be read as flow logs at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLogError {
    /// The file.
    pub file: String,
    /// 1-based line, where known.
    pub line: Option<u64>,
    /// 1-based column, where known.
    pub column: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for FlowLogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for FlowLogError {}

#[derive(Clone, Copy)]
struct Ctx<'a> {
    name: &'a str,
    file: u32,
    limits: &'a Limits,
    /// Set (by a signal handler) to stop at the next line.
    stop: Option<&'a AtomicBool>,
    /// The input is compressed (gzip, zstd): a stream that ends early is
    /// a cut download.
    codec: Option<Codec>,
    /// The input's length in bytes when it is known (a regular file, not
    /// gzip): a whole document is read into one buffer of that size.
    size: Option<u64>,
}

impl Ctx<'_> {
    fn stop_requested(&self, out: &mut ReadOutcome) -> bool {
        let stop = self.stop.is_some_and(|s| s.load(Ordering::Relaxed));
        out.stopped |= stop;
        stop || out.temp_full
    }

    fn error(&self, line: Option<u64>, column: Option<u64>, message: String) -> FlowLogError {
        FlowLogError {
            file: self.name.to_owned(),
            line,
            column,
            message,
        }
    }

    /// A read error (at `line`, when known), naming the compression when
    /// the decoder refused the data (a zstd window over the bound, a
    /// checksum that does not match).
    fn cannot_read(&self, line: Option<u64>, e: &std::io::Error) -> FlowLogError {
        let codec = self
            .codec
            .map_or(String::new(), |c| format!("{}: ", c.name()));
        self.error(line, None, format!("cannot read: {codec}{e}"))
    }

    fn problem(&self, out: &mut ReadOutcome, line: u64, message: &str) {
        self.problem_at(out, line, None, message);
    }

    /// [`Self::problem`] at `column` of `line`, when known
    /// (`FILE:LINE:COL: skipped: ...`, as the other errors name a place).
    fn problem_at(&self, out: &mut ReadOutcome, line: u64, column: Option<u64>, message: &str) {
        out.malformed += 1;
        if out.problems.len() < self.limits.max_problems {
            let at = column.map_or(String::new(), |c| format!(":{c}"));
            let mut w = RunWarning::new(
                RunWarningCode::MalformedEntry,
                format!("{}:{line}{at}: skipped: {message}", self.name),
            )
            .file(self.name)
            .line(line);
            if let Some(c) = column {
                w = w.column(c);
            }
            out.problems.push(w);
            out.malformed_listed += 1;
        }
    }

    /// A compressed stream that ends early after `lines` lines (a cut download;
    /// trailing bytes that are no gzip member): as for a capture that ends
    /// inside a record, a warning, and the whole lines before it count.
    fn ends_early(&self, out: &mut ReadOutcome, lines: u64, e: &std::io::Error) {
        out.problems.push(
            RunWarning::new(
                RunWarningCode::CompressedEndsEarly,
                format!(
                    "{}:{}: {}; the {lines} line(s) before are read",
                    self.name,
                    lines + 1,
                    self.codec.map_or_else(
                        || format!("the compressed stream ends early ({e})"),
                        |c| c.early_end(e)
                    )
                ),
            )
            .file(self.name)
            .line(lines + 1),
        );
    }

    /// One JSON value, `text`: read by the shortcut when it is a
    /// well-formed data record ([`fast`]), else parsed whole and read by
    /// [`parse_entry`]: as one entry, or (`walk`, a JSON line) as the
    /// entries [`walk_value`] finds in it.
    fn text(
        &self,
        out: &mut ReadOutcome,
        text: &[u8],
        line: u64,
        walk: bool,
    ) -> Result<(), FlowLogError> {
        if let Some(e) = std::str::from_utf8(text)
            .ok()
            .and_then(|t| fast::data_record(t, self.file, line))
        {
            return self.take(out, Ok(e), line);
        }
        match serde_json::from_slice::<Value>(text) {
            Err(e) => {
                // serde_json places the error in the entry's own text: in
                // the file, its line is the entry's plus the lines before
                // it within the entry, and the message drops the
                // entry-relative "at line 1 column 35".
                let at =
                    line.saturating_add(u64::try_from(e.line()).unwrap_or(1).saturating_sub(1));
                let text = e.to_string();
                let what = text
                    .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
                    .unwrap_or(&text);
                let column = u64::try_from(e.column()).unwrap_or(0);
                self.problem_at(out, at, Some(column), &format!("not JSON: {what}"));
            }
            Ok(v) if walk => {
                let mut entries = Vec::new();
                walk_value(&v, 0, &mut entries);
                for e in entries {
                    self.version(out, e, line);
                    self.take(out, parse_entry(e, self.file, line), line)?;
                }
            }
            Ok(v) => {
                self.version(out, &v, line);
                self.take(out, parse_entry(&v, self.file, line), line)?;
            }
        }
        Ok(())
    }

    /// Counts `entry` when its `data.version` is not 2 (the shortcut
    /// leaves such entries to this path).
    fn version(&self, out: &mut ReadOutcome, entry: &Value, line: u64) {
        if let Some(v) = super::record::other_version(entry) {
            out.other_versions += 1;
            if out.first_other_version.is_none() {
                out.first_other_version = Some((self.name.to_owned(), line, v));
            }
        }
    }

    fn take(
        &self,
        out: &mut ReadOutcome,
        entry: Result<Entry, RecordError>,
        line: u64,
    ) -> Result<(), FlowLogError> {
        match entry {
            Ok(Entry::Data(r, id)) => {
                if let Some(sp) = &mut out.spool {
                    if sp.records() >= self.limits.max_records as u64 {
                        return Err(self.error(
                            Some(line),
                            None,
                            format!(
                                "more than {} flow-log records (the limit, `--max-flow-log-records`)",
                                self.limits.max_records
                            ),
                        ));
                    }
                    return match sp.push(&r, id) {
                        Ok(()) => Ok(()),
                        Err(PushError::Limit(m)) => Err(self.error(Some(line), None, m)),
                        // A full disk: the reading stops here, as a Ctrl-C
                        // stops it, and what was read is judged.
                        Err(PushError::Full(_)) if out.temp_full => Ok(()),
                        Err(PushError::Full(m)) => {
                            out.problems.push(
                                RunWarning::new(
                                    RunWarningCode::TemporaryFilesFull,
                                    format!("{}:{line}: {m}", self.name),
                                )
                                .file(self.name.to_owned()),
                            );
                            out.temp_full = true;
                            Ok(())
                        }
                    };
                }
                if let Some(id) = id
                    && !out.ids.insert((id, r.start))
                {
                    out.duplicates += 1;
                    if out.first_duplicate.is_none() {
                        out.first_duplicate = Some((self.name.to_owned(), line));
                    }
                    return Ok(());
                }
                if out.records.len() >= self.limits.max_records {
                    return Err(self.error(
                        Some(line),
                        None,
                        format!(
                            "more than {} flow-log records (the limit, `--max-flow-log-records`: each takes about 300 bytes while the run lasts)",
                            self.limits.max_records
                        ),
                    ));
                }
                let mut r = r;
                // The records of a VNIC share one copy of its OCID (a
                // flow log names few VNICs, each in many records).
                match out.ocids.get(&r.vnic) {
                    Some(shared) => r.vnic = Arc::clone(shared),
                    None => {
                        out.ocids.insert(Arc::clone(&r.vnic));
                    }
                }
                out.records.push(r);
            }
            Ok(Entry::NoData(key) | Entry::SkipData(key))
                if key.is_some_and(|k| out.quality_ids.contains(&k)) =>
            {
                out.duplicates += 1;
                out.quality_duplicates += 1;
                if out.first_quality_duplicate.is_none() {
                    out.first_quality_duplicate = Some((self.file, line));
                }
                if out.first_duplicate.is_none() {
                    out.first_duplicate = Some((self.name.to_owned(), line));
                }
            }
            Ok(e @ (Entry::NoData(key) | Entry::SkipData(key))) => {
                if let Some(k) = key {
                    if out.quality_ids.len() < self.limits.max_quality_ids {
                        out.quality_ids.insert(k);
                    } else if !out.quality_ids_full {
                        // Once, where the first id is not kept (since the
                        // twentieth session: before, nothing said so).
                        out.quality_ids_full = true;
                        out.problems.push(
                            RunWarning::new(
                                RunWarningCode::QualityEntriesUnchecked,
                                format!(
                                    "{}:{line}: more than {} NODATA and SKIPDATA entries: from here on they are counted unchecked, and one read twice (a file given twice, overlapping downloads) is counted twice in `nodata`/`skipdata`; data records are still checked",
                                    self.name, self.limits.max_quality_ids
                                ),
                            )
                            .file(self.name)
                            .line(line),
                        );
                    }
                }
                if matches!(e, Entry::NoData(_)) {
                    out.nodata += 1;
                } else {
                    out.skipdata += 1;
                }
            }
            Err(e) => self.problem(out, line, &e.0),
        }
        Ok(())
    }
}

/// Reads the flow-log file at `path` into `out` (records get file index
/// `file`).
///
/// # Errors
/// When the file cannot be read, is not JSON, or exceeds a limit.
pub fn read_path(
    path: &Path,
    file: u32,
    limits: &Limits,
    out: &mut ReadOutcome,
) -> Result<(), FlowLogError> {
    read_path_until(path, file, limits, None, out)
}

/// As [`read_path`], but stops at a line boundary once `stop` is set (the
/// first Ctrl-C of a run): [`ReadOutcome::stopped`] says so, and the
/// records read before it are kept. A whole-document file is checked
/// before it is parsed.
///
/// # Errors
/// As [`read_path`].
pub fn read_path_until(
    path: &Path,
    file: u32,
    limits: &Limits,
    stop: Option<&AtomicBool>,
    out: &mut ReadOutcome,
) -> Result<(), FlowLogError> {
    // Escaped: a file name is input, and a newline in it would forge a
    // line of the messages.
    let name = crate::output::shown(path);
    let f = crate::sniff::open(path).map_err(|e| FlowLogError {
        file: name.clone(),
        line: None,
        column: None,
        message: e.to_string(),
    })?;
    let size = std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len());
    let cx = Ctx {
        name: &name,
        file,
        limits,
        stop,
        codec: None,
        size,
    };
    read_with(&cx, f, out)
}

/// Reads `paths` in order into `out` (file `i` numbered `i`), as
/// [`read_path_until`], stopping after the file in which `stop` was set;
/// then frees what only the reading needs ([`ReadOutcome::end_reading`]).
///
/// # Errors
/// A file that cannot be read as flow logs ([`read_path_until`]), or
/// files of which no entry could be read ([`ReadOutcome::nothing_readable`]).
pub fn read_paths_until(
    paths: &[std::path::PathBuf],
    limits: &Limits,
    stop: Option<&AtomicBool>,
    out: &mut ReadOutcome,
) -> Result<(), String> {
    for (i, p) in paths.iter().enumerate() {
        let idx = u32::try_from(i).unwrap_or(u32::MAX);
        read_path_until(p, idx, limits, stop, out).map_err(|e| e.to_string())?;
        if out.stopped || out.temp_full {
            break;
        }
    }
    out.end_reading();
    match out.nothing_readable() {
        Some(m) => Err(m),
        None => Ok(()),
    }
}

/// Reads flow-log entries from `input` (plain or gzip) into `out`; `name`
/// is the file name for messages.
///
/// # Errors
/// When the input cannot be read, is not JSON, or exceeds a limit.
pub fn read_from(
    name: &str,
    file: u32,
    input: impl Read,
    limits: &Limits,
    out: &mut ReadOutcome,
) -> Result<(), FlowLogError> {
    let cx = Ctx {
        name,
        file,
        limits,
        stop: None,
        codec: None,
        size: None,
    };
    read_with(&cx, input, out)
}

fn read_with(cx: &Ctx<'_>, input: impl Read, out: &mut ReadOutcome) -> Result<(), FlowLogError> {
    let mut r = BufReader::with_capacity(64 << 10, input);
    let head = r
        .fill_buf()
        .map_err(|e| cx.error(None, None, e.to_string()))?;
    if let Some(codec) = Codec::of(head) {
        // gzip or zstd (`.log.zst`): read as the text it holds, within the
        // same limits (they bound the decompressed bytes), a zstd window
        // within the capture reader's bound.
        let cx = Ctx {
            codec: Some(codec),
            size: None,
            ..*cx
        };
        let d = Decoder::new(codec, r).map_err(|e| cx.cannot_read(None, &e))?;
        read_text(&cx, BufReader::new(d), out)
    } else {
        read_text(cx, r, out)
    }
}

/// Reads `r` as UTF-8 text, or, when it starts as UTF-16 text does
/// (Windows PowerShell 5's `>`, compressed or not: read as UTF-8 it was
/// refused as "not JSON" or "not UTF-8 text"), through the UTF-16 decoder,
/// line for line (its size in bytes is then no longer the text's). The
/// plain and the decompressed reader both come here. A compressed stream
/// that ends before its first byte out ends early (a warning), as
/// `read_plain`'s first read would say.
fn read_text(cx: &Ctx<'_>, mut r: impl BufRead, out: &mut ReadOutcome) -> Result<(), FlowLogError> {
    let utf16 = match r.fill_buf() {
        Ok(head) => crate::input::utf16_start(head),
        Err(e) if cx.codec.is_some() && e.kind() == std::io::ErrorKind::UnexpectedEof => {
            cx.ends_early(out, 0, &e);
            return Ok(());
        }
        Err(e) => return Err(cx.cannot_read(None, &e)),
    };
    match utf16 {
        Some((be, mark)) => {
            r.consume(mark);
            let cx = Ctx { size: None, ..*cx };
            read_plain(
                &cx,
                BufReader::new(crate::input::Utf16Reader::starting_at(r, be, mark as u64)),
                out,
            )
        }
        None => read_plain(cx, r, out),
    }
}

/// Reads one line of at most `max` bytes into `buf` (without the newline).
/// Returns `None` at the end, else whether the line was longer than `max`
/// (the rest of it is read and dropped). `size`: the bytes the input holds
/// at most (its size, or the document limit when it is not known: a pipe,
/// gzip), and the line's length past which to make room for all of them
/// at once (a minified document is one line: grown by doubling, it was
/// held twice while the buffer moved). Room not had at once (a strict
/// overcommit policy) is grown into as the line is read.
fn read_line(
    r: &mut impl BufRead,
    max: usize,
    buf: &mut Vec<u8>,
    size: Option<(usize, usize)>,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut long = false;
    let mut any = false;
    loop {
        let chunk = fill(r)?;
        if chunk.is_empty() {
            return Ok(any.then_some(long));
        }
        any = true;
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = max.saturating_sub(buf.len());
        if take > room {
            long = true;
        }
        let need = buf.len() + take.min(room);
        // Blank lines before the first are in `all` already.
        make_room(buf, need, size.map(|(all, past)| (all.min(max), past)));
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take + usize::from(done));
        if done {
            return Ok(Some(long));
        }
    }
}

/// Makes room in `buf` for `need` bytes. With `room` (`(all, past)`: the
/// bytes the input may hold at most, and the length past which to take
/// room for them at once), a buffer past `past` bytes is given room for
/// `all` (and the two bytes a document adds: the newline after its first
/// line, the byte that tells it is over the limit) in one reservation, as
/// address space whose pages are touched only as they are filled: grown
/// by doubling, a document was held near twice while the buffer moved
/// (534 MB for one of 187 MB). Below `past` it grows as a `Vec` does, so
/// a small input of unknown size holds little (it held the whole
/// document limit, 256 MiB, as address space). Room not had at once (a
/// strict overcommit policy) is grown into as the input is read.
fn make_room(buf: &mut Vec<u8>, need: usize, room: Option<(usize, usize)>) {
    if let Some((all, past)) = room
        && need > buf.capacity()
        && need > past
        && all > need
    {
        let _ = buf.try_reserve_exact(all.saturating_add(2) - buf.len());
    }
}

/// `r`'s next bytes (empty at its end), read again when interrupted.
fn fill(r: &mut impl BufRead) -> std::io::Result<&[u8]> {
    loop {
        match r.fill_buf() {
            Ok([]) => return Ok(&[]),
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // Buffered now: no second read. (Returned from the loop, the borrow
    // would last across its iterations.)
    r.fill_buf()
}

/// Reads `r` to its end into `buf`, making room as [`make_room`] says.
fn read_growing(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    room: Option<(usize, usize)>,
) -> std::io::Result<()> {
    loop {
        let chunk = fill(r)?;
        if chunk.is_empty() {
            return Ok(());
        }
        let n = chunk.len();
        make_room(buf, buf.len() + n, room);
        buf.extend_from_slice(chunk);
        r.consume(n);
    }
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_whitespace)
}

fn read_plain(
    cx: &Ctx<'_>,
    mut r: impl BufRead,
    out: &mut ReadOutcome,
) -> Result<(), FlowLogError> {
    let io = |e: std::io::Error| cx.cannot_read(None, &e);
    // Blank lines before the first content line.
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    // The first content line is kept up to the document limit, not the
    // line limit: a minified document is one long line, and read_document
    // needs all of it (cut at `max_line`, it was refused as "not JSON").
    let first_max = usize::try_from(cx.limits.max_document)
        .unwrap_or(usize::MAX)
        .max(cx.limits.max_line);
    let first_long = loop {
        // Not known (a pipe, gzip): as large as a document may be.
        let size = Some((
            cx.size
                .map_or(first_max, |n| usize::try_from(n).unwrap_or(usize::MAX)),
            cx.limits.max_line,
        ));
        let next = match read_line(&mut r, first_max, &mut buf, size) {
            // Cut before its first line ends: as in `read_lines`, a
            // warning (not a header refused: that is the first member's).
            Err(e) if cx.codec.is_some() && e.kind() == std::io::ErrorKind::UnexpectedEof => {
                cx.ends_early(out, line_no, &e);
                return Ok(());
            }
            r => r.map_err(io)?,
        };
        match next {
            None => return Ok(()),
            Some(long) => {
                line_no += 1;
                if line_no == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
                    buf.drain(..3);
                }
                let long = long || buf.len() > cx.limits.max_line;
                if !is_blank(&buf) || long {
                    break long;
                }
            }
        }
    };
    if first_long {
        // A JSON line over the limit is skipped (read_lines says so);
        // anything else is a document, read whole or refused at its limit.
        let brace = buf.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        return if brace {
            buf.clear();
            read_lines(cx, r, out, buf, true, line_no)
        } else {
            read_document(cx, r, out, buf, line_no)
        };
    }
    // Borrowed, not copied: a minified document's first line is all of
    // it (up to `max_document`), and a copy here was one of the three the
    // document was held in at once.
    let looks_like_lines = {
        let text = String::from_utf8_lossy(&buf);
        let first = text.trim();
        let one_value = serde_json::from_str::<&RawValue>(first).is_ok();
        one_value || (first.starts_with('{') && first.ends_with('}') && first.len() > 1)
    };
    if looks_like_lines {
        read_lines(cx, r, out, buf, false, line_no)
    } else {
        read_document(cx, r, out, buf, line_no)
    }
}

fn read_lines(
    cx: &Ctx<'_>,
    mut r: impl BufRead,
    out: &mut ReadOutcome,
    mut buf: Vec<u8>,
    mut long: bool,
    mut line_no: u64,
) -> Result<(), FlowLogError> {
    loop {
        if cx.stop_requested(out) {
            return Ok(());
        }
        if long {
            cx.problem(
                out,
                line_no,
                &format!("line longer than {} bytes", cx.limits.max_line),
            );
        } else if !is_blank(&buf) {
            cx.text(out, &buf, line_no, true)?;
        }
        let next = match read_line(&mut r, cx.limits.max_line, &mut buf, None) {
            // The cut line is dropped.
            // An invalid gzip header is a later member's here: the first
            // member's was read before any line.
            Err(e) if cx.codec.is_some_and(|c| c.ends_early(&e)) => {
                cx.ends_early(out, line_no, &e);
                return Ok(());
            }
            r => r.map_err(|e| cx.cannot_read(Some(line_no + 1), &e))?,
        };
        match next {
            None => return Ok(()),
            Some(l) => {
                long = l;
                line_no += 1;
            }
        }
    }
}

fn read_document(
    cx: &Ctx<'_>,
    r: impl BufRead,
    out: &mut ReadOutcome,
    first: Vec<u8>,
    first_line: u64,
) -> Result<(), FlowLogError> {
    let max = cx.limits.max_document;
    // The first line's buffer becomes the document's (no second copy of
    // what may be all of it); the blank lines before it are put back in
    // front, to keep the line count.
    let mut all = first;
    let blank = usize::try_from(first_line.saturating_sub(1)).unwrap_or(0);
    if blank > 0 {
        all.splice(0..0, std::iter::repeat_n(b'\n', blank));
    }
    all.push(b'\n');
    let limited = u64::try_from(all.len()).unwrap_or(u64::MAX);
    // Its size not known (a pipe, gzip), a document grows by doubling up
    // to `max_line`, then takes room for the largest document at once
    // (`read_line` does the same for a first line).
    let room = cx.size.is_none().then(|| {
        (
            usize::try_from(max).unwrap_or(usize::MAX),
            cx.limits.max_line,
        )
    });
    read_growing(
        &mut r.take((max + 1).saturating_sub(limited)),
        &mut all,
        room,
    )
    .map_err(|e| cx.cannot_read(None, &e))?;
    if u64::try_from(all.len()).unwrap_or(u64::MAX) > max {
        return Err(cx.error(
            None,
            None,
            format!(
                "a JSON document over {max} bytes (the limit); write one entry per line instead"
            ),
        ));
    }
    if cx.stop_requested(out) {
        return Ok(());
    }
    let text = std::str::from_utf8(&all).map_err(|e| {
        let at = e.valid_up_to();
        let line = 1 + all[..at].iter().filter(|&&b| b == b'\n').count() as u64;
        cx.error(Some(line), None, "not UTF-8 text".into())
    })?;
    // One value, or several one after the other: `jq '.[]'` and
    // `jq '.data.results[].data'` print each entry pretty-printed over
    // many lines, one after the other, with no array around them.
    let mut entries = Vec::new();
    for top in serde_json::Deserializer::from_str(text).into_iter::<&RawValue>() {
        let top = top.map_err(|e| {
            cx.error(
                Some(e.line() as u64),
                Some(e.column() as u64),
                format!("not JSON: {e}"),
            )
        })?;
        walk(top, 0, &mut entries).map_err(|e| cx.error(None, None, format!("not JSON: {e}")))?;
    }
    // Entries come in document order: count lines incrementally.
    let base = text.as_ptr() as usize;
    let (mut at, mut line) = (0usize, 1u64);
    for raw in entries {
        let off = (raw.get().as_ptr() as usize)
            .saturating_sub(base)
            .min(text.len());
        if off >= at {
            line += text.as_bytes()[at..off]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            at = off;
        }
        cx.text(out, raw.get().as_bytes(), line, false)?;
    }
    Ok(())
}

/// Collects the entries of a document: array elements, the `results` of a
/// Logging search output, the `data` of a CLI envelope or search result.
fn walk<'a>(
    raw: &'a RawValue,
    depth: u32,
    out: &mut Vec<&'a RawValue>,
) -> Result<(), serde_json::Error> {
    let t = raw.get().trim_start();
    if t.starts_with('[') && depth < 6 {
        let items: Vec<&RawValue> = serde_json::from_str(raw.get())?;
        for i in items {
            walk(i, depth + 1, out)?;
        }
    } else if t.starts_with('{') && depth < 6 {
        let m: HashMap<String, &RawValue> = serde_json::from_str(raw.get())?;
        if m.contains_key("logContent") || m.contains_key("oracle") || bare_data(&m) {
            out.push(raw);
        } else if let Some(inner) = m
            .get("results")
            .or_else(|| m.get("items"))
            .or_else(|| m.get("data"))
        {
            walk(inner, depth + 1, out)?;
        } else {
            out.push(raw);
        }
    } else {
        out.push(raw);
    }
    Ok(())
}

/// A `logContent` without `oracle`: its `data` is the flow data itself.
fn bare_data(m: &HashMap<String, &RawValue>) -> bool {
    m.get("data").is_some_and(|d| {
        d.get().trim_start().starts_with('{')
            && serde_json::from_str::<HashMap<String, &RawValue>>(d.get()).is_ok_and(|inner| {
                inner.contains_key("status") || inner.contains_key("sourceAddress")
            })
    })
}

/// [`walk`] over a parsed value (JSON lines: one parse per line).
pub(super) fn walk_value<'a>(v: &'a Value, depth: u32, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) if depth < 6 => {
            for i in items {
                walk_value(i, depth + 1, out);
            }
        }
        Value::Object(m) if depth < 6 => {
            let bare = matches!(m.get("data"), Some(Value::Object(d)) if d.contains_key("status") || d.contains_key("sourceAddress"));
            if m.contains_key("logContent") || m.contains_key("oracle") || bare {
                out.push(v);
            } else if let Some(inner) = m
                .get("results")
                .or_else(|| m.get("items"))
                .or_else(|| m.get("data"))
            {
                walk_value(inner, depth + 1, out);
            } else {
                out.push(v);
            }
        }
        _ => out.push(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Past [`Limits::max_quality_ids`] NODATA entries, one warning says
    /// the later ones are unchecked, where the first is (before, nothing
    /// said so); the kept ones are still found read twice.
    #[test]
    fn past_the_quality_id_bound_one_warning_says_they_are_unchecked() {
        let entry = |n: u32| {
            format!(
                r#"{{"datetime":1709283480000,"logContent":{{"data":{{"action":null,"bytesOut":null,"destinationAddress":null,"destinationPort":null,"endTime":1709283539,"flowid":null,"packets":null,"protocol":null,"protocolName":null,"sourceAddress":null,"sourcePort":null,"startTime":1709283480,"status":"NODATA","version":"2"}},"id":"00000000-0000-4000-9000-00000000000{n}","oracle":{{"vnicocid":"ocid1.vnic.oc1..x","vnicsubnetocid":null}},"source":null,"specversion":"1.0","time":"2024-03-01T08:58:00.000Z","type":"com.oraclecloud.vcn.flowlogs.QualityEvent.NoData"}}}}"#
            )
        };
        // Lines: 1, 2 kept; 3, 4 unchecked (4 read twice, counted twice);
        // 1 again found.
        let log: String = [1, 2, 3, 4, 4, 1]
            .iter()
            .map(|&n| entry(n) + "\n")
            .collect();
        let code = |out: &ReadOutcome| {
            out.problems
                .iter()
                .filter(|w| w.code == RunWarningCode::QualityEntriesUnchecked)
                .map(|w| w.message.clone())
                .collect::<Vec<_>>()
        };
        let limits = Limits {
            max_quality_ids: 2,
            ..Limits::default()
        };
        let mut out = ReadOutcome::default();
        read_from("q.jsonl", 0, log.as_bytes(), &limits, &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((out.nodata, out.quality_duplicates), (5, 1));
        let said = code(&out);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with("q.jsonl:3: more than 2 NODATA and SKIPDATA entries: from here on they are counted unchecked"),
            "{said:?}"
        );
        // Under the bound: no warning, every copy found.
        let mut out = ReadOutcome::default();
        read_from("q.jsonl", 0, log.as_bytes(), &Limits::default(), &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((out.nodata, out.quality_duplicates), (4, 2));
        assert!(code(&out).is_empty());
    }

    /// A document whose size is not known (a pipe, gzip), minified on one
    /// line or over many, is held once: one buffer of the document limit,
    /// not one grown by doubling, which held it near twice while it moved
    /// (534 MB for a document of 187 MB under the 256 MiB limit).
    #[test]
    fn a_small_document_of_unknown_size_holds_little() {
        // Pretty-printed (many lines), so the document is read past its
        // first line; 2 KB, with the default limit of 256 MiB.
        let item = format!("  \"{}\"", "x".repeat(100));
        let doc = format!("[\n{}\n]\n", vec![item; 20].join(",\n"));
        assert!(doc.len() > 2000);
        let start = crate::test_alloc::held();
        crate::test_alloc::reset();
        let mut out = ReadOutcome::default();
        read_from("doc.json", 0, doc.as_bytes(), &Limits::default(), &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        let peak = crate::test_alloc::peak_since(start);
        assert_eq!(out.malformed, 20);
        // It held the whole document limit as address space.
        assert!(
            peak < 1 << 20,
            "{peak} bytes held at most for {} bytes",
            doc.len()
        );
    }

    #[test]
    fn a_document_of_unknown_size_is_held_once() {
        // Nine strings of 1 MiB: each a malformed entry (counted, not kept).
        let item = format!("\"{}\"", "x".repeat(1 << 20));
        let items = vec![item; 9];
        let limits = Limits {
            max_document: 10 << 20,
            ..Limits::default()
        };
        for sep in [",", ",\n"] {
            let doc = format!(
                "[{}{}]\n",
                if sep == "," { "" } else { "\n" },
                items.join(sep)
            );
            let start = crate::test_alloc::held();
            crate::test_alloc::reset();
            let mut out = ReadOutcome::default();
            // `read_from` of a slice: its size is not known to the reader.
            read_from("doc.json", 0, doc.as_bytes(), &limits, &mut out)
                .unwrap_or_else(|e| panic!("{e}"));
            let peak = crate::test_alloc::peak_since(start);
            assert_eq!(out.malformed, 9);
            // The document limit once, and the one entry parsed at a time.
            assert!(
                peak < doc.len() / 2 * 3,
                "{} on {} lines: {peak} bytes held at most",
                doc.len(),
                doc.lines().count()
            );
        }
    }
}
