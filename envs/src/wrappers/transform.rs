//! Wrappers that apply a function to rewards or observations.

use super::inner_accessors;
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

impl<E: Env> Env for TransformReward<E> {
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
    }
    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        self.env.reset(seed, options)
    }
    fn step(&mut self, action: &Value) -> Result<Step> {
        let mut step = self.env.step(action)?;
        step.reward = (self.f)(step.reward);
        Ok(step)
    }
    fn close(&mut self) {
        self.env.close()
    }
    fn scene(&self) -> Option<crate::scene::Scene> {
        self.env.scene()
    }
    fn captions(&self) -> Vec<crate::scene::Caption> {
        self.env.captions()
    }
}

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

impl<E: Env> Env for TransformObservation<E> {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }
    fn action_space(&self) -> &Space {
        self.env.action_space()
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
    fn close(&mut self) {
        self.env.close()
    }
    fn scene(&self) -> Option<crate::scene::Scene> {
        self.env.scene()
    }
    fn captions(&self) -> Vec<crate::scene::Caption> {
        self.env.captions()
    }
}
