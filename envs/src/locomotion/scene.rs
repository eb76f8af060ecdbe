//! What a legged body looks like ([`Scene`]): its geoms as capsules, spheres, boxes and
//! cylinders on MuJoCo's checkered floor, seen from three cameras.
//!
//! * `track` (the default): from the body's right side, following it along the ground (not
//!   up and down, so a jump or a fall shows), as Gymnasium's `track` cameras do.
//! * `side`: the same side view, fixed where episodes start (a runner leaves it).
//! * `front`: VLM-RMs' humanoid view, facing the body from ahead: 10 degrees above the
//!   horizontal (elevation -10, azimuth 180 in MuJoCo's terms), following it (the
//!   humanoid: from 3.5 m, as VLM-RMs').
//! * `top`: straight down on the body, orthographic, 4 m across.

use super::{Body, Legged, Sim};
use crate::link_scene::{camera, link_objects, object, point};
use crate::scene::{Camera, Material, Pose, Scene, Shape};

/// Metres one floor texture repeat covers (2 x 2 squares of a metre).
const FLOOR_TILE: f32 = 2.0;
/// Half the floor's side: it follows the body in whole tiles, so it looks fixed.
const FLOOR_HALF: f32 = 60.0;

/// The side cameras' distance from the body, eye height and aim height, metres.
fn view(body: Body) -> (f32, f32, f32) {
    match body {
        Body::Ant => (4.5, 1.6, 0.3),
        Body::HalfCheetah => (3.5, 0.9, 0.4),
        Body::Hopper => (3.5, 1.2, 0.8),
        Body::Walker2d => (4.0, 1.3, 0.9),
        Body::Humanoid => (4.5, 1.5, 0.9),
    }
}

impl Legged {
    pub(super) fn build_scene(&self, sim: &Sim) -> Scene {
        let w = &sim.world;
        let centre = sim.main_body.and_then(|b| w.body_position(b)).unwrap_or_else(|| sim.model.center_of_mass(w));
        let snap = |v: f32| (v / FLOOR_TILE).round() * FLOOR_TILE;
        let mut objects = vec![object(
            "floor",
            Shape::Plane { half_size: [FLOOR_HALF, FLOOR_HALF] },
            Pose::from_translation(point([snap(centre[0]), snap(centre[1]), 0.0])),
            Material::textured("checker", FLOOR_TILE),
            true,
        )];
        // Gymnasium's models draw every geom in one tan colour.
        let tan = Material::color(0.8, 0.6, 0.4);
        for link in sim.model.links() {
            let (Some(p), Some(r)) = (w.body_position(link.body), w.body_rotation(link.body)) else { continue };
            objects.extend(link_objects(&link.name, &link.shapes, p, r, &tan, |k| format!("{}/{k}", link.name)));
        }
        let (dist, eye_z, aim_z) = view(self.config.body);
        let (x, y) = (centre[0], centre[1]);
        let el = 10f32.to_radians();
        // VLM-RMs' humanoid camera is 3.5 m away.
        let front = if self.config.body == Body::Humanoid { 3.5 } else { dist };
        Scene {
            objects,
            cameras: vec![
                camera("track", [x, y - dist, eye_z], [x, y, aim_z], 45.0),
                camera("side", [0.0, -dist, eye_z], [0.0, 0.0, aim_z], 45.0),
                camera("front", [x + front * el.cos(), y, aim_z + front * el.sin()], [x, y, aim_z], 45.0),
                Camera {
                    name: "top".into(),
                    eye: point([x, y, 6.0]),
                    target: point([x, y, 0.0]),
                    up: point([1.0, 0.0, 0.0]),
                    fov_y_deg: 45.0,
                    ortho_height: Some(4.0),
                },
            ],
            sun_direction: [-0.3, -1.0, -0.4],
            sky_color: [0.62, 0.74, 0.88],
        }
    }
}
