//! Bookmarks: named camera poses kept in a JSON file (`view --bookmarks
//! FILE`), listed in the panels to fly back to, and added from the current
//! view. A bad file is refused with its path, line, column and the field.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A named pose: longitude, latitude (degrees), height (metres), heading and pitch (degrees).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bookmark {
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    pub height: f64,
    #[serde(default)]
    pub heading: f64,
    #[serde(default)]
    pub pitch: f64,
}

/// Why a bookmarks file was refused.
#[derive(Debug, thiserror::Error)]
pub enum BookmarkError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}:{column}: {field}: {message}")]
    Invalid { path: PathBuf, line: usize, column: usize, field: String, message: String },
}

/// Parses a bookmarks file's text (a JSON list); `path` names it in errors.
pub fn parse_bookmarks(text: &str, path: &Path) -> Result<Vec<Bookmark>, BookmarkError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let list: Vec<Bookmark> = serde_path_to_error::deserialize(&mut de).map_err(|e| BookmarkError::Invalid {
        path: path.to_path_buf(),
        line: e.inner().line(),
        column: e.inner().column(),
        field: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    for (i, b) in list.iter().enumerate() {
        let ok = [b.lon, b.lat, b.height, b.heading, b.pitch].iter().all(|v| v.is_finite())
            && b.lat.abs() <= 90.0
            && b.lon.abs() <= 180.0
            && b.pitch.abs() <= 90.0;
        if !ok {
            // Point at the bookmark's name in the text, for its line.
            let at = text.find(&format!("\"{}\"", b.name)).unwrap_or(0);
            let line = text[..at].matches('\n').count() + 1;
            return Err(BookmarkError::Invalid {
                path: path.to_path_buf(),
                line,
                column: 1,
                field: format!("[{i}]"),
                message: "out of range (latitude and pitch within ±90°, longitude ±180°, all finite)".into(),
            });
        }
    }
    Ok(list)
}

/// Reads a bookmarks file; a missing file is an empty list.
pub fn read_bookmarks(path: &Path) -> Result<Vec<Bookmark>, BookmarkError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_bookmarks(&text, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(BookmarkError::Io { path: path.to_path_buf(), source }),
    }
}

/// Writes the bookmarks as a pretty JSON list (through a temporary file, so a failed write keeps the old one).
pub fn write_bookmarks(path: &Path, list: &[Bookmark]) -> Result<(), BookmarkError> {
    let io = |source| BookmarkError::Io { path: path.to_path_buf(), source };
    let text = serde_json::to_string_pretty(list).map_err(|e| io(std::io::Error::other(e)))?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_round_trip_and_bad_ones_name_line_and_field() {
        let dir = std::env::temp_dir().join(format!("urbis-bookmarks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("marks.json");
        assert!(read_bookmarks(&path).expect("missing is empty").is_empty());
        let list = vec![
            Bookmark { name: "Station".into(), lon: 115.9, lat: 39.0, height: 300.0, heading: 45.0, pitch: -30.0 },
            Bookmark { name: "河边".into(), lon: 115.91, lat: 38.99, height: 120.0, heading: 0.0, pitch: -20.0 },
        ];
        write_bookmarks(&path, &list).expect("write");
        assert_eq!(read_bookmarks(&path).expect("read"), list);
        let bad = "[\n  {\"name\": \"a\", \"lon\": 115.9, \"lat\": 39.0, \"height\": \"high\"}\n]";
        let e = parse_bookmarks(bad, Path::new("m.json")).expect_err("a string height").to_string();
        assert!(e.starts_with("m.json:2:") && e.contains("[0].height"), "{e}");
        let e = parse_bookmarks(
            "[{\"name\": \"a\", \"lon\": 1, \"lat\": 2, \"height\": 3, \"zoom\": 4}]",
            Path::new("m.json"),
        )
        .expect_err("unknown field")
        .to_string();
        assert!(e.contains("m.json:1:") && e.contains("zoom"), "{e}");
        let e = parse_bookmarks("[\n{\"name\": \"far\", \"lon\": 1, \"lat\": 95, \"height\": 3}]", Path::new("m.json"))
            .expect_err("latitude")
            .to_string();
        assert!(e.starts_with("m.json:2:1: [0]: out of range"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
