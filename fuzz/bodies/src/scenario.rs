//! Scenario text (TOML and JSON): the loader returns a scenario or an
//! error, and a loaded scenario compiles or fails with a limit error;
//! never a panic.

use zprsim_control::compile::{Compiled, Config};
use zprsim_control::load::{from_json_str, from_toml_str};

/// The body of the `scenario` fuzz target.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for loaded in [
        from_toml_str(text, "fuzz.toml"),
        from_json_str(text, "fuzz.json"),
    ] {
        match loaded {
            Ok(l) => {
                let cfg = Config {
                    max_table_bytes: 64 << 20,
                    ..Config::default()
                };
                let _ = Compiled::new(&l.scenario, &cfg);
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}
