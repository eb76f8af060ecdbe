//! What an arm task looks like ([`Scene`]) and what is true of it ([`Caption`]).
//!
//! The task frame is Z up; the Scene is Y up, so every pose goes through [`to_scene`]
//! (x, y, z) -> (x, z, -y). The arm's link meshes are registered once in the scene's mesh
//! library as `panda/LINK/K`.

use std::sync::Arc;

use vlmgym_physics::LinkGeometry;

use super::{dist, dist_xy, Arm, ArmState, Sim, Task, CUBE_HALF, FLOOR_Z, GOAL_RADIUS, GOAL_THRESH};
pub use crate::link_scene::to_scene;
use crate::link_scene::{camera, link_objects, object, point};
use crate::scene::{meshes, Camera, Caption, Material, Pose, Scene, Shape};

/// The library name of mesh `k` of link `link`.
fn mesh_name(link: &str, k: usize) -> String {
    format!("panda/{link}/{k}")
}

/// Registers the robot's link meshes in the scene's mesh library (once per process; the
/// data is shared with the loaded robot, not copied).
pub(super) fn register_meshes(sim: &Sim) {
    for link in sim.robot.links() {
        for (k, shape) in link.shapes.iter().enumerate() {
            if let LinkGeometry::Mesh(m) = &shape.geometry {
                let name = mesh_name(&link.name, k);
                if meshes::get(&name).is_none() {
                    meshes::register(&name, Arc::clone(m));
                }
            }
        }
    }
}

impl Arm {
    pub(super) fn build_scene(&self, sim: &Sim) -> Scene {
        let s = &sim.state;
        let w = &sim.world;
        let mut objects = vec![
            object(
                "floor",
                Shape::Plane { half_size: [3.0, 3.0] },
                Pose::from_translation([0.0, FLOOR_Z, 0.0]),
                Material::textured("concrete", 1.0),
                false,
            ),
            object(
                "table",
                Shape::Cuboid { half_extents: [0.709, 0.025, 0.6045] },
                Pose::from_translation([-0.12, -0.025, 0.0]),
                Material::color(0.62, 0.47, 0.32),
                false,
            ),
        ];
        let dark = ["panda_hand", "panda_leftfinger", "panda_rightfinger"];
        for link in sim.robot.links() {
            let (Some(p), Some(r)) = (w.body_position(link.body), w.body_rotation(link.body)) else { continue };
            let material = if dark.contains(&link.name.as_str()) {
                Material::color(0.2, 0.2, 0.22)
            } else {
                Material::color(0.93, 0.93, 0.93)
            };
            objects.extend(link_objects(&link.name, &link.shapes, p, r, &material, |k| mesh_name(&link.name, k)));
        }
        if self.config.task.has_cube() {
            let pose = to_scene(s.cube, s.cube_rot);
            let red = Material::color(0.85, 0.08, 0.08);
            objects.push(object("cube", Shape::Cuboid { half_extents: [CUBE_HALF; 3] }, pose, red, true));
        }
        let green = Material::color(0.1, 0.75, 0.2);
        match self.config.task {
            Task::PushCube => {
                // A target of rings, as ManiSkill3's goal region (green and white here).
                for (i, (r, white)) in
                    [(GOAL_RADIUS, false), (GOAL_RADIUS * 2.0 / 3.0, true), (GOAL_RADIUS / 3.0, false)]
                        .into_iter()
                        .enumerate()
                {
                    let material = if white { Material::color(0.95, 0.95, 0.95) } else { green.clone() };
                    let centre = [s.goal[0], s.goal[1], 0.0005 + 0.0005 * i as f32];
                    let pose = Pose::from_translation(point(centre));
                    let shape = Shape::Cylinder { radius: r, half_height: 0.0005 };
                    objects.push(object(&format!("goal_{i}"), shape, pose, material, true));
                }
            }
            Task::Reach | Task::PickCube => {
                let pose = Pose::from_translation(point(s.goal));
                objects.push(object("goal", Shape::Sphere { radius: GOAL_THRESH }, pose, green, true));
            }
        }
        Scene {
            objects,
            cameras: vec![
                // A view like ManiSkill3's human render camera (aimed lower, so the cube and
                // the goal sit mid-frame), its base camera, a side and a top view, and the
                // reward models' view: closer, over where cubes and goals are spawned, so a
                // 4 cm cube is about 8 pixels wide in a 112-pixel frame (5 from `front`).
                camera("front", [0.55, 0.55, 0.5], [-0.05, 0.0, 0.08], 55.0),
                camera("workspace", [0.5, 0.38, 0.5], [0.05, 0.0, 0.07], 50.0),
                camera("base", [0.3, 0.0, 0.6], [-0.1, 0.0, 0.1], 90.0),
                camera("side", [0.05, -0.85, 0.4], [0.0, 0.0, 0.1], 50.0),
                Camera {
                    name: "top".into(),
                    eye: point([0.0, 0.0, 1.2]),
                    target: [0.0; 3],
                    up: point([1.0, 0.0, 0.0]),
                    fov_y_deg: 45.0,
                    ortho_height: Some(0.8),
                },
            ],
            sun_direction: [-0.35, -1.0, -0.45],
            sky_color: [0.72, 0.8, 0.9],
        }
    }
}

/// The facts a text goal can name, three phrasings each.
pub(super) fn captions(task: Task, s: &ArmState) -> Vec<Caption> {
    let mut out = Vec::new();
    let finger = s.qpos.get(7).copied().unwrap_or(0.04);
    if finger > 0.03 {
        out.push(Caption::new(
            "gripper.open",
            &["the gripper is open", "the robot's fingers are spread apart", "the gripper's jaws are wide open"],
        ));
    } else if finger < 0.015 {
        out.push(Caption::new(
            "gripper.closed",
            &["the gripper is closed", "the robot's fingers are pressed together", "the gripper's jaws are shut"],
        ));
    }
    if task == Task::Reach {
        let d = dist(s.tcp, s.goal);
        if d < GOAL_THRESH {
            out.push(Caption::new(
                "gripper.at_goal",
                &[
                    "the gripper touches the green ball",
                    "the robot's hand is at the green marker",
                    "the fingertips reach the green sphere",
                ],
            ));
        } else if d > 0.15 {
            out.push(Caption::new(
                "gripper.far_from_goal",
                &[
                    "the gripper is far from the green ball",
                    "the robot's hand is away from the green marker",
                    "the green sphere is out of the gripper's reach",
                ],
            ));
        }
        return out;
    }
    let to_goal = if task == Task::PushCube { dist_xy(s.cube, s.goal) } else { dist(s.cube, s.goal) };
    if s.success {
        out.push(Caption::new(
            "cube.on_target",
            &[
                "the red cube sits on the green target",
                "the red block is at the goal",
                "the cube has reached the green target",
            ],
        ));
    } else if to_goal > 0.15 {
        out.push(Caption::new(
            "cube.far_from_target",
            &[
                "the cube is far from the target",
                "the red block is away from the green goal",
                "the cube has not reached the target",
            ],
        ));
    }
    if s.cube[2] > CUBE_HALF + 0.03 {
        out.push(Caption::new(
            "cube.lifted",
            &[
                "the red cube is lifted above the table",
                "the robot holds the cube up in the air",
                "the block is raised off the table",
            ],
        ));
    } else if s.cube[2] < -CUBE_HALF {
        out.push(Caption::new(
            "cube.off_table",
            &[
                "the red cube has fallen off the table",
                "the block lies on the floor",
                "the cube dropped over the table's edge",
            ],
        ));
    } else if s.cube[2] < CUBE_HALF + 0.005 {
        out.push(Caption::new(
            "cube.on_table",
            &["the red cube rests on the table", "the block lies on the table", "the cube sits on the tabletop"],
        ));
    }
    if s.grasped {
        out.push(Caption::new(
            "gripper.holding_cube",
            &[
                "the gripper holds the red cube",
                "the robot has grasped the block",
                "the cube is held between the fingers",
            ],
        ));
    }
    if !s.grasped && dist(s.tcp, s.cube) < 0.04 && s.tcp[2] < s.cube[2] + 0.03 {
        out.push(Caption::new(
            "gripper.touching_cube",
            &[
                "the gripper touches the side of the red cube",
                "the robot's hand is pressed against the block",
                "the fingers are right next to the cube",
            ],
        ));
    }
    if dist_xy(s.tcp, s.cube) < 0.02 && s.tcp[2] > s.cube[2] + 0.05 {
        out.push(Caption::new(
            "gripper.above_cube",
            &[
                "the gripper is right above the red cube",
                "the robot's hand hovers over the block",
                "the fingers are positioned over the cube",
            ],
        ));
    }
    out
}
