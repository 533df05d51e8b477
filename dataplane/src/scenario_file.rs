//! Loading a scenario from the file system: the one place where the pure
//! loader of `zprsim-control` meets files (`file = "..."` policy files are
//! read relative to the scenario).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use zprsim_control::load::{self, Format, Jobs, LoadError, Loaded, SourceFiles};

use crate::capture::decompress::Codec;

/// Reads policy files relative to the scenario's directory, and remembers
/// which (they are inputs too: no output may overwrite one, see
/// [`crate::output::Plan::check_late_inputs`]).
#[derive(Debug, Default)]
pub struct FsFiles {
    base: PathBuf,
    /// Every path read, in the order read (loads may read from several
    /// threads: a lock taken once per file, never per packet).
    read: std::sync::Mutex<Vec<PathBuf>>,
}

impl FsFiles {
    /// Files relative to `base`.
    #[must_use]
    pub fn new(base: impl Into<PathBuf>) -> Self {
        FsFiles {
            base: base.into(),
            read: std::sync::Mutex::default(),
        }
    }

    /// The paths read so far (each once), whether the read worked or not.
    #[must_use]
    pub fn paths_read(&self) -> Vec<PathBuf> {
        let mut paths = self
            .read
            .lock()
            .map_or_else(|e| e.into_inner().clone(), |p| p.clone());
        let mut seen = std::collections::HashSet::new();
        paths.retain(|p| seen.insert(p.clone()));
        paths
    }
}

impl SourceFiles for FsFiles {
    fn read(&self, relative_path: &str) -> Result<String, String> {
        let path = self.base.join(relative_path);
        match self.read.lock() {
            Ok(mut read) => read.push(path.clone()),
            Err(poisoned) => poisoned.into_inner().push(path.clone()),
        }
        // A directory (`file = "."`): said so, not as the system's "Is a
        // directory (os error 21)" (since the twenty-ninth session).
        if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
            return Err("it is a directory, not a `.zpl` file".to_owned());
        }
        read_text(Some(&path), load::MAX_POLICY_FILE_BYTES, "the file", |e| {
            crate::output::io_message(&e)
        })
    }
}

/// Reads a whole text file (`None`: standard input), at most `max` bytes:
/// a file the file system says is longer is refused before it is read,
/// and the read itself is capped too (a FIFO, `/dev/zero` or an endless
/// pipe says 0), so nothing is read until memory runs out. UTF-8, or
/// UTF-16 with its byte order mark ([`crate::input::text_of`]; the limit
/// is on the file's bytes). Gzip or zstd (by its magic) is read
/// decompressed, at most `max` bytes out
/// ([`crate::input::decompressed_capped`]). `what` names the file in messages (`the
/// scenario`); `io` words an I/O error.
fn read_text(
    path: Option<&Path>,
    max: usize,
    what: &str,
    io: impl Fn(std::io::Error) -> String,
) -> Result<String, String> {
    if let Some(path) = path {
        let meta = std::fs::metadata(path).map_err(&io)?;
        if meta.len() > max as u64 {
            return Err(format!(
                "{what} is {} bytes long; at most {max} bytes are accepted",
                meta.len()
            ));
        }
    }
    let cap = u64::try_from(max).unwrap_or(u64::MAX);
    let bytes =
        crate::input::read_capped(path.unwrap_or(Path::new("-")), cap).map_err(|e| match e {
            crate::input::CappedError::Io(e) => io(e),
            crate::input::CappedError::TooLong => {
                format!("{what} is longer than {max} bytes; at most {max} bytes are accepted")
            }
        })?;
    // Compressed with gzip or zstd (`zprsim import oci DIR -o s.toml.gz`,
    // `gzip s.toml`), told by its magic whatever its name: read
    // decompressed, the limit on the decompressed bytes, counted as they
    // come out (since the twenty-ninth session: a scenario was read
    // uncompressed only).
    let bytes = match Codec::of(&bytes) {
        None => bytes,
        Some(codec) => {
            crate::input::decompressed_capped(codec, &bytes, cap).map_err(|e| match e {
                crate::input::CappedError::TooLong => format!(
                    "{what}, decompressed ({}), is longer than {max} bytes, the size limit: at most {max} bytes are accepted, decompressed bytes counted as they come out",
                    codec.name()
                ),
                crate::input::CappedError::Io(e) => {
                    let name = path.map_or_else(|| "FILE".to_owned(), |p| p.display().to_string());
                    match codec.damage(&bytes) {
                        Some(d) => format!("{what} ({}): {}", codec.name(), d.message(codec, &name)),
                        None => format!("{what} cannot be decompressed ({}): {e}", codec.name()),
                    }
                }
            })?
        }
    };
    // UTF-16 too (Windows PowerShell 5's `>`): positions in the loader's
    // errors are the decoded text's.
    crate::input::text_of(bytes).map_err(|e| e.of(what))
}

/// At most this many threads parse a scenario (the calling one included):
/// each holds one chunk's parse tree (`toml` takes tens of times a chunk's
/// ~16 KiB), so memory stays bounded whatever the machine.
pub const MAX_LOAD_THREADS: usize = 4;

/// Runs a load's jobs on the calling thread and up to
/// [`MAX_LOAD_THREADS`]` - 1` scoped helpers, each taking the next job
/// until none is left. With one core, or when a helper cannot be started,
/// the calling thread does the rest alone.
#[derive(Debug, Clone, Copy)]
pub struct Threads {
    threads: usize,
}

impl Threads {
    /// As many threads as the machine has cores, at most
    /// [`MAX_LOAD_THREADS`].
    #[must_use]
    pub fn available() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Threads::new(cores)
    }

    /// `threads` threads (clamped to 1..=[`MAX_LOAD_THREADS`]).
    #[must_use]
    pub fn new(threads: usize) -> Self {
        Threads {
            threads: threads.clamp(1, MAX_LOAD_THREADS),
        }
    }
}

impl Jobs for Threads {
    fn threads(&self) -> usize {
        self.threads
    }

    fn run(&self, n: usize, job: &(dyn Fn(usize) + Sync)) {
        let next = AtomicUsize::new(0);
        let work = || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                job(i);
            }
        };
        std::thread::scope(|scope| {
            for _ in 1..self.threads.min(n) {
                if std::thread::Builder::new()
                    .name("zprsim-load".to_owned())
                    .spawn_scoped(scope, work)
                    .is_err()
                {
                    break;
                }
            }
            work();
        });
    }

    /// With a second core, the raw structs are freed on a thread of their
    /// own while the caller goes on to compile (it is not waited for: the
    /// process may end before it is done, which only skips frees). When
    /// the thread cannot start, `spawn` drops the closure, and with it the
    /// garbage, here.
    fn discard(&self, garbage: Box<dyn Send>) {
        if self.threads < 2 {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("zprsim-free".to_owned())
            .spawn(move || drop(garbage));
    }
}

/// Loads a TOML scenario from standard input (`-`), reading at most
/// [`load::MAX_SCENARIO_BYTES`] (see [`read_text`]);
/// `file = "..."` policy files are read relative to the working directory.
#[allow(clippy::result_large_err)]
fn load_stdin(files: &FsFiles) -> Result<Loaded, LoadError> {
    let file = "-".to_owned();
    let err = |message: String| LoadError {
        file: file.clone(),
        line: None,
        column: None,
        object: None,
        field: None,
        message,
        rendered_zpl: None,
    };
    let text = read_text(None, load::MAX_SCENARIO_BYTES, "the scenario", |e| {
        format!(
            "cannot read the scenario from standard input: {}",
            crate::output::io_message(&e)
        )
    })
    .map_err(err)?;
    load::load_str_with(
        &text,
        &file,
        format_of("", &text),
        files,
        &Threads::available(),
    )
}

/// The format of a scenario named `name` (`-`: none) holding `text`: by
/// its name's ending (`.toml`, `.json`; `.gz` or `.zst` after it
/// skipped), else JSON when it looks like JSON (an object: TOML never
/// starts with `{`), else TOML.
fn format_of(name: &str, text: &str) -> Format {
    let lower = name.to_ascii_lowercase();
    let plain = lower
        .strip_suffix(".gz")
        .or_else(|| lower.strip_suffix(".zst"))
        .unwrap_or(&lower);
    Format::from_file_name(plain).unwrap_or_else(|| {
        if text
            .trim_start_matches(|c: char| c == '\u{feff}' || c.is_whitespace())
            .starts_with('{')
        {
            Format::Json
        } else {
            Format::Toml
        }
    })
}

/// Loads a scenario file (TOML, or JSON when the name ends in `.json`);
/// `-` reads it from standard input.
///
/// # Errors
/// When the file cannot be read or does not load; the error names the file
/// (and line and column where there is one).
#[allow(clippy::result_large_err)]
pub fn load_path(path: &Path) -> Result<Loaded, LoadError> {
    load_path_reading(path).map(|(loaded, _)| loaded)
}

/// [`load_path`], and the policy files the scenario named (read relative
/// to it, or to the working directory for `-`): inputs that no output may
/// overwrite ([`crate::output::Plan::check_late_inputs`]).
///
/// # Errors
/// As [`load_path`].
#[allow(clippy::result_large_err)]
pub fn load_path_reading(path: &Path) -> Result<(Loaded, Vec<PathBuf>), LoadError> {
    if crate::output::is_std(path) {
        let files = FsFiles::new(".");
        let loaded = load_stdin(&files)?;
        return Ok((loaded, files.paths_read()));
    }
    let files = FsFiles::new(directory_of(path));
    let loaded = load_file(path, &files)?;
    Ok((loaded, files.paths_read()))
}

#[allow(clippy::result_large_err)]
fn load_file(path: &Path, files: &FsFiles) -> Result<Loaded, LoadError> {
    let file = path.display().to_string();
    let io_err = |message: String| LoadError {
        file: file.clone(),
        line: None,
        column: None,
        object: None,
        field: None,
        message,
        rendered_zpl: None,
    };
    let said = |what: &str| match what {
        // Compressed with xz or bzip2 (gzip and zstd are read
        // decompressed): say how to give it, as well as the order (QA
        // round nine: "the scenario comes first" alone misled who gave it
        // first).
        "compressed data" => io_err(format!(
            "{what}, not a scenario: a scenario is read plain, or compressed with gzip or zstd (`xzcat FILE > scenario.toml`, `bzcat` for bzip2); a compressed capture or flow log goes after the scenario (`zprsim replay SCENARIO CAPTURE...`)"
        )),
        _ => io_err(format!(
            "{what}, not a scenario: the scenario comes first (`zprsim replay SCENARIO CAPTURE...`, `zprsim verify SCENARIO EXPECT.toml`)"
        )),
    };
    let misplaced = |e: LoadError| other_input(path).map_or(e, said);
    // A directory: most likely an OCI export given where its scenario
    // goes (QA round eleven: `zprsim check DIR` said only "Is a
    // directory").
    if path.is_dir() {
        return Err(io_err(directory_as_scenario(path).to_owned()));
    }
    // A compressed capture or flow log given first is said before it is
    // decompressed (up to the limit) only to fail as text.
    if head_of(path).is_some_and(|h| Codec::of(&h).is_some())
        && let Some(what) = other_input(path)
    {
        return Err(said(what));
    }
    let text = read_text(Some(path), load::MAX_SCENARIO_BYTES, "the scenario", |e| {
        format!(
            "cannot read the scenario: {}",
            crate::output::io_message(&e)
        )
    })
    .map_err(|e| misplaced(io_err(e)))?;
    let format = format_of(&file, &text);
    load::load_str_with(&text, &file, format, files, &Threads::available()).map_err(misplaced)
}

/// What a directory given as a scenario is, and what to give instead:
/// most likely an OCI export (JSON files in it), which is imported first.
/// The same words from every command (`check DIR` through the loader,
/// `replay DIR ...` and the others through [`crate::output::Plan::check`];
/// they differed until the twenty-ninth session).
#[must_use]
pub fn directory_as_scenario(path: &Path) -> &'static str {
    let export = std::fs::read_dir(path).is_ok_and(|mut d| {
        d.any(|e| {
            e.is_ok_and(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.ends_with(".json") || n.ends_with(".json.gz") || n.ends_with(".json.zst")
            })
        })
    });
    if export {
        "a directory of JSON files, not a scenario: an OCI export is imported first (`zprsim import oci DIR -o scenario.toml`), then the scenario is given"
    } else {
        "a directory, not a scenario file"
    }
}

/// What a regular file that does not load as a scenario is instead, when
/// its first bytes say so: a capture, flow logs, compressed data or an
/// expectations file. The usual slip is arguments in the wrong order
/// (`zprsim replay cap.pcap scenario.toml`), which otherwise reads as
/// "not UTF-8 text" or a TOML error on the first line.
fn other_input(path: &Path) -> Option<&'static str> {
    let head = head_of(path)?;
    let text = plain_head(&head);
    traffic_kind(&head, &text).or_else(|| {
        text.lines()
            .any(|l| own_text(l) == Some(OwnText::Expectations))
            .then_some("an expectations file (it has `[[path]]` or `[[include]]`)")
    })
}

/// Which of zprsim's own text files a file is, by the tables in its first
/// bytes (`text`, lossily decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnText {
    /// A scenario: `[[vcn]]`, `[[subnet]]` or the like.
    Scenario,
    /// An expectations file: `[[path]]` or `[[include]]`.
    Expectations,
}

/// Which of zprsim's own text files `text` (a file's first bytes) is, if
/// one: a scenario or an expectations file, by the tables it has.
pub(crate) fn own_text(text: &str) -> Option<OwnText> {
    const SCENARIO: [&str; 8] = [
        "[[vcn]]",
        "[[subnet]]",
        "[[vnic]]",
        "[[gateway]]",
        "[[route_table]]",
        "[[security_list]]",
        "[[nsg]]",
        "[[zpr_policy]]",
    ];
    text.lines().find_map(|l| {
        let l = l.trim();
        if SCENARIO.contains(&l) {
            Some(OwnText::Scenario)
        } else if matches!(l, "[[path]]" | "[[include]]") {
            Some(OwnText::Expectations)
        } else {
            None
        }
    })
}

/// What a regular file given as `verify`'s expectations file is instead,
/// when it does not read as one and its first bytes say so: a capture,
/// flow logs, compressed data or a scenario (`zprsim verify s.toml
/// proposed.toml`, taking `verify` for `diff`), which otherwise reads as
/// "not UTF-8 text" or "unknown field `gateway`".
#[must_use]
pub fn not_expectations(path: &Path) -> Option<&'static str> {
    let head = head_of(path)?;
    let text = plain_head(&head);
    traffic_kind(&head, &text).or_else(|| {
        text.lines()
            .any(|l| own_text(l) == Some(OwnText::Scenario))
            .then_some("a scenario (it has `[[vcn]]`, `[[subnet]]` or the like)")
    })
}

/// The first bytes of a regular file, [`crate::sniff::HEAD`] at most
/// (`None`: not one, or unreadable).
#[must_use]
pub fn head_of(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut head = Vec::with_capacity(crate::sniff::HEAD);
    std::fs::File::open(path)
        .ok()?
        .take(crate::sniff::HEAD as u64)
        .read_to_end(&mut head)
        .ok()?;
    Some(head)
}

/// The text a file's first bytes `head` start, decompressed when they
/// are gzip or zstd, lossily decoded.
fn plain_head(head: &[u8]) -> String {
    String::from_utf8_lossy(&crate::flowlog::detect::decompressed_within(
        head,
        crate::sniff::HEAD,
    ))
    .into_owned()
}

/// A capture, flow logs or compressed data (xz, bzip2), by a file's
/// first bytes (`text`: them decompressed, lossily decoded).
fn traffic_kind(head: &[u8], text: &str) -> Option<&'static str> {
    // A `--report` or `--flows` of an earlier run, plain or compressed.
    if crate::input_dir::is_our_output(&crate::flowlog::detect::decompressed(head)) {
        return Some(crate::input_dir::OUR_OUTPUT);
    }
    let codec = Codec::of(head);
    match crate::capture::kind_name(head) {
        // A JSON scenario starts with `{` too, and may be compressed
        // (since the twenty-ninth session): only flow-log fields tell.
        Some("JSON") => ["\"logContent\"", "\"vnicocid\"", "\"sourceAddress\""]
            .iter()
            .any(|k| text.contains(k))
            .then_some(match codec {
                Some(Codec::Gzip) => "gzip-compressed JSON (OCI flow logs)",
                Some(Codec::Zstd) => "zstd-compressed JSON (OCI flow logs)",
                None => "OCI flow logs",
            }),
        // Gzip or zstd of neither a capture nor JSON: a compressed
        // scenario (or expectations file) is read decompressed.
        Some("compressed data") if codec.is_some() => None,
        other => other,
    }
}

/// The directory the files a file names (a scenario's `file =` policies,
/// an expectations file's pack files) are read relative to: the file's
/// own, or the working directory for a descriptor
/// ([`zprsim_control::load::is_descriptor_path`]: `/dev/stdin`, the
/// `/dev/fd/63` of `<(envsubst < s.toml)`), as for `-`. Before,
/// `/dev/stdin` had its policies read from `/dev`.
#[must_use]
pub fn directory_of(path: &Path) -> PathBuf {
    if zprsim_control::load::is_descriptor_path(path) {
        return PathBuf::from(".");
    }
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use zprsim_control::load::{self, Format, InOrder, Jobs, NoFiles};

    use super::Threads;

    /// Gzip and zstd are read decompressed (by their magic, whatever the
    /// name), the limit on the bytes that come out: one byte past it is
    /// refused naming the limit, the limit itself is read.
    #[test]
    fn a_compressed_text_is_read_decompressed_within_the_limit() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let text = "x".repeat(1000);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::stream::encode_all(text.as_bytes(), 3).unwrap();
        for (name, bytes, codec) in [("s.toml", &gz, "gzip"), ("s.zst", &zst, "zstd")] {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let read = |max| super::read_text(Some(&p), max, "the scenario", |e| e.to_string());
            assert_eq!(read(1000).unwrap(), text);
            let e = read(999).unwrap_err();
            assert_eq!(
                e,
                format!(
                    "the scenario, decompressed ({codec}), is longer than 999 bytes, the size limit: at most 999 bytes are accepted, decompressed bytes counted as they come out"
                )
            );
        }
    }

    #[test]
    fn threads_call_every_job_exactly_once() {
        for threads in 1..=6 {
            for n in [0, 1, 2, 3, 17] {
                let calls: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
                Threads::new(threads).run(n, &|i| {
                    calls[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(
                    calls.iter().all(|c| c.load(Ordering::Relaxed) == 1),
                    "{threads} threads, {n} jobs"
                );
            }
        }
    }

    /// Sends the id of the thread that drops it.
    struct Where(std::sync::mpsc::Sender<std::thread::ThreadId>);

    impl Drop for Where {
        fn drop(&mut self) {
            let _ = self.0.send(std::thread::current().id());
        }
    }

    #[test]
    fn discarded_garbage_is_freed_here_with_one_thread_and_elsewhere_with_two() {
        let here = std::thread::current().id();
        let (tx, rx) = std::sync::mpsc::channel();
        Threads::new(1).discard(Box::new(Where(tx.clone())));
        // Freed here, before `discard` returned.
        assert_eq!(rx.try_recv().ok(), Some(here));
        Threads::new(2).discard(Box::new(Where(tx)));
        // A generous bound for a loaded machine, not a timing assertion:
        // the garbage only has to be freed, on another thread.
        let freed_on = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the garbage is freed");
        assert_ne!(freed_on, here);
    }

    /// A scenario of about 1.7 MB: split into parts outside the loader's
    /// own tests (about 16 KiB each), so the threads really share it.
    fn large(last_ip: &str) -> String {
        let mut t = String::from(
            "name = \"big\"\n[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/8\"]\n\
             [[subnet]]\nname = \"s\"\nvcn = \"v\"\ncidr_block = \"10.0.0.0/8\"\n",
        );
        for i in 0..20_000u32 {
            let ip = if i == 19_999 {
                last_ip.to_owned()
            } else {
                format!("10.{}.{}.{}", i >> 15, (i >> 7) & 255, (i & 127) + 1)
            };
            t.push_str(&format!(
                "[[vnic]]\nname = \"n{i}\"\nsubnet = \"s\"\nprivate_ips = [\"{ip}\"]\n\n"
            ));
        }
        t
    }

    #[test]
    fn a_large_scenario_loads_the_same_on_several_threads() {
        let text = large("10.200.0.1");
        let one = load::load_str_with(&text, "b.toml", Format::Toml, &NoFiles, &InOrder).unwrap();
        let four =
            load::load_str_with(&text, "b.toml", Format::Toml, &NoFiles, &Threads::new(4)).unwrap();
        assert_eq!(one.scenario.vnics.len(), 20_000);
        assert_eq!(
            format!("{:?}", one.scenario),
            format!("{:?}", four.scenario)
        );
        assert_eq!(
            format!("{:?}", one.warnings),
            format!("{:?}", four.warnings)
        );
    }

    /// The loader's own chunk size (not the tests' one-`[[key]]` chunks):
    /// a ~0.5 MB scenario in many chunks loads the scenario and warnings
    /// that the whole-text parse gives. Quoting the first root key makes
    /// the splitter refuse (`chunks.rs`), so that text is parsed whole.
    #[test]
    fn the_loaders_chunks_load_what_the_whole_text_loads() {
        let mut t = String::from(
            "name = \"big\"\n[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/8\"]\n\
             [[subnet]]\nname = \"s\"\nvcn = \"v\"\ncidr_block = \"10.0.0.0/8\"\n",
        );
        for n in 0..6 {
            t.push_str(&format!(
                "[[nsg]]\nname = \"g{n}\"\nvcn = \"v\"\nrules = []\n"
            ));
        }
        for i in 0..3_000u32 {
            // From .2: the first two addresses of the block are reserved
            // (a `reserved-address` warning).
            let ip = format!("10.{}.{}.{}", i >> 15, (i >> 7) & 255, (i & 127) + 2);
            // Every 700th VNIC is in 6 NSGs: a warning with a position.
            let nsgs = if i % 700 == 0 {
                "\"g0\", \"g1\", \"g2\", \"g3\", \"g4\", \"g5\""
            } else {
                "\"g1\""
            };
            // Attribute keys written out of sorted order: the loader keeps
            // the written order from their spans.
            t.push_str(&format!(
                "[[vnic]]\nname = \"n{i}\"\nsubnet = \"s\"\nprivate_ips = [\"{ip}\"]\n\
                 nsgs = [{nsgs}]\nsecurity_attributes = {{ \"zz\" = {{ \"w\" = {{ value = \"a{i}\" }}, \
                 \"b\" = {{ value = \"x\", mode = \"audit\" }} }}, \"app\" = {{ \"env\" = {{ value = \"p\" }} }} }}\n\n"
            ));
        }
        assert!(t.len() > 400 << 10, "{} bytes: many chunks", t.len());
        let whole_text = t.replacen("name = ", "\"name\" = ", 1);
        let split =
            load::load_str_with(&t, "c.toml", Format::Toml, &NoFiles, &Threads::new(2)).unwrap();
        let whole =
            load::load_str_with(&whole_text, "c.toml", Format::Toml, &NoFiles, &InOrder).unwrap();
        assert_eq!(split.scenario.vnics.len(), 3_000);
        assert_eq!(split.warnings.len(), 5, "{:?}", split.warnings);
        assert_eq!(
            format!("{:?}", split.scenario),
            format!("{:?}", whole.scenario)
        );
        assert_eq!(
            format!("{:?}", split.warnings),
            format!("{:?}", whole.warnings)
        );
    }

    #[test]
    fn an_error_late_in_a_large_scenario_is_the_same_on_several_threads() {
        // A type error in the last part and a syntax error in an earlier
        // one: the earlier one is reported, at its line and column.
        let mut text = large("10.200.0.1");
        let at = text.find("name = \"n3000\"").unwrap();
        text.replace_range(at..at + 14, "name = \"n3000");
        text.push_str("[[vnic]]\nname = 5\n");
        let one =
            load::load_str_with(&text, "b.toml", Format::Toml, &NoFiles, &InOrder).unwrap_err();
        let four = load::load_str_with(&text, "b.toml", Format::Toml, &NoFiles, &Threads::new(4))
            .unwrap_err();
        assert_eq!(one, four);
        assert_eq!(
            one.line,
            Some(u32::try_from(text[..at].lines().count()).unwrap() + 1)
        );
    }
}
