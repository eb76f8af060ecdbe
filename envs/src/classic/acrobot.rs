//! Acrobot-v1: swing the tip of a two-link pendulum, actuated at the elbow, above a line.
//!
//! `info["state"]` on reset and every step (see [`crate::env::STATE_KEY`]): `theta1`,
//! `theta2` (rad, wrapped to [-pi, pi]; 0 hangs down), `dtheta1`, `dtheta2` (rad/s) and
//! `tip_height` (`-cos t1 - cos(t1 + t2)`, in link lengths; the episode ends above 1).

use std::f64::consts::PI;

use super::{discrete_action, uniform};
use crate::env::{ArgReader, Env, EnvRng, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::spaces::{BoxSpace, Discrete, Space, Value};

const DT: f64 = 0.2;
const LINK_LENGTH_1: f64 = 1.0;
const LINK_MASS_1: f64 = 1.0;
const LINK_MASS_2: f64 = 1.0;
const LINK_COM_POS_1: f64 = 0.5;
const LINK_COM_POS_2: f64 = 0.5;
const LINK_MOI: f64 = 1.0;
const MAX_VEL_1: f64 = 4.0 * PI;
const MAX_VEL_2: f64 = 9.0 * PI;
const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];

/// Gymnasium's `AcrobotEnv` (Sutton 1996, "book" dynamics, RK4 over 0.2 s): state
/// `[theta1, theta2, dtheta1, dtheta2]`, observation
/// `[cos t1, sin t1, cos t2, sin t2, dt1, dt2]`, actions torque -1, 0, +1; reward -1 per
/// step until `-cos(t1) - cos(t2 + t1) > 1`, then 0 and terminated.
#[derive(Clone, Debug)]
pub struct Acrobot {
    state: Option<[f64; 4]>,
    rng: EnvRng,
    observation_space: Space,
    action_space: Space,
}

impl Default for Acrobot {
    fn default() -> Self {
        Acrobot::new()
    }
}

impl Acrobot {
    /// A new Acrobot.
    pub fn new() -> Self {
        let high = vec![1.0, 1.0, 1.0, 1.0, MAX_VEL_1 as f32, MAX_VEL_2 as f32];
        Acrobot {
            state: None,
            rng: EnvRng::default(),
            observation_space: Space::Box(
                BoxSpace::from_bounds(high.iter().map(|x| -x).collect(), high).expect("valid"),
            ),
            action_space: Space::Discrete(Discrete::new(3)),
        }
    }

    /// Builds from kwargs (it takes none).
    pub fn from_kwargs(kwargs: &Options) -> Result<Self> {
        ArgReader::kwargs(kwargs).finish()?;
        Ok(Acrobot::new())
    }

    /// The state `[theta1, theta2, dtheta1, dtheta2]`, once reset.
    pub fn state(&self) -> Option<[f64; 4]> {
        self.state
    }

    fn obs(&self) -> Value {
        let s = self.state.expect("reset before obs");
        Value::Box([s[0].cos(), s[0].sin(), s[1].cos(), s[1].sin(), s[2], s[3]].iter().map(|&x| x as f32).collect())
    }

    fn tip_height(&self) -> f64 {
        let s = self.state.expect("reset before tip_height");
        -s[0].cos() - (s[1] + s[0]).cos()
    }

    fn terminal(&self) -> bool {
        self.tip_height() > 1.0
    }

    fn info(&self) -> Info {
        let [t1, t2, dt1, dt2] = self.state.expect("reset before info");
        crate::env::state_info(&[
            ("theta1", t1),
            ("theta2", t2),
            ("dtheta1", dt1),
            ("dtheta2", dt2),
            ("tip_height", self.tip_height()),
        ])
    }
}

/// The equations of motion, for `[theta1, theta2, dtheta1, dtheta2, torque]`.
fn dsdt(s: &[f64; 5]) -> [f64; 5] {
    let (m1, m2, l1, lc1, lc2, i1, i2) =
        (LINK_MASS_1, LINK_MASS_2, LINK_LENGTH_1, LINK_COM_POS_1, LINK_COM_POS_2, LINK_MOI, LINK_MOI);
    let g = 9.8;
    let a = s[4];
    let [theta1, theta2, dtheta1, dtheta2] = [s[0], s[1], s[2], s[3]];
    let d1 = m1 * lc1.powi(2) + m2 * (l1.powi(2) + lc2.powi(2) + 2.0 * l1 * lc2 * theta2.cos()) + i1 + i2;
    let d2 = m2 * (lc2.powi(2) + l1 * lc2 * theta2.cos()) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * theta2.sin()
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * theta2.sin()
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * theta2.sin() - phi2)
        / (m2 * lc2.powi(2) + i2 - d2.powi(2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}

/// One RK4 step of length `dt`, with Gymnasium's operation order.
fn rk4(y0: [f64; 5], dt: f64) -> [f64; 5] {
    let dt2 = dt / 2.0;
    let add = |y: &[f64; 5], h: f64, k: &[f64; 5]| std::array::from_fn(|i| y[i] + h * k[i]);
    let k1 = dsdt(&y0);
    let k2 = dsdt(&add(&y0, dt2, &k1));
    let k3 = dsdt(&add(&y0, dt2, &k2));
    let k4 = dsdt(&add(&y0, dt, &k3));
    std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

fn wrap(mut x: f64, m: f64, big_m: f64) -> f64 {
    let diff = big_m - m;
    while x > big_m {
        x -= diff;
    }
    while x < m {
        x += diff;
    }
    x
}

impl Env for Acrobot {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        let (low, high, init) = crate::env::parse_reset_options(options, -0.1, 0.1, 4)?;
        let rng = self.rng.reseed(seed);
        // Gymnasium stores the start state as float32.
        let s = init.unwrap_or_else(|| uniform(rng, low, high, 4));
        self.state = Some(std::array::from_fn(|i| s[i] as f32 as f64));
        Ok((self.obs(), self.info()))
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        let a = discrete_action(&self.action_space, action)?;
        let s = self.state.ok_or(EnvError::ResetNeeded)?;
        let torque = AVAIL_TORQUE[a as usize];
        let ns = rk4([s[0], s[1], s[2], s[3], torque], DT);
        self.state = Some([
            wrap(ns[0], -PI, PI),
            wrap(ns[1], -PI, PI),
            ns[2].clamp(-MAX_VEL_1, MAX_VEL_1),
            ns[3].clamp(-MAX_VEL_2, MAX_VEL_2),
        ]);
        let terminated = self.terminal();
        let reward = if terminated { 0.0 } else { -1.0 };
        Ok(Step { obs: self.obs(), reward, terminated, truncated: false, info: self.info() })
    }
}
