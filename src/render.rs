//! `vlmgym render`: run an env and write its last frame as PNG, or the episode as GIF.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, RgbaImage};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use vlmgym_envs::{make_with, Options};
use vlmgym_render::{make_renderer, RenderConfig, RendererKind};
use vlmgym_reward::device::Device;

use crate::train::{checkpoint_file, CheckpointRun};

/// What to render.
pub struct RenderArgs {
    /// Registered env id (None: the checkpoint's).
    pub env_id: Option<String>,
    /// A run directory or checkpoint file whose policy acts instead of random actions.
    pub checkpoint: Option<PathBuf>,
    /// Sample the policy's actions instead of taking the most likely one.
    pub stochastic: bool,
    /// Where the policy runs.
    pub device: Device,
    /// Constructor kwargs (over the checkpoint's own).
    pub kwargs: Options,
    /// Reset seed.
    pub seed: u64,
    /// Steps to take (random actions, or the checkpoint's policy).
    pub steps: usize,
    /// Scene camera (None: the env's default).
    pub camera: Option<String>,
    /// Image width and height.
    pub size: (u32, u32),
    /// `.png` (last frame) or `.gif` (every frame).
    pub out: PathBuf,
    /// Which renderer draws the frames.
    pub renderer: RendererKind,
}

/// Parses `WxH`, e.g. `224x224`.
pub fn parse_size(text: &str) -> Result<(u32, u32)> {
    let (w, h) = text.split_once(['x', 'X']).with_context(|| format!("--size `{text}` is not WxH (e.g. 224x224)"))?;
    let parse = |s: &str| s.trim().parse::<u32>().ok().filter(|v| (1..=4096).contains(v));
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => bail!("--size `{text}`: width and height must be whole numbers from 1 to 4096"),
    }
}

/// Runs the env with seeded random actions, or a checkpoint's policy, and writes the frames.
/// An episode that ends is reset and the run goes on.
pub fn render(args: RenderArgs) -> Result<PathBuf> {
    let gif = match args.out.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref() {
        Some("png") => false,
        Some("gif") => true,
        _ => bail!("--out must end in .png (last frame) or .gif (the whole run), got {}", args.out.display()),
    };
    let policy = match &args.checkpoint {
        Some(path) => {
            let file = checkpoint_file(path)?;
            let run = CheckpointRun::read(&file)?;
            Some((file, run))
        }
        None => None,
    };
    let env_id = match (&args.env_id, &policy) {
        (Some(id), _) => id.clone(),
        (None, Some((_, run))) => run.env_id.clone(),
        (None, None) => bail!("name an env id (see `vlmgym list`) or pass --checkpoint"),
    };
    let mut kwargs = policy.as_ref().map(|(_, run)| run.kwargs.clone()).unwrap_or_default();
    kwargs.extend(args.kwargs.clone());
    let mut env = make_with(&env_id, &kwargs)?;
    if let Some((_, run)) = &policy {
        // A pixel policy watches the frames it trained on.
        env = run.observing(env)?;
    }
    let (mut obs, _) = env.reset(Some(args.seed), &Options::new())?;
    if env.scene().is_none() {
        bail!("{env_id} does not describe a scene, so it cannot be rendered");
    }
    let mut act = match &policy {
        Some((file, run)) => Some(run.policy(file, &env_id, env.as_ref(), !args.stochastic, &args.device)?),
        None => None,
    };
    let obs_space = env.observation_space().clone();
    let cfg = RenderConfig { width: args.size.0, height: args.size.1, camera: args.camera.clone() };
    let mut renderer = make_renderer(args.renderer, 1, cfg)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5eed);
    let mut frames = Vec::new();
    for step in 0..=args.steps {
        if gif || step == args.steps {
            let scene = env.scene().context("the env stopped describing its scene")?;
            frames.push(vlmgym_render::frames::image(&renderer.render(&[scene])?, 0));
        }
        if step == args.steps {
            break;
        }
        let action = match &mut act {
            Some(act) => act(&obs_space.flatten(&obs)?, &mut rng)?,
            None => env.action_space().sample(&mut rng),
        };
        let s = env.step(&action)?;
        obs = if s.done() { env.reset(None, &Options::new())?.0 } else { s.obs };
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = tmp_path(&args.out);
    if gif {
        let file = std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        let mut enc = GifEncoder::new_with_speed(file, 10);
        enc.set_repeat(Repeat::Infinite)?;
        for f in frames {
            let rgba: RgbaImage = image::DynamicImage::ImageRgb8(f).to_rgba8();
            enc.encode_frame(Frame::from_parts(rgba, 0, 0, Delay::from_numer_denom_ms(1000, 15)))?;
        }
    } else {
        frames.last().expect("one frame").save_with_format(&tmp, image::ImageFormat::Png)?;
    }
    std::fs::rename(&tmp, &args.out).with_context(|| format!("cannot write {}", args.out.display()))?;
    Ok(args.out)
}

fn tmp_path(out: &Path) -> PathBuf {
    let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("frame");
    out.with_file_name(format!(".{name}.tmp"))
}
