//! gzip-compressed captures, read as the capture they hold: the files of
//! `tcpdump -G 3600 -z gzip` (rotated and compressed as they close) and
//! `.pcap.gz` downloads, as Wireshark and tshark read them. Decompressed
//! as a stream, never whole, so memory does not grow with the file; byte
//! offsets in messages are offsets in the decompressed capture. A gzip
//! input that holds no capture is named as such. xz, zstd and bzip2 are
//! still refused with the command that decompresses them
//! ([`super::FormatError::Compressed`]).

use std::io::{self, Cursor, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use flate2::read::MultiGzDecoder;

use super::{CaptureError, FormatError, RecordStream};
use crate::flowlog::detect::GZIP_MAGIC;
use crate::warning::{RunWarning, RunWarningCode};

/// A readable input.
pub type Stream = Box<dyn Read + Send>;

/// Whether a read error of a gzip stream is the stream ending early: cut
/// inside a member (`UnexpectedEof`), or bytes after a whole member that
/// are no gzip member (trailing junk: the decoder then reads them as the
/// next member's header and refuses it; flate2 tells that refusal only by
/// its message).
#[must_use]
pub fn gzip_ends_early(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof
        || (e.kind() == io::ErrorKind::InvalidInput && e.to_string() == "invalid gzip header")
}

/// Says whether a gzip capture's stream ended early (a file cut, or
/// rotated and not yet finished): the reader then sees the end of the
/// capture there, as it does where a plain file is cut, and the run
/// warns.
#[derive(Debug, Clone, Default)]
pub struct Cut(Arc<AtomicBool>);

impl Cut {
    /// The stream ended early.
    #[must_use]
    pub fn happened(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A gzip decoder whose early end is the end of its output, noted in
/// [`Cut`].
struct EndsEarly<R> {
    inner: R,
    cut: Cut,
}

impl<R: Read> Read for EndsEarly<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Err(e) if gzip_ends_early(&e) => {
                self.cut.0.store(true, Ordering::Relaxed);
                Ok(0)
            }
            r => r,
        }
    }
}

/// `r` decompressed when it starts with gzip's magic, else `r` as it is;
/// with, for gzip, what says whether its stream ended early. Reads (and
/// gives back) its first two bytes.
///
/// # Errors
/// Those of reading the first two bytes.
pub fn gunzipped(mut r: Stream) -> io::Result<(Stream, Option<Cut>)> {
    let mut head = [0u8; 2];
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let back: Stream = Box::new(Cursor::new(head[..n].to_vec()).chain(r));
    Ok(if head[..n] == GZIP_MAGIC {
        let cut = Cut::default();
        let inner = MultiGzDecoder::new(back);
        let r = EndsEarly {
            inner,
            cut: cut.clone(),
        };
        (Box::new(r), Some(cut))
    } else {
        (back, None)
    })
}

/// The records of `r`, a capture or gzip of one; for gzip, with what says
/// whether its stream ended early.
///
/// # Errors
/// As [`RecordStream::new`]; gzip that does not hold a capture (or ends
/// before a capture's header) is [`FormatError::GzipNotCapture`].
pub fn records(r: Stream) -> Result<(RecordStream<Stream>, Option<Cut>), CaptureError> {
    let (r, cut) = gunzipped(r)?;
    let gz = cut.is_some();
    match RecordStream::new(r) {
        Ok(s) => Ok((s, cut)),
        Err(e) if gz => Err(in_gzip(e)),
        Err(e) => Err(e),
    }
}

/// An error of reading the start of the capture a gzip file holds, told as
/// such: content that is no capture is [`FormatError::GzipNotCapture`], a
/// read error says it is gzip's.
#[must_use]
pub fn in_gzip(e: CaptureError) -> CaptureError {
    match e {
        CaptureError::Format {
            offset,
            kind: FormatError::NotCapture | FormatError::Empty | FormatError::Compressed { .. },
        } => CaptureError::Format {
            offset,
            kind: FormatError::GzipNotCapture,
        },
        CaptureError::Io(e) => CaptureError::Io(io::Error::new(e.kind(), format!("gzip: {e}"))),
        e => e,
    }
}

/// The warning for a gzip capture `name` whose stream ended early, at byte
/// `at` of the capture it holds.
#[must_use]
pub fn cut_warning(name: &str, at: u64) -> RunWarning {
    RunWarning::new(
        RunWarningCode::GzipEndsEarly,
        format!(
            "{name}: the gzip stream ends early, at byte {at} of the capture it holds (the file is cut, or was still being written): the records before were read"
        ),
    )
    .file(name)
    .offset(at)
}
