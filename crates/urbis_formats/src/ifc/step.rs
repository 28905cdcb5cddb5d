//! ISO 10303-21 (STEP physical file) parsing: the HEADER's FILE_SCHEMA and
//! every DATA instance `#id = TYPE(arguments);` as plain values.
//!
//! The parser is schema-blind: it keeps each instance's type name and
//! positional arguments; the IFC layer gives them meaning. Strings are decoded
//! (`''`, `\\`, `\S\`, `\X\`, `\X2\`, `\X4\`); comments are skipped; lists
//! nest at most [`MAX_DEPTH`] deep. Every error names the line and column.

use std::collections::HashMap;

use crate::FormatError;

/// Deepest list nesting accepted (IFC needs 4).
pub const MAX_DEPTH: usize = 32;

/// One argument value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `$`: not given.
    Null,
    /// `*`: derived in a subtype.
    Derived,
    Int(i64),
    Real(f64),
    Str(String),
    /// `.NAME.` (booleans and logicals are `.T.`, `.F.`, `.U.`).
    Enum(String),
    /// `#id`.
    Ref(u64),
    List(Vec<Value>),
    /// A typed value such as `IFCLABEL('x')` or `IFCLINEINDEX((1,2))`.
    Typed(String, Box<Value>),
    /// `"hex"`.
    Binary(String),
}

impl Value {
    /// A number (integer or real, typed or not).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Real(r) => Some(*r),
            Value::Typed(_, v) => v.as_f64(),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Typed(_, v) => v.as_int(),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Typed(_, v) => v.as_str(),
            _ => None,
        }
    }

    pub fn as_enum(&self) -> Option<&str> {
        match self {
            Value::Enum(s) => Some(s),
            Value::Typed(_, v) => v.as_enum(),
            _ => None,
        }
    }

    pub fn as_ref_id(&self) -> Option<u64> {
        match self {
            Value::Ref(r) => Some(*r),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            Value::Typed(_, v) => v.as_list(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Derived)
    }
}

/// One entity instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: u64,
    /// Upper-case type name; `""` for a complex instance, whose arguments are
    /// then its parts as [`Value::Typed`] lists.
    pub kind: String,
    pub args: Vec<Value>,
    /// Line of the `#id` in the file (1-based).
    pub line: u32,
}

impl Instance {
    /// The argument at `i`, or `Null` when there are fewer.
    pub fn arg(&self, i: usize) -> &Value {
        self.args.get(i).unwrap_or(&Value::Null)
    }
}

/// A parsed STEP file.
#[derive(Debug, Default)]
pub struct StepFile {
    /// FILE_SCHEMA identifiers, e.g. `["IFC4"]`.
    pub schema: Vec<String>,
    pub instances: Vec<Instance>,
    index: HashMap<u64, u32>,
}

impl StepFile {
    pub fn get(&self, id: u64) -> Option<&Instance> {
        self.index.get(&id).map(|&i| &self.instances[i as usize])
    }

    /// Instances of a type (upper case).
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Instance> + 'a {
        self.instances.iter().filter(move |i| i.kind == kind)
    }
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    line: u32,
    line_start: usize,
    name: &'a str,
}

impl<'a> Parser<'a> {
    fn err(&self, msg: impl Into<String>) -> FormatError {
        FormatError::Line {
            path: self.name.to_string(),
            line: self.line as usize,
            msg: format!("column {}: {}", self.pos - self.line_start + 1, msg.into()),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.pos += 1;
        if c == b'\n' {
            self.line += 1;
            self.line_start = self.pos;
        }
        Some(c)
    }

    /// Skips whitespace and `/* comments */`.
    fn skip(&mut self) -> Result<(), FormatError> {
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_whitespace() => {
                    self.bump();
                }
                Some(b'/') if self.b.get(self.pos + 1) == Some(&b'*') => {
                    let (line, col) = (self.line, self.pos);
                    self.pos += 2;
                    loop {
                        match self.bump() {
                            Some(b'*') if self.peek() == Some(b'/') => {
                                self.pos += 1;
                                break;
                            }
                            Some(_) => {}
                            None => {
                                self.line = line;
                                self.pos = col;
                                return Err(self.err("comment never closed"));
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), FormatError> {
        self.skip()?;
        match self.peek() {
            Some(x) if x == c => {
                self.bump();
                Ok(())
            }
            Some(x) => Err(self.err(format!("expected `{}`, found `{}`", c as char, x as char))),
            None => Err(self.err(format!("unexpected end of file, expected `{}`", c as char))),
        }
    }

    /// A keyword: letters, digits, `_` and `-` (upper-cased).
    fn keyword(&mut self) -> Result<String, FormatError> {
        self.skip()?;
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
                self.pos += 1;
            } else {
                break;
            }
        }
        if start == self.pos {
            return Err(match self.peek() {
                Some(c) => self.err(format!("expected a keyword, found `{}`", c as char)),
                None => self.err("unexpected end of file, expected a keyword"),
            });
        }
        Ok(String::from_utf8_lossy(&self.b[start..self.pos]).to_ascii_uppercase())
    }

    fn string(&mut self) -> Result<String, FormatError> {
        // At the opening quote.
        self.bump();
        let mut raw = Vec::new();
        loop {
            match self.bump() {
                Some(b'\'') if self.peek() == Some(b'\'') => {
                    self.bump();
                    raw.push(b'\'');
                }
                Some(b'\'') => break,
                Some(b'\n' | b'\r') => {} // line breaks inside strings are not content
                Some(c) => raw.push(c),
                None => return Err(self.err("string never closed")),
            }
        }
        Ok(decode_string(&raw))
    }

    fn number(&mut self) -> Result<Value, FormatError> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        let mut real = false;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' => {}
                b'.' | b'E' | b'e' => real = true,
                b'+' | b'-' if self.pos > start && matches!(self.b[self.pos - 1], b'E' | b'e') => {}
                _ => break,
            }
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.b[start..self.pos]).unwrap_or("");
        if real {
            // STEP allows `1.` and `1.E-6`; Rust's parser accepts both.
            text.parse::<f64>().map(Value::Real).map_err(|_| self.err(format!("bad real `{text}`")))
        } else {
            match text.parse::<i64>() {
                Ok(i) => Ok(Value::Int(i)),
                Err(_) => text.parse::<f64>().map(Value::Real).map_err(|_| self.err(format!("bad integer `{text}`"))),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, FormatError> {
        self.skip()?;
        let Some(c) = self.peek() else { return Err(self.err("unexpected end of file in an argument list")) };
        match c {
            b'$' => {
                self.bump();
                Ok(Value::Null)
            }
            b'*' => {
                self.bump();
                Ok(Value::Derived)
            }
            b'#' => {
                self.bump();
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                std::str::from_utf8(&self.b[start..self.pos])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .map(Value::Ref)
                    .ok_or_else(|| self.err("bad instance reference"))
            }
            b'\'' => self.string().map(Value::Str),
            b'"' => {
                self.bump();
                let start = self.pos;
                while self.peek().is_some_and(|c| c != b'"') {
                    self.bump();
                }
                let hex = String::from_utf8_lossy(&self.b[start..self.pos]).into_owned();
                self.expect(b'"')?;
                Ok(Value::Binary(hex))
            }
            b'.' => {
                self.bump();
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_') {
                    self.pos += 1;
                }
                let e = String::from_utf8_lossy(&self.b[start..self.pos]).to_ascii_uppercase();
                self.expect(b'.')?;
                Ok(Value::Enum(e))
            }
            b'(' => self.list(depth + 1).map(Value::List),
            b'0'..=b'9' | b'+' | b'-' => self.number(),
            c if c.is_ascii_alphabetic() => {
                let name = self.keyword()?;
                self.expect(b'(')?;
                if depth + 1 > MAX_DEPTH {
                    return Err(self.err(format!("values nested deeper than {MAX_DEPTH}")));
                }
                let v = self.value(depth + 1)?;
                self.expect(b')')?;
                Ok(Value::Typed(name, Box::new(v)))
            }
            c => Err(self.err(format!("unexpected `{}` in an argument list", c as char))),
        }
    }

    /// A parenthesised, comma-separated list (at its `(`).
    fn list(&mut self, depth: usize) -> Result<Vec<Value>, FormatError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("lists nested deeper than {MAX_DEPTH}")));
        }
        self.expect(b'(')?;
        let mut out = Vec::new();
        self.skip()?;
        if self.peek() == Some(b')') {
            self.bump();
            return Ok(out);
        }
        loop {
            out.push(self.value(depth)?);
            self.skip()?;
            match self.bump() {
                Some(b',') => {}
                Some(b')') => return Ok(out),
                Some(c) => return Err(self.err(format!("expected `,` or `)`, found `{}`", c as char))),
                None => return Err(self.err("unexpected end of file in an argument list")),
            }
        }
    }

    /// `#id = TYPE(args);` or `#id = (TYPE(args) TYPE(args));`, at the `#`.
    fn instance(&mut self) -> Result<Instance, FormatError> {
        let line = self.line;
        let id = match self.value(0)? {
            Value::Ref(id) => id,
            _ => return Err(self.err("expected an instance name `#id`")),
        };
        self.expect(b'=')?;
        self.skip()?;
        let (kind, args) = if self.peek() == Some(b'(') {
            // A complex instance: a list of simple records.
            self.bump();
            let mut parts = Vec::new();
            loop {
                self.skip()?;
                if self.peek() == Some(b')') {
                    self.bump();
                    break;
                }
                let name = self.keyword()?;
                let args = self.list(1)?;
                parts.push(Value::Typed(name, Box::new(Value::List(args))));
            }
            (String::new(), parts)
        } else {
            let kind = self.keyword()?;
            (kind, self.list(1)?)
        };
        self.expect(b';')?;
        Ok(Instance { id, kind, args, line })
    }
}

/// Decodes STEP string escapes into UTF-8.
fn decode_string(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    let hex = |s: &[u8]| std::str::from_utf8(s).ok().and_then(|s| u32::from_str_radix(s, 16).ok());
    while i < raw.len() {
        let rest = &raw[i..];
        if rest.starts_with(b"\\\\") {
            out.push('\\');
            i += 2;
        } else if rest.starts_with(b"\\S\\") && rest.len() > 3 {
            out.push(char::from(rest[3].wrapping_add(128)));
            i += 4;
        } else if rest.starts_with(b"\\X\\") && rest.len() >= 5 {
            match hex(&rest[3..5]) {
                Some(c) => out.push(char::from(c as u8)),
                None => out.push('\u{fffd}'),
            }
            i += 5;
        } else if rest.starts_with(b"\\X2\\") || rest.starts_with(b"\\X4\\") {
            let width = if rest[2] == b'2' { 4 } else { 8 };
            let end = rest.windows(4).position(|w| w == b"\\X0\\").unwrap_or(rest.len());
            let body = &rest[4..end.max(4)];
            let units: Vec<u32> = body.chunks(width).filter_map(hex).collect();
            if width == 4 {
                let u16s: Vec<u16> = units.iter().map(|&u| u as u16).collect();
                out.push_str(&String::from_utf16_lossy(&u16s));
            } else {
                out.extend(units.iter().map(|&u| char::from_u32(u).unwrap_or('\u{fffd}')));
            }
            i += (end + 4).min(rest.len());
        } else if rest.starts_with(b"\\P") && rest.len() >= 4 && rest[3] == b'\\' {
            i += 4; // code page directive
        } else {
            // Plain bytes: take the longest run up to the next backslash as UTF-8.
            let run = rest.iter().skip(1).position(|&c| c == b'\\').map_or(rest.len(), |p| p + 1);
            out.push_str(&String::from_utf8_lossy(&rest[..run]));
            i += run;
        }
    }
    out
}

/// Parses a whole STEP file.
pub fn parse(bytes: &[u8], name: &str) -> Result<StepFile, FormatError> {
    let mut p = Parser { b: bytes, pos: 0, line: 1, line_start: 0, name };
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        p.pos = 3;
    }
    let magic = p.keyword()?;
    if magic != "ISO-10303-21" {
        return Err(p.err(format!("not a STEP file: starts with `{magic}`, expected `ISO-10303-21;`")));
    }
    p.expect(b';')?;
    let mut file = StepFile::default();
    let mut ended = false;
    while !ended {
        p.skip()?;
        if p.peek().is_none() {
            return Err(p.err("unexpected end of file: no END-ISO-10303-21"));
        }
        let section = p.keyword()?;
        match section.as_str() {
            "HEADER" => {
                p.expect(b';')?;
                loop {
                    let k = p.keyword()?;
                    if k == "ENDSEC" {
                        p.expect(b';')?;
                        break;
                    }
                    let args = p.list(1)?;
                    p.expect(b';')?;
                    if k == "FILE_SCHEMA" {
                        let names = args.first().and_then(Value::as_list).unwrap_or_default();
                        file.schema = names.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
                    }
                }
            }
            "DATA" => {
                p.skip()?;
                if p.peek() == Some(b'(') {
                    p.list(1)?; // DATA('name', ('schema'));
                }
                p.expect(b';')?;
                loop {
                    p.skip()?;
                    match p.peek() {
                        Some(b'#') => {
                            let inst = p.instance()?;
                            let at = file.instances.len() as u32;
                            if file.index.insert(inst.id, at).is_some() {
                                return Err(FormatError::Line {
                                    path: name.to_string(),
                                    line: inst.line as usize,
                                    msg: format!("instance #{} defined twice", inst.id),
                                });
                            }
                            file.instances.push(inst);
                        }
                        Some(_) => {
                            let k = p.keyword()?;
                            if k != "ENDSEC" {
                                return Err(p.err(format!("expected an instance or ENDSEC, found `{k}`")));
                            }
                            p.expect(b';')?;
                            break;
                        }
                        None => return Err(p.err("unexpected end of file in the DATA section (no ENDSEC)")),
                    }
                }
            }
            "END-ISO-10303-21" => {
                p.expect(b';')?;
                ended = true;
            }
            // ANCHOR, REFERENCE and SIGNATURE sections (edition 3) are skipped.
            "ANCHOR" | "REFERENCE" | "SIGNATURE" => loop {
                p.skip()?;
                let at = p.pos;
                match p.bump() {
                    Some(b'E') if bytes[at..].starts_with(b"ENDSEC") => {
                        p.pos = at + 6;
                        p.expect(b';')?;
                        break;
                    }
                    Some(_) => {}
                    None => return Err(p.err(format!("unexpected end of file in the {section} section"))),
                }
            },
            other => return Err(p.err(format!("unknown section `{other}`"))),
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('ViewDefinition'),'2;1');\n\
        FILE_SCHEMA(('IFC4'));\nENDSEC;\nDATA;\n/* a comment */\n\
        #1= IFCCARTESIANPOINT((0.,1.5,-2.E-3));\n\
        #2 = IFCWALL('2O2Fr$t4X7Zf8NOew3FLOH',$,'Wall \\X2\\00E4\\X0\\''s',*,.T.,#1,(IFCLABEL('x'),IFCLINEINDEX((1,2))),\"0F\");\n\
        #3=(IFCA(1)IFCB('b'));\nENDSEC;\nEND-ISO-10303-21;\n";

    #[test]
    fn values_strings_and_complex_instances() {
        let f = parse(SMALL.as_bytes(), "small.ifc").expect("parse");
        assert_eq!(f.schema, ["IFC4"]);
        let p = f.get(1).expect("#1");
        assert_eq!(p.kind, "IFCCARTESIANPOINT");
        let xs: Vec<f64> = p.arg(0).as_list().expect("list").iter().filter_map(Value::as_f64).collect();
        assert_eq!(xs, [0.0, 1.5, -0.002]);
        let w = f.get(2).expect("#2");
        assert_eq!(w.arg(2).as_str(), Some("Wall ä's"));
        assert_eq!((w.arg(1), w.arg(3), w.arg(4)), (&Value::Null, &Value::Derived, &Value::Enum("T".into())));
        assert_eq!(w.arg(5).as_ref_id(), Some(1));
        let l = w.arg(6).as_list().expect("list");
        assert_eq!(l[0], Value::Typed("IFCLABEL".into(), Box::new(Value::Str("x".into()))));
        assert_eq!(l[1].as_list().map(|v| v.len()), Some(2));
        assert_eq!(w.arg(7), &Value::Binary("0F".into()));
        assert_eq!(w.line, 9);
        let c = f.get(3).expect("#3");
        assert_eq!((c.kind.as_str(), c.args.len()), ("", 2));
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let cut = &SMALL[..SMALL.find("#3").expect("#3") + 6];
        let e = parse(cut.as_bytes(), "cut.ifc").expect_err("truncated").to_string();
        assert!(e.contains("cut.ifc") && e.contains("line 10"), "{e}");
        let bad = SMALL.replace("#1= IFCCARTESIANPOINT((0.,", "#1= IFCCARTESIANPOINT((0.,,");
        let e = parse(bad.as_bytes(), "bad.ifc").expect_err("bad").to_string();
        assert!(e.contains("line 8, column") || e.contains("line 8: column"), "{e}");
        let dup = SMALL.replace("#3=", "#2=");
        assert!(parse(dup.as_bytes(), "dup.ifc").expect_err("dup").to_string().contains("#2 defined twice"));
        let deep =
            format!("ISO-10303-21;DATA;#1=X({}1{});ENDSEC;END-ISO-10303-21;", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(deep.as_bytes(), "deep.ifc").expect_err("deep").to_string().contains("deeper"));
        assert!(parse(b"not step", "x.ifc").is_err());
        assert!(
            parse(b"ISO-10303-21;DATA;#1=X('abc", "x.ifc")
                .expect_err("open string")
                .to_string()
                .contains("never closed")
        );
    }
}
