//! CartPole-v1: balance a pole on a cart by pushing it left or right.

use std::f64::consts::PI;

use super::{discrete_action, uniform};
use crate::env::{ArgReader, Env, EnvRng, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::spaces::{BoxSpace, Discrete, Space, Value};

const GRAVITY: f64 = 9.8;
const MASSCART: f64 = 1.0;
const MASSPOLE: f64 = 0.1;
const LENGTH: f64 = 0.5; // half the pole's length
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;

/// Cart position beyond which the episode terminates (m).
pub const X_THRESHOLD: f64 = 2.4;

/// Pole angle beyond which the episode terminates (rad): 12 degrees.
pub const THETA_THRESHOLD_RADIANS: f64 = 12.0 * 2.0 * PI / 360.0;

/// Gymnasium's `CartPoleEnv` (Barto, Sutton & Anderson), Euler-integrated at 50 Hz.
///
/// State `[x, x_dot, theta, theta_dot]`; actions 0 (push left) and 1 (push right);
/// reward 1 per step (the step that terminates included, 0 after it), or with the kwarg
/// `sutton_barto_reward` 0 per step and -1 on termination.
#[derive(Clone, Debug)]
pub struct CartPole {
    state: Option<[f64; 4]>,
    steps_beyond_terminated: Option<u64>,
    sutton_barto_reward: bool,
    rng: EnvRng,
    observation_space: Space,
    action_space: Space,
}

impl CartPole {
    /// A CartPole with Gymnasium's default (v1) reward.
    pub fn new(sutton_barto_reward: bool) -> Self {
        let h = [X_THRESHOLD * 2.0, f32::MAX as f64, THETA_THRESHOLD_RADIANS * 2.0, f32::MAX as f64].map(|x| x as f32);
        CartPole {
            state: None,
            steps_beyond_terminated: None,
            sutton_barto_reward,
            rng: EnvRng::default(),
            observation_space: Space::Box(
                BoxSpace::from_bounds(h.map(|x| -x).to_vec(), h.to_vec()).expect("valid bounds"),
            ),
            action_space: Space::Discrete(Discrete::new(2)),
        }
    }

    /// Builds from kwargs: `sutton_barto_reward` (bool, default false).
    pub fn from_kwargs(kwargs: &Options) -> Result<Self> {
        let mut r = ArgReader::kwargs(kwargs);
        let sb = r.bool("sutton_barto_reward", false)?;
        r.finish()?;
        Ok(CartPole::new(sb))
    }

    /// The physical state `[x, x_dot, theta, theta_dot]`, once reset.
    pub fn state(&self) -> Option<[f64; 4]> {
        self.state
    }

    fn obs(&self) -> Value {
        Value::Box(self.state.expect("reset before obs").iter().map(|&x| x as f32).collect())
    }
}

impl Env for CartPole {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        let (low, high, init) = crate::env::parse_reset_options(options, -0.05, 0.05, 4)?;
        let rng = self.rng.reseed(seed);
        let s = init.unwrap_or_else(|| uniform(rng, low, high, 4));
        self.state = Some([s[0], s[1], s[2], s[3]]);
        self.steps_beyond_terminated = None;
        Ok((self.obs(), Info::new()))
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let a = discrete_action(&self.action_space, action)?;
        let [mut x, mut x_dot, mut theta, mut theta_dot] = self.state.ok_or(EnvError::ResetNeeded)?;
        let total_mass = MASSPOLE + MASSCART;
        let polemass_length = MASSPOLE * LENGTH;
        let force = if a == 1 { FORCE_MAG } else { -FORCE_MAG };
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / total_mass));
        let xacc = temp - polemass_length * thetaacc * costheta / total_mass;
        x += TAU * x_dot;
        x_dot += TAU * xacc;
        theta += TAU * theta_dot;
        theta_dot += TAU * thetaacc;
        self.state = Some([x, x_dot, theta, theta_dot]);

        // Gymnasium's comparisons, kept as written.
        #[allow(clippy::manual_range_contains)]
        let terminated =
            x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD_RADIANS || theta > THETA_THRESHOLD_RADIANS;
        let reward = if !terminated {
            if self.sutton_barto_reward {
                0.0
            } else {
                1.0
            }
        } else if self.steps_beyond_terminated.is_none() {
            self.steps_beyond_terminated = Some(0);
            if self.sutton_barto_reward {
                -1.0
            } else {
                1.0
            }
        } else {
            let n = self.steps_beyond_terminated.get_or_insert(0);
            if *n == 0 {
                tracing::warn!("CartPole: step() called after terminated = True; call reset() first");
            }
            *n += 1;
            if self.sutton_barto_reward {
                -1.0
            } else {
                0.0
            }
        };
        Ok(Step { obs: self.obs(), reward, terminated, truncated: false, info: Info::new() })
    }
}
