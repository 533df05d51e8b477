//! QA round sixteen (twenty-first session): the drops owed to stand-ins
//! held against the whole export on random cuts of it (planning 5), and
//! journeys a network team rolling ZPR out on OKE walks with the docs
//! alone. Each test failed before its fix (or is ignored, saying whose
//! area the fix is in).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use zprsim_control::import::{Files, oci};
use zprsim_control::load;
use zprsim_control::packet::Packet;

use crate::diff::write_capture;
use crate::replay_oracle::traffic_with;
use crate::support::{oke_export, run_in, seeds};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One random cut of an export, and what it was (for the failure message).
/// Only what makes the export *lack* something (what a partial export
/// looks like: a list the script did not write, an older CLI or a
/// `--query` without a field, an object missing from a list), never an
/// edit the import cannot tell from a real export (an NSG id taken from a
/// VNIC's list, one attribute key, one rule of an NSG's rules file): a
/// whole file deleted, one field of one exported object deleted (an
/// element of `data`, or `data` itself for a `get`), one object deleted
/// from a list file's `data` (not from an NSG's rules file, where that is
/// a rule fewer). 1-3 cuts stacked.
fn cut_export(rng: &mut ChaCha8Rng, files: &mut Files) -> Vec<String> {
    let mut said = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        let mut names: Vec<String> = files.keys().cloned().collect();
        names.sort();
        if names.is_empty() {
            break;
        }
        let name = names[rng.random_range(0..names.len())].clone();
        let rules_file = name.starts_with("network-nsg-rules-list");
        let Ok(mut v) = serde_json::from_str::<Value>(&files[&name]) else {
            continue;
        };
        match rng.random_range(0..3) {
            0 => {
                files.remove(&name);
                said.push(format!("file {name} deleted"));
                continue;
            }
            1 => {
                // A field of an exported object.
                let object = match v.get_mut("data") {
                    Some(Value::Array(a)) if !a.is_empty() && !rules_file => {
                        let i = rng.random_range(0..a.len());
                        a.get_mut(i).map(|o| (format!("/data/{i}"), o))
                    }
                    Some(o @ Value::Object(_)) => Some(("/data".to_string(), o)),
                    _ => None,
                };
                let Some((at, Value::Object(m))) = object else {
                    continue;
                };
                let keys: Vec<String> = m.keys().filter(|k| *k != "id").cloned().collect();
                if keys.is_empty() {
                    continue;
                }
                let k = keys[rng.random_range(0..keys.len())].clone();
                m.remove(&k);
                said.push(format!("{name}: field {at}/{k} deleted"));
            }
            _ => {
                let Some(Value::Array(a)) = v.get_mut("data") else {
                    continue;
                };
                if a.is_empty() || rules_file {
                    continue;
                }
                let i = rng.random_range(0..a.len());
                a.remove(i);
                said.push(format!("{name}: object /data/{i} deleted"));
            }
        }
        files.insert(name, serde_json::to_string_pretty(&v).unwrap());
    }
    said
}

/// A flow-record key: the 5-tuple (and ICMP type and code) as `--flows`
/// writes it.
fn flow_key(f: &Value) -> String {
    format!(
        "{} {} {} {} {} {} {}",
        f["src"], f["dst"], f["proto"], f["sport"], f["dport"], f["icmp_type"], f["icmp_code"]
    )
}

/// What a replay said: the report and the flow records.
struct Replayed {
    report: Value,
    flows: Vec<Value>,
}

fn replay(dir: &Path, scenario: &str, input: &Path, tag: &str) -> Result<Replayed, String> {
    let report = format!("{tag}.json");
    let flows = format!("{tag}-flows.jsonl");
    let o = run_in(
        dir,
        [
            "replay",
            scenario,
            input.to_str().unwrap(),
            "--report",
            &report,
            "--flows",
            &flows,
            "--quiet",
        ],
    );
    if !o.status.success() {
        return Err(format!(
            "replay {scenario} {}: {}",
            input.display(),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let report: Value = serde_json::from_slice(&std::fs::read(dir.join(&report)).unwrap())
        .map_err(|e| e.to_string())?;
    let flows = std::fs::read_to_string(dir.join(&flows))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Ok(Replayed { report, flows })
}

fn num(v: &Value, p: &str) -> u64 {
    v.pointer(p)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{p} in {v}"))
}

/// Per tuple: the dropped packets of its records.
fn dropped_by_tuple(flows: &[Value]) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for f in flows {
        *m.entry(flow_key(f)).or_insert(0) += num(f, "/dropped_packets");
    }
    m
}

/// What the cut adds over the whole export, and what the cut says is owed.
#[derive(Default, Debug, Clone, Copy)]
struct Owed {
    /// Dropped packets under the cut import, and under the whole export.
    dropped: u64,
    whole_dropped: u64,
    /// Tuples the cut drops more packets of, and those extra packets.
    extra_tuples: u64,
    extra_packets: u64,
    /// `stand_in_drops`.
    owed_packets: u64,
    owed_flows: u64,
}

/// The documented bound (docs/cli.md, "Drops owed to stand-ins"): every
/// drop the whole export would not make is among the owed, and the owed
/// are drops. Per tuple: a tuple the cut drops more of has a record that
/// is owed (so at least as many owed records as such tuples), and an owed
/// record counts all its dropped packets (so at least the extra packets).
fn check_owed(whole: &Replayed, cut: &Replayed) -> Result<Owed, String> {
    let w = dropped_by_tuple(&whole.flows);
    let c = dropped_by_tuple(&cut.flows);
    let mut o = Owed {
        dropped: num(&cut.report, "/packets/dropped"),
        whole_dropped: num(&whole.report, "/packets/dropped"),
        owed_packets: num(&cut.report, "/stand_in_drops/packets"),
        owed_flows: num(&cut.report, "/stand_in_drops/flows"),
        ..Owed::default()
    };
    let mut extra = Vec::new();
    for (k, &n) in &c {
        let before = w.get(k).copied().unwrap_or(0);
        if n > before {
            o.extra_tuples += 1;
            o.extra_packets += n - before;
            extra.push(format!("{k}: {before} -> {n}"));
        }
    }
    let records_with_drops = cut
        .flows
        .iter()
        .filter(|f| num(f, "/dropped_packets") > 0)
        .count() as u64;
    if o.owed_packets < o.extra_packets
        || o.owed_flows < o.extra_tuples
        || o.owed_packets > o.dropped
        || o.owed_flows > records_with_drops
    {
        return Err(format!(
            "{o:?} ({records_with_drops} records with drops); tuples the cut drops more of:\n  {}",
            extra.join("\n  ")
        ));
    }
    Ok(o)
}

/// Random pairs of the OKE example's addresses (and outside ones) on the
/// ports its rules name.
fn draw(pool: &[IpAddr]) -> impl FnMut(&mut ChaCha8Rng) -> Packet + '_ {
    const PORTS: [u16; 14] = [
        443, 6443, 8080, 10250, 10256, 12250, 2049, 2050, 111, 30080, 53, 22, 80, 5432,
    ];
    move |rng| {
        let a = pool[rng.random_range(0..pool.len())];
        let mut b = pool[rng.random_range(0..pool.len())];
        while b == a || b.is_ipv4() != a.is_ipv4() {
            b = pool[rng.random_range(0..pool.len())];
        }
        let dport = PORTS[rng.random_range(0..PORTS.len())];
        let sport = rng.random_range(32768..61000);
        match rng.random_range(0..10) {
            0..=5 => Packet::tcp(a, sport, b, dport),
            6..=8 => Packet::udp(a, sport, b, dport),
            _ => Packet::icmp(a, b, if a.is_ipv4() { 8 } else { 128 }, 0),
        }
    }
}

/// What the gaps found below leave out of the bound, so that the CI run
/// checks every other cut (`cuts`: what [`cut_export`] did; a VCN's
/// `security-attributes` and a VCN the export lacks are checked since the
/// twenty-second session:
/// [`a_vcn_without_security_attributes_owes_its_zpr_drops`],
/// [`an_export_lacking_the_vcn_of_its_subnets_is_refused`]):
/// - (a list field an object lacks, read as an empty list: closed in the
///   twenty-first session, [`an_absent_list_field_is_unknown_not_empty`],
///   and checked since the twenty-second);
/// - a VNIC nothing names (its `vnic get` and the private-IP list both
///   deleted).
fn in_a_known_gap(toml: &str, cuts: &[String]) -> bool {
    // (Two gaps found first are closed since the lead's commits of the
    // twenty-first session: a stand-in VNIC of unknown NSGs at the other
    // end of a rule naming an NSG,
    // [`a_drop_by_a_rule_naming_an_nsg_a_stand_in_vnic_may_be_in_is_owed`],
    // and attributes with no ZPR policy,
    // [`an_export_with_attributes_and_no_zpr_policy_list_makes_stand_ins`].)
    if load::from_toml_str(toml, "cut.toml").is_err() {
        return false;
    }
    let cut = |p: &str| cuts.iter().any(|c| c.contains(p));
    cut("file network-private-ip-list.json deleted") && cut("file network-vnic-get-")
}

/// Planning item 5: random cuts of the OKE export (files, fields, array
/// elements deleted), imported; the demo capture, a random capture of the
/// example's addresses and ports, and the demo flow logs replayed on the
/// cut import and on the whole export. Every drop the cut adds is owed
/// (per tuple, see [`check_owed`]), and the owed are drops of the cut.
/// `ZPRSIM_STAND_IN_CUT_SEEDS` seeds (12 by default; each is four replays).
#[test]
fn stand_in_drops_bound_every_drop_a_cut_export_adds() {
    owed_on_random_cuts("ZPRSIM_STAND_IN_CUT_SEEDS", 24, false);
}

/// [`stand_in_drops_bound_every_drop_a_cut_export_adds`] with the cuts in
/// the known gaps too (40 seeds: 13 fail before the lead's fixes; 200
/// seeds: 51, every one in a gap of [`in_a_known_gap`]).
#[test]
#[ignore = "gaps in control/src/import: an absent list field read as empty, a VCN the export lacks"]
fn stand_in_drops_bound_every_drop_of_every_cut() {
    owed_on_random_cuts("ZPRSIM_STAND_IN_CUT_SEEDS", 40, true);
}

fn owed_on_random_cuts(var: &str, default: u64, every_cut: bool) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let services =
        std::fs::read_to_string(root().join("examples/oke-orders/oci-public-ip-ranges.json"))
            .unwrap();
    let whole = oci::import(&oke_export(), Some(&services)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("whole.toml"), &whole.toml).unwrap();
    let s = load::from_toml_str(&whole.toml, "whole.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .scenario;
    let mut pool: Vec<IpAddr> = s.vnics.iter().flat_map(|v| v.private_ips.clone()).collect();
    pool.extend(
        ["8.8.8.8", "134.70.24.1", "10.0.99.9", "192.168.7.7"]
            .iter()
            .map(|a| a.parse::<IpAddr>().unwrap()),
    );
    let demo = root().join("pcaps/oke-demo.pcap");
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let whole_demo = replay(d, "whole.toml", &demo, "whole-demo").unwrap();
    let whole_log = replay(d, "whole.toml", &log, "whole-log").unwrap();
    assert_eq!(num(&whole_demo.report, "/stand_in_drops/packets"), 0);

    let n = seeds(var, default);
    let mut in_gap = 0;
    let mut failures = Vec::new();
    let mut totals = [Owed::default(); 3];
    let (mut imported, mut refused, mut with_stand_ins) = (0, 0, 0);
    for seed in 0..n {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut files = oke_export();
        let cuts = cut_export(&mut rng, &mut files);
        let Ok(cut) = oci::import(&files, Some(&services)) else {
            refused += 1;
            continue;
        };
        imported += 1;
        if !every_cut && in_a_known_gap(&cut.toml, &cuts) {
            in_gap += 1;
            continue;
        }
        if cut.toml.contains("stand_in = true") {
            with_stand_ins += 1;
        }
        std::fs::write(d.join("cut.toml"), &cut.toml).unwrap();
        let pkts = traffic_with(&mut rng, &s, 300, draw(&pool));
        let pcap = d.join("gen.pcap");
        write_capture(&pcap, &pkts);
        let runs = [
            (
                replay(d, "whole.toml", &pcap, "whole-gen"),
                replay(d, "cut.toml", &pcap, "cut-gen"),
            ),
            (
                Ok(Replayed {
                    report: whole_demo.report.clone(),
                    flows: whole_demo.flows.clone(),
                }),
                replay(d, "cut.toml", &demo, "cut-demo"),
            ),
            (
                Ok(Replayed {
                    report: whole_log.report.clone(),
                    flows: whole_log.flows.clone(),
                }),
                replay(d, "cut.toml", &log, "cut-log"),
            ),
        ];
        for (i, (w, c)) in runs.into_iter().enumerate() {
            let what = ["random capture", "demo capture", "demo flow logs"][i];
            match w.and_then(|w| c.and_then(|c| check_owed(&w, &c))) {
                Ok(o) => {
                    let t = &mut totals[i];
                    t.dropped += o.dropped;
                    t.whole_dropped += o.whole_dropped;
                    t.extra_tuples += o.extra_tuples;
                    t.extra_packets += o.extra_packets;
                    t.owed_packets += o.owed_packets;
                    t.owed_flows += o.owed_flows;
                }
                Err(e) => {
                    if failures.len() < 3 {
                        let _ = std::fs::copy(
                            d.join("cut.toml"),
                            std::env::temp_dir().join(format!("zprsim-cut-{seed}.toml")),
                        );
                    }
                    failures.push(format!("seed {seed} ({}), {what}: {e}", cuts.join("; ")));
                }
            }
        }
    }
    eprintln!(
        "stand-in cuts: {n} seeds, {imported} imported ({in_gap} in a known gap, skipped; {with_stand_ins} checked with stand-ins), {refused} refused; [random capture, demo capture, demo flow logs]: {totals:?}"
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(with_stand_ins > 0);
}

/// A pcap of TCP SYNs `(src, dst, sport, dport)`, a second apart, from
/// 2024-03-01 09:00 UTC (the demo's day; checksums zero).
fn syns(list: &[(&str, &str, u16, u16)]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (i, (src, dst, sport, dport)) in list.iter().enumerate() {
        let ip = |a: &str| a.parse::<std::net::Ipv4Addr>().unwrap().octets();
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&ip(src));
        f.extend_from_slice(&ip(dst));
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        let len = u32::try_from(f.len()).unwrap();
        for v in [1_709_283_600 + u32::try_from(i).unwrap(), 0, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&f);
    }
    out
}

/// The whole OKE export and the export without `network-vnic-get-4.json`
/// (`orders-api-pod-1`, 10.0.10.11: a stand-in VNIC, its NSGs unknown),
/// imported into `dir` as whole.toml and cut.toml.
fn whole_and_cut(dir: &Path, cut: impl FnOnce(&mut Files)) {
    let services =
        std::fs::read_to_string(root().join("examples/oke-orders/oci-public-ip-ranges.json"))
            .unwrap();
    let mut files = oke_export();
    let whole = oci::import(&files, Some(&services)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("whole.toml"), &whole.toml).unwrap();
    cut(&mut files);
    let c = oci::import(&files, Some(&services)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("cut.toml"), &c.toml).unwrap();
}

/// Found by [`stand_in_drops_bound_every_drop_of_every_cut`]: the export
/// without `orders-api-pod-1`'s VNIC (a stand-in, its NSGs unknown). The
/// load balancer's SYN to it is dropped at the balancer's egress, whose
/// NSG `lb-nsg` allows 8080 only to members of `pods-nsg`: the stand-in
/// may be one (the whole export allows the SYN), but the balancer's rules
/// are all known, so docs/cli.md's rule owes nothing. The legacy VM's SYN
/// to it, dropped at the stand-in's own ingress, is owed: 1 of 2 said,
/// where the bound needs 2. The same on flow logs (each side's record is
/// judged on its own, so a pod's record of a flow from a stand-in
/// balancer has the same gap: 66 of 125 drops owed where the cut adds
/// 92). The fix is in `dataplane/src/stand_in_owed.rs` (`owes_drop`: a
/// security drop with a stand-in VNIC of unknown NSGs at the other end,
/// where the deciding side's rules name an NSG, is owed), the perf
/// helper's area.
#[test]
fn a_drop_by_a_rule_naming_an_nsg_a_stand_in_vnic_may_be_in_is_owed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        f.remove("network-vnic-get-4.json");
    });
    std::fs::write(
        d.join("syn.pcap"),
        syns(&[
            ("10.0.1.10", "10.0.10.11", 41000, 8080),
            ("10.0.20.10", "10.0.10.11", 44100, 8080),
        ]),
    )
    .unwrap();
    let pcap = d.join("syn.pcap");
    let whole = replay(d, "whole.toml", &pcap, "w").unwrap();
    let cut = replay(d, "cut.toml", &pcap, "c").unwrap();
    assert_eq!(num(&whole.report, "/packets/dropped"), 0);
    assert_eq!(num(&cut.report, "/packets/dropped"), 2);
    assert_eq!(
        cut.report["stand_in_drops"],
        serde_json::json!({"packets": 2, "flows": 2}),
        "{:?}",
        cut.flows
            .iter()
            .map(|f| format!("{} -> {}: {}", f["src"], f["dst"], f["stage"]))
            .collect::<Vec<_>>()
    );
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let whole = replay(d, "whole.toml", &log, "wl").unwrap();
    let cut = replay(d, "cut.toml", &log, "cl").unwrap();
    check_owed(&whole, &cut).unwrap();
}

/// Found by [`stand_in_drops_bound_every_drop_of_every_cut`]: an export
/// whose VNICs carry security attributes but which lacks
/// `zpr-zpr-policy-list.json` (or whose list lost its `items`) imports
/// without a word, with no ZPR policy: ZPR then denies every attributed
/// VNIC's traffic (the demo capture: 168 drops, 135 more than the whole
/// export's 33 on 16 tuples, none owed). The export names no policy, so nothing
/// dangles (docs/import.md says so of one missing policy), but attributes
/// and not one policy is what a partial export looks like: the import
/// should warn, and a stand-in (a policy said unknown, or the stand-in
/// attribute) would make those drops owed. Fixed by the lead: the import
/// warns and writes a stand-in ZPR policy with no statement
/// (`missing-zpr-policies`, `stand_in = true`): verdicts unchanged, every
/// ZPR drop owed, `explain` names it, and no hint adds a statement to it.
#[test]
fn an_export_with_attributes_and_no_zpr_policy_list_makes_stand_ins() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        f.remove("zpr-zpr-policy-list.json");
    });
    let pcap = root().join("pcaps/oke-demo.pcap");
    let whole = replay(d, "whole.toml", &pcap, "w").unwrap();
    let cut = replay(d, "cut.toml", &pcap, "c").unwrap();
    check_owed(&whole, &cut).unwrap();
    let toml = std::fs::read_to_string(d.join("cut.toml")).unwrap();
    assert!(
        toml.contains("name = \"missing-zpr-policies\"\nstand_in = true\nstatements = []"),
        "{toml}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_zprsim"))
        .args([
            "explain",
            "--src",
            "10.0.10.21",
            "--dst",
            "10.0.30.10",
            "--proto",
            "tcp",
            "--dport",
            "2049",
        ])
        .arg(d.join("cut.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("stand-in: ZPR policy `missing-zpr-policies` is a stand-in"),
        "{text}"
    );
    assert!(
        text.contains("to open: zpr: add a ZPR policy (e.g. `zpr-hints`)")
            && !text.contains("add to ZPR policy `missing-zpr-policies`"),
        "{text}"
    );
}

/// The other side of [`an_export_with_attributes_and_no_zpr_policy_list_makes_stand_ins`]:
/// an export whose policy list is there and empty, as the CLI prints one,
/// says the tenancy has no policy: no stand-in, no warning about it, and
/// the same verdicts (ZPR's default deny either way).
#[test]
fn an_empty_zpr_policy_list_says_there_is_none() {
    let mut files = crate::support::oke_export();
    files.insert(
        "zpr-zpr-policy-list.json".into(),
        "{\"data\": {\"items\": []}}".into(),
    );
    let said = oci::import(&files, None).unwrap();
    assert!(!said.toml.contains("missing-zpr-policies"), "{}", said.toml);
    assert!(
        !said
            .warnings
            .iter()
            .any(|w| w.contains("holds no ZPR policy")),
        "{:?}",
        said.warnings
    );
    files.remove("zpr-zpr-policy-list.json");
    let missing = oci::import(&files, None).unwrap();
    assert!(
        missing
            .warnings
            .iter()
            .any(|w| w.contains("the export holds no ZPR policy")),
        "{:?}",
        missing.warnings
    );
    let (a, b) = (
        load::from_toml_str(&said.toml, "a.toml").unwrap().scenario,
        load::from_toml_str(&missing.toml, "b.toml")
            .unwrap()
            .scenario,
    );
    let config = zprsim_control::compile::Config::default();
    let (ca, cb) = (
        zprsim_control::compile::Compiled::new(&a, &config).unwrap(),
        zprsim_control::compile::Compiled::new(&b, &config).unwrap(),
    );
    let ips: Vec<IpAddr> = a.vnics.iter().flat_map(|v| v.private_ips.clone()).collect();
    let mut n = 0;
    for &x in &ips {
        for &y in &ips {
            for p in [Packet::tcp(x, 40000, y, 2049), Packet::udp(x, 40000, y, 53)] {
                let ctx = zprsim_control::verdict::Context::First;
                assert_eq!(
                    ca.judge(&p, ctx).judgement,
                    cb.judge(&p, ctx).judgement,
                    "{p}"
                );
                n += 1;
            }
        }
    }
    assert!(n > 100);
}

/// One OCI flow-log data entry (JSON line) of a TCP record logged at
/// `vnic`, its window the minute from `start`.
fn log_entry(
    n: u64,
    start: u64,
    (src, sport): (&str, u16),
    (dst, dport): (&str, u16),
    vnic: &str,
) -> String {
    serde_json::json!({
        "datetime": start * 1000,
        "logContent": {
            "data": {
                "action": "ACCEPT", "bytesOut": 100, "destinationAddress": dst,
                "destinationPort": dport, "endTime": start + 59, "flowid": format!("{n:08x}"),
                "packets": 1, "protocol": 6, "protocolName": "TCP", "sourceAddress": src,
                "sourcePort": sport, "startTime": start, "status": "OK", "version": "2"
            },
            "id": format!("00000000-0000-4000-8000-{n:012}"),
            "oracle": {"vnicocid": vnic, "vnicsubnetocid": ""},
            "source": "-", "specversion": "1.0", "time": "2024-03-01T09:00:00.000Z",
            "type": "com.oraclecloud.vcn.flowlogs.DataEvent"
        }
    })
    .to_string()
}

/// Journey (b): a node's connection to the API endpoint logged for 30
/// hours, a record an hour at both ends in both directions, the later
/// half in a file given first (records out of order across files); and
/// two connections whose API side answers once more after a silence: 21
/// hours after its last record (within the day of TCP's established
/// timeout, docs/flow-logs.md "Tracking across records": a reply,
/// allowed) and 25 hours after (past it: judged as a first packet, which
/// ZPR drops at the API's egress check, as `explain` says of it). Every
/// record's judgement is the same as with all of them in one file in
/// order. Held on main (this session's QA); kept as a regression test.
#[test]
fn long_lived_flows_across_out_of_order_files_keep_their_replies_for_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (node, api) = ("10.0.2.11", "10.0.0.5");
    let (node_id, api_id) = (
        "ocid1.vnic.oc1.iad.okeordersworker1",
        "ocid1.vnic.oc1.iad.okeordersk8sapiendpoint",
    );
    let t0 = 1_709_283_600u64;
    let mut n = 0;
    let mut entries: Vec<(u64, String)> = Vec::new();
    let mut conn =
        |hours: &[u64], replies_only: &[u64], sport: u16, entries: &mut Vec<(u64, String)>| {
            for &h in hours.iter().chain(replies_only) {
                let t = t0 + h * 3600;
                let fwd = !replies_only.contains(&h);
                for (from, to, vnic, is_fwd) in [
                    ((node, sport), (api, 6443), node_id, true),
                    ((node, sport), (api, 6443), api_id, true),
                    ((api, 6443), (node, sport), api_id, false),
                    ((api, 6443), (node, sport), node_id, false),
                ] {
                    if is_fwd && !fwd {
                        continue;
                    }
                    n += 1;
                    entries.push((t, log_entry(n, t, from, to, vnic)));
                }
            }
        };
    conn(&(0..30).collect::<Vec<_>>(), &[], 45000, &mut entries);
    conn(&[0, 1, 2], &[23], 46000, &mut entries);
    conn(&[0, 1, 2], &[27], 46001, &mut entries);
    let lines = |keep: &dyn Fn(u64) -> bool| -> String {
        entries
            .iter()
            .filter(|(t, _)| keep(*t))
            .map(|(_, e)| format!("{e}\n"))
            .collect()
    };
    let half = t0 + 15 * 3600;
    std::fs::write(d.join("late.jsonl"), lines(&|t| t >= half)).unwrap();
    std::fs::write(d.join("early.jsonl"), lines(&|t| t < half)).unwrap();
    let mut sorted = entries.clone();
    sorted.sort_by_key(|(t, _)| *t);
    std::fs::write(
        d.join("inorder.jsonl"),
        sorted
            .iter()
            .map(|(_, e)| format!("{e}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let scenario = root().join("examples/oke-orders/scenario.toml");
    let run = |inputs: &[&str], tag: &str| -> Vec<Value> {
        let flows = format!("{tag}-flows.jsonl");
        let mut args = vec!["replay".to_string(), scenario.to_str().unwrap().to_string()];
        args.extend(inputs.iter().map(|s| s.to_string()));
        args.extend(["--flows".into(), flows.clone(), "--quiet".into()]);
        let o = run_in(d, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut v: Vec<Value> = std::fs::read_to_string(d.join(&flows))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        v.sort_by_key(|f| {
            (
                f["start_time"].as_u64(),
                f["vnic"].to_string(),
                f["src"].to_string(),
                f["sport"].as_u64(),
            )
        });
        v
    };
    let split = run(&["late.jsonl", "early.jsonl"], "split");
    let inorder = run(&["inorder.jsonl"], "inorder");
    let judged = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|f| {
                format!(
                    "{} {} {}:{} -> {}:{} {} {} {}",
                    f["start_time"],
                    f["vnic"],
                    f["src"],
                    f["sport"],
                    f["dst"],
                    f["dport"],
                    f["verdict"],
                    f["stage"],
                    f["reply"]
                )
            })
            .collect()
    };
    assert_eq!(judged(&split), judged(&inorder));
    assert_eq!(split.len(), 30 * 4 + 2 * (3 * 4 + 2));
    for f in &split {
        let late_reply = f["dport"] == 46001 && f["start_time"] == t0 + 27 * 3600;
        let day_reply = f["dport"] == 46000 && f["start_time"] == t0 + 23 * 3600;
        if late_reply {
            assert_eq!(
                (&f["verdict"], &f["stage"], &f["reply"]),
                (
                    &Value::from("drop"),
                    &Value::from("zpr"),
                    &Value::from(false)
                ),
                "{f}"
            );
        } else {
            assert_eq!(f["verdict"], "allow", "{f}");
        }
        if day_reply {
            assert_eq!(f["reply"], true, "{f}");
        }
    }
}

/// Planning item 5's other half: `quality-entries-unchecked` reached from
/// the CLI at the real bound (917,504; the CI test with the test-only
/// `ZPRSIM_TEST_MAX_QUALITY_IDS` knob is
/// `review_s24::quality_entries_unchecked_from_the_cli_with_the_test_bound`): this test pipes 917,505 NODATA entries (162 MB, written
/// as they are read, never on disk) into `replay -`: the report's warning
/// names line 917,505. 27-41 s in a debug build on a shared 2-core
/// machine (14 s of CPU), hence ignored in CI; the unit test
/// `flowlog::read::tests::past_the_quality_id_bound_one_warning_says_they_are_unchecked`
/// holds the rule with a bound of 2.
#[test]
#[ignore = "slow: 917,505 entries through a pipe, 27-41 s in a debug build"]
fn quality_entries_unchecked_from_the_cli_through_a_pipe() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("zprsim"))
        .current_dir(dir.path())
        .args([
            "replay",
            root()
                .join("examples/oke-orders/scenario.toml")
                .to_str()
                .unwrap(),
            "-",
            "--report",
            "r.json",
            "--quiet",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = std::io::BufWriter::new(child.stdin.take().unwrap());
    for i in 0..917_505u64 {
        writeln!(
            stdin,
            r#"{{"logContent":{{"data":{{"status":"NODATA","startTime":1709283480,"endTime":1709283539,"version":"2"}},"id":"q{i}","oracle":{{"vnicocid":"ocid1.vnic.oc1.iad.okeordersworker2"}}}}}}"#
        )
        .unwrap();
    }
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    let w: Vec<&Value> = r["run_warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "quality-entries-unchecked")
        .collect();
    assert_eq!(w.len(), 1, "{r}");
    assert_eq!(w[0]["line"], 917_505);
}

/// Found by [`stand_in_drops_bound_every_drop_a_cut_export_adds`] at 200
/// seeds (seeds 54 and 96): the export without its route tables, replayed
/// on the demo flow logs. A VNIC whose own record of a connection was
/// dropped by its stand-in table tracks nothing, so its record of the
/// answer is judged as a first packet and dropped at ingress security or
/// ZPR (`worker-1`'s record of the API's answer, `orders-lb`'s of the
/// pods'): a drop the whole export does not make (it allows the answer as
/// a reply), but decided where everything is known, so it was not owed
/// (165 owed where the cut adds 179, on 33 tuples). A capture's flow
/// record holds both directions, so there the first packet's owed drop
/// covers the answer's; a flow-log record is judged on its own. Since the
/// twenty-first session `replay` on flow logs owes a dropped record whose
/// reverse the same VNIC dropped before with the drop owed.
#[test]
fn an_answer_a_stand_in_left_untracked_is_owed_on_flow_logs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        f.remove("network-route-table-list.json");
    });
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let whole = replay(d, "whole.toml", &log, "w").unwrap();
    let cut = replay(d, "cut.toml", &log, "c").unwrap();
    let o = check_owed(&whole, &cut).unwrap();
    assert!(o.extra_tuples > 30, "{o:?}");
}

/// [`an_answer_a_stand_in_left_untracked_is_owed_on_flow_logs`] for
/// `diff` on flow logs: each side's `stand_in_drops` is `replay`'s of
/// that scenario (before the lead's merge, `diff` counted with the rule
/// before this session's: 165 packets owed, 42 records, where `replay`
/// owed 203 of the 212 drops, 53 records; the cut adds 179). Both count
/// through `dataplane/src/stand_in_owed.rs` `RecordsOwed` now.
#[test]
fn diff_on_flow_logs_owes_what_replay_owes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        f.remove("network-route-table-list.json");
    });
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let cut = replay(d, "cut.toml", &log, "c").unwrap();
    let o = run_in(
        d,
        [
            "diff",
            "whole.toml",
            "cut.toml",
            log.to_str().unwrap(),
            "--report",
            "d.json",
        ],
    );
    let r: Value = serde_json::from_slice(&std::fs::read(d.join("d.json")).unwrap())
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(r["after"]["stand_in_drops"], cut.report["stand_in_drops"]);
}

/// [`an_answer_a_stand_in_left_untracked_is_owed_on_flow_logs`] within
/// one second (seed 198 of the random cuts): `worker-1` exported without
/// its `security-attributes` (the stand-in attribute), the demo flow logs.
/// Its record of the answer from Oracle's services (`134.70.1.1:443 ->
/// 10.0.2.11:40300`, dropped at route: no tracked connection) starts in
/// the same second as its owed record of the request, and the tie order
/// of semantics §6.4 judges it first; it was not owed (49 owed packets
/// where the cut adds 50 on 6 tuples; 53 owed with the fix).
#[test]
fn an_answer_judged_first_in_its_second_is_owed_too() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        let mut v: Value = serde_json::from_str(&f["network-vnic-get-2.json"]).unwrap();
        v["data"]
            .as_object_mut()
            .unwrap()
            .remove("security-attributes");
        f.insert("network-vnic-get-2.json".into(), v.to_string());
    });
    let log = root().join("examples/oke-orders/flowlogs/oke-demo.jsonl");
    let whole = replay(d, "whole.toml", &log, "w").unwrap();
    let cut = replay(d, "cut.toml", &log, "c").unwrap();
    check_owed(&whole, &cut).unwrap();
}

/// Found by the random cuts at 200 seeds (seeds 43, 80, 86, 100, 158,
/// 197): a list field an exported object lacks (a `--query`, an older CLI,
/// a hand-trimmed file) is imported as an empty list, with no warning and
/// no stand-in: `worker-2` without `nsg-ids` is in no NSG, so the API's
/// kubelet call to it (`10.0.0.5 -> 10.0.2.12:10250`) is dropped at its
/// ingress, where the whole export allows it, and nothing is owed (demo
/// capture: 43 drops against 33, 0 owed). The same for a subnet's
/// `security-list-ids`, a list's `ingress-security-rules` or
/// `egress-security-rules`, and a VCN's `security-attributes` (ZPR's
/// `in network.vcn:backend VCN` statements then apply nowhere: 168 drops
/// against 33). Absent should read as unknown, as an absent VNIC
/// `security-attributes` already does (docs/import.md): a warning and a
/// stand-in (`security_lists_unknown`, a VNIC whose NSGs are unknown).
/// In `control/src/import/`, the import helper's area.
#[test]
fn an_absent_list_field_is_unknown_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        let mut v: Value = serde_json::from_str(&f["network-vnic-get-3.json"]).unwrap();
        v["data"].as_object_mut().unwrap().remove("nsg-ids");
        f.insert("network-vnic-get-3.json".into(), v.to_string());
    });
    let pcap = root().join("pcaps/oke-demo.pcap");
    let whole = replay(d, "whole.toml", &pcap, "w").unwrap();
    let cut = replay(d, "cut.toml", &pcap, "c").unwrap();
    check_owed(&whole, &cut).unwrap();
}

/// The twenty-second session's item 1: a VCN whose `security-attributes`
/// the export does not give (an older CLI, a `--query`) was read as
/// carrying none, silently: ZPR's `in network.vcn:backend VCN` statements
/// applied nowhere, and the demo capture dropped 168 packets (33 with the
/// whole export), none owed. Absent is unknown: the VCN is written without
/// an attribute (the least it could allow) and its attributed VNICs carry
/// the stand-in attribute too, so those drops are owed; a warning names
/// `oci network vcn get`. `{}` still says the VCN has none.
#[test]
fn a_vcn_without_security_attributes_owes_its_zpr_drops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cut_vcn = |f: &mut Files, to: Option<Value>| {
        let mut v: Value = serde_json::from_str(&f["network-vcn-list.json"]).unwrap();
        let o = v["data"][0].as_object_mut().unwrap();
        o.remove("security-attributes");
        if let Some(to) = to {
            o.insert("security-attributes".into(), to);
        }
        f.insert("network-vcn-list.json".into(), v.to_string());
    };
    whole_and_cut(d, |f| cut_vcn(f, None));
    let cut = std::fs::read_to_string(d.join("cut.toml")).unwrap();
    let s = load::from_toml_str(&cut, "cut.toml").unwrap().scenario;
    assert!(s.vcns[0].attribute.is_none());
    let attributed = s.vnics.iter().filter(|v| !v.attributes.is_empty()).count();
    assert!(attributed > 0);
    for v in s.vnics.iter().filter(|v| !v.attributes.is_empty()) {
        assert!(
            v.attributes
                .iter()
                .any(|a| a.attribute.namespace == zprsim_control::shared::STAND_IN_NAMESPACE),
            "{}",
            v.name
        );
    }
    let pcap = root().join("pcaps/oke-demo.pcap");
    let whole = replay(d, "whole.toml", &pcap, "w").unwrap();
    let c = replay(d, "cut.toml", &pcap, "c").unwrap();
    let o = check_owed(&whole, &c).unwrap();
    assert!(o.extra_packets > 0, "{o:?}");
    let mut files = oke_export();
    cut_vcn(&mut files, None);
    let w = oci::import(&files, None).unwrap().warnings;
    assert!(
        w.iter()
            .any(|w| w.contains("does not give its `security-attributes`")
                && w.contains("oci network vcn get --vcn-id ocid1.vcn.oc1.iad.gen000000")),
        "{w:?}"
    );
    // `{}` says none: no stand-in, no warning.
    let mut files = oke_export();
    cut_vcn(&mut files, Some(serde_json::json!({})));
    let i = oci::import(&files, None).unwrap();
    assert!(!i.toml.contains(zprsim_control::shared::STAND_IN_NAMESPACE));
    assert!(!i.warnings.iter().any(|w| w.contains("oci network vcn get")));
}

/// The twenty-second session's item 1: an export whose subnets name a VCN
/// it lacks (`network-vcn-list.json` deleted, or its object) imported
/// with every subnet and VNIC of that VCN left out, their addresses
/// external: the OKE export so cut imported with no VNIC at all, and the
/// demo capture dropped 168 packets (33 with the whole export), none owed
/// (the random cuts, seeds 179, 246, 350 of 400). It is refused now, naming
/// the VCN and the command exporting it, as a VCN without blocks is.
#[test]
fn an_export_lacking_the_vcn_of_its_subnets_is_refused() {
    for cut in [
        |f: &mut Files| {
            f.remove("network-vcn-list.json");
        },
        |f: &mut Files| {
            f.insert("network-vcn-list.json".into(), r#"{"data": []}"#.into());
        },
    ] {
        let mut files = oke_export();
        cut(&mut files);
        let e = oci::import(&files, None).unwrap_err().to_string();
        assert!(
            e.contains("VCN `ocid1.vcn.oc1.iad.gen000000` is not in the export")
                && e.contains("oci network vcn get --vcn-id ocid1.vcn.oc1.iad.gen000000"),
            "{e}"
        );
    }
}

/// Found by the random cuts with the VCN classes checked (seed 209 of
/// 400): a route table without its `route-rules` (absent, null) was
/// imported as a table with no rule, not a stand-in: it still routed in
/// the VCN past the VNIC's subnet and admitted return paths, and its
/// drops were owed to nothing. It is a stand-in now (`stand_in = true`),
/// judged as a table the export lacks.
#[test]
fn a_route_table_without_its_rules_owes_its_drops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    whole_and_cut(d, |f| {
        let mut v: Value = serde_json::from_str(&f["network-route-table-list.json"]).unwrap();
        v["data"][1].as_object_mut().unwrap().remove("route-rules");
        f.insert("network-route-table-list.json".into(), v.to_string());
    });
    let cut = std::fs::read_to_string(d.join("cut.toml")).unwrap();
    let s = load::from_toml_str(&cut, "cut.toml").unwrap().scenario;
    assert!(s.route_tables.iter().any(|t| t.stand_in && t.id.is_some()));
    let whole = load::from_toml_str(&std::fs::read_to_string(d.join("whole.toml")).unwrap(), "w")
        .unwrap()
        .scenario;
    let mut pool: Vec<IpAddr> = whole
        .vnics
        .iter()
        .flat_map(|v| v.private_ips.clone())
        .collect();
    pool.extend(
        ["8.8.8.8", "134.70.24.1", "10.0.99.9", "192.168.7.7"]
            .iter()
            .map(|a| a.parse::<IpAddr>().unwrap()),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(209);
    let pkts = traffic_with(&mut rng, &whole, 600, draw(&pool));
    let pcap = d.join("gen.pcap");
    write_capture(&pcap, &pkts);
    let mut extra = 0;
    for (input, tag) in [(pcap, "gen"), (root().join("pcaps/oke-demo.pcap"), "demo")] {
        let w = replay(d, "whole.toml", &input, &format!("w-{tag}")).unwrap();
        let c = replay(d, "cut.toml", &input, &format!("c-{tag}")).unwrap();
        extra += check_owed(&w, &c)
            .unwrap_or_else(|e| panic!("{tag}: {e}"))
            .extra_packets;
    }
    assert!(extra > 0);
}
