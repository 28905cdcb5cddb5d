//! Numbers for [`Reader`]: glTF's indices and counts (non-negative
//! integers, their usual few digits read inline) and decimals (one pass with
//! Clinger's fast path, else Rust's correctly rounded parser), each checked
//! against JSON's number grammar.

use super::{JsonError, Reader, Result};
use crate::gltf::json_scan::is_space;

impl<'a> Reader<'a> {
    /// The span of a number token, checked against JSON's number grammar.
    #[inline]
    pub(super) fn number_span(&mut self) -> Result<(&'a [u8], bool)> {
        self.ws();
        let b = self.bytes;
        let start = self.pos;
        let mut p = start;
        let digits = |p: &mut usize| {
            let s = *p;
            while b.get(*p).is_some_and(u8::is_ascii_digit) {
                *p += 1;
            }
            *p - s
        };
        if b.get(p) == Some(&b'-') {
            p += 1;
        }
        let int = digits(&mut p);
        if int == 0 || (int > 1 && b[p - int] == b'0') {
            return self.expected("a number");
        }
        let mut integer = true;
        if b.get(p) == Some(&b'.') {
            p += 1;
            integer = false;
            if digits(&mut p) == 0 {
                self.pos = p;
                return self.error("a digit must follow the decimal point");
            }
        }
        if matches!(b.get(p), Some(b'e' | b'E')) {
            p += 1;
            integer = false;
            if matches!(b.get(p), Some(b'+' | b'-')) {
                p += 1;
            }
            if digits(&mut p) == 0 {
                self.pos = p;
                return self.error("a digit must follow the exponent");
            }
        }
        self.pos = p;
        Ok((&b[start..p], integer))
    }

    /// A non-negative integer (no fraction, no exponent). The usual case
    /// (a few digits, as glTF's indices and counts are) is inlined into the
    /// caller; anything unusual (sign, fraction, exponent, overflow, leading
    /// zero, an error) takes the careful path out of line.
    #[inline(always)]
    pub fn u64(&mut self) -> Result<u64> {
        let b = self.bytes;
        let mut p = self.pos;
        while b.get(p).is_some_and(|&c| is_space(c)) {
            p += 1;
        }
        let start = p;
        let mut v: u64 = 0;
        let n = digits(b, &mut p, &mut v);
        let plain =
            (n == 1 || (2..=19).contains(&n) && b[start] != b'0') && !matches!(b.get(p), Some(b'.' | b'e' | b'E'));
        if plain {
            self.pos = p;
            return Ok(v);
        }
        self.pos = start;
        self.u64_careful()
    }

    /// [`Reader::u64`] for everything but the usual case: checked against
    /// the number grammar, with overflow and sign errors.
    #[cold]
    #[inline(never)]
    fn u64_careful(&mut self) -> Result<u64> {
        let start = self.pos;
        let (span, integer) = self.number_span()?;
        if !integer || span[0] == b'-' {
            self.pos = start;
            return self.expected_integer();
        }
        let mut v: u64 = 0;
        for &d in span {
            v = match v.checked_mul(10).and_then(|v| v.checked_add(u64::from(d - b'0'))) {
                Some(v) => v,
                None => {
                    self.pos = start;
                    return self.error("integer too large");
                }
            };
        }
        Ok(v)
    }

    fn expected_integer<T>(&mut self) -> Result<T> {
        self.expected("a non-negative integer").map_err(|mut e: Box<JsonError>| {
            e.msg = e.msg.replace("found a number", "found a negative or fractional number");
            e
        })
    }

    #[inline(always)]
    pub fn usize(&mut self) -> Result<usize> {
        self.narrowed("integer too large")
    }

    #[inline(always)]
    pub fn u32(&mut self) -> Result<u32> {
        self.narrowed("integer too large for 32 bits")
    }

    /// A [`Reader::u64`] that must fit `T`; `msg` if it does not.
    #[inline(always)]
    fn narrowed<T: TryFrom<u64>>(&mut self, msg: &str) -> Result<T> {
        let start = self.pos;
        let v = self.u64()?;
        match T::try_from(v) {
            Ok(v) => Ok(v),
            Err(_) => self.too_large_at(start, msg),
        }
    }

    #[cold]
    #[inline(never)]
    fn too_large_at<T>(&mut self, start: usize, msg: &str) -> Result<T> {
        self.pos = start;
        self.error(msg)
    }

    /// Any number, as f64 (correctly rounded, as Rust's parser is).
    #[inline(always)]
    pub fn f64(&mut self) -> Result<f64> {
        match self.short_decimal() {
            Some(v) => Ok(v),
            None => self.f64_careful(),
        }
    }

    /// [`Reader::f64`] for exponents, long mantissas and errors.
    #[cold]
    #[inline(never)]
    fn f64_careful(&mut self) -> Result<f64> {
        let (span, _) = self.number_span()?;
        // The span holds only ASCII digits, signs, '.', 'e'.
        let text = std::str::from_utf8(span).unwrap_or("");
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => self.error("number out of range"),
        }
    }

    /// The usual number in one pass: a sign, at most 15 digits with an
    /// optional fraction and no exponent, whose value `digits / 10^k` is
    /// correctly rounded by one division (Clinger's fast path). `None`
    /// (cursor kept) for anything else, which [`Reader::f64`] then scans,
    /// checks and parses in full.
    #[inline(always)]
    fn short_decimal(&mut self) -> Option<f64> {
        const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
        let b = self.bytes;
        let mut p = self.pos;
        while b.get(p).is_some_and(|&c| is_space(c)) {
            p += 1;
        }
        let neg = b.get(p) == Some(&b'-');
        p += usize::from(neg);
        let int_start = p;
        let mut mantissa: u64 = 0;
        let int_digits = digits(b, &mut p, &mut mantissa);
        // Leading zeros are not JSON; the full path reports them.
        if int_digits == 0 || (int_digits > 1 && b[int_start] == b'0') {
            return None;
        }
        let mut frac_digits = 0;
        if b.get(p) == Some(&b'.') {
            p += 1;
            frac_digits = digits(b, &mut p, &mut mantissa);
            if frac_digits == 0 {
                return None;
            }
        }
        if int_digits + frac_digits > 15 || matches!(b.get(p), Some(b'e' | b'E')) {
            return None;
        }
        let v = mantissa as f64 / POW10[frac_digits];
        self.pos = p;
        Some(if neg { -v } else { v })
    }
}

/// Scans the ASCII digits from `*p`, appending each to `acc` (wrapping: the
/// callers bound the count before trusting the value); returns how many.
#[inline(always)]
fn digits(b: &[u8], p: &mut usize, acc: &mut u64) -> usize {
    let start = *p;
    while let Some(&c) = b.get(*p) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *acc = acc.wrapping_mul(10).wrapping_add(u64::from(d));
        *p += 1;
    }
    *p - start
}
