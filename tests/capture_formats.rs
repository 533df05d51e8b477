//! Captures as users bring them: empty input, records cut by the snapshot length, files out
//! of time order, captures one after the other in one input (plain, gzip, standard input),
//! pcapng blocks over their bound, zstd skippable frames and dictionaries.

use serde_json::Value;

use crate::compressed_captures::{gz, json_of, part, replay};
use crate::support::{DEMO, OKE, oke_copy, root, run_in, skippable};

/// An empty capture, or nothing piped into `-` (a `tcpdump -w -` that
/// failed before writing its header), was "byte 0: not a pcap or pcapng
/// file", as if the bytes were of another kind; it now says the input is
/// empty, for `replay`, `diff`, `explain --capture` and `bench --capture`.
///
/// Found by the eleventh session's review.
#[test]
fn an_empty_capture_or_empty_standard_input_is_named_empty() {
    let t = oke_copy();
    let dir = t.path();
    std::fs::write(dir.join("empty.pcap"), b"").unwrap();
    let runs: [&[&str]; 5] = [
        &["replay", "scenario.toml", "-"],
        &["replay", "scenario.toml", "empty.pcap"],
        &["diff", "scenario.toml", "scenario.toml", "empty.pcap"],
        &[
            "explain",
            "scenario.toml",
            "--capture",
            "empty.pcap",
            "--packet",
            "1",
        ],
        &["bench", "scenario.toml", "--capture", "empty.pcap"],
    ];
    for args in runs {
        let out = assert_cmd::Command::cargo_bin("zprsim")
            .unwrap()
            .current_dir(dir)
            .args(args)
            .write_stdin(Vec::<u8>::new())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("empty (0 bytes)"), "{args:?}: {err}");
        // `replay` and `diff` read flow logs too: the message names both
        // (QA round 22, B6: an empty `.jsonl` was told of pcap headers only).
        assert!(err.contains("a flow log"), "{args:?}: {err}");
        assert!(
            !err.contains("not a pcap or pcapng file"),
            "{args:?}: {err}"
        );
    }
}

/// Records cut by a small snapshot length (`tcpdump -s 30`) before their
/// IP header ends are malformed drops; the run gave no reason, so a
/// capture setting looked like broken traffic. A warning now names the
/// count and the fix; an intact capture has none.
///
/// Found by the eleventh session's review.
#[test]
fn records_cut_by_the_snapshot_length_are_named_in_a_warning() {
    let t = oke_copy();
    let dir = t.path();
    // Every other record of the demo cut to 30 bytes (Ethernet and 16
    // bytes of IPv4 header), its original length kept.
    let b = std::fs::read(dir.join("in.pcap")).unwrap();
    let mut out = b[..24].to_vec();
    let (mut at, mut n, mut cut) = (24, 0usize, 0usize);
    let word = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    while at + 16 <= b.len() {
        let incl = word(at + 8) as usize;
        let keep = if n % 2 == 0 { incl.min(30) } else { incl };
        // Non-IP records (ARP) of the demo are non-IP cut or not: only
        // IPv4 and IPv6 records become malformed, and those are counted.
        let ethertype = [b[at + 16 + 12], b[at + 16 + 13]];
        if keep < incl && (ethertype == [0x08, 0x00] || ethertype == [0x86, 0xdd]) {
            cut += 1;
        }
        out.extend_from_slice(&b[at..at + 8]);
        out.extend_from_slice(&u32::try_from(keep).unwrap().to_le_bytes());
        out.extend_from_slice(&b[at + 12..at + 16]);
        out.extend_from_slice(&b[at + 16..at + 16 + keep]);
        at += 16 + incl;
        n += 1;
    }
    std::fs::write(dir.join("cut.pcap"), out).unwrap();
    assert!(cut > 0);
    let mut seen = Vec::new();
    for workers in ["1", "3"] {
        let o = crate::support::run_in(
            dir,
            ["replay", "scenario.toml", "cut.pcap", "--workers", workers],
        );
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let line = err
            .lines()
            .find(|l| l.contains("snapshot length"))
            .unwrap_or_else(|| panic!("no snapshot-length warning: {err}"))
            .to_owned();
        assert!(
            line.starts_with(&format!("warning: cut.pcap: {cut} record(s)")),
            "{line}"
        );
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(text.contains(&format!("malformed {cut}")), "{text}");
        seen.push(line);
    }
    assert_eq!(seen[0], seen[1]);
    let o = crate::support::run_in(dir, ["replay", "scenario.toml", "in.pcap"]);
    assert!(!String::from_utf8_lossy(&o.stderr).contains("snapshot length"));
}

/// The demo capture as `tcpdump -s SNAPLEN` writes it: every record cut
/// to `snaplen` bytes, its original length kept; and how many of its TCP
/// records keep their ports but lose their flags byte (Ethernet, IPv4 or
/// IPv6 without options or extension headers, as the demo's are).
pub fn snapped(b: &[u8], snaplen: usize) -> (Vec<u8>, usize) {
    let mut out = b[..24].to_vec();
    out[16..20].copy_from_slice(&u32::try_from(snaplen).unwrap().to_le_bytes());
    let (mut at, mut flagless) = (24, 0);
    let word = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    while at + 16 <= b.len() {
        let incl = word(at + 8) as usize;
        let keep = incl.min(snaplen);
        let f = &b[at + 16..at + 16 + incl];
        let tcp_at = match (f[12], f[13]) {
            (0x08, 0x00) if f[23] == 6 => Some(14 + usize::from(f[14] & 0x0f) * 4),
            (0x86, 0xdd) if f[20] == 6 => Some(54),
            _ => None,
        };
        if tcp_at.is_some_and(|t| (t + 4..=t + 13).contains(&keep)) {
            flagless += 1;
        }
        out.extend_from_slice(&b[at..at + 8]);
        out.extend_from_slice(&u32::try_from(keep).unwrap().to_le_bytes());
        out.extend_from_slice(&b[at + 12..at + 16]);
        out.extend_from_slice(&f[..keep]);
        at += 16 + incl;
    }
    (out, flagless)
}

/// A capture whose snapshot length ends inside the TCP header, after the
/// ports (`tcpdump -s 40`: 38-47 bytes of an Ethernet, IPv4 and TCP
/// frame), was judged with flags 0 and no word: a FIN or RST cut off
/// leaves its connection a day's timeout, an ACK cut off makes a packet
/// from a connection's middle look like its opener (audit statements).
/// One `tcp-header-cut` warning a run now counts them, in the text and the
/// report, for `replay` (any number of workers) and `diff`; the verdicts
/// are unchanged (semantics.md says nothing of missing flags), and a
/// snapshot length that keeps the flags gives none.
///
/// Found by the twenty-sixth session's QA (branch s26-tests).
#[test]
fn a_capture_cut_inside_the_tcp_header_says_its_packets_lost_their_flags() {
    let t = oke_copy();
    let dir = t.path();
    let b = std::fs::read(dir.join("in.pcap")).unwrap();
    let warnings = |args: &[&str]| -> (Vec<Value>, String) {
        let mut a = args.to_vec();
        a.extend(["--report", "r.json"]);
        let o = run_in(dir, &a);
        assert!(o.status.code().is_some_and(|c| c <= 1), "{o:?}");
        let r: Value = serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap();
        let w = r["run_warnings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["code"] == "tcp-header-cut")
            .cloned()
            .collect();
        (w, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    for snaplen in [38, 40, 47] {
        let (cut, flagless) = snapped(&b, snaplen);
        assert!(flagless > 100, "{snaplen}: {flagless}");
        std::fs::write(dir.join("cut.pcap"), cut).unwrap();
        let text = format!(
            "{flagless} TCP packet(s) were captured through their ports but not their TCP flags"
        );
        for args in [
            &["replay", "scenario.toml", "cut.pcap", "--workers", "1"][..],
            &["replay", "scenario.toml", "cut.pcap", "--workers", "3"],
            &["diff", "scenario.toml", "proposed.toml", "cut.pcap"],
        ] {
            let (w, err) = warnings(args);
            assert_eq!(w.len(), 1, "{args:?}: {w:?}");
            let m = w[0]["message"].as_str().unwrap();
            assert!(
                m.starts_with(&format!("cut.pcap: {text}")) && m.contains("`tcpdump -s 0`"),
                "{m}"
            );
            assert_eq!(w[0]["file"], "cut.pcap", "{w:?}");
            assert!(
                err.contains(&format!("warning: cut.pcap: {text}")),
                "{args:?}: {err}"
            );
        }
    }
    // The flags byte kept (48 bytes), or the whole capture: no warning.
    let (cut, flagless) = snapped(&b, 48);
    assert_eq!(flagless, 0);
    std::fs::write(dir.join("cut.pcap"), cut).unwrap();
    assert_eq!(
        warnings(&["replay", "scenario.toml", "cut.pcap"]).0,
        Vec::<Value>::new()
    );
    assert_eq!(
        warnings(&["replay", "scenario.toml", "in.pcap"]).0,
        Vec::<Value>::new()
    );
}

/// The `tcp-header-cut` warning counted the packets of every input
/// together and named none, where the other per-file warnings
/// (`snapshot-length`, `truncated-record`) name theirs: with several
/// captures, which to capture again was not said. It is now one warning
/// per input that had such packets, naming it (`file` in the report) with
/// its own count, in input order, whatever the workers and whether the
/// inputs are plain or gzip; `diff` alike, and `bench --capture`, whose
/// source copies records of several inputs into one batch (each record's
/// input then splits the batch's count).
///
/// Planning item 5 of the twenty-eighth session (branch s28-polish).
#[test]
fn the_tcp_header_cut_warning_names_each_input_it_counted_in() {
    let t = oke_copy();
    let dir = t.path();
    let b = std::fs::read(dir.join("in.pcap")).unwrap();
    let (cut40, n40) = snapped(&b, 40);
    let (cut38, n38) = snapped(&b, 38);
    assert!(n40 > 100 && n38 > 100, "{n40} {n38}");
    for (ext, pack) in [
        ("pcap", (|x: &[u8]| x.to_vec()) as fn(&[u8]) -> Vec<u8>),
        ("pcap.gz", gz),
    ] {
        let name = |n: &str| format!("{n}.{ext}");
        std::fs::write(dir.join(name("a")), pack(&cut40)).unwrap();
        std::fs::write(dir.join(name("whole")), pack(&b)).unwrap();
        std::fs::write(dir.join(name("c")), pack(&cut38)).unwrap();
        let (a, whole, c) = (name("a"), name("whole"), name("c"));
        for args in [
            &["replay", "scenario.toml", &a, &whole, &c, "--workers", "1"][..],
            &["replay", "scenario.toml", &a, &whole, &c, "--workers", "3"],
            &["diff", "scenario.toml", "proposed.toml", &a, &whole, &c],
            &[
                "bench",
                "scenario.toml",
                "--capture",
                &a,
                &whole,
                &c,
                "--workers",
                "1,2",
            ],
        ] {
            let bench = args[0] == "bench";
            let mut all = args.to_vec();
            if bench {
                all.push("--json");
            } else {
                all.extend(["--report", "r.json"]);
            }
            let o = run_in(dir, &all);
            assert!(o.status.code().is_some_and(|c| c <= 1), "{o:?}");
            let r: Value = if bench {
                serde_json::from_slice(&o.stdout).unwrap()
            } else {
                serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap()
            };
            let w: Vec<(String, String)> = r["run_warnings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|w| w["code"] == "tcp-header-cut")
                .map(|w| {
                    (
                        w["file"].as_str().unwrap_or_default().to_owned(),
                        w["message"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(w.len(), 2, "{args:?}: {w:?}");
            let err = String::from_utf8_lossy(&o.stderr);
            for ((file, message), (want, n)) in w.iter().zip([(&a, n40), (&c, n38)]) {
                assert_eq!(file, want, "{args:?}");
                let text = format!(
                    "{want}: {n} TCP packet(s) were captured through their ports but not their TCP flags"
                );
                assert!(message.starts_with(&text), "{args:?}: {message}");
                assert!(err.contains(&format!("warning: {text}")), "{args:?}: {err}");
            }
        }
    }
}

/// A capture in which no record is an IP packet zprsim decodes (here the
/// demo with every IPv4 frame carried over MPLS, ethertype 0x8847, as a
/// capture on a provider link holds it; PPPoE and the like are alike)
/// replays "0 packet(s)" with "190 non-IP record(s)", exit 0 and no
/// warning: `--fail-on-drop` passes on nothing, as `diff --fail-on` did
/// on a flow log of another tenancy before `nothing-placed`. Since
/// s26-fix's `nothing-judged` (whose test holds ARP frames) it says that
/// nothing was judged, counting the records not IP.
///
/// Found by the twenty-sixth session's QA (branch s26-tests).
#[test]
fn a_capture_of_no_ip_packet_says_nothing_was_judged() {
    let t = oke_copy();
    let dir = t.path();
    let b = std::fs::read(dir.join("in.pcap")).unwrap();
    let mut out = b[..24].to_vec();
    let (mut at, mut records) = (24, 0);
    let word = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    while at + 16 <= b.len() {
        let (incl, orig) = (word(at + 8) as usize, word(at + 12));
        let mut f = b[at + 16..at + 16 + incl].to_vec();
        if f[12..14] == [0x08, 0x00] {
            f.splice(12..14, [0x88, 0x47, 0x00, 0x01, 0x01, 0x40]);
        }
        let grew = u32::try_from(f.len() - incl).unwrap();
        out.extend_from_slice(&b[at..at + 8]);
        out.extend_from_slice(&u32::try_from(f.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&(orig + grew).to_le_bytes());
        out.extend_from_slice(&f);
        at += 16 + incl;
        records += 1;
    }
    std::fs::write(dir.join("mpls.pcap"), out).unwrap();
    let o = run_in(
        dir,
        [
            "replay",
            "scenario.toml",
            "mpls.pcap",
            "--report",
            "r.json",
            "--fail-on-drop",
        ],
    );
    let r: Value = serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(r["packets"]["total"], 0, "{r:#}");
    assert_eq!(r["non_ip"], records, "{r:#}");
    let w = r["run_warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| w["message"]
            .as_str()
            .is_some_and(|m| m.contains(&records.to_string()))),
        "no warning says none of the {records} records was judged: {w:?}; exit {:?}",
        o.status.code()
    );
}

/// Captures given out of time order (rotated files named so they sort
/// wrong, or typed in the wrong order) are replayed in the order given,
/// and connection tracking saw time go back with no word of it. A warning
/// now names the input that starts before the one read before it ended;
/// in time order there is none.
///
/// Found by the eleventh session's review.
#[test]
fn captures_given_out_of_time_order_are_named_in_a_warning() {
    let t = oke_copy();
    let dir = t.path();
    let b = std::fs::read(dir.join("in.pcap")).unwrap();
    let mut starts = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        starts.push(at);
        at += 16 + u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
    }
    let half = starts[starts.len() / 2];
    let mut first = b[..half].to_vec();
    let mut second = b[..24].to_vec();
    second.extend_from_slice(&b[half..]);
    first.truncate(half);
    std::fs::write(dir.join("first.pcap"), &first).unwrap();
    std::fs::write(dir.join("second.pcap"), &second).unwrap();
    let warned = |args: &[&str]| {
        let o = crate::support::run_in(dir, args);
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| l.contains("replayed in the order given"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    for workers in ["1", "3"] {
        let w = warned(&[
            "replay",
            "scenario.toml",
            "second.pcap",
            "first.pcap",
            "--quiet",
            "--workers",
            workers,
        ]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("warning: first.pcap: starts ")
                && w[0].contains("before second.pcap ended"),
            "{w:?}"
        );
        let w = warned(&[
            "replay",
            "scenario.toml",
            "first.pcap",
            "second.pcap",
            "--quiet",
            "--workers",
            workers,
        ]);
        assert!(w.is_empty(), "{w:?}");
    }
}

/// A pcapng file whose section header carries more than 1 MiB of options
/// (a long capture comment) is refused as libpcap refuses it, but the
/// message said only "pcapng block length 1200112 is not valid", which
/// looks like a corrupt file; it now gives the bound and the block it is
/// for.
///
/// Found by the twelfth session's review.
#[test]
fn a_pcapng_block_over_its_length_bound_names_the_bound() {
    // Section header: type, length, byte-order magic, version 1.0,
    // section length -1, 1.2 MB of comment options, end of options.
    let comment = vec![b'x'; 1_200_000];
    let mut body = Vec::new();
    body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes());
    // An option is at most 65535 bytes: the comment as several options.
    for chunk in comment.chunks(60_000) {
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&(chunk.len() as u16).to_le_bytes());
        body.extend_from_slice(chunk);
    }
    body.extend_from_slice(&[0, 0, 0, 0]);
    let len = (body.len() + 12) as u32;
    let mut file = Vec::new();
    file.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
    file.extend_from_slice(&len.to_le_bytes());
    file.extend_from_slice(&body);
    file.extend_from_slice(&len.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("big-shb.pcapng");
    std::fs::write(&cap, file).unwrap();
    let out = run_in(
        root(),
        [
            "replay".as_ref(),
            "examples/oke-orders/scenario.toml".as_ref(),
            cap.as_os_str(),
            "--quiet".as_ref(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "byte 0: pcapng block length {len} is not valid (a multiple of 4 from 12 to 1048576 bytes, as libpcap reads: 1048576 for the first section header block)"
        )),
        "{err}"
    );
}

/// `zcat cap-*.pcap.gz | zprsim replay s.toml -`, `cat a.pcap b.pcap`,
/// and `cat a.pcap.gz b.pcap.gz > day.pcap.gz` (what docs/cli.md's "one
/// member or several, `cat a.gz b.gz`" invites for rotated captures) put
/// captures one after the other in one input. The second capture's file
/// header was read as a record (a phantom packet), and the bytes after it
/// as a record header: `captured length 1709283600 is over the limit of
/// 262144 bytes`, exit 2, on every path (file, gzip, standard input,
/// `bench`, `explain`). A header like the first's is now skipped and the
/// records read on, as two files given in order are; one of another kind
/// is refused, naming both and the byte offset.
///
/// Found by the eleventh session's review (branch s13-qa).
#[test]
fn captures_one_after_the_other_in_one_input_are_read_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let (a, b) = (part(&demo, 0, 100), part(&demo, 100, usize::MAX));
    let cat = d.join("cat.pcap");
    std::fs::write(&cat, [a.clone(), b.clone()].concat()).unwrap();
    let gzcat = d.join("cat.pcap.gz");
    std::fs::write(&gzcat, [gz(&a), gz(&b)].concat()).unwrap();
    for workers in ["1", "2"] {
        let plain = replay(d, &[DEMO], &["--workers", workers]);
        assert_eq!(plain.2, Some(0), "{}", plain.3);
        for f in [&cat, &gzcat] {
            let got = replay(d, &[f.to_str().unwrap()], &["--workers", workers]);
            let name = format!("{} ({workers} workers)", f.display());
            assert_eq!(got.2, Some(0), "{name}: {}", got.3);
            assert!(got.0 == plain.0, "{name}: the report differs");
            assert!(got.1 == plain.1, "{name}: allowed packets differ");
        }
    }
    let plain = replay(d, &[DEMO], &[]);
    // Standard input, as `zcat *.pcap.gz |` gives it.
    let o = assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .args(["replay", OKE, "-", "--quiet", "--report", "-"])
        .write_stdin([a.clone(), b.clone()].concat())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["packets"], plain.0["packets"]);
    assert_eq!(s["dropped_by_stage"], plain.0["dropped_by_stage"]);
    // `bench` reads a whole buffer; `explain` numbers records as before
    // (the header is no record).
    let counts = |c: &str| {
        let v = json_of(&["bench", OKE, "--capture", c, "--json", "--workers", "1"]);
        serde_json::json!([v["packets"], v["dropped_by_stage"], v["non_ip"]])
    };
    assert_eq!(counts(cat.to_str().unwrap()), counts(DEMO));
    for n in ["100", "101", "160"] {
        let mut want = json_of(&["explain", OKE, "--capture", DEMO, "--packet", n, "--json"]);
        let c = gzcat.to_str().unwrap();
        let mut got = json_of(&["explain", OKE, "--capture", c, "--packet", n, "--json"]);
        want["capture"] = Value::Null;
        got["capture"] = Value::Null;
        assert_eq!(got, want, "packet {n}");
    }
    // A capture of another kind after the first (big-endian after
    // little-endian) is refused, naming where and both kinds.
    let ns = std::fs::read(root().join("pcaps/nanosecond_be.pcap")).unwrap();
    let mixed = d.join("mixed.pcap");
    std::fs::write(&mixed, [a.clone(), ns].concat()).unwrap();
    let o = run_in(root(), ["replay", OKE, mixed.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("byte {}: another capture's file header", a.len()))
            && err.contains("little-endian")
            && err.contains("big-endian"),
        "{err}"
    );
}

/// A `.pcap.gz` that `logrotate` (its `compress` option) gzipped once
/// more was "gzip-compressed data that holds neither a pcap nor a pcapng
/// file", true but no help; a pcap after a pcapng (`cat a.pcapng b.pcap`)
/// was "pcapng block length 262146 is not valid", a corrupt file. Each is
/// now named for what it is, with what to do.
///
/// Found by the eleventh session's review (branch s13-qa).
#[test]
fn a_capture_compressed_twice_or_a_pcap_after_a_pcapng_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let twice = d.join("demo.pcap.gz.gz");
    std::fs::write(&twice, gz(&gz(&demo))).unwrap();
    let ng = std::fs::read(root().join("pcaps/two_linktypes.pcapng")).unwrap();
    let after = d.join("ng-then-pcap.pcapng");
    std::fs::write(&after, [ng.clone(), demo.clone()].concat()).unwrap();
    for (f, want) in [
        (
            &twice,
            "byte 0: gzip-compressed data that holds gzip-compressed data (compressed twice): decompress it twice (`zcat FILE | zcat > capture.pcap`)".to_string(),
        ),
        (
            &after,
            format!("byte {}: another capture's file header (pcap, link type 1", ng.len()),
        ),
    ] {
        let o = run_in(root(), ["replay", OKE, f.to_str().unwrap(), "--quiet"]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&want), "{err}");
    }
}

/// `pzstd` (zstd's parallel compressor, in the zstd package) writes a
/// skippable frame before every frame, so its output starts with one;
/// `zstd -d` and `zstdcat` read it. zprsim looked only for a zstd frame's
/// magic first: `not a pcap or pcapng file`, exit 2, and in a directory
/// the file was skipped as `neither a capture nor flow logs`. Any input
/// starting with a skippable frame is now zstd, read as the capture it
/// holds (as a file, from standard input, in a directory).
///
/// Found by the twelfth session's review (branch s14-qa).
#[test]
fn a_zstd_file_starting_with_a_skippable_frame_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let (a, b) = demo.split_at(20_000);
    let frame = |x: &[u8]| zstd::stream::encode_all(x, 3).unwrap();
    // pzstd's shape: a 4-byte skippable frame (the next frame's size)
    // before each frame; and one of another magic nibble at the end.
    let pz = [
        skippable(0, 4, 7),
        frame(a),
        skippable(0, 4, 7),
        frame(b),
        skippable(0xf, 16, 0),
    ]
    .concat();
    let file = d.join("cap.pcap.zst");
    std::fs::write(&file, &pz).unwrap();
    let sub = d.join("rotated");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("cap.pcap.zst"), &pz).unwrap();
    let plain = replay(d, &[DEMO], &[]);
    assert_eq!(plain.2, Some(0), "{}", plain.3);
    for input in [&file, &sub] {
        let got = replay(d, &[input.to_str().unwrap()], &[]);
        assert_eq!(got.2, Some(0), "{}: {}", input.display(), got.3);
        assert_eq!(got.0, plain.0, "{}", input.display());
        assert!(
            got.1 == plain.1,
            "{}: allowed packets differ",
            input.display()
        );
    }
    let o = assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .args(["replay", OKE, "-", "--quiet", "--report", "-"])
        .write_stdin(pz)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["packets"], plain.0["packets"]);
}

/// Captures one after the other in one input (`cat a.pcap b.pcap`, `zcat
/// cap-*.pcap.gz`), where the second's file header ends within a record's
/// length of the end of the reader's 1 MiB buffer: the batch walker took
/// the header for a record that lay whole in the buffer, the header was
/// skipped and the record after it read, which moved the buffer's bytes
/// under the records already taken into the batch. Those were judged from
/// other records' bytes: 648 of the demo's packets counted as non-IP, no
/// warning, exit 0 (a file, or zstd; a pipe's short reads mostly missed
/// it). Now a header ends the batch, and the next starts with it.
///
/// Found by the twelfth session's review (branch s14-qa).
#[test]
fn a_second_capture_header_at_the_end_of_the_read_buffer_is_skipped_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let (head, body) = demo.split_at(24);
    let counts = |v: &Value| {
        serde_json::json!([v["packets"], v["bytes"], v["dropped_by_stage"], v["non_ip"]])
    };
    let sum = |a: &Value, b: &Value| {
        let mut out = a.clone();
        for key in [
            "/packets/total",
            "/packets/allowed",
            "/packets/dropped",
            "/bytes/total",
            "/bytes/allowed",
            "/bytes/dropped",
            "/dropped_by_stage/route",
            "/dropped_by_stage/egress-security",
            "/dropped_by_stage/ingress-security",
            "/dropped_by_stage/zpr",
            "/dropped_by_stage/malformed",
            "/non_ip",
        ] {
            let n = a.pointer(key).unwrap().as_u64().unwrap()
                + b.pointer(key).unwrap().as_u64().unwrap();
            *out.pointer_mut(key).unwrap() = n.into();
        }
        counts(&out)
    };
    let alone = replay(d, &[DEMO], &[]);
    // The reader's buffer is 1 MiB (capture/stream.rs BUF_LEN): the second
    // header ends 0 to 36 bytes before it ends (an oke-demo record is at
    // least 60 bytes).
    for gap in [0usize, 16, 36] {
        let end = (1 << 20) - gap;
        let mut first = head.to_vec();
        while first.len() + body.len() + 200 < end - 24 {
            first.extend_from_slice(body);
        }
        // A frame that is no IP (ethertype 0x88b5, local experimental)
        // brings the first capture to its length.
        let frame = end - 24 - first.len() - 16;
        let ts = u32::from_le_bytes(body[..4].try_into().unwrap()) + 1000;
        let len = u32::try_from(frame).unwrap();
        for w in [ts, 0, len, len] {
            first.extend_from_slice(&w.to_le_bytes());
        }
        let mut f = vec![0u8; frame];
        f[12..14].copy_from_slice(&[0x88, 0xb5]);
        first.extend_from_slice(&f);
        assert_eq!(first.len() + 24, end);
        let a = d.join("first.pcap");
        std::fs::write(&a, &first).unwrap();
        let first_alone = replay(d, &[a.to_str().unwrap()], &[]);
        assert_eq!(first_alone.2, Some(0), "{}", first_alone.3);
        let want = sum(&first_alone.0, &alone.0);
        let cat = [first, demo.clone()].concat();
        let plain = d.join("cat.pcap");
        std::fs::write(&plain, &cat).unwrap();
        let zst = d.join("cat.pcap.zst");
        std::fs::write(&zst, zstd::stream::encode_all(&cat[..], 3).unwrap()).unwrap();
        for input in [&plain, &zst] {
            let got = replay(d, &[input.to_str().unwrap()], &[]);
            assert_eq!(got.2, Some(0), "{}", got.3);
            assert_eq!(
                counts(&got.0),
                want,
                "{} ({gap} bytes before the end)",
                input.display()
            );
        }
    }
}

/// A zstd frame compressed with a dictionary (`zstd -D DICT`: its header
/// names the dictionary's id) was refused in zstd's own two words, `zstd:
/// Dictionary mismatch`, which say neither what the file is nor what to
/// do. It now says the frame needs its dictionary and how to decompress
/// it first.
///
/// Found by the twelfth session's review (branch s14-qa).
#[test]
fn a_zstd_frame_compressed_with_a_dictionary_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let frame = zstd::stream::encode_all(&demo[..], 3).unwrap();
    // The frame header descriptor's dictionary-id flag set to one byte,
    // and that byte (id 7) after the window descriptor, if any.
    let fhd = frame[4];
    let at = 5 + usize::from(fhd & 0x20 == 0);
    let dict = [&frame[..4], &[fhd | 1], &frame[5..at], &[7], &frame[at..]].concat();
    let file = d.join("dict.pcap.zst");
    std::fs::write(&file, dict).unwrap();
    let got = replay(d, &[file.to_str().unwrap()], &[]);
    assert_eq!(got.2, Some(2), "{}", got.3);
    assert!(
        got.3.contains("dict.pcap.zst")
            && got.3.contains("compressed with a dictionary")
            && got.3.contains("zstd -d -D DICT"),
        "{}",
        got.3
    );
}

/// A pcap file: its header, then each frame as one Ethernet record.
fn pcap_of(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for w in [0u32, 0, 65535, 1] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        let len = u32::try_from(f.len()).unwrap();
        for w in [1_700_000_000 + u32::try_from(i).unwrap(), 0, len, len] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    out
}

/// `replay` and `diff` of a capture holding no packet (its header only, a
/// `tcpdump` stopped at once, or the wrong file) printed a summary of
/// zeros and exited 0 without a word; one of ARP frames only likewise.
/// They now warn `nothing-judged`, on stderr and in the report, and still
/// exit 0 (an empty capture is a valid one: docs/cli.md). A capture with
/// packets gets no such warning.
#[test]
fn a_capture_of_no_packet_says_nothing_was_judged() {
    let t = oke_copy();
    let dir = t.path();
    std::fs::write(dir.join("none.pcap"), pcap_of(&[])).unwrap();
    // One ARP request: an Ethernet frame of type 0x0806.
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&[0; 20]);
    std::fs::write(dir.join("arp.pcap"), pcap_of(&[arp])).unwrap();
    let cases = [
        (
            "none.pcap",
            "the capture `none.pcap` holds no packet: nothing was judged",
        ),
        (
            "arp.pcap",
            "the capture `arp.pcap` holds no packet to judge (1 not IP): nothing was judged",
        ),
    ];
    for (file, said) in cases {
        for cmd in [
            vec!["replay", "scenario.toml", file],
            vec!["diff", "scenario.toml", "scenario.toml", file],
        ] {
            let mut args = cmd.clone();
            args.extend(["--report", "r.json"]);
            let o = run_in(dir, &args);
            assert_eq!(o.status.code(), Some(0), "{cmd:?}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains(&format!("warning: {said}\n")),
                "{cmd:?}: {err}"
            );
            let r: Value =
                serde_json::from_slice(&std::fs::read(dir.join("r.json")).unwrap()).unwrap();
            let w: Vec<&Value> = r["run_warnings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|w| w["code"] == "nothing-judged")
                .collect();
            assert_eq!(w.len(), 1, "{cmd:?}: {r}");
            assert_eq!(w[0]["message"], said, "{cmd:?}");
        }
    }
    // Two empty captures are named together.
    let o = run_in(dir, ["replay", "scenario.toml", "none.pcap", "arp.pcap"]);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(
            "the captures `none.pcap`, `arp.pcap` hold no packet to judge (1 not IP): nothing was judged"
        ),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // Packets judged: no warning.
    let o = run_in(dir, ["replay", "scenario.toml", "in.pcap"]);
    assert!(o.status.success());
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("nothing was judged"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
