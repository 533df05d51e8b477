//! Scenario loader (TOML and JSON). Placeholder until the loader lands.

use crate::model::Scenario;

/// A loaded scenario with the warnings the loader produced.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The resolved scenario.
    pub scenario: Scenario,
    /// Warnings (OCI limits exceeded, options ignored, ...).
    pub warnings: Vec<String>,
}

/// Loads a scenario from TOML text.
///
/// # Errors
/// Always, for now.
pub fn from_toml_str(_text: &str, _file: &str) -> Result<Loaded, String> {
    Err("loader not written yet".into())
}
