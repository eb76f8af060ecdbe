//! Running normalisation of observations and rewards.

use super::{inner_accessors, require_box, Wrapper};
use crate::env::{Env, Info, Options, Step};
use crate::error::Result;
use crate::spaces::{BoxSpace, Space, Value};

/// Running mean and variance over batches (Gymnasium's `RunningMeanStd`, parallel
/// algorithm, count starting at `epsilon`).
#[derive(Clone, Debug, PartialEq)]
pub struct RunningMeanStd {
    /// Per-element mean.
    pub mean: Vec<f64>,
    /// Per-element (population) variance.
    pub var: Vec<f64>,
    /// Number of samples seen (plus the initial epsilon).
    pub count: f64,
}

impl RunningMeanStd {
    /// Zero mean, unit variance, count `1e-4`, for vectors of `len` elements.
    pub fn new(len: usize) -> Self {
        RunningMeanStd { mean: vec![0.0; len], var: vec![1.0; len], count: 1e-4 }
    }

    /// Folds one sample in.
    pub fn update_one(&mut self, x: &[f64]) {
        self.update_from_moments(x, &vec![0.0; x.len()], 1.0);
    }

    /// Folds a batch in, given its mean, variance and size.
    pub fn update_from_moments(&mut self, batch_mean: &[f64], batch_var: &[f64], batch_count: f64) {
        let tot = self.count + batch_count;
        for i in 0..self.mean.len() {
            let delta = batch_mean[i] - self.mean[i];
            let new_mean = self.mean[i] + delta * batch_count / tot;
            let m_a = self.var[i] * self.count;
            let m_b = batch_var[i] * batch_count;
            let m2 = m_a + m_b + delta * delta * self.count * batch_count / tot;
            self.mean[i] = new_mean;
            self.var[i] = m2 / tot;
        }
        self.count = tot;
    }
}

/// Normalises Box observations to roughly zero mean and unit variance with running
/// statistics, `(obs - mean) / sqrt(var + epsilon)` (Gymnasium's `NormalizeObservation`).
pub struct NormalizeObservation<E> {
    env: E,
    rms: RunningMeanStd,
    epsilon: f64,
    update: bool,
    observation_space: Space,
}

impl<E: Env> NormalizeObservation<E> {
    /// Wraps an env with a Box observation space.
    pub fn new(env: E) -> Result<Self> {
        let b = require_box(env.observation_space(), "NormalizeObservation", "observation")?;
        let observation_space = Space::Box(BoxSpace::uniform(f32::NEG_INFINITY, f32::INFINITY, b.shape().to_vec()));
        Ok(NormalizeObservation {
            rms: RunningMeanStd::new(b.len()),
            env,
            epsilon: 1e-8,
            update: true,
            observation_space,
        })
    }

    /// The running statistics (save them with a policy to evaluate it later).
    pub fn obs_rms(&self) -> &RunningMeanStd {
        &self.rms
    }

    /// Replaces the running statistics.
    pub fn set_obs_rms(&mut self, rms: RunningMeanStd) {
        self.rms = rms;
    }

    /// Whether new observations update the statistics (turn off for evaluation).
    pub fn set_update(&mut self, update: bool) {
        self.update = update;
    }

    inner_accessors!();

    fn normalize(&mut self, obs: Value) -> Value {
        let Value::Box(v) = obs else { return obs };
        let x: Vec<f64> = v.iter().map(|&f| f as f64).collect();
        if self.update {
            self.rms.update_one(&x);
        }
        Value::Box(
            x.iter()
                .enumerate()
                .map(|(i, xi)| ((xi - self.rms.mean[i]) / (self.rms.var[i] + self.epsilon).sqrt()) as f32)
                .collect(),
        )
    }
}

impl<E: Env> Wrapper for NormalizeObservation<E> {
    inner_accessors!(Wrapper);

    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        let (obs, info) = self.env.reset(seed, options)?;
        Ok((self.normalize(obs), info))
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let mut step = self.env.step(action)?;
        step.obs = self.normalize(step.obs);
        Ok(step)
    }
}
crate::impl_env_for_wrapper!(NormalizeObservation);

/// Scales rewards by the running standard deviation of the discounted return
/// (Gymnasium's `NormalizeReward`): the return estimate `G = gamma * G * (1 - term) + r`
/// feeds the statistics and the reward is divided by `sqrt(var(G) + epsilon)`.
pub struct NormalizeReward<E> {
    env: E,
    rms: RunningMeanStd,
    discounted_reward: f64,
    gamma: f64,
    epsilon: f64,
    update: bool,
}

impl<E: Env> NormalizeReward<E> {
    /// Wraps `env` with discount `gamma` (Gymnasium's default 0.99).
    pub fn new(env: E, gamma: f64) -> Self {
        NormalizeReward { env, rms: RunningMeanStd::new(1), discounted_reward: 0.0, gamma, epsilon: 1e-8, update: true }
    }

    /// The running statistics of the discounted return.
    pub fn return_rms(&self) -> &RunningMeanStd {
        &self.rms
    }

    /// Whether new rewards update the statistics.
    pub fn set_update(&mut self, update: bool) {
        self.update = update;
    }

    inner_accessors!();
}

impl<E: Env> Wrapper for NormalizeReward<E> {
    inner_accessors!(Wrapper);

    fn step(&mut self, action: &Value) -> Result<Step> {
        let mut step = self.env.step(action)?;
        let not_term = if step.terminated { 0.0 } else { 1.0 };
        self.discounted_reward = self.discounted_reward * self.gamma * not_term + step.reward;
        if self.update {
            self.rms.update_one(&[self.discounted_reward]);
        }
        step.reward /= (self.rms.var[0] + self.epsilon).sqrt();
        Ok(step)
    }
}
crate::impl_env_for_wrapper!(NormalizeReward);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_mean_std_matches_batch_statistics() {
        let xs = [1.0, 2.0, 4.0, 8.0, -3.0];
        let mut rms = RunningMeanStd::new(1);
        for x in xs {
            rms.update_one(&[x]);
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        // The initial pseudo-count of 1e-4 at mean 0 / var 1 shifts them slightly.
        assert!((rms.mean[0] - mean).abs() < 1e-3, "{} vs {mean}", rms.mean[0]);
        assert!((rms.var[0] - var).abs() < 1e-2, "{} vs {var}", rms.var[0]);
        assert!((rms.count - (n + 1e-4)).abs() < 1e-12);
    }
}
