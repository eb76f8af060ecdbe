//! The manipulation family's registry entries: 50-step episodes at 20 Hz, as ManiSkill3's.

use super::{Arm, Task};
use crate::metadata::EnvMetadata;
use crate::registry::{boxed, EnvSpec};

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
        EnvSpec::new(id, description, move |k| boxed(Arm::from_kwargs(task, k)))
            .max_episode_steps(50)
            .metadata(meta.clone())
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
