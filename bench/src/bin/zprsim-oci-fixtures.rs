//! `zprsim-oci-fixtures DIR`: writes the OKE example as OCI would give it
//! to a user, into DIR (the repository keeps them in `examples/oke-orders/`):
//!
//! - `flowlogs/`: its flow logs, made from `pcaps/oke-demo.pcap` by
//!   `zprsim_bench::flowlogs`, as OCI delivers them: JSON lines
//!   (`oke-demo.jsonl`), gzip JSON lines (`oke-demo.jsonl.gz`, a Connector
//!   Hub object) and a JSON array (`oke-demo.json`);
//! - `oci-export/`: the scenario as OCI CLI JSON (`zprsim_bench::oci_export`),
//!   with the file names of `examples/export-oci.sh`;
//! - `oci-public-ip-ranges.json`: its service CIDRs in the shape of OCI's
//!   published ranges file, for `zprsim import oci --services`.
//!
//! Run from the repository root:
//!
//! ```text
//! cargo run -p zprsim-bench --bin zprsim-oci-fixtures -- examples/oke-orders
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use zprsim_bench::{fixtures, flowlogs};
use zprsim_control::compile::{Compiled, Config};

#[derive(Debug, Parser)]
#[command(
    name = "zprsim-oci-fixtures",
    about = "Write the OKE example's OCI flow-log fixtures into a directory"
)]
struct Cli {
    /// Directory to write into (created if missing).
    dir: PathBuf,
}

fn write(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let loaded = zprsim_dataplane::scenario_file::load_path(Path::new(fixtures::OKE))
        .map_err(|e| e.to_string())?;
    let s = &loaded.scenario;
    let c = Compiled::new(s, &Config::default()).map_err(|e| e.to_string())?;
    let demo = fixtures::oke_demo();
    let entries = flowlogs::oke_demo(s, &c, &demo.bytes);
    let root = dir;
    let dir = &root.join("flowlogs");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let lines = flowlogs::json_lines(&entries);
    let array = serde_json::to_string_pretty(&entries).map_err(|e| e.to_string())?;
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(lines.as_bytes()).map_err(|e| e.to_string())?;
    let gz = gz.finish().map_err(|e| e.to_string())?;
    let mut written = Vec::new();
    for (name, bytes) in [
        ("oke-demo.jsonl", lines.into_bytes()),
        ("oke-demo.json", (array + "\n").into_bytes()),
        ("oke-demo.jsonl.gz", gz),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| format!("`{}`: {e}", p.display()))?;
        written.push(p);
    }
    let export = root.join("oci-export");
    std::fs::create_dir_all(&export).map_err(|e| e.to_string())?;
    let (files, _) = zprsim_bench::oci_export::export(s);
    for (name, text) in files {
        let p = export.join(name);
        std::fs::write(&p, text).map_err(|e| format!("`{}`: {e}", p.display()))?;
        written.push(p);
    }
    let p = root.join("oci-public-ip-ranges.json");
    std::fs::write(&p, zprsim_bench::oci_export::oci_ranges(s))
        .map_err(|e| format!("`{}`: {e}", p.display()))?;
    written.push(p);
    Ok(written)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match write(&cli.dir) {
        Ok(paths) => {
            for p in paths {
                println!("{}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
