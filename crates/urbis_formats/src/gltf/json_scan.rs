//! Byte-level scanning for [`json_reader`](super::json_reader): finding the
//! end of a string sixteen bytes at a time, and whitespace.

use wide::u8x16;

/// The first quote, backslash or control character at or after `from`: its
/// position and byte (`None` at the end). Sixteen bytes at a time with SIMD
/// compares (SSE2 on x86-64, through `wide`'s safe vectors).
#[inline]
pub(super) fn find_special(b: &[u8], from: usize) -> (usize, Option<u8>) {
    let mut p = from;
    while let Some(chunk) = b.get(p..p + 16) {
        let mut w = [0u8; 16];
        w.copy_from_slice(chunk);
        let v = u8x16::new(w);
        // A byte below 0x20 is its own minimum with 0x1F.
        let hits = v.simd_eq(QUOTE) | v.simd_eq(BACKSLASH) | v.min(CONTROL_MAX).simd_eq(v);
        let mask = hits.to_bitmask();
        if mask != 0 {
            let i = p + mask.trailing_zeros() as usize;
            return (i, Some(b[i]));
        }
        p += 16;
    }
    while let Some(&c) = b.get(p) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return (p, Some(c));
        }
        p += 1;
    }
    (p, None)
}

const QUOTE: u8x16 = u8x16::new([b'"'; 16]);
const BACKSLASH: u8x16 = u8x16::new([b'\\'; 16]);
const CONTROL_MAX: u8x16 = u8x16::new([0x1F; 16]);

/// JSON whitespace. Every significant byte is above the space, so the usual
/// case costs one compare.
#[inline(always)]
pub(super) fn is_space(c: u8) -> bool {
    c <= b' ' && matches!(c, b' ' | b'\n' | b'\r' | b'\t')
}
