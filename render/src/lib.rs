//! vlmgym-render: turns environment [`Scene`](vlmgym_envs::Scene)s into batches of RGB
//! [`Frames`], with two backends over the same Scene:
//!
//! * [`raster`] ([`RasterRenderer`]): a CPU rasteriser. Z-buffered triangles, ambient +
//!   Lambert shading, tiled mipmapped textures, one frame per rayon task; deterministic
//!   (the same scenes give the same bytes on any thread count) and needs no GPU. The
//!   default for everything that trains or scores.
//! * `BatchRenderer` (feature `bevy`, on by default): bevy headless. One bevy `App` holds
//!   every env of a batch, each on its own `RenderLayers` layer with its own camera and
//!   image target. The first `render` spawns each Scene's objects once; later calls only
//!   move the dynamic ones. Each call renders all envs in one update and reads the images
//!   back, hiding bevy's one-update readback lag, so the frames returned always show the
//!   state just passed in. Pipelined rendering is off, MSAA is off and the sun casts no
//!   shadows (cheap defaults for lavapipe, Mesa's CPU Vulkan driver).
//!
//! With the `viewer` feature (implies `bevy`), `viewer` opens a window that plays one env
//! live. Without default features only the rasteriser is built (no bevy).

mod backend;
#[cfg(feature = "bevy")]
mod batch;
pub mod frames;
pub mod raster;
pub mod textures;
pub mod vector;
#[cfg(feature = "viewer")]
pub mod viewer;

pub use backend::{make_renderer, RendererKind, SceneRenderer};
#[cfg(feature = "bevy")]
pub use batch::BatchRenderer;
pub use frames::Frames;
pub use raster::{RasterOptions, RasterRenderer, RasterTimings};
pub use vector::{ObsMode, PixelObservation, RenderedVecEnv};

/// What a renderer (either backend) draws: image size and camera.
#[derive(Clone, Debug, PartialEq)]
pub struct RenderConfig {
    /// Image width, pixels.
    pub width: u32,
    /// Image height, pixels.
    pub height: u32,
    /// Scene camera to render from (None: each Scene's first camera).
    pub camera: Option<String>,
}

impl Default for RenderConfig {
    /// 224 x 224 (the VLMs' input size) from each Scene's default camera.
    fn default() -> Self {
        RenderConfig { width: 224, height: 224, camera: None }
    }
}

/// Where the bevy renderer's last `BatchRenderer::render` call spent its time, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct RenderTimings {
    /// Moving objects and cameras to the new state (and spawning, on the first call).
    pub sync: f64,
    /// The bevy update that draws every camera (CPU-side extraction, queueing and lavapipe's
    /// rasterisation).
    pub draw: f64,
    /// Further updates until every readback arrived.
    pub readback: f64,
    /// Unpadding RGBA rows into the `N x H x W x 3` batch.
    pub convert: f64,
}
