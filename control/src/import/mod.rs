//! Importing a network from OCI CLI JSON (`zprsim import oci`): pure
//! conversion from file contents to native scenario text. The caller reads
//! the files and writes the result.
//!
//! - [`oci`]: the OCI CLI shapes (`{"data": ...}` envelopes, kebab-case
//!   keys; REST camelCase accepted) to the scenario.
//! - [`names`]: display names made unique and valid.
//! - `layout`: rule lists written inline, as hints are.
//! - `missing`: stand-in subnets for VNICs whose subnet the export lacks.
//! - `stand_in_rules`: stand-in security lists and NSGs (no rule) for the
//!   ones the export lacks.
//! - `unique_ids`: one object per id, where an export uses one for two.

mod layout;
mod missing;
pub mod names;
pub mod oci;
mod stand_in_rules;
mod unique_ids;

use std::collections::BTreeMap;

/// Input: file name to its text.
pub type Files = BTreeMap<String, String>;

/// What an import produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The scenario, as TOML text.
    pub toml: String,
    /// Things that could not be resolved or were guessed, each naming the
    /// object and the OCID.
    pub warnings: Vec<String>,
}

/// An input that cannot be imported at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    /// The file.
    pub file: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// 1-based column, where known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ImportError {}
