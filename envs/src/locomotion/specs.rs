//! The locomotion family's registry entries: 1,000-step episodes, played at the model's
//! control rate; and `HumanoidPose-v0` (VLM-RMs' humanoid: 100 steps, the `front` camera,
//! pose captions, a state sampler and the `humanoid_vlmrm` reward config).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::{Body, Legged, LeggedConfig};
use crate::env::{Info, Options};
use crate::metadata::{EnvMetadata, ResetPlan, StateSampler};
use crate::registry::{boxed, EnvSpec};
use crate::spaces::{Space, Value};

/// VLM-RMs' humanoid: hold a pose named by a text goal.
pub const HUMANOID_POSE_ID: &str = "HumanoidPose-v0";

/// The registry entries of the locomotion envs.
pub fn specs() -> Vec<EnvSpec> {
    let spec = |description: &str, body: Body, fps: f64| {
        EnvSpec::new(body.env_id(), description, move |k| boxed(Legged::from_kwargs(body, k)))
            .max_episode_steps(1000)
            .metadata(EnvMetadata::default().render_fps(fps))
    };
    let pose = EnvMetadata::default()
        .render_fps(66.66666666666667)
        .reward_camera("front")
        .reward_config("humanoid_vlmrm")
        .sampler(HumanoidPoseSampler);
    vec![
        spec("Gymnasium's ant on rapier: walk forward (Ant-v5's terms)", Body::Ant, 20.0),
        spec("Gymnasium's half cheetah on rapier: run forward (HalfCheetah-v5's terms)", Body::HalfCheetah, 20.0),
        spec("Gymnasium's hopper on rapier: hop forward (Hopper-v5's terms)", Body::Hopper, 125.0),
        spec("Gymnasium's walker on rapier: walk forward (Walker2d-v5's terms)", Body::Walker2d, 125.0),
        spec("Gymnasium's humanoid on rapier: walk forward (Humanoid-v5's terms)", Body::Humanoid, 66.66666666666667),
        EnvSpec::new(
            HUMANOID_POSE_ID,
            "VLM-RMs' humanoid: take a pose a text goal names (100 steps, never ends early)",
            |k| boxed(Legged::new(LeggedConfig::humanoid_pose(k)?)),
        )
        .max_episode_steps(100)
        .metadata(pose),
    ]
}

/// Indices into the humanoid's `qpos` (MuJoCo's layout: x, y, z, quaternion w x y z, then
/// the hinges in `humanoid.xml`'s order).
mod q {
    pub const Z: usize = 2;
    pub const QUAT: usize = 3;
    pub const ABDOMEN_Y: usize = 8;
    /// Right leg: hip_x, hip_z, hip_y, knee; the left leg's follow at +4.
    pub const RIGHT_HIP_X: usize = 10;
    pub const LEFT_HIP_X: usize = 14;
    /// Right arm: shoulder1, shoulder2, elbow; the left arm's follow at +3.
    pub const RIGHT_SHOULDER1: usize = 18;
    pub const LEN: usize = 24;
}

/// The humanoid's hinge ranges, degrees, in `qpos` order from index 7.
const RANGES: [(f64, f64); 17] = [
    (-45.0, 45.0),
    (-75.0, 30.0),
    (-35.0, 35.0),
    (-25.0, 5.0),
    (-60.0, 35.0),
    (-110.0, 20.0),
    (-160.0, -2.0),
    (-25.0, 5.0),
    (-60.0, 35.0),
    (-110.0, 20.0),
    (-160.0, -2.0),
    (-85.0, 60.0),
    (-85.0, 60.0),
    (-90.0, 50.0),
    (-60.0, 85.0),
    (-60.0, 85.0),
    (-90.0, 50.0),
];

/// Humanoid states for reward-model datasets and `reward-check`: a leg posture (standing,
/// kneeling on both knees or one, sitting with the legs out, cross-legged, lying on the
/// back or front, on one leg, legs spread, or every hinge at random) with the arms at
/// random, set on the floor (`qpos` and `on_floor` reset options), then a few steps of
/// small random torques, so the body sags and settles as a policy's would. Captions come
/// from the geometry whatever was aimed for. Labels: the env's `pose` fact (default
/// kneeling, VLM-RMs' "a humanoid robot kneeling" task) against every other state.
pub struct HumanoidPoseSampler;

fn rad(deg: f64) -> f64 {
    deg.to_radians()
}

/// Adds hip_x, hip_z, hip_y and knee angles (degrees) to one leg of `q`.
fn bend_leg(q: &mut [f64], left: bool, hip_x: f64, hip_z: f64, hip_y: f64, knee: f64) {
    let i = if left { q::LEFT_HIP_X } else { q::RIGHT_HIP_X };
    for (k, v) in [hip_x, hip_z, hip_y, knee].into_iter().enumerate() {
        q[i + k] += rad(v);
    }
}

/// [`bend_leg`] on both legs.
fn bend_legs(q: &mut [f64], hip_x: f64, hip_z: f64, hip_y: f64, knee: f64) {
    bend_leg(q, false, hip_x, hip_z, hip_y, knee);
    bend_leg(q, true, hip_x, hip_z, hip_y, knee);
}

impl HumanoidPoseSampler {
    /// A `qpos` of posture `kind` (see the type's doc), arms random.
    fn qpos(kind: u32, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let mut q = vec![0.0; q::LEN];
        q[q::Z] = 1.4;
        q[q::QUAT] = 1.0;
        for v in q[7..].iter_mut() {
            *v = rad(rng.random_range(-5.0..5.0));
        }
        // Knees a little bent (their range ends at -2 degrees).
        q[q::RIGHT_HIP_X + 3] = rad(rng.random_range(-8.0..-3.0));
        q[q::LEFT_HIP_X + 3] = rad(rng.random_range(-8.0..-3.0));
        let r = rng.random_range(0.0..1.0f64);
        match kind {
            0 => {}
            1 => bend_legs(&mut q, 0.0, 0.0, -10.0 * r, -90.0 - 40.0 * r),
            2 => {
                bend_leg(&mut q, false, 0.0, 0.0, -5.0, -95.0);
                bend_leg(&mut q, true, 0.0, 0.0, -90.0, -90.0 + 10.0 * r);
            }
            3 => bend_legs(&mut q, 0.0, 0.0, -85.0 - 10.0 * r, -5.0 - 20.0 * r),
            4 => bend_legs(&mut q, -20.0, -45.0 - 10.0 * r, -80.0, -145.0),
            5 | 6 => {
                // On the back (-90 degrees about y: the face up) or the front.
                let a = rad(if kind == 5 { -45.0 } else { 45.0 });
                q[q::QUAT] = a.cos();
                q[q::QUAT + 2] = a.sin();
                bend_legs(&mut q, 0.0, 0.0, -20.0 * r, -10.0 * r);
            }
            7 => bend_leg(&mut q, rng.random_bool(0.5), 0.0, 0.0, -40.0 - 40.0 * r, -90.0),
            8 => {
                bend_leg(&mut q, false, 0.0, 0.0, -100.0, -5.0);
                bend_leg(&mut q, true, -20.0, 0.0, 18.0, -5.0);
            }
            _ => {
                for (k, (lo, hi)) in RANGES.iter().enumerate().skip(3) {
                    q[7 + k] = rad(rng.random_range(*lo..*hi));
                }
                q[q::ABDOMEN_Y] = rad(rng.random_range(-40.0..20.0));
            }
        }
        for k in 0..6 {
            let (lo, hi) = RANGES[q::RIGHT_SHOULDER1 - 7 + k];
            q[q::RIGHT_SHOULDER1 + k] = rad(rng.random_range(lo..hi));
        }
        q
    }
}

impl StateSampler for HumanoidPoseSampler {
    fn plan(&self, rng: &mut ChaCha8Rng, hard_cases: bool) -> ResetPlan {
        // Kneeling (both knees, one knee) takes 2 in 10 draws, the others 1 each; hard
        // cases add kneeling's near misses: a deep crouch (the knees off the floor) and
        // on all fours (on the knees, the back leaning far forward).
        let kind = rng.random_range(0..if hard_cases { 12 } else { 10 });
        let mut qpos = Self::qpos(if kind >= 10 { 0 } else { kind }, rng);
        if kind == 10 {
            bend_legs(&mut qpos, 0.0, 0.0, -100.0, -125.0);
        } else if kind == 11 {
            // Pitched forward by `lean` about y, the thighs kept vertical.
            let lean = rng.random_range(55.0..85.0f64);
            qpos[q::QUAT] = rad(lean / 2.0).cos();
            qpos[q::QUAT + 2] = rad(lean / 2.0).sin();
            bend_legs(&mut qpos, 0.0, 0.0, -lean, -90.0);
        }
        let mut options = Options::new();
        options.insert("qpos".into(), json!(qpos));
        options.insert("on_floor".into(), json!(true));
        ResetPlan { options, steps: 6, record_every: 3, record_reset: true }
    }

    /// Small random torques (a tenth of the range), so the pose holds roughly while it settles.
    fn action(&self, space: &Space, rng: &mut ChaCha8Rng) -> Value {
        Value::Box((0..space.flatdim()).map(|_| rng.random_range(-0.04..0.04f32)).collect())
    }

    fn success(&self, info: &Info, _terminated: bool) -> bool {
        info.get("success").and_then(|s| s.as_bool()).unwrap_or(false)
    }

    /// The env's success: whether its `pose` kwarg's fact holds (kneeling by default, as in
    /// `reward-check`'s datasets; a run's own pose under `eval --score-visited`).
    fn label(&self, _facts: &[&str], success: bool) -> Option<bool> {
        Some(success)
    }
}
