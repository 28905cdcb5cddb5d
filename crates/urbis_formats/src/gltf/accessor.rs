//! Buffer views and accessors: bounds-checked reads of typed element data,
//! with normalisation, strides, sparse substitution and meshopt-compressed
//! views.

use super::{GltfError, json};

/// Bytes per component of a glTF component type.
pub fn component_size(component_type: u32) -> Option<usize> {
    Some(match component_type {
        5120 | 5121 => 1,
        5122 | 5123 => 2,
        5125 | 5126 => 4,
        _ => return None,
    })
}

/// Components per element of an accessor type.
pub fn component_count(kind: &str) -> Option<usize> {
    Some(match kind {
        "SCALAR" => 1,
        "VEC2" => 2,
        "VEC3" => 3,
        "VEC4" | "MAT2" => 4,
        "MAT3" => 9,
        "MAT4" => 16,
        _ => return None,
    })
}

/// Reads one component at `b` as f64, normalising integers when asked.
fn component(b: &[u8], component_type: u32, normalized: bool) -> f64 {
    match component_type {
        5120 => {
            let v = b[0] as i8 as f64;
            if normalized { (v / 127.0).max(-1.0) } else { v }
        }
        5121 => {
            let v = b[0] as f64;
            if normalized { v / 255.0 } else { v }
        }
        5122 => {
            let v = i16::from_le_bytes([b[0], b[1]]) as f64;
            if normalized { (v / 32767.0).max(-1.0) } else { v }
        }
        5123 => {
            let v = u16::from_le_bytes([b[0], b[1]]) as f64;
            if normalized { v / 65535.0 } else { v }
        }
        5125 => {
            let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64;
            if normalized { v / 4_294_967_295.0 } else { v }
        }
        _ => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
    }
}

/// Access to the bytes of buffer views (decoded, for meshopt views).
pub trait ViewBytes {
    /// The bytes of view `index` and its stride, or an error naming the view.
    fn view(&self, index: usize) -> Result<(&[u8], Option<usize>), GltfError>;
    /// The largest element count an accessor without a buffer view may claim.
    fn max_synthetic_elements(&self) -> usize;
}

/// The f64 components of every element of an accessor (sparse applied).
pub fn read_f64(
    accessors: &[json::Accessor],
    index: usize,
    views: &impl ViewBytes,
) -> Result<(Vec<f64>, usize), GltfError> {
    let acc = accessors.get(index).ok_or_else(|| GltfError::field(format!("/accessors/{index}"), "does not exist"))?;
    let field = format!("/accessors/{index}");
    let size = component_size(acc.component_type)
        .ok_or_else(|| GltfError::field(&field, format!("componentType {} is not a glTF type", acc.component_type)))?;
    let n = acc.kind.components();
    if acc.kind.is_matrix() && size < 4 {
        return Err(GltfError::field(&field, "matrices with 1- or 2-byte components are not supported"));
    }
    let count = usize::try_from(acc.count).map_err(|_| GltfError::field(&field, "count overflows"))?;
    let elem = size * n;
    let mut out;
    match acc.buffer_view {
        Some(v) => {
            let (bytes, stride) = views.view(v)?;
            let stride = stride.unwrap_or(elem);
            if stride < elem {
                return Err(GltfError::field(
                    &field,
                    format!("byteStride {stride} is smaller than the element ({elem} bytes)"),
                ));
            }
            let offset =
                usize::try_from(acc.byte_offset).map_err(|_| GltfError::field(&field, "byteOffset overflows"))?;
            if count > 0 {
                let need = (count - 1)
                    .checked_mul(stride)
                    .and_then(|x| x.checked_add(offset))
                    .and_then(|x| x.checked_add(elem))
                    .ok_or_else(|| GltfError::field(&field, "size overflows"))?;
                if need > bytes.len() {
                    return Err(GltfError::field(
                        &field,
                        format!("{count} elements need {need} bytes of bufferView {v}, which has {}", bytes.len()),
                    ));
                }
            }
            out = Vec::with_capacity(count * n);
            for i in 0..count {
                let base = offset + i * stride;
                for c in 0..n {
                    out.push(component(&bytes[base + c * size..], acc.component_type, acc.normalized));
                }
            }
        }
        None => {
            if count > views.max_synthetic_elements() {
                return Err(GltfError::field(
                    &field,
                    format!("count {count} without a bufferView is implausibly large"),
                ));
            }
            out = vec![0.0; count * n];
        }
    }
    if let Some(sparse) = &acc.sparse {
        let sf = format!("{field}/sparse");
        let k = usize::try_from(sparse.count).map_err(|_| GltfError::field(&sf, "count overflows"))?;
        let isize_ = component_size(sparse.indices.component_type)
            .filter(|s| *s != 1 || sparse.indices.component_type == 5121)
            .ok_or_else(|| GltfError::field(&sf, "bad indices componentType"))?;
        let (ib, _) = views.view(sparse.indices.buffer_view)?;
        let (vb, _) = views.view(sparse.values.buffer_view)?;
        let io = sparse.indices.byte_offset as usize;
        let vo = sparse.values.byte_offset as usize;
        if io.checked_add(k.saturating_mul(isize_)).is_none_or(|e| e > ib.len())
            || vo.checked_add(k.saturating_mul(elem)).is_none_or(|e| e > vb.len())
        {
            return Err(GltfError::field(&sf, format!("{k} sparse entries overrun their buffer views")));
        }
        for j in 0..k {
            let at = component(&ib[io + j * isize_..], sparse.indices.component_type, false) as usize;
            if at >= count {
                return Err(GltfError::field(&sf, format!("sparse index {at} ≥ count {count}")));
            }
            for c in 0..n {
                out[at * n + c] = component(&vb[vo + j * elem + c * size..], acc.component_type, acc.normalized);
            }
        }
    }
    Ok((out, n))
}

/// An accessor as `[f32; N]` elements; fails if it has another width.
/// Dense float data (the common case) is read directly, at copy speed.
pub fn read_vec<const N: usize>(
    accessors: &[json::Accessor],
    index: usize,
    views: &impl ViewBytes,
) -> Result<Vec<[f32; N]>, GltfError> {
    if let Some(acc) = accessors.get(index)
        && acc.component_type == 5126
        && acc.sparse.is_none()
        && acc.kind.components() == N
        && let Some(v) = acc.buffer_view
    {
        let (bytes, stride) = views.view(v)?;
        let elem = 4 * N;
        let stride = stride.unwrap_or(elem);
        let count = acc.count as usize;
        let offset = acc.byte_offset as usize;
        let fits = count == 0
            || (stride >= elem
                && (count - 1)
                    .checked_mul(stride)
                    .and_then(|x| x.checked_add(offset + elem))
                    .is_some_and(|end| end <= bytes.len()));
        if fits {
            if count == 0 {
                return Ok(Vec::new());
            }
            // One element per `stride` bytes (the last one may stop right
            // after its own bytes), read with one unaligned load; packed
            // data is one copy.
            let region = &bytes[offset..offset + (count - 1) * stride + elem];
            if stride == elem && count >= COPY_FROM && cfg!(target_endian = "little") {
                return Ok(copy_packed::<[f32; N]>(region, count));
            }
            return Ok(region.chunks(stride).map(le_f32s::<N>).collect());
        }
    }
    let (flat, n) = read_f64(accessors, index, views)?;
    if n != N {
        return Err(GltfError::field(format!("/accessors/{index}"), format!("has {n} components, expected {N}")));
    }
    Ok(flat.chunks_exact(N).map(|c| std::array::from_fn(|i| c[i] as f32)).collect())
}

/// The element count from which packed data is read as one copy into a
/// zeroed vector; below it, element by element into an unzeroed one (a
/// zeroed allocation costs more than a few loads).
const COPY_FROM: usize = 256;

/// `count` packed values of `T` from `region` (exactly their bytes), as one
/// copy: for little-endian data on a little-endian host. Out of line, so that
/// the element-by-element paths of tiny accessors stay lean.
#[inline(never)]
fn copy_packed<T: bytemuck::Pod>(region: &[u8], count: usize) -> Vec<T> {
    let mut out = vec![T::zeroed(); count];
    bytemuck::cast_slice_mut::<T, u8>(&mut out).copy_from_slice(region);
    out
}

/// The first `N` little-endian f32 of `e`, in one unaligned load.
fn le_f32s<const N: usize>(e: &[u8]) -> [f32; N] {
    let v: [f32; N] = bytemuck::pod_read_unaligned(&e[..4 * N]);
    if cfg!(target_endian = "little") { v } else { v.map(|x| f32::from_bits(u32::from_le(x.to_bits()))) }
}

/// A scalar accessor as unsigned integers (indices, feature IDs); floats are
/// accepted when they hold whole non-negative numbers.
pub fn read_u32(accessors: &[json::Accessor], index: usize, views: &impl ViewBytes) -> Result<Vec<u32>, GltfError> {
    if let Some(acc) = accessors.get(index)
        && matches!(acc.component_type, 5121 | 5123 | 5125)
        && !acc.normalized
        && acc.sparse.is_none()
        && acc.kind == json::AccessorType::Scalar
        && let Some(v) = acc.buffer_view
    {
        let (bytes, stride) = views.view(v)?;
        let size = component_size(acc.component_type).unwrap_or(4);
        let stride = stride.unwrap_or(size);
        let (count, offset) = (acc.count as usize, acc.byte_offset as usize);
        let fits = count == 0
            || (stride >= size
                && (count - 1)
                    .checked_mul(stride)
                    .and_then(|x| x.checked_add(offset + size))
                    .is_some_and(|end| end <= bytes.len()));
        if fits {
            if count == 0 {
                return Ok(Vec::new());
            }
            let region = &bytes[offset..offset + (count - 1) * stride + size];
            // Packed 32-bit values (the usual large indices) are one copy,
            // packed 16-bit ones a copy and a widening; others a chunk (one
            // unaligned load) at a time.
            if size == 4 && stride == 4 && count >= COPY_FROM && cfg!(target_endian = "little") {
                return Ok(copy_packed::<u32>(region, count));
            }
            if size == 2 && stride == 2 && count >= COPY_FROM && cfg!(target_endian = "little") {
                // Copied whole, then widened in one vectorised pass.
                return Ok(copy_packed::<u16>(region, count).into_iter().map(u32::from).collect());
            }
            let u16_at = |e: &[u8]| u32::from(u16::from_le_bytes(bytemuck::pod_read_unaligned(&e[..2])));
            let u32_at = |e: &[u8]| u32::from_le_bytes(bytemuck::pod_read_unaligned(&e[..4]));
            return Ok(match (size, stride == size) {
                (1, true) => region.iter().map(|&b| u32::from(b)).collect(),
                (2, true) => region.chunks_exact(2).map(u16_at).collect(),
                (_, true) => region.chunks_exact(4).map(u32_at).collect(),
                (1, false) => region.chunks(stride).map(|e| u32::from(e[0])).collect(),
                (2, false) => region.chunks(stride).map(u16_at).collect(),
                (_, false) => region.chunks(stride).map(u32_at).collect(),
            });
        }
    }
    let field = format!("/accessors/{index}");
    let normalized = accessors.get(index).is_some_and(|a| a.normalized);
    if normalized {
        return Err(GltfError::field(&field, "integer IDs must not be normalized"));
    }
    let (flat, n) = read_f64(accessors, index, views)?;
    if n != 1 {
        return Err(GltfError::field(&field, format!("has {n} components, expected a SCALAR")));
    }
    flat.into_iter()
        .map(|v| {
            if v >= 0.0 && v <= u32::MAX as f64 && v.fract() == 0.0 {
                Ok(v as u32)
            } else {
                Err(GltfError::field(&field, format!("value {v} is not a valid unsigned integer")))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One buffer view: its bytes and stride.
    struct OneView(Vec<u8>, Option<usize>);

    impl ViewBytes for OneView {
        fn view(&self, _index: usize) -> Result<(&[u8], Option<usize>), GltfError> {
            Ok((&self.0, self.1))
        }
        fn max_synthetic_elements(&self) -> usize {
            1 << 20
        }
    }

    fn accessor(component_type: u32, kind: json::AccessorType, count: u64, byte_offset: u64) -> json::Accessor {
        json::Accessor { buffer_view: Some(0), byte_offset, component_type, count, kind, ..Default::default() }
    }

    /// The fast readers (packed copies, strided unaligned loads) agree with
    /// the general component-by-component path, for every stride and offset.
    #[test]
    fn fast_paths_agree_with_the_general_reader() {
        let bytes: Vec<u8> = (0..16_384u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let cases = [(None, 0), (None, 3), (Some(12), 0), (Some(16), 4), (Some(20), 1), (Some(32), 7)];
        // Counts below and above the one from which packed data is copied whole.
        for ((stride, offset), n) in cases.into_iter().flat_map(|c| [(c, 60), (c, COPY_FROM as u64 + 40)]) {
            let views = OneView(bytes.clone(), stride);
            let vec3 = [accessor(5126, json::AccessorType::Vec3, n, offset)];
            let fast = read_vec::<3>(&vec3, 0, &views).expect("vec3");
            let (flat, _) = read_f64(&vec3, 0, &views).expect("f64");
            assert_eq!(fast.len(), n as usize);
            for (a, b) in fast.iter().flatten().zip(&flat) {
                assert!(a.to_bits() == (*b as f32).to_bits() || (a.is_nan() && b.is_nan()), "{stride:?} {offset}");
            }
            for ct in [5121, 5123, 5125] {
                let size = component_size(ct).unwrap_or(1) as u64;
                let scalar = [accessor(ct, json::AccessorType::Scalar, n, offset.div_ceil(size) * size)];
                if stride.is_some_and(|s| s < size as usize) {
                    continue;
                }
                let fast = read_u32(&scalar, 0, &views).expect("u32");
                let (flat, _) = read_f64(&scalar, 0, &views).expect("f64");
                assert_eq!(fast, flat.iter().map(|&v| v as u32).collect::<Vec<_>>(), "{ct} {stride:?} {offset}");
            }
        }
    }
}
