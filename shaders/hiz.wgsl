// The depth pyramid (Hi-Z) that `cull.wgsl` tests buildings against:
// `hiz_copy` makes level 0 from the depth target, padded to powers of two
// with 0 (infinitely far: occludes nothing); `hiz_down` makes each further
// level from the one below, keeping the farthest (smallest, reversed-Z)
// depth of the 2×2 texels under each texel.

@group(0) @binding(0) var depth_src: texture_depth_2d;
@group(0) @binding(1) var level_src: texture_2d<f32>;
@group(0) @binding(2) var level_dst: texture_storage_2d<r32float, write>;

@compute @workgroup_size(8, 8)
fn hiz_copy(@builtin(global_invocation_id) gid: vec3<u32>) {
    let dst = textureDimensions(level_dst);
    if gid.x >= dst.x || gid.y >= dst.y {
        return;
    }
    let src = textureDimensions(depth_src);
    var d = 0.0;
    if gid.x < src.x && gid.y < src.y {
        d = textureLoad(depth_src, gid.xy, 0);
    }
    textureStore(level_dst, gid.xy, vec4<f32>(d, 0.0, 0.0, 0.0));
}

@compute @workgroup_size(8, 8)
fn hiz_down(@builtin(global_invocation_id) gid: vec3<u32>) {
    let dst = textureDimensions(level_dst);
    if gid.x >= dst.x || gid.y >= dst.y {
        return;
    }
    let s = gid.xy * 2u;
    let d = min(
        min(textureLoad(level_src, s, 0).r, textureLoad(level_src, s + vec2<u32>(1u, 0u), 0).r),
        min(textureLoad(level_src, s + vec2<u32>(0u, 1u), 0).r, textureLoad(level_src, s + vec2<u32>(1u, 1u), 0).r),
    );
    textureStore(level_dst, gid.xy, vec4<f32>(d, 0.0, 0.0, 0.0));
}
