//! The CPU rasteriser: [`RasterRenderer`] draws the Scenes of N envs into an
//! `N x H x W x 3` [`Frames`] batch, one frame per rayon task, written straight into the
//! batch.
//!
//! * Every [`Shape`] is tessellated (curved ones with 16 segments) and
//!   drawn as z-buffered triangles: exact fixed-point edge functions with the top-left fill
//!   rule, near/far/guard-band clipping, back-face culling (strips are two-sided), for
//!   perspective and orthographic cameras with bevy's conventions.
//! * Shading approximates the bevy backend (sRGB output of linear light): ambient plus a
//!   Lambert sun from `sun_direction` (constants from bevy's exposure, 400 ambient and
//!   8000 lux), per-vertex light on curved shapes, `unlit` materials at their own colour,
//!   textures tiled every `texture_scale` metres with bevy's UVs and sampled from the mip
//!   level the pixel's footprint asks for, and bevy's sky dome (haze at the horizon, the
//!   sky colour higher up) as background.
//! * Static objects are prepared once, from the first render call's scenes, per static
//!   world (shared by envs whose static objects and sun are equal): world-space triangles
//!   with their light (`n . l`) and texture repeats baked in, binned on a 16 m grid so a
//!   view visits only the cells its frustum touches, nearest first. A camera that has not
//!   moved since the last frame reuses its env's cached static layer (colour + depth); a
//!   bird's-eye camera (orthographic, straight down, e.g. Driving's `bev`, which follows
//!   the car) resamples a top-down map of the whole static world, drawn once at the
//!   output's metres per pixel (colour + height; exact up to nearest resampling). Per
//!   frame only dynamic objects are transformed and drawn.
//! * Deterministic: a frame is drawn by one thread in a fixed order, so the same scenes
//!   give the same bytes, whatever the number of threads.

mod math;
mod mesh;
mod pipeline;
mod shade;
mod world;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use vlmgym_envs::scene::{Camera, Material, Scene, SceneObject, Shape};

use crate::{Frames, RenderConfig};
use math::{Affine, View};
use mesh::{tessellate, uv_repeats, LocalMesh};
use pipeline::{draw_triangle, Ctx, Target, Vert};
use shade::{Shader, Texture};
use world::{place, StaticWorld, TopMap};

/// How the rasteriser trades speed for quality and memory; [`Default`] is what training
/// uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RasterOptions {
    /// Bilinear texel filtering (within the chosen mip level) instead of nearest, for what
    /// is drawn per frame (top-down maps, made once, are always filtered).
    pub bilinear: bool,
    /// Reuse an env's static layer (colour + depth) while its camera does not move.
    pub cache_static_layer: bool,
    /// Draw a bird's-eye camera's static layer by resampling a top-down map of the whole
    /// static world (exact up to resampling; made once per static world and pixel size).
    pub top_down_maps: bool,
}

impl Default for RasterOptions {
    /// Nearest texels, static layers cached, top-down maps on.
    fn default() -> Self {
        RasterOptions { bilinear: false, cache_static_layer: true, top_down_maps: true }
    }
}

/// Where the last [`RasterRenderer::render`] call spent its time, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct RasterTimings {
    /// Preparing static worlds, meshes, textures and top-down maps (first call, or new
    /// cameras and pixel sizes).
    pub prepare: f64,
    /// Drawing every frame (in parallel).
    pub draw: f64,
    /// Frames drawn per second of `prepare + draw`.
    pub frames_per_second: f64,
}

/// A dynamic object: where it is in the Scene, its mesh and shader.
struct Dynamic {
    index: usize,
    /// The shape and material it was prepared from.
    source: (Shape, Material),
    mesh: Arc<LocalMesh>,
    shader: Shader,
    /// Radius of a sphere about the object's origin that holds its mesh (for culling).
    radius: f32,
}

/// A camera as a comparable key (eye, target, up, fov, ortho height).
type CameraKey = [f32; 11];

fn camera_key(c: &Camera) -> CameraKey {
    let [e, t, u] = [c.eye, c.target, c.up];
    [e[0], e[1], e[2], t[0], t[1], t[2], u[0], u[1], u[2], c.fov_y_deg, c.ortho_height.unwrap_or(f32::NAN)]
}

fn same_camera(a: &CameraKey, b: &CameraKey) -> bool {
    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// A static layer: colour and depth of the static objects and sky from one camera.
struct Layer {
    camera: CameraKey,
    color: Vec<u8>,
    depth: Vec<f32>,
}

/// One env's state between frames.
struct EnvSlot {
    world: Arc<StaticWorld>,
    dynamic: Vec<Dynamic>,
    /// How many objects the Scene has.
    count: usize,
    to_sun: [f32; 3],
    depth: Vec<f32>,
    /// The camera of the last frame, and the static layer cached for it.
    last_camera: Option<CameraKey>,
    layer: Option<Layer>,
    /// The top-down map this env's camera resamples, when it does.
    map: Option<Arc<TopMap>>,
    /// The sky gradient of `sky` (sRGB bytes by ray elevation).
    sky: [f32; 3],
    sky_gradient: Vec<[u8; 3]>,
    vert_scratch: Vec<Vert>,
}

/// How a Scene relates to the one a slot was prepared from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotMatch {
    /// The same world and looks: only poses may differ.
    Same,
    /// The same world, but some dynamic objects changed shape or material (a new episode's
    /// traffic in other colours).
    Restyled,
    /// Another world (objects, static objects or sun differ).
    Other,
}

impl EnvSlot {
    /// Compares `scene` with what this slot was prepared from: the static objects (in
    /// order) and sun, and the dynamic objects' shapes and materials at their places in the
    /// list. Compared in full each frame (a few microseconds; cheaper than building the
    /// Scene), so a state of another map or traffic is never drawn over a stale world.
    fn compare(&self, scene: &Scene) -> SlotMatch {
        if scene.objects.len() != self.count || shade::to_sun(scene.sun_direction) != self.to_sun {
            return SlotMatch::Other;
        }
        let mut statics = scene.objects.iter().filter(|o| !o.dynamic);
        if !(self.world.source.iter().all(|s| statics.next() == Some(s)) && statics.next().is_none()) {
            return SlotMatch::Other;
        }
        if self.dynamic.iter().any(|d| !scene.objects[d.index].dynamic) {
            return SlotMatch::Other;
        }
        let restyled = self.dynamic.iter().any(|d| {
            let o = &scene.objects[d.index];
            o.shape != d.source.0 || o.material != d.source.1
        });
        if restyled {
            SlotMatch::Restyled
        } else {
            SlotMatch::Same
        }
    }
}

/// Renders the Scenes of N envs to RGB frames on the CPU (see the module docs); the same
/// surface as the bevy `BatchRenderer`.
pub struct RasterRenderer {
    config: RenderConfig,
    options: RasterOptions,
    num_envs: usize,
    slots: Vec<EnvSlot>,
    textures: HashMap<String, Arc<Texture>>,
    meshes: HashMap<String, Arc<LocalMesh>>,
    worlds: Vec<Arc<StaticWorld>>,
    timings: RasterTimings,
}

impl RasterRenderer {
    /// A renderer for `num_envs` envs with the default [`RasterOptions`].
    pub fn new(num_envs: usize, config: RenderConfig) -> Result<Self> {
        Self::with_options(num_envs, config, RasterOptions::default())
    }

    /// A renderer for `num_envs` envs.
    pub fn with_options(num_envs: usize, config: RenderConfig, options: RasterOptions) -> Result<Self> {
        if num_envs == 0 {
            bail!("the raster renderer needs at least one env");
        }
        if config.width == 0 || config.height == 0 || config.width > 4096 || config.height > 4096 {
            bail!("image size {}x{} is outside 1..=4096", config.width, config.height);
        }
        Ok(RasterRenderer {
            config,
            options,
            num_envs,
            slots: Vec::new(),
            textures: HashMap::new(),
            meshes: HashMap::new(),
            worlds: Vec::new(),
            timings: RasterTimings::default(),
        })
    }

    /// Where the last render call spent its time.
    pub fn timings(&self) -> RasterTimings {
        self.timings
    }

    /// Number of envs this renderer draws.
    pub fn num_envs(&self) -> usize {
        self.num_envs
    }

    /// The configuration (image size, camera).
    pub fn config(&self) -> &RenderConfig {
        &self.config
    }

    /// The options.
    pub fn options(&self) -> RasterOptions {
        self.options
    }

    /// Draws one frame per scene (`scenes.len()` must equal the env count) of the states
    /// they describe, as `N x H x W x 3` RGB bytes. Static objects are read from the first
    /// call's scenes; a later scene with another number of objects prepares its env again.
    pub fn render(&mut self, scenes: &[Scene]) -> Result<Frames> {
        let (w, h) = (self.config.width, self.config.height);
        let mut frames = Frames::zeroed(self.num_envs, h as usize, w as usize);
        self.render_into(scenes, &mut frames)?;
        Ok(frames)
    }

    /// [`RasterRenderer::render`] into an existing batch (resized if its shape differs), so
    /// a caller can reuse one buffer.
    pub fn render_into(&mut self, scenes: &[Scene], frames: &mut Frames) -> Result<()> {
        let n = self.num_envs;
        if scenes.len() != n {
            bail!("expected {n} scenes (one per env), got {}", scenes.len());
        }
        let t0 = Instant::now();
        let cameras: Vec<&Camera> = scenes
            .iter()
            .enumerate()
            .map(|(i, s)| self.pick_camera(s).with_context(|| format!("env {i}")))
            .collect::<Result<_>>()?;
        if self.slots.is_empty() {
            self.slots = scenes.iter().map(|s| self.prepare_slot(s)).collect::<Result<_>>()?;
        }
        // Another scene (a new episode on another map or with other traffic, even with as
        // many objects) is prepared again.
        for (i, scene) in scenes.iter().enumerate() {
            match self.slots[i].compare(scene) {
                SlotMatch::Same => {}
                SlotMatch::Restyled => {
                    let dynamic = self.prepare_dynamic(scene).with_context(|| format!("env {i}"))?;
                    self.slots[i].dynamic = dynamic;
                }
                SlotMatch::Other => self.slots[i] = self.prepare_slot(scene).with_context(|| format!("env {i}"))?,
            }
        }
        let (w, h) = (self.config.width, self.config.height);
        let len = self.frame_len();
        if frames.len() != n
            || frames.width() != w as usize
            || frames.height() != h as usize
            || frames.as_slice().len() != n * len
        {
            *frames = Frames::zeroed(n, h as usize, w as usize);
        }
        // Top-down maps (and sky gradients) before drawing, so frames only read them.
        for (slot, (scene, cam)) in self.slots.iter_mut().zip(scenes.iter().zip(&cameras)) {
            if slot.sky != scene.sky_color || slot.sky_gradient.is_empty() {
                slot.sky = scene.sky_color;
                slot.sky_gradient = shade::sky_gradient(scene.sky_color);
            }
            slot.map = None;
            if self.options.top_down_maps {
                let view = View::new(cam, w, h);
                if view.is_ortho() && (view.fwd[1] + 1.0).abs() < 1e-6 {
                    let bg = background(&view, &slot.sky_gradient);
                    slot.map = slot.world.top_map(1.0 / view.fx, view.eye[1], bg, self.options.bilinear);
                }
            }
        }
        let t1 = Instant::now();
        let (options, config) = (self.options, &self.config);
        frames
            .as_mut_slice()
            .par_chunks_mut(len)
            .zip(self.slots.par_iter_mut())
            .zip(scenes.par_iter().zip(cameras.par_iter()))
            .for_each(|((out, slot), (scene, cam))| draw_frame(out, slot, scene, cam, config, options));
        let t2 = Instant::now();
        let secs = |a: Instant, b: Instant| (b - a).as_secs_f64();
        self.timings = RasterTimings {
            prepare: secs(t0, t1),
            draw: secs(t1, t2),
            frames_per_second: n as f64 / secs(t0, t2).max(1e-12),
        };
        Ok(())
    }

    fn frame_len(&self) -> usize {
        self.config.width as usize * self.config.height as usize * 3
    }

    fn pick_camera<'a>(&self, scene: &'a Scene) -> Result<&'a Camera> {
        match &self.config.camera {
            Some(name) => scene.camera(name).with_context(|| {
                let names: Vec<&str> = scene.cameras.iter().map(|c| c.name.as_str()).collect();
                format!("the scene has no camera `{name}` (it has: {})", names.join(", "))
            }),
            None => scene.cameras.first().context("the scene has no camera"),
        }
    }

    fn texture(textures: &mut HashMap<String, Arc<Texture>>, name: &str) -> Result<Arc<Texture>> {
        if let Some(t) = textures.get(name) {
            return Ok(t.clone());
        }
        let t = Arc::new(Texture::load(name)?);
        textures.insert(name.to_string(), t.clone());
        Ok(t)
    }

    /// One env's slot for `scene`: its static world (shared between envs with equal static
    /// objects and sun), its dynamic objects' meshes and shaders.
    fn prepare_slot(&mut self, scene: &Scene) -> Result<EnvSlot> {
        let pixels = self.config.width as usize * self.config.height as usize;
        let to_sun = shade::to_sun(scene.sun_direction);
        let statics: Vec<SceneObject> = scene.objects.iter().filter(|o| !o.dynamic).cloned().collect();
        let world = match self.worlds.iter().find(|w| w.sun == to_sun && w.source == statics) {
            Some(w) => w.clone(),
            None => {
                let textures = &mut self.textures;
                let w = Arc::new(StaticWorld::new(statics, to_sun, &mut |n| Self::texture(textures, n))?);
                self.worlds.push(w.clone());
                w
            }
        };
        let dynamic = self.prepare_dynamic(scene)?;
        Ok(EnvSlot {
            world,
            dynamic,
            count: scene.objects.len(),
            to_sun,
            depth: vec![f32::NEG_INFINITY; pixels],
            last_camera: None,
            layer: None,
            map: None,
            sky: scene.sky_color,
            sky_gradient: Vec::new(),
            vert_scratch: Vec::new(),
        })
    }

    /// `scene`'s dynamic objects: meshes (shared between objects of one shape) and shaders,
    /// translucent ones last.
    fn prepare_dynamic(&mut self, scene: &Scene) -> Result<Vec<Dynamic>> {
        let mut dynamic = Vec::new();
        for (index, obj) in scene.objects.iter().enumerate().filter(|(_, o)| o.dynamic) {
            let repeats = match obj.material.texture {
                Some(_) => uv_repeats(&obj.shape, obj.material.texture_scale),
                None => [1.0, 1.0],
            };
            let key = format!("{:?}/{repeats:?}", obj.shape);
            let mesh = match self.meshes.get(&key) {
                Some(m) if !matches!(obj.shape, Shape::Strip { .. }) => m.clone(),
                _ => {
                    let m = Arc::new(tessellate(&obj.shape, repeats));
                    self.meshes.insert(key, m.clone());
                    m
                }
            };
            let textures = &mut self.textures;
            let shader = Shader::new(&obj.material, &mut |n| Self::texture(textures, n))?;
            let radius = mesh.verts.iter().map(|v| math::length(v.p)).fold(0.0f32, f32::max);
            dynamic.push(Dynamic { index, source: (obj.shape.clone(), obj.material.clone()), mesh, shader, radius });
        }
        // Translucent objects after the opaque ones (stable: Scene order otherwise).
        dynamic.sort_by_key(|d| d.shader.alpha < 1.0);
        Ok(dynamic)
    }
}

/// Draws one env's frame into `out` (`H x W x 3`).
fn draw_frame(
    out: &mut [u8],
    slot: &mut EnvSlot,
    scene: &Scene,
    cam: &Camera,
    config: &RenderConfig,
    options: RasterOptions,
) {
    let (w, h) = (config.width as usize, config.height as usize);
    let view = View::new(cam, config.width, config.height);
    let ctx = Ctx::new(view, options.bilinear);
    let key = camera_key(cam);
    let still = slot.last_camera.is_some_and(|k| same_camera(&k, &key));
    slot.last_camera = Some(key);
    let cached = slot.layer.as_ref().is_some_and(|l| same_camera(&l.camera, &key));
    if let Some(map) = &slot.map {
        let mut t = Target { color: &mut *out, depth: &mut slot.depth, width: w, y0: 0, rows: h };
        map.blit(&mut t, &view);
    } else if options.cache_static_layer && (cached || still) {
        if !cached {
            let mut layer = slot.layer.take().unwrap_or_else(|| Layer {
                camera: key,
                color: vec![0; w * h * 3],
                depth: vec![0.0; w * h],
            });
            layer.camera = key;
            let mut t = Target { color: &mut layer.color, depth: &mut layer.depth, width: w, y0: 0, rows: h };
            draw_static(&mut t, &ctx, &slot.world, &slot.sky_gradient);
            slot.layer = Some(layer);
        }
        let layer = slot.layer.as_ref().expect("layer");
        out.copy_from_slice(&layer.color);
        slot.depth.copy_from_slice(&layer.depth);
    } else {
        let mut t = Target { color: &mut *out, depth: &mut slot.depth, width: w, y0: 0, rows: h };
        draw_static(&mut t, &ctx, &slot.world, &slot.sky_gradient);
    }
    // Dynamic objects in view (a sphere test against the clip planes): placed; on a
    // top-down map, the static depth under them read from the map (only there is it
    // needed) before any is drawn; then drawn.
    let mut t = Target { color: out, depth: &mut slot.depth, width: w, y0: 0, rows: h };
    let planes = view.planes(1.0);
    slot.vert_scratch.clear();
    let mut placed: Vec<(usize, usize)> = Vec::with_capacity(slot.dynamic.len());
    for (k, d) in slot.dynamic.iter().enumerate() {
        let pose = &scene.objects[d.index].pose;
        if !in_view(&view, &planes, pose.translation, d.radius) {
            continue;
        }
        placed.push((k, slot.vert_scratch.len()));
        place(&d.mesh, &Affine::from_pose(pose), slot.to_sun, &mut slot.vert_scratch);
    }
    if let Some(map) = &slot.map {
        for &(k, start) in &placed {
            let verts = &slot.vert_scratch[start..start + slot.dynamic[k].mesh.verts.len()];
            if let Some((xs, ys)) = screen_rect(&view, verts, w, h) {
                map.fill_depth(&mut t, &view, xs, ys);
            }
        }
    }
    for &(k, start) in &placed {
        let d = &slot.dynamic[k];
        let verts = &slot.vert_scratch[start..start + d.mesh.verts.len()];
        for tri in &d.mesh.tris {
            let v = tri.map(|i| verts[i as usize]);
            draw_triangle(&mut t, &ctx, &v, &d.shader, d.mesh.two_sided);
        }
    }
}

/// Whether a sphere at `centre` (world) of `radius` may be seen: not wholly outside one of
/// the view's clip `planes`.
fn in_view(view: &View, planes: &[[f32; 4]; 6], centre: [f32; 3], radius: f32) -> bool {
    let v = view.view_point(centre);
    planes.iter().all(|p| {
        let norm = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        p[0] * v.x + p[1] * v.y + p[2] * v.d + p[3] >= -radius * norm
    })
}

/// The pixel columns and rows (inclusive) an orthographic view may draw `verts` in, if
/// any are on the `w x h` image.
fn screen_rect(view: &View, verts: &[Vert], w: usize, h: usize) -> Option<((usize, usize), (usize, usize))> {
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for v in verts {
        let (x, y, _, _) = view.project(view.view_point(v.p));
        lo = [lo[0].min(x), lo[1].min(y)];
        hi = [hi[0].max(x), hi[1].max(y)];
    }
    let (x0, y0) = ((lo[0] - 1.0).max(0.0), (lo[1] - 1.0).max(0.0));
    let (x1, y1) = ((hi[0] + 1.0).min(w as f32 - 1.0), (hi[1] + 1.0).min(h as f32 - 1.0));
    (x0 <= x1 && y0 <= y1).then_some(((x0 as usize, x1 as usize), (y0 as usize, y1 as usize)))
}

/// Clears `t`, draws the static world and fills what it left empty with the sky.
fn draw_static(t: &mut Target, ctx: &Ctx, world: &StaticWorld, sky_gradient: &[[u8; 3]]) {
    t.depth.fill(f32::NEG_INFINITY);
    world.draw(t, ctx);
    fill_sky(t, &ctx.view, sky_gradient);
}

/// The sky colour along a view ray.
fn sky_at(gradient: &[[u8; 3]], dir_y: f32, len: f32) -> [u8; 3] {
    let h = (dir_y / len).clamp(0.0, 1.0);
    gradient[(h * (shade::SKY_STEPS - 1) as f32 + 0.5) as usize]
}

/// What an orthographic view sees where there is nothing (all its rays are parallel).
fn background(view: &View, gradient: &[[u8; 3]]) -> [u8; 3] {
    sky_at(gradient, view.fwd[1], 1.0)
}

/// Sky where nothing was drawn: bevy's dome seen along each pixel's ray.
fn fill_sky(t: &mut Target, view: &View, gradient: &[[u8; 3]]) {
    let w = t.width;
    if view.is_ortho() {
        let c = background(view, gradient);
        for (d, px) in t.depth.iter().zip(t.color.chunks_exact_mut(3)) {
            if *d == f32::NEG_INFINITY {
                px.copy_from_slice(&c);
            }
        }
        return;
    }
    // Ray = fwd + right * a + up * b: its y and length separate into column and row terms.
    let cols: Vec<(f32, f32)> = (0..w)
        .map(|px| {
            let a = (px as f32 + 0.5 - view.cx) / view.fx;
            (view.right[1] * a, a * a)
        })
        .collect();
    for row in 0..t.rows {
        let b = (view.cy - (t.y0 + row) as f32 - 0.5) / view.fy;
        let (ry, rl) = (view.fwd[1] + view.up[1] * b, 1.0 + b * b);
        let depth = &t.depth[row * w..(row + 1) * w];
        let color = &mut t.color[row * w * 3..(row + 1) * w * 3];
        for ((d, px), (cy, cl)) in depth.iter().zip(color.chunks_exact_mut(3)).zip(&cols) {
            if *d == f32::NEG_INFINITY {
                px.copy_from_slice(&sky_at(gradient, ry + cy, (rl + cl).sqrt()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_renderer_can_move_between_threads() {
        fn send<T: Send + Sync>() {}
        send::<RasterRenderer>();
    }
}
