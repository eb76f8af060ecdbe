//! The manipulation family's registry entries (50-step episodes at 20 Hz, as ManiSkill3's;
//! the `workspace` reward camera, the arm key map, each task's reward config) and their
//! state sampler.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::{Arm, Task};
use crate::env::{Info, Options};
use crate::metadata::{keymaps, EnvMetadata, ResetPlan, StateSampler};
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
    let meta = EnvMetadata::default()
        .render_fps(super::CONTROL_HZ as f64)
        .reward_camera("workspace")
        .keyboard(keymaps::arm)
        .keyboard_help("arrows move the gripper  w/s raise/lower  g hold to grip");
    let spec = |id: &str, description: &str, task: Task| {
        let meta = meta.clone().sampler(ArmSampler(task)).reward_config(task.reward_config());
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

/// Arm states for reward-model datasets and `reward-check`, placed by reset options, then
/// a few small random arm moves. Cube tasks: the cube in the goal (a push's disc; a pick's
/// goal put down on the table next to it), far from it, or in between (with `hard_cases`,
/// right at the disc's rim); labels "the cube is on the target" (success) against "the
/// cube is far from the target". Half of a push's groups place the goal where the task
/// does (0.2 m ahead of a spawn in +x) with the cube on the way to it; the others anywhere
/// around the cube. The gripper starts at its rest pose (two plans in five),
/// right behind the cube as a push leaves it (one in five; the side away from the goal),
/// or anywhere over the workspace, so a reward model sees the cube with the gripper
/// beside, above or away from it. With `hard_cases`, cube tasks also get the cube far from
/// the goal with the gripper hovering over or resting on the goal (one group in five),
/// the state text-goal policies learnt to fake success with. Reach: the goal at the
/// gripper's start or far from it; labels "at the goal" against "far from the goal".
pub struct ArmSampler(pub Task);

/// Where the TCP starts (the rest pose), task frame.
const REST_TCP: [f64; 3] = [0.0, 0.0, 0.165];

impl StateSampler for ArmSampler {
    fn plan(&self, rng: &mut ChaCha8Rng, hard_cases: bool) -> ResetPlan {
        let mut options = Options::new();
        let scenario = rng.random_range(0..if hard_cases { 15 } else { 10 });
        if self.0 == Task::Reach {
            let (r, z) = match scenario {
                0..5 => (rng.random_range(0.0..0.015), REST_TCP[2] + rng.random_range(-0.01..0.01)),
                _ => (rng.random_range(0.15..0.3), rng.random_range(0.02..0.35)),
            };
            let angle: f64 = rng.random_range(-std::f64::consts::PI..std::f64::consts::PI);
            options.insert("goal_xy".into(), json!([REST_TCP[0] + r * angle.cos(), REST_TCP[1] + r * angle.sin()]));
            options.insert("goal_z".into(), json!(z));
            return ResetPlan { options, steps: 2, record_every: 2, record_reset: true };
        }
        let cube = [rng.random_range(-0.1..0.1f64), rng.random_range(-0.1..0.1f64)];
        let (near, far) = if self.0 == Task::PickCube { (0.015, 0.1) } else { (0.08, 0.16) };
        let (r, spread) = match scenario {
            0..4 => (rng.random_range(0.0..near), std::f64::consts::PI),
            4..8 => (rng.random_range(far..0.3), 1.0),
            8..10 => (rng.random_range(near..far), 1.0),
            10..12 => (rng.random_range(0.9 * near..1.1 * near), std::f64::consts::PI),
            _ => (rng.random_range(far..0.3), std::f64::consts::PI),
        };
        let angle: f64 = rng.random_range(-spread..spread);
        // Half of a push's groups lay the scene out as the task does: the goal 0.2 m ahead
        // of a spawn in +x (so out to x = 0.3, the arm near full stretch) and the cube on
        // its way there, mostly behind the goal. The rest put the goal around the cube.
        let task_layout = self.0 == Task::PushCube && scenario < 12 && rng.random_bool(0.5);
        let (cube, goal) = if task_layout {
            let goal = [cube[0] + 0.1 + f64::from(super::GOAL_RADIUS), cube[1]];
            let back = std::f64::consts::PI + angle;
            ([goal[0] + r * back.cos(), goal[1] + r * back.sin()], goal)
        } else if scenario < 12 {
            (cube, [(cube[0] + r * angle.cos()).clamp(-0.45, 0.45), (cube[1] + r * angle.sin()).clamp(-0.45, 0.45)])
        } else {
            // The goal first, where the gripper can reach down to it, the cube around it.
            let goal = [rng.random_range(-0.12..0.12), rng.random_range(-0.15..0.15)];
            ([(goal[0] + r * angle.cos()).clamp(-0.3, 0.3), (goal[1] + r * angle.sin()).clamp(-0.3, 0.3)], goal)
        };
        options.insert("cube_xy".into(), json!(cube));
        options.insert("goal_xy".into(), json!(goal));
        if self.0 == Task::PickCube {
            let z = if scenario < 4 { super::CUBE_HALF as f64 } else { rng.random_range(0.02..0.32) };
            options.insert("goal_z".into(), json!(z));
        }
        let tcp = match rng.random_range(0..5) {
            _ if scenario >= 12 => {
                // Over the goal, from resting on it to a hand's width above, the cube
                // elsewhere: it hides the goal marker as the cube on it would.
                let (dx, dy) = (rng.random_range(-0.02..0.02), rng.random_range(-0.02..0.02));
                Some([goal[0] + dx, goal[1] + dy, rng.random_range(0.015..0.1)])
            }
            0..2 => None,
            2 => {
                // Behind the cube, on the side away from the goal, fingers at cube height;
                // the rest pose where that is past what the reset's inverse kinematics
                // reaches (x > 0.14: only a push's stretched arm gets there).
                let (dx, dy) = (goal[0] - cube[0], goal[1] - cube[1]);
                let norm = (dx * dx + dy * dy).sqrt().max(1e-6);
                let back = rng.random_range(0.03..0.05);
                let z = rng.random_range(0.015..0.04);
                let p = [cube[0] - back * dx / norm, cube[1] - back * dy / norm, z];
                (p[0] <= 0.14).then_some(p)
            }
            _ => {
                let (x, y) = (rng.random_range(-0.15..0.15f64), rng.random_range(-0.2..0.2f64));
                let clear = ((x - cube[0]).powi(2) + (y - cube[1]).powi(2)).sqrt() > 0.045;
                let z = rng.random_range(if clear { 0.03 } else { 0.09 }..0.25);
                Some([x, y, z])
            }
        };
        if let Some(p) = tcp {
            options.insert("tcp_xyz".into(), json!(p));
        }
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
        let (good, bad) = match self.0 {
            Task::Reach => ("gripper.at_goal", "gripper.far_from_goal"),
            _ => ("cube.on_target", "cube.far_from_target"),
        };
        if success && facts.contains(&good) {
            Some(true)
        } else if facts.contains(&bad) {
            Some(false)
        } else {
            None
        }
    }
}
