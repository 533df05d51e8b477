//! One side of a judgement: what the source VNIC enforces (route, egress
//! security, its ZPR check) or what the destination VNIC enforces (ingress
//! security, its ZPR check, and the route layer for a source that is no
//! VNIC), on their own.
//!
//! A VCN flow-log record is written by one VNIC about one direction, and says
//! only what that VNIC did (`oracle.vnicocid`, see the CLI contract's
//! "Flow-log input"). [`Compiled::judge`] decides the whole path and stops at
//! the first layer that denies, so a packet the destination drops tells
//! nothing about the source's ZPR check. [`Compiled::judge_side`] runs the
//! same table reads as [`Compiled::judge_classes`], restricted to one side,
//! and combines them with the connection context the same way (tracking,
//! audit, replies). Tests hold it to the reference evaluator's per-layer
//! report (`control/src/compile/side_tests.rs`).

use crate::packet::Packet;
use crate::verdict::{Context, Stage};

use super::read::Trusted;
use super::table::{
    UNTRACKED, ZprCheck, allowed, before_layers, destination_layer, dropped, source_layers,
    split_context, zpr_step,
};
use super::virtual_router::may_be_dhcp;
use super::{ClassInfo, Compiled, Fast};

/// Which VNIC's enforcement to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The packet's source VNIC: route, egress security, the ZPR egress check.
    Source,
    /// The packet's destination VNIC: ingress security, the ZPR ingress
    /// check; and the route layer when the source is no VNIC (its return
    /// path reads this VNIC's table).
    Destination,
}

impl Compiled {
    /// Judges `p` on what one side enforces. The judgement's `tracking`
    /// holds only that side's part: `at_src` (source) or `at_dst`
    /// (destination), and `zpr`/`zpr_audit` from that side's ZPR check. In
    /// `rules`, the other side's entries are `None` (the route entry is the
    /// destination side's when the source is no VNIC).
    #[must_use]
    pub fn judge_side(&self, p: &Packet, ctx: Context, side: Side) -> Fast {
        let (a, b, svc) = self.classes_of(p);
        let mut rules = [None; 5];
        if (a.flags | b.flags) & ClassInfo::VIRTUAL_ROUTER != 0
            && may_be_dhcp(p)
            && let Some(fast) = self.virtual_router_dhcp(p, a.flags, b.flags)
        {
            return fast;
        }
        if (a.flags | b.flags) & (ClassInfo::EXEMPT | ClassInfo::UNDELIVERABLE) != 0 {
            return before_layers(a, b);
        }
        let (reply, t) = split_context(ctx);
        let mut tracking = UNTRACKED;
        let rd = self.reads::<Trusted>(a, b, svc);
        let (check, me, e) = match side {
            Side::Source => {
                if let Some(stage) = source_layers(a, &rd, reply, t, &mut rules, &mut tracking) {
                    return dropped(stage, rules);
                }
                (ZprCheck::Egress, a, rd.zpr_egress)
            }
            Side::Destination => {
                // A source that is no VNIC (the internet, on-premises, an
                // unassigned address) has no side of its own to judge it:
                // its route check, the return path through this VNIC's
                // route table (semantics §2.1), is this side's. Without it
                // a flow-log record from the internet to a VNIC whose table
                // has no way back was allowed where `explain` dropped it.
                if a.flags & ClassInfo::VNIC == 0 {
                    rules[0] = rd.route.rule();
                    if !rd.route.passes(reply) {
                        return dropped(Stage::Route, rules);
                    }
                }
                if let Some(stage) = destination_layer(b, &rd, reply, t, &mut rules, &mut tracking)
                {
                    return dropped(stage, rules);
                }
                (ZprCheck::Ingress, b, rd.zpr_ingress)
            }
        };
        let mut audit = false;
        if let Some((ok, audited)) = zpr_step(check, me, e, reply, t, &mut rules, &mut tracking) {
            if audited {
                audit = !ok;
            } else if !ok {
                return dropped(Stage::Zpr, rules);
            }
        }
        allowed(reply, audit, tracking, rules)
    }
}
