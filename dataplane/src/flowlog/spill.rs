//! Flow-log records kept outside memory: each data record, placed at its
//! VNIC as it is read, becomes a fixed-size [`Spilled`] (127 bytes: no
//! strings, the VNIC as an index) pushed into a [`Spool`] that holds at
//! most [`SpillConfig::buffer`] of them in memory and writes the rest as
//! sorted runs (window start, then input order) to one unnamed temporary
//! file (gone when the run ends, however it ends: `engine/spool.rs`).
//! [`super::stream`] merges the runs back in judging order.
//!
//! The OCID of a record whose VNIC is not in the scenario (only the
//! unplaced examples show it) is kept once in memory, or past 65,536 of
//! them in a second unnamed file ([`OcidStore`]); the record keeps a
//! reference.

use std::fs::File;
use std::net::IpAddr;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use zprsim_control::model::Scenario;

use super::codec::{get, get_ip, get_u64, put, put_ip};
use super::judge::{Direction, HashMap, Unplaced};
use super::record::{Action, EntryId, LogRecord};
use crate::engine::spool::{FAN_IN, Spool, SpoolError, Spooled};

/// Records held in memory before a sorted run is written, by default
/// (~128 MB in memory at 128 bytes each, the vector's room aside).
pub const DEFAULT_BUFFER: usize = 1_000_000;

/// Bytes of temporary files at most, by default (64 GiB: ~280 million
/// records, which past 128 runs count twice: the spool's intermediate
/// merges write them again).
pub const DEFAULT_MAX_SPILL: u64 = 64 << 30;

/// Records starting in one second at most, by default: the tie rule and
/// duplicate detection hold one second's records at once (~300 bytes each
/// with their working maps, so ~300 MB at the default).
pub const DEFAULT_MAX_GROUP: usize = 1_000_000;

pub use crate::engine::DEFAULT_MAX_CONNECTIONS;

/// OCIDs of VNICs outside the scenario held in memory (at most ~17 MB of
/// text); past this many distinct ones, each record of a further one
/// writes its OCID to a temporary file.
#[cfg(not(test))]
const MAX_INTERNED_OCIDS: usize = 65_536;
/// Small in the unit tests, so they reach the file.
#[cfg(test)]
const MAX_INTERNED_OCIDS: usize = 2;

/// Bounds of the spilled path.
#[derive(Debug, Clone)]
pub struct SpillConfig {
    /// Records held in memory before a sorted run is written (at least 1).
    pub buffer: usize,
    /// Bytes of temporary files at most (checked before each run is
    /// written).
    pub max_spill: u64,
    /// Records whose window starts in one second, at most.
    pub max_group: usize,
    /// Connections tracked at once, at most (live ones: idle ones are
    /// dropped first).
    pub max_connections: usize,
    /// The directory of the temporary files (`None`: `$TMPDIR`).
    pub dir: Option<PathBuf>,
}

impl Default for SpillConfig {
    fn default() -> Self {
        SpillConfig {
            buffer: DEFAULT_BUFFER,
            max_spill: DEFAULT_MAX_SPILL,
            max_group: DEFAULT_MAX_GROUP,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            dir: None,
        }
    }
}

/// Where a record was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// At VNIC `vnic`, in that direction.
    At(Direction),
    /// Not placed.
    Not(Unplaced),
}

/// A data record in fixed-size form: what judging and every output need,
/// the VNIC as its index in the scenario (or, unplaced for an unknown
/// VNIC, its OCID's offset in the [`OcidStore`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spilled {
    pub start: u64,
    /// Position among the data records read (duplicates included).
    pub seq: u64,
    pub end: u64,
    pub packets: u64,
    pub bytes: u64,
    pub line: u64,
    /// The entry id ([`EntryId`]), when it has one: bytes, not a `u128`,
    /// whose 16-byte alignment made the record 144 bytes in memory, not 128.
    pub id: Option<[u8; 16]>,
    pub file: u32,
    /// The scenario's VNIC (placed, or not the VNIC's address).
    pub vnic: u32,
    /// The OCID's offset in the [`OcidStore`] (unknown VNIC).
    pub ocid: u64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
    pub action: Action,
    /// Where it was placed ([`placed_code`]: one byte, where a `Placed`
    /// takes two and the record would pass 128 bytes).
    pub placed: u8,
    /// Its placement by the second scenario of a pair
    /// ([`FlowLogSpool::new_pair`]: `diff`), VNIC and where; the first's
    /// again otherwise.
    pub vnic2: u32,
    pub placed2: u8,
}

/// A placement as one byte.
pub(crate) fn placed_code(p: Placed) -> u8 {
    match p {
        Placed::At(Direction::Egress) => 0,
        Placed::At(Direction::Ingress) => 1,
        Placed::Not(Unplaced::UnknownVnic) => 2,
        Placed::Not(Unplaced::NotTheVnicsAddress) => 3,
    }
}

fn placed_from(code: u8) -> Option<Placed> {
    Some(match code {
        0 => Placed::At(Direction::Egress),
        1 => Placed::At(Direction::Ingress),
        2 => Placed::Not(Unplaced::UnknownVnic),
        3 => Placed::Not(Unplaced::NotTheVnicsAddress),
        _ => return None,
    })
}

impl Spooled for Spilled {
    /// 7 × 8 (times, seq, counts, line, OCID offset) + 17 (id and
    /// its presence) + 12 (file, two VNICs) + 2 × 17 (addresses) + 5
    /// (ports, protocol) + 3 (action, two placements).
    const SIZE: usize = 127;

    fn encode(&self, out: &mut [u8]) {
        let mut at = 0;
        for v in [
            self.start,
            self.seq,
            self.end,
            self.packets,
            self.bytes,
            self.line,
            self.ocid,
        ] {
            put(out, &mut at, &v.to_le_bytes());
        }
        put(out, &mut at, &[u8::from(self.id.is_some())]);
        put(out, &mut at, &self.id.unwrap_or([0; 16]));
        put(out, &mut at, &self.file.to_le_bytes());
        put(out, &mut at, &self.vnic.to_le_bytes());
        put(out, &mut at, &self.vnic2.to_le_bytes());
        put_ip(out, &mut at, self.src);
        put_ip(out, &mut at, self.dst);
        put(out, &mut at, &self.sport.to_le_bytes());
        put(out, &mut at, &self.dport.to_le_bytes());
        put(out, &mut at, &[self.proto]);
        put(
            out,
            &mut at,
            &[
                u8::from(self.action == Action::Reject),
                self.placed,
                self.placed2,
            ],
        );
        debug_assert_eq!(at, Self::SIZE);
    }

    fn decode(b: &[u8]) -> Option<Self> {
        let mut at = 0;
        let at = &mut at;
        let start = get_u64(b, at)?;
        let seq = get_u64(b, at)?;
        let end = get_u64(b, at)?;
        let packets = get_u64(b, at)?;
        let bytes = get_u64(b, at)?;
        let line = get_u64(b, at)?;
        let ocid = get_u64(b, at)?;
        let [has_id] = get::<1>(b, at)?;
        let id = get::<16>(b, at)?;
        let file = u32::from_le_bytes(get::<4>(b, at)?);
        let vnic = u32::from_le_bytes(get::<4>(b, at)?);
        let vnic2 = u32::from_le_bytes(get::<4>(b, at)?);
        let src = get_ip(b, at)?;
        let dst = get_ip(b, at)?;
        let sport = u16::from_le_bytes(get::<2>(b, at)?);
        let dport = u16::from_le_bytes(get::<2>(b, at)?);
        let [proto, action, placed, placed2] = get::<4>(b, at)?;
        Some(Spilled {
            start,
            seq,
            end,
            packets,
            bytes,
            line,
            id: (has_id == 1).then_some(id),
            file,
            vnic,
            ocid,
            src,
            dst,
            sport,
            dport,
            proto,
            action: if action == 1 {
                Action::Reject
            } else {
                Action::Accept
            },
            placed: placed_from(placed).map(placed_code)?,
            vnic2,
            placed2: placed_from(placed2).map(placed_code)?,
        })
    }

    /// Window start, then input order: the merge gives each second's
    /// records together, in input order (total: `seq` is unique).
    fn order(&self, o: &Self) -> std::cmp::Ordering {
        (self.start, self.seq).cmp(&(o.start, o.seq))
    }
}

impl Spilled {
    /// Its VNIC and placement by scenario `side` (0, or 1 of a pair).
    pub(crate) fn placement(&self, side: usize) -> (u32, Placed) {
        let (v, code) = if side == 0 {
            (self.vnic, self.placed)
        } else {
            (self.vnic2, self.placed2)
        };
        // Codes are made by `placed_code` and checked when read back.
        (
            v,
            placed_from(code).unwrap_or(Placed::Not(Unplaced::UnknownVnic)),
        )
    }

    /// The record, its VNIC's OCID `vnic` (shared).
    pub(crate) fn record(&self, vnic: Arc<str>) -> LogRecord {
        LogRecord {
            file: self.file,
            line: self.line,
            vnic,
            action: self.action,
            src: self.src,
            dst: self.dst,
            proto: self.proto,
            sport: self.sport,
            dport: self.dport,
            packets: self.packets,
            bytes: self.bytes,
            start: self.start,
            end: self.end,
        }
    }
}

/// OCIDs of VNICs outside the scenario: the first [`MAX_INTERNED_OCIDS`]
/// distinct ones in memory (a reference is their index), any further one
/// as a length byte and its text in an unnamed temporary file, written for
/// each record that names it (a reference is its offset, with the top bit
/// set). A run that fits in memory writes nothing.
pub(crate) struct OcidStore {
    file: Option<File>,
    dir: PathBuf,
    /// Bytes written to the file.
    pub len: u64,
    known: HashMap<Box<str>, u64>,
    texts: Vec<Box<str>>,
}

/// The top bit of a reference into the [`OcidStore`]'s file.
const IN_FILE: u64 = 1 << 63;

impl OcidStore {
    fn new(dir: PathBuf) -> OcidStore {
        OcidStore {
            file: None,
            dir,
            len: 0,
            known: HashMap::default(),
            texts: Vec::new(),
        }
    }

    /// A reference to `ocid`'s text.
    fn put(&mut self, ocid: &str) -> std::io::Result<u64> {
        if let Some(&at) = self.known.get(ocid) {
            return Ok(at);
        }
        if self.texts.len() < MAX_INTERNED_OCIDS {
            let at = self.texts.len() as u64;
            self.texts.push(ocid.into());
            self.known.insert(ocid.into(), at);
            return Ok(at);
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(tempfile::tempfile_in(&self.dir)?),
        };
        // An OCID is at most MAX_OCID (255) bytes: the reader refuses longer.
        let n = u8::try_from(ocid.len()).unwrap_or(u8::MAX);
        let mut b = Vec::with_capacity(1 + usize::from(n));
        b.push(n);
        b.extend_from_slice(ocid.as_bytes().get(..usize::from(n)).unwrap_or_default());
        let at = self.len;
        file.write_all_at(&b, at)?;
        self.len += b.len() as u64;
        Ok(at | IN_FILE)
    }

    /// The OCID `at` refers to.
    pub(crate) fn get(&self, at: u64) -> std::io::Result<String> {
        if at & IN_FILE == 0 {
            return Ok(usize::try_from(at)
                .ok()
                .and_then(|i| self.texts.get(i))
                .map(ToString::to_string)
                .unwrap_or_default());
        }
        let Some(f) = &self.file else {
            return Ok(String::new());
        };
        let at = at & !IN_FILE;
        let mut n = [0u8; 1];
        f.read_exact_at(&mut n, at)?;
        let mut b = vec![0u8; usize::from(n[0])];
        f.read_exact_at(&mut b, at + 1)?;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
}

/// Placing records at one scenario's VNICs.
pub(crate) struct Placer {
    by_id: HashMap<Arc<str>, u32>,
    /// Each VNIC's private IPs.
    ips: Vec<Vec<IpAddr>>,
    /// Each VNIC's `id` (empty when it has none).
    pub(crate) vnic_ids: Vec<Arc<str>>,
}

impl Placer {
    fn new(s: &Scenario) -> Placer {
        Placer {
            by_id: s
                .vnics
                .iter()
                .enumerate()
                .filter_map(|(i, v)| Some((Arc::from(v.id.as_deref()?), u32::try_from(i).ok()?)))
                // As `judge_records`'s map: of two VNICs with one id, the later.
                .collect(),
            ips: s.vnics.iter().map(|v| v.private_ips.clone()).collect(),
            vnic_ids: s
                .vnics
                .iter()
                .map(|v| Arc::from(v.id.as_deref().unwrap_or_default()))
                .collect(),
        }
    }

    /// `r`'s VNIC and placement; `None` when no VNIC has its OCID.
    fn place(&self, r: &LogRecord) -> Option<(u32, Placed)> {
        let v = *self.by_id.get(&*r.vnic)?;
        let holds = |ip: IpAddr| self.ips.get(v as usize).is_some_and(|x| x.contains(&ip));
        Some(if holds(r.src) {
            (v, Placed::At(Direction::Egress))
        } else if holds(r.dst) {
            (v, Placed::At(Direction::Ingress))
        } else {
            (v, Placed::Not(Unplaced::NotTheVnicsAddress))
        })
    }
}

/// The data records of a run, placed and spooled as they are read
/// ([`super::read::ReadOutcome::spilling`]).
pub struct FlowLogSpool {
    pub(crate) spool: Spool<Spilled>,
    pub(crate) cfg: SpillConfig,
    /// The scenario's placer, and the second one's of a pair.
    pub(crate) placers: Vec<Placer>,
    pub(crate) ocids: OcidStore,
    /// Data records pushed.
    pub(crate) seq: u64,
    /// Why the temporary files could not be written, once they could not
    /// (every later push is refused with it).
    pub(crate) full: Option<String>,
}

/// Why [`FlowLogSpool::push`] kept no record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// The next run would pass `--max-flow-log-spill` (bad input), or the
    /// temporary directory cannot be used at all (missing, not writable):
    /// the run ends.
    Limit(String),
    /// The temporary files could not be written (a full disk): the records
    /// pushed before are kept, and can be judged (a reader stops here, as a
    /// Ctrl-C stops it). The message names the directory, what filled it
    /// and what to do.
    Full(String),
}

impl std::fmt::Debug for FlowLogSpool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowLogSpool")
            .field("records", &self.seq)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl FlowLogSpool {
    /// An empty spool placing records at `s`'s VNICs.
    #[must_use]
    pub fn new(s: &Scenario, cfg: SpillConfig) -> FlowLogSpool {
        let dir = cfg.dir.clone().unwrap_or_else(std::env::temp_dir);
        FlowLogSpool {
            spool: Spool::new(cfg.buffer, cfg.dir.as_deref()),
            placers: vec![Placer::new(s)],
            ocids: OcidStore::new(dir),
            cfg,
            seq: 0,
            full: None,
        }
    }

    /// An empty spool placing records at the VNICs of `before` and of
    /// `after` (`diff`: [`super::stream::judge_spooled_pair`]).
    #[must_use]
    pub fn new_pair(before: &Scenario, after: &Scenario, cfg: SpillConfig) -> FlowLogSpool {
        let mut sp = FlowLogSpool::new(before, cfg);
        sp.placers.push(Placer::new(after));
        sp
    }

    /// Data records pushed so far.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.seq
    }

    /// Sorted runs written so far.
    #[must_use]
    pub fn runs(&self) -> u64 {
        self.spool.stats().runs
    }

    /// Bytes of temporary files written so far.
    #[must_use]
    pub fn spilled_bytes(&self) -> u64 {
        self.spool.stats().spilled * Spilled::SIZE as u64 + self.ocids.len
    }

    /// The most bytes the temporary files reach with one more run: past
    /// [`FAN_IN`] runs, the spool merges the oldest into longer runs
    /// appended to the same file before the final merge, which writes the
    /// records once more at most (a merged run is merged again only after
    /// every first run), so the records count twice.
    fn bytes_with_next_run(&self) -> u64 {
        let st = self.spool.stats();
        let records = (st.spilled + self.spool.bound() as u64) * Spilled::SIZE as u64;
        let merged = if st.runs + 1 > FAN_IN as u64 {
            records
        } else {
            0
        };
        records + merged + self.ocids.len
    }

    fn spill_limit(&self) -> String {
        format!(
            "the flow-log records need more than {} MiB of temporary files (the limit, `--max-flow-log-spill`, in {})",
            self.cfg.max_spill >> 20,
            self.ocids.dir.display()
        )
    }

    /// Why a temporary file could not be written (`e`): a full disk (or
    /// quota, or file size limit) stops the reading ([`PushError::Full`],
    /// kept: every later push is refused with it); a directory that cannot
    /// be used at all ends the run ([`PushError::Limit`]).
    fn full_message(&mut self, e: &SpoolError) -> PushError {
        use std::io::ErrorKind;
        if !matches!(
            e.source.kind(),
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge
        ) {
            return PushError::Limit(e.message(
                "the flow-log records read past `--flow-log-buffer`",
                "a larger `--flow-log-buffer` (about 128 bytes a record)",
            ));
        }
        let m = format!(
            "{}; the reading stopped there (a Ctrl-C's way): the report and every output hold the {} data record(s) read before it",
            e.message(
                &format!(
                    "the flow-log records read past `--flow-log-buffer` ({} held in memory; {} byte(s) written)",
                    self.cfg.buffer,
                    self.spilled_bytes()
                ),
                "a larger `--flow-log-buffer` (about 128 bytes a record)"
            ),
            self.seq,
        );
        self.full = Some(m.clone());
        PushError::Full(m)
    }

    /// Places `r` (with entry id `id`) and spools it.
    ///
    /// # Errors
    /// The next run would take the temporary files past
    /// [`SpillConfig::max_spill`] ([`PushError::Limit`]), or a temporary
    /// file cannot be written ([`PushError::Full`]: `r` and every later
    /// record are not kept, the ones before are).
    pub fn push(&mut self, r: &LogRecord, id: Option<EntryId>) -> Result<(), PushError> {
        if let Some(m) = &self.full {
            return Err(PushError::Full(m.clone()));
        }
        if self.spool.full() && self.bytes_with_next_run() > self.cfg.max_spill {
            return Err(PushError::Limit(self.spill_limit()));
        }
        let (vnic, placed, ocid) = match self.placers.first().and_then(|p| p.place(r)) {
            Some((v, placed)) => (v, placed, 0),
            None => {
                let at = match self.ocids.put(&r.vnic) {
                    Ok(at) => at,
                    Err(source) => {
                        let e = SpoolError {
                            dir: self.ocids.dir.clone(),
                            source,
                        };
                        return Err(self.full_message(&e));
                    }
                };
                // OCIDs not remembered are written again for each record:
                // bounded too, as they are written.
                if self.spilled_bytes() > self.cfg.max_spill {
                    return Err(PushError::Limit(self.spill_limit()));
                }
                (0, Placed::Not(Unplaced::UnknownVnic), at)
            }
        };
        let (vnic2, placed2) = match self.placers.get(1) {
            None => (vnic, placed),
            Some(p) => p
                .place(r)
                .unwrap_or((0, Placed::Not(Unplaced::UnknownVnic))),
        };
        self.spool.push(Spilled {
            start: r.start,
            seq: self.seq,
            end: r.end,
            packets: r.packets,
            bytes: r.bytes,
            line: r.line,
            id: id.map(|i| i.0.to_le_bytes()),
            file: r.file,
            vnic,
            ocid,
            src: r.src,
            dst: r.dst,
            sport: r.sport,
            dport: r.dport,
            proto: r.proto,
            action: r.action,
            placed: placed_code(placed),
            vnic2,
            placed2: placed_code(placed2),
        });
        if self.spool.failed() {
            // The run that failed is kept in memory, `r` is not: what was
            // pushed before can still be read back.
            if let Some(e) = self.spool.recover() {
                return Err(self.full_message(&e));
            }
        }
        self.seq += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_spilled_record_reads_back_as_written() {
        let mut r = Spilled {
            start: 1_717_083_045,
            seq: 7,
            end: 1_717_083_104,
            packets: 1 << 53,
            bytes: 12345,
            line: 99,
            id: Some([7; 16]),
            file: 2,
            vnic: 5,
            ocid: 77,
            src: "10.0.1.10".parse().unwrap(),
            dst: "fd00::1:2".parse().unwrap(),
            sport: 41999,
            dport: 8080,
            proto: 6,
            action: Action::Reject,
            placed: 1,
            vnic2: 9,
            placed2: 2,
        };
        let mut b = vec![0u8; Spilled::SIZE];
        for placed in [
            Placed::At(Direction::Egress),
            Placed::At(Direction::Ingress),
            Placed::Not(Unplaced::UnknownVnic),
            Placed::Not(Unplaced::NotTheVnicsAddress),
        ] {
            for id in [None, Some([0; 16]), Some([255; 16])] {
                r.placed = placed_code(placed);
                r.placed2 = placed_code(placed);
                r.id = id;
                r.action = if id.is_some() {
                    Action::Accept
                } else {
                    Action::Reject
                };
                r.encode(&mut b);
                assert_eq!(Spilled::decode(&b), Some(r));
            }
        }
        // 128 bytes in memory.
        assert_eq!(std::mem::size_of::<Spilled>(), 128);
        // A placement byte that is none.
        b[Spilled::SIZE - 2] = 9;
        assert_eq!(Spilled::decode(&b), None);
    }

    #[test]
    fn ocids_read_back_from_memory_and_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = OcidStore::new(dir.path().to_path_buf());
        let a = s.put("ocid1.vnic.a").unwrap();
        let b = s.put("ocid1.vnic.bb").unwrap();
        assert_eq!(s.put("ocid1.vnic.a").unwrap(), a);
        // Two held in memory: nothing written yet.
        assert_eq!(s.len, 0);
        let c = s.put("ocid1.vnic.ccc").unwrap();
        let c2 = s.put("ocid1.vnic.ccc").unwrap();
        assert_eq!(s.len, 2 * 15);
        for (at, want) in [
            (a, "ocid1.vnic.a"),
            (b, "ocid1.vnic.bb"),
            (c, "ocid1.vnic.ccc"),
            (c2, "ocid1.vnic.ccc"),
        ] {
            assert_eq!(s.get(at).unwrap(), want);
        }
        // Unnamed: nothing in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
