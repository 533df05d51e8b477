//! The `zprsim` command line.
fn main() {}
