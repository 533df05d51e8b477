//! Outputs written compressed, as their names say: a name ending in `.gz`
//! is written gzip, one ending in `.zst` zstd, and one ending in `.xz`,
//! `.lzma`, `.bz2` or `.lz4` (compressions zprsim does not write) is
//! refused before any work (docs/cli.md, "Compressed outputs"). Any other
//! name, and `-`, is written plain.

use std::io::{self, Write};
use std::path::Path;

/// How an output's bytes are written, by its name's ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// As they are.
    Plain,
    /// gzip (one member), as `gzip` writes it: `zcat` reads it.
    Gzip,
    /// zstd (one frame, with its checksum), as `zstd` writes it.
    Zstd,
}

/// Endings of compressions zprsim does not write, with the tool that does.
const REFUSED: [(&str, &str, &str); 4] = [
    (".xz", "xz", "xz"),
    (".lzma", "lzma", "xz --format=lzma"),
    (".bz2", "bzip2", "bzip2"),
    (".lz4", "lz4", "lz4"),
];

impl Compression {
    /// The compression `path`'s name asks for (its ending, in any case);
    /// `-` is standard output, written plain.
    ///
    /// # Errors
    /// A name ending in a compression zprsim does not write (`.xz`,
    /// `.lzma`, `.bz2`, `.lz4`): the message names `flag` and `path` and
    /// says which compressions are written.
    pub fn of(flag: &str, path: &Path) -> Result<Compression, String> {
        if super::is_std(path) {
            return Ok(Compression::Plain);
        }
        let Some(name) = path.file_name() else {
            return Ok(Compression::Plain);
        };
        let name = name.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".gz") {
            return Ok(Compression::Gzip);
        }
        if name.ends_with(".zst") {
            return Ok(Compression::Zstd);
        }
        match REFUSED.iter().find(|(end, _, _)| name.ends_with(end)) {
            Some((end, what, tool)) => {
                let shown = super::shown(path);
                let stem = shown.get(..shown.len() - end.len()).unwrap_or(&shown);
                Err(format!(
                    "{flag} `{shown}`: zprsim does not write {what}: an output named `.gz` is written gzip, `.zst` zstd, and any other name plain (`{flag} {stem}.gz`, or `{flag} - | {tool} > {shown}`)"
                ))
            }
            None => Ok(Compression::Plain),
        }
    }
}

/// What a file's bytes go through on their way to `W`: nothing, or the
/// encoder its name asks for ([`Compression::of`]). Unbuffered: callers
/// put a `BufWriter` above it.
pub struct Encoder<W: Write> {
    codec: Codec<W>,
    /// Whether [`Write::flush`] ends a compressed block so that a reader
    /// of the file has every byte written so far ([`Encoder::live`]).
    live: bool,
}

enum Codec<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

/// zstd's default level, as `zstd` without `-#`.
const ZSTD_LEVEL: i32 = 3;

impl<W: Write> Encoder<W> {
    /// Starts writing `w` with `compression`, for a file read once it is
    /// whole (an output renamed into place): a flush pushes nothing
    /// through the compressor. A flush of gzip or zstd ends a block (a
    /// sync point), and the writers flush often (the pcap writer once per
    /// chunk of packets), which would only make the file larger.
    ///
    /// # Errors
    /// zstd could not start its stream (out of memory).
    pub fn new(w: W, compression: Compression) -> io::Result<Encoder<W>> {
        let codec = match compression {
            Compression::Plain => Codec::Plain(w),
            Compression::Gzip => Codec::Gzip(flate2::write::GzEncoder::new(
                w,
                flate2::Compression::default(),
            )),
            Compression::Zstd => {
                let mut e = zstd::stream::write::Encoder::new(w, ZSTD_LEVEL)?;
                e.include_checksum(true)?;
                Codec::Zstd(e)
            }
        };
        Ok(Encoder { codec, live: false })
    }

    /// As [`Encoder::new`], for a file read while it is written (the
    /// tap's `--dropped`): each flush ends a block (gzip's sync flush,
    /// zstd's block end), so `zcat` and `zstd -dc` give every record
    /// written before it (saying the stream is not ended yet).
    ///
    /// # Errors
    /// As [`Encoder::new`].
    pub fn live(w: W, compression: Compression) -> io::Result<Encoder<W>> {
        Ok(Encoder {
            live: true,
            ..Encoder::new(w, compression)?
        })
    }

    /// The stream written to.
    pub fn get_ref(&self) -> &W {
        match &self.codec {
            Codec::Plain(w) => w,
            Codec::Gzip(e) => e.get_ref(),
            Codec::Zstd(e) => e.get_ref(),
        }
    }

    /// Ends the stream (gzip's trailer, zstd's last block and checksum)
    /// and gives back the file, every byte written to it.
    ///
    /// # Errors
    /// Writing the rest failed (a full disk, a reader that left).
    pub fn finish(self) -> io::Result<W> {
        match self.codec {
            Codec::Plain(w) => Ok(w),
            Codec::Gzip(e) => e.finish(),
            Codec::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.codec {
            Codec::Plain(w) => w.write(buf),
            Codec::Gzip(e) => e.write(buf),
            Codec::Zstd(e) => e.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.codec {
            Codec::Plain(w) => w.write_all(buf),
            Codec::Gzip(e) => e.write_all(buf),
            Codec::Zstd(e) => e.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.codec {
            Codec::Plain(w) => w.flush(),
            Codec::Gzip(e) if self.live => e.flush(),
            Codec::Zstd(e) if self.live => e.flush(),
            Codec::Gzip(_) | Codec::Zstd(_) => Ok(()),
        }
    }
}
