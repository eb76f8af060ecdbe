//! `vlmgym dataset`: renders frames of envs in many states, with the captions true of each,
//! for training and judging reward models.
//!
//! States come from seeded resets into varied start states (the envs' reset options) and a
//! few random actions after each: CartPole poles from upright to fallen over anywhere on the
//! track; MountainCar cars anywhere on the hill; Driving cars on every map placed across and off the lane, skewed, at all speeds,
//! some rear-ending a stopped car ahead. Each group of frames has its own seed; every
//! `held_out_every`-th seed is held out as the test split, so test frames come from states
//! the training never saw.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use vlmgym_envs::{make_with, Env, Info, Options, Scene};
use vlmgym_render::{BatchRenderer, RenderConfig};
use vlmgym_reward::dataset::{Caption, DatasetWriter, Sample, Split};

/// What `vlmgym dataset` writes.
#[derive(Clone, Debug)]
pub struct DatasetArgs {
    /// Env ids; each gets `frames` frames.
    pub envs: Vec<String>,
    /// Frames per env.
    pub frames: usize,
    /// Output folder.
    pub out: PathBuf,
    /// Square frame side, pixels.
    pub size: u32,
    /// Base seed.
    pub seed: u64,
    /// Every n-th group seed is held out (test split).
    pub held_out_every: u64,
    /// Scene camera: `NAME`, or `ENV=NAME[,...]` (see [`camera_for`]; None: [`reward_camera`]).
    pub camera: Option<String>,
}

/// The camera reward models see `env_id` from unless told otherwise: Driving's bird's-eye
/// view (there a crash shows as two cars touching, where the chase camera shows a car close
/// behind another), else the env's first camera. The shipped tower was trained on these.
pub fn reward_camera(env_id: &str) -> Option<String> {
    env_id.starts_with("Driving").then(|| "bev".to_string())
}

/// The camera to render `env_id` from, given a `--camera` value: `NAME` for every env,
/// `ENV=NAME[,ENV=NAME...]` per env (envs not named keep their [`reward_camera`]), or
/// nothing (the reward camera).
pub fn camera_for(spec: Option<&str>, env_id: &str) -> Result<Option<String>> {
    let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(reward_camera(env_id)) };
    if !spec.contains('=') {
        return Ok(Some(spec.to_string()));
    }
    let mut chosen = None;
    for pair in spec.split(',') {
        let Some((env, name)) = pair.split_once('=') else {
            bail!("--camera `{spec}`: `{pair}` is not ENV=NAME (use one NAME, or ENV=NAME pairs)")
        };
        let (env, name) = (env.trim(), name.trim());
        vlmgym_envs::registry::spec(env).with_context(|| format!("--camera `{spec}`"))?;
        if name.is_empty() {
            bail!("--camera `{spec}`: no camera name for {env}");
        }
        if env == env_id {
            chosen = Some(name.to_string());
        }
    }
    Ok(chosen.or_else(|| reward_camera(env_id)))
}

/// One env configuration frames are drawn from (Driving: one per map).
struct Source {
    env_id: String,
    kwargs: Options,
    frames: usize,
}

fn sources(args: &DatasetArgs) -> Vec<Source> {
    let mut out = Vec::new();
    for id in &args.envs {
        if id == "Driving-v0" {
            let maps = ["loop", "town", "country"];
            for (k, map) in maps.iter().enumerate() {
                let mut kwargs = Options::new();
                kwargs.insert("map".into(), json!(map));
                let share = args.frames / maps.len() + usize::from(k < args.frames % maps.len());
                out.push(Source { env_id: id.clone(), kwargs, frames: share });
            }
        } else {
            out.push(Source { env_id: id.clone(), kwargs: Options::new(), frames: args.frames });
        }
    }
    out
}

/// A group of states: reset options, the number of random steps, and which steps to record.
struct Plan {
    options: Options,
    steps: usize,
    record_every: usize,
}

fn plan(env_id: &str, rng: &mut ChaCha8Rng) -> Plan {
    let mut options = Options::new();
    match env_id {
        "CartPole-v1" => {
            // Half near upright (inside the 12 degree limit), half anywhere to lying flat.
            let theta = if rng.random_bool(0.5) { rng.random_range(-0.2..0.2) } else { rng.random_range(-1.5..1.5) };
            let x = rng.random_range(-2.6..2.6);
            options.insert("init_state".into(), json!([x, rng.random_range(-0.5..0.5), theta, 0.0]));
            Plan { options, steps: 3, record_every: 3 }
        }
        "Driving-v0" => {
            options.insert("route_progress".into(), json!(rng.random_range(0.0..150.0)));
            let scenario = rng.random_range(0..10);
            if scenario < 3 {
                // Rear-end a stopped car ahead.
                options.insert("speed".into(), json!(rng.random_range(6.0..12.0)));
                options.insert("npc_ahead".into(), json!(rng.random_range(6.0..14.0)));
                return Plan { options, steps: 40, record_every: 8 };
            }
            let lateral: f64 = if scenario < 7 { rng.random_range(-0.6..0.6) } else { rng.random_range(-2.9..2.9) };
            options.insert("lateral_offset".into(), json!(lateral));
            options.insert("heading_error".into(), json!(rng.random_range(-0.5..0.5)));
            options.insert("speed".into(), json!(rng.random_range(0.0..12.0)));
            Plan { options, steps: 24, record_every: 8 }
        }
        "MountainCar-v0" | "MountainCarContinuous-v0" => {
            // Anywhere on the track, moving either way (the default reset starts in the valley).
            let state = json!([rng.random_range(-1.2..0.6), rng.random_range(-0.07..0.07)]);
            options.insert("init_state".into(), state);
            Plan { options, steps: 3, record_every: 3 }
        }
        _ => Plan { options, steps: 50, record_every: 5 },
    }
}

/// Random actions, with Driving's steering kept small (so cars drift rather than spin).
fn action(env_id: &str, env: &dyn Env, rng: &mut ChaCha8Rng) -> vlmgym_envs::Value {
    if env_id == "Driving-v0" {
        if let vlmgym_envs::Space::Box(_) = env.action_space() {
            let steer: f32 = rng.random_range(-0.25..0.25);
            return vlmgym_envs::Value::Box(vec![steer, rng.random_range(-0.2..0.9)]);
        }
    }
    env.action_space().sample(rng)
}

fn state_numbers(info: &Info) -> BTreeMap<String, f64> {
    info.get("state")
        .and_then(|s| s.as_object())
        .map(|m| m.iter().filter_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x))).collect())
        .unwrap_or_default()
}

fn success(env_id: &str, info: &Info, terminated: bool) -> bool {
    match env_id {
        "Driving-v0" => info.get("collision").is_none_or(|c| c.is_null()) && !terminated,
        _ => !terminated,
    }
}

/// Renders the queued scenes `batch` at a time and pushes them to the writer.
struct Queue {
    renderer: BatchRenderer,
    batch: usize,
    pending: Vec<(Scene, Sample)>,
}

impl Queue {
    /// Renders and writes full batches; with `all`, also the rest (padded to a batch).
    fn flush(&mut self, sink: &mut dyn FnMut(&[u8], Sample) -> Result<()>, bar: &ProgressBar, all: bool) -> Result<()> {
        while self.pending.len() >= self.batch || (all && !self.pending.is_empty()) {
            let take = self.pending.len().min(self.batch);
            let chunk: Vec<(Scene, Sample)> = self.pending.drain(..take).collect();
            let mut scenes: Vec<Scene> = chunk.iter().map(|(s, _)| s.clone()).collect();
            while scenes.len() < self.batch {
                scenes.push(scenes[scenes.len() - 1].clone());
            }
            let frames = self.renderer.render(&scenes)?;
            for (i, (_, sample)) in chunk.into_iter().enumerate() {
                sink(frames.frame(i), sample)?;
                bar.inc(1);
            }
        }
        Ok(())
    }
}

/// Writes the dataset; returns the number of frames and the folder.
pub fn write(args: &DatasetArgs) -> Result<(usize, PathBuf)> {
    let mut writer = DatasetWriter::new(&args.out, args.size as usize, args.size as usize)?;
    generate(args, &mut |frame, sample| writer.push(frame, sample))?;
    let n = writer.len();
    let dir = writer.finish()?;
    Ok((n, dir))
}

/// Renders the frames [`write`] would and hands each (frame bytes, sample) to `sink`, in
/// order (`args.out` is not used).
pub fn generate(args: &DatasetArgs, sink: &mut dyn FnMut(&[u8], Sample) -> Result<()>) -> Result<()> {
    if args.envs.is_empty() {
        bail!("--envs is empty: name at least one env id");
    }
    if args.frames == 0 {
        bail!("--frames must be at least 1");
    }
    if args.held_out_every < 2 {
        bail!("--held-out-every must be at least 2 (1 would hold out everything)");
    }
    for id in &args.envs {
        camera_for(args.camera.as_deref(), id)?;
    }
    let total: usize = sources(args).iter().map(|s| s.frames).sum();
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} frames ({per_sec}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut group_seed = args.seed;
    for src in sources(args) {
        bar.set_message(src.env_id.clone());
        let mut env = make_with(&src.env_id, &src.kwargs)?;
        env.reset(Some(args.seed), &Options::new())?;
        if env.scene().is_none() {
            bail!("{} does not describe a scene, so it cannot be rendered into a dataset", src.env_id);
        }
        let batch = 16.min(src.frames).max(1);
        let camera = camera_for(args.camera.as_deref(), &src.env_id)?;
        let cfg = RenderConfig { width: args.size, height: args.size, camera };
        let mut queue = Queue { renderer: BatchRenderer::new(batch, cfg)?, batch, pending: Vec::new() };
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5eed_da7a);
        let mut written = 0usize;
        let mut episode = 0u64;
        while written < src.frames {
            let seed = group_seed;
            group_seed += 1;
            let split = if seed % args.held_out_every == args.held_out_every - 1 { Split::Test } else { Split::Train };
            let p = plan(&src.env_id, &mut rng);
            let (_, info) = env
                .reset(Some(seed), &p.options)
                .with_context(|| format!("{}: reset with {:?}", src.env_id, p.options))?;
            let mut record = |env: &dyn Env, step: usize, reward: f64, info: &Info, ok: bool| -> Result<bool> {
                if written >= src.frames {
                    return Ok(false);
                }
                let scene = env.scene().context("the env stopped describing its scene")?;
                let captions =
                    env.captions().into_iter().map(|c| Caption { fact: c.fact, phrasings: c.phrasings }).collect();
                let sample = Sample {
                    env: src.env_id.clone(),
                    seed,
                    episode,
                    step: step as u64,
                    split,
                    captions,
                    reward,
                    success: ok,
                    state: state_numbers(info),
                };
                queue.pending.push((scene, sample));
                written += 1;
                Ok(true)
            };
            let first_ok = success(&src.env_id, &info, false);
            if src.env_id != "CartPole-v1" {
                record(env.as_ref(), 0, 0.0, &info, first_ok)?;
            }
            for t in 1..=p.steps {
                let a = action(&src.env_id, env.as_ref(), &mut rng);
                let step = env.step(&a)?;
                let done = step.terminated || step.truncated;
                if t % p.record_every == 0 || done {
                    let ok = success(&src.env_id, &step.info, step.terminated);
                    record(env.as_ref(), t, step.reward, &step.info, ok)?;
                }
                if done {
                    break;
                }
            }
            episode += 1;
            queue.flush(sink, &bar, false)?;
        }
        queue.flush(sink, &bar, true)?;
    }
    bar.finish_and_clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cameras_default_to_each_envs_reward_camera_and_can_be_set_per_env() {
        assert_eq!(camera_for(None, "Driving-v0").unwrap().as_deref(), Some("bev"));
        assert_eq!(camera_for(None, "CartPole-v1").unwrap(), None);
        assert_eq!(camera_for(Some("chase"), "Driving-v0").unwrap().as_deref(), Some("chase"));
        let per_env = Some("Driving-v0=hood, MountainCar-v0=side");
        assert_eq!(camera_for(per_env, "Driving-v0").unwrap().as_deref(), Some("hood"));
        assert_eq!(camera_for(per_env, "MountainCar-v0").unwrap().as_deref(), Some("side"));
        assert_eq!(camera_for(per_env, "CartPole-v1").unwrap(), None);
        let err = camera_for(Some("Drivin-v0=bev"), "Driving-v0").unwrap_err();
        assert!(format!("{err:#}").contains("Drivin-v0"), "{err:#}");
        let err = camera_for(Some("Driving-v0=bev,chase"), "Driving-v0").unwrap_err();
        assert!(format!("{err:#}").contains("`chase` is not ENV=NAME"), "{err:#}");
        let err = camera_for(Some("Driving-v0="), "Driving-v0").unwrap_err();
        assert!(format!("{err:#}").contains("no camera name for Driving-v0"), "{err:#}");
    }
}
