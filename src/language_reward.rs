//! Training from a text goal: every env is rendered each step, the frames of a whole rollout
//! (PPO) or of the transitions collected since the last update (SAC, before they enter the
//! replay buffer) are scored by the reward model in batches, and the
//! declarative synthesis (assets/rewards/*.toml) turns the semantic score and the env's
//! state quantities into the reward PPO learns from.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use vlmgym_agents::{Device, RewardHook, Rollout, RunSpec};
use vlmgym_envs::{make_vec, AutoresetMode, Info, Options, Scene, Space, Value, VecStep, VectorEnv, VectorizationMode};
use vlmgym_render::{make_renderer, ObsMode, RenderConfig, RenderedVecEnv, RendererKind, SceneRenderer};
use vlmgym_reward::synthesis::{RewardSpec, Synthesizer};
use vlmgym_reward::{head_path, Backend, Frames, GoalScore, RewardPipeline, TextHead};

use crate::reward_model::{default_tower, load_simlit};

/// Where a run's reward comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RewardKind {
    /// The env's own reward.
    GroundTruth,
    /// VLM-RL's contrasting goals (--goal and --negative), through the synthesis config.
    Clg,
    /// VLM-RMs' goal-baseline projection (--goal, --baseline, --alpha), through the config.
    Vlmrm,
    /// The semantic score alone (CLG with --negative, else cosine similarity to --goal).
    Semantic,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// The language-reward settings of a run (kept in `config.toml` under `[reward]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RewardSettings {
    /// Which reward.
    pub kind: RewardKind,
    /// The goal text.
    pub goal: String,
    /// CLG's negative goal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative: Option<String>,
    /// VLM-RM's baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// VLM-RM alpha.
    pub alpha: f64,
    /// CLG window w.
    pub window: f64,
    /// Where CLG's window starts on the contrast (`z0`; VLM-RL: 0). `reward-check` reports
    /// one for a goal pair under `range`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: f64,
    /// Synthesis config: a built-in name or a TOML path (default by env).
    pub config: String,
    /// Image tower file.
    pub tower: PathBuf,
    /// A CLIP model folder (Hugging Face `CLIPModel` weights in `model.safetensors`,
    /// `tokenizer.json`, `config.json`) that scores the frames instead of the simlit tower.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<PathBuf>,
    /// Scene camera to render, `NAME` or `ENV=NAME[,...]` (None: the camera the tower was
    /// trained on for the env, see [`crate::dataset::resolve_cameras`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    /// Frame side in pixels (None: the tower's input size, so frames reach it unscaled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// Renderer of the reward frames (None: the one the tower was trained on, see
    /// [`crate::reward_model::reward_renderer`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer: Option<RendererKind>,
    /// Score frames of another renderer than the tower was trained on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_renderer: bool,
    /// A text head ([`vlmgym_reward::text_head`]) to map goals through instead of the
    /// tower's own (`<tower>.text_head.safetensors`, used when it exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_head: Option<PathBuf>,
    /// Read goals without the tower's text head.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_text_head: bool,
    /// SHA-256 of the text head file, recorded by [`pin_text_head`](Self::pin_text_head):
    /// loading a head with another digest is an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_head_sha256: Option<String>,
}

impl RewardSettings {
    /// Settings for `kind` on `env_id`, checking the goal options fit the kind.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        env_id: &str,
        kind: RewardKind,
        goal: Option<String>,
        negative: Option<String>,
        baseline: Option<String>,
        alpha: f64,
        window: f64,
        config: Option<String>,
        tower: Option<PathBuf>,
    ) -> Result<Self> {
        let goal = goal.filter(|g| !g.trim().is_empty()).context("--reward needs a non-empty --goal")?;
        match kind {
            RewardKind::GroundTruth => bail!("ground-truth rewards take no goal"),
            RewardKind::Clg if negative.is_none() => bail!("--reward clg needs --negative"),
            RewardKind::Vlmrm if baseline.is_none() => bail!("--reward vlmrm needs --baseline"),
            _ => {}
        }
        let config = match (kind, config) {
            (_, Some(c)) => c,
            (RewardKind::Semantic, None) => "semantic_only".into(),
            (_, None) => vlmgym_envs::registry::spec(env_id)?
                .metadata
                .require_reward_config(env_id, "a language reward without --reward-config")?
                .to_string(),
        };
        Ok(RewardSettings {
            kind,
            goal,
            negative,
            baseline: if kind == RewardKind::Clg { None } else { baseline },
            alpha,
            window,
            offset: 0.0,
            config,
            tower: tower.unwrap_or_else(default_tower),
            clip: None,
            camera: None,
            size: None,
            renderer: None,
            force_renderer: false,
            text_head: None,
            no_text_head: false,
            text_head_sha256: None,
        })
    }

    /// Settings for scoring one goal without training (`reward-check`): CLG with a
    /// `negative`, VLM-RM with a `baseline`, else cosine similarity to the goal; the
    /// semantic score is the reward.
    #[allow(clippy::too_many_arguments)]
    pub fn for_goal(
        goal: &str,
        negative: Option<String>,
        baseline: Option<String>,
        alpha: f64,
        window: f64,
        tower: PathBuf,
        camera: Option<String>,
        size: Option<u32>,
    ) -> Result<Self> {
        let kind = match (&negative, &baseline) {
            (Some(_), Some(_)) => bail!("give either --negative (CLG) or --baseline (VLM-RM), not both"),
            (Some(_), None) => RewardKind::Clg,
            (None, Some(_)) => RewardKind::Vlmrm,
            (None, None) => RewardKind::Semantic,
        };
        if goal.trim().is_empty() {
            bail!("the goal text is empty");
        }
        Ok(RewardSettings {
            kind,
            goal: goal.to_string(),
            negative,
            baseline,
            alpha,
            window,
            offset: 0.0,
            config: "semantic_only".into(),
            tower,
            clip: None,
            camera,
            size,
            renderer: None,
            force_renderer: false,
            text_head: None,
            no_text_head: false,
            text_head_sha256: None,
        })
    }

    /// As the `[reward]` table of a run spec.
    pub fn to_table(&self) -> Result<toml::Table> {
        Ok(toml::Table::try_from(self)?)
    }

    /// From a run's `[reward]` table, PPO's or SAC's (None when empty: the env's own reward).
    pub fn from_table(reward: &toml::Table) -> Result<Option<Self>> {
        if reward.is_empty() {
            return Ok(None);
        }
        Ok(Some(reward.clone().try_into().context("the run's [reward] settings are malformed")?))
    }

    /// The goal score these settings describe, with `backend`'s text embeddings.
    pub fn goal_score(&self, backend: &dyn Backend) -> Result<GoalScore> {
        let (negative, baseline) = match self.kind {
            RewardKind::Clg => (self.negative.as_deref(), None),
            RewardKind::Vlmrm => (None, self.baseline.as_deref()),
            RewardKind::Semantic => (self.negative.as_deref(), self.baseline.as_deref()),
            RewardKind::GroundTruth => bail!("ground-truth rewards have no goal to score"),
        };
        GoalScore::from_texts(backend, &self.goal, negative, baseline, self.alpha as f32, self.window as f32)?
            .with_offset(self.offset as f32)
    }

    /// The text head goals are mapped through: [`text_head`](Self::text_head), else the
    /// tower's own when it has one, none with [`no_text_head`](Self::no_text_head).
    /// Errors when the file is bad or both are set.
    pub fn head(&self) -> Result<Option<TextHead>> {
        if self.no_text_head {
            ensure!(self.text_head.is_none(), "give either a text head or no_text_head, not both");
            return Ok(None);
        }
        let path = match &self.text_head {
            Some(p) => p.clone(),
            None => head_path(&self.tower),
        };
        if self.text_head.is_none() && !path.is_file() {
            return Ok(None);
        }
        if let Some(want) = &self.text_head_sha256 {
            let have = vlmgym_reward::text_head::head_digest(&path)?;
            ensure!(
                *want == have,
                "the text head {} is not the one these settings were made with (SHA-256 {want}, the file's \
                 is {have}); restore that head, or start a new run",
                path.display()
            );
        }
        let head = TextHead::load(&path)?;
        head.check_tower(&self.tower)?;
        Ok(Some(head))
    }

    /// Fixes which text head goals are read through, so the settings a run writes to its
    /// `config.toml` name it and a head trained later cannot change the run on resume: the
    /// head [`head`](Self::head) would use, by path and SHA-256, or `no_text_head` when the
    /// tower has none. A CLIP model has no head; its settings stay as they are.
    pub fn pin_text_head(&mut self) -> Result<()> {
        if self.clip.is_some() || self.no_text_head {
            return Ok(());
        }
        let path = self.text_head.clone().unwrap_or_else(|| head_path(&self.tower));
        if self.text_head.is_none() && !path.is_file() {
            self.no_text_head = true;
            return Ok(());
        }
        self.text_head_sha256 = Some(vlmgym_reward::text_head::head_digest(&path)?);
        self.text_head = Some(path);
        Ok(())
    }

    /// The synthesis config these settings name.
    pub fn spec(&self) -> Result<RewardSpec> {
        if self.config == "semantic_only" {
            return RewardSpec::from_toml_str(
                "name = \"semantic_only\"\ndescription = \"the semantic score alone\"\noutput = \"semantic\"\n\
                 [[term]]\nname = \"semantic\"\nop = \"semantic\"\nscore = \"semantic\"\n",
            );
        }
        RewardSpec::load(&self.config)
    }

    /// The renderer reward frames are drawn by: [`renderer`](Self::renderer), else the
    /// tower's; a mismatch with the tower is an error unless [`force_renderer`](Self::force_renderer).
    /// A CLIP model learnt from photographs, from neither renderer: `renderer`, else the
    /// CPU rasteriser.
    pub fn frame_renderer(&self) -> Result<RendererKind> {
        if self.clip.is_some() {
            return Ok(self.renderer.unwrap_or(RendererKind::Raster));
        }
        crate::reward_model::reward_renderer(self.renderer, &self.tower, self.force_renderer)
    }

    /// The language-reward pipeline of these settings for `env_id` made with `kwargs`: the
    /// simlit backend of [`tower`](Self::tower) (or the CLIP model of [`clip`](Self::clip)),
    /// the goal score, the synthesis config, and the camera
    /// ([`crate::dataset::reward_camera_for`]) and frame side ([`size`](Self::size), else the
    /// model's input size) frames are rendered at. `train`, `view` and `reward-check` all
    /// score through it.
    pub fn pipeline(&self, env_id: &str, kwargs: &Options, device: &Device) -> Result<RewardPipeline> {
        if let Some(dir) = &self.clip {
            let camera = crate::dataset::reward_camera_for(self.camera.as_deref(), env_id, kwargs, dir)?;
            let backend = vlmgym_reward::ClipBackend::load_on(dir, None, device)?;
            let size = self.size.unwrap_or(backend.config().vision.image_size as u32);
            let score = self.goal_score(&backend)?;
            return Ok(RewardPipeline::new(Box::new(backend), score, self.spec()?, &camera, size));
        }
        let camera = crate::dataset::reward_camera_for(self.camera.as_deref(), env_id, kwargs, &self.tower)?;
        let backend = load_simlit(&self.tower, device)?.with_head(self.head()?)?;
        let size = self.size.unwrap_or(backend.tower().input_size() as u32);
        let score = self.goal_score(&backend)?;
        Ok(RewardPipeline::new(Box::new(backend), score, self.spec()?, &camera, size))
    }
}

/// What one recorded step holds: each env's frame of the state its action led to, that
/// state's info, and whether the envs were reset (boundary resets) before it.
#[derive(Default)]
struct Recorded {
    resets: Vec<Option<Vec<Info>>>,
    frames: Vec<u8>,
    infos: Vec<Info>,
    width: usize,
    height: usize,
    env_seconds: f64,
    render_seconds: f64,
}

/// A vector env that renders every step (a [`RenderedVecEnv`]) and records the frames and
/// infos a [`LanguageReward`] scores after the rollout.
pub struct RecordingVecEnv {
    inner: RenderedVecEnv,
    shared: Rc<RefCell<Recorded>>,
    pending_reset: Option<Vec<Info>>,
}

impl VectorEnv for RecordingVecEnv {
    fn num_envs(&self) -> usize {
        self.inner.num_envs()
    }
    fn single_observation_space(&self) -> &Space {
        self.inner.single_observation_space()
    }
    fn single_action_space(&self) -> &Space {
        self.inner.single_action_space()
    }
    fn autoreset_mode(&self) -> AutoresetMode {
        self.inner.autoreset_mode()
    }
    fn reset(&mut self, seed: Option<u64>, options: &Options) -> vlmgym_envs::Result<(Vec<f32>, Vec<Info>)> {
        let out = self.inner.reset(seed, options)?;
        self.pending_reset = Some(out.1.clone());
        Ok(out)
    }
    fn step(&mut self, actions: &[Value]) -> vlmgym_envs::Result<VecStep> {
        let t = Instant::now();
        let step = self.inner.step(actions)?;
        let elapsed = t.elapsed().as_secs_f64();
        let frames = self.inner.frames().expect("rendered after a step");
        let mut rec = self.shared.borrow_mut();
        let timings = self.inner.render_seconds_last_step();
        rec.render_seconds += timings;
        rec.env_seconds += elapsed - timings;
        rec.width = frames.width();
        rec.height = frames.height();
        rec.resets.push(self.pending_reset.take());
        for i in 0..frames.len() {
            match (&self.inner.final_frames()[i], &step.final_info[i]) {
                (Some(f), Some(info)) => {
                    rec.frames.extend_from_slice(f);
                    rec.infos.push(info.clone());
                }
                _ => {
                    rec.frames.extend_from_slice(frames.frame(i).expect("a frame per env"));
                    rec.infos.push(step.infos[i].clone());
                }
            }
        }
        Ok(step)
    }
    fn close(&mut self) {
        self.inner.close();
    }
}

/// The reward hook: scores the recorded frames in batches and synthesizes each step's reward.
pub struct LanguageReward {
    pipeline: RewardPipeline,
    synth: Synthesizer,
    shared: Rc<RefCell<Recorded>>,
    stats: Vec<(String, f64)>,
    /// Seconds spent embedding and scoring frames, in total.
    pub score_seconds: f64,
    env_seconds: f64,
    render_seconds: f64,
}

impl RewardHook for LanguageReward {
    fn replace_rewards(&mut self, rollout: &mut Rollout) -> Result<()> {
        let rec = std::mem::take(&mut *self.shared.borrow_mut());
        self.env_seconds += rec.env_seconds;
        self.render_seconds += rec.render_seconds;
        let n = rollout.num_envs;
        ensure!(
            rec.infos.len() == rollout.rewards.len(),
            "recorded {} frames for a rollout of {} steps",
            rec.infos.len(),
            rollout.rewards.len()
        );
        let t = Instant::now();
        let frames = Frames::new(rec.frames, rec.infos.len(), rec.height, rec.width)?;
        let scores = self.pipeline.score_frames(&frames)?;
        self.score_seconds += t.elapsed().as_secs_f64();
        let names: Vec<String> = self.synth.term_names().to_vec();
        let mut sums = vec![0.0f64; names.len()];
        rollout.term_names.clone_from(&names);
        rollout.terms.clear();
        let (mut env_sum, mut sem_sum) = (0.0, 0.0);
        for (step, reset) in rec.resets.iter().enumerate() {
            if let Some(infos) = reset {
                // Boundary resets start new episodes (their states have no semantic score
                // yet, so potentials start from 0).
                for i in 0..infos.len() {
                    self.synth.reset(i, None)?;
                }
            }
            for i in 0..n {
                let k = step * n + i;
                let (terminated, truncated) = (rollout.terminations[k], rollout.truncations[k]);
                let ev =
                    RewardPipeline::synthesize(&mut self.synth, i, scores[k], &rec.infos[k], terminated, truncated)?;
                env_sum += rollout.rewards[k];
                sem_sum += scores[k];
                rollout.rewards[k] = ev.reward;
                rollout.terms.extend(ev.values.iter().map(|&v| v as f32));
                for (s, v) in sums.iter_mut().zip(&ev.values) {
                    if v.is_finite() {
                        *s += v;
                    }
                }
            }
        }
        let count = rollout.rewards.len().max(1) as f64;
        self.stats = vec![
            ("env_reward".into(), env_sum / count),
            ("semantic_score".into(), sem_sum / count),
            ("synth_reward".into(), rollout.rewards.iter().sum::<f64>() / count),
        ];
        self.stats.extend(names.into_iter().zip(sums).map(|(k, s)| (format!("term_{k}"), s / count)));
        Ok(())
    }

    fn stats(&self) -> Vec<(String, f64)> {
        self.stats.clone()
    }
}

impl LanguageReward {
    /// The metrics.csv columns this hook fills, in order.
    pub fn columns(&self) -> Vec<String> {
        let mut c: Vec<String> = ["env_reward", "semantic_score", "synth_reward"].map(String::from).to_vec();
        c.extend(self.synth.term_names().iter().map(|k| format!("term_{k}")));
        c
    }

    /// Seconds spent stepping envs and rendering, so far.
    pub fn env_and_render_seconds(&self) -> (f64, f64) {
        let r = self.shared.borrow();
        (self.env_seconds + r.env_seconds, self.render_seconds + r.render_seconds)
    }
}

/// The vector env and reward hook of a language-reward PPO run.
pub fn build(spec: &RunSpec, settings: &RewardSettings, device: &Device) -> Result<(RecordingVecEnv, LanguageReward)> {
    build_for(&spec.env_id, &spec.kwargs()?, spec.ppo.num_envs, settings, device)
}

/// The vector env (`num_envs` of `env_id` made with `kwargs`, threaded, autoreset in the
/// same step) and reward hook of a language-reward run of any algorithm.
pub fn build_for(
    env_id: &str,
    kwargs: &Options,
    num_envs: usize,
    settings: &RewardSettings,
    device: &Device,
) -> Result<(RecordingVecEnv, LanguageReward)> {
    let venv =
        make_vec(env_id, num_envs, kwargs, VectorizationMode::default())?.with_autoreset_mode(AutoresetMode::SameStep);
    let pipeline = settings.pipeline(env_id, kwargs, device)?;
    let cfg = RenderConfig { width: pipeline.size(), height: pipeline.size(), camera: Some(pipeline.camera().into()) };
    let inner = RenderedVecEnv::with_renderer(venv, settings.frame_renderer()?, cfg, ObsMode::State)?;
    let shared = Rc::new(RefCell::new(Recorded::default()));
    let env = RecordingVecEnv { inner, shared: shared.clone(), pending_reset: None };
    let synth = pipeline.synthesizer(num_envs);
    let hook = LanguageReward {
        pipeline,
        synth,
        shared,
        stats: Vec::new(),
        score_seconds: 0.0,
        env_seconds: 0.0,
        render_seconds: 0.0,
    };
    Ok((env, hook))
}

/// The language reward of one env, or of a batch of envs, scored step by step through the
/// reward pipeline: each step's states are drawn, scored in one batch and synthesized per env.
/// The viewer, `train`'s episode terms and the Python package's `LanguageReward` score
/// through it.
pub struct LiveReward {
    renderer: Box<dyn SceneRenderer>,
    pipeline: RewardPipeline,
    synth: Synthesizer,
    num_envs: usize,
    /// The goal text.
    pub goal: String,
}

/// One env's scored step: the synthesized reward and each term (`semantic_score` first).
pub type ScoredTerms = (f64, Vec<(String, f64)>);

impl LiveReward {
    /// The pipeline of `settings` for one env of `env_id` and a one-env renderer.
    pub fn new(settings: &RewardSettings, env_id: &str, kwargs: &Options, device: &Device) -> Result<Self> {
        Self::batch(settings, env_id, kwargs, 1, device)
    }

    /// The pipeline of `settings` for `num_envs` envs of `env_id`.
    pub fn batch(
        settings: &RewardSettings,
        env_id: &str,
        kwargs: &Options,
        num_envs: usize,
        device: &Device,
    ) -> Result<Self> {
        ensure!(num_envs > 0, "a language reward needs at least one env");
        let pipeline = settings.pipeline(env_id, kwargs, device)?;
        let size = pipeline.size();
        let cfg = RenderConfig { width: size, height: size, camera: Some(pipeline.camera().to_string()) };
        Ok(LiveReward {
            renderer: make_renderer(settings.frame_renderer()?, num_envs, cfg)?,
            synth: pipeline.synthesizer(num_envs),
            pipeline,
            num_envs,
            goal: settings.goal.clone(),
        })
    }

    /// The names of the terms [`LiveReward::score_batch`] reports, in order.
    pub fn term_names(&self) -> Vec<String> {
        let mut names = vec!["semantic_score".to_string()];
        names.extend(self.synth.term_names().iter().cloned());
        names
    }

    /// Clears the per-episode state of env 0's reward (its windows and terminal rules).
    pub fn start_episode(&mut self) -> Result<()> {
        self.start_episode_of(0)
    }

    /// Clears the per-episode state of env `env`'s reward.
    pub fn start_episode_of(&mut self, env: usize) -> Result<()> {
        ensure!(env < self.num_envs, "env {env} of a {}-env language reward", self.num_envs);
        self.synth.reset(env, None)
    }

    /// The synthesized reward and each term of the state `scene` shows (one env).
    pub fn score(&mut self, scene: Scene, info: &Info, terminated: bool, truncated: bool) -> Result<ScoredTerms> {
        let mut out = self.score_batch(vec![scene], std::slice::from_ref(info), &[terminated], &[truncated])?;
        Ok(out.remove(0))
    }

    /// The synthesized reward and terms of every env's state (`scenes[i]` with `infos[i]`),
    /// its frames scored as one batch.
    pub fn score_batch(
        &mut self,
        scenes: Vec<Scene>,
        infos: &[Info],
        terminated: &[bool],
        truncated: &[bool],
    ) -> Result<Vec<ScoredTerms>> {
        ensure!(scenes.len() == self.num_envs, "a {}-env language reward got {} scenes", self.num_envs, scenes.len());
        let frames = self.renderer.render(&scenes)?;
        let steps = self.pipeline.score_steps(&mut self.synth, &frames, infos, terminated, truncated)?;
        Ok(steps
            .into_iter()
            .map(|s| {
                let ev = s.evaluation;
                let mut terms: Vec<(String, f64)> = vec![("semantic_score".into(), s.semantic)];
                terms.extend(ev.names.iter().cloned().zip(ev.values));
                (ev.reward, terms)
            })
            .collect())
    }
}
