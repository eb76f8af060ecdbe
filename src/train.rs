//! `vlmgym train` and `vlmgym eval`: PPO and SAC runs in a run directory.
//!
//! A run directory holds `config.toml` (env, kwargs, seed, every hyper-parameter),
//! `metrics.csv`, `checkpoints/iter_NNNNNN.safetensors` (atomic) and `curves.png`. A SAC
//! run's config says `algo = "sac"`, its checkpoints are named by env step
//! (`step_NNNNNNNNN.safetensors`) and hold the replay buffer, and it also writes
//! `episodes.csv` (every training episode's return and length).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use vlmgym_agents::checkpoint::{format_of, write_atomically, Checkpoint};
use vlmgym_agents::metrics::{plot_curves, plot_panels, CsvWriter, MetricsWriter};
use vlmgym_agents::sac::{self, SAC_FORMAT};
use vlmgym_agents::{load_policy_on, ActionKind, Device, Ppo, PpoConfig, RewardHook, RunSpec, Sac, SacConfig, SacSpec};

use crate::language_reward::{LanguageReward, RewardSettings};
use vlmgym_envs::{make_vec, make_with, registry, AutoresetMode, Options, Space, VectorizationMode};
use vlmgym_render::{ObsMode, PixelObservation, RenderConfig, RenderedVecEnv};

/// A pixel-observation run's frames: the policy sees `camera` at `width x height` (the CPU
/// rasteriser's picture, `[3, H, W]` values 0..=255) instead of the env's observation.
/// Stored in the run's config as `[observation]` (`mode = "pixels"`, `camera`, `width`,
/// `height`), so `--resume`, `eval` and `view` draw the same frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PixelObs {
    /// Scene camera.
    pub camera: String,
    /// Frame width, pixels.
    pub width: u32,
    /// Frame height, pixels.
    pub height: u32,
}

impl PixelObs {
    /// The `[observation]` table of a run's config.
    pub fn to_table(&self) -> toml::Table {
        let mut t = toml::Table::new();
        t.insert("mode".into(), "pixels".into());
        t.insert("camera".into(), self.camera.clone().into());
        t.insert("width".into(), i64::from(self.width).into());
        t.insert("height".into(), i64::from(self.height).into());
        t
    }

    /// The frames an `[observation]` table asks for; None when it is empty (the env's own
    /// observation).
    pub fn from_table(t: &toml::Table) -> Result<Option<Self>> {
        if t.is_empty() {
            return Ok(None);
        }
        let mode = t.get("mode").and_then(|v| v.as_str()).unwrap_or("");
        if mode != "pixels" {
            bail!("[observation] mode `{mode}` is not known (known: pixels)");
        }
        let camera = t.get("camera").and_then(|v| v.as_str()).context("[observation] needs a camera")?.to_string();
        let side = |k: &str| -> Result<u32> {
            let v = t.get(k).and_then(|v| v.as_integer()).with_context(|| format!("[observation] needs {k}"))?;
            u32::try_from(v)
                .ok()
                .filter(|v| (8..=1024).contains(v))
                .with_context(|| format!("[observation] {k} {v} is not 8 to 1024"))
        };
        Ok(Some(PixelObs { camera, width: side("width")?, height: side("height")? }))
    }

    fn render_config(&self) -> RenderConfig {
        RenderConfig { width: self.width, height: self.height, camera: Some(self.camera.clone()) }
    }

    /// `env` observing these frames.
    pub fn wrap(&self, env: Box<dyn vlmgym_envs::Env>) -> Result<Box<dyn vlmgym_envs::Env>> {
        Ok(Box::new(PixelObservation::new(env, self.render_config())?))
    }
}

/// The learning algorithm of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algo {
    /// Proximal Policy Optimization (the default).
    #[default]
    Ppo,
    /// Soft Actor-Critic (continuous actions).
    Sac,
}

/// What `vlmgym train` was asked.
pub struct TrainArgs {
    /// The algorithm of a new run (a resumed run keeps its own).
    pub algo: Algo,
    /// Env id (required for a new run; checked against the run on resume).
    pub env_id: Option<String>,
    /// Total env steps (overrides the config).
    pub steps: Option<u64>,
    /// Number of envs (overrides the config).
    pub num_envs: Option<usize>,
    /// Run seed.
    pub seed: u64,
    /// Hyper-parameter TOML over the algorithm's defaults.
    pub config: Option<PathBuf>,
    /// Run directory.
    pub out: PathBuf,
    /// Continue the run in `out` from its last checkpoint.
    pub resume: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Env constructor kwargs (a new run only).
    pub kwargs: Options,
    /// A language reward (a new run only; None: the env's own reward).
    pub reward: Option<crate::language_reward::RewardSettings>,
    /// Pixel observations (a new PPO run only; None: the env's own observation).
    pub pixels: Option<PixelObs>,
    /// Where the policy and the reward model run.
    pub device: Device,
}

/// The returns of the last 20 training episodes, for the progress bar.
#[derive(Default)]
struct RecentReturns(std::collections::VecDeque<f64>);

impl RecentReturns {
    fn push(&mut self, ret: f64) {
        if self.0.len() == 20 {
            self.0.pop_front();
        }
        self.0.push_back(ret);
    }

    /// Their mean (NaN before the first episode ends).
    fn mean(&self) -> f64 {
        if self.0.is_empty() {
            f64::NAN
        } else {
            self.0.iter().sum::<f64>() / self.0.len() as f64
        }
    }
}

/// The checkpoint file `path` names: the file itself, or a run directory's newest.
pub fn checkpoint_file(path: &Path) -> Result<PathBuf> {
    if path.is_dir() {
        latest_checkpoint(path)?.with_context(|| format!("{} has no checkpoints", path.display()))
    } else {
        Ok(path.to_path_buf())
    }
}

/// The env id a checkpoint (or a run directory's newest) was trained on.
pub fn run_env_id(path: &Path) -> Result<String> {
    let file = checkpoint_file(path)?;
    if format_of(&file)? == SAC_FORMAT {
        return Ok(sac::read_meta(&file)?.spec.env_id);
    }
    Ok(Checkpoint::read(&file)?.0.spec.env_id)
}

/// The newest checkpoint of a run directory.
pub fn latest_checkpoint(run_dir: &Path) -> Result<Option<PathBuf>> {
    let dir = run_dir.join("checkpoints");
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "safetensors")
                && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files.pop())
}

fn checkpoint_path(run_dir: &Path, iteration: u64) -> PathBuf {
    run_dir.join("checkpoints").join(format!("iter_{iteration:06}.safetensors"))
}

/// Trains (or resumes) a PPO run and returns the final checkpoint's path.
/// A fresh run of `spec`: plain PPO, or PPO on rendered envs with the language reward hook
/// its `[reward]` settings describe.
pub fn start(spec: &RunSpec, device: &Device) -> Result<(Ppo, Option<LanguageReward>)> {
    let pixels = PixelObs::from_table(&spec.observation)?;
    match RewardSettings::from_table(&spec.reward)? {
        None => match pixels {
            None => Ok((Ppo::new_on(spec.clone(), device)?, None)),
            Some(p) => {
                let venv = make_vec(&spec.env_id, spec.ppo.num_envs, &spec.kwargs()?, VectorizationMode::default())?
                    .with_autoreset_mode(AutoresetMode::SameStep);
                let env = RenderedVecEnv::new(venv, p.render_config(), ObsMode::Pixels)?;
                Ok((Ppo::with_env_on(spec.clone(), Box::new(env), device)?, None))
            }
        },
        Some(_) if pixels.is_some() => {
            bail!("pixel observations with a language reward are not supported yet (train on state observations)")
        }
        Some(settings) => {
            let (env, hook) = crate::language_reward::build(spec, &settings, device)?;
            Ok((Ppo::with_env_on(spec.clone(), Box::new(env), device)?, Some(hook)))
        }
    }
}

pub fn train(args: TrainArgs) -> Result<PathBuf> {
    let out = &args.out;
    let resumes_sac = match (args.resume, latest_checkpoint(out)?) {
        (true, Some(ckpt)) => format_of(&ckpt)? == SAC_FORMAT,
        _ => false,
    };
    if resumes_sac || (!args.resume && args.algo == Algo::Sac) {
        if args.pixels.is_some() {
            bail!("--pixels trains PPO (a CNN policy); SAC runs observe the env's state");
        }
        return train_sac(args);
    }
    let mut hook: Option<LanguageReward> = None;
    let (mut ppo, metrics) = if args.resume {
        let ckpt = latest_checkpoint(out)?
            .with_context(|| format!("--resume: {} has no checkpoint to resume from", out.display()))?;
        let ppo = Checkpoint::resume_with(&ckpt, |spec| {
            let (ppo, h) = start(spec, &args.device)?;
            hook = h;
            Ok(ppo)
        })?;
        if let Some(id) = &args.env_id {
            if id != &ppo.spec().env_id {
                bail!("--resume: {} is a run of {}, not {id}", out.display(), ppo.spec().env_id);
            }
        }
        if args.steps.is_some_and(|s| s != ppo.spec().ppo.total_timesteps)
            || args.num_envs.is_some_and(|n| n != ppo.spec().ppo.num_envs)
            || !args.kwargs.is_empty()
            || args.reward.is_some()
            || args.pixels.is_some()
        {
            bail!(
                "--resume continues the run as configured in {}; --steps, --num-envs, --kwarg, --pixels and the reward cannot change",
                out.join("config.toml").display()
            );
        }
        eprintln!(
            "resuming {} from {} (update {}, step {})",
            ppo.spec().env_id,
            ckpt.display(),
            ppo.iteration(),
            ppo.global_step()
        );
        let columns = hook.as_ref().map(|h| h.columns()).unwrap_or_default();
        let metrics = MetricsWriter::open_with_extra(&out.join("metrics.csv"), Some(ppo.global_step()), &columns)?;
        (ppo, metrics)
    } else {
        let env_id = args.env_id.clone().context("--env is required")?;
        if latest_checkpoint(out)?.is_some() {
            bail!("{} already holds a run; pass --resume to continue it, or choose another --out", out.display());
        }
        let probe = make_with(&env_id, &args.kwargs)?;
        let discrete = matches!(ActionKind::from_space(probe.action_space())?, ActionKind::Discrete { .. });
        let mut cfg = match &args.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
                PpoConfig::from_toml(&text, discrete).with_context(|| format!("config {}", path.display()))?
            }
            None => PpoConfig::for_actions(discrete),
        };
        if let Some(s) = args.steps {
            cfg.total_timesteps = s;
        }
        if let Some(n) = args.num_envs {
            cfg.num_envs = n;
        }
        cfg.validate()?;
        let env_kwargs = toml::Table::try_from(serde_json::Value::Object(args.kwargs.clone()))
            .context("--kwarg values must be numbers, strings, booleans, lists or tables (no null)")?;
        let reward = match &args.reward {
            Some(r) => r.to_table()?,
            None => Default::default(),
        };
        let observation = args.pixels.as_ref().map(PixelObs::to_table).unwrap_or_default();
        if args.pixels.is_some() && cfg.policy != "cnn" {
            bail!("--pixels needs a CNN policy: set policy = \"cnn\" in the config (e.g. assets/configs/ppo/nav_pixels.toml)");
        }
        let spec = RunSpec { env_id, env_kwargs, seed: args.seed, ppo: cfg, reward, observation };
        let (ppo, h) = start(&spec, &args.device)?;
        hook = h;
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        write_atomically(&out.join("config.toml"), toml::to_string_pretty(&spec)?.as_bytes())?;
        let columns = hook.as_ref().map(|h| h.columns()).unwrap_or_default();
        let metrics = MetricsWriter::open_with_extra(&out.join("metrics.csv"), None, &columns)?;
        (ppo, metrics)
    };
    let mut metrics = metrics;
    let total = ppo.spec().ppo.num_iterations() * ppo.spec().ppo.batch_size() as u64;
    let bar = if args.progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {elapsed_precise} eta {eta} {msg}")
            .expect("valid template"),
    );
    bar.set_position(ppo.global_step());
    let mut recent = RecentReturns::default();
    let mut last = checkpoint_path(out, ppo.iteration());
    while !ppo.finished() {
        let stats = ppo.train_iteration(hook.as_mut().map(|h| h as &mut dyn RewardHook))?;
        metrics.write(&stats)?;
        for e in &stats.episodes {
            recent.push(e.ret);
        }
        bar.set_position(stats.global_step);
        bar.set_message(format!("{:.0} steps/s, return (last 20) {:.1}", stats.sps, recent.mean()));
        if ppo.at_boundary() {
            last = checkpoint_path(out, ppo.iteration());
            Checkpoint::save(&ppo, &last)?;
        }
    }
    bar.finish();
    plot_curves(
        &out.join("metrics.csv"),
        &out.join("curves.png"),
        &format!("PPO on {} (seed {})", ppo.spec().env_id, ppo.spec().seed),
    )?;
    Ok(last)
}

/// The JSON `vlmgym eval` prints.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    /// Env evaluated on.
    pub env_id: String,
    /// Checkpoint file.
    pub checkpoint: String,
    /// Env steps the policy was trained for.
    pub global_step: u64,
    /// Episodes run.
    pub episodes: usize,
    /// Modes instead of samples.
    pub deterministic: bool,
    /// Seed of the first episode's reset (episode `i` uses `seed + i`).
    pub seed: u64,
    /// Mean undiscounted return.
    pub mean_return: f64,
    /// Standard deviation of the return.
    pub std_return: f64,
    /// Every episode's return.
    pub returns: Vec<f64>,
    /// Mean episode length.
    pub mean_length: f64,
    /// Every episode's length.
    pub lengths: Vec<u64>,
    /// Fraction of episodes whose last info says `success` (null if the env reports none).
    pub success_rate: Option<f64>,
    /// Every episode's `success` (episode `i` is reset with seed `seed + i`), to see which
    /// starts a policy fails; null for an episode whose last info has none, and omitted
    /// if no episode's has.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub successes: Vec<Option<bool>>,
    /// The registered reward threshold.
    pub reward_threshold: Option<f64>,
    /// Means of the numeric (and boolean, as 0/1) fields of each episode's last info, and of
    /// objects one level down as `outer.inner` (env metrics).
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// How many episodes' last info had each field of `metrics` (its mean is over those:
    /// e.g. `physics_unstable` counts the episodes the locomotion envs' divergence check
    /// ended).
    pub metric_episodes: std::collections::BTreeMap<String, usize>,
    /// With `--score-visited`: how the run's own language reward scored the states its agent
    /// visited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visited: Option<VisitedScores>,
}

/// How a text-goal run's own language reward scored every state its agent visited during
/// evaluation, against the env's labels of those states (its state sampler's reading of the
/// captions: a clear success, a clear failure, or neither).
#[derive(Clone, Debug, Serialize)]
pub struct VisitedScores {
    /// The goal text.
    pub goal: String,
    /// States scored.
    pub steps: usize,
    /// Mean semantic score.
    pub mean_semantic: f64,
    /// Labelled states: clear successes, clear failures.
    pub labelled: [usize; 2],
    /// Mean semantic score of the clear successes.
    pub mean_semantic_success: Option<f64>,
    /// Mean semantic score of the clear failures.
    pub mean_semantic_failure: Option<f64>,
    /// ROC AUC of the semantic score separating them (None without both kinds).
    pub auc: Option<f64>,
    /// Pearson correlation of the semantic score with the env's own reward per step.
    pub pearson_env_reward: Option<f64>,
}

/// Scores the states of an evaluation with a run's language reward (see [`VisitedScores`]).
struct VisitedScorer {
    live: crate::language_reward::LiveReward,
    sampler: std::sync::Arc<dyn vlmgym_envs::StateSampler>,
    semantic: Vec<f64>,
    env_reward: Vec<f64>,
    labelled: Vec<(f64, bool)>,
}

impl VisitedScorer {
    fn new(run: &CheckpointRun, over: &toml::Table, env_id: &str, kwargs: &Options, device: &Device) -> Result<Self> {
        let mut table = run.reward.clone();
        if !table.is_empty() {
            table.extend(over.clone());
        }
        let settings = RewardSettings::from_table(&table)?.ok_or_else(|| {
            anyhow::anyhow!("--score-visited needs a run trained on a language reward; this one used the env's own")
        })?;
        let live = crate::language_reward::LiveReward::new(&settings, env_id, kwargs, device)?;
        let spec = registry::spec(env_id)?;
        spec.metadata.require_sampler(env_id, "--score-visited")?;
        let sampler = spec.metadata.sampler.clone().expect("checked");
        Ok(VisitedScorer { live, sampler, semantic: Vec::new(), env_reward: Vec::new(), labelled: Vec::new() })
    }

    fn step(&mut self, env: &dyn vlmgym_envs::Env, step: &vlmgym_envs::Step) -> Result<()> {
        // A step that ended the episode on a physics failure (locomotion's
        // `physics_unstable`) leaves no state to draw; it has nothing to score.
        let Some(scene) = env.scene() else {
            return Ok(());
        };
        let (_, terms) = self.live.score(scene, &step.info, step.terminated, step.truncated)?;
        let semantic = terms.first().map(|t| t.1).unwrap_or(f64::NAN);
        self.semantic.push(semantic);
        self.env_reward.push(step.reward);
        let facts: Vec<String> = env.captions().into_iter().map(|c| c.fact).collect();
        let facts: Vec<&str> = facts.iter().map(String::as_str).collect();
        if let Some(label) = self.sampler.label(&facts, self.sampler.success(&step.info, step.terminated)) {
            self.labelled.push((semantic, label));
        }
        Ok(())
    }

    fn report(&self) -> VisitedScores {
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let of = |want: bool| self.labelled.iter().filter(|l| l.1 == want).map(|l| l.0).collect::<Vec<_>>();
        let (good, bad) = (of(true), of(false));
        let (scores, labels): (Vec<f64>, Vec<bool>) = self.labelled.iter().copied().unzip();
        VisitedScores {
            goal: self.live.goal.clone(),
            steps: self.semantic.len(),
            mean_semantic: mean(&self.semantic).unwrap_or(f64::NAN),
            labelled: [good.len(), bad.len()],
            mean_semantic_success: mean(&good),
            mean_semantic_failure: mean(&bad),
            auc: (!good.is_empty() && !bad.is_empty())
                .then(|| vlmgym_reward::diagnostics::roc_auc(&scores, &labels).ok())
                .flatten(),
            pearson_env_reward: vlmgym_reward::diagnostics::pearson(&self.semantic, &self.env_reward)
                .ok()
                .filter(|p| p.is_finite()),
        }
    }
}

/// The run's env kwargs with `over` replacing or adding keys.
fn merged(mut base: Options, over: &Options) -> Options {
    for (k, v) in over {
        base.insert(k.clone(), v.clone());
    }
    base
}

/// A checkpoint's policy as a function from a flattened observation to an env action.
pub type Act = Box<dyn FnMut(&[f32], &mut ChaCha8Rng) -> Result<vlmgym_envs::Value>>;

/// What a checkpoint says about its run, whichever algorithm (PPO or SAC) wrote it.
#[derive(Clone, Debug)]
pub struct CheckpointRun {
    /// The env it trained on.
    pub env_id: String,
    /// Its env constructor kwargs.
    pub kwargs: Options,
    /// Its `[reward]` table (empty: the env's own reward).
    pub reward: toml::Table,
    /// Its `[observation]` table (empty: the env's own observation; see [`PixelObs`]).
    pub observation: toml::Table,
    /// Env steps trained.
    pub global_step: u64,
    /// How to name the checkpoint to a user ("update 12", "step 30000").
    pub progress: String,
    sac: bool,
}

impl CheckpointRun {
    /// Reads the run description of a checkpoint file.
    pub fn read(file: &Path) -> Result<Self> {
        let sac = format_of(file)? == SAC_FORMAT;
        let (env_id, kwargs, reward, observation, global_step, progress) = if sac {
            let m = sac::read_meta(file)?;
            let step = format!("step {}", m.global_step);
            (m.spec.env_id.clone(), m.spec.kwargs()?, m.spec.reward, toml::Table::new(), m.global_step, step)
        } else {
            let (m, _) = Checkpoint::read(file)?;
            let update = format!("update {}", m.iteration);
            (m.spec.env_id.clone(), m.spec.kwargs()?, m.spec.reward, m.spec.observation, m.global_step, update)
        };
        Ok(CheckpointRun { env_id, kwargs, reward, observation, global_step, progress, sac })
    }

    /// The env the checkpoint's policy acts in: `env` as it is, or observing the frames the
    /// run trained on (a pixel run).
    pub fn observing(&self, env: Box<dyn vlmgym_envs::Env>) -> Result<Box<dyn vlmgym_envs::Env>> {
        match PixelObs::from_table(&self.observation)? {
            Some(p) => p.wrap(env),
            None => Ok(env),
        }
    }

    /// The checkpoint's policy acting in `env`, an `env_id` (the env it trained on, or one
    /// with the same spaces): the mode of its action distribution when `deterministic`,
    /// else a sample.
    pub fn policy(
        &self,
        file: &Path,
        env_id: &str,
        env: &dyn vlmgym_envs::Env,
        deterministic: bool,
        device: &Device,
    ) -> Result<Act> {
        let wrong_env = || format!("the checkpoint was trained on {}, not {env_id}", self.env_id);
        if self.sac {
            let (_, actor) =
                sac::load_actor(file, env.observation_space(), env.action_space()).with_context(wrong_env)?;
            let (low, high) = sac::box_bounds(env.action_space(), &self.env_id)?;
            return Ok(Box::new(move |obs, rng| {
                let a = actor.act(obs, rng, deterministic);
                Ok(vlmgym_envs::Value::Box(a.iter().enumerate().map(|(i, x)| x.clamp(low[i], high[i])).collect()))
            }));
        }
        let bundle =
            load_policy_on(file, env.observation_space(), env.action_space(), device).with_context(wrong_env)?;
        let kind = bundle.policy.kind().clone();
        Ok(Box::new(move |obs, rng| {
            let input = match &bundle.obs_norm {
                Some(n) => n.normalize(obs),
                None => obs.to_vec(),
            };
            let out = bundle.policy.act(&input, rng, deterministic)?;
            Ok(kind.to_env_action(&out.actions))
        }))
    }
}

/// Runs `episodes` episodes of a checkpoint's policy (seeds `seed`, `seed + 1`, ...); with
/// `score_visited`, also scores every visited state with the run's language reward, its
/// `[reward]` keys replaced by those of the table (e.g. `tower`, `window`); with `trace`,
/// writes the first episode to it as JSON lines (`step`, `action`, `reward`, `obs`, `info`).
#[allow(clippy::too_many_arguments)]
pub fn eval(
    checkpoint: &Path,
    env_override: Option<&str>,
    kwargs: &Options,
    episodes: usize,
    deterministic: bool,
    seed: u64,
    score_visited: Option<&toml::Table>,
    mut trace: Option<&mut dyn std::io::Write>,
    device: &Device,
) -> Result<EvalReport> {
    if episodes == 0 {
        bail!("--episodes must be at least 1");
    }
    let file = checkpoint_file(checkpoint)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let run = CheckpointRun::read(&file)?;
    let env_id = env_override.unwrap_or(&run.env_id).to_string();
    let env_kwargs = merged(run.kwargs.clone(), kwargs);
    let mut env = run.observing(make_with(&env_id, &env_kwargs)?)?;
    let mut act = run.policy(&file, &env_id, env.as_ref(), deterministic, device)?;
    let mut scorer =
        score_visited.map(|over| VisitedScorer::new(&run, over, &env_id, &env_kwargs, device)).transpose()?;
    let (trained_on, global_step) = (run.env_id.clone(), run.global_step);
    let env_id = env_override.map(str::to_string).unwrap_or(trained_on);
    let obs_space: Space = env.observation_space().clone();
    let (mut returns, mut lengths, mut successes) = (Vec::new(), Vec::new(), Vec::new());
    let mut sums: std::collections::BTreeMap<String, (f64, usize)> = Default::default();
    for ep in 0..episodes {
        let (obs, _) = env.reset(Some(seed + ep as u64), &Options::new())?;
        if let Some(s) = &mut scorer {
            s.live.start_episode()?;
        }
        let mut flat = obs_space.flatten(&obs)?;
        let (mut ret, mut len) = (0.0, 0u64);
        loop {
            let action = act(&flat, &mut rng)?;
            let step = env.step(&action)?;
            if let (0, Some(w)) = (ep, trace.as_mut()) {
                let line = serde_json::json!({
                    "step": len,
                    "action": action.to_json(),
                    "reward": step.reward,
                    "obs": step.obs.to_json(),
                    "info": step.info,
                });
                writeln!(w, "{line}").context("cannot write the trace")?;
            }
            if let Some(s) = &mut scorer {
                s.step(env.as_ref(), &step)?;
            }
            ret += step.reward;
            len += 1;
            flat = obs_space.flatten(&step.obs)?;
            if step.done() {
                successes
                    .push(step.info.get("success").or_else(|| step.info.get("is_success")).and_then(|v| v.as_bool()));
                // Numeric fields of the last info, and of objects in it one level down
                // (e.g. Driving's `metrics.route_completion`).
                let mut add = |k: String, v: &serde_json::Value| {
                    if let Some(x) = v.as_f64().or_else(|| v.as_bool().map(|b| b as u8 as f64)) {
                        let e = sums.entry(k).or_default();
                        e.0 += x;
                        e.1 += 1;
                    }
                };
                for (k, v) in &step.info {
                    match v.as_object() {
                        Some(inner) => inner.iter().for_each(|(k2, v2)| add(format!("{k}.{k2}"), v2)),
                        None => add(k.clone(), v),
                    }
                }
                break;
            }
        }
        returns.push(ret);
        lengths.push(len);
    }
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let std = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    let reported: Vec<bool> = successes.iter().flatten().copied().collect();
    Ok(EvalReport {
        reward_threshold: registry::spec(&env_id)?.reward_threshold,
        env_id,
        checkpoint: file.display().to_string(),
        global_step,
        episodes,
        deterministic,
        seed,
        mean_return: mean,
        std_return: std,
        returns,
        mean_length: lengths.iter().sum::<u64>() as f64 / n,
        lengths,
        success_rate: (!reported.is_empty())
            .then(|| reported.iter().filter(|s| **s).count() as f64 / reported.len() as f64),
        successes: if reported.is_empty() { Vec::new() } else { successes },
        metric_episodes: sums.iter().map(|(k, (_, c))| (k.clone(), *c)).collect(),
        metrics: sums.into_iter().map(|(k, (s, c))| (k, s / c as f64)).collect(),
        visited: scorer.map(|s| s.report()),
    })
}

/// The columns of a SAC run's `metrics.csv`.
pub const SAC_COLUMNS: [&str; 14] = [
    "global_step",
    "updates",
    "episodes",
    "episodic_return",
    "episode_length",
    "qf1_loss",
    "qf2_loss",
    "qf1_values",
    "qf2_values",
    "actor_loss",
    "alpha",
    "alpha_loss",
    "sps",
    "updates_total",
];

/// A fresh SAC run of `spec`: on the env's reward, or on rendered envs with the language
/// reward hook its `[reward]` settings describe.
fn start_sac(spec: &SacSpec, device: &Device) -> Result<(Sac, Option<LanguageReward>)> {
    let Some(settings) = RewardSettings::from_table(&spec.reward)? else {
        return Ok((Sac::new(spec.clone())?, None));
    };
    let (env, hook) =
        crate::language_reward::build_for(&spec.env_id, &spec.kwargs()?, spec.sac.num_envs, &settings, device)?;
    Ok((Sac::with_env(spec.clone(), Box::new(env))?, Some(hook)))
}

fn sac_checkpoint_path(run_dir: &Path, step: u64) -> PathBuf {
    run_dir.join("checkpoints").join(format!("step_{step:09}.safetensors"))
}

/// Trains (or resumes) a SAC run; the final checkpoint's path.
fn train_sac(args: TrainArgs) -> Result<PathBuf> {
    let out = &args.out;
    let mut hook: Option<LanguageReward> = None;
    let mut sac = if args.resume {
        let ckpt = latest_checkpoint(out)?
            .with_context(|| format!("--resume: {} has no checkpoint to resume from", out.display()))?;
        let sac = Sac::resume_with(&ckpt, |spec| {
            let (sac, h) = start_sac(spec, &args.device)?;
            hook = h;
            Ok(sac)
        })?;
        if let Some(id) = &args.env_id {
            if id != &sac.spec().env_id {
                bail!("--resume: {} is a run of {}, not {id}", out.display(), sac.spec().env_id);
            }
        }
        if args.steps.is_some_and(|s| s != sac.spec().sac.total_timesteps)
            || args.num_envs.is_some_and(|n| n != sac.spec().sac.num_envs)
            || !args.kwargs.is_empty()
            || args.reward.is_some()
            || args.pixels.is_some()
        {
            bail!(
                "--resume continues the run as configured in {}; --steps, --num-envs, --kwarg, --pixels and the reward cannot change",
                out.join("config.toml").display()
            );
        }
        eprintln!("resuming SAC on {} from {} (step {})", sac.spec().env_id, ckpt.display(), sac.global_step());
        sac
    } else {
        let env_id = args.env_id.clone().context("--env is required")?;
        if latest_checkpoint(out)?.is_some() {
            bail!("{} already holds a run; pass --resume to continue it, or choose another --out", out.display());
        }
        let probe = make_with(&env_id, &args.kwargs)?;
        sac::box_bounds(probe.action_space(), &env_id)?;
        let mut cfg = match &args.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
                SacConfig::from_toml(&text).with_context(|| format!("config {}", path.display()))?
            }
            None => SacConfig::default(),
        };
        if let Some(s) = args.steps {
            cfg.total_timesteps = s;
        }
        if let Some(n) = args.num_envs {
            cfg.num_envs = n;
        }
        cfg.validate()?;
        let env_kwargs = toml::Table::try_from(serde_json::Value::Object(args.kwargs.clone()))
            .context("--kwarg values must be numbers, strings, booleans, lists or tables (no null)")?;
        let reward = match &args.reward {
            Some(r) => r.to_table()?,
            None => Default::default(),
        };
        let spec = SacSpec { env_kwargs, reward, ..SacSpec::new(&env_id, args.seed, cfg) };
        let (sac, h) = start_sac(&spec, &args.device)?;
        hook = h;
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        write_atomically(&out.join("config.toml"), toml::to_string_pretty(&spec)?.as_bytes())?;
        sac
    };
    let keep = args.resume.then(|| sac.global_step());
    let mut header: Vec<String> = SAC_COLUMNS.iter().map(|c| c.to_string()).collect();
    let extra = hook.as_ref().map(|h| h.columns()).unwrap_or_default();
    header.extend(extra.iter().cloned());
    let mut metrics = CsvWriter::open(&out.join("metrics.csv"), keep, &header)?;
    let ep_header: Vec<String> = ["global_step", "return", "length"].iter().map(|c| c.to_string()).collect();
    let mut episodes = CsvWriter::open(&out.join("episodes.csv"), keep, &ep_header)?;
    let total = sac.spec().sac.total_timesteps;
    let bar = if args.progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {elapsed_precise} eta {eta} {msg}")
            .expect("valid template"),
    );
    bar.set_position(sac.global_step());
    let mut recent = RecentReturns::default();
    let mut last = sac_checkpoint_path(out, sac.global_step());
    let mut prev_updates = sac.updates();
    while !sac.finished() {
        let s = sac.train_chunk_with(hook.as_mut().map(|h| h as &mut dyn RewardHook))?;
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        let n = s.episodes.len();
        let mean = |f: &dyn Fn(&vlmgym_agents::EpisodeRecord) -> f64| {
            (n > 0).then(|| s.episodes.iter().map(f).sum::<f64>() / n as f64)
        };
        let mut row = vec![
            s.global_step.to_string(),
            (s.updates - prev_updates).to_string(),
            n.to_string(),
            opt(mean(&|e| e.ret)),
            opt(mean(&|e| e.len as f64)),
            opt(s.qf1_loss),
            opt(s.qf2_loss),
            opt(s.qf1_values),
            opt(s.qf2_values),
            opt(s.actor_loss),
            s.alpha.to_string(),
            opt(s.alpha_loss),
            format!("{:.1}", s.sps),
            s.updates.to_string(),
        ];
        row.extend(extra.iter().map(|c| opt(s.hook.iter().find(|(k, _)| k == c).map(|(_, v)| *v))));
        metrics.write_row(&row)?;
        prev_updates = s.updates;
        for e in &s.episodes {
            episodes.write_row(&[e.global_step.to_string(), e.ret.to_string(), e.len.to_string()])?;
            recent.push(e.ret);
        }
        bar.set_position(s.global_step);
        bar.set_message(format!("{:.0} steps/s, return (last 20) {:.1}", s.sps, recent.mean()));
        if sac.at_boundary() {
            last = sac_checkpoint_path(out, sac.global_step());
            sac.save(&last)?;
        }
    }
    bar.finish();
    let last_panel = if hook.is_some() { ("semantic_score", "semantic score") } else { ("alpha_loss", "alpha loss") };
    let panels = [
        ("episodic_return", "episodic return"),
        ("qf1_loss", "qf1 loss"),
        ("qf1_values", "qf1 values"),
        ("actor_loss", "actor loss"),
        ("alpha", "alpha"),
        last_panel,
    ];
    plot_panels(
        &out.join("metrics.csv"),
        &out.join("curves.png"),
        &format!("SAC on {} (seed {})", sac.spec().env_id, sac.spec().seed),
        &panels,
    )?;
    Ok(last)
}
