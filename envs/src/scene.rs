//! Renderer-neutral descriptions of what an env looks like ([`Scene`]) and what is true
//! of its state in plain English ([`Caption`]).
//!
//! Coordinates are metres in a right-handed, **Y-up** frame (the renderer's); rotations are
//! unit quaternions `[x, y, z, w]`. Envs build Scenes from their own state in plain arrays,
//! so only the renderer converts to its math types. Every [`SceneObject`] has a name that
//! stays the same for the life of the env, so a renderer spawns objects once and afterwards
//! only moves them; objects marked `dynamic: false` never move.

use serde::{Deserialize, Serialize};

/// A position and orientation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pose {
    /// Position, metres.
    pub translation: [f32; 3],
    /// Orientation as a unit quaternion `[x, y, z, w]`.
    pub rotation: [f32; 4],
}

impl Pose {
    /// The identity pose.
    pub const IDENTITY: Pose = Pose { translation: [0.0; 3], rotation: [0.0, 0.0, 0.0, 1.0] };

    /// A translation without rotation.
    pub fn from_translation(translation: [f32; 3]) -> Self {
        Pose { translation, rotation: [0.0, 0.0, 0.0, 1.0] }
    }

    /// A translation and a rotation of `angle` radians about the unit `axis`.
    pub fn from_axis_angle(translation: [f32; 3], axis: [f32; 3], angle: f32) -> Self {
        let (s, c) = (angle / 2.0).sin_cos();
        Pose { translation, rotation: [axis[0] * s, axis[1] * s, axis[2] * s, c] }
    }

    /// A translation and a heading: rotation of `yaw` radians about +Y.
    pub fn from_yaw(translation: [f32; 3], yaw: f32) -> Self {
        Self::from_axis_angle(translation, [0.0, 1.0, 0.0], yaw)
    }

    /// `v` rotated by this pose's rotation.
    pub fn rotate(&self, v: [f32; 3]) -> [f32; 3] {
        let [qx, qy, qz, qw] = self.rotation;
        // v + 2 w (q x v) + 2 q x (q x v)
        let t = [2.0 * (qy * v[2] - qz * v[1]), 2.0 * (qz * v[0] - qx * v[2]), 2.0 * (qx * v[1] - qy * v[0])];
        [
            v[0] + qw * t[0] + (qy * t[2] - qz * t[1]),
            v[1] + qw * t[1] + (qz * t[0] - qx * t[2]),
            v[2] + qw * t[2] + (qx * t[1] - qy * t[0]),
        ]
    }

    /// `p` (in this pose's frame) in the parent frame.
    pub fn transform_point(&self, p: [f32; 3]) -> [f32; 3] {
        let r = self.rotate(p);
        [r[0] + self.translation[0], r[1] + self.translation[1], r[2] + self.translation[2]]
    }

    /// The pose `local` (given in this pose's frame) in the parent frame: `self * local`.
    pub fn compose(&self, local: &Pose) -> Pose {
        let [ax, ay, az, aw] = self.rotation;
        let [bx, by, bz, bw] = local.rotation;
        Pose {
            translation: self.transform_point(local.translation),
            rotation: [
                aw * bx + ax * bw + ay * bz - az * by,
                aw * by - ax * bz + ay * bw + az * bx,
                aw * bz + ax * by - ay * bx + az * bw,
                aw * bw - ax * bx - ay * by - az * bz,
            ],
        }
    }
}

/// The geometry of an object, centred on its pose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Shape {
    /// A box with these half extents along x, y, z.
    Cuboid {
        /// Half extents, metres.
        half_extents: [f32; 3],
    },
    /// A cylinder along the local Y axis.
    Cylinder {
        /// Radius, metres.
        radius: f32,
        /// Half the height, metres.
        half_height: f32,
    },
    /// A sphere.
    Sphere {
        /// Radius, metres.
        radius: f32,
    },
    /// A capsule along the local Y axis.
    Capsule {
        /// Radius, metres.
        radius: f32,
        /// Half the length of the straight part, metres.
        half_height: f32,
    },
    /// A horizontal rectangle (normal +Y), e.g. ground or road surface.
    Plane {
        /// Half sizes along x and z, metres.
        half_size: [f32; 2],
    },
    /// A flat strip along a polyline (normal +Y), e.g. a road or a lane marking; points
    /// are `[x, z]` in the object's frame.
    Strip {
        /// Centreline points.
        points: Vec<[f32; 2]>,
        /// Width, metres.
        width: f32,
        /// Whether the last point joins the first.
        closed: bool,
    },
    /// A named mesh the renderer knows (e.g. "car"), scaled by `scale`.
    Mesh {
        /// Mesh name.
        name: String,
        /// Scale along x, y, z.
        scale: [f32; 3],
    },
}

/// How an object looks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Material {
    /// Base colour, sRGB with alpha, each in [0, 1].
    pub color: [f32; 4],
    /// A texture by name (a file stem under `assets/textures`), tinted by `color`.
    pub texture: Option<String>,
    /// How many metres one texture repeat covers.
    pub texture_scale: f32,
    /// Perceptual roughness in [0, 1].
    pub roughness: f32,
    /// Metallic in [0, 1].
    pub metallic: f32,
    /// Self-lit (ignores lights), e.g. lane markings, lamps.
    pub unlit: bool,
}

impl Material {
    /// A plain, rough, opaque colour.
    pub fn color(r: f32, g: f32, b: f32) -> Self {
        Material {
            color: [r, g, b, 1.0],
            texture: None,
            texture_scale: 1.0,
            roughness: 0.8,
            metallic: 0.0,
            unlit: false,
        }
    }

    /// A texture by name, repeated every `scale` metres, tinted white.
    pub fn textured(texture: &str, scale: f32) -> Self {
        Material { texture: Some(texture.to_string()), texture_scale: scale, ..Material::color(1.0, 1.0, 1.0) }
    }
}

/// One thing to draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneObject {
    /// Stable, unique within the env (e.g. "cart", "npc_3").
    pub name: String,
    /// Geometry.
    pub shape: Shape,
    /// Pose in the world.
    pub pose: Pose,
    /// Appearance.
    pub material: Material,
    /// False for objects that never move (roads, buildings): drawn once, never updated.
    pub dynamic: bool,
}

/// A named viewpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    /// E.g. "side", "chase", "bev", "hood".
    pub name: String,
    /// Eye position.
    pub eye: [f32; 3],
    /// The point looked at.
    pub target: [f32; 3],
    /// The up direction.
    pub up: [f32; 3],
    /// Vertical field of view, degrees (ignored when `ortho_height` is set).
    pub fov_y_deg: f32,
    /// For an orthographic camera (e.g. a bird's-eye view): the visible height, metres.
    pub ortho_height: Option<f32>,
}

/// Everything needed to draw one env at one instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scene {
    /// The objects; order and names stay the same from one call to the next.
    pub objects: Vec<SceneObject>,
    /// The available viewpoints; the first is the default.
    pub cameras: Vec<Camera>,
    /// Direction the sunlight travels (pointing from the sun to the ground).
    pub sun_direction: [f32; 3],
    /// Sky colour at the horizon, sRGB.
    pub sky_color: [f32; 3],
}

impl Scene {
    /// The camera called `name`.
    pub fn camera(&self, name: &str) -> Option<&Camera> {
        self.cameras.iter().find(|c| c.name == name)
    }

    /// The object called `name`.
    pub fn object(&self, name: &str) -> Option<&SceneObject> {
        self.objects.iter().find(|o| o.name == name)
    }
}

/// One true fact about the current state, with several phrasings (used to train and
/// judge the reward models).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Caption {
    /// Machine-readable key, `topic.value` (e.g. "pole.upright", "lane.centre").
    pub fact: String,
    /// At least three plain-English sentences that say it.
    pub phrasings: Vec<String>,
}

impl Caption {
    /// A caption from a key and phrasings.
    pub fn new(fact: &str, phrasings: &[&str]) -> Self {
        Caption { fact: fact.to_string(), phrasings: phrasings.iter().map(|s| s.to_string()).collect() }
    }
}
