//! One side of a judgement: what the source VNIC enforces (route, egress
//! security, its ZPR check) or what the destination VNIC enforces (ingress
//! security, its ZPR check), on their own.
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
use crate::verdict::{Context, Judgement, Stage, Tracking, Verdict};

use super::{ClassInfo, Compiled, Fast, RouteEntry};

/// Which VNIC's enforcement to judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The packet's source VNIC: route, egress security, the ZPR egress check.
    Source,
    /// The packet's destination VNIC: ingress security, the ZPR ingress check.
    Destination,
}

impl Compiled {
    /// Judges `p` on what one side enforces. The judgement's `tracking`
    /// holds only that side's part: `at_src` (source) or `at_dst`
    /// (destination), and `zpr`/`zpr_audit` from that side's ZPR check. In
    /// `rules`, the other side's entries are `None`.
    #[must_use]
    pub fn judge_side(&self, p: &Packet, ctx: Context, side: Side) -> Fast {
        let cs = self.address_class(p.src);
        let cd = self.address_class(p.dst);
        let svc = self.service_class(p.proto, p.l4);
        let a = self.class_info(cs);
        let b = self.class_info(cd);
        let mut rules = [None; 5];
        let full = Tracking {
            at_src: false,
            at_dst: false,
            zpr: true,
            zpr_audit: true,
        };
        if (a.flags | b.flags) & ClassInfo::EXEMPT != 0 {
            return Fast {
                judgement: Judgement {
                    verdict: Verdict::Allow,
                    stage: None,
                    zpr_audit: false,
                    tracking: full,
                },
                rules,
            };
        }
        let (reply, t) = match ctx {
            Context::First => (false, Tracking::default()),
            Context::Reply(t) => (true, t),
        };
        let drop = |stage, rules| Fast {
            judgement: Judgement {
                verdict: Verdict::Drop,
                stage: Some(stage),
                zpr_audit: false,
                tracking: Tracking::default(),
            },
            rules,
        };
        let mut tracking = full;
        let (profile, peer) = match side {
            Side::Source => {
                let r = RouteEntry(self.route[(a.route * self.n_route + b.route) as usize]);
                rules[0] = r.rule();
                if !r.passes(reply) {
                    return drop(Stage::Route, rules);
                }
                if a.sec_profile != ClassInfo::NONE && !(reply && t.at_dst) {
                    let e = self.egress.lookup(a.sec_profile, b.eg_peer, svc);
                    rules[1] = e.rule();
                    if !e.allowed() {
                        return drop(Stage::EgressSecurity, rules);
                    }
                    tracking.at_src = e.tracks();
                }
                (a.zpr_profile, b.zpr_peer)
            }
            Side::Destination => {
                if b.sec_profile != ClassInfo::NONE && !(reply && t.at_src) {
                    let e = self.ingress.lookup(b.sec_profile, a.in_peer, svc);
                    rules[2] = e.rule();
                    if !e.allowed() {
                        return drop(Stage::IngressSecurity, rules);
                    }
                    tracking.at_dst = e.tracks();
                }
                (b.zpr_profile, a.zpr_peer)
            }
        };
        let mut audit = false;
        if profile != ClassInfo::NONE {
            let info = self.zpr_profiles[profile as usize];
            let tracked = reply && if info.audited { t.zpr_audit } else { t.zpr };
            let (ok, stateful) = if tracked {
                (true, true)
            } else {
                let (layer, slot) = match side {
                    Side::Source => (&self.zpr_egress, 3),
                    Side::Destination => (&self.zpr_ingress, 4),
                };
                let e = layer.lookup(profile, peer, svc);
                rules[slot] = e.rule();
                (e.allowed(), e.tracks())
            };
            if info.audited {
                tracking.zpr_audit &= ok && stateful;
                audit = !ok;
            } else {
                tracking.zpr &= ok && stateful;
                if !ok {
                    return drop(Stage::Zpr, rules);
                }
            }
        }
        if reply {
            tracking = Tracking::default();
        }
        Fast {
            judgement: Judgement {
                verdict: Verdict::Allow,
                stage: None,
                zpr_audit: audit,
                tracking,
            },
            rules,
        }
    }
}
