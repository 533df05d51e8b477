//! Helpers shared by the test modules.

use rand::Rng;
use zprsim_control::verdict::{Context, Tracking};

/// A random judging context: [`Context::First`] with probability `first`,
/// else a reply with random tracking state. Draws from `rng` in one fixed
/// order, so a seed gives the same stream wherever it is used.
pub fn random_context(rng: &mut impl Rng, first: f64) -> Context {
    if rng.random_bool(first) {
        Context::First
    } else {
        Context::Reply(Tracking {
            at_src: rng.random(),
            at_dst: rng.random(),
            zpr: rng.random(),
            zpr_audit: rng.random(),
        })
    }
}

/// The OKE example's OCI export, file name to text.
pub fn oke_export() -> zprsim_control::import::Files {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/oci-export");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The rules file of the OKE export's load-balancer NSG.
pub const LB_NSG_RULES: &str =
    "network-nsg-rules-list.ocid1.networksecuritygroup.oc1.iad.gen000000.json";

/// How many seeds a property test runs: the environment variable `var`
/// when it holds a number (long runs), else `default` (CI).
pub fn seeds(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `check` on seeds `0..seeds`, stopping after the third failure,
/// and fails the test listing the failures found.
pub fn no_disagreement(seeds: u64, mut check: impl FnMut(u64) -> Result<(), String>) {
    let mut failures = Vec::new();
    for seed in 0..seeds {
        if let Err(e) = check(seed) {
            failures.push(e);
            if failures.len() >= 3 {
                break;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Runs `zprsim ARGS` in `dir` and waits for it: its exit status and
/// outputs.
pub fn run_in<I, S>(dir: impl AsRef<std::path::Path>, args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}
