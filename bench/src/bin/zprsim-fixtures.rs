//! `zprsim-fixtures DIR`: writes every capture fixture of
//! `zprsim_bench::fixtures` into DIR (the repository keeps them in `pcaps/`).
//!
//! ```text
//! cargo run -p zprsim-bench --bin zprsim-fixtures -- pcaps/
//! ```
//!
//! The bytes depend only on the generator's source: running it again
//! rewrites identical files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use zprsim_bench::fixtures;

#[derive(Debug, Parser)]
#[command(
    name = "zprsim-fixtures",
    about = "Write zprsim's capture fixtures (pcaps/) into a directory"
)]
struct Cli {
    /// Directory to write into (created if missing).
    dir: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match fixtures::write_all(&cli.dir) {
        Ok(paths) => {
            for (p, f) in paths.iter().zip(fixtures::all()) {
                println!("{} ({} bytes): {}", p.display(), f.bytes.len(), f.about);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: `{}`: {e}", cli.dir.display());
            ExitCode::from(2)
        }
    }
}
