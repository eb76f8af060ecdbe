//! Stacking the last k observations.

use std::collections::VecDeque;

use super::{inner_accessors, require_box, Wrapper};
use crate::env::{Env, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::spaces::{BoxSpace, Space, Value};

/// Observes the last `stack_size` Box observations, oldest first, as one Box of shape
/// `[stack_size, ...]`; after a reset the stack is padded with the reset observation
/// (Gymnasium's `FrameStackObservation` with `padding_type="reset"`).
pub struct FrameStack<E> {
    env: E,
    stack_size: usize,
    frames: VecDeque<Vec<f32>>,
    observation_space: Space,
}

impl<E: Env> FrameStack<E> {
    /// Wraps an env with a Box observation space; `stack_size` must be positive.
    pub fn new(env: E, stack_size: usize) -> Result<Self> {
        if stack_size == 0 {
            return Err(EnvError::kwarg("stack_size", "must be at least 1"));
        }
        let b = require_box(env.observation_space(), "FrameStack", "observation")?;
        let mut shape = vec![stack_size];
        shape.extend_from_slice(b.shape());
        let observation_space =
            Space::Box(BoxSpace::new(b.low().repeat(stack_size), b.high().repeat(stack_size), shape)?);
        Ok(FrameStack { env, stack_size, frames: VecDeque::with_capacity(stack_size), observation_space })
    }

    inner_accessors!();

    fn stacked(&self) -> Value {
        Value::Box(self.frames.iter().flatten().copied().collect())
    }
}

fn into_box(v: Value) -> Vec<f32> {
    match v {
        Value::Box(b) => b,
        _ => unreachable!("FrameStack::new checked the space is a Box"),
    }
}

impl<E: Env> Wrapper for FrameStack<E> {
    inner_accessors!(Wrapper);

    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        let (obs, info) = self.env.reset(seed, options)?;
        let obs = into_box(obs);
        self.frames.clear();
        for _ in 0..self.stack_size {
            self.frames.push_back(obs.clone());
        }
        Ok((self.stacked(), info))
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let mut step = self.env.step(action)?;
        self.frames.pop_front();
        self.frames.push_back(into_box(std::mem::replace(&mut step.obs, Value::Discrete(0))));
        step.obs = self.stacked();
        Ok(step)
    }
}
crate::impl_env_for_wrapper!(FrameStack);
