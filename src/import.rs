//! `zprsim import oci DIR -o SCENARIO.toml [--services RANGES.json]`: a
//! directory of OCI CLI JSON outputs to a native scenario. The conversion
//! is `zprsim_control::import` (pure); this file reads the directory and
//! writes the result beside its target, renamed into place.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zprsim_control::escape::escape;
use zprsim_control::import::oci;
use zprsim_dataplane::input::{self, CappedError};
use zprsim_dataplane::output::{OutputFile, Plan, io_message};

use crate::Failure;

/// Largest JSON file read (OCI CLI outputs of a compartment are far smaller).
const MAX_FILE: u64 = 256 << 20;

/// Most bytes of `*.json` read from DIR in all: every file is held until
/// the scenario is written, and a scenario is at most 256 MiB
/// (`load::MAX_SCENARIO_BYTES`), which the CLI's JSON takes at most a few
/// times over. Checked from the files' sizes before any is read.
const MAX_TOTAL: u64 = 1 << 30;

/// Arguments of `import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    source: Source,
}

#[derive(Debug, clap::Subcommand)]
enum Source {
    /// A directory of OCI CLI JSON outputs (see examples/export-oci.sh).
    Oci(OciArgs),
    /// Anything else (`zprsim import DIR`): said with the command line.
    #[command(external_subcommand)]
    Other(Vec<OsString>),
}

#[derive(Debug, clap::Args)]
struct OciArgs {
    /// The directory of `*.json` files.
    dir: PathBuf,
    /// Where to write the scenario (TOML; required).
    // Checked by `run`, after DIR: a file given as DIR is said first.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// OCI's public IP ranges JSON (or an object of service label to CIDRs).
    #[arg(long)]
    services: Option<PathBuf>,
    /// Import only this VCN (display name or OCID) and what is in it;
    /// repeat for several. A scenario's VCNs have distinct addresses, so
    /// compartments that reuse a CIDR are imported one at a time.
    #[arg(long = "vcn", value_name = "NAME|OCID")]
    vcns: Vec<String>,
    /// Replace `-o`'s file even when `import` did not write it (without
    /// it, an existing file is replaced only when its first line is the
    /// header `import` writes).
    #[arg(long)]
    force: bool,
}

/// Most directory levels below DIR searched for `*.json`.
const MAX_DEPTH: usize = 8;

/// The `*.json` files under `dir` (`depth` levels below DIR), in name
/// order at each level, subdirectories included: an export made per
/// compartment keeps each in a folder of its own, and its files were
/// silently not read. Names starting with `.` are skipped; a symlink to a
/// directory is not followed (no loops).
fn json_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::Input(format!("error: {}: {}", dir.display(), io_message(&e))))?;
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
                return Err(Failure::Input(format!(
                    "error: `{}` is more than {MAX_DEPTH} levels below DIR (the limit)",
                    p.display()
                )));
            }
            json_files(&p, depth + 1, out)?;
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
        crate::import_looks::strip_compressed(&n)
            .unwrap_or(&n)
            .ends_with(".json")
    })
}

/// Reads one input (`-`: standard input) of at most [`MAX_FILE`] bytes;
/// a gzip or zstd one (`oci ... | gzip`, told by its magic) is read
/// decompressed, at most [`MAX_FILE`] bytes out and at most `budget`
/// (what is left of [`MAX_TOTAL`] for DIR), both counted while it is
/// decompressed. `budget` is lowered by what is read.
fn read_limited(p: &Path, budget: &mut u64) -> Result<String, Failure> {
    use zprsim_dataplane::capture::decompress::Codec;
    let err = |e: &dyn std::fmt::Display| Failure::Input(format!("error: {}: {e}", p.display()));
    let mut bytes = input::read_capped(p, MAX_FILE).map_err(|e| match e {
        CappedError::Io(e) => err(&io_message(&e)),
        CappedError::TooLong => err(&format!("longer than {MAX_FILE} bytes (the limit)")),
    })?;
    if let Some(codec) = Codec::of(&bytes) {
        use zprsim_dataplane::capture::decompress::{Damage, padding_text};
        let cap = MAX_FILE.min(*budget);
        let mut out = input::decompressed_capped(codec, &bytes, cap);
        // Zeros after the last member: padding, read as gzip reads it
        // (and `replay`), with its warning.
        let damage = match &out {
            Err(CappedError::Io(_)) => codec.damage(&bytes),
            _ => None,
        };
        if let Some(Damage::Padding { at, len }) = damage {
            let _ = writeln!(
                std::io::stderr().lock(),
                "warning: {}: {}",
                p.display(),
                padding_text(at, len)
            );
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
fn head(text: &str) -> &str {
    let cut = (0..=text.len().min(crate::import_looks::HEAD))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text.get(..cut).unwrap_or_default()
}

/// What `import oci` wants, and where it comes from.
const WANTS: &str = "`import oci` reads a directory of OCI CLI JSON outputs, one file per `oci network ... list` command (examples/export-oci.sh writes one; docs/import.md)";

/// The message for `path`, given as `import oci`'s DIR (`oci` given:
/// `oci_given`) while it is a file (or, `None`, not there): what it looks
/// like and the command line that uses it. `output`: the `-o` given.
fn not_a_directory(path: &Path, oci_given: bool, output: Option<&Path>) -> String {
    let out = output.map_or_else(|| "SCENARIO.toml".into(), |o| o.display().to_string());
    let shown = path.display();
    let fix = |dir: &str| format!("zprsim import oci {dir} -o {out}");
    let parent = match path.parent().map(Path::display).map(|d| d.to_string()) {
        Some(d) if !d.is_empty() => d,
        _ => ".".into(),
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            return format!(
                "error: `{shown}`: {}{}; {WANTS}: {}",
                io_message(&e),
                if oci_given {
                    ""
                } else {
                    " (and `import` takes its source first)"
                },
                fix("DIR")
            );
        }
    };
    if meta.is_dir() {
        // Only without `oci`: the command line it takes.
        return format!(
            "error: `import` takes its source first, `oci`, the only one; {WANTS}: {}",
            fix(&shown.to_string())
        );
    }
    let looks = crate::import_looks::file(path);
    let what = match &looks {
        Err(e) => format!("cannot be read ({})", io_message(e)),
        Ok((l, None)) => l.to_string(),
        Ok((l, Some(c))) => format!("is {} data; decompressed, it {l}", c.name()),
    };
    use crate::import_looks::Looks;
    let then = match looks.map(|(l, _)| l) {
        Ok(Looks::CliOutput) => format!(
            "give the directory that holds it with the export's other outputs: {}",
            fix(&parent)
        ),
        Ok(Looks::FlowLog) => format!(
            "export the network (examples/export-oci.sh), import that directory, then replay the flow log against it: {}; zprsim replay {out} {shown}",
            fix("DIR")
        ),
        Ok(Looks::Ranges) => format!(
            "give it with `--services`: {} --services {shown}",
            fix("DIR")
        ),
        Ok(Looks::Scenario) => format!(
            "use it as it is (`zprsim check {shown}`), or make one from an export: {}",
            fix("DIR")
        ),
        _ => fix("DIR"),
    };
    format!("error: `{shown}` is a file, not a directory, and {what}; {WANTS}: {then}")
}

/// Runs `import`.
pub fn run(a: &Args) -> Result<ExitCode, Failure> {
    let a = match &a.source {
        Source::Oci(a) => a,
        Source::Other(words) => {
            // `zprsim import DIR -o F`: the source word left out.
            let path = words.first().map(PathBuf::from).unwrap_or_default();
            let output = words
                .iter()
                .position(|w| w == "-o" || w == "--output")
                .and_then(|i| words.get(i + 1))
                .map(PathBuf::from);
            return Err(Failure::Input(not_a_directory(
                &path,
                false,
                output.as_deref(),
            )));
        }
    };
    if zprsim_dataplane::output::is_std(&a.dir) {
        return Err(Failure::Input(
            "error: DIR is a directory of `*.json` files; `-` (standard input) cannot be one"
                .into(),
        ));
    }
    if !a.dir.is_dir() {
        return Err(Failure::Input(not_a_directory(
            &a.dir,
            true,
            a.output.as_deref(),
        )));
    }
    let Some(output) = &a.output else {
        return Err(Failure::Input(format!(
            "error: `-o` is missing, the file to write the scenario to: zprsim import oci {} -o SCENARIO.toml",
            a.dir.display()
        )));
    };
    let mut paths = Vec::new();
    json_files(&a.dir, 0, &mut paths)?;
    if paths.is_empty() {
        return Err(Failure::Input(format!(
            "error: `{}` holds no `*.json` file; {WANTS}",
            a.dir.display()
        )));
    }
    // No output may be an input (checked before any work).
    let mut plan = Plan::new();
    for p in &paths {
        plan.input("DIR", p);
    }
    if let Some(p) = &a.services {
        plan.input("--services", p);
    }
    plan.output("-o", output);
    plan.check()
        .map_err(|e| Failure::Input(format!("error: {e}")))?;
    // The output is TOML; a `.json` name makes every command read it as
    // JSON (`check` fails at 1:1).
    let out_name = output.file_name().map(|n| n.to_string_lossy());
    if out_name
        .as_deref()
        .and_then(zprsim_control::load::Format::from_file_name)
        == Some(zprsim_control::load::Format::Json)
    {
        return Err(Failure::Input(format!(
            "error: -o `{}`: the imported scenario is TOML, and a `.json` name makes every command read it as JSON; name it `.toml`",
            output.display()
        )));
    }
    if !a.force {
        refuse_a_file_not_imported(output)?;
    }
    // The sizes the file system gives (regular files only: `paths` holds
    // no FIFO or device), before any is read; each read is capped too.
    let total = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .fold(0u64, |t, m| t.saturating_add(m.len()));
    if total > MAX_TOTAL {
        return Err(Failure::Input(format!(
            "error: `{}` holds {total} bytes of `*.json` files; at most {MAX_TOTAL} bytes are read (the limit)",
            a.dir.display()
        )));
    }
    // Each file by its path under DIR (`compartment-b/network-vcn-list.json`),
    // so two subdirectories' files of one name are both read.
    // A compressed file by its name without `.gz`/`.zst`: the importer
    // reads an NSG's OCID from `network-nsg-rules-list.<OCID>.json`.
    let mut from = BTreeMap::new();
    for p in &paths {
        let name = p
            .strip_prefix(&a.dir)
            .unwrap_or(p)
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        let name = crate::import_looks::strip_compressed(&name)
            .map_or_else(|| name.clone(), str::to_owned);
        if let Some(other) = from.insert(name.clone(), p.clone()) {
            return Err(Failure::Input(format!(
                "error: `{}` and `{}` are one output, in two forms (plain, gzip or zstd): keep one",
                other.display(),
                p.display()
            )));
        }
    }
    // Each file parsed as it is read, in name order (the importer's), and
    // let go: what is held is the objects taken and one file's text, not
    // every file's (a 10,000-VNIC export's texts were held whole).
    let mut importer = oci::Importer::default();
    let mut taken = 0usize;
    let mut skipped = Vec::new();
    let mut budget = MAX_TOTAL;
    for (name, p) in &from {
        let text = read_limited(p, &mut budget)?;
        // A flow log or the ranges file kept beside the export is no CLI
        // output: each of its objects would be left out with a warning
        // of its own, and a directory of flow logs made an empty scenario.
        match crate::import_looks::text(head(&text), false) {
            l @ (crate::import_looks::Looks::FlowLog | crate::import_looks::Looks::Ranges) => {
                skipped.push(format!("`{}` {l}: not read", p.display()));
            }
            _ => {
                importer
                    .file(name, &text)
                    .map_err(|e| import_failure(a, e))?;
                taken += 1;
            }
        }
    }
    if taken == 0 {
        return Err(Failure::Input(format!(
            "error: `{}` holds no OCI CLI output: {}; {WANTS}",
            a.dir.display(),
            skipped.join("; ")
        )));
    }
    for w in &skipped {
        let _ = writeln!(std::io::stderr().lock(), "warning: {}", escape(w));
    }
    let services = a
        .services
        .as_deref()
        .map(|p| read_limited(p, &mut { MAX_FILE }))
        .transpose()?;
    // OCI's ranges file or an object of label to CIDRs. A CLI output (the
    // export's own `network-service-list.json`, named for services) or
    // flow logs left every label empty, with a warning only.
    if let (Some(p), Some(text)) = (&a.services, &services) {
        use crate::import_looks::Looks;
        let what = match crate::import_looks::text(head(text), false) {
            Looks::CliOutput => Some("is an OCI CLI output (it belongs in DIR)"),
            Looks::FlowLog => Some("holds OCI VCN flow-log records"),
            _ => None,
        };
        if let Some(what) = what {
            return Err(Failure::Input(format!(
                "error: --services `{}` {what}: `--services` takes OCI's public IP ranges file (https://docs.oracle.com/en-us/iaas/tools/public_ip_ranges.json), or an object of service label to CIDRs",
                p.display()
            )));
        }
    }
    let imported = importer
        .finish(services.as_deref(), &a.vcns)
        .map_err(|e| import_failure(a, e))?;
    let mut stderr = std::io::stderr().lock();
    for w in &imported.warnings {
        // Warnings quote OCIDs and names from the export: escaped, so a
        // line break or a bidirectional control cannot forge a line.
        let _ = writeln!(stderr, "warning: {}", escape(w));
    }
    drop(stderr);
    // What is written must load: an export holding what no scenario can (a
    // port range with min over max, a CIDR that is not one) is bad input,
    // said here rather than by the next command on a file the user did not
    // write. Nothing is written then.
    let shown = format!("{} (as it would be written)", output.display());
    let loaded = zprsim_control::load::from_toml_str(&imported.toml, &shown);
    if let Ok(l) = &loaded
        && l.scenario.vcns.is_empty()
    {
        // An export of a compartment with no VCN (a wrong
        // `--compartment-id`: the CLI prints nothing for an empty list)
        // imported silently into an empty scenario (QA round twenty-two).
        let _ = writeln!(
            std::io::stderr().lock(),
            "warning: the export holds no VCN: no `oci network vcn list` output under `{}` lists one (the CLI prints nothing for a compartment without VCNs: a wrong `--compartment-id`?), so `{}` is an empty scenario, against which every packet drops at route; export the compartment that holds the VCNs (examples/export-oci.sh)",
            escape(&a.dir.display().to_string()),
            escape(&output.display().to_string())
        );
    }
    if let Err(e) = loaded {
        // Compartments that reuse a VCN CIDR (every console wizard's
        // `10.0.0.0/16`): said with the way out.
        let e = e.to_string();
        let hint = if e.contains("an address must belong to one vcn") {
            "; VCNs with the same addresses go in separate scenarios: import one at a time with `--vcn NAME`"
        } else {
            ""
        };
        return Err(Failure::Input(format!(
            "{e}\nerror: the export does not make a valid scenario; `{}` is not written{hint}",
            output.display()
        )));
    }
    write_beside(output, imported.toml.as_bytes(), a.force)?;
    Ok(ExitCode::SUCCESS)
}

/// The importer's refusal `e` as the CLI says it: the file it names (under
/// DIR, the `--services` file, or DIR for what the whole export refused),
/// its reasons escaped (they quote OCIDs and names from the export, as
/// the warnings do).
fn import_failure(a: &OciArgs, e: zprsim_control::import::ImportError) -> Failure {
    let file = match (e.file.as_str(), a.services.as_deref()) {
        ("--services", Some(p)) => p.display().to_string(),
        ("--vcn", _) => e.file.clone(),
        ("the export", _) => a.dir.display().to_string(),
        _ => a.dir.join(&e.file).display().to_string(),
    };
    Failure::Input(format!(
        "error: {}",
        escape(&oci::ImportErrorAt { file, e }.to_string())
    ))
}

/// `-o`'s file when it holds what `import` did not write: a scenario
/// written by hand, a policy (`-o policies/orders.zpl`), anything whose
/// first line (decompressed, for a gzip or zstd file) is not
/// [`oci::HEADER`]. Refused, before the export is read,
/// naming it and `--force`. A file that is not there, empty, or not a
/// regular one (standard output, a FIFO, a device: written in place, as
/// a stream) is written; which of these it is, is returned.
fn refuse_a_file_not_imported(output: &Path) -> Result<Found, Failure> {
    use std::io::Read as _;
    if zprsim_dataplane::output::is_std(output) {
        return Ok(Found::Replaceable);
    }
    let Ok(meta) = std::fs::metadata(output) else {
        return Ok(Found::Absent);
    };
    if !meta.is_file() || meta.len() == 0 {
        return Ok(Found::Replaceable);
    }
    // The header's line and no more (a large file is not read): the
    // header and its line's end, not a line that starts with it.
    // An output named `.gz` or `.zst` was written compressed: its header
    // is in what it holds (by its first bytes, as every input is read).
    let line = format!("{}\n", oci::HEADER);
    let mut first = Vec::with_capacity(line.len());
    let read = std::fs::File::open(output)
        .and_then(|f| zprsim_dataplane::capture::decompress::decompressed(Box::new(f)))
        .and_then(|(r, _)| r.take(line.len() as u64).read_to_end(&mut first));
    if read.is_ok() && first == line.as_bytes() {
        return Ok(Found::Replaceable);
    }
    let shown = output.display();
    Err(Failure::Input(format!(
        "error: -o `{shown}` exists and `zprsim import` did not write it (its first line is not `{}`): it is left as it is; give a new file (`-o imported.toml`), or add `--force` to replace it",
        oci::HEADER
    )))
}

/// What [`refuse_a_file_not_imported`] found at `-o`.
enum Found {
    /// Nothing (or a dangling link).
    Absent,
    /// A file `import` may replace (one it wrote, an empty one) or write
    /// in place (standard output, a FIFO, a device).
    Replaceable,
}

/// Writes the scenario beside its target and renames it into place.
/// Without `force`, `-o` is checked again just before the rename (the
/// export took its time to read: a file written there meanwhile, by hand
/// or by another program, is refused as at the start), and a target
/// still absent then is renamed onto only while nothing is there
/// ([`OutputFile::commit_new`]), so no file made between that check and
/// the rename is replaced either.
fn write_beside(path: &Path, bytes: &[u8], force: bool) -> Result<(), Failure> {
    let fail = |e: &dyn std::fmt::Display| Failure::Input(format!("error: {e}"));
    let mut f = OutputFile::create("-o", path).map_err(|e| fail(&e))?;
    f.write_all(bytes)
        .map_err(|e| fail(&format!("-o `{}`: {e}", path.display())))?;
    if force {
        return f.commit().map_err(|e| fail(&e));
    }
    match refuse_a_file_not_imported(path)? {
        Found::Replaceable => f.commit().map_err(|e| fail(&e)),
        Found::Absent => f.commit_new().map_err(|e| {
            if e.exists() {
                Failure::Input(format!(
                    "error: -o `{}` was made while `zprsim import` ran (it was not there before): it is left as it is; give a new file (`-o imported.toml`), or add `--force` to replace it",
                    path.display()
                ))
            } else {
                fail(&e)
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use zprsim_dataplane::capture::decompress::Codec;

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
    }
}
