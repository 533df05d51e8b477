//! gzip- and zstd-compressed captures (`tcpdump -G 3600 -z gzip` or `-z
//! zstd` rotations, `.pcap.gz` and `.pcap.zst` downloads) are read as the
//! capture they hold, by `replay`, `diff`, `explain --capture` and `bench
//! --capture`, from a file, a directory or standard input: every output
//! equals the plain capture's. Before, each was refused ("gzip-compressed
//! data ... decompress it first"; zstd until the eleventh session). A
//! stream cut short is a warning, as a cut plain file is; compressed
//! data of something else is named as such; a zstd frame that asks for
//! more than zstd's default window bound is refused.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use zprsim_dataplane::capture::RecordStream;
use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};

use crate::support::run_in;

const OKE: &str = "examples/oke-orders/scenario.toml";
const DEMO: &str = "pcaps/oke-demo.pcap";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn zst(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).unwrap()
}

/// Compresses a capture's bytes.
type Compress = fn(&[u8]) -> Vec<u8>;

/// The codecs: name, file suffix, compress.
const CODECS: [(&str, &str, Compress); 2] = [("gzip", "gz", gz), ("zstd", "zst", zst)];

/// The demo's records `from..to` (0-based) as a pcap of their own.
pub(crate) fn part(demo: &[u8], from: usize, to: usize) -> Vec<u8> {
    let mut rs = RecordStream::new(demo).unwrap();
    let mut w = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
    let mut i = 0;
    while let Some(r) = rs.next_record() {
        let r = r.unwrap();
        if (from..to).contains(&i) {
            w.write(r.ts_ns, r.linktype, r.orig_len, r.data).unwrap();
        }
        i += 1;
    }
    w.finish().unwrap()
}

/// `replay` of `inputs`: the report less its names and times, the allowed
/// packets' bytes, the exit code, stderr.
pub(crate) fn replay(
    dir: &Path,
    inputs: &[&str],
    extra: &[&str],
) -> (Value, Vec<u8>, Option<i32>, String) {
    replay_with(OKE, dir, inputs, extra)
}

/// [`replay`] against `scenario`.
fn replay_with(
    scenario: &str,
    dir: &Path,
    inputs: &[&str],
    extra: &[&str],
) -> (Value, Vec<u8>, Option<i32>, String) {
    let report = dir.join("r.json");
    let allowed = dir.join("a.pcap");
    let mut args = vec!["replay", scenario];
    args.extend_from_slice(inputs);
    args.extend_from_slice(&[
        "--quiet",
        "--report",
        report.to_str().unwrap(),
        "--allowed",
        allowed.to_str().unwrap(),
    ]);
    args.extend_from_slice(extra);
    let o = run_in(root(), &args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap_or_default()).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        for k in [
            "pcaps",
            "duration_s",
            "compile_s",
            "packets_per_second",
            "latency",
            "batch_latency_ns",
        ] {
            m.remove(k);
        }
    }
    let a = std::fs::read(&allowed).unwrap_or_default();
    let _ = std::fs::remove_file(&report);
    let _ = std::fs::remove_file(&allowed);
    (v, a, o.status.code(), err)
}

#[test]
fn replay_reads_compressed_captures_as_the_captures_they_hold() {
    for (codec, ext, gz) in CODECS {
        reads_as_plain(codec, ext, gz);
    }
}

fn reads_as_plain(codec: &str, ext: &str, gz: Compress) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let plain = replay(d, &[DEMO], &[]);
    assert_eq!(plain.2, Some(0), "{}", plain.3);
    let whole = d.join(format!("demo.pcap.{ext}"));
    std::fs::write(&whole, gz(&demo)).unwrap();
    let w = whole.to_str().unwrap();
    for workers in ["1", "2"] {
        let plain = replay(d, &[DEMO], &["--workers", workers]);
        let got = replay(d, &[w], &["--workers", workers]);
        assert_eq!(got.2, Some(0), "{}", got.3);
        assert_eq!(got.0, plain.0, "{codec}, {workers} worker(s)");
        assert!(
            got.1 == plain.1,
            "allowed packets differ: {}",
            "{codec}, {workers} worker(s)"
        );
        assert!(!got.3.contains("warning"), "{}", got.3);
    }
    // Rotated: a directory of two gzip parts and one plain part, read in
    // name order; and the parts concatenated into one multi-member gzip.
    let rot = d.join("rotated");
    std::fs::create_dir(&rot).unwrap();
    let (a, b, c) = (
        part(&demo, 0, 60),
        part(&demo, 60, 120),
        part(&demo, 120, 999),
    );
    std::fs::write(rot.join(format!("cap-1.pcap.{ext}")), gz(&a)).unwrap();
    std::fs::write(rot.join("cap-2.pcap"), &b).unwrap();
    std::fs::write(rot.join(format!("cap-3.pcap.{ext}")), gz(&c)).unwrap();
    let got = replay(d, &[rot.to_str().unwrap()], &[]);
    assert_eq!(got.2, Some(0), "{}", got.3);
    assert_eq!(got.0, plain.0, "{codec}: rotated directory");
    assert!(
        got.1 == plain.1,
        "rotated directory: allowed packets differ"
    );
    // (`cat x.gz y.gz` is the gzip of the two contents one after the
    // other, and `cat x.zst y.zst` two zstd frames: here the demo's bytes
    // cut in three, anywhere.)
    let mut members = gz(&demo[..1000]);
    members.extend(gz(&demo[1000..5001]));
    members.extend(gz(&demo[5001..]));
    let multi = d.join(format!("multi.pcap.{ext}"));
    std::fs::write(&multi, &members).unwrap();
    let got = replay(d, &[multi.to_str().unwrap()], &[]);
    assert_eq!(got.0, plain.0, "{codec}: several members or frames");
    assert!(
        got.1 == plain.1,
        "{codec}: several members or frames: allowed packets differ"
    );
    // Standard input.
    let o = assert_cmd::Command::cargo_bin("zprsim")
        .unwrap()
        .current_dir(root())
        .args([
            "replay",
            OKE,
            "-",
            "--quiet",
            "--report",
            d.join("s.json").to_str().unwrap(),
        ])
        .write_stdin(gz(&demo))
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s: Value = serde_json::from_slice(&std::fs::read(d.join("s.json")).unwrap()).unwrap();
    assert_eq!(s["packets"], plain.0["packets"], "{codec}: standard input");
}

#[test]
fn a_cut_compressed_capture_is_a_warning_and_compressed_text_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    for (codec, ext, gz) in CODECS {
        let z = gz(&demo);
        let cut = d.join(format!("cut.pcap.{ext}"));
        // Cut inside the stream (inside its second member or frame: a zstd
        // block gives nothing until it is whole), and whole with junk after
        // it (a file rotated while another write began).
        let mut two = gz(&demo[..6000]);
        let second = gz(&demo[6000..]);
        two.extend_from_slice(&second[..second.len() / 2]);
        let mut junk = z.clone();
        junk.extend_from_slice(b"\x00\x01junk after the last member or frame");
        // Each said as what it is (since the seventeenth session: junk was
        // "the stream ends early"), gzip's with the byte of the file.
        let unit = if codec == "gzip" { "member" } else { "frame" };
        let said = [
            match codec {
                "gzip" => format!(
                    "cut.pcap.{ext}: the gzip stream ends early, inside the member that starts at byte {} of the file,",
                    gz(&demo[..6000]).len()
                ),
                _ => format!("cut.pcap.{ext}: the {codec} stream ends early, inside a {unit}"),
            },
            match codec {
                "gzip" => format!(
                    "cut.pcap.{ext}: the bytes after its last whole gzip member, from byte {} of the file, are not gzip data (trailing bytes",
                    z.len()
                ),
                _ => format!(
                    "cut.pcap.{ext}: the bytes after its last whole {codec} {unit} are not {codec} data (trailing bytes"
                ),
            },
        ];
        for (bytes, says) in [&two[..], &junk[..]].into_iter().zip(said) {
            std::fs::write(&cut, bytes).unwrap();
            let (v, _, code, err) = replay(d, &[cut.to_str().unwrap()], &[]);
            assert_eq!(code, Some(0), "{codec}: {err}");
            let n = v["packets"]["total"].as_u64().unwrap();
            assert!(n > 0 && n <= 188, "{codec}: {n}");
            assert!(err.contains(&says), "{err}");
            assert!(
                v["warnings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|w| w.as_str().is_some_and(|w| w.contains(&says))),
                "{v}"
            );
        }
        // Cut before the capture's header is whole: named so, not "holds
        // no capture".
        std::fs::write(&cut, &z[..z.len().min(12)]).unwrap();
        let o = run_in(root(), ["replay", OKE, cut.to_str().unwrap(), "--quiet"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "the {codec} stream ends early, before the header of the capture it holds is whole"
            )),
            "{err}"
        );
        let text = d.join(format!("notes.{ext}"));
        std::fs::write(&text, gz(b"not a capture\n")).unwrap();
        let o = run_in(root(), ["replay", OKE, text.to_str().unwrap(), "--quiet"]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!(
                "{codec}-compressed data that holds neither a pcap nor a pcapng file"
            )),
            "{err}"
        );
    }
    // A zstd frame whose window is larger than zstd's default bound (2^27
    // bytes; `zstd --long=28` writes such frames) is refused before the
    // window is allocated, naming zstd.
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.window_log(28).unwrap();
    e.long_distance_matching(true).unwrap();
    e.include_contentsize(false).unwrap();
    e.write_all(&demo).unwrap();
    let long = d.join("long.pcap.zst");
    std::fs::write(&long, e.finish().unwrap()).unwrap();
    let o = run_in(root(), ["replay", OKE, long.to_str().unwrap(), "--quiet"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("long.pcap.zst: zstd: "), "{err}");
    // xz and the others are still refused with the command to use.
    let xz = d.join("c.pcap.xz");
    std::fs::write(&xz, b"\xfd7zXZ\x00\x00\x04rest").unwrap();
    let o = run_in(root(), ["replay", OKE, xz.to_str().unwrap(), "--quiet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("xzcat"));
}

pub(crate) fn json_of(args: &[&str]) -> Value {
    let o = run_in(root(), args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn explain_bench_and_diff_read_compressed_captures() {
    for (_, ext, gz) in CODECS {
        explain_bench_and_diff_read(ext, gz);
    }
}

fn explain_bench_and_diff_read(ext: &str, gz: Compress) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    let g: PathBuf = d.join(format!("demo.pcap.{ext}"));
    std::fs::write(&g, gz(&demo)).unwrap();
    let g = g.to_str().unwrap();
    for n in ["2", "158", "160"] {
        let mut plain = json_of(&["explain", OKE, "--capture", DEMO, "--packet", n, "--json"]);
        let mut got = json_of(&["explain", OKE, "--capture", g, "--packet", n, "--json"]);
        plain["capture"] = Value::Null;
        got["capture"] = Value::Null;
        assert_eq!(got, plain, "packet {n}");
    }
    let b = |c: &str| {
        let v = json_of(&["bench", OKE, "--capture", c, "--json", "--workers", "1"]);
        serde_json::json!([v["packets"], v["dropped_by_stage"], v["non_ip"]])
    };
    let plain = b(DEMO);
    assert!(plain[0]["total"].as_u64().is_some_and(|n| n > 0), "{plain}");
    assert_eq!(b(g), plain);
    let flows = |c: &str| {
        let f = d.join("f.jsonl");
        let o = run_in(
            root(),
            [
                "diff",
                OKE,
                "examples/oke-orders/proposed.toml",
                c,
                "--quiet",
                "--flows",
                f.to_str().unwrap(),
            ],
        );
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::fs::read_to_string(&f).unwrap()
    };
    let plain = flows(DEMO);
    assert!(!plain.is_empty());
    assert_eq!(flows(g), plain);
}

/// Every capture of `pcaps/` (pcapng with two link types, IPv6 with
/// extension headers and fragments, SLL, raw IP, VLAN, a file cut inside a
/// record, corrupt records, nanosecond big-endian) replays compressed as
/// it does plain: report, warnings and allowed packets, gzip against the
/// OKE example and zstd against the scenario the fixtures are written for. The pcapng
/// with an interface described after its first packet is the case a
/// stream (gzip, standard input) knew its link types only in part for:
/// its `--allowed` was a pcap that refused the second interface's records
/// (exit 2); streams of pcapng now write pcapng.
#[test]
fn every_fixture_replays_compressed_as_plain() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut n = 0;
    for e in std::fs::read_dir(root().join("pcaps")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".pcap") || name.ends_with(".pcapng")) {
            continue;
        }
        for (scenario, (codec, ext, gz)) in [OKE, "tests/cases/scenarios/security.toml"]
            .into_iter()
            .zip(CODECS)
        {
            let z = d.join(format!("{name}.{ext}"));
            std::fs::write(&z, gz(&std::fs::read(&p).unwrap())).unwrap();
            let plain = replay_with(scenario, d, &[p.to_str().unwrap()], &[]);
            let got = replay_with(scenario, d, &[z.to_str().unwrap()], &[]);
            // The report (warnings and error included) with the file's
            // name left out.
            let shown =
                |v: &Value, file: &Path| v.to_string().replace(&file.display().to_string(), "F");
            assert_eq!(got.2, plain.2, "{name}, {codec}: {}", got.3);
            assert_eq!(shown(&got.0, &z), shown(&plain.0, &p), "{name}, {codec}");
            assert!(got.1 == plain.1, "{name}, {codec}: allowed packets differ");
            n += 1;
        }
    }
    assert!(n >= 20, "{n} fixture runs");
}

/// A compressed capture cut inside a record gives one warning, the
/// compressed stream's (`compressed-ends-early`, with its offset), in
/// `replay` and `bench --capture`: it gave a second, `truncated-record`,
/// at the same byte. A gzip member whose CRC does not match (a zstd frame
/// whose checksum does not) is an error naming the codec and the byte of
/// the capture where the check failed; it named neither.
#[test]
fn a_cut_compressed_capture_warns_once_and_a_bad_checksum_names_its_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let demo = std::fs::read(root().join(DEMO)).unwrap();
    for (codec, ext, gz) in CODECS {
        // Two members or frames, the second cut: the capture ends inside
        // a record.
        let mut two = gz(&demo[..6000]);
        let second = gz(&demo[6000..]);
        two.extend_from_slice(&second[..second.len() / 2]);
        let cut = d.join(format!("cut.pcap.{ext}"));
        std::fs::write(&cut, &two).unwrap();
        let cut = cut.to_str().unwrap();
        let (v, _, code, err) = replay(d, &[cut], &[]);
        assert_eq!(code, Some(0), "{codec}: {err}");
        let bench = json_of(&["bench", OKE, "--capture", cut, "--json", "--workers", "1"]);
        for v in [&v, &bench] {
            let codes: Vec<&str> = v["run_warnings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["code"].as_str().unwrap())
                .collect();
            assert_eq!(codes, ["compressed-ends-early"], "{codec}: {v}");
            assert!(v["run_warnings"][0]["offset"].as_u64().is_some(), "{v}");
        }
        // The byte where the decompressed capture ended, whoever reads it
        // (replay stopped at the last whole record, bench held every byte:
        // they said different bytes).
        assert_eq!(
            v["run_warnings"][0]["offset"], bench["run_warnings"][0]["offset"],
            "{codec}"
        );
        assert_eq!(err.matches("warning: ").count(), 1, "{codec}: {err}");
    }
    // gzip: the CRC of the member (its trailer's first 4 bytes).
    let mut bad = gz(&demo);
    let n = bad.len();
    bad[n - 8] ^= 0xff;
    let crc = d.join("crc.pcap.gz");
    std::fs::write(&crc, &bad).unwrap();
    // zstd: the frame's content checksum (its last 4 bytes).
    let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    e.include_checksum(true).unwrap();
    e.write_all(&demo).unwrap();
    let mut bad = e.finish().unwrap();
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    let sum = d.join("sum.pcap.zst");
    std::fs::write(&sum, &bad).unwrap();
    // gzip gives the member's data out before its trailer is checked: the
    // byte is the member's end; zstd checks a one-block frame before it
    // gives any of it out: the byte is where the capture read stopped.
    for (codec, f, at) in [("gzip", &crc, demo.len()), ("zstd", &sum, 0)] {
        let o = run_in(root(), ["replay", OKE, f.to_str().unwrap(), "--quiet"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!(": {codec}: ")), "{err}");
        assert!(
            err.contains(&format!(", at byte {at} of the capture it holds")),
            "{err}"
        );
    }
}
