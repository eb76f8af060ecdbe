//! A general rapier world stepped at a fixed control rate: rigid bodies, colliders, impulse
//! and multibody joints with motors, per-step contact and sensor reports, and ray casts.
//!
//! Descriptions ([`BodyDesc`], [`ColliderDesc`], [`JointDesc`]) are plain structs with
//! chainable setters; the world turns them into rapier objects and hands back small handle
//! newtypes. Positions and vectors are `[f32; 3]`, rotations are quaternions `[x, y, z, w]`.

use rapier3d::prelude::*;

/// Timing of a [`World`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorldConfig {
    /// Seconds per control step (one `World::step`); default 1/15 s, VLM-RL's CARLA rate.
    pub control_dt: f32,
    /// Physics substeps per control step (default 4, i.e. 60 Hz physics).
    pub substeps: u32,
    /// Gravity, m/s^2 (pointing down: -Y, or -Z when `z_up`).
    pub gravity: f32,
    /// Whether +Z is up (robotics' convention: URDF and MJCF models, ManiSkill and MuJoCo
    /// tasks) instead of +Y (the renderer's and the driving world's).
    pub z_up: bool,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig { control_dt: 1.0 / 15.0, substeps: 4, gravity: 9.81, z_up: false }
    }
}

/// A rigid body of a [`World`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BodyId(pub RigidBodyHandle);

/// A collider of a [`World`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ColliderId(pub ColliderHandle);

/// An impulse joint of a [`World`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JointId(pub ImpulseJointHandle);

/// A multibody joint of a [`World`] (rapier names it after its child body).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MultibodyJointId(pub MultibodyJointHandle);

/// How a rigid body moves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BodyKind {
    /// Moved by forces, contacts and joints.
    #[default]
    Dynamic,
    /// Never moves.
    Fixed,
    /// Moved by [`World::set_kinematic_target`]; pushes dynamic bodies, is not pushed back.
    KinematicPosition,
    /// Moved by its velocity ([`World::set_body_velocity`]); not pushed back.
    KinematicVelocity,
}

/// Description of a rigid body for [`World::add_body`].
#[derive(Clone, Debug, PartialEq)]
pub struct BodyDesc {
    /// How the body moves.
    pub kind: BodyKind,
    /// World position of the body's origin, metres.
    pub position: [f32; 3],
    /// World orientation, quaternion `[x, y, z, w]`.
    pub rotation: [f32; 4],
    /// Initial linear velocity, m/s.
    pub linvel: [f32; 3],
    /// Initial angular velocity, rad/s.
    pub angvel: [f32; 3],
    /// Linear velocity damping, 1/s.
    pub linear_damping: f32,
    /// Angular velocity damping, 1/s.
    pub angular_damping: f32,
    /// Mass added to what the colliders' densities give, kg (inertia scaled to match).
    pub additional_mass: Option<f32>,
    /// Multiplier of gravity for this body.
    pub gravity_scale: f32,
    /// Whether the body may fall asleep when at rest.
    pub can_sleep: bool,
    /// Continuous collision detection against moving bodies too.
    pub ccd: bool,
}

impl BodyDesc {
    /// A body of this kind at the origin, at rest, with rapier's defaults.
    pub fn new(kind: BodyKind) -> Self {
        BodyDesc {
            kind,
            position: [0.0; 3],
            rotation: [0.0, 0.0, 0.0, 1.0],
            linvel: [0.0; 3],
            angvel: [0.0; 3],
            linear_damping: 0.0,
            angular_damping: 0.0,
            additional_mass: None,
            gravity_scale: 1.0,
            can_sleep: true,
            ccd: false,
        }
    }

    /// A dynamic body.
    pub fn dynamic() -> Self {
        Self::new(BodyKind::Dynamic)
    }

    /// A fixed body.
    pub fn fixed() -> Self {
        Self::new(BodyKind::Fixed)
    }

    /// A position-based kinematic body.
    pub fn kinematic() -> Self {
        Self::new(BodyKind::KinematicPosition)
    }

    /// Sets the position.
    pub fn position(mut self, position: [f32; 3]) -> Self {
        self.position = position;
        self
    }

    /// Sets the orientation (quaternion `[x, y, z, w]`).
    pub fn rotation(mut self, rotation: [f32; 4]) -> Self {
        self.rotation = rotation;
        self
    }

    /// Sets the initial linear and angular velocities.
    pub fn velocity(mut self, linvel: [f32; 3], angvel: [f32; 3]) -> Self {
        self.linvel = linvel;
        self.angvel = angvel;
        self
    }

    /// Sets the linear and angular damping.
    pub fn damping(mut self, linear: f32, angular: f32) -> Self {
        self.linear_damping = linear;
        self.angular_damping = angular;
        self
    }

    /// Adds mass on top of the colliders' (see [`BodyDesc::additional_mass`]).
    pub fn additional_mass(mut self, mass: f32) -> Self {
        self.additional_mass = Some(mass);
        self
    }

    /// Sets the gravity multiplier.
    pub fn gravity_scale(mut self, scale: f32) -> Self {
        self.gravity_scale = scale;
        self
    }

    /// Sets whether the body may sleep.
    pub fn can_sleep(mut self, can_sleep: bool) -> Self {
        self.can_sleep = can_sleep;
        self
    }

    /// Enables continuous collision detection against moving bodies.
    pub fn ccd(mut self, ccd: bool) -> Self {
        self.ccd = ccd;
        self
    }

    fn build(&self) -> RigidBody {
        let kind = match self.kind {
            BodyKind::Dynamic => RigidBodyType::Dynamic,
            BodyKind::Fixed => RigidBodyType::Fixed,
            BodyKind::KinematicPosition => RigidBodyType::KinematicPositionBased,
            BodyKind::KinematicVelocity => RigidBodyType::KinematicVelocityBased,
        };
        let mut b = RigidBodyBuilder::new(kind)
            .pose(pose(self.position, self.rotation))
            .linvel(Vector::from(self.linvel))
            .angvel(Vector::from(self.angvel))
            .linear_damping(self.linear_damping)
            .angular_damping(self.angular_damping)
            .gravity_scale(self.gravity_scale)
            .can_sleep(self.can_sleep)
            .ccd_enabled(self.ccd);
        if let Some(m) = self.additional_mass {
            b = b.additional_mass(m);
        }
        b.build()
    }
}

/// Shape of a collider, in its own frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ColliderShape {
    /// A box with these half extents.
    Cuboid([f32; 3]),
    /// A sphere of this radius.
    Ball(f32),
    /// A capsule along the local Y axis: half height of its cylindrical part, radius.
    Capsule(f32, f32),
    /// A cylinder along the local Y axis: half height, radius.
    Cylinder(f32, f32),
}

/// Description of a collider for [`World::add_collider`].
#[derive(Clone, Debug, PartialEq)]
pub struct ColliderDesc {
    /// The shape.
    pub shape: ColliderShape,
    /// Position relative to the parent body, or in the world if free-standing.
    pub position: [f32; 3],
    /// Orientation relative to the parent body (or world), quaternion `[x, y, z, w]`.
    pub rotation: [f32; 4],
    /// Friction coefficient (default 0.5).
    pub friction: f32,
    /// Restitution (bounciness) coefficient (default 0).
    pub restitution: f32,
    /// Whether a contact takes the larger of the two colliders' friction coefficients
    /// (MuJoCo's rule) instead of rapier's default, their mean.
    pub friction_max: bool,
    /// Density, kg/m^3 (default 1); ignored when `mass` is set.
    pub density: f32,
    /// Total mass of this collider, kg, instead of a density.
    pub mass: Option<f32>,
    /// A sensor detects overlaps ([`World::intersections`]) but exerts no contact forces.
    pub sensor: bool,
    /// User tag reported by contacts, intersections and ray hits (0: untagged).
    pub tag: u64,
}

impl ColliderDesc {
    /// A collider of this shape with rapier's defaults.
    pub fn new(shape: ColliderShape) -> Self {
        ColliderDesc {
            shape,
            position: [0.0; 3],
            rotation: [0.0, 0.0, 0.0, 1.0],
            friction: 0.5,
            restitution: 0.0,
            friction_max: false,
            density: 1.0,
            mass: None,
            sensor: false,
            tag: 0,
        }
    }

    /// A box with these half extents.
    pub fn cuboid(half_extents: [f32; 3]) -> Self {
        Self::new(ColliderShape::Cuboid(half_extents))
    }

    /// A sphere.
    pub fn ball(radius: f32) -> Self {
        Self::new(ColliderShape::Ball(radius))
    }

    /// A capsule along local Y.
    pub fn capsule(half_height: f32, radius: f32) -> Self {
        Self::new(ColliderShape::Capsule(half_height, radius))
    }

    /// A cylinder along local Y.
    pub fn cylinder(half_height: f32, radius: f32) -> Self {
        Self::new(ColliderShape::Cylinder(half_height, radius))
    }

    /// Sets the position (relative to the parent body, or world).
    pub fn position(mut self, position: [f32; 3]) -> Self {
        self.position = position;
        self
    }

    /// Sets the orientation (quaternion `[x, y, z, w]`).
    pub fn rotation(mut self, rotation: [f32; 4]) -> Self {
        self.rotation = rotation;
        self
    }

    /// Sets the friction coefficient.
    pub fn friction(mut self, friction: f32) -> Self {
        self.friction = friction;
        self
    }

    /// Makes contacts with this collider take the larger of the two friction
    /// coefficients, as MuJoCo does (rapier's default is their mean).
    pub fn friction_max(mut self, friction_max: bool) -> Self {
        self.friction_max = friction_max;
        self
    }

    /// Sets the restitution coefficient.
    pub fn restitution(mut self, restitution: f32) -> Self {
        self.restitution = restitution;
        self
    }

    /// Sets the density.
    pub fn density(mut self, density: f32) -> Self {
        self.density = density;
        self
    }

    /// Sets the total mass (overrides the density).
    pub fn mass(mut self, mass: f32) -> Self {
        self.mass = Some(mass);
        self
    }

    /// Makes this collider a sensor.
    pub fn sensor(mut self, sensor: bool) -> Self {
        self.sensor = sensor;
        self
    }

    /// Sets the user tag.
    pub fn tag(mut self, tag: u64) -> Self {
        self.tag = tag;
        self
    }

    fn build(&self) -> Collider {
        let b = match self.shape {
            ColliderShape::Cuboid(h) => ColliderBuilder::cuboid(h[0], h[1], h[2]),
            ColliderShape::Ball(r) => ColliderBuilder::ball(r),
            ColliderShape::Capsule(hh, r) => ColliderBuilder::capsule_y(hh, r),
            ColliderShape::Cylinder(hh, r) => ColliderBuilder::cylinder(hh, r),
        };
        let b = b
            .position(pose(self.position, self.rotation))
            .friction(self.friction)
            .friction_combine_rule(if self.friction_max {
                CoefficientCombineRule::Max
            } else {
                CoefficientCombineRule::Average
            })
            .restitution(self.restitution)
            .sensor(self.sensor)
            .user_data(self.tag as u128);
        match self.mass {
            Some(m) => b.mass(m),
            None => b.density(self.density),
        }
        .build()
    }
}

/// What a joint lets its two bodies do relative to each other.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum JointKind {
    /// Rotation about one axis (a hinge); its coordinate is an angle, radians.
    Revolute {
        /// The hinge axis, in both bodies' local frames.
        axis: [f32; 3],
    },
    /// Translation along one axis (a slider); its coordinate is a distance, metres.
    Prismatic {
        /// The slide axis, in both bodies' local frames.
        axis: [f32; 3],
    },
    /// No relative motion.
    Fixed,
    /// Free rotation about the anchor (a ball joint).
    Spherical,
}

/// A joint motor on the free axis of a revolute or prismatic joint: it pulls the joint
/// coordinate toward `target_pos` with `stiffness` and its rate toward `target_vel` with
/// `damping` (rapier's acceleration-based model: gains act like accelerations, so they need
/// no retuning for other masses), never exceeding `max_force` (N or N m).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Motor {
    /// Target coordinate (rad or m).
    pub target_pos: f32,
    /// Target rate (rad/s or m/s).
    pub target_vel: f32,
    /// Gain on the position error.
    pub stiffness: f32,
    /// Gain on the velocity error.
    pub damping: f32,
    /// Largest force or torque the motor applies.
    pub max_force: f32,
}

impl Motor {
    /// A position motor (target rate zero), unlimited force.
    pub fn position(target: f32, stiffness: f32, damping: f32) -> Self {
        Motor { target_pos: target, target_vel: 0.0, stiffness, damping, max_force: f32::MAX }
    }

    /// A velocity motor (no position gain), unlimited force.
    pub fn velocity(target: f32, damping: f32) -> Self {
        Motor { target_pos: 0.0, target_vel: target, stiffness: 0.0, damping, max_force: f32::MAX }
    }

    /// Caps the motor's force or torque.
    pub fn max_force(mut self, max_force: f32) -> Self {
        self.max_force = max_force;
        self
    }
}

/// Description of a joint for [`World::add_impulse_joint`] and [`World::add_multibody_joint`].
#[derive(Clone, Debug, PartialEq)]
pub struct JointDesc {
    /// The kind of joint.
    pub kind: JointKind,
    /// The joint's anchor in the first body's frame.
    pub anchor1: [f32; 3],
    /// The joint's anchor in the second body's frame.
    pub anchor2: [f32; 3],
    /// Limits of the free coordinate (revolute and prismatic only).
    pub limits: Option<[f32; 2]>,
    /// A motor on the free coordinate (revolute and prismatic only).
    pub motor: Option<Motor>,
    /// Whether the two jointed bodies still collide with each other (default false).
    pub contacts_enabled: bool,
    /// Damping of the joint's degrees of freedom, multibody joints only (rapier's default:
    /// 0.1 on angular ones, 0 on linear ones).
    pub dof_damping: Option<f32>,
}

impl JointDesc {
    /// A joint of this kind, both anchors at the bodies' origins.
    pub fn new(kind: JointKind) -> Self {
        JointDesc {
            kind,
            anchor1: [0.0; 3],
            anchor2: [0.0; 3],
            limits: None,
            motor: None,
            contacts_enabled: false,
            dof_damping: None,
        }
    }

    /// A hinge about `axis`.
    pub fn revolute(axis: [f32; 3]) -> Self {
        Self::new(JointKind::Revolute { axis })
    }

    /// A slider along `axis`.
    pub fn prismatic(axis: [f32; 3]) -> Self {
        Self::new(JointKind::Prismatic { axis })
    }

    /// A weld.
    pub fn fixed() -> Self {
        Self::new(JointKind::Fixed)
    }

    /// A ball joint.
    pub fn spherical() -> Self {
        Self::new(JointKind::Spherical)
    }

    /// Sets the anchors in the first and second body's frames.
    pub fn anchors(mut self, anchor1: [f32; 3], anchor2: [f32; 3]) -> Self {
        self.anchor1 = anchor1;
        self.anchor2 = anchor2;
        self
    }

    /// Limits the free coordinate to `[min, max]`.
    pub fn limits(mut self, min: f32, max: f32) -> Self {
        self.limits = Some([min, max]);
        self
    }

    /// Drives the free coordinate with a motor.
    pub fn motor(mut self, motor: Motor) -> Self {
        self.motor = Some(motor);
        self
    }

    /// Sets whether the jointed bodies collide with each other.
    pub fn contacts_enabled(mut self, enabled: bool) -> Self {
        self.contacts_enabled = enabled;
        self
    }

    /// Sets the damping of a multibody joint's degrees of freedom.
    pub fn dof_damping(mut self, damping: f32) -> Self {
        self.dof_damping = Some(damping);
        self
    }

    /// The rapier axis of the single free coordinate, if the joint has one.
    fn free_axis(&self) -> Option<JointAxis> {
        match self.kind {
            JointKind::Revolute { .. } => Some(JointAxis::AngX),
            JointKind::Prismatic { .. } => Some(JointAxis::LinX),
            JointKind::Fixed | JointKind::Spherical => None,
        }
    }

    fn build(&self) -> GenericJoint {
        let unit = |a: [f32; 3]| Vector::from(a).normalize_or(Vector::X);
        let mut j: GenericJoint = match self.kind {
            JointKind::Revolute { axis } => RevoluteJointBuilder::new(unit(axis)).build().into(),
            JointKind::Prismatic { axis } => PrismaticJointBuilder::new(unit(axis)).build().into(),
            JointKind::Fixed => FixedJointBuilder::new().build().into(),
            JointKind::Spherical => SphericalJointBuilder::new().build().into(),
        };
        j.set_local_anchor1(Vector::from(self.anchor1))
            .set_local_anchor2(Vector::from(self.anchor2))
            .set_contacts_enabled(self.contacts_enabled);
        if let Some(axis) = self.free_axis() {
            if let Some([lo, hi]) = self.limits {
                j.set_limits(axis, [lo, hi]);
            }
            if let Some(m) = self.motor {
                apply_motor(&mut j, axis, m);
            }
        }
        j
    }
}

fn apply_motor(j: &mut GenericJoint, axis: JointAxis, m: Motor) {
    j.set_motor(axis, m.target_pos, m.target_vel, m.stiffness, m.damping).set_motor_max_force(axis, m.max_force);
}

/// The rapier axis of a generic joint's single free coordinate, if it has exactly one.
fn single_free_axis(j: &GenericJoint) -> Option<JointAxis> {
    let free = !j.locked_axes.bits() & 0b11_1111;
    if free.count_ones() != 1 {
        return None;
    }
    Some(match free.trailing_zeros() {
        0 => JointAxis::LinX,
        1 => JointAxis::LinY,
        2 => JointAxis::LinZ,
        3 => JointAxis::AngX,
        4 => JointAxis::AngY,
        _ => JointAxis::AngZ,
    })
}

/// The other side of a contact or intersection reported by [`World::contacts`],
/// [`World::body_contacts`] and [`World::intersections`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Touch {
    /// The collider touched.
    pub collider: ColliderId,
    /// Its body, if it has one.
    pub body: Option<BodyId>,
    /// Its user tag.
    pub tag: u64,
}

/// Which colliders a ray cast may hit; the default hits every solid collider.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RayFilter {
    /// Ignore the colliders of this body (e.g. the sensor's own robot).
    pub exclude_body: Option<BodyId>,
    /// Hit sensors too.
    pub include_sensors: bool,
    /// Hit only colliders with this tag.
    pub only_tag: Option<u64>,
}

/// The first collider a ray hits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RayHit {
    /// The collider hit.
    pub collider: ColliderId,
    /// Its body, if it has one.
    pub body: Option<BodyId>,
    /// Its user tag.
    pub tag: u64,
    /// Distance from the ray's origin, metres.
    pub distance: f32,
    /// The world point hit.
    pub point: [f32; 3],
    /// The surface normal there (unit length, pointing out of the collider).
    pub normal: [f32; 3],
}

fn pose(position: [f32; 3], rotation: [f32; 4]) -> Pose {
    let [x, y, z, w] = rotation;
    Pose::from_parts(Vector::from(position), Rotation::from_xyzw(x, y, z, w))
}

/// The collider pair as an ordered key, so each pair is recorded once.
fn pair_key(a: ColliderHandle, b: ColliderHandle) -> (ColliderHandle, ColliderHandle) {
    if a.0 <= b.0 {
        (a, b)
    } else {
        (b, a)
    }
}

/// A rapier world with a fixed control step split into substeps. Everything in it is
/// deterministic: the same calls in the same order with the same inputs give bit-identical
/// states. The seed is kept for callers that derive randomness from it.
///
/// Each [`World::step`] records which collider pairs touched ([`World::contacts`]) and which
/// sensors overlapped something ([`World::intersections`]) during any of its substeps.
/// Scene queries ([`World::cast_ray`]) see the colliders as of the last step.
pub struct World {
    pw: PhysicsWorld,
    config: WorldConfig,
    seed: u64,
    time: f64,
    contacts: Vec<(ColliderHandle, ColliderHandle)>,
    intersections: Vec<(ColliderHandle, ColliderHandle)>,
}

impl World {
    /// An empty world (gravity only).
    pub fn new(config: WorldConfig, seed: u64) -> Self {
        let mut pw = PhysicsWorld::new();
        pw.gravity =
            if config.z_up { Vector::new(0.0, 0.0, -config.gravity) } else { Vector::new(0.0, -config.gravity, 0.0) };
        pw.integration_parameters.dt = config.control_dt / config.substeps.max(1) as f32;
        World { pw, config, seed, time: 0.0, contacts: Vec::new(), intersections: Vec::new() }
    }

    /// The seed this world was made with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The timing configuration.
    pub fn config(&self) -> WorldConfig {
        self.config
    }

    /// Make every contact a spring of `natural_frequency` Hz and `damping_ratio` (1:
    /// critical) in rapier's soft-constraint solver, against moving and fixed bodies alike.
    /// rapier's defaults are stiff (30 Hz against moving bodies, 60 Hz against fixed ones,
    /// both 10 times overdamped); MuJoCo's default `solref` (time constant 0.02 s, damping
    /// ratio 1) is about 8 Hz, critically damped.
    pub fn set_contact_softness(&mut self, natural_frequency: f32, damping_ratio: f32) {
        let s = SpringCoefficients::new(natural_frequency, damping_ratio);
        self.pw.integration_parameters.contact_softness = s;
        self.pw.integration_parameters.static_contact_softness = s;
    }

    /// rapier's solver substeps per physics substep (`num_solver_iterations`, default 4)
    /// and projected Gauss-Seidel sweeps in each (`num_internal_pgs_iterations`, default 1).
    /// Each solver substep rebuilds every multibody's mass matrix, the largest cost of an
    /// articulated body, so fewer substeps with more sweeps trade joint and contact
    /// stiffness for speed. A count below 1 is taken as 1.
    pub fn set_solver_iterations(&mut self, substeps: usize, pgs_sweeps: usize) {
        let p = &mut self.pw.integration_parameters;
        p.num_solver_iterations = substeps.max(1);
        p.num_internal_pgs_iterations = pgs_sweeps.max(1);
    }

    /// Seconds per physics substep.
    pub fn substep_dt(&self) -> f32 {
        self.pw.integration_parameters.dt
    }

    /// Simulated seconds since the world was made.
    pub fn time(&self) -> f64 {
        self.time
    }

    /// Adds a rigid body (give it colliders with [`World::add_collider`]).
    pub fn add_body(&mut self, desc: &BodyDesc) -> BodyId {
        BodyId(self.pw.insert_body(desc.build()))
    }

    /// Adds a collider attached to `parent` (its pose is then relative to the body), or
    /// free-standing and fixed in the world with `None`.
    pub fn add_collider(&mut self, desc: &ColliderDesc, parent: Option<BodyId>) -> ColliderId {
        ColliderId(self.pw.insert_collider(desc.build(), parent.map(|b| b.0)))
    }

    /// Removes a body with its colliders and joints.
    pub fn remove_body(&mut self, body: BodyId) {
        self.pw.remove_body_with_colliders(body.0, true);
    }

    /// Joins two bodies with an impulse joint (solved as a constraint, may drift slightly).
    pub fn add_impulse_joint(&mut self, body1: BodyId, body2: BodyId, desc: &JointDesc) -> JointId {
        JointId(self.pw.insert_impulse_joint(body1.0, body2.0, desc.build()))
    }

    /// Joins two bodies with a multibody joint (reduced coordinates: exact, no drift).
    /// `body2` becomes a child link of `body1`'s multibody; it must be dynamic and not
    /// already a child. Returns `None` when the joint would close a loop or give `body2` a
    /// second parent. The joint starts at coordinate 0 (the bodies placed so that the
    /// anchors coincide); see [`World::set_multibody_state`].
    pub fn add_multibody_joint(&mut self, body1: BodyId, body2: BodyId, desc: &JointDesc) -> Option<MultibodyJointId> {
        let h = self.pw.insert_multibody_joint(body1.0, body2.0, desc.build())?;
        if let Some(d) = desc.dof_damping {
            let (mb, link_id) = self.pw.multibody_joints.get_mut(h)?;
            let link = mb.link(link_id)?;
            let (first, n) = (link.assembly_id(), link.joint().ndofs());
            mb.damping_mut().rows_mut(first, n).fill(d);
        }
        Some(MultibodyJointId(h))
    }

    /// Replaces the motor of an impulse joint's free coordinate (revolute and prismatic
    /// joints; ignored otherwise) and wakes its bodies.
    pub fn set_joint_motor(&mut self, joint: JointId, motor: Motor) {
        if let Some(j) = self.pw.impulse_joints.get_mut(joint.0, true) {
            if let Some(axis) = single_free_axis(&j.data) {
                apply_motor(&mut j.data, axis, motor);
            }
        }
    }

    /// Replaces the motor of a multibody joint's free coordinate (joints with one degree of
    /// freedom; ignored otherwise) and wakes its bodies.
    pub fn set_multibody_motor(&mut self, joint: MultibodyJointId, motor: Motor) {
        if let Some((mb, link_id)) = self.pw.multibody_joints.get_mut(joint.0) {
            if let Some(link) = mb.link_mut(link_id) {
                if let Some(axis) = single_free_axis(&link.joint.data) {
                    apply_motor(&mut link.joint.data, axis, motor);
                }
            }
        }
        self.wake_multibody_child(joint);
    }

    fn wake_multibody_child(&mut self, joint: MultibodyJointId) {
        let child = RigidBodyHandle(joint.0 .0);
        self.pw.wake_up(child, true);
    }

    /// The coordinate (rad or m) of a one-degree-of-freedom multibody joint.
    pub fn multibody_position(&self, joint: MultibodyJointId) -> Option<f32> {
        let (mb, link_id) = self.pw.multibody_joints.get(joint.0)?;
        let j = mb.link(link_id)?.joint();
        single_free_axis(&j.data).map(|axis| j.coords()[axis as usize])
    }

    /// The rate (rad/s or m/s) of a one-degree-of-freedom multibody joint.
    pub fn multibody_velocity(&self, joint: MultibodyJointId) -> Option<f32> {
        let (mb, link_id) = self.pw.multibody_joints.get(joint.0)?;
        let link = mb.link(link_id)?;
        single_free_axis(&link.joint().data)?;
        Some(mb.joint_velocity(link)[0])
    }

    /// Sets the coordinate and rate of a one-degree-of-freedom multibody joint (e.g. to reset
    /// an arm), moves the multibody's bodies accordingly and wakes them. Returns false (and
    /// changes nothing) for other joints.
    pub fn set_multibody_state(&mut self, joint: MultibodyJointId, position: f32, velocity: f32) -> bool {
        let PhysicsWorld { multibody_joints, bodies, .. } = &mut self.pw;
        let Some((mb, link_id)) = multibody_joints.get_mut(joint.0) else { return false };
        let Some(link) = mb.link(link_id) else { return false };
        let Some(axis) = single_free_axis(&link.joint().data) else { return false };
        let first = link.assembly_id();
        let mut disp = vec![0.0; mb.ndofs()];
        disp[first] = position - link.joint().coords()[axis as usize];
        mb.apply_displacements(&disp);
        mb.generalized_velocity_mut()[first] = velocity;
        mb.forward_kinematics(bodies, true);
        mb.update_rigid_bodies(bodies, true);
        self.wake_multibody_child(joint);
        true
    }

    fn body(&self, body: BodyId) -> Option<&RigidBody> {
        self.pw.bodies.get(body.0)
    }

    /// A body's world position.
    pub fn body_position(&self, body: BodyId) -> Option<[f32; 3]> {
        self.body(body).map(|b| b.translation().to_array())
    }

    /// A body's world orientation, quaternion `[x, y, z, w]`.
    pub fn body_rotation(&self, body: BodyId) -> Option<[f32; 4]> {
        self.body(body).map(|b| b.rotation().to_array())
    }

    /// A body's linear velocity.
    pub fn body_linvel(&self, body: BodyId) -> Option<[f32; 3]> {
        self.body(body).map(|b| b.linvel().to_array())
    }

    /// A body's angular velocity.
    pub fn body_angvel(&self, body: BodyId) -> Option<[f32; 3]> {
        self.body(body).map(|b| b.angvel().to_array())
    }

    /// A body's total mass, kg (0 for fixed and kinematic bodies), as of the last step:
    /// rapier recomputes it from the colliders when stepping.
    pub fn body_mass(&self, body: BodyId) -> Option<f32> {
        self.body(body).map(|b| b.mass())
    }

    /// A point given in a body's frame, in world coordinates.
    pub fn body_point(&self, body: BodyId, local: [f32; 3]) -> Option<[f32; 3]> {
        self.body(body).map(|b| (*b.position() * Vector::from(local)).to_array())
    }

    /// Teleports a body (velocities kept) and wakes it.
    pub fn set_body_pose(&mut self, body: BodyId, position: [f32; 3], rotation: [f32; 4]) {
        if let Some(b) = self.pw.bodies.get_mut(body.0) {
            b.set_position(pose(position, rotation), true);
        }
    }

    /// Where a position-based kinematic body will be at the end of the next physics substep.
    pub fn set_kinematic_target(&mut self, body: BodyId, position: [f32; 3], rotation: [f32; 4]) {
        if let Some(b) = self.pw.bodies.get_mut(body.0) {
            b.set_next_kinematic_position(pose(position, rotation));
        }
    }

    /// Sets a body's linear and angular velocities and wakes it.
    pub fn set_body_velocity(&mut self, body: BodyId, linvel: [f32; 3], angvel: [f32; 3]) {
        if let Some(b) = self.pw.bodies.get_mut(body.0) {
            b.set_linvel(Vector::from(linvel), true);
            b.set_angvel(Vector::from(angvel), true);
        }
    }

    /// Applies a linear impulse (N s, at the centre of mass) and an angular impulse (N m s).
    pub fn apply_impulse(&mut self, body: BodyId, linear: [f32; 3], angular: [f32; 3]) {
        if let Some(b) = self.pw.bodies.get_mut(body.0) {
            b.apply_impulse(Vector::from(linear), true);
            b.apply_torque_impulse(Vector::from(angular), true);
        }
    }

    /// A collider's user tag.
    pub fn collider_tag(&self, collider: ColliderId) -> Option<u64> {
        self.pw.colliders.get(collider.0).map(|c| c.user_data as u64)
    }

    /// Changes a collider's user tag.
    pub fn set_collider_tag(&mut self, collider: ColliderId, tag: u64) {
        if let Some(c) = self.pw.colliders.get_mut(collider.0) {
            c.user_data = tag as u128;
        }
    }

    /// The body a collider is attached to.
    pub fn collider_body(&self, collider: ColliderId) -> Option<BodyId> {
        self.pw.colliders.get(collider.0)?.parent().map(BodyId)
    }

    /// Brings ray casts and contact queries up to date with the colliders as they are now
    /// (added or moved since the last step) without advancing time: a world queried right
    /// after it is built (e.g. lidar at a reset) needs this.
    pub fn refresh_queries(&mut self) {
        self.pw.detect_collisions(&(), &());
    }

    /// Advances one control step (`substeps` physics steps).
    pub fn step(&mut self) {
        self.step_with(|_, _, _| {});
    }

    /// Advances one control step, calling `before_substep(world, i, n)` before each physics
    /// substep `i` of `n` (to drive kinematic bodies, controllers or motors at physics rate).
    pub fn step_with(&mut self, mut before_substep: impl FnMut(&mut World, u32, u32)) {
        self.step_while(|w, i, n| {
            before_substep(w, i, n);
            true
        });
    }

    /// As [`World::step_with`], but `before_substep` returning false stops the control step
    /// there (the substeps left are not run); returns whether every substep ran. For a caller
    /// that checks the state between substeps and abandons a simulation that diverged.
    pub fn step_while(&mut self, mut before_substep: impl FnMut(&mut World, u32, u32) -> bool) -> bool {
        self.contacts.clear();
        self.intersections.clear();
        let n = self.config.substeps.max(1);
        let mut completed = true;
        for i in 0..n {
            if !before_substep(self, i, n) {
                completed = false;
                break;
            }
            self.pw.step();
            let np = &self.pw.narrow_phase;
            self.contacts.extend(
                np.contact_pairs().filter(|p| p.has_any_active_contact()).map(|p| pair_key(p.collider1, p.collider2)),
            );
            self.intersections.extend(np.intersection_pairs().filter(|p| p.2).map(|p| pair_key(p.0, p.1)));
        }
        for list in [&mut self.contacts, &mut self.intersections] {
            list.sort_unstable_by_key(|(a, b)| (a.0, b.0));
            list.dedup();
        }
        self.time += self.config.control_dt as f64;
        completed
    }

    fn touches<'a>(
        &'a self,
        pairs: &'a [(ColliderHandle, ColliderHandle)],
        mut mine: impl FnMut(ColliderHandle) -> bool + 'a,
    ) -> impl Iterator<Item = Touch> + 'a {
        pairs.iter().filter_map(move |&(a, b)| {
            let other = match (mine(a), mine(b)) {
                (true, false) => b,
                (false, true) => a,
                _ => return None,
            };
            let c = self.pw.colliders.get(other)?;
            Some(Touch { collider: ColliderId(other), body: c.parent().map(BodyId), tag: c.user_data as u64 })
        })
    }

    /// The colliders `collider` was in contact with during the last step (sensors excluded).
    pub fn contacts(&self, collider: ColliderId) -> Vec<Touch> {
        self.touches(&self.contacts, move |c| c == collider.0).collect()
    }

    /// The colliders of other bodies (or free-standing ones) that any collider of `body`
    /// was in contact with during the last step, each once.
    pub fn body_contacts(&self, body: BodyId) -> Vec<Touch> {
        let colliders = &self.pw.colliders;
        let mine = move |c: ColliderHandle| colliders.get(c).and_then(|c| c.parent()) == Some(body.0);
        let mut out: Vec<Touch> = Vec::new();
        for t in self.touches(&self.contacts, mine) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }

    /// The colliders that overlapped `collider` during the last step, where one of the two
    /// is a sensor.
    pub fn intersections(&self, collider: ColliderId) -> Vec<Touch> {
        self.touches(&self.intersections, move |c| c == collider.0).collect()
    }

    /// Every pair of colliders in contact during the last step, each once.
    pub fn contact_pairs(&self) -> impl Iterator<Item = (ColliderId, ColliderId)> + '_ {
        self.contacts.iter().map(|&(a, b)| (ColliderId(a), ColliderId(b)))
    }

    /// The contact force (N, world frame) that the colliders of body `other` exert on those
    /// of body `on` during the last physics substep: normal impulses over the substep's
    /// length, friction not included. Zero when they do not touch.
    pub fn contact_force(&self, on: BodyId, other: BodyId) -> [f32; 3] {
        let (Some(a), Some(b)) = (self.pw.bodies.get(on.0), self.pw.bodies.get(other.0)) else {
            return [0.0; 3];
        };
        let mut impulse = Vector::ZERO;
        for &ca in a.colliders() {
            for &cb in b.colliders() {
                if let Some(pair) = self.pw.narrow_phase.contact_pair(ca, cb) {
                    // The pair's normal points out of its first collider; the impulse it
                    // reports pushes the two apart along it.
                    let sign = if pair.collider1 == ca { -1.0 } else { 1.0 };
                    impulse += sign * pair.total_impulse();
                }
            }
        }
        (impulse / self.pw.integration_parameters.dt).to_array()
    }

    /// Casts a ray from `origin` along `dir` (any length) up to `max_dist` metres and returns
    /// the first collider hit that passes `filter`. A ray starting inside a collider hits it
    /// at distance 0.
    pub fn cast_ray(&self, origin: [f32; 3], dir: [f32; 3], max_dist: f32, filter: &RayFilter) -> Option<RayHit> {
        let dir = Vector::from(dir).try_normalize()?;
        let ray = Ray::new(Vector::from(origin), dir);
        let tag_ok = |_: ColliderHandle, c: &Collider| filter.only_tag.is_none_or(|t| c.user_data as u64 == t);
        let mut q = QueryFilter::default().predicate(&tag_ok);
        if !filter.include_sensors {
            q = q.exclude_sensors();
        }
        if let Some(b) = filter.exclude_body {
            q = q.exclude_rigid_body(b.0);
        }
        let (h, hit) = self.pw.cast_ray_and_get_normal(&ray, max_dist, true, q)?;
        let c = &self.pw.colliders[h];
        Some(RayHit {
            collider: ColliderId(h),
            body: c.parent().map(BodyId),
            tag: c.user_data as u64,
            distance: hit.time_of_impact,
            point: ray.point_at(hit.time_of_impact).to_array(),
            normal: hit.normal.to_array(),
        })
    }

    /// The underlying rapier world, for queries this wrapper does not offer.
    pub fn rapier(&self) -> &PhysicsWorld {
        &self.pw
    }

    /// The underlying rapier world, mutably: for what this wrapper does not offer (changes
    /// made here bypass its bookkeeping, e.g. contact records of the current step).
    pub fn rapier_mut(&mut self) -> &mut PhysicsWorld {
        &mut self.pw
    }
}
