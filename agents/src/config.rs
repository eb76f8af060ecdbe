//! PPO hyper-parameters: one serde struct, readable from and written to TOML, with
//! CleanRL's defaults for discrete (`ppo.py`) and continuous (`ppo_continuous_action.py`)
//! action spaces.

use serde::{Deserialize, Serialize};

/// Every PPO hyper-parameter. Fields missing from a TOML file take the default of the
/// env's action-space kind ([`PpoConfig::discrete`] or [`PpoConfig::continuous`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PpoConfig {
    /// Total env steps to train for.
    pub total_timesteps: u64,
    /// Adam learning rate (start value when annealed).
    pub learning_rate: f64,
    /// Number of parallel envs.
    pub num_envs: usize,
    /// Steps per env per rollout.
    pub num_steps: usize,
    /// Linearly anneal the learning rate to 0 over training.
    pub anneal_lr: bool,
    /// Discount factor.
    pub gamma: f64,
    /// GAE lambda.
    pub gae_lambda: f64,
    /// Minibatches per epoch.
    pub num_minibatches: usize,
    /// Epochs over each rollout.
    pub update_epochs: usize,
    /// Normalise advantages per minibatch.
    pub norm_adv: bool,
    /// Ratio clipping coefficient.
    pub clip_coef: f64,
    /// Clip the value loss like the policy loss.
    pub clip_vloss: bool,
    /// Entropy bonus coefficient.
    pub ent_coef: f64,
    /// Value loss coefficient.
    pub vf_coef: f64,
    /// Global gradient-norm clip.
    pub max_grad_norm: f64,
    /// Stop an update's epochs early when the approximate KL exceeds this.
    pub target_kl: Option<f64>,
    /// Adam epsilon.
    pub adam_eps: f64,
    /// Network: "mlp" (separate tanh MLPs) or "cnn" (Nature CNN over `[C, H, W]` images).
    pub policy: String,
    /// Hidden layer sizes of the actor and critic MLPs (tanh).
    pub hidden: Vec<usize>,
    /// Normalise observations with running statistics, then clip to +-`clip_obs`.
    pub norm_obs: bool,
    /// Observation clip after normalisation.
    pub clip_obs: f64,
    /// Scale rewards by the running std of the discounted return, then clip to +-`clip_reward`.
    pub norm_reward: bool,
    /// Reward clip after normalisation.
    pub clip_reward: f64,
    /// Initial log standard deviation of continuous actions.
    pub init_log_std: f64,
    /// Write a checkpoint (and reset the envs, so resumes are exact) every this many updates.
    pub checkpoint_every: usize,
}

impl PpoConfig {
    /// CleanRL `ppo.py` defaults (CartPole, Acrobot, other discrete envs).
    pub fn discrete() -> Self {
        PpoConfig {
            total_timesteps: 500_000,
            learning_rate: 2.5e-4,
            num_envs: 4,
            num_steps: 128,
            anneal_lr: true,
            gamma: 0.99,
            gae_lambda: 0.95,
            num_minibatches: 4,
            update_epochs: 4,
            norm_adv: true,
            clip_coef: 0.2,
            clip_vloss: true,
            ent_coef: 0.01,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            target_kl: None,
            adam_eps: 1e-5,
            policy: "mlp".into(),
            hidden: vec![64, 64],
            norm_obs: false,
            clip_obs: 10.0,
            norm_reward: false,
            clip_reward: 10.0,
            init_log_std: 0.0,
            checkpoint_every: 50,
        }
    }

    /// CleanRL `ppo_continuous_action.py` defaults (observation and reward normalisation on).
    pub fn continuous() -> Self {
        PpoConfig {
            total_timesteps: 1_000_000,
            learning_rate: 3e-4,
            num_envs: 1,
            num_steps: 2048,
            num_minibatches: 32,
            update_epochs: 10,
            ent_coef: 0.0,
            norm_obs: true,
            norm_reward: true,
            checkpoint_every: 10,
            ..PpoConfig::discrete()
        }
    }

    /// The defaults for an action-space kind.
    pub fn for_actions(discrete: bool) -> Self {
        if discrete {
            Self::discrete()
        } else {
            Self::continuous()
        }
    }

    /// Reads TOML over the defaults for the action-space kind; unknown keys are errors.
    pub fn from_toml(text: &str, discrete: bool) -> anyhow::Result<Self> {
        let mut base = toml::Value::try_from(Self::for_actions(discrete))?;
        let overrides: toml::Table = toml::from_str(text)?;
        if let Some(table) = base.as_table_mut() {
            for (k, v) in overrides {
                table.insert(k, v);
            }
        }
        let cfg: PpoConfig = base.try_into()?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// As TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }

    /// Env steps per rollout (`num_envs * num_steps`).
    pub fn batch_size(&self) -> usize {
        self.num_envs * self.num_steps
    }

    /// Samples per minibatch.
    pub fn minibatch_size(&self) -> usize {
        self.batch_size() / self.num_minibatches
    }

    /// Number of updates in the run.
    pub fn num_iterations(&self) -> u64 {
        self.total_timesteps / self.batch_size() as u64
    }

    /// Rejects values PPO cannot run with, naming the field.
    pub fn validate(&self) -> anyhow::Result<()> {
        let check = |ok: bool, msg: &str| if ok { Ok(()) } else { Err(anyhow::anyhow!("invalid PPO config: {msg}")) };
        check(self.num_envs > 0, "num_envs must be at least 1")?;
        check(self.num_steps > 0, "num_steps must be at least 1")?;
        check(
            self.num_minibatches > 0 && self.batch_size().is_multiple_of(self.num_minibatches),
            "num_minibatches must divide num_envs * num_steps",
        )?;
        check(self.update_epochs > 0, "update_epochs must be at least 1")?;
        check(self.learning_rate > 0.0 && self.learning_rate.is_finite(), "learning_rate must be positive")?;
        check((0.0..=1.0).contains(&self.gamma), "gamma must be in [0, 1]")?;
        check((0.0..=1.0).contains(&self.gae_lambda), "gae_lambda must be in [0, 1]")?;
        check(self.clip_coef > 0.0, "clip_coef must be positive")?;
        check(self.max_grad_norm > 0.0, "max_grad_norm must be positive")?;
        check(
            !self.hidden.is_empty() && self.hidden.iter().all(|&h| h > 0),
            "hidden needs at least one positive layer size",
        )?;
        check(self.checkpoint_every > 0, "checkpoint_every must be at least 1")?;
        check(
            self.total_timesteps >= self.batch_size() as u64,
            "total_timesteps must cover at least one rollout (num_envs * num_steps)",
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_rejects_unknown_keys() {
        let cfg = PpoConfig::from_toml("gamma = 0.9\nnum_envs = 8\n", false).unwrap();
        assert_eq!((cfg.gamma, cfg.num_envs, cfg.num_steps), (0.9, 8, 2048));
        assert_eq!(PpoConfig::from_toml(&cfg.to_toml(), true).unwrap(), cfg);
        let err = PpoConfig::from_toml("gama = 0.9", true).unwrap_err().to_string();
        assert!(err.contains("gama"), "{err}");
        let err = PpoConfig::from_toml("num_minibatches = 3", true).unwrap_err().to_string();
        assert!(err.contains("num_minibatches must divide"), "{err}");
    }
}
