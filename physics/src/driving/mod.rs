//! Driving scenes on the general [`World`]: the ground, road surfaces, barriers and props,
//! the ego car (a ray-cast vehicle) and kinematic NPC cars, with contacts classified by
//! [`Tag`].

mod vehicle;

use rapier3d::prelude::*;

pub use vehicle::{VehicleConfig, VehicleControl, VehicleState};

use crate::world::{BodyDesc, BodyId, ColliderDesc, ColliderId, World, WorldConfig};
use vehicle::Vehicle;

/// What a collider is in a driving scene, stored as its user tag so contacts can be
/// classified.
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
    /// The collider user tag for this tag.
    pub fn encode(self) -> u64 {
        match self {
            Tag::Ground => 1,
            Tag::Road => 2,
            Tag::Barrier => 3,
            Tag::Prop => 4,
            Tag::Ego => 5,
            Tag::Npc(i) => 6 | ((i as u64) << 8),
        }
    }

    /// The tag a collider user tag stands for, if any.
    pub fn decode(tag: u64) -> Option<Tag> {
        Some(match tag & 0xff {
            1 => Tag::Ground,
            2 => Tag::Road,
            3 => Tag::Barrier,
            4 => Tag::Prop,
            5 => Tag::Ego,
            6 => Tag::Npc((tag >> 8) as u32),
            _ => return None,
        })
    }
}

struct Npc {
    body: BodyId,
    /// Pose the NPC reaches at the end of the current control step: x, y, z, yaw.
    target: [f32; 4],
    /// Pose at the start of the control step.
    current: [f32; 4],
}

/// A driving scene on a [`World`] with a fixed control step split into substeps. Everything
/// in it is deterministic: the same builders called in the same order with the same inputs
/// give bit-identical states. The seed is kept for callers that derive randomness from it.
pub struct DrivingWorld {
    world: World,
    ego: Option<Vehicle>,
    npcs: Vec<Npc>,
    contacts: Vec<Tag>,
}

/// NPCs within this distance (metres) of the ego car move smoothly over the substeps.
const NEAR_RADIUS: f32 = 40.0;

fn yaw_rotation(yaw: f32) -> [f32; 4] {
    Rotation::from_axis_angle(Vector::Y, yaw).to_array()
}

impl DrivingWorld {
    /// An empty scene (gravity only).
    pub fn new(config: WorldConfig, seed: u64) -> Self {
        DrivingWorld { world: World::new(config, seed), ego: None, npcs: Vec::new(), contacts: Vec::new() }
    }

    /// The seed this world was made with.
    pub fn seed(&self) -> u64 {
        self.world.seed()
    }

    /// The timing configuration.
    pub fn config(&self) -> WorldConfig {
        self.world.config()
    }

    /// Simulated seconds since the world was made.
    pub fn time(&self) -> f64 {
        self.world.time()
    }

    /// Flat ground whose top is y = 0, `half_x` by `half_z` metres around `center` ([x, z]).
    pub fn add_ground(&mut self, center: [f32; 2], half_x: f32, half_z: f32) -> ColliderId {
        let c = ColliderDesc::cuboid([half_x, 0.5, half_z])
            .position([center[0], -0.5, center[1]])
            .friction(1.0)
            .tag(Tag::Ground.encode());
        self.world.add_collider(&c, None)
    }

    /// A straight road surface from `a` to `b` ([x, z]), `width` metres wide, its top flush
    /// with the ground (y = 0).
    pub fn add_road_segment(&mut self, a: [f32; 2], b: [f32; 2], width: f32) -> ColliderId {
        let (dx, dz) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dz * dz).sqrt().max(1e-3);
        let mid = [(a[0] + b[0]) / 2.0, -0.05, (a[1] + b[1]) / 2.0];
        self.add_static_box(mid, [len / 2.0, 0.05, width / 2.0], (-dz).atan2(dx), Tag::Road)
    }

    /// A static box (barrier, kerb, building, prop) centred at `center`, rotated `yaw`
    /// radians about +Y, tagged `tag` for contact reports.
    pub fn add_static_box(&mut self, center: [f32; 3], half_extents: [f32; 3], yaw: f32, tag: Tag) -> ColliderId {
        let c = ColliderDesc::cuboid(half_extents).position(center).rotation(yaw_rotation(yaw)).tag(tag.encode());
        self.world.add_collider(&c.friction(0.5), None)
    }

    /// A barrier segment (e.g. a guard rail) from `a` to `b` ([x, z]), `height` tall and
    /// `thickness` thick, standing on the ground.
    pub fn add_barrier(&mut self, a: [f32; 2], b: [f32; 2], height: f32, thickness: f32) -> ColliderId {
        let (dx, dz) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dz * dz).sqrt().max(1e-3);
        let mid = [(a[0] + b[0]) / 2.0, height / 2.0, (a[1] + b[1]) / 2.0];
        self.add_static_box(mid, [len / 2.0, height / 2.0, thickness / 2.0], (-dz).atan2(dx), Tag::Barrier)
    }

    /// Places the ego car resting on flat ground at `[x, z]`, heading `yaw`, moving forward
    /// at `speed` m/s. Replaces any previous ego car.
    pub fn add_ego(&mut self, config: VehicleConfig, xz: [f32; 2], yaw: f32, speed: f32) {
        if let Some(old) = self.ego.take() {
            self.world.remove_body(old.body);
        }
        self.ego = Some(Vehicle::spawn(&mut self.world, config, xz, yaw, speed, Tag::Ego.encode()));
    }

    /// Adds a kinematic NPC car (a box with these half extents, its bottom on the ground)
    /// at `[x, z]` heading `yaw`; it is solid to the ego car and moved only by
    /// [`DrivingWorld::set_npc_target`]. Returns its index (its [`Tag::Npc`] number).
    pub fn add_npc(&mut self, half_extents: [f32; 3], xz: [f32; 2], yaw: f32) -> usize {
        let i = self.npcs.len();
        let y = half_extents[1] + 0.15;
        let body = self.world.add_body(&BodyDesc::kinematic().position([xz[0], y, xz[1]]).rotation(yaw_rotation(yaw)));
        self.world.add_collider(&ColliderDesc::cuboid(half_extents).tag(Tag::Npc(i as u32).encode()), Some(body));
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
            e.set_control(control);
        }
    }

    /// Advances one control step (`substeps` physics steps), moving NPCs to their targets
    /// and driving the ego car with its inputs. Afterwards [`DrivingWorld::ego_contacts`]
    /// lists what the ego car touched during the step.
    pub fn step(&mut self) {
        // NPCs far from the ego car (or with no ego) jump to their target on the first
        // substep instead of being interpolated: they cannot touch it within one control
        // step, and every moved collider costs a broad-phase update per substep.
        let ego_at = self.ego_state().map(|s| [s.position[0], s.position[2]]);
        let near: Vec<bool> = self
            .npcs
            .iter()
            .map(|npc| ego_at.is_some_and(|e| (npc.target[0] - e[0]).hypot(npc.target[2] - e[1]) < NEAR_RADIUS))
            .collect();
        let (npcs, ego) = (&self.npcs, &mut self.ego);
        self.world.step_with(|w, i, n| {
            let k = i + 1;
            let f = k as f32 / n as f32;
            for (npc, &near) in npcs.iter().zip(&near) {
                if !near && k > 1 {
                    continue;
                }
                let f = if near { f } else { 1.0 };
                let [x0, y, z0, a0] = npc.current;
                let [x1, _, z1, a1] = npc.target;
                let mut da = a1 - a0;
                da -= (da / std::f32::consts::TAU).round() * std::f32::consts::TAU;
                let position = [x0 + (x1 - x0) * f, y, z0 + (z1 - z0) * f];
                w.set_kinematic_target(npc.body, position, yaw_rotation(a0 + da * f));
            }
            if let Some(ego) = ego.as_mut() {
                ego.drive(w);
            }
        });
        for npc in &mut self.npcs {
            npc.current = npc.target;
        }
        self.contacts.clear();
        if let Some(ego) = &self.ego {
            for t in self.world.contacts(ego.collider) {
                if let Some(t) = Tag::decode(t.tag).filter(|t| !matches!(t, Tag::Ground | Tag::Road)) {
                    if !self.contacts.contains(&t) {
                        self.contacts.push(t);
                    }
                }
            }
        }
        self.contacts.sort_unstable();
    }

    /// What the ego car's chassis touched during the last step (ground and roads
    /// excluded), sorted.
    pub fn ego_contacts(&self) -> &[Tag] {
        &self.contacts
    }

    /// The ego car's state, if there is one.
    pub fn ego_state(&self) -> Option<VehicleState> {
        self.ego.as_ref()?.state(&self.world)
    }

    /// The ego car's configuration, if there is one.
    pub fn ego_config(&self) -> Option<&VehicleConfig> {
        self.ego.as_ref().map(|e| &e.config)
    }

    /// The ego car's chassis body, if there is one.
    pub fn ego_body(&self) -> Option<BodyId> {
        self.ego.as_ref().map(|e| e.body)
    }

    /// The body of NPC `i`.
    pub fn npc_body(&self, i: usize) -> Option<BodyId> {
        self.npcs.get(i).map(|n| n.body)
    }

    /// The general world underneath, for ray casts, extra bodies and joints.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The general world underneath, mutably.
    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }

    /// The underlying rapier world, for queries this wrapper does not offer.
    pub fn rapier(&self) -> &PhysicsWorld {
        self.world.rapier()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat_world() -> DrivingWorld {
        let mut w = DrivingWorld::new(WorldConfig::default(), 0);
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

    #[test]
    fn tags_round_trip_and_npcs_are_reachable_through_the_general_world() {
        for t in [Tag::Ground, Tag::Road, Tag::Barrier, Tag::Prop, Tag::Ego, Tag::Npc(0), Tag::Npc(70_000)] {
            assert_eq!(Tag::decode(t.encode()), Some(t));
        }
        assert_eq!(Tag::decode(0), None);
        let mut w = flat_world();
        w.add_npc([2.25, 0.7, 0.9], [10.0, 0.0], 0.0);
        w.step();
        let hit = w.world().cast_ray(
            [0.0, 0.8, 0.0],
            [1.0, 0.0, 0.0],
            50.0,
            &crate::RayFilter { exclude_body: w.ego_body(), ..Default::default() },
        );
        let hit = hit.expect("the NPC is in front of the ego car");
        assert_eq!(Tag::decode(hit.tag), Some(Tag::Npc(0)));
        assert_eq!(hit.body, w.npc_body(0));
        assert!((hit.distance - 7.75).abs() < 1e-4, "{hit:?}");
    }
}
