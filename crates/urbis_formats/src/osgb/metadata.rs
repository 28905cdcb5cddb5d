//! `metadata.xml`, which ContextCapture writes beside an `.osgb` tile tree:
//!
//! ```xml
//! <ModelMetadata version="1">
//!   <SRS>EPSG:4547</SRS>            <!-- or ENU:lat,lon, or a WKT string -->
//!   <SRSOrigin>x,y,z</SRSOrigin>    <!-- tile coordinates are relative to it -->
//!   <Texture><ColorSource>Visible</ColorSource></Texture>
//! </ModelMetadata>
//! ```
//!
//! A small hand parser: comments are dropped, the few elements are found
//! by name and their text unescaped.

use glam::DVec3;

use crate::FormatError;

/// The spatial reference system of a tile tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Srs {
    /// `EPSG:code`, optionally `+vertical` (a compound CRS).
    Epsg { code: u32, vertical: Option<u32> },
    /// `ENU:lat,lon`: a local east-north-up frame at that WGS84 point (degrees).
    Enu { latitude: f64, longitude: f64 },
    /// A WKT definition that names no EPSG code for itself, as written
    /// (one that does is read as [`Srs::Epsg`], see [`wkt_epsg`]).
    Wkt(String),
}

/// The parsed `metadata.xml`.
#[derive(Debug, Clone, PartialEq)]
pub struct OsgbMetadata {
    pub srs: Srs,
    /// `SRSOrigin` (zero when absent): add it to tile coordinates.
    pub srs_origin: DVec3,
    /// `Texture/ColorSource`, e.g. `Visible`.
    pub color_source: Option<String>,
}

/// WKT 1 and 2 top-level keywords.
const WKT_KEYWORDS: &[&str] = &[
    "PROJCS",
    "GEOGCS",
    "GEOCCS",
    "COMPD_CS",
    "LOCAL_CS",
    "VERT_CS",
    "FITTED_CS",
    "PROJCRS",
    "PROJECTEDCRS",
    "GEOGCRS",
    "GEOGRAPHICCRS",
    "GEODCRS",
    "GEODETICCRS",
    "COMPOUNDCRS",
    "BOUNDCRS",
    "ENGCRS",
    "ENGINEERINGCRS",
    "VERTCRS",
    "VERTICALCRS",
];

/// Parses a ContextCapture `metadata.xml`; `path` names it in errors.
pub fn read_metadata_xml(text: &str, path: &str) -> Result<OsgbMetadata, FormatError> {
    let field = |field: &str, msg: String| FormatError::Field { path: path.into(), field: field.into(), msg };
    let text = strip_comments(text).map_err(|m| field("xml", m))?;
    if !text.contains("<ModelMetadata") {
        return Err(field("ModelMetadata", "no <ModelMetadata> element: not a ContextCapture metadata.xml".into()));
    }
    let srs_text = element(&text, "SRS").map_err(|m| field("SRS", m))?;
    let srs_text = srs_text.ok_or_else(|| field("SRS", "missing".into()))?;
    let srs = parse_srs(srs_text.trim()).map_err(|m| field("SRS", m))?;
    let srs_origin = match element(&text, "SRSOrigin").map_err(|m| field("SRSOrigin", m))? {
        None => DVec3::ZERO,
        Some(t) => parse_origin(t.trim()).map_err(|m| field("SRSOrigin", m))?,
    };
    let color_source =
        element(&text, "ColorSource").map_err(|m| field("ColorSource", m))?.map(|s| s.trim().to_string());
    Ok(OsgbMetadata { srs, srs_origin, color_source })
}

fn strip_comments(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<!--") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i + 4..].find("-->") else {
            return Err("unterminated comment".into());
        };
        rest = &rest[i + 4 + j + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The unescaped text of the single element `name`, if present.
fn element(text: &str, name: &str) -> Result<Option<String>, String> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut found: Option<String> = None;
    let mut from = 0;
    while let Some(i) = text[from..].find(&open) {
        let start = from + i + open.len();
        from = start;
        // `<SRS` must not match `<SRSOrigin`.
        let Some(next) = text[start..].chars().next() else { break };
        if !(next == '>' || next == '/' || next.is_whitespace()) {
            continue;
        }
        let Some(gt) = text[start..].find('>') else {
            return Err(format!("unterminated <{name}> tag"));
        };
        let tag_end = start + gt;
        let value = if text[..tag_end].ends_with('/') {
            String::new()
        } else {
            let Some(end) = text[tag_end + 1..].find(&close) else {
                return Err(format!("<{name}> is not closed"));
            };
            let raw = &text[tag_end + 1..tag_end + 1 + end];
            if raw.contains('<') {
                return Err(format!("<{name}> holds markup, expected text"));
            }
            unescape(raw)?
        };
        if found.is_some() {
            return Err(format!("more than one <{name}>"));
        }
        found = Some(value);
    }
    Ok(found)
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find(';') else {
            return Err("unterminated character reference".into());
        };
        let entity = &rest[i + 1..i + j];
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            e => {
                let code = if let Some(hex) = e.strip_prefix("#x").or_else(|| e.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    e.strip_prefix('#').and_then(|d| d.parse().ok())
                };
                code.and_then(char::from_u32).ok_or_else(|| format!("unknown character reference &{e};"))?
            }
        };
        out.push(c);
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_srs(s: &str) -> Result<Srs, String> {
    if s.is_empty() {
        return Err("empty".into());
    }
    let upper = s.to_ascii_uppercase();
    if upper.starts_with("EPSG:") {
        let rest = &s[5..];
        let (h, v) = match rest.split_once('+') {
            Some((h, v)) => (h, Some(v)),
            None => (rest, None),
        };
        let code = |t: &str| -> Result<u32, String> {
            match t.trim().parse::<u32>() {
                Ok(c) if c > 0 => Ok(c),
                _ => Err(format!("`{s}`: EPSG code `{}` is not a positive integer", t.trim())),
            }
        };
        return Ok(Srs::Epsg { code: code(h)?, vertical: v.map(code).transpose()? });
    }
    if upper.starts_with("ENU:") {
        let parts: Vec<&str> = s[4..].split(',').map(str::trim).collect();
        let [lat, lon] = parts[..] else {
            return Err(format!("`{s}`: ENU needs `lat,lon`"));
        };
        let num = |t: &str| t.parse::<f64>().ok().filter(|v| v.is_finite());
        let (Some(latitude), Some(longitude)) = (num(lat), num(lon)) else {
            return Err(format!("`{s}`: ENU latitude and longitude must be numbers"));
        };
        if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
            return Err(format!("`{s}`: ENU origin out of range (latitude ±90, longitude ±180)"));
        }
        return Ok(Srs::Enu { latitude, longitude });
    }
    let keyword: String = upper.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let after = upper[keyword.len()..].trim_start();
    if WKT_KEYWORDS.contains(&keyword.as_str()) && (after.starts_with('[') || after.starts_with('(')) {
        let mut depth = 0i64;
        let mut in_quotes = false;
        for c in s.chars() {
            match c {
                '"' => in_quotes = !in_quotes,
                '[' | '(' if !in_quotes => depth += 1,
                ']' | ')' if !in_quotes => {
                    depth -= 1;
                    if depth < 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        if depth != 0 || in_quotes {
            return Err(format!("WKT `{}…` has unbalanced brackets or quotes", s.chars().take(30).collect::<String>()));
        }
        return Ok(match wkt_epsg(s) {
            Some((code, vertical)) => Srs::Epsg { code, vertical },
            None => Srs::Wkt(s.to_string()),
        });
    }
    Err(format!("`{}` is neither EPSG:code, ENU:lat,lon nor WKT", s.chars().take(40).collect::<String>()))
}

/// The EPSG code a WKT CRS names for itself: `AUTHORITY["EPSG","4547"]`
/// (WKT 1) or `ID["EPSG",4547]` (WKT 2) directly inside its outermost
/// element, not one of a nested datum or base CRS. A compound CRS without
/// its own code gives its components' codes (horizontal, vertical).
pub fn wkt_epsg(wkt: &str) -> Option<(u32, Option<u32>)> {
    // Elements at each depth: (depth, keyword, bracket content start).
    let bytes = wkt.as_bytes();
    let mut depth = 0usize;
    let mut in_quotes = false;
    let mut word_start = 0usize;
    let mut found: Vec<(usize, String, usize)> = Vec::new();
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'"' => in_quotes = !in_quotes,
            b'[' | b'(' if !in_quotes => {
                let keyword = wkt[word_start..i].trim().trim_start_matches(',').trim().to_ascii_uppercase();
                depth += 1;
                found.push((depth, keyword, i + 1));
                word_start = i + 1;
            }
            b']' | b')' if !in_quotes => {
                depth = depth.saturating_sub(1);
                word_start = i + 1;
            }
            b',' if !in_quotes => word_start = i + 1,
            _ => {}
        }
    }
    let code_of = |start: usize| -> Option<u32> {
        let rest = &wkt[start..];
        let end = rest.find([']', ')'])?;
        let mut parts = rest[..end].split(',').map(|t| t.trim().trim_matches('"'));
        let (authority, code) = (parts.next()?, parts.next()?);
        authority.eq_ignore_ascii_case("EPSG").then(|| code.parse().ok()).flatten()
    };
    let is_code = |k: &str| k == "AUTHORITY" || k == "ID";
    // The outermost element's own code.
    if let Some(code) = found.iter().filter(|(d, k, _)| *d == 2 && is_code(k)).find_map(|(_, _, s)| code_of(*s)) {
        return Some((code, None));
    }
    // A compound CRS: its components' own codes.
    let top = found.first().map(|(_, k, _)| k.as_str())?;
    if top == "COMPD_CS" || top == "COMPOUNDCRS" {
        let mut codes = Vec::new();
        let mut current: Option<usize> = None;
        for (d, k, s) in &found {
            if *d == 2 && !is_code(k) {
                current = Some(codes.len());
                codes.push(None);
            }
            if *d == 3
                && is_code(k)
                && let Some(c) = current
                && codes[c].is_none()
            {
                codes[c] = code_of(*s);
            }
        }
        let horizontal = codes.first().copied().flatten()?;
        return Some((horizontal, codes.get(1).copied().flatten()));
    }
    None
}

fn parse_origin(s: &str) -> Result<DVec3, String> {
    let v: Vec<Option<f64>> = s.split(',').map(|t| t.trim().parse::<f64>().ok().filter(|v| v.is_finite())).collect();
    match v[..] {
        [Some(x), Some(y), Some(z)] => Ok(DVec3::new(x, y, z)),
        _ => Err(format!("`{s}` is not three finite numbers `x,y,z`")),
    }
}
