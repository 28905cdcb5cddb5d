//! Buffer view bytes, including views compressed with `EXT_meshopt_compression`
//! (decoded once, up front, by the `meshopt` crate).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use super::{GltfError, json};

#[derive(Debug, Default)]
pub(super) struct Views {
    decoded: HashMap<usize, (Vec<u8>, Option<usize>)>,
}

fn slice<'b>(
    buffers: &'b [Option<Cow<'_, [u8]>>],
    buffer: usize,
    offset: u64,
    length: u64,
    field: impl Fn() -> String,
) -> Result<&'b [u8], GltfError> {
    let data = buffers
        .get(buffer)
        .ok_or_else(|| GltfError::field(field(), format!("buffer {buffer} does not exist")))?
        .as_deref()
        .ok_or_else(|| GltfError::field(field(), format!("buffer {buffer} has no data (meshopt fallback)")))?;
    let start = usize::try_from(offset).map_err(|_| GltfError::field(field(), "byteOffset overflows"))?;
    let len = usize::try_from(length).map_err(|_| GltfError::field(field(), "byteLength overflows"))?;
    let end = start.checked_add(len).ok_or_else(|| GltfError::field(field(), "range overflows"))?;
    data.get(start..end).ok_or_else(|| {
        GltfError::field(field(), format!("bytes {start}..{end} outside buffer {buffer} ({} bytes)", data.len()))
    })
}

macro_rules! decode_vertices {
    ($src:expr, $count:expr, $stride:expr, $($n:literal),*) => {
        match $stride {
            $( s if s == $n * 4 => meshopt::decode_vertex_buffer::<[u32; $n]>($src, $count).map(|v| bytemuck_vec(&v)), )*
            s => return Err(GltfError::unsupported(format!("meshopt vertex stride {s}"))),
        }
    };
}

fn bytemuck_vec<const N: usize>(v: &[[u32; N]]) -> Vec<u8> {
    v.iter().flat_map(|e| e.iter().flat_map(|x| x.to_le_bytes())).collect()
}

impl Views {
    /// The bytes and stride of a view.
    pub(super) fn get<'s>(
        &'s self,
        root: &json::Root,
        buffers: &'s [Option<Cow<'_, [u8]>>],
        index: usize,
    ) -> Result<(&'s [u8], Option<usize>), GltfError> {
        if !self.decoded.is_empty()
            && let Some((bytes, stride)) = self.decoded.get(&index)
        {
            return Ok((bytes, *stride));
        }
        // Formatted only on error: this runs for every accessor read.
        let field = || format!("/bufferViews/{index}");
        let v = root.buffer_views.get(index).ok_or_else(|| GltfError::field(field(), "does not exist"))?;
        let stride = v.byte_stride.map(|s| s as usize);
        if let Some(s) = stride
            && !(4..=252).contains(&s)
        {
            return Err(GltfError::field(field(), format!("byteStride {s} outside 4..252")));
        }
        Ok((slice(buffers, v.buffer, v.byte_offset, v.byte_length, field)?, stride))
    }

    /// Decodes every meshopt-compressed view.
    pub(super) fn decode_compressed(
        &mut self,
        root: &json::Root,
        buffers: &[Option<Cow<'_, [u8]>>],
    ) -> Result<(), GltfError> {
        for (i, v) in root.buffer_views.iter().enumerate() {
            let Some(ext) = v.extensions.get("EXT_meshopt_compression") else { continue };
            let field = format!("/bufferViews/{i}/extensions/EXT_meshopt_compression");
            let num = |k: &str| {
                ext.get(k).and_then(Value::as_u64).ok_or_else(|| GltfError::field(&field, format!("`{k}` missing")))
            };
            let (buffer, offset, length) = (
                num("buffer")? as usize,
                ext.get("byteOffset").and_then(Value::as_u64).unwrap_or(0),
                num("byteLength")?,
            );
            let (stride, count) = (num("byteStride")? as usize, num("count")? as usize);
            // The output must fit the uncompressed view the JSON declares.
            if stride == 0 || count.checked_mul(stride).is_none_or(|n| n as u64 > v.byte_length) {
                return Err(GltfError::field(
                    &field,
                    format!("{count} × {stride} bytes exceed the view's byteLength {}", v.byte_length),
                ));
            }
            let src = slice(buffers, buffer, offset, length, || field.clone())?;
            let mode = ext.get("mode").and_then(Value::as_str).unwrap_or("");
            let filter = ext.get("filter").and_then(Value::as_str).unwrap_or("NONE");
            let bad = |e: meshopt::Error| GltfError::field(&field, format!("meshopt decode failed: {e}"));
            let mut out = match mode {
                "ATTRIBUTES" => decode_vertices!(
                    src, count, stride, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 24, 32
                )
                .map_err(bad)?,
                "TRIANGLES" | "INDICES" => {
                    let seq = mode == "INDICES";
                    match stride {
                        2 if seq => meshopt::decode_index_sequence::<u16>(src, count)
                            .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                        4 if seq => meshopt::decode_index_sequence::<u32>(src, count)
                            .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                        2 => meshopt::decode_index_buffer::<u16>(src, count)
                            .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                        4 => meshopt::decode_index_buffer::<u32>(src, count)
                            .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect()),
                        s => return Err(GltfError::field(&field, format!("index stride {s}"))),
                    }
                    .map_err(bad)?
                }
                m => return Err(GltfError::field(&field, format!("unknown mode `{m}`"))),
            };
            apply_filter(&mut out, filter, stride, &field)?;
            self.decoded.insert(i, (out, v.byte_stride.map(|s| s as usize)));
        }
        Ok(())
    }
}

fn apply_filter(bytes: &mut [u8], filter: &str, stride: usize, field: &str) -> Result<(), GltfError> {
    match (filter, stride) {
        ("NONE", _) => {}
        ("OCTAHEDRAL", 4) => {
            let mut v: Vec<[i8; 4]> =
                bytes.chunks_exact(4).map(|c| [c[0] as i8, c[1] as i8, c[2] as i8, c[3] as i8]).collect();
            meshopt::decode_filter_oct(&mut v);
            for (dst, s) in bytes.chunks_exact_mut(4).zip(v) {
                dst.copy_from_slice(&s.map(|x| x as u8));
            }
        }
        ("OCTAHEDRAL", 8) | ("QUATERNION", 8) => {
            let mut v: Vec<[i16; 4]> = bytes
                .chunks_exact(8)
                .map(|c| std::array::from_fn(|i| i16::from_le_bytes([c[2 * i], c[2 * i + 1]])))
                .collect();
            if filter == "OCTAHEDRAL" {
                meshopt::decode_filter_oct(&mut v);
            } else {
                meshopt::decode_filter_quat(&mut v);
            }
            for (dst, s) in bytes.chunks_exact_mut(8).zip(v) {
                for (i, x) in s.iter().enumerate() {
                    dst[2 * i..2 * i + 2].copy_from_slice(&x.to_le_bytes());
                }
            }
        }
        ("EXPONENTIAL", s) if s % 4 == 0 => {
            let mut v: Vec<[u32; 1]> =
                bytes.chunks_exact(4).map(|c| [u32::from_le_bytes([c[0], c[1], c[2], c[3]])]).collect();
            meshopt::decode_filter_exp(&mut v);
            for (dst, s) in bytes.chunks_exact_mut(4).zip(v) {
                dst.copy_from_slice(&s[0].to_le_bytes());
            }
        }
        (f, s) => return Err(GltfError::field(field, format!("filter {f} with stride {s}"))),
    }
    Ok(())
}
