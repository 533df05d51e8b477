//! Scale generator: scenarios and captures of a chosen size, reproducible from a seed.

pub mod fixtures;
pub mod flowlogs;
pub mod oci_export;
pub mod oke;
pub mod random;
pub mod scale;
