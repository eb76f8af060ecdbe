//! The ego car: a cuboid chassis on rapier's ray-cast vehicle controller.

use rapier3d::control::WheelTuning;

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
