//! MountainCar-v0 and MountainCarContinuous-v0: drive an underpowered car up a hill.
//!
//! `info["state"]` on reset and every step, both envs (see [`crate::env::STATE_KEY`]):
//! `position` (m along the track; the goal is at 0.5, or 0.45 for the continuous env) and
//! `velocity`.
//!
//! Both envs draw themselves ([`mountain_car_scene`]) and caption their state
//! ([`mountain_car_captions`]); the continuous env moves the flag and the `car.at_goal` fact
//! to its own goal, 0.45.

use super::{discrete_action, scalar_action, uniform};
use crate::env::{ArgReader, Env, EnvRng, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::scene::{Camera, Caption, Material, Pose, Scene, SceneObject, Shape};
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

/// A step's info: [`mc_info`] plus `success` (the step reached the goal and ended the
/// episode), which `vlmgym eval` reports as the success rate.
fn with_success(state: Option<[f64; 2]>, terminated: bool) -> Info {
    let mut info = mc_info(state);
    info.insert("success".into(), terminated.into());
    info
}

fn reset_state(rng: &mut EnvRng, seed: Option<u64>, options: &Options) -> Result<[f64; 2]> {
    let (low, high, init) = crate::env::parse_reset_options(options, -0.6, -0.4, 2)?;
    let rng = rng.reseed(seed);
    Ok(match init {
        Some(s) => [s[0], s[1]],
        None => [uniform(rng, low, high, 1)[0], 0.0],
    })
}

/// Height of the track at `x`: Gymnasium's `sin(3x) * 0.45 + 0.55` (metres, Y-up).
fn hill_height(x: f64) -> f64 {
    (3.0 * x).sin() * 0.45 + 0.55
}

/// Slope angle of the track at `x` (rad, positive climbs towards +X).
fn hill_angle(x: f64) -> f64 {
    (1.35 * (3.0 * x).cos()).atan()
}

/// Where the valley is lowest: `sin(3x) = -1` at `x = -pi/6`.
const VALLEY_BOTTOM: f64 = -std::f64::consts::FRAC_PI_6;
/// Distance from [`VALLEY_BOTTOM`] within which the car counts as at the bottom (the track
/// there is within 0.05 m of its lowest point; Gymnasium's resets, -0.6..-0.4, all fall in it).
const BOTTOM_HALF_WIDTH: f64 = 0.15;
/// Speed (position units per step; the cap is 0.07) below which the car counts as still.
const STILL_SPEED: f64 = 0.002;

/// Number of cuboid segments the track is drawn with.
const SEGMENTS: usize = 40;
/// Thickness of the grass surface segments (m); thick enough to cover the steps between
/// the flat-topped dirt columns under them.
const SURFACE_THICKNESS: f32 = 0.06;
/// Depth (along Z) of the hill, half of it (m).
const HILL_HALF_DEPTH: f32 = 0.25;
/// Wheel radius (m); wheel centres sit this far above the track along its normal.
const WHEEL_RADIUS: f32 = 0.035;
/// Half extents of the car body (m).
const BODY_HALF: [f32; 3] = [0.1, 0.035, 0.07];
/// Distance from the track to the body's centre along the track's normal (m).
const BODY_LIFT: f32 = WHEEL_RADIUS + BODY_HALF[1];

/// The Hamilton product `a * b` of quaternions `[x, y, z, w]` (apply `b`, then `a`).
fn quat_mul(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    let [ax, ay, az, aw] = a;
    let [bx, by, bz, bw] = b;
    [
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ]
}

/// A rotation of `angle` radians about +Z (tilts +X towards +Y).
fn about_z(angle: f32) -> [f32; 4] {
    let (s, c) = (angle / 2.0).sin_cos();
    [0.0, 0.0, s, c]
}

/// What a MountainCar state looks like: a grass-topped dirt hill `y = sin(3x) * 0.45 + 0.55`
/// over `x` in [-1.2, 0.6] on a grass field, a yellow flag at the goal `x = 0.5`, and a red
/// car with two wheels standing on the track at `position`, tilted to its slope; seen from
/// the side (camera `side`, looking along -Z with +X to the right). `velocity` does not
/// change the picture. Always the same 87 objects in the same order; only the car's four
/// (`car`, `cabin`, `wheel_rear`, `wheel_front`) move.
pub fn mountain_car_scene(position: f64, velocity: f64) -> Scene {
    scene_with_goal(position, velocity, GOAL_POSITION)
}

/// [`mountain_car_scene`] with the flag at `goal`.
fn scene_with_goal(position: f64, _velocity: f64, goal: f64) -> Scene {
    let obj = |name: String, shape, pose, material, dynamic| SceneObject { name, shape, pose, material, dynamic };
    let mut objects = vec![obj(
        "ground".into(),
        Shape::Plane { half_size: [20.0, 20.0] },
        Pose::IDENTITY,
        Material::color(0.3, 0.55, 0.25),
        false,
    )];
    // The track: per segment a dirt column from the ground up to the segment's lower end,
    // and a grass slab along the chord with its top face on the curve.
    let dx = (MAX_POSITION - MIN_POSITION) / SEGMENTS as f64;
    for i in 0..SEGMENTS {
        let (x0, x1) = (MIN_POSITION + i as f64 * dx, MIN_POSITION + (i + 1) as f64 * dx);
        let (y0, y1) = (hill_height(x0), hill_height(x1));
        let low = y0.min(y1) as f32;
        objects.push(obj(
            format!("hill_{i}"),
            Shape::Cuboid { half_extents: [dx as f32 / 2.0, low / 2.0, HILL_HALF_DEPTH] },
            Pose::from_translation([((x0 + x1) / 2.0) as f32, low / 2.0, 0.0]),
            Material::textured("dirt", 0.5),
            false,
        ));
        let angle = (y1 - y0).atan2(x1 - x0) as f32;
        let half_len = (x1 - x0).hypot(y1 - y0) as f32 / 2.0;
        let (s, c) = angle.sin_cos();
        let h = SURFACE_THICKNESS / 2.0;
        let mid = [((x0 + x1) / 2.0) as f32, ((y0 + y1) / 2.0) as f32];
        objects.push(obj(
            format!("track_{i}"),
            // A little longer than the chord so neighbours overlap at the joints.
            Shape::Cuboid { half_extents: [half_len + 0.004, h, HILL_HALF_DEPTH + 0.002] },
            // The top face on the chord: the centre half a thickness below it, along the normal.
            Pose::from_axis_angle([mid[0] + h * s, mid[1] - h * c, 0.0], [0.0, 0.0, 1.0], angle),
            Material::textured("grass", 0.5),
            false,
        ));
    }
    // The flag at the goal.
    let (gx, gy) = (goal as f32, hill_height(goal) as f32);
    let pole_len = 0.28;
    objects.push(obj(
        "flagpole".into(),
        Shape::Cylinder { radius: 0.012, half_height: pole_len / 2.0 },
        Pose::from_translation([gx, gy + pole_len / 2.0, 0.0]),
        Material::color(0.85, 0.85, 0.85),
        false,
    ));
    objects.push(obj(
        "flag".into(),
        Shape::Cuboid { half_extents: [0.07, 0.045, 0.006] },
        Pose::from_translation([gx + 0.07, gy + pole_len - 0.045, 0.0]),
        Material::color(0.95, 0.85, 0.05),
        false,
    ));
    // The car: on the curve at `position`, its local +X along the tangent, +Y along the normal.
    let (x, y) = (position as f32, hill_height(position) as f32);
    let angle = hill_angle(position) as f32;
    let (s, c) = angle.sin_cos();
    let (tangent, normal) = ([c, s], [-s, c]);
    let at = |along: f32, up: f32, z: f32| {
        [x + along * tangent[0] + up * normal[0], y + along * tangent[1] + up * normal[1], z]
    };
    let tilt = about_z(angle);
    objects.push(obj(
        "car".into(),
        Shape::Cuboid { half_extents: BODY_HALF },
        Pose { translation: at(0.0, BODY_LIFT, 0.0), rotation: tilt },
        Material::color(0.85, 0.12, 0.1),
        true,
    ));
    objects.push(obj(
        "cabin".into(),
        Shape::Cuboid { half_extents: [0.05, 0.025, 0.06] },
        Pose { translation: at(-0.015, BODY_LIFT + BODY_HALF[1] + 0.025, 0.0), rotation: tilt },
        Material::color(0.25, 0.3, 0.4),
        true,
    ));
    // Wheels: cylinders turned from +Y onto +Z (towards the camera), then tilted with the car.
    let axle = quat_mul(tilt, [std::f32::consts::FRAC_1_SQRT_2, 0.0, 0.0, std::f32::consts::FRAC_1_SQRT_2]);
    for (name, along) in [("wheel_rear", -0.062), ("wheel_front", 0.062)] {
        objects.push(obj(
            name.into(),
            Shape::Cylinder { radius: WHEEL_RADIUS, half_height: 0.012 },
            Pose { translation: at(along, WHEEL_RADIUS, BODY_HALF[2] + 0.006), rotation: axle },
            Material::color(0.08, 0.08, 0.08),
            true,
        ));
    }
    Scene {
        objects,
        cameras: vec![Camera {
            name: "side".into(),
            eye: [-0.3, 0.8, 2.65],
            target: [-0.3, 0.58, 0.0],
            up: [0.0, 1.0, 0.0],
            fov_y_deg: 45.0,
            ortho_height: None,
        }],
        sun_direction: [-0.3, -1.0, -0.4],
        sky_color: [0.55, 0.7, 0.9],
    }
}

/// The true facts of a MountainCar state, several phrasings each: where the car is
/// (`car.at_goal` at `position >= 0.5`; `car.bottom` within 0.15 of the valley's lowest
/// point `-pi/6`, about -0.52; `car.left_slope` left of that; `car.right_slope` between it
/// and the goal) and how it moves (`motion.still` for `|velocity| < 0.002`, the speed cap
/// being 0.07; otherwise `motion.right` or `motion.left` by its sign).
pub fn mountain_car_captions(position: f64, velocity: f64) -> Vec<Caption> {
    captions_with_goal(position, velocity, GOAL_POSITION)
}

/// [`mountain_car_captions`] with the goal at `goal`.
fn captions_with_goal(position: f64, velocity: f64, goal: f64) -> Vec<Caption> {
    let place = if position >= goal {
        Caption::from_templates(
            "car.at_goal",
            &[
                "the {car|vehicle} has reached the flag on top of the right hill",
                "the {car|vehicle} is at the flag",
                "the {car|vehicle} made it to the top of the {hill|right hill}",
                "a {car|vehicle} beside the flag at the top",
                "the flag has been reached by the {car|vehicle}",
                "the {car|vehicle} is no longer in the valley but up at the flag",
                // The climb done, against the right slope's climb still going on.
                "the right hill has been climbed by the {car|vehicle}",
                "the {car|vehicle} is at the top of the right hill, by the flag",
                "the {car|vehicle} climbed the right hill and stopped at the flag",
                "no more climbing: the {car|vehicle} is at the top",
            ],
        )
    } else if (position - VALLEY_BOTTOM).abs() <= BOTTOM_HALF_WIDTH {
        Caption::from_templates(
            "car.bottom",
            &[
                "the {car|vehicle} is at the bottom of the valley",
                "the {car|vehicle} sits in the valley between the two hills",
                "the {car|vehicle} is at the lowest point of the {track|road}",
                "a {car|vehicle} down in the valley",
                "the valley floor is where the {car|vehicle} is",
                "the {car|vehicle} is not on either hill but between them",
            ],
        )
    } else if position < VALLEY_BOTTOM {
        Caption::from_templates(
            "car.left_slope",
            &[
                "the {car|vehicle} is up on the left hill",
                "the {car|vehicle} is on the slope of the left hill, away from the flag",
                "the {car|vehicle} is on the left hillside",
                "a {car|vehicle} climbing the left slope",
                "the left hill has the {car|vehicle} on it",
                "the {car|vehicle} is not near the flag but on the left hill",
            ],
        )
    } else {
        Caption::from_templates(
            "car.right_slope",
            &[
                "the {car|vehicle} is partway up the right hill",
                "the {car|vehicle} is on the slope below the flag",
                "the {car|vehicle} is on the right hillside, short of the flag",
                "a {car|vehicle} halfway up the right slope",
                "the right hill is being climbed by the {car|vehicle}",
                "the {car|vehicle} has not yet reached the flag",
                "the {car|vehicle} is still climbing the right hill",
                "the {car|vehicle} is heading up the right hill, short of the top",
                "the top of the right hill is still above the {car|vehicle}",
            ],
        )
    };
    let motion = if velocity.abs() < STILL_SPEED {
        Caption::from_templates(
            "motion.still",
            &[
                "the {car|vehicle} is {standing still|stationary}",
                "the {car|vehicle} is not moving",
                "the {car|vehicle} has {stopped|come to rest}",
                "a {motionless|still} {car|vehicle}",
                "no movement: the {car|vehicle} is at rest",
            ],
        )
    } else if velocity > 0.0 {
        Caption::from_templates(
            "motion.right",
            &[
                "the {car|vehicle} is {moving|rolling} to the right",
                "the {car|vehicle} is driving right, towards the flag",
                "the {car|vehicle} is heading {right|rightwards}",
                "a {car|vehicle} moving towards the flag",
                "the {car|vehicle} is not going left but right",
            ],
        )
    } else {
        Caption::from_templates(
            "motion.left",
            &[
                "the {car|vehicle} is {moving|rolling} to the left",
                "the {car|vehicle} is rolling left, away from the flag",
                "the {car|vehicle} is heading {left|leftwards}",
                "a {car|vehicle} moving away from the flag",
                "the {car|vehicle} is not going right but left",
            ],
        )
    };
    vec![place, motion]
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
        Ok(Step {
            obs: self.obs(),
            reward: -1.0,
            terminated,
            truncated: false,
            info: with_success(self.state(), terminated),
        })
    }

    fn scene(&self) -> Option<Scene> {
        self.state.map(|[p, v]| mountain_car_scene(p, v))
    }

    fn captions(&self) -> Vec<Caption> {
        self.state.map(|[p, v]| mountain_car_captions(p, v)).unwrap_or_default()
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
        Ok(Step { obs: self.obs(), reward, terminated, truncated: false, info: with_success(self.state(), terminated) })
    }

    fn scene(&self) -> Option<Scene> {
        self.state().map(|[p, v]| scene_with_goal(p, v, GOAL_POSITION_CONTINUOUS))
    }

    fn captions(&self) -> Vec<Caption> {
        self.state().map(|[p, v]| captions_with_goal(p, v, GOAL_POSITION_CONTINUOUS)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(position: f64, velocity: f64) -> Vec<String> {
        mountain_car_captions(position, velocity).into_iter().map(|c| c.fact).collect()
    }

    #[test]
    fn captions_say_where_the_car_is_and_how_it_moves() {
        assert_eq!(facts(-0.5, 0.0), ["car.bottom", "motion.still"]);
        assert_eq!(facts(-0.52, 0.01), ["car.bottom", "motion.right"]);
        assert_eq!(facts(-1.0, -0.02), ["car.left_slope", "motion.left"]);
        assert_eq!(facts(-1.2, 0.0), ["car.left_slope", "motion.still"]);
        assert_eq!(facts(0.1, 0.03), ["car.right_slope", "motion.right"]);
        assert_eq!(facts(0.49, -0.001), ["car.right_slope", "motion.still"]);
        assert_eq!(facts(0.5, 0.04), ["car.at_goal", "motion.right"]);
        assert_eq!(facts(0.6, 0.0), ["car.at_goal", "motion.still"]);
        // The continuous env's goal is 0.45.
        let f: Vec<String> =
            captions_with_goal(0.46, 0.01, GOAL_POSITION_CONTINUOUS).into_iter().map(|c| c.fact).collect();
        assert_eq!(f, ["car.at_goal", "motion.right"]);
        let heldout = crate::scene::heldout_sentences("mountaincar.toml");
        for (p, v) in [(-1.1, -0.05), (-0.5, 0.0), (0.2, 0.05), (0.55, 0.0), (-0.3, -0.01)] {
            crate::scene::assert_none_heldout(mountain_car_captions(p, v), &heldout);
            for c in mountain_car_captions(p, v) {
                assert!(c.phrasings.len() >= 10, "{}", c.fact);
            }
        }
    }

    #[test]
    fn the_scene_keeps_its_objects_and_puts_the_car_on_the_curve() {
        let names = |s: &Scene| s.objects.iter().map(|o| o.name.clone()).collect::<Vec<_>>();
        let first = mountain_car_scene(-0.5, 0.0);
        assert!(first.camera("side").is_some());
        assert_eq!(first.objects.len(), 1 + 2 * SEGMENTS + 2 + 4);
        for (p, v) in [(-1.2, 0.0), (-0.9, -0.03), (-0.2, 0.02), (0.3, 0.07), (0.6, 0.0)] {
            let s = mountain_car_scene(p, v);
            assert_eq!(names(&s), names(&first));
            // Only the car's parts move.
            for (a, b) in s.objects.iter().zip(&first.objects) {
                assert_eq!(a.dynamic, b.dynamic, "{}", a.name);
                if !a.dynamic {
                    assert_eq!(a, b);
                }
            }
            let car = s.object("car").unwrap();
            let [qx, qy, qz, qw] = car.pose.rotation;
            // The car's local +X (rotated) runs along the track's tangent ...
            let fwd = [1.0 - 2.0 * (qy * qy + qz * qz), 2.0 * (qx * qy + qw * qz)];
            let slope = 1.35 * (3.0 * p).cos();
            assert!((fwd[1] / fwd[0] - slope as f32).abs() < 1e-4, "{p}: {fwd:?} vs {slope}");
            // ... and its centre is BODY_LIFT above the curve point at `position`, along the normal.
            let normal = [-fwd[1], fwd[0]];
            let foot =
                [car.pose.translation[0] - BODY_LIFT * normal[0], car.pose.translation[1] - BODY_LIFT * normal[1]];
            assert!((foot[0] - p as f32).abs() < 1e-5, "{p}: {foot:?}");
            assert!((foot[1] - hill_height(p) as f32).abs() < 1e-5, "{p}: {foot:?}");
            // The wheels touch the track: their centres are one radius above the tangent line.
            for w in ["wheel_rear", "wheel_front"] {
                let t = s.object(w).unwrap().pose.translation;
                let d = (t[0] - foot[0]) * normal[0] + (t[1] - foot[1]) * normal[1];
                assert!((d - WHEEL_RADIUS).abs() < 1e-5, "{w}: {d}");
            }
        }
        // The flag stands at the goal, on the hill.
        let pole = first.object("flagpole").unwrap().pose.translation;
        assert_eq!(pole[0], GOAL_POSITION as f32);
        assert!(pole[1] > hill_height(GOAL_POSITION) as f32);
    }

    #[test]
    fn both_envs_describe_themselves_once_reset() {
        let mut d = MountainCar::new(0.0);
        assert!(d.scene().is_none() && d.captions().is_empty());
        d.reset(Some(0), &Options::new()).unwrap();
        assert!(d.scene().is_some());
        assert_eq!(d.captions()[0].fact, "car.bottom");
        let mut c = MountainCarContinuous::new(0.0);
        c.reset(Some(0), &Options::new()).unwrap();
        let flag = c.scene().unwrap().object("flagpole").unwrap().pose.translation[0];
        assert_eq!(flag, GOAL_POSITION_CONTINUOUS as f32);
        c.step(&Value::Box(vec![1.0])).unwrap();
        assert_eq!(c.scene().unwrap().objects.len(), d.scene().unwrap().objects.len());
    }

    #[test]
    fn a_step_says_success_exactly_when_it_reaches_the_goal() {
        let mut opts = Options::new();
        opts.insert("init_state".into(), serde_json::json!([0.44, 0.05]));
        let mut c = MountainCarContinuous::new(0.0);
        c.reset(Some(0), &opts).unwrap();
        let s = c.step(&Value::Box(vec![1.0])).unwrap();
        assert!(s.terminated && s.info["success"] == true, "{:?}", s.info);
        let mut d = MountainCar::new(0.0);
        d.reset(Some(0), &Options::new()).unwrap();
        let s = d.step(&Value::Discrete(2)).unwrap();
        assert!(!s.terminated && s.info["success"] == false, "{:?}", s.info);
    }
}
