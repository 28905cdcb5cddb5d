//! The GLB container (binary glTF): a 12-byte header and JSON + BIN chunks.

use super::GltfError;

/// Magic `glTF` at the start of a GLB file.
pub const GLB_MAGIC: &[u8; 4] = b"glTF";
const CHUNK_JSON: u32 = 0x4E4F_534A;
const CHUNK_BIN: u32 = 0x004E_4942;

/// The JSON chunk, its byte offset in the file, and the BIN chunk if any.
#[derive(Debug)]
pub struct Glb<'a> {
    pub json: &'a [u8],
    pub json_offset: usize,
    pub bin: Option<&'a [u8]>,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Splits GLB bytes into chunks, checking every length against the data.
pub fn parse_glb(bytes: &[u8]) -> Result<Glb<'_>, GltfError> {
    if bytes.len() < 12 {
        return Err(GltfError::at(0, format!("GLB header needs 12 bytes, the data has {}", bytes.len())));
    }
    if &bytes[0..4] != GLB_MAGIC {
        return Err(GltfError::at(0, "missing `glTF` magic"));
    }
    let version = u32_at(bytes, 4).unwrap_or(0);
    if version != 2 {
        return Err(GltfError::at(4, format!("GLB version {version}, only 2 is supported")));
    }
    let length = u32_at(bytes, 8).unwrap_or(0) as usize;
    if length > bytes.len() {
        return Err(GltfError::at(8, format!("header claims {length} bytes, the data has {}", bytes.len())));
    }
    let bytes = &bytes[..length];
    let mut at = 12;
    let mut json = None;
    let mut bin = None;
    while at + 8 <= bytes.len() {
        let len = u32_at(bytes, at).unwrap_or(0) as usize;
        let kind = u32_at(bytes, at + 4).unwrap_or(0);
        let start = at + 8;
        let end = start
            .checked_add(len)
            .filter(|e| *e <= bytes.len())
            .ok_or_else(|| GltfError::at(at, format!("chunk of {len} bytes overruns the {}-byte file", bytes.len())))?;
        match kind {
            CHUNK_JSON if json.is_none() => json = Some((&bytes[start..end], start)),
            CHUNK_BIN if bin.is_none() => bin = Some(&bytes[start..end]),
            _ => {} // unknown chunks are skipped, as the spec says
        }
        at = end;
    }
    let (json, json_offset) = json.ok_or_else(|| GltfError::at(12, "no JSON chunk"))?;
    Ok(Glb { json, json_offset, bin })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glb(json: &str, bin: &[u8]) -> Vec<u8> {
        let mut j = json.as_bytes().to_vec();
        while !j.len().is_multiple_of(4) {
            j.push(b' ');
        }
        let mut out = Vec::new();
        out.extend_from_slice(b"glTF");
        out.extend_from_slice(&2u32.to_le_bytes());
        let total = 12 + 8 + j.len() + if bin.is_empty() { 0 } else { 8 + bin.len() };
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(j.len() as u32).to_le_bytes());
        out.extend_from_slice(&CHUNK_JSON.to_le_bytes());
        out.extend_from_slice(&j);
        if !bin.is_empty() {
            out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
            out.extend_from_slice(&CHUNK_BIN.to_le_bytes());
            out.extend_from_slice(bin);
        }
        out
    }

    #[test]
    fn splits_chunks_and_reports_offsets() {
        let b = glb("{}", &[1, 2, 3, 4]);
        let g = parse_glb(&b).unwrap();
        assert_eq!(g.json, b"{}  ");
        assert_eq!(g.json_offset, 20);
        assert_eq!(g.bin, Some(&[1u8, 2, 3, 4][..]));
        let e = parse_glb(&b[..10]).unwrap_err().to_string();
        assert!(e.contains("byte 0"), "{e}");
        let mut long = b.clone();
        long[8..12].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert!(parse_glb(&long).unwrap_err().to_string().contains("byte 8"));
        let mut chunk = b.clone();
        chunk[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse_glb(&chunk).unwrap_err().to_string().contains("byte 12"));
    }
}
