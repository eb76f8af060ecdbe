//! The interactive viewer: one env drawn in a window, stepped in real time by a [`Driver`]
//! (keyboard or a trained policy), with a HUD of the env id, step, goal, reward, each
//! reward term and the episode return.
//!
//! Keys: arrows act (the driver maps them to actions; the HUD says how, e.g. W / S / G for the arm), `Space` pauses, `N` steps once while
//! paused, `R` resets, `C` cycles the camera (the Scene's cameras, then a free orbit camera
//! moved by dragging with the left mouse button and zoomed with the wheel), `Esc` or `Q`
//! quits. With [`ViewerConfig::screenshot`] the viewer instead takes exactly `frames` steps,
//! one per drawn frame, saves a screenshot of the window and exits (for tests and docs).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use bevy::camera::visibility::RenderLayers;
use bevy::core_pipeline::tonemapping::Tonemapping;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll};
use bevy::prelude::*;
use bevy::render::pipelined_rendering::PipelinedRenderingPlugin;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::{ExitCondition, WindowResolution};
use vlmgym_envs::scene::Scene;

use crate::batch::{camera_transform, spawn_light_and_sky, to_vec3, AssetCache, DynamicObjects};

/// The keys that act, held this step: arrows, and W / S / G for the arm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Controls {
    /// Left arrow.
    pub left: bool,
    /// Right arrow.
    pub right: bool,
    /// Up arrow.
    pub up: bool,
    /// Down arrow.
    pub down: bool,
    /// W (raise).
    pub raise: bool,
    /// S (lower).
    pub lower: bool,
    /// G (grip).
    pub grip: bool,
}

/// What the HUD shows, as the driver reports it after each step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HudState {
    /// Env id.
    pub env_id: String,
    /// Who acts: "keyboard" or the checkpoint.
    pub controller: String,
    /// Steps taken in this episode.
    pub step: u64,
    /// Episodes finished so far.
    pub episode: u64,
    /// The goal text, if a language reward is scored.
    pub goal: Option<String>,
    /// The last step's reward.
    pub reward: f64,
    /// Each reward term of the last step, by name.
    pub terms: Vec<(String, f64)>,
    /// The episode's return so far.
    pub episode_return: f64,
    /// How the last episode ended, while the next one has not started yet.
    pub ended: Option<String>,
    /// What the keys do in this env (empty: "arrows act").
    pub keys: String,
}

impl HudState {
    /// The HUD text: one fact per line.
    pub fn text(&self, paused: bool, camera: &str) -> String {
        let mut s = format!(
            "{}   step {}   episode {}   {}\n",
            self.env_id,
            self.step,
            self.episode,
            if paused { "PAUSED" } else { "running" }
        );
        s += &format!("control: {}   camera: {camera}\n", self.controller);
        if let Some(g) = &self.goal {
            s += &format!("goal: \"{g}\"\n");
        }
        s += &format!(
            "reward {:+.3}   return {:.2}\n",
            unsigned_zero(self.reward, 3),
            unsigned_zero(self.episode_return, 2)
        );
        let width = self.terms.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (name, v) in &self.terms {
            s += &format!("  {name:<width$} {:+.3}\n", unsigned_zero(*v, 3));
        }
        if let Some(e) = &self.ended {
            s += &format!("episode ended: {e}\n");
        }
        s += if self.keys.is_empty() { "arrows act" } else { &self.keys };
        s += "  space pause  n step  r reset  c camera  esc quit";
        s
    }
}

/// `v`, or 0 when it would print as zero with `decimals` digits (so never as "-0.000").
fn unsigned_zero(v: f64, decimals: i32) -> f64 {
    if v.abs() < 0.5 * 10f64.powi(-decimals) {
        0.0
    } else {
        v
    }
}

/// What the viewer plays: an env and whoever acts in it.
pub trait Driver {
    /// The current state as a Scene.
    fn scene(&self) -> Scene;
    /// Takes one step with these keys held (a policy driver ignores them). An ended episode
    /// is reset by the next step.
    fn step(&mut self, controls: Controls) -> Result<()>;
    /// Starts a new episode.
    fn reset(&mut self) -> Result<()>;
    /// The HUD facts.
    fn hud(&self) -> HudState;
    /// Simulated seconds per step (the viewer plays in real time).
    fn step_seconds(&self) -> f64;
}

/// How the viewer window is set up.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewerConfig {
    /// Window title.
    pub title: String,
    /// Window width, pixels.
    pub width: u32,
    /// Window height, pixels.
    pub height: u32,
    /// The Scene camera to start from (None: its first).
    pub camera: Option<String>,
    /// Save a screenshot of the window here after `frames` steps, then exit.
    pub screenshot: Option<PathBuf>,
    /// Steps before the screenshot (one per drawn frame), or steps before exiting.
    pub frames: Option<u64>,
}

impl Default for ViewerConfig {
    fn default() -> Self {
        ViewerConfig { title: "vlmgym".into(), width: 960, height: 640, camera: None, screenshot: None, frames: None }
    }
}

/// The driver and what the window shows of it (kept on the main thread).
struct Session {
    driver: Box<dyn Driver>,
    objects: DynamicObjects,
    /// Meshes, materials and textures, for objects whose look changes.
    cache: AssetCache,
    camera: Entity,
    hud: Entity,
    /// Scene camera names, then "orbit".
    camera_names: Vec<String>,
    camera_index: usize,
    orbit: Orbit,
    paused: bool,
    accumulated: f64,
    steps: u64,
    /// Frames drawn since the screenshot was asked for.
    shot_wait: Option<u32>,
    error: Arc<Mutex<Option<anyhow::Error>>>,
    saved: Arc<AtomicBool>,
    last_hud: Arc<Mutex<String>>,
    config: ViewerConfig,
}

/// A camera circling a focus point.
#[derive(Clone, Copy, Debug)]
struct Orbit {
    yaw: f32,
    pitch: f32,
    distance: f32,
}

impl Orbit {
    fn transform(&self, focus: Vec3) -> Transform {
        let dir = Vec3::new(self.yaw.cos() * self.pitch.cos(), self.pitch.sin(), self.yaw.sin() * self.pitch.cos());
        Transform::from_translation(focus + dir * self.distance).looking_at(focus, Vec3::Y)
    }
}

#[derive(Component)]
struct HudText;

/// Opens the window and plays `driver` until the window closes (or, with a screenshot
/// asked for, until it is saved). Returns the HUD text last shown; errors from the driver
/// end the viewer and are returned.
pub fn run(driver: Box<dyn Driver>, config: ViewerConfig) -> Result<String> {
    if config.screenshot.is_some() && config.frames.is_none() {
        bail!("a screenshot needs --frames N (the steps to take before it)");
    }
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        bail!("the viewer needs a display (DISPLAY is not set); on a server run it under `xvfb-run -a`");
    }
    let scene = driver.scene();
    let camera_names: Vec<String> =
        scene.cameras.iter().map(|c| c.name.clone()).chain(std::iter::once("orbit".to_string())).collect();
    let camera_index = match &config.camera {
        Some(name) => camera_names
            .iter()
            .position(|c| c == name)
            .with_context(|| format!("the scene has no camera `{name}` (it has: {})", camera_names.join(", ")))?,
        None => 0,
    };
    let mut app = App::new();
    let window = Window {
        title: config.title.clone(),
        resolution: WindowResolution::new(config.width, config.height),
        ..default()
    };
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(window),
                exit_condition: ExitCondition::OnPrimaryClosed,
                ..default()
            })
            .set(bevy::render::RenderPlugin { synchronous_pipeline_compilation: true, ..default() })
            .disable::<PipelinedRenderingPlugin>()
            .disable::<bevy::log::LogPlugin>(),
    );
    let error = Arc::new(Mutex::new(None));
    let saved = Arc::new(AtomicBool::new(false));
    let last_hud = Arc::new(Mutex::new(String::new()));
    let world = app.world_mut();
    let mut cache = AssetCache::default();
    spawn_light_and_sky(world, &scene, RenderLayers::layer(0));
    let statics: Vec<_> = scene.objects.iter().filter(|o| !o.dynamic).collect();
    cache.spawn_static(world, &statics, 0)?;
    let objects = DynamicObjects::spawn(&mut cache, world, &scene, 0)?;
    let camera = world
        .spawn((
            Camera3d::default(),
            Camera {
                clear_color: bevy::camera::ClearColorConfig::Custom(crate::batch::srgb(scene.sky_color)),
                ..default()
            },
            Tonemapping::None,
            Msaa::Off,
            Projection::Perspective(PerspectiveProjection { far: 2.0 * crate::batch::SKY_RADIUS, ..default() }),
            Transform::default(),
        ))
        .id();
    let hud = world
        .spawn((
            Text::new(""),
            TextFont { font_size: FontSize::Px(14.0), ..default() },
            TextColor(Color::WHITE),
            BackgroundColor(Color::srgba(0.0, 0.0, 0.0, 0.55)),
            Node {
                position_type: PositionType::Absolute,
                top: px(8),
                left: px(8),
                padding: UiRect::all(px(6)),
                ..default()
            },
            HudText,
        ))
        .id();
    let mut session = Session {
        driver,
        objects,
        cache,
        camera,
        hud,
        camera_names,
        camera_index,
        orbit: Orbit { yaw: 0.6, pitch: 0.35, distance: 12.0 },
        paused: false,
        accumulated: 0.0,
        steps: 0,
        shot_wait: None,
        error: error.clone(),
        saved: saved.clone(),
        last_hud: last_hud.clone(),
        config,
    };
    session.show(world);
    app.insert_non_send(session);
    // Single-threaded: the driver may render headless frames (its own bevy app) while it steps.
    app.edit_schedule(Update, |s| {
        s.set_executor(bevy::ecs::schedule::SingleThreadedExecutor::new());
    });
    app.add_systems(Update, tick);
    app.run();
    if let Some(e) = error.lock().expect("lock").take() {
        return Err(e);
    }
    let text = last_hud.lock().expect("lock").clone();
    Ok(text)
}

/// One window frame: input, real-time stepping, syncing the drawn scene, the HUD, and the
/// screenshot when one is asked for.
fn tick(world: &mut World) {
    let Some(mut s) = world.remove_non_send::<Session>() else { return };
    if let Err(e) = s.frame(world) {
        *s.error.lock().expect("lock") = Some(e);
        world.write_message(AppExit::error());
    }
    world.insert_non_send(s);
}

impl Session {
    fn frame(&mut self, world: &mut World) -> Result<()> {
        if let Some(frames) = self.config.frames {
            return self.scripted(world, frames);
        }
        let keys = world.resource::<ButtonInput<KeyCode>>();
        let controls = Controls {
            left: keys.pressed(KeyCode::ArrowLeft),
            right: keys.pressed(KeyCode::ArrowRight),
            up: keys.pressed(KeyCode::ArrowUp),
            down: keys.pressed(KeyCode::ArrowDown),
            raise: keys.pressed(KeyCode::KeyW),
            lower: keys.pressed(KeyCode::KeyS),
            grip: keys.pressed(KeyCode::KeyG),
        };
        let (pause, step_once, reset, cycle, quit) = (
            keys.just_pressed(KeyCode::Space),
            keys.just_pressed(KeyCode::KeyN),
            keys.just_pressed(KeyCode::KeyR),
            keys.just_pressed(KeyCode::KeyC),
            keys.just_pressed(KeyCode::Escape) || keys.just_pressed(KeyCode::KeyQ),
        );
        if quit {
            world.write_message(AppExit::Success);
            return Ok(());
        }
        if pause {
            self.paused = !self.paused;
            self.accumulated = 0.0;
        }
        if cycle {
            self.camera_index = (self.camera_index + 1) % self.camera_names.len();
        }
        if reset {
            self.driver.reset()?;
        }
        let drag = world.resource::<ButtonInput<MouseButton>>().pressed(MouseButton::Left);
        let motion = world.resource::<AccumulatedMouseMotion>().delta;
        let scroll = world.resource::<AccumulatedMouseScroll>().delta.y;
        if drag {
            self.orbit.yaw += motion.x * 0.008;
            self.orbit.pitch = (self.orbit.pitch + motion.y * 0.008).clamp(-0.1, 1.5);
        }
        self.orbit.distance = (self.orbit.distance * (1.0 - 0.1 * scroll)).clamp(1.0, 200.0);
        if self.paused {
            if step_once {
                self.driver.step(controls)?;
            }
        } else {
            // Real time, but at most a few steps per drawn frame (lavapipe draws slowly).
            let dt = self.driver.step_seconds().max(1e-3);
            self.accumulated = (self.accumulated + world.resource::<Time>().delta_secs_f64()).min(4.0 * dt);
            while self.accumulated >= dt {
                self.accumulated -= dt;
                self.driver.step(controls)?;
            }
        }
        self.show(world);
        Ok(())
    }

    /// Screenshot mode: one step per frame until `frames`, then a few frames for the
    /// window to show the last state, then the screenshot, then exit once it is saved.
    fn scripted(&mut self, world: &mut World, frames: u64) -> Result<()> {
        if self.steps < frames {
            self.driver.step(Controls::default())?;
            self.steps += 1;
            self.show(world);
            return Ok(());
        }
        let Some(path) = self.config.screenshot.clone() else {
            world.write_message(AppExit::Success);
            return Ok(());
        };
        match self.shot_wait {
            None => self.shot_wait = Some(0),
            Some(3) => {
                let saved = self.saved.clone();
                let error = self.error.clone();
                world.spawn(Screenshot::primary_window()).observe(move |ev: On<ScreenshotCaptured>| {
                    let result = ev
                        .image
                        .clone()
                        .try_into_dynamic()
                        .map_err(|e| anyhow::anyhow!("the screenshot is not an RGB image: {e}"))
                        .and_then(|img| save_png(&img.to_rgb8(), &path));
                    if let Err(e) = result {
                        *error.lock().expect("lock") = Some(e);
                    }
                    saved.store(true, Ordering::SeqCst);
                });
                self.shot_wait = Some(4);
            }
            Some(n) if n < 3 => self.shot_wait = Some(n + 1),
            Some(n) => {
                if self.saved.load(Ordering::SeqCst) {
                    world.write_message(AppExit::Success);
                } else if n > 600 {
                    bail!("the screenshot was not captured after 600 frames");
                } else {
                    self.shot_wait = Some(n + 1);
                }
            }
        }
        Ok(())
    }

    /// Moves the drawn objects and the camera to the driver's state and updates the HUD.
    fn show(&mut self, world: &mut World) {
        let scene = self.driver.scene();
        if let Err(e) = self.objects.sync(&mut self.cache, world, &scene) {
            *self.error.lock().expect("lock") = Some(e);
        }
        let name = self.camera_names[self.camera_index].clone();
        let transform = match scene.camera(&name) {
            Some(cam) => {
                if let Some(mut p) = world.get_mut::<Projection>(self.camera) {
                    if let Projection::Perspective(pp) = p.as_mut() {
                        pp.fov = cam.fov_y_deg.to_radians();
                    }
                }
                camera_transform(cam)
            }
            None => {
                let focus = scene.cameras.first().map(|c| to_vec3(c.target)).unwrap_or(Vec3::ZERO);
                self.orbit.transform(focus)
            }
        };
        if let Some(mut t) = world.get_mut::<Transform>(self.camera) {
            *t = transform;
        }
        let text = self.driver.hud().text(self.paused, &name);
        if let Some(mut t) = world.get_mut::<Text>(self.hud) {
            if t.0 != text {
                t.0 = text.clone();
            }
        }
        *self.last_hud.lock().expect("lock") = text;
    }
}

/// Writes a PNG through a temporary file, so a reader never sees half of it.
fn save_png(img: &image::RgbImage, path: &std::path::Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("screenshot");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    img.save_with_format(&tmp, image::ImageFormat::Png).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hud_text_lists_every_fact_and_term() {
        let hud = HudState {
            env_id: "Driving-v0".into(),
            controller: "checkpoint runs/a".into(),
            step: 42,
            episode: 3,
            goal: Some("the car drives in the centre of its lane".into()),
            reward: 0.75,
            terms: vec![("semantic".into(), 0.9), ("speed".into(), -0.25)],
            episode_return: 12.5,
            ended: None,
            keys: String::new(),
        };
        let tiny = HudState { reward: -1e-6, episode_return: -0.0, ..HudState::default() };
        assert!(tiny.text(false, "side").contains("reward +0.000   return 0.00"), "{}", tiny.text(false, "side"));
        let text = hud.text(true, "chase");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Driving-v0   step 42   episode 3   PAUSED");
        assert_eq!(lines[1], "control: checkpoint runs/a   camera: chase");
        assert_eq!(lines[2], "goal: \"the car drives in the centre of its lane\"");
        assert_eq!(lines[3], "reward +0.750   return 12.50");
        assert_eq!(lines[4], "  semantic +0.900");
        assert_eq!(lines[5], "  speed    -0.250");
        assert!(lines[6].starts_with("arrows act"));
    }

    #[test]
    fn orbit_camera_looks_at_its_focus_from_its_distance() {
        let o = Orbit { yaw: 0.3, pitch: 0.4, distance: 10.0 };
        let focus = Vec3::new(5.0, 0.0, -2.0);
        let t = o.transform(focus);
        assert!((t.translation.distance(focus) - 10.0).abs() < 1e-4);
        let forward = t.forward();
        let to_focus = (focus - t.translation).normalize();
        assert!(forward.dot(to_focus) > 0.9999);
    }
}
