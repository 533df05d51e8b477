//! `explain --capture F --packet N` judges packet N in the state `replay`
//! gives it: for every packet of random captures (replies, timeouts
//! crossed), under the default bound and under a small `--max-connections`
//! (connections evicted), explain's verdict and context are the engine's.
//! Before explain tracked with replay's own tracker, it kept a copy of its
//! loop with other tables and always the default bound, so a replay run
//! with `--max-connections` was explained in another state.

use std::sync::Arc;

use zprsim_control::compile::{Compiled, Config};
use zprsim_control::model::Scenario;
use zprsim_control::packet::{L4, Packet};
use zprsim_control::verdict::{Context, Verdict};
use zprsim_dataplane::bench::synth_config;
use zprsim_dataplane::capture::RecordStream;
use zprsim_dataplane::capture_state;
use zprsim_dataplane::engine::shape::Shape;
use zprsim_dataplane::engine::{self, EngineConfig, Frame, MemorySource, Sinks};
use zprsim_dataplane::parse::{Parsed, parse_frame};
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};
use zprsim_dataplane::synth::{Allowed, write_realistic_allowed};

use crate::engine::Collect;
use crate::replay_oracle::{Pkt, frame};
use crate::support::{no_disagreement, run_in, seeds};

/// The engine's verdict of every record (all IP here: record n is judged
/// n - 1), and the connections it evicted.
fn replayed(c: &Arc<Compiled>, fr: &[Frame], max: usize) -> Result<(Vec<bool>, u64), String> {
    let mut sink = Collect::default();
    let cfg = EngineConfig {
        workers: 2,
        max_connections: max,
        max_flow_records: max,
        ..EngineConfig::default()
    };
    let o = engine::run(
        &[Arc::clone(c)],
        &mut MemorySource::new(fr.to_vec()),
        &cfg,
        Sinks {
            verdicts: Some(&mut sink),
            ..Sinks::default()
        },
    )
    .map_err(|e| e.to_string())?;
    if sink.verdicts.len() != fr.len() {
        return Err(format!(
            "{} records, {} judged",
            fr.len(),
            sink.verdicts.len()
        ));
    }
    let allowed = sink.verdicts.iter().map(|v| v[0].is_none()).collect();
    Ok((allowed, o.scenarios[0].counters.connections_evicted))
}

/// Frames as a pcap file's bytes.
fn pcap_of(fr: &[Frame]) -> Result<Vec<u8>, String> {
    let mut w =
        PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).map_err(|e| e.to_string())?;
    for f in fr {
        w.write(f.ts_ns, f.linktype, f.orig_len, &f.data)
            .map_err(|e| e.to_string())?;
    }
    w.finish().map_err(|e| e.to_string())
}

/// A pcap file's records as frames.
fn frames_of(pcap: &[u8]) -> Result<Vec<Frame>, String> {
    let mut fr = Vec::new();
    let mut rs = RecordStream::new(std::io::Cursor::new(pcap)).map_err(|e| e.to_string())?;
    while let Some(r) = rs.next_record() {
        let r = r.map_err(|e| e.to_string())?;
        fr.push(Frame {
            ts_ns: r.ts_ns,
            linktype: r.linktype,
            orig_len: r.orig_len,
            data: r.data.to_vec(),
        });
    }
    Ok(fr)
}

/// The oke demo's first session (SYN, then the SYN-ACK tracking allows),
/// with 2,000 more allowed connections between the two packets from other
/// source ports: under `--max-connections 1` (one per shard) one of them
/// lands in the session's shard and evicts it, and the SYN-ACK is judged
/// as a first packet.
fn evicting_frames(demo: &[u8]) -> Result<Vec<Frame>, String> {
    let mut meta = Vec::new();
    for f in frames_of(demo)? {
        if let Parsed::Ip(m) = parse_frame(f.linktype, &f.data) {
            meta.push((m, f.ts_ns));
        }
    }
    let [(syn, t0), (syn_ack, _), ..] = meta.as_slice() else {
        return Err("the demo has fewer than two IP packets".into());
    };
    let at = |p: &Packet, flags: u8, ts: u64| {
        let data = frame(&Pkt { p: *p, flags, ts });
        Frame {
            ts_ns: ts,
            linktype: 1,
            orig_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            data,
        }
    };
    let mut out = vec![at(&syn.packet, syn.tcp_flags, *t0)];
    for i in 0..2000u16 {
        let mut p = syn.packet;
        if let L4::Ports { dport, .. } = p.l4 {
            p.l4 = L4::Ports {
                sport: 20000 + i,
                dport,
            };
        }
        out.push(at(&p, syn.tcp_flags, t0 + 1000 * u64::from(i + 1)));
    }
    out.push(at(&syn_ack.packet, syn_ack.tcp_flags, t0 + 3_000_000));
    Ok(out)
}

/// A realistic capture of `s` (handshakes, replies, teardowns, IPv6,
/// fragments, VLAN tags; 500 flows in 30 s, most of them on paths
/// the policy allows) from `seed`.
fn realistic(s: &Scenario, c: &Compiled, seed: u64) -> Result<Vec<u8>, String> {
    let mut cfg = synth_config(s, 1500, 500, seed);
    cfg.duration_s = 30;
    let allowed = Allowed {
        compiled: c,
        share: 0.8,
    };
    let (pcap, _) =
        write_realistic_allowed(s, &cfg, Some(allowed), Vec::new()).map_err(|e| e.to_string())?;
    Ok(pcap)
}

#[test]
fn explain_gives_every_packet_the_verdict_replay_gives_it() {
    let (mut evicted, mut replies, mut bound_changed) = (0u64, 0u64, 0usize);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let s =
        zprsim_dataplane::scenario_file::load_path(&root.join("examples/oke-orders/scenario.toml"))
            .unwrap()
            .scenario;
    let c = Arc::new(Compiled::new(&s, &Config::default()).unwrap());
    let demo = std::fs::read(root.join("pcaps/oke-demo.pcap")).unwrap();
    no_disagreement(seeds("ZPRSIM_EXPLAIN_STATE_SEEDS", 3), |seed| {
        // Seed 0: the evicted session; the others: realistic traffic.
        let (fr, pcap) = if seed == 0 {
            let fr = evicting_frames(&demo)?;
            let pcap = pcap_of(&fr)?;
            (fr, pcap)
        } else {
            let pcap = realistic(&s, &c, seed)?;
            (frames_of(&pcap)?, pcap)
        };
        // One connection per shard at most: a busy shard evicts, and some
        // replies then pass or drop otherwise than under the default bound.
        let (unbounded, _) = replayed(&c, &fr, engine::DEFAULT_MAX_CONNECTIONS)?;
        let (bounded, ev) = replayed(&c, &fr, 1)?;
        evicted += ev;
        let changed: Vec<usize> = (0..fr.len())
            .filter(|&i| unbounded[i] != bounded[i])
            .collect();
        bound_changed += changed.len();
        for (max, want) in [(engine::DEFAULT_MAX_CONNECTIONS, &unbounded), (1, &bounded)] {
            // Every packet the bound changes, and every seventh one (each
            // explain replays the capture up to its packet).
            let picked = (0..fr.len()).filter(|i| i % 7 == 0 || changed.contains(i));
            for i in picked {
                let n = i as u64 + 1;
                let mut cap =
                    RecordStream::new(std::io::Cursor::new(&pcap)).map_err(|e| e.to_string())?;
                let mut shape = Shape::new(false, &[], false);
                let found = capture_state::packet_n(&mut cap, "t.pcap", &c, n, &mut shape, max)
                    .map_err(|e| format!("packet {n}: {e}"))?;
                let got = c.judge(&found.packet, found.context).judgement.verdict;
                if (got == Verdict::Allow) != want[i] {
                    return Err(format!(
                        "seed {seed}, --max-connections {max}, packet {n}: explain {got:?} in {:?}, replay allowed: {}",
                        found.context, want[i]
                    ));
                }
                if let Context::Reply(_) = found.context {
                    replies += 1;
                    let by = found
                        .opened_by
                        .ok_or_else(|| format!("packet {n}: a reply without its opener"))?;
                    // The opener is an earlier packet replay allowed.
                    let ok = usize::try_from(by).is_ok_and(|b| b >= 1 && b < i + 1 && want[b - 1]);
                    if !ok {
                        return Err(format!("seed {seed}, packet {n}: opened by {by}"));
                    }
                }
            }
        }
        Ok(())
    });
    eprintln!(
        "{evicted} connections evicted, {bound_changed} verdicts changed by the bound, {replies} replies explained"
    );
    assert!(evicted > 0 && replies > 0 && bound_changed > 0);
}

/// Through the command line: `--max-connections` takes replay's bound, and
/// only with `--capture`.
#[test]
fn explain_takes_replays_connection_bound() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let demo = std::fs::read(root.join("pcaps/oke-demo.pcap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("evicting.pcap");
    let fr = evicting_frames(&demo).unwrap();
    std::fs::write(&cap, pcap_of(&fr).unwrap()).unwrap();
    let n = fr.len().to_string();
    let explain = |extra: &[&str]| {
        let mut args = vec![
            "explain",
            "examples/oke-orders/scenario.toml",
            "--capture",
            cap.to_str().unwrap(),
            "--packet",
            &n,
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = run_in(root, &args);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        (o.status.code(), v["verdict"].clone(), v["reply"].clone())
    };
    assert_eq!(explain(&[]), (Some(0), "allow".into(), true.into()));
    assert_eq!(
        explain(&["--max-connections", "1"]),
        (Some(0), "drop".into(), false.into())
    );
    let o = run_in(
        root,
        [
            "explain",
            "examples/oke-orders/scenario.toml",
            "--src",
            "10.0.10.10",
            "--dst",
            "10.0.20.10",
            "--proto",
            "tcp",
            "--max-connections",
            "1",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run_in(
        root,
        [
            "explain",
            "examples/oke-orders/scenario.toml",
            "--capture",
            "pcaps/oke-demo.pcap",
            "--packet",
            "1",
            "--max-connections",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--max-connections 0"));
}
