//! What a navigation episode looks like ([`Scene`]: floor, walls, objects, the robot; the
//! `ego`, `follow` and `top` cameras) and what is true of it ([`Caption`]: the target in
//! view, ahead, left or right, near or far, reached; the robot's room; a wall ahead).
//!
//! The world is Z up, the Scene Y up: poses go through [`to_scene`].

use std::f32::consts::{FRAC_PI_2, TAU};
use std::sync::{Arc, Once};

use super::{wrap, NavObject, NavState, COLOURS, EGO_HFOV_DEG, ROBOT_RADIUS, SUCCESS_RADIUS};
use crate::link_scene::{camera, object, point, to_scene};
use crate::scene::{meshes, Camera, Caption, Material, Pose, Scene, SceneObject, Shape};

/// Wall height, metres.
pub(super) const WALL_HEIGHT: f32 = 1.2;
/// Height of the `ego` camera, metres (above the robot's 0.35 m body).
pub const EYE_HEIGHT: f32 = 0.5;
/// Vertical field of view of the `ego` camera: [`EGO_HFOV_DEG`] at 4:3.
const EGO_VFOV_DEG: f32 = 60.0;
/// The cone mesh's library name.
const CONE_MESH: &str = "nav/cone";

/// A cone of radius and half height 1 along +z, centred on the origin (scaled per object).
fn register_cone() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let n = 24u32;
        let mut vertices = vec![[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]];
        for k in 0..n {
            let a = k as f32 * TAU / n as f32;
            vertices.push([a.cos(), a.sin(), -1.0]);
        }
        let mut triangles = Vec::new();
        for k in 0..n {
            let (a, b) = (2 + k, 2 + (k + 1) % n);
            triangles.push([a, b, 0]);
            triangles.push([b, a, 1]);
        }
        meshes::register(CONE_MESH, Arc::new(meshes::MeshData { vertices, triangles }));
    });
}

/// A part of an object: shape, offset from its centre on the floor (object frame, Z up).
fn part(name: String, shape: Shape, offset: [f32; 3], o: &NavObject, material: &Material) -> SceneObject {
    let (c, s) = (o.yaw.cos(), o.yaw.sin());
    let p = [o.position[0] + c * offset[0] - s * offset[1], o.position[1] + s * offset[0] + c * offset[1], offset[2]];
    let q = [0.0, 0.0, (o.yaw / 2.0).sin(), (o.yaw / 2.0).cos()];
    object(&name, shape, to_scene(p, q), material.clone(), false)
}

/// The Scene objects of one object, named `object_I` (its parts `object_I_K`).
fn object_parts(i: usize, o: &NavObject) -> Vec<SceneObject> {
    let c = COLOURS[o.colour].1;
    let m = Material::color(c[0], c[1], c[2]);
    let name = |k: usize| if k == 0 { format!("object_{i}") } else { format!("object_{i}_{k}") };
    let cuboid = |h: [f32; 3]| Shape::Cuboid { half_extents: h };
    match o.kind {
        // Ball and box: 0.4 m across.
        0 => vec![part(name(0), Shape::Sphere { radius: 0.2 }, [0.0, 0.0, 0.2], o, &m)],
        1 => vec![part(name(0), cuboid([0.2, 0.2, 0.2]), [0.0, 0.0, 0.2], o, &m)],
        // Key: a bow (ring of four bars), a shaft and two teeth, standing on its edge.
        2 => vec![
            part(name(0), cuboid([0.15, 0.025, 0.02]), [0.05, 0.0, 0.12], o, &m),
            part(name(1), cuboid([0.1, 0.025, 0.02]), [-0.2, 0.0, 0.22], o, &m),
            part(name(2), cuboid([0.1, 0.025, 0.02]), [-0.2, 0.0, 0.02], o, &m),
            part(name(3), cuboid([0.02, 0.025, 0.1]), [-0.29, 0.0, 0.12], o, &m),
            part(name(4), cuboid([0.02, 0.025, 0.1]), [-0.11, 0.0, 0.12], o, &m),
            part(name(5), cuboid([0.02, 0.025, 0.05]), [0.17, 0.0, 0.05], o, &m),
            part(name(6), cuboid([0.02, 0.025, 0.04]), [0.09, 0.0, 0.06], o, &m),
        ],
        // Cone: 0.4 m across, 0.5 m tall.
        3 => vec![part(
            name(0),
            Shape::Mesh { name: CONE_MESH.into(), scale: [0.2, 0.2, 0.25] },
            [0.0, 0.0, 0.25],
            o,
            &m,
        )],
        // Chair: seat, four legs, a back.
        _ => {
            let mut parts = vec![
                part(name(0), cuboid([0.22, 0.22, 0.03]), [0.0, 0.0, 0.3], o, &m),
                part(name(1), cuboid([0.03, 0.22, 0.22]), [-0.2, 0.0, 0.55], o, &m),
            ];
            for (k, (x, y)) in [(0.18, 0.18), (0.18, -0.18), (-0.18, 0.18), (-0.18, -0.18)].into_iter().enumerate() {
                parts.push(part(name(2 + k), cuboid([0.025, 0.025, 0.14]), [x, y, 0.14], o, &m));
            }
            parts
        }
    }
}

/// The episode's Scene.
pub(super) fn build(s: &NavState) -> Scene {
    register_cone();
    let l = &s.layout;
    let mut objects = vec![object(
        "floor",
        Shape::Plane { half_size: [l.width / 2.0, l.depth / 2.0] },
        Pose::from_translation(point([l.width / 2.0, l.depth / 2.0, 0.0])),
        Material::textured("checker", 1.0),
        false,
    )];
    let wall = Material::textured("concrete", 2.0);
    for (i, w) in l.walls.iter().enumerate() {
        let h = [(w[2] - w[0]) / 2.0, (w[3] - w[1]) / 2.0, WALL_HEIGHT / 2.0];
        let c = [(w[0] + w[2]) / 2.0, (w[1] + w[3]) / 2.0, WALL_HEIGHT / 2.0];
        objects.push(object(
            &format!("wall_{i}"),
            Shape::Cuboid { half_extents: h },
            to_scene(c, [0.0, 0.0, 0.0, 1.0]),
            wall.clone(),
            false,
        ));
    }
    for (i, o) in s.objects.iter().enumerate() {
        objects.extend(object_parts(i, o));
    }
    // The robot: a grey drum with a dark nose showing its heading.
    let p = super::Nav::position(s);
    let q = [0.0, 0.0, (s.heading / 2.0).sin(), (s.heading / 2.0).cos()];
    let upright = Pose::from_axis_angle([0.0; 3], [1.0, 0.0, 0.0], FRAC_PI_2);
    let body = to_scene([p[0], p[1], 0.175], q).compose(&upright);
    objects.push(object(
        "robot",
        Shape::Cylinder { radius: ROBOT_RADIUS, half_height: 0.175 },
        body,
        Material::color(0.55, 0.56, 0.6),
        true,
    ));
    let dir = [s.heading.cos(), s.heading.sin()];
    let nose = [p[0] + dir[0] * ROBOT_RADIUS * 0.8, p[1] + dir[1] * ROBOT_RADIUS * 0.8, 0.3];
    objects.push(object(
        "robot_nose",
        Shape::Cuboid { half_extents: [0.06, 0.08, 0.05] },
        to_scene(nose, q),
        Material::color(0.15, 0.15, 0.18),
        true,
    ));
    let eye = [p[0] + dir[0] * 0.1, p[1] + dir[1] * 0.1, EYE_HEIGHT];
    let look = [eye[0] + dir[0], eye[1] + dir[1], EYE_HEIGHT - 0.12];
    let behind = [p[0] - 1.6 * dir[0], p[1] - 1.6 * dir[1], 1.8];
    let ahead = [p[0] + 1.2 * dir[0], p[1] + 1.2 * dir[1], 0.2];
    let (cx, cy) = (l.width / 2.0, l.depth / 2.0);
    Scene {
        objects,
        cameras: vec![
            camera("ego", eye, look, EGO_VFOV_DEG),
            camera("follow", behind, ahead, 60.0),
            Camera {
                name: "top".into(),
                eye: point([cx, cy, 10.0]),
                target: point([cx, cy, 0.0]),
                up: point([0.0, 1.0, 0.0]),
                fov_y_deg: 45.0,
                ortho_height: Some(l.width.max(l.depth) + 0.4),
            },
        ],
        sun_direction: [-0.3, -1.0, -0.45],
        sky_color: [0.75, 0.8, 0.86],
    }
}

/// Sentences about the target named `t` ("red ball").
fn target_caption(fact: &str, t: &str, templates: &[&str]) -> Caption {
    let phrasings: Vec<String> = templates.iter().map(|p| p.replace("{t}", t)).collect();
    Caption { fact: fact.to_string(), phrasings }
}

/// The facts of the state: `view` is the target's distance, bearing (left positive) and
/// whether the `ego` camera sees it; `front` the distance straight ahead to a wall or object.
///
/// Facts: `target.reached` (seen, within 1 m), `target.in_front` (seen, within 15 degrees
/// of straight ahead, nearer than 4 m), `target.left` / `target.right` (seen off to a
/// side), `target.far` (seen, further than 4 m), `target.not_in_view`; `room.same` /
/// `room.other` (layouts with rooms); `wall.ahead` (something within 0.5 m ahead); and
/// `object.in_view` for the other objects the camera sees (their names in the sentences).
pub(super) fn captions(s: &NavState, view: (f32, f32, bool), front: f32) -> Vec<Caption> {
    let (d, bearing, visible) = view;
    let t = s.objects[0].name();
    let mut out = Vec::new();
    let side = 15f32.to_radians();
    if visible && d <= SUCCESS_RADIUS {
        out.push(target_caption(
            "target.reached",
            &t,
            &[
                "the robot has reached the {t}",
                "the robot is right next to the {t}",
                "the {t} is within reach of the robot",
            ],
        ));
    }
    if visible && bearing.abs() <= side && d <= 4.0 {
        out.push(target_caption(
            "target.in_front",
            &t,
            &["the {t} is right in front of the robot", "the robot is facing the {t}", "the {t} is straight ahead"],
        ));
    } else if visible && d > 4.0 {
        out.push(target_caption(
            "target.far",
            &t,
            &["the {t} is far away", "the {t} is in the distance", "the robot sees the {t} far ahead"],
        ));
    } else if visible && bearing > side {
        out.push(target_caption(
            "target.left",
            &t,
            &["the {t} is to the left", "the robot sees the {t} on its left", "the {t} is on the left of the view"],
        ));
    } else if visible {
        out.push(target_caption(
            "target.right",
            &t,
            &["the {t} is to the right", "the robot sees the {t} on its right", "the {t} is on the right of the view"],
        ));
    } else {
        out.push(target_caption(
            "target.not_in_view",
            &t,
            &["no {t} is in view", "the robot cannot see the {t}", "the {t} is out of sight"],
        ));
    }
    if s.layout.rooms.len() > 1 && s.layout.kind != super::LayoutKind::Maze {
        let p = super::Nav::position(s);
        if s.layout.room_of(p) == s.layout.room_of(s.objects[0].position) {
            out.push(target_caption(
                "room.same",
                &t,
                &[
                    "the robot is in the room with the {t}",
                    "the {t} is in this room",
                    "the robot and the {t} share a room",
                ],
            ));
        } else {
            out.push(target_caption(
                "room.other",
                &t,
                &[
                    "the {t} is in another room",
                    "the robot is not in the room with the {t}",
                    "the {t} is elsewhere, past a door",
                ],
            ));
        }
    }
    if front < 0.5 {
        out.push(Caption::new(
            "wall.ahead",
            &["the robot faces a wall", "something blocks the robot's way", "the robot is up against an obstacle"],
        ));
    }
    // The other objects in view, by name.
    let p = super::Nav::position(s);
    let seen: Vec<String> = s.objects[1..]
        .iter()
        .filter(|o| {
            let b = wrap((o.position[1] - p[1]).atan2(o.position[0] - p[0]) - s.heading);
            b.abs() <= (EGO_HFOV_DEG / 2.0).to_radians() && super::clear_line(&s.layout, p, o.position)
        })
        .map(NavObject::name)
        .collect();
    if !seen.is_empty() {
        let list = seen.join(" and a ");
        out.push(Caption {
            fact: "object.in_view".into(),
            phrasings: vec![
                format!("a {list} can be seen"),
                format!("the robot sees a {list}"),
                format!("there is a {list} in view"),
            ],
        });
    }
    debug_assert!(out.iter().all(|c| c.phrasings.len() >= 3));
    out
}
