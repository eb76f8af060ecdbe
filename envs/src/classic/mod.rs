//! Classic control with Gymnasium 1.x's dynamics to the letter: CartPole, MountainCar,
//! MountainCarContinuous, Pendulum and Acrobot.
//!
//! Internal states are `f64` and observations `f32`, as in Gymnasium; where Gymnasium's
//! arithmetic runs in `float32` under NumPy 2's promotion rules (the action terms of
//! MountainCarContinuous and Pendulum), so does ours. `envs/tests/classic_parity.rs`
//! replays trajectories recorded with Gymnasium itself. Every env also accepts an exact
//! start state through the reset option `init_state`.

mod acrobot;
mod cartpole;
mod mountain_car;
mod pendulum;
mod specs;

pub use acrobot::Acrobot;
pub use cartpole::{cartpole_captions, cartpole_scene, CartPole};
pub use mountain_car::{mountain_car_captions, mountain_car_scene, MountainCar, MountainCarContinuous};
pub use pendulum::Pendulum;
pub use specs::{specs, CartPoleSampler, MountainCarSampler, CARTPOLE_ID};

use crate::error::{EnvError, Result};
use crate::spaces::{Space, Value};

/// Validates a discrete action and returns it.
fn discrete_action(space: &Space, action: &Value) -> Result<i64> {
    space.check_action(action)?;
    action
        .as_discrete()
        .ok_or_else(|| EnvError::InvalidAction { space: space.to_string(), reason: "not discrete".into() })
}

/// Validates a one-element Box action and returns it.
fn scalar_action(space: &Space, action: &Value) -> Result<f32> {
    space.check_action(action)?;
    action
        .as_box()
        .and_then(|v| v.first().copied())
        .ok_or_else(|| EnvError::InvalidAction { space: space.to_string(), reason: "not a Box value".into() })
}

/// Draws `n` values uniformly from `[low, high)` like `np_random.uniform`.
fn uniform<R: rand::Rng>(rng: &mut R, low: f64, high: f64, n: usize) -> Vec<f64> {
    (0..n).map(|_| low + (high - low) * rng.random::<f64>()).collect()
}
