//! Bodies loaded from MuJoCo MJCF files (through `rapier3d-mjcf`) as one multibody: the
//! legged models of Gymnasium's MuJoCo envs (ant, half_cheetah, hopper, walker2d,
//! humanoid). The state reads and writes in MuJoCo's `qpos` / `qvel` layout, the
//! actuators take MuJoCo's `ctrl` (clamped to `ctrlrange`, torque = ctrl x gear, as a
//! `<motor>`), and every body's geoms are kept for drawing.
//!
//! Differences from MuJoCo, by construction: rapier solves contacts with its own soft
//! constraints (no `solref` / `solimp`, no `condim` torsional or rolling friction), the
//! integrator is rapier's (MuJoCo's models ask for RK4 or semi-implicit Euler), and a
//! `<motor>` is a velocity motor aimed far away with its force capped at `|ctrl x gear|`,
//! solved with the contacts (MuJoCo adds the force to the dynamics directly). The floor
//! plane of the file is not loaded: envs add their own ground.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use rapier3d::math::{Pose, Rotation, Vector};
use rapier3d::prelude::*;
use rapier3d_mjcf::mjcf_rs::extras::{ActuatorKind, Keyframe};
use rapier3d_mjcf::{MjcfDofKind, MjcfLoaderOptions, MjcfMultibodyOptions, MjcfRobot, MjcfRobotHandles};

use crate::robot::{LinkGeometry, LinkShape, RobotError};
use crate::world::{BodyId, MultibodyJointId, World};

/// One body of a loaded model.
#[derive(Clone, Debug)]
pub struct MjcfLink {
    /// The MJCF body name (`body{i}` for an unnamed one).
    pub name: String,
    /// Its rigid body.
    pub body: BodyId,
    /// What to draw for it (its geoms), in the body's frame.
    pub shapes: Vec<LinkShape>,
}

/// The kind of one entry of `qpos`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DofKind {
    /// A free joint: 7 `qpos` (position, quaternion w x y z), 6 `qvel` (linear velocity in
    /// the world frame, angular velocity in the body frame).
    Free,
    /// A hinge: 1 angle, 1 rate.
    Hinge,
    /// A slide: 1 length, 1 rate.
    Slide,
}

/// One joint of the model in `qpos` order.
#[derive(Clone, Debug)]
struct Dof {
    kind: DofKind,
    name: String,
    /// The body it moves.
    body: BodyId,
    /// The rapier joint (hinge, slide).
    joint: Option<MultibodyJointId>,
    /// MJCF `ref`: MuJoCo's coordinate is rapier's plus this.
    reference: f32,
}

/// An actuator (a `<motor>`).
#[derive(Clone, Debug, PartialEq)]
pub struct Actuator {
    /// The actuator's name (or its joint's).
    pub name: String,
    /// The joint it drives.
    pub joint: String,
    /// Torque per unit of control.
    pub gear: f32,
    /// The control range.
    pub ctrl_range: [f32; 2],
}

/// A parsed model, cached per file (parsing the XML again on every reset costs more than a
/// step).
#[derive(Clone)]
struct Parsed {
    robot: MjcfRobot,
    timestep: f32,
    shapes: Vec<Vec<LinkShape>>,
}

static PARSED: LazyLock<Mutex<HashMap<PathBuf, Parsed>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn load_error(path: &Path, reason: impl ToString) -> RobotError {
    RobotError::Load { path: path.to_path_buf(), reason: reason.to_string() }
}

fn parse_cached(path: &Path) -> Result<Parsed, RobotError> {
    if let Some(p) = PARSED.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
        return Ok(p.clone());
    }
    if !path.is_file() {
        return Err(load_error(path, "no such file"));
    }
    let (robot, model) = MjcfRobot::from_file(path, MjcfLoaderOptions::default()).map_err(|e| load_error(path, e))?;
    for a in &robot.actuators {
        if a.actuator.kind != ActuatorKind::Motor {
            return Err(load_error(
                path,
                format!(
                    "actuator {:?} is a {:?}; only <motor> actuators are supported",
                    a.actuator.name, a.actuator.kind
                ),
            ));
        }
    }
    let shapes = robot.bodies.iter().map(|b| b.colliders.iter().filter_map(link_shape).collect()).collect();
    let parsed = Parsed { robot, timestep: model.option.timestep as f32, shapes };
    PARSED.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_path_buf(), parsed.clone());
    Ok(parsed)
}

/// What to draw for a collider, in its body's frame; None for shapes without a drawing.
fn link_shape(c: &Collider) -> Option<LinkShape> {
    // The parsed colliders are not attached to a body yet: their pose in the body frame is
    // their own position (a `fromto` capsule's turns MuJoCo's local Z onto the segment).
    let pose = c.position_wrt_parent().copied().unwrap_or(*c.position());
    let shape = c.shape();
    let (geometry, local) = if let Some(b) = shape.as_ball() {
        (LinkGeometry::Ball(b.radius), Pose::IDENTITY)
    } else if let Some(cu) = shape.as_cuboid() {
        (LinkGeometry::Cuboid(cu.half_extents.to_array()), Pose::IDENTITY)
    } else if let Some(cap) = shape.as_capsule() {
        // Drawn along local Y: rotate Y onto the segment, centred on its midpoint.
        let (a, b) = (cap.segment.a, cap.segment.b);
        let d = b - a;
        let half = d.length() / 2.0;
        let rot =
            if half > 1e-9 { Rotation::from_rotation_arc(Vector::Y, d / (2.0 * half)) } else { Rotation::IDENTITY };
        (LinkGeometry::Capsule { half_height: half, radius: cap.radius }, Pose::from_parts((a + b) * 0.5, rot))
    } else if let Some(cy) = shape.as_cylinder() {
        (LinkGeometry::Cylinder { half_height: cy.half_height, radius: cy.radius }, Pose::IDENTITY)
    } else {
        return None;
    };
    let p = pose * local;
    Some(LinkShape { position: p.translation.to_array(), rotation: p.rotation.to_array(), geometry })
}

/// A MuJoCo model loaded into a [`World`] (see the module doc).
pub struct MjcfModel {
    name: String,
    links: Vec<MjcfLink>,
    dofs: Vec<Dof>,
    actuators: Vec<Actuator>,
    handles: MjcfRobotHandles<Option<MultibodyJointHandle>>,
    robot: Arc<MjcfRobot>,
    timestep: f32,
}

impl MjcfModel {
    /// Loads the MJCF file at `path` into `world` (Z up): the bodies as one multibody with
    /// the file's joints, limits, damping and armature, no contacts between the model's own
    /// bodies (as Gymnasium's ant and half_cheetah have none), and no floor. Tendons are not
    /// coupled (humanoid's fixed tendons carry no actuator). Errors name the file and what
    /// failed, or an actuator that is not a `<motor>`.
    pub fn load(world: &mut World, path: &Path) -> Result<MjcfModel, RobotError> {
        let parsed = parse_cached(path)?;
        let mut robot = parsed.robot;
        robot.joint_couplings.clear();
        let keep = robot.clone();
        let pw = world.rapier_mut();
        let handles = robot.insert_using_multibody_joints(
            &mut pw.bodies,
            &mut pw.colliders,
            &mut pw.multibody_joints,
            &mut pw.impulse_joints,
            MjcfMultibodyOptions::DISABLE_SELF_CONTACTS,
        );
        let body_name = |i: usize| keep.bodies[i].name.clone().unwrap_or_else(|| format!("body{i}"));
        let mut links = Vec::new();
        for (i, h) in handles.bodies.iter().enumerate() {
            let Some(h) = h else { continue };
            if keep.bodies[i].is_intermediate {
                continue;
            }
            links.push(MjcfLink { name: body_name(i), body: BodyId(h.body), shapes: parsed.shapes[i].clone() });
        }
        let mut dofs = Vec::new();
        for d in &keep.qpos_dofs {
            let body = handles.bodies.get(d.body).and_then(|b| b.as_ref()).map(|b| BodyId(b.body));
            let Some(body) = body else {
                return Err(load_error(path, format!("joint on body {} has no rigid body", d.body)));
            };
            let (kind, name, joint) = match d.kind {
                MjcfDofKind::Free => (DofKind::Free, body_name(d.body), None),
                MjcfDofKind::Hinge | MjcfDofKind::Slide => {
                    let j = d.joint.ok_or_else(|| load_error(path, "a hinge or slide without a joint"))?;
                    let handle = handles.joints[j].joint.map(MultibodyJointId);
                    let name = keep.joints[j].name.clone().unwrap_or_else(|| format!("joint{j}"));
                    let kind = if d.kind == MjcfDofKind::Hinge { DofKind::Hinge } else { DofKind::Slide };
                    (kind, name, handle)
                }
                MjcfDofKind::Ball => return Err(load_error(path, "ball joints are not supported")),
            };
            dofs.push(Dof { kind, name, body, joint, reference: d.reference });
        }
        let actuators = keep
            .actuators
            .iter()
            .map(|a| {
                let joint = a.actuator.joint.clone().unwrap_or_default();
                let range = a.actuator.ctrl_range.unwrap_or([f64::NEG_INFINITY, f64::INFINITY]);
                Actuator {
                    name: a.actuator.name.clone().unwrap_or_else(|| joint.clone()),
                    joint,
                    gear: a.actuator.gear[0] as f32,
                    ctrl_range: [range[0] as f32, range[1] as f32],
                }
            })
            .collect();
        let name = keep.name.clone().unwrap_or_else(|| path.file_stem().unwrap_or_default().to_string_lossy().into());
        Ok(MjcfModel { name, links, dofs, actuators, handles, robot: Arc::new(keep), timestep: parsed.timestep })
    }

    /// The `<option timestep>` of the MJCF file at `path`, seconds (parsed once per file).
    pub fn file_timestep(path: &Path) -> Result<f32, RobotError> {
        Ok(parse_cached(path)?.timestep)
    }

    /// The model's name (`<mujoco model=...>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's `<option timestep>`, seconds.
    pub fn timestep(&self) -> f32 {
        self.timestep
    }

    /// The bodies (without the loader's massless intermediate ones).
    pub fn links(&self) -> &[MjcfLink] {
        &self.links
    }

    /// The body named `name`.
    pub fn link(&self, name: &str) -> Result<&MjcfLink, RobotError> {
        self.links.iter().find(|l| l.name == name).ok_or_else(|| RobotError::UnknownLink {
            robot: self.name.clone(),
            name: name.to_string(),
            known: self.links.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// The actuators, in the file's order (the order of `ctrl`).
    pub fn actuators(&self) -> &[Actuator] {
        &self.actuators
    }

    /// The joints' names and kinds in `qpos` order.
    pub fn joints(&self) -> Vec<(String, DofKind)> {
        self.dofs.iter().map(|d| (d.name.clone(), d.kind)).collect()
    }

    /// Length of `qpos`.
    pub fn nq(&self) -> usize {
        self.dofs.iter().map(|d| if d.kind == DofKind::Free { 7 } else { 1 }).sum()
    }

    /// Length of `qvel`.
    pub fn nv(&self) -> usize {
        self.dofs.iter().map(|d| if d.kind == DofKind::Free { 6 } else { 1 }).sum()
    }

    /// The generalized positions in MuJoCo's layout.
    pub fn qpos(&self, world: &World) -> Vec<f64> {
        let mut q = Vec::with_capacity(self.nq());
        for d in &self.dofs {
            match d.kind {
                DofKind::Free => {
                    let p = world.body_position(d.body).unwrap_or_default();
                    let r = world.body_rotation(d.body).unwrap_or([0.0, 0.0, 0.0, 1.0]);
                    q.extend(p.iter().map(|&v| v as f64));
                    q.extend([r[3], r[0], r[1], r[2]].iter().map(|&v| v as f64));
                }
                _ => {
                    let v = d.joint.and_then(|j| world.multibody_position(j)).unwrap_or(0.0);
                    q.push((v + d.reference) as f64);
                }
            }
        }
        q
    }

    /// The generalized velocities in MuJoCo's layout.
    pub fn qvel(&self, world: &World) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.nv());
        for d in &self.dofs {
            match d.kind {
                DofKind::Free => {
                    let lin = world.body_linvel(d.body).unwrap_or_default();
                    let ang = Vector::from(world.body_angvel(d.body).unwrap_or_default());
                    let rot = Rotation::from_array(world.body_rotation(d.body).unwrap_or([0.0, 0.0, 0.0, 1.0]));
                    let local = rot.inverse() * ang;
                    v.extend(lin.iter().map(|&x| x as f64));
                    v.extend(local.to_array().iter().map(|&x| x as f64));
                }
                _ => v.push(d.joint.and_then(|j| world.multibody_velocity(j)).unwrap_or(0.0) as f64),
            }
        }
        v
    }

    /// Sets the state from MuJoCo-layout `qpos` and `qvel` (a free joint's angular velocity
    /// in its body's frame) and moves the bodies there. Errors on wrong lengths.
    pub fn set_state(&self, world: &mut World, qpos: &[f64], qvel: &[f64]) -> Result<(), RobotError> {
        for (what, got, want) in [("qpos", qpos.len(), self.nq()), ("qvel", qvel.len(), self.nv())] {
            if got != want {
                return Err(RobotError::Length { robot: self.name.clone(), what, got, expected: want });
            }
        }
        // rapier-mjcf takes a free joint's angular velocity in the world frame.
        let mut world_qvel = qvel.to_vec();
        let (mut iq, mut iv) = (0, 0);
        for d in &self.dofs {
            if d.kind == DofKind::Free {
                let [w, x, y, z] = [qpos[iq + 3], qpos[iq + 4], qpos[iq + 5], qpos[iq + 6]].map(|v| v as f32);
                let rot = Rotation::from_xyzw(x, y, z, w).normalize();
                let ang = rot * Vector::new(qvel[iv + 3] as f32, qvel[iv + 4] as f32, qvel[iv + 5] as f32);
                world_qvel[iv + 3..iv + 6].copy_from_slice(&ang.to_array().map(|v| v as f64));
                iq += 7;
                iv += 6;
            } else {
                iq += 1;
                iv += 1;
            }
        }
        let key = Keyframe { qpos: qpos.to_vec(), qvel: world_qvel, ..Keyframe::default() };
        let pw = world.rapier_mut();
        self.handles.apply_keyframe(&mut pw.bodies, &mut pw.multibody_joints, &self.robot, &key);
        Ok(())
    }

    /// Applies the controls (one per actuator, clamped to its `ctrlrange`) until the next
    /// call: a torque of `ctrl x gear` on each actuated joint. Errors on a wrong length or
    /// a non-finite control.
    pub fn apply_controls(&self, world: &mut World, ctrl: &[f32]) -> Result<(), RobotError> {
        if ctrl.len() != self.actuators.len() {
            return Err(RobotError::Length {
                robot: self.name.clone(),
                what: "ctrl",
                got: ctrl.len(),
                expected: self.actuators.len(),
            });
        }
        let clamped: Vec<Real> =
            ctrl.iter().zip(&self.actuators).map(|(u, a)| u.clamp(a.ctrl_range[0], a.ctrl_range[1])).collect();
        let pw = world.rapier_mut();
        self.handles.apply_controls_multibody(&mut pw.bodies, &mut pw.multibody_joints, &clamped);
        Ok(())
    }

    /// The model's centre of mass (bodies' masses as of the last step).
    pub fn center_of_mass(&self, world: &World) -> [f32; 3] {
        let pw = world.rapier();
        let (mut m, mut c) = (0.0f32, Vector::ZERO);
        for l in &self.links {
            if let Some(b) = pw.bodies.get(l.body.0) {
                m += b.mass();
                c += b.mass() * b.center_of_mass();
            }
        }
        if m > 0.0 {
            (c / m).to_array()
        } else {
            [0.0; 3]
        }
    }

    /// The total mass, kg.
    pub fn mass(&self, world: &World) -> f32 {
        let pw = world.rapier();
        self.links.iter().filter_map(|l| pw.bodies.get(l.body.0)).map(|b| b.mass()).sum()
    }
}
