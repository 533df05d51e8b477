//! Writers for the `--allowed` and `--dropped` captures.
//!
//! Frames are written byte for byte as they were read, in the order given.
//! When every record has one link type the output is classic pcap with
//! nanosecond timestamps (magic `0xa1b23c4d`, snapshot length 262144);
//! otherwise it is pcapng with one interface description block per link
//! type (`if_tsresol` 9, nanoseconds) and enhanced packet blocks. Both are
//! behind [`PcapOut`]; the caller picks the [`OutFormat`] up front (see
//! [`crate::capture::Capture::link_types`]).
//!
//! Written by hand (a 24-byte header and 16-byte record headers, a few
//! pcapng blocks) rather than with pcap-file 2.0, whose writer has no
//! `flush` (errors at the end would be lost in a `Drop`) and whose reader
//! rejects files we must read; one less dependency for ~100 lines.
//!
//! ```
//! use zprsim_dataplane::pcap_out::{OutFormat, PcapOut};
//! let mut out = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
//! out.write(1_500_000_000_123_456_789, 1, 60, &[0u8; 60]).unwrap();
//! let bytes = out.finish().unwrap();
//! assert_eq!(bytes.len(), 24 + 16 + 60);
//! assert_eq!(&bytes[..4], &0xa1b2_3c4du32.to_le_bytes());
//! ```

use std::io::{self, BufWriter, Write};

use crate::capture::{MAX_CAPLEN, Record};

/// The container written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFormat {
    /// Classic pcap, nanosecond timestamps, every record of this link type.
    Pcap {
        /// The link type of every record.
        linktype: u32,
    },
    /// pcapng, one interface per link type, added as records need them.
    PcapNg,
}

impl OutFormat {
    /// The format for records of these link types: pcap when there is one
    /// (or none: an empty Ethernet pcap), pcapng otherwise.
    #[must_use]
    pub fn for_link_types(link_types: &[u32]) -> OutFormat {
        match link_types {
            [] => OutFormat::Pcap { linktype: 1 },
            [first, rest @ ..] if rest.iter().all(|lt| lt == first) => {
                OutFormat::Pcap { linktype: *first }
            }
            _ => OutFormat::PcapNg,
        }
    }
}

/// A pcap or pcapng writer over any `Write` (buffered internally).
#[derive(Debug)]
pub struct PcapOut<W: Write> {
    out: BufWriter<W>,
    format: OutFormat,
    /// pcapng: the link type of each interface written, by interface id.
    interfaces: Vec<u32>,
    packets: u64,
}

/// The pcap nanosecond magic, written in little-endian order.
const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const NS_PER_S: u64 = 1_000_000_000;

/// A classic pcap record header with a nanosecond timestamp.
fn pcap_header(ts_ns: u64, caplen: u32, orig_len: u32) -> [u8; 16] {
    let secs = ts_ns / NS_PER_S;
    let nanos = u32::try_from(ts_ns % NS_PER_S).unwrap_or(0);
    let mut h = [0u8; 16];
    // pcap seconds are 32 bits: later than 2106 saturates.
    h[0..4].copy_from_slice(&u32::try_from(secs).unwrap_or(u32::MAX).to_le_bytes());
    h[4..8].copy_from_slice(&nanos.to_le_bytes());
    h[8..12].copy_from_slice(&caplen.to_le_bytes());
    h[12..16].copy_from_slice(&orig_len.to_le_bytes());
    h
}

/// Whether `header` is the 16 bytes [`PcapOut::write`] puts before a frame
/// of `caplen` bytes, `orig_len` on the wire, at `ts_ns`, in a classic
/// pcap output ([`PcapOut::record_header`]'s, compared without its
/// division of the timestamp: the engine's writer asks it of every
/// allowed record of a nanosecond pcap input, whose header is then
/// copied with the frame in one run). The header's seconds and
/// nanoseconds must give `ts_ns` with the nanoseconds under a second, as
/// the writer splits it: a header naming the same instant otherwise
/// (nanoseconds of 10^9 or more) is not the one written. A timestamp past
/// 2106 (whose seconds [`PcapOut::write`] saturates) is never said to be
/// held as written: such a record is written by `write`, which gives the
/// same bytes.
#[must_use]
#[inline]
pub fn is_record_header(header: &[u8; 16], ts_ns: u64, orig_len: u32, caplen: u32) -> bool {
    let w = |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let (secs, nanos) = (w(0), w(4));
    // Neither side of `==` overflows: seconds below 2^32, nanoseconds
    // below 10^9.
    u64::from(nanos) < NS_PER_S
        && u64::from(secs) * NS_PER_S + u64::from(nanos) == ts_ns
        && w(8) == caplen
        && w(12) == orig_len
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl<W: Write> PcapOut<W> {
    /// Starts a file: writes the pcap file header or the pcapng section
    /// header.
    ///
    /// # Errors
    /// I/O errors from the writer.
    pub fn create(writer: W, format: OutFormat) -> io::Result<PcapOut<W>> {
        let mut out = BufWriter::with_capacity(256 * 1024, writer);
        match format {
            OutFormat::Pcap { linktype } => {
                let mut h = [0u8; 24];
                h[0..4].copy_from_slice(&PCAP_MAGIC_NS.to_le_bytes());
                h[4..6].copy_from_slice(&2u16.to_le_bytes());
                h[6..8].copy_from_slice(&4u16.to_le_bytes());
                // thiszone and sigfigs stay 0.
                h[16..20].copy_from_slice(&MAX_CAPLEN.to_le_bytes());
                h[20..24].copy_from_slice(&linktype.to_le_bytes());
                out.write_all(&h)?;
            }
            OutFormat::PcapNg => {
                let mut b = [0u8; 28];
                b[0..4].copy_from_slice(&SHB.to_le_bytes());
                b[4..8].copy_from_slice(&28u32.to_le_bytes());
                b[8..12].copy_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
                b[12..14].copy_from_slice(&1u16.to_le_bytes());
                // minor version 0; section length -1 (not given).
                b[16..24].copy_from_slice(&(-1i64).to_le_bytes());
                b[24..28].copy_from_slice(&28u32.to_le_bytes());
                out.write_all(&b)?;
            }
        }
        Ok(PcapOut {
            out,
            format,
            interfaces: Vec::new(),
            packets: 0,
        })
    }

    /// Writes a record read from a capture.
    ///
    /// # Errors
    /// As [`PcapOut::write`].
    pub fn write_record(&mut self, record: &Record<'_>) -> io::Result<()> {
        self.write(record.ts_ns, record.linktype, record.orig_len, record.data)
    }

    /// Writes one frame.
    ///
    /// # Errors
    /// I/O errors; `InvalidInput` for a link type other than a pcap
    /// output's, a pcapng link type over 65535, or a frame over 4 GiB.
    pub fn write(
        &mut self,
        ts_ns: u64,
        linktype: u32,
        orig_len: u32,
        data: &[u8],
    ) -> io::Result<()> {
        let caplen = u32::try_from(data.len()).map_err(|_| {
            invalid(format!(
                "frame of {} bytes is too long to write",
                data.len()
            ))
        })?;
        match self.format {
            OutFormat::Pcap { linktype: file_lt } => {
                if linktype != file_lt {
                    return Err(invalid(format!(
                        "record of link type {linktype} in a pcap output of link type {file_lt}"
                    )));
                }
                let h = pcap_header(ts_ns, caplen, orig_len);
                self.out.write_all(&h)?;
                self.out.write_all(data)?;
            }
            OutFormat::PcapNg => {
                let interface = self.interface(linktype)?;
                let pad = (4 - data.len() % 4) % 4;
                let total = u32::try_from(32 + data.len() + pad).map_err(|_| {
                    invalid(format!(
                        "frame of {} bytes is too long to write",
                        data.len()
                    ))
                })?;
                let mut h = [0u8; 28];
                h[0..4].copy_from_slice(&EPB.to_le_bytes());
                h[4..8].copy_from_slice(&total.to_le_bytes());
                h[8..12].copy_from_slice(&interface.to_le_bytes());
                // if_tsresol 9: the timestamp is nanoseconds since the epoch.
                let high = u32::try_from(ts_ns >> 32).unwrap_or(0);
                let low = u32::try_from(ts_ns & 0xFFFF_FFFF).unwrap_or(0);
                h[12..16].copy_from_slice(&high.to_le_bytes());
                h[16..20].copy_from_slice(&low.to_le_bytes());
                h[20..24].copy_from_slice(&caplen.to_le_bytes());
                h[24..28].copy_from_slice(&orig_len.to_le_bytes());
                self.out.write_all(&h)?;
                self.out.write_all(data)?;
                self.out.write_all(&[0u8; 3][..pad])?;
                self.out.write_all(&total.to_le_bytes())?;
            }
        }
        self.packets += 1;
        Ok(())
    }

    /// The 16 bytes [`PcapOut::write`] puts before a frame of `caplen`
    /// bytes, when this output is classic pcap of `linktype` (`None`
    /// otherwise: pcapng, or a link type it would refuse).
    #[must_use]
    pub fn record_header(
        &self,
        ts_ns: u64,
        linktype: u32,
        orig_len: u32,
        caplen: u32,
    ) -> Option<[u8; 16]> {
        match self.format {
            OutFormat::Pcap { linktype: file_lt } if file_lt == linktype => {
                Some(pcap_header(ts_ns, caplen, orig_len))
            }
            _ => None,
        }
    }

    /// The link type of every record when this output is classic pcap
    /// (`None`: pcapng): the records [`PcapOut::record_header`] and
    /// [`is_record_header`] can say are written verbatim.
    #[must_use]
    pub fn pcap_linktype(&self) -> Option<u32> {
        match self.format {
            OutFormat::Pcap { linktype } => Some(linktype),
            OutFormat::PcapNg => None,
        }
    }

    /// Writes `records` records that `bytes` holds exactly as
    /// [`PcapOut::write`] would write them, one after the other (each a
    /// [`PcapOut::record_header`] and its frame): a run of records that a
    /// nanosecond pcap input holds back to back goes out in one copy.
    ///
    /// # Errors
    /// I/O errors from the writer.
    pub fn write_verbatim(&mut self, bytes: &[u8], records: u64) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.packets += records;
        Ok(())
    }

    /// The pcapng interface id for a link type, writing its IDB the first
    /// time.
    fn interface(&mut self, linktype: u32) -> io::Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|&lt| lt == linktype) {
            return u32::try_from(i).map_err(|_| invalid("too many interfaces".to_string()));
        }
        let lt16 = u16::try_from(linktype).map_err(|_| {
            invalid(format!(
                "link type {linktype} does not fit a pcapng interface"
            ))
        })?;
        let mut b = [0u8; 32];
        b[0..4].copy_from_slice(&IDB.to_le_bytes());
        b[4..8].copy_from_slice(&32u32.to_le_bytes());
        b[8..10].copy_from_slice(&lt16.to_le_bytes());
        // reserved 0; snaplen:
        b[12..16].copy_from_slice(&MAX_CAPLEN.to_le_bytes());
        // if_tsresol (code 9, length 1) = 9, padded to 4 bytes.
        b[16..18].copy_from_slice(&9u16.to_le_bytes());
        b[18..20].copy_from_slice(&1u16.to_le_bytes());
        b[20] = 9;
        // opt_endofopt (code 0, length 0) at 24..28, then the trailer.
        b[28..32].copy_from_slice(&32u32.to_le_bytes());
        self.out.write_all(&b)?;
        self.interfaces.push(linktype);
        u32::try_from(self.interfaces.len() - 1)
            .map_err(|_| invalid("too many interfaces".to_string()))
    }

    /// Frames written so far.
    #[must_use]
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Pushes every record written so far to the underlying writer (and
    /// flushes it), so a reader of the file sees whole records.
    ///
    /// # Errors
    /// I/O errors.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the writer. A pcapng file that received no
    /// record gets one (Ethernet) interface description block: libpcap
    /// refuses a section without any ("the capture file has no Interface
    /// Description Blocks"), and an empty output must read as empty.
    ///
    /// # Errors
    /// The I/O error of the final flush.
    pub fn finish(mut self) -> io::Result<W> {
        if self.format == OutFormat::PcapNg && self.interfaces.is_empty() {
            self.interface(1)?;
        }
        let mut inner = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        inner.flush()?;
        Ok(inner)
    }
}

#[cfg(test)]
mod tests {
    use super::{OutFormat, PcapOut};

    /// An empty pcapng output still has an interface description block:
    /// libpcap (tcpdump) refuses a section with none, so an empty
    /// `--allowed` of a capture with two link types could not be read.
    #[test]
    fn an_empty_pcapng_output_has_an_interface() {
        let out = PcapOut::create(Vec::new(), OutFormat::PcapNg).unwrap();
        let bytes = out.finish().unwrap();
        assert_eq!(bytes.len(), 28 + 32);
        assert_eq!(&bytes[28..32], &1u32.to_le_bytes(), "an IDB");
        assert_eq!(&bytes[36..38], &1u16.to_le_bytes(), "Ethernet");
        // With records, no extra block: the first record's IDB is the only one.
        let mut out = PcapOut::create(Vec::new(), OutFormat::PcapNg).unwrap();
        out.write(1, 101, 20, &[0x45; 20]).unwrap();
        let bytes = out.finish().unwrap();
        assert_eq!(&bytes[36..38], &101u16.to_le_bytes());
        let idbs = bytes
            .windows(8)
            .filter(|w| w == &[1, 0, 0, 0, 32, 0, 0, 0])
            .count();
        assert_eq!(idbs, 1);
    }

    proptest::proptest! {
        /// `is_record_header` says exactly when a header is the one
        /// `write` puts before the frame (`record_header`'s bytes), but
        /// for timestamps whose seconds do not fit 32 bits (saturated by
        /// `write`: never said to be held, so written by `write`): on
        /// headers that are, on the same with one byte changed, and on
        /// arbitrary ones (nanoseconds of 10^9 and more).
        #[test]
        fn record_header_check_agrees_with_the_header_written(
            ts in proptest::prelude::any::<u64>(),
            secs in proptest::prelude::any::<u32>(),
            nanos in proptest::prelude::any::<u32>(),
            caplen in 0u32..300_000,
            orig in proptest::prelude::any::<u32>(),
            nudge in 0usize..17,
        ) {
            let out = PcapOut::create(Vec::new(), OutFormat::Pcap { linktype: 1 }).unwrap();
            let check = |h: &[u8; 16], ts: u64| {
                super::is_record_header(h, ts, orig, caplen)
                    == (out.record_header(ts, 1, orig, caplen).as_ref() == Some(h)
                        && ts / 1_000_000_000 <= u64::from(u32::MAX))
            };
            // Written for `ts`, then one byte changed (16: none).
            let mut h = out.record_header(ts, 1, orig, caplen).unwrap();
            if let Some(b) = h.get_mut(nudge) {
                *b ^= 1;
            }
            proptest::prop_assert!(check(&h, ts));
            // Seconds and nanoseconds as an input may hold them.
            let mut h = [0u8; 16];
            h[0..4].copy_from_slice(&secs.to_le_bytes());
            h[4..8].copy_from_slice(&nanos.to_le_bytes());
            h[8..12].copy_from_slice(&caplen.to_le_bytes());
            h[12..16].copy_from_slice(&orig.to_le_bytes());
            let same = u64::from(secs) * 1_000_000_000 + u64::from(nanos);
            proptest::prop_assert!(check(&h, same));
            proptest::prop_assert!(check(&h, ts));
            proptest::prop_assert!(check(&h, same.wrapping_add(1)));
        }
    }

    /// Records as `write` writes them, copied verbatim in runs, give the
    /// same file and count; a pcapng output or another link type has no
    /// verbatim header.
    #[test]
    fn verbatim_runs_equal_record_by_record_writes() {
        let format = OutFormat::Pcap { linktype: 1 };
        let records: Vec<(u64, u32, Vec<u8>)> = (0..50u8)
            .map(|i| {
                let ts = 1_700_000_000_000_000_000 + u64::from(i) * 1_000_003;
                (ts, 60 + u32::from(i), vec![i; usize::from(i % 7) + 14])
            })
            .collect();
        let mut one = PcapOut::create(Vec::new(), format).unwrap();
        for (ts, orig, data) in &records {
            one.write(*ts, 1, *orig, data).unwrap();
        }
        assert_eq!(one.packets(), 50);
        let one = one.finish().unwrap();
        // The body after the file header, split in runs of 1, 2, 3, ...
        let mut runs = PcapOut::create(Vec::new(), format).unwrap();
        let body = &one[24..];
        let (mut at, mut i, mut len) = (0usize, 0usize, 1usize);
        while i < records.len() {
            let n = len.min(records.len() - i);
            let mut end = at;
            for (ts, orig, data) in &records[i..i + n] {
                let caplen = u32::try_from(data.len()).unwrap();
                let h = runs.record_header(*ts, 1, *orig, caplen).unwrap();
                assert_eq!(&body[end..end + 16], h.as_slice());
                end += 16 + data.len();
            }
            runs.write_verbatim(&body[at..end], n as u64).unwrap();
            at = end;
            i += n;
            len += 1;
        }
        assert_eq!(runs.packets(), 50);
        assert_eq!(runs.finish().unwrap(), one);
        let other = PcapOut::create(Vec::new(), format).unwrap();
        assert!(other.record_header(0, 113, 60, 60).is_none());
        assert_eq!(other.pcap_linktype(), Some(1));
        let ng = PcapOut::create(Vec::new(), OutFormat::PcapNg).unwrap();
        assert!(ng.record_header(0, 1, 60, 60).is_none());
        assert_eq!(ng.pcap_linktype(), None);
    }
}
