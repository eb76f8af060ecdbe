//! The rollout buffer and the reward-replacement hook.

use vlmgym_envs::Info;

/// One rollout of `num_steps` steps of `num_envs` envs, time-major (`index = t * num_envs + i`).
#[derive(Clone, Debug, Default)]
pub struct Rollout {
    /// Steps per env.
    pub num_steps: usize,
    /// Number of envs.
    pub num_envs: usize,
    /// Observation length.
    pub obs_dim: usize,
    /// Action length (1 for Discrete).
    pub act_dim: usize,
    /// Observations the policy acted on (normalised when observation normalisation is on).
    pub obs: Vec<f32>,
    /// Raw (unnormalised) observations, for reward models that read the state.
    pub raw_obs: Vec<f32>,
    /// Actions taken (continuous: before clipping to the bounds).
    pub actions: Vec<f32>,
    /// Log-probabilities of the actions when taken.
    pub logprobs: Vec<f32>,
    /// Value estimates when acting.
    pub values: Vec<f32>,
    /// Rewards: the env's on collection; a [`RewardHook`] may overwrite them.
    pub rewards: Vec<f64>,
    /// The step ended the episode in a terminal state.
    pub terminations: Vec<bool>,
    /// The step ended the episode by truncation.
    pub truncations: Vec<bool>,
    /// `dones[t]`: the observation at `t` starts a new episode (CleanRL's `dones`).
    pub starts: Vec<bool>,
    /// For truncated steps: the value of the episode's final observation, used to
    /// bootstrap (`r += gamma * V(final)`) after rewards are replaced and normalised.
    pub final_values: Vec<Option<f32>>,
    /// Per-step infos from the env.
    pub infos: Vec<Info>,
    /// Names of the per-transition reward terms a [`RewardHook`] wrote (its synthesis
    /// terms: the semantic score, speed and centre factors, ...); empty without a hook.
    pub term_names: Vec<String>,
    /// The terms, one row of `term_names.len()` values per transition, in transition order.
    pub terms: Vec<f32>,
}

impl Rollout {
    /// An empty buffer with room for one rollout.
    pub fn with_capacity(num_steps: usize, num_envs: usize, obs_dim: usize, act_dim: usize) -> Self {
        let n = num_steps * num_envs;
        Rollout {
            num_steps,
            num_envs,
            obs_dim,
            act_dim,
            obs: Vec::with_capacity(n * obs_dim),
            raw_obs: Vec::with_capacity(n * obs_dim),
            actions: Vec::with_capacity(n * act_dim),
            logprobs: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
            rewards: Vec::with_capacity(n),
            terminations: Vec::with_capacity(n),
            truncations: Vec::with_capacity(n),
            starts: Vec::with_capacity(n),
            final_values: Vec::with_capacity(n),
            infos: Vec::with_capacity(n),
            term_names: Vec::new(),
            terms: Vec::new(),
        }
    }

    /// Empties the buffer, keeping its allocations, its shape and `num_envs`.
    pub fn clear(&mut self) {
        self.num_steps = 0;
        for v in [&mut self.obs, &mut self.raw_obs, &mut self.actions, &mut self.logprobs, &mut self.values] {
            v.clear();
        }
        self.rewards.clear();
        self.terminations.clear();
        self.truncations.clear();
        self.starts.clear();
        self.final_values.clear();
        self.infos.clear();
        self.terms.clear();
    }

    /// Number of transitions stored.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// The raw observation of transition `k`.
    pub fn raw_obs_at(&self, k: usize) -> &[f32] {
        &self.raw_obs[k * self.obs_dim..(k + 1) * self.obs_dim]
    }
}

/// Recomputes the rewards of a whole rollout after it is collected and before advantages
/// are computed (VLM-RL and VLM-RMs score frames in batches here). The trainer then
/// normalises the rewards and adds the truncation bootstrap to the replaced values.
pub trait RewardHook {
    /// Overwrites `rollout.rewards` (same length), and may fill `rollout.term_names` and
    /// `rollout.terms` with each transition's reward terms; may read anything else in it.
    fn replace_rewards(&mut self, rollout: &mut Rollout) -> anyhow::Result<()>;
    /// Named statistics of the last replaced rollout (logged as `metrics.csv` columns).
    fn stats(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
}

impl<F: FnMut(&mut Rollout) -> anyhow::Result<()>> RewardHook for F {
    fn replace_rewards(&mut self, rollout: &mut Rollout) -> anyhow::Result<()> {
        self(rollout)
    }
}

/// Adds `gamma * V(final observation)` to the reward of every truncated step, so a time
/// limit is not mistaken for a terminal state; applied to the rewards the hook produced
/// (after normalisation), never to the env's originals.
pub fn bootstrap_truncations(rewards: &mut [f64], final_values: &[Option<f32>], gamma: f64) {
    for (r, fv) in rewards.iter_mut().zip(final_values) {
        if let Some(v) = fv {
            *r += gamma * *v as f64;
        }
    }
}

/// Generalised advantage estimation (CleanRL's loop): returns `(advantages, returns)`.
/// `starts[t]` says the observation at `t` begins a new episode; `next_value`/`next_start`
/// describe the observation after the rollout (one entry per env).
pub fn gae(
    rewards: &[f64],
    values: &[f32],
    starts: &[bool],
    next_value: &[f32],
    next_start: &[bool],
    gamma: f64,
    lambda: f64,
) -> (Vec<f32>, Vec<f32>) {
    let num_envs = next_value.len();
    let n = rewards.len();
    let steps = n / num_envs;
    let mut adv = vec![0.0f32; n];
    let mut last = vec![0.0f64; num_envs];
    for t in (0..steps).rev() {
        for i in 0..num_envs {
            let k = t * num_envs + i;
            let (next_nonterminal, next_v) = if t == steps - 1 {
                (if next_start[i] { 0.0 } else { 1.0 }, next_value[i] as f64)
            } else {
                let k1 = (t + 1) * num_envs + i;
                (if starts[k1] { 0.0 } else { 1.0 }, values[k1] as f64)
            };
            let delta = rewards[k] + gamma * next_v * next_nonterminal - values[k] as f64;
            last[i] = delta + gamma * lambda * next_nonterminal * last[i];
            adv[k] = last[i] as f32;
        }
    }
    let returns = adv.iter().zip(values).map(|(a, v)| a + v).collect();
    (adv, returns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cleared_rollout_is_empty_and_keeps_its_shape() {
        let mut r = Rollout::with_capacity(2, 2, 3, 1);
        r.num_steps = 1;
        r.obs.extend([1.0; 6]);
        r.rewards.extend([1.0, 2.0]);
        r.infos.push(Info::new());
        r.clear();
        assert!(r.is_empty() && r.obs.is_empty() && r.infos.is_empty());
        assert_eq!((r.num_steps, r.num_envs, r.obs_dim, r.act_dim), (0, 2, 3, 1));
        assert!(r.obs.capacity() >= 6, "allocations are kept");
    }

    #[test]
    fn truncated_steps_bootstrap_on_the_replaced_reward() {
        let mut rewards = vec![5.0, 5.0, 5.0];
        bootstrap_truncations(&mut rewards, &[None, Some(2.0), None], 0.9);
        assert_eq!(rewards, vec![5.0, 5.0 + 0.9 * 2.0, 5.0]);
    }

    #[test]
    fn gae_matches_hand_computation() {
        // One env, three steps, an episode boundary before step 2.
        let rewards = [1.0, 2.0, 3.0];
        let values = [0.5, 0.25, 1.0];
        let starts = [false, false, true];
        let (g, l) = (0.9, 0.8);
        let (adv, ret) = gae(&rewards, &values, &starts, &[2.0], &[false], g, l);
        let a2 = 3.0 + g * 2.0 - 1.0;
        let a1 = 2.0 - 0.25; // next obs starts an episode: no bootstrap
        let a0 = (1.0 + g * 0.25 - 0.5) + g * l * a1;
        for (x, y) in adv.iter().zip([a0, a1, a2]) {
            assert!((*x as f64 - y).abs() < 1e-6, "{adv:?}");
        }
        assert!((ret[0] as f64 - (a0 + 0.5)).abs() < 1e-6);
    }
}
