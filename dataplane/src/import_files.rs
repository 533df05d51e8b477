//! `import oci`'s inputs: the `*.json` files under DIR (plain, gzip or
//! zstd, [`json_files`]), each named by its path under DIR ([`by_name`]),
//! read with limits on each file and on all of them ([`read_limited`]).
//! What each file holds is `zprsim_control::import`'s; what a file that is
//! no CLI output looks like is [`crate::import_looks`]'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::capture::decompress::{Codec, Damage, padding_text};
use crate::import_looks::strip_compressed;
use crate::input::{self, CappedError};
use crate::output::io_message;

/// Largest JSON file read (OCI CLI outputs of a compartment are far smaller).
pub const MAX_FILE: u64 = 256 << 20;

/// Most bytes of `*.json` read from DIR in all: every file is held until
/// the scenario is written, and a scenario is at most 256 MiB
/// (`load::MAX_SCENARIO_BYTES`), which the CLI's JSON takes at most a few
/// times over. Checked from the files' sizes before any is read
/// ([`check_total`]).
pub const MAX_TOTAL: u64 = 1 << 30;

/// Most directory levels below DIR searched for `*.json`.
const MAX_DEPTH: usize = 8;

/// Why DIR's files cannot be read, in words (the binary prints it after
/// `error: `).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImportFilesError(pub String);

/// The `*.json` files under `dir`, in name order at each level,
/// subdirectories included: an export made per compartment keeps each in
/// a folder of its own, and its files were silently not read. Names
/// starting with `.` are skipped; a symlink to a directory is not
/// followed (no loops).
///
/// # Errors
/// A directory that cannot be read, or one more than 8 levels below DIR.
pub fn json_files(dir: &Path) -> Result<Vec<PathBuf>, ImportFilesError> {
    let mut out = Vec::new();
    walk(dir, 0, &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), ImportFilesError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ImportFilesError(format!("{}: {}", dir.display(), io_message(&e))))?;
    let mut here: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    here.sort();
    for p in here {
        let is_link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
        if p.is_dir() && !is_link {
            if depth >= MAX_DEPTH {
                return Err(ImportFilesError(format!(
                    "`{}` is more than {MAX_DEPTH} levels below DIR (the limit)",
                    p.display()
                )));
            }
            walk(&p, depth + 1, out)?;
        } else if p.is_file() && is_json_name(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Whether DIR's file `p` is read: `*.json`, or `*.json.gz` and
/// `*.json.zst` (`oci ... | gzip > vcns.json.gz`).
fn is_json_name(p: &Path) -> bool {
    p.file_name().is_some_and(|n| {
        let n = n.to_string_lossy();
        strip_compressed(&n).unwrap_or(&n).ends_with(".json")
    })
}

/// Refuses `paths` (under `dir`) when the sizes the file system gives
/// (regular files only: [`json_files`] holds no FIFO or device) add up to
/// more than [`MAX_TOTAL`], before any is read; each read is capped too.
///
/// # Errors
/// Past [`MAX_TOTAL`].
pub fn check_total(dir: &Path, paths: &[PathBuf]) -> Result<(), ImportFilesError> {
    let total = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .fold(0u64, |t, m| t.saturating_add(m.len()));
    if total > MAX_TOTAL {
        return Err(ImportFilesError(format!(
            "`{}` holds {total} bytes of `*.json` files; at most {MAX_TOTAL} bytes are read (the limit)",
            dir.display()
        )));
    }
    Ok(())
}

/// Each file of `paths` by its path under `dir`
/// (`compartment-b/network-vcn-list.json`), so two subdirectories' files
/// of one name are both read; a compressed file by its name without
/// `.gz`/`.zst` (the importer reads an NSG's OCID from
/// `network-nsg-rules-list.<OCID>.json`).
///
/// # Errors
/// One output in two forms (plain and compressed).
pub fn by_name(
    dir: &Path,
    paths: &[PathBuf],
) -> Result<BTreeMap<String, PathBuf>, ImportFilesError> {
    let mut from = BTreeMap::new();
    for p in paths {
        let name = p
            .strip_prefix(dir)
            .unwrap_or(p)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let name = strip_compressed(&name).map_or_else(|| name.clone(), str::to_owned);
        if let Some(other) = from.insert(name.clone(), p.clone()) {
            return Err(ImportFilesError(format!(
                "`{}` and `{}` are one output, in two forms (plain, gzip or zstd): keep one",
                other.display(),
                p.display()
            )));
        }
    }
    Ok(from)
}

/// Reads one input (`-`: standard input) of at most [`MAX_FILE`] bytes;
/// a gzip or zstd one (`oci ... | gzip`, told by its magic) is read
/// decompressed, at most [`MAX_FILE`] bytes out and at most `budget`
/// (what is left of [`MAX_TOTAL`] for DIR), both counted while it is
/// decompressed. `budget` is lowered by what is read. Zeros after the last
/// member are padding, read as gzip reads them, and said to `warn`.
///
/// # Errors
/// The file cannot be read or decompressed, is past a limit, or is not
/// text.
pub fn read_limited(
    p: &Path,
    budget: &mut u64,
    warn: &mut dyn FnMut(String),
) -> Result<String, ImportFilesError> {
    let err = |e: &dyn std::fmt::Display| ImportFilesError(format!("{}: {e}", p.display()));
    let mut bytes = input::read_capped(p, MAX_FILE).map_err(|e| match e {
        CappedError::Io(e) => err(&io_message(&e)),
        CappedError::TooLong => err(&format!("longer than {MAX_FILE} bytes (the limit)")),
    })?;
    if let Some(codec) = Codec::of(&bytes) {
        let cap = MAX_FILE.min(*budget);
        let mut out = input::decompressed_capped(codec, &bytes, cap);
        // Zeros after the last member: padding, read as gzip reads it
        // (and `replay`), with its warning.
        let damage = match &out {
            Err(CappedError::Io(_)) => codec.damage(&bytes),
            _ => None,
        };
        if let Some(Damage::Padding { at, len }) = damage {
            warn(format!("{}: {}", p.display(), padding_text(at, len)));
            out = input::decompressed_capped(
                codec,
                bytes
                    .get(..usize::try_from(at).unwrap_or(usize::MAX))
                    .unwrap_or_default(),
                cap,
            );
        }
        bytes = out.map_err(|e| match e {
            // Trailing bytes and a cut file said as such, where they are.
            CappedError::Io(e) => match codec.damage(&bytes) {
                Some(d) => err(&d.message(codec, &p.display().to_string())),
                None => err(&format!("cannot decompress it ({}): {e}", codec.name())),
            },
            CappedError::TooLong if cap == MAX_FILE => err(&format!(
                "decompressed ({}), longer than {MAX_FILE} bytes (the limit of one file)",
                codec.name()
            )),
            CappedError::TooLong => err(&format!(
                "decompressed ({}), it takes the files read past {MAX_TOTAL} bytes (the limit of DIR's `*.json` files in all)",
                codec.name()
            )),
        })?;
    }
    *budget = budget.saturating_sub(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
    input::text_of(bytes).map_err(|e| err(&e))
}

/// The start of `text` that [`crate::import_looks::text`] looks at: at
/// most [`crate::import_looks::HEAD`] bytes, cut at a character boundary
/// (a cut inside one fell back to the whole file).
#[must_use]
pub fn head(text: &str) -> &str {
    let cut = (0..=text.len().min(crate::import_looks::HEAD))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text.get(..cut).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write as _;

    use super::*;

    /// The decompressed size is bounded while decompressing: a file that
    /// decompresses past the cap is refused, one at the cap is read.
    #[test]
    fn a_compressed_file_is_refused_past_the_cap_while_it_is_read() {
        let data = vec![b' '; 10_000];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap_or_default();
        let gz = gz.finish().unwrap_or_default();
        assert!(matches!(
            input::decompressed_capped(Codec::Gzip, &gz, 9_999),
            Err(CappedError::TooLong)
        ));
        assert_eq!(
            input::decompressed_capped(Codec::Gzip, &gz, 10_000).ok(),
            Some(data.clone())
        );
        let zst = zstd::stream::encode_all(&data[..], 3).unwrap_or_default();
        assert!(matches!(
            input::decompressed_capped(Codec::Zstd, &zst, 100),
            Err(CappedError::TooLong)
        ));
        assert!(matches!(
            input::decompressed_capped(Codec::Gzip, &gz[..gz.len() / 2], 1 << 20),
            Err(CappedError::Io(_))
        ));
        // Read from a file, within the budget left, which it lowers.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json.gz");
        std::fs::write(&p, &gz).unwrap();
        let mut budget = 20_000;
        let mut warned = Vec::new();
        let text = read_limited(&p, &mut budget, &mut |w| warned.push(w)).unwrap();
        assert_eq!(text.len(), 10_000);
        assert_eq!(budget, 10_000);
        assert!(warned.is_empty());
        let mut budget = 9_999;
        let e = read_limited(&p, &mut budget, &mut |w| warned.push(w)).unwrap_err();
        assert!(e.0.contains("past 1073741824 bytes"), "{e}");
    }

    /// DIR's `*.json` files, compressed ones too, by their path under DIR
    /// without the compression's suffix; hidden names and other files
    /// left out; one output in two forms refused.
    #[test]
    fn dirs_json_files_are_found_and_named_by_their_path_under_it() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("b");
        std::fs::create_dir(&sub).unwrap();
        for f in ["a.json", ".hidden.json", "notes.txt", "b/c.json.gz"] {
            std::fs::write(d.path().join(f), "{}").unwrap();
        }
        let paths = json_files(d.path()).unwrap();
        assert_eq!(paths, [d.path().join("a.json"), sub.join("c.json.gz")]);
        let names: Vec<String> = by_name(d.path(), &paths).unwrap().into_keys().collect();
        assert_eq!(names, ["a.json", "b/c.json"]);
        std::fs::write(sub.join("c.json"), "{}").unwrap();
        let paths = json_files(d.path()).unwrap();
        assert!(
            by_name(d.path(), &paths)
                .unwrap_err()
                .0
                .contains("are one output, in two forms")
        );
        assert!(check_total(d.path(), &paths).is_ok());
        assert_eq!(head("abc"), "abc");
    }
}
