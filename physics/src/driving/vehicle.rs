//! The ego car: a cuboid chassis on rapier's ray-cast vehicle controller.

use rapier3d::control::{DynamicRayCastVehicleController, WheelTuning};
use rapier3d::prelude::*;

use crate::world::{BodyDesc, BodyId, ColliderDesc, ColliderId, World};

/// Dimensions, mass and drivetrain of a car (defaults: a 4.5 x 1.8 m, 1,500 kg saloon).
#[derive(Clone, Debug, PartialEq)]
pub struct VehicleConfig {
    /// Chassis half extents along local x (forward), y (up), z (right), metres.
    pub half_extents: [f32; 3],
    /// Chassis mass, kg.
    pub mass: f32,
    /// Wheel radius, metres.
    pub wheel_radius: f32,
    /// Distance of the axles from the chassis centre along x, metres.
    pub wheel_base_half: f32,
    /// Distance of the wheels from the chassis centre along z, metres.
    pub track_half: f32,
    /// Height of the suspension mounts relative to the chassis centre, metres.
    pub mount_height: f32,
    /// Suspension rest length, metres.
    pub suspension_rest_length: f32,
    /// Front-wheel angle at full steering input, radians.
    pub max_steer: f32,
    /// Total engine force at full throttle and rest, newtons (spread over the rear wheels).
    pub max_engine_force: f32,
    /// Total brake force at full brake, newtons (spread over the four wheels).
    pub max_brake_force: f32,
    /// Speed at which the engine force has faded to zero, m/s.
    pub top_speed: f32,
    /// Suspension and tyre parameters shared by the four wheels.
    pub tuning: WheelTuning,
}

impl Default for VehicleConfig {
    fn default() -> Self {
        VehicleConfig {
            half_extents: [2.25, 0.55, 0.9],
            mass: 1500.0,
            wheel_radius: 0.35,
            wheel_base_half: 1.4,
            track_half: 0.8,
            mount_height: -0.3,
            suspension_rest_length: 0.3,
            max_steer: 0.6,
            max_engine_force: 6000.0,
            max_brake_force: 12000.0,
            top_speed: 30.0,
            tuning: WheelTuning {
                suspension_stiffness: 40.0,
                suspension_compression: 4.0,
                suspension_damping: 5.0,
                max_suspension_travel: 0.25,
                side_friction_stiffness: 1.0,
                friction_slip: 2.0,
                max_suspension_force: 40000.0,
            },
        }
    }
}

impl VehicleConfig {
    /// Height of the chassis centre above flat ground when the car rests on its springs.
    pub fn rest_height(&self) -> f32 {
        let compression = 9.81 / 4.0 / self.tuning.suspension_stiffness;
        self.wheel_radius + self.suspension_rest_length - compression - self.mount_height
    }
}

/// Driver inputs, each in [-1, 1] (values outside are clamped).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VehicleControl {
    /// Steering: +1 full left, -1 full right.
    pub steer: f32,
    /// Throttle when positive, brake when negative.
    pub throttle_brake: f32,
}

/// The ego car's kinematic state.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VehicleState {
    /// Chassis centre, metres.
    pub position: [f32; 3],
    /// Chassis orientation, quaternion `[x, y, z, w]`.
    pub rotation: [f32; 4],
    /// Linear velocity, m/s.
    pub linvel: [f32; 3],
    /// Angular velocity, rad/s.
    pub angvel: [f32; 3],
    /// Signed speed along the chassis' forward axis, m/s.
    pub forward_speed: f32,
    /// Current front-wheel angle, radians (+ left).
    pub steer_angle: f32,
    /// How many wheels touch the ground.
    pub wheels_on_ground: u32,
}

/// A car in a [`World`]: its chassis body and collider, the ray-cast wheels and its inputs.
pub(crate) struct Vehicle {
    pub(crate) body: BodyId,
    pub(crate) collider: ColliderId,
    controller: DynamicRayCastVehicleController,
    pub(crate) config: VehicleConfig,
    control: VehicleControl,
}

impl Vehicle {
    /// Adds the chassis (tagged `tag`) resting on flat ground at `[x, z]`, heading `yaw`,
    /// moving forward at `speed` m/s, and mounts four wheels on it.
    pub(crate) fn spawn(
        world: &mut World,
        config: VehicleConfig,
        xz: [f32; 2],
        yaw: f32,
        speed: f32,
        tag: u64,
    ) -> Self {
        let rot = Rotation::from_axis_angle(Vector::Y, yaw);
        let body = world.add_body(
            &BodyDesc::dynamic()
                .position([xz[0], config.rest_height(), xz[1]])
                .rotation(rot.to_array())
                .velocity((rot * Vector::new(speed, 0.0, 0.0)).to_array(), [0.0; 3])
                .damping(0.05, 0.5)
                .can_sleep(false),
        );
        let h = config.half_extents;
        let volume = 8.0 * h[0] * h[1] * h[2];
        let collider = world
            .add_collider(&ColliderDesc::cuboid(h).density(config.mass / volume).friction(0.3).tag(tag), Some(body));
        let mut controller = DynamicRayCastVehicleController::new(body.0);
        let (x, z) = (config.wheel_base_half, config.track_half);
        for (wx, wz) in [(x, -z), (x, z), (-x, -z), (-x, z)] {
            controller.add_wheel(
                Vector::new(wx, config.mount_height, wz),
                -Vector::Y,
                Vector::Z,
                config.suspension_rest_length,
                config.wheel_radius,
                &config.tuning,
            );
        }
        Vehicle { body, collider, controller, config, control: VehicleControl::default() }
    }

    /// Sets the inputs (clamped to [-1, 1]).
    pub(crate) fn set_control(&mut self, control: VehicleControl) {
        self.control = VehicleControl {
            steer: control.steer.clamp(-1.0, 1.0),
            throttle_brake: control.throttle_brake.clamp(-1.0, 1.0),
        };
    }

    /// Applies the inputs to the wheels and updates the suspension and tyre forces for one
    /// physics substep (call before stepping the physics); the wheels see fixed colliders only.
    pub(crate) fn drive(&mut self, world: &mut World) {
        let c = &self.config;
        let dt = world.substep_dt();
        let speed = world.body_linvel(self.body).map(|v| Vector::from(v).length()).unwrap_or(0.0);
        let tb = self.control.throttle_brake;
        let fade = (1.0 - speed / c.top_speed).max(0.0);
        let engine = if tb > 0.0 { tb * c.max_engine_force * fade / 2.0 } else { 0.0 };
        let brake = if tb < 0.0 { -tb * c.max_brake_force / 4.0 * dt } else { 0.0 };
        let steer = self.control.steer * c.max_steer;
        for (w, wheel) in self.controller.wheels_mut().iter_mut().enumerate() {
            let front = w < 2;
            wheel.steering = if front { steer } else { 0.0 };
            wheel.engine_force = if front { 0.0 } else { engine };
            wheel.brake = brake;
        }
        let pw = world.rapier_mut();
        let queries = pw.broad_phase.as_query_pipeline_mut(
            pw.narrow_phase.query_dispatcher(),
            &mut pw.bodies,
            &mut pw.colliders,
            QueryFilter::only_fixed(),
        );
        self.controller.update_vehicle(dt, queries);
    }

    /// The chassis' state, if its body still exists.
    pub(crate) fn state(&self, world: &World) -> Option<VehicleState> {
        let b = world.rapier().bodies.get(self.body.0)?;
        let p = b.translation();
        let q = *b.rotation();
        let v = b.linvel();
        let w = b.angvel();
        let fwd = q * Vector::X;
        Some(VehicleState {
            position: [p.x, p.y, p.z],
            rotation: [q.x, q.y, q.z, q.w],
            linvel: [v.x, v.y, v.z],
            angvel: [w.x, w.y, w.z],
            forward_speed: fwd.dot(v),
            steer_angle: self.controller.wheels().first().map(|w| w.steering).unwrap_or(0.0),
            wheels_on_ground: self.controller.wheels().iter().filter(|w| w.raycast_info().is_in_contact).count() as u32,
        })
    }
}
