//! vlmgym-physics: a general rapier3d world stepped at a fixed rate, and driving scenes on
//! top of it, for vlmgym's embodied environments.
//!
//! * [`World`] (module [`world`]): rapier's sets behind a fixed control step (default
//!   1/15 s, like VLM-RL's synchronous CARLA) split into physics substeps. Builders for
//!   rigid bodies ([`BodyDesc`]: dynamic, fixed, kinematic), colliders ([`ColliderDesc`]:
//!   cuboid, ball, capsule, cylinder; friction, restitution, density or mass, sensors, a
//!   `u64` user tag), impulse joints and multibody joints ([`JointDesc`]: revolute,
//!   prismatic, fixed, spherical; limits, [`Motor`]s with position and velocity targets and
//!   a force cap). After each step it reports what every collider touched
//!   ([`World::contacts`], [`World::body_contacts`]) and what sensors overlapped
//!   ([`World::intersections`]); [`World::cast_ray`] returns distance, normal and tag.
//! * [`Robot`] (module [`robot`]): a URDF file loaded through `rapier3d-urdf` as one
//!   multibody (fixed or free base, convex-hull link colliders, optional ideal gravity
//!   compensation); its actuated joints read, teleported and driven by PD motors with
//!   force-unit gains ([`DriveGains`]); each link's shapes and meshes for drawing; a
//!   [`Chain`] from the root to any link for forward and inverse kinematics.
//! * [`MjcfModel`] (module [`mjcf`]): a MuJoCo MJCF file (Gymnasium's legged models)
//!   loaded through `rapier3d-mjcf` as one multibody; its state in MuJoCo's `qpos` /
//!   `qvel` layout, `<motor>` actuators taking `ctrl`, each body's geoms for drawing.
//! * [`DrivingWorld`] (module [`driving`]): a [`World`] with builders for the ground, road
//!   surfaces, barriers and kerbs, static props, the ego car and kinematic NPC cars, whose
//!   colliders carry a driving [`Tag`]; [`VehicleConfig`] / [`VehicleControl`] describe the
//!   ego car on rapier's `DynamicRayCastVehicleController` (4 wheels, suspension, engine
//!   force, brake, steering).
//!
//! Everything is deterministic: the same calls in the same order give bit-identical states.
//! Coordinates are rapier's: metres, **Y up** unless [`WorldConfig::z_up`] (robot tasks); a yaw is a rotation about +Y, and a car's
//! local forward axis is +X (its left is -Z). Plain arrays cross the API (vectors
//! `[f32; 3]`, quaternions `[x, y, z, w]`) so callers need no math crate; rapier itself is
//! re-exported as [`rapier3d`] for those who do ([`World::rapier`]).

#![warn(missing_docs)]

pub mod driving;
pub mod mjcf;
pub mod robot;
pub mod world;

pub use driving::{DrivingWorld, Tag, VehicleConfig, VehicleControl, VehicleState};
pub use mjcf::{Actuator, DofKind, MjcfLink, MjcfModel};
pub use rapier3d;
pub use robot::{
    Chain, DriveGains, JointType, LinkGeometry, LinkShape, Robot, RobotError, RobotJoint, RobotLink, RobotOptions,
    TriangleMesh,
};
pub use world::{
    BodyDesc, BodyId, BodyKind, ColliderDesc, ColliderId, ColliderShape, JointDesc, JointId, JointKind, Motor,
    MultibodyJointId, RayFilter, RayHit, Touch, World, WorldConfig,
};
