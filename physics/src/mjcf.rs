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
//!
//! Two additions make rapier behave closer to MuJoCo: planar models (Gymnasium's root slides
//! `rootx` and `rootz`) get a hidden, spring-held slide across their plane so that friction
//! is solved in the plane (see `add_cross_plane_slide`), and
//! [`MjcfModel::step_conserving_momentum`] removes the horizontal momentum that rapier's
//! multibody integrator creates.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use rapier3d::math::{Pose, Rotation, Vector};
use rapier3d::prelude::*;
use rapier3d_mjcf::mjcf_rs::body::JointType as MjcfJointType;
use rapier3d_mjcf::mjcf_rs::extras::{ActuatorKind, Keyframe};
use rapier3d_mjcf::mjcf_rs::model::Model;
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
    let mut model = Model::from_file(path).map_err(|e| load_error(path, e))?;
    add_cross_plane_slide(&mut model);
    let base = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let robot = MjcfRobot::from_model(&model, MjcfLoaderOptions::default(), &base);
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

/// The largest velocity change (m/s) one substep's momentum correction may make.
const MAX_CORRECTION: f32 = 1.0;

/// Name of the hidden slide joint that [`add_cross_plane_slide`] adds to planar models.
const CROSS_PLANE_SLIDE: &str = "__vlmgym_cross_plane_slide";

/// Gives a planar model (a body with Gymnasium's root slides `rootx` and `rootz`) a hidden
/// slide across its plane, held at 0 by a stiff spring. Without it rapier's friction goes
/// wrong: the friction row across the plane, along which the multibody cannot move, takes
/// the whole friction cone (a pushed half_cheetah's floor impulse was 0.58 N s sideways,
/// exactly the cone's limit, and 0.04 along its motion), so the feet barely grip; with a
/// little mobility there the sideways row solves to zero and the grip is MuJoCo's. The
/// joint is left out of `qpos` and `qvel`.
fn add_cross_plane_slide(model: &mut Model) {
    for entry in &mut model.bodies {
        let joints = &entry.body.joints;
        let slide =
            |name: &str| joints.iter().position(|j| j.name.as_deref() == Some(name) && j.type_ == MjcfJointType::Slide);
        let (Some(x), Some(z)) = (slide("rootx"), slide("rootz")) else { continue };
        let mut cross = joints[x].clone();
        cross.name = Some(CROSS_PLANE_SLIDE.to_string());
        cross.axis = [0.0, 1.0, 0.0];
        cross.stiffness = 1e4;
        cross.damping = 1e3;
        cross.armature = 0.0;
        cross.range = None;
        cross.ref_ = 0.0;
        cross.springref = 0.0;
        entry.body.joints.insert(x.max(z) + 1, cross);
        return;
    }
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
                    if keep.joints[j].name.as_deref() == Some(CROSS_PLANE_SLIDE) {
                        continue;
                    }
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
        // The model's own layout, with the hidden cross-plane slide (if any) at rest.
        let (mut full_qpos, mut full_qvel) = (Vec::new(), Vec::new());
        let (mut iq, mut iv) = (0, 0);
        for d in &self.robot.qpos_dofs {
            let (wq, wv) = (d.kind.qpos_width(), d.kind.qvel_width());
            let hidden = d.joint.is_some_and(|j| self.robot.joints[j].name.as_deref() == Some(CROSS_PLANE_SLIDE));
            if hidden {
                full_qpos.extend(std::iter::repeat_n(0.0, wq));
                full_qvel.extend(std::iter::repeat_n(0.0, wv));
            } else {
                full_qpos.extend_from_slice(&qpos[iq..iq + wq]);
                full_qvel.extend_from_slice(&world_qvel[iv..iv + wv]);
                iq += wq;
                iv += wv;
            }
        }
        let key = Keyframe { qpos: full_qpos, qvel: full_qvel, ..Keyframe::default() };
        let pw = world.rapier_mut();
        self.handles.apply_keyframe(&mut pw.bodies, &mut pw.multibody_joints, &self.robot, &key);
        self.sync_body_velocities(world);
        Ok(())
    }

    /// Sets the bodies' velocities from the multibody's generalized velocities (rapier
    /// does so only when it steps), so that what is read before the next step (momentum,
    /// `body_linvel`) is the state just set.
    fn sync_body_velocities(&self, world: &mut World) {
        let pw = world.rapier_mut();
        let (joints, bodies) = (&mut pw.multibody_joints, &mut pw.bodies);
        // A free root's velocity was written to its rigid body (rapier-mjcf's keyframe);
        // the multibody keeps its own copy among the generalized velocities.
        for d in self.dofs.iter().filter(|d| d.kind == DofKind::Free) {
            let (Some(b), Some(&link)) = (bodies.get(d.body.0), joints.rigid_body_link(d.body.0)) else { continue };
            let (lin, ang) = (b.linvel(), b.angvel());
            let Some(mb) = joints.get_multibody_mut(link.multibody) else { continue };
            let Some(first) = mb.link(link.id).map(|l| l.assembly_id()) else { continue };
            let mut v = mb.generalized_velocity_mut();
            for k in 0..3 {
                v[first + k] = lin[k];
                v[first + 3 + k] = ang[k];
            }
        }
        for l in &self.links {
            let Some(link) = joints.rigid_body_link(l.body.0) else { continue };
            let Some(mb) = joints.get_multibody(link.multibody) else { continue };
            let v = mb.body_jacobian(link.id) * mb.generalized_velocity();
            if let Some(b) = bodies.get_mut(l.body.0) {
                b.set_linvel(Vector::new(v[0], v[1], v[2]), false);
                b.set_angvel(Vector::new(v[3], v[4], v[5]), false);
            }
        }
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

    /// Advances `world` one control step as [`World::step`] does, but keeps the model's
    /// horizontal momentum and centre of mass consistent with the contact impulses it
    /// received, and stops early when the simulation diverges. Returns whether it stayed
    /// sound (see [`MjcfModel::is_sound`]); after a false the state is garbage.
    ///
    /// rapier's multibody integrator does not conserve momentum: a body falling freely
    /// while its joints move drifts sideways (Gymnasium's half_cheetah under random
    /// controls, 1.6 m in 5 s, proportional to the substep), and a policy learns to ride
    /// that error. After each physics substep the momentum created from nothing is removed
    /// as a uniform horizontal velocity of the root, and the centre of mass is put where
    /// the corrected momentum carried it (gravity is vertical, so only x and y are
    /// corrected). Along the root's free directions only (see
    /// [`MjcfModel::shift_velocity`]); a model without any is stepped unchanged.
    pub fn step_conserving_momentum(&self, world: &mut World) -> bool {
        self.step(world, true)
    }

    /// One control step, with the momentum correction of
    /// [`MjcfModel::step_conserving_momentum`] when `conserve`, checking between substeps
    /// that the simulation is sound and stopping at the first that is not (rapier can
    /// diverge under violent torques, and a NaN inside its solver panics). Returns whether
    /// every substep ran on a sound state.
    pub fn step(&self, world: &mut World, conserve: bool) -> bool {
        // Masses exist from the first physics step on; before it there is nothing to keep.
        let mut track = (self.mass(world) > 0.0).then(|| (self.momentum(world), self.center_of_mass(world)));
        let mut sound = true;
        let ran = world.step_while(|w, i, _| {
            if i > 0 {
                sound = self.is_sound(w);
                if sound && conserve {
                    self.conserve(w, &mut track);
                }
            }
            sound
        });
        if ran {
            sound = self.is_sound(world);
            if sound && conserve {
                self.conserve(world, &mut track);
            }
        }
        ran && sound
    }

    /// Whether every body moves slower than a sound simulation of these models can (100 m/s,
    /// 1,000 rad/s) with a finite state.
    pub fn is_sound(&self, world: &World) -> bool {
        let pw = world.rapier();
        self.links.iter().filter_map(|l| pw.bodies.get(l.body.0)).all(|b| {
            let (v, w) = (b.linvel(), b.angvel());
            b.translation().is_finite() && v.is_finite() && w.is_finite() && v.length() < 100.0 && w.length() < 1e3
        })
    }

    /// The correction of [`MjcfModel::step_conserving_momentum`] after one substep;
    /// `track` holds the momentum and centre of mass after the previous one (None before
    /// the first physics step, when there are no masses yet).
    fn conserve(&self, world: &mut World, track: &mut Option<([f32; 3], [f32; 3])>) {
        let mass = self.mass(world);
        if let Some((momentum, com)) = track.as_ref() {
            let now = self.momentum(world);
            let impulse = self.contact_impulse(world);
            let dv = [0, 1].map(|k| (momentum[k] + impulse[k] - now[k]) / mass);
            // A correction is a small velocity (the drift of one substep); anything else
            // means the simulation itself failed, which `is_sound` reports.
            if mass > 0.0 && dv.iter().all(|v| v.is_finite() && v.abs() < MAX_CORRECTION) {
                self.shift_velocity(world, [dv[0], dv[1], 0.0]);
                let (p, c, dt) = (self.momentum(world), self.center_of_mass(world), world.substep_dt());
                let dx = [0, 1].map(|k| com[k] + dt * p[k] / mass - c[k]);
                if dx.iter().all(|v| v.is_finite() && v.abs() < MAX_CORRECTION * dt) {
                    self.shift_position(world, [dx[0], dx[1], 0.0]);
                }
            }
        }
        *track = (mass > 0.0).then(|| (self.momentum(world), self.center_of_mass(world)));
    }

    /// The linear momentum of the model's bodies, kg m/s (world frame).
    pub fn momentum(&self, world: &World) -> [f32; 3] {
        let pw = world.rapier();
        let mut p = Vector::ZERO;
        for b in self.links.iter().filter_map(|l| pw.bodies.get(l.body.0)) {
            p += b.mass() * b.linvel();
        }
        p.to_array()
    }

    /// The impulse (N s, world frame) that colliders outside the model (the floor, other
    /// bodies) gave the model's bodies through contacts during the last physics substep:
    /// normal plus friction impulses, summed over the solver's internal substeps.
    pub fn contact_impulse(&self, world: &World) -> [f32; 3] {
        let pw = world.rapier();
        let mine = |c: ColliderHandle| {
            pw.colliders.get(c).and_then(|c| c.parent()).is_some_and(|b| self.links.iter().any(|l| l.body.0 == b))
        };
        let mut total = Vector::ZERO;
        for pair in pw.narrow_phase.contact_pairs() {
            let (m1, m2) = (mine(pair.collider1), mine(pair.collider2));
            if m1 == m2 {
                continue; // Not the model's, or between two of its own bodies.
            }
            // Stored impulses are those applied to the first collider's body.
            let sign = if m1 { 1.0 } else { -1.0 };
            for m in pair.manifolds() {
                let n = m.data.normal;
                for point in &m.points {
                    let d = &point.data;
                    // The multibody contact solver stores the step's total friction
                    // impulse in its basis (t1, t2 = -n x t1) and the last internal
                    // substep's both in that basis and in world space; the basis is
                    // recovered from the latter.
                    let (w, a, b) =
                        (d.warmstart_tangent_world, d.warmstart_tangent_impulse.x, d.warmstart_tangent_impulse.y);
                    let norm2 = a * a + b * b;
                    let friction = if norm2 > 0.0 {
                        let t1 = (a * w + b * n.cross(w)) / norm2;
                        let t2 = -n.cross(t1);
                        t1 * d.tangent_impulse.x + t2 * d.tangent_impulse.y
                    } else {
                        Vector::ZERO
                    };
                    total += sign * (-n * d.impulse + friction);
                }
            }
        }
        total.to_array()
    }

    /// Adds `dv` (m/s, world frame) to the linear velocity of every body of the model, a
    /// rigid translation of the whole motion; only along free directions of the root (a free
    /// joint's x, y, z, or the horizontal slide joints `rootx` / `rooty` of planar models),
    /// others are ignored.
    pub fn shift_velocity(&self, world: &mut World, dv: [f32; 3]) {
        self.shift_root(world, dv, false);
    }

    /// Moves every body of the model by `dx` (m, world frame), along the same free
    /// directions as [`MjcfModel::shift_velocity`].
    pub fn shift_position(&self, world: &mut World, dx: [f32; 3]) {
        self.shift_root(world, dx, true);
    }

    fn shift_root(&self, world: &mut World, dv: [f32; 3], position: bool) {
        let pw = world.rapier_mut();
        let (joints, bodies) = (&mut pw.multibody_joints, &mut pw.bodies);
        let mut touched = Vec::new();
        for d in &self.dofs {
            let (link, add): (Option<MultibodyLinkId>, &[f32]) = match (d.kind, d.name.as_str()) {
                (DofKind::Free, _) => (joints.rigid_body_link(d.body.0).copied(), &dv[..]),
                (DofKind::Slide, "rootx") => (joints.rigid_body_link(d.body.0).copied(), &dv[..1]),
                (DofKind::Slide, "rooty") => (joints.rigid_body_link(d.body.0).copied(), &dv[1..2]),
                _ => continue,
            };
            let Some(link) = link else { continue };
            let Some(mb) = joints.get_multibody_mut(link.multibody) else { continue };
            if position {
                let Some(l) = mb.link_mut(link.id) else { continue };
                let mut disp = vec![0.0; l.joint.ndofs()];
                disp[..add.len()].copy_from_slice(add);
                l.joint.apply_displacement(&disp);
            } else {
                let Some(first) = mb.link(link.id).map(|l| l.assembly_id()) else { continue };
                let mut vels = mb.generalized_velocity_mut();
                for (k, v) in add.iter().enumerate() {
                    vels[first + k] += v;
                }
            }
            if !touched.contains(&link.multibody) {
                touched.push(link.multibody);
            }
        }
        if touched.is_empty() {
            return;
        }
        if position {
            for idx in touched {
                if let Some(mb) = joints.get_multibody_mut(idx) {
                    // The poses (and so the bodies) now; the Jacobians follow at the next step,
                    // which starts with a full forward kinematics before anything reads them.
                    mb.forward_kinematics_poses(bodies);
                    mb.update_rigid_bodies(bodies, true);
                }
            }
        } else {
            // The bodies' velocities follow the generalized ones at the next step; a root
            // translation adds the same velocity to every body now.
            let dv = Vector::from(dv);
            for l in &self.links {
                if let Some(b) = bodies.get_mut(l.body.0) {
                    let v = b.linvel();
                    b.set_linvel(v + dv, false);
                }
            }
        }
    }

    /// The total mass, kg.
    pub fn mass(&self, world: &World) -> f32 {
        let pw = world.rapier();
        self.links.iter().filter_map(|l| pw.bodies.get(l.body.0)).map(|b| b.mass()).sum()
    }
}
