//! OCI VCN flow logs as a traffic source: each record is one VNIC's view
//! of one direction of a flow over a one-minute window, with its packets,
//! bytes and what OCI did (`ACCEPT` or `REJECT`). zprsim judges each record
//! at that VNIC and compares the two (the CLI contract's "Flow-log input").
//!
//! - [`detect`]: is a file a flow-log file (JSON, or gzip or zstd of JSON)?
//! - [`read`]: JSON lines, JSON array, Logging search output, gzip, zstd;
//!   limits.
//! - [`record`]: one entry's fields, with or without the envelope.
//! - [`fast`]: the common data record read without a JSON tree (a
//!   shortcut to [`record`]'s result).
//! - [`judge`]: placing, ordering, tracking and judging the records.
//! - [`spill`]: records placed as they are read and kept in fixed-size
//!   form, in sorted runs outside memory past a bound.
//! - [`stream`]: judging those in bounded memory, as [`judge`] does.
//! - [`live`]: the connections tracked across records, held while live.
//! - [`sort`]: an external sort of fixed-size records (`diff`'s flows).
//! - [`diff`]: `diff` on flow logs: both scenarios' verdicts of each
//!   record, grouped into flows and classed (its records sorted with
//!   [`sort`]).
//! - [`codec`]: the byte cursor of those fixed-size records.

pub mod codec;
pub mod detect;
pub mod diff;
pub mod fast;
pub mod judge;
mod live;
pub mod read;
pub mod record;
pub mod sort;
pub mod spill;
pub mod stream;
