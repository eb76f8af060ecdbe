//! Robots loaded from URDF files (through `rapier3d-urdf`) as one multibody: their links,
//! their actuated joints driven by PD motors, what to draw of each link, and kinematic
//! chains for forward and inverse kinematics.
//!
//! Meshes referenced by the URDF are read from STL files and turned into convex hulls for
//! contacts; the original triangles are kept per link for drawing. Self-contacts are off
//! (adjacent links of real arms overlap). A URDF `mimic` joint is not coupled by the
//! physics: drive it with the same target as the joint it mimics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use rapier3d::glamx::EulerRot;
use rapier3d::math::{Pose, Rotation, Vector};
use rapier3d::na::{DMatrix, DVector};
use rapier3d::prelude::*;
use rapier3d_urdf::{urdf_rs, UrdfLoaderOptions, UrdfMultibodyOptions, UrdfRobot};

use crate::world::{BodyId, ColliderId, MultibodyJointId, World};

/// Why a robot could not be loaded or driven.
#[derive(Debug, thiserror::Error)]
pub enum RobotError {
    /// The URDF file (or a mesh it names) could not be read or parsed.
    #[error("cannot load robot {path}: {reason}")]
    Load {
        /// The URDF file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A link name the robot does not have.
    #[error("robot {robot} has no link named {name:?} (links: {known})")]
    UnknownLink {
        /// The robot's name.
        robot: String,
        /// The name asked for.
        name: String,
        /// The robot's link names.
        known: String,
    },
    /// A list of per-joint values of the wrong length.
    #[error("robot {robot}: {what} has {got} values but the robot has {expected} actuated joints")]
    Length {
        /// The robot's name.
        robot: String,
        /// Which list.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The number of actuated joints.
        expected: usize,
    },
}

/// How to place and build a robot.
#[derive(Clone, Debug, PartialEq)]
pub struct RobotOptions {
    /// The root link's world position.
    pub position: [f32; 3],
    /// The root link's world orientation `[x, y, z, w]`.
    pub rotation: [f32; 4],
    /// Whether the root link is fixed in the world (an arm on a table) or free.
    pub fixed_base: bool,
    /// Whether gravity acts on the links. `false` is ideal gravity compensation, as
    /// ManiSkill's controllers apply (`balance_passive_force`).
    pub gravity: bool,
    /// Friction coefficient of every link collider.
    pub friction: f32,
    /// User tag of every link collider.
    pub tag: u64,
}

impl Default for RobotOptions {
    fn default() -> Self {
        RobotOptions {
            position: [0.0; 3],
            rotation: [0.0, 0.0, 0.0, 1.0],
            fixed_base: true,
            gravity: true,
            friction: 1.0,
            tag: 0,
        }
    }
}

/// Triangles to draw: vertices in the owner's frame and counter-clockwise index triples.
#[derive(Clone, Debug, PartialEq)]
pub struct TriangleMesh {
    /// Vertex positions.
    pub vertices: Vec<[f32; 3]>,
    /// Triangles as vertex indices.
    pub triangles: Vec<[u32; 3]>,
}

/// What a piece of a link looks like.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkGeometry {
    /// A box with these half extents.
    Cuboid([f32; 3]),
    /// A sphere of this radius.
    Ball(f32),
    /// A capsule along the local Y axis.
    Capsule {
        /// Half the length of the straight part.
        half_height: f32,
        /// Radius.
        radius: f32,
    },
    /// A cylinder along the local Y axis.
    Cylinder {
        /// Half the height.
        half_height: f32,
        /// Radius.
        radius: f32,
    },
    /// A triangle mesh (shared: loaded once per robot).
    Mesh(Arc<TriangleMesh>),
}

/// One piece of a link's geometry and its pose in the link's frame.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkShape {
    /// Position in the link frame.
    pub position: [f32; 3],
    /// Orientation in the link frame `[x, y, z, w]`.
    pub rotation: [f32; 4],
    /// The geometry.
    pub geometry: LinkGeometry,
}

/// A link of a loaded robot.
#[derive(Clone, Debug)]
pub struct RobotLink {
    /// The URDF link name.
    pub name: String,
    /// Its rigid body.
    pub body: BodyId,
    /// Its colliders.
    pub colliders: Vec<ColliderId>,
    /// What to draw for it.
    pub shapes: Vec<LinkShape>,
}

/// Whether an actuated joint turns or slides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JointType {
    /// A hinge (radians).
    Revolute,
    /// A slider (metres).
    Prismatic,
}

/// An actuated (revolute, continuous or prismatic) joint of a loaded robot.
#[derive(Clone, Debug)]
pub struct RobotJoint {
    /// The URDF joint name.
    pub name: String,
    /// Its multibody joint.
    pub id: MultibodyJointId,
    /// Hinge or slider.
    pub kind: JointType,
    /// Position limits `[lower, upper]` (infinite for a continuous joint).
    pub limits: [f32; 2],
    /// The URDF joint this one mimics, if any.
    pub mimic: Option<String>,
}

/// PD gains of a joint drive, in force units (N m/rad or N/m; ManiSkill's and PhysX's
/// convention): torque = `stiffness` (target - q) + `damping` (target rate - rate), capped
/// at `force_limit`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DriveGains {
    /// Gain on the position error.
    pub stiffness: f32,
    /// Gain on the rate error.
    pub damping: f32,
    /// Largest force or torque.
    pub force_limit: f32,
}

/// A robot built from a URDF file into a [`World`] as one multibody.
#[derive(Clone, Debug)]
pub struct Robot {
    links: Vec<RobotLink>,
    joints: Vec<RobotJoint>,
    /// The parsed file (shared with the load cache): names and the kinematic tree.
    urdf: Arc<urdf_rs::Robot>,
}

fn load_error(path: &Path, reason: impl ToString) -> RobotError {
    RobotError::Load { path: path.to_path_buf(), reason: reason.to_string() }
}

fn link_shapes(collider: &Collider, visual: Option<&rapier3d_urdf::UrdfVisual>) -> Option<LinkShape> {
    let at = |pose: Pose, geometry| LinkShape {
        position: pose.translation.to_array(),
        rotation: pose.rotation.to_array(),
        geometry,
    };
    // Before insertion a collider's pose is its pose in its (future) parent's frame.
    let local = *collider.position();
    if let Some(v) = visual {
        let mesh = v.shape.as_trimesh()?;
        let data = TriangleMesh {
            vertices: mesh.vertices().iter().map(|p| p.to_array()).collect(),
            triangles: mesh.indices().to_vec(),
        };
        return Some(at(local * v.local_pose, LinkGeometry::Mesh(Arc::new(data))));
    }
    let shape = collider.shape();
    if let Some(c) = shape.as_cuboid() {
        return Some(at(local, LinkGeometry::Cuboid(c.half_extents.to_array())));
    }
    shape.as_ball().map(|b| at(local, LinkGeometry::Ball(b.radius)))
}

/// A loaded robot: the rapier objects, the URDF, and each link's shapes for drawing.
type Loaded = (UrdfRobot, Arc<urdf_rs::Robot>, Vec<Vec<LinkShape>>);

/// Parsed robots by file and options: reading the meshes and computing their convex hulls
/// costs milliseconds, so an env that rebuilds its world at every reset pays it once.
static LOADED: LazyLock<Mutex<HashMap<String, Loaded>>> = LazyLock::new(Default::default);

fn load_cached(path: &Path, options: &RobotOptions, loader: UrdfLoaderOptions) -> Result<Loaded, RobotError> {
    let key = format!("{}|{options:?}", path.display());
    if let Some(hit) = LOADED.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(hit.clone());
    }
    if !path.is_file() {
        return Err(load_error(path, "no such file"));
    }
    let (robot, urdf) = UrdfRobot::from_file(path, loader, None).map_err(|e| load_error(path, e))?;
    // The loader logs (rather than returns) a mesh it cannot read; check they all came.
    for link in &urdf.links {
        for c in &link.collision {
            if let urdf_rs::Geometry::Mesh { filename, .. } = &c.geometry {
                let mesh = path.parent().unwrap_or(Path::new(".")).join(filename);
                if !mesh.is_file() {
                    return Err(load_error(path, format!("mesh {} is missing", mesh.display())));
                }
            }
        }
    }
    let shapes = robot
        .links
        .iter()
        .map(|l| l.colliders.iter().filter_map(|c| link_shapes(&c.collider, c.visual.as_ref())).collect())
        .collect();
    // Two threads that missed together both parse; the first to get here wins, so every
    // load of a file shares one set of meshes.
    let loaded = (robot, Arc::new(urdf), shapes);
    Ok(LOADED.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_insert(loaded).clone())
}

impl Robot {
    /// Loads the URDF file at `path` (meshes relative to its folder) into `world`.
    pub fn load(world: &mut World, path: &Path, options: &RobotOptions) -> Result<Robot, RobotError> {
        let body = RigidBodyBuilder::dynamic().gravity_scale(if options.gravity { 1.0 } else { 0.0 });
        let loader = UrdfLoaderOptions {
            make_roots_fixed: options.fixed_base,
            mesh_converter: Some(MeshConverter::ConvexHull),
            shift: Pose::from_parts(Vector::from(options.position), Rotation::from_array(options.rotation).normalize()),
            collider_blueprint: ColliderBuilder::default()
                .density(0.0)
                .friction(options.friction)
                .user_data(options.tag as u128),
            rigid_body_blueprint: body,
            ..UrdfLoaderOptions::default()
        };
        let (urdf_robot, urdf, shapes) = load_cached(path, options, loader)?;
        let names: Vec<String> = urdf_robot.links.iter().map(|l| urdf.links[l.urdf_link_index].name.clone()).collect();
        let joint_sources: Vec<usize> = urdf_robot.joints.iter().map(|j| j.source_urdf_joint_index()).collect();
        let pw = world.rapier_mut();
        let handles = urdf_robot.insert_using_multibody_joints(
            &mut pw.bodies,
            &mut pw.colliders,
            &mut pw.multibody_joints,
            UrdfMultibodyOptions::DISABLE_SELF_CONTACTS,
        );
        let links = handles
            .links
            .iter()
            .zip(names)
            .zip(shapes)
            .map(|((h, name), shapes)| RobotLink {
                name,
                body: BodyId(h.body),
                colliders: h.colliders.iter().map(|c| ColliderId(c.handle)).collect(),
                shapes,
            })
            .collect();
        let mut joints = Vec::new();
        for (h, source) in handles.joints.iter().zip(joint_sources) {
            let j = &urdf.joints[source];
            let kind = match j.joint_type {
                urdf_rs::JointType::Revolute | urdf_rs::JointType::Continuous => JointType::Revolute,
                urdf_rs::JointType::Prismatic => JointType::Prismatic,
                _ => continue,
            };
            let Some(id) = h.joint else { continue };
            let limits = if j.joint_type == urdf_rs::JointType::Continuous {
                [f32::NEG_INFINITY, f32::INFINITY]
            } else {
                [j.limit.lower as f32, j.limit.upper as f32]
            };
            joints.push(RobotJoint {
                name: j.name.clone(),
                id: MultibodyJointId(id),
                kind,
                limits,
                mimic: j.mimic.as_ref().map(|m| m.joint.clone()),
            });
        }
        Ok(Robot { links, joints, urdf })
    }

    /// The robot's name (from the URDF).
    pub fn name(&self) -> &str {
        &self.urdf.name
    }

    /// The error for a link name not among `known`.
    fn unknown_link<'a>(&self, name: &str, known: impl Iterator<Item = &'a str>) -> RobotError {
        RobotError::UnknownLink {
            robot: self.urdf.name.clone(),
            name: name.to_string(),
            known: known.collect::<Vec<_>>().join(", "),
        }
    }

    /// The links that have a body (URDF links without geometry or mass that only mark a
    /// frame are folded into their parent).
    pub fn links(&self) -> &[RobotLink] {
        &self.links
    }

    /// The actuated joints, in URDF order; per-joint lists follow this order.
    pub fn joints(&self) -> &[RobotJoint] {
        &self.joints
    }

    /// The link named `name`.
    pub fn link(&self, name: &str) -> Result<&RobotLink, RobotError> {
        self.links
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| self.unknown_link(name, self.links.iter().map(|l| l.name.as_str())))
    }

    /// Sets the friction coefficient of every collider of the link named `name` (e.g. a
    /// gripper's rubber pads).
    pub fn set_link_friction(&self, world: &mut World, name: &str, friction: f32) -> Result<(), RobotError> {
        let link = self.link(name)?;
        for c in &link.colliders {
            if let Some(collider) = world.rapier_mut().colliders.get_mut(c.0) {
                collider.set_friction(friction);
            }
        }
        Ok(())
    }

    fn check_len(&self, what: &'static str, got: usize) -> Result<(), RobotError> {
        if got == self.joints.len() {
            return Ok(());
        }
        Err(RobotError::Length { robot: self.urdf.name.clone(), what, got, expected: self.joints.len() })
    }

    /// The actuated joints' positions.
    pub fn joint_positions(&self, world: &World) -> Vec<f32> {
        self.joints.iter().map(|j| world.multibody_position(j.id).unwrap_or(0.0)).collect()
    }

    /// The actuated joints' rates.
    pub fn joint_velocities(&self, world: &World) -> Vec<f32> {
        self.joints.iter().map(|j| world.multibody_velocity(j.id).unwrap_or(0.0)).collect()
    }

    /// Teleports the joints to `positions` with zero rates (e.g. at reset) and moves the
    /// links there.
    pub fn set_joint_positions(&self, world: &mut World, positions: &[f32]) -> Result<(), RobotError> {
        self.check_len("positions", positions.len())?;
        for (j, &q) in self.joints.iter().zip(positions) {
            world.set_multibody_state(j.id, q, 0.0);
        }
        Ok(())
    }

    /// Drives each joint toward `targets` (positions) with `gains`, as a PD motor solved
    /// implicitly by rapier (stable at any stiffness).
    pub fn set_drive_targets(
        &self,
        world: &mut World,
        targets: &[f32],
        gains: &[DriveGains],
    ) -> Result<(), RobotError> {
        self.check_len("targets", targets.len())?;
        self.check_len("gains", gains.len())?;
        let pw = world.rapier_mut();
        for ((j, &target), g) in self.joints.iter().zip(targets).zip(gains) {
            let axis = match j.kind {
                JointType::Revolute => JointAxis::AngX,
                JointType::Prismatic => JointAxis::LinX,
            };
            if let Some((mb, link_id)) = pw.multibody_joints.get_mut(j.id.0) {
                if let Some(link) = mb.link_mut(link_id) {
                    link.joint
                        .data
                        .set_motor(axis, target, 0.0, g.stiffness, g.damping)
                        .set_motor_max_force(axis, g.force_limit)
                        .set_motor_model(axis, MotorModel::ForceBased);
                }
            }
        }
        if let Some(first) = self.joints.first() {
            pw.wake_up(RigidBodyHandle(first.id.0 .0), true);
        }
        Ok(())
    }

    /// The kinematic chain from the root link to the URDF link `tip` (any link, also one
    /// that only marks a frame, such as a tool centre point).
    pub fn chain(&self, tip: &str) -> Result<Chain, RobotError> {
        if !self.urdf.links.iter().any(|l| l.name == tip) {
            return Err(self.unknown_link(tip, self.urdf.links.iter().map(|l| l.name.as_str())));
        }
        let mut steps = Vec::new();
        let mut link = tip.to_string();
        while let Some(j) = self.urdf.joints.iter().find(|j| j.child.link == link) {
            let origin = Pose::from_parts(
                Vector::new(j.origin.xyz[0] as f32, j.origin.xyz[1] as f32, j.origin.xyz[2] as f32),
                Rotation::from_euler(
                    EulerRot::ZYX,
                    j.origin.rpy[2] as f32,
                    j.origin.rpy[1] as f32,
                    j.origin.rpy[0] as f32,
                ),
            );
            let axis =
                Vector::new(j.axis.xyz[0] as f32, j.axis.xyz[1] as f32, j.axis.xyz[2] as f32).normalize_or_zero();
            let dof = self.joints.iter().position(|r| r.name == j.name);
            let kind = dof.map(|d| self.joints[d].kind);
            steps.push(ChainStep { origin, axis, dof: dof.zip(kind) });
            link = j.parent.link.clone();
        }
        steps.reverse();
        Ok(Chain { steps, limits: self.joints.iter().map(|j| j.limits).collect() })
    }
}

#[derive(Clone, Debug)]
struct ChainStep {
    /// The joint frame in the parent link's frame.
    origin: Pose,
    /// The joint axis in the joint frame.
    axis: Vector,
    /// The robot joint index and type, for actuated joints.
    dof: Option<(usize, JointType)>,
}

/// A serial chain of a [`Robot`] from its root link to one link, computed from the URDF:
/// forward kinematics, the geometric Jacobian and damped-least-squares inverse kinematics.
/// Poses are in the root link's frame; joint vectors are the robot's full per-joint lists.
#[derive(Clone, Debug)]
pub struct Chain {
    steps: Vec<ChainStep>,
    limits: Vec<[f32; 2]>,
}

impl Chain {
    /// The tip's pose for joint positions `q`: (position, rotation `[x, y, z, w]`).
    pub fn forward(&self, q: &[f32]) -> ([f32; 3], [f32; 4]) {
        let p = self.pose(q, None);
        (p.translation.to_array(), p.rotation.to_array())
    }

    /// The indices of the robot joints that move the tip.
    pub fn dofs(&self) -> Vec<usize> {
        self.steps.iter().filter_map(|s| s.dof.map(|d| d.0)).collect()
    }

    fn pose(&self, q: &[f32], mut columns: Option<&mut Vec<(usize, JointType, Vector, Vector)>>) -> Pose {
        let mut pose = Pose::IDENTITY;
        for s in &self.steps {
            pose *= s.origin;
            if let Some((d, kind)) = s.dof {
                let value = q.get(d).copied().unwrap_or(0.0);
                if let Some(c) = columns.as_deref_mut() {
                    c.push((d, kind, pose.rotation * s.axis, pose.translation));
                }
                pose *= match kind {
                    JointType::Revolute => Pose::rotation(s.axis * value),
                    JointType::Prismatic => Pose::translation(s.axis.x * value, s.axis.y * value, s.axis.z * value),
                };
            }
        }
        pose
    }

    /// Joint positions that put the tip at `position` with orientation `rotation`
    /// (`[x, y, z, w]`), starting from `q0`: damped least squares (damping `1e-3`) for up to
    /// `iterations` steps, each clamped to the joint limits, stopping once the error is below
    /// 0.1 mm and 0.001 rad. Joints outside the chain keep their `q0` values. Returns the
    /// positions and the remaining position error, metres.
    pub fn inverse(&self, q0: &[f32], position: [f32; 3], rotation: [f32; 4], iterations: usize) -> (Vec<f32>, f32) {
        let target = Pose::from_parts(Vector::from(position), Rotation::from_array(rotation).normalize());
        let mut q = q0.to_vec();
        let mut columns = Vec::with_capacity(self.steps.len());
        let mut err = f32::INFINITY;
        for _ in 0..=iterations {
            columns.clear();
            let tip = self.pose(&q, Some(&mut columns));
            let dp = target.translation - tip.translation;
            let mut dq = target.rotation * tip.rotation.inverse();
            if dq.w < 0.0 {
                dq = -dq;
            }
            let dr = dq.to_scaled_axis();
            err = dp.length();
            if err < 1e-4 && dr.length() < 1e-3 {
                break;
            }
            let n = columns.len();
            let mut j = DMatrix::<f32>::zeros(6, n);
            for (c, &(_, kind, axis, origin)) in columns.iter().enumerate() {
                let (lin, ang) = match kind {
                    JointType::Revolute => (axis.cross(tip.translation - origin), axis),
                    JointType::Prismatic => (axis, Vector::ZERO),
                };
                for r in 0..3 {
                    j[(r, c)] = lin[r];
                    j[(r + 3, c)] = ang[r];
                }
            }
            let e = DVector::from_vec(vec![dp.x, dp.y, dp.z, dr.x, dr.y, dr.z]);
            let jjt = &j * j.transpose() + DMatrix::<f32>::identity(6, 6) * 1e-6;
            let Some(step) = jjt.lu().solve(&e).map(|y| j.transpose() * y) else { break };
            for (c, &(d, ..)) in columns.iter().enumerate() {
                let [lo, hi] = self.limits[d];
                q[d] = (q[d] + step[c]).clamp(lo, hi);
            }
        }
        (q, err)
    }
}
