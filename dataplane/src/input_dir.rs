//! Directories as inputs: the files under a directory, in a fixed order.
//!
//! OCI archives flow logs to Object Storage as one object per log and time
//! slice, under prefixes by date and hour; `oci os object bulk-download`
//! makes that a directory tree of `.log.gz` files, and capture tools that
//! rotate files (`tcpdump -G`, `dumpcap -b`) leave a directory of captures.
//! Where `replay` and `diff` take input files they take such a directory
//! too: [`expand`] puts its files in place of it.
//!
//! A file found in a directory is taken only when its first bytes are a
//! capture's, a compressed file's or flow logs' (a `README`, a checksum
//! list or an image beside the captures is skipped, each named in a
//! warning), and not when it is empty or blank (an archived window with no
//! traffic: no records either way; one warning counts them). A file named
//! on the command line is always taken, and the reader says what is wrong
//! with it.
//!
//! A file found twice (typed twice under two spellings, or named beside
//! the directory holding it) is read once, where it first appears, with a
//! warning: read twice, every packet or record of it would count twice.
//! Files are the same when their device and inode are (standard input
//! too, when a file is redirected into it); pipes and devices are never
//! merged.
//!
//! What is taken: regular files (a symlink to a file is followed), in
//! byte order of their names at each level, depth first; names starting
//! with `.` are skipped (`.DS_Store`, editors' swap files, `.snapshot`),
//! and a symlink to a directory is not followed (no loops). Bounded before
//! the work: at most [`Limits::max_files`] files and
//! [`Limits::max_depth`] levels, or an error naming the directory.
//!
//! Written by hand: `walkdir` would do the walk, but the two rules that
//! matter here (a sort of each level, and limits checked as it grows) are
//! most of these lines either way.

use std::path::{Path, PathBuf};

use crate::output::{io_message, is_std, shown};
use crate::warning::{RunWarning, RunWarningCode};

/// Bounds of one expansion.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most files over all the directories given.
    pub max_files: usize,
    /// Most levels below a directory given.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files: 100_000,
            max_depth: 32,
        }
    }
}

/// The inputs to read, and what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expanded {
    /// The files, in reading order.
    pub paths: Vec<PathBuf>,
    /// One warning per file left out as found before.
    pub warnings: Vec<RunWarning>,
}

/// The inputs with each directory replaced by its files and each file
/// found twice kept once (see the module's docs); other paths, `-`
/// included, stay as given and in place.
///
/// # Errors
/// A directory that cannot be read, that holds no file, or past a limit:
/// the message names it.
pub fn expand(inputs: &[PathBuf], limits: Limits) -> Result<Expanded, String> {
    let all = walk_all(inputs, limits)?;
    let mut seen: std::collections::HashMap<(u64, u64), usize> = std::collections::HashMap::new();
    let mut out = Expanded::default();
    let (mut blank, mut unknown) = (0usize, 0usize);
    // Per input, the files found in it that are inputs.
    let mut taken = vec![0usize; inputs.len()];
    for (p, found) in all {
        if let Some(dir) = found {
            match what_is(&p) {
                Found::Input => taken[dir] += 1,
                Found::Blank => {
                    blank += 1;
                    continue;
                }
                Found::Ours => {
                    out.warnings.push(
                        RunWarning::new(
                            RunWarningCode::EarlierOutputSkipped,
                            format!(
                                "`{}`: {OUR_OUTPUT}, not flow logs: skipped (found in a directory given)",
                                p.display()
                            ),
                        )
                        .file(p.display().to_string()),
                    );
                    continue;
                }
                Found::Other => {
                    unknown += 1;
                    if unknown <= MAX_NAMED {
                        out.warnings.push(
                            RunWarning::new(
                                RunWarningCode::UnknownFileSkipped,
                                format!(
                                    "`{}`: neither a capture nor flow logs: skipped (found in a directory given)",
                                    p.display()
                                ),
                            )
                            .file(p.display().to_string()),
                        );
                    }
                    continue;
                }
            }
        }
        if let Some(id) = file_id(&p) {
            if let Some(&first) = seen.get(&id) {
                out.warnings.push(
                    RunWarning::new(
                        RunWarningCode::SameFile,
                        format!(
                            "`{}` is the same file as `{}`, given before: read once",
                            p.display(),
                            out.paths[first].display()
                        ),
                    )
                    .file(p.display().to_string()),
                );
                continue;
            }
            seen.insert(id, out.paths.len());
        }
        out.paths.push(p);
    }
    if let Some(dir) = (0..inputs.len()).find(|&i| taken[i] == 0 && is_dir(&inputs[i])) {
        return Err(format!(
            "`{}` is a directory with no capture or flow-log file in it (names starting with `.`, empty files and files of other kinds are skipped)",
            inputs[dir].display()
        ));
    }
    if unknown > MAX_NAMED {
        out.warnings.push(RunWarning::new(
            RunWarningCode::UnknownFileSkipped,
            format!(
                "{} more files neither captures nor flow logs skipped in the directories given",
                unknown - MAX_NAMED
            ),
        ));
    }
    if blank > 0 {
        out.warnings.push(RunWarning::new(
            RunWarningCode::BlankFileSkipped,
            format!("{blank} empty or blank file(s) in the directories given skipped (no records)"),
        ));
    }
    Ok(out)
}

/// Files skipped as not inputs named one by one at most.
const MAX_NAMED: usize = 10;

enum Found {
    Input,
    Blank,
    /// A report or flow lines zprsim wrote ([`is_our_output`]).
    Ours,
    Other,
}

/// What a file found in a directory is, by its first bytes; one that
/// cannot be read is taken (the reader names the error).
fn what_is(p: &Path) -> Found {
    let Ok(head) = crate::sniff::head(p) else {
        return Found::Input;
    };
    match crate::flowlog::detect::kind(&head) {
        crate::flowlog::detect::Kind::Blank if all_blank(&head) => Found::Blank,
        crate::flowlog::detect::Kind::Blank => Found::Input,
        // Decompressed: an earlier run's `--report r.json.gz` or `--flows
        // f.jsonl.zst` is written compressed.
        crate::flowlog::detect::Kind::FlowLog
            if is_our_output(&crate::flowlog::detect::decompressed(&head)) =>
        {
            Found::Ours
        }
        crate::flowlog::detect::Kind::FlowLog => Found::Input,
        crate::flowlog::detect::Kind::Capture if crate::capture::is_input_like(&head) => {
            Found::Input
        }
        crate::flowlog::detect::Kind::Capture => Found::Other,
    }
}

/// What a file [`is_our_output`] says zprsim wrote is, in messages.
pub const OUR_OUTPUT: &str = "a zprsim report or flow lines (an earlier run's output)";

/// Whether a JSON file is one zprsim writes (a `--report` left in the
/// directory by an earlier run, or `--flows` lines), not flow logs: read
/// as flow logs it would fail the run or add malformed records. A report
/// of `replay` or `diff` is pretty JSON whose first key is `scenario` or
/// `captures` (no OCI document starts so: theirs start with `data`,
/// `datetime` or `logContent`); every flow line has `"community_id"`, a
/// key no OCI flow-log entry has. `head` is decompressed already. Also
/// used where such a file is named where flow logs, a capture, a scenario
/// or an expectations file goes ([`OUR_OUTPUT`]).
#[must_use]
pub fn is_our_output(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let second = lines.next().unwrap_or_default();
    let report = first == "{"
        && (second.starts_with("  \"scenario\": ") || second.starts_with("  \"captures\": "));
    let flow_line = first.contains("\"community_id\":")
        && !first.contains("\"logContent\"")
        && !first.contains("\"sourceAddress\"");
    report || flow_line
}

/// Whether a file whose head is blank is blank to its end: the head is
/// the whole file (shorter than [`crate::sniff::HEAD`]) and, gzip or zstd, all it
/// decompresses to is blank (the head's kind looked at its first
/// [`crate::sniff::HEAD`] decompressed bytes only). Records after 4 KiB of
/// blank lines are records: such a file is taken, not skipped.
fn all_blank(head: &[u8]) -> bool {
    use std::io::Read;
    if head.len() >= crate::sniff::HEAD {
        return false;
    }
    let Some(codec) = crate::capture::decompress::Codec::of(head) else {
        return true;
    };
    // At most a few MB out of a head of 4 KiB (deflate's ratio is at most
    // about 1032:1; zstd's output is bounded by its frames' content, each
    // frame's window by the readers' bound), looked at in a fixed buffer.
    // A cut or corrupt stream is taken: the reader names what is wrong
    // with it.
    let Ok(mut d) = crate::capture::decompress::Decoder::new(codec, head) else {
        return false;
    };
    let mut buf = [0u8; 4096];
    let mut at = 0usize;
    loop {
        let n = match d.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        for (i, &b) in buf.iter().take(n).enumerate() {
            // A byte-order mark may open the text.
            let bom = at + i < 3 && b == b"\xEF\xBB\xBF"[at + i];
            if !b.is_ascii_whitespace() && !bom {
                return false;
            }
        }
        at = at.saturating_add(n);
    }
}

/// A regular file's device and inode (`-`: standard input's, when it is a
/// file redirected in: `replay - cap.pcap < cap.pcap`); `None` for pipes,
/// devices and what cannot be looked at (the reader names it).
#[cfg(unix)]
#[must_use]
pub fn file_id(p: &Path) -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let m = if is_std(p) {
        let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
        std::fs::File::from(fd).metadata().ok()?
    } else {
        std::fs::metadata(p).ok()?
    };
    m.is_file().then(|| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
#[must_use]
pub fn file_id(_: &Path) -> Option<(u64, u64)> {
    None
}

fn is_dir(p: &Path) -> bool {
    !is_std(p) && p.is_dir()
}

/// Every input, a directory's files in its place, each found in a
/// directory with the index of that input.
fn walk_all(inputs: &[PathBuf], limits: Limits) -> Result<Vec<(PathBuf, Option<usize>)>, String> {
    let mut out = Vec::with_capacity(inputs.len());
    let mut from_dirs = 0usize;
    for (i, p) in inputs.iter().enumerate() {
        if !is_dir(p) {
            out.push((p.clone(), None));
            continue;
        }
        let mut files = Vec::new();
        walk(p, 0, limits, &mut from_dirs, &mut files)?;
        out.extend(files.into_iter().map(|f| (f, Some(i))));
    }
    Ok(out)
}

fn walk(
    dir: &Path,
    depth: usize,
    limits: Limits,
    count: &mut usize,
    out: &mut Vec<PathBuf>,
) -> Result<(), String> {
    if depth > limits.max_depth {
        return Err(format!(
            "`{}`: more than {} directory levels (the limit)",
            dir.display(),
            limits.max_depth
        ));
    }
    let err = |e: std::io::Error| unreadable(dir, &e);
    let mut entries = Vec::new();
    for e in std::fs::read_dir(dir).map_err(err)? {
        let e = e.map_err(err)?;
        if e.file_name().as_encoded_bytes().starts_with(b".") {
            continue;
        }
        // The entry itself: a symlink is not a directory here (no loops).
        let ty = e.file_type().map_err(err)?;
        let path = e.path();
        let is_dir = ty.is_dir();
        // A symlink is taken when it leads to a regular file.
        let is_file = ty.is_file() || (ty.is_symlink() && path.is_file());
        if is_dir || is_file {
            entries.push((e.file_name(), path, is_dir));
        }
        // Bounded as it grows: a directory of millions of entries is
        // refused before they are all listed.
        if entries.len() > limits.max_files {
            return Err(too_many(dir, limits));
        }
    }
    entries.sort_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
    for (_, path, is_dir) in entries {
        if is_dir {
            walk(&path, depth + 1, limits, count, out)?;
        } else {
            *count += 1;
            if *count > limits.max_files {
                return Err(too_many(dir, limits));
            }
            out.push(path);
        }
    }
    Ok(())
}

/// A directory that cannot be listed: its path and the system's cause
/// (without "(os error N)", as every I/O message).
fn unreadable(dir: &Path, e: &std::io::Error) -> String {
    format!("`{}`: {}", shown(dir), io_message(e))
}

fn too_many(dir: &Path, limits: Limits) -> String {
    format!(
        "`{}`: more than {} input files in the directories given (the limit)",
        dir.display(),
        limits.max_files
    )
}

/// A warning for each packet output (`outputs`: flag and path) written
/// inside a directory among `inputs`: our pcaps carry no mark of their
/// own, so a later run over that directory would read it as a capture and
/// count its packets twice (reports and flow lines are recognized and
/// skipped: `earlier-output-skipped`).
#[must_use]
pub fn outputs_inside(inputs: &[PathBuf], outputs: &[(&str, &Option<PathBuf>)]) -> Vec<RunWarning> {
    let dirs: Vec<(&PathBuf, PathBuf)> = inputs
        .iter()
        .filter(|p| p.is_dir())
        .filter_map(|p| p.canonicalize().ok().map(|c| (p, c)))
        .collect();
    let mut out = Vec::new();
    for (flag, path) in outputs {
        let Some(path) = path.as_ref().filter(|p| p.as_os_str() != "-") else {
            continue;
        };
        // The file may not exist yet: its directory does (the plan checked).
        let parent = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Ok(parent) = parent.canonicalize() else {
            continue;
        };
        if let Some((given, _)) = dirs.iter().find(|(_, d)| parent.starts_with(d)) {
            out.push(
                RunWarning::new(
                    RunWarningCode::OutputInInputDirectory,
                    format!(
                        "{flag} `{}` is written inside `{}`, a directory given as input: a later run over `{}` would read it as a capture and count its packets twice; write it elsewhere",
                        path.display(),
                        given.display(),
                        given.display()
                    ),
                )
                .file(path.display().to_string()),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that reads as flow logs (its first byte is `{`).
    fn touch(p: &Path) {
        write(p, b"{}\n");
    }

    fn write(p: &Path, bytes: &[u8]) {
        std::fs::create_dir_all(p.parent().unwrap_or(Path::new("."))).unwrap_or_default();
        std::fs::write(p, bytes).unwrap_or_default();
    }

    /// A packet output inside a directory given as input is said (once,
    /// naming both); one beside it, or on standard output, is not.
    #[test]
    fn a_packet_output_inside_an_input_directory_is_warned_of() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let caps = d.path().join("caps");
        touch(&caps.join("a.pcap"));
        let inside = Some(caps.join("dropped.pcap"));
        let beside = Some(d.path().join("allowed.pcap"));
        let stdout = Some(PathBuf::from("-"));
        let w = outputs_inside(
            std::slice::from_ref(&caps),
            &[
                ("--allowed", &beside),
                ("--dropped", &inside),
                ("--flows", &stdout),
            ],
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].code, RunWarningCode::OutputInInputDirectory);
        assert!(
            w[0].message.starts_with(&format!(
                "--dropped `{}` is written inside `{}`",
                caps.join("dropped.pcap").display(),
                caps.display()
            )),
            "{w:?}"
        );
        // A file given (not a directory) holds no output.
        assert!(outputs_inside(&[caps.join("a.pcap")], &[("--dropped", &inside)]).is_empty());
    }

    #[test]
    fn our_reports_and_flow_lines_are_told_from_oci_documents() {
        // Ours: `replay` and `diff` reports, flow lines of captures and of
        // flow logs.
        assert!(is_our_output(
            b"{\n  \"scenario\": \"s.toml\",\n  \"pcaps\": ["
        ));
        assert!(is_our_output(b"{\n  \"captures\": [\n"));
        assert!(is_our_output(
            b"{\"src\":\"10.0.0.1\",\"dst\":\"10.0.0.2\",\"proto\":6,\"community_id\":\"1:x\"}\n"
        ));
        // OCI's: Logging search output (pretty or not), entries with and
        // without the envelope, an array.
        for oci in [
            &b"{\n  \"data\": {\n    \"results\": ["[..],
            b"{\"data\": {\"results\": [{\"data\": {}}]}}",
            b"{\"datetime\": 1, \"logContent\": {\"data\": {\"sourceAddress\": \"10.0.0.1\"}}}\n",
            b"{\"data\": {\"sourceAddress\": \"10.0.0.1\", \"action\": \"ACCEPT\"}}\n",
            b"[\n  {\n    \"datetime\": 1",
        ] {
            assert!(!is_our_output(oci), "{}", String::from_utf8_lossy(oci));
        }
    }

    #[test]
    fn in_a_directory_only_captures_and_flow_logs_are_taken() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = d.path();
        let pcap = [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        write(&r.join("a.pcap"), &pcap);
        write(
            &r.join("b.pcapng"),
            &[0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a],
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"{\"a\": 1}\n").unwrap_or_default();
        write(&r.join("c.log.gz"), &gz.finish().unwrap_or_default());
        write(&r.join("d.pcap.xz"), &[0xfd, b'7', b'z', b'X', b'Z', 0]);
        touch(&r.join("e.jsonl"));
        write(&r.join("README.md"), b"# captures of Tuesday\n");
        write(&r.join("SHA256SUMS"), b"e3b0c442  a.pcap\n");
        write(&r.join("empty.log"), b"");
        write(&r.join("blank.log"), b"  \n\n");
        let got = expand(&[r.to_path_buf()], Limits::default()).unwrap_or_default();
        let names: Vec<String> = got
            .paths
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(
            names,
            ["a.pcap", "b.pcapng", "c.log.gz", "d.pcap.xz", "e.jsonl"]
        );
        let w = crate::warning::messages(&got.warnings).join("\n");
        assert!(
            w.contains("README.md`: neither a capture nor flow logs"),
            "{w}"
        );
        assert!(w.contains("SHA256SUMS`: neither"), "{w}");
        assert!(w.contains("2 empty or blank file(s)"), "{w}");
        // Named on the command line, the same README is taken: the reader
        // says what it is.
        let readme = r.join("README.md");
        let got = expand(std::slice::from_ref(&readme), Limits::default()).unwrap_or_default();
        assert_eq!(got.paths, vec![readme]);
        assert!(got.warnings.is_empty());
    }

    #[test]
    fn blank_means_blank_to_the_end_not_just_in_the_head() {
        let gz = |b: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            std::io::Write::write_all(&mut e, b).unwrap_or_default();
            e.finish().unwrap_or_default()
        };
        let head = crate::sniff::HEAD;
        assert!(all_blank(b""));
        assert!(all_blank(b"\xEF\xBB\xBF \n\r\n"));
        assert!(all_blank(&gz(b"")));
        assert!(all_blank(&gz(&vec![b'\n'; 100_000])));
        let mut late = vec![b'\n'; head + 10];
        late.extend_from_slice(b"{}\n");
        assert!(!all_blank(&gz(&late)));
        // A head as long as the head looked at: more may follow.
        assert!(!all_blank(&vec![b' '; head]));
        // A cut gzip: taken, the reader names the cut.
        let cut = gz(&vec![b'\n'; 100_000]);
        assert!(!all_blank(&cut[..cut.len() - 6]));
    }

    #[test]
    fn a_tree_is_its_files_in_name_order_depth_first_hidden_skipped() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = d.path();
        for f in [
            "b/2.log.gz",
            "b/10.log.gz",
            "a.log",
            "c/x/1.pcap",
            ".hidden",
            "b/.swp",
            ".git/config",
        ] {
            touch(&r.join(f));
        }
        std::fs::create_dir_all(r.join("empty")).unwrap_or_default();
        let plain = r.join("a.log");
        let got = expand(
            &[PathBuf::from("-"), r.to_path_buf(), plain.clone()],
            Limits::default(),
        )
        .unwrap_or_default();
        // `a.log` again after the directory that holds it: read once.
        assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
        assert!(
            got.warnings[0].message.contains("same file"),
            "{:?}",
            got.warnings
        );
        let want: Vec<PathBuf> = vec![
            PathBuf::from("-"),
            r.join("a.log"),
            r.join("b/10.log.gz"),
            r.join("b/2.log.gz"),
            r.join("c/x/1.pcap"),
        ];
        assert_eq!(got.paths, want);
        // Under another spelling, and `-` twice (not a file: left to the
        // output plan, which refuses standard input twice).
        let dotted = r.join("b/../a.log");
        let got = expand(
            &[plain.clone(), dotted, "-".into(), "-".into()],
            Limits::default(),
        )
        .unwrap_or_default();
        assert_eq!(got.paths, vec![plain, "-".into(), "-".into()]);
    }

    #[test]
    fn limits_and_empty_directories_are_errors_that_name_the_directory() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = d.path();
        for i in 0..5 {
            touch(&r.join(format!("f{i}")));
        }
        let few = Limits {
            max_files: 4,
            max_depth: 32,
        };
        let e = expand(&[r.to_path_buf()], few).err().unwrap_or_default();
        assert!(e.contains("more than 4 input files"), "{e}");
        assert!(e.contains(&r.display().to_string()), "{e}");
        touch(&r.join("a/b/c/f"));
        let shallow = Limits {
            max_files: 100,
            max_depth: 1,
        };
        let e = expand(&[r.to_path_buf()], shallow)
            .err()
            .unwrap_or_default();
        assert!(e.contains("more than 1 directory levels"), "{e}");
        let empty = r.join("e");
        std::fs::create_dir_all(empty.join(".only-hidden")).unwrap_or_default();
        let e = expand(&[empty], Limits::default())
            .err()
            .unwrap_or_default();
        assert!(e.contains("no capture or flow-log file"), "{e}");
        // Files, none of them an input: the same.
        let notes = r.join("notes");
        write(&notes.join("README"), b"text");
        write(&notes.join("empty.log"), b"");
        let e = expand(&[notes], Limits::default())
            .err()
            .unwrap_or_default();
        assert!(e.contains("no capture or flow-log file"), "{e}");
    }

    /// A directory that cannot be listed is named with the system's
    /// cause and no "(os error N)" (root lists any directory: the error
    /// is made, not provoked).
    #[test]
    fn an_unreadable_directory_is_named_with_the_cause_only() {
        let e = std::io::Error::from_raw_os_error(13);
        assert!(e.to_string().ends_with("(os error 13)"), "{e}");
        assert_eq!(
            unreadable(Path::new("logs/2026"), &e),
            "`logs/2026`: Permission denied"
        );
    }

    /// A path under a file: `walk` fails listing it, through [`unreadable`].
    #[test]
    fn a_directory_that_is_a_file_fails_the_walk_with_the_cause_only() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = d.path().join("f");
        touch(&file);
        let mut out = Vec::new();
        let e = walk(&file, 0, Limits::default(), &mut 0, &mut out)
            .err()
            .unwrap_or_default();
        assert_eq!(e, format!("`{}`: Not a directory", file.display()));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_not_followed_and_a_link_to_a_file_is_that_file() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let r = d.path();
        touch(&r.join("sub/f.pcap"));
        std::os::unix::fs::symlink(r, r.join("sub/loop")).unwrap_or_default();
        std::os::unix::fs::symlink(r.join("sub/f.pcap"), r.join("link.pcap")).unwrap_or_default();
        let got = expand(&[r.to_path_buf()], Limits::default()).unwrap_or_default();
        // The link and its target are one file: read once, as the link.
        assert_eq!(got.paths, vec![r.join("link.pcap")]);
        assert_eq!(got.warnings.len(), 1);
    }
}
