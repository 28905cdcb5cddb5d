// Screen-space overlay: panels and 8×8 bitmap text, in pixels.

struct Screen {
    size: vec4<f32>,   // width, height, srgb-encode flag, unused
};

@group(0) @binding(0) var<uniform> screen: Screen;
@group(0) @binding(1) var glyphs: texture_2d<f32>;

struct VertexIn {
    @location(0) position: vec2<f32>,  // pixels, origin top-left
    @location(1) uv: vec2<f32>,        // atlas texel coordinates; negative = solid
    @location(2) color: vec4<f32>,     // linear RGBA
};

struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) uv: vec2<f32>,
    @location(1) color: vec4<f32>,
};

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
    var out: VertexOut;
    let ndc = vec2<f32>(v.position.x / screen.size.x * 2.0 - 1.0, 1.0 - v.position.y / screen.size.y * 2.0);
    out.clip = vec4<f32>(ndc, 0.0, 1.0);
    out.uv = v.uv;
    out.color = v.color;
    return out;
}

fn encode(c: vec3<f32>) -> vec3<f32> {
    if screen.size.z > 0.5 {
        let lo = c * 12.92;
        let hi = 1.055 * pow(c, vec3<f32>(1.0 / 2.4)) - 0.055;
        return select(hi, lo, c <= vec3<f32>(0.0031308));
    }
    return c;
}

@fragment
fn fs_main(in: VertexOut) -> @location(0) vec4<f32> {
    var a = in.color.a;
    if in.uv.x >= 0.0 {
        a = a * textureLoad(glyphs, vec2<i32>(in.uv), 0).r;
    }
    return vec4<f32>(encode(in.color.rgb), a);
}
