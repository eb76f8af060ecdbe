//! [`RenderedVecEnv`]: a vector-env wrapper that renders every env after every step, for
//! pixel policies (frames as the observation) and language rewards (frames alongside the
//! state observation).

use anyhow::{Context, Result};
use vlmgym_envs::{AutoresetMode, BoxSpace, Info, Options, Scene, Space, Value, VecEnv, VecStep, VectorEnv};

use crate::{make_renderer, Frames, RenderConfig, RendererKind, SceneRenderer};

/// What the wrapped env observes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObsMode {
    /// The frame replaces the observation: a `Box` of shape `[3, H, W]` (CHW, as a CNN
    /// policy expects) with values 0..=255.
    Pixels,
    /// The env's own observation; the frames are kept alongside ([`RenderedVecEnv::frames`]).
    State,
}

/// Renders all N envs of a [`VecEnv`] in one batch after each reset and step (see the
/// module docs). In [`AutoresetMode::SameStep`] it also draws the last state of each
/// episode that ended ([`RenderedVecEnv::final_frames`]), so a reward model scores the
/// state the action led to, not the next episode's first.
pub struct RenderedVecEnv {
    inner: VecEnv,
    renderer: Box<dyn SceneRenderer>,
    mode: ObsMode,
    space: Space,
    frames: Option<Frames>,
    final_frames: Vec<Option<Vec<u8>>>,
    render_seconds: f64,
}

impl RenderedVecEnv {
    /// Wraps `inner`, drawing with the CPU rasteriser (the default for training frames);
    /// every env must describe a Scene (with the camera `config` names).
    pub fn new(inner: VecEnv, config: RenderConfig, mode: ObsMode) -> Result<Self> {
        Self::with_renderer(inner, RendererKind::Raster, config, mode)
    }

    /// Wraps `inner`, drawing with the `kind` backend.
    pub fn with_renderer(inner: VecEnv, kind: RendererKind, config: RenderConfig, mode: ObsMode) -> Result<Self> {
        let n = inner.num_envs();
        let (w, h) = (config.width as usize, config.height as usize);
        let space = match mode {
            ObsMode::Pixels => Space::Box(BoxSpace::uniform(0.0, 255.0, vec![3, h, w])),
            ObsMode::State => inner.single_observation_space().clone(),
        };
        let inner = inner.with_final_scenes(true);
        let renderer = make_renderer(kind, n, config)?;
        Ok(RenderedVecEnv {
            inner,
            renderer,
            mode,
            space,
            frames: None,
            final_frames: vec![None; n],
            render_seconds: 0.0,
        })
    }

    /// The frames of the envs' current states (after the last reset or step).
    pub fn frames(&self) -> Option<&Frames> {
        self.frames.as_ref()
    }

    /// For each env whose episode ended in the last step (SameStep autoreset), the frame of
    /// its last state as `H x W x 3` bytes; None for the others.
    pub fn final_frames(&self) -> &[Option<Vec<u8>>] {
        &self.final_frames
    }

    /// Seconds the last reset or step spent rendering (scenes and the renderer).
    pub fn render_seconds_last_step(&self) -> f64 {
        self.render_seconds
    }

    /// Which backend draws the frames.
    pub fn renderer(&self) -> RendererKind {
        self.renderer.kind()
    }

    /// The wrapped vector env.
    pub fn inner(&self) -> &VecEnv {
        &self.inner
    }

    fn scenes(&self) -> Result<Vec<Scene>> {
        self.inner
            .scenes()
            .into_iter()
            .enumerate()
            .map(|(i, s)| s.with_context(|| format!("env {i} does not describe a scene, so it cannot be rendered")))
            .collect()
    }

    fn draw(&mut self) -> Result<()> {
        let t = std::time::Instant::now();
        let scenes = self.scenes()?;
        match &mut self.frames {
            Some(frames) => self.renderer.render_into(&scenes, frames)?,
            None => self.frames = Some(self.renderer.render(&scenes)?),
        }
        self.render_seconds += t.elapsed().as_secs_f64();
        Ok(())
    }

    /// The observation batch for the current frames (Pixels mode) or `state` (State mode).
    fn observe(&self, state: Vec<f32>) -> Vec<f32> {
        match (self.mode, &self.frames) {
            (ObsMode::Pixels, Some(f)) => (0..f.len())
                .flat_map(|i| chw(f.frame(i).expect("frame"), f.width() as u32, f.height() as u32))
                .collect(),
            _ => state,
        }
    }
}

/// `H x W x 3` bytes to CHW floats 0..=255.
pub fn chw(frame: &[u8], width: u32, height: u32) -> Vec<f32> {
    let plane = width as usize * height as usize;
    let mut out = vec![0.0f32; 3 * plane];
    for (p, px) in frame.chunks_exact(3).enumerate() {
        for c in 0..3 {
            out[c * plane + p] = f32::from(px[c]);
        }
    }
    out
}

impl VectorEnv for RenderedVecEnv {
    fn num_envs(&self) -> usize {
        self.inner.num_envs()
    }
    fn single_observation_space(&self) -> &Space {
        &self.space
    }
    fn single_action_space(&self) -> &Space {
        self.inner.single_action_space()
    }
    fn autoreset_mode(&self) -> AutoresetMode {
        self.inner.autoreset_mode()
    }
    fn reset(&mut self, seed: Option<u64>, options: &Options) -> vlmgym_envs::Result<(Vec<f32>, Vec<Info>)> {
        let (obs, infos) = self.inner.reset(seed, options)?;
        self.render_seconds = 0.0;
        self.draw().map_err(render_error)?;
        self.final_frames.iter_mut().for_each(|f| *f = None);
        Ok((self.observe(obs), infos))
    }
    fn step(&mut self, actions: &[Value]) -> vlmgym_envs::Result<VecStep> {
        let mut step = self.inner.step(actions)?;
        self.final_frames.iter_mut().for_each(|f| *f = None);
        self.render_seconds = 0.0;
        let t = std::time::Instant::now();
        if step.final_scene.iter().any(Option::is_some) {
            // Draw the ended episodes' last states (the others as they are now).
            let mut scenes = self.scenes().map_err(render_error)?;
            for (s, fin) in scenes.iter_mut().zip(&step.final_scene) {
                if let Some(f) = fin {
                    *s = f.clone();
                }
            }
            let last = self.renderer.render(&scenes).map_err(render_error)?;
            for (i, fin) in step.final_scene.iter().enumerate() {
                if fin.is_some() {
                    self.final_frames[i] = Some(last.frame(i).expect("frame").to_vec());
                    if self.mode == ObsMode::Pixels {
                        step.final_obs[i] =
                            Some(chw(last.frame(i).expect("frame"), last.width() as u32, last.height() as u32));
                    }
                }
            }
        }
        self.render_seconds += t.elapsed().as_secs_f64();
        self.draw().map_err(render_error)?;
        step.obs = self.observe(std::mem::take(&mut step.obs));
        Ok(step)
    }
    fn close(&mut self) {
        self.inner.close();
    }
}

fn render_error(e: anyhow::Error) -> vlmgym_envs::EnvError {
    vlmgym_envs::EnvError::Wrapper(format!("{e:#}"))
}

/// One env whose observation is its camera frame: a `Box` of shape `[3, H, W]` with values
/// 0..=255, drawn after every reset and step exactly as [`RenderedVecEnv`] draws it in
/// [`ObsMode::Pixels`] (so a pixel policy trained on the vector env is evaluated and watched
/// on the same pictures).
pub struct PixelObservation {
    inner: Box<dyn vlmgym_envs::Env>,
    renderer: crate::RasterRenderer,
    space: Space,
}

impl PixelObservation {
    /// Wraps `inner`, drawing its `config` camera with the CPU rasteriser (the renderer of
    /// training frames).
    pub fn new(inner: Box<dyn vlmgym_envs::Env>, config: RenderConfig) -> Result<Self> {
        let (w, h) = (config.width as usize, config.height as usize);
        let space = Space::Box(BoxSpace::uniform(0.0, 255.0, vec![3, h, w]));
        let renderer = crate::RasterRenderer::new(1, config)?;
        Ok(PixelObservation { inner, renderer, space })
    }

    fn frame(&mut self) -> vlmgym_envs::Result<Value> {
        let scene = self.inner.scene().ok_or_else(|| {
            vlmgym_envs::EnvError::Wrapper("the env does not describe a scene, so it cannot be rendered".into())
        })?;
        let frames = self
            .renderer
            .render(std::slice::from_ref(&scene))
            .map_err(|e| vlmgym_envs::EnvError::Wrapper(format!("rendering the observation: {e:#}")))?;
        let frame = frames.frame(0).expect("one frame");
        Ok(Value::Box(chw(frame, frames.width() as u32, frames.height() as u32)))
    }
}

impl vlmgym_envs::Env for PixelObservation {
    fn observation_space(&self) -> &Space {
        &self.space
    }

    fn action_space(&self) -> &Space {
        self.inner.action_space()
    }

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> vlmgym_envs::Result<(Value, Info)> {
        let (_, info) = self.inner.reset(seed, options)?;
        Ok((self.frame()?, info))
    }

    fn step(&mut self, action: &Value) -> vlmgym_envs::Result<vlmgym_envs::Step> {
        let mut step = self.inner.step(action)?;
        step.obs = self.frame()?;
        Ok(step)
    }

    fn scene(&self) -> Option<Scene> {
        self.inner.scene()
    }

    fn captions(&self) -> Vec<vlmgym_envs::Caption> {
        self.inner.captions()
    }
}
