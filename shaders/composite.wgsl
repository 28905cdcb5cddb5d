// Composite: sky where nothing was drawn (or a section left nothing), under see-through
// surfaces, feature outlines, the selection outline, tone mapping and (if the target is
// not sRGB) encoding.

struct Frame {
    view_proj: mat4x4<f32>,
    inv_view_proj: mat4x4<f32>,
    sun_dir: vec4<f32>,
    up: vec4<f32>,
    sky_zenith: vec4<f32>,
    sky_horizon: vec4<f32>,
    fog: vec4<f32>,
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
@group(0) @binding(1) var<storage, read> features: array<FeatureStyle>;
@group(0) @binding(2) var color_tex: texture_2d<f32>;
@group(0) @binding(3) var id_tex: texture_2d<u32>;
@group(0) @binding(4) var depth_tex: texture_depth_2d;

const FLAG_SELECTED: u32 = 4u;

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
    c = c + vec3<f32>(1.0, 0.9, 0.7) * (pow(s, 900.0) * 8.0 + pow(s, 12.0) * 0.25);
    return c;
}

fn selected(id: u32) -> bool {
    return id != 0u && (features[id].flags.x & FLAG_SELECTED) != 0u;
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

@fragment
fn fs_main(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let p = vec2<i32>(pos.xy);
    let depth = textureLoad(depth_tex, p, 0);
    // Premultiplied colour and coverage: alpha 1 where an opaque surface was
    // drawn; otherwise that of the see-through surfaces blended over nothing
    // (0 where there are none, or where a section left nothing past the cut).
    let drawn = textureLoad(color_tex, p, 0);
    var color: vec3<f32>;
    if depth > 0.0 && drawn.a >= 1.0 {
        color = drawn.rgb;
    } else {
        // The sky (or ground plain) behind whatever see-through surfaces cover it.
        let ndc = vec2<f32>(pos.x * frame.viewport.z * 2.0 - 1.0, 1.0 - pos.y * frame.viewport.w * 2.0);
        let q = frame.inv_view_proj * vec4<f32>(ndc, 1.0, 1.0);
        color = drawn.rgb + sky(normalize(q.xyz / q.w)) * (1.0 - drawn.a);
    }

    // Outlines where the feature changes: edges read even in flat light.
    let id = load_id(p);
    let n0 = load_id(p + vec2<i32>(1, 0));
    let n1 = load_id(p + vec2<i32>(-1, 0));
    let n2 = load_id(p + vec2<i32>(0, 1));
    let n3 = load_id(p + vec2<i32>(0, -1));
    let edge = (n0 != id) || (n1 != id) || (n2 != id) || (n3 != id);
    if edge && id != 0u {
        color = color * 0.72;
    }

    // Selection outline, two pixels wide, around the selected feature.
    if !selected(id) {
        var near_selected = false;
        for (var dy = -2; dy <= 2; dy = dy + 1) {
            for (var dx = -2; dx <= 2; dx = dx + 1) {
                if selected(load_id(p + vec2<i32>(dx, dy))) {
                    near_selected = true;
                }
            }
        }
        if near_selected {
            color = vec3<f32>(4.0, 1.2, 0.1);
        }
    }

    var out = aces(color * 0.9);
    if frame.fog.y > 0.5 {
        out = linear_to_srgb(out);
    }
    return vec4<f32>(out, 1.0);
}
