// Composite: sky where nothing was drawn (or a section left nothing), under see-through
// surfaces, feature outlines, the selection outline, tone mapping, anti-aliasing if asked
// (FXAA over the tone-mapped colour: the `fs_antialias` entry point) and (if the target is
// not sRGB) encoding.

struct Frame {
    view_proj: mat4x4<f32>,
    inv_view_proj: mat4x4<f32>,
    sun_dir: vec4<f32>,
    up: vec4<f32>,
    sky_zenith: vec4<f32>,
    sky_horizon: vec4<f32>,
    fog: vec4<f32>,              // x: density per metre; y: manual sRGB encoding; z: how far out in space (0–1); w: any feature selected (1/0)
    viewport: vec4<f32>,
    shadow_view_proj: mat4x4<f32>,
    shadow: vec4<f32>,
};

struct FeatureStyle {
    color: vec4<f32>,
    flags: vec4<u32>,
    extrude: vec4<f32>,
};

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

@group(0) @binding(2) var color_tex: texture_2d<f32>;
@group(0) @binding(3) var id_tex: texture_2d<u32>;
@group(0) @binding(4) var depth_tex: texture_depth_2d;
// Nearest, clamped to the edge: gathers four feature ids at once.
@group(0) @binding(5) var id_sampler: sampler;

const FLAG_SELECTED: u32 = 4u;

// Whether the pipeline draws the selection outline (a pipeline constant:
// the renderer leaves it out while nothing is selected, since a CPU
// rasteriser runs its search for every pixel whatever a branch says).
override SELECTION: bool = true;
// Whether the shader encodes sRGB itself (a pipeline constant: the output is
// not an sRGB format). Also in `frame.fog.y`.
override ENCODE_SRGB: bool = true;

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
    let uv = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

fn sky(dir: vec3<f32>) -> vec3<f32> {
    let up = frame.up.xyz;
    let h = dot(dir, up);
    var c = mix(frame.sky_horizon.rgb, frame.sky_zenith.rgb, sqrt(clamp(h, 0.0, 1.0)));
    if h < 0.0 && frame.up.w > 0.0 {
        // Below the horizon: a plain at the ground height around the scene,
        // lit like terrain and fading into haze with distance.
        let t = frame.up.w / max(-h, 1e-4);
        let ndl = max(dot(up, frame.sun_dir.xyz), 0.0);
        let land = vec3<f32>(0.10, 0.16, 0.05) * (0.35 + frame.sun_dir.w * ndl * 0.8);
        c = mix(land, frame.sky_horizon.rgb, 1.0 - exp(-t * frame.fog.x * 1.5));
    } else if h < 0.0 {
        c = frame.sky_horizon.rgb * 0.8;
    }
    let s = max(dot(dir, frame.sun_dir.xyz), 0.0);
    // The sun's disc and glow, s^900 and s^12, by squaring (cheaper than pow).
    let s4 = (s * s) * (s * s);
    let s16 = (s4 * s4) * (s4 * s4);
    let s128 = ((s16 * s16) * (s16 * s16)) * ((s16 * s16) * (s16 * s16));
    let s256 = s128 * s128;
    let disc = (s256 * s256) * s256 * s128 * s4;
    c = c + vec3<f32>(1.0, 0.9, 0.7) * (disc * 8.0 + s4 * s4 * s4 * 0.25);
    // Out of the atmosphere (fog.z: 0 below 50 km, 1 from 550 km up) the
    // sky and its plain give way to dark space around the globe.
    return mix(c, vec3<f32>(0.004, 0.006, 0.012), frame.fog.z);
}

fn selected(id: u32) -> bool {
    return id != 0u && (feature_style(id).flags.x & FLAG_SELECTED) != 0u;
}

fn load_id(p: vec2<i32>) -> u32 {
    let size = vec2<i32>(textureDimensions(id_tex));
    return textureLoad(id_tex, clamp(p, vec2<i32>(0), size - 1), 0).x;
}

fn aces(x: vec3<f32>) -> vec3<f32> {
    let a = 2.51;
    let b = 0.03;
    let c = 2.43;
    let d = 0.59;
    let e = 0.14;
    return clamp((x * (a * x + b)) / (x * (c * x + d) + e), vec3<f32>(0.0), vec3<f32>(1.0));
}

fn linear_to_srgb(c: vec3<f32>) -> vec3<f32> {
    let lo = c * 12.92;
    let hi = 1.055 * pow(c, vec3<f32>(1.0 / 2.4)) - 0.055;
    return select(hi, lo, c <= vec3<f32>(0.0031308));
}

const FLAG_SEAMLESS: u32 = 32u;

// Whether the border between features `a` and `b` is outlined: not between
// two parts of one continuous surface (terrain tiles).
fn outlined_edge(a: u32, b: u32) -> bool {
    if a == b {
        return false;
    }
    let seamless = (feature_style(a).flags.x & FLAG_SEAMLESS) != 0u && b != 0u && (feature_style(b).flags.x & FLAG_SEAMLESS) != 0u;
    return !seamless;
}

// The sky (or ground plain) at pixel `p` behind whatever see-through
// surfaces left their premultiplied colour and coverage in `drawn`.
fn under_sky(p: vec2<i32>, drawn: vec4<f32>) -> vec3<f32> {
    let pos = vec2<f32>(p) + 0.5;
    let ndc = vec2<f32>(pos.x * frame.viewport.z * 2.0 - 1.0, 1.0 - pos.y * frame.viewport.w * 2.0);
    let q = frame.inv_view_proj * vec4<f32>(ndc, 1.0, 1.0);
    return drawn.rgb + sky(normalize(q.xyz / q.w)) * (1.0 - drawn.a);
}

// `color` of pixel `p`, darkened where the feature changes: edges read even
// in flat light. The pixel and its four neighbours (clamped into the frame)
// come from two gathers of 2 × 2 ids, one to the upper left and one to the
// lower right; gathers give (−, +), (+, +), (+, −), (−, −) of their square.
fn outlined(p: vec2<i32>, color: vec3<f32>) -> vec3<f32> {
    let size = vec2<f32>(textureDimensions(id_tex));
    let upper_left = textureGather(0, id_tex, id_sampler, vec2<f32>(p) / size);
    let lower_right = textureGather(0, id_tex, id_sampler, (vec2<f32>(p) + 1.0) / size);
    let id = upper_left.y;
    let edge = outlined_edge(id, lower_right.z) || outlined_edge(id, upper_left.x) || outlined_edge(id, lower_right.x)
        || outlined_edge(id, upper_left.z);
    if edge && id != 0u {
        return color * 0.72;
    }
    return color;
}

// Pixel `p` before the selection outline: what was drawn, or the sky behind
// it, darkened where the feature changes.
fn surface(p: vec2<i32>) -> vec3<f32> {
    let depth = textureLoad(depth_tex, p, 0);
    // Premultiplied colour and coverage: alpha 1 where an opaque surface was
    // drawn; otherwise that of the see-through surfaces blended over nothing
    // (0 where there are none, or where a section left nothing past the cut).
    let drawn = textureLoad(color_tex, p, 0);
    var color: vec3<f32>;
    if depth > 0.0 && drawn.a >= 1.0 {
        color = drawn.rgb;
    } else {
        color = under_sky(p, drawn);
    }
    // Where nothing opaque was drawn the feature id is 0: no outline.
    return outlined(p, color);
}

// Whether the selection outline, two pixels wide around the selected
// feature, covers pixel `p`.
fn selection_outline(p: vec2<i32>) -> bool {
    var near_selected = false;
    // Nothing selected anywhere: skip the 5 × 5 search.
    if SELECTION && frame.fog.w > 0.5 && !selected(load_id(p)) {
        for (var dy = -2; dy <= 2; dy = dy + 1) {
            for (var dx = -2; dx <= 2; dx = dx + 1) {
                if selected(load_id(p + vec2<i32>(dx, dy))) {
                    near_selected = true;
                }
            }
        }
    }
    return near_selected;
}

// The final colour (tone-mapped, linear, before any sRGB encoding).
fn finish(surface: vec3<f32>, outlined: bool) -> vec3<f32> {
    var color = surface;
    if outlined {
        color = vec3<f32>(4.0, 1.2, 0.1);
    }
    return aces(color * 0.9);
}

// The final colour of pixel `p`.
fn shade(p: vec2<i32>) -> vec3<f32> {
    return finish(surface(p), selection_outline(p));
}

// FXAA (after Lottes' FXAA 3.11, quality flavour) over the final colours:
// each neighbour looked at is shaded in full (the 3 × 3 around the pixel
// sharing one look at the selection), so outlines, the selection outline
// and the sky's silhouette are smoothed like the geometry.

// Local contrast below max(FXAA_EDGE_MIN, FXAA_EDGE * brightest) is left alone.
const FXAA_EDGE_MIN: f32 = 0.0312;
const FXAA_EDGE: f32 = 0.125;
// Weight of the sub-pixel blend (aliasing of features thinner than a pixel).
const FXAA_SUBPIX: f32 = 0.75;

fn luma(c: vec3<f32>) -> f32 {
    // Roughly perceptual (gamma 2), as FXAA's thresholds expect.
    return sqrt(dot(c, vec3<f32>(0.299, 0.587, 0.114)));
}

// `shade` of a pixel, clamped into the frame.
fn shade_in(p: vec2<i32>) -> vec3<f32> {
    let size = vec2<i32>(textureDimensions(color_tex));
    return shade(clamp(p, vec2<i32>(0), size - 1));
}

// The luma on the line between pixel `q` and its neighbour `q + across`.
fn edge_luma(q: vec2<i32>, across: vec2<i32>) -> f32 {
    return 0.5 * (luma(shade_in(q)) + luma(shade_in(q + across)));
}

// The selection outline over the 3 × 3 pixels around `p`, row by row, from
// one look at the 7 × 7 (rather than 5 × 5 for each): ORs over five columns,
// then over five rows.
fn selection_outline_3x3(p: vec2<i32>) -> array<bool, 9> {
    var out: array<bool, 9>;
    // Nothing selected anywhere: no outline, and no 7 × 7 look.
    if !SELECTION || frame.fog.w <= 0.5 {
        return out;
    }
    var sel: array<bool, 49>;
    for (var k = 0; k < 49; k = k + 1) {
        sel[k] = selected(load_id(p + vec2<i32>(k % 7 - 3, k / 7 - 3)));
    }
    var rows: array<bool, 21>;
    for (var k = 0; k < 21; k = k + 1) {
        let at = k / 3 * 7 + k % 3;
        rows[k] = sel[at] | sel[at + 1] | sel[at + 2] | sel[at + 3] | sel[at + 4];
    }
    for (var k = 0; k < 9; k = k + 1) {
        let at = k / 3 * 3 + k % 3;
        let near = rows[at] | rows[at + 3] | rows[at + 6] | rows[at + 9] | rows[at + 12];
        out[k] = near && !sel[(k / 3 + 2) * 7 + k % 3 + 2];
    }
    return out;
}

// The index of offset `d` in a 3 × 3 neighbourhood.
fn at3(d: vec2<i32>) -> i32 {
    return d.x + 1 + 3 * (d.y + 1);
}

// The final colour of the neighbour `p + d` (clamped into the frame), given its selection outline.
fn neighbour(p: vec2<i32>, d: vec2<i32>, outlined: bool) -> vec3<f32> {
    let size = vec2<i32>(textureDimensions(color_tex));
    return finish(surface(clamp(p + d, vec2<i32>(0), size - 1)), outlined);
}

// The final colour of pixel `p`, anti-aliased.
fn fxaa(p: vec2<i32>) -> vec3<f32> {
    // The 3 × 3 neighbourhood, indexed (dx + 1) + 3 (dy + 1).
    let outline = selection_outline_3x3(p);
    let m = finish(surface(p), outline[4]);
    let cn = neighbour(p, vec2<i32>(0, -1), outline[1]);
    let cs = neighbour(p, vec2<i32>(0, 1), outline[7]);
    let cw = neighbour(p, vec2<i32>(-1, 0), outline[3]);
    let ce = neighbour(p, vec2<i32>(1, 0), outline[5]);
    let lm = luma(m);
    let ln = luma(cn);
    let ls = luma(cs);
    let lw = luma(cw);
    let le = luma(ce);
    let hi = max(max(max(ln, ls), max(lw, le)), lm);
    let range = hi - min(min(min(ln, ls), min(lw, le)), lm);
    if range < max(FXAA_EDGE_MIN, hi * FXAA_EDGE) {
        return m;
    }
    let lnw = luma(neighbour(p, vec2<i32>(-1, -1), outline[0]));
    let lne = luma(neighbour(p, vec2<i32>(1, -1), outline[2]));
    let lsw = luma(neighbour(p, vec2<i32>(-1, 1), outline[6]));
    let lse = luma(neighbour(p, vec2<i32>(1, 1), outline[8]));

    // Sub-pixel aliasing: how far the pixel stands out of its neighbourhood.
    let average = (2.0 * (ln + ls + lw + le) + lnw + lne + lsw + lse) / 12.0;
    let sub = clamp(abs(average - lm) / range, 0.0, 1.0);
    let sub_smooth = (3.0 - 2.0 * sub) * sub * sub;
    let sub_offset = sub_smooth * sub_smooth * FXAA_SUBPIX;

    // Horizontal edge (luma changes up/down) or vertical.
    let edge_h = abs(lnw + lsw - 2.0 * lw) + 2.0 * abs(ln + ls - 2.0 * lm) + abs(lne + lse - 2.0 * le);
    let edge_v = abs(lnw + lne - 2.0 * ln) + 2.0 * abs(lw + le - 2.0 * lm) + abs(lsw + lse - 2.0 * ls);
    let horizontal = edge_h >= edge_v;
    let along = select(vec2<i32>(0, 1), vec2<i32>(1, 0), horizontal);
    // Across the edge: towards the steeper of the two neighbours.
    let l_neg = select(lw, ln, horizontal);
    let l_pos = select(le, ls, horizontal);
    let c_neg = select(cw, cn, horizontal);
    let c_pos = select(ce, cs, horizontal);
    let neg_steeper = abs(l_neg - lm) >= abs(l_pos - lm);
    let across = select(vec2<i32>(along.y, along.x), -vec2<i32>(along.y, along.x), neg_steeper);
    let l_across = select(l_pos, l_neg, neg_steeper);
    let c_across = select(c_pos, c_neg, neg_steeper);
    let gradient = 0.25 * abs(l_across - lm);
    let l_line = 0.5 * (lm + l_across);

    // Walk along the edge both ways until the luma on the line between
    // this row and the one across leaves the edge's (or the search ends).
    // The first step lies in the 3 × 3 neighbourhood.
    var l3 = array<f32, 9>(lnw, ln, lne, lw, lm, le, lsw, ls, lse);
    var end_neg = 0.5 * (l3[at3(-along)] + l3[at3(across - along)]) - l_line;
    var end_pos = 0.5 * (l3[at3(along)] + l3[at3(along + across)]) - l_line;
    var done_neg = abs(end_neg) >= gradient;
    var done_pos = abs(end_pos) >= gradient;
    var d_neg = 1;
    var d_pos = 1;
    // The further distances searched, each way. (On lavapipe a loop this
    // long stays a loop, which stops once no pixel of a group searches on;
    // measured, fewer steps there ran slower, unrolled.)
    var steps = array<i32, 10>(2, 3, 4, 5, 6, 8, 10, 12, 16, 24);
    for (var i = 0; i < 10 && !(done_neg && done_pos); i = i + 1) {
        let s = steps[i];
        if !done_neg {
            end_neg = edge_luma(p - along * s, across) - l_line;
            done_neg = abs(end_neg) >= gradient;
            d_neg = s;
        }
        if !done_pos {
            end_pos = edge_luma(p + along * s, across) - l_line;
            done_pos = abs(end_pos) >= gradient;
            d_pos = s;
        }
    }
    // Blend across the edge by how near the pixel is to the end where the
    // edge turns towards this pixel's side (a staircase step's coverage).
    let near_neg = d_neg < d_pos;
    let end = select(end_pos, end_neg, near_neg);
    let good = (end < 0.0) != (lm - l_line < 0.0);
    let edge_offset = select(0.0, 0.5 - f32(min(d_neg, d_pos)) / f32(d_neg + d_pos), good);
    return mix(m, c_across, max(edge_offset, sub_offset));
}

fn encode(c: vec3<f32>) -> vec4<f32> {
    var out = c;
    if ENCODE_SRGB && frame.fog.y > 0.5 {
        out = linear_to_srgb(out);
    }
    return vec4<f32>(out, 1.0);
}

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return encode(shade(vec2<i32>(pos.xy)));
}

// The composite split by the depth test (a read-only depth attachment; no
// section, no FXAA): a CPU rasteriser runs both sides of `surface`'s branch
// for every pixel, but skips the pixels a depth test rejects. `fs_sky` draws
// where nothing opaque was drawn (depth 0: sky, ground plain, see-through
// surfaces over them; no feature, so no outline), `fs_opaque_surface` the
// rest (alpha 1 there unless a section cut it, which this split excludes).
@fragment
fn fs_sky(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let p = vec2<i32>(pos.xy);
    return encode(finish(under_sky(p, textureLoad(color_tex, p, 0)), selection_outline(p)));
}

@fragment
fn fs_opaque_surface(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let p = vec2<i32>(pos.xy);
    return encode(finish(outlined(p, textureLoad(color_tex, p, 0).rgb), selection_outline(p)));
}

// The same, anti-aliased (a pipeline of its own: a software rasteriser runs
// both sides of a branch, so a flag would cost the plain frame the FXAA too).
@fragment
fn fs_antialias(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return encode(fxaa(vec2<i32>(pos.xy)));
}
