//! Manipulation: the Franka Panda (ManiSkill3's `panda_v2.urdf`, loaded through
//! `rapier3d-urdf` as one multibody) on a table, with ManiSkill3's task semantics.
//!
//! * `ArmReach-v0`: move the tool centre point (TCP) to a random goal point; success within
//!   0.025 m. Dense reward `1 - tanh(5 d)`, 2 on success.
//! * `ArmPushCube-v0`: push a 4 cm cube into a goal disc 0.1 m + r ahead of it (r = 0.1);
//!   success when the cube's centre is within r of the goal in xy and the cube is on the
//!   table (its centre below 2.5 cm). Dense reward (ManiSkill3's PushCube-v1): reach the
//!   push point behind the cube `1 - tanh(5 d)`; once within 1 cm of it, plus the place term
//!   `1 - tanh(5 |cube_xy - goal_xy|)` and the place term times `1 - tanh(5 |cube_z - 0.02|)`;
//!   4 on success.
//! * `ArmPickCube-v0`: grasp the cube and hold it still at a goal up to 0.3 m above the
//!   table; success when the cube is within 0.025 m of the goal and no arm joint turns
//!   faster than 0.2 rad/s. Dense reward (ManiSkill3's PickCube-v1): reach + grasped +
//!   place-while-grasped + static-at-goal, 5 on success.
//!
//! All tasks: 50 steps; control at 20 Hz with 5 physics substeps (100 Hz); the arm's base at
//! x = -0.615 on a table whose top is z = 0 (Z up, metres); cube half-size 0.02 spawned at
//! xy in [-0.1, 0.1]; the arm starts at ManiSkill's rest pose plus N(0, 0.02) rad noise on
//! its seven joints. PD joint drives with ManiSkill's gains (stiffness 1e3, damping 1e2,
//! force limit 100, in force units) and ideal gravity compensation (links feel no gravity,
//! as ManiSkill's `balance_passive_force`); finger friction 2 (ManiSkill's gripper
//! material). Success terminates the cube tasks' episodes (ManiSkill3's default); a reach
//! runs its 50 steps (FetchReach's semantics: with termination, hovering just outside the
//! goal would pay more than reaching it). Rewards are reported
//! as ManiSkill3's default `normalized_dense` (the dense reward over its maximum) unless
//! the kwarg `reward_mode` says `dense` or `sparse`.
//!
//! Controllers (kwarg `control_mode`), actions normalised to [-1, 1]:
//! * `pd_ee_delta_pos` (default, 4-dim): TCP position delta in [-0.1, 0.1] m along the
//!   base's axes, turned into joint targets by damped-least-squares inverse kinematics that
//!   keeps the TCP's orientation; plus the gripper.
//! * `pd_joint_delta_pos` (8-dim): deltas in [-0.1, 0.1] rad on the seven arm joints, plus
//!   the gripper.
//!
//! The gripper's action maps [-1, 1] to a finger target in [-0.01, 0.04] m (closed to
//! open), both fingers alike (the URDF's `mimic`).
//!
//! Observations (state, ManiSkill3's order; poses as position + quaternion `[w, x, y, z]`):
//! qpos (9), qvel (9), then per task: reach: TCP pose (7), goal (3), goal - TCP (3) = 31;
//! push: TCP pose, goal, cube pose (7) = 35; pick: is_grasped (1), TCP pose, goal, cube
//! pose, cube - TCP (3), goal - cube (3) = 42.
//!
//! A grasp (ManiSkill3's `is_grasping`): both fingers press on the cube with at least 0.5 N,
//! each force within 85 degrees of that finger's closing direction.
//!
//! Scene (module [`scene`]): table, floor (a collider too, at [`FLOOR_Z`]), every link of
//! the arm (its meshes), the red cube and the green goal (a ball, or ManiSkill's ring target
//! for the push); cameras `front` (ManiSkill's render camera), `workspace` (closer over the
//! spawn area: the reward camera), `base`, `side`, `top`. Captions, ten or more phrasings
//! each: the gripper open or closed, at or far from the goal, the cube on or far from the
//! target, lifted, on the table or fallen off it, held, the gripper touching the cube or
//! above it.
//!
//! Reset options: `cube_xy` and `goal_xy` ([x, y], metres) and `goal_z` (reach, pick)
//! place the cube or the goal instead of sampling them, and `tcp_xyz` ([x, y, z]) starts the
//! gripper there (the arm's joints by inverse kinematics): states for reward-model datasets
//! and checks.
//!
//! `info`: `success`, `is_grasped`, the reward terms, and under [`crate::env::STATE_KEY`]
//! the distances: `tcp_to_goal`, `tcp_to_cube`, `tcp_to_push_point` (the push's: the point
//! just behind the cube, on the -x side the task pushes from; 0 for the other tasks),
//! `cube_to_goal`, `cube_height`, `is_grasped`, `success`.

mod expert;
pub mod scene;
mod specs;

use std::path::PathBuf;

use rand::Rng;
use rand_distr::{Distribution, Normal};
use vlmgym_physics::{BodyDesc, BodyId, Chain, ColliderDesc, DriveGains, Robot, RobotOptions, World, WorldConfig};

use crate::env::{state_object, ArgReader, Env, EnvRng, Info, Options, Step};
use crate::error::{EnvError, Result};
use crate::scene::{Caption, Scene};
use crate::spaces::{BoxSpace, Space, Value};

pub use specs::{specs, ARM_PICK_ID, ARM_PUSH_ID, ARM_REACH_ID};

/// Control steps per second.
pub const CONTROL_HZ: f32 = 20.0;
/// Physics substeps per control step (100 Hz physics).
pub const SUBSTEPS: u32 = 5;
/// Where the arm's base stands (x, metres).
pub const BASE_X: f32 = -0.615;
/// Half the cube's side, metres.
pub const CUBE_HALF: f32 = 0.02;
/// Height of the floor under the table, metres (ManiSkill3's table scene puts its ground at
/// -0.9196): a cube pushed off the table's edge comes to rest there. Its collider joins the
/// world the first time the cube drops below the tabletop, so an episode whose cube stays
/// on the table runs in exactly the world it ran in before there was a floor (any collider
/// the broad phase holds reorders the contacts, and a push's rounding with them: evaluated
/// with an ever-present floor, a text-goal policy's 100 episodes came out 38% successful
/// instead of 41%).
pub const FLOOR_Z: f32 = -0.92;
/// Radius of ArmPushCube's goal disc, metres.
pub const GOAL_RADIUS: f32 = 0.1;
/// Distance under which a reach or place counts as done, metres.
pub const GOAL_THRESH: f32 = 0.025;
/// ManiSkill3's Panda rest pose.
pub const REST_QPOS: [f32; 9] = [
    0.0,
    std::f32::consts::PI / 8.0,
    0.0,
    -std::f32::consts::PI * 5.0 / 8.0,
    0.0,
    std::f32::consts::PI * 3.0 / 4.0,
    std::f32::consts::PI / 4.0,
    0.04,
    0.04,
];
const ARM_GAINS: DriveGains = DriveGains { stiffness: 1e3, damping: 1e2, force_limit: 100.0 };
const FINGER_RANGE: [f32; 2] = [-0.01, 0.04];
const TCP_LINK: &str = "panda_hand_tcp";

/// Which task an [`Arm`] env poses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// TCP to a goal point.
    Reach,
    /// Push the cube into a goal disc.
    PushCube,
    /// Pick the cube up and hold it at a goal point.
    PickCube,
}

impl Task {
    fn has_cube(self) -> bool {
        self != Task::Reach
    }

    /// The built-in synthesis config a language reward uses by default for this task: the
    /// semantic score plus a reach term, at the cube for reach and pick, at the push point
    /// behind the cube for the push (with it, development runs pushed from text at 57%
    /// success after 140k steps, where a term at the cube's centre gave 15-23%;
    /// docs/results.md, twenty-first session).
    pub fn reward_config(self) -> &'static str {
        match self {
            Task::PushCube => "manipulation_push",
            Task::Reach | Task::PickCube => "manipulation_vlmrl",
        }
    }

    /// The reward on success (the dense reward's maximum).
    pub fn max_reward(self) -> f64 {
        match self {
            Task::Reach => 2.0,
            Task::PushCube => 4.0,
            Task::PickCube => 5.0,
        }
    }

    fn obs_dim(self) -> usize {
        18 + match self {
            Task::Reach => 13,
            Task::PushCube => 17,
            Task::PickCube => 24,
        }
    }
}

/// How actions move the arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlMode {
    /// TCP position deltas through inverse kinematics, plus the gripper (4-dim).
    EeDeltaPos,
    /// Arm joint deltas, plus the gripper (8-dim).
    JointDeltaPos,
}

impl ControlMode {
    /// The kwarg values, in the order of the variants.
    pub const NAMES: [&'static str; 2] = ["pd_ee_delta_pos", "pd_joint_delta_pos"];

    fn dim(self) -> usize {
        match self {
            ControlMode::EeDeltaPos => 4,
            ControlMode::JointDeltaPos => 8,
        }
    }
}

/// How the reward is reported (ManiSkill3's `reward_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewardMode {
    /// The dense reward.
    Dense,
    /// The dense reward divided by its maximum.
    NormalizedDense,
    /// 1 on success, else 0.
    Sparse,
}

impl RewardMode {
    /// The kwarg values, in the order of the variants.
    pub const NAMES: [&'static str; 3] = ["dense", "normalized_dense", "sparse"];
}

/// The settings of an [`Arm`] env.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmConfig {
    /// The task.
    pub task: Task,
    /// The controller.
    pub control_mode: ControlMode,
    /// The reward.
    pub reward_mode: RewardMode,
    /// Standard deviation of the start pose's joint noise, rad.
    pub qpos_noise: f32,
    /// Whether success ends the episode.
    pub terminate_on_success: bool,
}

impl ArmConfig {
    /// Reads the kwargs `control_mode`, `reward_mode`, `robot_init_qpos_noise`,
    /// `terminate_on_success` (default: true for the cube tasks, as ManiSkill3; false for
    /// reaching, as Gymnasium-Robotics' FetchReach, so holding the TCP at the goal earns the
    /// most).
    pub fn from_kwargs(task: Task, kwargs: &Options) -> Result<Self> {
        let mut r = ArgReader::kwargs(kwargs);
        let control = r.choice("control_mode", "pd_ee_delta_pos", &ControlMode::NAMES)?;
        let reward = r.choice("reward_mode", "normalized_dense", &RewardMode::NAMES)?;
        let qpos_noise = r.f64("robot_init_qpos_noise", 0.02)?;
        let terminate_on_success = r.bool("terminate_on_success", task != Task::Reach)?;
        r.finish()?;
        if !(0.0..=0.5).contains(&qpos_noise) {
            return Err(EnvError::kwarg("robot_init_qpos_noise", format!("expected 0 to 0.5 rad, got {qpos_noise}")));
        }
        let control_mode =
            if control == ControlMode::NAMES[0] { ControlMode::EeDeltaPos } else { ControlMode::JointDeltaPos };
        let reward_mode = match RewardMode::NAMES.iter().position(|n| *n == reward) {
            Some(0) => RewardMode::Dense,
            Some(1) => RewardMode::NormalizedDense,
            _ => RewardMode::Sparse,
        };
        Ok(ArmConfig { task, control_mode, reward_mode, qpos_noise: qpos_noise as f32, terminate_on_success })
    }
}

/// The Panda URDF: under `$VLMGYM_ASSETS/robots/panda`, else this source tree's `assets/`.
pub fn panda_urdf() -> PathBuf {
    let assets = std::env::var_os("VLMGYM_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../assets"));
    assets.join("robots/panda/panda_v2.urdf")
}

/// What the task's state is after a step (task frame: Z up, metres).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArmState {
    /// Joint positions (9).
    pub qpos: Vec<f32>,
    /// Joint rates (9).
    pub qvel: Vec<f32>,
    /// TCP position.
    pub tcp: [f32; 3],
    /// TCP orientation `[x, y, z, w]`.
    pub tcp_rot: [f32; 4],
    /// The goal point (reach, pick) or disc centre (push).
    pub goal: [f32; 3],
    /// The cube's position (reach: unused, zero).
    pub cube: [f32; 3],
    /// The cube's orientation `[x, y, z, w]`.
    pub cube_rot: [f32; 4],
    /// Both fingers grip the cube.
    pub grasped: bool,
    /// The task is done.
    pub success: bool,
}

/// Reset options that place the cube or the goal (task frame, metres) instead of
/// sampling them: `cube_xy` (tasks with a cube), `goal_xy`, and `goal_z` (reach and pick;
/// 0 to 0.6 m above the table); `tcp_xyz` poses the arm so its TCP starts there.
struct Placement {
    cube_xy: Option<[f32; 2]>,
    goal_xy: Option<[f32; 2]>,
    goal_z: Option<f32>,
    tcp_xyz: Option<[f32; 3]>,
}

impl Placement {
    fn parse(options: &Options, task: Task) -> Result<Self> {
        let mut r = ArgReader::options(options);
        let mut xy = |key: &'static str| -> Result<Option<[f32; 2]>> {
            let Some(v) = r.opt_vec(key, 2)? else { return Ok(None) };
            if v.iter().any(|c| c.abs() > 0.5) {
                return Err(EnvError::option(
                    key,
                    format!("must lie on the table within 0.5 m of its centre, got {v:?}"),
                ));
            }
            Ok(Some([v[0] as f32, v[1] as f32]))
        };
        let (cube_xy, goal_xy) = (xy("cube_xy")?, xy("goal_xy")?);
        let goal_z = r.opt_f64("goal_z")?;
        let tcp_xyz = r.opt_vec("tcp_xyz", 3)?;
        r.finish()?;
        let tcp_xyz = match tcp_xyz {
            None => None,
            Some(v) if v[0].abs() > 0.4 || v[1].abs() > 0.4 || !(0.0..=0.5).contains(&v[2]) => {
                return Err(EnvError::option(
                    "tcp_xyz",
                    format!("must lie within 0.4 m of the table's centre and 0 to 0.5 m above it, got {v:?}"),
                ))
            }
            Some(v) => Some([v[0] as f32, v[1] as f32, v[2] as f32]),
        };
        if let Some(z) = goal_z {
            if task == Task::PushCube {
                return Err(EnvError::option("goal_z", "the push goal lies on the table"));
            }
            if !(0.0..=0.6).contains(&z) {
                return Err(EnvError::option("goal_z", format!("must be 0 to 0.6 m above the table, got {z}")));
            }
        }
        let placement = Placement { cube_xy, goal_xy, goal_z: goal_z.map(|z| z as f32), tcp_xyz };
        if placement.cube_xy.is_some() && !task.has_cube() {
            return Err(EnvError::option("cube_xy", "this task has no cube"));
        }
        Ok(placement)
    }

    fn apply(&self, sim: &mut Sim) -> Result<()> {
        if let Some([x, y]) = self.goal_xy {
            sim.state.goal[0] = x;
            sim.state.goal[1] = y;
        }
        if let Some(z) = self.goal_z {
            sim.state.goal[2] = z;
        }
        if let (Some([x, y]), Some(cube)) = (self.cube_xy, sim.cube) {
            let rot = sim.world.body_rotation(cube).unwrap_or([0.0, 0.0, 0.0, 1.0]);
            sim.world.set_body_pose(cube, [x, y, CUBE_HALF], rot);
        }
        if let Some(p) = self.tcp_xyz {
            if let Some(cube) = sim.cube {
                let c = sim.world.body_position(cube).unwrap_or_default();
                let dxy = ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)).sqrt();
                if dxy < CUBE_HALF + 0.01 && p[2] < c[2] + CUBE_HALF + 0.01 {
                    return Err(EnvError::option(
                        "tcp_xyz",
                        format!("{p:?} would put the gripper inside the cube at {c:?}"),
                    ));
                }
            }
            // Along the straight line from the rest pose in 2 cm moves, as the controller
            // would take it (one long jump can leave damped least squares in a bad branch).
            let mut q = sim.robot.joint_positions(&sim.world);
            let (start, rot) = sim.tcp.forward(&q);
            let end = [p[0] - BASE_X, p[1], p[2]];
            let moves = (dist(start, end) / 0.02).ceil().max(1.0) as usize;
            let mut err = 0.0;
            for k in 1..=moves {
                let t = k as f32 / moves as f32;
                let via = [0, 1, 2].map(|i| start[i] + t * (end[i] - start[i]));
                (q, err) = sim.tcp.inverse(&q, via, rot, 30);
            }
            if err > 0.005 {
                return Err(EnvError::option(
                    "tcp_xyz",
                    format!("{p:?} is out of the arm's reach (inverse kinematics ends {:.0} mm away)", err * 1e3),
                ));
            }
            sim.robot.set_joint_positions(&mut sim.world, &q).map_err(robot_error)?;
            sim.robot.set_drive_targets(&mut sim.world, &q, &[ARM_GAINS; 9]).map_err(robot_error)?;
        }
        Ok(())
    }
}

struct Sim {
    world: World,
    robot: Robot,
    tcp: Chain,
    /// The TCP's pose in the arm's base frame as of the last observation (the controller's
    /// and the IK's frame).
    tcp_base: ([f32; 3], [f32; 4]),
    cube: Option<BodyId>,
    /// The floor's collider is in the world (see [`FLOOR_Z`]).
    floor: bool,
    fingers: [BodyId; 2],
    state: ArmState,
}

/// A robot-loading error as the env reports it.
fn robot_error(e: vlmgym_physics::RobotError) -> EnvError {
    EnvError::kwarg("robot", e.to_string())
}

/// A Panda arm task (see the module doc).
pub struct Arm {
    config: ArmConfig,
    urdf: PathBuf,
    rng: EnvRng,
    observation_space: Space,
    action_space: Space,
    sim: Option<Sim>,
}

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

fn dist_xy(a: [f32; 3], b: [f32; 3]) -> f32 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn wxyz(q: [f32; 4]) -> [f32; 4] {
    [q[3], q[0], q[1], q[2]]
}

fn tanh_reward(d: f32) -> f64 {
    1.0 - (5.0 * d as f64).tanh()
}

/// The push point: just behind the cube, on the side away from the goal (+x).
fn push_point(cube: [f32; 3]) -> [f32; 3] {
    [cube[0] - CUBE_HALF - 0.005, cube[1], cube[2]]
}

impl Arm {
    /// A new env (call `reset` first). Fails with a clear error when the robot's files are
    /// missing.
    pub fn new(config: ArmConfig) -> Result<Self> {
        let urdf = panda_urdf();
        if !urdf.is_file() {
            return Err(EnvError::kwarg(
                "robot",
                format!("the Panda model {} is missing (set VLMGYM_ASSETS to the assets folder)", urdf.display()),
            ));
        }
        let dim = config.control_mode.dim();
        let n = config.task.obs_dim();
        Ok(Arm {
            observation_space: Space::Box(BoxSpace::uniform(f32::NEG_INFINITY, f32::INFINITY, vec![n])),
            action_space: Space::Box(BoxSpace::uniform(-1.0, 1.0, vec![dim])),
            config,
            urdf,
            rng: EnvRng::default(),
            sim: None,
        })
    }

    /// Builds from registry kwargs.
    pub fn from_kwargs(task: Task, kwargs: &Options) -> Result<Self> {
        Arm::new(ArmConfig::from_kwargs(task, kwargs)?)
    }

    /// The settings.
    pub fn config(&self) -> &ArmConfig {
        &self.config
    }

    /// The state after the last reset or step (None before the first reset).
    pub fn state(&self) -> Option<&ArmState> {
        self.sim.as_ref().map(|s| &s.state)
    }

    fn build(&mut self, seed: u64) -> Result<Sim> {
        let dt = 1.0 / CONTROL_HZ;
        let mut world = World::new(WorldConfig { control_dt: dt, substeps: SUBSTEPS, gravity: 9.81, z_up: true }, seed);
        // Table top at z = 0 (ManiSkill's table: 1.418 x 1.209 m, centred at x = -0.12).
        world.add_collider(
            &ColliderDesc::cuboid([0.709, 0.6045, 0.025]).position([-0.12, 0.0, -0.025]).friction(0.5),
            None,
        );
        let options =
            RobotOptions { position: [BASE_X, 0.0, 0.0], gravity: false, friction: 0.3, ..RobotOptions::default() };
        let robot = Robot::load(&mut world, &self.urdf, &options).map_err(robot_error)?;
        let tcp = robot.chain(TCP_LINK).map_err(robot_error)?;
        let finger = |name: &str| robot.link(name).map(|l| l.body).map_err(robot_error);
        let fingers = [finger("panda_leftfinger")?, finger("panda_rightfinger")?];
        for name in ["panda_leftfinger", "panda_rightfinger"] {
            robot.set_link_friction(&mut world, name, 2.0).map_err(robot_error)?;
        }
        let tcp_base = ([0.0; 3], [0.0, 0.0, 0.0, 1.0]);
        Ok(Sim { world, robot, tcp, tcp_base, cube: None, floor: false, fingers, state: ArmState::default() })
    }

    fn sample_episode(&mut self, sim: &mut Sim) -> Result<()> {
        let task = self.config.task;
        let noise = Normal::new(0.0, self.config.qpos_noise.max(1e-9)).expect("positive std");
        let rng = self.rng.get();
        let mut q = REST_QPOS;
        for v in q.iter_mut().take(7) {
            *v += if self.config.qpos_noise > 0.0 { noise.sample(rng) } else { 0.0 };
        }
        let cube_xy = [rng.random_range(-0.1..0.1f32), rng.random_range(-0.1..0.1f32)];
        let yaw = if task == Task::PickCube { rng.random_range(0.0..std::f32::consts::TAU) } else { 0.0 };
        let goal = match task {
            Task::PushCube => [cube_xy[0] + 0.1 + GOAL_RADIUS, cube_xy[1], 1e-3],
            Task::Reach | Task::PickCube => [
                rng.random_range(-0.1..0.1f32),
                rng.random_range(-0.1..0.1f32),
                CUBE_HALF + rng.random_range(0.0..0.3f32),
            ],
        };
        sim.robot.set_joint_positions(&mut sim.world, &q).map_err(robot_error)?;
        sim.robot.set_drive_targets(&mut sim.world, &q, &[ARM_GAINS; 9]).map_err(robot_error)?;
        if task.has_cube() {
            let (s, c) = (yaw / 2.0).sin_cos();
            let body = sim.world.add_body(
                &BodyDesc::dynamic().position([cube_xy[0], cube_xy[1], CUBE_HALF]).rotation([0.0, 0.0, s, c]),
            );
            sim.world.add_collider(&ColliderDesc::cuboid([CUBE_HALF; 3]).density(1000.0).friction(0.5), Some(body));
            sim.cube = Some(body);
        }
        sim.state.goal = goal;
        Ok(())
    }

    fn observe(&self, sim: &mut Sim) {
        let w = &sim.world;
        let s = &mut sim.state;
        s.qpos = sim.robot.joint_positions(w);
        s.qvel = sim.robot.joint_velocities(w);
        let (p, r) = sim.tcp.forward(&s.qpos);
        sim.tcp_base = (p, r);
        s.tcp = [p[0] + BASE_X, p[1], p[2]];
        s.tcp_rot = r;
        if let Some(cube) = sim.cube {
            s.cube = w.body_position(cube).unwrap_or_default();
            s.cube_rot = w.body_rotation(cube).unwrap_or([0.0, 0.0, 0.0, 1.0]);
            s.grasped = sim.fingers.iter().enumerate().all(|(i, &f)| {
                let force = w.contact_force(f, cube);
                let norm = (force[0].powi(2) + force[1].powi(2) + force[2].powi(2)).sqrt();
                // The fingers close along the hand's y axis: the left one along -y, the
                // right one along +y, so the cube pushes them along +y and -y.
                let rot = w.body_rotation(f).unwrap_or([0.0, 0.0, 0.0, 1.0]);
                let y = crate::scene::Pose { translation: [0.0; 3], rotation: rot }.rotate([0.0, 1.0, 0.0]);
                let sign = if i == 0 { 1.0 } else { -1.0 };
                let cos = sign * (y[0] * force[0] + y[1] * force[1] + y[2] * force[2]) / norm.max(1e-9);
                norm >= 0.5 && cos >= 85f32.to_radians().cos()
            });
        }
        let fastest_joint = s.qvel.iter().take(7).fold(0.0f32, |m, v| m.max(v.abs()));
        s.success = match self.config.task {
            Task::Reach => dist(s.tcp, s.goal) < GOAL_THRESH,
            Task::PushCube => dist_xy(s.cube, s.goal) < GOAL_RADIUS && s.cube[2] < CUBE_HALF + 5e-3,
            Task::PickCube => dist(s.cube, s.goal) <= GOAL_THRESH && fastest_joint <= 0.2,
        };
    }

    fn obs(&self, s: &ArmState) -> Value {
        let mut o = Vec::with_capacity(self.config.task.obs_dim());
        o.extend(&s.qpos);
        o.extend(&s.qvel);
        if self.config.task == Task::PickCube {
            o.push(f32::from(u8::from(s.grasped)));
        }
        o.extend(s.tcp);
        o.extend(wxyz(s.tcp_rot));
        o.extend(s.goal);
        match self.config.task {
            Task::Reach => o.extend(sub(s.goal, s.tcp)),
            Task::PushCube => {
                o.extend(s.cube);
                o.extend(wxyz(s.cube_rot));
            }
            Task::PickCube => {
                o.extend(s.cube);
                o.extend(wxyz(s.cube_rot));
                o.extend(sub(s.cube, s.tcp));
                o.extend(sub(s.goal, s.cube));
            }
        }
        Value::Box(o)
    }

    /// The dense reward and its named terms.
    fn reward_terms(&self, s: &ArmState) -> (f64, Vec<(&'static str, f64)>) {
        let task = self.config.task;
        let terms: Vec<(&'static str, f64)> = match task {
            Task::Reach => vec![("reaching", tanh_reward(dist(s.tcp, s.goal)))],
            Task::PushCube => {
                let d = dist(push_point(s.cube), s.tcp);
                let reached = f64::from(u8::from(d < 0.01));
                let place = tanh_reward(dist_xy(s.cube, s.goal)) * reached;
                vec![
                    ("reaching", tanh_reward(d)),
                    ("place", place),
                    ("place_flat", place * tanh_reward(s.cube[2] - CUBE_HALF)),
                ]
            }
            Task::PickCube => {
                let grasped = f64::from(u8::from(s.grasped));
                let placed = f64::from(u8::from(dist(s.cube, s.goal) < GOAL_THRESH));
                let arm_speed = s.qvel.iter().take(7).map(|v| v * v).sum::<f32>().sqrt();
                vec![
                    ("reaching", tanh_reward(dist(s.cube, s.tcp))),
                    ("grasped", grasped),
                    ("place", tanh_reward(dist(s.cube, s.goal)) * grasped),
                    ("static", tanh_reward(arm_speed) * placed),
                ]
            }
        };
        let dense = if s.success { task.max_reward() } else { terms.iter().map(|t| t.1).sum() };
        (dense, terms)
    }

    fn info(&self, s: &ArmState, terms: &[(&'static str, f64)]) -> Info {
        let mut info = Info::new();
        info.insert("success".into(), s.success.into());
        info.insert("is_grasped".into(), s.grasped.into());
        for (k, v) in terms {
            info.insert(format!("reward_{k}"), (*v).into());
        }
        let state = [
            ("tcp_to_goal", dist(s.tcp, s.goal) as f64),
            ("tcp_to_cube", if self.config.task.has_cube() { dist(s.tcp, s.cube) as f64 } else { 0.0 }),
            (
                "tcp_to_push_point",
                if self.config.task == Task::PushCube { dist(push_point(s.cube), s.tcp) as f64 } else { 0.0 },
            ),
            ("cube_to_goal", if self.config.task.has_cube() { dist(s.cube, s.goal) as f64 } else { 0.0 }),
            ("cube_height", s.cube[2] as f64),
            ("is_grasped", f64::from(u8::from(s.grasped))),
            ("success", f64::from(u8::from(s.success))),
        ];
        info.insert(crate::env::STATE_KEY.into(), state_object(&state));
        info
    }

    /// Joint targets for a normalised action from the current state.
    fn targets(&self, sim: &Sim, a: &[f32]) -> Vec<f32> {
        let s = &sim.state;
        let mut q = s.qpos.clone();
        let clip = |x: f32| x.clamp(-1.0, 1.0);
        match self.config.control_mode {
            ControlMode::EeDeltaPos => {
                let (p, r) = sim.tcp_base;
                let target = [p[0] + 0.1 * clip(a[0]), p[1] + 0.1 * clip(a[1]), p[2] + 0.1 * clip(a[2])];
                q = sim.tcp.inverse(&s.qpos, target, r, 20).0;
            }
            ControlMode::JointDeltaPos => {
                for i in 0..7 {
                    q[i] = s.qpos[i] + 0.1 * clip(a[i]);
                }
            }
        }
        let g = clip(a[a.len() - 1]);
        let finger = FINGER_RANGE[0] + (g + 1.0) / 2.0 * (FINGER_RANGE[1] - FINGER_RANGE[0]);
        q[7] = finger;
        q[8] = finger;
        q
    }
}

impl Env for Arm {
    fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    fn action_space(&self) -> &Space {
        &self.action_space
    }

    fn reset(&mut self, seed: Option<u64>, options: &Options) -> Result<(Value, Info)> {
        let placement = Placement::parse(options, self.config.task)?;
        self.rng.reseed(seed);
        let mut sim = self.build(seed.unwrap_or(0))?;
        scene::register_meshes(&sim);
        self.sample_episode(&mut sim)?;
        placement.apply(&mut sim)?;
        self.observe(&mut sim);
        let (_, terms) = self.reward_terms(&sim.state);
        let out = (self.obs(&sim.state), self.info(&sim.state, &terms));
        self.sim = Some(sim);
        Ok(out)
    }

    fn scene(&self) -> Option<Scene> {
        self.sim.as_ref().map(|sim| self.build_scene(sim))
    }

    fn captions(&self) -> Vec<Caption> {
        self.sim.as_ref().map(|sim| scene::captions(self.config.task, &sim.state)).unwrap_or_default()
    }

    fn step(&mut self, action: &Value) -> Result<Step> {
        self.action_space.check_action(action)?;
        let mut sim = self.sim.take().ok_or(EnvError::ResetNeeded)?;
        let targets = self.targets(&sim, action.as_box().expect("checked"));
        let result = sim.robot.set_drive_targets(&mut sim.world, &targets, &[ARM_GAINS; 9]);
        if let Err(e) = result {
            self.sim = Some(sim);
            return Err(EnvError::Wrapper(e.to_string()));
        }
        sim.world.step();
        let below_table = sim.cube.and_then(|c| sim.world.body_position(c)).is_some_and(|p| p[2] < -CUBE_HALF);
        if below_table && !sim.floor {
            // Added well above where the cube lands: it leaves the tabletop at most a few
            // centimetres a control step into a 0.9 m drop.
            sim.world.add_collider(
                &ColliderDesc::cuboid([3.0, 3.0, 0.05]).position([0.0, 0.0, FLOOR_Z - 0.05]).friction(0.5),
                None,
            );
            sim.floor = true;
        }
        self.observe(&mut sim);
        let (dense, terms) = self.reward_terms(&sim.state);
        let s = &sim.state;
        let reward = match self.config.reward_mode {
            RewardMode::Dense => dense,
            RewardMode::NormalizedDense => dense / self.config.task.max_reward(),
            RewardMode::Sparse => f64::from(u8::from(s.success)),
        };
        let step = Step {
            obs: self.obs(s),
            reward,
            terminated: s.success && self.config.terminate_on_success,
            truncated: false,
            info: self.info(s, &terms),
        };
        self.sim = Some(sim);
        Ok(step)
    }

    fn expert_action(&self) -> Result<Option<Value>> {
        Arm::expert_action(self).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cube pushed over the table's edge lands on the floor the Scene draws (it used to
    /// fall for ever, so `cube_height` averaged tens of metres below the table) and is
    /// captioned as off the table and far from the target, not as resting on the table.
    #[test]
    fn a_cube_pushed_off_the_table_rests_on_the_floor() {
        let config = ArmConfig {
            task: Task::PushCube,
            control_mode: ControlMode::EeDeltaPos,
            reward_mode: RewardMode::Dense,
            qpos_noise: 0.02,
            terminate_on_success: false,
        };
        let mut env = Arm::new(config).unwrap();
        env.reset(Some(3), &Options::new()).unwrap();
        let sim = env.sim.as_mut().unwrap();
        let cube = sim.cube.unwrap();
        sim.world.set_body_pose(cube, [0.7, 0.0, CUBE_HALF], [0.0, 0.0, 0.0, 1.0]);
        let still = Value::Box(vec![0.0; 4]);
        let mut lowest = f32::INFINITY;
        for _ in 0..30 {
            let step = env.step(&still).unwrap();
            assert_eq!(step.info.get("success").and_then(|s| s.as_bool()), Some(false));
            lowest = lowest.min(env.state().unwrap().cube[2]);
        }
        let s = env.state().unwrap();
        assert!((s.cube[2] - (FLOOR_Z + CUBE_HALF)).abs() < 5e-3, "the cube rests on the floor: {:?}", s.cube);
        assert!(lowest > FLOOR_Z, "it never fell through: lowest {lowest}");
        let facts: Vec<String> = env.captions().into_iter().map(|c| c.fact).collect();
        assert!(
            facts.contains(&"cube.off_table".into()) && facts.contains(&"cube.far_from_target".into()),
            "{facts:?}"
        );
        assert!(!facts.contains(&"cube.on_table".into()), "{facts:?}");
    }

    /// `tcp_to_push_point` in the state info is the distance the push's reaching term reads
    /// (`1 - tanh(5 d)`), on every step of a random rollout; the other tasks report 0.
    #[test]
    fn the_push_point_distance_is_the_reaching_terms() {
        let state = |info: &Info, key: &str| info[crate::env::STATE_KEY][key].as_f64().unwrap();
        for (task, id) in [(Task::PushCube, "push"), (Task::Reach, "reach")] {
            let config = ArmConfig {
                task,
                control_mode: ControlMode::EeDeltaPos,
                reward_mode: RewardMode::Dense,
                qpos_noise: 0.02,
                terminate_on_success: false,
            };
            let mut env = Arm::new(config).unwrap();
            let (_, info) = env.reset(Some(5), &Options::new()).unwrap();
            let mut seen = vec![state(&info, "tcp_to_push_point")];
            for t in 0..20 {
                let a = Value::Box(vec![(t as f32 * 0.7).sin(), (t as f32 * 1.3).cos(), -0.5, 0.0]);
                let step = env.step(&a).unwrap();
                let d = state(&step.info, "tcp_to_push_point");
                if task == Task::PushCube {
                    let reaching = step.info["reward_reaching"].as_f64().unwrap();
                    assert!(
                        (1.0 - (5.0 * d).tanh() - reaching).abs() < 1e-6,
                        "{id} step {t}: d {d}, reaching {reaching}"
                    );
                }
                seen.push(d);
            }
            if task == Task::PushCube {
                assert!(seen.iter().all(|d| *d > 0.0) && seen.iter().any(|d| (d - seen[0]).abs() > 0.01), "{seen:?}");
            } else {
                assert!(seen.iter().all(|d| *d == 0.0), "{id}: {seen:?}");
            }
        }
    }
}
