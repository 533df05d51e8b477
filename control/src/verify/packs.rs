//! Ready packs of required paths, written from Oracle's documentation
//! (`packs/*.toml` at the root of the repository, embedded here so the
//! binary carries them). `docs/verify.md` describes them and how to bind
//! their roles.

/// The built-in packs, by name.
pub const NAMES: [&str; 2] = ["oke", "base-db"];

const OKE: &str = include_str!("../../../packs/oke.toml");
const BASE_DB: &str = include_str!("../../../packs/base-db.toml");

/// The text of a built-in pack.
#[must_use]
pub fn builtin(name: &str) -> Option<&'static str> {
    match name {
        "oke" => Some(OKE),
        "base-db" => Some(BASE_DB),
        _ => None,
    }
}
