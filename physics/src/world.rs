//! A rapier world stepped at a fixed control rate, with builders for driving scenes.

use rapier3d::control::DynamicRayCastVehicleController;
use rapier3d::prelude::*;

use crate::vehicle::{VehicleConfig, VehicleControl, VehicleState};

/// Timing of a [`World`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WorldConfig {
    /// Seconds per control step (one `World::step`); default 1/15 s, VLM-RL's CARLA rate.
    pub control_dt: f32,
    /// Physics substeps per control step (default 4, i.e. 60 Hz physics).
    pub substeps: u32,
    /// Gravity, m/s^2 (pointing down -Y).
    pub gravity: f32,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig { control_dt: 1.0 / 15.0, substeps: 4, gravity: 9.81 }
    }
}

/// What a collider is, stored in its `user_data` so contacts can be classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tag {
    /// The ground plane.
    Ground,
    /// A road surface.
    Road,
    /// A barrier or a kerb.
    Barrier,
    /// A static prop (building, tree, sign).
    Prop,
    /// The NPC car with this index.
    Npc(u32),
    /// The ego car.
    Ego,
}

impl Tag {
    fn encode(self) -> u128 {
        match self {
            Tag::Ground => 1,
            Tag::Road => 2,
            Tag::Barrier => 3,
            Tag::Prop => 4,
            Tag::Ego => 5,
            Tag::Npc(i) => 6 | ((i as u128) << 8),
        }
    }

    fn decode(data: u128) -> Option<Tag> {
        Some(match data & 0xff {
            1 => Tag::Ground,
            2 => Tag::Road,
            3 => Tag::Barrier,
            4 => Tag::Prop,
            5 => Tag::Ego,
            6 => Tag::Npc((data >> 8) as u32),
            _ => return None,
        })
    }
}

struct Ego {
    body: RigidBodyHandle,
    collider: ColliderHandle,
    controller: DynamicRayCastVehicleController,
    config: VehicleConfig,
    control: VehicleControl,
}

struct Npc {
    body: RigidBodyHandle,
    /// Pose the NPC reaches at the end of the current control step: x, y, z, yaw.
    target: [f32; 4],
    /// Pose at the start of the control step.
    current: [f32; 4],
}

/// A rapier world with a fixed control step split into substeps. Everything in it is
/// deterministic: the same builders called in the same order with the same inputs give
/// bit-identical states. The seed is kept for callers that derive randomness from it.
pub struct World {
    pw: PhysicsWorld,
    config: WorldConfig,
    seed: u64,
    ego: Option<Ego>,
    npcs: Vec<Npc>,
    contacts: Vec<Tag>,
    time: f64,
}

/// NPCs within this distance (metres) of the ego car move smoothly over the substeps.
const NEAR_RADIUS: f32 = 40.0;

fn yaw_rotation(yaw: f32) -> Rotation {
    Rotation::from_axis_angle(Vector::Y, yaw)
}

impl World {
    /// An empty world (gravity only).
    pub fn new(config: WorldConfig, seed: u64) -> Self {
        let mut pw = PhysicsWorld::new();
        pw.gravity = Vector::new(0.0, -config.gravity, 0.0);
        pw.integration_parameters.dt = config.control_dt / config.substeps.max(1) as f32;
        World { pw, config, seed, ego: None, npcs: Vec::new(), contacts: Vec::new(), time: 0.0 }
    }

    /// The seed this world was made with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The timing configuration.
    pub fn config(&self) -> WorldConfig {
        self.config
    }

    /// Simulated seconds since the world was made.
    pub fn time(&self) -> f64 {
        self.time
    }

    /// Flat ground whose top is y = 0, `half_x` by `half_z` metres around `center` ([x, z]).
    pub fn add_ground(&mut self, center: [f32; 2], half_x: f32, half_z: f32) -> ColliderHandle {
        let c = ColliderBuilder::cuboid(half_x, 0.5, half_z)
            .translation(Vector::new(center[0], -0.5, center[1]))
            .friction(1.0)
            .user_data(Tag::Ground.encode());
        self.pw.colliders.insert(c)
    }

    /// A straight road surface from `a` to `b` ([x, z]), `width` metres wide, its top flush
    /// with the ground (y = 0).
    pub fn add_road_segment(&mut self, a: [f32; 2], b: [f32; 2], width: f32) -> ColliderHandle {
        let (dx, dz) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dz * dz).sqrt().max(1e-3);
        let mid = [(a[0] + b[0]) / 2.0, -0.05, (a[1] + b[1]) / 2.0];
        self.add_static_box(mid, [len / 2.0, 0.05, width / 2.0], (-dz).atan2(dx), Tag::Road)
    }

    /// A static box (barrier, kerb, building, prop) centred at `center`, rotated `yaw`
    /// radians about +Y, tagged `tag` for contact reports.
    pub fn add_static_box(&mut self, center: [f32; 3], half_extents: [f32; 3], yaw: f32, tag: Tag) -> ColliderHandle {
        let c = ColliderBuilder::cuboid(half_extents[0], half_extents[1], half_extents[2])
            .position(Pose::from_parts(Vector::from(center), yaw_rotation(yaw)))
            .friction(0.5)
            .user_data(tag.encode());
        self.pw.colliders.insert(c)
    }

    /// A barrier segment (e.g. a guard rail) from `a` to `b` ([x, z]), `height` tall and
    /// `thickness` thick, standing on the ground.
    pub fn add_barrier(&mut self, a: [f32; 2], b: [f32; 2], height: f32, thickness: f32) -> ColliderHandle {
        let (dx, dz) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dz * dz).sqrt().max(1e-3);
        let mid = [(a[0] + b[0]) / 2.0, height / 2.0, (a[1] + b[1]) / 2.0];
        self.add_static_box(mid, [len / 2.0, height / 2.0, thickness / 2.0], (-dz).atan2(dx), Tag::Barrier)
    }

    /// Places the ego car resting on flat ground at `[x, z]`, heading `yaw`, moving forward
    /// at `speed` m/s. Replaces any previous ego car.
    pub fn add_ego(&mut self, config: VehicleConfig, xz: [f32; 2], yaw: f32, speed: f32) {
        if let Some(old) = self.ego.take() {
            self.pw.remove_body_with_colliders(old.body, true);
        }
        let rot = yaw_rotation(yaw);
        let pos = Vector::new(xz[0], config.rest_height(), xz[1]);
        let body = RigidBodyBuilder::dynamic()
            .pose(Pose::from_parts(pos, rot))
            .linvel(rot * Vector::new(speed, 0.0, 0.0))
            .linear_damping(0.05)
            .angular_damping(0.5)
            .can_sleep(false)
            .build();
        let h = config.half_extents;
        let volume = 8.0 * h[0] * h[1] * h[2];
        let collider = ColliderBuilder::cuboid(h[0], h[1], h[2])
            .density(config.mass / volume)
            .friction(0.3)
            .active_events(ActiveEvents::empty())
            .user_data(Tag::Ego.encode())
            .build();
        let (body, collider) = self.pw.insert(body, collider);
        let mut controller = DynamicRayCastVehicleController::new(body);
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
        self.ego = Some(Ego { body, collider, controller, config, control: VehicleControl::default() });
    }

    /// Adds a kinematic NPC car (a box with these half extents, its bottom on the ground)
    /// at `[x, z]` heading `yaw`; it is solid to the ego car and moved only by
    /// [`World::set_npc_target`]. Returns its index (its [`Tag::Npc`] number).
    pub fn add_npc(&mut self, half_extents: [f32; 3], xz: [f32; 2], yaw: f32) -> usize {
        let i = self.npcs.len();
        let y = half_extents[1] + 0.15;
        let body = RigidBodyBuilder::kinematic_position_based()
            .pose(Pose::from_parts(Vector::new(xz[0], y, xz[1]), yaw_rotation(yaw)))
            .build();
        let collider = ColliderBuilder::cuboid(half_extents[0], half_extents[1], half_extents[2])
            .user_data(Tag::Npc(i as u32).encode())
            .build();
        let (body, _) = self.pw.insert(body, collider);
        let p = [xz[0], y, xz[1], yaw];
        self.npcs.push(Npc { body, target: p, current: p });
        i
    }

    /// Number of NPC cars.
    pub fn npc_count(&self) -> usize {
        self.npcs.len()
    }

    /// Where NPC `i` will be at the end of the next control step: `[x, z]` and `yaw`. It
    /// moves there smoothly over the substeps. Unknown indices are ignored.
    pub fn set_npc_target(&mut self, i: usize, xz: [f32; 2], yaw: f32) {
        if let Some(n) = self.npcs.get_mut(i) {
            n.target = [xz[0], n.current[1], xz[1], yaw];
        }
    }

    /// Sets the ego car's inputs for the following steps.
    pub fn set_ego_control(&mut self, control: VehicleControl) {
        if let Some(e) = self.ego.as_mut() {
            e.control = VehicleControl {
                steer: control.steer.clamp(-1.0, 1.0),
                throttle_brake: control.throttle_brake.clamp(-1.0, 1.0),
            };
        }
    }

    /// Advances one control step (`substeps` physics steps), moving NPCs to their targets
    /// and driving the ego car with its inputs. Afterwards [`World::ego_contacts`] lists
    /// what the ego car touched during the step.
    pub fn step(&mut self) {
        self.contacts.clear();
        let n = self.config.substeps.max(1);
        let dt = self.pw.integration_parameters.dt;
        // NPCs far from the ego car (or with no ego) jump to their target on the first
        // substep instead of being interpolated: they cannot touch it within one control
        // step, and every moved collider costs a broad-phase update per substep.
        let ego_at = self.ego_state().map(|s| [s.position[0], s.position[2]]);
        let near: Vec<bool> = self
            .npcs
            .iter()
            .map(|npc| ego_at.is_some_and(|e| (npc.target[0] - e[0]).hypot(npc.target[2] - e[1]) < NEAR_RADIUS))
            .collect();
        for k in 1..=n {
            let f = k as f32 / n as f32;
            for (npc, &near) in self.npcs.iter().zip(&near) {
                if !near && k > 1 {
                    continue;
                }
                let f = if near { f } else { 1.0 };
                let [x0, y, z0, a0] = npc.current;
                let [x1, _, z1, a1] = npc.target;
                let mut da = a1 - a0;
                da -= (da / std::f32::consts::TAU).round() * std::f32::consts::TAU;
                let pose =
                    Pose::from_parts(Vector::new(x0 + (x1 - x0) * f, y, z0 + (z1 - z0) * f), yaw_rotation(a0 + da * f));
                if let Some(b) = self.pw.bodies.get_mut(npc.body) {
                    b.set_next_kinematic_position(pose);
                }
            }
            if let Some(ego) = self.ego.as_mut() {
                let c = &ego.config;
                let speed = self.pw.bodies.get(ego.body).map(|b| b.linvel().length()).unwrap_or(0.0);
                let tb = ego.control.throttle_brake;
                let fade = (1.0 - speed / c.top_speed).max(0.0);
                let engine = if tb > 0.0 { tb * c.max_engine_force * fade / 2.0 } else { 0.0 };
                let brake = if tb < 0.0 { -tb * c.max_brake_force / 4.0 * dt } else { 0.0 };
                let steer = ego.control.steer * c.max_steer;
                for (w, wheel) in ego.controller.wheels_mut().iter_mut().enumerate() {
                    let front = w < 2;
                    wheel.steering = if front { steer } else { 0.0 };
                    wheel.engine_force = if front { 0.0 } else { engine };
                    wheel.brake = brake;
                }
                let filter = QueryFilter::only_fixed();
                let queries = self.pw.broad_phase.as_query_pipeline_mut(
                    self.pw.narrow_phase.query_dispatcher(),
                    &mut self.pw.bodies,
                    &mut self.pw.colliders,
                    filter,
                );
                ego.controller.update_vehicle(dt, queries);
            }
            self.pw.step();
            if let Some(ego) = self.ego.as_ref() {
                for pair in self.pw.narrow_phase.contact_pairs_with(ego.collider) {
                    if !pair.has_any_active_contact() {
                        continue;
                    }
                    let other = if pair.collider1 == ego.collider { pair.collider2 } else { pair.collider1 };
                    let tag = self.pw.colliders.get(other).and_then(|c| Tag::decode(c.user_data));
                    if let Some(t) = tag.filter(|t| !matches!(t, Tag::Ground | Tag::Road)) {
                        if !self.contacts.contains(&t) {
                            self.contacts.push(t);
                        }
                    }
                }
            }
        }
        for npc in &mut self.npcs {
            npc.current = npc.target;
        }
        self.contacts.sort_unstable();
        self.time += self.config.control_dt as f64;
    }

    /// What the ego car's chassis touched during the last step (ground and roads
    /// excluded), sorted.
    pub fn ego_contacts(&self) -> &[Tag] {
        &self.contacts
    }

    /// The ego car's state, if there is one.
    pub fn ego_state(&self) -> Option<VehicleState> {
        let ego = self.ego.as_ref()?;
        let b = self.pw.bodies.get(ego.body)?;
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
            steer_angle: ego.controller.wheels().first().map(|w| w.steering).unwrap_or(0.0),
            wheels_on_ground: ego.controller.wheels().iter().filter(|w| w.raycast_info().is_in_contact).count() as u32,
        })
    }

    /// The ego car's configuration, if there is one.
    pub fn ego_config(&self) -> Option<&VehicleConfig> {
        self.ego.as_ref().map(|e| &e.config)
    }

    /// The underlying rapier world, for queries this wrapper does not offer.
    pub fn rapier(&self) -> &PhysicsWorld {
        &self.pw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat_world() -> World {
        let mut w = World::new(WorldConfig::default(), 0);
        w.add_ground([0.0, 0.0], 500.0, 500.0);
        w.add_ego(VehicleConfig::default(), [0.0, 0.0], 0.0, 0.0);
        w
    }

    #[test]
    fn car_rests_accelerates_and_steers_left() {
        let mut w = flat_world();
        for _ in 0..30 {
            w.step();
        }
        let s = w.ego_state().unwrap();
        assert_eq!(s.wheels_on_ground, 4);
        assert!(s.forward_speed.abs() < 0.05, "{s:?}");
        w.set_ego_control(VehicleControl { steer: 0.0, throttle_brake: 1.0 });
        for _ in 0..45 {
            w.step();
        }
        let s = w.ego_state().unwrap();
        assert!(s.forward_speed > 5.0 && s.position[0] > 5.0, "{s:?}");
        w.set_ego_control(VehicleControl { steer: 0.5, throttle_brake: 0.2 });
        for _ in 0..15 {
            w.step();
        }
        let s = w.ego_state().unwrap();
        // Turning left from +X heads toward -Z.
        assert!(s.linvel[2] < -0.5, "{s:?}");
        w.set_ego_control(VehicleControl { steer: 0.0, throttle_brake: -1.0 });
        for _ in 0..60 {
            w.step();
        }
        assert!(w.ego_state().unwrap().forward_speed.abs() < 0.1);
    }

    #[test]
    fn ego_hits_barriers_and_npcs() {
        let mut w = flat_world();
        w.add_barrier([15.0, -5.0], [15.0, 5.0], 1.0, 0.3);
        w.set_ego_control(VehicleControl { steer: 0.0, throttle_brake: 1.0 });
        let mut hit = false;
        for _ in 0..100 {
            w.step();
            hit |= w.ego_contacts() == [Tag::Barrier];
        }
        assert!(hit);
        let mut w = flat_world();
        w.add_npc([2.25, 0.7, 0.9], [12.0, 0.0], 0.0);
        w.set_ego_control(VehicleControl { steer: 0.0, throttle_brake: 1.0 });
        let mut hit = false;
        for _ in 0..100 {
            w.step();
            hit |= w.ego_contacts() == [Tag::Npc(0)];
        }
        assert!(hit);
    }

    #[test]
    fn stepping_is_deterministic() {
        let run = || {
            let mut w = flat_world();
            w.add_npc([2.25, 0.7, 0.9], [20.0, 3.0], 0.0);
            let mut out = Vec::new();
            for i in 0..60 {
                w.set_ego_control(VehicleControl { steer: (i as f32 * 0.1).sin(), throttle_brake: 0.7 });
                w.set_npc_target(0, [20.0 + i as f32 * 0.5, 3.0], 0.0);
                w.step();
                out.push(w.ego_state().unwrap().position.map(f32::to_bits));
            }
            out
        };
        assert_eq!(run(), run());
    }
}
