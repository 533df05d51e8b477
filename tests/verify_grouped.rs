//! `verify` judges once per pair of address classes; these tests hold it
//! to a plain pair-by-pair expansion (the oracle below, written without
//! classes: every endpoint pair, every port run, both engines), on random
//! scenarios with VNICs cloned so that classes hold many endpoints.

use std::collections::BTreeSet;
use std::net::IpAddr;

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_bench::random::{Shape, address_pool_shaped, random_scenario_shaped};
use zprsim_control::agree::judge_both;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::ids::{NsgId, ServiceId, SubnetId, VnicId};
use zprsim_control::model::{PortRange, Scenario, proto};
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Stage, Verdict};
use zprsim_control::verify::{
    self, Expect, Limits, Location, PathResult, PathSpec, Probe, Report, Scope, Selector, selector,
};

/// Whether a judgement meets an expectation (docs/verify.md, "Scope").
fn meets(expect: Expect, scope: Scope, verdict: Verdict, stage: Option<Stage>) -> bool {
    let open = verdict == Verdict::Allow || (scope == Scope::Network && stage == Some(Stage::Zpr));
    (expect == Expect::Allow) == open
}

/// Failing runs written `lo-hi`, adjacent runs joined.
fn joined(runs: &[(u16, u16)]) -> Vec<String> {
    let mut m: Vec<(u16, u16)> = Vec::new();
    for &(lo, hi) in runs {
        match m.last_mut() {
            Some(l) if u32::from(l.1) + 1 == u32::from(lo) => l.1 = hi,
            _ => m.push((lo, hi)),
        }
    }
    m.into_iter()
        .map(|(lo, hi)| {
            if lo == hi {
                lo.to_string()
            } else {
                format!("{lo}-{hi}")
            }
        })
        .collect()
}

fn blank(path: &PathSpec) -> PathResult {
    PathResult {
        name: path.name.clone(),
        expect: path.expect,
        scope: path.scope,
        ok: false,
        skipped: false,
        from: path.from_text.clone(),
        to: path.to_text.clone(),
        pairs: 0,
        probes: 0,
        class_pairs: 0,
        failed_pairs: 0,
        audit_would_deny: 0,
        audit_witness: None,
        why: path.why.clone(),
        error: None,
        failed: Vec::new(),
        to_open: Vec::new(),
        to_open_checked: 0,
        to_open_left: 0,
        to_open_left_replies: 0,
        stand_ins: Vec::new(),
        notes: Vec::new(),
        to_open_edits: Vec::new(),
        to_keep_open_edits: Vec::new(),
        to_open_closed: Vec::new(),
        to_keep_open: Vec::new(),
        to_keep_open_checked: 0,
        to_keep_open_left: 0,
    }
}

/// The reply to a path's probe `p` (docs/verify.md, "Replies"): addresses
/// and ports swapped, an echo request answered by an echo reply. Written
/// here, not `Packet::reply`, so that the oracle shares nothing of
/// `verify`'s join of a first packet and its reply.
fn answer(p: &Packet) -> Packet {
    let l4 = match p.l4 {
        L4::Ports { sport, dport } => L4::Ports {
            sport: dport,
            dport: sport,
        },
        L4::Icmp { icmp_type, code } => L4::Icmp {
            icmp_type: match (p.proto, icmp_type) {
                (proto::ICMP, 8) => 0,
                (proto::ICMPV6, 128) => 129,
                (_, t) => t,
            },
            code,
        },
        other => other,
    };
    Packet {
        src: p.dst,
        dst: p.src,
        proto: p.proto,
        l4,
    }
}

/// The failure of a pair whose probe `first` passes and whose reply drops,
/// as docs/verify.md words it, from the reference's judgement `d` of the
/// reply: the reply is the witness, flagged `reply`, decided by the layer
/// that dropped it (not `verify::reply_failure`: a bug there, in the
/// flag above all, would be the oracle's too).
fn reply_failed(first: &Packet, d: &zprsim_control::verdict::Decision) -> verify::PairFailure {
    let j = d.judgement;
    let decided = d
        .layers
        .iter()
        .find(|l| Some(l.layer) == j.stage)
        .map(verify::layer_text)
        .unwrap_or_default();
    verify::PairFailure {
        src: first.src,
        dst: first.dst,
        packet: format!("{} (the reply of {first}, which passes)", answer(first)),
        failing_ports: Vec::new(),
        failing_runs: Vec::new(),
        verdict: j.verdict,
        stage: j.stage,
        // As docs/verify.md words each protocol's (since the
        // twenty-eighth session: a UDP or echo reply "would drop").
        rule: match first.proto {
            proto::TCP => {
                format!("the reply drops: {decided}: the connection cannot complete")
            }
            proto::UDP => {
                format!("the reply would drop: {decided}: the request passes but gets no response")
            }
            _ => format!(
                "the echo reply would drop: {decided}: the echo request passes but gets no echo reply"
            ),
        },
        blocked_by: vec![format!("reply: {decided}")],
        to_open: Vec::new(),
        reply: true,
    }
}

/// The oracle: every endpoint pair, in source-major expansion order, every
/// port run, judged by both engines; the first `kept` failing pairs listed.
/// `class_pairs` is left 0 (the oracle knows no classes).
fn plain(s: &Scenario, c: &Compiled, paths: &[PathSpec], kept: usize) -> Report {
    let mut out = Vec::new();
    for path in paths {
        let mut r = blank(path);
        if path.skipped {
            r.ok = true;
            r.skipped = true;
            out.push(r);
            continue;
        }
        let srcs = selector::expand(s, &path.from);
        let dsts = selector::expand(s, &path.to);
        if srcs.is_empty() || dsts.is_empty() {
            let e = if srcs.is_empty() {
                &path.from_text
            } else {
                &path.to_text
            };
            r.error = Some(format!("`{e}` matches no endpoint"));
            out.push(r);
            continue;
        }
        let runs: Vec<Option<(u16, u16)>> = match path.probe {
            // The runs of the reply's classes too, where replies are
            // judged: `port_runs` alone cut by the first packet's.
            Probe::Ports { sport, dport } => verify::path_port_runs(
                c,
                path.proto,
                sport,
                dport,
                path.expect == verify::Expect::Allow && path.replies,
            )
            .into_iter()
            .map(Some)
            .collect(),
            _ => vec![None],
        };
        // Every failing pair's failing probes, in order: what the hints
        // for the whole path are checked on.
        let mut failing_probes: Vec<Vec<Packet>> = Vec::new();
        // And every pair's probes `audit` attributes would deny once
        // enforced: what keeps them open.
        let mut audited_probes: Vec<Vec<Packet>> = Vec::new();
        for &a in &srcs {
            for &b in &dsts {
                let family = a.is_ipv4() == b.is_ipv4()
                    && match path.proto {
                        proto::ICMP => a.is_ipv4(),
                        proto::ICMPV6 => a.is_ipv6(),
                        _ => true,
                    };
                if a == b || !family {
                    continue;
                }
                r.pairs += 1;
                let mut first = None;
                let mut failing = Vec::new();
                let mut marked = Vec::new();
                let mut probes = Vec::new();
                let mut audited = Vec::new();
                for run in &runs {
                    let l4 = match (path.probe, run) {
                        (Probe::Ports { sport, .. }, Some((lo, _))) => {
                            L4::Ports { sport, dport: *lo }
                        }
                        (Probe::Icmp { icmp_type, code }, _) => L4::Icmp { icmp_type, code },
                        _ => L4::Opaque,
                    };
                    let p = Packet {
                        src: a,
                        dst: b,
                        proto: path.proto,
                        l4,
                    };
                    r.probes += 1;
                    let d = judge_both(s, c, &p, Context::First).unwrap();
                    let mut j = d.judgement;
                    // A path that needs its replies (TCP, UDP, ICMP echo)
                    // fails where its first packet passes and its reply
                    // drops.
                    let mut reply = None;
                    if path.expect == verify::Expect::Allow
                        && path.replies
                        && j.verdict == Verdict::Allow
                    {
                        let r = judge_both(s, c, &answer(&p), Context::Reply(j.tracking)).unwrap();
                        if !meets(
                            verify::Expect::Allow,
                            path.scope,
                            r.judgement.verdict,
                            r.judgement.stage,
                        ) {
                            j = r.judgement;
                            reply = Some(r);
                        }
                    }
                    if reply.is_none() && meets(path.expect, path.scope, j.verdict, j.stage) {
                        if j.verdict == Verdict::Allow && j.zpr_audit {
                            r.audit_would_deny += 1;
                            audited.push(p);
                            // The first such pair and port, as `verify`
                            // reports it.
                            if r.audit_witness.is_none() {
                                r.audit_witness = Some(verify::audit_witness(s, path, &p, &d));
                            }
                        }
                        continue;
                    }
                    if let Some(run) = run {
                        failing.push(*run);
                        marked.push((*run, j.stage, reply.is_some()));
                    }
                    probes.push(p);
                    if first.is_none() {
                        first = Some(match &reply {
                            Some(r) => reply_failed(&p, r),
                            None => verify::pair_failure(s, path, &p, &d),
                        });
                    }
                }
                if !audited.is_empty() {
                    audited_probes.push(audited);
                }
                if let Some(mut f) = first {
                    f.failing_ports = joined(&failing);
                    f.failing_runs = verify::failing_runs(&marked);
                    // The rules that would open it: for a path's first
                    // failing pair only, as `verify` gives them.
                    if !r.failed.is_empty() {
                        f.to_open.clear();
                    }
                    r.failed_pairs += 1;
                    failing_probes.push(probes);
                    if r.failed.len() < kept {
                        r.failed.push(f);
                    }
                }
            }
        }
        if r.pairs == 0 {
            let mut e = blank(path);
            e.error = Some(format!(
                "`{}` and `{}` give no pair of two addresses of one family that fits the protocol",
                path.from_text, path.to_text
            ));
            out.push(e);
            continue;
        }
        r.ok = r.failed_pairs == 0;
        if path.expect == verify::Expect::Allow && !r.ok {
            let w = verify::path_hints(s, path, failing_probes);
            // A reply's hint (the rule back of a stateless rule) is the
            // whole path's first.
            if let Some(f) = r.failed.first_mut()
                && f.reply
            {
                f.to_open.clone_from(&w.first);
            }
            r.set_whole(w);
        }
        if path.scope == Scope::All && r.audit_would_deny > 0 {
            r.set_keep_open(verify::path_keep_open(s, path, audited_probes));
        }
        out.push(r);
    }
    Report {
        failed: out.iter().filter(|p| !p.ok).count(),
        skipped: out.iter().filter(|p| p.skipped).count(),
        paths: out,
        internet: selector::internet_addresses(s),
        interrupted: false,
        stopped_by: None,
        hints_together: None,
    }
}

/// Adds copies of some VNICs (same subnet, NSGs, attributes, route
/// table; a new name and free IPv4 addresses of the subnet), so that an
/// address class holds several VNICs whose names the failure texts show.
pub(crate) fn clone_vnics(rng: &mut ChaCha8Rng, s: &mut Scenario) {
    let mut used: BTreeSet<IpAddr> = s.vnics.iter().flat_map(|v| v.private_ips.clone()).collect();
    let n = s.vnics.len();
    for i in 0..n {
        if !rng.random_bool(0.5) {
            continue;
        }
        let v = s.vnics[i].clone();
        let Some(net) = s.subnets[v.subnet.index()]
            .cidrs
            .iter()
            .find(|c| c.network().is_ipv4())
            .copied()
        else {
            continue;
        };
        for k in 0..rng.random_range(1..=3) {
            let free = net
                .hosts()
                .skip(rng.random_range(0..8))
                .find(|ip| !used.contains(ip));
            let Some(ip) = free else { break };
            used.insert(ip);
            let mut w = v.clone();
            w.name = format!("{}-copy{k}", v.name);
            w.id = None;
            w.private_ips = vec![ip];
            s.vnics.push(w);
        }
    }
}

/// A random selector of the scenario, with its text.
fn random_selector(rng: &mut ChaCha8Rng, s: &Scenario, pool: &[IpAddr]) -> (Selector, String) {
    loop {
        let pick = rng.random_range(0..9);
        let sel = match pick {
            0 => {
                let i = rng.random_range(0..s.subnets.len());
                Selector::Subnet(SubnetId::new(i).unwrap())
            }
            1 if !s.nsgs.is_empty() => {
                let i = rng.random_range(0..s.nsgs.len());
                Selector::Nsg(NsgId::new(i).unwrap())
            }
            2 => {
                let i = rng.random_range(0..s.vnics.len());
                Selector::Vnic(VnicId::new(i).unwrap())
            }
            3 => {
                let attrs: Vec<_> = s
                    .vnics
                    .iter()
                    .flat_map(|v| v.attributes.iter().map(|a| a.attribute.clone()))
                    .collect();
                match attrs.choose(rng) {
                    Some(a) => Selector::Attr(a.clone()),
                    None => continue,
                }
            }
            4 => {
                let cidrs: Vec<_> = s.vcns.iter().flat_map(|v| v.cidr_blocks.clone()).collect();
                match cidrs.choose(rng) {
                    Some(n) => Selector::Cidr(*n),
                    None => continue,
                }
            }
            5 => Selector::Internet,
            6 if !s.services.is_empty() => {
                let i = rng.random_range(0..s.services.len());
                if s.services[i].cidrs.is_empty() {
                    continue;
                }
                Selector::Service(ServiceId::new(i).unwrap())
            }
            7 => Selector::Addr(pool[rng.random_range(0..pool.len())]),
            8 => {
                let (a, _) = random_selector(rng, s, pool);
                let (b, _) = random_selector(rng, s, pool);
                Selector::Union(vec![a, b])
            }
            _ => continue,
        };
        let text = format!("{sel:?}");
        return (sel, text);
    }
}

pub(crate) fn random_path(
    rng: &mut ChaCha8Rng,
    s: &Scenario,
    pool: &[IpAddr],
    i: usize,
) -> PathSpec {
    let (from, from_text) = random_selector(rng, s, pool);
    let (to, to_text) = random_selector(rng, s, pool);
    let ports = [0u16, 22, 53, 80, 443, 1521, 2049, 6443, 8080, 40000, 65535];
    let (protocol, probe) = match rng.random_range(0..10) {
        0..=5 => {
            let protocol = if rng.random_bool(0.6) {
                proto::TCP
            } else {
                proto::UDP
            };
            let a = *ports.choose(rng).unwrap();
            let b = *ports.choose(rng).unwrap();
            let dport = match rng.random_range(0..4) {
                0 => PortRange { min: a, max: a },
                1 => PortRange { min: 1, max: 65535 },
                _ => PortRange {
                    min: a.min(b),
                    max: a.max(b),
                },
            };
            let sport = *[49152u16, 53, 1521, 40000].choose(rng).unwrap();
            (protocol, Probe::Ports { sport, dport })
        }
        6 => (
            proto::ICMP,
            Probe::Icmp {
                icmp_type: *[8u8, 3].choose(rng).unwrap(),
                code: *[0u8, 4].choose(rng).unwrap(),
            },
        ),
        7 => (
            proto::ICMPV6,
            Probe::Icmp {
                icmp_type: 128,
                code: 0,
            },
        ),
        _ => (*[50u8, 132].choose(rng).unwrap(), Probe::Opaque),
    };
    PathSpec {
        name: format!("p{i}"),
        location: Location {
            file: "random".into(),
            line: None,
            column: None,
        },
        from,
        to,
        from_text,
        to_text,
        proto: protocol,
        probe,
        expect: if rng.random_bool(0.5) {
            Expect::Allow
        } else {
            Expect::Deny
        },
        scope: if rng.random_bool(0.7) {
            Scope::All
        } else {
            Scope::Network
        },
        why: None,
        skipped: rng.random_bool(0.05),
        replies: verify::replies_by_default(protocol, probe),
    }
}

/// What the seeds covered, so the test means something.
#[derive(Debug, Default)]
struct Coverage {
    paths: usize,
    grouped: usize,
    truncated: usize,
    audit: usize,
    /// Paths whose audit witness has a statement that keeps it open.
    audit_hints: usize,
    /// Failing pairs with a ZPR statement that opens them.
    zpr_hints: usize,
    texts_differ: usize,
    no_pair: usize,
}

#[test]
fn grouped_verify_equals_the_plain_pair_by_pair_expansion() {
    let seeds = crate::support::seeds("ZPRSIM_VERIFY_SEEDS", 100);
    let mut cov = Coverage::default();
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let shape = match seed % 3 {
            0 => Shape::classic(),
            1 => Shape::wide(),
            _ => Shape::edges(),
        };
        // Every other seed also makes TCP/UDP rules stateless with source
        // ports (the twenty-first session's H1 shape; since the
        // twenty-second session).
        let shape = Shape {
            stateless_sport: if seed % 2 == 1 { 0.3 } else { 0.0 },
            ..shape
        };
        let mut s = random_scenario_shaped(&mut rng, &shape);
        clone_vnics(&mut rng, &mut s);
        let c = Compiled::new(&s, &Config::default()).unwrap();
        let pool = address_pool_shaped(&s, &shape);
        let paths: Vec<PathSpec> = (0..8)
            .map(|i| random_path(&mut rng, &s, &pool, i))
            .collect();
        let kept = *[1usize, 2, 5, 100].choose(&mut rng).unwrap();
        let limits = Limits {
            max_failures_kept: kept,
            ..Limits::default()
        };
        let mut got = verify::run(&s, &c, &paths, &limits).unwrap();
        let want = plain(&s, &c, &paths, kept);
        for p in &mut got.paths {
            assert!(p.class_pairs <= p.pairs, "seed {seed} {}: {p:?}", p.name);
            cov.paths += 1;
            cov.grouped += usize::from(p.class_pairs < p.pairs);
            cov.truncated +=
                usize::from(p.failed_pairs > p.failed.len() as u64 && p.failed.len() > 1);
            cov.audit += usize::from(p.audit_would_deny > 0);
            cov.audit_hints += usize::from(
                p.audit_witness
                    .as_ref()
                    .is_some_and(|w| !w.to_open.is_empty()),
            );
            cov.zpr_hints += p
                .failed
                .iter()
                .filter(|f| f.to_open.iter().any(|o| o.starts_with("zpr:")))
                .count();
            cov.no_pair += usize::from(p.error.is_some());
            // Two listed pairs of one class pair whose texts differ: the
            // texts are per pair, not per class.
            let classes =
                |f: &verify::PairFailure| (c.address_class(f.src), c.address_class(f.dst));
            let differ = p.failed.iter().enumerate().any(|(i, f)| {
                p.failed[..i].iter().any(|e| {
                    classes(e) == classes(f) && (e.rule != f.rule || e.blocked_by != f.blocked_by)
                })
            });
            cov.texts_differ += usize::from(differ);
            p.class_pairs = 0;
        }
        assert_eq!(
            serde_json::to_string_pretty(&got).unwrap(),
            serde_json::to_string_pretty(&want).unwrap(),
            "seed {seed}"
        );
    }
    // The comparison means something only if these occur.
    eprintln!("{cov:?}");
    assert!(cov.grouped * 3 >= cov.paths, "{cov:?}");
    assert!(cov.truncated >= 5, "{cov:?}");
    assert!(cov.audit >= 3, "{cov:?}");
    assert!(cov.audit_hints >= 1, "{cov:?}");
    assert!(cov.zpr_hints >= 10, "{cov:?}");
    assert!(cov.texts_differ >= 3, "{cov:?}");
    assert!(cov.no_pair >= 1, "{cov:?}");
}

/// A path whose replies drop, for sure: the random scenarios above give
/// one rarely (a reply-flag bug planted in `verify` was caught only at 331
/// seeds). Stateless rules for TCP 8080 only: the first packets to 8080
/// pass both ways, their replies (from 8080, to the probe's source port)
/// drop at the answering VNIC's egress; the ports around drop at the
/// source's egress, first packets. `verify` equals the oracle, and says
/// which failures are replies, per pair and per run.
#[test]
fn a_path_whose_replies_drop_flags_them_as_the_oracle_does() {
    // A stateless TCP 8080 rule, `peer` the source or the destination.
    let rule = |peer: &str| {
        format!(
            "{{ protocol = \"6\", {peer} = \"10.0.0.0/16\", is_stateless = true, tcp_options = {{ destination_port_range = {{ min = 8080, max = 8080 }} }} }}"
        )
    };
    let text = format!(
        "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n\
         [[security_list]]\nname = \"sl\"\nvcn = \"v\"\n\
         ingress_security_rules = [{}]\negress_security_rules = [{}]\n\
         [[subnet]]\nname = \"s\"\nvcn = \"v\"\ncidr_block = \"10.0.1.0/24\"\nsecurity_lists = [\"sl\"]\n\
         [[vnic]]\nname = \"a\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.10\", \"10.0.1.12\"]\n\
         [[vnic]]\nname = \"b\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.1.11\"]\n",
        rule("source"),
        rule("destination"),
    );
    let s = zprsim_control::load::from_toml_str(&text, "s.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let limits = Limits::default();
    let ex = "[[path]]\nname = \"one\"\nfrom = \"vnic:a\"\nto = \"vnic:b\"\nproto = \"tcp\"\ndport = 8080\nexpect = \"allow\"\n\
              [[path]]\nname = \"range\"\nfrom = \"vnic:a\"\nto = \"vnic:b\"\nproto = \"tcp\"\ndport = \"8000-8100\"\nexpect = \"allow\"\n";
    let paths = verify::read(&s, ex, "e.toml", &zprsim_control::load::NoFiles, &limits).unwrap();
    let got = verify::run(&s, &c, &paths, &limits).unwrap();
    let want = plain(&s, &c, &paths, limits.max_failures_kept);
    let mut got_plain = got.clone();
    for p in &mut got_plain.paths {
        p.class_pairs = 0;
    }
    assert_eq!(
        serde_json::to_string_pretty(&got_plain).unwrap(),
        serde_json::to_string_pretty(&want).unwrap()
    );
    // Both pairs (a's two addresses) fail by their replies on 8080.
    let one = &got.paths[0];
    assert_eq!((one.pairs, one.failed_pairs), (2, 2));
    for f in &one.failed {
        assert!(f.reply, "{f:?}");
        assert_eq!(f.stage, Some(Stage::EgressSecurity), "{f:?}");
        assert!(
            f.packet.starts_with("tcp 10.0.1.11:8080 -> 10.0.1."),
            "{}",
            f.packet
        );
    }
    // The range: first packets drop around 8080, the reply at 8080.
    let runs: Vec<(String, bool)> = got.paths[1].failed[0]
        .failing_runs
        .iter()
        .map(|r| (r.ports.clone(), r.reply))
        .collect();
    assert_eq!(
        runs,
        [
            ("8000-8079".to_owned(), false),
            ("8080".to_owned(), true),
            ("8081-8100".to_owned(), false)
        ]
    );
    assert!(!got.paths[1].failed[0].reply);
}

/// Loads a generated OKE cluster (`zprsim_bench::oke`; its policy file is
/// the example's) and runs the example's expectations.
fn oke_cluster(text: &str, kept: usize) -> (Scenario, Report) {
    let files = zprsim_dataplane::scenario_file::FsFiles::new(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders"),
    );
    let loaded = zprsim_control::load::load_str(
        text,
        "scenario.toml",
        zprsim_control::load::Format::Toml,
        &files,
    )
    .unwrap();
    let s = loaded.scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let limits = Limits {
        max_failures_kept: kept,
        ..Limits::default()
    };
    let paths = verify::read(
        &s,
        zprsim_bench::oke::EXPECT,
        "expect.toml",
        &files,
        &limits,
    )
    .unwrap();
    let r = verify::run(&s, &c, &paths, &limits).unwrap();
    (s, r)
}

fn path<'a>(r: &'a Report, name: &str) -> &'a PathResult {
    r.paths.iter().find(|p| p.name == name).unwrap()
}

/// A real cluster's size: 250 dual-stack nodes (500 addresses, so 124,500
/// node-to-node pairs, which the old per-pair limit of 100,000 refused)
/// and 3,000 pod IPs. Every path of the `oke` pack and the example's own
/// is judged, with the counts a pair-by-pair expansion would give.
#[test]
fn an_oke_cluster_of_250_dual_stack_nodes_is_verified_whole() {
    let (nodes, pods) = (250u64, 3_000u64);
    let text = zprsim_bench::oke::scenario(nodes as usize, pods as usize).unwrap();
    let (_, r) = oke_cluster(&text, 100);
    assert_eq!(
        r.failed,
        0,
        "{:?}",
        r.paths.iter().filter(|p| !p.ok).collect::<Vec<_>>()
    );
    assert_eq!(r.paths.len(), 36);
    // Every tenth pod VNIC (31 pod IPs each) runs billing.
    let vnics = pods.div_ceil(31);
    let billing: u64 = (0..vnics)
        .filter(|m| m % 10 == 9)
        .map(|m| (pods - m * 31).min(31))
        .sum();
    let want: [(&str, u64); 12] = [
        // IPv4 to IPv4 and IPv6 to IPv6, never across, never a node to itself.
        ("oke/workers-to-workers-tcp", 2 * nodes * (nodes - 1)),
        ("oke/workers-to-workers-udp", 2 * nodes * (nodes - 1)),
        ("oke/pods-to-pods-tcp", pods * (pods - 1)),
        // Pods are IPv4 only: the nodes' IPv6 addresses have no peer.
        ("oke/workers-to-pods-tcp", nodes * pods),
        ("oke/pods-to-workers-tcp", pods * nodes),
        ("oke/workers-to-api-6443", nodes),
        ("oke/fss-tcp-111", nodes + pods),
        // `internet` has an IPv6 address too (the VCN has an IPv6 CIDR).
        ("oke/internet-to-kubelet", 2 * nodes),
        ("oke/internet-to-pods", pods),
        ("lb-to-orders-api", pods - billing),
        ("billing-to-orders-data", billing),
        ("nodes-to-internet", 2 * nodes),
    ];
    for (name, pairs) in want {
        let p = path(&r, name);
        assert_eq!(p.pairs, pairs, "{name}");
        assert!(p.probes >= p.pairs, "{name}");
    }
    // The work is per pair of classes: the nodes are one class per family.
    assert_eq!(path(&r, "oke/workers-to-workers-tcp").class_pairs, 2);
    assert!(path(&r, "oke/pods-to-pods-tcp").class_pairs <= 4);
}

/// The same cluster with the nodes' NSG no longer admitting the other
/// nodes: every node-to-node pair fails and is counted; the first 100 are
/// listed in source-major order, each with its own witness and its own
/// deciding rule text (the VNIC it names is the pair's destination).
#[test]
fn a_broken_rule_on_the_oke_cluster_lists_each_pair_with_its_own_text() {
    let rule = "  { direction = \"INGRESS\", protocol = \"all\", source = \"nodes-nsg\", source_type = \"NETWORK_SECURITY_GROUP\" },\n";
    let text = zprsim_bench::oke::scenario(250, 600).unwrap();
    let at = text.find("name = \"nodes-nsg\"").unwrap();
    let (head, tail) = text.split_at(at);
    assert!(tail.contains(rule));
    let text = format!("{head}{}", tail.replacen(rule, "", 1));
    let (s, r) = oke_cluster(&text, 100);
    let p = path(&r, "oke/workers-to-workers-tcp");
    assert!(!p.ok);
    assert_eq!(p.failed_pairs, 2 * 250 * 249);
    assert_eq!(p.failed.len(), 100);
    // worker-0's IPv4 address to worker-1 .. worker-100's.
    for (k, f) in p.failed.iter().enumerate() {
        let dst = format!("10.0.64.{}", 11 + k);
        assert_eq!(f.src.to_string(), "10.0.64.10");
        assert_eq!(f.dst.to_string(), dst);
        assert_eq!(f.packet, format!("tcp 10.0.64.10:49152 -> {dst}:1"));
        assert_eq!(f.stage, Some(Stage::IngressSecurity));
        let vnic = &s.vnics[s
            .vnics
            .iter()
            .position(|v| v.private_ips.contains(&f.dst))
            .unwrap()]
        .name;
        assert_eq!(vnic, &format!("worker-{}", k + 1));
        assert!(
            f.rule
                .starts_with(&format!("ingress-security DENIED: at VNIC `{vnic}`")),
            "{}",
            f.rule
        );
    }
}

/// A hostile expectations file: wide CIDRs over a scenario where every
/// VNIC is a class of its own, over every port of a scenario that cuts
/// ports finely. Refused by the judgement limit before anything is judged
/// (the stop request, looked at before each path is judged, is never
/// looked at), with the numbers in the message; and a low endpoint limit
/// refuses the expansion itself.
#[test]
fn a_hostile_expectations_file_is_refused_before_any_judgement() {
    use std::fmt::Write as _;
    let mut sc = String::from(
        "[[vcn]]\nname = \"v\"\ncidr_blocks = [\"10.0.0.0/16\"]\n[[nsg]]\nname = \"n\"\nvcn = \"v\"\nrules = [\n",
    );
    // 200 single-port rules: about 400 port runs over 1-65535.
    for i in 0..200 {
        let port = 1000 + 7 * i;
        let _ = writeln!(
            sc,
            "  {{ direction = \"INGRESS\", protocol = \"6\", source = \"10.0.0.0/16\", tcp_options = {{ destination_port_range = {{ min = {port}, max = {port} }} }} }},"
        );
    }
    sc.push_str("]\n[[subnet]]\nname = \"s\"\nvcn = \"v\"\ncidr_block = \"10.0.0.0/16\"\n");
    for i in 0..2_000 {
        let _ = write!(
            sc,
            "[[vnic]]\nname = \"n{i}\"\nsubnet = \"s\"\nprivate_ips = [\"10.0.{}.{}\"]\nnsgs = [\"n\"]\nsecurity_attributes = {{ app = {{ id = {{ value = \"n{i}\" }} }} }}\n",
            i / 200 + 1,
            i % 200 + 10
        );
    }
    let s = zprsim_control::load::from_toml_str(&sc, "s.toml")
        .unwrap()
        .scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    let mut ex = String::new();
    for i in 0..50 {
        let _ = write!(
            ex,
            "[[path]]\nname = \"p{i}\"\nfrom = \"10.0.0.0/8\"\nto = \"10.0.0.0/16\"\nproto = \"tcp\"\ndport = \"1-65535\"\nexpect = \"deny\"\n"
        );
    }
    let limits = Limits::default();
    let paths = verify::read(&s, &ex, "e.toml", &zprsim_control::load::NoFiles, &limits).unwrap();
    let runs =
        verify::port_runs(&c, proto::TCP, 49152, PortRange { min: 1, max: 65535 }).len() as u64;
    assert!(runs > 300, "{runs}");
    let looks = std::cell::Cell::new(0);
    let stop = || {
        looks.set(looks.get() + 1);
        false
    };
    // 2,000 classes on each side: 4,000,000 class pairs (+ 16 sampled) at
    // every run of the first path already.
    let job = |limits| verify::Job {
        scenario: &s,
        compiled: &c,
        paths: &paths,
        limits,
        stop: &stop,
    };
    let err = verify::run_until(&job(&limits)).unwrap_err();
    assert_eq!(
        err,
        verify::RunError::Limit(format!(
            "e.toml:1:1: error: path `p0` brings the judgements to {} (limit 2000000; one per pair of address classes, or sampled pair, and port run, over every path): narrow `from`, `to` or the ports",
            (4_000_000 + 16) * runs
        ))
    );
    assert_eq!(looks.get(), 0);
    let few = Limits {
        max_endpoints: 3_000,
        ..Limits::default()
    };
    let err = verify::run_until(&job(&few)).unwrap_err();
    assert_eq!(
        err,
        verify::RunError::Limit(
            "e.toml:1:1: error: path `p0`: the selectors expand to over 3000 addresses in all (each distinct selector counted once; the limit): narrow `from` or `to`".into()
        )
    );
    assert_eq!(looks.get(), 0);
}

/// A path's `to_open` (the hints for every failing pair, `whole.rs`) says
/// what it opens: with its rules and statements added to the scenario
/// (`verify::fix::apply`, what a user applying them as written does), the
/// scenario compiled again and the path judged again by `verify`, the
/// pairs still failing are exactly the `to_open_left` it announced (when
/// it checked every failing pair). Random scenarios and paths, so the
/// hints meet address classes they split, NSG peers, subnets, CIDRs,
/// services and the internet.
#[test]
fn a_paths_hints_added_leave_exactly_the_pairs_they_say() {
    let seeds = crate::support::seeds("ZPRSIM_VERIFY_SEEDS", 100) * 2 / 5;
    let (mut checked, mut opened_all, mut beyond_first, mut routes) = (0, 0, 0, 0);
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let shape = match seed % 3 {
            0 => Shape::classic(),
            1 => Shape::wide(),
            _ => Shape::edges(),
        };
        let mut s = random_scenario_shaped(&mut rng, &shape);
        clone_vnics(&mut rng, &mut s);
        // As the loader reads it, so that its hints can be pasted as text.
        let s = crate::paste::loadable(&s);
        let c = Compiled::new(&s, &Config::default()).unwrap();
        let pool = address_pool_shaped(&s, &shape);
        let mut paths: Vec<PathSpec> = (0..8)
            .map(|i| random_path(&mut rng, &s, &pool, i))
            .collect();
        for p in &mut paths {
            p.expect = Expect::Allow;
            p.skipped = false;
        }
        let limits = Limits::default();
        let r = verify::run(&s, &c, &paths, &limits).unwrap();
        for (path, got) in paths.iter().zip(&r.paths) {
            if got.to_open_edits.is_empty() || got.to_open_checked < got.failed_pairs {
                continue;
            }
            crate::paste::hints_leave_what_they_say(&s, path, got, &limits, seed);
            checked += 1;
            opened_all += usize::from(got.to_open_left == 0);
            let first = got.failed.first().map_or(0, |f| f.to_open.len());
            beyond_first += usize::from(got.to_open.len() > first);
            routes += usize::from(got.to_open.iter().any(|h| h.starts_with("route: ")));
        }
    }
    eprintln!(
        "checked {checked}, opened whole {opened_all}, beyond the first pair's {beyond_first}, with a route hint {routes}"
    );
    assert!(checked >= 50, "{checked}");
    assert!(opened_all >= 15, "{opened_all}");
    assert!(beyond_first >= 5, "{beyond_first}");
    assert!(routes >= 5, "{routes}");
}
