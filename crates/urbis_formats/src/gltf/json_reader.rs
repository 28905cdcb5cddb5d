//! A pull reader over JSON bytes, for the glTF members every tile repeats
//! (accessors, buffer views, meshes, nodes).
//!
//! ```text
//! bytes ─► Reader (one pass, no tree) ─► members matched by their raw key
//!        ├─► numbers, strings (borrowed unless escaped) into json::Root
//!        ├─► values nobody reads (names, extras, min/max) skipped by structure
//!        └─► rare members as raw spans, handed to serde_json
//! ```
//!
//! It exists for speed: glTF in 3D Tiles is JSON-heavy, and building serde's
//! field visitors and ignored-value trees for thousands of nodes cost more
//! than the geometry. It is strict where it reads (types, ranges, syntax) and
//! iterative everywhere, with serde_json's nesting limit of 128, so hostile
//! input fails with a byte offset and a JSON path instead of a deep stack.

use std::borrow::Cow;

use super::json_scan::{find_special, is_space};

/// The nesting limit, serde_json's.
pub const MAX_DEPTH: usize = 128;

/// The most memory one array read in place may take per byte of the
/// document. Real glTF stays far below (a node is at least ~10 bytes of JSON
/// for 152 bytes of memory); only degenerate input such as a million empty
/// objects reaches it.
pub const MEMORY_PER_INPUT_BYTE: usize = 64;

/// A JSON error: byte offset in the document, path of the member, message.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonError {
    pub offset: usize,
    /// Path of the value (keys and indices, `/`-separated), built as the
    /// error leaves each level.
    pub path: String,
    pub msg: String,
}

impl JsonError {
    /// The path, `/` for the document itself.
    pub fn path_or_root(&self) -> &str {
        if self.path.is_empty() { "/" } else { &self.path }
    }

    /// Prefixes the path with one more level (an object key or array index).
    pub fn within(mut self: Box<Self>, level: impl std::fmt::Display) -> Box<Self> {
        self.path = format!("/{level}{}", self.path);
        self
    }
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte {}, `{}`: {}", self.offset, self.path_or_root(), self.msg)
    }
}

/// Boxed, so that every `Result` on the hot path stays two words.
pub type Result<T> = std::result::Result<T, Box<JsonError>>;

/// A cursor over JSON text.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        // A UTF-8 byte-order mark is tolerated (serde_json refuses it): glTF
        // forbids it, but some exporters write it.
        let pos = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        Self { bytes, pos, depth: 0 }
    }

    /// The byte offset of the cursor.
    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn error<T>(&self, msg: impl Into<String>) -> Result<T> {
        Err(Box::new(JsonError { offset: self.pos, path: String::new(), msg: msg.into() }))
    }

    #[inline]
    fn ws(&mut self) {
        while self.bytes.get(self.pos).is_some_and(|&c| is_space(c)) {
            self.pos += 1;
        }
    }

    /// The next significant byte, not consumed.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes.get(self.pos).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn describe(&mut self) -> &'static str {
        match self.peek() {
            None => "the end of the input",
            Some(b'{') => "an object",
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "a number",
            Some(_) => "an unexpected character",
        }
    }

    fn expected<T>(&mut self, what: &str) -> Result<T> {
        let found = self.describe();
        self.error(format!("expected {what}, found {found}"))
    }

    /// Checks that only whitespace follows.
    pub fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.error("trailing characters after the document"),
        }
    }

    #[inline(always)]
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.too_deep();
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&self) -> Result<()> {
        self.error(format!("nested deeper than {MAX_DEPTH} levels"))
    }

    /// Reads an object, calling `member` with each key (unescaped bytes, not
    /// yet checked as UTF-8: they are matched against ASCII names) and the
    /// reader positioned at the value, which `member` must consume. Errors
    /// inside a member get the key added to their path.
    pub fn object(&mut self, mut member: impl FnMut(&mut Self, &[u8]) -> Result<()>) -> Result<()> {
        if !self.eat(b'{') {
            return self.expected("an object");
        }
        self.enter()?;
        if !self.eat(b'}') {
            loop {
                let key = self.member_key()?;
                member(self, &key).map_err(|e| e.within(String::from_utf8_lossy(&key)))?;
                // One look at what follows, not one per possibility.
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return self.expected("`,` or `}`"),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// A member's name and its colon. The usual case (a plain name) runs on
    /// a local cursor stored once: the cursor lives behind `&mut self`, and
    /// each store and reload of it sits on the parse's critical path.
    #[inline(always)]
    fn member_key(&mut self) -> Result<Cow<'a, [u8]>> {
        let b = self.bytes;
        let mut p = self.pos;
        while b.get(p).is_some_and(|&c| is_space(c)) {
            p += 1;
        }
        if b.get(p) == Some(&b'"') {
            let (end, stop) = find_special(b, p + 1);
            if stop == Some(b'"') {
                let mut q = end + 1;
                while b.get(q).is_some_and(|&c| is_space(c)) {
                    q += 1;
                }
                if b.get(q) == Some(&b':') {
                    self.pos = q + 1;
                    return Ok(Cow::Borrowed(&b[p + 1..end]));
                }
            }
        }
        self.pos = p;
        self.member_key_careful()
    }

    /// [`Reader::member_key`] for escapes, whitespace before the colon, and errors.
    #[cold]
    #[inline(never)]
    fn member_key_careful(&mut self) -> Result<Cow<'a, [u8]>> {
        if self.peek() != Some(b'"') {
            return self.expected("a member name");
        }
        let key = self.key()?;
        if !self.eat(b':') {
            return self.expected("`:`");
        }
        Ok(key)
    }

    /// Reads an array, calling `element` with each index and the reader at the element.
    pub fn array(&mut self, mut element: impl FnMut(&mut Self, usize) -> Result<()>) -> Result<()> {
        if !self.eat(b'[') {
            return self.expected("an array");
        }
        self.enter()?;
        if !self.eat(b']') {
            let mut i = 0;
            loop {
                element(self, i).map_err(|e| e.within(i))?;
                i += 1;
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return self.expected("`,` or `]`"),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// An array of values read by `value`, collected.
    pub fn vec<T>(&mut self, mut value: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.array(|r, _| {
            out.push(value(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// An array of objects read in place into `out` (emptied first): each
    /// element starts as `T::default()` inside the collection and `fill`
    /// sets its members, so large elements are never moved (a measurable
    /// cost for thousands of nodes). The elements stay within the memory
    /// budget ([`Reader::element_budget`]).
    pub fn fill_each<T: Default, C: InPlace<T>>(
        &mut self,
        out: &mut C,
        mut fill: impl FnMut(&mut Self, &mut T) -> Result<()>,
    ) -> Result<()> {
        out.clear();
        let budget = self.element_budget::<T>();
        self.array(|r, _| {
            if out.count() >= budget {
                return r.over_budget();
            }
            fill(r, out.push_default(budget))
        })
    }

    /// The error for an array past the memory budget.
    fn over_budget<T>(&self) -> Result<T> {
        self.error(format!("array elements would take over {MEMORY_PER_INPUT_BYTE}× the document's size in memory"))
    }

    /// How many elements of `T` the memory budget allows: `[{},{},…]` costs
    /// 3 bytes of input per element but a whole `T` of memory, so the arrays
    /// read in place may not exceed a fixed multiple of the document.
    pub fn element_budget<T>(&self) -> usize {
        (MEMORY_PER_INPUT_BYTE * self.bytes.len() + (1 << 20)) / size_of::<T>().max(1)
    }

    /// An array of exactly `N` numbers.
    pub fn f64_array<const N: usize>(&mut self) -> Result<[f64; N]> {
        let mut out = [0.0; N];
        let start = self.pos;
        let mut n = 0;
        self.array(|r, i| {
            let v = r.f64()?;
            if let Some(o) = out.get_mut(i) {
                *o = v;
            }
            n = i + 1;
            Ok(())
        })?;
        if n != N {
            self.pos = start;
            return self.error(format!("expected {N} numbers, found {n}"));
        }
        Ok(out)
    }

    /// `null` (consumed) or not.
    pub fn null(&mut self) -> Result<bool> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// A value or `null`.
    pub fn option<T>(&mut self, value: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        if self.null()? { Ok(None) } else { value(self).map(Some) }
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.error("invalid literal")
        }
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.peek() {
            Some(b't') => self.literal(b"true").map(|_| true),
            Some(b'f') => self.literal(b"false").map(|_| false),
            _ => self.expected("a boolean"),
        }
    }

    /// At an opening quote: the string's bytes if it has no escape or
    /// control character (cursor moved past it), else `None` (cursor kept).
    #[inline(always)]
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        let start = self.pos + 1;
        let (end, stop) = find_special(self.bytes, start);
        if stop == Some(b'"') {
            self.pos = end + 1;
            Some(&self.bytes[start..end])
        } else {
            None
        }
    }

    /// A string's bytes (unescaped), borrowed when it has no escapes; not
    /// checked as UTF-8 unless it had escapes. For names matched against
    /// ASCII; [`Reader::string`] for text that is kept.
    #[inline]
    pub fn key(&mut self) -> Result<Cow<'a, [u8]>> {
        if self.peek() != Some(b'"') {
            return self.expected("a string");
        }
        if let Some(k) = self.plain_string() {
            return Ok(Cow::Borrowed(k));
        }
        self.string().map(|s| match s {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        })
    }

    /// A string, borrowed unless it has escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return self.expected("a string");
        }
        let mut p = self.pos + 1;
        let mut owned: Option<String> = None;
        loop {
            let (i, stop) = find_special(self.bytes, p);
            match stop {
                Some(b'"') => {
                    let tail = self.utf8(p, i)?;
                    self.pos = i + 1;
                    return Ok(match owned {
                        None => Cow::Borrowed(tail),
                        Some(mut s) => {
                            s.push_str(tail);
                            Cow::Owned(s)
                        }
                    });
                }
                Some(b'\\') => {
                    let head = self.utf8(p, i)?;
                    let s = owned.get_or_insert_with(String::new);
                    s.push_str(head);
                    p = self.escape(i, s)?;
                }
                Some(_) => {
                    self.pos = i;
                    return self.error("control character in a string");
                }
                None => {
                    self.pos = self.bytes.len();
                    return self.error("unterminated string");
                }
            }
        }
    }

    fn utf8(&mut self, from: usize, to: usize) -> Result<&'a str> {
        std::str::from_utf8(&self.bytes[from..to]).or_else(|e| {
            self.pos = from + e.valid_up_to();
            self.error("invalid UTF-8 in a string")
        })
    }

    /// Decodes the escape at `at` (a backslash) into `out`; returns the position after it.
    fn escape(&mut self, at: usize, out: &mut String) -> Result<usize> {
        let b = self.bytes;
        let c = b.get(at + 1).copied();
        let simple = match c {
            Some(b'"') => Some('"'),
            Some(b'\\') => Some('\\'),
            Some(b'/') => Some('/'),
            Some(b'b') => Some('\u{8}'),
            Some(b'f') => Some('\u{c}'),
            Some(b'n') => Some('\n'),
            Some(b'r') => Some('\r'),
            Some(b't') => Some('\t'),
            _ => None,
        };
        if let Some(ch) = simple {
            out.push(ch);
            return Ok(at + 2);
        }
        if c != Some(b'u') {
            self.pos = at;
            return self.error("invalid escape");
        }
        let hex = |p: usize| -> Option<u32> {
            let s = std::str::from_utf8(b.get(p..p + 4)?).ok()?;
            u32::from_str_radix(s, 16).ok()
        };
        let Some(hi) = hex(at + 2) else {
            self.pos = at;
            return self.error("invalid \\u escape");
        };
        let (code, next) = if (0xD800..0xDC00).contains(&hi) {
            match (b.get(at + 6..at + 8), hex(at + 8)) {
                (Some(b"\\u"), Some(lo)) if (0xDC00..0xE000).contains(&lo) => {
                    (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), at + 12)
                }
                _ => {
                    self.pos = at;
                    return self.error("unpaired surrogate in a \\u escape");
                }
            }
        } else {
            (hi, at + 6)
        };
        match char::from_u32(code) {
            Some(ch) => out.push(ch),
            None => {
                self.pos = at;
                return self.error("unpaired surrogate in a \\u escape");
            }
        }
        Ok(next)
    }

    /// Skips a string without decoding it (escapes stepped over, control
    /// characters refused).
    #[inline]
    fn skip_string(&mut self) -> Result<()> {
        let mut p = self.pos + 1;
        loop {
            let (at, stop) = find_special(self.bytes, p);
            match stop {
                Some(b'"') => {
                    self.pos = at + 1;
                    return Ok(());
                }
                Some(b'\\') => p = at + 2,
                Some(_) => {
                    self.pos = at;
                    return self.error("control character in a string");
                }
                None => {
                    self.pos = self.bytes.len();
                    return self.error("unterminated string");
                }
            }
        }
    }

    /// Skips one value of any kind, without recursion. Scalars are checked
    /// as when read; inside a skipped array or object only the structure is
    /// (brackets matched in kind, strings closed, the nesting limit), since
    /// nobody reads what lies between: the bounds that matter for hostile
    /// input hold, at a fraction of the cost of full validation.
    ///
    /// A plain string (the usual skipped member: a name) is skipped inline.
    #[inline(always)]
    pub fn skip(&mut self) -> Result<()> {
        let b = self.bytes;
        let mut p = self.pos;
        while b.get(p).is_some_and(|&c| is_space(c)) {
            p += 1;
        }
        self.pos = p;
        if b.get(p) == Some(&b'"') {
            let (at, stop) = find_special(b, p + 1);
            if stop == Some(b'"') {
                self.pos = at + 1;
                return Ok(());
            }
        }
        self.skip_any()
    }

    /// [`Reader::skip`] for every other value.
    #[inline(never)]
    fn skip_any(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'{' | b'[') => self.skip_container(),
            Some(b'"') => self.skip_string(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number_span().map(|_| ()),
            _ => self.expected("a value"),
        }
    }

    /// Skips an array or object: see [`Reader::skip`].
    fn skip_container(&mut self) -> Result<()> {
        let b = self.bytes;
        let mut p = self.pos;
        // Open containers as bits (1: object), innermost lowest; the depth
        // limit of 128 keeps them within a u128, with no allocation.
        let mut open: u128 = 0;
        let mut levels = 0usize;
        loop {
            let Some(&c) = b.get(p) else {
                self.pos = p;
                return self.error("unterminated array or object");
            };
            match c {
                b'{' | b'[' => {
                    if self.depth + levels >= MAX_DEPTH {
                        self.pos = p;
                        return self.error(format!("nested deeper than {MAX_DEPTH} levels"));
                    }
                    open = (open << 1) | u128::from(c == b'{');
                    levels += 1;
                }
                b'}' | b']' => {
                    if levels == 0 || (open & 1 == 1) != (c == b'}') {
                        self.pos = p;
                        return self.error("mismatched bracket");
                    }
                    open >>= 1;
                    levels -= 1;
                    if levels == 0 {
                        self.pos = p + 1;
                        return Ok(());
                    }
                }
                b'"' => {
                    self.pos = p;
                    self.skip_string()?;
                    p = self.pos;
                    continue;
                }
                _ => {}
            }
            p += 1;
        }
    }

    /// The raw bytes of the next value (skipped and checked), and where they start.
    pub fn raw(&mut self) -> Result<(&'a [u8], usize)> {
        self.ws();
        let start = self.pos;
        self.skip()?;
        Ok((&self.bytes[start..self.pos], start))
    }

    /// The next value deserialised by serde_json from its raw span; errors
    /// point into the document.
    pub fn serde<T: serde::de::DeserializeOwned>(&mut self) -> Result<T> {
        let (span, start) = self.raw()?;
        serde_json::from_slice(span).map_err(|e| {
            Box::new(JsonError {
                offset: start + offset_of(span, e.line(), e.column()),
                path: String::new(),
                msg: strip_position(&e.to_string()),
            })
        })
    }
}

/// The byte offset of a 1-based line and column in `text`.
fn offset_of(text: &[u8], line: usize, column: usize) -> usize {
    let mut line_start = 0;
    for _ in 1..line {
        match memchr::memchr(b'\n', &text[line_start..]) {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// serde_json's message without its " at line L column C" suffix (the offset replaces it).
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// A collection that [`Reader::fill_each`] fills: a `Vec`, or a
/// `SmallVec` when one or two elements are the rule.
pub trait InPlace<T>: Default {
    /// Elements so far.
    fn count(&self) -> usize;
    fn clear(&mut self);
    /// Appends `T::default()` and returns it; `budget` is the most elements
    /// the collection may ever need room for.
    fn push_default(&mut self, budget: usize) -> &mut T;
}

impl<T: Default> InPlace<T> for Vec<T> {
    fn count(&self) -> usize {
        self.len()
    }

    fn clear(&mut self) {
        Vec::clear(self);
    }

    fn push_default(&mut self, budget: usize) -> &mut T {
        if self.len() == self.capacity() {
            // Growing fourfold, not twofold (a third of the copying for
            // long arrays), but never past the memory budget.
            let room = budget.saturating_sub(self.len()).max(1);
            self.reserve((self.len().max(4) * 3).min(room));
        }
        self.push(T::default());
        let last = self.len() - 1;
        &mut self[last]
    }
}

impl<A: smallvec::Array<Item: Default>> InPlace<A::Item> for smallvec::SmallVec<A> {
    fn count(&self) -> usize {
        self.len()
    }

    fn clear(&mut self) {
        smallvec::SmallVec::clear(self);
    }

    fn push_default(&mut self, _budget: usize) -> &mut A::Item {
        self.push(A::Item::default());
        let last = self.len() - 1;
        &mut self[last]
    }
}

/// Numbers: integers and decimals, and the grammar check.
#[path = "json_numbers.rs"]
mod numbers;

#[cfg(test)]
#[path = "json_reader_tests.rs"]
mod tests;
