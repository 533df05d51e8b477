//! The spilled flow-log path (`flowlog::spill`, `flowlog::stream`) against
//! the in-memory one (`flowlog::judge::judge_records`) on random flow logs
//! of the OKE example: replies, both directions at two VNICs, duplicates,
//! NODATA, unplaced records, many records in one second, idle timeouts
//! crossed; with buffers of 1 record up to all of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zprsim_control::compile::{Compiled, Config};
use zprsim_control::model::Scenario;
use zprsim_dataplane::flowlog::judge::{Unplaced, judge_records};
use zprsim_dataplane::flowlog::read::{Limits, ReadOutcome, read_from};
use zprsim_dataplane::flowlog::record::LogRecord;
use zprsim_dataplane::flowlog::spill::{FlowLogSpool, SpillConfig};
use zprsim_dataplane::flowlog::stream::{StreamOutcome, judge_spooled};

fn oke() -> (Scenario, Compiled) {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/oke-orders/scenario.toml");
    let s = zprsim_dataplane::scenario_file::load_path(&p)
        .unwrap()
        .scenario;
    let c = Compiled::new(&s, &Config::default()).unwrap();
    (s, c)
}

/// One entry as OCI writes it (envelope, `id` when given).
#[allow(clippy::too_many_arguments)]
fn entry(
    id: Option<&str>,
    ocid: &str,
    action: &str,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    ports: (u16, u16),
    packets: u64,
    start: u64,
    end: u64,
) -> String {
    let ports = if matches!(proto, 6 | 17) {
        format!(r#""sourcePort":{},"destinationPort":{},"#, ports.0, ports.1)
    } else {
        r#""sourcePort":null,"destinationPort":null,"#.to_owned()
    };
    let id = id.map_or(String::new(), |i| format!(r#""id":"{i}","#));
    format!(
        r#"{{"datetime":{start}000,"logContent":{{"data":{{"action":"{action}","bytesOut":{},"destinationAddress":"{dst}",{ports}"endTime":{end},"packets":{packets},"protocol":{proto},"sourceAddress":"{src}","startTime":{start},"status":"OK","version":"2"}},{id}"oracle":{{"vnicocid":"{ocid}"}}}}}}"#,
        packets * 60
    )
}

/// The tuples of the OKE example's flow log (traffic its scenario mostly
/// allows, so connections are tracked).
fn fixture_tuples() -> Vec<(IpAddr, IpAddr, u8, u16, u16)> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/oke-orders/flowlogs/oke-demo.jsonl");
    let text = std::fs::read(p).unwrap();
    let mut read = ReadOutcome::default();
    read_from("f", 0, &text[..], &Limits::default(), &mut read).unwrap();
    read.records
        .iter()
        .map(|r| (r.src, r.dst, r.proto, r.sport, r.dport))
        .collect()
}

/// Random flow-log lines over `s`'s VNICs.
fn random_log(s: &Scenario, rng: &mut ChaCha8Rng, n: usize) -> String {
    let known = fixture_tuples();
    let vnics: Vec<(String, IpAddr)> = s
        .vnics
        .iter()
        .filter_map(|v| Some((v.id.clone()?, *v.private_ips.first()?)))
        .collect();
    let outside: [IpAddr; 3] = [
        "8.8.8.8".parse().unwrap(),
        "10.0.99.5".parse().unwrap(),
        "192.168.1.1".parse().unwrap(),
    ];
    let ports = [80u16, 443, 8080, 6443, 40000, 40001, 53];
    let mut lines: Vec<String> = Vec::new();
    // Tuples logged so far: (src, dst, proto, sport, dport).
    let mut seen: Vec<(IpAddr, IpAddr, u8, u16, u16, u64)> = Vec::new();
    let mut base = 1_717_000_000u64;
    for i in 0..n {
        // Mostly a few seconds apart with ties; now and then past every
        // timeout (a day), so tracked connections go idle.
        match rng.random_range(0..100) {
            0 => base += 90_000,
            // Steps around the idle timeouts (15 s to 180 s).
            1..=12 => {
                base += [
                    10u64, 14, 16, 25, 29, 31, 55, 59, 61, 65, 175, 179, 181, 185,
                ][rng.random_range(0..14)];
            }
            _ => {}
        }
        let start = base + rng.random_range(0..4);
        let end = start + rng.random_range(0..70);
        let action = if rng.random_bool(0.8) {
            "ACCEPT"
        } else {
            "REJECT"
        };
        let id = rng.random_bool(0.8).then(|| format!("id-{i}"));
        let kind = rng.random_range(0..100);
        if kind < 6 && !lines.is_empty() {
            // The same entry again (a file read twice): same id, same start.
            let j = rng.random_range(0..lines.len());
            let l = lines[j].clone();
            lines.push(l);
            continue;
        }
        if kind < 8 {
            lines.push(format!(
                r#"{{"logContent":{{"data":{{"status":"NODATA","startTime":{start},"endTime":{end}}},"oracle":{{"vnicocid":"x"}}}}}}"#
            ));
            continue;
        }
        let (src, dst, proto, sp, dp) = if kind < 45 && !seen.is_empty() {
            // A reply (or a repeat) of a tuple logged before.
            // Mostly one of the last few: within or just past a timeout.
            let from = if rng.random_bool(0.7) {
                seen.len().saturating_sub(8)
            } else {
                0
            };
            let t = seen[rng.random_range(from..seen.len())];
            if rng.random_bool(0.7) {
                (t.1, t.0, t.2, t.4, t.3)
            } else {
                (t.0, t.1, t.2, t.3, t.4)
            }
        } else if rng.random_bool(0.6) {
            // A flow of the example, from one of a few source ports.
            let t = known[rng.random_range(0..known.len())];
            let sp = if t.3 >= 1024 {
                t.3 + rng.random_range(0..3)
            } else {
                t.3
            };
            (t.0, t.1, t.2, sp, t.4)
        } else if rng.random_bool(0.15) {
            // IPv6 (the example's VNICs are IPv4 only): logged at a VNIC
            // outside the scenario or holding neither address, so
            // unplaced, its addresses through the spill's 17-byte form.
            let v6: [IpAddr; 3] = [
                "2001:db8::5".parse().unwrap(),
                "fd00:10::11".parse().unwrap(),
                "2603:c020::1".parse().unwrap(),
            ];
            let proto = [6u8, 17, 58][rng.random_range(0..3)];
            (
                v6[rng.random_range(0..3)],
                v6[rng.random_range(0..3)],
                proto,
                ports[rng.random_range(0..ports.len())],
                ports[rng.random_range(0..ports.len())],
            )
        } else {
            let a = vnics[rng.random_range(0..vnics.len())].1;
            let b = if rng.random_bool(0.7) {
                vnics[rng.random_range(0..vnics.len())].1
            } else {
                outside[rng.random_range(0..outside.len())]
            };
            let proto = [6u8, 6, 6, 17, 17, 1, 47][rng.random_range(0..7)];
            let (a, b) = if rng.random_bool(0.5) { (a, b) } else { (b, a) };
            (
                a,
                b,
                proto,
                ports[rng.random_range(0..ports.len())],
                ports[rng.random_range(0..ports.len())],
            )
        };
        seen.push((src, dst, proto, sp, dp, start));
        // Logged at the source's VNIC, the destination's, or (both
        // directions at two VNICs) each; now and then a VNIC outside the
        // scenario or one holding neither address.
        let holder = |ip: IpAddr| vnics.iter().find(|v| v.1 == ip).map(|v| v.0.clone());
        let mut at: Vec<String> = Vec::new();
        match rng.random_range(0..10) {
            0 => at.push("ocid1.vnic.oc1.iad.unknown".into()),
            1 => at.push(vnics[rng.random_range(0..vnics.len())].0.clone()),
            2..=4 => at.extend(holder(src).into_iter().chain(holder(dst))),
            5..=7 => at.extend(holder(src)),
            _ => at.extend(holder(dst)),
        }
        if at.is_empty() {
            at.push(format!(
                "ocid1.vnic.oc1.iad.other{}",
                rng.random_range(0..3)
            ));
        }
        for (k, ocid) in at.iter().enumerate() {
            let id = id.as_ref().map(|x| format!("{x}-{k}"));
            lines.push(entry(
                id.as_deref(),
                ocid,
                action,
                src,
                dst,
                proto,
                (sp, dp),
                rng.random_range(1..50),
                start,
                end,
            ));
        }
    }
    let mut t = String::new();
    for l in lines {
        let _ = writeln!(t, "{l}");
    }
    t
}

/// What a path gave, in comparable form.
#[derive(Debug, PartialEq)]
struct Result {
    counters: zprsim_dataplane::judge::Counters,
    agreement: zprsim_dataplane::flowlog::judge::Agreement,
    unplaced: zprsim_dataplane::flowlog::judge::Weight,
    flows: (u64, u64),
    judged: Vec<String>,
    unplaced_examples: Vec<(LogRecord, Unplaced)>,
    records: u64,
    duplicates: u64,
    first_duplicate: Option<(String, u64)>,
}

const EXAMPLES: usize = 5;

/// `got` equals `want`; the first judged record that differs is named.
fn same(got: &Result, want: &Result, what: &str) {
    for (k, (a, b)) in got.judged.iter().zip(&want.judged).enumerate() {
        assert_eq!(a, b, "{what}: judged record {k}");
    }
    assert_eq!(got.judged.len(), want.judged.len(), "{what}");
    assert_eq!(got.counters, want.counters, "{what}");
    assert!(got == want, "{what}: {:?} {:?}", got.flows, want.flows);
}

fn in_memory(s: &Scenario, c: &Compiled, text: &str) -> Result {
    let mut read = ReadOutcome::default();
    read_from("t.jsonl", 0, text.as_bytes(), &Limits::default(), &mut read).unwrap();
    read.end_reading();
    let j = judge_records(c, s, &read.records);
    Result {
        counters: j.counters.clone(),
        agreement: j.agreement,
        unplaced: j.unplaced,
        flows: (j.flows, j.flows_at_two_vnics),
        judged: j
            .judged
            .iter()
            .map(|x| {
                format!(
                    "{:?} {} {:?} {} {:?}",
                    read.records[x.record], x.vnic, x.direction, x.reply, x.fast
                )
            })
            .collect(),
        unplaced_examples: j
            .unplaced_records
            .iter()
            .take(EXAMPLES)
            .map(|&(i, why)| (read.records[i].clone(), why))
            .collect(),
        records: read.records.len() as u64 + read.duplicates,
        duplicates: read.duplicates,
        first_duplicate: read.first_duplicate.clone(),
    }
}

fn spilled_outcome(
    s: &Scenario,
    c: &Compiled,
    text: &str,
    cfg: SpillConfig,
) -> std::result::Result<(StreamOutcome, Vec<String>), String> {
    let mut read = ReadOutcome::spilling(FlowLogSpool::new(s, cfg));
    read_from("t.jsonl", 0, text.as_bytes(), &Limits::default(), &mut read)
        .map_err(|e| e.to_string())?;
    read.end_reading();
    let spool = read.spool.take().unwrap();
    let mut judged = Vec::new();
    let st = judge_spooled(c, spool, EXAMPLES, &|_| "t.jsonl".into(), None, |r, x| {
        judged.push(format!(
            "{r:?} {} {:?} {} {:?}",
            x.vnic, x.direction, x.reply, x.fast
        ));
        Ok(())
    })?;
    Ok((st, judged))
}

fn spilled(s: &Scenario, c: &Compiled, text: &str, cfg: SpillConfig) -> (Result, StreamOutcome) {
    let (st, judged) = spilled_outcome(s, c, text, cfg).unwrap();
    let j = &st.judgement;
    (
        Result {
            counters: j.counters.clone(),
            agreement: j.agreement,
            unplaced: j.unplaced,
            flows: (j.flows, j.flows_at_two_vnics),
            judged,
            unplaced_examples: st.unplaced_examples.clone(),
            records: st.records,
            duplicates: st.duplicates,
            first_duplicate: st.first_duplicate.map(|(_, l)| ("t.jsonl".to_owned(), l)),
        },
        st,
    )
}

fn cfg(buffer: usize, dir: &Path) -> SpillConfig {
    SpillConfig {
        buffer,
        dir: Some(dir.to_path_buf()),
        ..SpillConfig::default()
    }
}

#[test]
fn the_spilled_path_judges_as_the_in_memory_one() {
    let (s, c) = oke();
    let dir = tempfile::tempdir().unwrap();
    let seeds: u64 = std::env::var("FLOWLOG_SPILL_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let (mut spilled_runs, mut dups, mut replies, mut unplaced, mut dropped) = (0, 0, 0, 0, 0);
    for seed in 0..seeds {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.random_range(1..400);
        let text = random_log(&s, &mut rng, n);
        let want = in_memory(&s, &c, &text);
        for buffer in [1, 2, 7, 64, 100_000] {
            let (got, st) = spilled(&s, &c, &text, cfg(buffer, dir.path()));
            same(&got, &want, &format!("seed {seed} buffer {buffer}"));
            spilled_runs += st.stats.runs;
            dropped += st.stats.connections_dropped;
            // Unnamed temporary files: nothing left, nothing ever named.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
        dups += want.duplicates;
        replies += want.counters.replies_tracked;
        unplaced += want.unplaced.records;
    }
    // The random logs reach what they are for.
    assert!(spilled_runs > 0 && dups > 0 && replies > 0 && unplaced > 0 && dropped > 0);
}

/// Many records, a small buffer: most of them spilled, idle connections
/// dropped, the peak of tracked connections well under the connections
/// made, and the results those of the in-memory path.
#[test]
fn a_small_buffer_spills_and_bounds_the_tracking() {
    let (s, c) = oke();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let text = random_log(&s, &mut rng, 20_000);
    let want = in_memory(&s, &c, &text);
    let (got, st) = spilled(&s, &c, &text, cfg(50, dir.path()));
    same(&got, &want, "20,000 records, buffer 50");
    assert!(st.stats.runs >= 400, "{:?}", st.stats);
    assert!(
        st.stats.spilled_bytes >= st.stats.runs * 50 * 127,
        "{:?}",
        st.stats
    );
    assert!(st.stats.flow_runs > 0, "{:?}", st.stats);
    assert!(st.stats.connections_dropped > 0, "{:?}", st.stats);
    assert!(
        (st.stats.peak_connections as u64) < want.counters.connections,
        "{:?} {}",
        st.stats,
        want.counters.connections
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// One second holding more records than `max_group`: a named error with
/// the file and line, not memory without end.
#[test]
fn one_second_past_the_group_limit_is_a_named_error() {
    let (s, c) = oke();
    let dir = tempfile::tempdir().unwrap();
    let a: IpAddr = "10.0.2.11".parse().unwrap();
    let b: IpAddr = "10.0.0.5".parse().unwrap();
    let mut text = String::new();
    for i in 0..50u16 {
        let _ = writeln!(
            text,
            "{}",
            entry(
                None,
                "ocid1.vnic.oc1.iad.okeordersworker1",
                "ACCEPT",
                a,
                b,
                6,
                (40000 + i, 6443),
                1,
                1_717_000_000,
                1_717_000_010
            )
        );
    }
    let e = spilled_outcome(
        &s,
        &c,
        &text,
        SpillConfig {
            max_group: 10,
            ..cfg(3, dir.path())
        },
    )
    .err()
    .unwrap();
    assert!(
        e.starts_with("t.jsonl:11: more than 10 flow-log records start in the second 1717000000")
            && e.contains("`--max-flow-log-group`"),
        "{e}"
    );
    // At the limit, it passes.
    let ok = spilled_outcome(
        &s,
        &c,
        &text,
        SpillConfig {
            max_group: 50,
            ..cfg(3, dir.path())
        },
    );
    assert_eq!(ok.unwrap().0.judged, 50);
}

/// The temporary files are bounded: the run that would pass the limit is
/// refused before it is written, naming the flag, file and line.
#[test]
fn the_spill_limit_is_checked_before_a_run_is_written() {
    let (s, c) = oke();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let text = random_log(&s, &mut rng, 300);
    // Room for two runs of 10 records, not three.
    let e = spilled_outcome(
        &s,
        &c,
        &text,
        SpillConfig {
            max_spill: 2 * 10 * 127 + 400,
            ..cfg(10, dir.path())
        },
    )
    .err()
    .unwrap();
    assert!(
        e.starts_with("t.jsonl:") && e.contains("`--max-flow-log-spill`"),
        "{e}"
    );
}

/// Past 128 runs the spool merges runs into the same file before the end,
/// writing the records again: the limit counts them twice from then on.
#[test]
fn past_128_runs_the_spill_limit_counts_the_merges() {
    let (s, c) = oke();
    let dir = tempfile::tempdir().unwrap();
    let a: IpAddr = "10.0.2.11".parse().unwrap();
    let b: IpAddr = "10.0.0.5".parse().unwrap();
    let mut text = String::new();
    for i in 0..200u64 {
        let _ = writeln!(
            text,
            "{}",
            entry(
                None,
                "ocid1.vnic.oc1.iad.okeordersworker1",
                "ACCEPT",
                a,
                b,
                6,
                (40000, 6443),
                1,
                1_717_000_000 + i,
                1_717_000_000 + i
            )
        );
    }
    let limit = |max_spill| {
        spilled_outcome(
            &s,
            &c,
            &text,
            SpillConfig {
                max_spill,
                ..cfg(1, dir.path())
            },
        )
    };
    // Record k (line k + 1) writes run k; the 129th run counts twice.
    let e = limit(140 * 127).err().unwrap();
    assert!(
        e.starts_with("t.jsonl:130: ") && e.contains("`--max-flow-log-spill`"),
        "{e}"
    );
    let e = limit(128 * 127).err().unwrap();
    assert!(e.starts_with("t.jsonl:130: "), "{e}");
    let e = limit(128 * 127 - 1).err().unwrap();
    assert!(e.starts_with("t.jsonl:129: "), "{e}");
    // Room for all of it, merges included: judged as in memory.
    let (st, _) = limit(2 * 200 * 127).unwrap();
    assert_eq!(st.judged, 200);
    assert_eq!(st.stats.runs, 199);
}

/// More live connections than `max_connections`: a named error with the
/// file and line; idle ones do not count (dropped first), so a long log
/// of short connections passes the same bound.
#[test]
fn live_connections_past_the_bound_are_a_named_error() {
    let (s, c) = oke();
    let dir = tempfile::tempdir().unwrap();
    let a: IpAddr = "10.0.2.11".parse().unwrap();
    let b: IpAddr = "10.0.0.5".parse().unwrap();
    // 40 allowed connections (worker-1 to the API endpoint, port 6443),
    // `gap` seconds apart.
    let log = |gap: u64| {
        let mut text = String::new();
        for i in 0..40u16 {
            let t = 1_717_000_000 + u64::from(i) * gap;
            let _ = writeln!(
                text,
                "{}",
                entry(
                    None,
                    "ocid1.vnic.oc1.iad.okeordersworker1",
                    "ACCEPT",
                    a,
                    b,
                    6,
                    (40000 + i, 6443),
                    1,
                    t,
                    t
                )
            );
        }
        text
    };
    let bounded = |text: &str| {
        spilled_outcome(
            &s,
            &c,
            text,
            SpillConfig {
                max_connections: 10,
                ..cfg(3, dir.path())
            },
        )
    };
    // One a second: all live together (a TCP opening lives 60 s).
    let e = bounded(&log(1)).err().unwrap();
    assert!(
        e.starts_with("t.jsonl:11: more than 10 connections live at once")
            && e.contains("`--max-connections`"),
        "{e}"
    );
    // One every 61 s: at most one live at a time; every other dropped.
    let (st, _) = bounded(&log(61)).unwrap();
    assert_eq!(st.judgement.counters.connections, 40);
    assert_eq!(st.stats.connections_dropped, 39);
    assert_eq!(st.stats.peak_connections, 1);
}
