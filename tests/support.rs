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
