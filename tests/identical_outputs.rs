//! Outputs identical across processes: every command that writes
//! something, run twice as separate processes on inputs with many map
//! entries, writes the same bytes (timing fields masked).

use std::path::{Path, PathBuf};

use serde_json::Value;
use zprsim_control::compile::{Compiled, Config};

use crate::support::{root, zprsim};

/// The fields of an output that measure time, not the input: their
/// values are masked before two runs are compared. JSON: any key ending
/// in `_s` (`compile_s`, `duration_s`), `packets_per_second`,
/// `per_worker_pps`, `scaling` and the whole `batch_latency_ns` /
/// `latency_ns` and `compile_phases` objects. Text: the digits of a line that says how long
/// something took (`compiled in 0.008 s; packet phase ...`, `in 0.31 s`,
/// `packets/s`).
fn mask(name: &str, bytes: &[u8]) -> String {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    let timing = k.ends_with("_s")
                        || matches!(
                            k.as_str(),
                            "packets_per_second"
                                | "per_worker_pps"
                                | "scaling"
                                | "batch_latency_ns"
                                | "latency_ns"
                                | "compile_phases"
                        );
                    if timing {
                        *x = Value::from("#");
                    } else {
                        strip(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(bytes).into_owned();
    if let Ok(mut v) = serde_json::from_str::<Value>(&text) {
        strip(&mut v);
        return serde_json::to_string_pretty(&v).unwrap();
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let json_line = line.trim_start().starts_with('{');
        if json_line && let Ok(mut v) = serde_json::from_str::<Value>(line) {
            strip(&mut v);
            out.push_str(&v.to_string());
            out.push('\n');
            continue;
        }
        let timed = line.contains(" s;")
            || line.contains("packets/s")
            || line.contains("compiled in")
            || (line.contains(" in ") && line.trim_end().ends_with(" s"));
        if timed && !name.ends_with(".toml") {
            let mut in_number = false;
            for c in line.chars() {
                let digit = c.is_ascii_digit() || (in_number && c == '.');
                if !digit {
                    out.push(c);
                } else if !in_number {
                    out.push('#');
                }
                in_number = digit;
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Runs `args` twice, each time as its own process in its own empty
/// directory (`run1`, `run2` under `dir`), and compares stdout, stderr,
/// the exit code and every file the run wrote there, masked by [`mask`].
/// Returns how many bytes were compared, or the first difference.
fn twice(dir: &Path, what: &str, args: &[String]) -> Result<usize, String> {
    let mut runs = Vec::new();
    for n in 1..=2 {
        let d = dir.join(format!("run{n}"));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let o = zprsim().current_dir(&d).args(args).output().unwrap();
        let mut got = vec![
            ("exit".to_owned(), format!("{:?}", o.status.code())),
            ("stdout".to_owned(), mask("stdout", &o.stdout)),
            ("stderr".to_owned(), mask("stderr", &o.stderr)),
        ];
        let mut files: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            got.push((name.clone(), mask(&name, &std::fs::read(&f).unwrap())));
        }
        runs.push(got);
    }
    let size = runs[0].iter().map(|(_, t)| t.len()).sum();
    let names = |r: &[(String, String)]| r.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(&runs[0]) != names(&runs[1]) {
        return Err(format!("{what}: the two runs wrote different files"));
    }
    for ((name, a), (_, b)) in runs[0].iter().zip(&runs[1]) {
        if a != b {
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            return Err(format!(
                "{what}: `{name}` differs between two processes at line {}:\n  {:?}\n  {:?}\n(args {args:?})",
                line + 1,
                a.lines().nth(line),
                b.lines().nth(line)
            ));
        }
    }
    Ok(size)
}

/// Writes the generated OKE cluster of `nodes` nodes (`zprsim-gen oke`)
/// into `dir`, every VNIC with an OCID so that it logs flows, and a
/// proposed change beside it (the transitional CIDR policy gone):
/// `(scenario, proposed)`.
fn generated_cluster(dir: &Path, nodes: usize) -> (PathBuf, PathBuf) {
    let text = zprsim_bench::oke::scenario(nodes, nodes * 3).unwrap();
    let mut with_ids = String::new();
    let mut lines = text.lines().peekable();
    let mut after_vnic = false;
    while let Some(l) = lines.next() {
        with_ids.push_str(l);
        with_ids.push('\n');
        if after_vnic
            && let Some(name) = l.strip_prefix("name = \"")
            && !lines.peek().is_some_and(|n| n.starts_with("id = "))
        {
            let name = name.trim_end_matches('"');
            with_ids.push_str(&format!("id = \"ocid1.vnic.oc1.iad.gen{name}\"\n"));
        }
        after_vnic = l == "[[vnic]]";
    }
    std::fs::create_dir_all(dir.join("policies")).unwrap();
    std::fs::write(dir.join("policies/orders.zpl"), zprsim_bench::oke::POLICY).unwrap();
    std::fs::write(dir.join("expect.toml"), zprsim_bench::oke::EXPECT).unwrap();
    let scenario = dir.join("scenario.toml");
    std::fs::write(&scenario, &with_ids).unwrap();
    let cut = with_ids.find("# Transitional").unwrap();
    let end = cut + with_ids[cut..].find("\n]\n").unwrap() + 3;
    let proposed = dir.join("proposed.toml");
    std::fs::write(
        &proposed,
        format!("{}{}", &with_ids[..cut], &with_ids[end..]),
    )
    .unwrap();
    (scenario, proposed)
}

/// A realistic capture of the scenario at `path` (most flows allowed)
/// and the flow logs OCI would write for it: `(pcap, jsonl)`.
fn capture_and_logs(path: &Path, flows: usize, packets: usize) -> (PathBuf, PathBuf) {
    let loaded = zprsim_dataplane::scenario_file::load_path(path).unwrap();
    let s = &loaded.scenario;
    let c = Compiled::new(s, &Config::default()).unwrap();
    let cfg = zprsim_dataplane::synth::SynthConfig {
        packets,
        flows,
        seed: 24,
        ..zprsim_dataplane::synth::SynthConfig::default()
    };
    let allowed = zprsim_dataplane::synth::Allowed {
        compiled: &c,
        share: 0.6,
    };
    let (pcap, _) =
        zprsim_dataplane::synth::write_realistic_allowed(s, &cfg, Some(allowed), Vec::new())
            .unwrap();
    let recs = zprsim_bench::flowlogs::records_from_capture(s, &c, &pcap);
    let entries: Vec<_> = recs
        .iter()
        .enumerate()
        .map(|(n, r)| zprsim_bench::flowlogs::entry(r, n as u64))
        .collect();
    let cap = path.with_extension("pcap");
    let log = path.with_extension("jsonl");
    std::fs::write(&cap, pcap).unwrap();
    std::fs::write(&log, zprsim_bench::flowlogs::json_lines(&entries)).unwrap();
    (cap, log)
}

/// Planning 2: ahash's map keys are drawn per process, so a map's
/// iteration order that reached an output would differ between two runs
/// of one command. Every command that writes something, on inputs with
/// many map entries (the OKE example, a generated 20-node cluster with
/// 60 pod IPs, a cut export of it), run twice as separate processes:
/// every output byte-identical, timing fields masked ([`mask`]).
///
/// Found by QA round seventeen (twenty-second session, branch s24-qa).
#[test]
fn every_output_is_identical_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let oke = root().join("examples/oke-orders");
    let oke_s = s(&oke.join("scenario.toml"));
    let oke_p = s(&oke.join("proposed.toml"));
    let oke_x = s(&oke.join("expect.toml"));
    let demo = s(&root().join("pcaps/oke-demo.pcap"));
    let oke_log = s(&oke.join("flowlogs/oke-demo.jsonl"));

    let (gen_s, gen_p) = generated_cluster(&d.join("gen"), 20);
    let (gen_cap, gen_log) = capture_and_logs(&gen_s, 1_500, 12_000);
    let gen_x = d.join("gen/expect.toml");

    // A cut export of the generated cluster: the security lists, one
    // NSG's rules and one VNIC's `get` left out.
    let loaded = zprsim_dataplane::scenario_file::load_path(&gen_s).unwrap();
    let (files, services) = zprsim_bench::oci_export::export(&loaded.scenario);
    let export = d.join("export");
    std::fs::create_dir_all(&export).unwrap();
    let mut cut = 0;
    for (name, text) in &files {
        let leave = name == "network-security-list-list.json"
            || name.ends_with("gen000001.json")
            || name == "network-vnic-get-12.json";
        if leave {
            cut += 1;
        } else {
            std::fs::write(export.join(name), text).unwrap();
        }
    }
    assert!(
        cut >= 2,
        "the cut left out {cut} files of {:?}",
        files.keys()
    );
    let services_path = d.join("services.json");
    std::fs::write(&services_path, services).unwrap();
    let imported = d.join("imported.toml");
    let o = zprsim()
        .args([
            "import",
            "oci",
            &s(&export),
            "--services",
            &s(&services_path),
            "-o",
        ])
        .arg(&imported)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let imp = s(&imported);
    let (imp_cap, imp_log) = capture_and_logs(&imported, 800, 6_000);

    let v = |a: &[&str]| a.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
    let mut runs: Vec<(String, Vec<String>)> = vec![(
        "import oci".into(),
        v(&[
            "import",
            "oci",
            &s(&export),
            "--services",
            &s(&services_path),
            "-o",
            "i.toml",
        ]),
    )];
    let gs = s(&gen_s);
    let gp = s(&gen_p);
    for (name, sc, prop, x, cap, log) in [
        ("oke", &oke_s, &oke_p, oke_x.clone(), &demo, &oke_log),
        ("gen20", &gs, &gp, s(&gen_x), &s(&gen_cap), &s(&gen_log)),
        ("cut", &imp, &gs, s(&gen_x), &s(&imp_cap), &s(&imp_log)),
    ] {
        runs.push((format!("{name} check"), v(&["check", sc, "--json"])));
        runs.push((format!("{name} dump-table"), v(&["dump-table", sc])));
        runs.push((
            format!("{name} verify --json"),
            v(&["verify", sc, &x, "--json"]),
        ));
        runs.push((
            format!("{name} verify"),
            v(&["verify", sc, &x, "--junit", "j.xml"]),
        ));
        for w in ["1", "2"] {
            for input in [cap, log] {
                runs.push((
                    format!("{name} replay {input} -w {w}"),
                    v(&[
                        "replay",
                        sc,
                        input,
                        "--report",
                        "r.json",
                        "--flows",
                        "f.jsonl",
                        "--workers",
                        w,
                    ]),
                ));
                runs.push((
                    format!("{name} diff {input} -w {w}"),
                    v(&[
                        "diff",
                        sc,
                        prop,
                        input,
                        "--report",
                        "r.json",
                        "--flows",
                        "f.jsonl",
                        "--workers",
                        w,
                    ]),
                ));
            }
        }
        for (n, extra) in [("1", "--json"), ("7", "--dedup"), ("40", "--json")] {
            runs.push((
                format!("{name} explain packet {n}"),
                v(&["explain", sc, "--capture", cap, "--packet", n, extra]),
            ));
        }
    }
    for (src, dst, port) in [
        ("orders-lb", "worker-1", "30080"),
        ("worker-1", "orders-fss-mt", "2049"),
        ("worker-1", "k8s-api-endpoint", "6443"),
    ] {
        for sc in [&oke_s, &gs, &imp] {
            runs.push((
                format!("explain {src} {dst}"),
                v(&[
                    "explain", sc, "--src", src, "--dst", dst, "--proto", "tcp", "--dport", port,
                ]),
            ));
        }
    }
    let mut bytes = 0;
    let mut failures = Vec::new();
    for (what, args) in &runs {
        match twice(d, what, args) {
            Ok(n) => bytes += n,
            Err(e) => failures.push(e),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!(
        "{} commands run twice each, {bytes} bytes of output compared",
        runs.len()
    );
}
