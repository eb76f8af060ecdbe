//! The manipulation family's registry entries (50-step episodes at 20 Hz, as ManiSkill3's;
//! the `front` reward camera) and ArmPushCube's state sampler.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::{Arm, Task};
use crate::env::{Info, Options};
use crate::metadata::{EnvMetadata, ResetPlan, StateSampler};
use crate::registry::{boxed, EnvSpec};
use crate::spaces::{Space, Value};

/// Move the Panda's TCP to a goal point.
pub const ARM_REACH_ID: &str = "ArmReach-v0";
/// Push a cube into a goal disc (ManiSkill3's PushCube-v1).
pub const ARM_PUSH_ID: &str = "ArmPushCube-v0";
/// Pick a cube up and hold it at a goal (ManiSkill3's PickCube-v1).
pub const ARM_PICK_ID: &str = "ArmPickCube-v0";

/// The registry entries of the manipulation envs.
pub fn specs() -> Vec<EnvSpec> {
    let meta = EnvMetadata::default().render_fps(super::CONTROL_HZ as f64).reward_camera("front");
    let spec = |id: &str, description: &str, task: Task| {
        let meta = if task == Task::PushCube { meta.clone().sampler(PushSampler) } else { meta.clone() };
        EnvSpec::new(id, description, move |k| boxed(Arm::from_kwargs(task, k))).max_episode_steps(50).metadata(meta)
    };
    vec![
        spec(
            ARM_REACH_ID,
            "Franka Panda: move the gripper to a goal point (state obs, 4-dim TCP control)",
            Task::Reach,
        ),
        spec(
            ARM_PUSH_ID,
            "Franka Panda: push a cube into a goal disc (ManiSkill3 PushCube-v1 semantics)",
            Task::PushCube,
        ),
        spec(
            ARM_PICK_ID,
            "Franka Panda: pick a cube and hold it at a goal (ManiSkill3 PickCube-v1 semantics)",
            Task::PickCube,
        ),
    ]
}

/// ArmPushCube states for reward-model datasets and `reward-check`: the cube placed in the
/// goal disc (success), far from it, or in between (with `hard_cases`, right at the disc's
/// rim), then a few small random arm moves. Labels: "the cube is on the target" (success)
/// against "the cube is far from the target".
pub struct PushSampler;

impl StateSampler for PushSampler {
    fn plan(&self, rng: &mut ChaCha8Rng, hard_cases: bool) -> ResetPlan {
        let cube = [rng.random_range(-0.1..0.1f64), rng.random_range(-0.1..0.1f64)];
        let scenario = rng.random_range(0..if hard_cases { 12 } else { 10 });
        let (r, spread) = match scenario {
            0..4 => (rng.random_range(0.0..0.08), std::f64::consts::PI),
            4..8 => (rng.random_range(0.16..0.3), 1.0),
            8..10 => (rng.random_range(0.08..0.16), 1.0),
            _ => (rng.random_range(0.09..0.11), std::f64::consts::PI),
        };
        let angle: f64 = rng.random_range(-spread..spread);
        let goal = [(cube[0] + r * angle.cos()).clamp(-0.45, 0.45), (cube[1] + r * angle.sin()).clamp(-0.45, 0.45)];
        let mut options = Options::new();
        options.insert("cube_xy".into(), json!(cube));
        options.insert("goal_xy".into(), json!(goal));
        ResetPlan { options, steps: 4, record_every: 2, record_reset: true }
    }

    /// Small random moves, so the arm seldom knocks the cube away.
    fn action(&self, space: &Space, rng: &mut ChaCha8Rng) -> Value {
        Value::Box((0..space.flatdim()).map(|_| rng.random_range(-0.3..0.3f32)).collect())
    }

    fn success(&self, info: &Info, _terminated: bool) -> bool {
        info.get("success").and_then(|s| s.as_bool()).unwrap_or(false)
    }

    fn label(&self, facts: &[&str], success: bool) -> Option<bool> {
        if success && facts.contains(&"cube.on_target") {
            Some(true)
        } else if facts.contains(&"cube.far_from_target") {
            Some(false)
        } else {
            None
        }
    }
}
