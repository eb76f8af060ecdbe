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
    /// Scene camera: `NAME` (every env whose scene has it) or `ENV=NAME[,...]`; see
    /// [`resolve_cameras`] (here without a reward model).
    pub camera: Option<String>,
    /// Driving: add groups of close following, near misses and crashes from several gaps,
    /// speeds and lateral offsets (hard positives and negatives for training). Off, the
    /// states are the ones `reward-check` samples, so its figures stay comparable.
    pub extra_crashes: bool,
    /// Driving: leave out frames whose car ahead is within [`AMBIGUOUS_GAP`] with no contact.
    /// Such a frame shows two cars touching, as a rear-end crash does, but is captioned
    /// "there is no collision", which no picture can tell apart; training on both taught the
    /// tower that touching cars may be fine. Off for `reward-check`, which judges every state.
    pub skip_ambiguous: bool,
}

/// Gap (m) to the car ahead under which a frame without contact looks like a rear-end crash
/// (a bird's-eye pixel of the `bev` frame is about 0.48 m at 84x84, 0.36 m at 112x112).
pub const AMBIGUOUS_GAP: f64 = 0.3;

/// The camera reward models see `env_id` from when neither `--camera` nor the reward model
/// says: Driving's bird's-eye view (there a crash shows as two cars touching, where the chase
/// camera shows a car close behind another), else the env's first camera.
pub fn reward_camera(env_id: &str) -> Option<String> {
    env_id.starts_with("Driving").then(|| "bev".to_string())
}

/// A parsed `--camera` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraSpec {
    /// `NAME`: every env whose scene has a camera of that name.
    All(String),
    /// `ENV=NAME[,ENV=NAME...]`: per env (ids checked against the registry).
    PerEnv(BTreeMap<String, String>),
}

impl CameraSpec {
    /// Parses `NAME` or `ENV=NAME[,ENV=NAME...]`; None for an absent or blank value.
    pub fn parse(spec: Option<&str>) -> Result<Option<Self>> {
        let Some(spec) = spec.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
        if !spec.contains('=') {
            return Ok(Some(CameraSpec::All(spec.to_string())));
        }
        let mut map = BTreeMap::new();
        for pair in spec.split(',') {
            let Some((env, name)) = pair.split_once('=') else {
                bail!("--camera `{spec}`: `{pair}` is not ENV=NAME (use one NAME, or ENV=NAME pairs)")
            };
            let (env, name) = (env.trim(), name.trim());
            vlmgym_envs::registry::spec(env).with_context(|| format!("--camera `{spec}`"))?;
            if name.is_empty() {
                bail!("--camera `{spec}`: no camera name for {env}");
            }
            if map.insert(env.to_string(), name.to_string()).is_some() {
                bail!("--camera `{spec}`: {env} is named twice");
            }
        }
        Ok(Some(CameraSpec::PerEnv(map)))
    }
}

/// The names of the cameras `env_id`'s scene offers (the first is its default); errors when
/// the env describes no scene.
pub fn scene_cameras(env_id: &str, kwargs: &Options) -> Result<Vec<String>> {
    let mut env = make_with(env_id, kwargs)?;
    env.reset(Some(0), &Options::new())?;
    let scene = env.scene().with_context(|| format!("{env_id} does not describe a scene, so it cannot be rendered"))?;
    Ok(scene.cameras.iter().map(|c| c.name.clone()).collect())
}

/// The camera each env is rendered from, given `--camera` (`spec`), the cameras each env's
/// scene offers (`envs`: id and names) and the cameras a reward model was trained on
/// (`model`: env id to name, e.g. from [`crate::reward_model::tower_cameras`]). Per env, the
/// first that applies: the spec's `ENV=NAME`; its `NAME` when the scene has it; the model's
/// camera; [`reward_camera`] when the scene has it; the scene's first camera.
///
/// Errors name the problem: a spec that names an env not in `envs` (with `strict_envs`), a
/// `NAME` no env has, or a chosen camera the scene lacks.
pub fn resolve_cameras(
    spec: Option<&str>,
    envs: &[(String, Vec<String>)],
    model: &BTreeMap<String, String>,
    strict_envs: bool,
) -> Result<BTreeMap<String, String>> {
    let parsed = CameraSpec::parse(spec)?;
    let listing = || envs.iter().map(|(e, names)| format!("{e}: {}", names.join(", "))).collect::<Vec<_>>().join("; ");
    match &parsed {
        Some(CameraSpec::All(name)) if !envs.iter().any(|(_, names)| names.contains(name)) => {
            bail!("--camera {name}: no camera `{name}` in any env here ({})", listing())
        }
        Some(CameraSpec::PerEnv(map)) if strict_envs => {
            for env in map.keys() {
                if !envs.iter().any(|(e, _)| e == env) {
                    let ids: Vec<&str> = envs.iter().map(|(e, _)| e.as_str()).collect();
                    bail!("--camera names {env}, which is not one of the envs here ({})", ids.join(", "));
                }
            }
        }
        _ => {}
    }
    let mut out = BTreeMap::new();
    for (env, names) in envs {
        let first = names.first().with_context(|| format!("{env}'s scene has no camera"))?;
        let (name, source) = match (&parsed, model.get(env)) {
            (Some(CameraSpec::PerEnv(map)), _) if map.contains_key(env) => (map[env].clone(), "--camera"),
            (Some(CameraSpec::All(n)), _) if names.contains(n) => (n.clone(), "--camera"),
            (_, Some(m)) => (m.clone(), "the reward model's report"),
            _ => match reward_camera(env).filter(|c| names.contains(c)) {
                Some(c) => (c, "the default"),
                None => (first.clone(), "the default"),
            },
        };
        if !names.contains(&name) {
            bail!("{env} has no camera `{name}` (from {source}); its scene has: {}", names.join(", "));
        }
        out.insert(env.clone(), name);
    }
    Ok(out)
}

/// The one camera a reward model sees `env_id` (with `kwargs`) from: [`resolve_cameras`] with
/// the cameras the tower at `tower` was trained on.
pub fn reward_camera_for(
    spec: Option<&str>,
    env_id: &str,
    kwargs: &Options,
    tower: &std::path::Path,
) -> Result<String> {
    let envs = vec![(env_id.to_string(), scene_cameras(env_id, kwargs)?)];
    let model = crate::reward_model::tower_cameras(tower)?;
    let mut map = resolve_cameras(spec, &envs, &model, false)?;
    Ok(map.remove(env_id).expect("resolved for the one env"))
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

fn plan(env_id: &str, rng: &mut ChaCha8Rng, extra_crashes: bool) -> Plan {
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
            let scenario = rng.random_range(0..if extra_crashes { 16 } else { 10 });
            if scenario >= 10 {
                return crash_plan(scenario, options, rng);
            }
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

/// Driving's extra groups (scenarios 10 to 15): frames every 3 steps, so the gap to the car
/// ahead or to the barrier closes in small steps up to (and sometimes into) the crash.
fn crash_plan(scenario: u32, mut options: Options, rng: &mut ChaCha8Rng) -> Plan {
    let mut put = |k: &str, v: f64| options.insert(k.into(), json!(v));
    match scenario {
        10 | 11 => {
            // Follow a moving car closely (mostly no crash: close-following positives).
            let v = rng.random_range(6.0..12.0);
            put("speed", v);
            put("npc_ahead", rng.random_range(5.0..12.0));
            put("npc_ahead_speed", (v + rng.random_range(-2.5..1.0)).max(0.0));
            put("lateral_offset", rng.random_range(-0.4..0.4));
        }
        12 | 13 => {
            // Run into a stopped car from further away, centred or offset (partial overlap).
            put("speed", rng.random_range(4.0..12.0));
            put("npc_ahead", rng.random_range(5.0..20.0));
            put("lateral_offset", rng.random_range(-1.2..1.2));
            put("heading_error", rng.random_range(-0.1..0.1));
            return Plan { options, steps: 60, record_every: 3 };
        }
        14 => {
            // Catch up with a slow car.
            put("speed", rng.random_range(8.0..14.0));
            put("npc_ahead", rng.random_range(5.0..15.0));
            put("npc_ahead_speed", rng.random_range(0.0..4.0));
            put("lateral_offset", rng.random_range(-0.5..0.5));
        }
        _ => {
            // Drift off the lane towards the barrier on either side.
            let side = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
            put("lateral_offset", side * rng.random_range(1.0..2.9));
            put("heading_error", side * rng.random_range(0.1..0.6));
            put("speed", rng.random_range(4.0..12.0));
        }
    }
    Plan { options, steps: 45, record_every: 3 }
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

/// Whether a frame looks like a crash it is not (see [`DatasetArgs::skip_ambiguous`]).
fn ambiguous(env_id: &str, state: &BTreeMap<String, f64>) -> bool {
    env_id == "Driving-v0"
        && state.get("collision") == Some(&0.0)
        && state.get("gap_ahead").is_some_and(|g| *g < AMBIGUOUS_GAP)
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

/// Writes the dataset (with the camera of each env in `meta.json`); returns the number of
/// frames and the folder.
pub fn write(args: &DatasetArgs) -> Result<(usize, PathBuf)> {
    let mut writer = DatasetWriter::new(&args.out, args.size as usize, args.size as usize)?;
    let cameras = generate(args, &mut |frame, sample| writer.push(frame, sample))?;
    writer.set_cameras(cameras);
    let n = writer.len();
    let dir = writer.finish()?;
    Ok((n, dir))
}

/// Renders the frames [`write`] would and hands each (frame bytes, sample) to `sink`, in
/// order (`args.out` is not used); returns the camera used for each env.
pub fn generate(
    args: &DatasetArgs,
    sink: &mut dyn FnMut(&[u8], Sample) -> Result<()>,
) -> Result<BTreeMap<String, String>> {
    if args.envs.is_empty() {
        bail!("--envs is empty: name at least one env id");
    }
    if args.frames == 0 {
        bail!("--frames must be at least 1");
    }
    if args.held_out_every < 2 {
        bail!("--held-out-every must be at least 2 (1 would hold out everything)");
    }
    let mut offered = Vec::new();
    for id in &args.envs {
        if !offered.iter().any(|(e, _)| e == id) {
            offered.push((id.clone(), scene_cameras(id, &Options::new())?));
        }
    }
    let cameras = resolve_cameras(args.camera.as_deref(), &offered, &BTreeMap::new(), true)?;
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
        let cfg = RenderConfig { width: args.size, height: args.size, camera: Some(cameras[&src.env_id].clone()) };
        let mut queue = Queue { renderer: BatchRenderer::new(batch, cfg)?, batch, pending: Vec::new() };
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5eed_da7a);
        let mut written = 0usize;
        let mut episode = 0u64;
        while written < src.frames {
            let seed = group_seed;
            group_seed += 1;
            let split = if seed % args.held_out_every == args.held_out_every - 1 { Split::Test } else { Split::Train };
            let p = plan(&src.env_id, &mut rng, args.extra_crashes);
            let (_, info) = env
                .reset(Some(seed), &p.options)
                .with_context(|| format!("{}: reset with {:?}", src.env_id, p.options))?;
            let mut record = |env: &dyn Env, step: usize, reward: f64, info: &Info, ok: bool| -> Result<bool> {
                if written >= src.frames {
                    return Ok(false);
                }
                let state = state_numbers(info);
                if args.skip_ambiguous && ambiguous(&src.env_id, &state) {
                    return Ok(true);
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
                    state,
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
    Ok(cameras)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered() -> Vec<(String, Vec<String>)> {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        vec![
            ("CartPole-v1".to_string(), names(&["side"])),
            ("Driving-v0".to_string(), names(&["chase", "bev", "hood"])),
        ]
    }

    fn resolve(spec: Option<&str>, model: &[(&str, &str)], strict: bool) -> Result<BTreeMap<String, String>> {
        let model = model.iter().map(|(e, c)| (e.to_string(), c.to_string())).collect();
        resolve_cameras(spec, &offered(), &model, strict)
    }

    fn pairs(m: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
        m.iter().map(|(e, c)| (e.as_str(), c.as_str())).collect()
    }

    #[test]
    fn cameras_come_from_the_flag_then_the_reward_model_then_the_default() {
        // Nothing said: bev for Driving, the first camera elsewhere.
        let m = resolve(None, &[], true).unwrap();
        assert_eq!(pairs(&m), [("CartPole-v1", "side"), ("Driving-v0", "bev")]);
        // NAME applies to every env that has it.
        let m = resolve(Some("hood"), &[], true).unwrap();
        assert_eq!(pairs(&m), [("CartPole-v1", "side"), ("Driving-v0", "hood")]);
        // ENV=NAME pairs; envs not named keep their default.
        let m = resolve(Some(" Driving-v0=chase "), &[], true).unwrap();
        assert_eq!(pairs(&m), [("CartPole-v1", "side"), ("Driving-v0", "chase")]);
        // The reward model's camera when the flag says nothing about the env; the flag wins.
        let m = resolve(None, &[("Driving-v0", "chase")], false).unwrap();
        assert_eq!(m["Driving-v0"], "chase");
        let m = resolve(Some("Driving-v0=hood"), &[("Driving-v0", "chase")], false).unwrap();
        assert_eq!(m["Driving-v0"], "hood");
        let m = resolve(Some("CartPole-v1=side"), &[("Driving-v0", "chase")], false).unwrap();
        assert_eq!(m["Driving-v0"], "chase");
        // Per-env specs may name envs not checked here, except for datasets.
        resolve(Some("MountainCar-v0=side"), &[], false).unwrap();
    }

    #[test]
    fn extra_crashes_add_dense_close_calls_and_leave_the_plain_plans_alone() {
        let plans = |extra: bool| {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            (0..400).map(|_| plan("Driving-v0", &mut rng, extra)).collect::<Vec<_>>()
        };
        let plain = plans(false);
        assert!(plain.iter().all(|p| p.record_every == 8 && !p.options.contains_key("npc_ahead_speed")));
        let extra = plans(true);
        let dense: Vec<&Plan> = extra.iter().filter(|p| p.record_every == 3).collect();
        assert!((100..200).contains(&dense.len()), "{} of 400 plans are extra groups", dense.len());
        assert!(dense.iter().any(|p| p.options.contains_key("npc_ahead_speed")));
        assert!(dense
            .iter()
            .any(|p| p.options.contains_key("npc_ahead") && !p.options.contains_key("npc_ahead_speed")));
        assert!(dense.iter().any(|p| !p.options.contains_key("npc_ahead")), "no drift-to-barrier groups");
        // Every extra group's reset options are valid for the env.
        let mut env = make_with("Driving-v0", &Options::new()).unwrap();
        for (i, p) in dense.iter().enumerate() {
            env.reset(Some(i as u64), &p.options).unwrap_or_else(|e| panic!("{:?}: {e}", p.options));
        }
    }

    #[test]
    fn only_touching_frames_without_contact_are_ambiguous() {
        // Drive into a stopped car: every frame until contact is clear, the crash is not
        // ambiguous (it is captioned as what it is).
        let mut env = make_with("Driving-v0", &Options::new()).unwrap();
        let mut opts = Options::new();
        opts.insert("speed".into(), json!(8.0));
        opts.insert("npc_ahead".into(), json!(6.0));
        env.reset(Some(5), &opts).unwrap();
        let full = vlmgym_envs::Value::Box(vec![0.0, 1.0]);
        let mut crashed = false;
        for _ in 0..60 {
            let step = env.step(&full).unwrap();
            let state = state_numbers(&step.info);
            if state["gap_ahead"] > 1.0 {
                assert!(!ambiguous("Driving-v0", &state), "{state:?}");
            }
            if step.terminated {
                assert_eq!(state["collision"], 1.0, "the run ends in a rear-end crash");
                assert!(!ambiguous("Driving-v0", &state));
                crashed = true;
                break;
            }
        }
        assert!(crashed, "never reached the car 6 m ahead");
        let near: BTreeMap<String, f64> = [("collision".into(), 0.0), ("gap_ahead".into(), 0.1)].into();
        assert!(ambiguous("Driving-v0", &near));
        assert!(!ambiguous("CartPole-v1", &near), "only Driving frames are filtered");
    }

    #[test]
    fn camera_errors_name_the_problem() {
        let err = |spec: Option<&str>, model: &[(&str, &str)], strict: bool| {
            format!("{:#}", resolve(spec, model, strict).unwrap_err())
        };
        let e = err(Some("Drivin-v0=bev"), &[], true);
        assert!(e.contains("Drivin-v0"), "{e}");
        let e = err(Some("Driving-v0=bev,chase"), &[], true);
        assert!(e.contains("`chase` is not ENV=NAME"), "{e}");
        let e = err(Some("Driving-v0="), &[], true);
        assert!(e.contains("no camera name for Driving-v0"), "{e}");
        let e = err(Some("Driving-v0=bev,Driving-v0=hood"), &[], true);
        assert!(e.contains("Driving-v0 is named twice"), "{e}");
        let e = err(Some("MountainCar-v0=side"), &[], true);
        assert!(e.contains("names MountainCar-v0, which is not one of the envs here (CartPole-v1, Driving-v0)"), "{e}");
        let e = err(Some("top"), &[], true);
        assert!(e.contains("no camera `top` in any env here") && e.contains("Driving-v0: chase, bev, hood"), "{e}");
        let e = err(Some("CartPole-v1=bev"), &[], true);
        assert!(e.contains("CartPole-v1 has no camera `bev` (from --camera); its scene has: side"), "{e}");
        let e = err(None, &[("Driving-v0", "drone")], false);
        assert!(e.contains("Driving-v0 has no camera `drone` (from the reward model's report)"), "{e}");
    }
}
