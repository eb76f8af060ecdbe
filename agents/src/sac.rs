//! Soft Actor-Critic after CleanRL's `sac_continuous_action.py`, on candle, readable top to
//! bottom: the run spec, the squashed-Gaussian actor, the twin Q networks, the replay
//! buffer, collection and the update, then checkpoints.
//!
//! What it does, as CleanRL does:
//! - actor: a ReLU MLP trunk (256-256) with a mean head and a log-std head; the log-std is
//!   squashed by tanh into `[-5, 2]`; actions are `tanh(mean + std * eps)` rescaled to the
//!   env's bounds, with the log-probability corrected for the squashing;
//! - twin Q networks `Q(s, a)` (ReLU MLPs on `[s, a]`), each with a target copy that follows
//!   by Polyak averaging (`tau`) every `target_network_frequency` critic updates;
//! - the critic target `r + gamma (1 - terminated) (min Q_target(s', a') - alpha log pi(a'|s'))`:
//!   terminated transitions do not bootstrap; truncated ones do, from the episode's final
//!   observation (the vector env's `final_obs`, never the reset observation);
//! - the actor (and the entropy coefficient) update every `policy_frequency` critic
//!   updates, `policy_frequency` times at once; alpha is tuned toward entropy `-dim(A)`
//!   (`log_alpha` starts at 0, Adam with `q_lr`) unless `autotune = false`;
//! - uniformly random actions for the first `learning_starts` steps.
//!
//! Beyond CleanRL: several envs step at once (one transition per env per vector step) and
//! `train_freq` / `gradient_steps` set the update-to-data ratio (SB3's, as VLM-RMs used).
//!
//! Determinism and resume: one ChaCha8 generator draws the initial weights, the random
//! actions, the replay indices and every Gaussian noise (on the host, so every device sees
//! the same numbers). Every `checkpoint_every` env steps is a boundary: the envs are reset
//! with a seed derived from the run seed and the step, and a checkpoint holds the networks,
//! the target networks, the three optimizers, the replay buffer and the generator's exact
//! position, so `--resume` continues bit-identically.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use vlmgym_envs::{make_vec, AutoresetMode, Options, Space, Value, VectorEnv, VectorizationMode};

use crate::checkpoint::{corrupt, write_atomically};
use crate::nn::{Adam, Dense, Params, ReluMlp};
use crate::ppo::{derive_seed, EpisodeRecord};
use crate::rollout::{RewardHook, Rollout};
use crate::sac_config::SacConfig;

/// The format tag of SAC checkpoints.
pub const SAC_FORMAT: &str = "vlmgym-sac-1";

const LOG_STD_MIN: f64 = -5.0;
const LOG_STD_MAX: f64 = 2.0;
/// Adam epsilon of all three optimizers (PyTorch's default, as CleanRL leaves it).
const ADAM_EPS: f64 = 1e-8;

/// What a SAC run trains on (`config.toml`): env, kwargs, seed and hyper-parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SacSpec {
    /// Always `"sac"` (tells SAC run directories from PPO ones).
    pub algo: String,
    /// Registered env id.
    pub env_id: String,
    /// Env constructor kwargs.
    #[serde(default)]
    pub env_kwargs: toml::Table,
    /// Run seed.
    pub seed: u64,
    /// Hyper-parameters.
    pub sac: SacConfig,
    /// How rewards are replaced (reserved for language rewards; empty: the env's reward).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub reward: toml::Table,
}

impl SacSpec {
    /// A spec for `env_id` with `cfg`, the env's own reward and no kwargs.
    pub fn new(env_id: &str, seed: u64, cfg: SacConfig) -> Self {
        SacSpec {
            algo: "sac".into(),
            env_id: env_id.into(),
            env_kwargs: Default::default(),
            seed,
            sac: cfg,
            reward: Default::default(),
        }
    }

    /// The env kwargs as JSON options.
    pub fn kwargs(&self) -> Result<Options> {
        let json = serde_json::to_value(&self.env_kwargs)?;
        Ok(json.as_object().cloned().unwrap_or_default())
    }
}

/// The bounds of a 1-D Box action space, or the error SAC gives for any other space.
pub fn box_bounds(space: &Space, env_id: &str) -> Result<(Vec<f32>, Vec<f32>)> {
    match space {
        Space::Box(b) if b.shape().len() == 1 => {
            let (low, high) = (b.low().to_vec(), b.high().to_vec());
            if low.iter().chain(&high).any(|x| !x.is_finite()) {
                bail!("SAC needs a bounded action space (it squashes actions into the bounds); {env_id} has {space}");
            }
            Ok((low, high))
        }
        other => bail!("SAC needs a continuous (Box) action space with one axis; {env_id} has {other}"),
    }
}

/// The squashed-Gaussian policy: a ReLU trunk with mean and log-std heads.
pub struct SacActor {
    trunk: ReluMlp,
    mean: Dense,
    log_std: Dense,
    /// `(high - low) / 2`, shape `[act_dim]`.
    scale: Tensor,
    /// `(high + low) / 2`, shape `[act_dim]`.
    bias: Tensor,
    params: Params,
    obs_dim: usize,
    act_dim: usize,
}

impl SacActor {
    /// CleanRL's actor for `obs_dim` observations and actions in `[low, high]`.
    pub fn new<R: Rng>(
        rng: &mut R,
        obs_dim: usize,
        hidden: &[usize],
        low: &[f32],
        high: &[f32],
        device: &Device,
    ) -> Result<Self> {
        let act_dim = low.len();
        let mut params = Params::new(device);
        let sizes: Vec<usize> = std::iter::once(obs_dim).chain(hidden.iter().copied()).collect();
        let trunk = ReluMlp::new(rng, &sizes, &mut params, "trunk")?;
        let last = *hidden.last().expect("validated: hidden is not empty");
        let mean = Dense::torch_default(rng, last, act_dim, &mut params, "mean")?;
        let log_std = Dense::torch_default(rng, last, act_dim, &mut params, "log_std")?;
        let scale: Vec<f32> = low.iter().zip(high).map(|(l, h)| (h - l) / 2.0).collect();
        let bias: Vec<f32> = low.iter().zip(high).map(|(l, h)| (h + l) / 2.0).collect();
        Ok(SacActor {
            trunk,
            mean,
            log_std,
            scale: Tensor::from_vec(scale, act_dim, device)?,
            bias: Tensor::from_vec(bias, act_dim, device)?,
            params,
            obs_dim,
            act_dim,
        })
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Observation length.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// Action length.
    pub fn act_dim(&self) -> usize {
        self.act_dim
    }

    /// Mean and log-std (squashed into `[LOG_STD_MIN, LOG_STD_MAX]`) of `batch x obs_dim`.
    fn forward(&self, obs: &Tensor) -> Result<(Tensor, Tensor)> {
        let h = self.trunk.forward(obs)?.relu()?;
        let mean = self.mean.forward(&h)?;
        // LOG_STD_MIN + 0.5 (LOG_STD_MAX - LOG_STD_MIN) (tanh(x) + 1)
        let half = 0.5 * (LOG_STD_MAX - LOG_STD_MIN);
        let log_std = self.log_std.forward(&h)?.tanh()?.affine(half, LOG_STD_MIN + half)?;
        Ok((mean, log_std))
    }

    /// Reparameterised actions and their log-probabilities (`batch x 1`) for `obs` and
    /// standard-normal noise `eps` (`batch x act_dim`, drawn by the caller).
    pub fn sample(&self, obs: &Tensor, eps: &Tensor) -> Result<(Tensor, Tensor)> {
        let (mean, log_std) = self.forward(obs)?;
        let x = (&mean + (log_std.exp()? * eps)?)?;
        let y = x.tanh()?;
        let action = y.broadcast_mul(&self.scale)?.broadcast_add(&self.bias)?;
        // Normal(mean, std).log_prob(x) with x - mean = std * eps.
        let normal_logp = ((eps.sqr()? * -0.5)? - log_std)?.affine(1.0, -0.5 * (2.0 * std::f64::consts::PI).ln())?;
        let squash = y.sqr()?.affine(-1.0, 1.0)?.broadcast_mul(&self.scale)?.affine(1.0, 1e-6)?.log()?;
        let logp = (normal_logp - squash)?.sum_keepdim(1)?;
        Ok((action, logp))
    }

    /// `tanh(mean)` rescaled to the bounds: the deterministic action.
    pub fn mode(&self, obs: &Tensor) -> Result<Tensor> {
        let (mean, _) = self.forward(obs)?;
        Ok(mean.tanh()?.broadcast_mul(&self.scale)?.broadcast_add(&self.bias)?)
    }

    /// Actions for a `batch x obs_dim` row-major host batch: sampled with noise from `rng`,
    /// or the mode when `deterministic`.
    pub fn act<R: Rng>(&self, obs: &[f32], rng: &mut R, deterministic: bool) -> Result<Vec<f32>> {
        let b = obs.len() / self.obs_dim;
        let dev = self.params.device();
        let x = Tensor::from_slice(obs, (b, self.obs_dim), dev)?;
        let a = if deterministic {
            self.mode(&x)?
        } else {
            let eps = noise(rng, b, self.act_dim, dev)?;
            self.sample(&x, &eps)?.0
        };
        Ok(a.flatten_all()?.to_vec1::<f32>()?)
    }
}

/// `rows x cols` standard-normal noise drawn on the host from `rng`.
fn noise<R: Rng>(rng: &mut R, rows: usize, cols: usize, dev: &Device) -> Result<Tensor> {
    let v: Vec<f32> = (0..rows * cols).map(|_| rng.sample(StandardNormal)).collect();
    Ok(Tensor::from_vec(v, (rows, cols), dev)?)
}

/// Two Q networks `Q_k(s, a)` in one parameter set (`qf1.*`, `qf2.*`), one optimizer for
/// both as CleanRL has it.
pub struct TwinQ {
    qf1: ReluMlp,
    qf2: ReluMlp,
    params: Params,
}

impl TwinQ {
    /// Two `[obs, act] -> hidden -> 1` ReLU MLPs.
    pub fn new<R: Rng>(rng: &mut R, obs_dim: usize, act_dim: usize, hidden: &[usize], device: &Device) -> Result<Self> {
        let mut params = Params::new(device);
        let sizes: Vec<usize> =
            std::iter::once(obs_dim + act_dim).chain(hidden.iter().copied()).chain(std::iter::once(1)).collect();
        let qf1 = ReluMlp::new(rng, &sizes, &mut params, "qf1")?;
        let qf2 = ReluMlp::new(rng, &sizes, &mut params, "qf2")?;
        Ok(TwinQ { qf1, qf2, params })
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Both Q values (`batch x 1` each) of `obs` and `act`.
    pub fn forward(&self, obs: &Tensor, act: &Tensor) -> Result<(Tensor, Tensor)> {
        let x = Tensor::cat(&[obs, act], 1)?;
        Ok((self.qf1.forward(&x)?, self.qf2.forward(&x)?))
    }
}

/// A ring buffer of transitions `(s, a, r, s', terminated)`; the oldest is overwritten
/// once `capacity` are stored. `s'` is the episode's final observation when it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayBuffer {
    capacity: usize,
    obs_dim: usize,
    act_dim: usize,
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    terminated: Vec<f32>,
    /// Where the next transition goes.
    pos: usize,
}

/// One sampled minibatch, on the device.
struct Batch {
    obs: Tensor,
    next_obs: Tensor,
    actions: Tensor,
    rewards: Tensor,
    /// `gamma * (1 - terminated)`.
    discount: Tensor,
}

impl ReplayBuffer {
    /// An empty buffer for `capacity` transitions (memory grows as it fills).
    pub fn new(capacity: usize, obs_dim: usize, act_dim: usize) -> Self {
        ReplayBuffer {
            capacity,
            obs_dim,
            act_dim,
            obs: Vec::new(),
            next_obs: Vec::new(),
            actions: Vec::new(),
            rewards: Vec::new(),
            terminated: Vec::new(),
            pos: 0,
        }
    }

    /// Transitions stored.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// Stores one transition.
    pub fn push(&mut self, obs: &[f32], action: &[f32], reward: f32, next_obs: &[f32], terminated: bool) {
        let (o, a) = (self.obs_dim, self.act_dim);
        if self.len() < self.capacity {
            self.obs.extend_from_slice(obs);
            self.next_obs.extend_from_slice(next_obs);
            self.actions.extend_from_slice(action);
            self.rewards.push(reward);
            self.terminated.push(terminated as u8 as f32);
        } else {
            let k = self.pos;
            self.obs[k * o..(k + 1) * o].copy_from_slice(obs);
            self.next_obs[k * o..(k + 1) * o].copy_from_slice(next_obs);
            self.actions[k * a..(k + 1) * a].copy_from_slice(action);
            self.rewards[k] = reward;
            self.terminated[k] = terminated as u8 as f32;
        }
        self.pos = (self.pos + 1) % self.capacity;
    }

    /// `batch` transitions drawn uniformly with replacement (as SB3's buffer does).
    fn sample<R: Rng>(&self, rng: &mut R, batch: usize, gamma: f64, dev: &Device) -> Result<Batch> {
        let (o, a, n) = (self.obs_dim, self.act_dim, self.len());
        let mut obs = Vec::with_capacity(batch * o);
        let mut next_obs = Vec::with_capacity(batch * o);
        let mut actions = Vec::with_capacity(batch * a);
        let mut rewards = Vec::with_capacity(batch);
        let mut discount = Vec::with_capacity(batch);
        for _ in 0..batch {
            let k = rng.random_range(0..n);
            obs.extend_from_slice(&self.obs[k * o..(k + 1) * o]);
            next_obs.extend_from_slice(&self.next_obs[k * o..(k + 1) * o]);
            actions.extend_from_slice(&self.actions[k * a..(k + 1) * a]);
            rewards.push(self.rewards[k]);
            discount.push(gamma as f32 * (1.0 - self.terminated[k]));
        }
        Ok(Batch {
            obs: Tensor::from_vec(obs, (batch, o), dev)?,
            next_obs: Tensor::from_vec(next_obs, (batch, o), dev)?,
            actions: Tensor::from_vec(actions, (batch, a), dev)?,
            rewards: Tensor::from_vec(rewards, batch, dev)?,
            discount: Tensor::from_vec(discount, batch, dev)?,
        })
    }

    /// The stored arrays as host tensors (`replay.*`), for a checkpoint; none when empty.
    fn tensors(&self, out: &mut BTreeMap<String, Tensor>) -> Result<()> {
        let n = self.len();
        if n == 0 {
            return Ok(());
        }
        let cpu = &Device::Cpu;
        out.insert("replay.obs".into(), Tensor::from_slice(&self.obs, (n, self.obs_dim), cpu)?);
        out.insert("replay.next_obs".into(), Tensor::from_slice(&self.next_obs, (n, self.obs_dim), cpu)?);
        out.insert("replay.actions".into(), Tensor::from_slice(&self.actions, (n, self.act_dim), cpu)?);
        out.insert("replay.rewards".into(), Tensor::from_slice(&self.rewards, n, cpu)?);
        out.insert("replay.terminated".into(), Tensor::from_slice(&self.terminated, n, cpu)?);
        Ok(())
    }

    /// Restores [`ReplayBuffer::tensors`] with the write position `pos`.
    fn load(&mut self, t: &BTreeMap<String, Tensor>, len: usize, pos: usize) -> Result<()> {
        let get = |k: &str| -> Result<Vec<f32>> {
            t.get(k)
                .with_context(|| format!("the checkpoint lacks `{k}`"))?
                .flatten_all()?
                .to_vec1::<f32>()
                .map_err(Into::into)
        };
        if len == 0 {
            *self = ReplayBuffer::new(self.capacity, self.obs_dim, self.act_dim);
            return Ok(());
        }
        self.obs = get("replay.obs")?;
        self.next_obs = get("replay.next_obs")?;
        self.actions = get("replay.actions")?;
        self.rewards = get("replay.rewards")?;
        self.terminated = get("replay.terminated")?;
        let ok = self.rewards.len() == len
            && self.terminated.len() == len
            && self.obs.len() == len * self.obs_dim
            && self.next_obs.len() == len * self.obs_dim
            && self.actions.len() == len * self.act_dim
            && len <= self.capacity
            && pos < self.capacity;
        if !ok {
            bail!("the replay buffer in the checkpoint does not match its metadata ({len} transitions)");
        }
        self.pos = pos;
        Ok(())
    }
}

/// What happened between two log points.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SacStats {
    /// Env steps so far.
    pub global_step: u64,
    /// Critic updates so far.
    pub updates: u64,
    /// Episodes that ended in this interval.
    pub episodes: Vec<EpisodeRecord>,
    /// Mean losses and values over this interval's updates (None before learning starts).
    pub qf1_loss: Option<f64>,
    /// Mean MSE of Q2 against the target.
    pub qf2_loss: Option<f64>,
    /// Mean Q1 of the sampled `(s, a)`.
    pub qf1_values: Option<f64>,
    /// Mean Q2 of the sampled `(s, a)`.
    pub qf2_values: Option<f64>,
    /// Mean actor loss `alpha log pi - min Q`.
    pub actor_loss: Option<f64>,
    /// Mean entropy-coefficient loss (autotune only).
    pub alpha_loss: Option<f64>,
    /// The entropy coefficient at the end of the interval.
    pub alpha: f64,
    /// Env steps per second of the interval (collection and learning).
    pub sps: f64,
    /// The reward hook's statistics over this interval (its [`RewardHook::stats`] averaged
    /// over the transitions it rewrote); empty without a hook.
    pub hook: Vec<(String, f64)>,
}

/// Transitions a reward hook rewrites at once while no update is due (a scoring batch).
pub const HOOK_BATCH: usize = 256;

/// Adds `stats`, weighted by `count`, into `sums` (same names in the same order).
fn accumulate(sums: &mut Vec<(String, f64)>, stats: &[(String, f64)], count: usize) {
    for (k, v) in stats {
        match sums.iter_mut().find(|(name, _)| name == k) {
            Some((_, s)) => *s += v * count as f64,
            None => sums.push((k.clone(), v * count as f64)),
        }
    }
}

/// Running sums for [`SacStats`].
#[derive(Default)]
struct Sums {
    q: [f64; 4],
    q_n: u64,
    actor: f64,
    alpha: f64,
    actor_n: u64,
}

/// A SAC run in progress.
pub struct Sac {
    spec: SacSpec,
    venv: Box<dyn VectorEnv>,
    actor: SacActor,
    q: TwinQ,
    q_target: TwinQ,
    /// `log(alpha)` and its optimizer when autotuned.
    log_alpha: Option<(Params, Var, Adam)>,
    alpha: f64,
    target_entropy: f64,
    actor_opt: Adam,
    q_opt: Adam,
    rb: ReplayBuffer,
    rng: ChaCha8Rng,
    global_step: u64,
    vec_steps: u64,
    updates: u64,
    obs: Vec<f32>,
    ep_return: Vec<f64>,
    ep_length: Vec<u64>,
    low: Vec<f32>,
    high: Vec<f32>,
}

impl Sac {
    /// A fresh run on the CPU ([`Sac::new_on`] with [`Device::Cpu`]).
    pub fn new(spec: SacSpec) -> Result<Self> {
        Self::new_on(spec, &Device::Cpu)
    }

    /// A fresh run whose networks live on `device`, on a threaded vector env that autoresets
    /// in the same step.
    pub fn new_on(spec: SacSpec, device: &Device) -> Result<Self> {
        spec.sac.validate()?;
        let venv =
            make_vec(&spec.env_id, spec.sac.num_envs, &spec.kwargs()?, VectorizationMode::Threaded { threads: 0 })?
                .with_autoreset_mode(AutoresetMode::SameStep);
        Self::with_env_on(spec, Box::new(venv), device)
    }

    /// A fresh run on a vector env the caller built (`spec.sac.num_envs` envs, autoreset in
    /// [`AutoresetMode::SameStep`] so final observations can bootstrap).
    pub fn with_env_on(spec: SacSpec, venv: Box<dyn VectorEnv>, device: &Device) -> Result<Self> {
        spec.sac.validate()?;
        let cfg = &spec.sac;
        let (low, high) = box_bounds(venv.single_action_space(), &spec.env_id)?;
        if venv.num_envs() != cfg.num_envs {
            bail!("the vector env has {} envs, the config asks for num_envs = {}", venv.num_envs(), cfg.num_envs);
        }
        if venv.autoreset_mode() != AutoresetMode::SameStep {
            bail!("SAC needs a vector env that autoresets in the same step, not {:?}", venv.autoreset_mode());
        }
        let (obs_dim, act_dim) = (venv.obs_dim(), low.len());
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let actor = SacActor::new(&mut rng, obs_dim, &cfg.hidden, &low, &high, device)?;
        let q = TwinQ::new(&mut rng, obs_dim, act_dim, &cfg.hidden, device)?;
        let q_target = TwinQ::new(&mut rng, obs_dim, act_dim, &cfg.hidden, device)?;
        q_target.params.load(&q.params.tensors())?;
        let actor_opt = Adam::new(&actor.params, cfg.policy_lr, ADAM_EPS)?;
        let q_opt = Adam::new(&q.params, cfg.q_lr, ADAM_EPS)?;
        let log_alpha = if cfg.autotune {
            let mut p = Params::new(device);
            let v = p.add("log_alpha", Tensor::zeros(1, candle_core::DType::F32, device)?)?;
            let opt = Adam::new(&p, cfg.q_lr, ADAM_EPS)?;
            Some((p, v, opt))
        } else {
            None
        };
        let alpha = if cfg.autotune { 1.0 } else { cfg.alpha };
        let n = cfg.num_envs;
        Ok(Sac {
            rb: ReplayBuffer::new(cfg.buffer_size, obs_dim, act_dim),
            spec,
            venv,
            actor,
            q,
            q_target,
            log_alpha,
            alpha,
            target_entropy: -(act_dim as f64),
            actor_opt,
            q_opt,
            rng,
            global_step: 0,
            vec_steps: 0,
            updates: 0,
            obs: Vec::new(),
            ep_return: vec![0.0; n],
            ep_length: vec![0; n],
            low,
            high,
        })
    }

    /// The run's spec.
    pub fn spec(&self) -> &SacSpec {
        &self.spec
    }

    /// The actor.
    pub fn actor(&self) -> &SacActor {
        &self.actor
    }

    /// The twin Q networks.
    pub fn q(&self) -> &TwinQ {
        &self.q
    }

    /// The replay buffer.
    pub fn replay(&self) -> &ReplayBuffer {
        &self.rb
    }

    /// The device the networks run on.
    pub fn device(&self) -> &Device {
        self.actor.params.device()
    }

    /// Env steps taken.
    pub fn global_step(&self) -> u64 {
        self.global_step
    }

    /// Critic updates done.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The entropy coefficient.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// True when every step of the run is done.
    pub fn finished(&self) -> bool {
        self.global_step >= self.spec.sac.total_timesteps
    }

    /// True at a checkpoint boundary (checkpoint now).
    pub fn at_boundary(&self) -> bool {
        self.global_step.is_multiple_of(self.spec.sac.checkpoint_every) || self.finished()
    }

    fn boundary_reset(&mut self) -> Result<()> {
        let (obs, _) = self.venv.reset(Some(derive_seed(self.spec.seed, self.global_step)), &Options::new())?;
        self.obs = obs;
        self.ep_return.iter_mut().for_each(|r| *r = 0.0);
        self.ep_length.iter_mut().for_each(|l| *l = 0);
        Ok(())
    }

    /// Steps the envs until the next log point (`log_every` env steps, or the end),
    /// updating as configured, and returns what happened.
    pub fn train_chunk(&mut self) -> Result<SacStats> {
        self.train_chunk_with(None)
    }

    /// [`train_chunk`](Self::train_chunk) with a reward hook (a language reward): the
    /// transitions are held back, the hook rewrites their rewards in one batch across envs
    /// and steps (as a [`Rollout`] of the held-back steps), and only then do they enter the
    /// replay buffer, each with its replaced reward. They are handed over before every
    /// update (so an update sees exactly the transitions it would without a hook), every
    /// [`HOOK_BATCH`] transitions before learning starts, and at the end of the chunk (so a
    /// checkpoint never leaves any behind). Episode returns stay the env's own.
    pub fn train_chunk_with(&mut self, mut hook: Option<&mut dyn RewardHook>) -> Result<SacStats> {
        if self.finished() {
            bail!("the run is complete ({} steps)", self.global_step);
        }
        let started = Instant::now();
        let first = self.global_step;
        if self.obs.is_empty() || self.global_step.is_multiple_of(self.spec.sac.checkpoint_every) {
            self.boundary_reset()?;
        }
        let cfg = self.spec.sac.clone();
        let target = ((self.global_step / cfg.log_every + 1) * cfg.log_every).min(cfg.total_timesteps);
        let (n, o, a) = (cfg.num_envs, self.actor.obs_dim, self.actor.act_dim);
        let mut episodes = Vec::new();
        let mut sums = Sums::default();
        let mut held = Rollout::with_capacity(0, n, o, a);
        let mut held_next: Vec<f32> = Vec::new();
        let mut hook_sums: Vec<(String, f64)> = Vec::new();
        let mut hooked = 0usize;
        while self.global_step < target {
            let step_index = self.global_step;
            let actions: Vec<f32> = if step_index < cfg.learning_starts {
                (0..n * a).map(|k| self.rng.random_range(self.low[k % a]..=self.high[k % a])).collect()
            } else {
                self.actor.act(&self.obs, &mut self.rng, false)?
            };
            let env_actions: Vec<Value> = actions
                .chunks(a)
                .map(|c| Value::Box(c.iter().enumerate().map(|(i, x)| x.clamp(self.low[i], self.high[i])).collect()))
                .collect();
            let step = self.venv.step(&env_actions)?;
            self.global_step += n as u64;
            self.vec_steps += 1;
            for i in 0..n {
                let next = step.final_obs[i].as_deref().unwrap_or(&step.obs[i * o..(i + 1) * o]);
                held.obs.extend_from_slice(&self.obs[i * o..(i + 1) * o]);
                held_next.extend_from_slice(next);
                held.actions.extend_from_slice(&actions[i * a..(i + 1) * a]);
                held.rewards.push(step.rewards[i]);
                held.terminations.push(step.terminations[i]);
                held.truncations.push(step.truncations[i]);
                if hook.is_some() {
                    // What a hook may read beyond the above (SAC does not normalise, so
                    // the raw observations are the observations).
                    held.raw_obs.extend_from_slice(&self.obs[i * o..(i + 1) * o]);
                    held.infos.push(step.infos[i].clone());
                }
                self.ep_return[i] += step.rewards[i];
                self.ep_length[i] += 1;
                if step.terminations[i] || step.truncations[i] {
                    episodes.push(EpisodeRecord {
                        global_step: self.global_step,
                        ret: self.ep_return[i],
                        len: self.ep_length[i],
                    });
                    self.ep_return[i] = 0.0;
                    self.ep_length[i] = 0;
                }
            }
            held.num_steps += 1;
            self.obs = step.obs;
            let update_now = step_index > cfg.learning_starts && self.vec_steps.is_multiple_of(cfg.train_freq);
            let last = self.global_step >= target;
            if hook.is_none() || update_now || last || held.len() >= HOOK_BATCH {
                if let Some(h) = hook.as_deref_mut() {
                    h.replace_rewards(&mut held)?;
                    accumulate(&mut hook_sums, &h.stats(), held.len());
                    hooked += held.len();
                }
                self.store(&held, &held_next);
                held.clear();
                held_next.clear();
            }
            if update_now {
                for _ in 0..cfg.gradient_steps {
                    self.update(&mut sums)?;
                }
            }
        }
        let mean = |s: f64, k: u64| (k > 0).then(|| s / k as f64);
        Ok(SacStats {
            global_step: self.global_step,
            updates: self.updates,
            episodes,
            qf1_loss: mean(sums.q[0], sums.q_n),
            qf2_loss: mean(sums.q[1], sums.q_n),
            qf1_values: mean(sums.q[2], sums.q_n),
            qf2_values: mean(sums.q[3], sums.q_n),
            actor_loss: mean(sums.actor, sums.actor_n),
            alpha_loss: if self.log_alpha.is_some() { mean(sums.alpha, sums.actor_n) } else { None },
            alpha: self.alpha,
            sps: (self.global_step - first) as f64 / started.elapsed().as_secs_f64(),
            hook: hook_sums.into_iter().map(|(k, v)| (k, v / hooked.max(1) as f64)).collect(),
        })
    }

    /// Pushes the held-back transitions (`obs`, `actions`, `rewards`, `terminations`, and
    /// their next observations `next`) into the replay buffer, step-major as collected.
    fn store(&mut self, held: &Rollout, next: &[f32]) {
        let (o, a) = (held.obs_dim, held.act_dim);
        for k in 0..held.len() {
            self.rb.push(
                &held.obs[k * o..(k + 1) * o],
                &held.actions[k * a..(k + 1) * a],
                held.rewards[k] as f32,
                &next[k * o..(k + 1) * o],
                held.terminations[k],
            );
        }
    }

    /// One gradient update as training does it (a critic update; every `policy_frequency`-th
    /// also that many actor and alpha updates; the target update), on a batch from the
    /// replay buffer, which must not be empty. For benchmarks.
    pub fn gradient_update(&mut self) -> Result<()> {
        if self.rb.is_empty() {
            bail!("the replay buffer is empty: collect transitions before updating");
        }
        self.update(&mut Sums::default())
    }

    fn finite(&self, what: &str, v: f32) -> Result<f64> {
        if !v.is_finite() {
            bail!(
                "SAC: the {what} is not finite ({v}) at global step {} (gradient update {}); lower the learning rates or check the rewards",
                self.global_step,
                self.updates
            );
        }
        Ok(v as f64)
    }

    /// One critic update, the delayed actor and alpha updates, and the target update.
    fn update(&mut self, sums: &mut Sums) -> Result<()> {
        let cfg = &self.spec.sac;
        let (b, a) = (cfg.batch_size, self.actor.act_dim);
        let dev = self.device().clone();
        let batch = self.rb.sample(&mut self.rng, b, cfg.gamma, &dev)?;
        self.updates += 1;

        // Critic: regress both Q networks onto the soft target of the target networks.
        let eps = noise(&mut self.rng, b, a, &dev)?;
        let (next_a, next_logp) = self.actor.sample(&batch.next_obs, &eps)?;
        let (q1_next, q2_next) = self.q_target.forward(&batch.next_obs, &next_a)?;
        let soft_next = (q1_next.minimum(&q2_next)? - (next_logp * self.alpha)?)?.flatten_all()?;
        let target = (&batch.rewards + (&batch.discount * soft_next)?)?.detach();
        let (q1, q2) = self.q.forward(&batch.obs, &batch.actions)?;
        let (q1, q2) = (q1.flatten_all()?, q2.flatten_all()?);
        let qf1_loss = (&q1 - &target)?.sqr()?.mean_all()?;
        let qf2_loss = (&q2 - &target)?.sqr()?.mean_all()?;
        let qf_loss = (&qf1_loss + &qf2_loss)?;
        let grads = qf_loss.backward()?;
        let l1 = self.finite("critic loss (qf1)", qf1_loss.to_scalar::<f32>()?)?;
        let l2 = self.finite("critic loss (qf2)", qf2_loss.to_scalar::<f32>()?)?;
        self.q_opt.step(&self.q.params, &grads)?;
        sums.q[0] += l1;
        sums.q[1] += l2;
        sums.q[2] += q1.mean_all()?.to_scalar::<f32>()? as f64;
        sums.q[3] += q2.mean_all()?.to_scalar::<f32>()? as f64;
        sums.q_n += 1;

        // Actor and alpha: every policy_frequency updates, that many times.
        let pf = self.spec.sac.policy_frequency;
        if self.updates.is_multiple_of(pf) {
            for _ in 0..pf {
                let eps = noise(&mut self.rng, b, a, &dev)?;
                let (pi, logp) = self.actor.sample(&batch.obs, &eps)?;
                let (q1_pi, q2_pi) = self.q.forward(&batch.obs, &pi)?;
                let actor_loss = ((logp * self.alpha)? - q1_pi.minimum(&q2_pi)?)?.mean_all()?;
                let grads = actor_loss.backward()?;
                sums.actor += self.finite("actor loss", actor_loss.to_scalar::<f32>()?)?;
                sums.actor_n += 1;
                self.actor_opt.step(&self.actor.params, &grads)?;
                if let Some((params, log_alpha, opt)) = &mut self.log_alpha {
                    let eps = noise(&mut self.rng, b, a, &dev)?;
                    let (_, logp) = self.actor.sample(&batch.obs, &eps)?;
                    let gap = logp.mean_all()?.to_scalar::<f32>()? as f64 + self.target_entropy;
                    // mean(-exp(log_alpha) (log pi + target_entropy))
                    let alpha_loss = (log_alpha.as_tensor().exp()? * -gap)?.sum_all()?;
                    let grads = alpha_loss.backward()?;
                    sums.alpha += alpha_loss.to_scalar::<f32>()? as f64;
                    opt.step(params, &grads)?;
                    self.alpha = log_alpha.as_tensor().exp()?.to_vec1::<f32>()?[0] as f64;
                }
            }
        }

        // Targets: Polyak averaging.
        if self.updates.is_multiple_of(self.spec.sac.target_network_frequency) {
            let tau = self.spec.sac.tau;
            for ((_, p), (_, t)) in self.q.params.iter().zip(self.q_target.params.iter()) {
                t.set(&((p.as_tensor() * tau)? + (t.as_tensor() * (1.0 - tau))?)?)?;
            }
        }
        Ok(())
    }

    /// Writes a checkpoint of everything the rest of the run depends on (networks, targets,
    /// optimizers, replay buffer, generator position) to `path`, atomically. Call it at a
    /// boundary ([`Sac::at_boundary`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        let cpu = &Device::Cpu;
        let mut tensors = BTreeMap::new();
        let mut add = |prefix: &str, m: BTreeMap<String, Tensor>| -> Result<()> {
            for (k, v) in m {
                tensors.insert(format!("{prefix}.{k}"), v.to_device(cpu)?);
            }
            Ok(())
        };
        add("actor", self.actor.params.tensors())?;
        add("qf", self.q.params.tensors())?;
        add("qf_target", self.q_target.params.tensors())?;
        add("actor_opt", self.actor_opt.state()?)?;
        add("q_opt", self.q_opt.state()?)?;
        if let Some((p, _, opt)) = &self.log_alpha {
            add("alpha", p.tensors())?;
            add("alpha_opt", opt.state()?)?;
        }
        self.rb.tensors(&mut tensors)?;
        let meta = SacMeta {
            format: SAC_FORMAT.into(),
            spec: self.spec.clone(),
            global_step: self.global_step,
            vec_steps: self.vec_steps,
            updates: self.updates,
            obs_dim: self.actor.obs_dim,
            act_dim: self.actor.act_dim,
            alpha: self.alpha,
            replay_len: self.rb.len(),
            replay_pos: self.rb.pos,
            rng_seed: self.rng.get_seed().to_vec(),
            rng_stream: self.rng.get_stream(),
            rng_word_pos: self.rng.get_word_pos().to_string(),
        };
        let info = HashMap::from([("vlmgym".to_string(), serde_json::to_string(&meta)?)]);
        let bytes = safetensors::serialize(tensors.iter().map(|(k, v)| (k.as_str(), v)), Some(info))?;
        write_atomically(path, &bytes)
    }

    /// Restores a run from a checkpoint with the networks on `device`.
    pub fn resume_on(path: &Path, device: &Device) -> Result<Sac> {
        Self::resume_with(path, |spec| Sac::new_on(spec.clone(), device))
    }

    /// Restores a run whose vector env the caller builds: `start` gets the checkpoint's spec
    /// and returns a fresh run, whose state is then overwritten from the checkpoint.
    pub fn resume_with(path: &Path, start: impl FnOnce(&SacSpec) -> Result<Sac>) -> Result<Sac> {
        let (meta, bytes) = read_checked(path)?;
        let mut sac = start(&meta.spec)?;
        let dev = sac.device().clone();
        let t: BTreeMap<String, Tensor> =
            candle_core::safetensors::load_buffer(&bytes, &dev).map_err(|e| corrupt(path, e))?.into_iter().collect();
        if sac.actor.obs_dim != meta.obs_dim || sac.actor.act_dim != meta.act_dim {
            bail!(
                "checkpoint {} is for {} observation and {} action numbers, {} has {} and {}",
                path.display(),
                meta.obs_dim,
                meta.act_dim,
                meta.spec.env_id,
                sac.actor.obs_dim,
                sac.actor.act_dim
            );
        }
        let ctx = || format!("checkpoint {}", path.display());
        sac.actor.params.load(&strip("actor.", &t)).with_context(ctx)?;
        sac.q.params.load(&strip("qf.", &t)).with_context(ctx)?;
        sac.q_target.params.load(&strip("qf_target.", &t)).with_context(ctx)?;
        sac.actor_opt.load_state(&strip("actor_opt.", &t)).with_context(ctx)?;
        sac.q_opt.load_state(&strip("q_opt.", &t)).with_context(ctx)?;
        if let Some((p, _, opt)) = &mut sac.log_alpha {
            p.load(&strip("alpha.", &t)).with_context(ctx)?;
            opt.load_state(&strip("alpha_opt.", &t)).with_context(ctx)?;
        }
        let cpu: BTreeMap<String, Tensor> = t
            .iter()
            .filter(|(k, _)| k.starts_with("replay."))
            .map(|(k, v)| Ok((k.clone(), v.to_device(&Device::Cpu)?)))
            .collect::<Result<_>>()?;
        sac.rb.load(&cpu, meta.replay_len, meta.replay_pos).with_context(ctx)?;
        let seed: [u8; 32] = meta.rng_seed.as_slice().try_into().map_err(|_| corrupt(path, "bad rng_seed"))?;
        let word_pos: u128 = meta.rng_word_pos.parse().map_err(|_| corrupt(path, "bad rng_word_pos"))?;
        sac.rng = ChaCha8Rng::from_seed(seed);
        sac.rng.set_stream(meta.rng_stream);
        sac.rng.set_word_pos(word_pos);
        sac.alpha = meta.alpha;
        sac.global_step = meta.global_step;
        sac.vec_steps = meta.vec_steps;
        sac.updates = meta.updates;
        sac.obs.clear(); // the next chunk resets the envs as the boundary says
        Ok(sac)
    }
}

/// What a SAC checkpoint says about itself (its JSON metadata).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SacMeta {
    /// [`SAC_FORMAT`].
    pub format: String,
    /// The run it belongs to.
    pub spec: SacSpec,
    /// Env steps taken.
    pub global_step: u64,
    /// Vector steps taken.
    pub vec_steps: u64,
    /// Critic updates done.
    pub updates: u64,
    /// Observation length.
    pub obs_dim: usize,
    /// Action length.
    pub act_dim: usize,
    /// Entropy coefficient.
    pub alpha: f64,
    /// Transitions in the replay buffer.
    pub replay_len: usize,
    /// The replay buffer's write position.
    pub replay_pos: usize,
    /// The generator's key.
    pub rng_seed: Vec<u8>,
    /// The generator's stream.
    pub rng_stream: u64,
    /// The generator's position in words (a u128 as decimal text).
    pub rng_word_pos: String,
}

fn strip(prefix: &str, t: &BTreeMap<String, Tensor>) -> BTreeMap<String, Tensor> {
    t.iter().filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone()))).collect()
}

/// The metadata and bytes of a SAC checkpoint whose header and layout are valid.
fn read_checked(path: &Path) -> Result<(SacMeta, Vec<u8>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read checkpoint {}", path.display()))?;
    let format = crate::checkpoint::format_of_bytes(path, &bytes)?;
    if format != SAC_FORMAT {
        bail!("checkpoint {} has format `{format}`, not a SAC checkpoint (`{SAC_FORMAT}`)", path.display());
    }
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| corrupt(path, e))?;
    let json = header.metadata().as_ref().and_then(|m| m.get("vlmgym")).ok_or_else(|| corrupt(path, "no metadata"))?;
    let meta: SacMeta = serde_json::from_str(json).map_err(|e| corrupt(path, e))?;
    safetensors::SafeTensors::deserialize(&bytes).map_err(|e| corrupt(path, e))?;
    Ok((meta, bytes))
}

/// Reads a SAC checkpoint's metadata (checked as [`Sac::resume_with`] checks it).
pub fn read_meta(path: &Path) -> Result<SacMeta> {
    Ok(read_checked(path)?.0)
}

/// Loads the actor of a SAC checkpoint for evaluation, onto `device`; the env's spaces
/// must match the ones it was trained on. Returns the checkpoint's metadata too.
pub fn load_actor_on(
    path: &Path,
    obs_space: &Space,
    action_space: &Space,
    device: &Device,
) -> Result<(SacMeta, SacActor)> {
    let (meta, bytes) = read_checked(path)?;
    let (low, high) = box_bounds(action_space, &meta.spec.env_id)?;
    if meta.obs_dim != obs_space.flatdim() || meta.act_dim != low.len() {
        bail!(
            "checkpoint {} takes {} observation and gives {} action numbers; the env has {} and {}",
            path.display(),
            meta.obs_dim,
            meta.act_dim,
            obs_space.flatdim(),
            low.len()
        );
    }
    let actor =
        SacActor::new(&mut ChaCha8Rng::seed_from_u64(0), meta.obs_dim, &meta.spec.sac.hidden, &low, &high, device)?;
    let t: BTreeMap<String, Tensor> =
        candle_core::safetensors::load_buffer(&bytes, device).map_err(|e| corrupt(path, e))?.into_iter().collect();
    actor.params.load(&strip("actor.", &t)).with_context(|| format!("checkpoint {}", path.display()))?;
    Ok((meta, actor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(total: u64) -> SacConfig {
        SacConfig {
            total_timesteps: total,
            learning_starts: 100,
            batch_size: 32,
            hidden: vec![32, 32],
            log_every: 50,
            checkpoint_every: 200,
            ..SacConfig::default()
        }
    }

    #[test]
    fn log_prob_matches_the_squashed_gaussian_density() {
        // One action dim in [-2, 2]: logp = N(x; mu, sigma) - log(2 (1 - tanh(x)^2) + 1e-6).
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let actor = SacActor::new(&mut rng, 3, &[8], &[-2.0], &[2.0], &Device::Cpu).unwrap();
        let obs = Tensor::new(&[[0.1f32, -0.4, 0.7]], &Device::Cpu).unwrap();
        let eps = Tensor::new(&[[0.3f32]], &Device::Cpu).unwrap();
        let (mean, log_std) = actor.forward(&obs).unwrap();
        let (mu, ls) = (mean.to_vec2::<f32>().unwrap()[0][0] as f64, log_std.to_vec2::<f32>().unwrap()[0][0] as f64);
        assert!((LOG_STD_MIN..=LOG_STD_MAX).contains(&ls));
        let (a, logp) = actor.sample(&obs, &eps).unwrap();
        let x = mu + ls.exp() * 0.3;
        let want = -0.5 * ((x - mu) / ls.exp()).powi(2)
            - ls
            - 0.5 * (2.0 * std::f64::consts::PI).ln()
            - (2.0 * (1.0 - x.tanh().powi(2)) + 1e-6).ln();
        let got = logp.to_vec2::<f32>().unwrap()[0][0] as f64;
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        assert!((a.to_vec2::<f32>().unwrap()[0][0] as f64 - 2.0 * x.tanh()).abs() < 1e-5);
        let m = actor.mode(&obs).unwrap().to_vec2::<f32>().unwrap()[0][0] as f64;
        assert!((m - 2.0 * mu.tanh()).abs() < 1e-5);
    }

    #[test]
    fn replay_buffer_wraps_and_overwrites_the_oldest() {
        let mut rb = ReplayBuffer::new(3, 1, 1);
        for k in 0..5 {
            rb.push(&[k as f32], &[0.0], k as f32, &[k as f32 + 1.0], k == 4);
        }
        assert_eq!(rb.len(), 3);
        assert_eq!(rb.rewards, vec![3.0, 4.0, 2.0]);
        assert_eq!(rb.terminated, vec![0.0, 1.0, 0.0]);
        assert_eq!(rb.pos, 2);
    }

    #[test]
    fn discrete_action_spaces_are_refused() {
        let err = Sac::new(SacSpec::new("CartPole-v1", 0, tiny(1000))).err().unwrap().to_string();
        assert_eq!(err, "SAC needs a continuous (Box) action space with one axis; CartPole-v1 has Discrete(2)");
    }

    #[test]
    fn same_seed_same_run_and_resume_is_bit_identical() {
        let dir = tempfile::tempdir().unwrap();
        let spec = SacSpec::new("Pendulum-v1", 7, tiny(400));
        let run = |sac: &mut Sac, until: u64| {
            let mut rows = Vec::new();
            while sac.global_step() < until {
                rows.push(sac.train_chunk().unwrap());
            }
            rows
        };
        let mut straight = Sac::new(spec.clone()).unwrap();
        let rows = run(&mut straight, 400);
        assert!(straight.updates() > 200, "{}", straight.updates());
        let mut first = Sac::new(spec.clone()).unwrap();
        let mut rows2 = run(&mut first, 200);
        let path = dir.path().join("c.safetensors");
        first.save(&path).unwrap();
        drop(first);
        let mut resumed = Sac::resume_on(&path, &Device::Cpu).unwrap();
        rows2.extend(run(&mut resumed, 400));
        let strip_sps = |r: &[SacStats]| r.iter().map(|s| SacStats { sps: 0.0, ..s.clone() }).collect::<Vec<_>>();
        assert_eq!(strip_sps(&rows), strip_sps(&rows2));
        assert_eq!(straight.replay(), resumed.replay());
        for ((k, a), (_, b)) in straight.actor().params().iter().zip(resumed.actor().params().iter()) {
            let (a, b) = (
                a.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                b.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            );
            assert_eq!(a, b, "{k}");
        }
        assert_eq!(straight.alpha(), resumed.alpha());
    }

    #[test]
    fn a_diverging_critic_names_the_step() {
        let cfg = SacConfig { q_lr: 1e12, policy_lr: 1e12, ..tiny(2000) };
        let mut sac = Sac::new(SacSpec::new("Pendulum-v1", 0, cfg)).unwrap();
        let err = loop {
            match sac.train_chunk() {
                Ok(_) if sac.finished() => panic!("no divergence in 2000 steps"),
                Ok(_) => {}
                Err(e) => break e.to_string(),
            }
        };
        assert!(err.starts_with("SAC: the "), "{err}");
        assert!(err.contains("is not finite"), "{err}");
        assert!(
            err.contains(&format!("at global step {} (gradient update {})", sac.global_step(), sac.updates())),
            "{err}"
        );
    }
}
