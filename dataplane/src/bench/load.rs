//! The packets a benchmark runs on, held in memory before any timing: the
//! user's captures (bounded by a memory limit checked from the file sizes
//! before anything is read) or a capture synthesized from the scenario.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use zprsim_control::model::Scenario;

use crate::capture::Records;
use crate::capture::decompress::{self, Codec, Stream};
use crate::synth::{Allowed, SynthConfig, SynthStats, write_realistic_allowed};

use super::{Input, Traffic};

/// Bytes a synthesized packet takes at most while it is generated and
/// held: the frame (at most 78 bytes with a VLAN tag and IPv6) and its
/// pcap record header, the generator's ordering entry, and headroom for
/// the buffer's growth.
pub const SYNTH_BYTES_PER_PACKET: u64 = 256;

/// Why the packets could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Over the memory limit (checked before reading).
    #[error("{0}")]
    TooLarge(String),
    /// A capture could not be read or is not a capture.
    #[error("{0}")]
    Capture(String),
}

fn mib(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let m = bytes as f64 / f64::from(1u32 << 20);
    format!("{m:.1} MiB")
}

/// Whether a path names standard input.
fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// Reads `r` to its end or to `most` bytes, whichever comes first, into
/// one buffer allocated once: of `size` when it is known (a regular file),
/// else of `most`, as address space only (its pages are touched as they
/// are filled), given back down to what was read when that is under half.
/// `read_to_end`'s doubling buffer took up to three times
/// `--memory-limit` (the blocks it let go kept by the allocator) before a
/// gzip bomb or an endless standard input was refused. Where the address
/// space cannot be had at once, the buffer grows as it fills.
fn read_capped(mut r: impl Read, size: Option<u64>, most: u64) -> std::io::Result<Vec<u8>> {
    let most = usize::try_from(most).unwrap_or(usize::MAX);
    let cap = size.map_or(most, |s| usize::try_from(s).unwrap_or(usize::MAX).min(most));
    let mut buf = Vec::new();
    // Refused (a strict overcommit policy): grown as it fills instead.
    let _ = buf.try_reserve_exact(cap);
    let mut chunk = vec![0u8; (64 << 10).min(most)];
    while buf.len() < most {
        let want = chunk.len().min(most - buf.len());
        match r.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if buf.capacity() / 2 > buf.len() {
        buf.shrink_to_fit();
    }
    Ok(buf)
}

/// Reads `r` to its end, but at most `room` bytes: more is an error.
fn read_bounded(
    name: &str,
    r: impl Read,
    size: Option<u64>,
    room: u64,
    limit: u64,
) -> Result<Vec<u8>, LoadError> {
    let buf = read_capped(r, size, room.saturating_add(1))
        .map_err(|e| LoadError::Capture(format!("{name}: {e}")))?;
    if buf.len() as u64 > room {
        return Err(LoadError::TooLarge(format!(
            "{name}: the captures need more than the memory limit of {} to be held in memory; raise `--memory-limit` or pass fewer captures",
            mib(limit)
        )));
    }
    Ok(buf)
}

/// Walks the records once: the link types, the count, the warnings; a
/// record that cannot be read is an error naming the byte offset.
fn index(
    name: String,
    bytes: Vec<u8>,
    codec: Option<Codec>,
    warnings: &mut Vec<crate::warning::RunWarning>,
) -> Result<Input, LoadError> {
    let mut records = Records::from_slice(&bytes).map_err(|e| {
        let e = match codec {
            Some(c) => decompress::inside(c, e),
            None => e,
        };
        LoadError::Capture(format!("{name}: {e}"))
    })?;
    let mut link_types = Vec::new();
    let mut count = 0u64;
    for r in records.by_ref() {
        let r = r.map_err(|e| LoadError::Capture(format!("{name}: {e}")))?;
        count += 1;
        if !link_types.contains(&r.linktype) {
            link_types.push(r.linktype);
        }
    }
    for w in records.warnings() {
        warnings.push(w.run_warning(&name));
    }
    link_types.sort_unstable();
    Ok(Input {
        name,
        bytes,
        records: count,
        link_types,
    })
}

/// Loads the captures into memory. Their sizes (regular files) are added
/// up and checked against `limit` before any is read; a pipe or standard
/// input is read only up to what the limit leaves.
///
/// # Errors
/// Over the limit, unreadable, or not a capture (with the byte offset).
pub fn load_captures(paths: &[PathBuf], limit: u64) -> Result<Traffic, LoadError> {
    let mut total = 0u64;
    for p in paths.iter().filter(|p| !is_stdin(p)) {
        let meta = std::fs::metadata(p)
            .map_err(|e| LoadError::Capture(format!("{}: {e}", crate::output::shown(p))))?;
        if meta.is_file() {
            total = total.saturating_add(meta.len());
        }
    }
    if total > limit {
        return Err(LoadError::TooLarge(format!(
            "the captures take {} and the memory limit is {}; raise `--memory-limit` or pass fewer captures",
            mib(total),
            mib(limit)
        )));
    }
    let mut inputs = Vec::with_capacity(paths.len());
    let mut warnings = Vec::new();
    let mut used = 0u64;
    for p in paths {
        let name = crate::output::shown(p);
        let room = limit.saturating_sub(used);
        let (bytes, cut) = if is_stdin(p) {
            let stdin: Stream = Box::new(std::io::stdin());
            let (r, cut) = decompress::decompressed(stdin)
                .map_err(|e| LoadError::Capture(format!("standard input: {e}")))?;
            (read_bounded("standard input", r, None, room, limit)?, cut)
        } else {
            let f = File::open(p).map_err(|e| LoadError::Capture(format!("{name}: {e}")))?;
            let size = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
            // A compressed capture is held decompressed (its size is not known).
            let (r, cut) = decompress::decompressed(Box::new(f))
                .map_err(|e| LoadError::Capture(format!("{name}: {e}")))?;
            let size = if cut.is_some() { None } else { size };
            (read_bounded(&name, r, size, room, limit)?, cut)
        };
        used += bytes.len() as u64;
        let codec = cut.as_ref().map(decompress::Cut::codec);
        let mut found = Vec::new();
        inputs.push(index(name.clone(), bytes, codec, &mut found)?);
        decompress::add_warnings(&mut warnings, cut.as_ref(), &name, found);
    }
    Ok(Traffic { inputs, warnings })
}

/// The generator's settings for `packets` packets in `flows` flows from
/// `seed`, with the scenario's own share of IPv6 (its VNICs' addresses).
#[must_use]
pub fn synth_config(s: &Scenario, packets: usize, flows: usize, seed: u64) -> SynthConfig {
    let (mut v4, mut v6) = (0u32, 0u32);
    for ip in s.vnics.iter().flat_map(|v| v.private_ips.iter()) {
        if ip.is_ipv4() {
            v4 += 1;
        } else {
            v6 += 1;
        }
    }
    let ipv6_share = if v4 + v6 == 0 {
        0.0
    } else {
        f64::from(v6) / f64::from(v4 + v6)
    };
    SynthConfig {
        packets,
        flows,
        seed,
        ipv6_share,
        ..SynthConfig::default()
    }
}

/// Synthesizes the traffic of `cfg` (see [`crate::synth`]) into memory,
/// with a share of the flows on paths the tables allow when `allowed` is
/// given ([`crate::synth::write_realistic_allowed`]).
///
/// # Errors
/// Over the memory limit (estimated before anything is generated).
pub fn synthesize(
    s: &Scenario,
    cfg: &SynthConfig,
    allowed: Option<Allowed<'_>>,
    limit: u64,
) -> Result<(Traffic, SynthStats), LoadError> {
    let need = (cfg.packets as u64).saturating_mul(SYNTH_BYTES_PER_PACKET);
    if need > limit {
        return Err(LoadError::TooLarge(format!(
            "{} synthetic packets need about {} and the memory limit is {}; pass fewer `--packets` or raise `--memory-limit`",
            cfg.packets,
            mib(need),
            mib(limit)
        )));
    }
    let (bytes, stats) =
        write_realistic_allowed(s, cfg, allowed, Vec::with_capacity(cfg.packets * 96 + 24))
            .map_err(|e| LoadError::Capture(format!("synthetic traffic: {e}")))?;
    let mut warnings = Vec::new();
    let input = index("synthetic".into(), bytes, None, &mut warnings)?;
    Ok((
        Traffic {
            inputs: vec![input],
            warnings,
        },
        stats,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream of unknown size (gzip, standard input) is held in a
    /// buffer with room for the bound and no more when it goes past it (a
    /// gzip bomb), and for little more than what it holds when it ends
    /// before.
    #[test]
    fn a_stream_of_unknown_size_is_held_within_the_bound() {
        let most = 5_000_001;
        let over = read_capped(std::io::repeat(0), None, most).unwrap();
        assert_eq!(over.len(), 5_000_001);
        assert!(over.capacity() <= 5_000_001, "{}", over.capacity());
        let under = read_capped(&vec![7u8; 1_000_000][..], None, most).unwrap();
        assert_eq!(under.len(), 1_000_000);
        assert!(under.iter().all(|b| *b == 7));
        assert!(under.capacity() <= 2_000_000, "{}", under.capacity());
        let known = read_capped(&vec![7u8; 3_000_000][..], Some(3_000_000), most).unwrap();
        assert_eq!((known.len(), known.capacity()), (3_000_000, 3_000_000));
        assert!(
            read_capped(std::io::empty(), None, most)
                .unwrap()
                .is_empty()
        );
    }
}
