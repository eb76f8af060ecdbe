//! SAC hyper-parameters: one serde struct, readable from and written to TOML, with the
//! defaults of CleanRL's `sac_continuous_action.py`, plus the update-to-data knobs of
//! Stable-Baselines3 (`train_freq`, `gradient_steps`) that VLM-RMs trained with.

use serde::{Deserialize, Serialize};

/// Every SAC hyper-parameter. Fields missing from a TOML file take [`SacConfig::default`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SacConfig {
    /// Total env steps to train for (all envs together).
    pub total_timesteps: u64,
    /// Number of parallel envs; each vector step stores one transition per env.
    pub num_envs: usize,
    /// Replay buffer capacity in transitions (oldest overwritten first).
    pub buffer_size: usize,
    /// Discount factor.
    pub gamma: f64,
    /// Polyak coefficient of the target Q networks.
    pub tau: f64,
    /// Transitions per gradient update.
    pub batch_size: usize,
    /// Env steps of uniformly random actions before learning starts.
    pub learning_starts: u64,
    /// Adam learning rate of the actor.
    pub policy_lr: f64,
    /// Adam learning rate of the twin Q networks (and of the entropy coefficient).
    pub q_lr: f64,
    /// The actor (and alpha) update every this many critic updates, that many times at once
    /// (TD3's delay with CleanRL's compensation).
    pub policy_frequency: u64,
    /// Polyak-average the target networks every this many critic updates.
    pub target_network_frequency: u64,
    /// Entropy coefficient when not autotuned.
    pub alpha: f64,
    /// Tune the entropy coefficient toward a target entropy of `-dim(A)`.
    pub autotune: bool,
    /// Update every this many vector steps (SB3's `train_freq`).
    pub train_freq: u64,
    /// Gradient updates each time (SB3's `gradient_steps`); with `train_freq = 1` and one env
    /// this is CleanRL's one update per env step.
    pub gradient_steps: u64,
    /// Hidden layer sizes of the actor and of each Q network (ReLU).
    pub hidden: Vec<usize>,
    /// Write a `metrics.csv` row every this many env steps (a multiple of `num_envs`).
    pub log_every: u64,
    /// Checkpoint (and reset the envs, so resumes are exact) every this many env steps (a
    /// multiple of `log_every`).
    pub checkpoint_every: u64,
}

impl Default for SacConfig {
    /// CleanRL's `sac_continuous_action.py` defaults.
    fn default() -> Self {
        SacConfig {
            total_timesteps: 1_000_000,
            num_envs: 1,
            buffer_size: 1_000_000,
            gamma: 0.99,
            tau: 0.005,
            batch_size: 256,
            learning_starts: 5_000,
            policy_lr: 3e-4,
            q_lr: 1e-3,
            policy_frequency: 2,
            target_network_frequency: 1,
            alpha: 0.2,
            autotune: true,
            train_freq: 1,
            gradient_steps: 1,
            hidden: vec![256, 256],
            log_every: 1_000,
            checkpoint_every: 10_000,
        }
    }
}

impl SacConfig {
    /// Reads TOML over the defaults; unknown keys are errors.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let mut base = toml::Value::try_from(Self::default())?;
        let overrides: toml::Table = toml::from_str(text)?;
        if let Some(table) = base.as_table_mut() {
            for (k, v) in overrides {
                table.insert(k, v);
            }
        }
        let cfg: SacConfig = base.try_into()?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// As TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config serialises")
    }

    /// Rejects values SAC cannot run with, naming the field.
    pub fn validate(&self) -> anyhow::Result<()> {
        let check = |ok: bool, msg: String| if ok { Ok(()) } else { Err(anyhow::anyhow!("invalid SAC config: {msg}")) };
        check(self.num_envs > 0, "num_envs must be at least 1".into())?;
        check(self.buffer_size > 0, "buffer_size must be at least 1".into())?;
        check(self.batch_size > 0, "batch_size must be at least 1".into())?;
        check(
            self.batch_size <= self.buffer_size,
            format!("batch_size ({}) must not exceed buffer_size ({})", self.batch_size, self.buffer_size),
        )?;
        check((0.0..=1.0).contains(&self.gamma), "gamma must be in [0, 1]".into())?;
        check(self.tau > 0.0 && self.tau <= 1.0, "tau must be in (0, 1]".into())?;
        for (name, lr) in [("policy_lr", self.policy_lr), ("q_lr", self.q_lr)] {
            check(lr > 0.0 && lr.is_finite(), format!("{name} must be positive"))?;
        }
        check(self.alpha >= 0.0 && self.alpha.is_finite(), "alpha must be non-negative".into())?;
        check(self.policy_frequency > 0, "policy_frequency must be at least 1".into())?;
        check(self.target_network_frequency > 0, "target_network_frequency must be at least 1".into())?;
        check(self.train_freq > 0, "train_freq must be at least 1".into())?;
        check(
            !self.hidden.is_empty() && self.hidden.iter().all(|&h| h > 0),
            "hidden needs at least one positive layer size".into(),
        )?;
        check(
            self.log_every > 0 && self.log_every.is_multiple_of(self.num_envs as u64),
            format!("log_every ({}) must be a positive multiple of num_envs ({})", self.log_every, self.num_envs),
        )?;
        check(
            self.checkpoint_every > 0 && self.checkpoint_every.is_multiple_of(self.log_every),
            format!(
                "checkpoint_every ({}) must be a positive multiple of log_every ({})",
                self.checkpoint_every, self.log_every
            ),
        )?;
        check(
            self.total_timesteps >= self.num_envs as u64,
            "total_timesteps must cover at least one vector step (num_envs)".into(),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_rejects_bad_values() {
        let cfg = SacConfig::from_toml("gamma = 0.95\nnum_envs = 4\nlog_every = 1000\n").unwrap();
        assert_eq!((cfg.gamma, cfg.num_envs, cfg.batch_size), (0.95, 4, 256));
        assert_eq!(SacConfig::from_toml(&cfg.to_toml()).unwrap(), cfg);
        let err = SacConfig::from_toml("gama = 0.9").unwrap_err().to_string();
        assert!(err.contains("gama"), "{err}");
        let err = SacConfig::from_toml("batch_size = 512\nbuffer_size = 100").unwrap_err().to_string();
        assert_eq!(err, "invalid SAC config: batch_size (512) must not exceed buffer_size (100)");
        let err = SacConfig::from_toml("checkpoint_every = 1500").unwrap_err().to_string();
        assert!(err.contains("checkpoint_every (1500) must be a positive multiple of log_every (1000)"), "{err}");
    }
}
