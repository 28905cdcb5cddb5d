//! `urbis view --flood FILE`: a flood run's depth over time played as a
//! water surface over the city, driven by the timeline (play, scrub).
//!
//! ```text
//! playback.bin ─FloodPlayback─► depth at t ─► one water entity (a quad per wet cell at bed + depth)
//!                                   ▲
//! viewer time × speed (playing), or the timeline's scrubber (paused)
//! ```

use anyhow::{Context, Result};
use bevy_ecs::change_detection::DetectChangesMut;
use bevy_ecs::prelude::Entity;
use glam::{DVec3, Vec2, Vec3};
use urbis_model::{
    CityModel, CpuMesh, FeatureStyle, GeometryHandle, Lod, Material, MeshStore, NewFeature, SemanticClass,
};
use urbis_sim::playback::FloodPlayback;

/// Cells shallower than this stay dry on screen, metres.
pub const WET_M: f32 = 0.02;

/// Plays a flood's depths as the water entity's mesh.
pub struct FloodHook {
    playback: FloodPlayback,
    water: Entity,
    origin: DVec3,
    /// Seconds into the run shown, and whether it advances with the viewer's time.
    t: f64,
    playing: bool,
    /// Run seconds per viewer second.
    speed: f64,
    shown_t: f64,
}

/// The water surface at these depths: a quad per wet cell, relative to `origin`.
pub fn water_mesh(p: &FloodPlayback, depth: &[f32], origin: DVec3) -> CpuMesh {
    let mut mesh = CpuMesh::default();
    let half = (p.dx / 2.0) as f32;
    for (c, d) in p.cells.iter().zip(depth) {
        if d.is_nan() || *d < WET_M {
            continue;
        }
        let centre = (*c - origin).as_vec3() + Vec3::Z * *d;
        let q = [
            centre + Vec3::new(-half, -half, 0.0),
            centre + Vec3::new(half, -half, 0.0),
            centre + Vec3::new(half, half, 0.0),
            centre + Vec3::new(-half, half, 0.0),
        ];
        mesh.push_flat(&q, &[[0, 1, 2], [0, 2, 3]], |v| Vec2::new(v.x, v.y), [40, 105, 190, 255], Material::Water);
    }
    mesh
}

impl FloodHook {
    /// Loads `path` and adds its water to `model`, shown at the start; plays at `speed` × real time.
    pub fn open(model: &mut CityModel, path: &std::path::Path, speed: f64) -> Result<FloodHook> {
        let playback = FloodPlayback::read(path).with_context(|| "reading the flood playback")?;
        anyhow::ensure!(!playback.frames.is_empty(), "{}: the playback has no frames", path.display());
        let origin = playback.cells.first().copied().unwrap_or(DVec3::ZERO);
        let mut f = NewFeature::new("flood-water", SemanticClass::WATER_BODY, origin);
        f.attributes.0.insert("name".into(), urbis_model::AttributeValue::String("flood water".into()));
        // A placeholder until the first frame: one cell, then replaced.
        let mut first = water_mesh(&playback, &playback.frames[0].1, origin);
        if first.indices.is_empty() {
            first.push_flat(
                &[Vec3::ZERO, Vec3::X * 0.01, Vec3::Y * 0.01],
                &[[0, 1, 2]],
                |_| Vec2::ZERO,
                [0; 4],
                Material::Water,
            );
        }
        f.mesh = Some((first, Lod(10)));
        // The flood's extent (bed to bed + 20 m), so the feature is found whatever the depth.
        let (lo, hi) =
            playback.cells.iter().fold((DVec3::INFINITY, DVec3::NEG_INFINITY), |(a, b), c| (a.min(*c), b.max(*c)));
        f.bounds = Some(urbis_model::Bounds {
            min: lo - DVec3::splat(playback.dx),
            max: hi + DVec3::new(playback.dx, playback.dx, 20.0),
        });
        let water = model.spawn_feature(f);
        if let Some(mut s) = model.world.get_mut::<FeatureStyle>(water) {
            s.opacity = 0.75;
        }
        Ok(FloodHook { playback, water, origin, t: 0.0, playing: true, speed, shown_t: f64::NAN })
    }

    fn show(&mut self, model: &mut CityModel) {
        if self.shown_t == self.t {
            return;
        }
        self.shown_t = self.t;
        let t0 = self.playback.frames[0].0;
        let mesh = water_mesh(&self.playback, &self.playback.depth_at(t0 + self.t), self.origin);
        let Some(handle) = model.world.get::<GeometryHandle>(self.water).copied() else { return };
        model.world.resource_mut::<MeshStore>().replace(handle.mesh, mesh);
        // Touch the handle: the extractor rebuilds the water's chunk.
        if let Some(mut h) = model.world.get_mut::<GeometryHandle>(self.water) {
            h.set_changed();
        }
    }
}

impl urbis_engine::FrameHook for FloodHook {
    fn advance(&mut self, dt: f64) {
        if self.playing {
            self.t = (self.t + dt * self.speed).min(self.playback.duration());
        }
    }

    fn before_frame(&mut self, model: &mut CityModel) -> Vec<String> {
        self.show(model);
        let wet = self.playback.depth_at(self.playback.frames[0].0 + self.t).iter().filter(|d| **d >= WET_M).count();
        let area = wet as f64 * self.playback.dx * self.playback.dx;
        vec![
            format!(
                "flood: {:.0} of {:.0} min{}",
                self.t / 60.0,
                self.playback.duration() / 60.0,
                if self.playing { "" } else { " (paused)" }
            ),
            format!("under water: {:.3} km² ({wet} cells ≥ {WET_M} m)", area / 1e6),
        ]
    }

    fn title(&self) -> String {
        "Flood".into()
    }

    fn timeline(&self) -> Option<urbis_ui::Timeline> {
        let end = (self.playback.duration() * 1000.0) as i64;
        Some(urbis_ui::Timeline {
            now_ms: end,
            at_ms: (!self.playing || self.t < self.playback.duration()).then_some((self.t * 1000.0) as i64),
            alarms: Vec::new(),
            start_ms: Some(0),
        })
    }

    fn scrub(&mut self, at: Option<i64>, model: &mut CityModel) {
        match at {
            Some(ms) => {
                self.t = (ms as f64 / 1000.0).clamp(0.0, self.playback.duration());
                self.playing = false;
            }
            // "live": play on (from the start when at the end).
            None => {
                if self.t >= self.playback.duration() {
                    self.t = 0.0;
                }
                self.playing = true;
            }
        }
        self.show(model);
    }
}
