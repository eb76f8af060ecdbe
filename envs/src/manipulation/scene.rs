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

/// The facts a text goal can name, each in many phrasings ([`Caption::from_templates`]:
/// synonyms for the cube, the target, the gripper and the robot, active and passive, short
/// and long, negated where natural). The first three phrasings of every fact are the three
/// the arm towers were trained on (datasets rendered with `--max-phrasings 3` stay as they
/// were).
pub(super) fn captions(task: Task, s: &ArmState) -> Vec<Caption> {
    let mut out = Vec::new();
    let finger = s.qpos.get(7).copied().unwrap_or(0.04);
    if finger > 0.03 {
        out.push(Caption::from_templates(
            "gripper.open",
            &[
                "the {gripper|hand} is open",
                "the robot's fingers are spread apart",
                "the gripper's jaws are {wide open|apart}",
                "the {robot|arm} has {opened|released} its {gripper|fingers}",
                "an open {gripper|hand} on the {robot arm|arm}",
                "the {gripper|hand} is not closed",
            ],
        ));
    } else if finger < 0.015 {
        out.push(Caption::from_templates(
            "gripper.closed",
            &[
                "the {gripper|hand} is closed",
                "the robot's fingers are pressed together",
                "the gripper's jaws are {shut|clamped}",
                "the {robot|arm} has {closed|clenched} its {gripper|fingers}",
                "a closed {gripper|hand} on the {robot arm|arm}",
                "the {gripper|hand} is not open",
            ],
        ));
    }
    if task == Task::Reach {
        let d = dist(s.tcp, s.goal);
        if d < GOAL_THRESH {
            out.push(Caption::from_templates(
                "gripper.at_goal",
                &[
                    "the {gripper|hand} touches the green {ball|sphere}",
                    "the robot's hand is at the green marker",
                    "the fingertips reach the green {sphere|ball}",
                    "the {robot|arm} has reached the green {ball|sphere}",
                    "the green {ball|sphere} is {touched|reached} by the {gripper|robot's hand}",
                    "the {gripper|hand} is {right at|on} the green {ball|sphere}",
                ],
            ));
        } else if d > 0.15 {
            out.push(Caption::from_templates(
                "gripper.far_from_goal",
                &[
                    "the {gripper|hand} is far from the green {ball|sphere}",
                    "the robot's hand is away from the green marker",
                    "the green sphere is out of the {gripper's|hand's} reach",
                    "the {robot|arm} has not reached the green {ball|sphere}",
                    "the green {ball|sphere} is {far|away} from the {gripper|robot's hand}",
                    "the {gripper|hand} is not at the green {ball|sphere}",
                ],
            ));
        }
        return out;
    }
    let to_goal = if task == Task::PushCube { dist_xy(s.cube, s.goal) } else { dist(s.cube, s.goal) };
    if s.success {
        out.push(Caption::from_templates(
            "cube.on_target",
            &[
                "the {red cube|cube|red block|block} sits on the green {target|goal}",
                "the {red block|cube} is at the {goal|target}",
                "the {cube|block} has reached the green {target|goal}",
                "the {robot|arm} has {moved|brought} the {red cube|block} onto the green {target|goal}",
                "the green {target|goal} is covered by the {red cube|red block}",
                "a {red cube|red block} on the green {target|goal}",
                "the {cube|block} is {exactly|right} on the {target|goal}",
                "the {cube|block} is no longer away from the {target|goal}",
            ],
        ));
    } else if to_goal > 0.15 {
        out.push(Caption::from_templates(
            "cube.far_from_target",
            &[
                "the {cube|red cube|block|red block} is far from the {target|green target|goal}",
                "the red block is away from the green {goal|target}",
                "the {cube|block} has not reached the {target|goal}",
                "the {robot|arm} has not {moved|brought} the {cube|block} to the green {target|goal} yet",
                "the green {target|goal} is empty and the {cube|block} is {far|some way} from it",
                "a {red cube|red block} {far|away} from the green {target|goal}",
                "the {cube|block} is not on the {target|goal}",
                "the {cube|block} is still {short of|off} the {target|goal}",
            ],
        ));
    }
    if s.cube[2] > CUBE_HALF + 0.03 {
        out.push(Caption::from_templates(
            "cube.lifted",
            &[
                "the {red cube|cube|red block} is lifted above the table",
                "the robot holds the {cube|block} up in the air",
                "the {block|cube} is raised off the table",
                "the {cube|block} has been {picked up|lifted} by the {robot|arm}",
                "a {red cube|red block} {hanging|held} above the table",
                "the {cube|block} is not on the table {any more|now}",
            ],
        ));
    } else if s.cube[2] < -CUBE_HALF {
        out.push(Caption::from_templates(
            "cube.off_table",
            &[
                "the {red cube|cube|red block} has fallen off the table",
                "the {block|cube} lies on the floor",
                "the {cube|block} dropped over the table's edge",
                "the {robot|arm} has knocked the {cube|block} {off the table|to the floor}",
                "a {red cube|red block} on the floor beside the table",
                "the {cube|block} is no longer on the table",
            ],
        ));
    } else if s.cube[2] < CUBE_HALF + 0.005 {
        out.push(Caption::from_templates(
            "cube.on_table",
            &[
                "the {red cube|cube} rests on the table",
                "the {block|red block} lies on the table",
                "the cube sits on the {tabletop|table}",
                "the {cube|block} is {flat|standing} on the table",
                "a {red cube|red block} on the {table|tabletop}",
                "the {cube|block} has not been lifted",
            ],
        ));
    }
    if s.grasped {
        out.push(Caption::from_templates(
            "gripper.holding_cube",
            &[
                "the {gripper|hand} holds the {red cube|cube}",
                "the robot has grasped the {block|cube}",
                "the {cube|block} is held between the fingers",
                "the {red cube|red block} is {gripped|clamped} by the {gripper|robot's hand}",
                "a {gripper|hand} {holding|grasping} a {red cube|red block}",
                "the {robot|arm} has not let go of the {cube|block}",
            ],
        ));
    }
    if !s.grasped && dist(s.tcp, s.cube) < 0.04 && s.tcp[2] < s.cube[2] + 0.03 {
        out.push(Caption::from_templates(
            "gripper.touching_cube",
            &[
                "the {gripper|hand} touches the side of the {red cube|cube}",
                "the robot's hand is pressed against the {block|cube}",
                "the fingers are right next to the {cube|block}",
                "the {red cube|red block} is touched by the {gripper|robot's hand}",
                "a {gripper|hand} in contact with a {red cube|red block}",
                "the {gripper|hand} leans on the {cube|block} without holding it",
            ],
        ));
    }
    if dist_xy(s.tcp, s.cube) < 0.02 && s.tcp[2] > s.cube[2] + 0.05 {
        out.push(Caption::from_templates(
            "gripper.above_cube",
            &[
                "the {gripper|hand} is right above the {red cube|cube}",
                "the robot's hand hovers over the {block|cube}",
                "the fingers are positioned over the {cube|block}",
                "the {red cube|red block} is {directly|just} below the {gripper|robot's hand}",
                "a {gripper|hand} hovering over a {red cube|red block}",
                "the {gripper|hand} is over the {cube|block} but not touching it",
            ],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fact of every arm task, in at least ten phrasings, none of them a sentence of
    /// the held-out or development goal files (the judges of the reward model stay unseen),
    /// and the first three the ones the arm towers were trained on.
    #[test]
    fn arm_captions_are_varied_and_never_say_a_held_out_goal() {
        let heldout = crate::scene::heldout_sentences("arm_push.toml");
        let base = ArmState { qpos: vec![0.0; 9], goal: [0.2, 0.0, 0.001], ..ArmState::default() };
        let states = [
            // On the target, the gripper open and touching it.
            ArmState {
                cube: [0.2, 0.0, CUBE_HALF],
                tcp: [0.17, 0.0, 0.02],
                success: true,
                qpos: vec![0.04; 9],
                ..base.clone()
            },
            // Far from it, lifted and held, the gripper closed.
            ArmState { cube: [-0.1, 0.0, 0.2], tcp: [-0.1, 0.0, 0.2], grasped: true, ..base.clone() },
            // Off the table, the gripper hovering above where it was.
            ArmState { cube: [0.7, 0.0, FLOOR_Z + CUBE_HALF], tcp: [0.7, 0.0, 0.2], ..base.clone() },
            // On the table, the gripper right above it.
            ArmState { cube: [-0.05, 0.0, CUBE_HALF], tcp: [-0.05, 0.0, 0.15], ..base.clone() },
        ];
        let mut facts = Vec::new();
        for s in &states {
            let captions = captions(Task::PushCube, s);
            for c in &captions {
                assert!(c.phrasings.len() >= 10, "{}: {} phrasings", c.fact, c.phrasings.len());
                facts.push(c.fact.clone());
            }
            crate::scene::assert_none_heldout(captions, &heldout);
        }
        for reach in [[0.0, 0.0, 0.2], [0.3, 0.0, 0.2]] {
            let s = ArmState { tcp: [0.0, 0.0, 0.2], goal: reach, ..base.clone() };
            let captions = captions(Task::Reach, &s);
            assert!(captions.iter().all(|c| c.phrasings.len() >= 10));
            facts.extend(captions.iter().map(|c| c.fact.clone()));
            crate::scene::assert_none_heldout(captions, &heldout);
        }
        facts.sort();
        facts.dedup();
        let want = [
            "cube.far_from_target",
            "cube.lifted",
            "cube.off_table",
            "cube.on_table",
            "cube.on_target",
            "gripper.above_cube",
            "gripper.at_goal",
            "gripper.closed",
            "gripper.far_from_goal",
            "gripper.holding_cube",
            "gripper.open",
            "gripper.touching_cube",
        ];
        assert_eq!(facts, want);
        let on = captions(Task::PushCube, &states[0]);
        let on = on.iter().find(|c| c.fact == "cube.on_target").unwrap();
        assert_eq!(
            on.phrasings[..3],
            [
                "the red cube sits on the green target",
                "the red block is at the goal",
                "the cube has reached the green target"
            ]
        );
    }
}
