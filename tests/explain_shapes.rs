//! `explain --capture F --packet N` with `--dedup` and `--node-local`:
//! packet N judged with the state of the packets `replay` with the same
//! flags would have judged before it, the capture's record numbers kept.
//!
//! The captures are the demo reshaped as `capture_shapes.rs` does it:
//! each IP record followed 15 µs later by its forwarded copy on an SLL2
//! interface (TTL one less), and each IPv4 record preceded 5 µs earlier
//! by a ClusterIP twin (destination 10.96.0.10, before kube-proxy's
//! rewrite). Explaining the record that holds demo packet N there, with
//! the flags, must give the demo's explanation of packet N (its packet
//! numbers translated); a copy's or a twin's number is refused, the copy
//! naming the record it copies.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use tempfile::TempDir;
use zprsim_dataplane::capture::Capture;
use zprsim_dataplane::parse;
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

use crate::capture_shapes::{demo, sll2};

const SLL2: u32 = 276;

/// A reshaped demo: where each demo record went, and the records added.
pub(crate) struct Shaped {
    /// Demo record k (1-based) is record `at[&k]` of the reshaped capture.
    at: HashMap<u64, u64>,
    /// (copy's record, the record it copies), both numbered in the
    /// reshaped capture.
    copies: Vec<(u64, u64)>,
    /// ClusterIP twins' records.
    twins: Vec<u64>,
}

/// The demo with copies after its IP records (`copies`) and ClusterIP
/// twins before its IPv4 records (`twins`), written to `out`.
pub(crate) fn reshape(demo: &Path, out: &Path, copies: bool, twins: bool) -> Shaped {
    let c = Capture::from_bytes(std::fs::read(demo).unwrap()).unwrap();
    let f = std::fs::File::create(out).unwrap();
    let lts: &[u32] = if copies { &[1, SLL2] } else { &[1] };
    let mut w = PcapOut::create(f, OutFormat::for_link_types(lts)).unwrap();
    let mut s = Shaped {
        at: HashMap::new(),
        copies: Vec::new(),
        twins: Vec::new(),
    };
    let mut number = 0u64;
    for (k, r) in c.records().enumerate() {
        let r = r.unwrap();
        let ip_at = parse::ip_start(r.linktype, r.data);
        let v4 = ip_at.is_some_and(|at| r.data[at] >> 4 == 4 && r.data.len() >= at + 20);
        if twins && v4 {
            let at = ip_at.unwrap();
            let mut twin = r.data.to_vec();
            twin[at + 16..at + 20].copy_from_slice(&[10, 96, 0, 10]);
            w.write(r.ts_ns.saturating_sub(5_000), 1, r.orig_len, &twin)
                .unwrap();
            number += 1;
            s.twins.push(number);
        }
        w.write(r.ts_ns, r.linktype, r.orig_len, r.data).unwrap();
        number += 1;
        let original = number;
        s.at.insert(k as u64 + 1, original);
        let Some(at) = ip_at.filter(|_| copies) else {
            continue;
        };
        let mut ip = r.data[at..].to_vec();
        match ip.first().map(|b| b >> 4) {
            Some(4) if ip.len() >= 20 => {
                ip[8] = ip[8].wrapping_sub(1);
                ip[10] ^= 0x01;
            }
            Some(6) if ip.len() >= 40 => ip[7] = ip[7].wrapping_sub(1),
            _ => continue,
        }
        let orig = r.orig_len - u32::try_from(at).unwrap() + 20;
        w.write(r.ts_ns + 15_000, SLL2, orig, &sll2(7, &ip))
            .unwrap();
        number += 1;
        s.copies.push((number, original));
    }
    w.finish().unwrap();
    s
}

/// `explain --capture CAPTURE --packet N --json` with `extra`: the JSON
/// (without the capture's name), or the error message.
fn explain(dir: &Path, capture: &str, n: u64, extra: &[&str]) -> Result<Value, String> {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/scenario.toml");
    let mut args = vec![
        "explain".to_owned(),
        scenario.display().to_string(),
        "--capture".to_owned(),
        capture.to_owned(),
        "--packet".to_owned(),
        n.to_string(),
        "--json".to_owned(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let o = crate::support::run_in(dir, &args);
    if !o.status.success() {
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    let mut v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_object_mut().unwrap().remove("capture");
    Ok(v)
}

/// The demo's explanation of a packet with its packet numbers as the
/// reshaped capture numbers them.
fn renumbered(mut v: Value, at: &HashMap<u64, u64>) -> Value {
    let n = v["packet_number"].as_u64().unwrap();
    v["packet_number"] = at[&n].into();
    if let Some(by) = v["opened_by"].as_u64() {
        v["opened_by"] = at[&by].into();
        let context = v["context"].as_str().unwrap().replace(
            &format!("packet {by} opened"),
            &format!("packet {} opened", at[&by]),
        );
        v["context"] = context.into();
    }
    v
}

/// Demo packets explained: the first ones, replies (packets opened by an
/// earlier one) and drops, spread over the capture.
const PACKETS: [u64; 13] = [1, 2, 3, 9, 20, 47, 57, 61, 100, 120, 150, 172, 188];

fn explains_as_the_demo(copies: bool, twins: bool, flags: &[&str]) {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let s = reshape(
        &d.join("demo.pcap"),
        &d.join("shaped.pcapng"),
        copies,
        twins,
    );
    assert_eq!(!s.copies.is_empty(), copies);
    assert_eq!(!s.twins.is_empty(), twins);
    let mut replies = 0;
    for n in PACKETS {
        let want = explain(d, "demo.pcap", n, &[]).map(|v| renumbered(v, &s.at));
        let got = explain(d, "shaped.pcapng", s.at[&n], flags);
        replies += usize::from(want.as_ref().is_ok_and(|v| v["reply"] == true));
        match (&want, &got) {
            (Ok(w), Ok(g)) => assert_eq!(g, w, "demo packet {n}"),
            // Not IP in the demo: not IP in the reshaped capture either.
            (Err(w), Err(g)) => {
                assert!(w.contains("not an IP packet"), "{w}");
                assert!(g.contains("not an IP packet"), "{g}");
            }
            _ => panic!("demo packet {n}: {want:?} against {got:?}"),
        }
    }
    // Replies are among them: the tracking state before N counted.
    assert!(replies >= 6, "{replies}");

    // A copy's number: refused, naming the record it copies.
    for &(copy, of) in s.copies.iter().step_by(37) {
        let e = explain(d, "shaped.pcapng", copy, flags).unwrap_err();
        assert!(
            e.contains(&format!(
                "packet {copy} is a copy of packet {of}, 15 µs apart"
            )),
            "{e}"
        );
        // Without --dedup the copy is a packet like any other.
        let plain: Vec<&str> = flags.iter().copied().filter(|f| *f != "--dedup").collect();
        assert!(explain(d, "shaped.pcapng", copy, &plain).is_ok());
    }
    // A twin's number: refused as node-local.
    for &twin in s.twins.iter().step_by(29) {
        let e = explain(d, "shaped.pcapng", twin, flags).unwrap_err();
        assert!(
            e.contains(&format!("packet {twin} ("))
                && e.contains("-> 10.96.0.10) is to or from a `--node-local` prefix"),
            "{e}"
        );
    }
}

#[test]
fn explain_with_dedup_judges_a_capture_with_copies_as_the_demo() {
    explains_as_the_demo(true, false, &["--dedup"]);
}

#[test]
fn explain_with_node_local_judges_a_capture_with_cluster_ip_twins_as_the_demo() {
    explains_as_the_demo(false, true, &["--node-local", "10.96.0.0/16"]);
}

#[test]
fn explain_with_both_judges_a_node_capture_as_the_demo() {
    explains_as_the_demo(true, true, &["--dedup", "--node-local", "10.96.0.0/16"]);
}

/// The flags need `--capture`, and a prefix that is not one is a usage
/// error.
#[test]
fn explain_capture_flags_need_a_capture() {
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    demo(d);
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/oke-orders/scenario.toml");
    let s = scenario.to_str().unwrap();
    for flag in [&["--dedup"][..], &["--node-local", "10.96.0.0/16"]] {
        let mut args = vec![
            "explain",
            s,
            "--src",
            "10.0.10.21",
            "--dst",
            "10.0.30.10",
            "--proto",
            "tcp",
            "--dport",
            "2049",
        ];
        args.extend(flag);
        let o = crate::support::run_in(d, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    let o = crate::support::run_in(
        d,
        [
            "explain",
            s,
            "--capture",
            "demo.pcap",
            "--packet",
            "1",
            "--node-local",
            "10.96.0.0/99",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("neither a CIDR"));
}
