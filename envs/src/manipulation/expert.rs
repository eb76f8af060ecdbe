//! A scripted expert for every arm task: a waypoint rule on the true state (where the TCP,
//! cube and goal are), turned into the env's action through the TCP position delta
//! (`pd_ee_delta_pos`) or through inverse kinematics (`pd_joint_delta_pos`, which can also
//! turn the hand to the cube's yaw before a grasp). For tests, baselines and datasets.

use super::{dist, dist_xy, Arm, ArmState, ControlMode, Sim, Task, CUBE_HALF};
use crate::error::{EnvError, Result};
use crate::spaces::Value;

/// Height of the TCP when pushing (the fingertips clear the table by ~6 mm).
const PUSH_Z: f32 = 0.015;
/// Largest TCP move the expert asks for in one step, metres.
const MAX_MOVE: f32 = 0.05;

/// Where the TCP should go next and whether the gripper should be open.
fn waypoint(task: Task, s: &ArmState) -> ([f32; 3], bool) {
    let (t, c, g) = (s.tcp, s.cube, s.goal);
    match task {
        Task::Reach => (g, true),
        Task::PushCube => {
            // Behind the cube's rear face and in line with it: push (descending first when
            // still high); otherwise go around above it.
            let behind = t[0] < c[0] - CUBE_HALF + 0.002 && (t[1] - c[1]).abs() < 0.02;
            if !behind {
                if t[2] < 0.06 && dist_xy(t, c) < 0.1 {
                    return ([t[0], t[1], 0.1], false);
                }
                return ([c[0] - 0.06, c[1], 0.1], false);
            }
            if t[2] > PUSH_Z + 0.015 {
                return ([t[0].min(c[0] - 0.045), c[1], PUSH_Z], false);
            }
            ([g[0] - CUBE_HALF, c[1], PUSH_Z], false)
        }
        Task::PickCube => {
            if s.grasped {
                return (g, false);
            }
            let over = dist_xy(t, c) < 0.008;
            if over && (t[2] - c[2]).abs() < 0.006 {
                return (c, false);
            }
            if over {
                return (c, true);
            }
            if t[2] < c[2] + 0.04 && dist(t, c) < 0.08 {
                return ([t[0], t[1], c[2] + 0.08], true);
            }
            ([c[0], c[1], c[2] + 0.08], true)
        }
    }
}

/// The hand orientation that lines the fingers up with the cube's faces: the current one
/// turned about the vertical by the cube's yaw relative to the hand, folded into
/// [-45, 45] degrees.
fn aligned_rotation(s: &ArmState) -> [f32; 4] {
    let yaw_of = |q: [f32; 4]| {
        let [x, y, z, w] = q;
        (2.0 * (w * z + x * y)).atan2(1.0 - 2.0 * (y * y + z * z))
    };
    let quarter = std::f32::consts::FRAC_PI_2;
    let mut d = (yaw_of(s.cube_rot) - yaw_of(s.tcp_rot)).rem_euclid(quarter);
    if d > quarter / 2.0 {
        d -= quarter;
    }
    let (sin, cos) = (d / 2.0).sin_cos();
    let turn = crate::scene::Pose { translation: [0.0; 3], rotation: [0.0, 0.0, sin, cos] };
    turn.compose(&crate::scene::Pose { translation: [0.0; 3], rotation: s.tcp_rot }).rotation
}

impl Arm {
    /// The scripted expert's action for the current state (see the module doc of
    /// `expert`). Errors before the first reset.
    pub fn expert_action(&self) -> Result<Value> {
        let sim = self.sim.as_ref().ok_or(EnvError::ResetNeeded)?;
        Ok(Value::Box(expert(self.config.task, self.config.control_mode, sim)))
    }
}

fn expert(task: Task, mode: ControlMode, sim: &Sim) -> Vec<f32> {
    let s = &sim.state;
    let (target, open) = waypoint(task, s);
    let mut delta = [target[0] - s.tcp[0], target[1] - s.tcp[1], target[2] - s.tcp[2]];
    let len = (delta[0].powi(2) + delta[1].powi(2) + delta[2].powi(2)).sqrt();
    if len > MAX_MOVE {
        delta = delta.map(|d| d * MAX_MOVE / len);
    }
    let gripper = if open { 1.0 } else { -1.0 };
    match mode {
        ControlMode::EeDeltaPos => {
            vec![
                (delta[0] / 0.1).clamp(-1.0, 1.0),
                (delta[1] / 0.1).clamp(-1.0, 1.0),
                (delta[2] / 0.1).clamp(-1.0, 1.0),
                gripper,
            ]
        }
        ControlMode::JointDeltaPos => {
            let (p, r) = sim.tcp_base;
            let rot = if task == Task::PickCube && !s.grasped { aligned_rotation(s) } else { r };
            let goal = [p[0] + delta[0], p[1] + delta[1], p[2] + delta[2]];
            let q = sim.tcp.inverse(&s.qpos, goal, rot, 30).0;
            // Scale the joint step as a whole (not per joint) so it keeps its direction.
            let mut a: Vec<f32> = (0..7).map(|i| (q[i] - s.qpos[i]) / 0.1).collect();
            let peak = a.iter().fold(1.0f32, |m, x| m.max(x.abs()));
            a.iter_mut().for_each(|x| *x /= peak);
            a.push(gripper);
            a
        }
    }
}
