//! The bevy headless batch renderer: one bevy `App` holds every env of a batch, each on its
//! own `RenderLayers` layer with its own camera and image target (see the crate docs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use bevy::asset::RenderAssetUsages;
use bevy::camera::visibility::RenderLayers;
use bevy::camera::{ClearColorConfig, ImageRenderTarget, RenderTarget, ScalingMode};
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::mesh::{Indices, PrimitiveTopology};
use bevy::prelude::*;
use bevy::render::gpu_readback::{Readback, ReadbackComplete};
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::render_resource::{TextureFormat, TextureUsages};
use bevy::window::ExitCondition;
use vlmgym_envs::scene::{Camera as SceneCamera, Material as SceneMaterial, Pose, Scene, SceneObject, Shape};

use crate::{textures, Frames, RenderConfig, RenderTimings};

#[derive(Resource, Clone, Default)]
struct Received(Arc<Mutex<Vec<Option<Vec<u8>>>>>);

struct EnvSlot {
    /// The dynamic objects.
    objects: DynamicObjects,
    /// How many objects the Scene has.
    count: usize,
    camera: Entity,
    target: Handle<Image>,
}

/// Renders the Scenes of N envs to RGB frames (see the crate docs).
pub struct BatchRenderer {
    app: App,
    config: RenderConfig,
    slots: Vec<EnvSlot>,
    received: Received,
    cache: AssetCache,
    timings: RenderTimings,
}

pub(crate) fn to_vec3(v: [f32; 3]) -> Vec3 {
    Vec3::from_array(v)
}

fn transform(pose: &Pose) -> Transform {
    Transform { translation: to_vec3(pose.translation), rotation: Quat::from_array(pose.rotation), scale: Vec3::ONE }
}

pub(crate) fn srgb(c: [f32; 3]) -> Color {
    Color::srgb(c[0], c[1], c[2])
}

/// A flat ribbon along a polyline (normal +Y).
fn strip_mesh(points: &[[f32; 2]], width: f32, closed: bool) -> Mesh {
    let n = points.len();
    let mut positions = Vec::with_capacity(2 * n);
    let mut uvs = Vec::with_capacity(2 * n);
    let mut along = 0.0f32;
    for i in 0..n {
        let prev = if i > 0 {
            points[i - 1]
        } else if closed {
            points[n - 1]
        } else {
            points[i]
        };
        let next = if i + 1 < n {
            points[i + 1]
        } else if closed {
            points[0]
        } else {
            points[i]
        };
        let (dx, dz) = (next[0] - prev[0], next[1] - prev[1]);
        let len = (dx * dx + dz * dz).sqrt().max(1e-6);
        let (nx, nz) = (-dz / len * width / 2.0, dx / len * width / 2.0);
        if i > 0 {
            let (px, pz) = (points[i][0] - points[i - 1][0], points[i][1] - points[i - 1][1]);
            along += (px * px + pz * pz).sqrt();
        }
        positions.push([points[i][0] + nx, 0.0, points[i][1] + nz]);
        positions.push([points[i][0] - nx, 0.0, points[i][1] - nz]);
        uvs.push([0.0, along / width]);
        uvs.push([1.0, along / width]);
    }
    let segments = if closed { n } else { n.saturating_sub(1) };
    let mut indices = Vec::with_capacity(6 * segments);
    for s in 0..segments {
        let (a, b) = (2 * s as u32, 2 * ((s + 1) % n) as u32);
        // Counter-clockwise seen from above (+Y), so the face bevy lights is the top one:
        // `a` is the left edge's vertex, `a + 1` the right's.
        indices.extend_from_slice(&[a, b, a + 1, b, b + 1, a + 1]);
    }
    let normals = vec![[0.0, 1.0, 0.0]; positions.len()];
    Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
        .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, uvs)
        .with_inserted_indices(Indices::U32(indices))
}

/// A library mesh scaled per axis, flat-shaded (three vertices and one normal per triangle).
fn library_mesh(data: &vlmgym_envs::scene::meshes::MeshData, scale: [f32; 3]) -> Mesh {
    let (mut positions, mut normals, mut uvs) = (Vec::new(), Vec::new(), Vec::new());
    for t in &data.triangles {
        let [a, b, c] =
            t.map(|i| Vec3::from(data.vertices.get(i as usize).copied().unwrap_or_default()) * Vec3::from(scale));
        let n = (b - a).cross(c - a).normalize_or_zero();
        for p in [a, b, c] {
            positions.push(p.to_array());
            normals.push(n.to_array());
            uvs.push([p.x, p.z]);
        }
    }
    let indices = (0..positions.len() as u32).collect();
    Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::default())
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_NORMAL, normals)
        .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, uvs)
        .with_inserted_indices(Indices::U32(indices))
}

fn shape_mesh(shape: &Shape) -> Mesh {
    match shape {
        Shape::Cuboid { half_extents: h } => Cuboid::new(2.0 * h[0], 2.0 * h[1], 2.0 * h[2]).into(),
        Shape::Cylinder { radius, half_height } => Cylinder::new(*radius, 2.0 * half_height).into(),
        Shape::Sphere { radius } => Sphere::new(*radius).into(),
        Shape::Capsule { radius, half_height } => Capsule3d::new(*radius, 2.0 * half_height).into(),
        Shape::Plane { half_size } => Plane3d::new(Vec3::Y, Vec2::new(half_size[0], half_size[1])).into(),
        Shape::Strip { points, width, closed } => strip_mesh(points, *width, *closed),
        Shape::Mesh { name, scale } => match vlmgym_envs::scene::meshes::get(name) {
            Some(data) => library_mesh(&data, *scale),
            None => Cuboid::new(scale[0], scale[1], scale[2]).into(),
        },
    }
}

/// Shapes whose mesh is the same whenever their parameters are (shared between envs).
fn mesh_key(shape: &Shape) -> Option<String> {
    match shape {
        Shape::Strip { .. } => None,
        other => Some(format!("{other:?}")),
    }
}

impl BatchRenderer {
    /// Starts bevy with `num_envs` cameras and image targets. Fails with a message saying
    /// what to install when no Vulkan adapter is found.
    pub fn new(num_envs: usize, config: RenderConfig) -> Result<Self> {
        if num_envs == 0 {
            bail!("the batch renderer needs at least one env");
        }
        if config.width == 0 || config.height == 0 || config.width > 4096 || config.height > 4096 {
            bail!("image size {}x{} is outside 1..=4096", config.width, config.height);
        }
        // bevy panics when it finds no adapter; catch that (quietly) and say what to install.
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let app = std::panic::catch_unwind(|| {
            let mut app = App::new();
            let plugins = DefaultPlugins
                .set(WindowPlugin { primary_window: None, exit_condition: ExitCondition::DontExit, ..default() })
                // Compile pipelines when first needed, so no frame is drawn without them.
                .set(bevy::render::RenderPlugin { synchronous_pipeline_compilation: true, ..default() })
                .disable::<PipelinedRenderingPlugin>()
                .disable::<bevy::log::LogPlugin>();
            // Headless: no event loop (it would need a display, and a process gets only one).
            #[cfg(feature = "viewer")]
            let plugins = plugins.disable::<bevy::winit::WinitPlugin>();
            app.add_plugins(plugins);
            while app.plugins_state() == bevy::app::PluginsState::Adding {
                bevy::tasks::tick_global_task_pools_on_main_thread();
            }
            app.finish();
            app.cleanup();
            app
        });
        std::panic::set_hook(previous_hook);
        let app = app.map_err(|_| {
            anyhow::anyhow!(
                "could not start the renderer: no usable Vulkan adapter. On Debian install Mesa's \
                 CPU driver with `apt-get install mesa-vulkan-drivers libvulkan1` (scripts/setup.sh does)"
            )
        })?;
        let received = Received(Arc::new(Mutex::new(vec![None; num_envs])));
        let mut r = BatchRenderer {
            app,
            config,
            slots: Vec::new(),
            received,
            cache: AssetCache::default(),
            timings: RenderTimings::default(),
        };
        r.app.insert_resource(r.received.clone());
        Ok(r)
    }

    /// Where the last render call spent its time.
    pub fn timings(&self) -> RenderTimings {
        self.timings
    }

    /// Number of envs this renderer draws.
    pub fn num_envs(&self) -> usize {
        self.received.0.lock().expect("lock").len()
    }

    fn spawn(&mut self, scenes: &[Scene]) -> Result<()> {
        let (w, h) = (self.config.width, self.config.height);
        let all_layers = RenderLayers::from_layers(&(0..scenes.len()).collect::<Vec<_>>());
        spawn_light_and_sky(self.app.world_mut(), &scenes[0], all_layers);
        let mut static_worlds: HashMap<String, Vec<Entity>> = HashMap::new();
        for (i, scene) in scenes.iter().enumerate() {
            let cam = self.pick_camera(scene)?;
            let mut image = Image::new_target_texture(w, h, TextureFormat::Rgba8UnormSrgb, None);
            image.texture_descriptor.usage |= TextureUsages::COPY_SRC;
            let world = self.app.world_mut();
            let target = world.resource_mut::<Assets<Image>>().add(image);
            let projection = match cam.ortho_height {
                Some(hgt) => Projection::Orthographic(OrthographicProjection {
                    scaling_mode: ScalingMode::FixedVertical { viewport_height: hgt },
                    far: 2.0 * SKY_RADIUS,
                    ..OrthographicProjection::default_3d()
                }),
                None => Projection::Perspective(PerspectiveProjection {
                    fov: cam.fov_y_deg.to_radians(),
                    far: 2.0 * SKY_RADIUS,
                    ..default()
                }),
            };
            let camera = world
                .spawn((
                    Camera3d::default(),
                    Camera { clear_color: ClearColorConfig::Custom(srgb(scene.sky_color)), ..default() },
                    RenderTarget::Image(ImageRenderTarget::from(target.clone())),
                    Tonemapping::None,
                    Msaa::Off,
                    projection,
                    camera_transform(cam),
                    RenderLayers::layer(i),
                ))
                .id();
            let received = self.received.clone();
            world.entity_mut(camera).observe(move |ev: On<ReadbackComplete>| {
                received.0.lock().expect("lock")[i] = Some(ev.event().data.clone());
            });
            // Static objects: merged by material into a few meshes, and shared (one entity
            // seen by several layers) between envs whose static worlds are the same.
            let statics: Vec<&SceneObject> = scene.objects.iter().filter(|o| !o.dynamic).collect();
            let signature = format!("{statics:?}");
            match static_worlds.get(&signature) {
                Some(entities) => {
                    let world = self.app.world_mut();
                    for e in entities {
                        if let Some(mut layers) = world.get_mut::<RenderLayers>(*e) {
                            *layers = layers.clone().with(i);
                        }
                    }
                }
                None => {
                    let entities = self.cache.spawn_static(self.app.world_mut(), &statics, i)?;
                    static_worlds.insert(signature, entities);
                }
            }
            let objects = DynamicObjects::spawn(&mut self.cache, self.app.world_mut(), scene, i)?;
            let count = scene.objects.len();
            self.slots.push(EnvSlot { objects, count, camera, target });
        }
        Ok(())
    }

    fn pick_camera<'a>(&self, scene: &'a Scene) -> Result<&'a SceneCamera> {
        match &self.config.camera {
            Some(name) => scene.camera(name).with_context(|| {
                let names: Vec<&str> = scene.cameras.iter().map(|c| c.name.as_str()).collect();
                format!("the scene has no camera `{name}` (it has: {})", names.join(", "))
            }),
            None => scene.cameras.first().context("the scene has no camera"),
        }
    }

    /// Draws one frame per scene (`scenes.len()` must equal the env count) of the states
    /// they describe, as `N x H x W x 3` RGB bytes.
    pub fn render(&mut self, scenes: &[Scene]) -> Result<Frames> {
        let n = self.num_envs();
        if scenes.len() != n {
            bail!("expected {n} scenes (one per env), got {}", scenes.len());
        }
        let t0 = std::time::Instant::now();
        if self.slots.is_empty() {
            self.spawn(scenes)?;
            // New image targets and meshes become usable over the next updates.
            for _ in 0..3 {
                self.app.update();
            }
        } else {
            for (i, (slot, scene)) in self.slots.iter_mut().zip(scenes).enumerate() {
                if scene.objects.len() != slot.count {
                    bail!(
                        "env {i}'s scene has {} objects, it had {}; scenes must keep their objects",
                        scene.objects.len(),
                        slot.count
                    );
                }
                slot.objects.sync(&mut self.cache, self.app.world_mut(), scene)?;
                let world = self.app.world_mut();
                let cam = match &self.config.camera {
                    Some(name) => scene.camera(name),
                    None => scene.cameras.first(),
                };
                if let (Some(cam), Some(mut t)) = (cam, world.get_mut::<Transform>(slot.camera)) {
                    *t = camera_transform(cam);
                }
            }
        }
        self.received.0.lock().expect("lock").iter_mut().for_each(|r| *r = None);
        // Render the new state once with a readback attached, then let the readbacks arrive
        // with the cameras off (nothing is drawn twice).
        for slot in &self.slots {
            let world = self.app.world_mut();
            world.entity_mut(slot.camera).insert(Readback::texture(slot.target.clone()));
            if let Some(mut c) = world.get_mut::<Camera>(slot.camera) {
                c.is_active = true;
            }
        }
        let t1 = std::time::Instant::now();
        self.app.update();
        let t2 = std::time::Instant::now();
        for slot in &self.slots {
            let world = self.app.world_mut();
            world.entity_mut(slot.camera).remove::<Readback>();
            if let Some(mut c) = world.get_mut::<Camera>(slot.camera) {
                c.is_active = false;
            }
        }
        for _ in 0..20 {
            if self.received.0.lock().expect("lock").iter().all(Option::is_some) {
                break;
            }
            self.app.update();
        }
        let data: Vec<Vec<u8>> =
            self.received.0.lock().expect("lock").iter_mut().map(|r| r.take().unwrap_or_default()).collect();
        if data.iter().any(Vec::is_empty) {
            bail!("the GPU readback did not arrive after 20 updates");
        }
        let t3 = std::time::Instant::now();
        let frames = crate::frames::from_padded_rgba(&data, self.config.width, self.config.height)?;
        let t4 = std::time::Instant::now();
        let secs = |a: std::time::Instant, b: std::time::Instant| (b - a).as_secs_f64();
        self.timings =
            RenderTimings { sync: secs(t0, t1), draw: secs(t1, t2), readback: secs(t2, t3), convert: secs(t3, t4) };
        Ok(frames)
    }
}

/// Meshes and textures uploaded once and shared by every object and env that uses them.
#[derive(Default)]
pub(crate) struct AssetCache {
    meshes: HashMap<String, Handle<Mesh>>,
    textures: HashMap<String, Handle<Image>>,
}

impl AssetCache {
    /// Spawns `objects` (all static) on layer `layer`: one entity per distinct material,
    /// holding every object of that material merged into one world-space mesh (textures'
    /// repeats baked into the UVs). Fewer draws per camera is what makes lavapipe faster.
    pub(crate) fn spawn_static(
        &mut self,
        world: &mut World,
        objects: &[&SceneObject],
        layer: usize,
    ) -> Result<Vec<Entity>> {
        let mut groups: Vec<(String, &SceneObject, Mesh)> = Vec::new();
        for obj in objects {
            let strip = matches!(obj.shape, Shape::Strip { .. });
            let mut mesh = shape_mesh(&obj.shape);
            if obj.material.texture.is_some() {
                scale_uvs(&mut mesh, uv_repeats(&obj.shape, obj.material.texture_scale));
            }
            let mesh = mesh.transformed_by(transform(&obj.pose));
            let key = format!("{:?}/{strip}", obj.material);
            let merged = match groups.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, _, m)) => m.merge(&mesh).is_ok(),
                None => false,
            };
            if !merged {
                groups.push((key, obj, mesh));
            }
        }
        let mut out = Vec::with_capacity(groups.len());
        for (_, obj, mesh) in groups {
            let texture = match &obj.material.texture {
                Some(name) => Some(self.texture(world, name)?),
                None => None,
            };
            let strip = matches!(obj.shape, Shape::Strip { .. });
            let material = material(&obj.material, strip, texture, bevy::math::Affine2::IDENTITY);
            let mesh = world.resource_mut::<Assets<Mesh>>().add(mesh);
            let mat = world.resource_mut::<Assets<StandardMaterial>>().add(material);
            out.push(
                world.spawn((Mesh3d(mesh), MeshMaterial3d(mat), Transform::IDENTITY, RenderLayers::layer(layer))).id(),
            );
        }
        Ok(out)
    }

    /// The image of a named texture, uploaded once and shared by every env.
    fn texture(&mut self, world: &mut World, name: &str) -> Result<Handle<Image>> {
        if let Some(h) = self.textures.get(name) {
            return Ok(h.clone());
        }
        let image = textures::image(name)?;
        let handle = world.resource_mut::<Assets<Image>>().add(image);
        self.textures.insert(name.to_string(), handle.clone());
        Ok(handle)
    }

    /// Spawns the Scene's dynamic objects on layer `layer`: (index in the Scene, entity).
    pub(crate) fn spawn_dynamic(
        &mut self,
        world: &mut World,
        scene: &Scene,
        layer: usize,
    ) -> Result<Vec<(usize, Entity)>> {
        let mut objects = Vec::new();
        for (k, obj) in scene.objects.iter().enumerate().filter(|(_, o)| o.dynamic) {
            let (mesh, mat) = self.dynamic_assets(world, obj)?;
            let e =
                world.spawn((Mesh3d(mesh), MeshMaterial3d(mat), transform(&obj.pose), RenderLayers::layer(layer))).id();
            objects.push((k, e));
        }
        Ok(objects)
    }

    /// The mesh (shared between objects of one shape) and material of a dynamic object.
    fn dynamic_assets(
        &mut self,
        world: &mut World,
        obj: &SceneObject,
    ) -> Result<(Handle<Mesh>, Handle<StandardMaterial>)> {
        let mesh = match mesh_key(&obj.shape) {
            Some(key) => match self.meshes.get(&key) {
                Some(m) => m.clone(),
                None => {
                    let m = world.resource_mut::<Assets<Mesh>>().add(shape_mesh(&obj.shape));
                    self.meshes.insert(key, m.clone());
                    m
                }
            },
            None => world.resource_mut::<Assets<Mesh>>().add(shape_mesh(&obj.shape)),
        };
        let texture = match &obj.material.texture {
            Some(name) => Some(self.texture(world, name)?),
            None => None,
        };
        let uv = bevy::math::Affine2::from_scale(uv_repeats(&obj.shape, obj.material.texture_scale));
        let material = material(&obj.material, matches!(obj.shape, Shape::Strip { .. }), texture, uv);
        Ok((mesh, world.resource_mut::<Assets<StandardMaterial>>().add(material)))
    }

    /// Gives the entity `e` of a dynamic object the mesh and material of `obj` (its shape or
    /// material changed, e.g. a new episode's traffic in other colours).
    pub(crate) fn restyle(&mut self, world: &mut World, e: Entity, obj: &SceneObject) -> Result<()> {
        let (mesh, mat) = self.dynamic_assets(world, obj)?;
        world.entity_mut(e).insert((Mesh3d(mesh), MeshMaterial3d(mat)));
        Ok(())
    }
}

/// The sun (no shadows), ambient light and sky dome of `scene`, seen by `layers`.
pub(crate) fn spawn_light_and_sky(world: &mut World, scene: &Scene, layers: RenderLayers) {
    world.spawn((
        DirectionalLight { illuminance: 8_000.0, shadow_maps_enabled: false, ..default() },
        Transform::default().looking_to(to_vec3(scene.sun_direction), Vec3::Y),
        layers.clone(),
    ));
    world.insert_resource(GlobalAmbientLight { brightness: 400.0, ..default() });
    let dome = world.resource_mut::<Assets<Mesh>>().add(sky_dome_mesh(scene.sky_color));
    let sky = StandardMaterial { unlit: true, cull_mode: None, fog_enabled: false, ..default() };
    let sky = world.resource_mut::<Assets<StandardMaterial>>().add(sky);
    world.spawn((Mesh3d(dome), MeshMaterial3d(sky), Transform::default(), layers));
}

/// Moves the entities of a Scene's dynamic objects to the poses it gives.
/// A Scene's dynamic objects as entities, each with the shape and material it was last
/// drawn with.
pub(crate) struct DynamicObjects {
    items: Vec<(usize, Entity, Shape, SceneMaterial)>,
}

impl DynamicObjects {
    /// Spawns `scene`'s dynamic objects on layer `layer`.
    pub(crate) fn spawn(cache: &mut AssetCache, world: &mut World, scene: &Scene, layer: usize) -> Result<Self> {
        let items = cache
            .spawn_dynamic(world, scene, layer)?
            .into_iter()
            .map(|(k, e)| (k, e, scene.objects[k].shape.clone(), scene.objects[k].material.clone()))
            .collect();
        Ok(DynamicObjects { items })
    }

    /// Moves the objects to `scene`'s poses. Objects keep their places in the Scene's list,
    /// but a new episode may dress them differently (other car colours): those get the new
    /// mesh and material.
    pub(crate) fn sync(&mut self, cache: &mut AssetCache, world: &mut World, scene: &Scene) -> Result<()> {
        for (k, e, shape, material) in &mut self.items {
            let obj = &scene.objects[*k];
            if obj.shape != *shape || obj.material != *material {
                cache.restyle(world, *e, obj)?;
                (*shape, *material) = (obj.shape.clone(), obj.material.clone());
            }
            if let Some(mut t) = world.get_mut::<Transform>(*e) {
                *t = transform(&obj.pose);
            }
        }
        Ok(())
    }
}

/// A camera transform from a Scene camera.
pub(crate) fn camera_transform(cam: &SceneCamera) -> Transform {
    Transform::from_translation(to_vec3(cam.eye)).looking_at(to_vec3(cam.target), to_vec3(cam.up))
}

/// Radius of the sky dome, metres (cameras see out to twice this).
pub(crate) const SKY_RADIUS: f32 = 1500.0;

/// A sphere seen from inside, coloured by height: hazy near the horizon, the scene's sky
/// colour higher up, a little deeper at the zenith (drawn unlit, vertex colours).
fn sky_dome_mesh(sky: [f32; 3]) -> Mesh {
    let mut mesh: Mesh = Sphere::new(SKY_RADIUS).mesh().uv(48, 24);
    let haze = [0.5 * sky[0] + 0.45, 0.5 * sky[1] + 0.45, 0.5 * sky[2] + 0.45];
    let zenith = [0.8 * sky[0], 0.85 * sky[1], 0.95 * sky[2]];
    let colors: Vec<[f32; 4]> = match mesh.attribute(Mesh::ATTRIBUTE_POSITION) {
        Some(bevy::mesh::VertexAttributeValues::Float32x3(ps)) => ps
            .iter()
            .map(|p| {
                let h = (p[1] / SKY_RADIUS).max(0.0);
                let (low, high) = (h.min(0.25) / 0.25, ((h - 0.25) / 0.75).max(0.0));
                let mut c = [0.0; 4];
                for k in 0..3 {
                    let mid = haze[k] + (sky[k] - haze[k]) * low;
                    // Linear vertex colours: convert from sRGB.
                    c[k] = Color::srgb(mid + (zenith[k] - mid) * high, 0.0, 0.0).to_linear().red;
                }
                c[3] = 1.0;
                c
            })
            .collect(),
        _ => Vec::new(),
    };
    mesh.insert_attribute(Mesh::ATTRIBUTE_COLOR, colors);
    mesh
}

/// How many times the texture repeats across the shape's UV range (0..1 per face; strips
/// run 0..1 across their width and 1 per width along), for one repeat every `scale` metres.
fn uv_repeats(shape: &Shape, scale: f32) -> Vec2 {
    let s = scale.max(1e-3);
    match shape {
        Shape::Plane { half_size } => Vec2::new(2.0 * half_size[0] / s, 2.0 * half_size[1] / s),
        Shape::Strip { width, .. } => Vec2::splat(width / s),
        Shape::Cuboid { half_extents: h } => Vec2::new(2.0 * h[0].max(h[2]) / s, 2.0 * h[1] / s),
        _ => Vec2::ONE,
    }
}

/// A bevy material for a Scene material; `strip`s are two-sided (ribbons are seen from
/// above whichever way their polyline runs); `uv` maps the mesh's UVs to texture repeats.
fn material(
    m: &SceneMaterial,
    strip: bool,
    texture: Option<Handle<Image>>,
    uv: bevy::math::Affine2,
) -> StandardMaterial {
    let [r, g, b, a] = m.color;
    let uv_transform = if texture.is_some() { uv } else { bevy::math::Affine2::IDENTITY };
    StandardMaterial {
        base_color: Color::srgba(r, g, b, a),
        base_color_texture: texture,
        uv_transform,
        perceptual_roughness: m.roughness,
        metallic: m.metallic,
        unlit: m.unlit,
        alpha_mode: if a < 1.0 { AlphaMode::Blend } else { AlphaMode::Opaque },
        cull_mode: if strip { None } else { Some(bevy::render::render_resource::Face::Back) },
        double_sided: strip,
        ..default()
    }
}

/// Multiplies a mesh's UVs by `repeats`.
fn scale_uvs(mesh: &mut Mesh, repeats: Vec2) {
    if let Some(bevy::mesh::VertexAttributeValues::Float32x2(uvs)) = mesh.attribute_mut(Mesh::ATTRIBUTE_UV_0) {
        for uv in uvs.iter_mut() {
            uv[0] *= repeats.x;
            uv[1] *= repeats.y;
        }
    }
}
