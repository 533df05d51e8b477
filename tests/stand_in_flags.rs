//! Stand-in flags set at random on random scenarios (the two review
//! rounds of the nineteenth session wrote this as scratch; the H1 fix's
//! two definitions, one per engine, were held equal only by it): the
//! compiled table and the reference evaluator agree packet by packet
//! (verdict, stage, tracking, audit and the five deciding rules), and the
//! flags never widen: a first packet the same scenario without flags
//! drops stays dropped, no tracking is added, and a reply the flagged
//! scenario lets through, the plain one does too. A mutation of either
//! engine's "rules not all known" (the named NSG's VCN ignored in the
//! compiler, say) fails it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_bench::random::{Shape, address_pool, random_packet, random_scenario_shaped};
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::eval;
use zprsim_control::model::Scenario;
use zprsim_control::verdict::{Context, Verdict};

use crate::support::random_context;

/// Flags NSGs, lists, route tables, subnets and VNICs as stand-ins at
/// random; some stand-in subnets lose their lists and some stand-in VNICs
/// their NSGs, as `zprsim import` leaves them.
fn flag(s: &mut Scenario, rng: &mut ChaCha8Rng) {
    for n in &mut s.nsgs {
        n.stand_in = rng.random_bool(0.2);
    }
    for l in &mut s.security_lists {
        l.stand_in = rng.random_bool(0.2);
    }
    for t in &mut s.route_tables {
        t.stand_in = rng.random_bool(0.2);
    }
    for sn in &mut s.subnets {
        sn.stand_in = rng.random_bool(0.3);
        if sn.stand_in && rng.random_bool(0.3) {
            sn.security_lists.clear();
        }
        // As the loader reads a stand-in subnet that does not say
        // (`security_lists_unknown`, `route_table_unknown`), or, now and
        // then, whatever a scenario says.
        sn.lists_unknown = if rng.random_bool(0.2) {
            rng.random_bool(0.5)
        } else {
            sn.stand_in && sn.security_lists.is_empty()
        };
        sn.table_unknown = if rng.random_bool(0.2) {
            rng.random_bool(0.5)
        } else {
            sn.stand_in && sn.route_table.is_none()
        };
        // Its VNICs not all known (since the twenty-eighth session).
        sn.vnics_unknown = rng.random_bool(0.25);
    }
    for v in &mut s.vnics {
        v.stand_in = rng.random_bool(0.3);
        if v.stand_in && rng.random_bool(0.4) {
            v.nsgs.clear();
        }
    }
}

/// The same scenario with every flag off (the lists and NSGs cleared
/// stay cleared): what the flags alone change.
fn plain(s: &Scenario) -> Scenario {
    let mut p = s.clone();
    p.nsgs.iter_mut().for_each(|n| n.stand_in = false);
    p.security_lists.iter_mut().for_each(|l| l.stand_in = false);
    p.route_tables.iter_mut().for_each(|t| t.stand_in = false);
    p.subnets.iter_mut().for_each(|sn| {
        sn.stand_in = false;
        sn.lists_unknown = false;
        sn.table_unknown = false;
        sn.vnics_unknown = false;
    });
    p.vnics.iter_mut().for_each(|v| v.stand_in = false);
    p
}

#[test]
fn stand_in_flags_agree_in_both_engines_and_never_widen() {
    let seeds = crate::support::seeds("ZPRSIM_STAND_IN_FLAG_SEEDS", 400);
    let (mut first, mut untracked, mut replies, mut narrowed) = (0u64, 0u64, 0u64, 0u64);
    crate::support::no_disagreement(seeds, |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let shape = if seed % 2 == 1 {
            Shape::wide()
        } else {
            Shape::classic()
        };
        let mut s = random_scenario_shaped(&mut rng, &shape);
        flag(&mut s, &mut rng);
        let plain = plain(&s);
        let cfg = if seed / 2 % 2 == 1 {
            Config {
                narrow_cells_from_bytes: 0,
                ..Config::default()
            }
        } else {
            Config::default()
        };
        let c = Compiled::new(&s, &cfg).map_err(|e| format!("compile: {e}"))?;
        let pool = address_pool(&s);
        for i in 0..300 {
            let p = random_packet(&mut rng, &pool);
            let ctx = random_context(&mut rng, 0.6);
            let r = eval::evaluate(&s, &p, ctx);
            let f = c.judge(&p, ctx);
            let fr: Vec<_> = f
                .rules
                .iter()
                .map(|r| r.and_then(|id| c.rule_ref(id)))
                .collect();
            let d = &r.deciders;
            let rr = vec![d.route, d.egress, d.ingress, d.zpr_egress, d.zpr_ingress];
            if (r.judgement, &rr) != (f.judgement, &fr) {
                return Err(format!(
                    "packet {i} {p} {ctx:?}: reference {:?} {rr:?}, table {:?} {fr:?}",
                    r.judgement, f.judgement
                ));
            }
            if ctx != Context::First {
                continue;
            }
            first += 1;
            let pr = eval::evaluate(&plain, &p, ctx);
            let allowed = r.judgement.verdict == Verdict::Allow;
            if allowed && pr.judgement.verdict != Verdict::Allow {
                return Err(format!("{p}: the flags allowed a first packet plain drops"));
            }
            if !allowed || pr.judgement.verdict != Verdict::Allow {
                continue;
            }
            let (t, pt) = (r.judgement.tracking, pr.judgement.tracking);
            if (t.at_src && !pt.at_src)
                || (t.at_dst && !pt.at_dst)
                || t.zpr != pt.zpr
                || t.zpr_audit != pt.zpr_audit
            {
                return Err(format!("{p}: the flags added tracking {t:?} to {pt:?}"));
            }
            untracked += u64::from(t != pt);
            let rev = p.reply();
            let a = eval::evaluate(&s, &rev, Context::Reply(t));
            let fa = c.judge(&rev, Context::Reply(t));
            if a.judgement != fa.judgement {
                return Err(format!(
                    "reply {rev}: reference {:?}, table {:?}",
                    a.judgement, fa.judgement
                ));
            }
            let b = eval::evaluate(&plain, &rev, Context::Reply(pt));
            replies += 1;
            match (a.judgement.verdict, b.judgement.verdict) {
                (Verdict::Allow, Verdict::Allow) | (Verdict::Drop, Verdict::Drop) => {}
                (Verdict::Allow, _) => {
                    return Err(format!("reply {rev}: allowed flagged, dropped plain"));
                }
                (_, Verdict::Allow) => narrowed += 1,
            }
        }
        Ok(())
    });
    eprintln!(
        "{seeds} seeds: {first} first packets, {untracked} untracked by a flag, {replies} replies, {narrowed} narrowed"
    );
    // Coverage: the flags did untrack connections and narrow replies.
    if seeds >= 40 {
        assert!(untracked > 0 && narrowed > 0, "{untracked} {narrowed}");
    }
}
