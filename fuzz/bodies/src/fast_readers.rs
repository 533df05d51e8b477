//! The loader's fast TOML and JSON readers against the `toml` crate and
//! serde_json: whatever text they take, they read as the crates do, spans
//! included (differential; `load::fast_readers_agree`).

/// The body of the `fast_readers` fuzz target.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    assert!(zprsim_control::load::fast_readers_agree(text), "{text:?}");
}
