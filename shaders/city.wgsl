// City surfaces: the main pass. Writes lit linear colour and the feature
// index of every pixel (for picking and outlines).
//
// Positions arrive as f32 offsets from a chunk origin; the chunk matrix
// moves them to camera-relative world coordinates (computed in f64 on the
// CPU), so no large coordinate ever reaches the GPU.

// The section (urbis_render::section): the kept region is the
// intersection of `count` slabs; slab i keeps points p (camera-relative)
// with lo[i] <= axes[i].w + dot(axes[i].xyz, p) <= hi[i].
struct Section {
    count: vec4<f32>,            // x: number of slabs (0: no section)
    axes: array<vec4<f32>, 3>,   // xyz: unit axis (world); w: the camera's coordinate along it
    lo: vec4<f32>,
    hi: vec4<f32>,
    cap: vec4<f32>,              // rgb: cap colour (linear)
};

struct Frame {
    view_proj: mat4x4<f32>,      // projection × view rotation; the camera sits at the origin
    inv_view_proj: mat4x4<f32>,
    sun_dir: vec4<f32>,          // xyz: towards the sun (world); w: sun intensity
    up: vec4<f32>,               // xyz: local vertical at the camera; w: camera height over the ground plain (0 = none)
    sky_zenith: vec4<f32>,
    sky_horizon: vec4<f32>,
    fog: vec4<f32>,              // x: density per metre; y: output needs manual sRGB encoding (1) or not (0); z: space; w: any feature selected
    viewport: vec4<f32>,         // width, height, 1/width, 1/height
    shadow_view_proj: mat4x4<f32>, // camera-relative world → sun's clip space
    shadow: vec4<f32>,           // x: enabled (1/0), y: map texel size (uv), z: normal offset (m), w: strength
    section: Section,
};

struct Chunk {
    model: mat4x4<f32>,          // chunk-local → camera-relative world
};

struct FeatureStyle {
    color: vec4<f32>,            // rgb override (linear); a = blend weight (0 = none)
    flags: vec4<u32>,            // x: bit 0 hidden, bit 1 highlighted, bit 2 selected
    extrude: vec4<f32>,          // x: vertical scale - 1 (0 = as modelled); y: base height (chunk z); z: transparency (1 - opacity)
};

// Live extrusion: scales a chunk-local point vertically about the feature's base.
fn extruded(p: vec3<f32>, style: FeatureStyle) -> vec3<f32> {
    let base = style.extrude.y;
    return vec3<f32>(p.xy, base + (p.z - base) * (1.0 + style.extrude.x));
}

// A chunk-local point of a surface, extruded, in camera-relative world
// coordinates, pressed down by the flattening polygons if the surface is flattened.
fn surface_world(p: vec3<f32>, style: FeatureStyle) -> vec3<f32> {
    return flattened((chunk.model * vec4<f32>(extruded(p, style), 1.0)).xyz, style.flags.x);
}

@group(0) @binding(0) var<uniform> frame: Frame;
@group(0) @binding(1) var<storage, read> packed_styles: array<PackedStyle>;
// Styles are stored packed (24 bytes, so that millions of features fit one
// storage binding): colour as four f16, the flags, transparency as f16,
// and the extrusion's scale − 1 and base height as f32 bits.
struct PackedStyle {
    color: vec2<u32>,
    flags_transparency: vec2<u32>,
    extrude: vec2<u32>,
};

fn feature_style(i: u32) -> FeatureStyle {
    let p = packed_styles[i];
    var s: FeatureStyle;
    s.color = vec4<f32>(unpack2x16float(p.color.x), unpack2x16float(p.color.y));
    s.flags = vec4<u32>(p.flags_transparency.x, 0u, 0u, 0u);
    s.extrude = vec4<f32>(bitcast<f32>(p.extrude.x), bitcast<f32>(p.extrude.y), unpack2x16float(p.flags_transparency.y).x, 0.0);
    return s;
}

@group(0) @binding(2) var shadow_map: texture_depth_2d;
@group(0) @binding(3) var shadow_sampler: sampler_comparison;
// Flattening (urbis_render::flatten): polygons binned on a grid as the
// classification volumes are, packed in one array of 16-byte words: the
// cells (first entry, entry count; two to a word), then the entries (two
// words each: feature, inside, first edge, edge count; then height, height,
// reference point as f32 bits), then the edges (a.xy, b.xy as f32 bits).
struct Flatten {
    from_world: mat4x4<f32>,     // camera-relative world → the polygons' local frame
    grid: vec4<f32>,             // min x, min y, cell size, unused
    dims: vec4<u32>,             // cells along x and y, enabled (1/0), unused
    at: vec4<u32>,               // word offsets of the entries and of the edges
};
@group(0) @binding(4) var<uniform> flatten_u: Flatten;
@group(0) @binding(5) var<storage, read> flatten_words: array<vec4<u32>>;
@group(1) @binding(0) var<uniform> chunk: Chunk;
// The draw's base-colour texture (1×1 white for untextured draws).
@group(2) @binding(0) var base_texture: texture_2d<f32>;
@group(2) @binding(1) var base_sampler: sampler;

const MATERIAL_PLAIN: u32 = 0u;
const MATERIAL_FACADE: u32 = 1u;
const MATERIAL_ROOF: u32 = 2u;
const MATERIAL_TERRAIN: u32 = 3u;
const MATERIAL_WATER: u32 = 4u;
const MATERIAL_FOLIAGE: u32 = 5u;
const MATERIAL_ROAD: u32 = 6u;
const MATERIAL_TEXTURED: u32 = 7u;

// Pipeline constants (urbis_render::specialise): what a pipeline compiles
// in. A CPU rasteriser runs both sides of every branch for every fragment,
// so whatever a frame or a batch does not use would still cost each of its
// fragments (or vertices) unless left out.
// The procedural materials (façade, water, foliage, road).
override PROCEDURAL_MATERIALS: bool = true;
// The batch's base-colour texture (without it, textured surfaces take white).
override TEXTURED: bool = true;
// Classification by volumes (off when the frame has none).
override CLASSIFICATION: bool = true;
// Flattening by polygons (off when the frame has none).
override FLATTENING: bool = true;
// The highlight tint (off while no feature is highlighted).
override HIGHLIGHT: bool = true;

const FLAG_HIDDEN: u32 = 1u;
const FLAG_HIGHLIGHTED: u32 = 2u;
const FLAG_SELECTED: u32 = 4u;
// The surface is classified by the volumes of group 3 (photo meshes).
const FLAG_CLASSIFIED: u32 = 8u;
// The surface is pressed down by the flattening polygons (photo meshes, tilesets).
const FLAG_FLATTEN: u32 = 16u;

// Classification volumes (urbis_render::classify): footprint prisms binned
// on a uniform grid in a local frame.
struct Classify {
    from_world: mat4x4<f32>,     // camera-relative world → the grid's local frame
    grid: vec4<f32>,             // min x, min y, cell size, wall reach (m)
    dims: vec4<u32>,             // cells along x and y, enabled
    heights: vec4<f32>,          // margin below the base, above the top, steep cosine
};

struct ClassEntry {
    feature: u32,
    inside: u32,                 // the cell's reference point is inside the polygon
    first_edge: u32,
    edge_count: u32,
    base: f32,
    top: f32,
    reference: vec2<f32>,
};

@group(3) @binding(0) var<uniform> classify_u: Classify;
@group(3) @binding(1) var<storage, read> class_cells: array<vec2<u32>>;
@group(3) @binding(2) var<storage, read> class_entries: array<ClassEntry>;
@group(3) @binding(3) var<storage, read> class_edges: array<vec4<f32>>;

fn orient(a: vec2<f32>, b: vec2<f32>, c: vec2<f32>) -> f32 {
    let ab = b - a;
    let ac = c - a;
    return ab.x * ac.y - ab.y * ac.x;
}

// The feature whose volume holds a point (camera-relative world) of a
// surface with normal `normal`, or 0. Even-odd crossings of the segment
// from the cell's reference point to the point, per polygon near the cell;
// steep surfaces also go to the nearest polygon edge within the wall reach.
fn classify(world: vec3<f32>, normal: vec3<f32>) -> u32 {
    let dims = classify_u.dims;
    if dims.z == 0u {
        return 0u;
    }
    let p = (classify_u.from_world * vec4<f32>(world, 1.0)).xyz;
    let g = (p.xy - classify_u.grid.xy) / classify_u.grid.z;
    if g.x < 0.0 || g.y < 0.0 || g.x >= f32(dims.x) || g.y >= f32(dims.y) {
        return 0u;
    }
    let cell = class_cells[min(u32(g.y), dims.y - 1u) * dims.x + min(u32(g.x), dims.x - 1u)];
    let n = (classify_u.from_world * vec4<f32>(normal, 0.0)).xyz;
    let steep = abs(n.z) < classify_u.heights.z * length(n);
    var near = 0u;
    var near_d = classify_u.grid.w;
    for (var i = cell.x; i < cell.x + cell.y; i = i + 1u) {
        let e = class_entries[i];
        if p.z < e.base - classify_u.heights.x || p.z > e.top + classify_u.heights.y {
            continue;
        }
        var inside = e.inside != 0u;
        var d = 1e30;
        for (var k = e.first_edge; k < e.first_edge + e.edge_count; k = k + 1u) {
            let edge = class_edges[k];
            let a = edge.xy;
            let b = edge.zw;
            let r = e.reference;
            if ((orient(a, b, r) > 0.0) != (orient(a, b, p.xy) > 0.0)) && ((orient(r, p.xy, a) > 0.0) != (orient(r, p.xy, b) > 0.0)) {
                inside = !inside;
            }
            if steep {
                let ab = b - a;
                let t = clamp(dot(p.xy - a, ab) / max(dot(ab, ab), 1e-12), 0.0, 1.0);
                d = min(d, length(p.xy - a - ab * t));
            }
        }
        if inside {
            return e.feature;
        }
        if steep && d < near_d {
            near_d = d;
            near = e.feature;
        }
    }
    return near;
}

// A camera-relative point of a surface with style flags `flags`, its
// height in the polygons' frame clamped to the lowest flattening polygon
// holding its plan point (the even-odd test of `classify`, per vertex).
fn flattened(world: vec3<f32>, flags: u32) -> vec3<f32> {
    let dims = flatten_u.dims;
    if !FLATTENING || dims.z == 0u || (flags & FLAG_FLATTEN) == 0u {
        return world;
    }
    let p = (flatten_u.from_world * vec4<f32>(world, 1.0)).xyz;
    let g = (p.xy - flatten_u.grid.xy) / flatten_u.grid.z;
    if g.x < 0.0 || g.y < 0.0 || g.x >= f32(dims.x) || g.y >= f32(dims.y) {
        return world;
    }
    let c = min(u32(g.y), dims.y - 1u) * dims.x + min(u32(g.x), dims.x - 1u);
    let pair = flatten_words[c / 2u];
    let cell = select(pair.xy, pair.zw, (c & 1u) == 1u);
    var h = p.z;
    for (var i = cell.x; i < cell.x + cell.y; i = i + 1u) {
        let e = flatten_words[flatten_u.at.x + 2u * i];
        let f = bitcast<vec4<f32>>(flatten_words[flatten_u.at.x + 2u * i + 1u]);
        if f.x >= h {
            continue; // would not press it lower
        }
        var inside = e.y != 0u;
        let r = f.zw;
        for (var k = e.z; k < e.z + e.w; k = k + 1u) {
            let edge = bitcast<vec4<f32>>(flatten_words[flatten_u.at.y + k]);
            let a = edge.xy;
            let b = edge.zw;
            if ((orient(a, b, r) > 0.0) != (orient(a, b, p.xy) > 0.0)) && ((orient(r, p.xy, a) > 0.0) != (orient(r, p.xy, b) > 0.0)) {
                inside = !inside;
            }
        }
        if inside {
            h = f.x;
        }
    }
    if h >= p.z {
        return world;
    }
    // The frame's up axis in world: the third row of its rotation.
    let up = vec3<f32>(flatten_u.from_world[0].z, flatten_u.from_world[1].z, flatten_u.from_world[2].z);
    return world + up * (h - p.z);
}

struct VertexIn {
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) uv: vec2<f32>,
    @location(3) color: vec4<f32>,
    @location(4) feature: u32,
    @location(5) material: u32,
};

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) world: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) uv: vec2<f32>,
    @location(3) color: vec3<f32>,
    @location(4) @interpolate(flat) feature: u32,
    @location(5) @interpolate(flat) material: u32,
};

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let lo = c / 12.92;
    let hi = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(hi, lo, c <= vec3<f32>(0.04045));
}

// Shared by the plain and instanced entry points: `position` and `normal`
// are in chunk coordinates.
fn city_vertex(position: vec3<f32>, normal: vec3<f32>, uv: vec2<f32>, color: vec4<f32>, feature: u32, material: u32) -> VertexOut {
    var out: VertexOut;
    let style = feature_style(feature);
    let world = surface_world(position, style);
    out.world = world;
    out.clip = frame.view_proj * vec4<f32>(world, 1.0);
    if (style.flags.x & FLAG_HIDDEN) != 0u {
        out.clip = vec4<f32>(0.0, 0.0, -2.0, 1.0); // outside the clip volume
    }
    out.normal = (chunk.model * vec4<f32>(normal, 0.0)).xyz;
    out.uv = uv;
    var base = srgb_to_linear(color.rgb);
    base = mix(base, style.color.rgb, style.color.a);
    out.color = base;
    out.feature = feature;
    out.material = material;
    return out;
}

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
    return city_vertex(v.position, v.normal, v.uv, v.color, v.feature, v.material);
}

// An instance of a shared mesh: a 3×4 affine map into chunk coordinates and its own feature.
struct InstanceIn {
    @location(6) row0: vec4<f32>,
    @location(7) row1: vec4<f32>,
    @location(8) row2: vec4<f32>,
    @location(9) feature: u32,
};

fn instance_point(i: InstanceIn, p: vec3<f32>) -> vec3<f32> {
    return vec3<f32>(dot(i.row0.xyz, p) + i.row0.w, dot(i.row1.xyz, p) + i.row1.w, dot(i.row2.xyz, p) + i.row2.w);
}

fn instance_normal(i: InstanceIn, n: vec3<f32>) -> vec3<f32> {
    // Exact for rotations and uniform scale; instances are near-conformal.
    return normalize(vec3<f32>(dot(i.row0.xyz, n), dot(i.row1.xyz, n), dot(i.row2.xyz, n)));
}

// Façades of unit templates (building fields): `uv` comes from the
// template position scaled by the instance, metres along the wall and up,
// per 3 m bay and storey.
const MATERIAL_FACADE_UNIT: u32 = 8u;
const BAY_STOREY_M: f32 = 3.0;

@vertex
fn vs_instanced(v: VertexIn, i: InstanceIn) -> VertexOut {
    var uv = v.uv;
    var material = v.material;
    if material == MATERIAL_FACADE_UNIT {
        let sx = length(vec3<f32>(i.row0.x, i.row1.x, i.row2.x));
        let sy = length(vec3<f32>(i.row0.y, i.row1.y, i.row2.y));
        let sz = length(vec3<f32>(i.row0.z, i.row1.z, i.row2.z));
        let along = select(v.position.x * sx, v.position.y * sy, abs(v.normal.x) > abs(v.normal.y));
        uv = vec2<f32>(along, v.position.z * sz) / BAY_STOREY_M;
        material = MATERIAL_FACADE;
    }
    return city_vertex(instance_point(i, v.position), instance_normal(i, v.normal), uv, v.color, i.feature, material);
}

// Depth-only pass from the sun.
fn shadow_vertex(position: vec3<f32>, feature: u32) -> vec4<f32> {
    let style = feature_style(feature);
    if (style.flags.x & FLAG_HIDDEN) != 0u {
        return vec4<f32>(0.0, 0.0, -2.0, 1.0);
    }
    let world = surface_world(position, style);
    return frame.shadow_view_proj * vec4<f32>(world, 1.0);
}

@vertex
fn vs_shadow(v: VertexIn) -> @builtin(position) vec4<f32> {
    return shadow_vertex(v.position, v.feature);
}

@vertex
fn vs_shadow_instanced(v: VertexIn, i: InstanceIn) -> @builtin(position) vec4<f32> {
    return shadow_vertex(instance_point(i, v.position), i.feature);
}

// Fraction of sunlight reaching a point (1 = lit), 3×3 PCF (in four taps).
fn sunlight(world: vec3<f32>, n: vec3<f32>) -> f32 {
    if frame.shadow.x < 0.5 {
        return 1.0;
    }
    let p = frame.shadow_view_proj * vec4<f32>(world + n * frame.shadow.z, 1.0);
    let ndc = p.xyz / p.w;
    let uv = vec2<f32>(ndc.x * 0.5 + 0.5, 0.5 - ndc.y * 0.5);
    if any(uv < vec2<f32>(0.0)) || any(uv > vec2<f32>(1.0)) || ndc.z > 1.0 {
        return 1.0;
    }
    // Nine bilinear comparisons one texel apart (a 3 × 3 grid) weigh the
    // 4 × 4 texels around the point (1 − f, 1, 1, f) along each axis, f being
    // the point's fraction between texel centres. Four gathers of 2 × 2
    // comparisons (x: (−, +), y: (+, +), z: (+, −), w: (−, −) of each
    // square) with those weights make the same filter.
    let texel = frame.shadow.y;
    let t = uv / texel - 0.5;
    let i = floor(t);
    let f = t - i;
    let e = 1.0 - f;
    // Gathers at the texel corners i, i + 2 (in texel units) along each axis.
    let c0 = i * texel;
    let c2 = (i + 2.0) * texel;
    let a = textureGatherCompare(shadow_map, shadow_sampler, c0, ndc.z);
    let b = textureGatherCompare(shadow_map, shadow_sampler, vec2<f32>(c2.x, c0.y), ndc.z);
    let c = textureGatherCompare(shadow_map, shadow_sampler, vec2<f32>(c0.x, c2.y), ndc.z);
    let d = textureGatherCompare(shadow_map, shadow_sampler, c2, ndc.z);
    var lit = dot(a, vec4<f32>(e.x, 1.0, e.y, e.x * e.y));
    lit = lit + dot(b, vec4<f32>(1.0, f.x, f.x * e.y, e.y));
    lit = lit + dot(c, vec4<f32>(e.x * f.y, f.y, 1.0, e.x));
    lit = lit + dot(d, vec4<f32>(f.y, f.x * f.y, f.x, 1.0));
    return mix(1.0, lit / 9.0, frame.shadow.w);
}

struct FragmentOut {
    @location(0) color: vec4<f32>,
    @location(1) feature: u32,
};

fn sky_color(dir: vec3<f32>) -> vec3<f32> {
    let h = dot(dir, frame.up.xyz);
    return mix(frame.sky_horizon.rgb, frame.sky_zenith.rgb, sqrt(clamp(h, 0.0, 1.0)));
}

// Coverage of a box [lo, hi] in the unit cell, filtered by the pixel footprint
// so that distant façades fade to the average instead of shimmering.
fn window_mask(uv: vec2<f32>) -> f32 {
    let cell = fract(uv);
    let w = max(fwidth(uv), vec2<f32>(1e-4));
    let ex = smoothstep(0.18 - w.x, 0.18 + w.x, cell.x) - smoothstep(0.82 - w.x, 0.82 + w.x, cell.x);
    let ey = smoothstep(0.30 - w.y, 0.30 + w.y, cell.y) - smoothstep(0.80 - w.y, 0.80 + w.y, cell.y);
    let sharp = clamp(ex, 0.0, 1.0) * clamp(ey, 0.0, 1.0);
    let average = 0.64 * 0.5;
    let blur = clamp(max(w.x, w.y) * 2.0 - 0.5, 0.0, 1.0);
    return mix(sharp, average, blur);
}

fn hash21(p: vec2<f32>) -> f32 {
    return fract(sin(dot(p, vec2<f32>(127.1, 311.7))) * 43758.5453);
}

@fragment
fn fs_main(in: VertexOut) -> FragmentOut {
    return city_shade(in);
}

// The lit surface: colour and feature (classified surfaces take the volume's).
fn city_shade(in: VertexOut) -> FragmentOut {
    // Sampled up front, in uniform control flow; used by textured surfaces.
    var texel = vec4<f32>(1.0);
    if TEXTURED {
        texel = textureSample(base_texture, base_sampler, in.uv);
    }
    let to_eye = normalize(-in.world);
    var n = normalize(in.normal);
    // Sources do not agree on winding: light the side that faces the viewer.
    if dot(n, to_eye) < 0.0 {
        n = -n;
    }
    let up = frame.up.xyz;
    let sun = frame.sun_dir.xyz;
    let ndl = max(dot(n, sun), 0.0);
    let hemi = dot(n, up) * 0.5 + 0.5;
    let sky_ambient = frame.sky_zenith.rgb * 0.5 + vec3<f32>(0.06, 0.07, 0.08);
    let ground_bounce = vec3<f32>(0.10, 0.10, 0.09);
    var ambient = mix(ground_bounce, sky_ambient, hemi);
    let sun_light = vec3<f32>(1.0, 0.96, 0.88) * frame.sun_dir.w;

    var base = in.color;
    // Classified surfaces (photo meshes) take the feature, and its style, of the volume they are in.
    var feature = in.feature;
    if CLASSIFICATION && (feature_style(in.feature).flags.x & FLAG_CLASSIFIED) != 0u {
        let hit = classify(in.world, in.normal);
        if hit != 0u && (feature_style(hit).flags.x & FLAG_HIDDEN) == 0u {
            feature = hit;
            let s = feature_style(hit);
            base = mix(base, s.color.rgb, s.color.a);
        }
    }
    var specular = vec3<f32>(0.0);
    var occlusion = 1.0;

    if PROCEDURAL_MATERIALS {
        switch in.material {
            case MATERIAL_FACADE: {
                // Windows per bay and storey; the ground storey is darker glazing.
                let m = window_mask(in.uv);
                let glass = mix(vec3<f32>(0.05, 0.07, 0.09), sky_color(reflect(-to_eye, n)) * 0.45, 0.5);
                let lit = hash21(floor(in.uv) + vec2<f32>(f32(in.feature % 97u), 0.0)) > 0.93;
                let window = select(glass, vec3<f32>(0.55, 0.48, 0.32), lit);
                base = mix(base, window, m * 0.85);
                // Contact darkening at the foot of walls (soft ambient occlusion).
                occlusion = mix(0.55, 1.0, smoothstep(0.0, 1.0, in.uv.y));
            }
            case MATERIAL_WATER: {
                let r = reflect(-to_eye, n);
                let fresnel = 0.04 + 0.96 * pow(1.0 - max(dot(n, to_eye), 0.0), 5.0);
                base = mix(base, sky_color(r), fresnel * 0.8);
                let h = normalize(sun + to_eye);
                specular = sun_light * pow(max(dot(n, h), 0.0), 180.0) * 2.0;
                ambient = ambient * 0.8;
            }
            case MATERIAL_FOLIAGE: {
                // Wrapped diffuse and a little speckle so canopies read as volumes.
                let speckle = 0.85 + 0.3 * hash21(floor(in.world.xy * 1.5));
                base = base * speckle;
            }
            case MATERIAL_TEXTURED: {
                base = base * texel.rgb;
            }
            case MATERIAL_ROAD: {
                let speckle = 0.94 + 0.12 * hash21(floor(in.uv * 2.0));
                base = base * speckle;
            }
            default: {}
        }
    } else if in.material == MATERIAL_TEXTURED {
        base = base * texel.rgb;
    }

    let shadowed = select(1.0, sunlight(in.world, n), ndl > 0.0);
    let diffuse = base * (ambient * occlusion + sun_light * ndl * shadowed);
    specular = specular * shadowed;
    var color = diffuse + specular;

    if HIGHLIGHT && (feature_style(feature).flags.x & FLAG_HIGHLIGHTED) != 0u {
        color = mix(color, vec3<f32>(1.0, 0.78, 0.2), 0.45);
    }

    // Aerial perspective.
    let d = length(in.world);
    let fog = 1.0 - exp(-d * frame.fog.x);
    color = mix(color, frame.sky_horizon.rgb, fog);

    var out: FragmentOut;
    out.color = vec4<f32>(color, 1.0);
    out.feature = feature;
    return out;
}

// Points (point clouds): each instance is one point, drawn as a square of
// `POINT_SIZE` pixels facing the camera.
const POINT_SIZE: f32 = 3.0;

struct PointIn {
    @location(0) position: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) color: vec4<f32>,
    @location(3) feature: u32,
};

struct PointOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) world: vec3<f32>,
    @location(1) color: vec3<f32>,
    @location(2) @interpolate(flat) feature: u32,
    @location(3) normal: vec3<f32>,
};

@vertex
fn vs_point(@builtin(vertex_index) corner: u32, p: PointIn) -> PointOut {
    var out: PointOut;
    let style = feature_style(p.feature);
    let world = (chunk.model * vec4<f32>(p.position, 1.0)).xyz;
    var clip = frame.view_proj * vec4<f32>(world, 1.0);
    let offsets = array<vec2<f32>, 6>(vec2(-1.0, -1.0), vec2(1.0, -1.0), vec2(1.0, 1.0), vec2(-1.0, -1.0), vec2(1.0, 1.0), vec2(-1.0, 1.0));
    clip = vec4<f32>(clip.xy + offsets[corner % 6u] * POINT_SIZE * frame.viewport.zw * clip.w, clip.zw);
    if (style.flags.x & FLAG_HIDDEN) != 0u {
        clip = vec4<f32>(0.0, 0.0, -2.0, 1.0);
    }
    out.clip = clip;
    out.world = world;
    out.color = mix(srgb_to_linear(p.color.rgb), style.color.rgb, style.color.a);
    out.feature = p.feature;
    out.normal = (chunk.model * vec4<f32>(p.normal, 0.0)).xyz;
    return out;
}

@fragment
fn fs_point(in: PointOut) -> FragmentOut {
    return point_shade(in);
}

fn point_shade(in: PointOut) -> FragmentOut {
    // Points carry their own (often scanned) colour: lit softly, hazed with distance.
    let n = normalize(in.normal + vec3<f32>(1e-6));
    let light = 0.75 + 0.35 * max(dot(n, frame.sun_dir.xyz), 0.0);
    var color = in.color * light;
    let style = feature_style(in.feature);
    if (style.flags.x & FLAG_HIGHLIGHTED) != 0u {
        color = mix(color, vec3<f32>(1.0, 0.78, 0.2), 0.45);
    }
    let fog = 1.0 - exp(-length(in.world) * frame.fog.x);
    var out: FragmentOut;
    out.color = vec4<f32>(mix(color, frame.sky_horizon.rgb, fog), 1.0);
    out.feature = in.feature;
    return out;
}

// ---------------------------------------------------------------------------
// Sections (see urbis_render::section): used only while a section is set.

// Whether the section keeps a camera-relative point.
fn section_keeps(p: vec3<f32>) -> bool {
    for (var i = 0u; i < u32(frame.section.count.x); i = i + 1u) {
        let a = frame.section.axes[i];
        let c = a.w + dot(a.xyz, p);
        if c < frame.section.lo[i] || c > frame.section.hi[i] {
            return false;
        }
    }
    return true;
}

// The part of a view ray (unit direction `dir` from the camera at 0) inside
// the kept region, in metres from the camera, and the outward normal of the
// face where it enters. near > far: the ray misses the region.
struct SectionRay {
    near: f32,
    far: f32,
    normal: vec3<f32>,
};

fn section_ray(dir: vec3<f32>) -> SectionRay {
    var r: SectionRay;
    r.near = -1e30;
    r.far = 1e30;
    r.normal = vec3<f32>(0.0);
    for (var i = 0u; i < u32(frame.section.count.x); i = i + 1u) {
        let a = frame.section.axes[i];
        let lo = frame.section.lo[i];
        let hi = frame.section.hi[i];
        let d = dot(a.xyz, dir);
        if abs(d) < 1e-9 {
            if a.w < lo || a.w > hi {
                r.near = 1e30;
                r.far = -1e30;
            }
            continue;
        }
        let t0 = (lo - a.w) / d;
        let t1 = (hi - a.w) / d;
        let enter = min(t0, t1);
        if enter > r.near {
            r.near = enter;
            r.normal = -sign(d) * a.xyz;
        }
        r.far = min(r.far, max(t0, t1));
    }
    return r;
}

// The view ray through a pixel centre (framebuffer coordinates): the same
// for every fragment of the pixel, so they all agree on where it enters and
// leaves the region.
fn pixel_ray(frag: vec2<f32>) -> vec3<f32> {
    let ndc = vec2<f32>(frag.x * frame.viewport.z * 2.0 - 1.0, 1.0 - frag.y * frame.viewport.w * 2.0);
    let q = frame.inv_view_proj * vec4<f32>(ndc, 1.0, 1.0);
    return normalize(q.xyz / q.w);
}

// A cap point: the cap colour, softly lit with the cut face's normal (flat
// enough to stay saturated through tone mapping, shaded enough to tell the
// faces of a box apart), shadowed by what the section keeps.
fn cap_shade(q: vec3<f32>, n: vec3<f32>, feature: u32) -> vec3<f32> {
    let ndl = max(dot(n, frame.sun_dir.xyz), 0.0);
    let hemi = dot(n, frame.up.xyz) * 0.5 + 0.5;
    let shadowed = select(1.0, sunlight(q, n), ndl > 0.0);
    let light = 0.45 + 0.2 * hemi + 0.2 * frame.sun_dir.w * ndl * shadowed;
    var color = frame.section.cap.rgb * light;
    if (feature_style(feature).flags.x & FLAG_HIGHLIGHTED) != 0u {
        color = mix(color, vec3<f32>(1.0, 0.78, 0.2), 0.45);
    }
    let fog = 1.0 - exp(-length(q) * frame.fog.x);
    return mix(color, frame.sky_horizon.rgb, fog);
}

@fragment
fn fs_section(in: VertexOut, @builtin(front_facing) front: bool) -> FragmentOut {
    return section_shade(in, front);
}

// The surface under a section: discarded, capped, "nothing" or as without one.
fn section_shade(in: VertexOut, front: bool) -> FragmentOut {
    // Shaded first, in uniform control flow (texture sampling, derivatives).
    var out = city_shade(in);
    let dir = pixel_ray(in.clip.xy);
    let r = section_ray(dir);
    let at = dot(in.world, dir);
    if r.near > r.far || at < r.near {
        discard; // the ray misses the region, or this lies before it
    }
    // Back faces by winding and by normal (sources disagree on winding: a
    // face seen from outside with either saying "front" is not a cap).
    let back = !front && dot(in.normal, in.world) > 0.0;
    if back && r.near > 0.0 {
        // The ray entered the region inside this solid: the cap, at the entry point.
        out.color = vec4<f32>(cap_shade(dir * r.near, r.normal, out.feature), 1.0);
    } else if at > r.far {
        // Past the region: nothing (sky), but occluding, so that the back
        // faces behind it do not pass for caps.
        out.color = vec4<f32>(0.0);
        out.feature = 0u;
    }
    return out;
}

@fragment
fn fs_point_section(in: PointOut) -> FragmentOut {
    let out = point_shade(in);
    if !section_keeps(in.world) {
        discard;
    }
    return out;
}

// The shadow pass under a section: cut-away geometry casts no shadow.
struct ShadowSectionOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) world: vec3<f32>,
};

fn shadow_section_vertex(position: vec3<f32>, feature: u32) -> ShadowSectionOut {
    var out: ShadowSectionOut;
    out.clip = shadow_vertex(position, feature);
    out.world = surface_world(position, feature_style(feature));
    return out;
}

@vertex
fn vs_shadow_section(v: VertexIn) -> ShadowSectionOut {
    return shadow_section_vertex(v.position, v.feature);
}

@vertex
fn vs_shadow_section_instanced(v: VertexIn, i: InstanceIn) -> ShadowSectionOut {
    return shadow_section_vertex(instance_point(i, v.position), i.feature);
}

@fragment
fn fs_shadow_section(in: ShadowSectionOut) {
    if !section_keeps(in.world) {
        discard;
    }
}

// ---------------------------------------------------------------------------
// See-through features (see urbis_render::transparency): used only while
// some feature has a transparency. The opaque pass skips them; a second,
// blended pass draws only them, with premultiplied alpha = opacity.

fn see_through(feature: u32) -> bool {
    return feature_style(feature).extrude.z > 0.0;
}

@fragment
fn fs_opaque(in: VertexOut) -> FragmentOut {
    let out = city_shade(in);
    if see_through(in.feature) {
        discard;
    }
    return out;
}

@fragment
fn fs_section_opaque(in: VertexOut, @builtin(front_facing) front: bool) -> FragmentOut {
    let out = section_shade(in, front);
    if see_through(in.feature) {
        discard;
    }
    return out;
}

@fragment
fn fs_point_opaque(in: PointOut) -> FragmentOut {
    let out = point_shade(in);
    if see_through(in.feature) {
        discard;
    }
    return out;
}

@fragment
fn fs_point_section_opaque(in: PointOut) -> FragmentOut {
    let out = point_shade(in);
    if see_through(in.feature) || !section_keeps(in.world) {
        discard;
    }
    return out;
}

// A see-through surface's near faces (back faces, by winding and by normal,
// are skipped: a see-through solid shows its near side once), clipped by
// the section if any; the feature id is not written (empty write mask).
@fragment
fn fs_transparent(in: VertexOut, @builtin(front_facing) front: bool) -> FragmentOut {
    var out = city_shade(in);
    let back = !front && dot(in.normal, in.world) > 0.0;
    if !see_through(in.feature) || back || !section_keeps(in.world) {
        discard;
    }
    let a = 1.0 - feature_style(in.feature).extrude.z;
    out.color = vec4<f32>(out.color.rgb * a, a);
    return out;
}

@fragment
fn fs_point_transparent(in: PointOut) -> FragmentOut {
    var out = point_shade(in);
    if !see_through(in.feature) || !section_keeps(in.world) {
        discard;
    }
    let a = 1.0 - feature_style(in.feature).extrude.z;
    out.color = vec4<f32>(out.color.rgb * a, a);
    return out;
}
