//! vlmgym-physics: rapier3d worlds and builders (vehicle, arm, walker, props) for vlmgym's
//! embodied environments, stepped at a fixed rate and seeded.
//!
//! * [`World`]: rapier's sets behind a fixed control step (default 1/15 s, like VLM-RL's
//!   synchronous CARLA) split into physics substeps; builders for the ground, road
//!   surfaces, barriers and kerbs, static props, the ego car and kinematic NPC cars.
//! * [`VehicleConfig`] / [`VehicleControl`]: the ego car on rapier's
//!   `DynamicRayCastVehicleController` (4 wheels, suspension, engine force, brake, steering).
//!
//! Coordinates are rapier's: metres, **Y up**; a yaw is a rotation about +Y, and a car's
//! local forward axis is +X (its left is -Z). Plain arrays cross the API so callers need
//! no math crate; rapier itself is re-exported as [`rapier3d`] for those who do.

mod vehicle;
mod world;

pub use rapier3d;
pub use vehicle::{VehicleConfig, VehicleControl, VehicleState};
pub use world::{Tag, World, WorldConfig};
