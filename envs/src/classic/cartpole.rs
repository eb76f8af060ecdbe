//! CartPole-v1: balance a pole on a cart by pushing it left or right.
//!
//! `info["state"]` on reset and every step (see [`crate::env::STATE_KEY`]): `x` (cart
//! position, m), `x_dot` (m/s), `theta` (pole angle from upright, rad, + leans towards +x),
//! `theta_dot` (rad/s), `theta_deg` (theta in degrees).

use std::f64::consts::PI;

use super::{discrete_action, uniform};
use crate::env::{ArgReader, Env, EnvRng, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::scene::{Camera, Caption, Material, Pose, Scene, SceneObject, Shape};
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

    fn info(&self) -> Info {
        let [x, x_dot, theta, theta_dot] = self.state.expect("reset before info");
        crate::env::state_info(&[
            ("x", x),
            ("x_dot", x_dot),
            ("theta", theta),
            ("theta_dot", theta_dot),
            ("theta_deg", theta.to_degrees()),
        ])
    }
}

/// Pole angle (rad) within which the pole counts as upright in captions.
const UPRIGHT: f64 = 0.05;

/// The true facts of a CartPole state `[x, x_dot, theta, theta_dot]`, each in many
/// phrasings ([`Caption::from_templates`]: synonyms for the pole and the cart, active and
/// passive, short and long, negations where natural).
pub fn cartpole_captions(state: [f64; 4]) -> Vec<Caption> {
    let [x, _, theta, _] = state;
    let mut out = Vec::new();
    out.push(if theta.abs() > THETA_THRESHOLD_RADIANS {
        Caption::from_templates(
            "pole.fallen",
            &[
                "the {pole|rod} has fallen over",
                "the {pole|rod} is no longer balanced",
                "the {pole|rod} {tipped|toppled} over on the {cart|carriage}",
                "a fallen {pole|rod} on a {cart|carriage}",
                "the balance has been lost and the {pole|rod} is down",
                "the {pole|rod} is not upright {any more|now}",
                "the {pole|rod} lies at a steep slant",
                // Which way it points (after the shapes the tower learnt).
                "the {pole|rod} no longer points up",
                "the {pole|rod} points out to the side",
                "the {pole|rod} has tipped far over",
            ],
        )
    } else if theta.abs() <= UPRIGHT {
        Caption::from_templates(
            "pole.upright",
            &[
                "the {pole|rod} is balanced upright on the {cart|carriage}",
                "the {pole|rod} stands {vertically|straight up} on top of the {cart|carriage}",
                "the {pole|rod} is {upright|vertical}",
                "an upright {pole|rod} on a {cart|carriage}",
                "the {pole|rod} is kept balanced by the {cart|carriage}",
                "the {pole|rod} is not leaning {at all|to either side}",
                "the {pole|rod} points straight up",
                "the {pole|rod} points up from the {cart|carriage}",
            ],
        )
    } else if theta > 0.0 {
        // Positive theta leans the pole towards +x (the right of the side camera).
        Caption::from_templates(
            "pole.leaning_right",
            &[
                "the {pole|rod} is {leaning|tilting} to the right",
                "the {pole|rod} tilts {right|rightwards}",
                "the {pole|rod} is {falling|tipping} to the right",
                "a {pole|rod} leaning right on a {cart|carriage}",
                "the {pole|rod} is not straight but leans right",
                "the {pole|rod} leans slightly to the right",
            ],
        )
    } else {
        Caption::from_templates(
            "pole.leaning_left",
            &[
                "the {pole|rod} is {leaning|tilting} to the left",
                "the {pole|rod} tilts {left|leftwards}",
                "the {pole|rod} is {falling|tipping} to the left",
                "a {pole|rod} leaning left on a {cart|carriage}",
                "the {pole|rod} is not straight but leans left",
                "the {pole|rod} leans slightly to the left",
            ],
        )
    });
    out.push(if x.abs() > X_THRESHOLD {
        Caption::from_templates(
            "cart.off_track",
            &[
                "the {cart|carriage} has left the {track|rail}",
                "the {cart|carriage} ran off the end of the {track|rail}",
                "the {cart|carriage} is off the {track|rail}",
                "a {cart|carriage} beyond the end of its {track|rail}",
                "the {track|rail} has been left by the {cart|carriage}",
            ],
        )
    } else if x.abs() < 0.5 {
        Caption::from_templates(
            "cart.centred",
            &[
                "the {cart|carriage} is in the {middle|centre} of the {track|rail}",
                "the {cart|carriage} is centred",
                "the {cart|carriage} is near the {centre|middle} of the {track|rail}",
                "a {cart|carriage} at the {middle|centre} of its {track|rail}",
                "the {cart|carriage} has not moved far from the {centre|middle}",
            ],
        )
    } else if x > 0.0 {
        Caption::from_templates(
            "cart.right",
            &[
                "the {cart|carriage} is on the right side of the {track|rail}",
                "the {cart|carriage} has moved to the right",
                "the {cart|carriage} is right of {centre|the middle}",
                "a {cart|carriage} on the right half of its {track|rail}",
                "the {cart|carriage} is not centred but on the right",
            ],
        )
    } else {
        Caption::from_templates(
            "cart.left",
            &[
                "the {cart|carriage} is on the left side of the {track|rail}",
                "the {cart|carriage} has moved to the left",
                "the {cart|carriage} is left of {centre|the middle}",
                "a {cart|carriage} on the left half of its {track|rail}",
                "the {cart|carriage} is not centred but on the left",
            ],
        )
    });
    out
}

/// What a CartPole state looks like: ground, track, cart and pole, seen from the side
/// (camera `side`, looking along -Z with +X to the right). Theta = 0 is upright; positive
/// theta leans the pole towards +X.
pub fn cartpole_scene(state: [f64; 4]) -> Scene {
    let [x, _, theta, _] = state;
    let (x, theta) = (x as f32, theta as f32);
    let cart_y = 0.35;
    let pole_len = 2.0 * LENGTH as f32;
    let pivot = [x, cart_y + 0.15, 0.0];
    // The pole's centre, half its length from the pivot along its direction.
    let centre = [pivot[0] + 0.5 * pole_len * theta.sin(), pivot[1] + 0.5 * pole_len * theta.cos(), 0.0];
    let obj =
        |name: &str, shape, pose, material, dynamic| SceneObject { name: name.into(), shape, pose, material, dynamic };
    Scene {
        objects: vec![
            obj(
                "ground",
                Shape::Plane { half_size: [20.0, 20.0] },
                Pose::IDENTITY,
                Material::textured("grass", 2.0),
                false,
            ),
            obj(
                "track",
                Shape::Cuboid { half_extents: [X_THRESHOLD as f32 + 0.3, 0.02, 0.05] },
                Pose::from_translation([0.0, 0.2, 0.0]),
                Material::color(0.35, 0.35, 0.38),
                false,
            ),
            obj(
                "cart",
                Shape::Cuboid { half_extents: [0.25, 0.15, 0.2] },
                Pose::from_translation([x, cart_y, 0.0]),
                Material::color(0.15, 0.3, 0.75),
                true,
            ),
            obj(
                "pole",
                Shape::Cylinder { radius: 0.05, half_height: 0.5 * pole_len },
                // Rotating +Y by -theta about +Z tips its top towards +X.
                Pose::from_axis_angle(centre, [0.0, 0.0, 1.0], -theta),
                Material::color(0.8, 0.55, 0.25),
                true,
            ),
        ],
        cameras: vec![Camera {
            name: "side".into(),
            eye: [0.0, 1.0, 6.0],
            target: [0.0, 0.8, 0.0],
            up: [0.0, 1.0, 0.0],
            fov_y_deg: 45.0,
            ortho_height: None,
        }],
        sun_direction: [-0.3, -1.0, -0.4],
        sky_color: [0.55, 0.7, 0.9],
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
        Ok((self.obs(), self.info()))
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
        Ok(Step { obs: self.obs(), reward, terminated, truncated: false, info: self.info() })
    }

    fn scene(&self) -> Option<Scene> {
        self.state.map(cartpole_scene)
    }

    fn captions(&self) -> Vec<Caption> {
        self.state.map(cartpole_captions).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(state: [f64; 4]) -> Vec<String> {
        cartpole_captions(state).into_iter().map(|c| c.fact).collect()
    }

    #[test]
    fn captions_say_what_the_state_is() {
        assert_eq!(facts([0.0, 0.0, 0.01, 0.0]), ["pole.upright", "cart.centred"]);
        assert_eq!(facts([1.0, 0.0, 0.1, 0.0]), ["pole.leaning_right", "cart.right"]);
        assert_eq!(facts([-1.0, 0.0, -0.1, 0.0]), ["pole.leaning_left", "cart.left"]);
        assert_eq!(facts([2.5, 0.0, 0.3, 0.0]), ["pole.fallen", "cart.off_track"]);
        let heldout = crate::scene::heldout_sentences("cartpole.toml");
        for state in [[0.0, 0.0, 0.01, 0.0], [1.0, 0.0, 0.1, 0.0], [-1.0, 0.0, -0.1, 0.0], [2.5, 0.0, 0.3, 0.0]] {
            crate::scene::assert_none_heldout(cartpole_captions(state), &heldout);
            for c in cartpole_captions(state) {
                assert!(c.phrasings.len() >= 10, "{} has {} phrasings", c.fact, c.phrasings.len());
            }
        }
    }

    #[test]
    fn the_pole_in_the_scene_tips_with_theta() {
        let s = cartpole_scene([0.5, 0.0, 0.3, 0.0]);
        let pole = s.object("pole").unwrap();
        let cart = s.object("cart").unwrap();
        assert_eq!(cart.pose.translation[0], 0.5);
        // The pole's centre lies right of the cart by (L) sin(theta) for a right lean.
        let dx = pole.pose.translation[0] - cart.pose.translation[0];
        assert!((dx - 0.5 * (0.3f32).sin()).abs() < 1e-5, "{dx}");
        // Its local +Y axis, rotated, points up and to the right.
        let [qx, qy, qz, qw] = pole.pose.rotation;
        let up_x = 2.0 * (qx * qy - qw * qz);
        let up_y = 1.0 - 2.0 * (qx * qx + qz * qz);
        assert!((up_x - (0.3f32).sin()).abs() < 1e-5 && (up_y - (0.3f32).cos()).abs() < 1e-5, "{up_x} {up_y}");
        assert!(s.camera("side").is_some());
        let names: Vec<&str> = s.objects.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["ground", "track", "cart", "pole"]);
    }
}
