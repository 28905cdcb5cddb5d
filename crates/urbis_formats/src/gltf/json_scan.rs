//! Byte-level scanning for [`json_reader`](super::json_reader): finding the
//! end of a string eight bytes at a time, whitespace, and the exact fast
//! path for short decimals.

/// The first quote, backslash or control character at or after `from`: its
/// position and byte (`None` at the end). Eight bytes at a time (SWAR): the
/// strings of glTF are short names, where a byte loop mispredicts at every
/// end and memchr's set-up costs more than the search.
#[inline]
pub(super) fn find_special(b: &[u8], from: usize) -> (usize, Option<u8>) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut p = from;
    while let Some(chunk) = b.get(p..p + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        // Bytes equal to '"' or '\\', or below 0x20. A false positive can only
        // sit above a true one, so the lowest flagged byte is exact.
        let hits = zero_byte(w ^ (ONES * u64::from(b'"')))
            | zero_byte(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if hits != 0 {
            let i = p + (hits.trailing_zeros() / 8) as usize;
            return (i, Some(b[i]));
        }
        p += 8;
    }
    while let Some(&c) = b.get(p) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return (p, Some(c));
        }
        p += 1;
    }
    (p, None)
}

/// JSON whitespace. Every significant byte is above the space, so the usual
/// case costs one compare.
#[inline(always)]
pub(super) fn is_space(c: u8) -> bool {
    c <= b' ' && matches!(c, b' ' | b'\n' | b'\r' | b'\t')
}

/// Clinger's fast path: a number of at most 15 significant digits and no
/// exponent is `digits / 10^k` with both operands exact in f64, so one IEEE
/// division gives the correctly rounded value, as the full parser would.
#[inline]
pub(super) fn simple_decimal(span: &[u8], integer: bool) -> Option<f64> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let (neg, body) = match span.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, span),
    };
    if body.len() > 16 || (!integer && body.iter().any(|&c| c == b'e' || c == b'E')) {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut digits = 0usize;
    let mut frac = None;
    for (i, &c) in body.iter().enumerate() {
        if c == b'.' {
            frac = Some(body.len() - i - 1);
        } else {
            mantissa = mantissa * 10 + u64::from(c - b'0');
            digits += 1;
        }
    }
    if digits > 15 {
        return None;
    }
    let v = mantissa as f64 / POW10.get(frac.unwrap_or(0))?;
    Some(if neg { -v } else { v })
}
