//! Observation and reward normalisation over a whole vector env (shared statistics, like
//! Stable-Baselines3's `VecNormalize`), applied after the reward hook so replaced rewards
//! are normalised too.

use vlmgym_envs::wrappers::RunningMeanStd;

const EPS: f64 = 1e-8;

/// Running observation statistics; normalises to `(x - mean) / sqrt(var + 1e-8)` clipped
/// to `+-clip`.
#[derive(Clone, Debug, PartialEq)]
pub struct ObsNormalizer {
    /// The statistics.
    pub rms: RunningMeanStd,
    clip: f64,
}

impl ObsNormalizer {
    /// For observations of `dim` numbers.
    pub fn new(dim: usize, clip: f64) -> Self {
        ObsNormalizer { rms: RunningMeanStd::new(dim), clip }
    }

    /// Folds a `rows x dim` batch into the statistics.
    pub fn update(&mut self, batch: &[f32]) {
        let dim = self.rms.mean.len();
        let rows = batch.len() / dim;
        let mut mean = vec![0.0; dim];
        let mut var = vec![0.0; dim];
        for row in batch.chunks(dim) {
            for (m, x) in mean.iter_mut().zip(row) {
                *m += *x as f64 / rows as f64;
            }
        }
        for row in batch.chunks(dim) {
            for (i, x) in row.iter().enumerate() {
                var[i] += (*x as f64 - mean[i]).powi(2) / rows as f64;
            }
        }
        self.rms.update_from_moments(&mean, &var, rows as f64);
    }

    /// The normalised, clipped batch.
    pub fn normalize(&self, batch: &[f32]) -> Vec<f32> {
        let dim = self.rms.mean.len();
        batch
            .iter()
            .enumerate()
            .map(|(k, x)| {
                let i = k % dim;
                ((*x as f64 - self.rms.mean[i]) / (self.rms.var[i] + EPS).sqrt()).clamp(-self.clip, self.clip) as f32
            })
            .collect()
    }
}

/// Scales rewards by the running standard deviation of each env's discounted return and
/// clips them to `+-clip`.
#[derive(Clone, Debug, PartialEq)]
pub struct RewardNormalizer {
    /// Statistics of the discounted return.
    pub rms: RunningMeanStd,
    returns: Vec<f64>,
    gamma: f64,
    clip: f64,
}

impl RewardNormalizer {
    /// For `num_envs` envs with discount `gamma`.
    pub fn new(num_envs: usize, gamma: f64, clip: f64) -> Self {
        RewardNormalizer { rms: RunningMeanStd::new(1), returns: vec![0.0; num_envs], gamma, clip }
    }

    /// Forgets the running returns (at an episode boundary for every env).
    pub fn reset_returns(&mut self) {
        self.returns.iter_mut().for_each(|r| *r = 0.0);
    }

    /// Normalises one step's rewards in place (one per env), updating the statistics;
    /// `dones` marks envs whose episode ended at this step.
    pub fn process(&mut self, rewards: &mut [f64], dones: &[bool]) {
        let n = rewards.len() as f64;
        for (g, r) in self.returns.iter_mut().zip(rewards.iter()) {
            *g = *g * self.gamma + r;
        }
        let mean = self.returns.iter().sum::<f64>() / n;
        let var = self.returns.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n;
        self.rms.update_from_moments(&[mean], &[var], n);
        let scale = (self.rms.var[0] + EPS).sqrt();
        for (r, (g, d)) in rewards.iter_mut().zip(self.returns.iter_mut().zip(dones)) {
            *r = (*r / scale).clamp(-self.clip, self.clip);
            if *d {
                *g = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_are_standardised_and_clipped() {
        let mut n = ObsNormalizer::new(2, 3.0);
        let batch: Vec<f32> = (0..2000).map(|i| if i % 2 == 0 { 5.0 + (i % 7) as f32 } else { -100.0 }).collect();
        n.update(&batch);
        let out = n.normalize(&batch);
        let col0: Vec<f32> = out.iter().step_by(2).copied().collect();
        let mean = col0.iter().sum::<f32>() / col0.len() as f32;
        let var = col0.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / col0.len() as f32;
        assert!(mean.abs() < 1e-2 && (var - 1.0).abs() < 1e-2, "{mean} {var}");
        assert!(out.iter().all(|x| x.abs() <= 3.0));
        assert_eq!(n.normalize(&[1000.0, 0.0])[0], 3.0);
    }

    #[test]
    fn rewards_scale_by_return_std() {
        let mut n = RewardNormalizer::new(2, 0.99, 10.0);
        let mut r = [1.0, 3.0];
        n.process(&mut r, &[false, true]);
        // returns [1, 3]: batch mean 2, var 1; merged with the prior (0, 1, 1e-4).
        let scale = (n.rms.var[0] + EPS).sqrt();
        assert!((r[0] - 1.0 / scale).abs() < 1e-12 && (r[1] - 3.0 / scale).abs() < 1e-12);
        assert_eq!(n.returns, vec![1.0, 0.0], "a done env's return restarts");
    }
}
