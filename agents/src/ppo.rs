//! Proximal Policy Optimization (CleanRL's `ppo.py` / `ppo_continuous_action.py`) on a
//! threaded vector env, with a reward-replacement hook and exact resume.
//!
//! Every `checkpoint_every` updates is a *boundary*: the envs are reset with a seed derived
//! from the run seed and the update index, and the sampling generator is reseeded the same
//! way. A checkpoint written at a boundary therefore holds everything the rest of the run
//! depends on, so `--resume` continues bit-identically.
//!
//! The networks and the optimizer run on the candle [`Device`] the caller passes
//! ([`Ppo::new_on`], [`Ppo::with_env_on`]); the device is not part of the [`RunSpec`] (a run
//! may resume on another device). [`Ppo::new`] and [`Ppo::with_env`] are the CPU defaults.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use vlmgym_envs::{make_vec, AutoresetMode, Options, VectorEnv, VectorizationMode};

use crate::config::PpoConfig;
use crate::nn::{clip_grad_norm, Adam};
use crate::normalize::{ObsNormalizer, RewardNormalizer};
use crate::policy::{ActionKind, ActorCritic, Arch};
use crate::rollout::{bootstrap_truncations, gae, RewardHook, Rollout};

/// What a run trains on: env, kwargs, seed and hyper-parameters (`config.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Registered env id.
    pub env_id: String,
    /// Env constructor kwargs.
    #[serde(default)]
    pub env_kwargs: toml::Table,
    /// Run seed.
    pub seed: u64,
    /// Hyper-parameters.
    pub ppo: PpoConfig,
    /// How rewards are replaced (language goal, synthesis config...), kept opaque here so a
    /// resumed run rebuilds the same reward; empty for the env's own reward.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub reward: toml::Table,
    /// What the policy observes when not the env's own observation (e.g. a camera's
    /// frames), kept opaque here like `reward`; empty for the env's observation.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub observation: toml::Table,
}

impl RunSpec {
    /// The env kwargs as JSON options.
    pub fn kwargs(&self) -> Result<Options> {
        let json = serde_json::to_value(&self.env_kwargs)?;
        Ok(json.as_object().cloned().unwrap_or_default())
    }
}

/// One finished training episode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeRecord {
    /// Env steps taken by all envs when it ended.
    pub global_step: u64,
    /// Undiscounted return of the env's own reward.
    pub ret: f64,
    /// Length in steps.
    pub len: u64,
}

/// Statistics of one update.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IterationStats {
    /// Updates completed, this one included.
    pub iteration: u64,
    /// Env steps so far.
    pub global_step: u64,
    /// Episodes that ended during this rollout.
    pub episodes: Vec<EpisodeRecord>,
    /// Learning rate used.
    pub learning_rate: f64,
    /// Clipped surrogate policy loss (last minibatch).
    pub policy_loss: f64,
    /// Value loss (last minibatch).
    pub value_loss: f64,
    /// Mean policy entropy (last minibatch).
    pub entropy: f64,
    /// Approximate KL between old and new policy (last minibatch).
    pub approx_kl: f64,
    /// Fraction of ratios clipped, over all minibatches.
    pub clipfrac: f64,
    /// 1 - Var(returns - values) / Var(returns).
    pub explained_variance: f64,
    /// Env steps per second of this update (collection and learning).
    pub sps: f64,
    /// Named statistics the reward hook reported for this rollout (e.g. the mean of each
    /// reward term), one `metrics.csv` column each.
    pub extra: Vec<(String, f64)>,
}

/// A PPO run in progress.
pub struct Ppo {
    spec: RunSpec,
    venv: Box<dyn VectorEnv>,
    policy: ActorCritic,
    adam: Adam,
    obs_norm: Option<ObsNormalizer>,
    rew_norm: Option<RewardNormalizer>,
    rng: ChaCha8Rng,
    iteration: u64,
    global_step: u64,
    next_raw_obs: Vec<f32>,
    next_start: Vec<bool>,
    ep_return: Vec<f64>,
    ep_length: Vec<u64>,
}

/// A per-boundary seed (splitmix64 of the run seed and the update index; SAC passes its
/// step).
pub(crate) fn derive_seed(seed: u64, iteration: u64) -> u64 {
    let mut z = seed ^ iteration.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Ppo {
    /// A fresh run on the CPU ([`Ppo::new_on`] with [`Device::Cpu`]).
    pub fn new(spec: RunSpec) -> Result<Self> {
        Self::new_on(spec, &Device::Cpu)
    }

    /// A fresh run whose networks live on `device`: makes the threaded vector env and
    /// initialises the networks.
    pub fn new_on(spec: RunSpec, device: &Device) -> Result<Self> {
        spec.ppo.validate()?;
        let venv = make_vec(&spec.env_id, spec.ppo.num_envs, &spec.kwargs()?, VectorizationMode::default())?
            .with_autoreset_mode(AutoresetMode::SameStep);
        Self::with_env_on(spec, Box::new(venv), device)
    }

    /// A fresh run on a vector env the caller built, on the CPU ([`Ppo::with_env_on`] with
    /// [`Device::Cpu`]).
    pub fn with_env(spec: RunSpec, venv: Box<dyn VectorEnv>) -> Result<Self> {
        Self::with_env_on(spec, venv, &Device::Cpu)
    }

    /// A fresh run on a vector env the caller built (e.g. wrapped to render pixels or to
    /// keep frames for a language reward), with the networks on `device`. It must hold
    /// `spec.ppo.num_envs` envs and autoreset in [`AutoresetMode::SameStep`] (so final
    /// observations can bootstrap).
    pub fn with_env_on(spec: RunSpec, venv: Box<dyn VectorEnv>, device: &Device) -> Result<Self> {
        spec.ppo.validate()?;
        let cfg = &spec.ppo;
        if venv.num_envs() != cfg.num_envs {
            bail!("the vector env has {} envs, the config asks for num_envs = {}", venv.num_envs(), cfg.num_envs);
        }
        if venv.autoreset_mode() != AutoresetMode::SameStep {
            bail!("PPO needs a vector env that autoresets in the same step, not {:?}", venv.autoreset_mode());
        }
        let kind = ActionKind::from_space(venv.single_action_space())?;
        let obs_dim = venv.obs_dim();
        let mut init_rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let arch = Arch::from_config(&cfg.policy, &cfg.hidden, venv.single_observation_space())?;
        let policy = ActorCritic::new(obs_dim, kind, &arch, cfg.init_log_std, &mut init_rng, device)?;
        let adam = Adam::new(policy.params(), cfg.learning_rate, cfg.adam_eps)?;
        let obs_norm = cfg.norm_obs.then(|| ObsNormalizer::new(obs_dim, cfg.clip_obs));
        let rew_norm = cfg.norm_reward.then(|| RewardNormalizer::new(cfg.num_envs, cfg.gamma, cfg.clip_reward));
        let n = cfg.num_envs;
        Ok(Ppo {
            spec,
            venv,
            policy,
            adam,
            obs_norm,
            rew_norm,
            rng: init_rng,
            iteration: 0,
            global_step: 0,
            next_raw_obs: Vec::new(),
            next_start: vec![true; n],
            ep_return: vec![0.0; n],
            ep_length: vec![0; n],
        })
    }

    /// The run's spec.
    pub fn spec(&self) -> &RunSpec {
        &self.spec
    }

    /// The policy.
    pub fn policy(&self) -> &ActorCritic {
        &self.policy
    }

    /// The device the networks and the optimizer run on.
    pub fn device(&self) -> &Device {
        self.policy.device()
    }

    /// Updates completed.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// Env steps taken.
    pub fn global_step(&self) -> u64 {
        self.global_step
    }

    /// True when every update of the run is done.
    pub fn finished(&self) -> bool {
        self.iteration >= self.spec.ppo.num_iterations()
    }

    /// True when the next update starts at a checkpoint boundary (checkpoint now).
    pub fn at_boundary(&self) -> bool {
        self.iteration.is_multiple_of(self.spec.ppo.checkpoint_every as u64) || self.finished()
    }

    pub(crate) fn parts_mut(
        &mut self,
    ) -> (&mut ActorCritic, &mut Adam, &mut Option<ObsNormalizer>, &mut Option<RewardNormalizer>) {
        (&mut self.policy, &mut self.adam, &mut self.obs_norm, &mut self.rew_norm)
    }

    pub(crate) fn parts(&self) -> (&ActorCritic, &Adam, &Option<ObsNormalizer>, &Option<RewardNormalizer>) {
        (&self.policy, &self.adam, &self.obs_norm, &self.rew_norm)
    }

    pub(crate) fn set_progress(&mut self, iteration: u64, global_step: u64) {
        self.iteration = iteration;
        self.global_step = global_step;
    }

    fn boundary_reset(&mut self) -> Result<()> {
        let s = derive_seed(self.spec.seed, self.iteration);
        self.rng = ChaCha8Rng::seed_from_u64(s);
        let (obs, _) = self.venv.reset(Some(s), &Options::new())?;
        if let Some(n) = &mut self.obs_norm {
            n.update(&obs);
        }
        if let Some(r) = &mut self.rew_norm {
            r.reset_returns();
        }
        self.next_raw_obs = obs;
        self.next_start.iter_mut().for_each(|d| *d = true);
        self.ep_return.iter_mut().for_each(|r| *r = 0.0);
        self.ep_length.iter_mut().for_each(|l| *l = 0);
        Ok(())
    }

    fn normalized(&self, raw: &[f32]) -> Vec<f32> {
        match &self.obs_norm {
            Some(n) => n.normalize(raw),
            None => raw.to_vec(),
        }
    }

    /// Collects one rollout, lets `hook` replace its rewards, and runs the PPO update.
    pub fn train_iteration(&mut self, hook: Option<&mut dyn RewardHook>) -> Result<IterationStats> {
        if self.finished() {
            bail!("the run is complete ({} updates)", self.iteration);
        }
        let started = Instant::now();
        if self.iteration.is_multiple_of(self.spec.ppo.checkpoint_every as u64) || self.next_raw_obs.is_empty() {
            self.boundary_reset()?;
        }
        let cfg = self.spec.ppo.clone();
        let lr = if cfg.anneal_lr {
            (1.0 - self.iteration as f64 / cfg.num_iterations() as f64) * cfg.learning_rate
        } else {
            cfg.learning_rate
        };
        self.adam.set_lr(lr);

        let (n, dim) = (cfg.num_envs, self.policy.obs_dim());
        let kind = self.policy.kind().clone();
        let mut ro = Rollout::with_capacity(cfg.num_steps, n, dim, kind.dim());
        let mut episodes = Vec::new();
        for _ in 0..cfg.num_steps {
            let obs = self.normalized(&self.next_raw_obs);
            let out = self.policy.act(&obs, &mut self.rng, false)?;
            let actions: Vec<_> = out.actions.chunks(kind.dim()).map(|a| kind.to_env_action(a)).collect();
            let step = self.venv.step(&actions)?;
            self.global_step += n as u64;
            ro.obs.extend_from_slice(&obs);
            ro.raw_obs.extend_from_slice(&self.next_raw_obs);
            ro.actions.extend_from_slice(&out.actions);
            ro.logprobs.extend_from_slice(&out.logprobs);
            ro.values.extend_from_slice(&out.values);
            ro.starts.extend_from_slice(&self.next_start);
            for i in 0..n {
                let done = step.terminations[i] || step.truncations[i];
                self.ep_return[i] += step.rewards[i];
                self.ep_length[i] += 1;
                if done {
                    episodes.push(EpisodeRecord {
                        global_step: self.global_step,
                        ret: self.ep_return[i],
                        len: self.ep_length[i],
                    });
                    self.ep_return[i] = 0.0;
                    self.ep_length[i] = 0;
                }
                let final_value = match (&step.final_obs[i], step.truncations[i] && !step.terminations[i]) {
                    (Some(fo), true) => Some(self.policy.values(&self.normalized(fo))?[0]),
                    _ => None,
                };
                ro.final_values.push(final_value);
                self.next_start[i] = done;
            }
            if let Some(norm) = &mut self.obs_norm {
                norm.update(&step.obs);
            }
            self.next_raw_obs = step.obs;
            ro.rewards.extend_from_slice(&step.rewards);
            ro.terminations.extend_from_slice(&step.terminations);
            ro.truncations.extend_from_slice(&step.truncations);
            ro.infos.extend(step.infos);
        }

        let mut extra = Vec::new();
        if let Some(h) = hook {
            let before = ro.rewards.len();
            h.replace_rewards(&mut ro).context("the reward hook failed")?;
            extra = h.stats();
            if ro.rewards.len() != before {
                bail!("the reward hook changed the number of rewards from {before} to {}", ro.rewards.len());
            }
            if let Some(k) = ro.rewards.iter().position(|r| !r.is_finite()) {
                bail!("the reward hook produced a non-finite reward at step {} of env {}", k / n, k % n);
            }
        }
        let mut rewards = ro.rewards.clone();
        if let Some(norm) = &mut self.rew_norm {
            for t in 0..cfg.num_steps {
                let dones: Vec<bool> =
                    (0..n).map(|i| ro.terminations[t * n + i] || ro.truncations[t * n + i]).collect();
                norm.process(&mut rewards[t * n..(t + 1) * n], &dones);
            }
        }
        bootstrap_truncations(&mut rewards, &ro.final_values, cfg.gamma);
        let next_value = self.policy.values(&self.normalized(&self.next_raw_obs))?;
        let (advantages, returns) =
            gae(&rewards, &ro.values, &ro.starts, &next_value, &self.next_start, cfg.gamma, cfg.gae_lambda);

        let mut stats = self.update(&ro, &advantages, &returns)?;
        self.iteration += 1;
        stats.iteration = self.iteration;
        stats.global_step = self.global_step;
        stats.episodes = episodes;
        stats.learning_rate = lr;
        stats.sps = (n * cfg.num_steps) as f64 / started.elapsed().as_secs_f64();
        stats.extra = extra;
        Ok(stats)
    }

    fn update(&mut self, ro: &Rollout, advantages: &[f32], returns: &[f32]) -> Result<IterationStats> {
        let cfg = &self.spec.ppo;
        let dev = self.policy.device().clone();
        let b = ro.len();
        let (dim, adim) = (ro.obs_dim, ro.act_dim);
        let b_obs = Tensor::from_slice(&ro.obs, (b, dim), &dev)?;
        let b_actions = Tensor::from_slice(&ro.actions, (b, adim), &dev)?;
        let b_logprobs = Tensor::from_slice(&ro.logprobs, b, &dev)?;
        let b_returns = Tensor::from_slice(returns, b, &dev)?;
        let b_values = Tensor::from_slice(&ro.values, b, &dev)?;
        let mb = cfg.minibatch_size();
        let mut inds: Vec<u32> = (0..b as u32).collect();
        let mut stats = IterationStats::default();
        let mut clipfracs = Vec::new();
        'epochs: for _ in 0..cfg.update_epochs {
            inds.shuffle(&mut self.rng);
            for chunk in inds.chunks(mb) {
                let idx = Tensor::from_slice(chunk, chunk.len(), &dev)?;
                let mut adv: Vec<f32> = chunk.iter().map(|&k| advantages[k as usize]).collect();
                if cfg.norm_adv && adv.len() > 1 {
                    let mean = adv.iter().map(|&a| a as f64).sum::<f64>() / adv.len() as f64;
                    let var = adv.iter().map(|&a| (a as f64 - mean).powi(2)).sum::<f64>() / (adv.len() - 1) as f64;
                    let std = var.sqrt();
                    adv.iter_mut().for_each(|a| *a = ((*a as f64 - mean) / (std + 1e-8)) as f32);
                }
                let adv = Tensor::from_vec(adv, chunk.len(), &dev)?;
                let (newlogprob, entropy, newvalue) =
                    self.policy.evaluate(&b_obs.index_select(&idx, 0)?, &b_actions.index_select(&idx, 0)?)?;
                let logratio = (&newlogprob - b_logprobs.index_select(&idx, 0)?)?;
                let ratio = logratio.exp()?;
                {
                    let r = ratio.to_vec1::<f32>()?;
                    let lr = logratio.to_vec1::<f32>()?;
                    let kl = r.iter().zip(&lr).map(|(r, l)| ((r - 1.0) - l) as f64).sum::<f64>() / r.len() as f64;
                    stats.approx_kl = kl;
                    let clipped = r.iter().filter(|x| ((**x as f64) - 1.0).abs() > cfg.clip_coef).count();
                    clipfracs.push(clipped as f64 / r.len() as f64);
                }
                let pg1 = (adv.neg()? * &ratio)?;
                let pg2 = (adv.neg()? * ratio.clamp(1.0 - cfg.clip_coef, 1.0 + cfg.clip_coef)?)?;
                let pg_loss = pg1.maximum(&pg2)?.mean_all()?;
                let mb_returns = b_returns.index_select(&idx, 0)?;
                let v_unclipped = (&newvalue - &mb_returns)?.sqr()?;
                let v_loss = if cfg.clip_vloss {
                    let mb_values = b_values.index_select(&idx, 0)?;
                    let v_clipped = (&mb_values + (&newvalue - &mb_values)?.clamp(-cfg.clip_coef, cfg.clip_coef)?)?;
                    let v_clipped = (v_clipped - &mb_returns)?.sqr()?;
                    (v_unclipped.maximum(&v_clipped)?.mean_all()? * 0.5)?
                } else {
                    (v_unclipped.mean_all()? * 0.5)?
                };
                let entropy_loss = entropy.mean_all()?;
                let loss = ((&pg_loss - (&entropy_loss * cfg.ent_coef)?)? + (&v_loss * cfg.vf_coef)?)?;
                let loss_value = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
                if !loss_value.is_finite() {
                    bail!(
                        "the loss became non-finite ({loss_value}) in update {}; training stopped, the last checkpoint is intact",
                        self.iteration + 1
                    );
                }
                let mut grads = loss.backward()?;
                clip_grad_norm(self.policy.params(), &mut grads, cfg.max_grad_norm)?;
                self.adam.step(self.policy.params(), &grads)?;
                stats.policy_loss = pg_loss.to_dtype(DType::F64)?.to_scalar()?;
                stats.value_loss = v_loss.to_dtype(DType::F64)?.to_scalar()?;
                stats.entropy = entropy_loss.to_dtype(DType::F64)?.to_scalar()?;
            }
            if cfg.target_kl.is_some_and(|t| stats.approx_kl > t) {
                break 'epochs;
            }
        }
        stats.clipfrac = clipfracs.iter().sum::<f64>() / clipfracs.len().max(1) as f64;
        let y: Vec<f64> = returns.iter().map(|&x| x as f64).collect();
        let mean_y = y.iter().sum::<f64>() / y.len() as f64;
        let var_y = y.iter().map(|v| (v - mean_y).powi(2)).sum::<f64>() / y.len() as f64;
        let resid: Vec<f64> = y.iter().zip(&ro.values).map(|(a, v)| a - *v as f64).collect();
        let mean_r = resid.iter().sum::<f64>() / resid.len() as f64;
        let var_r = resid.iter().map(|v| (v - mean_r).powi(2)).sum::<f64>() / resid.len() as f64;
        stats.explained_variance = if var_y == 0.0 { f64::NAN } else { 1.0 - var_r / var_y };
        Ok(stats)
    }
}
