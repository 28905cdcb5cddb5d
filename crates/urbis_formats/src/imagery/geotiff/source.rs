//! Where a GeoTIFF's bytes come from: a [`ByteSource`] (a file, an HTTP
//! server answering range requests, anything that reads bytes at an
//! offset), and the `Read + Seek` view of it that the `tiff` crate decodes.
//!
//! ```text
//! tiff decoder ─► BlockReader::read(pos)
//!   pos in the span (the chunk being decoded, fetched by one read_at) ─► from memory
//!   else a read of a block or more (a tag's long array)               ─► one read_at, not kept
//!   else its 64 KiB aligned block: kept (16, least recently used out) ─► one read_at per block
//! ```
//!
//! Headers and IFDs (a COG keeps them in its first kilobytes) thus cost a
//! request or two, and each tile one: [`GeoTiffImagery`](super::GeoTiffImagery)
//! asks for a tile's bytes ([`BlockReader::load_span`]) before the decoder
//! reads them. Every length is checked against the source's length before
//! anything is allocated for it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::MAX_CHUNK_BYTES;
use crate::imagery::ImageryError;

/// Bytes read at an offset: what a GeoTIFF can be opened from
/// ([`GeoTiffImagery::from_source`](super::GeoTiffImagery::from_source)).
pub trait ByteSource: Send + Sync {
    /// The source's name in messages (a path or URL).
    fn name(&self) -> String;
    /// Its length in bytes.
    fn len(&self) -> Result<u64, ImageryError>;
    /// Whether it holds no byte.
    fn is_empty(&self) -> Result<bool, ImageryError> {
        Ok(self.len()? == 0)
    }
    /// Exactly `len` bytes from `offset`: an error, never fewer bytes, when
    /// they are not all there.
    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, ImageryError>;
}

/// Why `len` bytes at `offset` cannot come from a source of `total` bytes, if they cannot.
pub fn past_end(offset: u64, len: u64, total: u64) -> Option<String> {
    match offset.checked_add(len) {
        Some(end) if end <= total => None,
        Some(end) => Some(format!("bytes {offset}..{end} lie past the end ({total} bytes)")),
        None => Some(format!("{len} bytes at byte {offset} lie past the end ({total} bytes)")),
    }
}

/// A file as a [`ByteSource`]; its length is taken when it is opened.
#[derive(Debug)]
pub struct FileSource {
    path: PathBuf,
    file: Mutex<File>,
    len: u64,
}

impl FileSource {
    /// Opens a regular file.
    pub fn open(path: &Path) -> Result<Self, ImageryError> {
        let fail = |message: String| ImageryError::File { path: path.to_path_buf(), message };
        let file = File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
        let meta = file.metadata().map_err(|e| fail(format!("cannot open: {e}")))?;
        if !meta.is_file() {
            return Err(fail("not a regular file".into()));
        }
        Ok(FileSource { path: path.to_path_buf(), file: Mutex::new(file), len: meta.len() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ByteSource for FileSource {
    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn len(&self) -> Result<u64, ImageryError> {
        Ok(self.len)
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, ImageryError> {
        let fail = |message: String| ImageryError::File { path: self.path.clone(), message };
        if let Some(m) = past_end(offset, len as u64, self.len) {
            return Err(fail(m));
        }
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let mut bytes = vec![0u8; len];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|e| fail(format!("cannot read bytes {offset}..{}: {e}", offset + len as u64)))?;
        Ok(bytes)
    }
}

/// What an error says without the source's name (the caller names it).
pub fn message_of(e: ImageryError) -> String {
    match e {
        ImageryError::Source { message, .. } | ImageryError::File { message, .. } => message,
        e @ ImageryError::Tile { .. } => e.to_string(),
    }
}

/// Size of the aligned blocks headers and IFDs are read in.
pub const BLOCK: u64 = 64 << 10;
/// Blocks kept (1 MiB).
pub const CACHED_BLOCKS: usize = 16;

struct Block {
    index: u64,
    data: Vec<u8>,
    used: u64,
}

/// `Read + Seek` over a [`ByteSource`] in aligned blocks, with a span for
/// the chunk being decoded (see the module's overview).
pub(super) struct BlockReader {
    source: Arc<dyn ByteSource>,
    len: u64,
    pos: u64,
    blocks: Vec<Block>,
    tick: u64,
    /// Offset and bytes of the chunk being decoded.
    span: Option<(u64, Vec<u8>)>,
}

fn io_error(e: ImageryError) -> io::Error {
    io::Error::other(message_of(e))
}

impl BlockReader {
    /// `len`: the source's length (asked once, by the caller).
    pub(super) fn new(source: Arc<dyn ByteSource>, len: u64) -> Self {
        BlockReader { source, len, pos: 0, blocks: Vec::new(), tick: 0, span: None }
    }

    /// Reads `len` bytes at `offset` in one request, so that the decoder's
    /// reads of them come from memory; `Err` says why not (not naming the source).
    pub(super) fn load_span(&mut self, offset: u64, len: u64) -> Result<(), String> {
        if self.span.as_ref().is_some_and(|(o, d)| *o == offset && d.len() as u64 == len) {
            return Ok(());
        }
        self.span = None;
        if len > MAX_CHUNK_BYTES {
            return Err(format!("{len} bytes, over the {MAX_CHUNK_BYTES}-byte limit"));
        }
        if let Some(m) = past_end(offset, len, self.len) {
            return Err(m);
        }
        let n = usize::try_from(len).map_err(|_| format!("{len} bytes"))?;
        let data = self.source.read_at(offset, n).map_err(message_of)?;
        if data.len() != n {
            return Err(format!("{} bytes read for {n}", data.len()));
        }
        self.span = Some((offset, data));
        Ok(())
    }

    /// Lets the last span go (a tile may be megabytes).
    pub(super) fn drop_span(&mut self) {
        self.span = None;
    }

    /// The index in `blocks` of block `index`, reading it if it is not there.
    fn block(&mut self, index: u64) -> io::Result<usize> {
        self.tick += 1;
        if let Some(i) = self.blocks.iter().position(|b| b.index == index) {
            self.blocks[i].used = self.tick;
            return Ok(i);
        }
        let start = index * BLOCK;
        let n = BLOCK.min(self.len.saturating_sub(start)) as usize;
        let data = self.source.read_at(start, n).map_err(io_error)?;
        if data.len() != n {
            return Err(io::Error::other(format!("{} bytes read for {n} at byte {start}", data.len())));
        }
        let block = Block { index, data, used: self.tick };
        if self.blocks.len() < CACHED_BLOCKS {
            self.blocks.push(block);
            return Ok(self.blocks.len() - 1);
        }
        let oldest = self.blocks.iter().enumerate().min_by_key(|(_, b)| b.used).map_or(0, |(i, _)| i);
        self.blocks[oldest] = block;
        Ok(oldest)
    }
}

impl Read for BlockReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        if let Some((at, data)) = &self.span
            && self.pos >= *at
            && self.pos - at < data.len() as u64
        {
            let from = (self.pos - at) as usize;
            let n = buf.len().min(data.len() - from);
            buf[..n].copy_from_slice(&data[from..from + n]);
            self.pos += n as u64;
            return Ok(n);
        }
        let index = self.pos / BLOCK;
        if buf.len() as u64 >= BLOCK && !self.blocks.iter().any(|b| b.index == index) {
            // A long array: one request for all of it, not kept.
            let n = (buf.len() as u64).min(self.len - self.pos) as usize;
            let data = self.source.read_at(self.pos, n).map_err(io_error)?;
            if data.len() != n {
                return Err(io::Error::other(format!("{} bytes read for {n} at byte {}", data.len(), self.pos)));
            }
            buf[..n].copy_from_slice(&data);
            self.pos += n as u64;
            return Ok(n);
        }
        let i = self.block(index)?;
        let data = &self.blocks[i].data;
        let from = (self.pos - index * BLOCK) as usize;
        if from >= data.len() {
            return Ok(0);
        }
        let n = buf.len().min(data.len() - from);
        buf[..n].copy_from_slice(&data[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlockReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let to = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = to.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before byte 0"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Bytes in memory that count the reads asked of them.
    struct Counted {
        bytes: Vec<u8>,
        reads: AtomicUsize,
    }

    impl ByteSource for Counted {
        fn name(&self) -> String {
            "mem".into()
        }
        fn len(&self) -> Result<u64, ImageryError> {
            Ok(self.bytes.len() as u64)
        }
        fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>, ImageryError> {
            self.reads.fetch_add(1, Ordering::Relaxed);
            if let Some(m) = past_end(offset, len as u64, self.bytes.len() as u64) {
                return Err(ImageryError::Source { source_name: self.name(), message: m });
            }
            Ok(self.bytes[offset as usize..offset as usize + len].to_vec())
        }
    }

    #[test]
    fn blocks_spans_and_long_reads_each_cost_one_request() {
        let bytes: Vec<u8> = (0..(BLOCK * 20 + 123)).map(|i| (i % 251) as u8).collect();
        let src = Arc::new(Counted { bytes: bytes.clone(), reads: AtomicUsize::new(0) });
        let mut r = BlockReader::new(src.clone(), bytes.len() as u64);
        let reads = || src.reads.load(Ordering::Relaxed);
        // Small reads in one block: one request.
        let mut b = [0u8; 100];
        r.seek(SeekFrom::Start(10)).expect("seek");
        r.read_exact(&mut b).expect("read");
        r.seek(SeekFrom::Start(5000)).expect("seek");
        r.read_exact(&mut b).expect("read");
        assert_eq!(&b[..], &bytes[5000..5100]);
        assert_eq!(reads(), 1);
        // Across a block edge: the next block.
        r.seek(SeekFrom::Start(BLOCK - 50)).expect("seek");
        r.read_exact(&mut b).expect("read");
        assert_eq!(&b[..], &bytes[BLOCK as usize - 50..BLOCK as usize + 50]);
        assert_eq!(reads(), 2);
        // A span: one request, then reads from memory.
        r.load_span(BLOCK * 5 + 7, 200_000).expect("span");
        assert_eq!(reads(), 3);
        r.seek(SeekFrom::Start(BLOCK * 5 + 7)).expect("seek");
        let mut big = vec![0u8; 200_000];
        r.read_exact(&mut big).expect("read");
        assert_eq!(&big[..], &bytes[BLOCK as usize * 5 + 7..][..200_000]);
        assert_eq!(reads(), 3);
        r.drop_span();
        // A long read outside the cache: one request.
        r.seek(SeekFrom::Start(BLOCK * 12 + 3)).expect("seek");
        r.read_exact(&mut big).expect("read");
        assert_eq!(&big[..], &bytes[BLOCK as usize * 12 + 3..][..200_000]);
        assert_eq!(reads(), 4);
        // The end: short last block, then end of file.
        r.seek(SeekFrom::End(-3)).expect("seek");
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).expect("read");
        assert_eq!(rest, bytes[bytes.len() - 3..]);
        // Spans past the end or over the limit are refused before any request.
        let before = reads();
        let e = r.load_span(bytes.len() as u64 - 10, 20).expect_err("past the end");
        assert!(e.contains("lie past the end"), "{e}");
        assert!(r.load_span(0, MAX_CHUNK_BYTES + 1).expect_err("limit").contains("limit"));
        assert!(r.load_span(u64::MAX - 1, 10).is_err());
        assert_eq!(reads(), before);
        assert!(r.seek(SeekFrom::Current(-(bytes.len() as i64) - 1)).is_err());
        // The cache stays bounded.
        for k in 0..40 {
            r.seek(SeekFrom::Start((k % 20) * BLOCK)).expect("seek");
            r.read_exact(&mut b).expect("read");
        }
        assert!(r.blocks.len() <= CACHED_BLOCKS);
    }
}
