//! MountainCar-v0 and MountainCarContinuous-v0: drive an underpowered car up a hill.
//!
//! `info["state"]` on reset and every step, both envs (see [`crate::env::STATE_KEY`]):
//! `position` (m along the track; the goal is at 0.5, or 0.45 for the continuous env) and
//! `velocity`.

use super::{discrete_action, scalar_action, uniform};
use crate::env::{ArgReader, Env, EnvRng, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::spaces::{BoxSpace, Discrete, Space, Value};

const MIN_POSITION: f64 = -1.2;
const MAX_POSITION: f64 = 0.6;
const MAX_SPEED: f64 = 0.07;
const FORCE: f64 = 0.001;
const GRAVITY: f64 = 0.0025;
const POWER: f64 = 0.0015;

/// Goal position of MountainCar-v0.
pub const GOAL_POSITION: f64 = 0.5;
/// Goal position of MountainCarContinuous-v0.
pub const GOAL_POSITION_CONTINUOUS: f64 = 0.45;

fn observation_space() -> Space {
    let b = BoxSpace::from_bounds(
        vec![MIN_POSITION as f32, -MAX_SPEED as f32],
        vec![MAX_POSITION as f32, MAX_SPEED as f32],
    );
    Space::Box(b.expect("valid bounds"))
}

fn read_goal_velocity(kwargs: &Options) -> Result<f64> {
    let mut r = ArgReader::kwargs(kwargs);
    let v = r.f64("goal_velocity", 0.0)?;
    r.finish()?;
    Ok(v)
}

/// `info` with the named state `position`, `velocity`.
fn mc_info(state: Option<[f64; 2]>) -> Info {
    let [position, velocity] = state.expect("reset before info");
    crate::env::state_info(&[("position", position), ("velocity", velocity)])
}

fn reset_state(rng: &mut EnvRng, seed: Option<u64>, options: &Options) -> Result<[f64; 2]> {
    let (low, high, init) = crate::env::parse_reset_options(options, -0.6, -0.4, 2)?;
    let rng = rng.reseed(seed);
    Ok(match init {
        Some(s) => [s[0], s[1]],
        None => [uniform(rng, low, high, 1)[0], 0.0],
    })
}

/// Gymnasium's `MountainCarEnv` (Moore, 1990): actions 0 (accelerate left), 1 (none),
/// 2 (right); reward -1 per step; terminates at position >= 0.5 with velocity >=
/// `goal_velocity` (kwarg, default 0).
#[derive(Clone, Debug)]
pub struct MountainCar {
    state: Option<[f64; 2]>,
    goal_velocity: f64,
    rng: EnvRng,
    observation_space: Space,
    action_space: Space,
}

impl MountainCar {
    /// A MountainCar with the given goal velocity (Gymnasium's default is 0).
    pub fn new(goal_velocity: f64) -> Self {
        MountainCar {
            state: None,
            goal_velocity,
            rng: EnvRng::default(),
            observation_space: observation_space(),
            action_space: Space::Discrete(Discrete::new(3)),
        }
    }

    /// Builds from kwargs: `goal_velocity` (number, default 0).
    pub fn from_kwargs(kwargs: &Options) -> Result<Self> {
        Ok(MountainCar::new(read_goal_velocity(kwargs)?))
    }

    /// The state `[position, velocity]`, once reset.
    pub fn state(&self) -> Option<[f64; 2]> {
        self.state
    }

    fn obs(&self) -> Value {
        Value::Box(self.state.expect("reset before obs").iter().map(|&x| x as f32).collect())
    }
}

impl Env for MountainCar {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        self.state = Some(reset_state(&mut self.rng, seed, options)?);
        Ok((self.obs(), mc_info(self.state())))
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let a = discrete_action(&self.action_space, action)?;
        let [mut position, mut velocity] = self.state.ok_or(EnvError::ResetNeeded)?;
        velocity += (a - 1) as f64 * FORCE + (3.0 * position).cos() * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= self.goal_velocity;
        self.state = Some([position, velocity]);
        Ok(Step { obs: self.obs(), reward: -1.0, terminated, truncated: false, info: mc_info(self.state()) })
    }
}

/// Gymnasium's `Continuous_MountainCarEnv`: force in [-1, 1] (clipped); reward +100 on
/// reaching position >= 0.45, minus 0.1 * action^2 every step.
///
/// Gymnasium keeps this state as `float32` between steps and, under NumPy 2, does the
/// action term in `float32`; this follows it operation by operation.
#[derive(Clone, Debug)]
pub struct MountainCarContinuous {
    state: Option<McState>,
    goal_velocity: f64,
    rng: EnvRng,
    observation_space: Space,
    action_space: Space,
}

/// Right after reset the state is the `float64` array reset made; after a step it is the
/// `float32` array step stored.
#[derive(Clone, Copy, Debug)]
enum McState {
    Reset([f64; 2]),
    Stepped([f32; 2]),
}

impl MountainCarContinuous {
    /// A continuous MountainCar with the given goal velocity (default 0).
    pub fn new(goal_velocity: f64) -> Self {
        MountainCarContinuous {
            state: None,
            goal_velocity,
            rng: EnvRng::default(),
            observation_space: observation_space(),
            action_space: Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![1])),
        }
    }

    /// Builds from kwargs: `goal_velocity` (number, default 0).
    pub fn from_kwargs(kwargs: &Options) -> Result<Self> {
        Ok(MountainCarContinuous::new(read_goal_velocity(kwargs)?))
    }

    /// The state `[position, velocity]`, once reset.
    pub fn state(&self) -> Option<[f64; 2]> {
        self.state.map(|s| match s {
            McState::Reset(s) => s,
            McState::Stepped(s) => s.map(f64::from),
        })
    }

    fn obs(&self) -> Value {
        Value::Box(self.state().expect("reset before obs").iter().map(|&x| x as f32).collect())
    }
}

impl Env for MountainCarContinuous {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        self.state = Some(McState::Reset(reset_state(&mut self.rng, seed, options)?));
        Ok((self.obs(), mc_info(self.state())))
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let a = scalar_action(&self.action_space, action)?;
        let state = self.state.ok_or(EnvError::ResetNeeded)?;
        // `force = min(max(a, -1.0), 1.0)` keeps the float32 action when in range and
        // becomes a Python float when clipped; `force * power` follows suit.
        let in_range = (-1.0..=1.0).contains(&a);
        let force64 = (a as f64).clamp(-1.0, 1.0);
        let (position, velocity) = match state {
            McState::Reset([p, v]) => {
                let gravity_term = 0.0025 * (3.0 * p).cos();
                let dv = if in_range {
                    (a * POWER as f32 - gravity_term as f32) as f64
                } else {
                    force64 * POWER - gravity_term
                };
                let mut velocity = v + dv;
                velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
                let mut position = (p + velocity).clamp(MIN_POSITION, MAX_POSITION);
                if position == MIN_POSITION && velocity < 0.0 {
                    velocity = 0.0;
                }
                position = position as f32 as f64;
                (position, velocity as f32 as f64)
            }
            McState::Stepped([p, v]) => {
                // float32 state: comparisons against Python floats happen in float32.
                let gravity_term = 0.0025 * ((3.0f32 * p) as f64).cos();
                let dv = if in_range {
                    a * POWER as f32 - gravity_term as f32
                } else {
                    (force64 * POWER - gravity_term) as f32
                };
                let mut velocity = v + dv;
                let max_speed = MAX_SPEED as f32;
                if velocity > max_speed {
                    velocity = max_speed;
                }
                if velocity < -max_speed {
                    velocity = -max_speed;
                }
                let mut position = p + velocity;
                if position > MAX_POSITION as f32 {
                    position = MAX_POSITION as f32;
                }
                if position < MIN_POSITION as f32 {
                    position = MIN_POSITION as f32;
                }
                if position == MIN_POSITION as f32 && velocity < 0.0 {
                    velocity = 0.0;
                }
                (position as f64, velocity as f64)
            }
        };
        let (position, velocity) = (position as f32, velocity as f32);
        let terminated = position >= GOAL_POSITION_CONTINUOUS as f32 && velocity >= self.goal_velocity as f32;
        let mut reward = if terminated { 100.0 } else { 0.0 };
        reward -= (a as f64).powi(2) * 0.1;
        self.state = Some(McState::Stepped([position, velocity]));
        Ok(Step { obs: self.obs(), reward, terminated, truncated: false, info: mc_info(self.state()) })
    }
}
