//! Pendulum-v1: swing a pendulum up and hold it with limited torque.
//!
//! `info["state"]` on reset and every step (see [`crate::env::STATE_KEY`]): `theta`
//! (angle from upright, rad, normalised to [-pi, pi) as in the reward) and `theta_dot`
//! (rad/s).

use std::f64::consts::PI;

use super::{scalar_action, uniform};
use crate::env::{ArgReader, Env, EnvRng, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::spaces::{BoxSpace, Space, Value};

const MAX_SPEED: f64 = 8.0;
const MAX_TORQUE: f64 = 2.0;
const DT: f64 = 0.05;
const M: f64 = 1.0;
const L: f64 = 1.0;

/// Gymnasium's `PendulumEnv`: observation `[cos(theta), sin(theta), theta_dot]`, torque
/// in [-2, 2] (clipped), reward `-(theta^2 + 0.1 theta_dot^2 + 0.001 u^2)` with theta
/// normalised to [-pi, pi); never terminates (TimeLimit truncates at 200).
#[derive(Clone, Debug)]
pub struct Pendulum {
    state: Option<[f64; 2]>,
    g: f64,
    rng: EnvRng,
    observation_space: Space,
    action_space: Space,
}

/// Gymnasium's `angle_normalize`: `((x + pi) % (2 pi)) - pi` with Python's floor modulo.
fn angle_normalize(x: f64) -> f64 {
    let m = 2.0 * PI;
    let mut r = (x + PI) % m;
    if r != 0.0 && r < 0.0 {
        r += m;
    }
    r - PI
}

impl Pendulum {
    /// A pendulum under gravity `g` (Gymnasium's default is 10.0).
    pub fn new(g: f64) -> Self {
        let high = vec![1.0, 1.0, MAX_SPEED as f32];
        Pendulum {
            state: None,
            g,
            rng: EnvRng::default(),
            observation_space: Space::Box(
                BoxSpace::from_bounds(high.iter().map(|x| -x).collect(), high).expect("valid"),
            ),
            action_space: Space::Box(BoxSpace::uniform(-MAX_TORQUE as f32, MAX_TORQUE as f32, vec![1])),
        }
    }

    /// Builds from kwargs: `g` (gravity, default 10.0).
    pub fn from_kwargs(kwargs: &Options) -> Result<Self> {
        let mut r = ArgReader::kwargs(kwargs);
        let g = r.f64("g", 10.0)?;
        r.finish()?;
        Ok(Pendulum::new(g))
    }

    /// The state `[theta, theta_dot]`, once reset (theta = 0 is upright).
    pub fn state(&self) -> Option<[f64; 2]> {
        self.state
    }

    fn obs(&self) -> Value {
        let [th, thdot] = self.state.expect("reset before obs");
        Value::Box(vec![th.cos() as f32, th.sin() as f32, thdot as f32])
    }

    fn info(&self) -> Info {
        let [th, thdot] = self.state.expect("reset before info");
        crate::env::state_info(&[("theta", angle_normalize(th)), ("theta_dot", thdot)])
    }
}

impl Env for Pendulum {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    /// Options: `x_init`, `y_init` (bounds of the uniform start angle and speed, default
    /// pi and 1), or `init_state` `[theta, theta_dot]`.
    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        let mut r = ArgReader::options(options);
        let x = r.f64("x_init", PI)?;
        let y = r.f64("y_init", 1.0)?;
        let init = r.opt_vec("init_state", 2)?;
        r.finish()?;
        let rng = self.rng.reseed(seed);
        self.state = Some(match init {
            Some(s) => [s[0], s[1]],
            None => {
                let th = uniform(rng, -x, x, 1)[0];
                [th, uniform(rng, -y, y, 1)[0]]
            }
        });
        Ok((self.obs(), self.info()))
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let u = scalar_action(&self.action_space, action)?.clamp(-MAX_TORQUE as f32, MAX_TORQUE as f32);
        let [th, thdot] = self.state.ok_or(EnvError::ResetNeeded)?;
        // u is float32; NumPy 2 keeps `0.001 * u**2` and `3.0 / (m l^2) * u` in float32.
        let costs = angle_normalize(th).powi(2) + 0.1 * thdot * thdot + (0.001f32 * (u * u)) as f64;
        let torque_term = ((3.0 / (M * L * L)) as f32 * u) as f64;
        let mut newthdot = thdot + (3.0 * self.g / (2.0 * L) * th.sin() + torque_term) * DT;
        newthdot = newthdot.clamp(-MAX_SPEED, MAX_SPEED);
        let newth = th + newthdot * DT;
        self.state = Some([newth, newthdot]);
        Ok(Step { obs: self.obs(), reward: -costs, terminated: false, truncated: false, info: self.info() })
    }
}

#[cfg(test)]
mod tests {
    use super::angle_normalize;
    use std::f64::consts::PI;

    #[test]
    fn angle_normalize_is_python_floor_modulo() {
        assert!((angle_normalize(3.0 * PI / 2.0) - (-PI / 2.0)).abs() < 1e-12);
        assert!((angle_normalize(-3.0 * PI / 2.0) - (PI / 2.0)).abs() < 1e-12);
        assert_eq!(angle_normalize(0.25), 0.25);
    }
}
