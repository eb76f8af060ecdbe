//! The actor-critic: separate tanh MLPs for the policy and the value, CleanRL-style
//! initialisation (actor output gain 0.01, critic output gain 1), a categorical head for
//! Discrete actions and a diagonal Gaussian with state-independent log-std for Box actions.

use candle_core::{DType, Device, Result, Tensor, Var, D};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use vlmgym_envs::{Space, Value};

use crate::nn::{log_softmax, Mlp, NatureCnn, Params};

const LOG_SQRT_2PI: f64 = 0.918_938_533_204_672_8; // 0.5 * ln(2 pi)

/// The kind of action the policy outputs.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionKind {
    /// One of `n` choices.
    Discrete {
        /// Number of choices.
        n: usize,
    },
    /// A vector in a box; sampled actions are clipped to the bounds before the env sees them.
    Continuous {
        /// Lower bounds.
        low: Vec<f32>,
        /// Upper bounds.
        high: Vec<f32>,
    },
}

impl ActionKind {
    /// From an env's action space; only Discrete and Box are supported.
    pub fn from_space(space: &Space) -> anyhow::Result<Self> {
        match space {
            Space::Discrete(d) => Ok(ActionKind::Discrete { n: d.n as usize }),
            Space::Box(b) if b.shape().len() == 1 => {
                Ok(ActionKind::Continuous { low: b.low().to_vec(), high: b.high().to_vec() })
            }
            other => anyhow::bail!("PPO supports Discrete and 1-D Box action spaces, not {other}"),
        }
    }

    /// Numbers per stored action (1 for Discrete).
    pub fn dim(&self) -> usize {
        match self {
            ActionKind::Discrete { .. } => 1,
            ActionKind::Continuous { low, .. } => low.len(),
        }
    }

    /// The env action for a stored action (Discrete index, or the Box action clipped).
    pub fn to_env_action(&self, a: &[f32]) -> Value {
        match self {
            ActionKind::Discrete { .. } => Value::Discrete(a[0] as i64),
            ActionKind::Continuous { low, high } => {
                Value::Box(a.iter().enumerate().map(|(i, x)| x.clamp(low[i], high[i])).collect())
            }
        }
    }
}

/// The network shape.
#[derive(Clone, Debug, PartialEq)]
pub enum Arch {
    /// Separate tanh MLPs for actor and critic (CleanRL's classic-control agent).
    Mlp {
        /// Hidden layer sizes.
        hidden: Vec<usize>,
    },
    /// A shared Nature CNN over `[channels, height, width]` pixel observations with linear
    /// actor and critic heads (CleanRL's Atari agent).
    NatureCnn {
        /// Image shape, channels first.
        shape: [usize; 3],
    },
}

impl Arch {
    /// The architecture a config asks for, checked against the observation space.
    pub fn from_config(policy: &str, hidden: &[usize], obs_space: &Space) -> anyhow::Result<Self> {
        match policy {
            "mlp" => Ok(Arch::Mlp { hidden: hidden.to_vec() }),
            "cnn" => match obs_space {
                Space::Box(b) if b.shape().len() == 3 => {
                    Ok(Arch::NatureCnn { shape: [b.shape()[0], b.shape()[1], b.shape()[2]] })
                }
                other => {
                    anyhow::bail!("policy = \"cnn\" needs image observations (a Box of shape [C, H, W]), not {other}")
                }
            },
            other => anyhow::bail!("unknown policy `{other}` (accepted: mlp, cnn)"),
        }
    }
}

/// What [`ActorCritic::act`] returns for a batch.
#[derive(Clone, Debug)]
pub struct ActOutput {
    /// `batch x action_dim` actions (Discrete: the index as f32).
    pub actions: Vec<f32>,
    /// Log-probability of each action.
    pub logprobs: Vec<f32>,
    /// Value estimate of each observation.
    pub values: Vec<f32>,
}

/// Policy and value networks.
#[derive(Debug)]
pub struct ActorCritic {
    params: Params,
    trunk: Option<NatureCnn>,
    actor: Mlp,
    critic: Mlp,
    log_std: Option<Var>,
    kind: ActionKind,
    obs_dim: usize,
}

impl ActorCritic {
    /// A freshly initialised actor-critic on `device`, seeded: the weights are drawn from
    /// `rng` on the host, so they are the same on every device.
    pub fn new(
        obs_dim: usize,
        kind: ActionKind,
        arch: &Arch,
        init_log_std: f64,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Result<Self> {
        let mut params = Params::new(device);
        let out = match &kind {
            ActionKind::Discrete { n } => *n,
            ActionKind::Continuous { low, .. } => low.len(),
        };
        let (trunk, critic, actor) = match arch {
            Arch::Mlp { hidden } => {
                let critic = Mlp::new(rng, obs_dim, hidden, 1, 1.0, &mut params, "critic")?;
                let actor = Mlp::new(rng, obs_dim, hidden, out, 0.01, &mut params, "actor")?;
                (None, critic, actor)
            }
            Arch::NatureCnn { shape } => {
                if shape.iter().product::<usize>() != obs_dim {
                    candle_core::bail!("image shape {shape:?} does not hold {obs_dim} numbers");
                }
                let trunk = NatureCnn::new(rng, *shape, &mut params, "trunk")?;
                let critic = Mlp::new(rng, NatureCnn::FEATURES, &[], 1, 1.0, &mut params, "critic")?;
                let actor = Mlp::new(rng, NatureCnn::FEATURES, &[], out, 0.01, &mut params, "actor")?;
                (Some(trunk), critic, actor)
            }
        };
        let log_std = match &kind {
            ActionKind::Discrete { .. } => None,
            ActionKind::Continuous { .. } => {
                Some(params.add("actor.log_std", Tensor::full(init_log_std as f32, (1, out), device)?)?)
            }
        };
        Ok(ActorCritic { params, trunk, actor, critic, log_std, kind, obs_dim })
    }

    fn features(&self, obs: &Tensor) -> Result<Tensor> {
        match &self.trunk {
            Some(t) => t.forward(obs),
            None => Ok(obs.clone()),
        }
    }

    /// The trainable parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The device the networks run on; [`ActorCritic::act`] and [`ActorCritic::values`]
    /// copy observations there, and [`ActorCritic::evaluate`] takes tensors on it.
    pub fn device(&self) -> &Device {
        self.params.device()
    }

    /// The action kind.
    pub fn kind(&self) -> &ActionKind {
        &self.kind
    }

    /// Observation length.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    fn tensor(&self, obs: &[f32]) -> Result<Tensor> {
        Tensor::from_slice(obs, (obs.len() / self.obs_dim, self.obs_dim), self.device())
    }

    /// Value estimates of a `batch x obs_dim` tensor, shape `[batch]`.
    pub fn value(&self, obs: &Tensor) -> Result<Tensor> {
        self.critic.forward(&self.features(obs)?)?.squeeze(1)
    }

    /// Value estimates of flat observations.
    pub fn values(&self, obs: &[f32]) -> Result<Vec<f32>> {
        self.value(&self.tensor(obs)?)?.to_vec1()
    }

    /// Samples (or, with `deterministic`, picks the mode of) an action for each row of
    /// `obs`, drawing noise from `rng`.
    pub fn act(&self, obs: &[f32], rng: &mut ChaCha8Rng, deterministic: bool) -> Result<ActOutput> {
        let x = self.features(&self.tensor(obs)?)?;
        let values = self.critic.forward(&x)?.squeeze(1)?.to_vec1::<f32>()?;
        let head = self.actor.forward(&x)?;
        let mut actions = Vec::new();
        let mut logprobs = Vec::new();
        match &self.kind {
            ActionKind::Discrete { .. } => {
                for row in log_softmax(&head)?.to_vec2::<f32>()? {
                    let idx = if deterministic {
                        row.iter().enumerate().fold(0, |best, (i, v)| if *v > row[best] { i } else { best })
                    } else {
                        let u: f64 = rng.random();
                        let mut acc = 0.0f64;
                        let mut pick = row.len() - 1;
                        for (i, lp) in row.iter().enumerate() {
                            acc += (*lp as f64).exp();
                            if u < acc {
                                pick = i;
                                break;
                            }
                        }
                        pick
                    };
                    actions.push(idx as f32);
                    logprobs.push(row[idx]);
                }
            }
            ActionKind::Continuous { .. } => {
                let log_std =
                    self.log_std.as_ref().expect("continuous policy has log_std").as_tensor().to_vec2::<f32>()?[0]
                        .clone();
                for mean in head.to_vec2::<f32>()? {
                    let mut lp = 0.0f64;
                    for (d, m) in mean.iter().enumerate() {
                        let std = (log_std[d] as f64).exp();
                        let eps: f64 = if deterministic { 0.0 } else { rng.sample(StandardNormal) };
                        let a = *m as f64 + std * eps;
                        lp += -0.5 * eps * eps - log_std[d] as f64 - LOG_SQRT_2PI;
                        actions.push(a as f32);
                    }
                    logprobs.push(lp as f32);
                }
            }
        }
        Ok(ActOutput { actions, logprobs, values })
    }

    /// Log-probabilities and entropies of `actions` (`batch x action_dim`) under the current
    /// policy, and values, each of shape `[batch]`; differentiable.
    pub fn evaluate(&self, obs: &Tensor, actions: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let x = self.features(obs)?;
        let head = self.actor.forward(&x)?;
        let value = self.critic.forward(&x)?.squeeze(1)?;
        match &self.kind {
            ActionKind::Discrete { .. } => {
                let logp = log_softmax(&head)?;
                let idx = actions.to_dtype(DType::U32)?;
                let logprob = logp.gather(&idx, 1)?.squeeze(1)?;
                let entropy = (logp.exp()? * &logp)?.sum(D::Minus1)?.neg()?;
                Ok((logprob, entropy, value))
            }
            ActionKind::Continuous { .. } => {
                let log_std = self.log_std.as_ref().expect("continuous policy has log_std").as_tensor();
                let std = log_std.exp()?;
                let z = actions.broadcast_sub(&head)?.broadcast_div(&std)?;
                let per_dim = ((z.sqr()? * -0.5)?.broadcast_sub(log_std)? - LOG_SQRT_2PI)?;
                let logprob = per_dim.sum(D::Minus1)?;
                let ent = (log_std + (0.5 + LOG_SQRT_2PI))?.sum_all()?;
                let entropy = ent.broadcast_as(logprob.shape())?.contiguous()?;
                Ok((logprob, entropy, value))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn policy(kind: ActionKind) -> ActorCritic {
        ActorCritic::new(
            3,
            kind,
            &Arch::Mlp { hidden: vec![8, 8] },
            -0.5,
            &mut ChaCha8Rng::seed_from_u64(1),
            &Device::Cpu,
        )
        .unwrap()
    }

    #[test]
    fn act_logprobs_agree_with_evaluate() {
        for kind in [ActionKind::Discrete { n: 4 }, ActionKind::Continuous { low: vec![-1.0; 2], high: vec![1.0; 2] }] {
            let p = policy(kind.clone());
            let obs: Vec<f32> = (0..15).map(|i| (i as f32 * 0.37).sin()).collect();
            let out = p.act(&obs, &mut ChaCha8Rng::seed_from_u64(2), false).unwrap();
            let x = Tensor::from_slice(&obs, (5, 3), &Device::Cpu).unwrap();
            let a = Tensor::from_slice(&out.actions, (5, kind.dim()), &Device::Cpu).unwrap();
            let (lp, ent, v) = p.evaluate(&x, &a).unwrap();
            for (x, y) in lp.to_vec1::<f32>().unwrap().iter().zip(&out.logprobs) {
                assert!((x - y).abs() < 1e-4, "{kind:?}: {x} vs {y}");
            }
            assert_eq!(v.to_vec1::<f32>().unwrap(), out.values);
            assert!(ent.to_vec1::<f32>().unwrap().iter().all(|e| e.is_finite()));
        }
    }

    #[test]
    fn fresh_policy_is_near_uniform_and_gaussian_entropy_is_exact() {
        let p = policy(ActionKind::Discrete { n: 4 });
        let x = Tensor::ones((2, 3), DType::F32, &Device::Cpu).unwrap();
        let a = Tensor::zeros((2, 1), DType::F32, &Device::Cpu).unwrap();
        let (lp, ent, _) = p.evaluate(&x, &a).unwrap();
        // Actor output gain 0.01: logits near 0, so log p ~ -ln 4 and entropy ~ ln 4.
        assert!((lp.to_vec1::<f32>().unwrap()[0] + 4f32.ln()).abs() < 0.05);
        assert!((ent.to_vec1::<f32>().unwrap()[0] - 4f32.ln()).abs() < 0.01);
        let p = policy(ActionKind::Continuous { low: vec![-1.0; 2], high: vec![1.0; 2] });
        let a = Tensor::zeros((2, 2), DType::F32, &Device::Cpu).unwrap();
        let (_, ent, _) = p.evaluate(&x, &a).unwrap();
        let want = 2.0 * (0.5 + LOG_SQRT_2PI - 0.5);
        assert!((ent.to_vec1::<f32>().unwrap()[1] as f64 - want).abs() < 1e-5);
    }

    #[test]
    fn nature_cnn_policy_acts_on_images_and_learns_through_the_trunk() {
        let shape = [2, 44, 36];
        let dim = 2 * 44 * 36;
        let p = ActorCritic::new(
            dim,
            ActionKind::Discrete { n: 3 },
            &Arch::NatureCnn { shape },
            0.0,
            &mut ChaCha8Rng::seed_from_u64(4),
            &Device::Cpu,
        )
        .unwrap();
        let obs: Vec<f32> = (0..2 * dim).map(|i| (i % 255) as f32).collect();
        let out = p.act(&obs, &mut ChaCha8Rng::seed_from_u64(5), false).unwrap();
        assert_eq!((out.actions.len(), out.values.len()), (2, 2));
        let x = Tensor::from_slice(&obs, (2, dim), &Device::Cpu).unwrap();
        let a = Tensor::from_slice(&out.actions, (2, 1), &Device::Cpu).unwrap();
        let (lp, _, v) = p.evaluate(&x, &a).unwrap();
        for (x, y) in lp.to_vec1::<f32>().unwrap().iter().zip(&out.logprobs) {
            assert!((x - y).abs() < 1e-4);
        }
        let grads = (lp.sum_all().unwrap() + v.sum_all().unwrap()).unwrap().backward().unwrap();
        let (_, w) = p.params().iter().find(|(k, _)| k.as_str() == "trunk.conv0.weight").unwrap();
        assert!(grads.get(w).unwrap().abs().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap() > 0.0);
        let small = Arch::NatureCnn { shape: [1, 20, 20] };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(ActorCritic::new(400, ActionKind::Discrete { n: 2 }, &small, 0.0, &mut rng, &Device::Cpu).is_err());
    }

    #[test]
    fn seeded_sampling_is_deterministic_and_modes_are_greedy() {
        let p = policy(ActionKind::Discrete { n: 3 });
        let obs = vec![0.1, -0.2, 0.3, 0.5, 0.5, 0.5];
        let a = p.act(&obs, &mut ChaCha8Rng::seed_from_u64(9), false).unwrap();
        let b = p.act(&obs, &mut ChaCha8Rng::seed_from_u64(9), false).unwrap();
        assert_eq!(a.actions, b.actions);
        let c = p.act(&obs, &mut ChaCha8Rng::seed_from_u64(9), true).unwrap();
        let d = p.act(&obs, &mut ChaCha8Rng::seed_from_u64(10), true).unwrap();
        assert_eq!(c.actions, d.actions, "deterministic actions ignore the rng");
    }
}
