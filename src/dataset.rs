//! `vlmgym dataset`: renders frames of envs in many states, with the captions true of each,
//! for training and judging reward models.
//!
//! States come from seeded resets into varied start states (the envs' reset options) and a
//! few random actions after each: CartPole poles from upright to fallen over anywhere on the
//! track; MountainCar cars anywhere on the hill; Driving cars on every map placed across and off the lane, skewed, at all speeds,
//! some rear-ending a stopped car ahead. Each group of frames has its own seed; every
//! `held_out_every`-th seed is held out as the test split, so test frames come from states
//! the training never saw.
//!
//! Trained policies add the states they visit (`--policy`): a reward model trained only on
//! sampled states may take an agent's odd states for success, and these frames, captioned
//! from the env's state like the rest, teach it otherwise. An env's scripted expert adds
//! the states a task's solution passes through (`--expert-frames`), from the env's own
//! starts: the arm pushing a cube out to its goal at full stretch, which no sampled reset
//! reaches.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vlmgym_envs::env::STATE_KEY;
use vlmgym_envs::{make_with, Env, Info, Options, ResetPlan, Scene, StateSampler, Value};
use vlmgym_render::{make_renderer, RenderConfig, RendererKind, SceneRenderer};
use vlmgym_reward::dataset::{DatasetWriter, Sample, Split};

use crate::train::{checkpoint_file, Act, CheckpointRun};

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
    /// Which renderer draws the frames (recorded in `meta.json`; a tower trained on them
    /// scores that renderer's frames).
    pub renderer: RendererKind,
    /// Keep at most this many phrasings of each fact (the first ones, one per template
    /// before the synonyms; `None`: all). With `compound_facts` off and 3, every fact has
    /// three phrasings, as the captions the shipped tower trained on had.
    pub max_phrasings: Option<usize>,
    /// Add compound facts joining each env's main fact with every other one ("the car is
    /// centred in its lane and it has not hit anything"; see `with_compound_facts`).
    pub compound_facts: bool,
    /// Checkpoints (files or run folders) whose policies' visited states are added, each
    /// with `policy_frames` frames: the states an agent really reaches, captioned from the
    /// env's state like every other frame. A reward model trained only on sampled states may
    /// score a policy's odd states as success (reward hacking); these frames teach it
    /// otherwise. Each checkpoint's env must be one of `envs`.
    pub policies: Vec<PathBuf>,
    /// Frames per policy in `policies`.
    pub policy_frames: usize,
    /// Frames per env of its scripted expert's episodes ([`Env::expert_action`]; 0: none),
    /// from the env's own resets: every other episode follows the expert exactly, the rest
    /// with [`EXPERT_NOISE`] added to each action, so near misses are drawn too. Every env
    /// of `envs` must have an expert.
    pub expert_frames: usize,
}

/// The noise on the expert's actions in the noisy half of its episodes: uniform, up to
/// this fraction of each Box dimension's half-range either way (±0.3 for actions in
/// [-1, 1]); Discrete: the chance of a random action.
pub const EXPERT_NOISE: f32 = 0.3;

/// A policy's rollouts record every this many steps (and the last step of an episode).
pub const POLICY_RECORD_EVERY: usize = 5;

/// The camera reward models see `env_id` from when neither `--camera` nor the reward model
/// says: the env's declared reward camera (its metadata), else its scene's first camera.
pub fn reward_camera(env_id: &str) -> Result<Option<String>> {
    Ok(vlmgym_envs::registry::spec(env_id)?.metadata.reward_camera)
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
            _ => match reward_camera(env)?.filter(|c| names.contains(c)) {
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

/// One env configuration frames are drawn from (e.g. Driving: one per map), with the state
/// sampler its metadata declares.
struct Source {
    env_id: String,
    kwargs: Options,
    frames: usize,
    sampler: Arc<dyn StateSampler>,
    /// Who acts after the reset.
    actor: Actor,
}

/// Who acts in a [`Source`]'s episodes.
enum Actor {
    /// The sampler's reset plans and actions.
    Sampler,
    /// A checkpoint's policy, from the env's own resets.
    Policy(PathBuf, CheckpointRun),
    /// The env's scripted expert, from the env's own resets.
    Expert,
}

fn sources(args: &DatasetArgs) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for id in &args.envs {
        let spec = vlmgym_envs::registry::spec(id)?;
        spec.metadata.require_sampler(id, "`vlmgym dataset` and `vlmgym reward-check`")?;
        let sampler = spec.metadata.sampler.clone().expect("checked above");
        let kwargs = sampler.sources();
        let n = kwargs.len().max(1);
        for (k, kwargs) in kwargs.into_iter().enumerate() {
            let share = args.frames / n + usize::from(k < args.frames % n);
            if share > 0 {
                out.push(Source {
                    env_id: id.clone(),
                    kwargs,
                    frames: share,
                    sampler: sampler.clone(),
                    actor: Actor::Sampler,
                });
            }
        }
    }
    for path in &args.policies {
        let file = checkpoint_file(path)?;
        let run = CheckpointRun::read(&file).with_context(|| format!("--policy {}", path.display()))?;
        if !run.observation.is_empty() {
            bail!("--policy {}: a pixel-observation run cannot drive dataset episodes yet", path.display());
        }
        if !args.envs.contains(&run.env_id) {
            bail!(
                "--policy {} was trained on {}, which is not one of --envs ({}); add it",
                path.display(),
                run.env_id,
                args.envs.join(", ")
            );
        }
        let spec = vlmgym_envs::registry::spec(&run.env_id)?;
        let sampler = spec.metadata.sampler.clone().expect("checked for --envs above");
        out.push(Source {
            env_id: run.env_id.clone(),
            kwargs: run.kwargs.clone(),
            frames: args.policy_frames,
            sampler,
            actor: Actor::Policy(file, run),
        });
    }
    if args.expert_frames > 0 {
        for id in &args.envs {
            let mut env = make_with(id, &Options::new())?;
            env.reset(Some(args.seed), &Options::new())?;
            if env.expert_action()?.is_none() {
                bail!("--expert-frames: {id} has no scripted expert (the arm tasks and NavGoTo-v0 have one)");
            }
            let spec = vlmgym_envs::registry::spec(id)?;
            let sampler = spec.metadata.sampler.clone().expect("checked for --envs above");
            out.push(Source {
                env_id: id.clone(),
                kwargs: Options::new(),
                frames: args.expert_frames,
                sampler,
                actor: Actor::Expert,
            });
        }
    }
    Ok(out)
}

/// The expert's action with [`EXPERT_NOISE`]: each Box dimension moved uniformly by up to
/// that fraction of its half-range (1 where unbounded) and clipped into its bounds; a
/// Discrete action replaced by a random one with that chance.
fn noisy(action: Value, space: &vlmgym_envs::Space, rng: &mut ChaCha8Rng) -> Value {
    match (action, space) {
        (Value::Box(a), vlmgym_envs::Space::Box(b)) => Value::Box(
            a.iter()
                .enumerate()
                .map(|(i, &x)| {
                    let (lo, hi) = (b.low()[i], b.high()[i]);
                    let half = if (hi - lo).is_finite() { (hi - lo) / 2.0 } else { 1.0 };
                    (x + EXPERT_NOISE * half * rng.random_range(-1.0..1.0f32)).clamp(lo, hi)
                })
                .collect(),
        ),
        (Value::Discrete(_), space) if rng.random_bool(EXPERT_NOISE as f64) => space.sample(rng),
        (action, _) => action,
    }
}

fn state_numbers(info: &Info) -> BTreeMap<String, f64> {
    info.get(STATE_KEY)
        .and_then(|s| s.as_object())
        .map(|m| m.iter().filter_map(|(k, v)| v.as_f64().map(|x| (k.clone(), x))).collect())
        .unwrap_or_default()
}

/// A checkpoint's policy, deterministic and sampling, acting on an env's observations.
struct PolicyActs {
    space: vlmgym_envs::Space,
    deterministic: Act,
    sampled: Act,
}

impl PolicyActs {
    /// The policy of `actor` (a checkpoint file and its run) acting in `env`; None for
    /// another actor.
    fn new(actor: &Actor, env_id: &str, env: &dyn Env) -> Result<Option<Self>> {
        let Actor::Policy(file, run) = actor else { return Ok(None) };
        let device = vlmgym_reward::device::Device::Cpu;
        Ok(Some(Self {
            space: env.observation_space().clone(),
            deterministic: run.policy(file, env_id, env, true, &device)?,
            sampled: run.policy(file, env_id, env, false, &device)?,
        }))
    }

    /// The action for observation `obs`: the most likely one when `deterministic`.
    fn act(
        &mut self,
        deterministic: bool,
        obs: &vlmgym_envs::Value,
        rng: &mut ChaCha8Rng,
    ) -> Result<vlmgym_envs::Value> {
        let flat = self.space.flatten(obs)?;
        if deterministic {
            (self.deterministic)(&flat, rng)
        } else {
            (self.sampled)(&flat, rng)
        }
    }
}

/// Renders the queued scenes `batch` at a time and pushes them to the writer.
struct Queue {
    renderer: Box<dyn SceneRenderer>,
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
                sink(frames.frame(i).expect("a frame per scene"), sample)?;
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
    writer.set_renderer(args.renderer.name());
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
    if args.frames == 0 && args.policies.is_empty() && args.expert_frames == 0 {
        bail!(
            "--frames must be at least 1 (or give --policy or --expert-frames for a dataset of a policy's or the \
             expert's states only)"
        );
    }
    if !args.policies.is_empty() && args.policy_frames == 0 {
        bail!("--policy-frames must be at least 1");
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
    let sources = sources(args)?;
    let total: usize = sources.iter().map(|s| s.frames).sum();
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} frames ({per_sec}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut group_seed = args.seed;
    for src in sources {
        bar.set_message(src.env_id.clone());
        let mut env = make_with(&src.env_id, &src.kwargs)?;
        env.reset(Some(args.seed), &Options::new())?;
        if env.scene().is_none() {
            bail!("{} does not describe a scene, so it cannot be rendered into a dataset", src.env_id);
        }
        let batch = 16.min(src.frames).max(1);
        let cfg = RenderConfig { width: args.size, height: args.size, camera: Some(cameras[&src.env_id].clone()) };
        let mut queue = Queue { renderer: make_renderer(args.renderer, batch, cfg)?, batch, pending: Vec::new() };
        let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5eed_da7a);
        let mut policy = PolicyActs::new(&src.actor, &src.env_id, env.as_ref())?;
        let mut written = 0usize;
        let mut episode = 0u64;
        while written < src.frames {
            let seed = group_seed;
            group_seed += 1;
            let split = if seed % args.held_out_every == args.held_out_every - 1 { Split::Test } else { Split::Train };
            let p = match &src.actor {
                Actor::Policy(..) | Actor::Expert => ResetPlan {
                    options: Options::new(),
                    record_reset: false,
                    steps: usize::MAX,
                    record_every: POLICY_RECORD_EVERY,
                },
                Actor::Sampler => src.sampler.plan(&mut rng, args.extra_crashes),
            };
            let (obs, info) = env
                .reset(Some(seed), &p.options)
                .with_context(|| format!("{}: reset with {:?}", src.env_id, p.options))?;
            let mut obs = obs;
            let mut record = |env: &dyn Env, step: usize, reward: f64, info: &Info, ok: bool| -> Result<()> {
                if written >= src.frames {
                    return Ok(());
                }
                let state = state_numbers(info);
                if args.skip_ambiguous && src.sampler.ambiguous(&state) {
                    return Ok(());
                }
                // A simulation that diverged ends its episode with no scene to draw
                // (`info["physics_unstable"]`): that state is skipped.
                let Some(scene) = env.scene() else { return Ok(()) };
                let mut captions = env.captions();
                if let Some(n) = args.max_phrasings {
                    captions.iter_mut().for_each(|c| c.phrasings.truncate(n));
                }
                if args.compound_facts {
                    captions = vlmgym_envs::scene::with_compound_facts(captions);
                }
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
                Ok(())
            };
            if p.record_reset {
                let ok = src.sampler.success(&info, false);
                record(env.as_ref(), 0, 0.0, &info, ok)?;
            }
            for t in 1..=p.steps {
                // Policies and the expert: every other episode exact (the policy's most
                // likely actions, the states its evaluation visits), the rest sampled or
                // noisy (the states training visits; the expert's near misses).
                let exact = episode.is_multiple_of(2);
                let a = match &src.actor {
                    Actor::Sampler => src.sampler.action(env.action_space(), &mut rng),
                    Actor::Policy(..) => {
                        policy.as_mut().expect("loaded for a policy source").act(exact, &obs, &mut rng)?
                    }
                    Actor::Expert => {
                        let a = env.expert_action()?.context("the expert gave no action")?;
                        if exact {
                            a
                        } else {
                            noisy(a, env.action_space(), &mut rng)
                        }
                    }
                };
                let step = env.step(&a)?;
                obs = step.obs.clone();
                let done = step.terminated || step.truncated;
                if t % p.record_every == 0 || done {
                    let ok = src.sampler.success(&step.info, step.terminated);
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

    #[test]
    fn noisy_expert_actions_stay_in_the_space_and_move_by_at_most_the_noise() {
        use vlmgym_envs::spaces::{BoxSpace, Discrete};
        let space = vlmgym_envs::Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![4]));
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let expert = [0.95f32, -1.0, 0.0, 0.5];
        let mut moved = 0;
        for _ in 0..200 {
            let Value::Box(a) = noisy(Value::Box(expert.to_vec()), &space, &mut rng) else { panic!("a Box") };
            for (x, e) in a.iter().zip(expert) {
                assert!((-1.0..=1.0).contains(x) && (x - e).abs() <= EXPERT_NOISE + 1e-6, "{x} from {e}");
                moved += usize::from(x != &e);
            }
        }
        assert!(moved > 600, "noise moved only {moved} of 800 numbers");
        let discrete = vlmgym_envs::Space::Discrete(Discrete::new(5));
        let changed =
            (0..1000).filter(|_| noisy(Value::Discrete(2), &discrete, &mut rng) != Value::Discrete(2)).count();
        // A random action with chance 0.3, itself 2 one time in 5: 24% change.
        assert!((180..300).contains(&changed), "{changed} of 1000 discrete actions changed");
    }

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
