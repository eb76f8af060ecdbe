//! The Driving scene: roads, markings, kerbs, barriers, buildings and trees as static
//! primitives; the ego and NPC cars as coloured boxes; cameras `chase`, `bev` and `hood`.

use super::map::{Map, LANE_WIDTH};
use crate::scene::{Camera, Material, Pose, SceneObject, Shape};

/// Body colours of the NPC cars.
pub const NPC_COLORS: [[f32; 3]; 8] = [
    [0.15, 0.30, 0.75],
    [0.90, 0.90, 0.92],
    [0.10, 0.10, 0.12],
    [0.55, 0.57, 0.60],
    [0.15, 0.55, 0.25],
    [0.95, 0.75, 0.10],
    [0.45, 0.25, 0.15],
    [0.35, 0.65, 0.85],
];
/// The ego car's colour (red).
pub const EGO_COLOR: [f32; 3] = [0.85, 0.08, 0.08];

fn xz(p: [f64; 2]) -> [f32; 2] {
    [p[0] as f32, -p[1] as f32]
}

fn obj(name: String, shape: Shape, pose: Pose, material: Material) -> SceneObject {
    SceneObject { name, shape, pose, material, dynamic: false }
}

fn strip(mut points: Vec<[f64; 2]>, width: f32, closed: bool) -> Shape {
    // A closed strip joins its last point to its first: drop a repeated end point.
    if closed && points.len() > 2 {
        let (a, b) = (points[0], points[points.len() - 1]);
        if (a[0] - b[0]).hypot(a[1] - b[1]) < 1e-3 {
            points.pop();
        }
    }
    Shape::Strip { points: points.into_iter().map(xz).collect(), width, closed }
}

/// Every static object of `map`.
pub fn static_objects(map: &Map) -> Vec<SceneObject> {
    let mut out = Vec::new();
    let [cx, cy, hx, hy] = map.extent;
    out.push(obj(
        "ground".into(),
        Shape::Plane { half_size: [hx as f32, hy as f32] },
        Pose::from_translation([cx as f32, 0.0, -cy as f32]),
        Material::textured("grass", 4.0),
    ));
    let asphalt = Material::textured("asphalt", 6.0);
    let white = Material { roughness: 0.6, ..Material::color(0.95, 0.95, 0.95) };
    let yellow = Material { roughness: 0.6, ..Material::color(0.95, 0.80, 0.10) };
    let kerb = Material::color(0.70, 0.70, 0.68);
    for (i, road) in map.roads.iter().enumerate() {
        let closed = road.closed;
        let (pts, line) = (road.line.points.clone(), &road.line);
        out.push(obj(
            format!("road_{i}"),
            strip(pts.clone(), 2.0 * LANE_WIDTH as f32, closed),
            Pose::from_translation([0.0, 0.01, 0.0]),
            asphalt.clone(),
        ));
        out.push(obj(
            format!("centre_line_{i}"),
            strip(pts, 0.15, closed),
            Pose::from_translation([0.0, 0.02, 0.0]),
            yellow.clone(),
        ));
        for (side, sign) in [("left", 1.0), ("right", -1.0)] {
            let edge = line.offset(sign * (LANE_WIDTH - 0.2));
            out.push(obj(
                format!("edge_line_{i}_{side}"),
                strip(edge, 0.15, closed),
                Pose::from_translation([0.0, 0.02, 0.0]),
                white.clone(),
            ));
            let k = line.offset(sign * (LANE_WIDTH + 0.2));
            out.push(obj(
                format!("kerb_{i}_{side}"),
                strip(k, 0.4, closed),
                Pose::from_translation([0.0, 0.08, 0.0]),
                kerb.clone(),
            ));
        }
    }
    for (j, jn) in map.junctions.iter().enumerate() {
        let h = jn.half_size as f32;
        out.push(obj(
            format!("junction_{j}"),
            Shape::Plane { half_size: [h, h] },
            Pose::from_translation([jn.center[0] as f32, 0.012, -jn.center[1] as f32]),
            asphalt.clone(),
        ));
    }
    for (k, b) in map.barriers.iter().enumerate() {
        out.push(obj(
            format!("barrier_{k}"),
            Shape::Cuboid { half_extents: [b.half[0] as f32, (b.height / 2.0) as f32, b.half[1] as f32] },
            Pose::from_yaw([b.center[0] as f32, (b.height / 2.0) as f32, -b.center[1] as f32], b.heading as f32),
            Material { metallic: 0.6, roughness: 0.4, ..Material::color(b.color[0], b.color[1], b.color[2]) },
        ));
    }
    for (k, b) in map.buildings.iter().enumerate() {
        out.push(obj(
            format!("building_{k}"),
            Shape::Cuboid { half_extents: [b.half[0] as f32, (b.height / 2.0) as f32, b.half[1] as f32] },
            Pose::from_yaw([b.center[0] as f32, (b.height / 2.0) as f32, -b.center[1] as f32], b.heading as f32),
            Material {
                texture: Some("facade".into()),
                texture_scale: 4.0,
                ..Material::color(b.color[0], b.color[1], b.color[2])
            },
        ));
    }
    for (k, t) in map.trees.iter().enumerate() {
        let [x, z] = xz(*t);
        out.push(obj(
            format!("tree_{k}_trunk"),
            Shape::Cylinder { radius: 0.25, half_height: 1.5 },
            Pose::from_translation([x, 1.5, z]),
            Material::color(0.40, 0.28, 0.15),
        ));
        out.push(obj(
            format!("tree_{k}_crown"),
            Shape::Sphere { radius: 2.2 },
            Pose::from_translation([x, 4.2, z]),
            Material::color(0.18, 0.45, 0.15),
        ));
    }
    out
}

/// The cameras for an ego car at 3-D `pos` (chassis centre) heading `heading` (map radians):
/// `chase` (behind and above), `bev` (VLM-RL's bird's-eye view: orthographic, 40 m tall,
/// the car's heading up the image) and `hood` (driver's view).
pub fn cameras(pos: [f32; 3], heading: f32) -> Vec<Camera> {
    let f = [heading.cos(), 0.0, -heading.sin()];
    let at = |d: f32, up: f32| [pos[0] + f[0] * d, pos[1] + up, pos[2] + f[2] * d];
    vec![
        Camera {
            name: "chase".into(),
            eye: at(-8.0, 3.0),
            target: at(6.0, 0.5),
            up: [0.0, 1.0, 0.0],
            fov_y_deg: 60.0,
            ortho_height: None,
        },
        Camera {
            name: "bev".into(),
            eye: [pos[0], pos[1] + 50.0, pos[2]],
            target: [pos[0], 0.0, pos[2]],
            up: f,
            fov_y_deg: 45.0,
            ortho_height: Some(40.0),
        },
        Camera {
            name: "hood".into(),
            eye: at(2.0, 1.0),
            target: at(25.0, 0.3),
            up: [0.0, 1.0, 0.0],
            fov_y_deg: 75.0,
            ortho_height: None,
        },
    ]
}

/// A low-poly car filling the box `half_extents` (length, height, width halves; local +X
/// forward, the box's centre at `pose`, its bottom 0.15 m above the road): a body in `color`,
/// a dark glass cabin with a roof in `color`, four wheels, white headlights and red tail
/// lights. The body keeps the car's `name`; the other parts are `{name}_{part}`. Every part
/// is dynamic, so renderers move them with the car.
pub fn car_parts(name: &str, half_extents: [f32; 3], pose: Pose, color: [f32; 3]) -> Vec<SceneObject> {
    let [hx, hy, hz] = half_extents;
    let bottom = -hy;
    let paint = Material { roughness: 0.35, metallic: 0.3, ..Material::color(color[0], color[1], color[2]) };
    let glass = Material { roughness: 0.15, metallic: 0.5, ..Material::color(0.10, 0.13, 0.17) };
    let tyre = Material::color(0.06, 0.06, 0.06);
    let lamp = |r, g, b| Material { unlit: true, ..Material::color(r, g, b) };
    let body_top = bottom + 0.55 * (2.0 * hy);
    let part = |suffix: &str, shape: Shape, local: Pose, material: Material| SceneObject {
        name: if suffix.is_empty() { name.to_string() } else { format!("{name}_{suffix}") },
        shape,
        pose: pose.compose(&local),
        material,
        dynamic: true,
    };
    let body_half = [hx, (body_top - bottom - 0.1) / 2.0, hz];
    let mut out = vec![part(
        "",
        Shape::Cuboid { half_extents: body_half },
        Pose::from_translation([0.0, bottom + 0.1 + body_half[1], 0.0]),
        paint.clone(),
    )];
    let cabin_half = [0.5 * hx, (hy - body_top) / 2.0, 0.86 * hz];
    out.push(part(
        "cabin",
        Shape::Cuboid { half_extents: cabin_half },
        Pose::from_translation([-0.12 * hx, body_top + cabin_half[1], 0.0]),
        glass,
    ));
    out.push(part(
        "roof",
        Shape::Cuboid { half_extents: [0.36 * hx, 0.03, 0.8 * hz] },
        Pose::from_translation([-0.16 * hx, hy + 0.03, 0.0]),
        paint,
    ));
    let radius = (0.3f32).min(0.45 * hy + 0.05);
    let wheel_y = bottom - 0.15 + radius;
    for (tag, x, z) in [
        ("fl", 0.62 * hx, -hz + 0.1),
        ("fr", 0.62 * hx, hz - 0.1),
        ("rl", -0.62 * hx, -hz + 0.1),
        ("rr", -0.62 * hx, hz - 0.1),
    ] {
        out.push(part(
            &format!("wheel_{tag}"),
            Shape::Cylinder { radius, half_height: 0.13 },
            Pose::from_axis_angle([x, wheel_y, z], [1.0, 0.0, 0.0], std::f32::consts::FRAC_PI_2),
            tyre.clone(),
        ));
    }
    let light_y = bottom + 0.1 + 1.4 * body_half[1];
    for (tag, x, m) in [("head", hx + 0.02, lamp(1.0, 0.97, 0.85)), ("tail", -hx - 0.02, lamp(0.9, 0.05, 0.05))] {
        for (side, z) in [("l", -0.65 * hz), ("r", 0.65 * hz)] {
            out.push(part(
                &format!("{tag}light_{side}"),
                Shape::Cuboid { half_extents: [0.03, 0.07, 0.16 * hz] },
                Pose::from_translation([x, light_y, z]),
                m.clone(),
            ));
        }
    }
    out
}
