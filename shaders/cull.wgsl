// GPU-driven culling of building fields (urbis_render::field).
//
// One thread per building: frustum test, occlusion test against the
// previous frame's depth pyramid (Hi-Z), level of detail by screen size with
// hysteresis, and the sun's shadow volume. Each building that survives is
// written as a camera-relative instance (the renderer's `InstanceData`)
// into the region of its template and level, and counted into that
// region's indirect draw. Near instances fill a region from its start, far
// ones from its end; `finalize` then points each far draw at its first
// instance. The draws themselves are a fixed list (views × templates × 2
// levels), so submission does not grow with what is loaded.
//
// The depth pyramid is built by `hiz.wgsl`.

struct Cull {
    planes: array<vec4<f32>, 5>,      // camera-relative frustum planes; inside: dot(xyz, p) + w >= 0
    shadow_axes: array<vec4<f32>, 3>, // the sun's volume: light x, y, z axes (xyz)
    shadow_box: vec4<f32>,            // its centre along the axes (xyz), half size (w)
    shadow_depth: vec4<f32>,          // x: room sunwards, y: 1 when shadows are drawn
    prev_view_proj: mat4x4<f32>,      // the previous frame's, relative to the previous camera
    prev: vec4<f32>,                  // xyz: this camera − the previous one; w: 1 to test occlusion
    hiz: vec4<f32>,                   // previous frame's width, height (px), pyramid levels, near (clip z)
    lod: vec4<f32>,                   // x: px per (diameter / distance); y: near → far below (px); z: far → near above (px); w: forced (0 none, 1 near, 2 far)
    counts: vec4<u32>,                // x: buildings, y: templates, z: unused, w: unused
    limits: vec4<f32>,                // x: smallest screen diameter drawn (px)
    camera_hi: vec4<f32>,             // the camera's world position as two f32s: hi + lo
    camera_lo: vec4<f32>,
};

// A chunk's frame: its origin as two f32s (hi + lo = the f64 origin) and
// its rotation. The camera-relative translation (hi − hi) + (lo − lo) is
// exact to well under a millimetre at the Earth's radius: the two his are
// close, so their difference is exact in f32.
struct ChunkFrame {
    origin_hi: vec4<f32>,
    origin_lo: vec4<f32>,
    x_axis: vec4<f32>,
    y_axis: vec4<f32>,
    z_axis: vec4<f32>,
};

struct Instance {
    position: vec3<f32>,              // footprint centre at the base, chunk coordinates
    yaw: f32,
    size: vec3<f32>,                  // width, depth, height (template x, y, z)
    template_id: u32,
    feature: u32,
    chunk: u32,
    pad0: u32,
    pad1: u32,
};

// The renderer's InstanceData: rows of a 3×4 map template → camera-relative world.
struct DrawInstance {
    row0: vec4<f32>,
    row1: vec4<f32>,
    row2: vec4<f32>,
    feature: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
};

// wgpu's DrawIndexedIndirectArgs (20 bytes, packed).
struct Args {
    index_count: u32,
    instance_count: atomic<u32>,
    first_index: u32,
    base_vertex: i32,
    first_instance: u32,
};

@group(0) @binding(0) var<uniform> cull: Cull;
@group(0) @binding(1) var<storage, read> instances: array<Instance>;
@group(0) @binding(2) var<storage, read> chunks: array<ChunkFrame>;
@group(0) @binding(3) var<storage, read_write> lod_state: array<u32>;
@group(0) @binding(4) var<storage, read_write> draws_main: array<DrawInstance>;
@group(0) @binding(5) var<storage, read_write> draws_shadow: array<DrawInstance>;
@group(0) @binding(6) var<storage, read_write> args: array<Args>;
@group(0) @binding(7) var hiz: texture_2d<f32>;

// Whether the sphere is hidden behind what the previous frame drew.
fn occluded(centre: vec3<f32>, r: f32) -> bool {
    if cull.prev.w < 0.5 {
        return false;
    }
    let c = centre + cull.prev.xyz;
    let near = cull.hiz.w;
    let cc = cull.prev_view_proj * vec4<f32>(c, 1.0);
    if cc.w - r <= near {
        return false;
    }
    let size = vec2<f32>(cull.hiz.x, cull.hiz.y);
    var lo = vec2<f32>(1e30);
    var hi = vec2<f32>(-1e30);
    for (var k = 0u; k < 8u; k = k + 1u) {
        let o = vec3<f32>(select(-r, r, (k & 1u) != 0u), select(-r, r, (k & 2u) != 0u), select(-r, r, (k & 4u) != 0u));
        let p = cull.prev_view_proj * vec4<f32>(c + o, 1.0);
        if p.w <= near {
            return false;
        }
        let ndc = p.xy / p.w;
        let px = vec2<f32>((ndc.x * 0.5 + 0.5) * size.x, (0.5 - ndc.y * 0.5) * size.y);
        lo = min(lo, px);
        hi = max(hi, px);
    }
    // Any part outside the previous frame is unknown: keep it.
    if lo.x < 0.0 || lo.y < 0.0 || hi.x > size.x || hi.y > size.y {
        return false;
    }
    let extent = max(hi.x - lo.x, hi.y - lo.y);
    let level = u32(clamp(ceil(log2(max(extent, 1.0) / 2.0)), 0.0, cull.hiz.z - 1.0));
    let scale = f32(1u << level);
    let t0 = vec2<u32>(floor(lo / scale));
    let t1 = vec2<u32>(floor(max(hi - vec2<f32>(1e-3), lo) / scale));
    var farthest = 1.0;
    for (var y = t0.y; y <= t1.y; y = y + 1u) {
        for (var x = t0.x; x <= t1.x; x = x + 1u) {
            farthest = min(farthest, textureLoad(hiz, vec2<u32>(x, y), i32(level)).r);
        }
    }
    // Reversed-Z, infinite far plane: the sphere's nearest point has depth near / (w − r).
    let nearest = near / (cc.w - r);
    return nearest < farthest;
}

fn in_shadow_volume(centre: vec3<f32>, r: f32) -> bool {
    if cull.shadow_depth.y < 0.5 {
        return false;
    }
    let u = dot(centre, cull.shadow_axes[0].xyz) - cull.shadow_box.x;
    let v = dot(centre, cull.shadow_axes[1].xyz) - cull.shadow_box.y;
    let w = dot(centre, cull.shadow_axes[2].xyz) - cull.shadow_box.z;
    let h = cull.shadow_box.w;
    return abs(u) <= h + r && abs(v) <= h + r && w <= cull.shadow_depth.x + r && w >= -h - r;
}

fn write_draw(view: u32, level: u32, inst: Instance, d: DrawInstance) {
    let entry = (view * cull.counts.y + inst.template_id) * 2u + level;
    let k = atomicAdd(&args[entry].instance_count, 1u);
    // Near instances from the region's start, far ones back from its end.
    var slot = args[entry].first_instance + k;
    if level == 1u {
        slot = args[entry].first_instance - 1u - k;
    }
    if view == 0u {
        draws_main[slot] = d;
    } else {
        draws_shadow[slot] = d;
    }
}

@compute @workgroup_size(64)
fn cull_main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= cull.counts.x {
        return;
    }
    let inst = instances[i];
    let f = chunks[inst.chunk];
    let t = (f.origin_hi.xyz - cull.camera_hi.xyz) + (f.origin_lo.xyz - cull.camera_lo.xyz);
    let m = mat4x4<f32>(vec4<f32>(f.x_axis.xyz, 0.0), vec4<f32>(f.y_axis.xyz, 0.0), vec4<f32>(f.z_axis.xyz, 0.0), vec4<f32>(t, 1.0));
    let centre = (m * vec4<f32>(inst.position + vec3<f32>(0.0, 0.0, inst.size.z * 0.5), 1.0)).xyz;
    let r = 0.5 * length(inst.size);

    // Level of detail by the building's size on screen, with hysteresis.
    let px = 2.0 * r * cull.lod.x / max(length(centre), 1e-3);
    var level = lod_state[i];
    if level == 0u && px < cull.lod.y {
        level = 1u;
    } else if level == 1u && px > cull.lod.z {
        level = 0u;
    }
    lod_state[i] = level;
    if cull.lod.w > 0.5 {
        level = u32(cull.lod.w) - 1u;
    }

    var in_view = px >= cull.limits.x;
    for (var k = 0u; k < 5u; k = k + 1u) {
        let p = cull.planes[k];
        if dot(p.xyz, centre) + p.w < -r {
            in_view = false;
        }
    }
    let casts = in_shadow_volume(centre, r);
    if !in_view && !casts {
        return;
    }

    // Template → chunk: turn by yaw, scale by size, move to position; then the chunk matrix.
    let cs = cos(inst.yaw);
    let sn = sin(inst.yaw);
    let c0 = (m * vec4<f32>(cs * inst.size.x, sn * inst.size.x, 0.0, 0.0)).xyz;
    let c1 = (m * vec4<f32>(-sn * inst.size.y, cs * inst.size.y, 0.0, 0.0)).xyz;
    let c2 = (m * vec4<f32>(0.0, 0.0, inst.size.z, 0.0)).xyz;
    let c3 = (m * vec4<f32>(inst.position, 1.0)).xyz;
    var d: DrawInstance;
    d.row0 = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
    d.row1 = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
    d.row2 = vec4<f32>(c0.z, c1.z, c2.z, c3.z);
    d.feature = inst.feature;

    if in_view && !occluded(centre, r) {
        write_draw(0u, level, inst, d);
    }
    if casts {
        write_draw(1u, level, inst, d);
    }
}

// Far draws start where their region's last instance went.
@compute @workgroup_size(64)
fn finalize(@builtin(global_invocation_id) gid: vec3<u32>) {
    let e = gid.x;
    if e >= cull.counts.y * 4u || (e & 1u) == 0u {
        return;
    }
    args[e].first_instance = args[e].first_instance - atomicLoad(&args[e].instance_count);
}
