//! Drawing simulated bodies in a [`Scene`]: physics worlds here are Z up and Scenes Y up,
//! so every pose goes through [`to_scene`] (x, y, z) -> (x, z, -y); a link's collision
//! shapes become Scene shapes with [`link_objects`].

use vlmgym_physics::{LinkGeometry, LinkShape};

use crate::scene::{Camera, Material, Pose, SceneObject, Shape};

/// -90 degrees about X: a Z-up frame into the Scene's Y-up one.
const Z_UP_TO_Y_UP: Pose = Pose {
    translation: [0.0; 3],
    rotation: [-std::f32::consts::FRAC_1_SQRT_2, 0.0, 0.0, std::f32::consts::FRAC_1_SQRT_2],
};

/// A Z-up world pose in the Scene's frame.
pub fn to_scene(position: [f32; 3], rotation: [f32; 4]) -> Pose {
    Z_UP_TO_Y_UP.compose(&Pose { translation: position, rotation })
}

/// A Z-up world point in the Scene's frame.
pub fn point(p: [f32; 3]) -> [f32; 3] {
    [p[0], p[2], -p[1]]
}

/// A scene object.
pub fn object(name: &str, shape: Shape, pose: Pose, material: Material, dynamic: bool) -> SceneObject {
    SceneObject { name: name.to_string(), shape, pose, material, dynamic }
}

/// A perspective camera from Z-up `eye` and `target`, Y up in the Scene.
pub fn camera(name: &str, eye: [f32; 3], target: [f32; 3], fov_y_deg: f32) -> Camera {
    Camera {
        name: name.to_string(),
        eye: point(eye),
        target: point(target),
        up: [0.0, 1.0, 0.0],
        fov_y_deg,
        ortho_height: None,
    }
}

/// The Scene objects of one link at the Z-up world pose (`position`, `rotation`), named
/// `NAME_K` for its k-th shape; a mesh shape is drawn as the library mesh `mesh_name(k)`.
pub fn link_objects(
    name: &str,
    shapes: &[LinkShape],
    position: [f32; 3],
    rotation: [f32; 4],
    material: &Material,
    mesh_name: impl Fn(usize) -> String,
) -> Vec<SceneObject> {
    let link_pose = Pose { translation: position, rotation };
    shapes
        .iter()
        .enumerate()
        .map(|(k, shape)| {
            let world = link_pose.compose(&Pose { translation: shape.position, rotation: shape.rotation });
            let geometry = match &shape.geometry {
                LinkGeometry::Cuboid(h) => Shape::Cuboid { half_extents: *h },
                LinkGeometry::Ball(r) => Shape::Sphere { radius: *r },
                LinkGeometry::Capsule { half_height, radius } => {
                    Shape::Capsule { half_height: *half_height, radius: *radius }
                }
                LinkGeometry::Cylinder { half_height, radius } => {
                    Shape::Cylinder { half_height: *half_height, radius: *radius }
                }
                LinkGeometry::Mesh(_) => Shape::Mesh { name: mesh_name(k), scale: [1.0; 3] },
            };
            object(
                &format!("{name}_{k}"),
                geometry,
                to_scene(world.translation, world.rotation),
                material.clone(),
                true,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_up_poses_become_y_up() {
        // Up (Z) in the world is up (Y) in the scene; the world's +Y goes into the screen (-Z).
        assert_eq!(point([1.0, 2.0, 3.0]), [1.0, 3.0, -2.0]);
        let p = to_scene([1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 1.0]);
        assert_eq!(p.translation.map(|v| (v * 1e5).round() / 1e5), [1.0, 3.0, -2.0]);
        let up = p.rotate([0.0, 0.0, 1.0]);
        assert!((up[1] - 1.0).abs() < 1e-6 && up[0].abs() < 1e-6 && up[2].abs() < 1e-6, "{up:?}");
        // A capsule shape offset 0.5 along the link's x, the link turned 90 degrees about Z:
        // the shape sits at world y = 0.5, scene z = -0.5.
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let shapes = [LinkShape {
            position: [0.5, 0.0, 0.0],
            rotation: [0.0, 0.0, 0.0, 1.0],
            geometry: LinkGeometry::Capsule { half_height: 0.2, radius: 0.05 },
        }];
        let objs =
            link_objects("thigh", &shapes, [0.0, 0.0, 1.0], [0.0, 0.0, s, s], &Material::color(1.0, 1.0, 1.0), |k| {
                format!("m{k}")
            });
        assert_eq!(objs.len(), 1);
        assert_eq!(objs[0].name, "thigh_0");
        assert_eq!(objs[0].shape, Shape::Capsule { half_height: 0.2, radius: 0.05 });
        let t = objs[0].pose.translation;
        assert!((t[0]).abs() < 1e-6 && (t[1] - 1.0).abs() < 1e-6 && (t[2] + 0.5).abs() < 1e-6, "{t:?}");
    }
}
