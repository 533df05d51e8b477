//! The records of a window cut from anywhere in a pcap file, for a look
//! at a capture's whole length without reading it: the reader's share of
//! the shards is chosen from such windows spread over the inputs
//! ([`crate::engine::PacketSource::spread_sample`]).
//!
//! A window starts at no record boundary: the first place where
//! [`CHAIN`] record headers in a row are plausible (lengths within the
//! limits and each other, a sub-second part below one second, seconds
//! within a day of the first) is taken as one, and the records from
//! there to the window's end are handed on. A wrong guess (payload that
//! reads as four headers) only makes the sample less exact: nothing
//! judged or written comes from it.

use super::{Kind, LengthOrder, MAX_CAPLEN, PcapHeader, detect, may_be_file_header};

/// Headers in a row a place must start to be taken as a record boundary.
const CHAIN: usize = 4;

/// How far into a window a boundary is looked for (a record is at most
/// this long in the captures worth sampling; a window holding none gives
/// nothing).
const SEARCH: usize = 4096;

/// Seconds a chained header's timestamp may be from the first one's.
const SPAN_S: u32 = 86_400;

/// Calls `f` with the link type and frame of each whole record found in
/// `window`, bytes cut from a pcap file whose first bytes are `head` (its
/// file header). Nothing for pcapng or anything that is not a capture.
pub(crate) fn pcap_window_records(head: &[u8], window: &[u8], f: &mut dyn FnMut(u32, &[u8])) {
    let Ok(Kind::Pcap(h)) = detect(head) else {
        return;
    };
    let Some(mut lo) = (0..SEARCH.min(window.len())).find(|&p| chain_at(&h, window, p)) else {
        return;
    };
    while let Some((caplen, _)) = header_at(&h, window, lo) {
        let from = lo + h.record_header_len;
        let Some(frame) = window.get(from..from + caplen) else {
            break;
        };
        f(h.linktype, frame);
        lo = from + caplen;
    }
}

/// Whether [`CHAIN`] plausible headers follow each other from `p`, each
/// record whole in `w`.
fn chain_at(h: &PcapHeader, w: &[u8], p: usize) -> bool {
    let Some((_, first_s)) = header_at(h, w, p) else {
        return false;
    };
    let mut at = p;
    for _ in 0..CHAIN {
        let Some((caplen, s)) = header_at(h, w, at) else {
            return false;
        };
        if s.abs_diff(first_s) > SPAN_S {
            return false;
        }
        at += h.record_header_len + caplen;
        if at > w.len() {
            return false;
        }
    }
    true
}

/// The captured length and seconds of a plausible record header at `at`.
fn header_at(h: &PcapHeader, w: &[u8], at: usize) -> Option<(usize, u32)> {
    let e = h.endian;
    let secs = e.u32(w, at)?;
    let sub = e.u32(w, at + 4)?;
    let (a, b) = (e.u32(w, at + 8)?, e.u32(w, at + 12)?);
    let swap = match h.lengths {
        LengthOrder::Normal => false,
        LengthOrder::Swapped => true,
        LengthOrder::MaybeSwapped => a > b,
    };
    let (caplen, orig_len) = if swap { (b, a) } else { (a, b) };
    let unit_limit = if h.nanosecond {
        1_000_000_000
    } else {
        1_000_000
    };
    let plausible = !may_be_file_header(secs)
        && sub < unit_limit
        && caplen > 0
        && caplen <= MAX_CAPLEN
        && caplen <= orig_len
        && orig_len <= MAX_CAPLEN;
    plausible.then_some((usize::try_from(caplen).ok()?, secs))
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// A microsecond little-endian pcap of Ethernet frames of random
    /// lengths, and each frame.
    fn capture(r: &mut ChaCha8Rng, n: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut b = Vec::new();
        for w in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 1] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        let mut frames = Vec::new();
        for i in 0..n {
            let len = r.random_range(14..200usize);
            let frame: Vec<u8> = (0..len).map(|_| r.random()).collect();
            let wire = u32::try_from(len).unwrap() + r.random_range(0..40u32);
            for w in [
                1_700_000_000 + u32::try_from(i / 10).unwrap(),
                r.random_range(0..1_000_000u32),
                u32::try_from(len).unwrap(),
                wire,
            ] {
                b.extend_from_slice(&w.to_le_bytes());
            }
            b.extend_from_slice(&frame);
            frames.push(frame);
        }
        (b, frames)
    }

    #[test]
    fn a_window_anywhere_gives_the_records_whole_in_it() {
        let mut r = ChaCha8Rng::seed_from_u64(34);
        let (file, frames) = capture(&mut r, 2_000);
        for _ in 0..200 {
            let at = r.random_range(24..file.len() - 100);
            let len = r.random_range(100..8_000usize);
            let window = &file[at..(at + len).min(file.len())];
            let mut got: Vec<Vec<u8>> = Vec::new();
            pcap_window_records(&file[..24], window, &mut |lt, d| {
                assert_eq!(lt, 1);
                got.push(d.to_vec());
            });
            // The records found are consecutive records of the capture,
            // from the first that starts in the window (a boundary found
            // later only when a frame's bytes cannot read as headers).
            let Some(first) = got.first() else {
                continue;
            };
            let i = frames.iter().position(|f| f == first).unwrap();
            assert_eq!(got, frames[i..i + got.len()].to_vec());
        }
    }

    #[test]
    fn garbage_and_pcapng_give_nothing_and_never_panic() {
        let mut r = ChaCha8Rng::seed_from_u64(35);
        let (file, _) = capture(&mut r, 50);
        let noise: Vec<u8> = (0..5_000).map(|_| r.random()).collect();
        let mut n = 0;
        pcap_window_records(&file[..24], &noise, &mut |_, _| n += 1);
        assert_eq!(n, 0);
        // Not a pcap header: nothing, whatever the window holds.
        pcap_window_records(&noise[..24], &file[24..], &mut |_, _| n += 1);
        pcap_window_records(&[], &file, &mut |_, _| n += 1);
        assert_eq!(n, 0);
        for cut in 0..file.len().min(600) {
            pcap_window_records(&file[..24], &file[24..24 + cut], &mut |_, _| {});
        }
    }
}
