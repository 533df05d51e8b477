//! Scale generator: scenarios and captures of a chosen size, reproducible from a seed.

pub mod random;
pub mod scale;
pub mod fixtures;
