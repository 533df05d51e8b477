//! Loading a scenario from the file system: the one place where the pure
//! loader of `zprsim-control` meets files (`file = "..."` policy files are
//! read relative to the scenario).

use std::path::{Path, PathBuf};

use zprsim_control::load::{self, Format, LoadError, Loaded, SourceFiles};

/// Reads policy files relative to the scenario's directory.
#[derive(Debug, Clone)]
pub struct FsFiles {
    base: PathBuf,
}

impl FsFiles {
    /// Files relative to `base`.
    #[must_use]
    pub fn new(base: impl Into<PathBuf>) -> Self {
        FsFiles { base: base.into() }
    }
}

impl SourceFiles for FsFiles {
    fn read(&self, relative_path: &str) -> Result<String, String> {
        let path = self.base.join(relative_path);
        let meta = std::fs::metadata(&path).map_err(|e| e.to_string())?;
        if meta.len() > load::MAX_POLICY_FILE_BYTES as u64 {
            return Err(format!(
                "the file is {} bytes long; at most {} bytes are accepted",
                meta.len(),
                load::MAX_POLICY_FILE_BYTES
            ));
        }
        std::fs::read_to_string(&path).map_err(|e| e.to_string())
    }
}

/// Loads a TOML scenario from standard input (`-`), reading at most
/// [`load::MAX_SCENARIO_BYTES`] and one more byte to tell it was too long;
/// `file = "..."` policy files are read relative to the working directory.
#[allow(clippy::result_large_err)]
fn load_stdin() -> Result<Loaded, LoadError> {
    use std::io::Read as _;
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
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(load::MAX_SCENARIO_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(format!("cannot read the scenario from standard input: {e}")))?;
    if bytes.len() > load::MAX_SCENARIO_BYTES {
        return Err(err(format!(
            "the scenario on standard input is longer than {} bytes",
            load::MAX_SCENARIO_BYTES
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        err(format!(
            "byte {}: the scenario is not UTF-8 text",
            e.utf8_error().valid_up_to()
        ))
    })?;
    // JSON when it looks like JSON (an object); TOML otherwise.
    let format = if text.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Toml
    };
    load::load_str(&text, &file, format, &FsFiles::new("."))
}

/// Loads a scenario file (TOML, or JSON when the name ends in `.json`);
/// `-` reads it from standard input.
///
/// # Errors
/// When the file cannot be read or does not load; the error names the file
/// (and line and column where there is one).
#[allow(clippy::result_large_err)]
pub fn load_path(path: &Path) -> Result<Loaded, LoadError> {
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
    if crate::output::is_std(path) {
        return load_stdin();
    }
    let meta =
        std::fs::metadata(path).map_err(|e| io_err(format!("cannot read the scenario: {e}")))?;
    if meta.len() > load::MAX_SCENARIO_BYTES as u64 {
        return Err(io_err(format!(
            "the scenario is {} bytes long; at most {} bytes are accepted",
            meta.len(),
            load::MAX_SCENARIO_BYTES
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| io_err(format!("cannot read the scenario: {e}")))?;
    let format = Format::from_file_name(&file).unwrap_or(Format::Toml);
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    load::load_str(&text, &file, format, &FsFiles::new(base))
}
