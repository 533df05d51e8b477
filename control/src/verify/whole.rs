//! What would open a whole path, not its first failing pair alone: the
//! rules and statements that, added together, open every failing pair.
//!
//! A path from `subnet:workers` whose 40 VNICs sit in three NSGs fails on
//! 40 pairs; the first pair's hints (`fix.rs`, `zpr_fix.rs`) open the pairs
//! of its NSG only, so a user applying them met the next NSG's pairs on
//! the next run, one round per NSG (or per VNIC, when the hint named the
//! address). Here the failing pairs are taken in the order `verify` lists
//! them (source-major), each judged by the reference evaluator on the
//! run's scratch copy *with every hint given so far left in it*
//! ([`Scratch::keep`]); a pair still blocked gets its hints, proven as
//! always, which stay for the pairs after it. So the list is what a user
//! would reach round after round, in one round, and each hint is there
//! because a pair needed it. The copy is the scenario again after
//! ([`Scratch::release`]).
//!
//! Adding a security rule or statement never closes anything (those layers
//! are allow-only; the rules a hint writes are stateful, and a stateless
//! rule that matches wins as before), so only the failing probes of each
//! pair are judged again, and a pair opened stays open. The one stateless
//! rule a hint writes, the rule back of a stateless rule's reply
//! (`reply_fix.rs`, since the twenty-first session), matches replies of
//! what the stateless rule matched; what else it untracks is judged when
//! every path's hints are added together (`together.rs`). A route rule can
//! take over, as the longest match, traffic of a pair opened before it
//! (a table shared by a public and a private subnet); that is not judged
//! again here, but every path's hints together are (`together.rs`), and a
//! path they close is said there. A pair left closed when its turn came
//! may be opened by a later pair's hint (a gateway enabled or made, a
//! route rule): since the nineteenth session the pairs left are judged
//! again once every hint is in, and only those still blocked are left.
//!
//! Bounded: at most [`MAX_PAIRS`] failing pairs and [`MAX_JUDGEMENTS`]
//! judgements per path, and at most [`MAX_HINTS`] hints; the result says
//! how many pairs were checked and how many stay closed (a route that no
//! rule, retarget, new gateway or new route table opens, such as an IPv6
//! address no internet gateway carries; a ZPR drop no statement can be
//! written for).

use super::fix::{Edit, Scratch};
use super::text::blocking;
use super::{PathSpec, Scope};
use crate::model::{AddressIndex, Scenario};
use crate::packet::Packet;
use crate::verdict::Stage;

/// Failing pairs of one path checked at most.
pub const MAX_PAIRS: usize = 1024;
/// Judgements (by the reference evaluator) of one path's pairs at most.
pub const MAX_JUDGEMENTS: usize = 8192;
/// Hints given for one path at most.
pub const MAX_HINTS: usize = 16;

/// The hints that open a whole path, and how far they were checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WholePath {
    /// The rules and statements, in the order the pairs needed them.
    pub to_open: Vec<String>,
    /// Failing pairs judged with them.
    pub checked: u64,
    /// Of those, pairs still failing with every hint added.
    pub left: u64,
    /// Of `left`, pairs whose first packets pass with every hint added
    /// and whose reply drops (since the twenty-first session): no rule
    /// back (`reply_fix.rs`), route back (`route_fix.rs`) or stateful
    /// statement (`zpr_fix.rs`, both since the twenty-second) opens it.
    pub left_replies: u64,
    /// What the hints add to the scenario, in their order.
    pub edits: Vec<Edit>,
    /// The hints of the first pair's first failing probe alone: what
    /// [`super::pair_failure`] gives the path's first failing pair (judged
    /// on the scenario as it is, nothing added yet).
    pub first: Vec<String>,
    /// The layers that still block the first pair left closed, with every
    /// hint added (empty when none is left): those no hint opens.
    pub closed_at: Vec<Stage>,
    /// What the hints say they leave closed of what the path stands for,
    /// though its pairs pass with them (a `service:LABEL` side's CIDR, or
    /// the part of one a longer route rule holds; since the twenty-first
    /// session): the pairs judge one address of the label.
    pub closed_parts: Vec<String>,
}

impl WholePath {
    /// Keeps a pair's hints `given`: the first failing pair's as
    /// [`WholePath::first`] (`first` says whether this is it), each once in
    /// [`WholePath::to_open`].
    fn take(&mut self, given: Vec<String>, first: &mut bool) {
        if *first {
            self.first.clone_from(&given);
            *first = false;
        }
        for h in given {
            if !self.to_open.contains(&h) {
                self.to_open.push(h);
            }
        }
    }
}

/// The hints that together open the failing pairs of `path`: `pairs`, in
/// the order `verify` lists them, each given as its failing probes,
/// judged on `scratch`, a copy of `s` whose address index is `ix`.
/// `scratch` is the scenario again after. `path` `None`: the packets
/// alone, every layer judged (`explain`, [`super::packet_hints`]).
pub fn hints(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: &AddressIndex,
    path: Option<&PathSpec>,
    pairs: impl IntoIterator<Item = Vec<Packet>>,
) -> WholePath {
    hints_with(scratch, s, ix, path, pairs, false)
}

/// [`hints`]; with `packet_replies` and no `path` (`explain`,
/// [`super::packet_hints_with_replies`]; since the twenty-second
/// session), each packet's reply is judged too, where a path would judge
/// it ([`super::replies_by_default`]), and opened by the same hints as a
/// path's.
pub fn hints_with(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: &AddressIndex,
    path: Option<&PathSpec>,
    pairs: impl IntoIterator<Item = Vec<Packet>>,
    packet_replies: bool,
) -> WholePath {
    let replies = Replies {
        path,
        packet: packet_replies,
    };
    let mut out = WholePath::default();
    let mut judged = 0usize;
    // The next probe is the first pair's witness.
    let mut first = true;
    // The pairs left closed when judged, judged again after the loop.
    let mut left: Vec<Vec<Packet>> = Vec::new();
    scratch.keep();
    scratch.take_closed();
    for ps in pairs.into_iter().take(MAX_PAIRS) {
        // The first pair always (its hints are the first failing pair's).
        if out.checked > 0 && judged.saturating_add(ps.len()) > MAX_JUDGEMENTS {
            break;
        }
        judged += ps.len();
        out.checked += 1;
        let mut open = true;
        for p in &ps {
            let mut given = Vec::new();
            let layers = blocked(scratch, s, ix, path, p);
            if !layers.is_empty() {
                if out.to_open.len() < MAX_HINTS {
                    let b = super::Blocked {
                        s,
                        ix: Some(ix),
                        path,
                        p,
                        blocking: &layers,
                    };
                    given = super::hints(scratch, &b);
                }
                if !blocked(scratch, s, ix, path, p).is_empty() {
                    out.take(given, &mut first);
                    open = false;
                    break;
                }
            }
            // Its reply may drop (run.rs `dropped_reply`), once its first
            // packet passes (as it is, or with the hints just given: since
            // the twenty-second session a reply is judged after a first
            // packet's hints too; it was left). Where the first packet
            // passed a security layer by a stateless rule, the rule back
            // (`reply_fix.rs`, since the twenty-first session); since the
            // twenty-second, at route the route back (`route_fix.rs`), at
            // ZPR the stateful statement (`zpr_fix.rs`).
            if let Some(mut stage) = reply_drops(scratch, s, ix, replies, p) {
                // Once per layer at most: a reply untracked at both ends
                // (a stateless rule out at the initiator and one in at
                // the responder) drops at the responder's egress, and
                // with its rule back, at the initiator's ingress (since
                // the twenty-first session; it got the first alone).
                let mut tried: Vec<Stage> = Vec::new();
                while out.to_open.len() + given.len() < MAX_HINTS && !tried.contains(&stage) {
                    tried.push(stage);
                    let h: Vec<String> = match stage {
                        Stage::EgressSecurity | Stage::IngressSecurity => {
                            super::reply_fix::to_open(scratch, s, ix, p)
                                .into_iter()
                                .collect()
                        }
                        Stage::Route => super::route_fix::reply_to_open(scratch, s, ix, path, p)
                            .into_iter()
                            .collect(),
                        Stage::Zpr => super::zpr_reply_fix::reply_to_open(scratch, s, ix, path, p),
                    };
                    if h.is_empty() {
                        break;
                    }
                    given.extend(h);
                    match reply_drops(scratch, s, ix, replies, p) {
                        Some(next) => stage = next,
                        None => break,
                    }
                }
                out.take(given, &mut first);
                if reply_drops(scratch, s, ix, replies, p).is_some() {
                    open = false;
                    break;
                }
            } else {
                out.take(given, &mut first);
            }
        }
        if !open {
            left.push(ps);
        }
    }
    // A later pair's hint may open a pair left closed before it (a route
    // rule, a gateway enabled or made for it): the pairs left are judged
    // again with every hint kept (since the nineteenth session), and those
    // still blocked are the ones left. At most as many as were left.
    for ps in &left {
        let still = ps.iter().find_map(|p| {
            let layers = blocked(scratch, s, ix, path, p);
            if layers.is_empty() {
                reply_drops(scratch, s, ix, replies, p).map(|stage| (vec![stage], true))
            } else {
                Some((layers.iter().map(|l| l.layer).collect(), false))
            }
        });
        if let Some((stages, reply)) = still {
            if out.left == 0 {
                out.closed_at = stages;
            }
            out.left += 1;
            out.left_replies += u64::from(reply);
        }
    }
    out.edits = scratch.release();
    out.closed_parts = scratch.take_closed();
    out
}

/// The stage at which the reply of first packet `p` of `path`, which
/// passes on `scratch` as it is now, drops there: `verify` requires the
/// replies of a path that needs them (run.rs `dropped_reply`: TCP since the
/// twentieth session, UDP and ICMP echo since the twenty-first).
fn reply_drops(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: &AddressIndex,
    replies: Replies<'_>,
    p: &Packet,
) -> Option<Stage> {
    // A path's replies, where it needs them; a packet's alone where a
    // path of it would (`explain`, since the twenty-second session).
    let network = match replies.path {
        Some(path) if !path.replies => return None,
        Some(path) => path.scope == Scope::Network,
        None if replies.packet && super::packet_has_reply(p) => false,
        None => return None,
    };
    let r = super::first_and_reply(scratch.of(s), Some(ix), p)?
        .1
        .judgement;
    match r.stage {
        Some(Stage::Zpr) if network => None,
        stage if r.verdict == crate::verdict::Verdict::Drop => stage,
        _ => None,
    }
}

/// Whose replies [`reply_drops`] judges: a path's, or with no path, the
/// packet's own when `packet`.
#[derive(Clone, Copy)]
struct Replies<'a> {
    path: Option<&'a PathSpec>,
    packet: bool,
}

/// The layers that block `p` on `scratch` as it is now (ZPR left out for a
/// path judged on the network layers).
fn blocked(
    scratch: &mut Scratch,
    s: &Scenario,
    ix: &AddressIndex,
    path: Option<&PathSpec>,
    p: &Packet,
) -> Vec<crate::verdict::LayerReport> {
    let mut layers = blocking(super::layers_of(scratch.of(s), Some(ix), p));
    if path.is_some_and(|path| path.scope == Scope::Network) {
        layers.retain(|l| l.layer != Stage::Zpr);
    }
    layers
}
