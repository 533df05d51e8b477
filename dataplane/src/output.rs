//! Outputs that never destroy a user's file.
//!
//! Two pieces:
//!
//! - [`Plan`]: before any work, every input and output of a command is
//!   named (flag and path) and checked at once: no output may be the same
//!   file as an input or as another output (same device and inode, or the
//!   same normalized path when it does not exist yet), every output's
//!   directory must exist and be writable, and `-` (standard input or
//!   output) may be used at most once on each side. `-` is identified by
//!   what the stream is (device and inode of descriptor 0 or 1), so
//!   `/dev/stdout` beside `-`, or standard output redirected onto an
//!   input, is caught like any other pair.
//! - [`OutputFile`]: writes to a temporary file beside its target (same
//!   directory, so the rename is atomic) and renames it into place on
//!   [`OutputFile::commit`]. Dropped without a commit, the temporary file
//!   is removed and the target is untouched. `-` writes to standard output;
//!   a target that exists and is not a regular file (`/dev/null`,
//!   `/dev/stdout`, a FIFO) is written directly, without a rename. When
//!   the reader of standard output or of a FIFO leaves (`| head -1`), the
//!   rest of that output is discarded and the run goes on: its other
//!   outputs and its exit status do not depend on how much a reader read.
//!   An output named `.gz` or `.zst` is written gzip or zstd
//!   ([`Compression`]), its stream ended on commit.
//!   A write that fails otherwise (a full disk) does not fail the writer
//!   either: the output is marked failed ([`OutputState::Failed`]), later
//!   writes are discarded, and [`OutputFile::commit`] removes the
//!   temporary file and returns the error, so one failing output never
//!   stops the run's others (docs/cli.md, "One output fails").
//!
//! The temporary files come from the `tempfile` crate (unique names,
//! removed on drop).
//!
//! ```
//! use std::io::Write;
//! use zprsim_dataplane::output::{OutputFile, Plan};
//! let dir = tempfile::tempdir().unwrap();
//! let target = dir.path().join("r.json");
//! let mut plan = Plan::new();
//! plan.input("SCENARIO", "Cargo.toml").output("--report", &target);
//! plan.check().unwrap();
//! let mut out = OutputFile::create("--report", &target).unwrap();
//! out.write_all(b"{}\n").unwrap();
//! assert!(!target.exists()); // not yet
//! out.commit().unwrap();
//! assert_eq!(std::fs::read(&target).unwrap(), b"{}\n");
//! ```

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

mod compress;

pub use compress::{Compression, Encoder};

/// An error of the plan check or of an output file. The message names the
/// flag(s) and the path(s) involved; it carries no `error:` prefix (the
/// command line adds it).
#[derive(Debug)]
pub struct OutputError {
    message: String,
    /// [`OutputFile::commit_new`] found a file at the target.
    exists: bool,
}

impl OutputError {
    fn new(message: String) -> OutputError {
        OutputError {
            message,
            exists: false,
        }
    }

    /// The message, for people.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether [`OutputFile::commit_new`] left a file that is at the
    /// target now (made since the output was checked) as it is.
    #[must_use]
    pub fn exists(&self) -> bool {
        self.exists
    }
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OutputError {}

/// Whether a path means standard input or output.
#[must_use]
pub fn is_std(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// One file a command reads or writes, with the flag that named it.
#[derive(Debug, Clone)]
struct Entry {
    flag: String,
    path: PathBuf,
}

impl Entry {
    fn describe(&self) -> String {
        if self.flag.is_empty() {
            // The command's own standard output ([`Plan::standard_output`]).
            return "standard output".to_owned();
        }
        format!("{} `{}`", self.flag, shown(&self.path))
    }
}

/// What identifies a file: its device and inode when it exists, else its
/// normalized absolute path.
#[derive(Debug, PartialEq, Eq)]
enum Identity {
    Inode(u64, u64),
    Path(PathBuf),
    /// A character device (`/dev/null`, a terminal): writing it twice or
    /// reading and writing it loses nothing, so it never conflicts.
    Device,
}

/// Lexically normalizes an absolute path: drops `.`, resolves `..`
/// against the previous component.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The directory an output is written in (`.` for a bare file name).
fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn identity(p: &Path) -> Identity {
    match fs::metadata(p) {
        Ok(m) if m.file_type().is_char_device() => Identity::Device,
        Ok(m) => Identity::Inode(m.dev(), m.ino()),
        Err(_) => {
            // Not there yet: the real directory (symlinks resolved, when
            // it exists) and the file name; a dangling link by the file it
            // points at.
            let abs = absolute(&target_path(p));
            let dir = parent_dir(&abs);
            let dir = fs::canonicalize(&dir).unwrap_or_else(|_| normalize(&dir));
            match abs.file_name() {
                Some(name) => Identity::Path(dir.join(name)),
                None => Identity::Path(normalize(&abs)),
            }
        }
    }
}

/// What standard input (`output` false) or output (`output` true) is: a
/// file or pipe by its device and inode, so `-` and `/dev/stdout` (or
/// `/dev/fd/1`, or a file both redirected to and named) are seen as the
/// same file. A terminal or a socket never conflicts (a socket may be read
/// and written at once); `None` when the stream is closed.
fn std_identity(output: bool) -> Option<Identity> {
    use std::os::fd::AsFd;
    let fd = if output {
        io::stdout().as_fd().try_clone_to_owned()
    } else {
        io::stdin().as_fd().try_clone_to_owned()
    };
    let m = File::from(fd.ok()?).metadata().ok()?;
    let ft = m.file_type();
    if ft.is_char_device() || ft.is_socket() {
        Some(Identity::Device)
    } else {
        Some(Identity::Inode(m.dev(), m.ino()))
    }
}

/// Every input and output of one command, checked together before any
/// work. See the module documentation.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    inputs: Vec<Entry>,
    outputs: Vec<Entry>,
    /// The command writes its summary or result to standard output
    /// ([`Plan::standard_output`]).
    stdout: Option<Entry>,
}

impl Plan {
    /// An empty plan.
    #[must_use]
    pub fn new() -> Plan {
        Plan::default()
    }

    /// Adds an input read from `path` (`-`: standard input), named by
    /// `flag` in messages (`SCENARIO`, `PCAP`, `--capture`).
    pub fn input(&mut self, flag: &str, path: impl AsRef<Path>) -> &mut Plan {
        self.inputs.push(Entry {
            flag: flag.to_owned(),
            path: path.as_ref().to_path_buf(),
        });
        self
    }

    /// Adds an output written to `path` (`-`: standard output).
    pub fn output(&mut self, flag: &str, path: impl AsRef<Path>) -> &mut Plan {
        self.outputs.push(Entry {
            flag: flag.to_owned(),
            path: path.as_ref().to_path_buf(),
        });
        self
    }

    /// Says that the command writes to standard output (its summary, its
    /// result) even where no output is named `-`: standard output
    /// redirected onto an input (`zprsim check s.toml >> s.toml`) is then
    /// refused like `--report - >> in.pcap`, before anything is written.
    pub fn standard_output(&mut self) -> &mut Plan {
        self.stdout = Some(Entry {
            flag: String::new(),
            path: PathBuf::from("-"),
        });
        self
    }

    /// Checks the plan; the first problem found is the error.
    ///
    /// # Errors
    /// Standard input read twice or standard output written twice; an
    /// input that does not exist or is a directory; an
    /// output that is the same file as an input or another output; an
    /// output that is a directory, or whose directory is missing or not
    /// writable; an output named for a compression that is not written
    /// (`.xz`, `.bz2`: [`Compression::of`]).
    pub fn check(&self) -> Result<(), OutputError> {
        self.check_std()?;
        for o in &self.outputs {
            Compression::of(&o.flag, &o.path).map_err(OutputError::new)?;
        }
        for i in self.inputs.iter().filter(|e| !is_std(&e.path)) {
            match fs::metadata(&i.path) {
                Ok(m) if m.is_dir() => {
                    // A directory given as a scenario (an OCI export's,
                    // most likely): in `check`'s words, what to do with it.
                    let what = if matches!(i.flag.as_str(), "SCENARIO" | "BEFORE" | "AFTER") {
                        crate::scenario_file::directory_as_scenario(&i.path)
                    } else {
                        "a directory, not a file"
                    };
                    return Err(OutputError::new(format!("{} is {what}", i.describe())));
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(OutputError::new(format!(
                        "{}: {}",
                        i.describe(),
                        io_message(&e)
                    )));
                }
            }
        }
        let ins = identities(&self.inputs, false);
        let outs = self.output_identities();
        check_stdin_once(&ins)?;
        for (i, (o, oid)) in outs.iter().enumerate() {
            if *oid == Identity::Device {
                continue;
            }
            if let Some((inp, _)) = ins.iter().find(|(_, iid)| iid == oid) {
                return Err(overwrites(o, inp));
            }
            if let Some((other, _)) = outs[..i].iter().find(|(_, id)| id == oid) {
                return Err(OutputError::new(format!(
                    "{} and {} are the same file: each output needs its own file",
                    other.describe(),
                    o.describe()
                )));
            }
        }
        for (o, _) in outs.iter().filter(|(o, _)| !is_std(&o.path)) {
            check_writable(o)?;
        }
        Ok(())
    }

    /// Checks inputs known only once the work started (the `.zpl` files a
    /// scenario names, known once it is parsed) against the outputs and
    /// the command's standard output, as [`Plan::check`] checks the inputs
    /// named up front. `flag` names them in messages (`policy file of
    /// SCENARIO`). Outputs are renamed into place only when the run ends,
    /// so a conflict found here still leaves every file as it was.
    ///
    /// # Errors
    /// An output that is the same file as one of `paths`.
    pub fn check_late_inputs(&self, flag: &str, paths: &[PathBuf]) -> Result<(), OutputError> {
        let outs = self.output_identities();
        for path in paths {
            let id = identity(path);
            if let Some((o, _)) = outs
                .iter()
                .find(|(_, oid)| *oid != Identity::Device && *oid == id)
            {
                let input = Entry {
                    flag: flag.to_owned(),
                    path: path.clone(),
                };
                return Err(overwrites(o, &input));
            }
        }
        Ok(())
    }

    /// Every output with what it is (`-` by what the stream is), and the
    /// command's own standard output unless an output named `-` already
    /// stands for it.
    fn output_identities(&self) -> Vec<(&Entry, Identity)> {
        let mut outs = identities(&self.outputs, true);
        if let Some(e) = &self.stdout
            && !self.outputs.iter().any(|o| is_std(&o.path))
            && let Some(id) = std_identity(true)
        {
            outs.push((e, id));
        }
        outs
    }

    fn check_std(&self) -> Result<(), OutputError> {
        let twice = |entries: &[Entry], what: &str| -> Result<(), OutputError> {
            let std: Vec<&Entry> = entries.iter().filter(|e| is_std(&e.path)).collect();
            if let [first, second, ..] = std.as_slice() {
                return Err(OutputError::new(format!(
                    "{} and {} both use `-`: standard {what} can be used once",
                    first.flag, second.flag
                )));
            }
            Ok(())
        };
        twice(&self.inputs, "input")?;
        twice(&self.outputs, "output")
    }
}

/// Standard input read as `-` and again by a path (`/dev/stdin`,
/// `/dev/fd/0`, the FIFO it comes from): a pipe gives its bytes once, so
/// the second read would see nothing. A regular file can be read twice.
fn check_stdin_once(ins: &[(&Entry, Identity)]) -> Result<(), OutputError> {
    let Some((std, sid @ Identity::Inode(..))) = ins.iter().find(|(e, _)| is_std(&e.path)) else {
        return Ok(());
    };
    let Some((other, _)) = ins.iter().find(|(e, id)| !is_std(&e.path) && id == sid) else {
        return Ok(());
    };
    if !crate::sniff::is_stream(&other.path) {
        return Ok(());
    }
    Err(OutputError::new(format!(
        "{} is standard input, which {} `-` reads already: standard input can be used once",
        other.describe(),
        std.flag
    )))
}

/// The output's directory exists and a file can be created in it; the
/// output itself is not a directory.
fn check_writable(o: &Entry) -> Result<(), OutputError> {
    let path = &o.path;
    if let Ok(m) = fs::metadata(path) {
        if m.is_dir() {
            return Err(OutputError::new(format!(
                "{} is a directory, not a file",
                o.describe()
            )));
        }
        if !m.file_type().is_file() {
            // A device or FIFO is written in place: no temporary file.
            return Ok(());
        }
    }
    let target = target_path(path);
    if fs::symlink_metadata(&target).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(OutputError::new(format!(
            "{}: too many levels of symbolic links",
            o.describe()
        )));
    }
    let dir = parent_dir(&target);
    match fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(OutputError::new(format!(
                "{}: `{}` is not a directory",
                o.describe(),
                shown(&dir)
            )));
        }
        Err(e) => {
            return Err(OutputError::new(format!(
                "{}: directory `{}`: {}",
                o.describe(),
                shown(&dir),
                io_message(&e)
            )));
        }
    }
    // The honest test of writability (permissions, read-only mounts,
    // ACLs): create and remove a temporary file where the output will be.
    tempfile::Builder::new()
        .prefix(".zprsim-check-")
        .tempfile_in(&dir)
        .map(drop)
        .map_err(|e| {
            OutputError::new(format!(
                "{}: cannot write in `{}`: {}",
                o.describe(),
                shown(&dir),
                io_message(&e)
            ))
        })
}

/// Each entry with what it is: `-` by what the stream is (standard
/// output when `output`, else standard input), so a path naming the same
/// file or pipe is caught like any other pair.
fn identities(entries: &[Entry], output: bool) -> Vec<(&Entry, Identity)> {
    entries
        .iter()
        .filter_map(|e| {
            if is_std(&e.path) {
                std_identity(output).map(|id| (e, id))
            } else {
                Some((e, identity(&e.path)))
            }
        })
        .collect()
}

/// Output `o` is input `input`.
fn overwrites(o: &Entry, input: &Entry) -> OutputError {
    OutputError::new(format!(
        "{} is the same file as {}: an output must not overwrite an input",
        o.describe(),
        input.describe()
    ))
}

/// A path for a message: escaped ([`zprsim_control::escape::path`]), so a
/// newline or a terminal control in a file name cannot forge a line.
#[must_use]
pub fn shown(p: &Path) -> String {
    zprsim_control::escape::path(p)
}

/// An I/O error's message without Rust's ` (os error N)` suffix.
#[must_use]
pub fn io_message(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// Most symbolic links followed from an output path (as Linux's
/// `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// The file actually replaced for `path`: a symlink is followed, so the
/// link stays and the file it points at is replaced, even when that file
/// does not exist yet (a dangling link is written through, not replaced by
/// a regular file). A loop of links ends after [`MAX_LINKS`] with a path
/// that is still a link, which [`check_writable`] refuses.
fn target_path(path: &Path) -> PathBuf {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {}
        _ => return path.to_path_buf(),
    }
    if fs::metadata(path).is_ok() {
        // The link leads to something: the kernel's resolution (a
        // `/proc/self/fd/N` link to a pipe reads as `pipe:[N]`, which
        // names no file, so it stays as given).
        return fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    }
    // Dangling (or a loop): followed link by link.
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let Ok(link) = fs::read_link(&p) else {
                    return p;
                };
                p = if link.is_absolute() {
                    link
                } else {
                    parent_dir(&p).join(link)
                };
            }
            _ => return p,
        }
    }
    p
}

/// Longest part of the target's name kept in its temporary file's name:
/// `.NAME.` plus tempfile's 6 random characters and `.tmp` must fit a file
/// name of 255 bytes, so a target whose own name is valid (up to 255
/// bytes) always gets a temporary file.
const TEMP_STEM_BYTES: usize = 200;

/// The target's name, cut at a character boundary to
/// [`TEMP_STEM_BYTES`].
fn temp_stem(name: &str) -> &str {
    if name.len() <= TEMP_STEM_BYTES {
        return name;
    }
    let mut end = TEMP_STEM_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// `w` buffered, through the encoder `compression` asks for.
fn encoded<W: Write>(w: W, compression: Compression) -> io::Result<BufWriter<Encoder<W>>> {
    Encoder::new(w, compression).map(BufWriter::new)
}

/// The file under `w`, every byte written to it and its stream ended.
fn finished<W: Write>(w: BufWriter<Encoder<W>>) -> io::Result<W> {
    w.into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .finish()
}

enum Sink {
    Stdout(BufWriter<Encoder<io::Stdout>>),
    /// A device or FIFO, written in place.
    Direct(BufWriter<Encoder<File>>),
    Temp(BufWriter<Encoder<tempfile::NamedTempFile>>),
}

/// An output written to a temporary file and renamed into place on
/// [`commit`](OutputFile::commit). Buffered: callers need no `BufWriter`.
pub struct OutputFile {
    flag: String,
    /// The path the user gave (for messages).
    shown: PathBuf,
    /// The file replaced on commit.
    target: PathBuf,
    sink: Sink,
    /// Standard output or a FIFO whose reader left (a write met a closed
    /// pipe): later writes are discarded.
    reader_gone: bool,
    /// The first write that failed for another reason (a full disk): the
    /// output is abandoned, later writes are discarded, and
    /// [`commit`](OutputFile::commit) removes the temporary file and
    /// returns this error, so one failing output never stops the others.
    failed: Option<io::Error>,
    /// The line [`write_json_line`](OutputFile::write_json_line) is
    /// serialized into, kept from one line to the next.
    line: Vec<u8>,
}

/// What became of an output's writes so far ([`OutputFile::state`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputState {
    /// Every write went through.
    Open,
    /// Standard output's (or a FIFO's) reader left: the rest is discarded;
    /// what was written before stands.
    ReaderGone,
    /// A write failed (a full disk): the output is abandoned and
    /// [`OutputFile::commit`] says why.
    Failed,
}

impl fmt::Debug for OutputFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputFile")
            .field("flag", &self.flag)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl OutputFile {
    /// Starts the output named by `flag` at `path` (`-`: standard output).
    /// Nothing at `path` changes until [`commit`](OutputFile::commit).
    ///
    /// # Errors
    /// The temporary file cannot be created beside the target.
    pub fn create(flag: &str, path: impl AsRef<Path>) -> Result<OutputFile, OutputError> {
        let path = path.as_ref();
        let err = |e: &io::Error| {
            OutputError::new(format!("{flag} `{}`: {}", shown(path), io_message(e)))
        };
        let target = target_path(path);
        let compression = Compression::of(flag, path).map_err(OutputError::new)?;
        let sink = if is_std(path) {
            Sink::Stdout(encoded(io::stdout(), compression).map_err(|e| err(&e))?)
        } else {
            match fs::metadata(&target) {
                Ok(m) if !m.is_file() && !m.is_dir() => {
                    let f = fs::OpenOptions::new()
                        .write(true)
                        .open(&target)
                        .map_err(|e| err(&e))?;
                    Sink::Direct(encoded(f, compression).map_err(|e| err(&e))?)
                }
                existing => {
                    let dir = parent_dir(&target);
                    let name = target
                        .file_name()
                        .map(|n| format!(".{}.", temp_stem(&n.to_string_lossy())))
                        .unwrap_or_else(|| ".zprsim.".into());
                    // 0666 less the umask, as `File::create` would make it;
                    // an existing file keeps its mode.
                    let mode = existing.map_or(0o666, |m| m.permissions().mode() & 0o7777);
                    let tmp = tempfile::Builder::new()
                        .prefix(&name)
                        .suffix(".tmp")
                        .permissions(fs::Permissions::from_mode(mode))
                        .tempfile_in(&dir)
                        .map_err(|e| err(&e))?;
                    Sink::Temp(encoded(tmp, compression).map_err(|e| err(&e))?)
                }
            }
        };
        Ok(OutputFile {
            flag: flag.to_owned(),
            shown: path.to_path_buf(),
            target,
            sink,
            reader_gone: false,
            failed: None,
            line: Vec::new(),
        })
    }

    /// Writes `v` as one line of JSON and a newline (JSON lines: the flow
    /// logs of `--flows`), serialized into a buffer kept from one line to
    /// the next and written with one call. Serialized straight into the
    /// output, each key, value and comma was a `write_all` of its own,
    /// about 100 a flow record: 16% of `replay --flows`' time on a million
    /// distinct flows. A value that fails to serialize writes nothing.
    ///
    /// # Errors
    /// As [`Write::write_all`]; a serialization error as an I/O error.
    pub fn write_json_line<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> io::Result<()> {
        if self.discarding() {
            return Ok(());
        }
        let mut line = std::mem::take(&mut self.line);
        let r = write_json_line(self, &mut line, v);
        self.line = line;
        r
    }

    /// The flag that named this output.
    #[must_use]
    pub fn flag(&self) -> &str {
        &self.flag
    }

    /// The path as the user gave it.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// The directory this output's temporary file is written in (the
    /// target's own), where other scratch files of the run belong too;
    /// `None` for standard output and for a device or FIFO, which are
    /// written in place (`/dev/fd/N` names no directory a file can be
    /// made in).
    #[must_use]
    pub fn scratch_dir(&self) -> Option<PathBuf> {
        match self.sink {
            Sink::Temp(_) => Some(parent_dir(&self.target)),
            Sink::Stdout(_) | Sink::Direct(_) => None,
        }
    }

    /// Whether this output is standard output.
    #[must_use]
    pub fn is_stdout(&self) -> bool {
        matches!(self.sink, Sink::Stdout(_))
    }

    /// What became of the writes so far: a caller that writes much (the
    /// engine's pcap writer) stops writing an output that is no longer
    /// [`OutputState::Open`].
    #[must_use]
    pub fn state(&self) -> OutputState {
        if self.failed.is_some() {
            OutputState::Failed
        } else if self.reader_gone {
            OutputState::ReaderGone
        } else {
            OutputState::Open
        }
    }

    /// The message of the write that failed ([`OutputState::Failed`]),
    /// naming the flag and the path, as [`commit`](OutputFile::commit)
    /// returns it.
    #[must_use]
    pub fn failure(&self) -> Option<OutputError> {
        self.failed.as_ref().map(|e| self.error(e))
    }

    fn error(&self, e: &io::Error) -> OutputError {
        OutputError::new(format!(
            "{} `{}`: {}",
            self.flag,
            shown(&self.shown),
            io_message(e)
        ))
    }

    /// `r`, or `done` when `r` failed: a closed pipe of standard output or
    /// a FIFO means the reader left (`| head -1`), which ends that output,
    /// not the run (a temporary file never meets a closed pipe); any other
    /// error (a full disk) is kept for [`commit`](OutputFile::commit),
    /// which abandons the output. Either way later writes are discarded,
    /// so the run goes on to its other outputs and its report.
    fn unless_reader_gone<T>(&mut self, r: io::Result<T>, done: T) -> io::Result<T> {
        match r {
            Err(e)
                if e.kind() == io::ErrorKind::BrokenPipe && !matches!(self.sink, Sink::Temp(_)) =>
            {
                self.reader_gone = true;
                Ok(done)
            }
            Err(e) => {
                self.failed = Some(e);
                Ok(done)
            }
            r => r,
        }
    }

    /// Abandons this output for `why`, a failure of something it needs
    /// (the temporary file of its records, on a full disk), as a failed
    /// write would: later writes are discarded, and
    /// [`commit`](OutputFile::commit) removes the temporary file and
    /// returns `why`, naming the flag and the path. The first failure
    /// stands.
    pub fn abandon(&mut self, why: io::Error) {
        if self.failed.is_none() {
            self.failed = Some(why);
        }
    }

    /// Whether writes are discarded now (the reader left, or one failed).
    fn discarding(&self) -> bool {
        self.reader_gone || self.failed.is_some()
    }

    /// Finishes the output: flushes it, syncs it and renames it into place.
    /// A closed pipe on standard output is not an error.
    ///
    /// # Errors
    /// Writing (now or earlier: [`OutputState::Failed`]), syncing or
    /// renaming failed (a full disk, a removed directory); the temporary
    /// file is then removed and the target is untouched.
    pub fn commit(self) -> Result<(), OutputError> {
        self.finish(true)
    }

    /// Finishes the output as [`commit`](OutputFile::commit) does, for a
    /// target that was absent when it was checked: renamed into place only
    /// while nothing is there (`renameat2(RENAME_NOREPLACE)`, or a hard
    /// link where the file system has no such rename), in one step, so a
    /// file made at the target meanwhile is never replaced. Standard
    /// output, a device or a FIFO is written as by `commit`.
    ///
    /// # Errors
    /// As `commit`; and a file is at the target now
    /// ([`OutputError::exists`]): it is left as it is and the temporary
    /// file is removed.
    pub fn commit_new(self) -> Result<(), OutputError> {
        self.finish(false)
    }

    /// [`commit`](OutputFile::commit) (`replace`) or
    /// [`commit_new`](OutputFile::commit_new).
    fn finish(self, replace: bool) -> Result<(), OutputError> {
        if let Some(e) = &self.failed {
            // Dropping the sink removes the temporary file.
            return Err(self.error(e));
        }
        let flag = self.flag;
        let shown = self.shown;
        let err = |e: &io::Error| {
            OutputError::new(format!(
                "{flag} `{}`: {}",
                crate::output::shown(&shown),
                io_message(e)
            ))
        };
        match self.sink {
            Sink::Stdout(_) | Sink::Direct(_) if self.reader_gone => Ok(()),
            Sink::Stdout(w) => match finished(w).and_then(|mut w| w.flush()) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(err(&e)),
                _ => Ok(()),
            },
            Sink::Direct(w) => match finished(w).and_then(|mut w| w.flush()) {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(err(&e)),
                _ => Ok(()),
            },
            Sink::Temp(w) => {
                // The end of a compressed stream (gzip's trailer, zstd's
                // checksum) is written here, so an output finished after a
                // signal is a whole stream too.
                let tmp = finished(w).map_err(|e| err(&e))?;
                tmp.as_file().sync_all().map_err(|e| err(&e))?;
                if replace {
                    tmp.persist(&self.target).map_err(|e| err(&e.error))?;
                } else {
                    // The temporary file is removed when the error drops
                    // it.
                    tmp.persist_noclobber(&self.target).map_err(|e| {
                        let exists = e.error.kind() == io::ErrorKind::AlreadyExists;
                        OutputError {
                            exists,
                            ..err(&e.error)
                        }
                    })?;
                }
                Ok(())
            }
        }
    }
}

/// Writes `v` as one line of JSON and a newline to `out`, serialized into
/// `line` first (cleared; kept by the caller from one line to the next, so
/// nothing is allocated once it is grown) and written with one call: see
/// [`OutputFile::write_json_line`]. A value that fails to serialize writes
/// nothing.
///
/// # Errors
/// As [`Write::write_all`]; a serialization error as an I/O error.
pub fn write_json_line<W: Write + ?Sized, T: serde::Serialize + ?Sized>(
    out: &mut W,
    line: &mut Vec<u8>,
    v: &T,
) -> io::Result<()> {
    line.clear();
    serde_json::to_writer(&mut *line, v).map_err(io::Error::from)?;
    line.push(b'\n');
    out.write_all(line)
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.discarding() {
            return Ok(buf.len());
        }
        let r = match &mut self.sink {
            Sink::Stdout(w) => w.write(buf),
            Sink::Direct(w) => w.write(buf),
            Sink::Temp(w) => w.write(buf),
        };
        self.unless_reader_gone(r, buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.discarding() {
            return Ok(());
        }
        let r = match &mut self.sink {
            Sink::Stdout(w) => w.write_all(buf),
            Sink::Direct(w) => w.write_all(buf),
            Sink::Temp(w) => w.write_all(buf),
        };
        self.unless_reader_gone(r, ())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.discarding() {
            return Ok(());
        }
        let r = match &mut self.sink {
            Sink::Stdout(w) => w.flush(),
            Sink::Direct(w) => w.flush(),
            Sink::Temp(w) => w.flush(),
        };
        self.unless_reader_gone(r, ())
    }
}

#[cfg(test)]
mod tests;
