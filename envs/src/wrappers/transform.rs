//! Wrappers that apply a function to rewards or observations.

use super::{inner_accessors, Wrapper};
use crate::env::{Env, Info, Options, Step};
use crate::error::Result;
use crate::spaces::{Space, Value};

/// Applies `f` to every reward (Gymnasium's `TransformReward`), e.g. clipping.
pub struct TransformReward<E> {
    env: E,
    f: Box<dyn Fn(f64) -> f64 + Send>,
}

impl<E: Env> TransformReward<E> {
    /// Wraps `env` with the reward map `f`.
    pub fn new(env: E, f: impl Fn(f64) -> f64 + Send + 'static) -> Self {
        TransformReward { env, f: Box::new(f) }
    }

    inner_accessors!();
}

impl<E: Env> Wrapper for TransformReward<E> {
    inner_accessors!(Wrapper);

    fn step(&mut self, action: &Value) -> Result<Step> {
        let mut step = self.env.step(action)?;
        step.reward = (self.f)(step.reward);
        Ok(step)
    }
}
crate::impl_env_for_wrapper!(TransformReward);

/// Applies `f` to every observation (Gymnasium's `TransformObservation`); the caller
/// states the resulting observation space.
pub struct TransformObservation<E> {
    env: E,
    f: Box<dyn Fn(Value) -> Value + Send>,
    observation_space: Space,
}

impl<E: Env> TransformObservation<E> {
    /// Wraps `env` with the observation map `f`, whose outputs lie in `observation_space`.
    pub fn new(env: E, observation_space: Space, f: impl Fn(Value) -> Value + Send + 'static) -> Self {
        TransformObservation { env, f: Box::new(f), observation_space }
    }

    inner_accessors!();
}

impl<E: Env> Wrapper for TransformObservation<E> {
    inner_accessors!(Wrapper);

    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        let (obs, info) = self.env.reset(seed, options)?;
        Ok(((self.f)(obs), info))
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let mut step = self.env.step(action)?;
        step.obs = (self.f)(std::mem::replace(&mut step.obs, Value::Discrete(0)));
        Ok(step)
    }
}
crate::impl_env_for_wrapper!(TransformObservation);
