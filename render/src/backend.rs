//! One interface over both renderers, so tools choose the backend with a flag
//! (`--renderer raster|bevy`) and everything downstream takes a `Box<dyn SceneRenderer>`.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use vlmgym_envs::Scene;

use crate::{Frames, RasterRenderer, RenderConfig};

/// Draws the Scenes of a fixed number of envs into a batch of RGB frames.
pub trait SceneRenderer {
    /// One frame per scene (`scenes.len()` must equal [`num_envs`](Self::num_envs)) of the
    /// states they describe, as `N x H x W x 3` RGB bytes.
    fn render(&mut self, scenes: &[Scene]) -> Result<Frames>;
    /// [`render`](Self::render) into an existing batch, reshaped if its shape differs. A
    /// caller that renders every step keeps one buffer: a fresh batch each step costs its
    /// page faults (a third of a bird's-eye frame's time on a VM).
    fn render_into(&mut self, scenes: &[Scene], frames: &mut Frames) -> Result<()> {
        *frames = self.render(scenes)?;
        Ok(())
    }
    /// Number of envs this renderer draws.
    fn num_envs(&self) -> usize;
    /// Which backend this is.
    fn kind(&self) -> RendererKind;
}

/// A renderer backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RendererKind {
    /// The CPU rasteriser: the default for frames that train or score.
    #[default]
    Raster,
    /// bevy headless (lavapipe on a CPU machine, the GPU on a server).
    Bevy,
}

impl RendererKind {
    /// `raster` or `bevy`.
    pub fn name(self) -> &'static str {
        match self {
            RendererKind::Raster => "raster",
            RendererKind::Bevy => "bevy",
        }
    }
}

impl fmt::Display for RendererKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RendererKind {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "raster" => Ok(RendererKind::Raster),
            "bevy" => Ok(RendererKind::Bevy),
            other => bail!("unknown renderer `{other}` (known: raster, bevy)"),
        }
    }
}

impl SceneRenderer for RasterRenderer {
    fn render(&mut self, scenes: &[Scene]) -> Result<Frames> {
        RasterRenderer::render(self, scenes)
    }
    fn render_into(&mut self, scenes: &[Scene], frames: &mut Frames) -> Result<()> {
        RasterRenderer::render_into(self, scenes, frames)
    }
    fn num_envs(&self) -> usize {
        RasterRenderer::num_envs(self)
    }
    fn kind(&self) -> RendererKind {
        RendererKind::Raster
    }
}

#[cfg(feature = "bevy")]
impl SceneRenderer for crate::BatchRenderer {
    fn render(&mut self, scenes: &[Scene]) -> Result<Frames> {
        crate::BatchRenderer::render(self, scenes)
    }
    fn num_envs(&self) -> usize {
        crate::BatchRenderer::num_envs(self)
    }
    fn kind(&self) -> RendererKind {
        RendererKind::Bevy
    }
}

/// A renderer of `kind` for `num_envs` envs. Asking for bevy in a build without the `bevy`
/// feature is an error that says so.
pub fn make_renderer(kind: RendererKind, num_envs: usize, config: RenderConfig) -> Result<Box<dyn SceneRenderer>> {
    match kind {
        RendererKind::Raster => Ok(Box::new(RasterRenderer::new(num_envs, config)?)),
        #[cfg(feature = "bevy")]
        RendererKind::Bevy => Ok(Box::new(crate::BatchRenderer::new(num_envs, config)?)),
        #[cfg(not(feature = "bevy"))]
        RendererKind::Bevy => bail!("this build of vlmgym-render has no bevy backend (feature `bevy`); use raster"),
    }
}
