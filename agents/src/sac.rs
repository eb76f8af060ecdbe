//! Soft Actor-Critic after CleanRL's `sac_continuous_action.py`, on the host networks of
//! [`crate::host_nn`] (hand-written backward passes over `gemm`; SAC's MLPs run on the CPU
//! whatever device a run's reward model uses), readable top to bottom: the run spec, the
//! squashed-Gaussian actor, the twin Q networks, the replay buffer, collection and the
//! update, then checkpoints.
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
use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use vlmgym_envs::{make_vec, AutoresetMode, Options, Space, Value, VectorEnv, VectorizationMode};

use crate::checkpoint::{corrupt, write_atomically};
use crate::host_nn::{
    grad_slices, load_tensors, name_dense, name_dense_mut, name_mlp, name_mlp_mut, to_tensors, Dense, DenseGrad,
    HostAdam, Mlp, Named, NamedMut, Tape,
};
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

/// The squashed-Gaussian policy: a ReLU trunk with mean and log-std heads, on the host
/// ([`crate::host_nn`]).
#[derive(Clone, Debug)]
pub struct SacActor {
    trunk: Mlp,
    mean: Dense,
    log_std: Dense,
    /// `(high - low) / 2`, per action dim.
    scale: Vec<f32>,
    /// `(high + low) / 2`, per action dim.
    bias: Vec<f32>,
    obs_dim: usize,
    act_dim: usize,
}

/// What [`SacActor::sample`] keeps for [`SacActor::backward`]; reused between calls.
#[derive(Clone, Debug, Default)]
pub struct ActorTape {
    trunk: Tape,
    rows: usize,
    mean: Vec<f32>,
    /// `tanh` of the raw log-std head (before the affine squash into the bounds).
    t: Vec<f32>,
    std: Vec<f32>,
    eps: Vec<f32>,
    /// `tanh(mean + std * eps)`.
    y: Vec<f32>,
    /// Actions in the env's bounds, `rows x act_dim`.
    pub action: Vec<f32>,
    /// `log pi(action | obs)`, one per row.
    pub logp: Vec<f32>,
    // Backward scratch.
    d_mean: Vec<f32>,
    d_raw: Vec<f32>,
    dh: Vec<f32>,
    dh2: Vec<f32>,
}

/// The gradient of a [`SacActor`]'s parameters, in [`SacActor::named`] order.
#[derive(Clone, Debug)]
pub struct ActorGrads {
    trunk: Vec<DenseGrad>,
    mean: DenseGrad,
    log_std: DenseGrad,
}

impl ActorGrads {
    /// Weights then biases in [`SacActor::named`] order.
    fn slices(&self) -> impl Iterator<Item = &[f32]> {
        grad_slices(self.trunk.iter().chain([&self.mean, &self.log_std]))
    }
}

const HALF_LOG_STD_RANGE: f32 = (0.5 * (LOG_STD_MAX - LOG_STD_MIN)) as f32;
const HALF_LOG_2PI: f32 = 0.918_938_5; // 0.5 ln(2 pi)

impl SacActor {
    /// CleanRL's actor for `obs_dim` observations and actions in `[low, high]`.
    pub fn new<R: Rng>(rng: &mut R, obs_dim: usize, hidden: &[usize], low: &[f32], high: &[f32]) -> Self {
        let act_dim = low.len();
        let sizes: Vec<usize> = std::iter::once(obs_dim).chain(hidden.iter().copied()).collect();
        let trunk = Mlp::new(rng, &sizes, true);
        let last = *hidden.last().expect("validated: hidden is not empty");
        let mean = Dense::torch_default(rng, last, act_dim);
        let log_std = Dense::torch_default(rng, last, act_dim);
        let scale = low.iter().zip(high).map(|(l, h)| (h - l) / 2.0).collect();
        let bias = low.iter().zip(high).map(|(l, h)| (h + l) / 2.0).collect();
        SacActor { trunk, mean, log_std, scale, bias, obs_dim, act_dim }
    }

    /// Observation length.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// Action length.
    pub fn act_dim(&self) -> usize {
        self.act_dim
    }

    /// The parameters by checkpoint name (`trunk.0.weight`, ..., `mean.*`, `log_std.*`).
    pub fn named(&self) -> Named<'_> {
        let mut out = Named::new();
        name_mlp(&mut out, "trunk", &self.trunk);
        name_dense(&mut out, "mean", &self.mean);
        name_dense(&mut out, "log_std", &self.log_std);
        out
    }

    /// The parameters' values in [`SacActor::named`] order, without their names (for the
    /// optimizer, every update).
    fn params_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        let heads = [&mut self.mean, &mut self.log_std];
        self.trunk.params_mut().chain(heads.into_iter().flat_map(|d| [d.weight.as_mut_slice(), d.bias.as_mut_slice()]))
    }

    fn named_mut(&mut self) -> NamedMut<'_> {
        let mut out = NamedMut::new();
        name_mlp_mut(&mut out, "trunk", &mut self.trunk);
        name_dense_mut(&mut out, "mean", &mut self.mean);
        name_dense_mut(&mut out, "log_std", &mut self.log_std);
        out
    }

    fn zero_grads(&self) -> ActorGrads {
        ActorGrads { trunk: self.trunk.zero_grads(), mean: self.mean.zero_grad(), log_std: self.log_std.zero_grad() }
    }

    /// Trunk and heads for `rows` observations: fills `tape.mean` and `tape.t`.
    fn heads(&self, obs: &[f32], rows: usize, tape: &mut ActorTape) {
        tape.rows = rows;
        self.trunk.forward(obs, rows, &mut tape.trunk);
        let h = tape.trunk.output();
        self.mean.forward(h, rows, &mut tape.mean);
        self.log_std.forward(h, rows, &mut tape.t);
        tape.t.iter_mut().for_each(|v| *v = v.tanh());
    }

    /// Reparameterised actions (`tape.action`) and their log-probabilities (`tape.logp`)
    /// for `rows` observations and standard-normal noise `eps` (`rows x act_dim`, drawn by
    /// the caller):
    /// `log_std = LOG_STD_MIN + (LOG_STD_MAX - LOG_STD_MIN) (tanh(raw) + 1) / 2`,
    /// `y = tanh(mean + exp(log_std) eps)`, `action = y scale + bias`, `log pi = sum_j
    /// [log N(eps_j) - log_std_j - log(scale_j (1 - y_j^2) + 1e-6)]`.
    pub fn sample(&self, obs: &[f32], rows: usize, eps: &[f32], tape: &mut ActorTape) {
        self.heads(obs, rows, tape);
        let a = self.act_dim;
        tape.eps.clear();
        tape.eps.extend_from_slice(eps);
        tape.std.resize(rows * a, 0.0);
        tape.y.resize(rows * a, 0.0);
        tape.action.resize(rows * a, 0.0);
        tape.logp.clear();
        for r in 0..rows {
            let mut logp = 0.0f32;
            for j in 0..a {
                let k = r * a + j;
                let log_std = LOG_STD_MIN as f32 + HALF_LOG_STD_RANGE * (tape.t[k] + 1.0);
                let std = log_std.exp();
                let y = (tape.mean[k] + std * eps[k]).tanh();
                tape.std[k] = std;
                tape.y[k] = y;
                tape.action[k] = y * self.scale[j] + self.bias[j];
                logp += -0.5 * eps[k] * eps[k] - log_std - HALF_LOG_2PI - (self.scale[j] * (1.0 - y * y) + 1e-6).ln();
            }
            tape.logp.push(logp);
        }
    }

    /// Gradients of a loss through the last [`SacActor::sample`], given the loss's
    /// gradients with respect to the actions (`rows x act_dim`) and the log-probabilities
    /// (one per row), into `grads` (overwritten).
    fn backward(&self, tape: &mut ActorTape, d_action: &[f32], d_logp: &[f32], grads: &mut ActorGrads) {
        let (rows, a) = (tape.rows, self.act_dim);
        tape.d_mean.resize(rows * a, 0.0);
        tape.d_raw.resize(rows * a, 0.0);
        for (r, &dl) in d_logp.iter().enumerate().take(rows) {
            for j in 0..a {
                let k = r * a + j;
                let (y, s) = (tape.y[k], self.scale[j]);
                // action = y s + b; logp has -ln(s (1 - y^2) + 1e-6).
                let dy = d_action[k] * s + dl * 2.0 * y * s / (s * (1.0 - y * y) + 1e-6);
                let dx = dy * (1.0 - y * y);
                tape.d_mean[k] = dx;
                // x = mean + exp(log_std) eps; logp has -log_std.
                let d_log_std = dx * tape.eps[k] * tape.std[k] - dl;
                let t = tape.t[k];
                tape.d_raw[k] = d_log_std * HALF_LOG_STD_RANGE * (1.0 - t * t);
            }
        }
        let h = tape.trunk.output();
        self.mean.backward(h, &tape.d_mean, rows, Some(&mut grads.mean), Some(&mut tape.dh));
        self.log_std.backward(h, &tape.d_raw, rows, Some(&mut grads.log_std), Some(&mut tape.dh2));
        for (d, e) in tape.dh.iter_mut().zip(&tape.dh2) {
            *d += e;
        }
        let dh = std::mem::take(&mut tape.dh);
        self.trunk.backward(&mut tape.trunk, &dh, Some(&mut grads.trunk), None);
        tape.dh = dh;
    }

    /// Actions for a `batch x obs_dim` row-major batch: sampled with noise from `rng`, or
    /// the mode `tanh(mean)` rescaled to the bounds when `deterministic`.
    pub fn act<R: Rng>(&self, obs: &[f32], rng: &mut R, deterministic: bool) -> Vec<f32> {
        let rows = obs.len() / self.obs_dim;
        let mut tape = ActorTape::default();
        if deterministic {
            self.heads(obs, rows, &mut tape);
            let a = self.act_dim;
            return tape
                .mean
                .iter()
                .enumerate()
                .map(|(k, m)| m.tanh() * self.scale[k % a] + self.bias[k % a])
                .collect();
        }
        let eps = noise(rng, rows * self.act_dim);
        self.sample(obs, rows, &eps, &mut tape);
        tape.action
    }
}

/// `n` standard-normal draws from `rng`.
fn noise<R: Rng>(rng: &mut R, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.sample(StandardNormal)).collect()
}

/// Two Q networks `Q_k(s, a)` (`qf1.*`, `qf2.*`), one optimizer for both as CleanRL has it.
#[derive(Clone, Debug, PartialEq)]
pub struct TwinQ {
    qf: [Mlp; 2],
    obs_dim: usize,
}

/// What [`TwinQ::forward`] keeps; reused between calls.
#[derive(Clone, Debug, Default)]
struct QTape {
    input: Vec<f32>,
    nets: [Tape; 2],
}

impl TwinQ {
    /// Two `[obs, act] -> hidden -> 1` ReLU MLPs.
    pub fn new<R: Rng>(rng: &mut R, obs_dim: usize, act_dim: usize, hidden: &[usize]) -> Self {
        let sizes: Vec<usize> =
            std::iter::once(obs_dim + act_dim).chain(hidden.iter().copied()).chain(std::iter::once(1)).collect();
        let qf1 = Mlp::new(rng, &sizes, false);
        let qf2 = Mlp::new(rng, &sizes, false);
        TwinQ { qf: [qf1, qf2], obs_dim }
    }

    /// The parameters by checkpoint name (`qf1.0.weight`, ..., `qf2.*`).
    pub fn named(&self) -> Named<'_> {
        let mut out = Named::new();
        name_mlp(&mut out, "qf1", &self.qf[0]);
        name_mlp(&mut out, "qf2", &self.qf[1]);
        out
    }

    /// The parameters' values in [`TwinQ::named`] order, without their names (for the
    /// optimizer and the target update, every update).
    fn params(&self) -> impl Iterator<Item = &[f32]> {
        self.qf.iter().flat_map(Mlp::params)
    }

    /// [`TwinQ::params`], mutable.
    fn params_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        self.qf.iter_mut().flat_map(Mlp::params_mut)
    }

    fn named_mut(&mut self) -> NamedMut<'_> {
        let [q1, q2] = &mut self.qf;
        let mut out = NamedMut::new();
        name_mlp_mut(&mut out, "qf1", q1);
        name_mlp_mut(&mut out, "qf2", q2);
        out
    }

    /// Both Q values of `rows` observations and actions; read them from `tape.nets[k]`.
    fn forward(&self, obs: &[f32], act: &[f32], rows: usize, tape: &mut QTape) {
        let (o, a) = (self.obs_dim, act.len() / rows.max(1));
        tape.input.clear();
        for r in 0..rows {
            tape.input.extend_from_slice(&obs[r * o..(r + 1) * o]);
            tape.input.extend_from_slice(&act[r * a..(r + 1) * a]);
        }
        for (q, t) in self.qf.iter().zip(tape.nets.iter_mut()) {
            q.forward(&tape.input, rows, t);
        }
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
    /// Names of the reward terms stored with each transition (a reward hook's synthesis
    /// terms); empty when there are none.
    term_names: Vec<String>,
    /// One row of `term_names.len()` terms per transition.
    terms: Vec<f32>,
    /// Where the next transition goes.
    pos: usize,
}

/// One sampled minibatch (buffers reused between updates).
#[derive(Clone, Debug, Default)]
struct Batch {
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    /// `gamma * (1 - terminated)`.
    discount: Vec<f32>,
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
            term_names: Vec::new(),
            terms: Vec::new(),
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

    /// Names of the reward terms stored with each transition (empty: none).
    pub fn term_names(&self) -> &[String] {
        &self.term_names
    }

    /// The reward terms of stored transition `k`, in [`ReplayBuffer::term_names`] order.
    pub fn terms_at(&self, k: usize) -> &[f32] {
        let w = self.term_names.len();
        &self.terms[k * w..(k + 1) * w]
    }

    /// Stores one transition (in a buffer without reward terms).
    pub fn push(&mut self, obs: &[f32], action: &[f32], reward: f32, next_obs: &[f32], terminated: bool) {
        self.push_with_terms(obs, action, reward, next_obs, terminated, &[]);
    }

    /// Stores one transition with its reward terms (one per [`ReplayBuffer::term_names`]).
    pub fn push_with_terms(
        &mut self,
        obs: &[f32],
        action: &[f32],
        reward: f32,
        next_obs: &[f32],
        terminated: bool,
        terms: &[f32],
    ) {
        let (o, a, w) = (self.obs_dim, self.act_dim, self.term_names.len());
        assert_eq!(terms.len(), w, "a transition's reward terms do not match the buffer's term names");
        if self.len() < self.capacity {
            self.terms.extend_from_slice(terms);
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
            self.terms[k * w..(k + 1) * w].copy_from_slice(terms);
        }
        self.pos = (self.pos + 1) % self.capacity;
    }

    /// `batch` transitions drawn uniformly with replacement (as SB3's buffer does), into `out`.
    fn sample_into<R: Rng>(&self, rng: &mut R, batch: usize, gamma: f64, out: &mut Batch) {
        let (o, a, n) = (self.obs_dim, self.act_dim, self.len());
        out.obs.clear();
        out.next_obs.clear();
        out.actions.clear();
        out.rewards.clear();
        out.discount.clear();
        for _ in 0..batch {
            let k = rng.random_range(0..n);
            out.obs.extend_from_slice(&self.obs[k * o..(k + 1) * o]);
            out.next_obs.extend_from_slice(&self.next_obs[k * o..(k + 1) * o]);
            out.actions.extend_from_slice(&self.actions[k * a..(k + 1) * a]);
            out.rewards.push(self.rewards[k]);
            out.discount.push(gamma as f32 * (1.0 - self.terminated[k]));
        }
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
        if !self.term_names.is_empty() {
            out.insert("replay.terms".into(), Tensor::from_slice(&self.terms, (n, self.term_names.len()), cpu)?);
        }
        Ok(())
    }

    /// Restores [`ReplayBuffer::tensors`] with the write position `pos` and reward terms
    /// named `term_names`.
    fn load(&mut self, t: &BTreeMap<String, Tensor>, len: usize, pos: usize, term_names: &[String]) -> Result<()> {
        let get = |k: &str| -> Result<Vec<f32>> {
            t.get(k)
                .with_context(|| format!("the checkpoint lacks `{k}`"))?
                .flatten_all()?
                .to_vec1::<f32>()
                .map_err(Into::into)
        };
        if len == 0 {
            *self = ReplayBuffer::new(self.capacity, self.obs_dim, self.act_dim);
            self.term_names = term_names.to_vec();
            return Ok(());
        }
        self.term_names = term_names.to_vec();
        self.terms = if term_names.is_empty() { Vec::new() } else { get("replay.terms")? };
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
            && self.terms.len() == len * self.term_names.len()
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
    log_alpha: Option<(Vec<f32>, HostAdam)>,
    alpha: f64,
    target_entropy: f64,
    actor_opt: HostAdam,
    q_opt: HostAdam,
    rb: ReplayBuffer,
    work: Work,
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

/// The update's buffers, kept between updates so that steady-state updates do not allocate.
#[derive(Default)]
struct Work {
    batch: Batch,
    actor: ActorTape,
    q: QTape,
    q_next: QTape,
    target: Vec<f32>,
    dq: [Vec<f32>; 2],
    d_input: [Vec<f32>; 2],
    d_action: Vec<f32>,
    d_logp: Vec<f32>,
    q_grads: [Vec<DenseGrad>; 2],
    actor_grads: Option<ActorGrads>,
}

/// The name, shape and value of `log_alpha` (for checkpoints and its optimizer).
fn log_alpha_named(v: &[f32]) -> Named<'_> {
    vec![("log_alpha".to_string(), vec![1], v)]
}

/// The sizes of named parameters, in order (for an optimizer).
fn sizes(named: &Named) -> Vec<usize> {
    named.iter().map(|(_, _, v)| v.len()).collect()
}

/// An error naming the step when a loss is not finite, else the loss.
fn finite(what: &str, v: f32, global_step: u64, updates: u64) -> Result<f64> {
    if !v.is_finite() {
        bail!(
            "SAC: the {what} is not finite ({v}) at global step {global_step} (gradient update {updates}); lower the learning rates or check the rewards"
        );
    }
    Ok(v as f64)
}

impl Sac {
    /// A fresh run on a threaded vector env that autoresets in the same step.
    pub fn new(spec: SacSpec) -> Result<Self> {
        spec.sac.validate()?;
        let venv = make_vec(&spec.env_id, spec.sac.num_envs, &spec.kwargs()?, VectorizationMode::default())?
            .with_autoreset_mode(AutoresetMode::SameStep);
        Self::with_env(spec, Box::new(venv))
    }

    /// A fresh run on a vector env the caller built (`spec.sac.num_envs` envs, autoreset in
    /// [`AutoresetMode::SameStep`] so final observations can bootstrap).
    pub fn with_env(spec: SacSpec, venv: Box<dyn VectorEnv>) -> Result<Self> {
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
        let actor = SacActor::new(&mut rng, obs_dim, &cfg.hidden, &low, &high);
        let q = TwinQ::new(&mut rng, obs_dim, act_dim, &cfg.hidden);
        // Drawn and then overwritten, as CleanRL's `load_state_dict` of a fresh network.
        let mut q_target = TwinQ::new(&mut rng, obs_dim, act_dim, &cfg.hidden);
        q_target.clone_from(&q);
        let actor_opt = HostAdam::new(sizes(&actor.named()), cfg.policy_lr, ADAM_EPS);
        let q_opt = HostAdam::new(sizes(&q.named()), cfg.q_lr, ADAM_EPS);
        let log_alpha = cfg.autotune.then(|| (vec![0.0f32], HostAdam::new([1], cfg.q_lr, ADAM_EPS)));
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
            work: Work::default(),
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
                self.actor.act(&self.obs, &mut self.rng, false)
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
                self.store(&held, &held_next)?;
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
    /// A reward hook's per-transition terms (`held.terms`) are stored with each transition.
    fn store(&mut self, held: &Rollout, next: &[f32]) -> Result<()> {
        let (o, a, w) = (held.obs_dim, held.act_dim, held.term_names.len());
        if held.term_names != self.rb.term_names {
            if !self.rb.is_empty() {
                bail!(
                    "the reward hook's terms changed from {:?} to {:?} during the run",
                    self.rb.term_names,
                    held.term_names
                );
            }
            self.rb.term_names.clone_from(&held.term_names);
        }
        if held.terms.len() != held.len() * w {
            bail!("the reward hook wrote {} term values for {} transitions of {w} terms", held.terms.len(), held.len());
        }
        for k in 0..held.len() {
            self.rb.push_with_terms(
                &held.obs[k * o..(k + 1) * o],
                &held.actions[k * a..(k + 1) * a],
                held.rewards[k] as f32,
                &next[k * o..(k + 1) * o],
                held.terminations[k],
                &held.terms[k * w..(k + 1) * w],
            );
        }
        Ok(())
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

    /// One critic update, the delayed actor and alpha updates, and the target update.
    fn update(&mut self, sums: &mut Sums) -> Result<()> {
        let Sac { spec, actor, q, q_target, log_alpha, actor_opt, q_opt, rb, work: w, rng, .. } = self;
        let cfg = &spec.sac;
        let (b, o, a) = (cfg.batch_size, actor.obs_dim, actor.act_dim);
        rb.sample_into(rng, b, cfg.gamma, &mut w.batch);
        self.updates += 1;
        let (step, updates) = (self.global_step, self.updates);
        let inv_b = 1.0 / b as f32;

        // Critic: regress both Q networks onto the soft target of the target networks.
        let alpha = self.alpha as f32;
        let eps = noise(rng, b * a);
        actor.sample(&w.batch.next_obs, b, &eps, &mut w.actor);
        q_target.forward(&w.batch.next_obs, &w.actor.action, b, &mut w.q_next);
        let (q1n, q2n) = (w.q_next.nets[0].output(), w.q_next.nets[1].output());
        w.target.clear();
        for i in 0..b {
            let soft = q1n[i].min(q2n[i]) - w.actor.logp[i] * alpha;
            w.target.push(w.batch.rewards[i] + w.batch.discount[i] * soft);
        }
        q.forward(&w.batch.obs, &w.batch.actions, b, &mut w.q);
        let mut losses = [0.0f32; 2];
        let mut means = [0.0f64; 2];
        for k in 0..2 {
            let values = w.q.nets[k].output();
            w.dq[k].clear();
            for (v, t) in values.iter().zip(&w.target) {
                let diff = v - t;
                losses[k] += diff * diff;
                w.dq[k].push(2.0 * diff * inv_b);
            }
            losses[k] *= inv_b;
            means[k] = values.iter().map(|&v| v as f64).sum::<f64>() / b as f64;
            if w.q_grads[k].is_empty() {
                w.q_grads[k] = q.qf[k].zero_grads();
            }
            q.qf[k].backward(&mut w.q.nets[k], &w.dq[k], Some(&mut w.q_grads[k]), None);
        }
        sums.q[0] += finite("critic loss (qf1)", losses[0], step, updates)?;
        sums.q[1] += finite("critic loss (qf2)", losses[1], step, updates)?;
        q_opt.step(q.params_mut(), grad_slices(w.q_grads.iter().flatten()));
        sums.q[2] += means[0];
        sums.q[3] += means[1];
        sums.q_n += 1;

        // Actor and alpha: every policy_frequency updates, that many times.
        let pf = cfg.policy_frequency;
        if updates.is_multiple_of(pf) {
            for _ in 0..pf {
                let eps = noise(rng, b * a);
                actor.sample(&w.batch.obs, b, &eps, &mut w.actor);
                q.forward(&w.batch.obs, &w.actor.action, b, &mut w.q);
                // loss = mean(alpha log pi - min(Q1, Q2)); the smaller Q takes the gradient.
                let (q1, q2) = (w.q.nets[0].output(), w.q.nets[1].output());
                let mut loss = 0.0f32;
                w.dq[0].clear();
                w.dq[1].clear();
                for i in 0..b {
                    let first = q1[i] <= q2[i];
                    loss += w.actor.logp[i] * alpha - if first { q1[i] } else { q2[i] };
                    w.dq[0].push(if first { -inv_b } else { 0.0 });
                    w.dq[1].push(if first { 0.0 } else { -inv_b });
                }
                sums.actor += finite("actor loss", loss * inv_b, step, updates)?;
                sums.actor_n += 1;
                // Through the Q networks to their action inputs only (no weight gradients).
                w.d_action.clear();
                w.d_action.resize(b * a, 0.0);
                for k in 0..2 {
                    q.qf[k].backward(&mut w.q.nets[k], &w.dq[k], None, Some(&mut w.d_input[k]));
                    for (r, row) in w.d_input[k].chunks_exact(o + a).enumerate() {
                        for (d, g) in w.d_action[r * a..(r + 1) * a].iter_mut().zip(&row[o..]) {
                            *d += g;
                        }
                    }
                }
                w.d_logp.clear();
                w.d_logp.resize(b, alpha * inv_b);
                let grads = w.actor_grads.get_or_insert_with(|| actor.zero_grads());
                actor.backward(&mut w.actor, &w.d_action, &w.d_logp, grads);
                actor_opt.step(actor.params_mut(), grads.slices());
                if let Some((log_alpha, opt)) = log_alpha {
                    let eps = noise(rng, b * a);
                    actor.sample(&w.batch.obs, b, &eps, &mut w.actor);
                    let mean_logp = w.actor.logp.iter().sum::<f32>() * inv_b;
                    let gap = (mean_logp as f64 + self.target_entropy) as f32;
                    // loss = -exp(log_alpha) (mean log pi + target_entropy); d/dlog_alpha the same.
                    let loss = -log_alpha[0].exp() * gap;
                    sums.alpha += loss as f64;
                    opt.step([log_alpha.as_mut_slice()], [[loss].as_slice()]);
                    self.alpha = log_alpha[0].exp() as f64;
                }
            }
        }

        // Targets: Polyak averaging.
        if updates.is_multiple_of(cfg.target_network_frequency) {
            let tau = cfg.tau as f32;
            for (p, t) in q.params().zip(q_target.params_mut()) {
                for (t, p) in t.iter_mut().zip(p) {
                    *t = p * tau + *t * (1.0 - tau);
                }
            }
        }
        Ok(())
    }

    /// Writes a checkpoint of everything the rest of the run depends on (networks, targets,
    /// optimizers, replay buffer, generator position) to `path`, atomically. Call it at a
    /// boundary ([`Sac::at_boundary`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors = BTreeMap::new();
        to_tensors(&self.actor.named(), "actor.", &mut tensors)?;
        to_tensors(&self.q.named(), "qf.", &mut tensors)?;
        to_tensors(&self.q_target.named(), "qf_target.", &mut tensors)?;
        self.actor_opt.state(&self.actor.named(), "actor_opt.", &mut tensors)?;
        self.q_opt.state(&self.q.named(), "q_opt.", &mut tensors)?;
        if let Some((v, opt)) = &self.log_alpha {
            to_tensors(&log_alpha_named(v), "alpha.", &mut tensors)?;
            opt.state(&log_alpha_named(v), "alpha_opt.", &mut tensors)?;
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
            replay_terms: self.rb.term_names.clone(),
            rng_seed: self.rng.get_seed().to_vec(),
            rng_stream: self.rng.get_stream(),
            rng_word_pos: self.rng.get_word_pos().to_string(),
        };
        let info = HashMap::from([("vlmgym".to_string(), serde_json::to_string(&meta)?)]);
        let bytes = safetensors::serialize(tensors.iter().map(|(k, v)| (k.as_str(), v)), Some(info))?;
        write_atomically(path, &bytes)
    }

    /// Restores a run from a checkpoint, on the vector env [`Sac::new`] builds.
    pub fn resume(path: &Path) -> Result<Sac> {
        Self::resume_with(path, |spec| Sac::new(spec.clone()))
    }

    /// Restores a run whose vector env the caller builds: `start` gets the checkpoint's spec
    /// and returns a fresh run, whose state is then overwritten from the checkpoint.
    pub fn resume_with(path: &Path, start: impl FnOnce(&SacSpec) -> Result<Sac>) -> Result<Sac> {
        let (meta, bytes) = read_checked(path)?;
        let mut sac = start(&meta.spec)?;
        let t: BTreeMap<String, Tensor> = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
            .map_err(|e| corrupt(path, e))?
            .into_iter()
            .collect();
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
        load_tensors(sac.actor.named_mut(), "actor.", &t).with_context(ctx)?;
        load_tensors(sac.q.named_mut(), "qf.", &t).with_context(ctx)?;
        load_tensors(sac.q_target.named_mut(), "qf_target.", &t).with_context(ctx)?;
        sac.actor_opt.load_state(&sac.actor.named(), "actor_opt.", &t).with_context(ctx)?;
        sac.q_opt.load_state(&sac.q.named(), "q_opt.", &t).with_context(ctx)?;
        if let Some((v, opt)) = &mut sac.log_alpha {
            load_tensors(vec![("log_alpha".into(), vec![1], v)], "alpha.", &t).with_context(ctx)?;
            opt.load_state(&log_alpha_named(v), "alpha_opt.", &t).with_context(ctx)?;
        }
        sac.rb.load(&t, meta.replay_len, meta.replay_pos, &meta.replay_terms).with_context(ctx)?;
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
    /// The names of the reward terms stored with each transition (none without a hook).
    #[serde(default)]
    pub replay_terms: Vec<String>,
    /// The generator's key.
    pub rng_seed: Vec<u8>,
    /// The generator's stream.
    pub rng_stream: u64,
    /// The generator's position in words (a u128 as decimal text).
    pub rng_word_pos: String,
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

/// Loads the actor of a SAC checkpoint for evaluation; the env's spaces must match the
/// ones it was trained on. Returns the checkpoint's metadata too.
pub fn load_actor(path: &Path, obs_space: &Space, action_space: &Space) -> Result<(SacMeta, SacActor)> {
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
    let mut actor = SacActor::new(&mut ChaCha8Rng::seed_from_u64(0), meta.obs_dim, &meta.spec.sac.hidden, &low, &high);
    let t: BTreeMap<String, Tensor> = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)
        .map_err(|e| corrupt(path, e))?
        .into_iter()
        .collect();
    load_tensors(actor.named_mut(), "actor.", &t).with_context(|| format!("checkpoint {}", path.display()))?;
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
        let actor = SacActor::new(&mut rng, 3, &[8], &[-2.0], &[2.0]);
        let obs = [0.1f32, -0.4, 0.7];
        let mut tape = ActorTape::default();
        actor.sample(&obs, 1, &[0.3], &mut tape);
        let mu = tape.mean[0] as f64;
        let ls = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (tape.t[0] as f64 + 1.0);
        assert!((LOG_STD_MIN..=LOG_STD_MAX).contains(&ls));
        let x = mu + ls.exp() * 0.3;
        let want = -0.5 * ((x - mu) / ls.exp()).powi(2)
            - ls
            - 0.5 * (2.0 * std::f64::consts::PI).ln()
            - (2.0 * (1.0 - x.tanh().powi(2)) + 1e-6).ln();
        let got = tape.logp[0] as f64;
        assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        assert!((tape.action[0] as f64 - 2.0 * x.tanh()).abs() < 1e-5);
        let m = actor.act(&obs, &mut rng, true)[0] as f64;
        assert!((m - 2.0 * mu.tanh()).abs() < 1e-5);
    }

    /// The actor's hand-written backward pass gives candle autograd's gradients of the same
    /// squashed-Gaussian formula (weights drawn identically), for a loss that weighs both the
    /// actions and the log-probabilities.
    #[test]
    fn actor_gradients_match_candle_autograd() {
        use crate::nn::{Dense as CandleDense, Params, ReluMlp};
        let (o, a, rows) = (3, 2, 5);
        let (low, high) = ([-2.0f32, 0.0], [2.0f32, 1.0]);
        let actor = SacActor::new(&mut ChaCha8Rng::seed_from_u64(4), o, &[16, 8], &low, &high);
        let mut params = Params::cpu();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let trunk = ReluMlp::new(&mut rng, &[o, 16, 8], &mut params, "trunk").unwrap();
        let mean = CandleDense::torch_default(&mut rng, 8, a, &mut params, "mean").unwrap();
        let log_std = CandleDense::torch_default(&mut rng, 8, a, &mut params, "log_std").unwrap();

        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let obs: Vec<f32> = (0..rows * o).map(|_| rng.random_range(-1.5..1.5)).collect();
        let eps = noise(&mut rng, rows * a);
        let wa: Vec<f32> = (0..rows * a).map(|_| rng.random_range(-1.0..1.0)).collect();
        let wl: Vec<f32> = (0..rows).map(|_| rng.random_range(-1.0..1.0)).collect();

        // Reference: the formula as candle ops, loss = sum(wa * action) + sum(wl * logp).
        let dev = &Device::Cpu;
        let t = |v: &[f32], shape: (usize, usize)| Tensor::from_slice(v, shape, dev).unwrap();
        let h = trunk.forward(&t(&obs, (rows, o))).unwrap().relu().unwrap();
        let mu = mean.forward(&h).unwrap();
        let half = 0.5 * (LOG_STD_MAX - LOG_STD_MIN);
        let ls = log_std.forward(&h).unwrap().tanh().unwrap().affine(half, LOG_STD_MIN + half).unwrap();
        let e = t(&eps, (rows, a));
        let x = (&mu + (ls.exp().unwrap() * &e).unwrap()).unwrap();
        let y = x.tanh().unwrap();
        let scale = Tensor::from_slice(&actor.scale, a, dev).unwrap();
        let bias = Tensor::from_slice(&actor.bias, a, dev).unwrap();
        let action = y.broadcast_mul(&scale).unwrap().broadcast_add(&bias).unwrap();
        let normal = ((e.sqr().unwrap() * -0.5).unwrap() - &ls)
            .unwrap()
            .affine(1.0, -0.5 * (2.0 * std::f64::consts::PI).ln())
            .unwrap();
        let squash = y
            .sqr()
            .unwrap()
            .affine(-1.0, 1.0)
            .unwrap()
            .broadcast_mul(&scale)
            .unwrap()
            .affine(1.0, 1e-6)
            .unwrap()
            .log()
            .unwrap();
        let logp = (normal - squash).unwrap().sum_keepdim(1).unwrap();
        let loss = ((action.clone() * t(&wa, (rows, a))).unwrap().sum_all().unwrap()
            + (logp.clone() * t(&wl, (rows, 1))).unwrap().sum_all().unwrap())
        .unwrap();
        let grads = loss.backward().unwrap();

        let mut tape = ActorTape::default();
        actor.sample(&obs, rows, &eps, &mut tape);
        let close = |got: &[f32], want: &[f32], what: &str| {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() <= 2e-4 * (1.0 + w.abs()), "{what}: {g} vs {w}");
            }
        };
        close(&tape.action, &action.flatten_all().unwrap().to_vec1::<f32>().unwrap(), "action");
        close(&tape.logp, &logp.flatten_all().unwrap().to_vec1::<f32>().unwrap(), "logp");
        let mut g = actor.zero_grads();
        actor.backward(&mut tape, &wa, &wl, &mut g);
        for ((name, _, _), got) in actor.named().iter().zip(g.slices()) {
            let (_, var) = params.iter().find(|(k, _)| *k == name).unwrap();
            close(got, &grads.get(var).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap(), name);
        }
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
        let mut resumed = Sac::resume(&path).unwrap();
        rows2.extend(run(&mut resumed, 400));
        let strip_sps = |r: &[SacStats]| r.iter().map(|s| SacStats { sps: 0.0, ..s.clone() }).collect::<Vec<_>>();
        assert_eq!(strip_sps(&rows), strip_sps(&rows2));
        assert_eq!(straight.replay(), resumed.replay());
        for ((k, _, a), (_, _, b)) in straight.actor().named().iter().zip(resumed.actor().named()) {
            assert_eq!(*a, b, "{k}");
        }
        assert_eq!(straight.q(), resumed.q());
        assert_eq!(straight.alpha(), resumed.alpha());
    }

    /// Doubles the env's reward and records the env's reward and the first observation as
    /// its terms.
    struct Doubling;

    impl RewardHook for Doubling {
        fn replace_rewards(&mut self, r: &mut Rollout) -> anyhow::Result<()> {
            r.term_names = vec!["env".into(), "obs0".into()];
            r.terms.clear();
            for k in 0..r.len() {
                r.terms.extend([r.rewards[k] as f32, r.raw_obs_at(k)[0]]);
                r.rewards[k] *= 2.0;
            }
            Ok(())
        }
    }

    #[test]
    fn a_hooks_terms_are_stored_with_each_transition_and_survive_resume() {
        let dir = tempfile::tempdir().unwrap();
        let mut sac = Sac::new(SacSpec::new("Pendulum-v1", 2, tiny(200))).unwrap();
        while sac.global_step() < 200 {
            sac.train_chunk_with(Some(&mut Doubling)).unwrap();
        }
        let rb = sac.replay();
        assert_eq!(rb.term_names(), ["env", "obs0"]);
        assert_eq!(rb.len(), 200);
        for k in 0..rb.len() {
            let t = rb.terms_at(k);
            assert_eq!(rb.rewards[k], (2.0 * t[0] as f64) as f32, "transition {k}");
            assert_eq!(t[1], rb.obs[k * 3], "transition {k}");
        }
        let path = dir.path().join("c.safetensors");
        sac.save(&path).unwrap();
        let resumed = Sac::resume(&path).unwrap();
        assert_eq!(resumed.replay(), sac.replay());
        // A hook whose terms change mid-run is an error, not a silent misalignment.
        let mut other = Sac::new(SacSpec::new("Pendulum-v1", 2, tiny(400))).unwrap();
        other.train_chunk_with(Some(&mut Doubling)).unwrap();
        let err = other.train_chunk().unwrap_err().to_string();
        assert!(err.contains("terms changed"), "{err}");
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
