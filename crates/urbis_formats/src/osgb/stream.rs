//! The byte layer of an `.osgb` stream: primitive reads with bounds checks,
//! byte order, and the "robust binary" block brackets.
//!
//! Mirrors `BinaryInputIterator` (OpenSceneGraph
//! `src/osgPlugins/osg/BinaryStreamOperator.h`): integers and floats are
//! written in the writer's byte order (swapped when the magic reads
//! reversed), strings are an `i32` length plus bytes, and `BEGIN_BRACKET` /
//! `END_BRACKET` are no-ops unless the header's attribute bit `0x4` is set.
//! With that bit every `BEGIN_BRACKET` is followed by the block's size
//! (`i32`, or `u64` from stream version 149), counted from the size field
//! itself, which lets a reader skip an object of a class it does not know.

use crate::FormatError;

/// A cursor over the bytes of one file.
pub(super) struct Stream<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a str,
    big_endian: bool,
    /// The stream's serializer version (OpenSceneGraph's SOVERSION when written).
    pub version: u32,
    /// Whether `BEGIN_BRACKET` carries a block size (header attribute `0x4`).
    pub robust: bool,
    /// Open robust blocks: (position of the size field, size).
    blocks: Vec<(usize, u64)>,
}

pub(super) type Res<T> = Result<T, FormatError>;

impl<'a> Stream<'a> {
    pub fn new(bytes: &'a [u8], path: &'a str) -> Self {
        Stream { bytes, pos: 0, path, big_endian: false, version: 0, robust: false, blocks: Vec::new() }
    }

    pub fn set_big_endian(&mut self, big: bool) {
        self.big_endian = big;
    }

    pub fn big_endian(&self) -> bool {
        self.big_endian
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn path(&self) -> &'a str {
        self.path
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// An error at a byte offset of this file.
    pub fn error(&self, offset: usize, msg: impl Into<String>) -> FormatError {
        FormatError::Offset { path: self.path.to_string(), offset, msg: msg.into() }
    }

    pub fn take(&mut self, n: usize, what: &str) -> Res<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.error(
                self.pos,
                format!("{what}: needs {n} bytes, only {} remain of {}", self.remaining(), self.bytes.len()),
            ));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Res<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        if self.big_endian {
            a.reverse();
        }
        Ok(a)
    }

    pub fn u8(&mut self, what: &str) -> Res<u8> {
        Ok(self.take(1, what)?[0])
    }

    pub fn bool(&mut self, what: &str) -> Res<bool> {
        Ok(self.u8(what)? != 0)
    }

    pub fn i16(&mut self, what: &str) -> Res<i16> {
        Ok(i16::from_le_bytes(self.array(what)?))
    }

    pub fn u16(&mut self, what: &str) -> Res<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    pub fn i32(&mut self, what: &str) -> Res<i32> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }

    pub fn u32(&mut self, what: &str) -> Res<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Res<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub fn f32(&mut self, what: &str) -> Res<f32> {
        Ok(f32::from_le_bytes(self.array(what)?))
    }

    pub fn f64(&mut self, what: &str) -> Res<f64> {
        Ok(f64::from_le_bytes(self.array(what)?))
    }

    pub fn vec3d(&mut self, what: &str) -> Res<glam::DVec3> {
        Ok(glam::DVec3::new(self.f64(what)?, self.f64(what)?, self.f64(what)?))
    }

    pub fn vec4f(&mut self, what: &str) -> Res<[f32; 4]> {
        Ok([self.f32(what)?, self.f32(what)?, self.f32(what)?, self.f32(what)?])
    }

    /// A string: `i32` length, then that many bytes (not UTF-8 checked by
    /// OpenSceneGraph; invalid sequences become U+FFFD here).
    pub fn string(&mut self, what: &str) -> Res<String> {
        let at = self.pos;
        let len = self.i32(what)?;
        if len < 0 {
            return Err(self.error(at, format!("{what}: negative string length {len}")));
        }
        let bytes = self.take(len as usize, what)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }

    /// Checks that `count` elements of `size` bytes each can still be read,
    /// before anything is allocated for them.
    pub fn check_count(&self, count: u64, size: usize, what: &str, at: usize) -> Res<usize> {
        let need = count.checked_mul(size as u64);
        match need {
            Some(n) if n <= self.remaining() as u64 => Ok(count as usize),
            _ => Err(self.error(
                at,
                format!("{what}: count {count} × {size} bytes exceeds the {} bytes remaining", self.remaining()),
            )),
        }
    }

    /// Reads `count` fixed-size elements, checking the byte count first.
    pub fn elements<T>(
        &mut self,
        count: u64,
        size: usize,
        what: &str,
        mut read: impl FnMut(&mut Self) -> Res<T>,
    ) -> Res<Vec<T>> {
        let at = self.pos;
        let n = self.check_count(count, size, what, at)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(read(self)?);
        }
        Ok(out)
    }

    /// `BEGIN_BRACKET`: reads the block size in robust streams.
    pub fn begin(&mut self) -> Res<()> {
        if !self.robust {
            return Ok(());
        }
        let at = self.pos;
        let size = if self.version > 148 {
            self.u64("block size")?
        } else {
            let s = self.i32("block size")?;
            if s < 0 {
                return Err(self.error(at, format!("negative block size {s}")));
            }
            s as u64
        };
        let end = (at as u64).checked_add(size).filter(|e| *e <= self.bytes.len() as u64);
        if end.is_none() || size < (self.pos - at) as u64 {
            return Err(
                self.error(at, format!("block size {size} does not fit the {} bytes of the file", self.bytes.len()))
            );
        }
        self.blocks.push((at, size));
        Ok(())
    }

    /// The innermost open block (robust streams), as `begin` left it.
    pub fn last_block(&self) -> Option<(usize, u64)> {
        self.blocks.last().copied()
    }

    /// Moves to `pos` (a position this stream has been at), opening `block`
    /// again if given: for reading an object's fields a second time.
    pub fn seek(&mut self, pos: usize, block: Option<(usize, u64)>) {
        self.pos = pos.min(self.bytes.len());
        if let Some(b) = block {
            self.blocks.push(b);
        }
    }

    /// `END_BRACKET`: closes the innermost block (no seek, as in OpenSceneGraph).
    pub fn end(&mut self) {
        if self.robust {
            self.blocks.pop();
        }
    }

    /// `advanceToCurrentEndBracket`: moves to the end of the innermost block
    /// (robust streams only), refusing to move backwards.
    pub fn skip_to_block_end(&mut self) -> Res<()> {
        if !self.robust {
            return Ok(());
        }
        let Some((at, size)) = self.blocks.pop() else {
            return Ok(());
        };
        let end = at + size as usize; // checked against the length in `begin`
        if end < self.pos {
            return Err(self.error(
                at,
                format!("object block of {size} bytes ends at byte {end}, but its fields run to byte {}", self.pos),
            ));
        }
        self.pos = end;
        Ok(())
    }
}
