//! `zprsim import oci DIR -o SCENARIO.toml [--services RANGES.json]`: a
//! directory of OCI CLI JSON outputs to a native scenario. The conversion
//! is `zprsim_control::import` (pure), reading DIR's files
//! `zprsim_dataplane::import_files`; this file checks the arguments, feeds
//! the importer and writes the result beside its target, renamed into
//! place.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zprsim_control::escape::escape;
use zprsim_control::import::oci;
use zprsim_dataplane::import_files::{self, ImportFilesError};
use zprsim_dataplane::output::{OutputFile, Plan, io_message};

use crate::Failure;

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
    let looks = zprsim_dataplane::import_looks::file(path);
    let what = match &looks {
        Err(e) => format!("cannot be read ({})", io_message(e)),
        Ok((l, None)) => l.to_string(),
        Ok((l, Some(c))) => format!("is {} data; decompressed, it {l}", c.name()),
    };
    use zprsim_dataplane::import_looks::Looks;
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
    let paths = import_files::json_files(&a.dir).map_err(failure)?;
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
    import_files::check_total(&a.dir, &paths).map_err(failure)?;
    let from = import_files::by_name(&a.dir, &paths).map_err(failure)?;
    // Each file parsed as it is read, in name order (the importer's), and
    // let go: what is held is the objects taken and one file's text, not
    // every file's (a 10,000-VNIC export's texts were held whole).
    let mut importer = oci::Importer::default();
    let mut taken = 0usize;
    let mut skipped = Vec::new();
    let mut budget = import_files::MAX_TOTAL;
    let mut warn = |w: String| {
        let _ = writeln!(std::io::stderr().lock(), "warning: {w}");
    };
    for (name, p) in &from {
        let text = import_files::read_limited(p, &mut budget, &mut warn).map_err(failure)?;
        // A flow log or the ranges file kept beside the export is no CLI
        // output: each of its objects would be left out with a warning
        // of its own, and a directory of flow logs made an empty scenario.
        match zprsim_dataplane::import_looks::text(import_files::head(&text), false) {
            l @ (zprsim_dataplane::import_looks::Looks::FlowLog
            | zprsim_dataplane::import_looks::Looks::Ranges) => {
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
        .map(|p| import_files::read_limited(p, &mut { import_files::MAX_FILE }, &mut warn))
        .transpose()
        .map_err(failure)?;
    // OCI's ranges file or an object of label to CIDRs. A CLI output (the
    // export's own `network-service-list.json`, named for services) or
    // flow logs left every label empty, with a warning only.
    if let (Some(p), Some(text)) = (&a.services, &services) {
        use zprsim_dataplane::import_looks::Looks;
        let what = match zprsim_dataplane::import_looks::text(import_files::head(text), false) {
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

/// A failure to read DIR's files as the CLI says it (exit 2).
#[allow(clippy::needless_pass_by_value)]
fn failure(e: ImportFilesError) -> Failure {
    Failure::Input(format!("error: {e}"))
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
