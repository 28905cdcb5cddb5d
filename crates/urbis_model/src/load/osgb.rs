//! OSGB photo-mesh tiles (oblique photography) → entities. Each `.osgb`
//! file's own geometry becomes one textured `PhotoMesh` entity: the
//! continuous skin as the photogrammetry tool wrote it (not yet split into
//! buildings). It is placed by the dataset's `metadata.xml`, found beside
//! the file or up to three folders above it (ContextCapture writes
//! `metadata.xml` next to `Data/Tile_*/`):
//!
//! ```text
//! metadata.xml: SRS EPSG:n ──► vertex + SRSOrigin ──► PROJ ──► city ENU
//!               SRS ENU:lat,lon ─► vertex + SRSOrigin = ENU metres there ─► ECEF ─► city ENU
//!               none ──────────► local metres (at the city origin, or --place)
//! ```

use std::path::Path;

use glam::{DVec3, Vec2, Vec3};
use urbis_formats::FormatError;
use urbis_formats::osgb::{OsgbFile, OsgbMetadata, Srs, read_metadata_xml};
use urbis_geo::{CityFrame, Geodetic};

use super::build::TileBuild;
use super::{LoadError, LoadReport};
use crate::mesh::{CpuMesh, Material, MeshGroup, MeshVertex};
use crate::{Bounds, CityModel, Family, Lod, NewFeature, SemanticClass};

/// The dataset's `metadata.xml` for an `.osgb` file: beside it or up to
/// three folders above. A `metadata.xml` that does not parse is an error.
pub(crate) fn find_metadata(path: &Path) -> Result<Option<OsgbMetadata>, LoadError> {
    let mut dir = path.parent();
    for _ in 0..4 {
        let Some(d) = dir else { break };
        let m = d.join("metadata.xml");
        if m.is_file() {
            let bytes = urbis_formats::read_file(&m)?;
            let text = String::from_utf8_lossy(&bytes);
            let meta = read_metadata_xml(&text, &m.display().to_string())?;
            if let Srs::Wkt(_) = meta.srs {
                return Err(FormatError::Unsupported {
                    path: m.display().to_string(),
                    what: "an SRS given as WKT that names no EPSG code of its own (AUTHORITY or ID); give it as EPSG:code or ENU:lat,lon".into(),
                }
                .into());
            }
            return Ok(Some(meta));
        }
        dir = d.parent();
    }
    Ok(None)
}

/// The EPSG code of a dataset's SRS, when it has one.
pub(crate) fn epsg(meta: Option<&OsgbMetadata>) -> Option<u32> {
    match meta?.srs {
        Srs::Epsg { code, .. } => Some(code),
        _ => None,
    }
}

/// The middle of a file's vertices at their lowest height, in dataset
/// coordinates (`SRSOrigin` added).
pub(crate) fn anchor(file: &OsgbFile, meta: Option<&OsgbMetadata>) -> Option<DVec3> {
    let (lo, hi) = file.root.vertex_bounds()?;
    let origin = meta.map_or(DVec3::ZERO, |m| m.srs_origin);
    Some(DVec3::new((lo.x + hi.x) / 2.0, (lo.y + hi.y) / 2.0, lo.z) + origin)
}

/// The ECEF position of the anchor of a file in an `ENU:lat,lon` dataset.
pub(crate) fn ecef_anchor(file: &OsgbFile, meta: Option<&OsgbMetadata>) -> Option<DVec3> {
    let m = meta?;
    match m.srs {
        Srs::Enu { latitude, longitude } => {
            Some(CityFrame::new(Geodetic::new(longitude, latitude, 0.0)).enu_to_ecef(anchor(file, meta)?))
        }
        _ => None,
    }
}

/// One geometry's triangles: its texture, (ENU position, uv) per corner, and its colour.
type Part = (Option<crate::TextureId>, Vec<[(DVec3, Vec2); 3]>, [u8; 4]);

/// Adds the file's geometry as one `PhotoMesh` entity; `to_enu` maps
/// dataset coordinates (`SRSOrigin` added) into the city's ENU frame.
pub(crate) fn add(
    model: &mut CityModel,
    file: &OsgbFile,
    path: &Path,
    meta: Option<&OsgbMetadata>,
    to_enu: &dyn Fn(DVec3) -> Result<DVec3, LoadError>,
) -> Result<LoadReport, LoadError> {
    let mut report = LoadReport::default();
    let origin = meta.map_or(DVec3::ZERO, |m| m.srs_origin);
    let name = path.file_name().map_or_else(|| "osgb".into(), |n| n.to_string_lossy().into_owned());
    let mut build = TileBuild::default();
    if build_photo_mesh(&mut build, file, &name, name.clone(), &|p| to_enu(p + origin))? == 0 {
        report.warnings.append(&mut build.warnings);
        return Ok(report);
    }
    report.warnings.append(&mut build.warnings);
    report.features += build.spawn(model);
    report.tiles_loaded = 1;
    Ok(report)
}

/// Builds the file's geometry as one textured `PhotoMesh` feature of
/// `build` (named `name`, with GUID `guid`); `to_enu` maps the file's own
/// coordinates (MatrixTransforms applied) into the city's ENU frame. Shared
/// by whole loads and streamed tiles. Returns the features added (0 or 1);
/// what is skipped goes to `build.warnings`.
pub(crate) fn build_photo_mesh(
    build: &mut TileBuild,
    file: &OsgbFile,
    name: &str,
    guid: String,
    to_enu: &dyn Fn(DVec3) -> Result<DVec3, LoadError>,
) -> Result<usize, LoadError> {
    let mut parts: Vec<Part> = Vec::new();
    for (k, (m, g)) in file.root.geometries().into_iter().enumerate() {
        let Some(positions) = g.positions() else { continue };
        let tris = match g.triangles() {
            Ok(t) => t,
            Err(e) => {
                build.warnings.push(format!("{name}: geometry {k}: {e}"));
                continue;
            }
        };
        if tris.is_empty() {
            continue;
        }
        let enu: Vec<DVec3> = positions.iter().map(|p| to_enu(m.transform_point3(*p))).collect::<Result<_, _>>()?;
        let uvs = g.tex_coords(0).filter(|t| t.len() == positions.len());
        let texture = match (g.state_set.as_ref().and_then(|s| s.texture(0)).and_then(|t| t.image.as_ref()), &uvs) {
            (Some(img), Some(_)) => match img.decode_rgba() {
                Ok(rgba) => Some(build.add_texture(rgba)),
                Err(e) => {
                    build.warnings.push(format!("{name}: geometry {k}: texture not drawn: {e}"));
                    None
                }
            },
            _ => None,
        };
        let colour = match (texture, g.state_set.as_ref().and_then(|s| s.material())) {
            (Some(_), _) | (None, None) => [255, 255, 255, 255],
            (None, Some(mat)) => {
                let d = mat.diffuse.front;
                let c = |v: f32| (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
                [c(d[0]), c(d[1]), c(d[2]), 255]
            }
        };
        let uv = |i: u32| uvs.as_ref().map_or(Vec2::ZERO, |u| Vec2::from_array(u[i as usize]));
        let corners: Vec<[(DVec3, Vec2); 3]> =
            tris.iter().map(|t| t.map(|i| (enu[i as usize], Vec2::new(uv(i).x, 1.0 - uv(i).y)))).collect();
        parts.push((texture, corners, colour));
    }
    let all = parts.iter().flat_map(|(_, c, _)| c.iter().flatten().map(|(p, _)| *p));
    let (lo, hi) =
        all.fold((DVec3::splat(f64::INFINITY), DVec3::splat(f64::NEG_INFINITY)), |(lo, hi), p| (lo.min(p), hi.max(p)));
    if !lo.is_finite() {
        build.warnings.push(format!("{name}: no triangles"));
        return Ok(0);
    }
    let placement = DVec3::new((lo.x + hi.x) / 2.0, (lo.y + hi.y) / 2.0, lo.z);
    let mut mesh = CpuMesh::default();
    for (texture, corners, colour) in parts {
        let first = mesh.indices.len() as u32;
        for tri in corners {
            let p = tri.map(|(p, _)| (p - placement).as_vec3());
            let n = (p[1] - p[0]).cross(p[2] - p[0]).normalize_or(Vec3::Z);
            for (k, (_, uv)) in tri.iter().enumerate() {
                mesh.indices.push(mesh.vertices.len() as u32);
                mesh.vertices.push(MeshVertex {
                    position: p[k],
                    normal: n,
                    uv: *uv,
                    color: colour,
                    material: if texture.is_some() { Material::Textured } else { Material::Plain },
                });
            }
        }
        mesh.groups.push(MeshGroup {
            texture,
            first_index: first,
            index_count: mesh.indices.len() as u32 - first,
            single_sided: false,
        });
    }
    let mut f = NewFeature::new(guid, SemanticClass::new("PhotoMesh", Family::Generic), placement);
    f.attributes.insert("source", name.to_string());
    f.attributes.insert("triangles", (mesh.indices.len() / 3) as i64);
    f.bounds = Some(Bounds::from_points([lo, hi]));
    f.mesh = Some((mesh, Lod(30)));
    build.features.push(f);
    Ok(1)
}

/// How deep into a tile's PagedLOD pyramid a whole load goes.
pub(crate) enum Depth<'a> {
    /// The top tile only.
    Top,
    /// The finest files (leaves of the pyramid).
    Finest,
    /// What a view needs: a PagedLOD's paged children replace it when it
    /// covers more pixels than its switch range (pixel-size mode) or the
    /// eye is nearer than it (distance mode). `to_ecef` places dataset
    /// coordinates (`SRSOrigin` added).
    View(&'a urbis_tiles::View, &'a dyn Fn(DVec3) -> Result<DVec3, LoadError>),
}

/// The most files one pyramid may bring in.
const MAX_PYRAMID_FILES: usize = 1 << 16;
/// The deepest pyramid followed.
const MAX_PYRAMID_DEPTH: usize = 64;

/// Whether a file's paged children should replace it.
fn refine(file: &OsgbFile, origin: DVec3, depth: &Depth) -> Result<bool, LoadError> {
    let (view, to_ecef) = match depth {
        Depth::Top => return Ok(false),
        Depth::Finest => return Ok(true),
        Depth::View(v, f) => (v, f),
    };
    let mut refine = false;
    let mut stack = vec![&file.root];
    while let Some(n) = stack.pop() {
        stack.extend(n.children.iter());
        let (Some((lod, paged)), Some((centre, radius))) = (n.paged_lod(), n.lod_center()) else { continue };
        let d = (to_ecef(centre + origin)? - view.position).length() - radius;
        let pixels = view.sse(2.0 * radius, d.max(1e-9));
        for (range, name) in lod.ranges.iter().zip(&paged.file_names) {
            if name.is_empty() {
                continue;
            }
            refine |= match lod.range_mode {
                urbis_formats::osgb::RangeMode::PixelSizeOnScreen => pixels >= range[0] as f64,
                _ => d.max(0.0) < range[1] as f64,
            };
        }
    }
    Ok(refine)
}

/// The files of a top tile's pyramid to draw at `depth`: a file whose paged
/// children replace it gives way to them; when one of them is missing,
/// unreadable, outside the dataset or already seen (a cycle), the file
/// stands in for all of them and a warning says why.
pub(crate) fn pyramid(
    top_path: &Path,
    top: &OsgbFile,
    origin: DVec3,
    depth: &Depth,
    warnings: &mut Vec<String>,
) -> Result<Vec<(std::path::PathBuf, OsgbFile)>, LoadError> {
    let key = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let mut seen = std::collections::HashSet::from([key(top_path)]);
    let mut out = Vec::new();
    let mut stack = vec![(top_path.to_path_buf(), None, 0usize)];
    while let Some((path, file, level)) = stack.pop() {
        let file: OsgbFile = match file {
            Some(f) => f,
            None => top.clone(),
        };
        let children = file.root.child_paths(path.parent().unwrap_or(Path::new(".")));
        if children.is_empty() || level >= MAX_PYRAMID_DEPTH || !refine(&file, origin, depth)? {
            out.push((path, file));
            continue;
        }
        let mut loaded = Vec::new();
        let mut failed = None;
        for c in children {
            let p = match c {
                Ok(p) => p,
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            };
            if !seen.insert(key(&p)) {
                failed = Some(format!("{}: already in the pyramid (a cycle or a shared child)", p.display()));
                break;
            }
            if seen.len() > MAX_PYRAMID_FILES {
                failed = Some(format!("more than {MAX_PYRAMID_FILES} files"));
                break;
            }
            match urbis_formats::osgb::read_osgb_file(&p) {
                Ok(f) => loaded.push((p, f)),
                Err(e) => {
                    failed = Some(e.to_string());
                    break;
                }
            }
        }
        match failed {
            Some(why) => {
                warnings.push(format!("{}: drawn in place of its children: {why}", path.display()));
                out.push((path, file));
            }
            None => stack.extend(loaded.into_iter().map(|(p, f)| (p, Some(f), level + 1))),
        }
    }
    Ok(out)
}

/// The matrix that places a streamed dataset: dataset coordinates
/// (`SRSOrigin` added) → ECEF (see `urbis_tiles::osgb`).
///
/// - `ENU:lat,lon`: the ENU → ECEF matrix at that point: exact.
/// - `EPSG:n`: a local affine map fitted through PROJ around the dataset's
///   `centre`: its linear part from central differences over ±`radius`
///   along each axis (the chords of the extent, not the tangent at the
///   centre), its offset so that the centre maps exactly. A projected CRS
///   bends little over a city: for transverse Mercator the error grows as
///   the square of the distance from the centre (the scale factor changes
///   by ~(x/R)²/2 and the grid turns against meridians), a few millimetres
///   over a kilometre; `tests/osgb_streaming.rs` measures it on its dataset.
/// - No metadata: local metres with `anchor` at the city origin (`None`
///   then: the caller places the tree like a tileset at the Earth's centre).
pub(crate) fn dataset_to_ecef(
    meta: Option<&OsgbMetadata>,
    centre: DVec3,
    radius: f64,
    path: &str,
) -> Result<Option<glam::DMat4>, LoadError> {
    let Some(meta) = meta else { return Ok(None) };
    match meta.srs {
        Srs::Enu { latitude, longitude } => {
            Ok(Some(CityFrame::new(Geodetic::new(longitude, latitude, 0.0)).enu_to_ecef_matrix()))
        }
        Srs::Epsg { code, .. } => {
            let crs = |source| LoadError::Crs { path: path.to_string(), source };
            let t = urbis_geo::CrsTransform::new(urbis_geo::Epsg(code), urbis_geo::Epsg::ECEF).map_err(crs)?;
            let h = radius.max(1.0);
            let at = |p: DVec3| t.transform(p).map_err(crs);
            let mut cols = [DVec3::ZERO; 3];
            for (k, axis) in [DVec3::X, DVec3::Y, DVec3::Z].into_iter().enumerate() {
                cols[k] = (at(centre + axis * h)? - at(centre - axis * h)?) / (2.0 * h);
            }
            let linear = glam::DMat3::from_cols(cols[0], cols[1], cols[2]);
            let offset = at(centre)? - linear * centre;
            Ok(Some(glam::DMat4::from_mat3_translation(linear, offset)))
        }
        Srs::Wkt(_) => Err(FormatError::Unsupported {
            path: path.to_string(),
            what: "an SRS given as WKT (give it as EPSG:code or ENU:lat,lon)".into(),
        }
        .into()),
    }
}
