//! The WGSL sources, embedded from the workspace's `shaders/` directory.

/// The main city pass.
pub const CITY: &str = include_str!("../../../shaders/city.wgsl");
/// Sky, outlines, selection, tone mapping.
pub const COMPOSITE: &str = include_str!("../../../shaders/composite.wgsl");
/// Text panels.
pub const OVERLAY: &str = include_str!("../../../shaders/overlay.wgsl");

/// Building fields: culling, levels of detail, indirect draw lists.
pub const CULL: &str = include_str!("../../../shaders/cull.wgsl");
/// The depth pyramid the field culling tests occlusion against.
pub const HIZ: &str = include_str!("../../../shaders/hiz.wgsl");

/// Every shader with its file name (for validation).
pub const ALL: [(&str, &str); 5] = [
    ("city.wgsl", CITY),
    ("composite.wgsl", COMPOSITE),
    ("overlay.wgsl", OVERLAY),
    ("cull.wgsl", CULL),
    ("hiz.wgsl", HIZ),
];
